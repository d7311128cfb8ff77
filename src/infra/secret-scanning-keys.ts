import type { ScannerKeySource, ScannerPublicKey } from '../auth/secret-scanning-signatures.ts';

const TIMEOUT_MS = 10_000;
/** GitHub's list is a few KiB; anything much larger is not it. */
const MAX_BYTES = 1024 * 1024;

/**
 * The public keys a scanner publishes, read with fetch() from its URL
 * (BUREAU_SECRET_SCANNING_KEYS_URL; GitHub's format:
 * `{"public_keys": [{"key_identifier": "...", "key": "-----BEGIN PUBLIC KEY-----..."}]}`).
 * The URL is https, or plain http on loopback only (checked in config.ts).
 */
export function fetchedScannerKeys(url: string): ScannerKeySource {
  return {
    async fetch(): Promise<ScannerPublicKey[]> {
      const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!res.ok) throw new Error(`secret-scanning keys: ${res.status}`);
      if (Number(res.headers.get('content-length') ?? 0) > MAX_BYTES) throw new Error('secret-scanning keys: answer too large');
      const text = await res.text();
      if (text.length > MAX_BYTES) throw new Error('secret-scanning keys: answer too large');
      const body = JSON.parse(text) as { public_keys?: unknown };
      if (!Array.isArray(body.public_keys)) throw new Error('secret-scanning keys: no public_keys');
      const keys: ScannerPublicKey[] = [];
      for (const k of body.public_keys as Array<Record<string, unknown>>) {
        if (k && typeof k.key_identifier === 'string' && typeof k.key === 'string') keys.push({ identifier: k.key_identifier, key: k.key });
      }
      return keys;
    },
  };
}
