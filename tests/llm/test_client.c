/* test_client.c: the client against a real fake server (tests/support/
 * fake_llm.c): configuration and key file, headers and body on the wire,
 * streamed and whole answers, usage and cost, submit from another thread,
 * cancel (also inside on_token), the in-flight cap, free with calls live,
 * and allocation failure over a whole call. */
#include "fake.h"

#include <pthread.h>

static fake F;

static int group_setup(void **state)
{
    (void)state;
    fake_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fake_stop(&F);
    return 0;
}

#define NEED_FAKE()                                                                                \
    do {                                                                                           \
        if (!F.port)                                                                               \
            skip();                                                                                \
    } while (0)

static fd_llm *client(fd_config *cfg)
{
    fd_llm *c = NULL;
    fd_err err;
    int rc = fd_llm_new(cfg, NULL, &c, &err);
    if (rc)
        fail_msg("fd_llm_new: %s", err.msg);
    return c;
}

/* ---- configuration -------------------------------------------------------- */

static void test_new_errors(void **state)
{
    (void)state;
    fd_config cfg;
    fd_config_defaults(&cfg);
    fd_llm *c = (fd_llm *)&cfg;
    fd_err err;
    assert_int_equal(fd_llm_new(&cfg, NULL, &c, &err), FD_EUNAVAIL);
    assert_null(c);

    snprintf(cfg.llm_base_url, sizeof cfg.llm_base_url, "http://127.0.0.1:9/v1");
    snprintf(cfg.llm_api_key_file, sizeof cfg.llm_api_key_file, "/nonexistent/fd/key");
    assert_int_equal(fd_llm_new(&cfg, NULL, &c, &err), FD_EIO);
    assert_null(c);

    cfg.llm_api_key_file[0] = '\0';
    snprintf(cfg.llm_prices, sizeof cfg.llm_prices, "gpt-4o-mini=abc/1");
    assert_int_equal(fd_llm_new(&cfg, NULL, &c, &err), FD_EINVAL);

    fd_config_defaults(&cfg);
    snprintf(cfg.llm_base_url, sizeof cfg.llm_base_url, "ftp://example.com/v1");
    assert_int_equal(fd_llm_new(&cfg, NULL, &c, &err), FD_EINVAL);

    /* No client: every entry point degrades, none crashes. */
    fd_llm_msg msgs[2];
    fd_llm_request req = fake_request(msgs);
    fd_llm_result r;
    assert_int_equal(fd_llm_complete(NULL, &req, NULL, NULL, &r, &err), FD_EUNAVAIL);
    assert_int_equal(r.code, FD_EUNAVAIL);
    assert_int_equal(fd_llm_run(NULL, 0), 0);
    fd_llm_free(NULL);
    assert_string_equal(fd_llm_model(NULL), "");
}

static void test_bad_requests(void **state)
{
    (void)state;
    fd_config cfg;
    fd_config_defaults(&cfg);
    snprintf(cfg.llm_base_url, sizeof cfg.llm_base_url, "http://127.0.0.1:9/v1");
    fd_llm *c = client(&cfg);
    rec r;
    rec_init(&r);
    fd_llm_callbacks cb = {rec_token, rec_done, &r};
    fd_err err;
    fd_llm_request empty = {NULL, 0, 0, -1, NULL, NULL};
    assert_int_equal(fd_llm_submit(c, &empty, &cb, NULL, &err), FD_EINVAL);
    fd_llm_msg msgs[2];
    fd_llm_request req = fake_request(msgs);
    req.request_id = "abc\r\nX-Evil: 1";
    assert_int_equal(fd_llm_submit(c, &req, &cb, NULL, &err), FD_EINVAL);
    req.request_id = NULL;
    msgs[1].content = "bad \xff utf-8";
    assert_int_equal(fd_llm_submit(c, &req, &cb, NULL, &err), FD_EINVAL);
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.calls, 0);
    assert_int_equal(st.inflight, 0);
    fd_llm_free(c);
    rec_free(&r);
}

/* ---- the happy paths -------------------------------------------------------- */

static void test_stream_tokens_usage_cost(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "echo", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    fd_llm *c = client(&cfg);
    assert_string_equal(fd_llm_model(c), "gpt-4o-mini");
    rec r;
    rec_init(&r);
    assert_int_equal(submit_rec(c, &r, NULL), FD_OK);
    drive(c, &r, 1, 5000);
    assert_int_equal(r.n_done, 1);
    assert_int_equal(r.r.code, FD_OK);
    assert_true(r.n_tokens > 5); /* word by word */
    /* The pieces in order make the whole text. */
    assert_int_equal(r.text.len, r.r.text_len);
    assert_memory_equal(r.text.p, r.r.text, r.text.len);
    assert_non_null(strstr(r.r.text, "within 7 days"));
    assert_non_null(strstr(r.r.text, "[1]"));
    assert_string_equal(r.r.finish_reason, "stop");
    assert_int_equal(r.r.http_status, 200);
    assert_int_equal(r.r.attempts, 1);
    assert_int_equal(r.r.usage_estimated, 0);
    assert_true(r.r.prompt_tokens > 0 && r.r.completion_tokens > 0);
    double want = ((double)r.r.prompt_tokens * 0.15 + (double)r.r.completion_tokens * 0.60) / 1e6;
    assert_true(r.r.cost_usd > 0 && r.r.cost_usd - want < 1e-12 && want - r.r.cost_usd < 1e-12);
    assert_true(r.r.first_token_ms >= 0 && r.r.first_token_ms <= r.r.total_ms);
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.ok, 1);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(st.prompt_tokens, (uint64_t)r.r.prompt_tokens);
    assert_int_equal(st.breaker, FD_BREAKER_CLOSED);
    fd_llm_free(c);
    rec_free(&r);
}

static void test_headers_and_body_on_the_wire(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "echo", 0);
    char *dir = fd_test_tmpdir();
    char *key = fd_test_write(dir, "key", "sk-test-123\n", 12);
    fd_config cfg;
    fake_config(&F, &cfg);
    snprintf(cfg.llm_api_key_file, sizeof cfg.llm_api_key_file, "%s", key);
    cfg.llm_max_tokens = 77;
    cfg.llm_temperature = 0.5;
    FILE *logf = tmpfile();
    fd_log *log = fd_log_new(FD_LOG_DEBUG, 1, logf);
    fd_llm *c = NULL;
    assert_int_equal(fd_llm_new(&cfg, log, &c, NULL), FD_OK);
    fd_llm_msg msgs[2];
    fd_llm_request req = fake_request(msgs);
    req.request_id = "req-42";
    req.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    fd_llm_result r;
    assert_int_equal(fd_llm_complete(c, &req, NULL, NULL, &r, NULL), FD_OK);
    json_t *st = fake_stats(&F);
    assert_string_equal(json_string_value(json_object_get(st, "auth")), "Bearer sk-test-123");
    assert_string_equal(json_string_value(json_object_get(st, "request_id")), "req-42");
    assert_string_equal(json_string_value(json_object_get(st, "traceparent")), req.traceparent);
    assert_string_equal(json_string_value(json_object_get(st, "content_type")), "application/json");
    assert_string_equal(json_string_value(json_object_get(st, "accept")), "text/event-stream");
    json_t *body = json_object_get(st, "last_request");
    assert_string_equal(json_string_value(json_object_get(body, "model")), "gpt-4o-mini");
    assert_true(json_is_true(json_object_get(body, "stream")));
    assert_true(
        json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage")));
    assert_int_equal(json_integer_value(json_object_get(body, "max_tokens")), 77);
    assert_true(json_real_value(json_object_get(body, "temperature")) == 0.5);
    assert_int_equal(json_array_size(json_object_get(body, "messages")), 2);
    json_decref(st);

    /* A failure is logged, with the request id and without the key. */
    fake_mode(&F, "500", 0);
    assert_int_equal(fd_llm_complete(c, &req, NULL, NULL, &r, NULL), FD_EUPSTREAM);
    fd_llm_free(c);
    fflush(logf);
    rewind(logf);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, logf);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "req-42"));
    assert_non_null(strstr(buf, "\"llm\""));
    assert_null(strstr(buf, "sk-test-123"));
    fclose(logf);
    fd_log_free(log);
    fd_test_rmrf(dir);
    fd_free(key);
    fd_free(dir);
}

static void test_whole_json_answer(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "nostream", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    fd_llm *c = client(&cfg);
    rec r;
    rec_init(&r);
    assert_int_equal(submit_rec(c, &r, NULL), FD_OK);
    drive(c, &r, 1, 5000);
    assert_int_equal(r.r.code, FD_OK);
    assert_int_equal(r.n_tokens, 1); /* the whole text as one piece */
    assert_non_null(strstr(r.r.text, "within 7 days"));
    assert_string_equal(r.r.finish_reason, "stop");
    assert_int_equal(r.r.usage_estimated, 0);
    assert_true(r.r.completion_tokens > 0);
    fd_llm_free(c);
    rec_free(&r);
}

static void test_estimated_usage_and_invent(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "no_usage", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    fd_llm *c = client(&cfg);
    fd_llm_msg msgs[2];
    fd_llm_request req = fake_request(msgs);
    fd_llm_result r;
    assert_int_equal(fd_llm_complete(c, &req, NULL, NULL, &r, NULL), FD_OK);
    assert_int_equal(r.usage_estimated, 1);
    size_t bytes = strlen(msgs[0].content) + strlen(msgs[1].content);
    assert_int_equal(r.prompt_tokens, (int64_t)((bytes + 3) / 4));
    assert_int_equal(r.completion_tokens, (int64_t)((r.text_len + 3) / 4));
    assert_true(r.cost_usd > 0);

    /* The fake's "invent" mode changes the number: later tests rely on it. */
    fake_mode(&F, "invent", 0);
    assert_int_equal(fd_llm_complete(c, &req, NULL, NULL, &r, NULL), FD_OK);
    assert_null(strstr(r.text, "within 7 days"));
    assert_non_null(strstr(r.text, "[1]"));
    fd_llm_free(c);
}

static void test_concurrent_calls(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow_tokens", 5);
    fd_config cfg;
    fake_config(&F, &cfg);
    fd_llm *c = client(&cfg);
    rec r[5];
    for (int i = 0; i < 5; i++) {
        rec_init(&r[i]);
        assert_int_equal(submit_rec(c, &r[i], NULL), FD_OK);
    }
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.inflight, 5);
    drive(c, r, 5, 5000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].n_done, 1);
        assert_int_equal(r[i].r.code, FD_OK);
        assert_string_equal(r[i].r.text, r[0].r.text);
    }
    for (int i = 0; i < 5; i++)
        rec_free(&r[i]);
    assert_int_equal(fake_requests(&F), 5);
    fd_llm_free(c);
}

/* ---- threads ----------------------------------------------------------------- */

typedef struct submitter {
    fd_llm *c;
    rec *r;
    int rc;
} submitter;

static void *submit_later(void *arg)
{
    submitter *s = arg;
    fake_sleep_ms(150);
    s->rc = submit_rec(s->c, s->r, NULL);
    return NULL;
}

static void test_submit_from_another_thread(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "echo", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    fd_llm *c = client(&cfg);
    rec r;
    rec_init(&r);
    submitter s = {c, &r, -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, submit_later, &s), 0);
    /* Idle, run() would wait the whole 3 s; the submit's wakeup ends it. */
    double t0 = fake_now_ms();
    fd_llm_run(c, 3000);
    double waited = fake_now_ms() - t0;
    assert_true(waited < 1500);
    pthread_join(t, NULL);
    assert_int_equal(s.rc, FD_OK);
    drive(c, &r, 1, 5000);
    assert_int_equal(r.r.code, FD_OK);
    assert_true(pthread_equal(r.done_thread, pthread_self()));

    /* fd_llm_wakeup alone also ends the wait. */
    fd_llm_wakeup(c);
    t0 = fake_now_ms();
    fd_llm_run(c, 3000);
    assert_true(fake_now_ms() - t0 < 1500);
    fd_llm_free(c);
    rec_free(&r);
}

/* ---- cancel, cap, free --------------------------------------------------------- */

static void test_cancel_mid_stream(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow_tokens", 40);
    size_t base = fd_alloc_bytes();
    fd_config cfg;
    fake_config(&F, &cfg);
    fd_llm *c = client(&cfg);
    rec r;
    rec_init(&r);
    fd_llm_call *call = NULL;
    assert_int_equal(submit_rec(c, &r, &call), FD_OK);
    assert_non_null(call);
    double end = fake_now_ms() + 3000;
    while (!r.n_tokens && fake_now_ms() < end)
        fd_llm_run(c, 20);
    assert_true(r.n_tokens > 0);
    fd_llm_cancel(c, call);
    int left = fd_llm_run(c, 200);
    assert_int_equal(left, 0);
    assert_int_equal(r.n_done, 0);
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.cancelled, 1);
    assert_int_equal(st.inflight, 0);

    /* Cancelled from inside its own on_token, and while still queued. */
    rec r2;
    rec_init(&r2);
    fd_llm_call *call2 = NULL;
    r2.cancel_in_token = c;
    r2.cancel_call = &call2;
    assert_int_equal(submit_rec(c, &r2, &call2), FD_OK);
    fd_llm_call *call3 = NULL;
    rec r3;
    rec_init(&r3);
    assert_int_equal(submit_rec(c, &r3, &call3), FD_OK);
    fd_llm_cancel(c, call3);
    end = fake_now_ms() + 3000;
    while (!r2.n_tokens && fake_now_ms() < end)
        fd_llm_run(c, 20);
    fd_llm_run(c, 200);
    assert_int_equal(r2.n_tokens, 1);
    assert_int_equal(r2.n_done + r3.n_done, 0);
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.cancelled, 3);
    assert_int_equal(st.inflight, 0);
    fd_llm_free(c);
    rec_free(&r);
    rec_free(&r2);
    rec_free(&r3);
    assert_int_equal(fd_alloc_bytes(), base); /* everything freed */
}

static void test_inflight_cap(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow", 200);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_max_inflight = 2;
    cfg.llm_queue_max = 0; /* no queue: over the cap is refused at once */
    fd_llm *c = client(&cfg);
    rec r[3];
    for (int i = 0; i < 3; i++)
        rec_init(&r[i]);
    assert_int_equal(submit_rec(c, &r[0], NULL), FD_OK);
    assert_int_equal(submit_rec(c, &r[1], NULL), FD_OK);
    assert_int_equal(submit_rec(c, &r[2], NULL), FD_EUNAVAIL);
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.inflight, 2);
    drive(c, r, 2, 5000);
    assert_int_equal(r[0].r.code, FD_OK);
    assert_int_equal(r[1].r.code, FD_OK);
    assert_int_equal(r[2].n_done, 0);
    /* Slots come back once calls finish. */
    assert_int_equal(submit_rec(c, &r[2], NULL), FD_OK);
    drive(c, &r[2], 1, 5000);
    assert_int_equal(r[2].r.code, FD_OK);
    fd_llm_free(c);
    for (int i = 0; i < 3; i++)
        rec_free(&r[i]);
}

/* Admission: max_inflight run, queue_max wait their turn in order, the
 * next is refused at once; a queued call's wait is reported. */
static void test_admission_queue(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow", 300);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_max_inflight = 1;
    cfg.llm_queue_max = 1;
    fd_llm *c = client(&cfg);
    rec r[3];
    for (int i = 0; i < 3; i++)
        rec_init(&r[i]);
    assert_int_equal(submit_rec(c, &r[0], NULL), FD_OK);
    assert_int_equal(submit_rec(c, &r[1], NULL), FD_OK); /* queued */
    assert_int_equal(submit_rec(c, &r[2], NULL), FD_EUNAVAIL);
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.queue_full, 1);
    assert_int_equal(st.inflight, 2);
    assert_int_equal(st.queued, 2); /* the loop has not taken either in yet */
    drive(c, r, 2, 5000);
    assert_int_equal(r[0].r.code, FD_OK);
    assert_int_equal(r[1].r.code, FD_OK);
    assert_true(r[0].r.queue_ms < 100);
    assert_true(r[1].r.queue_ms >= 250); /* it waited for the first call */
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(fake_requests(&F), 2); /* never more than one at a time */
    fd_llm_free(c);
    for (int i = 0; i < 3; i++)
        rec_free(&r[i]);
}

/* A call that waits past llm.queue_timeout_ms fails without reaching the
 * LLM, and does not count against the LLM's circuit. */
static void test_queue_timeout(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow", 600);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_max_inflight = 1;
    cfg.llm_queue_max = 4;
    cfg.llm_queue_timeout_ms = 100;
    cfg.llm_breaker_failures = 1;
    fd_llm *c = client(&cfg);
    rec r[2];
    rec_init(&r[0]);
    rec_init(&r[1]);
    assert_int_equal(submit_rec(c, &r[0], NULL), FD_OK);
    assert_int_equal(submit_rec(c, &r[1], NULL), FD_OK);
    drive(c, r, 2, 5000);
    assert_int_equal(r[0].r.code, FD_OK);
    assert_int_equal(r[1].r.code, FD_EUNAVAIL);
    assert_int_equal(r[1].r.attempts, 0);
    assert_true(r[1].r.queue_ms >= 90 && r[1].r.queue_ms < 500);
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.queue_timeouts, 1);
    assert_int_equal(st.breaker, FD_BREAKER_CLOSED); /* one failure would have opened it */
    assert_int_equal(fake_requests(&F), 1);
    fd_llm_free(c);
    rec_free(&r[0]);
    rec_free(&r[1]);
}

static void test_free_with_calls_in_flight(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow_tokens", 50);
    size_t base = fd_alloc_bytes();
    fd_config cfg;
    fake_config(&F, &cfg);
    fd_llm *c = client(&cfg);
    rec r[3];
    for (int i = 0; i < 3; i++) {
        rec_init(&r[i]);
        assert_int_equal(submit_rec(c, &r[i], NULL), FD_OK);
    }
    double end = fake_now_ms() + 3000;
    while (!r[0].n_tokens && fake_now_ms() < end)
        fd_llm_run(c, 20);
    assert_true(r[0].n_tokens > 0); /* mid-stream now */
    fd_llm_free(c);                 /* cancels all three: no callback */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].n_done, 0);
        rec_free(&r[i]);
    }
    assert_int_equal(fd_alloc_bytes(), base);
}

/* ---- allocation failure ----------------------------------------------------- */

typedef struct oom_rec {
    int done, code, tokens;
} oom_rec;

static void oom_token(void *ctx, const char *p, size_t n)
{
    (void)p;
    (void)n;
    ((oom_rec *)ctx)->tokens++;
}

static void oom_done(void *ctx, const fd_llm_result *r)
{
    oom_rec *o = ctx;
    o->done = 1;
    o->code = r->code;
}

/* new + submit + a whole streamed answer + free; callbacks allocate nothing. */
static int oom_scenario(const fd_config *cfg)
{
    fd_llm *c = NULL;
    int rc = fd_llm_new(cfg, NULL, &c, NULL);
    if (rc)
        return rc;
    fd_llm_msg msgs[2];
    fd_llm_request req = fake_request(msgs);
    oom_rec o = {0};
    fd_llm_callbacks cb = {oom_token, oom_done, &o};
    rc = fd_llm_submit(c, &req, &cb, NULL, NULL);
    double end = fake_now_ms() + 5000;
    while (!rc && !o.done && fake_now_ms() < end)
        fd_llm_run(c, 50);
    if (!rc) {
        assert_true(o.done);
        rc = o.code;
    }
    fd_llm_free(c);
    return rc;
}

static void test_alloc_failure(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "echo", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    snprintf(cfg.llm_api_key, sizeof cfg.llm_api_key, "sk-oom");
    size_t base = fd_alloc_bytes();
    int rc, k = 0;
    do {
        fd_alloc_fail_at(++k);
        rc = oom_scenario(&cfg);
        fd_alloc_fail_at(0);
        if (rc != FD_OK && rc != FD_ENOMEM)
            fail_msg("allocation %d: rc %s", k, fd_code_name(rc));
        assert_int_equal(fd_alloc_bytes(), base);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(k > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_stream_tokens_usage_cost),
        cmocka_unit_test(test_headers_and_body_on_the_wire),
        cmocka_unit_test(test_whole_json_answer),
        cmocka_unit_test(test_estimated_usage_and_invent),
        cmocka_unit_test(test_concurrent_calls),
        cmocka_unit_test(test_submit_from_another_thread),
        cmocka_unit_test(test_cancel_mid_stream),
        cmocka_unit_test(test_inflight_cap),
        cmocka_unit_test(test_admission_queue),
        cmocka_unit_test(test_queue_timeout),
        cmocka_unit_test(test_free_with_calls_in_flight),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
