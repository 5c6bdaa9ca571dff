/* log.c: one structured line per event, to stderr by default. Formats into a
 * fixed buffer so logging works out of memory and never interleaves lines. */
#include "core.h"

#include <string.h>
#include <strings.h>
#include <time.h>

struct fd_log {
    fd_log_level level;
    int json;
    FILE *out;
};

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

fd_log *fd_log_new(fd_log_level level, int json, FILE *out)
{
    fd_log *log = fd_calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->level = level;
    log->json = json;
    log->out = out ? out : stderr;
    return log;
}

void fd_log_free(fd_log *log)
{
    fd_free(log);
}

int fd_log_enabled(const fd_log *log, fd_log_level level)
{
    return log && level >= log->level && level < FD_LOG_OFF;
}

int fd_log_level_parse(const char *s, fd_log_level *out)
{
    for (int i = 0; i <= FD_LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (fd_log_level)i;
            return FD_OK;
        }
    }
    return FD_EINVAL;
}

/* Now, UTC, to the millisecond (RFC 3339). */
static void timestamp(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void fd_log_write(fd_log *log, fd_log_level level, const char *module, const char *fmt, ...)
{
    char msg[2048], line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char when[80];
    timestamp(when, sizeof when);
    int n;
    if (log->json) {
        /* Escape the message by hand: no allocation on the log path. */
        char esc[sizeof msg * 2];
        size_t j = 0;
        for (size_t i = 0; msg[i] && j + 7 < sizeof esc; i++) {
            unsigned char c = (unsigned char)msg[i];
            if (c == '"' || c == '\\') {
                esc[j++] = '\\';
                esc[j++] = (char)c;
            } else if (c < 0x20) {
                j += (size_t)snprintf(esc + j, sizeof esc - j, "\\u%04x", c);
            } else {
                esc[j++] = (char)c;
            }
        }
        esc[j] = '\0';
        n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"%s\"}\n", when,
                     level_names[level], module, esc);
    } else {
        n = snprintf(line, sizeof line, "%s %-5s %s: %s\n", when, level_names[level], module, msg);
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    fwrite(line, 1, (size_t)n, log->out);
    fflush(log->out);
}

void fd_log_fields(fd_log *log, fd_log_level level, const char *module, const char *fields)
{
    if (!fd_log_enabled(log, level))
        return;
    char when[80];
    timestamp(when, sizeof when);
    char line[4096];
    int n = log->json ? snprintf(line, sizeof line,
                                 "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"%s\",%s}\n", when,
                                 level_names[level], module, fields)
                      : snprintf(line, sizeof line, "%s %-5s %s: {%s}\n", when, level_names[level],
                                 module, fields);
    if (n < 0 || (size_t)n >= sizeof line)
        return; /* fields are short and built by us: never truncated JSON */
    fwrite(line, 1, (size_t)n, log->out);
    fflush(log->out);
}
