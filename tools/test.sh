#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, then builds and runs
#   1. every test (unit, concurrency, single header, packaging, MariaDB, nginx) with GCC under ASan + UBSan,
#   2. the unit, concurrency, async, MariaDB and nginx tests with Clang under ThreadSanitizer,
#   3. the benchmarks with GCC in Release (built, and smoke-run briefly); the examples are built and run in step 1.
# Throwaway MariaDB servers and nginx are started by the tests themselves (CTest fixtures) on 127.0.0.1, unless
# RESPOOL_MARIADB_URL points at a server to use instead. RESPOOL_TEST_SEED repeats a concurrency run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RESPOOL_BUILD_DIR:-$root/build}"
jobs="$(nproc)"
"$root/tools/install_deps.sh"

section() { printf '\n==== %s ====\n' "$*"; }

# Debian 12's Boost is 1.74; Asio's per-operation cancellation (1.77+) is tested against Debian's 1.81 headers,
# unpacked into the build directory (not installed: they would replace 1.74's).
newer_boost="$build/boost-1.81"
if [ ! -f "$newer_boost/usr/include/boost/version.hpp" ]; then
  rm -rf "$build/boost-download" && mkdir -p "$build/boost-download"
  if (cd "$build/boost-download" && apt-get download -qq libboost1.81-dev >/dev/null 2>&1); then
    dpkg -x "$build"/boost-download/libboost1.81-dev_*.deb "$newer_boost"
  else
    echo "respool: libboost1.81-dev could not be downloaded; the Asio cancellation test is skipped"
  fi
  rm -rf "$build/boost-download"
fi
newer_boost_option=()
if [ -f "$newer_boost/usr/include/boost/version.hpp" ]; then
  newer_boost_option=(-DRESPOOL_NEWER_BOOST_INCLUDE_DIR="$newer_boost/usr/include")
fi

section "GCC, AddressSanitizer + UndefinedBehaviorSanitizer: all tests"
cmake -S "$root" -B "$build/asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ \
      -DRESPOOL_SANITIZE=address,undefined -DRESPOOL_BUILD_BENCHMARKS=OFF "${newer_boost_option[@]}" >/dev/null
cmake --build "$build/asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$build/asan" --output-on-failure -j "$jobs" --timeout 900

section "Clang, ThreadSanitizer: unit, concurrency, async, MariaDB and nginx tests"
cmake -S "$root" -B "$build/tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DRESPOOL_SANITIZE=thread -DRESPOOL_BUILD_BENCHMARKS=OFF -DRESPOOL_BUILD_EXAMPLES=OFF \
      "${newer_boost_option[@]}" >/dev/null
cmake --build "$build/tsan" -j "$jobs"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir "$build/tsan" --output-on-failure -j "$jobs" -L 'unit|concurrency|async|mariadb|nginx' --timeout 900

section "GCC, Release: benchmarks build and smoke-run"
cmake -S "$root" -B "$build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
      -DRESPOOL_BUILD_TESTS=OFF -DRESPOOL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build/release" -j "$jobs"
"$root/tools/run_benchmarks.sh" --smoke "$build/release"
