/**
 * Tells every process that a credential ended, so verified caches drop it at once.
 * In one process this is a plain in-memory fan-out; scale-out backs it with Redis.
 */
export type Revocation = { kind: 'api_key' | 'session'; id: string };

export interface RevocationBus {
  /** Announces a revocation made here: to this process at once, and to the others. */
  publish(revocation: Revocation): void;
  /** Hands a revocation learnt from elsewhere to this process's listeners only. */
  deliver(revocation: Revocation): void;
  subscribe(listener: (revocation: Revocation) => void): () => void;
}

export class LocalRevocationBus implements RevocationBus {
  private readonly listeners = new Set<(r: Revocation) => void>();

  publish(revocation: Revocation): void {
    for (const l of this.listeners) l(revocation);
  }

  /** Deliveries from other processes enter here too. */
  deliver(revocation: Revocation): void {
    this.publish(revocation);
  }

  subscribe(listener: (revocation: Revocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
