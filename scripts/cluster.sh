#!/usr/bin/env bash
# Runs a cluster of silos on this machine, on PostgreSQL and Redis started by scripts/servers.sh.
#   scripts/cluster.sh start [N]   build once, start N silos (default 3) on 127.0.0.1:50061.. and wait until all are active
#   scripts/cluster.sh status      the admin view (silos, status, generation, activation counts), asked of the first silo
#   scripts/cluster.sh kill I      kill -9 silo I (1-based)        scripts/cluster.sh leave I   graceful leave (SIGTERM)
#   scripts/cluster.sh restart I   start silo I again (a new generation)
#   scripts/cluster.sh stop        stop every silo (gracefully) and the servers
#   scripts/cluster.sh stop-silos  stop every silo (SIGTERM, then SIGKILL after 20 s), leave the servers running
# Logs and pids: $VEHICLES_CLUSTER_DIR (default /tmp/vehicles-cluster). Ports: gRPC VEHICLES_CLUSTER_BASE_PORT + I - 1
# (default 50061..), silo-to-silo (Orleans) VEHICLES_CLUSTER_SILO_BASE_PORT + I - 1 (default gRPC port + 1000); no gateway.
# Several clusters on one PostgreSQL/Redis: VEHICLES_STORAGE_SCHEMA (default vehicles; state, reminders and membership),
# VEHICLES_CLUSTER_ID (default vehicles), VEHICLES_CLUSTER_REDIS_PREFIX (default vehicles). Servers already running in
# VEHICLES_SERVERS_DIR are reused (VEHICLES_CLUSTER_SERVERS=restart starts fresh ones); VEHICLES_CLUSTER_BUILD=0 skips the Release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${VEHICLES_CLUSTER_DIR:-/tmp/vehicles-cluster}"
base="${VEHICLES_CLUSTER_BASE_PORT:-50061}"
silo_base="${VEHICLES_CLUSTER_SILO_BASE_PORT:-$((base + 1000))}"
export VEHICLES_SERVERS_DIR="${VEHICLES_SERVERS_DIR:-$dir/servers}"
mkdir -p "$dir"

silo_env() {
  eval "$("$root/scripts/servers.sh" env)"
  if [[ ! -f "$dir/signing-key" ]]; then head -c 32 /dev/urandom | base64 > "$dir/signing-key"; fi
  export Storage__Provider=PostgreSql Storage__ConnectionString="$VEHICLES_TEST_POSTGRES" Storage__Schema="${VEHICLES_STORAGE_SCHEMA:-vehicles}"
  export Cluster__Enabled=true Cluster__ClusterId="${VEHICLES_CLUSTER_ID:-vehicles}" Cluster__GatewayPort=0 Cluster__Redis="$VEHICLES_TEST_REDIS"
  export Cluster__RedisKeyPrefix="${VEHICLES_CLUSTER_REDIS_PREFIX:-vehicles}"
  export Tokens__SigningKey="$(cat "$dir/signing-key")"
}

start_one() {
  local i=$1 port=$((base + $1 - 1)) silo_port=$((silo_base + $1 - 1))
  ( silo_env; export Grpc__Address="127.0.0.1:$port" Cluster__SiloPort="$silo_port"
    cd "$root/silo/bin/Release/net10.0" && exec dotnet Vehicles.Silo.dll >"$dir/silo$i.log" 2>&1 ) &
  echo $! > "$dir/silo$i.pid"
  echo "silo $i: 127.0.0.1:$port, silo port $silo_port (pid $(cat "$dir/silo$i.pid"), log $dir/silo$i.log)"
}

servers_up() {
  [[ -f "$VEHICLES_SERVERS_DIR/pg/postmaster.pid" ]] || return 1
  local redis; redis="$("$root/scripts/servers.sh" env | sed -n "s/.*VEHICLES_TEST_REDIS='127.0.0.1:\([0-9]*\)'.*/\1/p")"
  [[ "$(redis-cli -p "$redis" ping 2>/dev/null)" == PONG ]]
}

status() { ( silo_env; cd "$root/silo/bin/Release/net10.0" && dotnet Vehicles.Silo.dll cluster --address "127.0.0.1:${1:-$base}" ); }

case "${1:-}" in
  start)
    n="${2:-3}"
    # Servers that already run in $VEHICLES_SERVERS_DIR are reused (starting them again would wipe their data);
    # VEHICLES_CLUSTER_SERVERS=restart forces fresh ones.
    if [[ "${VEHICLES_CLUSTER_SERVERS:-}" == restart ]] || ! servers_up; then "$root/scripts/servers.sh" start >/dev/null; fi
    if [[ "${VEHICLES_CLUSTER_BUILD:-1}" != 0 ]]; then dotnet build "$root/silo/Vehicles.Silo.csproj" -c Release -v q -nologo >/dev/null; fi
    for i in $(seq 1 "$n"); do start_one "$i"; done
    for _ in $(seq 1 60); do
      if [[ "$(status 2>/dev/null | grep -c ' active ')" == "$n" ]]; then status; exit 0; fi
      sleep 1
    done
    echo "the cluster did not become active within 60 s; see $dir/silo*.log" >&2; exit 1 ;;
  status) status "${2:-$base}" ;;
  kill) kill -9 "$(cat "$dir/silo$2.pid")" && echo "killed silo $2" ;;
  leave) kill -TERM "$(cat "$dir/silo$2.pid")" && echo "silo $2 leaving" ;;
  restart) start_one "$2" ;;
  stop)
    for f in "$dir"/silo*.pid; do [[ -f "$f" ]] && kill -TERM "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
    sleep 5; "$root/scripts/servers.sh" stop ;;
  stop-silos)
    pids=()
    for f in "$dir"/silo*.pid; do
      [[ -f "$f" ]] || continue
      pid="$(cat "$f")"; rm -f "$f"
      if kill -TERM "$pid" 2>/dev/null; then pids+=("$pid"); fi
    done
    for _ in $(seq 1 40); do
      alive=0; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [[ $alive == 0 ]] && break; sleep 0.5
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    echo "stopped ${#pids[@]} silo(s)" ;;
  *) sed -n 2,13p "$0"; exit 2 ;;
esac
