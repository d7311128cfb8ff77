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
  desktop_hosts: DesktopHostRow;
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
}

/** Addresses each key has been used from: the "first use from a new IP" signal. */
export interface ApiKeyAddressRow {
  key_id: string;
  ip: string;
  first_seen_at: number;
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
