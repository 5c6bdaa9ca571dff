/* test_binary.c: the PDF and DOCX loaders on files made here, with the
 * libraries a company's own tools use to write them (cairo's PDF surface,
 * a zip of WordprocessingML): headings from font sizes and styles, wrapped
 * lines joined, lists and table rows kept as lines, running page numbers
 * dropped, deleted text left out; and every refusal (not the format,
 * damaged, no text, a zip bomb) a clear error.
 *
 * FD_FIXTURE_OUT=DIR also writes the files made here to DIR (how
 * tests/data/binary/ was made for the integration tests). */
#include "support.h"
#include "ingest.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

typedef struct one {
    fd_doc doc;
    int n;
} one;

static int take(void *ctx, const fd_doc *d)
{
    one *o = ctx;
    o->doc = *d;
    o->n++;
    return 0;
}

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

static char *slurp(const char *path, size_t *len)
{
    char *p = NULL;
    fd_err err;
    assert_int_equal(fd_file_read(path, 0, &p, len, &err), FD_OK);
    return p;
}

static void keep(const char *name, const char *p, size_t len)
{
    const char *dir = getenv("FD_FIXTURE_OUT");
    if (!dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

/* ---- PDF ---------------------------------------------------------------------- */

static void text_at(cairo_t *cr, double size, int bold, double x, double y, const char *s)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}

static void footer(cairo_t *cr, int page)
{
    char s[32];
    snprintf(s, sizeof s, "Page %d", page);
    text_at(cr, 9, 0, 280, 810, s);
}

/* A three-page policy sheet as an office suite prints one. */
static char *make_policy_pdf(const char *tmp, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/policies.pdf", tmp);
    cairo_surface_t *s = cairo_pdf_surface_create(path, 595, 842);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Shop policies");
    cairo_t *cr = cairo_create(s);
    text_at(cr, 20, 1, 50, 60, "Delivery and Returns");
    text_at(cr, 11, 0, 50, 90,
            "We deliver across the UK from Monday to Friday. Orders placed before");
    text_at(cr, 11, 0, 50, 104, "2pm are dispatched the same day, and a standard delivery costs");
    text_at(cr, 11, 0, 50, 118,
            "\xc2\xa3"
            "4.95 for orders under \xc2\xa3"
            "50.");
    text_at(cr, 14, 1, 50, 150, "Returns");
    text_at(cr, 11, 0, 50, 172, "Unopened items can be returned within 30 days.");
    text_at(cr, 11, 0, 50, 186, "Refunds reach your card within five working days.");
    text_at(cr, 11, 0, 50, 210, "\xe2\x80\xa2 Sale items: 14 days");
    text_at(cr, 11, 0, 50, 224, "\xe2\x80\xa2 Gift cards cannot be returned");
    text_at(cr, 14, 1, 50, 256, "Delivery prices");
    text_at(cr, 11, 0, 50, 278, "Standard service");
    text_at(cr, 11, 0, 300, 278,
            "\xc2\xa3"
            "4.95");
    text_at(cr, 11, 0, 50, 292, "Next day service");
    text_at(cr, 11, 0, 300, 292,
            "\xc2\xa3"
            "9.95");
    footer(cr, 1);
    cairo_show_page(cr);
    text_at(cr, 14, 1, 50, 60, "Collection");
    text_at(cr, 11, 0, 50, 82, "You can collect your order from our Leeds shop once we email you.");
    text_at(cr, 11, 1, 50, 110, "Opening hours");
    text_at(cr, 11, 0, 50, 128, "Monday to Saturday, 9am to 5pm. Closed on Sundays.");
    footer(cr, 2);
    cairo_show_page(cr);
    text_at(cr, 14, 1, 50, 60, "Contact");
    text_at(cr, 11, 0, 50, 82, "Call 0113 496 0000 or write to help@example.co.uk.");
    footer(cr, 3);
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
    char *p = slurp(path, len);
    keep("policies.pdf", p, *len);
    return p;
}

/* A "scan": a page with drawing and no text layer. */
static char *make_scan_pdf(const char *tmp, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/scan.pdf", tmp);
    cairo_surface_t *s = cairo_pdf_surface_create(path, 595, 842);
    cairo_t *cr = cairo_create(s);
    cairo_rectangle(cr, 50, 50, 400, 300);
    cairo_fill(cr);
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return slurp(path, len);
}

static int parse(const char *path, fd_format fmt, const char *p, size_t len, fd_arena *a, one *o,
                 fd_err *err)
{
    memset(o, 0, sizeof *o);
    return fd_ingest_parse(path, fmt, p, len, a, take, o, NULL, err);
}

static void test_pdf_structure(void **state)
{
    (void)state;
    char *tmp = fd_test_tmpdir();
    size_t len;
    char *p = make_policy_pdf(tmp, &len);
    fd_arena *a = fd_arena_new(0);
    one o;
    fd_err err = {0};
    assert_int_equal(parse("kb/policies.pdf", FD_FMT_PDF, p, len, a, &o, &err), FD_OK);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.doc.key, "kb/policies.pdf");
    assert_string_equal(o.doc.title, "Shop policies"); /* the metadata title */
    const char *want =
        "[Delivery and Returns]\n"
        /* three wrapped lines, one paragraph: the sentence reads whole */
        "We deliver across the UK from Monday to Friday. Orders placed before 2pm are "
        "dispatched the same day, and a standard delivery costs \xc2\xa3"
        "4.95 for orders "
        "under \xc2\xa3"
        "50.\n"
        "[Delivery and Returns > Returns]\n"
        /* a short line that ends a sentence ends its paragraph */
        "Unopened items can be returned within 30 days.\n\n"
        "Refunds reach your card within five working days.\n\n"
        /* bullets: one item a line, the mark dropped */
        "Sale items: 14 days\nGift cards cannot be returned\n"
        "[Delivery and Returns > Delivery prices]\n"
        /* columns read back into rows, the price beside its name; no
         * header row (both rows hold digits), so a blank one */
        "| |\n| Standard service | \xc2\xa3"
        "4.95 |\n| Next day service | \xc2\xa3"
        "9.95 |\n"
        "[Delivery and Returns > Collection]\n"
        "You can collect your order from our Leeds shop once we email you.\n"
        /* bold at body size, alone on its line: a heading below the sized ones */
        "[Delivery and Returns > Collection > Opening hours]\n"
        "Monday to Saturday, 9am to 5pm. Closed on Sundays.\n"
        "[Delivery and Returns > Contact]\n"
        "Call 0113 496 0000 or write to help@example.co.uk.\n";
    assert_string_equal(render(a, &o.doc), want); /* and "Page N" is gone */
    fd_arena_free(a);
    fd_free(p);
    fd_test_rmrf(tmp);
    fd_free(tmp);
}

static void test_pdf_refused(void **state)
{
    (void)state;
    char *tmp = fd_test_tmpdir();
    fd_arena *a = fd_arena_new(0);
    one o;
    fd_err err = {0};
    /* Not a PDF at all: refused before any reader starts. */
    assert_int_equal(parse("x.pdf", FD_FMT_PDF, "hello world", 11, a, &o, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "not a PDF"));
    /* A header and garbage: the reader (in its child) says so. */
    const char *junk = "%PDF-1.7\n1 0 obj << /Type /Catalog >>\nstartxref\n999999\n%%EOF\n";
    assert_int_equal(parse("junk.pdf", FD_FMT_PDF, junk, strlen(junk), a, &o, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "junk.pdf"));
    assert_int_equal(o.n, 0);
    /* A scan: no text layer. */
    size_t len;
    char *p = make_scan_pdf(tmp, &len);
    assert_int_equal(parse("scan.pdf", FD_FMT_PDF, p, len, a, &o, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "OCR"));
    fd_free(p);
    /* A truncated file: a clear outcome, never a crash of the caller. */
    p = make_policy_pdf(tmp, &len);
    int rc = parse("cut.pdf", FD_FMT_PDF, p, len / 3, a, &o, &err);
    assert_true(rc == FD_OK || rc == FD_EINVAL);
    if (rc == FD_EINVAL)
        assert_non_null(strstr(err.msg, "cut.pdf"));
    /* Empty. */
    assert_int_equal(parse("e.pdf", FD_FMT_PDF, "", 0, a, &o, &err), FD_EINVAL);
    fd_free(p);
    fd_arena_free(a);
    fd_test_rmrf(tmp);
    fd_free(tmp);
}

/* ---- DOCX --------------------------------------------------------------------- */

#define W "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\""

static const char *const DOCX_BODY =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
    "<w:document " W "><w:body>"
    "<w:p><w:pPr><w:pStyle w:val=\"Titre1\"/></w:pPr><w:r><w:t>Livraison</w:t></w:r></w:p>"
    "<w:p><w:r><w:t xml:space=\"preserve\">Nous livrons </w:t></w:r>"
    "<w:r><w:rPr><w:b/></w:rPr><w:t>du lundi au vendredi</w:t></w:r>"
    "<w:del><w:r><w:delText> et le samedi</w:delText></w:r></w:del>"
    "<w:r><w:t>.</w:t></w:r></w:p>"
    "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr>"
    "<w:r><w:t>Colis suivi</w:t></w:r></w:p>"
    "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr>"
    "<w:hyperlink><w:r><w:t>Point relais</w:t></w:r></w:hyperlink></w:p>"
    "<w:p><w:pPr><w:pStyle w:val=\"Heading2\"/></w:pPr><w:r><w:t>Tarifs</w:t></w:r></w:p>"
    "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Service</w:t></w:r></w:p></w:tc>"
    "<w:tc><w:p><w:r><w:t>D\xc3\xa9lai</w:t></w:r></w:p></w:tc>"
    "<w:tc><w:p><w:r><w:t>Prix</w:t></w:r></w:p></w:tc></w:tr>"
    "<w:tr><w:tc><w:p><w:r><w:t>Colissimo</w:t></w:r></w:p></w:tc>"
    "<w:tc><w:p/></w:tc>"
    "<w:tc><w:p><w:r><w:t>4,95 \xe2\x82\xac</w:t></w:r></w:p></w:tc></w:tr>"
    "<w:tr><w:tc><w:p><w:r><w:t>Express</w:t></w:r></w:p></w:tc>"
    "<w:tc><w:p><w:r><w:t>24 h</w:t></w:r></w:p></w:tc>"
    "<w:tc><w:p><w:r><w:t>9,90 \xe2\x82\xac</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    "<w:sdt><w:sdtContent><w:p><w:r><w:t>Retours sous 30 jours.</w:t></w:r>"
    "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>"
    "<w:r><w:instrText> PAGE </w:instrText></w:r></w:p></w:sdtContent></w:sdt>"
    "<w:sectPr/></w:body></w:document>";

static const char *const DOCX_STYLES =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:styles " W ">"
    "<w:style w:type=\"paragraph\" w:styleId=\"Titre1\"><w:name w:val=\"heading 1\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/></w:style>"
    "</w:styles>";

static const char *const DOCX_CORE =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/"
    "metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
    "<dc:title>Conditions de vente</dc:title></cp:coreProperties>";

typedef struct part {
    const char *name;
    const char *p;
    size_t len;
} part;

/* A zip of the parts, as bytes. */
static char *make_zip(const char *tmp, const part *parts, size_t n, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/d.zip", tmp);
    unlink(path);
    int ze = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *s = zip_source_buffer(z, parts[i].p, parts[i].len, 0);
        assert_non_null(s);
        assert_true(zip_file_add(z, parts[i].name, s, ZIP_FL_ENC_UTF_8) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    return slurp(path, len);
}

static void test_docx_structure(void **state)
{
    (void)state;
    char *tmp = fd_test_tmpdir();
    part parts[] = {{"word/document.xml", DOCX_BODY, strlen(DOCX_BODY)},
                    {"word/styles.xml", DOCX_STYLES, strlen(DOCX_STYLES)},
                    {"docProps/core.xml", DOCX_CORE, strlen(DOCX_CORE)}};
    size_t len;
    char *p = make_zip(tmp, parts, 3, &len);
    keep("conditions.docx", p, len);
    fd_arena *a = fd_arena_new(0);
    one o;
    fd_err err = {0};
    assert_int_equal(parse("kb/conditions.docx", FD_FMT_DOCX, p, len, a, &o, &err), FD_OK);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.doc.title, "Conditions de vente");
    assert_string_equal(render(a, &o.doc),
                        /* "Titre1" is a heading by its style's built-in name */
                        "[Livraison]\n"
                        /* runs joined, deleted text left out */
                        "Nous livrons du lundi au vendredi.\n\n"
                        "Colis suivi\nPoint relais\n"
                        /* "Heading2": not in styles.xml, read by its look */
                        "[Livraison > Tarifs]\n"
                        /* the first row names the columns (no digit in it); the
                         * empty cell keeps its place under "Délai" */
                        "| Service | D\xc3\xa9lai | Prix |\n"
                        "| Colissimo | | 4,95 \xe2\x82\xac |\n"
                        "| Express | 24 h | 9,90 \xe2\x82\xac |\n\n"
                        /* a content control's paragraph; the field code gone */
                        "Retours sous 30 jours.\n");
    fd_free(p);
    /* Without styles.xml and core.xml: "Titre1" is still a heading by its
     * look, and the title is the first level-1 heading. */
    p = make_zip(tmp, parts, 1, &len);
    assert_int_equal(parse("c.docx", FD_FMT_DOCX, p, len, a, &o, &err), FD_OK);
    assert_string_equal(o.doc.title, "Livraison");
    assert_int_equal(o.doc.n_sections, 2);
    fd_free(p);
    fd_arena_free(a);
    fd_test_rmrf(tmp);
    fd_free(tmp);
}

static void test_docx_refused(void **state)
{
    (void)state;
    char *tmp = fd_test_tmpdir();
    fd_arena *a = fd_arena_new(0);
    one o;
    fd_err err = {0};
    assert_int_equal(parse("x.docx", FD_FMT_DOCX, "hello", 5, a, &o, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "not a Word document"));
    /* A zip, but not of a Word document. */
    part other[] = {{"readme.txt", "hi", 2}};
    size_t len;
    char *p = make_zip(tmp, other, 1, &len);
    assert_int_equal(parse("y.docx", FD_FMT_DOCX, p, len, a, &o, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "word/document.xml is missing"));
    fd_free(p);
    /* Not XML inside. */
    part bad[] = {{"word/document.xml", "<w:document><w:body", 19}};
    p = make_zip(tmp, bad, 1, &len);
    assert_int_equal(parse("z.docx", FD_FMT_DOCX, p, len, a, &o, &err), FD_EINVAL);
    fd_free(p);
    /* A body with no text. */
    const char *empty = "<w:document " W "><w:body><w:p/></w:body></w:document>";
    part none[] = {{"word/document.xml", empty, strlen(empty)}};
    p = make_zip(tmp, none, 1, &len);
    assert_int_equal(parse("n.docx", FD_FMT_DOCX, p, len, a, &o, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "no text"));
    fd_free(p);
    /* A zip bomb: 65 MiB of spaces compress to ~65 KB; refused, not inflated whole. */
    size_t big = ((size_t)64 << 20) + 1024;
    char *spaces = malloc(big);
    assert_non_null(spaces);
    memset(spaces, ' ', big);
    part bomb[] = {{"word/document.xml", spaces, big}};
    p = make_zip(tmp, bomb, 1, &len);
    free(spaces);
    assert_true(len < ((size_t)1 << 20));
    assert_int_equal(parse("bomb.docx", FD_FMT_DOCX, p, len, a, &o, &err), FD_ETOOBIG);
    assert_non_null(strstr(err.msg, "inflates past"));
    assert_int_equal(o.n, 0);
    fd_free(p);
    fd_arena_free(a);
    fd_test_rmrf(tmp);
    fd_free(tmp);
}

static void test_format(void **state)
{
    (void)state;
    assert_int_equal(fd_ingest_format("a/b/Price List.PDF"), FD_FMT_PDF);
    assert_int_equal(fd_ingest_format("terms.docx"), FD_FMT_DOCX);
    assert_int_equal(fd_ingest_format("old.doc"), FD_FMT_UNKNOWN); /* binary Word: not read */
    assert_true(fd_format_is_binary(FD_FMT_PDF) && fd_format_is_binary(FD_FMT_DOCX));
    assert_false(fd_format_is_binary(FD_FMT_MARKDOWN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdf_structure),  cmocka_unit_test(test_pdf_refused),
        cmocka_unit_test(test_docx_structure), cmocka_unit_test(test_docx_refused),
        cmocka_unit_test(test_format),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* cairo's text API caches fonts through fontconfig: freed here so that
     * LeakSanitizer reports only what is ours. */
    cairo_debug_reset_static_data();
    FcFini();
    return failed;
}
