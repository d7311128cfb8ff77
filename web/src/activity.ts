import { useSyncExternalStore } from 'react';
import { ACTIVITY_TYPES } from '../../src/activity/events.ts';
import { type ActivityEvent, api, request } from './api.ts';
import { isAlert } from './event-text.ts';
import { names } from './names.ts';

/**
 * Every type the stream sends as `event:`: EventSource only delivers named events to
 * listeners for that name, so the list is the server's own (src/activity/events.ts).
 */
export const EVENT_TYPES = ACTIVITY_TYPES;

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface FeedState {
  /** Newest first, one entry per id. */
  events: ActivityEvent[];
  status: StreamStatus;
  history: 'loading' | 'idle' | 'done' | 'error';
  historyError: unknown;
  /** Live events not yet looked at on the mission control page. */
  unseen: number;
  unseenAlerts: number;
}

const BACKOFF_S = [1, 2, 5, 10, 30];
const STREAM_URL = '/api/mission-control/activity/stream';

/**
 * Mission control's feed for the whole signed-in page (so the badge in the menu counts
 * what happened while you were elsewhere, and lists refresh when something changes).
 *
 * The first page of history sets where the stream starts (?lastEventId= its newest id),
 * so nothing falls between the two. When the connection drops, EventSource reconnects by
 * itself with Last-Event-ID; when it gives up (an error answer) or the server ends the
 * stream, this reconnects with the last id it saw, after asking /api/me whether the
 * session is still good (a 401 there signs the page out).
 */
export class ActivityFeed {
  private state: FeedState = { events: [], status: 'stopped', history: 'idle', historyError: null, unseen: 0, unseenAlerts: 0 };
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(e: ActivityEvent) => void>();
  private source: EventSource | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private attempts = 0;
  /** Newest event id seen; null until known (then the stream starts live-only, without a replay). */
  private lastId: number | null = null;
  private nextBefore: number | null = null;
  private running = false;
  private watching = false;
  private ownSessionId: string | null = null;

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = () => this.state;

  /** Called for each live event (not for history), e.g. to reload a list. */
  onEvent(listener: (e: ActivityEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** `ownSessionId`: this browser's session, whose own actions are not news to it. */
  async start(ownSessionId?: string): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.ownSessionId = ownSessionId ?? null;
    this.set({ status: 'connecting', history: 'loading' });
    try {
      const page = await api.activity(null);
      if (!this.running) return;
      names.rememberFrom(page.events, false);
      this.merge(page.events);
      this.nextBefore = page.nextBefore;
      this.lastId = Math.max(this.lastId ?? 0, page.events[0]?.id ?? 0);
      this.set({ history: page.nextBefore === null ? 'done' : 'idle', historyError: null });
    } catch (err) {
      if (!this.running) return;
      this.set({ history: 'error', historyError: err });
    }
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.source?.close();
    this.source = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.state = { events: [], status: 'stopped', history: 'idle', historyError: null, unseen: 0, unseenAlerts: 0 };
    names.clear();
    this.lastId = null;
    this.nextBefore = null;
    this.emit();
  }

  /** The next older page of history (scrolling down the feed). */
  async loadOlder(): Promise<void> {
    if (this.state.history === 'loading' || this.state.history === 'done') return;
    this.set({ history: 'loading', historyError: null });
    try {
      const page = await api.activity(this.nextBefore);
      if (!this.running) return;
      names.rememberFrom(page.events, false);
      this.merge(page.events);
      this.nextBefore = page.nextBefore;
      if (this.lastId === null) this.lastId = page.events[0]?.id ?? null;
      this.set({ history: page.nextBefore === null ? 'done' : 'idle' });
    } catch (err) {
      this.set({ history: 'error', historyError: err });
    }
  }

  /** The mission control page is on screen: live events count as seen. */
  setWatching(watching: boolean): void {
    this.watching = watching;
    if (watching && (this.state.unseen || this.state.unseenAlerts)) this.set({ unseen: 0, unseenAlerts: 0 });
  }

  private connect(): void {
    if (!this.running) return;
    this.source?.close();
    // The first connection starts after the history page; later ones after the last event seen.
    const source = new EventSource(this.lastId === null ? STREAM_URL : `${STREAM_URL}?lastEventId=${this.lastId}`);
    this.source = source;
    source.onopen = () => {
      this.attempts = 0;
      this.set({ status: 'live' });
    };
    source.onerror = () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CONNECTING) {
        // The browser retries by itself, sending Last-Event-ID.
        this.set({ status: 'reconnecting' });
        return;
      }
      this.retryLater();
    };
    const deliver = (message: MessageEvent<string>) => {
      let event: ActivityEvent;
      try {
        event = JSON.parse(message.data) as ActivityEvent;
      } catch {
        return;
      }
      this.receive(event);
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, deliver);
    source.onmessage = deliver;
    // The server is ending this stream (shutdown, credential ended): reconnect on our terms.
    source.addEventListener('stream.end', () => {
      if (this.source !== source) return;
      this.retryLater();
    });
  }

  private retryLater(): void {
    this.source?.close();
    this.source = null;
    if (!this.running) return;
    this.set({ status: 'reconnecting' });
    const delayS = BACKOFF_S[Math.min(this.attempts, BACKOFF_S.length - 1)];
    this.attempts++;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = null;
      try {
        // EventSource does not say why it failed: a 401 here signs the page out (api.ts).
        await request('GET', '/api/me');
      } catch {
        if (this.running) this.retryLater();
        return;
      }
      this.connect();
    }, delayS * 1000);
  }

  private receive(event: ActivityEvent): void {
    if (this.state.events.some((e) => e.id === event.id)) return;
    this.lastId = Math.max(this.lastId ?? 0, event.id);
    names.rememberFrom([event], true);
    this.merge([event]);
    const mine = event.actor.type === 'session' && event.actor.id === this.ownSessionId;
    if (!this.watching && !mine) this.set({ unseen: this.state.unseen + 1, unseenAlerts: this.state.unseenAlerts + (isAlert(event) ? 1 : 0) });
    for (const l of this.eventListeners) l(event);
  }

  private merge(incoming: ActivityEvent[]): void {
    const byId = new Map(this.state.events.map((e) => [e.id, e]));
    for (const e of incoming) byId.set(e.id, e);
    this.set({ events: [...byId.values()].sort((a, b) => b.id - a.id) });
  }

  private set(patch: Partial<FeedState>): void {
    this.state = { ...this.state, ...patch };
    this.emit();
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

export const feed = new ActivityFeed();

export function useFeed(): FeedState {
  return useSyncExternalStore(feed.subscribe, feed.getState);
}
