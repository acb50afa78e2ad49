#!/usr/bin/env bash
# A whole (small) city at once: citygen writes it as NDJSON for both
# platforms, the bulk import loads it batch by batch, and the cross-platform
# questions are asked of it. The seed is fixed, so a second run finds the
# same city loaded already and only asks.
. "$(dirname "$0")/lib.sh"
city=${CITY_DIR:-$run_dir/demo-city}
citygen=${BIN_DIR:-$here/build}/citygen

step "A city of 2,000 customers from citygen (one substation, its lines, transformers, access points, boxes, meters)"
[ -f "$city/load-order.tsv" ] || "$citygen" --customers 2000 --seed 42 --out "$city"
jq -c .counts "$city/city.json" | head -c 400
echo
ss=$(head -n 1 "$city/sample/substations.txt")
total=$(jq '.counts["cust/customers.ndjson"]' "$city/city.json")

call GET "$GRID/v1/substations/$ss" "$DISP"
if [ "$status" = 404 ]; then
    step "Loaded through POST /v1/{collection}:import and /v1/relations/{kind}:import, in dependency order"
    GRID_URL=$GRID CUST_URL=$CUST IMPORT_KEY=dev-admin-key "$here/scripts/cityload.sh" "$city"
else
    expect 200
    echo "  (the city is in already, from an earlier run)"
fi

step "Every customer of the city is fed from its one substation: the outage impact counts them all"
call GET "$GRID/v1/outage-impact?codes=$ss&limit=3" "$DISP"
expect 200 '.counts.total' "$total"
echo "  by category: $(field '.counts.by_category')"

step "Up from a sampled low-voltage customer, asked of cust-svc, ends at that substation"
cu=$(sed -n 7p "$city/sample/customers_lv.txt")
call GET "$CUST/v1/trace/$cu?direction=up" "$DISP"
expect 200 '[.nodes[] | select(.type == "substation") | .code] | join(",")' "$ss"
echo "  chain: $(field '[.nodes[].type] | join(" → ")')"

step "The lines stream back out as NDJSON (GET /v1/lines:export): every one of the city's is there"
curl -sS -H "$DISP" "$GRID/v1/lines:export" | jq -r .code | sort >"$city/lines.exported"
missing=$(jq -r .code "$city/grid/lines.ndjson" | sort | comm -13 "$city/lines.exported" - | wc -l)
echo "  $(wc -l <"$city/lines.exported") lines exported; city lines missing from the export: $missing"
if [ "$missing" != 0 ]; then
    echo "FAILED: $missing of the city's lines are not in the export" >&2
    exit 1
fi
