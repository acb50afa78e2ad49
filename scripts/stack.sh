#!/usr/bin/env bash
# Start and stop the whole local stack: PostgreSQL (scripts/pg.sh), grid-svc and cust-svc, and
# the data middle platform's database, datahub, subscribed to both (scripts/datahub.sh).
#
#   scripts/stack.sh up|down|status
#
# Environment (defaults in brackets):
#   RUN_DIR    pid files, logs, pg.env and stack.env            [<repo>/.run]
#   BIN_DIR    where grid-svc and cust-svc are built            [<repo>/build]
#   GRID_PORT  grid-svc port on 127.0.0.1                       [8081]
#   CUST_PORT  cust-svc port on 127.0.0.1                       [8082]
#   PGPORT     PostgreSQL port on 127.0.0.1                     [5433]
#   PG_FAST    1 = PostgreSQL without fsync (throw-away data)   [0]
#   LOG_LEVEL  daemons' log level                               [info]
#
# Files in RUN_DIR, per daemon NAME (grid-svc, cust-svc):
#   NAME.log          the daemon's stdout and stderr (appended)
#   NAME.pid          the daemon's own PID (the one to signal)
#   NAME.wrapper.pid  PID of the small bash process that waits for the daemon
#   NAME.exit         the daemon's exit status, written by the wrapper once it has exited
#   stack.env         GRID_URL, CUST_URL, GRID_PORT, CUST_PORT, PGPORT, GRID_BIN, CUST_BIN
set -euo pipefail

prog=stack.sh
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pg_sh=$repo_root/scripts/pg.sh
# shellcheck source=scripts/lib.sh
. "$repo_root/scripts/lib.sh"

die() {
    echo "$prog: $*" >&2
    exit 1
}

usage() {
    echo "usage: scripts/stack.sh up|down|status" >&2
    exit 2
}

RUN_DIR=$(realpath -m -- "${RUN_DIR:-$repo_root/.run}")
BIN_DIR=$(realpath -m -- "${BIN_DIR:-$repo_root/build}")
STACK_ENV=$RUN_DIR/stack.env
export RUN_DIR

names=(grid-svc cust-svc)

# The binary a daemon was started from: recorded in stack.env by `up`, else BIN_DIR/NAME.
daemon_bin() {
    local name=$1 key recorded
    key=GRID_BIN
    [[ $name == cust-svc ]] && key=CUST_BIN
    recorded=$(env_value "$STACK_ENV" "$key")
    printf '%s' "${recorded:-$BIN_DIR/$name}"
}

# True if PID is alive and runs our daemon binary: its argv[0] (or argv[1], for a program run
# by an interpreter or a wrapper such as valgrind) is the binary, or /proc/PID/exe is.
is_our_daemon() {
    local pid=$1 bin=$2 exe
    local -a argv=()
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    mapfile -d '' -t argv <"/proc/$pid/cmdline" 2>/dev/null || true
    [[ ${argv[0]:-} == "$bin" || ${argv[1]:-} == "$bin" ]] && return 0
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    [[ $exe == "$(realpath -m -- "$bin")" ]]
}

# PID of a running daemon started from this RUN_DIR, or nothing.
running_pid() {
    local name=$1 pid
    [[ -r $RUN_DIR/$name.pid ]] || return 0
    pid=$(<"$RUN_DIR/$name.pid")
    if is_our_daemon "$pid" "$(daemon_bin "$name")"; then
        printf '%s' "$pid"
    fi
}

# Start one daemon in the background, in its own session, with its log, pid and exit files.
#
# Why a wrapper: the daemon is not a child of whoever stops it later (stack.sh down, tests/run.sh),
# so nobody could read its exit status. The wrapper is a bash process that starts the daemon as
# its child, writes the daemon's own PID to NAME.pid (so SIGTERM goes straight to the daemon, and
# the command-line check in `down` sees the daemon binary), waits for it and writes its exit status
# to NAME.exit. A signal sent to the wrapper itself is passed on to the daemon.
start_daemon() {
    local name=$1 port=$2 db_url=$3 peer_port=$4 schema=$5 bin=$6
    shift 6 # the rest: more NAME=value settings for the daemon
    rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.wrapper.pid" "$RUN_DIR/$name.exit"
    # shellcheck disable=SC2016 # the script below is expanded by the wrapper's bash
    (
        cd "$repo_root"
        exec setsid bash -c '
            name=$1 run_dir=$2
            shift 2
            "$@" &
            child=$!
            echo "$$" >"$run_dir/$name.wrapper.pid"
            echo "$child" >"$run_dir/$name.pid"
            forwarded=0
            trap '\''forwarded=1; kill -TERM "$child" 2>/dev/null || true'\'' TERM INT HUP
            wait "$child"
            status=$?
            # A trapped signal interrupts wait; wait again for the real exit status.
            while [ "$forwarded" = 1 ]; do
                forwarded=0
                wait "$child"
                status=$?
            done
            echo "$status" >"$run_dir/$name.exit.tmp"
            mv -f "$run_dir/$name.exit.tmp" "$run_dir/$name.exit"
        ' "$name-wrapper" "$name" "$RUN_DIR" \
            env PORT="$port" BIND_ADDR=127.0.0.1 DATABASE_URL="$db_url" \
            PEER_URL="http://127.0.0.1:$peer_port" \
            APPS_FILE=config/apps.dev.json POLICY_FILE=config/policy.json \
            SCHEMA_DIR="$schema" LOG_LEVEL="$LOG_LEVEL" "$@" \
            "$bin" </dev/null >>"$RUN_DIR/$name.log" 2>&1
    ) &
    # Wait (briefly) for the wrapper to record the daemon's PID.
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s $RUN_DIR/$name.pid ]] && return 0
        sleep 0.1
    done
    die "$name did not start (no $RUN_DIR/$name.pid); see $RUN_DIR/$name.log"
}

# Stop one daemon: SIGTERM, wait up to 15 s (then SIGKILL), report its exit status.
stop_daemon() {
    local name=$1 pidfile=$RUN_DIR/$1.pid pid bin i status
    if [[ ! -e $pidfile ]]; then
        echo "$prog: $name is not running"
        return 0
    fi
    pid=$(<"$pidfile")
    bin=$(daemon_bin "$name")
    if ! kill -0 "$pid" 2>/dev/null; then
        status=$(cat "$RUN_DIR/$name.exit" 2>/dev/null || echo unknown)
        echo "$prog: $name (pid $pid) was not running (exit status $status)"
        rm -f "$pidfile" "$RUN_DIR/$name.wrapper.pid"
        return 0
    fi
    if ! is_our_daemon "$pid" "$bin"; then
        echo "$prog: $pidfile names pid $pid, which is not $bin; leaving that process alone"
        rm -f "$pidfile" "$RUN_DIR/$name.wrapper.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$prog: $name (pid $pid) did not stop within 15 s of SIGTERM; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    # The wrapper writes the exit status right after the daemon has gone.
    for ((i = 0; i < 50; i++)); do
        [[ -s $RUN_DIR/$name.exit ]] && break
        sleep 0.1
    done
    status=$(cat "$RUN_DIR/$name.exit" 2>/dev/null || echo unknown)
    if [[ $status == 0 ]]; then
        echo "$prog: $name (pid $pid) stopped, exit status 0"
    else
        echo "$prog: $name (pid $pid) stopped, exit status $status (see $RUN_DIR/$name.log)"
    fi
    rm -f "$pidfile" "$RUN_DIR/$name.wrapper.pid"
}

ready() {
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz" 2>/dev/null
}

# datahub on the same cluster, as the superuser: after the daemons, whose migrations make the
# publications it subscribes to.
setup_datahub() {
    local port admin
    port=$(env_value "$RUN_DIR/pg.env" PGPORT)
    admin="postgresql://postgres@127.0.0.1:$port"
    DATAHUB_ADMIN_URL=$admin/datahub GRID_ADMIN_URL=$admin/grid CUST_ADMIN_URL=$admin/cust \
        PUBLISHER_CONNINFO="host=127.0.0.1 port=$port user=datahub_repl" \
        PSQL="$(env_value "$RUN_DIR/pg.env" PG_BIN)/psql" "$repo_root/scripts/datahub.sh" setup
}

cmd_up() {
    GRID_PORT=${GRID_PORT:-8081}
    CUST_PORT=${CUST_PORT:-8082}
    PGPORT=${PGPORT:-5433}
    LOG_LEVEL=${LOG_LEVEL:-info}
    check_port GRID_PORT "$GRID_PORT"
    check_port CUST_PORT "$CUST_PORT"
    check_port PGPORT "$PGPORT"
    if [[ $GRID_PORT == "$CUST_PORT" || $GRID_PORT == "$PGPORT" || $CUST_PORT == "$PGPORT" ]]; then
        die "GRID_PORT ($GRID_PORT), CUST_PORT ($CUST_PORT) and PGPORT ($PGPORT) must differ"
    fi

    local name pid bin running=0
    for name in "${names[@]}"; do
        bin=$BIN_DIR/$name
        [[ -x $bin ]] || die "$bin not found or not executable; build it first (make)"
        pid=$(running_pid "$name")
        [[ -n $pid ]] && running=$((running + 1))
    done
    # Both already up from this RUN_DIR: nothing to do (make demo twice in a row).
    if [[ $running -eq ${#names[@]} && -f $RUN_DIR/stack.env ]]; then
        echo "$prog: the stack in $RUN_DIR is already running; make down stops it"
        setup_datahub
        return 0
    fi
    if [[ $running -gt 0 ]]; then
        die "part of the stack in $RUN_DIR is running; stop it first (make down)"
    fi
    if port_in_use "$GRID_PORT"; then
        die "port $GRID_PORT is already in use; choose another with GRID_PORT=<port>"
    fi
    if port_in_use "$CUST_PORT"; then
        die "port $CUST_PORT is already in use; choose another with CUST_PORT=<port>"
    fi
    [[ -f $repo_root/config/apps.dev.json ]] || echo "$prog: warning: config/apps.dev.json is missing" >&2
    [[ -f $repo_root/config/policy.json ]] || echo "$prog: warning: config/policy.json is missing" >&2

    mkdir -p "$RUN_DIR"
    export PGPORT
    "$pg_sh" start
    # pg.sh may have found the cluster already running on another port: use what it recorded.
    PGPORT=$(env_value "$RUN_DIR/pg.env" PGPORT)
    local grid_db cust_db
    grid_db=$(env_value "$RUN_DIR/pg.env" GRID_DATABASE_URL)
    cust_db=$(env_value "$RUN_DIR/pg.env" CUST_DATABASE_URL)
    [[ -n $grid_db && -n $cust_db ]] || die "$RUN_DIR/pg.env lacks the database URLs"

    {
        printf '%s=%q\n' GRID_URL "http://127.0.0.1:$GRID_PORT" CUST_URL "http://127.0.0.1:$CUST_PORT" \
            GRID_PORT "$GRID_PORT" CUST_PORT "$CUST_PORT" PGPORT "$PGPORT" \
            GRID_BIN "$BIN_DIR/grid-svc" CUST_BIN "$BIN_DIR/cust-svc"
    } >"$STACK_ENV.tmp"
    mv -f "$STACK_ENV.tmp" "$STACK_ENV"

    start_daemon grid-svc "$GRID_PORT" "$grid_db" "$CUST_PORT" schema/grid "$BIN_DIR/grid-svc"
    start_daemon cust-svc "$CUST_PORT" "$cust_db" "$GRID_PORT" schema/cust "$BIN_DIR/cust-svc" \
        DATAHUB_URL="$(env_value "$RUN_DIR/pg.env" DATAHUB_DATABASE_URL)"

    # Wait up to 30 s for both to answer GET /readyz with 200.
    local deadline=$((SECONDS + 30)) grid_ok=0 cust_ok=0 failed=""
    while ((SECONDS < deadline)); do
        ((grid_ok)) || { ready "$GRID_PORT" && grid_ok=1; }
        ((cust_ok)) || { ready "$CUST_PORT" && cust_ok=1; }
        ((grid_ok && cust_ok)) && break
        for name in "${names[@]}"; do
            if [[ -e $RUN_DIR/$name.exit ]]; then
                failed="$name exited during start-up (exit status $(cat "$RUN_DIR/$name.exit" 2>/dev/null || echo unknown))"
                break 2
            fi
        done
        sleep 0.2
    done
    if [[ -z $failed ]] && ! ((grid_ok && cust_ok)); then
        failed="not ready within 30 s:"
        ((grid_ok)) || failed+=" grid-svc (http://127.0.0.1:$GRID_PORT/readyz)"
        ((cust_ok)) || failed+=" cust-svc (http://127.0.0.1:$CUST_PORT/readyz)"
    fi
    if [[ -z $failed ]] && ! setup_datahub; then
        failed="datahub could not be set up (scripts/datahub.sh, above)"
    fi
    if [[ -n $failed ]]; then
        echo "$prog: $failed" >&2
        for name in "${names[@]}"; do
            echo "---- last 20 lines of $RUN_DIR/$name.log ----" >&2
            tail -n 20 "$RUN_DIR/$name.log" >&2 2>/dev/null || true
        done
        for name in "${names[@]}"; do
            stop_daemon "$name" >&2
        done
        echo "$prog: PostgreSQL is still running; scripts/stack.sh down (make down) stops it" >&2
        exit 1
    fi

    cat <<EOF
Stack is up:
  grid-svc    http://127.0.0.1:$GRID_PORT   log $RUN_DIR/grid-svc.log
  cust-svc    http://127.0.0.1:$CUST_PORT   log $RUN_DIR/cust-svc.log
  PostgreSQL  127.0.0.1:$PGPORT          settings $RUN_DIR/pg.env
  datahub     database datahub there, following both platforms (report: GET /v1/reports/integration)
Stop it with: make down
EOF
}

cmd_down() {
    local name
    for name in "${names[@]}"; do
        stop_daemon "$name"
    done
    "$pg_sh" stop
}

cmd_status() {
    local name pid port rc=0 grid_port cust_port
    grid_port=$(env_value "$STACK_ENV" GRID_PORT)
    cust_port=$(env_value "$STACK_ENV" CUST_PORT)
    for name in "${names[@]}"; do
        port=$grid_port
        [[ $name == cust-svc ]] && port=$cust_port
        pid=$(running_pid "$name")
        if [[ -z $pid ]]; then
            echo "$prog: $name not running"
            rc=3
        elif [[ -n $port ]] && ready "$port"; then
            echo "$prog: $name running (pid $pid) at http://127.0.0.1:$port, ready"
        else
            echo "$prog: $name running (pid $pid) at http://127.0.0.1:${port:-?}, not ready"
            rc=3
        fi
    done
    "$pg_sh" status || rc=3
    return "$rc"
}

(($# == 1)) || usage
case $1 in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac
