#!/usr/bin/env bash
# Install the Debian packages listed in deps/packages.txt that are not installed yet, then the
# npm packages of deps/npm (the tests' OpenAPI validators, client generator and browser driver)
# into deps/npm/node_modules.
# Nothing missing: prints nothing. Root: installs the Debian packages with apt-get. Otherwise:
# prints the command to run and exits 1. The npm packages need no root: npm ci, from the lock
# file, whenever node_modules is missing or older than it.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
list="$repo_root/deps/packages.txt"

if [[ ! -r $list ]]; then
    echo "deps.sh: cannot read $list" >&2
    exit 1
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: dpkg-query not found; this script supports Debian and Ubuntu only." >&2
    echo "deps.sh: install the packages listed in $list by other means." >&2
    exit 1
fi

missing=()
while IFS= read -r line || [[ -n $line ]]; do
    line=${line%%#*}
    # trim whitespace
    line=${line#"${line%%[![:space:]]*}"}
    line=${line%"${line##*[![:space:]]}"}
    [[ -z $line ]] && continue
    status=$(dpkg-query -W -f='${Status}' "$line" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
        missing+=("$line")
    fi
done <"$list"
# NodeSource's nodejs has npm in it; Debian's comes without, and its npm would clash with
# NodeSource's: asked for only when there is no npm.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "deps.sh: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "deps.sh: missing packages: ${missing[*]}" >&2
        echo "deps.sh: install them with:" >&2
        echo "sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
fi

# npm keeps its own record of an install in node_modules/.package-lock.json.
npm_dir=$repo_root/deps/npm
installed=$npm_dir/node_modules/.package-lock.json
if [[ ! -f $installed || $npm_dir/package-lock.json -nt $installed ]]; then
    echo "deps.sh: installing the npm packages of deps/npm (npm ci)"
    (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
