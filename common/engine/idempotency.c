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

idem_state idem_check(request *req, db_conn *c, idem_stored *replay, outcome *o)
{
    *replay = (idem_stored){0};
    const char *key = http_header_in(req, "Idempotency-Key");
    if (!key) return IDEM_NONE;
    if (!key_ok(key)) {
        outcome_set(o, 400, "Idempotency-Key must be 1 to %d visible ASCII characters", KEY_MAX);
        return IDEM_DONE;
    }
    const char *lock_params[] = {req->app->name, key};
    PGresult *r = db_exec(c, SQL_LOCK, 2, lock_params);
    if (!db_ok(r)) {
        service_db_outcome(c, r, "idempotency lock", req->id, o);
        PQclear(r);
        return IDEM_DONE;
    }
    PQclear(r);
    r = db_exec(c, SQL_FIND, 2, lock_params);
    if (!db_ok(r)) {
        service_db_outcome(c, r, "idempotency look-up", req->id, o);
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
        outcome_set(o, 422,
                    "Idempotency-Key %s was already used with a different request; use a new key",
                    key);
    } else {
        /* Only successful answers are stored: failures roll back with the write. */
        replay->status = atoi(PQgetvalue(r, 0, 1));
        replay->body = xstrdup(PQgetvalue(r, 0, 2));
        if (!PQgetisnull(r, 0, 3)) replay->location = xstrdup(PQgetvalue(r, 0, 3));
    }
    PQclear(r);
    return IDEM_DONE;
}

int idem_save(request *req, db_conn *c, outcome *o)
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
    if (!ok) service_db_outcome(c, r, "idempotency record", req->id, o);
    PQclear(r);
    return ok ? OK : ERR;
}
