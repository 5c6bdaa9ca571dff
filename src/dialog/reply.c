/* reply.c: replies and sessions as the API's JSON (ask --json, /v1/chat,
 * /v1/sessions/{id}). Strings go through fd_buf_json_str, which also
 * escapes <, > and &, so nothing a customer typed comes back as markup. */
#include "turn_int.h"

#include <ctype.h>
#include <string.h>

static int jstr(fd_buf *b, const char *s)
{
    return s ? fd_buf_json_str(b, s, strlen(s)) : fd_buf_printf(b, "null");
}

static const char *tf(int v)
{
    return v ? "true" : "false";
}

/* Appends s percent-encoded, '/' kept (a document key is a path). */
static int url_path(fd_buf *b, const char *s, size_t n)
{
    int rc = FD_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || strchr("-._~/", c))
            rc = fd_buf_putc(b, (char)c);
        else
            rc = fd_buf_printf(b, "%%%02X", c);
    }
    return rc;
}

/* The citation's public page: the template with {key} (the document key,
 * "kb/faq/delivery.md"), {doc} (without the file extension) and {name} (the
 * file's name without it, "delivery") filled in, percent-encoded; into out.
 * 0: none (no template, or a catalogue row "products.csv#PB-1201"). */
static int cite_url(const char *tpl, const char *key, fd_buf *out)
{
    if (!tpl || !key || !*key || strchr(key, '#'))
        return 0;
    const char *slash = strrchr(key, '/'), *dot = strrchr(key, '.');
    size_t doc_len = dot && (!slash || dot > slash + 1) ? (size_t)(dot - key) : strlen(key);
    const char *name = slash ? slash + 1 : key;
    for (const char *p = tpl; *p;) {
        int rc;
        if (!strncmp(p, "{doc}", 5)) {
            rc = url_path(out, key, doc_len);
            p += 5;
        } else if (!strncmp(p, "{name}", 6)) {
            rc = url_path(out, name, doc_len - (size_t)(name - key));
            p += 6;
        } else if (!strncmp(p, "{key}", 5)) {
            rc = url_path(out, key, strlen(key));
            p += 5;
        } else {
            rc = fd_buf_putc(out, *p++);
        }
        if (rc)
            return -1;
    }
    return 1;
}

int dialog_cites_json(const fd_reply *r, fd_buf *b)
{
    int rc = fd_buf_putc(b, '[');
    for (size_t i = 0; i < r->n_citations && !rc; i++) {
        const fd_reply_cite *c = &r->citations[i];
        rc = fd_buf_printf(b, "%s{\"document\":", i ? "," : "");
        rc = rc ? rc : jstr(b, c->document);
        rc = rc ? rc : fd_buf_printf(b, ",\"title\":");
        rc = rc ? rc : jstr(b, c->title ? c->title : "");
        rc = rc ? rc : fd_buf_printf(b, ",\"section\":");
        rc = rc ? rc : jstr(b, c->section ? c->section : "");
        if (!rc && r->source_url) {
            fd_buf u;
            fd_buf_init(&u, 8192);
            int got = cite_url(r->source_url, c->document, &u);
            if (got < 0)
                rc = FD_ENOMEM;
            else if (got)
                rc = fd_buf_printf(b, ",\"url\":") || fd_buf_json_str(b, u.p, u.len);
            fd_buf_free(&u);
        }
        rc = rc ? rc : fd_buf_putc(b, '}');
    }
    return rc ? rc : fd_buf_putc(b, ']');
}

int fd_reply_cites_json(const fd_reply *r, fd_buf *b)
{
    return dialog_cites_json(r, b);
}

int fd_reply_json(const fd_reply *r, fd_buf *b)
{
    int rc = fd_buf_printf(b, "{\"answer\":");
    rc = rc ? rc : jstr(b, r->answer ? r->answer : "");
    rc = rc ? rc : fd_buf_printf(b, ",\"answered\":%s,\"session_id\":", tf(r->answered));
    rc = rc ? rc : jstr(b, r->session_id);
    rc = rc ? rc : fd_buf_printf(b, ",\"intent\":");
    rc = rc ? rc : jstr(b, r->intent ? r->intent : "");
    rc = rc ? rc : fd_buf_printf(b, ",\"confidence\":%.4f,\"route\":", r->confidence);
    rc = rc ? rc : jstr(b, r->route);
    rc = rc ? rc : fd_buf_printf(b, ",\"citations\":");
    rc = rc ? rc : dialog_cites_json(r, b);
    rc = rc ? rc : fd_buf_printf(b, ",\"escalation\":");
    if (!rc && r->escalation_tier) {
        rc = fd_buf_printf(b, "{\"tier\":");
        rc = rc ? rc : jstr(b, r->escalation_tier);
        rc = rc ? rc : fd_buf_printf(b, ",\"ticket\":");
        rc = rc ? rc : jstr(b, r->escalation_ticket);
        rc = rc ? rc : fd_buf_printf(b, ",\"reason\":");
        rc = rc ? rc : jstr(b, r->escalation_reason);
        rc = rc ? rc : fd_buf_printf(b, ",\"online\":%s}", tf(r->escalation_online));
    } else if (!rc) {
        rc = fd_buf_printf(b, "null");
    }
    rc = rc ? rc
            : fd_buf_printf(b, ",\"grounded\":%s,\"degraded\":%s,\"language\":", tf(r->grounded),
                            tf(r->degraded));
    rc = rc ? rc : jstr(b, r->language ? r->language : "en");
    rc = rc ? rc : fd_buf_printf(b, ",\"guard\":{\"flagged\":%s,\"kind\":", tf(r->guard_flagged));
    rc = rc ? rc : jstr(b, r->guard_kind ? r->guard_kind : "none");
    rc = rc ? rc : fd_buf_printf(b, ",\"score\":%.4f},\"validation\":", r->guard_score);
    rc = rc ? rc : jstr(b, r->validation);
    rc = rc ? rc : fd_buf_printf(b, ",\"query\":");
    rc = rc ? rc : jstr(b, r->query ? r->query : "");
    if (r->decision) {
        /* The decision trace: why this answer, or why none. */
        rc = rc ? rc : fd_buf_printf(b, ",\"decision\":{\"outcome\":");
        rc = rc ? rc : jstr(b, r->decision);
        rc = rc ? rc : fd_buf_printf(b, ",\"support\":%.4f,\"document\":", r->support);
        rc = rc ? rc : r->decision_doc ? jstr(b, r->decision_doc) : fd_buf_printf(b, "null");
        rc = rc ? rc : fd_buf_printf(b, ",\"missing_word\":");
        rc = rc ? rc : r->decision_focus ? jstr(b, r->decision_focus) : fd_buf_printf(b, "null");
        if (!rc && r->trace)
            rc = fd_buf_printf(b, ",\"answerability\":%.4f", r->trace->confidence);
        for (size_t i = 0; !rc && r->trace && i <= r->trace->n; i++) {
            if (i == r->trace->n) {
                rc = fd_buf_printf(b, "]");
                break;
            }
            const fd_answer_cand *k = &r->trace->v[i];
            rc = fd_buf_printf(b, "%s{\"document\":", i ? "," : ",\"candidates\":[");
            rc = rc ? rc : jstr(b, k->doc_key ? k->doc_key : "");
            rc = rc ? rc : fd_buf_printf(b, ",\"score\":%.4f", k->score);
            for (int f = 0; !rc && f < FD_AF__N; f++)
                rc = fd_buf_printf(b, ",\"%s\":%.4f", fd_answer_feature_names[f], k->f[f]);
            rc = rc ? rc : fd_buf_printf(b, "}");
        }
        rc = rc ? rc : fd_buf_printf(b, "}");
    }
    rc = rc ? rc : fd_buf_printf(b, ",\"slots\":%s", r->slots && r->slots[0] ? r->slots : "{}");
    if (!rc && r->order_json)
        rc = fd_buf_printf(b, ",\"order\":%s", r->order_json);
    /* false, or the layer that answered */
    rc = rc ? rc : fd_buf_printf(b, ",\"cached\":");
    rc = rc ? rc : r->cached ? jstr(b, r->cached) : fd_buf_printf(b, "false");
    rc = rc ? rc
            : fd_buf_printf(
                  b,
                  ",\"llm\":{\"called\":%s,\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
                  "\"cost_usd\":%.6f},\"timing_ms\":{\"guard\":%.3f,\"nlu\":%.3f,"
                  "\"retrieve\":%.3f,\"answer\":%.3f,\"llm\":%.3f,\"validate\":%.3f,"
                  "\"total\":%.3f}}",
                  tf(r->llm_called), (long long)r->prompt_tokens, (long long)r->completion_tokens,
                  r->cost_usd, r->ms_guard, r->ms_nlu, r->ms_retrieve, r->ms_answer, r->ms_llm,
                  r->ms_validate, r->ms_total);
    return rc;
}

typedef struct turns_ctx {
    fd_buf *b;
    int n;
    int rc;
} turns_ctx;

static int turn_json(void *ctx, const fd_turn_row *t)
{
    turns_ctx *c = ctx;
    fd_buf *b = c->b;
    int rc = fd_buf_printf(b, "%s{\"seq\":%lld,\"role\":", c->n++ ? "," : "", (long long)t->seq);
    rc = rc ? rc : jstr(b, t->role);
    rc = rc ? rc : fd_buf_printf(b, ",\"text\":");
    rc = rc ? rc : jstr(b, t->text);
    rc = rc ? rc : fd_buf_printf(b, ",\"intent\":");
    rc = rc ? rc : jstr(b, t->intent);
    rc = rc ? rc : fd_buf_printf(b, ",\"route\":");
    rc = rc ? rc : jstr(b, t->route);
    /* meta is JSON the engine wrote itself. */
    rc = rc ? rc
            : fd_buf_printf(b, ",\"meta\":%s,\"at\":%.3f}", t->meta[0] ? t->meta : "{}",
                            t->created_at);
    c->rc = rc;
    return rc ? 1 : 0;
}

int fd_dialog_session_json(fd_kb *kb, const char *session_id, fd_buf *b, fd_err *err)
{
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    fd_session_row s;
    int rc = fd_store_session_get(fd_kb_store(kb), session_id, a, &s, err);
    if (!rc) {
        rc = fd_buf_printf(b, "{\"session_id\":");
        rc = rc ? rc : jstr(b, s.id);
        rc = rc ? rc : fd_buf_printf(b, ",\"user\":");
        rc = rc ? rc : jstr(b, s.user);
        rc = rc ? rc : fd_buf_printf(b, ",\"language\":");
        rc = rc ? rc : jstr(b, s.lang);
        rc = rc ? rc : fd_buf_printf(b, ",\"state\":");
        rc = rc ? rc : jstr(b, s.state);
        rc = rc ? rc
                : fd_buf_printf(b,
                                ",\"slots\":%s,\"created_at\":%.3f,\"updated_at\":%.3f,\"turns\":[",
                                s.slots, s.created_at, s.updated_at);
        if (rc)
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    if (!rc) {
        turns_ctx c = {b, 0, 0};
        rc = fd_store_turns_each(fd_kb_store(kb), session_id, 0, turn_json, &c, err);
        if (rc == 1 || c.rc)
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    if (!rc && fd_buf_printf(b, "]}"))
        rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    fd_arena_free(a);
    return rc;
}

typedef struct export_ctx {
    fd_kb *kb;
    fd_buf *b;
    int n;
    fd_err *err;
} export_ctx;

static int one_session(void *ctx, const fd_session_row *s)
{
    export_ctx *x = ctx;
    if (x->n++ && fd_buf_putc(x->b, ','))
        return fd_err_set(x->err, FD_ENOMEM, "out of memory");
    return fd_dialog_session_json(x->kb, s->id, x->b, x->err);
}

int fd_dialog_user_export_json(fd_kb *kb, const char *user, fd_buf *b, int *n_sessions, fd_err *err)
{
    *n_sessions = 0;
    int rc = fd_buf_printf(b, "{\"user\":");
    rc = rc ? rc : jstr(b, user);
    rc = rc ? rc : fd_buf_printf(b, ",\"exported_at\":%.0f,\"sessions\":[", fd_time_wall());
    if (rc)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    export_ctx x = {kb, b, 0, err};
    rc = fd_store_user_sessions(fd_kb_store(kb), user, one_session, &x, err);
    if (!rc && fd_buf_printf(b, "]}"))
        rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    *n_sessions = x.n;
    return rc;
}

static int money(fd_buf *b, const char *name, int64_t minor)
{
    int rc = fd_buf_printf(b, ",\"%s\":", name);
    return rc ? rc : fd_buf_minor(b, minor);
}

int fd_order_json(const fd_order_row *o, fd_buf *b)
{
    int rc = fd_buf_printf(b, "{\"id\":");
    rc = rc ? rc : jstr(b, o->ref);
    const char *names[] = {"status",        "customer_id",     "customer", "outlet",    "address",
                           "delivery_date", "delivery_window", "currency", "session_id"};
    const char *vals[] = {o->status,          o->customer_id, o->customer,
                          o->outlet,          o->address,     o->delivery_date,
                          o->delivery_window, o->currency,    o->session_id};
    for (size_t i = 0; i < sizeof names / sizeof *names && !rc; i++) {
        rc = fd_buf_printf(b, ",\"%s\":", names[i]);
        rc = rc ? rc : jstr(b, vals[i] ? vals[i] : "");
    }
    rc = rc ? rc : money(b, "goods", o->goods);
    rc = rc ? rc : money(b, "discount", o->discount);
    rc = rc ? rc : money(b, "delivery_fee", o->delivery_fee);
    rc = rc ? rc : money(b, "surcharge", o->surcharge);
    rc = rc ? rc : money(b, "subtotal", o->subtotal);
    rc = rc ? rc : money(b, "tax", o->tax);
    rc = rc ? rc : money(b, "total", o->total);
    rc = rc ? rc
            : fd_buf_printf(b, ",\"created_at\":%.3f,\"updated_at\":%.3f", o->created_at,
                            o->updated_at);
    if (!rc && o->lines) {
        rc = fd_buf_printf(b, ",\"lines\":[");
        for (size_t i = 0; i < o->n_lines && !rc; i++) {
            const fd_order_line_row *l = &o->lines[i];
            rc = fd_buf_printf(b, "%s{\"code\":", i ? "," : "");
            rc = rc ? rc : jstr(b, l->code);
            rc = rc ? rc : fd_buf_printf(b, ",\"name\":");
            rc = rc ? rc : jstr(b, l->name);
            rc =
                rc ? rc
                   : fd_buf_printf(b, ",\"qty\":%lld,\"packs\":%lld,\"pack_size\":%lld",
                                   (long long)l->qty, (long long)l->packs, (long long)l->pack_size);
            rc = rc ? rc : money(b, "pack_price", l->pack_price);
            rc = rc ? rc : money(b, "total", l->total);
            rc = rc ? rc : fd_buf_putc(b, '}');
        }
        rc = rc ? rc : fd_buf_putc(b, ']');
    }
    return rc ? rc : fd_buf_putc(b, '}');
}
