#!/usr/bin/env bash
# Trouble calls 故障报修 that predict a fault 故障停电, on the demo city
# (00-demo-city.sh). Three customers of 湖墅线 1号公变's area call 95598
# (marketing's key): one by customer code, one by account number, one by the
# phone they call from. No outage explains them, so cust-svc groups them up
# the supply chain (GET /v1/outages/predicted): the lowest grid element above
# all three is the area's access point, 湖墅线 5号杆接入点; in the demo city
# each public transformer feeds its customers through that one access point,
# so the two cut the very same customers and the prediction names the
# equipment, the transformer 湖墅线 1号公变. The fixture (demo-city/) says
# which, and how many customers it feeds. Dispatch confirms it by announcing
# a fault outage on it: the three calls are attached, nothing
# is predicted any more, and a fourth caller is told at once that the fault is
# known and when supply is expected back. Dispatch then restores it, so the
# city is left as it was found and the example runs again on the same stack.
. "$(dirname "$0")/lib.sh"
# shellcheck source=demo-city/codes.sh
. "$here/examples/demo-city/codes.sh"
NOTIFIER="Authorization: Bearer dev-notifier-key"

customers=$(city_customers)
# fixture CODE FIELD: a field of one customer, as the fixture has it
fixture() { jq -r --arg c "$1" ".[] | select(.code == \$c) | .$2" <<<"$customers"; }
account() { jq -r --arg c "$1" 'select(.code == $c) | .account_no' "$here/examples/demo-city/cust/customers.ndjson"; }
callers="$CU_ZHANG_WEI $CU_LIU_YANG $CU_CHEN_JING"

# What the fixture says the calls point at: the one access point above the
# three callers, its transformer, and every customer it feeds.
ap=$(for cu in $callers; do fixture "$cu" access_point; done | sort -u | paste -sd' ' -)
expect_same "the access points above the callers, in the fixture" "$ap" "$AP_HUSHU_5"
ap_name=$(jq -r --arg ap "$ap" 'select(.code == $ap) | .name' "$here/examples/demo-city/grid/access_points.ndjson")
tr=$(fixture "$CU_ZHANG_WEI" transformer)
expect_same "the callers' transformer area, in the fixture" "$tr" "$TR_HUSHU_1"
area=$(jq -r --arg ap "$ap" 'map(select(.access_point == $ap) | .code) | join(" ")' <<<"$customers")
tr_name=$(fixture "$CU_ZHANG_WEI" transformer_name)
# the transformer's customers are the access point's: it is the one suspect
expect_same "the transformer's customers, in the fixture" \
    "$(jq -r --arg tr "$tr" 'map(select(.transformer == $tr) | .code) | join(" ")' <<<"$customers")" "$area"

# predicted_here: the groups in $body that hold the access point, its
# transformer, or a call of this example (other calls may be open on a
# shared stack: they are not ours to judge)
predicted_here() {
    printf '%s' "$body" | jq -c --arg ap "$ap" --arg tr "$tr" --arg calls "${calls[*]:-}" '
        ($calls | split(" ")) as $ours |
        [.items[] | select(.element == $ap or .element == $tr or
                           any(.calls[]; .code as $c | $ours | index($c)))]'
}

step "Before anyone calls: nothing predicted in the area (GET /v1/outages/predicted)"
calls=()
call GET "$CUST/v1/outages/predicted" "$DISP"
expect 200 .min_calls 3
expect_same "the groups predicted at $tr_name" "$(predicted_here)" "[]"

step "Three calls from $(fixture "$CU_ZHANG_WEI" transformer_name)'s area (POST /v1/trouble-calls, marketing)"
# take_call WHO BODY: the call is stored for WHO and explained by no outage
take_call() {
    call POST "$CUST/v1/trouble-calls" "$MKT" "$2"
    expect 201 .customer "$1"
    expect 201 .known null
    expect 201 .outage null
    calls+=("$(field .code)")
    echo "  $(fixture "$1" name): $(field .code)"
}
take_call "$CU_ZHANG_WEI" "{\"customer\": \"$CU_ZHANG_WEI\", \"text\": \"家里突然停电了\"}"
take_call "$CU_LIU_YANG" "{\"account_no\": \"$(account "$CU_LIU_YANG")\", \"text\": \"整栋楼都没电\"}"
take_call "$CU_CHEN_JING" "{\"phone\": \"$(fixture "$CU_CHEN_JING" phone)\", \"text\": \"停电了, 什么时候来电\"}"
expect 201 .phone "$(fixture "$CU_CHEN_JING" phone)"

step "The calls predict an outage: the transformer above all three"
call GET "$CUST/v1/outages/predicted" "$DISP"
expect 200
group=$(predicted_here)
expect_same "the groups predicted for the calls" "$(jq -r 'length' <<<"$group")" 1
expect_same "the element predicted" "$(jq -r '.[0] | "\(.element) \(.type) \(.name)"' <<<"$group")" \
    "$tr transformer $tr_name"
expect_same "the calls it accounts for" "$(jq -r '[.[0].calls[].code] | sort | join(" ")' <<<"$group")" \
    "$(printf '%s\n' "${calls[@]}" | sort | paste -sd' ' -)"
expect_same "the customers it would cut" "$(jq -r '.[0].customers' <<<"$group")" "$(wc -w <<<"$area")"
echo "  $tr_name (its access point $ap_name): 3 calls, $(wc -w <<<"$area") customers"

step "Dispatch confirms it: a fault outage on $tr_name, from now (POST /v1/outages)"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ends=$(date -u -d '+3 hours' +%Y-%m-%dT%H:%M:%SZ)
fault="{\"kind\": \"fault\", \"elements\": [\"$tr\"], \"starts_at\": \"$now\", \"ends_at\": \"$ends\",
    \"reason\": \"$tr_name 高压熔断器熔断, 抢修中\"}"
# a fault is dispatch's to announce: production is refused
call POST "$CUST/v1/outages" "$PROD" "$fault"
expect 403
call POST "$CUST/v1/outages" "$DISP" "$fault"
expect 201 .kind fault
expect 201 .customers "$(wc -w <<<"$area")"
og=$(field .code)
call POST "$CUST/v1/outages/$og/transitions" "$DISP" '{"to": "started", "reason": "故障确认, 抢修班组出发"}' \
    "If-Match: \"$(field .version)\""
expect 200 .state started

step "The three calls are attached to it (GET /v1/trouble-calls/{code}); nothing is predicted any more"
for tc in "${calls[@]}"; do
    call GET "$CUST/v1/trouble-calls/$tc" "$MKT"
    expect 200 .outage "$og"
done
call GET "$CUST/v1/outages/predicted" "$DISP"
expect 200
expect_same "the groups predicted at $tr_name" "$(predicted_here)" "[]"
call GET "$CUST/v1/outages/$og/customers?limit=100" "$DISP"
expect 200 '[.items[].code] | join(" ")' "$area"
expect 200 '[.items[].transformer] | unique | join(" ")' "$tr"
echo "  its list: $(field '[.items[].name] | join(", ")')"

step "A fourth customer calls: the fault is known, and when supply is expected back"
shop=$CU_SHOP
call POST "$CUST/v1/trouble-calls" "$MKT" "{\"phone\": \"$(fixture "$shop" phone)\", \"text\": \"超市停电了\"}"
expect 201 .customer "$shop"
expect 201 .outage "$og"
expect 201 .known.outage "$og"
expect 201 .known.state started
expect 201 .known.ends_at "$ends"
calls+=("$(field .code)")
echo "  $(fixture "$shop" name) is told: $(field .known.reason), expected back $(field .known.ends_at)"

# send_all MESSAGE: the notifier sends the outage's pending notices, one
# MESSAGE to each customer of the list
send_all() {
    call GET "$CUST/v1/notices?state=pending&outage=$og&limit=100" "$NOTIFIER"
    expect 200 '[.items[].customer] | sort | join(" ")' "$area"
    expect 200 '[.items[].message] | unique | join(" ")' "$1"
    call POST "$CUST/v1/notices:ack" "$NOTIFIER" \
        "$(field '{items: [.items[] | {code, state: "sent", detail: "短信已送达"}]}')"
    expect 200 '[.items[] | select(.changed)] | length' "$(wc -w <<<"$area")"
}

step "The notifier tells the area's customers of the fault"
send_all announced

step "Repaired: dispatch restores supply, every customer is told 复电通知"
call POST "$CUST/v1/outages/$og/transitions" "$DISP" '{"to": "restored", "reason": "故障已排除, 恢复送电"}'
expect 200 .state restored
send_all restored
call GET "$CUST/v1/trouble-calls?outage=$og" "$DISP"
expect 200 '[.items[].code] | sort | join(" ")' "$(printf '%s\n' "${calls[@]}" | sort | paste -sd' ' -)"
echo "  $(field '.items | length') calls answered by $og"

echo
echo "fault calls: all answers as expected"
