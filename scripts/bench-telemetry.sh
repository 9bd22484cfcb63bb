#!/usr/bin/env bash
# Telemetry ingestion against the raw gRPC echo baseline, back to back with the same settings (Release, embedded
# silo with SQLite storage in a temp folder, generator in the same process and on the same cores).
#
# Echo: N TestService.Duplex streams; telemetry: N simulated vehicles, each on its own Connect stream and TCP
# connection. Both closed-model with the same concurrency, so each reaches its own maximum rate; the per-vehicle
# report limit is lifted for the telemetry run (the limit is a product rule, not a capacity). Prints both rates
# and their ratio; the full reports land in $OUT. Every run is bounded by its duration and a timeout.
#
#   scripts/bench-telemetry.sh                        # 1000 vehicles, 2000 in flight, 20 s after 5 s warm-up
#   VEHICLES=5000 CONCURRENCY=5000 scripts/bench-telemetry.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VEHICLES="${VEHICLES:-1000}"
CONCURRENCY="${CONCURRENCY:-$((VEHICLES * 2))}"
DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-5s}"
OUT="${OUT:-${TMPDIR:-/tmp}/vehicles-bench/telemetry-$(date -u +%Y%m%d-%H%M%S)}"
LT=(dotnet loadtest/bin/Release/net10.0/Vehicles.LoadTest.dll)

dotnet build -c Release loadtest/Vehicles.LoadTest.csproj -nologo -v q >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

timeout 600 "${LT[@]}" --embedded -s echo -O "streams=$VEHICLES" -c "$CONCURRENCY" -d "$DURATION" -w "$WARMUP" \
  --live off -o "$OUT/echo" -t 'echo:discrepancies==0' | grep -E '^echo:|PASSED|FAILED'
timeout 600 "${LT[@]}" --embedded -s telemetry -O "vehicles=$VEHICLES" -c "$CONCURRENCY" -d "$DURATION" -w "$WARMUP" \
  -O silo:VehicleLink:MaxReportsPerSecond=1000000 -O silo:VehicleLink:ReportBurst=1000000 \
  --live off -o "$OUT/telemetry" -t 'telemetry:discrepancies==0' | grep -E '^telemetry:|PASSED|FAILED'

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
echo = json.load(open(f"{out}/echo/report.json"))["scenarios"][0]["totals"]
tele = json.load(open(f"{out}/telemetry/report.json"))["scenarios"][0]["totals"]
print(f"echo {echo['rps']:.0f}/s (p50 {echo['latency']['p50']} ms, p99 {echo['latency']['p99']} ms); "
      f"telemetry {tele['rps']:.0f}/s (p50 {tele['latency']['p50']} ms, p99 {tele['latency']['p99']} ms, "
      f"discrepancies {tele['discrepancies']}); ratio {tele['rps'] / echo['rps']:.2f}")
PY
