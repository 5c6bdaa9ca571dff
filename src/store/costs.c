/* costs.c: the cost ledger. A row per answered message (what the LLM
 * cost, or that a cache or the extractive path made it free), written in
 * the turn's transaction, summed by day, key, model or session for
 * `frontdesk report costs`. */
#include "store_int.h"

#include <string.h>
#include <time.h>

void store_cost_bind(store_stmt *s, int base, const fd_cost_row *row, char day[16])
{
    double at = row->at > 0 ? row->at : fd_time_wall();
    time_t secs = (time_t)at;
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(day, 16, "%Y-%m-%d", &tm);
    stmt_bind_dbl(s, base + 1, at);
    store_bind_str(s, base + 2, day);
    store_bind_str(s, base + 3, row->request_id ? row->request_id : "");
    store_bind_str(s, base + 4, row->session_id ? row->session_id : "");
    store_bind_str(s, base + 5, row->key ? row->key : "");
    store_bind_str(s, base + 6, row->model ? row->model : "");
    store_bind_str(s, base + 7, row->route ? row->route : "");
    store_bind_str(s, base + 8, row->cached ? row->cached : "");
    stmt_bind_int(s, base + 9, row->llm_called != 0);
    stmt_bind_i64(s, base + 10, row->prompt_tokens);
    stmt_bind_i64(s, base + 11, row->completion_tokens);
    stmt_bind_dbl(s, base + 12, row->cost_usd);
}

int fd_store_cost_add(fd_store *st, const fd_cost_row *row, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_COST_ADD, &s, &owned, err);
    if (code)
        return code;
    char day[16];
    store_cost_bind(s, 0, row, day);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "adding a cost row");
    store_release(s, owned);
    return code;
}

int fd_store_costs_each(fd_store *st, double since, const char *group,
                        int (*cb)(void *ctx, const fd_cost_sum *sum), void *ctx, fd_err *err)
{
    /* The column comes from this table only, never from the caller. */
    static const struct {
        const char *name, *col, *order;
    } groups[] = {{"day", "day", "g"},
                  {"key", "key", "cost DESC, g"},
                  {"model", "model", "cost DESC, g"},
                  {"session", "session_id", "cost DESC, g"},
                  {"total", "''", "g"}};
    const char *col = NULL, *order = NULL;
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++)
        if (group && strcmp(group, groups[i].name) == 0) {
            col = groups[i].col;
            order = groups[i].order;
        }
    if (!col)
        return fd_err_set_field(err, FD_EINVAL, "group",
                                "group must be day, key, model, session or total, not '%s'",
                                group ? group : "");
    char sql[512];
    snprintf(
        sql, sizeof sql,
        "SELECT %s AS g, count(*), sum(llm_called), sum(CASE WHEN cached <> '' THEN 1 ELSE 0 END), "
        "coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
        "coalesce(sum(cost_usd), 0) AS cost FROM costs WHERE at >= ?1 GROUP BY g "
        "ORDER BY %s",
        col, order);
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st, sql, &s);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, err, "reading the cost ledger");
    stmt_bind_dbl(s, 1, since);
    int code = FD_OK;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        const char *g = (const char *)stmt_col_text(s, 0);
        fd_cost_sum sum = {.group = g ? g : "",
                           .requests = stmt_col_i64(s, 1),
                           .llm_calls = stmt_col_i64(s, 2),
                           .cached = stmt_col_i64(s, 3),
                           .prompt_tokens = stmt_col_i64(s, 4),
                           .completion_tokens = stmt_col_i64(s, 5),
                           .cost_usd = stmt_col_dbl(s, 6)};
        if (cb(ctx, &sum))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading the cost ledger");
    stmt_finalize(s);
    return code;
}
