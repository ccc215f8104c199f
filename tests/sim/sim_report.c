/*  lthub-sim report: a reporting system for tests and the sandbox
    (spec/peers.md C and D).

    Serves POST /api/v1/reports on 127.0.0.1:8492 by default. Every call
    needs `Authorization: Bearer <token>` with a token of a --token-file
    (401 otherwise, nothing stored). A report is checked with lt_report_json
    (400 {"error": "..."} naming the field) and, with --regimes, its
    reportCode must be one of them. A new idempotencyKey is stored and
    answered 201 {"id", "status": "received"}; a key already stored is
    answered 200 with the same id and nothing new is stored (a different
    body under the same key is counted as a conflict, and still answered
    with the first id). GET /api/v1/reports lists what is stored and
    GET /api/v1/reports/ID returns one report's bytes as received.

    With --store DIR each stored report is also written as
    DIR/SEQ-ID.json, byte for byte, and the files already there are read
    back at start, so the simulator can be restarted with other faults and
    still honour the keys it took before.

    Tests read GET /_sim/stats (counters) and GET /_sim/received (what was
    stored, in order, with SHA-256 and the number of submissions of each
    key); these never suffer injected faults nor need the token. Faults
    (sim_fault.h) apply to every /api/ call: a FAIL body is HTTP 200 with
    {"status": "FAIL", "error": ...} and no id. Threads: one per connection
    (lt_http_server); all state sits behind one mutex.
*/
#include "lt_digest.h"
#include "lt_file.h"
#include "lt_http_server.h"
#include "lt_id.h"
#include "lt_report_json.h"
#include "sim.h"
#include "sim_fault.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define S_DEFAULT_LISTEN "127.0.0.1:8492"
#define S_MAX_TOKENS     8      //  --token-file options
#define S_TOKEN_MAX      4096   //  largest token file

//  One stored report.
typedef struct {
    uint64_t seq;                  //  arrival order, from 1
    char id[LT_ID_LEN + 1];        //  the id the system gave it
    char *key;                     //  idempotencyKey
    char *code;                    //  reportCode
    char *organ;                   //  organId
    char label[16];                //  period label
    char *body;                    //  the report as received
    size_t size;                   //  its bytes
    char sha256[LT_SHA256_HEX];    //  its digest
    int64_t received;              //  when, Unix ms
    uint64_t submissions;          //  times this key was submitted
} s_stored_t;

//  The simulator: configuration, stored reports and counters.
typedef struct {
    char host[64];                     //  listen address
    uint16_t port;                     //  listen port (0: any)
    char *tokens[S_MAX_TOKENS];        //  accepted bearer tokens
    size_t token_count;                //  entries in tokens
    const char *regimes;               //  accepted reportCodes, comma-separated, or NULL
    const char *store_dir;             //  where reports are written, or NULL
    size_t max_reports;                //  reports kept before refusing
    sim_fault_t *fault;                //  fault injection
    pthread_mutex_t mutex;             //  guards everything below
    s_stored_t **reports;              //  stored reports, in order
    size_t count;                      //  entries in reports
    json_t *by_key;                    //  idempotencyKey -> index in reports
    uint64_t requests;                 //  /api/ requests (counted on arrival)
    uint64_t auth_failures;            //  401 answers
    uint64_t bad_requests;             //  400 answers
    uint64_t accepted;                 //  201 answers
    uint64_t repeats;                  //  200 answers to a known key
    uint64_t conflicts;                //  of which with a different body
} s_report_t;

//  Return a JSON error body with a formatted text.
__attribute__((format(printf, 1, 2))) static json_t *s_error(const char *format, ...)
{
    char text[600];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    return json_pack("{s:s}", "error", text);
}

//  Free a stored report.
static void s_stored_free(s_stored_t *stored)
{
    if (!stored)
        return;
    free(stored->key);
    free(stored->code);
    free(stored->organ);
    free(stored->body);
    free(stored);
}

//  Make a stored report from a checked report and its bytes; NULL on no memory.
static s_stored_t *s_stored_new(const lt_report_json_t *report, const void *body, size_t size)
{
    s_stored_t *stored = calloc(1, sizeof(*stored));
    if (!stored)
        return NULL;
    stored->key = strdup(lt_report_json_key(report));
    stored->code = strdup(lt_report_json_code(report));
    stored->organ = strdup(lt_report_json_organ(report));
    stored->body = malloc(size + 1);
    if (!stored->key || !stored->code || !stored->organ || !stored->body) {
        s_stored_free(stored);
        return NULL;
    }
    memcpy(stored->body, body, size);
    stored->body[size] = 0;
    stored->size = size;
    snprintf(stored->label, sizeof(stored->label), "%s", lt_report_json_period_label(report));
    lt_digest_sha256_hex(body, size, stored->sha256);
    stored->received = lt_time_ms();
    stored->submissions = 1;
    return stored;
}

//  Append a stored report and index its key; called with the mutex held.
//  -1 on no memory.
static int s_append(s_report_t *self, s_stored_t *stored)
{
    s_stored_t **grown = realloc(self->reports, (self->count + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    self->reports = grown;
    if (json_object_set_new(self->by_key, stored->key, json_integer((json_int_t) self->count)))
        return -1;
    self->reports[self->count++] = stored;
    return 0;
}

//  Return true when the request carries one of the tokens.
static bool s_authorized(const s_report_t *self, const lt_http_request_t *req)
{
    const char *auth = lt_http_request_header(req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    bool ok = false;
    for (size_t i = 0; i < self->token_count; i++)
        ok |= lt_digest_equal(auth + 7, self->tokens[i]);
    return ok;
}

//  Return true when code is one of --regimes (or none were given).
static bool s_regime_known(const s_report_t *self, const char *code)
{
    if (!self->regimes)
        return true;
    size_t len = strlen(code);
    for (const char *p = self->regimes; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, code, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

//  POST /api/v1/reports: check, store or recognise, answer.
static json_t *s_submit(s_report_t *self, const lt_http_request_t *req, unsigned *status)
{
    const char *type = lt_http_request_header(req, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) != 0) {
        *status = 415;
        return s_error("Content-Type must be application/json");
    }
    size_t size = 0;
    const void *body = lt_http_request_body(req, &size);
    lt_err_t err;
    lt_report_json_t *report = lt_report_json_parse(body, size, &err);
    if (report && !s_regime_known(self, lt_report_json_code(report))) {
        lt_err_set(&err, LT_EFIELD, "report: field 'reportCode': '%s' is not a report regime of "
                   "this system", lt_report_json_code(report));
        lt_report_json_destroy(&report);
    }
    if (!report) {
        pthread_mutex_lock(&self->mutex);
        self->bad_requests++;
        pthread_mutex_unlock(&self->mutex);
        *status = err.code == LT_ETOOBIG ? 413 : 400;
        return s_error("%s", err.detail);
    }
    char sha[LT_SHA256_HEX];
    lt_digest_sha256_hex(body, size, sha);
    json_t *answer = NULL;
    pthread_mutex_lock(&self->mutex);
    json_t *index = json_object_get(self->by_key, lt_report_json_key(report));
    if (index) {
        s_stored_t *stored = self->reports[json_integer_value(index)];
        stored->submissions++;
        self->repeats++;
        self->conflicts += strcmp(stored->sha256, sha) != 0;
        *status = 200;
        answer = json_pack("{s:s, s:s}", "id", stored->id, "status", "received");
    }
    else if (self->count >= self->max_reports) {
        *status = 507;
        answer = s_error("the simulator holds %zu reports, its limit", self->max_reports);
    }
    else {
        s_stored_t *stored = s_stored_new(report, body, size);
        if (stored) {
            stored->seq = self->count + 1;
            lt_id_new(stored->id);
        }
        if (stored && self->store_dir) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%06llu-%s.json", self->store_dir,
                     (unsigned long long) stored->seq, stored->id);
            if (lt_file_write(path, body, size, true, &err)) {
                fprintf(stderr, "lthub-sim report: %s\n", err.detail);
                s_stored_free(stored);
                stored = NULL;
            }
        }
        if (!stored || s_append(self, stored)) {
            s_stored_free(stored);
            *status = 500;
            answer = s_error("cannot store the report");
        }
        else {
            self->accepted++;
            *status = 201;
            answer = json_pack("{s:s, s:s}", "id", stored->id, "status", "received");
        }
    }
    pthread_mutex_unlock(&self->mutex);
    lt_report_json_destroy(&report);
    return answer;
}

//  A summary of one stored report (for the listings); mutex held.
static json_t *s_summary(const s_stored_t *stored)
{
    char received[32];
    sim_format_time(stored->received, received);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "seq",
                     (json_int_t) stored->seq, "id", stored->id, "idempotencyKey", stored->key,
                     "reportCode", stored->code, "organId", stored->organ, "period",
                     stored->label, "sha256", stored->sha256, "size", (json_int_t) stored->size,
                     "received_time", received, "submissions", (json_int_t) stored->submissions);
}

//  Every stored report's summary, in order, under name.
static json_t *s_list(s_report_t *self, const char *name)
{
    json_t *list = json_array();
    pthread_mutex_lock(&self->mutex);
    for (size_t i = 0; list && i < self->count; i++)
        json_array_append_new(list, s_summary(self->reports[i]));
    pthread_mutex_unlock(&self->mutex);
    return json_pack("{s:o}", name, list);
}

//  GET /_sim/stats: the counters.
static json_t *s_stats(s_report_t *self)
{
    pthread_mutex_lock(&self->mutex);
    json_t *stats = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
                              (json_int_t) self->requests, "auth_failures",
                              (json_int_t) self->auth_failures, "bad_requests",
                              (json_int_t) self->bad_requests, "accepted",
                              (json_int_t) self->accepted, "repeats", (json_int_t) self->repeats,
                              "conflicts", (json_int_t) self->conflicts, "stored",
                              (json_int_t) self->count);
    pthread_mutex_unlock(&self->mutex);
    if (stats)
        json_object_set_new(stats, "faults", sim_fault_stats(self->fault));
    return stats;
}

//  Send a JSON answer with a status, maybe cut short by fault injection.
static void s_answer(s_report_t *self, lt_http_response_t *resp, unsigned status, json_t *answer,
                     bool faults)
{
    sim_fault_answer(self->fault, resp, status, answer, faults);
}

//  The /api/ calls, after faults: authentication, then the endpoint.
static void s_api(s_report_t *self, const lt_http_request_t *req, lt_http_response_t *resp)
{
    const char *method = lt_http_request_method(req);
    const char *path = lt_http_request_path(req);
    if (!s_authorized(self, req)) {
        pthread_mutex_lock(&self->mutex);
        self->auth_failures++;
        pthread_mutex_unlock(&self->mutex);
        lt_http_response_add_header(resp, "WWW-Authenticate", "Bearer");
        s_answer(self, resp, 401, s_error("bearer token missing or not accepted"), true);
        return;
    }
    unsigned status = 200;
    if (strcmp(path, "/api/v1/reports") == 0) {
        if (strcmp(method, "POST") == 0) {
            json_t *answer = s_submit(self, req, &status);
            s_answer(self, resp, status, answer, true);
        }
        else if (strcmp(method, "GET") == 0)
            s_answer(self, resp, 200, s_list(self, "reports"), true);
        else
            s_answer(self, resp, 405, s_error("%s takes POST or GET", path), true);
        return;
    }
    if (strncmp(path, "/api/v1/reports/", 16) == 0 && strcmp(method, "GET") == 0) {
        const char *id = path + 16;
        pthread_mutex_lock(&self->mutex);
        for (size_t i = 0; i < self->count; i++)
            if (strcmp(self->reports[i]->id, id) == 0) {
                if (lt_http_response_set_body(resp, self->reports[i]->body,
                                              self->reports[i]->size, "application/json"))
                    lt_http_response_set(resp, 500, "text/plain", "out of memory\n");
                pthread_mutex_unlock(&self->mutex);
                return;
            }
        pthread_mutex_unlock(&self->mutex);
        s_answer(self, resp, 404, s_error("no report with id '%.64s'", id), true);
        return;
    }
    s_answer(self, resp, 404, s_error("no such endpoint: %s %.128s", method, path), true);
}

//  The HTTP handler: control endpoints, faults, then the API.
static lt_http_action_t s_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                                 void *arg)
{
    s_report_t *self = arg;
    const char *path = lt_http_request_path(req);
    if (strcmp(path, "/_sim/stats") == 0) {
        s_answer(self, resp, 200, s_stats(self), false);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/_sim/received") == 0) {
        s_answer(self, resp, 200, s_list(self, "received"), false);
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
        return LT_HTTP_HANG;   //  stopping: the wait ends at once
    switch (fault) {
    case SIM_FAULT_HTTP_500:
        s_answer(self, resp, 500, s_error("injected failure"), false);
        return LT_HTTP_ANSWER;
    case SIM_FAULT_HTTP_503:
        lt_http_response_add_header(resp, "Retry-After", "1");
        s_answer(self, resp, 503, s_error("injected unavailability"), false);
        return LT_HTTP_ANSWER;
    case SIM_FAULT_FAIL_BODY:
        s_answer(self, resp, 200,
                 json_pack("{s:s, s:s}", "status", "FAIL", "error",
                           "injected failure, try again later"),
                 false);
        return LT_HTTP_ANSWER;
    default:
        break;
    }
    s_api(self, req, resp);
    return LT_HTTP_ANSWER;
}

//  Read one token file into the token list; -1 on error.
static int s_add_token(s_report_t *self, const char *path)
{
    if (self->token_count == S_MAX_TOKENS) {
        fprintf(stderr, "lthub-sim report: at most %d --token-file\n", S_MAX_TOKENS);
        return -1;
    }
    lt_err_t err;
    size_t size = 0;
    char *text = lt_file_read(path, S_TOKEN_MAX, &size, &err);
    if (!text) {
        fprintf(stderr, "lthub-sim report: %s\n", err.detail);
        return -1;
    }
    while (size > 0 && strchr(" \t\r\n", text[size - 1]))
        text[--size] = 0;
    if (size == 0) {
        fprintf(stderr, "lthub-sim report: the token file %s is empty\n", path);
        free(text);
        return -1;
    }
    self->tokens[self->token_count++] = text;
    return 0;
}

//  Only SEQ-ID.json names are read back from --store.
static int s_store_name(const struct dirent *entry)
{
    size_t len = strlen(entry->d_name);
    return len > 5 && strcmp(entry->d_name + len - 5, ".json") == 0 && entry->d_name[0] != '.';
}

//  Read back the reports of --store DIR (creating it when missing); -1 on error.
static int s_load_store(s_report_t *self)
{
    if (mkdir(self->store_dir, 0750) && errno != EEXIST) {
        fprintf(stderr, "lthub-sim report: cannot create %s: %s\n", self->store_dir,
                strerror(errno));
        return -1;
    }
    struct dirent **names = NULL;
    int n = scandir(self->store_dir, &names, s_store_name, alphasort);
    if (n < 0) {
        fprintf(stderr, "lthub-sim report: cannot read %s: %s\n", self->store_dir,
                strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", self->store_dir, names[i]->d_name);
        const char *dash = strchr(names[i]->d_name, '-');
        size_t size = 0;
        lt_err_t err;
        char *body = rc ? NULL : lt_file_read(path, LT_REPORT_JSON_MAX, &size, &err);
        lt_report_json_t *report = body ? lt_report_json_parse(body, size, &err) : NULL;
        s_stored_t *stored = report ? s_stored_new(report, body, size) : NULL;
        if (rc == 0 && (!stored || !dash || strlen(dash + 1) != LT_ID_LEN + 5
                        || json_object_get(self->by_key, stored->key))) {
            fprintf(stderr, "lthub-sim report: %s is not a stored report: %s\n", path,
                    !stored ? err.detail : "bad name or repeated key");
            rc = -1;
        }
        if (rc == 0) {
            stored->seq = self->count + 1;
            snprintf(stored->id, sizeof(stored->id), "%.*s", LT_ID_LEN, dash + 1);
            if (s_append(self, stored))
                rc = -1;
            else
                stored = NULL;
        }
        s_stored_free(stored);
        lt_report_json_destroy(&report);
        free(body);
        free(names[i]);
    }
    free(names);
    if (rc == 0 && self->count > 0)
        fprintf(stderr, "lthub-sim report: %zu reports read back from %s\n", self->count,
                self->store_dir);
    return rc;
}

//  Free everything the simulator holds.
static void s_report_free(s_report_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        s_stored_free(self->reports[i]);
    free(self->reports);
    for (size_t i = 0; i < self->token_count; i++) {
        OPENSSL_cleanse(self->tokens[i], strlen(self->tokens[i]));
        free(self->tokens[i]);
    }
    json_decref(self->by_key);
    sim_fault_destroy(&self->fault);
    pthread_mutex_destroy(&self->mutex);
}

//  Print the usage of the report mode.
static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: lthub-sim report [options]\n"
            "  --listen ADDR:PORT   listen address (default " S_DEFAULT_LISTEN
            "; port 0 picks one)\n"
            "  --token-file FILE    a bearer token the system accepts (repeat for several)\n"
            "  --regimes CODES      reportCodes it takes, comma-separated (default: any)\n"
            "  --store DIR          write each report as DIR/SEQ-ID.json, and read those\n"
            "                       already there back at start\n"
            "  --max-reports N      refuse new reports beyond N (default 100000)\n"
            "%s",
            sim_fault_usage());
}

int sim_report_main(int argc, char *argv[])
{
    s_report_t sim = {0};
    s_report_t *self = &sim;
    pthread_mutex_init(&self->mutex, NULL);
    self->fault = sim_fault_new();
    self->by_key = json_object();
    self->max_reports = 100000;
    const char *listen = S_DEFAULT_LISTEN;
    int rc = 2;
    if (!self->fault || !self->by_key)
        goto done;
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            s_usage(stdout);
            rc = 0;
            goto done;
        }
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) {
            fprintf(stderr, "lthub-sim report: %s needs a value (or is unknown)\n", name);
            goto done;
        }
        i++;
        long long number = 0;
        int fault = sim_fault_option(self->fault, name, value);
        if (fault == 1)
            continue;
        if (fault == -1) {
            fprintf(stderr, "lthub-sim report: bad value '%s' for %s\n", value, name);
            goto done;
        }
        if (strcmp(name, "--listen") == 0)
            listen = value;
        else if (strcmp(name, "--token-file") == 0) {
            if (s_add_token(self, value))
                goto done;
        }
        else if (strcmp(name, "--regimes") == 0)
            self->regimes = value;
        else if (strcmp(name, "--store") == 0)
            self->store_dir = value;
        else if (strcmp(name, "--max-reports") == 0 && sim_parse_long(value, 1, 10000000, &number))
            self->max_reports = (size_t) number;
        else {
            fprintf(stderr, "lthub-sim report: unknown option or bad value: %s %s\n", name, value);
            s_usage(stderr);
            goto done;
        }
    }
    if (sim_parse_listen(listen, self->host, sizeof(self->host), &self->port)) {
        fprintf(stderr, "lthub-sim report: --listen wants ADDR:PORT, got '%s'\n", listen);
        goto done;
    }
    if (self->token_count == 0)
        fprintf(stderr, "lthub-sim report: no --token-file given: every request will get 401\n");
    if (self->store_dir && s_load_store(self))
        goto done;
    sim_block_signals();
    lt_http_limits_t limits = {.max_body = LT_REPORT_JSON_MAX + 1024, .max_hang_s = 600};
    rc = sim_fault_serve(self->fault, "report", self->host, &self->port, s_handle, self,
                         &limits);
done:
    s_report_free(self);
    return rc;
}
