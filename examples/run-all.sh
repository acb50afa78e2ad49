#!/usr/bin/env bash
# Runs every example against the running stack (make up); stops at the first
# wrong answer. --list prints their names instead, in the order they run.
set -euo pipefail
cd "$(dirname "$0")"
scripts=([0-9][0-9]-*.sh hv_new_connection.sh)
if [[ ${1:-} == --list ]]; then
    printf '%s\n' "${scripts[@]}"
    exit 0
fi
for script in "${scripts[@]}"; do
    echo
    echo "##### examples/$script"
    bash "$script"
done
echo
echo "All examples passed."
