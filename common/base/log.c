/* log.c -- JSON line logging (see log.h).
 *
 * Lines are written as text, not built as jansson trees: a request's line,
 * built as a tree, dumped and freed, cost about 50,000 instructions, more
 * than the rest of a point read's own work together. */
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/core.h"
#include "base/jsonutil.h"

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

/* "2026-01-02T03:04:05.678Z". The date and time to the second are
 * formatted once a second per thread, not for every line. */
static void timestamp(char out[32])
{
    static __thread time_t sec = -1;
    static __thread char prefix[24];
    static __thread size_t prefix_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        prefix_len = strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S", &tm);
        sec = ts.tv_sec;
    }
    memcpy(out, prefix, prefix_len);
    snprintf(out + prefix_len, 32 - prefix_len, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_line_begin(log_line *l, log_level lvl)
{
    char ts[32];
    timestamp(ts);
    l->text = (sbuf){0};
    sb_append(&l->text, "{\"ts\":\"");
    sb_append(&l->text, ts);
    sb_append(&l->text, "\",\"level\":\"");
    sb_append(&l->text, level_names[lvl]);
    sb_append(&l->text, "\",\"service\":");
    sb_json_string(&l->text, service_name_buf);
}

void log_line_str(log_line *l, const char *key, const char *value)
{
    sb_append(&l->text, ",\"");
    sb_append(&l->text, key);
    sb_append(&l->text, "\":");
    sb_json_string(&l->text, value);
}

void log_line_int(log_line *l, const char *key, long long value)
{
    sb_append(&l->text, ",\"");
    sb_append(&l->text, key);
    sb_append(&l->text, "\":");
    sb_json_int(&l->text, value);
}

void log_line_ms(log_line *l, const char *key, double ms)
{
    /* whole microseconds, written without printf's floating point */
    long long us = ms > 0 ? (long long)(ms * 1000.0 + 0.5) : 0;
    char frac[5] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
                    (char)('0' + us % 10), '\0'};
    log_line_int(l, key, us / 1000);
    sb_append(&l->text, frac);
}

/* One write per line, so that lines from several threads never interleave. */
static void write_line(const char *text, size_t len)
{
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

void log_line_end(log_line *l)
{
    sb_append(&l->text, "}\n");
    write_line(l->text.s, l->text.len);
    sb_free(&l->text);
}

void log_fields(log_level lvl, json_t *fields)
{
    if (!log_enabled(lvl)) return;
    log_line l;
    log_line_begin(&l, lvl);
    char *rest = json_dumps(fields, JSON_COMPACT);
    /* fields' members follow ours: "{...}" without its braces */
    if (rest && rest[0] == '{' && rest[1] != '}') {
        rest[strlen(rest) - 1] = '\0';
        sb_append(&l.text, ",");
        sb_append(&l.text, rest + 1);
    }
    free(rest);
    log_line_end(&l);
}

void log_msg(log_level lvl, const char *fmt, ...)
{
    if (!log_enabled(lvl)) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_clean(msg); /* a message cut short may end inside a character */
    log_line l;
    log_line_begin(&l, lvl);
    log_line_str(&l, "msg", msg);
    log_line_end(&l);
}
