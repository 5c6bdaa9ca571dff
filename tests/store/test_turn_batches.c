/* test_turn_batches.c: batches of turns from several connections at once
 * (fd_store_begin_turns, issue 16): one conversation's turns numbered
 * without gaps or repeats, other conversations' batches side by side on
 * PostgreSQL, every other writer still excluded, a lost seq race told
 * apart. On SQLite the same calls queue on the file's lock, as before. */
#include "store_test.h"

#include <pthread.h>
#include <time.h>

#define N_THREADS 4
#define N_ROUNDS 40

typedef struct writer {
    const char *path;
    const char *sid; /* NULL: its own conversation, "w<i>" */
    int i;
    pthread_barrier_t *go;
    int failures;
    char msg[400];
} writer;

/* One message (the customer's turn and the answer) in its own batch. */
static int write_message(fd_store *st, const char *sid, const char *text, fd_err *err)
{
    char utext[64], atext[64];
    snprintf(utext, sizeof utext, "%s u", text);
    snprintf(atext, sizeof atext, "%s a", text);
    fd_session_row s = {.id = sid, .lang = "en"};
    fd_turn_row u = {.role = "user", .text = utext};
    fd_turn_row a = {.role = "assistant", .text = atext};
    fd_cost_row c = {.request_id = text, .session_id = sid, .route = "knowledge"};
    fd_turn_write w = {.session_id = sid, .session = &s, .user = &u, .assistant = &a, .cost = &c};
    const char *ids[] = {sid};
    int64_t seq = 0;
    int rc = fd_store_begin_turns(st, ids, 1, err);
    if (!rc)
        rc = fd_store_turn_write(st, &w, &seq, err);
    if (!rc)
        rc = fd_store_commit(st, err);
    else
        fd_store_rollback(st);
    return rc;
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    fd_store *st = NULL;
    fd_err err = {0};
    if (fd_store_open(w->path, &st, &err)) {
        w->failures = N_ROUNDS;
        snprintf(w->msg, sizeof w->msg, "open: %.256s", err.msg);
        pthread_barrier_wait(w->go);
        return NULL;
    }
    char own[16];
    snprintf(own, sizeof own, "w%d", w->i);
    const char *sid = w->sid ? w->sid : own;
    pthread_barrier_wait(w->go);
    for (int r = 0; r < N_ROUNDS; r++) {
        char text[32];
        snprintf(text, sizeof text, "t%d-%d", w->i, r);
        if (write_message(st, sid, text, &err)) {
            w->failures++;
            snprintf(w->msg, sizeof w->msg, "%.32s: %.256s (%.32s)", text, err.msg, err.field);
        }
    }
    fd_store_close(st);
    return NULL;
}

static void run_writers(const char *path, const char *sid)
{
    pthread_t th[N_THREADS];
    writer w[N_THREADS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N_THREADS);
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (writer){.path = path, .sid = sid, .i = i, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N_THREADS; i++)
        if (w[i].failures)
            fail_msg("writer %d: %d failures, last %s", i, w[i].failures, w[i].msg);
}

typedef struct turns_seen {
    int n;
    int64_t last_seq;
    char prev[64];
    int bad;
} turns_seen;

/* Seqs 1, 2, 3, ... and each message's answer right after its question. */
static int on_turn(void *ctx, const fd_turn_row *t)
{
    turns_seen *s = ctx;
    if (t->seq != s->last_seq + 1)
        s->bad++;
    size_t len = strlen(t->text);
    if (strcmp(t->role, "assistant") == 0 &&
        (strncmp(t->text, s->prev, len - 1) != 0 || s->prev[len - 1] != 'u'))
        s->bad++;
    snprintf(s->prev, sizeof s->prev, "%s", t->text);
    s->last_seq = t->seq;
    s->n++;
    return 0;
}

static void check_turns(fd_store *st, const char *sid, int want)
{
    fd_err err = {0};
    turns_seen s = {0};
    assert_int_equal(fd_store_turns_each(st, sid, 0, on_turn, &s, &err), FD_OK);
    assert_int_equal(s.n, want);
    assert_int_equal(s.last_seq, want);
    assert_int_equal(s.bad, 0);
}

/* Four connections write one conversation's messages at once: every turn
 * kept, numbered 1..n without a gap or a repeat, each answer after its
 * question; no writer sees an error. Fails on PostgreSQL when a batch
 * reads the last seq without holding the conversation's lock. */
static void test_one_conversation(void **state)
{
    store_fixture *f = *state;
    run_writers(f->path, "shared");
    check_turns(f->st, "shared", N_THREADS * N_ROUNDS * 2);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM costs"), N_THREADS * N_ROUNDS);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM analytics_events"),
                     N_THREADS * N_ROUNDS);
}

/* Four connections, a conversation each, at once. */
static void test_many_conversations(void **state)
{
    store_fixture *f = *state;
    run_writers(f->path, NULL);
    for (int i = 0; i < N_THREADS; i++) {
        char sid[16];
        snprintf(sid, sizeof sid, "w%d", i);
        check_turns(f->st, sid, N_ROUNDS * 2);
    }
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM sessions"), N_THREADS);
}

static fd_store *open_second(store_fixture *f, int busy_ms)
{
    fd_store *st = NULL;
    fd_err err = {0};
    if (fd_store_open(f->path, &st, &err))
        fail_msg("open: %s", err.msg);
    fd_store_set_busy_timeout(st, busy_ms);
    return st;
}

/* While one batch is open: on PostgreSQL another conversation's batch
 * commits beside it, while the same conversation's batch and any other
 * writer (fd_store_begin: the next KB version, an order, an erasure)
 * wait for it. On SQLite every writer waits, as before. */
static void test_who_waits(void **state)
{
    store_fixture *f = *state;
    fd_err err = {0};
    fd_store *other = open_second(f, 150);
    const char *x[] = {"x"};
    assert_int_equal(fd_store_begin_turns(f->st, x, 1, &err), FD_OK);
    fd_session_row s = {.id = "x"};
    fd_turn_row u = {.role = "user", .text = "hi"};
    fd_cost_row c = {.request_id = "r", .session_id = "x"};
    fd_turn_write w = {.session_id = "x", .session = &s, .user = &u, .cost = &c};
    int64_t seq;
    assert_int_equal(fd_store_turn_write(f->st, &w, &seq, &err), FD_OK);

    int rc = write_message(other, "y", "side", &err);
    assert_int_equal(rc, pg_mode() ? FD_OK : FD_EUNAVAIL);
    assert_int_equal(write_message(other, "x", "same", &err), FD_EUNAVAIL);
    assert_int_equal(fd_store_begin(other, &err), FD_EUNAVAIL);
    assert_int_equal(store_autocommit(other), 1);

    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    /* And the other way round: a batch waits for an exclusive writer. */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(write_message(other, "y", "after", &err), FD_EUNAVAIL);
    fd_store_rollback(f->st);
    assert_int_equal(write_message(other, "x", "now", &err), FD_OK);
    check_turns(f->st, "x", 3);
    fd_store_close(other);
}

typedef struct racer {
    fd_store *st;
    int rc;
    fd_err err;
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    r->rc = write_message(r->st, "r", "racer", &r->err);
    return NULL;
}

/* A writer outside the store's locks (a hand-made INSERT) takes the seq a
 * batch is about to use: the batch's turn is FD_ECONFLICT "seq", nothing
 * of it kept, and running it again numbers it after the other. Only
 * PostgreSQL lets the two overlap. */
static void test_lost_race(void **state)
{
    store_fixture *f = *state;
    if (!pg_mode())
        skip();
    fd_err err = {0};
    assert_int_equal(write_message(f->st, "r", "first", &err), FD_OK);
    fd_store *other = open_second(f, 5000);
    assert_int_equal(store_exec(f->st, "BEGIN; INSERT INTO turns (session_id, seq, role, text, "
                                       "intent, route, meta, created_at) VALUES "
                                       "('r', 3, 'operator', 'hand-made', '', '', '{}', 0)"),
                     SQLITE_OK);
    racer r = {.st = other};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, racer_main, &r), 0);
    struct timespec ts = {0, 200 * 1000000L}; /* the racer waits on the index */
    nanosleep(&ts, NULL);
    assert_int_equal(store_exec(f->st, "COMMIT"), SQLITE_OK);
    pthread_join(th, NULL);
    assert_int_equal(r.rc, FD_ECONFLICT);
    assert_string_equal(r.err.field, "seq");
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM turns WHERE session_id = 'r'"), 3);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM costs"), 1);
    assert_int_equal(write_message(other, "r", "again", &err), FD_OK);
    assert_int_equal(query_i64(f->st, "SELECT max(seq) FROM turns WHERE session_id = 'r'"), 5);
    fd_store_close(other);
}

/* The conversation locks a batch holds are its own: a second batch on the
 * same connection starts from none, and a turn of a conversation not
 * named at BEGIN takes its lock then. */
static void test_unnamed_conversation(void **state)
{
    store_fixture *f = *state;
    fd_err err = {0};
    fd_store *other = open_second(f, 150);
    const char *a[] = {"a", "b", "a"};
    assert_int_equal(fd_store_begin_turns(f->st, a, 3, &err), FD_OK);
    fd_session_row s = {.id = "z"};
    fd_turn_row u = {.role = "user", .text = "hi"};
    fd_cost_row c = {.request_id = "r", .session_id = "z"};
    fd_turn_write w = {.session_id = "z", .session = &s, .user = &u, .cost = &c};
    int64_t seq;
    assert_int_equal(fd_store_turn_write(f->st, &w, &seq, &err), FD_OK);
    assert_int_equal(write_message(other, "z", "same", &err), FD_EUNAVAIL);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    assert_int_equal(write_message(other, "z", "then", &err), FD_OK);
    check_turns(f->st, "z", 3);
    fd_store_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_one_conversation),
        STORE_TEST(test_many_conversations),
        STORE_TEST(test_who_waits),
        STORE_TEST(test_lost_race),
        STORE_TEST(test_unnamed_conversation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
