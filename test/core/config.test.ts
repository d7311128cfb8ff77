import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./data/bureau.db',
      trustProxy: [],
      rateLimitPerMinute: 120,
      failedAuthLimit: 10,
      failedAuthWindowS: 60,
      blockS: 900,
      bcryptCost: 10,
      publicUrl: 'http://localhost:3000',
    });
  });

  it('names every bad value at once', () => {
    try {
      loadConfig({ PORT: 'eighty', BUREAU_BCRYPT_COST: '9', BUREAU_TRUST_PROXY: '10.0.0.0/8,not-an-ip', DATABASE_URL: 'mysql://x' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as Error).message;
      for (const name of ['PORT', 'BUREAU_BCRYPT_COST', 'BUREAU_TRUST_PROXY', 'DATABASE_URL']) expect(text).toContain(name);
      expect(text).toContain('not-an-ip');
    }
  });

  it('bounds slow clients, shutdown and database queries by default', () => {
    expect(loadConfig({})).toMatchObject({
      requestTimeoutS: 30,
      headersTimeoutS: 10,
      keepAliveTimeoutS: 5,
      maxConnectionsPerAddress: 256,
      shutdownTimeoutS: 10,
      databaseQueryTimeoutS: 5,
    });
  });

  it('keeps the headers timeout within the request timeout, as Node requires', () => {
    expect(loadConfig({ BUREAU_REQUEST_TIMEOUT_S: '4' })).toMatchObject({ requestTimeoutS: 4, headersTimeoutS: 4 });
    expect(loadConfig({ BUREAU_REQUEST_TIMEOUT_S: '60', BUREAU_HEADERS_TIMEOUT_S: '20' })).toMatchObject({ requestTimeoutS: 60, headersTimeoutS: 20 });
  });

  it.each([
    ['BUREAU_REQUEST_TIMEOUT_S', '0'],
    ['BUREAU_HEADERS_TIMEOUT_S', '0'],
    ['BUREAU_KEEP_ALIVE_TIMEOUT_S', '0'],
    ['BUREAU_MAX_CONNECTIONS_PER_ADDRESS', '0'],
    ['BUREAU_SHUTDOWN_TIMEOUT_S', '0'],
    ['BUREAU_SHUTDOWN_TIMEOUT_S', '601'],
    ['BUREAU_DB_QUERY_TIMEOUT_S', '0'],
    ['BUREAU_DB_QUERY_TIMEOUT_S', 'five'],
  ])('refuses %s=%s (0 would mean no bound at all)', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  describe('the development identity provider', () => {
    it('runs by default on a loopback public URL with no provider configured', () => {
      expect(loadConfig({}).devIdentityProvider).toBe(true);
      expect(loadConfig({ BUREAU_PUBLIC_URL: 'http://127.0.0.1:3000' }).devIdentityProvider).toBe(true);
    });
    it('does not turn itself on for a public URL elsewhere, but can be asked for', () => {
      expect(loadConfig({ BUREAU_PUBLIC_URL: 'https://bureau.example.com' }).devIdentityProvider).toBe(false);
      expect(loadConfig({ BUREAU_PUBLIC_URL: 'https://bureau.example.com', BUREAU_DEV_IDP: 'on' }).devIdentityProvider).toBe(true);
    });
    it('never runs in production', () => {
      expect(loadConfig({ NODE_ENV: 'production' }).devIdentityProvider).toBe(false);
      expect(() => loadConfig({ NODE_ENV: 'production', BUREAU_DEV_IDP: 'on' })).toThrow(ConfigError);
    });
  });
});
