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

//  Hex text of a routing id, the sessions table key: all of it, so that two
//  connections whose ids share a long prefix never share a session.
static void s_routing_key(zframe_t *routing_id, char key[LT_BROKER_KEY_SIZE])
{
    size_t size = zframe_size(routing_id);
    if (size > LT_BROKER_KEY_SIZE / 2 - 1)
        size = LT_BROKER_KEY_SIZE / 2 - 1;   //  ZeroMQ's ids are at most 255 bytes
    static const char hex[] = "0123456789abcdef";
    const byte *data = zframe_data(routing_id);
    for (size_t i = 0; i < size; i++) {
        key[2 * i] = hex[data[i] >> 4];
        key[2 * i + 1] = hex[data[i] & 15];
    }
    key[2 * size] = 0;
}

//  A send to the session failed: its connector does not read (its queue in
//  ZeroMQ is full) or its connection is gone. Sends never wait (the ROUTER's
//  send timeout is 0), so one peer never holds up the others: this one
//  loses its session, logged once. Nothing more is sent to it, and the
//  round's end ends the session (s_reap), its deliveries back to the queue
//  as for a silent peer; here the caller may still be using it.
static void s_session_lost(broker_t *self, session_t *session, int cause)
{
    if (session->lost)
        return;
    session->lost = true;
    session->dest->stats.lost++;
    self->lost_sessions++;
    lt_log_warning("event=session_lost connector=%s reason=\"%s\" action=\"answers to it are "
                   "dropped; its session ends and its deliveries go back to the queue\"",
                   session->name,
                   cause == EAGAIN ? "its queue is full: the connector does not read what it is sent"
                   : cause == EHOSTUNREACH ? "its connection is gone"
                                           : zmq_strerror(cause));
}

//  Send *msg_p to the session's connector now, never waiting.
static void s_send_now(broker_t *self, session_t *session, lt_ltp_t **msg_p)
{
    if (session->lost) {
        lt_ltp_destroy(msg_p);
        return;
    }
    lt_ltp_set_routing_id(*msg_p, session->routing_id);
    if (lt_ltp_send(msg_p, zsock_resolve(self->router)) == 0)
        session->last_send = zclock_mono();
    else if (zmq_errno() == EAGAIN || zmq_errno() == EHOSTUNREACH)
        s_session_lost(self, session, zmq_errno());
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

//  ERRORs one routing id gets in a second at most: a peer that sends
//  nothing but bad frames gets a few answers, not one per frame.
#define S_ERRORS_PER_SECOND 16

//  ERRORs sent to one routing id in the current second.
typedef struct {
    int64_t since;          //  monotonic ms the second began
    uint32_t sent;          //  ERRORs sent in it
    uint32_t dropped;       //  ERRORs not sent in it
} s_error_limit_t;

//  True when one more ERROR may go to the routing id key now; the ERRORs
//  dropped in a second are logged once, when the next one begins.
static bool s_error_allowed(broker_t *self, const char *key)
{
    int64_t now = zclock_mono();
    s_error_limit_t *limit = zhashx_lookup(self->error_limits, key);
    if (!limit) {
        limit = calloc(1, sizeof(*limit));
        assert(limit);
        limit->since = now;
        zhashx_insert(self->error_limits, key, limit);
    }
    if (now - limit->since >= 1000) {
        if (limit->dropped)
            lt_log_warning("event=errors_dropped routing_id=%.64s count=%u note=\"over %d "
                           "ERRORs a second to one connection\"",
                           key, limit->dropped, S_ERRORS_PER_SECOND);
        limit->since = now;
        limit->sent = 0;
        limit->dropped = 0;
    }
    if (limit->sent >= S_ERRORS_PER_SECOND) {
        limit->dropped++;
        self->stats.errors_dropped++;
        return false;
    }
    limit->sent++;
    return true;
}

//  Forget the ERROR counts of routing ids quiet for a while.
static void s_error_limits_trim(broker_t *self)
{
    int64_t now = zclock_mono();
    zlistx_t *old = zlistx_new();
    zlistx_set_destructor(old, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator(old, (zlistx_duplicator_fn *) strdup);
    for (s_error_limit_t *limit = zhashx_first(self->error_limits); limit;
         limit = zhashx_next(self->error_limits))
        if (now - limit->since > 10000)
            zlistx_add_end(old, (void *) zhashx_cursor(self->error_limits));
    for (char *key = zlistx_first(old); key; key = zlistx_next(old))
        zhashx_delete(self->error_limits, key);
    zlistx_destroy(&old);
}

//  Answer a peer without a session (or before one exists) with ERROR,
//  within the rate one routing id (key, its hex) is allowed; never waits.
//  Returns false when the ERROR was not sent for that rate.
static bool s_send_error(broker_t *self, zframe_t *routing_id, const char *key, lt_error_t code,
                         const char *reason)
{
    if (!s_error_allowed(self, key))
        return false;
    lt_ltp_t *msg = lt_ltp_new(LT_LTP_ERROR);
    lt_ltp_set_code(msg, (uint32_t) code);
    lt_ltp_set_reason(msg, reason);
    lt_ltp_set_routing_id(msg, routing_id);
    lt_ltp_send(&msg, zsock_resolve(self->router));
    return true;
}

//  Drop a session: its in-flight deliveries go back to the queue.
static void s_session_end(broker_t *self, session_t *session, const char *why)
{
    dest_t *dest = session->dest;
    lt_log_info("event=session_end connector=%s reason=\"%s\" inflight=%zu", session->name, why,
                dest ? zhashx_size(dest->inflight) : (size_t) 0);
    if (dest && dest->session == session) {
        lt_broker_requeue(self, dest, why);
        dest->session = NULL;
        dest->down_since = lt_time_ms();
    }
    zhashx_delete(self->sessions, session->key);
}

//  End the sessions a failed send marked lost (s_session_lost), now that
//  nothing up the stack holds them.
static void s_reap(broker_t *self)
{
    if (!self->lost_sessions)
        return;
    self->lost_sessions = 0;
    zlistx_t *lost = zlistx_new();
    for (session_t *session = zhashx_first(self->sessions); session;
         session = zhashx_next(self->sessions))
        if (session->lost)
            zlistx_add_end(lost, session);
    for (session_t *session = zlistx_first(lost); session; session = zlistx_next(lost))
        s_session_end(self, session, "a send to it failed (queue full or connection gone)");
    zlistx_destroy(&lost);
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

//  HELLO on the connection routing_id (key, its hex): check version and
//  identity, open the session, answer WELCOME. A session already on this
//  routing id is the same identity's (s_read_one ended any other's).
static void s_on_hello(broker_t *self, zframe_t *routing_id, const char *key, const char *user,
                       lt_ltp_t *msg)
{
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
        s_send_error(self, routing_id, key, code, reason);
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
    session->credit = lt_ltp_credit(msg) < LT_BROKER_CREDIT_MAX ? lt_ltp_credit(msg)
                                                                 : LT_BROKER_CREDIT_MAX;
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

//  Apply one message from the connection routing_id (key, its hex; its
//  CURVE identity user, which s_read_one checked against the session's):
//  HELLO, or a command of its session. *refused says a session-level ERROR
//  (no session, a command the broker does not take) was sent for the frame
//  already: the other messages of a BATCH that earn it too are not answered
//  again, so that one frame never brings thousands of ERRORs.
static void s_handle(broker_t *self, zframe_t *routing_id, const char *key, const char *user,
                     lt_ltp_t *msg, bool *refused)
{
    session_t *session = zhashx_lookup(self->sessions, key);
    if (lt_ltp_id(msg) == LT_LTP_HELLO)
        s_on_hello(self, routing_id, key, user, msg);
    else if (!session) {
        if (lt_ltp_id(msg) != LT_LTP_BYE && lt_ltp_id(msg) != LT_LTP_PONG && !*refused) {
            s_send_error(self, routing_id, key, LT_ESTATE, "no session: send HELLO first");
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
        case LT_LTP_CREDIT: {
            //  Saturates at the most a session may hold, never wraps.
            uint64_t credit = (uint64_t) session->credit + lt_ltp_credit(msg);
            session->credit =
                credit < LT_BROKER_CREDIT_MAX ? (uint32_t) credit : LT_BROKER_CREDIT_MAX;
            break;
        }
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
            session->dest->stats.errors++;
            if (!*refused) {
                char reason[96];
                snprintf(reason, sizeof(reason), "%s is not sent by connectors",
                         lt_ltp_command(msg));
                s_send_error(self, routing_id, key, LT_ESTATE, reason);
                *refused = true;
            }
        }
        }
    }
    lt_ltp_destroy(&msg);
}

//  A frame came on the routing id of session from another CURVE identity
//  (user, NULL when none). ZeroMQ turns away a second connection under a
//  routing id that is in use, so the connection that opened the session is
//  gone and another one took its id: nothing more may go to that id for
//  the session (its DELIVERs would reach the newcomer), so the session ends
//  (its deliveries back to the queue) and the frame is refused, whatever it
//  holds (a HELLO too: the newcomer may say HELLO again, for itself).
static void s_foreign_frame(broker_t *self, session_t *session, zframe_t *routing_id,
                            const char *key, const char *user)
{
    char reason[256];
    snprintf(reason, sizeof(reason),
             "this connection's session belongs to '%s', but the command comes from '%s'",
             session->name, user ? user : "");
    session->dest->stats.identity++;
    lt_log_warning("event=identity_mismatch session=%s certificate=%s action=\"session ended: "
                   "its routing id is now another connection's\"",
                   session->name, user ? user : "");
    s_session_end(self, session, "a frame from another certificate on its routing id");
    s_send_error(self, routing_id, key, LT_EAUTH, reason);
}

//  Read and apply one message from the ROUTER, or each message of a
//  BATCH in order; returns how many, or -1 when none waits. Nothing of a
//  frame is applied, and no session is kept alive by it, before its CURVE
//  identity is known to be the session's.
static int s_read_one(broker_t *self)
{
    const lt_settings_t *st = lt_config_settings(self->config);
    lt_err_t err;
    lt_ltp_read_t in;
    if (lt_ltp_read(self->router, true, (size_t) st->max_frame, &in, &err))
        return -1;
    lt_ltp_t *msg = in.msg;
    zframe_t *routing_id = in.routing_id;
    if (!routing_id) {   //  a ROUTER always gives one
        lt_ltp_destroy(&msg);
        return 1;
    }
    const char *user = in.has_user ? in.user : NULL;
    char key[LT_BROKER_KEY_SIZE];
    s_routing_key(routing_id, key);
    session_t *session = zhashx_lookup(self->sessions, key);
    int count = msg && lt_ltp_id(msg) == LT_LTP_BATCH ? (int) lt_ltp_batch_count(msg) : 1;
    if (session && (!user || strcmp(user, session->name) != 0)) {
        s_foreign_frame(self, session, routing_id, key, user);
        session = NULL;
    }
    else if (!msg) {
        self->stats.bad_frames++;
        if (session) {
            session->last_recv = zclock_mono();
            session->dest->stats.errors++;
        }
        if (s_send_error(self, routing_id, key, err.code, err.detail))
            lt_log_warning("event=bad_frame connector=%s code=%s reason=\"%s\"",
                           user ? user : "?", lt_error_name(err.code), err.detail);
    }
    else {
        if (session)
            session->last_recv = zclock_mono();
        self->stale_lookups = LT_BROKER_STALE_LOOKUPS;
        uint64_t skipped = self->stats.stale_skipped;
        bool refused = false;
        if (lt_ltp_id(msg) == LT_LTP_BATCH)
            for (size_t i = 0; i < lt_ltp_batch_count(msg); i++)
                s_handle(self, routing_id, key, user, lt_ltp_batch_take(msg, i), &refused);
        else {
            s_handle(self, routing_id, key, user, msg, &refused);
            msg = NULL;
        }
        if (self->stats.stale_skipped > skipped)
            lt_log_info("event=stale_done_skipped connector=%s count=%llu note=\"over %d "
                        "stale DONE ids in one frame: left alone (one still queued goes "
                        "again)\"",
                        user ? user : "?",
                        (unsigned long long) (self->stats.stale_skipped - skipped),
                        LT_BROKER_STALE_LOOKUPS);
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
    char key[LT_BROKER_KEY_SIZE];
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
    s_error_limits_trim(self);
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
    //  Sends never wait: a connector that does not read (its queue full)
    //  loses its session rather than stall everyone (s_session_lost).
    zsock_set_sndtimeo(self->router, 0);
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
    zhashx_destroy(&self->error_limits);
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
        if (dest->session && dest->session->credit > 0 && !dest->session->lost)
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
    self->error_limits = zhashx_new();
    zhashx_set_destructor(self->error_limits, (zhashx_destructor_fn *) zstr_free);
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
        s_reap(self);   //  sessions a failed send marked lost
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
        s_reap(self);
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
    zsock_set_sndtimeo(client, 2000);   //  a broker that stopped reading fails the test
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

//  Whether connector name has a session, as the broker's stats say: 1 or
//  0; -1 when the broker did not answer within 2 s.
static int s_test_connected(const char *name)
{
    char *reply = lt_broker_admin_request("{\"op\":\"stats\"}", 2000);
    if (!reply)
        return -1;
    json_t *stats = json_loads(reply, 0, NULL);
    zstr_free(&reply);
    int connected = 0;
    json_t *conns = json_object_get(stats, "connectors");
    for (size_t i = 0; i < json_array_size(conns); i++) {
        json_t *conn = json_array_get(conns, i);
        if (streq(json_string_value(json_object_get(conn, "name")), name))
            connected = json_is_true(json_object_get(conn, "connected"));
    }
    json_decref(stats);
    return connected;
}

//  A client as name (on the routing id given, NULL: ZeroMQ's) with a
//  session opened: HELLO with credit, WELCOME read.
static zsock_t *s_test_session(const char *keys, const char *name, const char *endpoint,
                               const char *routing_id, uint32_t credit)
{
    zsock_t *client = s_test_client_as(keys, name, endpoint, routing_id);
    s_test_hello(client, name, credit);
    lt_ltp_t *msg = s_test_expect(client, LT_LTP_WELCOME);
    lt_ltp_destroy(&msg);
    return client;
}

//  Open client's session again (its HELLO on the same connection), so a
//  test that was busy elsewhere does not find it expired.
static void s_test_rehello(zsock_t *client, const char *name, uint32_t credit)
{
    s_test_hello(client, name, credit);
    lt_ltp_t *msg = s_test_expect(client, LT_LTP_WELCOME);
    lt_ltp_destroy(&msg);
}

//  ERRORs client gets until it has been quiet for 300 ms (at most 3 s);
//  PINGs are skipped, anything else fails the test.
static int s_test_count_errors(zsock_t *client)
{
    int errors = 0;
    zsock_set_rcvtimeo(client, 300);
    for (int64_t until = zclock_mono() + 3000; zclock_mono() < until;) {
        lt_ltp_t *msg = s_test_recv(client);
        if (!msg)
            break;
        if (lt_ltp_id(msg) != LT_LTP_ERROR)
            fprintf(stderr, "expected ERROR or nothing, got %s\n", lt_ltp_command(msg));
        assert(lt_ltp_id(msg) == LT_LTP_ERROR);
        errors++;
        lt_ltp_destroy(&msg);
    }
    zsock_set_rcvtimeo(client, 2000);
    return errors;
}

//  A BATCH of count DONEs each naming delivery in 'delivery' and ids times
//  in 'deliveries'.
static lt_ltp_t *s_test_done_batch(size_t count, uint64_t delivery, size_t ids)
{
    lt_ltp_t *batch = lt_ltp_new(LT_LTP_BATCH);
    for (size_t i = 0; i < count; i++) {
        lt_ltp_t *done = lt_ltp_new(LT_LTP_DONE);
        lt_ltp_set_delivery(done, delivery);
        for (size_t k = 0; k < ids; k++)
            assert(lt_ltp_add_delivery(done, delivery) == 0);
        assert(lt_ltp_batch_add(batch, &done) == 0);
    }
    return batch;
}

//  The hostile-peer part of the self-test: peers that stop reading, flood
//  bad frames, take another's routing id, or send frames that ask for
//  much work; none of them may stall the broker or reach another's session.
static void s_test_hostile(const char *keys, const char *endpoint)
{
    zsock_t *pub = s_test_session(keys, "pub", endpoint, NULL, 10);

    //  ERRORs to one connection are limited to S_ERRORS_PER_SECOND a
    //  second: 300 unknown commands get a few answers, not 300.
    zsock_t *noisy = s_test_client(keys, "evil", endpoint);
    json_int_t dropped = s_test_broker_stat("errors_dropped");
    for (int i = 0; i < 300; i++)
        assert(zstr_sendx(noisy, "NOPE", "\x80", NULL) == 0);
    int errors = s_test_count_errors(noisy);
    assert(errors >= 1 && errors <= 2 * S_ERRORS_PER_SECOND);
    assert(s_test_broker_stat("errors_dropped") >= dropped + 300 - 2 * S_ERRORS_PER_SECOND);
    zsock_destroy(&noisy);

    //  A connector that stops reading never stalls the broker or the
    //  others: sends to it never wait, and once its queue is full it loses
    //  its session; its delivery goes back to the queue.
    zsock_t *evil = s_test_session(keys, "evil", endpoint, NULL, 1);
    s_test_rehello(pub, "pub", 10);
    s_test_publish(pub, 100, LT_KIND_DOCUMENT, "DOC-EVIL", "000.00.00.X01", false);
    lt_ltp_t *msg = s_test_expect(pub, LT_LTP_ACCEPTED);
    lt_ltp_destroy(&msg);
    msg = s_test_expect(evil, LT_LTP_DELIVER);
    uint64_t held = lt_ltp_delivery(msg);
    assert(lt_ltp_attempt(msg) == 1);
    lt_ltp_destroy(&msg);
    int connected = 1;
    int64_t until = zclock_mono() + 10000;
    for (int round = 0; round < 64 && connected == 1 && zclock_mono() < until; round++) {
        for (int b = 0; b < 4; b++) {
            lt_ltp_t *pings = lt_ltp_new(LT_LTP_BATCH);
            for (int i = 0; i < LT_LTP_MAX_BATCH; i++) {
                lt_ltp_t *ping = lt_ltp_new(LT_LTP_PING);
                assert(lt_ltp_batch_add(pings, &ping) == 0);
            }
            assert(lt_ltp_send(&pings, zsock_resolve(evil)) == 0);
        }
        connected = s_test_connected("evil");
        assert(connected >= 0);   //  the broker answers its operators at once
    }
    assert(connected == 0);
    s_test_rehello(pub, "pub", 10);
    s_test_publish(pub, 101, LT_KIND_DOCUMENT, "DOC-AFTER", "000.00.00.G22", false);
    msg = s_test_expect(pub, LT_LTP_ACCEPTED);
    assert(lt_ltp_seq(msg) == 101);
    lt_ltp_destroy(&msg);
    zsock_t *sink = s_test_session(keys, "sink", endpoint, NULL, 5);
    msg = s_test_expect(sink, LT_LTP_DELIVER);
    assert(streq(lt_envelope_key(lt_ltp_envelope(msg)), "DOC-AFTER"));
    lt_ltp_t *done = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_set_delivery(done, lt_ltp_delivery(msg));
    assert(lt_ltp_send(&done, zsock_resolve(sink)) == 0);
    lt_ltp_destroy(&msg);
    zsock_t *again = s_test_session(keys, "evil", endpoint, NULL, 1);
    msg = s_test_expect(again, LT_LTP_DELIVER);
    assert(lt_ltp_delivery(msg) == held);   //  the same delivery, to the next session,
    assert(lt_ltp_attempt(msg) == 2);       //  with a higher attempt (ltp.md section 8)
    done = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_set_delivery(done, held);
    assert(lt_ltp_send(&done, zsock_resolve(again)) == 0);
    lt_ltp_destroy(&msg);
    char *reply = s_test_stats_with("\"lost\":1");
    assert(strstr(reply, "\"lost\":1"));
    zstr_free(&reply);
    zsock_destroy(&again);
    zsock_destroy(&evil);
    zsock_destroy(&sink);

    //  A session is bound to the connection that opened it: another
    //  certificate on the routing id of a gone sink ends the sink's session
    //  at once and is refused; nothing of the sink's reaches it. (The sink's
    //  session may end before the newcomer speaks, which gives ESTATE, or
    //  ZeroMQ may turn the newcomer away while it still holds the old
    //  connection: then try again.)
    bool ended = false;
    for (int tries = 0; tries < 8 && !ended; tries++) {
        char id[32];
        snprintf(id, sizeof(id), "sinkconn-%04d", tries);
        zsock_t *victim = s_test_session(keys, "sink", endpoint, id, 5);
        zsock_destroy(&victim);   //  gone without BYE
        zsock_t *thief = s_test_client_as(keys, "evil", endpoint, id);
        lt_ltp_t *ping = lt_ltp_new(LT_LTP_PING);
        assert(lt_ltp_send(&ping, zsock_resolve(thief)) == 0);
        zsock_set_rcvtimeo(thief, 500);
        msg = s_test_recv(thief);
        if (msg && lt_ltp_id(msg) == LT_LTP_ERROR && lt_ltp_code(msg) == LT_EAUTH) {
            assert(strstr(lt_ltp_reason(msg), "belongs to 'sink'"));
            ended = true;
            s_test_rehello(pub, "pub", 10);
            s_test_publish(pub, 102, LT_KIND_DOCUMENT, "DOC-THIEF", "000.00.00.G22", false);
            lt_ltp_t *accepted = s_test_expect(pub, LT_LTP_ACCEPTED);
            lt_ltp_destroy(&accepted);
            for (int i = 0; i < 4; i++) {
                ping = lt_ltp_new(LT_LTP_PING);
                assert(lt_ltp_send(&ping, zsock_resolve(thief)) == 0);
                zclock_sleep(100);
            }
            s_test_count_errors(thief);   //  its PINGs get ERRORs, and nothing else comes
            assert(s_test_connected("sink") == 0);
        }
        lt_ltp_destroy(&msg);
        zsock_destroy(&thief);
    }
    assert(ended);

    //  Routing ids are told apart in full: two live connections whose long
    //  ids share their first 40 bytes have a session each.
    char prefix[41], long_sink[64], long_evil[64];
    memset(prefix, 'L', 40);
    prefix[40] = 0;
    snprintf(long_sink, sizeof(long_sink), "%s-sink", prefix);
    snprintf(long_evil, sizeof(long_evil), "%s-evil", prefix);
    sink = s_test_session(keys, "sink", endpoint, long_sink, 5);
    evil = s_test_session(keys, "evil", endpoint, long_evil, 1);
    assert(s_test_connected("sink") == 1 && s_test_connected("evil") == 1);
    s_test_rehello(pub, "pub", 10);
    s_test_publish(pub, 103, LT_KIND_DOCUMENT, "DOC-LONG", "000.00.00.G22", false);
    msg = s_test_expect(pub, LT_LTP_ACCEPTED);
    lt_ltp_destroy(&msg);
    s_test_done_two(sink, "DOC-THIEF", "DOC-LONG");
    zsock_destroy(&evil);

    //  The work one frame asks is bounded. 64 DONEs of 4097 ids, all of
    //  them done already, cost LT_BROKER_STALE_LOOKUPS store look-ups; the
    //  rest are left alone, and the sink's session goes on.
    json_int_t skipped = s_test_broker_stat("stale_skipped");
    lt_ltp_t *bomb = s_test_done_batch(64, held, LT_LTP_MAX_BATCH);
    assert(lt_ltp_send(&bomb, zsock_resolve(sink)) == 0);
    lt_ltp_t *ping = lt_ltp_new(LT_LTP_PING);
    assert(lt_ltp_send(&ping, zsock_resolve(sink)) == 0);
    msg = s_test_expect(sink, LT_LTP_PONG);
    lt_ltp_destroy(&msg);
    assert(s_test_broker_stat("stale_skipped") ==
           skipped + 64 * (LT_LTP_MAX_BATCH + 1) - LT_BROKER_STALE_LOOKUPS);
    //  One more id in the BATCH refuses it whole, named.
    bomb = s_test_done_batch(64, held, LT_LTP_MAX_BATCH);
    lt_ltp_t *extra = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_set_delivery(extra, held);
    assert(lt_ltp_add_delivery(extra, held) == 0);
    assert(lt_ltp_batch_add(bomb, &extra) == 0);
    assert(lt_ltp_send(&bomb, zsock_resolve(sink)) == 0);
    msg = s_test_expect(sink, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_ETOOBIG && strstr(lt_ltp_reason(msg), "BATCH: message 64: DONE"));
    lt_ltp_destroy(&msg);

    //  Credit saturates at LT_BROKER_CREDIT_MAX instead of wrapping.
    for (int i = 0; i < 2; i++) {
        lt_ltp_t *credit = lt_ltp_new(LT_LTP_CREDIT);
        lt_ltp_set_credit(credit, UINT32_MAX);
        assert(lt_ltp_send(&credit, zsock_resolve(sink)) == 0);
    }
    reply = s_test_stats_with("\"credit\":100000,");
    assert(strstr(reply, "\"name\":\"sink\",\"connected\":true,\"kind\":\"test\",\"credit\":100000,"));
    zstr_free(&reply);
    zsock_destroy(&sink);

    //  One ERROR a frame: a BATCH of 100 commands connectors do not send
    //  earns one; a BATCH holding a HELLO is refused whole, no WELCOME.
    s_test_rehello(pub, "pub", 10);
    lt_ltp_t *batch = lt_ltp_new(LT_LTP_BATCH);
    for (int i = 0; i < 100; i++) {
        lt_ltp_t *accepted = lt_ltp_new(LT_LTP_ACCEPTED);
        lt_ltp_set_seq(accepted, 1);
        lt_ltp_set_msgid(accepted, "x");
        assert(lt_ltp_batch_add(batch, &accepted) == 0);
    }
    assert(lt_ltp_send(&batch, zsock_resolve(pub)) == 0);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_ESTATE && strstr(lt_ltp_reason(msg), "ACCEPTED"));
    lt_ltp_destroy(&msg);
    assert(s_test_count_errors(pub) == 0);
    zstr_sendx(pub, "BATCH",
               "\x94\xa5HELLO\x84\xa7version\x01\xa4name\xa3pub\xa4kind\xa1t\xa6"
               "credit\x05\xa4PING\x80",
               NULL);
    msg = s_test_expect(pub, LT_LTP_ERROR);
    assert(lt_ltp_code(msg) == LT_EPROTO && strstr(lt_ltp_reason(msg), "message 0 is a HELLO"));
    lt_ltp_destroy(&msg);
    assert(s_test_count_errors(pub) == 0);
    zsock_destroy(&pub);
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
    assert(lt_keys_connector(keys, "evil", &err) >= 0);
    char cfg_path[96];
    snprintf(cfg_path, sizeof(cfg_path), "%s/lthub.cfg", dir);
    FILE *cfg = fopen(cfg_path, "w");
    assert(cfg);
    fprintf(cfg,
            "broker\n    endpoint = \"tcp://127.0.0.1:*\"\n    data = \"%s/data\"\n"
            "    keys = \"%s\"\n    heartbeat = 200\nroutes\n    route\n"
            "        kind = \"document\"\n        match = \"000.00.00.X01\"\n"
            "        to = \"evil\"\n    route\n"
            "        kind = \"document,status\"\n        match = \"*\"\n        to = \"sink\"\n"
            "connectors\n    pub\n    sink\n    evil\n",
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
    s_test_hostile(keys, endpoint);
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
