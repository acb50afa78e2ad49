#!/usr/bin/env bash
# The data middle platform 数据中台: a database, datahub, that receives both platforms' objects
# and links by PostgreSQL's own logical replication, and answers the integration report from
# them (schema/datahub). No copying code: each platform publishes its tables (the
# *_publication.sql migration), datahub subscribes.
#
#   scripts/datahub.sh setup
#
# Idempotent: run it after the platforms have applied their migrations (scripts/stack.sh up
# does, each time). It
#   1. applies each platform's migrations (its own and schema/common's) into the schema of its
#      name in datahub (grid, cust), so the replicated tables are defined exactly as the
#      platforms define them; every migration but *_publication.sql, each once, recorded in
#      <schema>.schema_migrations.
#      Then it moves the tables the platform publishes into public: replication matches tables
#      by schema and name, and the platforms keep theirs in public (the two never publish the
#      same name). Later migrations find them there through the search path (grid, public);
#   2. applies schema/datahub/*.sql (the report's views), recorded in public.schema_migrations,
#      and lets the reading role select from schema report;
#   3. on each platform's database: lets the replication role read the published tables and
#      creates its logical replication slot, datahub_<platform>. The slot is made here, not by
#      CREATE SUBSCRIPTION: a subscription to a publication of its own cluster would wait for
#      its own transaction to end while creating the slot, for ever;
#   4. creates the subscription datahub_<platform> (create_slot = false), or, when it exists,
#      points it at PUBLISHER_CONNINFO and refreshes it so newly published tables follow;
#   5. waits (up to DATAHUB_WAIT_S) for the first copy of every table.
#
# Environment:
#   DATAHUB_ADMIN_URL   libpq URL of a superuser on the datahub database (CREATE SUBSCRIPTION
#                       needs one in PostgreSQL 15)
#   GRID_ADMIN_URL      the same on grid-svc's database, for the grants and the slot
#   CUST_ADMIN_URL      the same on cust-svc's database
#   PUBLISHER_CONNINFO  how datahub's server reaches the platforms' server, as libpq keywords
#                       without dbname, e.g. "host=127.0.0.1 port=5433 user=datahub_repl"
#   REPL_ROLE           the role named there, with REPLICATION          [datahub_repl]
#   READER_ROLE         the role DATAHUB_URL connects as (SELECT only)   [datahub_reader]
#   SCHEMA_ROOT         where grid/, cust/, common/ and datahub/ are     [<repo>/schema]
#   PSQL                the psql to use                                  [psql]
#   DATAHUB_WAIT_S      how long to wait for the first copy              [60]
set -euo pipefail

prog=datahub.sh
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
platforms=(grid cust)

die() {
    echo "$prog: $*" >&2
    exit 1
}

usage() {
    echo "usage: scripts/datahub.sh setup" >&2
    exit 2
}

: "${DATAHUB_ADMIN_URL:?set DATAHUB_ADMIN_URL}" "${GRID_ADMIN_URL:?set GRID_ADMIN_URL}"
: "${CUST_ADMIN_URL:?set CUST_ADMIN_URL}" "${PUBLISHER_CONNINFO:?set PUBLISHER_CONNINFO}"
REPL_ROLE=${REPL_ROLE:-datahub_repl}
READER_ROLE=${READER_ROLE:-datahub_reader}
SCHEMA_ROOT=${SCHEMA_ROOT:-$repo_root/schema}
PSQL=${PSQL:-psql}
DATAHUB_WAIT_S=${DATAHUB_WAIT_S:-60}

# psql on a URL, quiet, stopping at the first error; SQL on stdin, variables as -v.
sql() {
    local url=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@" "$url"
}

admin_url() {
    case $1 in
    grid) printf '%s' "$GRID_ADMIN_URL" ;;
    cust) printf '%s' "$CUST_ADMIN_URL" ;;
    esac
}

# Logical decoding needs wal_level = logical on the platforms' server, set at its start.
check_publisher() {
    local level
    level=$(sql "$GRID_ADMIN_URL" <<<'SHOW wal_level') || die "cannot reach grid's database"
    [[ $level == logical ]] ||
        die "the platforms' PostgreSQL runs with wal_level=$level; it needs wal_level=logical (restart it: scripts/stack.sh down, then up)"
}

# One migration file into schema $2 of datahub, in one transaction with its bookkeeping.
apply_migration() {
    local file=$1 schema=$2 name
    name=$(basename "$file")
    {
        printf 'SET LOCAL search_path = %s, public;\n' "$schema"
        cat "$file"
        printf '\n;INSERT INTO %s.schema_migrations (version) VALUES (:%s);\n' "$schema" "'migration'"
    } | sql "$DATAHUB_ADMIN_URL" -1 -v migration="$name" >/dev/null ||
        die "applying $file to datahub (schema $schema) failed"
    echo "$prog: applied $(basename "$(dirname "$file")")/$name"
}

# Every migration of directories $3... not yet recorded in $1.schema_migrations, in name order
# across them (a platform's own and schema/common's, as the platform applies them); $2 is a
# pattern of names to skip.
apply_migrations() {
    local schema=$1 skip=$2 file name done_list dir
    shift 2
    sql "$DATAHUB_ADMIN_URL" >/dev/null <<SQL
CREATE SCHEMA IF NOT EXISTS $schema;
CREATE TABLE IF NOT EXISTS $schema.schema_migrations (
    version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
SQL
    done_list=$(sql "$DATAHUB_ADMIN_URL" <<<"SELECT version FROM $schema.schema_migrations")
    while IFS=$'\t' read -r name file; do
        # shellcheck disable=SC2053 # skip is a pattern
        [[ -n $skip && $name == $skip ]] && continue
        grep -qxF -- "$name" <<<"$done_list" && continue
        apply_migration "$file" "$schema"
    done < <(for dir in "$@"; do
        for file in "$dir"/[0-9]*.sql; do
            [[ -e $file ]] && printf '%s\t%s\n' "$(basename "$file")" "$file"
        done
    done | LC_ALL=C sort)
}

# The tables platform $1 publishes, comma-separated; they must be in its public schema.
published_tables() {
    local p=$1 list elsewhere
    elsewhere=$(sql "$(admin_url "$p")" -v pub="${p}_datahub" <<'SQL'
SELECT string_agg(format('%I.%I', schemaname, tablename), ', ')
  FROM pg_publication_tables WHERE pubname = :'pub' AND schemaname <> 'public'
SQL
)
    [[ -z $elsewhere ]] || die "${p}_datahub publishes tables outside public ($elsewhere); datahub expects them in public"
    list=$(sql "$(admin_url "$p")" -v pub="${p}_datahub" \
        <<<"SELECT string_agg(tablename, ',') FROM pg_publication_tables WHERE pubname = :'pub'")
    [[ -n $list ]] || die "$p's database publishes nothing as ${p}_datahub; has $p applied its migrations?"
    printf '%s' "$list"
}

# Moves what platform $1 publishes from its schema to public, where replication looks.
adopt_published() {
    local p=$1 tables missing
    tables=$(published_tables "$p")
    sql "$DATAHUB_ADMIN_URL" -v schema="$p" -v tables="$tables" >/dev/null <<'SQL' ||
SELECT format('ALTER TABLE %I.%I SET SCHEMA public', :'schema', t)
  FROM unnest(string_to_array(:'tables', ',')) AS t
 WHERE to_regclass(format('%I.%I', :'schema', t)) IS NOT NULL
\gexec
SQL
        die "moving $p's published tables into public failed"
    missing=$(sql "$DATAHUB_ADMIN_URL" -v tables="$tables" <<'SQL'
SELECT string_agg(t, ', ') FROM unnest(string_to_array(:'tables', ',')) AS t
 WHERE to_regclass(format('public.%I', t)) IS NULL
SQL
)
    [[ -z $missing ]] || die "datahub lacks tables $p publishes: $missing"
}

# The report's reader may select from schema report, nothing else; its hash joins over a whole
# city get the memory to stay off disk.
grant_reader() {
    sql "$DATAHUB_ADMIN_URL" -v reader="$READER_ROLE" >/dev/null <<'SQL'
SELECT format('GRANT USAGE ON SCHEMA report TO %I', :'reader'),
       format('GRANT SELECT ON ALL TABLES IN SCHEMA report TO %I', :'reader'),
       format('ALTER ROLE %I IN DATABASE %I SET work_mem = %L', :'reader', current_database(),
              '64MB')
 WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader')
\gexec
SQL
}

# On platform $1's database: read rights on what it publishes, and the slot.
prepare_publisher() {
    local p=$1
    sql "$(admin_url "$p")" -v pub="${p}_datahub" -v role="$REPL_ROLE" -v slot="datahub_$p" \
        >/dev/null <<'SQL' || die "preparing $p's database for replication failed"
SELECT format('GRANT SELECT ON %I.%I TO %I', schemaname, tablename, :'role')
  FROM pg_publication_tables WHERE pubname = :'pub'
\gexec
SELECT pg_create_logical_replication_slot(:'slot', 'pgoutput')
 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :'slot')
SQL
}

# A new subscription copies every published table whole: empty datahub's copies first, so that
# one made again (after DROP SUBSCRIPTION, say) finds no rows in its way. CASCADE: the
# platforms' own tables that refer to them (drawings, ...) are never filled here.
create_subscription() {
    local p=$1 conninfo=$2 tables
    tables=$(published_tables "$p")
    sql "$DATAHUB_ADMIN_URL" -v tables="$tables" >/dev/null <<'SQL' ||
SELECT format('TRUNCATE %s CASCADE', string_agg(format('public.%I', t), ', '))
  FROM unnest(string_to_array(:'tables', ',')) AS t
\gexec
SQL
        die "emptying datahub's copies of $p's tables failed"
    sql "$DATAHUB_ADMIN_URL" -v sub="datahub_$p" -v pub="${p}_datahub" -v conninfo="$conninfo" \
        >/dev/null <<'SQL' || die "CREATE SUBSCRIPTION datahub_$p failed"
SELECT format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %I '
              'WITH (create_slot = false, slot_name = %L)', :'sub', :'conninfo', :'pub', :'sub')
\gexec
SQL
    echo "$prog: subscribed datahub to ${p}_datahub"
}

# Each statement on its own: ALTER SUBSCRIPTION ... REFRESH refuses to run in a transaction.
update_subscription() {
    local p=$1 conninfo=$2
    sql "$DATAHUB_ADMIN_URL" -v sub="datahub_$p" -v conninfo="$conninfo" >/dev/null <<'SQL' ||
SELECT format('ALTER SUBSCRIPTION %I CONNECTION %L', :'sub', :'conninfo')
  FROM pg_subscription WHERE subname = :'sub' AND subconninfo <> :'conninfo'
\gexec
SELECT format('ALTER SUBSCRIPTION %I ENABLE', :'sub')
  FROM pg_subscription WHERE subname = :'sub' AND NOT subenabled
\gexec
SELECT format('ALTER SUBSCRIPTION %I REFRESH PUBLICATION', :'sub')
\gexec
SQL
        die "updating the subscription datahub_$p failed"
}

subscribe() {
    local p=$1 conninfo exists
    conninfo="$PUBLISHER_CONNINFO dbname=$p"
    exists=$(sql "$DATAHUB_ADMIN_URL" -v sub="datahub_$p" \
        <<<"SELECT count(*) FROM pg_subscription WHERE subname = :'sub'")
    if [[ $exists == 0 ]]; then
        create_subscription "$p" "$conninfo"
    else
        update_subscription "$p" "$conninfo"
    fi
}

# Until every table's first copy is done (state r, ready), within DATAHUB_WAIT_S.
wait_for_copy() {
    local deadline=$((SECONDS + DATAHUB_WAIT_S)) pending
    while :; do
        pending=$(sql "$DATAHUB_ADMIN_URL" <<<"SELECT count(*) FROM pg_subscription_rel r
            JOIN pg_subscription s ON s.oid = r.srsubid
           WHERE s.subname LIKE 'datahub\_%' AND r.srsubstate <> 'r'")
        [[ $pending == 0 ]] && return 0
        if ((SECONDS >= deadline)); then
            echo "$prog: warning: $pending tables still being copied after ${DATAHUB_WAIT_S} s; they follow when done" >&2
            return 0
        fi
        sleep 0.2
    done
}

cmd_setup() {
    local p
    check_publisher
    for p in "${platforms[@]}"; do
        apply_migrations "$p" '*_publication.sql' "$SCHEMA_ROOT/$p" "$SCHEMA_ROOT/common"
        adopt_published "$p"
    done
    apply_migrations public '' "$SCHEMA_ROOT/datahub"
    grant_reader
    for p in "${platforms[@]}"; do
        prepare_publisher "$p"
        subscribe "$p"
    done
    wait_for_copy
    echo "$prog: datahub follows ${platforms[*]}"
}

(($# == 1)) || usage
case $1 in
setup) cmd_setup ;;
*) usage ;;
esac
