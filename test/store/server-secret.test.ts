import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServerSecret } from '../../src/store/server-secret.ts';

describe('the server secret', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'bureau-secret-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is generated once, owner-readable only, and read back the same', () => {
    const d = dir();
    const first = loadServerSecret(undefined, d);
    expect(first.length).toBe(32);
    expect(statSync(join(d, 'secret')).mode & 0o777).toBe(0o600);
    expect(loadServerSecret(undefined, d).equals(first)).toBe(true);
    expect(readFileSync(join(d, 'secret'), 'utf8').trim()).toBe(first.toString('hex'));
  });

  it('BUREAU_SECRET wins and writes nothing', () => {
    const d = dir();
    expect(loadServerSecret('x'.repeat(40), d).toString()).toBe('x'.repeat(40));
    expect(() => statSync(join(d, 'secret'))).toThrow();
  });

  it.each([
    ['empty', ''],
    ['short', 'abcd'],
    ['not hex', 'z'.repeat(64)],
  ])('refuses to start on a damaged file (%s) rather than use a weak key', (_name, content) => {
    const d = dir();
    writeFileSync(join(d, 'secret'), content);
    expect(() => loadServerSecret(undefined, d)).toThrow(/not a server secret/);
  });
});
