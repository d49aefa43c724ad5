#!/usr/bin/env bash
# Try Sluice with one command.
#
#   scripts/quickstart.sh [--upstream URL] [--port N] [--demo] [-- MORE_SLUICE_FLAGS...]
#
# 1. Builds proxy-cli/target/sluice.jar when it is missing or older than the sources.
# 2. Upstream: --upstream, else $SLUICE_UPSTREAM, else $DATABASE_URL. With none of them it starts
#    a throwaway PostgreSQL (scripts/local-postgres.sh) in ${SLUICE_QUICKSTART_DIR:-.sluice/quickstart}
#    and stops it again on exit.
# 3. Runs Sluice on 127.0.0.1:6432, or on a free port when 6432 is taken (--port or $SLUICE_PORT
#    choose one; --demo always takes a free one), prints the psql command that connects through
#    it, and stays in the foreground until Ctrl-C, which stops everything.
#
# --demo instead loads pgbench's tables through Sluice (pgbench -i -s 1; this replaces any
# pgbench_* tables in the upstream database), warms Sluice up for 3 s, then runs pgbench select-only
# (8 clients, 2 threads, 5 s) directly against PostgreSQL and through Sluice, once over kept
# connections and once with a new connection per transaction (-C), prints the TPS and ratios, stops
# everything and exits non-zero if a pgbench failed or reported failed transactions.
#
# Clients log in to Sluice with the user and password of the upstream URL.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly JAR=$ROOT/proxy-cli/target/sluice.jar
readonly PREFERRED_PORT=6432
readonly READY_TIMEOUT_SECONDS=30
readonly PGBENCH_TIMEOUT_SECONDS=120
# Two workloads: select-only over kept connections, and a new connection per transaction (what
# serverless clients do, and what a pooler is for).
readonly BENCH_ARGS=(-n -c 8 -j 2 -T 5 -S -M simple)
readonly CONNECT_ARGS=(-n -C -c 8 -j 2 -T 5 -S -M simple)
# An unmeasured run through Sluice first, so the measured one is not its JIT warming up.
readonly WARMUP_ARGS=(-n -c 8 -j 2 -T 3 -S -M simple)

# shellcheck source=scripts/lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"
# shellcheck source=scripts/lib/upstream-url.sh
source "$ROOT/scripts/lib/upstream-url.sh"
# shellcheck source=scripts/lib/build.sh
source "$ROOT/scripts/lib/build.sh"

upstream=""
port=${SLUICE_PORT:-}
demo=false
sluice_flags=()
state_dir=${SLUICE_QUICKSTART_DIR:-$ROOT/.sluice/quickstart}
local_pg=false
pg_bin=""
sluice_pid=""

# Parts of the upstream URL, filled by parse_upstream.
url_userinfo=""
url_user=""
url_password=""
url_host=""
url_port=""
url_db_raw=""
url_db=""
url_sslmode=""

say() {
  echo "quickstart: $*" >&2
}

die() {
  say "$*"
  exit 1
}

usage() {
  sed -n '2,20s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

parse_args() {
  while (($# > 0)); do
    case $1 in
      --upstream) [[ $# -ge 2 ]] || die "--upstream needs a URL"; upstream=$2; shift 2 ;;
      --upstream=*) upstream=${1#*=}; shift ;;
      --port) [[ $# -ge 2 ]] || die "--port needs a number"; port=$2; shift 2 ;;
      --port=*) port=${1#*=}; shift ;;
      --demo) demo=true; shift ;;
      -h | --help) usage ;;
      --) shift; sluice_flags=("$@"); break ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
  done
  if [[ -n $port && ! $port =~ ^[0-9]+$ ]]; then
    die "--port must be a number, got '$port'"
  fi
}

env_value() {
  sed -n "s/^$1=//p" "$state_dir/env"
}

choose_upstream() {
  upstream=${upstream:-${SLUICE_UPSTREAM:-${DATABASE_URL:-}}}
  if [[ -n $upstream ]]; then
    return
  fi
  say "no --upstream, SLUICE_UPSTREAM or DATABASE_URL: starting a throwaway PostgreSQL in $state_dir"
  local_pg=true
  "$ROOT/scripts/local-postgres.sh" start "$state_dir" >/dev/null
  upstream=$(env_value SLUICE_UPSTREAM)
  pg_bin=$(env_value PG_BIN)
}

parse_upstream() {
  parse_upstream_url "$upstream" || die "the upstream must be a postgres:// URL with one host"
}

# The demo prints no address to connect to, so it takes a free port and leaves 6432 alone: it may
# run unattended next to a real PgBouncer or Sluice there.
choose_port() {
  if [[ -n $port ]]; then
    ! port_in_use "$port" || die "port $port is already in use"
    return
  fi
  if ! $demo && ! port_in_use "$PREFERRED_PORT"; then
    port=$PREFERRED_PORT
    return
  fi
  port=$(pick_free_port) || die "found no free port"
  $demo || say "port $PREFERRED_PORT is taken; using $port"
}

# A PostgreSQL client program: from the local server's bin directory when we started one.
pg_tool() {
  if [[ -n $pg_bin && -x $pg_bin/$1 ]]; then
    echo "$pg_bin/$1"
    return
  fi
  command -v "$1" || die "$1 is needed (Debian: apt-get install postgresql-client)"
}

client_url() {
  local userinfo=${url_userinfo:+$url_userinfo@}
  echo "postgres://${userinfo}127.0.0.1:$port/$url_db_raw"
}

start_sluice() {
  command -v java >/dev/null || die "java (17 or newer) is needed"
  # Someone is reading these logs: text lines, even in a container where the default is JSON.
  local command=(env "SLUICE_LOG_FORMAT=${SLUICE_LOG_FORMAT:-text}"
    java -jar "$JAR" run --listen "127.0.0.1:$port" --upstream "$upstream" "${sluice_flags[@]}")
  if $demo; then
    mkdir -p "$state_dir"
    say "starting Sluice on 127.0.0.1:$port (log: $state_dir/sluice.log)"
    "${command[@]}" >"$state_dir/sluice.log" 2>&1 &
  else
    "${command[@]}" &
  fi
  sluice_pid=$!
}

wait_until_ready() {
  local pg_isready attempts=$((READY_TIMEOUT_SECONDS * 5))
  pg_isready=$(pg_tool pg_isready)
  for ((i = 0; i < attempts; i++)); do
    if ! kill -0 "$sluice_pid" 2>/dev/null; then
      show_sluice_log
      die "Sluice exited before it accepted connections"
    fi
    if "$pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; then
      return
    fi
    sleep 0.2
  done
  show_sluice_log
  die "Sluice did not accept connections on 127.0.0.1:$port within ${READY_TIMEOUT_SECONDS}s"
}

show_sluice_log() {
  if $demo && [[ -f $state_dir/sluice.log ]]; then
    say "last lines of $state_dir/sluice.log:"
    tail -n 40 "$state_dir/sluice.log" >&2
  fi
}

stop_sluice() {
  [[ -n $sluice_pid ]] || return 0
  if kill -0 "$sluice_pid" 2>/dev/null; then
    kill -TERM "$sluice_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$sluice_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$sluice_pid" 2>/dev/null || true
  fi
  wait "$sluice_pid" 2>/dev/null || true
  sluice_pid=""
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_sluice
  if $local_pg; then
    "$ROOT/scripts/local-postgres.sh" stop "$state_dir" || true
  fi
  exit "$status"
}

# Runs pgbench against HOST PORT with the upstream's credentials; output in the state directory.
run_pgbench() {
  local name=$1 host=$2 bench_port=$3 out=$state_dir/pgbench-$1.log pgbench
  shift 3
  local environment=("PGPASSWORD=$url_password")
  if [[ $host != 127.0.0.1 && -n $url_sslmode ]]; then
    environment+=("PGSSLMODE=$url_sslmode")
  fi
  pgbench=$(pg_tool pgbench)
  say "pgbench $* ($name)"
  if ! env "${environment[@]}" timeout "$PGBENCH_TIMEOUT_SECONDS" "$pgbench" \
    -h "$host" -p "$bench_port" -U "$url_user" "$@" "$url_db" >"$out" 2>&1; then
    tail -n 20 "$out" >&2
    say "pgbench ($name) failed; full output in $out"
    return 1
  fi
  local failed
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
  if [[ ${failed:-0} -ne 0 ]]; then
    say "pgbench ($name) reported $failed failed transactions; see $out"
    return 1
  fi
}

# The TPS line of a pgbench run; PostgreSQL 14+ prints one, older versions two.
tps_of() {
  awk '/^tps = / { tps = $3; if (/without initial connection|excluding connections/) { print tps; found = 1; exit } }
       END { if (!found && tps != "") print tps }' "$state_dir/pgbench-$1.log"
}

one_decimal() {
  if [[ -n $1 ]]; then
    awk -v n="$1" 'BEGIN { printf "%.1f", n }'
  else
    echo "n/a"
  fi
}

demo() {
  local ok=true direct through
  rm -f "$state_dir"/pgbench-*.log
  run_pgbench init 127.0.0.1 "$port" -i -s 1 -q || ok=false
  if $ok; then
    run_pgbench warm-up 127.0.0.1 "$port" "${WARMUP_ARGS[@]}" || ok=false
    run_pgbench direct "$url_host" "$url_port" "${BENCH_ARGS[@]}" || ok=false
    run_pgbench sluice 127.0.0.1 "$port" "${BENCH_ARGS[@]}" || ok=false
    run_pgbench direct-connect "$url_host" "$url_port" "${CONNECT_ARGS[@]}" || ok=false
    run_pgbench sluice-connect 127.0.0.1 "$port" "${CONNECT_ARGS[@]}" || ok=false
  fi
  echo
  echo "pgbench -c 8 -j 2 -T 5 -S (select-only), scale 1"
  printf '%-34s %12s %12s %7s\n' "" "direct TPS" "Sluice TPS" "ratio"
  demo_row "kept connections" direct sluice
  demo_row "a new connection per transaction" direct-connect sluice-connect
  $ok
}

demo_row() {
  local direct through ratio=n/a
  direct=$(tps_of "$2" 2>/dev/null || true)
  through=$(tps_of "$3" 2>/dev/null || true)
  if [[ -n $direct && -n $through ]]; then
    ratio=$(awk -v s="$through" -v d="$direct" 'BEGIN { printf "%.2f", (d > 0 ? s / d : 0) }')
  fi
  printf '%-34s %12s %12s %7s\n' "$1" "$(one_decimal "$direct")" "$(one_decimal "$through")" "$ratio"
}

main() {
  parse_args "$@"
  build_if_needed
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  choose_upstream
  parse_upstream
  choose_port
  start_sluice
  wait_until_ready
  if $demo; then
    demo
    return
  fi
  local stops="Sluice"
  if $local_pg; then
    stops="Sluice and the throwaway PostgreSQL"
  fi
  cat <<EOF

Sluice is listening on 127.0.0.1:$port and forwards to $url_host:$url_port/$url_db.
Connect through it with:

  psql "$(client_url)"

Press Ctrl-C to stop $stops.
EOF
  local status=0
  wait "$sluice_pid" || status=$?
  sluice_pid=""
  return "$status"
}

main "$@"
