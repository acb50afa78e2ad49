#!/usr/bin/env bash
# openapi-check.sh -- checks that each running daemon's /openapi.json is a valid OpenAPI 3.1
# document, with two validators that see different defects:
#   - the OpenAPI Initiative's schema for 3.1 with its Schema Object dialect (schema-base), by
#     tests/openapi-validate.mjs with @hyperjump/json-schema: fields in the wrong place, path
#     parameters not required, empty responses, and every schema in the document as JSON
#     Schema 2020-12 (a misspelt type, a minimum that is no number);
#   - Redocly CLI's spec ruleset (`redocly lint --extends=spec`): every $ref resolves, every
#     {name} of a path is declared as a parameter, and its own model of each object;
#   - Redocly CLI's recommended ruleset, as a new user would lint it (`redocly lint
#     --extends=recommended`): no errors (every operation has a security entry, servers is not
#     empty, operationIds are unique...); the warnings left are counted, by rule, in a TAP
#     comment ("# NAME: redocly recommended: N warnings (rule n, ...)").
# That every route is in the document is tests/unit/test_openapi.c's.
#
#   tests/openapi-check.sh BASE_URL [BASE_URL...]      e.g. tests/openapi-check.sh "$GRID_URL" "$CUST_URL"
#
# Needs curl, jq, node and the packages that scripts/deps.sh installs under deps/npm (npm ci).
# Prints TAP ("ok N - ...", "not ok N - ...", then "1..N"); exits 0 only if every check passed.
set -uo pipefail

usage() {
    echo "usage: tests/openapi-check.sh BASE_URL [BASE_URL...]" >&2
    exit 2
}
(($# > 0)) || usage
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$repo_root/deps/npm/node_modules/.bin
for tool in curl jq node; do
    command -v "$tool" >/dev/null || { echo "openapi-check.sh: $tool is needed" >&2; exit 2; }
done
node_version=$(node -p process.versions.node)
if [[ $(printf '%s\n' 20.19.0 "$node_version" | sort -V | head -n 1) != 20.19.0 ]]; then
    echo "openapi-check.sh: @redocly/cli needs Node.js 20.19 or later, not $node_version" >&2
    exit 2
fi
for pkg in @hyperjump/json-schema @redocly/cli; do
    [[ -d $repo_root/deps/npm/node_modules/$pkg ]] ||
        { echo "openapi-check.sh: deps/npm/node_modules/$pkg is missing: run scripts/deps.sh" >&2; exit 2; }
done
# Redocly CLI: no usage reports, no update notices (and no network: only the document is read).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true

work=$(mktemp -d /tmp/openapi-check.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
# Redocly reads a redocly.yaml from the directory it runs in: run it where there is none.
cd "$work" || exit 2

# shellcheck source=tests/tap.sh
. "$repo_root/tests/tap.sh"

fetch() {
    local url=$1 doc=$2
    curl -fsS --max-time 10 -o "$doc" "$url/openapi.json" || return 1
    jq -e '.openapi | type == "string" and test("^3\\.1\\.[0-9]+$")' "$doc" >/dev/null || {
        echo "not JSON, or .openapi is not 3.1.x: $(head -c 200 "$doc")"
        return 1
    }
}

schema_base() {
    node "$repo_root/tests/openapi-validate.mjs" "$1"
}

# Less its notice boxes (the Node.js versions it will want), which are no finding.
redocly_spec() {
    local out rc=0
    out=$("$bin/redocly" lint --extends=spec --format=stylish --max-problems=40 "$1" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -v '^ *[╔║╚]'
    return "$rc"
}

# Fails on any error; leaves the report in $1.recommended.json for the count of warnings.
redocly_recommended() {
    local doc=$1 report=$1.recommended.json rc=0 errors
    "$bin/redocly" lint --extends=recommended --format=json --max-problems=100000 "$doc" \
        >"$report" 2>/dev/null || rc=$?
    jq -e '.problems | type == "array"' "$report" >/dev/null 2>&1 ||
        { echo "redocly gave no report (exit $rc)"; return 1; }
    errors=$(jq '[.problems[] | select(.severity == "error")] | length' "$report")
    if ((errors > 0)); then
        echo "$errors errors:"
        jq -r '.problems[] | select(.severity == "error")
               | "\(.ruleId): \(.message) at \(.location[0].pointer // "?")"' "$report" | head -n 30
        return 1
    fi
    ((rc == 0)) || { echo "redocly lint exited $rc with no errors reported"; return 1; }
}

# "N warnings (rule n, rule n)" from the report redocly_recommended left.
warnings_by_rule() {
    jq -r '[.problems[] | select(.severity != "error")] as $w
           | "\($w | length) warnings"
             + (if ($w | length) > 0 then " ("
                 + ($w | group_by(.ruleId) | map("\(.[0].ruleId) \(length)") | join(", ")) + ")"
                else "" end)' "$1"
}

i=0
for url in "$@"; do
    url=${url%/}
    i=$((i + 1))
    # The daemon's own name, for the labels; the URL when it does not say.
    name=$(curl -fsS --max-time 5 "$url/healthz" 2>/dev/null | jq -r '.service // empty' 2>/dev/null)
    name=${name:-$url}
    doc=$work/openapi-$i.json
    check "$name serves /openapi.json: JSON, openapi 3.1.x" fetch "$url" "$doc" || continue
    check "$name /openapi.json is valid against the OpenAPI 3.1 schema and dialect" \
        schema_base "$doc"
    check "$name /openapi.json passes redocly lint --extends=spec" redocly_spec "$doc"
    check "$name /openapi.json has no errors by redocly lint --extends=recommended" \
        redocly_recommended "$doc" &&
        echo "# $name: redocly recommended: $(warnings_by_rule "$doc.recommended.json")"
done

tap_end
