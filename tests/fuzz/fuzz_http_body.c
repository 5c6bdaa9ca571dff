/* fuzz_http_body.c: the request bodies of every route (src/http/parse.c),
 * which any client with a key, or any visitor in widget mode, can send.
 * The first byte picks the parser (its value mod 7):
 *   0 POST /v1/chat            1 POST /v1/chat/completions (and the history)
 *   2 POST .../rating          3 POST /v1/documents, JSON (then its checks)
 *   4 POST /v1/documents, raw: "content-type \x01 id \x01 tag \x01 title \x01 body"
 *     (a field "\x02" is an absent query argument; then its checks)
 *   5 handoff reply and note   6 any JSON object, its optional strings
 *                                and the agents' members (sign-in, accounts)
 * Each must accept (and then hold what it promises) or refuse with a
 * 4xx/500 whose error body is valid JSON; never crash, leak or read past
 * the input. */
#include "http_int.h"

#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/* A string the parser promised: NUL-ended at len, no NUL before (the
 * routes use strlen on them), valid UTF-8 (jansson decodes only that). */
static void check_text(const char *p, size_t len)
{
    CHECK(p);
    CHECK(p[len] == '\0');
    CHECK(!memchr(p, '\0', len));
    CHECK(fd_utf8_valid(p, len, NULL));
}

static void check_opt(const char *p)
{
    if (p)
        check_text(p, strlen(p));
}

/* A refusal: a status the API uses, and an error body that parses. */
static void check_refusal(int rc, const http_perr *e)
{
    CHECK(rc == e->status);
    CHECK(rc == 400 || rc == 404 || rc == 413 || rc == 415 || rc == 422 || rc == 500);
    CHECK(e->code && e->code[0]);
    CHECK(memchr(e->msg, '\0', sizeof e->msg));
    fd_buf b;
    fd_buf_init(&b, 1 << 16);
    int brc = fd_buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", e->code);
    brc = brc ? brc : fd_buf_json_str(&b, e->msg, strlen(e->msg));
    if (!brc && e->field) {
        brc = fd_buf_printf(&b, ",\"field\":");
        brc = brc ? brc : fd_buf_json_str(&b, e->field, strlen(e->field));
    }
    brc = brc ? brc : fd_buf_printf(&b, "}}");
    CHECK(!brc);
    json_t *j = json_loadb(b.p, b.len, 0, NULL);
    CHECK(j);
    json_decref(j);
    fd_buf_free(&b);
}

static void chat(const char *p, size_t n)
{
    http_chat_body cb;
    http_perr e;
    int rc = http_parse_chat(p, n, &cb, &e);
    if (rc) {
        CHECK(!cb.j);
        check_refusal(rc, &e);
        return;
    }
    CHECK(json_is_object(cb.j));
    check_text(cb.message, cb.len);
    check_opt(cb.session_id);
    check_opt(cb.user);
    CHECK(cb.trace == 0 || cb.trace == 1);
    json_decref(cb.j);
}

static void completion(const char *p, size_t n, fd_arena *a)
{
    http_completion_body cb;
    http_perr e;
    int rc = http_parse_completion(p, n, a, &cb, &e);
    if (rc) {
        CHECK(!cb.j);
        check_refusal(rc, &e);
        return;
    }
    CHECK(cb.len > 0);
    check_text(cb.text, cb.len);
    check_opt(cb.model);
    check_opt(cb.user);
    check_opt(cb.session_id);
    CHECK(json_is_array(cb.messages) && json_array_size(cb.messages) > 0);
    const char *u, *as;
    size_t un, an;
    if (http_parse_opening(cb.messages, a, &u, &un, &as, &an)) {
        CHECK(un > 0 && an > 0);
        check_text(u, un);
        check_text(as, an);
    }
    json_decref(cb.j);
}

static void rating(const char *p, size_t n)
{
    http_rating_body rb;
    http_perr e;
    int rc = http_parse_rating(p, n, &rb, &e);
    if (rc) {
        CHECK(!rb.j);
        check_refusal(rc, &e);
        return;
    }
    CHECK(rb.score >= 1 && rb.score <= 5);
    CHECK(rb.comment_len <= HTTP_RATING_COMMENT_MAX);
    if (rb.comment)
        check_text(rb.comment, rb.comment_len);
    json_decref(rb.j);
}

/* After the parse, the checks; what passes them is what gets stored. */
static void upload_checked(http_upload *u, int rc, const http_perr *e0)
{
    http_perr e = *e0;
    rc = rc ? rc : http_upload_check(u, &e);
    if (rc) {
        json_decref(u->j);
        check_refusal(rc, &e);
        return;
    }
    CHECK(u->id && !http_upload_id_problem(u->id));
    CHECK(u->fmt != FD_FMT_UNKNOWN && u->fmt != FD_FMT_JSONL);
    CHECK(u->len > 0 && u->p);
    if (!fd_format_is_binary(u->fmt))
        CHECK(fd_utf8_valid(u->p, u->len, NULL) && !memchr(u->p, '\0', u->len));
    check_opt(u->title);
    json_decref(u->j);
}

static void upload_json(const char *p, size_t n, fd_arena *a)
{
    http_upload u;
    http_perr e = {0};
    int rc = http_parse_upload_json(p, n, a, &u, &e);
    if (rc)
        CHECK(!u.j);
    upload_checked(&u, rc, &e);
}

/* The next \x01-separated field as a NUL-ended copy in a (NULL for "\x02"
 * or past the end); MHD hands the query's values over NUL-ended too. */
static const char *field(const char **p, const char *end, fd_arena *a)
{
    if (*p > end)
        return NULL;
    const char *sep = memchr(*p, 1, (size_t)(end - *p));
    size_t n = sep ? (size_t)(sep - *p) : (size_t)(end - *p);
    const char *f = *p;
    *p = sep ? sep + 1 : end + 1;
    if (n == 1 && f[0] == 2)
        return NULL;
    return fd_arena_strndup(a, f, n);
}

static void upload_raw(const char *p, size_t n, fd_arena *a)
{
    const char *end = p + n;
    const char *ct = field(&p, end, a), *id = field(&p, end, a), *tag = field(&p, end, a),
               *title = field(&p, end, a);
    size_t bn = p <= end ? (size_t)(end - p) : 0;
    http_upload u;
    http_perr e = {0};
    int rc = http_parse_upload_raw(ct, id, tag, title, bn ? p : NULL, bn, &u, &e);
    CHECK(!u.j);
    upload_checked(&u, rc, &e);
}

static void handoff_texts(const char *p, size_t n)
{
    json_t *j;
    http_perr e;
    int rc = http_parse_json_object(p, n, &j, &e);
    if (rc) {
        check_refusal(rc, &e);
        return;
    }
    static const struct {
        const char *name;
        size_t max;
    } t[] = {{"message", 4000}, {"text", 2000}};
    for (size_t i = 0; i < 2; i++) {
        const char *v;
        rc = http_parse_text_member(j, t[i].name, t[i].max, &v, &e);
        if (rc)
            check_refusal(rc, &e);
        else
            CHECK(strlen(v) >= 1 && strlen(v) <= t[i].max && fd_utf8_valid(v, strlen(v), NULL));
    }
    json_decref(j);
}

static void any_object(const char *p, size_t n)
{
    json_t *j;
    http_perr e;
    int rc = http_parse_json_object(p, n, &j, &e);
    if (rc) {
        check_refusal(rc, &e);
        return;
    }
    static const char *const names[] = {"id", "user", "session_id", "comment", "format", ""};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v;
        rc = http_parse_opt_string(j, names[i], &v, &e);
        if (rc)
            check_refusal(rc, &e);
        else
            check_opt(v);
    }
    /* The agents' bodies: sign-in {name, password}, an account {name,
     * display_name?, password}, a new password {password}. */
    static const struct {
        const char *name;
        int required;
        size_t max;
    } m[] = {{"name", 1, 256}, {"name", 1, 63}, {"display_name", 0, 512}, {"password", 1, 1024}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
        const char *v;
        rc = http_parse_string_member(j, m[i].name, m[i].required, m[i].max, &v, &e);
        if (rc) {
            check_refusal(rc, &e);
            continue;
        }
        CHECK(v);
        CHECK(strlen(v) <= m[i].max);
        CHECK(!m[i].required || v[0]);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    /* The body as the server holds it: its own buffer, NUL-ended (fd_buf). */
    char *p = malloc(size);
    if (!p)
        return 0;
    memcpy(p, data + 1, size - 1);
    p[size - 1] = '\0';
    size_t n = size - 1;
    fd_arena *a = fd_arena_new((size_t)8 << 20);
    if (!a) {
        free(p);
        return 0;
    }
    switch (data[0] % 7) {
    case 0:
        chat(p, n);
        break;
    case 1:
        completion(p, n, a);
        break;
    case 2:
        rating(p, n);
        break;
    case 3:
        upload_json(p, n, a);
        break;
    case 4:
        upload_raw(p, n, a);
        break;
    case 5:
        handoff_texts(p, n);
        break;
    default:
        any_object(p, n);
        break;
    }
    fd_arena_free(a);
    free(p);
    return 0;
}
