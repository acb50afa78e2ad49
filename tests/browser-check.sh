#!/usr/bin/env bash
# browser-check.sh -- the console (/console/) in a real browser: Debian's chromium, headless,
# driven by puppeteer-core (deps/npm) through tests/browser/console.test.mjs, against the
# running daemons with the demo city loaded (tests/examples-check.sh loads it first). Each view
# is checked against the API's own answers; screenshots of the views go to SCREENS_DIR.
#
#   tests/browser-check.sh GRID_URL CUST_URL SCREENS_DIR
#
# Prints TAP; exits 0 only if every check passed.
set -uo pipefail
(($# == 3)) || { echo "usage: tests/browser-check.sh GRID_URL CUST_URL SCREENS_DIR" >&2; exit 2; }
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || { echo "browser-check.sh: $chromium is missing: run scripts/deps.sh" >&2; exit 2; }
command -v node >/dev/null || { echo "browser-check.sh: node is needed" >&2; exit 2; }
[[ -d $repo_root/deps/npm/node_modules/puppeteer-core ]] ||
    { echo "browser-check.sh: deps/npm/node_modules/puppeteer-core is missing: run scripts/deps.sh" >&2; exit 2; }
# chromium's own state (profile, crash reports) in a directory of this run, removed after it
home=$(mktemp -d /tmp/browser-check.XXXXXX)
trap 'rm -rf -- "$home"' EXIT
export CHROMIUM=$chromium HOME=$home XDG_CONFIG_HOME=$home XDG_CACHE_HOME=$home
# Bounded: a browser that hangs must not hold make test.
timeout --kill-after=10 300 node "$repo_root/tests/browser/console.test.mjs" "$@"
