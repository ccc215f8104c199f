/*  lt_http_server: libmicrohttpd in thread-per-connection mode, whole-body
    requests, a streaming multipart/form-data parser of our own (MHD's post
    processor refuses forms that common clients write, and crashed on a
    part without a name), a whole-request deadline, and a hang mode for
    fault injection.

    MHD calls the access handler several times per request: once with the
    headers, once per body chunk, and once with an empty chunk at the end.
    The per-request state (lt_http_request_t) lives in MHD's per-request
    pointer from the first call until the completion callback frees it.

    The gate runs in the first call, before MHD reads any of the body: an
    answer queued there makes MHD send it without asking the client for the
    body ("100 Continue" is not sent) and close the connection afterwards,
    so a refused client costs no memory for its body.

    The deadline (limits.max_request_s) runs from a connection's accept, or
    from its previous answer, until the handler gets the request: MHD tells
    of each connection's start and close (s_connection), and a sweeper
    thread shuts down the sockets of those past it, in the header phase as
    in the body.

    The budget (limits.max_inflight_body) bounds the body bytes held by all
    requests at once, whatever their number: each request counts its body
    against it under the server's mutex, the whole declared Content-Length
    as soon as the headers are in (so the buffer is allocated once, at its
    size), a chunked body chunk by chunk. A request the budget cannot take
    gets 503 with Retry-After once its body is read and dropped (as for a
    413; a client waiting for "100 Continue" gets it at once), and what it
    held goes back as soon as its body is dropped or freed: at its answer's
    completion, which MHD reports on every end (answered, client gone, idle
    timeout, deadline sweep, server stopped). Without it, connections x
    max_body could be held by clients the handler would refuse anyway.
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
//  How often connections are checked against max_request_s.
#define S_SWEEP_MS 200

//  Connections libmicrohttpd accepts beyond the limits (in all, and per
//  client address), so that a new one is seen, not left in the listen
//  queue: the limits are then kept by closing the connection that has
//  waited longest without a request in the handler (s_evict).
#define S_EVICT_SPARE 8
//  Default budget of body bytes held at once: S_BUDGET_FACTOR bodies of
//  the largest size, and never less than S_BUDGET_MIN.
#define S_BUDGET_FACTOR 4
#define S_BUDGET_MIN    (64u * 1024 * 1024)
//  A body up to this size (or a sixteenth of the budget, if less) is never
//  refused for the budget; with the connection limit it bounds what the
//  budget lets past (64 connections: 64 MiB).
#define S_BUDGET_SMALL  (1024u * 1024)
//  Seconds a client refused for the budget is asked to wait: bodies in
//  flight are answered and freed within a few seconds on a healthy link.
#define S_RETRY_AFTER "5"

//  Multipart/form-data bounds: RFC 2046 allows a boundary of 1 to 70
//  characters; the header block of one part is read whole before its body,
//  so it is bounded too.
#define S_BOUNDARY_MAX  70
#define S_PART_HEAD_MAX (8u * 1024)

//  One multipart/form-data part.
typedef struct {
    char *name;       //  part (field) name, owned ("" when it had none)
    char *filename;   //  file name, owned, or NULL
    char *data;       //  bytes, owned, NUL-terminated
    size_t size;      //  bytes used
    size_t cap;       //  bytes allocated
} s_part_t;

//  Where the multipart parser is in the body.
typedef enum {
    S_FORM_PREAMBLE,   //  before the first delimiter: bytes ignored
    S_FORM_TAIL,       //  just after a delimiter: "--", or padding and CRLF
    S_FORM_DASH,       //  one '-' of the close delimiter seen
    S_FORM_PAD,        //  spaces or tabs after a delimiter
    S_FORM_CR,         //  CR after a delimiter, LF expected
    S_FORM_HEAD,       //  a part's header block
    S_FORM_BODY,       //  a part's bytes
    S_FORM_DONE,       //  close delimiter seen: the epilogue is ignored
    S_FORM_FAILED,     //  malformed, over a bound, or no memory: no part is kept
} s_form_state_t;

//  A streaming multipart/form-data parser: fed the body in chunks of any
//  size, it keeps the parts and never the raw body. The delimiter is
//  matched one byte at a time across chunk edges; the bytes of a partial
//  match are held only as a count, since they are a prefix of the
//  delimiter.
typedef struct {
    s_form_state_t state;             //  where the parser is
    char delim[S_BOUNDARY_MAX + 5];   //  CRLF "--" boundary, NUL-terminated
    size_t delim_len;                 //  its bytes
    size_t match;                     //  bytes of delim matched and held back
    char head[S_PART_HEAD_MAX + 1];   //  the current part's header block
    size_t head_len;                  //  its bytes
    size_t max_parts;                 //  parts kept at most; one more fails the body
    s_part_t *parts;                  //  parts, owned
    size_t count;                     //  parts in use
} s_form_t;

//  One connection, from accept to close, for the whole-request deadline.
typedef struct _s_conn_t {
    struct _s_conn_t *prev;   //  in the server's list of connections
    struct _s_conn_t *next;   //  (guarded by the server's mutex)
    int fd;                   //  its socket, valid until MHD's close notice
    int64_t started;          //  lt_clock_ms of the accept or of the last answer
    bool busy;                //  the handler has the request: no deadline
    bool cut;                 //  shut down by the sweep or by s_evict
    char host[48];            //  the client's address, without its port
} s_conn_t;

struct _lt_http_server_t {
    struct MHD_Daemon *daemon;       //  the MHD daemon
    lt_http_handler_fn *handler;     //  the caller's handler
    void *arg;                       //  its argument
    lt_http_limits_t limits;         //  bounds, defaults applied
    lt_http_gate_fn *gate;           //  header check, or NULL
    lt_http_refusal_fn *refusal;     //  body of the server's own refusals, or NULL (text)
    char *tls_cert;                  //  PEM certificate, owned, or NULL (plain HTTP)
    char *tls_key;                   //  PEM key, owned (wiped on destroy), or NULL
    size_t tls_key_size;             //  its bytes
    uint16_t port;                   //  bound port
    pthread_mutex_t mutex;           //  guards stopping and the condition
    pthread_cond_t cond;             //  signalled when stopping
    bool stopping;                   //  destroy has begun: hung requests go
    s_conn_t *conns;                 //  open connections (guarded by mutex)
    uint64_t evicted;                //  connections closed by s_evict (guarded by mutex)
    size_t held;                     //  body bytes counted by requests (guarded by mutex)
    uint64_t busy_refused;           //  requests answered 503 for the budget (guarded by mutex)
    pthread_t sweeper;               //  closes connections past max_request_s
    bool sweeping;                   //  the sweeper runs
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
    bool over_budget;                   //  over the server's body budget: answer 503
    size_t charged;                     //  body bytes counted against the budget
    size_t declared;                    //  Content-Length within the limit, or 0
    size_t discarded;                   //  bytes dropped after too_big or refused
    size_t drain_limit;                 //  close when more than this is dropped
    lt_http_response_t *answer;         //  the gate's answer, sent after the drain, or NULL
    s_conn_t *conn;                     //  its connection, or NULL
    char peer[64];                      //  client address and port
    int64_t started;                    //  lt_clock_ms when the headers arrived
    size_t max_body;                    //  this request's body limit
    bool refused;                       //  the gate answered: the body is not read
    s_form_t *form;                     //  multipart parser and its parts, owned, or NULL
    bool streamed;                      //  multipart: parts kept, the raw body not
    size_t received;                    //  body bytes received when streamed
    bool close;                         //  the answer closes the connection
    bool path_nul;                      //  the raw path held %00 (lost once decoded)
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

static void s_response_clear(lt_http_response_t *resp);
static enum MHD_Result s_queue_response(lt_http_request_t *req, lt_http_response_t *resp);
static void s_form_destroy(s_form_t **form_p);

//  Count the body of req against the server's budget up to want bytes in
//  all (a request never counts less than it did); false, and nothing more
//  counted, when the budget cannot take them.
static bool s_budget_take(lt_http_request_t *req, size_t want)
{
    if (want <= req->charged)
        return true;
    lt_http_server_t *self = req->server;
    size_t more = want - req->charged;
    size_t budget = self->limits.max_inflight_body;
    //  A small body always fits (counted all the same): slow clients
    //  holding the budget with large declared bodies must not stop the
    //  ordinary calls, and a connection can hold no more than this.
    size_t small = budget / 16 < S_BUDGET_SMALL ? budget / 16 : S_BUDGET_SMALL;
    pthread_mutex_lock(&self->mutex);
    bool fits = want <= small || (self->held <= budget && more <= budget - self->held);
    if (fits)
        self->held += more;
    else
        self->busy_refused++;
    pthread_mutex_unlock(&self->mutex);
    if (fits)
        req->charged = want;
    return fits;
}

//  Give back what req counted against the budget (its body is freed or
//  about to be); safe to call again.
static void s_budget_release(lt_http_request_t *req)
{
    if (!req->charged)
        return;
    lt_http_server_t *self = req->server;
    pthread_mutex_lock(&self->mutex);
    assert(self->held >= req->charged);
    self->held -= req->charged;
    pthread_mutex_unlock(&self->mutex);
    req->charged = 0;
}

//  MHD completion callback: free the per-request state.
static void s_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    lt_http_request_t *req = *con_cls;
    if (!req)
        return;
    if (req->conn) {
        //  The next request on this connection has its own deadline.
        pthread_mutex_lock(&req->server->mutex);
        req->conn->busy = false;
        req->conn->started = lt_clock_ms();
        pthread_mutex_unlock(&req->server->mutex);
    }
    s_form_destroy(&req->form);
    free(req->body);
    s_budget_release(req);
    if (req->answer) {
        s_response_clear(req->answer);
        free(req->answer);
    }
    free(req);
    *con_cls = NULL;
}

//  Write a client address's host part (no port) into host; port may be NULL.
static void s_host_of(const struct sockaddr *addr, char *host, size_t size, unsigned *port)
{
    snprintf(host, size, "?");
    if (port)
        *port = 0;
    if (addr && addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *) addr;
        inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t) size);
        if (port)
            *port = ntohs(in->sin_port);
    }
    else if (addr && addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *) addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t) size);
        if (port)
            *port = ntohs(in6->sin6_port);
    }
}

//  Keep the connection limits once conn has joined the list (mutex held):
//  over the limit in all, or for conn's client address, the connection of
//  that scope which has waited longest without its request in the handler
//  (idle between two requests, or still sending one) is shut down; conn
//  itself, the newest, goes only when every other one is being served.
//  Refusing the newcomer instead, as libmicrohttpd does at its limit, let
//  a few clients that keep their connections open (a request every few
//  seconds restarts each deadline) lock operators out for as long as they
//  liked; an idle persistent connection may be closed at any time (RFC
//  9112, 9.5), and its client opens another.
static void s_evict(lt_http_server_t *self, s_conn_t *conn)
{
    size_t all = 0, same = 0;
    for (s_conn_t *c = self->conns; c; c = c->next)
        if (!c->cut) {
            all++;
            same += strcmp(c->host, conn->host) == 0;
        }
    bool per_ip = self->limits.max_per_ip && same > self->limits.max_per_ip;
    if (!per_ip && all <= self->limits.max_connections)
        return;
    s_conn_t *victim = NULL;
    for (s_conn_t *c = self->conns; c; c = c->next)
        if (!c->cut && !c->busy && (!per_ip || strcmp(c->host, conn->host) == 0)
            && (!victim || c->started < victim->started || victim == conn))
            victim = c;
    if (!victim)
        victim = conn;
    //  MHD's thread sees the end of the stream and closes it; a handler
    //  waiting in lt_http_request_wait on it returns at once.
    shutdown(victim->fd, SHUT_RDWR);
    victim->cut = true;
    self->evicted++;
    pthread_cond_broadcast(&self->cond);
}

//  MHD connection notice: keep every open connection in the server's list
//  from its accept (the start of its first request's deadline) to its
//  close. MHD sends the close notice before it closes the socket, so the
//  sweeper, which holds the mutex while it shuts a socket down, never
//  touches a descriptor that was closed and reused.
static void s_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                         enum MHD_ConnectionNotificationCode code)
{
    lt_http_server_t *self = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info
            = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        s_conn_t *conn = calloc(1, sizeof(*conn));
        if (!info || !conn) {
            //  A connection that cannot be watched is not served.
            if (info)
                shutdown(info->connect_fd, SHUT_RDWR);
            free(conn);
            *socket_context = NULL;
            return;
        }
        conn->fd = info->connect_fd;
        conn->started = lt_clock_ms();
        const union MHD_ConnectionInfo *peer
            = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        s_host_of(peer ? peer->client_addr : NULL, conn->host, sizeof(conn->host), NULL);
        pthread_mutex_lock(&self->mutex);
        conn->next = self->conns;
        if (self->conns)
            self->conns->prev = conn;
        self->conns = conn;
        s_evict(self, conn);
        pthread_mutex_unlock(&self->mutex);
        *socket_context = conn;
        return;
    }
    s_conn_t *conn = *socket_context;
    if (!conn)
        return;
    pthread_mutex_lock(&self->mutex);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        self->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    pthread_mutex_unlock(&self->mutex);
    free(conn);
    *socket_context = NULL;
}

//  Sweeper thread: shut down every connection whose request has not fully
//  arrived within max_request_s of its start, whatever it is reading
//  (headers or body); MHD's idle timeout alone restarts on every byte, so a
//  client sending one byte a second would hold its connection for ever.
//  Requests with the handler are left alone (max_hang_s bounds a hung one).
static void *s_sweep(void *arg)
{
    lt_http_server_t *self = arg;
    int64_t limit_ms = (int64_t) self->limits.max_request_s * 1000;
    pthread_mutex_lock(&self->mutex);
    while (!self->stopping) {
        int64_t now = lt_clock_ms();
        for (s_conn_t *conn = self->conns; conn; conn = conn->next)
            if (!conn->busy && !conn->cut && now - conn->started > limit_ms) {
                //  MHD's thread sees the end of the stream and closes it.
                shutdown(conn->fd, SHUT_RDWR);
                conn->cut = true;
                pthread_cond_broadcast(&self->cond);   //  lt_http_request_wait
            }
        struct timespec wake;
        clock_gettime(CLOCK_MONOTONIC, &wake);
        wake.tv_nsec += S_SWEEP_MS * 1000000L;
        if (wake.tv_nsec >= 1000000000L) {
            wake.tv_sec++;
            wake.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->cond, &self->mutex, &wake);
    }
    pthread_mutex_unlock(&self->mutex);
    return NULL;
}

//  Queue a plain-text answer without involving the handler, with a
//  Retry-After header when retry_after is not NULL, closing the connection
//  after it when close is true.
static enum MHD_Result s_queue_text(struct MHD_Connection *connection, unsigned status,
                                    const char *text, const char *retry_after, bool close)
{
    struct MHD_Response *response
        = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    if (retry_after)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (close)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

//  Queue the server's own refusal of a request (413 over its body limit,
//  503 over the budget, 500 no memory), reason on one line: the body the
//  owner's refusal callback fills, else the reason as text. The status,
//  and Retry-After with a 503, stay the server's.
static enum MHD_Result s_queue_refusal(lt_http_request_t *req, unsigned status,
                                       const char *reason)
{
    lt_http_server_t *self = req->server;
    const char *retry_after = status == 503 ? S_RETRY_AFTER : NULL;
    lt_http_response_t resp = {.status = status};
    if (self->refusal)
        self->refusal(req, status, reason, &resp, self->arg);
    if (!resp.body) {
        s_response_clear(&resp);
        char text[256];
        snprintf(text, sizeof(text), "%s\n", reason);
        return s_queue_text(req->connection, status, text, retry_after, req->close);
    }
    resp.status = status;
    if (retry_after)
        lt_http_response_add_header(&resp, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (req->close)
        lt_http_response_add_header(&resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return s_queue_response(req, &resp);
}

//  Queue the answer to a request whose body the budget could not take.
static enum MHD_Result s_queue_busy(lt_http_request_t *req)
{
    return s_queue_refusal(req, 503, "server busy: too many request bodies in memory, retry later");
}

//  Queue the answer to a request whose body is over its limit.
static enum MHD_Result s_queue_too_big(lt_http_request_t *req)
{
    char reason[128];
    snprintf(reason, sizeof(reason), "request body too large (over %zu bytes)", req->max_body);
    return s_queue_refusal(req, 413, reason);
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

//  Free a multipart parser's parts, keeping none.
static void s_form_clear(s_form_t *form)
{
    for (size_t i = 0; i < form->count; i++) {
        free(form->parts[i].name);
        free(form->parts[i].filename);
        free(form->parts[i].data);
    }
    free(form->parts);
    form->parts = NULL;
    form->count = 0;
}

//  Mark a multipart body malformed (or over a bound): no part is kept.
static void s_form_fail(s_form_t *form)
{
    s_form_clear(form);
    form->state = S_FORM_FAILED;
}

//  Read the next "; name=value" parameter of a header value at *p into
//  name (at most name_size - 1 bytes) and value (quoted with backslash
//  escapes, or a token); 1 when one was read, 0 at the end, -1 when
//  malformed or too long.
static int s_param_next(const char **p, char *name, size_t name_size, char *value,
                        size_t value_size)
{
    const char *s = *p + strspn(*p, " \t");
    if (*s == 0)
        return 0;
    if (*s != ';')
        return -1;
    s += 1 + strspn(s + 1, " \t");
    if (*s == 0)
        return 0;   //  a trailing ';' is harmless
    size_t len = strcspn(s, "=; \t");
    if (len == 0 || len >= name_size)
        return -1;
    memcpy(name, s, len);
    name[len] = 0;
    s += len;
    s += strspn(s, " \t");
    if (*s != '=')
        return -1;
    s += 1 + strspn(s + 1, " \t");
    len = 0;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\' && s[1])
                s++;
            if (len + 1 >= value_size)
                return -1;
            value[len++] = *s;
        }
        if (*s != '"')
            return -1;
        s++;
    }
    else {
        len = strcspn(s, "; \t");
        if (len == 0 || len >= value_size)
            return -1;
        memcpy(value, s, len);
        s += len;
    }
    value[len] = 0;
    *p = s;
    return 1;
}

//  Start a multipart parser from a Content-Type value: multipart/form-data
//  with one boundary parameter (token or quoted, 1 to 70 characters, among
//  other parameters in any case); false when the type is another one or
//  the boundary is missing, repeated or unusable.
static bool s_form_start(s_form_t *form, const char *content_type, size_t max_parts)
{
    memset(form, 0, sizeof(*form));
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0)
        return false;
    const char *p = content_type + 19;
    if (*p && !strchr("; \t", *p))
        return false;
    char name[64], value[256];
    char boundary[S_BOUNDARY_MAX + 1] = "";
    int rc;
    while ((rc = s_param_next(&p, name, sizeof(name), value, sizeof(value))) == 1) {
        if (strcasecmp(name, "boundary") != 0)
            continue;
        if (*boundary || !*value || strlen(value) > S_BOUNDARY_MAX)
            return false;
        memcpy(boundary, value, strlen(value) + 1);
    }
    //  A CR in the boundary would break the delimiter match (see
    //  s_form_scan); header values cannot hold one, this says so.
    if (rc < 0 || !*boundary || strpbrk(boundary, "\r\n"))
        return false;
    form->delim_len = (size_t) snprintf(form->delim, sizeof(form->delim), "\r\n--%s", boundary);
    //  The first delimiter may open the body: read it as if a CRLF came before.
    form->match = 2;
    form->state = S_FORM_PREAMBLE;
    form->max_parts = max_parts;
    return true;
}

//  Append body bytes to the current part; false (the body failed) on no memory.
static bool s_form_keep(s_form_t *form, const char *data, size_t size)
{
    s_part_t *part = &form->parts[form->count - 1];
    if (!s_reserve(&part->data, &part->cap, part->size + size)) {
        s_form_fail(form);
        return false;
    }
    memcpy(part->data + part->size, data, size);
    part->size += size;
    part->data[part->size] = 0;
    return true;
}

//  Scan preamble or part bytes for the delimiter, keeping a part's bytes;
//  return how many were consumed (up to and with a whole delimiter, after
//  which the state is S_FORM_TAIL). The delimiter starts with the only CR
//  it holds, so a failed partial match can only restart at the byte that
//  broke it, and the held bytes are the delimiter's own prefix.
static size_t s_form_scan(s_form_t *form, const char *data, size_t size)
{
    bool keep = form->state == S_FORM_BODY;
    size_t i = 0;
    while (i < size) {
        if (form->match == 0) {
            const char *cr = memchr(data + i, '\r', size - i);
            size_t run = cr ? (size_t) (cr - (data + i)) : size - i;
            if (keep && run && !s_form_keep(form, data + i, run))
                return size;
            i += run;
            if (!cr)
                break;
            form->match = 1;
            i++;
        }
        else if (data[i] == form->delim[form->match]) {
            i++;
            if (++form->match == form->delim_len) {
                form->match = 0;
                form->state = S_FORM_TAIL;
                break;
            }
        }
        else {
            //  Not the delimiter: the held bytes were content, and this
            //  byte is looked at again.
            if (keep && !s_form_keep(form, form->delim, form->match))
                return size;
            form->match = 0;
        }
    }
    return i;
}

//  Read a part's header block (CRLF-ended lines, NUL-terminated in head)
//  and start the part: its name and file name come from Content-Disposition
//  (name "" when it has none). A repeated Content-Disposition, or a name or
//  filename given twice, is ambiguous and fails the body, as does a NUL in
//  the headers or a malformed parameter. filename* (RFC 5987) is ignored,
//  as RFC 7578 asks senders not to use it.
static void s_form_part(s_form_t *form)
{
    if (form->count == form->max_parts || memchr(form->head, 0, form->head_len)) {
        s_form_fail(form);
        return;
    }
    char *head = form->head;
    head[form->head_len] = 0;
    //  Obsolete folding: a line that starts with a space or tab continues the last.
    for (char *fold = strstr(head, "\r\n"); fold; fold = strstr(fold + 2, "\r\n"))
        if (fold[2] == ' ' || fold[2] == '\t')
            fold[0] = fold[1] = ' ';
    char param[64];
    char *value = malloc(S_PART_HEAD_MAX + 1);
    char *name = NULL, *filename = NULL;
    bool seen = false, ok = value != NULL;
    for (char *line = head; ok && *line;) {
        char *end = strstr(line, "\r\n");
        assert(end);   //  the block ends with CRLF CRLF
        *end = 0;
        char *colon = strchr(line, ':');
        size_t key_len = colon ? (size_t) (colon - line) : 0;
        while (key_len > 0 && (line[key_len - 1] == ' ' || line[key_len - 1] == '\t'))
            key_len--;
        if (colon && key_len == 19 && strncasecmp(line, "Content-Disposition", 19) == 0) {
            ok = !seen;
            seen = true;
            const char *p = colon + 1;
            p += strspn(p, " \t");
            p += strcspn(p, "; \t");   //  the type: form-data
            int rc = 0;
            while (ok && (rc = s_param_next(&p, param, sizeof(param), value,
                                            S_PART_HEAD_MAX + 1))
                             == 1) {
                char **slot = strcasecmp(param, "name") == 0       ? &name
                              : strcasecmp(param, "filename") == 0 ? &filename
                                                                   : NULL;
                if (slot) {
                    ok = !*slot && (*slot = strdup(value)) != NULL;
                }
            }
            ok = ok && rc == 0;
        }
        line = end + 2;
    }
    free(value);
    if (ok && !name)
        ok = (name = strdup("")) != NULL;
    s_part_t *grown = ok ? realloc(form->parts, (form->count + 1) * sizeof(s_part_t)) : NULL;
    if (!grown) {
        free(name);
        free(filename);
        s_form_fail(form);
        return;
    }
    form->parts = grown;
    s_part_t *part = &form->parts[form->count++];
    memset(part, 0, sizeof(*part));
    part->name = name;
    part->filename = filename;
    if (!s_reserve(&part->data, &part->cap, 0))
        s_form_fail(form);
    else
        part->data[0] = 0;
}

//  Feed the parser the next bytes of the body, split anywhere.
static void s_form_feed(s_form_t *form, const char *data, size_t size)
{
    size_t i = 0;
    while (i < size) {
        char c = data[i];
        switch (form->state) {
        case S_FORM_PREAMBLE:
        case S_FORM_BODY:
            i += s_form_scan(form, data + i, size - i);
            continue;
        case S_FORM_TAIL:
            if (c == '-')
                form->state = S_FORM_DASH;
            else if (c == ' ' || c == '\t')
                form->state = S_FORM_PAD;
            else if (c == '\r')
                form->state = S_FORM_CR;
            else
                s_form_fail(form);
            break;
        case S_FORM_DASH:
            if (c == '-')
                form->state = S_FORM_DONE;
            else
                s_form_fail(form);
            break;
        case S_FORM_PAD:
            if (c == '\r')
                form->state = S_FORM_CR;
            else if (c != ' ' && c != '\t')
                s_form_fail(form);
            break;
        case S_FORM_CR:
            form->head_len = 0;
            form->state = S_FORM_HEAD;
            if (c != '\n')
                s_form_fail(form);
            break;
        case S_FORM_HEAD:
            if (form->head_len == S_PART_HEAD_MAX) {
                s_form_fail(form);
                break;
            }
            form->head[form->head_len++] = c;
            if (c == '\n' && form->head_len >= 2 && form->head[form->head_len - 2] == '\r'
                && (form->head_len == 2
                    || (form->head_len >= 4 && memcmp(form->head + form->head_len - 4,
                                                      "\r\n\r\n", 4)
                                                   == 0))) {
                s_form_part(form);
                if (form->state != S_FORM_FAILED)
                    form->state = S_FORM_BODY;
            }
            break;
        case S_FORM_DONE:
        case S_FORM_FAILED:
            return;   //  the epilogue, or nothing worth reading
        }
        i++;
    }
}

//  Finish a multipart body; false (and no part kept) unless the close
//  delimiter was seen.
static bool s_form_end(s_form_t *form)
{
    if (form->state == S_FORM_DONE)
        return true;
    s_form_fail(form);
    return false;
}

//  Free a multipart parser and its parts; set the pointer to NULL; safe on NULL.
static void s_form_destroy(s_form_t **form_p)
{
    if (*form_p) {
        s_form_clear(*form_p);
        free(*form_p);
        *form_p = NULL;
    }
}

int lt_http_form_parse(const char *content_type, const void *body, size_t size, size_t step,
                       size_t max_parts, lt_http_part_fn *part, void *arg)
{
    assert(body || size == 0);
    s_form_t *form = malloc(sizeof(*form));
    if (!form)
        return -1;
    if (!s_form_start(form, content_type, max_parts)) {
        free(form);
        return -1;
    }
    if (step == 0)
        step = size ? size : 1;
    for (size_t at = 0; at < size; at += step)
        s_form_feed(form, (const char *) body + at, size - at < step ? size - at : step);
    int count = -1;
    if (s_form_end(form)) {
        count = (int) form->count;
        for (size_t i = 0; part && i < form->count; i++)
            part(form->parts[i].name, form->parts[i].filename, form->parts[i].data,
                 form->parts[i].size, arg);
    }
    s_form_destroy(&form);
    return count;
}

//  Start parsing a multipart/form-data body as it arrives, so that its
//  bytes are held once (in the parts), not twice; false when the request
//  is not multipart or its Content-Type has no usable boundary (the body
//  is then kept as it is, with no parts).
static bool s_stream_parts(lt_http_request_t *req)
{
    const char *type
        = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncasecmp(type, "multipart/form-data", 19) != 0)
        return false;
    req->form = malloc(sizeof(*req->form));
    if (req->form && !s_form_start(req->form, type, req->server->limits.max_parts))
        s_form_destroy(&req->form);
    req->streamed = req->form != NULL;
    return req->streamed;
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
        return s_queue_refusal(req, 500, "out of memory");
    req->body[req->size] = 0;
    if (req->conn) {
        pthread_mutex_lock(&self->mutex);
        req->conn->busy = true;
        pthread_mutex_unlock(&self->mutex);
    }

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
    struct MHD_Connection *connection;   //  whose headers are scanned
    const char *prefix;                  //  names of interest start with this (case-insensitive)
    size_t prefix_len;                   //  its length
    const char *twice;                   //  the first name seen again with another value, or NULL
} s_header_scan_t;

//  MHD header iterator: note a name of interest whose value differs from
//  that of its first occurrence (the same line sent twice is harmless).
//  Every header is compared, however many the request carries: MHD's
//  header memory bounds their number, and so the cost.
static enum MHD_Result s_header_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    s_header_scan_t *scan = cls;
    if (!key || key_size < scan->prefix_len
        || strncasecmp(key, scan->prefix, scan->prefix_len) != 0)
        return MHD_YES;
    const char *first = MHD_lookup_connection_value(scan->connection, MHD_HEADER_KIND, key);
    if (strcmp(first ? first : "", value ? value : "") == 0)
        return MHD_YES;
    scan->twice = key;
    return MHD_NO;   //  one is enough
}

//  MHD header iterator for s_framing_error: Content-Length values that
//  differ from the first, and whether Transfer-Encoding is present.
typedef struct {
    struct MHD_Connection *connection;
    bool lengths_differ;
    bool chunked;
} s_framing_t;

static enum MHD_Result s_framing_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void) kind;
    (void) value_size;
    s_framing_t *scan = cls;
    if (!key)
        return MHD_YES;
    if (key_size == 17 && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        scan->chunked = true;
    else if (key_size == 14 && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        const char *first
            = MHD_lookup_connection_value(scan->connection, MHD_HEADER_KIND, key);
        if (strcmp(first ? first : "", value ? value : "") != 0)
            scan->lengths_differ = true;
    }
    return MHD_YES;
}

//  Why the request's body cannot be framed without doubt, or NULL. Two
//  different Content-Length values, or a Content-Length beside
//  Transfer-Encoding, would let a proxy in front of the server and the
//  server itself cut the stream at different places, so that bytes one
//  takes for a body the other reads as the next request (RFC 9112 6.1
//  and 6.3). Such a request is refused and its connection closed.
static const char *s_framing_error(struct MHD_Connection *connection)
{
    s_framing_t scan = {.connection = connection};
    MHD_get_connection_values_n(connection, MHD_HEADER_KIND, s_framing_scan, &scan);
    if (scan.lengths_differ)
        return "bad request: Content-Length given twice with different values";
    if (scan.chunked
        && MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH))
        return "bad request: Content-Length and Transfer-Encoding together";
    return NULL;
}

//  MHD URI notice, before MHD decodes the path: the request's state is
//  made here so that a %00 in the path can be noted, since the decoded
//  path reaches s_access as a C string that the NUL would cut short
//  ("/dead/1%00x" read as "/dead/1").
static void *s_uri_seen(void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void) cls;
    (void) connection;
    lt_http_request_t *req = calloc(1, sizeof(*req));
    if (req && uri) {
        size_t path_len = strcspn(uri, "?");
        for (const char *at = uri; (at = strchr(at, '%')) && (size_t) (at - uri) + 2 < path_len;
             at++)
            if (at[1] == '0' && at[2] == '0')
                req->path_nul = true;
    }
    return req;
}

//  MHD argument iterator for s_nul_error: the first query name or value
//  whose decoded bytes hold a NUL.
static enum MHD_Result s_nul_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    (void) kind;
    const char **found = cls;
    if ((key && strlen(key) != key_size) || (value && strlen(value) != value_size)) {
        *found = key ? key : "";
        return MHD_NO;
    }
    return MHD_YES;
}

//  Why the request's path or query cannot be read as text, or NULL: a
//  decoded NUL would cut a value short, so that "id=1%00x" reads as "1"
//  and "key=a%00b" as "a". No caller takes binary values in a URL (a body
//  carries those), so every one is refused here, whatever the endpoint.
static const char *s_nul_error(lt_http_request_t *req, char *why, size_t size)
{
    if (req->path_nul)
        return "bad request: the path contains a NUL byte (%00)";
    const char *name = NULL;
    MHD_get_connection_values_n(req->connection, MHD_GET_ARGUMENT_KIND, s_nul_scan, &name);
    if (!name)
        return NULL;
    snprintf(why, size, "bad request: query parameter '%.64s' contains a NUL byte (%%00)", name);
    return why;
}

//  MHD access handler: gather the body, then dispatch once.
static enum MHD_Result s_access(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    lt_http_server_t *self = cls;
    lt_http_request_t *req = *con_cls;
    if (!req || !req->connection) {
        //  First call: headers only (the state made by s_uri_seen, or now).
        req = req ? req : calloc(1, sizeof(*req));
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
            char host[INET6_ADDRSTRLEN];
            unsigned port;
            s_host_of(info->client_addr, host, sizeof(host), &port);
            snprintf(req->peer, sizeof(req->peer), "%s:%u", host, port);
        }
        req->started = lt_clock_ms();
        info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        req->conn = info ? info->socket_context : NULL;
        req->max_body = self->limits.max_body;
        const char *framing = s_framing_error(connection);
        if (framing) {
            req->refused = true;
            req->close = true;
            return s_queue_refusal(req, 400, framing);
        }
        char nul_why[160];
        const char *nul = s_nul_error(req, nul_why, sizeof(nul_why));
        if (nul) {
            req->refused = true;
            return s_queue_refusal(req, 400, nul);
        }
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
                return s_queue_too_big(req);
            req->drain_limit = (size_t) declared;
            return MHD_YES;
        }
        //  The whole declared body is counted before a byte of it is
        //  kept; over the budget it is dropped as it comes (MHD never
        //  passes more than the declared length) and answered 503.
        if (length && declared > 0) {
            if (!s_budget_take(req, (size_t) declared)) {
                req->over_budget = true;
                if (waits)
                    return s_queue_busy(req);
                req->drain_limit = (size_t) declared;
                return MHD_YES;
            }
            req->declared = (size_t) declared;
        }
        s_stream_parts(req);
        return MHD_YES;
    }
    if (req->refused && !req->answer)
        return MHD_NO;   //  answered by the gate: never read the body
    int64_t since = req->conn ? req->conn->started : req->started;   //  its thread's to write
    if (self->limits.max_request_s
        && lt_clock_ms() - since > (int64_t) self->limits.max_request_s * 1000)
        return MHD_NO;   //  too slow a client: close the connection (s_sweep also would)
    if (*upload_data_size > 0) {
        size_t chunk = *upload_data_size;
        *upload_data_size = 0;
        size_t held = req->streamed ? req->received : req->size;
        bool dropping = req->too_big || req->over_budget || req->answer;
        if (!dropping && chunk > req->max_body - held)
            req->too_big = true;
        else if (!dropping && !s_budget_take(req, held + chunk))
            req->over_budget = true;   //  a chunked body that grew past the budget
        if (!dropping && (req->too_big || req->over_budget)) {
            req->drain_limit = req->max_body;
            free(req->body);
            req->body = NULL;
            req->size = req->cap = 0;
            s_form_destroy(&req->form);
            s_budget_release(req);
        }
        if (req->too_big || req->over_budget || req->answer) {
            //  Drop the rest of an oversized, refused or over-budget body,
            //  within reason.
            req->discarded += chunk;
            return req->discarded > req->drain_limit ? MHD_NO : MHD_YES;
        }
        if (req->streamed) {
            req->received += chunk;
            if (req->form)
                s_form_feed(req->form, upload_data, chunk);   //  malformed: read on, no parts
            return MHD_YES;
        }
        if (!req->body && req->declared) {
            //  At its size at once: doubling up to it could take twice.
            req->body = malloc(req->declared + 1);
            if (!req->body)
                return MHD_NO;
            req->cap = req->declared + 1;
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
        return s_queue_too_big(req);
    if (req->over_budget)
        return s_queue_busy(req);
    if (req->form)
        s_form_end(req->form);
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
    self->refusal = options->refusal;
    self->limits = *limits;
    if (!self->limits.max_body)
        self->limits.max_body = LT_HTTP_MAX_BODY;
    if (!self->limits.max_inflight_body) {
        size_t body = self->limits.max_body;
        self->limits.max_inflight_body
            = body > SIZE_MAX / S_BUDGET_FACTOR ? SIZE_MAX : body * S_BUDGET_FACTOR;
        if (self->limits.max_inflight_body < S_BUDGET_MIN)
            self->limits.max_inflight_body = S_BUDGET_MIN;
    }
    //  A body the limit allows must fit alone, or it could never be served.
    if (self->limits.max_inflight_body < self->limits.max_body)
        self->limits.max_inflight_body = self->limits.max_body;
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
        items[n++] = (struct MHD_OptionItem){
            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            (intptr_t) (self->limits.max_per_ip + S_EVICT_SPARE), NULL};
    if (self->tls_cert) {
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, self->tls_cert};
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, self->tls_key};
    }
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    self->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, s_access, self, MHD_OPTION_SOCK_ADDR, &storage,
        MHD_OPTION_CONNECTION_LIMIT,
        self->limits.max_connections + S_EVICT_SPARE, MHD_OPTION_CONNECTION_TIMEOUT,
        self->limits.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_NOTIFY_CONNECTION, s_connection, self, MHD_OPTION_URI_LOG_CALLBACK,
        s_uri_seen, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self, MHD_OPTION_ARRAY, items, MHD_OPTION_END);
    if (!self->daemon) {
        lt_err_set(err, LT_EIO, "HTTP server: cannot listen on %s port %u: %s", address,
                   (unsigned) port, self->mhd_error[0] ? self->mhd_error : "MHD refused");
        lt_http_server_destroy(&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    if (self->limits.max_request_s) {
        if (pthread_create(&self->sweeper, NULL, s_sweep, self) != 0) {
            lt_err_set(err, LT_ENOMEM, "HTTP server: cannot start the request deadline thread");
            lt_http_server_destroy(&self);
            return NULL;
        }
        self->sweeping = true;
    }
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
    if (self->sweeping)
        pthread_join(self->sweeper, NULL);
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

uint64_t lt_http_server_evicted(lt_http_server_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->mutex);
    uint64_t evicted = self->evicted;
    pthread_mutex_unlock(&self->mutex);
    return evicted;
}

size_t lt_http_server_body_held(lt_http_server_t *self, uint64_t *refused)
{
    assert(self);
    pthread_mutex_lock(&self->mutex);
    size_t held = self->held;
    if (refused)
        *refused = self->busy_refused;
    pthread_mutex_unlock(&self->mutex);
    return held;
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
    for (size_t i = 0; req->form && i < req->form->count; i++)
        if (strcmp(req->form->parts[i].name, name) == 0) {
            *size = req->form->parts[i].size;
            if (filename)
                *filename = req->form->parts[i].filename;
            return req->form->parts[i].data;
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
    for (size_t i = 0; req->form && i < req->form->count; i++)
        count += strcmp(req->form->parts[i].name, name) == 0;
    return count;
}

const char *lt_http_request_repeated_header(const lt_http_request_t *req, const char *prefix)
{
    assert(req && prefix);
    s_header_scan_t scan
        = {.connection = req->connection, .prefix = prefix, .prefix_len = strlen(prefix)};
    MHD_get_connection_values_n(req->connection, MHD_HEADER_KIND, s_header_scan, &scan);
    return scan.twice;
}

//  MHD argument iterator for lt_http_request_repeated_query: the first name
//  given again with a value that differs from its first.
static enum MHD_Result s_query_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size)
{
    (void) kind;
    (void) key_size;
    (void) value_size;
    s_header_scan_t *scan = cls;
    if (!key)
        return MHD_YES;
    const char *first = MHD_lookup_connection_value(scan->connection, MHD_GET_ARGUMENT_KIND, key);
    if (strcmp(first ? first : "", value ? value : "") == 0)
        return MHD_YES;
    scan->twice = key;
    return MHD_NO;
}

const char *lt_http_request_repeated_query(const lt_http_request_t *req)
{
    assert(req);
    s_header_scan_t scan = {.connection = req->connection};
    MHD_get_connection_values_n(req->connection, MHD_GET_ARGUMENT_KIND, s_query_scan, &scan);
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
    while (!self->stopping && !(req->conn && req->conn->cut))
        if (pthread_cond_timedwait(&self->cond, &self->mutex, &deadline) == ETIMEDOUT)
            break;
    full = !self->stopping && !(req->conn && req->conn->cut);
    pthread_mutex_unlock(&self->mutex);
    return full;
}

void lt_http_request_evictable(const lt_http_request_t *req)
{
    assert(req);
    if (!req->conn)
        return;
    lt_http_server_t *self = req->server;
    pthread_mutex_lock(&self->mutex);
    req->conn->busy = false;
    req->conn->started = lt_clock_ms();   //  the deadline runs again from now
    pthread_mutex_unlock(&self->mutex);
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

#include <netinet/tcp.h>
#include <poll.h>

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
    if (strcmp(path, "/form") == 0) {
        size_t unnamed = 0, file_size = 0;
        const char *filename = NULL;
        lt_http_request_part(req, "", &unnamed, NULL);
        const void *file = lt_http_request_part(req, "file_doc", &file_size, &filename);
        char hex[LT_SHA256_HEX] = "-";
        if (file)
            lt_digest_sha256_hex(file, file_size, hex);
        snprintf(text, sizeof(text), "unnamed=%zu size=%zu file_doc=%zu %s%s%zu %s",
                 lt_http_request_part_count(req, ""), unnamed,
                 lt_http_request_part_count(req, "file_doc"), filename ? filename : "",
                 filename ? " " : "", file_size, hex);
        if (!file)
            snprintf(text, sizeof(text), "unnamed=%zu size=%zu file_doc=0 -",
                     lt_http_request_part_count(req, ""), unnamed);
        lt_http_response_set(resp, 200, "text/plain", text);
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/slow") == 0) {
        const char *ms = lt_http_request_query(req, "ms");
        bool full = lt_http_request_wait(req, ms ? strtol(ms, NULL, 10) : 100);
        lt_http_response_set(resp, 200, "text/plain", full ? "slept" : "woken");
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/query") == 0) {
        const char *twice = lt_http_request_repeated_query(req);
        snprintf(text, sizeof(text), "twice=%s", twice ? twice : "-");
        lt_http_response_set(resp, 200, "text/plain", text);
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

//  Test helper: connect to port, send head and then sent zero bytes of a
//  body; return the socket (answers wait up to 5 s).
static int s_test_raw_open(uint16_t port, const char *head, size_t sent)
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
    char *zeros = calloc(1, sent + 1);
    assert(zeros);
    assert(send(fd, zeros, sent, MSG_NOSIGNAL) == (ssize_t) sent);
    free(zeros);
    return fd;
}

//  Test helper: a client of the server on port (loopback), its calls bounded
//  by timeout_ms.
static lt_http_client_t *s_test_client(uint16_t port, int timeout_ms)
{
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u/", (unsigned) port);
    lt_http_client_t *client = lt_http_client_new(base);
    assert(client);
    lt_http_client_set_timeout(client, timeout_ms);
    return client;
}

//  Test helper: send a request's head over a plain socket, without a body,
//  and return the status of the answer (0 when none came in 5 s).
static unsigned s_test_raw_status(uint16_t port, const char *head)
{
    int fd = s_test_raw_open(port, head, 0);
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

//  Test helper: parse body with the multipart parser of a Content-Type,
//  fed in chunks of step bytes; return the parser (to destroy), NULL when
//  the type was refused. The body is complete when s_form_end says so.
static s_form_t *s_test_form(const char *type, const char *body, size_t size, size_t step,
                             size_t max_parts)
{
    s_form_t *form = malloc(sizeof(*form));
    assert(form);
    if (!s_form_start(form, type, max_parts)) {
        free(form);
        return NULL;
    }
    for (size_t at = 0; at < size; at += step)
        s_form_feed(form, body + at, size - at < step ? size - at : step);
    s_form_end(form);
    return form;
}

//  Test helper: true when a parse of body, in chunks of every size from 1
//  byte to the whole, keeps the same parts: count, then for each a name,
//  file name ("-" for none) and content (NUL-terminated in expect).
static bool s_test_form_is(const char *type, const char *body, size_t size, size_t count,
                           const char *const *expect)
{
    for (size_t step = 1; step <= size; step += step < 16 ? 1 : step / 2 + 1) {
        s_form_t *form = s_test_form(type, body, size, step, 8);
        bool same = form && form->count == count;
        for (size_t i = 0; same && i < count; i++) {
            const s_part_t *part = &form->parts[i];
            same = strcmp(part->name, expect[3 * i]) == 0
                   && strcmp(part->filename ? part->filename : "-", expect[3 * i + 1]) == 0
                   && part->size == strlen(expect[3 * i + 2])
                   && memcmp(part->data, expect[3 * i + 2], part->size) == 0;
        }
        s_form_destroy(&form);
        if (!same) {
            fprintf(stderr, "lt_http_server: form differs in chunks of %zu: %.60s\n", step,
                    body);
            return false;
        }
    }
    return true;
}

//  Self-test of the multipart parser alone, on bodies split at every byte.
static void s_test_form_parser(void)
{
    const char *type = "multipart/form-data; boundary=XyZ123";
    //  The common form, with a preamble and an epilogue.
    const char *plain = "preamble\r\n--XyZ123\r\nContent-Disposition: form-data; "
                        "name=\"file_doc\"; filename=\"a.edxml\"\r\nContent-Type: text/xml\r\n"
                        "\r\n<a/>\r\n--XyZ123\r\nContent-Disposition: form-data; name=\"n\"\r\n"
                        "\r\n\r\n--XyZ123--\r\nepilogue";
    const char *plain_parts[] = {"file_doc", "a.edxml", "<a/>", "n", "-", ""};
    assert(s_test_form_is(type, plain, strlen(plain), 2, plain_parts));
    //  Unquoted name (.NET), no space after ';', parameter names in any
    //  case, a CRLF after the close delimiter (Apache HttpClient).
    const char *tolerant = "--XyZ123\r\ncontent-disposition: form-data;NAME=file_doc;"
                           "FileName=pkg.edxml; filename*=utf-8''pkg.edxml\r\n\r\nbytes\r\n"
                           "--XyZ123--\r\n";
    const char *tolerant_parts[] = {"file_doc", "pkg.edxml", "bytes"};
    assert(s_test_form_is(type, tolerant, strlen(tolerant), 1, tolerant_parts));
    //  A one-character boundary, quoted among other parameters; transport
    //  padding after the delimiters; escapes in a quoted file name; the
    //  close delimiter without a CRLF.
    const char *one = "--a \t\r\nContent-Disposition: form-data; name=\"x\"; "
                      "filename=\"q\\\"uote\\\\d\"\r\n\r\n-a-\r\n-\r\n--a  \r\n"
                      "Content-Disposition: form-data; name=y\r\n\r\nz\r\n--a--";
    const char *one_parts[] = {"x", "q\"uote\\d", "-a-\r\n-", "y", "-", "z"};
    assert(s_test_form_is("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a\"; x=y", one,
                          strlen(one), 2, one_parts));
    //  A part without a name, or without any header, is named "".
    const char *noname = "--XyZ123\r\nContent-Disposition: form-data\r\n\r\nAAAA\r\n"
                         "--XyZ123\r\n\r\nBB\r\n--XyZ123--";
    const char *noname_parts[] = {"", "-", "AAAA", "", "-", "BB"};
    assert(s_test_form_is(type, noname, strlen(noname), 2, noname_parts));
    //  Binary content, with what looks like the start of a delimiter, kept
    //  byte for byte.
    char binary[2048];
    size_t len = (size_t)snprintf(binary, sizeof(binary),
                                  "--XyZ123\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n");
    const char content[] = "\r\n--XyZ12\r\r\n-\r\n--\r\n--XyZ\0\r\n--XyZ12"
                           "\xff\x00\r";
    memcpy(binary + len, content, sizeof(content) - 1);
    len += sizeof(content) - 1;
    memcpy(binary + len, "\r\n--XyZ123--", 12);
    len += 12;
    for (size_t step = 1; step < len; step++) {
        s_form_t *form = s_test_form(type, binary, len, step, 8);
        assert(form && form->count == 1 && form->parts[0].size == sizeof(content) - 1);
        assert(memcmp(form->parts[0].data, content, sizeof(content) - 1) == 0);
        s_form_destroy(&form);
    }
    //  Malformed: truncated anywhere before the close delimiter, junk after
    //  a delimiter, a name given twice, headers over the bound: no parts.
    for (size_t cut = 0; cut < strlen(plain) - strlen("--\r\nepilogue"); cut++) {
        s_form_t *form = s_test_form(type, plain, cut, 3, 8);
        assert(form && form->count == 0);
        s_form_destroy(&form);
    }
    const char *bad[] = {"--XyZ123X\r\n\r\nx\r\n--XyZ123--",
                         "--XyZ123\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx"
                         "\r\n--XyZ123--",
                         "--XyZ123\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n"
                         "--XyZ123--",
                         "--XyZ123\r\nContent-Disposition: form-data; name=a\r\n"
                         "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--XyZ123--"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s_form_t *form = s_test_form(type, bad[i], strlen(bad[i]), 1, 8);
        assert(form && form->count == 0);
        s_form_destroy(&form);
    }
    size_t huge = S_PART_HEAD_MAX + 200;
    char *long_head = malloc(huge);
    assert(long_head);
    len = (size_t) snprintf(long_head, huge, "--XyZ123\r\nX-Pad: ");
    memset(long_head + len, 'p', S_PART_HEAD_MAX);
    len += S_PART_HEAD_MAX;
    len += (size_t) snprintf(long_head + len, huge - len, "\r\n\r\nx\r\n--XyZ123--");
    s_form_t *form = s_test_form(type, long_head, len, 4096, 8);
    assert(form && form->count == 0);
    s_form_destroy(&form);
    free(long_head);
    //  More parts than the bound: none kept; exactly the bound: all kept.
    char many[1024];
    len = 0;
    for (int i = 0; i < 5; i++)
        len += (size_t) snprintf(many + len, sizeof(many) - len, "--XyZ123\r\n\r\n%d\r\n", i);
    len += (size_t) snprintf(many + len, sizeof(many) - len, "--XyZ123--");
    form = s_test_form(type, many, len, 7, 4);
    assert(form && form->count == 0);
    s_form_destroy(&form);
    form = s_test_form(type, many, len, 7, 5);
    assert(form && form->count == 5 && strcmp(form->parts[4].data, "4") == 0);
    s_form_destroy(&form);
    //  Content-Types without a usable boundary are not parsed.
    char long_boundary[128];
    snprintf(long_boundary, sizeof(long_boundary), "multipart/form-data; boundary=%071d", 7);
    const char *refused[] = {"multipart/form-data",
                             "multipart/form-data; boundary=",
                             "multipart/form-data; boundary=\"\"",
                             "multipart/form-data; boundary=a; boundary=b",
                             "multipart/form-dataX; boundary=a",
                             "multipart/form-data; boundary=\"a",
                             "text/plain; boundary=a",
                             long_boundary};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert(!s_test_form(refused[i], "", 0, 1, 8));
    long_boundary[strlen(long_boundary) - 1] = 0;   //  70 characters: fine
    form = s_test_form(long_boundary, "", 0, 1, 8);
    assert(form && form->count == 0 && form->state == S_FORM_FAILED);
    s_form_destroy(&form);
}

//  Test helper: send data over a plain socket in writes of step bytes,
//  pause_ms apart, then read the answer (the request asks to close) into
//  answer; return its status (0 when none came in 5 s).
static unsigned s_test_raw_request(uint16_t port, const char *data, size_t size, size_t step,
                                   int pause_ms, char *answer, size_t answer_size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval wait = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    assert(connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
    for (size_t at = 0; at < size; at += step) {
        size_t n = size - at < step ? size - at : step;
        if (send(fd, data + at, n, MSG_NOSIGNAL) != (ssize_t) n)
            break;
        if (pause_ms)
            usleep((useconds_t) pause_ms * 1000);
    }
    size_t got = 0;
    while (got + 1 < answer_size) {
        ssize_t n = recv(fd, answer + got, answer_size - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    answer[got] = 0;
    close(fd);
    unsigned status = 0;
    if (got >= 12 && strncmp(answer, "HTTP/1.1 ", 9) == 0)
        status = (unsigned) strtoul(answer + 9, NULL, 10);
    return status;
}

//  Test helper: POST a multipart body to /form over a plain socket (see
//  s_test_raw_request); return the answer's body, or "" when none came.
static const char *s_test_form_post(uint16_t port, const char *boundary, const char *body,
                                    size_t size, size_t step, int pause_ms, char *answer,
                                    size_t answer_size)
{
    char *request = malloc(size + 256);
    assert(request);
    size_t len = (size_t) snprintf(request, 256,
                                   "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                   "Content-Type: multipart/form-data; boundary=%s\r\n"
                                   "Content-Length: %zu\r\n\r\n",
                                   boundary, size);
    memcpy(request + len, body, size);
    unsigned status
        = s_test_raw_request(port, request, len + size, step, pause_ms, answer, answer_size);
    free(request);
    const char *text = strstr(answer, "\r\n\r\n");
    return status == 200 && text ? text + 4 : "";
}

//  Self-test of bodies whose length is in doubt: two Content-Length values,
//  or one beside Transfer-Encoding, are answered 400 and the connection is
//  closed, so what follows is never read as another request; the same
//  value twice is harmless.
static void s_test_framing(uint16_t port)
{
    char answer[1024];
    //  No "Connection: close": the server closes, or the read waits 5 s.
    const char *smuggled = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                           "Content-Length: 40\r\n\r\n"
                           "GET /echo?q=smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    int64_t start = lt_clock_ms();
    assert(s_test_raw_request(port, smuggled, strlen(smuggled), strlen(smuggled), 0, answer,
                              sizeof(answer))
           == 400);
    assert(lt_clock_ms() - start < 4000);
    assert(strstr(answer, "Content-Length given twice with different values"));
    assert(!strstr(answer, "smuggled") && !strstr(answer, "200 OK"));
    const char *both = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    start = lt_clock_ms();
    assert(s_test_raw_request(port, both, strlen(both), strlen(both), 0, answer, sizeof(answer))
           == 400);
    assert(lt_clock_ms() - start < 4000);
    assert(strstr(answer, "Content-Length and Transfer-Encoding together"));
    const char *same = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello";
    assert(s_test_raw_request(port, same, strlen(same), strlen(same), 0, answer, sizeof(answer))
           == 200);
    assert(strstr(answer, "POST /echo q=- x=- size=5"));
}

//  Self-test of multipart bodies as clients send them, through the server
//  (whose parts bound is the default, 16).
static void s_test_form_server(uint16_t port)
{
    char answer[1024];
    //  A part without a name, its body in many chunks: answered, the part
    //  named "" (libmicrohttpd's parser passed no name, then crashed on
    //  the part's next chunk).
    size_t size = 60000;
    char *noname = malloc(size + 128);
    assert(noname);
    size_t len =
        (size_t)snprintf(noname, 128, "--XyZ123\r\nContent-Disposition: form-data\r\n\r\n");
    memset(noname + len, 'A', size);
    len += size;
    len += (size_t)snprintf(noname + len, 128, "\r\n--XyZ123--\r\n");
    const char *text =
        s_test_form_post(port, "XyZ123", noname, len, len, 0, answer, sizeof(answer));
    assert(strncmp(text, "unnamed=1 size=60000 ", 21) == 0);
    text = s_test_form_post(port, "XyZ123", noname, len, 1000, 1, answer, sizeof(answer));
    assert(strncmp(text, "unnamed=1 size=60000 ", 21) == 0);
    free(noname);
    //  What real clients write: an unquoted name, no space after ';', LWSP
    //  after a delimiter, a one-character boundary, an epilogue; sent one
    //  byte per write.
    const char *tolerant = "preamble\r\n--b \t\r\nContent-Disposition: form-data;name=file_doc;"
                           "filename=x.edxml\r\n\r\nhello\r\n--b--\r\nepilogue\r\n";
    char expect[256];
    char hex[LT_SHA256_HEX];
    lt_digest_sha256_hex("hello", 5, hex);
    snprintf(expect, sizeof(expect), "unnamed=0 size=0 file_doc=1 x.edxml 5 %s", hex);
    text = s_test_form_post(port, "b", tolerant, strlen(tolerant), 1, 0, answer, sizeof(answer));
    if (strcmp(text, expect) != 0)
        fprintf(stderr, "lt_http_server: got '%s'\n", answer);
    assert(strcmp(text, expect) == 0);
    //  Binary content, all byte values and pieces of the delimiter, kept
    //  byte for byte.
    size = 3 * 256 + 64;
    char *binary = malloc(size + 256);
    char *content = malloc(size);
    assert(binary && content);
    for (size_t i = 0; i < size; i++)
        content[i] = (char)(i % 256);
    memcpy(content + 100, "\r\n-+b\r\r\n-", 9);
    memcpy(content + size - 5, "\r\n--", 4);
    len = (size_t)snprintf(binary, 256,
                           "--b\r\nContent-Disposition: form-data; name=\"file_doc\"; "
                           "filename=\"bin\"\r\n\r\n");
    memcpy(binary + len, content, size);
    len += size;
    len += (size_t)snprintf(binary + len, 256, "\r\n--b--");
    lt_digest_sha256_hex(content, size, hex);
    snprintf(expect, sizeof(expect), "unnamed=0 size=0 file_doc=1 bin %zu %s", size, hex);
    text = s_test_form_post(port, "b", binary, len, 97, 0, answer, sizeof(answer));
    assert(strcmp(text, expect) == 0);
    //  Truncated before the close delimiter: no parts.
    text = s_test_form_post(port, "b", binary, len - 2, 97, 0, answer, sizeof(answer));
    assert(strcmp(text, "unnamed=0 size=0 file_doc=0 -") == 0);
    free(binary);
    free(content);
    //  More parts than the bound (16): none kept; 16 are.
    char many[2048];
    for (size_t parts = 16; parts <= 17; parts++) {
        len = 0;
        for (size_t i = 0; i < parts; i++)
            len += (size_t)snprintf(many + len, sizeof(many) - len,
                                    "--b\r\nContent-Disposition: form-data; name=file_doc\r\n"
                                    "\r\n%zu\r\n",
                                    i);
        len += (size_t)snprintf(many + len, sizeof(many) - len, "--b--\r\n");
        text = s_test_form_post(port, "b", many, len, len, 0, answer, sizeof(answer));
        assert(
            strncmp(text,
                    parts == 16 ? "unnamed=0 size=0 file_doc=16 " : "unnamed=0 size=0 file_doc=0 -",
                    29) == 0);
    }
}

//  Test helper: true once the server counts want body bytes against its
//  budget (within 3 s).
static bool s_test_held(lt_http_server_t *server, size_t want)
{
    for (int i = 0; i < 600; i++) {
        if (lt_http_server_body_held(server, NULL) == want)
            return true;
        usleep(5000);
    }
    fprintf(stderr, "lt_http_server: %zu body bytes held, want %zu\n",
            lt_http_server_body_held(server, NULL), want);
    return false;
}

//  Test helper: a connection from source (a loopback address) to port that
//  sent a keep-alive GET and read its answer, so that it now waits idle
//  for its next request; the descriptor.
static int s_test_idle_conn(const char *source, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert(fd >= 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    assert(inet_pton(AF_INET, source, &from.sin_addr) == 1);
    assert(bind(fd, (struct sockaddr *) &from, sizeof(from)) == 0);
    struct timeval wait = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert(connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
    const char *get = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    assert(send(fd, get, strlen(get), MSG_NOSIGNAL) == (ssize_t) strlen(get));
    char answer[512];
    ssize_t got = recv(fd, answer, sizeof(answer), 0);
    assert(got > 12 && strncmp(answer, "HTTP/1.1 200", 12) == 0);
    return fd;
}

//  True when the peer closed fd within 2 s.
static bool s_test_closed(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char byte;
    return poll(&pfd, 1, 2000) == 1 && recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

//  Self-test of the connection limits kept by eviction (4 in all, 3 per
//  address here): clients that hold their connections open, idle between
//  requests, never lock another client out, from their own address or
//  another; the connection that waited longest is the one closed; a
//  request with the handler is never cut for a newcomer.
static void s_test_evict(void)
{
    int calls = 0;
    lt_err_t err;
    lt_http_limits_t limits = {.max_connections = 4, .max_per_ip = 3, .idle_timeout_s = 30};
    lt_http_server_t *server
        = lt_http_server_new("127.0.0.1", 0, s_test_handler, &calls, &limits, &err);
    assert(server);
    uint16_t port = lt_http_server_port(server);
    lt_http_client_t *client = s_test_client(port, 3000);
    lt_http_reply_t reply = {0};
    //  Three idle connections from 127.0.0.1 fill its share; a fourth
    //  client from there is served, and the oldest of the three is closed.
    int held[3];
    for (int i = 0; i < 3; i++) {
        held[i] = s_test_idle_conn("127.0.0.1", port);
        usleep(20000);   //  distinct ages
    }
    assert(lt_http_client_get(client, "/echo", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 200);
    assert(s_test_closed(held[0]));
    assert(lt_http_server_evicted(server) == 1);
    lt_http_client_destroy(&client);   //  its connection goes too
    for (int i = 0; i < 3; i++)
        close(held[i]);
    usleep(100000);
    //  Four idle connections from two other addresses fill the server; a
    //  client from a third is served, the oldest of the four closed.
    int others[4];
    for (int i = 0; i < 4; i++) {
        others[i] = s_test_idle_conn(i % 2 ? "127.0.0.2" : "127.0.0.3", port);
        usleep(20000);
    }
    client = s_test_client(port, 3000);
    assert(lt_http_client_get(client, "/echo", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 200);
    assert(s_test_closed(others[0]));
    for (int i = 1; i < 4; i++) {
        struct pollfd pfd = {.fd = others[i], .events = POLLIN};
        assert(poll(&pfd, 1, 0) == 0);   //  still open
    }
    assert(lt_http_server_evicted(server) == 2);
    //  A request with the handler is not cut: the slow one ends with its
    //  answer although the newcomers are many.
    lt_http_reply_free(&reply);
    lt_http_client_destroy(&client);
    for (int i = 0; i < 4; i++)
        close(others[i]);
    usleep(100000);
    int fd = s_test_raw_open(
        port, "GET /slow?ms=800 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0);
    usleep(200000);   //  with the handler now
    for (int i = 0; i < 4; i++)
        others[i] = s_test_idle_conn("127.0.0.2", port);
    char answer[512];
    size_t got = 0;
    ssize_t n;
    while (got + 1 < sizeof(answer)
           && (n = recv(fd, answer + got, sizeof(answer) - 1 - got, 0)) > 0)
        got += (size_t) n;
    answer[got] = 0;
    assert(strncmp(answer, "HTTP/1.1 200", 12) == 0 && strstr(answer, "slept"));
    close(fd);
    for (int i = 0; i < 4; i++)
        close(others[i]);
    lt_http_server_destroy(&server);
}

//  Self-test of the whole-request deadline (max_request_s, 1 s here): a
//  client sending its headers a byte at a time is cut off at the deadline
//  although it is never idle, others are served meanwhile, a slow upload
//  within the deadline and a handler that takes longer are answered. A
//  body stalled mid-way is cut too, and what it held from the budget goes
//  back.
static void s_test_deadline(void)
{
    int calls = 0;
    lt_err_t err;
    lt_http_limits_t limits = {.max_request_s = 1, .idle_timeout_s = 30};
    lt_http_server_t *server
        = lt_http_server_new("127.0.0.1", 0, s_test_handler, &calls, &limits, &err);
    assert(server);
    uint16_t port = lt_http_server_port(server);
    lt_http_client_t *client = s_test_client(port, 5000);
    lt_http_reply_t reply = {0};

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert(connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
    int stalled = s_test_raw_open(
        port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 10);
    assert(s_test_held(server, 100));
    int64_t start = lt_clock_ms();
    const char *head = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    bool closed = false;
    for (int i = 0; i < 50 && !closed; i++) {   //  5 s at most
        char byte = i < (int) strlen(head) ? head[i] : 'a';
        if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1)
            closed = true;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (!closed && poll(&pfd, 1, 100) == 1) {
            char answer[256];
            closed = recv(fd, answer, sizeof(answer), MSG_DONTWAIT) <= 0;
            assert(closed);   //  never an answer
        }
        if (i == 3) {
            //  Served meanwhile.
            assert(lt_http_client_get(client, "/echo", NULL, 0, &reply, &err) == LT_OK);
            assert(reply.status == 200);
        }
    }
    int64_t took = lt_clock_ms() - start;
    close(fd);
    assert(closed && took >= 900 && took < 2500);
    assert(s_test_held(server, 0));
    close(stalled);
    //  A body that takes 0.6 s, within the deadline.
    char answer[512];
    const char *request = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          "Content-Length: 40\r\n\r\n0123456789012345678901234567890123456789";
    assert(s_test_raw_request(port, request, strlen(request), strlen(request) / 4 + 1, 150,
                              answer, sizeof(answer))
           == 200);
    assert(strstr(answer, "POST /echo q=- x=- size=40"));
    //  The handler's own time does not count.
    assert(lt_http_client_get(client, "/slow?ms=1500", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 200 && strcmp(reply.body, "slept") == 0);
    lt_http_reply_free(&reply);
    lt_http_client_destroy(&client);
    lt_http_server_destroy(&server);
}

//  Self-test of the budget of body bytes held at once (2.5 bodies of the
//  1 MiB limit here): two bodies under way hold 2 MiB; a third, declared
//  or chunked, gets 503 with Retry-After and the handler never sees it; a
//  small request is served meanwhile; a client gone mid-body and an
//  answered one give their share back, to zero.
static void s_test_budget(void)
{
    const size_t mib = 1024 * 1024;
    int calls = 0;
    lt_err_t err;
    lt_http_limits_t limits
        = {.max_body = mib, .max_inflight_body = 2 * mib + mib / 2, .idle_timeout_s = 30};
    lt_http_server_t *server
        = lt_http_server_new("127.0.0.1", 0, s_test_handler, &calls, &limits, &err);
    assert(server);
    uint16_t port = lt_http_server_port(server);
    char head[512];
    snprintf(head, sizeof(head),
             "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n",
             mib);
    //  Two bodies under way count their whole declared length.
    int gone = s_test_raw_open(port, head, 64 * 1024);
    assert(s_test_held(server, mib));
    int slow = s_test_raw_open(port, head, 64 * 1024);
    assert(s_test_held(server, 2 * mib));
    //  A third one is over the budget: read, dropped, answered 503.
    size_t size = strlen(head) + mib;
    char *request = calloc(1, size + 64 * 1024);
    assert(request);
    memcpy(request, head, strlen(head));
    char answer[1024];
    assert(s_test_raw_request(port, request, size, size, 0, answer, sizeof(answer)) == 503);
    assert(strstr(answer, "\r\nRetry-After: 5\r\n"));
    assert(strstr(answer, "\r\n\r\nserver busy: too many request bodies in memory"));
    //  Waiting for "100 Continue": 503 from the headers alone.
    snprintf(head, sizeof(head),
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
             "Expect: 100-continue\r\n\r\n",
             mib);
    assert(s_test_raw_status(port, head) == 503);
    //  Chunked, 768 KiB: counted as it comes, refused past 512 KiB.
    size_t len = (size_t) snprintf(request, 256,
                                   "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 12; i++) {
        len += (size_t) snprintf(request + len, 16, "10000\r\n");
        memset(request + len, 'c', 0x10000);
        len += 0x10000;
        memcpy(request + len, "\r\n", 2);
        len += 2;
    }
    memcpy(request + len, "0\r\n\r\n", 5);
    len += 5;
    assert(s_test_raw_request(port, request, len, 4096, 0, answer, sizeof(answer)) == 503);
    assert(strstr(answer, "\r\nRetry-After: 5\r\n"));
    assert(s_test_held(server, 2 * mib));
    uint64_t refused = 0;
    lt_http_server_body_held(server, &refused);
    assert(refused == 3);
    assert(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 0);
    //  With the budget full (a slow 512 KiB body), a small request is
    //  still served: small bodies are never refused for the budget.
    snprintf(head, sizeof(head),
             "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n",
             mib / 2);
    int half = s_test_raw_open(port, head, 1024);
    assert(s_test_held(server, 2 * mib + mib / 2));
    const char *small = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Content-Length: 100\r\n\r\n";
    memset(request, 's', 100);
    len = strlen(small);
    memmove(request + len, request, 100);
    memcpy(request, small, len);
    assert(s_test_raw_request(port, request, len + 100, len + 100, 0, answer, sizeof(answer))
           == 200);
    assert(strstr(answer, "POST /echo q=- x=- size=100 "));
    close(half);
    assert(s_test_held(server, 2 * mib));
    //  A client gone mid-body gives its share back; an answered one too.
    close(gone);
    assert(s_test_held(server, mib));
    char *rest = calloc(1, mib);
    assert(rest);
    assert(send(slow, rest, mib - 64 * 1024, MSG_NOSIGNAL) == (ssize_t) (mib - 64 * 1024));
    free(rest);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < sizeof(answer)
           && (n = recv(slow, answer + got, sizeof(answer) - 1 - got, 0)) > 0)
        got += (size_t) n;
    answer[got] = 0;
    close(slow);
    assert(strncmp(answer, "HTTP/1.1 200", 12) == 0);
    assert(strstr(answer, "POST /echo q=- x=- size=1048576 "));
    assert(s_test_held(server, 0));
    //  With the budget free again, a whole body is taken.
    snprintf(head, sizeof(head),
             "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n",
             mib);
    memset(request, 0, size);
    memcpy(request, head, strlen(head));
    assert(s_test_raw_request(port, request, size, size, 0, answer, sizeof(answer)) == 200);
    assert(s_test_held(server, 0));
    lt_http_server_body_held(server, &refused);
    assert(refused == 3 && __atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 3);
    free(request);
    lt_http_server_destroy(&server);
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

//  Test refusal callback: the status and the reason in the body.
static void s_test_refusal(const lt_http_request_t *req, unsigned status, const char *reason,
                           lt_http_response_t *resp, void *arg)
{
    char text[300];
    snprintf(text, sizeof(text), "refused %u: %s", status, reason);
    assert(lt_http_response_set_body(resp, text, strlen(text), "application/json") == 0);
}

//  Self-test of the gate, of the refusal callback and of the TLS option errors.
static void s_test_gate_server(void)
{
    int calls = 0;
    lt_err_t err;
    lt_http_options_t options = {.limits = {.max_body = 4u * 1024 * 1024, .max_per_ip = 4},
                                 .gate = s_test_gate};
    lt_http_server_t *server
        = lt_http_server_start("127.0.0.1", 0, s_test_handler, &calls, &options, &err);
    assert(server && !lt_http_server_tls(server));
    lt_http_client_t *client = s_test_client(lt_http_server_port(server), 5000);
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
    assert(strcmp(reply.body, "request body too large (over 1000 bytes)\n") == 0);
    rc = lt_http_client_post(client, "/mirror", NULL, 0, blob, big, "application/octet-stream",
                             &reply, &err);
    assert(rc == LT_OK && reply.status == 200 && reply.size == big);
    assert(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 1);
    lt_http_client_destroy(&client);
    lt_http_server_destroy(&server);
    //  With a refusal callback, the server's own refusals carry its body
    //  (a JSON protocol answers them in JSON); the status stays.
    options.refusal = s_test_refusal;
    server = lt_http_server_start("127.0.0.1", 0, s_test_handler, &calls, &options, &err);
    assert(server);
    client = s_test_client(lt_http_server_port(server), 5000);
    rc = lt_http_client_post(client, "/small", NULL, 0, blob, 2000, "application/octet-stream",
                             &reply, &err);
    assert(rc == LT_OK && reply.status == 413);
    assert(strcmp(reply.body, "refused 413: request body too large (over 1000 bytes)") == 0);
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

    lt_http_client_t *client = s_test_client(port, 5000);
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
    //  A decoded NUL in the path, a query value or a query name is refused
    //  before the handler, naming where it is; other escapes decode.
    int before_nul = __atomic_load_n(&calls, __ATOMIC_SEQ_CST);
    assert(lt_http_client_get(client, "/echo%00x", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 400 && strstr(reply.body, "path contains a NUL byte"));
    assert(lt_http_client_get(client, "/echo?q=a%00b", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 400 && strstr(reply.body, "'q' contains a NUL byte"));
    assert(lt_http_client_get(client, "/echo?x%00y=1", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 400 && strstr(reply.body, "contains a NUL byte"));
    assert(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == before_nul);
    assert(lt_http_client_get(client, "/echo?q=%30%2500", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 200 && strncmp(reply.body, "GET /echo q=0%00 ", 17) == 0);
    //  A name given twice with different values is found; the same value
    //  twice, or different names, are not.
    assert(lt_http_client_get(client, "/query?a=1&b=2&b=%32&a=3", NULL, 0, &reply, &err)
           == LT_OK);
    assert(reply.status == 200 && strcmp(reply.body, "twice=a") == 0);
    assert(lt_http_client_get(client, "/query?a=1&b=2&a=1", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 200 && strcmp(reply.body, "twice=-") == 0);

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
    //  Many headers before one sent twice with two values: still told.
    lt_http_header_t crowd[80];
    char crowd_names[78][16];
    for (size_t i = 0; i < 78; i++) {
        snprintf(crowd_names[i], sizeof(crowd_names[i]), "X-Junk-%zu", i);
        crowd[i] = (lt_http_header_t){crowd_names[i], "j"};
    }
    crowd[78] = (lt_http_header_t){"X-Other", "one"};
    crowd[79] = (lt_http_header_t){"X-Other", "two"};
    assert(lt_http_client_post(client, "/upload", crowd, 80, two_parts, strlen(two_parts),
                               "multipart/form-data; boundary=b42", &reply, &err)
           == LT_OK);
    assert(reply.status == 201 && strstr(reply.body, " twice=X-Other"));
    s_test_form_parser();
    s_test_form_server(port);
    s_test_framing(port);
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
    s_test_deadline();
    s_test_evict();
    s_test_budget();
    if (verbose)
        printf("OK\n");
}
