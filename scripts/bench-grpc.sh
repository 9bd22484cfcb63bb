#!/usr/bin/env bash
# Measures the gRPC layer's unary path against plain Kestrel with h2load (nghttp2-client).
#
# benchmarks/Vehicles.Grpc.Benchmarks serves, in one Release process on 127.0.0.1 (h2c), the TestService
# Echo method through Grpc.AspNetCore and two plain Kestrel MapPost baselines that answer the same response
# bytes (application/grpc, the same framed EchoReply): one without trailers, one with a grpc-status trailer.
# The same script in a checkout from before the move measures the former Vehicles.Grpc layer: its lines differ
# only in the gRPC row's label, so the two outputs compare line by line.
# This script starts it, checks the endpoints with nghttp, warms them up, runs h2load against each in
# alternating order for several rounds (reading the server's CPU time and allocated bytes around every run),
# measures single-connection sequential latency (h2load -c1 -m1 with --log-file, percentiles computed here),
# prints a Markdown section and saves it to benchmarks/Vehicles.Grpc.Benchmarks/results.md. The server is
# stopped at the end, also on failure. Every step is bounded in count and time.
#
#   scripts/bench-grpc.sh                 # 5 rounds of -n 200000 -c 16 -m 32 per endpoint
#   ROUNDS=5 REQUESTS=500000 scripts/bench-grpc.sh
#   SERVICE=minimal scripts/bench-grpc.sh   # Echo by a handler that only builds the reply
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-5}"
REQUESTS="${REQUESTS:-200000}"
CONNECTIONS="${CONNECTIONS:-16}"
STREAMS="${STREAMS:-32}"
WARMUP_REQUESTS="${WARMUP_REQUESTS:-100000}"
LATENCY_REQUESTS="${LATENCY_REQUESTS:-20000}"
STEP_TIMEOUT="${STEP_TIMEOUT:-300}"
# test: Echo with the test service's knobs (TestEchoService); minimal: a handler that only builds the reply.
SERVICE="${SERVICE:-test}"
PROJECT=benchmarks/Vehicles.Grpc.Benchmarks
RESULTS="$PROJECT/results.md"
GRPC_PATH=/vehicles.testing.v1.TestService/Echo
PLAIN_PATH=/plain/echo
TRAILER_PATH=/plain/echo-trailer
STATS_PATH=/stats

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v h2load >/dev/null 2>&1 || ! command -v nghttp >/dev/null 2>&1; then
  echo "bench-grpc.sh: installing nghttp2-client" >&2
  as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends nghttp2-client >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build "$PROJECT/Vehicles.Grpc.Benchmarks.csproj" -c Release -nologo -v q >&2

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

dotnet "$PROJECT/bin/Release/net10.0/Vehicles.Grpc.Benchmarks.dll" \
  --request-file "$WORK/request.bin" --service "$SERVICE" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# The app prints "listening http://127.0.0.1:PORT" once Kestrel accepts connections.
BASE=""
for _ in $(seq 1 300); do
  BASE="$(sed -n 's/^listening \(http:\/\/[0-9.:]*\)$/\1/p' "$WORK/server.log" | head -n1)"
  [ -n "$BASE" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "bench-grpc.sh: server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$BASE" ] || { cat "$WORK/server.log" >&2; echo "bench-grpc.sh: server did not start in 30 s" >&2; exit 1; }

HEADERS=(-H 'content-type: application/grpc' -H 'te: trailers')

# h2load only looks at :status; check once that the gRPC endpoint really answers grpc-status 0 and that both
# endpoints return the same message bytes.
check_endpoint() { # $1 path -> prints the response DATA length and grpc-status
  timeout 30 nghttp "${HEADERS[@]}" -d "$WORK/request.bin" "$BASE$1" >"$WORK/body.bin" || true
  timeout 30 nghttp -v "${HEADERS[@]}" -d "$WORK/request.bin" "$BASE$1" 2>&1 | tr -d '\r' >"$WORK/nghttp.log" || true
  local status
  status="$(sed -n 's/.*grpc-status: \([0-9]*\).*/\1/p' "$WORK/nghttp.log" | head -n1)"
  echo "$(wc -c <"$WORK/body.bin") ${status:-none}"
}
read -r GRPC_BYTES GRPC_STATUS <<<"$(check_endpoint "$GRPC_PATH")"
cp "$WORK/body.bin" "$WORK/grpc-body.bin"
read -r PLAIN_BYTES _ <<<"$(check_endpoint "$PLAIN_PATH")"
if [ "$GRPC_STATUS" != 0 ] || ! cmp -s "$WORK/grpc-body.bin" "$WORK/body.bin"; then
  echo "bench-grpc.sh: endpoint check failed: grpc-status=$GRPC_STATUS, $GRPC_BYTES vs $PLAIN_BYTES response bytes" >&2
  cat "$WORK/nghttp.log" >&2
  exit 1
fi

run_h2load() { # $1 path, then extra h2load arguments -> prints req/s; fails unless every request succeeded
  local path="$1"; shift
  local out
  out="$(timeout "$STEP_TIMEOUT" h2load "${HEADERS[@]}" -d "$WORK/request.bin" "$@" "$BASE$path")"
  local total succeeded
  total="$(sed -n 's/^requests: \([0-9]*\) total.*/\1/p' <<<"$out")"
  succeeded="$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' <<<"$out")"
  if [ -z "$total" ] || [ "$total" != "$succeeded" ]; then
    echo "bench-grpc.sh: h2load on $path: $succeeded of $total requests succeeded" >&2
    echo "$out" >&2
    exit 1
  fi
  sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
join() { local first="$1"; shift; printf '%s' "$first"; if [ $# -gt 0 ]; then printf ' / %s' "$@"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# The endpoints, in the order of odd rounds (even rounds run them backwards).
ENDPOINTS=(grpc plain trailer)
declare -A PATHS=([grpc]="$GRPC_PATH" [plain]="$PLAIN_PATH" [trailer]="$TRAILER_PATH")
declare -A LABELS=(
  [grpc]="Grpc.AspNetCore Echo ($SERVICE handler)"
  [plain]="plain Kestrel, same bytes"
  [trailer]="plain Kestrel, same bytes + grpc-status trailer"
)

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-grpc.sh: warming up ($WARMUP_REQUESTS requests each)" >&2
for which in "${ENDPOINTS[@]}"; do
  run_h2load "${PATHS[$which]}" -n "$WARMUP_REQUESTS" -c "$CONNECTIONS" -m "$STREAMS" >/dev/null
done

# The server's allocated bytes, GC counts and CPU time ("bytes gen0 gen1 gen2 cpu_us"), read around each run:
# allocations and CPU time per request are measures that other load on the machine skews less than req/s.
server_stats() { timeout 30 nghttp "$BASE$STATS_PATH"; }

declare -A RATES ALLOCS GEN0S CPUS
ROUND_RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  # Alternate the order so that drift (JIT tiering, GC heap growth, machine load) hits every endpoint alike.
  if [ $((round % 2)) = 1 ]; then order=("${ENDPOINTS[@]}"); else order=(trailer plain grpc); fi
  declare -A this_round=()
  for which in "${order[@]}"; do
    read -r bytes_before gen0_before _ _ cpu_before <<<"$(server_stats)"
    rate="$(run_h2load "${PATHS[$which]}" -n "$REQUESTS" -c "$CONNECTIONS" -m "$STREAMS")"
    read -r bytes_after gen0_after _ _ cpu_after <<<"$(server_stats)"
    alloc=$(( (bytes_after - bytes_before) / REQUESTS ))
    gen0=$(( gen0_after - gen0_before ))
    cpu="$(awk -v a="$cpu_after" -v b="$cpu_before" -v n="$REQUESTS" 'BEGIN { printf "%.2f", (a - b) / n }')"
    RATES[$which]+="$rate " ALLOCS[$which]+="$alloc " GEN0S[$which]+="$gen0 " CPUS[$which]+="$cpu "
    this_round[$which]="$rate"
    echo "bench-grpc.sh: round $round $which: $rate req/s, $cpu µs server CPU/request, $alloc B allocated/request, $gen0 gen0 GCs" >&2
  done
  # Runs of one round are close in time, so their ratio is less exposed to drifting machine load.
  ROUND_RATIOS+=("$(ratio "${this_round[grpc]}" "${this_round[plain]}")")
done

latency() { # $1 path -> "p50 p99 mean" in microseconds, from h2load's per-request log
  run_h2load "$1" -n "$LATENCY_REQUESTS" -c 1 -m 1 --log-file="$WORK/latency.log" >/dev/null
  awk -F'\t' '{ print $3 }' "$WORK/latency.log" | sort -n | awk '
    { v[NR] = $1; sum += $1 }
    END {
      p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
      printf "%d %d %d\n", p50, p99, sum / NR
    }'
}

declare -A RATE CPU LATENCY
for which in "${ENDPOINTS[@]}"; do
  # shellcheck disable=SC2086 # the lists are space-separated numbers
  RATE[$which]="$(printf '%s\n' ${RATES[$which]} | median)"
  # shellcheck disable=SC2086
  CPU[$which]="$(printf '%s\n' ${CPUS[$which]} | median)"
  LATENCY[$which]="$(latency "${PATHS[$which]}")"
done

RATIO="$(ratio "${RATE[grpc]}" "${RATE[plain]}")"
ROUND_RATIO="$(printf '%s\n' "${ROUND_RATIOS[@]}" | median)"
CPU_RATIO="$(ratio "${CPU[plain]}" "${CPU[grpc]}")"
TRAILER_CPU_RATIO="$(ratio "${CPU[plain]}" "${CPU[trailer]}")"
VERDICT="meets the target"
awk -v r="$RATIO" 'BEGIN { exit !(r < 0.80) }' && VERDICT="BELOW the 0.80 target"

row() { # $1 endpoint
  local p50 p99 mean
  read -r p50 p99 mean <<<"${LATENCY[$1]}"
  # shellcheck disable=SC2086
  echo "| ${LABELS[$1]} | $(printf '%.0f' "${RATE[$1]}") | $(join ${RATES[$1]}) | ${CPU[$1]} µs | ${p50} µs | ${p99} µs | ${mean} µs | $(printf '%s\n' ${ALLOCS[$1]} | median) B | $(join ${GEN0S[$1]}) |"
}

{
  echo "## gRPC layer vs plain Kestrel (h2load)"
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(uname -m)), h2load and the server on the same cores"
  echo "(load average before the run: $LOAD_BEFORE; other work on the machine skews requests per second most, CPU time per"
  echo "request less, allocations per request not at all); $(dotnet --version | sed 's/^/.NET SDK /'), $(h2load --version | head -n1)."
  echo "Command: \`scripts/bench-grpc.sh\` (SERVICE=$SERVICE ROUNDS=$ROUNDS REQUESTS=$REQUESTS CONNECTIONS=$CONNECTIONS STREAMS=$STREAMS LATENCY_REQUESTS=$LATENCY_REQUESTS)."
  echo
  echo "Unary TestService/Echo with a $(( $(wc -c <"$WORK/request.bin") - 5 ))-byte EchoRequest (framed: $(wc -c <"$WORK/request.bin") bytes) and a ${GRPC_BYTES}-byte framed reply, in one"
  echo "Release server process (h2c, 127.0.0.1) with two baselines: a Kestrel MapPost that reads the body and writes the"
  echo "same framed reply with content-type application/grpc and no trailers, and the same plus a \`grpc-status: 0\` trailer"
  echo "(the part of the gap that any gRPC server pays). Throughput: \`h2load -n $REQUESTS -c $CONNECTIONS -m $STREAMS\`, $ROUNDS rounds in"
  echo "alternating order after a warm-up, median shown. Server CPU and allocated bytes per request: the server process's"
  echo "Environment.CpuUsage (all threads, Kestrel's share included) and GC.GetTotalAllocatedBytes over a run, divided by"
  echo "its requests. Latency: \`h2load -c 1 -m 1 -n $LATENCY_REQUESTS\` (one connection, one request at a time), percentiles from"
  echo "h2load's per-request log."
  echo
  echo "| endpoint | req/s (median) | rounds | server CPU/request | p50 latency | p99 latency | mean latency | allocated/request | gen0 GCs per run |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"
  for which in "${ENDPOINTS[@]}"; do row "$which"; done
  echo
  echo "Ratio gRPC / plain: **$RATIO** (target ≥ 0.80: $VERDICT); median of the per-round ratios: $ROUND_RATIO"
  echo "($(join "${ROUND_RATIOS[@]}")). Server CPU per request, plain / gRPC: $CPU_RATIO (the throughput ratio to expect"
  echo "when the server is CPU-bound); plain / plain + trailer: $TRAILER_CPU_RATIO."
} | tee "$RESULTS"
