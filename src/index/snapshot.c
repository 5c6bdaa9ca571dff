/* snapshot.c: the index snapshot file: a header, 64-byte aligned sections and
 * a section table at the end; written to path.tmp and renamed into place, read
 * back through a read-only private mmap so sections are used in place. */
#include "index.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* File layout (little-endian; version 1):
 *   [0, 64)            header (snap_hdr)
 *   [64, table_off)    sections, each starting on a 64-byte boundary so a
 *                      section can hold SIMD-aligned arrays used in place
 *   [table_off, size)  n_sections snap_entry records, table_off 64-aligned
 *
 * Integrity: open checks magic, version, the exact file size, a CRC-32 over
 * the header and the table, and that every section lies inside the file
 * without overlap. It does not hash the sections: a 40 MB snapshot would cost
 * ~20 ms of reading at every start, and mmap would lose its point (pages are
 * faulted in lazily). Each entry still carries a 64-bit hash of its bytes,
 * checked by fd_snap_verify() (doctor, tests) when the cost is acceptable;
 * section readers bound-check what they use, so a corrupt payload gives
 * wrong answers or FD_EFORMAT, never a crash. */

#define SNAP_MAGIC "FDSNAP01"
#define SNAP_VERSION 1u
#define SNAP_ALIGN 64u
#define SNAP_MAX 32u /* five tags exist; room to grow without a format change */

typedef struct snap_hdr {
    char magic[8];
    uint32_t version;
    uint32_t n_sections;
    uint64_t file_size;
    uint64_t table_off;
    uint32_t crc; /* CRC-32 of bytes [0, 32) of the header, then the table */
    uint32_t reserved;
    uint8_t pad[24];
} snap_hdr;

typedef struct snap_entry {
    uint32_t tag;
    uint32_t flags; /* 0; reserved */
    uint64_t off;
    uint64_t len;
    uint64_t hash; /* sec_hash() of the section bytes */
} snap_entry;

_Static_assert(sizeof(snap_hdr) == SNAP_ALIGN, "header is one aligned unit");
_Static_assert(sizeof(snap_entry) == 32, "entry layout is part of the format");

struct fd_snap_writer {
    int fd;
    uint64_t off; /* bytes written so far */
    uint32_t n;
    snap_entry tab[SNAP_MAX];
    char *path;
    char *tmp;
};

struct fd_snap {
    const uint8_t *base;
    size_t size;
    uint32_t n;
    snap_entry tab[SNAP_MAX];
};

static const uint8_t zeros[SNAP_ALIGN];

/* Bitwise CRC-32 (IEEE): only the header and table (< 2 KB) go through it. */
static uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *s = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t table_crc(const snap_hdr *h, const snap_entry *tab, uint32_t n)
{
    uint32_t c = crc32_update(0, h, offsetof(snap_hdr, crc));
    return crc32_update(c, tab, (size_t)n * sizeof *tab);
}

/* 8 bytes per step with a multiply-rotate mix: ~2 GB/s, enough to catch
 * bit rot and torn copies; not a cryptographic digest. */
static uint64_t sec_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h ^= w * 0xbf58476d1ce4e5b9ull;
        h = ((h << 27) | (h >> 37)) * 0x94d049bb133111ebull;
    }
    uint64_t t = 0;
    if (n > i)
        memcpy(&t, p + i, n - i);
    h ^= t * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* ---- writer ---------------------------------------------------------------- */

static int write_all(fd_snap_writer *w, const void *p, size_t n, fd_err *err)
{
    const uint8_t *s = p;
    if (FD_FAULT("snap.write"))
        return fd_err_set(err, FD_EIO, "write %s: injected fault", w->tmp);
    while (n > 0) {
        ssize_t k = write(w->fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return fd_err_set(err, FD_EIO, "write %s: %s", w->tmp, strerror(errno));
        s += k;
        n -= (size_t)k;
        w->off += (uint64_t)k;
    }
    return FD_OK;
}

static int pad_to_align(fd_snap_writer *w, fd_err *err)
{
    size_t pad = (size_t)((SNAP_ALIGN - w->off % SNAP_ALIGN) % SNAP_ALIGN);
    return pad ? write_all(w, zeros, pad, err) : FD_OK;
}

int fd_snap_writer_new(const char *path, fd_snap_writer **out, fd_err *err)
{
    *out = NULL;
    if (!path || !*path)
        return fd_err_set(err, FD_EINVAL, "snapshot path is empty");
    fd_snap_writer *w = fd_calloc(1, sizeof *w);
    if (!w)
        return fd_err_set(err, FD_ENOMEM, "snapshot writer");
    w->fd = -1;
    size_t n = strlen(path);
    w->path = fd_strdup(path);
    w->tmp = fd_malloc(n + 5);
    if (!w->path || !w->tmp) {
        fd_snap_writer_abort(w);
        return fd_err_set(err, FD_ENOMEM, "snapshot writer");
    }
    memcpy(w->tmp, path, n);
    memcpy(w->tmp + n, ".tmp", 5);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int rc = fd_err_set(err, FD_EIO, "open %s: %s", w->tmp, strerror(errno));
        fd_snap_writer_abort(w);
        return rc;
    }
    /* The header is written last, once the table position is known. */
    int rc = write_all(w, zeros, sizeof(snap_hdr), err);
    if (rc) {
        fd_snap_writer_abort(w);
        return rc;
    }
    *out = w;
    return FD_OK;
}

int fd_snap_writer_add(fd_snap_writer *w, uint32_t tag, const void *p, size_t len, fd_err *err)
{
    if (!w || (!p && len))
        return fd_err_set(err, FD_EINVAL, "snapshot section: bad argument");
    for (uint32_t i = 0; i < w->n; i++)
        if (w->tab[i].tag == tag)
            return fd_err_set(err, FD_EINVAL, "snapshot section %u added twice", tag);
    if (w->n == SNAP_MAX)
        return fd_err_set(err, FD_ETOOBIG, "snapshot: more than %u sections", SNAP_MAX);
    int rc = pad_to_align(w, err);
    if (rc)
        return rc;
    snap_entry e = {.tag = tag, .off = w->off, .len = len, .hash = sec_hash(p, len)};
    rc = len ? write_all(w, p, len, err) : FD_OK;
    if (rc)
        return rc;
    w->tab[w->n++] = e;
    return FD_OK;
}

/* Makes the rename itself durable; a failure to open the directory (some
 * file systems refuse) is not an error, a failed fsync is. */
static int sync_parent_dir(const char *path, fd_err *err)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return FD_OK;
    int rc = fsync(fd) == 0 ? FD_OK : fd_err_set(err, FD_EIO, "fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static int write_table_and_header(fd_snap_writer *w, fd_err *err)
{
    int rc = pad_to_align(w, err);
    if (rc)
        return rc;
    snap_hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, SNAP_MAGIC, 8);
    h.version = SNAP_VERSION;
    h.n_sections = w->n;
    h.table_off = w->off;
    h.file_size = w->off + (uint64_t)w->n * sizeof(snap_entry);
    h.crc = table_crc(&h, w->tab, w->n);
    rc = write_all(w, w->tab, (size_t)w->n * sizeof(snap_entry), err);
    if (rc)
        return rc;
    if (pwrite(w->fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        return fd_err_set(err, FD_EIO, "write %s: %s", w->tmp, strerror(errno));
    return FD_OK;
}

int fd_snap_writer_finish(fd_snap_writer *w, fd_err *err)
{
    if (!w)
        return fd_err_set(err, FD_EINVAL, "snapshot writer is NULL");
    int rc = write_table_and_header(w, err);
    /* fsync before rename: otherwise a crash can leave the new name pointing
     * at a file whose blocks never reached the disk. */
    if (!rc && (FD_FAULT("snap.fsync") || fsync(w->fd) != 0))
        rc = fd_err_set(err, FD_EIO, "fsync %s: %s", w->tmp, strerror(errno));
    if (!rc) {
        int c = close(w->fd);
        w->fd = -1;
        if (c != 0)
            rc = fd_err_set(err, FD_EIO, "close %s: %s", w->tmp, strerror(errno));
    }
    if (!rc && rename(w->tmp, w->path) != 0)
        rc = fd_err_set(err, FD_EIO, "rename %s: %s", w->tmp, strerror(errno));
    if (!rc)
        rc = sync_parent_dir(w->path, err);
    if (rc) {
        fd_snap_writer_abort(w);
        return rc;
    }
    fd_free(w->path);
    fd_free(w->tmp);
    fd_free(w);
    return FD_OK;
}

void fd_snap_writer_abort(fd_snap_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp)
        unlink(w->tmp);
    fd_free(w->path);
    fd_free(w->tmp);
    fd_free(w);
}

/* ---- reader ---------------------------------------------------------------- */

static int check_table(const snap_hdr *h, const snap_entry *tab, fd_err *err)
{
    uint64_t end = SNAP_ALIGN;
    for (uint32_t i = 0; i < h->n_sections; i++) {
        const snap_entry *e = &tab[i];
        if (e->off % SNAP_ALIGN || e->off < end || e->off > h->table_off ||
            e->len > h->table_off - e->off)
            return fd_err_set(err, FD_EFORMAT, "snapshot: section %u out of bounds", e->tag);
        for (uint32_t j = 0; j < i; j++)
            if (tab[j].tag == e->tag)
                return fd_err_set(err, FD_EFORMAT, "snapshot: section %u twice", e->tag);
        end = e->off + e->len;
    }
    return FD_OK;
}

/* Everything but the section payloads; see the integrity note above. */
static int check_header(const uint8_t *base, size_t size, snap_hdr *h, fd_err *err)
{
    if (size < sizeof *h)
        return fd_err_set(err, FD_EFORMAT, "snapshot: %zu bytes, too short", size);
    memcpy(h, base, sizeof *h);
    if (memcmp(h->magic, SNAP_MAGIC, 8) != 0)
        return fd_err_set(err, FD_EFORMAT, "snapshot: bad magic");
    if (h->version != SNAP_VERSION)
        return fd_err_set(err, FD_EFORMAT, "snapshot: version %u, want %u", h->version,
                          SNAP_VERSION);
    if (h->file_size != size)
        return fd_err_set(err, FD_EFORMAT, "snapshot: %zu bytes, header says %llu (truncated?)",
                          size, (unsigned long long)h->file_size);
    if (h->n_sections > SNAP_MAX || h->table_off % SNAP_ALIGN || h->table_off < sizeof *h ||
        h->table_off > size || (size - h->table_off) != h->n_sections * sizeof(snap_entry))
        return fd_err_set(err, FD_EFORMAT, "snapshot: bad section table");
    const snap_entry *tab = (const snap_entry *)(base + h->table_off);
    if (table_crc(h, tab, h->n_sections) != h->crc)
        return fd_err_set(err, FD_EFORMAT, "snapshot: header checksum mismatch");
    return check_table(h, tab, err);
}

int fd_snap_open(const char *path, fd_snap **out, fd_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fd_err_set(err, errno == ENOENT ? FD_ENOTFOUND : FD_EIO, "open %s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = fd_err_set(err, FD_EIO, "stat %s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    size_t size = (size_t)st.st_size;
    if (size < sizeof(snap_hdr)) {
        close(fd);
        return fd_err_set(err, FD_EFORMAT, "snapshot %s: %zu bytes, too short", path, size);
    }
    /* MAP_PRIVATE + PROT_READ: the bytes cannot be changed through us, and a
     * rename over the path by the next writer leaves this mapping intact. */
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return fd_err_set(err, FD_EIO, "mmap %s: %s", path, strerror(errno));
    fd_snap *s = fd_calloc(1, sizeof *s);
    snap_hdr h;
    int rc = s ? check_header(map, size, &h, err) : fd_err_set(err, FD_ENOMEM, "snapshot");
    if (rc) {
        munmap(map, size);
        fd_free(s);
        return rc;
    }
    s->base = map;
    s->size = size;
    s->n = h.n_sections;
    memcpy(s->tab, s->base + h.table_off, (size_t)s->n * sizeof(snap_entry));
    *out = s;
    return FD_OK;
}

void fd_snap_close(fd_snap *s)
{
    if (!s)
        return;
    munmap((void *)s->base, s->size);
    fd_free(s);
}

int fd_snap_section(const fd_snap *s, uint32_t tag, const void **p, size_t *len)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->tab[i].tag == tag) {
            *p = s->base + s->tab[i].off;
            *len = (size_t)s->tab[i].len;
            return FD_OK;
        }
    }
    *p = NULL;
    *len = 0;
    return FD_ENOTFOUND;
}

size_t fd_snap_size(const fd_snap *s)
{
    return s->size;
}

int fd_snap_verify(const fd_snap *s, fd_err *err)
{
    for (uint32_t i = 0; i < s->n; i++) {
        const snap_entry *e = &s->tab[i];
        if (sec_hash(s->base + e->off, (size_t)e->len) != e->hash)
            return fd_err_set(err, FD_EFORMAT, "snapshot: section %u checksum mismatch", e->tag);
    }
    return FD_OK;
}
