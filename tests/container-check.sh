#!/usr/bin/env bash
# container-check.sh -- checks docker-compose.yml and the Dockerfile without a Docker engine:
# the compose file is valid (docker-compose config), runs the three services with health checks
# and start order, gives each daemon only settings it reads, and points it at a schema the image
# holds; the data middle platform (datahub) is wired to both; the Dockerfile installs
# deps/packages.txt and builds with the Makefile's `make all`, and copies only binaries the
# Makefile builds.
#
#   tests/container-check.sh
#
# Needs docker-compose and python3-yaml (deps/packages.txt). Prints TAP ("ok N - ...",
# "not ok N - ...", then "1..N"); exits 0 only if every check passed.
set -uo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root" || exit 2
command -v docker-compose >/dev/null || { echo "container-check.sh: docker-compose is needed" >&2; exit 2; }

# shellcheck source=tests/tap.sh
. "$repo_root/tests/tap.sh"

config_json=$(mktemp /tmp/container-check.XXXXXX)
trap 'rm -f -- "$config_json"' EXIT

compose_is_valid() {
    docker-compose -f docker-compose.yml config -q || return 1
    docker-compose -f docker-compose.yml config |
        python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)' \
            >"$config_json"
}
check "docker-compose config accepts docker-compose.yml" compose_is_valid

# py EXPRESSION-BODY: runs python over the resolved compose file as `c`.
py() {
    python3 - "$config_json" "$@" <<'PY'
import json, re, sys
c = json.load(open(sys.argv[1]))
s = c.get("services", {})
what = sys.argv[2]
problems = []
if what == "services":
    for name in ("postgres", "grid-svc", "cust-svc"):
        if name not in s:
            problems.append(f"no service {name}")
        elif "healthcheck" not in s[name]:
            problems.append(f"{name} has no healthcheck")
elif what == "order":
    for name in ("grid-svc", "cust-svc"):
        dep = s.get(name, {}).get("depends_on", {})
        if dep.get("postgres", {}).get("condition") != "service_healthy":
            problems.append(f"{name} does not wait for a healthy postgres: {dep}")
elif what == "settings":
    known = set(sys.argv[3].split())
    for name in ("grid-svc", "cust-svc"):
        for key in s.get(name, {}).get("environment", {}):
            if key not in known:
                problems.append(f"{name}: {key} is not a setting the daemons read")
elif what == "wiring":
    for name, port, peer, schema in (("grid-svc", "8081", "http://cust-svc:8082", "grid"),
                                     ("cust-svc", "8082", "http://grid-svc:8081", "cust")):
        env = s.get(name, {}).get("environment", {})
        if str(env.get("PORT")) != port: problems.append(f"{name}: PORT {env.get('PORT')}")
        if env.get("PEER_URL") != peer: problems.append(f"{name}: PEER_URL {env.get('PEER_URL')}")
        if env.get("SCHEMA_DIR") != f"/app/schema/{schema}":
            problems.append(f"{name}: SCHEMA_DIR {env.get('SCHEMA_DIR')}")
        if not re.match(rf"postgresql://\w+:[^@]+@postgres:5432/{schema}$", env.get("DATABASE_URL", "")):
            problems.append(f"{name}: DATABASE_URL {env.get('DATABASE_URL')}")
        if s.get(name, {}).get("command") != [name]:
            problems.append(f"{name}: command {s.get(name, {}).get('command')}")
elif what == "datahub":
    if "wal_level=logical" not in " ".join(s.get("postgres", {}).get("command") or []):
        problems.append("postgres does not run with wal_level=logical")
    if "healthcheck" not in s.get("datahub", {}):
        problems.append("no datahub service with a health check")
    url = s.get("cust-svc", {}).get("environment", {}).get("DATAHUB_URL", "")
    if not re.match(r"postgresql://\w+:[^@]+@datahub:5432/datahub$", url):
        problems.append(f"cust-svc: DATAHUB_URL {url!r}")
    setup = s.get("datahub-setup", {})
    if setup.get("command", [])[-2:] != ["/app/scripts/datahub.sh", "setup"]:
        problems.append(f"datahub-setup: command {setup.get('command')}")
    for dep in ("datahub", "grid-svc", "cust-svc"):
        if setup.get("depends_on", {}).get(dep, {}).get("condition") != "service_healthy":
            problems.append(f"datahub-setup does not wait for a healthy {dep}")
    mounts = " ".join(str(v.get("source", v)) + ":" + str(v.get("target", "")) if isinstance(v, dict)
                      else v for v in setup.get("volumes", []))
    for want in ("/schema:/app/schema", "/scripts/datahub.sh:/app/scripts/datahub.sh"):
        if want not in mounts:
            problems.append(f"datahub-setup does not mount {want}")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
}

check "postgres, grid-svc and cust-svc, each with a health check" py services
check "each daemon starts once PostgreSQL is healthy" py order
# The settings the daemons read: every getenv name in common/.
settings=$(grep -ho 'env_[a-z]*("[A-Z_]*"' common/*.c | sed 's/.*("//; s/"//' | sort -u | tr '\n' ' ')
check "the daemons are given only settings they read" py settings "$settings"
check "ports, peers, databases and schemas wired to each other" py wiring

dockerfile_builds_as_make_does() {
    grep -q 'deps/packages.txt' Dockerfile || { echo "Dockerfile does not install deps/packages.txt"; return 1; }
    grep -Eq '^RUN make all$' Dockerfile || { echo "Dockerfile does not build with 'make all'"; return 1; }
    grep -Eq '^all:' Makefile || { echo "the Makefile has no 'all' target"; return 1; }
}
check "the Dockerfile installs deps/packages.txt and runs the Makefile's make all" \
    dockerfile_builds_as_make_does

copies_what_make_builds() {
    local bins bin
    bins=$(sed -n 's/^BINS *:= *//p' Makefile)
    for bin in $(grep -o '/src/build/[a-z-]*' Dockerfile | sed 's|/src/build/||'); do
        [[ $bins == *"/$bin"* ]] || { echo "Dockerfile copies build/$bin, which make all does not build"; return 1; }
    done
    for bin in grid-svc cust-svc; do
        grep -q "/src/build/$bin" Dockerfile || { echo "Dockerfile does not copy $bin"; return 1; }
    done
}
check "the image holds the daemons make builds" copies_what_make_builds

image_holds_schemas_and_config() {
    grep -Eq '^COPY schema ' Dockerfile && grep -Eq '^COPY config ' Dockerfile &&
        [[ -d schema/grid && -d schema/cust && -f config/apps.dev.json && -f config/policy.json ]]
}
check "the image holds the schemas and configuration the daemons are pointed at" \
    image_holds_schemas_and_config

# The daemons look for the console in ../share/yingpei/console from their own folder (/usr/local/bin).
image_holds_console() {
    grep -Eq '^COPY console /usr/local/share/yingpei/console$' Dockerfile &&
        grep -q '/../share/yingpei/console' common/service.c && [[ -f console/index.html ]]
}
check "the image holds the console where the daemons look for it" image_holds_console

init_makes_the_databases() {
    local db
    for db in "ROLE grid_svc" "ROLE cust_svc" "DATABASE grid OWNER grid_svc" "DATABASE cust OWNER cust_svc"; do
        grep -q "CREATE $db" deploy/postgres-init.sql || { echo "deploy/postgres-init.sql lacks CREATE $db"; return 1; }
    done
}
check "PostgreSQL's first start makes each platform's role and database" init_makes_the_databases

check "datahub: its own PostgreSQL, subscribed by datahub-setup once both platforms are healthy" \
    py datahub
datahub_roles() {
    grep -q "CREATE ROLE datahub_repl LOGIN REPLICATION" deploy/postgres-init.sql ||
        { echo "deploy/postgres-init.sql lacks the replication role datahub_repl"; return 1; }
    grep -q "CREATE ROLE datahub_reader LOGIN" deploy/datahub-init.sql ||
        { echo "deploy/datahub-init.sql lacks the reading role datahub_reader"; return 1; }
}
check "the replication and reading roles datahub needs are made on first start" datahub_roles

tap_end
