/* test_problem.c -- common/net's answers as a handler sets them, without a
 * server: problem+json (type, title, status, detail, instance, errors, extra
 * members), the reason phrases, headers a problem drops, and ?limit= values
 * refused with 400. */
#include "../unit_helpers.h"

#include <jansson.h>

#include "net/http.h"

/* ---- without a server: a request as the handlers see it ----------------------------------- */

/* A request of path for the functions that only answer; freed by free_req. */
static request bare_request(const char *path)
{
    request req = {0};
    req.path = xstrdup(path);
    req.method = "GET";
    return req;
}

static void free_req(request *req)
{
    free(req->resp_body);
    for (int i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->path);
}

static json_t *answer_json(const request *req)
{
    json_error_t e;
    json_t *j = json_loadb(req->resp_body, req->resp_len, 0, &e);
    if (!j) fail_msg("the answer is not JSON: %s", e.text);
    return j;
}

static const char *member(const json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (!v) fail_msg("no string member %s", key);
    return v;
}

static void test_problem_shape(void **state)
{
    (void)state;
    request req = bare_request("/v1/things/x");
    http_header(&req, "ETag", "\"3\"");
    http_header(&req, "Location", "/v1/things/x");
    http_header(&req, "Retry-After", "1");
    http_problem(&req, 404, "no thing %s", "x");
    assert_int_equal(req.status, 404);
    assert_string_equal(req.resp_type, "application/problem+json");
    json_t *p = answer_json(&req);
    assert_string_equal(member(p, "type"), "urn:yingpei:problem:not-found");
    assert_string_equal(member(p, "title"), "Not Found");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 404);
    assert_string_equal(member(p, "detail"), "no thing x");
    assert_string_equal(member(p, "instance"), "/v1/things/x");
    assert_int_equal(json_object_size(p), 5);
    json_decref(p);
    /* what a success had set does not stay on the error; other headers do */
    assert_int_equal(req.nheaders, 1);
    assert_string_equal(req.headers[0].name, "Retry-After");
    free_req(&req);
}

static void test_problem_errors_and_extra(void **state)
{
    (void)state;
    request req = bare_request("/v1/things");
    json_t *errors = json_array();
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "name", "message", "is empty"));
    http_problem_errors(&req, 422, errors, "%d field is wrong", 1);
    json_t *p = answer_json(&req);
    assert_string_equal(member(p, "type"), "urn:yingpei:problem:unprocessable");
    assert_string_equal(member(p, "title"), "Unprocessable Content");
    assert_int_equal(json_array_size(json_object_get(p, "errors")), 1);
    assert_string_equal(member(json_array_get(json_object_get(p, "errors"), 0), "field"), "name");
    json_decref(p);

    /* a later answer replaces the earlier one */
    http_problem_extra(&req, 503, json_pack("{s:i}", "retry_in", 5), "busy");
    p = answer_json(&req);
    assert_int_equal(req.status, 503);
    assert_string_equal(member(p, "type"), "urn:yingpei:problem:unavailable");
    assert_int_equal(json_integer_value(json_object_get(p, "retry_in")), 5);
    json_decref(p);
    free_req(&req);
}

/* A detail quoting bytes that are not UTF-8 (a path, a header) stays a
 * valid JSON string, so the problem is still written. */
static void test_problem_detail_not_utf8(void **state)
{
    (void)state;
    request req = bare_request("/v1/x");
    http_problem(&req, 400, "bad value %s", "\xff\xfe" "abc");
    json_t *p = answer_json(&req);
    assert_non_null(strstr(member(p, "detail"), "abc"));
    json_decref(p);
    free_req(&req);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_string_equal(http_reason(200), "OK");
    assert_string_equal(http_reason(413), "Content Too Large");
    assert_string_equal(http_reason(414), "URI Too Long");
    assert_string_equal(http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_reason(508), "Loop Detected");
    assert_string_equal(http_reason(599), "Error");
    /* the problem types of the statuses without their own slug */
    request req = bare_request("/");
    http_problem(&req, 507, "x");
    json_t *p = answer_json(&req);
    assert_string_equal(member(p, "type"), "urn:yingpei:problem:internal");
    json_decref(p);
    http_problem(&req, 418, "x");
    p = answer_json(&req);
    assert_string_equal(member(p, "type"), "urn:yingpei:problem:error");
    json_decref(p);
    free_req(&req);
}

static void test_limit(void **state)
{
    (void)state;
    request req = bare_request("/v1/things");
    int limit = -1;
    assert_int_equal(http_limit(&req, "1", 100, &limit), OK);
    assert_int_equal(limit, 1);
    assert_int_equal(http_limit(&req, "100", 100, &limit), OK);
    assert_int_equal(limit, 100);
    assert_int_equal(req.status, 0);
    const char *bad[] = {"0", "101", "-1", "", "5x", "x", "5 ", "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        req.status = 0;
        limit = 7;
        if (http_limit(&req, bad[i], 100, &limit) != ERR) fail_msg("limit=%s was taken", bad[i]);
        assert_int_equal(req.status, 400);
        assert_int_equal(limit, 7);
        json_t *p = answer_json(&req);
        assert_string_equal(member(p, "detail"), "limit must be an integer from 1 to 100");
        json_decref(p);
    }
    free_req(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_shape),
        cmocka_unit_test(test_problem_errors_and_extra),
        cmocka_unit_test(test_problem_detail_not_utf8),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
