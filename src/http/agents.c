/* agents.c: agents' accounts over HTTP (issue 14): signing in for a
 * session token and out again, and the accounts themselves (the list for
 * operators, who assign conversations to each other; creating, disabling
 * and resetting passwords for admins). Sign-in is the one route that
 * hashes a password: its attempts are rate-limited per client IP and per
 * agent name, and a few at a time run at once (64 MiB each). */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Password checks running at once (fd_server.logins_running); more get a
 * 503 (Retry-After): the memory of argon2 must not grow with the number of
 * clients. */
#define LOGINS_AT_ONCE 4

static int agent_json(fd_buf *b, const fd_agent_info *a, int full)
{
    int rc = fd_buf_printf(b, "{\"name\":");
    rc = rc ? rc : fd_buf_json_str(b, a->name, strlen(a->name));
    rc = rc ? rc : fd_buf_printf(b, ",\"display_name\":");
    rc = rc ? rc : fd_buf_json_str(b, a->display_name, strlen(a->display_name));
    if (!rc && full)
        rc = fd_buf_printf(b,
                           ",\"disabled\":%s,\"created_at\":%.3f,\"disabled_at\":%.3f,"
                           "\"last_login_at\":%.3f",
                           a->disabled_at > 0 ? "true" : "false", a->created_at, a->disabled_at,
                           a->last_login_at);
    return rc ? rc : fd_buf_printf(b, "}");
}

static enum MHD_Result send_agent(request *r, int status, const fd_agent_info *a)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    enum MHD_Result res = agent_json(&b, a, 1)
                              ? http_send_error(r, 500, "internal", "out of memory", NULL)
                              : http_send_json(r, status, &b);
    fd_buf_free(&b);
    return res;
}

/* A string member of at most max bytes (http_parse_string_member); NULL
 * and the 422 naming it sent when it is missing (required) or not one. */
static const char *string_member(request *r, json_t *j, const char *name, int required, size_t max,
                                 enum MHD_Result *res)
{
    const char *v;
    http_perr e;
    if (http_parse_string_member(j, name, required, max, &v, &e)) {
        *res = http_send_perr(r, &e);
        return NULL;
    }
    return v;
}

/* ---- POST /v1/agents/login, POST /v1/agents/logout -------------------------------- */

static enum MHD_Result post_login(request *r)
{
    enum MHD_Result res;
    json_t *j = http_body_object(r, &res);
    if (!j)
        return res;
    const char *name = string_member(r, j, "name", 1, 256, &res);
    const char *pw = name ? string_member(r, j, "password", 1, FD_AGENT_PASSWORD_MAX, &res) : NULL;
    if (!pw) {
        json_decref(j);
        return res;
    }
    /* Every attempt counts, a right one too: a guesser is slowed per
     * address, and per name when the guesses come from many addresses (an
     * agent locked out that way waits a minute, which is the price). */
    double per_min = r->srv->cfg->limit_login_per_min, retry;
    char bucket[320];
    snprintf(bucket, sizeof bucket, "login:ip:%s", r->ip);
    int ok = per_min <= 0 || http_limit_take(r->srv, bucket, per_min, per_min, &retry);
    if (ok && per_min > 0) {
        snprintf(bucket, sizeof bucket, "login:name:%.256s", name);
        ok = http_limit_take(r->srv, bucket, per_min, per_min, &retry);
    }
    if (!ok) {
        json_decref(j);
        return http_send_429(r, retry, "login");
    }
    if (atomic_fetch_add(&r->srv->logins_running, 1) >= LOGINS_AT_ONCE) {
        atomic_fetch_sub(&r->srv->logins_running, 1);
        json_decref(j);
        fd_err busy;
        fd_err_set(&busy, FD_EUNAVAIL, "too many sign-ins at once; retry in a few seconds");
        return http_send_err(r, &busy);
    }
    char token[FD_AGENT_TOKEN_LEN + 1];
    fd_agent_info a;
    fd_err err = {0};
    double ttl = r->srv->cfg->auth_agent_session_hours * 3600.0;
    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    int rc = fd_agents_login(st, name, pw, ttl, fd_time_wall(), token, &a, &err);
    if (!rc) {
        fd_err ignored;
        if (fd_store_audit_add(st, a.prefix, "agent.login", a.name, "", &ignored))
            FD_LOG(r->srv->log, FD_LOG_WARN, "http", "audit of a sign-in: %s (id=%s)", ignored.msg,
                   r->id);
    }
    http_kb_put(r->srv, kb);
    atomic_fetch_sub(&r->srv->logins_running, 1);
    json_decref(j);
    if (rc == FD_ENOTFOUND) {
        fd_metric_add(r->srv->m.auth_failures, 1);
        FD_LOG(r->srv->log, FD_LOG_INFO, "http", "sign-in refused: %s (id=%s)", err.msg, r->id);
        return http_send_error(r, 401, "invalid_credentials", "wrong agent name or password", NULL);
    }
    if (rc)
        return http_send_err(r, &err);
    fd_buf b;
    fd_buf_init(&b, 0);
    int brc = fd_buf_printf(&b,
                            "{\"token\":\"%s\",\"token_type\":\"Bearer\",\"expires_at\":%.3f,"
                            "\"agent\":",
                            token, a.expires_at);
    brc = brc ? brc : agent_json(&b, &a, 0);
    brc = brc ? brc : fd_buf_printf(&b, "}");
    explicit_bzero(token, sizeof token);
    res = brc ? http_send_error(r, 500, "internal", "out of memory", NULL)
              : http_send_json(r, 200, &b);
    explicit_bzero(b.p, b.len);
    fd_buf_free(&b);
    return res;
}

static enum MHD_Result post_logout(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_OPERATOR, &res))
        return res;
    if (!r->is_agent)
        return http_send_error(r, 400, "not_an_agent",
                               "sign-out ends an agent's session; an API key is revoked with "
                               "`frontdesk keys revoke`",
                               NULL);
    /* The token http_auth verified, from where it found it. */
    const char *h = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Authorization");
    const char *token = h && strncasecmp(h, "Bearer ", 7) == 0
                            ? h + 7
                            : MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "X-API-Key");
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    int rc = fd_agents_logout(fd_kb_store(kb), token, fd_time_wall(), &err);
    http_kb_put(r->srv, kb);
    if (rc)
        return http_send_err(r, &err);
    static const char body[] = "{\"signed_out\":true}";
    return http_send(r, 200, "application/json", body, sizeof body - 1);
}

/* ---- GET /v1/agents, POST /v1/agents ----------------------------------------------- */

typedef struct list_ctx {
    fd_buf *b;
    int n, rc;
} list_ctx;

static int list_each(void *ctx, const fd_agent_info *a)
{
    list_ctx *c = ctx;
    c->rc = fd_buf_printf(c->b, "%s", c->n++ ? "," : "");
    c->rc = c->rc ? c->rc : agent_json(c->b, a, 1);
    return c->rc ? 1 : 0;
}

static enum MHD_Result get_agents(request *r)
{
    enum MHD_Result res;
    /* Operators see their colleagues (to hand a conversation over). */
    if (!http_auth_either(r, FD_SCOPE_OPERATOR, FD_SCOPE_ADMIN, &res))
        return res;
    fd_buf b;
    fd_buf_init(&b, 0);
    list_ctx c = {&b, 0, 0};
    fd_err err = {0};
    int rc = fd_buf_printf(&b, "{\"agents\":[");
    fd_kb *kb = http_kb_get(r->srv);
    if (!rc)
        rc = fd_agents_list(fd_kb_store(kb), list_each, &c, &err);
    http_kb_put(r->srv, kb);
    return http_send_list(r, &b, rc, c.rc, &err);
}

static enum MHD_Result post_agents(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_ADMIN, &res))
        return res;
    json_t *j = http_body_object(r, &res);
    if (!j)
        return res;
    const char *name = string_member(r, j, "name", 1, FD_AGENT_NAME_MAX, &res);
    const char *display = name ? string_member(r, j, "display_name", 0, 512, &res) : NULL;
    const char *pw =
        display ? string_member(r, j, "password", 1, FD_AGENT_PASSWORD_MAX, &res) : NULL;
    if (!pw) {
        json_decref(j);
        return res;
    }
    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    fd_err err = {0};
    fd_agent_info a;
    int rc = fd_agents_create(st, name, display, pw, &a, &err);
    if (!rc)
        rc = fd_store_audit_add(st, http_key_label(r), "agent.create", a.name, "", &err);
    http_kb_put(r->srv, kb);
    json_decref(j);
    if (rc == FD_EINVAL)
        return http_send_error(r, 422, "invalid_field", err.msg, err.field[0] ? err.field : NULL);
    return rc ? http_send_err(r, &err) : send_agent(r, 201, &a);
}

/* ---- /v1/agents/{name}/{disable|enable|password} (admin) ---------------------------- */

static enum MHD_Result agent_action(request *r, const char *name, const char *action)
{
    enum MHD_Result res;
    int disable = strcmp(action, "disable") == 0, enable = strcmp(action, "enable") == 0;
    int passwd = strcmp(action, "password") == 0;
    if (!disable && !enable && !passwd)
        return http_send_error(r, 404, "not_found", "no such endpoint", NULL);
    if (strcmp(r->method, "POST") != 0)
        return http_send_405(r, "POST");
    if (!http_auth(r, FD_SCOPE_ADMIN, &res))
        return res;
    json_t *j = NULL;
    const char *pw = NULL;
    if (passwd) {
        if (!(j = http_body_object(r, &res)))
            return res;
        if (!(pw = string_member(r, j, "password", 1, FD_AGENT_PASSWORD_MAX, &res))) {
            json_decref(j);
            return res;
        }
    }
    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    fd_err err = {0};
    fd_agent_info a;
    int rc = !fd_agent_name_ok(name) ? fd_err_set(&err, FD_ENOTFOUND, "no such agent")
             : passwd                ? fd_agents_set_password(st, name, pw, &a, &err)
                                     : fd_agents_set_disabled(st, name, disable, &a, &err);
    if (!rc) {
        char what[32];
        snprintf(what, sizeof what, "agent.%s", action);
        rc = fd_store_audit_add(st, http_key_label(r), what, a.name, "", &err);
    }
    http_kb_put(r->srv, kb);
    json_decref(j);
    if (rc == FD_EINVAL)
        return http_send_error(r, 422, "invalid_field", err.msg, err.field[0] ? err.field : NULL);
    return rc ? http_send_err(r, &err) : send_agent(r, 200, &a);
}

enum MHD_Result http_agents_route(request *r, const char *rest)
{
    if (strcmp(rest, "") == 0) {
        r->route = "/v1/agents";
        if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
            return get_agents(r);
        if (strcmp(r->method, "POST") == 0)
            return post_agents(r);
        return http_send_405(r, "GET, POST");
    }
    if (strcmp(rest, "/login") == 0 || strcmp(rest, "/logout") == 0) {
        int in = strcmp(rest, "/login") == 0;
        r->route = in ? "/v1/agents/login" : "/v1/agents/logout";
        if (strcmp(r->method, "POST") != 0)
            return http_send_405(r, "POST");
        return in ? post_login(r) : post_logout(r);
    }
    const char *name = rest + 1, *slash = strchr(name, '/');
    if (rest[0] == '/' && slash && slash > name && !strchr(slash + 1, '/')) {
        char n[FD_AGENT_NAME_MAX + 2];
        r->route = "/v1/agents/{name}/{action}";
        if ((size_t)(slash - name) >= sizeof n)
            return http_send_error(r, 404, "not_found", "no such agent", NULL);
        memcpy(n, name, (size_t)(slash - name));
        n[slash - name] = '\0';
        return agent_action(r, n, slash + 1);
    }
    return http_send_error(r, 404, "not_found", "no such endpoint", NULL);
}
