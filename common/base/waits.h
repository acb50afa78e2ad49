/* waits.h -- the rule that keeps the two platforms from stopping each other,
 * checked where it could be broken.
 *
 * Each platform answers some requests by asking the other, so a request
 * that waits on the peer must hold nothing the peer's answer may need. The
 * peer's answer needs, on the peer: an I/O thread or a local worker, and a
 * database connection there; and, for the few requests the peer itself
 * answers by asking us back (a drawing checked against its work order),
 * one of our workers for their hop. So:
 *
 *   - a thread waits on the peer only as a peer worker (http.c), whose pool
 *     is chosen by the request's hop: hop 0 (a client's request) waits on
 *     the peer's hop-1 workers, its local workers or I/O threads; hop 1 only
 *     on the peer's local workers and I/O threads; a request at hop 2 may
 *     not wait on the peer at all (508). Each wait goes to a later hop, so
 *     waits never come round in a circle, however few workers each has;
 *   - no thread holds a database connection while it waits on the peer:
 *     connections are only ever held by work that ends by itself (a
 *     statement has its timeout);
 *   - curl handles are not a fixed set (peer.c makes one when none is free).
 *
 * The checks below make a breach an error at the breach, found by any test
 * that takes the path, rather than a stall found under load. */
#ifndef WAITS_H
#define WAITS_H

#include <stddef.h>

/* The running thread may wait on the peer (set by the peer workers and the
 * daemon's own background threads, which hold nothing). */
void waits_allow_peer(int yes);

/* db.c counts the connections the running thread holds. */
void waits_db_acquired(void);
void waits_db_released(void);
int waits_db_held(void);

/* OK when the running thread may wait on the peer now; otherwise ERR with
 * why in buf (and the breach logged as an error). */
int waits_peer_check(char *buf, size_t len);

#endif
