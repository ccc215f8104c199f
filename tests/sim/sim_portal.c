/*  lthub-sim portal: DVCQG's dossier adapter for tests and the sandbox
    (spec/peers.md B, D).

    Serves login ({auth_path}) and the service calls ({service_path}:
    DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo) on 127.0.0.1:8491 by
    default, for one --username and the password in --password-file.
    Sessions expire --session-ttl seconds after login (-2: log in again).
    DongBoHoSoMC with isUpdating "False" for a MaHoSo it already holds
    answers -3 and stores nothing of the call; otherwise each record
    replaces the one held (an identical one is counted as a repeat). A
    progress step is stored in arrival order; the same step again (same
    MaHoSo and content) is kept once and counted as a step repeat.

    Tests change a fault at run time with /_sim/fault?name=N&value=V (N a
    fault option without its dashes, e.g. hang-rate), and read GET /_sim/stats (counters, including steps that arrived
    before their dossier and identical repeats) and GET /_sim/received
    (every record and step stored, in arrival order, byte-equal JSON);
    these never suffer injected faults, which apply to every adapter call
    (sim_fault.h). One thread per connection; state behind one mutex.
*/
#include "lt_digest.h"
#include "lt_http_server.h"
#include "lt_id.h"
#include "sim.h"
#include "sim_fault.h"

#include <jansson.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_DEFAULT_LISTEN "127.0.0.1:8491"
#define S_MAX_SESSIONS   256

//  One session.
typedef struct {
    char token[33];      //  hex, "" when free
    int64_t created;     //  monotonic ms of the login
} s_session_t;

//  The simulator.
typedef struct {
    char host[64];                       //  listen address
    uint16_t port;                       //  listen port
    const char *auth_path;               //  --auth-path
    const char *service_path;            //  --service-path
    const char *username;                //  --username
    char *password;                      //  from --password-file
    int64_t session_ttl_ms;              //  --session-ttl
    size_t max_items;                    //  --max-items stored at most
    sim_fault_t *fault;                  //  fault injection
    pthread_mutex_t mutex;               //  guards everything below
    s_session_t sessions[S_MAX_SESSIONS];   //  open sessions
    json_t *current;                     //  MaHoSo -> latest record
    json_t *digests;                     //  MaHoSo -> digests of steps seen
    json_t *received;                    //  array of what was stored, in order
    uint64_t requests, logins, login_refused, expired, invalid, exists;   //  counters
    uint64_t dossiers, updates, steps, lookups, orphan_steps, repeats;   //  counters
    uint64_t step_repeats;               //  identical steps received again (kept once)
} s_portal_t;

//  Return {"error_code": code, "message": formatted}.
__attribute__((format(printf, 2, 3))) static json_t *s_answer(const char *code,
                                                              const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    return json_pack("{s:s, s:s}", "error_code", code, "message", message);
}

//  Digest of a JSON value's content.
static void s_digest(json_t *value, char hex[LT_SHA256_HEX])
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    lt_digest_sha256_hex(text ? text : "", text ? strlen(text) : 0, hex);
    free(text);
}

//  Login: a session for the configured pair.
static json_t *s_login(s_portal_t *self, json_t *body)
{
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *pass = json_string_value(json_object_get(body, "password"));
    if (!user || !pass || strcmp(user, self->username) != 0 || strcmp(pass, self->password) != 0) {
        pthread_mutex_lock(&self->mutex);
        self->login_refused++;
        pthread_mutex_unlock(&self->mutex);
        return s_answer("401", "wrong username or password");
    }
    unsigned char random[16];
    RAND_bytes(random, sizeof(random));
    char token[33];
    for (size_t i = 0; i < sizeof(random); i++)
        snprintf(token + 2 * i, 3, "%02x", random[i]);
    int64_t now = lt_clock_ms();
    pthread_mutex_lock(&self->mutex);
    size_t slot = 0;
    for (size_t i = 0; i < S_MAX_SESSIONS; i++) {
        if (!self->sessions[i].token[0]) {
            slot = i;
            break;
        }
        if (self->sessions[i].created < self->sessions[slot].created)
            slot = i;
    }
    memcpy(self->sessions[slot].token, token, sizeof(token));
    self->sessions[slot].created = now;
    self->logins++;
    pthread_mutex_unlock(&self->mutex);
    json_t *answer = s_answer("0", "%s", "logged in");
    json_object_set_new(answer, "session", json_string(token));
    return answer;
}

//  True when the session is live; called with the mutex held.
static bool s_session_ok(s_portal_t *self, const char *token)
{
    if (!token || !*token)
        return false;
    int64_t now = lt_clock_ms();
    for (size_t i = 0; i < S_MAX_SESSIONS; i++)
        if (strcmp(self->sessions[i].token, token) == 0) {
            if (now - self->sessions[i].created <= self->session_ttl_ms)
                return true;
            self->sessions[i].token[0] = 0;
            self->expired++;
            return false;
        }
    return false;
}

//  Append one stored item to the received log; mutex held.
static void s_log(s_portal_t *self, const char *kind, json_t *item, const char *extra_key,
                  json_t *extra)
{
    json_t *entry = json_pack("{s:I, s:s, s:O}", "seq",
                              (json_int_t) json_array_size(self->received) + 1, "kind", kind,
                              "record", item);
    if (extra_key)
        json_object_set(entry, extra_key, extra);
    json_array_append_new(self->received, entry);
}

//  DongBoHoSoMC: -3 when a new record exists; else store every record.
static json_t *s_sync(s_portal_t *self, json_t *body, json_t *data)
{
    json_t *flag = json_object_get(body, "isUpdating");
    const char *text = json_string_value(flag);
    if (!text || (strcasecmp(text, "true") != 0 && strcasecmp(text, "false") != 0))
        return s_answer("-1", "isUpdating must be \"True\" or \"False\"");
    bool updating = strcasecmp(text, "true") == 0;
    for (size_t i = 0; i < json_array_size(data); i++)
        if (!json_string_value(json_object_get(json_array_get(data, i), "MaHoSo")))
            return s_answer("-1", "data[%zu].MaHoSo: is required", i);
    if (!updating)
        for (size_t i = 0; i < json_array_size(data); i++) {
            const char *key = json_string_value(json_object_get(json_array_get(data, i), "MaHoSo"));
            if (json_object_get(self->current, key)) {
                self->exists++;
                return s_answer("-3", "data[%zu]: dossier %s already exists", i, key);
            }
        }
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *record = json_array_get(data, i);
        const char *key = json_string_value(json_object_get(record, "MaHoSo"));
        json_t *old = json_object_get(self->current, key);
        if (old && json_equal(old, record))
            self->repeats++;
        if (old)
            self->updates++;
        else
            self->dossiers++;
        json_object_set(self->current, key, record);
        s_log(self, "dossier", record, "isUpdating", updating ? json_true() : json_false());
    }
    return s_answer("0", "%zu records stored", json_array_size(data));
}

//  CapNhatTienDoHoSoMC: store every step.
static json_t *s_steps(s_portal_t *self, json_t *data)
{
    for (size_t i = 0; i < json_array_size(data); i++)
        if (!json_string_value(json_object_get(json_array_get(data, i), "MaHoSo")))
            return s_answer("-1", "data[%zu].MaHoSo: is required", i);
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *step = json_array_get(data, i);
        const char *key = json_string_value(json_object_get(step, "MaHoSo"));
        if (!json_object_get(self->current, key))
            self->orphan_steps++;
        char digest[LT_SHA256_HEX];
        s_digest(step, digest);
        json_t *seen = json_object_get(self->digests, key);
        if (!seen) {
            seen = json_object();
            json_object_set_new(self->digests, key, seen);
        }
        if (json_object_get(seen, digest)) {
            //  The same step again (a resend after a cut call): kept once.
            self->step_repeats++;
            continue;
        }
        json_object_set_new(seen, digest, json_true());
        self->steps++;
        s_log(self, "progress", step, NULL, NULL);
    }
    return s_answer("0", "%zu steps stored", json_array_size(data));
}

//  A service call: session, then the service.
static json_t *s_service(s_portal_t *self, json_t *body)
{
    const char *service = json_string_value(json_object_get(body, "service"));
    json_t *data = json_object_get(body, "data");
    pthread_mutex_lock(&self->mutex);
    json_t *answer = NULL;
    if (!s_session_ok(self, json_string_value(json_object_get(body, "session"))))
        answer = s_answer("-2", "invalid or expired session");
    else if (!service)
        answer = s_answer("-1", "service is missing");
    else if (strcmp(service, "TraCuuHoSo") == 0) {
        self->lookups++;
        const char *key = json_string_value(json_object_get(body, "mahoso"));
        json_t *record = key ? json_object_get(self->current, key) : NULL;
        answer = record ? json_pack("{s:s, s:s, s:O}", "error_code", "0", "message", "", "data",
                                    record)
                        : s_answer("-1", "no dossier %.200s", key ? key : "");
    }
    else if (strcmp(service, "DongBoHoSoMC") != 0 && strcmp(service, "CapNhatTienDoHoSoMC") != 0)
        answer = s_answer("-1", "unknown service %.64s", service);
    else if (!json_is_array(data) || json_array_size(data) == 0)
        answer = s_answer("-1", "data must be a non-empty array");
    else if (json_array_size(self->received) + json_array_size(data) > self->max_items)
        answer = s_answer("-9", "the simulator is full (--max-items)");
    else if (strcmp(service, "DongBoHoSoMC") == 0)
        answer = s_sync(self, body, data);
    else
        answer = s_steps(self, data);
    const char *code = json_string_value(json_object_get(answer, "error_code"));
    if (code && strcmp(code, "-1") == 0)
        self->invalid++;
    pthread_mutex_unlock(&self->mutex);
    return answer;
}

//  GET /_sim/stats.
static json_t *s_stats(s_portal_t *self)
{
    pthread_mutex_lock(&self->mutex);
    json_t *stats = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
        (json_int_t) self->requests, "logins", (json_int_t) self->logins, "login_refused",
        (json_int_t) self->login_refused, "expired_sessions", (json_int_t) self->expired,
        "invalid", (json_int_t) self->invalid, "exists", (json_int_t) self->exists, "dossiers",
        (json_int_t) self->dossiers, "updates", (json_int_t) self->updates, "steps",
        (json_int_t) self->steps, "lookups", (json_int_t) self->lookups, "orphan_steps",
        (json_int_t) self->orphan_steps, "repeats", (json_int_t) self->repeats, "step_repeats",
        (json_int_t) self->step_repeats, "held",
        (json_int_t) json_object_size(self->current), "received",
        (json_int_t) json_array_size(self->received));
    pthread_mutex_unlock(&self->mutex);
    if (stats)
        json_object_set_new(stats, "faults", sim_fault_stats(self->fault));
    return stats;
}

//  GET /_sim/received: everything stored, in order.
static json_t *s_received(s_portal_t *self)
{
    pthread_mutex_lock(&self->mutex);
    json_t *copy = json_deep_copy(self->received);
    pthread_mutex_unlock(&self->mutex);
    return json_pack("{s:o}", "received", copy ? copy : json_array());
}

//  Send an answer, maybe corrupted by fault injection.
static void s_send(s_portal_t *self, lt_http_response_t *resp, json_t *answer, bool faults)
{
    sim_fault_answer(self->fault, resp, 0, answer, faults);
}

//  The HTTP handler: control endpoints, faults, then the adapter call.
static lt_http_action_t s_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                                 void *arg)
{
    s_portal_t *self = arg;
    const char *path = lt_http_request_path(req);
    if (strcmp(path, "/_sim/stats") == 0) {
        s_send(self, resp, s_stats(self), false);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/_sim/received") == 0) {
        s_send(self, resp, s_received(self), false);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/_sim/fault") == 0) {
        //  Change one fault at run time: ?name=hang-rate&value=1
        const char *name = lt_http_request_query(req, "name");
        const char *value = lt_http_request_query(req, "value");
        char option[64];
        snprintf(option, sizeof(option), "--%s", name ? name : "");
        int rc = name && value ? sim_fault_option(self->fault, option, value) : 0;
        s_send(self, resp, rc == 1 ? s_answer("0", "%s = %s", option, value)
                                   : s_answer("-1", "not a fault option: %s", option),
               false);
        return LT_HTTP_ANSWER;
    }
    pthread_mutex_lock(&self->mutex);
    self->requests++;
    pthread_mutex_unlock(&self->mutex);
    sim_fault_kind_t fault = sim_fault_decide(self->fault);
    if (fault == SIM_FAULT_HANG)
        return LT_HTTP_HANG;
    int64_t latency = sim_fault_latency_ms(self->fault);
    if (latency > 0 && !lt_http_request_wait(req, latency))
        return LT_HTTP_HANG;
    if (fault == SIM_FAULT_HTTP_500 || fault == SIM_FAULT_HTTP_503) {
        lt_http_response_set(resp, fault == SIM_FAULT_HTTP_500 ? 500 : 503, "text/plain",
                             "injected failure\n");
        return LT_HTTP_ANSWER;
    }
    if (fault == SIM_FAULT_FAIL_BODY) {
        s_send(self, resp, s_answer("-9", "injected transient failure, try again later"), false);
        return LT_HTTP_ANSWER;
    }
    size_t size = 0;
    const char *text = lt_http_request_body(req, &size);
    json_error_t jerr;
    json_t *body = text ? json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    json_t *answer;
    if (!json_is_object(body))
        answer = s_answer("-1", "the body is not a JSON object");
    else if (strcmp(path, self->auth_path) == 0)
        answer = s_login(self, body);
    else if (strcmp(path, self->service_path) == 0)
        answer = s_service(self, body);
    else {
        lt_http_response_set_status(resp, 404);
        answer = s_answer("404", "unknown path");
    }
    json_decref(body);
    s_send(self, resp, answer, true);
    return LT_HTTP_ANSWER;
}

//  Print the usage of the portal mode.
static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: lthub-sim portal [options]\n"
            "  --listen ADDR:PORT   listen address (default " S_DEFAULT_LISTEN
            "; port 0 picks one)\n"
            "  --username NAME      the username clients log in with (default hub)\n"
            "  --password-file F    file holding the password (required)\n"
            "  --auth-path P        login path (default /login)\n"
            "  --service-path P     service path (default /service)\n"
            "  --session-ttl S      seconds a session lives after login (default 600)\n"
            "  --max-items N        records and steps stored at most (default 2000000)\n"
            "%s",
            sim_fault_usage());
}

int sim_portal_main(int argc, char *argv[])
{
    s_portal_t portal = {0};
    s_portal_t *self = &portal;
    //  Everything received is kept: let the heaps of the connection threads
    //  grow in large steps rather than one mprotect call per few records.
    mallopt(M_TOP_PAD, 16 * 1024 * 1024);
    pthread_mutex_init(&self->mutex, NULL);
    self->fault = sim_fault_new();
    self->current = json_object();
    self->digests = json_object();
    self->received = json_array();
    self->auth_path = "/login";
    self->service_path = "/service";
    self->username = "hub";
    self->session_ttl_ms = 600 * 1000;
    self->max_items = 2000000;
    const char *listen = S_DEFAULT_LISTEN, *password_file = NULL;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            s_usage(stdout);
            rc = 0;
            goto done;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        if (!value) {
            fprintf(stderr, "lthub-sim portal: %s needs a value\n", name);
            goto done;
        }
        long long number = 0;
        int fault = sim_fault_option(self->fault, name, value);
        if (fault == 1)
            continue;
        if (fault == -1) {
            fprintf(stderr, "lthub-sim portal: bad value '%s' for %s\n", value, name);
            goto done;
        }
        if (strcmp(name, "--listen") == 0)
            listen = value;
        else if (strcmp(name, "--username") == 0)
            self->username = value;
        else if (strcmp(name, "--password-file") == 0)
            password_file = value;
        else if (strcmp(name, "--auth-path") == 0)
            self->auth_path = value;
        else if (strcmp(name, "--service-path") == 0)
            self->service_path = value;
        else if (strcmp(name, "--session-ttl") == 0 && sim_parse_long(value, 1, 86400, &number))
            self->session_ttl_ms = number * 1000;
        else if (strcmp(name, "--max-items") == 0 && sim_parse_long(value, 1, 100000000, &number))
            self->max_items = (size_t) number;
        else {
            fprintf(stderr, "lthub-sim portal: unknown option or bad value: %s %s\n", name, value);
            s_usage(stderr);
            goto done;
        }
    }
    if (!password_file) {
        fprintf(stderr, "lthub-sim portal: --password-file is required\n");
        goto done;
    }
    lt_err_t err;
    size_t size = 0;
    self->password = (char *) sim_read_file(password_file, 4096, &size, &err);
    if (!self->password) {
        fprintf(stderr, "lthub-sim portal: %s\n", err.detail);
        goto done;
    }
    while (size > 0 && strchr("\r\n \t", self->password[size - 1]))
        self->password[--size] = 0;
    if (sim_parse_listen(listen, self->host, sizeof(self->host), &self->port)) {
        fprintf(stderr, "lthub-sim portal: --listen wants ADDR:PORT, got '%s'\n", listen);
        goto done;
    }
    sim_block_signals();
    lt_http_limits_t limits = {.max_body = 64u * 1024 * 1024, .max_hang_s = 600,
                               .max_connections = 256};
    rc = sim_fault_serve(self->fault, "portal", self->host, &self->port, s_handle, self,
                         &limits);
done:
    free(self->password);
    json_decref(self->current);
    json_decref(self->digests);
    json_decref(self->received);
    sim_fault_destroy(&self->fault);
    pthread_mutex_destroy(&self->mutex);
    return rc;
}
