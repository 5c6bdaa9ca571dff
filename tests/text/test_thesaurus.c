/* test_thesaurus.c: synonyms read in place from WordNet (wordnet-base,
 * installed by scripts/deps.sh) and from a small mythes-format thesaurus
 * written here; missing files mean no synonyms, not an error. */
#include "support.h"
#include "text.h"

typedef struct got {
    char v[32][64];
    int n;
} got;

static int collect(void *ctx, const char *s, size_t n)
{
    got *g = ctx;
    if (g->n < 32 && n < 64) {
        memcpy(g->v[g->n], s, n);
        g->v[g->n++][n] = '\0';
    }
    return 0;
}

static int has(const got *g, const char *s)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->v[i], s) == 0)
            return 1;
    return 0;
}

static void test_wordnet(void **state)
{
    (void)state;
    fd_thesaurus *th;
    assert_int_equal(fd_thesaurus_open("/usr/share/wordnet", NULL, &th, NULL), FD_OK);
    assert_true(fd_thesaurus_has(th, FD_LANG_EN));
    assert_false(fd_thesaurus_has(th, FD_LANG_FR));
    got g = {0};
    fd_thesaurus_each(th, FD_LANG_EN, "cost", 4, 2, collect, &g);
    assert_true(has(&g, "price"));
    assert_false(has(&g, "cost")); /* never the word itself */
    memset(&g, 0, sizeof g);
    fd_thesaurus_each(th, FD_LANG_EN, "prices", 6, 2, collect, &g); /* morphy: price */
    assert_true(has(&g, "cost") || has(&g, "terms"));
    memset(&g, 0, sizeof g);
    fd_thesaurus_each(th, FD_LANG_EN, "qwzx", 4, 2, collect, &g);
    assert_int_equal(g.n, 0);
    fd_thesaurus_free(th);
}

static void test_mythes_and_missing(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    /* mythes: an index of word|offset (sorted), meanings at the offset. */
    static const char dat[] = "UTF-8\nrembourser|1\n(Verbe)|rendre|restituer\n";
    char idx[128];
    snprintf(idx, sizeof idx, "UTF-8\n1\nrembourser|%d\n", 6);
    char *p1 = fd_test_write(dir, "th.dat", dat, sizeof dat - 1);
    char *p2 = fd_test_write(dir, "th.idx", idx, strlen(idx));
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/th", dir);
    fd_thesaurus *th;
    assert_int_equal(fd_thesaurus_open("/nonexistent", prefix, &th, NULL), FD_OK);
    assert_false(fd_thesaurus_has(th, FD_LANG_EN));
    assert_true(fd_thesaurus_has(th, FD_LANG_FR));
    got g = {0};
    fd_thesaurus_each(th, FD_LANG_FR, "rembourser", 10, 1, collect, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.v[0], "rendre");
    memset(&g, 0, sizeof g);
    fd_thesaurus_each(th, FD_LANG_FR, "rembourse", 9, 1, collect, &g);
    assert_int_equal(g.n, 0);
    fd_thesaurus_each(th, FD_LANG_EN, "cost", 4, 1, collect, &g); /* no WordNet: nothing */
    assert_int_equal(g.n, 0);
    fd_thesaurus_free(th);
    fd_thesaurus_free(NULL);
    fd_free(p1);
    fd_free(p2);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordnet),
        cmocka_unit_test(test_mythes_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
