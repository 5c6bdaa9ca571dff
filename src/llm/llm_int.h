/* llm/llm_int.h: private to src/llm and tests/llm: the SSE parser, the chat
 * JSON codec, the circuit breaker. None of these lock or allocate outside
 * what their comments say; the client (client.c) owns all the threading. */
#ifndef FD_LLM_INT_H
#define FD_LLM_INT_H

#include "llm.h"

/* ---- sse.c: incremental Server-Sent-Events parser ------------------------ */

/* Fed arbitrary byte splits of a text/event-stream; calls back once per
 * event that carries data (the WHATWG rules: LF, CRLF or CR line ends,
 * "data:" lines joined with "\n", ":" comments, one leading space stripped,
 * a BOM at the start skipped; "event", "id", "retry" are ignored). */
typedef struct fd_llm_sse {
    fd_buf line; /* the current line, not yet terminated */
    fd_buf data; /* data lines of the current event, "\n"-joined */
    int n_data;  /* data lines seen in the current event (data may be "") */
    int skip_lf; /* the last byte fed was CR: an LF right after it is not a new line */
    int started; /* past the first bytes (BOM check done) */
} fd_llm_sse;

/* Returns nonzero to stop the parser; fd_llm_sse_feed returns that value. */
typedef int (*fd_llm_sse_cb)(void *ctx, const char *p, size_t n);

/* max: cap on one line and on one event's data (0 = 1 MiB): FD_ETOOBIG past it. */
void fd_llm_sse_init(fd_llm_sse *s, size_t max);
int fd_llm_sse_feed(fd_llm_sse *s, const char *p, size_t n, fd_llm_sse_cb cb,
                    void *ctx) FD_MUST_USE;
void fd_llm_sse_reset(fd_llm_sse *s); /* back to the start of a stream, buffers kept */
void fd_llm_sse_free(fd_llm_sse *s);

/* ---- chat_json.c: request body and response chunks ----------------------- */

/* The POST body: model (omitted when empty), messages, max_tokens,
 * temperature, and when stream: "stream":true with
 * stream_options.include_usage. *out is fd_free'd by the caller.
 * FD_EINVAL on a missing role or content or text that is not UTF-8. */
int fd_llm_body_build(const fd_llm_request *req, const char *model, int max_tokens,
                      double temperature, int stream, char **out, size_t *len,
                      fd_err *err) FD_MUST_USE;

/* One parsed chunk (a streamed "chat.completion.chunk" or a whole
 * "chat.completion"). Pointers stay valid until fd_llm_chunk_release. */
typedef struct fd_llm_chunk {
    const char *content; /* choices[0].delta.content or .message.content; NULL if none */
    size_t content_len;
    const char *finish_reason; /* NULL when absent or null */
    int has_usage;
    int64_t prompt_tokens, completion_tokens;
    const char *error; /* the server's {"error": ...} message; NULL if none */
    void *_root;       /* the json_t holding the strings */
} fd_llm_chunk;

/* FD_EUPSTREAM when p is not a JSON object. A chunk without choices (the
 * usage-only last chunk) is fine. Release even on error. */
int fd_llm_chunk_parse(const char *p, size_t n, fd_llm_chunk *out, fd_err *err) FD_MUST_USE;
void fd_llm_chunk_release(fd_llm_chunk *ch);

/* The message of a JSON error body ({"error":{"message":...}} or
 * {"error":"..."}) copied into out, or "" when there is none. */
void fd_llm_error_message(const char *p, size_t n, char *out, size_t cap);

/* ---- breaker.c: the circuit breaker (callers hold the client's lock) ------ */

typedef struct fd_llm_breaker {
    fd_breaker_state state;
    int failures;       /* consecutive failed calls */
    int threshold;      /* failures that open it, >= 1 */
    uint64_t open_ns;   /* how long it stays open */
    uint64_t opened_at; /* fd_time_ns() when it last opened */
    int trial;          /* half-open: the one trial call is in flight */
} fd_llm_breaker;

typedef enum fd_llm_outcome {
    FD_LLM_OUTCOME_OK,     /* the upstream answered */
    FD_LLM_OUTCOME_FAIL,   /* the upstream failed (HTTP error, timeout, refused...) */
    FD_LLM_OUTCOME_NEUTRAL /* cancelled or failed locally: says nothing about the upstream */
} fd_llm_outcome;

void fd_llm_breaker_init(fd_llm_breaker *b, int threshold, int open_ms);
/* May a call start now? Takes the trial slot when half-open; *trial is set
 * to 1 for that call, whose outcome must be reported with trial = 1. */
int fd_llm_breaker_allow(fd_llm_breaker *b, uint64_t now, int *trial);
void fd_llm_breaker_record(fd_llm_breaker *b, fd_llm_outcome o, int trial, uint64_t now);
/* The state as /readyz should see it: open turns half_open once its time is up. */
fd_breaker_state fd_llm_breaker_state(const fd_llm_breaker *b, uint64_t now);

/* ---- client.c, call.c: the client and one call ---------------------------- */

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

typedef enum fd_llm_call_state {
    FD_LLM_QUEUED,     /* submitted; not yet seen by fd_llm_run */
    FD_LLM_WAITING,    /* between attempts: retry_at not reached */
    FD_LLM_CONNECTING, /* transfer running, no token yet */
    FD_LLM_STREAMING,  /* tokens are flowing to on_token: no more retries */
    FD_LLM_DONE        /* code is final; on_done fires at the next reap */
} fd_llm_call_state;

struct fd_llm_call {
    fd_llm *c;
    fd_llm_call *prev, *next; /* in c->queue (under c->mu) or c->active */
    fd_llm_call_state state;
    fd_llm_callbacks cb;
    char *body; /* the JSON request, built once at submit */
    size_t body_len;
    size_t prompt_bytes; /* message content bytes, for estimated usage */
    struct curl_slist *headers;
    CURL *easy;          /* the current attempt, NULL between attempts */
    int trial;           /* the breaker's half-open trial call */
    int queue_expired;   /* failed waiting for a slot: says nothing about the LLM */
    uint64_t t_start;    /* left the queue (0: never did) */
    int cancelled;       /* fd_llm_cancel ran inside a callback: reap frees it */
    int reaping;         /* unlinked, on_done running */
    char request_id[64]; /* for log lines only */

    /* the current attempt */
    fd_llm_sse sse;
    fd_buf raw; /* a body that is not SSE: JSON answer or error */
    int http_status;
    int body_mode;      /* 0 undecided, 1 SSE, 2 JSON */
    int retry_after_ms; /* -1: no Retry-After */
    int saw_done;       /* data: [DONE] */
    int abort_code;     /* set by a callback that stopped the transfer */
    char curl_err[CURL_ERROR_SIZE];

    /* the whole call */
    fd_buf text; /* content delivered to on_token so far */
    char finish_reason[32];
    int attempts;
    int got_token;
    int got_2xx;
    int has_usage;
    int64_t prompt_tokens, completion_tokens;
    uint64_t t_submit, t_first, retry_at, first_deadline, total_deadline; /* fd_time_ns */
    int code;
    char error[256];
};

struct fd_llm {
    fd_log *log;
    char *url;
    char *model;
    char *key;  /* "" when none; scrubbed from error text, zeroed at free */
    char *auth; /* "Authorization: Bearer <key>" or NULL */
    char *prices;
    int connect_ms, first_token_ms, total_ms, max_retries, backoff_ms, max_inflight;
    int queue_max, queue_timeout_ms; /* admission: calls waiting for a slot, and how long */
    int max_tokens;
    double temperature;
    CURLM *multi;
    pthread_mutex_t mu;
    /* under mu */
    fd_llm_call *queue, *queue_tail;
    fd_llm_breaker breaker;
    fd_llm_stats stats; /* .breaker is filled in by fd_llm_stats_get */
    /* the driving thread only */
    fd_llm_call *active;
    int depth; /* > 0 inside a user callback: frees are deferred */
    uint64_t rng;
    atomic_int woken;
    /* fd_llm_complete's copies of the last result */
    fd_buf last_text;
    char last_error[256];
    char last_finish[32];
};

/* call.c */
void fd_llm_call_init_buffers(fd_llm_call *call); /* the caps on text and bodies */
void fd_llm_call_start(fd_llm_call *call, uint64_t now);
/* The transfer ended (CURLMSG_DONE): decides done or retry. */
void fd_llm_call_finished(fd_llm_call *call, CURLcode res, uint64_t now);
/* Stops the transfer and makes code final (timers, cancel-free paths). */
void fd_llm_call_fail(fd_llm_call *call, int code, const char *fmt, ...) FD_PRINTF(3, 4);
void fd_llm_call_detach(fd_llm_call *call); /* removes and frees the easy handle */
void fd_llm_call_free(fd_llm_call *call);
/* Copies msg into dst with the API key masked. */
void fd_llm_scrub(const fd_llm *c, char *dst, size_t cap, const char *msg);

#endif
