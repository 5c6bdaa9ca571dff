/* jwt.c: end-user tokens (X-User-Token): libjwt checks the signature, we
 * check everything else (which algorithm, exp, nbf, iss, aud, sub), so the
 * caller learns why a token was refused and a token's header never chooses
 * the key or the algorithm. */
#include "http_int.h"

#include <jwt.h>
#include <string.h>

/* Clock skew allowed between the token's issuer and us, on exp and nbf. */
#define LEEWAY_S 30
/* Longest sub kept as the turn's user: it is stored with every session. */
#define MAX_SUB 256

int http_jwt_init(http_jwt *v, const fd_config *cfg, fd_err *err)
{
    memset(v, 0, sizeof *v);
    v->cfg = cfg;
    if (cfg->auth_jwt_rs256_key[0]) {
        fd_err ferr = {0};
        int rc = fd_file_read(cfg->auth_jwt_rs256_key, 1 << 16, &v->pem, &v->pem_len, &ferr);
        if (rc)
            return fd_err_set_field(err, rc, "auth.jwt_rs256_public_key_file",
                                    "auth.jwt_rs256_public_key_file: cannot read %s", ferr.msg);
        if (!strstr(v->pem, "-----BEGIN PUBLIC KEY-----")) {
            http_jwt_free(v);
            return fd_err_set_field(err, FD_EINVAL, "auth.jwt_rs256_public_key_file",
                                    "auth.jwt_rs256_public_key_file: '%s' is not a PEM public key",
                                    cfg->auth_jwt_rs256_key);
        }
    }
    if (cfg->auth_jwt_required && !http_jwt_enabled(v))
        return fd_err_set_field(err, FD_EINVAL, "auth.jwt_required",
                                "auth.jwt_required needs auth.jwt_hs256_secret or "
                                "auth.jwt_rs256_public_key_file");
    return FD_OK;
}

void http_jwt_free(http_jwt *v)
{
    FD_FREE(v->pem);
    v->pem_len = 0;
}

int http_jwt_enabled(const http_jwt *v)
{
    return v->pem || (v->cfg && v->cfg->auth_jwt_hs256_secret[0]);
}

static int b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* One unpadded base64url segment as a JSON object, or NULL. */
static json_t *segment_json(const char *p, size_t n, fd_arena *a)
{
    unsigned char *out = fd_arena_alloc(a, n * 3 / 4 + 1);
    if (!out || n % 4 == 1)
        return NULL;
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int d = b64url_val((unsigned char)p[i]);
        if (d < 0)
            return NULL;
        v = v << 6 | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits & 0xff);
        }
    }
    json_t *j = json_loadb((const char *)out, o, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int aud_ok(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(aud, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), want) == 0)
            return 1;
    }
    return 0;
}

/* The registered claims; the signature is already good. */
static int check_claims(const http_jwt *v, json_t *c, double now, fd_arena *a, const char **sub,
                        fd_err *err)
{
    const fd_config *cfg = v->cfg;
    json_t *exp = json_object_get(c, "exp");
    json_t *nbf = json_object_get(c, "nbf");
    if (!json_is_number(exp))
        return fd_err_set(err, FD_EINVAL, "token has no exp (expiry) claim");
    if (now > json_number_value(exp) + LEEWAY_S)
        return fd_err_set(err, FD_EINVAL, "token expired");
    if (nbf && !json_is_number(nbf))
        return fd_err_set(err, FD_EINVAL, "token's nbf is not a number");
    if (nbf && now + LEEWAY_S < json_number_value(nbf))
        return fd_err_set(err, FD_EINVAL, "token not valid yet (nbf is in the future)");
    json_t *iss = json_object_get(c, "iss");
    if (cfg->auth_jwt_issuer[0] &&
        (!json_is_string(iss) || strcmp(json_string_value(iss), cfg->auth_jwt_issuer) != 0))
        return fd_err_set(err, FD_EINVAL, "wrong token issuer (iss)");
    if (cfg->auth_jwt_audience[0] && !aud_ok(json_object_get(c, "aud"), cfg->auth_jwt_audience))
        return fd_err_set(err, FD_EINVAL, "wrong token audience (aud)");
    json_t *s = json_object_get(c, "sub");
    if (!json_is_string(s) || json_string_length(s) == 0)
        return fd_err_set(err, FD_EINVAL, "token has no sub (user) claim");
    if (json_string_length(s) > MAX_SUB)
        return fd_err_set(err, FD_EINVAL, "token's sub is longer than %d bytes", MAX_SUB);
    *sub = fd_arena_strndup(a, json_string_value(s), json_string_length(s));
    return *sub ? FD_OK : fd_err_set(err, FD_ENOMEM, "out of memory");
}

int http_jwt_verify(const http_jwt *v, const char *token, double now, fd_arena *a, const char **sub,
                    fd_err *err)
{
    *sub = NULL;
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.'))
        return fd_err_set(err, FD_EINVAL, "malformed token (not header.payload.signature)");
    json_t *head = segment_json(token, (size_t)(d1 - token), a);
    json_t *claims = segment_json(d1 + 1, (size_t)(d2 - d1 - 1), a);
    int rc = FD_OK;
    if (!head || !claims) {
        rc = fd_err_set(err, FD_EINVAL, "malformed token (header or payload is not JSON)");
        goto out;
    }
    /* The configured algorithm picks the key, never the token: an HS256
     * token must not be checked against the RSA public key (whose PEM anyone
     * can use as an HMAC secret), and "none" is never accepted. */
    const char *alg = json_string_value(json_object_get(head, "alg"));
    const unsigned char *key = NULL;
    size_t key_len = 0;
    jwt_alg_t want = JWT_ALG_INVAL;
    if (alg && strcmp(alg, "HS256") == 0 && v->cfg->auth_jwt_hs256_secret[0]) {
        key = (const unsigned char *)v->cfg->auth_jwt_hs256_secret;
        key_len = strlen(v->cfg->auth_jwt_hs256_secret);
        want = JWT_ALG_HS256;
    } else if (alg && strcmp(alg, "RS256") == 0 && v->pem) {
        key = (const unsigned char *)v->pem;
        key_len = v->pem_len;
        want = JWT_ALG_RS256;
    } else {
        rc = fd_err_set(err, FD_EINVAL, "token algorithm '%.20s' is not accepted (expected %s)",
                        alg ? alg : "(none)",
                        v->pem ? (v->cfg->auth_jwt_hs256_secret[0] ? "HS256 or RS256" : "RS256")
                               : "HS256");
        goto out;
    }
    jwt_t *j = NULL;
    int jrc = jwt_decode(&j, token, key, (int)key_len);
    int good = jrc == 0 && j && jwt_get_alg(j) == want;
    jwt_free(j);
    if (!good) {
        rc = fd_err_set(err, FD_EINVAL, "bad token signature");
        goto out;
    }
    rc = check_claims(v, claims, now, a, sub, err);
out:
    json_decref(head);
    json_decref(claims);
    return rc;
}

int http_user_token(request *r, const char **user, enum MHD_Result *res)
{
    const http_jwt *v = &r->srv->jwt;
    if (!http_jwt_enabled(v))
        return 1;
    const char *tok = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "X-User-Token");
    fd_err err = {0};
    const char *sub = NULL;
    int rc;
    if (!tok || !tok[0])
        rc = v->cfg->auth_jwt_required
                 ? fd_err_set(&err, FD_EINVAL, "an end-user token (X-User-Token) is required")
                 : FD_OK;
    else
        rc = http_jwt_verify(v, tok, fd_time_wall(), r->a, &sub, &err);
    if (rc == FD_ENOMEM) {
        *res = http_send_err(r, &err);
        return 0;
    }
    if (rc) {
        fd_metric_add(r->srv->m.auth_failures, 1);
        FD_LOG(r->srv->log, FD_LOG_INFO, "http", "user token refused: %s (id=%s)", err.msg, r->id);
        *res = http_send_error(r, 401, "invalid_user_token", err.msg, NULL);
        return 0;
    }
    if (sub)
        *user = sub;
    return 1;
}
