import type { Generated } from 'kysely';

/**
 * Row shapes as stored. Times are integer milliseconds since the epoch on both
 * SQLite and PostgreSQL (bigint there, parsed back to number by the pg type parser).
 */
export interface Database {
  accounts: AccountRow;
  api_keys: ApiKeyRow;
  api_key_addresses: ApiKeyAddressRow;
  desktops: DesktopRow;
  activity_events: ActivityEventRow;
  identities: IdentityRow;
  sessions: SessionRow;
  used_sign_in_flows: UsedSignInFlowRow;
  address_blocks: AddressBlockRow;
  view_tickets: ViewTicketRow;
  api_key_first_uses: ApiKeyFirstUseRow;
  key_usage_minutes: KeyUsageRow;
  key_usage_hours: KeyUsageRow;
  key_trusted_addresses: KeyTrustedAddressRow;
  trusted_addresses: TrustedAddressRow;
  session_addresses: SessionAddressRow;
  alerts: AlertRow;
  alert_claims: AlertClaimRow;
  webhooks: WebhookRow;
  webhook_deliveries: WebhookDeliveryRow;
  desktop_hosts: DesktopHostRow;
  desktop_list_versions: DesktopListVersionRow;
}

export interface AccountRow {
  id: string;
  email: string;
  name: string;
  created_at: number;
}

export interface ApiKeyRow {
  id: string;
  account_id: string;
  name: string;
  public_id: string;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
  /** Scope names, space-separated; null is a key made before scopes (every scope but keys:manage). */
  scopes: string | null;
  /** JSON array of desktop ids the key is bound to; null for all. */
  desktop_ids: string | null;
  rolled_from: string | null;
  rolled_to: string | null;
  /** A rolled key's end (the overlap's). */
  ends_at: number | null;
  /** The last change that every process must see (scopes, a roll): read by the revocation poll. */
  changed_at: number | null;
  /** The tightest expiry notice written (days before expiry: 7, then 1). */
  expiry_notice: number | null;
}

/** Addresses each key has been used from: the "first use from a new IP" signal. */
export interface ApiKeyAddressRow {
  key_id: string;
  ip: string;
  first_seen_at: number;
  last_seen_at: Generated<number>;
  /** Requests authenticated with the key from this address. */
  uses: Generated<number>;
}

export interface DesktopRow {
  id: string;
  account_id: string;
  name: string;
  state: string;
  /** Why it failed, for a `failed` desktop. */
  failure: string | null;
  /** WIDTHxHEIGHT. */
  resolution: string | null;
  /** The desktop host (process) that runs it. */
  host_id: string | null;
  created_at: number;
  updated_at: number;
}

/** A process that runs desktops (scale-out), as it registered itself. */
export interface DesktopHostRow {
  id: string;
  /** Its internal URL (BUREAU_INTERNAL_URL): where the other processes reach it. */
  address: string;
  /** BUREAU_MAX_DESKTOPS of that process. */
  capacity: number;
  /** Its last heartbeat. */
  last_seen_at: number;
}

/** Raised by triggers on every write to an account's desktops (migration 011). */
export interface DesktopListVersionRow {
  account_id: string;
  /** bigint: a string on PostgreSQL. */
  version: number | string;
}

export interface ActivityEventRow {
  id: Generated<number>;
  account_id: string;
  type: string;
  at: number;
  actor_type: string;
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  data: string | null;
}

export interface IdentityRow {
  provider: string;
  subject: string;
  account_id: string;
  email: string | null;
  email_verified: number;
  created_at: number;
}

export interface SessionRow {
  id: string;
  account_id: string;
  token_hash: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  ended_at: number | null;
  ip: string | null;
  user_agent: string | null;
  provider: string | null;
}

/** A completed sign-in flow id (single use), until the flow's own expiry. */
export interface UsedSignInFlowRow {
  id: string;
  expires_at: number;
}

/** Address blocks from API-key authentication, for operators (list, lift) and to record each block once. */
export interface AddressBlockRow {
  address: string;
  blocked_at: number;
  until_at: number;
  lifted_at: number | null;
}

/** A desktop's live-view ticket: the keyed digest of its secret, never the secret. */
export interface ViewTicketRow {
  id: string;
  desktop_id: string;
  account_id: string;
  digest: string;
  mode: string;
  creator_type: string;
  creator_id: string;
  created_at: number;
  expires_at: number;
}

/** The first address a key was ever used from (one row per key, claimed once). */
export interface ApiKeyFirstUseRow {
  key_id: string;
  ip: string;
  at: number;
}

/** One key's requests in one minute (or hour) bucket, by outcome (o_*) and by route group (r_*). */
export interface KeyUsageRow {
  key_id: string;
  /** The bucket's start, ms since the epoch. */
  at: number;
  requests: number;
  o_ok: number;
  o_client_error: number;
  o_unauthorized: number;
  o_forbidden: number;
  o_limited: number;
  o_server_error: number;
  r_desktops: number;
  r_actions: number;
  r_exec: number;
  r_files: number;
  r_view: number;
  r_keys: number;
  r_activity: number;
  r_other: number;
}

export interface KeyTrustedAddressRow {
  key_id: string;
  ip: string;
  created_at: number;
}

export interface TrustedAddressRow {
  id: string;
  account_id: string;
  ip: string;
  created_at: number;
}

export interface SessionAddressRow {
  account_id: string;
  ip: string;
  last_seen_at: number;
}

export interface AlertRow {
  id: string;
  account_id: string;
  kind: string;
  key_id: string | null;
  address: string | null;
  /** JSON. */
  data: string | null;
  created_at: number;
  state: string;
  acked_at: number | null;
}

export interface AlertClaimRow {
  claim: string;
  until_at: number;
}

export interface WebhookRow {
  id: string;
  account_id: string;
  url: string;
  /** JSON array of alert kinds, or ["*"]. */
  events: string;
  secret_box: string;
  created_at: number;
}

export interface WebhookDeliveryRow {
  id: string;
  webhook_id: string;
  account_id: string;
  event_id: string;
  event_type: string;
  /** The exact bytes signed and sent, the same for every attempt. */
  body: string;
  state: string;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}
