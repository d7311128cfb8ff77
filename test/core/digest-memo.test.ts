import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CacheDigest } from '../../src/core/cache-digest.ts';
import { DigestMemo, equalInConstantTime } from '../../src/core/digest-memo.ts';
import { ConnectionMemos } from '../../src/http/connection-memos.ts';

const KEY_A = 'lb_k_AAAAAAAAAAAA_aaaaaaaaaaaaaaaaaaaaaaaa000000';
const KEY_B = 'lb_k_AAAAAAAAAAAA_aaaaaaaaaaaaaaaaaaaaaaab000000';

describe('CacheDigest with a connection memo', () => {
  it('gives the same digest with and without the memo, for each secret in turn', () => {
    const digest = new CacheDigest();
    const memo = new DigestMemo();
    for (const secret of [KEY_A, KEY_A, KEY_B, KEY_A, KEY_B, KEY_B]) {
      expect(digest.of(secret, memo)).toBe(digest.of(secret));
      expect(memo.secret).toBe(secret);
    }
    expect(digest.of(KEY_A)).not.toBe(digest.of(KEY_B));
  });

  it('never answers a secret that differs in one character with the memo of the other', () => {
    const digest = new CacheDigest();
    const memo = new DigestMemo();
    const a = digest.of(KEY_A, memo);
    const b = digest.of(KEY_B, memo);
    expect(b).not.toBe(a);
    expect(memo.digest).toBe(b);
  });

  it('does not use a memo another digester filled: each has its own prefix', () => {
    const keys = new CacheDigest();
    const sessions = new CacheDigest();
    const memo = new DigestMemo();
    const forKeys = keys.of(KEY_A, memo);
    const forSessions = sessions.of(KEY_A, memo);
    expect(forSessions).toBe(sessions.of(KEY_A));
    expect(forSessions).not.toBe(forKeys);
    expect(keys.of(KEY_A, memo)).toBe(forKeys);
  });

  it('marks the memo used, and forget() drops the secret', () => {
    const digest = new CacheDigest();
    const memo = new DigestMemo();
    digest.of(KEY_A, memo);
    expect(memo.used).toBe(true);
    memo.forget();
    expect(memo.secret).toBe('');
    expect(memo.digest).toBe('');
    expect(digest.of(KEY_A, memo)).toBe(digest.of(KEY_A));
  });
});

describe('equalInConstantTime', () => {
  it('is string equality', () => {
    expect(equalInConstantTime(KEY_A, `${KEY_A}`)).toBe(true);
    expect(equalInConstantTime(KEY_A, KEY_B)).toBe(false);
    expect(equalInConstantTime(KEY_A, `x${KEY_A.slice(1)}`)).toBe(false);
    expect(equalInConstantTime(KEY_A, KEY_A.slice(0, -1))).toBe(false);
    expect(equalInConstantTime('', '')).toBe(true);
  });
});

describe('ConnectionMemos', () => {
  it('keeps one memo per connection, and a sweep forgets those unused since the last one', () => {
    const memos = new ConnectionMemos();
    const busy = new Socket();
    const idle = new Socket();
    const digest = new CacheDigest();
    digest.of(KEY_A, memos.of(busy));
    digest.of(KEY_B, memos.of(idle));
    expect(memos.of(busy)).toBe(memos.of(busy));
    expect(memos.size).toBe(2);

    memos.sweep(); // both were used since the start: both kept, both now unused
    expect(memos.size).toBe(2);
    const idleMemo = memos.of(idle);
    digest.of(KEY_A, memos.of(busy));
    memos.sweep(); // idle went a whole period unused: forgotten, its secret with it
    expect(memos.size).toBe(1);
    expect(idleMemo.secret).toBe('');
    expect(memos.of(busy).secret).toBe(KEY_A);
  });

  it('forgets the memo of a closed connection at the next sweep, used or not', () => {
    const memos = new ConnectionMemos();
    const socket = new Socket();
    const memo = memos.of(socket);
    new CacheDigest().of(KEY_A, memo);
    socket.destroy();
    memos.sweep();
    expect(memos.size).toBe(0);
    expect(memo.secret).toBe('');
  });
});
