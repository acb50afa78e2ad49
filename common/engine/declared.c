/* declared.c -- see declared.h. */
#include "engine/declared.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/jsonutil.h"
#include "engine/context.h"
#include "model/fields.h"

/* Where a row goes: a JSON object, or its text. */
typedef struct {
    json_t *obj;
    sbuf *text;
    int n; /* members written */
} row_out;

static void put_member(row_out *o, const row_member *m, const PGresult *r, int row)
{
    const char *v = m->kind == RM_CONST ? m->value : PQgetvalue(r, row, m->col);
    int null = m->kind == RM_TIME_OR_NULL && PQgetisnull(r, row, m->col);
    if (!o->text) {
        json_t *j = null                    ? json_null()
                    : m->kind == RM_INT     ? json_integer(strtoll(v, NULL, 10))
                    : m->kind == RM_TIME || m->kind == RM_TIME_OR_NULL ? pg_time_json(v)
                                            : json_string(v);
        json_object_set_new(o->obj, m->name, j);
        return;
    }
    sb_append(o->text, o->n++ ? ",\"" : "{\"");
    sb_append(o->text, m->name);
    sb_append(o->text, "\":");
    if (null)
        sb_append(o->text, "null");
    else if (m->kind == RM_INT)
        sb_json_int(o->text, strtoll(v, NULL, 10));
    else if (m->kind == RM_TIME || m->kind == RM_TIME_OR_NULL)
        pg_time_text(v, o->text);
    else
        sb_json_string(o->text, v);
}

static void put_fields(row_out *o, const row_shape *s, const PGresult *r, int row)
{
    int col = s->fields_col;
    for (const field_def *f = s->fields; f->name; col += field_ncols(f), f++) {
        if (o->text) {
            sb_append(o->text, o->n++ ? "," : "{");
            field_to_text(f, r, row, col, o->text);
        } else {
            field_to_json(f, r, row, col, o->obj);
        }
    }
}

static void put_row(row_out *o, const row_shape *s, const PGresult *r, int row)
{
    for (int i = 0; i < s->nhead; i++) put_member(o, &s->head[i], r, row);
    put_fields(o, s, r, row);
    for (int i = 0; i < s->ntail; i++) put_member(o, &s->tail[i], r, row);
    if (o->text) sb_append(o->text, o->n ? "}" : "{}");
}

json_t *row_json(const row_shape *s, const PGresult *r, int row)
{
    row_out o = {.obj = json_object()};
    put_row(&o, s, r, row);
    return o.obj;
}

void row_text(const row_shape *s, const PGresult *r, int row, sbuf *out)
{
    row_out o = {.text = out};
    put_row(&o, s, r, row);
}

json_t *row_item(const void *shape, const PGresult *r, int row)
{
    return row_json(shape, r, row);
}

char *declared_columns(const char *base, const field_def *fields)
{
    sbuf b = {0};
    sb_append(&b, base);
    fields_append_columns(fields, &b, ", ");
    return sb_steal(&b);
}

char *declared_insert(const char *table, const char *base, int nbase, const field_def *fields,
                      const char *returning)
{
    sbuf b = {0};
    sb_appendf(&b, "INSERT INTO %s (%s", table, base);
    fields_append_columns(fields, &b, ", ");
    sb_append(&b, ") VALUES (");
    int n = nbase + fields_ncols(fields);
    for (int i = 0; i < n; i++) sb_appendf(&b, "%s$%d", i ? ", " : "", i + 1);
    sb_appendf(&b, ") RETURNING %s", returning);
    return sb_steal(&b);
}

char *declared_copy(const char *table, const char *base, const field_def *fields)
{
    sbuf b = {0};
    sb_appendf(&b, "COPY %s (%s", table, base);
    fields_append_columns(fields, &b, ", ");
    sb_append(&b, ") FROM STDIN");
    return sb_steal(&b);
}

int declared_allowed(request *req, service *svc, const char *target, const json_t *obj)
{
    char why[512];
    if (policy_check(svc->policy, req->app, target, obj, why, sizeof why) == OK) return 1;
    http_problem(req, 403, "%s", why);
    return 0;
}

void declared_not_kept(request *req, service *svc, const char *what)
{
    http_problem(req, 500, "%s are not kept by %s", what, svc->name);
}
