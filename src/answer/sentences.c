/* sentences.c: splits passages and answers into sentences. Markdown shapes
 * (headings, bullets, tables) end a unit by themselves; inside a unit a
 * full stop ends a sentence only when it cannot be an abbreviation, a
 * price ("S$1.20") or a time ("9:00 am"), so a quoted fact is never cut. */
#include "answer_int.h"

#include <ctype.h>

/* Words that take a full stop without ending a sentence (folded, no dot). */
static const char *const abbrevs[] = {
    "e.g", "i.e",  "eg",  "ie",  "etc",  "vs",  "pte", "ltd",    "co",   "inc",  "no",
    "nos", "mr",   "mrs", "ms",  "dr",   "st",  "ave", "approx", "incl", "excl", "min",
    "max", "tel",  "ref", "fig", "jan",  "feb", "mar", "apr",    "jun",  "jul",  "aug",
    "sep", "sept", "oct", "nov", "dec",  "bd",  "blk", "cf",     "env",  "mme",  "m",
    "av",  "p",    "pp",  "ex",  "dept", "est", "sgd",
};

typedef struct splitter {
    fd_str t;
    fd_arena *a;
    ans_sent *v;
    size_t n, cap;
    uint16_t block;
} splitter;

static int push(splitter *sp, size_t b, size_t e, size_t body, ans_kind kind)
{
    while (b < e && isspace((unsigned char)sp->t.p[b]))
        b++;
    while (e > b && isspace((unsigned char)sp->t.p[e - 1]))
        e--;
    if (e <= b + body)
        return 0;
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 32;
        ans_sent *v = fd_arena_alloc(sp->a, cap * sizeof *v);
        if (!v)
            return -1;
        if (sp->n)
            memcpy(v, sp->v, sp->n * sizeof *v);
        sp->v = v;
        sp->cap = cap;
    }
    ans_sent *s = &sp->v[sp->n++];
    memset(s, 0, sizeof *s);
    s->off = (uint32_t)b;
    s->len = (uint32_t)(e - b);
    s->body = (uint32_t)body;
    s->kind = (uint8_t)kind;
    s->block = sp->block;
    return 0;
}

static int is_abbrev(const char *w, size_t n)
{
    char buf[16];
    if (n == 0 || n >= sizeof buf)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)w[i]);
    buf[n] = 0;
    if (n == 1 && isalpha((unsigned char)w[0]))
        return 1; /* an initial: "J. Tan" */
    for (size_t i = 0; i < sizeof abbrevs / sizeof *abbrevs; i++)
        if (!strcmp(buf, abbrevs[i]))
            return 1;
    return 0;
}

/* Could the text at i start a new sentence? Lower case after a full stop
 * means the stop was inside one ("approx. half", "9 a.m. or later"). */
static int starts_sentence(fd_str t, size_t i)
{
    if (i >= t.len)
        return 1;
    unsigned char c = (unsigned char)t.p[i];
    if (c >= 0x80)
        return 1; /* accented capitals, quotes: assume a start */
    return isupper(c) || isdigit(c) || c == '"' || c == '(' || c == '\'' || c == '*' || c == '$' ||
           c == '[';
}

/* Skips spaces and "[n]" markers after a terminator; returns where the
 * sentence ends (after the last marker) and sets *next to the next text. */
static size_t skip_markers(fd_str t, size_t i, size_t e, size_t *next)
{
    size_t end = i;
    for (;;) {
        size_t j = i;
        while (j < e && (t.p[j] == ' ' || t.p[j] == '\t' || t.p[j] == '\n'))
            j++;
        if (j < e && t.p[j] == '[') {
            size_t k = j + 1;
            while (k < e && (isdigit((unsigned char)t.p[k]) || t.p[k] == ',' || t.p[k] == ' '))
                k++;
            if (k < e && t.p[k] == ']' && k > j + 1) {
                end = i = k + 1;
                continue;
            }
        }
        *next = j;
        return end;
    }
}

/* Sentences of the unit [b, e); the first one keeps `body` marker bytes. */
static int split_unit(splitter *sp, size_t b, size_t e, size_t body, ans_kind kind)
{
    fd_str t = sp->t;
    size_t start = b;
    for (size_t i = b + body; i < e; i++) {
        char c = t.p[i];
        if (c != '.' && c != '!' && c != '?')
            continue;
        size_t j = i + 1;
        while (j < e && (t.p[j] == '"' || t.p[j] == ')' || t.p[j] == '\''))
            j++;
        if (j < e && !isspace((unsigned char)t.p[j]) && t.p[j] != '[')
            continue; /* "S$1.20", "e.g.x", "harbourpack.com" */
        if (c == '.') {
            size_t w = i;
            while (w > start && !isspace((unsigned char)t.p[w - 1]) && t.p[w - 1] != '(')
                w--;
            if (is_abbrev(t.p + w, i - w))
                continue;
        }
        size_t next;
        size_t end = skip_markers(t, j, e, &next);
        if (next < e && !starts_sentence(t, next))
            continue;
        if (push(sp, start, end, start == b ? body : 0, kind))
            return -1;
        start = next;
        i = next > 0 ? next - 1 : next;
    }
    return push(sp, start, e, start == b ? body : 0, kind);
}

/* Bytes of a list marker at the start of line s ("- ", "* ", "12. "), or 0. */
static size_t list_marker(const char *s, size_t n)
{
    if (n >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ')
        return 2;
    size_t i = 0;
    while (i < n && i < 3 && isdigit((unsigned char)s[i]))
        i++;
    if (i > 0 && i + 1 < n && (s[i] == '.' || s[i] == ')') && s[i + 1] == ' ')
        return i + 2;
    return 0;
}

/* "unit_price_sgd: 21.00": a catalogue record puts one field per line,
 * each a statement of its own. */
static int field_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 32 && (islower((unsigned char)s[i]) || s[i] == '_'))
        i++;
    return i >= 2 && i + 1 < n && s[i] == ':' && s[i + 1] == ' ';
}

/* "|---|:--:|": layout. A dash is needed: "| |" is the blank header the
 * PDF and DOCX loaders give a table whose first row is data. */
static int is_table_separator(const char *s, size_t n)
{
    int dash = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strchr("|-: \t", s[i]))
            return 0;
        dash |= s[i] == '-';
    }
    return dash;
}

/* Skips a "---" front-matter block at the very start. */
static size_t front_matter_end(fd_str t)
{
    if (t.len < 4 || memcmp(t.p, "---\n", 4) != 0)
        return 0;
    for (size_t i = 4; i + 3 <= t.len; i++)
        if (t.p[i - 1] == '\n' && !memcmp(t.p + i, "---", 3)) {
            const char *nl = memchr(t.p + i, '\n', t.len - i);
            return nl ? (size_t)(nl - t.p) + 1 : t.len;
        }
    return 0;
}

/* State while walking lines: the open unit and the table header row. */
typedef struct unit {
    size_t b, e, body;
    ans_kind kind;
    int open;
    size_t hdr_off, hdr_len;
    int in_table;
} unit;

static int flush(splitter *sp, unit *u)
{
    int rc = 0;
    if (u->open)
        rc = split_unit(sp, u->b, u->e, u->body, u->kind);
    u->open = 0;
    return rc;
}

static int table_line(splitter *sp, unit *u, size_t b, size_t e)
{
    const char *s = sp->t.p + b;
    if (is_table_separator(s, e - b))
        return 0;
    if (!u->in_table) { /* the first row names the columns */
        u->in_table = 1;
        u->hdr_off = b;
        u->hdr_len = e - b;
        return 0;
    }
    if (push(sp, b, e, 0, ANS_ROW))
        return -1;
    sp->v[sp->n - 1].hdr_off = (uint32_t)u->hdr_off;
    sp->v[sp->n - 1].hdr_len = (uint32_t)u->hdr_len;
    return 0;
}

static int line(splitter *sp, unit *u, size_t b, size_t e)
{
    while (b < e && (sp->t.p[b] == ' ' || sp->t.p[b] == '\t'))
        b++;
    const char *s = sp->t.p + b;
    size_t n = e - b;
    if (n == 0 || s[0] != '|')
        u->in_table = 0;
    if (n == 0 || s[0] == '#' || s[0] == '|' || list_marker(s, n)) {
        if (flush(sp, u))
            return -1;
        sp->block++;
    }
    if (n == 0)
        return 0;
    if (s[0] == '|')
        return table_line(sp, u, b, e);
    if (s[0] == '#') {
        size_t lv = 0;
        while (lv < n && s[lv] == '#')
            lv++;
        size_t before = sp->n;
        if (push(sp, b, e, lv, ANS_HEADING))
            return -1;
        if (sp->n > before) /* "###" alone pushes nothing: no level to set */
            sp->v[sp->n - 1].level = (uint8_t)lv;
        sp->block++;
        return 0;
    }
    size_t m = list_marker(s, n);
    if (field_line(s, n) && u->open && flush(sp, u))
        return -1;
    if (m || !u->open) {
        *u = (unit){b, e, m, m ? ANS_ITEM : ANS_TEXT, 1, u->hdr_off, u->hdr_len, u->in_table};
        return 0;
    }
    u->e = e; /* a wrapped line continues the unit */
    return 0;
}

int ans_split(fd_str text, fd_arena *a, ans_sent **out, size_t *n, fd_err *err)
{
    splitter sp = {text, a, NULL, 0, 0, 0};
    unit u = {0};
    size_t i = front_matter_end(text);
    *out = NULL;
    *n = 0;
    while (i < text.len) {
        const char *nl = memchr(text.p + i, '\n', text.len - i);
        size_t e = nl ? (size_t)(nl - text.p) : text.len;
        if (line(&sp, &u, i, e))
            return ans_oom(a, err);
        i = e + 1;
    }
    if (flush(&sp, &u))
        return ans_oom(a, err);
    *out = sp.v;
    *n = sp.n;
    return FD_OK;
}

/* Cell k (0-based) of a table row, trimmed. */
static fd_str cell(const char *p, size_t n, size_t k)
{
    size_t i = 0;
    if (i < n && p[i] == '|')
        i++;
    for (size_t c = 0; i <= n; c++) {
        size_t j = i;
        while (j < n && p[j] != '|')
            j++;
        if (c == k) {
            while (i < j && isspace((unsigned char)p[i]))
                i++;
            while (j > i && isspace((unsigned char)p[j - 1]))
                j--;
            return (fd_str){p + i, j - i};
        }
        if (j >= n)
            break;
        i = j + 1;
    }
    return (fd_str){p, 0};
}

/* "| 12-inch | S$21.00 | S$23.50 |" under "| Size | Kraft | White |" reads
 * "12-inch: Kraft S$21.00, White S$23.50": the header names each value. */
static int row_text(fd_str t, const ans_sent *s, fd_arena *a, fd_str *out, fd_err *err)
{
    fd_buf b;
    fd_buf_init(&b, 1 << 16);
    const char *row = t.p + s->off, *hdr = t.p + s->hdr_off;
    int rc = 0;
    for (size_t k = 0; !rc; k++) {
        fd_str v = cell(row, s->len, k), h = cell(hdr, s->hdr_len, k);
        if (!v.len && !h.len)
            break;
        if (!v.len)
            continue;
        if (k == 0)
            rc = fd_buf_append(&b, v.p, v.len);
        else
            rc = fd_buf_printf(&b, "%s%.*s%s%.*s", k == 1 ? ": " : ", ", (int)h.len, h.p,
                               h.len ? " " : "", (int)v.len, v.p);
    }
    if (!rc && b.len) {
        char *p = fd_arena_strndup(a, b.p, b.len);
        if (!p)
            rc = ans_oom(a, err);
        else
            *out = (fd_str){p, b.len};
    } else if (rc) {
        rc = fd_err_set(err, rc, "table row too long");
    }
    fd_buf_free(&b);
    return rc;
}

/* ---- a catalogue field as a person writes it ---------------------------- */

/* The unit a column name ends with ("price_gbp", "weight_kg") and how the
 * label names it: "Price (GBP)", "Weight (kg)"; "" drops the word
 * ("stock_qty": "Stock"). The value keeps its own digits, no symbol added:
 * the validator checks every amount against the source's own text, where
 * "3.00" is not "£3.00". */
typedef struct unit_word {
    const char *word, *label;
} unit_word;

static const unit_word unit_words[] = {
    {"gbp", "GBP"},       {"usd", "USD"},     {"eur", "EUR"},   {"sgd", "SGD"},
    {"aud", "AUD"},       {"cad", "CAD"},     {"nzd", "NZD"},   {"chf", "CHF"},
    {"inr", "INR"},       {"pct", "%"},       {"percent", "%"}, {"kg", "kg"},
    {"g", "g"},           {"cm", "cm"},       {"mm", "mm"},     {"ml", "ml"},
    {"km", "km"},         {"min", "min"},     {"mins", "min"},  {"minutes", "minutes"},
    {"hours", "hours"},   {"hrs", "hours"},   {"days", "days"}, {"weeks", "weeks"},
    {"months", "months"}, {"years", "years"}, {"qty", ""},      {"count", ""},
    {"num", ""},
};

/* "price_gbp: 3.00" -> "Price (GBP): 3.00", "stock_qty: 40" -> "Stock: 40",
 * "sku: T2" -> "SKU: T2" (issue 14: answers printed raw column names). The
 * validator reads sources through this same function, so a rendered field
 * is compared with a source rendered alike. 0 when the line is not a field
 * or the result would not fit. */
static int field_text(const char *p, size_t n, fd_arena *a, fd_str *out)
{
    size_t k = 0;
    while (k < n && k < 32 && (islower((unsigned char)p[k]) || p[k] == '_'))
        k++;
    if (k < 2 || k + 2 > n || p[k] != ':' || p[k + 1] != ' ')
        return 0;
    fd_str name = {p, k}, val = {p + k + 2, n - k - 2};
    /* The unit is the last word of the name, when there is another. */
    const unit_word *u = NULL;
    const char *us = memrchr(name.p, '_', name.len);
    if (us) {
        fd_str last = {us + 1, (size_t)(name.p + name.len - us - 1)};
        for (size_t i = 0; i < sizeof unit_words / sizeof *unit_words && !u; i++)
            if (strlen(unit_words[i].word) == last.len &&
                memcmp(unit_words[i].word, last.p, last.len) == 0)
                u = &unit_words[i];
        if (u)
            name.len = (size_t)(us - name.p);
    }
    char label[40];
    size_t ln = 0;
    if ((name.len == 3 && memcmp(name.p, "sku", 3) == 0) ||
        (name.len == 2 && memcmp(name.p, "id", 2) == 0)) {
        for (; ln < name.len; ln++)
            label[ln] = (char)toupper((unsigned char)name.p[ln]);
    } else {
        for (size_t i = 0; i < name.len && ln + 1 < sizeof label; i++)
            label[ln++] = name.p[i] == '_' ? ' ' : name.p[i];
        while (ln && label[ln - 1] == ' ')
            ln--;
        if (ln)
            label[0] = (char)toupper((unsigned char)label[0]);
    }
    if (ln == 0)
        return 0;
    int labelled = u && *u->label;
    char *s = fd_arena_printf(a, "%.*s%s%s%s: %.*s", (int)ln, label, labelled ? " (" : "",
                              labelled ? u->label : "", labelled ? ")" : "", (int)val.len, val.p);
    if (!s)
        return 0;
    *out = (fd_str){s, strlen(s)};
    return 1;
}

int ans_sent_text(fd_str text, const ans_sent *s, fd_arena *a, fd_str *out, fd_err *err)
{
    if (s->kind == ANS_ROW && s->hdr_len) {
        *out = (fd_str){"", 0};
        return row_text(text, s, a, out, err);
    }
    size_t b = s->off + s->body, e = s->off + s->len;
    while (b < e && isspace((unsigned char)text.p[b]))
        b++;
    if (s->kind == ANS_TEXT && field_text(text.p + b, e - b, a, out))
        return FD_OK;
    *out = (fd_str){text.p + b, e - b};
    return FD_OK;
}
