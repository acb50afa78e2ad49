/* peer_decls.c -- cust-svc's declarations, compiled into grid-svc as well.
 * What cust-svc names of grid-svc's objects (billings name lines and
 * transformers, and a billing's transformer must stay dedicated), and which
 * of its own reads grid-svc passes on (proxy.c), are read from them, never
 * written down a second time: a declaration added there is known here at
 * the next build. Under names of their own, so that a program
 * linking both daemons has each definition once. */
#define cust_collections grid_peer_collections
#define cust_ncollections grid_peer_ncollections
#define cust_relations grid_peer_relations
#define cust_nrelations grid_peer_nrelations
#define cust_reads grid_peer_reads
#define cust_nreads grid_peer_nreads
#include "../cust-svc/collections.c"
