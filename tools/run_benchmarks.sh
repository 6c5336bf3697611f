#!/usr/bin/env bash
# Runs every benchmark binary in BUILD/benchmarks. --smoke: each benchmark once, briefly (a check that they run).
# The MariaDB ones need a server: they run only when RESPOOL_MARIADB_URL is set (tools/bench_mariadb.sh sets it).
set -euo pipefail
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
build="${1:?usage: run_benchmarks.sh [--smoke] BUILD_DIR}"
shopt -s nullglob
ran=0
for bin in "$build"/benchmarks/bench_*; do
  [ -x "$bin" ] || continue
  case "$(basename "$bin")" in
    *mariadb*) if [ -z "${RESPOOL_MARIADB_URL:-}" ]; then echo "-- $(basename "$bin"): skipped (no RESPOOL_MARIADB_URL)"; continue; fi ;;
  esac
  echo "-- $(basename "$bin")"
  if [ "$smoke" = 1 ]; then
    # RESPOOL_BENCH_RUN_MS: scenario 3's runs last 5 s each otherwise
    RESPOOL_BENCH_RUN_MS=100 "$bin" --benchmark_min_time=0.001 --benchmark_repetitions=1 >/dev/null
  else
    "$bin" --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
  fi
  ran=$((ran + 1))
done
echo "respool: $ran benchmark binaries ran"
