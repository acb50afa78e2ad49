/* test_console.c -- the console's files at /console/ (DESIGN §12), over
 * HTTP on the real daemons: the stack's two serve the repository's
 * console/ found without configuration; a grid-svc of its own serves a
 * folder made here (CONSOLE_DIR), to check nested files, content types,
 * ETag and 304, HEAD, the redirect and the paths that must not lead
 * anywhere; another, pointed at no folder, still starts and says the
 * console is not installed.
 *
 * Requests go over raw sockets, so that paths reach the daemon exactly as
 * written (curl would resolve "..") and every header can be read. */
#include "client.h"

#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "        \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "              \
    "frame-ancestors 'none'"

static int port_of(const char *base)
{
    const char *colon = strrchr(base, ':');
    assert_non_null(colon);
    return atoi(colon + 1);
}

/* One request, "Connection: close", with extra header lines (each ending
 * in \r\n) or NULL; the whole answer as received. */
static char *ask(const char *base, const char *method, const char *target, const char *extra)
{
    int fd = raw_connect(port_of(base));
    assert_true(fd >= 0);
    const char *msg = strf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
                           method, target, extra ? extra : "");
    assert_int_equal(raw_send(fd, msg, strlen(msg)), 0);
    char *resp = raw_read_response(fd, 10);
    if (raw_status(resp) < 0) fail_msg("%s %s: no answer", method, target);
    return resp;
}

/* A header's value in an answer (tracked), NULL when absent. */
static const char *header(const char *resp, const char *name)
{
    size_t nl = strlen(name);
    const char *end = strstr(resp, "\r\n\r\n");
    for (const char *line = strstr(resp, "\r\n"); line && line < end;
         line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nl) != 0 || h[nl] != ':') continue;
        const char *v = h + nl + 1;
        while (*v == ' ') v++;
        const char *eol = strstr(v, "\r\n");
        return strf("%.*s", (int)(eol - v), v);
    }
    return NULL;
}

static void assert_header(const char *resp, const char *name, const char *want)
{
    const char *got = header(resp, name);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: '%s', want '%s' in:\n%s", name, got ? got : "(absent)", want, resp);
}

/* The headers every console answer carries, whatever its status. */
static void assert_console_headers(const char *resp)
{
    assert_header(resp, "Content-Security-Policy", CSP);
    assert_header(resp, "X-Content-Type-Options", "nosniff");
    assert_header(resp, "Referrer-Policy", "no-referrer");
    assert_header(resp, "Cache-Control", "no-cache");
}

/* 200 with exactly these bytes, of this type, and a strong ETag; returns it. */
static const char *assert_file(const char *resp, const char *type, const char *bytes, size_t len)
{
    if (raw_status(resp) != 200) fail_msg("status %d, want 200:\n%s", raw_status(resp), resp);
    assert_console_headers(resp);
    assert_header(resp, "Content-Type", type);
    assert_header(resp, "Content-Length", strf("%zu", len));
    const char *body = raw_body(resp);
    if (memcmp(body, bytes, len) != 0) fail_msg("not the file's bytes:\n%s", resp);
    const char *etag = header(resp, "ETag");
    if (!etag || etag[0] != '"' || etag[strlen(etag) - 1] != '"' || strlen(etag) < 10)
        fail_msg("no strong ETag: %s", etag ? etag : "(absent)");
    return etag;
}

static void assert_404(const char *resp)
{
    if (raw_status(resp) != 404) fail_msg("status %d, want 404:\n%s", raw_status(resp), resp);
    assert_header(resp, "Content-Type", "application/problem+json");
    assert_console_headers(resp);
    json_t *p = jkeep(json_loads(raw_body(resp), 0, NULL));
    if (!p || json_integer_value(json_object_get(p, "status")) != 404 ||
        !json_is_string(json_object_get(p, "detail")))
        fail_msg("not a problem: %s", resp);
}

static char *read_repo_file(const char *rel, size_t *len)
{
    FILE *f = fopen(strf("%s/%s", it_env("REPO_ROOT"), rel), "rb");
    if (!f) fail_msg("cannot read %s", rel);
    char *buf = it_track(calloc(1, 1 << 20), free);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

/* ---- the stack's daemons: the repository's console/, no configuration ---- */

static void both_serve_the_repository_console(void **state)
{
    (void)state;
    size_t ilen, alen;
    char *index = read_repo_file("console/index.html", &ilen);
    char *app = read_repo_file("console/js/app.js", &alen);
    const char *bases[] = {grid_url(), cust_url()};
    for (int i = 0; i < 2; i++) {
        /* no key */
        const char *etag =
            assert_file(ask(bases[i], "GET", "/console/", NULL), "text/html; charset=utf-8", index,
                        ilen);
        const char *again = assert_file(ask(bases[i], "GET", "/console/index.html", NULL),
                                        "text/html; charset=utf-8", index, ilen);
        assert_string_equal(etag, again);
        assert_file(ask(bases[i], "GET", "/console/js/app.js", NULL),
                    "text/javascript; charset=utf-8", app, alen);
        /* a wrong key changes nothing: the files are public */
        assert_file(ask(bases[i], "GET", "/console/js/app.js", "Authorization: Bearer nope\r\n"),
                    "text/javascript; charset=utf-8", app, alen);
        char *r = ask(bases[i], "GET", "/console", NULL);
        assert_int_equal(raw_status(r), 308);
        assert_header(r, "Location", "/console/");
    }
    /* the same bytes, the same tag, on either platform */
    assert_string_equal(header(ask(grid_url(), "GET", "/console/", NULL), "ETag"),
                        header(ask(cust_url(), "GET", "/console/", NULL), "ETag"));
}

/* Not the API: not in /openapi.json; one line in /metrics for all files. */
static void not_in_the_api_one_metrics_label(void **state)
{
    (void)state;
    ask(grid_url(), "GET", "/console/js/app.js", NULL);
    ask(grid_url(), "GET", "/console/index.html", NULL);
    ask(grid_url(), "GET", strf("/console/nothere-%s.js", uniq()), NULL);
    api_resp *doc = api_get(grid_url(), "/openapi.json", NULL);
    assert_status(doc, 200);
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc->json, "paths"), path, item)
        if (strncmp(path, "/console", 8) == 0) fail_msg("/openapi.json lists %s", path);
    api_resp *m = api_get(grid_url(), "/metrics", NULL);
    assert_status(m, 200);
    assert_str_contains(m->body, "route=\"/console/{path*}\",status=\"200\"}");
    assert_str_contains(m->body, "route=\"/console/{path*}\",status=\"404\"}");
    if (strstr(m->body, "app.js") || strstr(m->body, "nothere"))
        fail_msg("a file's name is a label in /metrics");
}

/* ---- a grid-svc of its own on a folder made here ---- */

static const char *tree;

static void put(const char *rel, const char *bytes, size_t len)
{
    FILE *f = fopen(strf("%s/%s", tree, rel), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

#define PUT(rel, lit) put(rel, lit, sizeof lit - 1)
#define FILE_IS(resp, type, lit) assert_file(resp, type, lit, sizeof lit - 1)

static void make_tree(void)
{
    tree = strf("%s/console-%s", it_env("RUN_DIR"), uniq());
    assert_int_equal(mkdir(tree, 0700), 0);
    const char *dirs[] = {"vendor", "vendor/lib", "i18n", "fonts", "a"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        assert_int_equal(mkdir(strf("%s/%s", tree, dirs[i]), 0700), 0);
    PUT("index.html", "<!doctype html><p>scratch");
    PUT("app.js", "export const x = 1;\n");
    PUT("style.css", "p{}");
    PUT("logo.svg", "<svg/>");
    PUT("logo.png", "\x89PNG\r\n\x1a\n\0\0");
    PUT("fonts/noto.woff2", "wOF2\0\1");
    PUT("i18n/zh.json", "{\"a\":\"营配\"}");
    PUT("vendor/lib/graph.esm.min.js", "export default 2;");
    PUT("vendor/LICENSE.txt", "MIT");
    PUT("a/x", "in a");
    PUT(".secret", "hidden");
    assert_int_equal(symlink("/etc/hostname", strf("%s/hostname", tree)), 0);
    assert_int_equal(symlink("..", strf("%s/up", tree)), 0);
}

static const char *scratch_grid(const char *dir, const char *label)
{
    int port = free_port();
    const char *const more[] = {strf("CONSOLE_DIR=%s", dir), NULL};
    it_extra[0] = start_daemon_env("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                                   strf("itest-console-%s-%d", label, port), more);
    assert_true(it_extra[0] > 0);
    return strf("http://127.0.0.1:%d", port);
}

static void files_types_and_nesting(void **state)
{
    (void)state;
    make_tree();
    const char *base = scratch_grid(tree, "files");
    FILE_IS(ask(base, "GET", "/console/", NULL),
            "text/html; charset=utf-8", "<!doctype html><p>scratch");
    FILE_IS(ask(base, "GET", "/console/style.css", NULL), "text/css; charset=utf-8", "p{}");
    FILE_IS(ask(base, "GET", "/console/logo.svg", NULL), "image/svg+xml; charset=utf-8", "<svg/>");
    FILE_IS(ask(base, "GET", "/console/logo.png", NULL), "image/png", "\x89PNG\r\n\x1a\n\0\0");
    FILE_IS(ask(base, "GET", "/console/fonts/noto.woff2", NULL), "font/woff2", "wOF2\0\1");
    FILE_IS(ask(base, "GET", "/console/i18n/zh.json", NULL),
            "application/json; charset=utf-8", "{\"a\":\"营配\"}");
    FILE_IS(ask(base, "GET", "/console/vendor/lib/graph.esm.min.js", NULL),
            "text/javascript; charset=utf-8", "export default 2;");
    FILE_IS(ask(base, "GET", "/console/vendor/LICENSE.txt", NULL),
            "text/plain; charset=utf-8", "MIT");
    /* read once at start: a file changed since is served as it was */
    PUT("app.js", "export const x = 2;\n");
    FILE_IS(ask(base, "GET", "/console/app.js", NULL),
            "text/javascript; charset=utf-8", "export const x = 1;\n");
}

static void etag_304_and_head(void **state)
{
    (void)state;
    make_tree();
    const char *base = scratch_grid(tree, "etag");
    const char *etag = FILE_IS(ask(base, "GET", "/console/app.js", NULL),
                               "text/javascript; charset=utf-8", "export const x = 1;\n");
    const char *matching[] = {etag, strf("W/%s", etag), strf("\"other\", %s", etag), "*"};
    for (size_t i = 0; i < sizeof matching / sizeof *matching; i++) {
        char *r = ask(base, "GET", "/console/app.js", strf("If-None-Match: %s\r\n", matching[i]));
        if (raw_status(r) != 304) fail_msg("If-None-Match: %s gave:\n%s", matching[i], r);
        assert_console_headers(r);
        assert_header(r, "ETag", etag);
        assert_string_equal(raw_body(r), "");
    }
    /* another file's tag, or a stale one: the file */
    const char *css = header(ask(base, "GET", "/console/style.css", NULL), "ETag");
    assert_string_not_equal(css, etag);
    FILE_IS(ask(base, "GET", "/console/app.js", strf("If-None-Match: %s\r\n", css)),
            "text/javascript; charset=utf-8", "export const x = 1;\n");
    /* HEAD: the headers of the GET, no body */
    char *h = ask(base, "HEAD", "/console/app.js", NULL);
    assert_int_equal(raw_status(h), 200);
    assert_console_headers(h);
    assert_header(h, "Content-Type", "text/javascript; charset=utf-8");
    assert_header(h, "Content-Length", "20");
    assert_header(h, "ETag", etag);
    assert_string_equal(raw_body(h), "");
    h = ask(base, "HEAD", "/console/", NULL);
    assert_int_equal(raw_status(h), 200);
    assert_header(h, "Content-Type", "text/html; charset=utf-8");
    assert_int_equal(raw_status(ask(base, "HEAD", "/console/none.js", NULL)), 404);
}

/* Nothing outside the files read: no "..", however written, no hidden
 * file, no link out of the folder, no folder listing. */
static void nothing_else_is_reachable(void **state)
{
    (void)state;
    make_tree();
    const char *base = scratch_grid(tree, "paths");
    const char *targets[] = {
        "/console/../openapi.json", "/console/%2e%2e/openapi.json", "/console/%2e%2e/x",
        "/console/a/../../x", "/console/a/../app.js", "/console/..%2fopenapi.json",
        "/console/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/console/./app.js", "/console//app.js",
        "/console/a/", "/console/vendor", "/console/.secret", "/console/hostname",
        "/console/up/etc/passwd", "/console/up", "/console/nothere.js", "/console/app.js/",
        "/console/APP.JS",
    };
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        char *r = ask(base, "GET", targets[i], NULL);
        if (raw_status(r) != 404) fail_msg("%s gave:\n%s", targets[i], r);
        assert_404(r);
        if (strstr(r, "hidden") || strstr(r, "\"openapi\""))
            fail_msg("%s answered what it must not:\n%s", targets[i], r);
    }
    /* the file under a/ is served by its own name */
    FILE_IS(ask(base, "GET", "/console/a/x", NULL), "application/octet-stream", "in a");
    /* only GET and HEAD */
    char *r = ask(base, "POST", "/console/app.js", "Content-Length: 0\r\n");
    assert_int_equal(raw_status(r), 405);
    assert_header(r, "Allow", "GET");
    /* the redirect, with its headers */
    r = ask(base, "GET", "/console", NULL);
    assert_int_equal(raw_status(r), 308);
    assert_header(r, "Location", "/console/");
    assert_console_headers(r);
}

/* No key is ever written to the log: not a console request's, not one the
 * API refuses, not one it takes. */
static void keys_stay_out_of_the_log(void **state)
{
    (void)state;
    make_tree();
    int port = free_port();
    const char *label = strf("itest-console-log-%d", port);
    const char *const more[] = {strf("CONSOLE_DIR=%s", tree), "LOG_LEVEL=debug", NULL};
    it_extra[0] = start_daemon_env("grid", port, it_env("GRID_DATABASE_URL"), cust_url(), label,
                                   more);
    assert_true(it_extra[0] > 0);
    const char *base = strf("http://127.0.0.1:%d", port);
    const char *wrong = strf("wrong-key-%s", uniq());
    ask(base, "GET", "/console/", strf("Authorization: Bearer %s\r\n", wrong));
    ask(base, "GET", "/console/none.js", strf("Authorization: Bearer %s\r\n", wrong));
    char *refused = ask(base, "GET", "/v1/substations?limit=1",
                        strf("Authorization: Bearer %s\r\n", wrong));
    assert_int_equal(raw_status(refused), 401);
    if (strstr(refused, wrong)) fail_msg("the 401 echoes the key:\n%s", refused);
    char *taken = ask(base, "GET", "/v1/substations?limit=1",
                      "Authorization: Bearer " KEY_DISPATCH "\r\n");
    assert_int_equal(raw_status(taken), 200);
    if (strstr(taken, KEY_DISPATCH)) fail_msg("the answer echoes the key");
    assert_int_equal(daemon_stop(it_extra[0], 15), 0);
    it_extra[0] = -1;
    size_t len;
    FILE *f = fopen(strf("%s/%s.log", it_env("RUN_DIR"), label), "rb");
    assert_non_null(f);
    char *log = it_track(calloc(1, 4 << 20), free);
    len = fread(log, 1, (4 << 20) - 1, f);
    fclose(f);
    assert_true(len > 0);
    assert_str_contains(log, "/console/none.js"); /* the requests were logged */
    if (strstr(log, wrong) || strstr(log, KEY_DISPATCH)) fail_msg("a key is in the log");
    assert_str_contains(log, strf("%d files from %s", 10, tree));
}

/* Without a console folder the daemon serves all the rest, and says why
 * /console/ does not answer. */
static void missing_console_is_a_404(void **state)
{
    (void)state;
    const char *dir = strf("%s/no-console-%s", it_env("RUN_DIR"), uniq());
    const char *base = scratch_grid(dir, "missing");
    assert_status(api_get(base, "/healthz", NULL), 200);
    char *r = ask(base, "GET", "/console/", NULL);
    assert_404(r);
    assert_str_contains(raw_body(r), "not installed");
    assert_404(ask(base, "GET", "/console/app.js", NULL));
    assert_int_equal(raw_status(ask(base, "GET", "/console", NULL)), 308);
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(both_serve_the_repository_console),
        IT(not_in_the_api_one_metrics_label),
        cmocka_unit_test_teardown(files_types_and_nesting, it_stop_extras),
        cmocka_unit_test_teardown(etag_304_and_head, it_stop_extras),
        cmocka_unit_test_teardown(nothing_else_is_reachable, it_stop_extras),
        cmocka_unit_test_teardown(keys_stay_out_of_the_log, it_stop_extras),
        cmocka_unit_test_teardown(missing_console_is_a_404, it_stop_extras),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
