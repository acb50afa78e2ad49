/* context.h -- the running daemon as its handlers see it: its
 * declarations, configuration, pools, peer and policy, and the answers every
 * handler gives the same way (a pooled connection or 503, a database error,
 * a page, a path code). common/service.c makes one and serves it. */
#ifndef CONTEXT_H
#define CONTEXT_H

#include "engine/idempotency.h"
#include "engine/outcome.h"
#include "model/catalogue.h"
#include "model/bizcode.h"
#include "model/policy.h"
#include "net/auth.h"
#include "net/http.h"
#include "net/metrics.h"
#include "net/peer.h"
#include "net/router.h"
#include "store/db.h"
#include "store/replica.h"

typedef struct service_config {
    const char *bind_addr;
    int port;
    const char *database_url;
    const char *database_read_url; /* a streaming replica for reads; NULL: none */
    const char *peer_url;
    const char *apps_file;
    const char *policy_file;
    const char *schema_dir;
    const char *log_level;
    int http_threads;
    int peer_workers;
    int local_workers;
    int max_connections;
    int db_pool_size;
    int db_statement_timeout_ms;
    int db_acquire_timeout_ms;
    size_t body_limit;
    size_t bulk_limit; /* bodies of NDJSON imports */
    int peer_timeout_ms;
    int peer_connect_timeout_ms;
    size_t peer_answer_limit;
    int shutdown_timeout_ms;
    int shutdown_grace_ms; /* unready but serving, before the drain */
    int events_keep_hours; /* change events older than this are pruned */
    int events_prune_s;    /* how often */
    int events_heartbeat_s; /* an idle event stream sends a heartbeat this often */
    int db_wait_s; /* how long start-up waits for the database */
    const char *datahub_url;          /* the data middle platform, for reports; NULL: none */
    int datahub_pool_size;            /* its connections, apart from db_pool_size */
    int datahub_statement_timeout_ms; /* reports read a whole city */
    double line_loss_high;            /* a transformer area's loss rate above it is high */
    int planned_notice_hours; /* a planned outage is announced at least this long ahead */
    int predict_min_calls;    /* trouble calls that make a predicted outage */
    int predict_window_hours; /* calls older than this predict nothing */
    const char *console_dir;  /* CONSOLE_DIR; NULL: looked for (service.c) */
} service_config;

struct service {
    const service_def *def;
    service_config cfg;
    const char *name; /* "grid-svc" */
    db_pool *db;
    replica *reads; /* where reads go: the replica while it answers (replica.h) */
    peer *peer;
    peer *peer_probe; /* short timeouts, for /readyz */
    auth *auth;
    policy *policy;
    router *router;
    metrics *metrics;
    http_server *http;
    void *resources; /* resource.c's per-collection state */
    void *relations; /* relation.c's per-kind state */
    void *proxies;   /* proxy.c's routes to the peer */
    void *trace;     /* topology/: the chain steps and kept walk plans */
    void *events;    /* events.c's pruning and listening threads */
    void *search;    /* search.c's statements, built from the declarations */
    struct health *health; /* what /readyz reports (health.h) */
    struct statics *console; /* the console's files (statics.h); NULL: not installed */
};

/* Who asks the peer on behalf of req: its key, request id and hop. */
peer_caller service_caller(request *req);
/* The other platform's name ("cust-svc" for grid-svc), as answers that
 * miss it say. */
const char *service_peer_name(const service *svc);

/* For handlers: a pooled connection, or NULL after answering 503. A read
 * (service.c says which requests are) gets one on the replica while it
 * answers; give it back to svc->db all the same (db_release). */
db_conn *service_db(service *svc, request *req);
/* Whether requests of method to rt read the replica, when one is set (the
 * caller may still ask for the primary with X-Read-Primary). */
int service_reads_replica(const char *method, const route *rt);
/* 503 with Retry-After: the database did not take the request (a BEGIN
 * that failed); what says what did not happen ("nothing was stored"). */
void service_db_down(request *req, const char *what);
/* After a COMMIT that failed: 503 with Retry-After. When the connection was
 * lost during it, whether it took cannot be known, and the answer says so
 * (a retry with the same Idempotency-Key is safe); otherwise what did not
 * happen (what). */
void service_commit_failed(request *req, db_conn *c, const char *what);
/* Answers a failed statement: 409/503/400/500 with a clear detail. */
void service_db_error(request *req, db_conn *c, const PGresult *r, const char *what);
/* The {code} path parameter (the first), canonical; 400 when it is not a
 * valid code of the prefix. */
int service_path_code(request *req, const char *prefix, char canon[BIZCODE_LEN + 1]);
/* May the caller take this step of a work order (policy targets
 * work-orders/<step>)? Otherwise answers 403 naming the roles that may. */
int service_step_allowed(request *req, service *svc, const char *step);
/* The same for a command (a policy target <collection>/<command>); what
 * says it in the 403, e.g. "operating a switch". */
int service_command_allowed(request *req, service *svc, const char *target, const char *what);
/* Answers 200 {"items", "next"} for a page read with LIMIT limit + 1: the
 * first limit rows turned to JSON by item, and "next", the cursor to ask
 * after (the last row's first column), when there are more. */
void service_page(request *req, const PGresult *r, int limit,
                  json_t *(*item)(const void *ctx, const PGresult *r, int row), const void *ctx);

/* A page read: the statement (once: built for this request, not
 * prepared), its parameters, the page size (the statement asks limit + 1
 * rows), how a row reads (service_page), and the words of a database error
 * (what). bad_value, when set, answers a value the database refused
 * (SQLSTATE class 22) with 400 and these words. */
typedef struct page_query {
    const char *sql;
    int once;
    int nparams;
    const char *const *params;
    int limit;
    json_t *(*item)(const void *ctx, const PGresult *r, int row);
    const void *ctx;
    const char *what;
    const char *bad_value;
} page_query;
/* Acquires a connection, runs q and answers the page (or the problem), and
 * releases the connection. */
void service_answer_page(service *svc, request *req, const page_query *q);

/* Answers p (problem+json, with Retry-After when it has one) and clears it. */
void service_answer_outcome(request *req, outcome *p);
/* Gives again the answer stored under an Idempotency-Key (idem_check),
 * with its Location and ETag, marked Idempotent-Replayed; s is then empty. */
void service_answer_replay(request *req, idem_stored *s);
/* After idem_check said IDEM_DONE: the replay or the problem it left. */
void service_answer_idem(request *req, idem_stored *replay, outcome *o);
/* A failed statement as a problem (service_db_error's answers); request_id
 * is named in a 500's detail. */
void service_db_outcome(db_conn *c, const PGresult *r, const char *what, const char *request_id,
                        outcome *out);
/* A call to the peer that brought no usable answer (pr: an error, or a
 * status other than 200) as a problem: the one mapping of DESIGN §4
 * (peer_failure_status: 504, 503, 502), with Retry-After when retrying may
 * help. The detail reads "<what> (<why>); <then>": why is what the call met
 * (curl's reason, or "it answered 503"); then, when not NULL, what was and
 * was not done. */
void service_peer_outcome(const peer_response *pr, outcome *out, const char *what,
                          const char *then);
/* Sets the Retry-After of such an answer (peer_failure_retry_after), for
 * callers that answer it themselves. */
void service_peer_retry_after(request *req, const peer_response *pr);

#endif
