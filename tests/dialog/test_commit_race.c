/* test_commit_race.c: a turn that loses the race for its seq inside a
 * batch of plain turns (on PostgreSQL, against a writer outside the
 * store's conversation locks: fd_store_turn_write's FD_ECONFLICT "seq").
 * As in test_commit_batch.c, the store's write lock is held while four
 * turns queue: the first batch is one turn, the second three;
 * FRONTDESK_FAULTS=store.turn_seq:3 (FD_TESTING builds) makes the second
 * batch's second turn lose. Unlike a failure, it is run again with its
 * neighbours: every turn is answered and kept whole, once. */
#include "commit_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4

typedef struct worker {
    fixture *f;
    int id, ok;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    fd_kb *kb;
    fd_err err = {0};
    if (fd_kb_open(&w->f->cfg, NULL, &kb, &err) != FD_OK)
        return NULL;
    fd_arena *a = fd_arena_new(0);
    char sid[32];
    snprintf(sid, sizeof sid, "r%d", w->id);
    const char *m = "do you deliver on saturdays?";
    fd_turn_in in = {.message = m, .len = strlen(m), .session_id = sid};
    fd_reply rep;
    w->ok = fd_assistant_turn(w->f->as, kb, &in, NULL, a, &rep, &err) == FD_OK;
    if (!w->ok)
        fprintf(stderr, "turn %d: %s\n", w->id, err.msg);
    fd_arena_free(a);
    fd_kb_close(kb);
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int count_seq(fd_store *st, const char *sid)
{
    int n = 0;
    assert_int_equal(fd_store_turns_each(st, sid, 0, count_turn, &n, NULL), FD_OK);
    return n;
}

static int on_total(void *ctx, const fd_cost_sum *sum)
{
    *(int64_t *)ctx += sum->requests;
    return 0;
}

static void test_lost_race_in_batch(void **state)
{
    fixture *f = *state;
    char db[600];
    fd_config_store_path(&f->cfg, db, sizeof db);
    fd_store *blocker;
    fd_err err = {0};
    assert_int_equal(fd_store_open(db, &blocker, &err), FD_OK);
    assert_int_equal(fd_store_begin(blocker, &err), FD_OK); /* the write lock */
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){f, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
        pause_ms(i == 0 ? 300 : 100);
    }
    pause_ms(300);
    fd_store_rollback(blocker);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    fd_store_close(blocker);
    for (int i = 0; i < THREADS; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "r%d", i);
        assert_int_equal(w[i].ok, 1);
        assert_int_equal(count_seq(fd_kb_store(f->kb), sid), 2);
    }
    /* One cost row per message: the lost attempt left none. */
    int64_t requests = 0;
    assert_int_equal(fd_store_costs_each(fd_kb_store(f->kb), 0, "total", on_total, &requests, &err),
                     FD_OK);
    assert_int_equal(requests, THREADS);
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "store.turn_seq:3", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lost_race_in_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
