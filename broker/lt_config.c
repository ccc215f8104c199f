/*  lt_config: the settings table and the checks of lthubd's config file,
    read with line numbers by lt_zpl.
*/
#include "lt_config.h"
#include "lt_catalog.h"
#include "lt_log.h"
#include "lt_pattern.h"
#include "lt_zpl.h"

#include <assert.h>
#include <czmq.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_ROUTES 256
#define S_MAX_CONNECTORS 64

typedef enum { S_STR, S_INT } s_type_t;

//  One setting: where it lives, its default and bounds.
typedef struct {
    const char *path;      //  ZPL path, "section/name"
    s_type_t type;         //  value type
    size_t offset;         //  offset in lt_settings_t
    size_t size;           //  buffer size for strings
    const char *fallback;  //  default value as text
    long min, max;         //  bounds for integers
    bool reload;           //  applied by SIGHUP
    const char *help;      //  one line for the reference
} s_setting_t;

#define S_STRING(p, f, d, r, h)                                                                   \
    {p, S_STR, offsetof(lt_settings_t, f), sizeof(((lt_settings_t *) 0)->f), d, 0, 0, r, h}
#define S_NUMBER(p, f, d, lo, hi, r, h) {p, S_INT, offsetof(lt_settings_t, f), 0, d, lo, hi, r, h}

static const s_setting_t s_settings[] = {
    S_STRING("broker/endpoint", endpoint, "tcp://127.0.0.1:5570", false,
             "LTP endpoint connectors connect to (ZeroMQ ROUTER, CURVE)"),
    S_STRING("broker/name", name, "lthubd", false, "broker name shown to connectors and in logs"),
    S_STRING("broker/data", data_dir, "/var/lib/lthub", false, "data directory (store, keys)"),
    S_STRING("broker/keys", keys_dir, "", false,
             "certificate directory; default DATA/keys (broker.cert_secret, allowed/*.cert)"),
    S_STRING("broker/province", province, "", true,
             "the province's level-1 agency code (e.g. H26), used by the default routes"),
    S_NUMBER("broker/heartbeat", heartbeat_ms, "1000", 100, 60000, true,
             "ms between PINGs; a peer silent for 3 intervals is gone"),
    S_NUMBER("broker/batch", batch_max, "2048", 1, 100000, true,
             "most PUBLISHes in one group commit (one fsync)"),
    S_NUMBER("broker/batch_bytes", batch_bytes, "33554432", 65536, 1073741824, true,
             "most payload bytes in one group commit"),
    S_NUMBER("broker/max_frame", max_frame, "68157440", 4096, 1073741824, false,
             "largest LTP body accepted, bytes (payload + envelope)"),
    S_NUMBER("broker/scan", scan_limit, "256", 1, 100000, true,
             "deliveries read from the store per scan"),
    S_NUMBER("delivery/max_attempts", max_attempts, "20", 1, 1000000, true,
             "attempts before a delivery goes to dead letters"),
    S_NUMBER("delivery/max_age", max_age_s, "604800", 1, 315360000, true,
             "seconds after which a failing delivery goes to dead letters"),
    S_NUMBER("delivery/backoff_min", backoff_min_ms, "500", 1, 86400000, true,
             "first retry delay, ms (doubles each attempt, with jitter)"),
    S_NUMBER("delivery/backoff_max", backoff_max_ms, "300000", 1, 86400000, true,
             "longest retry delay, ms"),
    S_NUMBER("delivery/hold", hold_ms, "600000", 0, 604800000, true,
             "ms a follow-up waits for its document to reach the hub (0: no wait)"),
    S_NUMBER("delivery/answer_timeout", answer_timeout_ms, "600000", 100, 86400000, true,
             "ms a connector has to answer a delivery before it is tried again"),
    S_NUMBER("supervise/restart_min", restart_min_ms, "200", 10, 3600000, true,
             "first delay before restarting a connector that exited, ms"),
    S_NUMBER("supervise/restart_max", restart_max_ms, "30000", 10, 3600000, true,
             "longest delay between restarts, ms"),
    S_NUMBER("supervise/stop_timeout", stop_timeout_ms, "5000", 10, 600000, true,
             "ms between SIGTERM and SIGKILL when stopping a connector"),
    S_STRING("admin/listen", admin_listen, "127.0.0.1:8470", false,
             "admin HTTP server (API, /metrics, dashboard); empty disables it"),
    S_STRING("admin/token_file", admin_token_file, "", false,
             "file holding the bearer token required by changing endpoints"),
    S_STRING("admin/tls_cert", admin_tls_cert, "", false,
             "PEM certificate chain: the admin server speaks HTTPS only (empty: plain HTTP)"),
    S_STRING("admin/tls_key", admin_tls_key, "", false,
             "PEM private key of admin/tls_cert (mode 0600)"),
    S_STRING("log/level", log_level, "info", true, "error, warning, info or debug"),
    //  ---- counting (docs/indicators.md) ----
    S_STRING("ledger/indicators", indicators_file, "", true,
             "indicator definitions; empty = the installed default (share/lthub/indicators)"),
    S_STRING("ledger/agencies", agencies_file, "", true,
             "agency directory of the province (CODE | PARENT | LEVEL | KIND | NAME per line)"),
    S_STRING("ledger/calendar", calendar, "nd09", true,
             "period boundaries: nd09 (15th of the month before to the 14th) or calendar"),
    S_STRING("ledger/reports", reports, "", true,
             "reports built at the end of each period: CODE:KIND[:AGENCY], comma-separated"
             " (e.g. PAR-7.1:quarter)"),
    S_STRING("ledger/secret_types", secret_types, "", true,
             "document types (edXML TypeName, exactly as the packages write them) whose"
             " documents are state secrets: counted nowhere; comma-separated"),
    S_NUMBER("alerts/connector_down", alert_down_s, "60", 1, 86400, true,
             "seconds a configured connector may be without a session before it is an alert"),
    S_NUMBER("alerts/status_within", alert_status_s, "86400", 1, 31536000, true,
             "seconds an agency of the province has to send status 01 or 03 for a document"
             " the hub delivered to it before it is an alert"),
    S_NUMBER("alerts/sync_within", alert_sync_s, "3600", 1, 31536000, true,
             "seconds a received dossier may wait for its dossier_synced fact before it is"
             " an alert"),
    //  ---- retention (docs/operations.md, Retention) ----
    S_NUMBER("store/retention", retention_s, "2592000", 0, 315360000, true,
             "seconds a message is kept once every delivery of it is done or discarded;"
             " then its payload and deliveries are pruned, its dedup key kept (0: keep all)"),
    S_NUMBER("store/prune_batch", prune_batch, "500", 1, 100000, true,
             "messages looked at per prune step (one short transaction, at most 2 ms of work"
             " while traffic flows, 20 ms otherwise)"),
    S_NUMBER("store/inline_max", inline_max, "2048", 0, 1073741824, true,
             "payloads up to this many bytes are kept in the database; larger ones are"
             " appended to segment files next to it (0: every payload in a segment)"),
    S_NUMBER("store/segment_size", segment_size, "67108864", 1048576, 268435456, true,
             "bytes after which a payload segment file is closed and the next begun;"
             " retention deletes a segment file once no kept message is in it"),
};

#define S_SETTINGS (sizeof(s_settings) / sizeof(s_settings[0]))

struct _lt_config_t {
    char *path;                                    //  source file, "" for defaults
    lt_settings_t settings;                        //  scalar settings
    lt_route_t routes[S_MAX_ROUTES];               //  routes in match order
    size_t route_count;                            //  routes in use
    lt_connector_conf_t connectors[S_MAX_CONNECTORS];   //  known connectors
    size_t connector_count;                        //  connectors in use
};

//  Collected problems while loading.
typedef struct {
    const char *path;   //  file name for messages
    FILE *report;       //  where every problem goes, or NULL
    lt_err_t *err;      //  first problem
    int count;          //  problems found
} s_problems_t;

static void s_problem(s_problems_t *p, int line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void s_problem(s_problems_t *p, int line, const char *format, ...)
{
    char text[400];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    if (p->count == 0)
        lt_err_set(p->err, LT_ECONFIG, "%s:%d: %s", p->path, line, text);
    if (p->report)
        fprintf(p->report, "%s:%d: %s\n", p->path, line, text);
    p->count++;
}

//  Set one setting from text; returns 0 or -1 with a reason in why.
static int s_apply(lt_settings_t *settings, const s_setting_t *s, const char *text, char *why,
                   size_t why_size)
{
    char *field = (char *) settings + s->offset;
    if (s->type == S_STR) {
        if (strlen(text) >= s->size) {
            snprintf(why, why_size, "'%s' is longer than %zu characters", s->path, s->size - 1);
            return -1;
        }
        snprintf(field, s->size, "%s", text);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end) {
        snprintf(why, why_size, "'%s' must be an integer, not '%s'", s->path, text);
        return -1;
    }
    if (value < s->min || value > s->max) {
        snprintf(why, why_size, "'%s' must be between %ld and %ld, not %ld", s->path, s->min,
                 s->max, value);
        return -1;
    }
    *(int *) field = (int) value;
    return 0;
}

static void s_defaults(lt_config_t *self)
{
    char why[200];
    for (size_t i = 0; i < S_SETTINGS; i++) {
        int rc = s_apply(&self->settings, &s_settings[i], s_settings[i].fallback, why,
                         sizeof(why));
        assert(rc == 0);
    }
}

//  Parse a comma-separated list of kind names into a bit set; 0 if bad.
static unsigned s_kinds(const char *text, char *bad, size_t bad_size)
{
    unsigned kinds = 0;
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", text);
    char *save = NULL;
    for (char *name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        if (strcmp(name, "*") == 0) {
            kinds |= ~0u & ~1u;
            continue;
        }
        int kind = lt_kind_from_name(name);
        if (kind < 0) {
            snprintf(bad, bad_size, "%s", name);
            return 0;
        }
        kinds |= 1u << kind;
    }
    return kinds;
}

int lt_config_add_route(lt_config_t *self, unsigned kinds, const char *pattern, const char *to)
{
    assert(self);
    if (self->route_count == S_MAX_ROUTES)
        return -1;
    lt_route_t *route = &self->routes[self->route_count++];
    memset(route, 0, sizeof(*route));
    route->kinds = kinds;
    snprintf(route->pattern, sizeof(route->pattern), "%s", pattern);
    snprintf(route->to, sizeof(route->to), "%s", to);
    return 0;
}

//  The default routes (DESIGN.md section 6): each connector of the build
//  declares its own in its routes file (connectors/NAME/routes.txt,
//  embedded in the catalog); those with a specific pattern come first,
//  then those matching "*", each group in catalog order. A route needing
//  broker/province is left out while it is empty, as is one whose pattern
//  the province makes invalid.
static void s_default_routes(lt_config_t *self, s_problems_t *p)
{
    const char *province = self->settings.province;
    for (size_t i = 0; i < lt_catalog_size(); i++) {
        lt_err_t err = {0};
        lt_routes_t *routes = lt_catalog_routes(i, &err);
        if (!routes) {
            s_problem(p, 0, "default routes: %s", err.detail);
            return;
        }
        lt_routes_destroy(&routes);
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < lt_catalog_size(); i++) {
            lt_routes_t *routes = lt_catalog_routes(i, NULL);
            for (size_t j = 0; j < lt_routes_size(routes); j++) {
                const lt_route_default_t *r = lt_routes_at(routes, j);
                if ((strcmp(r->match, "*") == 0) != (pass == 1))
                    continue;
                if (r->needs_province && !*province)
                    continue;
                char pattern[LT_PATTERN_MAX + 1];
                const char *to = lt_catalog_at(i)->name;
                if (lt_routes_expand(r, province, pattern, sizeof(pattern)) != 0)
                    continue;
                lt_config_add_route(self, r->kinds, pattern, to);
                if (self->connector_count && !lt_config_connector_find(self, to))
                    s_problem(p, 0,
                              "default route '%s %s' (%s:%d) goes to connector '%s', which is "
                              "not under 'connectors' (list it there, or write a routes section)",
                              r->kinds_text, r->match, lt_routes_origin(routes), r->line, to);
            }
            lt_routes_destroy(&routes);
        }
}

//  Report each listed connector to which the default routes would send
//  nothing because every one of its routes needs broker/province and it is
//  empty (lthub-dms, lthub-axis): the hub would start and refuse every
//  document as unroutable.
static void s_province_needed(lt_config_t *self, s_problems_t *p)
{
    if (*self->settings.province)
        return;
    for (size_t i = 0; i < lt_catalog_size(); i++) {
        const lt_connector_conf_t *c = lt_config_connector_find(self, lt_catalog_at(i)->name);
        lt_routes_t *routes = c ? lt_catalog_routes(i, NULL) : NULL;
        size_t needing = 0, size = routes ? lt_routes_size(routes) : 0;
        for (size_t j = 0; j < size; j++)
            needing += lt_routes_at(routes, j)->needs_province;
        if (size > 0 && needing == size)
            s_problem(p, c->line,
                      "connectors/%s: broker/province is empty, so its default routes (%s:%d "
                      "and on) are left out and nothing is routed to it: set broker/province "
                      "(e.g. H26) or write a routes section",
                      c->name, lt_routes_origin(routes), lt_routes_at(routes, 0)->line);
        lt_routes_destroy(&routes);
    }
}

//  Say why an LTP endpoint names no address, or return NULL when it does:
//  tcp://HOST:PORT (HOST may be * or [IPv6], PORT * for any), ipc://PATH,
//  inproc://NAME.
static const char *s_endpoint_problem(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return endpoint[6] ? NULL : "names no path (ipc://PATH)";
    if (strncmp(endpoint, "inproc://", 9) == 0)
        return endpoint[9] ? NULL : "names no endpoint (inproc://NAME)";
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return "must start with tcp://, ipc:// or inproc://";
    const char *host = endpoint + 6;
    const char *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return "names no address: tcp://HOST:PORT (e.g. tcp://127.0.0.1:5570)";
    if (strcmp(colon + 1, "*") == 0)
        return NULL;   //  a port the system picks (ZeroMQ's wildcard), as the tests bind
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 || port > 65535)
        return "needs a port from 1 to 65535: tcp://HOST:PORT (e.g. tcp://127.0.0.1:5570)";
    return NULL;
}

//  Read the [routes] section.
static void s_load_routes(lt_config_t *self, zconfig_t *section, const lt_zpl_t *zpl,
                          s_problems_t *p)
{
    for (zconfig_t *route = zconfig_child(section); route; route = zconfig_next(route)) {
        int line = lt_zpl_line(zpl, route);
        if (strcmp(zconfig_name(route), "route") != 0) {
            s_problem(p, line, "unknown entry 'routes/%s' (expected 'route')", zconfig_name(route));
            continue;
        }
        lt_route_t r = {.line = line};
        char bad[64] = "";
        bool ok = true;
        for (zconfig_t *item = zconfig_child(route); item; item = zconfig_next(item)) {
            const char *name = zconfig_name(item), *value = zconfig_value(item);
            int item_line = lt_zpl_line(zpl, item);
            if (strcmp(name, "kind") == 0) {
                r.kinds = s_kinds(value, bad, sizeof(bad));
                if (!r.kinds)
                    s_problem(p, item_line, "route kind '%s' is unknown (document, status, "
                              "dossier, progress, report, register or *)", bad), ok = false;
            }
            else if (strcmp(name, "match") == 0) {
                if (!lt_pattern_valid(value))
                    s_problem(p, item_line, "route match '%s' is not '*', '*.SUFFIX', "
                              "'PREFIX*' or an agency code", value), ok = false;
                snprintf(r.pattern, sizeof(r.pattern), "%s", value);
            }
            else if (strcmp(name, "to") == 0)
                snprintf(r.to, sizeof(r.to), "%s", value);
            else
                s_problem(p, item_line, "unknown route setting '%s' (kind, match, to)", name),
                    ok = false;
        }
        if (!r.kinds && ok)
            s_problem(p, line, "route has no 'kind'"), ok = false;
        if (!*r.to)
            s_problem(p, line, "route has no 'to' connector"), ok = false;
        if (!*r.pattern)
            snprintf(r.pattern, sizeof(r.pattern), "*");
        if (ok && self->route_count < S_MAX_ROUTES)
            self->routes[self->route_count++] = r;
    }
}

//  Check one option of connector c (from its section or its args line)
//  against the catalog's tables; entry NULL: a program this build does not
//  know, whose options are passed on unchecked.
static void s_connector_option(const lt_catalog_entry_t *entry, const lt_connector_conf_t *c,
                               const char *name, const char *value, int line, const char *from,
                               s_problems_t *p)
{
    if (!entry)
        return;
    const lt_option_t *o = lt_option_find(lt_catalog_runtime(), name);
    if (!o)
        o = lt_option_find(entry->options, name);
    if (!o || strcmp(name, "config") == 0) {
        s_problem(p, line, "connectors/%s%s: '%s' is not an option of lthub-%s (see `lthubd "
                  "--defaults` or lthub-%s --help)", c->name, from, name, entry->name,
                  entry->name);
        return;
    }
    char why[400];
    if (lt_option_check(o, value, why, sizeof(why)))
        s_problem(p, line, "connectors/%s%s: %s %s", c->name, from, name, why);
    else if (strcmp(name, "name") == 0 && strcmp(value, c->name) != 0)
        s_problem(p, line, "connectors/%s%s: name '%s' is not the section's: a connector of "
                  "this build reads its options from the section of its own name", c->name,
                  from, value);
}

//  Find option name in the args line of c ("--name value" or "--name=value");
//  returns its value or NULL. Also checks every option of the line when
//  check is set.
static const char *s_args_scan(const lt_catalog_entry_t *entry, const lt_connector_conf_t *c,
                               int line, const char *want, bool check, s_problems_t *p,
                               char *value, size_t size)
{
    char copy[sizeof(c->args)];
    snprintf(copy, sizeof(copy), "%s", c->args);
    const char *found = NULL;
    char *save = NULL;
    for (char *word = strtok_r(copy, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
        if (strncmp(word, "--", 2) != 0) {
            if (check && entry)
                s_problem(p, line, "connectors/%s/args: '%s' is not an --option", c->name, word);
            continue;
        }
        char *eq = strchr(word, '=');
        const char *text = eq ? eq + 1 : strtok_r(NULL, " \t", &save);
        if (eq)
            *eq = 0;
        if (!text)
            text = "";
        if (check)
            s_connector_option(entry, c, word + 2, text, line, "/args", p);
        if (want && strcmp(word + 2, want) == 0) {
            snprintf(value, size, "%s", text);
            found = value;
        }
    }
    return found;
}

//  Read the [connectors] section: one child per connector, named by it.
//  program, args and restart are lthubd's; any other item is an option of
//  the connector, checked against its table in the catalog.
static void s_load_connectors(lt_config_t *self, zconfig_t *section, const lt_zpl_t *zpl,
                              s_problems_t *p)
{
    for (zconfig_t *conn = zconfig_child(section); conn; conn = zconfig_next(conn)) {
        int line = lt_zpl_line(zpl, conn);
        if (self->connector_count == S_MAX_CONNECTORS) {
            s_problem(p, line, "too many connectors (at most %d)", S_MAX_CONNECTORS);
            break;
        }
        lt_connector_conf_t *c = &self->connectors[self->connector_count];
        memset(c, 0, sizeof(*c));
        c->line = line;
        c->restart = true;
        snprintf(c->name, sizeof(c->name), "%s", zconfig_name(conn));
        //  The program gets the file's absolute path: it may not share
        //  lthubd's working directory forever.
        char *absolute = realpath(self->path, NULL);
        snprintf(c->config, sizeof(c->config), "%s", absolute ? absolute : self->path);
        free(absolute);
        if (lt_config_connector_find(self, c->name))
            s_problem(p, line, "connector '%s' is configured twice", c->name);
        zconfig_t *program = zconfig_locate(conn, "program");
        const lt_catalog_entry_t *entry =
            lt_catalog_find(c->name, program ? zconfig_value(program) : NULL);
        c->known = entry != NULL && program != NULL;
        size_t used = 0;
        int args_line = line;
        for (zconfig_t *item = zconfig_child(conn); item; item = zconfig_next(item)) {
            const char *name = zconfig_name(item), *value = zconfig_value(item);
            int item_line = lt_zpl_line(zpl, item);
            if (strcmp(name, "program") == 0)
                snprintf(c->program, sizeof(c->program), "%s", value);
            else if (strcmp(name, "args") == 0) {
                snprintf(c->args, sizeof(c->args), "%s", value);
                args_line = item_line;
            }
            else if (strcmp(name, "restart") == 0) {
                if (strcmp(value, "yes") && strcmp(value, "no"))
                    s_problem(p, item_line, "connectors/%s/restart must be yes or no", c->name);
                c->restart = strcmp(value, "yes") == 0;
            }
            else if (zconfig_child(item))
                s_problem(p, item_line, "connectors/%s/%s takes a value, not a section",
                          c->name, name);
            else {
                s_connector_option(entry, c, name, value, item_line, "", p);
                int n = snprintf(c->options + used, sizeof(c->options) - used, "%s=%s\n", name,
                                 value);
                if (n < 0 || (size_t) n >= sizeof(c->options) - used)
                    s_problem(p, item_line, "connectors/%s: its options are longer than %zu "
                              "bytes", c->name, sizeof(c->options) - 1);
                else
                    used += (size_t) n;
            }
        }
        //  The args line too, and what a started program needs.
        s_args_scan(entry, c, args_line, NULL, true, p, NULL, 0);
        for (const lt_option_t *o = entry && *c->program ? entry->options : NULL; o && o->name;
             o++) {
            if (!o->required)
                continue;
            zconfig_t *item = zconfig_locate(conn, o->name);
            char value[1024];
            const char *given = item ? zconfig_value(item) : o->fallback;
            const char *in_args = s_args_scan(entry, c, args_line, o->name, false, p, value,
                                             sizeof(value));
            if (in_args)
                given = in_args;
            if (lt_option_missing(o, given))
                s_problem(p, item ? lt_zpl_line(zpl, item) : line,
                          "connectors/%s: %s is required: %s", c->name, o->name, o->help);
        }
        self->connector_count++;
    }
}

lt_config_t *lt_config_new_default(const char *data_dir)
{
    lt_config_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->path = strdup("");
    s_defaults(self);
    if (data_dir)
        snprintf(self->settings.data_dir, sizeof(self->settings.data_dir), "%s", data_dir);
    return self;
}

lt_config_t *lt_config_load(const char *path, FILE *report, lt_err_t *err)
{
    assert(path);
    s_problems_t p = {.path = path, .report = report, .err = err};
    lt_config_t *self = lt_config_new_default(NULL);
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "config: out of memory"), NULL;
    int syntax_line = 0;
    lt_err_t zerr;
    lt_zpl_t *zpl = lt_zpl_load(path, &syntax_line, &zerr);
    if (!zpl) {
        s_problem(&p, syntax_line, "%s", zerr.detail);
        lt_config_destroy(&self);
        return NULL;
    }
    zconfig_t *root = lt_zpl_root(zpl);
    free(self->path);
    self->path = strdup(path);
    bool routes_seen = false;
    for (zconfig_t *section = zconfig_child(root); section; section = zconfig_next(section)) {
        const char *sname = zconfig_name(section);
        int line = lt_zpl_line(zpl, section);
        if (strcmp(sname, "routes") == 0) {
            routes_seen = true;
            s_load_routes(self, section, zpl, &p);
            continue;
        }
        if (strcmp(sname, "connectors") == 0) {
            s_load_connectors(self, section, zpl, &p);
            continue;
        }
        bool known_section = false;
        for (size_t i = 0; i < S_SETTINGS; i++)
            if (strncmp(s_settings[i].path, sname, strlen(sname)) == 0 &&
                s_settings[i].path[strlen(sname)] == '/')
                known_section = true;
        if (!known_section) {
            s_problem(&p, line, "unknown section '%s'", sname);
            continue;
        }
        for (zconfig_t *item = zconfig_child(section); item; item = zconfig_next(item)) {
            char full[128];
            snprintf(full, sizeof(full), "%s/%s", sname, zconfig_name(item));
            int item_line = lt_zpl_line(zpl, item);
            const s_setting_t *s = NULL;
            for (size_t i = 0; i < S_SETTINGS && !s; i++)
                if (strcmp(s_settings[i].path, full) == 0)
                    s = &s_settings[i];
            if (!s) {
                s_problem(&p, item_line, "unknown setting '%s'", full);
                continue;
            }
            char why[300];
            if (s_apply(&self->settings, s, zconfig_value(item), why, sizeof(why)))
                s_problem(&p, item_line, "%s", why);
        }
    }
    //  Cross-checks.
    const lt_settings_t *st = &self->settings;
    const char *endpoint_problem = s_endpoint_problem(st->endpoint);
    if (endpoint_problem)
        s_problem(&p, 0, "broker/endpoint '%s' %s", st->endpoint, endpoint_problem);
    if (lt_log_level_from_name(st->log_level) < 0)
        s_problem(&p, 0, "log/level '%s' is not error, warning, info or debug", st->log_level);
    if (st->backoff_min_ms > st->backoff_max_ms)
        s_problem(&p, 0, "delivery/backoff_min is larger than delivery/backoff_max");
    if (!*st->admin_tls_cert != !*st->admin_tls_key)
        s_problem(&p, 0, "admin/tls_cert and admin/tls_key go together (one is empty)");
    for (int i = 0; i < 2; i++) {
        const char *file = i ? st->admin_tls_key : st->admin_tls_cert;
        if (*file && access(file, R_OK) != 0)
            s_problem(&p, 0, "%s '%s' cannot be read", i ? "admin/tls_key" : "admin/tls_cert",
                      file);
    }
    if (!routes_seen) {
        s_default_routes(self, &p);   //  checks where they go itself
        s_province_needed(self, &p);
    }
    for (size_t i = 0; routes_seen && i < self->route_count; i++)
        if (self->connector_count && !lt_config_connector_find(self, self->routes[i].to))
            s_problem(&p, self->routes[i].line,
                      "route goes to connector '%s', which is not under 'connectors'",
                      self->routes[i].to);
    lt_zpl_destroy(&zpl);
    if (p.count) {
        lt_config_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_config_destroy(lt_config_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free((*self_p)->path);
        free(*self_p);
        *self_p = NULL;
    }
}

const lt_settings_t *lt_config_settings(const lt_config_t *self)
{
    assert(self);
    return &self->settings;
}

const char *lt_config_path(const lt_config_t *self)
{
    assert(self);
    return self->path ? self->path : "";
}

size_t lt_config_routes(const lt_config_t *self)
{
    assert(self);
    return self->route_count;
}

const lt_route_t *lt_config_route(const lt_config_t *self, size_t index)
{
    assert(self);
    return index < self->route_count ? &self->routes[index] : NULL;
}

size_t lt_config_connectors(const lt_config_t *self)
{
    assert(self);
    return self->connector_count;
}

const lt_connector_conf_t *lt_config_connector(const lt_config_t *self, size_t index)
{
    assert(self);
    return index < self->connector_count ? &self->connectors[index] : NULL;
}

const lt_connector_conf_t *lt_config_connector_find(const lt_config_t *self, const char *name)
{
    assert(self);
    for (size_t i = 0; name && i < self->connector_count; i++)
        if (strcmp(self->connectors[i].name, name) == 0)
            return &self->connectors[i];
    return NULL;
}

const char *lt_config_route_for(const lt_config_t *self, lt_kind_t kind, const char *recipient)
{
    assert(self);
    for (size_t i = 0; i < self->route_count; i++) {
        const lt_route_t *r = &self->routes[i];
        if (!(r->kinds & (1u << kind)))
            continue;
        if (strcmp(r->pattern, "*") == 0 || lt_pattern_match(r->pattern, recipient))
            return r->to;
    }
    return NULL;
}

//  List the connectors' default routes as comments, in the order lthubd
//  tries them (specific patterns first), each with the file and line it
//  comes from.
static void s_print_default_routes(FILE *out)
{
    fprintf(out, "#   Routes are tried in order; the first match wins. Without a routes\n"
                 "#   section the connectors' default routes are used, in this order\n"
                 "#   ({province} is broker/province; a route marked if-province, or\n"
                 "#   holding {province}, is left out while broker/province is empty):\n");
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < lt_catalog_size(); i++) {
            lt_err_t err = {0};
            lt_routes_t *routes = lt_catalog_routes(i, &err);
            if (!routes) {
                if (pass == 0)
                    fprintf(out, "#       (%s)\n", err.detail);
                continue;
            }
            for (size_t j = 0; j < lt_routes_size(routes); j++) {
                const lt_route_default_t *r = lt_routes_at(routes, j);
                if ((strcmp(r->match, "*") == 0) != (pass == 1))
                    continue;
                fprintf(out, "#       %-18s %-14s -> %-8s %-12s %s:%d\n", r->kinds_text, r->match,
                        lt_catalog_at(i)->name, r->needs_province ? "if-province" : "",
                        lt_routes_origin(routes), r->line);
            }
            lt_routes_destroy(&routes);
        }
}

void lt_config_print_reference(FILE *out)
{
    fprintf(out, "#   lthubd configuration (ZPL). Every setting with its default.\n");
    const char *section = "";
    for (size_t i = 0; i < S_SETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        const char *slash = strchr(s->path, '/');
        size_t slen = (size_t) (slash - s->path);
        if (strncmp(section, s->path, slen) != 0 || section[slen] != '/') {
            fprintf(out, "%.*s\n", (int) slen, s->path);
            section = s->path;
        }
        fprintf(out, "    #   %s%s\n", s->help, s->reload ? " (reloaded by SIGHUP)" : "");
        if (s->type == S_INT)
            fprintf(out, "    #   range %ld .. %ld\n", s->min, s->max);
        fprintf(out, "    %s = \"%s\"\n", slash + 1, s->fallback);
    }
    s_print_default_routes(out);
    fprintf(out, "#   A routes section of its own replaces them all, for example:\n"
                 "routes\n    route\n        kind = \"document,status\"\n"
                 "        match = \"*.H26\"\n        to = \"dms\"\n"
                 "#   Connectors: with a program they are started and supervised; the\n"
                 "#   program gets --config FILE --name NAME and reads its options from\n"
                 "#   its section (names as in its --help, without the dashes), then the\n"
                 "#   options of its args line. Every connector also takes the runtime's:\n");
    lt_option_print(out, lt_catalog_runtime(), "#   --", 0);
    fprintf(out, "connectors\n");
    for (size_t i = 0; i < lt_catalog_size(); i++) {
        const lt_catalog_entry_t *e = lt_catalog_at(i);
        fprintf(out, "    #   lthub-%s: %s\n    %s\n        #   program = \"lthub-%s\"\n"
                     "        #   restart = \"yes\"\n",
                e->name, e->summary, e->name, e->name);
        lt_option_print(out, e->options, "", 8);
    }
}

//  Test helper: load the configuration at path; return what the check
//  reported (caller frees), *config_p the configuration or NULL.
static char *s_test_load(const char *path, lt_config_t **config_p, lt_err_t *err, bool verbose)
{
    char *report = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&report, &size);
    assert(stream);
    *config_p = lt_config_load(path, stream, err);
    fclose(stream);
    if (verbose)
        printf("\n%s", report);
    return report;
}

//  Write text to a temporary file for the self-test; returns its path.
static char *s_write_temp(const char *text)
{
    char *path = strdup("/tmp/lt_config_test_XXXXXX");
    int fd = mkstemp(path);
    assert(fd >= 0);
    ssize_t n = write(fd, text, strlen(text));
    assert(n == (ssize_t) strlen(text));
    close(fd);
    return path;
}

void lt_config_test(bool verbose)
{
    if (verbose)
        printf(" * lt_config: ");
    //  Patterns.
    assert(lt_pattern_match("*.H26", "000.00.12.H26"));
    assert(!lt_pattern_match("*.H26", "000.00.00.G22"));
    assert(lt_pattern_match("H26.*", "H26.12.01"));
    assert(lt_pattern_match("000.00.12.H26", "000.00.12.H26"));
    assert(!lt_pattern_match("000.00.12.H26", "000.00.13.H26"));
    assert(lt_pattern_match("*", "anything"));
    assert(!lt_pattern_match("*.H26", "H26"));

    //  A good file with default routes.
    char *path = s_write_temp("#   sandbox\nbroker\n    province = \"H26\"\n"
                              "    heartbeat = 250\n    data = \"/tmp/x\"\n"
                              "connectors\n    dms\n        program = \"lthub-dms\"\n"
                              "        systems = \"/etc/lthub/dms-systems.cfg\"\n"
                              "    axis\n    portal\n    report\n");
    lt_err_t err;
    lt_config_t *config = lt_config_load(path, NULL, &err);
    assert(config);
    const lt_settings_t *st = lt_config_settings(config);
    assert(st->heartbeat_ms == 250);
    assert(strcmp(st->endpoint, "tcp://127.0.0.1:5570") == 0);
    assert(strcmp(lt_config_route_for(config, LT_KIND_DOCUMENT, "000.00.13.H26"), "dms") == 0);
    assert(strcmp(lt_config_route_for(config, LT_KIND_STATUS, "H26.12.01"), "dms") == 0);
    assert(strcmp(lt_config_route_for(config, LT_KIND_DOCUMENT, "000.00.00.G22"), "axis") == 0);
    assert(strcmp(lt_config_route_for(config, LT_KIND_DOSSIER, NULL), "portal") == 0);
    assert(strcmp(lt_config_route_for(config, LT_KIND_REPORT, NULL), "report") == 0);
    assert(lt_config_route_for(config, LT_KIND_REGISTER, NULL) == NULL);
    //  The default routes come from the connectors' tables, specific first.
    assert(lt_config_routes(config) == 6);
    assert(streq(lt_config_route(config, 0)->pattern, "*.H26"));
    assert(streq(lt_config_route(config, 1)->pattern, "H26.*"));
    assert(streq(lt_config_route(config, 2)->pattern, "H26"));
    assert(streq(lt_config_route(config, 3)->pattern, "*"));
    assert(streq(lt_config_route(config, 3)->to, "axis"));
    assert(streq(lt_config_route(config, 5)->to, "report"));
    const lt_connector_conf_t *dms = lt_config_connector_find(config, "dms");
    assert(dms && strcmp(dms->program, "lthub-dms") == 0 && dms->restart && dms->line == 7);
    assert(lt_config_connector_find(config, "axis")->program[0] == 0);
    lt_config_destroy(&config);
    unlink(path);
    free(path);

    //  Every problem is reported with its line.
    path = s_write_temp("broker\n    heartbeat = 5\n    heartbeet = 100\n"
                        "routes\n    route\n        kind = \"letter\"\n        to = \"dms\"\n"
                        "    route\n        kind = \"dossier\"\n        to = \"nowhere\"\n"
                        "connectors\n    dms\n        restart = \"maybe\"\n");
    char *report = NULL;
    size_t report_size = 0;
    FILE *stream = open_memstream(&report, &report_size);
    config = lt_config_load(path, stream, &err);
    fclose(stream);
    assert(config == NULL);
    assert(err.code == LT_ECONFIG);
    assert(strstr(err.detail, ":2: 'broker/heartbeat' must be between 100"));
    assert(strstr(report, ":3: unknown setting 'broker/heartbeet'"));
    assert(strstr(report, ":6: route kind 'letter' is unknown"));
    assert(strstr(report, ":8: route goes to connector 'nowhere'"));
    assert(strstr(report, ":13: connectors/dms/restart must be yes or no"));
    free(report);
    unlink(path);
    free(path);

    //  A connector's section: its options checked against its table, and
    //  those of its args line; a program this build does not know is not.
    path = s_write_temp("connectors\n    dms\n        program = \"lthub-dms\"\n"
                        "        listen = \"nowhere\"\n        max-package = \"12\"\n"
                        "        colour = \"blue\"\n"
                        "        args = \"--workers 0 --systems /etc/x --nope 1\"\n"
                        "    report\n        program = \"/usr/bin/lthub-report\"\n"
                        "        url = \"https://r.example\"\n"
                        "    other\n        program = \"my-connector\"\n        anything = \"x\"\n");
    report = s_test_load(path, &config, &err, verbose);
    assert(config == NULL);
    assert(strstr(report, ":4: connectors/dms: listen must be ADDR:PORT, not 'nowhere'"));
    assert(strstr(report, ":5: connectors/dms: max-package must be a number from 1024 to"));
    assert(strstr(report, ":6: connectors/dms: 'colour' is not an option of lthub-dms"));
    assert(strstr(report, ":7: connectors/dms/args: workers must be a number from 1 to 256"));
    assert(strstr(report, ":7: connectors/dms/args: 'nope' is not an option of lthub-dms"));
    assert(!strstr(report, "systems is required"));
    assert(strstr(report, ":8: connectors/report: token-file is required"));
    assert(!strstr(report, "connectors/other"));
    free(report);
    unlink(path);
    free(path);

    //  A broker endpoint that names no address, and default routes that
    //  would send nothing to dms and axis for want of broker/province.
    path = s_write_temp("broker\n    endpoint = \"tcp://\"\n"
                        "connectors\n    dms\n    axis\n    portal\n    report\n");
    report = s_test_load(path, &config, &err, verbose);
    assert(config == NULL);
    assert(strstr(report, ":0: broker/endpoint 'tcp://' names no address"));
    assert(strstr(report, ":4: connectors/dms: broker/province is empty, so its default routes"));
    assert(strstr(report, ":5: connectors/axis: broker/province is empty"));
    assert(!strstr(report, "connectors/portal") && !strstr(report, "connectors/report"));
    free(report);
    unlink(path);
    free(path);
    const char *endpoints[] = {"tcp://127.0.0.1:", "tcp://:5570", "tcp://h:0", "tcp://h:x1",
                               "tcp://h:70000", "ipc://", "inproc://"};
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), "broker\n    endpoint = \"%s\"\n", endpoints[i]);
        path = s_write_temp(text);
        config = lt_config_load(path, NULL, &err);
        assert(config == NULL && strstr(err.detail, "broker/endpoint"));
        unlink(path);
        free(path);
    }
    const char *good[] = {"tcp://*:5570", "tcp://[::1]:5570", "tcp://127.0.0.1:*",
                          "ipc:///run/lthub.sock", "inproc://hub"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), "broker\n    endpoint = \"%s\"\n", good[i]);
        path = s_write_temp(text);
        config = lt_config_load(path, NULL, &err);
        assert(config);
        lt_config_destroy(&config);
        unlink(path);
        free(path);
    }

    //  The section form: the options kept for the supervisor, in file order.
    path = s_write_temp("broker\n    province = \"H26\"\n"
                        "connectors\n    dms\n        program = \"lthub-dms\"\n"
                        "        systems = \"/etc/lthub/dms-systems.cfg\"\n"
                        "        listen = \"127.0.0.1:9999\"\n        workers = 2\n"
                        "    axis\n    portal\n    report\n");
    config = lt_config_load(path, NULL, &err);
    if (!config)
        fprintf(stderr, "%s\n", err.detail);
    assert(config);
    dms = lt_config_connector_find(config, "dms");
    assert(streq(dms->options,
                 "systems=/etc/lthub/dms-systems.cfg\nlisten=127.0.0.1:9999\nworkers=2\n"));
    assert(streq(dms->config, path) && !*dms->args);
    lt_config_destroy(&config);
    unlink(path);
    free(path);

    //  A syntax error names the line zconfig complained about.
    path = s_write_temp("broker\n    endpoint = \"tcp://x\n");
    config = lt_config_load(path, NULL, &err);
    assert(config == NULL && strstr(err.detail, "syntax error"));
    unlink(path);
    free(path);
    config = lt_config_load("/nonexistent/lthub.cfg", NULL, &err);
    assert(config == NULL && strstr(err.detail, "cannot read"));

    //  The reference is itself a valid config.
    char *ref = NULL;
    size_t ref_size = 0;
    stream = open_memstream(&ref, &ref_size);
    lt_config_print_reference(stream);
    fclose(stream);
    path = s_write_temp(ref);
    free(ref);
    config = lt_config_load(path, NULL, &err);
    if (!config)
        fprintf(stderr, "%s\n", err.detail);
    assert(config);
    lt_config_destroy(&config);
    unlink(path);
    free(path);
    if (verbose)
        printf("OK\n");
}
