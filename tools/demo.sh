#!/usr/bin/env bash
# The main demo: installs dependencies, builds the examples and runs examples/quickstart against MariaDB.
# Uses RESPOOL_MARIADB_URL when set; otherwise starts a throwaway mariadbd on 127.0.0.1 and stops it afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RESPOOL_BUILD_DIR:-$root/build}/demo"
"$root/tools/install_deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRESPOOL_BUILD_TESTS=OFF \
      -DRESPOOL_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

if [ ! -x "$build/examples/quickstart" ]; then
  exec "$build/examples/generic_pool"
fi
if [ -z "${RESPOOL_MARIADB_URL:-}" ]; then
  server_dir="$(mktemp -d /tmp/respool-demo-mariadb.XXXXXX)"
  trap '"$root/tools/mariadb_server.sh" stop "$server_dir" >/dev/null 2>&1 || true' EXIT
  "$root/tools/mariadb_server.sh" start "$server_dir" >/dev/null
  RESPOOL_MARIADB_URL="$(cat "$server_dir/url")"
  export RESPOOL_MARIADB_URL
fi
"$build/examples/quickstart"
