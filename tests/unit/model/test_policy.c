/* test_policy.c -- common/net/auth.c and common/model/policy.c: bearer keys (config/apps.dev.json) and the
 * write policy (config/policy.json) against every row of DESIGN §5, plus
 * load errors. Files are found from the repository root or $REPO_ROOT. */
#include "../unit_helpers.h"

#include "model/policy.h"
#include "model/bizcode.h"
#include "base/jsonutil.h"

typedef struct {
    auth *auth;
    policy *pol;
    const app_entry *pms, *marketing, *dispatch, *admin;
} fixture;

static const app_entry *must_auth(const auth *a, const char *header)
{
    const char *why = NULL;
    const app_entry *app = auth_check(a, header, &why);
    if (!app) fail_msg("%s refused: %s", header, why ? why : "(no reason)");
    return app;
}

static int setup(void **state)
{
    fixture *fx = xcalloc(1, sizeof *fx);
    char err[512] = "";
    char *apps = repo_file("config/apps.dev.json"), *pol = repo_file("config/policy.json");
    fx->auth = auth_load(apps, err, sizeof err);
    if (!fx->auth) fail_msg("auth_load(%s): %s", apps, err);
    fx->pol = policy_load(pol, err, sizeof err);
    if (!fx->pol) fail_msg("policy_load(%s): %s", pol, err);
    free(apps);
    free(pol);
    fx->pms = must_auth(fx->auth, "Bearer dev-production-key");
    fx->marketing = must_auth(fx->auth, "Bearer dev-marketing-key");
    fx->dispatch = must_auth(fx->auth, "Bearer dev-dispatch-key");
    fx->admin = must_auth(fx->auth, "Bearer dev-admin-key");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    auth_free(fx->auth);
    policy_free(fx->pol);
    free(fx);
    return 0;
}

/* ---- sha256 ------------------------------------------------------------- */

static void test_sha256_vectors(void **state)
{
    (void)state;
    char out[65];
    memset(out, 'x', sizeof out);
    sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* len counts, not the terminator */
    sha256_hex("abcdef", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- auth_check --------------------------------------------------------- */

static void test_auth_dev_keys(void **state)
{
    fixture *fx = *state;
    assert_string_equal(fx->pms->name, "pms");
    assert_string_equal(fx->marketing->name, "marketing");
    assert_string_equal(fx->dispatch->name, "dispatch");
    assert_string_equal(fx->admin->name, "admin");
    assert_true(app_has_role(fx->pms, "production"));
    assert_false(app_has_role(fx->pms, "marketing"));
    assert_false(app_has_role(fx->pms, "admin"));
    assert_true(app_has_role(fx->marketing, "marketing"));
    assert_false(app_has_role(fx->marketing, "production"));
    assert_true(app_has_role(fx->dispatch, "dispatch"));
    assert_false(app_has_role(fx->dispatch, "production"));
    assert_false(app_has_role(fx->dispatch, "marketing"));
    assert_true(app_has_role(fx->admin, "admin"));
    assert_false(app_has_role(fx->admin, "Admin"));
    /* the scheme is case-insensitive (RFC 9110 §11.1) */
    assert_ptr_equal(must_auth(fx->auth, "bearer dev-admin-key"), fx->admin);
    assert_ptr_equal(must_auth(fx->auth, "BEARER dev-production-key"), fx->pms);
}

static void auth_refused(const auth *a, const char *header, const char *msg)
{
    const char *why = NULL;
    const app_entry *app = auth_check(a, header, &why);
    if (app) fail_msg("'%s' accepted as app %s", header ? header : "(none)", app->name);
    assert_non_null(why);
    if (!strstr(why, msg)) fail_msg("'%s': reason '%s' lacks '%s'", header, why, msg);
}

static void test_auth_refusals(void **state)
{
    fixture *fx = *state;
    auth_refused(fx->auth, NULL, "missing Authorization header");
    auth_refused(fx->auth, "Basic x", "malformed");
    auth_refused(fx->auth, "Basic ZGV2LWFkbWluLWtleTo=", "malformed");
    auth_refused(fx->auth, "Bearer ", "malformed");
    auth_refused(fx->auth, "Bearer", "malformed");
    auth_refused(fx->auth, "", "malformed");
    auth_refused(fx->auth, "dev-admin-key", "malformed");
    auth_refused(fx->auth, "Bearerdev-admin-key", "malformed");
    auth_refused(fx->auth, "Bearer dev-admin-key extra", "malformed");
    auth_refused(fx->auth, "Bearer unknown-key", "unknown API key");
    auth_refused(fx->auth, "Bearer dev-admin-ke", "unknown API key");
    auth_refused(fx->auth, "Bearer dev-admin-key2", "unknown API key");
    auth_refused(fx->auth, "Bearer DEV-ADMIN-KEY", "unknown API key"); /* keys are exact */
    /* the hash itself is not a key */
    auth_refused(fx->auth,
                 "Bearer df76ff796f70d2c9cb055ea6280553caa27eda26b70e01082c160de75a05a4a9",
                 "unknown API key");
}

/* ---- policy_check: DESIGN §5 -------------------------------------------- */

static void allowed(const fixture *fx, const app_entry *app, const char *target, const char *kind)
{
    json_t *obj = kind ? json_pack("{s:s, s:s}", "name", "x", "kind", kind)
                       : json_pack("{s:s}", "name", "x");
    char why[512] = "";
    if (policy_check(fx->pol, app, target, obj, why, sizeof why) != OK)
        fail_msg("app %s may not write %s%s%s: %s", app->name, target, kind ? " kind " : "",
                 kind ? kind : "", why);
    json_decref(obj);
}

/* Refused, and the message names the role that maintains the object. */
static void refused(const fixture *fx, const app_entry *app, const char *target, const char *kind,
                    const char *maintainer)
{
    json_t *obj = kind ? json_pack("{s:s, s:s}", "name", "x", "kind", kind)
                       : json_pack("{s:s}", "name", "x");
    char why[512] = "";
    if (policy_check(fx->pol, app, target, obj, why, sizeof why) != ERR)
        fail_msg("app %s may write %s%s%s", app->name, target, kind ? " kind " : "",
                 kind ? kind : "");
    if (!strstr(why, maintainer))
        fail_msg("app %s, %s: '%s' does not name the role %s", app->name, target, why, maintainer);
    if (!strstr(why, target)) fail_msg("'%s' does not name the target %s", why, target);
    if (!strstr(why, app->name)) fail_msg("'%s' does not name the app %s", why, app->name);
    json_decref(obj);
}

/* What production maintains (DESIGN §5), kind NULL for objects without one. */
static const struct {
    const char *target, *kind;
} production_writes[] = {
    {"substations", NULL},
    {"lines", "public"},
    {"transformers", "public"},
    {"station-rooms", NULL},
    {"poles", NULL},
    {"access-points", NULL},
    {"meter-box-resources", NULL},
    {"relations/substation-line", NULL},
    {"relations/line-transformer", NULL},
    {"relations/accesspoint-transformer", NULL},
};

static const struct {
    const char *target, *kind;
} marketing_writes[] = {
    {"customers", NULL},
    {"addresses", NULL},
    {"supply-points", NULL},
    {"metering-points", NULL},
    {"meter-boxes", NULL},
    {"meters", NULL},
    {"line-billings", NULL},
    {"transformer-billings", NULL},
    {"backup-generators", NULL},
    {"power-plants", NULL},
    {"generating-units", NULL},
    {"charging-piles", NULL},
    {"work-orders", NULL},
    {"lines", "dedicated"},
    {"transformers", "dedicated"},
    {"relations/transformer-customer", NULL},
    {"relations/equipment-supplypoint", NULL},
    {"relations/equipment-meteringpoint", NULL},
    {"relations/accesspoint-meterbox", NULL},
    {"relations/meterboxresource-meterbox", NULL},
    {"relations/supplypoint-meteringpoint", NULL},
    {"relations/meter-meterbox", NULL},
    {"relations/meter-meteringpoint", NULL},
};

static void test_production(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < ARRAY_LEN(production_writes); i++)
        allowed(fx, fx->pms, production_writes[i].target, production_writes[i].kind);
    for (size_t i = 0; i < ARRAY_LEN(marketing_writes); i++)
        refused(fx, fx->pms, marketing_writes[i].target, marketing_writes[i].kind, "marketing");
}

static void test_marketing(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < ARRAY_LEN(marketing_writes); i++)
        allowed(fx, fx->marketing, marketing_writes[i].target, marketing_writes[i].kind);
    for (size_t i = 0; i < ARRAY_LEN(production_writes); i++)
        refused(fx, fx->marketing, production_writes[i].target, production_writes[i].kind,
                "production");
}

static void test_dispatch_refused_everything(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < ARRAY_LEN(production_writes); i++)
        refused(fx, fx->dispatch, production_writes[i].target, production_writes[i].kind,
                "production");
    for (size_t i = 0; i < ARRAY_LEN(marketing_writes); i++)
        refused(fx, fx->dispatch, marketing_writes[i].target, marketing_writes[i].kind,
                "marketing");
}

static void test_admin_allowed_everything(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < ARRAY_LEN(production_writes); i++)
        allowed(fx, fx->admin, production_writes[i].target, production_writes[i].kind);
    for (size_t i = 0; i < ARRAY_LEN(marketing_writes); i++)
        allowed(fx, fx->admin, marketing_writes[i].target, marketing_writes[i].kind);
    allowed(fx, fx->admin, "lines", NULL);
    allowed(fx, fx->admin, "no-such-collection", NULL);
}

/* The refusal names the role that maintains that very object, including
 * the kind that decided it. */
static void test_refusal_messages(void **state)
{
    fixture *fx = *state;
    json_t *obj = json_pack("{s:s, s:s, s:i}", "kind", "dedicated", "name", "T1", "capacity_kva", 630);
    char why[512];
    assert_int_equal(policy_check(fx->pol, fx->pms, "transformers", obj, why, sizeof why), ERR);
    assert_non_null(strstr(why, "marketing"));
    assert_null(strstr(why, "production role"));
    assert_non_null(strstr(why, "dedicated"));
    assert_non_null(strstr(why, "pms"));
    json_decref(obj);

    obj = json_pack("{s:s}", "kind", "public");
    assert_int_equal(policy_check(fx->pol, fx->marketing, "lines", obj, why, sizeof why), ERR);
    assert_non_null(strstr(why, "production"));
    assert_null(strstr(why, "marketing role"));
    assert_non_null(strstr(why, "public"));
    json_decref(obj);

    obj = json_object();
    assert_int_equal(policy_check(fx->pol, fx->dispatch, "customers", obj, why, sizeof why), ERR);
    assert_non_null(strstr(why, "marketing"));
    assert_int_equal(policy_check(fx->pol, fx->pms, "customers", obj, why, sizeof why), ERR);
    assert_non_null(strstr(why, "marketing"));
    assert_int_equal(
        policy_check(fx->pol, fx->dispatch, "relations/line-transformer", obj, why, sizeof why),
        ERR);
    assert_non_null(strstr(why, "production"));
    /* nobody but an administrator maintains an unknown target */
    assert_int_equal(policy_check(fx->pol, fx->pms, "no-such-collection", obj, why, sizeof why),
                     ERR);
    assert_non_null(strstr(why, "administrator"));
    /* a tiny buffer is truncated, never overrun */
    char small[10];
    assert_int_equal(policy_check(fx->pol, fx->pms, "customers", obj, small, sizeof small), ERR);
    assert_int_equal(strlen(small), sizeof small - 1);
    json_decref(obj);
}

/* Every object type and relation kind of the registry has a maintainer
 * that is production or marketing (never only admin). */
static void test_every_registered_target_has_a_maintainer(void **state)
{
    fixture *fx = *state;
    char roles[256], target[128];
    for (int i = 0; i < biz_ntypes; i++) {
        policy_roles(fx->pol, biz_types[i].collection, roles, sizeof roles);
        /* notices are made by the platform and reported by the notifier */
        if (!strstr(roles, "production") && !strstr(roles, "marketing") &&
            !(strcmp(biz_types[i].prefix, "NT") == 0 && strcmp(roles, "notifier") == 0))
            fail_msg("%s: maintained by '%s'", biz_types[i].collection, roles);
    }
    for (int i = 0; i < biz_nrelations; i++) {
        snprintf(target, sizeof target, "relations/%s", biz_relations[i].kind);
        policy_roles(fx->pol, target, roles, sizeof roles);
        if (!strstr(roles, "production") && !strstr(roles, "marketing"))
            fail_msg("%s: maintained by '%s'", target, roles);
    }
    policy_roles(fx->pol, "lines", roles, sizeof roles);
    assert_string_equal(roles, "production, marketing");
    policy_roles(fx->pol, "substations", roles, sizeof roles);
    assert_string_equal(roles, "production");
    policy_roles(fx->pol, "nothing", roles, sizeof roles);
    assert_string_equal(roles, "");
}

/* ---- load errors -------------------------------------------------------- */

static void policy_load_fails(const char *text, const char *msg)
{
    char *path = write_temp(text);
    char err[512] = "";
    policy *p = policy_load(path, err, sizeof err);
    int named = strstr(err, path) != NULL;
    remove_temp(path); /* before any assertion, so a failure leaves nothing behind */
    if (p) {
        policy_free(p);
        fail_msg("policy file accepted: %s", text);
    }
    if (!strstr(err, msg)) fail_msg("policy error '%s' lacks '%s'", err, msg);
    if (!named) fail_msg("policy error '%s' does not name the file", err);
}

static void apps_load_fails(const char *text, const char *msg)
{
    char *path = write_temp(text);
    char err[512] = "";
    auth *a = auth_load(path, err, sizeof err);
    int named = strstr(err, path) != NULL;
    remove_temp(path); /* before any assertion, so a failure leaves nothing behind */
    if (a) {
        auth_free(a);
        fail_msg("apps file accepted: %s", text);
    }
    if (!strstr(err, msg)) fail_msg("apps error '%s' lacks '%s'", err, msg);
    if (!named) fail_msg("apps error '%s' does not name the file", err);
}

#define HASH_K1 "c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7"

static void test_policy_load_errors(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(policy_load("/nonexistent/policy.json", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/policy.json"));

    policy_load_fails("{\"admin_roles\": [\"admin\"], \"rules\": [", "");    /* malformed */
    policy_load_fails("[]", "\"rules\"");                                     /* not an object */
    policy_load_fails("{\"admin_roles\": [\"admin\"], \"rules\": {}}", "\"rules\" (array)");
    policy_load_fails("{\"rules\": []}", "\"admin_roles\"");
    policy_load_fails("{\"admin_roles\": \"admin\", \"rules\": []}", "\"admin_roles\"");
    policy_load_fails("{\"admin_roles\": [1], \"rules\": []}", "\"admin_roles\"");
    policy_load_fails("{\"admin_roles\": [], \"rules\": [{\"roles\": [\"x\"]}]}", "rules[0]");
    policy_load_fails(
        "{\"admin_roles\": [], \"rules\": [{\"target\": \"a\", \"roles\": [\"x\"]},"
        " {\"target\": \"b\"}]}",
        "rules[1]");
    policy_load_fails("{\"admin_roles\": [], \"rules\": [{\"target\": \"a\", \"roles\": \"x\"}]}",
                      "rules[0]");
    policy_load_fails(
        "{\"admin_roles\": [], \"rules\": [{\"target\": \"a\", \"roles\": [\"x\", 2]}]}",
        "rules[0]");
    policy_load_fails(
        "{\"admin_roles\": [], \"rules\": [{\"target\": \"a\", \"roles\": [], \"when\": \"k\"}]}",
        "rules[0]");
    policy_load_fails("{\"admin_roles\": [], \"rules\": [], \"rules\": []}", "duplicate");

    /* a minimal valid one, with a `when` on a non-string value */
    char *path = write_temp("{\"admin_roles\": [\"root\"], \"rules\": ["
                            "{\"target\": \"meters\", \"when\": {\"rows\": 2}, \"roles\": [\"r\"]}]}");
    policy *p = policy_load(path, err, sizeof err);
    assert_non_null(p);
    app_entry r_app = {.name = "ra", .roles = (char *[]){"r"}, .nroles = 1};
    app_entry root_app = {.name = "su", .roles = (char *[]){"x", "root"}, .nroles = 2};
    json_t *two = json_pack("{s:i}", "rows", 2), *three = json_pack("{s:i}", "rows", 3);
    char why[256];
    assert_int_equal(policy_check(p, &r_app, "meters", two, why, sizeof why), OK);
    assert_int_equal(policy_check(p, &r_app, "meters", three, why, sizeof why), ERR);
    assert_int_equal(policy_check(p, &r_app, "customers", two, why, sizeof why), ERR);
    assert_int_equal(policy_check(p, &root_app, "customers", three, why, sizeof why), OK);
    json_decref(two);
    json_decref(three);
    policy_free(p);
    remove_temp(path);
}

static void test_apps_load_errors(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(auth_load("/nonexistent/apps.json", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/apps.json"));

    apps_load_fails("{\"apps\": [", "");                       /* malformed */
    apps_load_fails("[]", "\"apps\" must be an array");        /* root not an object */
    apps_load_fails("{\"apps\": {}}", "\"apps\" must be an array");
    apps_load_fails("{\"apps\": \"pms\"}", "\"apps\" must be an array");
    apps_load_fails("{}", "\"apps\" must be an array");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"]}]}", "apps[0]"); /* no hash */
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": \"" HASH_K1
                    "\"}, {\"app\": \"b\", \"roles\": [\"r\"]}]}",
                    "apps[1]");
    apps_load_fails("{\"apps\": [{\"roles\": [\"r\"], \"key_sha256\": \"" HASH_K1 "\"}]}", "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"key_sha256\": \"" HASH_K1 "\"}]}", "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": \"r\", \"key_sha256\": \"" HASH_K1
                    "\"}]}",
                    "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [1], \"key_sha256\": \"" HASH_K1
                    "\"}]}",
                    "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": 5}]}",
                    "apps[0]");
    /* bad hex: too short, too long, not hex at all */
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": \"abc\"}]}",
                    "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": \"" HASH_K1
                    "00\"}]}",
                    "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": "
                    "\"zzb0a4ecb1d2d3c8e3b9e5e8d1f0b9a7c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7\"}]}",
                    "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": \"sha256:"
                    "c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7c6b0a4ecb1d2d3c8e3b9e5e8d\"}]}",
                    "apps[0]");
}

/* 64 characters that are not 64 hex digits must be refused wherever the
 * bad character sits (not only as the first of a pair), and signs or
 * spaces are not hex digits. */
static void test_apps_load_rejects_partial_hex(void **state)
{
    (void)state;
    /* the last character is not hex */
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": "
                    "\"c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9az\"}]}",
                    "apps[0]");
    /* every second character is not hex */
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": "
                    "\"0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g0g\"}]}",
                    "apps[0]");
    /* a sign, a space */
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": "
                    "\"-1b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7\"}]}",
                    "apps[0]");
    apps_load_fails("{\"apps\": [{\"app\": \"a\", \"roles\": [\"r\"], \"key_sha256\": "
                    "\" 1b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7c6b0a4ecb1d2d3c8e3b9e5e8d1f0b9a7\"}]}",
                    "apps[0]");
}

static void test_apps_load_valid_custom(void **state)
{
    (void)state;
    char hash[65], upper[65];
    sha256_hex("k1", 2, hash);
    for (int i = 0; i < 65; i++)
        upper[i] = (hash[i] >= 'a' && hash[i] <= 'f') ? (char)(hash[i] - 32) : hash[i];
    char *text = xasprintf("{\"apps\": [{\"app\": \"one\", \"roles\": [\"r1\", \"r2\"], "
                           "\"key_sha256\": \"%s\"}, {\"app\": \"two\", \"roles\": [], "
                           "\"key_sha256\": \"%s\"}]}",
                           hash, "0000000000000000000000000000000000000000000000000000000000000000");
    char *path = write_temp(text);
    char err[256] = "";
    auth *a = auth_load(path, err, sizeof err);
    if (!a) fail_msg("auth_load: %s", err);
    const app_entry *app = must_auth(a, "Bearer k1");
    assert_string_equal(app->name, "one");
    assert_int_equal(app->nroles, 2);
    assert_true(app_has_role(app, "r1"));
    assert_true(app_has_role(app, "r2"));
    assert_false(app_has_role(app, "r"));
    auth_refused(a, "Bearer k2", "unknown API key");
    auth_free(a);
    remove_temp(path);
    free(text);

    /* upper-case hex is hex too */
    text = xasprintf("{\"apps\": [{\"app\": \"up\", \"roles\": [\"r\"], \"key_sha256\": \"%s\"}]}",
                     upper);
    path = write_temp(text);
    a = auth_load(path, err, sizeof err);
    if (!a) fail_msg("auth_load (upper-case hex): %s", err);
    assert_string_equal(must_auth(a, "Bearer k1")->name, "up");
    auth_free(a);
    remove_temp(path);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test_setup_teardown(test_auth_dev_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_production, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marketing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refused_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_allowed_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_registered_target_has_a_maintainer, setup,
                                        teardown),
        cmocka_unit_test(test_policy_load_errors),
        cmocka_unit_test(test_apps_load_errors),
        cmocka_unit_test(test_apps_load_rejects_partial_hex),
        cmocka_unit_test(test_apps_load_valid_custom),
    };
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
