/*  lt_broker_admin: answers admin requests inside the broker actor, so that
    reads and changes (replay) see the same state as the relay itself.

    Requests and replies are JSON texts on LT_BROKER_ADMIN_ENDPOINT:
      {"op":"stats"}                      broker, store and per-connector counters
      {"op":"dead","limit":N}             dead letters, newest first
      {"op":"replay","delivery":ID}       dead letter back to the queue
      {"op":"discard","delivery":ID}      give up a dead letter; its lane goes on
      {"op":"rejects","limit":N}          rejected inputs, newest first
      {"op":"replay_reject","reject":ID}  publish a rejected input again
      {"op":"trace","msgid":"UUID"}       every delivery of one message
    The "dead" answer also lists, under "waiting", the deliveries held back
    by a dead letter of their lane ("waiting behind dead letter ID").
      alerts, show, trace_key             see lt_broker_ops.c
      {"op":"publish","kind":"report","key":K,"sender":S,"payload":TEXT}
                                          a message made by lthubd itself (the
                                          periodic reports), stored and routed
                                          like a PUBLISH: {"msgid","duplicate"}
    Changes are answered only once they are committed.
    Errors: {"error":"what is wrong"}.
*/
#include "lt_broker_int.h"
#include "lt_id.h"
#include "lt_log.h"

#include <jansson.h>
#include <string.h>

//  Counters of one connector as a JSON object.
static json_t *s_conn_json_base(broker_t *self, dest_t *dest);

static json_t *s_conn_json(broker_t *self, dest_t *dest)
{
    json_t *conn = s_conn_json_base(self, dest);
    json_object_set_new(conn, "timeouts", json_integer((json_int_t) dest->stats.timeouts));
    json_object_set_new(conn, "identity_refused",
                        json_integer((json_int_t) dest->stats.identity));
    json_object_set_new(conn, "lost", json_integer((json_int_t) dest->stats.lost));
    //  The connector's own figures, as its last PING or PONG carried them.
    if (dest->own) {
        json_object_set_new(conn, "own", json_deep_copy(dest->own));
        json_object_set_new(conn, "own_at", json_integer((json_int_t) dest->own_at));
    }
    return conn;
}

static json_t *s_conn_json_base(broker_t *self, dest_t *dest)
{
    const lt_conn_stats_t *s = &dest->stats;
    lt_store_counts_t counts;
    lt_store_counts(self->store, dest->name, &counts);
    session_t *session = dest->session;
    return json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                     "s:I, s:I, s:I, s:I, s:I, s:I}",
                     "name", dest->name, "connected", session != NULL, "kind",
                     session ? session->kind : "", "credit",
                     (json_int_t) (session ? session->credit : 0), "inflight",
                     (json_int_t) zhashx_size(dest->inflight), "ready", (json_int_t) counts.ready,
                     "waiting", (json_int_t) counts.waiting, "dead", (json_int_t) counts.dead,
                     "published", (json_int_t) s->published, "accepted",
                     (json_int_t) s->accepted, "duplicates", (json_int_t) s->duplicates,
                     "rejected", (json_int_t) s->rejected, "delivered",
                     (json_int_t) s->delivered, "done", (json_int_t) s->done, "retried",
                     (json_int_t) s->retried, "failed", (json_int_t) s->failed, "bytes_in",
                     (json_int_t) s->bytes_in, "bytes_out", (json_int_t) s->bytes_out,
                     "sessions", (json_int_t) s->sessions, "expired", (json_int_t) s->expired);
}

static json_t *s_stats(broker_t *self)
{
    lt_store_counts_t counts;
    lt_store_counts(self->store, NULL, &counts);
    json_t *conns = json_array();
    for (dest_t *dest = zhashx_first(self->dests); dest; dest = zhashx_next(self->dests))
        json_array_append_new(conns, s_conn_json(self, dest));
    const lt_broker_stats_t *b = &self->stats;
    json_t *stats = json_pack(
        "{s:{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, "
        "s:I}, s:o}",
        "broker", "name", lt_config_settings(self->config)->name, "endpoint", self->endpoint,
        "uptime_ms", (json_int_t) (lt_time_ms() - self->started), "commits",
        (json_int_t) b->commits, "committed", (json_int_t) b->committed, "commit_us_total",
        (json_int_t) b->commit_us, "commit_us_max", (json_int_t) b->commit_max_us,
        "bad_frames", (json_int_t) b->bad_frames, "refused", (json_int_t) b->refused,
        "store_errors", (json_int_t) b->store_errors, "store", "messages",
        (json_int_t) counts.messages, "ready", (json_int_t) counts.ready, "waiting",
        (json_int_t) counts.waiting, "done", (json_int_t) counts.done, "dead",
        (json_int_t) counts.dead, "rejects", (json_int_t) counts.rejects, "connectors", conns);
    //  Operators' additions (lt_broker_ops.c): size, histograms, alert counts.
    json_object_set_new(json_object_get(stats, "store"), "size_bytes",
                        json_integer(lt_store_size(self->store)));
    lt_broker_retain_stats(self, json_object_get(stats, "store"));
    json_object_set_new(json_object_get(stats, "broker"), "started_at",
                        json_integer(self->started));
    lt_store_syncstats_t syncs;   //  the log's syncs behind the commits
    lt_store_sync_stats(self->store, &syncs);
    json_object_set_new(json_object_get(stats, "broker"), "syncs", json_integer((json_int_t) syncs.syncs));
    json_object_set_new(json_object_get(stats, "broker"), "lazy_commits",
                        json_integer((json_int_t) b->lazy_commits));
    json_object_set_new(json_object_get(stats, "broker"), "errors_dropped",
                        json_integer((json_int_t) b->errors_dropped));
    json_object_set_new(json_object_get(stats, "broker"), "stale_skipped",
                        json_integer((json_int_t) b->stale_skipped));
    json_object_set_new(json_object_get(stats, "broker"), "sync_us_total",
                        json_integer((json_int_t) syncs.sync_us));
    json_object_set_new(json_object_get(stats, "broker"), "sync_us_max",
                        json_integer((json_int_t) syncs.sync_us_max));
    json_object_set_new(json_object_get(stats, "broker"), "log_restarts",
                        json_integer((json_int_t) syncs.restarts));
    json_object_set_new(json_object_get(stats, "broker"), "log_restart_us_max",
                        json_integer((json_int_t) syncs.restart_us_max));
    json_object_set_new(json_object_get(stats, "broker"), "begin_wait_us_max",
                        json_integer((json_int_t) syncs.begin_wait_us_max));
    json_object_set_new(stats, "histograms", lt_broker_ops_histograms(self));
    json_object_set_new(stats, "alerts",
                        lt_broker_ops_alert_counts(self, json_object_get(stats, "connectors")));
    return stats;
}

//  The stats with the counters added since the first version of the API.
static json_t *s_stats_full(broker_t *self)
{
    json_t *stats = s_stats(self);
    lt_store_counts_t counts;
    lt_store_counts(self->store, NULL, &counts);
    json_t *store = json_object_get(stats, "store");
    json_object_set_new(store, "held", json_integer((json_int_t) counts.held));
    json_object_set_new(store, "discarded", json_integer((json_int_t) counts.discarded));
    json_object_set_new(json_object_get(stats, "broker"), "store_full",
                        json_boolean(self->store_full));
    return stats;
}

//  A store row as JSON (no payload).
static json_t *s_row_json(const lt_store_row_t *row)
{
    const lt_envelope_t *env = row->envelope;
    json_t *to = json_array();
    for (size_t i = 0; i < lt_envelope_recipients(env); i++)
        json_array_append_new(to, json_string(lt_envelope_recipient(env, i)));
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:I}",
                     "delivery", (json_int_t) row->delivery, "msgid", row->msgid, "dest",
                     row->dest, "state", lt_delivery_state_name(row->state), "kind",
                     lt_kind_name(lt_envelope_kind(env)), "key", lt_envelope_key(env), "source",
                     lt_envelope_source(env), "to", to, "attempts", (json_int_t) row->attempts,
                     "created_at", (json_int_t) row->created_at, "next_at",
                     (json_int_t) row->next_at, "errors", row->errors ? row->errors : "",
                     "size", (json_int_t) lt_envelope_size(env));
}

static int s_collect(void *arg, lt_store_row_t *row)
{
    json_t *item = s_row_json(row);
    json_object_set_new(item, "btype", json_string(lt_envelope_btype(row->envelope)));
    if (row->behind) {
        char note[80];
        snprintf(note, sizeof(note), "waiting behind dead letter %llu",
                 (unsigned long long) row->behind);
        json_object_set_new(item, "behind", json_integer((json_int_t) row->behind));
        json_object_set_new(item, "note", json_string(note));
    }
    json_array_append_new((json_t *) arg, item);
    lt_store_row_destroy(&row);
    return 0;
}

//  A rejected input as JSON (no payload).
static int s_collect_reject(void *arg, lt_store_reject_t *reject)
{
    const lt_envelope_t *env = reject->envelope;
    json_t *item = json_pack("{s:I, s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "reject",
                             (json_int_t) reject->id, "at", (json_int_t) reject->at, "source",
                             reject->source, "code", (int) reject->code, "error",
                             lt_error_name(reject->code), "reason", reject->reason, "kind",
                             env ? lt_kind_name(lt_envelope_kind(env)) : "", "key",
                             env ? lt_envelope_key(env) : "", "replayed", reject->replayed);
    json_array_append_new((json_t *) arg, item);
    lt_store_reject_destroy(&reject);
    return 0;
}

//  Commit a change made for the operator; the answer on success, or an
//  error when the commit failed (then nothing was changed).
static json_t *s_committed(broker_t *self, json_t *answer)
{
    if (lt_broker_commit(self) && lt_broker_sync(self) == 0)
        return answer;
    json_decref(answer);
    return json_pack("{s:s}", "error",
                     self->store_full ? "store: disk full, nothing changed; retry later"
                                      : "store commit failed, nothing changed");
}

//  Publish a rejected input again, as its source connector.
static json_t *s_replay_reject(broker_t *self, json_int_t id)
{
    lt_store_reject_t *reject = lt_store_get_reject(self->store, (uint64_t) id, true);
    if (!reject) {
        char why[160];
        snprintf(why, sizeof(why),
                 "no such rejected input %lld (lthub rejects or GET /api/v1/rejects lists them"
                 " with their ids)",
                 (long long) id);
        return json_pack("{s:s}", "error", why);
    }
    json_t *answer = NULL;
    if (*reject->replayed)
        answer = json_pack("{s:s, s:s}", "error", "already replayed", "msgid", reject->replayed);
    else if (!reject->envelope)
        answer = json_pack("{s:s}", "error", "this input has no envelope to publish again");
    if (answer) {
        lt_store_reject_destroy(&reject);
        return answer;
    }
    lt_err_t err;
    bool duplicate = false;
    char msgid[40] = "";
    int rc = lt_broker_publish(self, reject->source, reject->envelope, reject->data,
                               reject->size, msgid, &duplicate, &err);
    if (rc == 0 && lt_store_reject_replayed(self->store, (uint64_t) id, msgid, &err))
        rc = -2;
    if (rc == 0) {
        self->batch_writes++;
        lt_log_info("event=replay_reject reject=%lld msgid=%s duplicate=%d", (long long) id,
                    msgid, duplicate);
        answer = s_committed(self, json_pack("{s:I, s:s, s:b}", "reject", id, "msgid", msgid,
                                             "duplicate", duplicate));
    }
    else {
        char why[1200];
        snprintf(why, sizeof(why), "%s: %s", rc == -1 ? "refused again" : "store failure",
                 err.detail);
        answer = json_pack("{s:s}", "error", why);
    }
    lt_store_reject_destroy(&reject);
    return answer;
}

//  Replay or discard a dead letter, answered once committed.
static json_t *s_dead_change(broker_t *self, json_int_t delivery, bool discard)
{
    lt_err_t err;
    if (delivery <= 0)
        return json_pack("{s:s}", "error", "needs a positive 'delivery'");
    if (lt_broker_batch_open(self))
        return json_pack("{s:s}", "error", "store unavailable");
    self->batch_writes++;
    if ((discard ? lt_store_discard : lt_store_replay)(self->store, (uint64_t) delivery, &err))
        return json_pack("{s:s}", "error", err.detail);
    lt_store_row_t *row = lt_store_get(self->store, (uint64_t) delivery, false);
    char dest[64] = "";
    if (row)
        snprintf(dest, sizeof(dest), "%s", row->dest);
    lt_store_row_destroy(&row);
    json_t *answer = s_committed(self, json_pack("{s:I, s:s}", "delivery", delivery, "state",
                                                 discard ? "discarded" : "waiting"));
    if (json_object_get(answer, "error") || !*dest)
        return answer;
    if (discard)
        lt_broker_lane_free(self, dest, (uint64_t) delivery);
    else
        lt_broker_dest(self, dest)->due_check_at = 0;
    lt_log_info("event=%s delivery=%lld", discard ? "discard" : "replay", (long long) delivery);
    return answer;
}

//  A message lthubd makes itself (a report): stored in the open batch and
//  routed like a PUBLISH; the dedup key makes a second one a duplicate.
static json_t *s_publish(broker_t *self, json_t *request)
{
    const char *kind_name = json_string_value(json_object_get(request, "kind"));
    int kind = kind_name ? lt_kind_from_name(kind_name) : -1;
    const char *key = json_string_value(json_object_get(request, "key"));
    const char *sender = json_string_value(json_object_get(request, "sender"));
    const char *payload = json_string_value(json_object_get(request, "payload"));
    if (kind != LT_KIND_REPORT || !key || !*key || !payload)
        return json_pack("{s:s}", "error", "publish needs kind 'report', 'key' and 'payload'");
    const char *dest = lt_config_route_for(self->config, LT_KIND_REPORT, NULL);
    if (!dest)
        return json_pack("{s:s}", "error", "no route for report messages");
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_REPORT);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, "report");
    lt_envelope_set_sender(env, sender ? sender : "");
    lt_envelope_set_source(env, "lthubd");
    lt_envelope_set_system(env, lt_config_settings(self->config)->name);
    lt_envelope_set_created(env, lt_time_ms());
    lt_envelope_set_payload_facts(env, payload, strlen(payload));
    lt_err_t err;
    json_t *reply = NULL;
    bool duplicate = false;
    char msgid[40] = "";
    const char *dests[] = {dest};
    if (lt_broker_batch_open(self))
        reply = json_pack("{s:s}", "error", "store unavailable");
    else if (lt_store_put(self->store, env, payload, strlen(payload), dests, NULL, 1, &duplicate,
                          msgid, &err))
        reply = json_pack("{s:s}", "error", err.detail);
    else {
        self->batch_writes++;
        if (!duplicate)
            lt_broker_dest(self, dest)->scan_ready = true;
        char quoted[512];
        lt_log_info("event=report_published key=\"%s\" msgid=%s duplicate=%s dest=%s",
                    lt_log_quoted(key, quoted, sizeof(quoted)), msgid, duplicate ? "yes" : "no",
                    dest);
        reply = s_committed(self, json_pack("{s:s, s:s, s:b, s:s}", "key", key, "msgid", msgid,
                                            "duplicate", duplicate, "dest", dest));
    }
    lt_envelope_destroy(&env);
    return reply;
}

//  Answer one request; returns the reply object.
static json_t *s_answer(broker_t *self, json_t *request)
{
    const char *op = json_string_value(json_object_get(request, "op"));
    lt_err_t err;
    if (!op)
        return json_pack("{s:s}", "error", "request has no 'op'");
    if (streq(op, "stats"))
        return s_stats_full(self);
    json_int_t limit = json_integer_value(json_object_get(request, "limit"));
    if (limit <= 0)
        limit = 100;
    if (streq(op, "dead")) {
        json_t *list = json_array(), *waiting = json_array();
        if (lt_store_list_dead(self->store, (uint32_t) limit, s_collect, list, &err) ||
            lt_store_list_blocked(self->store, (uint32_t) limit, s_collect, waiting, &err)) {
            json_decref(list);
            json_decref(waiting);
            return json_pack("{s:s}", "error", err.detail);
        }
        return json_pack("{s:o, s:o}", "dead", list, "waiting", waiting);
    }
    if (streq(op, "rejects")) {
        json_t *list = json_array();
        if (lt_store_list_rejects(self->store, (uint32_t) limit, s_collect_reject, list, &err)) {
            json_decref(list);
            return json_pack("{s:s}", "error", err.detail);
        }
        return json_pack("{s:o}", "rejects", list);
    }
    if (streq(op, "trace")) {
        const char *msgid = json_string_value(json_object_get(request, "msgid"));
        if (!msgid)
            return json_pack("{s:s}", "error", "trace needs 'msgid'");
        json_t *list = json_array();
        lt_store_trace(self->store, msgid, s_collect, list, &err);
        json_t *answer = json_pack("{s:s, s:o}", "msgid", msgid, "deliveries", list);
        int64_t pruned = json_array_size(list) ? 0 : lt_store_pruned_at(self->store, msgid);
        if (pruned > 0)   //  delivered, then pruned by retention (docs/operations.md)
            json_object_set_new(answer, "pruned_at", json_integer(pruned));
        else if (!json_array_size(list)) {
            //  Never stored (or a typo): not found, not an empty trace.
            json_decref(answer);
            char why[200];
            snprintf(why, sizeof(why),
                     "no message %.64s in the store (check the id; GET /api/v1/trace?key=KEY"
                     " or lthub trace --key KEY looks a message up by its business key)",
                     msgid);
            return json_pack("{s:s, s:b}", "error", why, "not_found", true);
        }
        return answer;
    }
    if (streq(op, "replay") || streq(op, "discard"))
        return s_dead_change(self, json_integer_value(json_object_get(request, "delivery")),
                             streq(op, "discard"));
    if (streq(op, "replay_reject")) {
        json_int_t id = json_integer_value(json_object_get(request, "reject"));
        if (id <= 0)
            return json_pack("{s:s}", "error", "replay_reject needs a positive 'reject'");
        return s_replay_reject(self, id);
    }
    if (streq(op, "publish"))
        return s_publish(self, request);
    json_t *reply = lt_broker_ops_answer(self, op, request);
    return reply ? reply : json_pack("{s:s}", "error", "unknown op");
}

void lt_broker_admin_handle(broker_t *self)
{
    zmsg_t *msg = zmsg_recv(self->admin);
    if (!msg)
        return;
    zframe_t *routing = zmsg_pop(msg);
    char *text = zmsg_popstr(msg);
    json_error_t jerr;
    json_t *request = text ? json_loads(text, 0, &jerr) : NULL;
    json_t *reply = request ? s_answer(self, request)
                            : json_pack("{s:s}", "error", "request is not JSON");
    char *out = json_dumps(reply, JSON_COMPACT);
    if (routing && out) {
        zframe_send(&routing, self->admin, ZFRAME_MORE);
        zstr_send(self->admin, out);
    }
    free(out);
    json_decref(reply);
    json_decref(request);
    free(text);
    zframe_destroy(&routing);
    zmsg_destroy(&msg);
}
