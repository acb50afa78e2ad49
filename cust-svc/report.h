/* report.h -- what the integration report (report.c) and its rates by
 * level (report_rates.c) share: datahub's pool and the way it is asked. */
#ifndef REPORT_H
#define REPORT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "service.h"

typedef enum { SCOPE_CITY, SCOPE_SUBSTATION, SCOPE_LINE, SCOPE_TRANSFORMER, N_SCOPES } scope_id;

/* A scope: its query parameter, which is also the column of the views that
 * places things under it and its level in report.scopes, and the code
 * prefix it takes. In order: each level lies under those before it. */
typedef struct {
    const char *param, *prefix;
} report_scope;

extern const report_scope report_scopes[N_SCOPES];

typedef struct report_state {
    service *svc;
    db_pool *pool; /* NULL without DATAHUB_URL */
    char *sql[N_SCOPES];       /* the report's, by scope (report.c) */
    char *rates[N_SCOPES][N_SCOPES]; /* the rates', by level and scope (report_rates.c) */
    char *lineloss[N_SCOPES];  /* the line loss's, by scope (lineloss.c) */
    char *suspects[N_SCOPES];  /* the suspect links', by scope (suspects.c) */
} report_state;

/* text with every mark replaced by with (owned). */
char *report_replaced(const char *text, const char *mark, const char *with);

/* Marks in the report statements, replaced per scope by report_statement:
 * the scope's column (report_scopes' param, a constant of ours), and
 * whether the scope's code names an object of its level. */
#define SCOPE_COL "<scope column>"
#define SCOPE_EXISTS "<scope exists>"

/* The statement of scope s: city_head for the city, else scoped_head with
 * its SCOPE_COL marks replaced; then tail, its SCOPE_EXISTS marks replaced
 * by true for the city, else by whether parameter $code_param names an
 * object of the scope's level (report.scopes). Owned. */
char *report_statement(const char *city_head, const char *scoped_head, const char *tail,
                       scope_id s, int code_param);

/* A code of the scope's prefix into code, or ERR after answering 400 (the
 * parameter named as the scope's). */
int report_code_arg(request *req, scope_id s, const char *value, char code[BIZCODE_LEN + 1]);
/* key's place among the n names a route takes, marked in *seen; -1 after
 * answering 400 when it is none of them (use lists them) or given twice. */
int report_param(request *req, const char *const *names, size_t n, const char *use,
                 const char *key, unsigned *seen);

/* A datahub connection, or NULL after answering 503 with why. */
db_conn *datahub_conn(request *req, report_state *st);
/* Answers a failed statement on datahub. */
void datahub_error(request *req, db_conn *c, const PGresult *r);
/* The rows of a report statement whose first column says whether its scope
 * exists, its last parameter the scope's code (left out for the city, read
 * as report.c says), in a read-only transaction with the planner settings
 * report.c gives every report and tune's (SET LOCAL statements,
 * NULL-terminated; NULL: none); NULL after
 * answering datahub's failure, or 404 for a code datahub does not know.
 * End with PQclear and db_rollback. */
PGresult *datahub_report_rows(request *req, db_conn *c, const char *sql, scope_id s,
                              const char *code, int n, const char *const *p,
                              const char *const *tune);
/* {"as_of", "subscriptions": [...]}: how fresh the figures are; NULL when
 * datahub could not say. */
json_t *datahub_freshness(db_conn *c);

/* A span of days asked as ?day= or ?from=&to= (both included). */
typedef struct {
    char first[11], last[11]; /* "YYYY-MM-DD" */
    long first_day, last_day; /* days since 1970-01-01 */
    unsigned given;           /* a bit per parameter: day, from, to */
} report_period;

#define REPORT_PERIOD_MAX_DAYS 366

/* key (day, from or to) into p, or ERR after answering 400. */
int report_period_arg(request *req, report_period *p, const char *key, const char *value);
/* Once every parameter is read: a day, or from and to, in order and at
 * most REPORT_PERIOD_MAX_DAYS long; ERR after answering 400. */
int report_period_check(request *req, report_period *p);
/* {"from", "to", "days"}. */
json_t *report_period_json(const report_period *p);
/* Energy to the watt-hour and rates to four places, as answers give them. */
double report_kwh(double kwh);
double report_rate(double rate);

/* The statuses of a transformer area's loss (lineloss.c), NULL-terminated. */
extern const char *const line_loss_statuses[];

/* The line loss and the suspect links (lineloss.c, suspects.c): statements
 * built once, the route. */
void lineloss_build(report_state *st);
void lineloss_free(report_state *st);
void lineloss_route(router *r, report_state *st);
void suspects_build(report_state *st);
void suspects_free(report_state *st);
void suspects_route(router *r, report_state *st);

/* The rates by level (report_rates.c): statements built once, the route. */
void rates_build(report_state *st);
void rates_free(report_state *st);
void rates_route(router *r, report_state *st);

#endif
