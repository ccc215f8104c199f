/*  lthub-sim axis: a national document axis for tests and the sandbox.

    Serves every operation of the edoc API (spec/peers.md A) on
    127.0.0.1:8490 by default, for the systems given with --system
    ID:SECRETFILE:CODE[,CODE...] (a code may be a pattern: "*", "PREFIX*" or
    "*SUFFIX"). Every request is authenticated with lt_edoc_auth_verify; a
    failure answers {"status":"FAIL","ErrorCode":"401"} and stores nothing.
    sendEdoc checks hash-file (ErrorCode "400" on mismatch), reads the
    package's recipients (the `to` header when given, each code of it in the
    package's To list, else its To/OrganId list, or ResponseFor/OrganId for
    a status) and DocumentId, and puts one
    item per recipient agency into that agency's mailbox, in memory and, with
    --store DIR, as DIR/<seq>-<DocId>.edxml byte for byte.

    Tests read GET /_sim/stats (counters) and GET /_sim/received (what
    arrived, in order, with SHA-256); these two never suffer injected faults.
    Faults (sim_fault.h) apply to every edoc call. Threads: one per
    connection (lt_http_server); all state sits behind one mutex.
*/
#include "lt_digest.h"
#include "lt_edoc_auth.h"
#include "lt_http_server.h"
#include "lt_id.h"
#include "sim.h"
#include "sim_fault.h"

#include <assert.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_LISTEN  "127.0.0.1:8490"
#define S_MAX_SYSTEMS     64                    //  --system options
#define S_MAX_CODES       64                    //  codes per system
#define S_MAX_PACKAGE     (64u * 1024 * 1024)   //  largest package accepted

//  A client system of the axis.
typedef struct {
    char *id;                      //  system id
    char *secret;                  //  secret bytes (from its file)
    size_t secret_size;            //  secret length
    char *codes[S_MAX_CODES];      //  agency codes or patterns it serves
    size_t code_count;             //  entries in codes
} s_system_t;

//  One package received by sendEdoc.
typedef struct {
    uint64_t seq;                  //  arrival order, from 1
    char doc_id[LT_ID_LEN + 1];    //  the sender's DocId
    char *system;                  //  sending system id
    char *messagetype;             //  edoc or status
    sim_edxml_t peek;              //  what the package says
    char **to;                     //  recipients used for delivery
    size_t to_count;               //  entries in to
    unsigned char *data;           //  the package bytes
    size_t size;                   //  package size
    char sha256[LT_SHA256_HEX];    //  package digest
    int64_t created;               //  arrival time, Unix ms
} s_package_t;

//  One package in one recipient agency's mailbox.
typedef struct {
    char doc_id[LT_ID_LEN + 1];    //  the receiver's docId
    s_package_t *package;          //  the package (owned by the package list)
    const char *to;                //  the recipient agency code (in package->to)
    char status[16];               //  initial, processing, done or fail
    char *status_desc;             //  description given with updateStatus
    int64_t updated;               //  last change, Unix ms
} s_item_t;

//  The simulator: configuration, mailboxes and counters.
typedef struct {
    char host[64];                         //  listen address
    uint16_t port;                         //  listen port (0: any)
    s_system_t systems[S_MAX_SYSTEMS];     //  client systems
    size_t system_count;                   //  entries in systems
    json_t *agencies;                      //  getAgenciesList data
    char *store_dir;                       //  where packages are written, or NULL
    size_t max_packages;                   //  packages kept before refusing
    sim_fault_t *fault;                    //  fault injection
    pthread_mutex_t mutex;                 //  guards everything below
    s_package_t **packages;                //  received packages, in order
    size_t package_count;                  //  entries in packages
    s_item_t **items;                      //  mailbox items, in order
    size_t item_count;                     //  entries in items
    json_t *operations;                    //  requests per operation name
    json_t *by_agency;                     //  items received per agency
    json_t *seen;                          //  duplicate keys seen
    uint64_t requests;                     //  edoc requests (not /_sim)
    uint64_t auth_failures;                //  refused authentications
    uint64_t hash_failures;                //  hash-file mismatches
    uint64_t bad_requests;                 //  other FAIL answers
    uint64_t duplicates;                   //  items whose key was seen before
    uint64_t fetched;                      //  getEdoc successes
    uint64_t done;                         //  updateStatus done
    uint64_t failed;                       //  updateStatus fail
} s_axis_t;

//  An operation: its name, its parameters (signed when sent), its handler.
typedef json_t *(s_op_fn)(s_axis_t *self, const lt_http_request_t *req, const s_system_t *caller);
typedef struct {
    const char *name;                //  last path segment
    const char *const *params;       //  parameter names, NULL-terminated
    s_op_fn *handler;                //  runs with the mutex not held
} s_op_t;

//  Return a FAIL answer with an error code and a formatted description.
__attribute__((format(printf, 2, 3))) static json_t *s_fail(const char *code,
                                                            const char *format, ...)
{
    char desc[512];
    va_list args;
    va_start(args, format);
    vsnprintf(desc, sizeof(desc), format, args);
    va_end(args);
    return json_pack("{s:s, s:s, s:s}", "status", "FAIL", "ErrorCode", code, "ErrorDesc", desc);
}

//  Return an OK answer.
static json_t *s_ok(void)
{
    return json_pack("{s:s, s:s, s:s}", "status", "OK", "ErrorCode", "0", "ErrorDesc", "");
}

//  Read parameter name (header XroadVnpt-<name>), or NULL.
static const char *s_param(const lt_http_request_t *req, const char *name)
{
    char full[128];
    snprintf(full, sizeof(full), LT_EDOC_PREFIX "%s", name);
    return lt_http_request_header(req, full);
}

//  Return true when an agency code matches a served code or pattern.
static bool s_code_matches(const char *pattern, const char *code)
{
    size_t plen = strlen(pattern), clen = strlen(code);
    if (strcmp(pattern, "*") == 0)
        return true;
    if (plen > 1 && pattern[plen - 1] == '*')
        return strncmp(pattern, code, plen - 1) == 0;
    if (plen > 1 && pattern[0] == '*')
        return clen >= plen - 1 && strcmp(code + clen - (plen - 1), pattern + 1) == 0;
    return strcmp(pattern, code) == 0;
}

//  Return true when a system serves an agency code.
static bool s_serves(const s_system_t *system, const char *code)
{
    for (size_t i = 0; i < system->code_count; i++)
        if (s_code_matches(system->codes[i], code))
            return true;
    return false;
}

//  Find a system by id, or NULL.
static const s_system_t *s_system_find(const s_axis_t *self, const char *id)
{
    for (size_t i = 0; i < self->system_count; i++)
        if (strcmp(self->systems[i].id, id) == 0)
            return &self->systems[i];
    return NULL;
}

//  lt_edoc_auth header callback over an HTTP request.
static const char *s_auth_header(void *arg, const char *name)
{
    return lt_http_request_header(arg, name);
}

//  lt_edoc_auth secret callback over the configured systems (immutable after start).
static const void *s_auth_secret(void *arg, const char *system_id, size_t *size)
{
    const s_system_t *system = s_system_find(arg, system_id);
    if (!system)
        return NULL;
    *size = system->secret_size;
    return system->secret;
}

//  Add one to a counter kept in a JSON object; called with the mutex held.
static void s_count(json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    json_int_t now = value ? json_integer_value(value) : 0;
    json_object_set_new(object, key, json_integer(now + 1));
}

//  Free a package and what it owns.
static void s_package_free(s_package_t *package)
{
    if (!package)
        return;
    free(package->system);
    free(package->messagetype);
    sim_edxml_clear(&package->peek);
    for (size_t i = 0; i < package->to_count; i++)
        free(package->to[i]);
    free(package->to);
    free(package->data);
    free(package);
}

//  Read recipients from the `to` parameter (a JSON array of codes, each one
//  in the package's own To list, as the axis requires) into package.
static json_t *s_recipients(s_package_t *package, const char *to)
{
    json_error_t jerr;
    json_t *array = json_loads(to, 0, &jerr);
    if (!json_is_array(array) || json_array_size(array) > 256) {
        json_decref(array);
        return s_fail("400", LT_EDOC_PREFIX "to is not a JSON array of agency codes");
    }
    package->to = calloc(json_array_size(array) + 1, sizeof(char *));
    for (size_t i = 0; package->to && i < json_array_size(array); i++) {
        const char *code = json_string_value(json_array_get(array, i));
        if (!code || !*code) {
            json_decref(array);
            return s_fail("400", LT_EDOC_PREFIX "to entry %zu is not an agency code", i);
        }
        bool listed = false;
        for (size_t t = 0; t < package->peek.to_count && !listed; t++)
            listed = package->peek.to[t] && strcmp(package->peek.to[t], code) == 0;
        if (!listed) {
            json_t *problem = s_fail("400", LT_EDOC_PREFIX "to names %.64s, which is not in the "
                                            "package's To list", code);
            json_decref(array);
            return problem;
        }
        package->to[package->to_count] = strdup(code);
        if (!package->to[package->to_count])
            break;
        package->to_count++;
    }
    bool complete = package->to && package->to_count == json_array_size(array);
    json_decref(array);
    return complete ? NULL : s_fail("500", "out of memory");
}

//  sendEdoc: check, parse and deliver one package to its recipients' mailboxes.
static json_t *s_op_send(s_axis_t *self, const lt_http_request_t *req, const s_system_t *caller)
{
    size_t size = 0;
    const void *file = lt_http_request_part(req, "file_doc", &size, NULL);
    if (!file)
        return s_fail("400", "missing the multipart part file_doc");
    const char *hash = s_param(req, "hash-file");
    if (!hash)
        return s_fail("400", "missing header " LT_EDOC_PREFIX "hash-file");
    if (!lt_edoc_auth_hash_file_ok(hash, file, size)) {
        pthread_mutex_lock(&self->mutex);
        self->hash_failures++;
        pthread_mutex_unlock(&self->mutex);
        return s_fail("400", LT_EDOC_PREFIX "hash-file does not match the uploaded file");
    }
    const char *messagetype = s_param(req, "messagetype");
    if (!messagetype)
        messagetype = "edoc";
    if (strcmp(messagetype, "edoc") != 0 && strcmp(messagetype, "status") != 0)
        return s_fail("400", "messagetype must be edoc or status");

    s_package_t *package = calloc(1, sizeof(*package));
    if (!package)
        return s_fail("500", "out of memory");
    lt_err_t err;
    if (sim_edxml_peek(file, size, &package->peek, &err)) {
        s_package_free(package);
        return s_fail("400", "the package is not a readable edXML: %s", err.detail);
    }
    if (package->peek.status != (strcmp(messagetype, "status") == 0)) {
        bool status = package->peek.status;
        s_package_free(package);
        return s_fail("400", "messagetype=%s but the package is a %s", messagetype,
                      status ? "status" : "document");
    }
    const char *to = s_param(req, "to");
    json_t *problem = NULL;
    if (to && *to)
        problem = s_recipients(package, to);
    else {
        package->to = calloc(package->peek.to_count + 1, sizeof(char *));
        for (size_t i = 0; package->to && i < package->peek.to_count; i++)
            if ((package->to[i] = strdup(package->peek.to[i])))
                package->to_count++;
        if (!package->to || package->to_count != package->peek.to_count)
            problem = s_fail("500", "out of memory");
    }
    if (!problem && package->to_count == 0)
        problem = s_fail("400", "the package names no recipient");
    package->system = strdup(caller->id);
    package->messagetype = strdup(messagetype);
    package->data = malloc(size + 1);
    if (!problem && (!package->system || !package->messagetype || !package->data))
        problem = s_fail("500", "out of memory");
    if (problem) {
        s_package_free(package);
        return problem;
    }
    memcpy(package->data, file, size);
    package->size = size;
    lt_digest_sha256_hex(file, size, package->sha256);
    package->created = lt_time_ms();
    lt_id_new(package->doc_id);

    pthread_mutex_lock(&self->mutex);
    if (self->package_count >= self->max_packages) {
        pthread_mutex_unlock(&self->mutex);
        s_package_free(package);
        return s_fail("507", "the simulator holds %zu packages, its limit", self->max_packages);
    }
    s_package_t **packages
        = realloc(self->packages, (self->package_count + 1) * sizeof(s_package_t *));
    s_item_t **items
        = packages ? realloc(self->items, (self->item_count + package->to_count) * sizeof(s_item_t *))
                   : NULL;
    if (packages)
        self->packages = packages;
    if (items)
        self->items = items;
    if (!packages || !items) {
        pthread_mutex_unlock(&self->mutex);
        s_package_free(package);
        return s_fail("500", "out of memory");
    }
    package->seq = self->package_count + 1;
    self->packages[self->package_count++] = package;
    for (size_t i = 0; i < package->to_count; i++) {
        s_item_t *item = calloc(1, sizeof(*item));
        if (!item)
            continue;
        lt_id_new(item->doc_id);
        item->package = package;
        item->to = package->to[i];
        snprintf(item->status, sizeof(item->status), "initial");
        item->updated = package->created;
        self->items[self->item_count++] = item;
        s_count(self->by_agency, item->to);
        char key[1024];
        snprintf(key, sizeof(key), "%s|%s|%s|%s", messagetype, package->peek.document_id,
                 package->peek.status_code ? package->peek.status_code : "", item->to);
        if (json_object_get(self->seen, key))
            self->duplicates++;
        else
            json_object_set_new(self->seen, key, json_true());
    }
    if (self->store_dir) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%06llu-%s.edxml", self->store_dir,
                 (unsigned long long) package->seq, package->doc_id);
        if (sim_write_file(path, package->data, package->size))
            fprintf(stderr, "lthub-sim axis: cannot write %s\n", path);
    }
    pthread_mutex_unlock(&self->mutex);
    json_t *answer = s_ok();
    json_object_set_new(answer, "DocId", json_string(package->doc_id));
    return answer;
}

//  Return the mailbox item with this receiver docId served by the caller, or NULL.
static s_item_t *s_item_find(s_axis_t *self, const char *doc_id, const s_system_t *caller)
{
    for (size_t i = 0; i < self->item_count; i++)
        if (strcmp(self->items[i]->doc_id, doc_id) == 0)
            return s_serves(caller, self->items[i]->to) ? self->items[i] : NULL;
    return NULL;
}

//  getReceivedEdocList: the caller's items not yet done, in arrival order.
static json_t *s_op_list(s_axis_t *self, const lt_http_request_t *req, const s_system_t *caller)
{
    const char *messagetype = s_param(req, "messagetype");
    json_t *data = json_array();
    pthread_mutex_lock(&self->mutex);
    for (size_t i = 0; i < self->item_count; i++) {
        const s_item_t *item = self->items[i];
        if (strcmp(item->status, "done") == 0 || !s_serves(caller, item->to))
            continue;
        if (messagetype && *messagetype && strcmp(messagetype, item->package->messagetype) != 0)
            continue;
        char created[32], updated[32];
        sim_format_time(item->package->created, created);
        sim_format_time(item->updated, updated);
        json_array_append_new(
            data, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "docId",
                            item->doc_id, "serviceType", "eDoc", "messageType",
                            item->package->messagetype, "created_time", created, "updated_time",
                            updated, "from", item->package->peek.from, "to", item->to, "status",
                            item->status, "status_desc",
                            item->status_desc ? item->status_desc : ""));
    }
    pthread_mutex_unlock(&self->mutex);
    json_t *answer = s_ok();
    json_object_set_new(answer, "data", data);
    return answer;
}

//  getEdoc: the whole package of one of the caller's items, in base64.
static json_t *s_op_get(s_axis_t *self, const lt_http_request_t *req, const s_system_t *caller)
{
    const char *doc_id = s_param(req, "docId");
    if (!doc_id || !*doc_id)
        return s_fail("400", "missing header " LT_EDOC_PREFIX "docId");
    pthread_mutex_lock(&self->mutex);
    s_item_t *item = s_item_find(self, doc_id, caller);
    char *text = item ? sim_base64_encode(item->package->data, item->package->size) : NULL;
    if (text)
        self->fetched++;
    pthread_mutex_unlock(&self->mutex);
    if (!item)
        return s_fail("404", "no document with docId %.64s for system %s", doc_id, caller->id);
    if (!text)
        return s_fail("500", "out of memory");
    json_t *answer = s_ok();
    json_object_set_new(answer, "data", json_string(text));
    free(text);
    return answer;
}

//  updateStatus: processing, done (leaves the list) or fail (stays, with its description).
static json_t *s_op_update(s_axis_t *self, const lt_http_request_t *req, const s_system_t *caller)
{
    const char *doc_id = s_param(req, "docId");
    const char *status = s_param(req, "status");
    const char *description = s_param(req, "description");
    if (!doc_id || !*doc_id)
        return s_fail("400", "missing header " LT_EDOC_PREFIX "docId");
    if (!status || (strcmp(status, "processing") != 0 && strcmp(status, "done") != 0
                    && strcmp(status, "fail") != 0))
        return s_fail("400", LT_EDOC_PREFIX "status must be processing, done or fail");
    char *desc = strdup(description ? description : "");
    if (!desc)
        return s_fail("500", "out of memory");
    pthread_mutex_lock(&self->mutex);
    s_item_t *item = s_item_find(self, doc_id, caller);
    if (item) {
        bool was_done = strcmp(item->status, "done") == 0;
        if (!was_done) {
            snprintf(item->status, sizeof(item->status), "%s", status);
            free(item->status_desc);
            item->status_desc = desc;
            desc = NULL;
            item->updated = lt_time_ms();
            self->done += strcmp(status, "done") == 0;
            self->failed += strcmp(status, "fail") == 0;
        }
    }
    pthread_mutex_unlock(&self->mutex);
    free(desc);
    if (!item)
        return s_fail("404", "no document with docId %.64s for system %s", doc_id, caller->id);
    return s_ok();
}

//  getSentEdocList: per recipient of each package the caller sent.
static json_t *s_op_sent(s_axis_t *self, const lt_http_request_t *req, const s_system_t *caller)
{
    const char *messagetype = s_param(req, "messagetype");
    const char *doc_id = s_param(req, "docId");
    json_t *data = json_array();
    pthread_mutex_lock(&self->mutex);
    for (size_t i = 0; i < self->item_count; i++) {
        const s_item_t *item = self->items[i];
        const s_package_t *package = item->package;
        if (strcmp(package->system, caller->id) != 0)
            continue;
        if (messagetype && *messagetype && strcmp(messagetype, package->messagetype) != 0)
            continue;
        if (doc_id && *doc_id && strcmp(doc_id, package->doc_id) != 0)
            continue;
        const char *notation = strrchr(package->peek.document_id, ',');
        char created[32], updated[32];
        sim_format_time(package->created, created);
        sim_format_time(item->updated, updated);
        json_array_append_new(
            data, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "senderDocId",
                            package->doc_id, "receiverDocId", item->doc_id, "fromCode",
                            package->peek.from, "toCode", item->to, "notation",
                            notation ? notation + 1 : package->peek.document_id, "documentId",
                            package->peek.document_id, "sendStatus", "done", "receiveStatus",
                            item->status, "created_time", created, "updated_time", updated));
    }
    pthread_mutex_unlock(&self->mutex);
    json_t *answer = s_ok();
    json_object_set_new(answer, "data", data);
    return answer;
}

//  getAgenciesList: the configured agencies.
static json_t *s_op_agencies(s_axis_t *self, const lt_http_request_t *req,
                             const s_system_t *caller)
{
    json_t *answer = s_ok();
    json_object_set_new(answer, "data", json_deep_copy(self->agencies));
    return answer;
}

static const char *const s_send_params[]
    = {"from", "servicetype", "messagetype", "to", "hash-file", NULL};
static const char *const s_list_params[] = {"servicetype", "messagetype", NULL};
static const char *const s_get_params[] = {"docId", NULL};
static const char *const s_update_params[] = {"docId", "status", "description", NULL};
static const char *const s_sent_params[] = {"servicetype", "messagetype", "docId", NULL};
static const char *const s_no_params[] = {NULL};

static const s_op_t s_ops[] = {
    {.name = "sendEdoc", .params = s_send_params, .handler = s_op_send},
    {.name = "getReceivedEdocList", .params = s_list_params, .handler = s_op_list},
    {.name = "getEdoc", .params = s_get_params, .handler = s_op_get},
    {.name = "updateStatus", .params = s_update_params, .handler = s_op_update},
    {.name = "getSentEdocList", .params = s_sent_params, .handler = s_op_sent},
    {.name = "getAgenciesList", .params = s_no_params, .handler = s_op_agencies},
};

//  Authenticate and run one edoc operation; always returns an answer object.
static json_t *s_operation(s_axis_t *self, const lt_http_request_t *req)
{
    const char *path = lt_http_request_path(req);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const s_op_t *op = NULL;
    for (size_t i = 0; i < sizeof(s_ops) / sizeof(s_ops[0]) && !op; i++)
        if (strcmp(s_ops[i].name, name) == 0)
            op = &s_ops[i];
    pthread_mutex_lock(&self->mutex);
    self->requests++;
    s_count(self->operations, op ? op->name : "unknown");
    pthread_mutex_unlock(&self->mutex);
    json_t *answer = NULL;
    lt_err_t err;
    if (!op)
        answer = s_fail("404", "unknown operation '%.64s'", name);
    else if (strcmp(lt_http_request_method(req), "POST") != 0)
        answer = s_fail("405", "%s takes POST", op->name);
    else if (lt_edoc_auth_verify(s_auth_header, (void *) req, s_auth_secret, self, op->params,
                                 &err)
             != LT_OK) {
        pthread_mutex_lock(&self->mutex);
        self->auth_failures++;
        pthread_mutex_unlock(&self->mutex);
        return s_fail("401", "%s", err.detail);
    }
    else {
        const s_system_t *caller = s_system_find(self, s_param(req, "systemid"));
        assert(caller);   //  authentication found it
        answer = op->handler(self, req, caller);
    }
    if (answer && strcmp(json_string_value(json_object_get(answer, "status")), "FAIL") == 0
        && strcmp(json_string_value(json_object_get(answer, "ErrorCode")), "400") == 0) {
        pthread_mutex_lock(&self->mutex);
        self->bad_requests++;
        pthread_mutex_unlock(&self->mutex);
    }
    return answer;
}

//  GET /_sim/stats: the counters.
static json_t *s_stats(s_axis_t *self)
{
    pthread_mutex_lock(&self->mutex);
    size_t pending = 0;
    for (size_t i = 0; i < self->item_count; i++)
        pending += strcmp(self->items[i]->status, "done") != 0;
    json_t *stats = json_pack(
        "{s:I, s:O, s:I, s:I, s:I, s:I, s:I, s:O, s:I, s:I, s:I, s:I, s:I}", "requests",
        (json_int_t) self->requests, "operations", self->operations, "auth_failures",
        (json_int_t) self->auth_failures, "hash_failures", (json_int_t) self->hash_failures,
        "bad_requests", (json_int_t) self->bad_requests, "received",
        (json_int_t) self->package_count, "items", (json_int_t) self->item_count,
        "received_by_agency", self->by_agency, "duplicates", (json_int_t) self->duplicates,
        "pending", (json_int_t) pending, "fetched", (json_int_t) self->fetched, "done",
        (json_int_t) self->done, "failed", (json_int_t) self->failed);
    //  The counters are copied so the answer can be rendered without the lock.
    json_t *copy = json_deep_copy(stats);
    json_decref(stats);
    pthread_mutex_unlock(&self->mutex);
    if (copy)
        json_object_set_new(copy, "faults", sim_fault_stats(self->fault));
    return copy;
}

//  GET /_sim/received: every package received, in arrival order.
static json_t *s_received(s_axis_t *self)
{
    json_t *list = json_array();
    pthread_mutex_lock(&self->mutex);
    for (size_t i = 0; i < self->package_count; i++) {
        const s_package_t *package = self->packages[i];
        json_t *to = json_array();
        for (size_t t = 0; t < package->to_count; t++)
            json_array_append_new(to, json_string(package->to[t]));
        char created[32];
        sim_format_time(package->created, created);
        json_array_append_new(
            list, json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s, s:o, s:s, s:I, s:s, s:s}", "seq",
                            (json_int_t) package->seq, "docId", package->doc_id, "DocumentId",
                            package->peek.document_id, "messagetype", package->messagetype,
                            "statusCode", package->peek.status_code, "from", package->peek.from,
                            "to", to, "system", package->system, "size",
                            (json_int_t) package->size, "sha256", package->sha256,
                            "created_time", created));
    }
    pthread_mutex_unlock(&self->mutex);
    return json_pack("{s:o}", "received", list);
}

//  Send a JSON answer, maybe corrupted by fault injection.
static void s_answer(s_axis_t *self, lt_http_response_t *resp, json_t *answer, bool faults)
{
    sim_fault_answer(self->fault, resp, 0, answer, faults);
}

//  The HTTP handler: control endpoints, faults, then the edoc operation.
static lt_http_action_t s_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                                 void *arg)
{
    s_axis_t *self = arg;
    const char *path = lt_http_request_path(req);
    if (strcmp(path, "/_sim/stats") == 0) {
        s_answer(self, resp, s_stats(self), false);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/_sim/received") == 0) {
        s_answer(self, resp, s_received(self), false);
        return LT_HTTP_ANSWER;
    }
    sim_fault_kind_t fault = sim_fault_decide(self->fault);
    if (fault == SIM_FAULT_HANG)
        return LT_HTTP_HANG;
    int64_t latency = sim_fault_latency_ms(self->fault);
    if (latency > 0 && !lt_http_request_wait(req, latency))
        return LT_HTTP_HANG;   //  stopping: the wait ends at once
    switch (fault) {
    case SIM_FAULT_HTTP_500:
        lt_http_response_set(resp, 500, "text/plain", "injected failure\n");
        return LT_HTTP_ANSWER;
    case SIM_FAULT_HTTP_503:
        lt_http_response_set(resp, 503, "text/plain", "injected unavailability\n");
        lt_http_response_add_header(resp, "Retry-After", "1");
        return LT_HTTP_ANSWER;
    case SIM_FAULT_FAIL_BODY:
        s_answer(self, resp, s_fail("500", "injected failure, try again later"), false);
        return LT_HTTP_ANSWER;
    default:
        break;
    }
    s_answer(self, resp, s_operation(self, req), true);
    return LT_HTTP_ANSWER;
}

//  Parse --system ID:SECRETFILE:CODE[,CODE...] and load the secret; -1 on error.
static int s_add_system(s_axis_t *self, const char *spec)
{
    const char *first = strchr(spec, ':');
    const char *last = strrchr(spec, ':');
    if (!first || first == last || first == spec || last == first + 1 || !last[1]) {
        fprintf(stderr, "lthub-sim axis: --system wants ID:SECRETFILE:CODE[,CODE...], got '%s'\n",
                spec);
        return -1;
    }
    if (self->system_count == S_MAX_SYSTEMS) {
        fprintf(stderr, "lthub-sim axis: at most %d systems\n", S_MAX_SYSTEMS);
        return -1;
    }
    s_system_t *system = &self->systems[self->system_count];
    char path[4096];
    snprintf(path, sizeof(path), "%.*s", (int) (last - first - 1), first + 1);
    lt_err_t err;
    system->secret = lt_edoc_secret_load(path, &system->secret_size, &err);
    system->id = strndup(spec, (size_t) (first - spec));
    if (!system->secret || !system->id) {
        fprintf(stderr, "lthub-sim axis: %s\n", system->secret ? "out of memory" : err.detail);
        lt_edoc_secret_free(&system->secret, system->secret_size);
        free(system->id);
        system->id = NULL;
        return -1;
    }
    self->system_count++;
    const char *code = last + 1;
    while (*code) {
        size_t len = strcspn(code, ",");
        if (len > 0) {
            if (system->code_count == S_MAX_CODES) {
                fprintf(stderr, "lthub-sim axis: at most %d codes per system\n", S_MAX_CODES);
                return -1;
            }
            system->codes[system->code_count] = strndup(code, len);
            if (!system->codes[system->code_count])
                return -1;
            system->code_count++;
        }
        code += len + (code[len] == ',');
    }
    return 0;
}

//  Build the agency list: from --agencies FILE, else from the systems' exact codes.
static int s_load_agencies(s_axis_t *self, const char *path)
{
    if (path) {
        json_error_t jerr;
        self->agencies = json_load_file(path, 0, &jerr);
        if (!json_is_array(self->agencies)) {
            fprintf(stderr, "lthub-sim axis: %s:%d: not a JSON array of agencies: %s\n", path,
                    jerr.line, jerr.text);
            return -1;
        }
        return 0;
    }
    self->agencies = json_array();
    json_int_t id = 1;
    for (size_t s = 0; s < self->system_count; s++)
        for (size_t c = 0; c < self->systems[s].code_count; c++) {
            const char *code = self->systems[s].codes[c];
            if (strchr(code, '*'))
                continue;
            json_array_append_new(self->agencies,
                                  json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "id", id++, "pid",
                                            (json_int_t) 0, "code", code, "name", code, "mail",
                                            "", "oldCode", ""));
        }
    return 0;
}

//  Free everything the simulator holds.
static void s_axis_free(s_axis_t *self)
{
    for (size_t i = 0; i < self->item_count; i++) {
        free(self->items[i]->status_desc);
        free(self->items[i]);
    }
    free(self->items);
    for (size_t i = 0; i < self->package_count; i++)
        s_package_free(self->packages[i]);
    free(self->packages);
    for (size_t s = 0; s < self->system_count; s++) {
        free(self->systems[s].id);
        lt_edoc_secret_free(&self->systems[s].secret, self->systems[s].secret_size);
        for (size_t c = 0; c < self->systems[s].code_count; c++)
            free(self->systems[s].codes[c]);
    }
    json_decref(self->agencies);
    json_decref(self->operations);
    json_decref(self->by_agency);
    json_decref(self->seen);
    sim_fault_destroy(&self->fault);
    pthread_mutex_destroy(&self->mutex);
}

//  Print the usage of the axis mode.
static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: lthub-sim axis [options]\n"
            "  --listen ADDR:PORT   listen address (default " S_DEFAULT_LISTEN
            "; port 0 picks one)\n"
            "  --system ID:SECRETFILE:CODE[,CODE...]\n"
            "                       a client system, its secret file and the agency codes\n"
            "                       it serves (CODE may be *, PREFIX* or *SUFFIX); repeat\n"
            "  --agencies FILE      JSON array returned by getAgenciesList\n"
            "  --store DIR          also write each package received as DIR/SEQ-DOCID.edxml\n"
            "  --max-packages N     refuse sendEdoc beyond N packages (default 100000)\n"
            "%s",
            sim_fault_usage());
}

int sim_axis_main(int argc, char *argv[])
{
    s_axis_t axis = {0};
    s_axis_t *self = &axis;
    pthread_mutex_init(&self->mutex, NULL);
    self->fault = sim_fault_new();
    self->operations = json_object();
    self->by_agency = json_object();
    self->seen = json_object();
    self->max_packages = 100000;
    const char *listen = S_DEFAULT_LISTEN;
    const char *agencies = NULL;
    int rc = 2;
    if (!self->fault || !self->operations || !self->by_agency || !self->seen)
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
            fprintf(stderr, "lthub-sim axis: %s needs a value (or is unknown)\n", name);
            goto done;
        }
        i++;
        long long number = 0;
        int fault = sim_fault_option(self->fault, name, value);
        if (fault == 1)
            continue;
        if (fault == -1) {
            fprintf(stderr, "lthub-sim axis: bad value '%s' for %s\n", value, name);
            goto done;
        }
        if (strcmp(name, "--listen") == 0)
            listen = value;
        else if (strcmp(name, "--system") == 0) {
            if (s_add_system(self, value))
                goto done;
        }
        else if (strcmp(name, "--agencies") == 0)
            agencies = value;
        else if (strcmp(name, "--store") == 0)
            self->store_dir = (char *) value;
        else if (strcmp(name, "--max-packages") == 0 && sim_parse_long(value, 1, 10000000, &number))
            self->max_packages = (size_t) number;
        else {
            fprintf(stderr, "lthub-sim axis: unknown option or bad value: %s %s\n", name, value);
            s_usage(stderr);
            goto done;
        }
    }
    if (sim_parse_listen(listen, self->host, sizeof(self->host), &self->port)) {
        fprintf(stderr, "lthub-sim axis: --listen wants ADDR:PORT, got '%s'\n", listen);
        goto done;
    }
    if (self->system_count == 0)
        fprintf(stderr, "lthub-sim axis: no --system given: every request will get 401\n");
    if (s_load_agencies(self, agencies))
        goto done;
    xmlInitParser();
    sim_block_signals();
    lt_http_limits_t limits = {.max_body = S_MAX_PACKAGE + 1024 * 1024, .max_hang_s = 600};
    rc = sim_fault_serve(self->fault, "axis", self->host, &self->port, s_handle, self,
                         &limits);
done:
    s_axis_free(self);
    return rc;
}
