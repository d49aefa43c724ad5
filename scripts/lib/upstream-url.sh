# Sourced by scripts that take a postgres:// upstream URL (quickstart.sh, bench.sh); not run alone.
#
# parse_upstream_url URL fills these globals, or returns 1 when URL is not a postgres:// URL
# with a single host:
#   url_userinfo  user[:password] exactly as written (still percent-encoded)
#   url_user      the user, decoded; $USER (or postgres) when the URL names none, as libpq does
#   url_password  the password, decoded; empty when the URL has none
#   url_host      the host, without the brackets of an IPv6 literal
#   url_port      the port; 5432 when the URL names none
#   url_db_raw    the database as written (still percent-encoded); may be empty
#   url_db        the database, decoded; the user's name when the URL names none, as libpq does
#   url_sslmode   the sslmode query parameter; empty when absent
# shellcheck shell=bash

percent_decode() {
  local text=${1//\\/\\\\}
  printf '%b' "${text//%/\\x}"
}

# shellcheck disable=SC2034 # the url_* globals are this function's output, read by the caller
parse_upstream_url() {
  local pattern='^postgres(ql)?://(([^@/]*)@)?(\[[^]/]*\]|[^]:/?[]*)(:([0-9]+))?(/([^?]*))?(\?(.*))?$'
  [[ $1 =~ $pattern ]] || return 1
  url_userinfo=${BASH_REMATCH[3]}
  url_host=${BASH_REMATCH[4]}
  url_port=${BASH_REMATCH[6]:-5432}
  url_db_raw=${BASH_REMATCH[8]}
  local query=${BASH_REMATCH[10]}
  url_user=$(percent_decode "${url_userinfo%%:*}")
  url_password=""
  if [[ $url_userinfo == *:* ]]; then
    url_password=$(percent_decode "${url_userinfo#*:}")
  fi
  url_user=${url_user:-${USER:-postgres}}
  url_db=$(percent_decode "${url_db_raw:-$url_user}")
  url_sslmode=""
  if [[ $query =~ (^|&)sslmode=([a-z-]+) ]]; then
    url_sslmode=${BASH_REMATCH[2]}
  fi
  url_host=${url_host#[}
  url_host=${url_host%]}
}
