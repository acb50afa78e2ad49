/* peer.h -- calls to the other platform over HTTP (libcurl), on kept-alive
 * connections, with connect and total timeouts and a bound on the answer's
 * size, passing on the caller's identity (its Authorization header), the
 * request id and the request's hop (waits.h). */
#ifndef PEER_H
#define PEER_H

#include <stddef.h>

typedef struct peer peer;

typedef struct peer_config {
    const char *base_url; /* "http://127.0.0.1:8082" */
    const char *self;     /* our service name, sent as X-Peer-Platform */
    int connect_timeout_ms;
    int timeout_ms;
    int handles;         /* idle connections kept open; more are made when all are in use */
    size_t answer_limit; /* bytes of an answer at most; 0: 64 MiB */
} peer_config;

typedef enum {
    PEER_OK = 0,
    PEER_UNREACHABLE,
    PEER_TIMEOUT,
    PEER_TOO_LARGE, /* the answer outgrew answer_limit */
    PEER_REFUSED,   /* not sent: this thread may not wait on the peer now (waits.h) */
} peer_error;

typedef struct peer_response {
    peer_error error; /* PEER_OK: status/body below are the peer's answer */
    long status;
    char *body; /* owned; NUL-terminated */
    size_t len;
    char content_type[128];
    char etag[64];
    char location[256];
    char detail[256]; /* why, when error != PEER_OK */
} peer_response;

peer *peer_new(const peer_config *cfg);
void peer_free(peer *p);

/* The caller's request, as far as the peer should see it. */
typedef struct peer_caller {
    const char *authorization; /* passed on: the peer checks the same key */
    const char *request_id;
    const char *if_none_match; /* for conditional reads */
    int hop;                   /* of the request asking: the peer's is one more */
} peer_caller;

/* The header that carries a request's hop: how many times it has crossed
 * between the platforms (absent: 0, a client's own request). */
#define PEER_HOP_HEADER "X-Peer-Hop"

/* method "GET", "POST"...; path_query starts with "/"; body may be NULL.
 * The caller's headers that are not NULL are passed on. */
void peer_call(peer *p, const char *method, const char *path_query, const peer_caller *caller,
               const char *body, size_t body_len, peer_response *out);
/* The same for a look-up a write depends on: it asks the peer to read its
 * primary (X-Read-Primary), as a replica may not have what was written
 * there a moment ago. */
void peer_call_primary(peer *p, const char *method, const char *path_query,
                       const peer_caller *caller, const char *body, size_t body_len,
                       peer_response *out);
void peer_response_free(peer_response *r);

/* The status a request answers with when its call to the peer brought no
 * usable answer, the same for every caller (DESIGN §4): 504 when the peer did
 * not answer in time; 503 when it answered 503 (it is there but cannot answer
 * now: retry); 502 when it cannot be reached, its answer outgrew the limit,
 * or it answered anything else the caller cannot use; 500 when the call was
 * refused (PEER_REFUSED: a bug of ours). The caller says the rest: what was
 * and was not done. */
int peer_failure_status(const peer_response *r);
/* The Retry-After of such an answer, in seconds, the same for every caller:
 * 1 when the peer answered 503 (it is there and says "soon"), 5 when it
 * could not be reached or did not answer in time (it may be restarting), 0
 * when retrying would bring the same answer. */
int peer_failure_retry_after(const peer_response *r);

const char *peer_base_url(const peer *p);

typedef struct peer_stats {
    unsigned long requests, failures;
    int handles; /* curl handles made, in use or idle */
} peer_stats;
void peer_get_stats(peer *p, peer_stats *out);

#endif
