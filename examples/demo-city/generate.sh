#!/usr/bin/env bash
# generate.sh -- writes the demo city's fixtures next to this script: NDJSON
# for both platforms (grid/, cust/, their rel/ folders), 30 days of meter
# readings (cust/readings.ndjson, loaded last), load-order.tsv in the form
# scripts/cityload.sh reads, and codes.sh, the fixed codes the scenario
# scripts ask by.
#
# The fixtures are committed, so every checkout loads the same city under
# the same codes. Running this again keeps the code of every name codes.sh
# already has and mints new ones (bizcode's, with their check symbols) only
# for names it does not: a city grown by a few objects keeps the codes the
# scenarios, the README and people's notes know. Commit the new files
# together, and load them into fresh databases (imports refuse codes that
# exist). KEEP_CODES=0 mints every code anew.
#
#   examples/demo-city/generate.sh        (needs build/bizcode, or BIZCODE=path, and jq)
#
# The objects are jq expressions, so their $c are jq's, not the shell's.
# shellcheck disable=SC2016
set -euo pipefail

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bizcode=${BIZCODE:-$dir/../../build/bizcode}
[ -x "$bizcode" ] || { echo "generate.sh: build $bizcode first (make all)" >&2; exit 1; }

# NAME -> code from the codes.sh being replaced, read before anything is removed.
declare -A kept=()
if [ "${KEEP_CODES:-1}" != 0 ] && [ -f "$dir/codes.sh" ]; then
    while IFS='=' read -r name code; do
        [[ $name =~ ^[A-Z][A-Z0-9_]*$ && $code =~ ^[A-Z]{2}- ]] && kept[$name]=$code
    done <"$dir/codes.sh"
fi

rm -rf "$dir/grid" "$dir/cust"
mkdir -p "$dir/grid/rel" "$dir/cust/rel"

codes='{}'   # NAME -> code, for the jq expressions below ($c.NAME)
names=()     # in minting order, for codes.sh
declare -A rows=()
order=()     # files in load order

# A misspelt $c.NAME is null to jq: stop rather than write it.
no_nulls='if [paths(. == null)] != [] then error("a name in \(.) is not defined yet") else . end'

# obj SVC FILE PREFIX NAME JQ-OBJECT: mints a code for NAME (or keeps the one
# it had) and writes the object; the JQ-OBJECT names earlier objects as $c.NAME.
obj() {
    local svc=$1 file=$2 prefix=$3 name=$4 expr=$5 code
    code=${kept[$name]:-}
    if [ "${code:0:3}" != "$prefix-" ]; then
        code=$("$bizcode" new "$prefix")
    fi
    codes=$(jq -c --arg n "$name" --arg v "$code" '. + {($n): $v}' <<<"$codes")
    names+=("$name")
    jq -nc --arg code "$code" --argjson c "$codes" "{code: \$code} + ($expr) | $no_nulls" \
        >>"$dir/$svc/$file.ndjson"
    note "$svc" "$file"
}

# link SVC KIND FROM TO [JQ-OBJECT]: one link between two named objects.
link() {
    local svc=$1 kind=$2 from=$3 to=$4 attrs='{}'
    [ $# -lt 5 ] || attrs=$5
    jq -nc --argjson c "$codes" --arg f "$from" --arg t "$to" \
        "{from: \$c[\$f], to: \$c[\$t]} + ($attrs) | $no_nulls" >>"$dir/$svc/rel/$kind.ndjson"
    note "$svc" "rel/$kind"
}

# note SVC FILE: one more row in FILE; files are loaded in the order they
# first appear here (per service, objects before links).
note() {
    local key=$1/$2
    if [ -z "${rows[$key]:-}" ]; then
        order+=("$key")
        rows[$key]=0
    fi
    rows[$key]=$((rows[$key] + 1))
}

# ---- grid-svc: substations, station room, lines, transformers, poles, access points ----

obj grid substations SS SS_GONGSHU '{name: "110kV 拱墅变", voltage_kv: 110, location: {lon: 120.1470, lat: 30.3190}}'
obj grid substations SS SS_DAGUAN '{name: "110kV 大关变", voltage_kv: 110, location: {lon: 120.1530, lat: 30.3060}}'
obj grid substations SS SS_BANSHAN '{name: "110kV 半山变", voltage_kv: 110, location: {lon: 120.1960, lat: 30.3580}}'

obj grid station_rooms SR SR_XINCUN '{name: "湖墅新村配电室", kind: "distribution_room", voltage_kv: 10, location: {lon: 120.1561, lat: 30.2987}}'

obj grid lines LN LN_HUSHU '{name: "10kV 湖墅线", kind: "public", voltage_kv: 10, length_km: 6.8, conductor: "YJV22-3x300"}'
obj grid lines LN LN_DAGUAN '{name: "10kV 大关线", kind: "public", voltage_kv: 10, length_km: 4.5, conductor: "JKLYJ-240"}'
obj grid lines LN LN_STEEL '{name: "10kV 半山特钢专线", kind: "dedicated", voltage_kv: 10, length_km: 2.3, conductor: "YJV22-3x400"}'

obj grid transformers TR TR_HUSHU_1 '{name: "湖墅线 1号公变", kind: "public", capacity_kva: 400, voltage_kv: 10, secondary_voltage_kv: 0.4, model: "S13-M-400/10", location: {lon: 120.1542, lat: 30.3015}}'
obj grid transformers TR TR_XINCUN_2 '{name: "湖墅新村 2号公变", kind: "public", capacity_kva: 630, voltage_kv: 10, secondary_voltage_kv: 0.4, model: "SCB13-630/10", station_room: $c.SR_XINCUN, location: {lon: 120.1561, lat: 30.2987}}'
obj grid transformers TR TR_DAGUAN_1 '{name: "大关线 1号公变", kind: "public", capacity_kva: 400, voltage_kv: 10, secondary_voltage_kv: 0.4, model: "S13-M-400/10", location: {lon: 120.1508, lat: 30.3112}}'
obj grid transformers TR TR_SILK '{name: "湖墅丝绸 1号专变", kind: "dedicated", capacity_kva: 800, voltage_kv: 10, secondary_voltage_kv: 0.4, model: "S13-M-800/10", location: {lon: 120.1589, lat: 30.3041}}'

obj grid poles PL PL_HUSHU_5 '{name: "湖墅线 5号杆", kind: "pole", line: $c.LN_HUSHU, location: {lon: 120.1545, lat: 30.3010}}'
obj grid poles PL PL_XINCUN_BOX '{name: "湖墅新村 1号电缆分支箱", kind: "branch_box", line: $c.LN_HUSHU, location: {lon: 120.1565, lat: 30.2983}}'
obj grid poles PL PL_DAGUAN_3 '{name: "大关线 3号杆", kind: "pole", line: $c.LN_DAGUAN, location: {lon: 120.1511, lat: 30.3108}}'

obj grid access_points AP AP_HUSHU_5 '{name: "湖墅线 5号杆接入点", pole: $c.PL_HUSHU_5, location: {lon: 120.1545, lat: 30.3010}}'
obj grid access_points AP AP_XINCUN '{name: "湖墅新村 1号分支箱接入点", pole: $c.PL_XINCUN_BOX, location: {lon: 120.1565, lat: 30.2983}}'
obj grid access_points AP AP_DAGUAN_3 '{name: "大关线 3号杆接入点", pole: $c.PL_DAGUAN_3, location: {lon: 120.1511, lat: 30.3108}}'

# The switches 开关 of the operating arrangement 运行方式: a breaker, normally
# closed, where each line leaves its source substation, and the normally open
# load switch of the 湖墅线–大关线 tie 联络, which dispatch closes to transfer
# 湖墅线 to 大关变 (转供). 大关变's own tie link to 湖墅线 has no switch: it is
# open in both arrangements.
obj grid switches SW SW_GONGSHU_HUSHU '{name: "拱墅变 10kV 湖墅线 出线断路器", kind: "breaker", normal_open: false, location: {lon: 120.1470, lat: 30.3190}}'
obj grid switches SW SW_DAGUAN_DAGUAN '{name: "大关变 10kV 大关线 出线断路器", kind: "breaker", normal_open: false, location: {lon: 120.1530, lat: 30.3060}}'
obj grid switches SW SW_BANSHAN_STEEL '{name: "半山变 10kV 半山特钢专线 出线断路器", kind: "breaker", normal_open: false, location: {lon: 120.1960, lat: 30.3580}}'
obj grid switches SW SW_TIE_HUSHU_DAGUAN '{name: "湖墅线–大关线 联络开关", kind: "load_switch", normal_open: true, location: {lon: 120.1526, lat: 30.3068}}'

# ---- cust-svc: meter boxes, customers with address, metering point and meter ----------

obj cust meter_boxes MB MB_HUSHU_12_1 '{name: "湖墅南路 12幢 1号表箱", asset_no: "33490105000000000001", rows: 2, cols: 2}'
obj cust meter_boxes MB MB_HUSHU_12_2 '{name: "湖墅南路 12幢 2号表箱", asset_no: "33490105000000000002", rows: 2, cols: 2}'
obj cust meter_boxes MB MB_XINCUN_3 '{name: "湖墅新村 3幢 表箱", asset_no: "33490105000000000003", rows: 2, cols: 3}'
obj cust meter_boxes MB MB_DAGUAN_8 '{name: "大关苑 8幢 表箱", asset_no: "33490105000000000004", rows: 2, cols: 2}'

n=0
# customer VAR BOX CATEGORY NAME PHONE COMMUNITY BUILDING UNIT ROOM: a
# low-voltage customer whose meter sits in BOX, with its address, metering
# point and single- (resident) or three-phase (non-resident) meter; VAR names
# the customer in codes.sh, and its address, metering point and meter after
# it (CU_ZHANG_WEI: AD_ZHANG_WEI, MP_ZHANG_WEI, MT_ZHANG_WEI).
customer() {
    local var=$1 box=$2 cat=$3 cname=$4 phone=$5 community=$6 building=$7 unit=$8 room=$9
    local phase=single model=DDZY1980 amps=60
    [ "$cat" = lv_resident ] || { phase=three model=DTZY1980; amps=80; }
    n=$((n + 1))
    obj cust addresses AD "AD_${var#CU_}" "{province: \"浙江省\", city: \"杭州市\", district: \"拱墅区\", street: \"湖墅街道\", community: \"$community\", building: \"$building\", unit: \"$unit\", room: \"$room\"}"
    obj cust customers CU "$var" "{name: \"$cname\", category: \"$cat\", phone: \"$phone\", address: \$c.AD_${var#CU_}, account_no: \"$(printf '3301050001%08d' "$n")\"}"
    obj cust metering_points MP "MP_${var#CU_}" "{name: \"$cname 计量点\", customer: \$c.$var, purpose: \"billing\", voltage_kv: 0.4}"
    obj cust meters MT "MT_${var#CU_}" "{asset_no: \"$(printf '339001050000%08d' "$n")\", model: \"$model\", phase: \"$phase\", rated_current_a: $amps, manufacturer: \"杭州西湖仪表\"}"
    meters_in+=("$box MT_${var#CU_}")
    lv_customers+=("$var $cat $box")
}
meters_in=()
lv_customers=()

customer CU_ZHANG_WEI   MB_HUSHU_12_1 lv_resident    "张伟"               13905710101 湖墅南路社区 12幢 1单元 101
customer CU_WANG_FANG   MB_HUSHU_12_1 lv_resident    "王芳"               13905710102 湖墅南路社区 12幢 1单元 102
customer CU_LI_NA       MB_HUSHU_12_1 lv_resident    "李娜"               13905710201 湖墅南路社区 12幢 1单元 201
customer CU_SHOP        MB_HUSHU_12_1 lv_nonresident "湖墅南路便民超市"   0571-88011201 湖墅南路社区 12幢 底商 1号
customer CU_LIU_YANG    MB_HUSHU_12_2 lv_resident    "刘洋"               13905710202 湖墅南路社区 12幢 2单元 202
customer CU_CHEN_JING   MB_HUSHU_12_2 lv_resident    "陈静"               13905710301 湖墅南路社区 12幢 2单元 301
customer CU_CHARGING    MB_HUSHU_12_2 lv_nonresident "湖墅南路公共充电站" 0571-88011202 湖墅南路社区 12幢 停车场 东侧
customer CU_YANG_LEI    MB_XINCUN_3   lv_resident    "杨磊"               13905713101 湖墅新村社区 3幢 1单元 101
customer CU_ZHAO_MIN    MB_XINCUN_3   lv_resident    "赵敏"               13905713102 湖墅新村社区 3幢 1单元 102
customer CU_HUANG_QIANG MB_XINCUN_3   lv_resident    "黄强"               13905713201 湖墅新村社区 3幢 1单元 201
customer CU_ZHOU_JIE    MB_XINCUN_3   lv_resident    "周杰"               13905713202 湖墅新村社区 3幢 1单元 202
customer CU_XINCUN_CTR  MB_XINCUN_3   lv_nonresident "湖墅新村社区服务中心" 0571-88013300 湖墅新村社区 3幢 底层 服务中心
customer CU_WU_TING     MB_DAGUAN_8   lv_resident    "吴婷"               13905718101 大关苑社区 8幢 1单元 101
customer CU_XU_MING     MB_DAGUAN_8   lv_resident    "徐明"               13905718102 大关苑社区 8幢 1单元 102
customer CU_SNACK       MB_DAGUAN_8   lv_nonresident "大关苑小吃店"       0571-88018800 大关苑社区 8幢 底商 3号

# The high-voltage customers: a silk dyeing works on its own transformer
# hung on the public line, and a steel works on its own line.
obj cust addresses AD AD_SILK '{province: "浙江省", city: "杭州市", district: "拱墅区", street: "湖墅街道", detail: "湖墅南路 188号"}'
obj cust customers CU CU_SILK '{name: "杭州湖墅丝绸印染有限公司", category: "hv", phone: "0571-88090001", address: $c.AD_SILK, account_no: "330105000900000001", contract_capacity_kva: 800}'
obj cust supply_points SP SP_SILK '{name: "湖墅丝绸 10kV 主供电源", customer: $c.CU_SILK, voltage_kv: 10, mode: "main", capacity_kva: 800}'
obj cust metering_points MP MP_SILK '{name: "湖墅丝绸 高供高计 计量点", customer: $c.CU_SILK, purpose: "billing", voltage_kv: 10}'
obj cust meters MT MT_SILK '{asset_no: "33900105000900000001", model: "DTZ1980", phase: "three", rated_current_a: 1.5, manufacturer: "杭州西湖仪表"}'
obj cust transformer_billings TB TB_SILK '{customer: $c.CU_SILK, transformer: $c.TR_SILK, tariff: "大工业用电 1-10kV", demand_charge: "capacity", power_factor_standard: 0.9}'
obj cust backup_generators BG BG_SILK '{name: "湖墅丝绸 自备柴油发电机", customer: $c.CU_SILK, kind: "diesel", capacity_kw: 300}'
obj cust power_plants PP PP_SILK_PV '{name: "湖墅丝绸 屋顶光伏电站", kind: "pv", capacity_kw: 500, customer: $c.CU_SILK, location: {lon: 120.1589, lat: 30.3041}}'
obj cust generating_units GU GU_SILK_PV_1 '{name: "屋顶光伏 1号发电单元", plant: $c.PP_SILK_PV, capacity_kw: 250}'
obj cust generating_units GU GU_SILK_PV_2 '{name: "屋顶光伏 2号发电单元", plant: $c.PP_SILK_PV, capacity_kw: 250}'

obj cust addresses AD AD_STEEL '{province: "浙江省", city: "杭州市", district: "拱墅区", street: "半山街道", detail: "半山路 1号"}'
obj cust customers CU CU_STEEL '{name: "杭州半山特钢有限公司", category: "hv", phone: "0571-88190001", address: $c.AD_STEEL, account_no: "330105000900000002", contract_capacity_kva: 5000}'
obj cust supply_points SP SP_STEEL '{name: "半山特钢 10kV 专线电源", customer: $c.CU_STEEL, voltage_kv: 10, mode: "main", capacity_kva: 5000}'
obj cust metering_points MP MP_STEEL '{name: "半山特钢 专线 计量点", customer: $c.CU_STEEL, purpose: "billing", voltage_kv: 10}'
obj cust meters MT MT_STEEL '{asset_no: "33900105000900000002", model: "DTZ1980", phase: "three", rated_current_a: 1.5, manufacturer: "杭州西湖仪表"}'
obj cust line_billings LB LB_STEEL '{customer: $c.CU_STEEL, line: $c.LN_STEEL, tariff: "大工业用电 1-10kV", demand_charge: "demand", power_factor_standard: 0.9}'

# Each public transformer's check metering point 考核计量点 and check meter
# 考核表: it measures all its area 台区 takes, for the utility, and bills no
# one (no customer). 400 and 630 kVA: the meter reads through current
# transformers, hence its 1.5 A.
check_meter() {
    local tr=$1 tname=$2 asset=$3
    obj cust metering_points MP "MP_CHECK_${tr#TR_}" "{name: \"$tname 考核计量点\", purpose: \"check\", voltage_kv: 0.4}"
    obj cust meters MT "MT_CHECK_${tr#TR_}" "{asset_no: \"$asset\", model: \"DTZ1980\", phase: \"three\", rated_current_a: 1.5, manufacturer: \"杭州西湖仪表\"}"
}
check_meter TR_HUSHU_1 "湖墅线 1号公变" 33900105000800000001
check_meter TR_XINCUN_2 "湖墅新村 2号公变" 33900105000800000002
check_meter TR_DAGUAN_1 "大关线 1号公变" 33900105000800000003

obj cust charging_piles CP CP_HUSHU_1 '{name: "湖墅南路 1号直流快充桩", customer: $c.CU_CHARGING, metering_point: $c.MP_CHARGING, power_kw: 60, kind: "dc", location: {lon: 120.1547, lat: 30.3013}}'

# Each meter box's graphic on the drawings (grid-svc keeps it).
obj grid meter_box_resources MR MR_HUSHU_12_1 '{name: "湖墅南路 12幢 1号表箱 图形", symbol: "meter_box_2x2", rotation_deg: 0}'
obj grid meter_box_resources MR MR_HUSHU_12_2 '{name: "湖墅南路 12幢 2号表箱 图形", symbol: "meter_box_2x2", rotation_deg: 0}'
obj grid meter_box_resources MR MR_XINCUN_3 '{name: "湖墅新村 3幢 表箱 图形", symbol: "meter_box_2x3", rotation_deg: 90}'
obj grid meter_box_resources MR MR_DAGUAN_8 '{name: "大关苑 8幢 表箱 图形", symbol: "meter_box_2x2", rotation_deg: 0}'

# ---- links, grid-svc's then cust-svc's (each names objects of both) ---------------------

link grid substation-line SS_GONGSHU LN_HUSHU '{role: "source", switch: $c.SW_GONGSHU_HUSHU}'
link grid substation-line SS_DAGUAN LN_HUSHU '{role: "tie"}'
link grid substation-line SS_DAGUAN LN_DAGUAN '{role: "source", switch: $c.SW_DAGUAN_DAGUAN}'
link grid substation-line SS_BANSHAN LN_STEEL '{role: "source", switch: $c.SW_BANSHAN_STEEL}'
link grid line-line LN_HUSHU LN_DAGUAN '{switch: $c.SW_TIE_HUSHU_DAGUAN}'
link grid line-transformer LN_HUSHU TR_HUSHU_1
link grid line-transformer LN_HUSHU TR_XINCUN_2
link grid line-transformer LN_HUSHU TR_SILK
link grid line-transformer LN_DAGUAN TR_DAGUAN_1
link grid accesspoint-transformer AP_HUSHU_5 TR_HUSHU_1
link grid accesspoint-transformer AP_XINCUN TR_XINCUN_2
link grid accesspoint-transformer AP_DAGUAN_3 TR_DAGUAN_1
link grid accesspoint-meterbox AP_HUSHU_5 MB_HUSHU_12_1
link grid accesspoint-meterbox AP_HUSHU_5 MB_HUSHU_12_2
link grid accesspoint-meterbox AP_XINCUN MB_XINCUN_3
link grid accesspoint-meterbox AP_DAGUAN_3 MB_DAGUAN_8
for box in MB_HUSHU_12_1 MB_HUSHU_12_2 MB_XINCUN_3 MB_DAGUAN_8; do
    link grid meterboxresource-meterbox "MR_${box#MB_}" "$box"
done
link grid equipment-supplypoint TR_SILK SP_SILK
link grid equipment-supplypoint LN_STEEL SP_STEEL
link grid transformer-customer TR_SILK CU_SILK
link grid equipment-meteringpoint TR_SILK MP_SILK
link grid equipment-meteringpoint LN_STEEL MP_STEEL
for tr in TR_HUSHU_1 TR_XINCUN_2 TR_DAGUAN_1; do
    link grid equipment-meteringpoint "$tr" "MP_CHECK_${tr#TR_}"
done

for m in "${meters_in[@]}"; do
    read -r box meter <<<"$m"
    link cust meter-meterbox "$meter" "$box"
    link cust meter-meteringpoint "$meter" "MP_${meter#MT_}"
done
link cust meter-meteringpoint MT_SILK MP_SILK
link cust meter-meteringpoint MT_STEEL MP_STEEL
for tr in TR_HUSHU_1 TR_XINCUN_2 TR_DAGUAN_1; do
    link cust meter-meteringpoint "MT_CHECK_${tr#TR_}" "MP_CHECK_${tr#TR_}"
done
link cust supplypoint-meteringpoint SP_SILK MP_SILK
link cust supplypoint-meteringpoint SP_STEEL MP_STEEL

# ---- readings 采集: 30 days of every low-voltage meter and check meter ----------------------

# The planted mislink 户变关系错误: 湖墅南路便民超市's meter sits in 湖墅南路 12幢
# 1号表箱, which the records hang under 湖墅线 1号公变, but the shop's supply
# cable truly comes from 湖墅新村 2号公变 across the road: its energy is in
# 湖墅新村 2号公变's check meter. So every day 湖墅线 1号公变 bills more than its
# check meter took in (negative loss) and 湖墅新村 2号公变 loses near half of
# what it took in (high loss); 大关线 1号公变 keeps a normal 2-6 %.
mislinked=CU_SHOP
mislink_recorded=TR_HUSHU_1
mislink_true=TR_XINCUN_2

# Each customer's typical day, kWh: households 4-9, the shops and the
# community centre tens, the public fast-charging station a few hundred.
declare -A typical=(
    [CU_ZHANG_WEI]=7.2 [CU_WANG_FANG]=5.1 [CU_LI_NA]=8.4 [CU_SHOP]=46 [CU_LIU_YANG]=4.6
    [CU_CHEN_JING]=6.3 [CU_CHARGING]=240 [CU_YANG_LEI]=6.8 [CU_ZHAO_MIN]=5.5
    [CU_HUANG_QIANG]=9.1 [CU_ZHOU_JIE]=3.9 [CU_XINCUN_CTR]=28 [CU_WU_TING]=6.0
    [CU_XU_MING]=7.7 [CU_SNACK]=36)
# Each area's technical loss rate 技术线损率.
declare -A loss_rate=([TR_HUSHU_1]=0.035 [TR_XINCUN_2]=0.045 [TR_DAGUAN_1]=0.040)
declare -A area_of_box=([MB_HUSHU_12_1]=TR_HUSHU_1 [MB_HUSHU_12_2]=TR_HUSHU_1
    [MB_XINCUN_3]=TR_XINCUN_2 [MB_DAGUAN_8]=TR_DAGUAN_1)

# One line a meter for awk: "lv CODE TYPICAL RESIDENT AREA ORDINAL" or "check CODE AREA RATE".
{
    k=0
    for entry in "${lv_customers[@]}"; do
        read -r var cat box <<<"$entry"
        k=$((k + 1))
        area=${area_of_box[$box]}
        [ "$var" != "$mislinked" ] || area=$mislink_true
        printf 'lv %s %s %d %s %d\n' "$(jq -r --arg n "MT_${var#CU_}" '.[$n]' <<<"$codes")" \
            "${typical[$var]}" "$([ "$cat" = lv_resident ] && echo 1 || echo 0)" "$area" "$k"
    done
    for tr in TR_HUSHU_1 TR_XINCUN_2 TR_DAGUAN_1; do
        printf 'check %s %s %s\n' "$(jq -r --arg n "MT_CHECK_${tr#TR_}" '.[$n]' <<<"$codes")" \
            "$tr" "${loss_rate[$tr]}"
    done
} >"$dir/meters.tmp"

# The model of tools/citygen_readings.c, by hand: each customer's typical day
# times the day's weather (+-15 %, the same for all), the weekend (households
# x1.1, the others x0.7) and the customer's own noise (lognormal, sigma 0.25);
# the check meter reads its TRUE customers' sum times 1 + the area's rate of
# the day (the rate x (1 + 0.05 N(0,1))). Random numbers from Park and
# Miller's generator, exact in awk's doubles, seeded per meter and day: the
# same on every machine. 2026-11-01 is a Sunday.
LC_ALL=C awk -v days=30 '
    function draw() { x = (x * 16807) % 2147483647; return x / 2147483647 }
    function seed(a, b,   i) { x = (a * 7919 + b * 104729) % 2147483646 + 1; for (i = 0; i < 3; i++) draw() }
    function normal(   u, v) { u = draw(); v = draw(); return sqrt(-2 * log(u)) * cos(6.283185307179586 * v) }
    function put(code, d, cents) {
        printf "%s\t%s\t{\"meter\":\"%s\",\"day\":\"2026-11-%02d\",\"kwh\":%d.%02d}\n",
            d, code, code, d + 1, int(cents / 100), cents % 100
    }
    BEGIN { for (d = 0; d < days; d++) { seed(0, d); weather[d] = 0.85 + 0.30 * draw() } }
    $1 == "lv" {
        for (d = 0; d < days; d++) {
            weekend = d % 7 == 0 || d % 7 == 6
            week = weekend ? ($4 == 1 ? 1.1 : 0.7) : 1
            seed($6, d + 1)
            cents = int($3 * weather[d] * week * exp(0.25 * normal()) * 100 + 0.5)
            sum[$5, d] += cents
            put($2, d, cents)
        }
        next
    }
    { check[$2] = $3; rate[$2] = $4; ord[$2] = ++n }
    END {
        for (code in check)
            for (d = 0; d < days; d++) {
                seed(1000 + ord[code], d + 1)
                today = rate[code] * (1 + 0.05 * normal())
                put(code, d, sum[check[code], d] + int(sum[check[code], d] * today + 0.5))
            }
    }' "$dir/meters.tmp" | LC_ALL=C sort -t $'\t' -k1,1n -k2,2 | cut -f3 >"$dir/cust/readings.ndjson"
rm -f "$dir/meters.tmp"

# ---- load-order.tsv: grid objects, cust objects, grid links, cust links ------------------

{
    echo "# service	import path	file	rows (written by generate.sh)"
    for pass in "grid obj" "cust obj" "grid rel" "cust rel"; do
        read -r svc what <<<"$pass"
        for key in "${order[@]}"; do
            [ "${key%%/*}" = "$svc" ] || continue
            file=${key#*/}
            if [ "${file#rel/}" = "$file" ]; then is=obj; else is=rel; fi
            [ "$is" = "$what" ] || continue
            if [ "$what" = rel ]; then
                path=/v1/relations/${file#rel/}:import
            else
                path=/v1/${file//_/-}:import
            fi
            printf '%s\t%s\t%s\t%s\n' "$svc" "$path" "$key.ndjson" "${rows[$key]}"
        done
    done
    # Last: the import confirms every meter a reading names.
    printf 'cust\t/v1/readings:import\tcust/readings.ndjson\t%s\n' "$(wc -l <"$dir/cust/readings.ndjson")"
} >"$dir/load-order.tsv"

# ---- codes.sh ----------------------------------------------------------------------------

# below LINE: the customers a line's outage cuts off, by the links written
# above (a line's transformers, their access points' boxes, the boxes'
# meters; the dedicated transformer's or line's own customer), with the
# switches in their normal positions.
below() {
    case $1 in
        LN_HUSHU) echo CU_ZHANG_WEI CU_WANG_FANG CU_LI_NA CU_SHOP CU_LIU_YANG CU_CHEN_JING \
                       CU_CHARGING CU_YANG_LEI CU_ZHAO_MIN CU_HUANG_QIANG CU_ZHOU_JIE \
                       CU_XINCUN_CTR CU_SILK ;;
        LN_DAGUAN) echo CU_WU_TING CU_XU_MING CU_SNACK ;;
        LN_STEEL) echo CU_STEEL ;;
    esac
}

{
    echo "# codes.sh -- the demo city's fixed codes (examples/demo-city/*.ndjson), one"
    echo "# variable per object, written by generate.sh with the fixtures: do not edit."
    echo "# shellcheck shell=bash disable=SC2034"
    for name in "${names[@]}"; do
        printf '%s=%s\n' "$name" "$(jq -r --arg n "$name" '.[$n]' <<<"$codes")"
    done
    echo
    echo "# The customers each line's outage cuts off, as the fixtures link them."
    for line in LN_HUSHU LN_DAGUAN LN_STEEL; do
        list=()
        for cu in $(below "$line"); do list+=("$(jq -r --arg n "$cu" '.[$n]' <<<"$codes")"); done
        printf 'CUSTOMERS_BELOW_%s="%s"\n' "$line" "${list[*]}"
    done
    echo
    echo "# The planted mislink 户变关系错误: the customer recorded under TR_MISLINK_RECORDED"
    echo "# (its meter's box hangs there) whose energy is in TR_MISLINK_TRUE's check meter."
    for pair in "CU_MISLINKED $mislinked" "TR_MISLINK_RECORDED $mislink_recorded" \
        "TR_MISLINK_TRUE $mislink_true"; do
        read -r var name <<<"$pair"
        printf '%s=%s\n' "$var" "$(jq -r --arg n "$name" '.[$n]' <<<"$codes")"
    done
} >"$dir/codes.sh"

echo "generate.sh: wrote $(cat "$dir"/grid/*.ndjson "$dir"/cust/[!r]*.ndjson | wc -l) objects," \
    "$(cat "$dir"/grid/rel/*.ndjson "$dir"/cust/rel/*.ndjson | wc -l) links and" \
    "$(wc -l <"$dir/cust/readings.ndjson") readings under $dir"
