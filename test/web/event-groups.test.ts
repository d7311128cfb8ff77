import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../web/src/api.ts';
import { groupBursts } from '../../web/src/event-groups.ts';

let id = 100;
const event = (type: string, over: Partial<ActivityEvent> = {}): ActivityEvent => ({
  id: id--,
  type,
  at: '2026-12-01T10:00:00.000Z',
  actor: { type: 'api_key', id: 'key_agent' },
  target: { type: 'desktop', id: 'dsk_a' },
  ip: '203.0.113.7',
  data: { count: 3 },
  ...over,
});

describe('mission control groups bursts of desktop actions', () => {
  it('puts consecutive action events of one actor on one desktop in one row, counting their actions', () => {
    const events = [event('desktop.action'), event('desktop.action'), event('desktop.action'), event('desktop.exec'), event('desktop.action')];
    const rows = groupBursts(events);
    expect(rows.map((r) => r.kind)).toEqual(['burst', 'event', 'event']);
    expect(rows[0]).toMatchObject({ kind: 'burst', actions: 9 });
    expect(rows[0].kind === 'burst' && rows[0].events.map((e) => e.id)).toEqual(events.slice(0, 3).map((e) => e.id));
  });

  it('keeps another actor or another desktop apart', () => {
    const rows = groupBursts([
      event('desktop.action'),
      event('desktop.action', { actor: { type: 'session', id: 'ses_me' } }),
      event('desktop.action', { actor: { type: 'session', id: 'ses_me' } }),
      event('desktop.action', { target: { type: 'desktop', id: 'dsk_b' }, actor: { type: 'session', id: 'ses_me' } }),
    ]);
    expect(rows.map((r) => (r.kind === 'burst' ? `burst${r.events.length}` : 'event'))).toEqual(['event', 'burst2', 'event']);
  });
});
