#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with the .NET SDK.
#
# scripts/servers.sh installs what the tests need (PostgreSQL, Redis, Debian's python3-grpcio) and starts
# PostgreSQL and Redis on 127.0.0.1 on non-default ports in a throw-away folder; this script then builds
# and tests the solution in Release and stops the servers again, also when tests fail. Safe to run twice
# in a row. Extra arguments go to `dotnet test` (for example: --filter FullyQualifiedName~Grpc); without any, the
# multi-process cluster tests run last, on their own.
set -euo pipefail
cd "$(dirname "$0")/.."

export VEHICLES_SERVERS_DIR="${VEHICLES_SERVERS_DIR:-/tmp/vehicles-test-servers}"
# Ports apart from the development servers (scripts/servers.sh start) so both can run at once.
export VEHICLES_PG_PORT="${VEHICLES_PG_PORT:-55433}" VEHICLES_REDIS_PORT="${VEHICLES_REDIS_PORT:-56380}"
trap 'scripts/servers.sh stop' EXIT
# Captured first: `eval "$(...)"` would swallow a failure of servers.sh and the tests would fail misleadingly.
if ! server_env="$(scripts/servers.sh start)"; then
  echo "test.sh: scripts/servers.sh start failed (see above); no tests were run" >&2
  exit 1
fi
eval "$server_env"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Vehicles.sln -c Release -nologo -v q
LOG="$VEHICLES_SERVERS_DIR.test.log"
set +e
if [ $# -eq 0 ]; then
  # The multi-process cluster tests (Category=Cluster) run their silos and load alone, after the rest: on two cores,
  # sharing the CPU with every other test project would starve silo heartbeats into false failure detection.
  dotnet test Vehicles.sln -c Release --no-build -nologo --filter 'Category!=Cluster' 2>&1 | tee "$LOG"
  status=${PIPESTATUS[0]}
  dotnet test tests/Vehicles.Cluster.IntegrationTests/Vehicles.Cluster.IntegrationTests.csproj -c Release --no-build -nologo 2>&1 | tee -a "$LOG"
  cluster_status=${PIPESTATUS[0]}
  [ "$status" -ne 0 ] || status=$cluster_status
else
  dotnet test Vehicles.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$LOG"
  status=${PIPESTATUS[0]}
fi
set -e

# One closing line over every test project: "N passed, N failed".
passed=$(grep -oE 'Passed: +[0-9]+' "$LOG" | awk '{ s += $2 } END { print s + 0 }')
failed=$(grep -oE 'Failed: +[0-9]+' "$LOG" | awk '{ s += $2 } END { print s + 0 }')
echo "$passed passed, $failed failed"
exit "$status"
