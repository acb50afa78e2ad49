#!/usr/bin/env bash
# 营配贯通 in one question: from a customer up to its substation, and from a
# line down to everyone who would lose supply. grid-svc keeps the grid,
# cust-svc the customers and meters; either one answers the whole chain.
. "$(dirname "$0")/lib.sh"
ADM="Authorization: Bearer dev-admin-key"

make_one() { call POST "$1" "$ADM" "$2"; expect 201; field .code; }

step "A small low-voltage grid: substation, line, public transformer, access point, meter box"
ss=$(make_one "$GRID/v1/substations" '{"name": "Xiaoshan 110kV", "voltage_kv": 110}' | tail -1)
ln=$(make_one "$GRID/v1/lines" '{"name": "Xiaoshan 10kV No.7", "kind": "public", "voltage_kv": 10}' | tail -1)
tr=$(make_one "$GRID/v1/transformers" '{"name": "No.7 T1", "kind": "public", "capacity_kva": 400, "voltage_kv": 10}' | tail -1)
ap=$(make_one "$GRID/v1/access-points" '{"name": "No.7 T1 AP-3"}' | tail -1)
mb=$(make_one "$CUST/v1/meter-boxes" '{"name": "Building 5 box A", "rows": 2, "cols": 2}' | tail -1)
for link in "substation-line $ss $ln" "line-transformer $ln $tr" "accesspoint-transformer $ap $tr" \
            "accesspoint-meterbox $ap $mb"; do
    read -r kind from to <<<"$link"
    call POST "$GRID/v1/relations/$kind" "$ADM" "{\"from\": \"$from\", \"to\": \"$to\"}"
    expect 201
done

step "Two households in the box, each with a meter and a metering point"
customers=()
for who in "Chen Jing" "Liu Yang"; do
    cu=$(make_one "$CUST/v1/customers" "{\"name\": \"$who\", \"category\": \"lv_resident\", \"phone\": \"0571-8300$RANDOM\"}" | tail -1)
    mp=$(make_one "$CUST/v1/metering-points" "{\"customer\": \"$cu\"}" | tail -1)
    mt=$(make_one "$CUST/v1/meters" "{\"asset_no\": \"3330$RANDOM$RANDOM\", \"phase\": \"single\"}" | tail -1)
    call POST "$CUST/v1/relations/meter-meterbox" "$ADM" "{\"from\": \"$mt\", \"to\": \"$mb\"}"
    expect 201
    call POST "$CUST/v1/relations/meter-meteringpoint" "$ADM" "{\"from\": \"$mt\", \"to\": \"$mp\"}"
    expect 201
    customers+=("$cu")
done

step "Up from a customer, asked of grid-svc: customer → metering point → meter → box ⇢ access point → transformer → line → substation"
call GET "$GRID/v1/trace/${customers[0]}?direction=up" "$DISP"
expect 200 '[.nodes[].type] | join(" → ")' \
    "customer → metering_point → meter → meter_box → access_point → transformer → line → substation"

step "Down from the line, asked of cust-svc: who is below it"
call GET "$CUST/v1/trace/$ln?direction=down" "$DISP"
expect 200 '[.nodes[] | select(.type == "customer") | .code] | sort | join(",")' \
    "$(printf '%s\n' "${customers[@]}" | sort | paste -sd, -)"

step "Outage notification 停电主动通知: the line trips"
call GET "$GRID/v1/outage-impact?codes=$ln" "$DISP"
expect 200 .counts.total 2
printf '%s' "$body" | jq -r '.customers[] | "    notify \(.name) at \(.phone) (\(.category))"'

echo
echo "supply-chain example: all answers as expected"
