# Shell functions shared by tools/mariadb_server.sh and tools/nginx_lb.sh, which source this file. Each defines
# die() itself, naming the script in its messages.

find_tool() { # the first of the given names found on PATH or in /usr/sbin, /usr/bin, /usr/local/...
  local name d
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    for d in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
      if [ -x "$d/$name" ]; then echo "$d/$name"; return 0; fi
    done
  done
  return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() { # a port nobody listens on now; a start retries when someone takes it first
  local p tries lo=32768 hi=60999 first=20000 count=12768
  # Below (or above) the kernel's ephemeral range: a port that an outgoing connection took meanwhile would keep a
  # server from starting again on it after a kill or a stop.
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if [ "$lo" -gt 11000 ]; then first=10000; count=$((lo - 10000));
  elif [ "$hi" -lt 64535 ]; then first=$((hi + 1)); count=$((65535 - hi)); fi
  for tries in $(seq 1 200); do
    p=$(( first + (RANDOM * 32768 + RANDOM) % count ))
    if ! port_in_use "$p"; then echo "$p"; return 0; fi
  done
  die "no free port found"
}
