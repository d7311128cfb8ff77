import type { Socket } from 'node:net';
import { DigestMemo } from '../core/digest-memo.ts';

/** How often memos are swept: one unused for a whole period is forgotten, so within two. */
export const MEMO_SWEEP_MS = 1000;

/**
 * One DigestMemo per connection that presented a credential. Only connections that
 * sent a credential in the last sweep period or two have one, so the map is bounded
 * by the open connections (which the server bounds).
 */
export class ConnectionMemos {
  private readonly bySocket = new Map<Socket, DigestMemo>();

  of(socket: Socket): DigestMemo {
    let memo = this.bySocket.get(socket);
    if (memo === undefined) {
      memo = new DigestMemo();
      this.bySocket.set(socket, memo);
    }
    return memo;
  }

  /** Forgets the memos of closed connections and those unused since the previous sweep. */
  sweep(): void {
    for (const [socket, memo] of this.bySocket) {
      if (memo.used && !socket.destroyed) {
        memo.used = false;
        continue;
      }
      memo.forget();
      this.bySocket.delete(socket);
    }
  }

  clear(): void {
    for (const memo of this.bySocket.values()) memo.forget();
    this.bySocket.clear();
  }

  get size(): number {
    return this.bySocket.size;
  }
}
