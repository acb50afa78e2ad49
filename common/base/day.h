/* day.h -- calendar days "YYYY-MM-DD" as a count of days since 1970-01-01
 * (proleptic Gregorian), for spans of readings and reports. */
#ifndef DAY_H
#define DAY_H

/* s as exactly "YYYY-MM-DD", a real date of years 1-9999, into *days; ERR
 * when it is not one. */
int day_parse(const char *s, long *days);
/* days as "YYYY-MM-DD" into out. */
void day_format(long days, char out[11]);
/* Today in UTC. */
long day_today(void);

#endif
