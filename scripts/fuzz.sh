#!/usr/bin/env bash
# Runs fuzz targets under libFuzzer, one after another (make fuzz).
#
#   scripts/fuzz.sh BUILD_DIR NAME...      e.g. scripts/fuzz.sh build-fuzz bizcode route
#
# BUILD_DIR/fuzz/fuzz_NAME is the target built for libFuzzer with clang, ASan and UBSan (make
# fuzzers BUILD=build-fuzz FUZZ=1). Each runs for FUZZ_SECONDS (default 60) on a fresh copy of its
# committed corpus, tests/fuzz/corpus/NAME, made in BUILD_DIR/fuzz-corpus/NAME: the inputs it
# finds go there, never into the repository (copy one into tests/fuzz/corpus/NAME by hand when
# it is worth keeping). A crash, a leak, a sanitizer report, a broken check of the target, an
# input slower than 10 s or one using more than 2 GB is written to BUILD_DIR/crashes/NAME/; fix
# the bug, then commit the input to tests/fuzz/corpus/NAME/ (named crash-<what it was>) so that
# make test replays it from then on. Each target is one process on one thread (libFuzzer's
# -jobs=1 -workers=1 would fork one child to do the same); the log is BUILD_DIR/fuzz-logs/NAME.log.
#
# Prints one line per target: executions, coverage (cov: edges, ft: features), corpus size (inputs
# in memory at the end, files in the scratch corpus), crashes (0, or the file). Exits 1 if any
# target crashed, 2 on bad usage or a missing target.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}

if (($# < 2)); then
    echo "usage: scripts/fuzz.sh BUILD_DIR NAME..." >&2
    exit 2
fi
build=$1
shift
[[ $build == /* ]] || build=$repo_root/$build

# The longest input worth trying, per target: a code; a request line with a parameter over
# ROUTE_PARAM_MAX; a query string; a types list over its 2000 bytes; JSON bodies; an NDJSON body
# of a few batches.
max_len() {
    case $1 in
    bizcode) echo 64 ;;
    route) echo 1024 ;;
    query) echo 2048 ;;
    last_event_id) echo 2200 ;;
    ndjson) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1

crashed=0
cd "$repo_root" # the targets read config/policy.json
mkdir -p "$build/fuzz-logs"
printf '%-14s %12s %8s %8s %14s  %s\n' target executions cov ft corpus crashes
for name in "$@"; do
    bin=$build/fuzz/fuzz_$name
    if [[ ! -x $bin ]]; then
        echo "scripts/fuzz.sh: no $bin (make fuzzers BUILD=${build#"$repo_root"/} FUZZ=1)" >&2
        exit 2
    fi
    corpus=$build/fuzz-corpus/$name crashes=$build/crashes/$name log=$build/fuzz-logs/$name.log
    rm -rf "$corpus"
    mkdir -p "$corpus" "$crashes"
    cp "$repo_root/tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
    rc=0
    "$bin" -max_total_time="$seconds" -max_len="$(max_len "$name")" -timeout=10 \
        -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1 || rc=$?
    # "#123 DONE cov: 456 ft: 789 corp: 12/3456b ...", or the last such line before a crash
    stats=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -n 1 || true)
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    [[ -n $runs ]] || runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$stats")
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$stats")
    ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$stats")
    corp=$(sed -nE 's/.*corp: ([0-9]+).*/\1/p' <<<"$stats")
    files=$(find "$corpus" -type f | wc -l)
    crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
    if ((rc != 0)) || [[ -n $crash ]]; then
        crashed=1
        [[ -n $crash ]] || crash="exit status $rc, see $log"
    else
        crash=0
    fi
    printf '%-14s %12s %8s %8s %14s  %s\n' "$name" "${runs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?} (${files// /} files)" "${crash#"$repo_root"/}"
done
exit "$crashed"
