/* turn_int.h: the record one message carries through the pipeline
 * (turn.c, knowledge.c, persist.c). */
#ifndef FD_DIALOG_TURN_INT_H
#define FD_DIALOG_TURN_INT_H

#include "dialog_int.h"
#include "session_int.h"

#define MAX_HISTORY 16

/* A confirmed order waiting for the turn's transaction (order.c). */
typedef struct order_pending {
    fd_order_row row;
    const char *prefix;  /* of its id ("HP") */
    const char *invoice; /* the outbox payload; NULL: a person reviews it first */
    order_draft draft;
    fd_quote_line *v;
    fd_quote q;
    char ref[32];
} order_pending;
#define MAX_PASSAGES 8

/* The LLM stream's gate (knowledge.c): sentences are released to the sink
 * only once the text up to them validates. */
typedef struct llm_gate {
    fd_analyzer *an;  /* the analyzer of the kb handle feeding it now */
    fd_buf text;      /* everything received */
    size_t released;  /* bytes of text already checked and sent on */
    int failed;       /* a sentence failed: stop releasing */
    int emitted;      /* something reached the sink */
    fd_buf sent_text; /* the checked text sent so far */
    size_t sent;
    size_t scanned; /* bytes of text split into sentences so far */
} llm_gate;

/* One message in flight; fd_turn in dialog.h. Lives in the caller's arena. */
typedef struct fd_turn {
    fd_assistant *as;
    fd_kb *kb;
    const fd_turn_in *in; /* &in_copy: the caller's strings copied to the arena */
    fd_turn_in in_copy;
    const fd_turn_sink *sink;
    fd_arena *a;
    fd_reply *r;
    fd_err *err;
    uint64_t t0;
    /* session */
    fd_session_row sess;
    int new_session;
    char lock_holder[33]; /* the conversation lock this turn holds ("": none) */
    char lock_sid[72];
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
    int builtin_intent; /* intent set by the built-in small-talk rules (no intents.tsv) */
    fd_entities ents;
    fd_sentiment senti;
    fd_str query; /* what retrieval searches */
    int rewritten;
    /* A pasted follow-up alone, tried when query finds no answer (empty:
     * none; see alt_reading in turn.c). */
    fd_str alt_query;
    /* knowledge */
    fd_passage pass[MAX_PASSAGES];
    size_t n_pass;
    const esc_rule *rule; /* escalation that fired, or NULL */
    char ticket[32];
    int sink_done;           /* the answer already went to the sink (LLM path) */
    const char *sink_answer; /* what the sink was given, when sink_done */
    /* routing after the knowledge step (dialog_route_after) */
    int route_after;
    const esc_rule *answer_first; /* a rule that lets us answer, then hand over */
    double order_value;
    /* the LLM call, when one is pending */
    int llm_pending;
    fd_llm_request llm_req;
    fd_answer extractive; /* the fallback, validated unless ext_unchecked */
    int ext_unchecked;    /* its check waits until it is sent (knowledge.c) */
    fd_passage *ext_cp;   /* then: the passages it cites, one per citation */
    llm_gate gate;
    int llm_used; /* the answer went the LLM path (cached.c stores it only if validated) */
    /* caches (cached.c); keys in the arena */
    int cache_on; /* this turn's answer may be shared: look up and store */
    int flight;   /* leads the single-flight on its exact key */
    const void *x_key, *sem_key, *llm_key, *ev_key;
    size_t x_klen, sem_klen, llm_klen, ev_klen;
    int sem_done;
    const char *sem_rare; /* the bucket's distinctive words, sorted, '|' between */
    float *sem_vec;
    int sem_dim;
    /* commerce (order.c) */
    order_pending *order;     /* confirmed this turn: persist.c stores it */
    const char *order_cancel; /* an order ref the customer cancelled */
    int order_reminder;       /* a question mid-order: remind of the open order */
    /* the commit queued without a thread waiting (in->on_commit) */
    struct commit_job *commit;
    int committing; /* queued: on_commit not yet followed by fd_turn_committed */
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

/* Escalation, templates or knowledge; fills t->r. May leave an LLM call
 * pending (t->llm_pending); then dialog_llm_finish and dialog_route_after
 * complete the reply. */
int dialog_route(turn *t);
/* After knowledge answered (with or without the LLM): answer-first rules,
 * the order note, escalation after unresolved turns. */
int dialog_route_after(turn *t);
/* Retrieval, then the extractive answer, or the LLM request prepared
 * (t->llm_pending) with the extractive answer as its fallback. */
int dialog_knowledge(turn *t);
/* The knowledge base's document frequency of an analyzed term (ctx: the fd_kb). */
uint32_t dialog_corpus_df(void *ctx, fd_str term);
/* Streamed LLM text through the gate (kb: the handle of the feeding thread). */
void dialog_llm_feed(turn *t, fd_kb *kb, const char *p, size_t n);
/* The LLM call ended (res NULL: it could not be made): validate the whole,
 * or fall back to the extractive answer. Frees the gate. */
int dialog_llm_finish(turn *t, const fd_llm_result *res, int submit_rc, const char *submit_err);
void dialog_llm_free(turn *t);
/* cached.c: 1 when the exact or semantic cache answered (reply filled);
 * else the turn may lead a single-flight that dialog_cache_store (the
 * answer is final) or dialog_cache_release (it waits on the LLM, or
 * failed) ends. */
int dialog_cache_lookup(turn *t);
/* On the LLM path, once the extractive answer is known and before the LLM
 * is asked: 1 when an LLM answer made from the same evidence is cached
 * (reply filled, cached "evidence"); the key is kept for
 * dialog_cache_store either way. */
int dialog_cache_evidence(turn *t, const fd_answer *extractive);
void dialog_cache_store(turn *t);
void dialog_cache_release(turn *t);
/* Stores the turn pair, the session, a handoff if any and the event. */
int dialog_persist(turn *t);
/* The rows of a prepared turn on st, inside the caller's transaction. */
int dialog_persist_rows(turn *t, fd_store *st);
/* 1 when the turn writes only its session, turns, event and cost (no
 * order, cancellation or handoff): one statement on PostgreSQL whose
 * failure it reports itself, nothing left deferred behind it. */
int dialog_persist_plain(const turn *t);
/* Hands the turn's rows to the committer and waits for their commit. */
int dialog_commit(fd_committer *c, turn *t);
/* Hands them over without waiting: FD_OK when queued, and then done(ctx)
 * runs on the committer's thread once the commit is over (t->commit holds
 * the job, in t's arena, and dialog_commit_rc its outcome); else the
 * error (shutting down) and done never runs. t->err must not be NULL. */
int dialog_commit_queue(fd_committer *c, turn *t, void (*done)(void *), void *ctx);
int dialog_commit_rc(const turn *t);
/* dialog_persist's second half for a turn whose commit was queued
 * (t->committing): its outcome, the ticket copied, a failure logged. */
int dialog_persist_finish(turn *t);
/* Hands the conversation to a person by rule: the holding message, state
 * "waiting"; persist.c opens the handoff. */
int dialog_escalate(turn *t, const esc_rule *rule);
/* order.c: an order message (*handled: the reply is made), else nothing
 * (a question, also mid-order). */
int dialog_order(turn *t, int *handled);
/* 1 when the message is the "yes" to an order's summary: it goes to the
 * order before escalation rules ("yes please" is not a request for a person). */
int dialog_order_first(turn *t);
/* 1 when the message answers the order's question "which outlet?" by
 * naming one ("sorry i mean tampines, new staff here"): the intent model's
 * guess ("staff": a person asked for) does not override it; a person asked
 * for in so many words ("speak to a person", a rule's keywords) still is. */
int dialog_order_answers(turn *t);
/* 1 when the message is nothing but a confirmation ("yes confirm",
 * "correct, go ahead") of an order whose summary was the last reply: the
 * answer to our own question, which the guard, reading the message alone,
 * may take for a forced promise; or nothing but a count and words of
 * ordering ("ok just give me 10 pkt lah"), which the guard may take for a
 * demand. It then goes on as unflagged. */
int dialog_order_guard_lifts(turn *t);
/* In the turn's transaction: the confirmed order (t->order) and its words. */
int dialog_order_store(turn *t, fd_store *st);
/* After a question answered mid-order: a word that the order waits. */
int dialog_order_reminder(turn *t);

#endif
