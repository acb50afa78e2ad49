/* pgarray.c -- see pgarray.h. */
#include "store/pgarray.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* What array_in would read as something else: an empty or NULL-looking
 * element, or one holding the syntax's own characters or spaces. */
static int needs_quotes(const char *s)
{
    if (!*s || strcasecmp(s, "NULL") == 0) return 1;
    for (; *s; s++)
        if (strchr("{},\"\\", *s) || isspace((unsigned char)*s)) return 1;
    return 0;
}

void pg_array_add(pg_array *a, const char *item)
{
    sb_append(&a->b, a->n++ ? "," : "{");
    if (!needs_quotes(item)) {
        sb_append(&a->b, item);
        return;
    }
    sb_append(&a->b, "\"");
    for (const char *s = item; *s; s++) {
        if (*s == '"' || *s == '\\') sb_append(&a->b, "\\");
        sb_appendn(&a->b, s, 1);
    }
    sb_append(&a->b, "\"");
}

char *pg_array_steal(pg_array *a)
{
    sb_append(&a->b, a->n ? "}" : "{}");
    a->n = 0;
    return sb_steal(&a->b);
}

char *pg_array_of_strings(const json_t *strings)
{
    pg_array a = {0};
    size_t i;
    json_t *v;
    json_array_foreach(strings, i, v) pg_array_add(&a, json_string_value(v));
    return pg_array_steal(&a);
}

void pg_array_free(pg_array *a)
{
    sb_free(&a->b);
    a->n = 0;
}
