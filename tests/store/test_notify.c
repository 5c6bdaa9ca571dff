/* test_notify.c: change notices between replicas (store.h). On SQLite a
 * notice is a no-op and a listener is refused; on PostgreSQL (on_pg.sh) a
 * listener on its own connection hears a NOTIFY from another store handle,
 * only once the transaction that sent it commits, never after a rollback,
 * and a knowledge-base version bump announces itself. */
#include "store_test.h"

#include <pthread.h>
#include <time.h>

typedef struct heard {
    pthread_mutex_t mu;
    int events, kb, typing;
    char about[256]; /* the last notice's */
} heard;

static void on_note(void *ctx, fd_store_note what, const char *about)
{
    heard *h = ctx;
    pthread_mutex_lock(&h->mu);
    if (what == FD_NOTE_KB)
        h->kb++;
    else if (what == FD_NOTE_TYPING)
        h->typing++;
    else
        h->events++;
    snprintf(h->about, sizeof h->about, "%s", about);
    pthread_mutex_unlock(&h->mu);
}

static void snapshot(heard *h, int *events, int *kb)
{
    pthread_mutex_lock(&h->mu);
    *events = h->events;
    *kb = h->kb;
    pthread_mutex_unlock(&h->mu);
}

/* Waits up to ms for the count of one kind (kb or events) to pass above;
 * 1 when it did. */
static int wait_past(heard *h, int kb, int above, int ms)
{
    for (int i = 0; i <= ms / 10; i++) {
        int e, k;
        snapshot(h, &e, &k);
        if ((kb ? k : e) > above)
            return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void test_sqlite_has_no_notices(void **state)
{
    (void)state;
    if (pg_mode())
        skip();
    char *dir = fd_test_tmpdir();
    char *path = db_path(dir);
    fd_store *st = NULL;
    fd_err err = {0};
    assert_int_equal(fd_store_open(path, &st, &err), FD_OK);
    assert_int_equal(fd_store_notify(st, FD_NOTE_EVENTS, NULL, &err), FD_OK);
    fd_store_listener *l = (fd_store_listener *)1;
    assert_int_equal(fd_store_listener_start(path, on_note, NULL, &l, &err), FD_EINVAL);
    assert_null(l);
    assert_non_null(strstr(err.msg, "PostgreSQL"));
    fd_store_listener_stop(NULL);
    fd_store_close(st);
    fd_free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static void test_pg_notices(void **state)
{
    (void)state;
    if (!pg_mode())
        skip();
    char *url = pg_new_db();
    fd_store *st = NULL;
    fd_err err = {0};
    assert_int_equal(fd_store_open(url, &st, &err), FD_OK);
    heard h = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, ""};
    fd_store_listener *l = NULL;
    assert_int_equal(fd_store_listener_start(url, on_note, &h, &l, &err), FD_OK);
    /* Every connection reports both kinds once: what it may have missed. */
    assert_true(wait_past(&h, 0, 0, 5000) && wait_past(&h, 1, 0, 5000));
    int e0, k0;
    snapshot(&h, &e0, &k0);

    assert_int_equal(fd_store_notify(st, FD_NOTE_EVENTS, "9f2c1a0b-sess", &err), FD_OK);
    assert_true(wait_past(&h, 0, e0, 5000));
    int e1, k1;
    snapshot(&h, &e1, &k1);
    assert_int_equal(k1, k0); /* the other channel stayed quiet */
    pthread_mutex_lock(&h.mu);
    assert_string_equal(h.about, "9f2c1a0b-sess"); /* the session named */
    pthread_mutex_unlock(&h.mu);
    /* A payload that is not a plain id is left out, not sent as SQL. */
    assert_int_equal(fd_store_notify(st, FD_NOTE_EVENTS, "x'; DROP TABLE turns; --", &err), FD_OK);
    assert_true(wait_past(&h, 0, e1, 5000));
    snapshot(&h, &e1, &k1);
    pthread_mutex_lock(&h.mu);
    assert_string_equal(h.about, "");
    pthread_mutex_unlock(&h.mu);

    /* Inside a transaction: heard at the commit, not before. */
    assert_int_equal(fd_store_begin(st, &err), FD_OK);
    assert_int_equal(fd_store_notify(st, FD_NOTE_EVENTS, NULL, &err), FD_OK);
    assert_false(wait_past(&h, 0, e1, 300));
    assert_int_equal(fd_store_commit(st, &err), FD_OK);
    assert_true(wait_past(&h, 0, e1, 5000));
    int e2, k2;
    snapshot(&h, &e2, &k2);

    /* A rolled-back transaction announces nothing. */
    assert_int_equal(fd_store_begin(st, &err), FD_OK);
    assert_int_equal(fd_store_notify(st, FD_NOTE_EVENTS, NULL, &err), FD_OK);
    fd_store_rollback(st);
    assert_false(wait_past(&h, 0, e2, 300));

    /* An agent typing: its own kind, naming the conversation, waking
     * neither the session events nor the knowledge base. */
    snapshot(&h, &e2, &k2);
    assert_int_equal(fd_store_notify(st, FD_NOTE_TYPING, "9f2c1a0b-sess", &err), FD_OK);
    int typed = 0;
    for (int i = 0; i < 500 && !typed; i++) {
        pthread_mutex_lock(&h.mu);
        typed = h.typing;
        pthread_mutex_unlock(&h.mu);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(typed, 1);
    pthread_mutex_lock(&h.mu);
    assert_string_equal(h.about, "9f2c1a0b-sess");
    assert_int_equal(h.events, e2);
    assert_int_equal(h.kb, k2);
    pthread_mutex_unlock(&h.mu);

    /* A version bump announces a new knowledge base. */
    int64_t v = 0;
    assert_int_equal(fd_store_begin(st, &err), FD_OK);
    assert_int_equal(fd_store_kb_bump(st, "test", &v, &err), FD_OK);
    assert_int_equal(fd_store_commit(st, &err), FD_OK);
    assert_true(wait_past(&h, 1, k2, 5000));
    assert_true(fd_store_listener_received(l) >= 3);

    fd_store_listener_stop(l);
    fd_store_close(st);
    fd_free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_has_no_notices),
        cmocka_unit_test(test_pg_notices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
