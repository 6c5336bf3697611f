#!/usr/bin/env bash
# Installs what respool's build, tests, demo and benchmarks need, from Debian 12's packages.
set -euo pipefail
packages=(g++ clang cmake ninja-build pkg-config python3 libboost-dev libboost-test-dev libmariadb-dev
          libbenchmark-dev mariadb-server nginx libnginx-mod-stream)
if [ "${RESPOOL_SKIP_INSTALL:-0}" = 1 ]; then exit 0; fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "respool: build and test dependencies are installed"
