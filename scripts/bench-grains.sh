#!/usr/bin/env bash
# Orleans silo benchmarks (benchmarks/Vehicles.Grains.Benchmarks), one mode per call, Release, bounded by a timeout:
#
#   scripts/bench-grains.sh storage [--grains 10000] [--seconds 10] [--interval 1] [--only postgres,sqlite]
#                                       # grain state writes through AddVehicleStorage; needs VEHICLES_TEST_POSTGRES
#                                       # (scripts/servers.sh start prints it) unless --only sqlite
#   scripts/bench-grains.sh calls [seconds=10] [callers=1000] [grains=10000]
#   scripts/bench-grains.sh memory [activations=1000000]
#
# storage runs with server GC and non-concurrent GC, as the old Vehicles.Persistence.Benchmarks did; calls and memory
# with the project's workstation GC, as the old Vehicles.Actors.Benchmarks did. The load average is printed before
# and after: on a shared machine, read wall-clock rates next to it.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:?mode: storage, calls or memory}"
shift
dotnet build -c Release benchmarks/Vehicles.Grains.Benchmarks/Vehicles.Grains.Benchmarks.csproj -nologo -v q >/dev/null
BIN=benchmarks/Vehicles.Grains.Benchmarks/bin/Release/net10.0/Vehicles.Grains.Benchmarks.dll
GC_ENV=()
if [ "$MODE" = storage ]; then
  GC_ENV=(DOTNET_gcServer=1 DOTNET_gcConcurrent=0)
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
env "${GC_ENV[@]}" timeout 600 dotnet "$BIN" "$MODE" "$@" || status=$?
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
