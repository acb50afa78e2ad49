/* bulk.c -- see bulk.h. Over 600 lines: an import's batches, the errors of
 * its lines and its answers are read together; the keys lines may hold are
 * in bulk_keys.c. */
#include "engine/bulk.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/bulk_keys.h"
#include "engine/changes.h"
#include "engine/crossref.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "engine/context.h"

#define BATCH_DEFAULT 5000
#define BATCH_MAX 50000
#define ERRORS_SHOWN 1000
#define EXPORT_FETCH "FETCH 1000 FROM export"

static const char SQL_INDEX_ONLY[] = "SET LOCAL enable_seqscan = off";

/* ---- one batch ------------------------------------------------------------ */

typedef struct {
    int row; /* in the batch */
    const char *field;
    char code[BIZCODE_LEN + 1];
    const end_rule *rule;
} ref_note;

typedef struct {
    sbuf copy;  /* COPY text of the rows that passed their own checks */
    int *lines; /* the NDJSON line of each row */
    int nrows, cap;
    char first_key[BIZCODE_LEN + 1], last_key[BIZCODE_LEN + 1];
    ref_note *refs;
    int nrefs, refcap;
    int first_line, last_line, nlines;
    int bad; /* some line failed: the batch is rejected */
} batch;

struct bulk_line {
    const char *app;
    batch *b;
    int row;
    int line;         /* in the body */
    json_t *errors;   /* the line's, as check adds them */
    bulk_keys *keys;  /* the import's (bulk_key) */
};

const char *bulk_app(const bulk_line *ln)
{
    return ln->app;
}

void bulk_refer(bulk_line *ln, const char *field, const char *code, const end_rule *rule)
{
    batch *b = ln->b;
    if (b->nrefs == b->refcap) {
        b->refcap = b->refcap ? b->refcap * 2 : 256;
        b->refs = xrealloc(b->refs, (size_t)b->refcap * sizeof *b->refs);
    }
    ref_note *n = &b->refs[b->nrefs++];
    n->row = ln->row;
    n->field = field;
    snprintf(n->code, sizeof n->code, "%s", code);
    n->rule = rule;
}

static void batch_reset(batch *b)
{
    b->copy.len = 0;
    b->nrows = b->nrefs = b->nlines = 0;
    b->bad = 0;
    b->first_line = b->last_line = 0;
}

static void batch_free(batch *b)
{
    sb_free(&b->copy);
    free(b->lines);
    free(b->refs);
}

/* COPY text format: tab-separated, \N for NULL, backslash escapes. */
static void copy_value(sbuf *out, const char *v)
{
    if (!v) {
        sb_append(out, "\\N");
        return;
    }
    while (*v) {
        size_t span = strcspn(v, "\\\t\n\r");
        sb_appendn(out, v, span);
        v += span;
        if (!*v) break;
        char esc[3] = {'\\', *v == '\\' ? '\\' : *v == '\t' ? 't' : *v == '\n' ? 'n' : 'r', 0};
        sb_appendn(out, esc, 2);
        v++;
    }
}

static void batch_add_row(batch *b, int line, char **cols, int ncols)
{
    if (b->nrows == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->lines = xrealloc(b->lines, (size_t)b->cap * sizeof *b->lines);
    }
    b->lines[b->nrows++] = line;
    for (int i = 0; i < ncols; i++) {
        if (i) sb_append(&b->copy, "\t");
        copy_value(&b->copy, cols[i]);
    }
    sb_append(&b->copy, "\n");
    const char *key = cols[0] ? cols[0] : "";
    if (b->nrows == 1) snprintf(b->first_key, sizeof b->first_key, "%s", key);
    snprintf(b->last_key, sizeof b->last_key, "%s", key);
}

void bulk_key(bulk_line *ln, const void *key, size_t len, const char *field)
{
    int first = bulk_keys_add(ln->keys, key, len, ln->line);
    if (first)
        json_add_error(ln->errors, field, "the same as line %d: each may come once in an import",
                       first);
}

/* ---- the whole import ----------------------------------------------------- */

typedef struct {
    request *req; /* NULL for bulk_check */
    service *svc;
    const app_entry *app;
    const bulk_spec *spec;
    int batch_size;
    int check_only; /* bulk_check: batches are not loaded */
    long lines, imported, rejected, batches;
    long counts[BULK_COUNTS_MAX]; /* spec->counts, summed over the batches loaded */
    bulk_keys keys;
    long nerrors;
    json_t *errors;           /* the first ERRORS_SHOWN */
    json_t *rejected_batches; /* [{first_line, last_line}] */
    int commit_unknown;       /* the connection was lost while the last batch committed */
    batch bufs[2];            /* lines go to bufs[cur] while the other may be in flight */
    int cur;
    batch *pending;           /* loading: its COPY sent on pending_c, its result not read */
    db_conn *pending_c;
    int stop_line;            /* the first line of the batch being loaded */
} import_run;

static void line_error(import_run *run, batch *b, int line, const char *field, const char *msg)
{
    b->bad = 1;
    if (run->nerrors++ >= ERRORS_SHOWN) return;
    json_t *e = json_pack("{s:i, s:s?, s:s}", "line", line, "field", field, "message", msg);
    json_array_append_new(run->errors, e);
}

/* The list of rejected batches is bounded like the errors, however many
 * lines a body has. */
static void reject(import_run *run, batch *b)
{
    run->rejected += b->nlines;
    if (json_array_size(run->rejected_batches) < ERRORS_SHOWN)
        json_array_append_new(run->rejected_batches, json_pack("{s:i, s:i}", "first_line",
                                                               b->first_line, "last_line",
                                                               b->last_line));
}

/* Checks the codes of one owner (ours with c, the peer's with c NULL):
 * grouped by type and rule, one look-up each. ERR after answering. */
static int check_refs(import_run *run, batch *b, db_conn *c)
{
    service_id here = run->svc->def->id;
    char *done = xcalloc((size_t)b->nrefs + 1, 1);
    const char **codes = xcalloc((size_t)b->nrefs + 1, sizeof *codes);
    int rc = OK;
    for (int i = 0; i < b->nrefs && rc == OK; i++) {
        const biz_type *bt = biz_type_by_prefix(b->refs[i].code);
        if (done[i] || (bt->owner == here) != (c != NULL)) continue;
        const end_rule *rule = b->refs[i].rule;
        int n = 0;
        json_t *asked = json_object(); /* each code once, however many lines name it */
        for (int j = i; j < b->nrefs; j++) {
            if (done[j] || b->refs[j].rule != rule || strncmp(b->refs[j].code, bt->prefix, 2))
                continue;
            done[j] = 1;
            if (json_object_get(asked, b->refs[j].code)) continue;
            json_object_set_new(asked, b->refs[j].code, json_true());
            codes[n++] = b->refs[j].code;
        }
        json_decref(asked);
        outcome p = {0};
        json_t *found = crossref_lookup(run->svc, run->req, c, bt, codes, n,
                                        rule ? rule->field : NULL, &p);
        if (!found) {
            service_answer_outcome(run->req, &p);
            rc = ERR;
            break;
        }
        for (int j = i; j < b->nrefs; j++) {
            ref_note *r = &b->refs[j];
            if (r->rule != rule || strncmp(r->code, bt->prefix, 2)) continue;
            xref x = {r->field, r->code, r->rule};
            char why[300];
            if (crossref_problem(&x, json_object_get(found, r->code), why, sizeof why))
                line_error(run, b, b->lines[r->row], r->field, why);
        }
        json_decref(found);
    }
    free(done);
    free(codes);
    return rc;
}

/* The NDJSON line a failed COPY points at: "COPY t, line 17, ..." in its
 * context, and the field from "Key (col)=(...)" in its detail. */
static void copy_error(import_run *run, batch *b, const PGresult *r)
{
    const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
    const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *at = ctx ? strstr(ctx, ", line ") : NULL;
    int row = at ? atoi(at + 7) - 1 : -1;
    char field[64] = "";
    if (detail && strncmp(detail, "Key (", 5) == 0) {
        /* "from_code, to_code" -> "from, to": the members the lines use */
        size_t n = strcspn(detail + 5, ")=");
        char cols[64];
        snprintf(cols, sizeof cols, "%.*s", (int)n, detail + 5);
        sbuf f = {0};
        char *save = NULL;
        for (char *c = strtok_r(cols, ", ", &save); c; c = strtok_r(NULL, ", ", &save)) {
            size_t len = strlen(c);
            if (len > 5 && strcmp(c + len - 5, "_code") == 0) c[len - 5] = '\0';
            sb_appendf(&f, "%s%s", f.len ? ", " : "", c);
        }
        snprintf(field, sizeof field, "%s", f.s ? f.s : "");
        sb_free(&f);
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s", detail ? detail : primary ? primary : "refused by the database");
    const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    for (const check_def *k = run->spec->checks; cons && k && k->constraint; k++) {
        if (strcmp(cons, k->constraint) != 0) continue;
        snprintf(field, sizeof field, "%s", k->field);
        snprintf(msg, sizeof msg, "%s", k->message);
    }
    utf8_clean(msg);
    if (row >= 0 && row < b->nrows) {
        line_error(run, b, b->lines[row], field[0] ? field : NULL, msg);
    } else {
        b->bad = 1;
        char whole[700];
        snprintf(whole, sizeof whole, "lines %d-%d: %s", b->first_line, b->last_line, msg);
        line_error(run, b, b->first_line, field[0] ? field : NULL, whole);
    }
}

/* A statement of the batch refused: ERR after answering when the database
 * gave out, else REFUSED with the batch rejected. */
enum { REFUSED = 1 };
static int refused(import_run *run, batch *b, db_conn *c, const PGresult *r)
{
    if (db_http_status(c, r) >= 500) {
        service_db_error(run->req, c, r, run->spec->target);
        return ERR;
    }
    copy_error(run, b, r);
    return REFUSED;
}

/* Runs the spec's statements (before or after the COPY) as refused()
 * says; the last one's row, when counts is given, into counts. */
static int statements(import_run *run, batch *b, db_conn *c, const char *const *sql,
                      long *counts)
{
    for (; sql && *sql; sql++) {
        PGresult *r = db_exec_once(c, *sql, 0, NULL);
        int rc = db_ok(r) ? OK : refused(run, b, c, r);
        if (rc == OK && counts && !sql[1] && PQntuples(r) == 1)
            for (int i = 0; i < PQnfields(r) && i < BULK_COUNTS_MAX; i++)
                counts[i] = strtol(PQgetvalue(r, 0, i), NULL, 10);
        PQclear(r);
        if (rc != OK) return rc;
    }
    return OK;
}

static void end_conn(import_run *run, db_conn *c)
{
    db_rollback(c);
    db_release(run->svc->db, c);
}

/* The spec's statements around its COPY (a staging table and the merge
 * out of it), or its plain COPY: OK, REFUSED (the batch rejected) or ERR
 * after answering. */
static int staged(import_run *run, batch *b, db_conn *c, long *counts)
{
    int step = statements(run, b, c, run->spec->before, NULL);
    if (step == OK) {
        PGresult *r = db_copy_in(c, run->spec->copy_sql, b->copy.s, b->copy.len);
        step = db_ok(r) ? OK : refused(run, b, c, r);
        PQclear(r);
    }
    if (step == OK) step = statements(run, b, c, run->spec->after, counts);
    return step;
}

/* The batch's change and commit, once its rows are in. ERR after answering. */
static int commit_batch(import_run *run, batch *b, db_conn *c, const long *counts)
{
    json_t *summary = json_pack("{s:i, s:s, s:s, s:i, s:i}", "count", b->nrows, "first",
                                b->first_key, "last", b->last_key, "first_line", b->first_line,
                                "last_line", b->last_line);
    int recorded = changes_record(run->req, c, run->spec->change_type, b->first_key, NULL, NULL,
                                  summary);
    json_decref(summary);
    if (recorded != OK) return ERR;
    if (db_commit(c) != OK) {
        run->commit_unknown = db_broken(c);
        service_commit_failed(run->req, c, "the import stopped");
        return ERR;
    }
    run->imported += b->nrows;
    for (int i = 0; i < BULK_COUNTS_MAX; i++) run->counts[i] += counts[i];
    return OK;
}

/* Back to before the direct COPY, the batch to go the staging way. */
static int undo_direct(db_conn *c)
{
    PGresult *r = db_exec_once(c, "ROLLBACK TO SAVEPOINT direct", 0, NULL);
    int rc = db_ok(r) ? OK : ERR;
    PQclear(r);
    return rc;
}

/* Sends the batch by the spec's direct COPY, in a savepoint: OK once sent
 * (the result is finish()'s to read), RETRY when the table refused it at
 * once and the savepoint undid it, ERR after answering. */
enum { RETRY = 2 };
static int send_direct(import_run *run, batch *b, db_conn *c)
{
    PGresult *r = db_exec_once(c, "SAVEPOINT direct", 0, NULL);
    if (db_ok(r)) {
        PQclear(r);
        r = db_copy_send(c, run->spec->direct_sql, b->copy.s, b->copy.len);
        if (!r) return OK;
        if (db_http_status(c, r) < 500 && undo_direct(c) == OK) {
            PQclear(r);
            return RETRY;
        }
    }
    service_db_error(run->req, c, r, run->spec->target);
    PQclear(r);
    return ERR;
}

/* The batch in flight, if any: its direct COPY's result, the staging way
 * when the table refused it (a row it holds already, a month with no
 * partition yet), then its commit; then it is done with, loaded or
 * rejected. ERR after answering. */
static int finish(import_run *run)
{
    batch *b = run->pending;
    db_conn *c = run->pending_c;
    if (!b) return OK;
    run->pending = NULL;
    run->stop_line = b->first_line;
    long counts[BULK_COUNTS_MAX] = {0};
    PGresult *r = db_copy_result(c);
    int step = OK;
    if (db_ok(r)) {
        counts[0] = b->nrows;
    } else if (db_http_status(c, r) < 500 && undo_direct(c) == OK) {
        step = staged(run, b, c, counts);
    } else {
        service_db_error(run->req, c, r, run->spec->target);
        step = ERR;
    }
    PQclear(r);
    if (step == OK) step = commit_batch(run, b, c, counts);
    end_conn(run, c);
    if (step != ERR && b->bad) reject(run, b);
    batch_reset(b);
    return step == ERR ? ERR : OK;
}

/* Loads a batch whose lines all passed their own checks. With a direct
 * COPY the batch is left in flight (run->pending): the database loads it
 * while the next batch's lines are checked here, each about as long as the
 * other. ERR after answering when the import cannot go on (database or
 * peer unavailable). */
static int load(import_run *run, batch *b)
{
    run->stop_line = b->first_line;
    if (check_refs(run, b, NULL) != OK) return ERR;
    if (b->bad) return OK;
    db_conn *c = service_db(run->svc, run->req);
    if (!c) return ERR;
    int step = ERR;
    if (db_begin(c) != OK) {
        service_db_down(run->req, "the import stopped");
        goto out;
    }
    /* Thousands of codes looked up in a table loaded moments ago, before
     * any ANALYZE: the planner would guess a sequential scan, per batch. */
    PQclear(db_exec_once(c, SQL_INDEX_ONLY, 0, NULL));
    if (check_refs(run, b, c) != OK) goto out;
    if (b->bad) {
        step = OK;
        goto out;
    }
    step = run->spec->direct_sql ? send_direct(run, b, c) : RETRY;
    if (step == OK) {
        run->pending = b;
        run->pending_c = c;
        return OK;
    }
    long counts[BULK_COUNTS_MAX] = {0};
    if (step == RETRY) step = staged(run, b, c, counts);
    if (step == OK) step = commit_batch(run, b, c, counts);
out:
    end_conn(run, c);
    return step == ERR ? ERR : OK;
}

/* Ends a batch: loads it, or records it as rejected. Batches end in order,
 * one in flight at most. */
static int flush(import_run *run, batch *b)
{
    if (b->nlines == 0) return finish(run);
    if (finish(run) != OK) return ERR;
    if (!run->check_only && http_draining(run->svc->http)) {
        http_header(run->req, "Retry-After", "1");
        http_problem(run->req, 503, "the service is shutting down");
        run->stop_line = b->first_line;
        return ERR;
    }
    run->batches++;
    int rc = b->bad || run->check_only ? OK : load(run, b);
    if (run->pending == b) {
        run->cur ^= 1; /* the next lines go to the other batch */
        return rc;
    }
    if (rc == OK && b->bad) reject(run, b);
    batch_reset(b);
    return rc;
}

/* Checks one line and adds its row to the batch. */
static void take_line(import_run *run, batch *b, int line, const char *text, size_t len)
{
    const bulk_spec *spec = run->spec;
    char err[300];
    json_t *obj = json_parse_object(text, len, err, sizeof err);
    if (!obj) {
        line_error(run, b, line, NULL, err);
        return;
    }
    char **cols = xcalloc((size_t)spec->ncols, sizeof *cols);
    json_t *errors = json_array();
    bulk_line ln = {run->app->name, b, b->nrows, line, errors, &run->keys};
    int refs_before = b->nrefs;
    spec->check(spec->ctx, &ln, obj, cols, errors);
    char why[512];
    if (json_array_size(errors) == 0 &&
        policy_check(run->svc->policy, run->app, spec->target, obj, why, sizeof why) != OK)
        json_add_error(errors, NULL, "%s", why);
    if (json_array_size(errors) > 0) {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e) {
            line_error(run, b, line, json_string_value(json_object_get(e, "field")),
                       json_string_value(json_object_get(e, "message")));
        }
        b->nrefs = refs_before; /* a rejected line's codes need no look-up */
    } else {
        batch_add_row(b, line, cols, spec->ncols);
    }
    for (int i = 0; i < spec->ncols; i++) free(cols[i]);
    free(cols);
    json_decref(errors);
    json_decref(obj);
}

static int ndjson_type(request *req)
{
    const char *ct = http_header_in(req, "Content-Type");
    static const char *const ok[] = {"application/x-ndjson", "application/ndjson",
                                     "application/jsonl", NULL};
    for (const char *const *t = ok; ct && *t; t++) {
        size_t n = strlen(*t);
        if (strncasecmp(ct, *t, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return 1;
    }
    http_problem(req, 415, "Content-Type must be application/x-ndjson (one JSON object per "
                           "line), not %s", ct ? ct : "absent");
    return 0;
}

static int batch_param(request *req, int *size)
{
    const char *v = http_query(req, "batch");
    *size = BATCH_DEFAULT;
    if (!v) return OK;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 1 || n > BATCH_MAX) {
        http_problem(req, 400, "batch must be an integer from 1 to %d (lines per transaction)",
                     BATCH_MAX);
        return ERR;
    }
    *size = (int)n;
    return OK;
}

static json_t *progress(const import_run *run)
{
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:O, s:O}", "lines", (json_int_t)run->lines,
                          "imported", (json_int_t)run->imported, "rejected",
                          (json_int_t)run->rejected, "batches", (json_int_t)run->batches,
                          "rejected_batches", run->rejected_batches, "errors", run->errors);
    if (run->nerrors > ERRORS_SHOWN) json_object_set_new(o, "errors_shown", json_integer(ERRORS_SHOWN));
    for (int i = 0; run->spec->counts && run->spec->counts[i] && i < BULK_COUNTS_MAX; i++)
        json_object_set_new(o, run->spec->counts[i], json_integer((json_int_t)run->counts[i]));
    return o;
}

/* The import stopped at the batch starting at line: the answer already
 * given (the peer's 502, 503 or 504, the database's 503) gains how far the
 * import got. */
static void stopped(import_run *run, int line)
{
    request *req = run->req;
    json_t *extra = progress(run);
    json_object_set_new(extra, "stopped_at_line", json_integer(line));
    json_t *p = req->resp_body ? json_loadb(req->resp_body, req->resp_len, 0, NULL) : NULL;
    const char *detail = json_string_value(json_object_get(p, "detail"));
    if (run->commit_unknown)
        http_problem_extra(req, req->status ? req->status : 503, extra,
                           "%s; lines before %d were loaded (%ld rows), the batch from line %d "
                           "may or may not be, nothing after it was",
                           detail ? detail : "the import stopped", line, run->imported, line);
    else
        http_problem_extra(req, req->status ? req->status : 503, extra,
                           "%s; lines before %d were loaded (%ld rows), nothing from line %d on",
                           detail ? detail : "the import stopped", line, run->imported, line);
    json_decref(p);
}

/* Ends a batch as flush does; when it cannot be loaded, the answer says how
 * far the import got. */
static int end_batch(import_run *run, batch *b)
{
    if (flush(run, b) == OK) return OK;
    stopped(run, run->stop_line);
    return ERR;
}

/* Takes each line of the body that is not blank, batch by batch; ERR when
 * a batch could not be loaded (answered). Reads nothing past end. */
static int take_lines(import_run *run, const char *p, const char *end)
{
    int line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - p);
        if (len && p[len - 1] == '\r') len--;
        line++;
        size_t blank = 0;
        while (blank < len && (p[blank] == ' ' || p[blank] == '\t')) blank++;
        if (blank < len) {
            batch *b = &run->bufs[run->cur];
            if (b->nlines == 0) b->first_line = line;
            b->last_line = line;
            b->nlines++;
            run->lines++;
            take_line(run, b, line, p, len);
            if (b->nlines == run->batch_size && end_batch(run, b) != OK) return ERR;
        }
        p = nl ? nl + 1 : end;
    }
    if (end_batch(run, &run->bufs[run->cur]) != OK) return ERR;
    /* The last batch may still be in flight. */
    return end_batch(run, &run->bufs[run->cur]);
}

void bulk_import(request *req, service *svc, const bulk_spec *spec)
{
    int size;
    if (!ndjson_type(req) || batch_param(req, &size) != OK) return;
    import_run run = {.req = req, .svc = svc, .app = req->app, .spec = spec, .batch_size = size,
                      .errors = json_array(), .rejected_batches = json_array()};
    const char *body = req->body.s ? req->body.s : "";
    if (take_lines(&run, body, body + req->body.len) != OK) {
        /* answered by stopped() */
    } else if (run.lines == 0) {
        http_problem(req, 400, "the body has no lines: send one JSON object per line");
    } else if (run.rejected == 0) {
        http_json(req, 200, progress(&run));
    } else {
        http_problem_extra(req, 422, progress(&run),
                           "%ld of %ld lines were rejected, in %zu batches of up to %d lines; "
                           "the other batches were loaded",
                           run.rejected, run.lines, json_array_size(run.rejected_batches), size);
    }
    if (run.imported)
        log_info("%s: imported %ld rows from %ld lines", spec->target, run.imported, run.lines);
    json_decref(run.errors);
    json_decref(run.rejected_batches);
    bulk_keys_free(&run.keys);
    batch_free(&run.bufs[0]);
    batch_free(&run.bufs[1]);
}

json_t *bulk_check(service *svc, const app_entry *app, const bulk_spec *spec, const char *body,
                   size_t len, int batch_size)
{
    import_run run = {.svc = svc, .app = app, .spec = spec, .batch_size = batch_size,
                      .check_only = 1, .errors = json_array(), .rejected_batches = json_array()};
    take_lines(&run, body, body + len); /* never stops: nothing is loaded */
    json_t *out = progress(&run);
    json_decref(run.errors);
    json_decref(run.rejected_batches);
    bulk_keys_free(&run.keys);
    batch_free(&run.bufs[0]);
    batch_free(&run.bufs[1]);
    return out;
}

/* ---- export ---------------------------------------------------------------- */

typedef struct {
    service *svc;
    db_conn *c; /* NULL once the rows are all read */
    bulk_row_fn to_json;
    const void *ctx;
    sbuf out;
    size_t sent;
    int eof;
} export_stream;

static atomic_int exports_running;

static void export_release(export_stream *x)
{
    if (!x->c) return;
    db_rollback(x->c); /* read only: ending the snapshot closes the cursor */
    db_release(x->svc->db, x->c);
    x->c = NULL;
    atomic_fetch_sub(&exports_running, 1);
}

static long export_fill(void *arg, char *buf, size_t max)
{
    export_stream *x = arg;
    if (x->sent == x->out.len && !x->eof) {
        x->out.len = x->sent = 0;
        PGresult *r = db_exec_once(x->c, EXPORT_FETCH, 0, NULL);
        if (!db_ok(r)) {
            log_warn("export stopped: %s", PQresultErrorMessage(r));
            PQclear(r);
            return -1;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            json_t *o = x->to_json(x->ctx, r, i);
            char *text = json_text(o);
            sb_append(&x->out, text);
            sb_append(&x->out, "\n");
            free(text);
            json_decref(o);
        }
        x->eof = n == 0;
        PQclear(r);
        /* The connection and the slot go back as soon as the rows are
         * read, not when the last bytes have reached the client. */
        if (x->eof) export_release(x);
    }
    size_t n = x->out.len - x->sent;
    if (n > max) n = max;
    if (n) memcpy(buf, x->out.s + x->sent, n);
    x->sent += n;
    return (long)n;
}

static void export_done(void *arg)
{
    export_stream *x = arg;
    export_release(x);
    sb_free(&x->out);
    free(x);
}

void bulk_export(request *req, service *svc, const char *sql, int nparams,
                 const char *const *params, bulk_row_fn to_json, const void *ctx)
{
    /* Each stream holds a connection for as long as its client reads. */
    int most = svc->cfg.db_pool_size / 2 > 0 ? svc->cfg.db_pool_size / 2 : 1;
    if (atomic_fetch_add(&exports_running, 1) >= most) {
        atomic_fetch_sub(&exports_running, 1);
        http_header(req, "Retry-After", "5");
        http_problem(req, 503, "%d exports are running already, the most at once; retry later",
                     most);
        return;
    }
    db_conn *c = service_db(svc, req);
    if (!c) {
        atomic_fetch_sub(&exports_running, 1);
        return;
    }
    char *declare = xasprintf("DECLARE export NO SCROLL CURSOR FOR %s", sql);
    PGresult *r = db_exec_once(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
    if (db_ok(r)) {
        PQclear(r);
        r = db_exec_once(c, declare, nparams, params);
    }
    free(declare);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "export");
        PQclear(r);
        db_rollback(c);
        db_release(svc->db, c);
        atomic_fetch_sub(&exports_running, 1);
        return;
    }
    PQclear(r);
    export_stream *x = xcalloc(1, sizeof *x);
    *x = (export_stream){.svc = svc, .c = c, .to_json = to_json, .ctx = ctx};
    http_stream(req, 200, "application/x-ndjson", export_fill, export_done, x);
}
