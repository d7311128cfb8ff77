import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowSealer, type SignInFlow } from '../../src/auth/oauth/flow-state.ts';
import { sanitizeReturnTo } from '../../src/auth/oauth/return-to.ts';

describe('returnTo', () => {
  it.each([
    ['/', '/'],
    ['/desktops', '/desktops'],
    ['/desktops?tab=mine#top', '/desktops?tab=mine#top'],
    ['/a/../b', '/b'],
    ['//evil.example', '/'],
    ['//evil.example/path', '/'],
    ['https://evil.example', '/'],
    ['http://evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['\\\\evil.example', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    // Dot segments the URL parser resolves into a leading `//` (another host).
    ['/.//evil.example/x', '/'],
    ['/..//evil.example/x', '/'],
    ['/a/..//evil.example/x', '/'],
    ['/a/b/../../..//evil.example', '/'],
    ['/%2e//evil.example/x', '/'],
    ['/%2E%2E//evil.example/x', '/'],
    ['/.%2e//evil.example', '/'],
    ['/./\\evil.example', '/'],
    ['/.\t//evil.example', '/'],
    // Percent-encoded separators are not separators: the path stays ours, as sent.
    ['/%2f%2fevil.example', '/%2f%2fevil.example'],
    ['/%5c%5cevil.example', '/%5c%5cevil.example'],
    ['/%09/evil.example', '/%09/evil.example'],
    ['javascript:alert(1)', '/'],
    ['data:text/html,x', '/'],
    ['evil.example', '/'],
    ['', '/'],
    [`/${'a'.repeat(5000)}`, '/'],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeReturnTo(input)).toBe(expected);
  });

  it('anything that is not a string becomes /', () => {
    for (const v of [undefined, null, 42, ['/a', '/b'], { a: 1 }]) expect(sanitizeReturnTo(v)).toBe('/');
  });

  it('whatever the input, the result is a path that a browser resolves to our own origin', () => {
    const ours = 'https://bureau.example';
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl(),
          fc.string().map((s) => `/${s}`),
          fc.string().map((s) => `//${s}`),
        ),
        (input) => {
          const out = sanitizeReturnTo(input);
          expect(out.startsWith('/')).toBe(true);
          expect(out.startsWith('//')).toBe(false);
          expect(out).not.toMatch(/[\\\u0000-\u001f]/);
          expect(new URL(out, ours).origin).toBe(ours);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('paths built of dot segments, encoded dots, slashes and backslashes never leave the origin', () => {
    const ours = 'https://bureau.example';
    const segment = fc.constantFrom('', '.', '..', '%2e', '%2E%2e', '.%2e', 'a', 'evil.example', '%2f', '%5c', '\\', '\t', '?', '#');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), (segments) => {
        const out = sanitizeReturnTo(`/${segments.join('/')}`);
        expect(out.startsWith('/')).toBe(true);
        expect(out.startsWith('//')).toBe(false);
        expect(out.startsWith('/\\')).toBe(false);
        expect(new URL(out, ours).origin).toBe(ours);
        // What is sent is what a browser resolves: resolving it again changes nothing.
        const again = new URL(out, ours);
        expect(`${again.pathname}${again.search}${again.hash}`).toBe(out);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('flow cookie sealing', () => {
  const flow: SignInFlow = {
    id: 'flw_x',
    provider: 'google',
    state: 'S'.repeat(32),
    codeVerifier: 'V'.repeat(64),
    nonce: 'N'.repeat(32),
    returnTo: '/desktops',
    expiresAt: 1_800_000_000_000,
  };
  const sealer = new FlowSealer(Buffer.alloc(32, 7));

  it('round-trips and hides every field', () => {
    const sealed = sealer.seal(flow);
    expect(sealer.open(sealed)).toEqual(flow);
    for (const secret of [flow.state, flow.codeVerifier, flow.nonce!, flow.returnTo]) expect(sealed).not.toContain(secret);
    expect(Buffer.from(sealed.slice(3), 'base64url').toString('latin1')).not.toContain('google');
    // Fresh IV each time: two seals of the same flow differ.
    expect(sealer.seal(flow)).not.toBe(sealed);
  });

  it('refuses any altered byte, a truncation, another secret, and garbage', () => {
    const sealed = sealer.seal(flow);
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i] ^= 1;
      expect(sealer.open(`v1.${bad.toString('base64url')}`)).toBeNull();
    }
    expect(sealer.open(sealed.slice(0, -4))).toBeNull();
    expect(new FlowSealer(Buffer.alloc(32, 8)).open(sealed)).toBeNull();
    for (const g of ['', 'v1.', 'v2.' + sealed.slice(3), 'garbage', `v1.${'A'.repeat(5000)}`]) expect(sealer.open(g)).toBeNull();
  });
});
