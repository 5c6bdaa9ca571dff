/* agents.c: agents as users with a login (issue 14): passwords hashed
 * with argon2id through libsodium's crypto_pwhash_str (salt and cost in
 * the string, so a later cost change verifies old hashes), sign-in
 * sessions as random bearer tokens of which only SHA-256 is stored (a
 * 256-bit token needs no slow hash), expiry and sign-out. The store holds
 * rows (store/agents.c); the policy is here. */
#include "auth_int.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define TOKEN_TAG "fda_"
#define TOKEN_TAG_LEN 4
#define TOKEN_RAW_BYTES 32
/* Sessions over (expired or signed out) for a day are deleted at the
 * agent's next sign-in: kept that long, a late request is refused as
 * "expired" rather than "unknown", which reads better in the log. */
#define PURGE_AFTER_S 86400.0

_Static_assert(crypto_pwhash_STRBYTES <= sizeof(((fd_agent_row *)0)->pw_hash),
               "a libsodium hash string fits the row");
_Static_assert(sizeof(((fd_agent_row *)0)->name) == sizeof(((fd_agent_info *)0)->name),
               "names are copied whole");
_Static_assert(sizeof(((fd_agent_row *)0)->display_name) ==
                   sizeof(((fd_agent_info *)0)->display_name),
               "display names are copied whole");

static int sodium_ready(fd_err *err)
{
    /* Thread-safe and idempotent; after the first call it only returns 1. */
    if (sodium_init() < 0)
        return fd_err_set(err, FD_EIO, "libsodium could not start");
    return FD_OK;
}

int fd_agent_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > FD_AGENT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

/* UTF-8 without control characters: a display name is shown to customers
 * and in the console as text. */
static int display_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FD_AGENT_DISPLAY_MAX)
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n || c < 0x20 || c == 0x7f)
            return 0;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80)
                return 0;
        if ((len == 2 && c < 0xC2) || (len == 4 && c > 0xF4))
            return 0; /* overlong, or past U+10FFFF */
        i += len;
    }
    return 1;
}

static int password_ok(const char *pw, fd_err *err)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < FD_AGENT_PASSWORD_MIN || n > FD_AGENT_PASSWORD_MAX)
        return fd_err_set_field(err, FD_EINVAL, "password", "a password must be %d to %d bytes",
                                FD_AGENT_PASSWORD_MIN, FD_AGENT_PASSWORD_MAX);
    return FD_OK;
}

/* argon2id at libsodium's "interactive" cost (64 MiB, 2 passes: ~0.1 s). */
static int hash_password(const char *pw, char out[crypto_pwhash_STRBYTES], fd_err *err)
{
    int rc = sodium_ready(err);
    if (rc)
        return rc;
    if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return fd_err_set(err, FD_ENOMEM, "no memory to hash the password");
    return FD_OK;
}

static void info_from_row(const fd_agent_row *r, fd_agent_info *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    info->id = r->id;
    memcpy(info->name, r->name, sizeof info->name);
    info->name[sizeof info->name - 1] = '\0';
    /* Customers always see a name: the login when no display name was set. */
    const char *d = r->display_name[0] ? r->display_name : r->name;
    snprintf(info->display_name, sizeof info->display_name, "%s", d);
    info->created_at = r->created_at;
    info->disabled_at = r->disabled_at;
    info->last_login_at = r->last_login_at;
}

int fd_agents_create(fd_store *st, const char *name, const char *display_name, const char *password,
                     fd_agent_info *info, fd_err *err)
{
    if (!fd_agent_name_ok(name))
        return fd_err_set_field(err, FD_EINVAL, "name",
                                "an agent name is 1 to %d lower-case letters, digits, '.', '_' or "
                                "'-', starting with a letter or digit",
                                FD_AGENT_NAME_MAX);
    if (display_name && display_name[0] && !display_ok(display_name))
        return fd_err_set_field(err, FD_EINVAL, "display_name",
                                "a display name is 1 to %d bytes of UTF-8 text without control "
                                "characters",
                                FD_AGENT_DISPLAY_MAX);
    int rc = password_ok(password, err);
    if (rc)
        return rc;
    fd_agent_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, "%s", name);
    snprintf(row.display_name, sizeof row.display_name, "%s", display_name ? display_name : "");
    rc = hash_password(password, row.pw_hash, err);
    if (rc)
        return rc;
    row.created_at = fd_time_wall();
    rc = fd_store_agent_add(st, &row, &row.id, err);
    if (!rc)
        info_from_row(&row, info);
    sodium_memzero(row.pw_hash, sizeof row.pw_hash);
    return rc;
}

int fd_agents_get(fd_store *st, const char *name, fd_agent_info *info, fd_err *err)
{
    fd_agent_row row;
    int rc = fd_store_agent_get(st, name, &row, err);
    if (!rc)
        info_from_row(&row, info);
    return rc;
}

typedef struct list_ctx {
    int (*cb)(void *ctx, const fd_agent_info *a);
    void *ctx;
} list_ctx;

static int list_each(void *ctx, const fd_agent_row *r)
{
    list_ctx *c = ctx;
    fd_agent_info info;
    info_from_row(r, &info);
    return c->cb(c->ctx, &info);
}

int fd_agents_list(fd_store *st, int (*cb)(void *ctx, const fd_agent_info *a), void *ctx,
                   fd_err *err)
{
    list_ctx c = {cb, ctx};
    return fd_store_agents_each(st, list_each, &c, err);
}

/* A change to an account and the end of its sessions, in one transaction:
 * a stolen session must not outlive the password change that answers it. */
static int change(fd_store *st, const char *name, const char *pw_hash, double disabled_at,
                  int end_sessions, fd_agent_info *info, fd_err *err)
{
    double now = fd_time_wall();
    fd_agent_row row;
    int rc = fd_store_begin(st, err);
    if (rc)
        return rc;
    rc = fd_store_agent_update(st, name, pw_hash, NULL, disabled_at, err);
    if (!rc)
        rc = fd_store_agent_get(st, name, &row, err);
    if (!rc && end_sessions)
        rc = fd_store_agent_sessions_end(st, row.id, now, now - PURGE_AFTER_S, NULL, err);
    if (!rc)
        rc = fd_store_commit(st, err);
    else
        fd_store_rollback(st);
    if (!rc)
        info_from_row(&row, info);
    return rc;
}

int fd_agents_set_password(fd_store *st, const char *name, const char *password,
                           fd_agent_info *info, fd_err *err)
{
    int rc = password_ok(password, err);
    char hash[crypto_pwhash_STRBYTES];
    if (!rc)
        rc = hash_password(password, hash, err);
    if (!rc)
        rc = change(st, name, hash, -1, 1, info, err);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

int fd_agents_set_disabled(fd_store *st, const char *name, int disabled, fd_agent_info *info,
                           fd_err *err)
{
    fd_agent_row row;
    int rc = fd_store_agent_get(st, name, &row, err);
    if (rc)
        return rc;
    /* Disabling twice keeps the first time, as revoking a key does. */
    double at = disabled ? (row.disabled_at > 0 ? row.disabled_at : fd_time_wall()) : 0;
    return change(st, name, NULL, at, disabled, info, err);
}

/* ---- signing in --------------------------------------------------------------- */

/* A hash of a password nobody knows, verified against when the name is
 * unknown: a wrong name then costs what a wrong password costs, so the
 * time of a refusal does not tell which names exist. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];

static void make_dummy(void)
{
    unsigned char raw[16];
    char pw[sizeof raw * 2 + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(pw, sizeof pw, raw, sizeof raw);
    if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0'; /* out of memory: the refusal is only faster */
}

static void burn_time(const char *password)
{
    pthread_once(&dummy_once, make_dummy);
    /* The outcome does not matter, only the time spent. */
    if (dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0)
        return;
}

int fd_agent_token_shaped(const char *s)
{
    return s && strncmp(s, TOKEN_TAG, TOKEN_TAG_LEN) == 0;
}

static int token_wellformed(const char *t)
{
    if (!fd_agent_token_shaped(t))
        return 0;
    for (int i = TOKEN_TAG_LEN; i < FD_AGENT_TOKEN_LEN; i++) {
        char c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0; /* also stops at a NUL: too short */
    }
    return t[FD_AGENT_TOKEN_LEN] == '\0';
}

int fd_agents_login(fd_store *st, const char *name, const char *password, double ttl_s, double now,
                    char token_out[FD_AGENT_TOKEN_LEN + 1], fd_agent_info *info, fd_err *err)
{
    token_out[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    if (!(ttl_s > 0))
        return fd_err_set_field(err, FD_EINVAL, "ttl", "a session lifetime must be positive");
    int rc = sodium_ready(err);
    if (rc)
        return rc;
    if (!password || strlen(password) > FD_AGENT_PASSWORD_MAX)
        return fd_err_set(err, FD_ENOTFOUND, "refused: no or too long password");
    fd_agent_row row;
    rc = fd_agent_name_ok(name) ? fd_store_agent_get(st, name, &row, err) : FD_ENOTFOUND;
    if (rc == FD_ENOTFOUND) {
        burn_time(password);
        return fd_err_set(err, FD_ENOTFOUND, "refused: no agent of that name");
    }
    if (rc)
        return rc; /* the store failed: not a refusal */
    int match = crypto_pwhash_str_verify(row.pw_hash, password, strlen(password)) == 0;
    sodium_memzero(row.pw_hash, sizeof row.pw_hash);
    if (!match)
        return fd_err_set(err, FD_ENOTFOUND, "refused: wrong password for agent %s", row.name);
    if (row.disabled_at > 0)
        return fd_err_set(err, FD_ENOTFOUND, "refused: agent %s is disabled", row.name);

    unsigned char raw[TOKEN_RAW_BYTES];
    rc = auth_random_bytes(raw, sizeof raw, err);
    if (rc)
        return rc;
    char token[FD_AGENT_TOKEN_LEN + 1];
    memcpy(token, TOKEN_TAG, TOKEN_TAG_LEN);
    size_t n = auth_base64url(raw, sizeof raw, token + TOKEN_TAG_LEN);
    sodium_memzero(raw, sizeof raw);
    assert(TOKEN_TAG_LEN + n == FD_AGENT_TOKEN_LEN);
    (void)n;
    fd_agent_session_row s;
    memset(&s, 0, sizeof s);
    s.agent_id = row.id;
    fd_sha256_hex(token, FD_AGENT_TOKEN_LEN, s.token_hash);
    memcpy(s.prefix, token, FD_KEY_PREFIX_LEN);
    s.created_at = now;
    s.expires_at = now + ttl_s;
    rc = fd_store_begin(st, err);
    if (!rc)
        rc = fd_store_agent_session_add(st, &s, &s.id, err);
    if (!rc)
        rc = fd_store_agent_touch_login(st, row.id, now, err);
    if (!rc)
        rc = fd_store_agent_sessions_end(st, row.id, 0, now - PURGE_AFTER_S, NULL, err);
    if (!rc)
        rc = fd_store_commit(st, err);
    else
        fd_store_rollback(st);
    if (rc) {
        sodium_memzero(token, sizeof token);
        return rc;
    }
    row.last_login_at = now;
    if (info) {
        info_from_row(&row, info);
        info->session_id = s.id;
        memcpy(info->prefix, s.prefix, FD_KEY_PREFIX_LEN);
        info->expires_at = s.expires_at;
    }
    memcpy(token_out, token, sizeof token);
    sodium_memzero(token, sizeof token);
    return FD_OK;
}

int fd_agents_verify(fd_store *st, const char *token, double now, fd_agent_info *info, fd_err *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (!token_wellformed(token))
        return fd_err_set(err, FD_ENOTFOUND, "malformed agent token");
    fd_agent_session_row s;
    fd_agent_row row;
    char hash[65];
    fd_sha256_hex(token, FD_AGENT_TOKEN_LEN, hash);
    int rc = fd_store_agent_session_get(st, hash, &s, &row, err);
    if (rc == FD_ENOTFOUND)
        return fd_err_set(err, FD_ENOTFOUND, "unknown agent token");
    if (rc)
        return rc;
    sodium_memzero(row.pw_hash, sizeof row.pw_hash);
    if (s.revoked_at > 0)
        return fd_err_set(err, FD_ENOTFOUND, "agent %s signed out of this session", row.name);
    if (s.expires_at <= now)
        return fd_err_set(err, FD_ENOTFOUND, "agent %s's session expired", row.name);
    if (row.disabled_at > 0)
        return fd_err_set(err, FD_ENOTFOUND, "agent %s is disabled", row.name);
    if (info) {
        info_from_row(&row, info);
        info->session_id = s.id;
        memcpy(info->prefix, s.prefix, FD_KEY_PREFIX_LEN);
        info->prefix[FD_KEY_PREFIX_LEN] = '\0';
        info->expires_at = s.expires_at;
    }
    return FD_OK;
}

int fd_agents_logout(fd_store *st, const char *token, double now, fd_err *err)
{
    if (!token_wellformed(token))
        return fd_err_set(err, FD_ENOTFOUND, "malformed agent token");
    char hash[65];
    fd_sha256_hex(token, FD_AGENT_TOKEN_LEN, hash);
    return fd_store_agent_session_revoke(st, hash, now, err);
}
