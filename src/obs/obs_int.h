/* obs/obs_int.h: private to the obs .c files and tests/obs.
 *
 * A family finds a series by label values through an open-addressing hash
 * table of series pointers. Readers probe it without a lock (acquire loads);
 * writers insert under the family mutex with release stores, and grow it by
 * publishing a doubled copy: a reader still holding the old table either
 * finds its series there (series never move or die) or misses and takes the
 * mutex, which probes the current table. Old tables are kept on a retired
 * list until fd_metrics_free, so no reader ever touches freed memory; their
 * total size is below the current table's (geometric growth). */
#ifndef FD_OBS_INT_H
#define FD_OBS_INT_H

#include "obs.h"

#include <pthread.h>
#include <stdatomic.h>

#define OBS_MAX_LABELS 4
#define OBS_MAX_BUCKETS 64
#define OBS_DEFAULT_MAX_SERIES 1000
#define OBS_OTHER "_other"
#define OBS_DROPPED_NAME "frontdesk_metrics_dropped_total"

typedef enum obs_type { OBS_COUNTER, OBS_GAUGE, OBS_HISTOGRAM } obs_type;

typedef struct obs_series {
    uint64_t hash;
    struct obs_series *next;           /* creation order (family mutex) */
    const char *val[OBS_MAX_LABELS];   /* NUL-terminated, in this block */
    _Atomic uint64_t bits;             /* counter/gauge value, histogram sum */
    _Atomic uint64_t bucket[];         /* histogram: n_buckets + 1 (+Inf) */
} obs_series;

typedef struct obs_table {
    struct obs_table *retired; /* older tables (freed with the family) */
    size_t mask;               /* size - 1, size a power of two */
    _Atomic(obs_series *) slot[];
} obs_table;

struct fd_metric {
    fd_metrics *reg;
    obs_type type;
    char *name;
    char *help;
    char *label_spec;                  /* normalised "a,b" for duplicate checks */
    size_t n_labels;
    char *label[OBS_MAX_LABELS];       /* in label_spec's block */
    double *bucket;                    /* n_buckets upper bounds */
    size_t n_buckets;
    pthread_mutex_t mu;                /* series creation, rendering */
    _Atomic(obs_table *) tab;
    _Atomic(obs_series *) other;       /* overflow series once created */
    _Atomic size_t n_series;           /* including the overflow series */
    _Atomic size_t max_series;
    obs_series *head, *tail;           /* creation order (mu) */
};

struct fd_metrics {
    pthread_mutex_t mu;                /* families array, registration */
    fd_metric **fam;
    size_t n_fam, cap_fam;
    fd_metric *dropped;                /* frontdesk_metrics_dropped_total */
};

/* series.c */
uint64_t obs_hash(const char *const *val, size_t n);
/* The series for val (n = f->n_labels), created on first use; past the cap
 * the overflow series. NULL when out of memory (caller counts the drop). */
obs_series *obs_series_get(fd_metric *f, const char *const *val);
/* Existing series only, never creates. */
obs_series *obs_series_find(fd_metric *f, const char *const *val, uint64_t h);
/* Creates the family's first table; the unlabelled series when n_labels == 0. */
int obs_family_init_series(fd_metric *f);
void obs_family_free_series(fd_metric *f);
void obs_dropped(fd_metrics *m);
double obs_bits_double(uint64_t b);

/* Tests and callers that want a different cap than 1000 (must be >= 1);
 * applies to series created afterwards. */
void fd_metric_set_max_series(fd_metric *f, size_t max);

#endif
