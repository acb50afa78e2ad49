/* peer_decls.c -- grid-svc's declarations, compiled into cust-svc as well.
 * What grid-svc names of cust-svc's objects (its links to meter boxes,
 * supply points, customers and metering points) is read from them, never
 * written down a second time: a declaration added there is known here at
 * the next build. Under names of their own, so that a program linking both
 * daemons has each definition once. */
#define grid_collections cust_peer_collections
#define grid_ncollections cust_peer_ncollections
#define grid_relations cust_peer_relations
#define grid_nrelations cust_peer_nrelations
#include "../grid-svc/collections.c"
