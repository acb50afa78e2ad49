/* outcome.h -- what an engine function that could not do its work has to
 * say, as a value: the status and detail of the problem+json answer, the
 * members it adds, and whether the client may retry. The function returns
 * it; the handler that called it answers it once (service_answer_outcome,
 * context.h), or acts on it. So the engine's work can be tested without a
 * request. */
#ifndef OUTCOME_H
#define OUTCOME_H

#include <jansson.h>

typedef struct outcome {
    int status; /* 0: no problem */
    char detail[1024];
    json_t *extra;   /* owned: members of the answer ("errors", "existing"); NULL: none */
    int retry_after; /* seconds for Retry-After; 0: none */
} outcome;

/* Sets p (replacing what it held) to status and the detail. */
void outcome_set(outcome *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with members (extra, stolen). */
void outcome_set_extra(outcome *p, int status, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with {"errors": [{field, message}]} (errors, stolen). */
void outcome_set_errors(outcome *p, int status, json_t *errors, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Frees what p holds; p is then no problem. */
void outcome_clear(outcome *p);

#endif
