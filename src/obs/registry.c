/* registry.c: the registry and its families: names, labels, buckets,
 * duplicate registration, the dropped-updates self-counter. */
#include "obs_int.h"

#include <math.h>
#include <string.h>

const double fd_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                     0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                     1,      2.5,     5,      10,    30};
const size_t fd_latency_n_buckets = sizeof fd_latency_buckets / sizeof fd_latency_buckets[0];

#define NAME_MAX_LEN 200

static const char *type_name(obs_type t)
{
    return t == OBS_COUNTER ? "counter" : t == OBS_GAUGE ? "gauge" : "histogram";
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics (colon = 1), without ':' for labels. */
static int name_ok(const char *p, size_t len, int colon)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Splits "a, b" into names; writes the normalised "a,b" to spec. */
/* spec holds OBS_MAX_LABELS * (NAME_MAX_LEN + 1) bytes. */
static int labels_parse(const char *labels, obs_type type, char *spec, size_t *n_out,
                        fd_err *err)
{
    const char *name[OBS_MAX_LABELS];
    size_t len[OBS_MAX_LABELS], n = 0;
    const char *p = labels ? labels : "";
    while (*p == ' ')
        p++;
    if (*p) {
        for (;;) {
            while (*p == ' ')
                p++;
            const char *start = p;
            while (*p && *p != ',' && *p != ' ')
                p++;
            size_t l = (size_t)(p - start);
            while (*p == ' ')
                p++;
            if (*p && *p != ',')
                return fd_err_set(err, FD_EINVAL, "bad label list: \"%s\"", labels);
            if (n == OBS_MAX_LABELS)
                return fd_err_set(err, FD_EINVAL, "more than %d labels: \"%s\"",
                                  OBS_MAX_LABELS, labels);
            if (!name_ok(start, l, 0) || (l >= 2 && start[0] == '_' && start[1] == '_'))
                return fd_err_set(err, FD_EINVAL, "bad label name \"%.*s\"", (int)l, start);
            if (type == OBS_HISTOGRAM && l == 2 && memcmp(start, "le", 2) == 0)
                return fd_err_set(err, FD_EINVAL, "label \"le\" is reserved in a histogram");
            for (size_t i = 0; i < n; i++)
                if (len[i] == l && memcmp(name[i], start, l) == 0)
                    return fd_err_set(err, FD_EINVAL, "label \"%.*s\" twice", (int)l, start);
            name[n] = start;
            len[n++] = l;
            if (!*p)
                break;
            p++; /* the comma */
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            spec[o++] = ',';
        memcpy(spec + o, name[i], len[i]);
        o += len[i];
    }
    spec[o] = '\0';
    *n_out = n;
    return FD_OK;
}

static int buckets_check(const double *b, size_t n, fd_err *err)
{
    if (n > 0 && !b)
        return fd_err_set(err, FD_EINVAL, "histogram buckets: NULL");
    if (n > OBS_MAX_BUCKETS)
        return fd_err_set(err, FD_EINVAL, "histogram: %zu buckets, at most %d", n,
                          OBS_MAX_BUCKETS);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(b[i]))
            return fd_err_set(err, FD_EINVAL, "histogram bucket %zu is not finite", i);
        if (i > 0 && !(b[i] > b[i - 1]))
            return fd_err_set(err, FD_EINVAL, "histogram buckets are not increasing at %zu", i);
    }
    return FD_OK;
}

static void family_free(fd_metric *f)
{
    if (!f)
        return;
    obs_family_free_series(f);
    pthread_mutex_destroy(&f->mu);
    fd_free(f->name);
    fd_free(f->help);
    fd_free(f->label_spec);
    fd_free(f->bucket);
    fd_free(f);
}

static fd_metric *family_find(fd_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_fam; i++)
        if (strcmp(m->fam[i]->name, name) == 0)
            return m->fam[i];
    return NULL;
}

static int same_shape(const fd_metric *f, obs_type type, const char *spec, const double *b,
                      size_t n_b)
{
    if (f->type != type || strcmp(f->label_spec, spec) != 0)
        return 0;
    if (type != OBS_HISTOGRAM)
        return 1;
    return f->n_buckets == n_b && (n_b == 0 || memcmp(f->bucket, b, n_b * sizeof *b) == 0);
}

/* A new family (m->mu held), appended to m->fam. */
static int family_new(fd_metrics *m, obs_type type, const char *name, const char *help,
                      const char *spec, size_t n_labels, const double *b, size_t n_b,
                      fd_metric **out, fd_err *err)
{
    if (m->n_fam == m->cap_fam) {
        size_t cap = m->cap_fam ? m->cap_fam * 2 : 16;
        fd_metric **fam = fd_realloc(m->fam, cap * sizeof *fam);
        if (!fam)
            return fd_err_set(err, FD_ENOMEM, "metrics: out of memory");
        m->fam = fam;
        m->cap_fam = cap;
    }
    fd_metric *f = fd_calloc(1, sizeof *f);
    if (!f)
        return fd_err_set(err, FD_ENOMEM, "metrics: out of memory");
    pthread_mutex_init(&f->mu, NULL);
    f->reg = m;
    f->type = type;
    f->n_labels = n_labels;
    f->n_buckets = n_b;
    atomic_init(&f->tab, NULL);
    atomic_init(&f->other, NULL);
    atomic_init(&f->n_series, 0);
    atomic_init(&f->max_series, OBS_DEFAULT_MAX_SERIES);

    size_t spec_len = strlen(spec);
    f->name = fd_strdup(name);
    f->help = fd_strdup(help ? help : "");
    /* "a,b\0" then "a\0b\0": the spec for comparisons, the names to render. */
    f->label_spec = fd_malloc(2 * (spec_len + 1));
    if (n_b)
        f->bucket = fd_malloc(n_b * sizeof *b);
    if (!f->name || !f->help || !f->label_spec || (n_b && !f->bucket))
        goto oom;
    memcpy(f->label_spec, spec, spec_len + 1);
    char *names = f->label_spec + spec_len + 1;
    memcpy(names, spec, spec_len + 1);
    for (size_t i = 0; i < n_labels; i++) {
        f->label[i] = names;
        names += strcspn(names, ",");
        *names++ = '\0';
    }
    if (n_b)
        memcpy(f->bucket, b, n_b * sizeof *b);
    if (obs_family_init_series(f))
        goto oom;
    m->fam[m->n_fam++] = f;
    *out = f;
    return FD_OK;
oom:
    family_free(f);
    return fd_err_set(err, FD_ENOMEM, "metrics: out of memory");
}

static int family_register(fd_metrics *m, obs_type type, const char *name, const char *help,
                           const char *labels, const double *b, size_t n_b, fd_metric **out,
                           fd_err *err)
{
    if (out)
        *out = NULL;
    if (!m || !out)
        return fd_err_set(err, FD_EINVAL, "metrics: NULL registry or out");
    if (!name || !name_ok(name, strlen(name), 1))
        return fd_err_set(err, FD_EINVAL, "bad metric name \"%s\"", name ? name : "(null)");
    char spec[OBS_MAX_LABELS * (NAME_MAX_LEN + 1)];
    size_t n_labels = 0;
    int rc = labels_parse(labels, type, spec, &n_labels, err);
    if (!rc && type == OBS_HISTOGRAM)
        rc = buckets_check(b, n_b, err);
    if (rc)
        return rc;

    pthread_mutex_lock(&m->mu);
    fd_metric *f = family_find(m, name);
    if (f) {
        if (same_shape(f, type, spec, b, n_b))
            *out = f;
        else
            rc = fd_err_set(err, FD_EINVAL, "metric \"%s\" exists as a %s with labels \"%s\"",
                            name, type_name(f->type), f->label_spec);
    } else {
        rc = family_new(m, type, name, help, spec, n_labels, b, n_b, out, err);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int fd_metrics_counter(fd_metrics *m, const char *name, const char *help, const char *labels,
                       fd_metric **out, fd_err *err)
{
    return family_register(m, OBS_COUNTER, name, help, labels, NULL, 0, out, err);
}

int fd_metrics_gauge(fd_metrics *m, const char *name, const char *help, const char *labels,
                     fd_metric **out, fd_err *err)
{
    return family_register(m, OBS_GAUGE, name, help, labels, NULL, 0, out, err);
}

int fd_metrics_histogram(fd_metrics *m, const char *name, const char *help, const char *labels,
                         const double *buckets, size_t n_buckets, fd_metric **out, fd_err *err)
{
    return family_register(m, OBS_HISTOGRAM, name, help, labels, buckets, n_buckets, out, err);
}

int fd_metrics_new(fd_metrics **out, fd_err *err)
{
    *out = NULL;
    fd_metrics *m = fd_calloc(1, sizeof *m);
    if (!m)
        return fd_err_set(err, FD_ENOMEM, "metrics: out of memory");
    pthread_mutex_init(&m->mu, NULL);
    fd_metric *d = NULL;
    int rc = fd_metrics_counter(m, OBS_DROPPED_NAME,
                                "Metric updates dropped (out of memory or misuse).", NULL, &d,
                                err);
    if (rc) {
        fd_metrics_free(m);
        return rc;
    }
    m->dropped = d;
    *out = m;
    return FD_OK;
}

void fd_metrics_free(fd_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_fam; i++)
        family_free(m->fam[i]);
    fd_free(m->fam);
    pthread_mutex_destroy(&m->mu);
    fd_free(m);
}
