/* test_chunk.c: chunk sizes, overlap, section boundaries, paragraph and
 * sentence splitting, the short-tail merge, the content hash, and the
 * SciFact parse + chunk budget. */
#include "support.h"
#include "ingest.h"

#include <stdlib.h>
#include <string.h>

/* Words "w0 w1 ..." with an optional sentence end every `sent` words and a
 * paragraph break every `para` words (0 = never). */
static char *words(fd_arena *a, int n, int sent, int para)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    for (int i = 0; i < n; i++) {
        int new_para = para && i > 0 && i % para == 0;
        int end_sent = sent && (i + 1) % sent == 0;
        /* A capital after each sentence end, so the break is a real one. */
        int cap = sent && i % sent == 0;
        const char *gap = i == 0 ? "" : new_para ? "\n\n" : " ";
        assert_int_equal(
            fd_buf_printf(&b, "%s%s%d%s", gap, cap ? "W" : "w", i, end_sent ? "." : ""), FD_OK);
    }
    char *s = fd_arena_strndup(a, b.p, b.len);
    fd_buf_free(&b);
    return s;
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    int in = 0;
    for (; *s; s++) {
        int ws = *s == ' ' || *s == '\n' || *s == '\t';
        n += !ws && !in;
        in = !ws;
    }
    return n;
}

/* The last k words of s, as one string with single spaces. */
static void last_words(const char *s, size_t k, char *out, size_t cap)
{
    size_t n = count_words(s), skip = n > k ? n - k : 0, i = 0;
    out[0] = '\0';
    char *copy = strdup(s);
    char *save = NULL;
    for (char *w = strtok_r(copy, " \n\t", &save); w; w = strtok_r(NULL, " \n\t", &save), i++)
        if (i >= skip) {
            strncat(out, w, cap - strlen(out) - 2);
            strcat(out, " ");
        }
    free(copy);
}

static void first_words(const char *s, size_t k, char *out, size_t cap)
{
    out[0] = '\0';
    char *copy = strdup(s);
    char *save = NULL;
    size_t i = 0;
    for (char *w = strtok_r(copy, " \n\t", &save); w && i < k;
         w = strtok_r(NULL, " \n\t", &save), i++) {
        strncat(out, w, cap - strlen(out) - 2);
        strcat(out, " ");
    }
    free(copy);
}

static void check_chunks(const fd_doc *d, const fd_chunk *c, size_t n, int max, int overlap)
{
    char a[4096], b[4096];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i].n_words, count_words(c[i].text));
        assert_true(c[i].n_words <= (uint32_t)(max + max / 4));
        if (i + 1 < n && strcmp(c[i].section, c[i + 1].section) == 0)
            assert_true(c[i].n_words <= (uint32_t)max); /* only a section's last may exceed */
        /* A slice of exactly one section: never crosses a heading. */
        int found = 0;
        for (size_t s = 0; s < d->n_sections; s++)
            found |= strcmp(d->sections[s].heading, c[i].section) == 0 &&
                     strstr(d->sections[s].text, c[i].text) != NULL;
        assert_true(found);
        if (i > 0 && overlap && strcmp(c[i - 1].section, c[i].section) == 0) {
            /* The overlap is capped at half the previous chunk. */
            size_t k =
                (size_t)overlap < c[i - 1].n_words / 2 ? (size_t)overlap : c[i - 1].n_words / 2;
            last_words(c[i - 1].text, k, a, sizeof a);
            first_words(c[i].text, k, b, sizeof b);
            assert_string_equal(a, b);
        }
    }
}

static void test_sizes_overlap_sections(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_section secs[] = {
        {"A", words(a, 1000, 0, 0)},      /* no breaks at all: hard cuts */
        {"A > B", words(a, 537, 13, 61)}, /* sentences and paragraphs */
        {"C", "   "},                     /* empty: no chunk */
        {"D", "Tiny."},
    };
    fd_doc d = {.key = "k", .title = "T", .tag = "", .sections = secs, .n_sections = 4};
    static const int params[][2] = {{100, 20}, {50, 0}, {7, 3}, {1, 0}, {300, 299}};
    for (size_t p = 0; p < sizeof params / sizeof params[0]; p++) {
        fd_chunk *c;
        size_t n;
        fd_err err = {0};
        assert_int_equal(fd_ingest_chunk(&d, params[p][0], params[p][1], a, &c, &n, &err), FD_OK);
        check_chunks(&d, c, n, params[p][0], params[p][1]);
        assert_string_equal(c[n - 1].section, "D");
        for (size_t i = 0; i < n; i++)
            assert_string_not_equal(c[i].section, "C");
    }
    fd_arena_free(a);
}

static void test_sentence_and_paragraph_breaks(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    /* Sentences of 10 words, paragraphs of 40: with max 50 every cut falls
     * on a paragraph end (40 >= half of 50). */
    fd_section s1 = {"", words(a, 200, 10, 40)};
    fd_doc d = {.key = "k", .title = "", .tag = "", .sections = &s1, .n_sections = 1};
    fd_chunk *c;
    size_t n;
    fd_err err = {0};
    assert_int_equal(fd_ingest_chunk(&d, 50, 0, a, &c, &n, &err), FD_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(c[i].n_words, 40);

    /* One paragraph of 15-word sentences, max 40: cuts after a sentence. */
    s1.text = words(a, 150, 15, 0);
    assert_int_equal(fd_ingest_chunk(&d, 40, 0, a, &c, &n, &err), FD_OK);
    for (size_t i = 0; i + 1 < n; i++) {
        size_t len = strlen(c[i].text);
        assert_true(c[i].text[len - 1] == '.');
        assert_int_equal(c[i].n_words, 30);
    }

    /* Abbreviations and lower-case starts are not sentence ends. */
    s1.text = "Ask Mr. Smith about e.g. Paris. then more words follow here";
    assert_int_equal(fd_ingest_chunk(&d, 5, 0, a, &c, &n, &err), FD_OK);
    assert_string_equal(c[0].text, "Ask Mr. Smith about e.g.");

    /* Question and exclamation marks end sentences; lines break too. */
    s1.text = "Is it open? Yes! It is open now\n- Mon to Fri\n- Sat";
    assert_int_equal(fd_ingest_chunk(&d, 4, 0, a, &c, &n, &err), FD_OK);
    assert_string_equal(c[0].text, "Is it open? Yes!");
    fd_arena_free(a);
}

static void test_short_tail_merges(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_section s1 = {"S", words(a, 110, 0, 0)};
    fd_doc d = {.key = "k", .title = "", .tag = "", .sections = &s1, .n_sections = 1};
    fd_chunk *c;
    size_t n;
    fd_err err = {0};
    /* 10 left over (< 25) and 110 <= 125: one chunk. */
    assert_int_equal(fd_ingest_chunk(&d, 100, 0, a, &c, &n, &err), FD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].n_words, 110);
    /* 30 left over: a chunk of its own, with the overlap in front. */
    s1.text = words(a, 130, 0, 0);
    assert_int_equal(fd_ingest_chunk(&d, 100, 10, a, &c, &n, &err), FD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(c[1].n_words, 40);
    fd_arena_free(a);
}

static void test_bad_args(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_doc d = {.key = "k", .title = "", .tag = ""};
    fd_chunk *c;
    size_t n;
    fd_err err = {0};
    assert_int_equal(fd_ingest_chunk(&d, 0, 0, a, &c, &n, &err), FD_EINVAL);
    assert_int_equal(fd_ingest_chunk(&d, 10, 10, a, &c, &n, &err), FD_EINVAL);
    assert_int_equal(fd_ingest_chunk(&d, 10, -1, a, &c, &n, &err), FD_EINVAL);
    assert_int_equal(fd_ingest_chunk(&d, 10, 2, a, &c, &n, &err), FD_OK);
    assert_int_equal(n, 0);
    fd_arena_free(a);
}

static void test_hash(void **state)
{
    (void)state;
    fd_section s[] = {{"A", "ab"}, {"B", "c"}};
    fd_doc d = {.key = "k1", .title = "T", .tag = "faq", .sections = s, .n_sections = 2};
    char h1[65], h2[65];
    fd_ingest_doc_hash(&d, h1);
    /* Pinned: a change here re-ingests every stored document. */
    assert_string_equal(h1, "f81a9a4e605b5504cee4fe65d30c5bc8dbec28a7582d1987b0aba0b222a9fe28");
    fd_doc same = d;
    same.key = "other key, same content";
    fd_ingest_doc_hash(&same, h2);
    assert_string_equal(h1, h2);

    fd_section moved[] = {{"A", "a"}, {"B", "bc"}};
    fd_doc m = d;
    m.sections = moved;
    fd_ingest_doc_hash(&m, h2);
    assert_string_not_equal(h1, h2);
    m = d;
    m.tag = "policy";
    fd_ingest_doc_hash(&m, h2);
    assert_string_not_equal(h1, h2);
    m = d;
    m.title = "T2";
    fd_ingest_doc_hash(&m, h2);
    assert_string_not_equal(h1, h2);
    m = d;
    m.n_sections = 1;
    fd_ingest_doc_hash(&m, h2);
    assert_string_not_equal(h1, h2);
}

/* The same file parsed twice hashes the same. */
static int hash_doc(void *ctx, const fd_doc *d)
{
    fd_ingest_doc_hash(d, ctx);
    return 0;
}

static void test_hash_from_parse(void **state)
{
    (void)state;
    const char *md = "---\ntag: faq\n---\n# Returns\nThirty *days*.\n";
    char h1[65], h2[65];
    fd_err err = {0};
    fd_arena *a = fd_arena_new(0);
    assert_int_equal(
        fd_ingest_parse("a.md", FD_FMT_MARKDOWN, md, strlen(md), a, hash_doc, h1, NULL, &err),
        FD_OK);
    fd_arena_reset(a);
    assert_int_equal(
        fd_ingest_parse("b/a.md", FD_FMT_MARKDOWN, md, strlen(md), a, hash_doc, h2, NULL, &err),
        FD_OK);
    assert_string_equal(h1, h2);
    fd_arena_free(a);
}

typedef struct perf {
    fd_arena *ca;
    size_t docs, chunks;
} perf;

static int chunk_doc(void *ctx, const fd_doc *d)
{
    perf *p = ctx;
    fd_chunk *c;
    size_t n;
    fd_err err = {0};
    assert_int_equal(fd_ingest_chunk(d, 200, 40, p->ca, &c, &n, &err), FD_OK);
    p->docs++;
    p->chunks += n;
    fd_arena_reset(p->ca);
    return 0;
}

static void test_scifact_budget(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/../shared/data/retrieval/scifact/corpus.jsonl",
             src ? src : ".");
    char *p = NULL;
    size_t len = 0;
    fd_err err = {0};
    if (fd_file_read(path, 0, &p, &len, &err) != FD_OK) {
        skip(); /* the shared data set is not everywhere */
        return;
    }
    fd_arena *a = fd_arena_new((size_t)256 << 20);
    perf pf = {.ca = fd_arena_new(0)};
    size_t bad = 0;
    uint64_t t0 = fd_time_ns();
    assert_int_equal(fd_ingest_parse(path, FD_FMT_JSONL, p, len, a, chunk_doc, &pf, &bad, &err),
                     FD_OK);
    double secs = (double)(fd_time_ns() - t0) / 1e9;
    fprintf(stderr, "ingest: scifact %zu docs -> %zu chunks in %.3f s\n", pf.docs, pf.chunks, secs);
    assert_int_equal(pf.docs, 5183);
    assert_int_equal(bad, 0);
    assert_true(secs < 5.0); /* < 0.2 s optimized; sanitizers cost ~6x */
    fd_arena_free(pf.ca);
    fd_arena_free(a);
    fd_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_overlap_sections),
        cmocka_unit_test(test_sentence_and_paragraph_breaks),
        cmocka_unit_test(test_short_tail_merges),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_hash_from_parse),
        cmocka_unit_test(test_scifact_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
