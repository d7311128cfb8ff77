import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { LeakedKeys, TokenStatus } from '../../auth/leaked-keys.ts';
import type { ScannerSignatures } from '../../auth/secret-scanning-signatures.ts';
import { Problem } from '../../core/problems.ts';
import { ProblemSchema } from '../schemas.ts';

/** The token type we register with GitHub's secret scanning partner program. */
export const GITHUB_TOKEN_TYPE = 'lb_api_key';
/** One alert batch: far above what GitHub sends, far below what would hold the server. */
const MAX_BODY_BYTES = 512 * 1024;
const MAX_FINDINGS = 500;

const Finding = Type.Object({
  token: Type.String({ description: 'The string found' }),
  type: Type.String({ description: `The token type (${GITHUB_TOKEN_TYPE})` }),
  url: Type.String({ description: 'Where it was found' }),
  source: Type.String({ description: 'What kind of place (content, commit, issue, ...)' }),
});
const Feedback = Type.Object({
  token_hash: Type.String({ description: 'SHA-256 of the token, hex' }),
  token_type: Type.String(),
  label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')], {
    description: 'true_positive: one of our keys (a live one is now revoked)',
  }),
});

interface ParsedFinding {
  token: string;
  type: string;
  url: string | null;
  source: string;
}

function parseFindings(body: Buffer): ParsedFinding[] {
  let items: unknown;
  try {
    items = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Problem('malformed_json');
  }
  if (!Array.isArray(items)) throw new Problem('validation_failed', 'The body must be a JSON array of findings');
  if (items.length > MAX_FINDINGS) throw new Problem('validation_failed', `At most ${MAX_FINDINGS} findings per request`);
  return items.map((item, i) => {
    const f = item as Record<string, unknown> | null;
    if (!f || typeof f !== 'object' || typeof f.token !== 'string' || f.token.length === 0 || f.token.length > 1000) {
      throw new Problem('validation_failed', `Finding ${i} has no token`);
    }
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    return { token: f.token, type: text(f.type) ?? GITHUB_TOKEN_TYPE, url: text(f.url), source: text(f.source) ?? 'github' };
  });
}

export interface SecretScanningDeps {
  signatures: ScannerSignatures;
  leaks: LeakedKeys;
}

/**
 * GitHub's secret-scanning partner endpoint: GitHub posts the tokens of our format it
 * found in public (signed with its key, over the raw body); each live key among them is
 * revoked at once and its owner told (api_key.leaked). Public (GitHub calls it), so it
 * takes nothing on trust before the signature: a bad or missing one is 401 and changes
 * nothing. Limited per address like every route without a credential.
 */
export async function secretScanningRoutes(app: FastifyInstance, { signatures, leaks }: SecretScanningDeps) {
  // The signature covers the bytes as sent: this route keeps them (in a plugin of its
  // own, so every other route keeps the JSON parser).
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_request, body, done) => done(null, body));
    raw.post(
      '/api/secret-scanning/github',
      {
        bodyLimit: MAX_BODY_BYTES,
        config: { auth: 'none' },
        // The body is documented, and checked by hand once the signature holds.
        validatorCompiler: () => () => true,
        schema: {
          tags: ['secret-scanning'],
          summary: 'GitHub secret scanning: tokens of ours found in public; live keys are revoked at once (ECDSA P-256 signature over the raw body)',
          description:
            "Signed by GitHub: `Github-Public-Key-Identifier` names one of the keys served at BUREAU_SECRET_SCANNING_KEYS_URL, `Github-Public-Key-Signature` is the base64 DER ECDSA signature (SHA-256) of the raw body. Answers GitHub's feedback format.",
          body: Type.Array(Finding),
          response: {
            200: Type.Array(Feedback),
            400: Type.Ref(ProblemSchema),
            401: Type.Ref(ProblemSchema),
            413: Type.Ref(ProblemSchema),
            429: Type.Ref(ProblemSchema),
            503: Type.Ref(ProblemSchema),
          },
        },
      },
      async (request) => {
        const body = request.body;
        if (!Buffer.isBuffer(body)) throw new Problem('invalid_signature');
        const header = (name: string) => {
          const v = request.headers[name];
          return Array.isArray(v) ? undefined : v;
        };
        if (!(await signatures.verify(header('github-public-key-identifier'), header('github-public-key-signature'), body))) {
          request.log.warn({ event: 'secret_scanning_refused', ip: request.ctx.clientAddress }, 'secret-scanning alert refused: bad or missing signature');
          throw new Problem('invalid_signature');
        }
        const findings = parseFindings(body);
        const statuses = new Map<string, TokenStatus>();
        const counts = { live: 0, revoked: 0, unknown: 0 };
        // One at a time: each finding may cost a bcrypt compare, and key checks of
        // clients must keep the bcrypt threads.
        for (const f of findings) {
          if (!statuses.has(f.token)) {
            const { status } = await leaks.report(f.token, { url: f.url, source: `github:${f.source}` }, { type: 'system', id: null });
            statuses.set(f.token, status);
            counts[status]++;
          }
        }
        request.log.warn({ event: 'secret_scanning_alert', findings: findings.length, ...counts }, 'secret-scanning alert handled');
        return findings.map((f) => ({
          token_hash: createHash('sha256').update(f.token).digest('hex'),
          token_type: f.type,
          label: statuses.get(f.token) === 'unknown' ? 'false_positive' : 'true_positive',
        }));
      },
    );
  });
}
