#!/usr/bin/env bash
# Concurrent connections one silo holds, and its memory per connected vehicle. The silo runs as its own Release
# process (SQLite in a temp folder); GENERATORS load generator processes each connect VEHICLES vehicles (one TCP
# connection and one Connect stream each, source addresses spread over 127.0.0.1-8), then report slowly
# (RATE reports/s per generator) for DURATION while the silo's resident memory is sampled every second.
# Memory per vehicle = (peak RSS while all are connected - idle RSS after start-up) / connected vehicles.
# Each process is limited by the open-file limit (ulimit -n): a silo needs one descriptor per connection.
#
#   scripts/bench-connections.sh                      # 2 generators x 9000 vehicles
#   GENERATORS=1 VEHICLES=5000 scripts/bench-connections.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GENERATORS="${GENERATORS:-2}"
VEHICLES="${VEHICLES:-9000}"
RATE="${RATE:-500}"
DURATION="${DURATION:-30s}"
PORT="${PORT:-50551}"
OUT="${OUT:-${TMPDIR:-/tmp}/vehicles-bench/connections-$(date -u +%Y%m%d-%H%M%S)}"
DATA="$(mktemp -d)"
KEY="$(head -c 32 /dev/urandom | base64)"
mkdir -p "$OUT"

dotnet build -c Release loadtest/Vehicles.LoadTest.csproj -nologo -v q >/dev/null
echo "open-file limit: $(ulimit -n); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

Grpc__Address="127.0.0.1:$PORT" Storage__Provider=Sqlite Storage__DataDirectory="$DATA" Tokens__SigningKey="$KEY" \
  Logging__LogLevel__Default=Warning \
  dotnet silo/bin/Release/net10.0/Vehicles.Silo.dll >"$OUT/silo.log" 2>&1 &
SILO=$!
SAMPLER=""
cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  kill "$SILO" 2>/dev/null || true
  wait "$SILO" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SILO/status"; }
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.2
done
sleep 2
IDLE=$(rss_kb)
(while kill -0 "$SILO" 2>/dev/null; do echo "$(date +%s) $(rss_kb) $(ls /proc/$SILO/fd | wc -l)"; sleep 1; done) >"$OUT/silo-rss.txt" &
SAMPLER=$!

PIDS=()
for g in $(seq 1 "$GENERATORS"); do
  timeout 900 dotnet loadtest/bin/Release/net10.0/Vehicles.LoadTest.dll --target "http://127.0.0.1:$PORT" --signing-key "$KEY" \
    -s telemetry -O "vehicles=$VEHICLES" -O connect-parallelism=32 -r "$RATE" -d "$DURATION" --live off \
    -o "$OUT/generator-$g" -t 'telemetry:discrepancies==0' >"$OUT/generator-$g.log" 2>&1 &
  PIDS+=($!)
done
STATUS=0
for p in "${PIDS[@]}"; do wait "$p" || STATUS=$?; done

python3 - "$OUT" "$GENERATORS" "$IDLE" <<'PY'
import json, sys
out, generators, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
connected = failures = 0
for g in range(1, generators + 1):
    try:
        s = json.load(open(f"{out}/generator-{g}/report.json"))["scenarios"][0]
    except FileNotFoundError:
        print(f"generator {g}: no report (see {out}/generator-{g}.log)")
        continue
    gauges = s["finalGauges"]
    connected += gauges.get("connected", 0)
    failures += gauges.get("connect_failures", 0)
    t = s["totals"]
    print(f"generator {g}: connected {gauges.get('connected')}, connect failures {gauges.get('connect_failures')}, "
          f"{t['requests']} reports at {t['rps']:.0f}/s, p99 {t['latency']['p99']} ms, discrepancies {t['discrepancies']}")
samples = [l.split() for l in open(f"{out}/silo-rss.txt") if len(l.split()) == 3]
peak = max(int(s[1]) for s in samples)
fds = max(int(s[2]) for s in samples)
print(f"silo: idle RSS {idle/1024:.0f} MiB, peak RSS {peak/1024:.0f} MiB, peak open descriptors {fds}, "
      f"vehicles connected at once {connected} (connect failures {failures})")
if connected:
    print(f"memory per connected vehicle: {(peak - idle) * 1024 / connected / 1024:.1f} KiB")
PY
exit "$STATUS"
