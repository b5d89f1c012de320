/*
 * dashboard.c: the web dashboard's routes: GET / answers index.html and GET
 * /assets/{name} the other embedded files (assets.h). Everything is in the binary: the
 * dashboard works on a lab network with no Internet.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/assets.h"
#include "base/error.h"

static const lg_asset *find_asset(const char *name)
{
    for (int i = 0; i < lg_n_assets; i++)
        if (strcmp(lg_assets[i].name, name) == 0) return &lg_assets[i];
    return NULL;
}

static void reply_asset(lg_http_reply *rep, const lg_asset *a)
{
    char *copy = malloc(a->len ? a->len : 1);
    LG_ASSERT(copy != NULL);
    memcpy(copy, a->data, a->len);
    lg_reply_text(rep, 200, a->content_type, copy, a->len);
}

void lg_h_dashboard(lg_http_req *req, lg_http_reply *rep)
{
    const lg_asset *a = find_asset("index.html");
    LG_ASSERT(a != NULL);
    reply_asset(rep, a);
}

void lg_h_asset(lg_http_req *req, lg_http_reply *rep)
{
    const lg_asset *a = find_asset(req->params[0]);
    if (!a || strcmp(a->name, "index.html") == 0) {
        lg_reply_error(rep, 404, "no dashboard asset '%s'", req->params[0]);
        return;
    }
    reply_asset(rep, a);
}
