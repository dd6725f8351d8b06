#!/usr/bin/env bash
# Runs the package-benchmark suites in Benchmarks/ (a package of its own: the root `swift test` never builds it)
# and prints the results. Extra arguments go to `benchmark`, e.g.:
#   scripts/bench.sh --target PluginIngest
#   scripts/bench.sh --filter 'collect 1000'
# The first run builds the root package and package-benchmark in Benchmarks/.build (several minutes on 2 cores).
# Malloc counts come from package-benchmark's malloc interposer (trait MallocInterposer): no jemalloc needed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cc >/dev/null || { echo "bench: needs a C compiler (cc) to build the benchmark plugin" >&2; exit 1; }
# The process-isolation benchmarks start `stepflow-monitor plugin-runner`: build it in release first.
echo "bench: building stepflow-monitor (release) for the plugin-runner benchmarks" >&2
swift build -c release --product stepflow-monitor >&2
export STEPFLOW_MONITOR_EXECUTABLE="$(swift build -c release --show-bin-path)/stepflow-monitor"
exec swift package --package-path Benchmarks benchmark --no-progress --format markdown "$@"
