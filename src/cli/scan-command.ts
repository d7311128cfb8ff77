import { parseApiKey, visibleKeyId } from '../auth/api-key-format.ts';
import type { TokenStatus } from '../auth/leaked-keys.ts';
import type { Services } from '../compose.ts';
import { scanPaths } from './key-scan.ts';

const operator = { type: 'operator' as const, id: null };

/**
 * `bureau keys scan PATH... [--revoke]`: one line per key found on stdout
 * (`file:line: lb_k_<public id> live|revoked|unknown`), never the secret; notes and the
 * summary on stderr. Each distinct key is checked once (a bcrypt compare: a made-up
 * token with a real id is unknown). With `revoke`, live keys are revoked at their first
 * finding, with an `api_key.leaked` event naming where.
 */
export async function scanKeys(s: Services, paths: string[], options: { revoke: boolean }): Promise<Record<TokenStatus, number>> {
  const known = new Map<string, TokenStatus>();
  const counts: Record<TokenStatus, number> = { live: 0, revoked: 0, unknown: 0 };
  const files = new Set<string>();
  let findings = 0;
  const notes = { skipped: (file: string, reason: string) => console.error(`skipped ${file}: ${reason}`) };
  for await (const f of scanPaths(paths, notes)) {
    findings++;
    files.add(f.file);
    let status = known.get(f.token);
    if (status === undefined) {
      const found = await s.leaks.identify(f.token);
      status = found.status;
      known.set(f.token, status);
      counts[status]++;
      if (status === 'live' && options.revoke && found.key) {
        await s.leaks.revoke(found.key, { url: `${f.file}:${f.line}`, source: 'bureau keys scan' }, operator);
        console.error(`revoked ${visibleKeyId(found.key.publicId)} (${found.key.id})`);
      }
    }
    // The visible id only (lb_k_ and the public id): never the secret.
    console.log(`${f.file}:${f.line}: ${visibleKeyId(parseApiKey(f.token)!.publicId)} ${status}`);
  }
  const distinct = counts.live + counts.revoked + counts.unknown;
  console.error(
    `${findings} finding(s) of ${distinct} distinct key(s) in ${files.size} file(s): ${counts.live} live${options.revoke && counts.live ? ' (now revoked)' : ''}, ${counts.revoked} revoked, ${counts.unknown} unknown`,
  );
  return counts;
}
