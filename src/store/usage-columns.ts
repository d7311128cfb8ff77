import { COUNTERS } from '../usage/ports.ts';

/** The columns of key_usage_minutes and key_usage_hours in the order of usage/ports.ts: OUTCOMES, then ROUTE_GROUPS. */
export const COUNT_COLUMNS = [
  'o_ok',
  'o_client_error',
  'o_unauthorized',
  'o_forbidden',
  'o_limited',
  'o_server_error',
  'r_desktops',
  'r_actions',
  'r_exec',
  'r_files',
  'r_view',
  'r_keys',
  'r_activity',
  'r_other',
] as const;

export type CountColumn = (typeof COUNT_COLUMNS)[number];

if (COUNT_COLUMNS.length !== COUNTERS) throw new Error('usage columns and counters differ');
