/* auth.c -- bearer keys and the write policy (see auth.h). */
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

#define LAST_KEY_MAX 128

struct auth {
    app_entry *apps;
    int napps;
    unsigned long id; /* unique per table loaded, for the per-thread cache */
};

static atomic_ulong next_auth_id = 1;

/* Given EVP_sha256(), OpenSSL 3 looks the algorithm up in its providers on
 * every digest; fetched once, it does not. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void sha256(const char *data, size_t len, unsigned char md[32])
{
    pthread_once(&sha256_once, fetch_sha256);
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, sha256_md ? sha256_md : EVP_sha256(), NULL);
}

void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    sha256(data, len, md);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex_to_bytes(const char *hex, unsigned char out[32])
{
    if (strlen(hex) != 64) return ERR;
    for (int i = 0; i < 32; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return ERR;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return OK;
}

static json_t *load_json_file(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
    return root;
}

/* Copies a JSON array of strings; ERR if it is not one. */
static int string_list(json_t *arr, char ***out, int *n)
{
    if (!json_is_array(arr)) return ERR;
    size_t i;
    json_t *v;
    *n = 0;
    *out = xcalloc(json_array_size(arr) + 1, sizeof **out);
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) return ERR;
        (*out)[(*n)++] = xstrdup(json_string_value(v));
    }
    return OK;
}

static void free_list(char **list, int n)
{
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

void auth_free(auth *a)
{
    if (!a) return;
    for (int i = 0; i < a->napps; i++) {
        free(a->apps[i].name);
        free_list(a->apps[i].roles, a->apps[i].nroles);
    }
    free(a->apps);
    free(a);
}

auth *auth_load(const char *path, char *err, size_t errlen)
{
    json_t *root = load_json_file(path, err, errlen);
    if (!root) return NULL;
    auth *a = xcalloc(1, sizeof *a);
    a->id = atomic_fetch_add(&next_auth_id, 1);
    json_t *apps = json_object_get(root, "apps");
    if (!json_is_array(apps)) {
        snprintf(err, errlen, "%s: \"apps\" must be an array", path);
        goto fail;
    }
    a->apps = xcalloc(json_array_size(apps) + 1, sizeof *a->apps);
    size_t i;
    json_t *e;
    json_array_foreach(apps, i, e) {
        app_entry *app = &a->apps[a->napps++];
        const char *name = json_string_value(json_object_get(e, "app"));
        const char *hash = json_string_value(json_object_get(e, "key_sha256"));
        app->name = xstrdup(name ? name : "");
        if (string_list(json_object_get(e, "roles"), &app->roles, &app->nroles) != OK || !name ||
            !hash || hex_to_bytes(hash, app->key_hash) != OK) {
            snprintf(err, errlen,
                     "%s: apps[%zu] needs \"app\", \"roles\" (strings) and \"key_sha256\" (64 hex)",
                     path, i);
            goto fail;
        }
    }
    json_decref(root);
    return a;
fail:
    json_decref(root);
    auth_free(a);
    return NULL;
}

const app_entry *auth_check(const auth *a, const char *header, const char **why)
{
    if (!header) {
        *why = "missing Authorization header; send Authorization: Bearer KEY";
        return NULL;
    }
    if (strncasecmp(header, "Bearer ", 7) != 0 || header[7] == '\0' || strchr(header + 7, ' ')) {
        *why = "malformed Authorization header; expected: Bearer KEY";
        return NULL;
    }
    const char *key = header + 7;
    size_t len = strlen(key);
    /* A keep-alive client sends the same key each time: the last key this
     * thread accepted is compared (in constant time) before any digest. */
    static __thread struct {
        unsigned long id; /* of the table: a freed table's address may be reused */
        const app_entry *app;
        size_t len;
        char key[LAST_KEY_MAX];
    } last;
    if (last.id == a->id && last.len == len && CRYPTO_memcmp(last.key, key, len) == 0)
        return last.app;
    unsigned char md[32];
    sha256(key, len, md);
    for (int i = 0; i < a->napps; i++) {
        if (CRYPTO_memcmp(md, a->apps[i].key_hash, 32) != 0) continue;
        if (len <= sizeof last.key) {
            memcpy(last.key, key, len);
            last.len = len;
            last.app = &a->apps[i];
            last.id = a->id;
        }
        return &a->apps[i];
    }
    *why = "unknown API key";
    return NULL;
}

int app_has_role(const app_entry *app, const char *role)
{
    for (int i = 0; i < app->nroles; i++)
        if (strcmp(app->roles[i], role) == 0) return 1;
    return 0;
}

/* ---- policy ------------------------------------------------------------- */

typedef struct {
    char *target;
    json_t *when; /* object of field -> value, or NULL */
    char **roles;
    int nroles;
} policy_rule;

struct policy {
    char **admin_roles;
    int nadmin;
    policy_rule *rules;
    int nrules;
};

void policy_free(policy *p)
{
    if (!p) return;
    free_list(p->admin_roles, p->nadmin);
    for (int i = 0; i < p->nrules; i++) {
        free(p->rules[i].target);
        json_decref(p->rules[i].when);
        free_list(p->rules[i].roles, p->rules[i].nroles);
    }
    free(p->rules);
    free(p);
}

policy *policy_load(const char *path, char *err, size_t errlen)
{
    json_t *root = load_json_file(path, err, errlen);
    if (!root) return NULL;
    policy *p = xcalloc(1, sizeof *p);
    json_t *rules = json_object_get(root, "rules");
    if (string_list(json_object_get(root, "admin_roles"), &p->admin_roles, &p->nadmin) != OK ||
        !json_is_array(rules)) {
        snprintf(err, errlen, "%s: needs \"admin_roles\" (strings) and \"rules\" (array)", path);
        goto fail;
    }
    p->rules = xcalloc(json_array_size(rules) + 1, sizeof *p->rules);
    size_t i;
    json_t *e;
    json_array_foreach(rules, i, e) {
        policy_rule *r = &p->rules[p->nrules++];
        const char *target = json_string_value(json_object_get(e, "target"));
        json_t *when = json_object_get(e, "when");
        r->target = xstrdup(target ? target : "");
        if (when) r->when = json_incref(when);
        if (!target || (when && !json_is_object(when)) ||
            string_list(json_object_get(e, "roles"), &r->roles, &r->nroles) != OK) {
            snprintf(err, errlen,
                     "%s: rules[%zu] needs \"target\", \"roles\" (strings), optional \"when\" {}",
                     path, i);
            goto fail;
        }
    }
    json_decref(root);
    return p;
fail:
    json_decref(root);
    policy_free(p);
    return NULL;
}

static int when_matches(const json_t *when, const json_t *obj)
{
    if (!when) return 1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)when, k, v) {
        if (!json_equal(v, json_object_get(obj, k))) return 0;
    }
    return 1;
}

static int has_any_role(const app_entry *app, char **roles, int n)
{
    for (int i = 0; i < n; i++)
        if (app_has_role(app, roles[i])) return 1;
    return 0;
}

static void describe_when(const json_t *when, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!when) return;
    const char *k;
    json_t *v;
    size_t used = 0;
    json_object_foreach((json_t *)when, k, v) {
        const char *s = json_is_string(v) ? json_string_value(v) : "?";
        int n = snprintf(out + used, outlen - used, " with %s %s", k, s);
        if (n < 0 || (size_t)n >= outlen - used) break;
        used += (size_t)n;
    }
}

int policy_check(const policy *p, const app_entry *app, const char *target, const json_t *obj,
                 char *why, size_t whylen)
{
    if (has_any_role(app, p->admin_roles, p->nadmin)) return OK;
    const policy_rule *match = NULL;
    for (int i = 0; i < p->nrules; i++) {
        const policy_rule *r = &p->rules[i];
        if (strcmp(r->target, target) != 0 || !when_matches(r->when, obj)) continue;
        if (has_any_role(app, r->roles, r->nroles)) return OK;
        if (!match) match = r;
    }
    char roles[256] = "", cond[160];
    if (match) {
        size_t used = 0;
        for (int i = 0; i < match->nroles; i++) {
            int n = snprintf(roles + used, sizeof roles - used, "%s%s", i ? " or " : "",
                             match->roles[i]);
            if (n < 0 || (size_t)n >= sizeof roles - used) break;
            used += (size_t)n;
        }
        describe_when(match->when, cond, sizeof cond);
        snprintf(why, whylen, "%s%s are maintained by the %s role; app %s has none of them",
                 target, cond, roles, app->name);
    } else {
        snprintf(why, whylen, "%s may be written only by an administrator", target);
    }
    return ERR;
}

void policy_roles(const policy *p, const char *target, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < p->nrules; i++) {
        if (strcmp(p->rules[i].target, target) != 0) continue;
        for (int j = 0; j < p->rules[i].nroles; j++) {
            const char *role = p->rules[i].roles[j];
            if (strstr(out, role)) continue;
            int n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", role);
            if (n < 0 || (size_t)n >= outlen - used) return;
            used += (size_t)n;
        }
    }
}
