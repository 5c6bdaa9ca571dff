/* cli_converse.c: `frontdesk ask` (one question) and `frontdesk chat` (an
 * interactive conversation with streamed output and a persisted session). */
#include "cli_int.h"

#include "dialog.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct converse {
    cli_ctx *c;
    fd_kb *kb;
    fd_assistant *as;
    fd_arena *a;
} converse;

static int open_converse(cli_ctx *c, converse *cv)
{
    memset(cv, 0, sizeof *cv);
    cv->c = c;
    int rc = cli_open_kb(c, &cv->kb);
    if (rc)
        return rc;
    fd_err err = {0};
    if (fd_assistant_open(&c->cfg, c->log, cv->kb, &cv->as, &err) != FD_OK) {
        fd_kb_close(cv->kb);
        return cli_fail(c, &err);
    }
    cv->a = fd_arena_new(0);
    if (!cv->a) {
        fd_assistant_close(cv->as);
        fd_kb_close(cv->kb);
        fd_err_set(&err, FD_ENOMEM, "out of memory");
        return cli_fail(c, &err);
    }
    return 0;
}

static void close_converse(converse *cv)
{
    fd_arena_free(cv->a);
    fd_assistant_close(cv->as);
    fd_kb_close(cv->kb);
}

static void print_sources(FILE *out, const fd_reply *r)
{
    for (size_t i = 0; i < r->n_citations; i++) {
        const fd_reply_cite *ct = &r->citations[i];
        fprintf(out, "  [%zu] %s%s%s (%s)\n", i + 1, ct->title,
                ct->section && ct->section[0] ? " > " : "", ct->section ? ct->section : "",
                ct->document);
    }
    if (r->escalation_tier)
        fprintf(out, "  handed to: %s, ticket %s (%s)\n", r->escalation_tier,
                r->escalation_ticket && r->escalation_ticket[0] ? r->escalation_ticket : "-",
                r->escalation_reason ? r->escalation_reason : "");
    if (r->degraded)
        fprintf(out, "  (the language model was unavailable: answer taken from the documents)\n");
}

int cli_cmd_ask(cli_ctx *c)
{
    static const struct option opts[] = {
        {"session", required_argument, NULL, 's'}, {"user", required_argument, NULL, 'u'},
        {"json", no_argument, NULL, 'j'},          {"trace", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *session = NULL, *user = NULL;
    int ch, trace = 0;
    while ((ch = getopt_long(c->argc, c->argv, "+s:u:jth", opts, NULL)) != -1) {
        if (ch == 't')
            trace = c->json = 1;
        else if (ch == 's')
            session = optarg;
        else if (ch == 'u')
            user = optarg;
        else if (ch == 'j')
            c->json = 1;
        else
            return cli_usage("ask");
    }
    if (optind >= c->argc)
        return cli_usage("ask");
    fd_buf q;
    fd_buf_init(&q, 1 << 20);
    for (int i = optind; i < c->argc; i++)
        if ((i > optind && fd_buf_putc(&q, ' ')) ||
            fd_buf_append(&q, c->argv[i], strlen(c->argv[i]))) {
            fd_buf_free(&q);
            return 1;
        }
    size_t blank = 0;
    while (blank < q.len && (q.p[blank] == ' ' || q.p[blank] == '\t' || q.p[blank] == '\n'))
        blank++;
    if (blank == q.len) {
        fd_buf_free(&q);
        fd_err e = {0};
        fd_err_set_field(&e, FD_EINVAL, "message", "the question is empty");
        return cli_fail_code(c, "invalid_field", &e);
    }
    converse cv;
    int rc = open_converse(c, &cv);
    if (rc) {
        fd_buf_free(&q);
        return rc;
    }
    fd_turn_in in = {
        .message = q.p, .len = q.len, .session_id = session, .user = user, .trace = trace};
    fd_reply r;
    fd_err err = {0};
    rc = fd_assistant_turn(cv.as, cv.kb, &in, NULL, cv.a, &r, &err);
    if (rc) {
        /* the codes POST /v1/chat answers with for the same message */
        const char *code = fd_code_name(err.code);
        if (err.code == FD_ETOOBIG && strcmp(err.field, "message") == 0)
            code = "message_too_long";
        else if (err.code == FD_EUTF8)
            code = "invalid_utf8";
        else if (err.code == FD_EINVAL)
            code = "invalid_field";
        rc = cli_fail_code(c, code, &err);
    } else if (c->json) {
        fd_buf out;
        fd_buf_init(&out, 0);
        if (fd_reply_json(&r, &out) == FD_OK)
            printf("%s\n", out.p);
        fd_buf_free(&out);
    } else {
        printf("%s\n", r.answer);
        print_sources(stdout, &r);
        fprintf(stderr, "session: %s\n", r.session_id);
    }
    close_converse(&cv);
    fd_buf_free(&q);
    return rc;
}

/* ---- chat ---------------------------------------------------------------- */

static void chat_text(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    fwrite(p, 1, n, stdout);
    fflush(stdout);
}

static void chat_reset(void *ctx)
{
    (void)ctx;
    fputs("\n[correction: that answer could not be checked against our documents]\n", stdout);
    fflush(stdout);
}

int cli_cmd_chat(cli_ctx *c)
{
    static const struct option opts[] = {{"session", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char session[80] = "";
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "+s:h", opts, NULL)) != -1) {
        if (ch == 's')
            snprintf(session, sizeof session, "%s", optarg);
        else
            return cli_usage("chat");
    }
    converse cv;
    int rc = open_converse(c, &cv);
    if (rc)
        return rc;
    int tty = isatty(0) && isatty(1);
    if (tty)
        printf("frontdesk chat%s. Type your question; /new starts over, /quit leaves.\n",
               fd_assistant_has_llm(cv.as) ? " (with a language model)" : "");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    fd_turn_sink sink = {chat_text, chat_reset, NULL};
    for (;;) {
        if (tty) {
            printf("\nyou> ");
            fflush(stdout);
        }
        if ((n = getline(&line, &cap, stdin)) < 0)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (strcmp(line, "/quit") == 0 || strcmp(line, "/exit") == 0)
            break;
        if (strcmp(line, "/new") == 0) {
            session[0] = '\0';
            printf("(new conversation)\n");
            continue;
        }
        fd_arena_reset(cv.a);
        fd_turn_in in = {.message = line, .len = (size_t)n, .session_id = session};
        fd_reply r;
        fd_err err = {0};
        if (tty)
            printf("bot> ");
        if (fd_assistant_turn(cv.as, cv.kb, &in, &sink, cv.a, &r, &err) != FD_OK) {
            printf("\n");
            cli_fail(c, &err);
            if (err.code == FD_EIO || err.code == FD_ENOMEM) {
                rc = 1;
                break;
            }
            continue;
        }
        printf("\n");
        print_sources(stdout, &r);
        if (!session[0]) {
            snprintf(session, sizeof session, "%s", r.session_id);
            if (tty)
                printf("(session %s)\n", session);
        }
        fflush(stdout);
    }
    free(line);
    close_converse(&cv);
    return rc;
}
