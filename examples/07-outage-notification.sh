#!/usr/bin/env bash
# Proactive outage notification 停电主动通知, asked of the demo city
# (00-demo-city.sh): when a line trips or a transformer is taken out, the
# service command centre needs every customer below it, with phone and
# category, at once. GET /v1/outage-impact walks the grid on grid-svc and the
# meters and customers on cust-svc, whichever platform is asked. Each answer
# is checked against the fixture: the customers the line's links reach
# (demo-city/codes.sh) and their categories in demo-city/cust/customers.ndjson.
# The switches stand as they normally do (09-switching.sh operates them): no
# open switch could bring any of these customers back from elsewhere, so no
# answer here names one as restorable.
. "$(dirname "$0")/lib.sh"
city=$here/examples/demo-city
# shellcheck source=demo-city/codes.sh
. "$city/codes.sh"

# fixture_counts "CODE CODE ...": those customers' categories, counted as
# the fixture has them: "hv=N lv_nonresident=N lv_resident=N".
fixture_counts() {
    jq -rs --arg codes "$1" '($codes | split(" ")) as $want |
        [.[] | select(.code as $c | $want | index($c))] | group_by(.category) |
        map("\(.[0].category)=\(length)") | join(" ")' "$city/cust/customers.ndjson"
}
sorted() { tr ' ' '\n' <<<"$1" | sort | paste -sd' ' -; }

# impact BASE CODES "WANT-CUSTOMERS" "WANT-COUNTS": asks who loses supply
# and checks the list, its total and its counts by category; the counts are
# also checked against the fixture, so a changed city cannot pass silently.
impact() {
    local base=$1 codes=$2 want=$3 counts=$4
    expect_same "the fixture's categories of the customers expected" "$(fixture_counts "$want")" "$counts"
    call GET "$base/v1/outage-impact?codes=$codes" "$DISP"
    expect 200 '.next' null
    expect 200 '.counts.total' "$(wc -w <<<"$want")"
    expect 200 '.customers | length' "$(wc -w <<<"$want")"
    expect 200 '[.customers[].code] | join(" ")' "$(sorted "$want")"
    expect 200 '.counts.by_category | to_entries | sort_by(.key) | map("\(.key)=\(.value)") | join(" ")' "$counts"
    expect 200 '[.state, (.restorable | length)] | join(" ")' "current 0"
    # name, phone, address and category, each as the fixture loaded it
    expect 200 '[.customers[] | [.code, .name, .phone, .address, .category]] | tojson' \
        "$(jq -sc --arg codes "$want" '($codes | split(" ")) as $want |
            [.[] | select(.code as $c | $want | index($c)) | [.code, .name, .phone, .address, .category]] |
            sort_by(.[0])' "$city/cust/customers.ndjson")"
    echo "  $(field .counts.total) customers: $(field '.counts.by_category | to_entries | sort_by(.key) | map("\(.key) \(.value)") | join(", ")')"
}

step "Where the customers live: their structured addresses (GET /v1/addresses:export on cust-svc)"
call GET "$CUST/v1/addresses:export" "$DISP"
expect 200
# the demo city's only: the platform may hold many more
addresses=$(printf '%s' "$body" | jq -sc --slurpfile city "$city/cust/addresses.ndjson" '
    ($city | map({(.code): true}) | add) as $ours | map(select($ours[.code])) |
    map({(.code): ([.street, .community, .building, .unit, .room, .detail] |
    map(select(. != null)) | join(" "))}) | add')

step "10kV 湖墅线 trips: who loses supply? (asked of grid-svc)"
impact "$GRID" "$LN_HUSHU" "$CUSTOMERS_BELOW_LN_HUSHU" "hv=1 lv_nonresident=3 lv_resident=9"
printf '%s' "$body" | jq -r --argjson addr "$addresses" '.customers[] |
    "    notify \(.name) at \(.phone) (\(.category)), \($addr[.address] // "no address")"'
hushu=$body

step "The same question asked of cust-svc: the same list"
call GET "$CUST/v1/outage-impact?codes=$LN_HUSHU" "$DISP"
expect 200 '.customers | tojson' "$(printf '%s' "$hushu" | jq -c .customers)"
expect 200 '.counts | tojson' "$(printf '%s' "$hushu" | jq -c .counts)"
echo "  $(field .counts.total) customers, the same as grid-svc's"

step "湖墅新村 2号公变 is taken out for maintenance: who is told in advance? (asked of cust-svc)"
xincun="$CU_YANG_LEI $CU_ZHAO_MIN $CU_HUANG_QIANG $CU_ZHOU_JIE $CU_XINCUN_CTR"
impact "$CUST" "$TR_XINCUN_2" "$xincun" "lv_nonresident=1 lv_resident=4"
echo "  $(field '[.customers[].name] | join(", ")')"

step "湖墅新村配电室 is shut for work: it takes out the transformer standing in it, so the same customers (grid-svc)"
impact "$GRID" "$SR_XINCUN" "$xincun" "lv_nonresident=1 lv_resident=4"

step "10kV 大关线 and 10kV 半山特钢专线 out together, 大关线 1号公变 named too: each customer listed once (grid-svc)"
impact "$GRID" "$LN_DAGUAN,$TR_DAGUAN_1,$LN_STEEL" "$CUSTOMERS_BELOW_LN_DAGUAN $CUSTOMERS_BELOW_LN_STEEL" \
    "hv=1 lv_nonresident=1 lv_resident=2"
echo "  $(field '[.customers[] | "\(.name) (\(.category))"] | join(", ")')"

step "All three substations: every customer of the city (asked of cust-svc)"
all=$(jq -r .code "$city/cust/customers.ndjson" | paste -sd' ' -)
impact "$CUST" "$SS_GONGSHU,$SS_DAGUAN,$SS_BANSHAN" "$all" "hv=2 lv_nonresident=4 lv_resident=11"

echo
echo "outage notification: all answers as expected"
