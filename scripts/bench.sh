#!/usr/bin/env bash
# Benchmark Sluice against direct PostgreSQL and PgBouncer, all measured in the same run.
#
#   scripts/bench.sh [--duration S] [--clients N] [--jobs N] [--rounds R] [--scale S]
#                    [--pool-size N] [--warmup S] [--upstream URL] [--baseline-jar PATH]
#                    [--remote-latency DURATION] [--workload LIST] [--quick] [--keep-logs]
#                    [-- MORE_SLUICE_FLAGS...]
#
# Starts a throwaway PostgreSQL (scripts/local-postgres.sh), or uses --upstream (its pgbench_*
# tables and its table bench_cache are replaced), loads it once with pgbench -i -s SCALE (default
# 10), then starts Sluice (transaction mode) and PgBouncer (pool_mode=transaction, SCRAM), both
# with --pool-size backends (default 20), on free ports. PgBouncer is installed with apt-get when
# missing.
#
# Workloads, each pgbench -c CLIENTS (32) -j JOBS (2) -T DURATION (10 s):
#   select-simple    -S -M simple        built-in select-only
#   select-extended  -S -M extended      the same over the extended protocol
#   select-prepared  -S -M prepared      named prepared statements (PgBouncer before 1.21 cannot
#                                        pool them in transaction mode: shown as n/a there)
#   tpcb-simple      -M simple           built-in TPC-B (sort of)
#   connect-select   -C -S -M simple     a new connection per transaction (serverless clients)
#   cache-extended   -f cache -M extended  the result cache's workload, see below
#   cache-simple     -f cache -M simple    the same over the simple protocol (not by default)
# pgbench opens connections one at a time per thread, so connect-select's TPS is about
# JOBS / (login + query time): it measures login latency, SCRAM included.
# --workload LIST runs only the workloads named, comma-separated, in the order above; 'cache'
# stands for both cache workloads, 'default' for the default set (all but cache-simple).
# First every workload runs once, unmeasured, for --warmup seconds (5; 0 skips it) against each
# target, so Sluice's JIT, the pools and the caches are warm. Then each workload runs ROUNDS
# times (3) against its targets, interleaved, the order of targets rotating each round; the
# tables show medians. --quick is --duration 3 --rounds 1 --warmup 2, for smoke tests.
# The machine is shared and noisy: read ratios, not absolute TPS.
#
# The cache workloads measure result caches: every transaction is one SELECT of a row of
# bench_cache (100 rows of about 100 bytes, created at setup) by a key drawn from 1..100, so after
# the first hundred every result is one a cache already holds. Their targets are not PgBouncer
# but direct PostgreSQL, Pgpool-II with its in-memory query cache (memory_cache_enabled,
# memqcache_method shmem, connection_cache on, num_init_children CLIENTS + 4, SCRAM from a
# pool_passwd; installed with apt-get, package pgpool2, when missing) and two Sluices of their
# own, started like sluice but one with --cache on (sluice-cache) and one with --cache off
# (sluice-nocache), so that both have the same history (the sluice target serves the other
# workloads, with --cache off: they compare pooling with PgBouncer's, which caches nothing). The report has their own tables, the ratios
# sluice-cache/direct, /sluice-nocache and /pgpool, both caches' hit counts (Sluice's GET /cache
# on its admin port, Pgpool-II's SHOW POOL_CACHE), and a PASS or MISS line for each of the result
# cache's targets: locally, sluice-cache at least Pgpool-II's TPS and at least 1.2x direct; with
# --remote-latency (the target is for 5ms), at least 10x direct. A MISS is reported, not an
# error.
#
# Proxy CPU per transaction: just before and just after each run against a proxy, bench.sh reads
# the CPU time of the proxy's processes, utime + stime (and cutime + cstime, their exited
# children's) from /proc/PID/stat of the proxy and its descendants: all of a process's threads,
# so for Sluice the JVM's, JIT compilation and GC included; for Pgpool-II its parent and every
# child. Clock ticks (getconf CLK_TCK, usually 100 a second: 10 ms each). The difference divided
# by the transactions pgbench processed ('number of transactions actually processed') is the
# run's CPU/txn in microseconds; it includes the run's logins and disconnects. Direct PostgreSQL
# has no proxy: n/a. The table shows the median CPU/txn of each proxy and their ratio
# sluice/pgbouncer (lower is cheaper). PgBouncer uses one thread, Sluice one event loop per CPU,
# Pgpool-II one process per client; all share the CPUs with pgbench and PostgreSQL, so CPU/txn
# also depends on the load, like TPS.
#
# --baseline-jar PATH also measures a second Sluice build (say, the jar of the commit before a
# change) as a fourth target, baseline: started like sluice (transaction mode, --pool-size,
# MORE_SLUICE_FLAGS, JAVA_OPTS; not --cache) on a port of its own, warmed up and run in every
# round of the workloads other than the cache ones with the other three, the order of all four
# rotating, its TPS and CPU/txn measured like sluice's. The report then has a TPS table and a
# CPU/txn table, with baseline/pgbouncer next to sluice/pgbouncer, and sluice/baseline (below 1:
# sluice is cheaper than the baseline). PgBouncer's own CPU/txn differs between runs by more than
# most changes to Sluice do, so compare two builds within one run, not across runs.
#
# --remote-latency DURATION (say 5ms) places the database far away: after loading the tables,
# bench.sh starts 'sluice relay --latency DURATION' in front of PostgreSQL, and every target
# (direct, PgBouncer, Pgpool-II, the Sluices) reaches PostgreSQL through it, so each round trip
# to the database costs twice DURATION more. The relay is a JVM of its own on the same CPUs; all
# targets pay for it alike. An upstream with sslmode=verify-full cannot be relayed (the relay is
# 127.0.0.1, not the certificate's name).
#
# Exits non-zero when a pgbench run failed, hung or reported failed transactions, or when a proxy
# died; the logs are then kept and their directory printed (--keep-logs: always). MORE_SLUICE_FLAGS
# go to every 'sluice run' (not --pool-mode or --pool-size, which bench.sh sets, nor --cache with
# a cache workload); JAVA_OPTS passes options to Sluice's JVMs. The cache workloads need a
# sluice.jar with the --cache flag: without it bench.sh stops before it starts anything.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly JAR=$ROOT/proxy-cli/target/sluice.jar
readonly LOCAL_PG=$ROOT/scripts/local-postgres.sh
readonly READY_TIMEOUT_SECONDS=30
# A pgbench that runs this much past its -T is hung, not slow.
readonly HANG_GRACE_SECONDS=60
# The targets of the workloads other than the cache ones; baseline joins them with --baseline-jar.
TARGETS=(direct pgbouncer sluice)
# The targets of the cache workloads: cache and nocache are Sluices of their own, with --cache on
# and off.
readonly CACHE_TARGETS=(direct pgpool nocache cache)
readonly ALL_WORKLOADS=(select-simple select-extended select-prepared tpcb-simple connect-select
  cache-extended cache-simple)
readonly DEFAULT_WORKLOADS=(select-simple select-extended select-prepared tpcb-simple connect-select
  cache-extended)
# The cache workloads' table: this many rows, keys 1..CACHE_ROWS.
readonly CACHE_ROWS=100
# The result cache's targets (the issue's): locally sluice-cache's TPS at least Pgpool-II's and
# at least 1.2x direct; with the database 5 ms away, at least 10x direct.
readonly TARGET_VS_PGPOOL=1.0
readonly TARGET_VS_DIRECT_LOCAL=1.2
readonly TARGET_VS_DIRECT_REMOTE=10
CLOCK_TICKS_PER_SECOND=$(getconf CLK_TCK 2>/dev/null || echo 100)
readonly CLOCK_TICKS_PER_SECOND

# shellcheck source=scripts/lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"
# shellcheck source=scripts/lib/upstream-url.sh
source "$ROOT/scripts/lib/upstream-url.sh"
# shellcheck source=scripts/lib/build.sh
source "$ROOT/scripts/lib/build.sh"

duration=10
warmup=5
keep_logs=false
clients=32
jobs=2
rounds=3
scale=10
pool_size=20
upstream=""
baseline_jar=""   # --baseline-jar: a second Sluice build, measured as the target baseline
remote_latency="" # --remote-latency: each way through a fault relay in front of PostgreSQL
relay_pid=""
sluice_flags=()
WORKLOADS=()      # --workload: the workloads to run, in ALL_WORKLOADS order

work=""           # temporary directory for everything this run creates
logs=""           # $work/logs: kept when something failed
local_pg_dir=""   # set when we started the throwaway PostgreSQL
policy_rc_d=""    # set when we created /usr/sbin/policy-rc.d for the PgBouncer install
sluice_pid=""
pgbouncer_pid=""
baseline_pid=""
nocache_pid=""
cache_pid=""
pgpool_pid=""
sluice_port=""
pgbouncer_port=""
baseline_port=""
nocache_port=""
cache_port=""
pgpool_port=""
pgpool_bin=""     # the pgpool program, from dpkg -L pgpool2
pg_bin=""
failed=false      # something went wrong: exit non-zero and keep the logs
declare -A dead=()  # the proxies that died, by target name
declare -A admin_port=()  # each Sluice's admin HTTP port, by target name, when bench.sh chose it
load_at_start=""

# Parts of the upstream URL, filled by parse_upstream_url.
url_userinfo=""
url_user=""
url_password=""
url_host=""
url_port=""
url_db_raw=""
url_db=""
url_sslmode=""

say() {
  echo "bench: $*"
}

warn() {
  echo "bench: $*" >&2
}

die() {
  warn "$*"
  exit 1
}

usage() {
  # The header comment: from line 2 to the first line that is not a comment.
  sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

need_number() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive whole number, got '$2'"
}

parse_args() {
  while (($# > 0)); do
    case $1 in
      --duration | --clients | --jobs | --rounds | --scale | --pool-size | --warmup | --upstream | \
        --baseline-jar | --remote-latency | --workload)
        [[ $# -ge 2 ]] || die "$1 needs a value"
        set_option "$1" "$2"
        shift 2
        ;;
      --duration=* | --clients=* | --jobs=* | --rounds=* | --scale=* | --pool-size=* | --warmup=* | \
        --upstream=* | --baseline-jar=* | --remote-latency=* | --workload=*)
        set_option "${1%%=*}" "${1#*=}"
        shift
        ;;
      --quick) duration=3; rounds=1; warmup=2; shift ;;
      --keep-logs) keep_logs=true; shift ;;
      -h | --help) usage ;;
      --) shift; sluice_flags=("$@"); break ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
  done
}

set_option() {
  case $1 in
    --duration) need_number "$1" "$2"; duration=$2 ;;
    --clients) need_number "$1" "$2"; clients=$2 ;;
    --jobs) need_number "$1" "$2"; jobs=$2 ;;
    --rounds) need_number "$1" "$2"; rounds=$2 ;;
    --scale) need_number "$1" "$2"; scale=$2 ;;
    --pool-size) need_number "$1" "$2"; pool_size=$2 ;;
    --warmup)
      [[ $2 =~ ^[0-9]+$ ]] || die "--warmup must be a whole number of seconds, got '$2'"
      warmup=$2
      ;;
    --upstream) upstream=$2 ;;
    --remote-latency)
      [[ $2 =~ ^[0-9]+(ms|s)$ ]] || die "--remote-latency must be a duration such as 5ms, got '$2'"
      remote_latency=$2
      ;;
    --baseline-jar)
      [[ -f $2 && -r $2 ]] || die "--baseline-jar must name a readable jar file, got '$2'"
      baseline_jar=$2
      ;;
    --workload) choose_workloads "$2" ;;
  esac
}

# Sets WORKLOADS from a comma-separated LIST of workload names, 'cache' and 'default'; they run
# in ALL_WORKLOADS order whatever the order of the list.
choose_workloads() {
  local list=$1 name workload chosen=()
  local -A wanted=()
  [[ -n $list ]] || die "--workload needs at least one workload"
  IFS=, read -ra chosen <<<"$list"
  for name in "${chosen[@]}"; do
    case $name in
      default) for workload in "${DEFAULT_WORKLOADS[@]}"; do wanted[$workload]=1; done ;;
      cache) wanted[cache-extended]=1; wanted[cache-simple]=1 ;;
      *)
        is_workload "$name" ||
          die "--workload: unknown workload '$name'; choose from ${ALL_WORKLOADS[*]}, cache, default"
        wanted[$name]=1
        ;;
    esac
  done
  WORKLOADS=()
  for workload in "${ALL_WORKLOADS[@]}"; do
    [[ -z ${wanted[$workload]:-} ]] || WORKLOADS+=("$workload")
  done
}

is_workload() {
  local workload
  for workload in "${ALL_WORKLOADS[@]}"; do
    [[ $workload != "$1" ]] || return 0
  done
  return 1
}

is_cache_workload() {
  [[ $1 == cache-* ]]
}

# have_workloads cache: whether a cache workload was chosen; have_workloads other: whether a
# workload other than those was.
have_workloads() {
  local workload
  for workload in "${WORKLOADS[@]}"; do
    if is_cache_workload "$workload"; then
      [[ $1 != cache ]] || return 0
    else
      [[ $1 != other ]] || return 0
    fi
  done
  return 1
}

# The targets WORKLOAD runs against, one a line, in the order of the tables.
targets_of() {
  if is_cache_workload "$1"; then
    printf '%s\n' "${CACHE_TARGETS[@]}"
  else
    printf '%s\n' "${TARGETS[@]}"
  fi
}

# The targets of all chosen workloads: every proxy started, and direct.
all_targets() {
  local workload
  for workload in "${WORKLOADS[@]}"; do
    targets_of "$workload"
  done | awk '!seen[$0]++'
}

is_root() {
  [[ $(id -u) -eq 0 ]]
}

# Debian starts a package's service on install; PgBouncer's would take 6432, Pgpool-II's 5433.
# policy-rc.d is Debian's switch that tells maintainer scripts not to start services, so we
# provide one (and remove it on exit) when the machine has none.
#   apt_install PACKAGE
apt_install() {
  local package=$1 apt_log=$logs/apt-get.log
  is_root || die "$package is missing; install it (Debian: apt-get install $package) or run as root"
  command -v apt-get >/dev/null || die "$package is missing and there is no apt-get to install it"
  say "$package is missing: installing it with apt-get install -y $package"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy_rc_d=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# Written by sluice scripts/bench.sh during apt-get install; removed after.\nexit 101\n' >"$policy_rc_d"
    chmod 0755 "$policy_rc_d"
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >>"$apt_log" 2>&1; then
    say "apt-get install failed; running apt-get update and trying again"
    DEBIAN_FRONTEND=noninteractive apt-get update >>"$apt_log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >>"$apt_log" 2>&1 ||
      { tail -n 20 "$apt_log" >&2; die "could not install $package; see $apt_log"; }
  fi
  remove_policy_rc_d
}

install_pgbouncer() {
  command -v pgbouncer >/dev/null && return
  apt_install pgbouncer
  command -v pgbouncer >/dev/null || die "apt-get installed no pgbouncer command"
  say "installed $(pgbouncer --version | head -n 1)"
}

# Sets pgpool_bin to the pgpool program of the Debian package pgpool2, installing it when
# missing (the program lives in /usr/sbin, which a non-root PATH lacks).
install_pgpool() {
  pgpool_bin=$(pgpool_program)
  if [[ -z $pgpool_bin ]]; then
    apt_install pgpool2
    pgpool_bin=$(pgpool_program)
    [[ -n $pgpool_bin ]] || die "apt-get installed pgpool2 but dpkg -L pgpool2 lists no pgpool program"
    say "installed $("$pgpool_bin" --version 2>&1 | head -n 1)"
  fi
}

# The pgpool program: the one dpkg -L pgpool2 lists, else one on PATH; nothing when neither.
pgpool_program() {
  local path
  path=$(dpkg -L pgpool2 2>/dev/null | grep -E '/s?bin/pgpool$' | head -n 1 || true)
  [[ -n $path && -x $path ]] || path=$(command -v pgpool || true)
  if [[ -n $path ]]; then echo "$path"; fi
}

remove_policy_rc_d() {
  if [[ -n $policy_rc_d ]]; then
    rm -f -- "$policy_rc_d"
    policy_rc_d=""
  fi
}

# A PostgreSQL client program: from the local server's bin directory when we started one.
pg_tool() {
  if [[ -n $pg_bin && -x $pg_bin/$1 ]]; then
    echo "$pg_bin/$1"
    return
  fi
  command -v "$1" || die "$1 is needed (Debian: apt-get install postgresql-client)"
}

make_work_dir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-XXXXXX")
  # local-postgres.sh runs the server as the postgres OS user, who must reach the cluster here.
  chmod 0755 "$work"
  logs=$work/logs
  mkdir -m 0700 "$logs"
}

choose_upstream() {
  if [[ -n $upstream ]]; then
    say "upstream $(redacted "$upstream"); its pgbench_* tables will be replaced"
    return
  fi
  local_pg_dir=$work/pg
  say "starting a throwaway PostgreSQL"
  "$LOCAL_PG" start "$local_pg_dir" >/dev/null 2>"$logs/local-postgres.log" ||
    { cat "$logs/local-postgres.log" >&2; die "local-postgres.sh start failed"; }
  upstream=$(sed -n 's/^SLUICE_UPSTREAM=//p' "$local_pg_dir/env")
  pg_bin=$(sed -n 's/^PG_BIN=//p' "$local_pg_dir/env")
}

redacted() {
  sed -E 's#(://[^:@/]*):[^@/]*@#\1:****@#' <<<"$1"
}

# libpq settings for a client of TARGET: the upstream's credentials, and its sslmode for direct.
client_env() {
  local target=$1
  echo "PGPASSWORD=$url_password"
  if [[ $target == direct && -n $url_sslmode ]]; then
    echo "PGSSLMODE=$url_sslmode"
  fi
}

target_host() {
  if [[ $1 == direct ]]; then echo "$url_host"; else echo 127.0.0.1; fi
}

target_port() {
  case $1 in
    direct) echo "$url_port" ;;
    pgbouncer) echo "$pgbouncer_port" ;;
    sluice) echo "$sluice_port" ;;
    baseline) echo "$baseline_port" ;;
    nocache) echo "$nocache_port" ;;
    cache) echo "$cache_port" ;;
    pgpool) echo "$pgpool_port" ;;
  esac
}

# Runs a PostgreSQL client program against TARGET as the upstream's user:
#   as_client [--limit SECONDS] TOOL TARGET ARGS...
# With --limit the program is stopped after SECONDS (exit status 124). timeout's --foreground
# keeps it in our process group, where Ctrl-C reaches it.
as_client() {
  local command=()
  if [[ $1 == --limit ]]; then
    command=(timeout --foreground --kill-after=10 "$2")
    shift 2
  fi
  local tool=$1 target=$2 environment
  shift 2
  mapfile -t environment < <(client_env "$target")
  command+=(env "${environment[@]}" "$(pg_tool "$tool")")
  "${command[@]}" -h "$(target_host "$target")" -p "$(target_port "$target")" -U "$url_user" "$@"
}

init_pgbench_tables() {
  say "pgbench -i -s $scale (directly against PostgreSQL)"
  as_client pgbench direct -i -s "$scale" -q "$url_db" >"$logs/pgbench-init.log" 2>&1 ||
    { tail -n 20 "$logs/pgbench-init.log" >&2; die "pgbench -i failed; see $logs/pgbench-init.log"; }
}

wait_until_ready() {
  local name=$1 pid=$2 port=$3 log=$4 pg_isready
  pg_isready=$(pg_tool pg_isready)
  for ((i = 0; i < READY_TIMEOUT_SECONDS * 5; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$log" >&2
      failed=true
      die "$name exited before it accepted connections; its log is $log"
    fi
    if "$pg_isready" -q -h 127.0.0.1 -p "$port" -d "$url_db" -U "$url_user" -t 1; then
      return
    fi
    sleep 0.2
  done
  tail -n 40 "$log" >&2
  failed=true
  die "$name did not accept connections on 127.0.0.1:$port within ${READY_TIMEOUT_SECONDS}s; its log is $log"
}

# Starts a Sluice jar as TARGET on a free port, with MORE_FLAGS after MORE_SLUICE_FLAGS, and sets
# TARGET_port and TARGET_pid:
#   start_sluice TARGET JAR [MORE_FLAGS...]
start_sluice() {
  local target=$1 jar=$2 name port pid admin
  shift 2
  name=$(proxy_name "$target")
  port=$(pick_free_port) || die "found no free port"
  mapfile -t admin < <(admin_flags "$jar")
  set -- "$@" "${admin[@]}"
  if ((${#admin[@]} == 2)); then admin_port[$target]=${admin[1]##*:}; fi
  say "starting $name on 127.0.0.1:$port (transaction mode, pool size $pool_size${1:+, $*}; log: $(log_of "$target"))"
  # shellcheck disable=SC2086 # JAVA_OPTS holds several words on purpose
  java ${JAVA_OPTS:-} -jar "$jar" run --listen "127.0.0.1:$port" --upstream "$upstream" \
    --pool-mode transaction --pool-size "$pool_size" "${sluice_flags[@]}" "$@" >"$(log_of "$target")" 2>&1 &
  pid=$!
  # Set before waiting, so that cleanup stops it even when it never becomes ready.
  printf -v "${target}_pid" %s "$pid"
  printf -v "${target}_port" %s "$port"
  wait_until_ready "$name" "$pid" "$port" "$(log_of "$target")"
}

# Sluice's admin HTTP port is 127.0.0.1:9930 unless told otherwise, which two Sluices cannot
# share and which may be taken: each Sluice gets a free port of its own, when its jar has the
# flag and MORE_SLUICE_FLAGS do not set it.
admin_flags() {
  local jar=$1 flag port
  for flag in "${sluice_flags[@]}"; do
    [[ $flag != --admin-listen && $flag != --admin-listen=* ]] || return 0
  done
  jar_has_flag "$jar" --admin-listen || return 0
  port=$(pick_free_port) || die "found no free port"
  printf '%s\n' --admin-listen "127.0.0.1:$port"
}

# Starts 'sluice relay' with --remote-latency in front of PostgreSQL and points every target at
# it: url_host, url_port and upstream name the relay from then on.
start_relay() {
  local port log=$logs/relay.log
  port=$(pick_free_port) || die "found no free port"
  say "starting a fault relay on 127.0.0.1:$port to $url_host:$url_port, latency $remote_latency each way (log: $log)"
  java -jar "$JAR" relay --listen "127.0.0.1:$port" --target "$url_host:$url_port" \
    --latency "$remote_latency" </dev/null >"$log" 2>&1 &
  relay_pid=$!
  wait_until_ready "the relay" "$relay_pid" "$port" "$log"
  local pattern='^(postgres(ql)?://)(([^@/]*)@)?(\[[^]/]*\]|[^]:/?[]*)(:([0-9]+))?(.*)$'
  [[ $upstream =~ $pattern ]] || die "cannot put the relay into the upstream URL"
  upstream="${BASH_REMATCH[1]}${BASH_REMATCH[3]}127.0.0.1:$port${BASH_REMATCH[8]}"
  url_host=127.0.0.1
  url_port=$port
}

# The SCRAM secret PostgreSQL stores for the user, when we may read pg_authid: PgBouncer then
# needs no password derivation per login and logs in to the server with the client's SCRAM
# keys, which is how PgBouncer is meant to be deployed. Otherwise the plain password.
pgbouncer_secret() {
  local secret=""
  if [[ -n $local_pg_dir ]]; then
    local socket
    socket=$(dirname "$(sed -n 's/^PGDATA=//p' "$local_pg_dir/env")")/socket
    # On stdin, not -c: psql expands :'user' only there.
    secret=$("$(pg_tool psql)" -X -A -t -h "$socket" -p "$url_port" -U postgres -d postgres \
      -v user="$url_user" 2>>"$logs/pgbouncer-secret.log" <<<"SELECT rolpassword FROM pg_authid WHERE rolname = :'user'" ||
      true)
  fi
  if [[ $secret == SCRAM-SHA-256\$* ]]; then
    say "PgBouncer's auth_file holds $url_user's SCRAM secret from pg_authid" >&2
    echo "$secret"
  else
    say "PgBouncer's auth_file holds $url_user's plain password (pg_authid not readable)" >&2
    echo "$url_password"
  fi
}

# The OS user PgBouncer and Pgpool-II run as: they refuse to run as root.
proxy_os_user() {
  if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

quote_pgbouncer() {
  # userlist.txt quotes with "", doubling a " inside.
  printf '"%s"' "${1//\"/\"\"}"
}

write_pgbouncer_config() {
  local dir=$1 secret
  secret=$(pgbouncer_secret)
  (
    umask 077
    printf '%s %s\n' "$(quote_pgbouncer "$url_user")" "$(quote_pgbouncer "$secret")" >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<EOF
; Written by sluice scripts/bench.sh for one benchmark run.
[databases]
$url_db = host=$url_host port=$url_port dbname=$url_db

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgbouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool_size
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = $((clients + 100))
server_tls_sslmode = ${url_sslmode:-prefer}
ignore_startup_parameters = extra_float_digits
; Sluice logs no line per client connection at its default level; PgBouncer would log two, a
; cost Sluice does not pay in the connect-per-transaction workload.
log_connections = 0
log_disconnections = 0
logfile =
pidfile =
EOF
  )
}

start_pgbouncer() {
  local dir=$work/pgbouncer command
  pgbouncer_port=$(pick_free_port) || die "found no free port"
  mkdir -m 0700 "$dir"
  write_pgbouncer_config "$dir"
  command=("$(command -v pgbouncer)" "$dir/pgbouncer.ini")
  if is_root; then
    local os_user
    os_user=$(proxy_os_user)
    chown -R "$os_user:" "$dir"
    # setpriv execs PgBouncer in place, so $! is PgBouncer's own pid (for its RSS).
    command=(setpriv --reuid="$os_user" --regid="$(id -g "$os_user")" --init-groups -- "${command[@]}")
  fi
  say "starting $(pgbouncer --version | head -n 1) on 127.0.0.1:$pgbouncer_port (pool_mode=transaction, default_pool_size $pool_size)"
  "${command[@]}" >"$logs/pgbouncer.log" 2>&1 &
  pgbouncer_pid=$!
  wait_until_ready PgBouncer "$pgbouncer_pid" "$pgbouncer_port" "$logs/pgbouncer.log"
}

quote_pgpool() {
  # pgpool.conf quotes strings with '', doubling a ' inside.
  printf "'%s'" "${1//\'/\'\'}"
}

# Pgpool-II in front of the same PostgreSQL, its in-memory query cache on: raw mode with one
# backend, one process per client (CLIENTS + 4, so pg_isready and SHOW POOL_CACHE find one free)
# each caching its backend connection, clients authenticated with SCRAM against pool_passwd, which
# holds the user's password in clear (with a TEXT prefix): Pgpool-II needs it to log in to
# PostgreSQL with SCRAM itself. TCP on 127.0.0.1 only; its sockets, pid file, status file and
# the query cache's table-oid directory live in DIR.
write_pgpool_config() {
  local dir=$1
  (
    umask 077
    printf '%s:TEXT%s\n' "$url_user" "$url_password" >"$dir/pool_passwd"
    printf '# Written by sluice scripts/bench.sh for one benchmark run.\nhost all all 127.0.0.1/32 scram-sha-256\n' \
      >"$dir/pool_hba.conf"
    : >"$dir/pcp.conf"
    mkdir "$dir/oiddir"
    cat >"$dir/pgpool.conf" <<EOF
# Written by sluice scripts/bench.sh for one benchmark run.
backend_clustering_mode = 'raw'
listen_addresses = '127.0.0.1'
port = $pgpool_port
unix_socket_directories = $(quote_pgpool "$dir")
pcp_listen_addresses = ''
pcp_socket_dir = $(quote_pgpool "$dir")
backend_hostname0 = $(quote_pgpool "$url_host")
backend_port0 = $url_port
backend_weight0 = 1
backend_flag0 = 'DISALLOW_TO_FAILOVER'
enable_pool_hba = on
pool_passwd = $(quote_pgpool "$dir/pool_passwd")
allow_clear_text_frontend_auth = off
num_init_children = $((clients + 4))
max_pool = 1
connection_cache = on
child_life_time = 0
child_max_connections = 0
connection_life_time = 0
client_idle_limit = 0
health_check_period = 0
sr_check_period = 0
failover_on_backend_error = off
use_watchdog = off
load_balance_mode = off
memory_cache_enabled = on
memqcache_method = 'shmem'
memqcache_oiddir = $(quote_pgpool "$dir/oiddir")
memqcache_auto_cache_invalidation = on
memqcache_expire = 0
log_destination = 'stderr'
log_min_messages = warning
log_connections = off
log_statement = off
logdir = $(quote_pgpool "$dir")
pid_file_name = $(quote_pgpool "$dir/pgpool.pid")
EOF
  )
}

start_pgpool() {
  local dir=$work/pgpool command
  pgpool_port=$(pick_free_port) || die "found no free port"
  mkdir -m 0700 "$dir"
  write_pgpool_config "$dir"
  # -n: stay in the foreground; -D: forget any saved backend status.
  command=("$pgpool_bin" -n -D -f "$dir/pgpool.conf" -F "$dir/pcp.conf" -a "$dir/pool_hba.conf")
  if is_root; then
    local os_user
    os_user=$(proxy_os_user)
    chown -R "$os_user:" "$dir"
    # setpriv execs Pgpool-II in place, so $! is its parent process.
    command=(setpriv --reuid="$os_user" --regid="$(id -g "$os_user")" --init-groups -- "${command[@]}")
  fi
  say "starting $("$pgpool_bin" --version 2>&1 | head -n 1) on 127.0.0.1:$pgpool_port" \
    "(query cache in shared memory, $((clients + 4)) children; log: $(log_of pgpool))"
  "${command[@]}" >"$(log_of pgpool)" 2>&1 &
  pgpool_pid=$!
  wait_until_ready Pgpool-II "$pgpool_pid" "$pgpool_port" "$(log_of pgpool)"
}

# Pgpool-II's query cache counters, 'name|value' a line (SHOW POOL_CACHE, which Pgpool-II answers
# itself); empty when it cannot tell.
pgpool_cache_stats() {
  as_client --limit 10 psql pgpool -X -A -t -x -d "$url_db" -c 'SHOW pool_cache' 2>>"$logs/pgpool-show.log" || true
}

# pgbench's arguments for WORKLOAD, one a line.
workload_args() {
  case $1 in
    select-simple) printf '%s\n' -S -M simple ;;
    select-extended) printf '%s\n' -S -M extended ;;
    select-prepared) printf '%s\n' -S -M prepared ;;
    tpcb-simple) printf '%s\n' -M simple ;;
    connect-select) printf '%s\n' -C -S -M simple ;;
    cache-extended) printf '%s\n' -f "$work/cache.sql" -M extended ;;
    cache-simple) printf '%s\n' -f "$work/cache.sql" -M simple ;;
  esac
}

# The cache workloads' table and pgbench script: CACHE_ROWS rows of about 100 bytes, read one at
# a time by a random key. No column is a timestamp with time zone, which Pgpool-II never caches.
init_cache_table() {
  say "creating bench_cache, $CACHE_ROWS rows (directly against PostgreSQL)"
  if ! as_client psql direct -X -q -v ON_ERROR_STOP=1 -d "$url_db" >"$logs/cache-init.log" 2>&1 <<EOF; then
DROP TABLE IF EXISTS bench_cache;
CREATE TABLE bench_cache (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  balance numeric(12, 2) NOT NULL,
  note text NOT NULL
);
INSERT INTO bench_cache
  SELECT i, 'customer ' || lpad(i::text, 3, '0'), 'customer' || i || '@example.com',
         round(i * 37.5, 2), repeat(chr(97 + i % 26), 48)
  FROM generate_series(1, $CACHE_ROWS) AS i;
VACUUM ANALYZE bench_cache;
EOF
    tail -n 20 "$logs/cache-init.log" >&2
    die "creating bench_cache failed; see $logs/cache-init.log"
  fi
  cat >"$work/cache.sql" <<EOF
\set k random(1, $CACHE_ROWS)
SELECT id, name, email, balance, note FROM bench_cache WHERE id = :k;
EOF
}

# What pgbench would do before a TPC-B run without -n, done directly so no proxy is involved and
# every target starts from the same tables.
reset_tpcb_tables() {
  as_client psql direct -X -q -d "$url_db" -c 'VACUUM pgbench_branches' -c 'VACUUM pgbench_tellers' \
    -c 'TRUNCATE pgbench_history' >>"$logs/vacuum.log" 2>&1 || warn "vacuum before tpcb failed; see $logs/vacuum.log"
}

target_dead() {
  [[ -n ${dead[$1]:-} ]]
}

# PgBouncer pools protocol-level prepared statements in transaction mode from 1.21 on.
pgbouncer_pools_prepared() {
  local v major minor
  v=$(pgbouncer --version 2>/dev/null | awk 'NR == 1 {print $2}')
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
  ((major > 1 || (major == 1 && minor >= 21)))
}

# The pid of TARGET's proxy process; empty for direct.
proxy_pid() {
  case $1 in
    pgbouncer) echo "$pgbouncer_pid" ;;
    sluice) echo "$sluice_pid" ;;
    baseline) echo "$baseline_pid" ;;
    nocache) echo "$nocache_pid" ;;
    cache) echo "$cache_pid" ;;
    pgpool) echo "$pgpool_pid" ;;
  esac
}

# How the messages name TARGET's proxy.
proxy_name() {
  case $1 in
    pgbouncer) echo PgBouncer ;;
    sluice) echo Sluice ;;
    baseline) echo "the baseline Sluice" ;;
    nocache) echo "Sluice --cache off" ;;
    cache) echo "Sluice --cache on" ;;
    pgpool) echo Pgpool-II ;;
  esac
}

# The log file of TARGET's proxy.
log_of() {
  echo "$logs/$1.log"
}

# The CPU time process PID and its descendants have used so far, in clock ticks; empty when there
# is no such process. Each process counts user plus system time over all its threads, and the
# same of its children that have exited and been waited for (one of Pgpool-II's children that a
# run outlived is still counted, by its parent). In /proc/PID/stat these are fields 14 to 17,
# counted after the ')' that closes field 2, the command name, which may hold spaces itself.
cpu_ticks_of() {
  local pid=$1 stat fields ticks=0 member
  [[ -n $pid && -r /proc/$pid/stat ]] || return 0
  for member in $(process_tree "$pid"); do
    { stat=$(<"/proc/$member/stat"); } 2>/dev/null || continue
    read -ra fields <<<"${stat##*)}"
    # fields[0] is field 3 (the state), so field N is fields[N - 3].
    ticks=$((ticks + fields[11] + fields[12] + fields[13] + fields[14]))
  done
  echo "$ticks"
}

# PID and the pids of all its descendants, one a line (this kernel may lack
# /proc/PID/task/TID/children, so from ps's list of parents).
process_tree() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      member[root] = 1
      do {
        grew = 0
        for (p in parent) if (!(p in member) && (parent[p] in member)) { member[p] = 1; grew = 1 }
      } while (grew)
      for (p in member) print p
    }'
}

# Microseconds of CPU per transaction for TICKS clock ticks over TRANSACTIONS; empty when either
# is unknown or there were no transactions.
cpu_us_per_txn() {
  local ticks=$1 transactions=$2
  [[ -n $ticks && -n $transactions && $transactions != 0 ]] || return 0
  awk -v t="$ticks" -v hz="$CLOCK_TICKS_PER_SECOND" -v n="$transactions" \
    'BEGIN { printf "%.1f", t / hz * 1e6 / n }'
}

# One pgbench run of SECONDS; appends "workload target round status tps latency_ms failed
# transactions cpu_ticks cpu_us_per_txn" to results (the last two are the proxy's; - for direct).
# ROUND is a number, or "warmup" for a run that is left out of the medians.
run_one() {
  local workload=$1 target=$2 round=$3 seconds=$4 out status=ok rc=0 args
  out=$logs/pgbench-$workload-$target-$round.log
  mapfile -t args < <(workload_args "$workload")
  if target_dead "$target"; then
    echo "$workload $target $round skipped - - - - - -" >>"$work/results"
    return
  fi
  if [[ $workload == select-prepared && $target == pgbouncer ]] && ! pgbouncer_pools_prepared; then
    echo "$workload $target $round n/a - - - - - -" >>"$work/results"
    return
  fi
  [[ $workload != tpcb-simple ]] || reset_tpcb_tables
  if [[ $round == warmup ]]; then
    printf 'bench: warm-up      %-16s %-10s ' "$workload" "$target"
  else
    printf 'bench: round %d/%d  %-16s %-10s ' "$round" "$rounds" "$workload" "$target"
  fi
  local pid cpu_before cpu_after ticks=""
  pid=$(proxy_pid "$target")
  cpu_before=$(cpu_ticks_of "$pid")
  as_client --limit "$((seconds + HANG_GRACE_SECONDS))" pgbench "$target" -n -c "$clients" -j "$jobs" \
    -T "$seconds" "${args[@]}" "$url_db" \
    >"$out" 2>&1 || rc=$?
  cpu_after=$(cpu_ticks_of "$pid")
  if [[ -n $cpu_before && -n $cpu_after ]]; then
    ticks=$((cpu_after - cpu_before))
  fi
  case $rc in
    0) ;;
    124 | 137) status=hung ;;
    *) status=exit$rc ;;
  esac
  local tps latency failures transactions cpu
  tps=$(tps_of "$out")
  latency=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out" | head -n 1)
  failures=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out" | head -n 1)
  transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out" | head -n 1)
  cpu=$(cpu_us_per_txn "$ticks" "$transactions")
  if [[ $status == ok ]] && grep -q 'aborted' "$out"; then
    status=aborted
  fi
  # A warm-up may end before all clients have logged in on a loaded machine: no TPS is no fault.
  if [[ $status == ok && -z $tps && $round != warmup ]]; then
    status=no-tps
  fi
  echo "$workload $target $round $status ${tps:--} ${latency:--} ${failures:--} ${transactions:--}" \
    "${ticks:--} ${cpu:--}" >>"$work/results"
  printf '%9s tps %8s ms  proxy CPU %7s us/txn  failed %s  %s\n' "$(one_decimal "$tps")" \
    "$(one_decimal "$latency")" "$(proxy_cpu_or_na "$target" "$cpu")" "${failures:--}" "$status"
  if [[ $status != ok || ${failures:-0} != 0 ]]; then
    failed=true
    warn "$workload against $target, $round: $status, ${failures:-?} failed transactions; output in $out:"
    grep -E 'error|aborted|FATAL|ERROR|failed' "$out" | head -n 10 >&2 || true
  fi
  check_alive
}

# What to print for CPU, the proxy CPU/txn of a run against TARGET: n/a for direct, which has no
# proxy.
proxy_cpu_or_na() {
  if [[ $1 == direct ]]; then echo n/a; else echo "${2:--}"; fi
}

# The TPS line of a pgbench run; PostgreSQL 14+ prints one, older versions two.
tps_of() {
  awk '/^tps = / { tps = $3; if (/without initial connection|excluding connections|including reconnection/) { print tps; found = 1; exit } }
       END { if (!found && tps != "") print tps }' "$1"
}

check_alive() {
  local target
  for target in $(all_targets); do
    if [[ $target == direct ]] || target_dead "$target" || kill -0 "$(proxy_pid "$target")" 2>/dev/null; then
      continue
    fi
    dead[$target]=true
    failed=true
    warn "$(proxy_name "$target") died; the last lines of $(log_of "$target"):"
    tail -n 40 "$(log_of "$target")" >&2
  done
}

run_all() {
  local round workload target targets i n
  if ((warmup > 0)); then
    for target in $(all_targets); do
      for workload in "${WORKLOADS[@]}"; do
        mapfile -t targets < <(targets_of "$workload")
        [[ " ${targets[*]} " == *" $target "* ]] || continue
        run_one "$workload" "$target" warmup "$warmup"
      done
    done
  fi
  for ((round = 1; round <= rounds; round++)); do
    for workload in "${WORKLOADS[@]}"; do
      mapfile -t targets < <(targets_of "$workload")
      n=${#targets[@]}
      # Rotate the order each round, so no target always runs first (on a cold cache) or last.
      for ((i = 0; i < n; i++)); do
        run_one "$workload" "${targets[$(((i + round - 1) % n))]}" "$round" "$duration"
      done
    done
  done
}

# What to print for a workload and target without a median: n/a when it was not applicable.
missing() {
  if awk -v w="$1" -v t="$2" '$1 == w && $2 == t && $4 == "n/a" { found = 1 } END { exit !found }' \
    "$work/results"; then
    echo "n/a"
  else
    echo "FAIL"
  fi
}

# The median of column COLUMN (5 = tps, 6 = latency, 10 = proxy CPU us/txn) over the completed
# rounds of one cell; empty when there is none.
median() {
  local workload=$1 target=$2 column=$3
  awk -v w="$workload" -v t="$target" -v c="$column" \
    '$1 == w && $2 == t && $3 != "warmup" && $4 == "ok" && $c != "-" { print $c }' \
    "$work/results" | sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) exit
      if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Failed transactions summed over all runs, warm-up included, plus a note of runs that did not
# complete.
failures_of() {
  awk -v w="$1" -v t="$2" '$1 == w && $2 == t { if ($7 != "-") f += $7; if ($4 != "ok") bad[$4]++ }
    END { s = f + 0; for (k in bad) s = s " (" bad[k] " " k ")"; print s }' "$work/results"
}

# Runs FUNCTION WORKLOAD TARGET ARGS... for each target of WORKLOAD in the tables' order and
# prints what each printed on a line of its own (an empty line when it printed nothing):
#   each_target FUNCTION WORKLOAD ARGS...
each_target() {
  local function=$1 workload=$2 target value
  shift 2
  for target in $(targets_of "$workload"); do
    value=$("$function" "$workload" "$target" "$@")
    echo "$value"
  done
}

# A row of the tables with a column per target: LABEL, then one cell per target.
target_row() {
  local label=$1 cell
  shift
  printf '%-16s' "$label"
  for cell in "$@"; do
    printf ' | %14s' "$cell"
  done
  echo
}

one_decimal() {
  if [[ -n $1 ]]; then awk -v n="$1" 'BEGIN { printf "%.1f", n }'; else echo -; fi
}

ratio() {
  if [[ -n $1 && -n $2 ]]; then
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
  else
    echo "n/a"
  fi
}

# "N WARN, M ERROR lines" for a log FILE and its two level markers.
log_levels() {
  local file=$1 warn=$2 error=$3
  echo "$(grep -c -- "$warn" "$file" || true) ${warn//[ :]/}, $(grep -c -- "$error" "$file" || true) ${error//[ :]/} lines"
}

load_average() {
  cut -d' ' -f1-3 /proc/loadavg
}

rss_of() {
  local pid=$1 rss hwm
  if [[ -z $pid || ! -r /proc/$pid/status ]]; then
    echo "n/a (not running)"
    return
  fi
  rss=$(awk '/^VmRSS:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$pid/status")
  echo "$rss (peak $hwm)"
}

# The table of TPS and proxy CPU/txn for direct, pgbouncer and sluice, between two lines LINE.
print_three_target_table() {
  local line=$1 workload
  # A row's columns, grouped under the first header line.
  local row='%-16s | %9s %9s %9s | %9s %9s | %13s | %7s %8s\n'
  printf '%-16s | %-29s | %-19s | %-13s | %-16s\n' "" TPS "proxy CPU us/txn" sluice/direct sluice/pgbouncer
  # shellcheck disable=SC2059 # the format is the row layout, shared by the header and the rows
  printf "$row" workload direct pgbouncer sluice pgbouncer sluice TPS TPS CPU/txn
  echo "$line"
  for workload in $(chosen_workloads other); do
    local d p s pc sc
    d=$(median "$workload" direct 5)
    p=$(median "$workload" pgbouncer 5)
    s=$(median "$workload" sluice 5)
    pc=$(median "$workload" pgbouncer 10)
    sc=$(median "$workload" sluice 10)
    # shellcheck disable=SC2059
    printf "$row" "$workload" "${d:-$(missing "$workload" direct)}" \
      "${p:-$(missing "$workload" pgbouncer)}" "${s:-$(missing "$workload" sluice)}" \
      "${pc:-$(missing "$workload" pgbouncer)}" "${sc:-$(missing "$workload" sluice)}" \
      "$(ratio "$s" "$d")" "$(ratio "$s" "$p")" "$(ratio "$sc" "$pc")"
  done
}

# With a baseline the table would be too wide: a TPS table and a proxy CPU/txn table, each with
# its ratios, separated by LINE.
print_baseline_tables() {
  local line=$1 workload
  local row='%-16s | %9s %9s %9s %9s | %13s %16s %15s\n'
  printf '%-16s | %-39s | %s\n' "" TPS "TPS ratio"
  # shellcheck disable=SC2059 # the format is the row layout, shared by the header and the rows
  printf "$row" workload direct pgbouncer sluice baseline sluice/direct sluice/pgbouncer sluice/baseline
  echo "$line"
  for workload in $(chosen_workloads other); do
    local d p s b
    d=$(median "$workload" direct 5)
    p=$(median "$workload" pgbouncer 5)
    s=$(median "$workload" sluice 5)
    b=$(median "$workload" baseline 5)
    # shellcheck disable=SC2059
    printf "$row" "$workload" "${d:-$(missing "$workload" direct)}" \
      "${p:-$(missing "$workload" pgbouncer)}" "${s:-$(missing "$workload" sluice)}" \
      "${b:-$(missing "$workload" baseline)}" "$(ratio "$s" "$d")" "$(ratio "$s" "$p")" "$(ratio "$s" "$b")"
  done
  echo "$line"
  row='%-16s | %9s %9s %9s | %16s %18s %15s\n'
  printf '%-16s | %-29s | %s\n' "" "proxy CPU us/txn" "CPU/txn ratio"
  # shellcheck disable=SC2059
  printf "$row" workload pgbouncer sluice baseline sluice/pgbouncer baseline/pgbouncer sluice/baseline
  echo "$line"
  for workload in $(chosen_workloads other); do
    local pc sc bc
    pc=$(median "$workload" pgbouncer 10)
    sc=$(median "$workload" sluice 10)
    bc=$(median "$workload" baseline 10)
    # shellcheck disable=SC2059
    printf "$row" "$workload" "${pc:-$(missing "$workload" pgbouncer)}" \
      "${sc:-$(missing "$workload" sluice)}" "${bc:-$(missing "$workload" baseline)}" \
      "$(ratio "$sc" "$pc")" "$(ratio "$bc" "$pc")" "$(ratio "$sc" "$bc")"
  done
}

# The chosen workloads, one a line: the cache ones, or the others.
#   chosen_workloads cache|other
chosen_workloads() {
  local workload
  for workload in "${WORKLOADS[@]}"; do
    if is_cache_workload "$workload"; then
      [[ $1 != cache ]] || echo "$workload"
    else
      [[ $1 != other ]] || echo "$workload"
    fi
  done
}

# How the cache workloads' tables name TARGET.
cache_label() {
  case $1 in
    nocache) echo sluice-nocache ;;
    cache) echo sluice-cache ;;
    *) echo "$1" ;;
  esac
}

# The rows of median latency and of failed transactions of the chosen workloads of KIND (cache or
# other), a column per target, between two lines LINE:
#   print_latency_and_failures KIND LINE LABELS...
print_latency_and_failures() {
  local kind=$1 line=$2 workload cells
  shift 2
  echo "$line"
  target_row "latency avg ms" "$@"
  for workload in $(chosen_workloads "$kind"); do
    mapfile -t cells < <(each_target median "$workload" 6)
    target_row "$workload" "${cells[@]}"
  done
  echo "$line"
  target_row "failed txns" "$@"
  for workload in $(chosen_workloads "$kind"); do
    mapfile -t cells < <(each_target failures_of "$workload")
    target_row "$workload" "${cells[@]}"
  done
}

# The cache workloads' TPS table and proxy CPU/txn table, each with sluice-cache's ratios to the
# others, between two lines LINE.
print_cache_tables() {
  local line=$1 workload
  local row='%-16s | %9s %9s %14s %12s | %8s %8s %8s\n'
  printf '%-16s | %-47s | %s\n' "" TPS "sluice-cache TPS /"
  # shellcheck disable=SC2059 # the format is the row layout, shared by the header and the rows
  printf "$row" workload direct pgpool sluice-nocache sluice-cache direct nocache pgpool
  echo "$line"
  for workload in $(chosen_workloads cache); do
    local d p n c
    d=$(median "$workload" direct 5)
    p=$(median "$workload" pgpool 5)
    n=$(median "$workload" nocache 5)
    c=$(median "$workload" cache 5)
    # shellcheck disable=SC2059
    printf "$row" "$workload" "${d:-$(missing "$workload" direct)}" "${p:-$(missing "$workload" pgpool)}" \
      "${n:-$(missing "$workload" nocache)}" "${c:-$(missing "$workload" cache)}" \
      "$(ratio "$c" "$d")" "$(ratio "$c" "$n")" "$(ratio "$c" "$p")"
  done
  echo "$line"
  row='%-16s | %9s %14s %12s | %8s %8s\n'
  printf '%-16s | %-37s | %s\n' "" "proxy CPU us/txn" "sluice-cache CPU/txn /"
  # shellcheck disable=SC2059
  printf "$row" workload pgpool sluice-nocache sluice-cache nocache pgpool
  echo "$line"
  for workload in $(chosen_workloads cache); do
    local pc nc cc
    pc=$(median "$workload" pgpool 10)
    nc=$(median "$workload" nocache 10)
    cc=$(median "$workload" cache 10)
    # shellcheck disable=SC2059
    printf "$row" "$workload" "${pc:-$(missing "$workload" pgpool)}" "${nc:-$(missing "$workload" nocache)}" \
      "${cc:-$(missing "$workload" cache)}" "$(ratio "$cc" "$nc")" "$(ratio "$cc" "$pc")"
  done
}

# A PASS or MISS line for sluice-cache's median TPS in WORKLOAD against WHOM's, the target being
# a ratio of at least AT_LEAST; NOTE ends the line:
#   judge WORKLOAD WHOM AT_LEAST NOTE
judge() {
  local workload=$1 whom=$2 at_least=$3 note=$4 mine theirs verdict=MISS
  mine=$(median "$workload" cache 5)
  theirs=$(median "$workload" "$whom" 5)
  # Judged on the medians themselves, not on the ratio rounded for printing.
  if [[ -n $mine && -n $theirs ]] &&
    awk -v a="$mine" -v b="$theirs" -v t="$at_least" 'BEGIN { exit !(b > 0 && a >= t * b) }'; then
    verdict=PASS
  fi
  printf '  %-4s  %-16s sluice-cache/%-7s %6s, target >= %s%s\n' "$verdict" "$workload" \
    "$(cache_label "$whom")" "$(ratio "$mine" "$theirs")" "$at_least" "$note"
}

# The result cache's targets, a PASS or MISS line each: locally, at least Pgpool-II's TPS and
# 1.2x direct; with the database far away, 10x direct (the issue sets it for 5 ms each way).
print_cache_targets() {
  local workload note=""
  if [[ -n $remote_latency ]]; then
    [[ $remote_latency == 5ms ]] || note=" (a target for 5ms; measured with $remote_latency)"
    echo "the result cache's target with the database $remote_latency away (TPS medians):"
    for workload in $(chosen_workloads cache); do
      judge "$workload" direct "$TARGET_VS_DIRECT_REMOTE" "$note"
    done
  else
    echo "the result cache's targets with the database local (TPS medians):"
    for workload in $(chosen_workloads cache); do
      judge "$workload" pgpool "$TARGET_VS_PGPOOL" ""
      judge "$workload" direct "$TARGET_VS_DIRECT_LOCAL" ""
    done
  fi
}

# Sluice's result cache counters (GET /cache on the admin port of sluice-cache), so that the
# tables can be read knowing whether it answered from memory: hits, misses and the statements it
# judged uncacheable, by reason.
print_sluice_cache_stats() {
  local port=${admin_port[cache]:-} json
  if ! command -v curl >/dev/null; then
    echo "Sluice result cache: no curl to ask its admin port for the counters"
    return
  fi
  if [[ -z $port ]]; then
    echo "Sluice result cache: no admin port of bench.sh's choosing to ask (MORE_SLUICE_FLAGS set --admin-listen)"
    return
  fi
  json=$(curl -s -m 10 "http://127.0.0.1:$port/cache" 2>&1 || true)
  printf '%s\n' "$json" >"$logs/sluice-cache-stats.json"
  if [[ $json != *'"decisions"'* ]]; then
    echo "Sluice result cache: GET /cache answered nothing useful (see $logs/sluice-cache-stats.json)"
    return
  fi
  # The counters are "name" : number pairs; the decisions include "uncacheable:REASON" ones.
  { grep -oE '"[a-zA-Z:_-]+" *: *[0-9.]+' <<<"$json" || true; } | tr -d '" ' | awk -F: '
    { n = $NF; key = $1; for (i = 2; i < NF; i++) key = key ":" $i; v[key] = n
      if ($1 == "uncacheable" && n > 0) { u += n; reasons = reasons sprintf(" %s %d,", $2, n) } }
    END {
      sub(/,$/, "", reasons)
      printf "Sluice result cache (GET /cache, warm-ups included): %d hits, %d stale, %d misses (hit ratio %.2f), %d entries; %d uncacheable%s\n",
        v["hit"], v["stale"], v["miss"], v["hitRatio"], v["entries"], u, (u ? " (" substr(reasons, 2) ")" : "") }'
}

# Pgpool-II's hit counts, so a table that shows Pgpool-II slow also shows whether it was caching.
print_pgpool_cache_stats() {
  local stats
  stats=$(pgpool_cache_stats)
  if [[ -z $stats ]]; then
    echo "Pgpool-II query cache: SHOW POOL_CACHE answered nothing (see $logs/pgpool-show.log)"
    return
  fi
  awk -F'|' '{ v[$1] = $2 } END {
    printf "Pgpool-II query cache (SHOW POOL_CACHE, warm-ups included): %s hits, %s SELECTs not served from it" \
      " (hit ratio %s), %s entries\n", v["num_cache_hits"], v["num_selects"], v["cache_hit_ratio"], v["num_cache_entries"] }' \
    <<<"$stats"
}

print_report() {
  local workload line proxies="Sluice and PgBouncer" target
  line=$(printf '%0105d' 0 | tr 0 -)
  if [[ -n $baseline_jar ]]; then
    line=$(printf '%0107d' 0 | tr 0 -)
    proxies="Sluice, baseline and PgBouncer"
  fi
  have_workloads other || proxies="Sluice"
  echo
  echo "pgbench -c $clients -j $jobs -T $duration, $rounds round(s), medians;" \
    "pool size $pool_size ($proxies, transaction mode)$(have_workloads other && echo ", scale $scale")"
  echo "$(nproc) CPUs, load average $load_at_start at the start, $(load_average) at the end;" \
    "PostgreSQL $(as_client psql direct -X -A -t -d "$url_db" -c 'SHOW server_version' 2>/dev/null || echo '?')"
  echo "proxy CPU/txn: the CPU time of the proxy's processes over each run (/proc/PID/stat) per transaction"
  if [[ -n $baseline_jar ]]; then
    echo "baseline: $baseline_jar, run like sluice ($JAR)"
  fi
  if [[ -n $remote_latency ]]; then
    echo "remote placement: every target reaches PostgreSQL through a relay adding $remote_latency each way"
  fi
  if have_workloads other; then
    echo "$line"
    if [[ -n $baseline_jar ]]; then
      print_baseline_tables "$line"
    else
      print_three_target_table "$line"
    fi
    print_latency_and_failures other "$line" "${TARGETS[@]}"
  fi
  if have_workloads cache; then
    echo "$line"
    echo "cache workloads: one SELECT of a row of bench_cache by a random key of $CACHE_ROWS;" \
      "$("$pgpool_bin" --version 2>&1 | head -n 1) with its query cache in shared memory"
    echo "sluice-cache and sluice-nocache: Sluices of their own, with --cache on and --cache off"
    echo "$line"
    print_cache_tables "$line"
    print_latency_and_failures cache "$line" direct pgpool sluice-nocache sluice-cache
    echo "$line"
    print_sluice_cache_stats
    print_pgpool_cache_stats
    print_cache_targets
  fi
  echo "$line"
  for target in $(all_targets); do
    [[ $target != direct ]] || continue
    printf '%-42s %s\n' "$(proxy_name "$target") memory after the runs:" "$(memory_of "$target")"
  done
  for target in $(all_targets); do
    [[ $target != direct ]] || continue
    printf '%-42s %s\n' "$(proxy_name "$target") log:" "$(log_summary "$target")"
  done
}

# What the proxy of TARGET holds in memory: the RSS (and its peak) of its one process, or for
# Pgpool-II the proportional set size summed over its processes, whose shared memory (the query
# cache among it) each RSS would count again.
memory_of() {
  local target=$1 pid member pss=0 count=0 kib
  pid=$(proxy_pid "$target")
  if [[ $target != pgpool ]]; then
    rss_of "$pid"
    return
  fi
  if [[ -z $pid || ! -r /proc/$pid/status ]]; then
    echo "n/a (not running)"
    return
  fi
  for member in $(process_tree "$pid"); do
    kib=$(awk '/^Pss:/ { print $2 }' "/proc/$member/smaps_rollup" 2>/dev/null || true)
    [[ -n $kib ]] || continue
    pss=$((pss + kib))
    count=$((count + 1))
  done
  awk -v k="$pss" -v n="$count" 'BEGIN { printf "%.1f MiB PSS over %d processes\n", k / 1024, n }'
}

# "N WARN, M ERROR lines" of TARGET's log.
log_summary() {
  case $1 in
    pgbouncer) log_levels "$(log_of pgbouncer)" ' WARNING ' ' ERROR ' ;;
    pgpool) log_levels "$(log_of pgpool)" 'WARNING:' 'ERROR:' ;;
    *) log_levels "$(log_of "$1")" ' WARN ' ' ERROR ' ;;
  esac
}

stop_pid() {
  local pid=$1 name=$2
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "$name did not stop within 10 s of SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# Pgpool-II's parent stops its children on SIGINT (a fast shutdown: SIGTERM would wait for
# clients). Should it not within 10 s, its processes are killed one by one, children included.
stop_pgpool() {
  local members
  [[ -n $pgpool_pid ]] || return 0
  mapfile -t members < <(process_tree "$pgpool_pid")
  if kill -0 "$pgpool_pid" 2>/dev/null; then
    kill -INT "$pgpool_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pgpool_pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  wait "$pgpool_pid" 2>/dev/null || true
  local pid left=()
  for pid in "${members[@]}"; do
    if [[ $pid != "$pgpool_pid" ]] && kill -0 "$pid" 2>/dev/null; then left+=("$pid"); fi
  done
  if ((${#left[@]} > 0)); then
    warn "Pgpool-II left ${#left[@]} processes 10 s after SIGINT; killing them"
    kill -KILL "${left[@]}" 2>/dev/null || true
  fi
}

# The proxies' log files in the logs directory, by name.
proxy_logs() {
  local name found=()
  for name in sluice cache nocache baseline pgbouncer pgpool; do
    [[ ! -e $(log_of "$name") ]] || found+=("$name.log")
  done
  echo "${found[*]:-none}"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  remove_policy_rc_d
  stop_pid "$sluice_pid" Sluice
  stop_pid "$baseline_pid" "the baseline Sluice"
  stop_pid "$nocache_pid" "Sluice --cache off"
  stop_pid "$cache_pid" "Sluice --cache on"
  stop_pid "$pgbouncer_pid" PgBouncer
  stop_pgpool
  stop_pid "$relay_pid" "the relay"
  # An error exit keeps the logs; Ctrl-C (130) or SIGTERM (143) alone does not.
  if [[ $status -ne 0 && $status -ne 130 && $status -ne 143 ]]; then
    failed=true
  fi
  if [[ -n $local_pg_dir ]]; then
    if $failed || $keep_logs; then
      cp "$local_pg_dir/cluster/data/postgresql.log" "$logs/" 2>/dev/null || true
    fi
    "$LOCAL_PG" destroy "$local_pg_dir" >>"$logs/local-postgres.log" 2>&1 || warn "could not destroy $local_pg_dir"
  fi
  if [[ -n $work ]]; then
    if $failed || $keep_logs; then
      find "$work" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf -- {} +
      if $failed; then
        warn "something failed; logs kept in $logs (the proxies': $(proxy_logs))"
      fi
    else
      rm -rf -- "$work"
    fi
  fi
  if $keep_logs && ! $failed && [[ -d $logs ]]; then
    echo "bench: logs in $logs"
  fi
  if $failed && [[ $status -eq 0 ]]; then
    status=1
  fi
  exit "$status"
}

# Whether JAR's 'run' takes FLAG:
#   jar_has_flag JAR FLAG
jar_has_flag() {
  local help
  help=$(java -jar "$1" run --help 2>&1) || true
  grep -qE -- "$2([=[:space:],]|\$)" <<<"$help"
}

# The cache workloads compare Sluice with --cache on and off: the jar must have the flag, and
# MORE_SLUICE_FLAGS must leave it to bench.sh.
check_cache_flag() {
  local flag
  for flag in "${sluice_flags[@]}"; do
    [[ $flag != --cache && $flag != --cache=* ]] ||
      die "bench.sh sets --cache for the cache workloads; leave it out of MORE_SLUICE_FLAGS"
  done
  jar_has_flag "$JAR" --cache ||
    die "the cache workloads need 'sluice run --cache on|off', which $JAR lacks (an old build?);" \
      "rebuild it, or choose other workloads with --workload"
}

main() {
  parse_args "$@"
  ((${#WORKLOADS[@]} > 0)) || WORKLOADS=("${DEFAULT_WORKLOADS[@]}")
  readonly WORKLOADS
  if [[ -n $baseline_jar ]]; then
    have_workloads other || die "--baseline-jar measures the workloads other than the cache ones; --workload chose none"
    TARGETS+=(baseline)
  fi
  readonly TARGETS
  build_if_needed
  if have_workloads cache; then check_cache_flag; fi
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  make_work_dir
  if have_workloads other; then install_pgbouncer; fi
  if have_workloads cache; then install_pgpool; fi
  choose_upstream
  parse_upstream_url "$upstream" || die "the upstream must be a postgres:// URL with one host"
  touch "$work/results"
  if have_workloads other; then init_pgbench_tables; fi
  if have_workloads cache; then init_cache_table; fi
  [[ -z $remote_latency ]] || start_relay
  # The pooling workloads compare Sluice's hot path with PgBouncer's, which has no result cache:
  # the sluice target runs without it (pgbench's select-only would otherwise be served from it).
  if have_workloads other; then start_sluice sluice "$JAR" --cache off; fi
  if have_workloads cache; then
    start_sluice cache "$JAR" --cache on
    start_sluice nocache "$JAR" --cache off
  fi
  if [[ -n $baseline_jar ]]; then
    say "baseline: $baseline_jar"
    start_sluice baseline "$baseline_jar"
  fi
  if have_workloads other; then start_pgbouncer; fi
  if have_workloads cache; then start_pgpool; fi
  local per_round=0 workload
  for workload in "${WORKLOADS[@]}"; do
    per_round=$((per_round + $(targets_of "$workload" | wc -l)))
  done
  say "$((per_round * rounds)) pgbench runs of ${duration}s after a ${warmup}s warm-up of each:" \
    "about $(((per_round * (rounds * (duration + 1) + warmup + 1)) / 60 + 1)) min"
  load_at_start=$(load_average)
  run_all
  print_report
}

main "$@"
