#!/usr/bin/env bash
# Switching and load transfer 转供, asked of the demo city (00-demo-city.sh).
# 10kV 湖墅线 is fed from 110kV 拱墅变 through its outgoing breaker; a normally
# open load switch ties it 联络 to 10kV 大关线, fed from 110kV 大关变. Dispatch
# 供电服务指挥 (the dispatch key) transfers 湖墅线 to 大关变: it closes the tie,
# then opens 拱墅变's breaker, each with a reason and If-Match. The outage
# answers follow the switches (DESIGN §9): which substation's outage cuts
# whom, and which open switch would bring them back (restorable), in the
# arrangement now (state=current, the default) and in the normal one
# (state=normal); both platforms answer alike. Then dispatch switches back,
# so the city is left as it was found, and the switches' history tells why
# each was operated.
. "$(dirname "$0")/lib.sh"
# shellcheck source=demo-city/codes.sh
. "$here/examples/demo-city/codes.sh"

# Every switch of the city, by code: its name, to print chains with.
switch_names=$(jq -sc 'map({(.code): .name}) | add' "$here/examples/demo-city/grid/switches.ndjson")
hushu=$CUSTOMERS_BELOW_LN_HUSHU
daguan=$CUSTOMERS_BELOW_LN_DAGUAN
sorted() { tr ' ' '\n' <<<"$1" | { grep -v '^$' || true; } | sort | paste -sd' ' -; }

# outage CODES STATE "WANT-CUSTOMERS" "WANT-RESTORABLE": the outage impact of
# CODES in STATE, asked of both platforms: exactly those customers, and the
# open switches that would restore them ("SW=N SW=N", largest first).
outage() {
    local state=$2 want=$3 restorable=$4 base query=codes=$1 first=
    [ "$state" = current ] || query+="&state=$state"
    for base in "$GRID" "$CUST"; do
        call GET "$base/v1/outage-impact?$query" "$DISP"
        expect 200 .state "$state"
        expect 200 .next null
        expect 200 .counts.total "$(wc -w <<<"$want")"
        expect 200 '[.customers[].code] | join(" ")' "$(sorted "$want")"
        expect 200 '[.restorable[] | "\(.switch)=\(.customers)"] | join(" ")' "$restorable"
        if [ -z "$first" ]; then
            first=$body
        else
            expect 200 '[.customers, .counts, .restorable] | tojson' \
                "$(printf '%s' "$first" | jq -c '[.customers, .counts, .restorable]')"
        fi
    done
    printf '%s' "$body" | jq -r --argjson sw "$switch_names" '"  \(.counts.total) customers out" +
        (if .counts.total > 0 then ": " + ([.customers[].name] | join(", ")) else "" end),
        (.restorable[] | "  restorable: close \($sw[.switch] // .switch) → \(.customers) back")'
}

# up_chain CU: the chain up from a low-voltage customer in the trace in
# $body, as far as the line, then the line's ties and the substations
# feeding each line, with the switch on each link ([name], ", open" when open
# now).
up_chain() {
    printf '%s' "$body" | jq -r --arg cu "$1" --argjson sw "$switch_names" "$TRACE_JQ"'
        def via($e): if $e.switch then " [" + ($sw[$e.switch] // $e.switch) +
            (if $e.open then ", open" else "" end) + "]" else "" end;
        def feeds($l): [.edges[] | select(.kind == "substation-line" and .to == $l)] as $in |
            if $in == [] then "" else " ← " + ([$in[] as $e | name_of($e.from) + via($e)] | join(" + ")) end;
        . as $t |
        from_of($cu; "metering_point.customer")[0] as $mp | from_of($mp; "meter-meteringpoint")[0] as $mt |
        to_of($mt; "meter-meterbox")[0] as $mb | from_of($mb; "accesspoint-meterbox")[0] as $ap |
        to_of($ap; "accesspoint-transformer")[0] as $tr | from_of($tr; "line-transformer")[0] as $ln |
        ([name_of($cu), name_of($mb), name_of($ap), name_of($tr), name_of($ln)] | join(" → ")) + feeds($ln) +
        ([.edges[] | select(.kind == "line-line" and (.from == $ln or .to == $ln)) as $e |
          (if $e.from == $ln then $e.to else $e.from end) as $other |
          " ─ 联络" + via($e) + " ─ " + ($t | name_of($other)) + ($t | feeds($other))] | join(""))'
}

# trace_up STATE WANT: the trace up from 张伟 on both platforms, the same
# graph (switches and positions too), and its chain as WANT.
trace_up() {
    local state=$1 want=$2 query=direction=up chain edges
    [ "$state" = current ] || query+="&state=$state"
    call GET "$GRID/v1/trace/$CU_ZHANG_WEI?$query" "$DISP"
    expect 200
    chain=$(up_chain "$CU_ZHANG_WEI")
    edges=$(field '[.edges[] | tojson] | sort | join(" ")')
    echo "  $chain"
    expect_same "the chain up from 张伟 ($state)" "$chain" "$want"
    call GET "$CUST/v1/trace/$CU_ZHANG_WEI?$query" "$DISP"
    expect 200 '[.edges[] | tojson] | sort | join(" ")' "$edges"
    echo "  cust-svc: the same $(field '.edges | length') edges"
}

# operate SW OPEN REASON: reads the switch's version, then operates it with
# that version as If-Match and a reason.
operate() {
    local sw=$1 open=$2 reason=$3 version request
    call GET "$GRID/v1/switches/$sw" "$DISP"
    expect 200 .current_open "$([ "$open" = true ] && echo false || echo true)"
    version=$(field .version)
    request=$(jq -nc --argjson open "$open" --arg reason "$reason" '{open: $open, reason: $reason}')
    echo "  $request"
    call POST "$GRID/v1/switches/$sw/operate" "$DISP" "$request" "If-Match: \"$version\""
    expect 200 .current_open "$open"
    expect 200 .version "$((version + 1))"
    echo "  $(field .name): $(field 'if .current_open then "open 分" else "closed 合" end'), version $(field .version)"
}

# back_to_normal: each switch of the city to its normal position, closing
# before opening, so no line is left without supply on the way. For a run
# that stopped half way.
back_to_normal() {
    local want sw open
    for want in false true; do
        for sw in $(jq -r --argjson w "$want" 'select(.normal_open == $w) | .code' \
            "$here/examples/demo-city/grid/switches.ndjson"); do
            open=$(curl -sS -H "$DISP" "$GRID/v1/switches/$sw" | jq -r .current_open)
            [ "$open" = "$want" ] || operate "$sw" "$want" "恢复正常运行方式 (back to the normal arrangement)"
        done
    done
}

tie_name="湖墅线–大关线 联络开关"
gongshu_breaker="拱墅变 10kV 湖墅线 出线断路器"
daguan_breaker="大关变 10kV 大关线 出线断路器"

# city_switches: each of the city's switches as it stands, one line each.
city_switches() {
    local sw
    for sw in $(jq -r .code "$here/examples/demo-city/grid/switches.ndjson"); do
        curl -sS -H "$DISP" "$GRID/v1/switches/$sw" | jq -r '"\(.name): \(.kind), normally \(if .normal_open
            then "open 常开" else "closed 常闭" end), now \(if .current_open then "open" else "closed" end)"'
    done
}

step "The switches of the demo city, in the normal arrangement 正常运行方式 (GET /v1/switches/{code})"
if city_switches | grep -q 'normally open 常开, now closed\|normally closed 常闭, now open'; then
    echo "  (an earlier run stopped half way: switching back to the normal arrangement first)"
    back_to_normal
fi
for sw in "$SW_GONGSHU_HUSHU" "$SW_TIE_HUSHU_DAGUAN"; do
    call GET "$GRID/v1/switches/$sw" "$DISP"
    expect 200 '.current_open == .normal_open' true
done
city_switches | sed 's/^/  /'

step "Before the transfer: 110kV 大关变 out cuts only 大关线's customers (湖墅线 is only tied to it)"
outage "$SS_DAGUAN" current "$daguan" "$SW_TIE_HUSHU_DAGUAN=3"

step "... 110kV 拱墅变 out cuts 湖墅线's, and the tie switch would bring them all back from 大关变"
outage "$SS_GONGSHU" current "$hushu" "$SW_TIE_HUSHU_DAGUAN=13"

step "... and up from 张伟: through 湖墅线 to 拱墅变 alone"
trace_up current "张伟 → 湖墅南路 12幢 1号表箱 → 湖墅线 5号杆接入点 → 湖墅线 1号公变 → 10kV 湖墅线 ← 110kV 拱墅变 [$gongshu_breaker]"

step "Only dispatch operates switches: production is refused (403), and so is a stale If-Match (412)"
call POST "$GRID/v1/switches/$SW_TIE_HUSHU_DAGUAN/operate" "$PROD" '{"open": false, "reason": "转供"}'
expect 403
call GET "$GRID/v1/switches/$SW_TIE_HUSHU_DAGUAN" "$DISP"
expect 200 .current_open true
version=$(field .version)
call POST "$GRID/v1/switches/$SW_TIE_HUSHU_DAGUAN/operate" "$DISP" '{"open": false, "reason": "转供"}' \
    "If-Match: \"$((version - 1))\""
expect 412
call GET "$GRID/v1/switches/$SW_TIE_HUSHU_DAGUAN" "$DISP"
expect 200 .version "$version"
expect 200 .current_open true
echo "  neither changed the switch: still open, version $version"

# A run stopped from here on leaves the city as it found it.
trap back_to_normal EXIT

step "Transfer 湖墅线 to 大关变 (转供): close the tie 合 $tie_name (POST /v1/switches/{code}/operate)"
operate "$SW_TIE_HUSHU_DAGUAN" false "转供: 拱墅变 湖墅线 出线断路器 计划检修, 湖墅线 转由 大关变 经 湖墅线–大关线 联络开关 供电 (合联络)"
step "... then open 分 $gongshu_breaker"
operate "$SW_GONGSHU_HUSHU" true "转供: 拱墅变 湖墅线 出线断路器 计划检修, 湖墅线 已由 大关变 供电 (分出线断路器)"

step "After the transfer: 110kV 大关变 out now cuts 大关线's and 湖墅线's customers"
outage "$SS_DAGUAN" current "$daguan $hushu" "$SW_GONGSHU_HUSHU=16"

step "... 110kV 拱墅变 out cuts no one"
outage "$SS_GONGSHU" current "" ""

step "... while in the normal arrangement (state=normal) the answers are as before"
outage "$SS_DAGUAN" normal "$daguan" "$SW_TIE_HUSHU_DAGUAN=3"
outage "$SS_GONGSHU" normal "$hushu" "$SW_TIE_HUSHU_DAGUAN=13"

step "... and up from 张伟: through 湖墅线, the closed tie and 大关线 to 大关变"
trace_up current "张伟 → 湖墅南路 12幢 1号表箱 → 湖墅线 5号杆接入点 → 湖墅线 1号公变 → 10kV 湖墅线 ─ 联络 [$tie_name] ─ 10kV 大关线 ← 110kV 大关变 [$daguan_breaker]"
step "... in the normal arrangement, to 拱墅变, through the breaker that is open now"
trace_up normal "张伟 → 湖墅南路 12幢 1号表箱 → 湖墅线 5号杆接入点 → 湖墅线 1号公变 → 10kV 湖墅线 ← 110kV 拱墅变 [$gongshu_breaker, open]"

step "Back to the normal arrangement: close $gongshu_breaker, then open the tie"
operate "$SW_GONGSHU_HUSHU" false "恢复正常运行方式: 拱墅变 湖墅线 出线断路器 检修完毕 (合出线断路器)"
operate "$SW_TIE_HUSHU_DAGUAN" true "恢复正常运行方式: 湖墅线 由 拱墅变 供电 (分联络)"
trap - EXIT
outage "$SS_DAGUAN" current "$daguan" "$SW_TIE_HUSHU_DAGUAN=3"

# operations SW BASE: the switch's operations in its history (every page),
# one line each: open, reason, app.
operations() {
    local url="$2/v1/switches/$1/history?limit=1000" all='[]'
    while :; do
        call GET "$url" "$DISP" >/dev/null
        expect 200
        all=$(jq -c --argjson b "$body" '. + [$b.items[] | select(.type == "switch.operated")]' <<<"$all")
        [ "$(field .next)" != null ] || break
        url="$2/v1/switches/$1/history?limit=1000&after=$(field .next)"
    done
    jq -r '.[] | "\(if .after.current_open then "open " else "close" end)\t\(.reason // .after.reason)\t\(.app)"' <<<"$all"
}

step "The switches' history: each operation with its reason (GET /v1/switches/{code}/history, either platform)"
got=$(operations "$SW_TIE_HUSHU_DAGUAN" "$GRID" | tail -n 2)
printf '  %s\n' "$tie_name:" && printf '%s\n' "$got" | sed 's/^/    /'
expect_same "the tie switch's last two operations" "$(cut -f1,2 <<<"$got")" \
    "$(printf 'close\t%s\nopen \t%s' "转供: 拱墅变 湖墅线 出线断路器 计划检修, 湖墅线 转由 大关变 经 湖墅线–大关线 联络开关 供电 (合联络)" \
        "恢复正常运行方式: 湖墅线 由 拱墅变 供电 (分联络)")"
got=$(operations "$SW_GONGSHU_HUSHU" "$CUST" | tail -n 2)
printf '  %s\n' "$gongshu_breaker:" && printf '%s\n' "$got" | sed 's/^/    /'
expect_same "the breaker's last two operations" "$(cut -f1,2 <<<"$got")" \
    "$(printf 'open \t%s\nclose\t%s' "转供: 拱墅变 湖墅线 出线断路器 计划检修, 湖墅线 已由 大关变 供电 (分出线断路器)" \
        "恢复正常运行方式: 拱墅变 湖墅线 出线断路器 检修完毕 (合出线断路器)")"

echo
echo "switching: all answers as expected"
