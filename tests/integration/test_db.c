/* test_db.c -- the connection pool (common/store/db.c) against the real PostgreSQL
 * of the test stack: prepared statements, what a thread holds, and the array
 * literals of common/store/pgarray.c as the server reads them. */
#include "client.h"

#include <stdlib.h>

#include "store/db.h"
#include "store/pgarray.h"
#include "base/waits.h"

static db_pool *pool_of(const char *url_var, int size)
{
    db_config cfg = {.url = it_env(url_var), .app_name = "test_db", .size = size,
                     .statement_timeout_ms = 5000, .acquire_timeout_ms = 2000,
                     .connect_timeout_s = 2};
    return db_pool_new(&cfg);
}

static char *one_value(db_conn *c, const char *sql)
{
    PGresult *r = db_exec(c, sql, 0, NULL);
    if (!db_ok(r)) fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    char *v = it_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* A statement is known by its text, not by where the text is: the same
 * buffer holding another statement later runs that one. (Known by address,
 * the second statement ran the first one's prepared plan.) */
static void a_reused_buffer_runs_its_new_statement(void **state)
{
    db_pool *p = pool_of("GRID_DATABASE_URL", 1);
    db_acquire_status st;
    db_conn *c = db_acquire(p, &st);
    assert_non_null(c);
    char *sql = malloc(64);
    assert_non_null(sql);
    snprintf(sql, 64, "SELECT 'first'::text");
    assert_string_equal(one_value(c, sql), "first");
    snprintf(sql, 64, "SELECT 'second'::text");
    assert_string_equal(one_value(c, sql), "second");
    /* and the same text at another address is the same statement */
    char other[64];
    snprintf(other, sizeof other, "SELECT 'first'::text");
    assert_string_equal(one_value(c, other), "first");
    free(sql);
    db_release(p, c);
    db_pool_free(p);
}

/* What a thread holds is counted, so a call to the peer can refuse to wait
 * while one is held (waits.h). */
static void held_connections_are_counted(void **state)
{
    db_pool *p = pool_of("CUST_DATABASE_URL", 2);
    assert_int_equal(waits_db_held(), 0);
    db_acquire_status st;
    db_conn *a = db_acquire(p, &st);
    assert_non_null(a);
    assert_int_equal(waits_db_held(), 1);
    db_release(p, a);
    assert_int_equal(waits_db_held(), 0);
    db_pool_free(p);
}

/* Each element of a literal reads back as itself: a list of any texts can
 * travel as one parameter. */
static void array_literals_read_back_as_given(void **state)
{
    static const char *const items[] = {"CU-1A2B3C4D5E6F-7", "", "NULL", "a,b", "{x}",
                                        "two words", "say \"hi\"", "back\\slash", "末端",
                                        NULL};
    db_pool *p = pool_of("GRID_DATABASE_URL", 1);
    db_acquire_status st;
    db_conn *c = db_acquire(p, &st);
    assert_non_null(c);
    pg_array a = {0};
    int n = 0;
    for (; items[n]; n++) pg_array_add(&a, items[n]);
    char *lit = pg_array_steal(&a);
    const char *params[] = {lit};
    PGresult *r = db_exec(c, "SELECT x IS NULL, x FROM unnest($1::text[]) WITH ORDINALITY "
                             "AS u (x, i) ORDER BY i", 1, params);
    if (!db_ok(r)) fail_msg("%s: %s", lit, PQresultErrorMessage(r));
    assert_int_equal(PQntuples(r), n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(PQgetvalue(r, i, 0), "f");
        assert_string_equal(PQgetvalue(r, i, 1), items[i]);
    }
    PQclear(r);
    free(lit);
    db_release(p, c);
    db_pool_free(p);
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(a_reused_buffer_runs_its_new_statement),
        IT(held_connections_are_counted),
        IT(array_literals_read_back_as_given),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
