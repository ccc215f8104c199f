/*  dms_int.h: what the files of lthub-dms share (not a public interface).

    lthub_dms.c holds the connector table, options and deliver(); the edoc
    API handlers live in dms_server.c, registerDocuments in dms_register.c,
    the automatic status 01 in dms_status.c, the mailbox's bounds in
    dms_bounds.c. All of them work on one
    dms_t, created by init() and freed by fini().
*/
#ifndef DMS_INT_H_INCLUDED
#define DMS_INT_H_INCLUDED

#include "lt_connector.h"
#include "lt_dms_systems.h"
#include "lt_edxml.h"
#include "lt_http_server.h"
#include "lt_mailbox.h"
#include "lt_sentlog.h"

#include <czmq.h>
#include <jansson.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define DMS_DB_NAME        "dms-mailbox.db"   //  mailbox file inside --data
#define DMS_REJECTED_DIR   "rejected"         //  refused inputs inside --data
#define DMS_MAX_RECIPIENTS 256                //  `to` codes accepted with sendEdoc
#define DMS_SENT_NAME      "dms-sent.db"      //  sent log inside --data
#define DMS_SMALL_BODY     (64u * 1024)       //  body bound of operations that take none
#define DMS_MULTIPART_SLACK (1024u * 1024)    //  multipart framing allowed around a package
#define DMS_MAX_SEEN       1000000            //  signatures remembered for replay refusal

//  Counters of the connector, rendered by dms_stats_json().
typedef struct {
    uint64_t requests;          //  edoc API calls (any operation)
    uint64_t auth_failures;     //  refused authentications
    uint64_t send_ok;           //  sendEdoc answered OK
    uint64_t send_duplicates;   //  of those, resends the broker already had
    uint64_t send_fail;         //  sendEdoc answered FAIL (any reason)
    uint64_t hash_failures;     //  hash-file mismatches
    uint64_t bad_packages;      //  edXML the reader refused
    uint64_t impersonations;    //  From/OrganId not served by the caller
    uint64_t broker_rejects;    //  packages the broker refused
    uint64_t timeouts;          //  publishes the broker did not confirm in time
    uint64_t lists;             //  getReceivedEdocList calls
    uint64_t fetches;           //  getEdoc answered OK
    uint64_t updates;           //  updateStatus answered OK
    uint64_t register_ok;       //  registerDocuments answered OK
    uint64_t register_fail;     //  registerDocuments answered FAIL
    uint64_t register_entries;  //  register entries accepted by the broker
    uint64_t deliveries;        //  deliver() calls answered OK
    uint64_t delivery_fails;    //  deliver() calls answered FAIL
    uint64_t delivery_retries;  //  deliver() calls answered RETRY
    uint64_t items_added;       //  new mailbox items
    uint64_t arrivals_sent;     //  automatic statuses 01 accepted by the broker
    uint64_t arrivals_failed;   //  automatic statuses 01 given up
    uint64_t rejected_kept;     //  refused inputs kept in DIR/rejected
    uint64_t mailbox_full;      //  deliveries put back because the mailbox disk is full
    uint64_t bound_refusals;    //  deliveries put back because the backlog fills a bound
} dms_stats_t;

//  The mailbox's bounds and what the prune timer last saw (under dms_t.lock).
typedef struct {
    lt_mailbox_bounds_t bounds;   //  --mailbox-max-age, -items, -bytes
    lt_mailbox_usage_t usage;     //  figures after the last step
    bool full;                    //  the backlog alone fills a bound: deliveries get RETRY
    int64_t next_ms;              //  when the next step runs (monotonic)
    uint64_t steps;               //  prune steps run
    uint64_t errors;              //  prune steps that failed
    int64_t step_ms_max;          //  longest step, ms
} dms_bounds_t;

//  The connector's state.
typedef struct {
    lt_conn_t *conn;                  //  runtime (options, publish)
    lt_dms_systems_t *systems;        //  client systems (immutable)
    lt_mailbox_t *mailbox;            //  durable mailboxes
    lt_sentlog_t *sent;               //  what each system sent (getSentEdocList)
    X509_STORE *anchors;              //  trust anchors for verdicts, or NULL
    lt_http_server_t *server;         //  the edoc API server
    char host[64];                    //  --listen address
    uint16_t port;                    //  --listen port
    char data_dir[1024];              //  --data
    char rejected_dir[1100];          //  DATA/rejected
    bool auto_status;                 //  --auto-status yes
    size_t max_package;               //  --max-package bytes
    size_t max_register;              //  --max-register bytes (register body)
    size_t max_entries;               //  --max-entries per registerDocuments
    size_t list_max;                  //  --list-max items per list answer
    size_t max_rejected;              //  --max-rejected files kept
    uint64_t max_rejected_bytes;      //  --max-rejected-mb, in bytes
    int publish_timeout_ms;           //  --publish-timeout
    int64_t request_timeout_ms;       //  --request-timeout: deadline of a request from its start
    char tls_cert[1024];              //  --tls-cert, "" for plain HTTP
    char tls_key[1024];               //  --tls-key
    unsigned max_connections;         //  --max-connections
    unsigned max_per_ip;              //  --max-per-ip
    unsigned idle_timeout_s;          //  --idle-timeout
    unsigned max_request_s;           //  --max-request-time
    size_t max_inflight_body;         //  --max-inflight-body (0: lt_http_server's default)
    pthread_mutex_t seen_lock;        //  guards seen and seen_purged
    zhashx_t *seen;                   //  "system/signature" -> int64_t expiry (fresh systems)
    int64_t seen_purged;              //  when seen was last purged (Unix ms)
    int64_t keep_done_ms;             //  --keep-done: package bytes kept after done
    pthread_mutex_t lock;             //  guards stats, counts, rejected_*
    dms_stats_t stats;                //  counters
    dms_bounds_t bounds;              //  the mailbox's bounds and figures
    json_t *counts;                   //  mailbox counts, refreshed by poll()
    size_t rejected_count;            //  refused inputs in the rejected folder
    uint64_t rejected_bytes;          //  their bytes
} dms_t;

//  Add one to a counter under the lock.
void dms_count(dms_t *self, uint64_t *counter);

//  The edoc API gate (lt_http_gate_fn): unknown operations, bad
//  credentials and stale or replayed requests are answered from the
//  headers, before the body is read; others get their operation's body
//  bound (sendEdoc the package limit, registerDocuments the register limit,
//  the rest DMS_SMALL_BODY).
lt_http_gate_t dms_gate(const lt_http_request_t *req, lt_http_response_t *resp,
                        size_t *max_body, void *arg);

//  Prepare and free the replay memory (dms_fresh.c); init returns 0 or -1.
int dms_fresh_init(dms_t *self);
void dms_fresh_fini(dms_t *self);

//  For a system with a freshness window, refuse a stale timestamp or a
//  signature already seen; NULL when the request may go on, else the answer.
json_t *dms_fresh_check(dms_t *self, const lt_http_request_t *req, size_t caller,
                        lt_http_response_t *resp);

//  Forget the signature of a request the HTTP server refused by itself
//  after the gate remembered it (dms_refusal: body over its bound, no room
//  in the body budget, no memory): nothing of it was processed, so the
//  same signed request sent again is a retry, not a replay.
void dms_fresh_forget(dms_t *self, const lt_http_request_t *req);

//  Read an edoc timestamp (ddMMyyyy'T'HHmmss[+SSSS], Vietnam time) as Unix
//  ms; -1 when it is not one.
int64_t dms_timestamp_ms(const char *text);

//  The body of a request lt_http_server refuses by itself (lt_http_refusal_fn:
//  over its operation's body bound, over the body budget, no memory): an
//  edoc FAIL answer whose ErrorCode is the HTTP status, as the SDKs read
//  the body, not the status.
void dms_refusal(const lt_http_request_t *req, unsigned status, const char *reason,
                 lt_http_response_t *resp, void *arg);

//  The edoc API request handler (lt_http_handler_fn); arg is the dms_t.
lt_http_action_t dms_handle(const lt_http_request_t *req, lt_http_response_t *resp, void *arg);

//  Return a FAIL answer with an ErrorCode and a formatted ErrorDesc.
json_t *dms_fail(const char *code, const char *format, ...) __attribute__((format(printf, 2, 3)));

//  Return an OK answer ({"status":"OK","ErrorCode":"0","ErrorDesc":""}).
json_t *dms_ok(void);

//  Return the value of parameter name (header XroadVnpt-<name>), or NULL.
const char *dms_param(const lt_http_request_t *req, const char *name);

//  Keep a refused input in DATA/rejected with a note naming the reason and
//  the system; best effort, bounded by --max-rejected and --max-rejected-mb.
void dms_keep_rejected(dms_t *self, const char *system, const char *reason, const void *data,
                       size_t size, const char *extension);

//  registerDocuments for an authenticated caller (system index).
json_t *dms_op_register(dms_t *self, const lt_http_request_t *req, size_t caller);

//  Build the status 01 package that agency owes for the document bytes doc
//  (From = agency, ResponseFor = the document). Returns the package (the
//  caller destroys it) with its bytes in *data_p (caller frees), or NULL
//  with err filled.
lt_edxml_t *dms_status_build(const void *doc, size_t size, const char *agency, int64_t now_ms,
                             uint8_t **data_p, size_t *size_p, lt_err_t *err);

//  Publish the automatic statuses 01 that are owed; poll() calls it.
void dms_arrivals_run(dms_t *self);

//  Run the mailbox's bound steps that are due (dms_bounds.c); poll() calls it.
void dms_bounds_run(dms_t *self);

//  True when deliveries must wait: the items no system has marked done fill
//  a bound. err is filled with the reason then.
bool dms_bounds_full(dms_t *self, lt_err_t *err);

//  The bounds' figures as a new JSON object.
json_t *dms_bounds_json(dms_t *self);

//  Counters and mailbox counts as a new JSON object.
json_t *dms_stats_json(dms_t *self);

#endif
