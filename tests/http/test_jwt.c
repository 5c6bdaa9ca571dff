/* test_jwt.c: the end-user token verifier (src/http/jwt.c): HS256 and RS256
 * (a key pair made here), exp/nbf leeway, iss/aud, alg none and algorithm
 * confusion, and the start errors. Tokens are minted with libjwt. */
#include "support.h"
#include "http_int.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#define NOW 1700000000.0
#define SECRET "test-secret-0123456789"

typedef struct claims {
    const char *sub, *iss, *aud;
    long exp, nbf; /* seconds from NOW; 0: claim left out */
} claims;

/* A token signed with alg and key (len bytes); free() it. */
static char *mint(jwt_alg_t alg, const char *key, size_t len, claims c)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    if (c.sub)
        assert_int_equal(jwt_add_grant(j, "sub", c.sub), 0);
    if (c.iss)
        assert_int_equal(jwt_add_grant(j, "iss", c.iss), 0);
    if (c.aud)
        assert_int_equal(jwt_add_grant(j, "aud", c.aud), 0);
    if (c.exp)
        assert_int_equal(jwt_add_grant_int(j, "exp", (long)NOW + c.exp), 0);
    if (c.nbf)
        assert_int_equal(jwt_add_grant_int(j, "nbf", (long)NOW + c.nbf), 0);
    assert_int_equal(jwt_set_alg(j, alg, (const unsigned char *)key, (int)len), 0);
    char *t = jwt_encode_str(j);
    assert_non_null(t);
    jwt_free(j);
    return t;
}

static char *hs(const char *secret, claims c)
{
    return mint(JWT_ALG_HS256, secret, strlen(secret), c);
}

/* Verifies tok against cfg: the code, and the user or the message. */
static int verify(const fd_config *cfg, const char *tok, char *out, size_t n)
{
    http_jwt v;
    fd_err err = {0};
    assert_int_equal(http_jwt_init(&v, cfg, &err), FD_OK);
    fd_arena *a = fd_arena_new(1 << 16);
    const char *sub = NULL;
    int rc = http_jwt_verify(&v, tok, NOW, a, &sub, &err);
    snprintf(out, n, "%s", rc ? err.msg : sub);
    fd_arena_free(a);
    http_jwt_free(&v);
    return rc;
}

static void test_hs256(void **state)
{
    (void)state;
    fd_config cfg;
    fd_config_defaults(&cfg);
    snprintf(cfg.auth_jwt_hs256_secret, sizeof cfg.auth_jwt_hs256_secret, SECRET);
    snprintf(cfg.auth_jwt_issuer, sizeof cfg.auth_jwt_issuer, "https://shop.example");
    snprintf(cfg.auth_jwt_audience, sizeof cfg.auth_jwt_audience, "frontdesk");
    static const struct {
        const char *name, *secret;
        claims c;
        const char *want; /* the user, or a piece of the message */
        int ok;
    } cases[] = {
        {"valid", SECRET, {"u-42", "https://shop.example", "frontdesk", 600, 0}, "u-42", 1},
        {"wrong secret",
         "other",
         {"u-42", "https://shop.example", "frontdesk", 600, 0},
         "signature",
         0},
        {"expired", SECRET, {"u", "https://shop.example", "frontdesk", -31, 0}, "expired", 0},
        {"expired within leeway",
         SECRET,
         {"u", "https://shop.example", "frontdesk", -29, 0},
         "u",
         1},
        {"nbf in the future",
         SECRET,
         {"u", "https://shop.example", "frontdesk", 600, 31},
         "nbf",
         0},
        {"nbf within leeway", SECRET, {"u", "https://shop.example", "frontdesk", 600, 29}, "u", 1},
        {"missing exp", SECRET, {"u", "https://shop.example", "frontdesk", 0, 0}, "exp", 0},
        {"wrong iss", SECRET, {"u", "https://evil.example", "frontdesk", 600, 0}, "issuer", 0},
        {"missing iss", SECRET, {"u", NULL, "frontdesk", 600, 0}, "issuer", 0},
        {"wrong aud", SECRET, {"u", "https://shop.example", "other", 600, 0}, "audience", 0},
        {"missing sub", SECRET, {NULL, "https://shop.example", "frontdesk", 600, 0}, "sub", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = hs(cases[i].secret, cases[i].c);
        char out[300];
        int rc = verify(&cfg, t, out, sizeof out);
        free(t);
        if (cases[i].ok && (rc || strcmp(out, cases[i].want) != 0))
            fail_msg("%s: want user %s, got rc %d '%s'", cases[i].name, cases[i].want, rc, out);
        if (!cases[i].ok && (rc != FD_EINVAL || !strstr(out, cases[i].want)))
            fail_msg("%s: want an error with '%s', got rc %d '%s'", cases[i].name, cases[i].want,
                     rc, out);
    }
}

static void test_malformed_and_none(void **state)
{
    (void)state;
    fd_config cfg;
    fd_config_defaults(&cfg);
    snprintf(cfg.auth_jwt_hs256_secret, sizeof cfg.auth_jwt_hs256_secret, SECRET);
    char out[300];
    /* alg none: libjwt makes "header.payload." with no signature */
    char *t = mint(JWT_ALG_NONE, NULL, 0, (claims){"admin", NULL, NULL, 600, 0});
    assert_int_equal(verify(&cfg, t, out, sizeof out), FD_EINVAL);
    assert_non_null(strstr(out, "not accepted"));
    free(t);
    /* {"alg":"none","typ":"JWT"} with a signature taken from a good token */
    char *good = hs(SECRET, (claims){"admin", NULL, NULL, 600, 0});
    char forged[1024];
    snprintf(forged, sizeof forged, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0%s", strchr(good, '.'));
    assert_int_equal(verify(&cfg, forged, out, sizeof out), FD_EINVAL);
    assert_non_null(strstr(out, "'none' is not accepted"));
    free(good);
    static const char *bad[] = {"",         "abc",      "a.b",         "a.b.c.d",
                                "!!.??.xx", "e30.e30.", "bnVsbA.e30.x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (verify(&cfg, bad[i], out, sizeof out) != FD_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
}

/* An RSA key pair as PEM: the private key and the public key file. */
static void rsa_pair(const char *dir, char **priv, size_t *priv_len, char **pub_path, char **pub,
                     size_t *pub_len)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    assert_non_null(k);
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    *priv = strndup(p, (size_t)n);
    *priv_len = (size_t)n;
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    n = BIO_get_mem_data(b, &p);
    *pub = strndup(p, (size_t)n);
    *pub_len = (size_t)n;
    *pub_path = fd_test_write(dir, "pub.pem", p, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
}

static void test_rs256(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char *priv, *pub, *pub_path;
    size_t priv_len, pub_len;
    rsa_pair(dir, &priv, &priv_len, &pub_path, &pub, &pub_len);
    fd_config cfg;
    fd_config_defaults(&cfg);
    snprintf(cfg.auth_jwt_rs256_key, sizeof cfg.auth_jwt_rs256_key, "%s", pub_path);
    char out[300];
    claims c = {"rsa-user", NULL, NULL, 600, 0};

    char *t = mint(JWT_ALG_RS256, priv, priv_len, c);
    assert_int_equal(verify(&cfg, t, out, sizeof out), FD_OK);
    assert_string_equal(out, "rsa-user");
    free(t);
    /* HS256 against an RS256-only config, with any secret, and with the
     * public key itself as the HMAC secret (the classic confusion attack) */
    t = hs(SECRET, c);
    assert_int_equal(verify(&cfg, t, out, sizeof out), FD_EINVAL);
    assert_non_null(strstr(out, "'HS256' is not accepted"));
    free(t);
    t = mint(JWT_ALG_HS256, pub, pub_len, c);
    assert_int_equal(verify(&cfg, t, out, sizeof out), FD_EINVAL);
    free(t);
    /* and the reverse: RS256 against an HS256-only config */
    fd_config hcfg;
    fd_config_defaults(&hcfg);
    snprintf(hcfg.auth_jwt_hs256_secret, sizeof hcfg.auth_jwt_hs256_secret, SECRET);
    t = mint(JWT_ALG_RS256, priv, priv_len, c);
    assert_int_equal(verify(&hcfg, t, out, sizeof out), FD_EINVAL);
    assert_non_null(strstr(out, "'RS256' is not accepted"));
    free(t);
    /* another key pair's token: bad signature */
    char *priv2, *pub2, *pub2_path;
    size_t priv2_len, pub2_len;
    char *dir2 = fd_test_tmpdir();
    rsa_pair(dir2, &priv2, &priv2_len, &pub2_path, &pub2, &pub2_len);
    t = mint(JWT_ALG_RS256, priv2, priv2_len, c);
    assert_int_equal(verify(&cfg, t, out, sizeof out), FD_EINVAL);
    assert_non_null(strstr(out, "signature"));
    free(t);

    free(priv), free(pub), fd_free(pub_path);
    free(priv2), free(pub2), fd_free(pub2_path);
    fd_test_rmrf(dir);
    fd_test_rmrf(dir2);
    fd_free(dir);
    fd_free(dir2);
}

static void test_init_errors(void **state)
{
    (void)state;
    fd_config cfg;
    fd_config_defaults(&cfg);
    http_jwt v;
    fd_err err = {0};
    assert_int_equal(http_jwt_init(&v, &cfg, &err), FD_OK);
    assert_false(http_jwt_enabled(&v));
    http_jwt_free(&v);

    snprintf(cfg.auth_jwt_rs256_key, sizeof cfg.auth_jwt_rs256_key, "/nonexistent/pub.pem");
    assert_int_not_equal(http_jwt_init(&v, &cfg, &err), FD_OK);
    assert_non_null(strstr(err.msg, "auth.jwt_rs256_public_key_file"));
    assert_non_null(strstr(err.msg, "/nonexistent/pub.pem"));
    http_jwt_free(&v);

    char *dir = fd_test_tmpdir();
    char *path = fd_test_write(dir, "junk.pem", "not a key\n", 10);
    snprintf(cfg.auth_jwt_rs256_key, sizeof cfg.auth_jwt_rs256_key, "%s", path);
    assert_int_equal(http_jwt_init(&v, &cfg, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "not a PEM public key"));
    http_jwt_free(&v);

    cfg.auth_jwt_rs256_key[0] = '\0';
    cfg.auth_jwt_required = 1;
    assert_int_equal(http_jwt_init(&v, &cfg, &err), FD_EINVAL);
    assert_string_equal(err.field, "auth.jwt_required");
    http_jwt_free(&v);
    fd_free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs256),
        cmocka_unit_test(test_malformed_and_none),
        cmocka_unit_test(test_rs256),
        cmocka_unit_test(test_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
