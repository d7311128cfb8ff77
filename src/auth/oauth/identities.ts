/** An identity at a sign-in provider: the pair (provider, subject), bound to one account. */
export interface Identity {
  provider: string;
  subject: string;
  accountId: string;
  /** What the provider last said, for display and for linking decisions. */
  email: string | null;
  emailVerified: boolean;
  createdAt: number;
}

export interface IdentityStore {
  find(provider: string, subject: string): Promise<Identity | undefined>;
  /** Inserts, or returns the identity already stored for (provider, subject) (a concurrent first sign-in). */
  insertOrGet(identity: Identity): Promise<Identity>;
  /** Keeps the provider's latest email claim. */
  updateEmail(provider: string, subject: string, email: string | null, emailVerified: boolean): Promise<void>;
  listForAccount(accountId: string): Promise<Identity[]>;
}
