/* templates_int.h: fixed replies (templates.c). */
#ifndef FD_DIALOG_TEMPLATES_INT_H
#define FD_DIALOG_TEMPLATES_INT_H

#include "text.h"

/* The template for key in lang (English when lang is not French); some
 * take one %s (the company's name). NULL for an unknown key. */
const char *dialog_template(const char *key, fd_lang lang);

#endif
