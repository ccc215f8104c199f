/*  lt_broker_ops: what operators ask the broker actor beyond the relay's
    counters: commit histograms, alerts, and the admin requests
    (discard is lt_broker_admin.c's, with replay)

      {"op":"alerts"}                         active alerts and counts per kind
      {"op":"show","delivery":ID}             one delivery with its reasons
      {"op":"trace_key","key":K,"limit":N}    deliveries of a business key

    Alerts are computed from the live state each time they are asked for,
    so each one clears itself as soon as its cause is gone:
      connector_down   a configured connector without a session for longer
                       than alerts/connector_down seconds
      dead_letter      dead letters wait for a connector (replay or discard)
*/
#include "lt_broker_int.h"
#include "lt_config.h"
#include "lt_id.h"
#include "lt_log.h"

#include <string.h>

//  Commit latency buckets, seconds: 0.5 ms to 5 s.
static const double s_commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    5};
//  Writes per commit: 1 to the largest broker/batch.
static const double s_write_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 8192};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

//  Make sure the histograms have their buckets.
static void s_histo_ready(broker_t *self)
{
    if (self->stats.commit_seconds.bucket_count == 0)
        lt_histo_init(&self->stats.commit_seconds, s_commit_bounds, S_COUNT(s_commit_bounds));
    if (self->stats.commit_writes.bucket_count == 0)
        lt_histo_init(&self->stats.commit_writes, s_write_bounds, S_COUNT(s_write_bounds));
}

void lt_broker_ops_commit(broker_t *self, uint64_t took_us, size_t writes)
{
    s_histo_ready(self);
    lt_histo_observe(&self->stats.commit_seconds, (double) took_us / 1e6);
    lt_histo_observe(&self->stats.commit_writes, (double) writes);
}

json_t *lt_broker_ops_histograms(broker_t *self)
{
    s_histo_ready(self);
    return json_pack("{s:o, s:o}", "commit_seconds", lt_histo_json(&self->stats.commit_seconds),
                     "commit_writes", lt_histo_json(&self->stats.commit_writes));
}

//  Dead letters waiting for dest: from the connectors array of a stats
//  reply when given (counted already), else from the store.
static uint64_t s_dead_count(broker_t *self, dest_t *dest, json_t *conns)
{
    size_t i;
    json_t *conn;
    json_array_foreach(conns, i, conn)
    if (streq(json_string_value(json_object_get(conn, "name")), dest->name))
        return (uint64_t) json_integer_value(json_object_get(conn, "dead"));
    lt_store_counts_t counts;
    return lt_store_counts(self->store, dest->name, &counts) ? 0 : counts.dead;
}

//  Every active alert as a JSON array; conns is the connectors array of a
//  stats reply being built, or NULL.
static json_t *s_alerts(broker_t *self, json_t *conns)
{
    json_t *list = json_array();
    int64_t now = lt_time_ms();
    int64_t limit_ms = (int64_t) lt_config_settings(self->config)->alert_down_s * 1000;
    for (size_t i = 0; i < lt_config_connectors(self->config); i++) {
        const char *name = lt_config_connector(self->config, i)->name;
        dest_t *dest = zhashx_lookup(self->dests, name);
        if (dest && dest->session)
            continue;
        int64_t since = dest && dest->down_since ? dest->down_since : self->started;
        if (now - since < limit_ms)
            continue;
        char text[256];
        snprintf(text, sizeof(text), "connector %s has had no session for %lld s", name,
                 (long long) ((now - since) / 1000));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "kind",
                                              "connector_down", "severity", "critical",
                                              "connector", name, "since", (json_int_t) since,
                                              "seconds", (json_int_t) ((now - since) / 1000),
                                              "message", text));
    }
    for (dest_t *dest = zhashx_first(self->dests); dest; dest = zhashx_next(self->dests)) {
        uint64_t dead = s_dead_count(self, dest, conns);
        if (dead == 0)
            continue;
        char text[256];
        snprintf(text, sizeof(text),
                 "%llu dead letter(s) for %s wait for replay or discard (lthub dead list)",
                 (unsigned long long) dead, dest->name);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s}", "kind", "dead_letter",
                                              "severity", "warning", "connector", dest->name,
                                              "count", (json_int_t) dead, "message", text));
    }
    return list;
}

//  Counts per kind of an alert list (every kind present, 0 when clear).
static json_t *s_counts(json_t *list)
{
    json_t *counts = json_object();
    for (size_t i = 0; i < lt_alert_kind_count; i++)
        json_object_set_new(counts, lt_alert_kinds[i], json_integer(0));
    size_t i;
    json_t *alert;
    json_array_foreach(list, i, alert)
    {
        const char *kind = json_string_value(json_object_get(alert, "kind"));
        json_object_set_new(counts, kind,
                            json_integer(json_integer_value(json_object_get(counts, kind)) + 1));
    }
    return counts;
}

json_t *lt_broker_ops_alert_counts(broker_t *self, json_t *conns)
{
    json_t *list = s_alerts(self, conns);
    json_t *counts = s_counts(list);
    json_decref(list);
    return counts;
}

//  A delivery as JSON, with its reasons and a short look at its payload.
static json_t *s_show(broker_t *self, uint64_t delivery)
{
    lt_store_row_t *row = lt_store_get(self->store, delivery, true);
    if (!row)
        return json_pack("{s:s}", "error", "no such delivery");
    const lt_envelope_t *env = row->envelope;
    json_t *to = json_array();
    for (size_t i = 0; i < lt_envelope_recipients(env); i++)
        json_array_append_new(to, json_string(lt_envelope_recipient(env, i)));
    //  The first bytes of the payload when they are text, for a quick look.
    size_t peek = row->payload_size < 512 ? row->payload_size : 512;
    bool text = true;
    for (size_t i = 0; i < peek && text; i++)
        text = row->payload[i] >= 0x20 || row->payload[i] == '\n' || row->payload[i] == '\r' ||
               row->payload[i] == '\t';
    json_t *head = text ? json_stringn((const char *) row->payload, peek) : NULL;
    json_t *reply = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:I, s:o}", "delivery",
        (json_int_t) row->delivery, "msgid", row->msgid, "dest", row->dest, "state",
        lt_delivery_state_name(row->state), "kind", lt_kind_name(lt_envelope_kind(env)), "key",
        lt_envelope_key(env), "source", lt_envelope_source(env), "to", to, "attempts",
        (json_int_t) row->attempts, "created_at", (json_int_t) row->created_at, "next_at",
        (json_int_t) row->next_at, "errors", row->errors ? row->errors : "", "size",
        (json_int_t) row->payload_size, "payload_head", head ? head : json_null());
    lt_store_row_destroy(&row);
    return reply;
}

//  A row as the short JSON the trace lists use.
static int s_collect(void *arg, lt_store_row_t *row)
{
    const lt_envelope_t *env = row->envelope;
    json_array_append_new(
        (json_t *) arg,
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "delivery",
                  (json_int_t) row->delivery, "msgid", row->msgid, "dest", row->dest, "state",
                  lt_delivery_state_name(row->state), "kind",
                  lt_kind_name(lt_envelope_kind(env)), "key", lt_envelope_key(env), "source",
                  lt_envelope_source(env), "attempts", (json_int_t) row->attempts,
                  "created_at", (json_int_t) row->created_at, "errors",
                  row->errors ? row->errors : ""));
    lt_store_row_destroy(&row);
    return 0;
}

json_t *lt_broker_ops_answer(broker_t *self, const char *op, json_t *request)
{
    lt_err_t err;
    json_int_t delivery = json_integer_value(json_object_get(request, "delivery"));
    if (streq(op, "alerts")) {
        json_t *list = s_alerts(self, NULL);
        return json_pack("{s:I, s:o, s:o}", "at", (json_int_t) lt_time_ms(), "counts",
                         s_counts(list), "alerts", list);
    }
    if (streq(op, "show")) {
        if (delivery <= 0)
            return json_pack("{s:s}", "error", "show needs a positive 'delivery'");
        return s_show(self, (uint64_t) delivery);
    }
    if (streq(op, "trace_key")) {
        const char *key = json_string_value(json_object_get(request, "key"));
        json_int_t limit = json_integer_value(json_object_get(request, "limit"));
        if (!key || !*key)
            return json_pack("{s:s}", "error", "trace_key needs 'key'");
        json_t *list = json_array();
        if (lt_store_trace_key(self->store, key, (uint32_t) (limit > 0 ? limit : 1000),
                               s_collect, list, &err)) {
            json_decref(list);
            return json_pack("{s:s}", "error", err.detail);
        }
        return json_pack("{s:s, s:o}", "key", key, "deliveries", list);
    }
    return NULL;
}
