/*  lt_http_client: one HTTP(S) peer as seen by a connector (libcurl).

    A client object holds a base URL and one CURL easy handle, so successive
    calls to the same peer reuse the kept-alive connection (and TLS session).
    TLS verification is always on; an operator may name a CA file for a
    private authority. Failures come back as lt_error_t codes with a detail
    naming the URL and curl's reason (timeouts LT_ETIMEOUT, refused or
    unresolvable or dropped LT_EUNAVAIL, TLS handshake or verification
    LT_EPEER, an unreadable CA file or bad URL LT_ECONFIG, reply too large
    LT_ETOOBIG, naming the limit and the status when one came); an HTTP
    status, whatever it is, is a reply and not an error: the caller
    decides, helped by lt_http_status_transient(). Redirects are never
    followed: a 3xx is a reply, with its Location kept for the caller to
    report. Request headers are never
    logged or put into details, so secrets sent in them stay private.

    A client object is used by one thread at a time.
*/
#ifndef LT_HTTP_CLIENT_H_INCLUDED
#define LT_HTTP_CLIENT_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_HTTP_CONNECT_TIMEOUT_MS 10000                 //  default connect timeout
#define LT_HTTP_TIMEOUT_MS         120000                //  default whole-call timeout
#define LT_HTTP_MAX_REPLY          (128u * 1024 * 1024)  //  default reply size limit

typedef struct _lt_http_client_t lt_http_client_t;

//  One request header.
typedef struct {
    const char *name;    //  header name, e.g. "XroadVnpt-docId"
    const char *value;   //  header value (no CR or LF)
} lt_http_header_t;

//  What the peer answered. Start with {0}; every call frees the previous body.
typedef struct {
    long status;   //  HTTP status, 0 when no answer came
    char *body;    //  reply body, malloc'd and NUL-terminated (never NULL after a reply)
    size_t size;   //  body bytes, without the terminating NUL
    char location[512];   //  the Location header as sent, truncated ("" when none)
} lt_http_reply_t;

//  Create a client for a base URL ("https://axis.example/api/"); NULL when
//  the URL is not http(s) or memory runs out.
lt_http_client_t *lt_http_client_new(const char *base_url);

//  Destroy a client, closing its connection; set the pointer to NULL; safe on NULL.
void lt_http_client_destroy(lt_http_client_t **self_p);

//  Return the base URL the client was created with.
const char *lt_http_client_base_url(const lt_http_client_t *self);

//  Set the connect timeout in milliseconds (0 restores the default).
void lt_http_client_set_connect_timeout(lt_http_client_t *self, long ms);

//  Set the whole-call timeout in milliseconds (0 restores the default).
void lt_http_client_set_timeout(lt_http_client_t *self, long ms);

//  Set the largest reply body accepted (0 restores the default).
void lt_http_client_set_max_reply(lt_http_client_t *self, size_t bytes);

//  Trust the CA certificates in this PEM file instead of the system store;
//  NULL restores the system store. Returns -1 when the file is unreadable.
int lt_http_client_set_ca_file(lt_http_client_t *self, const char *path);

//  Send a request: method ("GET", "POST", ...), path appended to the base
//  URL with exactly one '/', optional headers, optional body with its
//  content type. Fills reply on any HTTP answer and returns LT_OK; returns
//  an error code with err filled when no complete answer came.
lt_error_t lt_http_client_request(lt_http_client_t *self, const char *method, const char *path,
                                  const lt_http_header_t *headers, size_t header_count,
                                  const void *body, size_t size, const char *content_type,
                                  lt_http_reply_t *reply, lt_err_t *err);

//  POST a body (see lt_http_client_request).
lt_error_t lt_http_client_post(lt_http_client_t *self, const char *path,
                               const lt_http_header_t *headers, size_t header_count,
                               const void *body, size_t size, const char *content_type,
                               lt_http_reply_t *reply, lt_err_t *err);

//  GET a path (see lt_http_client_request).
lt_error_t lt_http_client_get(lt_http_client_t *self, const char *path,
                              const lt_http_header_t *headers, size_t header_count,
                              lt_http_reply_t *reply, lt_err_t *err);

//  POST multipart/form-data holding one file part (part name, e.g.
//  "file_doc", file name and bytes, sent as application/octet-stream).
lt_error_t lt_http_client_post_file(lt_http_client_t *self, const char *path,
                                    const lt_http_header_t *headers, size_t header_count,
                                    const char *part, const char *filename, const void *data,
                                    size_t size, lt_http_reply_t *reply, lt_err_t *err);

//  Free a reply's body and zero it; safe on an empty reply.
void lt_http_reply_free(lt_http_reply_t *reply);

//  Return true when an HTTP status is worth retrying later (408, 425, 429,
//  500, 502, 503, 504); other statuses are final.
bool lt_http_status_transient(long status);

//  Self-test of the client and the server together.
void lt_http_client_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
