# lib.sh -- what the shell scripts share (scripts/*.sh, tests/*.sh); sourced, never run.
# The sourcing script defines die (for check_port) and names itself in prog.

# Value of KEY in an env file written by these scripts (KEY=value lines); nothing when the file
# or the key is absent.
env_value() {
    local file=$1 key=$2 line
    [[ -r $file ]] || return 0
    line=$(grep -E "^$key=" "$file" | tail -n 1) || return 0
    printf '%s' "${line#*=}"
}

port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]] && return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

check_port() {
    local var=$1 port=$2
    if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
        die "$var=$port is not a valid port"
    fi
}

# A free port below the kernel's ephemeral range, not among the arguments.
pick_port() {
    local port taken i
    for ((i = 0; i < 200; i++)); do
        port=$(shuf -i 20000-32000 -n 1)
        for taken in "$@"; do
            [[ $port == "$taken" ]] && continue 2
        done
        port_in_use "$port" || { echo "$port"; return 0; }
    done
    echo "${prog:-$0}: no free port found" >&2
    return 1
}

# SQL that makes the platforms' roles and databases where they are not yet, for psql.
platform_databases_sql() {
    cat <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', r)
  FROM unnest(ARRAY['grid_svc', 'cust_svc']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', d, o)
  FROM (VALUES ('grid', 'grid_svc'), ('cust', 'cust_svc')) AS t(d, o)
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d)
\gexec
SQL
}
