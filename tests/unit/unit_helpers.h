/* unit_helpers.h -- small helpers shared by the unit tests (not a test itself).
 *
 * Everything here is static inline so that a test that uses only part of it
 * still builds under -Wall -Werror. */
#ifndef UNIT_HELPERS_H
#define UNIT_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/core.h"

/* A file of the repository: relative to the current directory (the runner
 * starts from the repository root), else under $REPO_ROOT. Caller frees. */
static inline char *repo_file(const char *rel)
{
    if (access(rel, R_OK) == 0) return xstrdup(rel);
    const char *root = getenv("REPO_ROOT");
    if (root && *root) {
        char *p = xasprintf("%s/%s", root, rel);
        if (access(p, R_OK) == 0) return p;
        free(p);
    }
    /* Also try from build/tests/unit/ or tests/unit/ upwards. */
    static const char *const ups[] = {"../", "../../", "../../../"};
    for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
        char *p = xasprintf("%s%s", ups[i], rel);
        if (access(p, R_OK) == 0) return p;
        free(p);
    }
    fail_msg("cannot find %s: run from the repository root or set REPO_ROOT", rel);
    return NULL;
}

/* Writes text to a fresh temporary file; returns its path (caller unlinks
 * and frees). */
static inline char *write_temp(const char *text)
{
    char *path = xstrdup("/tmp/unit-common-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static inline void remove_temp(char *path)
{
    unlink(path);
    free(path);
}

/* ---- business codes, computed independently of common/model/bizcode.c -------- */

#define CROCKFORD "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

static inline int crockford_value(char c)
{
    const char *p = strchr(CROCKFORD, c);
    return (p && c) ? (int)(p - CROCKFORD) : -1;
}

/* Luhn mod 32 over the 26 body symbols (DESIGN §3). */
static inline char luhn32_check(const char *body)
{
    int sum = 0, factor = 2;
    for (int i = 25; i >= 0; i--) {
        int p = crockford_value(body[i]) * factor;
        sum += p / 32 + p % 32;
        factor = factor == 2 ? 1 : 2;
    }
    return CROCKFORD[(32 - sum % 32) % 32];
}

/* "PP-" + body (26 canonical symbols, first 0-7) + check symbol. */
static inline void make_code(const char *prefix, const char *body, char out[31])
{
    assert_int_equal(strlen(body), 26);
    snprintf(out, 31, "%s-%s", prefix, body);
    out[29] = luhn32_check(body);
    out[30] = '\0';
}

/* Some bodies: valid Crockford, leading symbol 0-7. */
#define BODY_A "01JD8X4Q7M2B3C5D6E7F8G9HJK"
#define BODY_B "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
#define BODY_C "0000000000000000000000000A"

#endif
