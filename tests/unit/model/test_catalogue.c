/* test_catalogue.c -- common/model/catalogue_check.c over both services' real
 * declarations (grid-svc/ and cust-svc/collections.c, built as the daemons
 * build them) with the real config/policy.json, and over bad declarations
 * that must fail; the broken-link kinds (model/breaks.h) against the views
 * of schema/datahub; and a city citygen writes, line by line, against the
 * declarations: every field it writes is declared, every required one is
 * written, enums and codes are what the declarations allow. citygen is the
 * one of the build this test was built in (BUILD/citygen). */
#include "../unit_helpers.h"

#include <jansson.h>

#include "cust.h"
#include "grid.h"
#include "model/breaks.h"
#include "model/catalogue_check.h"
#include "model/policy.h"

static const char *self; /* argv[0], to find BUILD/citygen */

static policy *real_policy(void)
{
    char err[512] = "";
    char *path = repo_file("config/policy.json");
    policy *p = policy_load(path, err, sizeof err);
    if (!p) fail_msg("policy_load(%s): %s", path, err);
    free(path);
    return p;
}

/* ---- the real declarations ---------------------------------------------------- */

static void check_clean(const service_def *def)
{
    policy *pol = real_policy();
    char err[4096];
    int n = catalogue_check(def, pol, err, sizeof err);
    if (n != 0) print_error("%s: %d problems: %s\n", service_name(def->id), n, err);
    assert_int_equal(n, 0);
    assert_string_equal(err, "");
    policy_free(pol);
}

static void grid_declarations_hold(void **state)
{
    check_clean(grid_service());
}

static void cust_declarations_hold(void **state)
{
    check_clean(cust_service());
}

/* ---- bad declarations fail, each with its reason -------------------------------- */

static const char *const two[] = {"a", "b", NULL};
static const char *const zz[] = {"ZZ", NULL};
static const char *const ss[] = {"SS", NULL};

static const field_def bad_fields[] = {
    {.name = "Voltage", .type = FT_NUM},
    {.name = "code", .type = FT_TEXT},
    {.name = "mode", .type = FT_ENUM, .values = two, .dflt = "c"},
    {.name = "owner", .type = FT_CODE, .refs = zz},
    {.name = "a_name_that_runs_on_and_on_and_on_past_what_postgres_keeps_of_a_name", .type = FT_TEXT},
    {.name = "size", .type = FT_NUM, .flags = FF_SEARCH},
    FIELDS_END,
};

static const field_def ok_fields[] = {
    {.name = "name", .type = FT_TEXT},
    FIELDS_END,
};

static const collection_def bad_collections[] = {
    {.prefix = "XX", .table = "things", .fields = ok_fields, .statuses = &grid_statuses},
    {.prefix = "CU", .table = "customers", .fields = ok_fields, .statuses = &grid_statuses},
    {.prefix = "SS", .table = "substations; drop", .fields = bad_fields,
     .statuses = &grid_statuses},
};

static const chain_shortcut bad_shortcut = {.table = "reach", .near_col = "Near",
                                            .far_col = "far", .far = ss, .skips = zz};

static const relation_def bad_relations[] = {
    {.kind = "thing-thing", .table = "rel_thing_thing", .from = ss, .to = ss, .attrs = ok_fields},
    {.kind = "meter-meterbox", .table = "rel_meter_meterbox", .from = ss, .to = zz,
     .attrs = ok_fields, .shortcut = &bad_shortcut},
};

static const service_def bad_def = {
    .id = SVC_GRID,
    .collections = bad_collections,
    .ncollections = 3,
    .relations = bad_relations,
    .nrelations = 2,
};

static void expect(const char *err, const char *what)
{
    if (!strstr(err, what)) fail_msg("no problem saying \"%s\" in: %s", what, err);
}

static void bad_declarations_fail(void **state)
{
    char err[8192];
    int n = catalogue_check(&bad_def, NULL, err, sizeof err);
    expect(err, "things: prefix 'XX' is no type");
    expect(err, "customers: prefix CU belongs to cust-svc in bizcode.c, not grid-svc");
    expect(err, "table 'substations; drop' is not a lower-case SQL name");
    expect(err, "field 'Voltage' is not a lower-case SQL name");
    expect(err, "substations; drop.code: the name of a column every such table has");
    expect(err, "default 'c' is not among its values");
    expect(err, "the code names 'ZZ', no type of bizcode.c");
    expect(err, "field 'a_name_that_runs_on_and_on_and_on_past_what_postgres_keeps_of_a_name'");
    expect(err, "substations; drop.size: only text fields are searched (FF_SEARCH)");
    expect(err, "relation thing-thing: no relation kind of bizcode.c's registry");
    expect(err, "relation meter-meterbox: belongs to cust-svc in bizcode.c, not grid-svc");
    expect(err, "to names 'ZZ'");
    expect(err, "shortcut column 'Near'");
    expect(err, "the shortcut's skipped objects names 'ZZ'");
    expect(err, "bizcode.c registers LN (lines) for grid-svc, which declares no such collection");
    expect(err, "bizcode.c registers the relation line-transformer for grid-svc, which does not");
    /* and what the registry gives grid-svc that bad_def leaves out: all but SS */
    int undeclared = 0;
    for (int i = 0; i < biz_ntypes; i++)
        undeclared += biz_types[i].owner == SVC_GRID && strcmp(biz_types[i].prefix, "SS") != 0;
    for (int i = 0; i < biz_nrelations; i++) undeclared += biz_relations[i].owner == SVC_GRID;
    assert_int_equal(n, 14 + undeclared);

    /* A short buffer holds what fits, and the count stays whole. */
    char small[40];
    assert_int_equal(catalogue_check(&bad_def, NULL, small, sizeof small), n);
    assert_true(strlen(small) < sizeof small);
}

/* The policy: a collection without a rule, a rule for nothing declared. */
static void policy_mismatches_fail(void **state)
{
    char *path = write_temp(
        "{\"admin_roles\": [\"admin\"], \"rules\": ["
        " {\"target\": \"substations\", \"roles\": [\"production\"]},"
        " {\"target\": \"lines\", \"when\": {\"kind\": \"private\"}, \"roles\": [\"x\"]},"
        " {\"target\": \"lines\", \"when\": {\"colour\": \"red\"}, \"roles\": [\"x\"]},"
        " {\"target\": \"switchgear\", \"roles\": [\"production\"]},"
        " {\"target\": \"relations/pole-tree\", \"roles\": [\"production\"]},"
        " {\"target\": \"work-orders/surveyed\", \"roles\": [\"marketing\"]},"
        " {\"target\": \"work-orders/dreamt\", \"roles\": [\"marketing\"]}]}");
    char err[8192];
    policy *pol = policy_load(path, err, sizeof err);
    assert_non_null(pol);
    assert_true(catalogue_check(grid_service(), pol, err, sizeof err) >= 7);
    expect(err, "no rule for transformers (target \"transformers\")");
    expect(err, "no rule for target \"relations/substation-line\"");
    expect(err, "target switchgear names no declared collection");
    expect(err, "target relations/pole-tree names no declared relation");
    expect(err, "target work-orders/dreamt names no declared collection and step");
    expect(err, "\"when\" kind is not a field of lines");
    expect(err, "\"when\" colour is not a field of lines");
    assert_null(strstr(err, "work-orders/surveyed"));
    assert_null(strstr(err, "substations ("));
    policy_free(pol);
    remove_temp(path);
}

/* ---- the broken-link kinds ------------------------------------------------------ */

static char *slurp(const char *rel)
{
    char *path = repo_file(rel);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    sbuf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sb_appendn(&b, chunk, n);
    fclose(f);
    free(path);
    return sb_steal(&b);
}

/* Every kind is spelt by the views, and every word of the views that is
 * shaped like a kind ('x_without_y', ...) is one of the list. */
static void break_kinds_match_the_views(void **state)
{
    static const char *const files[] = {"schema/datahub/001_report.sql",
                                        "schema/datahub/002_grid_breaks_direct.sql"};
    sbuf all = {0};
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        /* Without comments, whose apostrophes are no quotes. */
        char *sql = slurp(files[i]);
        for (char *line = strtok(sql, "\n"); line; line = strtok(NULL, "\n")) {
            char *dash = strstr(line, "--");
            sb_appendn(&all, line, dash ? (size_t)(dash - line) : strlen(line));
            sb_append(&all, "\n");
        }
        free(sql);
    }
    char *sql = sb_steal(&all);
    for (int k = 0; k < N_BREAK_KINDS; k++) {
        char *quoted = xasprintf("'%s'", break_kinds[k]);
        if (!strstr(sql, quoted)) fail_msg("schema/datahub never spells %s", quoted);
        free(quoted);
    }
    int seen = 0;
    for (const char *q = strchr(sql, '\''); q; q = strchr(q + 1, '\'')) {
        const char *end = strchr(q + 1, '\'');
        if (!end) break;
        char *word = xstrndup(q + 1, (size_t)(end - q - 1));
        if (strstr(word, "_without_") || strstr(word, "dangling") || strstr(word, "_but_")) {
            seen++;
            if (!break_kind_known(word)) fail_msg("schema/datahub reports '%s', not in breaks.c", word);
        }
        free(word);
        q = end;
    }
    assert_true(seen >= N_BREAK_KINDS);
    free(sql);
}

/* ---- what citygen writes ------------------------------------------------------------ */

typedef struct {
    const field_def *fields;
    const char *what;
    int relation;
} target;

static const collection_def *own_collection(const service_def *def, const char *path)
{
    const biz_type *t = biz_type_by_collection(path);
    return t ? catalogue_collection(def, t->prefix) : NULL;
}

static const relation_def *own_relation(const service_def *def, const char *kind)
{
    for (int i = 0; i < def->nrelations; i++)
        if (strcmp(def->relations[i].kind, kind) == 0) return &def->relations[i];
    return NULL;
}

static int has_prefix(const char *const *refs, const char *code)
{
    for (int i = 0; refs && refs[i]; i++)
        if (code && strncmp(code, refs[i], 2) == 0 && code[2] == '-') return 1;
    return 0;
}

/* One line against its declaration; the first problem, or NULL. */
static const char *line_problem(const target *t, json_t *o)
{
    static char why[256];
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!t->relation && strcmp(key, "code") == 0) continue;
        if (t->relation && (strcmp(key, "from") == 0 || strcmp(key, "to") == 0)) continue;
        const field_def *f = t->fields;
        while (f && f->name && strcmp(f->name, key) != 0) f++;
        if (!f || !f->name || (f->flags & FF_SERVER)) {
            snprintf(why, sizeof why, "writes %s, which is not a declared field", key);
            return why;
        }
        if (f->type == FT_ENUM) {
            int ok = 0;
            for (int i = 0; f->values[i]; i++) ok |= strcmp(f->values[i], json_string_value(v) ? json_string_value(v) : "") == 0;
            if (!ok) {
                snprintf(why, sizeof why, "%s is not one of its values", key);
                return why;
            }
        }
        if (f->type == FT_CODE && !has_prefix(f->refs, json_string_value(v))) {
            snprintf(why, sizeof why, "%s names no code of its types", key);
            return why;
        }
    }
    for (const field_def *f = t->fields; f && f->name; f++)
        if ((f->flags & FF_REQUIRED) && !(f->flags & FF_SERVER) && !json_object_get(o, f->name)) {
            snprintf(why, sizeof why, "required field %s is missing", f->name);
            return why;
        }
    return NULL;
}

static void check_file(const char *dir, const char *file, const target *t, long long *lines)
{
    char *path = xasprintf("%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    long long n = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o)) fail_msg("%s:%lld: not a JSON object", file, n + 1);
        const char *why = line_problem(t, o);
        if (why) fail_msg("%s:%lld (%s): %s", file, n + 1, t->what, why);
        json_decref(o);
        n++;
    }
    free(line);
    fclose(f);
    free(path);
    *lines += n;
}

static char *citygen_path(void)
{
    const char *cut = strstr(self, "/tests/unit/");
    if (!cut) fail_msg("cannot tell the build directory from %s", self);
    return xasprintf("%.*s/citygen", (int)(cut - self), self);
}

static void citygen_writes_what_is_declared(void **state)
{
    char dir[] = "/tmp/unit-citygen-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *citygen = citygen_path();
    char *cmd = xasprintf("'%s' --customers 1000 --faults 1 --out '%s/city' >/dev/null", citygen,
                          dir);
    int rc = system(cmd);
    free(cmd);
    free(citygen);
    assert_int_equal(rc, 0);

    char *city = xasprintf("%s/city", dir);
    char *order = xasprintf("%s/load-order.tsv", city);
    FILE *f = fopen(order, "r");
    assert_non_null(f);
    char svc[16], api[160], file[160];
    long long rows, lines = 0, files = 0;
    while (fscanf(f, "%15s %159s %159s %lld", svc, api, file, &rows) == 4) {
        const service_def *def = strcmp(svc, "grid") == 0 ? grid_service() : cust_service();
        char name[160];
        target t = {0};
        if (sscanf(api, "/v1/relations/%159[^:]:import", name) == 1) {
            const relation_def *r = own_relation(def, name);
            if (!r) fail_msg("%s: relation %s is not %s's", file, name, svc);
            t = (target){r->attrs, r->kind, 1};
        } else if (sscanf(api, "/v1/%159[^:]:import", name) == 1) {
            const collection_def *c = own_collection(def, name);
            if (!c) fail_msg("%s: collection %s is not %s's", file, name, svc);
            t = (target){c->fields, c->table, 0};
        } else {
            fail_msg("load-order.tsv: import path %s", api);
        }
        check_file(city, file, &t, &lines);
        files++;
    }
    fclose(f);
    free(order);
    assert_true(files >= 20);
    assert_true(lines > 1000);

    /* Faults of every kind the report knows, and of no other. */
    char *faults = xasprintf("%s/faults.ndjson", city);
    f = fopen(faults, "r");
    assert_non_null(f);
    int seen[N_BREAK_KINDS] = {0};
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        int k = 0;
        while (k < N_BREAK_KINDS && (!kind || strcmp(break_kinds[k], kind) != 0)) k++;
        if (k == N_BREAK_KINDS) fail_msg("faults.ndjson: kind %s is none of breaks.c", kind);
        seen[k]++;
        json_decref(o);
    }
    free(line);
    fclose(f);
    for (int k = 0; k < N_BREAK_KINDS; k++)
        if (!seen[k]) fail_msg("citygen --faults plants no %s", break_kinds[k]);
    free(faults);

    cmd = xasprintf("rm -rf -- '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(city);
}

int main(int argc, char **argv)
{
    self = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grid_declarations_hold),
        cmocka_unit_test(cust_declarations_hold),
        cmocka_unit_test(bad_declarations_fail),
        cmocka_unit_test(policy_mismatches_fail),
        cmocka_unit_test(break_kinds_match_the_views),
        cmocka_unit_test(citygen_writes_what_is_declared),
    };
    return cmocka_run_group_tests_name("catalogue", tests, NULL, NULL);
}
