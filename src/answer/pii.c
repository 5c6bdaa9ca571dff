/* pii.c: removes emails, phone numbers and card-like digit runs from an
 * answer unless the sources carry them (our own phone and addresses must
 * survive; a customer's number echoed by an LLM must not). */
#include "answer_int.h"

#include <ctype.h>

#define REDACTED "[redacted]"
/* Eight digits: a Singapore phone number without its country code. Fewer
 * would catch postal codes, prices and order numbers. */
#define PHONE_MIN_DIGITS 8

static int email_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '%';
}

/* Email at the '@' at i: sets [*b, *e) or returns 0. */
static int email_at(fd_str t, size_t i, size_t *b, size_t *e)
{
    size_t s = i, f = i + 1;
    while (s > 0 && email_char(t.p[s - 1]))
        s--;
    int dot = 0;
    while (f < t.len && email_char(t.p[f])) {
        dot |= t.p[f] == '.';
        f++;
    }
    while (f > i + 1 && (t.p[f - 1] == '.' || t.p[f - 1] == '-'))
        f--; /* the full stop ending the sentence */
    if (s == i || f <= i + 1 || !dot)
        return 0;
    *b = s;
    *e = f;
    return 1;
}

/* Phone or card number starting at i: digits with spaces, hyphens,
 * parentheses and a leading '+'. Sets [*b, *e), the digits in dig. */
static int phone_at(fd_str t, size_t i, size_t *e, char *dig, size_t *n_dig)
{
    if (i > 0) {
        char pc = t.p[i - 1];
        if (isalnum((unsigned char)pc) || pc == '-' || pc == '$' || pc == '.' || pc == ',' ||
            pc == '#')
            return 0; /* inside a code, price or number */
    }
    size_t j = i, last = i, nd = 0;
    if (j < t.len && t.p[j] == '+')
        j++;
    while (j < t.len) {
        char c = t.p[j];
        if (isdigit((unsigned char)c)) {
            if (nd < 31)
                dig[nd] = c;
            nd++;
            last = j + 1;
        } else if (!(c == ' ' || c == '-' || c == '(' || c == ')')) {
            break;
        } else if (c == ' ' && j + 1 < t.len && !isdigit((unsigned char)t.p[j + 1]) &&
                   t.p[j + 1] != '(') {
            break;
        }
        j++;
    }
    if (nd < PHONE_MIN_DIGITS || nd > 19)
        return 0;
    if (last < t.len && isalpha((unsigned char)t.p[last]))
        return 0; /* "12345678abc": a code */
    if (last + 1 < t.len && t.p[last] == '.' && isdigit((unsigned char)t.p[last + 1]))
        return 0; /* a decimal number */
    *e = last;
    *n_dig = nd < 31 ? nd : 31;
    dig[*n_dig] = 0;
    return 1;
}

/* Does keep hold this phone number (by digits; a missing country code on
 * one side is fine) or this email (case-insensitive)? */
static int kept_phone(fd_str keep, const char *dig, size_t nd)
{
    char kd[32];
    size_t ke, kn;
    for (size_t i = 0; i < keep.len; i++) {
        if (!(isdigit((unsigned char)keep.p[i]) || keep.p[i] == '+'))
            continue;
        if (!phone_at(keep, i, &ke, kd, &kn)) {
            while (i + 1 < keep.len && isdigit((unsigned char)keep.p[i + 1]))
                i++;
            continue;
        }
        size_t m = kn < nd ? kn : nd;
        if (m >= PHONE_MIN_DIGITS && !memcmp(kd + kn - m, dig + nd - m, m))
            return 1;
        i = ke;
    }
    return 0;
}

static int kept_text(fd_str keep, const char *p, size_t n)
{
    for (size_t i = 0; n && i + n <= keep.len; i++) {
        size_t k = 0;
        while (k < n && tolower((unsigned char)keep.p[i + k]) == tolower((unsigned char)p[k]))
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

int fd_pii_redact(fd_str text, fd_str keep, fd_arena *a, fd_str *out, size_t *n_redacted,
                  fd_err *err)
{
    size_t bad, count = 0;
    if (!fd_utf8_valid(text.p, text.len, &bad))
        return fd_err_set(err, FD_EUTF8, "pii: text is not UTF-8 (byte %zu)", bad);
    /* "[redacted]" replaces at least 5 bytes ("a@b.c") or 8 digits. */
    size_t cap = 2 * text.len + sizeof REDACTED + 1;
    char *o = fd_arena_alloc(a, cap);
    if (!o)
        return ans_oom(a, err);
    size_t n = 0, i = 0, b, e, nd;
    char dig[32];
    while (i < text.len) {
        char c = text.p[i];
        /* an email starts a run of email characters that reaches an '@' */
        if (email_char(c) && (i == 0 || !email_char(text.p[i - 1]))) {
            size_t at = i;
            while (at < text.len && email_char(text.p[at]))
                at++;
            if (at < text.len && text.p[at] == '@' && email_at(text, at, &b, &e) && b == i) {
                int keep_it = kept_text(keep, text.p + b, e - b);
                const char *src = keep_it ? text.p + b : REDACTED;
                size_t len = keep_it ? e - b : sizeof REDACTED - 1;
                memcpy(o + n, src, len);
                n += len;
                count += !keep_it;
                i = e;
                continue;
            }
        }
        if ((isdigit((unsigned char)c) || c == '+') && phone_at(text, i, &e, dig, &nd)) {
            int keep_it = kept_phone(keep, dig, nd);
            const char *src = keep_it ? text.p + i : REDACTED;
            size_t len = keep_it ? e - i : sizeof REDACTED - 1;
            memcpy(o + n, src, len);
            n += len;
            count += !keep_it;
            i = e;
            continue;
        }
        o[n++] = c;
        i++;
    }
    o[n] = 0;
    *out = (fd_str){o, n};
    if (n_redacted)
        *n_redacted = count;
    return FD_OK;
}
