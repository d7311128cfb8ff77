#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on free loopback ports, for the test run and the
# local scale-out example. Sourced; defines start_services / stop_services and exports
# BUREAU_TEST_PG_URL and BUREAU_TEST_REDIS_URL. Fails loudly if a service cannot start:
# suites that need them are never silently skipped.

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

SERVICES_DIR=""
start_postgres() {
  local pgbin
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$pgbin" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "services: installing postgresql" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    fi
    [ -n "$pgbin" ] || { echo "services: PostgreSQL is not installed (apt-get install postgresql)" >&2; return 1; }
  fi
  PGPORT=$(free_port)
  PGDATA="$SERVICES_DIR/pg"
  mkdir -p "$PGDATA"
  local as=()
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$SERVICES_DIR"; as=(runuser -u postgres --); fi
  "${as[@]}" "$pgbin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$SERVICES_DIR/initdb.log" 2>&1 \
    || { cat "$SERVICES_DIR/initdb.log" >&2; echo "services: initdb failed" >&2; return 1; }
  "${as[@]}" "$pgbin/pg_ctl" -D "$PGDATA" -l "$PGDATA/log" -w -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$PGDATA/log" >&2; echo "services: PostgreSQL did not start" >&2; return 1; }
  PG_CTL=("${as[@]}" "$pgbin/pg_ctl" -D "$PGDATA")
  export BUREAU_TEST_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
  export BUREAU_TEST_PG_CTL="${PG_CTL[*]}"
}

start_redis() {
  if ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      echo "services: installing redis-server" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    command -v redis-server >/dev/null || { echo "services: redis-server is not installed (apt-get install redis-server)" >&2; return 1; }
  fi
  REDISPORT=$(free_port)
  mkdir -p "$SERVICES_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$REDISPORT" --daemonize yes --dir "$SERVICES_DIR/redis" \
    --pidfile "$SERVICES_DIR/redis/redis.pid" --logfile "$SERVICES_DIR/redis/redis.log" --save '' --appendonly no >/dev/null \
    || { echo "services: Redis did not start" >&2; return 1; }
  for _ in $(seq 50); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$REDISPORT" ping >/dev/null || { cat "$SERVICES_DIR/redis/redis.log" >&2; return 1; }
  export BUREAU_TEST_REDIS_URL="redis://127.0.0.1:$REDISPORT"
  export BUREAU_TEST_REDIS_PORT="$REDISPORT"
}

# Debian's Chromium at /usr/bin/chromium, for the browser tests (test/e2e/browser.ts).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "services: installing chromium" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  [ -x /usr/bin/chromium ] || { echo "services: Chromium is not installed at /usr/bin/chromium (apt-get install chromium)" >&2; return 1; }
}

start_services() {
  SERVICES_DIR=$(mktemp -d /tmp/bureau-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  start_postgres && start_redis
}

stop_services() {
  [ -n "$SERVICES_DIR" ] || return 0
  [ -n "${REDISPORT:-}" ] && redis-cli -p "$REDISPORT" shutdown nosave >/dev/null 2>&1
  [ -n "${PG_CTL:-}" ] && "${PG_CTL[@]}" -m immediate stop >/dev/null 2>&1
  rm -rf "$SERVICES_DIR"
}
