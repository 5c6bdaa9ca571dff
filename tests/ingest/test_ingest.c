/* test_ingest.c: the loaders: one table of {file, bytes} -> {documents,
 * sections, errors} per format, plus the checks every file gets (BOM,
 * UTF-8, empty), callback control and allocation failure. */
#include "support.h"
#include "ingest.h"

#include <string.h>

#define MAX_DOCS 16

typedef struct docs {
    fd_doc v[MAX_DOCS];
    size_t n;
    int stop_after;  /* callback returns 99 after this many; 0 = never */
    fd_arena *reset; /* when set, reset after every document */
} docs;

static int collect(void *ctx, const fd_doc *d)
{
    docs *ds = ctx;
    if (ds->reset) {
        /* Touch everything, then drop it: the loader must not keep its
         * own state in the arena. */
        for (size_t i = 0; i < d->n_sections; i++)
            assert_true(strlen(d->sections[i].text) > 0);
        assert_non_null(d->key);
        ds->n++;
        fd_arena_reset(ds->reset);
        return 0;
    }
    assert_true(ds->n < MAX_DOCS);
    ds->v[ds->n++] = *d;
    return ds->stop_after && ds->n == (size_t)ds->stop_after ? 99 : 0;
}

/* "[heading]\ntext\n" per section, in the arena. */
static const char *render(fd_arena *a, const fd_doc *d)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    for (size_t i = 0; i < d->n_sections; i++)
        assert_int_equal(
            fd_buf_printf(&b, "[%s]\n%s\n", d->sections[i].heading, d->sections[i].text), FD_OK);
    const char *s = fd_arena_strndup(a, b.p ? b.p : "", b.len);
    fd_buf_free(&b);
    return s;
}

typedef struct kase {
    const char *name;
    const char *path;
    const char *in;
    int rc;
    size_t n_docs, n_bad;
    const char *key, *title, *tag; /* of the first document; NULL = not checked */
    const char *sections;          /* render() of the first document */
    const char *err;               /* substring of err.msg */
} kase;

static const kase cases[] = {
    /* ---- Markdown ---- */
    {"md heading path", "kb/refunds.md",
     "Before.\n# Refunds\nIntro.\n## Defective goods\nBroken?\n### Photos\nSend one.\n"
     "# Shipping\nFast.\n",
     FD_OK, 1, 0, "kb/refunds.md", "Refunds", "",
     "[]\nBefore.\n[Refunds]\nIntro.\n[Refunds > Defective goods]\nBroken?\n"
     "[Refunds > Defective goods > Photos]\nSend one.\n[Shipping]\nFast.\n",
     NULL},
    {"md front matter", "faq.md",
     "---\ntitle: \"Returns policy\"\ntag: policy\nlang: en\n---\n# Ignored for title\nText.\n",
     FD_OK, 1, 0, NULL, "Returns policy", "policy", "[Ignored for title]\nText.\n", NULL},
    {"md unclosed front matter is text", "faq.md", "---\ntitle: x\nbody\n", FD_OK, 1, 0, NULL,
     "faq", "", "[]\ntitle: x body\n", NULL},
    {"md inline markup", "a.md",
     "Get a **full** [refund](https://x.com/r \"t\") in _30 days_ ![logo](l.png)`code` "
     "<b>now</b>, see <https://x.com>, order_id, 5 * 3 &amp; \\*lit\\*.\n",
     FD_OK, 1, 0, NULL, "a", "",
     "[]\nGet a full refund in 30 days code now, see https://x.com, order_id, 5 * 3 & *lit*.\n",
     NULL},
    {"md lists fences prose", "a.md",
     "Wrapped\nprose line.\n\n- one\n* two\n+ three\n1. first\n\n```c\nint x;\n  y();\n```\n"
     "> quoted\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n",
     FD_OK, 1, 0, NULL, NULL, NULL,
     "[]\nWrapped prose line.\n\n- one\n- two\n- three\n1. first\n\nint x;\n  y();\n\n"
     "quoted\n\n| a | b |\n| 1 | 2 |\n",
     NULL},
    {"md setext and closing hashes", "a.md",
     "Main\n====\nText.\n\nSub\n---\nMore.\n## Third ##\nEnd.\n", FD_OK, 1, 0, NULL, "Main", NULL,
     "[Main]\nText.\n[Main > Sub]\nMore.\n[Main > Third]\nEnd.\n", NULL},
    {"md empty sections dropped", "a.md", "# A\n# B\n\n## C\nOnly this.\n", FD_OK, 1, 0, NULL, "A",
     NULL, "[B > C]\nOnly this.\n", NULL},
    {"md BOM stripped", "a.md", "\xEF\xBB\xBF# Hello\nWorld\n", FD_OK, 1, 0, NULL, "Hello", NULL,
     "[Hello]\nWorld\n", NULL},
    /* ---- plain text ---- */
    {"text title first line", "notes/hours.txt", "\n  Opening hours  \nMon-Fri 9-5\n\nSat 10-2\n",
     FD_OK, 1, 0, "notes/hours.txt", "Opening hours", "",
     "[]\nOpening hours\nMon-Fri 9-5\n\nSat 10-2\n", NULL},
    {"text long first line", "notes/long.txt",
     "This first line is far too long to be a title because it goes on and on and on and on and "
     "on and on.\nSecond.\n",
     FD_OK, 1, 0, NULL, "long", NULL, NULL, NULL},
    /* ---- HTML ---- */
    {"html text only", "site/page.html",
     "<!DOCTYPE html><html><head><title>Shop &amp; Co</title><style>h1{}</style>"
     "<script>var s = \"<h1>no</h1>\";</script><meta charset=utf-8></head><body>"
     "<h1>Welcome</h1><p>Hello&nbsp;world &lt;3 &#233;t&#xE9; &bogus; a<b>b</b></p>"
     "<div>Line one<br>Line two</div><!-- <h2>hidden</h2> -->"
     "<h2 class=\"x\">Shipping <small>info</small></h2><ul><li>Fast</li><li>Cheap</li></ul>"
     "<table><tr><td>Size</td><td>12</td></tr></table><SCRIPT>bad()</SCRIPT>3 < 4</body></html>",
     FD_OK, 1, 0, "site/page.html", "Shop & Co", "",
     "[Welcome]\nHello world <3 \xC3\xA9t\xC3\xA9 &bogus; ab\n\nLine one\nLine two\n"
     "[Welcome > Shipping info]\nFast\nCheap\n\n| |\n| Size | 12 |\n\n3 < 4\n",
     NULL},
    /* A table keeps its rows, <th> cells naming the columns; a <p> in a
     * cell and an unclosed <td> still give one row a line; a nested table
     * reads as text inside its cell. */
    {"html table rows", "t.html",
     "<h1>Prices</h1><p>Workshop:</p><table><thead><tr><th>Service</th><th>Price</th></tr>"
     "</thead><tbody><tr><td><p>Gold</p><p>service</p></td><td>&pound;150</td></tr>"
     "<tr><td>Bronze<td>&pound;45<br>cash only</tr>"
     "<tr><td>Extra<table><tr><td>a</td><td>b</td></tr></table></td><td>5</td></tr>"
     "</tbody></table><p>After.</p>",
     FD_OK, 1, 0, NULL, "Prices", NULL,
     "[Prices]\nWorkshop:\n\n| Service | Price |\n| Gold service | \xC2\xA3"
     "150 |\n"
     "| Bronze | \xC2\xA3"
     "45 cash only |\n| Extra a b | 5 |\n\nAfter.\n",
     NULL},
    {"html title from h1", "p.htm", "<h1>Care &quot;guide&quot;</h1><p>Wash cold.", FD_OK, 1, 0,
     NULL, "Care \"guide\"", NULL, "[Care \"guide\"]\nWash cold.\n", NULL},
    {"html title from file", "dir/p.html", "<p>Just text &#x1F600;</p>", FD_OK, 1, 0, NULL, "p",
     NULL, "[]\nJust text \xF0\x9F\x98\x80\n", NULL},
    /* ---- CSV ---- */
    {"csv quoting and keys", "kb/products.csv",
     "SKU,Name,Unit price,Notes\r\nPB-1,\"Pizza box, 12\"\"\",12.50,\"two\nlines\"\r\n"
     "PB-2,Cup,0.5\r\n\r\nPB-3,Lid,1,\r\n",
     FD_OK, 2, 1, "kb/products.csv#PB-1", "Pizza box, 12\"", "product",
     "[]\nSKU: PB-1\nName: Pizza box, 12\"\nUnit price: 12.50\nNotes: two lines\n",
     "line 4: wrong number of fields"},
    {"csv row numbers and first column title", "data/outlets.csv",
     "Outlet,City\nNorth,Paris\nSouth,\"Lyon\"\n", FD_OK, 2, 0, "data/outlets.csv#1", "North",
     "outlets", "[]\nOutlet: North\nCity: Paris\n", NULL},
    /* A spreadsheet's export in a European locale: ';' between fields, the
     * comma a decimal mark (the separator is sniffed from the header). */
    {"csv separated by semicolons", "kb/tarifs.csv",
     "prestation;unit\xC3\xA9;prix\nEmplacement;\"nuit; 2 pers.\";22,50\nVisiteur;jour;3,00\n",
     FD_OK, 2, 0, "kb/tarifs.csv#1", "Emplacement", "tarifs",
     "[]\nprestation: Emplacement\nunit\xC3\xA9: nuit; 2 pers.\nprix: 22,50\n", NULL},
    {"csv separated by tabs", "t.csv", "id\tname\tnote\nA\tBox, big\tok\n", FD_OK, 1, 0, "t.csv#A",
     "Box, big", "t", "[]\nid: A\nname: Box, big\nnote: ok\n", NULL},
    {"csv header only", "x.csv", "id,name\n", FD_OK, 0, 0, NULL, NULL, NULL, NULL, NULL},
    {"csv unterminated quote", "x.csv", "id,name\n1,ok\n2,\"never closed\n", FD_OK, 1, 1, NULL,
     NULL, NULL, NULL, "unterminated quote"},
    /* A stray quote costs its own line, not every row after it. */
    {"csv stray quote mid-file", "x.csv", "id,name\n1,ok\n2,\"stray\n3,fine\n4,also fine\n", FD_OK,
     3, 1, NULL, NULL, NULL, NULL, "line 3: unterminated quote"},
    {"csv nothing parses", "x.csv", "id,name\n1\n2,a,b\n", FD_EINVAL, 0, 2, NULL, NULL, NULL, NULL,
     "x.csv: line 2"},
    /* ---- JSONL (BEIR) ---- */
    {"jsonl beir", "corpus.jsonl",
     "{\"_id\":\"4983\",\"title\":\"Microstructural\",\"text\":\"Alterations of the "
     "architecture.\"}\nnot json\n{\"_id\":7,\"text\":\"numeric id\"}\n\n"
     "{\"title\":\"no id\",\"text\":\"x\"}\n[1]\n{\"_id\":\"e\",\"title\":\"\",\"text\":\"\"}\n"
     "{\"_id\":\"t\",\"text\":5}\n",
     FD_OK, 3, 4, "4983", "Microstructural", "", "[]\nAlterations of the architecture.\n",
     "corpus.jsonl: line 2"},
    {"jsonl nothing parses", "c.jsonl", "{\n[\n", FD_EINVAL, 0, 2, NULL, NULL, NULL, NULL,
     "line 1"},
    /* ---- every format ---- */
    {"invalid utf8", "bad.md", "# ok\nab\xC3\x28", FD_EUTF8, 0, 0, NULL, NULL, NULL, NULL,
     "bad.md: invalid UTF-8 at byte 7"},
    {"invalid utf8 after BOM", "bad.txt", "\xEF\xBB\xBFx\xFF", FD_EUTF8, 0, 0, NULL, NULL, NULL,
     NULL, "at byte 4"},
    {"empty", "e.csv", "", FD_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "e.csv: empty file"},
    {"whitespace only", "e.md", "\xEF\xBB\xBF \n\t\r\n", FD_EINVAL, 0, 0, NULL, NULL, NULL, NULL,
     "empty file"},
    {"unknown format", "x.odt", "PK", FD_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "format"},
};

static void run_case(const kase *k)
{
    fd_arena *a = fd_arena_new(0);
    docs ds = {0};
    size_t n_bad = 12345;
    fd_err err = {0};
    int rc = fd_ingest_parse(k->path, fd_ingest_format(k->path), k->in, strlen(k->in), a, collect,
                             &ds, &n_bad, &err);
    if (rc != k->rc || ds.n != k->n_docs || n_bad != k->n_bad)
        fail_msg("%s: rc %d docs %zu bad %zu (%s)", k->name, rc, ds.n, n_bad, err.msg);
    if (k->err && !strstr(err.msg, k->err))
        fail_msg("%s: error \"%s\" lacks \"%s\"", k->name, err.msg, k->err);
    if (ds.n) {
        const fd_doc *d = &ds.v[0];
        if (k->key)
            assert_string_equal(d->key, k->key);
        if (k->title)
            assert_string_equal(d->title, k->title);
        if (k->tag)
            assert_string_equal(d->tag, k->tag);
        if (k->sections && strcmp(render(a, d), k->sections) != 0)
            fail_msg("%s: sections\n%s\nwant\n%s", k->name, render(a, d), k->sections);
        assert_string_equal(d->source, k->path);
    }
    fd_arena_free(a);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

static void test_format(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        fd_format fmt;
    } t[] = {
        {"a.md", FD_FMT_MARKDOWN},       {"b/c.MarkDown", FD_FMT_MARKDOWN},
        {"x.TXT", FD_FMT_TEXT},          {"x.html", FD_FMT_HTML},
        {"x.HTM", FD_FMT_HTML},          {"p.Csv", FD_FMT_CSV},
        {"c.jsonl", FD_FMT_JSONL},       {"x.PDF", FD_FMT_PDF},
        {"w.docx", FD_FMT_DOCX},         {"x.odt", FD_FMT_UNKNOWN},
        {"md", FD_FMT_UNKNOWN},          {".md", FD_FMT_UNKNOWN},
        {"dir.md/file", FD_FMT_UNKNOWN}, {NULL, FD_FMT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(fd_ingest_format(t[i].path), t[i].fmt);
}

static void test_callback_stops(void **state)
{
    (void)state;
    const char *in = "id,name\n1,a\n2,b\n3,c\n";
    fd_arena *a = fd_arena_new(0);
    docs ds = {.stop_after = 2};
    fd_err err = {0};
    assert_int_equal(
        fd_ingest_parse("x.csv", FD_FMT_CSV, in, strlen(in), a, collect, &ds, NULL, &err), 99);
    assert_int_equal(ds.n, 2);
    fd_arena_free(a);
}

/* A caller ingesting a big file resets the arena per document. */
static void test_arena_reset_between_docs(void **state)
{
    (void)state;
    fd_buf csv, jl;
    fd_buf_init(&csv, 0);
    fd_buf_init(&jl, 0);
    assert_int_equal(fd_buf_printf(&csv, "sku,name,desc\n"), FD_OK);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(
            fd_buf_printf(&csv, "S%d,Item %d,\"Long, quoted\ndescription %d\"\n", i, i, i), FD_OK);
        assert_int_equal(
            fd_buf_printf(&jl, "{\"_id\":\"%d\",\"title\":\"T\",\"text\":\"x %d\"}\n", i, i),
            FD_OK);
    }
    fd_arena *a = fd_arena_new(1 << 16); /* far smaller than the whole file's documents */
    docs ds = {.reset = a};
    fd_err err = {0};
    assert_int_equal(
        fd_ingest_parse("kb/items.csv", FD_FMT_CSV, csv.p, csv.len, a, collect, &ds, NULL, &err),
        FD_OK);
    assert_int_equal(ds.n, 500);
    ds.n = 0;
    assert_int_equal(
        fd_ingest_parse("c.jsonl", FD_FMT_JSONL, jl.p, jl.len, a, collect, &ds, NULL, &err), FD_OK);
    assert_int_equal(ds.n, 500);
    fd_arena_free(a);
    fd_buf_free(&csv);
    fd_buf_free(&jl);
}

static int parse_all(const char *path, const char *in)
{
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return FD_ENOMEM;
    docs ds = {0};
    fd_err err = {0};
    int rc =
        fd_ingest_parse(path, fd_ingest_format(path), in, strlen(in), a, collect, &ds, NULL, &err);
    for (size_t i = 0; !rc && i < ds.n; i++) {
        fd_chunk *c;
        size_t n;
        rc = fd_ingest_chunk(&ds.v[i], 8, 2, a, &c, &n, &err);
    }
    fd_arena_free(a);
    return rc;
}

/* Every allocation failing in turn ends in FD_ENOMEM, never a crash or a
 * leak (ASan checks the leaks). */
static void test_alloc_failures(void **state)
{
    (void)state;
    static const struct {
        const char *path, *in;
    } t[] = {
        {"a.md", "---\ntitle: T\n---\n# A\nSome *text* here. And more.\n## B\n- x\n- y\n"},
        {"a.html", "<title>T</title><h1>A</h1><p>One two three four five six seven eight nine"},
        {"products.csv", "sku,name\nA,\"x, y\"\nB,z\nC\n"},
        {"c.jsonl", "{\"_id\":\"1\",\"title\":\"t\",\"text\":\"a b c d e f g h i j k\"}\nbad\n"},
        {"a.txt", "Title\nbody line\n\nmore"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int rc, n = 0;
        do {
            fd_alloc_fail_at(++n);
            rc = parse_all(t[i].path, t[i].in);
            fd_alloc_fail_at(0);
            assert_true(rc == FD_OK || rc == FD_ENOMEM);
        } while (fd_alloc_failures() > 0);
        assert_int_equal(rc, FD_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),          cmocka_unit_test(test_format),
        cmocka_unit_test(test_callback_stops), cmocka_unit_test(test_arena_reset_between_docs),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
