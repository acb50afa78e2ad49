/* fuzz_last_event_id.c -- where an event stream resumes and what it
 * follows (common/engine/events.h): a Last-Event-ID header or ?after= read as a
 * sequence number (events_parse_seq), and ?types= as the list of event
 * types (events_parse_types).
 *
 * The input, as a C string (a header or a query value ends at a NUL), is
 * read both ways. A sequence number taken is the number the digits say,
 * exactly: nothing but digits, no sign, not over the largest 64-bit
 * integer; everything else is refused. Types taken are lower-case words
 * with dots, dashes, underscores and commas, at most 2000 bytes, and come
 * back as the text array {input} the statements take; nothing else is. */
#include "fuzz.h"

#include <limits.h>

#include "engine/events.h"

/* What the digits of s say, by hand: 1 and the number, or 0 when s is not
 * all digits or the number is over LLONG_MAX. */
static int digits_value(const char *s, long long *v)
{
    if (!*s) return 0;
    *v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        int d = *p - '0';
        if (*v > (LLONG_MAX - d) / 10) return 0;
        *v = *v * 10 + d;
    }
    return 1;
}

static void seq(const char *in)
{
    long long got = -1, want;
    int ok = events_parse_seq(in, &got) == OK;
    int valid = digits_value(in, &want);
    FUZZ_CHECK(ok == valid, "'%s' %s", in, ok ? "taken" : "refused");
    if (ok) FUZZ_CHECK(got == want, "'%s' read as %lld", in, got);
}

static void types(const char *in)
{
    char *out = (char *)1;
    int ok = events_parse_types(in, &out) == OK;
    size_t n = strlen(in);
    int valid = n > 0 && n <= 2000 && strspn(in, "abcdefghijklmnopqrstuvwxyz_.-,") == n;
    FUZZ_CHECK(ok == valid, "types '%s' %s", in, ok ? "taken" : "refused");
    if (ok) {
        FUZZ_CHECK(out && strlen(out) == n + 2 && out[0] == '{' && out[n + 1] == '}' &&
                       strncmp(out + 1, in, n) == 0,
                   "types '%s' as %s", in, out);
    } else {
        FUZZ_CHECK(!out, "types refused, yet %p", (void *)out);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    seq(in);
    types(in);
    free(in);
    return 0;
}
