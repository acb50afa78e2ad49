#!/usr/bin/env bash
# The demo city: a small, named piece of Hangzhou's Gongshu district that the
# scenario scripts (05-11) ask questions of by its fixed codes
# (demo-city/codes.sh). It is loaded through the bulk import, from the NDJSON
# files under demo-city/ (written by demo-city/generate.sh), once: a later
# run finds it there and only says so.
#
#   110kV 拱墅变 ─source ■─┐                        110kV 大关变 ─source ■─ 10kV 大关线
#   110kV 大关变 ──tie─────┴─ 10kV 湖墅线                                     ├─ 大关线 3号杆
#                              ├─ □ 联络 (line-line) ─ 10kV 大关线            └─ 大关线 1号公变
#                              ├─ 湖墅线 5号杆                                    └─ 大关线 3号杆接入点
#                              ├─ 湖墅新村 1号电缆分支箱                              └─ 大关苑 8幢 表箱: 吴婷, 徐明, 大关苑小吃店
#                              ├─ 湖墅线 1号公变
#                              │   └─ 湖墅线 5号杆接入点 (on 5号杆)
#                              │       ├─ 湖墅南路 12幢 1号表箱: 张伟, 王芳, 李娜, 湖墅南路便民超市
#                              │       └─ 湖墅南路 12幢 2号表箱: 刘洋, 陈静, 湖墅南路公共充电站 (1号直流快充桩)
#                              ├─ 湖墅新村 2号公变 (in 湖墅新村配电室)
#                              │   └─ 湖墅新村 1号分支箱接入点 (on the branch box)
#                              │       └─ 湖墅新村 3幢 表箱: 杨磊, 赵敏, 黄强, 周杰, 湖墅新村社区服务中心
#                              └─ 湖墅丝绸 1号专变 (dedicated) ─ 10kV 主供电源 ─ 杭州湖墅丝绸印染有限公司 (hv)
#                                                            (屋顶光伏电站 with 2 units, 自备柴油发电机)
#   110kV 半山变 ─source ■─ 10kV 半山特钢专线 (dedicated) ─ 10kV 专线电源 ─ 杭州半山特钢有限公司 (hv)
#
#   ■ a breaker 断路器 where the line leaves its substation (出线断路器), normally closed 常闭
#   □ 湖墅线–大关线 联络开关, a load switch 负荷开关, normally open 常开: in the normal
#     arrangement 湖墅线 is fed from 拱墅变 alone; 09-switching.sh transfers it to 大关变.
#   大关变's tie link to 湖墅线 names no switch: it is open in both arrangements.
#
# Every customer has a structured address, a metering point and a meter;
# each meter box has its graphic (meter-box resource) on grid-svc. Each public
# transformer has a check metering point 考核计量点 with its check meter 考核表
# (equipment-meteringpoint), and every low-voltage meter and check meter has
# 30 days of readings (2026-11-01 .. 2026-11-30). One customer is recorded
# under the wrong transformer (codes.sh: CU_MISLINKED): 湖墅南路便民超市's box
# hangs under 湖墅线 1号公变, its energy is in 湖墅新村 2号公变's check meter.
. "$(dirname "$0")/lib.sh"
city=$here/examples/demo-city
# shellcheck source=demo-city/codes.sh
. "$city/codes.sh"

objects=$(find "$city/grid" "$city/cust" -maxdepth 1 -name '*.ndjson' ! -name readings.ndjson -exec cat {} + | wc -l)
step "The demo city: $(grep -vc '^#' "$city/load-order.tsv") files, $objects objects, $(cat "$city"/grid/rel/*.ndjson "$city"/cust/rel/*.ndjson | wc -l) links, $(wc -l <"$city/cust/readings.ndjson") readings"
call GET "$GRID/v1/substations/$SS_GONGSHU" "$DISP"
if [ "$status" = 404 ]; then
    step "Not loaded yet: POST /v1/{collection}:import and /v1/relations/{kind}:import, in dependency order, then /v1/readings:import"
    GRID_URL=$GRID CUST_URL=$CUST IMPORT_KEY=dev-admin-key "$here/scripts/cityload.sh" "$city"
else
    expect 200 .name "110kV 拱墅变"
    # The substation is loaded first and the links last: a load cut short
    # leaves the first without the last, and the scenarios would fail
    # confusingly. Imports refuse codes that exist, so only fresh databases
    # can take the city again.
    call GET "$CUST/v1/relations/supplypoint-meteringpoint?from=$SP_STEEL" "$DISP"
    if [ "$status" != 200 ] || [ "$(field '.items | length')" != 1 ]; then
        echo "FAILED: the demo city is only partly loaded; start from empty databases" \
            "(make down, scripts/pg.sh destroy, make demo)" >&2
        exit 1
    fi
    echo "  (the demo city is in already, from an earlier run: not loaded again)"
fi

step "What was loaded, as each platform counts it (GET /v1/{collection}:export)"
# Other examples add objects of their own, so count only the city's codes.
count_loaded() {
    local base=$1 collection=$2 file=$3
    comm -12 <(curl -sS -H "$DISP" "$base/v1/$collection:export" | jq -r .code | sort) \
        <(jq -r .code "$city/$file" | sort) | wc -l
}
# The readings: each meter's, from GET /v1/meters/{code}/readings.
count_readings() {
    local mt got=0
    for mt in $(jq -r .meter "$city/cust/readings.ndjson" | sort -u); do
        got=$((got + $(curl -sS -H "$DISP" "$CUST/v1/meters/$mt/readings?from=2026-11-01&to=2026-11-30" |
            jq '.items | length')))
    done
    echo "$got"
}
while IFS=$'\t' read -r svc path file rows; do
    case $svc/$path in \#*|*/v1/relations/*) continue ;; esac
    if [ "$path" = /v1/readings:import ]; then
        got=$(count_readings)
        printf '  %-8s %-22s %3s of %3s\n' "$svc-svc" readings "$got" "$rows"
        [ "$got" = "$rows" ] || { echo "FAILED: cust-svc has $got of the city's $rows readings" >&2; exit 1; }
        continue
    fi
    collection=${path#/v1/}
    collection=${collection%:import}
    if [ "$svc" = grid ]; then base=$GRID; else base=$CUST; fi
    got=$(count_loaded "$base" "$collection" "$file")
    printf '  %-8s %-22s %3s of %3s\n' "$svc-svc" "$collection" "$got" "$rows"
    if [ "$got" != "$rows" ]; then
        echo "FAILED: $svc-svc has $got of the city's $rows $collection (loaded from an older" \
            "checkout? start from empty databases: make down, scripts/pg.sh destroy, make demo)" >&2
        exit 1
    fi
done <"$city/load-order.tsv"

echo
echo "demo city: loaded, every object of it on its platform"
