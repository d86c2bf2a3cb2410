#!/usr/bin/env bash
# Makes sure Postgres and Redis answer (and, with --chromium, that Debian's chromium is installed; with
# --promtool, that promtool is, from Debian's prometheus package, for the alert rule tests).
# Idempotent: when everything already runs it only checks, in well under a second.
# Works on the project's machines (services pre-started, trust auth) and on a fresh Debian box as root
# (installs from apt, starts without systemd, sets the password the default DATABASE_URL uses).
# Only services on 127.0.0.1/localhost are started or changed; remote ones are merely checked.
#
# --for-start (what `npm start` runs first): says what it does, and leaves alone a service whose URL you
# set yourself (DATABASE_URL, REDIS_URL: your own server, the app connects to it as given), or both with
# BSM_SETUP_SERVICES=false.
set -euo pipefail

WANT_CHROMIUM=0
WANT_PROMTOOL=0
FOR_START=0
for arg in "$@"; do
  case "$arg" in
    --chromium) WANT_CHROMIUM=1 ;;
    --promtool) WANT_PROMTOOL=1 ;;
    --for-start) FOR_START=1 ;;
    -h|--help) echo "usage: $0 [--chromium] [--promtool] [--for-start]"; exit 0 ;;
    *) echo "start-services: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

SETUP_PG=1
SETUP_REDIS=1
if [ "$FOR_START" -eq 1 ]; then
  case "${BSM_SETUP_SERVICES:-true}" in
    false|0|no|off)
      echo "services: set-up skipped (BSM_SETUP_SERVICES=${BSM_SETUP_SERVICES}); using DATABASE_URL and REDIS_URL as they are"
      exit 0 ;;
  esac
  if [ -n "${DATABASE_URL:-}" ]; then
    SETUP_PG=0
    echo "postgres: DATABASE_URL is set: using your server as given (nothing started or installed)"
  else
    echo "postgres: DATABASE_URL not set: using local Postgres on 127.0.0.1:5432, starting it (or installing it from apt) if needed; set DATABASE_URL to use your own"
  fi
  if [ -n "${REDIS_URL:-}" ]; then
    SETUP_REDIS=0
    echo "redis: REDIS_URL is set: using your server as given (nothing started or installed)"
  else
    echo "redis: REDIS_URL not set: using local Redis on 127.0.0.1:6379, starting it (or installing it from apt) if needed; set REDIS_URL to use your own"
  fi
fi

DATABASE_URL="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export DEBIAN_FRONTEND=noninteractive PGCONNECT_TIMEOUT=3

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

have() { command -v "$1" >/dev/null 2>&1; }
is_local() { case "$1" in 127.0.0.1|localhost|::1|'[::1]') return 0 ;; *) return 1 ;; esac; }

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then $SUDO apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Splits scheme://[user[:pass]@]host[:port][/path][?query] into URL_USER URL_PASS URL_HOST URL_PORT URL_PATH.
# No percent-decoding: fine for the defaults and for the simple credentials used on dev/CI machines.
parse_url() {
  local rest="${1#*://}" auth="" hostport
  URL_PATH="" URL_USER="" URL_PASS=""
  rest="${rest%%\?*}"
  case "$rest" in */*) URL_PATH="${rest#*/}"; rest="${rest%%/*}" ;; esac
  case "$rest" in *@*) auth="${rest%@*}"; hostport="${rest##*@}" ;; *) hostport="$rest" ;; esac
  URL_USER="${auth%%:*}"
  case "$auth" in *:*) URL_PASS="${auth#*:}" ;; esac
  if [[ "$hostport" =~ ^\[(.*)\](:([0-9]+))?$ ]] || [[ "$hostport" =~ ^([^:]*)(:([0-9]+))?$ ]]; then
    URL_HOST="${BASH_REMATCH[1]}"; URL_PORT="${BASH_REMATCH[3]}"
  else
    URL_HOST="$hostport"; URL_PORT=""
  fi
  URL_HOST="${URL_HOST:-127.0.0.1}"
}

wait_for() { # wait_for <seconds> <command...>
  local deadline=$(( SECONDS + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------- Postgres
if [ "$SETUP_PG" -eq 1 ]; then
parse_url "$DATABASE_URL"
PG_HOST="$URL_HOST" PG_PORT="${URL_PORT:-5432}" PG_USER="${URL_USER:-postgres}" PG_PASS="$URL_PASS"
PG_DB="${URL_PATH:-$PG_USER}"
pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }
pg_login() { psql "$DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1; }
pg_note=""

start_local_postgres() {
  if ! have pg_lsclusters; then
    echo "postgres: not installed, installing from apt..." >&2
    apt_install postgresql
    pg_note=" (installed)"
  fi
  # Start the cluster(s) configured for our port; create one only if the machine has none at all (rare).
  local found=0 any=0 ver name port status
  while read -r ver name port status _; do
    any=1
    [ "$port" = "$PG_PORT" ] || continue
    found=1
    if [ "$status" != "online" ]; then
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
      pg_note="$pg_note (started cluster $ver/$name)"
    fi
  done < <(pg_lsclusters --no-header 2>/dev/null || true)
  if [ "$found" -eq 0 ]; then
    if [ "$any" -eq 1 ]; then
      echo "postgres: FAILED, no cluster listens on port $PG_PORT (pg_lsclusters shows others); fix DATABASE_URL" >&2
      exit 1
    fi
    ver="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
    $SUDO pg_createcluster --port "$PG_PORT" "$ver" main >/dev/null
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    pg_note="$pg_note (created and started cluster $ver/main)"
  fi
}

# As the postgres OS user over the local socket (peer auth); cd / spares psql's "cannot cd to /root" noise.
as_pg() { (cd / && su postgres -c "psql -X -q -p $PG_PORT -v ON_ERROR_STOP=1 $*"); }

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

# Fresh Debian: TCP logins need a password (scram), and the postgres role has none. Set the URL's one.
fix_local_login() {
  local pass="${PG_PASS:-postgres}" sql
  local ident; ident="$(sql_ident "$PG_USER")"
  if [ "$PG_USER" = "postgres" ]; then
    sql="ALTER ROLE postgres PASSWORD $(sql_quote "$pass");"
  else
    sql="DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = $(sql_quote "$PG_USER")) THEN
           CREATE ROLE $ident LOGIN CREATEDB; END IF; END\$\$;
         ALTER ROLE $ident LOGIN PASSWORD $(sql_quote "$pass");"
  fi
  as_pg <<<"$sql" >/dev/null
  if [ -z "$(as_pg -At <<<"SELECT 1 FROM pg_database WHERE datname = $(sql_quote "$PG_DB")")" ]; then
    as_pg <<<"CREATE DATABASE $(sql_ident "$PG_DB") OWNER $ident;" >/dev/null
  fi
  pg_note="$pg_note (set password for role $PG_USER)"
}

if ! have pg_isready && ! is_local "$PG_HOST"; then apt_install postgresql-client; fi
if ! have pg_isready || ! pg_up; then
  if is_local "$PG_HOST"; then
    start_local_postgres
    wait_for 30 pg_up || { echo "postgres: FAILED, nothing answers on $PG_HOST:$PG_PORT" >&2; exit 1; }
  else
    echo "postgres: FAILED, $PG_HOST:$PG_PORT does not answer (remote host: not starting anything)" >&2
    exit 1
  fi
fi
if ! pg_login; then
  if is_local "$PG_HOST" && [ "$(id -u)" -eq 0 ]; then fix_local_login; fi
  pg_login || { echo "postgres: FAILED, up on $PG_HOST:$PG_PORT but cannot log in as $PG_USER to $PG_DB" >&2; exit 1; }
fi
echo "postgres: ready on $PG_HOST:$PG_PORT, login ok as $PG_USER/$PG_DB$pg_note"
fi

# ---------------------------------------------------------------- Redis
if [ "$SETUP_REDIS" -eq 1 ]; then
parse_url "$REDIS_URL"
RD_HOST="$URL_HOST" RD_PORT="${URL_PORT:-6379}"
rd_note=""
# redis-cli exits 0 on error replies (e.g. NOAUTH), so look at the answer itself.
redis_up() { [ "$(redis-cli -u "$REDIS_URL" --no-auth-warning ping 2>/dev/null)" = "PONG" ]; }

if ! have redis-cli && ! is_local "$RD_HOST"; then apt_install redis-tools; fi
if ! have redis-cli || ! redis_up; then
  if is_local "$RD_HOST"; then
    if ! have redis-server; then
      echo "redis: not installed, installing from apt..." >&2
      apt_install redis-server
      rd_note=" (installed)"
    fi
    # Nothing on disk: Redis holds only queue state that tests recreate.
    if ! redis_up; then
      $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port "$RD_PORT" --save "" --appendonly no \
        --dir /tmp --logfile "/tmp/redis-$RD_PORT.log" >/dev/null
      rd_note="$rd_note (started)"
    fi
    wait_for 10 redis_up || { echo "redis: FAILED, nothing answers on $RD_HOST:$RD_PORT (see /tmp/redis-$RD_PORT.log)" >&2; exit 1; }
  else
    echo "redis: FAILED, $RD_HOST:$RD_PORT does not answer (remote host: not starting anything)" >&2
    exit 1
  fi
fi
echo "redis: ready on $RD_HOST:$RD_PORT$rd_note"
fi

# ---------------------------------------------------------------- Chromium (browser tests)
if [ "$WANT_CHROMIUM" -eq 1 ]; then
  if [ -x /usr/bin/chromium ]; then
    echo "chromium: /usr/bin/chromium"
  else
    echo "chromium: not installed, installing from apt (about 20 s)..." >&2
    apt_install chromium
    echo "chromium: /usr/bin/chromium (installed)"
  fi
fi

# ---------------------------------------------------------------- promtool (alert rule tests)
if [ "$WANT_PROMTOOL" -eq 1 ]; then
  if have promtool; then
    echo "promtool: $(command -v promtool)"
  else
    # The package is Prometheus itself; we use only its promtool (where systemd runs, the package also
    # starts a Prometheus server on :9090, which nothing here needs).
    echo "promtool: not installed, installing Debian's prometheus package (about 10 s)..." >&2
    apt_install prometheus
    echo "promtool: $(command -v promtool) (installed)"
  fi
fi
