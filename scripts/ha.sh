#!/usr/bin/env bash
# A local pg_auto_failover formation for this project: a monitor, a primary and a synchronous
# secondary, each its own PostgreSQL on 127.0.0.1, for trying (and testing) failover.
#
#   scripts/ha.sh up|down|destroy|status|primary|events|psql [psql args]
#   scripts/ha.sh kill NODE     lose NODE (node1|node2): SIGKILL every process of it at once
#   scripts/ha.sh start NODE    bring NODE back (its pg_autoctl; it rejoins as a secondary)
#   scripts/ha.sh switchover    a planned failover: the secondary becomes the primary, the primary
#                               its secondary (pg_autoctl perform switchover; 90 s at most)
#
# Environment (defaults in brackets):
#   RUN_DIR          where ha.env is written                           [<repo>/.run]
#   HA_MONITOR_PORT  the monitor's port on 127.0.0.1                   [5440]
#   HA_PORT1         node1's port (the first primary)                  [5441]
#   HA_PORT2         node2's port (the first secondary)                [5442]
#   HA_UNHEALTHY_MS  a primary that has not reported for this long     [5000]
#                    and fails its health checks is failed over
#   HA_DEMOTE_MS     how long the monitor gives a lost primary to stop  [5000]
#                    itself before it promotes the secondary
#   HA_WAIT_S        the longest `up` waits for the formation           [180]
# The ports are those of the first `up`; the other commands use the ones it recorded.
#
# Like scripts/pg.sh, the files live outside the repository, in
#   /var/tmp/yingpei-ha-<first 12 hex digits of sha256(absolute RUN_DIR)>
# (monitor/, node1/, node2/: the data directories; *.log: each node's pg_autoctl log; xdg/:
# pg_autoctl's configuration and state), and PostgreSQL runs as the `postgres` user when this
# script runs as root, as the current user otherwise. Each node is one `pg_autoctl run`, which
# runs its PostgreSQL and its keeper; the monitor decides which node is the primary.
#
# `up` creates the formation if needed (the monitor, node1 initialised as the primary, node2
# copied from it as its secondary), starts every node that is not running, waits (at most
# HA_WAIT_S) until the monitor reports a primary and a secondary, creates the roles
# grid_svc and cust_svc and their databases grid and cust on the primary (as scripts/pg.sh does),
# and writes $RUN_DIR/ha.env with GRID_DATABASE_URL and CUST_DATABASE_URL naming both nodes:
#   postgresql://grid_svc@127.0.0.1:PORT1,127.0.0.1:PORT2/grid?target_session_attrs=read-write
# so that libpq connects to whichever is the primary.
#
# Replication is synchronous: pg_auto_failover's default for two data nodes (replication quorum
# on, number_sync_standbys 0) sets the primary's synchronous_standby_names to the secondary, so
# a commit is acknowledged once the secondary has it on disk too (synchronous_commit = on). When
# the secondary is lost, the monitor drops that requirement (the primary goes wait_primary) so that
# writes continue; `status` shows which it is.
#
# `primary` prints the current primary as "NAME PORT PID" (PID: its postmaster), exit status 3
# if there is none right now. `events` prints the monitor's last 40 events (each state change and
# why). `down` stops the nodes and the monitor, `destroy` also removes everything; neither leaves
# a process running. `psql` opens psql on the primary.
set -euo pipefail

prog=ha.sh
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo_root/scripts/lib.sh"

die() {
    echo "$prog: $*" >&2
    exit 1
}

usage() {
    echo "usage: scripts/ha.sh up|down|destroy|status|primary|events|psql [psql arguments]" >&2
    echo "       scripts/ha.sh kill|start node1|node2" >&2
    echo "       scripts/ha.sh switchover" >&2
    exit 2
}

RUN_DIR=$(realpath -m -- "${RUN_DIR:-$repo_root/.run}")
HA_ENV_FILE=$RUN_DIR/ha.env
hash=$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-12)
HA_BASE=/var/tmp/yingpei-ha-$hash
HA_SOCK=$HA_BASE/sock
HA_WAIT_S=${HA_WAIT_S:-180}
nodes=(node1 node2)

# A PostgreSQL whose server has the pgautofailover extension: the monitor needs it.
find_pg_bin() {
    local recorded dir
    if recorded=$(env_value "$HA_ENV_FILE" PG_BIN) && [[ -x $recorded/pg_ctl ]]; then
        printf '%s' "$recorded"
        return
    fi
    for dir in $(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort -rV); do
        if [[ -x $dir/bin/pg_ctl && -f $dir/lib/pgautofailover.so ]]; then
            printf '%s' "$dir/bin"
            return
        fi
    done
    die "no PostgreSQL with pg_auto_failover under /usr/lib/postgresql; install postgresql-15-auto-failover (scripts/deps.sh)"
}

command -v pg_autoctl >/dev/null 2>&1 ||
    die "pg_autoctl not found; install postgresql-15-auto-failover (scripts/deps.sh)"
PG_AUTOCTL=$(command -v pg_autoctl)

if [[ $(id -u) -eq 0 ]]; then
    as_root=1
    pg_user=postgres
    id -u "$pg_user" >/dev/null 2>&1 || die "running as root but there is no '$pg_user' user; install the postgresql package"
else
    as_root=0
    pg_user=$(id -un)
fi

# pg_autoctl keeps its configuration, state and pid files under the XDG directories: ours, so
# that everything of the formation is in HA_BASE and nothing in the user's home. Its own
# connections to the local server go through the socket directory the servers are set up with.
pg_env=(env -u PGUSER -u PGDATABASE -u PGPORT -u PGSERVICE -u PGOPTIONS -u PGPASSFILE -u PGSSLMODE
    -u PGDATA "XDG_CONFIG_HOME=$HA_BASE/xdg/config" "XDG_DATA_HOME=$HA_BASE/xdg/data"
    "XDG_RUNTIME_DIR=$HA_BASE/xdg/run" "PGHOST=$HA_SOCK")

# Run a command as the formation's owner, with pg_autoctl's environment, from a directory it can
# enter.
run_pg() {
    if ((as_root)); then
        (cd "$HA_BASE" 2>/dev/null || cd /; exec runuser -u "$pg_user" -- "${pg_env[@]}" "$@")
    else
        (cd "$HA_BASE" 2>/dev/null || cd /; exec "${pg_env[@]}" "$@")
    fi
}

pgdata_of() {
    printf '%s/%s' "$HA_BASE" "$1"
}

port_of() {
    case $1 in
    monitor) printf '%s' "$HA_MONITOR_PORT" ;;
    node1) printf '%s' "$HA_PORT1" ;;
    node2) printf '%s' "$HA_PORT2" ;;
    esac
}

# True if PID is a live process (a zombie is not: nothing reaps orphans in some containers).
alive() {
    local pid=$1 state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# PID of the pg_autoctl supervisor of NAME, from its pid file, if it is running.
autoctl_pid() {
    local name=$1 file pid
    file=$HA_BASE/xdg/run/pg_autoctl$(pgdata_of "$name")/pg_autoctl.pid
    [[ -r $file ]] || return 1
    pid=$(head -n 1 "$file")
    alive "$pid" || return 1
    grep -q pg_autoctl "/proc/$pid/cmdline" 2>/dev/null || return 1
    printf '%s' "$pid"
}

# PID of NAME's postmaster, if it is running.
postmaster_pid() {
    local pid
    pid=$(head -n 1 "$(pgdata_of "$1")/postmaster.pid" 2>/dev/null) || return 1
    alive "$pid" || return 1
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */postgres ]] || return 1
    printf '%s' "$pid"
}

# Every process of NAME: the wrapper that started it, its pg_autoctl, their children, its
# postmaster (even orphaned) and the postmaster's children (the backends), one PID a line.
node_pids() {
    local name=$1 roots="" pid
    pid=$(cat "$HA_BASE/$name.wrapper.pid" 2>/dev/null) && alive "$pid" && roots+=" $pid"
    pid=$(autoctl_pid "$name") && roots+=" $pid"
    pid=$(postmaster_pid "$name") && roots+=" $pid"
    [[ -n $roots ]] || return 0
    # One pass over the process table, then the descendants of the roots; zombies are no one's.
    ps -e -o pid=,ppid=,stat= | awk -v roots="$roots" '
        $3 !~ /^Z/ { kids[$2] = kids[$2] " " $1 }
        END {
            n = split(roots, queue, " ")
            for (i = 1; i <= n; i++) {
                p = queue[i]
                if (p in seen) continue
                seen[p] = 1
                print p
                m = split(kids[p], k, " ")
                for (j = 1; j <= m; j++) queue[++n] = k[j]
            }
        }'
}

ensure_base() {
    if [[ -L $HA_BASE || (-e $HA_BASE && ! -d $HA_BASE) ]]; then
        die "$HA_BASE exists but is not a directory; remove it"
    fi
    local dir
    for dir in "$HA_BASE" "$HA_SOCK" "$HA_BASE/xdg" "$HA_BASE/xdg/config" "$HA_BASE/xdg/data" \
        "$HA_BASE/xdg/run"; do
        [[ -d $dir ]] && continue
        mkdir -m 700 "$dir"
        ((as_root)) && chown "$pg_user": "$dir"
    done
    local owner
    owner=$(stat -c %U "$HA_BASE")
    [[ $owner == "$pg_user" ]] || die "$HA_BASE belongs to '$owner', not '$pg_user'; remove it or use another RUN_DIR"
}

# initdb as scripts/pg.sh does it (UTF-8, the superuser postgres, trust on 127.0.0.1), so that
# the formation's databases are like the local cluster's; pg_autoctl takes the directory over.
init_data() {
    local name=$1 pgdata locale=C
    pgdata=$(pgdata_of "$name")
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale=C.UTF-8
    fi
    if ! run_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale="$locale" \
        >"$HA_BASE/$name.initdb.log" 2>&1; then
        cat "$HA_BASE/$name.initdb.log" >&2
        die "initdb of $name failed"
    fi
    {
        echo "# scripts/ha.sh"
        echo "unix_socket_directories = '$HA_SOCK'"
        echo "max_connections = 200"
    } | run_pg tee -a "$pgdata/postgresql.conf" >/dev/null
}

monitor_url() {
    printf 'postgresql://autoctl_node@127.0.0.1:%s/pg_auto_failover?sslmode=disable' "$HA_MONITOR_PORT"
}

# SQL on the monitor as its superuser; bounded by a connect timeout and a statement timeout.
monitor_sql() {
    PGCONNECT_TIMEOUT=3 PGOPTIONS="-c statement_timeout=5000" "$PG_BIN/psql" -X -q -At \
        -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$HA_MONITOR_PORT" -U postgres -d pg_auto_failover "$@"
}

node_sql() {
    local port=$1
    shift
    PGCONNECT_TIMEOUT=3 PGOPTIONS="-c statement_timeout=10000" "$PG_BIN/psql" -X -q -At \
        -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

# Start NAME's pg_autoctl in the background, in a session of its own, logging to NAME.log.
start_node() {
    local name=$1 i
    if autoctl_pid "$name" >/dev/null; then
        return 0
    fi
    local pm
    if pm=$(postmaster_pid "$name"); then
        # A server left behind by a pg_autoctl that was killed: pg_autoctl starts its own.
        run_pg "$PG_BIN/pg_ctl" -D "$(pgdata_of "$name")" stop -m fast -w -t 30 >/dev/null 2>&1 ||
            die "$name's PostgreSQL (pid $pm) runs without its pg_autoctl and does not stop"
    fi
    port_in_use "$(port_of "$name")" &&
        die "port $(port_of "$name") ($name) is already in use by another program"
    if ((as_root)); then
        (cd "$HA_BASE" && exec setsid runuser -u "$pg_user" -- "${pg_env[@]}" \
            "$PG_AUTOCTL" run --pgdata "$(pgdata_of "$name")") </dev/null >>"$HA_BASE/$name.log" 2>&1 &
    else
        (cd "$HA_BASE" && exec setsid "${pg_env[@]}" \
            "$PG_AUTOCTL" run --pgdata "$(pgdata_of "$name")") </dev/null >>"$HA_BASE/$name.log" 2>&1 &
    fi
    echo $! >"$HA_BASE/$name.wrapper.pid"
    for ((i = 0; i < 100; i++)); do
        autoctl_pid "$name" >/dev/null && return 0
        sleep 0.1
    done
    tail -n 20 "$HA_BASE/$name.log" >&2 || true
    die "$name's pg_autoctl did not start (log $HA_BASE/$name.log)"
}

# Wait (at most S seconds) until NAME's server accepts connections.
wait_server() {
    local name=$1 s=$2 deadline
    deadline=$((SECONDS + s))
    until "$PG_BIN/pg_isready" -q -t 2 -h 127.0.0.1 -p "$(port_of "$name")"; do
        ((SECONDS < deadline)) || die "$name did not accept connections within $s s (log $HA_BASE/$name.log)"
        sleep 0.3
    done
}

# Stop NAME: pg_autoctl stops its server and keeper; then make sure that nothing of it is left.
stop_node() {
    local name=$1 pid i left
    if pid=$(autoctl_pid "$name"); then
        run_pg "$PG_AUTOCTL" stop --pgdata "$(pgdata_of "$name")" >/dev/null 2>&1 ||
            kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            echo "$prog: $name's pg_autoctl (pid $pid) did not stop within 30 s; stopping it at once" >&2
            run_pg "$PG_AUTOCTL" stop --immediate --pgdata "$(pgdata_of "$name")" >/dev/null 2>&1 || true
            sleep 2
        fi
    fi
    if pid=$(postmaster_pid "$name"); then
        run_pg "$PG_BIN/pg_ctl" -D "$(pgdata_of "$name")" stop -m fast -w -t 30 >/dev/null 2>&1 || true
    fi
    left=$(node_pids "$name")
    if [[ -n $left ]]; then
        echo "$prog: killing what is left of $name: $(tr "\n" " " <<<"$left")" >&2
        # shellcheck disable=SC2086 # one PID per word
        kill -KILL $left 2>/dev/null || true
    fi
    rm -f "$HA_BASE/$name.wrapper.pid"
}

# Node loss: every process of NAME stopped at once, then killed, so that none of them (the
# keeper above all) has a moment to act on the others' deaths. Prints the time of the loss (the
# stop) in seconds since the epoch, for whoever measures what follows.
cmd_kill() {
    local name=$1 pids at i
    pids=$(node_pids "$name")
    [[ -n $pids ]] || die "$name is not running"
    at=$EPOCHREALTIME
    # shellcheck disable=SC2086 # one PID per word
    kill -STOP $pids 2>/dev/null || true
    pids=$(node_pids "$name") # and whatever forked meanwhile
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        [[ -z $(node_pids "$name") ]] && break
        sleep 0.1
    done
    [[ -z $(node_pids "$name") ]] || die "$name's processes did not all die: $(node_pids "$name" | tr '\n' ' ')"
    echo "$prog: killed $name at $at (pids $(tr '\n' ' ' <<<"$pids"))"
}

# Monitor settings (pgautofailover.*, in milliseconds): health checks every second, and a lost
# primary failed over after HA_UNHEALTHY_MS without a report plus HA_DEMOTE_MS to stop itself:
# ~12 s rather than the defaults' ~55 s (20 s + 30 s + checks).
tune_monitor() {
    monitor_sql >/dev/null <<SQL
ALTER SYSTEM SET pgautofailover.health_check_period = 1000;
ALTER SYSTEM SET pgautofailover.health_check_timeout = 2000;
ALTER SYSTEM SET pgautofailover.health_check_max_retries = 2;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500;
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = $HA_UNHEALTHY_MS;
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = $HA_DEMOTE_MS;
SELECT pg_reload_conf();
SQL
}

# A primary that can reach neither the monitor nor its secondary for this long stops its server
# (pg_autoctl's guard against split brain): it must be well before the monitor would promote the
# secondary (HA_UNHEALTHY_MS + HA_DEMOTE_MS).
partition_timeout_s() {
    local s=$(((HA_UNHEALTHY_MS + HA_DEMOTE_MS) / 2000))
    ((s >= 1)) || s=1
    printf '%s' "$s"
}

create_monitor() {
    local pgdata
    pgdata=$(pgdata_of monitor)
    echo "$prog: creating the monitor in $pgdata (port $HA_MONITOR_PORT)"
    [[ -f $pgdata/PG_VERSION ]] || init_data monitor
    if ! run_pg timeout -k 10 120 "$PG_AUTOCTL" create monitor --pgdata "$pgdata" \
        --pgctl "$PG_BIN/pg_ctl" --pgport "$HA_MONITOR_PORT" --listen 127.0.0.1 \
        --hostname 127.0.0.1 --auth trust --no-ssl >>"$HA_BASE/monitor.log" 2>&1; then
        tail -n 20 "$HA_BASE/monitor.log" >&2
        die "pg_autoctl create monitor failed (log $HA_BASE/monitor.log)"
    fi
}

# node1 from our own initdb (it registers as the first node: the primary); node2 empty, which
# pg_autoctl fills with pg_basebackup from the primary (so node1 must be running).
create_node() {
    local name=$1 pgdata
    pgdata=$(pgdata_of "$name")
    echo "$prog: creating $name in $pgdata (port $(port_of "$name"))"
    [[ $name == node1 && ! -f $pgdata/PG_VERSION ]] && init_data "$name"
    if ! run_pg timeout -k 10 300 "$PG_AUTOCTL" create postgres --pgdata "$pgdata" \
        --pgctl "$PG_BIN/pg_ctl" --pgport "$(port_of "$name")" --listen 127.0.0.1 \
        --hostname 127.0.0.1 --name "$name" --auth trust --no-ssl \
        --monitor "$(monitor_url)" >>"$HA_BASE/$name.log" 2>&1; then
        tail -n 20 "$HA_BASE/$name.log" >&2
        die "pg_autoctl create postgres ($name) failed (log $HA_BASE/$name.log)"
    fi
    run_pg "$PG_AUTOCTL" config set --pgdata "$pgdata" timeout.network_partition_timeout \
        "$(partition_timeout_s)" >/dev/null
}

created() {
    [[ -f $HA_BASE/xdg/config/pg_autoctl$(pgdata_of "$1")/pg_autoctl.cfg ]]
}

# The monitor's view: "name port reported-state goal-state" per node.
node_states() {
    monitor_sql -F ' ' -c "SELECT nodename, nodeport, reportedstate, goalstate
                             FROM pgautofailover.node ORDER BY nodeid"
}

# NAME PORT of the primary: the node the monitor has as primary (or wait_primary, while it has no
# healthy secondary), reported and assigned (not one being demoted, nor one still being promoted).
primary_node() {
    local states
    states=$(node_states 2>/dev/null) || return 1
    awk '$3 ~ /^(primary|wait_primary|single)$/ && $4 ~ /^(primary|wait_primary|single)$/ { print $1, $2 }' \
        <<<"$states" | head -n 1 | grep .
}

# Wait until the monitor has a primary and a secondary, both where it wants them, and both
# servers answer, the primary read-write (after a restart the monitor's view is the one from
# before until the keepers report again).
wait_formation() {
    local deadline=$((SECONDS + HA_WAIT_S)) states="" primary secondary
    while ((SECONDS < deadline)); do
        states=$(node_states 2>/dev/null) || states=""
        primary=$(awk '$3 == "primary" && $4 == "primary" { print $2 }' <<<"$states")
        secondary=$(awk '$3 == "secondary" && $4 == "secondary" { print $2 }' <<<"$states")
        if [[ $primary =~ ^[0-9]+$ && $secondary =~ ^[0-9]+$ ]] &&
            "$PG_BIN/pg_isready" -q -t 2 -h 127.0.0.1 -p "$secondary" &&
            [[ $(node_sql "$primary" -d postgres -c "SELECT NOT pg_is_in_recovery() AND
                    NOT current_setting('default_transaction_read_only')::bool" 2>/dev/null) == t ]]; then
            return 0
        fi
        sleep 0.5
    done
    echo "$prog: the monitor's view after $HA_WAIT_S s:" >&2
    echo "${states:-(no answer)}" >&2
    die "the formation did not reach primary + secondary within $HA_WAIT_S s (logs $HA_BASE/*.log)"
}

create_roles_and_databases() {
    local port=$1
    platform_databases_sql | node_sql "$port" -d postgres >/dev/null
}

# KEY=value, quoted for the shell only where it must be (the URLs are read by other tools too).
env_line() {
    if [[ $2 =~ ^[A-Za-z0-9_./:@,?=%+-]*$ ]]; then
        printf '%s=%s\n' "$1" "$2"
    else
        printf '%s=%q\n' "$1" "$2"
    fi
}

write_env() {
    mkdir -p "$RUN_DIR"
    local tmp=$HA_ENV_FILE.tmp.$$ hosts="127.0.0.1:$HA_PORT1,127.0.0.1:$HA_PORT2"
    {
        env_line HA_BASE "$HA_BASE"
        env_line PG_BIN "$PG_BIN"
        env_line HA_MONITOR_PORT "$HA_MONITOR_PORT"
        env_line HA_PORT1 "$HA_PORT1"
        env_line HA_PORT2 "$HA_PORT2"
        env_line HA_UNHEALTHY_MS "$HA_UNHEALTHY_MS"
        env_line HA_DEMOTE_MS "$HA_DEMOTE_MS"
        env_line MONITOR_URL "$(monitor_url)"
        env_line GRID_DATABASE_URL "postgresql://grid_svc@$hosts/grid?target_session_attrs=read-write"
        env_line CUST_DATABASE_URL "postgresql://cust_svc@$hosts/cust?target_session_attrs=read-write"
    } >"$tmp"
    mv -f "$tmp" "$HA_ENV_FILE"
}

cmd_up() {
    check_port HA_MONITOR_PORT "$HA_MONITOR_PORT"
    check_port HA_PORT1 "$HA_PORT1"
    check_port HA_PORT2 "$HA_PORT2"
    if [[ $HA_MONITOR_PORT == "$HA_PORT1" || $HA_MONITOR_PORT == "$HA_PORT2" || $HA_PORT1 == "$HA_PORT2" ]]; then
        die "HA_MONITOR_PORT ($HA_MONITOR_PORT), HA_PORT1 ($HA_PORT1) and HA_PORT2 ($HA_PORT2) must differ"
    fi
    [[ $HA_UNHEALTHY_MS =~ ^[0-9]+$ && $HA_DEMOTE_MS =~ ^[0-9]+$ ]] ||
        die "HA_UNHEALTHY_MS and HA_DEMOTE_MS are milliseconds"
    ensure_base
    # Recorded first, so that `down` and `destroy` find a formation whose `up` failed half-way.
    write_env

    created monitor || create_monitor
    start_node monitor
    wait_server monitor 60
    tune_monitor || die "could not set the monitor's timeouts"

    created node1 || create_node node1
    start_node node1
    if ! created node2; then
        # The secondary is copied from the primary: wait for node1 to be there first.
        local deadline=$((SECONDS + HA_WAIT_S))
        until primary_node >/dev/null; do
            ((SECONDS < deadline)) || die "node1 did not become the primary within $HA_WAIT_S s (log $HA_BASE/node1.log)"
            sleep 0.5
        done
        create_node node2
    fi
    start_node node2
    wait_formation

    local primary
    primary=$(primary_node) || die "the monitor names no primary"
    create_roles_and_databases "${primary#* }" || die "could not create the roles and databases"
    write_env
    echo "$prog: formation up: monitor 127.0.0.1:$HA_MONITOR_PORT, primary ${primary% *} on 127.0.0.1:${primary#* }; settings in $HA_ENV_FILE"
    node_states | awk '{ printf "  %-8s port %-6s %s\n", $1, $2, $3 }'
}

cmd_down() {
    local name
    # The secondary first, then the primary: no failover while they go; then the monitor.
    local first=node2 second=node1 primary
    if primary=$(primary_node 2>/dev/null) && [[ ${primary% *} == node2 ]]; then
        first=node1 second=node2
    fi
    for name in "$first" "$second" monitor; do
        [[ -d $(pgdata_of "$name") ]] || continue
        stop_node "$name"
        echo "$prog: $name stopped"
    done
}

cmd_destroy() {
    if [[ -d $HA_BASE ]]; then
        cmd_down
    fi
    # Guard against ever removing anything but our own directory.
    [[ $HA_BASE =~ ^/var/tmp/yingpei-ha-[0-9a-f]{12}$ ]] || die "refusing to remove $HA_BASE"
    rm -rf -- "$HA_BASE"
    rm -f -- "$HA_ENV_FILE"
    echo "$prog: removed $HA_BASE and $HA_ENV_FILE"
}

cmd_status() {
    local name rc=0 pid
    if [[ ! -d $HA_BASE ]]; then
        echo "$prog: no formation for $RUN_DIR"
        return 3
    fi
    for name in monitor "${nodes[@]}"; do
        if pid=$(autoctl_pid "$name"); then
            echo "$prog: $name: pg_autoctl running (pid $pid), port $(port_of "$name"), postmaster pid $(postmaster_pid "$name" || echo none)"
        else
            echo "$prog: $name: not running"
            rc=3
        fi
    done
    if ! autoctl_pid monitor >/dev/null; then
        return 3
    fi
    run_pg "$PG_AUTOCTL" show state --pgdata "$(pgdata_of monitor)" 2>/dev/null || rc=3
    local primary port
    if primary=$(primary_node); then
        port=${primary#* }
        echo "$prog: primary ${primary% *} on 127.0.0.1:$port:" \
            "$(node_sql "$port" -d postgres -c "SELECT 'synchronous_standby_names=' ||
                  quote_literal(current_setting('synchronous_standby_names')) ||
                  ', synchronous_commit=' || current_setting('synchronous_commit') ||
                  coalesce(', standbys: ' || (SELECT string_agg(application_name || ' ' || state ||
                      ' ' || sync_state, ', ') FROM pg_stat_replication), ', no standby')" 2>/dev/null ||
                echo "(not answering)")"
    else
        echo "$prog: no primary right now"
        rc=3
    fi
    return "$rc"
}

cmd_primary() {
    local primary name port pid
    primary=$(primary_node) || { echo "$prog: no primary right now" >&2; return 3; }
    name=${primary% *}
    port=${primary#* }
    pid=$(postmaster_pid "$name") || { echo "$prog: $name is the primary but is not running here" >&2; return 3; }
    echo "$name $port $pid"
}

cmd_events() {
    autoctl_pid monitor >/dev/null || die "the monitor is not running"
    run_pg "$PG_AUTOCTL" show events --pgdata "$(pgdata_of monitor)" --count 40
}

cmd_psql() {
    local primary
    primary=$(primary_node) || die "no primary right now (scripts/ha.sh status)"
    exec "$PG_BIN/psql" -h 127.0.0.1 -p "${primary#* }" -U postgres "$@"
}

# pg_autoctl waits until the monitor has seen the switchover through (its own limit: 60 s).
cmd_switchover() {
    autoctl_pid monitor >/dev/null || die "the monitor is not running; scripts/ha.sh up first"
    run_pg timeout -k 5 90 "$PG_AUTOCTL" perform switchover --pgdata "$(pgdata_of monitor)" ||
        die "the switchover did not complete (scripts/ha.sh status)"
}

check_node() {
    [[ ${1:-} == node1 || ${1:-} == node2 ]] || usage
    [[ -d $(pgdata_of "$1") ]] || die "no $1 in $HA_BASE; scripts/ha.sh up first"
}

(($# >= 1)) || usage
cmd=$1
shift

PG_BIN=$(find_pg_bin)
# `up` honours the ports from the environment only for a new formation.
for var in HA_MONITOR_PORT HA_PORT1 HA_PORT2 HA_UNHEALTHY_MS HA_DEMOTE_MS; do
    if recorded=$(env_value "$HA_ENV_FILE" "$var") && [[ -n $recorded && -d $HA_BASE ]]; then
        printf -v "$var" '%s' "$recorded"
    fi
done
HA_MONITOR_PORT=${HA_MONITOR_PORT:-5440}
HA_PORT1=${HA_PORT1:-5441}
HA_PORT2=${HA_PORT2:-5442}
HA_UNHEALTHY_MS=${HA_UNHEALTHY_MS:-5000}
HA_DEMOTE_MS=${HA_DEMOTE_MS:-5000}
unset PGHOST PGUSER PGDATABASE PGSERVICE PGOPTIONS PGPASSFILE PGSSLMODE PGPORT

case $cmd in
up) (($# == 0)) || usage; cmd_up ;;
down) (($# == 0)) || usage; cmd_down ;;
destroy) (($# == 0)) || usage; cmd_destroy ;;
status) (($# == 0)) || usage; cmd_status ;;
primary) (($# == 0)) || usage; cmd_primary ;;
events) (($# == 0)) || usage; cmd_events ;;
psql) cmd_psql "$@" ;;
kill) (($# == 1)) || usage; check_node "$1"; cmd_kill "$1" ;;
start)
    (($# == 1)) || usage
    check_node "$1"
    start_node "$1"
    echo "$prog: $1 started (log $HA_BASE/$1.log)"
    ;;
switchover) (($# == 0)) || usage; cmd_switchover ;;
*) usage ;;
esac
