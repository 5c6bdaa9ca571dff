/* test_metrics.c: rendering, escaping, validation, duplicates, the series
 * cap, misuse and allocation failure. */
#include "support.h"

#include "obs_int.h"

#include <stdio.h>

static fd_metrics *new_reg(void)
{
    fd_metrics *m = NULL;
    fd_err err = {0};
    assert_int_equal(fd_metrics_new(&m, &err), FD_OK);
    assert_non_null(m);
    return m;
}

static char *render(fd_metrics *m)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    assert_int_equal(fd_metrics_render(m, &b), FD_OK);
    char *s = fd_buf_take(&b);
    return s ? s : fd_strdup("");
}

static double dropped(fd_metrics *m)
{
    return fd_metric_value(m->dropped);
}

static void test_render_exact(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_err err = {0};
    fd_metric *req = NULL, *inflight = NULL, *up = NULL, *lat = NULL;
    assert_int_equal(fd_metrics_counter(m, "http_requests_total", "Requests by route.",
                                        "route, status", &req, &err),
                     FD_OK);
    assert_int_equal(fd_metrics_gauge(m, "http_inflight", "Requests in flight.", "route",
                                      &inflight, &err),
                     FD_OK);
    assert_int_equal(fd_metrics_gauge(m, "up", NULL, NULL, &up, &err), FD_OK);
    static const double b[] = {0.1, 0.5, 1};
    assert_int_equal(fd_metrics_histogram(m, "stage_seconds", "Stage time.", "stage", b, 3,
                                          &lat, &err),
                     FD_OK);

    fd_metric_add(req, 1, "/chat", "200");
    fd_metric_add(req, 2, "/chat", "200");
    fd_metric_add(req, 1, "/kb", "404");
    fd_metric_add(req, 0.5, "/chat", NULL); /* NULL is "" */
    fd_metric_set(inflight, 5, "/chat");
    fd_metric_add(inflight, -2, "/chat");
    fd_metric_add(inflight, 0.25, "/kb");
    fd_metric_set(up, 1);
    fd_metric_observe(lat, 0.05, "search");
    fd_metric_observe(lat, 0.1, "search"); /* le is inclusive */
    fd_metric_observe(lat, 0.7, "search");
    fd_metric_observe(lat, 3, "search");
    fd_metric_observe(lat, 1, "llm");

    assert_true(fd_metric_value(req, "/chat", "200") == 3);
    assert_true(fd_metric_value(inflight, "/chat") == 3);
    assert_true(fd_metric_value(req, "/none", "200") == 0);
    uint64_t n;
    double sum;
    fd_metric_hist(lat, &n, &sum, "search");
    assert_int_equal(n, 4);
    assert_true(sum == 0.05 + 0.1 + 0.7 + 3);

    char *text = render(m);
    const char *want =
        "# HELP frontdesk_metrics_dropped_total Metric updates dropped (out of memory or misuse).\n"
        "# TYPE frontdesk_metrics_dropped_total counter\n"
        "frontdesk_metrics_dropped_total 0\n"
        "# HELP http_requests_total Requests by route.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{route=\"/chat\",status=\"200\"} 3\n"
        "http_requests_total{route=\"/kb\",status=\"404\"} 1\n"
        "http_requests_total{route=\"/chat\",status=\"\"} 0.5\n"
        "# HELP http_inflight Requests in flight.\n"
        "# TYPE http_inflight gauge\n"
        "http_inflight{route=\"/chat\"} 3\n"
        "http_inflight{route=\"/kb\"} 0.25\n"
        "# TYPE up gauge\n"
        "up 1\n"
        "# HELP stage_seconds Stage time.\n"
        "# TYPE stage_seconds histogram\n"
        "stage_seconds_bucket{stage=\"search\",le=\"0.1\"} 2\n"
        "stage_seconds_bucket{stage=\"search\",le=\"0.5\"} 2\n"
        "stage_seconds_bucket{stage=\"search\",le=\"1\"} 3\n"
        "stage_seconds_bucket{stage=\"search\",le=\"+Inf\"} 4\n"
        "stage_seconds_sum{stage=\"search\"} 3.85\n"
        "stage_seconds_count{stage=\"search\"} 4\n"
        "stage_seconds_bucket{stage=\"llm\",le=\"0.1\"} 0\n"
        "stage_seconds_bucket{stage=\"llm\",le=\"0.5\"} 0\n"
        "stage_seconds_bucket{stage=\"llm\",le=\"1\"} 1\n"
        "stage_seconds_bucket{stage=\"llm\",le=\"+Inf\"} 1\n"
        "stage_seconds_sum{stage=\"llm\"} 1\n"
        "stage_seconds_count{stage=\"llm\"} 1\n";
    assert_string_equal(text, want);
    fd_free(text);
    fd_metrics_free(m);
}

static void test_unlabelled_histogram_and_buckets(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_metric *h = NULL;
    assert_int_equal(fd_metrics_histogram(m, "req_seconds", "", NULL, fd_latency_buckets,
                                          fd_latency_n_buckets, &h, NULL),
                     FD_OK);
    assert_int_equal(fd_latency_n_buckets, 17);
    assert_true(fd_latency_buckets[0] == 0.0001 && fd_latency_buckets[16] == 30);
    fd_metric_observe(h, 0.0003);
    fd_metric_observe(h, 100);
    char *text = render(m);
    const char *want = "# TYPE req_seconds histogram\n"
                       "req_seconds_bucket{le=\"0.0001\"} 0\n"
                       "req_seconds_bucket{le=\"0.00025\"} 0\n"
                       "req_seconds_bucket{le=\"0.0005\"} 1\n";
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "req_seconds_bucket{le=\"30\"} 1\n"
                                 "req_seconds_bucket{le=\"+Inf\"} 2\n"
                                 "req_seconds_sum 100.0003\n"
                                 "req_seconds_count 2\n"));
    fd_free(text);
    fd_metrics_free(m);
}

static void test_escaping(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_metric *c = NULL;
    assert_int_equal(fd_metrics_counter(m, "esc_total", "a \\ back\nslash \"q\"", "v", &c, NULL),
                     FD_OK);
    fd_metric_add(c, 1, "a\\b\"c\nd");
    fd_metric_add(c, 1, "plain");
    char *text = render(m);
    assert_non_null(strstr(text, "# HELP esc_total a \\\\ back\\nslash \"q\"\n"));
    assert_non_null(strstr(text, "esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"));
    assert_non_null(strstr(text, "esc_total{v=\"plain\"} 1\n"));
    /* The value as given, not the escaped form, names the series. */
    assert_true(fd_metric_value(c, "a\\b\"c\nd") == 1);
    fd_free(text);
    fd_metrics_free(m);
}

static void test_validation(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_err err = {0};
    fd_metric *f = (fd_metric *)(uintptr_t)1;
    static const char *bad_names[] = {"", "1abc", "a-b", "a b", "é", "x{y}"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        fd_err_clear(&err);
        assert_int_equal(fd_metrics_counter(m, bad_names[i], "", NULL, &f, &err), FD_EINVAL);
        assert_null(f);
        assert_int_equal(err.code, FD_EINVAL);
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(fd_metrics_counter(m, NULL, "", NULL, &f, &err), FD_EINVAL);
    assert_int_equal(fd_metrics_counter(m, "ns:sub_total", "", NULL, &f, &err), FD_OK);
    assert_int_equal(fd_metrics_counter(m, "_x9", "", "", &f, &err), FD_OK);

    static const char *bad_labels[] = {"a,,b", "1x", "__x", "a,a", "a,b,c,d,e",
                                       "a:b", "a,",  ",a",  "a b", "a-b"};
    for (size_t i = 0; i < sizeof bad_labels / sizeof *bad_labels; i++) {
        fd_err_clear(&err);
        assert_int_equal(fd_metrics_gauge(m, "g", "", bad_labels[i], &f, &err), FD_EINVAL);
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(fd_metrics_gauge(m, "g4", "", " a , b,c,d ", &f, &err), FD_OK);
    assert_string_equal(f->label_spec, "a,b,c,d");
    assert_int_equal(f->n_labels, 4);
    assert_string_equal(f->label[3], "d");

    /* Histograms: "le" is theirs; buckets strictly increasing and finite. */
    double b[] = {1, 2, 2};
    assert_int_equal(fd_metrics_histogram(m, "h", "", "le", b, 1, &f, &err), FD_EINVAL);
    assert_int_equal(fd_metrics_histogram(m, "h", "", NULL, b, 3, &f, &err), FD_EINVAL);
    double nan_b[] = {1, 0.0 / 0.0};
    assert_int_equal(fd_metrics_histogram(m, "h", "", NULL, nan_b, 2, &f, &err), FD_EINVAL);
    double inf_b[] = {1, 1.0 / 0.0};
    assert_int_equal(fd_metrics_histogram(m, "h", "", NULL, inf_b, 2, &f, &err), FD_EINVAL);
    double dec[] = {2, 1};
    assert_int_equal(fd_metrics_histogram(m, "h", "", NULL, dec, 2, &f, &err), FD_EINVAL);
    assert_int_equal(fd_metrics_histogram(m, "h", "", NULL, NULL, 2, &f, &err), FD_EINVAL);
    assert_int_equal(fd_metrics_histogram(m, "h", "", NULL, b, 2, &f, &err), FD_OK);
    /* Only +Inf: allowed. */
    assert_int_equal(fd_metrics_histogram(m, "h0", "", "x", NULL, 0, &f, &err), FD_OK);
    fd_metric_observe(f, 3, "y");
    char *text = render(m);
    assert_non_null(strstr(text, "h0_bucket{x=\"y\",le=\"+Inf\"} 1\nh0_sum{x=\"y\"} 3\n"));
    fd_free(text);

    /* A NULL family is a no-op, not a crash. */
    fd_metric_add(NULL, 1);
    fd_metric_set(NULL, 1);
    fd_metric_observe(NULL, 1);
    assert_true(fd_metric_value(NULL) == 0);
    fd_metrics_free(m);
}

static void test_duplicates(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_err err = {0};
    fd_metric *a = NULL, *b = NULL;
    assert_int_equal(fd_metrics_counter(m, "x_total", "X.", "route,status", &a, &err), FD_OK);
    assert_int_equal(fd_metrics_counter(m, "x_total", "other help", "route, status", &b, &err),
                     FD_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(fd_metrics_gauge(m, "x_total", "X.", "route,status", &b, &err), FD_EINVAL);
    assert_null(b);
    assert_int_equal(fd_metrics_counter(m, "x_total", "X.", "route", &b, &err), FD_EINVAL);
    assert_int_equal(fd_metrics_counter(m, "x_total", "X.", "status,route", &b, &err),
                     FD_EINVAL);
    assert_int_equal(fd_metrics_counter(m, "x_total", "X.", NULL, &b, &err), FD_EINVAL);
    /* The self-counter is a family like the others. */
    assert_int_equal(fd_metrics_counter(m, OBS_DROPPED_NAME, "", NULL, &b, &err), FD_OK);
    assert_ptr_equal(b, m->dropped);

    fd_metric *h1 = NULL, *h2 = NULL;
    double b1[] = {1, 2}, b2[] = {1, 3};
    assert_int_equal(fd_metrics_histogram(m, "h", "", "s", b1, 2, &h1, &err), FD_OK);
    assert_int_equal(fd_metrics_histogram(m, "h", "", "s", b1, 2, &h2, &err), FD_OK);
    assert_ptr_equal(h1, h2);
    assert_int_equal(fd_metrics_histogram(m, "h", "", "s", b2, 2, &h2, &err), FD_EINVAL);
    assert_int_equal(fd_metrics_histogram(m, "h", "", "s", b1, 1, &h2, &err), FD_EINVAL);

    /* Registered once: rendered once. */
    char *text = render(m);
    const char *first = strstr(text, "# TYPE x_total counter");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# TYPE x_total counter"));
    fd_free(text);
    fd_metrics_free(m);
}

static void test_cap_other(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_metric *c = NULL;
    assert_int_equal(fd_metrics_counter(m, "c_total", "", "user,kind", &c, NULL), FD_OK);
    fd_metric_set_max_series(c, 3);
    fd_metric_add(c, 1, "u1", "a");
    fd_metric_add(c, 1, "u2", "a");
    fd_metric_add(c, 1, "u3", "a");
    fd_metric_add(c, 1, "u4", "a"); /* past the cap */
    fd_metric_add(c, 2, "u5", "b");
    fd_metric_add(c, 1, "u4", "a");
    fd_metric_add(c, 1, "u1", "a"); /* known series keep working */
    assert_true(fd_metric_value(c, "u1", "a") == 2);
    assert_true(fd_metric_value(c, "u4", "a") == 0);
    assert_true(fd_metric_value(c, "_other", "_other") == 4);
    assert_int_equal(atomic_load(&c->n_series), 4);
    assert_true(dropped(m) == 0);
    char *text = render(m);
    assert_non_null(strstr(text, "c_total{user=\"u3\",kind=\"a\"} 1\n"
                                 "c_total{user=\"_other\",kind=\"_other\"} 4\n"));
    fd_free(text);

    /* The default cap is 1000; a histogram overflows the same way. */
    fd_metric *h = NULL;
    double b[] = {1};
    assert_int_equal(fd_metrics_histogram(m, "h", "", "id", b, 1, &h, NULL), FD_OK);
    char id[32];
    for (int i = 0; i < 1005; i++) {
        snprintf(id, sizeof id, "id%d", i);
        fd_metric_observe(h, 0.5, id);
    }
    uint64_t n;
    double sum;
    fd_metric_hist(h, &n, &sum, "_other");
    assert_int_equal(n, 5);
    assert_true(sum == 2.5);
    fd_metric_hist(h, &n, &sum, "id999");
    assert_int_equal(n, 1);
    fd_metric_hist(h, &n, &sum, "id1000");
    assert_int_equal(n, 0);
    assert_int_equal(atomic_load(&h->n_series), 1001);
    fd_metrics_free(m);
}

static void test_other_value_given(void **state)
{
    (void)state;
    /* A caller's own "_other" series doubles as the overflow one. */
    fd_metrics *m = new_reg();
    fd_metric *c = NULL;
    assert_int_equal(fd_metrics_counter(m, "c_total", "", "k", &c, NULL), FD_OK);
    fd_metric_set_max_series(c, 2);
    fd_metric_add(c, 1, "_other");
    fd_metric_add(c, 1, "a");
    fd_metric_add(c, 1, "b");
    assert_true(fd_metric_value(c, "_other") == 2);
    char *text = render(m);
    const char *p = strstr(text, "c_total{k=\"_other\"}");
    assert_non_null(p);
    assert_null(strstr(p + 1, "c_total{k=\"_other\"}"));
    fd_free(text);
    fd_metrics_free(m);
}

static void test_misuse_counted(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_metric *c = NULL, *g = NULL, *h = NULL;
    assert_int_equal(fd_metrics_counter(m, "c_total", "", NULL, &c, NULL), FD_OK);
    assert_int_equal(fd_metrics_gauge(m, "g", "", NULL, &g, NULL), FD_OK);
    assert_int_equal(fd_metrics_histogram(m, "h", "", NULL, NULL, 0, &h, NULL), FD_OK);
    fd_metric_add(c, -1);           /* counters only go up */
    fd_metric_add(c, 0.0 / 0.0);
    fd_metric_set(c, 5);
    fd_metric_observe(g, 1);
    fd_metric_add(h, 1);
    fd_metric_add(g, -1.5);         /* gauges may go down */
    assert_true(dropped(m) == 5);
    assert_true(fd_metric_value(c) == 0);
    assert_true(fd_metric_value(g) == -1.5);
    char *text = render(m);
    assert_non_null(strstr(text, "frontdesk_metrics_dropped_total 5\n"));
    assert_non_null(strstr(text, "\ng -1.5\n"));
    fd_free(text);
    fd_metrics_free(m);
}

static void test_oom_update_dropped(void **state)
{
    (void)state;
    fd_metrics *m = new_reg();
    fd_metric *c = NULL;
    assert_int_equal(fd_metrics_counter(m, "c_total", "", "k", &c, NULL), FD_OK);
    fd_metric_add(c, 1, "known");
    fd_alloc_fail_at(1);
    fd_metric_add(c, 1, "known"); /* existing series: no allocation */
    fd_metric_add(c, 1, "new");
    fd_metric_add(c, 1, "new");
    fd_alloc_fail_at(0);
    assert_true(fd_metric_value(c, "known") == 2);
    assert_true(fd_metric_value(c, "new") == 0);
    assert_true(dropped(m) == 2);
    fd_metric_add(c, 1, "new");
    assert_true(fd_metric_value(c, "new") == 1);
    fd_metrics_free(m);
}

/* Registers, updates (growing a table past its first size) and renders;
 * every update either lands or is counted as dropped. */
static int scenario(void)
{
    fd_metrics *m = NULL;
    if (fd_metrics_new(&m, NULL))
        return 0;
    fd_metric *c = NULL, *g = NULL, *h = NULL;
    int rc = fd_metrics_counter(m, "c_total", "help", "a,b", &c, NULL);
    int rc_g = fd_metrics_gauge(m, "g", "", NULL, &g, NULL);
    int rc_h = fd_metrics_histogram(m, "h_seconds", "", "s", fd_latency_buckets,
                                    fd_latency_n_buckets, &h, NULL);
    assert_true((rc_g == FD_OK) == (g != NULL) && (rc_h == FD_OK) == (h != NULL));
    if (c)
        fd_metric_set_max_series(c, 30);
    char k[16];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "k%d", i);
        fd_metric_add(c, 1, k, "x");
        fd_metric_add(c, 1, k, "x");
        fd_metric_observe(h, 0.01 * i, k);
    }
    fd_metric_set(g, 7);
    fd_buf b;
    fd_buf_init(&b, 0);
    int render_rc = fd_metrics_render(m, &b);
    assert_true(render_rc == FD_OK || render_rc == FD_ENOMEM);
    fd_buf_free(&b);

    double landed = 0;
    if (c) {
        for (int i = 0; i < 40; i++) {
            snprintf(k, sizeof k, "k%d", i);
            landed += fd_metric_value(c, k, "x");
        }
        landed += fd_metric_value(c, "_other", "_other");
        assert_true(fd_metric_value(c, "k39", "x") == 0); /* past the cap */
    }
    double hist = 0;
    if (h) {
        for (int i = 0; i < 40; i++) {
            snprintf(k, sizeof k, "k%d", i);
            uint64_t n;
            double sum;
            fd_metric_hist(h, &n, &sum, k);
            hist += (double)n;
        }
    }
    double want = (c ? 80 : 0) + (h ? 40 : 0);
    assert_true(landed + hist + dropped(m) == want);
    if (g)
        assert_true(fd_metric_value(g) == 7); /* unlabelled: never allocates */
    fd_metrics_free(m);
    return rc == FD_OK && h && g;
}

static void test_alloc_failure_loop(void **state)
{
    (void)state;
    size_t base = fd_alloc_bytes();
    int done = 0;
    long n;
    for (n = 1; n < 2000 && !done; n++) {
        fd_alloc_fail_at(n);
        int ok = scenario();
        long failures = fd_alloc_failures();
        fd_alloc_fail_at(0);
        assert_int_equal(fd_alloc_bytes(), base);
        done = failures == 0;
        if (done)
            assert_true(ok);
    }
    assert_true(done);
    printf("obs: allocation failure loop: %ld points\n", n - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_unlabelled_histogram_and_buckets),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_cap_other),
        cmocka_unit_test(test_other_value_given),
        cmocka_unit_test(test_misuse_counted),
        cmocka_unit_test(test_oom_update_dropped),
        cmocka_unit_test(test_alloc_failure_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
