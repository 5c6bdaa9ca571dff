/* test_redis.c: the Redis tier against a real redis-server started here on
 * a free port: two fd_cache instances ("replicas") share entries, semantic
 * buckets, token buckets and single-flight; with Redis killed they go on
 * locally, promptly, and say so in their stats; with Redis back they use it
 * again. Also: malformed URLs are FD_EINVAL, an unreachable one is not an
 * error. redis-server is a build dependency (scripts/deps.sh): without it
 * these tests fail rather than skip. */
#include "support.h"
#include "cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- the server ---------------------------------------------------------------------- */

typedef struct server {
    char exe[512];
    char *dir;
    int port;
    pid_t pid; /* 0: not running */
} server;

/* redis-server on $PATH (then the Debian path), or a failed test. */
static void find_redis(server *s)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s:/usr/bin:/usr/local/bin", path ? path : "");
    for (char *save, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(s->exe, sizeof s->exe, "%s/redis-server", d);
        if (access(s->exe, X_OK) == 0)
            return;
    }
    s->exe[0] = '\0';
    fail_msg("redis-server is not installed (Debian package redis-server): run "
             "scripts/deps.sh; the Redis tier is tested against a real server");
}

/* A port nobody listens on now: bind to port 0, read it, let it go. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t n = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* 1 when a PING on 127.0.0.1:port is answered +PONG. */
static int ping(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = 0;
    char rep[16] = {0};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6 && recv(fd, rep, sizeof rep - 1, 0) > 0)
        ok = strncmp(rep, "+PONG", 5) == 0;
    close(fd);
    return ok;
}

/* The server's log, for a failure message. */
static void show_log(const server *s)
{
    char p[600], line[512];
    snprintf(p, sizeof p, "%s/redis.log", s->dir);
    FILE *f = fopen(p, "r");
    for (int i = 0; f && i < 40 && fgets(line, sizeof line, f); i++)
        fprintf(stderr, "redis.log: %s", line);
    if (f)
        fclose(f);
}

/* Stops it: sig (SIGKILL for a crash), and SIGKILL after 2 s if need be. */
static void server_stop(server *s, int sig)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, sig);
    int st, done = 0;
    for (int i = 0; i < 200 && !done; i++) {
        done = waitpid(s->pid, &st, WNOHANG) == s->pid;
        if (!done)
            sleep_ms(10);
    }
    if (!done) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
    }
    s->pid = 0;
}

/* Starts redis-server on s->port and waits (5 s at most) until it answers. */
static void server_start(server *s)
{
    char port[16], log[600];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        /* Dies with the test even when the test process is killed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(s->exe, s->exe, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly",
              "no", "--dir", s->dir, "--daemonize", "no", "--logfile", log, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (ping(s->port))
            return;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            show_log(s);
            fail_msg("redis-server (%s) exited at start (status %d)", s->exe, st);
        }
        sleep_ms(10);
    }
    show_log(s);
    server_stop(s, SIGKILL);
    fail_msg("redis-server did not answer on port %d within 5 s", s->port);
}

static int setup(void **state)
{
    server probe = {0};
    find_redis(&probe); /* first: a missing server fails with nothing to undo */
    server *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    *state = s;
    memcpy(s->exe, probe.exe, sizeof s->exe);
    s->dir = fd_test_tmpdir();
    s->port = free_port();
    server_start(s);
    return 0;
}

/* Runs after every test, passed or failed: the server never outlives it. */
static int teardown(void **state)
{
    server *s = *state;
    if (!s)
        return 0;
    server_stop(s, SIGTERM);
    if (s->dir) {
        fd_test_rmrf(s->dir);
        fd_free(s->dir);
    }
    free(s);
    return 0;
}

/* ---- the caches ------------------------------------------------------------------------ */

static void redis_cfg(fd_config *cfg, int port, const char *db)
{
    fd_config_defaults(cfg);
    cfg->cache_enabled = 1;
    cfg->cache_exact = cfg->cache_semantic = cfg->cache_retrieval = cfg->cache_llm = 1;
    cfg->cache_semantic_min = 0.8;
    cfg->cache_ttl_s = 60;
    cfg->cache_redis_timeout_ms = 100;
    cfg->cache_redis_retry_ms = 300;
    snprintf(cfg->cache_redis_url, sizeof cfg->cache_redis_url, "redis://127.0.0.1:%d%s", port, db);
}

static fd_cache *new_cache(const fd_config *cfg)
{
    fd_cache *c = NULL;
    fd_err err = {0};
    int rc = fd_cache_new(cfg, NULL, &c, &err);
    if (rc)
        fail_msg("fd_cache_new: %s", err.msg);
    assert_non_null(c);
    return c;
}

/* A counted get of key in layer l; 1 hit (and *out holds the value). */
static int get(fd_cache *c, fd_cache_layer l, const char *key, char *out, size_t outsz)
{
    fd_arena *a = fd_arena_new(0);
    assert_non_null(a);
    void *v;
    size_t vl;
    int hit = fd_cache_get(c, l, key, strlen(key), a, &v, &vl);
    if (hit && out) {
        assert_true(vl < outsz);
        memcpy(out, v, vl);
        out[vl] = '\0';
    }
    fd_arena_free(a);
    return hit;
}

static void put(fd_cache *c, fd_cache_layer l, const char *key, const char *val)
{
    fd_cache_put(c, l, key, strlen(key), val, strlen(val));
}

static fd_cache_stats stats(fd_cache *c)
{
    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    return st;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_bad_urls(void **state)
{
    (void)state;
    const char *bad[] = {
        "http://127.0.0.1:6379", "redis://",        "redis://:6379",  "redis://h:0",
        "redis://h:70000",       "redis://h:12x",   "redis://h:",     "redis://h:1/abc",
        "redis://h:1/-2",        "redis://u:p@h:1", "127.0.0.1:6379", "redis://h:1?x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fd_config cfg;
        redis_cfg(&cfg, 1, "");
        snprintf(cfg.cache_redis_url, sizeof cfg.cache_redis_url, "%s", bad[i]);
        fd_cache *c = NULL;
        fd_err err = {0};
        int rc = fd_cache_new(&cfg, NULL, &c, &err);
        if (rc != FD_EINVAL)
            fail_msg("%s: %d, not FD_EINVAL", bad[i], rc);
        assert_null(c);
        assert_string_equal(err.field, "cache.redis_url");
    }
    /* Well formed but nobody there: not an error; local, and says so. */
    fd_config cfg;
    redis_cfg(&cfg, free_port(), "/3");
    fd_cache *c = new_cache(&cfg);
    fd_cache_stats st = stats(c);
    assert_int_equal(st.redis_configured, 1);
    assert_int_equal(st.redis_up, 0);
    assert_true(st.redis_errors >= 1);
    put(c, FD_CACHE_EXACT, "k", "v");
    char out[16];
    assert_true(get(c, FD_CACHE_EXACT, "k", out, sizeof out));
    assert_string_equal(out, "v");
    double retry = -1;
    assert_int_equal(fd_cache_take(c, "t", 1, 3, &retry), -1);
    fd_cache_free(c);
}

/* Two replicas share entries, semantic buckets and token buckets; a db in
 * the URL is another namespace. */
static void test_shared(void **state)
{
    server *s = *state;
    fd_config cfg;
    redis_cfg(&cfg, s->port, "");
    fd_cache *a = new_cache(&cfg), *b = new_cache(&cfg);
    assert_int_equal(stats(a).redis_up, 1);
    assert_int_equal(stats(b).redis_up, 1);
    char out[64];

    assert_false(get(b, FD_CACHE_EXACT, "q1", out, sizeof out));
    put(a, FD_CACHE_EXACT, "q1", "answer from a");
    assert_true(get(b, FD_CACHE_EXACT, "q1", out, sizeof out));
    assert_string_equal(out, "answer from a");
    fd_cache_stats sb = stats(b);
    assert_int_equal(sb.redis_hits, 1);
    assert_int_equal(sb.layer[FD_CACHE_EXACT].hits, 1);
    assert_int_equal(sb.layer[FD_CACHE_EXACT].entries, 1); /* kept locally */
    assert_true(get(b, FD_CACHE_EXACT, "q1", out, sizeof out));
    assert_int_equal(stats(b).redis_hits, 1); /* the second from the local copy */
    /* Layers stay apart in Redis too. */
    assert_false(get(b, FD_CACHE_LLM, "q1", out, sizeof out));
    put(b, FD_CACHE_LLM, "q1", "llm from b");
    assert_true(get(a, FD_CACHE_LLM, "q1", out, sizeof out));
    assert_string_equal(out, "llm from b");
    assert_true(get(a, FD_CACHE_EXACT, "q1", out, sizeof out));
    assert_string_equal(out, "answer from a");
    /* Binary keys and values travel intact. */
    const unsigned char bk[] = {0, 'k', 0, 0xff}, bv[] = {0, 1, 2, 0, 0xfe};
    fd_cache_put(a, FD_CACHE_RETRIEVAL, bk, sizeof bk, bv, sizeof bv);
    fd_arena *ar = fd_arena_new(0);
    void *v;
    size_t vl;
    assert_true(fd_cache_get(b, FD_CACHE_RETRIEVAL, bk, sizeof bk, ar, &v, &vl));
    assert_int_equal(vl, sizeof bv);
    assert_memory_equal(v, bv, sizeof bv);
    assert_false(fd_cache_get(b, FD_CACHE_RETRIEVAL, bk, 3, ar, &v, &vl)); /* a prefix */
    fd_arena_free(ar);

    /* Semantic buckets. */
    float e0[8] = {1, 0, 0, 0, 0, 0, 0, 0}, near[8] = {0.9f, 0.43589f, 0, 0, 0, 0, 0, 0};
    fd_cache_sem_put(a, "bucket", 6, e0, 8, "sem answer", 10);
    ar = fd_arena_new(0);
    double sim = 0;
    assert_true(fd_cache_sem_get(b, "bucket", 6, near, 8, ar, &v, &vl, &sim));
    assert_int_equal(vl, 10);
    assert_memory_equal(v, "sem answer", 10);
    assert_true(sim > 0.89 && sim < 0.91);
    assert_false(fd_cache_sem_get(b, "other", 5, e0, 8, ar, &v, &vl, &sim));
    fd_arena_free(ar);

    /* One token bucket for both: rate 1/s, burst 3. */
    char tk[64];
    snprintf(tk, sizeof tk, "rl:test:%d", (int)getpid());
    double retry = -1;
    assert_int_equal(fd_cache_take(a, tk, 1, 3, &retry), 1);
    assert_int_equal(fd_cache_take(b, tk, 1, 3, &retry), 1);
    assert_int_equal(fd_cache_take(a, tk, 1, 3, &retry), 1);
    retry = -1;
    assert_int_equal(fd_cache_take(b, tk, 1, 3, &retry), 0);
    assert_true(retry > 0 && retry <= 1.0);
    retry = -1;
    assert_int_equal(fd_cache_take(a, tk, 1, 3, &retry), 0);
    assert_true(retry > 0 && retry <= 1.0);
    assert_int_equal(fd_cache_take(a, "rl:other", 1, 3, &retry), 1); /* its own bucket */
    sleep_ms(1100);                                                  /* one token back */
    assert_int_equal(fd_cache_take(b, tk, 1, 3, &retry), 1);
    assert_int_equal(fd_cache_take(a, tk, 1, 3, &retry), 0);
    /* A burst below one behaves as one (as fd_ratelimit does), not as a
     * bucket that never holds a token. */
    assert_int_equal(fd_cache_take(a, "rl:tiny", 1, 0, &retry), 1);
    assert_int_equal(fd_cache_take(b, "rl:tiny", 1, 0, &retry), 0);
    /* Bucket keys live in the cache's namespace: a caller's key that names
     * another kind of Redis value is no error. */
    put(a, FD_CACHE_EXACT, "plain", "v"); /* a string at fd:c:exact:plain */
    assert_int_equal(fd_cache_take(a, "fd:c:exact:plain", 1, 3, &retry), 1);
    assert_true(get(b, FD_CACHE_EXACT, "plain", out, sizeof out));

    /* Another db: another namespace. */
    fd_config cfg1;
    redis_cfg(&cfg1, s->port, "/1");
    fd_cache *c = new_cache(&cfg1);
    assert_int_equal(stats(c).redis_up, 1);
    assert_false(get(c, FD_CACHE_EXACT, "q1", out, sizeof out));
    put(c, FD_CACHE_EXACT, "only-db1", "x");
    assert_false(get(a, FD_CACHE_EXACT, "only-db1", out, sizeof out));

    fd_cache_stats sa = stats(a);
    assert_int_equal(sa.redis_errors, 0);
    assert_int_equal(sa.redis_recoveries, 0);
    assert_int_equal(stats(c).redis_errors, 0);
    fd_cache_free(c);
    fd_cache_free(a);
    fd_cache_free(b);
}

typedef struct remote_follower {
    fd_cache *c;
    const char *key;
    int wait_ms, rc, hit;
    uint64_t took_ns;
    char got[32];
} remote_follower;

static void *follow_thread(void *arg)
{
    remote_follower *f = arg;
    uint64_t t0 = fd_time_ns();
    f->rc = fd_cache_flight_begin(f->c, FD_CACHE_LLM, f->key, strlen(f->key), f->wait_ms);
    f->took_ns = fd_time_ns() - t0;
    if (f->rc == FD_CACHE_LEAD) {
        fd_cache_flight_end(f->c, FD_CACHE_LLM, f->key, strlen(f->key));
        return NULL;
    }
    fd_arena *a = fd_arena_new(0);
    void *v;
    size_t vl;
    f->hit = a && fd_cache_get(f->c, FD_CACHE_LLM, f->key, strlen(f->key), a, &v, &vl);
    if (f->hit)
        snprintf(f->got, sizeof f->got, "%.*s", (int)vl, (char *)v);
    fd_arena_free(a);
    return NULL;
}

/* A leads; B, another replica, follows until A's value is in Redis. */
static void test_flight_shared(void **state)
{
    server *s = *state;
    fd_config cfg;
    redis_cfg(&cfg, s->port, "");
    fd_cache *a = new_cache(&cfg), *b = new_cache(&cfg);
    const char *key = "prompt-hash-1";
    assert_int_equal(fd_cache_flight_begin(a, FD_CACHE_LLM, key, strlen(key), 3000), FD_CACHE_LEAD);
    remote_follower f = {.c = b, .key = key, .wait_ms = 3000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &f), 0);
    sleep_ms(150);
    fd_cache_put(a, FD_CACHE_LLM, key, strlen(key), "completion", 10);
    fd_cache_flight_end(a, FD_CACHE_LLM, key, strlen(key));
    pthread_join(th, NULL);
    assert_int_equal(f.rc, FD_CACHE_FOLLOWED);
    assert_true(f.took_ns >= 100 * MS); /* it waited for A */
    assert_true(f.took_ns < 2000 * MS); /* and not for its whole wait */
    assert_true(f.hit);
    assert_string_equal(f.got, "completion");
    assert_int_equal(stats(a).flights_led, 1);
    assert_int_equal(stats(b).flights_followed, 1);
    assert_int_equal(stats(b).flights_led, 0);

    /* A leads and never ends: B comes back after its wait, counted. */
    const char *stuck = "prompt-hash-2";
    assert_int_equal(fd_cache_flight_begin(a, FD_CACHE_LLM, stuck, strlen(stuck), 3000),
                     FD_CACHE_LEAD);
    remote_follower g = {.c = b, .key = stuck, .wait_ms = 300};
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &g), 0);
    pthread_join(th, NULL);
    assert_int_equal(g.rc, FD_CACHE_FOLLOWED);
    assert_true(g.took_ns >= 280 * MS);
    assert_true(g.took_ns < 2000 * MS);
    assert_false(g.hit);
    assert_int_equal(stats(b).flight_timeouts, 1);

    /* A gives up without a value: B need not wait out its whole wait. */
    remote_follower h = {.c = b, .key = stuck, .wait_ms = 3000};
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &h), 0);
    sleep_ms(150);
    fd_cache_flight_end(a, FD_CACHE_LLM, stuck, strlen(stuck));
    pthread_join(th, NULL);
    assert_int_equal(h.rc, FD_CACHE_FOLLOWED);
    assert_true(h.took_ns < 1500 * MS);
    assert_false(h.hit);
    assert_int_equal(stats(b).flight_timeouts, 1);
    /* And the flight is over everywhere: the next one leads. */
    assert_int_equal(fd_cache_flight_begin(b, FD_CACHE_LLM, stuck, strlen(stuck), 3000),
                     FD_CACHE_LEAD);
    fd_cache_flight_end(b, FD_CACHE_LLM, stuck, strlen(stuck));
    fd_cache_free(a);
    fd_cache_free(b);
}

/* ms one call took; fails past limit_ms. */
#define PROMPT(limit_ms, call)                                                                     \
    do {                                                                                           \
        uint64_t t0_ = fd_time_ns();                                                               \
        call;                                                                                      \
        uint64_t ms_ = (fd_time_ns() - t0_) / MS;                                                  \
        if (ms_ >= (limit_ms))                                                                     \
            fail_msg("%s took %llu ms while Redis was down", #call, (unsigned long long)ms_);      \
    } while (0)

/* Redis dies: local service goes on, promptly; Redis returns: used again. */
static void test_outage_and_recovery(void **state)
{
    server *s = *state;
    fd_config cfg;
    redis_cfg(&cfg, s->port, "");
    cfg.cache_redis_timeout_ms = 100;
    cfg.cache_redis_retry_ms = 300;
    fd_cache *a = new_cache(&cfg), *b = new_cache(&cfg);
    char out[64];
    put(a, FD_CACHE_EXACT, "before", "v0");
    assert_true(get(b, FD_CACHE_EXACT, "before", out, sizeof out));

    server_stop(s, SIGKILL);

    /* 600 ms of traffic: spans two retry intervals, so reconnects are tried
     * (and fail) in between; every call returns at once. */
    uint64_t until = fd_time_ns() + 600 * MS;
    int hit = 0, miss = 0, n = 0;
    double retry;
    while (fd_time_ns() < until) {
        char key[32];
        snprintf(key, sizeof key, "down-%d", n++);
        PROMPT(50, hit += get(a, FD_CACHE_EXACT, "before", out, sizeof out));
        PROMPT(50, miss += !get(a, FD_CACHE_EXACT, key, out, sizeof out));
        PROMPT(50, put(a, FD_CACHE_EXACT, key, "local"));
        PROMPT(50, hit += get(a, FD_CACHE_EXACT, key, out, sizeof out));
        PROMPT(50, assert_int_equal(fd_cache_take(a, "rl:down", 1, 3, &retry), -1));
        PROMPT(50, assert_int_equal(fd_cache_flight_begin(a, FD_CACHE_LLM, key, strlen(key), 200),
                                    FD_CACHE_LEAD));
        fd_cache_flight_end(a, FD_CACHE_LLM, key, strlen(key));
        sleep_ms(5);
    }
    assert_int_equal(hit, 2 * n);
    assert_int_equal(miss, n);
    fd_cache_stats sa = stats(a);
    assert_int_equal(sa.redis_configured, 1);
    assert_int_equal(sa.redis_up, 0);
    assert_true(sa.redis_errors >= 2);          /* the first failure, then failed reconnects */
    assert_true(sa.redis_errors < (uint64_t)n); /* not one per call: it waits between tries */
    assert_int_equal(sa.redis_recoveries, 0);
    PROMPT(50, (void)get(b, FD_CACHE_EXACT, "nothing", out, sizeof out));
    assert_int_equal(stats(b).redis_up, 0);

    server_start(s); /* the same port */
    sleep_ms(350);   /* past the retry interval */
    /* The first call after the interval reconnects. */
    put(a, FD_CACHE_EXACT, "after", "v1");
    sa = stats(a);
    assert_int_equal(sa.redis_up, 1);
    assert_true(sa.redis_recoveries >= 1);
    assert_true(get(b, FD_CACHE_EXACT, "after", out, sizeof out));
    assert_string_equal(out, "v1");
    fd_cache_stats sb = stats(b);
    assert_int_equal(sb.redis_up, 1);
    assert_true(sb.redis_recoveries >= 1);
    assert_int_equal(sb.redis_hits, 2); /* "before", and "after" */
    assert_int_equal(fd_cache_take(a, "rl:up", 1, 3, &retry), 1);
    /* Errors stop growing once it is back. */
    uint64_t errs = stats(a).redis_errors;
    for (int i = 0; i < 20; i++)
        put(a, FD_CACHE_LLM, "more", "x");
    assert_int_equal(stats(a).redis_errors, errs);
    fd_cache_free(a);
    fd_cache_free(b);
}

int main(void)
{
    /* As the server does (cli_serve.c): a write to a socket Redis closed is
     * an error to handle, not a signal that ends the process. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test_setup_teardown(test_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flight_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_and_recovery, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
