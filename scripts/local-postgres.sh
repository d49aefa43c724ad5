#!/usr/bin/env bash
# A throwaway local PostgreSQL to try Sluice against and to benchmark with.
#
#   scripts/local-postgres.sh start DIR [PORT]   create (first time) and start; prints PG* lines
#   scripts/local-postgres.sh stop DIR           stop it; does nothing if it is not running
#   scripts/local-postgres.sh env DIR            print the settings that start wrote to DIR/env
#   scripts/local-postgres.sh destroy DIR        stop it and delete its files
#
# The server listens on 127.0.0.1 only, on PORT or a free port, and asks TCP clients for
# SCRAM-SHA-256. Roles: postgres / postgres-secret-pw (superuser) and sluice_app / app-secret-pw,
# which owns database sluice_test. It is tuned for speed, not safety (fsync=off): throwaway only.
#
# PostgreSQL refuses to run as root; as root this script runs it as the postgres OS user. If that
# user cannot reach DIR (say, under /root), the cluster lives in /tmp/sluice-pg-XXXXXX instead and
# DIR/cluster links to it.
#
# SLUICE_PG_BIN names the PostgreSQL bin directory; otherwise pg_ctl on PATH, then the newest
# /usr/lib/postgresql/*/bin.
set -euo pipefail

readonly APP_USER=sluice_app
readonly APP_PASSWORD=app-secret-pw
readonly APP_DATABASE=sluice_test
readonly SUPER_USER=postgres
readonly SUPER_PASSWORD=postgres-secret-pw
readonly OS_USER=postgres
readonly START_ATTEMPTS=3

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/ports.sh"

die() {
  echo "local-postgres: $*" >&2
  exit 1
}

note() {
  echo "local-postgres: $*" >&2
}

usage() {
  sed -n '2,19s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

is_root() {
  [[ $(id -u) -eq 0 ]]
}

# Runs a command as the postgres OS user when we are root, else as ourselves.
as_pg() {
  if is_root; then
    runuser -u "$OS_USER" -- "$@"
  else
    "$@"
  fi
}

find_bin_dir() {
  if [[ -n ${SLUICE_PG_BIN:-} ]]; then
    [[ -x $SLUICE_PG_BIN/pg_ctl ]] || die "SLUICE_PG_BIN=$SLUICE_PG_BIN has no pg_ctl"
    echo "$SLUICE_PG_BIN"
    return
  fi
  local pg_ctl dir
  if pg_ctl=$(command -v pg_ctl); then
    # Follow symlinks to the version directory, where initdb and postgres live too.
    dir=$(dirname "$(readlink -f "$pg_ctl")")
    if [[ -x $dir/initdb ]]; then
      echo "$dir"
      return
    fi
  fi
  dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [[ -x $dir/pg_ctl ]]; then
    echo "$dir"
    return
  fi
  die "no PostgreSQL server programs: install them (Debian: apt-get install postgresql) or set SLUICE_PG_BIN"
}

free_port() {
  pick_free_port || die "found no free port"
}

absolute() {
  mkdir -p "$1"
  (cd "$1" && pwd)
}

# The directory holding data/, socket/ and the log: DIR/cluster, or where that symlink points.
cluster_dir() {
  readlink -f "$1/cluster"
}

make_cluster_dir() {
  local dir=$1 cluster=$1/cluster
  if [[ -e $cluster ]]; then
    cluster_dir "$dir"
    return
  fi
  mkdir -m 0755 "$cluster"
  if is_root; then
    chown "$OS_USER:" "$cluster"
    if ! runuser -u "$OS_USER" -- test -w "$cluster"; then
      rmdir "$cluster"
      local tmp
      tmp=$(mktemp -d /tmp/sluice-pg-XXXXXX)
      chmod 0755 "$tmp"
      chown "$OS_USER:" "$tmp"
      ln -s "$tmp" "$cluster"
      note "$OS_USER cannot reach $dir; keeping the cluster in $tmp"
    fi
  fi
  cluster_dir "$dir"
}

init_cluster() {
  local bin=$1 cluster=$2 pwfile
  note "initdb in $cluster/data"
  as_pg mkdir -p -m 0755 "$cluster/socket"
  pwfile=$(as_pg mktemp "$cluster/pwfile.XXXXXX")
  echo "$SUPER_PASSWORD" | as_pg tee "$pwfile" >/dev/null
  if ! as_pg env LC_ALL=C "$bin/initdb" --pgdata="$cluster/data" --username="$SUPER_USER" \
    --pwfile="$pwfile" --encoding=UTF8 --locale=C --auth-local=trust \
    --auth-host=scram-sha-256 --no-sync >"$cluster/initdb.out" 2>&1; then
    as_pg rm -f "$pwfile"
    cat "$cluster/initdb.out" >&2
    die "initdb failed"
  fi
  as_pg rm -f "$pwfile"
  as_pg tee -a "$cluster/data/postgresql.conf" >/dev/null <<EOF

# Added by scripts/local-postgres.sh: a fast, disposable server reachable only locally.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$cluster/socket'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
password_encryption = 'scram-sha-256'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d/%a '
EOF
  as_pg tee "$cluster/data/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/local-postgres.sh.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
EOF
}

# Starts the server; with no port given, retries on a new free port if the chosen one was taken.
start_server() {
  local bin=$1 cluster=$2 wanted=$3 port attempt
  for attempt in $(seq 1 "$START_ATTEMPTS"); do
    port=${wanted:-$(free_port)}
    if [[ -n $wanted ]] && port_in_use "$port"; then
      die "port $port is already in use"
    fi
    if as_pg env LC_ALL=C "$bin/pg_ctl" --pgdata="$cluster/data" --log="$cluster/data/postgresql.log" \
      --wait --timeout=60 -o "-p $port" start >/dev/null; then
      echo "$port"
      return
    fi
    if [[ -n $wanted ]] || ! tail -n 20 "$cluster/data/postgresql.log" | grep -q 'could not bind'; then
      break
    fi
    note "port $port was taken meanwhile (attempt $attempt); trying another"
  done
  tail -n 40 "$cluster/data/postgresql.log" >&2 || true
  die "pg_ctl start failed; the log is $cluster/data/postgresql.log"
}

create_roles() {
  local bin=$1 cluster=$2 port=$3
  # Local socket, trust: the superuser needs no password here. Every step is idempotent.
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$cluster/socket" -p "$port" -U "$SUPER_USER" -d postgres <<EOF
SET password_encryption = 'scram-sha-256';
SELECT 'CREATE ROLE $APP_USER LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_USER') \gexec
ALTER ROLE $APP_USER LOGIN PASSWORD '$APP_PASSWORD';
SELECT 'CREATE DATABASE $APP_DATABASE OWNER $APP_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$APP_DATABASE') \gexec
EOF
}

running_port() {
  local cluster=$1
  # postmaster.pid line 4 is the port; the file exists only while the server runs.
  as_pg test -f "$cluster/data/postmaster.pid" && as_pg sed -n 4p "$cluster/data/postmaster.pid"
}

write_env() {
  local dir=$1 bin=$2 cluster=$3 port=$4
  cat >"$dir/env" <<EOF
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=$APP_USER
PGPASSWORD=$APP_PASSWORD
PGDATABASE=$APP_DATABASE
PG_BIN=$bin
PGDATA=$cluster/data
SLUICE_UPSTREAM=postgres://$APP_USER:$APP_PASSWORD@127.0.0.1:$port/$APP_DATABASE
EOF
}

cmd_start() {
  local dir bin cluster port
  dir=$(absolute "$1")
  bin=$(find_bin_dir)
  cluster=$(make_cluster_dir "$dir")
  if port=$(running_port "$cluster"); then
    [[ -z ${2:-} || $2 == "$port" ]] || die "already running on port $port, not $2"
    note "already running on port $port"
  else
    if [[ -n ${2:-} ]] && port_in_use "$2"; then
      die "port $2 is already in use"
    fi
    if [[ ! -f $cluster/data/PG_VERSION ]]; then
      init_cluster "$bin" "$cluster"
    fi
    port=$(start_server "$bin" "$cluster" "${2:-}")
    note "started on 127.0.0.1:$port (log: $cluster/data/postgresql.log)"
  fi
  create_roles "$bin" "$cluster" "$port"
  write_env "$dir" "$bin" "$cluster" "$port"
  cat "$dir/env"
}

cmd_stop() {
  local dir=$1 cluster bin
  if [[ ! -e $dir/cluster ]]; then
    note "nothing in $dir"
    return
  fi
  cluster=$(cluster_dir "$dir")
  if ! running_port "$cluster" >/dev/null; then
    note "not running"
    return
  fi
  bin=$(find_bin_dir)
  if ! as_pg "$bin/pg_ctl" --pgdata="$cluster/data" --mode=fast --wait --timeout=60 stop >/dev/null; then
    note "fast shutdown did not finish; shutting down immediately"
    as_pg "$bin/pg_ctl" --pgdata="$cluster/data" --mode=immediate --wait stop >/dev/null
  fi
  note "stopped"
}

cmd_env() {
  [[ -f $1/env ]] || die "$1/env does not exist: run '$0 start $1' first"
  cat "$1/env"
}

cmd_destroy() {
  local dir=$1 cluster
  cmd_stop "$dir"
  [[ -e $dir/cluster ]] || return 0
  cluster=$(cluster_dir "$dir")
  rm -rf -- "$cluster"
  rm -f -- "$dir/cluster" "$dir/env"
  note "deleted $cluster"
}

main() {
  [[ $# -ge 2 ]] || usage
  local command=$1 dir=$2
  case $command in
    start)
      [[ $# -le 3 ]] || usage
      if [[ -n ${3:-} && ! $3 =~ ^[0-9]+$ ]]; then
        die "PORT must be a number, got '$3'"
      fi
      cmd_start "$dir" "${3:-}"
      ;;
    stop) cmd_stop "$dir" ;;
    env) cmd_env "$dir" ;;
    destroy) cmd_destroy "$dir" ;;
    *) usage ;;
  esac
}

main "$@"
