/* idempotency.c -- see idempotency.h. Concurrent requests with one key are
 * serialised by a transaction-scoped advisory lock on the key. */
#include "engine/idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/context.h"

#define KEY_MAX 200

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))";
static const char SQL_FIND[] =
    "SELECT request_hash, status, body, location FROM idempotency_keys WHERE app = $1 AND key = $2";
static const char SQL_SAVE[] =
    "INSERT INTO idempotency_keys (app, key, request_hash, status, body, location)"
    " VALUES ($1, $2, $3, $4, $5, $6)";

static void request_hash(request *req, char out[65])
{
    sbuf b = {0};
    sb_append(&b, req->method);
    sb_appendn(&b, " ", 1);
    sb_append(&b, req->path);
    sb_appendn(&b, "\n", 1);
    if (req->body.s) sb_appendn(&b, req->body.s, req->body.len);
    sha256_hex(b.s, b.len, out);
    sb_free(&b);
}

static int key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > KEY_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e) return 0;
    return 1;
}

/* The stored answer is an object with its version: its ETag again. */
static void replay_etag(request *req, const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    json_t *v = json_object_get(o, "version");
    if (json_is_integer(v)) {
        char etag[32];
        snprintf(etag, sizeof etag, "\"%" JSON_INTEGER_FORMAT "\"", json_integer_value(v));
        http_header(req, "ETag", etag);
    }
    json_decref(o);
}

idem_state idem_check(request *req, db_conn *c)
{
    const char *key = http_header_in(req, "Idempotency-Key");
    if (!key) return IDEM_NONE;
    if (!key_ok(key)) {
        http_problem(req, 400, "Idempotency-Key must be 1 to %d visible ASCII characters", KEY_MAX);
        return IDEM_DONE;
    }
    const char *lock_params[] = {req->app->name, key};
    PGresult *r = db_exec(c, SQL_LOCK, 2, lock_params);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "idempotency lock");
        PQclear(r);
        return IDEM_DONE;
    }
    PQclear(r);
    r = db_exec(c, SQL_FIND, 2, lock_params);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "idempotency look-up");
        PQclear(r);
        return IDEM_DONE;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return IDEM_FRESH;
    }
    char hash[65];
    request_hash(req, hash);
    if (strcmp(hash, PQgetvalue(r, 0, 0)) != 0) {
        http_problem(req, 422,
                     "Idempotency-Key %s was already used with a different request; use a new key",
                     key);
    } else {
        const char *body = PQgetvalue(r, 0, 2);
        /* Only successful answers are stored: failures roll back with the write. */
        http_raw(req, atoi(PQgetvalue(r, 0, 1)), "application/json", xstrdup(body), strlen(body));
        if (!PQgetisnull(r, 0, 3)) http_header(req, "Location", PQgetvalue(r, 0, 3));
        replay_etag(req, body);
        http_header(req, "Idempotent-Replayed", "true");
    }
    PQclear(r);
    return IDEM_DONE;
}

int idem_save(request *req, db_conn *c)
{
    const char *key = http_header_in(req, "Idempotency-Key");
    char hash[65], status[8];
    request_hash(req, hash);
    snprintf(status, sizeof status, "%d", req->status);
    const char *location = NULL;
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, "Location") == 0) location = req->headers[i].value;
    char *body = xstrndup(req->resp_body ? req->resp_body : "", req->resp_len);
    const char *params[] = {req->app->name, key, hash, status, body, location};
    PGresult *r = db_exec(c, SQL_SAVE, 6, params);
    free(body);
    int ok = db_ok(r);
    if (!ok) service_db_error(req, c, r, "idempotency record");
    PQclear(r);
    return ok ? OK : ERR;
}
