import type { FastifyRequest } from 'fastify';

/**
 * One request header, read from the raw list the parser produced. Node builds
 * `request.headers` on first access, about a microsecond on a request that needs
 * nothing but its credential (bench B1). Repeated headers are joined as Node joins
 * them: with `separator` (`, `, or `; ` for Cookie), or, with null, the first only
 * (Authorization: Node drops its repeats). `name` is lower case.
 */
export function rawHeader(request: FastifyRequest, name: string, separator: string | null = ', '): string | undefined {
  const raw = request.raw.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i];
    if (field.length !== name.length || field.toLowerCase() !== name) continue;
    if (separator === null) return raw[i + 1];
    value = value === undefined ? raw[i + 1] : `${value}${separator}${raw[i + 1]}`;
  }
  return value;
}
