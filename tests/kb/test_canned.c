/* test_canned.c: canned.md, the agents' saved replies: what is read, and
 * each refusal naming its line. */
#include "kb_int.h"
#include "support.h"

#include <string.h>

static void test_reads_replies(void **state)
{
    (void)state;
    static const char md[] = "# Canned replies\n"
                             "Saved answers for the console; type / and the shortcut.\n"
                             "\n"
                             "## /delivery Delivery fees\n"
                             "Delivery is free from S$250.\n"
                             "Below that it is S$18.\n"
                             "\n"
                             "## /thanks\r\n"
                             "Thank you for your patience!\r\n";
    fd_arena *a = fd_arena_new(0);
    fd_canned *c;
    size_t n;
    fd_err err = {0};
    assert_int_equal(fd_kb_canned_parse(md, strlen(md), a, &c, &n, &err), FD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].shortcut, "delivery");
    assert_string_equal(c[0].title, "Delivery fees");
    assert_string_equal(c[0].text, "Delivery is free from S$250.\nBelow that it is S$18.");
    assert_string_equal(c[1].shortcut, "thanks");
    assert_string_equal(c[1].title, "thanks"); /* no title: the shortcut */
    assert_string_equal(c[1].text, "Thank you for your patience!");
    /* a file with no reply yet is an empty list */
    assert_int_equal(fd_kb_canned_parse("# Canned\n", 9, a, &c, &n, &err), FD_OK);
    assert_int_equal(n, 0);
    fd_arena_free(a);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *md, *why;
    } bad[] = {
        {"## delivery Fees\nx\n", "canned.md:1: a reply's heading starts with its shortcut"},
        {"## /Delivery Fees\nx\n", "canned.md:1: a shortcut is"},
        {"## /a!b x\ny\n", "canned.md:1: a shortcut is"},
        {"## / Fees\nx\n", "canned.md:1: a shortcut is"},
        {"## /x\ntext\n## /x again\nmore\n", "canned.md:3: /x is there twice"},
        {"## /empty\n\n  \n## /next\nx\n", "canned.md:1: /empty has no text"},
        {"## /last\n", "canned.md:1: /last has no text"},
        {"## /x\nintro\n### Details\nmore\n", "canned.md:3: only \"## /shortcut Title\""},
        {"## /abcdefghijklmnopqrstuvwxyz0123456 too long\nx\n", "canned.md:1: a shortcut is"},
    };
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fd_canned *c = (fd_canned *)1;
        size_t n = 99;
        fd_err err = {0};
        int rc = fd_kb_canned_parse(bad[i].md, strlen(bad[i].md), a, &c, &n, &err);
        if (rc != FD_EFORMAT || strncmp(err.msg, bad[i].why, strlen(bad[i].why)) != 0)
            fail_msg("case %zu: rc %d, \"%s\"", i, rc, err.msg);
        assert_int_equal(n, 0);
        assert_null(c);
    }
    /* A reply longer than an agent may send. */
    size_t big = FD_CANNED_TEXT_MAX + 20;
    char *md = fd_arena_alloc(a, big + 16);
    memcpy(md, "## /big\n", 8);
    memset(md + 8, 'x', big);
    fd_canned *c;
    size_t n;
    fd_err err = {0};
    assert_int_equal(fd_kb_canned_parse(md, big + 8, a, &c, &n, &err), FD_EFORMAT);
    assert_non_null(strstr(err.msg, "at most 4000"));
    fd_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_replies),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
