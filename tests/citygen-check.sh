#!/usr/bin/env bash
# citygen-check.sh -- checks the city that citygen writes, without a stack: every line is one
# JSON object the create API would accept, codes are valid and unique, every reference names an
# object of the right type, the tree has its declared shape, switches and ties are where the
# operating arrangement needs them, and runs repeat byte for byte.
#
#   tests/citygen-check.sh BUILD_DIR          e.g. tests/citygen-check.sh build
#
# Needs jq. Prints TAP ("ok N - ...", "not ok N - ...", then "1..N"); exits 0 only if every
# check passed.
set -uo pipefail

usage() {
    echo "usage: tests/citygen-check.sh BUILD_DIR" >&2
    exit 2
}
(($# == 1)) || usage
if [[ ! -d $1 ]]; then
    echo "tests/citygen-check.sh: $1: no such directory (build it first: make)" >&2
    exit 2
fi
bin_dir=$(cd "$1" && pwd)
citygen=$bin_dir/citygen
bizcode=$bin_dir/bizcode
command -v jq >/dev/null || { echo "tests/citygen-check.sh: jq is needed" >&2; exit 2; }

customers=2000
big_customers=50000 # enough for five substations, to see full ones
work=$(mktemp -d /tmp/citygen-check.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
city=$work/a

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
}
# check DESCRIPTION [MORE-DESCRIPTION] FUNCTION: ok when FUNCTION succeeds; its output, if
# any, as diagnostics. A long description comes in two words that are joined by a space.
check() {
    local what=$1 out
    shift
    if (($# == 2)); then
        what+=" $1"
        shift
    fi
    if out=$("$@" 2>&1); then
        ok "$what"
    else
        not_ok "$what"
        [[ -z $out ]] || printf '%s\n' "$out" | head -n 20 | sed 's/^/# /'
    fi
}

# ---- the run ---------------------------------------------------------------------------------

if ! "$citygen" --customers "$customers" --out "$city" >"$work/run.out" 2>&1; then
    not_ok "citygen --customers $customers exits 0"
    sed 's/^/# /' "$work/run.out"
    echo "1..$n"
    exit 1
fi
ok "citygen --customers $customers exits 0"

cd "$city" || exit 1
mapfile -t collections < <(find grid cust -maxdepth 1 -name '*.ndjson' | sort)
mapfile -t relations < <(find grid/rel cust/rel -name '*.ndjson' | sort)
files=("${collections[@]}" "${relations[@]}")

# ---- every line one JSON object; load order and summary agree with the files ------------------

# One jq for all files (its start-up costs more than the data): a line that is not JSON
# stops it, and counting objects per file against lines catches two objects on one line.
lines_are_objects() {
    local objects lines
    objects=$(jq -r 'select(type == "object") | input_filename' "${files[@]}" | uniq -c |
        awk '{ print $2, $1 }') || { echo "not JSON"; return 1; }
    lines=$(wc -l "${files[@]}" | awk '$2 != "total" { print $2, $1 }')
    [[ $objects == "$lines" ]] || { diff <(echo "$lines") <(echo "$objects"); return 1; }
}
check "every line of the ${#files[@]} NDJSON files is one JSON object" lines_are_objects

load_order_matches() {
    local expected_order=(
        grid/substations.ndjson grid/lines.ndjson grid/transformers.ndjson grid/poles.ndjson
        grid/access_points.ndjson grid/switches.ndjson cust/customers.ndjson cust/supply_points.ndjson
        cust/metering_points.ndjson cust/meter_boxes.ndjson cust/meters.ndjson
        cust/transformer_billings.ndjson cust/line_billings.ndjson cust/backup_generators.ndjson
        cust/power_plants.ndjson cust/generating_units.ndjson cust/charging_piles.ndjson
        grid/rel/substation-line.ndjson grid/rel/line-line.ndjson grid/rel/line-transformer.ndjson
        grid/rel/accesspoint-transformer.ndjson grid/rel/accesspoint-meterbox.ndjson
        grid/rel/equipment-supplypoint.ndjson grid/rel/transformer-customer.ndjson
        cust/rel/meter-meterbox.ndjson cust/rel/meter-meteringpoint.ndjson
        cust/rel/supplypoint-meteringpoint.ndjson)
    local got=() svc path file rows
    local -A summary=()
    while IFS=$'\t' read -r file rows; do
        summary[$file]=$rows
    done < <(jq -r '.counts | to_entries[] | "\(.key)\t\(.value)"' city.json)
    while IFS=$'\t' read -r svc path file rows; do
        got+=("$file")
        [[ -f $file ]] || { echo "$file: listed but missing"; return 1; }
        [[ $rows == "$(wc -l <"$file")" ]] || { echo "$file: listed with $rows rows"; return 1; }
        [[ $file == "$svc"/* ]] || { echo "$file: listed for $svc"; return 1; }
        [[ $path == /v1/*:import ]] || { echo "$file: import path $path"; return 1; }
        [[ ${summary[$file]:-} == "$rows" ]] || { echo "$file: city.json disagrees"; return 1; }
    done <load-order.tsv
    [[ ${got[*]} == "${expected_order[*]}" ]] || { echo "order: ${got[*]}"; return 1; }
    ((${#got[@]} == ${#files[@]} && ${#summary[@]} == ${#files[@]})) ||
        { echo "${#files[@]} files, ${#got[@]} listed, ${#summary[@]} in city.json"; return 1; }
    if ! grep -q $'^grid\t/v1/access-points:import\t' load-order.tsv ||
        ! grep -q $'^cust\t/v1/relations/meter-meterbox:import\t' load-order.tsv; then
        echo "import paths do not use the registry's collection names"
        return 1
    fi
    [[ $(jq '.customers' city.json) == "$customers" && $(jq '.seed' city.json) == 1 ]]
}
check "load-order.tsv lists every file once, in dependency order, with its rows; city.json agrees" \
    load_order_matches

# ---- codes -----------------------------------------------------------------------------------

# file -> the prefix of its codes
declare -A prefix_of=(
    [grid/substations.ndjson]=SS [grid/lines.ndjson]=LN [grid/transformers.ndjson]=TR
    [grid/poles.ndjson]=PL [grid/access_points.ndjson]=AP [grid/switches.ndjson]=SW
    [cust/customers.ndjson]=CU
    [cust/supply_points.ndjson]=SP [cust/metering_points.ndjson]=MP
    [cust/meter_boxes.ndjson]=MB [cust/meters.ndjson]=MT [cust/transformer_billings.ndjson]=TB
    [cust/line_billings.ndjson]=LB [cust/backup_generators.ndjson]=BG
    [cust/power_plants.ndjson]=PP [cust/generating_units.ndjson]=GU
    [cust/charging_piles.ndjson]=CP)

jq -r '"\(.code)\t\(input_filename)"' "${collections[@]}" >"$work/codes.tsv"
cut -f1 "$work/codes.tsv" >"$work/codes"

codes_match_files() {
    local f
    for f in "${collections[@]}"; do
        [[ -n ${prefix_of[$f]:-} ]] || { echo "$f: unexpected file"; return 1; }
    done
    for f in "${!prefix_of[@]}"; do
        printf '%s\t%s\n' "${prefix_of[$f]}" "$f"
    done | awk -F'\t' 'NR == FNR { p[$2] = $1; next }
        substr($1, 1, 3) != p[$2] "-" { print $2 ": " $1; bad++ }
        END { exit bad > 0 }' - "$work/codes.tsv"
}
check "every object has a code of its file's type" codes_match_files

codes_unique() {
    local dups
    dups=$(sort "$work/codes" | uniq -d | head -n 5)
    [[ -z $dups ]] || { echo "$dups"; return 1; }
}
check "codes are unique across all files ($(wc -l <"$work/codes") codes)" codes_unique

codes_valid() {
    # bizcode prints the canonical form: a valid code comes back unchanged.
    xargs -n 2000 "$bizcode" check <"$work/codes" | cut -d' ' -f1 >"$work/checked" ||
        { echo "bizcode check failed"; return 1; }
    cmp -s "$work/checked" "$work/codes" || { echo "bizcode check disagrees"; return 1; }
}
check "every code passes bizcode check" codes_valid

codes_sort_by_creation() {
    awk -F'\t' '$2 in last && $1 <= last[$2] { print $2 ": " $1 " after " last[$2]; bad++ }
        { last[$2] = $1 } END { exit bad > 0 }' "$work/codes.tsv"
}
check "within each file, codes sort in creation order" codes_sort_by_creation

# ---- references ------------------------------------------------------------------------------

# Every reference as "expected-prefix TAB code TAB where".
{
    jq -r '{customer: "CU", line: "LN", pole: "PL", plant: "PP", metering_point: "MP",
            transformer: "TR"} as $want
           | to_entries[] | select($want[.key])
           | "\($want[.key])\t\(.value)\t\(input_filename) \(.key)"' "${collections[@]}"
    jq -r '{"substation-line": ["SS", "LN"], "line-line": ["LN", "LN"], "line-transformer": ["LN", "TR"],
            "accesspoint-transformer": ["AP", "TR"], "accesspoint-meterbox": ["AP", "MB"],
            "equipment-supplypoint": ["TR", "SP"], "transformer-customer": ["TR", "CU"],
            "meter-meterbox": ["MT", "MB"], "meter-meteringpoint": ["MT", "MP"],
            "supplypoint-meteringpoint": ["SP", "MP"]} as $ends
           | input_filename as $f
           | ($ends[$f | sub(".*/"; "") | sub("\\.ndjson$"; "")] // ["??", "??"]) as $e
           | "\($e[0])\t\(.from)\t\($f) from", "\($e[1])\t\(.to)\t\($f) to",
             (select(has("switch")) | "SW\t\(.switch)\t\($f) switch")' "${relations[@]}"
} >"$work/refs.tsv"

refs_resolve() {
    awk -F'\t' 'NR == FNR { have[$1] = 1; next }
        !have[$2] || substr($2, 1, 3) != $1 "-" { print $3 ": " $2 " (want " $1 ")"; bad++ }
        END { exit bad > 0 }' "$work/codes" "$work/refs.tsv"
}
check "every reference ($(wc -l <"$work/refs.tsv")) names an existing object of the right type" \
    refs_resolve

# The end rules of the declarations: kind = public / dedicated where one is required.
end_rules_hold() {
    jq -r 'select(.kind) | "\(.code)\t\(.kind)"' grid/lines.ndjson grid/transformers.ndjson \
        >"$work/kinds.tsv"
    {
        jq -r '"public\t\(.to)\taccesspoint-transformer to"' grid/rel/accesspoint-transformer.ndjson
        jq -r '"dedicated\t\(.from)\ttransformer-customer from"' \
            grid/rel/transformer-customer.ndjson
        jq -r '"dedicated\t\(.transformer)\ttransformer_billings"' cust/transformer_billings.ndjson
        jq -r '"dedicated\t\(.line)\tline_billings"' cust/line_billings.ndjson
    } | awk -F'\t' 'NR == FNR { kind[$1] = $2; next }
        kind[$2] != $1 { print $3 ": " $2 " is " kind[$2] ", want " $1; bad++ }
        END { exit bad > 0 }' "$work/kinds.tsv" -
}
check "public and dedicated ends are what the relations and billings require" end_rules_hold

# ---- values fit the declarations ---------------------------------------------------------------

# Per file: fields required, fields allowed, enum values (grid-svc/ and cust-svc/collections.c).
# The table is JSON handed to jq once: as a jq literal it would be rebuilt for every line.
declarations='{
  "grid/substations.ndjson": {"req": ["name", "voltage_kv"], "opt": ["location"]},
  "grid/lines.ndjson": {"req": ["name", "kind", "voltage_kv"], "opt": ["length_km"],
                        "enum": {"kind": ["public", "dedicated"]}},
  "grid/transformers.ndjson": {"req": ["name", "kind", "capacity_kva", "voltage_kv"],
                               "opt": ["secondary_voltage_kv", "location"],
                               "enum": {"kind": ["public", "dedicated"]}},
  "grid/poles.ndjson": {"req": ["name", "kind"], "opt": ["line"], "enum": {"kind": ["pole"]}},
  "grid/access_points.ndjson": {"req": ["name"], "opt": ["pole", "location"]},
  "grid/switches.ndjson": {"req": ["name", "kind", "normal_open"], "opt": ["location"],
                           "enum": {"kind": ["breaker", "load_switch"]}},
  "cust/customers.ndjson": {"req": ["name", "category"],
                            "opt": ["phone", "account_no", "contract_capacity_kva"],
                            "enum": {"category": ["hv", "lv_resident", "lv_nonresident"]}},
  "cust/supply_points.ndjson": {"req": ["customer"],
                                "opt": ["name", "voltage_kv", "mode", "capacity_kva"],
                                "enum": {"mode": ["main"]}},
  "cust/metering_points.ndjson": {"req": ["customer"], "opt": ["name", "purpose"],
                                  "enum": {"purpose": ["billing"]}},
  "cust/meter_boxes.ndjson": {"req": [], "opt": ["name", "asset_no", "rows", "cols"]},
  "cust/meters.ndjson": {"req": ["asset_no"], "opt": ["model", "phase", "manufacturer"],
                         "enum": {"phase": ["single", "three"]}},
  "cust/transformer_billings.ndjson": {"req": ["customer", "transformer"],
                                       "opt": ["tariff", "demand_charge"],
                                       "enum": {"demand_charge": ["capacity"]}},
  "cust/line_billings.ndjson": {"req": ["customer", "line"], "opt": ["tariff", "demand_charge"],
                                "enum": {"demand_charge": ["capacity"]}},
  "cust/backup_generators.ndjson": {"req": ["name", "customer", "kind"], "opt": ["capacity_kw"],
                                    "enum": {"kind": ["diesel"]}},
  "cust/power_plants.ndjson": {"req": ["name", "kind"], "opt": ["capacity_kw", "location"],
                               "enum": {"kind": ["pv", "wind", "hydro", "thermal", "biomass",
                                                 "storage", "other"]}},
  "cust/generating_units.ndjson": {"req": ["plant"], "opt": ["name", "capacity_kw"]},
  "cust/charging_piles.ndjson": {"req": ["kind"],
                                 "opt": ["name", "customer", "metering_point", "power_kw"],
                                 "enum": {"kind": ["ac", "dc"]}},
  "grid/rel/substation-line.ndjson": {"req": ["from", "to", "role", "switch"], "opt": [],
                                      "enum": {"role": ["source"]}},
  "grid/rel/line-line.ndjson": {"req": ["from", "to", "switch"], "opt": []}
}'

declarations_hold() {
    local out
    out=$(set -o pipefail; jq -r --argjson decl "$declarations" '
            def loc: type == "object" and (keys == ["lat", "lon"])
                and .lon >= 119.9 and .lon <= 120.5 and .lat >= 30.0 and .lat <= 30.5;
            . as $o | input_filename as $f
            | ($decl[$f] // {req: ["from", "to"], opt: []}) as $d
            | [ (($d.req + $d.opt + (if ($f | contains("/rel/")) then [] else ["code"] end))
                  as $allowed | keys[] | select(. as $k | $allowed | index($k) | not)
                  | "unknown field \(.)"),
                ($d.req[] | select(. as $k | $o | has($k) | not) | "missing \(.)"),
                (($d.enum // {}) | to_entries[] | .key as $k | select($o | has($k))
                  | select(.value | index($o[$k]) | not) | "bad \($k)"),
                (to_entries[] | select(.value | type == "string")
                  | select(.value | utf8bytelength > 200) | "\(.key) too long"),
                (select(has("location")) | .location | select(loc | not)
                  | "location outside Hangzhou"),
                (select(has("voltage_kv")) | select(.voltage_kv < 0.1 or .voltage_kv > 1000)
                  | "voltage_kv"),
                (.rows, .cols | select(. != null) | select(type != "number" or . != floor
                  or . < 1 or . > 20) | "rows/cols"),
                (.phone, .account_no, .asset_no | select(. != null) | select(utf8bytelength > 40)
                  | "over 40 bytes"),
                (.tariff, .model | select(. != null) | select(utf8bytelength > 60)
                  | "over 60 bytes")
              ]
            | select(length > 0) | "\($f): \(.[0]): \($o | tostring)"' "${files[@]}" | head -n 3) ||
        { echo "${out:-jq failed}"; return 1; }
    [[ -z $out ]] || { echo "$out"; return 1; }
}
check "declared fields only, required ones present, enums valid, text within max_len," \
    "locations in Hangzhou" declarations_hold

location_decimals() {
    ! grep -ohE '"l(on|at)":[0-9.]+' grid/*.ndjson cust/*.ndjson | grep -vE ':[0-9]+\.[0-9]{6}$'
}
check "locations have 6 decimals" location_decimals

unique_numbers() {
    local dups
    dups=$({
        jq -r '"account " + .account_no' cust/customers.ndjson
        jq -r '"meter " + .asset_no' cust/meters.ndjson
        jq -r '"box " + .asset_no' cust/meter_boxes.ndjson
    } | sort | uniq -d | head -n 3)
    [[ -z $dups ]] || { echo "$dups"; return 1; }
}
check "account numbers and asset numbers are unique" unique_numbers

utf8_only() {
    cat "${files[@]}" | iconv -f UTF-8 -t UTF-8 >/dev/null
}
check "all files are valid UTF-8" utf8_only

# ---- the shape of the city -------------------------------------------------------------------

hv_share() {
    local hv total
    hv=$(jq -s 'map(select(.category == "hv")) | length' cust/customers.ndjson)
    total=$(wc -l <cust/customers.ndjson)
    ((total == customers && hv >= customers / 100 - 1 && hv <= customers / 100 + 1)) ||
        { echo "$hv hv of $total"; return 1; }
}
check "$customers customers, 1% (±1) of them high voltage" hv_share

residents_share() {
    jq -s 'map(select(.category != "hv")) | (map(select(.category == "lv_resident")) | length)
           / length | . >= 0.89 and . <= 0.91' cust/customers.ndjson | grep -qx true
}
check "90% of the low-voltage customers are residents" residents_share

one_per_customer() {
    jq -n --slurpfile cu cust/customers.ndjson --slurpfile mp cust/metering_points.ndjson \
        --slurpfile mm cust/rel/meter-meteringpoint.ndjson --slurpfile mt cust/meters.ndjson '
        ($cu | map(.code) | sort) as $customers
        | ($mp | map(.customer) | sort) == $customers
          and ($mm | map(.to) | unique | length) == ($mp | length)
          and ($mm | map(.from) | unique | length) == ($mt | length)
          and ($mm | length) == ($mt | length)' | grep -qx true
}
check "one metering point per customer, one meter per metering point" one_per_customer

meters_per_box() {
    # Every box is full but the last one built; HV meters have no box.
    jq -n --slurpfile mm cust/rel/meter-meterbox.ndjson --slurpfile mb cust/meter_boxes.ndjson \
        --slurpfile cu cust/customers.ndjson '
        ($mm | group_by(.to) | map(length)) as $per_box
        | ($per_box | length) == ($mb | length)
          and ($per_box | map(select(. != 4)) | length) <= 1
          and ($per_box | max) == 4
          and ($mm | length) == ($cu | map(select(.category != "hv")) | length)' | grep -qx true
}
check "4 meters per meter box, one meter per low-voltage customer" meters_per_box

tree_shape() {
    jq -n --slurpfile apmb grid/rel/accesspoint-meterbox.ndjson \
        --slurpfile aptr grid/rel/accesspoint-transformer.ndjson \
        --slurpfile lntr grid/rel/line-transformer.ndjson --slurpfile tr grid/transformers.ndjson \
        --slurpfile ap grid/access_points.ndjson --slurpfile pl grid/poles.ndjson '
        ($tr | map(select(.kind == "public") | .code)) as $public
        | def sizes(rel): rel | group_by(.) | map(length);
          def full_but_last(s; n): (s | map(select(. != n)) | length) <= 1 and (s | max) <= n;
          sizes($apmb | map(.from)) as $boxes
        | sizes($aptr | map(.to)) as $aps
        | sizes($lntr | map(select(.to as $t | $public | index($t))) | map(.from)) as $trs
        | ($boxes | map(select(. < 2 or . > 3)) | length) <= 1
          and ($boxes | max) <= 3
          and full_but_last($aps; 4) and full_but_last($trs; 12)
          and ($ap | length) == ($pl | length)
          and ($ap | map(.pole) | unique | length) == ($pl | length)' | grep -qx true
}
check "2-3 boxes per access point, 4 access points per public transformer," \
    "12 per line, a pole each" tree_shape

hv_supply() {
    jq -n --slurpfile cu cust/customers.ndjson \
        --slurpfile trcu grid/rel/transformer-customer.ndjson \
        --slurpfile sp cust/supply_points.ndjson --slurpfile tb cust/transformer_billings.ndjson \
        --slurpfile lb cust/line_billings.ndjson --slurpfile bg cust/backup_generators.ndjson \
        --slurpfile eqsp grid/rel/equipment-supplypoint.ndjson \
        --slurpfile spmp cust/rel/supplypoint-meteringpoint.ndjson '
        ($cu | map(select(.category == "hv") | .code) | sort) as $hv
        | ($hv | length) as $n
        | ($trcu | map(.to) | sort) == $hv
          and ($sp | map(.customer) | sort) == $hv
          and ($tb | map(.customer) | sort) == $hv
          and ($eqsp | length) == $n and ($spmp | length) == $n
          and ($lb | length) == (($n + 9) / 10 | floor)
          and ($bg | length) == (($n + 1) / 2 | floor)' | grep -qx true
}
check "each HV customer: dedicated transformer, supply point, billing;" \
    "every 10th a dedicated line" hv_supply

piles_and_plants() {
    jq -n --slurpfile cp cust/charging_piles.ndjson --slurpfile cu cust/customers.ndjson \
        --slurpfile mp cust/metering_points.ndjson --slurpfile pp cust/power_plants.ndjson \
        --slurpfile gu cust/generating_units.ndjson --argjson n "$customers" '
        ($cu | map(select(.category != "hv")) | map(.code)) as $lv
        | ($mp | map({key: .code, value: .customer}) | from_entries) as $owner
        | ($cp | length) == ($n / 200 | floor)
          and all($cp[]; (.customer as $c | $lv | index($c))
                  and $owner[.metering_point] == .customer)
          and ($pp | length) == ([1, ($n / 5000 | floor)] | max)
          and ($gu | length) == 2 * ($pp | length)' | grep -qx true
}
check "a charging pile per 200 customers on an LV customer's own metering point;" \
    "plants with 2 units" piles_and_plants

samples_exist() {
    local f
    for f in customers_lv customers_hv lines substations meter_boxes access_points tie_switches; do
        [[ -s sample/$f.txt ]] || { echo "sample/$f.txt empty"; return 1; }
    done
    awk 'BEGIN { want["customers_lv"] = want["customers_hv"] = "CU"; want["lines"] = "LN"
                 want["substations"] = "SS"; want["meter_boxes"] = "MB"
                 want["access_points"] = "AP"; want["tie_switches"] = "SW" }
        NR == FNR { have[$1] = 1; next }
        { f = FILENAME; sub(/.*\//, "", f); sub(/\.txt$/, "", f) }
        !have[$1] || substr($1, 1, 2) != want[f] { print FILENAME ": " $1; bad++ }
        END { exit bad > 0 }' "$work/codes" sample/*.txt || return 1
    [[ $(wc -l <sample/substations.txt) == $(wc -l <grid/substations.ndjson) ]]
}
check "sample files hold existing codes of the right type" samples_exist

# ---- the operating arrangement: switches and ties ----------------------------------------------

# Every switch on exactly one link: a breaker, normally closed, on each source link; a load
# switch, normally open, on each tie; and each line has one source link, so in the normal
# arrangement every line is fed from one substation.
switches_on_links() {
    jq -n --slurpfile sw grid/switches.ndjson --slurpfile ssln grid/rel/substation-line.ndjson \
        --slurpfile lnln grid/rel/line-line.ndjson --slurpfile ln grid/lines.ndjson '
        ($sw | map({key: .code, value: .}) | from_entries) as $by
        | (($ssln | map(.switch)) + ($lnln | map(.switch))) as $used
        | all($ssln[]; $by[.switch].kind == "breaker" and $by[.switch].normal_open == false)
          and all($lnln[]; $by[.switch].kind == "load_switch" and $by[.switch].normal_open == true
                  and .from != .to)
          and ($used | sort) == ($sw | map(.code) | sort)
          and ($used | unique | length) == ($used | length)
          and ($ssln | map(.to) | sort) == ($ln | map(.code) | sort)
          and ($lnln | length) > 0' | grep -qx true
}
check "a normally closed breaker on every source link, a normally open load switch on every tie," \
    "each switch on one link, each line on one source" switches_on_links

# ---- a bigger city: full substations -----------------------------------------------------------

lines_per_substation() {
    "$citygen" --customers "$big_customers" --out "$work/big" || return 1
    jq -n --slurpfile ss "$work/big/grid/substations.ndjson" \
        --slurpfile ln "$work/big/grid/lines.ndjson" \
        --slurpfile ssln "$work/big/grid/rel/substation-line.ndjson" '
        ($ln | map(select(.kind == "public") | .code)) as $public
        | ($ssln | map(select(.to as $t | $public | index($t))) | group_by(.from) | map(length))
          as $per
        | ($ss | length) >= 3 and ($per | length) == ($ss | length)
          and ($per[:-1] | all(. == 20)) and $per[-1] <= 20' | grep -qx true
}
check "every full substation feeds 20 public lines (--customers $big_customers)" \
    lines_per_substation

# Line k of each substation is tied to line k of the substation one cell before it in its row
# (or above it, at the start of a row); the first substation's lines are tied in pairs, 2 to 1,
# 4 to 3... Public lines only, and each line tied up once at most.
ties_between_neighbours() {
    local big=$work/big
    [[ -f $big/city.json ]] || { echo "no city of $big_customers customers"; return 1; }
    jq -n --slurpfile ss "$big/grid/substations.ndjson" --slurpfile ln "$big/grid/lines.ndjson" \
        --slurpfile ssln "$big/grid/rel/substation-line.ndjson" \
        --slurpfile lnln "$big/grid/rel/line-line.ndjson" '
        ($ssln | map({key: .to, value: .from}) | from_entries) as $source
        | ($ln | map({key: .code, value: .}) | from_entries) as $line
        | ($ss | map({key: .code, value: .location}) | from_entries) as $at
        | ($ss | map(.location.lon) | unique) as $lons | ($ss | map(.location.lat) | unique) as $lats
        | $ss[0].code as $first
        | def number($l): $line[$l].name | capture("-(?<n>[0-9]+)线$").n | tonumber;
          def step($a; $b): (($lons | index($at[$a].lon)) - ($lons | index($at[$b].lon))) as $x
            | (($lats | index($at[$a].lat)) - ($lats | index($at[$b].lat))) as $y
            | ($x == 1 and $y == 0) or ($x == 0 and $y == 1);
          ($ln | map(select(.kind == "public" and $source[.code] != $first)) | length) as $later
        | ($ln | map(select(.kind == "public" and $source[.code] == $first)) | length) as $firsts
        | all($lnln[]; $source[.from] as $a | $source[.to] as $b
              | $line[.from].kind == "public" and $line[.to].kind == "public"
              and if $a == $b then $a == $first and number(.to) % 2 == 0
                                  and number(.from) == number(.to) - 1
                  else number(.from) == number(.to) and step($b; $a) end)
          and ($lnln | map(.to) | unique | length) == ($lnln | length)
          and ($lnln | length) == $later + ($firsts / 2 | floor)
          and ($ss | length) >= 5' | grep -qx true
}
check "ties join line k of neighbouring substations (the first one's in pairs);" \
    "every public line tied up once but the first substation's odd ones" ties_between_neighbours

# ---- planted faults (--faults) -----------------------------------------------------------------

faults=3 # as many as a city of $customers has room for: it has 3 full lines at least
faults_are_counted() {
    "$citygen" --customers "$customers" --faults "$faults" --out "$work/f" || return 1
    jq -s --argjson n "$faults" 'group_by(.kind) | map(length) | length == 12 and all(. == $n)' \
        "$work/f/faults.ndjson" | grep -qx true || { echo "not $faults of each of 12 kinds"; return 1; }
    [[ $(jq .faults "$work/f/city.json") == "$faults" ]]
}
check "--faults $faults lists $faults faults of each of the 12 kinds in faults.ndjson" \
    faults_are_counted

# Each fault is what its kind says, in the files: the link left out, the code that names
# nothing only in legacy SQL, the customer to retire still linked from its transformer.
faults_are_real() {
    local bad
    cd "$work/f" || return 1
    cat grid/*.ndjson cust/*.ndjson | jq -c '{code}' >"$work/f.codes"
    bad=$(jq -rn --slurpfile f faults.ndjson --slurpfile all "$work/f.codes" \
        --slurpfile mp cust/metering_points.ndjson --slurpfile sp cust/supply_points.ndjson \
        --slurpfile mmp cust/rel/meter-meteringpoint.ndjson --slurpfile mmb cust/rel/meter-meterbox.ndjson \
        --slurpfile apmb grid/rel/accesspoint-meterbox.ndjson \
        --slurpfile aptr grid/rel/accesspoint-transformer.ndjson \
        --slurpfile lntr grid/rel/line-transformer.ndjson --slurpfile ssln grid/rel/substation-line.ndjson \
        --slurpfile eqsp grid/rel/equipment-supplypoint.ndjson \
        --slurpfile trcu grid/rel/transformer-customer.ndjson '
        def set(a; f): reduce a[] as $o ({}; .[$o | f] = true);
        set($all; .code) as $exists
        | def without(s): $exists[.code] and (s[.code] | not);
          $f[] | select(
            if .kind == "customer_without_metering_point" then without(set($mp; .customer))
            elif .kind == "customer_without_supply_point" then without(set($sp; .customer))
            elif .kind == "metering_point_without_meter" then without(set($mmp; .to))
            elif .kind == "meter_without_box" then without(set($mmb; .from))
            elif .kind == "box_without_access_point" then without(set($apmb; .to))
            elif .kind == "access_point_without_transformer_area" then without(set($aptr; .from))
            elif .kind == "transformer_without_line" then without(set($lntr; .to))
            elif .kind == "line_without_substation" then without(set($ssln; .to))
            elif .kind == "supply_point_without_equipment" then without(set($eqsp; .to))
            elif .kind == "dedicated_transformer_without_customer" then without(set($trcu; .from))
            elif .kind == "dangling_code" then $exists[.code] | not
            elif .kind == "retired_but_linked" then set($trcu; .to)[.code] == true
            else false end | not) | tostring') || { echo "jq failed"; return 1; }
    [[ -z $bad ]] || { echo "$bad" | head -n 3; return 1; }
    # Codes that name nothing are loaded by SQL; the customers to retire are listed.
    jq -r 'select(.kind == "dangling_code") | .code' faults.ndjson | while read -r code; do
        grep -q "'$code'" legacy/grid.sql legacy/cust.sql || { echo "$code: not in legacy/*.sql"; return 1; }
    done || return 1
    diff <(jq -r 'select(.kind == "retired_but_linked") | "customers\t\(.code)"' faults.ndjson | sort) \
        <(sort retire.tsv)
}
check "each planted fault is in the files as its kind says" faults_are_real

# A line planted without its substation has no breaker and no tie: nothing may feed it.
unfed_lines_untied() {
    local bad
    bad=$(jq -rn --slurpfile f "$work/f/faults.ndjson" --slurpfile lnln "$work/f/grid/rel/line-line.ndjson" '
        ($lnln | map(.from, .to)) as $tied
        | $f[] | select(.kind == "line_without_substation") | .code | select(. as $c | $tied | index($c))') ||
        { echo "jq failed"; return 1; }
    [[ -z $bad ]] || { echo "$bad" | head -n 3; return 1; }
    [[ $(wc -l <"$work/f/grid/switches.ndjson") == \
        $(($(wc -l <"$work/f/grid/rel/substation-line.ndjson") + $(wc -l <"$work/f/grid/rel/line-line.ndjson"))) ]]
}
check "a line planted without its substation is tied to nothing" unfed_lines_untied

no_faults_no_change() {
    "$citygen" --customers "$customers" --faults 0 --out "$work/f0" && diff -r "$city" "$work/f0"
}
check "--faults 0 writes the very city of no --faults" no_faults_no_change

# ---- readings and mislinks (--readings, --mislinks) ----------------------------------------------

days=7
mislinks=5
readings_city=$work/r
"$citygen" --customers "$customers" --readings "$days" --mislinks "$mislinks" --out "$readings_city" \
    >"$work/r.out" 2>&1
readings_run=$?

readings_listed_last() {
    ((readings_run == 0)) || { cat "$work/r.out"; return 1; }
    cd "$readings_city" || return 1
    local svc path file rows
    while IFS=$'\t' read -r svc path file rows; do
        [[ $rows == "$(wc -l <"$file")" ]] || { echo "$file: listed with $rows rows"; return 1; }
        [[ $(jq ".counts[\"$file\"]" city.json) == "$rows" ]] || { echo "$file: city.json"; return 1; }
    done <load-order.tsv
    [[ $(tail -n 1 load-order.tsv) == $'cust\t/v1/readings:import\tcust/readings.ndjson\t'* ]] ||
        { echo "readings not last"; return 1; }
    # The check points' links with grid-svc's links, after every object they name.
    grep -n $'^grid\t/v1/relations/equipment-meteringpoint:import\t' load-order.tsv |
        cut -d: -f1 | awk -v sp="$(grep -n 'equipment-supplypoint' load-order.tsv | cut -d: -f1)" \
        -v mb="$(grep -n 'meter-meterbox' load-order.tsv | cut -d: -f1)" '$1 == sp + 1 && $1 < mb { ok = 1 }
        END { exit !ok }' || { echo "equipment-meteringpoint out of place"; return 1; }
    jq -n '[inputs | type == "object"] | all' cust/readings.ndjson \
        grid/rel/equipment-meteringpoint.ndjson mislinks.ndjson | grep -qx true ||
        { echo "not JSON objects"; return 1; }
    [[ $(jq .mislinks city.json) == "$mislinks" ]]
}
check "--readings $days --mislinks $mislinks: every file listed with its rows, readings loaded last" \
    readings_listed_last

# TAB-separated tables of the readings city, for the checks below (awk: 14,000 readings).
if ((readings_run == 0)); then
    (
        cd "$readings_city" || exit 1
        jq -r '"\(.code)\t\(.customer // "")\t\(.purpose)\t\(.name)"' cust/metering_points.ndjson >"$work/r.mp"
        jq -r '"\(.code)\t\(.kind)\t\(.name)"' grid/transformers.ndjson >"$work/r.tr"
        jq -r '"\(.code)\t\(.phase)"' cust/meters.ndjson >"$work/r.mt"
        jq -r '"\(.code)\t\(.category)"' cust/customers.ndjson >"$work/r.cu"
        jq -r '"\(.from)\t\(.to)"' cust/rel/meter-meteringpoint.ndjson >"$work/r.mtmp"
        jq -r '"\(.from)\t\(.to)"' cust/rel/meter-meterbox.ndjson >"$work/r.mtmb"
        jq -r '"\(.to)\t\(.from)"' grid/rel/accesspoint-meterbox.ndjson >"$work/r.mbap"
        jq -r '"\(.from)\t\(.to)"' grid/rel/accesspoint-transformer.ndjson >"$work/r.aptr"
        jq -r '"\(.from)\t\(.to)"' grid/rel/equipment-meteringpoint.ndjson >"$work/r.eqmp"
        jq -r '"\(.to)\t\(.from)"' grid/rel/line-transformer.ndjson >"$work/r.trln"
        jq -r '"\(.to)\t\(.from)"' grid/rel/substation-line.ndjson >"$work/r.lnss"
        jq -r '"\(.meter)\t\(.day)\t\(.kwh)"' cust/readings.ndjson >"$work/r.rd"
        jq -r '"\(.customer)\t\(.meter)\t\(.recorded_transformer)\t\(.true_transformer)"' \
            mislinks.ndjson >"$work/r.mis"
    )
fi

# Each public transformer: one check metering point (purpose check, no customer, named after
# it), with one three-phase meter; no other metering point is a check one.
check_points() {
    awk -F'\t' 'FILENAME ~ /r.tr$/ { kind[$1] = $2; name[$1] = $3; if ($2 == "public") pub++; next }
        FILENAME ~ /r.mp$/ { cu[$1] = $2; purpose[$1] = $3; mpname[$1] = $4
                             if ($3 == "check") checks++; next }
        FILENAME ~ /r.mt$/ { phase[$1] = $2; next }
        FILENAME ~ /r.mtmp$/ { meters[$2]++; mphase[$2] = phase[$1]; next }
        { n++; seen[$1]++
          if (kind[$1] != "public") { print "not a public transformer: " $1; bad++ }
          if (purpose[$2] != "check" || cu[$2] != "") { print "not a check point: " $2; bad++ }
          if (mpname[$2] != name[$1] " 考核计量点") { print "named " mpname[$2]; bad++ }
          if (meters[$2] != 1 || mphase[$2] != "three") { print "check meter of " $2; bad++ } }
        END { for (t in seen) if (seen[t] != 1) { print t ": " seen[t] " check points"; bad++ }
              if (n != pub || checks != pub) { print pub " public, " n " linked, " checks " checks"; bad++ }
              exit bad > 0 }' "$work/r.tr" "$work/r.mp" "$work/r.mt" "$work/r.mtmp" "$work/r.eqmp"
}
check "every public transformer has one check metering point (purpose check, no customer)" \
    "with one three-phase check meter" check_points

# Ordered by day, then meter: each (day, meter) strictly after the one before, so one reading a
# meter and day; every meter read every day; values non-negative, in hundredths.
readings_in_order() {
    awk -F'\t' -v days="$days" 'FILENAME ~ /r.mt$/ { meters++; exists[$1] = 1; next }
        { key = $2 " " $1
          if (NR > FNR && key <= last) { print "out of order: " key " after " last; bad++ }
          last = key; n++; day[$2] = 1
          if (!exists[$1]) { print "no such meter: " $1; bad++ }
          if ($3 !~ /^[0-9]+(\.[0-9][0-9]?)?$/) { print "kwh " $3; bad++ } }
        END { for (d in day) nd++
              if (nd != days || n != meters * days) { print n " readings, " nd " days, " meters " meters"; bad++ }
              exit bad > 0 }' "$work/r.mt" "$work/r.rd" | head -n 5
    return "${PIPESTATUS[0]}"
}
check "readings ordered by day then meter, one a meter and day for $days days, non-negative" \
    readings_in_order

first_day_default() {
    [[ $(head -n 1 "$work/r.rd" | cut -f2) == 2026-11-01 && $(tail -n 1 "$work/r.rd" | cut -f2) == 2026-11-07 ]]
}
check "readings start on 2026-11-01 by default" first_day_default

# Each area's customers by the links (meter, box, access point, transformer) with the mislinks
# put back where mislinks.ndjson says they truly are: the check meter reads their sum and the
# area's technical loss, 2-6 % give or take the day's wobble, every day.
area_losses() {
    awk -F'\t' 'FILENAME ~ /r.mtmb$/ { box[$1] = $2; next }
        FILENAME ~ /r.mbap$/ { ap[$1] = $2; next }
        FILENAME ~ /r.aptr$/ { tr[$1] = $2; next }
        FILENAME ~ /r.eqmp$/ { check_of_mp[$2] = $1; next }
        FILENAME ~ /r.mtmp$/ { if ($2 in check_of_mp) check[$1] = check_of_mp[$2]; next }
        FILENAME ~ /r.mis$/ { truly[$2] = $4; moved++; next }
        { if ($1 in check) { input[check[$1] SUBSEP $2] = $3; next }
          if (!($1 in box)) next # high voltage: no area
          t = $1 in truly ? truly[$1] : tr[ap[box[$1]]]
          billed[t SUBSEP $2] += $3 }
        END { for (k in input) {
                  n++; r = (input[k] - billed[k]) / billed[k]
                  if (r < 0.014 || r > 0.078) { split(k, p, SUBSEP); print p[1] " " p[2] ": loss rate " r; bad++ } }
              if (n == 0 || moved == 0) { print n " area-days, " moved " mislinks"; bad++ }
              exit bad > 0 }' "$work/r.mtmb" "$work/r.mbap" "$work/r.aptr" "$work/r.eqmp" "$work/r.mtmp" \
        "$work/r.mis" "$work/r.rd" | head -n 5
    return "${PIPESTATUS[0]}"
}
check "each area's check meter reads its true customers' sum plus 1.4-7.8 % loss, every day" \
    area_losses

# Each mislink: an LV customer's meter recorded (meter, box, access point) under a public
# transformer other than its true one, on the same line or another line of its substation;
# not vacant (it reads more than 0.3 kWh on some day).
mislinks_recorded() {
    [[ $(wc -l <"$work/r.mis") == "$mislinks" ]] || { echo "$(wc -l <"$work/r.mis") mislinks"; return 1; }
    awk -F'\t' 'FILENAME ~ /r.mtmb$/ { box[$1] = $2; next }
        FILENAME ~ /r.mbap$/ { ap[$1] = $2; next }
        FILENAME ~ /r.aptr$/ { tr[$1] = $2; next }
        FILENAME ~ /r.trln$/ { line[$1] = $2; next }
        FILENAME ~ /r.lnss$/ { ss[$1] = $2; next }
        FILENAME ~ /r.tr$/ { kind[$1] = $2; next }
        FILENAME ~ /r.cu$/ { cat[$1] = $2; next }
        FILENAME ~ /r.mp$/ { cu[$1] = $2; next }
        FILENAME ~ /r.mtmp$/ { owner[$1] = cu[$2]; next }
        FILENAME ~ /r.rd$/ { if ($3 > 0.3) used[$1] = 1; next }
        { recorded = tr[ap[box[$2]]]
          if (owner[$2] != $1 || cat[$1] == "hv") { print $2 ": not the LV meter of " $1; bad++ }
          if (recorded != $3) { print $1 ": recorded under " recorded ", listed " $3; bad++ }
          if ($3 == $4 || kind[$3] != "public" || kind[$4] != "public") { print $1 ": " $3 " / " $4; bad++ }
          if (line[$3] != line[$4] && ss[line[$3]] != ss[line[$4]]) { print $1 ": far away"; bad++ }
          if (!used[$2]) { print $1 ": vacant"; bad++ }
          seen[$1]++ }
        END { for (c in seen) if (seen[c] > 1) bad++
              exit bad > 0 }' "$work/r.mtmb" "$work/r.mbap" "$work/r.aptr" "$work/r.trln" "$work/r.lnss" \
        "$work/r.tr" "$work/r.cu" "$work/r.mp" "$work/r.mtmp" "$work/r.rd" "$work/r.mis"
}
check "mislinks.ndjson names LV customers recorded under another public transformer" \
    "of their line or substation than their true one" mislinks_recorded

readings_repeat() {
    "$citygen" --customers "$customers" --readings "$days" --mislinks "$mislinks" --out "$work/r2" &&
        diff -r "$readings_city" "$work/r2"
}
check "runs with --readings and --mislinks repeat byte for byte" readings_repeat

# The days a city is read from are calendar days: the same customers read the same on a day
# whatever the first day asked for, and a week later starts a week later.
readings_from_agree() {
    "$citygen" --customers "$customers" --readings 3 --readings-from 2026-11-05 --out "$work/r3" ||
        return 1
    diff <(grep -F '"day":"2026-11-05"' "$work/r3/cust/readings.ndjson") \
        <(grep -F '"day":"2026-11-05"' "$readings_city/cust/readings.ndjson") >/dev/null ||
        { echo "the readings of 2026-11-05 differ"; return 1; }
    [[ $(tail -n 1 "$work/r3/cust/readings.ndjson" | jq -r .day) == 2026-11-07 ]]
}
check "--readings-from starts the days there; customers read alike on a day both cities hold" \
    readings_from_agree

missing_readings() {
    "$citygen" --customers "$customers" --readings "$days" --missing-readings 50 --out "$work/r4" ||
        return 1
    local all some
    all=$(wc -l <"$work/r.rd")
    some=$(wc -l <"$work/r4/cust/readings.ndjson")
    ((some < all * 97 / 100 && some > all * 93 / 100)) || { echo "$some of $all"; return 1; }
}
check "--missing-readings 50 leaves out about 5 % of the meter-days" missing_readings

mislinks_without_readings() {
    "$citygen" --customers "$customers" --mislinks 3 --faults 3 --out "$work/r5" || return 1
    [[ ! -e $work/r5/cust/readings.ndjson && ! -e $work/r5/grid/rel/equipment-meteringpoint.ndjson ]] ||
        { echo "readings written"; return 1; }
    [[ $(wc -l <"$work/r5/mislinks.ndjson") == 3 ]] || return 1
    ! grep -q '"purpose":"check"' "$work/r5/cust/metering_points.ndjson"
}
check "--mislinks without --readings: mislinks, no check points, beside --faults" \
    mislinks_without_readings

no_readings_no_change() {
    "$citygen" --customers "$customers" --readings 0 --mislinks 0 --out "$work/r0" &&
        diff -r "$city" "$work/r0"
}
check "--readings 0 --mislinks 0 writes the very city of neither" no_readings_no_change

# ---- determinism and arguments ---------------------------------------------------------------

same_seed_same_bytes() {
    "$citygen" --customers "$customers" --seed 1 --out "$work/b" && diff -r "$city" "$work/b"
}
check "the same N and seed give byte-identical output" same_seed_same_bytes

other_seed_differs() {
    "$citygen" --customers "$customers" --seed 2 --out "$work/c" || return 1
    ! cmp -s "$city/cust/customers.ndjson" "$work/c/cust/customers.ndjson" &&
        ! cmp -s "$city/grid/lines.ndjson" "$work/c/grid/lines.ndjson"
}
check "another seed gives other codes and names" other_seed_differs

bad_arguments() {
    local args rc
    for args in "" "--customers 99 --out $work/x" "--customers 10000001 --out $work/x" \
        "--customers 2000" "--customers 2000 --seed -1 --out $work/x" \
        "--customers 2000 --out $work/x --what 1" "--customers 2000 --faults 4 --out $work/x" \
        "--customers 2000 --faults -1 --out $work/x" "--customers 2000 --readings 367 --out $work/x" \
        "--customers 2000 --readings 7 --readings-from 2026-02-30 --out $work/x" \
        "--customers 2000 --readings 7 --readings-from 20261101 --out $work/x" \
        "--customers 2000 --missing-readings 1001 --out $work/x" \
        "--customers 2000 --mislinks 10 --out $work/x" "--customers 2000 --mislinks -1 --out $work/x"; do
        rc=0
        # shellcheck disable=SC2086 # the arguments are split on purpose
        "$citygen" $args >/dev/null 2>&1 || rc=$?
        ((rc == 2)) || { echo "'$args': exit $rc"; return 1; }
    done
}
check "bad arguments exit 2" bad_arguments

io_error_named() {
    local out rc=0
    : >"$work/plain-file"
    out=$("$citygen" --customers 100 --out "$work/plain-file/city" 2>&1) || rc=$?
    if ((rc != 1)) || [[ $out != *"$work/plain-file/city"* ]]; then
        echo "exit $rc: $out"
        return 1
    fi
}
check "an I/O error exits 1 naming the file" io_error_named

echo "1..$n"
((failed == 0))
