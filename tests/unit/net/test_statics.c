/* test_statics.c -- common/net/statics.c: content types, the names a file
 * may be served under, If-None-Match, and a folder read into memory (nested
 * files, hidden ones and links out of it left out, the limits). */
#include "../unit_helpers.h"

#include <sys/stat.h>

#include "../bare_request.h"
#include "net/statics.h"

static void test_content_types(void **state)
{
    (void)state;
    assert_string_equal(statics_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(statics_content_type("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(statics_content_type("views/trace.mjs"), "text/javascript; charset=utf-8");
    assert_string_equal(statics_content_type("style.CSS"), "text/css; charset=utf-8");
    assert_string_equal(statics_content_type("i18n/zh.json"), "application/json; charset=utf-8");
    assert_string_equal(statics_content_type("vendor/LICENSE.txt"), "text/plain; charset=utf-8");
    assert_string_equal(statics_content_type("logo.svg"), "image/svg+xml; charset=utf-8");
    assert_string_equal(statics_content_type("logo.png"), "image/png");
    assert_string_equal(statics_content_type("font/noto.woff2"), "font/woff2");
    assert_string_equal(statics_content_type("LICENSE"), "application/octet-stream");
    assert_string_equal(statics_content_type("a.tar.gz"), "application/octet-stream");
    assert_string_equal(statics_content_type("js"), "application/octet-stream");
    assert_string_equal(statics_content_type("dir.js/file"), "application/octet-stream");
}

static void test_names(void **state)
{
    (void)state;
    const char *ok[] = {"index.html", "app.js", "vendor/cytoscape/cytoscape.esm.min.js",
                        "a-b_c.d", "v1.2/x", "LICENSE"};
    for (size_t i = 0; i < ARRAY_LEN(ok); i++)
        if (!statics_name_ok(ok[i])) fail_msg("'%s' refused", ok[i]);
    const char *bad[] = {"", "/", "/index.html", "a/", "a//b", "..", "../x", "a/../b", "a/..",
                         ".env", "a/.git/config", "./a", "a b", "a%2e", "a\\b", "é.js",
                         "a\nb", "index.html?x"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (statics_name_ok(bad[i])) fail_msg("'%s' taken", bad[i]);
    char longest[ROUTE_PARAM_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[ROUTE_PARAM_MAX] = '\0';
    assert_true(statics_name_ok(longest));
    longest[ROUTE_PARAM_MAX] = 'a';
    longest[ROUTE_PARAM_MAX + 1] = '\0';
    assert_false(statics_name_ok(longest));
}

static void test_if_none_match(void **state)
{
    (void)state;
    const char *tag = "\"0123abcd\"";
    assert_true(statics_etag_matches("\"0123abcd\"", tag));
    assert_true(statics_etag_matches("W/\"0123abcd\"", tag));
    assert_true(statics_etag_matches("\"x\", \"0123abcd\"", tag));
    assert_true(statics_etag_matches(" \"x\" ,\t\"0123abcd\" ", tag));
    assert_true(statics_etag_matches("*", tag));
    assert_false(statics_etag_matches(NULL, tag));
    assert_false(statics_etag_matches("", tag));
    assert_false(statics_etag_matches("0123abcd", tag));
    assert_false(statics_etag_matches("\"0123abc\"", tag));
    assert_false(statics_etag_matches("\"0123abcd\"x", tag));
    assert_false(statics_etag_matches("\"x\", \"y\"", tag));
}

/* ---- a folder on disk ---- */

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void dir(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

static void link_to(const char *target, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static int make_tree(void **state)
{
    snprintf(root, sizeof root, "/tmp/statics-test-XXXXXX");
    if (!mkdtemp(root)) return -1;
    put("index.html", "<!doctype html>");
    put("app.js", "export {};");
    dir("vendor");
    dir("vendor/lib");
    put("vendor/lib/x.min.js", "x");
    put(".hidden", "secret");
    dir(".git");
    put(".git/config", "secret");
    put("bad name.js", "x");
    link_to("/etc/passwd", "passwd");
    link_to("..", "up");
    link_to("app.js", "again.js"); /* within: served */
    dir("loop");
    link_to("..", "loop/back"); /* a folder: left out */
    *state = root;
    return 0;
}

static int remove_tree(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_load(void **state)
{
    (void)state;
    char why[256] = "";
    statics *s = statics_load(root, why, sizeof why);
    if (!s) fail_msg("not loaded: %s", why);
    /* index.html, app.js, again.js, vendor/lib/x.min.js: nothing else */
    assert_int_equal(statics_count(s), 4);

    request *req = bare_request("/console/.hidden");
    statics_answer(req, s, ".hidden");
    assert_int_equal(req->status, 404);
    assert_string_equal(req->resp_type, "application/problem+json");
    bare_request_free(req);
    const char *absent[] = {"passwd", "up/etc/passwd", "../index.html", "vendor/../app.js",
                            "vendor/lib", "vendor", "loop/back/app.js", "bad name.js",
                            ".git/config", "nothere.js", "vendor//lib/x.min.js"};
    for (size_t i = 0; i < ARRAY_LEN(absent); i++) {
        req = bare_request("/console/x");
        statics_answer(req, s, absent[i]);
        if (req->status != 404) fail_msg("%s: %d", absent[i], req->status);
        int csp = 0;
        for (int h = 0; h < req->nheaders; h++)
            csp |= strcmp(req->headers[h].name, "Content-Security-Policy") == 0;
        if (!csp) fail_msg("%s: the 404 has no Content-Security-Policy", absent[i]);
        bare_request_free(req);
    }
    statics_free(s);
}

static void test_not_installed(void **state)
{
    (void)state;
    char why[256] = "", missing[128];
    snprintf(missing, sizeof missing, "%s/none", root);
    assert_null(statics_load(missing, why, sizeof why));
    assert_non_null(strstr(why, "none"));
    request *req = bare_request("/console/");
    statics_answer(req, NULL, "");
    assert_int_equal(req->status, 404);
    assert_non_null(strstr(req->resp_body, "not installed"));
    bare_request_free(req);
    assert_int_equal(statics_count(NULL), 0);
    statics_free(NULL);
}

/* Over the byte limit, the whole folder is refused, not served in part. */
static void test_limits(void **state)
{
    (void)state;
    char big[160];
    snprintf(big, sizeof big, "%s/big", root);
    assert_int_equal(mkdir(big, 0700), 0);
    char path[200];
    snprintf(path, sizeof path, "%s/a.bin", big);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fseek(f, STATICS_MAX_BYTES, SEEK_SET), 0);
    fputc('x', f);
    fclose(f);
    char why[512] = "";
    assert_null(statics_load(big, why, sizeof why));
    assert_non_null(strstr(why, "bytes"));
    unlink(path);
    rmdir(big);
}

static void test_redirect(void **state)
{
    (void)state;
    request *req = bare_request("/console");
    statics_redirect(req, "/console/");
    assert_int_equal(req->status, 308);
    int location = 0;
    for (int h = 0; h < req->nheaders; h++)
        location |= strcmp(req->headers[h].name, "Location") == 0 &&
                    strcmp(req->headers[h].value, "/console/") == 0;
    assert_true(location);
    bare_request_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_not_installed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_redirect),
    };
    return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
