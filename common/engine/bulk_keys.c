/* bulk_keys.c -- see bulk_keys.h: an open-addressed hash set, as an import
 * may bring millions of lines and is checked one line at a time. */
#include "engine/bulk_keys.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/core.h"

static uint64_t hash(const unsigned char *k, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ k[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static bulk_key_slot *find(bulk_key_slot *slots, size_t cap, const unsigned char *k, size_t len)
{
    size_t i = (size_t)hash(k, len) & (cap - 1);
    while (slots[i].len && (slots[i].len != len || memcmp(slots[i].key, k, len) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Kept at most two-thirds full, so that a look-up stays a probe or two. */
static void grow(bulk_keys *ks)
{
    size_t cap = ks->cap ? ks->cap * 2 : 4096;
    bulk_key_slot *slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < ks->cap; i++)
        if (ks->slots[i].len)
            *find(slots, cap, ks->slots[i].key, ks->slots[i].len) = ks->slots[i];
    free(ks->slots);
    ks->slots = slots;
    ks->cap = cap;
}

int bulk_keys_add(bulk_keys *ks, const void *key, size_t len, int line)
{
    if (len == 0 || len > BULK_KEY_MAX) return 0;
    if ((ks->n + 1) * 3 > ks->cap * 2) grow(ks);
    bulk_key_slot *s = find(ks->slots, ks->cap, key, len);
    if (s->len) return s->line;
    memcpy(s->key, key, len);
    s->len = (unsigned char)len;
    s->line = line;
    ks->n++;
    return 0;
}

void bulk_keys_free(bulk_keys *ks)
{
    free(ks->slots);
    *ks = (bulk_keys){0};
}
