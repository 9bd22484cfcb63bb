#!/usr/bin/env bash
# Failover time of a 3-silo cluster on this machine, RUNS times (default 3). Each run: fresh schemas, 3 Release silos
# (scripts/cluster.sh), the load harness's mixed scenario at RATE/s with its vehicles spread over silos 1 and 2 only,
# and KILL_AFTER seconds into the measured load silo 3 is killed with SIGKILL. Silo 3 owns about a third of the grains:
# calls to them fail until the others declare it dead and place its grains anew.
#
# Measured per run, from the kill (wall clock, date +%s.%N):
#   declared dead  the first line of silo 1 or 2 that shows silo 3 dead: Orleans' "Evicting '<silo 3>'" of the silo that
#                  wrote the death, or "... <silo 3> entered status Dead" (their logs carry UTC millisecond timestamps)
#   fully served   the end of the last one-second interval of the harness's time series with an error (the harness
#                  prints one line per interval, time-stamped here as it arrives): an upper bound, within 1 s
# and min/median/max over the runs.
#
#   scripts/bench-failover.sh [RUNS]      # RATE=300 VEHICLES=300 DURATION=40s KILL_AFTER=10
# Cluster dir and ports: VEHICLES_CLUSTER_DIR (default /tmp/bench-failover), VEHICLES_CLUSTER_BASE_PORT (default 50171).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
RUNS="${1:-3}"
RATE="${RATE:-300}"
VEHICLES="${VEHICLES:-300}"
DURATION="${DURATION:-40s}"
WARMUP=3
KILL_AFTER="${KILL_AFTER:-10}"
OUT="${OUT:-${TMPDIR:-/tmp}/vehicles-bench/failover-$(date -u +%Y%m%d-%H%M%S)}"
: "${VEHICLES_TEST_POSTGRES:?set VEHICLES_TEST_POSTGRES (eval \"\$(scripts/servers.sh env)\")}"
: "${VEHICLES_TEST_REDIS:?set VEHICLES_TEST_REDIS}"
export VEHICLES_CLUSTER_DIR="${VEHICLES_CLUSTER_DIR:-/tmp/bench-failover}"
export VEHICLES_CLUSTER_BASE_PORT="${VEHICLES_CLUSTER_BASE_PORT:-50171}"
export VEHICLES_SERVERS_DIR="${VEHICLES_SERVERS_DIR:-/tmp/vehicles-dev-servers}"
export VEHICLES_CLUSTER_SERVERS=reuse VEHICLES_CLUSTER_BUILD=0
# One line per log entry with a UTC timestamp, so that the survivors' "declared dead" can be timed.
export Logging__Console__FormatterName=simple Logging__Console__FormatterOptions__SingleLine=true
export Logging__Console__FormatterOptions__UseUtcTimestamp=true Logging__Console__FormatterOptions__TimestampFormat='yyyy-MM-ddTHH:mm:ss.fff '
LT=(dotnet loadtest/bin/Release/net10.0/Vehicles.LoadTest.dll)
mkdir -p "$OUT"

dotnet build silo/Vehicles.Silo.csproj -c Release -v q -nologo >/dev/null
dotnet build loadtest/Vehicles.LoadTest.csproj -c Release -v q -nologo >/dev/null

psql_run() { psql "host=127.0.0.1 port=$(sed -E 's/.*Port=([0-9]+).*/\1/' <<<"$VEHICLES_TEST_POSTGRES") user=postgres dbname=postgres" -qAtc "$1"; }
cleanup() { scripts/cluster.sh stop-silos >/dev/null 2>&1 || true; }
trap cleanup EXIT

for run in $(seq 1 "$RUNS"); do
  id="bf_$(date +%s)_$run"
  export VEHICLES_STORAGE_SCHEMA="${id}" VEHICLES_CLUSTER_ID="${id}" VEHICLES_CLUSTER_REDIS_PREFIX="$id"
  rm -f "$VEHICLES_CLUSTER_DIR"/silo*.pid
  timeout 120 scripts/cluster.sh start 3 >"$OUT/cluster-$run.txt" 2>&1 || { echo "cluster did not start; see $OUT/cluster-$run.txt" >&2; exit 1; }
  for i in 1 2 3; do cp /dev/null "$OUT/silo$i-run$run.log"; done
  b1="http://127.0.0.1:$VEHICLES_CLUSTER_BASE_PORT"; b2="http://127.0.0.1:$((VEHICLES_CLUSTER_BASE_PORT + 1))"
  log="$OUT/run$run.log"
  echo "load average before run $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/run$run.load"
  # Every harness line is prefixed with the wall-clock time it arrived at.
  ( timeout 300 "${LT[@]}" --target "$b1,$b2" --signing-key "$(cat "$VEHICLES_CLUSTER_DIR/signing-key")" \
      -s mixed -O "vehicles=$VEHICLES" -r "$RATE" -d "$DURATION" -w "${WARMUP}s" --live off -o "$OUT/run$run" 2>&1 || true ) \
    | while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >"$log" &
  harness=$!
  # Kill when the harness reports the interval KILL_AFTER seconds into the measured load (bounded: 180 s).
  killed=""
  for _ in $(seq 1 1800); do
    if awk -v t=$((WARMUP + KILL_AFTER)) '{ if (match($0, /\[ *[0-9.]+s\]/)) { s = substr($0, RSTART + 1, RLENGTH - 3) + 0; if (s >= t) { found = 1 } } } END { exit !found }' "$log"; then
      killed="$(date +%s.%N)"; kill -9 "$(cat "$VEHICLES_CLUSTER_DIR/silo3.pid")"; break
    fi
    if ! kill -0 "$harness" 2>/dev/null; then break; fi
    sleep 0.1
  done
  wait "$harness" || true
  echo "$killed" >"$OUT/run$run.killed"
  echo "load average after run $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/run$run.load"
  for i in 1 2 3; do cp "$VEHICLES_CLUSTER_DIR/silo$i.log" "$OUT/silo$i-run$run.log" 2>/dev/null || true; done
  scripts/cluster.sh stop-silos >/dev/null
  psql_run "DROP SCHEMA IF EXISTS \"${id}\" CASCADE" >/dev/null 2>&1 || true
  [[ -n "$killed" ]] || { echo "run $run: the harness ended before the kill; see $log" >&2; exit 1; }
done

python3 - "$OUT" "$RUNS" <<'PY'
import datetime, glob, re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
line_re = re.compile(r"^(\d+\.\d+) \[ *([0-9.]+)s\] (\S+) rps \S+ .* err (.*?) in-flight")
rows, dead_times, served_times = [], [], []
print("| run | killed at (UTC) | kill → declared dead s | kill → fully served s (last error interval end) | errors after kill | error kinds | load avg before / after |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for run in range(1, runs + 1):
    killed = float(open(f"{out}/run{run}.killed").read().strip())
    last_error_end, errors, kinds = None, 0, {}
    for line in open(f"{out}/run{run}.log"):
        m = line_re.match(line)
        if not m:
            continue
        at, err = float(m.group(1)), m.group(4).strip()
        if err == "0" or at < killed:
            continue
        for pair in err.split():
            kind, _, count = pair.partition("=")
            kinds[kind] = kinds.get(kind, 0) + int(count)
            errors += int(count)
        last_error_end = at
    dead = None
    victim = None
    for line in open(f"{out}/cluster-{run}.txt", errors="replace"):
        m = re.search(r"silo 3: 127\.0\.0\.1:\d+, silo port (\d+)", line)
        if m:
            victim = "S127.0.0.1:" + m.group(1) + ":"
    for i in (1, 2):
        for line in open(f"{out}/silo{i}-run{run}.log", errors="replace"):
            if victim and victim in line and ("Evicting '" in line or "entered status Dead" in line):
                stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
                if stamp >= killed - 1 and (dead is None or stamp < dead):
                    dead = stamp
                break
    served = (last_error_end - killed) if last_error_end is not None else 0.0
    served_times.append(served)
    if dead is not None:
        dead_times.append(dead - killed)
    load = " / ".join(l.split(": ", 1)[1].strip() for l in open(f"{out}/run{run}.load"))
    when = datetime.datetime.fromtimestamp(killed, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    print(f"| {run} | {when} | {'n/a' if dead is None else f'{dead - killed:.2f}'} | {served:.1f} | {errors} | {' '.join(f'{k}={v}' for k, v in sorted(kinds.items())) or '-'} | {load} |")
def mmm(xs): return f"{min(xs):.2f} / {statistics.median(xs):.2f} / {max(xs):.2f}" if xs else "n/a"
print(f"\nkill → declared dead (min / median / max over {len(dead_times)} runs): {mmm(dead_times)} s")
print(f"kill → fully served (min / median / max over {len(served_times)} runs): {mmm(served_times)} s")
print(f"reports, harness and silo logs: {out}")
PY
