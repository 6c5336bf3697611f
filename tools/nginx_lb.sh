#!/usr/bin/env bash
# Starts and stops nginx as a layer-4 (stream) load balancer in front of two throwaway MariaDB servers, for
# respool's tests and demos. Everything lives in DIR; nothing outside it is written (no root-owned default paths).
#
#   tools/nginx_lb.sh start DIR [--proxy-timeout 5s] [--shutdown-timeout 1s] [--fail-timeout 2s]
#                               [--backends URLFILE1 URLFILE2]
#       Starts two mariadbd (tools/mariadb_server.sh into DIR/b1 and DIR/b2, server_id 1 and 2) unless --backends
#       names the URL files of servers that run already, then nginx on 127.0.0.1:<free port> balancing TCP
#       connections over them round robin (one worker, so the order is strict). Writes DIR/url (the URL through
#       nginx), DIR/backend1_url, DIR/backend2_url, and prints DIR/url. With backends it started, a second listener
#       sends the PROXY protocol header (nginx `proxy_protocol on;`, the backends' proxy_protocol_networks include
#       127.0.0.1), so the servers see the client's own address and port: its URL is in DIR/proxy_protocol_url.
#         --proxy-timeout     nginx closes a connection with no traffic either way for this long (nginx default 10m)
#         --shutdown-timeout  worker_shutdown_timeout: after a reload, old workers cut their connections this late
#         --fail-timeout      a backend that refused a connection gets none for this long (nginx default 10s)
#   tools/nginx_lb.sh reload DIR              nginx -s reload: new workers; old ones cut connections after
#                                             the shutdown timeout. Returns once the new configuration is live.
#   tools/nginx_lb.sh kill-backend DIR 1|2    SIGKILL to that mariadbd (a crash: its connections die at once)
#   tools/nginx_lb.sh start-backend DIR 1|2   starts it again on the same data and port; returns when it answers
#   tools/nginx_lb.sh stop DIR                stops nginx and the backends this script started, removes DIR
#
# Works as root and as an ordinary user. Needs Debian's nginx with libnginx-mod-stream, and mariadb-server.
# Every wait is bounded.
set -euo pipefail

readonly MARKER=.respool-nginx-lb
readonly WAIT_SECONDS=30
readonly here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly mariadb_server="$here/mariadb_server.sh"

die() { echo "nginx_lb.sh: $*" >&2; exit 1; }

. "$here/lib/local_server.sh" # find_tool, port_in_use, pick_port

find_stream_module() {
  local m
  for m in /usr/lib/nginx/modules/ngx_stream_module.so /usr/share/nginx/modules/ngx_stream_module.so \
           /usr/lib64/nginx/modules/ngx_stream_module.so; do
    if [ -f "$m" ]; then echo "$m"; return 0; fi
  done
  return 1
}

url_port() { sed -E 's#^[^/]*//[^@]*@[^:/]*:([0-9]+).*$#\1#' "$1"; }

nginx_pid() {
  local dir=$1 pid
  [ -f "$dir/nginx.pid" ] || return 1
  pid=$(cat "$dir/nginx.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" && echo "$pid"
}

backend_pid() {
  local bdir=$1 pid
  [ -f "$bdir/mysqld.pid" ] || return 1
  pid=$(cat "$bdir/mysqld.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" && echo "$pid"
}

alive() { # pid: runs, and is not a zombie (whoever adopted it may reap it late)
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

wait_gone() { # pid seconds
  local i
  for i in $(seq 1 $(($2 * 50))); do
    alive "$1" || return 0
    sleep 0.02
  done
  return 1
}

admin_sql() { # bdir sql: as root over the backend's socket
  local client
  client=$(find_tool mariadb mysql) || die "the mariadb client not found"
  "$client" --no-defaults --socket="$1/mysqld.sock" -uroot -e "$2"
}

# What every backend needs beyond mariadb_server.sh's defaults: a distinct server_id (a marker tests read), and
# PROXY protocol headers accepted from nginx (connections from 127.0.0.1 without one still work). Re-applied after
# start-backend: SET GLOBAL does not persist.
configure_backend() {
  admin_sql "$1/b$2" "SET GLOBAL server_id = $2; SET GLOBAL proxy_protocol_networks = '127.0.0.1/32,::1/128';" ||
    die "configuring backend $2 failed"
}

write_config() {
  local dir=$1 port=$2 p1=$3 p2=$4 proxy_timeout=$5 shutdown_timeout=$6 fail_timeout=$7 pp_port=$8 module
  module=$(find_stream_module) || die "ngx_stream_module.so not found (apt-get install libnginx-mod-stream)"
  cat >"$dir/nginx.conf" <<EOF
# Written by tools/nginx_lb.sh: a TCP (layer 4) load balancer in front of two MariaDB servers.
load_module $module;
daemon on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
worker_shutdown_timeout $shutdown_timeout;
events { worker_connections 4096; }
stream {
    upstream respool_backends {
        # round robin; a backend that refuses a connection is skipped for fail_timeout
        server 127.0.0.1:$p1 max_fails=1 fail_timeout=$fail_timeout;
        server 127.0.0.1:$p2 max_fails=1 fail_timeout=$fail_timeout;
    }
    server {
        listen 127.0.0.1:$port;
        proxy_pass respool_backends;
        proxy_timeout $proxy_timeout;
        proxy_connect_timeout 1s;
    }
EOF
  if [ -n "$pp_port" ]; then
    cat >>"$dir/nginx.conf" <<EOF
    server { # the same, telling each server the client's address in a PROXY protocol header
        listen 127.0.0.1:$pp_port;
        proxy_pass respool_backends;
        proxy_timeout $proxy_timeout;
        proxy_connect_timeout 1s;
        proxy_protocol on;
    }
EOF
  fi
  echo "}" >>"$dir/nginx.conf"
}

run_nginx() { # dir args...
  local dir=$1 nginx
  shift
  nginx=$(find_tool nginx) || die "nginx not found (apt-get install nginx libnginx-mod-stream)"
  # -p: relative paths resolve in DIR; -e: the error log before the configuration is read (not /var/log/nginx).
  "$nginx" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" "$@"
}

cmd_start() {
  local dir=$1
  shift
  local proxy_timeout=5s shutdown_timeout=1s fail_timeout=2s backends=()
  while [ $# -gt 0 ]; do
    case $1 in
      --proxy-timeout) proxy_timeout=${2:?}; shift 2 ;;
      --shutdown-timeout) shutdown_timeout=${2:?}; shift 2 ;;
      --fail-timeout) fail_timeout=${2:?}; shift 2 ;;
      --backends) backends=("${2:?}" "${3:?}"); shift 3 ;;
      *) die "unknown option $1" ;;
    esac
  done

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -e "$dir/$MARKER" ]; then # left by an earlier run: replace it
    cmd_stop "$dir"
    mkdir -p "$dir"
  elif [ -n "$(ls -A "$dir")" ]; then
    die "$dir exists, is not empty and was not made by this script"
  fi
  touch "$dir/$MARKER"

  if [ ${#backends[@]} -eq 2 ]; then
    cp "${backends[0]}" "$dir/backend1_url"
    cp "${backends[1]}" "$dir/backend2_url"
  else
    # Both at once (most of the time goes into mariadb-install-db), each with its own TMPDIR so that their
    # temporary files cannot meet; a backend that fails to start gets one more try.
    local pids=() n rc=0
    for n in 1 2; do
      mkdir -p "$dir/tmp$n"
      TMPDIR="$dir/tmp$n" "$mariadb_server" start "$dir/b$n" >"$dir/b$n.start.log" 2>&1 &
      pids+=($!)
    done
    for n in 1 2; do
      if ! wait "${pids[$((n - 1))]}"; then
        echo "nginx_lb.sh: backend $n failed to start; trying again" >&2
        cat "$dir/b$n.start.log" >&2
        TMPDIR="$dir/tmp$n" "$mariadb_server" start "$dir/b$n" >"$dir/b$n.start.log" 2>&1 || rc=1
      fi
    done
    if [ $rc != 0 ]; then cat "$dir"/b?.start.log >&2; die "starting the backends failed"; fi
    for n in 1 2; do
      cp "$dir/b$n/url" "$dir/backend${n}_url"
      # The exact command line, so start-backend can bring the server back on the same data and port.
      tr '\0' '\n' <"/proc/$(backend_pid "$dir/b$n")/cmdline" >"$dir/b$n.cmdline"
      configure_backend "$dir" "$n"
    done
  fi

  local p1 p2 port pp_port="" attempt i ready=0
  p1=$(url_port "$dir/backend1_url")
  p2=$(url_port "$dir/backend2_url")
  for attempt in 1 2 3 4 5; do
    port=$(pick_port)
    if [ ${#backends[@]} -ne 2 ]; then
      pp_port=$(pick_port)
      [ "$pp_port" != "$port" ] || continue
    fi
    write_config "$dir" "$port" "$p1" "$p2" "$proxy_timeout" "$shutdown_timeout" "$fail_timeout" "$pp_port"
    rm -f "$dir/nginx.pid"
    if run_nginx "$dir" >>"$dir/nginx.out" 2>&1; then
      for i in $(seq 1 $((WAIT_SECONDS * 20))); do
        if port_in_use "$port" && { [ -z "$pp_port" ] || port_in_use "$pp_port"; }; then ready=1; break; fi
        sleep 0.05
      done
      [ $ready = 1 ] && break
      die "nginx did not listen on $port within ${WAIT_SECONDS}s (see $dir/error.log)"
    fi
    grep -q "Address already in use" "$dir/error.log" 2>/dev/null || { cat "$dir/nginx.out" >&2; die "nginx failed"; }
  done
  [ $ready = 1 ] || die "nginx could not bind a free port"
  sed -E "s#@127\.0\.0\.1:[0-9]+/#@127.0.0.1:$port/#" "$dir/backend1_url" >"$dir/url"
  if [ -n "$pp_port" ]; then
    sed -E "s#@127\.0\.0\.1:[0-9]+/#@127.0.0.1:$pp_port/#" "$dir/backend1_url" >"$dir/proxy_protocol_url"
  fi
  cat "$dir/url"
}

cmd_reload() {
  local dir=$1 pid before i
  pid=$(nginx_pid "$dir") || die "nginx is not running in $dir"
  before=$(pgrep -P "$pid" | sort | tr '\n' ' ')
  run_nginx "$dir" -s reload
  # Live once a worker exists that was not there before.
  for i in $(seq 1 $((WAIT_SECONDS * 20))); do
    for w in $(pgrep -P "$pid"); do
      case " $before " in *" $w "*) ;; *) return 0 ;; esac
    done
    sleep 0.05
  done
  die "no new nginx worker within ${WAIT_SECONDS}s"
}

backend_dir() { # dir n
  case $2 in 1|2) ;; *) die "backend must be 1 or 2" ;; esac
  [ -f "$1/b$2.cmdline" ] || die "backend $2 was not started by this script"
  echo "$1/b$2"
}

cmd_kill_backend() {
  local bdir pid
  bdir=$(backend_dir "$1" "$2")
  pid=$(backend_pid "$bdir") || return 0
  kill -KILL "$pid"
  wait_gone "$pid" "$WAIT_SECONDS" || die "mariadbd $pid survived SIGKILL"
}

cmd_start_backend() {
  local dir=$1 n=$2 bdir pid i admin
  bdir=$(backend_dir "$dir" "$n")
  backend_pid "$bdir" >/dev/null && return 0
  admin=$(find_tool mariadb-admin mysqladmin) || die "mariadb-admin not found"
  local -a cmd
  mapfile -t cmd <"$dir/b$n.cmdline"
  TMPDIR="$dir/tmp$n" setsid "${cmd[@]}" </dev/null >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 1 $((WAIT_SECONDS * 20))); do
    alive "$pid" || die "mariadbd exited during start (see $bdir/error.log)"
    if "$admin" --no-defaults --socket="$bdir/mysqld.sock" -uroot --connect-timeout=1 ping >/dev/null 2>&1; then
      configure_backend "$dir" "$n"
      return 0
    fi
    sleep 0.05
  done
  die "backend $n did not answer within ${WAIT_SECONDS}s"
}

cmd_stop() {
  local dir=$1 pid n
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  [ -e "$dir/$MARKER" ] || die "$dir was not made by this script; not removing it"
  if pid=$(nginx_pid "$dir"); then
    kill -TERM "$pid" 2>/dev/null || true # fast shutdown: connections are closed at once
    wait_gone "$pid" "$WAIT_SECONDS" || kill -KILL "$pid" 2>/dev/null || true
  fi
  for n in 1 2; do
    [ -d "$dir/b$n" ] || continue
    backend_pid "$dir/b$n" >/dev/null || rm -f "$dir/b$n/mysqld.pid" # killed: nothing to wait for
    "$mariadb_server" stop "$dir/b$n" || true
  done
  rm -rf "$dir"
}

usage="usage: $0 start DIR [options] | reload DIR | kill-backend DIR 1|2 | start-backend DIR 1|2 | stop DIR"
[ $# -ge 2 ] || die "$usage"
case $1 in
  start) shift; cmd_start "$@" ;;
  reload) [ $# -eq 2 ] || die "$usage"; cmd_reload "$2" ;;
  kill-backend) [ $# -eq 3 ] || die "$usage"; cmd_kill_backend "$2" "$3" ;;
  start-backend) [ $# -eq 3 ] || die "$usage"; cmd_start_backend "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "$usage"; cmd_stop "$2" ;;
  *) die "$usage" ;;
esac
