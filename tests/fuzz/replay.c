/* replay.c -- runs a fuzz target once on each file of the directories
 * given (make test: its committed corpus, tests/fuzz/corpus/<name>/), with
 * the project's compiler and no libFuzzer.
 *
 *   build/tests/fuzz/fuzz_<name> DIR...
 *
 * TAP: "1..N", then "ok K - <file>" after each input has run. An input
 * that crashes the target, trips a sanitizer or breaks one of the target's
 * checks aborts the run, which tests/run.sh counts as a failure (a non-zero
 * exit without a "not ok" line). Each input is read into a buffer of
 * exactly its size, as libFuzzer gives it, so that a read past its end is
 * caught under AddressSanitizer here too. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Regular files not starting with a dot, in name order. */
static int wanted(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    sbuf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sb_appendn(&b, chunk, n);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        sb_free(&b);
        return NULL;
    }
    *size = b.len;
    uint8_t *exact = xmalloc(b.len ? b.len : 1); /* no terminator, no slack */
    if (b.len) memcpy(exact, b.s, b.len);
    sb_free(&b);
    return exact;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
        return 2;
    }
    char **files = NULL;
    size_t n = 0;
    for (int a = 1; a < argc; a++) {
        struct dirent **list;
        int k = scandir(argv[a], &list, wanted, alphasort);
        if (k < 0) {
            printf("1..1\nnot ok 1 - cannot read the corpus %s\n", argv[a]);
            return 1;
        }
        for (int i = 0; i < k; i++) {
            char *path = xasprintf("%s/%s", argv[a], list[i]->d_name);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                files = xrealloc(files, (n + 1) * sizeof *files);
                files[n++] = path;
            } else {
                free(path);
            }
            free(list[i]);
        }
        free(list);
    }
    printf("1..%zu\n", n);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        size_t size = 0;
        uint8_t *data = read_file(files[i], &size);
        if (!data) {
            printf("not ok %zu - %s (cannot be read)\n", i + 1, files[i]);
            failed = 1;
        } else {
            fflush(stdout); /* what ran before, should this input abort */
            LLVMFuzzerTestOneInput(data, size);
            printf("ok %zu - %s\n", i + 1, files[i]);
            free(data);
        }
        free(files[i]);
    }
    free(files);
    return failed;
}
