/**
 * What the usage domain (per-key usage, addresses, trust, alerts, webhooks) needs from
 * the outside world, in one place: its SQL stores (src/store/sql-usage*.ts and
 * neighbours) and the webhook transport (src/infra/webhook-sender.ts).
 */
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';

/** How a request ended. `2xx` is every status below 400; `4xx` every 4xx but 401, 403 and 429. */
export const OUTCOMES = ['2xx', '4xx', '401', '403', '429', '5xx'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What a request was about, from its route's URL pattern (route-groups.ts). */
export const ROUTE_GROUPS = ['desktops', 'actions', 'exec', 'files', 'view', 'keys', 'activity', 'other'] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

/** Counters of one bucket: the outcomes, then the route groups (each request adds one to one of each). */
export const COUNTERS = OUTCOMES.length + ROUTE_GROUPS.length;

/** One key's counts in one minute; `counts` has COUNTERS entries. */
export interface UsageBucket {
  keyId: string;
  at: number;
  counts: ArrayLike<number>;
}

/** A stored bucket of one key: its start and its COUNTERS counts. */
export interface UsagePoint {
  at: number;
  counts: number[];
}

export interface BusyKey {
  keyId: string;
  accountId: string;
  requests: number;
  /** 401 and 403 answers. */
  refused: number;
}

export interface UsageStore {
  /** Adds the counts to the stored ones: several processes flushing the same minute add up. */
  addMinutes(buckets: UsageBucket[]): Promise<void>;
  /** A key's minute buckets in [from, to), oldest first; only minutes with requests. */
  minutes(keyId: string, from: number, to: number): Promise<UsagePoint[]>;
  /** A key's hour buckets in [from, to): hours rolled up, plus minutes not rolled up yet summed per hour. */
  hours(keyId: string, from: number, to: number): Promise<UsagePoint[]>;
  /** Keys with at least `minRequests` requests in the minute buckets from `from` on. */
  busyKeys(from: number, minRequests: number): Promise<BusyKey[]>;
  /** A key's requests in the minute buckets in [from, to). */
  minuteRequests(keyId: string, from: number, to: number): Promise<number>;
  /** Moves minute buckets older than `before` into hour buckets; several processes may run it at once. */
  rollUp(before: number): Promise<number>;
  /** Deletes hour buckets older than `before`. */
  prune(before: number): Promise<number>;
}

/** Requests authenticated with a key from one address since the last flush. */
export interface AddressUse {
  keyId: string;
  ip: string;
  uses: number;
  firstAt: number;
  lastAt: number;
}

/** A (key, address) pair stored for the first time. */
export interface NewAddress {
  keyId: string;
  accountId: string;
  ip: string;
  at: number;
}

/** Why an address is trusted: marked for the key, for the account, or used by one of the owner's sessions. */
export type Trust = 'key' | 'account' | 'session';

export interface KeyAddress {
  ip: string;
  firstSeenAt: number;
  lastSeenAt: number;
  uses: number;
}

export interface KeyAddressStore {
  /**
   * Adds the uses to the stored addresses. Each pair stored for the first time is
   * judged in the same transaction: the key's first address ever (claimed once, whatever
   * the number of processes), a trusted address (`sessionsSince` bounds the sessions
   * that count), or neither. `event` makes the events written with the first two; the
   * third kind is returned, for an alert.
   */
  record(
    uses: AddressUse[],
    sessionsSince: number,
    event: (a: NewAddress, verdict: 'first' | Trust) => ActivityDraft,
  ): Promise<{ events: ActivityEvent[]; untrusted: NewAddress[] }>;
  list(keyId: string): Promise<KeyAddress[]>;
}

export interface TrustedAddress {
  id: string;
  accountId: string;
  ip: string;
  createdAt: number;
}

export interface TrustStore {
  /** Trusts `ip` for one key; no event (and false) when it already was. */
  trustForKey(keyId: string, ip: string, at: number, event: ActivityDraft): Promise<{ added: boolean; events: ActivityEvent[] }>;
  untrustForKey(keyId: string, ip: string, event: ActivityDraft): Promise<{ removed: boolean; events: ActivityEvent[] }>;
  keyTrusts(keyId: string): Promise<string[]>;
  /** Trusts `ip` for the whole account; returns the stored one when it already was (no event then). */
  addForAccount(trusted: TrustedAddress, event: ActivityDraft): Promise<{ trusted: TrustedAddress; added: boolean; events: ActivityEvent[] }>;
  findForAccount(id: string): Promise<TrustedAddress | undefined>;
  removeForAccount(id: string, event: ActivityDraft): Promise<ActivityEvent[]>;
  listForAccount(accountId: string): Promise<TrustedAddress[]>;
  /** Addresses the account's sessions used since `since` (where they started, and where they were used). */
  sessionAddresses(accountId: string, since: number): Promise<string[]>;
  /** Keeps the latest time each (account, address) was used by a session. */
  recordSessionAddresses(rows: Array<{ accountId: string; ip: string; at: number }>): Promise<void>;
  /** Forgets session addresses last used before `before`. */
  pruneSessionAddresses(before: number): Promise<number>;
}

export const ALERT_KINDS = [
  'alert.new_address',
  'alert.usage_spike',
  'alert.failure_spike',
  'alert.old_key_used',
  'alert.blocked_address',
  'alert.key_leaked',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export type AlertState = 'open' | 'acked';

export interface AlertRecord {
  id: string;
  accountId: string;
  kind: AlertKind;
  keyId: string | null;
  address: string | null;
  data: Record<string, unknown> | null;
  createdAt: number;
  state: AlertState;
  ackedAt: number | null;
}

/** Which open alerts an acknowledgement covers (all given fields must match). */
export interface AlertMatch {
  id?: string;
  kind?: AlertKind;
  keyId?: string;
  address?: string;
}

export interface AlertStore {
  /**
   * Stores the alert, its event and one delivery per endpoint `deliveries` returns
   * (given the account's endpoints), in one transaction. With `claim`, only if no
   * unexpired claim of that name exists (then null and nothing written): "once per
   * hour" holds across processes.
   */
  insert(
    alert: AlertRecord,
    event: ActivityDraft,
    options: { claim?: { name: string; untilMs: number }; deliveries: (endpoints: WebhookRecord[]) => DeliveryRecord[] },
  ): Promise<{ events: ActivityEvent[]; deliveries: number } | null>;
  find(id: string): Promise<AlertRecord | undefined>;
  /** Newest first; `before` is the last alert of the previous page. */
  list(accountId: string, options: { state?: AlertState; before?: AlertRecord; limit: number }): Promise<AlertRecord[]>;
  countOpen(accountId: string): Promise<number>;
  /** Acknowledges the account's open alerts that match; one event when any was. */
  ack(accountId: string, match: AlertMatch, at: number, event: (ids: string[]) => ActivityDraft): Promise<{ acked: string[]; events: ActivityEvent[] }>;
  /** Forgets claims that ended before `now`. */
  pruneClaims(now: number): Promise<number>;
}

export interface WebhookRecord {
  id: string;
  accountId: string;
  url: string;
  /** Alert kinds, or ['*']. */
  events: string[];
  /** The signing secret, sealed (secret-box.ts). */
  secretBox: string;
  createdAt: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  accountId: string;
  eventId: string;
  eventType: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lockedUntil: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

/** A delivery taken to be sent, with what sending needs. */
export interface DueDelivery extends DeliveryRecord {
  url: string;
  secretBox: string;
}

export interface DeliveryOutcome {
  state: DeliveryState;
  at: number;
  nextAttemptAt: number;
  status: number | null;
  error: string | null;
}

export interface WebhookStore {
  insert(webhook: WebhookRecord, event: ActivityDraft): Promise<ActivityEvent[]>;
  count(accountId: string): Promise<number>;
  find(id: string): Promise<WebhookRecord | undefined>;
  list(accountId: string): Promise<WebhookRecord[]>;
  /** Deletes the endpoint and its deliveries; no event when it was gone already. */
  delete(id: string, event: ActivityDraft): Promise<ActivityEvent[]>;
  /** Newest first; `before` is the last delivery of the previous page. */
  deliveries(webhookId: string, options: { before?: DeliveryRecord; limit: number }): Promise<DeliveryRecord[]>;
  findDelivery(id: string): Promise<DeliveryRecord | undefined>;
  /**
   * Takes up to `limit` pending deliveries due at `now` that nobody holds, counting an
   * attempt and holding each until `leaseUntil`. Several processes never take the same one.
   */
  claimDue(now: number, leaseUntil: number, limit: number): Promise<DueDelivery[]>;
  /** Records an attempt's outcome, if the lease taken with `leaseUntil` is still ours. */
  finish(id: string, leaseUntil: number, outcome: DeliveryOutcome): Promise<void>;
  /** Deletes delivered and failed deliveries created before `before`. */
  pruneDeliveries(before: number): Promise<number>;
}

/**
 * Sends one webhook over the network. Implementations refuse addresses a webhook must
 * not reach (webhook-sender.ts) and reject with a reason fit to show the owner.
 */
export interface WebhookTransport {
  post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number }>;
}
