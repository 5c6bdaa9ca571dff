/* test_ratelimit.c: token buckets: burst then refusal with Retry-After,
 * continuous refill, independence of keys, the max_keys bound with LRU
 * eviction, no over-grant under threads, and failing open on OOM. */
#include "support.h"
#include "auth.h"

#include <pthread.h>
#include <stdio.h>

static fd_ratelimit *new_rl(size_t max_keys)
{
    fd_ratelimit *rl = NULL;
    fd_err err = {0};
    assert_int_equal(fd_ratelimit_new(max_keys, &rl, &err), FD_OK);
    assert_non_null(rl);
    return rl;
}

/* The HTTP test's shape: 100 rapid requests against 10/min, burst 10. */
static void test_burst_then_refuse(void **state)
{
    (void)state;
    fd_ratelimit *rl = new_rl(0);
    int allowed = 0, refused = 0;
    double now = 1000.0;
    for (int i = 0; i < 100; i++) {
        double retry = -1;
        if (fd_ratelimit_take(rl, "ip:10.0.0.1", 10, 10, now + i * 0.001, &retry)) {
            allowed++;
            assert_true(retry == 0);
        } else {
            refused++;
            assert_true(retry >= 1);
            assert_true(retry <= 6);                   /* one token every 6 s */
            assert_true(retry == (double)(long)retry); /* whole seconds */
        }
    }
    assert_int_equal(allowed, 10);
    assert_int_equal(refused, 90);
    fd_ratelimit_stats st;
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_allowed, 10);
    assert_int_equal(st.n_refused, 90);
    assert_int_equal(st.n_keys, 1);
    assert_true(fd_ratelimit_take(rl, "ip:10.0.0.1", 10, 10, now + 0.1, NULL) == 0); /* NULL ok */
    fd_ratelimit_free(rl);
}

static void test_refill(void **state)
{
    (void)state;
    fd_ratelimit *rl = new_rl(0);
    double t = 50.0, retry = 0;
    for (int i = 0; i < 5; i++)
        assert_true(fd_ratelimit_take(rl, "k", 60, 5, t, NULL)); /* 1 token/s */
    assert_false(fd_ratelimit_take(rl, "k", 60, 5, t, &retry));
    assert_true(retry == 1);
    assert_false(fd_ratelimit_take(rl, "k", 60, 5, t + 0.5, &retry)); /* half a token */
    assert_true(retry == 1);                                          /* ceil(0.5 s) */
    assert_true(fd_ratelimit_take(rl, "k", 60, 5, t + 1.0, NULL));
    assert_false(fd_ratelimit_take(rl, "k", 60, 5, t + 1.0, NULL));
    /* Long idle: back to burst, never above. */
    for (int i = 0; i < 5; i++)
        assert_true(fd_ratelimit_take(rl, "k", 60, 5, t + 1000, NULL));
    assert_false(fd_ratelimit_take(rl, "k", 60, 5, t + 1000, NULL));
    /* A clock step back refills nothing. */
    assert_false(fd_ratelimit_take(rl, "k", 60, 5, t, &retry));
    assert_true(retry >= 1);

    /* Slow rates give long waits: 1/hour -> 3600 s. */
    assert_true(fd_ratelimit_take(rl, "slow", 1.0 / 60, 1, t, NULL));
    assert_false(fd_ratelimit_take(rl, "slow", 1.0 / 60, 1, t, &retry));
    assert_true(retry == 3600);
    /* Burst below one behaves as one. */
    assert_true(fd_ratelimit_take(rl, "tiny", 60, 0, t, NULL));
    assert_false(fd_ratelimit_take(rl, "tiny", 60, 0, t, NULL));
    fd_ratelimit_free(rl);
}

static void test_unlimited_and_independent(void **state)
{
    (void)state;
    fd_ratelimit *rl = new_rl(0);
    for (int i = 0; i < 1000; i++)
        assert_true(fd_ratelimit_take(rl, "global", 0, 0, 1.0, NULL));
    assert_true(fd_ratelimit_take(rl, "global", -5, 1, 1.0, NULL));
    fd_ratelimit_stats st;
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_keys, 0); /* unlimited takes keep no state */

    assert_true(fd_ratelimit_take(rl, "key:1", 1, 1, 1.0, NULL));
    assert_false(fd_ratelimit_take(rl, "key:1", 1, 1, 1.0, NULL));
    assert_true(fd_ratelimit_take(rl, "key:2", 1, 1, 1.0, NULL));
    assert_true(fd_ratelimit_take(rl, "ip:key:1", 1, 1, 1.0, NULL));
    /* Keys past FD_RATELIMIT_KEY_MAX compare on their first bytes only. */
    char a[FD_RATELIMIT_KEY_MAX + 20], b[FD_RATELIMIT_KEY_MAX + 20];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof a);
    b[sizeof b - 2] = 'y';
    assert_true(fd_ratelimit_take(rl, a, 1, 1, 1.0, NULL));
    assert_false(fd_ratelimit_take(rl, b, 1, 1, 1.0, NULL));
    fd_ratelimit_free(rl);
}

static void test_eviction_bound(void **state)
{
    (void)state;
    const size_t caps[] = {1, 7, 100, 1000, 5000};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        fd_ratelimit *rl = new_rl(caps[c]);
        fd_ratelimit_stats st;
        for (int i = 0; i < 20000; i++) {
            char k[32];
            snprintf(k, sizeof k, "ip:%d", i);
            assert_true(fd_ratelimit_take(rl, k, 10, 10, 1.0, NULL));
            if (i % 997 == 0) {
                fd_ratelimit_stats_get(rl, &st);
                assert_true(st.n_keys <= caps[c]);
            }
        }
        fd_ratelimit_stats_get(rl, &st);
        assert_int_equal(st.n_keys, caps[c]); /* every shard full, none over */
        assert_int_equal(st.n_evicted, 20000 - caps[c]);
        fd_ratelimit_free(rl);
    }
}

/* A bucket full again is dropped (it is what a new one would be): the
 * keys of conversations that ended do not stay until max_keys. One that
 * is still refilling stays, with what it holds. */
static void test_idle_expire(void **state)
{
    (void)state;
    fd_ratelimit *rl = new_rl(4); /* one shard: the LRU order is exact */
    fd_ratelimit_stats st;
    /* 60 a minute, burst 2: one take leaves 1 token, full again 1 s later */
    assert_true(fd_ratelimit_take(rl, "a", 60, 2, 10.0, NULL));
    assert_true(fd_ratelimit_take(rl, "b", 60, 2, 10.0, NULL));
    assert_true(fd_ratelimit_take(rl, "b", 60, 2, 10.0, NULL)); /* b: empty, full at 12 */
    assert_true(fd_ratelimit_take(rl, "c", 60, 2, 11.5, NULL)); /* a full since 11: dropped */
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_keys, 2);
    assert_int_equal(st.n_expired, 1);
    assert_int_equal(st.n_evicted, 0);
    /* b, still refilling, kept its state: 1.5 tokens at 11.5 */
    assert_true(fd_ratelimit_take(rl, "b", 60, 2, 11.5, NULL));
    assert_false(fd_ratelimit_take(rl, "b", 60, 2, 11.5, NULL));
    /* long after: every one full, all dropped by the next take */
    assert_true(fd_ratelimit_take(rl, "d", 60, 2, 100.0, NULL));
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_keys, 1);
    assert_int_equal(st.n_expired, 3);
    fd_ratelimit_free(rl);
    /* a shard's idle keys go with its next take (31 keys: one shard) */
    rl = new_rl(31);
    for (int i = 0; i < 31; i++) {
        char k[16];
        snprintf(k, sizeof k, "s:%d", i);
        assert_true(fd_ratelimit_take(rl, k, 60, 2, 1.0, NULL));
    }
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_keys, 31);
    assert_true(fd_ratelimit_take(rl, "x", 60, 2, 50.0, NULL));
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_keys, 1);
    assert_int_equal(st.n_expired, 31);
    assert_int_equal(st.n_evicted, 0);
    fd_ratelimit_free(rl);
}

/* With few keys there is one shard: exact LRU order is observable. */
static void test_lru_order(void **state)
{
    (void)state;
    fd_ratelimit *rl = new_rl(4);
    const char *keys[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        assert_true(fd_ratelimit_take(rl, keys[i], 1, 1, 1.0, NULL)); /* drained */
    assert_false(fd_ratelimit_take(rl, "a", 1, 1, 1.0, NULL));        /* a is now most recent */
    assert_true(fd_ratelimit_take(rl, "e", 1, 1, 1.0, NULL));         /* evicts b */
    assert_false(fd_ratelimit_take(rl, "a", 1, 1, 1.0, NULL));        /* kept: still empty */
    assert_false(fd_ratelimit_take(rl, "c", 1, 1, 1.0, NULL));        /* kept */
    assert_true(fd_ratelimit_take(rl, "b", 1, 1, 1.0, NULL));         /* dropped: full again */
    fd_ratelimit_stats st;
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_keys, 4);
    assert_int_equal(st.n_evicted, 2); /* b, then d for b's return */
    fd_ratelimit_free(rl);
}

typedef struct hammer {
    fd_ratelimit *rl;
    int allowed;
} hammer;

static void *hammer_run(void *arg)
{
    hammer *h = arg;
    for (int i = 0; i < 20000; i++) {
        h->allowed += fd_ratelimit_take(h->rl, "key:hot", 1e-9, 250, 5.0, NULL);
        /* Other keys in between, so shards and eviction are exercised too. */
        char k[32];
        snprintf(k, sizeof k, "ip:%d", i % 300);
        (void)fd_ratelimit_take(h->rl, k, 1e-9, 1, 5.0, NULL);
    }
    return NULL;
}

static void test_threads_no_overgrant(void **state)
{
    (void)state;
    fd_ratelimit *rl = new_rl(100000); /* the hot bucket is never evicted */
    pthread_t th[4];
    hammer hs[4];
    for (int i = 0; i < 4; i++) {
        hs[i] = (hammer){rl, 0};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &hs[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += hs[i].allowed;
    }
    assert_int_equal(total, 250);
    fd_ratelimit_free(rl);
}

/* Out of memory for a new bucket: allowed (fail open) and counted; known
 * buckets keep working without allocating. */
static void test_oom_fails_open(void **state)
{
    (void)state;
    fd_ratelimit *rl = new_rl(100);
    assert_true(fd_ratelimit_take(rl, "known", 1, 1, 1.0, NULL));
    fd_alloc_fail_at(1);
    for (int i = 0; i < 3; i++)
        assert_true(fd_ratelimit_take(rl, "new", 1, 1, 1.0, NULL));
    assert_false(fd_ratelimit_take(rl, "known", 1, 1, 1.0, NULL)); /* still limited */
    long failures = fd_alloc_failures();
    fd_alloc_fail_at(0);
    assert_true(failures >= 3);
    fd_ratelimit_stats st;
    fd_ratelimit_stats_get(rl, &st);
    assert_int_equal(st.n_fail_open, 3);
    assert_int_equal(st.n_keys, 1);
    /* Memory back: the new key gets a bucket and is limited. */
    assert_true(fd_ratelimit_take(rl, "new", 1, 1, 1.0, NULL));
    assert_false(fd_ratelimit_take(rl, "new", 1, 1, 1.0, NULL));

    /* Creation itself reports FD_ENOMEM. */
    fd_ratelimit *rl2 = NULL;
    fd_err err = {0};
    fd_alloc_fail_at(1);
    int rc = fd_ratelimit_new(10, &rl2, &err);
    fd_alloc_fail_at(0);
    assert_int_equal(rc, FD_ENOMEM);
    assert_null(rl2);
    fd_alloc_fail_at(2);
    rc = fd_ratelimit_new(10, &rl2, &err);
    fd_alloc_fail_at(0);
    assert_int_equal(rc, FD_ENOMEM);
    fd_ratelimit_free(rl);
    fd_ratelimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refuse),
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_unlimited_and_independent),
        cmocka_unit_test(test_eviction_bound),
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_idle_expire),
        cmocka_unit_test(test_threads_no_overgrant),
        cmocka_unit_test(test_oom_fails_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
