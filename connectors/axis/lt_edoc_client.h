/*  lt_edoc_client: a client of the edoc API (spec/peers.md A).

    One object speaks to one edoc server (the national axis, or the hub's
    own lthub-dms) as one client system: it signs every call with the
    system's secret (lt_edoc_auth), posts it over one kept-alive
    lt_http_client, reads the JSON answer and sorts the outcome into OK,
    TRANSIENT (try again later: no answer, a timeout, HTTP 5xx/408/429, or
    HTTP 3xx/404 from a proxy or balancer in front of the API, an answer
    that is not the JSON the API promises, a FAIL whose ErrorCode is
    5xx/408/429) or PERMANENT (the peer refused the call for good: a FAIL
    with ErrorCode 400, 401, 403, 404..., or an HTTP status about the
    request or the credentials, 400, 401, 403, 413...). The status word is
    read in any case ("OK", "ok", "Ok"). The detail of a failure names the operation, the peer's
    ErrorCode and ErrorDesc, never the secret; its code is LT_EPEER when
    the server answered (a FAIL, an HTTP error status, a garbled body) and
    the HTTP client's transport code (LT_ETIMEOUT, LT_EUNAVAIL...) when no
    answer came, so a caller can tell a flaky server from an unreachable one.

    lthub-axis uses it toward the national axis, lthub-sim dms toward the
    hub. An object is used by one thread at a time (its HTTP handle is not
    shared); a program with several threads keeps one per thread.
*/
#ifndef LT_EDOC_CLIENT_H_INCLUDED
#define LT_EDOC_CLIENT_H_INCLUDED

#include "lt_edoc_auth.h"
#include "lt_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_edoc_client_t lt_edoc_client_t;

#define LT_EDOC_RAW_MAX (64u * 1024 * 1024)   //  undecodable getEdoc data kept at most, bytes

//  How a call ended.
typedef enum {
    LT_EDOC_OK = 0,          //  status OK: the operation was performed
    LT_EDOC_TRANSIENT = 1,   //  worth trying again later (err says why)
    LT_EDOC_PERMANENT = 2,   //  refused for good (err holds ErrorCode and ErrorDesc)
} lt_edoc_outcome_t;

//  What a client needs to know; strings are copied by lt_edoc_client_new.
typedef struct {
    const char *url;            //  base URL of the edoc API, http(s)://host/path
    const char *system_id;      //  this client system's id
    const void *secret;         //  its secret bytes
    size_t secret_size;         //  secret length
    const char *ca_file;        //  PEM CA file for https, NULL or "" for the system store
    long timeout_ms;            //  whole-call timeout (0: the HTTP client's default)
    long connect_timeout_ms;    //  connect timeout (0: the HTTP client's default)
} lt_edoc_client_config_t;

//  One item of getReceivedEdocList (strings "" when the server left them out).
typedef struct {
    char doc_id[128];          //  docId: the transport id of this item
    char message_type[16];     //  messageType: edoc or status
    char from[64];             //  from: the sender agency code
    char to[256];              //  to: its recipient codes joined by ',' ("" when absent or too long)
    char status[16];           //  status: initial, processing, done or fail
    char created[32];          //  created_time as the server wrote it
} lt_edoc_item_t;

//  Create a client; NULL with err filled when the URL is not http(s), the
//  system id is empty, the CA file cannot be read or memory runs out.
lt_edoc_client_t *lt_edoc_client_new(const lt_edoc_client_config_t *config, lt_err_t *err);

//  Destroy a client (wiping its copy of the secret); set the pointer to
//  NULL; safe on NULL.
void lt_edoc_client_destroy(lt_edoc_client_t **self_p);

//  Call one operation with its parameters (signed, as XroadVnpt-* headers),
//  an optional file sent as the multipart part file_doc (file NULL: no
//  body) and fill *answer_p with the JSON answer when the outcome is OK
//  (caller decrefs; answer_p may be NULL).
lt_edoc_outcome_t lt_edoc_client_call(lt_edoc_client_t *self, const char *operation,
                                      const lt_edoc_param_t *params, size_t param_count,
                                      const void *file, size_t file_size, const char *filename,
                                      json_t **answer_p, lt_err_t *err);

//  sendEdoc: upload a package (messagetype "edoc" or "status"), to the
//  agency codes in to (NULL or count 0: the server reads the package's own
//  recipients), with the hash-file of the exact bytes. doc_id receives the
//  server's DocId ("" when it gave none).
lt_edoc_outcome_t lt_edoc_client_send(lt_edoc_client_t *self, const void *package, size_t size,
                                      const char *messagetype, const char *const *to,
                                      size_t to_count, const char *filename,
                                      char doc_id[128], lt_err_t *err);

//  getReceivedEdocList for one messagetype: fill *items_p with a malloc'd
//  array of *count_p items (caller frees; NULL when empty). A server answer
//  whose data is not a list is TRANSIENT. An item without a usable docId
//  (not an object, none, empty, longer than doc_id holds, a number beyond
//  what a double holds exactly, or text that cannot travel as a header
//  exactly: spaces at its ends, control or non-ASCII characters) is
//  skipped and logged, once per client object, naming it; the others are
//  returned. A number beyond 64 bits anywhere in an answer does not make
//  it unreadable (fields holding one are treated as absent).
lt_edoc_outcome_t lt_edoc_client_list(lt_edoc_client_t *self, const char *messagetype,
                                      lt_edoc_item_t **items_p, size_t *count_p, lt_err_t *err);

//  getEdoc: fetch one package, base64-decoded into a malloc'd buffer the
//  caller frees (line breaks, blanks and missing '=' padding are
//  accepted). Data that is not base64 is TRANSIENT with err->code
//  LT_EINVAL (an answer cut or garbled on its way; the caller counts how
//  often the same item comes so); then, when raw_p and raw_size_p are not
//  NULL, *raw_p holds the data text as received, cut to LT_EDOC_RAW_MAX
//  bytes and NUL-terminated (caller frees). A docId that cannot travel as a
//  header exactly is PERMANENT with LT_EINVAL, and no call is made.
lt_edoc_outcome_t lt_edoc_client_get(lt_edoc_client_t *self, const char *doc_id,
                                     uint8_t **data_p, size_t *size_p, char **raw_p,
                                     size_t *raw_size_p, lt_err_t *err);

//  updateStatus: processing, done or fail, with an optional description
//  (sent as printable ASCII: control characters become spaces, other
//  non-ASCII characters '?'; cut to 400 bytes). A docId that cannot travel
//  as a header exactly is PERMANENT with LT_EINVAL, and no call is made.
lt_edoc_outcome_t lt_edoc_client_update(lt_edoc_client_t *self, const char *doc_id,
                                        const char *status, const char *description,
                                        lt_err_t *err);

//  POST a JSON body to an operation (registerDocuments), with the body's
//  hash-file signed among the headers; *answer_p as for lt_edoc_client_call.
lt_edoc_outcome_t lt_edoc_client_post_json(lt_edoc_client_t *self, const char *operation,
                                           const char *body, json_t **answer_p, lt_err_t *err);

//  The reading of an answer, apart from the HTTP call that brought it, so
//  that it can be tested and fuzzed on bytes alone; the calls above use
//  these. An answer comes from another system and is untrusted input.

//  Read the body of an HTTP 200 answer to operation (size bytes, body NULL
//  when size is 0): a UTF-8 byte order mark before the JSON is skipped, a
//  number beyond 64 bits does not make it unreadable (every number is then
//  read as a real), and the verdict is sorted as above (a body that is not
//  a JSON object is TRANSIENT). On OK, *answer_p holds the JSON object
//  (caller decrefs; answer_p may be NULL); otherwise err says why, with
//  code LT_EPEER, and *answer_p is NULL.
lt_edoc_outcome_t lt_edoc_answer_read(const char *operation, const void *body, size_t size,
                                      json_t **answer_p, lt_err_t *err);

//  Read the items of an OK getReceivedEdocList answer (borrowed), as
//  lt_edoc_client_list returns them. memo is the client whose memory of
//  skipped items makes each logged once; NULL logs every skip.
lt_edoc_outcome_t lt_edoc_answer_items(json_t *answer, lt_edoc_client_t *memo,
                                       const char *messagetype, lt_edoc_item_t **items_p,
                                       size_t *count_p, lt_err_t *err);

//  Read the base64 data of an OK getEdoc answer (borrowed) for doc_id (the
//  name err gives it), as lt_edoc_client_get returns it: OK with the
//  decoded bytes, or TRANSIENT when there is no data (LT_EPEER) or it is
//  not base64 (LT_EINVAL, *raw_p as there).
lt_edoc_outcome_t lt_edoc_answer_data(json_t *answer, const char *doc_id, uint8_t **data_p,
                                      size_t *size_p, char **raw_p, size_t *raw_size_p,
                                      lt_err_t *err);

//  Return the outcome's name ("ok", "transient", "permanent").
const char *lt_edoc_outcome_name(lt_edoc_outcome_t outcome);

//  Self-test of this class (against an in-process lt_http_server).
void lt_edoc_client_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
