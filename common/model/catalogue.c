/* catalogue.c -- see catalogue.h. */
#include "model/catalogue.h"

#include <string.h>

const collection_def *catalogue_collection(const service_def *def, const char *prefix_or_code)
{
    for (int i = 0; i < def->ncollections; i++)
        if (strncmp(def->collections[i].prefix, prefix_or_code, 2) == 0)
            return &def->collections[i];
    return NULL;
}
