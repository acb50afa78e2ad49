#!/usr/bin/env bash
# cityload.sh DIR -- load a city written by citygen into running services,
# through the bulk import API, in the order of DIR/load-order.tsv.
#
# Each file is sent in chunks of CHUNK_LINES lines, PARALLEL chunks at a
# time (one import request each). Stops at the first chunk that is not
# loaded whole, printing the service's answer. A city's readings
# (cust/readings.ndjson, POST /v1/readings:import) come last in the file:
# their import confirms every meter they name.
#
#   GRID_URL, CUST_URL   the services (default: .run/stack.env of `make up`)
#   IMPORT_KEY           API key of an app allowed to write everything
#   CHUNK_LINES=50000 PARALLEL=2 BATCH=5000
#   READINGS=0           leaves the readings out (the city's objects and links only)
set -euo pipefail

dir=${1:?usage: cityload.sh CITY_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${GRID_URL:-} || -z ${CUST_URL:-} ]]; then
    # shellcheck disable=SC1091
    [[ -f $root/.run/stack.env ]] && . "$root/.run/stack.env"
fi
: "${GRID_URL:?set GRID_URL (or run make up)}" "${CUST_URL:?set CUST_URL (or run make up)}"
key=${IMPORT_KEY:-dev-admin-key}
chunk_lines=${CHUNK_LINES:-50000}
parallel=${PARALLEL:-2}
batch=${BATCH:-5000}
[[ -f $dir/load-order.tsv ]] || { echo "cityload: no $dir/load-order.tsv" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# post_chunk URL FILE: one import request; prints "imported" or fails loudly.
post_chunk() {
    local url=$1 file=$2 out status
    out=$(curl -sS -o "$file.answer" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $key" -H 'Content-Type: application/x-ndjson' \
        --data-binary "@$file" "$url?batch=$batch") || { echo "cityload: $url unreachable" >&2; return 1; }
    status=$out
    if [[ $status != 200 ]]; then
        echo "cityload: $url answered $status for $(basename "$file"):" >&2
        head -c 2000 "$file.answer" >&2; echo >&2
        return 1
    fi
}
export -f post_chunk
export key batch

total_rows=0
start_all=$(date +%s.%N)
while IFS=$'\t' read -r svc path file rows; do
    [[ -z $svc || $svc == \#* ]] && continue
    case $svc in
        grid) base=$GRID_URL ;;
        cust) base=$CUST_URL ;;
        *) echo "cityload: unknown service '$svc' in load-order.tsv" >&2; exit 2 ;;
    esac
    [[ -s $dir/$file ]] || continue
    [[ ${READINGS:-1} != 0 || $path != /v1/readings:import ]] || continue
    name=$(echo "$file" | tr '/' '_')
    split -l "$chunk_lines" -d -a 4 "$dir/$file" "$work/$name."
    t0=$(date +%s.%N)
    find "$work" -name "$name.[0-9]*" ! -name '*.answer' | sort |
        xargs -P "$parallel" -I{} bash -c 'post_chunk "$0" "$1"' "$base$path" {}
    t1=$(date +%s.%N)
    rm -f "$work/$name".*
    total_rows=$((total_rows + rows))
    awk -v f="$file" -v n="$rows" -v a="$t0" -v b="$t1" \
        'BEGIN { s = b - a; printf "  %-42s %9d rows %7.2f s %9.0f rows/s\n", f, n, s, (s > 0 ? n / s : 0) }'
done < "$dir/load-order.tsv"
end_all=$(date +%s.%N)
awk -v n="$total_rows" -v a="$start_all" -v b="$end_all" \
    'BEGIN { s = b - a; printf "loaded %d rows in %.1f s (%.0f rows/s)\n", n, s, n / s }'
