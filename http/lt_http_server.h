/*  lt_http_server: a small HTTP server for connectors and simulators
    (libmicrohttpd).

    The server reads the whole request body (up to a limit; over it the
    client gets 413 and the handler is not called: at once when the declared
    Content-Length is over, at the end of the body for a chunked upload,
    whose excess is read and dropped up to the limit again, after which the
    connection is closed), parses multipart/form-data parts as they arrive
    when the request carries them (keeping the parts, not the raw body),
    then calls the handler once with the complete request. The bodies held
    by all requests in flight share one budget (limits.max_inflight_body):
    a body that would pass it gets 503 with Retry-After, its bytes are
    dropped, and the handler is not called. The handler fills a response (status, body, headers),
    or asks to hang: the connection is then held without an answer until the
    server is destroyed or the hang limit passes, which is how simulators
    inject "accept and never answer" faults.

    Threads: MHD runs with an internal polling thread that only accepts, and
    one thread per connection (MHD_USE_THREAD_PER_CONNECTION). The handler is
    called on the connection's own thread, so it may block (a slow peer, a
    broker round-trip, an injected latency) without holding up other
    connections; several handlers run at once, so the handler and its
    argument must be thread-safe. The number of connections is bounded by
    limits.max_connections (and per client address by limits.max_per_ip):
    over a bound, a new connection is served and the one that waited
    longest without its request in the handler is closed.
    lt_http_server_destroy releases hung handlers and interrupts waits
    first, then stops MHD, which joins every thread.

    Optional (lt_http_server_start): a gate, called on the connection's
    thread with the headers only, before a byte of the body is read; it may
    answer at once (the body is then never read: the connection is closed
    after the answer) or lower the body limit for this request. A refusal
    callback gives the server's own 413, 503 and 500 answers the
    body of the owner's protocol (lthub-dms: an edoc FAIL in JSON). A
    certificate and key (PEM files) make the server speak HTTPS only (MHD's
    TLS over GnuTLS).
*/
#ifndef LT_HTTP_SERVER_H_INCLUDED
#define LT_HTTP_SERVER_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_HTTP_MAX_BODY (64u * 1024 * 1024)   //  default request body limit

typedef struct _lt_http_server_t lt_http_server_t;
typedef struct _lt_http_request_t lt_http_request_t;
typedef struct _lt_http_response_t lt_http_response_t;

//  Bounds of a server; a zero field takes its default.
typedef struct {
    size_t max_body;                //  request body bytes (default 64 MiB)
    size_t max_parts;               //  multipart parts kept (default 16)
    unsigned max_connections;       //  concurrent connections (default 64)
    unsigned idle_timeout_s;        //  idle connection timeout (default 60 s)
    unsigned max_hang_s;            //  longest a hung request is held (default 600 s)
    unsigned max_per_ip;            //  concurrent connections per client address (0: no limit)
    unsigned max_request_s;         //  whole request, headers too, from the accept (0: no limit)
    size_t max_inflight_body;       //  body bytes held by all requests at once (default
                                    //  4 x max_body, at least 64 MiB; never below max_body)
} lt_http_limits_t;

//  What the handler wants done with the request.
typedef enum {
    LT_HTTP_ANSWER = 0,   //  send the response the handler filled
    LT_HTTP_HANG = 1,     //  never answer: hold the connection, then close it unanswered
} lt_http_action_t;

//  Handle one complete request on the connection's thread; fill resp
//  (default: 200, empty body) and return what to do. The request and
//  response are valid only during the call.
typedef lt_http_action_t(lt_http_handler_fn)(const lt_http_request_t *req,
                                             lt_http_response_t *resp, void *arg);

//  What a gate decides from a request's headers.
typedef enum {
    LT_HTTP_GATE_PASS = 0,     //  read the body (up to *max_body), then call the handler
    LT_HTTP_GATE_ANSWER = 1,   //  send the response the gate filled; never read the body
} lt_http_gate_t;

//  Look at a request before its body is read (lt_http_request_body is
//  empty then); may fill resp and answer, or lower *max_body (it holds the
//  server's limit on entry; raising it has no effect). Same thread rules
//  as the handler.
typedef lt_http_gate_t(lt_http_gate_fn)(const lt_http_request_t *req, lt_http_response_t *resp,
                                        size_t *max_body, void *arg);

//  Fill the body of a request the server refuses by itself, after the gate
//  let it through: status 413 (body over its limit), 503 (no room in the
//  body budget; Retry-After is added) or 500 (no memory), reason one line
//  of text. The status stays; a callback that sets no body leaves the
//  reason as text/plain. Same thread rules as the handler; the body of the
//  request is empty.
typedef void(lt_http_refusal_fn)(const lt_http_request_t *req, unsigned status,
                                 const char *reason, lt_http_response_t *resp, void *arg);

//  Everything optional about a server; zero fields take their defaults.
typedef struct {
    lt_http_limits_t limits;       //  bounds
    lt_http_gate_fn *gate;         //  header check before the body, or NULL (gets the handler's arg)
    lt_http_refusal_fn *refusal;   //  body of the server's own refusals, or NULL (text/plain)
    const char *tls_cert;          //  PEM certificate chain file: serve HTTPS; NULL: plain HTTP
    const char *tls_key;           //  PEM private key file (with tls_cert)
} lt_http_options_t;

//  Start a server on address ("127.0.0.1", "::1", "0.0.0.0") and port (0
//  picks a free port; see lt_http_server_port). limits may be NULL for the
//  defaults. Returns NULL with err filled when the address is unusable or
//  the port cannot be bound.
lt_http_server_t *lt_http_server_new(const char *address, uint16_t port,
                                     lt_http_handler_fn *handler, void *arg,
                                     const lt_http_limits_t *limits, lt_err_t *err);

//  Start a server with options (NULL for the defaults); as lt_http_server_new
//  otherwise. A certificate or key that cannot be read or used, or TLS
//  missing from libmicrohttpd, is an error naming the file.
lt_http_server_t *lt_http_server_start(const char *address, uint16_t port,
                                       lt_http_handler_fn *handler, void *arg,
                                       const lt_http_options_t *options, lt_err_t *err);

//  Return true when the server speaks HTTPS.
bool lt_http_server_tls(const lt_http_server_t *self);

//  Stop the server: release hung requests, close every connection, join the
//  threads, free everything; set the pointer to NULL; safe on NULL.
void lt_http_server_destroy(lt_http_server_t **self_p);

//  Return the port the server listens on.
uint16_t lt_http_server_port(const lt_http_server_t *self);

//  Return how many connections were closed to keep the connection limits
//  (the one waiting longest without its request in the handler, when a
//  new one came over max_connections or max_per_ip).
uint64_t lt_http_server_evicted(lt_http_server_t *self);

//  Return the request body bytes counted against max_inflight_body now,
//  and (when refused is not NULL) how many requests got 503 for it so far.
size_t lt_http_server_body_held(lt_http_server_t *self, uint64_t *refused);

//  Return the request method ("GET", "POST", ...).
const char *lt_http_request_method(const lt_http_request_t *req);

//  Return the request path, without the query string ("/sendEdoc").
const char *lt_http_request_path(const lt_http_request_t *req);

//  Return a request header by name (case-insensitive), or NULL.
const char *lt_http_request_header(const lt_http_request_t *req, const char *name);

//  Return a query-string argument by name, or NULL.
const char *lt_http_request_query(const lt_http_request_t *req, const char *name);
//  (A name or value with a decoded NUL byte never gets here: the server
//  answers such a request 400 itself, as it does a path with %00.)

//  The name of a query argument given twice with different values, or
//  NULL; lt_http_request_query answers the first, so an endpoint that
//  acts on its arguments refuses such a request rather than guess.
const char *lt_http_request_repeated_query(const lt_http_request_t *req);

//  Return the raw request body (NUL-terminated for convenience) and its size.
//  A multipart/form-data body is parsed as it arrives and not kept: its
//  parts are (lt_http_request_part), the body is then empty.
const void *lt_http_request_body(const lt_http_request_t *req, size_t *size);

//  One part of a multipart/form-data body, for lt_http_form_parse:
//  filename is NULL when the part had none, data is NUL-terminated.
typedef void(lt_http_part_fn)(const char *name, const char *filename, const void *data,
                              size_t size, void *arg);

//  Parse a whole multipart/form-data body with the server's own streaming
//  parser, fed in chunks of step bytes (0: all at once), keeping at most
//  max_parts parts; call part(arg) for each part in order and return how
//  many there were, or -1 when the Content-Type is refused or the body is
//  malformed (part is then not called). For checks of the parser.
int lt_http_form_parse(const char *content_type, const void *body, size_t size, size_t step,
                       size_t max_parts, lt_http_part_fn *part, void *arg);

//  Return the bytes of the multipart/form-data part with this name (first
//  one), its size and file name (NULL when it had none), or NULL when the
//  request holds no such part. A malformed multipart body holds no parts.
const void *lt_http_request_part(const lt_http_request_t *req, const char *name, size_t *size,
                                 const char **filename);

//  Return how many multipart/form-data parts carry this name.
size_t lt_http_request_part_count(const lt_http_request_t *req, const char *name);

//  Return the name of the first header whose name starts with prefix
//  (case-insensitive) and that the request carries more than once with
//  different values, or NULL.
const char *lt_http_request_repeated_header(const lt_http_request_t *req, const char *prefix);

//  Return the client's address and port as text ("127.0.0.1:41234").
const char *lt_http_request_peer(const lt_http_request_t *req);

//  Return when the request's headers arrived (lt_clock_ms, monotonic ms).
int64_t lt_http_request_started(const lt_http_request_t *req);

//  Sleep up to ms milliseconds on the handler's thread; return early (false)
//  when the server is being destroyed or the request's connection was
//  closed (see lt_http_request_evictable), true when the full time passed.
bool lt_http_request_wait(const lt_http_request_t *req, int64_t ms);

//  Let the request's connection be closed, from now on, as if its request
//  were not with the handler: for a newcomer at the connection limits, or
//  by the request deadline (max_request_s, counted again from now). For a
//  handler that only makes its client wait (a refused login's pause): such
//  waits must not hold the server's connections against other clients.
//  The answer of a closed connection is dropped.
void lt_http_request_evictable(const lt_http_request_t *req);

//  Set the response status (100..599).
void lt_http_response_set_status(lt_http_response_t *resp, unsigned status);

//  Set the response body (copied) and its content type; -1 on no memory.
int lt_http_response_set_body(lt_http_response_t *resp, const void *body, size_t size,
                              const char *content_type);

//  Set status and a text body with its content type in one call; -1 on no memory.
int lt_http_response_set(lt_http_response_t *resp, unsigned status, const char *content_type,
                         const char *text);

//  Add a response header (copied; no CR/LF); -1 on bad input or no memory.
int lt_http_response_add_header(lt_http_response_t *resp, const char *name, const char *value);

//  Self-test of this class.
void lt_http_server_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
