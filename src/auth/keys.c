/* keys.c: API keys: creation from the system's randomness, verification
 * by SHA-256 in constant time, expiry, revocation and rotation with an
 * overlap. The store holds rows (store/keys.c); the policy is here. */
#include "auth_int.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define KEY_TAG "fdk_"
#define KEY_TAG_LEN 4
#define KEY_RAW_BYTES 32

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t auth_base64url(const unsigned char *p, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int auth_key_wellformed(const char *key)
{
    if (!key || strncmp(key, KEY_TAG, KEY_TAG_LEN) != 0)
        return 0;
    for (int i = KEY_TAG_LEN; i < FD_KEY_LEN; i++)
        if (!is_b64url(key[i]))
            return 0; /* also stops at a NUL: too short */
    return key[FD_KEY_LEN] == '\0';
}

int auth_random_bytes(unsigned char *p, size_t n, fd_err *err)
{
    if (FD_FAULT("auth.getrandom"))
        return fd_err_set(err, FD_EIO, "getrandom: injected fault auth.getrandom");
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return fd_err_set(err, FD_EIO, "getrandom: %s", strerror(errno));
        }
        got += (size_t)r;
    }
    return FD_OK;
}

_Static_assert(sizeof(((fd_key_row *)0)->name) == sizeof(((fd_key_info *)0)->name),
               "names are copied whole");
_Static_assert(sizeof(((fd_key_row *)0)->prefix) > FD_KEY_PREFIX_LEN, "prefix fits the row");

static void info_from_row(const fd_key_row *r, fd_key_info *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    info->id = r->id;
    /* Both fit: the store's buffers are the same size or the prefix is
     * always FD_KEY_PREFIX_LEN; cut rather than overflow if not. */
    memcpy(info->prefix, r->prefix, sizeof info->prefix - 1);
    info->prefix[sizeof info->prefix - 1] = '\0';
    memcpy(info->name, r->name, sizeof info->name - 1);
    info->name[sizeof info->name - 1] = '\0';
    info->scopes = (unsigned)(r->scopes & AUTH_SCOPES_ALL);
    info->created_at = r->created_at;
    info->expires_at = r->expires_at;
    info->revoked_at = r->revoked_at;
    info->rotated_to = r->rotated_to;
    info->last_used_at = r->last_used_at;
    info->valid_until = r->valid_until;
}

/* A fresh secret into key_out and its row (hash, prefix, ...) inserted. */
static int insert_new(fd_store *st, const char *name, unsigned scopes, double now,
                      double expires_at, char key_out[FD_KEY_LEN + 1], fd_key_info *info,
                      fd_err *err)
{
    unsigned char raw[KEY_RAW_BYTES];
    int rc = auth_random_bytes(raw, sizeof raw, err);
    if (rc)
        return rc;
    memcpy(key_out, KEY_TAG, KEY_TAG_LEN);
    size_t n = auth_base64url(raw, sizeof raw, key_out + KEY_TAG_LEN);
    explicit_bzero(raw, sizeof raw);
    assert(KEY_TAG_LEN + n == FD_KEY_LEN);
    (void)n;
    fd_key_row row;
    memset(&row, 0, sizeof row);
    fd_sha256_hex(key_out, FD_KEY_LEN, row.hash);
    memcpy(row.prefix, key_out, FD_KEY_PREFIX_LEN);
    snprintf(row.name, sizeof row.name, "%s", name ? name : "");
    row.scopes = scopes;
    row.created_at = now;
    row.expires_at = expires_at;
    rc = fd_store_key_add(st, &row, &row.id, err);
    if (rc) {
        explicit_bzero(key_out, FD_KEY_LEN + 1);
        return rc;
    }
    info_from_row(&row, info);
    return FD_OK;
}

int fd_keys_create(fd_store *st, const char *name, unsigned scopes, double ttl_s,
                   char key_out[FD_KEY_LEN + 1], fd_key_info *info, fd_err *err)
{
    key_out[0] = '\0';
    if (!scopes || (scopes & ~(unsigned)AUTH_SCOPES_ALL))
        return fd_err_set_field(err, FD_EINVAL, "scopes", "a key needs known scopes, got 0x%x",
                                scopes);
    fd_key_info probe;
    if (name && strlen(name) >= sizeof probe.name)
        return fd_err_set_field(err, FD_EINVAL, "name", "key name longer than %zu bytes",
                                sizeof probe.name - 1);
    if (!isfinite(ttl_s) || ttl_s < 0)
        return fd_err_set_field(err, FD_EINVAL, "ttl", "key lifetime must be >= 0 seconds");
    double now = fd_time_wall();
    return insert_new(st, name, scopes, now, ttl_s > 0 ? now + ttl_s : 0, key_out, info, err);
}

/* Every refusal looks the same to the caller: FD_ENOTFOUND; the reason is
 * only in err->msg, for the log. */
static int refuse(fd_err *err, const char *why, const char *prefix)
{
    return fd_err_set(err, FD_ENOTFOUND, "API key refused: %s%s%s", why, prefix ? ": " : "",
                      prefix ? prefix : "");
}

int fd_keys_verify(fd_store *st, const char *key, double now, fd_key_info *info, fd_err *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (!auth_key_wellformed(key))
        return refuse(err, "malformed", NULL);
    char shown[FD_KEY_PREFIX_LEN + 1];
    memcpy(shown, key, FD_KEY_PREFIX_LEN);
    shown[FD_KEY_PREFIX_LEN] = '\0';
    char hash[65];
    fd_sha256_hex(key, FD_KEY_LEN, hash);
    fd_key_row row;
    fd_err serr = {0};
    int rc = fd_store_key_by_hash(st, hash, &row, &serr);
    if (rc == FD_ENOTFOUND)
        return refuse(err, "unknown key", shown);
    if (rc) {
        /* The store failed: not a refusal, the caller answers 503. */
        if (err)
            *err = serr;
        return rc;
    }
    /* The lookup already matched the hash; comparing again in constant time
     * costs nothing and keeps this safe should the lookup ever change
     * (a prefix index, a cache, a case-insensitive collation). */
    if (strlen(row.hash) != 64 || CRYPTO_memcmp(row.hash, hash, 64) != 0)
        return refuse(err, "unknown key", shown);
    if (row.revoked_at > 0)
        return refuse(err, "revoked", row.prefix);
    if (row.expires_at > 0 && now >= row.expires_at)
        return refuse(err, "expired", row.prefix);
    if (row.valid_until > 0 && now >= row.valid_until)
        return refuse(err, "rotated and past its overlap", row.prefix);
    if (now - row.last_used_at >= AUTH_TOUCH_INTERVAL_S) {
        /* Best effort: a failed bookkeeping write must not refuse a valid
         * key. The SQL guard makes racing verifiers write only once. */
        int written = 0;
        int trc = fd_store_key_touch(st, row.id, now, now - AUTH_TOUCH_INTERVAL_S, &written, NULL);
        if (!trc && written)
            row.last_used_at = now;
    }
    info_from_row(&row, info);
    return FD_OK;
}

typedef struct list_ctx {
    int (*cb)(void *ctx, const fd_key_info *k);
    void *ctx;
} list_ctx;

static int list_one(void *ctx, const fd_key_row *r)
{
    list_ctx *l = ctx;
    fd_key_info info;
    info_from_row(r, &info);
    return l->cb(l->ctx, &info);
}

int fd_keys_list(fd_store *st, int (*cb)(void *ctx, const fd_key_info *k), void *ctx, fd_err *err)
{
    list_ctx l = {cb, ctx};
    return fd_store_keys_each(st, list_one, &l, err);
}

/* "12" -> by id; "fdk_AbCd1234" -> by prefix (must name one key); a whole
 * key -> by hash (to revoke a leaked key found in a log). */
static int resolve(fd_store *st, const char *arg, fd_key_row *row, fd_err *err)
{
    if (!arg || !*arg)
        return fd_err_set_field(err, FD_EINVAL, "key", "no key id or prefix given");
    size_t len = strlen(arg);
    if (strspn(arg, "0123456789") == len && len <= 18) {
        int64_t id = strtoll(arg, NULL, 10);
        int rc = fd_store_key_by_id(st, id, row, err);
        if (rc == FD_ENOTFOUND)
            return fd_err_set_field(err, FD_ENOTFOUND, "key", "no key with id %s", arg);
        return rc;
    }
    if (len == FD_KEY_LEN && auth_key_wellformed(arg)) {
        char hash[65];
        fd_sha256_hex(arg, FD_KEY_LEN, hash);
        int rc = fd_store_key_by_hash(st, hash, row, err);
        if (rc == FD_ENOTFOUND)
            return fd_err_set_field(err, FD_ENOTFOUND, "key", "no such key");
        return rc;
    }
    if (len != FD_KEY_PREFIX_LEN || strncmp(arg, KEY_TAG, KEY_TAG_LEN) != 0 ||
        strspn(arg + KEY_TAG_LEN, b64url) != FD_KEY_PREFIX_LEN - KEY_TAG_LEN)
        return fd_err_set_field(err, FD_EINVAL, "key",
                                "'%.60s' is neither a key id nor a prefix like fdk_AbCd1234", arg);
    int n = 0;
    int rc = fd_store_key_by_prefix(st, arg, row, &n, err);
    if (rc == FD_ENOTFOUND)
        return fd_err_set_field(err, FD_ENOTFOUND, "key", "no key with prefix %s", arg);
    if (!rc && n > 1)
        return fd_err_set_field(err, FD_ECONFLICT, "key",
                                "prefix %s names several keys; use the id (see 'keys list')", arg);
    return rc;
}

int fd_keys_revoke(fd_store *st, const char *id_or_prefix, fd_err *err)
{
    fd_key_row row;
    int rc = resolve(st, id_or_prefix, &row, err);
    if (!rc)
        rc = fd_store_key_revoke(st, row.id, fd_time_wall(), err);
    return rc;
}

int fd_keys_rotate(fd_store *st, const char *id_or_prefix, double overlap_s,
                   char key_out[FD_KEY_LEN + 1], fd_key_info *info, fd_err *err)
{
    key_out[0] = '\0';
    if (!isfinite(overlap_s) || overlap_s < 0)
        return fd_err_set_field(err, FD_EINVAL, "overlap", "overlap must be >= 0 seconds");
    fd_key_row old;
    int rc = resolve(st, id_or_prefix, &old, err);
    if (rc)
        return rc;
    double now = fd_time_wall();
    if (old.revoked_at > 0)
        return fd_err_set(err, FD_ECONFLICT, "key %lld is revoked", (long long)old.id);
    if (old.rotated_to)
        return fd_err_set(err, FD_ECONFLICT, "key %lld was already rotated to key %lld",
                          (long long)old.id, (long long)old.rotated_to);
    if (old.expires_at > 0 && now >= old.expires_at)
        return fd_err_set(err, FD_ECONFLICT, "key %lld has expired; create a new one",
                          (long long)old.id);
    double expires_at = old.expires_at > 0 ? now + (old.expires_at - old.created_at) : 0;
    fd_key_info fresh;
    rc = fd_store_begin(st, err);
    if (rc)
        return rc;
    rc = insert_new(st, old.name, (unsigned)(old.scopes & AUTH_SCOPES_ALL), now, expires_at,
                    key_out, &fresh, err);
    if (!rc)
        rc = fd_store_key_rotate(st, old.id, fresh.id, now + overlap_s, err);
    if (!rc)
        rc = fd_store_commit(st, err);
    if (rc) {
        fd_store_rollback(st);
        explicit_bzero(key_out, FD_KEY_LEN + 1);
        return rc;
    }
    if (info)
        *info = fresh;
    return FD_OK;
}
