/*  lt_admin_http: routes admin HTTP requests to the broker actor. */
#include "lt_admin_http.h"
#include "lt_broker.h"
#include "lt_counting.h"
#include "lt_dashboard.h"
#include "lt_dashboard_ops.h"
#include "lt_digest.h"
#include "lt_http_server.h"
#include "lt_log.h"
#include "lt_metrics.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  The page may run script and fetch only from this server, never be framed,
//  and post nowhere; every other answer is data and may run nothing at all.
#define S_CSP_PAGE                                                                          \
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " \
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#define S_CSP_DATA "default-src 'none'; frame-ancestors 'none'; sandbox"

struct _lt_admin_http_t {
    lt_http_server_t *server;   //  the HTTP server
    char token[256];            //  bearer token for changes, "" = none configured
    bool public_listen;         //  listens beyond loopback: reads need the token too
    lt_counting_t *counting;    //  indicator definitions and directory (NULL = bad files)
    char counting_error[520];   //  why counting is NULL
    char store[1024];           //  store file, read by the indicator queries
    pthread_mutex_t lock;       //  guards counting (queries and SIGHUP reloads)
};

//  Return true when host (the admin/listen address) is a loopback address.
static bool s_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
        strcmp(host, "[::1]") == 0)
        return true;
    return strncmp(host, "127.", 4) == 0 && strspn(host + 4, "0123456789.") == strlen(host + 4);
}

//  Return true when a request's Host header names a loopback address (with
//  or without a port), or is absent (HTTP/1.0). A page of another site whose
//  name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name.
static bool s_loopback_host(const char *header)
{
    if (!header)
        return true;
    char host[256];
    snprintf(host, sizeof(host), "%s", header);
    char *port = host[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
    if (port && host[0] == '[')
        port++;   //  past "[::1]"
    if (port && *port) {
        if (*port != ':' || strspn(port + 1, "0123456789") != strlen(port + 1))
            return false;
        *port = 0;
    }
    for (char *c = host; *c; c++)
        *c = (char) (*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    return *host && s_loopback(host);
}

bool lt_admin_http_loopback(const char *listen)
{
    char host[128];
    snprintf(host, sizeof(host), "%s", listen ? listen : "");
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = 0;
    return s_loopback(host);
}

//  Answer status with {"error": the formatted text}, escaped as JSON.
__attribute__((format(printf, 3, 4))) static void s_error(lt_http_response_t *resp,
                                                         unsigned status, const char *format,
                                                         ...)
{
    char why[512];
    va_list args;
    va_start(args, format);
    vsnprintf(why, sizeof(why), format, args);
    va_end(args);
    json_t *e = json_pack("{s:s}", "error", why);
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    lt_http_response_set(resp, status, "application/json",
                         text ? text : "{\"error\":\"bad request\"}");
    free(text);
    json_decref(e);
}

//  The limit argument of a list (absent: fallback) in 1 .. S_LIMIT_MAX, or
//  -1 after answering 400: a limit that cannot be read is refused rather
//  than replaced, so that the caller knows the list is not what it asked.
#define S_LIMIT_MAX 10000
static long s_limit(const lt_http_request_t *req, long fallback, lt_http_response_t *resp)
{
    const char *limit = lt_http_request_query(req, "limit");
    if (!limit)
        return fallback;
    char *end = NULL;
    errno = 0;
    long n = strtol(limit, &end, 10);
    if (!*limit || *end || errno == ERANGE || n < 1 || n > S_LIMIT_MAX) {
        s_error(resp, 400, "limit '%.32s' is not a whole number from 1 to %d", limit,
                S_LIMIT_MAX);
        return -1;
    }
    return n;
}

//  GET /api/v1/indicators?period=P&agency=CODE: computed on a read-only
//  connection of this thread, so the broker's thread goes on relaying.
static void s_indicators(lt_admin_http_t *self, const lt_http_request_t *req,
                         lt_http_response_t *resp)
{
    const char *period = lt_http_request_query(req, "period");
    const char *agency = lt_http_request_query(req, "agency");
    pthread_mutex_lock(&self->lock);
    if (!self->counting) {
        json_t *e = json_pack("{s:s}", "error", self->counting_error);
        char *text = json_dumps(e, JSON_COMPACT);
        lt_http_response_set(resp, 503, "application/json", text ? text : "{}");
        free(text);
        json_decref(e);
        pthread_mutex_unlock(&self->lock);
        return;
    }
    char current[16];
    if (!period || !*period) {
        lt_period_t p;
        lt_period_of_day(LT_PERIOD_QUARTER, lt_period_day((int64_t) time(NULL) * 1000),
                         lt_counting_calendar(self->counting), &p);
        snprintf(current, sizeof(current), "%s", p.name);
        period = current;
    }
    lt_err_t err;
    json_t *out = lt_counting_indicators(self->counting, self->store, period,
                                         agency ? agency : "", &err);
    pthread_mutex_unlock(&self->lock);
    if (!out)
        out = json_pack("{s:s}", "error", err.detail);
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    lt_http_response_set(resp, json_object_get(out, "error") ? 400 : 200, "application/json",
                         text ? text : "{}");
    free(text);
    json_decref(out);
}

//  POST /api/v1/reports?period=P[&code=C][&agency=A]: build a report now
//  and hand it to the broker for the report connector.
static void s_report(lt_admin_http_t *self, const lt_http_request_t *req,
                     lt_http_response_t *resp)
{
    //  A report goes to an outside system and cannot be taken back: an
    //  argument given twice with different values is refused, not guessed.
    const char *twice = lt_http_request_repeated_query(req);
    if (twice) {
        s_error(resp, 400, "'%.32s' is given twice with different values: give it once",
                twice);
        return;
    }
    const char *period = lt_http_request_query(req, "period");
    const char *code = lt_http_request_query(req, "code");
    const char *agency = lt_http_request_query(req, "agency");
    if (!code || !*code)
        code = "PAR-7.1";
    json_t *out = NULL;
    lt_err_t err;
    char known[256];
    pthread_mutex_lock(&self->lock);
    lt_period_t p;
    if (!self->counting)
        out = json_pack("{s:s}", "error", self->counting_error);
    //  Only the hub's own report codes: the code becomes the report's
    //  reportCode and the first part of its idempotency key (CODE/ORGAN/
    //  PERIOD/1) at the reporting system.
    else if (!lt_counting_knows_code(self->counting, code, known, sizeof(known))) {
        char why[400];
        snprintf(why, sizeof(why), "code '%.64s' is not a report code of this hub (%s)", code,
                 known);
        out = json_pack("{s:s}", "error", why);
        if (!out)   //  not UTF-8: not named
            out = json_pack("{s:s}", "error", "code is not a report code of this hub");
    }
    else if (!period || lt_period_parse(period, lt_counting_calendar(self->counting), &p, &err))
        out = json_pack("{s:s}", "error", period ? err.detail : "period is missing");
    else if (!(out = lt_counting_submit(self->counting, self->store, code, &p,
                                        agency ? agency : "", &err)))
        out = json_pack("{s:s}", "error", err.detail);
    pthread_mutex_unlock(&self->lock);
    char *text = json_dumps(out, JSON_COMPACT);
    lt_http_response_set(resp, json_object_get(out, "error") ? 400 : 200, "application/json",
                         text ? text : "{}");
    free(text);
    json_decref(out);
}

void lt_admin_http_reload(lt_admin_http_t *self, const lt_config_t *config)
{
    assert(self);
    lt_err_t err;
    lt_counting_t *counting = lt_counting_load(lt_config_settings(config), &err);
    if (!counting) {
        lt_log_error("event=reload_failed what=indicators reason=\"%s\""
                     " note=\"keeping the definitions in use\"",
                     err.detail);
        return;
    }
    pthread_mutex_lock(&self->lock);
    lt_counting_destroy(&self->counting);
    self->counting = counting;
    pthread_mutex_unlock(&self->lock);
    lt_log_info("event=reloaded what=indicators count=%zu",
                lt_indicators_size(lt_counting_indicators_defs(counting)));
}

//  Ask the broker and answer its JSON, or 503 when it does not answer.
static void s_relay(lt_http_response_t *resp, const char *request)
{
    char *reply = lt_broker_admin_request(request, 5000);
    if (!reply) {
        lt_http_response_set(resp, 503, "application/json",
                             "{\"error\":\"broker did not answer within 5 s\"}");
        return;
    }
    //  The broker marks an error about a thing it does not have (a
    //  delivery, a message) as not_found: 404, the request itself was fine.
    unsigned status = strstr(reply, "\"error\"") != reply + 1 ? 200
                      : strstr(reply, "\"not_found\":true")   ? 404
                                                               : 400;
    lt_http_response_set(resp, status, "application/json", reply);
    free(reply);
}

//  Render the stats as Prometheus text (lt_metrics).
static void s_metrics(lt_http_response_t *resp)
{
    char *reply = lt_broker_admin_request("{\"op\":\"stats\"}", 5000);
    json_t *stats = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    char *text = stats ? lt_metrics_render(stats) : NULL;
    if (!text)
        lt_http_response_set(resp, 503, "text/plain", "broker did not answer\n");
    else
        lt_http_response_set(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text);
    free(text);
    json_decref(stats);
}

//  A delivery or reject id at text: its decimal digits, up to end (set
//  past them), in 1 .. INT64_MAX (the store's ids are SQLite integers);
//  0 when there are no digits, or a sign, or the value is out of that range.
static unsigned long long s_parse_id(const char *text, const char **end)
{
    unsigned long long id = 0;
    const char *at = text;
    for (; *at >= '0' && *at <= '9'; at++) {
        unsigned digit = (unsigned) (*at - '0');
        if (id > ((unsigned long long) INT64_MAX - digit) / 10)
            id = (unsigned long long) INT64_MAX + 1;   //  too large; read on to the end
        else
            id = id * 10 + digit;
    }
    *end = at;
    return at == text || id > (unsigned long long) INT64_MAX ? 0 : id;
}

//  A business key's bound: DocumentIds and MaHoSo are far shorter.
#define S_KEY_MAX 256

//  The operators' read endpoints: alerts, one delivery, trace by business
//  key. Returns false when path is none of them.
static bool s_ops_handle(const char *method, const char *path, const lt_http_request_t *req,
                         lt_http_response_t *resp)
{
    if (strcmp(method, "GET") != 0)
        return false;
    if (strcmp(path, "/api/v1/alerts") == 0) {
        s_relay(resp, "{\"op\":\"alerts\"}");
        return true;
    }
    if (strncmp(path, "/api/v1/dead/", 13) == 0 || strncmp(path, "/api/v1/delivery/", 17) == 0) {
        bool dead = strncmp(path, "/api/v1/dead/", 13) == 0;
        const char *digits = path + (dead ? 13 : 17);
        const char *end = NULL;
        unsigned long long id = s_parse_id(digits, &end);
        if (*end || id == 0) {
            s_error(resp, 400,
                    "'%.32s' is not a delivery id: use GET /api/v1/%s/ID, ID a whole number"
                    " from 1 (GET /api/v1/dead lists the dead letters with their ids)",
                    digits, dead ? "dead" : "delivery");
            return true;
        }
        char request[96];
        snprintf(request, sizeof(request), "{\"op\":\"show\",\"delivery\":%llu}", id);
        s_relay(resp, request);
        return true;
    }
    if (strcmp(path, "/api/v1/trace") == 0) {
        const char *key = lt_http_request_query(req, "key");
        long n = s_limit(req, 1000, resp);
        if (n < 0)
            return true;
        if (!key || !*key) {
            lt_http_response_set(resp, 400, "application/json",
                                 "{\"error\":\"use GET /api/v1/trace?key=BUSINESS-KEY\"}");
            return true;
        }
        if (strlen(key) > S_KEY_MAX) {
            s_error(resp, 400, "key is too long: %zu bytes, at most %d", strlen(key), S_KEY_MAX);
            return true;
        }
        json_t *request
            = json_pack("{s:s, s:s, s:I}", "op", "trace_key", "key", key, "limit", (json_int_t) n);
        char *text = request ? json_dumps(request, JSON_COMPACT) : NULL;
        if (text)
            s_relay(resp, text);
        else
            lt_http_response_set(resp, 400, "application/json",
                                 "{\"error\":\"key is not valid UTF-8\"}");
        free(text);
        json_decref(request);
        return true;
    }
    return false;
}

static bool s_authorized(lt_admin_http_t *self, const lt_http_request_t *req)
{
    if (!*self->token)
        return false;
    const char *auth = lt_http_request_header(req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    return lt_digest_equal(auth + 7, self->token);
}

//  Answer 401 (token configured but missing or wrong) or 403 (no token
//  configured, so nothing that needs one can be allowed).
static void s_refuse(lt_admin_http_t *self, lt_http_response_t *resp, bool change)
{
    if (*self->token)
        lt_http_response_set(resp, 401, "application/json",
                             "{\"error\":\"bearer token missing or wrong\"}");
    else
        lt_http_response_set(resp, 403, "application/json",
                             change ? "{\"error\":\"set admin/token_file to allow changes\"}"
                                    : "{\"error\":\"admin/listen is not a loopback address: "
                                      "set admin/token_file to allow reads\"}");
}

//  POST /api/v1/PREFIX/ID/ACTION: the id when the path has that form, else 0.
static unsigned long long s_action_id(const char *path, const char *prefix, const char *action)
{
    size_t len = strlen(prefix);
    if (strncmp(path, prefix, len) != 0)
        return 0;
    const char *end = NULL;
    unsigned long long id = s_parse_id(path + len, &end);
    if (*end != '/' || strcmp(end + 1, action) != 0)
        return 0;
    return id;
}

//  Route one request (method GET for HEAD too) and fill its answer.
static void s_route(lt_admin_http_t *self, const lt_http_request_t *req, const char *method,
                    const char *path, lt_http_response_t *resp)
{
    char request[512];
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
        lt_http_response_set(resp, 200, "text/html; charset=utf-8", lt_dashboard_html);
    else if (strcmp(path, "/app.js") == 0)
        lt_http_response_set(resp, 200, "text/javascript; charset=utf-8", lt_dashboard_js);
    else if (strcmp(path, "/ops.js") == 0)
        lt_http_response_set(resp, 200, "text/javascript; charset=utf-8", lt_dashboard_ops_js);
    else if (strcmp(path, "/healthz") == 0) {
        char *reply = lt_broker_admin_request("{\"op\":\"stats\"}", 2000);
        lt_http_response_set(resp, reply ? 200 : 503, "text/plain", reply ? "ok\n" : "down\n");
        free(reply);
    }
    else if (strcmp(path, "/metrics") == 0)
        s_metrics(resp);
    else if (strcmp(path, "/api/v1/stats") == 0)
        s_relay(resp, "{\"op\":\"stats\"}");
    else if (strcmp(path, "/api/v1/dead") == 0 && strcmp(method, "GET") == 0) {
        long n = s_limit(req, 100, resp);
        snprintf(request, sizeof(request), "{\"op\":\"dead\",\"limit\":%ld}", n);
        if (n > 0)
            s_relay(resp, request);
    }
    else if (strcmp(path, "/api/v1/rejects") == 0 && strcmp(method, "GET") == 0) {
        long n = s_limit(req, 100, resp);
        snprintf(request, sizeof(request), "{\"op\":\"rejects\",\"limit\":%ld}", n);
        if (n > 0)
            s_relay(resp, request);
    }
    else if ((strncmp(path, "/api/v1/dead/", 13) == 0 ||
              strncmp(path, "/api/v1/rejects/", 16) == 0) &&
             strcmp(method, "POST") == 0) {
        unsigned long long replay = s_action_id(path, "/api/v1/dead/", "replay");
        unsigned long long discard = s_action_id(path, "/api/v1/dead/", "discard");
        unsigned long long reject = s_action_id(path, "/api/v1/rejects/", "replay");
        if (!s_authorized(self, req))
            s_refuse(self, resp, true);
        else if (replay)
            snprintf(request, sizeof(request), "{\"op\":\"replay\",\"delivery\":%llu}",
                     replay);
        else if (discard)
            snprintf(request, sizeof(request), "{\"op\":\"discard\",\"delivery\":%llu}",
                     discard);
        else if (reject)
            snprintf(request, sizeof(request), "{\"op\":\"replay_reject\",\"reject\":%llu}",
                     reject);
        else
            lt_http_response_set(resp, 404, "application/json",
                                 "{\"error\":\"use POST /api/v1/dead/ID/replay, "
                                 "/api/v1/dead/ID/discard or /api/v1/rejects/ID/replay\"}");
        if (s_authorized(self, req) && (replay || discard || reject))
            s_relay(resp, request);
    }
    else if (s_ops_handle(method, path, req, resp)) {
    }
    else if (strncmp(path, "/api/v1/trace/", 14) == 0) {
        const char *msgid = path + 14;
        if (strlen(msgid) > 64 || strspn(msgid, "0123456789abcdef-") != strlen(msgid))
            lt_http_response_set(resp, 400, "application/json",
                                 "{\"error\":\"not a message id\"}");
        else {
            snprintf(request, sizeof(request), "{\"op\":\"trace\",\"msgid\":\"%s\"}", msgid);
            s_relay(resp, request);
        }
    }
    else if (strcmp(path, "/api/v1/indicators") == 0 && strcmp(method, "GET") == 0)
        s_indicators(self, req, resp);
    else if (strcmp(path, "/api/v1/reports") == 0 && strcmp(method, "POST") == 0) {
        if (!s_authorized(self, req))
            lt_http_response_set(resp, *self->token ? 401 : 403, "application/json",
                                 *self->token ? "{\"error\":\"bearer token missing or wrong\"}"
                                              : "{\"error\":\"set admin/token_file to allow "
                                                "changes\"}");
        else
            s_report(self, req, resp);
    }
    else
        lt_http_response_set(resp, 404, "application/json", "{\"error\":\"no such endpoint\"}");
}

//  Answer one request: its method and Host checked, routed, and every
//  answer sent with headers that keep a browser from caching, sniffing,
//  framing or running what it carries (the API returns text that outside
//  parties wrote: keys, agency codes, peers' error messages, payload heads).
static lt_http_action_t s_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                                 void *arg)
{
    lt_admin_http_t *self = arg;
    const char *method = lt_http_request_method(req);
    const char *path = lt_http_request_path(req);
    bool page = strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
                strcmp(path, "/app.js") == 0 || strcmp(path, "/ops.js") == 0;
    bool post_path = strncmp(path, "/api/v1/dead/", 13) == 0 ||
                     strncmp(path, "/api/v1/rejects/", 16) == 0 ||
                     strcmp(path, "/api/v1/reports") == 0;
    bool read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (!(read || (post_path && strcmp(method, "POST") == 0))) {
        lt_http_response_set(resp, 405, "application/json",
                             "{\"error\":\"method not allowed\"}");
        lt_http_response_add_header(resp, "Allow", post_path ? "GET, HEAD, POST" : "GET, HEAD");
    }
    //  Beyond loopback, everything but the static page and the health
    //  check needs the token, reads included.
    else if (self->public_listen && !page && strcmp(path, "/healthz") != 0 &&
             !s_authorized(self, req))
        s_refuse(self, resp, false);
    //  On loopback, a browser's request must name the loopback address,
    //  else a site that rebinds its name to 127.0.0.1 could read the API
    //  from the operator's browser; the token is proof enough otherwise.
    else if (!self->public_listen && strcmp(path, "/healthz") != 0 &&
             !s_loopback_host(lt_http_request_header(req, "Host")) && !s_authorized(self, req))
        lt_http_response_set(resp, 421, "application/json",
                             "{\"error\":\"the Host header is not a loopback address: "
                             "use 127.0.0.1 or localhost, or send the bearer token\"}");
    else
        s_route(self, req, read ? "GET" : method, path, resp);
    lt_http_response_add_header(resp, "Content-Security-Policy", page ? S_CSP_PAGE : S_CSP_DATA);
    lt_http_response_add_header(resp, "X-Content-Type-Options", "nosniff");
    lt_http_response_add_header(resp, "X-Frame-Options", "DENY");
    lt_http_response_add_header(resp, "Referrer-Policy", "no-referrer");
    lt_http_response_add_header(resp, "Cache-Control", "no-store");
    return LT_HTTP_ANSWER;
}

lt_admin_http_t *lt_admin_http_new(const lt_config_t *config, lt_err_t *err)
{
    const lt_settings_t *st = lt_config_settings(config);
    char host[128];
    snprintf(host, sizeof(host), "%s", st->admin_listen);
    char *colon = strrchr(host, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (!colon || port < 0 || port > 65535) {
        lt_err_set(err, LT_ECONFIG, "admin/listen '%s' is not ADDRESS:PORT", st->admin_listen);
        return NULL;
    }
    *colon = 0;
    lt_admin_http_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->public_listen = !s_loopback(host);
    if (*st->admin_token_file) {
        FILE *file = fopen(st->admin_token_file, "r");
        if (!file || !fgets(self->token, sizeof(self->token), file)) {
            lt_err_set(err, LT_ECONFIG, "cannot read admin/token_file %s",
                       st->admin_token_file);
            if (file)
                fclose(file);
            free(self);
            return NULL;
        }
        fclose(file);
        self->token[strcspn(self->token, "\r\n")] = 0;
    }
    pthread_mutex_init(&self->lock, NULL);
    lt_counting_store_path(st, self->store, sizeof(self->store));
    self->counting = lt_counting_load(st, err);
    if (!self->counting) {
        snprintf(self->counting_error, sizeof(self->counting_error), "%s", err->detail);
        lt_log_error("event=indicators_unavailable reason=\"%s\"", err->detail);
    }
    if (!*st->admin_tls_cert != !*st->admin_tls_key) {
        lt_err_set(err, LT_ECONFIG, "admin/tls_cert and admin/tls_key go together");
        lt_counting_destroy(&self->counting);
        free(self);
        return NULL;
    }
    lt_http_options_t options = {
        .limits = {.max_body = 65536, .max_connections = 32, .max_per_ip = 16,
                   .max_request_s = 30},
        .tls_cert = *st->admin_tls_cert ? st->admin_tls_cert : NULL,
        .tls_key = *st->admin_tls_key ? st->admin_tls_key : NULL,
    };
    self->server = lt_http_server_start(host, (uint16_t) port, s_handle, self, &options, err);
    if (!self->server) {
        lt_counting_destroy(&self->counting);
        free(self);
        return NULL;
    }
    return self;
}

void lt_admin_http_destroy(lt_admin_http_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        lt_http_server_destroy(&(*self_p)->server);
        lt_counting_destroy(&(*self_p)->counting);
        pthread_mutex_destroy(&(*self_p)->lock);
        free(*self_p);
        *self_p = NULL;
    }
}

int lt_admin_http_port(lt_admin_http_t *self)
{
    assert(self);
    return lt_http_server_port(self->server);
}
