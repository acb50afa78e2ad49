#!/usr/bin/env bash
# High-voltage new connection 高压业扩新装: one work order on cust-svc, taken
# step by step by marketing and production staff, each step visible to the
# other platform as change events. The design step draws the dedicated
# transformer on grid-svc in red (design status); publishing turns the
# drawing black (operational); power-on makes the customer active with its
# meter and billing, and the customer's supply chain reaches the substation.
. "$(dirname "$0")/lib.sh"

# The newest event on a platform after seq $2, to show only what each step
# adds (events before the pruning horizon are gone: 410 says where to resume).
newest() {
    local after=${2:-0} next
    while :; do
        next=$(curl -sS -H "$DISP" "$1/v1/events?after=$after&limit=1000" |
            jq -r --arg a "$after" '.resume_after // (.items[-1].seq) // $a')
        [ "$next" = "$after" ] && break
        after=$next
    done
    echo "$after"
}
seen_grid=$(newest "$GRID")
seen_cust=$(newest "$CUST")

# Prints the events each platform recorded since the last call.
events() {
    local base name seen
    for name in grid cust; do
        if [ $name = grid ]; then base=$GRID seen=$seen_grid; else base=$CUST seen=$seen_cust; fi
        curl -sS -H "$DISP" "$base/v1/events?after=$seen&limit=100" |
            jq -r --arg p "$name-svc" '.items[] | "    \($p) event \(.seq): \(.type) \(.code)"'
        seen=$(newest "$base" "$seen")
        if [ $name = grid ]; then seen_grid=$seen; else seen_cust=$seen; fi
    done
}

# advance STEP marketing|production [DATA-MEMBERS]
advance() {
    local to=$1 auth=$MKT data=${3:-}
    [ "$2" = production ] && auth=$PROD
    step "$to, by $2 staff"
    call POST "$CUST/v1/work-orders/$wo/transitions" "$auth" "{\"to\": \"$to\"${data:+, $data}}"
    expect 200 .step "$to"
    events
}

step "The grid it will hang on: a substation and a public 10 kV line (production)"
call POST "$GRID/v1/substations" "$PROD" '{"name": "Binjiang 110kV", "voltage_kv": 110}'
expect 201
ss=$(field .code)
call POST "$GRID/v1/lines" "$PROD" '{"name": "Binjiang 10kV No.12", "kind": "public", "voltage_kv": 10}'
expect 201
ln=$(field .code)
call POST "$GRID/v1/relations/substation-line" "$PROD" "{\"from\": \"$ss\", \"to\": \"$ln\", \"role\": \"source\"}"
expect 201
events

step "A factory applies for a 630 kVA supply (marketing opens the work order)"
call POST "$CUST/v1/work-orders" "$MKT" \
    '{"type": "hv_new_connection", "applicant": "Hangzhou Precision Castings Co.", "phone": "0571-86001234", "summary": "new 630 kVA supply for the foundry"}'
expect 201 .step applied
wo=$(field .code)
events

advance surveyed marketing '"note": "site surveyed; 10 kV available from No.12"'
advance planned marketing "\"line\": \"$ln\", \"capacity_kva\": 630, \"voltage_kv\": 10, \"metering_plan\": \"high-side metering\", \"billing_plan\": \"two-part tariff\", \"power_on_date\": \"2027-03-01\""
cu=$(field .customer)
sp=$(field .supply_point)
echo "    customer $cu (pending) and supply point $sp created on cust-svc"

advance designed production '"transformer_name": "Precision Castings T1", "transformer_model": "SCB13-630/10"'
tr=$(field .transformer)
call GET "$GRID/v1/transformers/$tr" "$DISP"
expect 200 .status design
echo "    grid-svc drew $tr in red (design)"

advance scheduled production '"power_on_date": "2027-03-15"'

step "Power-on before the drawing is published is refused"
call POST "$CUST/v1/work-orders/$wo/transitions" "$MKT" '{"to": "powered", "meter_asset_no": "EX-0001"}'
expect 409 '.legal | join(",")' "accepted,cancelled"

advance accepted marketing '"note": "acceptance test passed"'
advance published production
call GET "$GRID/v1/drawings/$wo" "$DISP"
expect 200 .status published
call GET "$GRID/v1/transformers/$tr" "$DISP"
expect 200 .status operational
echo "    the drawing is black: $tr operational"

advance powered marketing "\"meter_asset_no\": \"33300$RANDOM$RANDOM\", \"meter_phase\": \"three\", \"tariff\": \"E-HV-10\""
call GET "$CUST/v1/customers/$cu" "$DISP"
expect 200 .status active

step "The new customer's supply chain, asked of grid-svc"
call GET "$GRID/v1/trace/$cu?direction=up" "$DISP"
expect 200 '[.nodes[] | select(.code == "'"$sp"'" or .code == "'"$tr"'" or .code == "'"$ln"'" or .code == "'"$ss"'") | .type] | join(" → ")' \
    "supply_point → transformer → line → substation"

advance archived marketing

step "The steps taken"
call GET "$CUST/v1/work-orders/$wo/transitions" "$DISP"
expect 200 '[.items[].step] | join(" → ")' \
    "surveyed → planned → designed → scheduled → accepted → published → powered → archived"
printf '%s' "$body" | jq -r '.items[] | "    \(.at)  \(.step) by \(.app)"'

echo
echo "high-voltage new connection example: all answers as expected"
