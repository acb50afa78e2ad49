/* switching.c -- dispatch operating a switch (DESIGN §9):
 *
 *   POST /v1/switches/{code}/operate   {"open": true|false, "reason": "..."}
 *
 * The one way a switch's position now (current_open) changes: by the
 * dispatch role (and admin), with If-Match honoured, recorded in the
 * switch's history with the reason, and announced as switch.operated. Its
 * other fields are production's to maintain, as any object's. What the
 * operation changes for walks is read at the next walk: they read the
 * position from the switch itself (common/topology). */
#include <string.h>

#include "base/jsonutil.h"
#include "engine/context.h"
#include "grid.h"

#define REASON_MAX 200 /* characters: dispatch writes in Chinese as often as not */

/* Characters of UTF-8 text (jansson has checked it is UTF-8). */
static size_t characters(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The body: "open" a boolean and "reason" a short text, nothing else. */
static int operation_of(request *req, int *open, const char **reason)
{
    json_t *errors = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(req->json, key, v) {
        if (strcmp(key, "open") && strcmp(key, "reason"))
            json_add_error(errors, key, "unknown field");
    }
    json_t *o = json_object_get(req->json, "open"), *r = json_object_get(req->json, "reason");
    if (!json_is_boolean(o)) json_add_error(errors, "open", "is required: true or false");
    *reason = json_string_value(r);
    if (!*reason || !**reason)
        json_add_error(errors, "reason", "is required: why the switch is operated");
    else if (characters(*reason) > REASON_MAX)
        json_add_error(errors, "reason", "is longer than %d characters", REASON_MAX);
    if (json_array_size(errors)) {
        http_problem_errors(req, 400, errors, "the operation is not valid; nothing was changed");
        return ERR;
    }
    json_decref(errors);
    *open = json_is_true(o);
    return OK;
}

/* A switch already in the position asked is not operated again: dispatch's
 * order of operations went wrong somewhere, and saying so beats a silent
 * success. A retired switch is refused by the change itself (409). */
static int not_there_yet(request *req, const json_t *current, const json_t *patch, void *ctx)
{
    (void)ctx;
    json_t *now = json_object_get(current, "current_open");
    if (!json_equal(now, json_object_get(patch, "current_open"))) return OK;
    http_problem_extra(req, 409, json_pack("{s:O}", "current_open", now),
                       "%s is already %s; nothing was changed", json_str(current, "code"),
                       json_is_true(now) ? "open" : "closed");
    return ERR;
}

static void operate(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1];
    int open;
    const char *reason;
    if (service_path_code(req, "SW", code) != OK || operation_of(req, &open, &reason) != OK ||
        !service_command_allowed(req, svc, "switches/operate", "operating a switch"))
        return;
    json_t *patch = json_pack("{s:b}", "current_open", open);
    resource_command(svc, req, code, patch, "switch.operated", reason, not_there_yet, NULL,
                     NULL);
    json_decref(patch);
}

void switching_routes(service *svc, router *r)
{
    router_add(r, "POST", "/v1/switches/{code}/operate", operate, svc, ROUTE_BODY_JSON,
               "Operate a switch (dispatch): open or close it now, with the reason; honours "
               "If-Match; event switch.operated");
}

void grid_routes(service *svc, router *r)
{
    drawing_routes(svc, r);
    switching_routes(svc, r);
}
