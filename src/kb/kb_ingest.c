/* kb_ingest.c: files and folders -> documents and chunks in the store.
 * The whole run is one transaction (nothing half-written on failure), a
 * file that cannot be read or parsed is skipped with its reason, and a
 * document whose content hash did not change is left alone.
 *
 * Keys do not depend on how a path was typed (issue 14: "kb", "./kb" and
 * "/srv/kb" made three copies, and server paths reached customers in
 * citations): a file found in a folder is keyed by the folder's own name
 * and its path inside it ("kb/faq/returns.md"); a file given alone by its
 * folder's name and its own ("kb/returns.md", the same key). Re-ingesting a
 * folder removes the documents of files no longer in it, and those stored
 * under an older key of a file in it (a path typed another way). */
#include "kb_int.h"

#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Files in a knowledge-base folder that are not documents: they configure
 * the conversation engine (intents, tone, escalation) or evaluate it. */
static const char *const special_names[] = {"README.md",       "tone.md",       "escalation.toml",
                                            "escalation.json", "intents.tsv",   "cases.jsonl",
                                            "commerce.toml",   "customers.csv", "canned.md"};

/* The special files kept in the store as assets (README and the case file
 * are for people and evaluation only). products.csv is both: its rows are
 * documents customers ask about, and the commerce module's catalog.
 * customers.csv is never a document: no customer reads another's address.
 * canned.md holds the agents' saved replies (the console's), not answers. */
static const char *const asset_names[] = {"tone.md",      "escalation.toml", "escalation.json",
                                          "intents.tsv",  "commerce.toml",   "customers.csv",
                                          "products.csv", "canned.md"};

static int also_document(const char *name)
{
    return strcmp(name, "products.csv") == 0;
}
#define MAX_ASSET_BYTES ((size_t)8 << 20)

#define MAX_FILE_BYTES ((size_t)512 << 20)

typedef struct file_list {
    char **v;
    size_t n, cap;
} file_list;

/* A folder given to ingest: its own name (the key prefix) and real path. */
typedef struct folder {
    char canon[256];
    char real[4096];
    char typed[4096];
} folder;

typedef struct ingest_run {
    fd_kb *kb;
    const fd_kb_ingest_opts *opts;
    fd_kb_ingest_report *rep;
    fd_err *err;
    int64_t next_version;
    fd_arena *a;    /* per file: parsed documents */
    fd_arena *work; /* per document: chunks, rows */
    const fd_doc **docs;
    size_t n_docs, cap_docs;
    fd_format fmt;                                            /* of the file being parsed */
    char *assets[sizeof asset_names / sizeof asset_names[0]]; /* paths found */
    file_list keys;  /* the key name of each file found, beside its path */
    folder *folders; /* the folders given, for removals */
    size_t n_folders;
    const folder *walking; /* the folder walk() is under */
} ingest_run;

static void skip(ingest_run *r, const char *path, const fd_err *why)
{
    r->rep->skipped++;
    if (r->opts && r->opts->on_skip)
        r->opts->on_skip(r->opts->ctx, path, why);
}

/* The format a file is parsed as: the caller's override, else its extension. */
static fd_format file_format(const ingest_run *r, const char *path)
{
    if (r->opts && r->opts->format != FD_FMT_UNKNOWN)
        return r->opts->format;
    return fd_ingest_format(path);
}

/* With a key root (uploads): the path less the root. */
static const char *key_under_root(const ingest_run *r, const char *path)
{
    const char *root = r->opts ? r->opts->key_root : NULL;
    size_t n = root ? strlen(root) : 0;
    if (n && strncmp(path, root, n) == 0 && path[n])
        return path + n;
    return path;
}

/* A folder's own name: the last part of its real path ("kb" for "./kb",
 * "kb/" and "/srv/kb"); the path as typed when it cannot be resolved. */
static void folder_of(const char *typed, folder *f)
{
    snprintf(f->typed, sizeof f->typed, "%s", typed);
    size_t len = strlen(f->typed);
    while (len > 1 && f->typed[len - 1] == '/')
        f->typed[--len] = '\0';
    if (!realpath(f->typed, f->real))
        snprintf(f->real, sizeof f->real, "%s", f->typed);
    const char *base = strrchr(f->real, '/');
    base = base && base[1] ? base + 1 : f->real;
    if (!*base || strcmp(base, "/") == 0 || strcmp(base, ".") == 0)
        base = "kb";
    size_t n = strlen(base);
    if (n >= sizeof f->canon)
        n = sizeof f->canon - 1; /* a 255-byte folder name is the longest there is */
    memcpy(f->canon, base, n);
    f->canon[n] = '\0';
}

static int is_special(const char *name);

int fd_kb_special_file(const char *name)
{
    return is_special(name);
}

static int is_special(const char *name)
{
    for (size_t i = 0; i < sizeof special_names / sizeof special_names[0]; i++)
        if (strcmp(name, special_names[i]) == 0)
            return 1;
    return 0;
}

static int asset_index(const char *name)
{
    for (size_t i = 0; i < sizeof asset_names / sizeof asset_names[0]; i++)
        if (strcmp(name, asset_names[i]) == 0)
            return (int)i;
    return -1;
}

static int list_add(file_list *l, const char *path, fd_err *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = fd_realloc(l->v, cap * sizeof *v);
        if (!v)
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = fd_strdup(path);
    if (!l->v[l->n])
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    l->n++;
    return FD_OK;
}

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        fd_free(l->v[i]);
    fd_free(l->v);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file to ingest and its key name: under the folder being walked, the
 * folder's name and the path inside it; given alone, its folder's name
 * and its own; with a key root, the path less the root. */
static int add_file(ingest_run *r, file_list *out, const char *path)
{
    char key[4096 + 256];
    if (r->opts && r->opts->key_root) {
        snprintf(key, sizeof key, "%s", key_under_root(r, path));
    } else if (r->walking) {
        size_t n = strlen(r->walking->typed);
        snprintf(key, sizeof key, "%s%s", r->walking->canon, path + n);
    } else {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '/');
        const char *name = slash ? slash + 1 : path;
        if (slash)
            *slash = '\0';
        folder f;
        folder_of(slash ? (parent[0] ? parent : "/") : ".", &f);
        snprintf(key, sizeof key, "%s/%s", f.canon, name);
    }
    /* Two files under one key (two folders of the same name): the first
     * stays, the second is skipped and said, never silently replaced. */
    for (size_t i = 0; i < r->keys.n; i++)
        if (strcmp(r->keys.v[i], key) == 0) {
            fd_err why;
            fd_err_set(&why, FD_ECONFLICT,
                       "same document key '%s' as %s (keys are a folder's name and the path "
                       "inside it): rename one of the folders",
                       key, out->v[i]);
            skip(r, path, &why);
            return FD_OK;
        }
    int rc = list_add(out, path, r->err);
    if (!rc) {
        rc = list_add(&r->keys, key, r->err);
        if (rc)
            fd_free(out->v[--out->n]);
    }
    return rc;
}

/* Depth-first, names sorted, so a folder always ingests in the same order. */
static int walk(ingest_run *r, const char *dir, file_list *out, int depth)
{
    if (depth > 32)
        return FD_OK; /* symlink loops */
    DIR *d = opendir(dir);
    if (!d) {
        fd_err why;
        fd_err_set(&why, FD_EIO, "cannot open folder: %s", strerror(errno));
        skip(r, dir, &why);
        return FD_OK;
    }
    file_list names = {0};
    int rc = FD_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            rc = list_add(&names, e->d_name, r->err);
    closedir(d);
    if (names.n) /* an empty folder has no list to sort (qsort(NULL) is UB) */
        qsort(names.v, names.n, sizeof *names.v, name_cmp);
    for (size_t i = 0; i < names.n && !rc; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s", dir, names.v[i]);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = walk(r, path, out, depth + 1);
        } else if (S_ISREG(st.st_mode) && asset_index(names.v[i]) >= 0) {
            /* The last folder given wins when several hold the same asset. */
            int ai = asset_index(names.v[i]);
            fd_free(r->assets[ai]);
            r->assets[ai] = fd_strdup(path);
            if (!r->assets[ai])
                rc = fd_err_set(r->err, FD_ENOMEM, "out of memory");
            else if (also_document(names.v[i]))
                rc = add_file(r, out, path);
        } else if (S_ISREG(st.st_mode) && !is_special(names.v[i])) {
            if (file_format(r, path) != FD_FMT_UNKNOWN) {
                rc = add_file(r, out, path);
            } else {
                fd_err why;
                fd_err_set(&why, FD_EINVAL, "unsupported file type");
                skip(r, path, &why);
            }
        }
    }
    list_free(&names);
    return rc;
}

static int collect_doc(void *ctx, const fd_doc *doc)
{
    ingest_run *r = ctx;
    if (r->n_docs == r->cap_docs) {
        size_t cap = r->cap_docs ? r->cap_docs * 2 : 256;
        const fd_doc **v = fd_realloc(r->docs, cap * sizeof *v);
        if (!v)
            return fd_err_set(r->err, FD_ENOMEM, "out of memory");
        r->docs = v;
        r->cap_docs = cap;
    }
    /* The doc lives in r->a already (the loader's arena); keep a pointer. */
    fd_doc *copy = fd_arena_alloc(r->a, sizeof *copy);
    if (!copy)
        return fd_err_set(r->err, FD_ETOOBIG, "file too large");
    *copy = *doc;
    /* Overrides apply before the hash, so changing only them is a change. */
    const fd_kb_ingest_opts *o = r->opts;
    if (o && o->tag)
        copy->tag = o->tag;
    if (o && o->title && r->fmt != FD_FMT_CSV && r->fmt != FD_FMT_JSONL)
        copy->title = o->title;
    r->docs[r->n_docs++] = copy;
    return FD_OK;
}

/* A document's language from its first ~100 words: plenty of evidence for
 * en/fr, and guessing over whole documents cost 10% of a 100k-doc ingest. */
static fd_lang doc_lang(const fd_doc *doc)
{
    char sample[640];
    size_t n = 0;
    for (size_t i = 0; i < doc->n_sections && n + 1 < sizeof sample; i++) {
        const char *text = doc->sections[i].text;
        size_t len = strlen(text);
        if (len > sizeof sample - n - 2) {
            /* Cut at a character boundary: a sample holding half a
             * character is not UTF-8, and the guess then gives up (French
             * pages were stemmed as English). */
            len = sizeof sample - n - 2;
            while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
                len--;
        }
        memcpy(sample + n, text, len);
        n += len;
        sample[n++] = ' ';
    }
    return fd_text_guess_lang((fd_str){sample, n});
}

static int store_doc(ingest_run *r, const fd_doc *doc)
{
    fd_kb *kb = r->kb;
    fd_arena_reset(r->work);
    char hash[65];
    fd_ingest_doc_hash(doc, hash);
    fd_doc_row old;
    fd_err gerr = {0};
    int rc = fd_store_doc_get(kb->store, doc->key, r->work, &old, &gerr);
    if (rc == FD_OK && strcmp(old.hash, hash) == 0) {
        r->rep->unchanged++;
        return FD_OK;
    }
    if (rc != FD_OK && rc != FD_ENOTFOUND) {
        *r->err = gerr;
        return rc;
    }
    int existed = rc == FD_OK;
    fd_chunk *chunks = NULL;
    size_t n_chunks = 0;
    rc = fd_ingest_chunk(doc, kb->cfg->chunk_max_words, kb->cfg->chunk_overlap_words, r->work,
                         &chunks, &n_chunks, r->err);
    if (rc)
        return rc;
    fd_doc_row row;
    memset(&row, 0, sizeof row);
    row.key = doc->key;
    row.title = doc->title;
    row.source = doc->source;
    row.tag = doc->tag;
    row.lang = fd_lang_code(doc_lang(doc));
    row.hash = hash;
    row.n_chunks = (int64_t)n_chunks;
    row.kb_version = r->next_version;
    row.updated_at = fd_time_wall();
    int64_t id;
    rc = fd_store_doc_put(kb->store, &row, &id, r->err);
    for (size_t i = 0; i < n_chunks && !rc; i++)
        rc = fd_store_chunk_add(kb->store, id, (int)i, chunks[i].section, chunks[i].text, r->err);
    if (rc)
        return rc;
    if (existed)
        r->rep->changed++;
    else
        r->rep->added++;
    r->rep->chunks += n_chunks;
    return FD_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp((*(const fd_doc *const *)a)->key, (*(const fd_doc *const *)b)->key);
}

typedef struct gone_ctx {
    ingest_run *r;
    fd_buf keys; /* NUL-separated keys no longer in the file */
} gone_ctx;

static int note_gone(void *ctx, const char *key)
{
    gone_ctx *g = ctx;
    fd_doc probe = {0};
    probe.key = key;
    const fd_doc *pp = &probe;
    if (g->r->n_docs && bsearch(&pp, g->r->docs, g->r->n_docs, sizeof *g->r->docs, key_cmp))
        return 0;
    return fd_buf_append(&g->keys, key, strlen(key) + 1);
}

/* Rows that vanished from a re-ingested CSV/JSONL are deleted. */
static int remove_gone(ingest_run *r, const char *source)
{
    if (r->n_docs) /* qsort(NULL, 0) is UB */
        qsort(r->docs, r->n_docs, sizeof *r->docs, key_cmp);
    gone_ctx g = {r, {0}};
    fd_buf_init(&g.keys, 0);
    int rc = fd_store_docs_by_source(r->kb->store, source, note_gone, &g, r->err);
    for (size_t off = 0; off < g.keys.len && !rc; off += strlen(g.keys.p + off) + 1) {
        rc = fd_store_doc_delete(r->kb->store, g.keys.p + off, r->err);
        if (!rc)
            r->rep->removed++;
    }
    fd_buf_free(&g.keys);
    return rc;
}

static int ingest_file(ingest_run *r, const char *path, const char *name)
{
    fd_err why = {0};
    char *data = NULL;
    size_t len = 0;
    fd_arena_reset(r->a);
    r->n_docs = 0;
    int rc = fd_file_read(path, MAX_FILE_BYTES, &data, &len, &why);
    size_t n_bad = 0;
    r->fmt = file_format(r, path);
    if (!rc) {
        rc = fd_ingest_parse(name, r->fmt, data, len, r->a, collect_doc, r, &n_bad, &why);
        if (rc == FD_OK && n_bad) {
            /* Bad rows: the rest of the file goes in, and the warning says
             * so (it read "skipped FILE" while the good rows were stored). */
            fd_err rows = why;
            char first[160];
            snprintf(first, sizeof first, "%.*s", (int)(sizeof first - 1), why.msg);
            snprintf(rows.msg, sizeof rows.msg,
                     "%zu bad row%s left out, the other rows ingested (%s)", n_bad,
                     n_bad == 1 ? "" : "s", first);
            snprintf(rows.field, sizeof rows.field, "rows"); /* the file itself went in */
            skip(r, path, &rows);
        }
        r->rep->skipped += n_bad ? n_bad - 1 : 0;
    }
    fd_free(data);
    if (rc == FD_ENOMEM) {
        *r->err = why;
        if (!r->err->msg[0]) /* a loader's out-of-memory carries no message of its own */
            fd_err_set(r->err, rc, "out of memory reading %s", path);
        return rc;
    }
    if (rc) {
        skip(r, path, &why);
        return FD_OK;
    }
    r->rep->files++;
    for (size_t i = 0; i < r->n_docs && !rc; i++)
        rc = store_doc(r, r->docs[i]);
    if (!rc)
        rc = remove_gone(r, name);
    return rc;
}

static int check_paths(const char *const *paths, size_t n, fd_err *err)
{
    if (n == 0)
        return fd_err_set(err, FD_EINVAL, "nothing to ingest: give files or folders");
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0)
            return fd_err_set_field(err, FD_ENOTFOUND, "path", "%s: %s", paths[i], strerror(errno));
    }
    return FD_OK;
}

static int expand(ingest_run *r, const char *const *paths, size_t n, file_list *files)
{
    int rc = FD_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            folder *f = &r->folders[r->n_folders++];
            folder_of(paths[i], f);
            r->walking = f;
            rc = walk(r, f->typed, files, 0);
            r->walking = NULL;
        } else if (file_format(r, paths[i]) == FD_FMT_UNKNOWN) {
            fd_err why;
            fd_err_set(&why, FD_EINVAL,
                       "unsupported file type (expected .md .txt .html .csv .jsonl .pdf .docx)");
            skip(r, paths[i], &why);
        } else {
            rc = add_file(r, files, paths[i]);
        }
    }
    return rc;
}

/* The console reads canned.md at every request: one it cannot parse is
 * refused here, with the line, rather than found broken by an agent. */
static int check_canned(const char *text, size_t len, fd_err *why)
{
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(why, FD_ENOMEM, "out of memory");
    fd_canned *c;
    size_t n;
    int rc = fd_kb_canned_parse(text, len, a, &c, &n, why);
    fd_arena_free(a);
    return rc;
}

/* Stores the assets found; a bad one is skipped like a bad document. */
static int store_assets(ingest_run *r)
{
    for (size_t i = 0; i < sizeof asset_names / sizeof asset_names[0]; i++) {
        const char *path = r->assets[i];
        if (!path)
            continue;
        char *text = NULL;
        size_t len = 0;
        fd_err why;
        int rc = fd_file_read(path, MAX_ASSET_BYTES, &text, &len, &why);
        if (!rc && !fd_utf8_valid(text, len, NULL))
            rc = fd_err_set(&why, FD_EUTF8, "not valid UTF-8");
        if (!rc && strcmp(asset_names[i], "canned.md") == 0)
            rc = check_canned(text, len, &why);
        if (rc) {
            fd_free(text);
            skip(r, path, &why);
            continue;
        }
        int changed = 0;
        rc = fd_store_asset_put(r->kb->store, asset_names[i], text, len, path, r->next_version,
                                &changed, r->err);
        fd_free(text);
        if (rc)
            return rc;
        r->rep->assets++;
        r->rep->assets_changed += (size_t)changed;
    }
    return FD_OK;
}

/* ---- files gone from a folder ------------------------------------------- */

typedef struct vanish_ctx {
    ingest_run *r;
    char **seen; /* the run's file keys, sorted: a bsearch per stored doc */
    fd_buf keys; /* NUL-separated keys to delete */
    /* A CSV's rows share their source, and come in key order: the last
     * source's verdict saves a realpath() per row. */
    char *last_source;
    int last_gone;
} vanish_ctx;

/* Whether a stored document's source lies in folder f: under its key
 * prefix, or (an older key of the same file, typed another way) a path
 * that resolves inside its real path or starts with it as typed. */
static int source_in(const folder *f, const char *source)
{
    size_t n = strlen(f->canon);
    if (strncmp(source, f->canon, n) == 0 && source[n] == '/')
        return 1;
    char real[4096];
    const char *hit = NULL;
    if (realpath(source, real))
        hit = real;
    size_t rn = strlen(f->real), tn = strlen(f->typed);
    if (hit && strncmp(hit, f->real, rn) == 0 && hit[rn] == '/')
        return 1;
    if (strncmp(source, f->real, rn) == 0 && source[rn] == '/')
        return 1;
    return strncmp(source, f->typed, tn) == 0 && source[tn] == '/';
}

static int note_vanished(void *ctx, const fd_doc_row *doc)
{
    vanish_ctx *v = ctx;
    if (!doc->source)
        return 0;
    if (!v->last_source || strcmp(v->last_source, doc->source) != 0) {
        const char *src = doc->source;
        int gone = 0;
        if (!bsearch(&src, v->seen, v->r->keys.n, sizeof *v->seen, name_cmp))
            for (size_t i = 0; i < v->r->n_folders && !gone; i++)
                gone = source_in(&v->r->folders[i], doc->source);
        fd_free(v->last_source);
        v->last_source = fd_strdup(doc->source);
        if (!v->last_source)
            return FD_ENOMEM;
        v->last_gone = gone;
    }
    return v->last_gone ? fd_buf_append(&v->keys, doc->key, strlen(doc->key) + 1) : 0;
}

/* Documents of the folders given whose file is no longer there (or that
 * sit under another key of a file that is): deleted with the run. */
static int remove_vanished(ingest_run *r)
{
    if (r->n_folders == 0 || (r->opts && r->opts->key_root))
        return FD_OK;
    vanish_ctx v = {r, NULL, {0}, NULL, 0};
    fd_buf_init(&v.keys, 0);
    v.seen = fd_malloc((r->keys.n + 1) * sizeof *v.seen);
    if (!v.seen)
        return fd_err_set(r->err, FD_ENOMEM, "out of memory");
    if (r->keys.n)
        memcpy(v.seen, r->keys.v, r->keys.n * sizeof *v.seen);
    qsort(v.seen, r->keys.n, sizeof *v.seen, name_cmp);
    int rc = fd_store_docs_each(r->kb->store, note_vanished, &v, r->err);
    if (rc == FD_ENOMEM)
        rc = fd_err_set(r->err, FD_ENOMEM, "out of memory");
    for (size_t off = 0; !rc && off < v.keys.len; off += strlen(v.keys.p + off) + 1) {
        rc = fd_store_doc_delete(r->kb->store, v.keys.p + off, r->err);
        if (rc == FD_ENOTFOUND)
            rc = FD_OK;
        else if (!rc)
            r->rep->removed++;
    }
    fd_buf_free(&v.keys);
    fd_free(v.seen);
    fd_free(v.last_source);
    return rc;
}

static int run_files(ingest_run *r, file_list *files)
{
    fd_kb *kb = r->kb;
    int64_t version = 0;
    int rc = fd_store_kb_version(kb->store, &version, r->err);
    int behind = !rc && version > 0 && fd_kb_loaded_version(kb) != version;
    if (rc)
        return rc;
    r->next_version = version + 1;
    /* All or nothing anyway: on PostgreSQL a document's chunks go out with
     * the next statement that needs an answer (one round trip per document,
     * not per chunk); a failed one fails the ingest a statement later. */
    fd_store_defer_writes(kb->store, 1);
    rc = fd_store_begin(kb->store, r->err);
    for (size_t i = 0; i < files->n && !rc; i++) {
        rc = ingest_file(r, files->v[i], r->keys.v[i]);
        if (r->opts && r->opts->on_progress)
            r->opts->on_progress(r->opts->ctx, i + 1, files->n, files->v[i]);
    }
    if (!rc)
        rc = remove_vanished(r);
    if (!rc)
        rc = store_assets(r);
    fd_kb_ingest_report *rep = r->rep;
    int docs_changed = rep->added || rep->changed || rep->removed;
    int changed = docs_changed || rep->assets_changed;
    if (!rc && changed) {
        char note[200];
        snprintf(note, sizeof note,
                 "ingest: %zu added, %zu changed, %zu removed, %zu assets changed", rep->added,
                 rep->changed, rep->removed, rep->assets_changed);
        rc = fd_store_kb_bump(kb->store, note, &rep->kb_version, r->err);
    }
    if (!rc)
        rc = fd_store_commit(kb->store, r->err);
    fd_store_defer_writes(kb->store, 0);
    if (rc) {
        fd_store_rollback(kb->store);
        return rc;
    }
    if (!changed)
        rep->kb_version = version;
    /* An earlier run may have stored its documents and then failed to
     * build the index (out of memory, disk full): the index is behind the
     * store, and this run, the retry, must bring it up to date even if it
     * changes nothing itself (issue 17: an upload retried after a failed
     * index write stayed unsearchable). Otherwise an asset-only change
     * bumps the version (answers may change) but the index has nothing new
     * to say. */
    if (!docs_changed && !behind)
        return FD_OK;
    rc = kb_index_build(kb, r->err);
    if (rc && rc != FD_EINVAL) {
        /* The documents are committed: say so, and how to finish. */
        fd_err e = *r->err;
        fd_err_set(r->err, rc,
                   "the documents are stored (knowledge-base version %lld) but the index was "
                   "not rebuilt: %s; ingest again or run 'frontdesk reindex'",
                   (long long)rep->kb_version, e.msg[0] ? e.msg : "out of memory");
    }
    return rc;
}

int fd_kb_ingest(fd_kb *kb, const char *const *paths, size_t n_paths, const fd_kb_ingest_opts *opts,
                 fd_kb_ingest_report *rep, fd_err *err)
{
    uint64_t t0 = fd_time_ns();
    memset(rep, 0, sizeof *rep);
    int rc = check_paths(paths, n_paths, err);
    if (rc)
        return rc;
    ingest_run r;
    memset(&r, 0, sizeof r);
    r.kb = kb;
    r.opts = opts;
    r.rep = rep;
    r.err = err;
    r.a = fd_arena_new((size_t)2 << 30);
    r.work = fd_arena_new((size_t)256 << 20);
    file_list files = {0};
    r.folders = fd_calloc(n_paths + 1, sizeof *r.folders);
    if (!r.a || !r.work || !r.folders)
        rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    if (!rc)
        rc = expand(&r, paths, n_paths, &files);
    if (!rc)
        rc = run_files(&r, &files);
    list_free(&files);
    list_free(&r.keys);
    fd_free(r.folders);
    for (size_t i = 0; i < sizeof asset_names / sizeof asset_names[0]; i++)
        fd_free(r.assets[i]);
    fd_free(r.docs);
    fd_arena_free(r.a);
    fd_arena_free(r.work);
    rep->seconds = (double)(fd_time_ns() - t0) / 1e9;
    return rc;
}
