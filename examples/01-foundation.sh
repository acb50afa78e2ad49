#!/usr/bin/env bash
# One grid, two platforms: each object is kept once, by its owner, under one
# code; either platform answers reads of it; writes go to the owner, by the
# role that maintains the object.
. "$(dirname "$0")/lib.sh"

step "Production (PMS) records a 110 kV substation on grid-svc"
call POST "$GRID/v1/substations" "$PROD" \
    '{"name": "Gongshu 110kV", "voltage_kv": 110, "location": {"lon": 120.163, "lat": 30.294}}'
expect 201 .status operational
ss=$(field .code)

step "... and a public 10 kV line fed from it"
call POST "$GRID/v1/lines" "$PROD" '{"name": "Gongshu 10kV No.1", "kind": "public", "voltage_kv": 10, "length_km": 4.2}'
expect 201 .kind public
ln=$(field .code)
call POST "$GRID/v1/relations/substation-line" "$PROD" "{\"from\": \"$ss\", \"to\": \"$ln\", \"role\": \"source\"}"
expect 201 .to "$ln"

step "Marketing may not maintain a public line (DESIGN §5)"
call PATCH "$GRID/v1/lines/$ln" "$MKT" '{"length_km": 5}'
expect 403

step "Marketing records a customer and its address on cust-svc"
call POST "$CUST/v1/addresses" "$MKT" \
    '{"province": "浙江省", "city": "杭州市", "district": "拱墅区", "street": "湖墅南路", "building": "3幢", "unit": "1单元", "room": "301"}'
expect 201 .city 杭州市
ad=$(field .code)
call POST "$CUST/v1/customers" "$MKT" \
    "{\"name\": \"Zhang San\", \"category\": \"lv_resident\", \"phone\": \"0571-8800000\", \"address\": \"$ad\"}"
expect 201 .address "$ad"
cu=$(field .code)

step "Either platform answers a read of either side's objects"
call GET "$GRID/v1/customers/$cu" "$DISP"
expect 200 .name "Zhang San"
call GET "$CUST/v1/substations/$ss" "$DISP"
expect 200 .name "Gongshu 110kV"
call GET "$CUST/v1/relations/substation-line?to=$ln" "$DISP"
expect 200 '.items[0].from' "$ss"

step "A write sent to the platform that does not own the object is refused with 421"
call PATCH "$GRID/v1/customers/$cu" "$MKT" '{"phone": "0571-1"}'
expect 421 .owner cust-svc

step "A mistyped code is caught by its check symbol before any lookup"
bad="${cu%?}$( [ "${cu: -1}" = 0 ] && echo 1 || echo 0)"
call GET "$CUST/v1/customers/$bad" "$DISP"
expect 400

echo
echo "foundation example: all answers as expected"
