/* test_concurrency.c: exact totals under contention, series created by
 * racing threads while others read and render, and the cost of an update
 * (printed, not asserted: machines and sanitizers differ). */
#include "support.h"

#include "obs_int.h"

#include <pthread.h>
#include <stdio.h>

#define N_THREADS 4
#define N_UPDATES 100000
#define N_KEYS 2000

typedef struct worker {
    fd_metric *c, *g, *h, *fresh;
    int id;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char own[16], key[16];
    snprintf(own, sizeof own, "t%d", w->id);
    for (int i = 0; i < N_UPDATES; i++) {
        fd_metric_add(w->c, 1, "shared", "x");
        fd_metric_add(w->c, 0.5, own, "x");
        fd_metric_add(w->g, 1, "shared");
        fd_metric_add(w->g, -1, "shared");
        fd_metric_add(w->g, 2, own);
        fd_metric_observe(w->h, (i % 4) * 0.25, "shared");
        fd_metric_observe(w->h, 1.5, own);
        /* Every thread creates the same new series in a different order,
         * growing the table under the others' lock-free reads. */
        if (i < N_KEYS * 4) {
            int k = (i / 4 + w->id * 499) % N_KEYS;
            snprintf(key, sizeof key, "k%d", k);
            if (i % 4 == 0)
                fd_metric_add(w->fresh, 1, key);
        }
    }
    return NULL;
}

static void *render_loop(void *arg)
{
    fd_metrics *m = arg;
    for (int i = 0; i < 20; i++) {
        fd_buf b;
        fd_buf_init(&b, 0);
        assert_int_equal(fd_metrics_render(m, &b), FD_OK);
        fd_buf_free(&b);
    }
    return NULL;
}

static void test_threads_exact(void **state)
{
    (void)state;
    fd_metrics *m = NULL;
    assert_int_equal(fd_metrics_new(&m, NULL), FD_OK);
    worker w[N_THREADS];
    fd_metric *c = NULL, *g = NULL, *h = NULL, *fresh = NULL;
    double b[] = {0.1, 0.5, 1, 2};
    assert_int_equal(fd_metrics_counter(m, "c_total", "", "k,x", &c, NULL), FD_OK);
    assert_int_equal(fd_metrics_gauge(m, "g", "", "k", &g, NULL), FD_OK);
    assert_int_equal(fd_metrics_histogram(m, "h", "", "k", b, 4, &h, NULL), FD_OK);
    assert_int_equal(fd_metrics_counter(m, "fresh_total", "", "k", &fresh, NULL), FD_OK);
    fd_metric_set_max_series(fresh, N_KEYS + 10);

    pthread_t th[N_THREADS], r;
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){c, g, h, fresh, i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    assert_int_equal(pthread_create(&r, NULL, render_loop, m), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_join(r, NULL);

    assert_true(fd_metric_value(c, "shared", "x") == N_THREADS * N_UPDATES);
    assert_true(fd_metric_value(g, "shared") == 0);
    char own[16];
    for (int i = 0; i < N_THREADS; i++) {
        snprintf(own, sizeof own, "t%d", i);
        assert_true(fd_metric_value(c, own, "x") == 0.5 * N_UPDATES);
        assert_true(fd_metric_value(g, own) == 2.0 * N_UPDATES);
        uint64_t n;
        double sum;
        fd_metric_hist(h, &n, &sum, own);
        assert_int_equal(n, N_UPDATES);
        assert_true(sum == 1.5 * N_UPDATES);
    }
    uint64_t n;
    double sum;
    fd_metric_hist(h, &n, &sum, "shared");
    assert_int_equal(n, N_THREADS * N_UPDATES);
    /* 0, .25, .5, .75 each a quarter of the time: exact in binary. */
    assert_true(sum == 0.375 * N_THREADS * N_UPDATES);

    /* Every racing creation landed in one series, none duplicated. */
    char key[16];
    for (int k = 0; k < N_KEYS; k++) {
        snprintf(key, sizeof key, "k%d", k);
        assert_true(fd_metric_value(fresh, key) == N_THREADS);
    }
    assert_int_equal(atomic_load(&fresh->n_series), N_KEYS);
    assert_true(fd_metric_value(m->dropped) == 0);

    /* Cumulative buckets of the shared histogram, exactly. */
    fd_buf out;
    fd_buf_init(&out, 0);
    assert_int_equal(fd_metrics_render(m, &out), FD_OK);
    assert_non_null(strstr(out.p, "h_bucket{k=\"shared\",le=\"0.1\"} 100000\n"
                                  "h_bucket{k=\"shared\",le=\"0.5\"} 300000\n"
                                  "h_bucket{k=\"shared\",le=\"1\"} 400000\n"));
    fd_buf_free(&out);
    fd_metrics_free(m);
}

static void *overflow_work(void *arg)
{
    worker *w = arg;
    char key[24];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "t%d-%d", w->id, i);
        fd_metric_add(w->c, 1, key);
    }
    return NULL;
}

static void test_threads_cap(void **state)
{
    (void)state;
    fd_metrics *m = NULL;
    assert_int_equal(fd_metrics_new(&m, NULL), FD_OK);
    fd_metric *c = NULL;
    assert_int_equal(fd_metrics_counter(m, "u_total", "", "user", &c, NULL), FD_OK);
    worker w[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){.c = c, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, overflow_work, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    /* 1000 series of 1 each, all the rest in _other, nothing lost. */
    assert_int_equal(atomic_load(&c->n_series), OBS_DEFAULT_MAX_SERIES + 1);
    assert_true(fd_metric_value(c, "_other") ==
                N_THREADS * 20000 - (OBS_DEFAULT_MAX_SERIES));
    fd_metrics_free(m);
}

static double ns_per(uint64_t t0, long n)
{
    return (double)(fd_time_ns() - t0) / (double)n;
}

static void *hammer(void *arg)
{
    for (long i = 0; i < 1000000; i++)
        fd_metric_add(arg, 1, "/api/v1/route17", "GET", "200");
    return NULL;
}

static void test_update_timing(void **state)
{
    (void)state;
    fd_metrics *m = NULL;
    assert_int_equal(fd_metrics_new(&m, NULL), FD_OK);
    fd_metric *c = NULL, *h = NULL, *u = NULL;
    assert_int_equal(fd_metrics_counter(m, "http_requests_total", "", "route,method,status", &c,
                                        NULL),
                     FD_OK);
    assert_int_equal(fd_metrics_histogram(m, "http_request_seconds", "", "route",
                                          fd_latency_buckets, fd_latency_n_buckets, &h, NULL),
                     FD_OK);
    assert_int_equal(fd_metrics_counter(m, "plain_total", "", NULL, &u, NULL), FD_OK);
    /* A realistic population so lookups probe a real table. */
    char route[32];
    for (int i = 0; i < 50; i++) {
        snprintf(route, sizeof route, "/api/v1/route%d", i);
        fd_metric_add(c, 1, route, "GET", "200");
        fd_metric_observe(h, 0.01, route);
    }
    const long n = 2000000;
    uint64_t t0 = fd_time_ns();
    for (long i = 0; i < n; i++)
        fd_metric_add(c, 1, "/api/v1/route17", "GET", "200");
    double add = ns_per(t0, n);
    t0 = fd_time_ns();
    for (long i = 0; i < n; i++)
        fd_metric_observe(h, 0.003, "/api/v1/route17");
    double obs = ns_per(t0, n);
    t0 = fd_time_ns();
    for (long i = 0; i < n; i++)
        fd_metric_add(u, 1);
    double plain = ns_per(t0, n);
    printf("obs timing: counter add (3 labels) %.1f ns, histogram observe (1 label) %.1f ns, "
           "unlabelled add %.1f ns\n",
           add, obs, plain);
    assert_true(fd_metric_value(c, "/api/v1/route17", "GET", "200") == n + 1);

    /* The worst case: every thread on one series (CAS retries). */
    pthread_t th[N_THREADS];
    t0 = fd_time_ns();
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, c), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    printf("obs timing: %d threads on one series: %.1f ns per update (wall / total)\n",
           N_THREADS, ns_per(t0, N_THREADS * 1000000L));
    assert_true(fd_metric_value(c, "/api/v1/route17", "GET", "200") ==
                n + 1 + N_THREADS * 1000000.0);
    fd_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_exact),
        cmocka_unit_test(test_threads_cap),
        cmocka_unit_test(test_update_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
