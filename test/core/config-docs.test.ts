import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, withGeneratedTable } from '../../scripts/generate-config-docs.ts';

describe('docs/configuration.md', () => {
  it('lists every setting of the schema, with its default and meaning (npm run docs:config)', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    expect(doc === withGeneratedTable(doc), 'docs/configuration.md is out of date: run npm run docs:config').toBe(true);
  });
});
