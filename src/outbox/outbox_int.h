/* outbox_int.h: private to src/outbox/ (acct.c: the API and tokens;
 * worker.c: the delivery loop). */
#ifndef FD_OUTBOX_INT_H
#define FD_OUTBOX_INT_H

#include "outbox.h"

#include <curl/curl.h>
#include <strings.h>

typedef struct acct_resp {
    int status; /* 0: no answer (refused, timed out) */
    fd_buf body;
    double retry_after; /* seconds, from Retry-After; 0 if none */
} acct_resp;

/* POST body to url; out->body and status filled (free with acct_resp_free
 * even on failure). FD_ETIMEOUT / FD_EUNAVAIL when no answer came. */
int acct_http(const fd_config *cfg, const char *url, const char *const *headers, const char *body,
              const char *userpwd, acct_resp *out, fd_err *err);
void acct_resp_free(acct_resp *r);

typedef struct acct_tokens {
    char access[4096];
    double expires_at;
    char refresh[2048];
    int refused;   /* the token endpoint refused the refresh token */
    int refreshes; /* done by this process */
} acct_tokens;

/* A valid access token in t (refreshed and the rotated refresh token
 * stored first when needed). */
int acct_access_token(const fd_config *cfg, fd_store *st, acct_tokens *t, fd_err *err);
/* The outbox row's invoice as the API's JSON ({"Invoices":[...]}). */
int acct_invoice_body(const fd_outbox_row *row, fd_buf *out, fd_err *err);

#endif
