/* http_int.h: private to src/http/: the server, its pools and one request. */
#ifndef FD_HTTP_INT_H
#define FD_HTTP_INT_H

#include "http.h"

#include "auth.h"
#include "dialog.h"
#include "kb.h"
#include "llm.h"
#include "obs.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

/* Knowledge-base handles, one per worker: a request borrows one. */
typedef struct kb_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fd_kb **free;
    size_t n_free, n;
    fd_kb **all;
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
    fd_metric *rate_limited;                      /* scope */
    fd_metric *auth_failures;
    fd_metric *errors; /* code */
} server_metrics;

struct fd_server {
    const fd_config *cfg;
    fd_log *log;
    struct MHD_Daemon *mhd;
    int port;
    kb_pool kbs;
    pthread_rwlock_t state_lock; /* assistant swapped on reload */
    fd_assistant *as;
    fd_metrics *metrics;
    server_metrics m;
    fd_ratelimit *limits;
    atomic_int inflight;
    atomic_int draining;
    atomic_ullong next_request;
    double started_at;
};

/* ---- one request ------------------------------------------------------ */

typedef struct request {
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
    char ip[64];
    int status; /* the status sent */
} request;

/* The response helpers queue the response and return MHD's result. */
enum MHD_Result http_send(request *r, int status, const char *content_type, const char *p,
                          size_t n);
enum MHD_Result http_send_json(request *r, int status, const fd_buf *b);
/* {"error":{"code","message","field"}}; headers from extra_hdr ("Retry-After: 3") */
enum MHD_Result http_send_error(request *r, int status, const char *code, const char *msg,
                                const char *field);
enum MHD_Result http_send_err(request *r, const fd_err *err); /* maps fd codes to statuses */
/* 405 with the Allow header listing what the path accepts. */
enum MHD_Result http_send_405(request *r, const char *allow);
enum MHD_Result http_send_429(request *r, double retry_after_s, const char *scope);

/* Authenticates when keys are required: 1 ok (r->key filled), 0 response sent. */
int http_auth(request *r, unsigned need_scope, enum MHD_Result *res);

/* Borrows a knowledge-base handle (blocks until one is free). */
fd_kb *http_kb_get(fd_server *s);
void http_kb_put(fd_server *s, fd_kb *kb);

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
