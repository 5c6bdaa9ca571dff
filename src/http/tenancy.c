/* tenancy.c: who a conversation belongs to. A session is owned by the
 * principal that created it, and every session route (chat with a
 * session_id, GET/DELETE /v1/sessions/{id}, its event stream, the OpenAI
 * facade's X-Session-Id) answers 404 "no such session" to anyone else: not
 * 403, so that ids cannot be probed. Principals, strongest first:
 *   jwt:<sub>       an end-user token (X-User-Token) was verified
 *   key:<id>        an API key
 *   agent:<id>      an agent signed in to the console (operator scope only:
 *                   it reads handed-off sessions, it creates none)
 *   visitor:<hash>  a keyless widget visitor: the page keeps a random id in
 *                   its storage and sends it as X-Visitor-Token (or
 *                   ?visitor_token= where headers cannot be set); only its
 *                   SHA-256 is stored
 *   ""              a server that needs no key (a trusted network)
 * Operators (operator or admin scope) may also read a session that was
 * handed off to people: they see sessions through handoffs only. */
#include "http_int.h"

#include <string.h>

int http_principal(request *r, const char *jwt_sub, char *out, size_t n, enum MHD_Result *res)
{
    if (jwt_sub && jwt_sub[0]) {
        snprintf(out, n, "jwt:%s", jwt_sub);
        return 1;
    }
    if (r->is_agent) {
        snprintf(out, n, "agent:%lld", (long long)r->agent.id);
        return 1;
    }
    if (r->has_key) {
        snprintf(out, n, "key:%lld", (long long)r->key.id);
        return 1;
    }
    if (!r->srv->cfg->server_widget) {
        out[0] = '\0';
        return 1;
    }
    const char *t = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "X-Visitor-Token");
    if (!t)
        t = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "visitor_token");
    if (!t || !http_visitor_token_ok(t)) {
        *res = http_send_error(r, 401, "visitor_token_required",
                               "a keyless chat must send X-Visitor-Token: a random id of 22-128 "
                               "letters, digits, '-' or '_' that the page keeps",
                               "X-Visitor-Token");
        return 0;
    }
    char hex[65];
    fd_sha256_hex(t, strlen(t), hex);
    snprintf(out, n, "visitor:%.32s", hex);
    return 1;
}

int http_session_access(request *r, const char *sid, int operators_too, fd_session_row *row,
                        enum MHD_Result *res)
{
    const char *sub = NULL;
    char who[HTTP_PRINCIPAL_MAX];
    if (!http_user_token(r, &sub, res) || !http_principal(r, sub, who, sizeof who, res))
        return 0;
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    int rc = fd_store_session_get(fd_kb_store(kb), sid, r->a, row, &err);
    http_kb_put(r->srv, kb);
    if (rc && rc != FD_ENOTFOUND) {
        *res = http_send_err(r, &err);
        return 0;
    }
    int operator=
        operators_too && r->has_key &&(fd_scopes_allow(r->key.scopes, FD_SCOPE_OPERATOR) ||
                                       fd_scopes_allow(r->key.scopes, FD_SCOPE_ADMIN));
    if (rc || !(strcmp(row->owner, who) == 0 || (operator&& row->has_handoff))) {
        *res = http_send_error(r, 404, "not_found", "no such session", NULL);
        return 0;
    }
    return 1;
}
