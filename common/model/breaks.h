/* breaks.h -- the kinds of broken link the integration report knows.
 *
 * One list: the report (cust-svc/report.c) answers by it, citygen plants
 * faults of each, and the unit tests hold schema/datahub's views to it. */
#ifndef BREAKS_H
#define BREAKS_H

/* In the order answers list them. */
typedef enum {
    BREAK_CUSTOMER_WITHOUT_METERING_POINT,
    BREAK_CUSTOMER_WITHOUT_SUPPLY_POINT,
    BREAK_METERING_POINT_WITHOUT_METER,
    BREAK_METER_WITHOUT_BOX,
    BREAK_BOX_WITHOUT_ACCESS_POINT,
    BREAK_ACCESS_POINT_WITHOUT_TRANSFORMER_AREA,
    BREAK_TRANSFORMER_WITHOUT_LINE,
    BREAK_LINE_WITHOUT_SUBSTATION,
    BREAK_SUPPLY_POINT_WITHOUT_EQUIPMENT,
    BREAK_DEDICATED_TRANSFORMER_WITHOUT_CUSTOMER,
    BREAK_DANGLING_CODE,
    BREAK_RETIRED_BUT_LINKED,
    N_BREAK_KINDS
} break_kind;

/* The words the views of schema/datahub spell, by break_kind. */
extern const char *const break_kinds[N_BREAK_KINDS];

/* 1 when word is one of break_kinds. */
int break_kind_known(const char *word);

#endif
