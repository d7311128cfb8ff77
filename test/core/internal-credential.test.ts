import { describe, expect, it } from 'vitest';
import { InternalCredential, STREAMED_BODY, bodyDigest, deriveInternalKey } from '../../src/core/internal-credential.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const SECRET = Buffer.from('a server secret of at least thirty-two characters');
const request = { method: 'POST', path: '/internal/desktops/dsk_1/exec', host: 'host_a', body: bodyDigest('{"command":"ls"}') };
const target = { method: request.method, path: request.path, host: request.host };

function pair(options: { windowMs?: number; maxRemembered?: number } = {}) {
  const clock = new FakeClock();
  const key = deriveInternalKey(SECRET);
  return { clock, sender: new InternalCredential(key, clock, options), receiver: new InternalCredential(key, clock, options) };
}

describe('the inter-process credential', () => {
  it('derives a key of its own from the server secret: not the secret, and different for another secret', () => {
    const key = deriveInternalKey(SECRET);
    expect(key).toHaveLength(32);
    expect(key.equals(SECRET.subarray(0, 32))).toBe(false);
    expect(key.equals(deriveInternalKey(SECRET))).toBe(true);
    expect(key.equals(deriveInternalKey(Buffer.from('another server secret of at least 32 characters')))).toBe(false);
  });

  it('accepts a request signed with the same secret, and vouches for the body digest it was signed with', () => {
    const { sender, receiver } = pair();
    const header = sender.sign(request);
    expect(header).toMatch(/^Bureau-Internal v=1,ts=\d+,nonce=[\w-]{22},body=[\w-]+,sig=[\w-]{43}$/);
    expect(receiver.verify(header, target)).toEqual({ ok: true, body: request.body });
    const streamed = sender.sign({ ...request, method: 'PUT', body: STREAMED_BODY });
    expect(receiver.verify(streamed, { ...target, method: 'PUT' })).toEqual({ ok: true, body: STREAMED_BODY });
  });

  it('refuses a request signed with another secret', () => {
    const { clock, receiver } = pair();
    const stranger = new InternalCredential(deriveInternalKey(Buffer.from('another server secret of at least 32 characters')), clock);
    expect(receiver.verify(stranger.sign(request), target)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses the header on another method, path, query or host', () => {
    const { sender, receiver } = pair();
    for (const other of [
      { ...target, method: 'GET' },
      { ...target, path: '/internal/desktops/dsk_2/exec' },
      { ...target, path: `${target.path}?x=1` },
      { ...target, host: 'host_b' },
    ]) {
      expect(receiver.verify(sender.sign(request), other)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('refuses a header whose body digest or timestamp was changed', () => {
    const { sender, receiver } = pair();
    const header = sender.sign(request);
    const otherBody = header.replace(`body=${request.body}`, `body=${bodyDigest('{"command":"rm -rf ~"}')}`);
    expect(receiver.verify(otherBody, target)).toEqual({ ok: false, reason: 'bad_signature' });
    const ts = /ts=(\d+)/.exec(header)![1];
    expect(receiver.verify(header.replace(`ts=${ts}`, `ts=${Number(ts) + 1}`), target)).toEqual({ ok: false, reason: 'bad_signature' });
    const sig = /sig=([\w-]+)/.exec(header)![1];
    const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
    expect(receiver.verify(header.replace(sig, flipped), target)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a header older or newer than the window (30 s by default)', () => {
    const { clock, sender, receiver } = pair();
    const old = sender.sign(request);
    clock.advance(30_001);
    expect(receiver.verify(old, target)).toEqual({ ok: false, reason: 'stale' });
    const future = sender.sign(request);
    clock.advance(-60_002);
    expect(receiver.verify(future, target)).toEqual({ ok: false, reason: 'stale' });
    clock.advance(30_001);
    // Exactly at the edge of the window: still accepted.
    expect(receiver.verify(sender.sign(request), target).ok).toBe(true);
  });

  it('accepts a header within the window once: a replay is refused, and still refused until the header is stale', () => {
    const { clock, sender, receiver } = pair({ windowMs: 10_000 });
    const header = sender.sign(request);
    expect(receiver.verify(header, target).ok).toBe(true);
    expect(receiver.verify(header, target)).toEqual({ ok: false, reason: 'replayed' });
    clock.advance(10_000);
    expect(receiver.verify(header, target)).toEqual({ ok: false, reason: 'replayed' });
    clock.advance(1);
    expect(receiver.verify(header, target)).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses what was signed before it started (bar a second): a header captured before a restart cannot be played to the new process', () => {
    const { clock, sender } = pair();
    const key = deriveInternalKey(SECRET);
    const captured = sender.sign(request);
    clock.advance(500);
    const underWay = sender.sign(request);
    clock.advance(1000);
    // The receiver restarted: its memory of nonces is new, well within the 30 s window.
    const restarted = new InternalCredential(key, clock);
    expect(restarted.verify(captured, target)).toEqual({ ok: false, reason: 'stale' });
    expect(restarted.verify(underWay, target).ok).toBe(true);
    expect(restarted.verify(sender.sign(request), target).ok).toBe(true);
  });

  it('forgets nonces once their headers are stale, and refuses past its memory rather than forget early', () => {
    const { clock, sender, receiver } = pair({ windowMs: 1000, maxRemembered: 3 });
    for (let i = 0; i < 3; i++) expect(receiver.verify(sender.sign(request), target).ok).toBe(true);
    expect(receiver.verify(sender.sign(request), target)).toEqual({ ok: false, reason: 'overloaded' });
    clock.advance(2000);
    expect(receiver.verify(sender.sign(request), target).ok).toBe(true);
  });

  it('refuses a missing or malformed header without checking anything else', () => {
    const { sender, receiver } = pair();
    const good = sender.sign(request);
    expect(receiver.verify(undefined, target)).toEqual({ ok: false, reason: 'missing' });
    for (const bad of [
      '',
      'Bearer lb_k_something',
      good.replace('Bureau-Internal', 'Bureau-internal'),
      good.replace('v=1', 'v=2'),
      good.replace(/,nonce=[\w-]+/, ''),
      good.replace(/ts=\d+/, 'ts=soon'),
      `${good},ts=1`,
      good.replace(/nonce=[\w-]+/, 'nonce=short'),
      `${good}${'x'.repeat(400)}`,
    ]) {
      expect(receiver.verify(bad, target), bad).toEqual({ ok: false, reason: bad === '' ? 'missing' : 'malformed' });
    }
  });
});
