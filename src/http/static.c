/* static.c: the chat page and the operator console, embedded in the binary
 * (web/, by CMakeLists.txt) so a deployment stays one file with no document
 * root to configure or to escape from. */
#include "http_int.h"

#include <assert.h>
#include <string.h>

/* Pages revalidate on every load (a 304 is cheap) so a deploy shows at once;
 * scripts and styles may be five minutes stale. */
#define PAGE_CACHE "no-cache"
#define ASSET_CACHE "public, max-age=300"

static const struct page {
    const char *url, *file, *type, *cache;
} pages[] = {
    {"/", "index.html", "text/html; charset=utf-8", PAGE_CACHE},
    {"/console", "console.html", "text/html; charset=utf-8", PAGE_CACHE},
    {"/static/chat.js", "chat.js", "text/javascript; charset=utf-8", ASSET_CACHE},
    {"/static/console.js", "console.js", "text/javascript; charset=utf-8", ASSET_CACHE},
    {"/static/style.css", "style.css", "text/css; charset=utf-8", ASSET_CACHE},
    /* The one tag a company puts on its site (web/widget.js). */
    {"/widget.js", "widget.js", "text/javascript; charset=utf-8", ASSET_CACHE},
};

static const http_asset *asset(const char *file)
{
    for (const http_asset *a = http_web_assets; a->name; a++)
        if (strcmp(a->name, file) == 0)
            return a;
    return NULL;
}

/* If-None-Match names etag or is "*". Weak tags compare equal to strong
 * ones here (RFC 9110 §13.1.2: If-None-Match uses the weak comparison). */
static int etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 && (!p[n] || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

int http_static(request *r, const char *url, enum MHD_Result *res)
{
    /* Browsers ask for it on every page: no icon, and no 404 in the logs. */
    if (strcmp(url, "/favicon.ico") == 0) {
        r->route = "/favicon.ico";
        *res = http_send_static(r, 204, "image/x-icon", "", 0, "public, max-age=86400", NULL);
        return 1;
    }
    const struct page *pg = NULL;
    for (size_t i = 0; !pg && i < sizeof pages / sizeof pages[0]; i++)
        if (strcmp(url, pages[i].url) == 0)
            pg = &pages[i];
    if (!pg)
        return 0;
    r->route = pg->url;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        *res = http_send_405(r, "GET, HEAD");
        return 1;
    }
    const http_asset *a = asset(pg->file);
    assert(a); /* CMakeLists.txt embeds every file the table names */
    /* The chat page may be framed by the sites allowed to embed the widget;
     * the console never. */
    r->frameable = strcmp(pg->url, "/") == 0 && r->srv->cfg->server_widget;
    const char *inm = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "If-None-Match");
    if (inm && etag_matches(inm, a->etag))
        *res = http_send_static(r, 304, pg->type, "", 0, pg->cache, a->etag);
    else
        *res = http_send_static(r, 200, pg->type, a->p, a->len, pg->cache, a->etag);
    return 1;
}
