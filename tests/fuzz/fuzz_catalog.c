/* fuzz_catalog.c: the commerce catalog's loaders, which read files a
 * company writes (products.csv, commerce.toml, customers.csv), and the
 * matcher that reads customers' words against them. The input is up to
 * four parts separated by 0x01 bytes: products, toml, customers, a
 * message. */
#include "commerce.h"

#include <stdint.h>
#include <string.h>

static const char *part(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    if (s >= end) {
        *len = 0;
        return NULL;
    }
    const char *q = memchr(s, 0x01, (size_t)(end - s));
    *len = (size_t)((q ? q : end) - s);
    *p = q ? q + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    size_t np, nt, nc, nm;
    const char *prod = part(&p, end, &np), *toml = part(&p, end, &nt), *cust = part(&p, end, &nc),
               *msg = part(&p, end, &nm);
    fd_catalog *c = NULL;
    fd_err err;
    if (!prod || fd_catalog_load(prod, np, toml, nt, cust, nc, &c, NULL, &err) != FD_OK)
        return 0;
    fd_arena *a = fd_arena_new(1 << 22);
    if (a && msg) {
        fd_product_match m;
        if (fd_catalog_match(c, (fd_str){msg, nm}, NULL, 0, a, &m, &err) == FD_OK && m.n)
            (void)fd_catalog_match(c, (fd_str){msg, nm}, m.v, m.n, a, &m, &err);
        int amb;
        (void)fd_catalog_match_outlet(c, (fd_str){msg, nm}, NULL, a, &amb);
    }
    for (size_t i = 0; i < fd_catalog_n_products(c); i++) {
        const fd_product *pr = fd_catalog_product(c, i);
        fd_quote_line l = fd_quote_line_make(pr, (int64_t)i * 37);
        /* a weekday each (the day's surcharge), and no day */
        (void)fd_quote_sum(fd_catalog_rules(c), &l, 1, (int64_t)i % 8 - 1);
    }
    fd_arena_free(a);
    fd_catalog_free(c);
    return 0;
}
