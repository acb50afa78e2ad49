#!/usr/bin/env bash
# 营配贯通率: how much of the customer base is joined up with the grid. Both
# platforms replicate into the data middle platform (数据中台, the datahub
# database); the report there joins every customer's chain across the two,
# and cust-svc answers it. A break on one platform shows up in it within
# seconds, with no job of ours in between. Runs on the demo city (00), and
# leaves it as it found it.
. "$(dirname "$0")/lib.sh"
# shellcheck source=demo-city/codes.sh
. "$here/examples/demo-city/codes.sh"

# report QUERY: the report, read into $body.
report() {
    call GET "$CUST/v1/reports/integration?$1" "$DISP"
    expect 200
}

# until_report QUERY JQ WANT: the report, once JQ of it gives WANT.
until_report() { until_field "$CUST/v1/reports/integration?$1" "$DISP" "$2" "$3"; }

summary() {
    printf '  %s\n' "$(field '"\(.customers.complete) of \(.customers.active) active customers joined up (rate \(.rate)); broken links: \(.broken_links.total)"')"
}

step "Who is below 湖墅新村 2号公变, walked live across both platforms (outage impact)"
call GET "$GRID/v1/outage-impact?codes=$TR_XINCUN_2&limit=100" "$DISP"
expect 200
below=$(field .counts.total)
echo "  $below customers"

step "The report for 10kV 湖墅线 (from datahub): every customer below it is joined up"
lv_hushu=$(echo "$CUSTOMERS_BELOW_LN_HUSHU" | wc -w)
until_report "line=$LN_HUSHU" .customers.complete "$lv_hushu"
expect 200 .customers.active "$lv_hushu"
expect 200 .broken_links.total 0
summary
echo "  as of $(field .freshness.as_of)"

step "Production takes 湖墅新村 2号公变 off the line (ends its line-transformer link)"
call DELETE "$GRID/v1/relations/line-transformer?from=$LN_HUSHU&to=$TR_XINCUN_2" "$PROD"
expect 200
relink() {
    call POST "$GRID/v1/relations/line-transformer" "$PROD" \
        "{\"from\": \"$LN_HUSHU\", \"to\": \"$TR_XINCUN_2\"}" >/dev/null
}
trap relink EXIT

step "... and the report sees it: the transformer area's customers no longer reach a substation"
until_report "transformer=$TR_XINCUN_2" .customers.complete 0
expect 200 .customers.active "$below"
expect 200 '[.items[] | select(.kind == "transformer_without_line") | .code] | join(",")' \
    "$TR_XINCUN_2"
summary
echo "  broken: $(field '[.items[] | "\(.kind) \(.code)"] | join(", ")')"
report "line=$LN_HUSHU"
expect 200 .customers.active "$((lv_hushu - below))"

step "The link is put back: the area is whole again"
trap - EXIT
call POST "$GRID/v1/relations/line-transformer" "$PROD" \
    "{\"from\": \"$LN_HUSHU\", \"to\": \"$TR_XINCUN_2\"}"
expect 201
until_report "transformer=$TR_XINCUN_2" .customers.complete "$below"
expect 200 .broken_links.total 0
summary

echo
echo "integration report: all answers as expected"
