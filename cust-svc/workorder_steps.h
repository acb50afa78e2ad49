/* workorder_steps.h -- the steps of a work order (workorder_steps.c) as the
 * transitions (workorders.c) take them. */
#ifndef WORKORDER_STEPS_H
#define WORKORDER_STEPS_H

#include "engine/context.h"
#include "outages.h"

typedef struct step_ctx {
    service *svc;
    request *req;
    db_conn *c;
    const char *code; /* the work order */
    json_t *order;    /* as stored before the step */
    json_t *data;     /* the step's data, checked */
    json_t *remote;   /* grid-svc's answer to its half, if the step has one */
    json_t *set;      /* what the step sets on the work order */
    json_t *outage;   /* scheduled: the planned outage of the power-on work, checked */
    frozen_list list; /* and its customer list, taken before our transaction */
} step_ctx;

typedef struct wo_step {
    const char *name;
    const field_def *data;     /* what the step takes */
    int (*remote)(step_ctx *); /* grid-svc's half (or its confirmation of what ours will
                                  name), before our transaction, with no connection held */
    int (*run)(step_ctx *);    /* ours beyond moving the work order, in it */
} wo_step;

/* In the order of the process; cancelled last. */
extern const wo_step wo_steps[];
extern const int wo_nsteps;
enum { STEP_POWERED = 7, STEP_ARCHIVED = 8, STEP_CANCELLED = 9 };

/* The index of a step by name, or -1. */
int wo_step_index(const char *name);
/* May step `to` follow step `now`? The next one may (up to archived), and
 * cancelled may before powered. */
int wo_may_follow(int now, int to);
/* The steps that may follow step `now`, in the order of the process. */
json_t *wo_legal_after(int now);

#endif
