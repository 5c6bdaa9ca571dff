/* auth/auth.h: who may call the API and how often.
 *
 * API keys: "fdk_" + 43 base64url characters (32 random bytes from
 * getrandom), shown once at creation. The store keeps only SHA-256(key)
 * and a visible prefix ("fdk_AbCd1234", the first 12 characters) to find
 * and show keys. Scopes: chat, ingest, operator, admin (admin implies all).
 * Keys may expire; rotation creates a successor and keeps the old key valid
 * for an overlap window; revocation is immediate. Verification compares
 * hashes in constant time.
 *
 * Rate limits: token buckets keyed by a string ("key:<id>", "ip:<addr>",
 * "session:<id>", "global"), refilled continuously; a refused take reports
 * how many seconds until a token is available (Retry-After).
 *
 * Threads: fd_keys functions use the caller's store (one per thread).
 *          fd_ratelimit is thread-safe (sharded mutexes).
 * Errors:  FD_EINVAL (bad scope, key format), FD_ENOTFOUND, FD_EIO (store),
 *          FD_ENOMEM. */
#ifndef FD_AUTH_H
#define FD_AUTH_H

#include "core.h"
#include "store.h"

/* ---- scopes ---------------------------------------------------------------- */

enum {
    FD_SCOPE_CHAT = 1 << 0,
    FD_SCOPE_INGEST = 1 << 1,
    FD_SCOPE_OPERATOR = 1 << 2,
    FD_SCOPE_ADMIN = 1 << 3,
    FD_SCOPE_ORDERS = 1 << 4, /* read orders taken in chat */
};
/* "chat,operator" -> bits; FD_EINVAL naming an unknown scope. */
int fd_scopes_parse(const char *s, unsigned *out, fd_err *err) FD_MUST_USE;
/* bits -> "chat,operator" into buf. */
void fd_scopes_format(unsigned scopes, char *buf, size_t size);
/* admin implies every scope. */
int fd_scopes_allow(unsigned have, unsigned need);

/* ---- API keys ---------------------------------------------------------------- */

#define FD_KEY_LEN 47 /* "fdk_" + 43 */
#define FD_KEY_PREFIX_LEN 12

typedef struct fd_key_info {
    int64_t id;
    char prefix[FD_KEY_PREFIX_LEN + 1];
    char name[64];
    unsigned scopes;
    double created_at;
    double expires_at;   /* 0: never */
    double revoked_at;   /* 0: not revoked */
    int64_t rotated_to;  /* successor's id, 0 if none */
    double last_used_at; /* written at most once a minute per key, 0: never */
    double valid_until;  /* rotated: refused from then on; 0 if not rotated */
} fd_key_info;

/* Creates a key; the secret (FD_KEY_LEN + NUL) is written to key_out and
 * never stored. ttl_s 0: no expiry. FD_EINVAL (err->field "scopes", "name"
 * or "ttl") for no or unknown scope bits, a name over 63 bytes, a negative
 * or non-finite ttl; FD_EIO when the system has no randomness. */
int fd_keys_create(fd_store *st, const char *name, unsigned scopes, double ttl_s,
                   char key_out[FD_KEY_LEN + 1], fd_key_info *info, fd_err *err) FD_MUST_USE;

/* Checks a presented key (from "Authorization: Bearer ..." or X-API-Key):
 * FD_OK with its info when it exists, is not revoked and not expired.
 * Every refusal (malformed, unknown, revoked, expired, past its rotation
 * overlap) is FD_ENOTFOUND with the reason in err->msg, so callers answer
 * 401 uniformly and log the reason; info is zeroed on refusal. A store
 * failure is not a refusal: FD_EIO / FD_EUNAVAIL (answer 503). Writes
 * last_used_at at most once a minute per key, never waiting for a busy
 * database (the write is skipped instead). */
int fd_keys_verify(fd_store *st, const char *key, double now, fd_key_info *info,
                   fd_err *err) FD_MUST_USE;

int fd_keys_list(fd_store *st, int (*cb)(void *ctx, const fd_key_info *k), void *ctx,
                 fd_err *err) FD_MUST_USE;
/* By id ("12") or prefix ("fdk_AbCd1234"). FD_ENOTFOUND if none,
 * FD_ECONFLICT when a prefix names several keys (use the id). Revoking a
 * revoked key succeeds and keeps the first revocation time. */
int fd_keys_revoke(fd_store *st, const char *id_or_prefix, fd_err *err) FD_MUST_USE;
/* New key with the same name and scopes (and, if the old one expires,
 * the same lifetime counted from now); the old one stays valid for
 * overlap_s seconds more (0: refused at once), then is refused. Both in
 * one transaction, so the caller must not hold one. FD_ECONFLICT for a
 * key already rotated, revoked or expired. */
int fd_keys_rotate(fd_store *st, const char *id_or_prefix, double overlap_s,
                   char key_out[FD_KEY_LEN + 1], fd_key_info *info, fd_err *err) FD_MUST_USE;

/* ---- agents: people who sign in to the console (agents.c) ----------------------

 * An agent is an account (a unique login name, a display name customers
 * see, an argon2id password hash) that signs in for a session token:
 * "fda_" + 43 base64url characters, of which the store keeps SHA-256 only.
 * A session token stands where an operator key does (scope operator).
 * Disabling an agent or changing its password ends its sessions. */
#define FD_AGENT_TOKEN_LEN 47 /* "fda_" + 43 */
#define FD_AGENT_NAME_MAX 63
#define FD_AGENT_DISPLAY_MAX 127
#define FD_AGENT_PASSWORD_MIN 8
#define FD_AGENT_PASSWORD_MAX 1024

typedef struct fd_agent_info {
    int64_t id;
    char name[64];
    char display_name[128]; /* never "": the name when none was set */
    double created_at;
    double disabled_at;   /* 0: enabled */
    double last_login_at; /* 0: never */
    /* a signed-in session (fd_agents_login, fd_agents_verify); 0 otherwise */
    int64_t session_id;
    char prefix[FD_KEY_PREFIX_LEN + 1]; /* the token's visible start */
    double expires_at;
} fd_agent_info;

/* 1 for a name agents may have: 1-63 of a-z 0-9 . _ -, starting a-z0-9. */
int fd_agent_name_ok(const char *name);
/* 1 when s starts like an agent token ("fda_"): the caller checks it with
 * fd_agents_verify rather than as an API key. */
int fd_agent_token_shaped(const char *s);
/* FD_EINVAL (field name, display_name or password: 8-1024 bytes),
 * FD_ECONFLICT for a taken name, FD_ENOMEM when hashing has no memory. */
int fd_agents_create(fd_store *st, const char *name, const char *display_name, const char *password,
                     fd_agent_info *info, fd_err *err) FD_MUST_USE;
int fd_agents_get(fd_store *st, const char *name, fd_agent_info *info, fd_err *err) FD_MUST_USE;
int fd_agents_list(fd_store *st, int (*cb)(void *ctx, const fd_agent_info *a), void *ctx,
                   fd_err *err) FD_MUST_USE;
/* A new password; the agent's sessions end. FD_ENOTFOUND, FD_EINVAL.
 * Not inside a transaction (it runs its own). */
int fd_agents_set_password(fd_store *st, const char *name, const char *password,
                           fd_agent_info *info, fd_err *err) FD_MUST_USE;
/* disabled 1: refused at sign-in and its sessions end; 0: enabled again. */
int fd_agents_set_disabled(fd_store *st, const char *name, int disabled, fd_agent_info *info,
                           fd_err *err) FD_MUST_USE;
/* Checks name and password; a session of ttl_s seconds from now and its
 * token in token_out (shown once). Every refusal (unknown name, wrong
 * password, disabled agent) is FD_ENOTFOUND with the reason in err->msg
 * for the log, and an unknown name costs the time of a password check.
 * A store failure is FD_EIO / FD_EUNAVAIL. Not inside a transaction. */
int fd_agents_login(fd_store *st, const char *name, const char *password, double ttl_s, double now,
                    char token_out[FD_AGENT_TOKEN_LEN + 1], fd_agent_info *info,
                    fd_err *err) FD_MUST_USE;
/* FD_OK with the agent and its session when the token is known, not
 * signed out, not expired at now and its agent enabled; FD_ENOTFOUND with
 * the reason otherwise; FD_EIO / FD_EUNAVAIL from the store. */
int fd_agents_verify(fd_store *st, const char *token, double now, fd_agent_info *info,
                     fd_err *err) FD_MUST_USE;
/* Signs the token's session out (a second time is fine); FD_ENOTFOUND. */
int fd_agents_logout(fd_store *st, const char *token, double now, fd_err *err) FD_MUST_USE;

/* ---- rate limits --------------------------------------------------------------- */

typedef struct fd_ratelimit fd_ratelimit;

/* max_keys (0: 100000) bounds memory: it is a hard cap on buckets, and
 * past it the least recently used bucket of the key's shard is dropped (a
 * dropped bucket is full again, which only ever favours the client). Keys
 * are compared on their first FD_RATELIMIT_KEY_MAX bytes. */
#define FD_RATELIMIT_KEY_MAX 256
int fd_ratelimit_new(size_t max_keys, fd_ratelimit **out, fd_err *err) FD_MUST_USE;
void fd_ratelimit_free(fd_ratelimit *rl);

/* Takes one token from the bucket `key` holding at most `burst` tokens
 * (below 1 counts as 1) and refilled at per_minute / 60 tokens per second.
 * Returns 1 if allowed; else 0 and *retry_after_s (may be NULL) = whole
 * seconds (>= 1) until a token is back. per_minute <= 0 means unlimited.
 * now: seconds on any clock that does not go back (a step back refills
 * nothing). Out of memory for a new bucket, the take is allowed (fail open:
 * a limiter must not take the service down) and counted in n_fail_open. */
int fd_ratelimit_take(fd_ratelimit *rl, const char *key, double per_minute, double burst,
                      double now, double *retry_after_s);

typedef struct fd_ratelimit_stats {
    size_t n_keys;      /* buckets held now (<= max_keys) */
    uint64_t n_allowed; /* takes allowed (limited ones; unlimited are not counted) */
    uint64_t n_refused;
    uint64_t n_evicted;   /* buckets dropped for max_keys */
    uint64_t n_expired;   /* buckets dropped once full again (idle: as good as new) */
    uint64_t n_fail_open; /* takes allowed because a bucket could not be allocated */
} fd_ratelimit_stats;
void fd_ratelimit_stats_get(fd_ratelimit *rl, fd_ratelimit_stats *out);

/* ---- the last good verification of each key (memo.c) -------------------

 * When the store cannot be reached (PostgreSQL restarting, a failover),
 * a key that verified within max_age_s is still let in with what it had
 * then: customers keep chatting from the index while the store is away.
 * Store failures fall back to it; otherwise a store that answers has the
 * last word, after at most the short max_age_s the caller gives for a key
 * it saw verified (the server: one second, AUTH_FRESH_S), so a revocation
 * counts that long after it is written.
 * Thread-safe; a fixed number of keys (the least recent make room). */
typedef struct fd_key_memo fd_key_memo;
fd_key_memo *fd_key_memo_new(void); /* NULL: no memory */
void fd_key_memo_free(fd_key_memo *m);
void fd_key_memo_put(fd_key_memo *m, const char *key, const fd_key_info *info, double now);
/* 1 and *info when key verified within max_age_s and has not expired by now. */
int fd_key_memo_get(fd_key_memo *m, const char *key, double now, double max_age_s,
                    fd_key_info *info);

#endif
