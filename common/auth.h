/* auth.h -- who is calling (bearer keys, stored hashed) and what they may
 * write (the write policy, held as data: DESIGN §5). */
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

typedef struct policy policy;

/* Loads POLICY_FILE: {"admin_roles": [...], "rules": [{"target",
 * "when": {field: value}, "roles": [...]}]}. A target is a collection name
 * ("lines") or "relations/KIND". */
policy *policy_load(const char *path, char *err, size_t errlen);
void policy_free(policy *p);

/* OK when app may write obj (the object as it will be stored) at target.
 * Otherwise ERR, with a message naming the roles that maintain it. */
int policy_check(const policy *p, const app_entry *app, const char *target, const json_t *obj,
                 char *why, size_t whylen);

/* The roles that may write target at all (any `when`), comma-separated,
 * for documentation; "" when only admins may. */
void policy_roles(const policy *p, const char *target, char *out, size_t outlen);

#endif
