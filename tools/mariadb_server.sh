#!/usr/bin/env bash
# Starts and stops a throwaway MariaDB server for respool's tests, examples and CI.
#
#   tools/mariadb_server.sh start DIR   data directory in DIR/data, socket in DIR, listening on 127.0.0.1 on a free
#                                       port; creates user respool/respool (all rights on respool_test*) and database
#                                       respool_test; writes the URL to DIR/url and prints it.
#   tools/mariadb_server.sh stop DIR    shuts that server down and removes DIR.
#
# Works as root (mariadbd runs with --user=root) and as an ordinary user, with no prior state. Needs Debian's
# mariadb-server (mariadbd, mariadb-install-db, mariadb-admin, mariadb).
set -euo pipefail

readonly MARKER=.respool-mariadb-server
readonly START_WAIT_SECONDS=60
readonly STOP_WAIT_SECONDS=60

die() { echo "mariadb_server.sh: $*" >&2; exit 1; }

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/local_server.sh" # find_tool, port_in_use, pick_port

server_pid() { # the pid of DIR's server, if it runs
  local dir=$1 pid
  [ -f "$dir/mysqld.pid" ] || return 1
  pid=$(cat "$dir/mysqld.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

stop_server() {
  local dir=$1 pid i
  pid=$(server_pid "$dir") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((STOP_WAIT_SECONDS * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "mariadb_server.sh: server $pid did not stop in ${STOP_WAIT_SECONDS}s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_start() {
  local dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -e "$dir/$MARKER" ]; then # a server left by an earlier run: replace it
    stop_server "$dir"
    rm -rf "$dir/data" "$dir/url"
  elif [ -n "$(ls -A "$dir")" ]; then
    die "$dir exists, is not empty and was not made by this script"
  fi
  touch "$dir/$MARKER"

  local mariadbd install_db admin client run_as
  mariadbd=$(find_tool mariadbd mysqld) || die "mariadbd not found (apt-get install mariadb-server)"
  install_db=$(find_tool mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
  admin=$(find_tool mariadb-admin mysqladmin) || die "mariadb-admin not found"
  client=$(find_tool mariadb mysql) || die "the mariadb client not found"
  run_as=$(id -un)

  # A temporary directory of its own: servers bootstrapped at the same moment (parallel test fixtures) must not
  # share temporary table files.
  mkdir -p "$dir/tmp"
  export TMPDIR="$dir/tmp"
  "$install_db" --no-defaults --datadir="$dir/data" --user="$run_as" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }

  local port attempt ready i pid
  for attempt in 1 2 3 4 5; do
    port=$(pick_port)
    rm -f "$dir/mysqld.pid" "$dir/error.log"
    # setsid: the server outlives this script and the test process group that ran it.
    setsid "$mariadbd" --no-defaults --user="$run_as" --datadir="$dir/data" --socket="$dir/mysqld.sock" \
      --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" --port="$port" --bind-address=127.0.0.1 \
      --tmpdir="$dir/tmp" \
      --skip-name-resolve --max-connections=1000 --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
      --innodb-doublewrite=0 --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
      </dev/null >/dev/null 2>&1 &
    pid=$!
    ready=0
    for i in $(seq 1 $((START_WAIT_SECONDS * 10))); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if "$admin" --no-defaults --socket="$dir/mysqld.sock" -uroot --connect-timeout=1 ping >/dev/null 2>&1; then
        ready=1
        break
      fi
      sleep 0.1
    done
    if [ "$ready" = 1 ]; then break; fi
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      cat "$dir/error.log" >&2 || true
      die "mariadbd did not become ready within ${START_WAIT_SECONDS}s"
    fi
    if grep -qi "address already in use\|Do you already have another" "$dir/error.log" 2>/dev/null; then
      continue # someone took the port between the check and the bind: try another
    fi
    cat "$dir/error.log" >&2 || true
    die "mariadbd exited during start"
  done
  [ "$ready" = 1 ] || die "mariadbd could not bind a free port"

  "$client" --no-defaults --socket="$dir/mysqld.sock" -uroot <<'SQL' || die "creating the respool user failed"
DELETE FROM mysql.global_priv WHERE User = '';
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS respool_test;
CREATE USER IF NOT EXISTS 'respool'@'%' IDENTIFIED BY 'respool';
CREATE USER IF NOT EXISTS 'respool'@'localhost' IDENTIFIED BY 'respool';
GRANT ALL PRIVILEGES ON `respool\_test%`.* TO 'respool'@'%';
GRANT ALL PRIVILEGES ON `respool\_test%`.* TO 'respool'@'localhost';
SQL
  echo "mariadb://respool:respool@127.0.0.1:$port/respool_test" >"$dir/url"
  cat "$dir/url"
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  [ -e "$dir/$MARKER" ] || die "$dir was not made by this script; not removing it"
  stop_server "$dir"
  rm -rf "$dir"
}

[ $# -eq 2 ] || die "usage: $0 start|stop DIR"
case $1 in
  start) cmd_start "$2" ;;
  stop) cmd_stop "$2" ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
