#!/usr/bin/env bash
# Microbenchmarks of the gRPC wire layer (bench/Esp.Benchmarks, BenchmarkDotNet).
#
#   bench/micro.sh                  every benchmark, BenchmarkDotNet's default job (minutes)
#   bench/micro.sh --short          every benchmark, the short job (3 warm-ups, 3 iterations)
#   bench/micro.sh --filter '*Percent*' --job short    any BenchmarkDotNet arguments
#
# Builds into /tmp/bench-artifacts (not the repository's artifacts/, which ./esp and ./test use),
# runs in process (see Program.cs), and leaves BenchmarkDotNet's reports in
# /tmp/bench-artifacts/results (BENCH_MICRO_RESULTS to change it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
artifacts=${BENCH_ARTIFACTS:-/tmp/bench-artifacts}
results=${BENCH_MICRO_RESULTS:-$artifacts/results}

args=()
for a in "$@"; do
    if [ "$a" = --short ]; then args+=(--job short); else args+=("$a"); fi
done
printf '%s\n' "${args[@]}" | grep -qx -- '--filter' || args=(--filter '*' "${args[@]}")

echo "micro: building bench/Esp.Benchmarks (Release, $artifacts)" >&2
dotnet build "$root/bench/Esp.Benchmarks/Esp.Benchmarks.csproj" -c Release -nologo -v q -clp:NoSummary \
    -p:ArtifactsPath="$artifacts"
exec "$artifacts/bin/Esp.Benchmarks/release/Esp.Benchmarks" --artifacts "$results" "${args[@]}"
