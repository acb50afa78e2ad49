#!/usr/bin/env bash
# A planned outage 计划停电, on the demo city (00-demo-city.sh): production
# takes 湖墅新村 2号公变 out for maintenance eight days from now. cust-svc
# freezes the list of the customers it cuts (DESIGN §10) and makes a notice
# for each; a notifier (an SMS gateway, with the notifier key) pulls the
# pending notices, sends them and reports each sent. The outage is
# rescheduled (customers are told again), started and restored (复电通知),
# and its history tells each step. An outage that would start tomorrow is
# refused: customers are given PLANNED_NOTICE_HOURS' notice (default 168).
# The list and the notices are checked against the fixture (demo-city/). The
# grid itself is not touched, so the example runs again on the same stack,
# each time with an outage of its own.
. "$(dirname "$0")/lib.sh"
# shellcheck source=demo-city/codes.sh
. "$here/examples/demo-city/codes.sh"
NOTIFIER="Authorization: Bearer dev-notifier-key"

tr=$TR_XINCUN_2
# The transformer's area as the fixture has it, and the frozen list it makes:
# every customer with a phone, none with a supply of its own elsewhere.
area=$(city_customers | jq -c --arg tr "$tr" 'map(select(.transformer == $tr))')
tr_name=$(jq -r '.[0].transformer_name' <<<"$area")
want_list=$(jq -c 'map({code, name, phone, address, transformer, transformer_name, backup: false})' <<<"$area")
want_codes=$(jq -r 'map(.code) | join(" ")' <<<"$area")
phones=$(jq -c 'map({(.code): .phone}) | add' <<<"$area")
day=$(date -u -d '+8 days' +%Y-%m-%d)
starts=${day}T01:00:00Z ends=${day}T09:00:00Z later=${day}T10:00:00Z

step "Production asks for $tr_name out tomorrow: refused, customers are told a week ahead"
count_outages() { curl -sS -H "$DISP" "$CUST/v1/outages:export" | wc -l; }
before=$(count_outages)
tomorrow=$(date -u -d '+1 day' +%Y-%m-%d)
call POST "$CUST/v1/outages" "$PROD" "{\"kind\": \"planned\", \"elements\": [\"$tr\"],
    \"starts_at\": \"${tomorrow}T01:00:00Z\", \"ends_at\": \"${tomorrow}T09:00:00Z\",
    \"reason\": \"$tr_name 年度检修\"}"
expect 422
hours=$(field .notice_hours)
# the earliest start is counted from the moment the request was answered
late=$(( $(date -u -d "$(field .earliest_start)" +%s) - $(date -u +%s) - hours * 3600 ))
if [ "$late" -gt 5 ] || [ "$late" -lt -60 ]; then
    echo "FAILED: earliest_start $(field .earliest_start) is not $hours hours from now" >&2
    exit 1
fi
expect_same "the outages stored after the refusal" "$(count_outages)" "$before"
echo "  the earliest start allowed: $(field .earliest_start) ($hours hours' notice); nothing stored"

step "Production announces it for $day, 09:00-17:00 Beijing time (POST /v1/outages)"
call POST "$CUST/v1/outages" "$PROD" "{\"kind\": \"planned\", \"elements\": [\"$tr\"],
    \"starts_at\": \"$starts\", \"ends_at\": \"$ends\", \"reason\": \"$tr_name 年度检修\"}"
expect 201 .state announced
expect 201 .customers "$(wc -w <<<"$want_codes")"
og=$(field .code)
version=$(field .version)
echo "  $og: $(field .customers) customers on its list"

step "The list frozen when it was announced (GET /v1/outages/{code}/customers)"
call GET "$CUST/v1/outages/$og/customers?limit=100" "$DISP"
expect 200 .next null
expect 200 '.items | map(del(.notices)) | tojson' "$want_list"
expect 200 '[.items[] | [.notices[] | "\(.message)=\(.state)"] | join(" ")] | unique | join(",")' \
    "announced=pending"
printf '%s' "$body" | jq -r '.items[] | "    \(.name)  \(.phone)  \(.address)  台区 \(.transformer_name)"'

# notifier MESSAGE: the notifier's loop, two at a time: pull the outage's
# pending notices, send each, report them sent, until none is left. Each
# customer of the list gets exactly one MESSAGE, at the phone on the list.
# The first report is kept in $first_ack.
notifier() {
    local message=$1 told=() page ack
    first_ack=
    while :; do
        call GET "$CUST/v1/notices?state=pending&outage=$og&limit=2" "$NOTIFIER"
        expect 200
        page=$body
        [ "$(field '.items | length')" != 0 ] || break
        expect 200 "[.items[] | select(.message != \"$message\")] | length" 0
        expect 200 "[.items[] | select(.phone != ${phones}[.customer])] | length" 0
        mapfile -t -O "${#told[@]}" told < <(field '.items[].customer')
        ack=$(jq -c '{items: [.items[] | {code, state: "sent", detail: "短信已送达 \(.phone)"}]}' <<<"$page")
        call POST "$CUST/v1/notices:ack" "$NOTIFIER" "$ack"
        expect 200 '[.items[] | select(.changed | not)] | length' 0
        [ -n "$first_ack" ] || first_ack=$ack
    done
    expect_same "the customers told '$message'" "$(printf '%s\n' "${told[@]}" | sort | paste -sd' ' -)" \
        "$want_codes"
    echo "  ${#told[@]} '$message' notices sent"
}

step "The notifier pulls the pending notices and reports them sent (GET /v1/notices, POST /v1/notices:ack)"
notifier announced
# a customer with no phone would have its notice failed at once; every
# customer of this area has one
call GET "$CUST/v1/notices?outage=$og&state=failed" "$NOTIFIER"
expect 200 '.items | length' 0

step "The notifier reports the first ones again (a retry after a lost answer): nothing changes"
notice=$(jq -r '.items[0].code' <<<"$first_ack")
call GET "$CUST/v1/notices/$notice" "$NOTIFIER"
expect 200 .state sent
was=$body
call POST "$CUST/v1/notices:ack" "$NOTIFIER" "$first_ack"
expect 200 '[.items[] | select(.changed)] | length' 0
call GET "$CUST/v1/notices/$notice" "$NOTIFIER"
expect 200 '[.version, .sent_at, .detail] | tojson' "$(jq -c '[.version, .sent_at, .detail]' <<<"$was")"

step "The work takes an hour longer: production moves the end (PATCH with If-Match), customers are told again"
call PATCH "$CUST/v1/outages/$og" "$PROD" "{\"ends_at\": \"$later\"}" "If-Match: \"$version\""
expect 200 .ends_at "$later"
call PATCH "$CUST/v1/outages/$og" "$PROD" "{\"ends_at\": \"$ends\"}" "If-Match: \"$version\""
expect 412
notifier rescheduled

step "The day comes: production starts the outage (POST /v1/outages/{code}/transitions)"
call GET "$CUST/v1/outages/$og" "$PROD"
call POST "$CUST/v1/outages/$og/transitions" "$PROD" '{"to": "started", "reason": "停电操作完毕, 开始检修"}' \
    "If-Match: \"$(field .version)\""
expect 200 .state started
call GET "$CUST/v1/notices?state=pending&outage=$og" "$NOTIFIER"
expect 200 '.items | length' 0
echo "  customers were told the day and hour: nothing new to send"

step "The work is done: supply restored, every customer told 复电通知"
call POST "$CUST/v1/outages/$og/transitions" "$PROD" '{"to": "restored", "reason": "检修完毕, 恢复送电"}'
expect 200 .state restored
notifier restored

step "What each customer was told, on the frozen list"
call GET "$CUST/v1/outages/$og/customers?limit=100" "$DISP"
expect 200 '.items | map(del(.notices)) | tojson' "$want_list"
expect 200 '[.items[] | [.notices[] | "\(.message)=\(.state)"] | sort | join(" ")] | unique | join(",")' \
    "announced=sent rescheduled=sent restored=sent"
printf '%s' "$body" | jq -r '.items[] | "    \(.name): \([.notices[] | .message] | join(", "))"'

step "The outage's history: each step, by whom and why (GET /v1/outages/{code}/history)"
call GET "$CUST/v1/outages/$og/history" "$DISP"
expect 200 '[.items[] | "\(.type) \(.app) \(.after.state)"] | join(", ")' \
    "outage.created pms announced, outage.rescheduled pms announced, outage.started pms started, outage.restored pms restored"
expect 200 '[.items[1] | .before.ends_at, .after.ends_at] | join(" ")' "$ends $later"
expect 200 '[.items[2:][] | .reason] | join(", ")' "停电操作完毕, 开始检修, 检修完毕, 恢复送电"
printf '%s' "$body" | jq -r '.items[] | "    \(.at)  \(.type)  \(.reason // "")"'

echo
echo "planned outage: all answers as expected"
