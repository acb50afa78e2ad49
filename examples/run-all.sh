#!/usr/bin/env bash
# Runs every example against the running stack (make up); stops at the first
# wrong answer.
set -euo pipefail
cd "$(dirname "$0")"
for script in [0-9][0-9]-*.sh hv_new_connection.sh; do
    echo
    echo "##### examples/$script"
    bash "$script"
done
echo
echo "All examples passed."
