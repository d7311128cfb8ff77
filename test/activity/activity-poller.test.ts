import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose } from '../../src/compose.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen, openEventSource, waitFor } from './sse-clients.ts';

describe('events written by another process reach the live streams of this one', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    base = await listen(t);
    await t.services.pollers.activity.poll(); // starts from the newest event
  });
  afterAll(() => t.close());

  it('a desktop created through another process (the CLI, say) appears on an open stream after the next poll', async () => {
    const { accountId, key } = await t.account();
    const es = await openEventSource(`${base}${STREAM_PATH}?apiKey=${key}`);
    try {
      const other = await compose(t.services.config, { clock: t.clock });
      await other.desktops.create({ accountId }, { name: 'made elsewhere' }, { type: 'operator', id: null }, null);
      await other.close();
      expect(await t.services.pollers.activity.poll()).toBeGreaterThanOrEqual(1);
      await waitFor(() => es.events.some((e) => e.type === 'desktop.created' && e.data.data?.name === 'made elsewhere'), 3000, 'the event on the stream');
    } finally {
      es.close();
    }
  });

  it('does not deliver again what this process published itself', async () => {
    const { accountId } = await t.account();
    await t.services.desktops.create({ accountId }, { name: 'local' }, { type: 'operator', id: null }, null);
    expect(await t.services.pollers.activity.poll()).toBe(0);
  });
});
