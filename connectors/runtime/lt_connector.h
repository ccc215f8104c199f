/*  lt_connector: what every connector is, and the runtime that runs one.

    A connector is a const table of callbacks (lt_connector_ops_t), filled
    with designated initializers, in the manner of curl's protocol handlers
    and nng's transports. The runtime (lt_conn_t) does the rest: options,
    the CURVE session with lthubd (HELLO, heartbeats, reconnects), the
    publish window with resend until ACCEPTED, credit, a pool of worker
    threads that call deliver(), and deduplication of redelivered messages
    by message id, so the system behind the connector sees each message
    once even when the broker restarts.

    A connector's main() is one line: return lt_conn_main(&ops, argc, argv);
*/
#ifndef LT_CONNECTOR_H_INCLUDED
#define LT_CONNECTOR_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"
#include "lt_option.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_CONNECTOR_ABI 1   //  version of lt_connector_ops_t

typedef struct _lt_conn_t lt_conn_t;

//  A message the broker hands to the connector.
typedef struct {
    uint64_t delivery;                //  delivery id (for logs)
    uint32_t attempt;                 //  1 for the first attempt
    const lt_envelope_t *envelope;    //  recipients narrowed to this connector
    const uint8_t *payload;           //  payload bytes
    size_t size;                      //  payload size
} lt_delivery_t;

//  What deliver() says happened.
typedef enum {
    LT_DELIVERY_OK = 0,      //  the destination has it: DONE
    LT_DELIVERY_RETRY = 1,   //  transient failure: RETRY (err holds the reason)
    LT_DELIVERY_FAIL = 2,    //  permanent failure: FAIL, to dead letters
} lt_delivery_result_t;

typedef struct {
    int abi;                      //  LT_CONNECTOR_ABI
    const char *name;             //  default connector name, e.g. "dms"
    const char *kind;             //  connector kind sent in HELLO
    const char *summary;          //  one line for --help
    const lt_option_t *options;   //  connector-specific options (typed, lt_option.h), or NULL

    //  Prepare the connector's state from its options; *state_p is passed
    //  to every other slot. Main thread, before the session starts; may
    //  block. Returns 0, or -1 with err filled (the program exits).
    int (*init)(lt_conn_t *conn, void **state_p, lt_err_t *err);

    //  Start serving (HTTP servers, polling threads). Main thread, after
    //  init; may block briefly. Returns 0 or -1 with err filled.
    int (*start)(void *state, lt_err_t *err);

    //  Called about once a second on the main thread for periodic work
    //  (polling a peer, expiring caches). May block for a short while. NULL
    //  when not needed.
    void (*poll)(void *state);

    //  Deliver one message to the system behind the connector. Runs on a
    //  worker thread (several at once, never two of the same lane); may
    //  block up to the peer's timeout. The delivery stays owned by the
    //  runtime. Returns OK, RETRY or FAIL (with err for the last two).
    lt_delivery_result_t (*deliver)(void *state, const lt_delivery_t *delivery, lt_err_t *err);

    //  Add connector-specific counters to a JSON object. Any thread; must
    //  not block. NULL when there are none.
    void (*stats)(void *state, json_t *out);

    //  Stop and free the state. Main thread, after the session ended and
    //  the workers stopped.
    void (*fini)(void **state_p);

    //  Optional, used instead of deliver() when set: deliver several
    //  messages at once. A worker hands over every delivery waiting for a
    //  worker, up to lt_conn_set_deliver_max (never two of the same lane,
    //  as for deliver()), and the connector writes each one's outcome in
    //  results[i] (and errs[i] for RETRY and FAIL). lt_conn_publish_for
    //  and lt_conn_publish_for_many work for any of them. Saves a thread
    //  switch per message for connectors that send several in one call.
    void (*deliver_many)(void *state, const lt_delivery_t *const *deliveries, size_t count,
                         lt_delivery_result_t *results, lt_err_t *errs);
} lt_connector_ops_t;

//  Result of a publish.
typedef struct {
    lt_error_t code;         //  LT_OK when ACCEPTED
    char msgid[40];          //  stored message id when accepted
    bool duplicate;          //  accepted as a duplicate of a stored message
    char reason[512];        //  why it was rejected
} lt_publish_result_t;

//  Completion callback of lt_conn_publish_async; runs on the session thread
//  and must not block.
typedef void(lt_publish_fn)(void *arg, const lt_publish_result_t *result);

//  Run a connector: parse options, init, start, serve until SIGTERM or
//  SIGINT, stop. Returns the process exit code.
int lt_conn_main(const lt_connector_ops_t *ops, int argc, char **argv);

//  Create a runtime without a process around it (tests, lthub-bench).
//  args are the same command-line options as the program takes.
lt_conn_t *lt_conn_new(const lt_connector_ops_t *ops, int argc, char **argv, lt_err_t *err);

//  Start the session and workers (calls init and start); -1 with err.
int lt_conn_start(lt_conn_t *self, lt_err_t *err);

//  Stop workers and session, call fini, free; safe on NULL.
void lt_conn_destroy(lt_conn_t **self_p);

//  Value of a connector or runtime option ("" when unset, never NULL).
//  Options come, last wins, from the table's defaults, the connector's
//  section of the --config file (connectors/NAME), then the command line;
//  each is checked against its declaration before init() runs, and a
//  required one left empty stops the program naming it.
const char *lt_conn_option(lt_conn_t *self, const char *name);

//  Value of a numeric (LT_OPT_INT) or yes/no (LT_OPT_BOOL, 1 for yes)
//  option, already checked against its bounds.
long long lt_conn_option_int(lt_conn_t *self, const char *name);

//  The options every connector takes (name, broker, keys, workers...).
const lt_option_t *lt_conn_runtime_options(void);

//  Most deliveries one deliver_many() call gets (default 64, at least 1).
//  From init().
void lt_conn_set_deliver_max(lt_conn_t *self, size_t max);

//  The connector's name (from --name or the table).
const char *lt_conn_name(lt_conn_t *self);

//  Publish a message and wait until the broker confirmed it on disk
//  (ACCEPTED), rejected it, or timeout_ms passed (LT_ETIMEOUT; the message
//  stays queued and is still sent, the broker deduplicates a resend). The
//  timeout also bounds the wait for room in the publish window (then
//  LT_ETIMEOUT and nothing is queued). The envelope is taken. Safe from any
//  thread.
int lt_conn_publish(lt_conn_t *self, lt_envelope_t **envelope_p, const void *payload,
                    size_t size, int timeout_ms, lt_publish_result_t *result);

//  Publish without waiting; fn is called once with the outcome. Blocks
//  while the publish window is full. The envelope is taken. Safe from any
//  thread. Returns 0, or -1 when the runtime is stopping.
int lt_conn_publish_async(lt_conn_t *self, lt_envelope_t **envelope_p, const void *payload,
                          size_t size, lt_publish_fn *fn, void *arg);

//  Publish several messages without waiting, handed to the session thread
//  together (one wake), so that they reach the broker together; fn is
//  called once per message, with args[i]. Blocks while the publish window
//  is full. The envelopes are taken (each set to NULL). Safe from any
//  thread. Returns how many were queued, in order: count, or fewer when
//  the runtime is stopping (the others are destroyed, their fn not called).
size_t lt_conn_publish_async_many(lt_conn_t *self, lt_envelope_t **envelopes,
                                  const void *const *payloads, const size_t *sizes, size_t count,
                                  lt_publish_fn *fn, void *const *args);

//  From deliver() only, for the delivery it handles: publish a message that
//  the delivery's answer waits for. The broker is answered DONE only once
//  it ACCEPTED this message (a transient rejection is resent, as for any
//  publish); when it rejects it, the delivery is answered RETRY with the
//  reason instead. deliver() returns at once, so the worker is free while
//  the broker writes the message. fn (may be NULL) is called once with the
//  outcome before the answer. Blocks while the publish window is full. The
//  envelope is taken. Returns 0, or -1 when the runtime is stopping.
int lt_conn_publish_for(lt_conn_t *self, const lt_delivery_t *delivery,
                        lt_envelope_t **envelope_p, const void *payload, size_t size,
                        lt_publish_fn *fn, void *arg);

//  The same for several deliveries in progress at once (deliver() of each
//  has not returned yet, e.g. deliveries one worker sends in one call):
//  one message that every one of their answers waits for. Each is answered
//  DONE once the broker ACCEPTED it, or RETRY with the broker's reason when
//  it rejects it. fn is called once. Returns 0, or -1 when stopping.
int lt_conn_publish_for_many(lt_conn_t *self, const lt_delivery_t *const *deliveries,
                             size_t count, lt_envelope_t **envelope_p, const void *payload,
                             size_t size, lt_publish_fn *fn, void *arg);

//  True while a session with the broker is established.
bool lt_conn_connected(lt_conn_t *self);

//  Runtime counters and the connector's own, as a JSON object the caller
//  decrefs.
json_t *lt_conn_stats(lt_conn_t *self);

//  Self-test of this class (needs a broker: see tests/test_relay.sh).
void lt_connector_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
