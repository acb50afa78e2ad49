/* webhooks_send.c -- the delivery thread of the webhooks (webhooks.h).
 *
 * One thread per daemon. Every POLL_MS, or at once after an attempt, it
 * claims a webhook whose next attempt is due and which has an event to
 * deliver (schema/cust/012_webhooks.sql: FOR UPDATE SKIP LOCKED and a
 * lease, so that several daemons on one database never send the same
 * attempt at once), reads that event, gives its connection back, POSTs
 * the event with no transaction or connection held while the receiver
 * takes its time, then records the attempt and moves the cursor (on a 2xx)
 * or sets the next attempt (otherwise) in one statement, if the claim is
 * still its own. A daemon stopped before that statement leaves the cursor
 * where it was: whoever claims the webhook next sends the event again (at
 * least once). Webhooks whose types have not come up are moved past the
 * events of other types, so looking for the next one stays short. */
#include "webhooks.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "engine/events.h"

#define POLL_MS 200   /* looks for due attempts this often when idle */
#define TROUBLE_MAX_MS 5000 /* while the database fails, looks ever less often, up to this */
#define BATCH 50      /* attempts made before looking at the clock again */
#define LEASE_EXTRA_MS 1000 /* a claim outlives its attempt by the pool's wait and this */

/* Webhooks with nothing of their types after their cursor, up to the
 * newest event: the cursor moves there. Every event up to the newest is
 * visible (seq order is commit order), so none of their types is skipped;
 * a claimed or failing webhook (next_at ahead) is left alone. */
static const char SQL_SKIP_IDLE[] =
    "WITH n AS (SELECT max(seq) AS newest FROM events), idle AS (SELECT w.id FROM webhooks w, n "
    "WHERE n.newest > w.delivered_upto AND w.next_at <= now() AND NOT EXISTS (SELECT 1 FROM "
    "events e WHERE e.seq > w.delivered_upto AND e.seq <= n.newest AND e.type = ANY (w.events)) "
    "FOR UPDATE OF w SKIP LOCKED) UPDATE webhooks w SET delivered_upto = n.newest FROM idle, n "
    "WHERE w.id = idle.id";

/* The longest-waiting due webhook with an event to deliver, claimed for
 * $1 ms. */
static const char SQL_CLAIM[] =
    "WITH due AS (SELECT w.id FROM webhooks w WHERE w.next_at <= now() AND EXISTS (SELECT 1 FROM "
    "events e WHERE e.seq > w.delivered_upto AND e.type = ANY (w.events)) ORDER BY w.next_at, "
    "w.id LIMIT 1 FOR UPDATE SKIP LOCKED) UPDATE webhooks w SET next_at = now() + "
    "make_interval(secs => $1::float8 / 1000), claim = w.claim + 1 FROM due WHERE w.id = due.id "
    "RETURNING w.id, w.url, w.secret, w.attempts, w.claim, w.delivered_upto, w.events::text";

/* Its next event, with the columns of GET /v1/events. */
static const char SQL_NEXT_EVENT[] =
    "SELECT seq, at, type, code, app, data::text FROM events WHERE seq > $1 AND type = ANY "
    "($2::text[]) ORDER BY seq LIMIT 1";

/* Gives a claim back unused (its event went, or the daemon stops). */
static const char SQL_UNCLAIM[] =
    "UPDATE webhooks SET next_at = now() WHERE id = $1 AND claim = $2";

/* The attempt recorded and the cursor moved ($4: it was delivered) or the
 * next attempt set $5 ms ahead, while the claim is still ours. */
static const char SQL_RECORD[] =
    "WITH w AS (UPDATE webhooks SET delivered_upto = CASE WHEN $4::boolean THEN $3::bigint ELSE "
    "delivered_upto END, attempts = CASE WHEN $4::boolean THEN 0 ELSE attempts + 1 END, next_at "
    "= CASE WHEN $4::boolean THEN now() ELSE now() + make_interval(secs => $5::float8 / 1000) "
    "END WHERE id = $1 AND claim = $2 RETURNING id) INSERT INTO webhook_deliveries (webhook, "
    "seq, type, attempt, at, ms, status, error, ok) SELECT id, $3::bigint, $6, $7::int, "
    "to_timestamp($8::float8), $9::int, $10::int, $11, $4::boolean FROM w";

struct webhook_sender {
    service *svc;
    webhook_config cfg;
    CURL *curl;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    atomic_int stopping;
};

/* One attempt: what was claimed, and how it went. */
typedef struct attempt {
    char id[24], claim[24], seq[24];
    int failed_before;
    char *url, *secret, *type, *body;
    /* the outcome */
    int aborted; /* stopped by the daemon's stop: not the receiver's doing */
    long status; /* 0: no answer */
    int ok;
    char error[CURL_ERROR_SIZE + 64];
    double sent_at, ms;
} attempt;

static void attempt_free(attempt *a)
{
    free(a->url);
    free(a->secret);
    free(a->type);
    free(a->body);
}

static int stopping(webhook_sender *s)
{
    return atomic_load(&s->stopping);
}

/* ---- the database's part ------------------------------------------------------- */

/* What a look for work found. */
enum { NONE_DUE = 0, MADE = 1, TROUBLE = -1 };

static int skip_idle(db_conn *c)
{
    PGresult *r = db_exec(c, SQL_SKIP_IDLE, 0, NULL);
    int ok = db_ok(r);
    if (!ok) log_warn("webhooks: moving idle cursors: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? OK : ERR;
}

static void unclaim(db_conn *c, const attempt *a)
{
    const char *params[] = {a->id, a->claim};
    PGresult *r = db_exec(c, SQL_UNCLAIM, 2, params);
    PQclear(r); /* when it fails, the lease runs out by itself */
}

/* The event as GET /v1/events lists it, into a->body. ERR when it went
 * (pruned since the claim looked). */
static int read_event(db_conn *c, attempt *a, const char *events)
{
    const char *params[] = {a->seq, events};
    PGresult *r = db_exec(c, SQL_NEXT_EVENT, 2, params);
    int rc = ERR;
    if (!db_ok(r)) {
        log_warn("webhooks: reading the next event of webhook %s: %s", a->id,
                 PQresultErrorMessage(r));
    } else if (PQntuples(r) == 1) {
        json_t *item = events_item(NULL, r, 0);
        a->body = json_text(item);
        json_decref(item);
        snprintf(a->seq, sizeof a->seq, "%s", PQgetvalue(r, 0, 0));
        a->type = xstrdup(PQgetvalue(r, 0, 2));
        rc = OK;
    }
    PQclear(r);
    return rc;
}

/* Claims the next due attempt into a: MADE, NONE_DUE, or TROUBLE when a
 * statement failed. */
static int claim(webhook_sender *s, db_conn *c, attempt *a)
{
    char lease[24];
    snprintf(lease, sizeof lease, "%d",
             s->cfg.timeout_ms + s->svc->cfg.db_acquire_timeout_ms + LEASE_EXTRA_MS);
    const char *params[] = {lease};
    PGresult *r = db_exec(c, SQL_CLAIM, 1, params);
    if (!db_ok(r) || PQntuples(r) != 1) {
        int failed = !db_ok(r);
        if (failed) log_warn("webhooks: claiming an attempt: %s", PQresultErrorMessage(r));
        PQclear(r);
        return failed ? TROUBLE : NONE_DUE;
    }
    snprintf(a->id, sizeof a->id, "%s", PQgetvalue(r, 0, 0));
    a->url = xstrdup(PQgetvalue(r, 0, 1));
    a->secret = xstrdup(PQgetvalue(r, 0, 2));
    a->failed_before = atoi(PQgetvalue(r, 0, 3));
    snprintf(a->claim, sizeof a->claim, "%s", PQgetvalue(r, 0, 4));
    snprintf(a->seq, sizeof a->seq, "%s", PQgetvalue(r, 0, 5)); /* after it: read_event */
    char *events = xstrdup(PQgetvalue(r, 0, 6));
    PQclear(r);
    int rc = read_event(c, a, events);
    free(events);
    if (rc == OK) return MADE;
    unclaim(c, a);
    return TROUBLE;
}

/* The wait before the next attempt after this one failed: the base,
 * doubled for each earlier failure, up to the cap. */
static long long backoff_ms(const webhook_config *cfg, int failed_before)
{
    long long ms = cfg->retry_base_ms;
    for (int i = 0; i < failed_before && ms < cfg->retry_max_ms; i++) ms *= 2;
    return ms < cfg->retry_max_ms ? ms : cfg->retry_max_ms;
}

static void record(webhook_sender *s, db_conn *c, const attempt *a)
{
    char delay[24], n[16], at[32], ms[16], status[16];
    snprintf(delay, sizeof delay, "%lld", backoff_ms(&s->cfg, a->failed_before));
    snprintf(n, sizeof n, "%d", a->failed_before + 1);
    snprintf(at, sizeof at, "%.6f", a->sent_at);
    snprintf(ms, sizeof ms, "%d", (int)(a->ms + 0.5));
    snprintf(status, sizeof status, "%ld", a->status);
    const char *params[] = {a->id, a->claim, a->seq, a->ok ? "true" : "false", delay, a->type, n,
                            at, ms, a->status ? status : NULL, a->ok ? NULL : a->error};
    PGresult *r = db_exec(c, SQL_RECORD, 11, params);
    if (!db_ok(r))
        log_warn("webhooks: recording attempt %s of event %s to webhook %s: %s", n, a->seq, a->id,
                 PQresultErrorMessage(r));
    PQclear(r);
}

/* ---- the receiver's part ------------------------------------------------------- */

/* X-Signature's value: sha256= and the hex HMAC-SHA256 of the body. */
static void signature(const attempt *a, char out[8 + 2 * EVP_MAX_MD_SIZE + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), a->secret, (int)strlen(a->secret), (const unsigned char *)a->body,
         strlen(a->body), mac, &len);
    int at = snprintf(out, 8, "sha256=");
    for (unsigned int i = 0; i < len; i++) at += snprintf(out + at, 3, "%02x", mac[i]);
}

/* The receiver's body is not wanted; reading it lets the connection be reused. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* Called by curl during a transfer: nonzero ends it when the daemon stops. */
static int still_wanted(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return stopping(ctx);
}

static void post(webhook_sender *s, attempt *a)
{
    char sig[8 + 2 * EVP_MAX_MD_SIZE + 1], h_sig[160], h_type[160], h_seq[64];
    signature(a, sig);
    snprintf(h_sig, sizeof h_sig, "X-Signature: %s", sig);
    snprintf(h_type, sizeof h_type, "X-Event-Type: %s", a->type);
    snprintf(h_seq, sizeof h_seq, "X-Event-Seq: %s", a->seq);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, h_sig);
    headers = curl_slist_append(headers, h_type);
    headers = curl_slist_append(headers, h_seq);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = s->curl;
    curl_easy_reset(h); /* keeps its connections */
    curl_easy_setopt(h, CURLOPT_URL, a->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, a->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(a->body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cust-svc webhooks");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)s->cfg.timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, still_wanted);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    a->sent_at = (double)wall.tv_sec + wall.tv_nsec / 1e9;
    double t0 = now_monotonic();
    CURLcode rc = curl_easy_perform(h);
    a->ms = (now_monotonic() - t0) * 1000.0;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        a->aborted = 1;
    } else if (rc != CURLE_OK) {
        snprintf(a->error, sizeof a->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
        a->ok = a->status >= 200 && a->status < 300;
        if (!a->ok) snprintf(a->error, sizeof a->error, "the receiver answered %ld", a->status);
    }
    utf8_clean(a->error);
}

/* ---- the thread ------------------------------------------------------------------ */

/* One attempt, if one is due: claimed on c, sent with c given back, then
 * recorded on a connection taken again (*c, NULL when none was free: the
 * lease then runs out and the attempt is made again). MADE, NONE_DUE or
 * TROUBLE. */
static int one_attempt(webhook_sender *s, db_conn **c)
{
    attempt a = {0};
    int found = claim(s, *c, &a);
    if (found != MADE) {
        attempt_free(&a);
        return found;
    }
    db_release(s->svc->db, *c);
    *c = NULL;
    post(s, &a);
    db_acquire_status st;
    if ((*c = db_acquire(s->svc->db, &st))) {
        if (a.aborted)
            unclaim(*c, &a); /* the next daemon to look need not wait for the lease */
        else
            record(s, *c, &a);
    }
    if (!a.aborted && !a.ok)
        log_info("webhooks: event %s to webhook %s, attempt %d: %s", a.seq, a.id,
                 a.failed_before + 1, a.error);
    attempt_free(&a);
    return MADE;
}

/* What is due now: MADE when an attempt was made (look again at once),
 * NONE_DUE, or TROUBLE (the database is down, busy or failing). */
static int deliver_due(webhook_sender *s)
{
    db_acquire_status st;
    db_conn *c = db_acquire(s->svc->db, &st);
    if (!c) return TROUBLE;
    int made = 0, found = skip_idle(c) == OK ? MADE : TROUBLE;
    while (found == MADE && c && made < BATCH && !stopping(s))
        if ((found = one_attempt(s, &c)) == MADE) made++;
    if (c) db_release(s->svc->db, c);
    return made > 0 ? MADE : found;
}

static void *deliver_loop(void *arg)
{
    webhook_sender *s = arg;
    long pause_ms = POLL_MS;
    while (!stopping(s)) {
        int found = deliver_due(s);
        if (found == MADE) continue;
        /* A database in trouble is not asked five times a second. */
        pause_ms = found == TROUBLE ? (pause_ms * 2 < TROUBLE_MAX_MS ? pause_ms * 2
                                                                     : TROUBLE_MAX_MS)
                                    : POLL_MS;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += pause_ms / 1000;
        until.tv_nsec += (pause_ms % 1000) * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&s->mu);
        while (!stopping(s) && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

webhook_sender *webhook_sender_start(service *svc, const webhook_config *cfg)
{
    webhook_sender *s = xcalloc(1, sizeof *s);
    s->svc = svc;
    s->cfg = *cfg;
    atomic_init(&s->stopping, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->curl = curl_easy_init();
    if (!s->curl || pthread_create(&s->thread, NULL, deliver_loop, s) != 0) {
        log_error("webhooks: no delivery thread; webhooks will not be called");
        if (s->curl) curl_easy_cleanup(s->curl);
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void webhook_sender_stop(webhook_sender *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stopping, 1);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    curl_easy_cleanup(s->curl);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
