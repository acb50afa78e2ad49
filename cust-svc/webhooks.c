/* webhooks.c -- the webhooks' routes (webhooks.h), for administrators only:
 *
 *   POST   /v1/webhooks                   {"url", "events": [type...], "secret"}
 *   GET    /v1/webhooks                   ?limit=&after=, by id
 *   GET    /v1/webhooks/{id}
 *   DELETE /v1/webhooks/{id}              deliveries stop; its attempts go with it
 *   GET    /v1/webhooks/{id}/deliveries   its attempts, oldest first, ?limit=&after=
 *
 * A webhook is a bigserial id. The secret is never answered: a receiver
 * checks X-Signature with its own copy. The delivery thread
 * (webhooks_send.c) starts with the routes and stops with routes_free. */
#include "webhooks.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "cust.h"
#include "engine/paging.h"
#include "model/fields.h"
#include "store/pgarray.h"

#define URL_MAX 2000
#define SECRET_MIN 16
#define SECRET_MAX 200
#define EVENTS_MAX 50
#define TYPE_MAX 64

/* The columns a webhook is answered with (item()). */
#define WEBHOOK_COLS                                                                             \
    "id, url, array_to_json(events)::text, created_at, created_by, delivered_upto, attempts, next_at"

/* The cursor starts at the newest event: only what commits afterwards is sent. */
static const char SQL_CREATE[] =
    "INSERT INTO webhooks (url, events, secret, created_by, delivered_upto) SELECT $1, "
    "$2::text[], $3, $4, GREATEST(pruned_upto, (SELECT max(seq) FROM events)) FROM "
    "events_horizon RETURNING " WEBHOOK_COLS;
static const char SQL_ONE[] = "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = $1";
static const char SQL_PAGE[] =
    "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2";
static const char SQL_DELETE[] = "DELETE FROM webhooks WHERE id = $1 RETURNING " WEBHOOK_COLS;
static const char SQL_DELIVERIES[] =
    "SELECT d.id, d.seq, d.type, d.attempt, d.at, d.ms, d.status, d.error, d.ok, w.id FROM "
    "webhooks w LEFT JOIN LATERAL (SELECT * FROM webhook_deliveries d WHERE d.webhook = w.id AND "
    "d.id > $2 ORDER BY d.id LIMIT $3) d ON true WHERE w.id = $1 ORDER BY d.id";

static webhook_sender *the_sender;

/* ---- answers ------------------------------------------------------------------ */

/* A row of WEBHOOK_COLS. next_attempt_at only while an event is failing. */
static json_t *item(const void *ctx, const PGresult *r, int row)
{
    (void)ctx;
    json_t *events = json_loads(PQgetvalue(r, row, 2), 0, NULL);
    int attempts = atoi(PQgetvalue(r, row, 6));
    return json_pack("{s:I, s:s, s:o, s:o, s:s, s:I, s:i, s:o}", "id",
                     (json_int_t)strtoll(PQgetvalue(r, row, 0), NULL, 10), "url",
                     PQgetvalue(r, row, 1), "events", events ? events : json_array(), "created_at",
                     pg_time_json(PQgetvalue(r, row, 3)), "created_by", PQgetvalue(r, row, 4),
                     "delivered_upto", (json_int_t)strtoll(PQgetvalue(r, row, 5), NULL, 10),
                     "failed_attempts", attempts, "next_attempt_at",
                     attempts > 0 ? pg_time_json(PQgetvalue(r, row, 7)) : json_null());
}

static json_t *delivery(const void *ctx, const PGresult *r, int row)
{
    (void)ctx;
    return json_pack("{s:I, s:I, s:s, s:i, s:o, s:i, s:o, s:o, s:b}", "id",
                     (json_int_t)strtoll(PQgetvalue(r, row, 0), NULL, 10), "seq",
                     (json_int_t)strtoll(PQgetvalue(r, row, 1), NULL, 10), "type",
                     PQgetvalue(r, row, 2), "attempt", atoi(PQgetvalue(r, row, 3)), "at",
                     pg_time_json(PQgetvalue(r, row, 4)), "ms", atoi(PQgetvalue(r, row, 5)),
                     "status",
                     PQgetisnull(r, row, 6) ? json_null()
                                            : json_integer(atoi(PQgetvalue(r, row, 6))),
                     "error",
                     PQgetisnull(r, row, 7) ? json_null() : json_string(PQgetvalue(r, row, 7)),
                     "ok", strcmp(PQgetvalue(r, row, 8), "t") == 0);
}

/* ---- checks ------------------------------------------------------------------- */

static int allowed(request *req, service *svc)
{
    return service_command_allowed(req, svc, "webhooks", "managing webhooks");
}

/* The {id} of the path: digits, as a webhook's id is. ERR after answering 400. */
static int path_id(request *req, char out[24])
{
    const char *raw = http_param(req, 0);
    size_t n = strlen(raw);
    if (n == 0 || n > 18 || strspn(raw, "0123456789") != n) {
        http_problem(req, 400, "'%s' is not a webhook id (a positive integer)", raw);
        return ERR;
    }
    snprintf(out, 24, "%lld", strtoll(raw, NULL, 10));
    return OK;
}

static int known_paging_arg(void *ctx, const char *key, const char *value)
{
    (void)value;
    if (strcmp(key, "limit") == 0 || strcmp(key, "after") == 0) return OK;
    http_problem(ctx, 400, "unknown query parameter '%s'; use limit, after", key);
    return ERR;
}

/* An http:// or https:// URL with a host that curl reads as it will send it. */
static int url_ok(const char *url)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) return 0;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return 0;
    CURLU *u = curl_url();
    char *host = NULL;
    int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host;
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* A type as events are named: word.word, lowercase. */
static int type_ok(const char *t)
{
    const char *dot = strchr(t, '.');
    size_t n = strlen(t);
    static const char word[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
    return n <= TYPE_MAX && dot && dot > t && dot[1] && t[0] >= 'a' && t[0] <= 'z' &&
           dot[1] >= 'a' && dot[1] <= 'z' && strspn(t, word) == (size_t)(dot - t) &&
           strspn(dot + 1, word) == strlen(dot + 1);
}

static void check_events(const json_t *events, json_t *errors)
{
    if (!json_is_array(events) || json_array_size(events) == 0 ||
        json_array_size(events) > EVENTS_MAX) {
        json_add_error(errors, "events", "must be an array of 1 to %d event types, such as "
                                         "\"customer.created\"", EVENTS_MAX);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(events, i, v) {
        const char *t = json_string_value(v);
        if (!t || !type_ok(t)) {
            json_add_error(errors, "events", "item %zu must be an event type such as "
                                             "\"customer.created\" (word.word, lowercase)", i);
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const char *earlier = json_string_value(json_array_get(events, j));
            if (earlier && strcmp(t, earlier) == 0) {
                json_add_error(errors, "events", "%s is listed twice", t);
                break;
            }
        }
    }
}

/* The body, every member checked; ERR after answering 400 with errors. */
static int check_body(request *req)
{
    json_t *errors = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(req->json, key, v) {
        if (strcmp(key, "url") != 0 && strcmp(key, "events") != 0 && strcmp(key, "secret") != 0)
            json_add_error(errors, key, "unknown member; a webhook has url, events and secret");
    }
    const char *url = json_str(req->json, "url");
    if (!url || strlen(url) > URL_MAX || !url_ok(url))
        json_add_error(errors, "url", "must be an http:// or https:// URL with a host, up to %d "
                                      "bytes", URL_MAX);
    check_events(json_object_get(req->json, "events"), errors);
    const char *secret = json_str(req->json, "secret");
    if (!secret || strlen(secret) < SECRET_MIN || strlen(secret) > SECRET_MAX)
        json_add_error(errors, "secret", "must be a string of %d to %d bytes", SECRET_MIN,
                       SECRET_MAX);
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return OK;
    }
    http_problem_errors(req, 400, errors, "the webhook is not valid; nothing was stored");
    return ERR;
}

/* ---- handlers ----------------------------------------------------------------- */

static void create(request *req, void *ctx)
{
    service *svc = ctx;
    if (!allowed(req, svc) || check_body(req) != OK) return;
    pg_array types = {0};
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(req->json, "events"), i, v)
        pg_array_add(&types, json_string_value(v));
    char *events = pg_array_steal(&types);
    db_conn *c = service_db(svc, req);
    if (c) {
        const char *params[] = {json_str(req->json, "url"), events,
                                json_str(req->json, "secret"), req->app->name};
        PGresult *r = db_exec(c, SQL_CREATE, 4, params);
        if (!db_ok(r) || PQntuples(r) != 1) {
            service_db_error(req, c, r, "webhooks");
        } else {
            char *where = xasprintf("/v1/webhooks/%s", PQgetvalue(r, 0, 0));
            http_header(req, "Location", where);
            free(where);
            http_json(req, 201, item(NULL, r, 0));
        }
        PQclear(r);
        db_release(svc->db, c);
    }
    free(events);
}

static void list(request *req, void *ctx)
{
    service *svc = ctx;
    int limit;
    long long after;
    if (!allowed(req, svc) || http_query_foreach(req, known_paging_arg, req) != OK ||
        http_paging(req, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, &limit, &after) != OK)
        return;
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof after_s, "%lld", after);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
    const char *params[] = {after_s, limit_s};
    page_query q = {.sql = SQL_PAGE, .nparams = 2, .params = params, .limit = limit,
                    .item = item, .what = "webhooks"};
    service_answer_page(svc, req, &q);
}

/* GET and DELETE of one: the same answer, the webhook (as it was). */
static void one(request *req, service *svc, const char *sql)
{
    char id[24];
    if (!allowed(req, svc) || path_id(req, id) != OK) return;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    const char *params[] = {id};
    PGresult *r = db_exec(c, sql, 1, params);
    if (!db_ok(r))
        service_db_error(req, c, r, "webhooks");
    else if (PQntuples(r) == 0)
        http_problem(req, 404, "no webhook with id %s", id);
    else
        http_json(req, 200, item(NULL, r, 0));
    PQclear(r);
    db_release(svc->db, c);
}

static void get_one(request *req, void *ctx)
{
    one(req, ctx, SQL_ONE);
}

static void delete_one(request *req, void *ctx)
{
    one(req, ctx, SQL_DELETE);
}

static void deliveries(request *req, void *ctx)
{
    service *svc = ctx;
    char id[24];
    int limit;
    long long after;
    if (!allowed(req, svc) || path_id(req, id) != OK ||
        http_query_foreach(req, known_paging_arg, req) != OK ||
        http_paging(req, PAGE_LIMIT_DEFAULT_FEED, PAGE_LIMIT_MAX, &limit, &after) != OK)
        return;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof after_s, "%lld", after);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
    const char *params[] = {id, after_s, limit_s};
    PGresult *r = db_exec(c, SQL_DELIVERIES, 3, params);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "webhook deliveries");
    } else if (PQntuples(r) == 0) {
        http_problem(req, 404, "no webhook with id %s", id);
    } else {
        /* One row with no delivery when there is none: the webhook exists. */
        int rows = PQgetisnull(r, 0, 0) ? 0 : PQntuples(r);
        int shown = rows > limit ? limit : rows;
        json_t *items = json_array();
        for (int i = 0; i < shown; i++) json_array_append_new(items, delivery(NULL, r, i));
        json_t *next = rows > limit ? json_string(PQgetvalue(r, shown - 1, 0)) : json_null();
        http_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next", next));
    }
    PQclear(r);
    db_release(svc->db, c);
}

/* ---- start and stop -------------------------------------------------------------- */

/* WEBHOOK_<name> in ms, from min to max; the default (with a warning)
 * when it is not such a number. */
static int env_ms(const char *name, int dflt, int min, int max)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < min || n > max) {
        log_warn("%s must be an integer from %d to %d, not '%s'; using %d", name, min, max, v,
                 dflt);
        return dflt;
    }
    return (int)n;
}

void webhook_routes(service *svc, router *r)
{
    router_add(r, "POST", "/v1/webhooks", create, svc, ROUTE_BODY_JSON,
               "Register a webhook (admin): {\"url\", \"events\": [types], \"secret\" (16-200 "
               "bytes)}; every event of those types committed afterwards is POSTed to url at "
               "least once, in seq order, signed X-Signature: sha256=HMAC-SHA256(secret, body)");
    router_add(r, "GET", "/v1/webhooks", list, svc, 0, "The webhooks (admin), by id");
    router_add(r, "GET", "/v1/webhooks/{id}", get_one, svc, 0,
               "A webhook (admin): its cursor (delivered_upto) and failing attempts");
    router_add(r, "DELETE", "/v1/webhooks/{id}", delete_one, svc, 0,
               "Remove a webhook (admin): deliveries stop; its attempts go with it");
    router_add(r, "GET", "/v1/webhooks/{id}/deliveries", deliveries, svc, 0,
               "A webhook's delivery attempts (admin), oldest first: seq, type, attempt, at, "
               "ms, status, error, ok");
    if (!svc->db) return; /* a route table only (tests): nothing to deliver from */
    webhook_config cfg = {
        .retry_base_ms = env_ms("WEBHOOK_RETRY_BASE_MS", 1000, 1, 3600000),
        .retry_max_ms = env_ms("WEBHOOK_RETRY_MAX_MS", 300000, 1, 86400000),
        .timeout_ms = env_ms("WEBHOOK_TIMEOUT_MS", 5000, 100, 600000),
    };
    the_sender = webhook_sender_start(svc, &cfg);
}

void webhook_free(service *svc)
{
    (void)svc;
    webhook_sender_stop(the_sender);
    the_sender = NULL;
}
