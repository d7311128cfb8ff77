import type { Revocation, RevocationBus } from './ports.ts';
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
