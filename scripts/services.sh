#!/usr/bin/env bash
# Private Postgres 15 and Redis 7 instances for THIS checkout only.
#
# Usage: scripts/services.sh COMMAND
#   start             start both (safe to repeat); prints two `export ...` lines on
#                     stdout, everything else on stderr, so callers can do
#                         out=$(scripts/services.sh start) && eval "$out"
#   stop              stop both (only our own instances, found by pid file)
#   status            show both; exit 0 if both run, 3 otherwise
#   start-postgres | stop-postgres | restart-postgres
#   start-redis    | stop-redis    | restart-redis
#                     single-service variants (tests use them to simulate outages);
#                     start-*/restart-* print the one matching `export` line.
#
# State lives under <repo>/.run:
#   .run/postgres/{data,log,sock}      Postgres cluster, server log, unix socket dir
#   .run/redis/{redis.conf,redis.pid,redis.log,appendonlydir}
#
# Ports: PG_PORT (default 54329) and REDIS_PORT (default 63799). When the variable is
# not set, the port the instance was last configured with (recorded in its config file)
# is reused, so e.g. `start-postgres` from a test process without PG_PORT in its
# environment brings Postgres back on the same port. Both listen on 127.0.0.1 only.
# System-wide services, the default ports 5432/6379 and /var/run are never touched.
#
# When run as root, Postgres runs as the `postgres` OS user (via runuser) and
# .run/postgres is owned by it; otherwise everything runs as the current user.
set -euo pipefail

# ---------------------------------------------------------------------------------
# Paths and settings
# ---------------------------------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)
RUN_DIR="$ROOT/.run"

PG_DIR="$RUN_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/log"
PG_SOCK="$PG_DIR/sock"
PG_CONF="$PG_DATA/postgresql.conf"
PG_HBA="$PG_DATA/pg_hba.conf"
PG_BIN=/usr/lib/postgresql/15/bin

REDIS_DIR="$RUN_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

DEFAULT_PG_PORT=54329
DEFAULT_REDIS_PORT=63799
WAIT_SECONDS=30            # bound for every "wait until up/down" loop

APP_USER=jobserver
APP_PASSWORD=jobserver
APP_DB=jobserver

# Marker lines around the settings we manage in postgresql.conf.
# Matched as exact whole lines (awk), so they may contain any characters.
PG_CONF_BEGIN="# BEGIN settings managed by jobserver scripts/services.sh (rewritten on every start)"
PG_CONF_END="# END settings managed by jobserver scripts/services.sh"

# Keep the caller's libpq environment from redirecting our own psql/pg_ctl calls.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE \
      PGSERVICEFILE PGOPTIONS PGSSLMODE PGDATA PGTARGETSESSIONATTRS 2>/dev/null || true

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

# ---------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------
log() { echo "services.sh: $*" >&2; }
die() { echo "services.sh: ERROR: $*" >&2; exit 1; }

# Print the last lines of a log file to stderr (used when something fails to start).
show_log_tail() {
  local file=$1
  if [[ -r $file ]]; then
    echo "---- last 30 lines of $file ----" >&2
    tail -n 30 "$file" >&2 || true
    echo "---- end of $file ----" >&2
  else
    echo "(no log file at $file)" >&2
  fi
}

# Run a command as the OS user that owns the Postgres cluster. From "/" so that a
# working directory the postgres user cannot read does not produce warnings.
# fds 3 (saved stdout of `start`) and 9 (lock) are closed so that the postmaster
# never inherits them (an inherited stdout pipe would make `$(services.sh start)` hang).
as_pg() {
  if ((IS_ROOT)); then
    (cd / && runuser -u postgres -- "$@" 3>&- 9>&-)
  else
    (cd / && "$@" 3>&- 9>&-)
  fi
}

# Is anything accepting TCP connections on 127.0.0.1:$1?
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

validate_port() {
  local name=$1 port=$2
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1024 || port > 65535)); then
    die "$name must be a port number between 1024 and 65535 (got '$port')"
  fi
  if [[ $name == PG_PORT && $port == 5432 ]] || [[ $name == REDIS_PORT && $port == 6379 ]]; then
    die "$name=$port is the system-wide default port; pick another one"
  fi
}

require_binaries() {
  local b
  for b in "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/postgres" "$PG_BIN/psql" \
           "$PG_BIN/pg_isready"; do
    [[ -x $b ]] || die "missing $b (PostgreSQL 15); run scripts/setup.sh"
  done
  command -v redis-server >/dev/null || die "redis-server not found; run scripts/setup.sh"
  command -v redis-cli >/dev/null || die "redis-cli not found; run scripts/setup.sh"
  if ((IS_ROOT)); then
    command -v runuser >/dev/null || die "runuser not found (util-linux)"
    id -u postgres >/dev/null 2>&1 || die "OS user 'postgres' does not exist; run scripts/setup.sh"
  fi
}

# Serialize concurrent invocations (e.g. parallel tests calling restart-redis).
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.services.lock"
  flock -w 120 9 || die "could not lock $RUN_DIR/.services.lock within 120 s"
}

# ---------------------------------------------------------------------------------
# Postgres
# ---------------------------------------------------------------------------------

# Port recorded in our managed block of postgresql.conf (empty if none).
pg_recorded_port() {
  [[ -r $PG_CONF ]] || return 0
  awk -v b="$PG_CONF_BEGIN" -v e="$PG_CONF_END" '
    $0 == b { inside = 1; next }
    $0 == e { inside = 0; next }
    inside && match($0, /^port *= *[0-9]+/) { p = $0; sub(/^port *= */, "", p); sub(/[^0-9].*$/, "", p) }
    END { if (p != "") print p }' "$PG_CONF"
}

# postgresql.conf without our managed block.
pg_conf_without_block() {
  awk -v b="$PG_CONF_BEGIN" -v e="$PG_CONF_END" '
    $0 == b { inside = 1; next }
    $0 == e { inside = 0; next }
    !inside { print }' "$PG_CONF"
}

# Port requested for the next start: env PG_PORT, else recorded, else default.
pg_wanted_port() {
  local p=${PG_PORT:-}
  [[ -n $p ]] || p=$(pg_recorded_port)
  [[ -n $p ]] || p=$DEFAULT_PG_PORT
  validate_port PG_PORT "$p"
  echo "$p"
}

# Is our postmaster running? (pg_ctl status checks data/postmaster.pid and the pid)
pg_running() {
  [[ -f $PG_DATA/PG_VERSION ]] || return 1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# pid and port of the running postmaster, from postmaster.pid (lines 1 and 4).
pg_running_pid()  { sed -n 1p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }
pg_running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

# The postgres OS user must be able to reach .run/postgres: every ancestor directory
# needs the search (x) permission for it. Fail with a clear message if one does not.
pg_check_traversal() {
  ((IS_ROOT)) || return 0
  local path="" part
  local -a parts
  IFS=/ read -r -a parts <<<"${PG_DIR#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    [[ -d $path ]] || break          # not created yet: its parents were checked
    if ! runuser -u postgres -- test -x "$path" 2>/dev/null; then
      die "the 'postgres' OS user cannot traverse $path (mode $(stat -c '%A %U:%G' "$path")).
Postgres runs as 'postgres' and needs search permission on every directory above
$PG_DIR. Fix with e.g.:  chmod o+x '$path'   (or move the checkout elsewhere)"
    fi
  done
}

# Create .run/postgres (owned by the cluster user, mode 700) and the socket dir.
pg_prepare_dirs() {
  mkdir -p "$RUN_DIR"
  # .run is ours; make sure the postgres user may pass through it.
  ((IS_ROOT)) && chmod go+x "$RUN_DIR"
  mkdir -p "$PG_DIR" "$PG_SOCK"
  chmod 700 "$PG_DIR" "$PG_SOCK"   # local connections are `trust`: keep the socket private
  if ((IS_ROOT)); then
    # Re-own everything if the tree is not (entirely) postgres' yet, e.g. after a copy.
    if [[ -n $(find "$PG_DIR" ! -user postgres -print -quit) ]]; then
      chown -R postgres:postgres "$PG_DIR"
    fi
  fi
  pg_check_traversal

  # Unix socket paths are limited to 107 bytes (sizeof(sun_path) - 1).
  local sock_path="$PG_SOCK/.s.PGSQL.$1"
  if ((${#sock_path} > 107)); then
    die "unix socket path too long (${#sock_path} > 107 bytes): $sock_path
Move the checkout to a shorter path."
  fi
}

# initdb once.
pg_initdb() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  if [[ -d $PG_DATA ]] && [[ -n $(ls -A "$PG_DATA") ]]; then
    die "$PG_DATA exists, is not empty and is not a Postgres cluster; remove it first"
  fi
  local locale=C
  [[ $(LC_ALL=C.UTF-8 locale charmap 2>/dev/null) == UTF-8 ]] && locale=C.UTF-8
  log "initializing Postgres cluster in $PG_DATA (locale $locale)"
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale="$locale" >"$PG_DIR/initdb.log" 2>&1; then
    show_log_tail "$PG_DIR/initdb.log"
    die "initdb failed"
  fi
  ((IS_ROOT)) && chown postgres:postgres "$PG_DIR/initdb.log"
  return 0
}

# (Re)write our block of settings in postgresql.conf and make sure pg_hba.conf lets
# 127.0.0.1 log in with scram-sha-256. Done on every start while the server is down,
# so a changed PG_PORT or a moved checkout (socket dir path) is picked up.
# Files are rewritten in place (truncate + write), which keeps their postgres ownership.
pg_configure() {
  local port=$1 current new
  current=$(pg_conf_without_block)
  new="$current
$PG_CONF_BEGIN
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_SOCK'
max_connections = 300
shared_buffers = 256MB
log_min_messages = warning
$PG_CONF_END"
  if [[ $new != "$(cat "$PG_CONF")" ]]; then
    printf '%s\n' "$new" >"$PG_CONF"
  fi
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+scram-sha-256' "$PG_HBA"; then
    log "adding 'host all all 127.0.0.1/32 scram-sha-256' to pg_hba.conf"
    printf '%s\n' "host    all             all             127.0.0.1/32            scram-sha-256" >>"$PG_HBA"
  fi
}

# psql as the postgres superuser over our unix socket.
pg_psql_admin() {
  local port=$1; shift
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$port" -U postgres \
    -d postgres "$@"
}

# Create role and database jobserver if missing; (re)assert the role's attributes.
pg_ensure_app_db() {
  local port=$1 exists
  exists=$(pg_psql_admin "$port" -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$APP_USER'")
  if [[ $exists != 1 ]]; then
    log "creating role $APP_USER"
    pg_psql_admin "$port" -c "CREATE ROLE $APP_USER LOGIN PASSWORD '$APP_PASSWORD' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE" >&2
  else
    pg_psql_admin "$port" -c "ALTER ROLE $APP_USER LOGIN PASSWORD '$APP_PASSWORD' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE" >&2
  fi
  exists=$(pg_psql_admin "$port" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$APP_DB'")
  if [[ $exists != 1 ]]; then
    log "creating database $APP_DB"
    pg_psql_admin "$port" -c "CREATE DATABASE $APP_DB OWNER $APP_USER" >&2
  fi
}

# Wait (bounded) until Postgres accepts TCP connections on 127.0.0.1:$1.
pg_wait_ready() {
  local port=$1 deadline=$((SECONDS + WAIT_SECONDS))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 3>&- 9>&-; do
    if ((SECONDS >= deadline)); then
      show_log_tail "$PG_LOG"
      die "Postgres did not accept connections on 127.0.0.1:$port within ${WAIT_SECONDS}s"
    fi
    sleep 0.2
  done
}

start_postgres() {
  local port
  port=$(pg_wanted_port)
  if pg_running; then
    local running_port
    running_port=$(pg_running_port)
    if [[ -n ${PG_PORT:-} && $running_port != "$PG_PORT" ]]; then
      die "our Postgres is already running on port $running_port but PG_PORT=$PG_PORT; run '$0 stop-postgres' first"
    fi
    port=$running_port
    log "Postgres already running (pid $(pg_running_pid), port $port)"
    pg_wait_ready "$port"
  else
    pg_prepare_dirs "$port"
    if port_in_use "$port"; then
      die "port $port on 127.0.0.1 is already in use by another process (not our Postgres); set PG_PORT to a free port"
    fi
    pg_initdb
    pg_configure "$port"
    log "starting Postgres on 127.0.0.1:$port (log: $PG_LOG)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECONDS" start >&2; then
      show_log_tail "$PG_LOG"
      die "Postgres failed to start"
    fi
    pg_wait_ready "$port"
  fi
  pg_ensure_app_db "$port"
  # Final check: the application's own login over TCP works (pg_hba + password).
  if ! PGPASSWORD=$APP_PASSWORD PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -w -h 127.0.0.1 \
        -p "$port" -U "$APP_USER" -d "$APP_DB" -tA -c 'SELECT 1' >/dev/null 3>&- 9>&-; then
    show_log_tail "$PG_LOG"
    die "Postgres is up but $APP_USER cannot log in over 127.0.0.1:$port"
  fi
  log "Postgres ready (pid $(pg_running_pid), port $port)"
  PG_PORT_IN_USE=$port
}

stop_postgres() {
  if ! pg_running; then
    log "Postgres not running"
    return 0
  fi
  local pid
  pid=$(pg_running_pid)
  log "stopping Postgres (pid $pid)"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$WAIT_SECONDS" stop >&2; then
    log "fast shutdown did not finish in ${WAIT_SECONDS}s; trying immediate shutdown"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t "$WAIT_SECONDS" stop >&2 \
      || die "could not stop Postgres (pid $pid)"
  fi
  # pg_ctl -w returns once postmaster.pid is gone; also wait for the process itself.
  local deadline=$((SECONDS + WAIT_SECONDS))
  while [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || die "Postgres (pid $pid) still alive after ${WAIT_SECONDS}s"
    sleep 0.1
  done
  log "Postgres stopped"
}

# ---------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------

redis_recorded_port() {
  [[ -r $REDIS_CONF ]] || return 0
  awk '$1 == "port" { p = $2 } END { if (p != "") print p }' "$REDIS_CONF"
}

redis_wanted_port() {
  local p=${REDIS_PORT:-}
  [[ -n $p ]] || p=$(redis_recorded_port)
  [[ -n $p ]] || p=$DEFAULT_REDIS_PORT
  validate_port REDIS_PORT "$p"
  echo "$p"
}

# Print the pid from our pid file if that process is alive and is OUR redis-server
# (a redis-server whose working directory is .run/redis, which Redis chdir()s to).
# Returns 1 otherwise.
redis_pid() {
  [[ -r $REDIS_PID ]] || return 1
  local pid cmd cwd
  pid=$(tr -dc '0-9' <"$REDIS_PID")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *redis-server* ]] || return 1
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
  [[ $cwd == "$REDIS_DIR" ]] || return 1
  echo "$pid"
}

redis_cli() {
  local port=$1; shift
  redis-cli -h 127.0.0.1 -p "$port" "$@" 3>&- 9>&-
}

# Does 127.0.0.1:$1 answer PING with PONG, and is it the redis with pid $2?
redis_answering() {
  local port=$1 pid=$2 pong info
  pong=$(redis_cli "$port" ping 2>/dev/null) || return 1
  [[ $pong == PONG ]] || return 1
  info=$(redis_cli "$port" info server 2>/dev/null) || return 1
  [[ $info =~ process_id:([0-9]+) ]] && [[ ${BASH_REMATCH[1]} == "$pid" ]]
}

# Wait (bounded) until our redis-server is running and answering on port $1.
redis_wait_ready() {
  local port=$1 deadline=$((SECONDS + WAIT_SECONDS)) pid
  while :; do
    if pid=$(redis_pid) && redis_answering "$port" "$pid"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$REDIS_LOG"
      die "Redis did not answer PING on 127.0.0.1:$port within ${WAIT_SECONDS}s"
    fi
    sleep 0.2
  done
}

start_redis() {
  local port pid
  port=$(redis_wanted_port)
  mkdir -p "$REDIS_DIR"
  chmod 700 "$REDIS_DIR"
  if pid=$(redis_pid); then
    local running_port
    running_port=$(redis_recorded_port)
    if [[ -n ${REDIS_PORT:-} && $running_port != "$REDIS_PORT" ]]; then
      die "our Redis is already running on port $running_port but REDIS_PORT=$REDIS_PORT; run '$0 stop-redis' first"
    fi
    port=$running_port
    log "Redis already running (pid $pid, port $port)"
    redis_wait_ready "$port"
  else
    rm -f "$REDIS_PID"   # stale (crash) or absent
    if port_in_use "$port"; then
      die "port $port on 127.0.0.1 is already in use by another process (not our Redis); set REDIS_PORT to a free port"
    fi
    cat >"$REDIS_CONF" <<EOF
# Written by scripts/services.sh on every start; edits will be overwritten.
bind 127.0.0.1
port $port
protected-mode yes
dir "$REDIS_DIR"
appendonly yes
appendfsync everysec
save ""
daemonize yes
pidfile "$REDIS_PID"
logfile "$REDIS_LOG"
EOF
    log "starting Redis on 127.0.0.1:$port (log: $REDIS_LOG)"
    # daemonize yes: redis-server forks and returns at once; failures (e.g. bind
    # errors) only show up in the log, hence the readiness wait below.
    if ! (cd "$REDIS_DIR" && redis-server "$REDIS_CONF" </dev/null >&2 3>&- 9>&-); then
      show_log_tail "$REDIS_LOG"
      die "redis-server failed to start"
    fi
    redis_wait_ready "$port"
  fi
  log "Redis ready (pid $(redis_pid), port $port)"
  REDIS_PORT_IN_USE=$port
}

stop_redis() {
  local pid
  if ! pid=$(redis_pid); then
    [[ -e $REDIS_PID ]] && { log "removing stale $REDIS_PID"; rm -f "$REDIS_PID"; }
    log "Redis not running"
    return 0
  fi
  log "stopping Redis (pid $pid)"
  # SIGTERM = graceful SHUTDOWN: flushes/fsyncs the AOF; `save ""` means no RDB dump.
  # Signalling the pid from our pid file guarantees we only stop our own instance.
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + WAIT_SECONDS))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "Redis (pid $pid) did not exit within ${WAIT_SECONDS}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  rm -f "$REDIS_PID"
  log "Redis stopped"
}

# ---------------------------------------------------------------------------------
# status
# ---------------------------------------------------------------------------------

# Prints one stable line per service, e.g.
#   postgres: running pid=123 port=54329 data=/work/main/.run/postgres/data
#   redis: stopped
status_all() {
  local ok=0 pid
  if pg_running; then
    echo "postgres: running pid=$(pg_running_pid) port=$(pg_running_port) data=$PG_DATA"
  else
    echo "postgres: stopped"
    ok=3
  fi
  if pid=$(redis_pid); then
    echo "redis: running pid=$pid port=$(redis_recorded_port) dir=$REDIS_DIR"
  else
    echo "redis: stopped"
    ok=3
  fi
  return "$ok"
}

# ---------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------
pg_export()    { echo "export DATABASE_URL=postgresql://$APP_USER:$APP_PASSWORD@127.0.0.1:$PG_PORT_IN_USE/$APP_DB" >&3; }
redis_export() { echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT_IN_USE/0" >&3; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  case $cmd in
    -h | --help | help) usage ;;
  esac

  # For commands that start things: stdout is reserved for the `export` lines (fd 3),
  # everything else (including output of the tools we run) goes to stderr.
  exec 3>&1 1>&2

  require_binaries
  take_lock
  case $cmd in
    start)
      start_postgres
      start_redis
      pg_export
      redis_export
      ;;
    stop)
      stop_redis
      stop_postgres
      ;;
    status)
      exec 1>&3   # status reports on stdout
      status_all
      ;;
    start-postgres)   start_postgres; pg_export ;;
    stop-postgres)    stop_postgres ;;
    restart-postgres) stop_postgres; start_postgres; pg_export ;;
    start-redis)      start_redis; redis_export ;;
    stop-redis)       stop_redis ;;
    restart-redis)    stop_redis; start_redis; redis_export ;;
    *)
      log "unknown command '$cmd'"
      usage
      ;;
  esac
}

main "$@"
