/* service.c -- see service.h. */
#include "service.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/about.h"
#include "engine/health.h"
#include "engine/resource.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "net/statics.h"
#include "store/migrate.h"
#include "model/catalogue_check.h"
#include "engine/openapi.h"
#include "engine/proxy.h"
#include "engine/search.h"
#include "engine/events.h"
#include "topology/areas.h"
#include "topology/trace.h"

/* ---- configuration -------------------------------------------------------- */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static int env_int(const char *name, int dflt, int min, int max, int *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = dflt;
        return OK;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < min || n > max) {
        fprintf(stderr, "%s must be an integer from %d to %d, not '%s'\n", name, min, max, v);
        return ERR;
    }
    *out = (int)n;
    return OK;
}

/* A fraction strictly between 0 and 1, e.g. 0.10. */
static int env_fraction(const char *name, double dflt, double *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = dflt;
        return OK;
    }
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x > 0 && x < 1)) {
        fprintf(stderr, "%s must be a fraction between 0 and 1, e.g. 0.10, not '%s'\n", name, v);
        return ERR;
    }
    *out = x;
    return OK;
}

static int load_config(const service_def *def, service_config *c)
{
    static char peer_default[64];
    snprintf(peer_default, sizeof peer_default, "http://127.0.0.1:%d",
             def->id == SVC_GRID ? 8082 : 8081);
    c->bind_addr = env_or("BIND_ADDR", "127.0.0.1");
    c->database_url = env_or("DATABASE_URL", NULL);
    c->database_read_url = env_or("DATABASE_READ_URL", NULL);
    c->datahub_url = env_or("DATAHUB_URL", NULL);
    c->peer_url = env_or("PEER_URL", peer_default);
    c->apps_file = env_or("APPS_FILE", "config/apps.dev.json");
    c->policy_file = env_or("POLICY_FILE", "config/policy.json");
    c->schema_dir = env_or("SCHEMA_DIR", def->default_schema_dir);
    c->log_level = env_or("LOG_LEVEL", "info");
    c->console_dir = env_or("CONSOLE_DIR", NULL);
    int body_kib, import_mib, answer_mib;
    if (env_int("PORT", def->default_port, 0, 65535, &c->port) != OK ||
        env_int("HTTP_THREADS", 4, 1, 256, &c->http_threads) != OK ||
        env_int("PEER_WORKERS", 8, 1, 1024, &c->peer_workers) != OK ||
        env_int("DB_POOL_SIZE", c->http_threads, 1, 512, &c->db_pool_size) != OK ||
        env_int("LOCAL_WORKERS", (c->db_pool_size + 1) / 2, 1, 1024, &c->local_workers) != OK ||
        env_int("MAX_CONNECTIONS", 4096, 16, 1000000, &c->max_connections) != OK ||
        env_int("DB_STATEMENT_TIMEOUT_MS", 5000, 1, 3600000, &c->db_statement_timeout_ms) != OK ||
        env_int("DB_ACQUIRE_TIMEOUT_MS", 2000, 1, 600000, &c->db_acquire_timeout_ms) != OK ||
        env_int("BODY_LIMIT_KIB", 1024, 1, 1024 * 1024, &body_kib) != OK ||
        env_int("IMPORT_LIMIT_MIB", 256, 1, 4096, &import_mib) != OK ||
        env_int("PEER_TIMEOUT_MS", 5000, 1, 600000, &c->peer_timeout_ms) != OK ||
        env_int("PEER_CONNECT_TIMEOUT_MS", 1000, 1, 600000, &c->peer_connect_timeout_ms) != OK ||
        env_int("PEER_ANSWER_LIMIT_MIB", 64, 1, 4096, &answer_mib) != OK ||
        env_int("SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000, &c->shutdown_timeout_ms) != OK ||
        env_int("SHUTDOWN_GRACE_MS", 0, 0, 600000, &c->shutdown_grace_ms) != OK ||
        env_int("EVENTS_KEEP_HOURS", 168, 0, 87600, &c->events_keep_hours) != OK ||
        env_int("PLANNED_NOTICE_HOURS", 168, 0, 8760, &c->planned_notice_hours) != OK ||
        env_int("PREDICT_MIN_CALLS", 3, 1, 10000, &c->predict_min_calls) != OK ||
        env_int("PREDICT_WINDOW_HOURS", 24, 1, 8760, &c->predict_window_hours) != OK ||
        env_int("EVENTS_PRUNE_S", 60, 1, 86400, &c->events_prune_s) != OK ||
        env_int("EVENTS_HEARTBEAT_S", 15, 1, 3600, &c->events_heartbeat_s) != OK ||
        env_int("DB_WAIT_S", 30, 0, 3600, &c->db_wait_s) != OK ||
        env_int("DATAHUB_POOL_SIZE", 2, 1, 64, &c->datahub_pool_size) != OK ||
        env_int("DATAHUB_STATEMENT_TIMEOUT_MS", 30000, 1, 3600000,
                &c->datahub_statement_timeout_ms) != OK ||
        env_fraction("LINE_LOSS_HIGH", 0.10, &c->line_loss_high) != OK)
        return ERR;
    c->body_limit = (size_t)body_kib * 1024;
    c->bulk_limit = (size_t)import_mib << 20;
    c->peer_answer_limit = (size_t)answer_mib << 20;
    if (!c->database_url) {
        fprintf(stderr, "DATABASE_URL is required, e.g. postgresql://user@127.0.0.1:5432/db\n");
        return ERR;
    }
    return OK;
}

/* ---- built-in routes -------------------------------------------------------- */

static void healthz(request *req, void *ctx)
{
    service *svc = ctx;
    http_json(req, 200, json_pack("{s:s, s:s}", "status", "ok", "service", svc->name));
}

/* What the readiness thread found last (health.h): it answers at once. */
static void readyz(request *req, void *ctx)
{
    service *svc = ctx;
    int draining = http_draining(req->server);
    health_report hr;
    health_read(svc->health, &hr);
    /* Not the replica's state: while it is down, reads go to the primary. */
    int ready = !draining && strcmp(hr.database, "down") != 0;
    http_json(req, ready ? 200 : 503,
              json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "status",
                        draining ? "draining" : ready ? "ready" : "unavailable", "service",
                        svc->name, "database", hr.database, "replica", hr.replica, "migrations",
                        "applied", "peer", "url", peer_base_url(svc->peer_probe), "state",
                        hr.peer));
}

static long resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void metrics_page(request *req, void *ctx)
{
    service *svc = ctx;
    sbuf out = {0};
    metrics_render(svc->metrics, &out);
    db_stats ds;
    db_pool_stats(svc->db, &ds);
    peer_stats ps;
    peer_get_stats(svc->peer, &ps);
    sb_appendf(&out,
               "# HELP db_pool_size Database connections in the pool.\n# TYPE db_pool_size gauge\n"
               "db_pool_size %d\n"
               "# HELP db_pool_in_use Connections handed out.\n# TYPE db_pool_in_use gauge\n"
               "db_pool_in_use %d\n"
               "# HELP db_pool_waiting Requests waiting for a connection.\n"
               "# TYPE db_pool_waiting gauge\ndb_pool_waiting %d\n"
               "# HELP db_pool_acquire_timeouts_total Requests refused with 503: no connection "
               "in time.\n# TYPE db_pool_acquire_timeouts_total counter\n"
               "db_pool_acquire_timeouts_total %lu\n"
               "# HELP db_reconnects_total Connections reopened after being lost.\n"
               "# TYPE db_reconnects_total counter\ndb_reconnects_total %lu\n"
               "# HELP peer_requests_total Requests sent to the peer platform.\n"
               "# TYPE peer_requests_total counter\npeer_requests_total %lu\n"
               "# HELP peer_failures_total Peer requests that got no answer.\n"
               "# TYPE peer_failures_total counter\npeer_failures_total %lu\n"
               "# HELP peer_connections Connections to the peer platform, in use or idle.\n"
               "# TYPE peer_connections gauge\npeer_connections %d\n"
               "# HELP process_resident_memory_bytes Resident memory.\n"
               "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n",
               ds.size, ds.in_use, ds.waiting, ds.acquire_timeouts, ds.resets, ps.requests,
               ps.failures, ps.handles, resident_bytes());
    replica_metrics(svc->reads, &out);
    size_t len = out.len;
    http_raw(req, 200, "text/plain; version=0.0.4", sb_steal(&out), len);
}

static void openapi_page(request *req, void *ctx)
{
    http_json(req, 200, openapi_document(ctx));
}

/* The console (DESIGN §12): public, for its files hold no data; the key a
 * person types is sent by the console to the API, never in a URL. One
 * route for all its files, so /metrics has one line for them. */
static void console_file(request *req, void *ctx)
{
    service *svc = ctx;
    statics_answer(req, svc->console, http_param(req, 0));
}

static void console_root(request *req, void *ctx)
{
    statics_redirect(req, "/console/");
}

void service_routes(service *svc)
{
    router *r = svc->router = router_new();
    router_add(r, "GET", "/healthz", healthz, svc, ROUTE_PUBLIC, "Liveness: the process answers");
    router_add(r, "GET", "/readyz", readyz, svc, ROUTE_PUBLIC,
               "Readiness: database reachable, migrations applied, peer state");
    router_add(r, "GET", "/metrics", metrics_page, svc, ROUTE_PUBLIC, "Prometheus metrics");
    router_add(r, "GET", "/openapi.json", openapi_page, svc, ROUTE_PUBLIC,
               "This API as OpenAPI 3.1");
    router_add(r, "GET", "/console", console_root, svc, ROUTE_PUBLIC | ROUTE_UNLISTED,
               "The console: redirects to /console/");
    router_add(r, "GET", "/console/{path*}", console_file, svc, ROUTE_PUBLIC | ROUTE_UNLISTED,
               "The console's files");
    about_routes(svc, r);
    resource_routes(svc, r);
    relation_routes(svc, r);
    trace_routes(svc, r);
    areas_routes(svc, r);
    events_routes(svc, r);
    search_routes(svc, r);
    if (svc->def->routes) svc->def->routes(svc, r);
    proxy_routes(svc, r);
}

void service_routes_free(service *svc)
{
    resource_cleanup(svc);
    relation_cleanup(svc);
    proxy_cleanup(svc);
    trace_cleanup(svc);
    search_cleanup(svc);
    if (svc->def->routes_free) svc->def->routes_free(svc);
    router_free(svc->router);
    svc->router = NULL;
}

/* ---- start-up and shutdown --------------------------------------------------- */

/* The console's files, read once: CONSOLE_DIR, else console/ where a
 * checkout (build/grid-svc, build-san/...) or the image (/usr/local/bin, with the files
 * in /usr/local/share/yingpei) has it, else ./console. Without them the
 * daemon serves all the rest. */
static void load_console(service *svc)
{
    char exe[PATH_MAX], beside[PATH_MAX + 32], shared[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(beside, sizeof beside, "%s/../console", exe);
    snprintf(shared, sizeof shared, "%s/../share/yingpei/console", exe);
    const char *given[] = {svc->cfg.console_dir};
    const char *looked[] = {beside, shared, "console"};
    const char **dirs = svc->cfg.console_dir ? given : looked;
    size_t ndirs = svc->cfg.console_dir ? 1 : ARRAY_LEN(looked);
    char why[PATH_MAX + 128] = "";
    for (size_t i = 0; i < ndirs && !svc->console; i++) {
        if (!svc->cfg.console_dir && access(dirs[i], F_OK) != 0) continue;
        svc->console = statics_load(dirs[i], why, sizeof why);
        if (svc->console)
            log_info("console: %d files from %s, served at /console/",
                     statics_count(svc->console), dirs[i]);
    }
    if (!svc->console)
        log_warn("console: not installed (%s): /console/ answers 404",
                 why[0] ? why : "no console/ beside the executable nor here; set CONSOLE_DIR");
}

static int migrate(service *svc)
{
    double deadline = now_monotonic() + svc->cfg.db_wait_s;
    for (int attempt = 0;; attempt++) {
        PGconn *pg = PQconnectdb(svc->cfg.database_url);
        if (PQstatus(pg) == CONNECTION_OK) {
            int rc = migrate_apply(pg, svc->cfg.schema_dir, svc->name);
            if (rc == OK) rc = catalogue_check_database(pg, svc->def);
            PQfinish(pg);
            return rc;
        }
        if (now_monotonic() >= deadline) {
            log_error("cannot reach the database: %s", PQerrorMessage(pg));
            PQfinish(pg);
            return ERR;
        }
        if (attempt == 0) log_warn("waiting for the database: %s", PQerrorMessage(pg));
        PQfinish(pg);
        sleep(1);
    }
}

static void open_pools(service *svc)
{
    db_config dbc = {.url = svc->cfg.database_url, .app_name = svc->name,
                     .size = svc->cfg.db_pool_size,
                     .statement_timeout_ms = svc->cfg.db_statement_timeout_ms,
                     .acquire_timeout_ms = svc->cfg.db_acquire_timeout_ms, .connect_timeout_s = 2};
    svc->db = db_pool_new(&dbc);
    /* As many connections as the primary's: reads are most of the load.
     * Connecting waits for the first read, so a replica that is down at
     * start-up is only a warning then. */
    db_config rdc = dbc;
    rdc.url = svc->cfg.database_read_url;
    rdc.read_only = 1;
    rdc.quiet = 1;
    svc->reads = replica_new(rdc.url ? &rdc : NULL, svc->db);
    if (rdc.url) log_info("reads go to the read replica (DATABASE_READ_URL) while it answers");
}

static void cleanup(service *svc)
{
    health_stop(svc->health);
    events_cleanup(svc);
    statics_free(svc->console);
    metrics_free(svc->metrics);
    service_routes_free(svc);
    peer_free(svc->peer);
    peer_free(svc->peer_probe);
    replica_free(svc->reads);
    db_pool_free(svc->db);
    policy_free(svc->policy);
    auth_free(svc->auth);
    curl_global_cleanup();
}

int service_main(const service_def *def, int argc, char **argv)
{
    service svc_store = {0}, *svc = &svc_store;
    svc->def = def;
    svc->name = service_name(def->id);
    if (argc > 1) {
        fprintf(stderr, "usage: %s (configured by environment variables; see README.md)\n",
                argv[0]);
        return 2;
    }
    if (load_config(def, &svc->cfg) != OK) return 2;
    if (log_init(svc->name, svc->cfg.log_level) != OK) {
        fprintf(stderr, "LOG_LEVEL must be debug, info, warn or error\n");
        return 2;
    }
    /* Signals are taken by sigwait in this thread only; every thread started
     * from here on inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    char err[512];
    int rc = 1;
    if (!(svc->auth = auth_load(svc->cfg.apps_file, err, sizeof err)) ||
        !(svc->policy = policy_load(svc->cfg.policy_file, err, sizeof err))) {
        log_error("configuration: %s", err);
        goto out;
    }
    char decl_err[2048];
    int problems = catalogue_check(def, svc->policy, decl_err, sizeof decl_err);
    if (problems > 0) {
        log_error("%d problem%s with the declarations: %s", problems, problems > 1 ? "s" : "",
                  decl_err);
        goto out;
    }
    load_console(svc);
    if (migrate(svc) != OK) goto out;
    open_pools(svc);
    events_start(svc);
    peer_config pc = {svc->cfg.peer_url, svc->name, svc->cfg.peer_connect_timeout_ms,
                      svc->cfg.peer_timeout_ms, svc->cfg.peer_workers,
                      svc->cfg.peer_answer_limit};
    svc->peer = peer_new(&pc);
    /* The readiness thread asks the peer with a short fuse of its own, so a
     * slow peer does not hold its checks of the database up. */
    peer_config probe = {svc->cfg.peer_url, svc->name, 500, 800, 1, 1u << 16};
    svc->peer_probe = peer_new(&probe);
    svc->health = health_start(svc);
    service_routes(svc);
    svc->metrics = metrics_new(svc->router);
    http_config hc = {.service = svc->name,
                      .bind_addr = svc->cfg.bind_addr,
                      .port = svc->cfg.port,
                      .threads = svc->cfg.http_threads,
                      .peer_workers = svc->cfg.peer_workers,
                      .local_workers = svc->cfg.local_workers,
                      .max_connections = svc->cfg.max_connections,
                      .body_limit = svc->cfg.body_limit,
                      .bulk_limit = svc->cfg.bulk_limit,
                      .auth = svc->auth,
                      .metrics = svc->metrics};
    if (!(svc->http = http_start(&hc, svc->router))) goto out;
    events_listen(svc);
    log_info("%s listening on %s:%d (%d threads, %d + %d peer workers, %d local workers, %d "
             "database connections, peer %s)", svc->name, svc->cfg.bind_addr,
             http_port(svc->http), svc->cfg.http_threads, svc->cfg.peer_workers,
             svc->cfg.peer_workers, svc->cfg.local_workers, svc->cfg.db_pool_size,
             svc->cfg.peer_url);

    int sig = 0;
    sigwait(&stop, &sig);
    log_info("%s: draining in-flight requests, then stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_begin_drain(svc->http);
    if (svc->cfg.shutdown_grace_ms > 0) {
        /* Keep serving, unready, while load balancers take us out. */
        struct timespec grace = {svc->cfg.shutdown_grace_ms / 1000,
                                 (long)(svc->cfg.shutdown_grace_ms % 1000) * 1000000L};
        nanosleep(&grace, NULL);
    }
    /* Nothing wakes the event streams from here on; http_shutdown ends them. */
    events_stop(svc);
    http_shutdown(svc->http, svc->cfg.shutdown_timeout_ms / 1000.0);
    svc->http = NULL;
    log_info("stopped");
    rc = 0;
out:
    if (svc->http) http_shutdown(svc->http, 0);
    cleanup(svc);
    return rc;
}
