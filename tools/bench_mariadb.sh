#!/usr/bin/env bash
# Runs the MariaDB benchmarks of a build: bench_mariadb_select1, bench_mariadb_rows, then bench_mariadb_vs_other_pools (it needs POCO
# Data, SOCI or libzdb at configure time) and bench_async_mariadb (it needs Boost) when they were built.
#
#   tools/bench_mariadb.sh BUILD_DIR [Google Benchmark flags...]
#
# Uses the server in RESPOOL_MARIADB_URL when set; otherwise starts a throwaway one with tools/mariadb_server.sh and
# stops it afterwards. Each binary runs for about a minute on 2 cores.
#
# RESPOOL_BENCH_ONLY (names without "bench_", e.g. "mariadb_rows" or "async_mariadb mariadb_select1") runs only those.
#
# RESPOOL_BENCH_SERVER_CPUS and RESPOOL_BENCH_CLIENT_CPUS (taskset CPU lists, e.g. 0 and 1) give the throwaway
# server and the benchmarks CPUs of their own, as when the database runs on another host: then the client's own
# costs (context switches, the pool's bookkeeping) no longer take CPU time from the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build="${1:?usage: bench_mariadb.sh BUILD_DIR [benchmark flags...]}"
shift
bin="$build/benchmarks"
[ -x "$bin/bench_mariadb_select1" ] || {
  echo "bench_mariadb.sh: $bin/bench_mariadb_select1 not found (configure with libmariadb-dev and build the" \
       "respool_benchmarks target)" >&2
  exit 1
}

if [ -z "${RESPOOL_MARIADB_URL:-}" ]; then
  server_dir=$(mktemp -d "${TMPDIR:-/tmp}/respool-bench-mariadb.XXXXXX")
  trap '"$here/mariadb_server.sh" stop "$server_dir"' EXIT
  server_pin=()
  [ -n "${RESPOOL_BENCH_SERVER_CPUS:-}" ] && server_pin=(taskset -c "$RESPOOL_BENCH_SERVER_CPUS")
  "${server_pin[@]}" "$here/mariadb_server.sh" start "$server_dir" >/dev/null
  RESPOOL_MARIADB_URL=$(cat "$server_dir/url")
  export RESPOOL_MARIADB_URL
  echo "bench_mariadb.sh: throwaway server at $RESPOOL_MARIADB_URL"
fi

client_pin=()
[ -n "${RESPOOL_BENCH_CLIENT_CPUS:-}" ] && client_pin=(taskset -c "$RESPOOL_BENCH_CLIENT_CPUS")

for name in ${RESPOOL_BENCH_ONLY:-mariadb_select1 mariadb_rows mariadb_vs_other_pools async_mariadb}; do
  [ -x "$bin/bench_$name" ] || { echo "-- bench_$name: not built, skipped"; continue; }
  echo "-- bench_$name"
  "${client_pin[@]}" "$bin/bench_$name" "$@"
done
