#!/usr/bin/env bash
# client-check.sh -- checks that a TypeScript client generated from each running daemon's
# /openapi.json serves a real program: openapi-typescript makes the types of the document, and
# `tsc --noEmit --strict` type-checks tests/client/list-and-trace.ts (openapi-fetch: list
# customers, read items[0].code, trace one, read the chain's nodes and edges) against them. The
# program is compiled, never run. Last, the check shows it can fail: with the trace's route
# renamed in the first document, tsc must refuse the same program.
#
#   tests/client-check.sh BASE_URL [BASE_URL...]      e.g. tests/client-check.sh "$GRID_URL" "$CUST_URL"
#
# Needs curl, jq, node and the packages that scripts/deps.sh installs under deps/npm (npm ci).
# Prints TAP ("ok N - ...", "not ok N - ...", then "1..N"); exits 0 only if every check passed.
set -uo pipefail

usage() {
    echo "usage: tests/client-check.sh BASE_URL [BASE_URL...]" >&2
    exit 2
}
(($# > 0)) || usage
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
modules=$repo_root/deps/npm/node_modules
program=$repo_root/tests/client/list-and-trace.ts
for tool in curl jq node; do
    command -v "$tool" >/dev/null || { echo "client-check.sh: $tool is needed" >&2; exit 2; }
done
for pkg in openapi-typescript openapi-fetch typescript; do
    [[ -d $modules/$pkg ]] ||
        { echo "client-check.sh: deps/npm/node_modules/$pkg is missing: run scripts/deps.sh" >&2; exit 2; }
done

work=$(mktemp -d /tmp/client-check.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
# The program imports openapi-fetch: found by walking up from each copy to this link.
ln -s "$modules" "$work/node_modules"

# shellcheck source=tests/tap.sh
. "$repo_root/tests/tap.sh"

fetch() {
    local url=$1 doc=$2
    curl -fsS --max-time 10 -o "$doc" "$url/openapi.json" || return 1
    jq -e '.paths | type == "object"' "$doc" >/dev/null ||
        { echo "not an OpenAPI document: $(head -c 200 "$doc")"; return 1; }
}

# The types of DOC, as api.d.ts beside a copy of the program in DIR.
generate() {
    local doc=$1 dir=$2
    mkdir -p "$dir" && cp "$program" "$dir/" || return 1
    node "$modules/openapi-typescript/bin/cli.js" "$doc" -o "$dir/api.d.ts" || return 1
    [[ -s $dir/api.d.ts ]] || { echo "no types written"; return 1; }
}

typecheck() {
    local dir=$1
    (cd "$dir" && node "$modules/typescript/bin/tsc" --noEmit --strict --target es2022 \
        --module esnext --moduleResolution bundler --lib es2022,dom list-and-trace.ts)
}

# What typecheck says of a document the program does not fit: it must say no.
refused() {
    local out
    if out=$(typecheck "$1" 2>&1); then
        echo "tsc accepted the program against a document without GET /v1/trace/{code}"
        return 1
    fi
    grep -q "/v1/trace/{code}" <<<"$out" || { echo "tsc refused it for another reason:"; echo "$out"; return 1; }
}

i=0
first=""
for url in "$@"; do
    url=${url%/}
    i=$((i + 1))
    name=$(curl -fsS --max-time 5 "$url/healthz" 2>/dev/null | jq -r '.service // empty' 2>/dev/null)
    name=${name:-$url}
    doc=$work/openapi-$i.json
    check "$name serves /openapi.json" fetch "$url" "$doc" || continue
    check "$name: openapi-typescript generates the types of /openapi.json" \
        generate "$doc" "$work/client-$i" || continue
    check "$name: tests/client/list-and-trace.ts type-checks against them (tsc --strict)" \
        typecheck "$work/client-$i" && first=${first:-$doc}
done

# The first document with the trace's route renamed: the program must no longer compile.
renamed_is_refused() {
    jq '.paths["/v1/traces/{code}"] = .paths["/v1/trace/{code}"] | del(.paths["/v1/trace/{code}"])' \
        "$1" >"$work/renamed.json" || return 1
    generate "$work/renamed.json" "$work/client-renamed" >/dev/null || return 1
    refused "$work/client-renamed"
}

[[ -z $first ]] ||
    check "the check can fail: with /v1/trace/{code} renamed in the document, tsc refuses the program" \
        renamed_is_refused "$first"

tap_end
