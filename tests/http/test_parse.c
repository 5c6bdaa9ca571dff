/* test_parse.c: the parsers of what clients send (src/http/parse.c): each
 * route's body, the query arguments and the ids in paths, as tables of
 * {input, the answer the route gives} (status, error code, field and the
 * message the API has always sent), and the inputs the fuzzers found. */
#include "support.h"
#include "http_int.h"

#include <string.h>

/* The expected outcome: status 0 is acceptance. */
typedef struct want {
    int status;
    const char *code, *field, *msg; /* msg: a prefix of the message */
} want;

static void check(int rc, const http_perr *e, want w, const char *input)
{
    if (rc != w.status)
        fail_msg("%s: status %d, want %d (%s)", input, rc, w.status, rc ? e->msg : "accepted");
    if (!rc)
        return;
    assert_int_equal(e->status, rc);
    assert_string_equal(e->code, w.code);
    if (w.field)
        assert_string_equal(e->field ? e->field : "(none)", w.field);
    else
        assert_null(e->field);
    if (strncmp(e->msg, w.msg, strlen(w.msg)) != 0)
        fail_msg("%s: message '%s', want '%s...'", input, e->msg, w.msg);
}

static void test_chat(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        want w;
    } cases[] = {
        {"{\"message\":\"hi\"}", {0}},
        {"{\"message\":\"hi\",\"session_id\":\"s1\",\"user\":\"u\",\"trace\":false}", {0}},
        {"{\"message\":\"hi\",\"session_id\":null}", {0}},
        {"", {400, "invalid_json", NULL, "body is not a JSON object: "}},
        {"[\"message\"]", {400, "invalid_json", NULL, "body is not a JSON object"}},
        {"{\"message\":\"a\",\"message\":\"b\"}",
         {400, "invalid_json", NULL, "body is not a JSON"}},
        {"{\"message\":\"a\\u0000b\"}", {400, "invalid_json", NULL, "body is not a JSON object: "}},
        {"{}", {422, "invalid_field", "message", "message is required"}},
        {"{\"message\":[\"x\"]}", {422, "invalid_field", "message", "message must be a string"}},
        {"{\"message\":null}", {422, "invalid_field", "message", "message must be a string"}},
        {"{\"message\":\"hi\",\"session_id\":5}",
         {422, "invalid_field", "session_id", "session_id must be a string"}},
        {"{\"message\":\"hi\",\"user\":{}}",
         {422, "invalid_field", "user", "user must be a string"}},
        {"{\"message\":\"hi\",\"trace\":null}",
         {422, "invalid_field", "trace", "trace must be true or false"}},
        {"{\"message\":\"hi\",\"trace\":\"yes\"}",
         {422, "invalid_field", "trace", "trace must be true or false"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_chat_body cb;
        http_perr e;
        int rc = http_parse_chat(cases[i].body, strlen(cases[i].body), &cb, &e);
        check(rc, &e, cases[i].w, cases[i].body);
        if (rc)
            assert_null(cb.j);
        json_decref(cb.j);
    }
    http_chat_body cb;
    http_perr e;
    const char *b = "{\"message\":\"h\\u00e9\",\"user\":\"u\",\"trace\":true}";
    assert_int_equal(http_parse_chat(b, strlen(b), &cb, &e), 0);
    assert_string_equal(cb.message, "h\xc3\xa9");
    assert_int_equal(cb.len, 3);
    assert_string_equal(cb.user, "u");
    assert_null(cb.session_id);
    assert_int_equal(cb.trace, 1);
    json_decref(cb.j);
    /* The body as the server holds it may be NULL (nothing sent). */
    assert_int_equal(http_parse_chat(NULL, 0, &cb, &e), 400);
}

static void test_completion(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        want w;
        const char *text; /* accepted: the message answered */
    } cases[] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", {0}, "hi"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"first\"},{\"role\":\"assistant\","
         "\"content\":\"x\"},{\"role\":\"user\",\"content\":\"last\"}],\"stream\":null,\"n\":1,"
         "\"tools\":[],\"tool_choice\":\"none\"}",
         {0},
         "last"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
         "{\"type\":\"image_url\"},{\"type\":\"text\",\"text\":\"b\"}]}]}",
         {0},
         "a\nb"},
        /* a user message without text: an earlier one is answered */
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"earlier\"},{\"role\":\"user\","
         "\"content\":[]}]}",
         {0},
         "earlier"},
        {"{}", {400, "invalid_messages", "messages", "messages must be a non-empty array"}, NULL},
        {"{\"messages\":[]}",
         {400, "invalid_messages", "messages", "messages must be a non-empty array"},
         NULL},
        {"{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"}]}",
         {400, "no_user_message", "messages", "messages has no user message"},
         NULL},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}",
         {400, "no_user_message", "messages", "messages has no user message"},
         NULL},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"model\":5}",
         {400, "invalid_field", "model", "model must be a string"},
         NULL},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":\"yes\"}",
         {400, "invalid_field", "stream", "stream must be a boolean"},
         NULL},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":2}",
         {400, "unsupported_parameter", "n", "n must be 1"},
         NULL},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"function_call\":\"auto\"}",
         {400, "unsupported_parameter", "function_call", "tool and function calls are not"},
         NULL},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"user\":1}",
         {422, "invalid_field", "user", "user must be a string"},
         NULL},
    };
    fd_arena *a = fd_arena_new(1 << 20);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_completion_body cb;
        http_perr e;
        int rc = http_parse_completion(cases[i].body, strlen(cases[i].body), a, &cb, &e);
        check(rc, &e, cases[i].w, cases[i].body);
        if (!rc) {
            assert_string_equal(cb.text, cases[i].text);
            assert_int_equal(cb.len, strlen(cases[i].text));
        }
        json_decref(cb.j);
    }
    /* The history's opening: the first user message and the reply to it. */
    const char *b = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"system\","
                    "\"content\":\"s\"},{\"role\":\"user\",\"content\":\"q1\"},{\"role\":"
                    "\"assistant\",\"content\":\"a1\"},{\"role\":\"user\",\"content\":\"q2\"}]}";
    http_completion_body cb;
    http_perr e;
    assert_int_equal(http_parse_completion(b, strlen(b), a, &cb, &e), 0);
    assert_string_equal(cb.model, "m");
    assert_int_equal(cb.stream, 1);
    const char *u, *as;
    size_t un, an;
    assert_int_equal(http_parse_opening(cb.messages, a, &u, &un, &as, &an), 1);
    assert_string_equal(u, "q1");
    assert_string_equal(as, "a1");
    json_decref(cb.j);
    b = "{\"messages\":[{\"role\":\"user\",\"content\":\"only\"}]}";
    assert_int_equal(http_parse_completion(b, strlen(b), a, &cb, &e), 0);
    assert_int_equal(http_parse_opening(cb.messages, a, &u, &un, &as, &an), 0);
    json_decref(cb.j);
    fd_arena_free(a);
}

static void test_rating(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        want w;
    } cases[] = {
        {"{\"score\":5}", {0}},
        {"{\"score\":1,\"comment\":\"slow\"}", {0}},
        {"{\"score\":0}", {422, "invalid_field", "score", "score must be an integer from 1 to 5"}},
        {"{\"score\":6}", {422, "invalid_field", "score", "score must be an integer"}},
        {"{\"score\":4.0}", {422, "invalid_field", "score", "score must be an integer"}},
        {"{\"score\":\"5\"}", {422, "invalid_field", "score", "score must be an integer"}},
        {"{\"score\":3,\"comment\":7}",
         {422, "invalid_field", "comment", "comment must be a string"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_rating_body rb;
        http_perr e;
        int rc = http_parse_rating(cases[i].body, strlen(cases[i].body), &rb, &e);
        check(rc, &e, cases[i].w, cases[i].body);
        json_decref(rb.j);
    }
    char body[1200];
    http_rating_body rb;
    http_perr e;
    snprintf(body, sizeof body, "{\"score\":2,\"comment\":\"%01000d\"}", 0);
    assert_int_equal(http_parse_rating(body, strlen(body), &rb, &e), 0);
    assert_int_equal(rb.score, 2);
    assert_int_equal(rb.comment_len, 1000);
    json_decref(rb.j);
    snprintf(body, sizeof body, "{\"score\":2,\"comment\":\"%01001d\"}", 0);
    check(http_parse_rating(body, strlen(body), &rb, &e), &e,
          (want){422, "invalid_field", "comment", "comment must be at most 1000 bytes"}, "1001");
}

static void test_upload(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        want w;
        fd_format fmt;
    } cases[] = {
        {"{\"id\":\"faq/returns.md\",\"content\":\"# R\\n\\nx\",\"tag\":\"faq\",\"title\":\"R\"}",
         {0},
         FD_FMT_MARKDOWN},
        {"{\"id\":\"notes\",\"content\":\"x\",\"format\":\"text\"}", {0}, FD_FMT_TEXT},
        {"{\"id\":\"a.pdf\",\"content_base64\":\"JVBE\\nRi0x\"}", {0}, FD_FMT_PDF},
        {"{\"content\":\"x\"}", {422, "invalid_field", "id", "id is required"}, 0},
        {"{\"id\":\"a.md\"}", {422, "invalid_field", "content", "content is required"}, 0},
        {"{\"id\":\"a.md\",\"content\":5}",
         {422, "invalid_field", "content", "content must be"},
         0},
        {"{\"id\":\"a.md\",\"content\":\"x\",\"content_base64\":\"eA==\"}",
         {422, "invalid_field", "content_base64", "give content or content_base64, not both"},
         0},
        {"{\"id\":\"a.pdf\",\"content_base64\":\"!!!!\"}",
         {422, "invalid_field", "content_base64", "content_base64 is not valid base64"},
         0},
        {"{\"id\":\"a.md\",\"content\":\"x\",\"format\":\"odt\"}",
         {422, "invalid_field", "format", "format must be markdown"},
         0},
        {"{\"id\":\"../a.md\",\"content\":\"x\"}",
         {422, "invalid_field", "id", "id must not contain '..'"},
         0},
        {"{\"id\":\"a//b.md\",\"content\":\"x\"}",
         {422, "invalid_field", "id", "id must be a relative path"},
         0},
        {"{\"id\":\"x/.git/a.md\",\"content\":\"x\"}",
         {422, "invalid_field", "id", "id segments must not start with '.'"},
         0},
        {"{\"id\":\"a b.md\",\"content\":\"x\"}",
         {422, "invalid_field", "id", "id may hold only"},
         0},
        {"{\"id\":\"rows.jsonl\",\"content\":\"{}\"}",
         {422, "invalid_field", "format", "give format"},
         0},
        {"{\"id\":\"a.md\",\"content\":\"x\",\"format\":\"pdf\"}",
         {422, "invalid_field", "id", "the id of a PDF must end in .pdf"},
         0},
        {"{\"id\":\"a.md\",\"content_base64\":\"eA==\"}",
         {422, "invalid_field", "content_base64", "content_base64 is for pdf and docx"},
         0},
        {"{\"id\":\"a.md\",\"content\":\"x\",\"tag\":\"a tag\"}",
         {422, "invalid_field", "tag", "tag must be 1..64"},
         0},
        {"{\"id\":\"a.md\",\"content\":\"x\",\"title\":\"\"}",
         {422, "invalid_field", "title", "title must be 1..300 bytes"},
         0},
        {"{\"id\":\"a.md\",\"content\":\"\"}",
         {422, "invalid_field", "content", "content is empty"},
         0},
    };
    fd_arena *a = fd_arena_new(1 << 20);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_upload u;
        http_perr e;
        int rc = http_parse_upload_json(cases[i].body, strlen(cases[i].body), a, &u, &e);
        rc = rc ? rc : http_upload_check(&u, &e);
        check(rc, &e, cases[i].w, cases[i].body);
        if (!rc)
            assert_int_equal(u.fmt, cases[i].fmt);
        json_decref(u.j);
    }
    /* Raw bodies: the media type is the format. */
    http_upload u;
    http_perr e;
    assert_int_equal(http_parse_upload_raw("text/markdown; charset=utf-8", "n/z.md", "notes", NULL,
                                           "# Z\n", 4, &u, &e),
                     0);
    assert_int_equal(http_upload_check(&u, &e), 0);
    assert_int_equal(u.fmt, FD_FMT_MARKDOWN);
    check(http_parse_upload_raw("application/x-www-form-urlencoded", "a.txt", NULL, NULL, "x", 1,
                                &u, &e),
          &e, (want){415, "unsupported_media_type", NULL, "send application/json"}, "form");
    check(http_parse_upload_raw(NULL, "a.txt", NULL, NULL, "x", 1, &u, &e), &e,
          (want){415, "unsupported_media_type", NULL, "send application/json"}, "no type");
    assert_int_equal(http_parse_upload_raw("text/plain", "a.txt", NULL, NULL, "a\xff", 2, &u, &e),
                     0);
    check(http_upload_check(&u, &e), &e,
          (want){400, "invalid_utf8", "content", "content is not valid UTF-8 (byte 1)"}, "latin1");
    assert_int_equal(http_parse_upload_raw("text/plain", "a.txt", NULL, NULL, "a\0b", 3, &u, &e),
                     0);
    /* fd_utf8_valid refuses NUL itself: the upload's own NUL check is
     * a second line of defence that this never reaches. */
    check(http_upload_check(&u, &e), &e,
          (want){400, "invalid_utf8", "content", "content is not valid UTF-8 (byte 1)"}, "NUL");
    assert_int_equal(http_parse_upload_raw("text/plain", "a.txt", NULL, NULL, NULL, 0, &u, &e), 0);
    check(http_upload_check(&u, &e), &e,
          (want){422, "invalid_field", "content", "content is empty"}, "empty");
    fd_arena_free(a);
}

static void test_texts(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        want w;
    } cases[] = {
        {"{\"message\":\"on my way\"}", {0}},
        {"{\"message\":\"\"}", {422, "invalid_field", "message", "message must be a non-empty"}},
        {"{\"message\":5}", {422, "invalid_field", "message", "message must be a non-empty"}},
        {"{}",
         {422, "invalid_field", "message", "message must be a non-empty string of at most 10 "}},
        {"{\"message\":\"12345678901\"}", {422, "invalid_field", "message", "message must be"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j;
        http_perr e;
        assert_int_equal(http_parse_json_object(cases[i].body, strlen(cases[i].body), &j, &e), 0);
        const char *v;
        check(http_parse_text_member(j, "message", 10, &v, &e), &e, cases[i].w, cases[i].body);
        json_decref(j);
    }
}

/* The agents' members: required or optional, bounded. (A NUL inside,
 * "\u0000", never gets this far: the JSON parse refuses it, 400.) */
static void test_agent_members(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int required;
        want w;
        const char *value;
    } cases[] = {
        {"{\"name\":\"ana\"}", 1, {0}, "ana"},
        {"{}", 0, {0}, ""},
        {"{\"name\":\"\"}", 0, {0}, ""},
        {"{}", 1, {422, "invalid_field", "name", "name must be a non-empty string of at most 5 "}},
        {"{\"name\":\"\"}", 1, {422, "invalid_field", "name", "name must be a non-empty"}},
        {"{\"name\":null}", 0, {422, "invalid_field", "name", "name must be a string of at most"}},
        {"{\"name\":[\"ana\"]}", 1, {422, "invalid_field", "name", "name must be"}},
        {"{\"name\":\"abcdef\"}", 1, {422, "invalid_field", "name", "name must be"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j;
        http_perr e;
        assert_int_equal(http_parse_json_object(cases[i].body, strlen(cases[i].body), &j, &e), 0);
        const char *v = NULL;
        check(http_parse_string_member(j, "name", cases[i].required, 5, &v, &e), &e, cases[i].w,
              cases[i].body);
        if (!cases[i].w.status)
            assert_string_equal(v, cases[i].value);
        json_decref(j);
    }
}

static void test_queries(void **state)
{
    (void)state;
    http_perr e;
    http_search_query sq;
    assert_int_equal(http_parse_search_query("refund", NULL, NULL, "bm25", 5, &sq, &e), 0);
    assert_int_equal(sq.k, 5);
    assert_int_equal(sq.mode, FD_SEARCH_BM25);
    assert_int_equal(http_parse_search_query("refund", "100", "dense", "bm25", 5, &sq, &e), 0);
    assert_int_equal(sq.k, 100);
    assert_int_equal(sq.mode, FD_SEARCH_DENSE);
    static const struct {
        const char *q, *k, *mode;
        want w;
    } sc[] = {
        {NULL, NULL, NULL, {422, "invalid_field", "q", "q is required"}},
        {"", "5", NULL, {422, "invalid_field", "q", "q is required"}},
        {"x", NULL, "fuzzy", {422, "invalid_field", "mode", "mode must be bm25, dense or hybrid"}},
        {"x", "0", NULL, {422, "invalid_field", "k", "k must be 1..100"}},
        {"x", "101", NULL, {422, "invalid_field", "k", "k must be 1..100"}},
        {"x", "5x", NULL, {422, "invalid_field", "k", "k must be 1..100"}},
        {"x", "", NULL, {422, "invalid_field", "k", "k must be 1..100"}},
        {"x", "99999999999999999999999", NULL, {422, "invalid_field", "k", "k must be 1..100"}},
    };
    for (size_t i = 0; i < sizeof sc / sizeof *sc; i++)
        check(http_parse_search_query(sc[i].q, sc[i].k, sc[i].mode, "hybrid", 5, &sq, &e), &e,
              sc[i].w, "search");

    http_handoffs_query hq;
    assert_int_equal(http_parse_handoffs_query(NULL, NULL, NULL, &hq, &e), 0);
    assert_int_equal(hq.limit, 0);
    assert_int_equal(http_parse_handoffs_query("open", "  late box", NULL, &hq, &e), 0);
    assert_string_equal(hq.q, "late box");
    assert_int_equal(hq.limit, 20);
    assert_int_equal(http_parse_handoffs_query(NULL, NULL, "7", &hq, &e), 0);
    assert_int_equal(hq.limit, 7);
    check(http_parse_handoffs_query("closed", NULL, NULL, &hq, &e), &e,
          (want){422, "invalid_field", "status", "status must be open, claimed or resolved"}, "s");
    check(http_parse_handoffs_query(NULL, "   ", NULL, &hq, &e), &e,
          (want){422, "invalid_field", "q", "q must be 1 to 200 bytes of UTF-8 text"}, "q");
    check(http_parse_handoffs_query(NULL, "a\xff", NULL, &hq, &e), &e,
          (want){422, "invalid_field", "q", "q must be 1 to 200"}, "q utf8");
    check(http_parse_handoffs_query(NULL, "x", "101", &hq, &e), &e,
          (want){422, "invalid_field", "limit", "limit must be a number from 1 to 100"}, "l");
    check(http_parse_handoffs_query(NULL, NULL, "", &hq, &e), &e,
          (want){422, "invalid_field", "limit", "limit must be a number"}, "l empty");

    long lim;
    assert_int_equal(http_parse_orders_query(NULL, NULL, &lim, &e), 0);
    assert_int_equal(lim, 100);
    assert_int_equal(http_parse_orders_query("invoiced", "1000", &lim, &e), 0);
    assert_int_equal(lim, 1000);
    check(http_parse_orders_query("shipped", NULL, &lim, &e), &e,
          (want){422, "invalid_field", "status", "status must be confirmed, review"}, "st");
    check(http_parse_orders_query(NULL, "1001", &lim, &e), &e,
          (want){422, "invalid_field", "limit", "limit must be 1 to 1000"}, "lim");
    check(http_parse_orders_query(NULL, "", &lim, &e), &e,
          (want){422, "invalid_field", "limit", "limit must be 1 to 1000"}, "lim empty");

    int64_t after;
    assert_int_equal(http_parse_session_after(NULL, &after, &e), 0);
    assert_int_equal(after, -1);
    assert_int_equal(http_parse_session_after("12", &after, &e), 0);
    assert_int_equal(after, 12);
    assert_int_equal(http_parse_session_after("", &after, &e), 0); /* as it always was: 0 */
    assert_int_equal(after, 0);
    check(http_parse_session_after("-1", &after, &e), &e,
          (want){422, "invalid_field", "after", "after must be a turn number >= 0"}, "-1");
    check(http_parse_session_after("3x", &after, &e), &e,
          (want){422, "invalid_field", "after", "after must be a turn number"}, "3x");
    double since;
    assert_int_equal(http_parse_queue_after("1500", &since, &e), 0);
    assert_true(since == 1.5);
    check(http_parse_queue_after("", &since, &e), &e,
          (want){422, "invalid_field", "after", "after must be a sync event's id"}, "empty");

    assert_true(http_visitor_token_ok("abcdefghijklmnopqrstuv"));
    assert_false(http_visitor_token_ok("abcdefghijklmnopqrstu"));
    assert_false(http_visitor_token_ok("abcdefghijklmnopqrstuv!"));
    assert_true(http_idem_key_ok("order-1"));
    assert_false(http_idem_key_ok("has space"));
    assert_false(http_idem_key_ok(""));
    assert_true(http_request_id_ok("req-1.a_b", 40));
    assert_false(http_request_id_ok("<img>", 40));
    assert_false(http_request_id_ok(NULL, 40));
    assert_true(http_media_type_is("Application/JSON; charset=utf-8", "application/json"));
    assert_false(http_media_type_is("application/jsonx", "application/json"));
    assert_false(http_media_type_is(NULL, "application/json"));
    assert_true(
        http_origin_listed("https://shop.example", " https://a.example , https://shop.example "));
    assert_false(http_origin_listed("https://shop.example", "https://shop.example.evil"));
    assert_false(http_origin_listed("https://shop", "https://shop.example"));
    assert_true(http_origin_listed("null", "*"));
    assert_false(http_origin_listed(NULL, "*"));
    assert_false(http_origin_listed("https://shop.example", ""));
    assert_true(http_origin_is_host("http://LOCALHOST:8080", "localhost:8080"));
    assert_false(http_origin_is_host("ftp://localhost:8080", "localhost:8080"));
    assert_false(http_origin_is_host("https://localhost:8080", NULL));
}

static void test_paths(void **state)
{
    (void)state;
    char long_sid[128], long_uid[300];
    snprintf(long_sid, sizeof long_sid, "/v1/sessions/%080d/events", 0);
    snprintf(long_uid, sizeof long_uid, "/v1/users/%0256d/export", 0);
    static const struct {
        const char *url;
        http_path_kind kind;
        const char *id, *action;
        long long handoff;
    } cases[] = {
        {"/v1/documents/faq/a.md", HTTP_PATH_DOCUMENT, "faq/a.md", NULL, 0},
        {"/v1/documents/", HTTP_PATH_DOCUMENT, "", NULL, 0},
        {"/v1/sessions/s1", HTTP_PATH_SESSION, "s1", NULL, 0},
        {"/v1/sessions/s1/events", HTTP_PATH_SESSION_EVENTS, "s1", NULL, 0},
        {"/v1/sessions/s1/rating", HTTP_PATH_SESSION_RATING, "s1", NULL, 0},
        {"/v1/sessions/", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/sessions//events", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/sessions/a/b", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/users/u@x", HTTP_PATH_USER, "u@x", NULL, 0},
        {"/v1/users/u@x/export", HTTP_PATH_USER_EXPORT, "u@x", NULL, 0},
        {"/v1/users/u/x", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/orders/ORD-1", HTTP_PATH_ORDER, "ORD-1", NULL, 0},
        {"/v1/orders/a/b", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/handoffs/12", HTTP_PATH_HANDOFF, "", NULL, 12},
        {"/v1/handoffs/HD-000011", HTTP_PATH_HANDOFF, "", NULL, 11},
        {"/v1/handoffs/hd-7/claim", HTTP_PATH_HANDOFF_ACTION, "", "claim", 7},
        {"/v1/handoffs/3/", HTTP_PATH_HANDOFF_ACTION, "", "", 3},
        {"/v1/handoffs/0", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/handoffs/-1/claim", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/handoffs/+1", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/handoffs/HD-", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/handoffs/1/a/b", HTTP_PATH_NONE, "", NULL, 0},
        {"/v1/chat", HTTP_PATH_NONE, "", NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_path p;
        http_path_kind k = http_parse_path(cases[i].url, &p);
        if (k != cases[i].kind)
            fail_msg("%s: kind %d, want %d", cases[i].url, k, cases[i].kind);
        assert_string_equal(p.id, cases[i].id);
        if (cases[i].action)
            assert_string_equal(p.action, cases[i].action);
        else
            assert_null(p.action);
        assert_int_equal(p.handoff, cases[i].handoff);
        assert_int_equal(p.too_long, 0);
    }
    http_path p;
    assert_int_equal(http_parse_path(long_sid, &p), HTTP_PATH_SESSION_EVENTS);
    assert_int_equal(p.too_long, 1);
    long_sid[13 + 79] = '\0';
    strcat(long_sid, "/rating");
    assert_int_equal(http_parse_path(long_sid, &p), HTTP_PATH_SESSION_RATING);
    assert_int_equal(p.too_long, 0);
    assert_int_equal(strlen(p.id), 79);
    assert_int_equal(http_parse_path(long_uid, &p), HTTP_PATH_USER_EXPORT);
    assert_int_equal(p.too_long, 1);
}

/* Request smuggling shapes: the framing headers of a request, in order. */
static void test_framing(void **state)
{
    (void)state;
    static const struct {
        const char *h[4][2];
        const char *why; /* NULL: clear */
    } cases[] = {
        {{{"Host", "x"}, {"Content-Length", "16"}}, NULL},
        {{{"Content-Length", "16"}, {"Content-Length", "16"}}, NULL},
        {{{"transfer-encoding", "Chunked"}}, NULL},
        {{{"Transfer-Encoding", " chunked "}}, NULL},
        {{{"Content-Length", "16"}, {"Content-Length", "57"}},
         "Content-Length given twice with different values"},
        {{{"Content-Length", "30"}, {"Transfer-Encoding", "chunked"}},
         "Transfer-Encoding with Content-Length"},
        {{{"Transfer-Encoding", "chunked"}, {"content-length", "4"}},
         "Transfer-Encoding with Content-Length"},
        /* libmicrohttpd keeps the space in the name: neither is framing to
         * it, and "Content-Length : 16" left the body to run as a request */
        {{{"Content-Length ", "16"}}, "whitespace in a header field name"},
        {{{"Transfer-Encoding ", "chunked"}, {"Content-Length", "16"}},
         "whitespace in a header field name"},
        /* an obs-fold line glued onto the name by libmicrohttpd */
        {{{"Content-Length5", "16"}}, "a folded Content-Length or Transfer-Encoding line"},
        {{{"transfer-encodingchunked", ""}, {"Content-Length", "16"}},
         "a folded Content-Length or Transfer-Encoding line"},
        {{{"Content-Lengths-Of-Things", "x"}}, "a folded Content-Length or Transfer-Encoding line"},
        {{{"Content-Type", "text/plain"}, {"Content-Length", "16"}}, NULL},
        {{{"Transfer-Encoding", "xchunked"}}, "a Transfer-Encoding other than chunked"},
        {{{"Transfer-Encoding", "chunked, identity"}}, "a Transfer-Encoding other than chunked"},
        {{{"Transfer-Encoding", "gzip, chunked"}}, "a Transfer-Encoding other than chunked"},
        {{{"Transfer-Encoding", ""}}, "a Transfer-Encoding other than chunked"},
        {{{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
         "Transfer-Encoding given twice"},
        {{{"Content-Length", "16 5"}}, "Content-Length is not a number"},
        {{{"Content-Length", ""}}, "Content-Length is not a number"},
        {{{"Content-Length", "-5"}}, "Content-Length is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_framing f = {0};
        for (size_t k = 0; k < 4 && cases[i].h[k][0]; k++)
            http_framing_add(&f, cases[i].h[k][0], cases[i].h[k][1]);
        const char *why = http_framing_problem(&f);
        if (cases[i].why)
            assert_string_equal(why ? why : "(clear)", cases[i].why);
        else if (why)
            fail_msg("case %zu: %s", i, why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat),    cmocka_unit_test(test_completion),
        cmocka_unit_test(test_rating),  cmocka_unit_test(test_upload),
        cmocka_unit_test(test_texts),   cmocka_unit_test(test_agent_members),
        cmocka_unit_test(test_queries), cmocka_unit_test(test_paths),
        cmocka_unit_test(test_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
