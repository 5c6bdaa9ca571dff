/* order_int.h: the order being taken in a conversation (order.c), kept in
 * the session's slots between turns. */
#ifndef FD_DIALOG_ORDER_INT_H
#define FD_DIALOG_ORDER_INT_H

#include "commerce.h"
#include "store.h"

#define ORDER_MAX_LINES 12

typedef struct order_line {
    char code[48];
    int64_t qty; /* units */
} order_line;

typedef struct order_draft {
    char key[20]; /* the confirmation's idempotency key (with the session id) */
    order_line lines[ORDER_MAX_LINES];
    size_t n;
    /* a product named ambiguously, waiting for the customer's choice */
    char pend[FD_MATCH_MAX][48];
    size_t n_pend;
    int64_t pend_qty;    /* units; negative: that many packs */
    char pend_words[64]; /* how the customer named it ("lids"): a choice adds to it */
    int pend_more;       /* more fit than pend holds: "for example" */
    char customer_id[48], outlet[96];
    char named[48];      /* a customer named whose outlet is still asked (several) */
    char date[16];       /* YYYY-MM-DD */
    char window[16];     /* "morning" */
    char asked[16];      /* what the last reply asked for: "outlet", "date" */
    int confirming;      /* the summary was shown: "yes" places it */
    char last_order[32]; /* the order this session placed last */
} order_draft;

/* From the slots' "order" member (NULL or bad: empty; returns 0). */
int order_draft_parse(const char *json, order_draft *d);
/* The draft as JSON, "null" when there is none. */
int order_draft_json(const order_draft *d, fd_buf *b);

#endif
