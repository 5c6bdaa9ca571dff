/* render.c: the Prometheus text exposition format, version 0.0.4.
 *
 *   # HELP http_requests_total Requests by route.
 *   # TYPE http_requests_total counter
 *   http_requests_total{route="/chat",status="200"} 12
 *
 * Label values escape \ " and newline; HELP text escapes \ and newline.
 * Histogram buckets are cumulative; _count is the +Inf bucket, read from the
 * same snapshot so the two always agree. */
#include "obs_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Shortest of %.15g..%.17g that reads back as the same double. */
static void fmt_double(char out[32], double v)
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static int put(fd_buf *b, const char *s)
{
    return fd_buf_append(b, s, strlen(s));
}

/* Escapes \ and newline, and " too when quote is set. */
static int put_escaped(fd_buf *b, const char *s, int quote)
{
    const char *run = s;
    int rc = FD_OK;
    for (; *s && !rc; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
                        : (quote && *s == '"') ? "\\\"" : NULL;
        if (!esc)
            continue;
        rc = fd_buf_append(b, run, (size_t)(s - run));
        if (!rc)
            rc = put(b, esc);
        run = s + 1;
    }
    if (!rc)
        rc = fd_buf_append(b, run, (size_t)(s - run));
    return rc;
}

/* name{a="x",b="y",le="0.5"}: the braces only if there is a label. */
static int put_labels(fd_buf *b, const fd_metric *f, const obs_series *s, const char *le)
{
    if (f->n_labels == 0 && !le)
        return FD_OK;
    int rc = fd_buf_putc(b, '{');
    for (size_t i = 0; i < f->n_labels && !rc; i++) {
        rc = fd_buf_printf(b, "%s%s=\"", i ? "," : "", f->label[i]);
        if (!rc)
            rc = put_escaped(b, s->val[i], 1);
        if (!rc)
            rc = fd_buf_putc(b, '"');
    }
    if (!rc && le)
        rc = fd_buf_printf(b, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    if (!rc)
        rc = fd_buf_putc(b, '}');
    return rc;
}

static int put_sample(fd_buf *b, const fd_metric *f, const char *suffix, const obs_series *s,
                      const char *le, const char *value)
{
    int rc = put(b, f->name);
    if (!rc)
        rc = put(b, suffix);
    if (!rc)
        rc = put_labels(b, f, s, le);
    if (!rc)
        rc = fd_buf_printf(b, " %s\n", value);
    return rc;
}

static int render_hist(fd_buf *b, const fd_metric *f, const obs_series *s)
{
    uint64_t snap[OBS_MAX_BUCKETS + 1];
    for (size_t i = 0; i <= f->n_buckets; i++)
        snap[i] = atomic_load_explicit(&s->bucket[i], memory_order_relaxed);
    double sum = obs_bits_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
    uint64_t cum = 0;
    char le[32], v[32];
    int rc = FD_OK;
    for (size_t i = 0; i <= f->n_buckets && !rc; i++) {
        cum += snap[i];
        if (i < f->n_buckets)
            fmt_double(le, f->bucket[i]);
        else
            strcpy(le, "+Inf");
        snprintf(v, sizeof v, "%" PRIu64, cum);
        rc = put_sample(b, f, "_bucket", s, le, v);
    }
    fmt_double(v, sum);
    if (!rc)
        rc = put_sample(b, f, "_sum", s, NULL, v);
    snprintf(v, sizeof v, "%" PRIu64, cum);
    if (!rc)
        rc = put_sample(b, f, "_count", s, NULL, v);
    return rc;
}

static int render_family(fd_buf *b, fd_metric *f)
{
    int rc = FD_OK;
    if (f->help[0]) {
        rc = fd_buf_printf(b, "# HELP %s ", f->name);
        if (!rc)
            rc = put_escaped(b, f->help, 0);
        if (!rc)
            rc = fd_buf_putc(b, '\n');
    }
    if (!rc)
        rc = fd_buf_printf(b, "# TYPE %s %s\n", f->name,
                           f->type == OBS_COUNTER ? "counter"
                           : f->type == OBS_GAUGE ? "gauge"
                                                  : "histogram");
    pthread_mutex_lock(&f->mu);
    for (const obs_series *s = f->head; s && !rc; s = s->next) {
        if (f->type == OBS_HISTOGRAM) {
            rc = render_hist(b, f, s);
        } else {
            char v[32];
            fmt_double(v, obs_bits_double(atomic_load_explicit(&s->bits, memory_order_relaxed)));
            rc = put_sample(b, f, "", s, NULL, v);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int fd_metrics_render(fd_metrics *m, fd_buf *out)
{
    if (!m || !out)
        return FD_EINVAL;
    int rc = FD_OK;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_fam && !rc; i++)
        rc = render_family(out, m->fam[i]);
    pthread_mutex_unlock(&m->mu);
    return rc;
}
