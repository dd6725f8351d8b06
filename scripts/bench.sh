#!/usr/bin/env bash
# Runs the package-benchmark suites in Benchmarks/ (a package of its own: the root `swift test` never builds it)
# and prints the results. Extra arguments go to `benchmark`, e.g.:
#   scripts/bench.sh --target PluginIngest      # host-side cost of a 1,000-sample batch from a C plugin (both paths)
#   scripts/bench.sh --target PluginThroughput  # in-process vs isolation: process
#   scripts/bench.sh --target MetricsIngest     # P1: record_metrics -> SQLite vs ../shared/bench/sqlite_bench.c
#   scripts/bench.sh --target MetricsHotPath    # P2 Counter.increment(), /metrics of 10,000 series, get_metric
#   scripts/bench.sh --target LogsAndTraces     # P3 log_batch -> SQLite vs sqlite_bench.c, P4 queries, span cost
#   scripts/bench.sh --target AlertEvaluation   # one alert tick: 1,000 rules over stored samples and logs
# The first run builds the root package and package-benchmark in Benchmarks/.build (10-15 minutes on 2 cores).
# Malloc counts come from package-benchmark's malloc interposer (trait MallocInterposer): no jemalloc needed.
# MetricsIngest and LogsAndTraces compile ../shared/bench/sqlite_bench.c with `cc -lsqlite3` when it is there (or
# $STEPFLOW_SQLITE_BENCH_SOURCE) and runs it in the same binary; without it that reference is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cc >/dev/null || { echo "bench: needs a C compiler (cc) to build the benchmark plugin" >&2; exit 1; }
[ -f /usr/include/sqlite3.h ] || { echo "bench: needs libsqlite3-dev (apt-get install libsqlite3-dev)" >&2; exit 1; }
# The process-isolation benchmarks start `stepflow-monitor plugin-runner`: build it in release first.
echo "bench: building stepflow-monitor (release) for the plugin-runner benchmarks" >&2
swift build -c release --product stepflow-monitor >&2
export STEPFLOW_MONITOR_EXECUTABLE="$(swift build -c release --show-bin-path)/stepflow-monitor"
exec swift package --package-path Benchmarks benchmark --no-progress --format markdown "$@"
