/* day.c -- calendar days (day.h). The conversions are Howard Hinnant's
 * days_from_civil and civil_from_days: exact, with no time zone in sight,
 * which mktime and timegm cannot both promise. */
#include <string.h>
#include <time.h>

#include "base/core.h"
#include "base/day.h"

static long from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(long y, long m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return n[m - 1] + (m == 2 && leap);
}

static int digits(const char *s, int n, long *out)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return ERR;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return OK;
}

int day_parse(const char *s, long *days)
{
    long y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) != OK ||
        digits(s + 5, 2, &m) != OK || digits(s + 8, 2, &d) != OK)
        return ERR;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m)) return ERR;
    *days = from_civil(y, m, d);
    return OK;
}

void day_format(long days, char out[11])
{
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    long y = yoe + era * 400 + (m <= 2);
    /* Digit by digit: the compiler cannot bound the longs for snprintf. */
    unsigned yy = (unsigned)(y % 10000 + 10000) % 10000;
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = out[7] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

long day_today(void)
{
    return (long)(time(NULL) / 86400);
}
