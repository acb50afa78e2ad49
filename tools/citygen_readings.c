/* citygen_readings.c -- the daily meter readings of a citygen city (--readings)
 *
 * Apart from citygen.c because it is a second pass: the readings are written
 * a day at a time (the line-loss report reads a day at a time, so a day's rows
 * sit together), while the tree is built a customer at a time.
 *
 * Every value is a function of (seed, index, day) through splitmix64, so no
 * reading is held: memory is one 4-byte entry a meter (which customer or area
 * it measures, in meters.ndjson's order) and one sum a transformer area and
 * day (the check meter's true input).
 *
 * The consumption model, in kWh a day:
 *   - each low-voltage customer a base: residents lognormal with median 6
 *     (sigma of the log 0.6), non-residents median 40 (sigma 0.8); 1 % are
 *     vacant 空置 and read 0 to 0.3 whatever the day;
 *   - times a city-wide weather factor of the day, uniform within +-15 %;
 *   - times the weekday factor: at the weekend residents x1.1, others x0.7;
 *   - times the customer's own noise of the day, lognormal sigma 0.25, so
 *     each customer's series moves on its own;
 *   - high-voltage customers: median 8,000 (sigma 0.5), weekend x0.7, noise
 *     sigma 0.15;
 *   - rounded to 0.01 kWh, never negative.
 * Each area a technical loss rate r_a uniform in [0.02, 0.06], and on day d
 * r_a(d) = r_a * (1 + 0.05 N(0,1)); its check meter 考核表 reads the sum of
 * its TRUE customers' rounded readings times 1 + r_a(d), rounded to 0.01. A
 * meter-day left out (--missing-readings) is one the collection system did
 * not bring in: the energy still flowed, so the check meter still counts it.
 * A customer planted without a meter (--faults) draws nothing: it is not
 * connected yet. */
#include "citygen_readings.h"

#include "base/core.h"
#include "model/bizcode.h"

#include <math.h>
#include <stdlib.h>

/* An entry of the meter list: the kind in the top two bits, the customer's
 * or area's index below (citygen's 10 million customers fit in 30 bits). */
#define KIND_SHIFT 30
#define INDEX_MASK ((1u << KIND_SHIFT) - 1)
enum { M_LV_RESIDENT, M_LV_OTHER, M_HV, M_CHECK };

/* The streams of randomness, apart from each other and from citygen's. */
enum {
    H_BASE = 1, H_VACANT, H_VACANT_DAY, H_NOISE, H_WEATHER, H_RATE, H_RATE_DAY, H_MISSING,
    H_HV_BASE, H_HV_NOISE
};

struct readings {
    uint64_t seed;
    int days;
    long first;
    int missing_permille;
    double *day_factor; /* weather, a day */
    int *weekend;
    uint32_t *meters;
    long long n_meters, cap_meters;
    long long *sums; /* hundredths of kWh, area by area, days each */
    long long n_areas, cap_areas;
};

/* ---- hashing to numbers ---------------------------------------------------- */

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t hash(uint64_t seed, unsigned stream, uint64_t a, uint64_t b)
{
    return mix(mix(mix(seed ^ ((uint64_t)stream << 56)) ^ a) ^ (b * 0xD6E8FEB86659FD93ULL));
}

/* Uniform in (0, 1]: never 0, so its log is finite. */
static double uniform(uint64_t seed, unsigned stream, uint64_t a, uint64_t b)
{
    return ((double)(hash(seed, stream, a, b) >> 11) + 1.0) / 9007199254740992.0;
}

/* Standard normal, by Box and Muller. */
static double normal(uint64_t seed, unsigned stream, uint64_t a, uint64_t b)
{
    double u = uniform(seed, stream, a, 2 * b), v = uniform(seed, stream, a, 2 * b + 1);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* kWh to hundredths, half away from zero; never below 0. */
static long long hundredths(double kwh)
{
    return kwh > 0 ? llround(kwh * 100.0) : 0;
}

/* ---- dates ------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), and back. */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)((long)yoe + era * 400 + (*m <= 2));
}

long readings_parse_day(const char *s)
{
    int y, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[10] != '\0')
        return -1;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
    long z = days_from_civil(y, (unsigned)m, (unsigned)d);
    int y2, m2, d2;
    civil_from_days(z, &y2, &m2, &d2);
    return y2 == y && m2 == m && d2 == d ? z : -1; /* 2026-02-30 is no date */
}

/* ---- the model ----------------------------------------------------------------- */

readings *readings_new(uint64_t seed, int days, long first, int missing_permille)
{
    readings *r = xcalloc(1, sizeof *r);
    r->seed = seed;
    r->days = days;
    r->first = first;
    r->missing_permille = missing_permille;
    r->day_factor = xcalloc((size_t)days, sizeof *r->day_factor);
    r->weekend = xcalloc((size_t)days, sizeof *r->weekend);
    for (int d = 0; d < days; d++) {
        long z = first + d;
        r->day_factor[d] = 0.85 + 0.30 * uniform(seed, H_WEATHER, (uint64_t)z, 0);
        int weekday = (int)((z + 4) % 7); /* 1970-01-01 was a Thursday; 0 is Sunday */
        r->weekend[d] = weekday == 0 || weekday == 6;
    }
    return r;
}

void readings_free(readings *r)
{
    if (!r) return;
    free(r->day_factor);
    free(r->weekend);
    free(r->meters);
    free(r->sums);
    free(r);
}

int readings_vacant(uint64_t seed, long long customer)
{
    return uniform(seed, H_VACANT, (uint64_t)customer, 0) <= 0.01;
}

/* Hundredths of kWh of low-voltage customer i on day d (0-based). The
 * customer's base comes from its index alone, the noise from its index and
 * the calendar day, so a city read from another first day agrees on the
 * days both hold. */
static long long lv_kwh(const readings *r, long long i, int resident, int d)
{
    uint64_t day = (uint64_t)(r->first + d);
    if (readings_vacant(r->seed, i))
        return hundredths(0.3 * uniform(r->seed, H_VACANT_DAY, (uint64_t)i, day));
    double base = resident ? 6.0 * exp(0.6 * normal(r->seed, H_BASE, (uint64_t)i, 0))
                           : 40.0 * exp(0.8 * normal(r->seed, H_BASE, (uint64_t)i, 0));
    double week = r->weekend[d] ? (resident ? 1.1 : 0.7) : 1.0;
    double noise = exp(0.25 * normal(r->seed, H_NOISE, (uint64_t)i, day));
    return hundredths(base * r->day_factor[d] * week * noise);
}

static long long hv_kwh(const readings *r, long long j, int d)
{
    uint64_t day = (uint64_t)(r->first + d);
    double base = 8000.0 * exp(0.5 * normal(r->seed, H_HV_BASE, (uint64_t)j, 0));
    double week = r->weekend[d] ? 0.7 : 1.0;
    double noise = exp(0.15 * normal(r->seed, H_HV_NOISE, (uint64_t)j, day));
    return hundredths(base * r->day_factor[d] * week * noise);
}

/* The check meter of area a on day d: its customers' energy and the area's
 * technical loss of the day. */
static long long check_kwh(const readings *r, long long a, int d)
{
    long long sum = r->sums[a * r->days + d];
    double rate = 0.02 + 0.04 * uniform(r->seed, H_RATE, (uint64_t)a, 0);
    double today = rate * (1.0 + 0.05 * normal(r->seed, H_RATE_DAY, (uint64_t)a,
                                               (uint64_t)(r->first + d)));
    return sum + hundredths((double)sum / 100.0 * today);
}

static int missing(const readings *r, long long meter, int d)
{
    return r->missing_permille > 0 &&
           hash(r->seed, H_MISSING, (uint64_t)meter, (uint64_t)(r->first + d)) % 1000 <
               (uint64_t)r->missing_permille;
}

/* ---- the tree, as it is built ------------------------------------------------------ */

long long readings_area(readings *r)
{
    if (r->n_areas == r->cap_areas) {
        r->cap_areas = r->cap_areas ? 2 * r->cap_areas : 1024;
        r->sums = xrealloc(r->sums, (size_t)(r->cap_areas * r->days) * sizeof *r->sums);
    }
    long long a = r->n_areas++;
    for (int d = 0; d < r->days; d++) r->sums[a * r->days + d] = 0;
    return a;
}

static void add_meter(readings *r, unsigned kind, long long index)
{
    if (r->n_meters == r->cap_meters) {
        r->cap_meters = r->cap_meters ? 2 * r->cap_meters : 4096;
        r->meters = xrealloc(r->meters, (size_t)r->cap_meters * sizeof *r->meters);
    }
    r->meters[r->n_meters++] = (uint32_t)kind << KIND_SHIFT | ((uint32_t)index & INDEX_MASK);
}

void readings_lv_meter(readings *r, long long customer, int resident, long long area)
{
    add_meter(r, resident ? M_LV_RESIDENT : M_LV_OTHER, customer);
    for (int d = 0; d < r->days; d++)
        r->sums[area * r->days + d] += lv_kwh(r, customer, resident, d);
}

void readings_hv_meter(readings *r, long long hv_customer)
{
    add_meter(r, M_HV, hv_customer);
}

void readings_check_meter(readings *r, long long area)
{
    add_meter(r, M_CHECK, area);
}

/* ---- the file ------------------------------------------------------------------------ */

static long long meter_kwh(const readings *r, uint32_t entry, int d)
{
    long long index = entry & INDEX_MASK;
    switch (entry >> KIND_SHIFT) {
    case M_LV_RESIDENT: return lv_kwh(r, index, 1, d);
    case M_LV_OTHER: return lv_kwh(r, index, 0, d);
    case M_HV: return hv_kwh(r, index, d);
    default: return check_kwh(r, index, d);
    }
}

long long readings_write(const readings *r, FILE *f, meter_code_fn code_of, const void *ctx)
{
    long long rows = 0;
    char code[BIZCODE_LEN + 1];
    for (int d = 0; d < r->days; d++) {
        int y, m, dd;
        civil_from_days(r->first + d, &y, &m, &dd);
        for (long long k = 0; k < r->n_meters; k++) {
            if (missing(r, k, d)) continue;
            long long v = meter_kwh(r, r->meters[k], d);
            code_of(ctx, (uint64_t)k, code);
            fprintf(f, "{\"meter\":\"%s\",\"day\":\"%04d-%02d-%02d\",\"kwh\":%lld.%02lld}\n", code,
                    y, m, dd, v / 100, v % 100);
            rows++;
        }
        if (ferror(f)) break;
    }
    return rows;
}
