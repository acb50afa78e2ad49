/* search.h -- GET /v1/search?q=&limit=: any object of either platform
 * found by its code, or by the fields its declaration marks FF_SEARCH (names,
 * account numbers 户号, asset numbers), for the console's search box.
 *
 * A code is one indexed read on the platform that keeps it (ours, or the
 * peer's search asked for it). Other text is looked for in our own
 * collections, in one statement built from the declarations, and in the
 * peer's with one call to its /v1/search (marked as the peer's, so it does
 * not ask back); the two are merged in one order: exact code, exact
 * number, exact name, name containing q, then by code. When the peer
 * cannot answer, ours come alone, marked "partial" and naming it
 * ("missing"). */
#ifndef SEARCH_H
#define SEARCH_H

#include <stddef.h>

#include "model/catalogue.h"
#include "net/router.h"

typedef struct service service;

#define SEARCH_LIMIT_DEFAULT 20
#define SEARCH_LIMIT_MAX 50
#define SEARCH_Q_MAX 100 /* characters of q, once trimmed */

void search_routes(service *svc, router *r);
void search_cleanup(service *svc);

/* ---- the parts that need no database, for the unit tests ---------------------- */

/* q without the white space around it (ASCII, and U+3000, the ideographic
 * space a Chinese keyboard types): its start in *start and byte length in
 * *len. Returns its length in characters, or -1 when q is not UTF-8. */
int search_trim(const char *q, size_t *start, size_t *len);

/* The ILIKE pattern that finds q (len bytes) anywhere in a text: q with
 * \, % and _ escaped, between two %. Owned by the caller. */
char *search_like_pattern(const char *q, size_t len);

/* Whether q (len bytes of UTF-8) has no character that has a case: no
 * letter of ASCII, nothing beyond it but CJK (U+3000..U+9FFF, U+F900..U+FAFF,
 * U+20000..U+3FFFF). Such a q finds the same by LIKE as by ILIKE. */
int search_caseless(const char *q, size_t len);

/* Where a hit comes in the order: 0 its code, 1 a number field (FF_UNIQUE:
 * only ever matched exactly), 2 a name equal to q, 3 a name containing q.
 * c: the hit's collection (NULL: unknown, last); matched: the field. */
int search_rank(const collection_def *c, const char *matched, int exact);

/* A hit: its rank and code (borrowed from item). */
typedef struct search_hit {
    int rank;
    const char *code;
    void *item; /* json_t *, borrowed */
} search_hit;

/* Sorts hits by rank, then by code: the one order of an answer. */
void search_sort(search_hit *hits, size_t n);

#endif
