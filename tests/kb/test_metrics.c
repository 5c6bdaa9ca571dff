/* test_metrics.c: retrieval metrics against hand-computed values. */
#include "support.h"

#include "kb.h"

#include <math.h>

static void test_hand_computed(void **state)
{
    (void)state;
    fd_qrels *q = fd_qrels_new();
    assert_non_null(q);
    assert_int_equal(fd_qrels_add(q, "q1", "d1", 1, NULL), FD_OK);
    assert_int_equal(fd_qrels_add(q, "q1", "d3", 2, NULL), FD_OK);
    assert_int_equal(fd_qrels_add(q, "q1", "d5", 1, NULL), FD_OK);
    assert_int_equal(fd_qrels_add(q, "q2", "x", 1, NULL), FD_OK);
    assert_int_equal(fd_qrels_n_queries(q), 2);

    const char *run[] = {"d2", "d3", "d4", "d1"};
    fd_eval_scores s;
    assert_int_equal(fd_eval_query(q, "q1", run, 4, &s), FD_OK);
    /* DCG = 2/log2(3) + 1/log2(5); IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4). */
    double dcg = 2 / log2(3) + 1 / log2(5), idcg = 2 + 1 / log2(3) + 0.5;
    assert_float_equal(s.ndcg10, dcg / idcg, 1e-12);
    assert_float_equal(s.ndcg10, 0.540594, 1e-5);
    assert_float_equal(s.recall100, 2.0 / 3.0, 1e-12);
    assert_float_equal(s.mrr10, 0.5, 1e-12);

    /* A relevant doc at rank 11 counts for recall only. */
    const char *late[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "x"};
    assert_int_equal(fd_eval_query(q, "q2", late, 11, &s), FD_OK);
    assert_float_equal(s.ndcg10, 0, 0);
    assert_float_equal(s.mrr10, 0, 0);
    assert_float_equal(s.recall100, 1, 0);

    /* Perfect ranking; empty ranking; unjudged query. */
    const char *best[] = {"d3", "d1", "d5"};
    assert_int_equal(fd_eval_query(q, "q1", best, 3, &s), FD_OK);
    assert_float_equal(s.ndcg10, 1, 1e-12);
    assert_int_equal(fd_eval_query(q, "q1", NULL, 0, &s), FD_OK);
    assert_float_equal(s.ndcg10, 0, 0);
    assert_int_equal(fd_eval_query(q, "nope", run, 4, &s), FD_ENOTFOUND);
    fd_qrels_free(q);
}

static void test_load(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    const char ok[] = "query-id\tcorpus-id\tscore\n1\t31715818\t1\n3\t14717500\t1\n";
    char *p = fd_test_write(dir, "q.tsv", ok, sizeof ok - 1);
    fd_qrels *q = NULL;
    fd_err err = {0};
    assert_int_equal(fd_qrels_load(p, &q, &err), FD_OK);
    assert_int_equal(fd_qrels_n_queries(q), 2);
    fd_qrels_free(q);
    fd_free(p);

    const char trec[] = "1 0 a 1\n1 0 b 0\n";
    p = fd_test_write(dir, "t.txt", trec, sizeof trec - 1);
    assert_int_equal(fd_qrels_load(p, &q, &err), FD_OK);
    fd_eval_scores s;
    const char *run[] = {"b", "a"};
    assert_int_equal(fd_eval_query(q, "1", run, 2, &s), FD_OK);
    assert_float_equal(s.mrr10, 0.5, 1e-12); /* grade 0 is not relevant */
    fd_qrels_free(q);
    fd_free(p);

    const char bad[] = "1\tx\tnot-a-number\n";
    p = fd_test_write(dir, "b.tsv", bad, sizeof bad - 1);
    assert_int_equal(fd_qrels_load(p, &q, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "b.tsv:1"));
    assert_null(q);
    fd_free(p);
    assert_int_equal(fd_qrels_load("/nonexistent/q.tsv", &q, &err), FD_ENOTFOUND);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hand_computed),
                                       cmocka_unit_test(test_load)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
