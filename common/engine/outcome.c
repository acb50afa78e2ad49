/* outcome.c -- see outcome.h. */
#include "engine/outcome.h"

#include <stdarg.h>
#include <stdio.h>

static void set_v(outcome *p, int status, json_t *extra, const char *fmt, va_list ap)
{
    outcome_clear(p);
    p->status = status;
    p->extra = extra;
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
}

void outcome_set(outcome *p, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_v(p, status, NULL, fmt, ap);
    va_end(ap);
}

void outcome_set_extra(outcome *p, int status, json_t *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_v(p, status, extra, fmt, ap);
    va_end(ap);
}

void outcome_set_errors(outcome *p, int status, json_t *errors, const char *fmt, ...)
{
    json_t *extra = json_object();
    json_object_set_new(extra, "errors", errors);
    va_list ap;
    va_start(ap, fmt);
    set_v(p, status, extra, fmt, ap);
    va_end(ap);
}

void outcome_clear(outcome *p)
{
    json_decref(p->extra);
    *p = (outcome){0};
}
