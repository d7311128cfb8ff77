#!/usr/bin/env bash
# A scale-out deployment on one machine: throwaway PostgreSQL and Redis (the same
# functions `npm test` uses), then 3 `bureau serve` processes on loopback sharing
# them, as they would behind a load balancer. See docs/deployment.md.
#
#   scripts/scale-out-example.sh           start everything, print how to use it, wait for Ctrl-C
#   scripts/scale-out-example.sh --smoke   start everything, show cross-process behaviour, stop
#
# Everything lives in a temporary directory and is removed on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
PIDS=()

cleanup() {
  # Only the processes this script started, by their pid.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  stop_services
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bin/bureau.js runs the compiled server: build it if it is missing or older than src/.
node scripts/build.js --if-stale || exit 1
start_services || { echo "scale-out-example: could not start PostgreSQL and Redis; see above" >&2; exit 1; }

psql "$BUREAU_TEST_PG_URL" -qc 'CREATE DATABASE bureau' >/dev/null || exit 1
export DATABASE_URL="${BUREAU_TEST_PG_URL%/postgres}/bureau"
export REDIS_URL="$BUREAU_TEST_REDIS_URL"
# The same secret in every process: session tokens and the verified-key cache are keyed by it.
BUREAU_SECRET=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")
export BUREAU_SECRET
export BUREAU_DATA_DIR="$SERVICES_DIR/data"
export BUREAU_DB_POOL_SIZE=10
export BUREAU_DEV_IDP=off
export LOG_LEVEL="${LOG_LEVEL:-info}"
# Behind a real proxy, BUREAU_PUBLIC_URL is the proxy's URL (the same for every
# process) and BUREAU_TRUST_PROXY its address; here clients reach the processes directly.

# Migrate once (each process would also do it at start; concurrent starts are safe).
node bin/bureau.js migrate || exit 1
node bin/bureau.js users create --email demo@example.com --name Demo >/dev/null || exit 1
KEY=$(node bin/bureau.js keys create --email demo@example.com --name scale-out-example 2>/dev/null) || exit 1

PORTS=()
for i in 1 2 3; do
  port=$(free_port)
  PORTS+=("$port")
  PORT=$port node bin/bureau.js serve >"$SERVICES_DIR/bureau-$i.log" 2>&1 &
  PIDS+=("$!")
done
for i in 0 1 2; do
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:${PORTS[$i]}/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:${PORTS[$i]}/healthz" >/dev/null \
    || { echo "scale-out-example: process $((i + 1)) did not start:" >&2; cat "$SERVICES_DIR/bureau-$((i + 1)).log" >&2; exit 1; }
done

A="http://127.0.0.1:${PORTS[0]}"
B="http://127.0.0.1:${PORTS[1]}"
C="http://127.0.0.1:${PORTS[2]}"
cat <<EOF
Le Bureau, 3 processes on one PostgreSQL and one Redis:
  $A   $B   $C
  PostgreSQL  $DATABASE_URL
  Redis       $REDIS_URL
  logs        $SERVICES_DIR/bureau-{1,2,3}.log
A key for demo@example.com (shown once):
  $KEY
EOF

if [ "$SMOKE" = 0 ]; then
  cat <<EOF

Try it (each request may go to any process):
  curl -s -X POST $A/api/desktops -H "x-api-key: $KEY" -H 'content-type: application/json' -d '{"name":"dev box"}'
  curl -s $B/api/desktops -H "x-api-key: $KEY"
  curl -sN $C/api/mission-control/activity/stream -H "x-api-key: $KEY"    # live events from every process
Ctrl-C stops everything.
EOF
  # `wait` (unlike a foreground sleep) lets the INT/TERM trap run at once.
  while :; do
    sleep 3600 &
    wait $!
  done
fi

# --smoke: what one process does, the others see.
fail() { echo "scale-out-example: $*" >&2; exit 1; }
body=$(curl -s -X POST "$A/api/desktops" -H "x-api-key: $KEY" -H 'content-type: application/json' -d '{"name":"dev box"}')
id=$(node -e "console.log(JSON.parse(process.argv[1]).id)" "$body") || fail "no desktop created: $body"
echo "created desktop $id through process 1"
curl -fs "$B/api/desktops/$id" -H "x-api-key: $KEY" >/dev/null || fail "process 2 does not see it"
echo "process 2 reads it"
remaining=$(curl -s -o /dev/null -D - "$C/api/me" -H "x-api-key: $KEY" | tr -d '\r' | sed -n 's/^ratelimit: "general";r=\([0-9]*\).*/\1/p')
echo "process 3 counts the same limit: $remaining of 120 left this minute"
key_id=$(node bin/bureau.js keys list --email demo@example.com | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s.trim().split('\n')[0]).id))")
curl -fs -X DELETE "$C/api/api-keys/$key_id" -H "x-api-key: $KEY" >/dev/null || fail "revocation failed"
echo "revoked the key through process 3"
for url in "$A" "$B"; do
  # The broadcast takes a millisecond or two; allow a second.
  for _ in $(seq 20); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/me" -H "x-api-key: $KEY")
    [ "$status" = 401 ] && break
    sleep 0.05
  done
  [ "$status" = 401 ] || fail "$url still accepts the revoked key ($status)"
done
echo "processes 1 and 2 refuse it (401)"
echo "smoke: ok"
