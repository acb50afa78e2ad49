/* chain.h -- the supply chain as this platform keeps it, read off the
 * declarations once at start-up: the steps a walk can take from each kind
 * of object, up and down, the statuses a walk shows, and what an outage's
 * impact page lists. Within common/topology only. */
#ifndef CHAIN_H
#define CHAIN_H

#include <jansson.h>

#include "model/catalogue.h"

enum { UP = 0, DOWN = 1 };

/* How many links a walk follows at most, in one statement and in hand-overs. */
#define MAX_LEVELS 32

/* A set of object types, a bit per entry of biz_types. Walks are planned
 * per set: a statement that names only the tables the walk can reach
 * starts several times faster than one naming every table. */
typedef unsigned long long tmask;
_Static_assert(sizeof(tmask) * 8 >= BIZ_TYPES_MAX, "a tmask holds a bit per type");
#define ALL_TYPES (~(tmask)0)

tmask type_bit(const char *prefix_or_code); /* 0 for no type */
tmask mask_of_codes(json_t *codes);
/* "CU,MB,": types as the peer is told them, and back. */
tmask mask_of_text(const char *text);
char *text_of_mask(tmask m);

/* One kind of link of the chain that this platform keeps: per direction, a
 * member of the UNION ALL that finds the links from the object w.code, the
 * types it walks from (near) and those it reaches (far). */
typedef struct step {
    char *member[2];
    tmask near[2], far[2];
    char *kind_buf;
    /* A chain shortcut (only_without) is walked, and the relation it stands
     * in for (replaced_without) is not, when the walk describes none of these
     * types: the objects the shortcut skips. */
    tmask only_without, replaced_without;
    /* Its links may close loops (REL_MESHED): an outage's walk leaves them to
     * energisation (service_def.outage_cut). */
    int meshed;
} step;

typedef struct chain {
    step *steps;
    int nsteps;
    char *near_text[2]; /* our steps' near prefixes, "LN,TR,..." per direction */
    char *shown[2];     /* statuses a walk shows ($3), without / with design */
    /* An outage's impact page: the types it lists (those whose collection,
     * ours or the peer's, has a field flagged FF_IMPACT_GROUP) and the field
     * it counts them by (NULL: none declared). */
    tmask listed;
    const char *group;
} chain;

/* Relations flagged REL_UPSTREAM_FROM / REL_UPSTREAM_TO, their shortcuts,
 * ties (REL_TIE, a step each way), and code fields flagged FF_FEEDS /
 * FF_FED_BY are the steps. A link naming a switch (FF_SWITCH) is walked
 * while the switch is closed in the state the walk asks ($4: normal). */
void chain_build(chain *ch, const service_def *sd);
void chain_free(chain *ch);

/* The types a walk in dir can meet, starting from those in start. */
tmask chain_reach(const chain *ch, int dir, tmask start);

#endif
