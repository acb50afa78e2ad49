#!/usr/bin/env bash
# The source paper's medium-voltage scenario, asked of the demo city
# (00-demo-city.sh) by its fixed codes: a silk dyeing works, a high-voltage
# customer, takes its supply from its own dedicated transformer on the
# public line 10kV 湖墅线. Marketing keeps the customer, its supply point and
# its metering point (cust-svc); production keeps the line and substations
# and marketing the dedicated transformer (grid-svc). Every question goes to
# whichever platform is nearer to hand: each answers for both.
. "$(dirname "$0")/lib.sh"
# shellcheck source=demo-city/codes.sh
. "$here/examples/demo-city/codes.sh"

silk=杭州湖墅丝绸印染有限公司

step "By customer code, asked of grid-svc (which asks cust-svc, the keeper): the customer"
call GET "$GRID/v1/customers/$CU_SILK" "$DISP"
expect 200 .name "$silk"
expect 200 .category hv
echo "  customer: $(field '"\(.name), \(.category), \(.phone), contract \(.contract_capacity_kva) kVA"')"

step "... its supply points"
call GET "$GRID/v1/supply-points?customer=$CU_SILK" "$DISP"
expect 200 '[.items[].code] | join(",")' "$SP_SILK"
echo "  supply point: $(field '.items[] | "\(.name), \(.voltage_kv) kV, \(.mode), \(.capacity_kva) kVA"')"

step "... its metering points"
call GET "$GRID/v1/metering-points?customer=$CU_SILK" "$DISP"
expect 200 '[.items[].code] | join(",")' "$MP_SILK"
echo "  metering point: $(field '.items[] | "\(.name), \(.purpose), \(.voltage_kv) kV"')"

step "... and what else it has: its rooftop plant with its units, its backup generator (cust-svc)"
call GET "$CUST/v1/power-plants?customer=$CU_SILK" "$DISP"
expect 200 '[.items[].name] | join(",")' "湖墅丝绸 屋顶光伏电站"
plant="$(field '.items[0] | "\(.name), \(.kind), \(.capacity_kw) kW"')"
call GET "$CUST/v1/generating-units?plant=$PP_SILK_PV" "$DISP"
expect 200 '[.items[] | "\(.name) \(.capacity_kw) kW"] | sort | join(", ")' \
    "屋顶光伏 1号发电单元 250 kW, 屋顶光伏 2号发电单元 250 kW"
echo "  plant: $plant; units: $(field '[.items[] | "\(.name) \(.capacity_kw) kW"] | sort | join(", ")')"
call GET "$CUST/v1/backup-generators?customer=$CU_SILK" "$DISP"
expect 200 '[.items[] | "\(.name), \(.kind), \(.capacity_kw) kW"] | join("; ")' \
    "湖墅丝绸 自备柴油发电机, diesel, 300 kW"

step "By supply point, asked of cust-svc: whose is it?"
call GET "$CUST/v1/supply-points/$SP_SILK" "$DISP"
expect 200 .customer "$CU_SILK"
call GET "$CUST/v1/customers/$(field .customer)" "$DISP"
expect 200 .name "$silk"
echo "  supply point 湖墅丝绸 10kV 主供电源 belongs to $(field .name)"

step "By metering point, asked of grid-svc: whose is it?"
call GET "$GRID/v1/metering-points/$MP_SILK" "$DISP"
expect 200 .customer "$CU_SILK"
call GET "$GRID/v1/customers/$(field .customer)" "$DISP"
expect 200 .name "$silk"
echo "  metering point 湖墅丝绸 高供高计 计量点 belongs to $(field .name)"

step "By line, asked of cust-svc (grid-svc keeps lines): the line, its substations and the switches on their links"
call GET "$CUST/v1/lines/$LN_HUSHU" "$DISP"
expect 200 .name "10kV 湖墅线"
expect 200 .kind public
line="$(field '"\(.name), \(.kind), \(.voltage_kv) kV, \(.length_km) km, \(.conductor)"')"
call GET "$CUST/v1/relations/substation-line?to=$LN_HUSHU" "$DISP"
expect 200 '[.items[] | "\(.from) \(.role) \(.switch // "-")"] | sort | join(",")' \
    "$(printf '%s\n' "$SS_GONGSHU source $SW_GONGSHU_HUSHU" "$SS_DAGUAN tie -" | sort | paste -sd, -)"
links=$body
echo "  line: $line"
for ss in $(printf '%s' "$links" | jq -r '.items[].from'); do
    role=$(printf '%s' "$links" | jq -r --arg s "$ss" '.items[] | select(.from == $s) | .role')
    call GET "$CUST/v1/substations/$ss" "$DISP"
    expect 200
    case $role in
        source) expect 200 .name "110kV 拱墅变" ;;
        tie) expect 200 .name "110kV 大关变" ;;
    esac
    name=$(field .name)
    sw=$(printf '%s' "$links" | jq -r --arg s "$ss" '.items[] | select(.from == $s) | .switch // empty')
    if [ -n "$sw" ]; then
        call GET "$CUST/v1/switches/$sw" "$DISP"
        expect 200 .name "拱墅变 10kV 湖墅线 出线断路器"
        expect 200 .normal_open false
        echo "  fed by: $name ($role), through $(field .name) ($(field .kind), normally closed 常闭)"
    else
        echo "  and: $name ($role), a link with no switch: open in every arrangement, so it feeds nothing"
    fi
done
call GET "$CUST/v1/relations/line-line?from=$LN_HUSHU" "$DISP"
expect 200 '[.items[] | "\(.to) \(.switch)"] | join(",")' "$LN_DAGUAN $SW_TIE_HUSHU_DAGUAN"
call GET "$CUST/v1/switches/$SW_TIE_HUSHU_DAGUAN" "$DISP"
expect 200 .normal_open true
echo "  tied 联络 to 10kV 大关线 (line-line) through $(field .name) ($(field .kind), normally open 常开)"

step "By equipment-supplypoint, asked of grid-svc: the equipment that feeds the supply point"
call GET "$GRID/v1/relations/equipment-supplypoint?to=$SP_SILK" "$DISP"
expect 200 '[.items[].from] | join(",")' "$TR_SILK"
call GET "$GRID/v1/transformers/$TR_SILK" "$DISP"
expect 200 .name "湖墅丝绸 1号专变"
expect 200 .kind dedicated
echo "  湖墅丝绸 10kV 主供电源 is fed by $(field '"\(.name) (\(.kind), \(.capacity_kva) kVA, \(.model))"')"
step "... and, asked of cust-svc, the supply points that equipment feeds"
call GET "$CUST/v1/relations/equipment-supplypoint?from=$TR_SILK" "$DISP"
expect 200 '[.items[].to] | join(",")' "$SP_SILK"
echo "  湖墅丝绸 1号专变 feeds one supply point: 湖墅丝绸 10kV 主供电源"
step "... equipment may be a line too: the steel works' supply point on its dedicated line"
call GET "$CUST/v1/relations/equipment-supplypoint?from=$LN_STEEL" "$DISP"
expect 200 '[.items[].to] | join(",")' "$SP_STEEL"
call GET "$CUST/v1/supply-points/$SP_STEEL" "$DISP"
expect 200 .name "半山特钢 10kV 专线电源"
call GET "$CUST/v1/customers/$(field .customer)" "$DISP"
expect 200 .name "杭州半山特钢有限公司"
echo "  10kV 半山特钢专线 feeds 半山特钢 10kV 专线电源, the supply point of $(field .name)"

step "Trace up from the HV customer, asked of grid-svc: customer → supply point → equipment → line → the substation that feeds it"
call GET "$GRID/v1/trace/$CU_SILK?direction=up" "$DISP"
expect 200 '[.nodes[].type] | sort | join(",")' \
    "customer,line,meter,metering_point,substation,supply_point,transformer"
up=$body
# Follows the chain as the paper draws it, by the kind of each edge.
chain=$(printf '%s' "$up" | jq -r --arg cu "$CU_SILK" "$TRACE_JQ"'
    from_of($cu; "supply_point.customer")[0] as $sp | from_of($sp; "equipment-supplypoint")[0] as $eq |
    from_of($eq; "line-transformer")[0] as $ln |
    [name_of($cu), name_of($sp), name_of($eq), name_of($ln),
     ([from_of($ln; "substation-line")[] as $s | name_of($s)] | sort | join(" + "))] | join(" → ")')
echo "  $chain"
expect_same "the chain up from $silk" "$chain" \
    "$silk → 湖墅丝绸 10kV 主供电源 → 湖墅丝绸 1号专变 → 10kV 湖墅线 → 110kV 拱墅变"
got=$(printf '%s' "$up" | jq -r --arg ln "$LN_HUSHU" '[.edges[] | select(.to == $ln and .kind == "substation-line") |
    "\(.switch) open=\(.open)"] | join(",")')
echo "  the line's source link passes its breaker, closed: $got (大关变's tie link is open: not followed)"
expect_same "the switch on the way up" "$got" "$SW_GONGSHU_HUSHU open=false"
got=$(printf '%s' "$up" | jq -r --arg cu "$CU_SILK" "$TRACE_JQ"'[from_of($cu; "transformer-customer")[] as $t | name_of($t)] | join(",")')
echo "  and the dedicated transformer serves the customer directly (transformer-customer): $got"
expect_same "the customer's dedicated transformer" "$got" "湖墅丝绸 1号专变"
got=$(printf '%s' "$up" | jq -r --arg mp "$MP_SILK" "$TRACE_JQ"'
    [(from_of($mp; "meter-meteringpoint")[0]), name_of(from_of($mp; "supplypoint-meteringpoint")[0]),
     name_of(from_of($mp; "equipment-meteringpoint")[0])] | join(" | ")')
echo "  its metering point: meter | on supply point | on equipment = $got"
expect_same "the metering point's meter, supply point and equipment" "$got" \
    "$MT_SILK | 湖墅丝绸 10kV 主供电源 | 湖墅丝绸 1号专变"

step "The same trace asked of cust-svc: the same graph"
call GET "$CUST/v1/trace/$CU_SILK?direction=up" "$DISP"
expect 200 '[.edges[] | "\(.from)>\(.to):\(.kind)"] | sort | join(" ")' \
    "$(printf '%s' "$up" | jq -r '[.edges[] | "\(.from)>\(.to):\(.kind)"] | sort | join(" ")')"
expect 200 '[.nodes[] | tojson] | sort | join(" ")' "$(printf '%s' "$up" | jq -r '[.nodes[] | tojson] | sort | join(" ")')"
echo "  $(field '.nodes | length') nodes and $(field '.edges | length') edges, as grid-svc answered"

step "And back down, asked of cust-svc: from the dedicated transformer to what it supplies"
call GET "$CUST/v1/trace/$TR_SILK?direction=down" "$DISP"
expect 200 '[.nodes[] | "\(.type): \(.name)"] | sort | join("; ")' \
    "customer: $silk; metering_point: 湖墅丝绸 高供高计 计量点; supply_point: 湖墅丝绸 10kV 主供电源; transformer: 湖墅丝绸 1号专变"
printf '%s' "$body" | jq -r '.nodes[] | "  \(.type): \(.name)"'

step "... and down from 110kV 半山变, asked of grid-svc: its dedicated line's one customer"
call GET "$GRID/v1/trace/$SS_BANSHAN?direction=down" "$DISP"
expect 200 '[.nodes[] | select(.type == "customer") | "\(.name) (\(.category))"] | join(", ")' \
    "杭州半山特钢有限公司 (hv)"
got=$(printf '%s' "$body" | jq -r --arg ss "$SS_BANSHAN" "$TRACE_JQ"'
    to_of($ss; "substation-line")[0] as $ln | to_of($ln; "equipment-supplypoint")[0] as $sp |
    [name_of($ss), name_of($ln), name_of($sp), name_of(to_of($sp; "supply_point.customer")[0])] | join(" → ")')
echo "  $got"
expect_same "the chain down from 110kV 半山变" "$got" \
    "110kV 半山变 → 10kV 半山特钢专线 → 半山特钢 10kV 专线电源 → 杭州半山特钢有限公司"

echo
echo "medium-voltage scenario: all answers as expected"
