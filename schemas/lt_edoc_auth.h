/*  lt_edoc_auth: the authentication headers of the edoc API (spec/peers.md A).

    Every call to the national axis, and every call a DMS makes to the hub's
    own edoc server, carries its parameters as `XroadVnpt-<name>` headers plus
    a signature over them: the client lists the signed names in
    `XroadVnpt-sign-header-key`, copies the signed headers into a JSON object
    sent as `XroadVnpt-sign-header`, and sends the HMAC-SHA256 of that exact
    JSON text under the system's secret as `XroadVnpt-hash-header`.

    The client side (lt_edoc_auth_sign) builds the full header list for one
    call; the server side (lt_edoc_auth_verify) checks a received request
    through two callbacks, one that reads a header and one that finds the
    secret of a system id, so it works over any HTTP server. Secrets never
    appear in error details.
*/
#ifndef LT_EDOC_AUTH_H_INCLUDED
#define LT_EDOC_AUTH_H_INCLUDED

#include "lt_digest.h"
#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_EDOC_PREFIX        "XroadVnpt-"   //  prefix of every edoc header
#define LT_EDOC_TIMESTAMP_LEN 32             //  buffer size for a timestamp
#define LT_EDOC_MAX_PARAMS    32             //  parameters per call, signing and verifying
#define LT_EDOC_SECRET_MAX    4096           //  largest secret file accepted

//  One logical parameter of a call, e.g. {"docId", "..."}; the name carries
//  no prefix.
typedef struct {
    const char *name;    //  parameter name without "XroadVnpt-"
    const char *value;   //  its value, sent as is (no CR or LF)
} lt_edoc_param_t;

//  The header list produced for one call (an owned list of name/value).
typedef struct _lt_edoc_headers_t lt_edoc_headers_t;

//  Build the headers of one call: every parameter as `XroadVnpt-<name>`,
//  then systemid, timestamp, sign-header-key, sign-header and hash-header.
//  timestamp is opaque text (see lt_edoc_auth_timestamp). Returns NULL with
//  err filled when an argument is unusable (empty system id, a name or value
//  holding CR/LF or ';', too many parameters) or memory runs out.
lt_edoc_headers_t *lt_edoc_auth_sign(const char *system_id, const void *secret,
                                     size_t secret_size, const char *timestamp,
                                     const lt_edoc_param_t *params, size_t param_count,
                                     lt_err_t *err);

//  Destroy a header list and set the caller's pointer to NULL; safe on NULL.
void lt_edoc_headers_destroy(lt_edoc_headers_t **self_p);

//  Return how many headers the list holds.
size_t lt_edoc_headers_count(const lt_edoc_headers_t *self);

//  Return the full name of header index (e.g. "XroadVnpt-systemid").
const char *lt_edoc_headers_name(const lt_edoc_headers_t *self, size_t index);

//  Return the value of header index.
const char *lt_edoc_headers_value(const lt_edoc_headers_t *self, size_t index);

//  Return the value of the header with this full name (case-insensitive), or NULL.
const char *lt_edoc_headers_get(const lt_edoc_headers_t *self, const char *name);

//  Write a timestamp in the SDK's form `ddMMyyyy'T'HHmmss+SSSS` (SSSS the
//  milliseconds, not an offset) for the Unix time ms, in Vietnam time (UTC+7,
//  no daylight saving).
void lt_edoc_auth_timestamp(int64_t ms, char out[LT_EDOC_TIMESTAMP_LEN]);

//  Write the `XroadVnpt-hash-file` value of a file (SHA-256, unpadded hex).
void lt_edoc_auth_hash_file(const void *data, size_t size, char out[LT_SHA256_UNPADDED]);

//  Return true when received is the hash-file value of data (constant-time).
bool lt_edoc_auth_hash_file_ok(const char *received, const void *data, size_t size);

//  Read a header by its full name, case-insensitive; NULL when absent. The
//  string stays valid for the duration of the verify call.
typedef const char *(lt_edoc_header_fn)(void *arg, const char *name);

//  Find the secret of a system id; NULL when the system is unknown. The bytes
//  stay valid for the duration of the verify call.
typedef const void *(lt_edoc_secret_fn)(void *arg, const char *system_id, size_t *size);

//  Authenticate one request by spec/peers.md A: the system id is known; the
//  sign-header JSON parses (duplicate keys refused); sign-header-key names at
//  least systemid and timestamp; every name in it is a key of the JSON whose
//  value equals the header actually received; the HMAC over the received
//  sign-header text matches hash-header (constant-time). params, when not
//  NULL, is a NULL-terminated list of the call's parameter names: each one
//  the request carries must be signed, and each one the sign-header signs
//  must be carried. Returns LT_OK, or LT_EAUTH with err naming what failed
//  (never the secret).
lt_error_t lt_edoc_auth_verify(lt_edoc_header_fn *header, void *header_arg,
                               lt_edoc_secret_fn *secret, void *secret_arg,
                               const char *const *params, lt_err_t *err);

//  Read a secret file (at most LT_EDOC_SECRET_MAX bytes, trailing CR/LF and
//  spaces dropped); NULL with err filled when unreadable or empty. Release
//  it with lt_edoc_secret_free.
char *lt_edoc_secret_load(const char *path, size_t *size, lt_err_t *err);

//  Wipe and free a secret from lt_edoc_secret_load; set the pointer to NULL.
void lt_edoc_secret_free(char **secret_p, size_t size);

//  Self-test of this class.
void lt_edoc_auth_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
