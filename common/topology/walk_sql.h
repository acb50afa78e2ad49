/* walk_sql.h -- the statement a walk runs on this platform's links, built
 * from the chain (chain.h) for one plan, and the plans kept for the
 * daemon's life so that connections keep them prepared. Within
 * common/topology only. */
#ifndef WALK_SQL_H
#define WALK_SQL_H

#include <pthread.h>

#include "topology/chain.h"

/* Plans kept at most; a walk past them runs a statement of its own. */
#define MAX_STMTS 64

/* A walk statement for one plan: direction, the types of the objects it
 * starts from (vet: kept here, described; reach: every type it can meet),
 * and the types it describes in full (the others only as shown or not). */
typedef struct walk_stmt {
    int dir;
    tmask vet, reach, describe;
    char *sql;
} walk_stmt;

/* One statement walks our links as far as they go. $1: objects kept here
 * that were reached (to be vetted: described, and walked on from only if
 * shown); $2: objects the peer has vetted that our links may continue from;
 * $3: the statuses shown (chain.shown). Rows (code, node, grow, from_code,
 * to_code, kind): every object reached with its node (NULL when not kept
 * here or not shown) and the link it was reached by. A node is JSON with
 * the members GET shows when every type is described (a trace), an impact
 * line "code TAB group TAB item" when only some are, else true. Identifiers
 * come from sd alone; every value is a parameter. Caller frees. */
char *walk_sql(const service_def *sd, const chain *ch, int dir, tmask vet, tmask reach,
               tmask describe);

typedef struct walk_plans {
    pthread_mutex_t mu;
    walk_stmt stmts[MAX_STMTS]; /* built on first use, kept for the daemon's life */
    int nstmts;
} walk_plans;

void walk_plans_init(walk_plans *p);
void walk_plans_free(walk_plans *p);

/* The statement for a walk in dir from objects of the types in vet (kept
 * here) and grow (the peer's), describing the types in describe: built on
 * first use and kept, for connections to prepare. Past MAX_STMTS plans, it
 * is built for this walk only: *once holds it, to run unprepared and free.
 * (No other plan can stand in: what it describes, and how, is the walk's.) */
const char *walk_plans_sql(walk_plans *p, const service_def *sd, const chain *ch, int dir,
                           tmask vet, tmask grow, tmask describe, char **once);

#endif
