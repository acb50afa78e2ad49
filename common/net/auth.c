/* auth.c -- bearer keys (see auth.h). */
#include "net/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/core.h"
#include "base/jsonutil.h"

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

void auth_free(auth *a)
{
    if (!a) return;
    for (int i = 0; i < a->napps; i++) {
        free(a->apps[i].name);
        string_list_free(a->apps[i].roles, a->apps[i].nroles);
    }
    free(a->apps);
    free(a);
}

auth *auth_load(const char *path, char *err, size_t errlen)
{
    json_t *root = json_load_config(path, err, errlen);
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
        if (json_string_list(json_object_get(e, "roles"), &app->roles, &app->nroles) != OK || !name ||
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

