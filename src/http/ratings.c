/* ratings.c: GET /v1/ratings, what customers thought of the people who
 * helped them (issue 14): each rating with its ticket and agent, newest
 * first, and the averages overall, per score and per agent, for the
 * console. Ratings are analytics events written by POST
 * /v1/sessions/{id}/rating (routes.c); their JSON is read here. */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

#define LIMIT_DEFAULT 100
#define LIMIT_MAX 1000
#define AGENTS_MAX 256 /* per-agent averages kept; more agents go under "" */

typedef struct per_agent {
    char name[64];
    char display[128];
    int64_t n, sum;
} per_agent;

typedef struct ratings_ctx {
    fd_buf *b;
    const char *agent; /* ?agent=: only this agent's ratings; NULL: all */
    long limit;
    int64_t n, sum, listed;
    int64_t by_score[6];
    per_agent *agents;
    size_t n_agents;
    int rc;
} ratings_ctx;

static per_agent *agent_slot(ratings_ctx *c, const char *name, const char *display)
{
    for (size_t i = 0; i < c->n_agents; i++)
        if (strcmp(c->agents[i].name, name) == 0)
            return &c->agents[i];
    if (c->n_agents == AGENTS_MAX)
        return NULL;
    per_agent *p = &c->agents[c->n_agents++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->display, sizeof p->display, "%s", display);
    return p;
}

static int rating_each(void *ctx, const fd_rating_row *r)
{
    ratings_ctx *c = ctx;
    if (c->agent && strcmp(r->operator_, c->agent) != 0)
        return 0;
    /* The route that writes them checks the score: a row without one was
     * written by something else and is left out, not fatal. */
    json_t *d = json_loads(r->data, 0, NULL);
    json_t *sv = json_object_get(d, "score");
    json_int_t score = json_is_integer(sv) ? json_integer_value(sv) : 0;
    if (score < 1 || score > 5) {
        json_decref(d);
        return 0;
    }
    c->n++;
    c->sum += score;
    c->by_score[score]++;
    per_agent *p = agent_slot(c, r->operator_, r->agent_display_name);
    if (p) {
        p->n++;
        p->sum += score;
    }
    if (c->listed < c->limit) {
        const char *comment = json_string_value(json_object_get(d, "comment"));
        const char *who = r->agent_display_name[0] ? r->agent_display_name : r->operator_;
        int rc =
            fd_buf_printf(c->b, "%s{\"score\":%d,\"comment\":", c->listed ? "," : "", (int)score);
        rc = rc        ? rc
             : comment ? fd_buf_json_str(c->b, comment, strlen(comment))
                       : fd_buf_printf(c->b, "null");
        rc = rc ? rc : fd_buf_printf(c->b, ",\"session_id\":");
        rc = rc ? rc : fd_buf_json_str(c->b, r->session_id, strlen(r->session_id));
        if (!rc && r->handoff_id)
            rc = fd_buf_printf(c->b, ",\"handoff_id\":%lld,\"ticket\":\"HD-%06lld\"",
                               (long long)r->handoff_id, (long long)r->handoff_id);
        else if (!rc)
            rc = fd_buf_printf(c->b, ",\"handoff_id\":null,\"ticket\":null");
        rc = rc ? rc : fd_buf_printf(c->b, ",\"agent\":");
        rc = rc ? rc : fd_buf_json_str(c->b, r->operator_, strlen(r->operator_));
        rc = rc ? rc : fd_buf_printf(c->b, ",\"agent_display_name\":");
        rc = rc ? rc : fd_buf_json_str(c->b, who, strlen(who));
        rc = rc ? rc : fd_buf_printf(c->b, ",\"at\":%.3f}", r->at);
        c->listed++;
        c->rc = rc;
    }
    json_decref(d);
    return c->rc ? 1 : 0;
}

static int cmp_agents(const void *a, const void *b)
{
    const per_agent *x = a, *y = b;
    return x->n != y->n ? (y->n > x->n ? 1 : -1) : strcmp(x->name, y->name);
}

/* The summary after the list: count, average, by score, by agent. */
static int summary_json(fd_buf *b, ratings_ctx *c)
{
    int rc = fd_buf_printf(b, "],\"count\":%lld,\"average\":", (long long)c->n);
    rc = rc     ? rc
         : c->n ? fd_buf_printf(b, "%.2f", (double)c->sum / (double)c->n)
                : fd_buf_printf(b, "null");
    rc = rc ? rc
            : fd_buf_printf(
                  b,
                  ",\"by_score\":{\"1\":%lld,\"2\":%lld,\"3\":%lld,\"4\":%lld,\"5\":%lld},"
                  "\"by_agent\":[",
                  (long long)c->by_score[1], (long long)c->by_score[2], (long long)c->by_score[3],
                  (long long)c->by_score[4], (long long)c->by_score[5]);
    qsort(c->agents, c->n_agents, sizeof *c->agents, cmp_agents);
    for (size_t i = 0; !rc && i < c->n_agents; i++) {
        const per_agent *p = &c->agents[i];
        const char *who = p->display[0] ? p->display : p->name;
        rc = fd_buf_printf(b, "%s{\"agent\":", i ? "," : "");
        rc = rc ? rc : fd_buf_json_str(b, p->name, strlen(p->name));
        rc = rc ? rc : fd_buf_printf(b, ",\"agent_display_name\":");
        rc = rc ? rc : fd_buf_json_str(b, who, strlen(who));
        rc = rc ? rc
                : fd_buf_printf(b, ",\"count\":%lld,\"average\":%.2f}", (long long)p->n,
                                (double)p->sum / (double)p->n);
    }
    /* http_send_list closes with "]}". */
    return rc;
}

enum MHD_Result http_get_ratings(request *r)
{
    enum MHD_Result res;
    if (!http_auth_either(r, FD_SCOPE_OPERATOR, FD_SCOPE_ADMIN, &res))
        return res;
    long limit = LIMIT_DEFAULT;
    const char *v = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "limit");
    if (v) {
        char *end;
        limit = strtol(v, &end, 10);
        if (end == v || *end || limit < 1 || limit > LIMIT_MAX)
            return http_send_error(r, 422, "invalid_field", "limit must be a number from 1 to 1000",
                                   "limit");
    }
    const char *agent = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "agent");
    if (agent && (!agent[0] || strlen(agent) > 200))
        return http_send_error(r, 422, "invalid_field", "agent must be 1 to 200 bytes", "agent");
    ratings_ctx c = {.agent = agent, .limit = limit};
    c.agents = fd_calloc(AGENTS_MAX, sizeof *c.agents);
    if (!c.agents)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    fd_buf b;
    fd_buf_init(&b, 0);
    c.b = &b;
    fd_err err = {0};
    int rc = fd_buf_printf(&b, "{\"ratings\":[");
    fd_kb *kb = http_kb_get(r->srv);
    if (!rc)
        rc = fd_store_ratings_each(fd_kb_store(kb), rating_each, &c, &err);
    http_kb_put(r->srv, kb);
    if (!rc && !c.rc)
        c.rc = summary_json(&b, &c);
    fd_free(c.agents);
    return http_send_list(r, &b, rc, c.rc, &err);
}
