/*  lt_broker: the broker actor's loop, sessions and the publish path.

    A round reads whatever the ROUTER has (bounded by broker/batch and
    broker/batch_bytes), applies it to one open store batch, commits with
    one fsync, and only then answers ACCEPTED: that is the durability rule
    of DESIGN.md section 5, paid once per round instead of once per message.
*/
#include "lt_broker_int.h"
#include "lt_digest.h"
#include "lt_follow.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_keys.h"
#include "lt_zap.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <malloc.h>
#include <string.h>

//  Free a session (its dest keeps living).
static void s_session_destroy(session_t **session_p)
{
    session_t *session = *session_p;
    if (session) {
        zframe_destroy(&session->routing_id);
        lt_ltp_destroy(&session->acks);
        lt_ltp_destroy(&session->out);
        free(session);
        *session_p = NULL;
    }
}

static void s_session_free(void **item)
{
    s_session_destroy((session_t **) item);
}

static void s_dest_free(void **item)
{
    lt_dest_destroy((dest_t **) item);
}

dest_t *lt_broker_dest(broker_t *self, const char *name)
{
    dest_t *dest = zhashx_lookup(self->dests, name);
    if (dest)
        return dest;
    dest = calloc(1, sizeof(*dest));
    assert(dest);
    snprintf(dest->name, sizeof(dest->name), "%s", name);
    dest->inflight = zhashx_new();
    zhashx_set_destructor(dest->inflight, (zhashx_destructor_fn *) zstr_free);
    dest->scan_ready = true;
    zhashx_insert(self->dests, name, dest);
    return dest;
}

//  Hex text of a routing id, the sessions table key.
static void s_routing_key(zframe_t *routing_id, char key[64])
{
    size_t size = zframe_size(routing_id);
    if (size > 31)
        size = 31;
    static const char hex[] = "0123456789abcdef";
    const byte *data = zframe_data(routing_id);
    for (size_t i = 0; i < size; i++) {
        key[2 * i] = hex[data[i] >> 4];
        key[2 * i + 1] = hex[data[i] & 15];
    }
    key[2 * size] = 0;
}

//  Send *msg_p to the session's connector now.
static void s_send_now(broker_t *self, session_t *session, lt_ltp_t **msg_p)
{
    lt_ltp_set_routing_id(*msg_p, session->routing_id);
    if (lt_ltp_send(msg_p, zsock_resolve(self->router)) == 0)
        session->last_send = zclock_mono();
    else
        lt_log_warning("event=send_failed connector=%s reason=\"%s\"", session->name,
                       zmq_strerror(zmq_errno()));
}

//  Send what the session gathered, if anything: one message alone, more
//  as one BATCH.
static void s_flush_out(broker_t *self, session_t *session)
{
    lt_ltp_t *msg = lt_ltp_gathered(&session->out);
    if (msg)
        s_send_now(self, session, &msg);
}

void lt_broker_flush(broker_t *self)
{
    for (session_t *session = zhashx_first(self->sessions); session;
         session = zhashx_next(self->sessions))
        s_flush_out(self, session);
}

//  To a connector that said 'batch', messages are gathered and go out as
//  one BATCH at the end of the broker's round (lt_broker_flush), or once
//  they are many; in the order they were given.
void lt_broker_send(broker_t *self, session_t *session, lt_ltp_t **msg_p)
{
    int gathered = session->batch ? lt_ltp_gather(&session->out, msg_p) : -1;
    if (gathered != 0)
        s_flush_out(self, session);   //  full, or what came before *msg_p
    if (gathered < 0)
        s_send_now(self, session, msg_p);
}

//  Answer a peer without a session (or before one exists) with ERROR.
static void s_send_error(broker_t *self, zframe_t *routing_id, lt_error_t code,
                         const char *reason)
{
    lt_ltp_t *msg = lt_ltp_new(LT_LTP_ERROR);
    lt_ltp_set_code(msg, (uint32_t) code);
    lt_ltp_set_reason(msg, reason);
    lt_ltp_set_routing_id(msg, routing_id);
    lt_ltp_send(&msg, zsock_resolve(self->router));
}

//  Drop a session: its in-flight deliveries go back to the queue.
static void s_session_end(broker_t *self, session_t *session, const char *why)
{
    dest_t *dest = session->dest;
    lt_log_info("event=session_end connector=%s reason=\"%s\" inflight=%zu", session->name, why,
                dest ? zhashx_size(dest->inflight) : (size_t) 0);
    if (dest && dest->session == session) {
        lt_broker_requeue(self, dest);
        dest->session = NULL;
        dest->down_since = lt_time_ms();
    }
    zhashx_delete(self->sessions, session->key);
}

int lt_broker_batch_open(broker_t *self)
{
    if (self->in_batch)
        return 0;
    lt_err_t err;
    if (lt_store_begin(self->store, &err)) {
        lt_log_error("event=store_error op=begin reason=\"%s\"", err.detail);
        return -1;
    }
    self->in_batch = true;
    self->batch_writes = 0;
    self->batch_bytes = 0;
    return 0;
}

//  Queue a reply for after the commit.
static reply_t *s_reply(broker_t *self, session_t *session, lt_ltp_id_t id, uint64_t seq)
{
    if (self->reply_count == self->reply_alloc) {
        size_t alloc = self->reply_alloc ? self->reply_alloc * 2 : 256;
        reply_t *replies = realloc(self->replies, alloc * sizeof(reply_t));
        assert(replies);
        self->replies = replies;
        self->reply_alloc = alloc;
    }
    reply_t *reply = &self->replies[self->reply_count++];
    memset(reply, 0, sizeof(*reply));
    reply->routing_id = zframe_dup(session->routing_id);
    reply->id = id;
    reply->seq = seq;
    reply->read_us = zclock_usecs();
    return reply;
}

//  Reject a publish: keep the input for inspection and owe a REJECTED.
static void s_reject(broker_t *self, session_t *session, uint64_t seq, const lt_err_t *why,
                     const lt_envelope_t *env, const void *payload, size_t size)
{
    reply_t *reply = s_reply(self, session, LT_LTP_REJECTED, seq);
    reply->code = why->code;
    snprintf(reply->reason, sizeof(reply->reason), "%s", why->detail);
    lt_err_t err;
    if (lt_broker_batch_open(self) == 0 &&
        lt_store_reject(self->store, session->name, why->code, why->detail, env, payload, size,
                        &err))
        lt_log_error("event=store_error op=reject reason=\"%s\"", err.detail);
    self->batch_writes++;
    lt_log_warning("event=rejected connector=%s seq=%llu code=%s reason=\"%s\"", session->name,
                   (unsigned long long) seq, lt_error_name(why->code), why->detail);
}

//  Routing: group recipients by destination. Fills dests/rcpts (caller
//  frees the rcpts strings); returns the count or -1 with err.
static int s_route(broker_t *self, lt_envelope_t *env, const char **dests, char **rcpts,
                   size_t max, lt_err_t *err)
{
    lt_kind_t kind = lt_envelope_kind(env);
    size_t count = 0;
    if (kind == LT_KIND_REGISTER || kind == LT_KIND_FACT)
        return 0;   //  counted by the broker, delivered nowhere
    size_t n = lt_envelope_recipients(env);
    if (kind != LT_KIND_DOCUMENT && kind != LT_KIND_STATUS) {
        const char *to = lt_config_route_for(self->config, kind, NULL);
        if (!to)
            return lt_err_set(err, LT_EROUTE, "no route for %s messages", lt_kind_name(kind)),
                   -1;
        dests[0] = to;
        rcpts[0] = NULL;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *code = lt_envelope_recipient(env, i);
        const char *to = lt_config_route_for(self->config, kind, code);
        if (!to)
            return lt_err_set(err, LT_EROUTE, "no route for recipient '%s' (%s)", code,
                              lt_kind_name(kind)),
                   -1;
        size_t d = 0;
        while (d < count && strcmp(dests[d], to) != 0)
            d++;
        if (d == count) {
            if (count == max)
                return lt_err_set(err, LT_EROUTE, "too many destinations"), -1;
            dests[count] = to;
            rcpts[count++] = strdup(code);
        }
        else {
            size_t len = strlen(rcpts[d]) + strlen(code) + 2;
            char *joined = malloc(len);
            assert(joined);
            snprintf(joined, len, "%s,%s", rcpts[d], code);
            free(rcpts[d]);
            rcpts[d] = joined;
        }
    }
    return (int) count;
}

//  A follow-up must come from an agency entitled to it (lt_follow); one
//  whose document the hub never stored is let through (it may predate the
//  hub) and logged. -1 with err when refused.
static int s_check_follow_up(broker_t *self, const lt_envelope_t *env, lt_err_t *err)
{
    const char *document = lt_follow_document(env);
    if (!document)
        return 0;
    lt_envelope_t *original = lt_store_document(self->store, document);
    if (!original) {
        lt_log_info("event=follow_up_unknown_document kind=%s btype=%s key=\"%s\" "
                    "document=\"%s\" from=%s",
                    lt_kind_name(lt_envelope_kind(env)), lt_envelope_btype(env),
                    lt_envelope_key(env), document, lt_envelope_sender(env));
        return 0;
    }
    int rc = lt_follow_entitled(env, original, err);
    lt_envelope_destroy(&original);
    return rc;
}

int lt_broker_publish(broker_t *self, const char *source, lt_envelope_t *env,
                      const void *payload, size_t size, char msgid[40], bool *duplicate,
                      lt_err_t *err)
{
    lt_err_clear(err);
    *duplicate = false;
    //  The source is who authenticated, whatever the envelope says.
    lt_envelope_set_source(env, source);
    if (lt_envelope_validate(env, err) == 0) {
        char hex[65];
        lt_digest_sha256_hex(payload, size, hex);
        if (lt_envelope_size(env) != size || strcmp(hex, lt_envelope_sha256(env)) != 0)
            lt_err_set(err, LT_EINVAL,
                       "payload does not match the envelope (size %zu, sha256 %.12s...)", size,
                       hex);
    }
    const char *dests[64];
    char *rcpts[64] = {0};
    int dest_count = 0;
    if (err->code == LT_OK)
        dest_count = s_route(self, env, dests, rcpts, 64, err);
    if (err->code != LT_OK)
        return -1;
    int rc = 0;
    if (lt_broker_batch_open(self)) {
        lt_err_set(err, LT_ESTORE, "store unavailable; retry");
        rc = -2;
    }
    else if (s_check_follow_up(self, env, err))
        rc = -1;
    else if (lt_store_put(self->store, env, payload, size, dests, (const char *const *) rcpts,
                          (size_t) dest_count, duplicate, msgid, err) == 0) {
        if (!*duplicate)
            for (int i = 0; i < dest_count; i++)
                lt_broker_dest(self, dests[i])->scan_ready = true;
        //  Follow-ups released by this document may go anywhere.
        if (lt_store_released(self->store))
            for (dest_t *dest = zhashx_first(self->dests); dest; dest = zhashx_next(self->dests))
                dest->scan_ready = true;
    }
    else if (err->code == LT_ESTORE || err->code == LT_ENOMEM)
        rc = -2;   //  transient for the publisher: it retries
    else
        rc = -1;   //  refused for good (a DocumentId conflict)
    for (int i = 0; i < dest_count; i++)
        free(rcpts[i]);
    return rc;
}

//  PUBLISH: validate, route, store in the open batch, owe ACCEPTED.
static void s_on_publish(broker_t *self, session_t *session, lt_ltp_t *msg)
{
    uint64_t seq = lt_ltp_seq(msg);
    size_t size = lt_ltp_payload_size(msg);
    const uint8_t *payload = lt_ltp_payload(msg);
    dest_t *own = lt_broker_dest(self, session->name);
    own->stats.published++;
    own->stats.bytes_in += size;
    lt_envelope_t *env = lt_ltp_take_envelope(msg);
    lt_err_t err;
    bool duplicate = false;
    char msgid[40] = "";
    int rc = lt_broker_publish(self, session->name, env, payload, size, msgid, &duplicate, &err);
    if (rc == 0) {
        reply_t *reply = s_reply(self, session, LT_LTP_ACCEPTED, seq);
        snprintf(reply->msgid, sizeof(reply->msgid), "%s", msgid);
        reply->duplicate = duplicate;
        self->batch_writes++;
        self->batch_bytes += size;
    }
    else if (rc == -1) {
        s_reject(self, session, seq, &err, env, payload, size);
        own->stats.rejected++;
    }
    else {
        reply_t *reply = s_reply(self, session, LT_LTP_REJECTED, seq);
        reply->code = LT_ESTORE;
        snprintf(reply->reason, sizeof(reply->reason), "%s", err.detail);
        lt_log_error("event=store_error op=put reason=\"%s\"", err.detail);
    }
    lt_envelope_destroy(&env);
}

//  Keep the connector's own counters a PING or PONG carries (a JSON object
//  of at most LT_LTP_MAX_STATS bytes); anything else is ignored.
static void s_on_own_stats(session_t *session, lt_ltp_t *msg)
{
    const char *text = lt_ltp_stats(msg);
    if (!*text)
        return;
    json_error_t error;
    json_t *own = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    if (!json_is_object(own)) {
        json_decref(own);
        lt_log_debug("event=bad_stats connector=%s", session->name);
        return;
    }
    json_decref(session->dest->own);
    session->dest->own = own;
    session->dest->own_at = lt_time_ms();
}

//  HELLO: check version and identity, open the session, answer WELCOME.
static void s_on_hello(broker_t *self, zframe_t *routing_id, const char *user, lt_ltp_t *msg)
{
    char key[64];
    s_routing_key(routing_id, key);
    char reason[256] = "";
    lt_error_t code = LT_OK;
    if (lt_ltp_version(msg) != LT_LTP_VERSION) {
        code = LT_EVERSION;
        snprintf(reason, sizeof(reason), "protocol version %u is not supported (this broker: %d)",
                 lt_ltp_version(msg), LT_LTP_VERSION);
    }
    else if (!user || !*user) {
        code = LT_EAUTH;
        snprintf(reason, sizeof(reason), "connection has no authenticated connector name");
    }
    else if (strcmp(user, lt_ltp_name(msg)) != 0) {
        code = LT_EAUTH;
        snprintf(reason, sizeof(reason), "certificate names connector '%s' but HELLO claims '%s'",
                 user, lt_ltp_name(msg));
    }
    if (code != LT_OK) {
        self->stats.refused++;
        lt_log_warning("event=hello_refused claimed=%s certificate=%s reason=\"%s\"",
                       lt_ltp_name(msg), user ? user : "", reason);
        s_send_error(self, routing_id, code, reason);
        return;
    }
    session_t *old = zhashx_lookup(self->sessions, key);
    if (old)
        s_session_end(self, old, "HELLO again on the same connection");
    dest_t *dest = lt_broker_dest(self, user);
    if (dest->session)
        s_session_end(self, dest->session, "replaced by a new session");
    session_t *session = calloc(1, sizeof(*session));
    assert(session);
    session->routing_id = zframe_dup(routing_id);
    snprintf(session->key, sizeof(session->key), "%s", key);
    snprintf(session->name, sizeof(session->name), "%s", user);
    snprintf(session->kind, sizeof(session->kind), "%s", lt_ltp_kind(msg));
    session->credit = lt_ltp_credit(msg);
    session->batch = lt_ltp_batch(msg);
    session->last_recv = zclock_mono();
    session->started = lt_time_ms();
    session->dest = dest;
    dest->session = session;
    dest->scan_ready = true;
    dest->due_check_at = 0;
    dest->stats.sessions++;
    zhashx_insert(self->sessions, key, session);
    const lt_settings_t *st = lt_config_settings(self->config);
    lt_ltp_t *welcome = lt_ltp_new(LT_LTP_WELCOME);
    lt_ltp_set_version(welcome, LT_LTP_VERSION);
    lt_ltp_set_name(welcome, st->name);
    lt_ltp_set_heartbeat(welcome, (uint32_t) st->heartbeat_ms);
    lt_ltp_set_max_frame(welcome, (uint32_t) st->max_frame);
    lt_ltp_set_batch(welcome, true);   //  takes DONE with further 'deliveries', and BATCH
    s_send_now(self, session, &welcome);
    lt_log_info("event=session_start connector=%s kind=%s credit=%u", user, session->kind,
                session->credit);
}

//  Apply one message from the connection routing_id (its CURVE identity
//  user, NULL when none): HELLO, or a command of its session. *refused
//  says a session-level ERROR (no session, another identity) was sent for
//  the frame already: the other messages of a BATCH that earn it too are
//  not answered again, so that one frame never brings thousands of ERRORs.
static void s_handle(broker_t *self, zframe_t *routing_id, const char *user, lt_ltp_t *msg,
                     bool *refused)
{
    char key[64] = "";
    s_routing_key(routing_id, key);
    session_t *session = zhashx_lookup(self->sessions, key);
    if (lt_ltp_id(msg) == LT_LTP_HELLO)
        s_on_hello(self, routing_id, user, msg);
    else if (!session) {
        if (lt_ltp_id(msg) != LT_LTP_BYE && lt_ltp_id(msg) != LT_LTP_PONG && !*refused) {
            s_send_error(self, routing_id, LT_ESTATE, "no session: send HELLO first");
            *refused = true;
        }
    }
    else if (!user || strcmp(user, session->name) != 0) {
        //  A session is bound to the CURVE identity that opened it, not
        //  only to the routing id (which a peer may choose and reuse).
        char reason[256];
        snprintf(reason, sizeof(reason),
                 "this connection's session belongs to '%s', but the command comes from '%s'",
                 session->name, user ? user : "");
        session->dest->stats.identity++;
        if (!*refused) {
            lt_log_warning("event=identity_mismatch session=%s certificate=%s command=%s",
                           session->name, user ? user : "", lt_ltp_command(msg));
            s_send_error(self, routing_id, LT_EAUTH, reason);
            *refused = true;
        }
    }
    else {
        switch (lt_ltp_id(msg)) {
        case LT_LTP_PUBLISH:
            s_on_publish(self, session, msg);
            break;
        case LT_LTP_DONE:
            lt_broker_on_done(self, session, msg);
            break;
        case LT_LTP_RETRY:
            lt_broker_on_retry(self, session, msg, false);
            break;
        case LT_LTP_FAIL:
            lt_broker_on_retry(self, session, msg, true);
            break;
        case LT_LTP_CREDIT:
            session->credit += lt_ltp_credit(msg);
            break;
        case LT_LTP_PING: {
            s_on_own_stats(session, msg);
            lt_ltp_t *pong = lt_ltp_new(LT_LTP_PONG);
            lt_broker_send(self, session, &pong);
            break;
        }
        case LT_LTP_PONG:
            s_on_own_stats(session, msg);
            break;
        case LT_LTP_BYE:
            s_session_end(self, session, "BYE");
            break;
        default: {
            char reason[96];
            snprintf(reason, sizeof(reason), "%s is not sent by connectors",
                     lt_ltp_command(msg));
            session->dest->stats.errors++;
            s_send_error(self, routing_id, LT_ESTATE, reason);
        }
        }
    }
    lt_ltp_destroy(&msg);
}

//  Read and apply one message from the ROUTER, or each message of a
//  BATCH in order; returns how many, or -1 when none waits.
static int s_read_one(broker_t *self)
{
    const lt_settings_t *st = lt_config_settings(self->config);
    lt_err_t err;
    lt_ltp_read_t in;
    if (lt_ltp_read(self->router, true, (size_t) st->max_frame, &in, &err))
        return -1;
    lt_ltp_t *msg = in.msg;
    zframe_t *routing_id = in.routing_id;
    const char *user = in.has_user ? in.user : NULL;
    char key[64] = "";
    if (routing_id)
        s_routing_key(routing_id, key);
    session_t *session = routing_id ? zhashx_lookup(self->sessions, key) : NULL;
    if (session)
        session->last_recv = zclock_mono();
    int count = 1;
    if (!msg) {
        self->stats.bad_frames++;
        if (session)
            session->dest->stats.errors++;
        lt_log_warning("event=bad_frame connector=%s code=%s reason=\"%s\"",
                       user ? user : "?", lt_error_name(err.code), err.detail);
        if (routing_id)
            s_send_error(self, routing_id, err.code, err.detail);
    }
    else if (!routing_id)
        ;   //  a ROUTER always gives one
    else if (lt_ltp_id(msg) == LT_LTP_BATCH) {
        count = (int) lt_ltp_batch_count(msg);
        bool refused = false;
        for (size_t i = 0; i < lt_ltp_batch_count(msg); i++)
            s_handle(self, routing_id, user, lt_ltp_batch_take(msg, i), &refused);
    }
    else {
        bool refused = false;
        s_handle(self, routing_id, user, msg, &refused);
        msg = NULL;
    }
    lt_ltp_destroy(&msg);
    zframe_destroy(&routing_id);
    return count;
}

//  After a commit that kept nothing, the in-memory view (in flight,
//  cursors) may be ahead of the store: deliveries answered in the lost
//  batch are READY or WAITING again. Scan every destination from the start
//  so they are found; those still in flight are skipped as usual.
static void s_resync(broker_t *self)
{
    for (dest_t *dest = zhashx_first(self->dests); dest; dest = zhashx_next(self->dests)) {
        dest->cursor = 0;
        dest->scan_ready = true;
        dest->due_check_at = 0;
    }
}

static void s_send_reply(broker_t *self, reply_t *reply, bool ok, const char *why);
static void s_send_durable(broker_t *self);

//  Writes per group from which the relay counts as loaded: its groups are
//  synced behind while it reads the next; smaller ones are synced at once
//  in the relay's thread (fewer hand-offs between threads, the latency of
//  a relay that waits for the disk itself).
#define S_BUSY_GROUP 64

//  A commit that owes no answer and makes no delivery visible (the sink's
//  DONEs, retries, dead letters) is not synced on its own: the next sync
//  of the log covers it (one fdatasync covers every commit before it), and
//  it is asked for at the latest this many ms later. A machine crash in
//  between loses only such acknowledgements, whose deliveries go again and
//  which the receivers' delivered ids recognise; a SIGKILL loses nothing
//  (the commit is in the page cache). At 1 000 msgs/s this halves the
//  syncs: every message's DONE came back between two publishes and was
//  synced alone (docs/performance.md, "Acknowledgements synced with the
//  next commit").
#define S_LAZY_MS 100

//  Commit the open batch, then send the replies it owes once it is on disk.
bool lt_broker_commit(broker_t *self)
{
    bool ok = true;
    const char *why = "store commit failed; retry";
    static char full_why[300];   //  the store's own words when it refuses for now
    if (self->in_batch) {
        int64_t start = zclock_usecs();
        lt_err_t err;
        if (lt_store_commit(self->store, &err)) {
            ok = false;
            self->stats.store_errors++;
            if (lt_store_full(self->store)) {
                //  A full disk is transient: stay up, refuse what needs the
                //  disk (publishers retry) and try again next round.
                why = "store: disk full, retry later";
                if (!strstr(err.detail, "disk full")) {   //  a segment I/O error
                    snprintf(full_why, sizeof(full_why), "%.280s; retry later", err.detail);
                    why = full_why;
                }
                if (!self->store_full)
                    lt_log_error("event=store_full reason=\"%s\" action=refusing", err.detail);
                self->store_full = true;
                s_resync(self);
            }
            else {
                //  What this batch changed is lost, and the in-memory state
                //  no longer matches the disk. Answer the publishers, then
                //  stop: a restart rebuilds everything from the store, as
                //  after a crash.
                self->terminated = true;
                lt_log_error("event=store_error op=commit reason=\"%s\" action=stopping",
                             err.detail);
                zstr_send(self->pipe, "FATAL");
            }
        }
        else if (self->store_full) {
            self->store_full = false;
            lt_log_info("event=store_resumed note=\"the store takes writes again\"");
        }
        uint64_t took = (uint64_t) (zclock_usecs() - start);
        self->stats.commits++;
        self->stats.committed += self->batch_writes;
        self->last_batch_writes = self->batch_writes;
        lt_broker_ops_commit(self, took, self->batch_writes);
        self->stats.commit_us += took;
        if (took > self->stats.commit_max_us)
            self->stats.commit_max_us = took;
        self->in_batch = false;
    }
    //  The open batch's replies wait for this commit, or for the last one
    //  when nothing was written (a duplicate's answer rests on an earlier
    //  commit); a failed commit answers them at once.
    uint64_t gen = lt_store_committed(self->store);
    bool owed = false;   //  an answer waits for this commit
    for (size_t i = 0; i < self->reply_count; i++)
        if (self->replies[i].gen == 0) {
            owed = true;
            if (ok)
                self->replies[i].gen = gen;
            else
                s_send_reply(self, &self->replies[i], false, why);
        }
    if (lt_store_notify_fd(self->store) < 0)
        self->durable_gen = gen;   //  not pipelined: a commit is on disk when it returns
    else if (ok && gen > self->durable_gen) {
        if (!owed && lt_store_top_committed(self->store) <= self->durable_top) {
            //  Nothing waits for this commit (acknowledgements, retries,
            //  dead letters): its sync is the next one's, asked for at the
            //  latest S_LAZY_MS from now (s_sync_lazy).
            self->stats.lazy_commits++;
            if (self->lazy_gen <= self->durable_gen)
                self->lazy_due = zclock_mono() + S_LAZY_MS;
            self->lazy_gen = gen;
        }
        else if (self->last_batch_writes >= S_BUSY_GROUP) {
            self->sync_asked = gen;
            lt_store_sync_behind(self->store);
        }
        else
            lt_broker_sync(self);   //  answers what it covers
    }
    s_send_durable(self);
    return ok;
}

//  Ask for the sync a commit that owed nothing left for later, once it is
//  due, behind the relay.
static void s_sync_lazy(broker_t *self)
{
    if (self->lazy_gen <= self->durable_gen || self->lazy_gen <= self->sync_asked)
        return;
    if (zclock_mono() >= self->lazy_due) {
        self->sync_asked = lt_store_committed(self->store);
        lt_store_sync_behind(self->store);
    }
}

//  Send the ACCEPTED a session's answers were gathered into, if any.
static void s_flush_acks(broker_t *self, session_t *session)
{
    if (session->acks)
        lt_broker_send(self, session, &session->acks);
}

//  Send one owed reply (ok: as decided; otherwise REJECTED with why) and
//  release it. To a session that takes batched acknowledgements, an
//  ACCEPTED joins the one being filled (s_flush_acks sends it).
static void s_send_reply(broker_t *self, reply_t *reply, bool ok, const char *why)
{
    char key[64];
    s_routing_key(reply->routing_id, key);
    session_t *session = zhashx_lookup(self->sessions, key);
    if (session) {
        bool accepted = ok && reply->id == LT_LTP_ACCEPTED;
        if (accepted) {
            if (reply->duplicate)
                session->dest->stats.duplicates++;
            else
                session->dest->stats.accepted++;
        }
        if (accepted && session->acks &&
            lt_ltp_add_ack(session->acks, reply->seq, reply->msgid, reply->duplicate) == 0)
            ;   //  goes with the ACCEPTED being filled
        else {
            s_flush_acks(self, session);
            lt_ltp_t *msg = lt_ltp_new(ok ? reply->id : LT_LTP_REJECTED);
            lt_ltp_set_seq(msg, reply->seq);
            if (accepted) {
                lt_ltp_set_msgid(msg, reply->msgid);
                lt_ltp_set_duplicate(msg, reply->duplicate);
            }
            else {
                lt_ltp_set_code(msg, ok ? (uint32_t) reply->code : LT_ESTORE);
                lt_ltp_set_reason(msg, ok ? reply->reason : why);
            }
            if (accepted && session->batch)
                session->acks = msg;
            else
                lt_broker_send(self, session, &msg);
        }
        lt_broker_ops_confirm(self, (uint64_t) (zclock_usecs() - reply->read_us));
    }
    zframe_destroy(&reply->routing_id);
    reply->gen = UINT64_MAX;   //  sent
}

//  Send the replies whose commit is on disk, in order, and keep the rest.
static void s_send_durable(broker_t *self)
{
    size_t kept = 0;
    bool sent = false;
    for (size_t i = 0; i < self->reply_count; i++) {
        reply_t *reply = &self->replies[i];
        if (reply->gen == UINT64_MAX)
            continue;   //  answered at a failed commit
        if (reply->gen != 0 && reply->gen <= self->durable_gen) {
            s_send_reply(self, reply, true, NULL);
            sent = true;
        }
        else if (kept++ != i)
            self->replies[kept - 1] = *reply;
    }
    self->reply_count = kept;
    for (session_t *session = sent ? zhashx_first(self->sessions) : NULL; session;
         session = zhashx_next(self->sessions))
        s_flush_acks(self, session);
}

//  The store reports more commits on disk: answer their publishers and let
//  their deliveries go. A failed sync of the log stops the broker, as a
//  failed commit does: nothing after it can be confirmed, and a restart
//  reads what is on disk.
static void s_on_durable(broker_t *self)
{
    lt_err_t err;
    uint64_t gen, top;
    if (lt_store_durable(self->store, &gen, &top, &err)) {
        if (!self->terminated) {
            self->terminated = true;
            lt_log_error("event=store_error op=sync reason=\"%s\" action=stopping", err.detail);
            zstr_send(self->pipe, "FATAL");
        }
        return;
    }
    if (gen > self->durable_gen)
        self->durable_gen = gen;
    if (top > self->durable_top || self->durable_top == UINT64_MAX) {
        self->durable_top = top;
        for (dest_t *dest = zhashx_first(self->dests); dest; dest = zhashx_next(self->dests))
            dest->scan_ready = true;
    }
    s_send_durable(self);
    lt_broker_flush(self);   //  the answers go now, not after the next commit
}

int lt_broker_sync(broker_t *self)
{
    lt_err_t err;
    self->sync_asked = lt_store_committed(self->store);
    if (lt_store_sync(self->store, &err)) {
        lt_log_error("event=store_error op=sync reason=\"%s\"", err.detail);
        s_on_durable(self);   //  stops the broker
        return -1;
    }
    s_on_durable(self);
    return 0;
}

//  Heartbeats and expiry of silent sessions.
static void s_heartbeat(broker_t *self)
{
    int64_t now = zclock_mono();
    int interval = lt_config_settings(self->config)->heartbeat_ms;
    zlistx_t *gone = zlistx_new();
    for (session_t *session = zhashx_first(self->sessions); session;
         session = zhashx_next(self->sessions)) {
        if (now - session->last_recv > 3 * (int64_t) interval)
            zlistx_add_end(gone, session);
        else if (now - session->last_send >= interval) {
            lt_ltp_t *ping = lt_ltp_new(LT_LTP_PING);
            lt_broker_send(self, session, &ping);
        }
    }
    for (session_t *session = zlistx_first(gone); session; session = zlistx_next(gone)) {
        session->dest->stats.expired++;
        s_session_end(self, session, "silent for 3 heartbeats");
    }
    zlistx_destroy(&gone);
}

//  Apply a new config sent with RELOAD: routes and reloadable settings.
static void s_reload(broker_t *self, lt_config_t *config)
{
    const lt_settings_t *old = lt_config_settings(self->config);
    const lt_settings_t *now = lt_config_settings(config);
    if (strcmp(old->endpoint, now->endpoint) || strcmp(old->data_dir, now->data_dir))
        lt_log_warning("event=reload note=\"endpoint and data changes need a restart\"");
    lt_config_destroy(&self->config);
    self->config = config;
    lt_store_set_hold(self->store, now->hold_ms);
    lt_store_set_inline_max(self->store, (size_t) now->inline_max);
    lt_store_set_segment_size(self->store, (uint64_t) now->segment_size);
    lt_ledger_set_province(lt_store_ledger(self->store), now->province);   //  ledger
    lt_ledger_set_secret_types(lt_store_ledger(self->store), now->secret_types);
    int level = lt_log_level_from_name(now->log_level);
    if (level >= 0)
        lt_log_set_level((lt_log_level_t) level);
    lt_log_info("event=reloaded routes=%zu", lt_config_routes(config));
}

//  Handle a command from the actor pipe.
static void s_on_pipe(broker_t *self)
{
    zmsg_t *msg = zmsg_recv(self->pipe);
    if (!msg) {
        self->terminated = true;
        return;
    }
    char *command = zmsg_popstr(msg);
    if (!command || streq(command, "$TERM"))
        self->terminated = true;
    else if (streq(command, "RELOAD")) {
        zframe_t *frame = zmsg_pop(msg);
        if (frame && zframe_size(frame) == sizeof(void *)) {
            lt_config_t *config = NULL;
            memcpy(&config, zframe_data(frame), sizeof(void *));
            s_reload(self, config);
        }
        zframe_destroy(&frame);
        zsock_signal(self->pipe, 0);
    }
    else if (streq(command, "ENDPOINT"))
        zstr_send(self->pipe, self->endpoint);
    free(command);
    zmsg_destroy(&msg);
}

//  Open everything; returns -1 (logged) when the broker cannot serve.
static int s_start(broker_t *self)
{
    const lt_settings_t *st = lt_config_settings(self->config);
    char keys[600], path[700];
    if (*st->keys_dir)
        snprintf(keys, sizeof(keys), "%s", st->keys_dir);
    else
        snprintf(keys, sizeof(keys), "%s/keys", st->data_dir);
    if (zsys_dir_create("%s", st->data_dir)) {
        lt_log_error("event=start_failed reason=\"cannot create data directory %s\"",
                     st->data_dir);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/lthub.db", st->data_dir);
    lt_err_t err;
    self->store = lt_store_new(path, &err);
    if (!self->store) {
        lt_log_error("event=start_failed reason=\"%s\"", err.detail);
        return -1;
    }
    lt_ledger_set_province(lt_store_ledger(self->store), st->province);   //  ledger
    lt_ledger_set_secret_types(lt_store_ledger(self->store), st->secret_types);
    //  Commits do not wait for the disk; the store's thread syncs the log
    //  behind them and replies and deliveries wait for that (s_on_durable).
    if (lt_store_set_pipelined(self->store, &err))
        lt_log_warning("event=store_sync_inline reason=\"%s\"", err.detail);
    self->durable_gen = lt_store_committed(self->store);
    if (lt_store_durable(self->store, &self->durable_gen, &self->durable_top, &err)) {
        lt_log_error("event=start_failed reason=\"%s\"", err.detail);
        return -1;
    }

    snprintf(path, sizeof(path), "%s/broker.cert_secret", keys);
    zcert_t *cert = zcert_load(path);
    if (!cert) {
        lt_log_error("event=start_failed reason=\"cannot read the broker certificate %s; "
                     "run 'lthub keygen'\"",
                     path);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/allowed", keys);
    self->zap = zactor_new(lt_zap_actor, path);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->zap || !self->router) {
        zcert_destroy(&cert);
        lt_log_error("event=start_failed reason=\"cannot create sockets\"");
        return -1;
    }
    zcert_apply(cert, self->router);
    zcert_destroy(&cert);
    zsock_set_curve_server(self->router, 1);
    zsock_set_zap_domain(self->router, "lthub");
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_sndhwm(self->router, 100000);
    zsock_set_rcvhwm(self->router, 10000);
    zsock_set_sndtimeo(self->router, 1000);
    zsock_set_maxmsgsize(self->router, (int64_t) st->max_frame + 4096);
    if (zsock_bind(self->router, "%s", st->endpoint) < 0) {
        lt_log_error("event=start_failed reason=\"cannot bind %s: %s\"", st->endpoint,
                     zmq_strerror(zmq_errno()));
        return -1;
    }
    snprintf(self->endpoint, sizeof(self->endpoint), "%s", zsock_endpoint(self->router));
    self->admin = zsock_new(ZMQ_ROUTER);
    if (!self->admin || zsock_bind(self->admin, LT_BROKER_ADMIN_ENDPOINT) < 0) {
        lt_log_error("event=start_failed reason=\"cannot bind the admin endpoint\"");
        return -1;
    }
    lt_store_set_hold(self->store, st->hold_ms);
    lt_store_set_inline_max(self->store, (size_t) st->inline_max);
    lt_store_set_packed_rows(self->store, true);   //  s_deliver sends them as they are
    lt_store_set_segment_size(self->store, (uint64_t) st->segment_size);
    for (size_t i = 0; i < lt_config_connectors(self->config); i++)
        lt_broker_dest(self, lt_config_connector(self->config, i)->name);
    lt_store_counts_t counts;
    lt_store_counts(self->store, NULL, &counts);
    lt_log_info("event=started endpoint=%s store=%s/lthub.db messages=%llu ready=%llu "
                "waiting=%llu dead=%llu",
                self->endpoint, st->data_dir, (unsigned long long) counts.messages,
                (unsigned long long) counts.ready, (unsigned long long) counts.waiting,
                (unsigned long long) counts.dead);
    return 0;
}

static void s_stop(broker_t *self)
{
    if (self->in_batch)
        lt_broker_commit(self);
    if (self->store && (self->reply_count || self->lazy_gen > self->durable_gen))
        lt_broker_sync(self);   //  answer what is on disk before the sessions go
    if (self->sessions)
        lt_broker_flush(self);
    zhashx_destroy(&self->sessions);
    zhashx_destroy(&self->dests);
    json_decref(self->stuck);
    zsock_destroy(&self->admin);
    zsock_destroy(&self->router);
    zactor_destroy(&self->zap);
    lt_store_destroy(&self->store);
    lt_config_destroy(&self->config);
    for (size_t i = 0; i < self->reply_count; i++)
        zframe_destroy(&self->replies[i].routing_id);
    free(self->replies);
}

//  Commit the open batch, unless the store's thread is still syncing an
//  earlier commit (a large group, lt_broker_commit): then the batch goes on
//  taking what arrives until that sync ends (the loop commits it on the
//  store's notice), so each sync of the log carries one commit of
//  everything that came meanwhile, and the relay reads and stores while
//  the disk syncs. A batch past its bounds is committed at once.
static void s_commit_due(broker_t *self)
{
    if (!self->in_batch && !self->reply_count)
        return;
    const lt_settings_t *st = lt_config_settings(self->config);
    bool syncing = self->sync_asked > self->durable_gen;
    if (!syncing || self->batch_writes >= (size_t) st->batch_max ||
        self->batch_bytes >= (size_t) st->batch_bytes)
        lt_broker_commit(self);
}

#define S_DISPATCH_EVERY 64   //  reads between two dispatches in a long read

//  Hand connected destinations what is due, inside the open batch (only
//  deliveries already on disk go: the durable top).
static void s_dispatch_ready(broker_t *self)
{
    if (self->store_full)
        return;
    for (dest_t *dest = zhashx_first(self->dests); dest; dest = zhashx_next(self->dests))
        if (dest->session && dest->session->credit > 0)
            lt_broker_dispatch(self, dest);
}

//  Hand every connected destination what is due.
static void s_dispatch_all(broker_t *self)
{
    //  While the disk is full, answers cannot be recorded: deliver at
    //  most once a second (which also probes whether space is back).
    bool dispatch = !self->store_full || zclock_mono() >= self->next_full_dispatch;
    if (self->store_full && dispatch)
        self->next_full_dispatch = zclock_mono() + 1000;
    for (dest_t *dest = zhashx_first(self->dests); dest && dispatch;
         dest = zhashx_next(self->dests))
        if (dest->session)
            lt_broker_dispatch(self, dest);
    s_commit_due(self);   //  dispatch may have moved deliveries to dead letters
}

void lt_broker_actor(zsock_t *pipe, void *args)
{
    broker_t self_data = {0}, *self = &self_data;
    self->pipe = pipe;
    self->config = args;
    self->started = lt_time_ms();
    self->sessions = zhashx_new();
    zhashx_set_destructor(self->sessions, s_session_free);
    self->dests = zhashx_new();
    zhashx_set_destructor(self->dests, s_dest_free);
    if (s_start(self)) {
        s_stop(self);
        zsock_signal(pipe, 1);
        return;
    }
    zsock_signal(pipe, 0);
    int durable_fd = lt_store_notify_fd(self->store);
    zmq_pollitem_t items[] = {
        {zsock_resolve(self->router), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->admin), 0, ZMQ_POLLIN, 0},
        {NULL, durable_fd, ZMQ_POLLIN, 0},
    };
    int item_count = durable_fd >= 0 ? 4 : 3;
    int64_t next_beat = zclock_mono(), next_trim = 0;
    while (!self->terminated) {
        const lt_settings_t *st = lt_config_settings(self->config);
        int64_t now = zclock_mono();
        long timeout = (long) (next_beat - now);
        if (timeout < 0)
            timeout = 0;
        //  Wake up for due retries too.
        if (timeout > 50)
            timeout = 50;
        if (zmq_poll(items, item_count, timeout) < 0)
            break;
        if (item_count == 4 && (items[3].revents & ZMQ_POLLIN)) {
            //  Answer and deliver what reached the disk, and commit what
            //  was stored meanwhile, before reading more.
            s_on_durable(self);
            s_commit_due(self);
            s_dispatch_all(self);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            s_on_pipe(self);
            st = lt_config_settings(self->config);   //  RELOAD replaced the config
        }
        if (items[2].revents & ZMQ_POLLIN)
            lt_broker_admin_handle(self);
        //  Read everything waiting, within the batch bounds, then commit once.
        self->batch_bytes = 0;
        size_t reads = 0;
        size_t dispatch_at = S_DISPATCH_EVERY;
        int got;
        while (reads < (size_t) st->batch_max && self->batch_bytes < (size_t) st->batch_bytes &&
               (got = s_read_one(self)) >= 0) {
            reads += (size_t) got;
            //  Credit that came back with DONEs is used at once for what
            //  is on disk, rather than after the whole read.
            if (reads >= dispatch_at && self->durable_top != UINT64_MAX) {
                dispatch_at = reads + S_DISPATCH_EVERY;
                s_dispatch_ready(self);
                lt_broker_flush(self);
            }
            //  The sync ended: commit what was read meanwhile and answer
            //  what it covered now rather than after a long read.
            if (lt_store_synced(self->store) > self->durable_gen)
                break;
        }
        size_t round_bytes = self->batch_bytes;
        if (lt_store_synced(self->store) > self->durable_gen)
            s_on_durable(self);
        s_commit_due(self);
        //  Large payloads pass through heap blocks freed on this thread but
        //  allocated on ZeroMQ's I/O thread; give them back to the system so
        //  memory stays flat whatever the traffic (at most every 100 ms).
        if (round_bytes > 1024 * 1024 && zclock_mono() >= next_trim) {
            malloc_trim(0);
            next_trim = zclock_mono() + 100;
        }
        if (lt_time_ms() >= self->next_unhold) {
            lt_broker_release_holds(self);
            self->next_unhold = lt_time_ms() + 500;
        }
        s_dispatch_all(self);
        s_sync_lazy(self);
        lt_broker_retain(self, reads > 0);   //  a bounded prune step when one is due
        if (zclock_mono() >= next_beat) {
            s_heartbeat(self);
            lt_broker_expire_inflight(self);
            next_beat = zclock_mono() + st->heartbeat_ms / 4 + 1;
        }
        lt_broker_flush(self);
    }
    lt_log_info("event=stopping");
    s_stop(self);
    //  This thread hashed payloads: release OpenSSL's per-thread state now,
    //  the actor thread is not joined before the process exits.
    OPENSSL_thread_stop();
}

char *lt_broker_admin_request(const char *request, int timeout_ms)
{
    zsock_t *req = zsock_new(ZMQ_DEALER);
    if (!req)
        return NULL;
    zsock_set_rcvtimeo(req, timeout_ms);
    zsock_set_linger(req, 0);
    char *reply = NULL;
    if (zsock_connect(req, LT_BROKER_ADMIN_ENDPOINT) == 0 && zstr_send(req, request) == 0)
        reply = zstr_recv(req);
    zsock_destroy(&req);
    return reply;
}

//  ---------------------------------------------------------------------------
//  Self-test: a broker actor on loopback with real CURVE clients.

//  A DEALER with a certificate, connected to the broker under test.
static zsock_t *s_test_client_as(const char *keys, const char *name, const char *endpoint,
                                 const char *routing_id);

static zsock_t *s_test_client(const char *keys, const char *name, const char *endpoint)
{
    return s_test_client_as(keys, name, endpoint, NULL);
}

//  The same, with a routing id chosen by the client (NULL: ZeroMQ's).
static zsock_t *s_test_client_as(const char *keys, const char *name, const char *endpoint,
                                 const char *routing_id)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.cert_secret", keys, name);
    zcert_t *cert = zcert_load(path);
    if (!cert)
        cert = zcert_new();   //  a key the broker has never seen
    snprintf(path, sizeof(path), "%s/broker.cert", keys);
    zcert_t *broker = zcert_load(path);
    assert(broker);
    zsock_t *client = zsock_new(ZMQ_DEALER);
    zcert_apply(cert, client);
    zsock_set_curve_serverkey(client, zcert_public_txt(broker));
    zsock_set_rcvtimeo(client, 2000);
    zsock_set_linger(client, 0);
    if (routing_id)
        zsock_set_identity(client, routing_id);
    assert(zsock_connect(client, "%s", endpoint) == 0);
    zcert_destroy(&cert);
    zcert_destroy(&broker);
    return client;
}

//  Messages a BATCH brought that the test has not read yet, per client.
static struct {
    zsock_t *client;     //  the socket they came on
    lt_ltp_t *batch;     //  the BATCH
    size_t next;         //  its next message
} s_test_held[4];

//  The next message on client, the messages of a BATCH one by one (a
//  client that said 'batch' may get several in one frame).
static lt_ltp_t *s_test_next(zsock_t *client, lt_err_t *err)
{
    for (size_t i = 0; i < sizeof(s_test_held) / sizeof(s_test_held[0]); i++)
        if (s_test_held[i].client == client && s_test_held[i].batch) {
            lt_ltp_t *msg = lt_ltp_batch_take(s_test_held[i].batch, s_test_held[i].next++);
            if (s_test_held[i].next == lt_ltp_batch_count(s_test_held[i].batch))
                lt_ltp_destroy(&s_test_held[i].batch);
            return msg;
        }
    lt_ltp_t *msg = lt_ltp_recv(zsock_resolve(client), 0, err, NULL);
    if (!msg || lt_ltp_id(msg) != LT_LTP_BATCH)
        return msg;
    for (size_t i = 0; i < sizeof(s_test_held) / sizeof(s_test_held[0]); i++)
        if (!s_test_held[i].batch) {
            s_test_held[i].client = client;
            s_test_held[i].batch = msg;
            s_test_held[i].next = 0;
            return s_test_next(client, err);
        }
    assert(!"more clients holding batches than the test keeps");
    return NULL;
}

//  Receive one LTP message, skipping PINGs; NULL on timeout.
static lt_ltp_t *s_test_recv(zsock_t *client)
{
    while (true) {
        lt_err_t err;
        lt_ltp_t *msg = s_test_next(client, &err);
        if (!msg || lt_ltp_id(msg) != LT_LTP_PING)
            return msg;
        lt_ltp_destroy(&msg);
    }
}

//  Expect the next message to be command id; returns it.
static lt_ltp_t *s_test_expect(zsock_t *client, lt_ltp_id_t id)
{
    lt_ltp_t *msg = s_test_recv(client);
    if (!msg || lt_ltp_id(msg) != id)
        fprintf(stderr, "expected %s, got %s\n", lt_ltp_id_name(id),
                msg ? lt_ltp_command(msg) : "nothing");
    assert(msg && lt_ltp_id(msg) == id);
    return msg;
}

//  True when neither client gets anything but PINGs (answered, so that the
//  sessions stay up) for ms milliseconds.
static bool s_test_quiet(zsock_t *one, zsock_t *two, int ms)
{
    int64_t until = zclock_mono() + ms;
    zsock_t *clients[] = {one, two};
    while (zclock_mono() < until)
        for (int i = 0; i < 2; i++) {
            zsock_set_rcvtimeo(clients[i], 20);
            lt_err_t err;
            lt_ltp_t *msg = s_test_next(clients[i], &err);
            zsock_set_rcvtimeo(clients[i], 2000);
            if (!msg)
                continue;
            bool ping = lt_ltp_id(msg) == LT_LTP_PING;
            lt_ltp_destroy(&msg);
            if (!ping)
                return false;
            lt_ltp_t *pong = lt_ltp_new(LT_LTP_PONG);
            lt_ltp_send(&pong, zsock_resolve(clients[i]));
        }
    return true;
}

//  Say HELLO; batch: offer to take batched acknowledgements and BATCH.
static void s_test_hello_batch(zsock_t *client, const char *name, uint32_t credit, bool batch)
{
    lt_ltp_t *hello = lt_ltp_new(LT_LTP_HELLO);
    lt_ltp_set_version(hello, LT_LTP_VERSION);
    lt_ltp_set_name(hello, name);
    lt_ltp_set_kind(hello, "test");
    lt_ltp_set_credit(hello, credit);
    lt_ltp_set_batch(hello, batch);
    assert(lt_ltp_send(&hello, zsock_resolve(client)) == 0);
}

static void s_test_hello(zsock_t *client, const char *name, uint32_t credit)
{
    s_test_hello_batch(client, name, credit, false);
}

//  A PUBLISH of a document with key to recipient.
static lt_ltp_t *s_test_publish_msg(uint64_t seq, lt_kind_t kind, const char *key,
                                    const char *to, bool bad_digest)
{
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, kind);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, "new");
    lt_envelope_set_source(env, "someone-else");
    if (to)
        lt_envelope_add_recipient(env, to);
    lt_envelope_set_payload_facts(env, bad_digest ? "other" : "payload", bad_digest ? 5 : 7);
    lt_ltp_t *msg = lt_ltp_new(LT_LTP_PUBLISH);
    lt_ltp_set_seq(msg, seq);
    lt_ltp_set_envelope(msg, &env);
    lt_ltp_set_payload(msg, "payload", 7);
    return msg;
}

//  Send a PUBLISH of a document with key to recipient.
static void s_test_publish(zsock_t *client, uint64_t seq, lt_kind_t kind, const char *key,
                           const char *to, bool bad_digest)
{
    lt_ltp_t *msg = s_test_publish_msg(seq, kind, key, to, bad_digest);
    assert(lt_ltp_send(&msg, zsock_resolve(client)) == 0);
}

//  The broker's stats once they contain text (waited for, at most a
//  second); the caller frees them.
static char *s_test_stats_with(const char *text)
{
    char *reply = NULL;
    for (int i = 0; i < 50; i++) {
        zstr_free(&reply);
        reply = lt_broker_admin_request("{\"op\":\"stats\"}", 2000);
        assert(reply);
        if (strstr(reply, text))
            break;
        zclock_sleep(20);
    }
    return reply;
}

//  A number in the broker's section of its stats (-1: none).
static json_int_t s_test_broker_stat(const char *name)
{
    char *reply = lt_broker_admin_request("{\"op\":\"stats\"}", 2000);
    assert(reply);
    json_t *stats = json_loads(reply, 0, NULL);
    zstr_free(&reply);
    json_t *value = json_object_get(json_object_get(stats, "broker"), name);
    json_int_t number = json_is_integer(value) ? json_integer_value(value) : -1;
    json_decref(stats);
    return number;
}

//  Take the sink's DELIVERs of the documents first and second, and answer
//  both with one DONE naming the second in 'deliveries'.
static void s_test_done_two(zsock_t *sink, const char *first, const char *second)
{
    lt_ltp_t *done = lt_ltp_new(LT_LTP_DONE);
    for (int i = 0; i < 2; i++) {
        lt_ltp_t *msg = s_test_expect(sink, LT_LTP_DELIVER);
        assert(streq(lt_envelope_key(lt_ltp_envelope(msg)), i ? second : first));
        if (i)
            assert(lt_ltp_add_delivery(done, lt_ltp_delivery(msg)) == 0);
        else
            lt_ltp_set_delivery(done, lt_ltp_delivery(msg));
        lt_ltp_destroy(&msg);
    }
    assert(lt_ltp_send(&done, zsock_resolve(sink)) == 0);
}

void lt_broker_test(bool verbose)
{
    if (verbose)
        printf(" * lt_broker: ");
    char dir[] = "/tmp/lt_broker_test_XXXXXX";
    assert(mkdtemp(dir));
    char keys[64];
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    lt_err_t err;
    assert(lt_keys_broker(keys, &err) >= 0);
    assert(lt_keys_connector(keys, "pub", &err) >= 0);
    assert(lt_keys_connector(keys, "sink", &err) >= 0);
    char cfg_path[96];
    snprintf(cfg_path, sizeof(cfg_path), "%s/lthub.cfg", dir);
    FILE *cfg = fopen(cfg_path, "w");
    assert(cfg);
    fprintf(cfg,
            "broker\n    endpoint = \"tcp://127.0.0.1:*\"\n    data = \"%s/data\"\n"
            "    keys = \"%s\"\n    heartbeat = 200\nroutes\n    route\n"
            "        kind = \"document,status\"\n        match = \"*\"\n        to = \"sink\"\n"
            "connectors\n    pub\n    sink\n",
            dir, keys);
    fclose(cfg);
    lt_config_t *config = lt_config_load(cfg_path, stderr, &err);
    assert(config);
    zactor_t *broker = zactor_new(lt_broker_actor, config);
    assert(broker);
    zstr_send(broker, "ENDPOINT");
    char *endpoint = zstr_recv(broker);
    assert(endpoint && strncmp(endpoint, "tcp://127.0.0.1:", 16) == 0);

    //  An unknown key gets no answer at all: CURVE refuses the handshake.
    zsock_t *stranger = s_test_client(keys, "nobody", endpoint);
    zsock_set_rcvtimeo(stranger, 500);
    s_test_hello(stranger, "pub", 10);
    assert(s_test_recv(stranger) == NULL);
    zsock_destroy(&stranger);

    zsock_t *pub = s_test_client(keys, "pub", endpoint);
    //  Malformed frames get ERROR with the reason and the broker goes on.
    zstr_send(pub, "junk");
    lt_ltp_t *msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_EPROTO);
    lt_ltp_destroy(&msg);
    zstr_sendx(pub, "NOPE", "\x80", NULL);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_ECOMMAND);
    lt_ltp_destroy(&msg);
    zstr_sendx(pub, "PUBLISH", "\xc1\xc1", NULL);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_EPROTO);
    lt_ltp_destroy(&msg);
    //  Nothing but HELLO before a session; a BATCH of such messages earns
    //  one ERROR, not one each.
    s_test_publish(pub, 1, LT_KIND_DOCUMENT, "DOC-1", "000.00.00.G22", false);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_ESTATE);
    lt_ltp_destroy(&msg);
    lt_ltp_t *early = lt_ltp_new(LT_LTP_BATCH);
    for (int i = 0; i < 3; i++) {
        lt_ltp_t *publish = s_test_publish_msg(1, LT_KIND_DOCUMENT, "DOC-1", "000.00.00.G22", false);
        assert(lt_ltp_batch_add(early, &publish) == 0);
    }
    assert(lt_ltp_send(&early, zsock_resolve(pub)) == 0);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_ESTATE);
    lt_ltp_destroy(&msg);
    assert(s_test_quiet(pub, pub, 200));
    //  A HELLO claiming another connector's name is refused.
    s_test_hello(pub, "sink", 10);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_EAUTH && strstr(lt_ltp_reason(msg), "'pub'"));
    lt_ltp_destroy(&msg);
    s_test_hello(pub, "pub", 10);
    msg = s_test_expect(pub, LT_LTP_WELCOME);
    assert(lt_ltp_heartbeat(msg) == 200);
    lt_ltp_destroy(&msg);

    //  Publishing: a good one, a resend, a bad digest, an unroutable kind.
    s_test_publish(pub, 1, LT_KIND_DOCUMENT, "DOC-1", "000.00.00.G22", false);
    msg = s_test_expect(pub, LT_LTP_ACCEPTED);
    assert(lt_ltp_seq(msg) == 1 && !lt_ltp_duplicate(msg));
    char first[40];
    snprintf(first, sizeof(first), "%s", lt_ltp_msgid(msg));
    assert(lt_id_valid(first));
    lt_ltp_destroy(&msg);
    s_test_publish(pub, 2, LT_KIND_DOCUMENT, "DOC-1", "000.00.00.G22", false);
    msg = s_test_expect(pub, LT_LTP_ACCEPTED);
    assert(lt_ltp_seq(msg) == 2 && lt_ltp_duplicate(msg) && streq(lt_ltp_msgid(msg), first));
    lt_ltp_destroy(&msg);
    s_test_publish(pub, 3, LT_KIND_DOCUMENT, "DOC-2", "000.00.00.G22", true);
    msg = s_test_expect(pub, LT_LTP_REJECTED);
    assert(lt_ltp_seq(msg) == 3 && lt_ltp_code(msg) == LT_EINVAL);
    assert(strstr(lt_ltp_reason(msg), "does not match"));
    lt_ltp_destroy(&msg);
    s_test_publish(pub, 4, LT_KIND_DOSSIER, "HS-1", NULL, false);
    msg = s_test_expect(pub, LT_LTP_REJECTED);
    assert(lt_ltp_code(msg) == LT_EROUTE && strstr(lt_ltp_reason(msg), "dossier"));
    lt_ltp_destroy(&msg);

    //  The sink gets the one stored message, once, with the source the
    //  broker authenticated rather than the one written in the envelope.
    zsock_t *sink = s_test_client(keys, "sink", endpoint);
    s_test_hello(sink, "sink", 1);
    msg = s_test_expect(sink, LT_LTP_WELCOME);
    lt_ltp_destroy(&msg);
    msg = s_test_expect(sink, LT_LTP_DELIVER);
    assert(lt_ltp_attempt(msg) == 1);
    assert(streq(lt_envelope_source(lt_ltp_envelope(msg)), "pub"));
    assert(streq(lt_envelope_id(lt_ltp_envelope(msg)), first));
    assert(lt_ltp_payload_size(msg) == 7 && memcmp(lt_ltp_payload(msg), "payload", 7) == 0);
    uint64_t delivery = lt_ltp_delivery(msg);
    lt_ltp_destroy(&msg);
    lt_ltp_t *done = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_set_delivery(done, delivery);
    lt_ltp_send(&done, zsock_resolve(sink));
    //  A second DONE for the same delivery is stale: it adds no credit.
    done = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_set_delivery(done, delivery);
    lt_ltp_send(&done, zsock_resolve(sink));

    //  The admin view agrees, and the rejected inputs were kept.
    char *reply = s_test_stats_with("\"done\":1,");
    assert(strstr(reply, "\"rejects\":2"));
    assert(strstr(reply, "\"messages\":1,"));
    assert(strstr(reply, "\"name\":\"sink\",\"connected\":true,\"kind\":\"test\",\"credit\":1,"));
    zstr_free(&reply);

    //  Nothing is confirmed or delivered before its commit is on disk: while
    //  the store's log syncs are held, a publish gets no answer and the idle
    //  sink (credit 1) nothing; once the syncs go on, both come.
    lt_store_test_hold_syncs(true);
    s_test_publish(pub, 5, LT_KIND_DOCUMENT, "DOC-5", "000.00.00.G22", false);
    assert(s_test_quiet(pub, sink, 400));
    lt_store_test_hold_syncs(false);
    msg = s_test_expect(pub, LT_LTP_ACCEPTED);
    assert(lt_ltp_seq(msg) == 5 && !lt_ltp_duplicate(msg));
    lt_ltp_destroy(&msg);
    msg = s_test_expect(sink, LT_LTP_DELIVER);
    assert(streq(lt_envelope_key(lt_ltp_envelope(msg)), "DOC-5"));
    //  A DONE owes nobody an answer: its commit is not synced alone but
    //  left for the next sync, which comes within S_LAZY_MS even when
    //  nothing else does.
    json_int_t syncs = s_test_broker_stat("syncs"), lazy = s_test_broker_stat("lazy_commits");
    assert(syncs > 0 && lazy >= 0);
    done = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_set_delivery(done, lt_ltp_delivery(msg));
    lt_ltp_send(&done, zsock_resolve(sink));
    lt_ltp_destroy(&msg);
    for (int i = 0; i < 100 && (s_test_broker_stat("lazy_commits") == lazy ||
                                s_test_broker_stat("syncs") == syncs);
         i++)
        zclock_sleep(20);
    assert(s_test_broker_stat("lazy_commits") >= lazy + 1);
    assert(s_test_broker_stat("syncs") >= syncs + 1);

    //  Batched acknowledgements. A connector that says 'batch' in HELLO
    //  gets the answers that one sync makes durable as one ACCEPTED (the
    //  first in its own fields, the others in 'acks', in order); the
    //  broker says 'batch' in WELCOME and takes a DONE naming several
    //  deliveries. A connector that does not say it gets one each (above).
    s_test_hello_batch(pub, "pub", 10, true);
    msg = s_test_expect(pub, LT_LTP_WELCOME);
    assert(lt_ltp_batch(msg));
    lt_ltp_destroy(&msg);
    s_test_hello_batch(sink, "sink", 10, true);
    msg = s_test_expect(sink, LT_LTP_WELCOME);
    assert(lt_ltp_batch(msg));
    lt_ltp_destroy(&msg);
    lt_store_test_hold_syncs(true);
    s_test_publish(pub, 6, LT_KIND_DOCUMENT, "DOC-6", "000.00.00.G22", false);
    s_test_publish(pub, 7, LT_KIND_DOCUMENT, "DOC-1", "000.00.00.G22", false);
    s_test_publish(pub, 8, LT_KIND_DOCUMENT, "DOC-8", "000.00.00.G22", false);
    assert(s_test_quiet(pub, sink, 300));
    lt_store_test_hold_syncs(false);
    uint64_t answered[3] = {0};
    size_t answers = 0, accepted_msgs = 0;
    while (answers < 3) {
        msg = s_test_expect(pub, LT_LTP_ACCEPTED);
        accepted_msgs++;
        answered[answers++] = lt_ltp_seq(msg);
        assert(lt_ltp_duplicate(msg) == (lt_ltp_seq(msg) == 7));
        for (size_t i = 0; i < lt_ltp_ack_count(msg) && answers < 3; i++) {
            const lt_ltp_ack_t *ack = lt_ltp_ack(msg, i);
            answered[answers++] = ack->seq;
            assert(ack->duplicate == (ack->seq == 7));
            assert(lt_id_valid(ack->msgid) && (ack->seq != 7 || streq(ack->msgid, first)));
        }
        lt_ltp_destroy(&msg);
    }
    assert(answered[0] == 6 && answered[1] == 7 && answered[2] == 8);
    assert(accepted_msgs < 3);   //  7 and 8 came while 6's sync was held: one group
    s_test_done_two(sink, "DOC-6", "DOC-8");
    reply = s_test_stats_with("\"done\":4,");
    assert(strstr(reply, "\"done\":4,"));
    assert(strstr(reply, "\"name\":\"sink\",\"connected\":true,\"kind\":\"test\",\"credit\":10,"));
    zstr_free(&reply);

    //  A BATCH from a connector: its messages are applied in order, each
    //  as if it came alone; one that holds a bad message is refused whole
    //  with an ERROR naming it.
    lt_ltp_t *batch = lt_ltp_new(LT_LTP_BATCH);
    for (uint64_t seq = 9; seq <= 10; seq++) {
        lt_ltp_t *publish = s_test_publish_msg(seq, LT_KIND_DOCUMENT, seq == 9 ? "DOC-9" : "DOC-10",
                                               "000.00.00.G22", false);
        assert(lt_ltp_batch_add(batch, &publish) == 0);
    }
    assert(lt_ltp_send(&batch, zsock_resolve(pub)) == 0);
    for (uint64_t seq = 9; seq <= 10;) {
        msg = s_test_expect(pub, LT_LTP_ACCEPTED);
        assert(lt_ltp_seq(msg) == seq++);
        for (size_t i = 0; i < lt_ltp_ack_count(msg); i++)
            assert(lt_ltp_ack(msg, i)->seq == seq++);
        lt_ltp_destroy(&msg);
    }
    s_test_done_two(sink, "DOC-9", "DOC-10");
    zstr_sendx(pub, "BATCH", "\x94\xa4PING\x80\xa4" "DONE\x80", NULL);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_EFIELD);
    assert(strstr(lt_ltp_reason(msg), "BATCH: message 1: DONE: field 'delivery' is missing"));
    lt_ltp_destroy(&msg);

    //  A session is bound to the certificate that said HELLO: another
    //  connector reusing the routing id of a gone one is refused.
    //  (On a loaded machine the old session may expire before the impostor
    //  connects, which gives ESTATE, or ZeroMQ may keep the old connection
    //  long enough to turn the new one away: try again, a few times.)
    bool refused = false;
    for (int tries = 0; tries < 5 && !refused; tries++) {
        char id[32];
        snprintf(id, sizeof(id), "SINK-ID-%d", tries);
        zsock_t *first_sink = s_test_client_as(keys, "sink", endpoint, id);
        s_test_hello(first_sink, "sink", 1);
        msg = s_test_expect(first_sink, LT_LTP_WELCOME);
        lt_ltp_destroy(&msg);
        zsock_destroy(&first_sink);
        zsock_t *impostor = s_test_client_as(keys, "pub", endpoint, id);
        lt_ltp_t *credit = lt_ltp_new(LT_LTP_CREDIT);
        lt_ltp_set_credit(credit, 1000);
        lt_ltp_send(&credit, zsock_resolve(impostor));
        msg = s_test_recv(impostor);
        assert(!msg || lt_ltp_id(msg) == LT_LTP_ERROR);
        if (msg && lt_ltp_code(msg) == LT_EAUTH) {
            assert(strstr(lt_ltp_reason(msg), "belongs to 'sink'"));
            refused = true;
        }
        else
            assert(!msg || lt_ltp_code(msg) == LT_ESTATE);
        lt_ltp_destroy(&msg);
        zsock_destroy(&impostor);
    }
    assert(refused);
    reply = lt_broker_admin_request("{\"op\":\"bogus\"}", 2000);
    assert(reply && strstr(reply, "unknown op"));
    zstr_free(&reply);
    reply = lt_broker_admin_request("not json", 2000);
    assert(reply && strstr(reply, "not JSON"));
    zstr_free(&reply);

    for (size_t i = 0; i < sizeof(s_test_held) / sizeof(s_test_held[0]); i++)
        lt_ltp_destroy(&s_test_held[i].batch);   //  what the test did not read
    zsock_destroy(&pub);
    zsock_destroy(&sink);
    zstr_free(&endpoint);
    zactor_destroy(&broker);
    zdir_t *tmp = zdir_new(dir, NULL);
    zdir_remove(tmp, true);
    zdir_destroy(&tmp);
    if (verbose)
        printf("OK\n");
}
