/* core.h -- conventions every module follows.
 *
 * Results: functions that can fail return OK (0) or ERR (-1); functions that
 * find something return a pointer or NULL.
 *
 * Memory: allocation failure aborts the process (x* wrappers below), as Redis
 * and h2o do, so no caller ever checks for NULL from an allocator. Every
 * allocation has one owner; a comment on each API says when ownership moves
 * ("stolen" = the callee now owns it). */
#ifndef CORE_H
#define CORE_H

#include <stdarg.h>
#include <stddef.h>

#define OK 0
#define ERR (-1)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable string; zero-initialise to start ({0}). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

void sb_appendn(sbuf *b, const char *s, size_t n);
void sb_append(sbuf *b, const char *s);
void sb_appendf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *sb_steal(sbuf *b); /* returns the string ("" if empty), resets b */
void sb_free(sbuf *b);

/* Monotonic clock in seconds, for durations. */
double now_monotonic(void);

#endif
