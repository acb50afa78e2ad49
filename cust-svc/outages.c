/* outages.c -- outages 停电事件 (DESIGN §10):
 *
 *   POST  /v1/outages                       announce one: its list frozen, its notices made
 *   PATCH /v1/outages/{code}                reschedule (starts_at, ends_at) or reword (reason)
 *   POST  /v1/outages/{code}/transitions    {"to": "started"|"restored"|"cancelled"}
 *   GET   /v1/outages/{code}/customers      the frozen list, paged (outage_list.c)
 *
 * and the generic reads (list, get, history, export). Planned outages come
 * from dispatch or production, faults from dispatch (policy targets
 * outages, with kind). A planned outage is announced at least
 * PLANNED_NOTICE_HOURS before it starts. Each change is recorded in the
 * outage's history and announced as an event (outage.created,
 * outage.rescheduled, outage.started, outage.restored, outage.cancelled);
 * each message to customers is a notice per customer (notices.c), made in
 * the same transaction as the change that calls for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/declared.h"
#include "engine/idempotency.h"
#include "model/fields.h"
#include "outages.h"

/* ---- times ---------------------------------------------------------------------- */

int outage_time(const char *s, time_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return ERR;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    const char *z = s + n;
    if (*z == '.') z += 1 + strspn(z + 1, "0123456789");
    int oh = 0, om = 0;
    if ((*z == '+' || *z == '-') && sscanf(z + 1, "%2d:%2d", &oh, &om) == 2)
        t -= (*z == '+' ? 1 : -1) * (time_t)(oh * 3600 + om * 60);
    *out = t;
    return t == (time_t)-1 ? ERR : OK;
}

void outage_iso_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The times of an outage as it would be: a planned one has an expected
 * end; an end comes after the start (400). A planned start that is to be
 * announced (created, or moved) gives PLANNED_NOTICE_HOURS' notice (422,
 * with the earliest start allowed). ERR after answering. */
static int times_hold(service *svc, request *req, const json_t *o, int start_announced)
{
    time_t start, end, now = time(NULL);
    const char *ends = json_str(o, "ends_at");
    int planned = strcmp(json_str(o, "kind"), "planned") == 0;
    json_t *errors = json_array();
    if (outage_time(json_str(o, "starts_at"), &start) != OK)
        json_add_error(errors, "starts_at", "is required: when supply goes");
    else if (ends && (outage_time(ends, &end) != OK || end <= start))
        json_add_error(errors, "ends_at", "must come after starts_at");
    else if (!ends && planned)
        json_add_error(errors, "ends_at", "is required for a planned outage: the expected "
                                          "restoration customers are told");
    if (json_array_size(errors)) {
        http_problem_errors(req, 400, errors, "the outage's times are not valid; nothing was "
                                              "stored");
        return ERR;
    }
    json_decref(errors);
    time_t earliest = now + (time_t)svc->cfg.planned_notice_hours * 3600;
    if (planned && start_announced && start < earliest) {
        char at[32];
        outage_iso_time(earliest, at);
        http_problem_extra(req, 422, json_pack("{s:s, s:i}", "earliest_start", at,
                                               "notice_hours", svc->cfg.planned_notice_hours),
                           "a planned outage is announced at least %d hours ahead: the earliest "
                           "start allowed now is %s; nothing was stored",
                           svc->cfg.planned_notice_hours, at);
        return ERR;
    }
    return OK;
}

/* ---- POST /v1/outages ------------------------------------------------------------ */

/* The elements as the walk takes them: canonical codes (checked already). */
static void canonical_elements(json_t *obj)
{
    json_t *elements = json_object_get(obj, "elements");
    size_t i;
    json_t *v;
    json_array_foreach(elements, i, v) {
        char canon[BIZCODE_LEN + 1];
        if (bizcode_parse(json_string_value(v), canon, NULL) == BIZ_OK)
            json_string_set(v, canon);
    }
}

int outage_check(service *svc, request *req, json_t *obj)
{
    json_t *errors = NULL;
    if (resource_check_create(svc, "OG", obj, &errors) != OK) {
        http_problem_errors(req, 400, errors, "the outage is not valid; nothing was stored");
        return ERR;
    }
    canonical_elements(obj);
    return times_hold(svc, req, obj, 1);
}

json_t *outage_announce_in(service *svc, request *req, db_conn *c, json_t *obj,
                           const frozen_list *fl)
{
    json_object_set_new(obj, "customers", json_integer((json_int_t)json_array_size(fl->customers)));
    json_t *made = resource_create_in(svc, req, c, "OG", obj);
    if (!made) return NULL;
    const char *code = json_str(made, "code");
    long n = 0;
    if (outage_list_store(req, c, code, fl, &n) == OK &&
        notices_make(req, c, code, "announced") == OK &&
        calls_attach(req, c, code, svc->cfg.predict_window_hours) == OK)
        return made;
    json_decref(made);
    return NULL;
}

/* The outage, its list, its announcement, and the calls it explains, in
 * one transaction; 201 with the outage. */
static void announce(service *svc, request *req, db_conn *c, json_t *obj, const frozen_list *fl)
{
    idem_stored replay;
    outcome why = {0};
    idem_state idem = idem_check(req, c, &replay, &why);
    if (idem == IDEM_DONE) {
        service_answer_idem(req, &replay, &why);
        return;
    }
    json_t *made = outage_announce_in(svc, req, c, obj, fl);
    if (!made) return;
    char location[64], etag[32];
    snprintf(location, sizeof location, "/v1/outages/%s", json_str(made, "code"));
    snprintf(etag, sizeof etag, "\"%lld\"",
             (long long)json_integer_value(json_object_get(made, "version")));
    http_header(req, "Location", location);
    http_header(req, "ETag", etag);
    http_json(req, 201, made);
    if (idem == IDEM_FRESH && idem_save(req, c, &why) != OK)
        service_answer_outcome(req, &why);
    else if (db_commit(c) != OK)
        service_commit_failed(req, c, "nothing was stored");
}

/* A retry of an announcement already made (its Idempotency-Key stored)
 * is answered as the first was, before the grid is walked again. DONE
 * after answering. */
enum { GO = 0, DONE = 1 };
static int replayed(service *svc, request *req)
{
    if (!http_header_in(req, "Idempotency-Key")) return GO;
    db_conn *c = service_db(svc, req);
    if (!c) return DONE;
    int rc = GO;
    idem_stored replay;
    outcome why = {0};
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was stored");
        rc = DONE;
    } else if (idem_check(req, c, &replay, &why) == IDEM_DONE) {
        service_answer_idem(req, &replay, &why);
        rc = DONE;
    }
    db_rollback(c);
    db_release(svc->db, c);
    return rc;
}

static void create(request *req, void *ctx)
{
    service *svc = ctx;
    json_t *obj = json_deep_copy(req->json);
    frozen_list fl = {0};
    db_conn *c = NULL;
    if (outage_check(svc, req, obj) != OK || !declared_allowed(req, svc, "outages", obj) ||
        replayed(svc, req) == DONE)
        goto done;
    /* Taken with nothing held: it asks grid-svc (waits.h). */
    if (outage_list_take(svc, req, json_object_get(obj, "elements"), &fl) != OK ||
        !(c = service_db(svc, req)))
        goto done;
    if (db_begin(c) != OK)
        service_db_down(req, "nothing was stored");
    else
        announce(svc, req, c, obj, &fl);
done:
    if (c) {
        db_rollback(c);
        db_release(svc->db, c);
    }
    outage_list_free(&fl);
    json_decref(obj);
}

/* ---- PATCH /v1/outages/{code} ------------------------------------------------------ */

typedef struct change_ctx {
    service *svc;
    const char *to; /* a transition's target state; NULL for a reschedule */
    /* A reschedule's history entry, named by its check once the outage is
     * locked and known (outage.rescheduled when a time moves, else
     * outage.updated); resource_command reads it after the check. */
    char change[32];
} change_ctx;

/* Does patch move the time named (an instant other than the current one)? */
static int time_moved(const json_t *current, const json_t *patch, const char *name)
{
    time_t now, asked;
    const char *given = json_str(patch, name), *was = json_str(current, name);
    return given && (!was || outage_time(was, &now) != OK || outage_time(given, &asked) != OK ||
                     now != asked);
}

/* Only the times and the reason change by PATCH, while the outage is still
 * to come or under way, by whoever may announce one of its kind; a new
 * start is announced again, with the notice it needs. */
static int reschedulable(request *req, const json_t *current, const json_t *patch, void *ctx)
{
    service *svc = ((change_ctx *)ctx)->svc;
    const char *state = json_str(current, "state");
    if (!declared_allowed(req, svc, "outages", current)) return ERR;
    json_t *errors = NULL, *checked = resource_check_patch(svc, "OG", current, patch, &errors);
    if (!checked) {
        http_problem_errors(req, 400, errors, "the change is not valid; nothing was changed");
        return ERR;
    }
    json_decref(checked);
    int moved = time_moved(current, patch, "starts_at");
    snprintf(((change_ctx *)ctx)->change, sizeof ((change_ctx *)ctx)->change, "%s",
             moved || time_moved(current, patch, "ends_at") ? "outage.rescheduled" : "outage.updated");
    if (strcmp(state, "announced") && (strcmp(state, "started") || moved)) {
        http_problem_extra(req, 409, json_pack("{s:s}", "state", state),
                           "outage %s is %s: %s", json_str(current, "code"), state,
                           strcmp(state, "started") ? "it can no longer change"
                                                    : "only its expected end can change");
        return ERR;
    }
    json_t *merged = json_merge_patch(current, patch);
    int rc = times_hold(svc, req, merged, moved);
    json_decref(merged);
    return rc;
}

/* Customers told of a start or end that has changed are told again. */
static int retold(request *req, db_conn *c, const json_t *before, const json_t *after, void *ctx)
{
    (void)ctx;
    if (json_equal(json_object_get(before, "starts_at"), json_object_get(after, "starts_at")) &&
        json_equal(json_object_get(before, "ends_at"), json_object_get(after, "ends_at")))
        return OK;
    return notices_make(req, c, json_str(after, "code"), "rescheduled");
}

static void reschedule(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1];
    if (service_path_code(req, "OG", code) != OK) return;
    json_t *errors = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(req->json, key, v) {
        if (strcmp(key, "starts_at") && strcmp(key, "ends_at") && strcmp(key, "reason"))
            json_add_error(errors, key, "cannot be changed here: an outage changes its times and "
                                        "reason by PATCH, its state by its transitions");
        else if (strcmp(key, "reason") && json_is_null(v))
            json_add_error(errors, key, "cannot be removed");
    }
    if (json_array_size(errors) || !json_is_object(req->json)) {
        http_problem_errors(req, 400, errors, "the change is not valid; nothing was changed");
        return;
    }
    json_decref(errors);
    change_ctx cc = {svc, NULL, "outage.updated"};
    resource_command(svc, req, code, req->json, cc.change, NULL, reschedulable, retold, &cc);
}

/* ---- POST /v1/outages/{code}/transitions ---------------------------------------- */

static const struct {
    const char *from, *to, *message; /* the message customers are sent (NULL: none) */
} moves[] = {
    {"announced", "started", NULL},
    {"announced", "cancelled", "cancelled"},
    {"started", "restored", "restored"},
};

static const char *const targets[] = {"started", "restored", "cancelled", NULL};
static const field_def transition_body[] = {
    {.name = "to", .type = FT_ENUM, .flags = FF_REQUIRED, .values = targets,
     .doc = "the state the outage moves to"},
    {.name = "reason", .type = FT_TEXT, .max_len = 500, .doc = "why, kept in its history"},
    FIELDS_END,
};

static json_t *legal_after(const char *state)
{
    json_t *legal = json_array();
    for (size_t i = 0; i < ARRAY_LEN(moves); i++)
        if (strcmp(moves[i].from, state) == 0) json_array_append_new(legal, json_string(moves[i].to));
    return legal;
}

/* By whoever may announce an outage of its kind, along moves[]. */
static int may_move(request *req, const json_t *current, const json_t *patch, void *ctx)
{
    if (!declared_allowed(req, ((change_ctx *)ctx)->svc, "outages", current)) return ERR;
    const char *state = json_str(current, "state"), *to = json_str(patch, "state");
    for (size_t i = 0; i < ARRAY_LEN(moves); i++)
        if (strcmp(moves[i].from, state) == 0 && strcmp(moves[i].to, to) == 0) return OK;
    http_problem_extra(req, 409, json_pack("{s:s, s:o}", "state", state, "legal", legal_after(state)),
                       "outage %s is %s; it cannot become %s", json_str(current, "code"), state,
                       to);
    return ERR;
}

static int tell(request *req, db_conn *c, const json_t *before, const json_t *after, void *ctx)
{
    (void)before;
    const char *to = ((change_ctx *)ctx)->to;
    for (size_t i = 0; i < ARRAY_LEN(moves); i++)
        if (strcmp(moves[i].to, to) == 0 && moves[i].message)
            return notices_make(req, c, json_str(after, "code"), moves[i].message);
    return OK;
}

static void transition(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1], now[32];
    if (service_path_code(req, "OG", code) != OK) return;
    json_t *errors = json_array();
    if (fields_check_members(transition_body, req->json, NULL, errors) != OK) {
        http_problem_errors(req, 400, errors, "the transition is not valid; nothing was changed");
        return;
    }
    json_decref(errors);
    const char *to = json_str(req->json, "to"), *reason = json_str(req->json, "reason");
    outage_iso_time(time(NULL), now);
    json_t *patch = json_pack("{s:s}", "state", to);
    if (strcmp(to, "started") == 0) json_object_set_new(patch, "started_at", json_string(now));
    if (strcmp(to, "restored") == 0) json_object_set_new(patch, "restored_at", json_string(now));
    char change[32];
    snprintf(change, sizeof change, "outage.%s", to);
    change_ctx cc = {svc, to, ""};
    resource_command(svc, req, code, patch, change, reason, may_move, tell, &cc);
    json_decref(patch);
}

/* A cancelled work order's planned outage, still to come, is cancelled
 * too, and its customers told. */
static const char SQL_OF_ORDER[] =
    "SELECT code FROM outages WHERE work_order = $1 AND state = 'announced' FOR UPDATE";

int outage_cancel_in(service *svc, request *req, db_conn *c, const char *work_order)
{
    const char *params[] = {work_order};
    PGresult *r = db_exec(c, SQL_OF_ORDER, 1, params);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "outages");
        PQclear(r);
        return ERR;
    }
    int rc = OK;
    json_t *patch = json_pack("{s:s}", "state", "cancelled");
    for (int row = 0; rc == OK && row < PQntuples(r); row++) {
        json_t *gone = resource_change_in(svc, req, c, PQgetvalue(r, row, 0), patch,
                                          "outage.cancelled");
        rc = gone ? notices_make(req, c, PQgetvalue(r, row, 0), "cancelled") : ERR;
        json_decref(gone);
    }
    json_decref(patch);
    PQclear(r);
    return rc;
}

static const query_doc frozen_list_query[] = {
    {"limit", "integer", NULL, 0, "customers per page"},
    {"after", "string", NULL, 0, "the next of the page before"},
    {0}};

void outage_routes(service *svc, router *r)
{
    /* A create walks the outage across both platforms: a peer route. */
    router_add(r, "POST", "/v1/outages", create, svc,
               ROUTE_BODY_JSON | ROUTE_PEER | ROUTE_IDEMPOTENT,
               "Announce an outage: its customer list frozen and a notice made for each "
               "(Idempotency-Key honoured)");
    router_add(r, "PATCH", "/v1/outages/{code}", reschedule, svc, ROUTE_BODY_JSON,
               "Reschedule (starts_at, ends_at: customers are told again) or reword (reason); "
               "If-Match honoured");
    router_add(r, "POST", "/v1/outages/{code}/transitions", transition, svc, ROUTE_BODY_JSON,
               "Start, restore or cancel an outage: {\"to\", \"reason\"?}; If-Match honoured");
    router_add(r, "GET", "/v1/outages/{code}/customers", outage_list_page, svc, 0,
               "The customer list frozen when the outage was announced, with their notices")
        ->query = frozen_list_query;
}
