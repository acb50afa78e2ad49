/* webhooks.h -- webhooks (DESIGN §10): an administrator registers a URL,
 * the event types it wants and a secret, and every such event committed
 * afterwards is POSTed to it, signed, at least once, in seq order.
 *
 *   webhooks.c        the routes (POST, GET, DELETE /v1/webhooks...)
 *   webhooks_send.c   the delivery thread
 *
 * The tables and how a delivery is claimed: schema/cust/012_webhooks.sql. */
#ifndef WEBHOOKS_H
#define WEBHOOKS_H

#include "engine/context.h"

/* The delivery's settings, from the environment (WEBHOOK_*). */
typedef struct webhook_config {
    int retry_base_ms; /* the wait after a first failed attempt; doubled after each */
    int retry_max_ms;  /* the longest wait between attempts */
    int timeout_ms;    /* one attempt, connection included */
} webhook_config;

typedef struct webhook_sender webhook_sender;

/* Starts the delivery thread on svc's pool (NULL when it cannot start). */
webhook_sender *webhook_sender_start(service *svc, const webhook_config *cfg);
/* Stops it (an attempt under way is abandoned and left for the next
 * claim) and frees it; NULL does nothing. */
void webhook_sender_stop(webhook_sender *s);

#endif
