#!/usr/bin/env bash
# 线损: each transformer area 台区's loss, its check meter 考核表's energy less
# what its customers' meters billed, from the readings 采集 of November 2026
# that came with the demo city (00). 湖墅南路便民超市 is recorded under
# 湖墅线 1号公变 but fed from 湖墅新村 2号公变 (户变关系错误): the first area
# bills more than goes in, the second loses far too much, and the readings
# alone name the customer. Marketing moves its meter to the right box, the
# losses come right, and the example puts the city back as it found it.
. "$(dirname "$0")/lib.sh"
# shellcheck source=demo-city/codes.sh
. "$here/examples/demo-city/codes.sh"

# loss QUERY: the line-loss report, read into $body.
loss() {
    call GET "$CUST/v1/reports/line-loss?$1" "$DISP"
    expect 200
}

# until_loss QUERY JQ WANT: the line loss, once JQ of it gives WANT.
until_loss() { until_field "$CUST/v1/reports/line-loss?$1" "$DISP" "$2" "$3"; }

areas() {
    field '.items[] | "  \(.transformer)  in \(.input_kwh) kWh, billed \(.billed_kwh), loss \(.loss_kwh) (\(.loss_rate))  \(.status)"'
}

status_of() { field ".items[] | select(.transformer == \"$1\") | .status"; }

# How many of the listed suspects are the demo city's own customers (other
# examples add customers of their own).
city_suspects() {
    # shellcheck disable=SC2086 # the lists are words
    printf '%s' "$body" | jq -r '[.items[] | select(.customer | IN($ARGS.positional[]))] | length' \
        --args $CUSTOMERS_BELOW_LN_HUSHU $CUSTOMERS_BELOW_LN_DAGUAN
}

step "A meter's readings: 湖墅南路便民超市's first week of November"
call GET "$CUST/v1/meters/$MT_SHOP/readings?from=2026-11-01&to=2026-11-07" "$DISP"
expect 200
expect 200 '.items | length' 7
field '.items | map("\(.day) \(.kwh)") | join(", ")' | fold -w 96 | sed 's/^/  /'

step "湖墅线's two areas on 3 November: one bills more than goes in, the other loses too much"
until_loss "day=2026-11-03&line=$LN_HUSHU" '.totals.counted' 2
areas
expect_same "$TR_MISLINK_RECORDED's status" "$(status_of "$TR_MISLINK_RECORDED")" negative
expect_same "$TR_MISLINK_TRUE's status" "$(status_of "$TR_MISLINK_TRUE")" high

step "The whole month: 大关线 1号公变 is normal; 湖墅线's total hides the error"
loss "from=2026-11-01&to=2026-11-30&line=$LN_DAGUAN"
areas
expect_same "大关线 1号公变's status" "$(status_of "$TR_DAGUAN_1")" normal
loss "from=2026-11-01&to=2026-11-30&line=$LN_HUSHU"
field '.totals | "  湖墅线: in \(.input_kwh) kWh, billed \(.billed_kwh), loss \(.loss_kwh) (\(.loss_rate))"'

step "Which customer is recorded under the wrong area? The readings alone say"
call GET "$CUST/v1/reports/suspect-links?from=2026-11-01&to=2026-11-30&limit=1000" "$DISP"
expect 200
ours=$(printf '%s' "$body" | jq -c --arg cu "$CU_MISLINKED" '.items[] | select(.customer == $cu)')
printf '%s' "$ours" | jq -r '"  \(.customer): recorded under \(.linked_transformer), fits \(.fits_transformer), score \(.score)"'
expect_same "the city's suspects" "$(city_suspects)" 1
expect_same "its recorded area" "$(printf '%s' "$ours" | jq -r .linked_transformer)" "$TR_MISLINK_RECORDED"
expect_same "the area it fits" "$(printf '%s' "$ours" | jq -r .fits_transformer)" "$TR_MISLINK_TRUE"

step "Marketing moves its meter to 湖墅新村 3幢's box, under the area that feeds it"
call DELETE "$CUST/v1/relations/meter-meterbox?from=$MT_SHOP&to=$MB_HUSHU_12_1" "$MKT"
expect 200
put_back() {
    call DELETE "$CUST/v1/relations/meter-meterbox?from=$MT_SHOP&to=$MB_XINCUN_3" "$MKT" >/dev/null
    call POST "$CUST/v1/relations/meter-meterbox" "$MKT" \
        "{\"from\": \"$MT_SHOP\", \"to\": \"$MB_HUSHU_12_1\"}" >/dev/null
}
trap put_back EXIT
call POST "$CUST/v1/relations/meter-meterbox" "$MKT" \
    "{\"from\": \"$MT_SHOP\", \"to\": \"$MB_XINCUN_3\"}"
expect 201

step "湖墅线's areas on 3 November again: both normal"
until_loss "day=2026-11-03&line=$LN_HUSHU" '.totals.by_status.normal' 2
areas

step "And no suspect is left on 湖墅线 or 大关线"
call GET "$CUST/v1/reports/suspect-links?from=2026-11-01&to=2026-11-30&limit=1000" "$DISP"
expect 200
expect_same "the city's suspects" "$(city_suspects)" 0

step "Putting the city back as it was (the meter in its recorded box)"
put_back
trap - EXIT
until_loss "day=2026-11-03&line=$LN_HUSHU" '.totals.by_status.negative' 1
echo "  湖墅线 1号公变 is negative again"
