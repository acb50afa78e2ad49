/* policy.h -- what each role may write, held as data (DESIGN §5). */
#ifndef POLICY_H
#define POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "net/auth.h"

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

/* The rules one by one (i from 0 to policy_count - 1), for the start-up
 * check of the targets against the declarations (catalogue_check.h). */
int policy_count(const policy *p);
const char *policy_target(const policy *p, int i);
const json_t *policy_when(const policy *p, int i); /* NULL: no condition */

#endif
