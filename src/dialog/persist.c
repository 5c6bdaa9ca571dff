/* persist.c: a turn is stored whole or not at all: the session (slots,
 * language, unresolved count, state), the customer's turn, the assistant's
 * turn, a handoff when one was opened, and one analytics event, in one
 * transaction. */
#include "turn_int.h"

#include "outbox.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line summary for the person who takes over: why, what was said. */
static int summary(turn *t, fd_buf *b)
{
    int rc = fd_buf_printf(b, "Reason: %s. Intent: %s. Language: %s.", t->rule->reason,
                           t->r->intent && t->r->intent[0] ? t->r->intent : "unknown",
                           fd_lang_code(t->lang));
    for (int i = 0; i < N_SLOTS && !rc; i++)
        if (t->slots.v[i][0])
            rc = fd_buf_printf(b, " %s: %s.", session_slot_name(i), t->slots.v[i]);
    for (size_t i = 0; i < t->n_history && !rc; i++)
        rc = fd_buf_printf(b, "\n%s: %.300s",
                           strcmp(t->history[i].role, "user") == 0 ? "Customer" : "Assistant",
                           t->history[i].text);
    if (!rc)
        rc = fd_buf_printf(b, "\nCustomer: %.*s", (int)(t->msg.len > 600 ? 600 : t->msg.len),
                           t->msg.p);
    return rc;
}

static int event_json(const turn *t, fd_buf *b)
{
    const fd_reply *r = t->r;
    int rc = fd_buf_printf(b, "{\"intent\":");
    if (!rc)
        rc = fd_buf_json_str(b, r->intent, strlen(r->intent));
    if (!rc)
        rc = fd_buf_printf(
            b,
            ",\"confidence\":%.4f,\"route\":\"%s\",\"answered\":%s,\"language\":\"%s\","
            "\"grounded\":%s,\"degraded\":%s,\"validation\":\"%s\","
            "\"guard\":{\"flagged\":%s,\"kind\":\"%s\",\"score\":%.4f},"
            "\"sentiment\":%.3f,\"escalation\":",
            r->confidence, r->route, r->answered ? "true" : "false", r->language ? r->language : "",
            r->grounded ? "true" : "false", r->degraded ? "true" : "false", r->validation,
            r->guard_flagged ? "true" : "false", r->guard_kind ? r->guard_kind : "none",
            r->guard_score, r->sentiment);
    if (!rc && r->escalation_tier)
        rc = fd_buf_printf(b, "{\"tier\":\"%s\",\"ticket\":\"%s\"}", r->escalation_tier,
                           r->escalation_ticket ? r->escalation_ticket : "");
    else if (!rc)
        rc = fd_buf_printf(b, "null");
    if (!rc)
        rc = fd_buf_printf(
            b,
            ",\"llm\":{\"called\":%s,\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
            "\"cost_usd\":%.6f},\"ms\":{\"guard\":%.3f,\"nlu\":%.3f,\"retrieve\":%.3f,"
            "\"answer\":%.3f,\"llm\":%.3f,\"validate\":%.3f,\"total\":%.3f},"
            "\"citations\":%zu}",
            r->llm_called ? "true" : "false", (long long)r->prompt_tokens,
            (long long)r->completion_tokens, r->cost_usd, r->ms_guard, r->ms_nlu, r->ms_retrieve,
            r->ms_answer, r->ms_llm, r->ms_validate, (double)(fd_time_ns() - t->t0) / 1e6,
            r->n_citations);
    return rc;
}

/* The turn's rows; sess: the session too, when nothing written before the
 * turns needs it to exist (see dialog_persist_plain). */
static int write_all(turn *t, fd_store *st, const fd_session_row *sess, fd_buf *scratch)
{
    fd_reply *r = t->r;
    int rc = FD_OK;
    if (t->order) {
        rc = dialog_order_store(t, st);
        if (rc)
            return rc;
    }
    if (t->order_cancel) {
        rc = fd_store_order_set_status(st, t->order_cancel, NULL, "cancelled",
                                       "cancelled by the customer in chat", t->err);
        char data[128];
        snprintf(data, sizeof data, "{\"id\":\"%.60s\",\"status\":\"cancelled\"}", t->order_cancel);
        if (!rc)
            rc = fd_outbox_event(t->as->cfg, st, "order.cancelled", t->order_cancel, data, t->err);
        if (rc)
            return rc;
    }
    if (t->rule) {
        fd_buf_reset(scratch);
        if (summary(t, scratch))
            return fd_err_set(t->err, FD_ENOMEM, "out of memory");
        fd_handoff_row h = {.session_id = t->sess.id,
                            .tier = t->rule->tier,
                            .reason = t->rule->reason,
                            .summary = scratch->p};
        int64_t id;
        rc = fd_store_handoff_add(st, &h, &id, t->ticket, sizeof t->ticket, t->err);
        if (!rc && t->as->cfg->webhooks_url[0]) {
            json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "ticket", t->ticket, "session_id",
                                  t->sess.id, "tier", t->rule->tier, "reason", t->rule->reason);
            char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
            rc = s ? fd_outbox_event(t->as->cfg, st, "handoff.opened", t->ticket, s, t->err)
                   : fd_err_set(t->err, FD_ENOMEM, "out of memory");
            free(s);
            json_decref(d);
        }
        if (rc)
            return rc;
        r->escalation_ticket = t->ticket;
    }
    fd_turn_row u = {.role = "user",
                     .text = fd_arena_strndup(t->a, t->in->message, t->in->len),
                     .intent = r->intent,
                     .route = r->route};
    if (!u.text)
        return fd_err_set(t->err, FD_ENOMEM, "out of memory");
    if (t->as->cfg->store_redact_pii) {
        /* The reply was made from the whole message; what is kept is not. */
        fd_str red;
        rc = fd_pii_redact(fd_str_c(u.text), (fd_str){"", 0}, t->a, &red, NULL, t->err);
        if (rc)
            return rc;
        u.text = red.p;
    }
    fd_turn_row as = {0};
    fd_buf meta, event;
    fd_buf_init(&meta, 1 << 20);
    fd_buf_init(&event, 1 << 20);
    int human = strcmp(r->route, "human") == 0;
    if (!human && (fd_buf_printf(&meta, "{\"citations\":") || dialog_cites_json(r, &meta) ||
                   fd_buf_printf(&meta, ",\"answered\":%s,\"escalation\":%s%s%s}",
                                 r->answered ? "true" : "false", r->escalation_ticket ? "\"" : "",
                                 r->escalation_ticket ? r->escalation_ticket : "null",
                                 r->escalation_ticket ? "\"" : "")))
        rc = fd_err_set(t->err, FD_ENOMEM, "out of memory");
    if (!rc && event_json(t, &event))
        rc = fd_err_set(t->err, FD_ENOMEM, "out of memory");
    if (!rc) {
        as = (fd_turn_row){.role = "assistant",
                           .text = r->answer,
                           .intent = r->intent,
                           .route = r->route,
                           .meta = meta.p};
        /* The ledger: what this message cost, zero included (cached,
         * extractive), so cost per request is a plain average. */
        fd_cost_row c = {.request_id = t->in->request_id,
                         .session_id = t->sess.id,
                         .key = t->in->key_id,
                         .model = r->llm_called && t->as->llm ? fd_llm_model(t->as->llm) : "",
                         .route = r->route,
                         .cached = r->cached,
                         .llm_called = r->llm_called,
                         .prompt_tokens = r->prompt_tokens,
                         .completion_tokens = r->completion_tokens,
                         .cost_usd = r->cost_usd};
        fd_turn_write w = {.session_id = t->sess.id,
                           .session = sess,
                           .user = &u,
                           .assistant = human ? NULL : &as,
                           .event_data = event.p,
                           .cost = &c};
        int64_t seq = 0;
        rc = fd_store_turn_write(st, &w, &seq, t->err);
        r->turn_seq = rc ? 0 : seq;
    }
    fd_buf_free(&meta);
    fd_buf_free(&event);
    return rc;
}

/* The session's fields and slots as this turn leaves them; r->slots too. */
static int prepare(turn *t, fd_buf *slots)
{
    fd_reply *r = t->r;
    /* Session bookkeeping first, so the reply reports the state stored. */
    if ((strcmp(r->route, "knowledge") == 0 || strcmp(r->route, "order") == 0) &&
        t->rewritten != SESSION_PASTED) {
        size_t n = t->query.len < sizeof t->slots.last_question - 1
                       ? t->query.len
                       : sizeof t->slots.last_question - 1;
        memcpy(t->slots.last_question, t->query.p, n);
        t->slots.last_question[n] = '\0';
        fd_str red;
        if (t->as->cfg->store_redact_pii &&
            fd_pii_redact(fd_str_c(t->slots.last_question), (fd_str){"", 0}, t->a, &red, NULL,
                          NULL) == FD_OK)
            snprintf(t->slots.last_question, sizeof t->slots.last_question, "%.*s", (int)red.len,
                     red.p);
    }
    if (strcmp(r->route, "knowledge") == 0 || strcmp(r->route, "order") == 0)
        t->sess.unresolved = r->answered ? 0 : t->sess.unresolved + 1;
    /* A decline ends with an offer to pass the question on: the next
     * message may take it ("yes please", turn.c). Any other reply ends it. */
    t->slots.offered =
        strcmp(r->route, "knowledge") == 0 && !r->answered && !t->rule && t->slots.last_question[0];
    if (t->rule)
        t->sess.unresolved = 0;
    if (t->as->cfg->store_redact_pii) {
        /* Contact details are not remembered either. */
        t->slots.v[SLOT_EMAIL][0] = '\0';
        t->slots.v[SLOT_PHONE][0] = '\0';
    }
    if (session_slots_json(&t->slots, slots))
        return fd_err_set(t->err, FD_ENOMEM, "out of memory");
    t->sess.slots = slots->p;
    t->sess.lang = fd_lang_code(t->lang);
    t->sess.n_turns += strcmp(r->route, "human") == 0 ? 1 : 2;
    if (t->in->user && t->in->user[0])
        t->sess.user = t->in->user;
    r->slots = fd_arena_strndup(t->a, slots->p, slots->len);
    if (!r->slots)
        return fd_err_set(t->err, FD_ENOMEM, "out of memory");
    /* In the arena: the rows may be written after this call returns
     * (dialog_commit_queue), when slots is long freed. */
    t->sess.slots = r->slots;
    return FD_OK;
}

int dialog_persist_plain(const turn *t)
{
    return !t->order && !t->order_cancel && !t->rule;
}

int dialog_persist_rows(turn *t, fd_store *st)
{
    if (FD_FAULT("dialog.persist"))
        return fd_err_set(t->err, FD_EIO, "storing the turn: injected fault dialog.persist");
    fd_reply *r = t->r;
    fd_buf scratch, slots;
    fd_buf_init(&scratch, 1 << 20);
    fd_buf_init(&slots, 1 << 16);
    /* A plain turn's session goes in the same statement as its turns. */
    int plain = dialog_persist_plain(t);
    int rc = plain ? FD_OK : fd_store_session_put(st, &t->sess, t->err);
    if (!rc)
        rc = write_all(t, st, plain ? &t->sess : NULL, &scratch);
    if (!rc && t->order) {
        /* the slots again: they now remember the order's id */
        if (session_slots_json(&t->slots, &slots))
            rc = fd_err_set(t->err, FD_ENOMEM, "out of memory");
        t->sess.slots = rc ? t->sess.slots : fd_arena_strndup(t->a, slots.p, slots.len);
        r->slots = t->sess.slots;
        if (!rc && !t->sess.slots)
            rc = fd_err_set(t->err, FD_ENOMEM, "out of memory");
        if (!rc)
            rc = fd_store_session_put(st, &t->sess, t->err);
    }
    fd_buf_free(&scratch);
    fd_buf_free(&slots);
    return rc;
}

/* What follows the commit, whether waited for or queued. */
static int persist_end(turn *t, int rc)
{
    fd_reply *r = t->r;
    if (r->escalation_ticket) {
        char *tk = fd_arena_strndup(t->a, t->ticket, strlen(t->ticket));
        r->escalation_ticket = tk ? tk : "";
    }
    if (rc)
        FD_LOG(t->as->log, FD_LOG_ERROR, "dialog", "cannot store turn of session %s: %s",
               t->sess.id, t->err ? t->err->msg : "");
    return rc;
}

int dialog_persist(turn *t)
{
    fd_buf slots;
    fd_buf_init(&slots, 1 << 16);
    int rc = prepare(t, &slots);
    fd_buf_free(&slots);
    /* The rows may be written by the committer's thread (group commit):
     * they point into this turn's arena, which lives until the reply is
     * sent. Queued when the caller can wait without a thread (the
     * server's JSON chat): its reply goes out from fd_turn_committed.
     * Not an order's: its words are made once its rows are in (complete,
     * turn.c), and orders are few. */
    if (!rc && t->as->committer && t->in->on_commit && !t->order) {
        rc = dialog_commit_queue(t->as->committer, t, t->in->on_commit, t->in->on_commit_ctx);
        if (!rc) {
            t->committing = 1;
            return FD_OK;
        }
    } else if (!rc && t->as->committer) {
        rc = dialog_commit(t->as->committer, t);
    } else if (!rc) {
        fd_store *st = fd_kb_store(t->kb);
        rc = fd_store_begin(st, t->err);
        if (!rc)
            rc = dialog_persist_rows(t, st);
        if (!rc)
            rc = fd_store_commit(st, t->err);
        else
            fd_store_rollback(st);
    }
    return persist_end(t, rc);
}

int dialog_persist_finish(turn *t)
{
    assert(t->committing);
    t->committing = 0;
    return persist_end(t, dialog_commit_rc(t));
}
