/* test_metrics.c -- common/net/metrics.c: counters by route and status, and the
 * cumulative latency histogram, in Prometheus text format. */
#include "../unit_helpers.h"

#include <pthread.h>

#include "net/metrics.h"

static void h(request *req, void *ctx) { (void)req; (void)ctx; }

typedef struct {
    router *r;
    metrics *m;
} fixture;

static int setup(void **state)
{
    fixture *fx = xcalloc(1, sizeof *fx);
    fx->r = router_new();
    router_add(fx->r, "GET", "/v1/substations", h, NULL, 0, NULL);          /* 0 */
    router_add(fx->r, "POST", "/v1/substations", h, NULL, 0, NULL);         /* 1 */
    router_add(fx->r, "GET", "/v1/substations/{code}", h, NULL, 0, NULL);   /* 2 */
    router_add(fx->r, "GET", "/healthz", h, NULL, 0, NULL);                 /* 3 */
    fx->m = metrics_new(fx->r);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    metrics_free(fx->m);
    router_free(fx->r);
    free(fx);
    return 0;
}

static char *render(const metrics *m)
{
    sbuf b = {0};
    metrics_render(m, &b);
    return sb_steal(&b);
}

static void has_line(const char *text, const char *line)
{
    char *want = xasprintf("%s\n", line);
    const char *p = strstr(text, want);
    /* a whole line, not the tail of another */
    while (p && p != text && p[-1] != '\n') p = strstr(p + 1, want);
    if (!p) fail_msg("line '%s' not in:\n%s", line, text);
    free(want);
}

static void lacks(const char *text, const char *s)
{
    if (strstr(text, s)) fail_msg("'%s' unexpectedly in:\n%s", s, text);
}

/* The value of the sample whose line starts with prefix (with labels). */
static double sample(const char *text, const char *prefix)
{
    const char *p = text;
    size_t n = strlen(prefix);
    while (p && *p) {
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p) p++;
    }
    fail_msg("no sample '%s' in:\n%s", prefix, text);
    return -1;
}

/* Checks the histogram of one series: buckets in increasing le, counts
 * non-decreasing, +Inf last and equal to _count. Returns the count. */
static unsigned long check_histogram(const char *text, const char *labels)
{
    char *prefix = xasprintf("http_request_duration_seconds_bucket{%s,le=\"", labels);
    const char *p = text;
    double last_le = -1, last_count = -1;
    int nbuckets = 0, saw_inf = 0;
    while ((p = strstr(p, prefix))) {
        p += strlen(prefix);
        assert_false(saw_inf); /* nothing after +Inf */
        double le;
        if (strncmp(p, "+Inf\"", 5) == 0) {
            saw_inf = 1;
            le = 1e308;
        } else {
            char *end;
            le = strtod(p, &end);
            assert_true(*end == '"');
        }
        const char *close = strstr(p, "} ");
        assert_non_null(close);
        double c = strtod(close + 2, NULL);
        if (le <= last_le) fail_msg("%s: le %g after %g", labels, le, last_le);
        if (c < last_count) fail_msg("%s: bucket le=%g has %g < %g", labels, le, c, last_count);
        last_le = le;
        last_count = c;
        nbuckets++;
    }
    assert_true(saw_inf);
    assert_true(nbuckets >= 2);
    char *count_name = xasprintf("http_request_duration_seconds_count{%s}", labels);
    double count = sample(text, count_name);
    if (count != last_count) fail_msg("%s: +Inf %g != count %g", labels, last_count, count);
    free(count_name);
    free(prefix);
    return (unsigned long)count;
}

static void test_counts_by_route_and_status(void **state)
{
    fixture *fx = *state;
    metrics_request(fx->m, 0, 200, 0.003);
    metrics_request(fx->m, 0, 200, 0.004);
    metrics_request(fx->m, 0, 400, 0.001);
    metrics_request(fx->m, 1, 201, 0.02);
    metrics_request(fx->m, 2, 404, 0.0001);
    metrics_request(fx->m, 2, 418, 0.0001); /* not a listed status */
    char *t = render(fx->m);
    has_line(t, "# TYPE http_requests_total counter");
    has_line(t, "# TYPE http_request_duration_seconds histogram");
    has_line(t, "http_requests_total{method=\"GET\",route=\"/v1/substations\",status=\"200\"} 2");
    has_line(t, "http_requests_total{method=\"GET\",route=\"/v1/substations\",status=\"400\"} 1");
    has_line(t, "http_requests_total{method=\"POST\",route=\"/v1/substations\",status=\"201\"} 1");
    has_line(t,
             "http_requests_total{method=\"GET\",route=\"/v1/substations/{code}\",status=\"404\"} 1");
    has_line(t, "http_requests_total{method=\"GET\",route=\"/v1/substations/{code}\",status=\"other\"} 1");
    /* statuses and routes never seen are not written */
    lacks(t, "route=\"/healthz\"");
    lacks(t, "status=\"201\"} 0");
    lacks(t, "route=\"unmatched\"");
    lacks(t, "method=\"POST\",route=\"/v1/substations\",status=\"200\"");
    free(t);
}

static void test_histogram_cumulative(void **state)
{
    fixture *fx = *state;
    /* spread over the buckets, including exact boundaries and beyond 5 s */
    const double secs[] = {0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.005, 0.007, 0.02, 0.05,
                           0.2,    0.5,    0.9,    1.0,   2.0,   2.5,   4.0,   5.0,  7.5,
                           30.0,   0.0};
    for (size_t i = 0; i < ARRAY_LEN(secs); i++) metrics_request(fx->m, 0, 200, secs[i]);
    char *t = render(fx->m);
    const char *labels = "method=\"GET\",route=\"/v1/substations\"";
    assert_int_equal(check_histogram(t, labels), ARRAY_LEN(secs));

    /* le is "less than or equal": boundary values count in their bucket */
    const char *b = "http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/substations\",";
    char name[256];
    snprintf(name, sizeof name, "%sle=\"0.0005\"}", b);
    assert_true(sample(t, name) == 3); /* 0.0001, 0.0005, 0.0 */
    snprintf(name, sizeof name, "%sle=\"0.001\"}", b);
    assert_true(sample(t, name) == 5);
    snprintf(name, sizeof name, "%sle=\"0.005\"}", b);
    assert_true(sample(t, name) == 7);
    snprintf(name, sizeof name, "%sle=\"1\"}", b);
    assert_true(sample(t, name) == 14);
    snprintf(name, sizeof name, "%sle=\"5\"}", b);
    assert_true(sample(t, name) == 18);
    snprintf(name, sizeof name, "%sle=\"+Inf\"}", b);
    assert_true(sample(t, name) == 20);

    double sum = 0;
    for (size_t i = 0; i < ARRAY_LEN(secs); i++) sum += secs[i];
    double got = sample(t, "http_request_duration_seconds_sum{method=\"GET\",route=\"/v1/substations\"}");
    if (got < sum - 0.0001 || got > sum + 0.0001) fail_msg("sum %g, want %g", got, sum);
    free(t);
}

static void test_histogram_slow_only(void **state)
{
    fixture *fx = *state;
    /* every request slower than the largest bucket: finite buckets 0, +Inf = count */
    metrics_request(fx->m, 3, 200, 6.0);
    metrics_request(fx->m, 3, 503, 60.0);
    char *t = render(fx->m);
    const char *labels = "method=\"GET\",route=\"/healthz\"";
    assert_int_equal(check_histogram(t, labels), 2);
    assert_true(sample(t, "http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\","
                          "le=\"5\"}") == 0);
    assert_true(sample(t, "http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\","
                          "le=\"+Inf\"}") == 2);
    has_line(t, "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"503\"} 1");
    free(t);
}

static void test_unmatched(void **state)
{
    fixture *fx = *state;
    metrics_request(fx->m, -1, 404, 0.0002);
    metrics_request(fx->m, 4, 404, 0.0002);   /* == number of routes */
    metrics_request(fx->m, 9999, 405, 0.0002);
    metrics_request(fx->m, -42, 401, 0.0002);
    char *t = render(fx->m);
    has_line(t, "http_requests_total{method=\"\",route=\"unmatched\",status=\"404\"} 2");
    has_line(t, "http_requests_total{method=\"\",route=\"unmatched\",status=\"405\"} 1");
    has_line(t, "http_requests_total{method=\"\",route=\"unmatched\",status=\"401\"} 1");
    assert_int_equal(check_histogram(t, "method=\"\",route=\"unmatched\""), 4);
    /* nothing was booked to a real route */
    lacks(t, "route=\"/v1/");
    lacks(t, "route=\"/healthz\"");
    free(t);
}

static void test_render_empty_and_appends(void **state)
{
    fixture *fx = *state;
    sbuf b = {0};
    sb_append(&b, "# before\n");
    metrics_render(fx->m, &b);
    assert_true(strncmp(b.s, "# before\n# HELP http_requests_total", 35) == 0);
    /* no samples yet: only HELP and TYPE lines */
    for (const char *line = b.s; *line;) {
        assert_int_equal(line[0], '#');
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        line = nl + 1;
    }
    sb_free(&b);
}

static void test_every_line_is_prometheus_text(void **state)
{
    fixture *fx = *state;
    for (int i = -1; i < 5; i++) metrics_request(fx->m, i, 200 + i, 0.01 * (i + 2));
    char *t = render(fx->m);
    assert_true(t[strlen(t) - 1] == '\n');
    for (char *line = t; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (line[0] != '#') {
            /* name{labels} value */
            assert_non_null(strstr(line, "http_request"));
            char *close = strrchr(line, '}');
            assert_non_null(close);
            assert_int_equal(close[1], ' ');
            char *end;
            strtod(close + 2, &end);
            if (*end != '\0' || end == close + 2) fail_msg("bad value in '%s'", line);
        }
        line = nl + 1;
    }
    free(t);
}

typedef struct {
    metrics *m;
    int route;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 20000; i++) metrics_request(a->m, a->route, i % 2 ? 200 : 500, 0.002);
    return NULL;
}

static void test_concurrent_requests(void **state)
{
    fixture *fx = *state;
    pthread_t th[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){fx->m, 2};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    char *t = render(fx->m);
    has_line(t,
             "http_requests_total{method=\"GET\",route=\"/v1/substations/{code}\",status=\"200\"} 40000");
    has_line(t,
             "http_requests_total{method=\"GET\",route=\"/v1/substations/{code}\",status=\"500\"} 40000");
    assert_int_equal(check_histogram(t, "method=\"GET\",route=\"/v1/substations/{code}\""), 80000);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_by_route_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_cumulative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_slow_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_empty_and_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_line_is_prometheus_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_requests, setup, teardown),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
