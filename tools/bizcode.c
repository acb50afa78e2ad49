/* bizcode -- mint and check business codes from the shell (DESIGN §3).
 *
 *   bizcode new PREFIX [-n N]   print N (default 1) fresh codes
 *   bizcode check CODE...       validate and canonicalise codes
 *   bizcode types               list the object types and relations
 *
 * Exit status: 0 success, 1 some code invalid, 2 usage error. */
#include "model/bizcode.h"
#include "base/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_INVALID 1
#define EXIT_USAGE 2
#define MAX_COUNT 1000000L

static void usage(FILE *f)
{
    fprintf(f, "usage: bizcode new PREFIX [-n N]   mint N (default 1) new codes of type PREFIX\n"
               "       bizcode check CODE...       check codes, print them in canonical form\n"
               "       bizcode types               list object types and relation kinds\n"
               "A code is PREFIX-BODY+CHECK, e.g. TR-01J5...; `bizcode types` lists the prefixes.\n");
}

/* A whole-string decimal count in 1..MAX_COUNT, or -1. */
static long parse_count(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || n < 1 || n > MAX_COUNT) return -1;
    return n;
}

static int cmd_new(int argc, char **argv)
{
    const char *prefix = NULL;
    long count = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0) {
            if (i + 1 >= argc || (count = parse_count(argv[++i])) < 0) {
                fprintf(stderr, "bizcode: -n needs a count from 1 to %ld\n", MAX_COUNT);
                return EXIT_USAGE;
            }
        } else if (!prefix) {
            prefix = argv[i];
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!prefix) {
        usage(stderr);
        return EXIT_USAGE;
    }
    /* biz_type_by_prefix also takes a whole code; here only the bare prefix. */
    const biz_type *t = strlen(prefix) == 2 ? biz_type_by_prefix(prefix) : NULL;
    if (!t) {
        fprintf(stderr, "bizcode: unknown prefix '%s'; `bizcode types` lists them\n", prefix);
        return EXIT_USAGE;
    }
    char code[BIZCODE_LEN + 1];
    for (long i = 0; i < count; i++) {
        bizcode_mint(t->prefix, code);
        puts(code);
    }
    return fflush(stdout) == 0 ? 0 : EXIT_INVALID;
}

static int cmd_check(int argc, char **argv)
{
    if (argc == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        char canon[BIZCODE_LEN + 1];
        biz_status st = bizcode_parse(argv[i], canon, NULL);
        if (st != BIZ_OK) {
            fprintf(stderr, "%s invalid: %s\n", argv[i], bizcode_strerror(st));
            rc = EXIT_INVALID;
            continue;
        }
        const biz_type *t = biz_type_by_prefix(canon);
        printf("%s ok %s %s %s\n", canon, t->type, t->collection, service_name(t->owner));
    }
    return rc;
}

/* Terminal columns of a UTF-8 string: the CJK names take two columns per
 * character, which printf's byte-counted widths would misalign. */
static int display_width(const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue; /* continuation byte */
        w += (*p >= 0xE0 && *p <= 0xEF) ? 2 : 1;
    }
    return w;
}

static void print_padded(const char *s, int width)
{
    fputs(s, stdout);
    for (int w = display_width(s); w < width; w++) putchar(' ');
}

static int cmd_types(void)
{
    int zw = display_width("object");
    for (int i = 0; i < biz_ntypes; i++) {
        int w = display_width(biz_types[i].zh);
        if (w > zw) zw = w;
    }
    printf("prefix  %-22s", "collection");
    print_padded("object", zw + 2);
    printf("owner\n");
    for (int i = 0; i < biz_ntypes; i++) {
        const biz_type *t = &biz_types[i];
        printf("%-6s  %-22s", t->prefix, t->collection);
        print_padded(t->zh, zw + 2);
        printf("%s\n", service_name(t->owner));
    }
    printf("\n%-28s  owner\n", "relation");
    for (int i = 0; i < biz_nrelations; i++)
        printf("%-28s  %s\n", biz_relations[i].kind, service_name(biz_relations[i].owner));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "new")) return cmd_new(argc - 2, argv + 2);
    if (!strcmp(cmd, "check")) return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "types")) {
        if (argc == 2) return cmd_types();
        usage(stderr);
        return EXIT_USAGE;
    }
    fprintf(stderr, "bizcode: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
