/* catalogue.c -- see catalogue.h. */
#include "model/catalogue.h"

#include <string.h>

int catalogue_lists(const char *const *prefixes, const char *prefix_or_code)
{
    for (const char *const *p = prefixes; p && *p; p++)
        if (strncmp(*p, prefix_or_code, 2) == 0) return 1;
    return 0;
}

const collection_def *catalogue_collection(const service_def *def, const char *prefix_or_code)
{
    for (int i = 0; i < def->ncollections; i++)
        if (strncmp(def->collections[i].prefix, prefix_or_code, 2) == 0)
            return &def->collections[i];
    return NULL;
}

const collection_def *catalogue_peer_collection(const service_def *def, const char *prefix_or_code)
{
    for (int i = 0; i < def->peer_ncollections; i++)
        if (strncmp(def->peer_collections[i].prefix, prefix_or_code, 2) == 0)
            return &def->peer_collections[i];
    return NULL;
}

const collection_def *catalogue_any_collection(const service_def *def, const char *prefix_or_code)
{
    const collection_def *c = catalogue_collection(def, prefix_or_code);
    return c ? c : catalogue_peer_collection(def, prefix_or_code);
}

const query_doc *catalogue_read_query(const read_def *reads, int n, const char *path)
{
    for (int i = 0; i < n; i++)
        if (strcmp(reads[i].path, path) == 0) return reads[i].query;
    return NULL;
}
