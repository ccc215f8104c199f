/*  lt_http_server: libmicrohttpd in thread-per-connection mode, whole-body
    requests, MHD's post processor for multipart parts, and a hang mode for
    fault injection.

    MHD calls the access handler several times per request: once with the
    headers, once per body chunk, and once with an empty chunk at the end.
    The per-request state (lt_http_request_t) lives in MHD's per-request
    pointer from the first call until the completion callback frees it.

    The gate runs in the first call, before MHD reads any of the body: an
    answer queued there makes MHD send it without asking the client for the
    body ("100 Continue" is not sent) and close the connection afterwards,
    so a refused client costs no memory for its body.
*/
#include "lt_http_server.h"

#include "lt_file.h"
#include "lt_id.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_RESPONSE_HEADERS 16   //  extra headers a handler may add
//  A body refused from its headers is still read and dropped when it is at
//  most this long (or, over the body limit, at most this much or the limit
//  over it), then answered: a client that does not wait for "100 Continue"
//  is still sending when the answer goes, and a close with its bytes unread
//  resets the connection, which can reach the client before the answer does.
#define S_DRAIN_MIN (1024u * 1024)

//  One multipart/form-data part, accumulated from the post processor.
typedef struct {
    char *name;       //  part (field) name, owned
    char *filename;   //  file name, owned, or NULL
    char *data;       //  bytes, owned, NUL-terminated
    size_t size;      //  bytes used
    size_t cap;       //  bytes allocated
} s_part_t;

struct _lt_http_server_t {
    struct MHD_Daemon *daemon;       //  the MHD daemon
    lt_http_handler_fn *handler;     //  the caller's handler
    void *arg;                       //  its argument
    lt_http_limits_t limits;         //  bounds, defaults applied
    lt_http_gate_fn *gate;           //  header check, or NULL
    char *tls_cert;                  //  PEM certificate, owned, or NULL (plain HTTP)
    char *tls_key;                   //  PEM key, owned (wiped on destroy), or NULL
    size_t tls_key_size;             //  its bytes
    uint16_t port;                   //  bound port
    pthread_mutex_t mutex;           //  guards stopping and the condition
    pthread_cond_t cond;             //  signalled when stopping
    bool stopping;                   //  destroy has begun: hung requests go
    char mhd_error[256];             //  MHD's last log line, for start errors
};

struct _lt_http_request_t {
    lt_http_server_t *server;           //  owning server
    struct MHD_Connection *connection;  //  MHD connection, for lookups
    const char *method;                 //  on loan from MHD
    const char *path;                   //  on loan from MHD
    char *body;                         //  accumulated body, owned
    size_t size;                        //  body bytes
    size_t cap;                         //  body bytes allocated
    bool too_big;                       //  over max_body: answer 413
    size_t discarded;                   //  bytes dropped after too_big or refused
    size_t drain_limit;                 //  close when more than this is dropped
    lt_http_response_t *answer;         //  the gate's answer, sent after the drain, or NULL
    s_part_t *parts;                    //  multipart parts, owned
    size_t part_count;                  //  parts in use
    bool parts_failed;                  //  a part could not be stored
    char peer[64];                      //  client address and port
    int64_t started;                    //  lt_clock_ms when the headers arrived
    size_t max_body;                    //  this request's body limit
    bool refused;                       //  the gate answered: the body is not read
    struct MHD_PostProcessor *pp;       //  multipart parser fed as the body arrives, or NULL
    bool streamed;                      //  multipart: parts kept, the raw body not
    size_t received;                    //  body bytes received when streamed
};

struct _lt_http_response_t {
    unsigned status;                              //  HTTP status
    char *body;                                   //  body, owned
    size_t size;                                  //  body bytes
    char *content_type;                           //  owned, or NULL
    char *names[S_MAX_RESPONSE_HEADERS];          //  extra header names, owned
    char *values[S_MAX_RESPONSE_HEADERS];         //  extra header values, owned
    size_t header_count;                          //  extra headers in use
};

//  MHD's error log: keep the last line for start-up failures.
__attribute__((format(printf, 2, 0))) static void s_mhd_log(void *cls, const char *format,
                                                            va_list args)
{
    lt_http_server_t *self = cls;
    pthread_mutex_lock(&self->mutex);
    vsnprintf(self->mhd_error, sizeof(self->mhd_error), format, args);
    size_t len = strlen(self->mhd_error);
    while (len > 0 && self->mhd_error[len - 1] == '\n')
        self->mhd_error[--len] = 0;
    pthread_mutex_unlock(&self->mutex);
}

//  Free the parts of a request.
static void s_parts_free(lt_http_request_t *req)
{
    for (size_t i = 0; i < req->part_count; i++) {
        free(req->parts[i].name);
        free(req->parts[i].filename);
        free(req->parts[i].data);
    }
    free(req->parts);
    req->parts = NULL;
    req->part_count = 0;
}

static void s_response_clear(lt_http_response_t *resp);

//  MHD completion callback: free the per-request state.
static void s_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    lt_http_request_t *req = *con_cls;
    if (!req)
        return;
    if (req->pp)
        MHD_destroy_post_processor(req->pp);
    s_parts_free(req);
    free(req->body);
    if (req->answer) {
        s_response_clear(req->answer);
        free(req->answer);
    }
    free(req);
    *con_cls = NULL;
}

//  Queue a plain-text answer without involving the handler.
static enum MHD_Result s_queue_text(struct MHD_Connection *connection, unsigned status,
                                    const char *text)
{
    struct MHD_Response *response
        = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

//  Grow a buffer to hold need bytes (+1 for a NUL); false on no memory.
static bool s_reserve(char **data, size_t *cap, size_t need)
{
    if (need + 1 <= *cap)
        return true;
    size_t size = *cap ? *cap : 4096;
    while (size < need + 1)
        size *= 2;
    char *grown = realloc(*data, size);
    if (!grown)
        return false;
    *data = grown;
    *cap = size;
    return true;
}

//  Post processor iterator: append a chunk to the current part or start one.
static enum MHD_Result s_part_chunk(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *filename, const char *content_type,
                                    const char *transfer_encoding, const char *data,
                                    uint64_t off, size_t size)
{
    lt_http_request_t *req = cls;
    s_part_t *part = req->part_count ? &req->parts[req->part_count - 1] : NULL;
    bool same = part && off > 0 && off == part->size && strcmp(part->name, key) == 0;
    if (!same) {
        if (req->part_count == req->server->limits.max_parts) {
            req->parts_failed = true;
            return MHD_NO;
        }
        s_part_t *grown = realloc(req->parts, (req->part_count + 1) * sizeof(s_part_t));
        if (!grown) {
            req->parts_failed = true;
            return MHD_NO;
        }
        req->parts = grown;
        part = &req->parts[req->part_count++];
        memset(part, 0, sizeof(*part));
        part->name = strdup(key ? key : "");
        part->filename = filename ? strdup(filename) : NULL;
        if (!part->name || (filename && !part->filename)) {
            req->parts_failed = true;
            return MHD_NO;
        }
    }
    if (!s_reserve(&part->data, &part->cap, part->size + size)) {
        req->parts_failed = true;
        return MHD_NO;
    }
    if (size)
        memcpy(part->data + part->size, data, size);
    part->size += size;
    part->data[part->size] = 0;
    return MHD_YES;
}

//  Start parsing a multipart/form-data body as it arrives, so that its
//  bytes are held once (in the parts), not twice; false when the request
//  is not multipart or its Content-Type has no usable boundary.
static bool s_stream_parts(lt_http_request_t *req)
{
    const char *type
        = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncasecmp(type, "multipart/form-data", 19) != 0)
        return false;
    req->pp = MHD_create_post_processor(req->connection, 65536, s_part_chunk, req);
    req->streamed = req->pp != NULL;
    return req->streamed;
}

//  Finish a streamed multipart body; on any failure keep no part.
static void s_stream_end(lt_http_request_t *req)
{
    bool ok = !req->pp || MHD_destroy_post_processor(req->pp) == MHD_YES;
    req->pp = NULL;
    if (!ok || req->parts_failed)
        s_parts_free(req);
}

//  Parse a form body (multipart or urlencoded) into parts; on any failure keep none.
static void s_parse_parts(lt_http_request_t *req)
{
    if (req->streamed)
        return;   //  parsed as it arrived
    const char *type
        = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncasecmp(type, "multipart/form-data", 19) != 0)
        return;
    struct MHD_PostProcessor *pp
        = MHD_create_post_processor(req->connection, 65536, s_part_chunk, req);
    if (!pp)
        return;
    bool ok = MHD_post_process(pp, req->body, req->size) == MHD_YES;
    //  Destroying flushes the last chunk and reports an incomplete body.
    ok = MHD_destroy_post_processor(pp) == MHD_YES && ok;
    if (!ok || req->parts_failed)
        s_parts_free(req);
}

//  Hold a hung request until the server stops or the hang limit passes.
static void s_hang(lt_http_server_t *self)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += self->limits.max_hang_s;
    pthread_mutex_lock(&self->mutex);
    while (!self->stopping)
        if (pthread_cond_timedwait(&self->cond, &self->mutex, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&self->mutex);
}

//  Free what a handler put into a response.
static void s_response_clear(lt_http_response_t *resp)
{
    free(resp->body);
    free(resp->content_type);
    for (size_t i = 0; i < resp->header_count; i++) {
        free(resp->names[i]);
        free(resp->values[i]);
    }
    memset(resp, 0, sizeof(*resp));
}

//  Queue the response a handler or gate filled, then clear it.
static enum MHD_Result s_queue_response(lt_http_request_t *req, lt_http_response_t *resp)
{
    lt_http_response_t r = *resp;
    struct MHD_Response *response = MHD_create_response_from_buffer(
        r.size, r.body ? r.body : (void *) "", MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_NO;
    if (response) {
        if (r.content_type)
            MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type);
        for (size_t i = 0; i < r.header_count; i++)
            MHD_add_response_header(response, r.names[i], r.values[i]);
        rc = MHD_queue_response(req->connection, r.status, response);
        MHD_destroy_response(response);
    }
    s_response_clear(resp);
    return rc;
}

//  Run the handler on a complete request and queue its answer.
static enum MHD_Result s_dispatch(lt_http_server_t *self, lt_http_request_t *req)
{
    if (!s_reserve(&req->body, &req->cap, req->size))
        return s_queue_text(req->connection, 500, "out of memory\n");
    req->body[req->size] = 0;
    s_parse_parts(req);

    lt_http_response_t resp = {.status = 200};
    lt_http_action_t action = self->handler(req, &resp, self->arg);
    if (action == LT_HTTP_HANG) {
        s_response_clear(&resp);
        s_hang(self);
        return MHD_NO;   //  close the connection without an answer
    }
    return s_queue_response(req, &resp);
}

//  What s_header_scan looks for among a request's headers.
typedef struct {
    const char *prefix;     //  names of interest start with this (case-insensitive)
    size_t prefix_len;      //  its length
    const char *names[64];  //  names of interest seen so far (on loan from MHD)
    const char *values[64]; //  their values
    size_t count;           //  entries in names
    const char *twice;      //  the first name seen again with another value, or NULL
} s_header_scan_t;

//  MHD header iterator: note a name of interest that comes again with
//  another value (the same line sent twice is harmless).
static enum MHD_Result s_header_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    s_header_scan_t *scan = cls;
    if (!key || scan->twice || key_size < scan->prefix_len
        || strncasecmp(key, scan->prefix, scan->prefix_len) != 0)
        return MHD_YES;
    for (size_t i = 0; i < scan->count; i++)
        if (strcasecmp(scan->names[i], key) == 0) {
            if (strcmp(scan->values[i], value ? value : "") != 0)
                scan->twice = scan->names[i];
            return MHD_YES;
        }
    if (scan->count < sizeof(scan->names) / sizeof(scan->names[0])) {
        scan->values[scan->count] = value ? value : "";
        scan->names[scan->count++] = key;
    }
    return MHD_YES;
}

//  MHD access handler: gather the body, then dispatch once.
static enum MHD_Result s_access(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    lt_http_server_t *self = cls;
    lt_http_request_t *req = *con_cls;
    if (!req) {
        //  First call: headers only.
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        *con_cls = req;
        req->server = self;
        req->connection = connection;
        req->method = method;
        req->path = url;
        const union MHD_ConnectionInfo *info
            = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (info && info->client_addr) {
            char host[INET6_ADDRSTRLEN] = "?";
            unsigned port = 0;
            if (info->client_addr->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const void *) info->client_addr;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
                port = ntohs(in->sin_port);
            }
            else if (info->client_addr->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const void *) info->client_addr;
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                port = ntohs(in6->sin6_port);
            }
            snprintf(req->peer, sizeof(req->peer), "%s:%u", host, port);
        }
        req->started = lt_clock_ms();
        req->max_body = self->limits.max_body;
        //  The declared length, when there is one; a client that waits for
        //  "100 Continue" sends no body once answered, so nothing is drained.
        const char *length
            = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length");
        const char *expect = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Expect");
        bool waits = expect && strcasecmp(expect, "100-continue") == 0;
        unsigned long long declared = 0;
        bool known = false;
        if (length) {
            char *end = NULL;
            errno = 0;
            declared = strtoull(length, &end, 10);
            known = errno != ERANGE && end != length;
            if (!known)
                declared = ULLONG_MAX;
        }
        if (self->gate) {
            //  Headers only: the gate may answer before the body is read.
            lt_http_response_t resp = {.status = 200};
            size_t max_body = req->max_body;
            if (self->gate(req, &resp, &max_body, self->arg) == LT_HTTP_GATE_ANSWER) {
                req->refused = true;
                if (waits || !known || declared == 0 || declared > S_DRAIN_MIN)
                    return s_queue_response(req, &resp);
                req->answer = malloc(sizeof(*req->answer));
                if (!req->answer) {
                    s_response_clear(&resp);
                    return MHD_NO;
                }
                *req->answer = resp;
                req->drain_limit = (size_t) declared;
                return MHD_YES;
            }
            s_response_clear(&resp);
            if (max_body < req->max_body)
                req->max_body = max_body;
        }
        //  A declared length over the limit is refused without keeping the
        //  body; one just over it is read and dropped first (S_DRAIN_MIN).
        if (length && declared > req->max_body) {
            req->too_big = true;
            size_t allowance = req->max_body > S_DRAIN_MIN ? req->max_body : S_DRAIN_MIN;
            if (waits || !known || declared - req->max_body > allowance)
                return s_queue_text(connection, 413, "request body too large\n");
            req->drain_limit = (size_t) declared;
            return MHD_YES;
        }
        s_stream_parts(req);
        return MHD_YES;
    }
    if (req->refused && !req->answer)
        return MHD_NO;   //  answered by the gate: never read the body
    if (self->limits.max_request_s
        && lt_clock_ms() - req->started > (int64_t) self->limits.max_request_s * 1000)
        return MHD_NO;   //  too slow a client: close the connection
    if (*upload_data_size > 0) {
        size_t chunk = *upload_data_size;
        *upload_data_size = 0;
        size_t held = req->streamed ? req->received : req->size;
        if (!req->too_big && !req->answer && chunk > req->max_body - held) {
            req->too_big = true;
            req->drain_limit = req->max_body;
            free(req->body);
            req->body = NULL;
            req->size = req->cap = 0;
            if (req->pp)
                MHD_destroy_post_processor(req->pp);
            req->pp = NULL;
            s_parts_free(req);
        }
        if (req->too_big || req->answer) {
            //  Drop the rest of an oversized or refused body, within reason.
            req->discarded += chunk;
            return req->discarded > req->drain_limit ? MHD_NO : MHD_YES;
        }
        if (req->streamed) {
            req->received += chunk;
            if (!req->parts_failed && MHD_post_process(req->pp, upload_data, chunk) != MHD_YES)
                req->parts_failed = true;   //  read on, answer with no parts
            return MHD_YES;
        }
        if (!s_reserve(&req->body, &req->cap, req->size + chunk))
            return MHD_NO;
        memcpy(req->body + req->size, upload_data, chunk);
        req->size += chunk;
        return MHD_YES;
    }
    if (req->answer) {   //  the gate's, once the body is dropped
        lt_http_response_t *answer = req->answer;
        req->answer = NULL;
        enum MHD_Result rc = s_queue_response(req, answer);
        free(answer);
        return rc;
    }
    if (req->too_big)
        return s_queue_text(connection, 413, "request body too large\n");
    if (req->streamed)
        s_stream_end(req);
    return s_dispatch(self, req);
}

//  Fill a socket address from text and port; false when not an IP address.
static bool s_sockaddr(const char *address, uint16_t port, struct sockaddr_storage *storage,
                       bool *ipv6)
{
    memset(storage, 0, sizeof(*storage));
    struct sockaddr_in *in = (struct sockaddr_in *) storage;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) storage;
    if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        *ipv6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *ipv6 = true;
        return true;
    }
    return false;
}

lt_http_server_t *lt_http_server_new(const char *address, uint16_t port,
                                     lt_http_handler_fn *handler, void *arg,
                                     const lt_http_limits_t *limits, lt_err_t *err)
{
    lt_http_options_t options = {.limits = {0}};
    if (limits)
        options.limits = *limits;
    return lt_http_server_start(address, port, handler, arg, &options, err);
}

//  Read the certificate and key files of options into self; -1 with err.
static int s_tls_load(lt_http_server_t *self, const lt_http_options_t *options, lt_err_t *err)
{
    if (!options->tls_cert && !options->tls_key)
        return 0;
    if (!options->tls_cert || !options->tls_key || !*options->tls_cert || !*options->tls_key)
        return lt_err_set(err, LT_ECONFIG, "HTTP server: TLS needs both a certificate and a key"),
               -1;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return lt_err_set(err, LT_ECONFIG,
                          "HTTP server: this libmicrohttpd was built without TLS support"),
               -1;
    size_t size = 0;
    lt_err_t ferr;
    self->tls_cert = lt_file_read(options->tls_cert, 1024 * 1024, &size, &ferr);
    if (!self->tls_cert)
        return lt_err_set(err, LT_ECONFIG, "HTTP server: TLS certificate %s: %s",
                          options->tls_cert, ferr.detail),
               -1;
    self->tls_key = lt_file_read(options->tls_key, 1024 * 1024, &self->tls_key_size, &ferr);
    if (!self->tls_key)
        return lt_err_set(err, LT_ECONFIG, "HTTP server: TLS key %s: %s", options->tls_key,
                          ferr.detail),
               -1;
    if (!strstr(self->tls_cert, "-----BEGIN CERTIFICATE-----"))
        return lt_err_set(err, LT_ECONFIG, "HTTP server: %s holds no PEM certificate",
                          options->tls_cert),
               -1;
    if (!strstr(self->tls_key, "PRIVATE KEY-----"))
        return lt_err_set(err, LT_ECONFIG, "HTTP server: %s holds no PEM private key",
                          options->tls_key),
               -1;
    return 0;
}

lt_http_server_t *lt_http_server_start(const char *address, uint16_t port,
                                       lt_http_handler_fn *handler, void *arg,
                                       const lt_http_options_t *options, lt_err_t *err)
{
    assert(address && handler);
    lt_http_options_t none = {.limits = {0}};
    if (!options)
        options = &none;
    const lt_http_limits_t *limits = &options->limits;
    struct sockaddr_storage storage;
    bool ipv6 = false;
    if (!s_sockaddr(address, port, &storage, &ipv6)) {
        lt_err_set(err, LT_ECONFIG, "HTTP server: '%s' is not an IP address", address);
        return NULL;
    }
    lt_http_server_t *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "HTTP server: out of memory");
        return NULL;
    }
    self->handler = handler;
    self->arg = arg;
    self->gate = options->gate;
    self->limits = *limits;
    if (!self->limits.max_body)
        self->limits.max_body = LT_HTTP_MAX_BODY;
    if (!self->limits.max_parts)
        self->limits.max_parts = 16;
    if (!self->limits.max_connections)
        self->limits.max_connections = 64;
    if (!self->limits.idle_timeout_s)
        self->limits.idle_timeout_s = 60;
    if (!self->limits.max_hang_s)
        self->limits.max_hang_s = 600;
    pthread_mutex_init(&self->mutex, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (s_tls_load(self, options, err)) {
        lt_http_server_destroy(&self);
        return NULL;
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
                     | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0)
                     | (self->tls_cert ? MHD_USE_TLS : 0);
    struct MHD_OptionItem items[4];
    size_t n = 0;
    if (self->limits.max_per_ip)
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                             (intptr_t) self->limits.max_per_ip, NULL};
    if (self->tls_cert) {
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, self->tls_cert};
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, self->tls_key};
    }
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    self->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, s_access, self, MHD_OPTION_SOCK_ADDR, &storage,
        MHD_OPTION_CONNECTION_LIMIT,
        self->limits.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        self->limits.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self, MHD_OPTION_ARRAY, items, MHD_OPTION_END);
    if (!self->daemon) {
        lt_err_set(err, LT_EIO, "HTTP server: cannot listen on %s port %u: %s", address,
                   (unsigned) port, self->mhd_error[0] ? self->mhd_error : "MHD refused");
        lt_http_server_destroy(&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return self;
}

void lt_http_server_destroy(lt_http_server_t **self_p)
{
    assert(self_p);
    lt_http_server_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->mutex);
    self->stopping = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->mutex);
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    if (self->tls_key)
        OPENSSL_cleanse(self->tls_key, self->tls_key_size);
    free(self->tls_key);
    free(self->tls_cert);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->mutex);
    free(self);
    *self_p = NULL;
}

bool lt_http_server_tls(const lt_http_server_t *self)
{
    assert(self);
    return self->tls_cert != NULL;
}

int64_t lt_http_request_started(const lt_http_request_t *req)
{
    assert(req);
    return req->started;
}

uint16_t lt_http_server_port(const lt_http_server_t *self)
{
    assert(self);
    return self->port;
}

const char *lt_http_request_method(const lt_http_request_t *req)
{
    assert(req);
    return req->method;
}

const char *lt_http_request_path(const lt_http_request_t *req)
{
    assert(req);
    return req->path;
}

const char *lt_http_request_header(const lt_http_request_t *req, const char *name)
{
    assert(req && name);
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *lt_http_request_query(const lt_http_request_t *req, const char *name)
{
    assert(req && name);
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

const void *lt_http_request_body(const lt_http_request_t *req, size_t *size)
{
    assert(req && size);
    *size = req->size;
    return req->body;
}

const void *lt_http_request_part(const lt_http_request_t *req, const char *name, size_t *size,
                                 const char **filename)
{
    assert(req && name && size);
    for (size_t i = 0; i < req->part_count; i++)
        if (strcmp(req->parts[i].name, name) == 0) {
            *size = req->parts[i].size;
            if (filename)
                *filename = req->parts[i].filename;
            return req->parts[i].data ? req->parts[i].data : "";
        }
    *size = 0;
    if (filename)
        *filename = NULL;
    return NULL;
}

size_t lt_http_request_part_count(const lt_http_request_t *req, const char *name)
{
    assert(req && name);
    size_t count = 0;
    for (size_t i = 0; i < req->part_count; i++)
        count += strcmp(req->parts[i].name, name) == 0;
    return count;
}

const char *lt_http_request_repeated_header(const lt_http_request_t *req, const char *prefix)
{
    assert(req && prefix);
    s_header_scan_t scan = {.prefix = prefix, .prefix_len = strlen(prefix)};
    MHD_get_connection_values_n(req->connection, MHD_HEADER_KIND, s_header_scan, &scan);
    return scan.twice;
}

const char *lt_http_request_peer(const lt_http_request_t *req)
{
    assert(req);
    return req->peer;
}

bool lt_http_request_wait(const lt_http_request_t *req, int64_t ms)
{
    assert(req);
    lt_http_server_t *self = req->server;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (ms < 0)
        ms = 0;
    deadline.tv_sec += (time_t) (ms / 1000);
    deadline.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    bool full = true;
    pthread_mutex_lock(&self->mutex);
    while (!self->stopping)
        if (pthread_cond_timedwait(&self->cond, &self->mutex, &deadline) == ETIMEDOUT)
            break;
    full = !self->stopping;
    pthread_mutex_unlock(&self->mutex);
    return full;
}

void lt_http_response_set_status(lt_http_response_t *resp, unsigned status)
{
    assert(resp && status >= 100 && status <= 599);
    resp->status = status;
}

int lt_http_response_set_body(lt_http_response_t *resp, const void *body, size_t size,
                              const char *content_type)
{
    assert(resp && (body || size == 0));
    char *copy = malloc(size + 1);
    char *type = content_type ? strdup(content_type) : NULL;
    if (!copy || (content_type && !type) || (content_type && strpbrk(content_type, "\r\n"))) {
        free(copy);
        free(type);
        return -1;
    }
    if (size)
        memcpy(copy, body, size);
    copy[size] = 0;
    free(resp->body);
    free(resp->content_type);
    resp->body = copy;
    resp->size = size;
    resp->content_type = type;
    return 0;
}

int lt_http_response_set(lt_http_response_t *resp, unsigned status, const char *content_type,
                         const char *text)
{
    assert(text);
    lt_http_response_set_status(resp, status);
    return lt_http_response_set_body(resp, text, strlen(text), content_type);
}

int lt_http_response_add_header(lt_http_response_t *resp, const char *name, const char *value)
{
    assert(resp && name && value);
    if (resp->header_count == S_MAX_RESPONSE_HEADERS || !*name || strpbrk(name, "\r\n: ")
        || strpbrk(value, "\r\n"))
        return -1;
    char *name_copy = strdup(name);
    char *value_copy = strdup(value);
    if (!name_copy || !value_copy) {
        free(name_copy);
        free(value_copy);
        return -1;
    }
    resp->names[resp->header_count] = name_copy;
    resp->values[resp->header_count] = value_copy;
    resp->header_count++;
    return 0;
}

//  --------------------------------------------------------------------------
//  Self-test (with lt_http_client as the peer)

#include "lt_digest.h"
#include "lt_http_client.h"
#include "lt_id.h"

//  Test handler: routes by path.
static lt_http_action_t s_test_handler(const lt_http_request_t *req, lt_http_response_t *resp,
                                       void *arg)
{
    int *calls = arg;
    __atomic_add_fetch(calls, 1, __ATOMIC_SEQ_CST);
    const char *path = lt_http_request_path(req);
    size_t size = 0;
    const void *body = lt_http_request_body(req, &size);
    char text[512];
    if (strcmp(path, "/hang") == 0)
        return LT_HTTP_HANG;
    if (strcmp(path, "/mirror") == 0) {
        const char *type = lt_http_request_header(req, "content-type");
        assert(lt_http_response_set_body(resp, body, size, type ? type : "text/plain") == 0);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/upload") == 0) {
        const char *filename = NULL;
        size_t part_size = 0;
        const void *part = lt_http_request_part(req, "file_doc", &part_size, &filename);
        if (!part) {
            lt_http_response_set(resp, 400, "text/plain", "no part");
            return LT_HTTP_ANSWER;
        }
        char hex[LT_SHA256_HEX];
        lt_digest_sha256_hex(part, part_size, hex);
        const char *other = lt_http_request_header(req, "X-Other");
        const char *twice = lt_http_request_repeated_header(req, "x-");
        snprintf(text, sizeof(text), "%s %zu %s %s parts=%zu twice=%s",
                 filename ? filename : "-", part_size, hex, other ? other : "-",
                 lt_http_request_part_count(req, "file_doc"), twice ? twice : "-");
        lt_http_response_set(resp, 201, "text/plain", text);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/slow") == 0) {
        bool full = lt_http_request_wait(req, 100);
        lt_http_response_set(resp, 200, "text/plain", full ? "slept" : "woken");
        return LT_HTTP_ANSWER;
    }
    const char *q = lt_http_request_query(req, "q");
    const char *test = lt_http_request_header(req, "x-TEST");
    snprintf(text, sizeof(text), "%s %s q=%s x=%s size=%zu peer=%s", lt_http_request_method(req),
             path, q ? q : "-", test ? test : "-", size, lt_http_request_peer(req));
    lt_http_response_set(resp, 200, "text/plain", text);
    assert(lt_http_response_add_header(resp, "X-Served-By", "lt_http_server") == 0);
    assert(lt_http_response_add_header(resp, "Bad\r\nName", "x") == -1);
    return LT_HTTP_ANSWER;
}

//  Test helper: send a request's head over a plain socket, without a body,
//  and return the status of the answer (0 when none came in 5 s).
static unsigned s_test_raw_status(uint16_t port, const char *head)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval wait = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
    assert(connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
    size_t len = strlen(head);
    assert(send(fd, head, len, MSG_NOSIGNAL) == (ssize_t) len);
    char answer[256] = {0};
    size_t got = 0;
    while (got < 12) {
        ssize_t n = recv(fd, answer + got, sizeof(answer) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    close(fd);
    unsigned status = 0;
    if (got >= 12 && strncmp(answer, "HTTP/1.1 ", 9) == 0)
        status = (unsigned) atoi(answer + 9);
    return status;
}

//  Test gate: refuses /gated from its headers, bounds /small to 1000 bytes.
static lt_http_gate_t s_test_gate(const lt_http_request_t *req, lt_http_response_t *resp,
                                  size_t *max_body, void *arg)
{
    size_t size = 1;
    lt_http_request_body(req, &size);
    assert(size == 0);   //  nothing of the body is read yet
    assert(lt_http_request_started(req) > 0);
    if (strcmp(lt_http_request_path(req), "/gated") == 0) {
        lt_http_response_set(resp, 401, "text/plain", "refused from the headers");
        return LT_HTTP_GATE_ANSWER;
    }
    if (strcmp(lt_http_request_path(req), "/small") == 0)
        *max_body = 1000;
    return LT_HTTP_GATE_PASS;
}

//  Self-test of the gate and of the TLS option errors.
static void s_test_gate_server(void)
{
    int calls = 0;
    lt_err_t err;
    lt_http_options_t options = {.limits = {.max_body = 4u * 1024 * 1024, .max_per_ip = 4},
                                 .gate = s_test_gate};
    lt_http_server_t *server
        = lt_http_server_start("127.0.0.1", 0, s_test_handler, &calls, &options, &err);
    assert(server && !lt_http_server_tls(server));
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u/", (unsigned) lt_http_server_port(server));
    lt_http_client_t *client = lt_http_client_new(base);
    assert(client);
    lt_http_client_set_timeout(client, 5000);
    lt_http_reply_t reply = {0};
    size_t big = 3u * 1024 * 1024;
    char *blob = calloc(1, big);
    assert(blob);
    //  Refused from the headers: the handler never runs. A body of up to
    //  S_DRAIN_MIN is read and dropped before the answer, so a client that
    //  sends it all without waiting still gets the answer, never a reset.
    for (int round = 0; round < 3; round++) {
        lt_error_t rc = lt_http_client_post(client, "/gated", NULL, 0, blob, S_DRAIN_MIN,
                                            "application/octet-stream", &reply, &err);
        if (rc != LT_OK)
            fprintf(stderr, "lt_http_server: gated post: %s\n", err.detail);
        assert(rc == LT_OK && reply.status == 401);
        assert(strcmp(reply.body, "refused from the headers") == 0);
    }
    assert(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 0);
    //  Longer, or waiting for "100 Continue": answered from the headers alone.
    char head[512];
    snprintf(head, sizeof(head),
             "POST /gated HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n",
             S_DRAIN_MIN + 1);
    assert(s_test_raw_status(lt_http_server_port(server), head) == 401);
    snprintf(head, sizeof(head),
             "POST /gated HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
             "Expect: 100-continue\r\n\r\n");
    assert(s_test_raw_status(lt_http_server_port(server), head) == 401);
    lt_error_t rc;
    //  A lowered limit for one path; others keep the server's.
    rc = lt_http_client_post(client, "/small", NULL, 0, blob, 2000, "application/octet-stream",
                             &reply, &err);
    assert(rc == LT_OK && reply.status == 413);
    rc = lt_http_client_post(client, "/mirror", NULL, 0, blob, big, "application/octet-stream",
                             &reply, &err);
    assert(rc == LT_OK && reply.status == 200 && reply.size == big);
    assert(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 1);
    lt_http_reply_free(&reply);
    lt_http_client_destroy(&client);
    free(blob);
    lt_http_server_destroy(&server);
    //  TLS needs both files, and readable PEM ones.
    lt_http_options_t tls = {.tls_cert = "/nonexistent/cert.pem"};
    assert(!lt_http_server_start("127.0.0.1", 0, s_test_handler, &calls, &tls, &err));
    assert(err.code == LT_ECONFIG && strstr(err.detail, "both"));
    tls.tls_key = "/nonexistent/key.pem";
    assert(!lt_http_server_start("127.0.0.1", 0, s_test_handler, &calls, &tls, &err));
    assert(err.code == LT_ECONFIG && strstr(err.detail, "/nonexistent/cert.pem"));
}

void lt_http_server_test(bool verbose)
{
    if (verbose)
        printf(" * lt_http_server: ");
    int calls = 0;
    lt_err_t err;
    lt_http_limits_t limits = {.max_body = 256 * 1024, .max_hang_s = 30};
    assert(!lt_http_server_new("not-an-address", 0, s_test_handler, &calls, &limits, &err));
    assert(err.code == LT_ECONFIG);
    lt_http_server_t *server
        = lt_http_server_new("127.0.0.1", 0, s_test_handler, &calls, &limits, &err);
    assert(server);
    uint16_t port = lt_http_server_port(server);
    assert(port != 0);
    //  The same port cannot be bound twice.
    lt_http_server_t *twin
        = lt_http_server_new("127.0.0.1", port, s_test_handler, &calls, &limits, &err);
    assert(!twin && err.code == LT_EIO);

    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u/", (unsigned) port);
    lt_http_client_t *client = lt_http_client_new(base);
    assert(client);
    lt_http_client_set_timeout(client, 5000);
    lt_http_reply_t reply = {0};

    //  GET with a query and a header; two calls share one connection.
    lt_http_header_t headers[] = {{"X-Test", "hello"}, {"X-Empty", ""}};
    assert(lt_http_client_get(client, "/echo?q=42", headers, 2, &reply, &err) == LT_OK);
    assert(reply.status == 200);
    assert(strncmp(reply.body, "GET /echo q=42 x=hello size=0 peer=127.0.0.1:", 44) == 0);
    char first_peer[64];
    snprintf(first_peer, sizeof(first_peer), "%s", strstr(reply.body, "peer="));
    assert(lt_http_client_get(client, "echo", NULL, 0, &reply, &err) == LT_OK);
    assert(strcmp(strstr(reply.body, "peer="), first_peer) == 0);

    //  POST of binary bytes comes back byte for byte.
    unsigned char blob[5000];
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (unsigned char) (i * 7);
    assert(lt_http_client_post(client, "/mirror", NULL, 0, blob, sizeof(blob),
                               "application/octet-stream", &reply, &err)
           == LT_OK);
    assert(reply.status == 200 && reply.size == sizeof(blob));
    assert(memcmp(reply.body, blob, sizeof(blob)) == 0);
    //  An empty POST is fine too.
    assert(lt_http_client_post(client, "/echo", NULL, 0, NULL, 0, NULL, &reply, &err) == LT_OK);
    assert(strncmp(reply.body, "POST /echo q=- x=- size=0", 25) == 0);

    //  Multipart upload of one file part.
    size_t big = 200 * 1024;
    unsigned char *data = malloc(big);
    assert(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (unsigned char) ((i * 31) ^ (i >> 8));
    char hex[LT_SHA256_HEX];
    lt_digest_sha256_hex(data, big, hex);
    lt_http_header_t other[] = {{"X-Other", "yes"}};
    assert(lt_http_client_post_file(client, "/upload", other, 1, "file_doc", "pkg.edxml", data,
                                    big, &reply, &err)
           == LT_OK);
    char expect[256];
    snprintf(expect, sizeof(expect), "pkg.edxml %zu %s yes parts=1 twice=-", big, hex);
    assert(reply.status == 201);
    assert(strcmp(reply.body, expect) == 0);
    //  Two parts of one name are both kept (the first is served); a header
    //  sent twice with two values is told (twice with one value is not).
    const char *two_parts = "--b42\r\nContent-Disposition: form-data; name=\"file_doc\"; "
                            "filename=\"a\"\r\n\r\nfirst\r\n--b42\r\nContent-Disposition: "
                            "form-data; name=\"file_doc\"; filename=\"b\"\r\n\r\nsecond\r\n"
                            "--b42--\r\n";
    lt_http_header_t doubled[] = {{"X-Same", "1"}, {"X-Other", "one"}, {"X-Same", "1"},
                                  {"x-other", "two"}};
    assert(lt_http_client_post(client, "/upload", doubled, 4, two_parts, strlen(two_parts),
                               "multipart/form-data; boundary=b42", &reply, &err)
           == LT_OK);
    assert(reply.status == 201);
    lt_digest_sha256_hex("first", 5, hex);
    snprintf(expect, sizeof(expect), "a 5 %s one parts=2 twice=", hex);
    if (strncmp(reply.body, expect, strlen(expect)) != 0)
        fprintf(stderr, "lt_http_server: got '%s'\n", reply.body);
    assert(strncmp(reply.body, expect, strlen(expect)) == 0);
    assert(strcasecmp(reply.body + strlen(expect), "X-Other") == 0);
    //  A part under another name is not file_doc.
    assert(lt_http_client_post_file(client, "/upload", NULL, 0, "other", "x", data, 10, &reply,
                                    &err)
           == LT_OK);
    assert(reply.status == 400);
    //  A body that says multipart but is not: no parts, handler still called.
    assert(lt_http_client_post(client, "/upload", NULL, 0, "garbage", 7,
                               "multipart/form-data; boundary=xyz", &reply, &err)
           == LT_OK);
    assert(reply.status == 400);

    //  Over the body limit: 413 and the handler is not called. Up to
    //  S_DRAIN_MIN over it, the body is read and dropped before the answer,
    //  so a client that does not wait for "100 Continue" gets the 413 and
    //  not a reset (larger than the socket buffers, it is still sending when
    //  the server decides).
    int before = __atomic_load_n(&calls, __ATOMIC_SEQ_CST);
    size_t huge = limits.max_body + S_DRAIN_MIN;
    unsigned char *too_much = calloc(1, huge);
    assert(too_much);
    lt_error_t rc = LT_OK;
    for (int round = 0; round < 3; round++) {
        size_t size = round == 0 ? limits.max_body + 1 : huge;
        rc = lt_http_client_post(client, "/mirror", NULL, 0, too_much, size,
                                 "application/octet-stream", &reply, &err);
        if (rc != LT_OK)
            fprintf(stderr, "lt_http_server: oversized post: %s\n", err.detail);
        assert(rc == LT_OK && reply.status == 413);
    }
    assert(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == before);
    free(too_much);
    //  Far over the limit, or waiting for "100 Continue": the 413 comes
    //  from the headers alone, without the body.
    char head[512];
    snprintf(head, sizeof(head),
             "POST /mirror HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
    assert(s_test_raw_status(port, head) == 413);
    snprintf(head, sizeof(head),
             "POST /mirror HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
             "Expect: 100-continue\r\n\r\n",
             limits.max_body + 1);
    assert(s_test_raw_status(port, head) == 413);
    assert(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == before);
    //  The client recovers a new connection afterwards.
    assert(lt_http_client_get(client, "/echo", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 200);

    //  A hung handler: the client times out; other requests still get served.
    lt_http_client_set_timeout(client, 300);
    int64_t start = lt_clock_ms();
    rc = lt_http_client_get(client, "/hang", NULL, 0, &reply, &err);
    assert(rc == LT_ETIMEOUT);
    assert(lt_clock_ms() - start < 3000);
    assert(strstr(err.detail, "/hang"));
    assert(reply.status == 0 && reply.body == NULL);
    lt_http_client_set_timeout(client, 5000);
    assert(lt_http_client_get(client, "/slow", NULL, 0, &reply, &err) == LT_OK);
    assert(strcmp(reply.body, "slept") == 0);

    //  Destroying releases the hung handler promptly.
    start = lt_clock_ms();
    lt_http_server_destroy(&server);
    lt_http_server_destroy(&server);
    int64_t stop_ms = lt_clock_ms() - start;
    assert(stop_ms < 5000);
    if (verbose)
        printf("(stopped with a hung request in %lld ms) ", (long long) stop_ms);

    //  Nobody listens any more: connection refused.
    assert(lt_http_client_get(client, "/echo", NULL, 0, &reply, &err) == LT_EUNAVAIL);
    lt_http_reply_free(&reply);
    lt_http_client_destroy(&client);
    free(data);
    s_test_gate_server();
    if (verbose)
        printf("OK\n");
}
