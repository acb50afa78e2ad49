/* log.c -- JSON line logging (see log.h). */
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/core.h"

static const char *level_names[] = {"debug", "info", "warn", "error"};
static log_level min_level = LOG_INFO;
static char service_name_buf[32] = "yingpei";

int log_init(const char *service, const char *level)
{
    snprintf(service_name_buf, sizeof service_name_buf, "%s", service);
    if (!level || !*level) return OK;
    for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
        if (strcasecmp(level, level_names[i]) == 0) {
            min_level = (log_level)i;
            return OK;
        }
    }
    return ERR;
}

int log_enabled(log_level lvl)
{
    return lvl >= min_level;
}

static void timestamp(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_fields(log_level lvl, json_t *fields)
{
    if (!log_enabled(lvl)) return;
    char ts[32];
    timestamp(ts);
    json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[lvl],
                             "service", service_name_buf);
    json_object_update(line, fields);
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!text) return;
    /* One write per line so lines from several threads never interleave. */
    size_t n = strlen(text);
    text[n] = '\n';
    fwrite(text, 1, n + 1, stdout);
    fflush(stdout);
    free(text);
}

void log_msg(log_level lvl, const char *fmt, ...)
{
    if (!log_enabled(lvl)) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *fields = json_pack("{s:s}", "msg", msg);
    log_fields(lvl, fields);
    json_decref(fields);
}
