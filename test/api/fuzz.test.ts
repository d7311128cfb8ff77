import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakChecksum, keyParts, withChecksum } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// "No input produces a 5xx": thousands of random credentials, bodies and ids,
// against a real app. The limits are raised (and client addresses randomised) so
// that 429s do not hide the code paths behind them; the limits have their own tests.

/** Characters that can arrive in an HTTP header value over the wire. */
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
  fc.constant('\t'),
);
const headerString = fc.string({ unit: headerChar, maxLength: 120 });
const base62 = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
const b62 = (length: number) => fc.string({ unit: base62, minLength: length, maxLength: length });

/** Values near a real key: the format's edges, where parsing bugs live. */
function keyLike(validKey: string) {
  const { publicId } = keyParts(validKey);
  return fc.oneof(
    { weight: 16, arbitrary: headerString },
    { weight: 8, arbitrary: headerString.map((s) => `lb_k_${s}`) },
    { weight: 8, arbitrary: fc.string({ unit: base62, minLength: 40, maxLength: 50 }).map((s) => `lb_k_${s.slice(0, 12)}_${s.slice(12)}`) },
    // Well-formed, valid checksum, unknown id: reaches the row lookup and a (decoy) bcrypt compare.
    { weight: 8, arbitrary: fc.tuple(b62(12), b62(24)).map(([id, secret]) => withChecksum(`lb_k_${id}_${secret}`)) },
    { weight: 4, arbitrary: fc.constant(breakChecksum(validKey)) },
    // Real key id, wrong secret, valid checksum: reaches bcrypt. Rare, bcrypt is slow on purpose.
    { weight: 1, arbitrary: b62(24).map((secret) => withChecksum(`lb_k_${publicId}_${secret}`)) },
    { weight: 4, arbitrary: fc.tuple(fc.nat(validKey.length), fc.nat(validKey.length)).map(([a, b]) => validKey.slice(Math.min(a, b), Math.max(a, b))) },
    {
      weight: 8,
      arbitrary: fc.tuple(fc.nat(validKey.length - 1), headerChar).map(([i, c]) => validKey.slice(0, i) + c + validKey.slice(i + 1)),
    },
    { weight: 4, arbitrary: fc.constantFrom(validKey, ` ${validKey} `, validKey.toUpperCase(), `${validKey}${validKey}`, '', ' ', 'null', 'undefined') },
  );
}

const address = fc.oneof(fc.ipV4(), fc.ipV6());

/** Bodies shaped like the real ones, with every field of every type, plus anything at all. */
const anything = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.constantFrom('', ' ', '\u0000', '\ud800', 'x'.repeat(101)),
);
const shapedBody = fc.record(
  {
    name: anything,
    state: fc.oneof(fc.constantFrom('running', 'stopped', 'provisioning', 'RUNNING'), anything),
    expiresAt: fc.oneof(
      fc.date({ min: new Date('1900-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('2026-02-30T00:00:00Z', '2026-06-30T23:59:60Z', '2027-01-01', '2027-01-01T00:00:00+25:00', 'now'),
      anything,
    ),
    extra: anything,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 3, arbitrary: shapedBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
    ),
  },
  { weight: 1, arbitrary: headerString },
);
const anyId = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }), fc.string({ unit: base62, minLength: 1, maxLength: 70 }));

function errorLines(t: TestApp): string[] {
  return t.logs.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
}

async function fuzzApp(database: 'sqlite' | 'postgres') {
  const t = await createTestApp({ database, env: { BUREAU_RATE_LIMIT_PER_MINUTE: '1000000000', BUREAU_FAILED_AUTH_LIMIT: '1000000' } });
  const owner = await t.account();
  const desktop = (await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': owner.key }, payload: { name: 'fuzzed' } })).json();
  return { t, owner, desktopId: desktop.id as string };
}

function expectNo5xx(res: { statusCode: number; headers: Record<string, unknown>; body: string }, what: string) {
  if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${what}: ${res.body}`);
  if (res.statusCode >= 400 && !String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`${res.statusCode} without problem details for ${what}: ${res.body}`);
  }
}

describe('fuzz on sqlite', () => {
  let f: Awaited<ReturnType<typeof fuzzApp>>;
  beforeAll(async () => {
    f = await fuzzApp('sqlite');
  });
  afterAll(() => f.t.close());

  it('random x-api-key / authorization values: never a 5xx, and only the exact key gets in', async () => {
    const routes = ['/api/me', '/api/desktops', '/api/api-keys', '/api/desktops/dsk_x'];
    await fc.assert(
      fc.asyncProperty(
        keyLike(f.owner.key),
        fc.constantFrom('x-api-key', 'authorization', 'bearer', 'both'),
        fc.constantFrom(...routes),
        address,
        async (value, where, url, remoteAddress) => {
          const headers: Record<string, string> = {};
          if (where === 'x-api-key' || where === 'both') headers['x-api-key'] = value;
          if (where === 'authorization' || where === 'both') headers.authorization = value;
          if (where === 'bearer') headers.authorization = `Bearer ${value}`;
          const res = await f.t.app.inject({ method: 'GET', url, headers, remoteAddress });
          expectNo5xx(res, `${where}: ${JSON.stringify(value)}`);
          // x-api-key (which wins over Authorization) is trimmed; Authorization carries a key
          // only with the Bearer scheme, so a bare value never gets in.
          const isTheKey = where === 'authorization' ? false : value.trim() === f.owner.key;
          if (isTheKey) {
            expect(res.statusCode).not.toBe(401);
          } else {
            expect(res.statusCode).toBe(401);
            expect(res.json().code).toBe('unauthorized');
          }
          expect(res.body).not.toContain(keyParts(f.owner.key).secret);
        },
      ),
      { numRuns: 1500 },
    );
    expect(errorLines(f.t)).toEqual([]);
    // A wrong key of any live-looking shape costs one bcrypt compare (so timing tells no ids): ~10 s of them here.
  }, 120_000);

  it('random JSON (and not JSON) bodies to POST and PATCH routes: never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST /api/desktops', 'PATCH own', 'PATCH random', 'DELETE random', 'GET random'),
        body,
        contentType,
        anyId,
        async (route, payload, type, id) => {
          const [method, url] =
            route === 'PATCH own'
              ? ['PATCH', `/api/desktops/${f.desktopId}`]
              : route.endsWith('random')
                ? [route.split(' ')[0], `/api/desktops/${encodeURIComponent(id)}`]
                : route.split(' ');
          const res = await f.t.app.inject({ method: method as 'POST', url, payload, headers: { 'x-api-key': f.owner.key, 'content-type': type } });
          expectNo5xx(res, `${method} ${url} ${type} ${payload}`);
          if (res.statusCode < 300 && method !== 'DELETE') {
            const d = res.json();
            expect(typeof d.name).toBe('string');
            expect(d.name.trim().length).toBeGreaterThan(0);
            expect(d.name).not.toMatch(/[\u0000-\u001f]/);
          }
        },
      ),
      { numRuns: 1500 },
    );
    expect(errorLines(f.t)).toEqual([]);
  });

  it('random bodies to POST /api/api-keys: never a 5xx (fewer runs: a created key costs a bcrypt hash)', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const res = await f.t.app.inject({
          method: 'POST',
          url: '/api/api-keys',
          payload,
          headers: { 'x-api-key': f.owner.key, 'content-type': 'application/json' },
        });
        expectNo5xx(res, payload);
        if (res.statusCode === 201) expect(res.json().key).toMatch(/^lb_k_/);
      }),
      { numRuns: 150 },
    );
    expect(errorLines(f.t)).toEqual([]);
  });

  it('still serves normally afterwards', async () => {
    expect((await f.t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await f.t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': f.owner.key } })).statusCode).toBe(200);
  });
});

describe('fuzz on postgres', () => {
  let f: Awaited<ReturnType<typeof fuzzApp>>;
  beforeAll(async () => {
    f = await fuzzApp('postgres');
  });
  afterAll(() => f.t.close());

  it('random text (NUL, lone surrogates, any code point) in names and ids: never a 5xx', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\u0085', '\u2028', '\ufeff', '\uffff'),
    );
    const id = fc.oneof(
      b62(20).map((s) => `dsk_${s}`),
      anyId,
    );
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'PATCH', 'GET', 'DELETE'),
        text,
        fc.option(fc.constantFrom('running', 'stopped')),
        id,
        fc.boolean(),
        async (method, name, state, someId, own) => {
          const url = method === 'POST' ? '/api/desktops' : own ? `/api/desktops/${f.desktopId}` : `/api/desktops/${encodeURIComponent(someId)}`;
          const payload = method === 'POST' ? JSON.stringify({ name }) : method === 'PATCH' ? JSON.stringify(state ? { name, state } : { name }) : undefined;
          const res = await f.t.app.inject({
            method: method as 'POST',
            url,
            payload,
            headers: { 'x-api-key': f.owner.key, ...(payload ? { 'content-type': 'application/json' } : {}) },
          });
          expectNo5xx(res, `${method} ${url} ${payload}`);
          if (res.statusCode < 300 && payload) stored++;
          // A DELETE of our own desktop: make another so PATCHes keep reaching the database.
          if (method === 'DELETE' && own && res.statusCode === 204) {
            f.desktopId = (
              await f.t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': f.owner.key }, payload: { name: 'again' } })
            ).json().id;
          }
        },
      ),
      { numRuns: 500 },
    );
    // Control: plenty of the runs did reach PostgreSQL with their text.
    expect(stored).toBeGreaterThan(50);
    expect(errorLines(f.t)).toEqual([]);
  });
});
