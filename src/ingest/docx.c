/* docx.c: a Word document (.docx, Office Open XML) to an outline. The
 * file is a zip (libzip) of XML parts (libxml2): word/document.xml holds
 * the body, word/styles.xml says which paragraph styles are headings (by
 * their built-in names, "heading 1", which Word keeps in English whatever
 * the interface language), docProps/core.xml holds the title.
 *
 * Read in process: both libraries are fuzzed upstream and here
 * (fuzz_ingest), parsing takes no network (XML_PARSE_NONET), external
 * entities are never loaded, and every part read is capped, so a zip bomb
 * is refused rather than inflated. Text kept: paragraphs (runs, hyperlinks,
 * fields' results, content controls, tracked insertions), list items, table
 * rows; dropped: deleted text, field codes, headers,
 * footers, comments. */
#include "ingest_int.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

/* One XML part, inflated: a 20-page document's body is ~200 KB. */
#define PART_MAX ((size_t)64 << 20)
/* Style ids remembered from styles.xml; a document has ~30 to ~300. */
#define STYLES_MAX 1024

typedef struct style {
    char id[64];
    int level; /* 1..6 */
} style;

typedef struct docx {
    const char *path;
    fd_buf *out;
    fd_buf t; /* one paragraph's or row's text */
    style styles[STYLES_MAX];
    size_t n_styles;
    int rc;
} docx;

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
/* libxml2 sets up its globals on first use, which is not thread safe
 * (two uploads at once): done once here. */
static void xml_init(void)
{
    xmlInitParser();
}

static int is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The first child element called name, or NULL. */
static xmlNode *child(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is(c, name))
            return c;
    return NULL;
}

/* The w:val of n into out ("" when absent). */
static void val(xmlNode *n, char *out, size_t size)
{
    out[0] = '\0';
    xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)"val") : NULL;
    if (v)
        snprintf(out, size, "%s", (const char *)v);
    xmlFree(v);
}

/* Reads one part of the zip, whole; FD_ENOTFOUND when it is absent. */
static int read_part(zip_t *z, const char *name, const char *path, fd_buf *out, fd_err *err)
{
    zip_file_t *f = zip_fopen(z, name, 0);
    if (!f)
        return fd_err_set(err, FD_ENOTFOUND, "%s: %s is missing: not a Word document", path, name);
    fd_buf_init(out, PART_MAX);
    int rc = FD_OK;
    char chunk[16384];
    for (;;) {
        zip_int64_t got = zip_fread(f, chunk, sizeof chunk);
        if (got < 0) {
            rc = fd_err_set(err, FD_EINVAL, "%s: %s cannot be inflated: %s", path, name,
                            zip_file_strerror(f));
            break;
        }
        if (got == 0)
            break;
        rc = fd_buf_append(out, chunk, (size_t)got);
        if (rc) {
            rc = rc == FD_ETOOBIG ? fd_err_set(err, FD_ETOOBIG, "%s: %s inflates past %zu MiB",
                                               path, name, PART_MAX >> 20)
                                  : fd_err_set(err, rc, "%s: out of memory", path);
            break;
        }
    }
    zip_fclose(f);
    if (rc)
        fd_buf_free(out);
    return rc;
}

static xmlDoc *parse_part(const fd_buf *b, const char *name)
{
    if (b->len == 0 || b->len > (size_t)INT32_MAX)
        return NULL;
    return xmlReadMemory(b->p, (int)b->len, name, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* "heading 3" (the built-in name) -> 3; "Title" -> 1; else 0. */
static int level_of_name(const char *name)
{
    if (strcasecmp(name, "title") == 0)
        return 1;
    if (strncasecmp(name, "heading ", 8) == 0 && name[8] >= '1' && name[8] <= '9' && !name[9])
        return name[8] - '0' > 6 ? 6 : name[8] - '0';
    return 0;
}

static void load_styles(docx *x, zip_t *z)
{
    fd_buf b;
    fd_err ignored;
    if (read_part(z, "word/styles.xml", x->path, &b, &ignored))
        return; /* optional: without it, style ids are read by their look */
    xmlDoc *doc = parse_part(&b, "styles.xml");
    fd_buf_free(&b);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    for (xmlNode *s = root ? root->children : NULL; s; s = s->next) {
        if (!is(s, "style") || x->n_styles == STYLES_MAX)
            continue;
        char name[64], lvl[8];
        val(child(s, "name"), name, sizeof name);
        val(child(child(s, "pPr"), "outlineLvl"), lvl, sizeof lvl);
        int level = level_of_name(name);
        if (!level && lvl[0] >= '0' && lvl[0] <= '5' && !lvl[1])
            level = lvl[0] - '0' + 1;
        xmlChar *id = xmlGetProp(s, (const xmlChar *)"styleId");
        if (level && id && strlen((const char *)id) < sizeof x->styles[0].id) {
            snprintf(x->styles[x->n_styles].id, sizeof x->styles[0].id, "%s", (const char *)id);
            x->styles[x->n_styles++].level = level;
        }
        xmlFree(id);
    }
    xmlFreeDoc(doc);
}

/* A paragraph's heading level from its style id, 0 for body text. Ids not
 * in styles.xml are read by their look ("Heading2", "Titre1"). */
static int level_of_style(const docx *x, const char *id)
{
    for (size_t i = 0; i < x->n_styles; i++)
        if (strcmp(x->styles[i].id, id) == 0)
            return x->styles[i].level;
    size_t n = strlen(id);
    if (n >= 2 && id[n - 1] >= '1' && id[n - 1] <= '6' &&
        (strncasecmp(id, "heading", 7) == 0 || strncasecmp(id, "titre", 5) == 0))
        return id[n - 1] - '0';
    return level_of_name(id) == 1 && strcasecmp(id, "title") == 0 ? 1 : 0;
}

static void put(docx *x, const char *kind)
{
    if (!x->rc && x->t.len)
        x->rc = ing_outline_put(x->out, kind, x->t.p, x->t.len);
    fd_buf_reset(&x->t);
}

static void add(docx *x, const char *p, size_t n)
{
    if (!x->rc)
        x->rc = fd_buf_append(&x->t, p, n);
}

/* The text under n into x->t: runs, hyperlinks, fields' results, content
 * controls, insertions; not properties, deleted text or field codes. */
static void collect(docx *x, const xmlNode *n)
{
    for (const xmlNode *c = n->children; c && !x->rc; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "t") == 0 &&
                c->content)
                add(x, (const char *)c->content, strlen((const char *)c->content));
            continue;
        }
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is(c, "tab") || is(c, "br") || is(c, "cr"))
            add(x, " ", 1);
        else if (is(c, "pPr") || is(c, "rPr") || is(c, "delText") || is(c, "instrText") ||
                 is(c, "del"))
            continue;
        else if (is(c, "p")) {
            collect(x, c);
            add(x, " ", 1); /* paragraphs inside a cell */
        } else
            collect(x, c);
    }
}

static void paragraph(docx *x, const xmlNode *p)
{
    xmlNode *ppr = child(p, "pPr");
    char sid[64], lvl[8];
    val(child(ppr, "pStyle"), sid, sizeof sid);
    val(child(ppr, "outlineLvl"), lvl, sizeof lvl);
    int level = sid[0] ? level_of_style(x, sid) : 0;
    if (!level && lvl[0] >= '0' && lvl[0] <= '5' && !lvl[1])
        level = lvl[0] - '0' + 1;
    collect(x, p);
    char kind[3] = {'H', (char)('0' + level), '\0'};
    put(x, level ? kind : child(ppr, "numPr") ? "L" : "P");
}

/* Rows as "R" records, cells in place (an empty cell keeps its column, so
 * a value stays under its header); a row Word marks as the repeated
 * header (w:tblHeader) is "Rh". */
static void table(docx *x, const xmlNode *tbl)
{
    for (const xmlNode *tr = tbl->children; tr && !x->rc; tr = tr->next) {
        if (!is(tr, "tr"))
            continue;
        int cells = 0, filled = 0;
        for (const xmlNode *tc = tr->children; tc && !x->rc; tc = tc->next) {
            if (!is(tc, "tc"))
                continue;
            if (cells++)
                add(x, " | ", 3);
            size_t before = x->t.len;
            collect(x, tc);
            for (size_t k = before; k < x->t.len && !filled; k++)
                filled = x->t.p[k] != ' ';
        }
        if (!filled)
            fd_buf_reset(&x->t); /* a spacer row */
        put(x, child(child(tr, "trPr"), "tblHeader") ? "Rh" : "R");
    }
}

/* The body's blocks in order; content controls and custom XML wrap
 * blocks of their own. */
static void blocks(docx *x, const xmlNode *n)
{
    for (const xmlNode *c = n->children; c && !x->rc; c = c->next) {
        if (is(c, "p"))
            paragraph(x, c);
        else if (is(c, "tbl"))
            table(x, c);
        else if (is(c, "sdt"))
            blocks(x, child(c, "sdtContent") ? child(c, "sdtContent") : c);
        else if (is(c, "customXml") || is(c, "ins"))
            blocks(x, c);
    }
}

/* dc:title from docProps/core.xml, as the outline's title record. */
static void title(docx *x, zip_t *z)
{
    fd_buf b;
    fd_err ignored;
    if (read_part(z, "docProps/core.xml", x->path, &b, &ignored))
        return;
    xmlDoc *doc = parse_part(&b, "core.xml");
    fd_buf_free(&b);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNode *t = child(root, "title");
    if (t) {
        for (const xmlNode *c = t->children; c; c = c->next)
            if (c->type == XML_TEXT_NODE && c->content)
                add(x, (const char *)c->content, strlen((const char *)c->content));
        put(x, "T");
    }
    xmlFreeDoc(doc);
}

int ing_docx_outline(const char *path, const char *p, size_t len, fd_buf *out, fd_err *err)
{
    pthread_once(&xml_once, xml_init);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(p, len, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!z) {
        if (src)
            zip_source_free(src);
        int rc = fd_err_set(err, FD_EINVAL, "%s: not a Word document (.docx is a zip): %s", path,
                            zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    docx *x = fd_calloc(1, sizeof *x);
    if (!x) {
        zip_discard(z);
        return fd_err_set(err, FD_ENOMEM, "%s: out of memory", path);
    }
    x->path = path;
    x->out = out;
    fd_buf_init(&x->t, PART_MAX);
    fd_buf body;
    int rc = read_part(z, "word/document.xml", path, &body, err);
    if (rc == FD_ENOTFOUND)
        rc = err ? (err->code = FD_EINVAL) : FD_EINVAL; /* the file is not what it says */
    if (!rc) {
        load_styles(x, z);
        title(x, z);
        xmlDoc *doc = parse_part(&body, "document.xml");
        fd_buf_free(&body);
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        xmlNode *b = child(root, "body");
        if (!b)
            rc = fd_err_set(err, FD_EINVAL, "%s: word/document.xml is not a Word body", path);
        else
            blocks(x, b);
        xmlFreeDoc(doc);
        if (!rc && x->rc)
            rc = x->rc == FD_ETOOBIG ? fd_err_set(err, FD_ETOOBIG, "%s: too much text", path)
                                     : fd_err_set(err, x->rc, "%s: out of memory", path);
    }
    fd_buf_free(&x->t);
    fd_free(x);
    zip_discard(z);
    return rc;
}
