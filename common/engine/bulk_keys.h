/* bulk_keys.h -- the keys an import's lines hold (bulk_key), each with the
 * first line that held it, so that a second line with the same key is told
 * which one came before. Within bulk*.c only. */
#ifndef BULK_KEYS_H
#define BULK_KEYS_H

#include <stddef.h>

#include "engine/bulk.h"

typedef struct {
    unsigned char key[BULK_KEY_MAX];
    unsigned char len; /* 0: a free slot */
    int line;
} bulk_key_slot;

typedef struct {
    bulk_key_slot *slots;
    size_t cap, n; /* cap a power of two, or 0 */
} bulk_keys;

/* Adds key (1..BULK_KEY_MAX bytes) for line: 0 if no line held it yet,
 * else the first line that did (and the set is unchanged). */
int bulk_keys_add(bulk_keys *ks, const void *key, size_t len, int line);
void bulk_keys_free(bulk_keys *ks);

#endif
