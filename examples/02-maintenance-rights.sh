#!/usr/bin/env bash
# 差异化数据维护: who may write what (DESIGN §5). A public transformer is
# production's; a dedicated one, part of a customer's connection, is
# marketing's. Links across the platforms are confirmed with the other side,
# and links are effective-dated.
. "$(dirname "$0")/lib.sh"

step "Production records a line and a public transformer on it"
call POST "$GRID/v1/lines" "$PROD" '{"name": "Chengxi 10kV No.5", "kind": "public", "voltage_kv": 10}'
expect 201
ln=$(field .code)
call POST "$GRID/v1/transformers" "$PROD" \
    '{"name": "Chengxi No.5 public T3", "kind": "public", "capacity_kva": 400, "voltage_kv": 10}'
expect 201 .kind public
pub=$(field .code)
call POST "$GRID/v1/relations/line-transformer" "$PROD" "{\"from\": \"$ln\", \"to\": \"$pub\"}"
expect 201

step "Marketing may not change the public transformer..."
call PATCH "$GRID/v1/transformers/$pub" "$MKT" '{"capacity_kva": 630}'
expect 403
step "... production may"
call PATCH "$GRID/v1/transformers/$pub" "$PROD" '{"capacity_kva": 630}'
expect 200 .capacity_kva 630

step "A factory applies for a dedicated transformer: marketing keeps it"
call POST "$CUST/v1/customers" "$MKT" '{"name": "Hangzhou Textile Works", "category": "hv", "contract_capacity_kva": 800}'
expect 201
cu=$(field .code)
call POST "$GRID/v1/transformers" "$PROD" \
    '{"name": "Textile Works T1", "kind": "dedicated", "capacity_kva": 800, "voltage_kv": 10}'
expect 403
call POST "$GRID/v1/transformers" "$MKT" \
    '{"name": "Textile Works T1", "kind": "dedicated", "capacity_kva": 800, "voltage_kv": 10}'
expect 201 .kind dedicated
ded=$(field .code)

step "Linking it to the customer: grid-svc confirms the customer with cust-svc"
call POST "$GRID/v1/relations/transformer-customer" "$MKT" "{\"from\": \"$ded\", \"to\": \"$cu\"}"
expect 201 .to "$cu"
call POST "$GRID/v1/relations/transformer-customer" "$MKT" "{\"from\": \"$pub\", \"to\": \"$cu\"}"
expect 409
missing=$("${BIN_DIR:-$here/build}/bizcode" new CU)
call POST "$GRID/v1/relations/transformer-customer" "$MKT" "{\"from\": \"$ded\", \"to\": \"$missing\"}"
expect 422
step "A dedicated transformer serves one customer: a second link is refused, naming the first"
call POST "$CUST/v1/customers" "$MKT" '{"name": "Textile Works Canteen", "category": "lv_nonresident"}'
expect 201
other=$(field .code)
call POST "$GRID/v1/relations/transformer-customer" "$MKT" "{\"from\": \"$ded\", \"to\": \"$other\"}"
expect 409 .existing.to "$cu"

step "Links are effective-dated: ended, yet found as of an earlier moment"
before=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sleep 0.1
call DELETE "$GRID/v1/relations/line-transformer?from=$ln&to=$pub" "$PROD"
expect 200
call GET "$GRID/v1/relations/line-transformer?to=$pub" "$DISP"
expect 200 '.items | length' 0
call GET "$GRID/v1/relations/line-transformer?to=$pub&at=$before" "$DISP"
expect 200 '.items[0].from' "$ln"

step "Every write is in the transformer's history, readable on either platform"
call GET "$CUST/v1/transformers/$pub/history" "$DISP"
expect 200 '[.items[].type] | join(",")' "transformer.created,relation.added,transformer.updated,relation.ended"

echo
echo "maintenance-rights example: all answers as expected"
