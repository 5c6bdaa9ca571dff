/* fake.h: runs tests/support/fake_llm (path in $FD_FAKE_LLM) as a child of
 * a test binary and talks to its /_control and /_stats endpoints. Static
 * functions: each test binary includes it once. */
#ifndef FD_TEST_LLM_FAKE_H
#define FD_TEST_LLM_FAKE_H

#include "support.h"

#include "llm_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct fake {
    pid_t pid;
    int port; /* 0: not running (FD_FAKE_LLM unset): tests skip */
    char *dir;
    char url[64]; /* http://127.0.0.1:<port>/v1 */
} fake;

static void fake_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double fake_now_ms(void)
{
    return (double)fd_time_ns() / 1e6;
}

/* Starts the fake on a free port; 0 when FD_FAKE_LLM is unset. */
static int fake_start(fake *f)
{
    memset(f, 0, sizeof *f);
    const char *exe = getenv("FD_FAKE_LLM");
    if (!exe || !*exe)
        return 0;
    f->dir = fd_test_tmpdir();
    char pf[600];
    snprintf(pf, sizeof pf, "%s/port", f->dir);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        /* Dies with the test, even when an assertion aborts it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(exe, exe, "--port", "0", "--port-file", pf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !f->port; i++) { /* 5 s at most */
        FILE *in = fopen(pf, "r");
        if (in) {
            if (fscanf(in, "%d", &f->port) != 1)
                f->port = 0;
            fclose(in);
        }
        if (!f->port) {
            int st;
            assert_int_equal(waitpid(f->pid, &st, WNOHANG), 0); /* still alive */
            fake_sleep_ms(10);
        }
    }
    assert_true(f->port > 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/v1", f->port);
    return 1;
}

static void fake_stop(fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        int st, done = 0;
        for (int i = 0; i < 200 && !done; i++) { /* 2 s, then no mercy */
            done = waitpid(f->pid, &st, WNOHANG) == f->pid;
            if (!done)
                fake_sleep_ms(10);
        }
        if (!done) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, &st, 0);
        }
    }
    if (f->dir) {
        fd_test_rmrf(f->dir);
        FD_FREE(f->dir);
    }
    f->pid = 0;
    f->port = 0;
}

static size_t fake_collect(char *p, size_t size, size_t n, void *ud)
{
    fd_buf *b = ud;
    return fd_buf_append(b, p, size * n) ? 0 : size * n;
}

/* GET (body NULL) or POST path; returns the parsed JSON answer. */
static json_t *fake_http(const fake *f, const char *path, const char *body)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    fd_buf b;
    fd_buf_init(&b, 0);
    CURL *e = curl_easy_init();
    assert_non_null(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fake_collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
    json_t *j = json_loadb(b.p ? b.p : "", b.len, 0, NULL);
    fd_buf_free(&b);
    assert_non_null(j);
    return j;
}

/* Switches the mode and zeroes the counters. */
static void fake_mode(const fake *f, const char *mode, int delay_ms)
{
    char body[256];
    snprintf(body, sizeof body, "{\"mode\":\"%s\",\"delay_ms\":%d,\"reset\":true}", mode, delay_ms);
    json_decref(fake_http(f, "/_control", body));
}

static json_t *fake_stats(const fake *f)
{
    return fake_http(f, "/_stats", NULL);
}

/* Chat requests that reached the fake since the last fake_mode. */
static long fake_requests(const fake *f)
{
    json_t *j = fake_stats(f);
    long n = (long)json_integer_value(json_object_get(j, "requests"));
    json_decref(j);
    return n;
}

/* ---- a client pointed at the fake, and a call recorder --------------------- */

static void fake_config(const fake *f, fd_config *cfg)
{
    fd_config_defaults(cfg);
    snprintf(cfg->llm_base_url, sizeof cfg->llm_base_url, "%s", f->url);
    snprintf(cfg->llm_model, sizeof cfg->llm_model, "gpt-4o-mini");
    cfg->llm_connect_timeout_ms = 1000;
    cfg->llm_first_token_ms = 2000;
    cfg->llm_total_ms = 4000;
    cfg->llm_max_retries = 2;
    cfg->llm_backoff_ms = 20;
    cfg->llm_breaker_failures = 50;
    cfg->llm_breaker_open_ms = 30000;
    cfg->llm_max_inflight = 16;
}

/* What the callbacks saw. */
typedef struct rec {
    fd_buf text; /* on_token pieces, concatenated */
    int n_tokens;
    int n_done;
    fd_llm_result r; /* strings copied below */
    char error[256], finish[32];
    fd_buf done_text;
    fd_llm *cancel_in_token; /* set: the first on_token cancels *cancel_call */
    fd_llm_call **cancel_call;
    pthread_t done_thread;
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    fd_buf_init(&r->text, 0);
    fd_buf_init(&r->done_text, 0);
}

static void rec_free(rec *r)
{
    fd_buf_free(&r->text);
    fd_buf_free(&r->done_text);
}

static void rec_token(void *ctx, const char *p, size_t n)
{
    rec *r = ctx;
    assert_int_equal(fd_buf_append(&r->text, p, n), FD_OK);
    r->n_tokens++;
    if (r->cancel_in_token) {
        fd_llm_cancel(r->cancel_in_token, *r->cancel_call);
        r->cancel_in_token = NULL;
    }
}

static void rec_done(void *ctx, const fd_llm_result *res)
{
    rec *r = ctx;
    r->n_done++;
    r->r = *res;
    snprintf(r->error, sizeof r->error, "%s", res->error ? res->error : "");
    snprintf(r->finish, sizeof r->finish, "%s", res->finish_reason ? res->finish_reason : "");
    r->done_text.len = 0;
    assert_int_equal(fd_buf_append(&r->done_text, res->text, res->text_len), FD_OK);
    r->r.error = r->error;
    r->r.finish_reason = r->finish;
    r->r.text = r->done_text.p ? r->done_text.p : "";
    r->done_thread = pthread_self();
}

/* Drives c until every rec in recs has its on_done, or ms pass. */
static void drive(fd_llm *c, rec *recs, int n, int ms)
{
    double end = fake_now_ms() + ms;
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += recs[i].n_done > 0;
        if (done == n || fake_now_ms() > end)
            break;
        fd_llm_run(c, 50);
    }
}

static const char *FAKE_QUESTION =
    "Passages:\n\n[1] Returns > Refund window\nYou can return unopened items within 7 days of "
    "delivery. Opened items cannot be returned.\n\n[2] Shipping\nWe ship to Singapore only. "
    "Delivery takes 3 days.\n\nQuestion: How many days do I have to return an item?";

static fd_llm_request fake_request(fd_llm_msg msgs[2])
{
    msgs[0] = (fd_llm_msg){"system", "You are a test assistant."};
    msgs[1] = (fd_llm_msg){"user", FAKE_QUESTION};
    fd_llm_request req = {msgs, 2, 0, -1, NULL, NULL};
    return req;
}

static int submit_rec(fd_llm *c, rec *r, fd_llm_call **call)
{
    fd_llm_msg msgs[2];
    fd_llm_request req = fake_request(msgs);
    fd_llm_callbacks cb = {rec_token, rec_done, r};
    fd_err err;
    return fd_llm_submit(c, &req, &cb, call, &err);
}

#endif
