/* test_sse.c: the SSE parser gives the same events for every split of the
 * stream into two and three reads and byte by byte; plus its caps and the
 * early stop. */
#include "support.h"

#include "llm_int.h"

#include <string.h>

typedef struct events {
    char got[512]; /* events joined by '|' */
    int n;
    int stop_after; /* > 0: the callback stops after this many */
} events;

static int on_event(void *ctx, const char *p, size_t n)
{
    events *e = ctx;
    size_t len = strlen(e->got);
    snprintf(e->got + len, sizeof e->got - len, "%s%.*s", e->n ? "|" : "", (int)n, p);
    e->n++;
    return e->stop_after && e->n >= e->stop_after ? FD_ECONFLICT : FD_OK;
}

static const struct {
    const char *in;
    const char *want; /* events joined by '|' */
    int n;
} cases[] = {
    {"data: hello\n\n", "hello", 1},
    {"data: a\ndata: b\n\n", "a\nb", 1},
    {": keep-alive\ndata: x\n\n", "x", 1},
    {"data:nospace\r\n\r\n", "nospace", 1},
    {"data: a\r\rdata: b\r\r", "a|b", 2},
    {"data: a\r\ndata: b\n\r\n", "a\nb", 1},
    {"event: delta\nid: 7\nretry: 10\ndata: y\n\n", "y", 1},
    {"data\n\n", "", 1},
    {"data:\n\n", "", 1},
    {"\xEF\xBB\xBF"
     "data: bom\n\n",
     "bom", 1},
    {"data: [DONE]\n\n", "[DONE]", 1},
    {"data: incomplete\n", "", 0},
    {"\n\n\ndata: z\n\n\n\n", "z", 1},
    {"data:  two spaces\n\n", " two spaces", 1},
    {"event: ping\n\n: only a comment\n\n", "", 0},
    {"data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n", "{\"a\":1}|{\"b\":2}|[DONE]", 3},
    {"dat: x\ndata: y: z\n\n", "y: z", 1},
};

/* Feeds in[] split at the given offsets (sorted, within len). */
static void feed_split(const char *in, size_t len, const size_t *cuts, int n_cuts, events *e)
{
    fd_llm_sse s;
    fd_llm_sse_init(&s, 0);
    memset(e, 0, sizeof *e);
    size_t at = 0;
    for (int i = 0; i <= n_cuts; i++) {
        size_t to = i < n_cuts ? cuts[i] : len;
        assert_int_equal(fd_llm_sse_feed(&s, in + at, to - at, on_event, e), FD_OK);
        at = to;
    }
    fd_llm_sse_free(&s);
}

static void test_every_split(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *in = cases[c].in;
        size_t len = strlen(in);
        events e;
        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i; j <= len; j++) {
                size_t cuts[2] = {i, j};
                feed_split(in, len, cuts, 2, &e);
                if (e.n != cases[c].n || strcmp(e.got, cases[c].want) != 0)
                    fail_msg("case %zu split %zu/%zu: got %d \"%s\"", c, i, j, e.n, e.got);
            }
        }
        size_t bytes[512];
        for (size_t i = 0; i < len; i++)
            bytes[i] = i + 1;
        feed_split(in, len, bytes, (int)len - 1, &e);
        assert_int_equal(e.n, cases[c].n);
        assert_string_equal(e.got, cases[c].want);
    }
}

static void test_stop_and_caps(void **state)
{
    (void)state;
    fd_llm_sse s;
    fd_llm_sse_init(&s, 0);
    events e = {.stop_after = 1};
    const char *in = "data: 1\n\ndata: 2\n\n";
    assert_int_equal(fd_llm_sse_feed(&s, in, strlen(in), on_event, &e), FD_ECONFLICT);
    assert_int_equal(e.n, 1);
    fd_llm_sse_free(&s);

    /* A line or an event over the cap is FD_ETOOBIG, not unbounded memory. */
    fd_llm_sse_init(&s, 16);
    memset(&e, 0, sizeof e);
    in = "data: 0123456789abcdefghij";
    assert_int_equal(fd_llm_sse_feed(&s, in, 10, on_event, &e), FD_OK);
    assert_int_equal(fd_llm_sse_feed(&s, in + 10, strlen(in) - 10, on_event, &e), FD_ETOOBIG);
    fd_llm_sse_reset(&s);
    in = "data: 0123456789\ndata: 0123456789\n\n";
    assert_int_equal(fd_llm_sse_feed(&s, in, strlen(in), on_event, &e), FD_ETOOBIG);
    /* After a reset the parser starts a fresh stream. */
    fd_llm_sse_reset(&s);
    memset(&e, 0, sizeof e);
    in = "data: ok\n\n";
    assert_int_equal(fd_llm_sse_feed(&s, in, strlen(in), on_event, &e), FD_OK);
    assert_string_equal(e.got, "ok");
    fd_llm_sse_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_stop_and_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
