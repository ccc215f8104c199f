/*  lt_connector: the connector runtime.

    Threads:
      - the main thread runs init/start/poll/fini and waits for a signal;
      - the session thread (a czmq actor) owns the DEALER socket: HELLO,
        heartbeats, reconnects, PUBLISH with resend until answered, DELIVER
        handed to the work queue, answers sent back;
      - worker threads call ops->deliver() and queue the outcome.
    Application threads publish through a mutex-protected queue and wake the
    session thread with an eventfd; workers wake it the same way.

    Redelivery: the broker may deliver a message again (after it restarted
    or a session was lost). The runtime remembers the ids of messages it
    delivered (a bounded FIFO set) and of those in progress, and answers a
    repeat without calling deliver() again.

    Options: typed tables (lt_option.h; the runtime's in connectors/catalog),
    read from the defaults, the connectors/NAME section of --config FILE
    (lthubd's config) and the command line, each checked before init().
    Counters: the connector's stats slot goes to the broker on a PING every
    S_STATS_EVERY_MS and on every PONG (LTP field `stats`).
*/
#include "lt_connector.h"
#include "lt_catalog.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_malloc.h"
#include "lt_ltp.h"
#include "lt_seen.h"
#include "lt_zpl.h"

#include <assert.h>
#include <errno.h>
#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define S_SEEN_MAX 65536   //  message ids remembered as delivered
//  A delivered payload from this size stays in the frame it arrived in
//  until deliver() returns; a smaller one is copied out, so that it does
//  not hold a BATCH's whole frame (the broker sends larger ones alone).
#define S_KEEP_FRAME_MIN (64 * 1024)
#define S_STATS_EVERY_MS 5000   //  the connector's own counters go to the broker this often
//  Entries of answered publishes kept for the next ones (their payload room
//  up to S_SPARE_ROOM): a 1 KiB payload's entry is a "large" request to
//  malloc, which merged all its small free blocks at every publish. As many
//  as a full window can hold, answers coming back in batches; their room
//  together at most S_SPARE_BYTES.
#define S_SPARE_MAX   4096
#define S_SPARE_ROOM  (64 * 1024)
#define S_SPARE_BYTES (8 * 1024 * 1024)

//  One message waiting for its ACCEPTED.
typedef struct {
    uint64_t seq;              //  sequence number, 0 until queued on the session
    lt_envelope_t *envelope;   //  owned
    uint8_t *payload;          //  a copy, in the same allocation as the entry
    size_t size;               //  payload bytes
    size_t room;               //  payload bytes the allocation holds
    uint64_t gathered;         //  the session's out_round its PUBLISH waits in, 0: none
    lt_publish_fn *fn;         //  completion callback
    void *arg;                 //  its argument
    int64_t resend_at;         //  monotonic ms to resend after a transient rejection
    void *handle;              //  position in the pending list
    char (*owners)[112];       //  keys of the deliveries whose answers wait for it
    size_t owner_count;        //  how many (0: none)
} pending_t;

//  One delivery for the workers.
typedef struct {
    uint64_t delivery;         //  delivery id
    uint32_t attempt;          //  attempt number
    lt_envelope_t *envelope;   //  owned
    lt_ltp_t *msg;             //  the DELIVER holding a large payload, or NULL
    uint8_t *copy;             //  a smaller payload copied out, or NULL
    const uint8_t *payload;    //  the payload bytes, in one of those
    size_t size;               //  bytes
} work_t;

//  The outcome of one delivery.
typedef struct {
    char msgid[112];             //  message key (s_message_key)
    lt_delivery_result_t result; //  OK, RETRY or FAIL
    char reason[512];            //  for RETRY and FAIL
} result_t;

//  A message being delivered, with any repeats that arrived meanwhile, and
//  the publishes its answer waits for (lt_conn_publish_for).
typedef struct {
    uint64_t deliveries[16];   //  delivery ids to answer (first is the original)
    size_t count;              //  ids in use
    size_t attached;           //  publishes of this delivery not yet answered
    bool parked;               //  deliver() returned: result waits for attached
    lt_delivery_result_t result;   //  deliver()'s outcome, when parked
    char reason[512];          //  its reason, or why an attached publish failed
    bool attach_failed;        //  the broker rejected an attached publish
} inprog_t;

typedef struct {
    uint64_t published, accepted, duplicates, rejected, resent;   //  publish side
    uint64_t delivered, done, retried, failed, repeats;           //  delivery side
    uint64_t sessions, lost;                                      //  session
} s_stats_t;

struct _lt_conn_t {
    const lt_connector_ops_t *ops;   //  the connector
    void *state;                     //  its state
    zhash_t *options;                //  option name -> value
    char name[64];                   //  connector name
    zactor_t *session;               //  session thread
    int wake_fd;                     //  eventfd waking the session thread
    pthread_mutex_t lock;            //  guards everything below
    pthread_cond_t window_cond;      //  publish window has room
    pthread_cond_t work_cond;        //  work queued or stopping
    zlistx_t *to_send;               //  pending_t queued by publishers
    zlistx_t *work;                  //  work_t for workers
    zlistx_t *results;               //  result_t from workers
    size_t outstanding;              //  publishes not yet answered
    size_t window;                   //  most publishes outstanding
    size_t outstanding_bytes;        //  payload bytes of those
    size_t window_bytes;             //  most payload bytes outstanding
    bool stopping;                   //  shutting down
    bool connected;                  //  session established
    pthread_t *workers;              //  worker threads
    int worker_count;                //  how many
    size_t deliver_max;              //  most deliveries per deliver_many()
    bool started;                    //  lt_conn_start succeeded
    void *spare[S_SPARE_MAX];        //  pending_t of answered publishes, for reuse
    size_t spare_count;              //  how many
    size_t spare_bytes;              //  their payload room together
    s_stats_t stats;                 //  counters
};

#define s_runtime_options lt_catalog_runtime_options   //  connectors/catalog

const lt_option_t *lt_conn_runtime_options(void)
{
    return s_runtime_options;
}

//  ---------------------------------------------------------------------------
//  Options

static void s_usage(const lt_connector_ops_t *ops, FILE *out)
{
    fprintf(out, "%s: %s\n\nusage: lthub-%s [--option value]...\n\nruntime options:\n",
            ops->name, ops->summary ? ops->summary : "", ops->name);
    lt_option_print(out, s_runtime_options, "--", 2);
    if (ops->options) {
        fprintf(out, "\n%s options (also `name = \"value\"` under connectors/NAME in --config):\n",
                ops->name);
        lt_option_print(out, ops->options, "--", 2);
    }
}

//  Find an option declaration by name in the runtime's or the connector's table.
static const lt_option_t *s_option(const lt_connector_ops_t *ops, const char *name)
{
    const lt_option_t *o = lt_option_find(s_runtime_options, name);
    return o ? o : lt_option_find(ops->options, name);
}

//  Set an option after checking it against its declaration; where names
//  where the value came from for the message. -1 with err filled.
static int s_set(lt_conn_t *self, const lt_option_t *o, const char *value, const char *where,
                 lt_err_t *err)
{
    char why[400];
    if (lt_option_check(o, value, why, sizeof(why)))
        return lt_err_set(err, LT_ECONFIG, "%s %s", where, why), -1;
    zhash_update(self->options, o->name, (void *) value);
    return 0;
}

//  The broker endpoint a connector on this machine uses for lthubd's
//  broker/endpoint: a wildcard bind address becomes loopback.
static void s_connect_endpoint(const char *bind, char *out, size_t size)
{
    const char *host = strncmp(bind, "tcp://", 6) == 0 ? bind + 6 : NULL;
    const char *colon = host ? strrchr(host, ':') : NULL;
    if (host && colon && (strncmp(host, "*:", 2) == 0 || strncmp(host, "0.0.0.0:", 8) == 0))
        snprintf(out, size, "tcp://127.0.0.1%s", colon);
    else
        snprintf(out, size, "%s", bind);
}

//  Read the connector's section of lthubd's config file (connectors/NAME),
//  and the broker's endpoint and keys when the command line gives none.
static int s_load_config(lt_conn_t *self, const char *path, const char *name, lt_err_t *err)
{
    int line = 0;
    lt_zpl_t *zpl = lt_zpl_load(path, &line, err);
    if (!zpl) {
        char why[sizeof(err->detail)];
        snprintf(why, sizeof(why), "%s", err->detail);
        return lt_err_set(err, LT_ECONFIG, "%s:%d: %s", path, line, why), -1;
    }
    zconfig_t *root = lt_zpl_root(zpl);
    //  Broker endpoint and keys from the broker's own settings.
    const char *endpoint = zconfig_get(root, "broker/endpoint", NULL);
    char text[1100];
    if (endpoint) {
        s_connect_endpoint(endpoint, text, sizeof(text));
        zhash_update(self->options, "broker", text);
    }
    const char *keys = zconfig_get(root, "broker/keys", "");
    const char *data = zconfig_get(root, "broker/data", "");
    if (*keys)
        zhash_update(self->options, "keys", (void *) keys);
    else if (*data) {
        snprintf(text, sizeof(text), "%s/keys", data);
        zhash_update(self->options, "keys", text);
    }
    char at[64];
    snprintf(at, sizeof(at), "connectors/%s", name);
    zconfig_t *section = zconfig_locate(root, at);
    int rc = 0;
    if (!section) {
        lt_err_set(err, LT_ECONFIG, "%s: no section connectors/%s (the --name of this "
                   "connector)", path, name);
        rc = -1;
    }
    for (zconfig_t *item = section ? zconfig_child(section) : NULL; item && rc == 0;
         item = zconfig_next(item)) {
        const char *key = zconfig_name(item);
        if (streq(key, "program") || streq(key, "args") || streq(key, "restart"))
            continue;   //  lthubd's: how to start this program
        char where[700];
        snprintf(where, sizeof(where), "%s:%d: connectors/%s/%s", path, lt_zpl_line(zpl, item),
                 name, key);
        const lt_option_t *o = s_option(self->ops, key);
        if (!o || streq(key, "config") || streq(key, "name")) {
            lt_err_set(err, LT_ECONFIG, "%s is not an option of lthub-%s (see --help)", where,
                       self->ops->name);
            rc = -1;
        }
        else
            rc = s_set(self, o, zconfig_value(item), where, err);
    }
    lt_zpl_destroy(&zpl);
    return rc;
}

//  Parse --name value and --name=value pairs into self->options, after the
//  defaults and the --config section.
static int s_parse(lt_conn_t *self, int argc, char **argv, lt_err_t *err)
{
    for (const lt_option_t *o = s_runtime_options; o->name; o++)
        zhash_update(self->options, o->name, (void *) o->fallback);
    for (const lt_option_t *o = self->ops->options; o && o->name; o++)
        zhash_update(self->options, o->name, (void *) o->fallback);
    //  Two passes: --config and --name first, so that the file's section
    //  comes before every other option of the command line.
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < argc; i++) {
            const char *arg = argv[i];
            if (strncmp(arg, "--", 2) != 0)
                return lt_err_set(err, LT_ECONFIG, "unexpected argument '%s'", arg), -1;
            char name[64];
            const char *value = NULL;
            const char *eq = strchr(arg, '=');
            if (eq) {
                snprintf(name, sizeof(name), "%.*s", (int) (eq - arg - 2), arg + 2);
                value = eq + 1;
            }
            else {
                snprintf(name, sizeof(name), "%s", arg + 2);
                if (i + 1 >= argc)
                    return lt_err_set(err, LT_ECONFIG, "option --%s needs a value", name), -1;
                value = argv[++i];
            }
            const lt_option_t *o = s_option(self->ops, name);
            if (!o)
                return lt_err_set(err, LT_ECONFIG, "unknown option --%s (see --help)", name),
                       -1;
            bool early = streq(name, "config") || streq(name, "name");
            char where[80];
            snprintf(where, sizeof(where), "--%s", name);
            if (early == (pass == 0) && s_set(self, o, value, where, err))
                return -1;
        }
        const char *config = lt_conn_option(self, "config");
        if (pass == 0 && *config) {
            const char *name = lt_conn_option(self, "name");
            char *copy = strdup(*name ? name : self->ops->name);
            int rc = copy ? s_load_config(self, config, copy, err) : -1;
            free(copy);
            if (rc)
                return -1;
        }
    }
    return 0;
}

const char *lt_conn_option(lt_conn_t *self, const char *name)
{
    assert(self);
    const char *value = zhash_lookup(self->options, name);
    return value ? value : "";
}

long long lt_conn_option_int(lt_conn_t *self, const char *name)
{
    return lt_option_number(lt_conn_option(self, name));
}

void lt_conn_set_deliver_max(lt_conn_t *self, size_t max)
{
    assert(self && !self->started);
    self->deliver_max = max > 0 ? max : 1;
}

const char *lt_conn_name(lt_conn_t *self)
{
    assert(self);
    return self->name;
}

//  Refuse to start when a required option of the connector is empty.
static int s_required(lt_conn_t *self, lt_err_t *err)
{
    for (const lt_option_t *o = self->ops->options; o && o->name; o++)
        if (lt_option_missing(o, lt_conn_option(self, o->name)))
            return lt_err_set(err, LT_ECONFIG, "--%s is required (see --help)", o->name), -1;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Session thread

typedef struct {
    lt_conn_t *conn;          //  the runtime
    zsock_t *pipe;            //  actor pipe
    zsock_t *dealer;          //  LTP socket, recreated after a loss
    zcert_t *cert;            //  own certificate
    char broker_key[41];      //  broker public key (Z85)
    zlistx_t *pending;        //  pending_t in seq order
    zhashx_t *by_seq;         //  &pending_t.seq -> pending_t
    uint64_t next_seq;        //  next sequence number
    bool ready;               //  WELCOME received
    int64_t hello_at;         //  monotonic ms of the last HELLO
    int64_t last_recv;        //  monotonic ms of the last message received
    int64_t last_send;        //  monotonic ms of the last message sent
    int64_t hello_backoff;    //  ms to wait before another HELLO
    int heartbeat;            //  ms, from WELCOME
    int64_t stats_at;         //  monotonic ms of the last counters sent
    int64_t resend_next;      //  earliest resend_at of a pending entry, 0: none
    bool stats_too_long;      //  the counters did not fit a PING (logged once)
    lt_seen_t *seen;          //  message keys of the last S_SEEN_MAX delivered messages
    zlistx_t *arrived;        //  work_t read in this round, for the workers (s_hand_over)
    zhashx_t *inprog;         //  message key -> inprog_t
    uint32_t credit;          //  credit offered in HELLO
    bool batch;               //  the broker takes DONE with further 'deliveries' (WELCOME)
    lt_ltp_t *done;           //  the DONE being filled this round, or NULL (s_flush_done)
    lt_ltp_t *out;            //  BATCH of this round's messages to the broker, or NULL
    uint64_t out_round;       //  counts the times out was sent or dropped, from 1
} session_t;

static void s_send_now(session_t *s, lt_ltp_t **msg_p)
{
    if (lt_ltp_send(msg_p, zsock_resolve(s->dealer)) == 0)
        s->last_send = zclock_mono();
}

//  Send what this round gathered: one message alone, more as one BATCH.
static void s_flush_out(session_t *s)
{
    lt_ltp_t *msg = lt_ltp_gathered(&s->out);
    if (msg) {
        s->out_round++;
        s_send_now(s, &msg);
    }
}

//  Drop what this round gathered, unsent.
static void s_drop_out(session_t *s)
{
    if (s->out) {
        s->out_round++;
        lt_ltp_destroy(&s->out);
    }
}

//  To a broker that said 'batch', the round's messages go as one BATCH
//  at its end (s_flush_out), or once they are many; in the order given.
static void s_send(session_t *s, lt_ltp_t **msg_p)
{
    int gathered = s->batch ? lt_ltp_gather(&s->out, msg_p) : -1;
    if (gathered != 0)
        s_flush_out(s);   //  full, or what came before *msg_p
    if (gathered < 0)
        s_send_now(s, msg_p);
}

//  Create (or recreate) the DEALER socket and say HELLO.
static void s_hello(session_t *s, bool new_socket)
{
    lt_conn_t *conn = s->conn;
    if (new_socket || !s->dealer) {
        zsock_destroy(&s->dealer);
        s->dealer = zsock_new(ZMQ_DEALER);
        assert(s->dealer);
        zsock_set_linger(s->dealer, 0);
        zsock_set_sndhwm(s->dealer, 100000);
        zcert_apply(s->cert, s->dealer);
        zsock_set_curve_serverkey(s->dealer, s->broker_key);
        zsock_set_sndtimeo(s->dealer, 0);
        if (zsock_connect(s->dealer, "%s", lt_conn_option(conn, "broker")) < 0)
            lt_log_error("event=connect_failed broker=%s reason=\"%s\"",
                         lt_conn_option(conn, "broker"), zmq_strerror(zmq_errno()));
    }
    s->ready = false;
    s->batch = false;
    //  DONEs and messages not yet sent belong to the lost session: the
    //  broker puts its deliveries back in the queue, their repeats are
    //  answered again, and every unanswered publish is sent after WELCOME.
    lt_ltp_destroy(&s->done);
    s_drop_out(s);
    pthread_mutex_lock(&conn->lock);
    conn->connected = false;
    pthread_mutex_unlock(&conn->lock);
    lt_ltp_t *hello = lt_ltp_new(LT_LTP_HELLO);
    lt_ltp_set_version(hello, LT_LTP_VERSION);
    lt_ltp_set_batch(hello, true);   //  takes ACCEPTED with further 'acks', and BATCH
    lt_ltp_set_name(hello, conn->name);
    lt_ltp_set_kind(hello, conn->ops->kind ? conn->ops->kind : conn->ops->name);
    lt_ltp_set_credit(hello, s->credit);
    s_send(s, &hello);
    s->hello_at = zclock_mono();
    s->last_recv = s->hello_at;
}

//  Send PUBLISH for one pending message. The message borrows the entry's
//  envelope and payload (no copy): the entry outlives it, since an entry
//  whose PUBLISH still waits in the round's BATCH sends that BATCH before
//  it is freed (s_complete).
static void s_publish(session_t *s, pending_t *p)
{
    lt_ltp_t *msg = lt_ltp_new(LT_LTP_PUBLISH);
    assert(msg);
    lt_ltp_set_seq(msg, p->seq);
    lt_ltp_borrow(msg, p->envelope, p->payload, p->size);
    s_send(s, &msg);
    p->gathered = s->out ? s->out_round : 0;
    p->resend_at = 0;
}

static void s_settle(session_t *s, const char *msgid, inprog_t *in);

//  Finish a pending publish: call back and free; a delivery whose answer
//  waited for it is answered once nothing else holds it.
static void s_complete(session_t *s, pending_t *p, const lt_publish_result_t *result)
{
    lt_conn_t *conn = s->conn;
    if (p->gathered && p->gathered == s->out_round)
        s_flush_out(s);   //  its PUBLISH borrows from it (s_publish)
    zhashx_delete(s->by_seq, &p->seq);
    zlistx_delete(s->pending, p->handle);
    if (p->fn)
        p->fn(p->arg, result);
    for (size_t i = 0; i < p->owner_count; i++) {
        inprog_t *in = p->owners[i][0] ? zhashx_lookup(s->inprog, p->owners[i]) : NULL;
        if (!in || in->attached == 0)
            continue;
        in->attached--;
        if (result->code != LT_OK && !in->attach_failed) {
            in->attach_failed = true;
            snprintf(in->reason, sizeof(in->reason),
                     "the broker did not accept a message this delivery published: %s: %.400s",
                     lt_error_name(result->code), result->reason);
        }
        if (in->attached == 0 && in->parked)
            s_settle(s, p->owners[i], in);
    }
    size_t size = p->size;
    lt_envelope_destroy(&p->envelope);
    free(p->owners);
    p->owners = NULL;
    bool kept = false;
    pthread_mutex_lock(&conn->lock);
    if (p->room <= S_SPARE_ROOM && conn->spare_count < S_SPARE_MAX &&
        conn->spare_bytes + p->room <= S_SPARE_BYTES) {
        conn->spare[conn->spare_count++] = p;
        conn->spare_bytes += p->room;
        kept = true;
    }
    conn->outstanding--;
    conn->outstanding_bytes -= size;
    if (result->code == LT_OK)
        result->duplicate ? conn->stats.duplicates++ : conn->stats.accepted++;
    else
        conn->stats.rejected++;
    pthread_cond_broadcast(&conn->window_cond);
    pthread_mutex_unlock(&conn->lock);
    if (!kept)
        free(p);
}

//  Send the DONE this round's successes were gathered into, if any.
static void s_flush_done(session_t *s)
{
    if (s->done)
        s_send(s, &s->done);
}

//  Answer one delivery id with an outcome. A broker that takes batched
//  acknowledgements gets the round's DONEs as one (s_flush_done).
static void s_answer(session_t *s, uint64_t delivery, lt_delivery_result_t result,
                     const char *reason)
{
    if (result == LT_DELIVERY_OK && s->done && lt_ltp_add_delivery(s->done, delivery) == 0)
        return;
    s_flush_done(s);
    lt_ltp_t *msg = lt_ltp_new(result == LT_DELIVERY_OK      ? LT_LTP_DONE
                               : result == LT_DELIVERY_RETRY ? LT_LTP_RETRY
                                                             : LT_LTP_FAIL);
    lt_ltp_set_delivery(msg, delivery);
    if (result != LT_DELIVERY_OK)
        lt_ltp_set_reason(msg, reason && *reason ? reason : "no reason given");
    if (result == LT_DELIVERY_OK && s->batch)
        s->done = msg;
    else
        s_send(s, &msg);
}

//  Remember a message id as delivered (the oldest forgotten past
//  S_SEEN_MAX). The set's memory is fixed at start: a hash table that grew
//  with it stopped the session for 8–35 ms at each doubling.
static void s_remember(session_t *s, const char *msgid)
{
    lt_seen_add(s->seen, msgid);
}

//  Copy text into out (size bytes, at least 1), cut to fit: what
//  snprintf(out, size, "%s", text) gives, without its formatting work on a
//  path that runs several times a message.
static void s_copy(char *out, size_t size, const char *text)
{
    size_t length = strnlen(text, size - 1);
    memcpy(out, text, length);
    out[length] = 0;
}

//  The key a delivered message is remembered by: its id and its payload
//  digest, so that two different messages under one id (an id the broker
//  did not assign) are never merged into one.
static void s_message_key(const lt_envelope_t *env, char key[112])
{
    //  "%.40s/%.64s" of the id and the digest
    const char *id = lt_envelope_id(env), *sha = lt_envelope_sha256(env);
    size_t id_length = strnlen(id, 40), sha_length = strnlen(sha, 64);
    memcpy(key, id, id_length);
    key[id_length] = '/';
    memcpy(key + id_length + 1, sha, sha_length);
    key[id_length + 1 + sha_length] = 0;
}

//  DELIVER: hand to workers unless seen or already in progress; a message
//  whose payload stays in its frame is taken (*msg_p becomes NULL).
static void s_on_deliver(session_t *s, lt_ltp_t **msg_p)
{
    lt_ltp_t *msg = *msg_p;
    lt_conn_t *conn = s->conn;
    char msgid[112];
    s_message_key(lt_ltp_envelope(msg), msgid);
    uint64_t delivery = lt_ltp_delivery(msg);
    if (lt_seen_contains(s->seen, msgid)) {
        conn->stats.repeats++;
        s_answer(s, delivery, LT_DELIVERY_OK, NULL);
        return;
    }
    inprog_t *in = zhashx_lookup(s->inprog, msgid);
    if (in) {
        conn->stats.repeats++;
        if (in->count < 16)
            in->deliveries[in->count++] = delivery;
        return;
    }
    in = calloc(1, sizeof(*in));
    assert(in);
    in->deliveries[in->count++] = delivery;
    zhashx_insert(s->inprog, msgid, in);
    work_t *work = calloc(1, sizeof(*work));
    assert(work);
    work->delivery = delivery;
    work->attempt = lt_ltp_attempt(msg);
    work->envelope = lt_ltp_take_envelope(msg);
    work->size = lt_ltp_payload_size(msg);
    if (work->size >= S_KEEP_FRAME_MIN) {
        work->payload = lt_ltp_payload(msg);
        work->msg = msg;
        *msg_p = NULL;
    }
    else {
        work->copy = lt_ltp_take_payload(msg, &work->size);
        assert(work->copy || work->size == 0);
        work->payload = work->copy;
    }
    zlistx_add_end(s->arrived, work);   //  handed over with the round (s_hand_over)
}

//  Hand the deliveries read in one round to the workers at once, under
//  one lock. deliver_many(): one wake for the round (the woken worker
//  takes them all up to its most, and wakes another if it leaves some),
//  so that deliveries that arrive together go to DVCQG in one call.
//  deliver(): as many wakes as there are deliveries, up to the workers
//  (a worker takes the next one itself when it is done with one; a wake
//  with nobody waiting costs nothing), where one lock and one wake a
//  delivery cost the session thread a twentieth of its time.
static void s_hand_over(session_t *s)
{
    lt_conn_t *conn = s->conn;
    size_t count = zlistx_size(s->arrived);
    if (count == 0)
        return;
    pthread_mutex_lock(&conn->lock);
    conn->stats.delivered += count;
    bool empty = zlistx_size(conn->work) == 0;
    for (work_t *w = zlistx_detach(s->arrived, NULL); w; w = zlistx_detach(s->arrived, NULL))
        zlistx_add_end(conn->work, w);
    size_t wakes = conn->ops->deliver_many ? empty : count;
    if (wakes > (size_t) conn->worker_count)
        wakes = (size_t) conn->worker_count;
    for (size_t i = 0; i < wakes; i++)
        pthread_cond_signal(&conn->work_cond);
    pthread_mutex_unlock(&conn->lock);
}

//  Put the connector's own counters (its stats slot) on a PING or PONG
//  (schemas/ltp.md: the optional field `stats`), so that lthubd shows them.
static void s_attach_stats(session_t *s, lt_ltp_t *msg)
{
    lt_conn_t *conn = s->conn;
    s->stats_at = zclock_mono();
    if (!conn->ops->stats || !conn->state)
        return;
    json_t *own = json_object();
    if (!own)
        return;
    conn->ops->stats(conn->state, own);
    char *text = json_dumps(own, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(own);
    if (text && strlen(text) < LT_LTP_MAX_STATS)
        lt_ltp_set_stats(msg, text);
    else if (text && !s->stats_too_long) {
        s->stats_too_long = true;
        lt_log_warning("event=stats_too_long bytes=%zu max=%d", strlen(text), LT_LTP_MAX_STATS - 1);
    }
    free(text);
}

//  The pending publish with sequence number seq, or NULL (answered already).
static pending_t *s_pending_of(session_t *s, uint64_t seq)
{
    return zhashx_lookup(s->by_seq, &seq);
}

//  The pending publishes' index is keyed by their sequence numbers, the
//  keys being the entries' own seq fields (no copy, nothing formatted).
static size_t s_seq_hash(const void *key)
{
    uint64_t seq = *(const uint64_t *) key;
    seq ^= seq >> 33;
    seq *= 0xff51afd7ed558ccdULL;
    seq ^= seq >> 33;
    return (size_t) seq;
}

static int s_seq_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

//  One acknowledgement of an ACCEPTED: the publish is on the broker's disk.
static void s_on_accepted(session_t *s, uint64_t seq, const char *msgid, bool duplicate)
{
    pending_t *p = s_pending_of(s, seq);
    if (!p)
        return;   //  answer to a resend already answered
    lt_publish_result_t result = {.code = LT_OK, .duplicate = duplicate};
    s_copy(result.msgid, sizeof(result.msgid), msgid);
    s_complete(s, p, &result);
}

static void s_on_message(session_t *s, lt_ltp_t *msg);

//  Read one message from the broker and handle it, or each message of a
//  BATCH in order.
static void s_on_broker(session_t *s)
{
    lt_err_t err;
    lt_ltp_read_t in;
    if (lt_ltp_read(s->dealer, false, 0, &in, &err))
        return;
    s->last_recv = zclock_mono();
    lt_ltp_t *msg = in.msg;
    if (!msg) {
        lt_log_warning("event=bad_frame from=broker reason=\"%s\"", err.detail);
        return;
    }
    if (lt_ltp_id(msg) != LT_LTP_BATCH) {
        s_on_message(s, msg);
        return;
    }
    for (size_t i = 0; i < lt_ltp_batch_count(msg); i++)
        s_on_message(s, lt_ltp_batch_take(msg, i));
    lt_ltp_destroy(&msg);
}

//  Handle one message from the broker, alone or out of a BATCH; takes msg.
static void s_on_message(session_t *s, lt_ltp_t *msg)
{
    lt_conn_t *conn = s->conn;
    switch (lt_ltp_id(msg)) {
    case LT_LTP_WELCOME:
        if (s->ready)
            break;   //  answer to a HELLO repeated while the first was on its way
        s->ready = true;
        s->batch = lt_ltp_batch(msg);
        s->hello_backoff = 0;
        s->heartbeat = (int) lt_ltp_heartbeat(msg);
        if (s->heartbeat < 100)
            s->heartbeat = 100;
        pthread_mutex_lock(&conn->lock);
        conn->connected = true;
        conn->stats.sessions++;
        pthread_mutex_unlock(&conn->lock);
        lt_log_info("event=session_start broker=%s pending=%zu", lt_ltp_name(msg),
                    zlistx_size(s->pending));
        for (pending_t *p = zlistx_first(s->pending); p; p = zlistx_next(s->pending)) {
            s_publish(s, p);
            conn->stats.resent++;
        }
        break;
    case LT_LTP_ACCEPTED:
        s_on_accepted(s, lt_ltp_seq(msg), lt_ltp_msgid(msg), lt_ltp_duplicate(msg));
        for (size_t i = 0; i < lt_ltp_ack_count(msg); i++) {
            const lt_ltp_ack_t *ack = lt_ltp_ack(msg, i);
            s_on_accepted(s, ack->seq, ack->msgid, ack->duplicate);
        }
        break;
    case LT_LTP_REJECTED: {
        pending_t *p = s_pending_of(s, lt_ltp_seq(msg));
        if (!p)
            break;   //  answer to a resend already answered
        lt_publish_result_t result = {.code = (lt_error_t) lt_ltp_code(msg)};
        s_copy(result.reason, sizeof(result.reason), lt_ltp_reason(msg));
        if (lt_error_transient(result.code)) {
            p->resend_at = zclock_mono() + 1000;
            if (!s->resend_next || p->resend_at < s->resend_next)
                s->resend_next = p->resend_at;
        } else
            s_complete(s, p, &result);
        break;
    }
    case LT_LTP_DELIVER:
        s_on_deliver(s, &msg);
        break;
    case LT_LTP_PING: {
        lt_ltp_t *pong = lt_ltp_new(LT_LTP_PONG);
        s_attach_stats(s, pong);
        s_send(s, &pong);
        break;
    }
    case LT_LTP_ERROR:
        if (lt_ltp_code(msg) == LT_ESTATE) {
            //  The broker restarted and lost our session. Every message sent
            //  meanwhile earns this answer: say HELLO once, not once each.
            if (s->ready || zclock_mono() - s->hello_at > 1000) {
                lt_log_info("event=session_lost reason=\"%s\"", lt_ltp_reason(msg));
                s_hello(s, false);
            }
            break;
        }
        lt_log_warning("event=broker_error code=%s reason=\"%s\"",
                       lt_error_name((lt_error_t) lt_ltp_code(msg)), lt_ltp_reason(msg));
        if (lt_ltp_code(msg) == LT_EAUTH || lt_ltp_code(msg) == LT_EVERSION) {
            s->ready = false;
            s->hello_backoff = 5000;
        }
        break;
    case LT_LTP_BYE:
        s_hello(s, true);
        break;
    default:
        break;
    }
    lt_ltp_destroy(&msg);
}

//  Drain the publish queue and the results queue.
static void s_on_wake(session_t *s)
{
    lt_conn_t *conn = s->conn;
    uint64_t count;
    ssize_t rc = read(conn->wake_fd, &count, sizeof(count));
    (void) rc;
    pthread_mutex_lock(&conn->lock);
    zlistx_t *queued = conn->to_send;
    conn->to_send = zlistx_new();
    zlistx_t *results = conn->results;
    conn->results = zlistx_new();
    pthread_mutex_unlock(&conn->lock);
    for (pending_t *p = zlistx_detach(queued, NULL); p; p = zlistx_detach(queued, NULL)) {
        p->seq = ++s->next_seq;
        p->handle = zlistx_add_end(s->pending, p);
        zhashx_insert(s->by_seq, &p->seq, p);
        for (size_t i = 0; i < p->owner_count; i++) {
            inprog_t *owner = zhashx_lookup(s->inprog, p->owners[i]);
            if (owner)
                owner->attached++;
            else
                p->owners[i][0] = 0;   //  no longer in progress: nothing waits
        }
        if (s->ready)
            s_publish(s, p);
    }
    zlistx_destroy(&queued);
    //  A result comes after the publishes its delivery made (they were
    //  queued before deliver() returned): it waits for them if any is open.
    for (result_t *r = zlistx_detach(results, NULL); r; r = zlistx_detach(results, NULL)) {
        inprog_t *in = zhashx_lookup(s->inprog, r->msgid);
        if (in) {
            in->parked = true;
            in->result = r->result;
            if (!in->attach_failed)
                s_copy(in->reason, sizeof(in->reason), r->reason);
            if (in->attached == 0)
                s_settle(s, r->msgid, in);
        }
        free(r);
    }
    zlistx_destroy(&results);
}

//  Answer every delivery id of a finished message: deliver()'s outcome, or
//  RETRY when the broker rejected a message the delivery published.
static void s_settle(session_t *s, const char *msgid, inprog_t *in)
{
    lt_delivery_result_t result = in->result;
    if (result == LT_DELIVERY_OK && in->attach_failed)
        result = LT_DELIVERY_RETRY;
    for (size_t i = 0; i < in->count; i++)
        s_answer(s, in->deliveries[i], result, in->reason);
    char key[112];
    s_copy(key, sizeof(key), msgid);   //  msgid may be the entry's own key
    if (result == LT_DELIVERY_OK)
        s_remember(s, key);
    zhashx_delete(s->inprog, key);
}

//  Timers: heartbeats, lost broker, HELLO retries, transient resends.
static void s_on_tick(session_t *s)
{
    int64_t now = zclock_mono();
    int beat = s->heartbeat ? s->heartbeat : 1000;
    if (!s->ready) {
        int64_t wait = s->hello_backoff ? s->hello_backoff : 3 * beat;
        if (now - s->hello_at > wait) {
            s_hello(s, true);
            s->conn->stats.lost++;
        }
        return;
    }
    if (now - s->last_recv > 3 * beat) {
        lt_log_warning("event=broker_lost silent_ms=%lld", (long long) (now - s->last_recv));
        s->conn->stats.lost++;
        s_hello(s, true);
        return;
    }
    if (now - s->last_send >= beat || now - s->stats_at >= S_STATS_EVERY_MS) {
        lt_ltp_t *ping = lt_ltp_new(LT_LTP_PING);
        s_attach_stats(s, ping);
        s_send(s, &ping);
    }
    //  The pending list holds the whole window (thousands at full speed) and
    //  this runs at every wake: walk it only when a resend is due.
    if (!s->resend_next || s->resend_next > now)
        return;
    s->resend_next = 0;
    for (pending_t *p = zlistx_first(s->pending); p; p = zlistx_next(s->pending)) {
        if (p->resend_at && p->resend_at <= now) {
            s_publish(s, p);
            s->conn->stats.resent++;
        } else if (p->resend_at && (!s->resend_next || p->resend_at < s->resend_next))
            s->resend_next = p->resend_at;
    }
}

static void s_inprog_free(void **item)
{
    free(*item);
    *item = NULL;
}

//  The session actor.
static void s_session_actor(zsock_t *pipe, void *args)
{
    session_t sdata = {0}, *s = &sdata;
    s->conn = args;
    s->pipe = pipe;
    lt_conn_t *conn = s->conn;
    char path[1024];
    const char *keys = lt_conn_option(conn, "keys");
    const char *cert_path = lt_conn_option(conn, "cert");
    if (!*cert_path) {
        snprintf(path, sizeof(path), "%s/%s.cert_secret", keys, conn->name);
        cert_path = path;
    }
    s->cert = zcert_load(cert_path);
    if (!s->cert) {
        lt_log_error("event=start_failed reason=\"cannot read certificate %s\"", cert_path);
        zsock_signal(pipe, 1);
        return;
    }
    char bpath[1024];
    const char *broker_key = lt_conn_option(conn, "broker-key");
    if (!*broker_key) {
        snprintf(bpath, sizeof(bpath), "%s/broker.cert", keys);
        broker_key = bpath;
    }
    zcert_t *bcert = zcert_load(broker_key);
    if (!bcert) {
        lt_log_error("event=start_failed reason=\"cannot read broker certificate %s\"",
                     broker_key);
        zcert_destroy(&s->cert);
        zsock_signal(pipe, 1);
        return;
    }
    snprintf(s->broker_key, sizeof(s->broker_key), "%s", zcert_public_txt(bcert));
    zcert_destroy(&bcert);
    s->seen = lt_seen_new(S_SEEN_MAX);
    if (!s->seen) {
        lt_log_error("event=start_failed reason=\"no memory for the delivered messages' ids\"");
        zcert_destroy(&s->cert);
        zsock_signal(pipe, 1);
        return;
    }
    s->credit = (uint32_t) lt_conn_option_int(conn, "credit");
    s->pending = zlistx_new();
    s->by_seq = zhashx_new();
    zhashx_set_key_duplicator(s->by_seq, NULL);
    zhashx_set_key_destructor(s->by_seq, NULL);
    zhashx_set_key_hasher(s->by_seq, s_seq_hash);
    zhashx_set_key_comparator(s->by_seq, s_seq_compare);
    s->out_round = 1;
    s->inprog = zhashx_new();
    zhashx_set_destructor(s->inprog, s_inprog_free);
    s->arrived = zlistx_new();
    s->heartbeat = 1000;
    s_hello(s, true);
    zsock_signal(pipe, 0);
    bool terminated = false;
    while (!terminated) {
        zmq_pollitem_t items[] = {
            {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(s->dealer), 0, ZMQ_POLLIN, 0},
            {NULL, conn->wake_fd, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 3, 50) < 0)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(pipe);
            terminated = !command || streq(command, "$TERM");
            zstr_free(&command);
        }
        if (items[2].revents & ZMQ_POLLIN)
            s_on_wake(s);
        if (items[1].revents & ZMQ_POLLIN)
            for (int i = 0; i < 1000 && (zsock_events(s->dealer) & ZMQ_POLLIN); i++)
                s_on_broker(s);
        s_hand_over(s);
        s_on_tick(s);
        s_flush_done(s);
        s_flush_out(s);
    }
    s_flush_done(s);
    s_flush_out(s);
    if (s->ready) {
        lt_ltp_t *bye = lt_ltp_new(LT_LTP_BYE);
        s_send_now(s, &bye);
    }
    //  Fail what is still waiting so callers are not left hanging.
    lt_publish_result_t stopped = {.code = LT_EUNAVAIL};
    snprintf(stopped.reason, sizeof(stopped.reason), "connector stopping");
    while (zlistx_size(s->pending))
        s_complete(s, zlistx_first(s->pending), &stopped);
    lt_ltp_destroy(&s->done);   //  answers found only now: the session is over
    s_drop_out(s);
    zhashx_destroy(&s->by_seq);
    zlistx_destroy(&s->pending);
    lt_seen_destroy(&s->seen);
    zhashx_destroy(&s->inprog);
    s_hand_over(s);   //  the workers free what they did not take
    zlistx_destroy(&s->arrived);
    zsock_destroy(&s->dealer);
    zcert_destroy(&s->cert);
}

//  ---------------------------------------------------------------------------
//  Workers

static void s_wake(lt_conn_t *self)
{
    uint64_t one = 1;
    ssize_t rc = write(self->wake_fd, &one, sizeof(one));
    (void) rc;
}

//  True when nothing waits for the session thread (lock held). Only the
//  first publish or result queued after the session thread took the queues
//  wakes it: it takes everything queued at once (s_on_wake), so the others
//  ride on that wake, saving a write and a thread switch each.
static bool s_queues_empty(lt_conn_t *self)
{
    return zlistx_size(self->to_send) == 0 && zlistx_size(self->results) == 0;
}

//  Take the next deliveries for one worker (lock held): one for deliver(),
//  up to deliver_max for deliver_many(); a worker that leaves some wakes
//  another. Returns how many were put in works.
static size_t s_take_work(lt_conn_t *self, work_t **works, size_t max)
{
    size_t count = 0;
    while (count < max && zlistx_size(self->work) > 0)
        works[count++] = zlistx_detach(self->work, NULL);
    if (count > 0 && zlistx_size(self->work) > 0 && self->ops->deliver_many)
        pthread_cond_signal(&self->work_cond);
    return count;
}

static void *s_worker(void *arg)
{
    lt_conn_t *self = arg;
    size_t max = self->ops->deliver_many ? self->deliver_max : 1;
    work_t **works = calloc(max, sizeof(*works));
    const lt_delivery_t **list = calloc(max, sizeof(*list));
    lt_delivery_t *deliveries = calloc(max, sizeof(*deliveries));
    lt_delivery_result_t *outcomes = calloc(max, sizeof(*outcomes));
    lt_err_t *errs = calloc(max, sizeof(*errs));
    result_t **results = calloc(max, sizeof(*results));
    assert(works && list && deliveries && outcomes && errs && results);
    while (true) {
        pthread_mutex_lock(&self->lock);
        while (!self->stopping && zlistx_size(self->work) == 0)
            pthread_cond_wait(&self->work_cond, &self->lock);
        size_t count = self->stopping ? 0 : s_take_work(self, works, max);
        pthread_mutex_unlock(&self->lock);
        if (count == 0)
            break;
        for (size_t i = 0; i < count; i++) {
            deliveries[i] = (lt_delivery_t){.delivery = works[i]->delivery,
                                            .attempt = works[i]->attempt,
                                            .envelope = works[i]->envelope,
                                            .payload = works[i]->payload,
                                            .size = works[i]->size};
            list[i] = &deliveries[i];
            outcomes[i] = LT_DELIVERY_FAIL;
            lt_err_clear(&errs[i]);
        }
        if (self->ops->deliver_many)
            self->ops->deliver_many(self->state, list, count, outcomes, errs);
        else if (self->ops->deliver)
            outcomes[0] = self->ops->deliver(self->state, &deliveries[0], &errs[0]);
        else
            lt_err_set(&errs[0], LT_EINTERNAL, "connector %s does not take deliveries",
                       self->name);
        for (size_t i = 0; i < count; i++) {
            results[i] = calloc(1, sizeof(*results[i]));
            assert(results[i]);
            s_message_key(works[i]->envelope, results[i]->msgid);
            results[i]->result = outcomes[i];
            s_copy(results[i]->reason, sizeof(results[i]->reason), errs[i].detail);
        }
        pthread_mutex_lock(&self->lock);
        bool wake = s_queues_empty(self);
        for (size_t i = 0; i < count; i++) {
            if (outcomes[i] == LT_DELIVERY_OK)
                self->stats.done++;
            else if (outcomes[i] == LT_DELIVERY_RETRY)
                self->stats.retried++;
            else
                self->stats.failed++;
            zlistx_add_end(self->results, results[i]);
        }
        pthread_mutex_unlock(&self->lock);
        if (wake)
            s_wake(self);
        for (size_t i = 0; i < count; i++) {
            lt_envelope_destroy(&works[i]->envelope);
            lt_ltp_destroy(&works[i]->msg);
            free(works[i]->copy);
            free(works[i]);
        }
    }
    free(works);
    free(list);
    free(deliveries);
    free(outcomes);
    free(errs);
    free(results);
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Public API

lt_conn_t *lt_conn_new(const lt_connector_ops_t *ops, int argc, char **argv, lt_err_t *err)
{
    assert(ops);
    if (ops->abi != LT_CONNECTOR_ABI) {
        lt_err_set(err, LT_EINTERNAL, "connector table ABI %d, runtime speaks %d", ops->abi,
                   LT_CONNECTOR_ABI);
        return NULL;
    }
    lt_conn_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->ops = ops;
    self->options = zhash_new();
    zhash_autofree(self->options);
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->window_cond, NULL);
    pthread_cond_init(&self->work_cond, NULL);
    self->deliver_max = 64;
    self->to_send = zlistx_new();
    self->work = zlistx_new();
    self->results = zlistx_new();
    if (s_parse(self, argc, argv, err)) {
        lt_conn_destroy(&self);
        return NULL;
    }
    self->window = (size_t) lt_conn_option_int(self, "window");
    self->window_bytes = (size_t) lt_conn_option_int(self, "window-bytes");
    const char *name = lt_conn_option(self, "name");
    snprintf(self->name, sizeof(self->name), "%s", *name ? name : ops->name);
    int level = lt_log_level_from_name(lt_conn_option(self, "log-level"));
    if (level < 0) {
        lt_err_set(err, LT_ECONFIG, "--log-level must be error, warning, info or debug");
        lt_conn_destroy(&self);
        return NULL;
    }
    lt_log_set_level((lt_log_level_t) level);
    return self;
}

int lt_conn_start(lt_conn_t *self, lt_err_t *err)
{
    assert(self);
    long long workers = lt_conn_option_int(self, "workers");
    if (s_required(self, err))
        return -1;
    if (self->ops->init && self->ops->init(self, &self->state, err))
        return -1;
    self->session = zactor_new(s_session_actor, self);
    if (!self->session)
        return lt_err_set(err, LT_ECONFIG, "cannot start the session (see the log above)"), -1;
    self->worker_count = (int) workers;
    self->workers = calloc((size_t) workers, sizeof(pthread_t));
    for (int i = 0; i < self->worker_count; i++)
        pthread_create(&self->workers[i], NULL, s_worker, self);
    self->started = true;
    if (self->ops->start && self->ops->start(self->state, err))
        return -1;
    lt_log_info("event=started connector=%s broker=%s workers=%d", self->name,
                lt_conn_option(self, "broker"), self->worker_count);
    return 0;
}

static void s_free_work(void **item)
{
    work_t *work = *item;
    if (work) {
        lt_envelope_destroy(&work->envelope);
        lt_ltp_destroy(&work->msg);
        free(work->copy);
        free(work);
        *item = NULL;
    }
}

static void s_free_pending(void **item)
{
    pending_t *p = *item;
    if (p) {
        lt_publish_result_t stopped = {.code = LT_EUNAVAIL};
        snprintf(stopped.reason, sizeof(stopped.reason), "connector stopping");
        if (p->fn)
            p->fn(p->arg, &stopped);
        lt_envelope_destroy(&p->envelope);
        free(p->owners);
        free(p);
        *item = NULL;
    }
}

void lt_conn_destroy(lt_conn_t **self_p)
{
    assert(self_p);
    lt_conn_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->work_cond);
    pthread_cond_broadcast(&self->window_cond);
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < self->worker_count; i++)
        pthread_join(self->workers[i], NULL);
    free(self->workers);
    zactor_destroy(&self->session);
    if (self->ops->fini && self->state)
        self->ops->fini(&self->state);
    zlistx_set_destructor(self->work, s_free_work);
    zlistx_destroy(&self->work);
    zlistx_set_destructor(self->to_send, s_free_pending);
    zlistx_destroy(&self->to_send);
    zlistx_set_destructor(self->results, (zlistx_destructor_fn *) zstr_free);
    zlistx_destroy(&self->results);
    zhash_destroy(&self->options);
    for (size_t i = 0; i < self->spare_count; i++)
        free(self->spare[i]);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->window_cond);
    pthread_cond_destroy(&self->work_cond);
    free(self);
    *self_p = NULL;
}

//  Make the entry of one publish: the envelope taken, the payload copied.
static pending_t *s_pending_new(lt_conn_t *conn, lt_envelope_t **envelope_p,
                                const void *payload, size_t size, lt_publish_fn *fn, void *arg,
                                const lt_delivery_t *const *owners, size_t owner_count)
{
    assert(envelope_p && *envelope_p);
    assert(size <= SIZE_MAX - sizeof(pending_t) - 256);
    //  An answered publish's entry with room enough, if one is kept (the
    //  last few looked at: a connector's payloads are mostly alike).
    pending_t *p = NULL;
    if (size <= S_SPARE_ROOM) {
        pthread_mutex_lock(&conn->lock);
        for (size_t i = conn->spare_count, looked = 0; i > 0 && looked < 4; i--, looked++) {
            pending_t *spare = conn->spare[i - 1];
            if (spare->room >= size) {
                p = spare;
                conn->spare_bytes -= spare->room;
                conn->spare[i - 1] = conn->spare[--conn->spare_count];
                break;
            }
        }
        pthread_mutex_unlock(&conn->lock);
    }
    size_t room = p ? p->room : (size + 255) & ~(size_t) 255;   //  some room for the next
    if (!p) {
        p = malloc(sizeof(*p) + room);
        assert(p);
    }
    memset(p, 0, sizeof(*p));
    p->room = room;
    p->payload = (uint8_t *) (p + 1);
    if (owner_count) {
        p->owners = calloc(owner_count, sizeof(*p->owners));
        assert(p->owners);
        p->owner_count = owner_count;
        for (size_t i = 0; i < owner_count; i++)
            s_message_key(owners[i]->envelope, p->owners[i]);
    }
    p->envelope = *envelope_p;
    *envelope_p = NULL;
    if (!*lt_envelope_sha256(p->envelope))
        lt_envelope_set_payload_facts(p->envelope, payload, size);
    if (!lt_envelope_created(p->envelope))
        lt_envelope_set_created(p->envelope, lt_time_ms());
    if (size)
        memcpy(p->payload, payload, size);
    p->size = size;
    p->fn = fn;
    p->arg = arg;
    return p;
}

//  Free an entry that was never queued.
static void s_pending_drop(pending_t *p)
{
    lt_envelope_destroy(&p->envelope);
    free(p->owners);
    free(p);
}

//  Queue entries in order, each once the window has room; deadline
//  (CLOCK_REALTIME), when not NULL, bounds the wait for room. The session
//  thread is woken once for all of them (and before each wait for room, so
//  that it sends what is queued). Returns 0, -1 when stopping, -2 when the
//  deadline passed; *queued tells how many went (the others are freed).
static int s_enqueue(lt_conn_t *self, pending_t **ps, size_t count,
                     const struct timespec *deadline, size_t *queued)
{
    int rc = 0;
    bool wake = false;
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (; n < count && rc == 0; n++) {
        size_t size = ps[n]->size;
        //  Wait for room; a message larger than the byte window goes alone.
        while (!self->stopping && rc == 0 &&
               (self->outstanding >= self->window ||
                (self->outstanding > 0 && self->outstanding_bytes + size > self->window_bytes))) {
            if (wake) {
                s_wake(self);
                wake = false;
            }
            if (!deadline)
                pthread_cond_wait(&self->window_cond, &self->lock);
            else if (pthread_cond_timedwait(&self->window_cond, &self->lock, deadline)
                     == ETIMEDOUT)
                rc = -2;
        }
        if (self->stopping)
            rc = -1;
        if (rc)
            break;
        self->outstanding++;
        self->outstanding_bytes += size;
        self->stats.published++;
        wake |= s_queues_empty(self);
        zlistx_add_end(self->to_send, ps[n]);
    }
    pthread_mutex_unlock(&self->lock);
    if (wake)
        s_wake(self);
    for (size_t i = n; i < count; i++)
        s_pending_drop(ps[i]);
    if (queued)
        *queued = n;
    return rc;
}

//  Queue a publish once the window has room (see s_enqueue). Returns 0, -1
//  when stopping, -2 when the deadline passed (nothing queued; the envelope
//  is destroyed).
static int s_publish_queue(lt_conn_t *self, lt_envelope_t **envelope_p, const void *payload,
                           size_t size, lt_publish_fn *fn, void *arg,
                           const struct timespec *deadline,
                           const lt_delivery_t *const *owners, size_t owner_count)
{
    assert(self && envelope_p && *envelope_p);
    pending_t *p = s_pending_new(self, envelope_p, payload, size, fn, arg, owners, owner_count);
    return s_enqueue(self, &p, 1, deadline, NULL);
}

size_t lt_conn_publish_async_many(lt_conn_t *self, lt_envelope_t **envelopes,
                                  const void *const *payloads, const size_t *sizes, size_t count,
                                  lt_publish_fn *fn, void *const *args)
{
    assert(self && (count == 0 || (envelopes && payloads && sizes && args)));
    pending_t **ps = calloc(count ? count : 1, sizeof(*ps));
    assert(ps);
    for (size_t i = 0; i < count; i++)
        ps[i] = s_pending_new(self, &envelopes[i], payloads[i], sizes[i], fn, args[i], NULL, 0);
    size_t queued = 0;
    s_enqueue(self, ps, count, NULL, &queued);
    free(ps);
    return queued;
}

int lt_conn_publish_async(lt_conn_t *self, lt_envelope_t **envelope_p, const void *payload,
                          size_t size, lt_publish_fn *fn, void *arg)
{
    return s_publish_queue(self, envelope_p, payload, size, fn, arg, NULL, NULL, 0);
}

int lt_conn_publish_for(lt_conn_t *self, const lt_delivery_t *delivery,
                        lt_envelope_t **envelope_p, const void *payload, size_t size,
                        lt_publish_fn *fn, void *arg)
{
    assert(delivery);
    return s_publish_queue(self, envelope_p, payload, size, fn, arg, NULL, &delivery, 1);
}

int lt_conn_publish_for_many(lt_conn_t *self, const lt_delivery_t *const *deliveries,
                             size_t count, lt_envelope_t **envelope_p, const void *payload,
                             size_t size, lt_publish_fn *fn, void *arg)
{
    assert(deliveries && count > 0);
    return s_publish_queue(self, envelope_p, payload, size, fn, arg, NULL, deliveries, count);
}

//  A blocking publish's rendezvous with the session thread.
typedef struct {
    pthread_mutex_t lock;          //  guards the fields below
    pthread_cond_t cond;           //  signalled on completion
    bool finished;                 //  result is set
    bool abandoned;                //  the caller gave up waiting; callback frees
    lt_publish_result_t result;    //  outcome
} s_waiter_t;

static void s_waiter_done(void *arg, const lt_publish_result_t *result)
{
    s_waiter_t *w = arg;
    pthread_mutex_lock(&w->lock);
    w->result = *result;
    w->finished = true;
    bool abandoned = w->abandoned;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (abandoned) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
    }
}

int lt_conn_publish(lt_conn_t *self, lt_envelope_t **envelope_p, const void *payload,
                    size_t size, int timeout_ms, lt_publish_result_t *result)
{
    s_waiter_t *w = calloc(1, sizeof(*w));
    assert(w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    memset(result, 0, sizeof(*result));
    //  One deadline covers the wait for room in the window and for ACCEPTED.
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    int queued
        = s_publish_queue(self, envelope_p, payload, size, s_waiter_done, w, &deadline, NULL, 0);
    if (queued) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        result->code = queued == -2 ? LT_ETIMEOUT : LT_EUNAVAIL;
        snprintf(result->reason, sizeof(result->reason), "%s",
                 queued == -2 ? "the publish window stayed full (the broker is not confirming); "
                                "nothing was queued"
                              : "connector stopping");
        return -1;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->finished)
        if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) != 0)
            break;
    bool finished = w->finished;
    if (finished)
        *result = w->result;
    else
        w->abandoned = true;
    pthread_mutex_unlock(&w->lock);
    if (!finished) {
        result->code = LT_ETIMEOUT;
        snprintf(result->reason, sizeof(result->reason),
                 "broker did not confirm within %d ms (the message stays queued)", timeout_ms);
        return -1;
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
    return result->code == LT_OK ? 0 : -1;
}

bool lt_conn_connected(lt_conn_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    bool connected = self->connected;
    pthread_mutex_unlock(&self->lock);
    return connected;
}

json_t *lt_conn_stats(lt_conn_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    s_stats_t s = self->stats;
    bool connected = self->connected;
    size_t outstanding = self->outstanding, queued = zlistx_size(self->work);
    pthread_mutex_unlock(&self->lock);
    json_t *out = json_pack(
        "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
        self->name, "connected", connected, "published", (json_int_t) s.published, "accepted",
        (json_int_t) s.accepted, "duplicates", (json_int_t) s.duplicates, "rejected",
        (json_int_t) s.rejected, "resent", (json_int_t) s.resent, "outstanding",
        (json_int_t) outstanding, "delivered", (json_int_t) s.delivered, "done",
        (json_int_t) s.done, "retried", (json_int_t) s.retried, "failed", (json_int_t) s.failed,
        "repeats", (json_int_t) s.repeats, "queued", (json_int_t) queued, "sessions",
        (json_int_t) s.sessions);
    if (self->ops->stats && self->state)
        self->ops->stats(self->state, out);
    return out;
}

//  ---------------------------------------------------------------------------
//  Process wrapper

static volatile sig_atomic_t s_stop_signal = 0;

static void s_on_signal(int sig)
{
    s_stop_signal = sig;
}

int lt_conn_main(const lt_connector_ops_t *ops, int argc, char **argv)
{
    char program[80];
    snprintf(program, sizeof(program), "lthub-%s", ops->name);
    lt_log_init(program);
    lt_malloc_setup();   //  before the threads
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
            s_usage(ops, stdout);
            return 0;
        }
        if (streq(argv[i], "--version")) {
            printf("%s %s\n", program, LT_VERSION);
            return 0;
        }
    }
    zsys_handler_set(NULL);
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    lt_err_t err;
    lt_err_clear(&err);
    lt_conn_t *conn = lt_conn_new(ops, argc - 1, argv + 1, &err);
    if (!conn) {
        fprintf(stderr, "%s: %s\n", program, err.detail);
        return 2;
    }
    int code = 0;
    if (lt_conn_start(conn, &err)) {
        lt_log_error("event=start_failed reason=\"%s\"", err.detail);
        code = 1;
    }
    int64_t next_poll = zclock_mono() + 1000;
    while (code == 0 && !s_stop_signal) {
        usleep(50 * 1000);
        if (ops->poll && zclock_mono() >= next_poll) {
            ops->poll(conn->state);
            next_poll = zclock_mono() + 1000;
        }
    }
    if (s_stop_signal)
        lt_log_info("event=stopping signal=%d", (int) s_stop_signal);
    lt_conn_destroy(&conn);
    return code;
}
