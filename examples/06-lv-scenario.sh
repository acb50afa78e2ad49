#!/usr/bin/env bash
# The source paper's low-voltage scenario, asked of the demo city
# (00-demo-city.sh) by its fixed codes. Households and shops on 10kV 湖墅线
# take their supply through meters in meter boxes (cust-svc keeps boxes,
# meters, metering points and customers); the boxes hang on access points,
# on poles or cable branch boxes, in a public transformer's area (grid-svc).
# The chain crosses between the platforms at the box ⇢ access point link.
# Poles and branch boxes say where an access point hangs; they are not on
# the way the supply takes (DESIGN §9), so traces do not pass them. Up from
# 湖墅线 a trace reaches 拱墅变 alone: 大关变 only ties to it, through a link
# that is open.
. "$(dirname "$0")/lib.sh"
# shellcheck source=demo-city/codes.sh
. "$here/examples/demo-city/codes.sh"

# up_from_box BOX: the chain above a meter box in one line, from the
# trace in $body (box → access point → transformer → line → substations).
up_from_box() {
    printf '%s' "$body" | jq -r --arg mb "$1" "$TRACE_JQ"'
        from_of($mb; "accesspoint-meterbox")[0] as $ap | to_of($ap; "accesspoint-transformer")[0] as $tr |
        from_of($tr; "line-transformer")[0] as $ln |
        [name_of($mb), name_of($ap), name_of($tr), name_of($ln),
         ([from_of($ln; "substation-line")[] as $s | name_of($s)] | sort | join(" + "))] | join(" → ")'
}

# no_poles WHAT: the trace in $body passes no pole or branch box.
no_poles() {
    local got
    got=$(printf '%s' "$body" | jq -r '[.nodes[] | select(.type == "pole") | .name] | join(", ")')
    expect_same "the poles on the way up from $1" "$got" ""
    echo "  (no pole or branch box on the way: where an access point hangs is not a feed)"
}

# hangs_on BASE AP POLE-NAME POLE-KIND: the pole or branch box the access
# point hangs on (its pole field), and that it carries the same line.
hangs_on() {
    local base=$1 ap=$2 name=$3 kind=$4 pole
    call GET "$base/v1/access-points/$ap" "$DISP"
    expect 200
    pole=$(field .pole)
    call GET "$base/v1/poles/$pole" "$DISP"
    expect 200 .name "$name"
    expect 200 .kind "$kind"
    expect 200 .line "$LN_HUSHU"
    echo "  the access point hangs on $(field .name) ($(field .kind)), which carries 10kV 湖墅线"
}

step "By meter box 湖墅南路 12幢 1号表箱, asked of cust-svc: its access point, transformer, line (trace up)"
call GET "$CUST/v1/trace/$MB_HUSHU_12_1?direction=up" "$DISP"
expect 200
chain=$(up_from_box "$MB_HUSHU_12_1")
echo "  $chain"
expect_same "the chain up from the meter box" "$chain" \
    "湖墅南路 12幢 1号表箱 → 湖墅线 5号杆接入点 → 湖墅线 1号公变 → 10kV 湖墅线 → 110kV 拱墅变"
no_poles "$MB_HUSHU_12_1"
step "... and the pole its access point hangs on, asked of cust-svc"
hangs_on "$CUST" "$AP_HUSHU_5" "湖墅线 5号杆" pole

step "By meter box 湖墅新村 3幢 表箱, asked of grid-svc: the same chain, through a cable branch box"
call GET "$GRID/v1/trace/$MB_XINCUN_3?direction=up" "$DISP"
expect 200
chain=$(up_from_box "$MB_XINCUN_3")
echo "  $chain"
expect_same "the chain up from the meter box" "$chain" \
    "湖墅新村 3幢 表箱 → 湖墅新村 1号分支箱接入点 → 湖墅新村 2号公变 → 10kV 湖墅线 → 110kV 拱墅变"
no_poles "$MB_XINCUN_3"
step "... the branch box its access point hangs on, and the station room the transformer stands in (grid-svc)"
hangs_on "$GRID" "$AP_XINCUN" "湖墅新村 1号电缆分支箱" branch_box
call GET "$GRID/v1/transformers/$TR_XINCUN_2" "$DISP"
expect 200 .station_room "$SR_XINCUN"
call GET "$GRID/v1/station-rooms/$(field .station_room)" "$DISP"
expect 200 .name "湖墅新村配电室"
echo "  湖墅新村 2号公变 stands in $(field .name) ($(field .kind))"

# below_ap AP: from the trace down in $body, one line per meter: box, meter,
# metering point, customer, category, phone (tab-separated).
below_ap() {
    printf '%s' "$body" | jq -r --arg ap "$1" "$TRACE_JQ"'
        . as $t | to_of($ap; "accesspoint-meterbox")[] as $mb | from_of($mb; "meter-meterbox")[] as $mt |
        to_of($mt; "meter-meteringpoint")[0] as $mp | to_of($mp; "metering_point.customer")[0] as $cu |
        first(.nodes[] | select(.code == $cu)) as $c |
        [name_of($mb), $mt, name_of($mp), $c.name, $c.category, $c.phone] | @tsv'
}

# show_tree AP BASE: what is below the access point, meter by meter, with
# each meter's asset number (GET /v1/meters/{code} on BASE).
show_tree() {
    local ap=$1 base=$2 box mt mp cu cat phone asset last=
    while IFS=$'\t' read -r box mt mp cu cat phone; do
        [ "$box" = "$last" ] || echo "  $box"
        last=$box
        asset=$(curl -sS -H "$DISP" "$base/v1/meters/$mt" | jq -r .asset_no)
        printf '    meter %s (asset %s) → %s → %s, %s, %s\n' "$mt" "$asset" "$mp" "$cu" "$cat" "$phone"
    done < <(below_ap "$ap")
}

# boxes_of AP: "box: customer, customer | box: ...", to be checked.
boxes_of() {
    printf '%s' "$body" | jq -r --arg ap "$1" "$TRACE_JQ"'
        [to_of($ap; "accesspoint-meterbox")[] as $mb |
         name_of($mb) + ": " + ([from_of($mb; "meter-meterbox")[] as $mt |
            to_of($mt; "meter-meteringpoint")[0] as $mp |
            name_of(to_of($mp; "metering_point.customer")[0])] | join(", "))] | join(" | ")'
}

step "By access point 湖墅线 5号杆接入点, asked of grid-svc: its meter boxes, their meters, their customers (trace down)"
call GET "$GRID/v1/trace/$AP_HUSHU_5?direction=down" "$DISP"
expect 200 '[.nodes[] | select(.type == "customer")] | length' 7
show_tree "$AP_HUSHU_5" "$GRID"
got=$(boxes_of "$AP_HUSHU_5")
expect_same "the boxes and customers below 湖墅线 5号杆接入点" "$got" \
    "湖墅南路 12幢 1号表箱: 张伟, 王芳, 李娜, 湖墅南路便民超市 | 湖墅南路 12幢 2号表箱: 刘洋, 陈静, 湖墅南路公共充电站"

step "By access point 湖墅新村 1号分支箱接入点, asked of cust-svc"
call GET "$CUST/v1/trace/$AP_XINCUN?direction=down" "$DISP"
expect 200 '[.nodes[] | select(.type == "customer")] | length' 5
show_tree "$AP_XINCUN" "$CUST"
got=$(boxes_of "$AP_XINCUN")
expect_same "the boxes and customers below 湖墅新村 1号分支箱接入点" "$got" \
    "湖墅新村 3幢 表箱: 杨磊, 赵敏, 黄强, 周杰, 湖墅新村社区服务中心"

step "One customer in a box, all the way up, asked of grid-svc: 湖墅南路公共充电站 and its charging pile"
call GET "$GRID/v1/charging-piles?customer=$CU_CHARGING" "$DISP"
expect 200 '[.items[] | "\(.name), \(.kind), \(.power_kw) kW"] | join("; ")' "湖墅南路 1号直流快充桩, dc, 60 kW"
expect 200 '.items[0].metering_point' "$MP_CHARGING"
echo "  charging pile: $(field '.items[0] | "\(.name), \(.kind), \(.power_kw) kW"'), metered on 湖墅南路公共充电站 计量点"
call GET "$GRID/v1/trace/$CU_CHARGING?direction=up" "$DISP"
expect 200
chain=$(printf '%s' "$body" | jq -r --arg cu "$CU_CHARGING" "$TRACE_JQ"'
    from_of($cu; "metering_point.customer")[0] as $mp | from_of($mp; "meter-meteringpoint")[0] as $mt |
    to_of($mt; "meter-meterbox")[0] as $mb | from_of($mb; "accesspoint-meterbox")[0] as $ap |
    to_of($ap; "accesspoint-transformer")[0] as $tr | from_of($tr; "line-transformer")[0] as $ln |
    [name_of($cu), name_of($mp), "meter " + $mt, name_of($mb), name_of($ap), name_of($tr), name_of($ln),
     ([from_of($ln; "substation-line")[] as $s | name_of($s)] | sort | join(" + "))] | join(" → ")')
echo "  $chain"
expect_same "the chain up from 湖墅南路公共充电站" "$chain" \
    "湖墅南路公共充电站 → 湖墅南路公共充电站 计量点 → meter $MT_CHARGING → 湖墅南路 12幢 2号表箱 → 湖墅线 5号杆接入点 → 湖墅线 1号公变 → 10kV 湖墅线 → 110kV 拱墅变"

echo
echo "low-voltage scenario: all answers as expected"
