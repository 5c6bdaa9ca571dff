/* catalog.c: products.csv and customers.csv into the catalog. A row that
 * cannot be used (no code, no price) is skipped and counted, never
 * guessed: a wrong price in a quote is worse than a missing product. */
#include "commerce_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *keep_str(fd_catalog *c, const char *s)
{
    if (c->n_strings == c->cap_strings) {
        size_t cap = c->cap_strings ? c->cap_strings * 2 : 256;
        char **v = fd_realloc(c->strings, cap * sizeof *v);
        if (!v)
            return NULL;
        c->strings = v;
        c->cap_strings = cap;
    }
    char *d = fd_strdup(s ? s : "");
    if (d)
        c->strings[c->n_strings++] = d;
    return d;
}

int cm_synonyms_load(fd_catalog *c, const char *toml, size_t len, fd_arena *a, fd_err *err)
{
    if (!toml)
        return FD_OK;
    json_t *root;
    int rc = fd_toml_parse(toml, len, &root, err);
    if (rc)
        return rc; /* cm_rules_load said why already */
    json_t *syn = json_object_get(json_object_get(root, "catalog"), "synonyms");
    size_t n = json_object_size(syn);
    c->syn_from = fd_calloc(n + 1, sizeof *c->syn_from);
    c->syn_to = fd_calloc(n + 1, sizeof *c->syn_to);
    if (!c->syn_from || !c->syn_to)
        rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach(syn, k, v)
    {
        if (rc)
            break;
        const char *to = json_string_value(v);
        cm_tokens kt, vt;
        if (!to) {
            rc = fd_err_set(err, FD_EFORMAT,
                            "commerce.toml: catalog.synonyms.%s: expected a string", k);
            break;
        }
        /* both sides as matching sees them: folded, singular */
        if ((rc = cm_tokenize(fd_str_c(k), a, &kt, err)) ||
            (rc = cm_tokenize(fd_str_c(to), a, &vt, err)))
            break;
        if (kt.n != 1 || !vt.n)
            continue; /* one word to one or more words */
        char *from = fd_arena_strndup(a, kt.v[0].p, kt.v[0].len);
        fd_buf b;
        fd_buf_init(&b, 4096);
        for (size_t i = 0; i < vt.n && !rc; i++)
            rc = fd_buf_printf(&b, "%s%.*s", i ? " " : "", (int)vt.v[i].len, vt.v[i].p);
        char *dst = rc || !from ? NULL : keep_str(c, b.p);
        char *src = dst ? keep_str(c, from) : NULL;
        fd_buf_free(&b);
        if (!src)
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
        else {
            c->syn_from[c->n_syn] = src;
            c->syn_to[c->n_syn++] = dst;
        }
    }
    json_decref(root);
    return rc;
}

static const char *cell(const char *const *row, int col)
{
    return col >= 0 ? row[col] : "";
}

/* The price column: the one commerce.toml names, else the first whose
 * name starts with "unit_price" or "price" ("unit_price_sgd", "price_cad"). */
static int price_col(const fd_csv *t, const char *name)
{
    int c = fd_csv_col(t, name);
    for (size_t i = 0; c < 0 && i < t->n_cols; i++)
        if (strncasecmp(t->head[i], "unit_price", 10) == 0 ||
            strncasecmp(t->head[i], "price", 5) == 0)
            c = (int)i;
    return c;
}

static int first_col(const fd_csv *t, const char *configured, const char *const *alts)
{
    int c = fd_csv_col(t, configured);
    for (size_t i = 0; c < 0 && alts[i]; i++)
        c = fd_csv_col(t, alts[i]);
    return c;
}

static void skip_row(size_t *n_skipped, fd_err *err, const char *file, size_t row, const char *why)
{
    if (!(*n_skipped)++)
        fd_err_set(err, FD_EFORMAT, "%s: data row %zu: %s", file, row, why);
}

static int load_products(fd_catalog *c, const char *p, size_t len, char cols[N_COLS][64],
                         fd_arena *a, size_t *n_skipped, fd_err *err)
{
    fd_csv t;
    int rc = fd_csv_parse(p, len, a, &t, err);
    if (rc)
        return fd_err_set(err, rc, "products.csv: %s", err ? err->msg : "");
    static const char *const code_alt[] = {"sku", "id", NULL},
                             *const name_alt[] = {"product", "title", NULL},
                             *const var_alt[] = {"material", "colour", "color", NULL},
                             *const pack_alt[] = {"pack", "units_per_pack", NULL},
                             *const none[] = {NULL};
    int ci[N_COLS];
    ci[COL_CODE] = first_col(&t, cols[COL_CODE], code_alt);
    ci[COL_NAME] = first_col(&t, cols[COL_NAME], name_alt);
    ci[COL_CATEGORY] = first_col(&t, cols[COL_CATEGORY], none);
    ci[COL_SIZE] = first_col(&t, cols[COL_SIZE], none);
    ci[COL_VARIANT] = first_col(&t, cols[COL_VARIANT], var_alt);
    ci[COL_PACK] = first_col(&t, cols[COL_PACK], pack_alt);
    ci[COL_PRICE] = price_col(&t, cols[COL_PRICE]);
    ci[COL_STOCK] = first_col(&t, cols[COL_STOCK], none);
    ci[COL_DESC] = first_col(&t, cols[COL_DESC], none);
    if (ci[COL_CODE] < 0 || ci[COL_NAME] < 0 || ci[COL_PRICE] < 0)
        return fd_err_set(err, FD_EFORMAT,
                          "products.csv: needs a code, a name and a price column (found %s%s%s); "
                          "map yours in commerce.toml [catalog.columns]",
                          ci[COL_CODE] < 0 ? "no code " : "", ci[COL_NAME] < 0 ? "no name " : "",
                          ci[COL_PRICE] < 0 ? "no price" : "");
    *n_skipped += t.n_bad;
    if (t.n_bad)
        fd_err_set(err, FD_EFORMAT, "products.csv: line %zu: wrong number of fields",
                   t.first_bad_line);
    c->products = fd_calloc(t.n_rows + 1, sizeof *c->products);
    c->ptok = fd_calloc(2 * t.n_rows + 1, sizeof *c->ptok); /* name, description */
    c->ntok = fd_calloc(t.n_rows + 1, sizeof *c->ntok);
    if (!c->products || !c->ptok || !c->ntok)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    for (size_t r = 0; r < t.n_rows; r++) {
        const char *const *row = t.rows[r];
        fd_product pr = {0};
        int64_t price;
        if (!*cell(row, ci[COL_CODE]) || !*cell(row, ci[COL_NAME])) {
            skip_row(n_skipped, err, "products.csv", r + 1, "no code or name");
            continue;
        }
        if (cm_parse_money(cell(row, ci[COL_PRICE]), &price) != FD_OK) {
            skip_row(n_skipped, err, "products.csv", r + 1, "price is not an amount");
            continue;
        }
        for (size_t k = 0; k < c->n_products; k++)
            if (strcasecmp(c->products[k].code, cell(row, ci[COL_CODE])) == 0)
                price = -1;
        if (price < 0) {
            skip_row(n_skipped, err, "products.csv", r + 1, "the same code twice");
            continue;
        }
        pr.pack_price = price;
        const char *pack = cell(row, ci[COL_PACK]);
        pr.pack_size = *pack ? strtoll(pack, NULL, 10) : 1;
        if (pr.pack_size < 1) {
            skip_row(n_skipped, err, "products.csv", r + 1, "pack size is not a whole number");
            continue;
        }
        const char *stock = cell(row, ci[COL_STOCK]);
        pr.stock = *stock ? strtoll(stock, NULL, 10) : -1;
        if (!(pr.code = keep_str(c, cell(row, ci[COL_CODE]))) ||
            !(pr.name = keep_str(c, cell(row, ci[COL_NAME]))) ||
            !(pr.category = keep_str(c, cell(row, ci[COL_CATEGORY]))) ||
            !(pr.size = keep_str(c, cell(row, ci[COL_SIZE]))) ||
            !(pr.variant = keep_str(c, cell(row, ci[COL_VARIANT]))) ||
            !(pr.description = keep_str(c, cell(row, ci[COL_DESC]))))
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        /* what matching knows of it: name, size, variant, category */
        char *words = fd_arena_printf(a, "%s %s %s %s", pr.name, pr.size, pr.variant, pr.category);
        if (!words)
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        rc = cm_item_make(fd_str_c(words), a, &c->ptok[2 * c->n_products], err);
        if (!rc)
            rc = cm_item_make(fd_str_c(pr.description), a, &c->ptok[2 * c->n_products + 1], err);
        if (!rc)
            rc = cm_item_make(fd_str_c(pr.name), a, &c->ntok[c->n_products], err);
        c->products[c->n_products++] = pr; /* counted now so its items are freed */
        if (rc)
            return rc;
    }
    return FD_OK;
}

static int load_customers(fd_catalog *c, const char *p, size_t len, fd_arena *a, size_t *n_skipped,
                          fd_err *err)
{
    fd_csv t;
    int rc = fd_csv_parse(p, len, a, &t, err);
    if (rc)
        return fd_err_set(err, rc, "customers.csv: %s", err ? err->msg : "");
    static const char *const id_alt[] = {"customer_id", "account", NULL},
                             *const name_alt[] = {"customer", "company", NULL},
                             *const out_alt[] = {"outlet_name", "site", "branch", NULL},
                             *const addr_alt[] = {"delivery_address", NULL},
                             *const contact_alt[] = {"accounting_contact_id", "xero_contact_id",
                                                     NULL},
                             *const terms_alt[] = {"payment_days", "terms_days", NULL};
    int cid = first_col(&t, "id", id_alt), cname = first_col(&t, "name", name_alt),
        cout = first_col(&t, "outlet", out_alt), caddr = first_col(&t, "address", addr_alt),
        ccontact = first_col(&t, "contact_id", contact_alt),
        cterms = first_col(&t, "payment_terms_days", terms_alt);
    if (cid < 0 || cname < 0)
        return fd_err_set(err, FD_EFORMAT, "customers.csv: needs an id and a name column");
    *n_skipped += t.n_bad;
    c->outlets = fd_calloc(t.n_rows + 1, sizeof *c->outlets);
    c->otok = fd_calloc(2 * t.n_rows + 1, sizeof *c->otok); /* customer, site */
    if (!c->outlets || !c->otok)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    for (size_t r = 0; r < t.n_rows; r++) {
        const char *const *row = t.rows[r];
        if (!*row[cid] || !*row[cname]) {
            skip_row(n_skipped, err, "customers.csv", r + 1, "no id or name");
            continue;
        }
        fd_outlet o = {0};
        const char *terms = cell(row, cterms);
        o.payment_days = *terms ? atoi(terms) : 30;
        if (!(o.customer_id = keep_str(c, row[cid])) || !(o.customer = keep_str(c, row[cname])) ||
            !(o.outlet = keep_str(c, cell(row, cout))) ||
            !(o.address = keep_str(c, cell(row, caddr))) ||
            !(o.contact_id = keep_str(c, cell(row, ccontact))))
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        rc = cm_item_make(fd_str_c(o.customer), a, &c->otok[2 * c->n_outlets], err);
        if (!rc)
            rc = cm_item_make(fd_str_c(o.outlet), a, &c->otok[2 * c->n_outlets + 1], err);
        c->outlets[c->n_outlets++] = o; /* counted now so its items are freed */
        if (rc)
            return rc;
    }
    return FD_OK;
}

static void totals(cm_item *items, size_t n, char **tok, const double *w, size_t n_w)
{
    for (size_t i = 0; i < n; i++) {
        items[i].total = 0;
        for (size_t j = 0; j < items[i].n_tok; j++)
            items[i].total += cm_weight(tok, w, n_w, items[i].tok[j]);
    }
}

int fd_catalog_load(const char *products, size_t products_len, const char *toml, size_t toml_len,
                    const char *customers, size_t customers_len, fd_catalog **out,
                    size_t *n_skipped, fd_err *err)
{
    *out = NULL;
    size_t skipped = 0;
    if (!products)
        return fd_err_set(err, FD_EINVAL, "no products.csv");
    fd_catalog *c = fd_calloc(1, sizeof *c);
    fd_arena *a = fd_arena_new(0);
    if (!c || !a) {
        fd_free(c);
        fd_arena_free(a);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    char cols[N_COLS][64];
    int rc = cm_rules_load(toml, toml_len, &c->rules, cols, err);
    fd_err rows_err = {0};
    if (!rc)
        rc = cm_synonyms_load(c, toml, toml_len, a, err);
    if (!rc)
        rc = load_products(c, products, products_len, cols, a, &skipped, &rows_err);
    if (!rc && customers)
        rc = load_customers(c, customers, customers_len, a, &skipped, &rows_err);
    if (!rc)
        rc = cm_weigh(c->ptok, 2 * c->n_products, &c->pw_tok, &c->pw, &c->n_pw, &rows_err);
    if (!rc)
        rc = cm_weigh(c->otok, 2 * c->n_outlets, &c->ow_tok, &c->ow, &c->n_ow, &rows_err);
    if (!rc) {
        totals(c->ptok, 2 * c->n_products, c->pw_tok, c->pw, c->n_pw);
        totals(c->otok, 2 * c->n_outlets, c->ow_tok, c->ow, c->n_ow);
    }
    if (!rc && !c->n_products)
        rc = fd_err_set(&rows_err, FD_EFORMAT, "products.csv: no product could be read%s%s",
                        rows_err.msg[0] ? ": " : "", rows_err.msg);
    fd_arena_free(a);
    if (rows_err.code && err && (rc || skipped))
        *err = rows_err;
    if (n_skipped)
        *n_skipped = skipped;
    if (rc) {
        fd_catalog_free(c);
        return rc;
    }
    *out = c;
    return FD_OK;
}

void fd_catalog_free(fd_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->ptok && i < 2 * c->n_products; i++)
        cm_item_free(&c->ptok[i]);
    for (size_t i = 0; c->ntok && i < c->n_products; i++)
        cm_item_free(&c->ntok[i]);
    for (size_t i = 0; c->otok && i < 2 * c->n_outlets; i++)
        cm_item_free(&c->otok[i]);
    for (size_t i = 0; i < c->n_strings; i++)
        fd_free(c->strings[i]);
    fd_free(c->strings);
    fd_free(c->syn_from);
    fd_free(c->syn_to);
    fd_free(c->products);
    fd_free(c->ptok);
    fd_free(c->ntok);
    fd_free(c->outlets);
    fd_free(c->otok);
    fd_free(c->pw_tok);
    fd_free(c->pw);
    fd_free(c->ow_tok);
    fd_free(c->ow);
    fd_free(c);
}

const fd_commerce_rules *fd_catalog_rules(const fd_catalog *c)
{
    return &c->rules;
}

size_t fd_catalog_n_products(const fd_catalog *c)
{
    return c ? c->n_products : 0;
}

const fd_product *fd_catalog_product(const fd_catalog *c, size_t i)
{
    return i < c->n_products ? &c->products[i] : NULL;
}

const fd_product *fd_catalog_by_code(const fd_catalog *c, const char *code)
{
    for (size_t i = 0; c && code && i < c->n_products; i++)
        if (strcasecmp(c->products[i].code, code) == 0)
            return &c->products[i];
    return NULL;
}

size_t fd_catalog_n_outlets(const fd_catalog *c)
{
    return c ? c->n_outlets : 0;
}

const fd_outlet *fd_catalog_outlet(const fd_catalog *c, size_t i)
{
    return i < c->n_outlets ? &c->outlets[i] : NULL;
}
