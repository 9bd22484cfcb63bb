#!/usr/bin/env bash
# Starts or stops the PostgreSQL and Redis servers that the tests (and a local cluster) use:
# 127.0.0.1 only, non-default ports, data in a throw-away folder. Installs what is missing with apt-get.
#
#   scripts/servers.sh start   # install if needed, (re)start both, print the connection settings
#   scripts/servers.sh stop    # stop both
#   scripts/servers.sh env     # print the connection settings as shell exports
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

PG_PORT="${VEHICLES_PG_PORT:-55432}"
REDIS_PORT="${VEHICLES_REDIS_PORT:-56379}"
WORK="${VEHICLES_SERVERS_DIR:-/tmp/vehicles-servers}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pg_bin() { dirname "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)"; }

install_missing() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # -I (isolated): the repository's grpc/ folder must not pass for the grpc package when run from its root.
  /usr/bin/python3 -I -c 'import grpc' >/dev/null 2>&1 || missing+=(python3-grpcio)
  /usr/bin/python3 -I -c 'import google.protobuf' >/dev/null 2>&1 || missing+=(python3-protobuf)
  command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "servers.sh: installing ${missing[*]}" >&2
    as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
    # What was installed must now be there; anything else would fail every test that needs it, misleadingly.
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "servers.sh: postgresql did not install" >&2; exit 1; }
    command -v redis-server >/dev/null 2>&1 || { echo "servers.sh: redis-server did not install" >&2; exit 1; }
    /usr/bin/python3 -I -c 'import grpc, google.protobuf' >/dev/null 2>&1 || { echo "servers.sh: python3-grpcio or python3-protobuf did not install" >&2; exit 1; }
    command -v h2load >/dev/null 2>&1 || { echo "servers.sh: nghttp2-client did not install" >&2; exit 1; }
  fi
}

print_env() {
  echo "export VEHICLES_TEST_POSTGRES='Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres;Maximum Pool Size=100'"
  echo "export VEHICLES_TEST_REDIS='127.0.0.1:$REDIS_PORT'"
  echo "export VEHICLES_TEST_PYTHON=/usr/bin/python3"
}

stop() {
  if [ -f "$WORK/pg/postmaster.pid" ]; then
    (cd / && as_root runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  if [ -f "$WORK/redis.pid" ]; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true
    rm -f "$WORK/redis.pid"
  fi
}

start() {
  install_missing
  stop
  local bin; bin="$(pg_bin)"
  as_root rm -rf "$WORK"
  mkdir -p "$WORK"
  chmod 0755 "$WORK"
  rm -f "/tmp/.s.PGSQL.$PG_PORT" "/tmp/.s.PGSQL.$PG_PORT.lock"

  as_root install -d -o postgres -g postgres -m 0700 "$WORK/pg"
  (cd / && as_root runuser -u postgres -- "$bin/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null)
  (cd / && as_root runuser -u postgres -- "$bin/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -t 60 start \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $WORK/pg -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null)

  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
  [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || { echo "servers.sh: redis did not start" >&2; exit 1; }
  print_env
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
