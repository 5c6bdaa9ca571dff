/* test_reopen.c: an assistant opened for a reload (fd_assistant_reopen)
 * borrows its predecessor's word lists instead of reading them again, and
 * either may be closed first: the lists live as long as one of them does
 * (ASan would see a use after free). */
#include "kb_fixture.h"

#include "dialog.h"
#include "kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    fd_config cfg;
    fd_kb *kb;
} fixture;

static int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    f->dir = fd_test_tmpdir();
    /* the language's words: "saturdys" is not one, so it is a typo */
    static const char words[] = "do\nyou\ndeliver\non\nsaturday\nmonday\nwe\n";
    char *wl = fd_test_write(f->dir, "words.txt", words, sizeof words - 1);
    fd_config_defaults(&f->cfg);
    snprintf(f->cfg.answer_wordlists, sizeof f->cfg.answer_wordlists, "en=%s", wl);
    fd_free(wl);
    static const fd_test_file doc = {"delivery.md",
                                     "# Delivery\n\n## Days\n\nWe deliver Monday to Saturday, 8 am "
                                     "to 6 pm.\n\n## Saturday\n\nSaturday deliveries cost "
                                     "nothing extra.\n"};
    f->kb = fd_test_kb(f->dir, &f->cfg, &doc, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fd_kb_close(f->kb);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    fd_free(f);
    return 0;
}

/* The query the assistant answers "do you deliver on saturdys" with. */
static void corrected(fixture *f, fd_assistant *as, const char *sid)
{
    fd_arena *a = fd_arena_new(0);
    const char *m = "do you deliver on saturdys";
    fd_turn_in in = {.message = m, .len = strlen(m), .session_id = sid};
    fd_reply rep;
    fd_err err = {0};
    assert_int_equal(fd_assistant_turn(as, f->kb, &in, NULL, a, &rep, &err), FD_OK);
    if (!strstr(rep.query, "saturday"))
        fail_msg("query '%s': the typo was not corrected", rep.query);
    fd_arena_free(a);
}

static void test_reopen_shares_word_lists(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_assistant *a, *b, *c;
    assert_int_equal(fd_assistant_open(&f->cfg, NULL, f->kb, &a, &err), FD_OK);
    corrected(f, a, "s1");
    assert_int_equal(fd_assistant_reopen(a, f->kb, &b, &err), FD_OK);
    fd_assistant_close(a); /* the first goes before the one it lent to */
    corrected(f, b, "s2");
    assert_int_equal(fd_assistant_reopen(b, f->kb, &c, &err), FD_OK);
    corrected(f, c, "s3");
    fd_assistant_close(c); /* the newest goes first this time */
    corrected(f, b, "s4");
    fd_assistant_close(b);
}

/* Without word lists (answer.normalize off) a reopen has none to lend. */
static void test_reopen_without_lists(void **state)
{
    fixture *f = *state;
    f->cfg.answer_normalize = 0;
    fd_err err = {0};
    fd_assistant *a, *b;
    assert_int_equal(fd_assistant_open(&f->cfg, NULL, f->kb, &a, &err), FD_OK);
    assert_int_equal(fd_assistant_reopen(a, f->kb, &b, &err), FD_OK);
    fd_assistant_close(a);
    fd_arena *ar = fd_arena_new(0);
    const char *m = "do you deliver on saturdys";
    fd_turn_in in = {.message = m, .len = strlen(m), .session_id = "n1"};
    fd_reply rep;
    assert_int_equal(fd_assistant_turn(b, f->kb, &in, NULL, ar, &rep, &err), FD_OK);
    assert_null(strstr(rep.query, "saturday")); /* nothing corrects it */
    fd_arena_free(ar);
    fd_assistant_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_shares_word_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_without_lists, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
