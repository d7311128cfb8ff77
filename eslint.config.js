// ESLint (flat config): `npm run lint`, also run by `npm test`. typescript-eslint's
// recommended rules without type information (type-aware linting took too long for
// every test run), plus the import boundaries of src/.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * What only the edges of the program may import: frameworks, drivers and process or
 * socket APIs, and the folders that wrap them. Domain code (src/core, src/auth, ...)
 * states what it needs as ports and is handed implementations.
 */
const EDGE_ONLY = {
  patterns: [
    {
      regex: '^(fastify|@fastify/[^/]+|kysely|pg|better-sqlite3|ioredis|ws|x11)(/.*)?$',
      message:
        'Only src/http, src/store, src/infra and the composition root (src/app.ts, compose.ts, serve.ts, main.ts) use frameworks and drivers: define a port in the domain instead.',
    },
    {
      regex: '^(node:)?(child_process|net)$',
      message: 'Processes and sockets belong in src/infra (or src/http, src/store): define a port in the domain instead.',
    },
    {
      regex: '^(\\.\\./)+(http|store|infra)(/|$)',
      message: 'Domain code must not depend on src/http, src/store or src/infra: they depend on it, through its ports.',
    },
  ],
};

/** The files allowed to import EDGE_ONLY; every other file under src/ is held to it. */
const EDGES = [
  'src/app.ts',
  'src/compose.ts',
  'src/serve.ts',
  'src/main.ts',
  'src/http/**',
  'src/store/**',
  'src/infra/**',
  // An adapter: the development OpenID provider is an HTTP server on loopback.
  'src/dev-idp/**',
];

export default defineConfig(
  {
    ignores: ['dist/', 'web/dist/', 'bench/peers/', 'bench/results/', 'test-results/', 'data/', 'coverage/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a deliberately unused binding (e.g. leaving a property out: `const { current: _current, ...rest } = x`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `cached() ?? (await slow())` as a statement is a deliberate idiom here.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // Every control character in a regex here is deliberate: validators rejecting them, fuzzers producing them.
      'no-control-regex': 'off',
    },
  },
  {
    // `any` only where a library gives no usable types: tests, declarations of untyped
    // modules, and the adapters (Kysely<any> in migrations, oidc-provider's context,
    // rate-limiter-flexible's options).
    files: ['test/**', 'bench/**', '**/*.d.ts', 'src/store/**', 'src/dev-idp/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/**/*.ts'],
    ignores: EDGES,
    rules: { 'no-restricted-imports': ['error', EDGE_ONLY] },
  },
);
