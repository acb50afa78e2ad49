#!/usr/bin/env bash
# layers-check.sh -- common/ is in layers (DESIGN §7): base, net, store, model, engine, topology,
# and service.c on top. A file may include, and call, only its own folder and the folders above
# it; no files call each other in a circle.
#
#   tests/layers-check.sh BUILD_DIR          e.g. tests/layers-check.sh build
#
# The includes are read from the sources; the calls from the objects in BUILD_DIR/obj/common
# (nm: what each object defines and what it needs). Prints TAP; exits 0 only if all held.
set -uo pipefail

(($# == 1)) || { echo "usage: tests/layers-check.sh BUILD_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
objdir=$1/obj/common
[[ -d $objdir ]] || { echo "tests/layers-check.sh: $objdir: no objects (make first)" >&2; exit 2; }

layers=(base net store model engine topology)
declare -A place
for i in "${!layers[@]}"; do place[${layers[$i]}]=$i; done
# The rank of a file of common/ into $rank: its layer's place in the list; service.c (top) ranks
# last; -1 for a folder that is no layer.
rank_of() {
    local rel=${1#*common/}
    if [[ $rel != */* ]]; then rank=${#layers[@]}; else rank=${place[${rel%%/*}]:--1}; fi
}

n=0 failed=0
check() { # check DESCRIPTION PROBLEMS
    n=$((n + 1))
    if [[ -z $2 ]]; then
        echo "ok $n - $1"
    else
        failed=$((failed + 1))
        echo "not ok $n - $1"
        sed 's/^/#   /' <<<"$2"
    fi
}

# Every folder of common/ is a layer.
stray=""
for d in "$root"/common/*/; do
    d=${d%/}
    rank_of "$d/x"
    ((rank >= 0)) || stray+="common/${d##*/} is not one of: ${layers[*]}"$'\n'
done
check "every folder of common/ is a layer (${layers[*]})" "${stray%$'\n'}"

# Includes: "layer/file.h" of a layer at or above the file's own.
bad=""
while IFS= read -r src; do
    rank_of "$src"
    r=$rank
    while IFS= read -r inc; do
        if [[ $inc != */* ]]; then
            [[ $src == "$root"/common/*/* ]] && bad+="${src#"$root"/}: \"$inc\" names no layer"$'\n'
            continue
        fi
        rank_of "common/$inc"
        if ((rank < 0 || rank > r)); then
            bad+="${src#"$root"/} includes $inc, a layer below its own"$'\n'
        fi
    done < <(sed -nE 's/^#include "([^"]+)".*/\1/p' "$src")
done < <(find "$root/common" -name '*.[ch]' | sort)
check "common/ includes only its own layer and those above it" "${bad%$'\n'}"

# Calls, from the objects: for each object, the objects that define what it needs.
edges=$(mktemp /tmp/layers-check.XXXXXX)
trap 'rm -f -- "$edges"' EXIT
for o in $(find "$objdir" -name '*.o' | sort); do
    nm "$o" | awk -v o="${o#"$objdir"/}" '$2 ~ /^[TDBR]$/ { print "D", $3, o } $1 == "U" { print "U", $2, o }'
done | awk '$1 == "D" { def[$2] = $3; next } { need[NR] = $2; by[NR] = $3 }
            END { for (i in need) if ((need[i] in def) && def[need[i]] != by[i])
                      print by[i], def[need[i]], need[i] }' | sort -u >"$edges"

bad=""
while read -r from to sym; do
    rank_of "common/$from"
    fr=$rank
    rank_of "common/$to"
    ((rank > fr)) && bad+="${from%.o}.c calls $sym of ${to%.o}.c, a layer below its own"$'\n'
done <"$edges"
check "common/ calls only its own layer and those above it" "${bad%$'\n'}"

loop=$(awk '{ print $1, $2 }' "$edges" | sort -u | tsort 2>&1 >/dev/null | grep -v '^tsort: -: input contains a loop:$')
check "no files of common/ call each other in a circle" "$loop"

echo "1..$n"
((failed == 0))
