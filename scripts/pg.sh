#!/usr/bin/env bash
# A local PostgreSQL cluster for this project.
#
#   scripts/pg.sh start|stop|restart|status|destroy|psql [psql args]
#   scripts/pg.sh standby-start|standby-stop|standby-destroy
#
# Environment:
#   RUN_DIR  where pg.env is written (default <repo>/.run)
#   PGPORT   TCP port on 127.0.0.1 (default 5433)
#   PG_FAST  1 = no fsync, no synchronous commit (throw-away clusters only)
#   PG_OPTS  more server options, e.g. "-c shared_buffers=1GB" (applied at start)
#   STANDBY_PORT  the standby's port (default: the one recorded by its last start, else PGPORT + 1)
#
# The cluster's files live outside the repository, in
#   /var/tmp/yingpei-pg-<first 12 hex digits of sha256(absolute RUN_DIR)>
# so that each RUN_DIR gets its own cluster, and so that the server never needs to enter the
# checkout. PostgreSQL refuses to run as root: when this script runs as root, that directory
# belongs to the `postgres` user and every server command runs as postgres (runuser); otherwise
# it belongs to the current user and commands run directly. (Run as root against a cluster that an
# ordinary user created for the same RUN_DIR, the commands run as that user.)
#
# `start` creates the cluster if needed, starts it, creates the roles grid_svc and cust_svc and
# their databases grid and cust, and writes $RUN_DIR/pg.env with (among others)
# GRID_DATABASE_URL and CUST_DATABASE_URL. It also makes the data middle platform's database,
# datahub, its roles datahub_repl (what datahub's subscriptions connect as) and datahub_reader
# (DATAHUB_DATABASE_URL: what cust-svc reads the report with), and runs the server with
# wal_level=logical so that datahub can subscribe (scripts/datahub.sh).
#
# `standby-start` makes a streaming standby of the running cluster (pg_basebackup -R, into
# <that directory>/standby) unless there is one, starts it as a hot standby on STANDBY_PORT and
# writes $RUN_DIR/standby.env with STANDBY_PORT, GRID_DATABASE_READ_URL and
# CUST_DATABASE_READ_URL. `standby-stop` stops it, `standby-destroy` removes it; `stop` and
# `destroy` take it along with the cluster.
set -euo pipefail

prog=pg.sh
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo_root/scripts/lib.sh"

die() {
    echo "$prog: $*" >&2
    exit 1
}

usage() {
    echo "usage: scripts/pg.sh start|stop|restart|status|destroy|psql [psql arguments]" >&2
    echo "       scripts/pg.sh standby-start|standby-stop|standby-destroy" >&2
    exit 2
}

RUN_DIR=$(realpath -m -- "${RUN_DIR:-$repo_root/.run}")
PG_ENV_FILE=$RUN_DIR/pg.env
hash=$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-12)
PG_BASE=/var/tmp/yingpei-pg-$hash
PGDATA=$PG_BASE/data
PG_SOCK=$PG_BASE/sock
PG_LOG=$PG_BASE/postgres.log
STANDBY_DATA=$PG_BASE/standby
STANDBY_LOG=$PG_BASE/standby.log
STANDBY_ENV_FILE=$RUN_DIR/standby.env

find_pg_bin() {
    local recorded candidates
    if recorded=$(env_value "$PG_ENV_FILE" PG_BIN) && [[ -x $recorded/pg_ctl ]]; then
        printf '%s' "$recorded"
        return
    fi
    candidates=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null |
        sort -V | tail -n 1)
    if [[ -z $candidates || ! -x $candidates/pg_ctl || ! -x $candidates/initdb ]]; then
        die "no PostgreSQL server found under /usr/lib/postgresql/*/bin; run scripts/deps.sh (or make deps)"
    fi
    printf '%s' "$candidates"
}

if [[ $(id -u) -eq 0 ]]; then
    as_root=1
    pg_user=postgres
    # A cluster made earlier by an ordinary user for the same RUN_DIR keeps running as that user.
    if [[ -d $PG_BASE && ! -L $PG_BASE ]]; then
        base_owner=$(stat -c %U "$PG_BASE")
        [[ $base_owner == root ]] || pg_user=$base_owner
    fi
    id -u "$pg_user" >/dev/null 2>&1 || die "running as root but there is no '$pg_user' user; install the postgresql package"
else
    as_root=0
    pg_user=$(id -un)
fi

# Run a server-side command as the cluster's owner. As root, start it from a directory the
# postgres user can enter (the current directory may be a checkout it cannot read).
run_pg() {
    if ((as_root)); then
        (cd "$PG_BASE" 2>/dev/null || cd /; exec runuser -u "$pg_user" -- "$@")
    else
        "$@"
    fi
}

is_running() {
    [[ -f $PGDATA/PG_VERSION ]] || return 1
    run_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

# Port of the running server, from line 4 of postmaster.pid.
running_port() {
    sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null
}

ensure_base() {
    if [[ -L $PG_BASE || (-e $PG_BASE && ! -d $PG_BASE) ]]; then
        die "$PG_BASE exists but is not a directory; remove it"
    fi
    if [[ ! -d $PG_BASE ]]; then
        mkdir -m 700 "$PG_BASE"
        if ((as_root)); then
            chown "$pg_user": "$PG_BASE"
        fi
    fi
    local owner
    owner=$(stat -c %U "$PG_BASE")
    if [[ $owner != "$pg_user" ]]; then
        if ((as_root)); then
            die "$PG_BASE belongs to root, not 'postgres'; remove it or use another RUN_DIR"
        fi
        die "$PG_BASE belongs to '$owner', not '$pg_user' (it was probably created by a run as root); remove it as root or use another RUN_DIR"
    fi
    if [[ ! -d $PG_SOCK ]]; then
        mkdir -m 700 "$PG_SOCK"
        if ((as_root)); then
            chown "$pg_user": "$PG_SOCK"
        fi
    fi
}

init_cluster() {
    local locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale=C.UTF-8
    fi
    echo "$prog: creating a PostgreSQL cluster in $PGDATA"
    if ! run_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale="$locale" \
        >"$PG_BASE/initdb.log" 2>&1; then
        cat "$PG_BASE/initdb.log" >&2
        die "initdb failed (log above, also in $PG_BASE/initdb.log)"
    fi
}

psql_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres
}

create_roles_and_databases() {
    { platform_databases_sql; cat <<'SQL'; } | psql_admin >/dev/null
SELECT format('CREATE ROLE %I LOGIN %s', r, a)
  FROM (VALUES ('datahub_repl', 'REPLICATION'), ('datahub_reader', '')) AS t(r, a)
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec
SELECT 'CREATE DATABASE datahub'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'datahub')
\gexec
SQL
}

write_env() {
    mkdir -p "$RUN_DIR"
    local tmp=$PG_ENV_FILE.tmp.$$
    {
        printf '%s=%q\n' PGDATA "$PGDATA" PG_BASE "$PG_BASE" PG_BIN "$PG_BIN" \
            PGHOST 127.0.0.1 PGPORT "$PGPORT" PG_LOG "$PG_LOG" \
            GRID_DATABASE_URL "postgresql://grid_svc@127.0.0.1:$PGPORT/grid" \
            CUST_DATABASE_URL "postgresql://cust_svc@127.0.0.1:$PGPORT/cust" \
            DATAHUB_DATABASE_URL "postgresql://datahub_reader@127.0.0.1:$PGPORT/datahub"
    } >"$tmp"
    mv -f "$tmp" "$PG_ENV_FILE"
}

cmd_start() {
    if ! [[ $PGPORT =~ ^[0-9]{1,5}$ ]] || ((10#$PGPORT < 1 || 10#$PGPORT > 65535)); then
        die "PGPORT=$PGPORT is not a valid port"
    fi
    ensure_base
    if ! is_running && port_in_use "$PGPORT"; then
        die "port $PGPORT is already in use by another program; choose another port with PGPORT=<port>"
    fi
    [[ -f $PGDATA/PG_VERSION ]] || init_cluster

    if is_running; then
        local actual
        actual=$(running_port)
        if [[ -n $actual && $actual != "$PGPORT" ]]; then
            echo "$prog: the cluster is already running on port $actual (not $PGPORT); using $actual"
            PGPORT=$actual
        fi
    else
        local opts="-p $PGPORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c max_connections=200"
        opts+=" -c wal_level=logical" # datahub subscribes to both platforms' databases
        if [[ ${PG_FAST:-0} == 1 ]]; then
            opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        fi
        opts+=" ${PG_OPTS:-}"
        local out
        if ! out=$(run_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -w -t 60 -l "$PG_LOG" start -o "$opts" 2>&1); then
            echo "$out" >&2
            echo "$prog: last lines of $PG_LOG:" >&2
            tail -n 20 "$PG_LOG" >&2 2>/dev/null || true
            die "PostgreSQL did not start on port $PGPORT"
        fi
    fi

    create_roles_and_databases || die "could not create the roles and databases (see $PG_LOG)"
    write_env
    echo "$prog: PostgreSQL running on 127.0.0.1:$PGPORT (data $PGDATA, log $PG_LOG); settings in $PG_ENV_FILE"
}

cmd_stop() {
    cmd_standby_stop
    if ! is_running; then
        echo "$prog: PostgreSQL for $RUN_DIR is not running"
        return 0
    fi
    local out
    if ! out=$(run_pg "$PG_BIN/pg_ctl" -D "$PGDATA" stop -m fast -w 2>&1); then
        echo "$out" >&2
        die "could not stop PostgreSQL (data $PGDATA)"
    fi
    echo "$prog: PostgreSQL stopped"
}

cmd_status() {
    if is_running; then
        echo "$prog: PostgreSQL running on 127.0.0.1:$(running_port) (data $PGDATA)"
        return 0
    fi
    if [[ -f $PGDATA/PG_VERSION ]]; then
        echo "$prog: PostgreSQL not running (data $PGDATA)"
    else
        echo "$prog: PostgreSQL not running (no cluster for $RUN_DIR)"
    fi
    return 3
}

cmd_destroy() {
    if [[ -d $PGDATA ]]; then
        cmd_stop
    fi
    # Guard against ever removing anything but our own directory.
    [[ $PG_BASE =~ ^/var/tmp/yingpei-pg-[0-9a-f]{12}$ ]] || die "refusing to remove $PG_BASE"
    rm -rf -- "$PG_BASE"
    rm -f -- "$PG_ENV_FILE" "$STANDBY_ENV_FILE"
    echo "$prog: removed $PG_BASE and $PG_ENV_FILE"
}

cmd_psql() {
    is_running || die "PostgreSQL for $RUN_DIR is not running; start it with scripts/pg.sh start"
    PGPORT=$(running_port)
    exec "$PG_BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"
}

# ---- the streaming standby ----

standby_running() {
    [[ -f $STANDBY_DATA/PG_VERSION ]] || return 1
    run_pg "$PG_BIN/pg_ctl" -D "$STANDBY_DATA" status >/dev/null 2>&1
}

# The port: STANDBY_PORT, else the one its last start recorded, else PGPORT + 1.
standby_port() {
    local recorded=""
    if [[ -r $STANDBY_ENV_FILE ]]; then
        recorded=$(grep -E '^STANDBY_PORT=' "$STANDBY_ENV_FILE" | tail -n 1 | cut -d= -f2)
    fi
    printf '%s' "${STANDBY_PORT:-${recorded:-$((10#$PGPORT + 1))}}"
}

# A hot standby must allow at least as much as its primary of these, whatever options the
# primary was started with: ask it.
standby_opts() {
    "$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c "
        SELECT string_agg(format('-c %s=%s', name, setting), ' ') FROM pg_settings
         WHERE name IN ('max_connections', 'max_prepared_transactions', 'max_locks_per_transaction',
                        'max_wal_senders', 'max_worker_processes', 'fsync')"
}

cmd_standby_start() {
    is_running || die "PostgreSQL for $RUN_DIR is not running; start it first (scripts/pg.sh start)"
    local port opts out
    port=$(standby_port)
    if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
        die "STANDBY_PORT=$port is not a valid port"
    fi
    if [[ ! -f $STANDBY_DATA/PG_VERSION ]]; then
        echo "$prog: copying the cluster into $STANDBY_DATA (pg_basebackup)"
        if ! run_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U postgres -D "$STANDBY_DATA" \
            -R -X stream -c fast >"$PG_BASE/basebackup.log" 2>&1; then
            cat "$PG_BASE/basebackup.log" >&2
            rm -rf -- "$STANDBY_DATA"
            die "pg_basebackup failed (log above); the primary must allow replication connections"
        fi
    fi
    if ! standby_running; then
        port_in_use "$port" && die "port $port is already in use; choose another with STANDBY_PORT=<port>"
        # hot_standby_feedback: a long read (an export) is not cancelled when the primary
        # vacuums rows it still sees.
        opts="-p $port -k $PG_SOCK -c listen_addresses=127.0.0.1 -c hot_standby=on"
        opts+=" -c hot_standby_feedback=on $(standby_opts) ${PG_OPTS:-}"
        if ! out=$(run_pg "$PG_BIN/pg_ctl" -D "$STANDBY_DATA" -w -t 60 -l "$STANDBY_LOG" start -o "$opts" 2>&1); then
            echo "$out" >&2
            tail -n 20 "$STANDBY_LOG" >&2 2>/dev/null || true
            die "the standby did not start on port $port"
        fi
    fi
    port=$(sed -n 4p "$STANDBY_DATA/postmaster.pid")
    {
        printf '%s=%q\n' STANDBY_PORT "$port" STANDBY_DATA "$STANDBY_DATA" STANDBY_LOG "$STANDBY_LOG" \
            GRID_DATABASE_READ_URL "postgresql://grid_svc@127.0.0.1:$port/grid" \
            CUST_DATABASE_READ_URL "postgresql://cust_svc@127.0.0.1:$port/cust"
    } >"$STANDBY_ENV_FILE.tmp.$$"
    mv -f "$STANDBY_ENV_FILE.tmp.$$" "$STANDBY_ENV_FILE"
    echo "$prog: standby of 127.0.0.1:$PGPORT running on 127.0.0.1:$port (log $STANDBY_LOG); settings in $STANDBY_ENV_FILE"
}

cmd_standby_stop() {
    standby_running || return 0
    local out
    if ! out=$(run_pg "$PG_BIN/pg_ctl" -D "$STANDBY_DATA" stop -m fast -w 2>&1); then
        echo "$out" >&2
        die "could not stop the standby (data $STANDBY_DATA)"
    fi
    echo "$prog: standby stopped"
}

cmd_standby_destroy() {
    cmd_standby_stop
    rm -rf -- "$STANDBY_DATA"
    rm -f -- "$STANDBY_LOG" "$PG_BASE/basebackup.log" "$STANDBY_ENV_FILE"
    echo "$prog: removed the standby"
}

(($# >= 1)) || usage
cmd=$1
shift

PG_BIN=$(find_pg_bin)
# `start` honours PGPORT from the environment; without it, and for the other commands, the
# port recorded by the last start is used.
if [[ $cmd != start || -z ${PGPORT:-} ]] && recorded_port=$(env_value "$PG_ENV_FILE" PGPORT) && [[ -n $recorded_port ]]; then
    PGPORT=$recorded_port
fi
PGPORT=${PGPORT:-5433}
# Our own settings must not be overridden by PG* variables from the caller's environment.
unset PGHOST PGUSER PGDATABASE PGSERVICE PGOPTIONS PGPASSFILE PGSSLMODE
export PGPORT

case $cmd in
start) (($# == 0)) || usage; cmd_start ;;
stop) (($# == 0)) || usage; cmd_stop ;;
restart)
    (($# == 0)) || usage
    cmd_stop
    cmd_start
    ;;
status) (($# == 0)) || usage; cmd_status ;;
destroy) (($# == 0)) || usage; cmd_destroy ;;
psql) cmd_psql "$@" ;;
standby-start) (($# == 0)) || usage; cmd_standby_start ;;
standby-stop) (($# == 0)) || usage; cmd_standby_stop ;;
standby-destroy) (($# == 0)) || usage; cmd_standby_destroy ;;
*) usage ;;
esac
