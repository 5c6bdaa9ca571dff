/* outbox/outbox.h: delivering the outbox (invoices of confirmed orders) to
 * the accounting system, an API shaped like Xero's Accounting API:
 *
 *  - OAuth2: an authorization code is exchanged once (`frontdesk
 *    accounting connect`), then access tokens (30 minutes) come from the
 *    refresh token, which rotates on every refresh: the new one is stored,
 *    encrypted (AES-256-GCM, accounting.key_file), and committed before the
 *    access token it came with is used, so a crash can never leave us with
 *    a spent token only;
 *  - POST {accounting.url}/api.xro/2.0/Invoices with the xero-tenant-id and
 *    an Idempotency-Key per outbox row: a redelivery after a crash is
 *    recognised by the API, never a second invoice;
 *  - 429 waits for Retry-After; 5xx, timeouts and refused connections back
 *    off (doubling from accounting.retry_base_ms, jittered, at most an
 *    hour); other 4xx and accounting.max_attempts failures dead-letter the
 *    row (the order becomes "failed"); a delivered invoice makes it
 *    "invoiced". At most accounting.rate_per_min calls a minute.
 *
 * Threads: the worker is one thread with its own store connection; the
 *          connect/status functions are for the CLI.
 * Errors:  FD_EUNAVAIL (not configured or not connected), FD_EUPSTREAM
 *          (the API refused), FD_EIO, FD_ENOMEM. */
#ifndef FD_OUTBOX_H
#define FD_OUTBOX_H

#include "core.h"
#include "store.h"

struct fd_metrics;
typedef struct fd_outbox fd_outbox; /* opaque */

/* Starts the worker on data_dir's store. With no accounting.url it waits
 * (rows stay pending) and says so once in the log. */
int fd_outbox_start(const fd_config *cfg, fd_log *log, struct fd_metrics *m, fd_outbox **out,
                    fd_err *err) FD_MUST_USE;
/* Wakes the worker (an order was just confirmed). */
void fd_outbox_kick(fd_outbox *o);
/* Stops and joins the worker (an attempt in flight finishes). NULL is fine. */
void fd_outbox_stop(fd_outbox *o);

/* One pass over the rows due now, on the caller's store; *delivered and
 * *failed count this pass (may be NULL). For the CLI and tests. */
int fd_outbox_deliver_due(const fd_config *cfg, fd_log *log, fd_store *st, int *delivered,
                          int *failed, fd_err *err) FD_MUST_USE;

/* Queues a webhook event (type "order.created", subject "HP-100001",
 * data a JSON value) in the caller's transaction when webhooks.url is
 * set; else nothing. The same type and subject twice is one event.
 * Delivered by the worker: POST webhooks.url with X-Frontdesk-Event,
 * X-Frontdesk-Delivery (the event id), X-Frontdesk-Timestamp and
 * X-Frontdesk-Signature: sha256=hex(HMAC-SHA256(webhooks.secret,
 * timestamp + "." + body)); retried like invoices. */
int fd_outbox_event(const fd_config *cfg, fd_store *st, const char *type, const char *subject,
                    const char *data, fd_err *err) FD_MUST_USE;

/* Exchanges an authorization code for tokens and stores the refresh token. */
int fd_accounting_connect(const fd_config *cfg, fd_store *st, const char *code,
                          const char *redirect_uri, fd_err *err) FD_MUST_USE;

typedef struct fd_accounting_status {
    int configured;     /* accounting.url is set */
    int connected;      /* a refresh token is stored and decrypts */
    int64_t generation; /* refresh-token rotations so far */
    int64_t outbox[5];  /* pending, retry, delivered, dead, dropped */
} fd_accounting_status;
int fd_accounting_status_get(const fd_config *cfg, fd_store *st, fd_accounting_status *out,
                             fd_err *err) FD_MUST_USE;

#endif
