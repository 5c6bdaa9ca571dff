/* turn_int.h: the record one message carries through the pipeline
 * (turn.c, knowledge.c, persist.c). */
#ifndef FD_DIALOG_TURN_INT_H
#define FD_DIALOG_TURN_INT_H

#include "dialog_int.h"
#include "session_int.h"

#define MAX_HISTORY 16
#define MAX_PASSAGES 8

typedef struct turn {
    fd_assistant *as;
    fd_kb *kb;
    const fd_turn_in *in;
    const fd_turn_sink *sink;
    fd_arena *a;
    fd_reply *r;
    fd_err *err;
    uint64_t t0;
    /* session */
    fd_session_row sess;
    int new_session;
    session_slots slots;
    fd_prompt_turn history[MAX_HISTORY];
    size_t n_history;
    /* understanding */
    fd_str msg; /* after the guard's Unicode cleanup */
    fd_str folded;
    fd_guard_kind guard_kind;
    fd_lang lang;
    fd_nlu_ctx nctx;
    fd_intent_result intent;
    fd_entities ents;
    fd_sentiment senti;
    fd_str query; /* what retrieval searches */
    int rewritten;
    /* knowledge */
    fd_passage pass[MAX_PASSAGES];
    size_t n_pass;
    const esc_rule *rule; /* escalation that fired, or NULL */
    char ticket[32];
    int sink_done; /* the answer already went to the sink (LLM path) */
} turn;

static inline double turn_ms_since(uint64_t t0)
{
    return (double)(fd_time_ns() - t0) / 1e6;
}

/* Out of memory (or past the arena's cap) while building the reply. */
static inline int turn_oom(turn *t)
{
    return fd_err_set(t->err, fd_arena_full(t->a) ? FD_ETOOBIG : FD_ENOMEM,
                      "out of memory building the reply");
}

/* The reply's citations as a JSON array (reply.c). */
int dialog_cites_json(const fd_reply *r, fd_buf *b);

/* Escalation, templates or knowledge; fills t->r. */
int dialog_route(turn *t);
/* Retrieval, then the extractive answer or one validated LLM call. */
int dialog_knowledge(turn *t);
/* Stores the turn pair, the session, a handoff if any and the event. */
int dialog_persist(turn *t);

#endif
