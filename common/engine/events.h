/* events.h -- change events (消息通知) for other systems to follow:
 *
 *   GET /v1/events?after=SEQ&types=a,b&limit=N   oldest first, paged by seq
 *   GET /v1/events/stream?after=SEQ&types=a,b    the same as server-sent
 *                                                events, as they commit
 *
 * Every write records its event in its own transaction (changes.c), so an
 * event is visible exactly when the write is, and sequence numbers are
 * drawn in commit order (004_event_order.sql), so a reader that has seen
 * one has seen every event before it. Events are kept for
 * EVENTS_KEEP_HOURS; asking for a sequence number that has been pruned is
 * answered 410 with the oldest one still kept. */
#ifndef EVENTS_H
#define EVENTS_H

#include <jansson.h>
#include <libpq-fe.h>

typedef struct service service;
typedef struct router router;

void events_routes(service *svc, router *r);
/* Starts the thread that prunes old events (once the pool exists). */
void events_start(service *svc);
/* Starts the thread that follows commits and wakes the streams (once
 * svc->http runs). */
void events_listen(service *svc);
/* Stops both threads; before http_shutdown, which ends the streams still
 * open. Does nothing the second time. */
void events_stop(service *svc);
/* After http_shutdown (streams read the state until then): stops what
 * still runs and frees it. */
void events_cleanup(service *svc);

/* A sequence number as the stream takes it (Last-Event-ID, ?after=):
 * digits only, no sign, no overflow. OK or ERR. */
int events_parse_seq(const char *s, long long *out);
/* ?types=a,b as the text array "{a,b}" the statements take (owned, into
 * *out), or ERR when it is not a list of event types. */
int events_parse_types(const char *t, char **out);

/* An event row (seq, at, type, code, app, data) as an item of GET
 * /v1/events: also what others that send events on (webhooks) send. */
json_t *events_item(const void *ctx, const PGresult *r, int row);

#endif
