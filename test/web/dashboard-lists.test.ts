import { describe, expect, it } from 'vitest';
import { DASHBOARD_PAGES } from '../../src/http/routes/dashboard.ts';
import { NO_FILTER, TYPE_LABELS, filterFromQuery, filterToQuery, matches } from '../../web/src/activity-filter.ts';
import { EVENT_TYPES } from '../../web/src/activity.ts';
import { announcement } from '../../web/src/announcer.tsx';
import type { ActivityEvent } from '../../web/src/api.ts';
import { describeEvent, plainText } from '../../web/src/event-text.ts';
import { duplicateNames, findSameName, newestFirst, sameNameKey } from '../../web/src/lists.ts';
import { PAGES, suggestPage } from '../../web/src/page-paths.ts';

// The dashboard's list, filter and wording helpers (the pages themselves run in test/e2e).

let nextId = 1;
function event(type: string, fields: Partial<ActivityEvent> = {}): ActivityEvent {
  return { id: nextId++, type, at: '2026-03-01T12:00:00.000Z', actor: { type: 'operator', id: null }, target: null, ip: null, data: null, ...fields };
}
const noNames = { key: () => undefined, desktop: () => undefined };

describe('lists', () => {
  it('newest first, the id breaking a tie the way the server does (created_at desc, id desc)', () => {
    const items = [
      { id: 'dsk_a', createdAt: '2026-03-01T10:00:00.000Z' },
      { id: 'dsk_c', createdAt: '2026-03-01T11:00:00.000Z' },
      { id: 'dsk_b', createdAt: '2026-03-01T11:00:00.000Z' },
      { id: 'dsk_d', createdAt: '2026-03-01T09:00:00.000Z' },
    ];
    expect([...items].sort(newestFirst).map((i) => i.id)).toEqual(['dsk_c', 'dsk_b', 'dsk_a', 'dsk_d']);
  });

  it('names count as the same whatever their case, spacing or Unicode form', () => {
    expect(sameNameKey('  Research   Agent ')).toBe('research agent');
    expect(sameNameKey('ＣＩ')).toBe(sameNameKey('ci'));
    expect(sameNameKey('cafe\u0301')).toBe(sameNameKey('café'));
    const dupes = duplicateNames([{ name: 'ci' }, { name: 'CI ' }, { name: 'deploy' }, { name: 'docs' }]);
    expect([...dupes]).toEqual(['ci']);
    expect(findSameName([{ name: 'Deploy' }], ' deploy')?.name).toBe('Deploy');
    expect(findSameName([{ name: 'Deploy' }], '   ')).toBeUndefined();
    expect(findSameName(null, 'x')).toBeUndefined();
  });
});

describe('pages', () => {
  it('every page the app has is one the server serves', () => {
    for (const path of Object.values(PAGES)) expect(DASHBOARD_PAGES as readonly string[]).toContain(path);
  });

  it('suggests the page a mistyped path meant, and nothing for a path like no page', () => {
    expect(suggestPage('/api-keys/')).toBe('/api-keys');
    expect(suggestPage('/API-Keys')).toBe('/api-keys');
    expect(suggestPage('/keys')).toBe('/api-keys');
    expect(suggestPage('/mission-control')).toBe('/activity');
    expect(suggestPage('/desktops//')).toBe('/desktops');
    expect(suggestPage('/desktops')).toBeNull();
    expect(suggestPage('/nothing/here')).toBeNull();
    expect(suggestPage('/constructor')).toBeNull();
  });
});

describe('mission control filters', () => {
  const alphaCreated = event('api_key.created', { target: { type: 'api_key', id: 'key_alpha' }, data: { name: 'alpha', keyId: 'lb_k_alpha' } });
  const alphaDesktop = event('desktop.created', {
    actor: { type: 'api_key', id: 'key_alpha' },
    target: { type: 'desktop', id: 'dsk_1' },
    data: { name: 'one' },
  });
  const alphaNewAddress = event('alert.new_address', {
    actor: { type: 'api_key', id: 'key_alpha' },
    target: { type: 'api_key', id: 'key_alpha' },
    ip: '203.0.113.7',
  });
  const otherDesktop = event('desktop.failed', {
    actor: { type: 'system', id: null },
    target: { type: 'desktop', id: 'dsk_2' },
    data: { name: 'two', reason: 'no room' },
  });
  const blocked = event('ip.blocked', { data: { address: '203.0.113.9', blockS: 900 } });
  const all = [alphaCreated, alphaDesktop, alphaNewAddress, otherDesktop, blocked];
  const shown = (f: Partial<typeof NO_FILTER>) => all.filter((e) => matches(e, { ...NO_FILTER, ...f })).map((e) => e.type);

  it('alerts only, by key (made with it or about it), by desktop, by type, and together', () => {
    expect(shown({})).toHaveLength(5);
    expect(shown({ alerts: true })).toEqual(['alert.new_address', 'ip.blocked']);
    expect(shown({ key: 'key_alpha' })).toEqual(['api_key.created', 'desktop.created', 'alert.new_address']);
    expect(shown({ desktop: 'dsk_2' })).toEqual(['desktop.failed']);
    expect(shown({ type: 'desktop.created' })).toEqual(['desktop.created']);
    expect(shown({ key: 'key_alpha', alerts: true })).toEqual(['alert.new_address']);
    expect(shown({ key: 'key_alpha', desktop: 'dsk_2' })).toEqual([]);
  });

  it('round-trip through the address, and ignore what could not be an id', () => {
    const f = { alerts: true, key: 'key_alpha', desktop: 'dsk_1', type: 'desktop.created' };
    expect(filterFromQuery(filterToQuery(f))).toEqual(f);
    expect(filterToQuery(NO_FILTER)).toBe('');
    expect(filterFromQuery('?key=<script>&desktop=a%20b&type=desktop.created&alerts=yes')).toEqual({ ...NO_FILTER, type: 'desktop.created' });
  });

  it('offers every event type the stream delivers', () => {
    expect(Object.keys(TYPE_LABELS).sort()).toEqual([...EVENT_TYPES].sort());
  });
});

describe('event wording', () => {
  it('says what happened to a desktop in every state change, with the reason of a failure', () => {
    const names = { key: () => undefined, desktop: (id: string | null | undefined) => (id === 'dsk_9' ? 'known-by-id' : undefined) };
    const line = (type: string, data: Record<string, unknown> | null, target = 'dsk_1') =>
      plainText(describeEvent(event(type, { target: { type: 'desktop', id: target }, data }), names));
    expect(line('desktop.started', { name: 'box', resolution: '1280x800' })).toBe('Desktop “box” is running (1280×800)');
    expect(line('desktop.stopped', { name: 'box', reason: 'idle' })).toBe('Desktop “box” stopped after being idle');
    expect(line('desktop.stopped', { name: 'box', reason: 'requested' })).toBe('Desktop “box” stopped');
    expect(line('desktop.failed', { name: 'box', reason: 'Xvnc did not start' })).toBe('Desktop “box” failed: Xvnc did not start');
    // Control events carry no name: the one known for the id.
    expect(line('desktop.exec', { command: 'ls', exitCode: 0 }, 'dsk_9')).toBe('Command run on desktop “known-by-id”, exit code 0');
    expect(line('desktop.file_uploaded', { path: '/home/a.txt', bytes: 3 }, 'dsk_unknown')).toBe('File /home/a.txt uploaded to desktop a desktop');
  });

  it('names a key by name and visible id, from the event or what the page knows', () => {
    const names = { key: (id: string | null | undefined) => (id === 'key_1' ? { name: 'ci', keyId: 'lb_k_1' } : undefined), desktop: () => undefined };
    const parts = describeEvent(event('alert.new_address', { target: { type: 'api_key', id: 'key_1' }, ip: '203.0.113.7' }), names);
    expect(parts[1]).toEqual({ kind: 'key', id: 'key_1', name: 'ci', keyId: 'lb_k_1' });
    expect(plainText(parts)).toBe('API key “ci” (lb_k_1) used from a new address: 203.0.113.7');
    expect(plainText(describeEvent(event('alert.new_address', { target: { type: 'api_key', id: 'key_x' } }), noNames))).toBe(
      'An API key used from a new address: unknown',
    );
  });

  it('announces one event, or a burst of them with how many need attention', () => {
    const created = event('desktop.created', { target: { type: 'desktop', id: 'dsk_1' }, data: { name: 'one' } });
    const alert = event('ip.blocked', { data: { address: '203.0.113.9', blockS: 900 } });
    expect(announcement([created])).toBe('New activity: Desktop “one” created.');
    expect(announcement([alert])).toBe('Needs your attention: Address 203.0.113.9 blocked from API-key sign-in for 15 min after repeated wrong keys.');
    expect(announcement([alert, created])).toBe('2 new events. One needs your attention. Latest: Desktop “one” created.');
    expect(announcement([alert, alert, created])).toBe('3 new events. 2 need your attention. Latest: Desktop “one” created.');
  });
});
