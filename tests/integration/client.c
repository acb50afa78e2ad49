/* client.c -- see client.h. */
#include "client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/bizcode.h"

/* ---- small things ------------------------------------------------------------ */

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

/* ---- arena ---------------------------------------------------------------------- */

typedef struct {
    void *p;
    void (*fn)(void *);
} tracked;

static tracked *arena;
static size_t arena_n, arena_cap;
static pthread_mutex_t arena_mu = PTHREAD_MUTEX_INITIALIZER; /* api_call runs in threads too */

void *it_track(void *p, void (*free_fn)(void *))
{
    if (!p) return NULL;
    pthread_mutex_lock(&arena_mu);
    if (arena_n == arena_cap) {
        arena_cap = arena_cap ? arena_cap * 2 : 64;
        arena = must(realloc(arena, arena_cap * sizeof *arena));
    }
    arena[arena_n++] = (tracked){p, free_fn};
    pthread_mutex_unlock(&arena_mu);
    return p;
}

static void arena_free(void)
{
    while (arena_n > 0) {
        tracked t = arena[--arena_n];
        t.fn(t.p);
    }
    free(arena);
    arena = NULL;
    arena_cap = 0;
}

int it_teardown(void **state)
{
    arena_free();
    return 0;
}

char *it_strdup(const char *s)
{
    return it_track(must(strdup(s ? s : "")), free);
}

char *strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return it_track(must(s), free);
}

static void json_free(void *p)
{
    json_decref(p);
}

char *jdump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return it_track(must(s), free);
}

json_t *jkeep(json_t *v)
{
    return it_track(v, json_free); /* NULL stays NULL */
}

char *uniq(void)
{
    static const char sym[] = "0123456789abcdefghjkmnpqrstvwxyz";
    unsigned char b[8];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* Not expected; fall back to time and pid. */
        uint64_t v = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
        memcpy(b, &v, sizeof b);
    }
    uint64_t v;
    memcpy(&v, b, sizeof v);
    char out[11];
    out[0] = 't';
    for (int i = 1; i < 10; i++) {
        out[i] = sym[v & 31];
        v >>= 5;
    }
    out[10] = '\0';
    return it_strdup(out);
}

char *urlenc(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = it_strdup(e);
    curl_free(e);
    return out;
}

/* ---- environment ------------------------------------------------------------ */

const char *it_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("environment variable %s is not set; run the integration tests through "
                 "tests/run.sh (it starts PostgreSQL and both daemons and exports it)",
                 name);
    return v;
}

const char *grid_url(void)
{
    return it_env("GRID_URL");
}

const char *cust_url(void)
{
    return it_env("CUST_URL");
}

static int answers(const char *base)
{
    for (int i = 0; i < 100; i++) {
        char url[600];
        snprintf(url, sizeof url, "%s/healthz", base);
        api_opts o = {.timeout_s = 2};
        api_resp *r = api_call("GET", url, &o, NULL, 0);
        int ok = r->status == 200;
        arena_free();
        if (ok) return 1;
        sleep_ms(100);
    }
    return 0;
}

int it_group_setup(void **state)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *names[] = {"GRID_URL", "CUST_URL"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (!v || !*v) {
            fprintf(stderr,
                    "# environment variable %s is not set; run the integration tests through "
                    "tests/run.sh, which starts PostgreSQL and both daemons\n",
                    names[i]);
            return -1;
        }
        if (!answers(v)) {
            fprintf(stderr, "# %s=%s does not answer GET /healthz within 10 s\n", names[i], v);
            return -1;
        }
    }
    return 0;
}

void it_filter(void)
{
    const char *f = getenv("IT_FILTER");
    if (f && *f) cmocka_set_test_filter(f);
}

int it_group_teardown(void **state)
{
    arena_free();
    curl_global_cleanup();
    return 0;
}

/* ---- parallel requests --------------------------------------------------------------- */

static void *run_job(void *p)
{
    api_job *j = p;
    j->resp = api_call(j->method, j->url, &j->opts, j->body, j->body ? strlen(j->body) : 0);
    return NULL;
}

void api_parallel(api_job *jobs, int n)
{
    pthread_t *t = must(calloc((size_t)n, sizeof *t));
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, run_job, &jobs[i]) != 0) abort();
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    free(t);
}

/* ---- HTTP ---------------------------------------------------------------------- */

static void resp_free(void *p)
{
    api_resp *r = p;
    free(r->body);
    json_decref(r->json);
    free(r);
}

typedef struct {
    char *s;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 1024;
        b->s = must(realloc(b->s, b->cap));
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    buf_add(ud, data, size * nmemb);
    return size * nmemb;
}

static void set_field(char *dst, size_t cap, const char *v, size_t vl)
{
    if (vl >= cap) vl = cap - 1;
    memcpy(dst, v, vl);
    dst[vl] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    api_resp *r = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new status line (after 100 Continue): forget earlier headers. */
        r->content_type[0] = r->etag[0] = r->location[0] = r->allow[0] = '\0';
        r->request_id[0] = r->www_authenticate[0] = r->retry_after[0] = '\0';
        r->replayed[0] = r->served_by[0] = r->connection[0] = '\0';
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon) return n;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vl = n - nl - 1;
    while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } keep[] = {
        {"Content-Type", r->content_type, sizeof r->content_type},
        {"ETag", r->etag, sizeof r->etag},
        {"Location", r->location, sizeof r->location},
        {"Allow", r->allow, sizeof r->allow},
        {"X-Request-Id", r->request_id, sizeof r->request_id},
        {"WWW-Authenticate", r->www_authenticate, sizeof r->www_authenticate},
        {"Retry-After", r->retry_after, sizeof r->retry_after},
        {"Idempotent-Replayed", r->replayed, sizeof r->replayed},
        {"X-Served-By", r->served_by, sizeof r->served_by},
        {"Connection", r->connection, sizeof r->connection},
    };
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        if (strlen(keep[i].name) == nl && strncasecmp(data, keep[i].name, nl) == 0)
            set_field(keep[i].dst, keep[i].cap, v, vl);
    }
    return n;
}

typedef struct {
    const char *data;
    size_t len, off;
} upload;

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
    upload *u = ud;
    size_t room = size * nmemb, left = u->len - u->off;
    /* Small pieces, so the chunked encoding really has many chunks. */
    size_t n = left < room ? left : room;
    if (n > 16384) n = 16384;
    memcpy(dst, u->data + u->off, n);
    u->off += n;
    return n;
}

static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value)
{
    char *line = NULL;
    if (asprintf(&line, "%s: %s", name, value) < 0) abort();
    struct curl_slist *out = curl_slist_append(h, line);
    free(line);
    return out;
}

api_resp *api_call(const char *method, const char *url, const api_opts *o, const char *body,
                   size_t len)
{
    static const api_opts none = {0};
    if (!o) o = &none;
    api_resp *r = must(calloc(1, sizeof *r));
    it_track(r, resp_free);
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->url, sizeof r->url, "%s", url);

    CURL *c = curl_easy_init();
    if (!c) abort(); /* out of memory; may run outside the test's thread */
    struct curl_slist *h = NULL;
    if (o->authorization)
        h = add_header(h, "Authorization", o->authorization);
    else if (o->key) {
        char v[300];
        snprintf(v, sizeof v, "Bearer %s", o->key);
        h = add_header(h, "Authorization", v);
    }
    if (o->content_type && !*o->content_type)
        h = curl_slist_append(h, "Content-Type:"); /* none at all */
    else if (o->content_type)
        h = add_header(h, "Content-Type", o->content_type);
    else if (body)
        h = add_header(h, "Content-Type", "application/json");
    if (o->if_match) h = add_header(h, "If-Match", o->if_match);
    if (o->idempotency_key) h = add_header(h, "Idempotency-Key", o->idempotency_key);
    if (o->request_id) h = add_header(h, "X-Request-Id", o->request_id);
    for (const char *const *x = o->headers; x && *x; x++) h = curl_slist_append(h, *x);
    h = curl_slist_append(h, o->expect_continue ? "Expect: 100-continue" : "Expect:");
    if (o->chunked) h = curl_slist_append(h, "Transfer-Encoding: chunked");

    buf rb = {0};
    upload up = {body, len, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (body && o->chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (strcmp(method, "GET") == 0 && !body)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);

    double t0 = now_s();
    CURLcode rc = curl_easy_perform(c);
    r->seconds = now_s() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->transport_error = (int)rc;
    if (rc != CURLE_OK)
        snprintf(r->error, sizeof r->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);

    r->body = rb.s ? rb.s : must(strdup(""));
    r->len = rb.len;
    if (r->len) r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    return r;
}

static api_resp *simple(const char *method, const char *base, const char *path, const char *key,
                        const char *json_body)
{
    char *url = strf("%s%s", base, path);
    api_opts o = {.key = key};
    return api_call(method, url, &o, json_body, json_body ? strlen(json_body) : 0);
}

api_resp *api_get(const char *base, const char *path, const char *key)
{
    return simple("GET", base, path, key, NULL);
}

api_resp *api_post(const char *base, const char *path, const char *key, const char *json_body)
{
    return simple("POST", base, path, key, json_body);
}

api_resp *api_patch(const char *base, const char *path, const char *key, const char *json_body)
{
    return simple("PATCH", base, path, key, json_body);
}

api_resp *api_delete(const char *base, const char *path, const char *key)
{
    return simple("DELETE", base, path, key, NULL);
}

void api_dump(const api_resp *r)
{
    fprintf(stderr, "# %s %s -> %ld%s%s (%.3f s)\n#   Content-Type: %s\n#   body: %.2000s\n",
            r->method, r->url, r->status, r->transport_error ? ", transport error: " : "",
            r->transport_error ? r->error : "", r->seconds, r->content_type, r->body);
}

json_t *list_items(const api_resp *r)
{
    assert_status(r, 200);
    json_t *items = json_object_get(r->json, "items");
    if (!json_is_array(items) || !json_object_get(r->json, "next")) {
        api_dump(r);
        fail_msg("%s %s: not a list answer {\"items\": [...], \"next\"}", r->method, r->url);
    }
    return items;
}

const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

long long jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

int list_has_code(const api_resp *r, const char *code)
{
    json_t *items = list_items(r);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *c = jstr(it, "code");
        if (c && strcmp(c, code) == 0) return 1;
    }
    return 0;
}

int problem_names_field(const api_resp *r, const char *field)
{
    json_t *errors = json_object_get(r->json, "errors");
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *f = jstr(e, "field"), *m = jstr(e, "message");
        if (f && m && *m && strcmp(f, field) == 0) return 1;
    }
    return 0;
}

int it_is_problem(const api_resp *r, int status)
{
    if (strncasecmp(r->content_type, "application/problem+json", 24) != 0) return 0;
    if (!json_is_object(r->json)) return 0;
    return json_is_string(json_object_get(r->json, "type")) &&
           json_is_string(json_object_get(r->json, "title")) &&
           jint(r->json, "status") == status && json_is_string(json_object_get(r->json, "detail"));
}

int is_rfc3339_utc(const char *s)
{
    static regex_t re;
    static int compiled;
    if (!s) return 0;
    if (!compiled) {
        if (regcomp(&re,
                    "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]+)?Z$",
                    REG_EXTENDED | REG_NOSUB) != 0)
            fail_msg("regcomp failed");
        compiled = 1;
    }
    return regexec(&re, s, 0, NULL, 0) == 0;
}

double rfc3339_seconds(const char *s)
{
    if (!is_rfc3339_utc(s)) fail_msg("'%s' is not an RFC 3339 UTC timestamp", s ? s : "(null)");
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) fail_msg("cannot parse '%s'", s);
    double frac = *rest == '.' ? strtod(rest, NULL) : 0;
    return (double)timegm(&tm) + frac;
}

/* ---- codes --------------------------------------------------------------------- */

char *mint_code(const char *prefix)
{
    char code[BIZCODE_LEN + 1];
    bizcode_mint(prefix, code);
    return it_strdup(code);
}

char *spoil_check(const char *code)
{
    static const char sym[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char *out = it_strdup(code);
    size_t n = strlen(out);
    const char *at = strchr(sym, toupper((unsigned char)out[n - 1]));
    if (!at) fail_msg("%s does not end in a Crockford symbol", code);
    out[n - 1] = sym[(at - sym + 1) % 32];
    return out;
}

/* ---- objects ------------------------------------------------------------------- */

api_resp *create_ok(const char *base, const char *collection, const char *key, const char *body)
{
    api_resp *r = api_post(base, strf("/v1/%s", collection), key, body);
    if (r->status != 201 || !jstr(r->json, "code")) {
        api_dump(r);
        fail_msg("creating in %s/v1/%s failed: status %ld", base, collection, r->status);
    }
    return r;
}

char *mk(const char *base, const char *collection, const char *key, json_t *body)
{
    return it_strdup(jstr(create_ok(base, collection, key, jdump(body))->json, "code"));
}

void link_admin(const char *base, const char *kind, const char *from, const char *to)
{
    assert_status(api_post(base, strf("/v1/relations/%s", kind), KEY_ADMIN,
                           jdump(json_pack("{s:s, s:s}", "from", from, "to", to))),
                  201);
}

char *create_substation(const char *name)
{
    api_resp *r = create_ok(grid_url(), "substations", KEY_PRODUCTION,
                            jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0)));
    return it_strdup(jstr(r->json, "code"));
}

char *create_line(const char *key, const char *name, const char *kind, double voltage_kv)
{
    api_resp *r = create_ok(
        grid_url(), "lines", key,
        jdump(json_pack("{s:s, s:s, s:f}", "name", name, "kind", kind, "voltage_kv", voltage_kv)));
    return it_strdup(jstr(r->json, "code"));
}

char *create_address(void)
{
    api_resp *r = create_ok(cust_url(), "addresses", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s, s:s, s:s}", "province", "浙江省", "city",
                                            "杭州市", "district", "西湖区", "detail", uniq())));
    return it_strdup(jstr(r->json, "code"));
}

char *create_customer(const char *name, const char *address)
{
    json_t *b = json_pack("{s:s, s:s}", "name", name, "category", "lv_resident");
    if (address) json_object_set_new(b, "address", json_string(address));
    api_resp *r = create_ok(cust_url(), "customers", KEY_MARKETING, jdump(b));
    return it_strdup(jstr(r->json, "code"));
}

long long version_of(const char *base, const char *collection, const char *code)
{
    api_resp *r = api_get(base, strf("/v1/%s/%s", collection, code), KEY_DISPATCH);
    assert_status(r, 200);
    return jint(r->json, "version");
}

size_t count_where(const char *base, const char *collection, const char *query)
{
    api_resp *r = api_get(base, strf("/v1/%s?%s&limit=1000", collection, query), KEY_DISPATCH);
    return json_array_size(list_items(r));
}

/* ---- processes --------------------------------------------------------------------- */

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Logs of the daemons we started, to show when one ends badly. */
static struct {
    pid_t pid;
    char path[512];
} spawned[64];
static int nspawned;

static const char *log_of(pid_t pid)
{
    for (int i = 0; i < nspawned; i++)
        if (spawned[i].pid == pid) return spawned[i].path;
    return NULL;
}

/* Prints the end of a daemon's log on the test output. */
static void show_log_tail(pid_t pid, const char *why)
{
    const char *path = log_of(pid);
    if (!path) return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    static char tail[4096];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0, SEEK_SET);
    size_t n = fread(tail, 1, sizeof tail - 1, f);
    tail[n] = '\0';
    fclose(f);
    fprintf(stderr, "# pid %d %s; end of %s:\n", (int)pid, why, path);
    for (char *line = strtok(tail, "\n"); line; line = strtok(NULL, "\n"))
        fprintf(stderr, "#   %s\n", line);
}

pid_t daemon_spawn(const char *bin, const char *const *env, const char *log_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        for (const char *const *e = env; e && *e; e++) putenv((char *)*e);
        char *argv[] = {(char *)bin, NULL};
        execv(bin, argv);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    if (pid > 0) {
        int slot = nspawned < 64 ? nspawned++ : 63;
        spawned[slot].pid = pid;
        snprintf(spawned[slot].path, sizeof spawned[slot].path, "%s", log_path);
    }
    return pid;
}

int daemon_wait_ready(pid_t pid, const char *base, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    char url[600];
    snprintf(url, sizeof url, "%s/readyz", base);
    while (now_s() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            char why[96];
            if (WIFEXITED(st))
                snprintf(why, sizeof why, "exited with status %d before it was ready",
                         WEXITSTATUS(st));
            else
                snprintf(why, sizeof why, "died of signal %d before it was ready",
                         WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            show_log_tail(pid, why);
            return -1;
        }
        api_opts o = {.timeout_s = 2};
        api_resp *r = api_call("GET", url, &o, NULL, 0);
        if (r->status == 200) return 0;
        sleep_ms(50);
    }
    return -1;
}

pid_t spawn_daemon(const char *which, int port, const char *database_url, const char *peer_url,
                   const char *log_name)
{
    return spawn_daemon_env(which, port, database_url, peer_url, log_name, NULL);
}

pid_t spawn_daemon_env(const char *which, int port, const char *database_url,
                       const char *peer_url, const char *log_name, const char *const *more)
{
    int grid = strcmp(which, "grid") == 0;
    const char *repo = it_env("REPO_ROOT");
    const char *bin = it_env(grid ? "GRID_BIN" : "CUST_BIN");
    const char *apps = getenv("APPS_FILE");
    const char *policy = getenv("POLICY_FILE");
    const char *run_dir = it_env("RUN_DIR");
    const char *env[] = {
        strf("PORT=%d", port),
        "BIND_ADDR=127.0.0.1",
        strf("DATABASE_URL=%s", database_url),
        strf("PEER_URL=%s", peer_url),
        apps && *apps ? strf("APPS_FILE=%s", apps) : strf("APPS_FILE=%s/config/apps.dev.json", repo),
        policy && *policy ? strf("POLICY_FILE=%s", policy)
                          : strf("POLICY_FILE=%s/config/policy.json", repo),
        strf("SCHEMA_DIR=%s/schema/%s", repo, grid ? "grid" : "cust"),
        "LOG_LEVEL=info",
    };
    /* The fixed settings, then the caller's: a later NAME=value wins. */
    enum { FIXED = sizeof env / sizeof *env, MORE_MAX = 32 };
    const char *all[FIXED + MORE_MAX + 1];
    size_t n = 0;
    for (; n < FIXED; n++) all[n] = env[n];
    for (const char *const *m = more; m && *m; m++) {
        if (n == FIXED + MORE_MAX) fail_msg("more than %d extra settings for a daemon", MORE_MAX);
        all[n++] = *m;
    }
    all[n] = NULL;
    return daemon_spawn(bin, all, strf("%s/%s.log", run_dir, log_name));
}

pid_t start_daemon(const char *which, int port, const char *database_url, const char *peer_url,
                   const char *log_name)
{
    return start_daemon_env(which, port, database_url, peer_url, log_name, NULL);
}

pid_t start_daemon_env(const char *which, int port, const char *database_url,
                       const char *peer_url, const char *log_name, const char *const *more)
{
    pid_t pid = spawn_daemon_env(which, port, database_url, peer_url, log_name, more);
    if (pid < 0) return -1;
    if (daemon_wait_ready(pid, strf("http://127.0.0.1:%d", port), 30) != 0) {
        fprintf(stderr, "# %s-svc on port %d did not become ready; see %s/%s.log\n", which, port,
                it_env("RUN_DIR"), log_name);
        daemon_kill(pid);
        return -1;
    }
    return pid;
}

int daemon_wait_exit(pid_t pid, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
            char why[96];
            if (WIFEXITED(st))
                snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(st));
            else
                snprintf(why, sizeof why, "died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            show_log_tail(pid, why);
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        if (w < 0) return -1;
        if (now_s() >= deadline) break;
        sleep_ms(20);
    }
    show_log_tail(pid, "did not exit in time and is killed");
    daemon_kill(pid);
    return -1;
}

int daemon_stop(pid_t pid, double timeout_s)
{
    if (pid <= 0) return -1;
    if (kill(pid, SIGTERM) != 0) return -1;
    return daemon_wait_exit(pid, timeout_s);
}

void daemon_kill(pid_t pid)
{
    if (pid <= 0) return;
    int st;
    if (waitpid(pid, &st, WNOHANG) != 0) return; /* already reaped or exited now */
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

/* ---- raw sockets ----------------------------------------------------------------- */

static void close_fd(void *p)
{
    close((int)(intptr_t)p - 1);
}

int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    it_track((void *)(intptr_t)(fd + 1), close_fd); /* +1: fd 0 is not NULL */
    return fd;
}

int raw_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Content-Length of a header block, or -1. */
static long content_length(const char *head, size_t head_len)
{
    const char *p = head;
    const char *end = head + head_len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break;
        if ((size_t)(eol - p) > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
            return strtol(p + 15, NULL, 10);
        p = eol + 1;
    }
    return -1;
}

char *raw_read_response(int fd, double timeout_s)
{
    buf b = {0};
    buf_add(&b, "", 0);
    double deadline = now_s() + timeout_s;
    for (;;) {
        const char *sep = strstr(b.s, "\r\n\r\n");
        if (sep) {
            size_t head = (size_t)(sep - b.s) + 4;
            long cl = content_length(b.s, head);
            if (cl >= 0 && b.len >= head + (size_t)cl) break;
        }
        double left = deadline - now_s();
        if (left <= 0) break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* EOF or error */
        buf_add(&b, chunk, (size_t)n);
    }
    return it_track(b.s, free);
}

int raw_status(const char *response)
{
    int status;
    if (!response || sscanf(response, "HTTP/1.%*d %d", &status) != 1) return -1;
    return status;
}

const char *raw_body(const char *response)
{
    const char *sep = response ? strstr(response, "\r\n\r\n") : NULL;
    return sep ? sep + 4 : NULL;
}

/* ---- metrics ------------------------------------------------------------------------ */

double metric_sum(const char *text, const char *name)
{
    size_t nl = strlen(name);
    double sum = 0;
    int found = 0;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && p[0] != '#' && strncmp(p, name, nl) == 0 && (p[nl] == '{' || p[nl] == ' ')) {
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1), p);
            const char *sp = strrchr(line, ' ');
            if (sp) {
                sum += strtod(sp + 1, NULL);
                found = 1;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return found ? sum : -1;
}

/* ---- PostgreSQL ---------------------------------------------------------------------- */

static void pg_finish(void *p)
{
    PQfinish(p);
}

static void pg_clear(void *p)
{
    PQclear(p);
}

PGconn *pg_admin(const char *dbname)
{
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *vals[] = {"127.0.0.1", it_env("PGPORT"), "postgres", dbname, "10", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    if (!c) fail_msg("PQconnectdbParams returned NULL");
    it_track(c, pg_finish);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect as postgres to %s: %s", dbname, PQerrorMessage(c));
    return c;
}

void pg_drop_scratch(char *name)
{
    if (!name[0]) return;
    const char *port = getenv("PGPORT");
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *vals[] = {"127.0.0.1", port ? port : "", "postgres", "postgres", "10", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    if (PQstatus(c) == CONNECTION_OK) {
        char sql[160];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            fprintf(stderr, "# could not drop %s: %s", name, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "# could not drop %s: %s", name, PQerrorMessage(c));
    }
    PQfinish(c);
    name[0] = '\0';
}

/* Tracks r; fails the test unless it is a success. */
static PGresult *result_ok(PGresult *r, const char *sql)
{
    it_track(r, pg_clear);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQresultErrorMessage(r));
    return r;
}

PGresult *pg_ok(PGconn *c, const char *sql)
{
    return result_ok(PQexec(c, sql), sql);
}

void pg_sent_ok(PGconn *c, const char *sql)
{
    PGresult *r;
    while ((r = PQgetResult(c))) result_ok(r, sql);
}

int pg_script(const char *cmd)
{
    const char *script = it_env("PG_SCRIPT");
    const char *run_dir = it_env("RUN_DIR");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(2, 1); /* keep the TAP stream on stdout clean */
        setenv("RUN_DIR", run_dir, 1);
        execl(script, script, cmd, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t it_extra[2] = {-1, -1};

int it_stop_extras(void **state)
{
    for (int i = 0; i < 2; i++) {
        daemon_kill(it_extra[i]);
        it_extra[i] = -1;
    }
    return it_teardown(state);
}

double peer_requests_total(const char *base)
{
    api_resp *r = api_get(base, "/metrics", NULL);
    assert_status(r, 200);
    double v = metric_sum(r->body, "peer_requests_total");
    if (v < 0) fail_msg("%s/metrics has no peer_requests_total", base);
    return v;
}

const char *db_name_of(const char *url_var)
{
    const char *url = it_env(url_var);
    const char *slash = strrchr(url, '/');
    if (!slash || !slash[1]) fail_msg("%s=%s names no database", url_var, url);
    char *name = it_strdup(slash + 1);
    name[strcspn(name, "?")] = '\0';
    return name;
}
