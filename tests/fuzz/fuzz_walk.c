/* fuzz_walk.c -- the body of POST /v1/graph/walk, the leg of a walk one
 * platform asks of the other, read as the leg reads it before any database
 * work (trace_walk_ask): direction, codes, expand, design, near, describe,
 * and the most codes one hand-over takes.
 *
 * The input is the body, parsed as the server parses a JSON body. So that
 * the limit of 200,000 codes is reached from a small input, a member
 * "repeat": true (which the leg ignores) makes the codes given one more
 * than that, cycling through them; they are counted before they are read,
 * so such a body is refused at once.
 *
 * A body taken is not answered; its codes and expand are those given,
 * canonical, 200,000 at most together; its direction and describe are as
 * given. A body refused is answered with one problem+json, 400; when there
 * were more codes than that, saying so. */
#include "fuzz.h"

#include "model/bizcode.h"
#include "base/jsonutil.h"
#include "topology/trace.h"

#define CODES_MAX 200000

/* codes cycled to one over the limit. */
static void repeat(json_t *body)
{
    json_t *codes = json_object_get(body, "codes");
    size_t have = json_array_size(codes);
    if (!have || !json_is_true(json_object_get(body, "repeat"))) return;
    json_t *more = json_array();
    for (size_t i = 0; i <= CODES_MAX; i++) json_array_append(more, json_array_get(codes, i % have));
    json_object_set_new(body, "codes", more);
}

/* Each of got is the canonical form of the same entry of given. */
static void same_codes(const json_t *given, const json_t *got, const char *member)
{
    FUZZ_CHECK(json_array_size(got) == json_array_size(given), "%s: %zu of %zu codes", member,
               json_array_size(got), json_array_size(given));
    size_t i;
    json_t *v;
    json_array_foreach(got, i, v) {
        char canon[BIZCODE_LEN + 1];
        const char *code = json_string_value(v);
        FUZZ_CHECK(code && bizcode_parse(json_string_value(json_array_get(given, i)), canon,
                                         NULL) == BIZ_OK &&
                       strcmp(canon, code) == 0,
                   "%s[%zu]: %s", member, i, code ? code : "(not a string)");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300];
    json_t *body = json_parse_object((const char *)data, size, err, sizeof err);
    if (!body) return 0;
    repeat(body);
    request req;
    fuzz_request(&req, "POST", "/v1/graph/walk");
    walk_ask ask;
    size_t n = json_array_size(json_object_get(body, "codes")) +
               json_array_size(json_object_get(body, "expand"));
    if (trace_walk_ask(&req, body, &ask) == OK) {
        FUZZ_CHECK(req.status == 0, "a leg taken was answered %d", req.status);
        const char *dir = json_str(body, "direction");
        FUZZ_CHECK(dir && strcmp(dir, ask.dir == 0 ? "up" : "down") == 0, "direction %s as %d",
                   dir ? dir : "(none)", ask.dir);
        same_codes(json_object_get(body, "codes"), ask.codes, "codes");
        same_codes(json_object_get(body, "expand"), ask.expand, "expand");
        FUZZ_CHECK(n <= CODES_MAX, "a leg of %zu codes taken", n);
        FUZZ_CHECK(ask.near && (!json_str(body, "near") || ask.near == json_str(body, "near")),
                   "near");
        FUZZ_CHECK(json_object_get(body, "describe") || ask.describe == ~0ULL,
                   "describe absent, yet %llx", ask.describe);
        trace_walk_ask_free(&ask);
    } else {
        /* Too many codes is refused before any is read, after the
         * direction and describe. */
        const char *dir = json_str(body, "direction");
        json_t *describe = json_object_get(body, "describe");
        int counted = dir && (strcmp(dir, "up") == 0 || strcmp(dir, "down") == 0) &&
                      (!describe || json_is_string(describe));
        fuzz_check_problem(&req, 400);
        if (counted && n > CODES_MAX)
            FUZZ_CHECK(strstr(req.resp_body, "at most 200000 codes") != NULL,
                       "too many codes, answered: %s", req.resp_body);
    }
    fuzz_request_end(&req);
    json_decref(body);
    return 0;
}
