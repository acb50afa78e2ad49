#!/usr/bin/env bash
# Run every test for one or more build directories.
#
#   tests/run.sh [--unit-only] BIN_DIR [BIN_DIR...]      e.g. tests/run.sh build build-san
#   tests/run.sh --only=test_trace,test_faults BIN_DIR   those integration tests only, on a
#                                                         stack of their own (while working on them)
#
# For each BIN_DIR:
#   1. every BIN_DIR/tests/unit/test_* (cmocka, TAP output), tests/citygen-check.sh, and (for the
#      first BIN_DIR only) tests/container-check.sh;
#   2. unless --unit-only: a throw-away stack (PostgreSQL on a temporary cluster, grid-svc and
#      cust-svc from BIN_DIR, on free random ports) started with scripts/stack.sh, then
#      tests/openapi-check.sh (each daemon's /openapi.json is valid OpenAPI 3.1),
#      (first BIN_DIR only) tests/client-check.sh (a TypeScript client generated from it
#      type-checks), and every
#      BIN_DIR/tests/integration/test_* against it, one after another (300 s each at most),
#      then (first BIN_DIR only) tests/examples-check.sh: the examples make demo runs, and
#      tests/browser-check.sh: the console in headless chromium, on the demo city they loaded
#      (screenshots in BIN_DIR/console-screens);
#   3. then, as one test each: each daemon exits 0 on SIGTERM, and each daemon log holds no
#      sanitizer report;
#   4. (first BIN_DIR only) tests/failover-check.sh: both daemons through the loss of their
#      database's primary, on a pg_auto_failover formation of its own.
#
# Integration tests get in their environment: GRID_URL, CUST_URL, RUN_DIR, BIN_DIR, GRID_BIN,
# CUST_BIN, PGPORT, GRID_DATABASE_URL, CUST_DATABASE_URL, DATAHUB_DATABASE_URL, REPO_ROOT,
# APPS_FILE, POLICY_FILE, PG_SCRIPT (all paths absolute), and PGHOST=127.0.0.1. They run from the repository root and
# must leave the stack's two daemons running (the SIGTERM checks come after them); a test that
# needs to stop or restart a daemon starts its own instance from GRID_BIN/CUST_BIN on another port.
# TEST_TIMEOUT (default 300) is the limit in seconds for each test binary.
#
# Prints one line per test binary, every failing TAP line, a subtotal per BIN_DIR and, as the
# very last line, "N passed, N failed". Exits 0 only if nothing failed and something passed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack_sh=$repo_root/scripts/stack.sh
prog=tests/run.sh
# shellcheck source=scripts/lib.sh
. "$repo_root/scripts/lib.sh"
pg_sh=$repo_root/scripts/pg.sh
test_timeout=${TEST_TIMEOUT:-300}   # seconds per test binary

usage() {
    echo "usage: tests/run.sh [--unit-only | --only=test_a,test_b] BIN_DIR [BIN_DIR...]" >&2
    exit 2
}

unit_only=0
only=""
bin_dirs=()
for arg in "$@"; do
    case $arg in
    --unit-only) unit_only=1 ;;
    --only=*) only=${arg#--only=} ;;
    -h | --help) usage ;;
    -*) echo "tests/run.sh: unknown option $arg" >&2; usage ;;
    *) bin_dirs+=("${arg%/}") ;;
    esac
done
((${#bin_dirs[@]} > 0)) || usage

export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1
export CMOCKA_MESSAGE_OUTPUT=TAP

total_passed=0
total_failed=0
total_skipped=0
dir_passed=0
dir_failed=0
dir_skipped=0
sanitizer_re='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer'

indent() {
    sed 's/^/    /'
}

pass() {
    dir_passed=$((dir_passed + 1))
    echo "  ok - $1"
}

fail() {
    dir_failed=$((dir_failed + 1))
    echo "  not ok - $1"
}

# Run one cmocka test binary with TAP output and count its results.
#   ok ...            passed
#   not ok ...        failed
#   ... # SKIP ...    skipped (cmocka 1.1 prints skips as "not ok N # SKIP")
# One more failure if the binary timed out, exited non-zero without a "not ok" line (a crash or
# a sanitizer abort), or printed fewer results than its "1..N" plans announced.
run_test_binary() {
    local bin=$1 label=$2 out rc=0 passed failed skipped planned seen extra=""
    out=$(mktemp /tmp/yingpei-test-out.XXXXXX)
    current_out=$out
    # In the background so that a signal to this script is handled at once (bash runs traps only
    # between foreground commands); the exec makes $! the PID of timeout itself. The 2>/dev/null
    # on wait keeps bash's "Aborted"/"Segmentation fault" notices out of the output.
    local started=$SECONDS
    (cd "$repo_root" && exec timeout -k 10 "$test_timeout" "$bin" "${@:3}") >"$out" 2>&1 </dev/null &
    current_test_pid=$!
    wait "$current_test_pid" 2>/dev/null || rc=$?
    current_test_pid=""
    passed=$(grep -E '^ok ' "$out" | grep -vc '# SKIP' || true)
    failed=$(grep -E '^not ok ' "$out" | grep -vc '# SKIP' || true)
    skipped=$(grep -Ec '^(not )?ok .*# SKIP' "$out" || true)
    planned=$(sed -nE 's/^1\.\.([0-9]+).*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
    seen=$((passed + failed + skipped))
    if ((rc == 124 || rc == 137)); then
        extra="timed out after ${test_timeout} s"
    elif ((rc != 0 && failed == 0)); then
        extra="exited with status $rc without a failing test (crash or sanitizer report?)"
    elif ((seen < planned)); then
        extra="stopped after $seen of $planned tests (exit status $rc)"
    fi
    [[ -n $extra ]] && failed=$((failed + 1))

    local line="  $label: $passed passed, $failed failed"
    ((skipped > 0)) && line+=", $skipped skipped"
    line+=" ($((SECONDS - started)) s)"
    echo "$line"
    # Each failing TAP line with what the test printed before it (the
    # request, the answer, a daemon's log tail) and the diagnostics after it.
    awk '
        /^not ok / && !/# SKIP/ {
            for (i = (n > 40 ? n - 40 : 0); i < n; i++) print "    | " buf[i % 40]
            n = 0; show = 1; print "    " $0; next
        }
        /^ok / { n = 0; show = 0; next }
        /^# (not )?ok - / { show = 0; next }
        /^#/ && show { print "    " $0; next }
        { show = 0; buf[n % 40] = $0; n++ }
    ' "$out"
    if [[ -n $extra ]]; then
        echo "    not ok - $label $extra; last 30 lines of its output:"
        tail -n 30 "$out" | indent
    fi
    rm -f "$out"
    current_out=""
    dir_passed=$((dir_passed + passed))
    dir_failed=$((dir_failed + failed))
    dir_skipped=$((dir_skipped + skipped))
}

# State for the teardown: the throw-away stack, the running test binary and its output file.
stack_run_dir=""
current_test_pid=""
current_out=""

teardown_stack() {
    [[ -n $stack_run_dir ]] || return 0
    RUN_DIR=$stack_run_dir "$stack_sh" down >/dev/null 2>&1 || true
    RUN_DIR=$stack_run_dir "$pg_sh" destroy >/dev/null 2>&1 || true
    rm -rf -- "$stack_run_dir"
    stack_run_dir=""
}

on_exit() {
    local rc=$?
    if [[ -n $current_test_pid ]]; then
        kill -TERM "$current_test_pid" 2>/dev/null || true
        wait "$current_test_pid" 2>/dev/null || true
    fi
    [[ -z $current_out ]] || rm -f -- "$current_out"
    if [[ -n $stack_run_dir ]]; then
        echo "tests/run.sh: interrupted; removing the test stack in $stack_run_dir" >&2
        teardown_stack
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# SIGTERM the daemon started by stack.sh and check that it exits with status 0. It is not our
# child: poll its PID, then read the status its wrapper wrote to NAME.exit.
check_sigterm_exit() {
    local run_dir=$1 name=$2 label=$3 pid status i
    pid=$(cat "$run_dir/$name.pid" 2>/dev/null || true)
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
        status=$(cat "$run_dir/$name.exit" 2>/dev/null || echo unknown)
        fail "$label (it was no longer running before SIGTERM; exit status $status)"
        return
    fi
    kill -TERM "$pid"
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        fail "$label (still running 15 s after SIGTERM; killed)"
        return
    fi
    for ((i = 0; i < 50; i++)); do
        [[ -s $run_dir/$name.exit ]] && break
        sleep 0.1
    done
    status=$(cat "$run_dir/$name.exit" 2>/dev/null || echo unknown)
    if [[ $status == 0 ]]; then
        pass "$label"
    else
        fail "$label (exit status $status)"
    fi
}

run_integration() {
    local bin_dir=$1 label=$2 port_pg port_grid port_cust bin
    stack_run_dir=$(mktemp -d /tmp/yingpei-test.XXXXXX)
    port_pg=$(pick_port)
    port_grid=$(pick_port "$port_pg")
    port_cust=$(pick_port "$port_pg" "$port_grid")

    echo "  starting a test stack: PostgreSQL :$port_pg, grid-svc :$port_grid, cust-svc :$port_cust ($stack_run_dir)"
    if ! RUN_DIR=$stack_run_dir BIN_DIR=$bin_dir PGPORT=$port_pg GRID_PORT=$port_grid \
        CUST_PORT=$port_cust PG_FAST=1 "$stack_sh" up 2>&1 | indent; then
        fail "$label: test stack starts (scripts/stack.sh up); integration tests not run"
        teardown_stack
        return
    fi

    # The environment of the integration tests (exported here, removed again below).
    local -a test_vars=(GRID_URL CUST_URL RUN_DIR BIN_DIR GRID_BIN CUST_BIN PGPORT GRID_DATABASE_URL
        CUST_DATABASE_URL DATAHUB_DATABASE_URL REPO_ROOT APPS_FILE POLICY_FILE PG_SCRIPT PGHOST)
    local -A saved=()
    local var
    for var in "${test_vars[@]}"; do
        [[ -v $var ]] && saved[$var]=${!var}
    done
    export GRID_URL CUST_URL GRID_DATABASE_URL CUST_DATABASE_URL
    GRID_URL=$(env_value "$stack_run_dir/stack.env" GRID_URL)
    CUST_URL=$(env_value "$stack_run_dir/stack.env" CUST_URL)
    GRID_DATABASE_URL=$(env_value "$stack_run_dir/pg.env" GRID_DATABASE_URL)
    CUST_DATABASE_URL=$(env_value "$stack_run_dir/pg.env" CUST_DATABASE_URL)
    export DATAHUB_DATABASE_URL
    DATAHUB_DATABASE_URL=$(env_value "$stack_run_dir/pg.env" DATAHUB_DATABASE_URL)
    PGPORT=$(env_value "$stack_run_dir/pg.env" PGPORT)
    export PGPORT PGHOST=127.0.0.1
    export RUN_DIR=$stack_run_dir BIN_DIR=$bin_dir REPO_ROOT=$repo_root PG_SCRIPT=$pg_sh
    export GRID_BIN=$bin_dir/grid-svc CUST_BIN=$bin_dir/cust-svc
    export APPS_FILE=$repo_root/config/apps.dev.json POLICY_FILE=$repo_root/config/policy.json

    # Each daemon's /openapi.json as OpenAPI 3.1 validators see it (TAP, like a test binary).
    [[ -n $only ]] || run_test_binary "$repo_root/tests/openapi-check.sh" \
        "$label/tests/openapi-check.sh" "$GRID_URL" "$CUST_URL"
    # A TypeScript client generated from each document type-checks a program (TAP); once: the
    # document does not depend on the build.
    [[ -n $only || $label != "${bin_dirs[0]}" ]] || run_test_binary "$repo_root/tests/client-check.sh" \
        "tests/client-check.sh" "$GRID_URL" "$CUST_URL"

    local found=0
    for bin in "$bin_dir"/tests/integration/test_*; do
        [[ -f $bin && -x $bin ]] || continue
        [[ -z $only || ,$only, == *,${bin##*/},* ]] || continue
        found=1
        run_test_binary "$bin" "$label/tests/integration/${bin##*/}"
    done
    ((found)) || echo "  $label/tests/integration: no test binaries"
    # The examples make demo runs, once: what they check does not depend on the build.
    if [[ $label == "${bin_dirs[0]}" && -z $only ]]; then
        run_test_binary "$repo_root/tests/examples-check.sh" "tests/examples-check.sh"
        # The console in chromium, on the demo city the examples loaded; screenshots in the build.
        run_test_binary "$repo_root/tests/browser-check.sh" "tests/browser-check.sh" \
            "$GRID_URL" "$CUST_URL" "$bin_dir/console-screens"
    fi

    for var in "${test_vars[@]}"; do
        if [[ -v saved[$var] ]]; then
            export "$var=${saved[$var]}"
        else
            unset "$var"
        fi
    done

    local run_dir=$stack_run_dir name
    check_sigterm_exit "$run_dir" grid-svc "$label: grid-svc exits 0 on SIGTERM"
    check_sigterm_exit "$run_dir" cust-svc "$label: cust-svc exits 0 on SIGTERM"
    for name in grid-svc cust-svc; do
        if grep -Eq "$sanitizer_re" "$run_dir/$name.log" 2>/dev/null; then
            fail "$label: no sanitizer report in $name.log"
            grep -E -A 3 "$sanitizer_re" "$run_dir/$name.log" | head -n 40 | indent
        else
            pass "$label: no sanitizer report in $name.log"
        fi
    done
    if ((dir_failed > 0)); then
        for name in grid-svc cust-svc; do
            echo "  ---- last 40 lines of $name.log ($label) ----"
            tail -n 40 "$run_dir/$name.log" 2>/dev/null | indent || true
        done
    fi
    teardown_stack
}

for dir_arg in "${bin_dirs[@]}"; do
    dir_passed=0
    dir_failed=0
    dir_skipped=0
    echo "$dir_arg:"
    if [[ ! -d $dir_arg ]]; then
        fail "$dir_arg: no such directory (build it first: make)"
    else
        bin_dir=$(cd "$dir_arg" && pwd)
        found=0
        [[ -z $only ]] || found=1
        # Unit tests mirror common/'s layers: tests/unit/<layer>/test_*.
        for bin in "$bin_dir"/tests/unit/*/test_*; do
            [[ -z $only ]] || break
            [[ -f $bin && -x $bin ]] || continue
            found=1
            run_test_binary "$bin" "$dir_arg/tests/unit/${bin#"$bin_dir"/tests/unit/}"
        done
        ((found)) || echo "  $dir_arg/tests/unit: no test binaries"
        # Each fuzz target replays its committed corpus (tests/fuzz/replay.c).
        for bin in "$bin_dir"/tests/fuzz/fuzz_*; do
            [[ -z $only && -f $bin && -x $bin ]] || continue
            run_test_binary "$bin" "$dir_arg/tests/fuzz/${bin##*/}" \
                "$repo_root/tests/fuzz/corpus/${bin##*/fuzz_}"
        done
        # The synthetic city: consistent, deterministic, with the stated ratios.
        if [[ -x $bin_dir/citygen && -z $only ]]; then
            run_test_binary "$repo_root/tests/citygen-check.sh" "$dir_arg/tests/citygen-check.sh" \
                "$bin_dir"
        fi
        # docker-compose.yml and the Dockerfile, and common/'s layers, checked once: they do not
        # depend on the build's flags.
        if [[ $dir_arg == "${bin_dirs[0]}" && -z $only ]]; then
            run_test_binary "$repo_root/tests/container-check.sh" "tests/container-check.sh"
            run_test_binary "$repo_root/tests/layers-check.sh" "tests/layers-check.sh" "$bin_dir"
        fi
        if ((!unit_only)); then
            run_integration "$bin_dir" "$dir_arg"
        fi
        # Both daemons through the loss of their database's primary, once: a formation of its
        # own (scripts/ha.sh), so after the test stack is gone.
        if ((!unit_only)) && [[ $dir_arg == "${bin_dirs[0]}" && -z $only ]]; then
            run_test_binary "$repo_root/tests/failover-check.sh" "tests/failover-check.sh" \
                "$bin_dir"
        fi
    fi
    line="$dir_arg: $dir_passed passed, $dir_failed failed"
    ((dir_skipped > 0)) && line+=", $dir_skipped skipped"
    echo "$line"
    total_passed=$((total_passed + dir_passed))
    total_failed=$((total_failed + dir_failed))
    total_skipped=$((total_skipped + dir_skipped))
done

((total_skipped > 0)) && echo "$total_skipped skipped"
echo "$total_passed passed, $total_failed failed"
((total_failed == 0 && total_passed > 0))
