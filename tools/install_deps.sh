#!/usr/bin/env bash
# Installs what respool's build, tests, demo and benchmarks need, from Debian 12's packages.
set -euo pipefail
packages=(g++ clang libclang-rt-14-dev cmake ninja-build pkg-config python3 libboost-dev libboost-test-dev libmariadb-dev
          libbenchmark-dev mariadb-server nginx libnginx-mod-stream)
if [ "${RESPOOL_SKIP_INSTALL:-0}" = 1 ]; then exit 0; fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null; then
    # Neither root nor sudo: fine if everything is there already, else say what is missing.
    missing=()
    for p in "${packages[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" = 0 ]; then echo "respool: build and test dependencies are installed"; exit 0; fi
    echo "respool: as root (or with sudo) install: ${missing[*]}; or set RESPOOL_SKIP_INSTALL=1" >&2
    exit 1
  fi
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "respool: build and test dependencies are installed"
