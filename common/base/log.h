/* log.h -- one JSON object per line on stdout, for people and log shippers. */
#ifndef LOG_H
#define LOG_H

#include <jansson.h>

#include "base/core.h"

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Sets the service name stamped on every line and the minimum level
 * ("debug", "info", "warn", "error"); returns ERR for an unknown level. */
int log_init(const char *service, const char *level);
int log_enabled(log_level lvl);

void log_msg(log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes fields (borrowed) as one line, with ts, level and service added. */
void log_fields(log_level lvl, json_t *fields);

/* A line written member by member, for lines written often (one per
 * request): begin (ts, level and service), then members in order, then end,
 * which writes it and frees what it held. Keys are written as given. */
typedef struct log_line {
    sbuf text;
} log_line;
void log_line_begin(log_line *l, log_level lvl);
void log_line_str(log_line *l, const char *key, const char *value);
void log_line_int(log_line *l, const char *key, long long value);
void log_line_ms(log_line *l, const char *key, double ms); /* milliseconds, to the microsecond */
void log_line_end(log_line *l);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
