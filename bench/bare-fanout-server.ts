/**
 * B6's control: about the least a Node process can do to fan one event out to N
 * streams. A bare node:http server holds every GET as an open event stream and, on
 * `POST /fan-out` (the body is the marker), writes one prepared buffer of the size of
 * our event frames to every stream socket in one loop, then answers 201. No
 * credentials, no log, no slices between turns, no guard against stalling the loop:
 * our server's fan-out (B6) is read against it, with the same client holding the
 * streams, on the same machine, in the same run.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { serveRequests } from './lib/child.ts';

/** About the size of a desktop.created frame from our server (id, event, data with actor and target). */
const FRAME_BYTES = 420;
const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\nconnection: close\r\n\r\n';

const streams = new Set<Socket>();
let nextId = 1;

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    const socket = req.socket;
    socket.setNoDelay(true);
    socket.write(HEAD);
    streams.add(socket);
    socket.on('close', () => streams.delete(socket));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const head = `id: ${nextId++}\nevent: desktop.created\ndata: {"name":${JSON.stringify(Buffer.concat(chunks).toString('utf8'))},"pad":"`;
    const frame = Buffer.from(`${head}${'x'.repeat(Math.max(0, FRAME_BYTES - head.length - 5))}"}\n\n`);
    for (const socket of streams) socket.write(frame);
    res.writeHead(201, { 'content-type': 'text/plain' }).end('ok');
  });
});
// Streams never time out here (Node's defaults would cut idle ones).
server.requestTimeout = 0;
server.headersTimeout = 0;
server.keepAliveTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  serveRequests({
    streams: () => streams.size,
    // Started with --expose-gc: RSS after a full collection, as our server reports it (B6's memory floor).
    rssAfterGc: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage().rss;
    },
  });
  process.send!({ type: 'ready', pid: process.pid, port: (server.address() as { port: number }).port });
});
