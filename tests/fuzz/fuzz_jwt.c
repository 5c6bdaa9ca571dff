/* fuzz_jwt.c: end-user tokens (X-User-Token), which any anonymous visitor
 * can send. First byte even: the rest is the token as received (split,
 * base64url and JSON decoding, the algorithm choice, libjwt's signature
 * check). Odd: the rest is "header JSON \x01 claims JSON", which the
 * harness encodes and signs with the configured HS256 secret, so that the
 * claims checks (exp, nbf, iss, aud as string or array, sub) are reached
 * with any JSON at all. Verification must refuse or accept, never crash. */
#include "http_int.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "fuzz-secret-0123456789abcdef0123"

static fd_config cfg;
static http_jwt jwt;

static size_t b64url(const uint8_t *p, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = t[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = t[v & 63];
    }
    return o;
}

static int init(void)
{
    fd_err err = {0};
    if (fd_config_load(&cfg, NULL, &err) || fd_config_set(&cfg, "auth.jwt_hs256_secret", SECRET, &err) ||
        fd_config_set(&cfg, "auth.jwt_issuer", "https://id.example", &err) ||
        fd_config_set(&cfg, "auth.jwt_audience", "frontdesk", &err) ||
        http_jwt_init(&jwt, &cfg, &err))
        abort();
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = init();
    if (size < 1 || size > 8192)
        return 0;
    char *tok = malloc(size * 2 + 64);
    if (!tok)
        return 0;
    if (data[0] % 2 == 0) {
        memcpy(tok, data + 1, size - 1);
        tok[size - 1] = '\0';
    } else {
        const uint8_t *p = data + 1, *sep = memchr(p, 1, size - 1);
        size_t hn = sep ? (size_t)(sep - p) : size - 1;
        size_t cn = sep ? size - 1 - hn - 1 : 0;
        size_t o = b64url(p, hn, tok);
        tok[o++] = '.';
        o += b64url(sep ? sep + 1 : p, cn, tok + o);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)tok, o, mac, &mlen);
        tok[o++] = '.';
        o += b64url(mac, mlen, tok + o);
        tok[o] = '\0';
    }
    fd_arena *a = fd_arena_new(4096);
    if (a) {
        const char *sub = NULL;
        fd_err err = {0};
        if (http_jwt_verify(&jwt, tok, 1.8e9, a, &sub, &err) == FD_OK && (!sub || !*sub))
            abort(); /* accepted means a subject to act as */
        fd_arena_free(a);
    }
    free(tok);
    return 0;
}
