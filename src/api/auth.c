/*
 * auth.c: bearer tokens: reading the tokens file ("TOKEN ROLE" lines, role user or
 * admin) and the role an Authorization header grants. Tokens are compared in time that
 * does not depend on where they differ.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"
#include "base/error.h"

static const char *const role_names[] = {"none", "user", "admin"};

const char *lg_role_name(lg_role r)
{
    return role_names[r];
}

static int parse_role(const char *s, lg_role *out)
{
    for (int r = LG_ROLE_USER; r <= LG_ROLE_ADMIN; r++)
        if (strcmp(s, role_names[r]) == 0) {
            *out = (lg_role)r;
            return LG_OK;
        }
    return LG_E_PARSE;
}

void lg_tokens_free(lg_tokens *t)
{
    for (int i = 0; i < t->n; i++) free(t->v[i].token);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

int lg_tokens_load(const char *path, lg_tokens *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return lg_error(LG_E_IO, "tokens file '%s': cannot open it", path);
    char line[1024];
    int lineno = 0, rc = LG_OK;
    while (rc == LG_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char token[512], role[64], extra[8];
        int n = sscanf(line, "%511s %63s %7s", token, role, extra);
        if (n <= 0) continue;
        lg_role r;
        if (n != 2 || parse_role(role, &r) != LG_OK) {
            rc = lg_error(LG_E_PARSE, "tokens file '%s' line %d: expected \"TOKEN ROLE\" with role user or admin",
                          path, lineno);
            break;
        }
        lg_token *v = realloc(out->v, (size_t)(out->n + 1) * sizeof *v);
        if (!v) {
            rc = lg_error(LG_E_NOMEM, "tokens file '%s': out of memory", path);
            break;
        }
        out->v = v;
        v[out->n].token = strdup(token);
        v[out->n].role = r;
        out->n++;
    }
    fclose(f);
    if (rc == LG_OK && out->n == 0) rc = lg_error(LG_E_PARSE, "tokens file '%s' holds no tokens", path);
    if (rc != LG_OK) lg_tokens_free(out);
    return rc;
}

static bool same_token(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    unsigned diff = (unsigned)(alen ^ blen);
    for (size_t i = 0; i < alen; i++) diff |= (unsigned char)a[i] ^ (unsigned char)b[i < blen ? i : 0];
    return diff == 0;
}

lg_role lg_tokens_role(const lg_tokens *t, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) return LG_ROLE_NONE;
    const char *tok = authorization + 7;
    while (*tok == ' ') tok++;
    size_t len = strlen(tok);
    while (len && isspace((unsigned char)tok[len - 1])) len--;
    if (len == 0) return LG_ROLE_NONE;
    lg_role role = LG_ROLE_NONE;
    for (int i = 0; i < t->n; i++)
        if (same_token(tok, len, t->v[i].token)) role = t->v[i].role;
    return role;
}
