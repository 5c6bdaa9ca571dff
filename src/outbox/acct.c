/* acct.c: the accounting API's side: HTTP calls (libcurl), the OAuth2
 * tokens and their encryption at rest (OpenSSL AES-256-GCM), and the
 * invoice in the API's shape. */
#include "outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* curl_global_init must run once per process before any handle. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- HTTP ------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    acct_resp *r = ctx;
    return fd_buf_append(&r->body, p, size * n) ? 0 : size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    acct_resp *r = ctx;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        r->retry_after = atof(p + 12);
    return len;
}

int acct_http(const fd_config *cfg, const char *url, const char *const *headers, const char *body,
              const char *userpwd, acct_resp *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    fd_buf_init(&out->body, 1 << 20);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return fd_err_set(err, FD_EUNAVAIL, "curl_global_init failed");
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(h, headers[i]);
        if (!n) {
            curl_slist_free_all(h);
            if (e)
                curl_easy_cleanup(e);
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        }
        h = n;
    }
    if (!e) {
        curl_slist_free_all(h);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "frontdesk/" FD_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->acct_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->acct_timeout_ms);
    if (userpwd) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERPWD, userpwd);
    }
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    out->status = (int)status;
    if (rc != CURLE_OK) {
        out->status = 0;
        return fd_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? FD_ETIMEOUT : FD_EUNAVAIL, "%s: %s",
                          url, curl_easy_strerror(rc));
    }
    return FD_OK;
}

void acct_resp_free(acct_resp *r)
{
    fd_buf_free(&r->body);
}

/* ---- the key and the sealed refresh token ------------------------------------ */

static void key_path(const fd_config *cfg, char *out, size_t cap)
{
    if (cfg->acct_key_file[0])
        snprintf(out, cap, "%s", cfg->acct_key_file);
    else
        snprintf(out, cap, "%s/accounting.key", cfg->data_dir);
}

/* The 32-byte key; made (0600, random) when create and it does not exist. */
static int load_key(const fd_config *cfg, int create, unsigned char key[32], fd_err *err)
{
    char path[600];
    key_path(cfg, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (RAND_bytes(key, 32) != 1)
            return fd_err_set(err, FD_EIO, "no randomness for the accounting key");
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return fd_err_set(err, FD_EIO, "cannot create %s: %s", path, strerror(errno));
        int ok = write(fd, key, 32) == 32 && fsync(fd) == 0;
        close(fd);
        return ok ? FD_OK : fd_err_set(err, FD_EIO, "cannot write %s", path);
    }
    if (fd < 0)
        return fd_err_set(err, FD_EUNAVAIL, "accounting key %s: %s", path, strerror(errno));
    ssize_t n = read(fd, key, 32);
    close(fd);
    return n == 32 ? FD_OK : fd_err_set(err, FD_EFORMAT, "accounting key %s is not 32 bytes", path);
}

/* iv (12) | tag (16) | ciphertext */
static int seal(const unsigned char key[32], const char *plain, unsigned char **out, size_t *len,
                fd_err *err)
{
    size_t n = strlen(plain);
    unsigned char *b = fd_malloc(28 + n + 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = b && c && RAND_bytes(b, 12) == 1 &&
             EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, b) == 1;
    int l1 = 0, l2 = 0;
    ok = ok && EVP_EncryptUpdate(c, b + 28, &l1, (const unsigned char *)plain, (int)n) == 1;
    ok = ok && EVP_EncryptFinal_ex(c, b + 28 + l1, &l2) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, b + 12) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        fd_free(b);
        return fd_err_set(err, FD_EINTERNAL, "cannot encrypt the refresh token");
    }
    *out = b;
    *len = 28 + (size_t)l1 + (size_t)l2;
    return FD_OK;
}

static int unseal(const unsigned char key[32], const unsigned char *b, size_t len, char *out,
                  size_t cap, fd_err *err)
{
    if (len < 28 || len - 28 >= cap)
        return fd_err_set(err, FD_EFORMAT, "stored refresh token is damaged");
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, b) == 1 &&
             EVP_DecryptUpdate(c, (unsigned char *)out, &l1, b + 28, (int)(len - 28)) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(b + 12)) == 1 &&
             EVP_DecryptFinal_ex(c, (unsigned char *)out + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        return fd_err_set(err, FD_EFORMAT,
                          "the stored refresh token does not decrypt with the accounting key "
                          "(another key file?): run frontdesk accounting connect");
    out[l1 + l2] = '\0';
    return FD_OK;
}

/* Stores a new refresh token, committed: after this returns FD_OK a crash
 * loses nothing. */
static int store_refresh(const fd_config *cfg, fd_store *st, const char *refresh, int create_key,
                         fd_err *err)
{
    unsigned char key[32], *blob = NULL;
    size_t len = 0;
    int rc = load_key(cfg, create_key, key, err);
    rc = rc ? rc : seal(key, refresh, &blob, &len, err);
    rc = rc ? rc : fd_store_begin(st, err);
    if (!rc) {
        rc = fd_store_acct_token_put(st, blob, len, err);
        rc = rc ? (fd_store_rollback(st), rc) : fd_store_commit(st, err);
    }
    fd_free(blob);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* ---- OAuth2 ----------------------------------------------------------------------- */

static int token_call(const fd_config *cfg, const char *form, acct_tokens *t, fd_err *err)
{
    if (!cfg->acct_client_id[0])
        return fd_err_set(err, FD_EUNAVAIL, "accounting.client_id is not set");
    char userpwd[600];
    snprintf(userpwd, sizeof userpwd, "%s:%s", cfg->acct_client_id, cfg->acct_client_secret);
    static const char *const hdr[] = {"Content-Type: application/x-www-form-urlencoded",
                                      "Accept: application/json", NULL};
    acct_resp r;
    int rc = acct_http(cfg, cfg->acct_token_url, hdr, form, userpwd, &r, err);
    OPENSSL_cleanse(userpwd, sizeof userpwd);
    json_t *j = rc ? NULL : json_loadb(r.body.p ? r.body.p : "", r.body.len, 0, NULL);
    if (!rc && r.status != 200) {
        const char *e = json_string_value(json_object_get(j, "error"));
        rc = fd_err_set(err, FD_EUPSTREAM, "token endpoint answered %d%s%s", r.status,
                        e ? ": " : "", e ? e : "");
        t->refused = r.status == 400 || r.status == 401;
    }
    const char *acc = json_string_value(json_object_get(j, "access_token"));
    const char *ref = json_string_value(json_object_get(j, "refresh_token"));
    json_t *exp = json_object_get(j, "expires_in");
    if (!rc &&
        (!acc || !ref || strlen(acc) >= sizeof t->access || strlen(ref) >= sizeof t->refresh))
        rc = fd_err_set(err, FD_EUPSTREAM, "token endpoint answered without usable tokens");
    if (!rc) {
        snprintf(t->access, sizeof t->access, "%s", acc);
        snprintf(t->refresh, sizeof t->refresh, "%s", ref);
        double ttl = json_is_number(exp) ? json_number_value(exp) : 1800;
        /* a minute early: a token that dies in flight costs a retry */
        t->expires_at = fd_time_wall() + (ttl > 120 ? ttl - 60 : ttl / 2);
    }
    json_decref(j);
    acct_resp_free(&r);
    return rc;
}

static int form_escape(char *out, size_t cap, const char *s)
{
    CURL *e = curl_easy_init();
    char *x = e ? curl_easy_escape(e, s, 0) : NULL;
    int ok = x && strlen(x) < cap;
    if (ok)
        snprintf(out, cap, "%s", x);
    curl_free(x);
    if (e)
        curl_easy_cleanup(e);
    return ok ? FD_OK : FD_ENOMEM;
}

int fd_accounting_connect(const fd_config *cfg, fd_store *st, const char *code,
                          const char *redirect_uri, fd_err *err)
{
    pthread_once(&curl_once, curl_init);
    char c[2048], u[1024], form[4096];
    if (!code || !*code)
        return fd_err_set_field(err, FD_EINVAL, "code", "an authorization code is needed");
    if (form_escape(c, sizeof c, code) ||
        form_escape(u, sizeof u, redirect_uri ? redirect_uri : ""))
        return fd_err_set(err, FD_EINVAL, "code or redirect URI too long");
    snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&redirect_uri=%s", c, u);
    acct_tokens t = {0};
    int rc = token_call(cfg, form, &t, err);
    rc = rc ? rc : store_refresh(cfg, st, t.refresh, 1, err);
    OPENSSL_cleanse(&t, sizeof t);
    return rc;
}

int acct_access_token(const fd_config *cfg, fd_store *st, acct_tokens *t, fd_err *err)
{
    if (t->access[0] && fd_time_wall() < t->expires_at)
        return FD_OK;
    t->access[0] = '\0';
    /* the stored token is the truth: another process may have rotated it */
    fd_arena *a = fd_arena_new(0);
    const void *blob;
    size_t len;
    int64_t gen;
    unsigned char key[32];
    char refresh[sizeof t->refresh];
    int rc = a ? fd_store_acct_token_get(st, a, &blob, &len, &gen, err)
               : fd_err_set(err, FD_ENOMEM, "out of memory");
    rc = rc ? rc : load_key(cfg, 0, key, err);
    rc = rc ? rc : unseal(key, blob, len, refresh, sizeof refresh, err);
    fd_arena_free(a);
    OPENSSL_cleanse(key, sizeof key);
    if (rc == FD_ENOTFOUND)
        return fd_err_set(
            err, FD_EUNAVAIL,
            "not connected to the accounting system: run frontdesk accounting connect");
    if (rc)
        return rc;
    char esc[sizeof refresh * 3], form[sizeof esc + 64];
    rc = form_escape(esc, sizeof esc, refresh);
    OPENSSL_cleanse(refresh, sizeof refresh);
    if (rc)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    snprintf(form, sizeof form, "grant_type=refresh_token&refresh_token=%s", esc);
    rc = token_call(cfg, form, t, err);
    OPENSSL_cleanse(esc, sizeof esc);
    OPENSSL_cleanse(form, sizeof form);
    if (rc)
        return rc;
    /* the rotated token is kept before its access token is used */
    rc = store_refresh(cfg, st, t->refresh, 0, err);
    if (rc)
        t->access[0] = '\0';
    t->refreshes++;
    return rc;
}

int fd_accounting_status_get(const fd_config *cfg, fd_store *st, fd_accounting_status *out,
                             fd_err *err)
{
    memset(out, 0, sizeof *out);
    out->configured = cfg->acct_url[0] != '\0';
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    const void *blob;
    size_t len;
    unsigned char key[32];
    char plain[4096];
    fd_err e;
    if (fd_store_acct_token_get(st, a, &blob, &len, &out->generation, &e) == FD_OK &&
        load_key(cfg, 0, key, &e) == FD_OK &&
        unseal(key, blob, len, plain, sizeof plain, &e) == FD_OK)
        out->connected = 1;
    OPENSSL_cleanse(plain, sizeof plain);
    OPENSSL_cleanse(key, sizeof key);
    fd_arena_free(a);
    return fd_store_outbox_counts(st, out->outbox, err);
}

/* ---- the invoice in the API's shape ------------------------------------------------- */

int acct_invoice_body(const fd_outbox_row *row, fd_buf *out, fd_err *err)
{
    json_error_t je;
    json_t *p = json_loads(row->payload, 0, &je);
    if (!p)
        return fd_err_set(err, FD_EFORMAT, "outbox row %lld: payload is not JSON",
                          (long long)row->id);
    json_t *lines = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(p, "lines"), i, l)
    {
        json_t *line =
            json_pack("{s:O?, s:O?, s:O?, s:s}", "Description", json_object_get(l, "description"),
                      "Quantity", json_object_get(l, "quantity"), "UnitAmount",
                      json_object_get(l, "unit_amount"), "TaxType", "OUTPUT");
        /* a discount or a fee has no item code (null in the payload) */
        json_t *code = json_object_get(l, "code");
        if (line && json_is_string(code))
            json_object_set(line, "ItemCode", code);
        json_array_append_new(lines, line);
    }
    const char *contact = json_string_value(json_object_get(p, "contact_id"));
    json_t *c = contact && *contact ? json_pack("{s:s}", "ContactID", contact)
                                    : json_pack("{s:O?}", "Name", json_object_get(p, "customer"));
    json_t *inv =
        json_pack("{s:s, s:o, s:O?, s:O?, s:s, s:O?, s:s, s:s, s:o}", "Type", "ACCREC", "Contact",
                  c, "Date", json_object_get(p, "date"), "DueDate", json_object_get(p, "due_date"),
                  "Reference", row->order_ref, "CurrencyCode", json_object_get(p, "currency"),
                  "LineAmountTypes", "Exclusive", "Status", "AUTHORISED", "LineItems", lines);
    json_t *body = inv ? json_pack("{s:[o]}", "Invoices", inv) : NULL;
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    json_decref(p);
    int rc = s ? fd_buf_append(out, s, strlen(s)) : FD_ENOMEM;
    free(s);
    return rc ? fd_err_set(err, FD_ENOMEM, "out of memory") : FD_OK;
}
