// `npm run types:web`: writes web/src/api-types.ts from the server's OpenAPI document.
import { writeFileSync } from 'node:fs';
import { generateApiTypes } from './api-types.ts';

const target = new URL('../web/src/api-types.ts', import.meta.url);
writeFileSync(target, await generateApiTypes());
console.error(`types:web: wrote ${target.pathname}`);
