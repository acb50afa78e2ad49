/* about.c -- GET /v1/me and GET /v1/catalogue (about.h). */
#include "engine/about.h"

#include "engine/context.h"
#include "model/bizcode.h"
#include "model/catalogue.h"

/* {app, roles, platform}: the caller as the key names it. Nothing of the
 * key itself is ever answered. */
static void me(request *req, void *ctx)
{
    service *svc = ctx;
    json_t *roles = json_array();
    for (int i = 0; i < req->app->nroles; i++)
        json_array_append_new(roles, json_string(req->app->roles[i]));
    http_json(req, 200, json_pack("{s:s, s:o, s:s}", "app", req->app->name, "roles", roles,
                                  "platform", svc->name));
}

/* Every object type with its platform, and every relation kind with its
 * owner: the same table (model/bizcode.c) both platforms route by. */
static void catalogue(request *req, void *ctx)
{
    service *svc = ctx;
    json_t *types = json_array(), *relations = json_array();
    for (int i = 0; i < biz_ntypes; i++) {
        const biz_type *t = &biz_types[i];
        json_array_append_new(types, json_pack("{s:s, s:s, s:s, s:s, s:s}", "prefix", t->prefix,
                                               "type", t->type, "collection", t->collection,
                                               "zh", t->zh, "platform", service_name(t->owner)));
    }
    for (int i = 0; i < biz_nrelations; i++)
        json_array_append_new(relations,
                              json_pack("{s:s, s:s}", "kind", biz_relations[i].kind, "platform",
                                        service_name(biz_relations[i].owner)));
    http_json(req, 200, json_pack("{s:s, s:s, s:o, s:o}", "platform", svc->name, "peer",
                                  service_peer_name(svc), "types", types, "relations", relations));
}

void about_routes(service *svc, router *r)
{
    router_add(r, "GET", "/v1/me", me, svc, ROUTE_READ_ONLY,
               "The calling app: its name and roles, and which platform answers");
    router_add(r, "GET", "/v1/catalogue", catalogue, svc, ROUTE_READ_ONLY,
               "Every object type (prefix, collection, 中文名) and relation kind, with the "
               "platform that keeps it");
}
