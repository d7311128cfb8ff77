import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ResolvedAddress, WebhookSender } from '../../src/infra/webhook-sender.ts';
import { WebhookReceiver } from '../usage/webhook-receiver.ts';

/**
 * The webhook sender against real sockets: it connects to the address it checked (a
 * name the system resolver does not know reaches the local receiver through the
 * resolution it was given, asked once), and in production it refuses every name or
 * literal that leads to loopback, private or link-local space, before any connection.
 */
describe('webhook sender', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterAll(() => receiver.close());

  /** A resolver that answers from a table and counts what it was asked. */
  const table = (entries: Record<string, string[]>) => {
    const asked: string[] = [];
    const resolve = async (host: string): Promise<ResolvedAddress[]> => {
      asked.push(host);
      const found = entries[host];
      if (!found) throw new Error('ENOTFOUND');
      return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    return { asked, resolve };
  };

  it('connects to the address the name resolved to when it was checked, and resolves it once', async () => {
    const dns = table({ 'receiver.invalid': ['127.0.0.1'] });
    const sender = new WebhookSender({ production: false, resolve: dns.resolve });
    const before = receiver.received.length;
    const answer = await sender.post(`http://receiver.invalid:${receiver.port}/pinned?x=1`, { 'content-type': 'application/json' }, '{"ok":true}');
    expect(answer.status).toBe(200);
    expect(dns.asked).toEqual(['receiver.invalid']);
    const got = receiver.received[before];
    expect(got.path).toBe('/pinned?x=1');
    expect(got.headers.host).toBe(`receiver.invalid:${receiver.port}`);
    expect(got.body).toBe('{"ok":true}');
  });

  it('in production, refuses loopback, private, link-local and mixed resolutions before connecting', async () => {
    const dns = table({
      'localhost.example': ['127.0.0.1'],
      'intranet.example': ['10.0.0.7'],
      'metadata.example': ['169.254.169.254'],
      'v6-private.example': ['fd12::1'],
      'mapped.example': ['::ffff:192.168.0.1'],
      'nat64.example': ['64:ff9b::a00:1'],
      'v4-compatible.example': ['::7f00:1'],
      'split.example': ['93.184.216.34', '10.0.0.7'],
    });
    const sender = new WebhookSender({ production: true, resolve: dns.resolve });
    const before = receiver.received.length;
    for (const host of [
      'localhost.example',
      'intranet.example',
      'metadata.example',
      'v6-private.example',
      'mapped.example',
      'nat64.example',
      'v4-compatible.example',
      'split.example',
    ]) {
      await expect(sender.post(`https://${host}:${receiver.port}/x`, {}, '{}'), host).rejects.toThrow(/refused: .* resolves to a private or loopback address/);
    }
    for (const url of [
      `https://127.0.0.1:${receiver.port}/x`,
      `https://[::1]:${receiver.port}/x`,
      'https://[::ffff:127.0.0.1]/x',
      'https://[::a00:1]/x',
      'https://169.254.169.254/x',
    ]) {
      await expect(sender.post(url, {}, '{}'), url).rejects.toThrow(/refused/);
    }
    // Plain http is refused in production even to a public address.
    await expect(
      new WebhookSender({ production: true, resolve: table({ 'public.example': ['93.184.216.34'] }).resolve }).post('http://public.example/x', {}, '{}'),
    ).rejects.toThrow(/plain http/);
    expect(receiver.received.length).toBe(before);
  });

  it('outside production, sends plain http only to loopback', async () => {
    const sender = new WebhookSender({ production: false, resolve: table({ 'lan.example': ['192.168.1.20'] }).resolve });
    await expect(sender.post('http://lan.example/x', {}, '{}')).rejects.toThrow(/plain http/);
  });

  it('gives up on a receiver that never answers, with the reason', async () => {
    const silent = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const sender = new WebhookSender({ production: false, timeoutMs: 300 });
      await expect(sender.post(`http://127.0.0.1:${port}/slow`, {}, '{}')).rejects.toThrow(/no answer within 0.3 s/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
