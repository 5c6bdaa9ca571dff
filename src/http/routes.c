/* routes.c: the API's routes. Each handler validates its input, borrows a
 * knowledge-base handle for the shortest time it can, and answers with
 * JSON; every error is {"error":{"code","message","field"}}. */
#include "http_int.h"

#include "store.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

static enum MHD_Result method_not_allowed(request *r, const char *allow)
{
    return http_send_405(r, allow);
}

static int take(request *r, const char *scope, const char *id, double per_min, enum MHD_Result *res)
{
    if (per_min <= 0)
        return 1;
    char key[160];
    snprintf(key, sizeof key, "%s:%s", scope, id);
    double retry;
    if (http_limit_take(r->srv, key, per_min, per_min > 10 ? per_min / 6 : per_min, &retry))
        return 1;
    *res = http_send_429(r, retry, scope);
    return 0;
}

/* ---- health ------------------------------------------------------------------ */

static enum MHD_Result get_healthz(request *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return http_send(r, 200, "application/json", ok, sizeof ok - 1);
}

/* server.protect_metrics: an operator's or admin's key for what tells
 * about the service's insides. */
static int metrics_allowed(request *r, enum MHD_Result *res)
{
    return !r->srv->cfg->server_protect_metrics ||
           http_auth_either(r, FD_SCOPE_OPERATOR, FD_SCOPE_ADMIN, res);
}

static enum MHD_Result get_readyz(request *r)
{
    fd_server *s = r->srv;
    enum MHD_Result denied;
    if (!metrics_allowed(r, &denied))
        return denied;
    fd_kb *kb = http_kb_get(s);
    fd_kb_stats st;
    fd_err err;
    int rc = fd_kb_stats_get(kb, &st, &err);
    http_kb_put(s, kb);
    const char *breaker = "none";
    fd_llm_stats ls;
    if (s->llm) {
        fd_llm_stats_get(s->llm, &ls);
        breaker = fd_breaker_state_name(ls.breaker);
    }
    int ready = !rc && !atomic_load(&s->draining);
    fd_buf b;
    fd_buf_init(&b, 4096);
    int brc = fd_buf_printf(
        &b,
        "{\"status\":\"%s\",\"store\":\"%s\",\"kb_version\":%lld,"
        "\"documents\":%lld,\"chunks\":%lld,\"index\":%s,\"llm_circuit\":\"%s\","
        "\"draining\":%s}",
        ready ? "ready" : "not_ready", rc ? "unreachable" : "ok",
        rc ? 0LL : (long long)st.kb_version, rc ? 0LL : (long long)st.n_docs,
        rc ? 0LL : (long long)st.n_chunks, !rc && st.snapshot_bytes ? "\"loaded\"" : "\"empty\"",
        breaker, atomic_load(&s->draining) ? "true" : "false");
    enum MHD_Result res = brc ? MHD_NO : http_send_json(r, ready ? 200 : 503, &b);
    fd_buf_free(&b);
    return res;
}

/* The caches' counters, sampled at scrape time. */
static int cache_metrics(fd_server *s, fd_buf *b)
{
    fd_cache_stats cs;
    fd_cache_stats_get(s->cache, &cs);
    int rc = fd_buf_printf(b, "# HELP frontdesk_cache_requests_total cache lookups by layer and "
                              "result\n# TYPE frontdesk_cache_requests_total counter\n");
    for (int l = 0; l < FD_CACHE_N_LAYERS && !rc; l++)
        rc = fd_buf_printf(b,
                           "frontdesk_cache_requests_total{layer=\"%s\",result=\"hit\"} %llu\n"
                           "frontdesk_cache_requests_total{layer=\"%s\",result=\"miss\"} %llu\n",
                           fd_cache_layer_name(l), (unsigned long long)cs.layer[l].hits,
                           fd_cache_layer_name(l), (unsigned long long)cs.layer[l].misses);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } per_layer[] = {
        {"frontdesk_cache_puts_total", "counter", "entries stored",
         offsetof(fd_cache_layer_stats, puts)},
        {"frontdesk_cache_evictions_total", "counter", "entries evicted for the byte budget",
         offsetof(fd_cache_layer_stats, evictions)},
        {"frontdesk_cache_expired_total", "counter", "entries dropped past their TTL",
         offsetof(fd_cache_layer_stats, expired)},
        {"frontdesk_cache_purged_total", "counter", "entries of an older kb version dropped",
         offsetof(fd_cache_layer_stats, purged)},
        {"frontdesk_cache_entries", "gauge", "entries held locally",
         offsetof(fd_cache_layer_stats, entries)},
        {"frontdesk_cache_bytes", "gauge", "bytes held locally",
         offsetof(fd_cache_layer_stats, bytes)},
    };
    for (size_t i = 0; i < sizeof per_layer / sizeof *per_layer && !rc; i++) {
        rc = fd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", per_layer[i].name, per_layer[i].help,
                           per_layer[i].name, per_layer[i].type);
        for (int l = 0; l < FD_CACHE_N_LAYERS && !rc; l++) {
            uint64_t v;
            memcpy(&v, (const char *)&cs.layer[l] + per_layer[i].off, sizeof v);
            rc = fd_buf_printf(b, "%s{layer=\"%s\"} %llu\n", per_layer[i].name,
                               fd_cache_layer_name(l), (unsigned long long)v);
        }
    }
    if (!rc)
        rc = fd_buf_printf(
            b,
            "# HELP frontdesk_cache_max_bytes local cache budget\n"
            "# TYPE frontdesk_cache_max_bytes gauge\nfrontdesk_cache_max_bytes %llu\n"
            "# HELP frontdesk_cache_flights_total single-flight outcomes\n"
            "# TYPE frontdesk_cache_flights_total counter\n"
            "frontdesk_cache_flights_total{role=\"led\"} %llu\n"
            "frontdesk_cache_flights_total{role=\"followed\"} %llu\n"
            "frontdesk_cache_flights_total{role=\"timeout\"} %llu\n",
            (unsigned long long)cs.max_bytes, (unsigned long long)cs.flights_led,
            (unsigned long long)cs.flights_followed, (unsigned long long)cs.flight_timeouts);
    if (!rc && cs.redis_configured)
        rc = fd_buf_printf(
            b,
            "# HELP frontdesk_redis_up 1 when Redis answers (0: local cache and limits)\n"
            "# TYPE frontdesk_redis_up gauge\nfrontdesk_redis_up %d\n"
            "# HELP frontdesk_redis_errors_total failed Redis commands (each falls back to local)\n"
            "# TYPE frontdesk_redis_errors_total counter\nfrontdesk_redis_errors_total %llu\n"
            "# HELP frontdesk_redis_recoveries_total times Redis came back after a failure\n"
            "# TYPE frontdesk_redis_recoveries_total counter\n"
            "frontdesk_redis_recoveries_total %llu\n"
            "# HELP frontdesk_cache_redis_hits_total local misses answered by Redis\n"
            "# TYPE frontdesk_cache_redis_hits_total counter\n"
            "frontdesk_cache_redis_hits_total %llu\n"
            "# HELP frontdesk_redis_fallbacks_total cache and rate-limit operations done locally "
            "because Redis was unavailable\n"
            "# TYPE frontdesk_redis_fallbacks_total counter\nfrontdesk_redis_fallbacks_total "
            "%llu\n",
            cs.redis_up, (unsigned long long)cs.redis_errors,
            (unsigned long long)cs.redis_recoveries, (unsigned long long)cs.redis_hits,
            (unsigned long long)cs.redis_fallbacks);
    return rc;
}

static enum MHD_Result get_metrics(request *r)
{
    fd_server *s = r->srv;
    enum MHD_Result denied;
    if (!metrics_allowed(r, &denied))
        return denied;
    /* LLM state is sampled at scrape time. */
    fd_llm_stats ls;
    int have = s->llm != NULL;
    if (have)
        fd_llm_stats_get(s->llm, &ls);
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_metrics_render(s->metrics, &b);
    if (!rc)
        rc = cache_metrics(s, &b);
    if (!rc && have)
        rc =
            fd_buf_printf(&b,
                          "# HELP frontdesk_llm_breaker_open 1 when the LLM circuit is open\n"
                          "# TYPE frontdesk_llm_breaker_open gauge\n"
                          "frontdesk_llm_breaker_open %d\n"
                          "# HELP frontdesk_llm_inflight LLM calls in flight (running or queued)\n"
                          "# TYPE frontdesk_llm_inflight gauge\nfrontdesk_llm_inflight %d\n"
                          "# HELP frontdesk_llm_queue_length LLM calls waiting for a slot\n"
                          "# TYPE frontdesk_llm_queue_length gauge\nfrontdesk_llm_queue_length %d\n"
                          "# HELP frontdesk_llm_client_total LLM client events by kind\n"
                          "# TYPE frontdesk_llm_client_total counter\n"
                          "frontdesk_llm_client_total{kind=\"retry\"} %llu\n"
                          "frontdesk_llm_client_total{kind=\"refused\"} %llu\n"
                          "frontdesk_llm_client_total{kind=\"timeout\"} %llu\n"
                          "frontdesk_llm_client_total{kind=\"cancelled\"} %llu\n"
                          "frontdesk_llm_client_total{kind=\"queue_full\"} %llu\n"
                          "frontdesk_llm_client_total{kind=\"queue_timeout\"} %llu\n",
                          ls.breaker == FD_BREAKER_OPEN, ls.inflight, ls.queued,
                          (unsigned long long)ls.retries, (unsigned long long)ls.refused,
                          (unsigned long long)ls.timeouts, (unsigned long long)ls.cancelled,
                          (unsigned long long)ls.queue_full, (unsigned long long)ls.queue_timeouts);
    if (!rc && s->listener) {
        /* PostgreSQL notices: while down, other replicas' changes arrive
         * only by the one-second polls. */
        int up;
        uint64_t failures;
        fd_store_listener_health(s->listener, &up, &failures);
        rc = fd_buf_printf(&b,
                           "# HELP frontdesk_store_listener_up 1 while the replica hears "
                           "PostgreSQL notices (other replicas' changes at once)\n"
                           "# TYPE frontdesk_store_listener_up gauge\n"
                           "frontdesk_store_listener_up %d\n"
                           "# HELP frontdesk_store_listener_failures_total notice connections "
                           "that failed or were lost\n"
                           "# TYPE frontdesk_store_listener_failures_total counter\n"
                           "frontdesk_store_listener_failures_total %llu\n",
                           up, (unsigned long long)failures);
        /* Index snapshots offered to the other replicas after a build: a
         * failure costs each of them a build of its own. */
        uint64_t shared = 0, failed = 0;
        double secs = 0;
        pthread_mutex_lock(&s->kbs.mu);
        for (size_t i = 0; i < s->kbs.n; i++) {
            uint64_t a, f;
            double t;
            fd_kb_shares(s->kbs.all[i], &a, &f, &t);
            shared += a, failed += f, secs += t;
        }
        pthread_mutex_unlock(&s->kbs.mu);
        if (!rc)
            rc = fd_buf_printf(&b,
                               "# HELP frontdesk_snapshot_shares_total index snapshots this "
                               "replica built and offered the others through the store\n"
                               "# TYPE frontdesk_snapshot_shares_total counter\n"
                               "frontdesk_snapshot_shares_total{result=\"shared\"} %llu\n"
                               "frontdesk_snapshot_shares_total{result=\"failed\"} %llu\n"
                               "# HELP frontdesk_snapshot_share_seconds_total time spent putting "
                               "them into the store\n"
                               "# TYPE frontdesk_snapshot_share_seconds_total counter\n"
                               "frontdesk_snapshot_share_seconds_total %.3f\n",
                               (unsigned long long)shared, (unsigned long long)failed, secs);
    }
    if (!rc)
        rc = fd_buf_printf(&b,
                           "# HELP frontdesk_memory_allocated_bytes bytes held through fd_malloc\n"
                           "# TYPE frontdesk_memory_allocated_bytes gauge\n"
                           "frontdesk_memory_allocated_bytes %zu\n"
                           "# HELP frontdesk_rss_bytes resident set size\n"
                           "# TYPE frontdesk_rss_bytes gauge\nfrontdesk_rss_bytes %zu\n",
                           fd_alloc_bytes(), fd_rss_now());
    fd_committer_stats cst;
    fd_committer_stats_get(s->committer, &cst);
    if (!rc)
        rc = fd_buf_printf(&b,
                           "# HELP frontdesk_commit_batches_total transactions of the group "
                           "commit\n"
                           "# TYPE frontdesk_commit_batches_total counter\n"
                           "frontdesk_commit_batches_total %llu\n"
                           "# HELP frontdesk_commit_turns_total chat turns in those "
                           "transactions, stored or failed (answered 503)\n"
                           "# TYPE frontdesk_commit_turns_total counter\n"
                           "frontdesk_commit_turns_total{result=\"stored\"} %llu\n"
                           "frontdesk_commit_turns_total{result=\"failed\"} %llu\n",
                           cst.batches, cst.turns - cst.turns_failed, cst.turns_failed);
    if (!rc && cst.wal_pages >= 0)
        rc = fd_buf_printf(&b,
                           "# HELP frontdesk_wal_checkpoints_total SQLite WAL checkpoints: "
                           "passive ones every 250 ms of commits, restarts past the log's bound; "
                           "a failed one is tried again\n"
                           "# TYPE frontdesk_wal_checkpoints_total counter\n"
                           "frontdesk_wal_checkpoints_total{kind=\"passive\",result=\"ok\"} %llu\n"
                           "frontdesk_wal_checkpoints_total{kind=\"passive\",result=\"failed\"} "
                           "%llu\n"
                           "frontdesk_wal_checkpoints_total{kind=\"restart\",result=\"ok\"} %llu\n"
                           "frontdesk_wal_checkpoints_total{kind=\"restart\",result=\"failed\"} "
                           "%llu\n"
                           "# HELP frontdesk_wal_pages the WAL's length in pages after the last "
                           "checkpoint\n"
                           "# TYPE frontdesk_wal_pages gauge\nfrontdesk_wal_pages %d\n",
                           cst.checkpoints_ok, cst.checkpoints_failed, cst.restarts_ok,
                           cst.restarts_failed, cst.wal_pages);
    fd_heap_stats hs;
    if (!rc && fd_heap_stats_now(&hs) == FD_OK)
        rc = fd_buf_printf(&b,
                           "# HELP frontdesk_heap_bytes the C library's heap: in_use is held "
                           "by any code, free is kept inside its arenas\n"
                           "# TYPE frontdesk_heap_bytes gauge\n"
                           "frontdesk_heap_bytes{state=\"in_use\"} %zu\n"
                           "frontdesk_heap_bytes{state=\"free\"} %zu\n"
                           "# HELP frontdesk_heap_mmapped_bytes of in_use, the large blocks "
                           "served by mmap\n"
                           "# TYPE frontdesk_heap_mmapped_bytes gauge\n"
                           "frontdesk_heap_mmapped_bytes %zu\n",
                           hs.in_use, hs.free, hs.mmapped);
    enum MHD_Result res =
        rc ? MHD_NO : http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    fd_buf_free(&b);
    return res;
}

/* ---- chat ------------------------------------------------------------------- */

int http_chat_limits(request *r, const char *session, enum MHD_Result *res)
{
    const fd_config *cfg = r->srv->cfg;
    return (!session || take(r, "session", session, cfg->limit_session_per_min, res)) &&
           (r->has_key || take(r, "ip", r->ip, cfg->limit_ip_per_min, res)) &&
           take(r, "global", "all", cfg->limit_global_per_min, res);
}

static enum MHD_Result chat_route(request *r, const chat_format *fmt)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_CHAT, &res))
        return res;
    const char *token_user = NULL; /* X-User-Token's sub: overrides the body's user */
    if (!http_user_token(r, &token_user, &res))
        return res;
    if (!http_body_json_ok(r, &res))
        return res;
    http_chat_body cb;
    http_perr pe;
    if (http_parse_chat(r->body.p, r->body.len, &cb, &pe))
        return http_send_perr(r, &pe);
    /* "trace": true, for admin keys: every candidate document's evidence
     * in the reply's decision (the answer is computed, not cached). */
    if (cb.trace && !(r->has_key && fd_scopes_allow(r->key.scopes, FD_SCOPE_ADMIN))) {
        json_decref(cb.j);
        return http_send_error(r, 403, "forbidden", "trace needs an admin key", "trace");
    }
    char owner[HTTP_PRINCIPAL_MAX];
    if (!http_principal(r, token_user, owner, sizeof owner, &res) ||
        !http_chat_limits(r, cb.session_id, &res) ||
        http_idem_claim(r, owner, fmt->stream ? "chat.stream" : "",
                        fmt->stream ? "text/event-stream" : "application/json", &res)) {
        json_decref(cb.j);
        return res;
    }
    fd_turn_in in = {.message = cb.message,
                     .trace = cb.trace,
                     .owner = owner,
                     .len = cb.len,
                     .session_id = cb.session_id,
                     .user = token_user ? token_user : cb.user,
                     .request_id = r->id,
                     .traceparent =
                         MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "traceparent"),
                     .no_cache = cb.trace || http_no_cache(r),
                     .key_id = http_key_label(r)};
    res = http_chat(r, &in, fmt);
    json_decref(cb.j);
    return res;
}

static enum MHD_Result post_chat(request *r)
{
    return chat_route(r, &http_chat_json);
}

static enum MHD_Result post_chat_stream(request *r)
{
    return chat_route(r, &http_chat_sse);
}

/* ---- sessions ---------------------------------------------------------------- */

static enum MHD_Result session_route(request *r, const char *id)
{
    enum MHD_Result res;
    int del = strcmp(r->method, "DELETE") == 0;
    if (!del && strcmp(r->method, "GET") != 0)
        return method_not_allowed(r, "GET, DELETE");
    /* Operators read handed-off sessions (the console); only the owner
     * deletes. */
    if (!http_auth_either(r, FD_SCOPE_CHAT, del ? 0 : FD_SCOPE_OPERATOR, &res))
        return res;
    fd_session_row row;
    if (!http_session_access(r, id, !del, &row, &res))
        return res;
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = del ? fd_store_session_delete(fd_kb_store(kb), id, &err)
                 : fd_dialog_session_json(kb, id, &b, &err);
    http_kb_put(r->srv, kb);
    if (rc)
        res = http_send_err(r, &err);
    else if (del)
        res = http_send(r, 200, "application/json", "{\"deleted\":true}", 16);
    else
        res = http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

/* POST /v1/sessions/{id}/rating {"score": 1..5, "comment"?}: the customer's
 * rating of the conversation (the page asks once a person hands it back).
 * Only the session's owner rates it; kept as an analytics event of the
 * session (erased with it) and counted in frontdesk_ratings_total. */
static enum MHD_Result session_rating(request *r, const char *id)
{
    enum MHD_Result res;
    if (strcmp(r->method, "POST") != 0)
        return method_not_allowed(r, "POST");
    if (!http_auth_either(r, FD_SCOPE_CHAT, 0, &res))
        return res;
    fd_session_row row;
    if (!http_session_access(r, id, 0, &row, &res))
        return res;
    if (!http_body_json_ok(r, &res))
        return res;
    http_rating_body rb;
    http_perr pe;
    if (http_parse_rating(r->body.p, r->body.len, &rb, &pe))
        return http_send_perr(r, &pe);
    int score = rb.score;
    json_t *data = json_pack("{s:i}", "score", score);
    if (data && rb.comment && rb.comment_len)
        json_object_set_new(data, "comment", json_string(rb.comment));
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    json_decref(rb.j);
    if (!text)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    int rc = fd_store_event_add(fd_kb_store(kb), id, 0, "rating", text, &err);
    http_kb_put(r->srv, kb);
    free(text);
    if (rc)
        return http_send_err(r, &err);
    char label[4];
    snprintf(label, sizeof label, "%d", score);
    fd_metric_add(r->srv->m.ratings, 1, label);
    char body[48];
    int n = snprintf(body, sizeof body, "{\"rated\":true,\"score\":%d}", score);
    return http_send(r, 200, "application/json", body, (size_t)n);
}

/* ---- a customer's data: export and erasure (admin) ---------------------------- */

/* GET /v1/users/{id}/export and DELETE /v1/users/{id}: every conversation of
 * an end user (the chat's user, or its JWT subject), or all of it erased in
 * one transaction, and the local caches dropped. Both are audited. */
static enum MHD_Result user_route(request *r, const char *id, int export)
{
    enum MHD_Result res;
    if (strcmp(r->method, export ? "GET" : "DELETE") != 0)
        return method_not_allowed(r, export ? "GET" : "DELETE");
    if (!http_auth(r, FD_SCOPE_ADMIN, &res))
        return res;
    char user[256];
    if (!id[0] || strlen(id) >= sizeof user || !fd_utf8_valid(id, strlen(id), NULL))
        return http_send_error(r, 422, "invalid_field", "user id must be 1-255 bytes of UTF-8",
                               "id");
    snprintf(user, sizeof user, "%s", id);
    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    fd_err err = {0};
    fd_buf b;
    fd_buf_init(&b, 0);
    int n = 0;
    int64_t erased = 0;
    int rc = export ? fd_dialog_user_export_json(kb, user, &b, &n, &err)
                    : fd_store_user_erase(st, user, &erased, &err);
    if (!rc) {
        char detail[64];
        snprintf(detail, sizeof detail, "%lld sessions", export ? (long long)n : (long long)erased);
        rc = fd_store_audit_add(st, http_key_label(r), export ? "user.export" : "user.erase", user,
                                detail, &err);
    }
    http_kb_put(r->srv, kb);
    if (!rc && !export) {
        /* Answers are never cached per person, but a message's words may
         * be in an exact-cache key: drop this process's entries. */
        fd_cache_purge(r->srv->cache, -1);
        fd_buf_reset(&b);
        rc = fd_buf_printf(&b, "{\"user\":") || fd_buf_json_str(&b, user, strlen(user)) ||
                     fd_buf_printf(&b, ",\"erased_sessions\":%lld}", (long long)erased)
                 ? fd_err_set(&err, FD_ENOMEM, "out of memory")
                 : FD_OK;
    }
    res = rc ? http_send_err(r, &err) : http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

/* ---- search and documents ------------------------------------------------------ */

static enum MHD_Result get_search(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_CHAT, &res))
        return res;
    http_search_query sq;
    http_perr pe;
    if (http_parse_search_query(MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "q"),
                                MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "k"),
                                MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "mode"),
                                r->srv->cfg->search_mode, (size_t)r->srv->cfg->search_k, &sq, &pe))
        return http_send_perr(r, &pe);
    fd_search_opts so = {.k = sq.k, .mode = sq.mode};
    const char *q = sq.q;
    fd_kb *kb = http_kb_get(r->srv);
    fd_result *hits = NULL;
    size_t n = 0;
    fd_err err = {0};
    int rc = fd_kb_search(kb, fd_str_c(q), &so, r->a, &hits, &n, &err);
    fd_buf b;
    fd_buf_init(&b, 0);
    int brc = fd_buf_printf(&b, "{\"results\":[");
    for (size_t i = 0; !rc && !brc && i < n; i++) {
        brc = fd_buf_printf(&b, "%s{\"document\":", i ? "," : "");
        brc = brc ? brc : fd_buf_json_str(&b, hits[i].doc_key, strlen(hits[i].doc_key));
        brc = brc ? brc : fd_buf_printf(&b, ",\"title\":");
        brc = brc ? brc : fd_buf_json_str(&b, hits[i].title, strlen(hits[i].title));
        brc = brc ? brc : fd_buf_printf(&b, ",\"section\":");
        brc = brc ? brc : fd_buf_json_str(&b, hits[i].section, strlen(hits[i].section));
        brc = brc ? brc : fd_buf_printf(&b, ",\"snippet\":");
        brc = brc ? brc : fd_buf_json_str(&b, hits[i].snippet, strlen(hits[i].snippet));
        brc = brc ? brc : fd_buf_printf(&b, ",\"score\":%.4f}", hits[i].score);
    }
    http_kb_put(r->srv, kb);
    brc = brc ? brc : fd_buf_printf(&b, "],\"mode\":\"%s\"}", fd_search_mode_name(so.mode));
    if (rc == FD_EINVAL)
        res = http_send_error(r, 422, "invalid_field", err.msg, "q");
    else if (rc)
        res = http_send_err(r, &err);
    else
        res = brc ? MHD_NO : http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

typedef struct docs_ctx {
    fd_buf *b;
    int n, rc;
} docs_ctx;

static int doc_json(void *ctx, const fd_kb_doc *d)
{
    docs_ctx *c = ctx;
    fd_buf *b = c->b;
    int rc = fd_buf_printf(b, "%s{\"id\":", c->n++ ? "," : "");
    rc = rc ? rc : fd_buf_json_str(b, d->key, strlen(d->key));
    rc = rc ? rc : fd_buf_printf(b, ",\"title\":");
    rc = rc ? rc : fd_buf_json_str(b, d->title, strlen(d->title));
    rc = rc ? rc : fd_buf_printf(b, ",\"tag\":");
    rc = rc ? rc : fd_buf_json_str(b, d->tag, strlen(d->tag));
    rc = rc ? rc : fd_buf_printf(b, ",\"lang\":");
    rc = rc ? rc : fd_buf_json_str(b, d->lang, strlen(d->lang));
    rc = rc ? rc
            : fd_buf_printf(b, ",\"chunks\":%lld,\"kb_version\":%lld}", (long long)d->n_chunks,
                            (long long)d->kb_version);
    c->rc = rc;
    return rc ? 1 : 0;
}

static enum MHD_Result get_documents(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_INGEST, &res))
        return res;
    fd_buf b;
    fd_buf_init(&b, 0);
    docs_ctx c = {&b, 0, 0};
    fd_err err = {0};
    int rc = fd_buf_printf(&b, "{\"documents\":[");
    fd_kb *kb = http_kb_get(r->srv);
    if (!rc)
        rc = fd_kb_docs_each(kb, doc_json, &c, &err);
    http_kb_put(r->srv, kb);
    return http_send_list(r, &b, rc, c.rc, &err);
}

/* ---- who am I: the key a client holds (the console checks it at sign-in) ------ */

static enum MHD_Result get_me(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, 0, &res))
        return res;
    if (!r->has_key)
        return http_send(r, 200, "application/json", "{\"key\":null,\"open\":true}", 26);
    if (r->is_agent) {
        /* The console shows who is signed in, and until when. */
        json_t *j =
            json_pack("{s:{s:s, s:s, s:[s], s:f}, s:{s:s, s:s, s:f}}", "key", "name", r->key.name,
                      "prefix", r->key.prefix, "scopes", "operator", "expires_at",
                      r->key.expires_at, "agent", "name", r->agent.name, "display_name",
                      r->agent.display_name, "expires_at", r->agent.expires_at);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        res = s ? http_send(r, 200, "application/json", s, strlen(s))
                : http_send_error(r, 500, "internal", "out of memory", NULL);
        free(s);
        return res;
    }
    char scopes[96];
    fd_scopes_format(r->key.scopes, scopes, sizeof scopes);
    json_t *sc = json_array();
    for (char *p = scopes, *tok; sc && (tok = strtok_r(p, ",", &p)) != NULL;)
        json_array_append_new(sc, json_string(tok));
    json_t *j = json_pack("{s:{s:I, s:s, s:s, s:o, s:f}}", "key", "id", (json_int_t)r->key.id,
                          "name", r->key.name, "prefix", r->key.prefix, "scopes", sc, "expires_at",
                          r->key.expires_at);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    res = s ? http_send(r, 200, "application/json", s, strlen(s))
            : http_send_error(r, 500, "internal", "out of memory", NULL);
    free(s);
    return res;
}

/* ---- dispatch ----------------------------------------------------------------- */

static enum MHD_Result get_openapi(request *r)
{
    return http_send(r, 200, "application/json", http_openapi_json, strlen(http_openapi_json));
}

/* GET /widget.json: how the chat page presents itself (widget.* settings,
 * else the KB's company name and the assistant's greeting), public like
 * the page: the name, colour and welcome a visitor sees anyway. */
static enum MHD_Result get_widget(request *r)
{
    fd_server *s = r->srv;
    assistant_ref *ref = http_assistant_get(s);
    const char *company = fd_assistant_company(ref->as);
    const char *name = s->cfg->widget_name[0] ? s->cfg->widget_name : company;
    char welcome_en[600], welcome_fr[600];
    if (s->cfg->widget_welcome[0]) {
        snprintf(welcome_en, sizeof welcome_en, "%s", s->cfg->widget_welcome);
        snprintf(welcome_fr, sizeof welcome_fr, "%s", s->cfg->widget_welcome);
    } else {
        fd_assistant_welcome(ref->as, FD_LANG_EN, welcome_en, sizeof welcome_en);
        fd_assistant_welcome(ref->as, FD_LANG_FR, welcome_fr, sizeof welcome_fr);
    }
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_buf_printf(&b, "{\"name\":");
    rc = rc ? rc : name ? fd_buf_json_str(&b, name, strlen(name)) : fd_buf_printf(&b, "null");
    const char *color = fd_config_color_ok(s->cfg->widget_color) ? s->cfg->widget_color : "#2454d6";
    rc = rc ? rc : fd_buf_printf(&b, ",\"color\":\"%s\",\"welcome\":{\"en\":", color);
    rc = rc ? rc : fd_buf_json_str(&b, welcome_en, strlen(welcome_en));
    rc = rc ? rc : fd_buf_printf(&b, ",\"fr\":");
    rc = rc ? rc : fd_buf_json_str(&b, welcome_fr, strlen(welcome_fr));
    rc = rc ? rc : fd_buf_printf(&b, "}}");
    http_assistant_put(ref);
    enum MHD_Result res = rc ? MHD_NO : http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

/* Fixed paths: one row per method (a path's rows adjacent, so a 405 can
 * list them). `open` routes still answer while draining (probes and
 * scrapes must see the shutdown). */
static const struct route {
    const char *path, *method;
    enum MHD_Result (*run)(request *r);
    int open;
} routes[] = {
    {"/healthz", "GET", get_healthz, 1},
    {"/readyz", "GET", get_readyz, 1},
    {"/metrics", "GET", get_metrics, 1},
    {"/openapi.json", "GET", get_openapi, 1},
    {"/widget.json", "GET", get_widget, 0},
    {"/v1/chat", "POST", post_chat, 0},
    {"/v1/chat/stream", "POST", post_chat_stream, 0},
    {"/v1/search", "GET", get_search, 0},
    {"/v1/documents", "GET", get_documents, 0},
    {"/v1/documents", "POST", http_post_document, 0},
    {"/v1/chat/completions", "POST", http_post_completions, 0},
    {"/v1/models", "GET", http_get_models, 0},
    {"/v1/handoffs", "GET", http_get_handoffs, 0},
    {"/v1/handoffs/events", "GET", http_queue_events, 0},
    {"/v1/canned-replies", "GET", http_get_canned, 0},
    {"/v1/ratings", "GET", http_get_ratings, 0},
    {"/v1/orders", "GET", http_get_orders, 0},
    {"/v1/me", "GET", get_me, 0},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

size_t http_body_cap(const fd_config *cfg, const char *method, const char *url)
{
    /* Only the upload gets the large cap: every other body is a small JSON
     * object, and a large cap there is memory an attacker can pin. */
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/documents") == 0)
        return (size_t)cfg->server_max_upload;
    /* A customer's image: its own cap (server.max_attachment_bytes). */
    size_t n = strlen(url);
    if (strcmp(method, "POST") == 0 && strncmp(url, "/v1/sessions/", 13) == 0 && n > 25 &&
        strcmp(url + n - 12, "/attachments") == 0)
        return (size_t)cfg->server_max_attachment;
    return (size_t)cfg->server_max_body;
}

enum MHD_Result http_dispatch(request *r, const char *url)
{
    const char *m = r->method;
    int head = strcmp(m, "HEAD") == 0;
    if (strcmp(m, "OPTIONS") == 0) {
        r->route = "preflight";
        return http_send(r, 204, "text/plain", "", 0);
    }
    char allow[64] = "";
    for (size_t i = 0; i < N_ROUTES; i++) {
        const struct route *rt = &routes[i];
        if (strcmp(url, rt->path) != 0)
            continue;
        r->route = rt->path;
        if (strcmp(m, rt->method) != 0 && !(head && strcmp(rt->method, "GET") == 0)) {
            size_t n = strlen(allow);
            snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", rt->method);
            continue;
        }
        if (!rt->open && atomic_load(&r->srv->draining))
            return http_send_error(r, 503, "unavailable", "server is shutting down", NULL);
        return rt->run(r);
    }
    if (allow[0])
        return method_not_allowed(r, allow);
    if (atomic_load(&r->srv->draining))
        return http_send_error(r, 503, "unavailable", "server is shutting down", NULL);
    /* the agents' routes (issue 14): images in a session, agent accounts */
    if (strncmp(url, "/v1/sessions/", 13) == 0 && url[13]) {
        const char *id = url + 13, *slash = strchr(id, '/');
        if (slash && strncmp(slash, "/attachments", 12) == 0 &&
            (slash[12] == '\0' || slash[12] == '/') && slash > id) {
            char sid[80];
            if ((size_t)(slash - id) >= sizeof sid)
                return http_send_error(r, 404, "not_found", "no such session", NULL);
            memcpy(sid, id, (size_t)(slash - id));
            sid[slash - id] = '\0';
            return http_attachments_route(r, sid, slash + 12);
        }
    }
    if (strncmp(url, "/v1/agents", 10) == 0 && (url[10] == '\0' || url[10] == '/'))
        return http_agents_route(r, url + 10);
    http_path p;
    switch (http_parse_path(url, &p)) {
    case HTTP_PATH_NONE:
        break;
    case HTTP_PATH_DOCUMENT:
        r->route = p.route;
        return http_document_route(r, p.id);
    case HTTP_PATH_SESSION_EVENTS:
        r->route = p.route;
        if (strcmp(r->method, "GET") != 0)
            return method_not_allowed(r, "GET");
        if (p.too_long)
            return http_send_error(r, 404, "not_found", "no such session", NULL);
        return http_session_events(r, p.id);
    case HTTP_PATH_SESSION_RATING:
        r->route = p.route;
        if (p.too_long)
            return http_send_error(r, 404, "not_found", "no such session", NULL);
        return session_rating(r, p.id);
    case HTTP_PATH_SESSION:
        r->route = p.route;
        return session_route(r, p.id);
    case HTTP_PATH_USER:
        r->route = p.route;
        return user_route(r, p.id, 0);
    case HTTP_PATH_USER_EXPORT:
        if (p.too_long)
            return http_send_error(r, 422, "invalid_field", "user id too long", "id");
        r->route = p.route;
        return user_route(r, p.id, 1);
    case HTTP_PATH_ORDER:
        r->route = p.route;
        return http_order_route(r, p.id);
    case HTTP_PATH_HANDOFF:
    case HTTP_PATH_HANDOFF_ACTION:
        r->route = p.route;
        return http_handoff_route(r, p.handoff, p.action);
    }
    enum MHD_Result res;
    if (http_static(r, url, &res))
        return res;
    return http_send_error(r, 404, "not_found", "no such endpoint", NULL);
}
