/* events.h -- change events (消息通知) for other systems to follow:
 *
 *   GET /v1/events?after=SEQ&types=a,b&limit=N   oldest first, paged by seq
 *
 * Every write records its event in its own transaction (changes.c), so an
 * event is visible exactly when the write is. Events are kept for
 * EVENTS_KEEP_HOURS; asking for a sequence number that has been pruned is
 * answered 410 with the oldest one still kept. */
#ifndef EVENTS_H
#define EVENTS_H

typedef struct service service;
typedef struct router router;

void events_routes(service *svc, router *r);
/* Starts / stops the thread that prunes old events. */
void events_start(service *svc);
void events_stop(service *svc);

#endif
