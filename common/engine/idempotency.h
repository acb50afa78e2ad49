/* idempotency.h -- Idempotency-Key on POST: the first answer is stored in
 * the same transaction as the write, and replayed for the same key and body. */
#ifndef IDEMPOTENCY_H
#define IDEMPOTENCY_H

#include "store/db.h"
#include "engine/outcome.h"
#include "net/http.h"

typedef enum {
    IDEM_NONE,  /* no Idempotency-Key: go ahead */
    IDEM_FRESH, /* a new key: go ahead, then idem_save before COMMIT */
    IDEM_DONE,  /* nothing to do but answer: a replay, or a problem (a 422, an error) */
} idem_state;

/* The answer stored under a key, to give again (service_answer_replay). */
typedef struct idem_stored {
    int status;
    char *body;     /* owned */
    char *location; /* owned; NULL: none */
} idem_stored;

/* Call inside an open transaction, before the write. IDEM_DONE leaves
 * either *replay (its body set) or *o (the problem) for the caller to
 * answer; req is only read (its key, app, method, path and body). */
idem_state idem_check(request *req, db_conn *c, idem_stored *replay, outcome *o);
/* Stores the answer req was given under its key: ERR with *o on failure. */
int idem_save(request *req, db_conn *c, outcome *o);

#endif
