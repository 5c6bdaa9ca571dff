/* session_int.h: slots and follow-up rewriting (session.c). */
#ifndef FD_DIALOG_SESSION_INT_H
#define FD_DIALOG_SESSION_INT_H

#include "dialog_int.h"
#include "order_int.h"

enum {
    SLOT_OUTLET,
    SLOT_PLACE,
    SLOT_PRODUCT,
    SLOT_SIZE,
    SLOT_QUANTITY,
    SLOT_DATE,
    SLOT_ORDER_ID,
    SLOT_EMAIL,
    SLOT_PHONE,
    N_SLOTS
};

typedef struct session_slots {
    char v[N_SLOTS][96];
    char last_question[512]; /* the last knowledge question, after rewriting */
    int offered;             /* the last reply declined it and offered to pass it on */
    order_draft order;       /* the order being taken (order.c) */
} session_slots;

const char *session_slot_name(int i);
/* From the session's JSON (missing or bad JSON: empty slots; returns 0). */
int session_slots_parse(const char *json, session_slots *s);
int session_slots_json(const session_slots *s, fd_buf *b);
/* Remembers what this message names (entities, outlet and place phrases). */
int session_update_slots(session_slots *s, fd_str text, const fd_entities *ents, fd_arena *a);
/* A standalone retrieval query for a follow-up: 0 if the message stands
 * alone, 1 if rewritten into a question of its own (an entity swapped,
 * "there" named), SESSION_PASTED if the follow-up was appended to the
 * topic question ("... saturdays? and sundays?"): such a query is not a
 * topic of its own and must not become the next turn's last_question, or
 * queries snowball turn after turn. */
#define SESSION_PASTED 2
int session_rewrite(const session_slots *s, fd_str msg, fd_str folded, const fd_entities *ents,
                    const fd_nlu_ctx *nctx, fd_arena *a, fd_str *query);

#endif
