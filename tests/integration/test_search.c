/* test_search.c -- GET /v1/search on both platforms: an object by its code
 * (ours and the peer's, asked at either daemon), by account number 户号 and
 * asset number (exactly), by a part of its name (Chinese, case-insensitive),
 * in one order (exact code, exact number, exact name, names containing q,
 * then by code), bounded by limit with truncated, refused with 400 and 401;
 * the peer's own half asked with the peer's mark does not ask back; and a
 * peer that cannot be reached leaves ours, marked partial and naming it.
 *
 * Each test makes its objects with a fresh token in their names and
 * numbers, so that what a search finds is exactly what the test made. */
#include "client.h"

#include "cust.h"
#include "grid.h"

#include <ctype.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------- */

static api_resp *search(const char *base, const char *q, const char *more)
{
    return api_get(base, strf("/v1/search?q=%s%s", urlenc(q), more ? more : ""), KEY_DISPATCH);
}

/* The items of a search that answered 200 whole (not partial). */
static json_t *hits(api_resp *r)
{
    assert_status(r, 200);
    json_t *items = json_object_get(r->json, "items");
    if (!json_is_array(items) || !json_is_boolean(json_object_get(r->json, "truncated")) ||
        !json_is_false(json_object_get(r->json, "partial"))) {
        api_dump(r);
        fail_msg("not a whole search answer");
    }
    return items;
}

/* The codes of the items, comma-separated, in their order. */
static const char *codes_of(json_t *items)
{
    char *out = it_strdup("");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) out = strf("%s%s%s", out, i ? "," : "", jstr(it, "code"));
    return out;
}

/* Two random characters of the CJK block: a Chinese word no other test uses. */
static char *cjk_pair(void)
{
    char *out = it_track(calloc(1, 8), free);
    char *p = out;
    for (int k = 0; k < 2; k++) {
        unsigned short r;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (unsigned short)rand();
        unsigned cp = 0x4E00 + r % (0x9FA5 - 0x4E00);
        *p++ = (char)(0xE0 | cp >> 12);
        *p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *p++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

static char *upper(const char *s)
{
    char *out = it_strdup(s);
    for (char *p = out; *p; p++) *p = (char)toupper((unsigned char)*p);
    return out;
}

static char *customer_with(const char *name, const char *account_no)
{
    json_t *b = json_pack("{s:s, s:s}", "name", name, "category", "lv_resident");
    if (account_no) json_object_set_new(b, "account_no", json_string(account_no));
    return mk(cust_url(), "customers", KEY_MARKETING, b);
}

static char *transformer_named(const char *name)
{
    return mk(grid_url(), "transformers", KEY_PRODUCTION,
              json_pack("{s:s, s:s, s:f, s:f}", "name", name, "kind", "public", "capacity_kva",
                        400.0, "voltage_kv", 10.0));
}

/* ---- by code ------------------------------------------------------------------------- */

/* A code is looked up where it is kept: the one object, matched "code", at
 * either daemon, lower case too; the daemon that keeps it does not ask the
 * peer at all. */
static void a_code_finds_its_object_on_either_platform(void **state)
{
    (void)state;
    char *name = strf("search code %s", uniq());
    char *cu = create_customer(name, NULL);
    char *ln = create_line(KEY_PRODUCTION, name, "public", 10);
    const char *bases[] = {grid_url(), cust_url()};
    for (int b = 0; b < 2; b++) {
        json_t *one = hits(search(bases[b], cu, NULL));
        assert_int_equal(json_array_size(one), 1);
        json_t *it = json_array_get(one, 0);
        assert_string_equal(jstr(it, "code"), cu);
        assert_string_equal(jstr(it, "matched"), "code");
        assert_string_equal(jstr(it, "type"), "customer");
        assert_string_equal(jstr(it, "collection"), "customers");
        assert_string_equal(jstr(it, "platform"), "cust-svc");
        assert_string_equal(jstr(it, "name"), name);
        json_t *two = hits(search(bases[b], strf("  %s ", ln), NULL));
        assert_string_equal(codes_of(two), ln);
        assert_string_equal(jstr(json_array_get(two, 0), "platform"), "grid-svc");
        assert_string_equal(jstr(json_array_get(two, 0), "collection"), "lines");
        char *lower = it_strdup(cu);
        for (char *p = lower; *p; p++) *p = (char)tolower((unsigned char)*p);
        assert_string_equal(codes_of(hits(search(bases[b], lower, NULL))), cu);
    }
    /* A valid code of nothing finds nothing, on either side of it. */
    assert_int_equal(json_array_size(hits(search(grid_url(), mint_code("CU"), NULL))), 0);
    assert_int_equal(json_array_size(hits(search(cust_url(), mint_code("CU"), NULL))), 0);
    /* Its keeper answers a code alone: one indexed read, no call to the peer. */
    double before = peer_requests_total(cust_url());
    assert_string_equal(codes_of(hits(search(cust_url(), cu, NULL))), cu);
    assert_true(peer_requests_total(cust_url()) == before);
}

/* ---- by number --------------------------------------------------------------------- */

/* Account and asset numbers are matched whole, at either daemon; a part of
 * one is not a match of the number. */
static void numbers_are_found_exactly(void **state)
{
    (void)state;
    char *t = uniq();
    char *account = strf("3301%s", t), *meter_no = strf("3330%s", t), *box_no = strf("3340%s", t);
    char *cu = customer_with(strf("户 %s", uniq()), account);
    char *mt = mk(cust_url(), "meters", KEY_MARKETING,
                  json_pack("{s:s, s:s}", "asset_no", meter_no, "phase", "single"));
    char *mb = mk(cust_url(), "meter-boxes", KEY_MARKETING,
                  json_pack("{s:s, s:s}", "name", strf("表箱 %s", uniq()), "asset_no", box_no));
    const char *bases[] = {grid_url(), cust_url()};
    for (int b = 0; b < 2; b++) {
        json_t *a = hits(search(bases[b], account, NULL));
        assert_string_equal(codes_of(a), cu);
        assert_string_equal(jstr(json_array_get(a, 0), "matched"), "account_no");
        assert_true(json_is_true(json_object_get(json_array_get(a, 0), "exact")));
        json_t *m = hits(search(bases[b], meter_no, NULL));
        assert_string_equal(codes_of(m), mt);
        assert_string_equal(jstr(json_array_get(m, 0), "matched"), "asset_no");
        assert_string_equal(jstr(json_array_get(m, 0), "type"), "meter");
        json_t *x = hits(search(bases[b], box_no, NULL));
        assert_string_equal(codes_of(x), mb);
        assert_string_equal(jstr(json_array_get(x, 0), "matched"), "asset_no");
        /* the number less its last symbol, or upper-cased, is no number */
        char *cut = strf("%.*s", (int)strlen(account) - 1, account);
        assert_int_equal(json_array_size(hits(search(bases[b], cut, NULL))), 0);
        assert_int_equal(json_array_size(hits(search(bases[b], upper(meter_no), NULL))), 0);
    }
}

/* ---- by name ----------------------------------------------------------------------- */

/* 湖墅 finds 湖墅线: a part of a Chinese name, on the platform that keeps it
 * and through the other, of two characters (no trigram) and of three. */
static void a_chinese_name_is_found_by_a_part(void **state)
{
    (void)state;
    char *ln = create_line(KEY_PRODUCTION, strf("10kV 湖墅线 %s", uniq()), "public", 10);
    const char *bases[] = {grid_url(), cust_url()};
    for (int b = 0; b < 2; b++) {
        api_resp *r = search(bases[b], "湖墅", "&limit=50");
        json_t *items = hits(r);
        int found = 0;
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) found |= strcmp(jstr(it, "code"), ln) == 0;
        if (!found) api_dump(r);
        assert_true(found);
    }
    /* A word of this run alone, so the answer is exact. */
    char *w = cjk_pair();
    char *cu = customer_with(strf("%s商贸有限公司", w), NULL);
    char *tr = transformer_named(strf("%s路1号公变", w));
    for (int b = 0; b < 2; b++) {
        assert_string_equal(codes_of(hits(search(bases[b], w, NULL))),
                            strcmp(cu, tr) < 0 ? strf("%s,%s", cu, tr) : strf("%s,%s", tr, cu));
        json_t *one = hits(search(bases[b], strf("%s路1号", w), NULL));
        assert_string_equal(codes_of(one), tr);
        assert_string_equal(jstr(json_array_get(one, 0), "matched"), "name");
        assert_true(json_is_false(json_object_get(json_array_get(one, 0), "exact")));
    }
}

/* Names match whatever their case; LIKE's wildcards in q are plain text. */
static void names_ignore_case_and_wildcards(void **state)
{
    (void)state;
    char *t = uniq();
    char *ln = create_line(KEY_PRODUCTION, strf("Line %s 50%%_off", t), "public", 10);
    for (int b = 0; b < 2; b++) {
        const char *base = b ? cust_url() : grid_url();
        assert_string_equal(codes_of(hits(search(base, upper(strf("line %s", t)), NULL))), ln);
        assert_string_equal(codes_of(hits(search(base, strf("%s 50%%_", t), NULL))), ln);
        assert_int_equal(json_array_size(hits(search(base, strf("%s 5%%", t), NULL))), 0);
        assert_int_equal(json_array_size(hits(search(base, strf("%s_50", t), NULL))), 0);
    }
}

/* ---- order, limit -------------------------------------------------------------------- */

/* The account number first, then the exact name, then names containing q by
 * code, whichever platform keeps each: the same answer at both. */
static void hits_come_in_one_order(void **state)
{
    (void)state;
    char *t = uniq();
    char *by_account = customer_with(strf("账户 %s", uniq()), t);
    char *exact_line = create_line(KEY_PRODUCTION, t, "public", 10);
    char *part_tr = transformer_named(strf("%s 1号公变", t));
    char *part_cu = customer_with(strf("用户 %s", t), NULL);
    char *part_mb = mk(cust_url(), "meter-boxes", KEY_MARKETING,
                       json_pack("{s:s}", "name", strf("%s 表箱", t)));
    char *parts[] = {part_tr, part_cu, part_mb};
    /* by code */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2 - i; j++)
            if (strcmp(parts[j], parts[j + 1]) > 0) {
                char *s = parts[j];
                parts[j] = parts[j + 1];
                parts[j + 1] = s;
            }
    const char *want = strf("%s,%s,%s,%s,%s", by_account, exact_line, parts[0], parts[1], parts[2]);
    api_resp *g = search(grid_url(), t, NULL), *c = search(cust_url(), t, NULL);
    assert_string_equal(codes_of(hits(g)), want);
    assert_string_equal(codes_of(hits(c)), want);
    assert_string_equal(jstr(json_array_get(hits(g), 1), "matched"), "name");
    assert_true(json_is_true(json_object_get(json_array_get(hits(g), 1), "exact")));
    assert_string_equal(jstr(g->json, "q"), t);
    /* the same again: stable */
    assert_string_equal(codes_of(hits(search(cust_url(), t, NULL))), want);
}

/* limit bounds the whole answer, ours and the peer's merged, and truncated
 * says there were more. */
static void limit_bounds_and_truncated_tells(void **state)
{
    (void)state;
    char *t = uniq();
    transformer_named(strf("%s A", t));
    transformer_named(strf("%s B", t));
    customer_with(strf("%s C", t), NULL);
    for (int b = 0; b < 2; b++) {
        const char *base = b ? cust_url() : grid_url();
        api_resp *all = search(base, t, NULL);
        assert_int_equal(json_array_size(hits(all)), 3);
        assert_true(json_is_false(json_object_get(all->json, "truncated")));
        const char *every = codes_of(hits(all));
        for (int limit = 1; limit <= 3; limit++) {
            api_resp *r = search(base, t, strf("&limit=%d", limit));
            json_t *items = hits(r);
            assert_int_equal(json_array_size(items), limit);
            assert_int_equal(json_is_true(json_object_get(r->json, "truncated")), limit < 3);
            assert_int_equal(strncmp(every, codes_of(items), strlen(codes_of(items))), 0);
        }
    }
}

/* ---- refused ------------------------------------------------------------------------- */

static void bad_searches_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"/v1/search", "/v1/search?q=", "/v1/search?q=%20%20%E3%80%80",
                         "/v1/search?q=a&limit=0", "/v1/search?q=a&limit=51",
                         "/v1/search?q=a&limit=x", "/v1/search?q=a&status=all",
                         "/v1/search?q=%FF%FEab", NULL};
    char *long_q = it_strdup("");
    for (int i = 0; i < 101; i++) long_q = strf("%s%s", long_q, "a");
    char *chinese_100 = it_strdup("");
    for (int i = 0; i < 100; i++) chinese_100 = strf("%s%s", chinese_100, "线");
    const char *bases[] = {grid_url(), cust_url()};
    for (int b = 0; b < 2; b++) {
        for (int i = 0; bad[i]; i++) assert_problem(api_get(bases[b], bad[i], KEY_DISPATCH), 400);
        assert_problem(search(bases[b], long_q, NULL), 400);
        /* 100 characters are 300 bytes here: characters are counted */
        assert_status(search(bases[b], chinese_100, NULL), 200);
        assert_problem(api_get(bases[b], "/v1/search?q=a", NULL), 401);
        assert_problem(api_get(bases[b], "/v1/search?q=a", "not-a-key"), 401);
    }
}

/* ---- the peer ------------------------------------------------------------------------ */

/* Asked as the peer asks, a daemon answers its own objects only. */
static void the_peers_half_does_not_ask_back(void **state)
{
    (void)state;
    char *t = uniq();
    char *tr = transformer_named(strf("%s 公变", t));
    char *cu = customer_with(strf("%s 用户", t), NULL);
    const char *hdr[] = {"X-Peer-Platform: cust-svc", NULL};
    api_opts o = {.key = KEY_DISPATCH, .headers = hdr};
    api_resp *r = api_call("GET", strf("%s/v1/search?q=%s", grid_url(), urlenc(t)), &o, NULL, 0);
    assert_string_equal(codes_of(hits(r)), tr);
    const char *hdr2[] = {"X-Peer-Platform: grid-svc", NULL};
    o.headers = hdr2;
    r = api_call("GET", strf("%s/v1/search?q=%s", cust_url(), urlenc(t)), &o, NULL, 0);
    assert_string_equal(codes_of(hits(r)), cu);
}

/* A cust-svc whose peer is not there answers what it keeps, partial,
 * naming grid-svc as missing; a grid code finds nothing there, partial too. */
static void a_missing_peer_leaves_a_partial_answer(void **state)
{
    (void)state;
    char *t = uniq();
    char *cu = customer_with(strf("%s 用户", t), NULL);
    char *tr = transformer_named(strf("%s 公变", t));
    int port = free_port(), nobody = free_port();
    it_extra[0] = start_daemon("cust", port, it_env("CUST_DATABASE_URL"),
                               strf("http://127.0.0.1:%d", nobody), strf("itest-search-%d", port));
    assert_true(it_extra[0] > 0);
    const char *base = strf("http://127.0.0.1:%d", port);
    const char *qs[] = {t, tr};
    for (int i = 0; i < 2; i++) {
        api_resp *r = search(base, qs[i], NULL);
        assert_status(r, 200);
        assert_true(json_is_true(json_object_get(r->json, "partial")));
        json_t *missing = json_object_get(r->json, "missing");
        assert_string_equal(jstr(missing, "platform"), "grid-svc");
        assert_true(strlen(jstr(missing, "detail")) > 0);
        assert_string_equal(codes_of(json_object_get(r->json, "items")), i == 0 ? cu : "");
    }
    /* its own codes need no peer: whole */
    assert_string_equal(codes_of(hits(search(base, cu, NULL))), cu);
}

/* ---- the indexes ------------------------------------------------------------------- */

/* Every field searched as a substring (FF_SEARCH, not FF_UNIQUE) has a
 * trigram index, so that a q of three characters or more reads no table
 * whole: declaring one without its index fails here. */
static void searched_names_have_trigram_indexes(void **state)
{
    (void)state;
    const struct {
        const char *db_url;
        const collection_def *c;
        int n;
    } platforms[] = {{"GRID_DATABASE_URL", grid_collections, grid_ncollections},
                     {"CUST_DATABASE_URL", cust_collections, cust_ncollections}};
    int checked = 0;
    for (int p = 0; p < 2; p++) {
        PGconn *db = pg_admin(db_name_of(platforms[p].db_url));
        for (int i = 0; i < platforms[p].n; i++) {
            const collection_def *c = &platforms[p].c[i];
            for (const field_def *f = c->fields; f->name; f++) {
                if (!(f->flags & FF_SEARCH) || (f->flags & FF_UNIQUE)) continue;
                PGresult *r = pg_ok(db, strf("SELECT 1 FROM pg_indexes WHERE schemaname = 'public' "
                                             "AND tablename = '%s' AND indexdef LIKE "
                                             "'%%USING gin (%s gin_trgm_ops)%%'",
                                             c->table, f->name));
                if (PQntuples(r) != 1)
                    fail_msg("%s.%s is searched but has no trigram index", c->table, f->name);
                checked++;
            }
        }
    }
    assert_true(checked >= 10);
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(a_code_finds_its_object_on_either_platform),
        IT(numbers_are_found_exactly),
        IT(a_chinese_name_is_found_by_a_part),
        IT(names_ignore_case_and_wildcards),
        IT(hits_come_in_one_order),
        IT(limit_bounds_and_truncated_tells),
        IT(bad_searches_are_refused),
        IT(the_peers_half_does_not_ask_back),
        IT(searched_names_have_trigram_indexes),
        cmocka_unit_test_teardown(a_missing_peer_leaves_a_partial_answer, it_stop_extras),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
