/* series.c: finding and creating series, and the lock-free updates.
 *
 * Updating an existing series: hash the label values, probe the family's
 * table without a lock, then one atomic operation (a fetch-add for a
 * histogram bucket, a compare-and-swap loop on the bit pattern of a double
 * for values and sums). Only a miss takes the family mutex (obs_int.h). */
#include "obs_int.h"

#include <stdarg.h>
#include <string.h>

#define TAB_MIN 16

double obs_bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void bits_add(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, double_bits(obs_bits_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* FNV-1a over the values, each followed by a 0xff byte (never in UTF-8, so
 * ("ab","") and ("a","b") differ), then a 64-bit finaliser. */
uint64_t obs_hash(const char *const *val, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)val[i]; *p; p++) {
            h ^= *p;
            h *= 0x100000001b3ull;
        }
        h ^= 0xff;
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static int vals_eq(const obs_series *s, const char *const *val, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->val[i], val[i]) != 0)
            return 0;
    return 1;
}

static obs_series *table_find(const obs_table *t, const char *const *val, size_t n, uint64_t h)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        obs_series *s = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (!s)
            return NULL; /* a table is never more than half full */
        if (s->hash == h && vals_eq(s, val, n))
            return s;
    }
}

obs_series *obs_series_find(fd_metric *f, const char *const *val, uint64_t h)
{
    return table_find(atomic_load_explicit(&f->tab, memory_order_acquire), val, f->n_labels, h);
}

static obs_table *table_new(size_t size)
{
    obs_table *t = fd_malloc(sizeof *t + size * sizeof t->slot[0]);
    if (!t)
        return NULL;
    t->retired = NULL;
    t->mask = size - 1;
    for (size_t i = 0; i < size; i++)
        atomic_init(&t->slot[i], NULL);
    return t;
}

static void table_put(obs_table *t, obs_series *s)
{
    size_t i = s->hash & t->mask;
    while (atomic_load_explicit(&t->slot[i], memory_order_relaxed))
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slot[i], s, memory_order_release);
}

/* Room for one more series (f->mu held); a doubled table if needed. */
static int table_reserve(fd_metric *f)
{
    obs_table *t = atomic_load_explicit(&f->tab, memory_order_relaxed);
    size_t n = atomic_load_explicit(&f->n_series, memory_order_relaxed);
    if ((n + 1) * 2 <= t->mask + 1)
        return FD_OK;
    obs_table *nt = table_new((t->mask + 1) * 2);
    if (!nt)
        return FD_ENOMEM;
    for (obs_series *s = f->head; s; s = s->next)
        table_put(nt, s);
    nt->retired = t;
    atomic_store_explicit(&f->tab, nt, memory_order_release);
    return FD_OK;
}

/* A new series for val (f->mu held), or NULL out of memory. */
static obs_series *series_create(fd_metric *f, const char *const *val, uint64_t h)
{
    if (table_reserve(f))
        return NULL;
    size_t n_b = f->type == OBS_HISTOGRAM ? f->n_buckets + 1 : 0;
    size_t head = sizeof(obs_series) + n_b * sizeof(_Atomic uint64_t);
    size_t len[OBS_MAX_LABELS], total = head;
    for (size_t i = 0; i < f->n_labels; i++) {
        len[i] = strlen(val[i]);
        total += len[i] + 1;
    }
    obs_series *s = fd_malloc(total);
    if (!s)
        return NULL;
    s->hash = h;
    s->next = NULL;
    char *p = (char *)s + head;
    for (size_t i = 0; i < OBS_MAX_LABELS; i++) {
        if (i < f->n_labels) {
            memcpy(p, val[i], len[i] + 1);
            s->val[i] = p;
            p += len[i] + 1;
        } else {
            s->val[i] = NULL;
        }
    }
    atomic_init(&s->bits, double_bits(0.0));
    for (size_t i = 0; i < n_b; i++)
        atomic_init(&s->bucket[i], 0);

    table_put(atomic_load_explicit(&f->tab, memory_order_relaxed), s);
    if (f->tail)
        f->tail->next = s;
    else
        f->head = s;
    f->tail = s;
    atomic_fetch_add_explicit(&f->n_series, 1, memory_order_relaxed);
    return s;
}

/* The overflow series (f->mu held): every label "_other". If a caller's own
 * values were "_other" that series serves, so the output has no duplicate. */
static obs_series *other_get(fd_metric *f)
{
    obs_series *s = atomic_load_explicit(&f->other, memory_order_relaxed);
    if (s)
        return s;
    const char *val[OBS_MAX_LABELS] = {OBS_OTHER, OBS_OTHER, OBS_OTHER, OBS_OTHER};
    uint64_t h = obs_hash(val, f->n_labels);
    s = obs_series_find(f, val, h);
    if (!s)
        s = series_create(f, val, h);
    if (s)
        atomic_store_explicit(&f->other, s, memory_order_release);
    return s;
}

static obs_series *series_get_slow(fd_metric *f, const char *const *val, uint64_t h)
{
    pthread_mutex_lock(&f->mu);
    obs_series *s = obs_series_find(f, val, h); /* another thread may have won */
    if (!s) {
        size_t n = atomic_load_explicit(&f->n_series, memory_order_relaxed);
        if (n < atomic_load_explicit(&f->max_series, memory_order_relaxed))
            s = series_create(f, val, h);
        else
            s = other_get(f);
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

obs_series *obs_series_get(fd_metric *f, const char *const *val)
{
    uint64_t h = obs_hash(val, f->n_labels);
    obs_series *s = obs_series_find(f, val, h);
    if (s)
        return s;
    /* Past the cap, a known overflow series needs no lock either. */
    if (atomic_load_explicit(&f->n_series, memory_order_relaxed) >=
        atomic_load_explicit(&f->max_series, memory_order_relaxed)) {
        s = atomic_load_explicit(&f->other, memory_order_acquire);
        if (s)
            return s;
    }
    return series_get_slow(f, val, h);
}

int obs_family_init_series(fd_metric *f)
{
    obs_table *t = table_new(TAB_MIN);
    if (!t)
        return FD_ENOMEM;
    atomic_init(&f->tab, t);
    /* An unlabelled family has one series, there from the start: its
     * updates never allocate and /metrics shows it at 0. */
    if (f->n_labels == 0 && !series_create(f, NULL, obs_hash(NULL, 0)))
        return FD_ENOMEM;
    return FD_OK;
}

void obs_family_free_series(fd_metric *f)
{
    obs_series *s = f->head;
    while (s) {
        obs_series *next = s->next;
        fd_free(s);
        s = next;
    }
    f->head = f->tail = NULL;
    obs_table *t = atomic_load_explicit(&f->tab, memory_order_relaxed);
    while (t) {
        obs_table *older = t->retired;
        fd_free(t);
        t = older;
    }
    atomic_store_explicit(&f->tab, NULL, memory_order_relaxed);
}

void obs_dropped(fd_metrics *m)
{
    if (m && m->dropped && m->dropped->head)
        bits_add(&m->dropped->head->bits, 1.0);
}

/* ---- the public updates ------------------------------------------------ */

static void collect(const fd_metric *f, const char **val, va_list ap)
{
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = va_arg(ap, const char *);
        val[i] = v ? v : "";
    }
}

static obs_series *get_va(fd_metric *f, va_list ap)
{
    const char *val[OBS_MAX_LABELS];
    collect(f, val, ap);
    obs_series *s = obs_series_get(f, val);
    if (!s)
        obs_dropped(f->reg);
    return s;
}

void fd_metric_add(fd_metric *f, double v, ...)
{
    if (!f)
        return;
    /* A histogram, or a counter going down (or NaN): a caller's bug, but
     * not worth a crash on a request path. Dropped and counted. */
    if (f->type == OBS_HISTOGRAM || (f->type == OBS_COUNTER && !(v >= 0))) {
        obs_dropped(f->reg);
        return;
    }
    va_list ap;
    va_start(ap, v);
    obs_series *s = get_va(f, ap);
    va_end(ap);
    if (s)
        bits_add(&s->bits, v);
}

void fd_metric_set(fd_metric *f, double v, ...)
{
    if (!f)
        return;
    if (f->type != OBS_GAUGE) {
        obs_dropped(f->reg);
        return;
    }
    va_list ap;
    va_start(ap, v);
    obs_series *s = get_va(f, ap);
    va_end(ap);
    if (s)
        atomic_store_explicit(&s->bits, double_bits(v), memory_order_relaxed);
}

void fd_metric_observe(fd_metric *f, double v, ...)
{
    if (!f)
        return;
    if (f->type != OBS_HISTOGRAM) {
        obs_dropped(f->reg);
        return;
    }
    va_list ap;
    va_start(ap, v);
    obs_series *s = get_va(f, ap);
    va_end(ap);
    if (!s)
        return;
    /* First bucket with v <= bound; NaN and beyond the last go to +Inf. */
    size_t lo = 0, hi = f->n_buckets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= f->bucket[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    if (v != v)
        lo = f->n_buckets;
    atomic_fetch_add_explicit(&s->bucket[lo], 1, memory_order_relaxed);
    bits_add(&s->bits, v);
}

static obs_series *find_va(fd_metric *f, va_list ap)
{
    const char *val[OBS_MAX_LABELS];
    collect(f, val, ap);
    return obs_series_find(f, val, obs_hash(val, f->n_labels));
}

double fd_metric_value(fd_metric *f, ...)
{
    if (!f || f->type == OBS_HISTOGRAM)
        return 0;
    va_list ap;
    va_start(ap, f);
    obs_series *s = find_va(f, ap);
    va_end(ap);
    return s ? obs_bits_double(atomic_load(&s->bits)) : 0;
}

void fd_metric_hist(fd_metric *f, uint64_t *count, double *sum, ...)
{
    *count = 0;
    *sum = 0;
    if (!f || f->type != OBS_HISTOGRAM)
        return;
    va_list ap;
    va_start(ap, sum);
    obs_series *s = find_va(f, ap);
    va_end(ap);
    if (!s)
        return;
    for (size_t i = 0; i <= f->n_buckets; i++)
        *count += atomic_load(&s->bucket[i]);
    *sum = obs_bits_double(atomic_load(&s->bits));
}

void fd_metric_set_max_series(fd_metric *f, size_t max)
{
    if (f && max > 0)
        atomic_store(&f->max_series, max);
}
