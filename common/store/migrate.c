/* migrate.c -- see migrate.h. */
#include "store/migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/core.h"
#include "base/log.h"

/* Any constant will do; it only has to be the same for every instance. */
#define MIGRATION_LOCK_KEY "7319001"

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_migration(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sql") == 0 && name[0] >= '0' && name[0] <= '9';
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    sbuf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sb_appendn(&b, chunk, n);
    fclose(f);
    return sb_steal(&b);
}

static int exec_ok(PGconn *pg, const char *sql, const char *what)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) log_error("migration %s failed: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? OK : ERR;
}

static int applied(PGconn *pg, const char *version)
{
    const char *params[] = {version};
    PGresult *r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
                               params, NULL, NULL, 0);
    int yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    PQclear(r);
    return yes;
}

static int apply_one(PGconn *pg, const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    char *sql = read_file(path);
    free(path);
    if (!sql) {
        log_error("cannot read migration %s/%s", dir, name);
        return ERR;
    }
    int rc = exec_ok(pg, "BEGIN", name);
    if (rc == OK) rc = exec_ok(pg, sql, name);
    if (rc == OK) {
        const char *params[] = {name};
        PGresult *r = PQexecParams(pg, "INSERT INTO schema_migrations (version) VALUES ($1)", 1,
                                   NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) rc = ERR;
        PQclear(r);
    }
    rc = rc == OK ? exec_ok(pg, "COMMIT", name) : (exec_ok(pg, "ROLLBACK", name), ERR);
    free(sql);
    if (rc == OK) log_info("applied migration %s", name);
    return rc;
}

/* Server notices ("already exists, skipping") are expected here: keep them
 * out of the log unless asked for. */
static void quiet_notice(void *arg, const char *message)
{
    log_debug("postgresql: %s", message);
}

int migrate_apply(PGconn *pg, const char *dir, const char *service)
{
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    DIR *d = opendir(dir);
    if (!d) {
        log_error("cannot open SCHEMA_DIR %s", dir);
        return ERR;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_migration(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);

    int rc = exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", "lock");
    if (rc == OK)
        rc = exec_ok(pg,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                     "bookkeeping");
    int count = 0;
    for (size_t i = 0; rc == OK && i < n; i++) {
        if (applied(pg, names[i])) continue;
        rc = apply_one(pg, dir, names[i]);
        count++;
    }
    exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", "unlock");
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc == OK) log_info("%s schema up to date (%d migrations applied now)", service, count);
    return rc;
}
