/* llm/llm.h: an OpenAI-compatible chat client (POST {base_url}/chat/completions,
 * SSE streaming) over libcurl's multi interface, for any server of that API
 * shape (OpenAI, Ollama, llama.cpp server, vLLM).
 *
 * Reliability: connect / first-token / total deadlines; retries with full
 * jittered exponential backoff on connect errors, 429 and 5xx, honouring
 * Retry-After, and only before the first token reached the caller; a
 * circuit breaker (closed -> open after N consecutive failed calls -> one
 * trial call after the open time -> closed or open again); a cap on calls in
 * flight. Token usage from the server (stream_options.include_usage) or
 * estimated (~4 bytes per token) when it sends none; cost from a per-model
 * price table.
 *
 * Threads: fd_llm_submit may be called from any thread. Transfers run,
 *          and callbacks fire, only inside fd_llm_run on the one thread that
 *          drives the client (an event loop; fd_llm_wakeup interrupts its
 *          wait). fd_llm_complete is the single-threaded convenience.
 * Memory:  the request is copied at submit; result strings are valid
 *          during on_done only.
 * Errors:  FD_EUNAVAIL (no LLM configured, circuit open, in-flight cap),
 *          FD_ETIMEOUT, FD_EUPSTREAM (HTTP error, bad JSON, dropped
 *          stream), FD_EINVAL, FD_ENOMEM. */
#ifndef FD_LLM_H
#define FD_LLM_H

#include "core.h"

typedef struct fd_llm fd_llm;
typedef struct fd_llm_call fd_llm_call;

/* Reads cfg->llm_* (the key from llm.api_key or the file llm.api_key_file,
 * trailing newline stripped). FD_EUNAVAIL when llm.base_url is empty: the
 * caller runs without an LLM. A missing key file is FD_EIO. */
int fd_llm_new(const fd_config *cfg, fd_log *log, fd_llm **out, fd_err *err) FD_MUST_USE;
void fd_llm_free(fd_llm *c); /* cancels calls in flight (no callbacks); not from a callback */

const char *fd_llm_model(const fd_llm *c);

typedef struct fd_llm_msg {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} fd_llm_msg;

typedef struct fd_llm_request {
    const fd_llm_msg *msgs;
    size_t n_msgs;
    int max_tokens;          /* 0: config */
    double temperature;      /* < 0: config */
    const char *traceparent; /* W3C header passed on; NULL: none */
    const char *request_id;  /* X-Request-Id passed on; NULL: none */
} fd_llm_request;

typedef struct fd_llm_result {
    int code;          /* FD_OK or the error code */
    const char *error; /* message when code != FD_OK */
    const char *text;  /* the whole completion (partial on error) */
    size_t text_len;
    const char *finish_reason; /* "stop", "length", ... or "" */
    int http_status;           /* last HTTP status, 0 if none */
    int attempts;              /* 1 + retries */
    int64_t prompt_tokens, completion_tokens;
    int usage_estimated; /* the server sent no usage */
    double cost_usd;
    double first_token_ms; /* from submit; -1 if none */
    double queue_ms;       /* waiting for a slot (llm.max_inflight) before the call began */
    int shared;            /* set by a caller that hands one call's result to another
                              request (single-flight): made and paid for elsewhere */
    double total_ms;
} fd_llm_result;

typedef struct fd_llm_callbacks {
    /* Each streamed piece of content as it arrives; may be NULL. */
    void (*on_token)(void *ctx, const char *p, size_t n);
    /* Exactly once per successfully submitted call, unless cancelled. */
    void (*on_done)(void *ctx, const fd_llm_result *r);
    void *ctx;
} fd_llm_callbacks;

/* Queues a call. FD_EUNAVAIL at once when the circuit is open or the
 * in-flight cap is reached (the caller answers without the LLM). *call
 * (may be NULL) identifies it for fd_llm_cancel. */
int fd_llm_submit(fd_llm *c, const fd_llm_request *req, const fd_llm_callbacks *cb,
                  fd_llm_call **call, fd_err *err) FD_MUST_USE;

/* The caller gave up (client disconnected): the transfer is dropped and
 * on_done never fires. Call only from the driving thread, before on_done
 * (inside on_token or another call's on_done is fine). */
void fd_llm_cancel(fd_llm *c, fd_llm_call *call);

/* Drives transfers, retries and timers for up to timeout_ms (0: do what is
 * ready and return); returns early once an on_done ran or after a wakeup
 * (fd_llm_wakeup or a submit). Returns the number of calls still in flight
 * or queued. The first-token and total deadlines run from submit, queueing
 * and retries included. */
int fd_llm_run(fd_llm *c, int timeout_ms);

/* Makes a blocked fd_llm_run return early (thread-safe, signal-unsafe). */
void fd_llm_wakeup(fd_llm *c);

/* Submits and drives until done (single-threaded callers: the CLI). Fills
 * *r, whose strings stay valid until the next call on c or fd_llm_free.
 * Returns r->code. */
int fd_llm_complete(fd_llm *c, const fd_llm_request *req,
                    void (*on_token)(void *ctx, const char *p, size_t n), void *ctx,
                    fd_llm_result *r, fd_err *err) FD_MUST_USE;

/* ---- state, for /readyz and /metrics ------------------------------------ */

typedef enum fd_breaker_state {
    FD_BREAKER_CLOSED,
    FD_BREAKER_OPEN,
    FD_BREAKER_HALF_OPEN
} fd_breaker_state;
const char *fd_breaker_state_name(fd_breaker_state s); /* "closed", "open", "half_open" */

typedef struct fd_llm_stats {
    fd_breaker_state breaker;
    uint64_t calls, ok, failed, retries, refused, timeouts, cancelled;
    uint64_t prompt_tokens, completion_tokens;
    double cost_usd;
    int inflight; /* submitted and not done: queued + running */
    int queued;   /* waiting for a slot */
    uint64_t queue_full, queue_timeouts;
} fd_llm_stats;
void fd_llm_stats_get(fd_llm *c, fd_llm_stats *out); /* thread-safe */

/* ---- prices (also used by the cost ledger) ------------------------------- */

/* USD for the tokens under the price table "model=in/out;..." (per 1M
 * tokens). A model not in the table costs 0. FD_EINVAL on a bad table. */
int fd_llm_price(const char *table, const char *model, int64_t prompt_tokens,
                 int64_t completion_tokens, double *usd, fd_err *err) FD_MUST_USE;

/* ---- prompt ------------------------------------------------------------- */

typedef struct fd_prompt_passage {
    const char *title, *section, *text;
    int n; /* the citation number [n] the answer should use */
} fd_prompt_passage;

typedef struct fd_prompt_turn {
    const char *role; /* "user" or "assistant" */
    const char *text;
} fd_prompt_turn;

typedef struct fd_prompt {
    const char *company;  /* may be NULL */
    const char *tone;     /* tone.md text; may be NULL */
    const char *policy;   /* extra rules (banned promises...); may be NULL */
    const char *language; /* "en" / "fr": answer in this language */
    const fd_prompt_passage *passages;
    size_t n_passages;
    const fd_prompt_turn *history; /* oldest first, the last few turns */
    size_t n_history;
    const char *question;
} fd_prompt;

/* What the prompt tells the model to reply, alone, when the passages do not
 * answer the question: the caller turns it into its own decline. */
#define FD_LLM_NO_ANSWER "NO_ANSWER"

/* Builds the messages (system: role, policy, tone, rules: answer only from
 * the numbered passages, cite them as [n], reply FD_LLM_NO_ANSWER otherwise,
 * reply in the customer's language; then the history; then the passages
 * and the question) into the arena. */
int fd_prompt_build(const fd_prompt *p, fd_arena *a, fd_llm_msg **msgs, size_t *n_msgs,
                    fd_err *err) FD_MUST_USE;

#endif
