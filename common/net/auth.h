/* auth.h -- who is calling: bearer keys, stored hashed. What they may write
 * is the policy's (model/policy.h). */
#ifndef AUTH_H
#define AUTH_H

#include <jansson.h>
#include <stddef.h>

typedef struct app_entry {
    char *name;
    char **roles;
    int nroles;
    unsigned char key_hash[32]; /* SHA-256 of the key; the key itself is never kept */
} app_entry;

typedef struct auth auth;

/* Loads APPS_FILE: {"apps": [{"app", "roles": [...], "key_sha256": hex}]}. */
auth *auth_load(const char *path, char *err, size_t errlen);
void auth_free(auth *a);

/* Checks an Authorization header value (NULL when absent). NULL and a
 * reason for the 401 when it names no app. */
const app_entry *auth_check(const auth *a, const char *header, const char **why);

int app_has_role(const app_entry *app, const char *role);

void sha256_hex(const char *data, size_t len, char out[65]);

#endif
