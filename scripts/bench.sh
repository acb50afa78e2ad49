#!/usr/bin/env bash
# bench.sh -- `make bench`: load a synthetic city into a fresh stack and
# measure, side by side in one run, on 127.0.0.1:
#   1. point read GET /v1/customers/{code} on cust-svc against pgbench
#      running the same primary-key SELECT on the same database, and against
#      the least server on the same libraries (build/bareread);
#   2. the same read proxied through grid-svc;
#   3. trace up from random low-voltage customers on cust-svc, down from random lines on
#      grid-svc, and both at once (8 + 8 connections);
#   4. outage impact of random lines, and of one whole substation, with and without the
#      switches that would restore it; a tie switch operated (closed and opened in turn);
#   5. the import rate against a plain COPY of the same rows;
#   6. the integration report from datahub: how long after the load datahub has it all, and
#      the whole city's report and one substation's, and the rates by substation and by line;
#   7. search by code, account number and name, asked of grid-svc (both platforms answer);
#   8. thirty days of every meter's readings through the import API against a plain COPY of
#      the same rows; the line loss of a day, the whole city's and one line's; the suspect
#      customer-transformer links of the thirty days, with recall and precision against the
#      mislinks citygen planted;
# and the daemons' memory before and after. Writes BENCHMARKS.md. A run that fails (answers
# other than 2xx, a socket error, pgbench failing) is listed there under "Failures" and the
# bench goes on; it then exits 1.
#
#   BENCH_CUSTOMERS=1000000  size of the city
#   BENCH_SECONDS=10         length of each load run
#   BENCH_OUT=BENCHMARKS.md  the report
#   BENCH_KEEP=1             leave the stack running at the end (scripts/stack.sh down, then
#                            RUN_DIR=.run/bench scripts/pg.sh destroy, to remove it)
# The stack runs in .run/bench on its own ports and is destroyed at the end.
set -euo pipefail
trap 'echo "bench: failed at line $LINENO" >&2' ERR

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
customers=${BENCH_CUSTOMERS:-1000000}
secs=${BENCH_SECONDS:-10}
out=${BENCH_OUT:-$root/BENCHMARKS.md}
export RUN_DIR=$root/.run/bench
export GRID_PORT=${BENCH_GRID_PORT:-18081} CUST_PORT=${BENCH_CUST_PORT:-18082}
export PGPORT=${BENCH_PGPORT:-15433}
bare_port=${BENCH_BARE_PORT:-18090}
# A quarter of the machine's memory for PostgreSQL's buffers, its usual
# starting point: the three databases of the 1,000,000-customer city (about
# 3.2 GB with datahub) fit, as each would on a server of its own. And no
# checkpoints in the middle of the load.
export PG_OPTS="-c shared_buffers=6GB -c max_wal_size=8GB -c checkpoint_timeout=30min"
export LOG_LEVEL=warn
# The suspect links of a whole city read thirty days of its readings.
export DATAHUB_STATEMENT_TIMEOUT_MS=600000
readings_days=30
mislinks=${BENCH_MISLINKS:-1000}
key=dev-admin-key
city=$RUN_DIR/city
results=$RUN_DIR/results
scripts_dir=$root/scripts/bench

bare_pid=
cleanup() {
    if [[ -n $bare_pid ]]; then kill "$bare_pid" 2>/dev/null || true; fi
    scripts/stack.sh down >/dev/null 2>&1 || true
    scripts/pg.sh destroy >/dev/null 2>&1 || true
}
trap '[[ ${BENCH_KEEP:-0} == 1 ]] || cleanup' EXIT

say() { printf '\n== %s\n' "$*"; }

cleanup
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR" "$results"
: >"$results/failures.txt"

say "city of $customers customers"
t0=$(date +%s.%N)
build/citygen --customers "$customers" --seed 7 --readings "$readings_days" --mislinks "$mislinks" \
    --out "$city"
t1=$(date +%s.%N)
gen_s=$(echo "$t1 - $t0" | bc)
rows_total=$(awk -F'\t' '{ n += $4 } END { print n }' "$city/load-order.tsv")
echo "  $rows_total rows in $gen_s s"

say "fresh stack"
scripts/stack.sh up
# shellcheck disable=SC1091
. "$RUN_DIR/stack.env"
# shellcheck disable=SC1091
. "$RUN_DIR/pg.env"
export GRID_URL CUST_URL
psql_su() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$RUN_DIR/$1.pid")/status"; }
rss_grid_0=$(rss_kib grid-svc)
rss_cust_0=$(rss_kib cust-svc)

# Datahub would run on its own server; here it shares the two cores. Its subscriptions wait
# (their slots keep the changes) until the platforms' own figures are taken, then it catches
# up with the whole city, which is measured below.
subscriptions() {
    psql_su -d datahub -c "ALTER SUBSCRIPTION datahub_grid $1" -c "ALTER SUBSCRIPTION datahub_cust $1"
}
subscriptions DISABLE

say "load through the import API"
READINGS=0 IMPORT_KEY=$key scripts/cityload.sh "$city" | tee "$results/load.txt"
load_s=$(awk '/^loaded/ { print $5 }' "$results/load.txt")
load_rate=$(awk '/^loaded/ { gsub(/\(/, "", $7); print $7 }' "$results/load.txt")
cust_line=$(grep 'cust/customers.ndjson' "$results/load.txt")
import_rows=$(echo "$cust_line" | awk '{ print $2 }')
import_s=$(echo "$cust_line" | awk '{ print $4 }')
rss_grid_1=$(rss_kib grid-svc)
rss_cust_1=$(rss_kib cust-svc)
psql_su -d cust -c "VACUUM ANALYZE" && psql_su -d grid -c "VACUUM ANALYZE"

say "plain COPY of the same customers"
# The rows as stored, copied into an identical table (same indexes) from a file.
psql_su -d cust <<SQL
CREATE TABLE bench_customers (LIKE customers INCLUDING ALL);
\copy customers TO '$RUN_DIR/customers.copy'
SQL
copy_ms=$(psql_su -d cust -At <<SQL | awk '/^Time:/ { print $2 }'
\timing on
\copy bench_customers FROM '$RUN_DIR/customers.copy'
SQL
)
psql_su -d cust -c "DROP TABLE bench_customers"
copy_s=$(echo "scale=3; $copy_ms / 1000" | bc)

# failed WHAT: notes a failure for the report's "Failures"; the bench goes on.
failed() {
    echo "bench: $*" >&2
    echo "$*" >>"$results/failures.txt"
}

# wrk NAME BASE PATH_PREFIX CODES_FILE SUFFIX CONNECTIONS: one load run,
# appending "NAME req/s p50_ms p99_ms bad non2xx connect read write timeout" to
# results/wrk.txt (random.lua says what each is).
run_wrk() {
    local name=$1 base=$2 prefix=$3 codes=$4 suffix=$5 conns=$6
    CODES=$codes PATH_PREFIX=$prefix PATH_SUFFIX=$suffix API_KEY=$key \
        wrk -t2 -c"$conns" -d"${secs}s" -s "$scripts_dir/random.lua" "$base" >"$results/$name.wrk"
    local line
    line=$(grep '^RESULT' "$results/$name.wrk") || line="RESULT 0 0 0 -1 0 0 0 0 0"
    echo "$name ${line#RESULT }" | tee -a "$results/wrk.txt"
    read -r _ _ _ _ bad status connect readerr writeerr timeout <<<"$line"
    if [[ $bad != 0 ]]; then
        failed "$name: $bad answers other than 2xx or socket errors (non-2xx $status, connect" \
            "$connect, read $readerr, write $writeerr, timeout $timeout; wrk: ${results#"$root"/}/$name.wrk)"
    fi
}

# only_status NAME CODE FILE...: the runs' "status seconds" lines; any status
# other than CODE is a failure, counted by status.
only_status() {
    local name=$1 code=$2 others
    shift 2
    others=$(awk -v c="$code" '$1 != c { print $1 }' "$@" | sort | uniq -c | tr -s ' \n' ' ')
    [[ -z $others ]] || failed "$name: answers other than $code: $others"
}

# timed_gets NAME URL N: asks URL N times, one client at a time. NAME.txt in
# the results gets "status seconds" per answer and $RUN_DIR/NAME.json the
# last body; an answer other than 200 stops the bench.
timed_gets() {
    local name=$1 url=$2 n=$3 out="$results/$1.txt" i
    : >"$out"
    for ((i = 0; i < n; i++)); do
        curl -sS -o "$RUN_DIR/$name.json" -w '%{http_code} %{time_total}\n' \
            -H "Authorization: Bearer $key" "$url" >>"$out"
    done
    only_status "$name" 200 "$out"
}

# timed_operations NAME BASE SWITCH N: N operations of SWITCH (a normally open tie),
# closing and opening it in turn, so it ends as it started; times as timed_gets.
timed_operations() {
    local name=$1 base=$2 sw=$3 n=$4 out="$results/$1.txt" i open
    : >"$out"
    for ((i = 0; i < n; i++)); do
        if ((i % 2)); then open=true; else open=false; fi
        curl -sS -o "$RUN_DIR/$name.json" -w '%{http_code} %{time_total}\n' -X POST \
            -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
            -d "{\"open\": $open, \"reason\": \"bench: a transfer and back\"}" \
            "$base/v1/switches/$sw/operate" >>"$out"
    done
    only_status "$name" 200 "$out"
}

# ms_of NAME p50|max: of the times timed_gets wrote, in milliseconds.
ms_of() {
    awk '{ print $2 * 1000 }' "$results/$1.txt" | sort -n |
        awk -v which="$2" '{ a[NR] = $1 } END { print (which == "max" ? a[NR] : a[int((NR + 1) / 2)]) }'
}

say "point read: cust-svc against the bare server and pgbench"
: >"$results/wrk.txt"
select_list=$(psql_su -d cust -At -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attnum > 0 AND NOT attisdropped")
# The bare server: the same SELECT, as the daemon's database role, with as
# many I/O threads (the daemons' default); each run right after the
# daemon's, so a slow minute of the machine falls on both.
build/bareread "$bare_port" "$CUST_DATABASE_URL" "SELECT $select_list FROM customers WHERE code = \$1" 4 \
    2>"$results/bareread.log" &
bare_pid=$!
probe=http://127.0.0.1:$bare_port/v1/customers/$(head -n 1 "$city/sample/customers_lv.txt")
for ((i = 0; ; i++)); do
    curl -so /dev/null "$probe" && break
    if ((i == 100)) || ! kill -0 "$bare_pid" 2>/dev/null; then
        echo "bench: bareread did not start on port $bare_port:" >&2
        cat "$results/bareread.log" >&2
        exit 1
    fi
    sleep 0.1
done
for c in 8 16 32; do
    run_wrk "read_c$c" "$CUST_URL" /v1/customers/ "$city/sample/customers_lv.txt" "" "$c"
    run_wrk "bare_c$c" "http://127.0.0.1:$bare_port" /v1/customers/ "$city/sample/customers_lv.txt" "" "$c"
done
if [[ -s $results/bareread.log ]]; then
    failed "bareread said: $(sort "$results/bareread.log" | uniq -c | head -n 5 | tr -s ' \n' ' ')"
fi
kill "$bare_pid"
wait "$bare_pid" || true
bare_pid=
# pgbench: the same SELECT of the same columns by primary key, prepared,
# over 100 scripts of one random code each (pgbench variables are numbers,
# and it takes at most 128 scripts).
mkdir -p "$RUN_DIR/pgbench"
shuf -n 100 --random-source=<(yes) "$city/sample/customers_lv.txt" | nl -w1 -s' ' |
    while read -r i code; do
        echo "SELECT $select_list FROM customers WHERE code = '$code';" >"$RUN_DIR/pgbench/q$i.sql"
    done
pg_args=()
for f in "$RUN_DIR"/pgbench/q*.sql; do pg_args+=(-f "$f"); done
best_pg=0
for c in 8 16 32; do
    if ! "$PG_BIN/pgbench" -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$c" -j 2 \
        -T "$secs" "${pg_args[@]}" cust >"$results/pgbench_c$c.out" 2>&1; then
        failed "pgbench_c$c: $(tail -n 3 "$results/pgbench_c$c.out" | tr '\n' ' ')"
    fi
    tps=$(awk '/^tps/ { print $3 }' "$results/pgbench_c$c.out")
    tps=${tps:-0}
    echo "pgbench_c$c $tps" | tee -a "$results/pgbench.txt"
    best_pg=$(echo "$tps $best_pg" | awk '{ print ($1 > $2 ? $1 : $2) }')
done

say "proxied read through grid-svc"
for c in 16 32; do
    run_wrk "proxy_c$c" "$GRID_URL" /v1/customers/ "$city/sample/customers_lv.txt" "" "$c"
done

say "trace up from low-voltage customers on cust-svc, 8 clients"
run_wrk trace_c8 "$CUST_URL" /v1/trace/ "$city/sample/customers_lv.txt" "?direction=up" 8

say "trace down from lines on grid-svc, 8 clients"
run_wrk trace_down_c8 "$GRID_URL" /v1/trace/ "$city/sample/lines.txt" "?direction=down" 8

say "both at once: 8 tracing up on cust-svc, 8 tracing down on grid-svc"
# Each platform's walks need the other's legs: the pair as a dispatch desk
# and production use it on an ordinary morning.
run_wrk mixed_up_c8 "$CUST_URL" /v1/trace/ "$city/sample/customers_lv.txt" "?direction=up" 8 &
mixed_up=$!
run_wrk mixed_down_c8 "$GRID_URL" /v1/trace/ "$city/sample/lines.txt" "?direction=down" 8 &
mixed_down=$!
wait "$mixed_up" "$mixed_down"

say "outage impact of a line, 8 clients"
run_wrk impact_c8 "$GRID_URL" "/v1/outage-impact?limit=10000&codes=" "$city/sample/lines.txt" "" 8

say "a whole substation's customers, one client"
sub=$(head -n 1 "$city/sample/substations.txt")
timed_gets substation "$GRID_URL/v1/outage-impact?limit=10000&restorable=false&codes=$sub" 10
sub_customers=$(jq '.customers | length' "$RUN_DIR/substation.json")
sub_total=$(jq '.counts.total' "$RUN_DIR/substation.json")
sub_p50=$(ms_of substation p50)
sub_max=$(ms_of substation max)

say "the same with the transfer plan (restorable), one client"
timed_gets substation_plan "$GRID_URL/v1/outage-impact?limit=10000&codes=$sub" 10
plan_switches=$(jq '.restorable | length' "$RUN_DIR/substation_plan.json")
plan_most=$(jq '[.restorable[].customers] | max // 0' "$RUN_DIR/substation_plan.json")
plan_p50=$(ms_of substation_plan p50)

say "switch operations: a tie closed and opened again, one client"
tie=$(psql_su -d grid -At -c "SELECT switch FROM rel_line_line WHERE valid_to IS NULL ORDER BY id
    LIMIT 1")
timed_operations switch_op "$GRID_URL" "$tie" 50
op_p50=$(ms_of switch_op p50)
op_max=$(ms_of switch_op max)

say "trouble calls: 1,000 spread over the city, then the outages they predict, one client"
# One call each from 1,000 low-voltage customers drawn evenly from the sample;
# calls from the same transformer area or line add up to predictions.
: >"$results/calls.txt"
awk -v n="$(wc -l <"$city/sample/customers_lv.txt")" 'NR % int(n / 1000 > 1 ? n / 1000 : 1) == 0' \
    "$city/sample/customers_lv.txt" | head -n 1000 | while read -r cu; do
    curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -X POST \
        -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d "{\"customer\": \"$cu\", \"text\": \"bench: no supply\"}" \
        "$CUST_URL/v1/trouble-calls" >>"$results/calls.txt"
done
only_status calls 201 "$results/calls.txt"
calls_n=$(wc -l <"$results/calls.txt")
calls_p50=$(ms_of calls p50)
timed_gets predicted "$CUST_URL/v1/outages/predicted" 3
predicted_p50=$(ms_of predicted p50)
predicted_groups=$(jq '.items | length' "$RUN_DIR/predicted.json")
predicted_calls=$(jq '[.items[].calls | length] | add // 0' "$RUN_DIR/predicted.json")

say "a whole substation's outage announced (list frozen, notices made), then its notices pulled"
# A fault, so that it may start now; each announcement freezes its own list.
: >"$results/announce.txt"
for i in 1 2 3; do
    curl -sS -o "$RUN_DIR/announce.json" -w '%{http_code} %{time_total}\n' -X POST \
        -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d "{\"kind\": \"fault\", \"elements\": [\"$sub\"], \"starts_at\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}" \
        "$CUST_URL/v1/outages" >>"$results/announce.txt"
done
only_status announce 201 "$results/announce.txt"
announce_p50=$(ms_of announce p50)
announce_max=$(ms_of announce max)
outage=$(jq -r .code "$RUN_DIR/announce.json")
outage_customers=$(jq -r .customers "$RUN_DIR/announce.json")
# The notifier's loop on the last one: a page of pending notices, then their report.
: >"$results/pull.txt"
: >"$results/ack.txt"
for ((page = 0; page < 100; page++)); do
    curl -sS -o "$RUN_DIR/pull.json" -w '%{http_code} %{time_total}\n' \
        -H "Authorization: Bearer $key" \
        "$CUST_URL/v1/notices?state=pending&outage=$outage&limit=1000" >>"$results/pull.txt"
    [[ $(jq '.items | length' "$RUN_DIR/pull.json") == 0 ]] && break
    jq -c '{items: [.items[] | {code, state: "sent", detail: "bench"}]}' "$RUN_DIR/pull.json" |
        curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -X POST \
            -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary @- \
            "$CUST_URL/v1/notices:ack" >>"$results/ack.txt"
done
only_status notices 200 "$results/pull.txt" "$results/ack.txt"
pull_pages=$(($(wc -l <"$results/pull.txt") - 1))
pull_p50=$(ms_of pull p50)
pull_max=$(ms_of pull max)
ack_p50=$(ms_of ack p50)
notices_sent=$(curl -sS -H "Authorization: Bearer $key" \
    "$CUST_URL/v1/outages/$outage/customers?limit=1000" | jq '[.items[].notices[] | select(.state == "sent")] | length')

say "integration report from datahub"
subscriptions ENABLE
# A marker on each platform: once datahub has both, it has everything written before them.
marker_ss=$(curl -sS -X POST "$GRID_URL/v1/substations" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d '{"name": "bench marker", "voltage_kv": 110}' | jq -r .code)
marker_ad=$(curl -sS -X POST "$CUST_URL/v1/addresses" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' \
    -d '{"province": "浙江省", "city": "杭州市", "district": "拱墅区"}' | jq -r .code)
t0=$(date +%s.%N)
until [[ $(psql_su -d datahub -At -c "SELECT (SELECT count(*) FROM substations WHERE code = '$marker_ss')
        + (SELECT count(*) FROM addresses WHERE code = '$marker_ad')") == 2 ]]; do
    if (($(echo "$(date +%s.%N) - $t0 > 600" | bc))); then
        echo "bench: datahub did not catch up within 600 s" >&2
        exit 1
    fi
    sleep 0.2
done
catch_up_s=$(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)")
psql_su -d datahub -c "VACUUM ANALYZE"
# The catch-up and the vacuum leave gigabytes of dirty pages; written out
# now, they do not compete with the report being timed.
psql_su -d datahub -c "CHECKPOINT"
timed_gets report_city "$CUST_URL/v1/reports/integration?limit=100" 3
timed_gets report_sub "$CUST_URL/v1/reports/integration?substation=$sub&limit=100" 2
report_ms=$(ms_of report_city p50)
report_sub_ms=$(ms_of report_sub max)
report_rate=$(curl -sS -H "Authorization: Bearer $key" "$CUST_URL/v1/reports/integration?limit=1" |
    jq -r '"\(.customers.complete) of \(.customers.active)"')
# The console's bars: every substation's rate at once, then one substation's lines.
timed_gets rates_subs "$CUST_URL/v1/reports/integration/rates?level=substation&limit=1000" 2
rates_subs_n=$(jq '.items | length' "$RUN_DIR/rates_subs.json")
timed_gets rates_lines "$CUST_URL/v1/reports/integration/rates?level=line&substation=$sub" 3
rates_lines_n=$(jq '.items | length' "$RUN_DIR/rates_lines.json")

say "search, asked of grid-svc: both platforms"
uri() { jq -rn --arg q "$1" '$q | @uri'; }
probe_cu=$(head -n 1 "$city/sample/customers_lv.txt")
curl -sS -o "$RUN_DIR/probe_cu.json" -H "Authorization: Bearer $key" "$CUST_URL/v1/customers/$probe_cu"
probe_account=$(jq -r .account_no "$RUN_DIR/probe_cu.json")
probe_two=$(jq -r '.name[0:2]' "$RUN_DIR/probe_cu.json")
probe_line=$(curl -sS -H "Authorization: Bearer $key" "$GRID_URL/v1/lines?limit=1" | jq -r '.items[0].name')
timed_gets search_code "$GRID_URL/v1/search?q=$probe_cu" 10
timed_gets search_account "$GRID_URL/v1/search?q=$(uri "$probe_account")" 10
timed_gets search_name "$GRID_URL/v1/search?q=$(uri "$probe_line")" 10
timed_gets search_two "$GRID_URL/v1/search?q=$(uri "$probe_two")" 5

rss_grid_2=$(rss_kib grid-svc)
rss_cust_2=$(rss_kib cust-svc)

say "readings, line loss and suspect links"
# The readings alone, as cityload sends every file (chunks, two requests at a time), with
# datahub paused as through the city's load; then a plain COPY of the same rows.
subscriptions DISABLE
readings_dir=$RUN_DIR/readings_only
mkdir -p "$readings_dir/cust"
ln -s "$city/cust/readings.ndjson" "$readings_dir/cust/readings.ndjson"
grep -P '\t/v1/readings:import\t' "$city/load-order.tsv" >"$readings_dir/load-order.tsv"
IMPORT_KEY=$key scripts/cityload.sh "$readings_dir" | tee "$results/readings_load.txt"
readings_rows=$(awk '/readings.ndjson/ { print $2 }' "$results/readings_load.txt")
readings_s=$(awk '/readings.ndjson/ { print $4 }' "$results/readings_load.txt")
readings_rate=$(echo "scale=0; $readings_rows / $readings_s" | bc)
psql_su -d cust <<SQL
\copy (SELECT meter, day, kwh, imported_by FROM readings) TO '$RUN_DIR/readings.copy'
CREATE TABLE bench_readings (LIKE readings INCLUDING ALL) PARTITION BY RANGE (day);
CREATE TABLE bench_readings_all PARTITION OF bench_readings FOR VALUES FROM ('2000-01-01') TO ('2100-01-01');
SQL
readings_copy_ms=$(psql_su -d cust -At <<SQL | awk '/^Time:/ { print $2 }'
\timing on
\copy bench_readings (meter, day, kwh, imported_by) FROM '$RUN_DIR/readings.copy'
SQL
)
psql_su -d cust -c "DROP TABLE bench_readings"
rm -f "$RUN_DIR/readings.copy"
readings_copy_rate=$(echo "scale=0; $readings_rows * 1000 / $readings_copy_ms" | bc)
subscriptions ENABLE
marker_ad=$(curl -sS -X POST "$CUST_URL/v1/addresses" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' \
    -d '{"province": "浙江省", "city": "杭州市", "district": "拱墅区"}' | jq -r .code)
t0=$(date +%s.%N)
until [[ $(psql_su -d datahub -At -c "SELECT count(*) FROM addresses WHERE code = '$marker_ad'") == 1 ]]; do
    if (($(echo "$(date +%s.%N) - $t0 > 1800" | bc))); then
        echo "bench: datahub did not receive the readings within 1800 s" >&2
        exit 1
    fi
    sleep 0.5
done
readings_catch_up_s=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
psql_su -d datahub -c "VACUUM ANALYZE readings" -c "CHECKPOINT"
loss_first=$(head -n 1 "$city/cust/readings.ndjson" | jq -r .day)
loss_last=$(tail -n 1 "$city/cust/readings.ndjson" | jq -r .day)
loss_day=$loss_last
loss_line=$(jq -r '.items[0].code' "$RUN_DIR/rates_lines.json")
timed_gets loss_city "$CUST_URL/v1/reports/line-loss?day=$loss_day&limit=100" 3
timed_gets loss_line "$CUST_URL/v1/reports/line-loss?day=$loss_day&line=$loss_line" 5
loss_areas=$(jq -r '"\(.totals.areas) areas, \(.totals.by_status.normal) normal, \(.totals.by_status.negative) negative, \(.totals.by_status.high) high"' "$RUN_DIR/loss_city.json")
loss_city_rate=$(jq -r .totals.loss_rate "$RUN_DIR/loss_city.json")
timed_gets suspects "$CUST_URL/v1/reports/suspect-links?from=$loss_first&to=$loss_last&limit=1000" 1
# Every page of the list, then scored against the truth citygen wrote.
jq -c '.items[]' "$RUN_DIR/suspects.json" >"$results/suspects.ndjson"
next=$(jq -r '.next // empty' "$RUN_DIR/suspects.json")
while [[ -n $next ]]; do
    curl -sS -H "Authorization: Bearer $key" -o "$RUN_DIR/suspects_page.json" \
        "$CUST_URL/v1/reports/suspect-links?from=$loss_first&to=$loss_last&limit=1000&after=$next"
    jq -c '.items[]' "$RUN_DIR/suspects_page.json" >>"$results/suspects.ndjson"
    next=$(jq -r '.next // empty' "$RUN_DIR/suspects_page.json")
done
read -r suspects_listed suspects_right suspects_right_area <<<"$(jq -rn \
    --slurpfile truth "$city/mislinks.ndjson" --slurpfile got "$results/suspects.ndjson" '
    ($truth | map({key: .customer, value: .}) | from_entries) as $t
    | [$got[] | select($t[.customer])] as $hits
    | "\($got | length) \($hits | length) \([$hits[] | select($t[.customer].true_transformer == .fits_transformer
        and $t[.customer].recorded_transformer == .linked_transformer)] | length)"')"
suspects_recall=$(echo "scale=3; $suspects_right / $mislinks" | bc)
suspects_areas=$(echo "scale=3; $suspects_right_area / ($suspects_right + ($suspects_right == 0))" | bc)
suspects_precision=$(echo "scale=3; $suspects_right / ($suspects_listed + ($suspects_listed == 0))" | bc)

say "report"
field() { awk -v n="$1" -v k="$2" '$1 == n { print $k }' "$results/wrk.txt"; }
# best PREFIX C...: the highest req/s of the runs PREFIX_cC, and that run's name.
best() {
    local prefix=$1 c r top=0 name=
    shift
    for c in "$@"; do
        r=$(field "${prefix}_c$c" 2)
        if [[ $(echo "$r > $top" | bc) == 1 ]]; then top=$r name=${prefix}_c$c; fi
    done
    echo "$top $name"
}
read -r best_read best_read_name <<<"$(best read 8 16 32)"
read -r best_bare _ <<<"$(best bare 8 16 32)"
read -r best_proxy best_proxy_name <<<"$(best proxy 16 32)"
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
import_rate=$(echo "scale=0; $import_rows / $import_s" | bc)
copy_rate=$(echo "scale=0; $import_rows / $copy_s" | bc)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
row() { # name description
    local n=$1
    printf '| %s | %s | %s | %s |\n' "$2" "$(field "$n" 2)" "$(field "$n" 3)" "$(field "$n" 4)"
}
{
    echo "# Benchmarks"
    echo
    echo "Written by \`make bench\` ($(date -u +%Y-%m-%d)); numbers from one run on this machine:"
    echo "$(nproc) cores ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo),"
    echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') ($PG_OPTS), everything on 127.0.0.1."
    echo "Load from wrk (2 threads, ${secs} s per run, random codes from the city's samples; each thread"
    echo "writes its requests for up to 20,000 of them before it starts and sends them in turn)."
    echo
    echo "## The city"
    echo
    echo "\`citygen --customers $customers\`: $rows_total rows (objects and links) in $gen_s s."
    echo
    echo '| File | Rows |'
    echo '|---|---|'
    awk -F'\t' '{ printf "| %s | %d |\n", $3, $4 }' "$city/load-order.tsv"
    echo
    echo "## Results"
    echo
    echo '| What | req/s | p50 ms | p99 ms |'
    echo '|---|---|---|---|'
    for c in 8 16 32; do row "read_c$c" "point read, cust-svc, $c connections"; done
    for c in 8 16 32; do row "bare_c$c" "the same read, bare server (\`bareread\`), $c connections"; done
    for c in 8 16 32; do
        printf '| pgbench, same SELECT, prepared, %s clients | %s | | |\n' "$c" \
            "$(awk -v n="pgbench_c$c" '$1 == n { printf "%.0f", $2 }' "$results/pgbench.txt")"
    done
    for c in 16 32; do row "proxy_c$c" "the read proxied through grid-svc, $c connections"; done
    row trace_c8 "trace up from an LV customer (8 levels), 8 connections"
    row trace_down_c8 "trace down from a line, grid-svc, 8 connections"
    row mixed_up_c8 "both at once: trace up on cust-svc, 8 connections ..."
    row mixed_down_c8 "... and trace down on grid-svc, 8 connections"
    row impact_c8 "outage impact of a line (~480 customers), 8 connections"
    echo "| one substation's whole list ($sub_customers customers), 1 client | | $sub_p50 | max $sub_max |"
    echo
    echo '| Ratio | Measured | Target |'
    echo '|---|---|---|'
    echo "| point read / pgbench (best of each) | $(ratio "$best_read" "$best_pg") ($best_read / $(printf '%.0f' "$best_pg")) | ≥ 0.5 |"
    echo "| point read / bare server (best of each) | $(ratio "$best_read" "$best_bare") ($best_read / $best_bare) | |"
    echo "| bare server / pgbench (best of each) | $(ratio "$best_bare" "$best_pg") | 0.55–0.60 quoted |"
    echo "| proxied / direct read (best of each) | $(ratio "$best_proxy" "$best_read") | ≥ 0.5 |"
    echo "| trace / point read throughput | $(ratio "$(field trace_c8 2)" "$best_read") | ≥ 0.10 |"
    echo "| trace p99 | $(field trace_c8 4) ms | ≤ 12 ms |"
    echo "| both at once / one side alone, cust-svc (trace up) | $(ratio "$(field mixed_up_c8 2)" "$(field trace_c8 2)") | ≥ 0.4 |"
    echo "| both at once / one side alone, grid-svc (trace down) | $(ratio "$(field mixed_down_c8 2)" "$(field trace_down_c8 2)") | ≥ 0.4 |"
    echo "| both at once: answers other than 2xx, socket errors | $(awk '$1 ~ /^mixed_/ { n += $5 } END { print n + 0 }' "$results/wrk.txt") | 0 |"
    echo "| outage impact of a line, p99 | $(field impact_c8 4) ms | ≤ 80 ms |"
    echo "| a substation's list ($sub_total customers), one client | $sub_p50 ms (p50 of 10) | ≤ 300 ms |"
    echo "| ... with restorable ($plan_switches switches, each restoring up to $plan_most) | $plan_p50 ms (p50 of 10) | ≤ 500 ms |"
    echo "| a switch operation, one client | $op_p50 ms p50, $op_max ms max of 50 | p99 ≤ 50 ms |"
    echo "| a substation's outage announced: $outage_customers customers frozen, as many notices made | $announce_p50 ms p50, $announce_max ms max of 3 | < 2 s |"
    echo "| its notices pulled in pages of 1,000 ($pull_pages pages, each reported sent; $notices_sent of the first page's customers read back sent) | pull $pull_p50 ms p50 ($pull_max max), report $ack_p50 ms p50 | |"
    echo "| a trouble call taken ($calls_n spread over the city), one client | $calls_p50 ms p50 | |"
    echo "| outages predicted from those calls ($predicted_groups groups holding $predicted_calls calls) | $predicted_p50 ms (p50 of 3) | |"
    echo "| import / plain COPY, customers | $(ratio "$import_rate" "$copy_rate") ($import_rate / $copy_rate rows/s) | ≥ 0.5 |"
    echo "| whole city through the import API | $load_s s ($load_rate rows/s) | < 180 s |"
    echo "| datahub catches up with the whole city (subscriptions paused during the load) | $catch_up_s s | |"
    echo "| integration report, whole city ($report_rate customers complete) | $report_ms ms (p50 of 3) | < 10 s |"
    echo "| integration report, one substation | $report_sub_ms ms (max of 2) | |"
    echo "| integration rates, every substation ($rates_subs_n) | $(ms_of rates_subs max) ms (max of 2) | |"
    echo "| integration rates, one substation's lines ($rates_lines_n) | $(ms_of rates_lines p50) ms (p50 of 3) | |"
    echo "| search, by code / account number / a line's name ($probe_line) / two characters ($probe_two) | $(ms_of search_code p50) / $(ms_of search_account p50) / $(ms_of search_name p50) / $(ms_of search_two p50) ms p50 | |"
    echo "| readings, $readings_days days of every meter ($readings_rows rows): import / plain COPY | $(ratio "$readings_rate" "$readings_copy_rate") ($readings_rate / $readings_copy_rate rows/s; $readings_s s) | ≥ 0.5 |"
    echo "| datahub receives the readings (paused during the import) | $readings_catch_up_s s | |"
    echo "| line loss of a day, whole city ($loss_areas; loss rate $loss_city_rate) | $(ms_of loss_city p50) ms (p50 of 3) | < 10 s |"
    echo "| line loss of a day, one line | $(ms_of loss_line p50) ms (p50 of 5) | < 200 ms |"
    echo "| suspect links, $readings_days days, whole city | $(ms_of suspects max) ms | < 60 s |"
    echo "| ... recall: of $mislinks planted mislinks, listed | $suspects_recall ($suspects_right) | ≥ 0.9 |"
    echo "| ... precision: of $suspects_listed listed, planted | $suspects_precision ($suspects_right) | ≥ 0.9 |"
    echo "| ... of those found, the area that really feeds them named | $suspects_areas ($suspects_right_area) | |"
    echo
    echo 'How: pgbench runs the very SELECT the service prepares (same columns, by primary key) as'
    echo '100 prepared scripts of one random code each; the bare server (`tools/bareread.c`) answers'
    echo 'the same read with nothing but the libraries the daemons use (a thread pool of 4 on epoll,'
    echo 'a connection per thread, the SELECT prepared, the row as a jansson object), each of its runs'
    echo "right after the daemon's with as many connections; the import rate is the customers file sent"
    echo 'through `POST /v1/customers:import` (two requests at a time, checks, history and all)'
    echo 'against `\copy` of the same rows into an identical table with the same indexes; the'
    echo "substation's list is \`GET /v1/outage-impact?codes=SS-...&limit=10000\` on grid-svc, whose"
    echo 'walk crosses to cust-svc once. Datahub shares these two cores; its subscriptions are paused'
    echo 'through the load and the read runs (their slots keep the changes), then it catches up with'
    echo 'the whole city and the report is asked.'
    echo
    echo "## Memory (RSS, MiB)"
    echo
    echo '| Daemon | started | after the load | after the read runs |'
    echo '|---|---|---|---|'
    for d in grid cust; do
        eval "a=\$rss_${d}_0 b=\$rss_${d}_1 c=\$rss_${d}_2"
        # shellcheck disable=SC2154
        printf '| %s-svc | %.1f | %.1f | %.1f |\n' "$d" "$(echo "$a / 1024" | bc -l)" \
            "$(echo "$b / 1024" | bc -l)" "$(echo "$c / 1024" | bc -l)"
    done
    echo
    echo "## Load, file by file"
    echo
    echo '```'
    cat "$results/load.txt"
    echo '```'
    echo
    echo "Runs: $best_read_name and $best_proxy_name were the best read runs. Outage total of the"
    echo "substation as answered: ${sub_total:-n/a}."
    echo
    echo "## Failures"
    echo
    if [[ -s $results/failures.txt ]]; then
        sed 's/^/- /' "$results/failures.txt"
    else
        echo "None: every run answered 2xx only, with no socket error."
    fi
} >"$out"
echo "wrote $out"
cat "$out"
[[ ! -s $results/failures.txt ]]
