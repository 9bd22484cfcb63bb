#!/usr/bin/env bash
# Command round trip at a fixed rate (open model, so latency counts from the intended send time): an operator sends
# commands with wait_for_result to simulated vehicles that answer after COMMAND_DELAY; the step is send→final state.
# Also reports send→delivery and send→vehicle result, and checks that every command ended as its vehicle answered.
# The silo runs as its own Release process (SQLite in a temp folder), the generator next to it on the same cores;
# EMBEDDED=1 runs both in one process instead.
#
#   scripts/bench-commands.sh                         # 2000 commands/s to 1000 vehicles, 20 s after 5 s warm-up
#   RATE=500 COMMAND_DELAY=fixed:0ms scripts/bench-commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RATE="${RATE:-2000}"
VEHICLES="${VEHICLES:-1000}"
DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-5s}"
COMMAND_DELAY="${COMMAND_DELAY:-fixed:1ms}"
PORT="${PORT:-50571}"
EMBEDDED="${EMBEDDED:-0}"
OUT="${OUT:-${TMPDIR:-/tmp}/vehicles-bench/commands-$(date -u +%Y%m%d-%H%M%S)}"
LT=(dotnet loadtest/bin/Release/net10.0/Vehicles.LoadTest.dll)
mkdir -p "$OUT"

dotnet build -c Release loadtest/Vehicles.LoadTest.csproj -nologo -v q >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$EMBEDDED" = 1 ]; then
  TARGET=(--embedded)
else
  DATA="$(mktemp -d)"
  KEY="$(head -c 32 /dev/urandom | base64)"
  Grpc__Address="127.0.0.1:$PORT" Storage__Provider=Sqlite Storage__DataDirectory="$DATA" Tokens__SigningKey="$KEY" \
    Logging__LogLevel__Default=Warning dotnet silo/bin/Release/net10.0/Vehicles.Silo.dll >"$OUT/silo.log" 2>&1 &
  SILO=$!
  trap 'kill "$SILO" 2>/dev/null || true; wait "$SILO" 2>/dev/null || true; rm -rf "$DATA"' EXIT
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.2
  done
  TARGET=(--target "http://127.0.0.1:$PORT" --signing-key "$KEY")
fi

timeout 600 "${LT[@]}" "${TARGET[@]}" -s commands -O "vehicles=$VEHICLES" -O "command-delay=$COMMAND_DELAY" -r "$RATE" \
  -d "$DURATION" -w "$WARMUP" --live off -o "$OUT/report" -t 'commands:discrepancies==0' -t 'commands:p99<=10ms' \
  | grep -E '^commands:|threshold|PASSED|FAILED' || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
sed -n '/### Other latencies/,/^Final gauges/p' "$OUT/report/report.md"
