#!/usr/bin/env bash
# examples-check.sh -- runs the examples that `make demo` runs against the test stack
# ($RUN_DIR/stack.env), one TAP check each, so that a wrong answer in an example fails
# make test. The first one loads the demo city the others ask.
set -uo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${RUN_DIR:?set RUN_DIR to the stack the examples should ask}"
# shellcheck source=tests/tap.sh
. "$repo_root/tests/tap.sh"
cd "$repo_root/examples" || exit 2
while IFS= read -r script; do
    check "examples/$script answers as expected" bash "$script"
done < <(./run-all.sh --list)
tap_end
