/* policy.c -- the write policy (see policy.h). */
#include "model/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/core.h"
#include "base/jsonutil.h"

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
    string_list_free(p->admin_roles, p->nadmin);
    for (int i = 0; i < p->nrules; i++) {
        free(p->rules[i].target);
        json_decref(p->rules[i].when);
        string_list_free(p->rules[i].roles, p->rules[i].nroles);
    }
    free(p->rules);
    free(p);
}

policy *policy_load(const char *path, char *err, size_t errlen)
{
    json_t *root = json_load_config(path, err, errlen);
    if (!root) return NULL;
    policy *p = xcalloc(1, sizeof *p);
    json_t *rules = json_object_get(root, "rules");
    if (json_string_list(json_object_get(root, "admin_roles"), &p->admin_roles, &p->nadmin) != OK ||
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
            json_string_list(json_object_get(e, "roles"), &r->roles, &r->nroles) != OK) {
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

int policy_count(const policy *p)
{
    return p->nrules;
}

const char *policy_target(const policy *p, int i)
{
    return p->rules[i].target;
}

const json_t *policy_when(const policy *p, int i)
{
    return p->rules[i].when;
}
