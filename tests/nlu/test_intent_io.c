/* test_intent_io.c: model files and data sets (src/nlu/intent_io.c) and
 * fd_intent_evaluate (intent_eval.c): a save/load round trip classifies
 * identically, every flipped byte and every truncation is FD_EFORMAT, the
 * loader names the bad line, and evaluation picks a threshold. */
#include "support.h"
#include "nlu_int.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <dirent.h>

static const fd_intent_example ex[] = {
    {"greeting", "hi"},
    {"greeting", "hello there"},
    {"greeting", "good morning"},
    {"thanks", "thanks a lot"},
    {"thanks", "thank you"},
    {"thanks", "merci"},
    {"order", "where is my order"},
    {"order", "track order HP-240517"},
    {"order", "order status"},
};

static fd_intent_model *train(void)
{
    fd_intent_model *m = NULL;
    fd_err err = {0};
    assert_int_equal(fd_intent_train(ex, sizeof ex / sizeof ex[0], NULL, &m, &err), FD_OK);
    return m;
}

static char *read_all(const char *path, size_t *len)
{
    char *p;
    fd_err err;
    assert_int_equal(fd_file_read(path, 0, &p, len, &err), FD_OK);
    return p;
}

static void test_roundtrip(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/intent.model", dir);
    fd_intent_model *m = train(), *l = NULL;
    fd_intent_set_threshold(m, 0.25);
    fd_err err = {0};
    assert_int_equal(fd_intent_save(m, path, &err), FD_OK);
    assert_int_equal(fd_intent_save(m, path, &err), FD_OK); /* over an existing file */
    assert_int_equal(fd_intent_load(path, &l, &err), FD_OK);
    assert_int_equal(fd_intent_n_labels(l), 3);
    assert_true(fd_intent_threshold(l) == 0.25);
    const char *msgs[] = {"hello", "thanks!", "where's my order", "zzz", "merci beaucoup"};
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < 5; i++) {
        fd_intent_result r1, r2;
        assert_int_equal(fd_intent_classify(m, fd_str_c(msgs[i]), a, &r1, &err), FD_OK);
        assert_int_equal(fd_intent_classify(l, fd_str_c(msgs[i]), a, &r2, &err), FD_OK);
        assert_string_equal(r1.label, r2.label);
        assert_true(r1.confidence == r2.confidence);
        assert_true(r1.oos == r2.oos);
    }
    /* the temp file was renamed away */
    DIR *d = opendir(dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)))
        files += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 1);
    snprintf(path, sizeof path, "%s/no/such/dir/m", dir);
    assert_int_equal(fd_intent_save(m, path, &err), FD_EIO);
    fd_arena_free(a);
    fd_intent_model_free(m);
    fd_intent_model_free(l);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static void test_corrupt(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char path[600], bad[600];
    snprintf(path, sizeof path, "%s/m", dir);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    fd_intent_model *m = train(), *l = NULL;
    fd_err err = {0};
    assert_int_equal(fd_intent_save(m, path, &err), FD_OK);
    size_t len;
    char *p = read_all(path, &len);
    assert_true(len > 100);
    /* every byte flipped, one at a time (step keeps it quick on big models) */
    size_t step = len / 4000 + 1;
    for (size_t i = 0; i < len; i += step) {
        p[i] ^= 0x5a;
        fd_free(fd_test_write(dir, "bad", p, len));
        int rc = fd_intent_load(bad, &l, &err);
        if (rc != FD_EFORMAT)
            fail_msg("flipped byte %zu: rc %d", i, rc);
        assert_null(l);
        p[i] ^= 0x5a;
    }
    for (size_t n = 0; n < len; n += step) {
        fd_free(fd_test_write(dir, "bad", p, n));
        assert_int_equal(fd_intent_load(bad, &l, &err), FD_EFORMAT);
    }
    /* one byte too many */
    char *q = fd_malloc(len + 1);
    memcpy(q, p, len);
    q[len] = 0;
    fd_free(fd_test_write(dir, "bad", q, len + 1));
    assert_int_equal(fd_intent_load(bad, &l, &err), FD_EFORMAT);
    assert_non_null(strstr(err.msg, "corrupt"));
    fd_free(q);
    /* a version 1 file (threshold on the top probability) is refused by
     * name, before its checksum: the caller retrains */
    p[8] = 1;
    p[9] = p[10] = p[11] = 0;
    fd_free(fd_test_write(dir, "bad", p, len));
    assert_int_equal(fd_intent_load(bad, &l, &err), FD_EFORMAT);
    assert_null(l);
    assert_non_null(strstr(err.msg, "version 1"));
    assert_non_null(strstr(err.msg, "retrain"));
    snprintf(bad, sizeof bad, "%s/missing", dir);
    assert_int_equal(fd_intent_load(bad, &l, &err), FD_ENOTFOUND);
    fd_free(p);
    fd_intent_model_free(m);
    fd_test_rmrf(dir);
    fd_free(dir);
}

/* Saving and loading under allocation failure: a clean error, no leak,
 * and never a half-written file in place of a good one. */
static void test_alloc_failure(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/m", dir);
    fd_intent_model *m = train(), *l = NULL;
    fd_err err = {0};
    assert_int_equal(fd_intent_save(m, path, &err), FD_OK);
    size_t before = fd_alloc_bytes();
    int rc, n = 0;
    do {
        fd_alloc_fail_at(++n);
        rc = fd_intent_save(m, path, &err);
        if (!rc)
            rc = fd_intent_load(path, &l, &err);
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
        fd_intent_model_free(l);
        l = NULL;
        assert_int_equal(fd_alloc_bytes(), before);
        assert_int_equal(fd_intent_load(path, &l, &err), FD_OK); /* the file is whole */
        fd_intent_model_free(l);
        l = NULL;
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    fd_intent_model_free(m);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static int load_text(const char *text, fd_intent_set *s, fd_err *err)
{
    char *dir = fd_test_tmpdir();
    char *path = fd_test_write(dir, "set.tsv", text, strlen(text));
    int rc = fd_intent_set_load(path, s, err);
    fd_free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
    return rc;
}

static void test_set_load(void **state)
{
    (void)state;
    fd_intent_set s;
    fd_err err = {0};
    assert_int_equal(load_text("# comment\n\na\thello world\r\nb\tbye\tnow\nc\tlast", &s, &err),
                     FD_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0].label, "a");
    assert_string_equal(s.v[0].text, "hello world"); /* CR dropped */
    assert_string_equal(s.v[1].text, "bye\tnow");    /* the first tab splits */
    assert_string_equal(s.v[2].text, "last");
    fd_intent_set_free(&s);
    static const struct {
        const char *text;
        const char *where;
    } bad[] = {
        {"a\tok\nno tab here\n", ":2: no tab"},
        {"a\tok\n\n\tmissing label\n", ":3: empty label"},
        {"a\t\n", ":1: empty text"},
        {"a\tok\nb\tcaf\xc3\n", ":2: invalid UTF-8"},
        {"a\tok\nb\tnul\0byte\n", ":2: invalid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i].text);
        if (i == 4)
            n = 16; /* past the NUL inside the literal */
        char *dir = fd_test_tmpdir();
        char *path = fd_test_write(dir, "set.tsv", bad[i].text, n);
        assert_int_equal(fd_intent_set_load(path, &s, &err), FD_EFORMAT);
        if (!strstr(err.msg, bad[i].where))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].where);
        assert_null(s.v);
        fd_free(path);
        fd_test_rmrf(dir);
        fd_free(dir);
    }
    assert_int_equal(fd_intent_set_load("/nonexistent/x.tsv", &s, &err), FD_ENOTFOUND);
}

static void test_evaluate(void **state)
{
    (void)state;
    fd_intent_set train, val, test;
    fd_err err = {0};
    assert_int_equal(load_text("greeting\thi\ngreeting\thello\ngreeting\they there\n"
                               "greeting\tgood morning\ngreeting\thello hello\n"
                               "order\twhere is my order\norder\ttrack my order\n"
                               "order\torder status please\norder\tmy order is late\n"
                               "order\thas my order shipped\n"
                               "oos\twhat is the weather\noos\ttell me a joke\n"
                               "oos\tfootball scores\noos\tcook rice\noos\tbest movie\n",
                               &train, &err),
                     FD_OK);
    assert_int_equal(load_text("greeting\thello there\norder\tstatus of my order\n"
                               "oos\tplay some music\n",
                               &val, &err),
                     FD_OK);
    assert_int_equal(load_text("greeting\thi there\norder\twhere's my order\n"
                               "oos\tweather tomorrow\nunknown\tsomething new\n",
                               &test, &err),
                     FD_OK);
    fd_intent_eval ev;
    assert_int_equal(fd_intent_evaluate(&train, &val, &test, NULL, &ev, &err), FD_OK);
    assert_int_equal(ev.n_train, 15);
    assert_int_equal(ev.n_test, 4);
    assert_int_equal(ev.n_labels, 3);
    assert_true(ev.accuracy >= 0.5 && ev.accuracy <= 0.75); /* "unknown" cannot be right */
    assert_true(ev.in_scope_accuracy <= 2.0 / 3 + 1e-9);
    assert_true(ev.oos_recall == 1.0);
    assert_true(ev.macro_f1 > 0 && ev.macro_f1 < 1);
    assert_true(ev.threshold >= 0 && ev.threshold <= 1);
    assert_true(ev.p99_us >= ev.p50_us && ev.p50_us > 0);
    /* no val: the threshold comes from held-out train rows */
    assert_int_equal(fd_intent_evaluate(&train, NULL, &test, NULL, &ev, &err), FD_OK);
    fd_intent_set empty = {0};
    assert_int_equal(fd_intent_evaluate(&train, NULL, &empty, NULL, &ev, &err), FD_EINVAL);
    fd_intent_set_free(&train);
    fd_intent_set_free(&val);
    fd_intent_set_free(&test);
}

/* BANKING77 / CLINC150 when the shared data is present (slow-ish: ~5 s). */
static void test_shared_data(void **state)
{
    (void)state;
    const char *dir = getenv("FD_SHARED_DATA");
    char tr[1100], te[1100];
    const char *src = getenv("FD_SOURCE_DIR");
    if (!dir && src) {
        static char buf[900];
        snprintf(buf, sizeof buf, "%s/../shared/data", src);
        dir = buf;
    }
    snprintf(tr, sizeof tr, "%s/intent/banking77/train.tsv", dir ? dir : ".");
    snprintf(te, sizeof te, "%s/intent/banking77/test.tsv", dir ? dir : ".");
    fd_intent_set train, test;
    fd_err err = {0};
    if (fd_intent_set_load(tr, &train, &err)) {
        skip();
        return;
    }
    assert_int_equal(fd_intent_set_load(te, &test, &err), FD_OK);
    fd_intent_eval ev;
    assert_int_equal(fd_intent_evaluate(&train, NULL, &test, NULL, &ev, &err), FD_OK);
    assert_int_equal(ev.n_labels, 77);
    assert_true(ev.accuracy > 0.90); /* measured 0.9156 */
    fd_intent_set_free(&train);
    fd_intent_set_free(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_set_load),      cmocka_unit_test(test_evaluate),
        cmocka_unit_test(test_alloc_failure), cmocka_unit_test(test_shared_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
