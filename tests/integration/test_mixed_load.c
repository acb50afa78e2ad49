/* test_mixed_load.c -- both platforms busy at once, as they are used: a
 * dispatch desk tracing on one while production traces on the other.
 *
 * A citygen city is loaded through the import API; then, for MIX_SECONDS,
 * MIX_CLIENTS connections on each platform (more than either database pool
 * has connections) send traces both ways, outage impacts, proxied reads and
 * writes that the other platform must confirm, all at the same time. Every
 * answer must be 2xx, and each platform must keep answering throughout:
 * some answer lands in every second of the run on both sides.
 *
 * Before the rule that no request holds a database connection (or any other
 * shared slot) while it waits on the peer, this stopped the pair within a
 * second: each side's connections were held by traces waiting for the
 * other side's leg, which needed a connection of its own pool. */
#include "client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MIX_CUSTOMERS 1000
#define MIX_CLIENTS 12   /* per platform; the test stack's pools hold 4 connections */
#define MIX_SECONDS 20
#define MAX_CODES 64
#define ERRORS_SHOWN 8

/* ---- the city ---------------------------------------------------------------------------- */

typedef struct {
    char *dir;
    char *substations[MAX_CODES], *lines[MAX_CODES], *access_points[MAX_CODES],
        *customers[MAX_CODES];
    int nsubstations, nlines, naccess_points, ncustomers;
    char *billed_customer, *dedicated_line; /* a line billing of the city: a pair that holds */
} city_codes;

static city_codes city;

static void run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) fail_msg("'%s' exited with %d", cmd, rc);
}

/* Up to MAX_CODES lines of a sample file, kept for the whole run. */
static int read_codes(const char *name, char **out)
{
    char *path = strf("%s/sample/%s", city.dir, name);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("citygen wrote no %s", path);
    char line[128];
    int n = 0;
    while (n < MAX_CODES && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line) out[n++] = strdup(line);
    }
    fclose(f);
    if (n == 0) fail_msg("%s is empty", path);
    return n;
}

static void read_billing(void)
{
    char *path = strf("%s/cust/line_billings.ndjson", city.dir);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("citygen wrote no %s", path);
    char line[4096];
    if (!fgets(line, sizeof line, f)) fail_msg("%s is empty", path);
    fclose(f);
    json_t *o = jkeep(json_loads(line, 0, NULL));
    if (!jstr(o, "customer") || !jstr(o, "line")) fail_msg("%s: no customer and line", path);
    city.billed_customer = strdup(jstr(o, "customer"));
    city.dedicated_line = strdup(jstr(o, "line"));
}

static int city_setup(void **state)
{
    if (it_group_setup(state) != 0) return -1;
    city.dir = strdup(strf("%s/mixcity", it_env("RUN_DIR")));
    srand((unsigned)(time(NULL) ^ getpid()));
    int seed = 10000 + rand() % 9000; /* codes and account numbers of no other city here */
    run(strf("rm -rf '%s' && '%s/citygen' --customers %d --seed %d --out '%s' >/dev/null",
             city.dir, it_env("BIN_DIR"), MIX_CUSTOMERS, seed, city.dir));
    run(strf("'%s/scripts/cityload.sh' '%s' >'%s.log' 2>&1", it_env("REPO_ROOT"), city.dir,
             city.dir));
    city.nsubstations = read_codes("substations.txt", city.substations);
    city.nlines = read_codes("lines.txt", city.lines);
    city.naccess_points = read_codes("access_points.txt", city.access_points);
    city.ncustomers = read_codes("customers_lv.txt", city.customers);
    read_billing();
    return 0;
}

static void free_codes(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
}

static int city_teardown(void **state)
{
    free_codes(city.substations, city.nsubstations);
    free_codes(city.lines, city.nlines);
    free_codes(city.access_points, city.naccess_points);
    free_codes(city.customers, city.ncustomers);
    free(city.billed_customer);
    free(city.dedicated_line);
    free(city.dir);
    return it_group_teardown(state);
}

/* ---- one client ------------------------------------------------------------------------- */

enum { GRID = 0, CUST = 1 };

typedef struct {
    int side, index;
    double t0, deadline;
    /* results: answers per second of the run, and what went wrong */
    long per_second[MIX_SECONDS + 1];
    long answers, errors;
    char shown[ERRORS_SHOWN][400];
    int nshown;
} client;

typedef struct {
    char *s;
    size_t len;
} body_buf;

static size_t keep_body(char *data, size_t size, size_t n, void *arg)
{
    body_buf *b = arg;
    size_t add = size * n;
    char *grown = realloc(b->s, b->len + add + 1);
    if (!grown) return 0;
    memcpy(grown + b->len, data, add);
    b->len += add;
    grown[b->len] = '\0';
    b->s = grown;
    return add;
}

static const char *pick(char *const *v, int n, unsigned *seed)
{
    return v[rand_r(seed) % n];
}

/* A JSON body's "code", copied into out; 0 when there is none. */
static int code_of(const char *body, char *out, size_t cap)
{
    json_t *o = json_loads(body ? body : "", 0, NULL);
    const char *code = json_string_value(json_object_get(o, "code"));
    if (code) snprintf(out, cap, "%s", code);
    json_decref(o);
    return code != NULL;
}

/* One request on the client's kept-alive connection; counts it. The body
 * is left in *answer (the caller frees it) when wanted. */
static long send_one(client *cl, CURL *c, const char *method, const char *url, const char *key,
                     const char *body, char **answer)
{
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Expect:");
    if (body) h = curl_slist_append(h, "Content-Type: application/json");
    body_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    double at = now_s() - cl->t0;
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        cl->answers++;
        int sec = (int)at;
        if (sec >= 0 && sec <= MIX_SECONDS) cl->per_second[sec]++;
    } else {
        cl->errors++;
        if (cl->nshown < ERRORS_SHOWN)
            snprintf(cl->shown[cl->nshown++], sizeof cl->shown[0], "at %.1f s: %s %s -> %ld %s %.200s",
                     at, method, url, status, rc == CURLE_OK ? "" : curl_easy_strerror(rc),
                     b.s ? b.s : "");
    }
    if (answer && rc == CURLE_OK && status >= 200 && status < 300)
        *answer = b.s;
    else
        free(b.s);
    return rc == CURLE_OK ? status : 0;
}

/* The writes each platform confirms with the other: on grid-svc a meter box
 * (made on cust-svc) hung on an access point, which grid-svc confirms with
 * cust-svc; on cust-svc a billing of the city's dedicated line, which
 * cust-svc confirms with grid-svc. */
static void write_once(client *cl, CURL *c, unsigned *seed)
{
    char url[512], body[512], mb[64];
    if (cl->side == GRID) {
        char *made = NULL;
        snprintf(url, sizeof url, "%s/v1/meter-boxes", cust_url());
        snprintf(body, sizeof body, "{\"name\": \"mixed load box\", \"rows\": 2, \"cols\": 2}");
        send_one(cl, c, "POST", url, KEY_MARKETING, body, &made);
        int ok = code_of(made, mb, sizeof mb);
        free(made);
        if (!ok) return;
        snprintf(url, sizeof url, "%s/v1/relations/accesspoint-meterbox", grid_url());
        snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\"}",
                 pick(city.access_points, city.naccess_points, seed), mb);
        send_one(cl, c, "POST", url, KEY_MARKETING, body, NULL);
    } else {
        snprintf(url, sizeof url, "%s/v1/line-billings", cust_url());
        snprintf(body, sizeof body, "{\"customer\": \"%s\", \"line\": \"%s\"}",
                 city.billed_customer, city.dedicated_line);
        send_one(cl, c, "POST", url, KEY_MARKETING, body, NULL);
    }
}

/* One request of the mix, in turn: traces that start here and cross, traces
 * that start on the other side, outage impacts, proxied reads, writes. */
static void one_of_mix(client *cl, CURL *c, unsigned *seed, int turn)
{
    const char *here = cl->side == GRID ? grid_url() : cust_url();
    const char *key = cl->side == GRID ? KEY_PRODUCTION : KEY_MARKETING;
    char url[512];
    switch (turn % 6) {
    case 0: /* down from a line: the line's customers are the other side's */
        snprintf(url, sizeof url, "%s/v1/trace/%s?direction=down", here,
                 pick(city.lines, city.nlines, seed));
        break;
    case 1: /* up from a customer: its grid chain is the other side's or ours */
        snprintf(url, sizeof url, "%s/v1/trace/%s?direction=up", here,
                 pick(city.customers, city.ncustomers, seed));
        break;
    case 2:
        snprintf(url, sizeof url, "%s/v1/outage-impact?codes=%s,%s&limit=100", here,
                 pick(city.access_points, city.naccess_points, seed),
                 pick(city.lines, city.nlines, seed));
        break;
    case 3: /* a read of the other side's object, proxied */
        if (cl->side == GRID)
            snprintf(url, sizeof url, "%s/v1/customers/%s", here,
                     pick(city.customers, city.ncustomers, seed));
        else
            snprintf(url, sizeof url, "%s/v1/lines/%s", here, pick(city.lines, city.nlines, seed));
        break;
    case 4:
        write_once(cl, c, seed);
        return;
    default: /* a whole substation now and then */
        snprintf(url, sizeof url, "%s/v1/outage-impact?codes=%s&limit=10", here,
                 pick(city.substations, city.nsubstations, seed));
        break;
    }
    send_one(cl, c, "GET", url, key, NULL, NULL);
}

static void *client_main(void *arg)
{
    client *cl = arg;
    CURL *c = curl_easy_init();
    if (!c) abort();
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    unsigned seed = (unsigned)(cl->side * 1000 + cl->index + 1);
    for (int turn = cl->index; now_s() < cl->deadline; turn++) one_of_mix(cl, c, &seed, turn);
    curl_easy_cleanup(c);
    return NULL;
}

/* ---- the test ----------------------------------------------------------------------------- */

static void both_platforms_under_mixed_load(void **state)
{
    static client clients[2 * MIX_CLIENTS];
    pthread_t threads[2 * MIX_CLIENTS];
    double t0 = now_s();
    for (int i = 0; i < 2 * MIX_CLIENTS; i++) {
        clients[i] = (client){.side = i % 2, .index = i / 2, .t0 = t0, .deadline = t0 + MIX_SECONDS};
        if (pthread_create(&threads[i], NULL, client_main, &clients[i]) != 0) abort();
    }
    for (int i = 0; i < 2 * MIX_CLIENTS; i++) pthread_join(threads[i], NULL);

    long answers[2] = {0}, errors[2] = {0}, per_second[2][MIX_SECONDS + 1] = {{0}};
    for (int i = 0; i < 2 * MIX_CLIENTS; i++) {
        const client *cl = &clients[i];
        answers[cl->side] += cl->answers;
        errors[cl->side] += cl->errors;
        for (int s = 0; s <= MIX_SECONDS; s++) per_second[cl->side][s] += cl->per_second[s];
        for (int k = 0; k < cl->nshown; k++)
            print_message("# %s client %d: %s\n", cl->side == GRID ? "grid-svc" : "cust-svc",
                          cl->index, cl->shown[k]);
    }
    const char *names[2] = {"grid-svc", "cust-svc"};
    for (int side = 0; side < 2; side++)
        print_message("# %s: %ld answers 2xx (%.0f/s), %ld others, %d + %d connections for %d s\n",
                      names[side], answers[side], answers[side] / (double)MIX_SECONDS,
                      errors[side], MIX_CLIENTS, MIX_CLIENTS, MIX_SECONDS);
    for (int side = 0; side < 2; side++) {
        if (errors[side])
            fail_msg("%s answered %ld requests with something other than 2xx (above)",
                     names[side], errors[side]);
        /* the last second is cut short by the deadline */
        for (int s = 0; s < MIX_SECONDS - 1; s++)
            if (per_second[side][s] == 0)
                fail_msg("%s answered nothing in second %d of the run", names[side], s);
    }
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(both_platforms_under_mixed_load),
    };
    return cmocka_run_group_tests(tests, city_setup, city_teardown);
}
