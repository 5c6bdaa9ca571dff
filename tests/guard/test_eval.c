/* test_eval.c: the labelled-set parser and fd_guard_evaluate
 * (src/guard/eval.c): a regression fence on the held-out set, the
 * cross-validated numbers on the embedded set, and bad files. */
#include "support.h"
#include "guard_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_eval(const char *what, const fd_guard_eval *e)
{
    printf("guard %s: attacks %zu benign %zu precision %.3f recall %.3f benign_flag %.3f | "
           "en: recall %.3f flag %.3f | fr: recall %.3f flag %.3f | kind %.3f p50 %.0fus "
           "p99 %.0fus build %.1fms\n",
           what, e->n_attack, e->n_benign, e->precision, e->recall, e->benign_flag_rate,
           e->recall_en, e->benign_flag_rate_en, e->recall_fr, e->benign_flag_rate_fr,
           e->kind_accuracy, e->p50_us, e->p99_us, e->build_ms);
}

static void test_holdout(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/guard/guard_holdout.tsv", src);
    fd_guard_eval e;
    fd_err err = {0};
    int rc = fd_guard_evaluate(path, NULL, &e, &err);
    if (rc)
        fail_msg("evaluate: %s", err.msg);
    print_eval("holdout", &e);
    assert_int_equal(e.folds, 0);
    assert_true(e.n_attack >= 90 && e.n_benign >= 90);
    assert_true(e.recall >= 0.85);
    assert_true(e.benign_flag_rate <= 0.08);
    assert_true(e.p99_us > 0);
}

/* Short customer follow-ups ("and on sundays?", "et pour deux ?") written
 * apart from the training set: at most 1% flagged (issue 12; it was 36%). */
static void test_followups(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/guard/benign_followups_holdout.tsv", src);
    fd_guard_eval e;
    fd_err err = {0};
    assert_int_equal(fd_guard_evaluate(path, NULL, &e, &err), FD_OK);
    print_eval("guard follow-ups", &e);
    assert_true(e.n_benign >= 200);
    assert_true(e.benign_flag_rate <= 0.01);
}

static void test_cross_validation(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/guard/guard.tsv", src);
    fd_guard_eval e, e2;
    fd_err err = {0};
    assert_int_equal(fd_guard_evaluate(path, NULL, &e, &err), FD_OK);
    print_eval("cv", &e);
    assert_int_equal(e.folds, 5); /* the file is the embedded set: cross-validated */
    assert_true(e.n_attack >= 300 && e.n_benign >= 300);
    assert_true(e.recall >= 0.85);
    assert_true(e.benign_flag_rate <= 0.08);
    assert_int_equal(fd_guard_evaluate(NULL, NULL, &e2, &err), FD_OK);
    assert_int_equal(e2.tp, e.tp); /* deterministic training */
    assert_int_equal(e2.fp, e.fp);
}

static void test_embedded_set(void **state)
{
    (void)state;
    fd_gd_set set;
    assert_int_equal(fd_gd_parse((const char *)fd_guard_data, fd_guard_data_len, &set, NULL),
                     FD_OK);
    size_t per_kind[FD__NGUARD] = {0}, fr_attacks = 0, attacks = 0;
    for (size_t i = 0; i < set.n; i++) {
        per_kind[set.v[i].kind]++;
        if (set.v[i].kind != FD_GUARD_NONE) {
            attacks++;
            fr_attacks += set.v[i].lang == FD_LANG_FR;
        }
    }
    assert_true(attacks >= 300 && per_kind[FD_GUARD_NONE] >= 300);
    assert_true(fr_attacks * 4 >= attacks);
    for (int k = FD_GUARD_UNICODE; k < FD__NGUARD; k++)
        if (per_kind[k] < 20)
            fail_msg("only %zu examples of %s", per_kind[k], fd_guard_kind_name((fd_guard_kind)k));
    fd_gd_set_free(&set);
}

static void test_bad_files(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    const char *bad[] = {
        "attack:injection\ten\n",              /* no text column */
        "attack:nonsense\ten\thello\n",        /* unknown kind */
        "benign\tde\tHallo\n",                 /* language */
        "benign en hello\n",                   /* spaces, not tabs */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *p = fd_test_write(dir, "bad.tsv", bad[i], strlen(bad[i]));
        fd_guard_eval e;
        fd_err err = {0};
        assert_int_equal(fd_guard_evaluate(p, NULL, &e, &err), FD_EFORMAT);
        assert_non_null(strstr(err.msg, "line 1"));
        fd_free(p);
    }
    const char *ok = "# comment\n\nbenign\tfr\tBonjour !\r\nattack:code\ten\t<script>x</script>\n";
    char *p = fd_test_write(dir, "ok.tsv", ok, strlen(ok));
    fd_guard_eval e;
    assert_int_equal(fd_guard_evaluate(p, NULL, &e, NULL), FD_OK);
    assert_int_equal(e.n_benign, 1);
    assert_int_equal(e.n_attack, 1);
    fd_free(p);
    fd_guard_eval e2;
    fd_err err = {0};
    assert_int_equal(fd_guard_evaluate("/nonexistent/guard.tsv", NULL, &e2, &err), FD_ENOTFOUND);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_set),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_holdout),
        cmocka_unit_test(test_followups),
        cmocka_unit_test(test_cross_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
