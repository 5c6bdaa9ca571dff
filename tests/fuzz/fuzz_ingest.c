/* fuzz_ingest.c: every document loader on outside bytes (what an upload
 * carries), then the chunker on what parsed. The first byte picks the
 * format: Markdown, text, HTML, CSV, JSONL, DOCX (a zip of XML, read in
 * process). PDF is not here: its reader is poppler in a child process
 * per file, which a fuzzer's millions of runs cannot afford. */
#include "ingest.h"

#include <stdint.h>

static int on_doc(void *ctx, const fd_doc *doc)
{
    fd_arena *a = ctx;
    fd_chunk *c;
    size_t n;
    char hash[65];
    (void)fd_ingest_chunk(doc, 60, 10, a, &c, &n, NULL);
    fd_ingest_doc_hash(doc, hash);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const fd_format fmts[] = {FD_FMT_MARKDOWN, FD_FMT_TEXT,  FD_FMT_HTML,
                                     FD_FMT_CSV,      FD_FMT_JSONL, FD_FMT_DOCX};
    static const char *const names[] = {"f.md", "f.txt", "f.html", "f.csv", "f.jsonl", "f.docx"};
    size_t k = data[0] % (sizeof fmts / sizeof fmts[0]);
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return 0;
    size_t n_bad = 0;
    (void)fd_ingest_parse(names[k], fmts[k], (const char *)data + 1, size - 1, a, on_doc, a, &n_bad,
                          NULL);
    fd_arena_free(a);
    return 0;
}
