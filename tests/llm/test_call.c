/* test_call.c: a call's failures against the fake server: retries on 500
 * and 429 (Retry-After honoured, capped by the deadline), broken JSON, a
 * dropped stream, first-token and total deadlines, connection refused, and
 * the circuit breaker opening, refusing without traffic, half-opening and
 * closing. Every wait is bounded; the deadlines are short on purpose. */
#include "fake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

/* One call under cfg; fills *r (strings in r) and returns the elapsed ms. */
static double run_one(fd_config *cfg, rec *r, fd_llm_stats *st)
{
    fd_llm *c = NULL;
    assert_int_equal(fd_llm_new(cfg, NULL, &c, NULL), FD_OK);
    rec_init(r);
    double t0 = fake_now_ms();
    assert_int_equal(submit_rec(c, r, NULL), FD_OK);
    drive(c, r, 1, 10000);
    double ms = fake_now_ms() - t0;
    assert_int_equal(r->n_done, 1);
    if (st)
        fd_llm_stats_get(c, st);
    fd_llm_free(c);
    return ms;
}

static void test_retry_500_then_ok(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "fail_n:1", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    rec r;
    fd_llm_stats st;
    run_one(&cfg, &r, &st);
    assert_int_equal(r.r.code, FD_OK);
    assert_int_equal(r.r.attempts, 2);
    assert_int_equal(r.r.http_status, 200);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.ok, 1);
    assert_int_equal(fake_requests(&F), 2);
    rec_free(&r);
}

static void test_retries_exhausted(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "500", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_max_retries = 2;
    rec r;
    fd_llm_stats st;
    run_one(&cfg, &r, &st);
    assert_int_equal(r.r.code, FD_EUPSTREAM);
    assert_int_equal(r.r.attempts, 3);
    assert_int_equal(r.r.http_status, 500);
    assert_non_null(strstr(r.r.error, "HTTP 500"));
    assert_non_null(strstr(r.r.error, "fake internal error"));
    assert_int_equal(r.r.text_len, 0);
    assert_int_equal(r.r.prompt_tokens, 0); /* never reached the model: no cost */
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.retries, 2);
    assert_int_equal(fake_requests(&F), 3);
    rec_free(&r);
}

static void test_retry_after_429(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "rate_n:1", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    rec r;
    double ms = run_one(&cfg, &r, NULL);
    assert_int_equal(r.r.code, FD_OK);
    assert_int_equal(r.r.attempts, 2);
    assert_true(ms >= 950); /* Retry-After: 1 beats the 20 ms backoff */
    assert_true(ms < 2500);
    rec_free(&r);
}

static void test_retry_after_past_deadline(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "429", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_total_ms = 600; /* Retry-After: 1 s cannot fit: fail now */
    rec r;
    double ms = run_one(&cfg, &r, NULL);
    assert_int_equal(r.r.code, FD_EUPSTREAM);
    assert_int_equal(r.r.http_status, 429);
    assert_int_equal(r.r.attempts, 1);
    assert_true(ms < 500);
    assert_non_null(strstr(r.r.error, "past the deadline"));
    rec_free(&r);
}

static void test_broken_json(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "broken_json", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    rec r;
    run_one(&cfg, &r, NULL);
    assert_int_equal(r.r.code, FD_EUPSTREAM);
    assert_int_equal(r.r.attempts, 1); /* a server bug: retrying won't help */
    assert_non_null(strstr(r.r.error, "not a JSON object"));
    rec_free(&r);
}

static void test_dropped_stream(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "drop", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    rec r;
    run_one(&cfg, &r, NULL);
    assert_int_equal(r.r.code, FD_EUPSTREAM);
    assert_int_equal(r.r.attempts, 1); /* tokens were out: no retry */
    assert_true(r.r.text_len > 0);
    assert_string_equal(r.r.text, "Happy to help. ");
    assert_int_equal(r.n_tokens, 3);
    assert_true(r.r.first_token_ms >= 0);
    rec_free(&r);
}

static void test_first_token_timeout(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow", 3000);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_first_token_ms = 300;
    rec r;
    fd_llm_stats st;
    double ms = run_one(&cfg, &r, &st);
    assert_int_equal(r.r.code, FD_ETIMEOUT);
    assert_true(ms >= 290 && ms < 700);
    assert_int_equal(r.r.attempts, 1);
    assert_int_equal(r.r.first_token_ms, -1);
    assert_non_null(strstr(r.r.error, "first token"));
    assert_int_equal(st.timeouts, 1);
    rec_free(&r);
}

static void test_total_timeout_hang(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "hang", 0);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_first_token_ms = 5000;
    cfg.llm_total_ms = 400;
    rec r;
    double ms = run_one(&cfg, &r, NULL);
    assert_int_equal(r.r.code, FD_ETIMEOUT);
    assert_true(ms >= 390 && ms < 800);
    assert_non_null(strstr(r.r.error, "no complete answer"));
    rec_free(&r);
}

static void test_total_timeout_mid_stream(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "slow_tokens", 100);
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_total_ms = 350;
    rec r;
    double ms = run_one(&cfg, &r, NULL);
    assert_int_equal(r.r.code, FD_ETIMEOUT);
    assert_true(ms < 700);
    assert_true(r.r.text_len > 0); /* what came before the deadline */
    assert_int_equal(r.r.text_len, r.text.len);
    rec_free(&r);
}

/* A port nobody listens on: bind to :0, read the port, close. */
static int dead_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t n = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &n), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_connection_refused(void **state)
{
    (void)state;
    fd_config cfg;
    fake f = {0};
    snprintf(f.url, sizeof f.url, "http://127.0.0.1:%d/v1", dead_port());
    fake_config(&f, &cfg);
    cfg.llm_backoff_ms = 10;
    rec r;
    fd_llm_stats st;
    double ms = run_one(&cfg, &r, &st);
    assert_int_equal(r.r.code, FD_EUNAVAIL);
    assert_int_equal(r.r.attempts, 3);
    assert_int_equal(r.r.http_status, 0);
    assert_true(ms < 1000);
    assert_int_equal(st.retries, 2);
    rec_free(&r);
}

/* ---- the breaker ------------------------------------------------------------ */

static fd_llm *breaker_client(void)
{
    fd_config cfg;
    fake_config(&F, &cfg);
    cfg.llm_max_retries = 0;
    cfg.llm_breaker_failures = 2;
    cfg.llm_breaker_open_ms = 300;
    fd_llm *c = NULL;
    assert_int_equal(fd_llm_new(&cfg, NULL, &c, NULL), FD_OK);
    return c;
}

static int one_call(fd_llm *c)
{
    rec r;
    rec_init(&r);
    int rc = submit_rec(c, &r, NULL);
    if (!rc) {
        drive(c, &r, 1, 5000);
        assert_int_equal(r.n_done, 1);
        rc = r.r.code;
    }
    rec_free(&r);
    return rc;
}

static fd_breaker_state breaker_of(fd_llm *c)
{
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    return st.breaker;
}

static void test_breaker_open_half_open_close(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "500", 0);
    fd_llm *c = breaker_client();
    assert_int_equal(one_call(c), FD_EUPSTREAM);
    assert_int_equal(breaker_of(c), FD_BREAKER_CLOSED);
    assert_int_equal(one_call(c), FD_EUPSTREAM);
    assert_int_equal(breaker_of(c), FD_BREAKER_OPEN);
    /* Open: refused at once, and nothing reaches the server. */
    assert_int_equal(one_call(c), FD_EUNAVAIL);
    assert_int_equal(fake_requests(&F), 2);
    fd_llm_stats st;
    fd_llm_stats_get(c, &st);
    assert_int_equal(st.refused, 1);

    fake_sleep_ms(320);
    assert_int_equal(breaker_of(c), FD_BREAKER_HALF_OPEN);
    fake_mode(&F, "slow", 100);
    rec trial, other;
    rec_init(&trial);
    rec_init(&other);
    assert_int_equal(submit_rec(c, &trial, NULL), FD_OK);
    assert_int_equal(submit_rec(c, &other, NULL), FD_EUNAVAIL); /* one trial only */
    drive(c, &trial, 1, 5000);
    assert_int_equal(trial.r.code, FD_OK);
    assert_int_equal(breaker_of(c), FD_BREAKER_CLOSED);
    assert_int_equal(one_call(c), FD_OK);
    fd_llm_free(c);
    rec_free(&trial);
    rec_free(&other);
}

static void test_breaker_trial_fails(void **state)
{
    (void)state;
    NEED_FAKE();
    fake_mode(&F, "500", 0);
    fd_llm *c = breaker_client();
    assert_int_equal(one_call(c), FD_EUPSTREAM);
    assert_int_equal(one_call(c), FD_EUPSTREAM);
    fake_sleep_ms(320);
    assert_int_equal(one_call(c), FD_EUPSTREAM); /* the trial */
    assert_int_equal(breaker_of(c), FD_BREAKER_OPEN);
    assert_int_equal(one_call(c), FD_EUNAVAIL);
    assert_int_equal(fake_requests(&F), 3);
    fd_llm_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_500_then_ok),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_retry_after_429),
        cmocka_unit_test(test_retry_after_past_deadline),
        cmocka_unit_test(test_broken_json),
        cmocka_unit_test(test_dropped_stream),
        cmocka_unit_test(test_first_token_timeout),
        cmocka_unit_test(test_total_timeout_hang),
        cmocka_unit_test(test_total_timeout_mid_stream),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_breaker_open_half_open_close),
        cmocka_unit_test(test_breaker_trial_fails),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
