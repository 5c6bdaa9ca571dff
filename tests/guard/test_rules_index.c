/* test_rules_index.c: the guard's first-word index (rules.c) finds what
 * trying every rule at every word finds. For every message of the labelled
 * sets in data/guard/ (attacks, look-alikes, benign follow-ups), folded and
 * split both ways as the guard does, fd_gr_match and the plain scan
 * (fd_gr_match_scan) must give the same hit: weight, kind, rule, benign
 * cue and paste flag; and leet words too, where the index is not used. */
#include "support.h"
#include "guard_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t check_file(const fd_gr_rules *rs, const char *name, size_t *hits)
{
    const char *src = getenv("FD_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/guard/%s", src, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fd_arena *a = fd_arena_new(0);
    char line[65536];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        char *t = strchr(line, '\t');
        t = t ? strchr(t + 1, '\t') : NULL;
        if (line[0] == '#' || !t)
            continue;
        t++;
        t[strcspn(t, "\n")] = '\0';
        fd_arena_reset(a);
        fd_str folded;
        if (fd_text_fold(fd_str_c(t), a, &folded, NULL) != FD_OK)
            continue;
        for (int joined = 0; joined <= 1; joined++) {
            fd_gu_words w;
            assert_int_equal(fd_gu_split(folded, joined, a, &w), FD_OK);
            fd_str fo = joined ? (fd_str){NULL, 0} : folded;
            fd_gr_hit x = {0}, y = {0};
            fd_gr_match(rs, &w, fo, joined, &x);
            fd_gr_match_scan(rs, &w, fo, joined, &y);
            if (x.w != y.w || x.kind != y.kind || x.shield != y.shield || x.paste != y.paste ||
                (x.rule != y.rule && (!x.rule || !y.rule || strcmp(x.rule, y.rule))))
                fail_msg("%s: '%s' (joined %d): index %.2f %s, scan %.2f %s", name, t, joined, x.w,
                         x.rule ? x.rule : "-", y.w, y.rule ? y.rule : "-");
            *hits += x.w > 0;
        }
        n++;
    }
    fclose(f);
    fd_arena_free(a);
    return n;
}

static void test_index_agrees_with_scan(void **state)
{
    (void)state;
    fd_gr_rules *rs = NULL;
    fd_err err;
    assert_int_equal(fd_gr_compile(&rs, &err), FD_OK);
    size_t hits = 0, n = 0;
    n += check_file(rs, "guard.tsv", &hits);
    n += check_file(rs, "guard_holdout.tsv", &hits);
    n += check_file(rs, "benign_followups_holdout.tsv", &hits);
    printf("# %zu messages, %zu word-rule hits, index == scan\n", n, hits);
    assert_true(n > 1000);
    assert_true(hits > 300); /* the sets do reach the rules */
    fd_gr_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_index_agrees_with_scan)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
