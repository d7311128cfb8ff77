import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateApiTypes } from '../../scripts/api-types.ts';

// The dashboard's API types are generated from the server's OpenAPI document; this
// fails as soon as the server's routes or schemas change without `npm run types:web`.
describe('the dashboard API types', () => {
  it('match the OpenAPI document the server serves', async () => {
    const committed = readFileSync(new URL('../../web/src/api-types.ts', import.meta.url), 'utf8');
    expect(committed === (await generateApiTypes()), 'web/src/api-types.ts is out of date: run npm run types:web').toBe(true);
  }, 60_000);
});
