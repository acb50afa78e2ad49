/* workorder_steps.c -- what each step of a work order does: the data it
 * takes, grid-svc's half (asked before our transaction, with nothing of ours
 * held) and ours, in the work order's transaction. The order of the steps
 * and who may take them: workorders.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/changes.h"
#include "cust.h"
#include "model/fields.h"
#include "base/jsonutil.h"
#include "net/peer.h"
#include "engine/references.h"
#include "workorder_steps.h"


static const char *const ln[] = {"LN", NULL};
static const char *const phases[] = {"single", "three", NULL};

#define NOTE {.name = "note", .type = FT_TEXT, .max_len = 1000, .doc = "what was found or done"}
#define DATE(fl, what) {.name = "power_on_date", .type = FT_TEXT, .flags = (fl), .max_len = 10, \
                        .doc = what}

static const field_def note_only[] = {NOTE, FIELDS_END};
static const field_def plan_data[] = {
    {.name = "line", .type = FT_CODE, .flags = FF_REQUIRED, .refs = ln,
     .doc = "the line that will supply (LN)"},
    {.name = "capacity_kva", .type = FT_NUM, .flags = FF_REQUIRED, .min = 1, .max = 1000000,
     .doc = "capacity, kVA"},
    {.name = "voltage_kv", .type = FT_NUM, .flags = FF_REQUIRED, .min = 0.1, .max = 1000,
     .doc = "supply voltage, kV"},
    {.name = "metering_plan", .type = FT_TEXT, .max_len = 500, .doc = "metering plan"},
    {.name = "billing_plan", .type = FT_TEXT, .max_len = 500, .doc = "billing plan"},
    DATE(0, "intended power-on date, YYYY-MM-DD"),
    NOTE,
    FIELDS_END,
};
static const field_def design_data[] = {
    {.name = "transformer_name", .type = FT_TEXT, .doc = "name of the dedicated transformer"},
    {.name = "transformer_model", .type = FT_TEXT, .max_len = 60, .doc = "its model"},
    NOTE,
    FIELDS_END,
};
static const field_def schedule_data[] = {
    DATE(FF_REQUIRED, "power-on date, YYYY-MM-DD"),
    {.name = "outage_starts_at", .type = FT_TIME,
     .doc = "when the planned outage of the power-on work starts (default: the power-on date, "
            "08:00 China Standard Time)"},
    {.name = "outage_ends_at", .type = FT_TIME,
     .doc = "when it is expected to end (default: 12:00 that day)"},
    NOTE,
    FIELDS_END,
};
static const field_def power_data[] = {
    {.name = "meter_asset_no", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 40,
     .doc = "asset number of the meter installed"},
    {.name = "meter_model", .type = FT_TEXT, .max_len = 60, .doc = "its model"},
    {.name = "meter_phase", .type = FT_ENUM, .values = phases, .doc = "single or three phase"},
    {.name = "tariff", .type = FT_TEXT, .max_len = 60, .doc = "tariff code of the billing"},
    NOTE,
    FIELDS_END,
};

static int plan(step_ctx *s);
static int draw(step_ctx *s);
static int drawn(step_ctx *s);
static int outage_of_work(step_ctx *s);
static int schedule(step_ctx *s);
static int publish(step_ctx *s);
static int published(step_ctx *s);
static int confirm_line(step_ctx *s);
static int confirm_billed(step_ctx *s);
static int power_on(step_ctx *s);
static int withdraw(step_ctx *s);
static int cancel(step_ctx *s);

/* In the order of the process; cancelled last. */
const wo_step wo_steps[] = {
    {"applied", NULL, NULL, NULL},
    {"surveyed", note_only, NULL, NULL},
    {"planned", plan_data, confirm_line, plan},
    {"designed", design_data, draw, drawn},
    {"scheduled", schedule_data, outage_of_work, schedule},
    {"accepted", note_only, NULL, NULL},
    {"published", note_only, publish, published},
    {"powered", power_data, confirm_billed, power_on},
    {"archived", note_only, NULL, NULL},
    {"cancelled", note_only, withdraw, cancel},
};
const int wo_nsteps = (int)ARRAY_LEN(wo_steps);

int wo_step_index(const char *name)
{
    for (int i = 0; name && i < (int)ARRAY_LEN(wo_steps); i++)
        if (strcmp(wo_steps[i].name, name) == 0) return i;
    return -1;
}

int wo_may_follow(int now, int to)
{
    if (to == STEP_CANCELLED) return now < STEP_POWERED;
    return now < STEP_ARCHIVED && to == now + 1;
}

json_t *wo_legal_after(int now)
{
    json_t *legal = json_array();
    for (int to = 1; to < (int)ARRAY_LEN(wo_steps); to++)
        if (wo_may_follow(now, to)) json_array_append_new(legal, json_string(wo_steps[to].name));
    return legal;
}

/* ---- talking to grid-svc ------------------------------------------------------- */

/* One request to grid-svc with the caller's identity. OK with its answer
 * in *out (owned), or ERR after answering: its own refusals (403, 409, 422)
 * passed on with their errors, 409 for a 404 (its part is not there), and
 * otherwise the status of a failed peer call (peer_failure_status): 502 when
 * it cannot be reached (nothing was done), 504 when it did not answer in
 * time (its half may be done: a retry finishes the step). A 404 is OK with
 * *out NULL when missing_ok. */
static int grid_call(step_ctx *s, const char *method, const char *path, const json_t *body,
                     int missing_ok, json_t **out)
{
    request *req = s->req;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    peer_caller who = service_caller(req);
    peer_response pr;
    peer_call_primary(s->svc->peer, method, path, &who, text, text ? strlen(text) : 0, &pr);
    free(text);
    *out = NULL;
    int rc = ERR;
    const char *now = json_str(s->order, "step");
    if (pr.error != PEER_OK) service_peer_retry_after(req, &pr);
    if (pr.error == PEER_TIMEOUT) {
        http_problem(req, 504, "grid-svc did not answer in time (%s); work order %s stays %s, and "
                               "grid-svc's part may be done: retry the step to finish it",
                     pr.detail, s->code, now);
    } else if (pr.error != PEER_OK) {
        http_problem(req, peer_failure_status(&pr), "grid-svc cannot be reached (%s); work order "
                     "%s stays %s and nothing was changed on either platform",
                     pr.detail, s->code, now);
    } else if (pr.status == 404 && missing_ok) {
        rc = OK;
    } else if (pr.status >= 200 && pr.status < 300 && (*out = json_loads(pr.body, 0, NULL))) {
        rc = OK;
    } else {
        json_t *problem = json_loads(pr.body ? pr.body : "", 0, NULL);
        const char *why = json_str(problem, "detail");
        int status = pr.status == 403 || pr.status == 409 || pr.status == 422 ? (int)pr.status
                     : pr.status == 404                                      ? 409
                                                                             : peer_failure_status(&pr);
        if (status == 503) service_peer_retry_after(req, &pr);
        json_t *errors = json_object_get(problem, "errors");
        http_problem_extra(req, status, json_pack("{s:O*}", "errors", errors),
                           "grid-svc answered %ld: %s; work order %s stays %s", pr.status,
                           why ? why : "no explanation", s->code, now);
        json_decref(problem);
    }
    peer_response_free(&pr);
    return rc;
}

/* ---- what the steps do ------------------------------------------------------- */

/* Creates an object of the step, noting its code on the work order. */
static int make(step_ctx *s, const char *prefix, json_t *obj, const char *field)
{
    json_t *made = resource_create_in(s->svc, s->req, s->c, prefix, obj);
    json_decref(obj);
    if (!made) return ERR;
    if (field) json_object_set(s->set, field, json_object_get(made, "code"));
    json_decref(made);
    return OK;
}

static int link(step_ctx *s, const char *kind, const char *from, const char *to)
{
    json_t *l = json_pack("{s:s, s:s}", "from", from, "to", to);
    json_t *added = relation_add_in(s->svc, s->req, s->c, kind, l);
    json_decref(l);
    json_decref(added);
    return added ? OK : ERR;
}

/* The step's data members named, copied onto the work order. */
static void take(step_ctx *s, const char *const *names)
{
    for (; *names; names++) {
        json_t *v = json_object_get(s->data, *names);
        if (v) json_object_set(s->set, *names, v);
    }
}

/* "<applicant><suffix>", cut on a character boundary so that it stays a
 * valid name (200 bytes) however long the applicant's name is. Owned. */
static char *applicant_and(const json_t *order, const char *suffix)
{
    const char *who = json_str(order, "applicant");
    size_t room = 200 - strlen(suffix), n = strlen(who);
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)who[n] & 0xC0) == 0x80) n--; /* not mid-character */
    }
    return xasprintf("%.*s%s", (int)n, who, suffix);
}

/* planned: the supply plan is stored, the customer (pending) and its supply
 * point are created, and the plan is pushed to the service command system
 * as workorder.plan_pushed. */
static int plan(step_ctx *s)
{
    static const char *const plan_fields[] = {"line", "capacity_kva", "voltage_kv",
                                              "metering_plan", "billing_plan", "power_on_date",
                                              NULL};
    const json_t *o = s->order, *d = s->data;
    json_t *cu = json_pack("{s:O, s:s, s:O, s:s}", "name", json_object_get(o, "applicant"),
                           "category", "hv", "contract_capacity_kva",
                           json_object_get(d, "capacity_kva"), "status", "pending");
    if (json_str(o, "phone")) json_object_set(cu, "phone", json_object_get(o, "phone"));
    if (json_str(o, "address")) json_object_set(cu, "address", json_object_get(o, "address"));
    if (make(s, "CU", cu, "customer") != OK) return ERR;
    char *name = applicant_and(o, " main supply");
    json_t *sp = json_pack("{s:s, s:O, s:O, s:s, s:O, s:s}", "name", name, "customer",
                           json_object_get(s->set, "customer"), "voltage_kv",
                           json_object_get(d, "voltage_kv"), "mode", "main", "capacity_kva",
                           json_object_get(d, "capacity_kva"), "status", "pending");
    free(name);
    if (make(s, "SP", sp, "supply_point") != OK) return ERR;
    take(s, plan_fields);
    json_t *pushed = json_deep_copy(s->set);
    json_object_del(pushed, "step");
    json_object_set_new(pushed, "work_order", json_string(s->code));
    int rc = changes_record(s->req, s->c, "workorder.plan_pushed", s->code,
                            json_str(s->set, "customer"), NULL, pushed);
    json_decref(pushed);
    return rc;
}

/* designed, grid-svc's half: it draws the dedicated transformer and its
 * links to the line, the supply point and the customer in design status
 * (the red drawing); asked again, it answers the drawing it made. */
static int draw(step_ctx *s)
{
    const json_t *o = s->order;
    json_t *body = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "work_order", s->code, "line",
                             json_object_get(o, "line"), "supply_point",
                             json_object_get(o, "supply_point"), "customer",
                             json_object_get(o, "customer"), "capacity_kva",
                             json_object_get(o, "capacity_kva"), "voltage_kv",
                             json_object_get(o, "voltage_kv"));
    const char *name = json_str(s->data, "transformer_name");
    char *own = name ? NULL : applicant_and(o, " dedicated transformer");
    json_object_set_new(body, "name", json_string(name ? name : own));
    free(own);
    if (json_str(s->data, "transformer_model"))
        json_object_set(body, "model", json_object_get(s->data, "transformer_model"));
    int rc = grid_call(s, "POST", "/v1/drawings", body, 0, &s->remote);
    json_decref(body);
    return rc;
}

/* designed, ours: the work order names the transformer drawn. */
static int drawn(step_ctx *s)
{
    json_t *tr = json_object_get(s->remote, "transformer");
    if (!json_is_string(tr)) {
        http_problem(s->req, 502, "grid-svc's drawing of %s names no transformer", s->code);
        return ERR;
    }
    json_object_set(s->set, "transformer", tr);
    return OK;
}

/* scheduled, before our transaction: the planned outage of the power-on
 * work 停电计划 on the line that will supply, checked (a planned outage gives
 * PLANNED_NOTICE_HOURS' notice: 422 otherwise), and its customer list taken
 * from the grid as it is (which asks grid-svc, so nothing of ours is held). */
static int outage_of_work(step_ctx *s)
{
    const char *date = json_str(s->data, "power_on_date");
    const char *starts = json_str(s->data, "outage_starts_at");
    const char *ends = json_str(s->data, "outage_ends_at");
    char *dflt_start = xasprintf("%.10sT08:00:00+08:00", date);
    char *dflt_end = xasprintf("%.10sT12:00:00+08:00", date);
    char *reason = xasprintf("power-on work of work order %s 业扩送电", s->code);
    s->outage = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:s}", "kind", "planned", "elements",
                          json_str(s->order, "line"), "starts_at", starts ? starts : dflt_start,
                          "ends_at", ends ? ends : dflt_end, "reason", reason, "work_order",
                          s->code);
    free(dflt_start);
    free(dflt_end);
    free(reason);
    if (outage_check(s->svc, s->req, s->outage) != OK) return ERR;
    return outage_list_take(s->svc, s->req, json_object_get(s->outage, "elements"), &s->list);
}

/* scheduled, ours: the date on the work order, and its outage announced. */
static int schedule(step_ctx *s)
{
    static const char *const fields[] = {"power_on_date", NULL};
    take(s, fields);
    json_t *made = outage_announce_in(s->svc, s->req, s->c, s->outage, &s->list);
    if (!made) return ERR;
    json_object_set(s->set, "outage", json_object_get(made, "code"));
    json_decref(made);
    return OK;
}

/* published, grid-svc's half: the drawing turns operational (the black
 * drawing) in one grid-svc transaction, which emits drawing.published. */
static int publish(step_ctx *s)
{
    char *path = xasprintf("/v1/drawings/%s/publish", s->code);
    int rc = grid_call(s, "POST", path, NULL, 0, &s->remote);
    free(path);
    return rc;
}

/* published, ours: grid-svc's answer is the drawing as its drawing.published
 * event tells it; the work order records it, and power-on checks it. */
static int published(step_ctx *s)
{
    const char *st = json_str(s->remote, "status");
    json_t *at = json_object_get(s->remote, "changed_at");
    if (!st || strcmp(st, "published") != 0 || !json_is_string(at)) {
        http_problem(s->req, 502, "grid-svc left the drawing of %s %s", s->code,
                     st ? st : "in an unknown state");
        return ERR;
    }
    json_object_set(s->set, "drawing_published_at", at);
    return OK;
}

/* planned, before our transaction: grid-svc confirms the line the plan
 * names, which the step sets on the work order (waits.h: not inside it). */
static int confirm_line(step_ctx *s)
{
    json_t *named = json_pack("{s:O?}", "line", json_object_get(s->data, "line"));
    int rc = resource_confirm_peer_refs(s->svc, s->req, "WO", named);
    json_decref(named);
    return rc;
}

/* The billing of the dedicated transformer, as power_on makes it. */
static json_t *billing_of(const step_ctx *s)
{
    json_t *tb = json_pack("{s:O?, s:O?}", "customer", json_object_get(s->order, "customer"),
                           "transformer", json_object_get(s->order, "transformer"));
    if (json_str(s->data, "tariff")) json_object_set(tb, "tariff", json_object_get(s->data, "tariff"));
    return tb;
}

/* powered, before our transaction: grid-svc confirms the transformer the
 * billing names (dedicated, not retired), as a billing's create would;
 * inside the transaction nobody may wait on it (waits.h). */
static int confirm_billed(step_ctx *s)
{
    json_t *tb = billing_of(s);
    int rc = resource_confirm_peer_refs(s->svc, s->req, "TB", tb);
    json_decref(tb);
    return rc;
}

/* powered: metering point, meter and their links, the billing of the
 * dedicated transformer; the customer and its supply point become active. */
static int power_on(step_ctx *s)
{
    const json_t *o = s->order, *d = s->data;
    if (!json_str(o, "drawing_published_at")) {
        http_problem(s->req, 409, "the drawing of %s has not been published by grid-svc", s->code);
        return ERR;
    }
    const char *customer = json_str(o, "customer");
    char *name = applicant_and(o, " billing");
    json_t *mp = json_pack("{s:s, s:s, s:s, s:O}", "name", name, "customer", customer, "purpose",
                           "billing", "voltage_kv", json_object_get(o, "voltage_kv"));
    free(name);
    json_t *mt = json_pack("{s:O}", "asset_no", json_object_get(d, "meter_asset_no"));
    if (json_str(d, "meter_model")) json_object_set(mt, "model", json_object_get(d, "meter_model"));
    if (json_str(d, "meter_phase")) json_object_set(mt, "phase", json_object_get(d, "meter_phase"));
    json_t *tb = billing_of(s);
    int rc = make(s, "MP", mp, "metering_point");
    if (rc == OK) rc = make(s, "MT", mt, "meter");
    else json_decref(mt);
    if (rc == OK) rc = make(s, "TB", tb, "billing");
    else json_decref(tb);
    if (rc != OK) return ERR;
    const char *mpc = json_str(s->set, "metering_point");
    if (link(s, "meter-meteringpoint", json_str(s->set, "meter"), mpc) != OK ||
        link(s, "supplypoint-meteringpoint", json_str(o, "supply_point"), mpc) != OK)
        return ERR;
    json_t *active = json_pack("{s:s}", "status", "active");
    const char *made[] = {json_str(o, "supply_point"), customer};
    for (size_t i = 0; i < ARRAY_LEN(made); i++) {
        json_t *now = resource_change_in(s->svc, s->req, s->c, made[i], active, NULL);
        json_decref(now);
        if (!now) rc = ERR;
        if (rc != OK) break;
    }
    json_decref(active);
    return rc;
}

/* cancelled, grid-svc's half: the drawing is withdrawn (links ended,
 * transformer retired). Asked once the work order is planned, whether or
 * not it records a transformer: a designed step whose grid-svc half was
 * done and ours was not leaves a drawing the work order does not know of.
 * Then, as our half retires the customer and supply point the plan made
 * (resource_retire_in, in our transaction, asks nobody), grid-svc is asked
 * whether a link of its own still names them: the drawing's are ended by
 * now, so one that does was made by hand and must be ended first. */
static int withdraw(step_ctx *s)
{
    if (!json_str(s->order, "supply_point")) return OK; /* never planned: nothing was drawn */
    char *path = xasprintf("/v1/drawings/%s", s->code);
    int rc = grid_call(s, "DELETE", path, NULL, 1, &s->remote);
    free(path);
    if (rc != OK) return ERR;
    const char *made[] = {json_str(s->order, "supply_point"), json_str(s->order, "customer")};
    char *then = xasprintf("the drawing is withdrawn and work order %s stays %s: take the step "
                           "again to finish it",
                           s->code, json_str(s->order, "step"));
    rc = references_confirm(s->svc, s->req, made, made[1] ? 2 : 1, NULL, NULL, NULL, then);
    free(then);
    return rc;
}

/* cancelled, ours: the pending customer and its supply point are retired,
 * and the planned outage of the power-on work, still to come, cancelled. */
static int cancel(step_ctx *s)
{
    if (outage_cancel_in(s->svc, s->req, s->c, s->code) != OK) return ERR;
    static const char *const made[] = {"supply_point", "customer", NULL};
    for (const char *const *m = made; *m; m++) {
        if (!json_str(s->order, *m)) continue;
        json_t *gone = resource_retire_in(s->svc, s->req, s->c, json_str(s->order, *m));
        if (!gone) return ERR;
        json_decref(gone);
    }
    return OK;
}

