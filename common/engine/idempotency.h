/* idempotency.h -- Idempotency-Key on POST: the first answer is stored in
 * the same transaction as the write, and replayed for the same key and body. */
#ifndef IDEMPOTENCY_H
#define IDEMPOTENCY_H

#include "store/db.h"
#include "net/http.h"

typedef enum {
    IDEM_NONE,  /* no Idempotency-Key: go ahead */
    IDEM_FRESH, /* a new key: go ahead, then idem_save before COMMIT */
    IDEM_DONE,  /* answered already: a replay, a 422 or an error */
} idem_state;

/* Call inside an open transaction, before the write. */
idem_state idem_check(request *req, db_conn *c);
/* Stores req's answer under its key; ERR (answered) on failure. */
int idem_save(request *req, db_conn *c);

#endif
