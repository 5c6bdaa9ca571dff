/* obs/obs.h: metrics for /metrics (Prometheus text exposition 0.0.4):
 * counters, gauges and histograms, each a family with up to 4 labels whose
 * series are created on first use.
 *
 * Threads: everything is thread-safe. Updating an existing series is
 *          lock-free (atomics); creating a new series takes the family's
 *          mutex once. Rendering takes each family's mutex briefly.
 * Memory:  families and series live until fd_metrics_free. A family caps
 *          its series (max_series, default 1000): past it, updates go to one
 *          overflow series labelled "_other" so a client cannot grow memory
 *          by inventing label values.
 * Errors:  FD_ENOMEM, FD_EINVAL (bad name, label count, buckets). */
#ifndef FD_OBS_H
#define FD_OBS_H

#include "core.h"

typedef struct fd_metrics fd_metrics;
typedef struct fd_metric fd_metric; /* a family */

int fd_metrics_new(fd_metrics **out, fd_err *err) FD_MUST_USE;
void fd_metrics_free(fd_metrics *m); /* NULL is fine */

/* Registers a family. name: [a-zA-Z_:][a-zA-Z0-9_:]*; labels: NULL or a
 * comma-separated list ("route,status"), at most 4. Registering the same
 * name twice returns the existing family if the type and labels match,
 * else FD_EINVAL. */
int fd_metrics_counter(fd_metrics *m, const char *name, const char *help, const char *labels,
                       fd_metric **out, fd_err *err) FD_MUST_USE;
int fd_metrics_gauge(fd_metrics *m, const char *name, const char *help, const char *labels,
                     fd_metric **out, fd_err *err) FD_MUST_USE;
/* buckets: strictly increasing upper bounds (+Inf is implicit). */
int fd_metrics_histogram(fd_metrics *m, const char *name, const char *help, const char *labels,
                         const double *buckets, size_t n_buckets, fd_metric **out,
                         fd_err *err) FD_MUST_USE;

/* Label values follow as const char * arguments, as many as the family has
 * labels (a NULL value counts as ""). Values are escaped when rendered.
 * Out of memory while creating a series: the update is dropped (counted in
 * frontdesk_metrics_dropped_total). A NULL family is a no-op. */
void fd_metric_add(fd_metric *f, double v, ...);     /* counters (v >= 0), gauges */
void fd_metric_set(fd_metric *f, double v, ...);     /* gauges */
void fd_metric_observe(fd_metric *f, double v, ...); /* histograms */

/* Reads a counter or gauge series (tests); 0 if it does not exist. */
double fd_metric_value(fd_metric *f, ...);
/* Histogram series count and sum (tests). */
void fd_metric_hist(fd_metric *f, uint64_t *count, double *sum, ...);

/* Appends the whole registry in Prometheus text format (families in
 * registration order, series in creation order, # HELP and # TYPE lines,
 * histogram _bucket{le=...}/_sum/_count). */
int fd_metrics_render(fd_metrics *m, fd_buf *out) FD_MUST_USE;

/* Latency buckets in seconds suitable for request and stage timings:
 * 100 µs .. 30 s. */
extern const double fd_latency_buckets[];
extern const size_t fd_latency_n_buckets;

#endif
