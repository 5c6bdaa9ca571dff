/* xref.c: cross-references between pages. A policy sentence often hands
 * the detail to another page ("To change the default delivery address,
 * see Account management."); the composer follows such a reference to the
 * page it names, when that page is among its passages, so the answer
 * holds the detail and cites where it comes from. */
#include "answer_int.h"

#include <ctype.h>

/* Words that introduce a page name, folded; the name must follow with a
 * capital letter (a title), so "see you soon" is no reference. */
static const char *const cues[] = {"see ", "voir "};

static int cue_at(fd_str s, size_t i, size_t *len)
{
    if (i > 0 && isalnum((unsigned char)s.p[i - 1]))
        return 0;
    for (size_t k = 0; k < sizeof cues / sizeof *cues; k++) {
        size_t n = strlen(cues[k]);
        if (i + n >= s.len)
            continue;
        size_t j = 0;
        while (j < n && tolower((unsigned char)s.p[i + j]) == cues[k][j])
            j++;
        if (j == n && isupper((unsigned char)s.p[i + n])) {
            *len = n;
            return 1;
        }
    }
    return 0;
}

size_t ans_xref_spans(fd_str sent, fd_str *out, size_t max)
{
    size_t n = 0, cue;
    for (size_t i = 0; i < sent.len && n < max; i++) {
        if (!cue_at(sent, i, &cue))
            continue;
        size_t b = i + cue, e = b;
        /* the name runs to the end of the clause */
        while (e < sent.len && !strchr(".;,:()!?\n", sent.p[e]))
            e++;
        while (e > b && sent.p[e - 1] == ' ')
            e--;
        if (e > b)
            out[n++] = (fd_str){sent.p + b, e - b};
        i = e;
    }
    return n;
}

/* How many terms of x are in y. */
static size_t n_common(const ans_bag *x, const ans_bag *y)
{
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++)
        k += ans_bag_has(y, x->v[i]);
    return k;
}

double ans_xref_names(const ans_bag *ref, const ans_bag *title)
{
    if (!ref->n || !title->n)
        return 0;
    /* "see Credit accounts to apply for..." names "Credit accounts";
     * "see Privacy" names "Privacy and personal data"; "see Account
     * management" names "Managing your account" (same stems). */
    size_t k = n_common(title, ref);
    if (k != title->n && k != ref->n)
        return 0;
    return (double)k / (double)(ref->n > title->n ? ref->n : title->n);
}
