/* fuzz_bizcode.c -- business codes (common/model/bizcode.h, DESIGN §3) from any
 * bytes.
 *
 * The input, as a C string, is parsed as a code. One that parses is 30
 * characters, what was given read as Crockford base32 reads it (upper case,
 * I and L as 1, O as 0), of a known type; it re-parses to itself with the
 * same value, ends in the check symbol of its body, and is what
 * bizcode_format writes for that value. One that does not parse says why
 * in a status of its own.
 *
 * Then, with 17 bytes or more, the first picks a type and the next 16 are
 * a value: formatted, the code parses back to that value, and the code
 * with any one symbol after the prefix changed (the 18th and 19th bytes say
 * which and to what) does not parse: the check symbol catches every single
 * substitution. */
#include "fuzz.h"

#include "model/bizcode.h"

static const char ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The symbol c stands for in Crockford base32, upper case; 0 for none. */
static char crockford(char c)
{
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    if (c == 'I' || c == 'L') return '1';
    if (c == 'O') return '0';
    return c && strchr(ALPHABET, c) ? c : 0;
}

static void parsed(const char *in, const char *canon, const uint8_t value[16])
{
    FUZZ_CHECK(strlen(in) == BIZCODE_LEN && strlen(canon) == BIZCODE_LEN, "%s parsed as %s", in,
               canon);
    for (int i = 0; i < BIZCODE_LEN; i++) {
        if (i < 2)
            FUZZ_CHECK(canon[i] >= 'A' && canon[i] <= 'Z' && (in[i] | 0x20) == (canon[i] | 0x20),
                       "%s: prefix of %s", in, canon);
        else if (i == 2)
            FUZZ_CHECK(in[i] == '-' && canon[i] == '-', "%s: no '-' in %s", in, canon);
        else
            FUZZ_CHECK(crockford(in[i]) == canon[i], "%s: symbol %d read as %c", in, i, canon[i]);
    }
    FUZZ_CHECK(canon[3] >= '0' && canon[3] <= '7', "%s: more than 128 bits", canon);
    const biz_type *t = biz_type_by_prefix(canon);
    FUZZ_CHECK(t && strncmp(t->prefix, canon, 2) == 0, "%s: no type", canon);
    FUZZ_CHECK(canon[BIZCODE_LEN - 1] == bizcode_check_symbol(canon + 3), "%s: check symbol",
               canon);

    char again[BIZCODE_LEN + 1], formatted[BIZCODE_LEN + 1];
    uint8_t value2[16];
    FUZZ_CHECK(bizcode_parse(canon, again, value2) == BIZ_OK && strcmp(again, canon) == 0 &&
                   memcmp(value, value2, 16) == 0,
               "%s does not re-parse to itself", canon);
    bizcode_format(t->prefix, value, formatted);
    FUZZ_CHECK(strcmp(formatted, canon) == 0, "%s formats as %s", canon, formatted);
}

static void refused(const char *in, biz_status st)
{
    FUZZ_CHECK(st >= BIZ_BAD_LENGTH && st <= BIZ_BAD_CHECK, "%s: status %d", in, (int)st);
    FUZZ_CHECK(bizcode_strerror(st) && *bizcode_strerror(st), "%s: no message", in);
    FUZZ_CHECK((strlen(in) != BIZCODE_LEN) == (st == BIZ_BAD_LENGTH), "%s: %s", in,
               bizcode_strerror(st));
}

/* A code formatted from bytes, and that code with one symbol changed. */
static void formatted(const uint8_t *data, size_t size)
{
    const biz_type *t = &biz_types[data[0] % biz_ntypes];
    uint8_t value[16], back[16];
    memcpy(value, data + 1, 16);
    char code[BIZCODE_LEN + 1], canon[BIZCODE_LEN + 1];
    bizcode_format(t->prefix, value, code);
    FUZZ_CHECK(bizcode_parse(code, canon, back) == BIZ_OK && strcmp(code, canon) == 0 &&
                   memcmp(value, back, 16) == 0,
               "%s does not parse back to its value", code);
    if (size < 19) return;
    int at = 3 + data[17] % (BIZCODE_LEN - 3);
    char was = code[at], now = ALPHABET[data[18] % 32];
    if (now == was) now = ALPHABET[(data[18] + 1) % 32];
    code[at] = now;
    biz_status st = bizcode_parse(code, canon, back);
    FUZZ_CHECK(st == BIZ_BAD_CHECK || (st == BIZ_OVERFLOW && at == 3 && now > '7'),
               "%s with %c for %c at %d: %s", code, now, was, at, bizcode_strerror(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    char canon[BIZCODE_LEN + 1];
    uint8_t value[16];
    biz_status st = bizcode_parse(in, canon, value);
    if (st == BIZ_OK)
        parsed(in, canon, value);
    else
        refused(in, st);
    biz_type_by_prefix(in); /* a whole code or a bare prefix: reads no further than its end */
    free(in);
    if (size >= 17) formatted(data, size);
    return 0;
}
