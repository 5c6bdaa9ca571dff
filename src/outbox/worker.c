/* worker.c: delivering due outbox rows one at a time, each attempt's
 * outcome committed before the next: a crash between the API's answer and
 * our commit resends with the same Idempotency-Key, which the API answers
 * with the invoice it already made. */
#include "outbox_int.h"

#include "obs.h"

#include <jansson.h>
#include <math.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BACKOFF_CAP_S 3600.0
#define BATCH 50

struct fd_outbox {
    const fd_config *cfg;
    fd_log *log;
    fd_store *st;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kicked, running;
    acct_tokens tok;
    double next_call; /* pacing: accounting.rate_per_min */
    int said_unconfigured, said_refused;
    fd_metric *delivered, *failed, *pending;
};

static double jitter(void)
{
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned)fd_time_ns();
    return 0.8 + 0.4 * ((double)r / 4294967295.0); /* x0.8 .. x1.2 */
}

static double backoff_s(const fd_config *cfg, int attempts)
{
    double s = cfg->acct_retry_base_ms / 1000.0 * pow(2.0, attempts > 30 ? 30 : attempts - 1);
    return fmin(s, BACKOFF_CAP_S) * jitter();
}

static void pace(const fd_config *cfg, double *next_call)
{
    double now = fd_time_wall();
    if (*next_call > now) {
        double w = *next_call - now;
        struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
        nanosleep(&ts, NULL);
    }
    *next_call = fmax(now, *next_call) + 60.0 / cfg->acct_rate_per_min;
}

typedef enum { R_DELIVERED, R_RETRY, R_DEAD } result;

static int record(const fd_config *cfg, fd_store *st, const fd_outbox_row *row, result res,
                  int attempts, double next_at, const char *error, const char *ext, fd_err *err)
{
    static const char *const names[] = {"delivered", "retry", "dead"};
    const char *state = names[res];
    int rc = fd_store_begin(st, err);
    if (rc)
        return rc;
    rc = fd_store_outbox_update(st, row->id, state, attempts, next_at, error, ext, err);
    /* the order's new status, to whoever listens */
    int inv = strcmp(row->kind, "invoice") == 0;
    if (!rc && inv && res != R_RETRY) {
        json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "id", row->order_ref, "status",
                              res == R_DELIVERED ? "invoiced" : "failed", "invoice_id",
                              ext ? ext : "", "error", error ? error : "");
        char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
        rc = s ? fd_outbox_event(cfg, st, res == R_DELIVERED ? "order.invoiced" : "order.failed",
                                 row->order_ref, s, err)
               : fd_err_set(err, FD_ENOMEM, "out of memory");
        free(s);
        json_decref(d);
    }
    if (rc) {
        fd_store_rollback(st);
        return rc;
    }
    return fd_store_commit(st, err);
}

/* The API's reason in a 4xx body (Xero: Elements[].ValidationErrors[].Message). */
static void api_reason(const acct_resp *r, char *out, size_t cap)
{
    json_t *j = json_loadb(r->body.p ? r->body.p : "", r->body.len, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "Message"));
    json_t *ve =
        json_object_get(json_array_get(json_object_get(j, "Elements"), 0), "ValidationErrors");
    const char *v = json_string_value(json_object_get(json_array_get(ve, 0), "Message"));
    snprintf(out, cap, "the accounting API answered %d%s%s", r->status, v || m ? ": " : "",
             v   ? v
             : m ? m
                 : "");
    json_decref(j);
}

typedef enum { SENT, LATER, DEAD, STOP } outcome;

static outcome deliver_one(const fd_config *cfg, fd_log *log, fd_store *st, acct_tokens *tok,
                           double *next_call, const fd_outbox_row *row, fd_err *err)
{
    fd_buf body;
    fd_buf_init(&body, 1 << 20);
    if (acct_invoice_body(row, &body, err)) {
        fd_buf_free(&body);
        record(cfg, st, row, R_DEAD, row->attempts + 1, 0, err->msg, NULL, err);
        return DEAD;
    }
    char url[700], auth[4200], tenant[200], idem[200];
    snprintf(url, sizeof url, "%s/api.xro/2.0/Invoices", cfg->acct_url);
    snprintf(tenant, sizeof tenant, "xero-tenant-id: %s", cfg->acct_tenant_id);
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", row->idem_key);
    acct_resp r = {0};
    int rc = FD_OK;
    for (int tries = 0; tries < 2; tries++) {
        rc = acct_access_token(cfg, st, tok, err);
        if (rc) {
            fd_buf_free(&body);
            return STOP; /* not connected, or the token endpoint down: nothing to do now */
        }
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok->access);
        const char *hdr[] = {
            auth, tenant, idem, "Content-Type: application/json", "Accept: application/json", NULL};
        pace(cfg, next_call);
        acct_resp_free(&r);
        rc = acct_http(cfg, url, hdr, body.p, NULL, &r, err);
        if (r.status != 401)
            break;
        tok->access[0] = '\0'; /* expired early or revoked: refresh once */
    }
    fd_buf_free(&body);
    double now = fd_time_wall();
    outcome o;
    char why[300];
    if (!rc && (r.status == 200 || r.status == 201)) {
        json_t *j = json_loadb(r.body.p ? r.body.p : "", r.body.len, 0, NULL);
        const char *id = json_string_value(
            json_object_get(json_array_get(json_object_get(j, "Invoices"), 0), "InvoiceID"));
        rc = record(cfg, st, row, R_DELIVERED, row->attempts + 1, 0, "", id ? id : "", err);
        FD_LOG(log, FD_LOG_INFO, "outbox", "invoice of %s delivered (%s)", row->order_ref,
               id ? id : "no id");
        json_decref(j);
        o = SENT;
    } else if (!rc && r.status == 429) {
        /* the API's limit, not a failure: wait as long as it says */
        double wait = r.retry_after > 0 ? r.retry_after : 60;
        rc = record(cfg, st, row, R_RETRY, row->attempts, now + wait, "rate limited (429)", NULL,
                    err);
        *next_call = fmax(*next_call, now + wait);
        o = LATER;
    } else if (rc || r.status >= 500 || r.status == 408) {
        if (!rc)
            snprintf(why, sizeof why, "the accounting API answered %d", r.status);
        else
            snprintf(why, sizeof why, "%s", err->msg);
        int n = row->attempts + 1;
        int dead = n >= cfg->acct_max_attempts;
        rc = record(cfg, st, row, dead ? R_DEAD : R_RETRY, n, dead ? 0 : now + backoff_s(cfg, n),
                    why, NULL, err);
        FD_LOG(log, dead ? FD_LOG_ERROR : FD_LOG_WARN, "outbox", "invoice of %s: %s (attempt %d%s)",
               row->order_ref, why, n, dead ? ", dead-lettered" : "");
        o = dead ? DEAD : LATER;
    } else {
        api_reason(&r, why, sizeof why);
        rc = record(cfg, st, row, R_DEAD, row->attempts + 1, 0, why, NULL, err);
        FD_LOG(log, FD_LOG_ERROR, "outbox", "invoice of %s dead-lettered: %s", row->order_ref, why);
        o = DEAD;
    }
    acct_resp_free(&r);
    return rc ? STOP : o;
}

/* ---- webhooks ------------------------------------------------------------------ */

int fd_outbox_event(const fd_config *cfg, fd_store *st, const char *type, const char *subject,
                    const char *data, fd_err *err)
{
    if (!cfg->webhooks_url[0])
        return FD_OK;
    char id[256];
    snprintf(id, sizeof id, "%s:%s", type, subject);
    json_error_t je;
    json_t *d = json_loads(data, JSON_DECODE_ANY, &je);
    json_t *ev = d ? json_pack("{s:s, s:s, s:f, s:o}", "id", id, "type", type, "created_at",
                               fd_time_wall(), "data", d)
                   : NULL;
    char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!s)
        return fd_err_set(err, d ? FD_ENOMEM : FD_EINVAL, "webhook event %s: bad data", id);
    int rc = fd_store_outbox_add(st, "webhook", 0, id, s, err);
    free(s);
    if (rc == FD_ECONFLICT) { /* said already: one event */
        fd_err_clear(err);
        rc = FD_OK;
    }
    return rc;
}

static outcome deliver_hook(const fd_config *cfg, fd_log *log, fd_store *st, double *next_call,
                            const fd_outbox_row *row, fd_err *err)
{
    char ts[32], ev[160], dl[300], sig[120], hexd[65];
    snprintf(ts, sizeof ts, "%lld", (long long)fd_time_wall());
    json_t *j = json_loads(row->payload, 0, NULL);
    snprintf(ev, sizeof ev, "X-Frontdesk-Event: %s",
             json_string_value(json_object_get(j, "type"))
                 ? json_string_value(json_object_get(j, "type"))
                 : "");
    json_decref(j);
    snprintf(dl, sizeof dl, "X-Frontdesk-Delivery: %s", row->idem_key);
    /* signed over timestamp.body: a replayed body with a new time fails */
    size_t tl = strlen(ts), bl = strlen(row->payload);
    char *msg = fd_malloc(tl + 1 + bl + 1);
    unsigned char mac[32];
    unsigned int ml = 0;
    if (!msg)
        return STOP;
    memcpy(msg, ts, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, row->payload, bl + 1);
    HMAC(EVP_sha256(), cfg->webhooks_secret, (int)strlen(cfg->webhooks_secret),
         (const unsigned char *)msg, tl + 1 + bl, mac, &ml);
    fd_free(msg);
    for (unsigned i = 0; i < ml && i < 32; i++)
        snprintf(hexd + 2 * i, 3, "%02x", mac[i]);
    snprintf(sig, sizeof sig, "X-Frontdesk-Signature: sha256=%s", hexd);
    char tsh[64];
    snprintf(tsh, sizeof tsh, "X-Frontdesk-Timestamp: %s", ts);
    const char *hdr[] = {"Content-Type: application/json", ev, dl, tsh, sig, NULL};
    pace(cfg, next_call);
    acct_resp r;
    int rc = acct_http(cfg, cfg->webhooks_url, hdr, row->payload, NULL, &r, err);
    double now = fd_time_wall();
    outcome o;
    if (!rc && r.status >= 200 && r.status < 300) {
        rc = record(cfg, st, row, R_DELIVERED, row->attempts + 1, 0, "", "", err);
        o = SENT;
    } else {
        char why[300];
        if (rc)
            snprintf(why, sizeof why, "%s", err->msg);
        else
            snprintf(why, sizeof why, "the webhook answered %d", r.status);
        int n = row->attempts + 1, dead = n >= cfg->acct_max_attempts;
        double wait =
            !rc && r.status == 429 && r.retry_after > 0 ? r.retry_after : backoff_s(cfg, n);
        rc =
            record(cfg, st, row, dead ? R_DEAD : R_RETRY, n, dead ? 0 : now + wait, why, NULL, err);
        FD_LOG(log, dead ? FD_LOG_ERROR : FD_LOG_WARN, "outbox", "webhook %s: %s (attempt %d%s)",
               row->idem_key, why, n, dead ? ", dead-lettered" : "");
        o = dead ? DEAD : LATER;
    }
    acct_resp_free(&r);
    return rc ? STOP : o;
}

static int pass(const fd_config *cfg, fd_log *log, fd_store *st, const char *kind, acct_tokens *tok,
                double *next_call, int *delivered, int *failed, int *stopped, fd_err *err)
{
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    fd_outbox_row *rows;
    size_t n;
    int hook = strcmp(kind, "webhook") == 0;
    int rc = fd_store_outbox_due(st, kind, fd_time_wall(), BATCH, a, &rows, &n, err);
    *stopped = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        outcome o = hook ? deliver_hook(cfg, log, st, next_call, &rows[i], err)
                         : deliver_one(cfg, log, st, tok, next_call, &rows[i], err);
        if (o == SENT && delivered)
            (*delivered)++;
        if (o == DEAD && failed)
            (*failed)++;
        if (o == STOP) {
            *stopped = 1;
            rc = err->code ? err->code : FD_EUNAVAIL;
        }
    }
    fd_arena_free(a);
    return rc;
}

int fd_outbox_deliver_due(const fd_config *cfg, fd_log *log, fd_store *st, int *delivered,
                          int *failed, fd_err *err)
{
    if (delivered)
        *delivered = 0;
    if (failed)
        *failed = 0;
    if (!cfg->acct_url[0] && !cfg->webhooks_url[0])
        return fd_err_set(
            err, FD_EUNAVAIL,
            "neither accounting.url nor webhooks.url is set: rows wait in the outbox");
    acct_tokens tok = {0};
    double next_call = 0;
    int stopped, rc = FD_OK;
    if (cfg->acct_url[0])
        rc = pass(cfg, log, st, "invoice", &tok, &next_call, delivered, failed, &stopped, err);
    if (!rc && cfg->webhooks_url[0]) {
        int d2 = 0, f2 = 0;
        rc = pass(cfg, log, st, "webhook", &tok, &next_call, &d2, &f2, &stopped, err);
        if (delivered)
            *delivered += d2;
        if (failed)
            *failed += f2;
    }
    return rc;
}

static void *worker(void *arg)
{
    fd_outbox *o = arg;
    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        pthread_mutex_unlock(&o->mu);
        int delivered = 0, failed = 0, stopped = 0, hooks_delivered = 0;
        fd_err err = {0};
        int rc = FD_OK;
        if (o->cfg->webhooks_url[0]) {
            int d2 = 0, f2 = 0, s2 = 0;
            fd_err e2 = {0};
            if (pass(o->cfg, o->log, o->st, "webhook", &o->tok, &o->next_call, &d2, &f2, &s2, &e2))
                FD_LOG(o->log, FD_LOG_WARN, "outbox", "webhooks: %s", e2.msg);
            if (d2)
                fd_metric_add(o->delivered, d2, "webhook");
            if (f2)
                fd_metric_add(o->failed, f2, "webhook");
            delivered += d2;
            hooks_delivered = d2;
        }
        if (!o->cfg->acct_url[0]) {
            if (!o->said_unconfigured++)
                FD_LOG(o->log, FD_LOG_INFO, "outbox",
                       "accounting.url is not set: invoices wait in the outbox");
        } else {
            rc = pass(o->cfg, o->log, o->st, "invoice", &o->tok, &o->next_call, &delivered, &failed,
                      &stopped, &err);
            if (rc && (stopped || !o->said_refused)) {
                if (!o->said_refused++)
                    FD_LOG(o->log, FD_LOG_ERROR, "outbox", "invoices not delivered: %s", err.msg);
            } else if (!rc) {
                o->said_refused = 0;
            }
        }
        if (delivered - hooks_delivered > 0)
            fd_metric_add(o->delivered, delivered - hooks_delivered, "invoice");
        if (failed)
            fd_metric_add(o->failed, failed, "invoice");
        int64_t counts[5];
        fd_err e2;
        if (o->pending && fd_store_outbox_counts(o->st, counts, &e2) == FD_OK)
            fd_metric_set(o->pending, (double)(counts[0] + counts[1]));
        pthread_mutex_lock(&o->mu);
        /* more due right away: go on; else wait for a kick or a second */
        if (!o->stop && !o->kicked && (delivered == 0 || rc)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += rc ? 5 : 1;
            pthread_cond_timedwait(&o->cv, &o->mu, &until);
        }
        o->kicked = 0;
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int fd_outbox_start(const fd_config *cfg, fd_log *log, struct fd_metrics *m, fd_outbox **out,
                    fd_err *err)
{
    *out = NULL;
    fd_outbox *o = fd_calloc(1, sizeof *o);
    if (!o)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    o->cfg = cfg;
    o->log = log;
    int rc = fd_store_open_cfg(cfg, &o->st, err);
    if (!rc && m)
        rc =
            fd_metrics_counter(m, "frontdesk_outbox_delivered_total",
                               "outbox rows delivered: invoices to the accounting system, webhooks",
                               "kind", &o->delivered, err);
    if (!rc && m)
        rc = fd_metrics_counter(m, "frontdesk_outbox_dead_total",
                                "outbox rows dead-lettered (see frontdesk outbox list)", "kind",
                                &o->failed, err);
    if (!rc && m)
        rc = fd_metrics_gauge(m, "frontdesk_outbox_pending", "outbox rows waiting to be delivered",
                              NULL, &o->pending, err);
    if (rc) {
        fd_store_close(o->st);
        fd_free(o);
        return rc;
    }
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    if (pthread_create(&o->th, NULL, worker, o) != 0) {
        fd_store_close(o->st);
        pthread_mutex_destroy(&o->mu);
        pthread_cond_destroy(&o->cv);
        fd_free(o);
        return fd_err_set(err, FD_EIO, "cannot start the outbox worker");
    }
    o->running = 1;
    *out = o;
    return FD_OK;
}

void fd_outbox_kick(fd_outbox *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->kicked = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void fd_outbox_stop(fd_outbox *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->stop = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    if (o->running)
        pthread_join(o->th, NULL);
    fd_store_close(o->st);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    fd_free(o);
}
