/* tz.c: IANA time zones from the system's compiled zoneinfo (TZif files,
 * RFC 8536; Debian's tzdata). Read once into a table of transitions, then
 * looked up by binary search: no TZ environment variable, no localtime(),
 * so any thread may ask about any zone. Debian ships "fat" files with
 * every transition up to 2037; after the last one the last offset holds
 * (the POSIX rule in the file's footer is not evaluated). */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define TZ_MAX_FILE (1 << 20)

struct fd_tz {
    int64_t *at;      /* transition times, UTC seconds, ascending */
    int32_t *off_at;  /* the offset from each transition on */
    size_t n;
    int32_t off_before; /* before the first transition: the first standard-time type */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A zone name as IANA writes them ("Europe/London", "Etc/GMT+5"): no
 * absolute path, no "..", nothing that could leave the zoneinfo folder. */
static int name_ok(const char *name)
{
    if (!name[0] || name[0] == '/' || strlen(name) > 64 || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return 0;
    return 1;
}

int fd_tz_parse(const unsigned char *b, size_t len, fd_tz **out, fd_err *err)
{
    *out = NULL;
    if (len < 44 || memcmp(b, "TZif", 4) != 0)
        return fd_err_set(err, FD_EFORMAT, "not a compiled time zone (TZif) file");
    /* version 1 block: skipped when a 64-bit block follows (version >= 2) */
    size_t pos = 0;
    int wide = b[4] >= '2';
    for (int pass = 0; pass < 2; pass++) {
        if (len - pos < 44 || memcmp(b + pos, "TZif", 4) != 0)
            return fd_err_set(err, FD_EFORMAT, "time zone file: bad header");
        uint32_t isut = be32(b + pos + 20), isstd = be32(b + pos + 24), leap = be32(b + pos + 28),
                 timecnt = be32(b + pos + 32), typecnt = be32(b + pos + 36),
                 charcnt = be32(b + pos + 40);
        size_t tsz = pass ? 8 : 4;
        if (timecnt > 100000 || typecnt == 0 || typecnt > 256 || charcnt > 100000 ||
            leap > 100000 || isut > 256 || isstd > 256)
            return fd_err_set(err, FD_EFORMAT, "time zone file: implausible counts");
        size_t body = (size_t)timecnt * (tsz + 1) + (size_t)typecnt * 6 + charcnt +
                      (size_t)leap * (tsz + 4) + isstd + isut;
        pos += 44;
        if (len - pos < body)
            return fd_err_set(err, FD_EFORMAT, "time zone file: truncated");
        if (wide && pass == 0) {
            pos += body;
            continue;
        }
        const unsigned char *times = b + pos, *idx = times + (size_t)timecnt * tsz,
                            *types = idx + timecnt;
        fd_tz *tz = fd_calloc(1, sizeof *tz);
        if (!tz)
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        tz->at = fd_calloc(timecnt + 1, sizeof *tz->at);
        tz->off_at = fd_calloc(timecnt + 1, sizeof *tz->off_at);
        if (!tz->at || !tz->off_at) {
            fd_tz_free(tz);
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        }
        tz->off_before = (int32_t)be32(types); /* type 0 unless a standard one comes first */
        for (uint32_t t = 0; t < typecnt; t++)
            if (types[t * 6 + 4] == 0) {
                tz->off_before = (int32_t)be32(types + t * 6);
                break;
            }
        for (uint32_t i = 0; i < timecnt; i++) {
            if (idx[i] >= typecnt) {
                fd_tz_free(tz);
                return fd_err_set(err, FD_EFORMAT, "time zone file: bad type index");
            }
            tz->at[i] = pass ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
            tz->off_at[i] = (int32_t)be32(types + (size_t)idx[i] * 6);
            if (i && tz->at[i] <= tz->at[i - 1]) {
                fd_tz_free(tz);
                return fd_err_set(err, FD_EFORMAT, "time zone file: transitions out of order");
            }
        }
        tz->n = timecnt;
        if (!timecnt)
            tz->off_before = (int32_t)be32(types);
        *out = tz;
        return FD_OK;
    }
    return fd_err_set(err, FD_EFORMAT, "time zone file: no data");
}

int fd_tz_load(const char *name, fd_tz **out, fd_err *err)
{
    *out = NULL;
    if (!name || !name_ok(name))
        return fd_err_set(err, FD_EINVAL, "'%s' is not a time zone name (like Europe/London)",
                          name ? name : "");
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    char *p = NULL;
    size_t n = 0;
    fd_err ferr = {0};
    if (fd_file_read(path, TZ_MAX_FILE, &p, &n, &ferr) != FD_OK)
        return fd_err_set(err, FD_EINVAL, "unknown time zone '%s' (no %s: is tzdata installed?)",
                          name, path);
    int rc = fd_tz_parse((const unsigned char *)p, n, out, err);
    fd_free(p);
    return rc;
}

void fd_tz_free(fd_tz *tz)
{
    if (!tz)
        return;
    fd_free(tz->at);
    fd_free(tz->off_at);
    fd_free(tz);
}

int fd_tz_offset_s(const fd_tz *tz, int64_t utc)
{
    if (!tz->n || utc < tz->at[0])
        return tz->off_before;
    size_t lo = 0, hi = tz->n; /* the last transition at or before utc */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    return tz->off_at[lo];
}
