/*  lt_broker_int: state shared by the files of the broker actor
    (lt_broker.c: sessions and the round loop; lt_broker_deliver.c:
    dispatch, retries and lanes; lt_broker_admin.c: admin requests).
    Nothing outside broker/lt_broker*.c includes this. */
#ifndef LT_BROKER_INT_H_INCLUDED
#define LT_BROKER_INT_H_INCLUDED

#include "lt_broker.h"
#include "lt_ltp.h"
#include "lt_metrics.h"
#include "lt_store.h"

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _s_dest_t dest_t;

//  A session's key: its full routing id in hex (ZeroMQ allows 255 bytes).
#define LT_BROKER_KEY_SIZE 512

//  The most deliveries a session may hold at once, whatever HELLO and
//  CREDIT ask: what the connector runtime's 'credit' option allows. Credit
//  saturates there rather than wrap.
#define LT_BROKER_CREDIT_MAX 100000

//  Store look-ups one frame's stale DONEs may cost (section 7 of
//  schemas/ltp.md): past them, a stale id is left alone (the delivery goes
//  again, and the connector answers DONE at once).
#define LT_BROKER_STALE_LOOKUPS 4096

//  Counters of one connector (STYLE.md: one struct, one renderer).
typedef struct {
    uint64_t published;    //  PUBLISH received
    uint64_t accepted;     //  ACCEPTED sent (new messages)
    uint64_t duplicates;   //  ACCEPTED sent for a known dedup key
    uint64_t rejected;     //  REJECTED sent
    uint64_t delivered;    //  DELIVER sent
    uint64_t done;         //  DONE received
    uint64_t retried;      //  RETRY received
    uint64_t failed;       //  FAIL received or budget spent (to dead letters)
    uint64_t bytes_in;     //  payload bytes published
    uint64_t bytes_out;    //  payload bytes delivered
    uint64_t sessions;     //  sessions opened
    uint64_t expired;      //  sessions lost to silence
    uint64_t timeouts;     //  deliveries not answered within delivery/answer_timeout
    uint64_t identity;     //  commands refused: not from the identity that said HELLO
    uint64_t errors;       //  ERROR sent (protocol or state errors)
    uint64_t lost;         //  sessions ended because a send to them failed (queue full, gone)
} lt_conn_stats_t;

//  One connected connector.
typedef struct {
    zframe_t *routing_id;   //  ROUTER routing id
    char key[LT_BROKER_KEY_SIZE];   //  routing id as hex, the sessions table key
    char name[64];          //  authenticated connector name
    char kind[32];          //  kind from HELLO
    uint32_t credit;        //  deliveries it can still take
    int64_t last_recv;      //  monotonic ms of last message from it
    int64_t last_send;      //  monotonic ms of last message to it
    int64_t started;        //  Unix ms when HELLO was accepted
    dest_t *dest;           //  its destination state
    bool batch;             //  takes ACCEPTED with further 'acks' (HELLO 'batch')
    lt_ltp_t *acks;         //  the ACCEPTED being filled while answers go out, or NULL
    lt_ltp_t *out;          //  BATCH of the messages to send at the end of the round, or NULL
    bool lost;              //  a send failed: nothing more goes to it, ended at the round's end
} session_t;

//  One delivery handed to a session and not yet answered.
typedef struct {
    uint64_t delivery;      //  delivery id
    uint32_t attempt;       //  attempt number sent (1 = first)
    int64_t created_at;     //  Unix ms when queued (for the age budget)
    int64_t sent_at;        //  monotonic ms when sent
    uint64_t lane_key;      //  its lane, as its row had it (lt_store_done_in_lane)
} inflight_t;

//  Per destination connector: survives its sessions.
struct _s_dest_t {
    char name[64];          //  connector name
    session_t *session;     //  live session, or NULL
    zhashx_t *inflight;     //  delivery id text -> inflight_t
    uint64_t cursor;        //  highest READY delivery id handed out by scans
    uint64_t *again;        //  delivery ids to look at again (lane successors,
    size_t again_size;      //  deliveries of a lost session), a small stack
    size_t again_alloc;     //  slots allocated
    bool scan_ready;        //  READY deliveries may be waiting beyond cursor
    int64_t due_check_at;   //  Unix ms of the next scan for due retries
    lt_conn_stats_t stats;  //  counters
    int64_t down_since;     //  Unix ms its last session ended (0 = none yet)
    json_t *own;            //  the connector's own counters (LTP PING/PONG stats), or NULL
    int64_t own_at;         //  Unix ms they arrived
    uint64_t bad[16];       //  deliveries whose payload could not be read by a scan
    char *bad_why[16];      //  why, for their dead letters
    size_t bad_size;        //  entries used
};

//  A reply owed once the current batch is committed and on disk.
typedef struct {
    uint64_t gen;           //  the store commit it waits for (0: the open batch's)
    zframe_t *routing_id;   //  to whom
    lt_ltp_id_t id;         //  ACCEPTED or REJECTED
    uint64_t seq;           //  publisher's sequence number
    char msgid[40];         //  stored message id
    bool duplicate;         //  known dedup key
    lt_error_t code;        //  rejection code
    char reason[512];       //  rejection reason
    int64_t read_us;        //  monotonic µs when the relay read the PUBLISH
} reply_t;

//  Broker-wide counters.
typedef struct {
    uint64_t commits;       //  group commits
    uint64_t committed;     //  writes (publishes and acks) committed
    uint64_t commit_us;     //  total time in commits
    uint64_t commit_max_us; //  slowest commit
    uint64_t bad_frames;    //  undecodable LTP messages
    uint64_t refused;       //  HELLOs refused
    uint64_t errors_dropped;    //  ERRORs not sent: over the rate allowed to one routing id
    uint64_t stale_skipped; //  stale DONE ids left alone: over a frame's look-ups
    uint64_t store_errors;  //  failed commits
    uint64_t lazy_commits;  //  commits that owed nothing, synced with a later one
    lt_histo_t commit_seconds;  //  duration of each group commit
    lt_histo_t commit_writes;   //  writes in each group commit
    lt_histo_t confirm_seconds; //  PUBLISH read to its answer sent
} lt_broker_stats_t;

//  Retention timer state (lt_broker_retain.c).
typedef struct {
    uint64_t steps;         //  prune steps run
    uint64_t pass_pruned;   //  messages pruned by the current pass
    uint64_t reclaimed;     //  pages given back to the file system
    uint64_t errors;        //  prune or reclaim steps that failed
    int64_t idle_ms;        //  wait between passes (grows while they find nothing)
    int64_t step_us_max;    //  longest prune step, commit included
} lt_retain_stats_t;

typedef struct {
    zsock_t *pipe;          //  actor pipe
    zsock_t *router;        //  LTP socket
    zsock_t *admin;         //  inproc admin ROUTER
    zactor_t *zap;          //  ZAP handler
    lt_config_t *config;    //  current config (owned)
    lt_store_t *store;      //  durable store
    zhashx_t *sessions;     //  routing id hex -> session_t
    zhashx_t *error_limits; //  routing id hex -> ERRORs sent to it in the current second
    size_t lost_sessions;   //  sessions marked lost, to end at the round's end
    uint32_t stale_lookups; //  store look-ups left for stale DONEs in the frame being read
    zhashx_t *dests;        //  name -> dest_t
    reply_t *replies;       //  replies owed after the commit, oldest first
    size_t reply_count;     //  replies in use
    uint64_t durable_gen;   //  store commits known on disk
    uint64_t durable_top;   //  highest delivery id on disk: none above it is delivered
    uint64_t sync_asked;    //  the last commit a sync was asked for
    uint64_t lazy_gen;      //  a commit that owed nothing, its sync left for later
    int64_t lazy_due;       //  monotonic ms by which that sync is asked for
    size_t reply_alloc;     //  replies allocated
    bool in_batch;          //  store batch open
    size_t batch_writes;    //  writes in the open batch
    size_t last_batch_writes;   //  writes in the last group committed
    size_t batch_bytes;     //  payload bytes in the open batch
    bool terminated;        //  $TERM received
    bool store_full;        //  the last commit failed on a full disk
    int64_t next_unhold;    //  Unix ms of the next look for expired holds
    int64_t next_full_dispatch;   //  monotonic ms: dispatch while the disk is full
    int64_t started;        //  Unix ms at start
    char endpoint[256];     //  bound LTP endpoint
    lt_broker_stats_t stats;   //  counters
    json_t *stuck;          //  the ledger's stuck-item alerts, as last computed
    int64_t stuck_at;       //  Unix ms they were computed (lt_broker_ops.c)
    int64_t next_prune;     //  monotonic ms of the next prune step
    int64_t next_reclaim;   //  monotonic ms of the next page reclaim
    lt_retain_stats_t retain;   //  retention counters
} broker_t;

//  lt_broker.c
dest_t *lt_broker_dest(broker_t *self, const char *name);
void lt_broker_send(broker_t *self, session_t *session, lt_ltp_t **msg_p);
int lt_broker_batch_open(broker_t *self);
//  Validate, check, route and store one message in the open batch: 0 when
//  stored (or a duplicate), -1 when refused for good, -2 on a transient
//  store failure; err says why.
int lt_broker_publish(broker_t *self, const char *source, lt_envelope_t *env,
                      const void *payload, size_t size, char msgid[40], bool *duplicate,
                      lt_err_t *err);
//  Commit the open batch and send the replies it owes; false when the
//  commit failed (nothing of the batch was kept).
bool lt_broker_commit(broker_t *self);
//  Wait until every commit is on disk and send what waited for it (an
//  operator's answer is given only then); -1 when the sync failed (the
//  broker is stopping).
int lt_broker_sync(broker_t *self);

//  Send every session's gathered messages (lt_broker_send) now.
void lt_broker_flush(broker_t *self);

//  lt_broker_deliver.c
void lt_broker_dispatch(broker_t *self, dest_t *dest);
void lt_broker_on_done(broker_t *self, session_t *session, lt_ltp_t *msg);
void lt_broker_on_retry(broker_t *self, session_t *session, lt_ltp_t *msg, bool fail);
void lt_broker_requeue(broker_t *self, dest_t *dest, const char *why);
//  Requeue (with backoff) every in-flight delivery past its answer deadline.
void lt_broker_expire_inflight(broker_t *self);
//  Let follow-ups whose hold ended go (logged).
void lt_broker_release_holds(broker_t *self);
//  A delivery of dest_name left its lane for good: let its successor go.
void lt_broker_lane_free(broker_t *self, const char *dest_name, uint64_t delivery);
void lt_broker_again(dest_t *dest, uint64_t delivery);
void lt_dest_destroy(dest_t **dest_p);

//  lt_broker_admin.c
void lt_broker_admin_handle(broker_t *self);

//  lt_broker_ops.c: figures and alerts for operators
//  Record one group commit in the histograms.
void lt_broker_ops_commit(broker_t *self, uint64_t took_us, size_t writes);
//  Record the time from a PUBLISH read to its answer sent.
void lt_broker_ops_confirm(broker_t *self, uint64_t took_us);
//  The commit and confirm histograms as JSON (lt_histo_json each).
json_t *lt_broker_ops_histograms(broker_t *self);
//  Active alerts per kind; conns: the stats reply's connectors, or NULL.
json_t *lt_broker_ops_alert_counts(broker_t *self, json_t *conns);
//  Answer the operators' admin ops (alerts, show, discard, trace_key);
//  NULL when op is none of them.
json_t *lt_broker_ops_answer(broker_t *self, const char *op, json_t *request);

//  lt_broker_retain.c: retention
//  Run a prune step and a page reclaim when they are due (between rounds);
//  busy: the round had traffic, so the step is kept shorter.
void lt_broker_retain(broker_t *self, bool busy);
//  Add the retention figures to the stats' store object.
void lt_broker_retain_stats(broker_t *self, json_t *store);

#endif
