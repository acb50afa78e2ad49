/* events_query.c -- what both reads of the events check (events_state.h):
 * the types asked, a sequence number, and whether the events after it are
 * still kept. */
#include "engine/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/events_state.h"

static const char SQL_HORIZON[] =
    "SELECT pruned_upto, (SELECT min(seq) FROM events) FROM events_horizon";

/* types are our own words: letters, dots, dashes and underscores only, so
 * they need no quoting. */
int events_parse_types(const char *t, char **out)
{
    *out = NULL;
    if (!*t || strspn(t, "abcdefghijklmnopqrstuvwxyz_.-,") != strlen(t) || strlen(t) > 2000)
        return ERR;
    *out = xasprintf("{%s}", t);
    return OK;
}

/* ?types=a,b -> "{a,b}". ERR after answering. */
int events_types_param(request *req, char **out)
{
    const char *t = http_query(req, "types");
    *out = NULL;
    if (t && events_parse_types(t, out) != OK) {
        http_problem(req, 400, "types must be a comma-separated list of event types such as "
                               "transformer.created,relation.added");
        return ERR;
    }
    return OK;
}

int events_parse_seq(const char *s, long long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s)) return ERR;
    errno = 0;
    *out = strtoll(s, NULL, 10);
    return errno ? ERR : OK;
}

int events_still_kept(request *req, db_conn *c, long long after)
{
    PGresult *r = db_exec(c, SQL_HORIZON, 0, NULL);
    int rc = OK;
    if (!db_ok(r) || PQntuples(r) != 1) {
        service_db_error(req, c, r, "events");
        rc = ERR;
    } else {
        long long pruned = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (after < pruned) {
            http_problem_extra(req, 410, json_pack("{s:I}", "resume_after", (json_int_t)pruned),
                               "events up to %lld have been pruned (they are kept for a limited "
                               "time); resume with after=%lld, or re-read the objects", pruned,
                               pruned);
            rc = ERR;
        }
    }
    PQclear(r);
    return rc;
}
