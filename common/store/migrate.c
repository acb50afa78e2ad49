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

/* One migration: its file name (what schema_migrations records) and the
 * directory it is read from. */
typedef struct {
    char *name;
    const char *dir;
} migration;

static int cmp_migrations(const void *a, const void *b)
{
    return strcmp(((const migration *)a)->name, ((const migration *)b)->name);
}

/* Adds the migrations of dir to *list. ERR (logged) if dir cannot be read. */
static int list_dir(const char *dir, migration **list, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    if (!d) {
        log_error("cannot open migration directory %s", dir);
        return ERR;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_migration(e->d_name)) continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *list = xrealloc(*list, *cap * sizeof **list);
        }
        (*list)[(*n)++] = (migration){xstrdup(e->d_name), dir};
    }
    closedir(d);
    return OK;
}

/* "schema/grid" -> "schema/common": the directory beside dir. */
static char *common_dir(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    size_t slash = len;
    while (slash > 0 && dir[slash - 1] != '/') slash--;
    return slash ? xasprintf("%.*s" MIGRATE_COMMON, (int)slash, dir) : xstrdup(MIGRATE_COMMON);
}

int migrate_apply(PGconn *pg, const char *dir, const char *service)
{
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    char *common = common_dir(dir);
    migration *list = NULL;
    size_t n = 0, cap = 0;
    int rc = list_dir(dir, &list, &n, &cap);
    if (rc == OK) rc = list_dir(common, &list, &n, &cap);
    qsort(list, n, sizeof *list, cmp_migrations);
    /* Recorded by name alone, so one name may not be in both. */
    for (size_t i = 1; rc == OK && i < n; i++)
        if (strcmp(list[i - 1].name, list[i].name) == 0) {
            log_error("migration %s is both in %s and in %s", list[i].name, dir, common);
            rc = ERR;
        }

    if (rc == OK) rc = exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", "lock");
    if (rc == OK)
        rc = exec_ok(pg,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                     "bookkeeping");
    int count = 0;
    for (size_t i = 0; rc == OK && i < n; i++) {
        if (applied(pg, list[i].name)) continue;
        rc = apply_one(pg, list[i].dir, list[i].name);
        count++;
    }
    exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", "unlock");
    for (size_t i = 0; i < n; i++) free(list[i].name);
    free(list);
    free(common);
    if (rc == OK) log_info("%s schema up to date (%d migrations applied now)", service, count);
    return rc;
}
