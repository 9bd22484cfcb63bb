#!/usr/bin/env bash
# Local vs forwarded grain calls: two clustered silos in one process, IVehicleGrain.GetAsync from silo A on vehicles
# A owns and on vehicles B owns; sequential latency and concurrent throughput, and the ratio forwarded/local.
#   scripts/bench-cluster-calls.sh [RUNS] [benchmark options, e.g. --concurrency 64 --duration 10]
# Needs VEHICLES_TEST_POSTGRES and VEHICLES_TEST_REDIS (scripts/servers.sh env prints them). Release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"; shift || true
: "${VEHICLES_TEST_POSTGRES:?set VEHICLES_TEST_POSTGRES (eval \"\$(scripts/servers.sh env)\")}"
: "${VEHICLES_TEST_REDIS:?set VEHICLES_TEST_REDIS (eval \"\$(scripts/servers.sh env)\")}"
project="$root/benchmarks/Vehicles.Cluster.Benchmarks"
dotnet build "$project/Vehicles.Cluster.Benchmarks.csproj" -c Release -v q -nologo >/dev/null
for run in $(seq 1 "$runs"); do
  echo "## run $run of $runs — $(date -u +%H:%M:%S) load average:$(uptime | sed 's/.*load average://')"
  dotnet "$project/bin/Release/net10.0/Vehicles.Cluster.Benchmarks.dll" "$@"
  echo "load average after:$(uptime | sed 's/.*load average://')"
done
