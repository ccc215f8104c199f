/*  lt_admin_http: routes admin HTTP requests to the broker actor. */
#include "lt_admin_http.h"
#include "lt_broker.h"
#include "lt_dashboard.h"
#include "lt_dashboard_ops.h"
#include "lt_digest.h"
#include "lt_http_server.h"
#include "lt_log.h"
#include "lt_metrics.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _lt_admin_http_t {
    lt_http_server_t *server;   //  the HTTP server
    char token[256];            //  bearer token for changes, "" = none configured
};

//  Ask the broker and answer its JSON, or 503 when it does not answer.
static void s_relay(lt_http_response_t *resp, const char *request)
{
    char *reply = lt_broker_admin_request(request, 5000);
    if (!reply) {
        lt_http_response_set(resp, 503, "application/json",
                             "{\"error\":\"broker did not answer within 5 s\"}");
        return;
    }
    unsigned status = strstr(reply, "\"error\"") == reply + 1 ? 400 : 200;
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
        char *end = NULL;
        unsigned long long id = strtoull(digits, &end, 10);
        if (!*digits || *end || id == 0) {
            lt_http_response_set(resp, 404, "application/json",
                                 "{\"error\":\"use GET /api/v1/dead/ID\"}");
            return true;
        }
        char request[96];
        snprintf(request, sizeof(request), "{\"op\":\"show\",\"delivery\":%llu}", id);
        s_relay(resp, request);
        return true;
    }
    if (strcmp(path, "/api/v1/trace") == 0) {
        const char *key = lt_http_request_query(req, "key");
        const char *limit = lt_http_request_query(req, "limit");
        long n = limit ? strtol(limit, NULL, 10) : 1000;
        if (!key || !*key || strlen(key) > 256) {
            lt_http_response_set(resp, 400, "application/json",
                                 "{\"error\":\"use GET /api/v1/trace?key=BUSINESS-KEY\"}");
            return true;
        }
        json_t *request = json_pack("{s:s, s:s, s:I}", "op", "trace_key", "key", key, "limit",
                                    (json_int_t) (n > 0 && n <= 10000 ? n : 1000));
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
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return false;
    return lt_digest_equal(auth + 7, self->token);
}

static lt_http_action_t s_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                                 void *arg)
{
    lt_admin_http_t *self = arg;
    const char *method = lt_http_request_method(req);
    const char *path = lt_http_request_path(req);
    char request[512];
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
        lt_http_response_set(resp, 200, "text/html; charset=utf-8", lt_dashboard_html);
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
        const char *limit = lt_http_request_query(req, "limit");
        long n = limit ? strtol(limit, NULL, 10) : 100;
        snprintf(request, sizeof(request), "{\"op\":\"dead\",\"limit\":%ld}",
                 n > 0 && n <= 10000 ? n : 100);
        s_relay(resp, request);
    }
    else if (strncmp(path, "/api/v1/dead/", 13) == 0 && strcmp(method, "POST") == 0) {
        char *end = NULL;
        unsigned long long id = strtoull(path + 13, &end, 10);
        if (!s_authorized(self, req))
            lt_http_response_set(resp, *self->token ? 401 : 403, "application/json",
                                 *self->token ? "{\"error\":\"bearer token missing or wrong\"}"
                                              : "{\"error\":\"set admin/token_file to allow "
                                                "changes\"}");
        else if (!end || (strcmp(end, "/replay") != 0 && strcmp(end, "/discard") != 0) ||
                 id == 0)
            lt_http_response_set(resp, 404, "application/json",
                                 "{\"error\":\"use POST /api/v1/dead/ID/replay or "
                                 "/api/v1/dead/ID/discard\"}");
        else {
            snprintf(request, sizeof(request), "{\"op\":\"%s\",\"delivery\":%llu}",
                     end + 1, id);
            s_relay(resp, request);
        }
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
    else
        lt_http_response_set(resp, 404, "application/json", "{\"error\":\"no such endpoint\"}");
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
    lt_http_limits_t limits = {.max_body = 65536, .max_connections = 32};
    self->server = lt_http_server_new(host, (uint16_t) port, s_handle, self, &limits, err);
    if (!self->server) {
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
        free(*self_p);
        *self_p = NULL;
    }
}

int lt_admin_http_port(lt_admin_http_t *self)
{
    assert(self);
    return lt_http_server_port(self->server);
}
