/* catalogue_check.c -- the declarations held to the registry, the policy and
 * the database (see catalogue_check.h). */
#include "model/catalogue_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/core.h"
#include "base/log.h"
#include "store/pgarray.h"

/* The columns every object and every link table takes from its shape
 * (<platform>_object, <platform>_link in 001_foundation.sql): the generic
 * code reads them, so a field may not be named like one. */
static const char *const object_columns[] = {"code",       "status",     "version",
                                             "created_at", "updated_at", "updated_by", NULL};
static const char *const link_columns[] = {"id",       "from_code",  "to_code",  "status",
                                           "valid_from", "valid_to", "created_by", "ended_by",
                                           NULL};

/* ---- problems ---------------------------------------------------------------- */

typedef struct {
    char *out;
    size_t len, used;
    int n;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...)
{
    p->n++;
    if (!p->out || p->len == 0 || p->used + 1 >= p->len) return;
    if (p->used > 0) {
        int k = snprintf(p->out + p->used, p->len - p->used, "; ");
        if (k < 0 || (size_t)k >= p->len - p->used) {
            p->used = p->len - 1;
            return;
        }
        p->used += (size_t)k;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->out + p->used, p->len - p->used, fmt, ap);
    va_end(ap);
    p->used = k < 0 || (size_t)k >= p->len - p->used ? p->len - 1 : p->used + (size_t)k;
}

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list && list[i]; i++)
        if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

/* [a-z_][a-z0-9_]*, with room for `extra` more bytes within SQL_NAME_MAX. */
static int sql_name(const char *s, size_t extra)
{
    if (!s || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return 0;
    return n + extra <= SQL_NAME_MAX;
}

static void check_name(problems *p, const char *where, const char *what, const char *s,
                       size_t extra)
{
    if (!sql_name(s, extra))
        problem(p, "%s: %s '%s' is not a lower-case SQL name ([a-z_][a-z0-9_]*) of at most %d "
                   "bytes%s", where, what, s ? s : "(none)", (int)(SQL_NAME_MAX - extra),
                extra ? " (columns and constraints add a suffix)" : "");
}

/* ---- looking things up ------------------------------------------------------------ */

static const field_def *field_named(const field_def *fields, const char *name)
{
    for (const field_def *f = fields; f && f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

/* The collection whose path (the registry's name, as in /v1/<name>) is name. */
static const collection_def *collection_by_path(const service_def *def, const char *name,
                                                size_t len)
{
    for (int i = 0; i < biz_ntypes; i++) {
        const char *path = biz_types[i].collection;
        if (strlen(path) == len && strncmp(path, name, len) == 0)
            return catalogue_any_collection(def, biz_types[i].prefix);
    }
    return NULL;
}

static const relation_def *relation_by_kind(const service_def *def, const char *kind)
{
    for (int i = 0; i < def->nrelations; i++)
        if (strcmp(def->relations[i].kind, kind) == 0) return &def->relations[i];
    for (int i = 0; i < def->peer_nrelations; i++)
        if (strcmp(def->peer_relations[i].kind, kind) == 0) return &def->peer_relations[i];
    return NULL;
}

/* ---- the declarations on their own ------------------------------------------------ */

static void check_prefixes(problems *p, const char *where, const char *what,
                           const char *const *prefixes)
{
    if (!prefixes || !prefixes[0]) {
        problem(p, "%s: %s names no type", where, what);
        return;
    }
    for (int i = 0; prefixes[i]; i++)
        if (strlen(prefixes[i]) != 2 || !biz_type_by_prefix(prefixes[i]))
            problem(p, "%s: %s names '%s', no type of bizcode.c", where, what, prefixes[i]);
}

/* A condition on the object a code names: a field of each type it may
 * name, and one of that field's values. */
static void check_rule(problems *p, const service_def *def, const char *where,
                       const char *const *prefixes, const end_rule *rule)
{
    if (!rule) return;
    for (int i = 0; prefixes && prefixes[i]; i++) {
        const collection_def *c = catalogue_any_collection(def, prefixes[i]);
        const field_def *f = c ? field_named(c->fields, rule->field) : NULL;
        if (!c) continue; /* a type neither platform declares: check_prefixes said so */
        if (!f || f->type != FT_ENUM || !in_list(f->values, rule->value))
            problem(p, "%s: its rule %s = %s is not a value of an enum field of %s", where,
                    rule->field, rule->value, c->table);
    }
}

static void check_fields(problems *p, const service_def *def, const char *table,
                         const field_def *fields, const char *const *reserved)
{
    char where[160];
    for (const field_def *f = fields; f && f->name; f++) {
        snprintf(where, sizeof where, "%s.%s", table, f->name);
        check_name(p, where, "field", f->name, f->type == FT_LOCATION ? 4 : 0); /* _lon */
        if (in_list(reserved, f->name))
            problem(p, "%s: the name of a column every such table has", where);
        if (field_named(fields, f->name) != f) problem(p, "%s: declared twice", where);
        /* The UNIQUE constraint's name, <table>_<name>_key, is looked up by it. */
        if ((f->flags & FF_UNIQUE) && strlen(table) + strlen(f->name) + 5 > SQL_NAME_MAX)
            problem(p, "%s: its constraint %s_%s_key is over %d bytes", where, table, f->name,
                    SQL_NAME_MAX);
        if ((f->flags & FF_SEARCH) && f->type != FT_TEXT)
            problem(p, "%s: only text fields are searched (FF_SEARCH)", where);
        if (f->type == FT_ENUM && (!f->values || !f->values[0]))
            problem(p, "%s: an enum without values", where);
        if (f->type == FT_ENUM && f->dflt && !in_list(f->values, f->dflt))
            problem(p, "%s: default '%s' is not among its values", where, f->dflt);
        if (f->type == FT_CODE || f->type == FT_CODES) {
            check_prefixes(p, where, "the code", f->refs);
            check_rule(p, def, where, f->refs, f->rule);
        }
    }
}

static void check_statuses(problems *p, const char *where, const status_set *s)
{
    if (!s || !s->values || !s->initial || !in_list(s->values, s->initial))
        problem(p, "%s: its statuses need values and an initial one among them", where);
}

static void check_collection(problems *p, const service_def *def, const collection_def *c)
{
    const char *where = c->table ? c->table : "(a collection without a table)";
    const biz_type *t = c->prefix && strlen(c->prefix) == 2 ? biz_type_by_prefix(c->prefix) : NULL;
    check_name(p, where, "table", c->table, 0);
    if (!t)
        problem(p, "%s: prefix '%s' is no type of bizcode.c's registry", where,
                c->prefix ? c->prefix : "(none)");
    else if (t->owner != def->id)
        problem(p, "%s: prefix %s belongs to %s in bizcode.c, not %s", where, c->prefix,
                service_name(t->owner), service_name(def->id));
    for (const collection_def *o = def->collections; o < c; o++) {
        if (c->prefix && o->prefix && strcmp(o->prefix, c->prefix) == 0)
            problem(p, "%s: prefix %s is declared twice", where, c->prefix);
        if (c->table && o->table && strcmp(o->table, c->table) == 0)
            problem(p, "%s: table declared twice", where);
    }
    check_statuses(p, where, c->statuses);
    if (!c->fields) problem(p, "%s: no field list (FIELDS_END alone for none)", where);
    if (c->table) check_fields(p, def, c->table, c->fields, object_columns);
}

static void check_relation(problems *p, const service_def *def, const relation_def *r)
{
    const char *where = r->kind ? r->kind : "(a relation without a kind)";
    const biz_relation *k = r->kind ? biz_relation_by_kind(r->kind) : NULL;
    if (!k)
        problem(p, "relation %s: no relation kind of bizcode.c's registry", where);
    else if (k->owner != def->id)
        problem(p, "relation %s: belongs to %s in bizcode.c, not %s", where,
                service_name(k->owner), service_name(def->id));
    check_name(p, where, "table", r->table, 0);
    for (int i = 0; i < def->ncollections; i++)
        if (r->table && def->collections[i].table &&
            strcmp(def->collections[i].table, r->table) == 0)
            problem(p, "relation %s: table %s is a collection's", where, r->table);
    for (const relation_def *o = def->relations; o < r; o++) {
        if (r->kind && o->kind && strcmp(o->kind, r->kind) == 0)
            problem(p, "relation %s: declared twice", where);
        if (r->table && o->table && strcmp(o->table, r->table) == 0)
            problem(p, "relation %s: table %s is another relation's", where, r->table);
    }
    check_prefixes(p, where, "from", r->from);
    check_prefixes(p, where, "to", r->to);
    check_rule(p, def, where, r->from, r->from_rule);
    check_rule(p, def, where, r->to, r->to_rule);
    if (r->table) check_fields(p, def, r->table, r->attrs, link_columns);
    const chain_shortcut *s = r->shortcut;
    if (s) {
        check_name(p, where, "shortcut table", s->table, 0);
        check_name(p, where, "shortcut column", s->near_col, 0);
        check_name(p, where, "shortcut column", s->far_col, 0);
        check_prefixes(p, where, "the shortcut's far end", s->far);
        check_prefixes(p, where, "the shortcut's skipped objects", s->skips);
    }
}

/* ---- the policy ------------------------------------------------------------------ */

static int has_target(const policy *pol, const char *target)
{
    for (int i = 0; i < policy_count(pol); i++)
        if (strcmp(policy_target(pol, i), target) == 0) return 1;
    return 0;
}

/* "when": fields of the collection, each with one of its enum values. */
static void check_when(problems *p, const char *target, const collection_def *c,
                       const json_t *when)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)when, k, v) {
        const field_def *f = c ? field_named(c->fields, k) : NULL;
        const char *s = json_string_value(v);
        if (!f || (f->type == FT_ENUM && (!s || !in_list(f->values, s))))
            problem(p, "config/policy.json: rule for %s: \"when\" %s is not a field of %s, or "
                       "that value is not one of its values", target, k, c ? c->table : "it");
    }
}

/* "collection", "relations/KIND", or "collection/STEP" where STEP is a
 * value of a field only the platform sets (a work order's steps), a
 * command, or a view whose data its own routes write (a meter's readings). */
static void check_target(problems *p, const service_def *def, const char *target,
                         const json_t *when)
{
    if (strncmp(target, "relations/", 10) == 0) {
        if (!relation_by_kind(def, target + 10))
            problem(p, "config/policy.json: target %s names no declared relation", target);
        if (when) problem(p, "config/policy.json: target %s: links have no \"when\"", target);
        return;
    }
    const char *slash = strchr(target, '/');
    const collection_def *c =
        collection_by_path(def, target, slash ? (size_t)(slash - target) : strlen(target));
    int step = 0;
    for (const field_def *f = c && slash ? c->fields : NULL; f && f->name; f++)
        if (f->type == FT_ENUM && (f->flags & FF_SERVER) && in_list(f->values, slash + 1))
            step = 1;
    if (c && slash && c->commands && in_list(c->commands, slash + 1)) step = 1;
    if (c && slash && c->views && in_list(c->views, slash + 1)) step = 1; /* meters/readings */
    if (!c || (slash && !step))
        problem(p, "config/policy.json: target %s names no declared collection%s", target,
                slash ? " and step or command" : "");
    else if (when)
        check_when(p, target, c, when);
}

static void check_policy(problems *p, const service_def *def, const policy *pol)
{
    for (int i = 0; i < def->ncollections; i++) {
        const biz_type *t = biz_type_by_prefix(def->collections[i].prefix);
        if (t && !has_target(pol, t->collection))
            problem(p, "config/policy.json has no rule for %s (target \"%s\"): add one saying "
                       "which roles write it", def->collections[i].table, t->collection);
    }
    for (int i = 0; i < def->nrelations; i++) {
        char target[128];
        snprintf(target, sizeof target, "relations/%s", def->relations[i].kind);
        if (!has_target(pol, target))
            problem(p, "config/policy.json has no rule for target \"%s\"", target);
    }
    for (int i = 0; i < policy_count(pol); i++)
        check_target(p, def, policy_target(pol, i), policy_when(pol, i));
}

/* The other way round: what the registry gives this service is declared. */
static void check_registry(problems *p, const service_def *def)
{
    for (int i = 0; i < biz_ntypes; i++)
        if (biz_types[i].owner == def->id && !catalogue_collection(def, biz_types[i].prefix))
            problem(p, "bizcode.c registers %s (%s) for %s, which declares no such collection",
                    biz_types[i].prefix, biz_types[i].collection, service_name(def->id));
    for (int i = 0; i < biz_nrelations; i++) {
        int found = 0;
        for (int j = 0; j < def->nrelations; j++)
            found |= def->relations[j].kind && strcmp(def->relations[j].kind, biz_relations[i].kind) == 0;
        if (biz_relations[i].owner == def->id && !found)
            problem(p, "bizcode.c registers the relation %s for %s, which does not declare it",
                    biz_relations[i].kind, service_name(def->id));
    }
}

int catalogue_check(const service_def *def, const policy *pol, char *err, size_t errlen)
{
    problems p = {err, errlen, 0, 0};
    if (err && errlen) err[0] = '\0';
    for (int i = 0; i < def->ncollections; i++) check_collection(&p, def, &def->collections[i]);
    for (int i = 0; i < def->nrelations; i++) check_relation(&p, def, &def->relations[i]);
    check_registry(&p, def);
    if (pol) check_policy(&p, def, pol);
    return p.n;
}

/* ---- the database ------------------------------------------------------------------ */

typedef struct {
    PGresult *r; /* rows (table, column) */
    problems *p;
    const char *schema; /* where the migrations are, for the message */
} columns_seen;

static int has_column(const columns_seen *s, const char *table, const char *column)
{
    for (int i = 0; i < PQntuples(s->r); i++)
        if (strcmp(PQgetvalue(s->r, i, 0), table) == 0 &&
            (!column || strcmp(PQgetvalue(s->r, i, 1), column) == 0))
            return 1;
    return 0;
}

static void want_column(const columns_seen *s, const char *table, const char *column,
                        const char *suffix)
{
    char name[SQL_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s%s", column, suffix);
    if (!has_column(s, table, name))
        problem(s->p, "column %s.%s is declared but not in the database: add it in a "
                      "migration in %s", table, name, s->schema);
}

/* A table that is missing is said once, not once per column. */
static void want_table(const columns_seen *s, const char *table, const field_def *fields,
                       const char *const *base)
{
    if (!has_column(s, table, NULL)) {
        problem(s->p, "table %s is declared but not in the database: is its migration in %s?",
                table, s->schema);
        return;
    }
    for (int i = 0; base && base[i]; i++) want_column(s, table, base[i], "");
    for (const field_def *f = fields; f && f->name; f++) {
        if (f->type == FT_LOCATION) {
            want_column(s, table, f->name, "_lon");
            want_column(s, table, f->name, "_lat");
        } else {
            want_column(s, table, f->name, "");
        }
    }
}

static const char *platform_of(const service_def *def)
{
    return def->id == SVC_GRID ? "grid" : "cust";
}

int catalogue_missing_columns(PGconn *pg, const service_def *def, char *err, size_t errlen)
{
    problems p = {err, errlen, 0, 0};
    if (err && errlen) err[0] = '\0';
    pg_array tables = {0};
    for (int i = 0; i < def->ncollections; i++) pg_array_add(&tables, def->collections[i].table);
    for (int i = 0; i < def->nrelations; i++) {
        pg_array_add(&tables, def->relations[i].table);
        if (def->relations[i].shortcut) pg_array_add(&tables, def->relations[i].shortcut->table);
    }
    char *list = pg_array_steal(&tables);
    const char *params[] = {list};
    PGresult *r = PQexecParams(pg,
                               "SELECT table_name::text, column_name::text"
                               "  FROM information_schema.columns"
                               " WHERE table_schema = ANY (current_schemas(false))"
                               "   AND table_name = ANY ($1::text[])",
                               1, NULL, params, NULL, NULL, 0);
    free(list);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading information_schema.columns: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    char schema[32];
    snprintf(schema, sizeof schema, "schema/%s", platform_of(def));
    columns_seen s = {r, &p, schema};
    for (int i = 0; i < def->ncollections; i++)
        want_table(&s, def->collections[i].table, def->collections[i].fields, object_columns);
    for (int i = 0; i < def->nrelations; i++) {
        const relation_def *rel = &def->relations[i];
        want_table(&s, rel->table, rel->attrs, link_columns);
        if (!rel->shortcut) continue;
        const char *ends[] = {rel->shortcut->near_col, rel->shortcut->far_col, NULL};
        want_table(&s, rel->shortcut->table, NULL, ends);
    }
    PQclear(r);
    return p.n;
}

static int exec_ok(PGconn *pg, const char *sql, int nparams, const char *const *params)
{
    PGresult *r = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) log_error("publishing to the datahub: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

/* Adds to the publication each collection and relation table not yet in it,
 * under a lock of its own so that instances starting at once take turns. */
static int publish(PGconn *pg, const service_def *def)
{
    char pub[32];
    snprintf(pub, sizeof pub, "%s_datahub", platform_of(def));
    pg_array tables = {0};
    for (int i = 0; i < def->ncollections; i++) pg_array_add(&tables, def->collections[i].table);
    for (int i = 0; i < def->nrelations; i++) pg_array_add(&tables, def->relations[i].table);
    char *list = pg_array_steal(&tables);
    const char *params[] = {pub, list};
    int ok = exec_ok(pg, "BEGIN", 0, NULL) &&
             exec_ok(pg, "SELECT pg_advisory_xact_lock(7319003)", 0, NULL);
    PGresult *r = ok ? PQexecParams(pg,
                                    "SELECT t FROM unnest($2::text[]) AS t"
                                    " WHERE EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)"
                                    "   AND NOT EXISTS (SELECT 1 FROM pg_publication_tables"
                                    "                    WHERE pubname = $1 AND tablename = t)"
                                    " UNION ALL SELECT NULL WHERE NOT EXISTS"
                                    "  (SELECT 1 FROM pg_publication WHERE pubname = $1)",
                                    2, NULL, params, NULL, NULL, 0)
                     : NULL;
    free(list);
    if (ok && PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("publishing to the datahub: %s", PQresultErrorMessage(r));
        ok = 0;
    }
    for (int i = 0; ok && i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 0)) {
            log_error("the publication %s is missing: schema/%s's *_publication.sql migration "
                      "makes it", pub, platform_of(def));
            ok = 0;
            break;
        }
        /* The table's name is a declaration's, checked by catalogue_check. */
        char *sql = xasprintf("ALTER PUBLICATION %s ADD TABLE %s", pub, PQgetvalue(r, i, 0));
        ok = exec_ok(pg, sql, 0, NULL);
        if (ok) log_info("%s now publishes %s to the datahub", pub, PQgetvalue(r, i, 0));
        free(sql);
    }
    PQclear(r);
    exec_ok(pg, ok ? "COMMIT" : "ROLLBACK", 0, NULL);
    return ok ? OK : ERR;
}

int catalogue_check_database(PGconn *pg, const service_def *def)
{
    char err[2048];
    int n = catalogue_missing_columns(pg, def, err, sizeof err);
    if (n != 0) {
        log_error("%s's declarations and its database disagree (%d): %s", service_name(def->id),
                  n < 0 ? 1 : n, err);
        return ERR;
    }
    return publish(pg, def);
}
