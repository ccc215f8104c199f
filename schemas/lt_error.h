/*  lt_error: the project's small error vocabulary.

    Every layer (store, codecs, connectors, HTTP peers) reports failure as an
    lt_error_t code plus a readable detail string carried in an lt_err_t.
    The numeric values travel on the wire in REJECTED and ERROR commands
    (schemas/ltp.md, "Error codes"), so they never change once released.
*/
#ifndef LT_ERROR_H_INCLUDED
#define LT_ERROR_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LT_OK = 0,             //  success
    LT_EPROTO = 400,       //  malformed frame or msgpack body
    LT_EAUTH = 401,        //  authentication or identity refused
    LT_EFORBIDDEN = 403,   //  authenticated but not allowed (e.g. impersonation)
    LT_ECOMMAND = 404,     //  unknown command
    LT_ESTATE = 409,       //  command not valid in the session's state
    LT_ETOOBIG = 413,      //  frame, payload or input over its size limit
    LT_EVERSION = 426,     //  protocol version not supported
    LT_EFIELD = 422,       //  missing, mistyped or out-of-range field
    LT_EINVAL = 450,       //  payload content invalid (bad edXML, bad record)
    LT_EROUTE = 460,       //  no route for a recipient
    LT_ESIGNATURE = 470,   //  signature or digest check failed
    LT_EINTERNAL = 500,    //  programming or unexpected internal error
    LT_ESTORE = 507,       //  store (disk) failure
    LT_ENOMEM = 508,       //  out of memory
    LT_EPEER = 502,        //  peer system answered with an error
    LT_EUNAVAIL = 503,     //  peer or resource temporarily unavailable
    LT_ETIMEOUT = 504,     //  peer or operation timed out
    LT_EIO = 510,          //  local I/O failure (file, socket)
    LT_ECONFIG = 520,      //  configuration error
} lt_error_t;

//  An error code with its detail, filled by the callee that failed.
typedef struct {
    lt_error_t code;     //  LT_OK when nothing failed
    char detail[512];    //  readable reason: what failed, on which input
} lt_err_t;

//  Return the short stable name of an error code ("EPROTO"), never NULL.
const char *lt_error_name(lt_error_t code);

//  Return a one-line description of an error code, never NULL.
const char *lt_strerror(lt_error_t code);

//  Return true when a peer may succeed if the same call is tried again later.
bool lt_error_transient(lt_error_t code);

//  Set err (if not NULL) to code and a printf-formatted detail; returns code.
lt_error_t lt_err_set(lt_err_t *err, lt_error_t code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

//  Reset err (if not NULL) to LT_OK with an empty detail.
void lt_err_clear(lt_err_t *err);

//  Self-test of this class.
void lt_error_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
