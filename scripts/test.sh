#!/usr/bin/env bash
# `npm test`: lint and the format check, then every test, against real SQLite, PostgreSQL, Redis and Chromium.
# Installs Chromium (and the desktop packages) as root when missing; starts throwaway
# PostgreSQL and Redis itself and stops them afterwards.
# Extra arguments go to vitest (e.g. `npm test -- test/auth`).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_chromium || exit 1
if [ -f scripts/desktop-packages.sh ]; then
  bash scripts/desktop-packages.sh || { echo "test: scripts/desktop-packages.sh failed; see above" >&2; exit 1; }
fi
npm run lint --silent || { echo "test: lint failed (npm run lint); see above" >&2; exit 1; }
npm run format:check --silent || { echo "test: files are not formatted (npm run format); see above" >&2; exit 1; }
trap stop_services EXIT
start_services || { echo "test: could not start PostgreSQL and Redis; see above" >&2; exit 1; }
npm run build:web --silent || { echo "test: the dashboard did not build" >&2; exit 1; }
npx vitest run "$@"
