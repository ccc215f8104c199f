/*  lt_admin_http: routes admin HTTP requests to the broker actor. */
#include "lt_admin_http.h"
#include "lt_broker.h"
#include "lt_dashboard.h"
#include "lt_digest.h"
#include "lt_http_server.h"
#include "lt_log.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _lt_admin_http_t {
    lt_http_server_t *server;   //  the HTTP server
    char token[256];            //  bearer token for changes, "" = none configured
    bool public_listen;         //  listens beyond loopback: reads need the token too
};

//  Return true when host (the admin/listen address) is a loopback address.
static bool s_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
        strcmp(host, "[::1]") == 0)
        return true;
    return strncmp(host, "127.", 4) == 0 && strspn(host + 4, "0123456789.") == strlen(host + 4);
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

//  Append one Prometheus sample line.
static void s_metric(FILE *out, const char *name, const char *conn, json_t *value)
{
    if (conn)
        fprintf(out, "lthub_%s{connector=\"%s\"} %lld\n", name, conn,
                (long long) json_integer_value(value));
    else
        fprintf(out, "lthub_%s %lld\n", name, (long long) json_integer_value(value));
}

//  Render the stats as Prometheus text.
static void s_metrics(lt_http_response_t *resp)
{
    char *reply = lt_broker_admin_request("{\"op\":\"stats\"}", 5000);
    json_t *stats = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    if (!stats) {
        lt_http_response_set(resp, 503, "text/plain", "broker did not answer\n");
        return;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    const char *key;
    json_t *value;
    fprintf(out, "# lthubd metrics\n");
    json_object_foreach(json_object_get(stats, "broker"), key, value)
    {
        if (json_is_integer(value)) {
            char name[96];
            snprintf(name, sizeof(name), "broker_%s", key);
            s_metric(out, name, NULL, value);
        }
    }
    json_object_foreach(json_object_get(stats, "store"), key, value)
    {
        char name[96];
        snprintf(name, sizeof(name), "store_%s", key);
        s_metric(out, name, NULL, value);
    }
    size_t i;
    json_t *conn;
    json_array_foreach(json_object_get(stats, "connectors"), i, conn)
    {
        const char *cname = json_string_value(json_object_get(conn, "name"));
        json_object_foreach(conn, key, value)
        {
            char name[96];
            snprintf(name, sizeof(name), "connector_%s", key);
            if (json_is_integer(value))
                s_metric(out, name, cname, value);
            else if (json_is_boolean(value))
                fprintf(out, "lthub_%s{connector=\"%s\"} %d\n", name, cname,
                        json_is_true(value) ? 1 : 0);
        }
    }
    fclose(out);
    lt_http_response_set(resp, 200, "text/plain; version=0.0.4", text);
    free(text);
    json_decref(stats);
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
    char *end = NULL;
    unsigned long long id = strtoull(path + len, &end, 10);
    if (!end || end == path + len || *end != '/' || strcmp(end + 1, action) != 0)
        return 0;
    return id;
}

static lt_http_action_t s_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                                 void *arg)
{
    lt_admin_http_t *self = arg;
    const char *method = lt_http_request_method(req);
    const char *path = lt_http_request_path(req);
    char request[512];
    //  Beyond loopback, everything but the static page and the health
    //  check needs the token, reads included.
    bool open_path = strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
                     strcmp(path, "/healthz") == 0;
    if (self->public_listen && !open_path && !s_authorized(self, req)) {
        s_refuse(self, resp, false);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
        lt_http_response_set(resp, 200, "text/html; charset=utf-8", lt_dashboard_html);
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
    else if (strcmp(path, "/api/v1/rejects") == 0 && strcmp(method, "GET") == 0) {
        const char *limit = lt_http_request_query(req, "limit");
        long n = limit ? strtol(limit, NULL, 10) : 100;
        snprintf(request, sizeof(request), "{\"op\":\"rejects\",\"limit\":%ld}",
                 n > 0 && n <= 10000 ? n : 100);
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
