/* outages.h -- outages, their notices and trouble calls (DESIGN §10), as
 * the files of cust-svc that serve them share them. */
#ifndef OUTAGES_H
#define OUTAGES_H

#include <time.h>

#include "cust.h"
#include "engine/context.h"

/* An outage's customer list as it is taken, before it is stored: the
 * customers it cuts, the customer-side objects its walk reached, and the
 * transformer areas of the customers' objects (areas.h). */
typedef struct frozen_list {
    json_t *customers; /* codes, sorted */
    json_t *reached;   /* code -> true: supply points, meter boxes, metering points cut */
    json_t *areas;     /* code -> {"feeder", "transformer", "transformer_name"} */
} frozen_list;

/* Takes the list of an outage of elements (grid codes) in the grid as it is
 * now, with no transaction held (it asks grid-svc). OK, or ERR after
 * answering (404 for an element that names nothing, 502/503/504). */
int outage_list_take(service *svc, request *req, json_t *elements, frozen_list *fl);
/* Stores it as the outage's list, in the caller's transaction; the number
 * of customers into *n. ERR after answering. */
int outage_list_store(request *req, db_conn *c, const char *outage, const frozen_list *fl,
                      long *n);
void outage_list_free(frozen_list *fl);
/* GET /v1/outages/{code}/customers. */
void outage_list_page(request *req, void *ctx);

/* An outage as a client or a step gives it, checked (canonicalised in
 * place): its fields, its times, the notice a planned one gives. ERR after
 * answering 400 / 422. */
int outage_check(service *svc, request *req, json_t *obj);
/* Announces obj (checked) with its list fl in the caller's transaction:
 * the outage, its list, its announced notices, the open calls it explains.
 * The outage as stored (owned), or NULL after answering. */
json_t *outage_announce_in(service *svc, request *req, db_conn *c, json_t *obj,
                           const frozen_list *fl);
/* Cancels the outages of a work order that are still to come, telling
 * their customers, in the caller's transaction. ERR after answering. */
int outage_cancel_in(service *svc, request *req, db_conn *c, const char *work_order);

/* One notice of message to each customer of the outage's list, in the
 * caller's transaction; a customer with no phone gets it failed at once. A
 * message is made once per round (a reschedule is a round of its own).
 * ERR after answering. */
int notices_make(request *req, db_conn *c, const char *outage, const char *message);

/* The open trouble calls of customers on the outage's list, attached to it
 * (the outage explains them). ERR after answering. */
int calls_attach(request *req, db_conn *c, const char *outage, int window_hours);

/* An RFC 3339 instant (as FT_TIME checked it) as seconds since the epoch,
 * and back (UTC, "2026-12-14T08:00:00Z"). */
int outage_time(const char *s, time_t *out);
void outage_iso_time(time_t t, char out[32]);

void outage_routes(service *svc, router *r);
void notice_routes(service *svc, router *r);
void call_routes(service *svc, router *r);

#endif
