import { type BenchContext, type ScenarioReport, round } from '../lib/context.ts';
import { Api, desktopsUnavailable, percentile, sorted, startDesktopServer } from '../lib/desktops.ts';
// The tests' RFB viewer (3.8 handshake, security None, Raw updates), the one the live-view tests trust.
import { RfbClient, type Rect, connect } from '../../test/desktops/helpers/rfb-client.ts';

/**
 * B12: a live view opened with a view ticket over a real WebSocket; each run asks for an
 * incremental update, moves the pointer through the actions API (Xvnc draws the cursor
 * into the frame for a client without a cursor encoding) and times from sending the
 * action to the FramebufferUpdate whose pixels differ from the client's copy of the screen.
 */
export async function b12LiveView(ctx: BenchContext): Promise<ScenarioReport> {
  const report: ScenarioReport = { id: 'B12', title: 'B12 live view: screen change to the viewer', figures: [], windows: [], notes: [], problems: [] };
  const why = await desktopsUnavailable();
  if (why) return { ...report, unavailable: why };
  const runs = ctx.options.quick ? 5 : 50;
  const server = await startDesktopServer(ctx, 2);
  try {
    const { keys } = await server.account({ keys: 1 });
    const api = new Api(server, keys[0]);
    const { id } = await api.startTimed('live view');
    const { url } = await api.json<{ url: string }>('POST', `/api/desktops/${id}/view-tickets`, { mode: 'view' }, 201);
    const client = await connect(server.url(url).replace(/^http/, 'ws'));
    if (!(client instanceof RfbClient)) throw new Error(`the view was refused: ${client.status} ${client.body}`);
    try {
      const { width, height } = await client.handshake();
      const frame = Buffer.alloc(width * height * 4);
      // Copies the rectangles into the client's frame; true when a pixel changed.
      const apply = (rects: Rect[]): boolean => {
        let changed = false;
        for (const r of rects) {
          for (let row = 0; row < r.height; row++) {
            const at = ((r.y + row) * width + r.x) * 4;
            const line = r.pixels.subarray(row * r.width * 4, (row + 1) * r.width * 4);
            if (!changed && !line.equals(frame.subarray(at, at + line.length))) changed = true;
            line.copy(frame, at);
          }
        }
        return changed;
      };
      client.requestUpdate(false);
      apply(await client.nextUpdate());

      const toViewer: number[] = [];
      const answered: number[] = [];
      for (let i = 0; i < runs + 3; i++) {
        client.requestUpdate(true);
        const x = 200 + (i % 2) * 400;
        const y = 200 + ((i >> 1) % 2) * 300;
        const started = performance.now();
        const acted = api.call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x, y }] });
        for (;;) {
          if (apply(await client.nextUpdate())) break;
          client.requestUpdate(true);
        }
        const elapsed = performance.now() - started;
        const a = await acted;
        if (a.status !== 200) report.problems.push(`move ${i}: ${a.status}`);
        // The first three warm up (JIT, the key cache, X round trips).
        if (i >= 3) {
          toViewer.push(elapsed);
          answered.push(a.ms);
        }
      }
      const t = sorted(toViewer);
      const act = sorted(answered);
      report.figures.push({
        name: 'screen change → FramebufferUpdate at the viewer, p50',
        value: percentile(t, 50),
        unit: 'ms',
        digits: 1,
        target: { op: '<=', value: 100 },
      });
      report.figures.push({ name: 'same, p90', value: percentile(t, 90), unit: 'ms', digits: 1 });
      report.notes.push(
        `${runs} runs after 3 unmeasured, ${width}x${height}, Raw encoding, a watch-only ticket: p50 ${round(percentile(t, 50), 1)} ms, p90 ${round(percentile(t, 90), 1)} ms, max ${round(t[t.length - 1], 1)} ms; the action's own answer came after p50 ${round(percentile(act, 50), 1)} ms`,
      );
    } finally {
      client.close();
    }
    return report;
  } finally {
    await server.stop();
  }
}
