# Sourced by the scripts that start servers on free ports (local-postgres.sh, quickstart.sh,
# bench.sh); not run alone.
# shellcheck shell=bash

# Whether something accepts TCP connections on 127.0.0.1:PORT; bash opens the socket itself.
port_in_use() {
  (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a port that nothing listens on, or returns 1 after 100 tries. The port lies outside the
# kernel's ephemeral range: a port there may be the local end of some client's connection, or in
# TIME_WAIT after one, which a connect probe cannot see but which makes bind fail. Never 5432 or
# 6432, where a real PostgreSQL or PgBouncer may live.
pick_free_port() {
  local low=32768 high=60999 first last port
  if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
    read -r low high </proc/sys/net/ipv4/ip_local_port_range || true
  fi
  if ((low - 1 >= 21000)); then
    first=20000 last=$((low - 1))
  elif ((high + 1 <= 64535)); then
    first=$((high + 1)) last=65535
  else
    first=20000 last=60000
  fi
  for _ in $(seq 1 100); do
    port=$((first + (RANDOM * 32768 + RANDOM) % (last - first + 1)))
    if [[ $port != 5432 && $port != 6432 ]] && ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}
