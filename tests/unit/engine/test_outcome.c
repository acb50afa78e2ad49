/* test_outcome.c -- common/engine/outcome.c and the one layer that turns an
 * engine outcome into an answer (common/engine/context.c): a failed call to
 * the peer mapped to its status (DESIGN §4: 504 / 503 / 502, Retry-After
 * when a retry may help), a problem answered as problem+json with its
 * members and Retry-After, a stored Idempotency-Key answer replayed; and
 * crossref_problem, which says whether a code named may be used. None of it
 * needs a database, a peer or a connection: a request here is a bare
 * struct, as the server would hand a handler. */
#include "../unit_helpers.h"
#include "../bare_request.h"

#include <jansson.h>

#include "base/jsonutil.h"
#include "engine/context.h"
#include "engine/crossref.h"

static const char *header_of(const request *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

/* The answer's body as JSON (owned). */
static json_t *answer_json(const request *req)
{
    json_error_t err;
    json_t *j = json_loadb(req->resp_body, req->resp_len, 0, &err);
    if (!j) fail_msg("the answer is not JSON (%s): %.*s", err.text, (int)req->resp_len, req->resp_body);
    return j;
}

/* ---- a failed peer call, mapped once ----------------------------------------------- */

typedef struct {
    peer_error error;
    long status;
    int want_status, want_retry;
} peer_case;

static void peer_failures_map_to_one_set_of_statuses(void **state)
{
    (void)state;
    static const peer_case cases[] = {
        {PEER_TIMEOUT, 0, 504, 5},     {PEER_UNREACHABLE, 0, 502, 5}, {PEER_TOO_LARGE, 0, 502, 0},
        {PEER_REFUSED, 0, 500, 0},     {PEER_OK, 503, 503, 1},        {PEER_OK, 500, 502, 0},
        {PEER_OK, 404, 502, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        peer_response pr = {.error = cases[i].error, .status = cases[i].status};
        snprintf(pr.detail, sizeof pr.detail, "connection refused");
        outcome o = {0};
        service_peer_outcome(&pr, &o, "grid-svc, which keeps transformers, cannot confirm the codes",
                             "nothing was stored");
        if (o.status != cases[i].want_status || o.retry_after != cases[i].want_retry)
            fail_msg("peer error %d, status %ld: %d with Retry-After %d, want %d with %d",
                     (int)pr.error, pr.status, o.status, o.retry_after, cases[i].want_status,
                     cases[i].want_retry);
        assert_null(o.extra);
        outcome_clear(&o);
        /* and a caller that answers itself sets the same Retry-After */
        request *req = bare_request("/v1/work-orders/WO-1/transitions");
        service_peer_retry_after(req, &pr);
        const char *got = header_of(req, "Retry-After");
        if (cases[i].want_retry ? !got || atoi(got) != cases[i].want_retry : got != NULL)
            fail_msg("peer error %d, status %ld: Retry-After %s, want %d", (int)pr.error,
                     pr.status, got ? got : "none", cases[i].want_retry);
        bare_request_free(req);
    }
}

static void peer_outcome_says_what_why_and_then(void **state)
{
    (void)state;
    peer_response pr = {.error = PEER_UNREACHABLE};
    snprintf(pr.detail, sizeof pr.detail, "Couldn't connect to server");
    outcome o = {0};
    service_peer_outcome(&pr, &o, "cust-svc could not confirm", "nothing was changed");
    assert_string_equal(o.detail, "cust-svc could not confirm (Couldn't connect to server); "
                                  "nothing was changed");
    pr = (peer_response){.error = PEER_OK, .status = 503};
    service_peer_outcome(&pr, &o, "cust-svc, which keeps customers, cannot be reached", NULL);
    assert_string_equal(o.detail, "cust-svc, which keeps customers, cannot be reached (it "
                                  "answered 503)");
    outcome_clear(&o);
    assert_int_equal(o.status, 0);
}

/* ---- outcomes ---------------------------------------------------------------------------- */

static void outcome_set_replaces_and_clear_frees(void **state)
{
    (void)state;
    outcome o = {0};
    outcome_set_extra(&o, 409, json_pack("{s:{s:s}}", "existing", "kind", "line-transformer"),
                      "%s is already linked", "TR-1");
    assert_int_equal(o.status, 409);
    assert_non_null(json_object_get(o.extra, "existing"));
    /* a second set drops the first's members (ASan would see a leak) */
    json_t *errors = json_array();
    json_add_error(errors, "voltage_kv", "must be a number");
    outcome_set_errors(&o, 400, errors, "%s: the object is not valid", "substations");
    assert_int_equal(o.status, 400);
    assert_null(json_object_get(o.extra, "existing"));
    assert_int_equal(json_array_size(json_object_get(o.extra, "errors")), 1);
    assert_string_equal(o.detail, "substations: the object is not valid");
    outcome_set(&o, 422, "%d%%", 100);
    assert_null(o.extra);
    assert_string_equal(o.detail, "100%");
    outcome_clear(&o);
    assert_int_equal(o.status, 0);
    assert_null(o.extra);
}

static void an_outcome_is_answered_as_problem_json(void **state)
{
    (void)state;
    request *req = bare_request("/v1/customers");
    outcome o = {0};
    json_t *errors = json_array();
    json_add_error(errors, "transformer", "no transformer with code TR-X on grid-svc");
    outcome_set_errors(&o, 422, errors, "transformer names no existing transformer");
    o.retry_after = 5;
    service_answer_outcome(req, &o);
    assert_int_equal(req->status, 422);
    assert_string_equal(req->resp_type, "application/problem+json");
    assert_string_equal(header_of(req, "Retry-After"), "5");
    json_t *j = answer_json(req);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 422);
    assert_string_equal(json_string_value(json_object_get(j, "detail")),
                        "transformer names no existing transformer");
    assert_string_equal(json_string_value(json_object_get(j, "instance")), "/v1/customers");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
        "transformer");
    json_decref(j);
    /* answered once: the outcome is empty, its members went with the answer */
    assert_int_equal(o.status, 0);
    assert_null(o.extra);
    bare_request_free(req);

    /* no Retry-After unless the outcome has one */
    req = bare_request("/v1/customers");
    outcome_set(&o, 409, "retired");
    service_answer_outcome(req, &o);
    assert_int_equal(req->status, 409);
    assert_null(header_of(req, "Retry-After"));
    bare_request_free(req);
}

static void a_stored_answer_is_replayed(void **state)
{
    (void)state;
    request *req = bare_request("/v1/customers");
    idem_stored s = {201, xstrdup("{\"code\":\"CU-1\",\"version\":3}"), xstrdup("/v1/customers/CU-1")};
    outcome none = {0};
    service_answer_idem(req, &s, &none);
    assert_int_equal(req->status, 201);
    assert_string_equal(req->resp_type, "application/json");
    assert_string_equal(req->resp_body, "{\"code\":\"CU-1\",\"version\":3}");
    assert_string_equal(header_of(req, "Location"), "/v1/customers/CU-1");
    assert_string_equal(header_of(req, "ETag"), "\"3\"");
    assert_string_equal(header_of(req, "Idempotent-Replayed"), "true");
    assert_null(s.body);
    assert_null(s.location);
    bare_request_free(req);

    /* a key used with another body: the problem, not a replay */
    req = bare_request("/v1/customers");
    s = (idem_stored){0};
    outcome o = {0};
    outcome_set(&o, 422, "Idempotency-Key k was already used with a different request");
    service_answer_idem(req, &s, &o);
    assert_int_equal(req->status, 422);
    assert_null(header_of(req, "Idempotent-Replayed"));
    bare_request_free(req);
}

/* ---- a code named, weighed against what was found ----------------------------------------- */

static void crossref_problem_names_the_reason(void **state)
{
    (void)state;
    static const end_rule dedicated = {"kind", "dedicated"};
    char code[BIZCODE_LEN + 1], why[300];
    bizcode_mint("TR", code);
    xref x = {"transformer", code, &dedicated};

    assert_int_equal(crossref_problem(&x, NULL, why, sizeof why), 422);
    assert_non_null(strstr(why, "no transformer with code"));

    json_t *found = json_pack("{s:s, s:s}", "status", "retired", "kind", "dedicated");
    assert_int_equal(crossref_problem(&x, found, why, sizeof why), 409);
    assert_non_null(strstr(why, "is retired"));
    json_decref(found);

    found = json_pack("{s:s, s:s}", "status", "operational", "kind", "public");
    assert_int_equal(crossref_problem(&x, found, why, sizeof why), 409);
    assert_non_null(strstr(why, "must be a transformer with kind dedicated"));
    assert_non_null(strstr(why, "has kind public"));
    json_decref(found);

    found = json_pack("{s:s, s:s}", "status", "design", "kind", "dedicated");
    assert_int_equal(crossref_problem(&x, found, why, sizeof why), 0);
    json_decref(found);

    x.rule = NULL; /* no rule: only existence and status matter */
    found = json_pack("{s:s}", "status", "operational");
    assert_int_equal(crossref_problem(&x, found, why, sizeof why), 0);
    json_decref(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_failures_map_to_one_set_of_statuses),
        cmocka_unit_test(peer_outcome_says_what_why_and_then),
        cmocka_unit_test(outcome_set_replaces_and_clear_frees),
        cmocka_unit_test(an_outcome_is_answered_as_problem_json),
        cmocka_unit_test(a_stored_answer_is_replayed),
        cmocka_unit_test(crossref_problem_names_the_reason),
    };
    return cmocka_run_group_tests_name("outcome", tests, NULL, NULL);
}
