/* test_workorders.c -- the high-voltage new connection 高压业扩新装 across
 * both platforms: POST /v1/work-orders/{code}/transitions on cust-svc, the
 * drawing it makes on grid-svc, the roles of each step, illegal steps,
 * retries, and grid-svc failing in the middle of a step. */
#include "client.h"

#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Who takes each step (config/policy.json). */
static const struct {
    const char *step, *key, *refused_key;
} roles[] = {
    {"surveyed", KEY_MARKETING, KEY_PRODUCTION},  {"planned", KEY_MARKETING, KEY_PRODUCTION},
    {"designed", KEY_PRODUCTION, KEY_MARKETING},  {"scheduled", KEY_PRODUCTION, KEY_MARKETING},
    {"accepted", KEY_MARKETING, KEY_DISPATCH},    {"published", KEY_PRODUCTION, KEY_MARKETING},
    {"powered", KEY_MARKETING, KEY_PRODUCTION},   {"archived", KEY_MARKETING, KEY_PRODUCTION},
    {"cancelled", KEY_MARKETING, KEY_PRODUCTION},
};

static const char *key_of(const char *step)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].step, step) == 0) return roles[i].key;
    fail_msg("no step %s", step);
    return NULL;
}

/* The data each step is given in these tests. */
static char *data_of(const char *step, const char *line)
{
    if (strcmp(step, "planned") == 0)
        return strf(",\"line\": \"%s\", \"capacity_kva\": 630, \"voltage_kv\": 10, "
                    "\"metering_plan\": \"high-side metering\", \"billing_plan\": \"two-part "
                    "tariff\", \"power_on_date\": \"2027-03-01\"",
                    line);
    if (strcmp(step, "scheduled") == 0) return strf(",\"power_on_date\": \"2027-03-15\"");
    if (strcmp(step, "powered") == 0)
        return strf(",\"meter_asset_no\": \"%s\", \"meter_phase\": \"three\", \"tariff\": "
                    "\"E-HV-10\"",
                    uniq());
    return strf(",\"note\": \"%s done\"", step);
}

typedef struct {
    const char *cust, *grid; /* the platforms to talk to */
    char *line, *substation, *order, *applicant;
} process;

/* A public line under a substation, and a fresh work order on cust. */
static void open_order(process *p, const char *cust, const char *grid)
{
    p->cust = cust;
    p->grid = grid;
    p->substation = create_substation(strf("WO SS %s", uniq()));
    p->line = create_line(KEY_PRODUCTION, strf("WO LN %s", uniq()), "public", 10);
    assert_status(api_post(grid_url(), "/v1/relations/substation-line", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s, s:s}", "from", p->substation, "to",
                                           p->line, "role", "source"))),
                  201);
    p->applicant = strf("Applicant %s", uniq());
    api_resp *r = create_ok(cust, "work-orders", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s, s:s, s:s}", "type", "hv_new_connection",
                                            "applicant", p->applicant, "phone", "0571-8888",
                                            "address", create_address())));
    assert_string_equal(jstr(r->json, "step"), "applied");
    p->order = it_strdup(jstr(r->json, "code"));
}

static char *jstr_dup(const json_t *o, const char *key)
{
    return it_strdup(jstr(o, key));
}

static api_resp *take_as(const process *p, const char *step, const char *key, const char *data)
{
    return api_post(p->cust, strf("/v1/work-orders/%s/transitions", p->order), key,
                    strf("{\"to\": \"%s\"%s}", step, data ? data : ""));
}

/* Takes the step with its role's key; asserts 200 and the new step. */
static json_t *take(const process *p, const char *step)
{
    api_resp *r = take_as(p, step, key_of(step), data_of(step, p->line));
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "step"), step);
    assert_string_equal(jstr(r->json, "code"), p->order);
    return r->json;
}

static void take_until(const process *p, const char *last)
{
    static const char *const order[] = {"surveyed", "planned", "designed", "scheduled",
                                        "accepted", "published", "powered", "archived", NULL};
    for (const char *const *s = order; *s; s++) {
        take(p, *s);
        if (strcmp(*s, last) == 0) return;
    }
}

static json_t *get_json(const char *base, const char *path, int want)
{
    api_resp *r = api_get(base, path, KEY_DISPATCH);
    assert_status(r, want);
    return r->json;
}

static const char *order_member(const process *p, const char *name)
{
    return jstr(get_json(cust_url(), strf("/v1/work-orders/%s", p->order), 200), name);
}

/* A current link's status, or "" when there is none. */
static const char *link_status(const char *kind, const char *from, const char *to)
{
    json_t *items =
        list_items(api_get(grid_url(),
                           strf("/v1/relations/%s?from=%s&to=%s&status=design,operational", kind,
                                from, to),
                           KEY_DISPATCH));
    if (json_array_size(items) == 0) return "";
    assert_int_equal(json_array_size(items), 1);
    return jstr(json_array_get(items, 0), "status");
}

/* Events of type about code on base since the newest one before. */
static int events_of(const char *base, const char *type, const char *code)
{
    int n = 0;
    long long after = 0;
    for (;;) {
        api_resp *r = api_get(base, strf("/v1/events?after=%lld&types=%s&limit=1000", after, type),
                              KEY_DISPATCH);
        if (r->status == 410) {
            after = jint(r->json, "resume_after");
            continue;
        }
        assert_status(r, 200);
        size_t i;
        json_t *e;
        json_array_foreach(list_items(r), i, e) {
            if (strcmp(jstr(e, "code"), code) == 0) n++;
            after = jint(e, "seq");
        }
        if (json_is_null(json_object_get(r->json, "next"))) return n;
    }
}

static void the_whole_process(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    take(&p, "surveyed");

    /* planned: the customer (pending) and its supply point, on cust-svc */
    json_t *o = take(&p, "planned");
    const char *cu = it_strdup(jstr(o, "customer")), *sp = it_strdup(jstr(o, "supply_point"));
    assert_string_equal(jstr(o, "line"), p.line);
    assert_string_equal(jstr(o, "power_on_date"), "2027-03-01");
    json_t *customer = get_json(cust_url(), strf("/v1/customers/%s", cu), 200);
    assert_string_equal(jstr(customer, "status"), "pending");
    assert_string_equal(jstr(customer, "category"), "hv");
    assert_string_equal(jstr(customer, "name"), p.applicant);
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/supply-points/%s", sp), 200),
                             "customer"),
                        cu);
    assert_int_equal(events_of(cust_url(), "workorder.plan_pushed", p.order), 1);

    /* designed: the red drawing on grid-svc */
    o = take(&p, "designed");
    const char *tr = it_strdup(jstr(o, "transformer"));
    json_t *t = get_json(grid_url(), strf("/v1/transformers/%s", tr), 200);
    assert_string_equal(jstr(t, "status"), "design");
    assert_string_equal(jstr(t, "kind"), "dedicated");
    assert_int_equal((int)json_real_value(json_object_get(t, "capacity_kva")), 630);
    assert_string_equal(link_status("line-transformer", p.line, tr), "design");
    assert_string_equal(link_status("equipment-supplypoint", tr, sp), "design");
    assert_string_equal(link_status("transformer-customer", tr, cu), "design");
    json_t *d = get_json(grid_url(), strf("/v1/drawings/%s", p.order), 200);
    assert_string_equal(jstr(d, "status"), "design");
    assert_string_equal(jstr(d, "transformer"), tr);
    /* a red drawing is not yet on the operational trace */
    json_t *nodes = json_object_get(
        get_json(grid_url(), strf("/v1/trace/%s?direction=up", cu), 200), "nodes");
    assert_null(strstr(jdump(json_incref(nodes)), tr));

    take(&p, "scheduled");
    assert_string_equal(order_member(&p, "power_on_date"), "2027-03-15");
    take(&p, "accepted");

    /* published: the black drawing, and the event cust-svc recorded */
    o = take(&p, "published");
    assert_true(is_rfc3339_utc(jstr(o, "drawing_published_at")));
    assert_string_equal(jstr(get_json(grid_url(), strf("/v1/transformers/%s", tr), 200), "status"),
                        "operational");
    assert_string_equal(link_status("line-transformer", p.line, tr), "operational");
    assert_string_equal(link_status("equipment-supplypoint", tr, sp), "operational");
    assert_string_equal(link_status("transformer-customer", tr, cu), "operational");
    assert_int_equal(events_of(grid_url(), "drawing.published", p.order), 1);

    /* powered: metering, billing, and an active customer with a whole chain */
    o = take(&p, "powered");
    const char *mp = jstr(o, "metering_point"), *mt = jstr(o, "meter"), *tb = jstr(o, "billing");
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/customers/%s", cu), 200), "status"),
                        "active");
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/supply-points/%s", sp), 200),
                             "status"),
                        "active");
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/metering-points/%s", mp), 200),
                             "customer"),
                        cu);
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/transformer-billings/%s", tb), 200),
                             "transformer"),
                        tr);
    assert_int_equal(json_array_size(list_items(api_get(
                         cust_url(),
                         strf("/v1/relations/meter-meteringpoint?from=%s&to=%s", mt, mp),
                         KEY_DISPATCH))),
                     1);
    char *trace = jdump(json_incref(json_object_get(
        get_json(cust_url(), strf("/v1/trace/%s?direction=up", cu), 200), "nodes")));
    assert_non_null(strstr(trace, sp));
    assert_non_null(strstr(trace, tr));
    assert_non_null(strstr(trace, p.line));
    assert_non_null(strstr(trace, p.substation));

    take(&p, "archived");
    json_t *steps = get_json(cust_url(), strf("/v1/work-orders/%s/transitions", p.order), 200);
    assert_string_equal(jstr(steps, "step"), "archived");
    assert_int_equal(json_array_size(json_object_get(steps, "legal")), 0);
    json_t *items = json_object_get(steps, "items");
    assert_int_equal(json_array_size(items), 8);
    assert_string_equal(jstr(json_array_get(items, 0), "step"), "surveyed");
    assert_true(is_rfc3339_utc(jstr(json_array_get(items, 0), "at")));
    assert_string_equal(jstr(json_array_get(items, 2), "app"), "pms"); /* designed */
    assert_string_equal(jstr(json_array_get(items, 7), "step"), "archived");
}

/* 409 naming the legal steps, and the work order unchanged. */
static void assert_illegal(const process *p, const char *step, const char *legal)
{
    long long v = version_of(cust_url(), "work-orders", p->order);
    api_resp *r = take_as(p, step, KEY_ADMIN, data_of(step, p->line));
    assert_problem(r, 409);
    assert_string_equal(jdump(json_incref(json_object_get(r->json, "legal"))), legal);
    assert_int_equal(version_of(cust_url(), "work-orders", p->order), v);
}

/* Every step from every step: what the process allows (the happy path
 * takes those) and, for everything else, 409 naming exactly these. A step
 * already taken is a retry, not an illegal step. */
static const struct {
    const char *step, *legal;
} process_map[] = {
    {"applied", "[\"surveyed\",\"cancelled\"]"},   {"surveyed", "[\"planned\",\"cancelled\"]"},
    {"planned", "[\"designed\",\"cancelled\"]"},   {"designed", "[\"scheduled\",\"cancelled\"]"},
    {"scheduled", "[\"accepted\",\"cancelled\"]"}, {"accepted", "[\"published\",\"cancelled\"]"},
    {"published", "[\"powered\",\"cancelled\"]"},  {"powered", "[\"archived\"]"},
    {"archived", "[]"},                              {"cancelled", "[]"},
};
#define NSTEPS ((int)(sizeof process_map / sizeof *process_map))

static void illegal_transitions_list_the_legal_ones(void **state)
{
    (void)state;
    for (int at = 0; at < NSTEPS; at++) {
        process p;
        open_order(&p, cust_url(), grid_url());
        const char *now = process_map[at].step, *legal = process_map[at].legal;
        if (strcmp(now, "cancelled") == 0)
            take(&p, "cancelled");
        else if (at > 0)
            take_until(&p, now);
        for (int to = 1; to < NSTEPS; to++) {
            const char *step = process_map[to].step;
            int taken = strcmp(now, "cancelled") == 0 ? to == at : to <= at;
            if (taken || strstr(legal, strf("\"%s\"", step))) continue;
            assert_illegal(&p, step, legal);
        }
        assert_string_equal(order_member(&p, "step"), now);
    }
}

static void each_step_is_its_roles(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    for (size_t i = 0; i < sizeof roles / sizeof roles[0] - 1; i++) {
        const char *step = roles[i].step;
        long long v = version_of(cust_url(), "work-orders", p.order);
        api_resp *r = take_as(&p, step, roles[i].refused_key, data_of(step, p.line));
        assert_problem(r, 403);
        assert_str_contains(jstr(r->json, "detail"), step);
        r = take_as(&p, step, KEY_DISPATCH, data_of(step, p.line));
        assert_problem(r, 403);
        assert_int_equal(version_of(cust_url(), "work-orders", p.order), v);
        take(&p, step);
    }
    /* acceptance is both marketing's and production's */
    process q;
    open_order(&q, cust_url(), grid_url());
    take_until(&q, "scheduled");
    assert_status(take_as(&q, "accepted", KEY_PRODUCTION, NULL), 200);
    /* cancelling is marketing's */
    process c;
    open_order(&c, cust_url(), grid_url());
    assert_problem(take_as(&c, "cancelled", KEY_PRODUCTION, NULL), 403);
    assert_status(take_as(&c, "cancelled", KEY_MARKETING, NULL), 200);
    /* grid-svc applies the same rule to the drawing */
    api_resp *r = api_post(grid_url(), strf("/v1/drawings/%s/publish", mint_code("WO")),
                           KEY_MARKETING, NULL);
    assert_problem(r, 403);
}

static void a_retried_step_answers_the_same(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    take(&p, "surveyed");
    char *plan = data_of("planned", p.line);
    api_resp *first = take_as(&p, "planned", KEY_MARKETING, plan);
    assert_status(first, 200);
    api_resp *again = take_as(&p, "planned", KEY_MARKETING, plan);
    assert_status(again, 200);
    assert_string_equal(again->body, first->body);
    assert_int_equal(count_where(cust_url(), "customers", strf("name=%s", urlenc(p.applicant))), 1);
    /* the same step with other data is a conflict */
    assert_problem(take_as(&p, "planned", KEY_MARKETING,
                           strf(",\"line\": \"%s\", \"capacity_kva\": 800, \"voltage_kv\": 10",
                                p.line)),
                   409);

    json_t *o = take(&p, "designed");
    api_resp *d2 = take_as(&p, "designed", KEY_PRODUCTION, data_of("designed", p.line));
    assert_status(d2, 200);
    assert_string_equal(jstr(d2->json, "transformer"), jstr(o, "transformer"));
    /* a retry after the work order moved on still answers the first time's answer */
    take(&p, "scheduled");
    api_resp *late = take_as(&p, "planned", KEY_MARKETING, plan);
    assert_status(late, 200);
    assert_string_equal(late->body, first->body);
    assert_string_equal(order_member(&p, "step"), "scheduled");
    assert_int_equal(events_of(cust_url(), "workorder.plan_pushed", p.order), 1);
}

/* grid-svc made its half (the drawing) but cust-svc's half was lost: the
 * retried step finds the drawing and finishes with it. */
static void a_step_finishes_on_grid_svcs_half(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    json_t *o = NULL;
    take_until(&p, "planned");
    o = get_json(cust_url(), strf("/v1/work-orders/%s", p.order), 200);
    api_resp *d = api_post(grid_url(), "/v1/drawings", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "work_order",
                                           p.order, "line", p.line, "supply_point",
                                           jstr(o, "supply_point"), "customer",
                                           jstr(o, "customer"), "name", "drawn", "capacity_kva",
                                           630, "voltage_kv", 10)));
    assert_status(d, 201);
    json_t *after = take(&p, "designed");
    assert_string_equal(jstr(after, "transformer"), jstr(d->json, "transformer"));
    /* the same drawing for other objects is refused */
    api_resp *other = api_post(grid_url(), "/v1/drawings", KEY_PRODUCTION,
                               jdump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}",
                                               "work_order", p.order, "line",
                                               create_line(KEY_PRODUCTION, "other", "public", 10),
                                               "supply_point", jstr(o, "supply_point"),
                                               "customer", jstr(o, "customer"), "name", "x",
                                               "capacity_kva", 630, "voltage_kv", 10)));
    assert_problem(other, 409);

    /* a drawing the work order does not know of is withdrawn when it is cancelled */
    process c;
    open_order(&c, cust_url(), grid_url());
    take_until(&c, "planned");
    o = get_json(cust_url(), strf("/v1/work-orders/%s", c.order), 200);
    d = api_post(grid_url(), "/v1/drawings", KEY_PRODUCTION,
                 jdump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "work_order", c.order,
                                 "line", c.line, "supply_point", jstr(o, "supply_point"),
                                 "customer", jstr(o, "customer"), "name", "drawn",
                                 "capacity_kva", 630, "voltage_kv", 10)));
    assert_status(d, 201);
    take(&c, "cancelled");
    assert_string_equal(jstr(get_json(grid_url(), strf("/v1/drawings/%s", c.order), 200),
                             "status"),
                        "withdrawn");
    assert_string_equal(jstr(get_json(grid_url(),
                                      strf("/v1/transformers/%s", jstr(d->json, "transformer")),
                                      200),
                             "status"),
                        "retired");
}

/* grid-svc's drawing routes follow the work order as cust-svc keeps it: they
 * cannot be used to go round the process. */
static void drawings_follow_the_work_order(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    take(&p, "surveyed");
    const char *body = jdump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "work_order",
                                       p.order, "line", p.line, "supply_point",
                                       mint_code("SP"), "customer", mint_code("CU"), "name", "x",
                                       "capacity_kva", 630, "voltage_kv", 10));
    assert_problem(api_post(grid_url(), "/v1/drawings", KEY_PRODUCTION, body), 409); /* surveyed */
    take(&p, "planned");
    assert_problem(api_post(grid_url(), "/v1/drawings", KEY_PRODUCTION, body), 409); /* not its SP */
    const char *sp = order_member(&p, "supply_point"), *cu = order_member(&p, "customer");
    const char *own = jdump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "work_order",
                                      p.order, "line", p.line, "supply_point", sp, "customer",
                                      cu, "name", "x", "capacity_kva", 630, "voltage_kv", 10));
    assert_problem(api_post(grid_url(), "/v1/drawings", KEY_MARKETING, own), 403);
    const char *stranger = jdump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "work_order",
                                           mint_code("WO"), "line", p.line, "supply_point", sp,
                                           "customer", cu, "name", "x", "capacity_kva", 630,
                                           "voltage_kv", 10));
    assert_problem(api_post(grid_url(), "/v1/drawings", KEY_PRODUCTION, stranger), 422);
    get_json(grid_url(), strf("/v1/drawings/%s", p.order), 404);

    take(&p, "designed");
    const char *publish = strf("/v1/drawings/%s/publish", p.order);
    assert_problem(api_post(grid_url(), publish, KEY_PRODUCTION, NULL), 409); /* not accepted */
    assert_problem(api_delete(grid_url(), strf("/v1/drawings/%s", p.order), KEY_PRODUCTION), 403);
    assert_string_equal(jstr(get_json(grid_url(), strf("/v1/drawings/%s", p.order), 200),
                             "status"),
                        "design");

    /* a retired work order takes no step, and grid-svc draws nothing for it */
    process r;
    open_order(&r, cust_url(), grid_url());
    take_until(&r, "planned");
    assert_status(api_delete(cust_url(), strf("/v1/work-orders/%s", r.order), KEY_MARKETING), 200);
    assert_problem(take_as(&r, "designed", KEY_PRODUCTION, NULL), 409);
    get_json(grid_url(), strf("/v1/drawings/%s", r.order), 404);
}

/* Names made from the applicant's stay within their limit. */
static void a_long_applicant_name(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    char name[201] = "";
    for (int i = 0; i < 66; i++) strcat(name, "测"); /* 198 bytes */
    assert_status(api_patch(cust_url(), strf("/v1/work-orders/%s", p.order), KEY_MARKETING,
                            jdump(json_pack("{s:s}", "applicant", name))),
                  200);
    take_until(&p, "designed");
    const char *spname = jstr(get_json(cust_url(), strf("/v1/supply-points/%s",
                                                        order_member(&p, "supply_point")),
                                       200),
                              "name");
    assert_true(strlen(spname) <= 200);
    assert_non_null(strstr(spname, "supply"));
}

static void bad_requests_change_nothing(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    take(&p, "surveyed");
    long long v = version_of(cust_url(), "work-orders", p.order);
    assert_problem_field(take_as(&p, "flying", KEY_MARKETING, NULL), 400, "to");
    assert_problem_field(take_as(&p, "applied", KEY_MARKETING, NULL), 400, "to");
    assert_problem_field(
        api_post(p.cust, strf("/v1/work-orders/%s/transitions", p.order), KEY_MARKETING, "{}"),
        400, "to");
    assert_problem_field(take_as(&p, "planned", KEY_MARKETING, ",\"capacity_kva\": 630"), 400,
                         "line");
    assert_problem_field(take_as(&p, "planned", KEY_MARKETING, strf("%s, \"colour\": 1",
                                                                     data_of("planned", p.line))),
                         400, "colour");
    assert_problem_field(take_as(&p, "planned", KEY_MARKETING,
                                 strf(",\"line\": \"%s\", \"capacity_kva\": 630, \"voltage_kv\": "
                                      "10, \"power_on_date\": \"2027-02-30\"",
                                      p.line)),
                         400, "power_on_date");
    assert_problem_field(take_as(&p, "planned", KEY_MARKETING,
                                 strf(",\"line\": \"%s\", \"capacity_kva\": 630, \"voltage_kv\": "
                                      "10, \"power_on_date\": \" 2027-1-01\"",
                                      p.line)),
                         400, "power_on_date");
    assert_problem_field(take_as(&p, "planned", KEY_MARKETING,
                                 strf(",\"line\": \"%s\", \"capacity_kva\": -5, \"voltage_kv\": 10",
                                      p.line)),
                         400, "capacity_kva");
    /* a line grid-svc does not know */
    assert_problem(take_as(&p, "planned", KEY_MARKETING,
                           strf(",\"line\": \"%s\", \"capacity_kva\": 630, \"voltage_kv\": 10",
                                mint_code("LN"))),
                   422);
    assert_int_equal(version_of(cust_url(), "work-orders", p.order), v);
    assert_int_equal(count_where(cust_url(), "customers", strf("name=%s", urlenc(p.applicant))), 0);

    assert_problem(api_post(p.cust, "/v1/work-orders/XX-1/transitions", KEY_MARKETING,
                            "{\"to\": \"surveyed\"}"),
                   400);
    assert_problem(api_post(p.cust, strf("/v1/work-orders/%s/transitions", mint_code("CU")),
                            KEY_MARKETING, "{\"to\": \"surveyed\"}"),
                   400);
    assert_problem(api_post(p.cust, strf("/v1/work-orders/%s/transitions", mint_code("WO")),
                            KEY_MARKETING, "{\"to\": \"surveyed\"}"),
                   404);
    /* what the steps set is not the client's to set */
    assert_problem_field(
        api_post(cust_url(), "/v1/work-orders", KEY_MARKETING,
                 "{\"type\": \"hv_new_connection\", \"applicant\": \"x\", \"step\": \"powered\"}"),
        400, "step");
    assert_problem_field(api_patch(cust_url(), strf("/v1/work-orders/%s", p.order), KEY_MARKETING,
                                   "{\"step\": \"archived\"}"),
                         400, "step");
    assert_problem_field(api_patch(cust_url(), strf("/v1/work-orders/%s", p.order), KEY_MARKETING,
                                   "{\"step\": null}"),
                         400, "step");
    assert_problem_field(api_patch(cust_url(), strf("/v1/work-orders/%s", p.order), KEY_MARKETING,
                                   strf("{\"customer\": \"%s\"}", mint_code("CU"))),
                         400, "customer");
    assert_string_equal(order_member(&p, "step"), "surveyed");
}

/* A cust-svc and grid-svc pair of our own (same databases), so grid-svc can
 * be stopped in the middle of the process. */
static void start_pair(int *gport, int *cport)
{
    *gport = free_port();
    *cport = free_port();
    char *gurl = strf("http://127.0.0.1:%d", *gport), *curl = strf("http://127.0.0.1:%d", *cport);
    it_extra[1] = start_daemon("cust", *cport, it_env("CUST_DATABASE_URL"), gurl, "wo-cust");
    assert_true(it_extra[1] > 0);
    it_extra[0] = start_daemon("grid", *gport, it_env("GRID_DATABASE_URL"), curl, "wo-grid");
    assert_true(it_extra[0] > 0);
}

static void stop_grid(void)
{
    assert_int_equal(daemon_stop(it_extra[0], 15), 0);
    it_extra[0] = -1;
}

/* The step refused with 502 while grid-svc is down, the work order where it
 * was; then done once grid-svc is back. */
static void grid_down_step(process *p, int gport, const char *step)
{
    stop_grid();
    long long v = version_of(cust_url(), "work-orders", p->order);
    const char *before = order_member(p, "step");
    api_resp *r = take_as(p, step, key_of(step), data_of(step, p->line));
    assert_problem(r, 502);
    assert_true(r->retry_after[0] != '\0');
    assert_str_contains(jstr(r->json, "detail"), "grid-svc");
    assert_int_equal(version_of(cust_url(), "work-orders", p->order), v);
    assert_string_equal(order_member(p, "step"), before);
    it_extra[0] = start_daemon("grid", gport, it_env("GRID_DATABASE_URL"), p->cust, "wo-grid");
    assert_true(it_extra[0] > 0);
}

static void grid_svc_down_mid_process(void **state)
{
    (void)state;
    int gport, cport;
    start_pair(&gport, &cport);
    process p;
    open_order(&p, strf("http://127.0.0.1:%d", cport), strf("http://127.0.0.1:%d", gport));
    take_until(&p, "planned");

    grid_down_step(&p, gport, "designed");
    get_json(grid_url(), strf("/v1/drawings/%s", p.order), 404); /* nothing drawn */
    assert_null(order_member(&p, "transformer"));
    const char *tr = jstr(take(&p, "designed"), "transformer");

    take_until(&p, "accepted");
    grid_down_step(&p, gport, "published");
    assert_string_equal(jstr(get_json(grid_url(), strf("/v1/transformers/%s", tr), 200), "status"),
                        "design");
    take(&p, "published");

    /* cancelling withdraws the drawing on grid-svc: not without it */
    process c;
    open_order(&c, p.cust, p.grid);
    take_until(&c, "designed");
    const char *ctr = it_strdup(order_member(&c, "transformer"));
    const char *ccu = it_strdup(order_member(&c, "customer"));
    grid_down_step(&c, gport, "cancelled");
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/customers/%s", ccu), 200), "status"),
                        "pending");
    take(&c, "cancelled");
    assert_string_equal(jstr(get_json(grid_url(), strf("/v1/transformers/%s", ctr), 200),
                             "status"),
                        "retired");
    assert_string_equal(jstr(get_json(grid_url(), strf("/v1/drawings/%s", c.order), 200),
                             "status"),
                        "withdrawn");
    assert_string_equal(link_status("line-transformer", c.line, ctr), "");
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/customers/%s", ccu), 200), "status"),
                        "retired");
}

/* The scheduled step announces the planned outage of the power-on work on
 * the line that will supply, with the notice a planned outage gives; a
 * cancelled work order cancels it and tells its customers. */
static void scheduling_announces_the_power_on_outage(void **state)
{
    (void)state;
    process p;
    open_order(&p, cust_url(), grid_url());
    /* a customer already on the line */
    char *tr = jstr_dup(create_ok(grid_url(), "transformers", KEY_MARKETING,
                                  jdump(json_pack("{s:s, s:s, s:f, s:f}", "name",
                                                  strf("TR %s", uniq()), "kind", "dedicated",
                                                  "capacity_kva", 400.0, "voltage_kv", 10.0)))
                           ->json, "code");
    char *cu = jstr_dup(create_ok(cust_url(), "customers", KEY_MARKETING,
                                  jdump(json_pack("{s:s, s:s, s:s}", "name", strf("on line %s", uniq()),
                                                  "category", "hv", "phone", "0571-1234")))
                           ->json, "code");
    assert_status(api_post(grid_url(), "/v1/relations/line-transformer", KEY_ADMIN,
                           jdump(json_pack("{s:s, s:s}", "from", p.line, "to", tr))), 201);
    assert_status(api_post(grid_url(), "/v1/relations/transformer-customer", KEY_ADMIN,
                           jdump(json_pack("{s:s, s:s}", "from", tr, "to", cu))), 201);
    take_until(&p, "designed");
    /* too little notice: refused, nothing changes */
    time_t t = time(NULL) + 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    char tomorrow[16];
    strftime(tomorrow, sizeof tomorrow, "%Y-%m-%d", &tm);
    api_resp *r = take_as(&p, "scheduled", KEY_PRODUCTION, strf(",\"power_on_date\": \"%s\"", tomorrow));
    assert_problem(r, 422);
    assert_string_equal(order_member(&p, "step"), "designed");
    assert_int_equal(count_where(cust_url(), "outages", strf("work_order=%s", p.order)), 0);
    /* scheduled: the outage, and the customer told */
    json_t *wo = take(&p, "scheduled");
    const char *og = jstr(wo, "outage");
    assert_non_null(og);
    json_t *o = get_json(cust_url(), strf("/v1/outages/%s", og), 200);
    assert_string_equal(jstr(o, "kind"), "planned");
    assert_string_equal(jstr(o, "work_order"), p.order);
    assert_string_equal(jstr(o, "starts_at"), "2027-03-15T00:00:00Z");
    assert_string_equal(jstr(o, "ends_at"), "2027-03-15T04:00:00Z");
    assert_string_equal(jdump(json_incref(json_object_get(o, "elements"))), strf("[\"%s\"]", p.line));
    assert_int_equal(jint(o, "customers"), 1);
    json_t *list = list_items(api_get(cust_url(), strf("/v1/outages/%s/customers", og), KEY_DISPATCH));
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(jstr(json_array_get(list, 0), "code"), cu);
    assert_string_equal(jstr(json_array_get(list, 0), "transformer"), tr);
    /* cancelled with the work order */
    take(&p, "cancelled");
    assert_string_equal(jstr(get_json(cust_url(), strf("/v1/outages/%s", og), 200), "state"), "cancelled");
    assert_int_equal(count_where(cust_url(), "notices",
                                 strf("outage=%s&customer=%s&message=cancelled", og, cu)), 1);
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT(the_whole_process),
        IT(illegal_transitions_list_the_legal_ones),
        IT(each_step_is_its_roles),
        IT(a_retried_step_answers_the_same),
        IT(a_step_finishes_on_grid_svcs_half),
        IT(drawings_follow_the_work_order),
        IT(a_long_applicant_name),
        IT(bad_requests_change_nothing),
        IT(scheduling_announces_the_power_on_outage),
        cmocka_unit_test_teardown(grid_svc_down_mid_process, it_stop_extras),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
