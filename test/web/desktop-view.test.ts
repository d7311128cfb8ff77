import { describe, expect, it } from 'vitest';
import { TYPE_LABELS } from '../../web/src/activity-filter.ts';
import { EVENT_TYPES } from '../../web/src/activity.ts';
import type { ActivityEvent } from '../../web/src/api.ts';
import { describeActor, describeEvent, plainText } from '../../web/src/event-text.ts';
import { PAGES, desktopIdOf, desktopPath } from '../../web/src/page-paths.ts';
import { thumbnailEveryMs } from '../../web/src/use-thumbnail.ts';
import { RECONNECT_S, ownerVerdict, reconnectDelayMs, viewerVerdict } from '../../web/src/view-drops.ts';
import { parseViewLink, viewLinkUrl, viewSocketUrl } from '../../web/src/view-link.ts';
import { DASHBOARD_PAGES } from '../../src/http/routes/dashboard.ts';

const TICKET = 'lb_vt_' + 'Ab3'.repeat(10) + 'xy';

describe('watch-only links', () => {
  it('carry the ticket in the fragment of our viewer page, and read back exactly', () => {
    const url = viewLinkUrl('https://bureau.example', { desktopId: 'dsk_1', ticket: TICKET });
    expect(url).toBe(`https://bureau.example/view#desktop=dsk_1&ticket=${TICKET}`);
    const parsed = new URL(url);
    expect(parsed.pathname + parsed.search).toBe('/view');
    expect(parseViewLink(parsed.hash)).toEqual({ desktopId: 'dsk_1', ticket: TICKET });
    expect(PAGES.viewer).toBe('/view');
    expect(DASHBOARD_PAGES as readonly string[]).toContain(PAGES.viewer);
  });

  it('refuse anything that is not a link of ours', () => {
    for (const hash of [
      '',
      '#',
      `#desktop=dsk_1`,
      `#ticket=${TICKET}`,
      `#desktop=dsk 1&ticket=${TICKET}`,
      `#desktop=dsk_1&ticket=lb_k_${'a'.repeat(32)}`,
      `#desktop=dsk_1&ticket=${TICKET}x`,
      `#desktop=${'a'.repeat(65)}&ticket=${TICKET}`,
    ]) {
      expect(parseViewLink(hash), hash).toBeNull();
    }
  });

  it('open the view on the same origin, ws for http and wss for https, the ticket as ?ticket=', () => {
    expect(viewSocketUrl('http://127.0.0.1:3000', 'dsk_1')).toBe('ws://127.0.0.1:3000/api/desktops/dsk_1/view');
    expect(viewSocketUrl('https://bureau.example', 'dsk_1', TICKET)).toBe(`wss://bureau.example/api/desktops/dsk_1/view?ticket=${TICKET}`);
  });
});

describe('desktop pages', () => {
  it('are /desktops/<id> for ids of the API’s form only', () => {
    expect(desktopPath('dsk_AbC-1')).toBe('/desktops/dsk_AbC-1');
    expect(desktopIdOf('/desktops/dsk_AbC-1')).toBe('dsk_AbC-1');
    for (const path of ['/desktops', '/desktops/', '/desktops/a.b', '/desktops/a/b', `/desktops/${'a'.repeat(65)}`, '/view'])
      expect(desktopIdOf(path), path).toBeNull();
  });
});

describe('thumbnails', () => {
  it('refresh every 5 s, less often with more desktops running: at most 30 screenshots a minute together', () => {
    expect(thumbnailEveryMs(0)).toBe(5000);
    expect(thumbnailEveryMs(1)).toBe(5000);
    for (let running = 1; running <= 20; running++) expect((running * 60_000) / thumbnailEveryMs(running)).toBeLessThanOrEqual(30);
  });
});

describe('a live view that closes', () => {
  const dropped = { opened: true, code: 1006, reason: '' };
  const refused = { opened: false, code: 1006, reason: '' };

  it('reconnects after 1, 2, 4, 8, 15, then every 30 s', () => {
    expect(RECONNECT_S).toEqual([1, 2, 4, 8, 15, 30]);
    expect([1, 2, 3, 6, 7, 100].map(reconnectDelayMs)).toEqual([1000, 2000, 4000, 30_000, 30_000, 30_000]);
  });

  it('on its desktop’s page: retries while the desktop runs, stops when it does not, is gone, or the session ended', () => {
    expect(ownerVerdict(dropped, 'running')).toEqual({ retry: true, message: 'The connection to the desktop dropped.' });
    expect(ownerVerdict(refused, 'running')).toEqual({ retry: true, message: 'The live view could not be opened.' });
    expect(ownerVerdict(refused, null).retry).toBe(true);
    expect(ownerVerdict({ opened: true, code: 1001, reason: 'server_shutdown' }, null)).toEqual({ retry: true, message: 'Le Bureau is restarting.' });
    expect(ownerVerdict({ opened: true, code: 1008, reason: 'unresponsive' }, 'running').message).toBe('The connection stopped answering.');
    expect(ownerVerdict({ opened: true, code: 1001, reason: 'desktop_stopped' }, 'stopped')).toEqual({
      retry: false,
      message: 'The desktop is stopped: its screen shows here while it runs.',
    });
    expect(ownerVerdict(refused, 'failed').retry).toBe(false);
    expect(ownerVerdict(refused, 'gone')).toEqual({ retry: false, message: 'This desktop no longer exists.' });
    expect(ownerVerdict({ opened: true, code: 1008, reason: 'credential_revoked' }, 'running').retry).toBe(false);
  });

  it('for a shared link: says when it was revoked or expired and stops; waits for a stopped desktop', () => {
    expect(viewerVerdict({ opened: true, code: 1008, reason: 'ticket_revoked' }, null)).toEqual({
      retry: false,
      message: 'This link was revoked by the person who shared it.',
    });
    expect(viewerVerdict({ opened: true, code: 1008, reason: 'ticket_expired' }, null)).toEqual({
      retry: false,
      message: 'This link has expired. Ask for a new one.',
    });
    expect(viewerVerdict({ opened: true, code: 1008, reason: 'credential_expired' }, null).retry).toBe(false);
    expect(viewerVerdict({ opened: true, code: 1001, reason: 'desktop_stopped' }, null).retry).toBe(true);
    // Refused at the upgrade: what the plain GET said decides.
    expect(viewerVerdict(refused, 'invalid')).toEqual({
      retry: false,
      message: 'This link no longer works: it was revoked, it expired, or its desktop was deleted.',
    });
    expect(viewerVerdict(refused, 'valid')).toEqual({ retry: true, message: 'The desktop is not running right now. This page shows it when it runs.' });
    expect(viewerVerdict(refused, null)).toEqual({ retry: true, message: 'The desktop could not be reached.' });
    expect(viewerVerdict(dropped, null).retry).toBe(true);
  });
});

describe('live view events in mission control', () => {
  const names = { key: () => undefined, desktop: () => 'lab' };
  const event = (type: string, data: Record<string, unknown>, actor: ActivityEvent['actor'] = { type: 'session', id: 'ses_1' }): ActivityEvent => ({
    id: 1,
    type,
    at: '2026-03-01T12:00:00.000Z',
    actor,
    target: { type: 'desktop', id: 'dsk_1' },
    ip: null,
    data,
  });

  it('are labelled, listened for, and say the mode, why a view closed and who watched', () => {
    for (const type of ['desktop.view_opened', 'desktop.view_closed']) {
      expect(TYPE_LABELS[type]).toBeTruthy();
      expect(EVENT_TYPES as readonly string[]).toContain(type);
    }
    expect(plainText(describeEvent(event('desktop.view_opened', { mode: 'view' }), names))).toBe('Live view of desktop “lab” opened, watch only');
    expect(plainText(describeEvent(event('desktop.view_opened', { mode: 'control' }), names))).toBe('Live view of desktop “lab” opened, in control');
    expect(plainText(describeEvent(event('desktop.view_closed', { reason: 'ticket_revoked' }), names))).toBe(
      'Live view of desktop “lab” closed: its link was revoked',
    );
    expect(plainText(describeEvent(event('desktop.view_closed', { reason: 'client_closed' }), names))).toBe('Live view of desktop “lab” closed');
    expect(describeActor(event('desktop.view_opened', { mode: 'view' }, { type: 'view_ticket', id: 'vtk_1' }), names, 'ses_1')).toEqual([
      'someone with a shared link',
    ]);
  });
});
