/* citygen_readings.h -- the daily meter readings of a citygen city */
#ifndef CITYGEN_READINGS_H
#define CITYGEN_READINGS_H

#include <stdint.h>
#include <stdio.h>

typedef struct readings readings;

/* Days of readings from `first` (days since 1970-01-01); missing_permille
 * meter-days in a thousand are left out. */
readings *readings_new(uint64_t seed, int days, long first, int missing_permille);
void readings_free(readings *r);

/* A public transformer area 台区 opens; its index among the areas. */
long long readings_area(readings *r);

/* Meters, registered in the order meters.ndjson lists them (their codes'
 * order). A low-voltage customer's consumption counts in its TRUE area's
 * check meter, whatever its links say. */
void readings_lv_meter(readings *r, long long customer, int resident, long long area);
void readings_hv_meter(readings *r, long long hv_customer);
void readings_check_meter(readings *r, long long area);

/* A vacant dwelling or shop 空置户: almost no consumption. A pure function of
 * (seed, customer), so the mislinks can avoid them without readings. */
int readings_vacant(uint64_t seed, long long customer);

/* The code of meter `index` (its row in meters.ndjson). */
typedef void (*meter_code_fn)(const void *ctx, uint64_t index, char *code);

/* Writes every day's readings, a day at a time and each day's meters in
 * code order, to f; the rows written. */
long long readings_write(const readings *r, FILE *f, meter_code_fn code_of, const void *ctx);

/* "YYYY-MM-DD" as days since 1970-01-01, or -1 when it is no date. */
long readings_parse_day(const char *s);

#endif
