/* escalate.c: escalation rules from the knowledge base's escalation.toml
 * (or .json): which messages go to a person, at which tier, with which
 * holding message. Deterministic and local, like every decision outside
 * the LLM call. The rule semantics are documented in the example file. */
#include "dialog_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Folds s (accents, case) into a fresh fd_malloc'd string; NULL on error. */
static char *fold_dup(const char *s)
{
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return NULL;
    fd_str out;
    char *r = NULL;
    if (fd_text_fold(fd_str_c(s), a, &out, NULL) == FD_OK)
        r = fd_strndup(out.p, out.len);
    fd_arena_free(a);
    return r;
}

static int str_list(json_t *arr, int fold, char ***out, size_t *n, fd_err *err)
{
    *out = NULL;
    *n = 0;
    if (!arr)
        return FD_OK;
    if (!json_is_array(arr))
        return fd_err_set(err, FD_EFORMAT, "escalation rules: expected a list of strings");
    size_t m = json_array_size(arr);
    if (m == 0)
        return FD_OK;
    char **v = fd_calloc(m, sizeof *v);
    if (!v)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    *out = v;
    for (size_t i = 0; i < m; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s)
            return fd_err_set(err, FD_EFORMAT, "escalation rules: expected a list of strings");
        v[i] = fold ? fold_dup(s) : fd_strdup(s);
        if (!v[i])
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        (*n)++;
    }
    return FD_OK;
}

static void str_list_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fd_free(v[i]);
    fd_free(v);
}

/* "08:30-18:00" -> minutes; "closed" or missing -> open == close == 0. */
static void parse_hours(json_t *hours, const char *key, int *open, int *close)
{
    *open = *close = 0;
    const char *s = json_string_value(json_object_get(hours, key));
    int h1, m1, h2, m2;
    if (s && sscanf(s, "%d:%d-%d:%d", &h1, &m1, &h2, &m2) == 4) {
        *open = h1 * 60 + m1;
        *close = h2 * 60 + m2;
    }
}

static char *dup_or_null(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? fd_strdup(s) : NULL;
}

static int rule_cmp(const void *a, const void *b)
{
    const esc_rule *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int load_rule(esc_rule *r, const char *name, json_t *obj, fd_err *err)
{
    memset(r, 0, sizeof *r);
    r->sentiment_below = 2;
    r->order_value_over = -1;
    r->name = fd_strdup(name);
    const char *tier = json_string_value(json_object_get(obj, "tier"));
    r->tier = fd_strdup(tier ? tier : "agent");
    const char *reason = json_string_value(json_object_get(obj, "reason"));
    r->reason = fd_strdup(reason ? reason : name);
    if (!r->name || !r->tier || !r->reason)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    json_t *p = json_object_get(obj, "priority");
    r->priority = json_is_integer(p) ? (int)json_integer_value(p) : 100;
    json_t *v;
    if ((v = json_object_get(obj, "sentiment_below")) && json_is_number(v))
        r->sentiment_below = json_number_value(v);
    if ((v = json_object_get(obj, "order_value_over_sgd")) && json_is_number(v))
        r->order_value_over = json_number_value(v);
    r->answer_first = json_is_true(json_object_get(obj, "answer_first"));
    if ((v = json_object_get(obj, "unresolved_turns")) && json_is_integer(v))
        r->unresolved_turns = (int)json_integer_value(v);
    int rc = str_list(json_object_get(obj, "keywords"), 1, &r->keywords, &r->n_keywords, err);
    if (!rc)
        rc = str_list(json_object_get(obj, "intents"), 0, &r->intents, &r->n_intents, err);
    if (!rc && !r->n_intents && !r->n_keywords && r->sentiment_below > 1 &&
        r->order_value_over < 0 && !r->unresolved_turns)
        rc = fd_err_set(err, FD_EFORMAT, "escalation rule %s has no condition", name);
    return rc;
}

int esc_rules_load(esc_rules *r, const char *text, size_t len, int json, int tz_offset_min,
                   fd_err *err)
{
    memset(r, 0, sizeof *r);
    r->tz_offset_min = tz_offset_min;
    if (!text)
        return FD_OK;
    json_t *root = NULL;
    int rc;
    if (json) {
        json_error_t je;
        root = json_loadb(text, len, 0, &je);
        rc = root && json_is_object(root)
                 ? FD_OK
                 : fd_err_set(err, FD_EFORMAT, "escalation.json:%d: %s", je.line,
                              root ? "top level must be an object" : je.text);
    } else {
        rc = fd_toml_parse(text, len, &root, err);
        if (rc)
            fd_err_set(err, rc, "escalation.toml: %s", err ? err->msg : "");
    }
    json_t *rules = json_object_get(root, "rules");
    size_t n = json_object_size(rules);
    if (!rc && n) {
        r->v = fd_calloc(n, sizeof *r->v);
        if (!r->v)
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
        const char *name;
        json_t *obj;
        json_object_foreach(rules, name, obj)
        {
            if (rc)
                break;
            rc = load_rule(&r->v[r->n], name, obj, err);
            r->n++; /* counted even on failure so esc_rules_free releases it */
        }
        if (!rc)
            qsort(r->v, r->n, sizeof *r->v, rule_cmp);
    }
    json_t *banned = json_object_get(json_object_get(root, "banned_promises"), "phrases");
    if (!rc)
        rc = str_list(banned, 0, &r->banned, &r->n_banned, err);
    json_t *handoff = json_object_get(root, "handoff");
    json_t *hours = json_object_get(root, "hours");
    if (!rc) {
        r->agent_message = dup_or_null(handoff, "agent_message");
        r->supervisor_message = dup_or_null(handoff, "supervisor_message");
        r->out_of_hours_message = dup_or_null(hours, "out_of_hours_message");
        const char *zone = json_string_value(json_object_get(hours, "timezone"));
        if (zone && zone[0]) {
            fd_err zerr = {0};
            rc = fd_tz_load(zone, &r->tz, &zerr);
            if (rc)
                fd_err_set_field(err, rc, "timezone", "escalation rules: [hours] timezone: %s",
                                 zerr.msg);
        }
        if (rc) {
            /* the error is set */
        } else if (hours) {
            parse_hours(hours, "weekdays", &r->weekday_open, &r->weekday_close);
            parse_hours(hours, "saturday", &r->saturday_open, &r->saturday_close);
            parse_hours(hours, "sunday", &r->sunday_open, &r->sunday_close);
        } else {
            /* No hours given: always staffed. */
            r->weekday_close = r->saturday_close = r->sunday_close = 24 * 60;
        }
    }
    json_decref(root);
    if (rc)
        esc_rules_free(r);
    return rc;
}

void esc_rules_free(esc_rules *r)
{
    for (size_t i = 0; i < r->n; i++) {
        esc_rule *x = &r->v[i];
        fd_free(x->name);
        fd_free(x->tier);
        fd_free(x->reason);
        str_list_free(x->keywords, x->n_keywords);
        str_list_free(x->intents, x->n_intents);
    }
    fd_free(r->v);
    str_list_free(r->banned, r->n_banned);
    fd_free(r->agent_message);
    fd_free(r->supervisor_message);
    fd_free(r->out_of_hours_message);
    fd_tz_free(r->tz);
    memset(r, 0, sizeof *r);
}

static int rule_fires(const esc_rule *r, const esc_input *in)
{
    if (r->n_intents) {
        int hit = 0;
        for (size_t i = 0; i < r->n_intents && !hit; i++)
            hit = in->intent && strcmp(in->intent, r->intents[i]) == 0 && in->confidence >= 0.5;
        if (!hit)
            return 0;
    }
    int any = 0, hit = 0;
    if (r->n_keywords) {
        any = 1;
        for (size_t i = 0; i < r->n_keywords && !hit; i++)
            hit = fd_text_has_phrase(in->folded, r->keywords[i]);
    }
    if (r->sentiment_below <= 1) {
        any = 1;
        hit |= in->sentiment < r->sentiment_below;
    }
    if (r->order_value_over >= 0) {
        any = 1;
        hit |= in->order_value > r->order_value_over;
    }
    if (r->unresolved_turns) {
        any = 1;
        hit |= in->unresolved >= r->unresolved_turns;
    }
    return any ? hit : 1;
}

const esc_rule *esc_rules_match(const esc_rules *r, const esc_input *in)
{
    for (size_t i = 0; i < r->n; i++)
        if (rule_fires(&r->v[i], in))
            return &r->v[i];
    return NULL;
}

/* Local time at now: the [hours] zone with its daylight saving, else the
 * fixed dialog.tz_offset_min. */
static time_t local_seconds(const esc_rules *r, double now)
{
    if (r->tz)
        return (time_t)now + fd_tz_offset_s(r->tz, (int64_t)now);
    return (time_t)now + (time_t)r->tz_offset_min * 60;
}

int esc_staffed(const esc_rules *r, double now)
{
    time_t t = local_seconds(r, now);
    struct tm tm;
    gmtime_r(&t, &tm);
    int min = tm.tm_hour * 60 + tm.tm_min;
    if (tm.tm_wday == 0)
        return min >= r->sunday_open && min < r->sunday_close;
    if (tm.tm_wday == 6)
        return min >= r->saturday_open && min < r->saturday_close;
    return min >= r->weekday_open && min < r->weekday_close;
}

const char *esc_holding_message(const esc_rules *r, const char *tier, double now)
{
    time_t t = local_seconds(r, now);
    struct tm tm;
    gmtime_r(&t, &tm);
    int min = tm.tm_hour * 60 + tm.tm_min, open, close;
    if (tm.tm_wday == 0) {
        open = r->sunday_open;
        close = r->sunday_close;
    } else if (tm.tm_wday == 6) {
        open = r->saturday_open;
        close = r->saturday_close;
    } else {
        open = r->weekday_open;
        close = r->weekday_close;
    }
    if ((min < open || min >= close) && r->out_of_hours_message)
        return r->out_of_hours_message;
    if (tier && strcmp(tier, "supervisor") == 0 && r->supervisor_message)
        return r->supervisor_message;
    return r->agent_message; /* NULL: the built-in words, in the customer's language */
}
