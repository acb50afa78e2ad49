# tap.sh -- sourced by the shell checks that make test runs: each check is
# one TAP line, and tap_end closes the plan.
#
#   check WHAT COMMAND [ARGS...]   runs COMMAND; "ok N - WHAT" or "not ok N - WHAT" and, on
#                                  failure, the first 40 lines of its output as TAP comments
#   tap_end                        prints "1..N"; returns non-zero if any check failed
# shellcheck shell=bash

tap_n=0
tap_failed=0

check() {
    local what=$1 out
    shift
    tap_n=$((tap_n + 1))
    if out=$("$@" 2>&1); then
        echo "ok $tap_n - $what"
    else
        tap_failed=$((tap_failed + 1))
        echo "not ok $tap_n - $what"
        [[ -n $out ]] && printf '%s\n' "$out" | head -n 40 | sed 's/^/# /'
        return 1
    fi
}

tap_end() {
    echo "1..$tap_n"
    ((tap_failed == 0))
}
