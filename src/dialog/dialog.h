/* dialog/dialog.h: the conversation engine. One customer message in, one
 * checked reply out:
 *
 *   guard -> session (history, slots, follow-up rewrite) -> nlu (intent,
 *   entities, sentiment, language) -> escalation rules -> route:
 *     template (greeting, thanks, goodbye) | order (until commerce exists)
 *     | escalation (handoff record + holding message) | knowledge:
 *       retrieve -> extractive answer, or ONE streamed LLM call whose
 *       sentences are validated as they arrive -> validate -> reply
 *   -> turns, slots and one analytics event stored.
 *
 * Everything but the LLM call is local and deterministic.
 *
 * Threads: an fd_assistant (guard, intent model, rules, tone) is shared
 *          read-only. Its LLM client is driven by whoever calls
 *          fd_assistant_turn (the CLI), or by the caller's event loop when
 *          the turn runs in two halves (fd_assistant_turn_begin /
 *          fd_turn_finish: the server, which never blocks a thread on the
 *          LLM). Each thread brings its own fd_kb (store connection).
 * Memory:  a reply lives in the caller's arena.
 * Errors:  FD_EINVAL (bad input: empty message, bad session id), FD_EIO /
 *          FD_EUNAVAIL (store failed / busy; nothing of the turn stored),
 *          FD_ENOMEM. A flagged message, an LLM
 *          failure or a failed validation are not errors: they shape the
 *          reply (guard, degraded, extractive fallback). */
#ifndef FD_DIALOG_H
#define FD_DIALOG_H

#include "core.h"
#include "kb.h"

typedef struct fd_assistant fd_assistant;

/* Loads what the knowledge base configures (tone.md, escalation rules,
 * intents.tsv -> the intent model, trained and saved beside the store when
 * the examples changed), builds the guard, and connects the LLM client when
 * llm.base_url is set. kb is used during the call only. */
int fd_assistant_open(const fd_config *cfg, fd_log *log, fd_kb *kb, fd_assistant **out,
                      fd_err *err) FD_MUST_USE;
struct fd_llm;
/* The same, with an LLM client the caller owns and drives (the server's
 * event loop; it outlives the assistant); llm NULL: no LLM. */
int fd_assistant_open_llm(const fd_config *cfg, fd_log *log, fd_kb *kb, struct fd_llm *llm,
                          fd_assistant **out, fd_err *err) FD_MUST_USE;
/* The assistant for a reload (the server's, after an upload or SIGHUP):
 * as fd_assistant_open_llm with prev's configuration, log and borrowed LLM
 * client, and prev's word lists lent to it instead of read again (they
 * cannot change while the process runs: 17 MB and ~70 ms a reload). prev
 * and the new one may be closed in either order. */
int fd_assistant_reopen(const fd_assistant *prev, fd_kb *kb, fd_assistant **out,
                        fd_err *err) FD_MUST_USE;
void fd_assistant_close(fd_assistant *as);

/* What an assistant's open can do before the knowledge base is open: trains
 * the guard's classifier and saves it in cfg->data_dir (created if missing)
 * unless one is there (a stale one is the open's to replace). A new
 * replica runs it beside the index
 * snapshot's fetch; the open that follows then loads the saved model.
 * Thread-safe against anything but another process's assistant open. */
int fd_assistant_prepare(const fd_config *cfg, fd_err *err) FD_MUST_USE;

struct fd_cache;
/* Answers through these caches from now on (borrowed: it outlives the
 * assistant; NULL: none). Not while turns run. */
void fd_assistant_use_cache(fd_assistant *as, struct fd_cache *cache);

/* Retrains the intent model from the stored intents.tsv if it changed
 * (ingest calls this). *retrained (may be NULL) says whether it did. */
int fd_assistant_refresh(fd_assistant *as, fd_kb *kb, int *retrained, fd_err *err) FD_MUST_USE;

int fd_assistant_has_llm(const fd_assistant *as);

/* Group commit (commit.c): one thread and one store connection that write
 * every waiting turn in one transaction (each turn in its own savepoint
 * when a neighbour's failure could otherwise undo it, commit.c);
 * fd_assistant_turn still returns only once its turn is committed, and a
 * turn begun with fd_turn_in.on_commit is told when it is. The server
 * uses one; the CLI writes directly. */
typedef struct fd_committer fd_committer;
/* On data_dir's store, with store.busy_timeout_ms. */
int fd_committer_start(const fd_config *cfg, fd_log *log, fd_committer **out,
                       fd_err *err) FD_MUST_USE;
void fd_committer_stop(fd_committer *c); /* NULL is fine; queued turns are written first */
/* What the committer has done since it started, for /metrics: group
 * commit's batching (turns per batch) and SQLite's WAL checkpoints, whose
 * failures are otherwise only logged at debug level (they are retried). */
typedef struct fd_committer_stats {
    unsigned long long batches, turns; /* turns: in those batches, stored or not */
    unsigned long long turns_failed;   /* of those, not stored (the store's error) */
    unsigned long long checkpoints_ok, checkpoints_failed; /* PASSIVE, every 250 ms of commits */
    unsigned long long restarts_ok, restarts_failed;       /* RESTART, past the log's bound */
    int wal_pages; /* the log's length after the last checkpoint (0 before one); -1: no
                    * checkpointer (not SQLite, or it could not start) */
} fd_committer_stats;
void fd_committer_stats_get(fd_committer *c, fd_committer_stats *out);
/* Turns of this assistant are committed by c (NULL: directly). */
void fd_assistant_use_committer(fd_assistant *as, fd_committer *c);
/* The LLM client's state (breaker, counters) for /readyz and /metrics;
 * 0 when no LLM is configured. */
struct fd_llm_stats;
int fd_assistant_llm_stats(const fd_assistant *as, struct fd_llm_stats *out);

/* 1 when open had to train the intent model (the examples changed). */
int fd_assistant_trained_at_open(const fd_assistant *as);
/* The company's name from the KB's tone.md ("# Harbour Pack Supplies -
 * tone of voice"), or NULL when it gives none. */
const char *fd_assistant_company(const fd_assistant *as);
/* The greeting the assistant opens with, in lang ("Hello, I'm the Harbour
 * Pack Supplies assistant. ..."), into out; the chat page shows it first. */
void fd_assistant_welcome(const fd_assistant *as, fd_lang lang, char *out, size_t size);

typedef struct fd_turn_in {
    const char *message;
    size_t len;
    const char *session_id; /* NULL or "": a new session */
    const char *user;       /* caller's user id; may be NULL */
    const char *request_id; /* passed to the LLM; may be NULL */
    const char *traceparent;
    int ephemeral;      /* evaluation: store nothing (no session, no event) */
    int no_cache;       /* neither read nor fill the answer caches (Cache-Control: no-cache) */
    const char *key_id; /* the API key's id for the cost ledger; may be NULL */
    /* The principal the caller acts as ("key:12", "jwt:alice", NULL or ""
     * on an open server). A new session is owned by it; an existing session
     * owned by another principal is FD_ENOTFOUND, exactly as if it did not
     * exist, so ids cannot be probed. */
    const char *owner;
    int trace;              /* fill fd_reply.trace: every candidate document's evidence */
    const char *oracle_doc; /* evaluation: see fd_answer_opts.oracle_doc */
    /* Set (with the assistant's committer): fd_assistant_turn_begin does
     * not wait for the turn's commit but queues it, returns with the turn
     * pending and fd_turn_committing() true, and on_commit(on_commit_ctx)
     * runs on the committer's thread once the commit is done (it must not
     * block: it wakes the caller, which then calls fd_turn_committed).
     * The conversation's lock (a shared store) is dropped by the committer
     * before on_commit: the caller need not be back on its thread first.
     * NULL: the caller's thread waits (the CLI, eval, streams, and a turn
     * finished by fd_turn_finish; fd_turn_finish_queued queues it). */
    void (*on_commit)(void *ctx);
    void *on_commit_ctx;
} fd_turn_in;

/* Streaming: text as it becomes final. on_reset means "discard what was
 * streamed": a streamed LLM answer failed validation and the reply's
 * answer replaces it. Either may be NULL. */
typedef struct fd_turn_sink {
    void (*on_text)(void *ctx, const char *p, size_t n);
    void (*on_reset)(void *ctx);
    void *ctx;
} fd_turn_sink;

typedef struct fd_reply_cite {
    const char *document, *title, *section;
} fd_reply_cite;

typedef struct fd_reply {
    /* answer.source_url (NULL: none): each citation's "url" in the JSON. */
    const char *source_url;
    const char *answer;
    int answered; /* 0: declined for lack of support */
    const char *session_id;
    const char *intent;
    double confidence;
    const char *route; /* "template", "knowledge", "escalation", "order", "guard", "human" */
    fd_reply_cite *citations;
    size_t n_citations;
    const char *escalation_tier; /* NULL: no escalation */
    const char *escalation_ticket;
    const char *escalation_reason;
    int escalation_online; /* the team works now: someone may join soon (else: offline) */
    int grounded;          /* every claim checked against the sources */
    int degraded;          /* the LLM was configured but not used (down, open, busy) */
    const char *language;  /* "en", "fr" */
    int guard_flagged;
    const char *guard_kind;
    double guard_score;
    const char *query;      /* what retrieval searched (after follow-up rewriting) */
    const char *slots;      /* the session's slots after this turn (JSON object) */
    const char *validation; /* "ok", "skipped", or the failure that replaced the LLM answer */
    double sentiment;
    /* cost and timing */
    int llm_called;
    int64_t prompt_tokens, completion_tokens;
    double cost_usd;
    double ms_guard, ms_nlu, ms_retrieve, ms_answer, ms_llm, ms_validate, ms_total;
    int64_t turn_seq; /* the assistant turn's seq in the session */
    /* NULL, or the cache layer that answered: "exact", "semantic" (the
     * answer), "llm" (the completion), "retrieval" (the passages) */
    const char *cached;
    double cache_similarity; /* semantic hits: cosine of the embeddings */
    /* The answer decision (knowledge route, uncached): "answered" or why
     * not (see fd_answer.decision), the evidence score, the document
     * chosen and the question word it lacked. NULL when not decided here. */
    const char *decision;
    double support;
    const char *decision_doc, *decision_focus;
    size_t table_rows; /* the extractive answer sent quotes a whole table of so many rows */
    const struct fd_answer_trace *trace; /* fd_turn_in.trace: the candidates; else NULL */
    /* A turn that touched an order: {"id","status","lines":[...],"total",...}
     * as JSON (id null while it is a draft); else NULL. */
    const char *order_json;
} fd_reply;

struct fd_order_row;
/* An order of the store as the API shows it: money in major units, lines
 * when loaded. */
int fd_order_json(const struct fd_order_row *o, fd_buf *b) FD_MUST_USE;

/* Runs one message through the pipeline, calling the LLM (when configured
 * and needed) on this thread. */
int fd_assistant_turn(fd_assistant *as, fd_kb *kb, const fd_turn_in *in, const fd_turn_sink *sink,
                      fd_arena *a, fd_reply *out, fd_err *err) FD_MUST_USE;

/* ---- the turn in two halves: the LLM driven by the caller ---------------- */

typedef struct fd_turn fd_turn;

/* Runs the pipeline up to the LLM call. With *pending NULL the reply in out
 * is complete and stored, as fd_assistant_turn's. Otherwise the turn waits
 * for one LLM call: the caller submits fd_turn_llm_request(*pending) to the
 * assistant's client, feeds the streamed text to fd_turn_feed, and calls
 * fd_turn_finish once the call ended, or fd_turn_abandon. The arena, out
 * and sink must live until then; in is copied. */
int fd_assistant_turn_begin(fd_assistant *as, fd_kb *kb, const fd_turn_in *in,
                            const fd_turn_sink *sink, fd_arena *a, fd_reply *out, fd_turn **pending,
                            fd_err *err) FD_MUST_USE;
struct fd_llm_request;
const struct fd_llm_request *fd_turn_llm_request(const fd_turn *t);
/* Streamed text: validated sentences go on to the sink. kb is the feeding
 * thread's handle (its analyzer); not concurrently with other calls on t. */
void fd_turn_feed(fd_turn *t, fd_kb *kb, const char *p, size_t n);
/* The call ended with res, or could not be submitted (submit_rc != 0, its
 * message in err): validates the answer or falls back to the extractive
 * one (degraded), completes the routing and stores the turn. Any thread,
 * with its own kb. */
struct fd_llm_result;
int fd_turn_finish(fd_turn *t, fd_kb *kb, const struct fd_llm_result *res, int submit_rc,
                   fd_err *err) FD_MUST_USE;
/* The same with the commit queued, as fd_turn_in.on_commit queues it (the
 * server's JSON chat: no request thread waits for the group commit after
 * the LLM call, which at 450 LLM turns a second kept 4 threads busy
 * waiting). FD_OK with fd_turn_committing(t): on_commit(ctx) runs on the
 * committer's thread once the commit is over, then the caller calls
 * fd_turn_committed; err must live until then. Otherwise as fd_turn_finish
 * (an order's turn, a turn not stored, an error). */
int fd_turn_finish_queued(fd_turn *t, fd_kb *kb, const struct fd_llm_result *res,
                          void (*on_commit)(void *ctx), void *ctx, fd_err *err) FD_MUST_USE;
/* Drops a pending turn unstored (the client went away). */
void fd_turn_abandon(fd_turn *t, fd_kb *kb); /* kb: the caller's, NULL if not fd_turn_locked */
/* Whether t holds its conversation's lock (replicas on PostgreSQL). */
int fd_turn_locked(const fd_turn *t);
/* 1 when t waits for its commit (fd_turn_in.on_commit): nothing of the
 * reply may be sent before fd_turn_committed. The arena, out and the err
 * given to fd_assistant_turn_begin must live until then: the committer
 * writes the turn's rows from the arena and its failure to err. */
int fd_turn_committing(const fd_turn *t);
/* After on_commit ran: the reply's last fields (turn_seq, the handoff's
 * ticket, ms_total), the conversation's lock released (kb: the calling
 * thread's, NULL if not fd_turn_locked). FD_OK, or the commit's failure,
 * as fd_assistant_turn would have returned it, in begin's err. */
int fd_turn_committed(fd_turn *t, fd_kb *kb) FD_MUST_USE;

/* The reply as the API's JSON object (ask --json, POST /v1/chat) into b. */
int fd_reply_json(const fd_reply *r, fd_buf *b) FD_MUST_USE;
/* Its citations alone: [{"document","title","section"}...]. */
int fd_reply_cites_json(const fd_reply *r, fd_buf *b) FD_MUST_USE;

/* ---- sessions and handoffs for operators --------------------------------- */

/* A session's turns as a JSON array into b; FD_ENOTFOUND if none. */
int fd_dialog_session_json(fd_kb *kb, const char *session_id, fd_buf *b, fd_err *err) FD_MUST_USE;
/* {"user","exported_at","sessions":[each as fd_dialog_session_json]}: every
 * conversation of an end user (GDPR access). */
int fd_dialog_user_export_json(fd_kb *kb, const char *user, fd_buf *b, int *n_sessions,
                               fd_err *err) FD_MUST_USE;

#endif
