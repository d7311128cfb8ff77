/** Who a request acts for, and how it proved it. */
export type Principal =
  | { method: 'api_key'; accountId: string; keyId: string; publicId: string }
  | { method: 'session'; accountId: string; sessionId: string; expiresAt: number };
