/* statics.c -- static files read once into memory and served from there
 * (statics.h). The table is sorted by name and never changes after the
 * load, so the I/O threads read it without a lock. */
#include "net/statics.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/log.h"

/* The files hold no data and ask the API only from their own origin: no
 * inline script or style, no framing, no form posting anywhere. */
#define CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "        \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "              \
    "frame-ancestors 'none'"

typedef struct {
    char *name; /* "vendor/lib.js" */
    char *body;
    size_t len;
    const char *type;
    char etag[36]; /* a quoted hash of the bytes: the same bytes, the same tag, on any instance */
} static_file;

struct statics {
    static_file *files;
    int n, cap;
    size_t bytes;
    char root[PATH_MAX];
};

/* ---- the pure parts ------------------------------------------------------------ */

static const struct {
    const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
};

const char *statics_content_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        for (size_t i = 0; i < ARRAY_LEN(types); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

int statics_name_ok(const char *rel)
{
    size_t n = strlen(rel);
    if (n == 0 || n > ROUTE_PARAM_MAX) return 0;
    int at_start = 1; /* of a segment */
    for (size_t i = 0; i < n; i++) {
        char c = rel[i];
        if (c == '/') {
            if (at_start) return 0; /* empty segment, or a leading '/' */
            at_start = 1;
            continue;
        }
        if (!name_char(c) || (at_start && c == '.')) return 0;
        at_start = 0;
    }
    return !at_start; /* not ending in '/' */
}

/* The tag without W/ and surrounding blanks: If-None-Match compares weakly. */
static int tag_equal(const char *p, size_t len, const char *etag)
{
    if (len >= 2 && strncmp(p, "W/", 2) == 0) p += 2, len -= 2;
    return len == strlen(etag) && memcmp(p, etag, len) == 0;
}

int statics_etag_matches(const char *inm, const char *etag)
{
    if (!inm) return 0;
    for (const char *p = inm; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t')) trimmed--;
        if (trimmed == 1 && *p == '*') return 1;
        if (trimmed && tag_equal(p, trimmed, etag)) return 1;
        p += len;
    }
    return 0;
}

/* ---- loading --------------------------------------------------------------------- */

static void etag_of(static_file *f)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(f->body, f->len, md, &mdlen, EVP_sha256(), NULL);
    char *o = f->etag;
    *o++ = '"';
    for (unsigned i = 0; i < 16 && i < mdlen; i++, o += 2) snprintf(o, 3, "%02x", md[i]);
    *o++ = '"';
    *o = '\0';
}

/* The whole of a file of at most max bytes; NULL when it cannot be read
 * or is larger. The buffer is the file's size as it stands, not max: a
 * file that grows meanwhile reads short of its end and is refused. */
static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0 || (uintmax_t)st.st_size > max) {
        fclose(fp);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = xmalloc(size + 1);
    size_t n = fread(buf, 1, size + 1, fp);
    int bad = ferror(fp) || n != size;
    fclose(fp);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

typedef struct {
    statics *s;
    char *why;
    size_t whylen;
} loader;

static int add_file(loader *ld, const char *path, const char *rel)
{
    statics *s = ld->s;
    if (s->n == STATICS_MAX_FILES) {
        snprintf(ld->why, ld->whylen, "more than %d files", STATICS_MAX_FILES);
        return ERR;
    }
    size_t len = 0;
    char *body = read_file(path, STATICS_MAX_BYTES - s->bytes, &len);
    if (!body) {
        snprintf(ld->why, ld->whylen, "%s cannot be read, or the files pass %u bytes in all",
                 path, STATICS_MAX_BYTES);
        return ERR;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->files = xrealloc(s->files, (size_t)s->cap * sizeof *s->files);
    }
    static_file *f = &s->files[s->n++];
    *f = (static_file){.name = xstrdup(rel), .body = body, .len = len,
                       .type = statics_content_type(rel)};
    etag_of(f);
    s->bytes += len;
    return OK;
}

/* A symbolic link is followed only to a file within the root: a link to a
 * folder could lead round in a circle, and one out of the root would serve
 * what was never meant to be. */
static int link_target_ok(const statics *s, const char *path, struct stat *st)
{
    char real[PATH_MAX];
    size_t rl = strlen(s->root);
    if (!realpath(path, real) || strncmp(real, s->root, rl) != 0 || real[rl] != '/') return 0;
    return stat(real, st) == 0 && S_ISREG(st->st_mode);
}

static int load_dir(loader *ld, const char *dir, const char *prefix, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(ld->why, ld->whylen, "%s cannot be read: %s", dir, strerror(errno));
        return ERR;
    }
    int rc = OK;
    struct dirent *e;
    while (rc == OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., hidden files */
        char path[PATH_MAX], rel[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            snprintf(rel, sizeof rel, "%s%s", prefix, e->d_name) >= (int)sizeof rel) {
            log_warn("console: %s/%s: the name is too long; left out", dir, e->d_name);
            continue;
        }
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISLNK(st.st_mode) && !link_target_ok(ld->s, path, &st)) {
            log_warn("console: %s is a link to no file within %s; left out", path, ld->s->root);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth == STATICS_MAX_DEPTH) {
                log_warn("console: %s is deeper than %d folders; left out", path,
                         STATICS_MAX_DEPTH);
                continue;
            }
            char sub[PATH_MAX];
            if (snprintf(sub, sizeof sub, "%s/", rel) < (int)sizeof sub)
                rc = load_dir(ld, path, sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            if (statics_name_ok(rel))
                rc = add_file(ld, path, rel);
            else
                log_warn("console: '%s' is not a name served (letters, digits, . - _ up to %d "
                         "bytes); left out", rel, ROUTE_PARAM_MAX);
        }
    }
    closedir(d);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const static_file *)a)->name, ((const static_file *)b)->name);
}

statics *statics_load(const char *dir, char *why, size_t whylen)
{
    statics *s = xcalloc(1, sizeof *s);
    loader ld = {s, why, whylen};
    if (!realpath(dir, s->root)) {
        snprintf(why, whylen, "%s: %s", dir, strerror(errno));
        statics_free(s);
        return NULL;
    }
    if (load_dir(&ld, s->root, "", 0) != OK) {
        statics_free(s);
        return NULL;
    }
    if (s->n) qsort(s->files, (size_t)s->n, sizeof *s->files, by_name);
    return s;
}

void statics_free(statics *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        free(s->files[i].name);
        free(s->files[i].body);
    }
    free(s->files);
    free(s);
}

int statics_count(const statics *s)
{
    return s ? s->n : 0;
}

/* ---- serving ---------------------------------------------------------------------- */

static const static_file *find(const statics *s, const char *name)
{
    if (!s || !s->n) return NULL;
    static_file key = {.name = (char *)name};
    return bsearch(&key, s->files, (size_t)s->n, sizeof *s->files, by_name);
}

static void security_headers(request *req)
{
    http_header(req, "Content-Security-Policy", CSP);
    http_header(req, "X-Content-Type-Options", "nosniff");
    http_header(req, "Referrer-Policy", "no-referrer");
    http_header(req, "Cache-Control", "no-cache");
}

void statics_answer(request *req, const statics *s, const char *rel)
{
    security_headers(req);
    if (!s) {
        http_problem(req, 404, "the console is not installed here (no console directory was "
                               "found at start; see CONSOLE_DIR)");
        return;
    }
    char name[ROUTE_PARAM_MAX + 16];
    size_t n = strlen(rel);
    snprintf(name, sizeof name, "%s%s", rel, n == 0 || rel[n - 1] == '/' ? "index.html" : "");
    const static_file *f = statics_name_ok(name) ? find(s, name) : NULL;
    if (!f) {
        http_problem(req, 404, "no console file at %s", req->path);
        return;
    }
    http_header(req, "ETag", f->etag);
    if (statics_etag_matches(http_header_in(req, "If-None-Match"), f->etag)) {
        http_raw(req, 304, f->type, xstrdup(""), 0);
        return;
    }
    char *body = xmalloc(f->len + 1);
    memcpy(body, f->body, f->len);
    http_raw(req, 200, f->type, body, f->len);
}

void statics_redirect(request *req, const char *location)
{
    security_headers(req);
    http_header(req, "Location", location);
    http_raw(req, 308, "text/plain; charset=utf-8", xstrdup(""), 0);
}
