#!/usr/bin/env bash
# Telemetry throughput of a cluster of 1, 2 and 3 silos on this machine (Release silos via scripts/cluster.sh, on the
# PostgreSQL and Redis of VEHICLES_TEST_POSTGRES/VEHICLES_TEST_REDIS, which must already run). For each N: fresh
# schemas, N silos, the load harness's telemetry scenario closed-loop (CONCURRENCY reports in flight) with the vehicles
# spread round-robin over the N silos, then the silos are stopped. The per-vehicle report limit is lifted (a product
# rule, not a capacity), as scripts/bench-telemetry.sh does. The N are interleaved per run so that the machine's
# other load spreads over all of them. Prints one row per measurement and min/median/max per N.
#
#   scripts/bench-cluster-throughput.sh [RUNS]      # default 3 runs; VEHICLES=1000 CONCURRENCY=1000 DURATION=15s WARMUP=5s
# Cluster dir and ports: VEHICLES_CLUSTER_DIR (default /tmp/bench-cluster), VEHICLES_CLUSTER_BASE_PORT (default 50161).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
RUNS="${1:-3}"
SIZES="${SIZES:-1 2 3}"
VEHICLES="${VEHICLES:-1000}"
CONCURRENCY="${CONCURRENCY:-1000}"
DURATION="${DURATION:-15s}"
WARMUP="${WARMUP:-5s}"
OUT="${OUT:-${TMPDIR:-/tmp}/vehicles-bench/cluster-throughput-$(date -u +%Y%m%d-%H%M%S)}"
: "${VEHICLES_TEST_POSTGRES:?set VEHICLES_TEST_POSTGRES (eval \"\$(scripts/servers.sh env)\")}"
: "${VEHICLES_TEST_REDIS:?set VEHICLES_TEST_REDIS}"
export VEHICLES_CLUSTER_DIR="${VEHICLES_CLUSTER_DIR:-/tmp/bench-cluster}"
export VEHICLES_CLUSTER_BASE_PORT="${VEHICLES_CLUSTER_BASE_PORT:-50161}"
export VEHICLES_SERVERS_DIR="${VEHICLES_SERVERS_DIR:-/tmp/vehicles-dev-servers}"
export VEHICLES_CLUSTER_SERVERS=reuse VEHICLES_CLUSTER_BUILD=0
export VehicleLink__MaxReportsPerSecond=1000000 VehicleLink__ReportBurst=1000000
LT=(dotnet loadtest/bin/Release/net10.0/Vehicles.LoadTest.dll)
mkdir -p "$OUT"

dotnet build silo/Vehicles.Silo.csproj -c Release -v q -nologo >/dev/null
dotnet build loadtest/Vehicles.LoadTest.csproj -c Release -v q -nologo >/dev/null

psql_run() { psql "host=127.0.0.1 port=$(sed -E 's/.*Port=([0-9]+).*/\1/' <<<"$VEHICLES_TEST_POSTGRES") user=postgres dbname=postgres" -qAtc "$1"; }
cleanup() { scripts/cluster.sh stop-silos >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "| run | silos | reports/s | p50 ms | p99 ms | errors % | discrepancies | load avg before | load avg after |" | tee "$OUT/table.md"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |" | tee -a "$OUT/table.md"
for run in $(seq 1 "$RUNS"); do
  for n in $SIZES; do
    id="bt_$(date +%s)_${run}_$n"
    export VEHICLES_STORAGE_SCHEMA="${id}" VEHICLES_CLUSTER_ID="${id}" VEHICLES_CLUSTER_REDIS_PREFIX="$id"
    rm -f "$VEHICLES_CLUSTER_DIR"/silo*.pid
    timeout 120 scripts/cluster.sh start "$n" >"$OUT/cluster-$run-$n.txt" 2>&1 || { echo "cluster of $n did not start; see $OUT/cluster-$run-$n.txt" >&2; exit 1; }
    targets=$(for i in $(seq 1 "$n"); do printf 'http://127.0.0.1:%d,' $((VEHICLES_CLUSTER_BASE_PORT + i - 1)); done)
    before="$(cut -d' ' -f1-3 /proc/loadavg)"
    timeout 300 "${LT[@]}" --target "${targets%,}" --signing-key "$(cat "$VEHICLES_CLUSTER_DIR/signing-key")" \
      -s telemetry -O "vehicles=$VEHICLES" -c "$CONCURRENCY" -d "$DURATION" -w "$WARMUP" --live off \
      -o "$OUT/run$run-n$n" -t 'telemetry:discrepancies==0' >"$OUT/run$run-n$n.log" 2>&1 || true
    after="$(cut -d' ' -f1-3 /proc/loadavg)"
    scripts/cluster.sh stop-silos >/dev/null
    psql_run "DROP SCHEMA IF EXISTS \"${id}\" CASCADE" >/dev/null 2>&1 || true
    python3 - "$OUT/run$run-n$n/report.json" "$run" "$n" "$before" "$after" <<'PY' | tee -a "$OUT/table.md"
import json, sys
path, run, n, before, after = sys.argv[1:]
try:
    t = json.load(open(path))["scenarios"][0]["totals"]
    print(f"| {run} | {n} | {t['rps']:.0f} | {t['latency']['p50']:.2f} | {t['latency']['p99']:.2f} | {t['errorRate']*100:.3f} | {t['discrepancies']} | {before} | {after} |")
except (OSError, KeyError, IndexError, ValueError) as e:
    print(f"| {run} | {n} | failed ({e}) | | | | | {before} | {after} |")
PY
  done
done

python3 - "$OUT" "$SIZES" <<'PY'
import glob, json, re, statistics, sys
out, sizes = sys.argv[1], sys.argv[2].split()
print("\n| silos | runs | reports/s min | median | max |\n| --- | --- | --- | --- | --- |")
for n in sizes:
    rps = []
    for path in glob.glob(f"{out}/run*-n{n}/report.json"):
        try:
            rps.append(json.load(open(path))["scenarios"][0]["totals"]["rps"])
        except (OSError, KeyError, IndexError, ValueError):
            pass
    if rps:
        print(f"| {n} | {len(rps)} | {min(rps):.0f} | {statistics.median(rps):.0f} | {max(rps):.0f} |")
print(f"\nreports and logs: {out}")
PY
