/*  lt_broker_ops: what operators ask the broker actor beyond the relay's
    counters: commit and confirm histograms, alerts, and the admin requests
    (discard is lt_broker_admin.c's, with replay)

      {"op":"alerts"}                         active alerts and counts per kind
      {"op":"show","delivery":ID}             one delivery with its reasons
      {"op":"trace_key","key":K,"limit":N}    deliveries of a business key

    Alerts are computed from the live state each time they are asked for,
    so each one clears itself as soon as its cause is gone:
      connector_down   a configured connector without a session for longer
                       than alerts/connector_down seconds
      dead_letter      dead letters wait for a connector (replay or discard)
      document_no_status  documents the hub delivered to an agency of the
                       province with no status 01/03 back from it within
                       alerts/status_within seconds (one alert per agency)
      dossier_not_synced  received dossiers with no dossier_synced fact
                       within alerts/sync_within seconds (one per agency)
    The last two are read from the ledger's waiting items (an index range,
    at most S_STUCK_LIMIT rows) and kept S_STUCK_CACHE_MS, since /metrics
    and the dashboard ask often.
*/
#include "lt_broker_int.h"
#include "lt_config.h"
#include "lt_id.h"
#include "lt_ledger.h"
#include "lt_log.h"

#include <string.h>

//  Commit latency buckets, seconds: 0.5 ms to 5 s.
static const double s_commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    5};
//  PUBLISH read to its answer sent, seconds: 0.25 ms to 5 s.
static const double s_confirm_bounds[] = {0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                          0.05,    0.1,    0.25,  1,     5};
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
    if (self->stats.confirm_seconds.bucket_count == 0)
        lt_histo_init(&self->stats.confirm_seconds, s_confirm_bounds, S_COUNT(s_confirm_bounds));
}

void lt_broker_ops_commit(broker_t *self, uint64_t took_us, size_t writes)
{
    s_histo_ready(self);
    lt_histo_observe(&self->stats.commit_seconds, (double) took_us / 1e6);
    lt_histo_observe(&self->stats.commit_writes, (double) writes);
}

void lt_broker_ops_confirm(broker_t *self, uint64_t took_us)
{
    s_histo_ready(self);
    lt_histo_observe(&self->stats.confirm_seconds, (double) took_us / 1e6);
}

json_t *lt_broker_ops_histograms(broker_t *self)
{
    s_histo_ready(self);
    return json_pack("{s:o, s:o, s:o}", "commit_seconds",
                     lt_histo_json(&self->stats.commit_seconds), "commit_writes",
                     lt_histo_json(&self->stats.commit_writes), "confirm_seconds",
                     lt_histo_json(&self->stats.confirm_seconds));
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

#define S_STUCK_LIMIT 2000      //  waiting items looked at per kind
#define S_STUCK_CACHE_MS 2000   //  how long a reading of them is reused

//  One kind of stuck item being turned into alerts.
typedef struct {
    json_t *list;         //  alerts
    const char *kind;     //  alert kind
    const char *what;     //  "document(s) delivered to" or "dossier(s) received by"
    const char *missing;  //  what they lack
    int within_s;         //  the setting
    int64_t now;          //  Unix ms
    int64_t seen;         //  items over the agencies so far
} s_stuck_t;

//  One agency's waiting items as an alert.
static int s_stuck_one(void *arg, const lt_ledger_wait_t *w)
{
    s_stuck_t *ctx = arg;
    long long seconds = (long long) ((ctx->now - w->oldest_at) / 1000);
    char text[1024];
    snprintf(text, sizeof(text), "%lld %s %.64s with no %s for more than %d s; the oldest, %.200s,"
             " for %lld s (lthub trace --key %.200s)",
             (long long) w->count, ctx->what, w->agency, ctx->missing, ctx->within_s,
             w->oldest_doc, seconds, w->oldest_doc);
    ctx->seen += w->count;
    json_array_append_new(ctx->list, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:s}",
                                               "kind", ctx->kind, "severity", "warning",
                                               "agency", w->agency, "count",
                                               (json_int_t) w->count, "oldest", w->oldest_doc,
                                               "since", (json_int_t) w->oldest_at, "seconds",
                                               (json_int_t) seconds, "message", text));
    return 0;
}

//  Stuck-item alerts of one kind, appended to list.
static void s_stuck_kind(lt_ledger_t *ledger, s_stuck_t *ctx, lt_ledger_await_t await)
{
    lt_err_t err;
    size_t first = json_array_size(ctx->list);
    int64_t before = ctx->now - (int64_t) ctx->within_s * 1000;
    if (lt_ledger_waiting(ledger, await, before, S_STUCK_LIMIT, s_stuck_one, ctx, &err)) {
        lt_log_warning("event=alerts_failed kind=%s error=\"%s\"", ctx->kind, err.detail);
        return;
    }
    //  The counts stop at the limit: say so.
    for (size_t i = first; ctx->seen >= S_STUCK_LIMIT && i < json_array_size(ctx->list); i++)
        json_object_set_new(json_array_get(ctx->list, i), "at_least", json_true());
}

//  The stuck-item alerts, computed at most every S_STUCK_CACHE_MS (on loan).
static json_t *s_stuck(broker_t *self)
{
    int64_t now = lt_time_ms();
    if (self->stuck && now >= self->stuck_at && now - self->stuck_at < S_STUCK_CACHE_MS)
        return self->stuck;
    json_decref(self->stuck);
    self->stuck = json_array();
    self->stuck_at = now;
    lt_ledger_t *ledger = lt_store_ledger(self->store);
    if (!ledger)
        return self->stuck;
    const lt_settings_t *set = lt_config_settings(self->config);
    s_stuck_t docs = {self->stuck, "document_no_status", "document(s) delivered to",
                      "status 01 or 03 back", set->alert_status_s, now, 0};
    s_stuck_kind(ledger, &docs, LT_LEDGER_AWAIT_STATUS);
    s_stuck_t dossiers = {self->stuck, "dossier_not_synced", "dossier(s) received by",
                          "dossier_synced fact", set->alert_sync_s, now, 0};
    s_stuck_kind(ledger, &dossiers, LT_LEDGER_AWAIT_SYNC);
    return self->stuck;
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
    json_array_extend(list, s_stuck(self));
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
    if (!row) {
        char why[160];
        snprintf(why, sizeof(why),
                 "no such delivery %llu (lthub dead list or GET /api/v1/dead lists the dead"
                 " letters with their ids)",
                 (unsigned long long) delivery);
        return json_pack("{s:s, s:b}", "error", why, "not_found", true);
    }
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
    if (row->payload_error)
        json_object_set_new(reply, "payload_error", json_string(row->payload_error));
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
