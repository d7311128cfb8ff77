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

  describe('the internal URL of a desktop host (BUREAU_INTERNAL_URL)', () => {
    const scaleOut = { REDIS_URL: 'redis://127.0.0.1:6379', BUREAU_SECRET: 'x'.repeat(32) };

    it('defaults to the address the process listens on, and heartbeats every 5 s', () => {
      expect(loadConfig({})).toMatchObject({ internalUrl: 'http://127.0.0.1:3000', hostHeartbeatS: 5 });
      expect(loadConfig({ HOST: '10.0.0.5', PORT: '3100', ...scaleOut }).internalUrl).toBe('http://10.0.0.5:3100');
      expect(loadConfig({ HOST: '::1' }).internalUrl).toBe('http://[::1]:3000');
      // One process on every interface reaches itself on loopback.
      expect(loadConfig({ HOST: '0.0.0.0' }).internalUrl).toBe('http://127.0.0.1:3000');
    });

    it('is required of a desktop host in scale-out that listens on every interface (or on port 0)', () => {
      expect(() => loadConfig({ HOST: '0.0.0.0', ...scaleOut })).toThrow('BUREAU_INTERNAL_URL must be set');
      expect(() => loadConfig({ HOST: '::', ...scaleOut })).toThrow('BUREAU_INTERNAL_URL must be set');
      expect(() => loadConfig({ PORT: '0', ...scaleOut })).toThrow('BUREAU_INTERNAL_URL must be set');
      // A process that runs no desktops is never reached for one.
      expect(loadConfig({ HOST: '0.0.0.0', BUREAU_DESKTOPS: 'off', ...scaleOut }).host).toBe('0.0.0.0');
      expect(loadConfig({ HOST: '0.0.0.0', BUREAU_INTERNAL_URL: 'http://10.0.0.5:3000/', ...scaleOut }).internalUrl).toBe('http://10.0.0.5:3000');
    });

    it.each(['10.0.0.5:3000', 'ftp://10.0.0.5', 'http://10.0.0.5:3000/bureau', 'http://10.0.0.5:3000/?x=1', 'http://user:pw@10.0.0.5:3000', 'not a url'])(
      'refuses %s',
      (value) => {
        expect(() => loadConfig({ BUREAU_INTERNAL_URL: value })).toThrow('BUREAU_INTERNAL_URL must be an http(s) URL');
      },
    );

    it('bounds the heartbeat interval', () => {
      expect(loadConfig({ BUREAU_HOST_HEARTBEAT_S: '2' }).hostHeartbeatS).toBe(2);
      expect(() => loadConfig({ BUREAU_HOST_HEARTBEAT_S: '0' })).toThrow('BUREAU_HOST_HEARTBEAT_S');
      expect(() => loadConfig({ BUREAU_HOST_HEARTBEAT_S: '61' })).toThrow('BUREAU_HOST_HEARTBEAT_S');
    });
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
