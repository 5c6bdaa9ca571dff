/* http_int.h: private to src/http/: the server, its pools and one request. */
#ifndef FD_HTTP_INT_H
#define FD_HTTP_INT_H

#include "http.h"

#include "auth.h"
#include "cache.h"
#include "dialog.h"
#include "ingest.h"
#include "kb.h"
#include "llm.h"
#include "obs.h"
#include "outbox.h"
#include "store.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

/* Knowledge-base handles, one per worker: a request borrows one. A reload
 * bumps gen; each handle catches up (maps the new snapshot) when it is next
 * borrowed, so a reload never waits for requests in flight. */
typedef struct kb_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t *free; /* indices into all */
    size_t n_free, n;
    size_t cap;             /* handles it may hold; one opens before listening, the rest after */
    size_t opening;         /* being opened outside mu */
    pthread_t filler;       /* opens the rest once the server listens */
    int filling, fill_stop; /* fill_stop under mu */
    fd_kb **all;
    unsigned long long *seen; /* per handle: the gen it last refreshed at */
    atomic_ullong gen;
} kb_pool;

typedef struct server_metrics {
    fd_metric *requests; /* route, method, status */
    fd_metric *latency;  /* route */
    fd_metric *inflight;
    fd_metric *stage;                             /* stage */
    fd_metric *escalations;                       /* tier */
    fd_metric *validation;                        /* result */
    fd_metric *guard_flagged;                     /* kind */
    fd_metric *llm_calls, *llm_tokens, *llm_cost; /* ; kind ; */
    fd_metric *llm_queue_wait, *llm_shared;
    fd_metric *rate_limited; /* scope */
    fd_metric *auth_failures;
    fd_metric *errors;  /* code */
    fd_metric *ratings; /* score: customers' ratings after a conversation */
} server_metrics;

/* The assistant in use, counted: a request keeps the one it started with
 * (reload swaps in a new one) until it ends, LLM wait included. */
typedef struct assistant_ref {
    fd_assistant *as;
    atomic_int refs;
} assistant_ref;

struct chat_state;
typedef struct event_sub event_sub;

/* End-user token checking from auth.jwt_* (jwt.c): built at start, then
 * read-only, so any worker may use it. */
typedef struct http_jwt {
    const fd_config *cfg; /* the HS256 secret, issuer, audience, required */
    char *pem;            /* the RS256 public key file's text; NULL: RS256 off */
    size_t pem_len;
} http_jwt;

typedef struct write_job write_job;

/* The agent typing in a conversation (events.c): what its customer's
 * streams are told. A small table: more agents typing at once than slots
 * only loses the stalest indicator. */
#define HTTP_TYPING_SLOTS 64
typedef struct typing_slot {
    char sid[72];      /* "" free */
    uint64_t until_ns; /* fd_time_ns() it ends at; 0: ended by the reply */
    unsigned gen;      /* bumped at every change: streams tell each once */
} typing_slot;

/* How long a key the store verified stays usable while the store cannot
 * be reached (fd_key_memo): a PostgreSQL restart or failover takes seconds
 * to a minute; ten minutes covers those without letting a key outlive a
 * long outage's revocation for long. */
#define AUTH_STALE_S 600.0
/* How long a key the store verified is let in without asking the store
 * again: each server (each replica on a shared store) learns of a
 * revocation (`frontdesk keys revoke`, another process) at most this late.
 * One second removes the lookup from all but one request per key and
 * second, which is what a busy key costs (issue 16 on PostgreSQL, issue 13
 * on SQLite). */
#define AUTH_FRESH_S 1.0

struct fd_server {
    const fd_config *cfg;
    fd_log *log;
    fd_key_memo *key_memo; /* last good key verifications (auth.h) */
    struct MHD_Daemon *mhd;
    int port;
    kb_pool kbs;
    pthread_mutex_t state_mu; /* guards cur (swapped on reload) */
    assistant_ref *cur;
    /* The LLM: one client, driven by one event-loop thread (chat.c). */
    fd_llm *llm;     /* NULL: no LLM configured */
    fd_cache *cache; /* answer caches (and Redis, when configured) */
    pthread_t loop;
    int loop_running;
    atomic_int loop_stop, abort_all;
    pthread_mutex_t flight_mu; /* LLM calls in flight by prompt (chat.c); before pend_mu */
    struct llm_flight *flights;
    pthread_mutex_t pend_mu;     /* the two lists below */
    struct chat_state *pending;  /* chats whose LLM call is in flight */
    struct chat_state **cancels; /* chats whose client left: cancel on the loop */
    size_t n_cancels, cap_cancels;
    /* Session event streams and the ticker that wakes them (events.c). */
    pthread_mutex_t subs_mu;
    event_sub *subs;
    pthread_t ticker;
    int ticker_running;
    pthread_mutex_t tick_mu;
    pthread_cond_t tick_cv;
    int tick_stop, tick_poked; /* under tick_mu */
    pthread_mutex_t typing_mu;
    typing_slot typing[HTTP_TYPING_SLOTS];
    /* With a shared store: the other replicas' notices (operator messages,
     * new knowledge-base versions) wake streams and the writer at once. */
    fd_store_listener *listener;
    int kb_poll_now; /* under wq_mu: a notice said the version moved */
    /* The writer thread and its queue of uploads and deletes (writer.c). */
    pthread_t writer;
    int writer_running;
    pthread_mutex_t wq_mu;
    pthread_cond_t wq_cv;
    write_job *wq_head, *wq_tail;
    int wq_stop; /* under wq_mu */
    /* One knowledge-base writer at a time (uploads, deletes, reloads): two
     * index builds would race on the snapshot file, and an older reload
     * finishing last would swap in stale state. Taken before a kb handle. */
    pthread_mutex_t write_lock;
    fd_metrics *metrics;
    server_metrics m;
    struct fd_outbox *outbox; /* invoices to the accounting system */
    fd_committer *committer;  /* group commit of turns */
    /* Chats whose connection is (or is about to be) suspended until their
     * turn's commit (chat.c): the drain waits for them before MHD stops. */
    pthread_mutex_t commit_mu;
    pthread_cond_t commit_cv;
    int n_committing;  /* under commit_mu */
    int commit_closed; /* under commit_mu: new turns wait on their thread */
    fd_ratelimit *limits;
    http_jwt jwt;
    atomic_int inflight;
    atomic_int logins_running; /* agents' password checks now (agents.c) */
    atomic_int draining;
    atomic_ullong next_request;
    double started_at;
};

/* ---- one request ------------------------------------------------------ */

typedef struct request {
    atomic_int refs;         /* MHD's, plus the LLM call's while one is in flight */
    struct chat_state *chat; /* chat routes only */
    event_sub *sub;          /* GET /v1/sessions/{id}/events only */
    struct write_job *job;   /* an upload or delete queued for the writer (writer.c) */
    fd_server *srv;
    struct MHD_Connection *con;
    fd_arena *a;
    fd_buf body;
    int body_too_big;
    uint64_t t0;
    char id[40];       /* X-Request-Id (given or generated) */
    const char *route; /* route template for metrics ("/v1/chat") */
    const char *method;
    const char *origin; /* allowed Origin to echo, or NULL */
    fd_key_info key;    /* the caller's key when authenticated */
    int has_key;
    /* An agent's session token stood for the key (has_key set too): key
     * holds its prefix, the agent's name and the operator scope. */
    int is_agent;
    fd_agent_info agent;
    char ip[64];
    int status;    /* the status sent */
    int openai;    /* errors in OpenAI's shape {"error":{"message","type","param","code"}} */
    int frameable; /* the chat page in widget mode: server.cors_origins may frame it */
    void *fmt_ctx; /* the chat format's per-request state */
    /* Idempotency-Key of POST /v1/chat: claimed (1) until the response is
     * kept (2); a request that ends unkept frees the key (idem.c). */
    int idem;
    char idem_key[288]; /* route ":" key */
    char idem_owner[160];
} request;

/* The response helpers queue the response and return MHD's result. */
enum MHD_Result http_send(request *r, int status, const char *content_type, const char *p,
                          size_t n);
enum MHD_Result http_send_json(request *r, int status, const fd_buf *b);
/* Adds the usual headers to resp and queues it (resp is released). */
enum MHD_Result http_queue_response(request *r, int status, const char *content_type,
                                    struct MHD_Response *resp);
/* {"error":{"code","message","field"}}; headers from extra_hdr ("Retry-After: 3") */
enum MHD_Result http_send_error(request *r, int status, const char *code, const char *msg,
                                const char *field);
enum MHD_Result http_send_err(request *r, const fd_err *err); /* maps fd codes to statuses */
/* Ends a JSON list built into b by a store walk and sends it: rc is the
 * walk's code (1: a callback ran out of memory), cb_failed the callbacks'
 * own failure flag. Closes the list with "]}" and sends 200, or the error.
 * Frees b. */
enum MHD_Result http_send_list(request *r, fd_buf *b, int rc, int cb_failed, const fd_err *err);
/* 405 with the Allow header listing what the path accepts. */
enum MHD_Result http_send_405(request *r, const char *allow);
enum MHD_Result http_send_429(request *r, double retry_after_s, const char *scope);

/* ---- knowledge-base writes off the request threads (writer.c) ---------- */
int http_writer_start(fd_server *s, fd_err *err);
/* Another replica changed the knowledge base: check the version now. */
void http_writer_follow_now(fd_server *s);
void http_writer_stop(fd_server *s); /* runs what is queued, then joins */
/* Queues run (called on the writer thread under write_lock) and suspends
 * the connection; once run returned, the connection resumes and respond
 * sends the answer. A refusal (shutting down) is answered at once, with
 * r->job left NULL. */
enum MHD_Result http_writer_submit(request *r, int (*run)(request *, void *, fd_err *),
                                   enum MHD_Result (*respond)(request *, void *, int,
                                                              const fd_err *),
                                   void (*drop)(void *), void *arg);
enum MHD_Result http_writer_resumed(request *r);
/* At a request's end: releases a job that was never answered. */
void http_writer_drop(request *r);

/* Removes what an upload killed mid-way left in uploads/.staging (its
 * store transaction never committed, so nothing else refers to it). */
void http_documents_clean_staging(fd_server *s);

/* Request smuggling shapes (issue 17 item 8): two differing
 * Content-Lengths, Transfer-Encoding with Content-Length, and the shapes of
 * http_framing_add. A proxy and this server could read such a request's
 * end differently, so it is refused with 400 and the connection closed.
 * NULL when the framing is clear, else why not. */
const char *http_framing_ambiguous(struct MHD_Connection *con);
enum MHD_Result http_send_bad_framing(request *r, const char *why);

/* 413 naming the request's body cap. */
enum MHD_Result http_send_413(request *r);
/* 1 when Content-Type is this media type (parameters such as charset allowed). */
int http_content_type_is(request *r, const char *type);
/* 413 for a body past its cap, else 415 unless it is application/json: 1
 * ok, 0 response sent. The JSON parsers of parse.c take it from there. */
int http_body_json_ok(request *r, enum MHD_Result *res);
/* The body as a JSON object (413, 415, 400 sent otherwise); json_decref it. */
json_t *http_body_object(request *r, enum MHD_Result *res);
/* An optional string field: 1 ok (*out NULL if absent), 0 response sent. */
/* The request asks to bypass the answer caches (Cache-Control: no-cache
 * or no-store, Pragma: no-cache). */
int http_no_cache(request *r);
/* One token from a rate-limit bucket (per minute, burst): shared by the
 * replicas through Redis when it is configured and up, else this
 * process's own. 1 taken, 0 limited (*retry_after in seconds). */
int http_limit_take(fd_server *s, const char *bucket, double per_min, double burst,
                    double *retry_after);
/* Who acts on a handoff: the signed-in agent's name, else the key's name
 * or prefix ("operator" on an open server). */
const char *http_operator_name(const request *r);
/* The caller's key prefix for the cost ledger; NULL without a key. */
const char *http_key_label(request *r);
int http_opt_string(request *r, json_t *obj, const char *name, const char **out,
                    enum MHD_Result *res);

/* Authenticates when keys are required: 1 ok (r->key filled), 0 response sent. */
int http_auth(request *r, unsigned need_scope, enum MHD_Result *res);
/* The same, a key holding either need_scope or or_scope (0: none) passes. */
int http_auth_either(request *r, unsigned need_scope, unsigned or_scope, enum MHD_Result *res);

/* ---- tenancy (tenancy.c) ------------------------------------------------ */
#define HTTP_PRINCIPAL_MAX 160
/* The principal the caller acts as: "jwt:<sub>" (jwt_sub may be NULL),
 * "key:<id>", "visitor:<hash>" (keyless widget: X-Visitor-Token or
 * ?visitor_token= required, else 401 sent and 0 returned), "" on an open
 * server. Call after http_auth. */
int http_principal(request *r, const char *jwt_sub, char *out, size_t n, enum MHD_Result *res);
/* 1 when the caller owns session sid (row filled), or operators_too and it
 * holds the operator scope and the session was handed off; otherwise a 404
 * "no such session" (or the store's error) is sent and 0 returned. */
int http_session_access(request *r, const char *sid, int operators_too, fd_session_row *row,
                        enum MHD_Result *res);

/* Borrows a knowledge-base handle (blocks until one is free). */
fd_kb *http_kb_get(fd_server *s);
void http_kb_put(fd_server *s, fd_kb *kb);

void http_request_release(request *r);

assistant_ref *http_assistant_get(fd_server *s);
void http_assistant_put(assistant_ref *ref);

/* ---- parsing what clients send (parse.c) ---------------------------------------- */

/* Every route's body and query arguments, and the ids in paths, are read by
 * the pure functions below: bytes in, a struct or a refusal out, nothing
 * sent. The handlers send the refusal; tests/fuzz/fuzz_http_body.c and
 * fuzz_http_query.c feed them any bytes at all. Strings in the results are
 * borrowed from the input (or from the result's j, or the arena given). */

/* A refusal: the status, the JSON error code, the message and the field
 * named (NULL: none), as http_send_error takes them. */
typedef struct http_perr {
    int status; /* 400, 404, 413, 415, 422; 500 out of memory */
    const char *code;
    const char *field;
    char msg[256];
} http_perr;

enum MHD_Result http_send_perr(request *r, const http_perr *e);
/* Fills e; returns e->status (nonzero) for `return http_refuse(...)`. */
int http_refuse(http_perr *e, int status, const char *code, const char *field, const char *fmt, ...)
    FD_PRINTF(5, 6);

/* 1 when the Content-Type value ct is this media type (parameters such as
 * charset allowed); ct NULL: 0. */
int http_media_type_is(const char *ct, const char *type);
/* A body that must be a JSON object (duplicate keys refused): 0 and *out
 * (json_decref it), else the status with e filled. */
int http_parse_json_object(const char *p, size_t n, json_t **out, http_perr *e) FD_MUST_USE;
/* An optional string member: 0 (*out NULL when absent or null), else 422. */
int http_parse_opt_string(json_t *obj, const char *name, const char **out,
                          http_perr *e) FD_MUST_USE;
/* A required non-empty UTF-8 string member of at most max bytes (handoff
 * replies and notes): 0, else 422 naming it. */
int http_parse_text_member(json_t *obj, const char *name, size_t max, const char **out,
                           http_perr *e) FD_MUST_USE;
/* The agents' bodies (sign-in, accounts, passwords): a string member of at
 * most max bytes with no NUL inside; a required one non-empty, an absent
 * optional one "". 422 naming the member otherwise. Passwords are not
 * checked as UTF-8: they are hashed as bytes. */
int http_parse_string_member(json_t *obj, const char *name, int required, size_t max,
                             const char **out, http_perr *e) FD_MUST_USE;

/* Each parser below owns its JSON in out->j when it returns 0 (the
 * strings point into it: json_decref(out->j) after use); on a refusal it
 * has freed it and out->j is NULL. */

/* POST /v1/chat and /v1/chat/stream: {"message", "session_id"?, "user"?, "trace"?}. */
typedef struct http_chat_body {
    json_t *j;
    const char *message;
    size_t len;                    /* of message */
    const char *session_id, *user; /* NULL: absent */
    int trace;
} http_chat_body;
int http_parse_chat(const char *p, size_t n, http_chat_body *out, http_perr *e) FD_MUST_USE;

/* POST /v1/chat/completions: the OpenAI shape. text is the last user
 * message's (content string, or its text parts joined by newlines, in a);
 * messages is the whole history (in j) for http_parse_opening. */
typedef struct http_completion_body {
    json_t *j;
    json_t *messages;
    const char *text;
    size_t len;
    const char *model; /* NULL: absent */
    int stream;
    const char *user, *session_id;
} http_completion_body;
int http_parse_completion(const char *p, size_t n, fd_arena *a, http_completion_body *out,
                          http_perr *e) FD_MUST_USE;
/* The first user message of a history and the first assistant reply after
 * it, both with text (in a): 1, else 0. */
int http_parse_opening(json_t *messages, fd_arena *a, const char **user, size_t *ulen,
                       const char **assistant, size_t *alen);

/* POST /v1/sessions/{id}/rating: {"score": 1..5, "comment"?}. */
#define HTTP_RATING_COMMENT_MAX 1000
typedef struct http_rating_body {
    json_t *j;
    int score;
    const char *comment; /* NULL: absent */
    size_t comment_len;
} http_rating_body;
int http_parse_rating(const char *p, size_t n, http_rating_body *out, http_perr *e) FD_MUST_USE;

/* POST /v1/documents: what an upload asks for, from either body style. */
typedef struct http_upload {
    json_t *j; /* the JSON body's (NULL for a raw body) */
    const char *id, *tag, *title;
    const char *p; /* content */
    size_t len;
    fd_format fmt;
    int b64; /* the content came as content_base64 */
} http_upload;
/* {"id","content"|"content_base64","format"?,"tag"?,"title"?}; base64
 * content is decoded into a. */
int http_parse_upload_json(const char *p, size_t n, fd_arena *a, http_upload *u,
                           http_perr *e) FD_MUST_USE;
/* A raw body: the media type (ct) is the format; id, tag and title come
 * from the query (each NULL when absent). */
int http_parse_upload_raw(const char *ct, const char *id, const char *tag, const char *title,
                          const char *p, size_t n, http_upload *u, http_perr *e) FD_MUST_USE;
/* The checks that need no loader: the id, format, tag, title, and that
 * text is UTF-8 without NUL. May set u->fmt from the id's extension. */
int http_upload_check(http_upload *u, http_perr *e) FD_MUST_USE;
/* NULL when id is a safe relative path to keep an upload at, else why not. */
#define HTTP_UPLOAD_ID_MAX 200 /* bytes; keys this long still read well in citations */
const char *http_upload_id_problem(const char *id);

/* GET /v1/search?q=&k=&mode= (each NULL when absent). */
typedef struct http_search_query {
    const char *q;
    size_t k;
    fd_search_mode mode;
} http_search_query;
int http_parse_search_query(const char *q, const char *k, const char *mode,
                            const char *default_mode, size_t default_k, http_search_query *out,
                            http_perr *e) FD_MUST_USE;
/* GET /v1/handoffs?status=&q=&limit=: q has its leading spaces dropped;
 * limit 0 means none (the plain list without ?limit=). */
typedef struct http_handoffs_query {
    const char *status, *q;
    long limit;
} http_handoffs_query;
int http_parse_handoffs_query(const char *status, const char *q, const char *limit,
                              http_handoffs_query *out, http_perr *e) FD_MUST_USE;
/* GET /v1/orders?status=&limit= (limit 100 when absent). */
int http_parse_orders_query(const char *status, const char *limit, long *out_limit,
                            http_perr *e) FD_MUST_USE;
/* Where a session's event stream starts (Last-Event-ID or ?after=): a
 * turn number, *after -1 when from is NULL. */
int http_parse_session_after(const char *from, int64_t *after, http_perr *e) FD_MUST_USE;
/* Where the operators' queue stream starts: a sync event's id in
 * milliseconds, *since in seconds (0 when from is NULL). */
int http_parse_queue_after(const char *from, double *since, http_perr *e) FD_MUST_USE;
/* Header values checked as they arrive: 1 ok. */
int http_visitor_token_ok(const char *t);           /* X-Visitor-Token, ?visitor_token= */
int http_idem_key_ok(const char *k);                /* Idempotency-Key */
int http_request_id_ok(const char *id, size_t max); /* X-Request-Id, shorter than max */
/* 1 when Origin is in list (server.cors_origins: comma-separated, "*" for
 * any); origin NULL: 0. */
int http_origin_listed(const char *origin, const char *list);
/* 1 when origin is http(s):// + host (the server's own pages); host may be NULL. */
int http_origin_is_host(const char *origin, const char *host);

/* A request's framing headers, seen one by one (http_framing_ambiguous):
 * a zeroed struct, then every header. */
typedef struct http_framing {
    int n_cl, n_te;
    const char *cl;  /* the first Content-Length (borrowed) */
    const char *why; /* the first problem seen; NULL: none */
} http_framing;
void http_framing_add(http_framing *f, const char *name, const char *value);
/* NULL when the request's end is unambiguous, else why not. */
const char *http_framing_problem(const http_framing *f);

/* The paths with ids in them (the fixed ones are a table in routes.c). */
typedef enum http_path_kind {
    HTTP_PATH_NONE,
    HTTP_PATH_DOCUMENT,       /* /v1/documents/{id}, id may be "" or hold '/' */
    HTTP_PATH_SESSION,        /* /v1/sessions/{id} */
    HTTP_PATH_SESSION_EVENTS, /* /v1/sessions/{id}/events */
    HTTP_PATH_SESSION_RATING, /* /v1/sessions/{id}/rating */
    HTTP_PATH_USER,           /* /v1/users/{id} */
    HTTP_PATH_USER_EXPORT,    /* /v1/users/{id}/export */
    HTTP_PATH_ORDER,          /* /v1/orders/{id} */
    HTTP_PATH_HANDOFF,        /* /v1/handoffs/{n} or HD-{n} */
    HTTP_PATH_HANDOFF_ACTION  /* /v1/handoffs/{n}/{action} */
} http_path_kind;
#define HTTP_SESSION_ID_MAX 79 /* bytes, as a path segment */
#define HTTP_USER_ID_MAX 255
typedef struct http_path {
    http_path_kind kind;
    const char *route;  /* the template, for metrics; NULL for NONE */
    const char *id;     /* NUL-ended: into the url or buf */
    int too_long;       /* the id does not fit buf: id is "" */
    int64_t handoff;    /* > 0 */
    const char *action; /* into the url */
    char buf[HTTP_USER_ID_MAX + 1];
} http_path;
/* Which of them url is (HTTP_PATH_NONE: none), with its id. */
http_path_kind http_parse_path(const char *url, http_path *out);

/* ---- end-user tokens (jwt.c) ------------------------------------------------ */

/* Reads the RS256 key file when set (an unreadable or non-PEM file: an error naming
 * auth.jwt_rs256_public_key_file); auth.jwt_required without a method: FD_EINVAL. */
int http_jwt_init(http_jwt *v, const fd_config *cfg, fd_err *err) FD_MUST_USE;
void http_jwt_free(http_jwt *v); /* a zeroed one is fine */
/* 1 when HS256 or RS256 is configured. */
int http_jwt_enabled(const http_jwt *v);
/* Checks a compact JWT at time now (epoch seconds): the configured algorithm
 * only, the signature, exp (required) and nbf with 30 s leeway, iss and aud
 * when configured. FD_OK with *sub (the user, in a), or FD_EINVAL with the
 * reason in err->msg ("token expired", "bad token signature", ...); FD_ENOMEM. */
int http_jwt_verify(const http_jwt *v, const char *token, double now, fd_arena *a, const char **sub,
                    fd_err *err) FD_MUST_USE;
/* The chat routes: when a method is configured, X-User-Token's sub replaces
 * *user. 1 ok; 0 when a response was sent (401 invalid_user_token). Without
 * a method the header is ignored. */
int http_user_token(request *r, const char **user, enum MHD_Result *res);

/* ---- chat (chat.c) --------------------------------------------------------- */

/* How a chat reply is written: the API's JSON, its SSE stream, or the
 * OpenAI-compatible shapes. Each callback appends to out; nonzero = out of
 * memory. */
typedef struct chat_format {
    int stream;                                                    /* SSE (text/event-stream) */
    int (*open)(request *r, fd_buf *out);                          /* stream start; may be NULL */
    int (*text)(request *r, fd_buf *out, const char *p, size_t n); /* stream */
    int (*reset)(request *r, fd_buf *out); /* stream: discard what was sent */
    /* the end: the whole body, or the stream's last events */
    int (*reply)(request *r, fd_buf *out, const fd_reply *rep);
    /* stream: a failure after the stream started */
    int (*fail)(request *r, fd_buf *out, const char *code, const char *msg);
    /* a failure before any byte was sent: the whole response */
    enum MHD_Result (*error)(request *r, const fd_err *err);
    void *ctx; /* the format's own state (model name...) */
} chat_format;

/* Runs one message: answers at once on the fast paths, or suspends the
 * connection while the LLM streams. in's strings are copied. */
enum MHD_Result http_chat(request *r, const fd_turn_in *in, const chat_format *fmt);
/* The handler was called again for a chat request (resumed). */
enum MHD_Result http_chat_resumed(request *r);
/* The client went away (request completed): cancels its LLM call. */
void http_chat_gone(request *r);
void http_chat_free(struct chat_state *c);
/* The API's errors for a failed turn (422 message_too_long, ...). */
enum MHD_Result http_chat_error(request *r, const fd_err *err);
extern const chat_format http_chat_json, http_chat_sse;
/* The reply as the API's object: the pipeline's plus cached and request_id. */
int http_reply_object(request *r, fd_buf *out, const fd_reply *rep);
/* The chat rate limits (session, IP when keyless, global): 1 ok, 0 sent 429. */
int http_chat_limits(request *r, const char *session, enum MHD_Result *res);
/* POST /v1/chat/completions, the OpenAI-compatible facade (openai.c). */
enum MHD_Result http_post_completions(request *r);
/* GET /v1/models: the one model the facade serves. */
enum MHD_Result http_get_models(request *r);

/* The drain: chats queued since wait on their thread for their commit;
 * returns once every suspended one has been resumed (the committer still
 * runs), with how many were waiting then. Idempotent. */
int http_chat_commits_close(fd_server *s);

/* The LLM event loop: started when an LLM is configured. */
int http_loop_start(fd_server *s, fd_err *err);
/* Cancels what is still pending and resumes its connections (drain ended). */
void http_loop_abort(fd_server *s);
void http_loop_stop(fd_server *s);

/* fd_server_reload for a caller already holding s->write_lock. */
int http_reload_locked(fd_server *s, fd_err *err);

/* The body cap for a request: uploads get server.max_upload_bytes. */
size_t http_body_cap(const fd_config *cfg, const char *method, const char *url);

/* Documents (documents.c): POST /v1/documents uploads one and re-indexes;
 * /v1/documents/{id} takes DELETE (the id may hold '/'). */
enum MHD_Result http_post_document(request *r);
enum MHD_Result http_document_route(request *r, const char *id);
/* idem.c: Idempotency-Key on the chat routes. route names the route ("" for
 * POST /v1/chat), ctype is the content type a replay is sent with. 1 when
 * the request was answered here (a replay, a conflict, a bad key: *res
 * set); else 0 and the request proceeds, the key claimed. */
int http_idem_claim(request *r, const char *owner, const char *route, const char *ctype,
                    enum MHD_Result *res);
/* The response of a claimed request, kept for its retries. */
void http_idem_keep(request *r, const fd_buf *response);
/* The request ended without a kept response: free the key. */
void http_idem_release(request *r);
/* orders.c: GET /v1/orders and GET /v1/orders/{id} (scope orders). */
enum MHD_Result http_get_orders(request *r);
enum MHD_Result http_order_route(request *r, const char *ref);

/* ---- operators (handoffs.c) ---------------------------------------------------- */

/* GET /v1/handoffs: the list (?status=, ?limit=), or a search (?q=). */
enum MHD_Result http_get_handoffs(request *r);
/* /v1/handoffs/{id} (GET: with its notes) and /v1/handoffs/{id}/{action}:
 * claim, messages, resolve, typing, assign (POST), notes (GET, POST); action NULL
 * for the handoff itself. */
enum MHD_Result http_handoff_route(request *r, int64_t id, const char *action);
/* GET /v1/canned-replies: the agents' saved replies (the KB's canned.md). */
enum MHD_Result http_get_canned(request *r);
/* A handoff's JSON members, without the braces: the list's, the
 * actions' and the live queue's objects share them. */
int http_handoff_fields(fd_buf *b, const fd_handoff_row *h);

/* ---- agents' accounts (agents.c) ------------------------------------------------ */

/* /v1/agents and below: rest is what follows "/v1/agents" ("", "/login",
 * "/logout", "/{name}/{action}"). */
enum MHD_Result http_agents_route(request *r, const char *rest);

/* /v1/sessions/{sid}/attachments (POST: a customer's image to the agent)
 * and .../attachments/{n} (GET); rest is what follows "/attachments"
 * (attachments.c). */
enum MHD_Result http_attachments_route(request *r, const char *sid, const char *rest);
/* "image/png", "image/jpeg", "image/gif" or "image/webp" by the bytes'
 * signature; NULL for anything else. */
const char *http_image_type(const unsigned char *p, size_t n);

/* GET /v1/ratings: customers' ratings with their tickets and agents, and
 * the averages (operator or admin; ratings.c). */
enum MHD_Result http_get_ratings(request *r);

/* ---- session events (events.c) ---------------------------------------------- */

/* GET /v1/sessions/{id}/events: operator messages and state changes, live. */
enum MHD_Result http_session_events(request *r, const char *sid);
int http_events_start(fd_server *s, fd_err *err);
/* Something was stored for session sid (after its commit): wake its
 * streams now, here and, with a shared store, on every replica (a NOTIFY
 * naming it). */
void http_events_poke(fd_server *s, const char *sid);
/* Wakes this process's streams of sid (all of them for NULL or ""): a
 * notice from another replica. */
void http_events_wake(fd_server *s, const char *sid);
/* How long the customer's page shows "the agent is typing" after the
 * console's last POST /v1/handoffs/{id}/typing: the console repeats it
 * every 3 s while the agent types, so a pause ends it within seconds. */
#define HTTP_TYPING_TTL_MS 6000
/* The agent of session sid's conversation is typing (on: 1): session
 * sid's streams get a "typing" event, with a shared store on every
 * replica (a notice); or has just sent the message (0: no stream will
 * tell the typing any more). */
void http_events_typing(fd_server *s, const char *sid, int on);
/* Another replica's typing notice for sid. */
void http_events_typing_heard(fd_server *s, const char *sid);

/* A live SSE stream (events.c): the ticker, a poke naming its
 * conversation and the drain wake it; poll then runs on the reader's
 * thread, one call at a time, and appends its events to ev (its first
 * call: what the client must know now). poll returns 1 to end the stream
 * after those events, 0 to go on; it logs and counts its own failures.
 * free releases state when the request ends. */
typedef struct http_stream_ops {
    int (*poll)(request *r, void *state, fd_buf *ev);
    void (*free)(void *state);
} http_stream_ops;
/* Answers r with the stream; sid names the conversation it follows ("":
 * all of them). state is the stream's from now on (freed by ops->free,
 * also when this fails). */
enum MHD_Result http_stream_open(request *r, const char *sid, const http_stream_ops *ops,
                                 void *state);
/* GET /v1/handoffs/events: the operators' live queue (queue.c). */
enum MHD_Result http_queue_events(request *r);
/* Ends every stream (drain). */
void http_events_close(fd_server *s);
void http_events_stop(fd_server *s);
/* The request completed: unsubscribe and free. */
void http_events_gone(request *r);

/* The router: every request ends here once its body is in. */
enum MHD_Result http_dispatch(request *r, const char *url);

/* The web pages (web/ at the root), embedded at build time by CMakeLists.txt;
 * the table ends with a NULL name. */
typedef struct http_asset {
    const char *name; /* file name in web/: "chat.js" */
    const unsigned char *p;
    size_t len;       /* without the NUL that ends p */
    const char *etag; /* quoted hash of the content: "\"1f2e...\"" */
} http_asset;
extern const http_asset http_web_assets[];

/* GET/HEAD of /, /console and /static/<file>: 1 and *res set (200, 304 on a
 * matching If-None-Match, 405 for other methods); 0 when url is not a page. */
int http_static(request *r, const char *url, enum MHD_Result *res);
/* http_send for content that never changes while the binary runs: the body is
 * not copied (p must outlive the response), Cache-Control is `cache` and,
 * when etag is not NULL, an ETag header is added. */
enum MHD_Result http_send_static(request *r, int status, const char *content_type, const void *p,
                                 size_t n, const char *cache, const char *etag);

/* The OpenAPI 3.1 document (openapi.c). */
extern const char http_openapi_json[];

#endif
