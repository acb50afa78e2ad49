# lib.sh -- shared by the example scripts: where the stack is, and small
# helpers that print each request and fail loudly on a wrong answer.
# shellcheck shell=bash disable=SC2034
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run_dir=${RUN_DIR:-$here/.run}
if [ -f "$run_dir/stack.env" ]; then
    # shellcheck disable=SC1091
    . "$run_dir/stack.env"
fi
GRID=${GRID_URL:-http://127.0.0.1:8081}
CUST=${CUST_URL:-http://127.0.0.1:8082}
PROD="Authorization: Bearer dev-production-key"
MKT="Authorization: Bearer dev-marketing-key"
DISP="Authorization: Bearer dev-dispatch-key"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# call METHOD URL AUTH [BODY [HEADER...]] -> prints the request and the
# answer; the body lands in $body and the status in $status. A HEADER such as
# 'If-Match: "3"' is sent and printed too.
call() {
    local method=$1 url=$2 auth=$3 data=${4:-} header
    local args=(-sS -o /tmp/yingpei-example.$$ -w '%{http_code}' -X "$method" -H "$auth")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' -d "$data")
    for header in "${@:5}"; do args+=(-H "$header"); done
    printf '  %s %s%s\n' "$method" "${url#http://}" "$([ $# -le 4 ] || printf '  (%s)' "${@:5}")"
    status=$(curl "${args[@]}" "$url")
    body=$(cat /tmp/yingpei-example.$$)
    rm -f /tmp/yingpei-example.$$
    printf '  -> %s %s\n' "$status" "$(printf '%s' "$body" | head -c 300)"
}

# expect STATUS [JQ-EXPRESSION EXPECTED]
expect() {
    if [ "$status" != "$1" ]; then
        echo "FAILED: expected HTTP $1, got $status" >&2
        exit 1
    fi
    if [ $# -ge 3 ]; then
        local got
        got=$(printf '%s' "$body" | jq -r "$2")
        if [ "$got" != "$3" ]; then
            echo "FAILED: $2 is '$got', expected '$3'" >&2
            exit 1
        fi
    fi
}

field() { printf '%s' "$body" | jq -r "$1"; }

# until_field URL AUTH JQ WANT: datahub follows the platforms a moment behind;
# GETs URL (200 expected) until JQ of the answer gives WANT, for 15 s at most.
until_field() {
    local tries=0
    call GET "$1" "$2"
    expect 200
    while [ "$(field "$3")" != "$4" ]; do
        tries=$((tries + 1))
        if [ "$tries" -ge 75 ]; then
            echo "FAILED: $3 is '$(field "$3")' after 15 s, expected '$4'" >&2
            exit 1
        fi
        sleep 0.2
        call GET "$1" "$2" >/dev/null
        expect 200
    done
}

# expect_same WHAT GOT WANT: for answers put together from several requests.
expect_same() {
    if [ "$2" != "$3" ]; then
        echo "FAILED: $1 is '$2', expected '$3'" >&2
        exit 1
    fi
}

# jq definitions for reading a trace answer ({nodes, edges}): name_of(CODE)
# is a node's name (its code when it has none); from_of(CODE; KIND) the
# codes at the "from" end of the KIND edges whose "to" is CODE, to_of(CODE;
# KIND) the other way round. Edges keep their relation's direction, so which
# of the two goes up depends on the kind.
# shellcheck disable=SC2016
TRACE_JQ='def name_of($c): first(.nodes[] | select(.code == $c) | (.name // .code));
def from_of($c; $k): [.edges[] | select(.to == $c and .kind == $k) | .from] | sort;
def to_of($c; $k): [.edges[] | select(.from == $c and .kind == $k) | .to] | sort;'

# city_customers: the demo city's low-voltage customers as its fixtures
# (examples/demo-city) say, one JSON object each, sorted by code: code, name,
# phone, address (the structured address as one line of text), meter_box,
# access_point, transformer and transformer_name (台区), found through the
# metering point, meter, box and access point links.
city_customers() {
    local c=$here/examples/demo-city
    jq -nc --slurpfile cu "$c/cust/customers.ndjson" --slurpfile ad "$c/cust/addresses.ndjson" \
        --slurpfile mp "$c/cust/metering_points.ndjson" \
        --slurpfile mt_mp "$c/cust/rel/meter-meteringpoint.ndjson" \
        --slurpfile mt_mb "$c/cust/rel/meter-meterbox.ndjson" \
        --slurpfile ap_mb "$c/grid/rel/accesspoint-meterbox.ndjson" \
        --slurpfile ap_tr "$c/grid/rel/accesspoint-transformer.ndjson" \
        --slurpfile tr "$c/grid/transformers.ndjson" '
        def one($rel; $side; $value; $other): first($rel[] | select(.[$side] == $value) | .[$other]);
        ($ad | map({(.code): ([.province, .city, .district, .street, .community, .building,
            .unit, .room, .detail] | map(select(. != null)) | join(""))}) | add) as $address |
        ($tr | map({(.code): .name}) | add) as $tr_name |
        $cu[] | . as $c | one($mp; "customer"; $c.code; "code") as $point |
        one($mt_mp; "to"; $point; "from") as $meter | one($mt_mb; "from"; $meter; "to") as $box |
        select($box != null) | one($ap_mb; "to"; $box; "from") as $ap |
        one($ap_tr; "from"; $ap; "to") as $t |
        {code, name, phone, address: $address[.address], meter_box: $box, access_point: $ap,
         transformer: $t, transformer_name: $tr_name[$t]}' | jq -sc 'sort_by(.code)'
}
