/*  lt_metrics: histograms and the Prometheus rendering of the stats object.
    Each metric family is written once with its HELP and TYPE, then one
    sample per connector (or per label value), as the text format wants. */
#include "lt_metrics.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lt_histo_init(lt_histo_t *self, const double *bounds, size_t count)
{
    assert(self && bounds && count <= LT_HISTO_MAX_BUCKETS);
    memset(self, 0, sizeof(*self));
    self->bounds = bounds;
    self->bucket_count = count;
}

void lt_histo_observe(lt_histo_t *self, double value)
{
    assert(self);
    for (size_t i = 0; i < self->bucket_count; i++)
        if (value <= self->bounds[i]) {
            self->buckets[i]++;
            break;
        }
    self->count++;
    self->sum += value;
}

json_t *lt_histo_json(const lt_histo_t *self)
{
    assert(self);
    json_t *bounds = json_array(), *buckets = json_array();
    uint64_t cumulative = 0;
    for (size_t i = 0; i < self->bucket_count; i++) {
        cumulative += self->buckets[i];
        json_array_append_new(bounds, json_real(self->bounds[i]));
        json_array_append_new(buckets, json_integer((json_int_t) cumulative));
    }
    return json_pack("{s:o, s:o, s:I, s:f}", "bounds", bounds, "buckets", buckets, "count",
                     (json_int_t) self->count, "sum", self->sum);
}

//  A label value with \, " and newline escaped, into out (size bytes).
static void s_label(char *out, size_t size, const char *value)
{
    size_t n = 0;
    for (const char *p = value ? value : ""; *p && n + 3 < size; p++) {
        if (*p == '\\' || *p == '"') {
            out[n++] = '\\';
            out[n++] = *p;
        }
        else if (*p == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        }
        else
            out[n++] = *p;
    }
    out[n] = 0;
}

//  HELP and TYPE lines of one family.
static void s_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

//  Write the numbers of a connector's own counters (the "own" object its
//  PINGs carry), one sample per leaf named by its dotted path; at most 256
//  per connector.
static void s_own_leaf(FILE *out, const char *label, const char *path, json_t *value,
                       int *budget)
{
    if (*budget <= 0)
        return;
    if (json_is_object(value)) {
        const char *key;
        json_t *child;
        json_object_foreach(value, key, child)
        {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
            s_own_leaf(out, label, sub, child, budget);
        }
        return;
    }
    size_t length = strlen(path);
    if (!json_is_number(value) || (length > 3 && strcmp(path + length - 3, "_at") == 0))
        return;   //  texts and times are for the API, not for /metrics
    char figure[300];
    s_label(figure, sizeof(figure), path);
    fprintf(out, "lthub_connector_figure{connector=\"%s\",figure=\"%s\"} %.17g\n", label,
            figure, json_number_value(value));
    (*budget)--;
}

//  The connectors' own figures (LTP PING/PONG stats, schemas/ltp.md).
static void s_own_figures(FILE *out, json_t *connectors)
{
    s_family(out, "lthub_connector_figure", "untyped",
             "A connector's own counter, as the connector reports it (figure is its path in "
             "/api/v1/stats connectors[].own).");
    size_t i;
    json_t *conn;
    json_array_foreach(connectors, i, conn)
    {
        char label[192];
        s_label(label, sizeof(label), json_string_value(json_object_get(conn, "name")));
        int budget = 256;
        s_own_leaf(out, label, "", json_object_get(conn, "own"), &budget);
    }
}

//  Integer field of an object (0 when absent).
static long long s_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_true(v))
        return 1;
    return (long long) json_integer_value(v);
}

//  One scalar family from a field of an object, scaled by factor.
typedef struct {
    const char *section;   //  "broker" or "store"
    const char *key;       //  field in that section
    const char *name;      //  metric name
    const char *type;      //  counter or gauge
    double factor;         //  multiply the field by this
    const char *help;      //  HELP text
} s_scalar_t;

static const s_scalar_t s_scalars[] = {
    {"broker", "uptime_ms", "lthub_broker_uptime_seconds", "gauge", 0.001,
     "Seconds since lthubd started."},
    {"broker", "commits", "lthub_store_commits_total", "counter", 1,
     "Group commits (their write-ahead log is synced behind them: lthub_store_syncs_total)."},
    {"broker", "syncs", "lthub_store_syncs_total", "counter", 1,
     "fdatasyncs of the write-ahead log; answers and deliveries wait for the one after their commit."},
    {"broker", "lazy_commits", "lthub_store_lazy_commits_total", "counter", 1,
     "Commits that owed no answer and made no delivery visible (acknowledgements, retries):"
     " synced by the next sync, at most 100 ms later."},
    {"broker", "sync_us_total", "lthub_store_sync_seconds_total", "counter", 0.000001,
     "Time spent in those fdatasyncs."},
    {"broker", "committed", "lthub_store_writes_total", "counter", 1,
     "Publishes and acknowledgements committed to the store."},
    {"broker", "store_errors", "lthub_store_errors_total", "counter", 1,
     "Store commits that failed."},
    {"broker", "bad_frames", "lthub_ltp_bad_frames_total", "counter", 1,
     "LTP messages that could not be decoded."},
    {"broker", "errors_dropped", "lthub_ltp_errors_dropped_total", "counter", 1,
     "ERRORs not sent: over the 16 a second one connection is answered."},
    {"broker", "stale_skipped", "lthub_ltp_stale_done_skipped_total", "counter", 1,
     "Stale DONE ids left alone: over the 4096 store look-ups one frame may cost."},
    {"broker", "refused", "lthub_ltp_refused_sessions_total", "counter", 1,
     "HELLOs refused (unknown connector, bad version)."},
    {"store", "messages", "lthub_store_stored_messages", "gauge", 1,
     "Messages kept in the store."},
    {"store", "rejects", "lthub_store_rejected_inputs_messages", "gauge", 1,
     "Rejected inputs kept for inspection."},
    {"store", "size_bytes", "lthub_store_size_bytes", "gauge", 1,
     "Bytes the store occupies on disk (database, write-ahead log and payload segments)."},
    {"store", "segment_bytes", "lthub_store_segment_bytes", "gauge", 1,
     "Bytes the payload segment files occupy on disk (part of lthub_store_size_bytes)."},
    {"store", "segment_files", "lthub_store_segment_files", "gauge", 1,
     "Payload segment files on disk."},
    {"store", "segments_deleted", "lthub_store_segments_deleted_total", "counter", 1,
     "Segment files deleted by retention since lthubd started."},
    {"store", "payload_errors", "lthub_store_payload_errors_total", "counter", 1,
     "Payloads found missing or damaged (segment record CRC) when read; dead-lettered."},
    {"store", "lanes", "lthub_store_lanes", "gauge", 1,
     "Lanes (destination and business key) with unfinished deliveries, kept in memory."},
    {"store", "lanes_bytes", "lthub_store_lanes_bytes", "gauge", 1,
     "Memory the lanes take in lthubd (about 21 MiB for a million queued deliveries)."},
    {"store", "free_bytes", "lthub_store_free_bytes", "gauge", 1,
     "Bytes of free pages inside the database file, reused by new messages."},
    {"store", "retention_s", "lthub_store_retention_seconds", "gauge", 1,
     "Seconds a message is kept once all its deliveries are done (store/retention, 0 = all)."},
    {"store", "pruned", "lthub_store_pruned_messages_total", "counter", 1,
     "Messages pruned by retention (payload and deliveries deleted, dedup key kept)."},
    {"store", "oldest_kept_age_ms", "lthub_store_oldest_message_age_seconds", "gauge", 0.001,
     "Age of the oldest message whose payload the store still keeps (0 when none)."},
};

//  One per-connector family.
typedef struct {
    const char *key;       //  field of a connector object ("queue" = ready + waiting)
    const char *name;      //  metric name
    const char *type;      //  counter or gauge
    const char *help;      //  HELP text
} s_conn_metric_t;

static const s_conn_metric_t s_conn_metrics[] = {
    {"connected", "lthub_connector_connected", "gauge",
     "1 while the connector has a session with the broker, else 0."},
    {"published", "lthub_connector_in_messages_total", "counter",
     "Messages the connector published to the broker."},
    {"accepted", "lthub_connector_accepted_messages_total", "counter",
     "Published messages stored as new."},
    {"duplicates", "lthub_connector_duplicate_messages_total", "counter",
     "Published messages recognised as already stored (dedup key)."},
    {"rejected", "lthub_connector_rejected_messages_total", "counter",
     "Published messages refused by the broker."},
    {"bytes_in", "lthub_connector_in_bytes_total", "counter",
     "Payload bytes the connector published."},
    {"delivered", "lthub_connector_out_messages_total", "counter",
     "Deliveries handed to the connector (each attempt)."},
    {"done", "lthub_connector_done_messages_total", "counter",
     "Deliveries the connector confirmed."},
    {"bytes_out", "lthub_connector_out_bytes_total", "counter",
     "Payload bytes handed to the connector."},
    {"retried", "lthub_connector_retries_total", "counter",
     "Deliveries the connector asked to retry later."},
    {"failed", "lthub_connector_failures_total", "counter",
     "Deliveries that failed for good (sent to dead letters)."},
    {"queue", "lthub_connector_queue_depth_messages", "gauge",
     "Deliveries waiting for the connector (ready and scheduled retries)."},
    {"waiting", "lthub_connector_retry_wait_messages", "gauge",
     "Deliveries waiting for a scheduled retry."},
    {"inflight", "lthub_connector_inflight_messages", "gauge",
     "Deliveries handed to the connector and not yet answered."},
    {"credit", "lthub_connector_credit_messages", "gauge",
     "Deliveries the connector's session can still take."},
    {"dead", "lthub_connector_dead_letters_messages", "gauge",
     "Dead letters for the connector, waiting for replay or discard."},
    {"sessions", "lthub_connector_sessions_total", "counter",
     "Sessions the connector opened."},
    {"expired", "lthub_connector_expired_sessions_total", "counter",
     "Sessions lost because the connector went silent."},
    {"lost", "lthub_connector_lost_sessions_total", "counter",
     "Sessions ended because the connector did not read what it was sent (its queue full) "
     "or its connection was gone."},
};

//  Histogram family from its JSON form, values scaled by factor.
static void s_histogram(FILE *out, json_t *histo, const char *name, const char *help)
{
    if (!json_is_object(histo))
        return;
    s_family(out, name, "histogram", help);
    json_t *bounds = json_object_get(histo, "bounds");
    json_t *buckets = json_object_get(histo, "buckets");
    for (size_t i = 0; i < json_array_size(bounds) && i < json_array_size(buckets); i++)
        fprintf(out, "%s_bucket{le=\"%g\"} %lld\n", name,
                json_number_value(json_array_get(bounds, i)),
                (long long) json_integer_value(json_array_get(buckets, i)));
    fprintf(out, "%s_bucket{le=\"+Inf\"} %lld\n", name, s_int(histo, "count"));
    fprintf(out, "%s_sum %.9g\n", name, json_number_value(json_object_get(histo, "sum")));
    fprintf(out, "%s_count %lld\n", name, s_int(histo, "count"));
}

const char *const lt_alert_kinds[] = {"connector_down", "dead_letter", "document_no_status",
                                      "dossier_not_synced"};
const size_t lt_alert_kind_count = sizeof(lt_alert_kinds) / sizeof(lt_alert_kinds[0]);

char *lt_metrics_render(json_t *stats)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    json_t *broker = json_object_get(stats, "broker");
    char name[192], endpoint[512];
    s_label(name, sizeof(name), json_string_value(json_object_get(broker, "name")));
    s_label(endpoint, sizeof(endpoint), json_string_value(json_object_get(broker, "endpoint")));
    s_family(out, "lthub_broker_info", "gauge", "The broker's name and LTP endpoint (always 1).");
    fprintf(out, "lthub_broker_info{name=\"%s\",endpoint=\"%s\",version=\"%s\"} 1\n", name,
            endpoint, LT_VERSION);
    for (size_t i = 0; i < sizeof(s_scalars) / sizeof(s_scalars[0]); i++) {
        const s_scalar_t *m = &s_scalars[i];
        json_t *section = json_object_get(stats, m->section);
        if (!json_object_get(section, m->key))
            continue;
        s_family(out, m->name, m->type, m->help);
        if (m->factor == 1)
            fprintf(out, "%s %lld\n", m->name, s_int(section, m->key));
        else
            fprintf(out, "%s %.3f\n", m->name, (double) s_int(section, m->key) * m->factor);
    }
    json_t *store = json_object_get(stats, "store");
    static const char *states[] = {"ready", "waiting", "done", "dead"};
    s_family(out, "lthub_store_deliveries_messages", "gauge",
             "Deliveries in the store by state (ready, waiting, done, dead).");
    for (size_t i = 0; i < 4; i++)
        fprintf(out, "lthub_store_deliveries_messages{state=\"%s\"} %lld\n", states[i],
                s_int(store, states[i]));
    json_t *histos = json_object_get(stats, "histograms");
    s_histogram(out, json_object_get(histos, "commit_seconds"),
                "lthub_store_commit_duration_seconds",
                "Time one group commit takes to write the log (its sync is counted apart).");
    s_histogram(out, json_object_get(histos, "confirm_seconds"),
                "lthub_publish_confirm_duration_seconds",
                "Time from a PUBLISH read by the relay to its answer sent: the wait for its group,"
                " the commit and the log's sync.");
    s_histogram(out, json_object_get(histos, "commit_writes"), "lthub_store_commit_batch_messages",
                "Publishes and acknowledgements written by one group commit.");
    json_t *connectors = json_object_get(stats, "connectors");
    for (size_t m = 0; m < sizeof(s_conn_metrics) / sizeof(s_conn_metrics[0]); m++) {
        const s_conn_metric_t *cm = &s_conn_metrics[m];
        s_family(out, cm->name, cm->type, cm->help);
        size_t i;
        json_t *conn;
        json_array_foreach(connectors, i, conn)
        {
            char label[192];
            s_label(label, sizeof(label), json_string_value(json_object_get(conn, "name")));
            long long value;
            if (strcmp(cm->key, "queue") == 0)
                value = s_int(conn, "ready") + s_int(conn, "waiting");
            else
                value = s_int(conn, cm->key);
            fprintf(out, "%s{connector=\"%s\"} %lld\n", cm->name, label, value);
        }
    }
    s_own_figures(out, connectors);
    //  Ledger events by kind, when the stats carry them ({"ledger":
    //  {"events": {KIND: N}}}).
    json_t *events = json_object_get(json_object_get(stats, "ledger"), "events");
    if (json_is_object(events) && json_object_size(events)) {
        s_family(out, "lthub_ledger_events_total", "counter",
                 "Events recorded by the counting ledger, by kind.");
        const char *ekind;
        json_t *n;
        json_object_foreach(events, ekind, n)
        {
            char label[96];
            s_label(label, sizeof(label), ekind);
            fprintf(out, "lthub_ledger_events_total{kind=\"%s\"} %lld\n", label,
                    (long long) json_integer_value(n));
        }
    }
    json_t *alerts = json_object_get(stats, "alerts");
    s_family(out, "lthub_alerts", "gauge",
             "Alerts active by kind (see docs/operations.md for what to do).");
    for (size_t i = 0; i < lt_alert_kind_count; i++)
        fprintf(out, "lthub_alerts{kind=\"%s\"} %lld\n", lt_alert_kinds[i],
                s_int(alerts, lt_alert_kinds[i]));
    const char *kind;
    json_t *count;
    json_object_foreach(alerts, kind, count)
    {
        bool known = false;
        for (size_t i = 0; i < lt_alert_kind_count; i++)
            known = known || strcmp(kind, lt_alert_kinds[i]) == 0;
        char label[96];
        s_label(label, sizeof(label), kind);
        if (!known)
            fprintf(out, "lthub_alerts{kind=\"%s\"} %lld\n", label,
                    (long long) json_integer_value(count));
    }
    fclose(out);
    return text;
}

//  ---------------------------------------------------------------------------
//  Self-test

void lt_metrics_test(bool verbose)
{
    if (verbose)
        printf(" * lt_metrics: ");
    static const double bounds[] = {0.001, 0.01, 0.1};
    lt_histo_t h;
    lt_histo_init(&h, bounds, 3);
    lt_histo_observe(&h, 0.0005);
    lt_histo_observe(&h, 0.005);
    lt_histo_observe(&h, 0.005);
    lt_histo_observe(&h, 5);
    json_t *hj = lt_histo_json(&h);
    json_t *b = json_object_get(hj, "buckets");
    assert(json_integer_value(json_array_get(b, 0)) == 1);
    assert(json_integer_value(json_array_get(b, 1)) == 3);
    assert(json_integer_value(json_array_get(b, 2)) == 3);
    assert(json_integer_value(json_object_get(hj, "count")) == 4);

    json_t *stats = json_pack(
        "{s:{s:s, s:s, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:{s:o}, s:{s:I},"
        " s:[{s:s, s:b, s:I, s:I, s:I}]}",
        "broker", "name", "hub\"x", "endpoint", "tcp://127.0.0.1:1", "uptime_ms",
        (json_int_t) 1500, "commits", (json_int_t) 7, "store", "ready", (json_int_t) 2, "waiting",
        (json_int_t) 1, "dead", (json_int_t) 1, "size_bytes", (json_int_t) 4096, "histograms",
        "commit_seconds", hj, "alerts", "dead_letter", (json_int_t) 1, "connectors", "name",
        "axis", "connected", true, "ready", (json_int_t) 2, "waiting", (json_int_t) 1,
        "bytes_in", (json_int_t) 99);
    json_object_set_new(stats, "ledger",
                        json_pack("{s:{s:i, s:i}}", "events", "document_out", 3, "status_in", 2));
    json_object_set_new(json_object_get(stats, "store"), "pruned", json_integer(12));
    json_object_set_new(json_object_get(stats, "store"), "oldest_kept_age_ms", json_integer(2500));
    json_object_set_new(json_array_get(json_object_get(stats, "connectors"), 0), "own",
                        json_pack("{s:{s:i, s:s, s:i, s:{s:i}}}", "axis", "sent", 5, "last_error",
                                  "x", "last_error_at", 7, "mailboxes", "new", 2));
    char *text = lt_metrics_render(stats);
    assert(text);
    assert(strstr(text, "# TYPE lthub_store_pruned_messages_total counter\n"
                        "lthub_store_pruned_messages_total 12\n"));
    assert(strstr(text, "lthub_store_oldest_message_age_seconds 2.500\n"));
    assert(strstr(text, "# TYPE lthub_ledger_events_total counter\n"));
    assert(strstr(text, "lthub_ledger_events_total{kind=\"document_out\"} 3\n"));
    assert(strstr(text, "lthub_broker_info{name=\"hub\\\"x\""));
    assert(strstr(text, "# TYPE lthub_store_commits_total counter\nlthub_store_commits_total 7\n"));
    assert(strstr(text, "lthub_broker_uptime_seconds 1.500\n"));
    assert(strstr(text, "lthub_store_size_bytes 4096\n"));
    assert(strstr(text, "lthub_store_commit_duration_seconds_bucket{le=\"0.01\"} 3\n"));
    assert(strstr(text, "lthub_store_commit_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert(strstr(text, "lthub_store_commit_duration_seconds_count 4\n"));
    assert(strstr(text, "lthub_connector_queue_depth_messages{connector=\"axis\"} 3\n"));
    assert(strstr(text, "lthub_connector_connected{connector=\"axis\"} 1\n"));
    assert(strstr(text, "lthub_connector_in_bytes_total{connector=\"axis\"} 99\n"));
    assert(strstr(text, "lthub_connector_figure{connector=\"axis\",figure=\"axis.sent\"} 5\n"));
    assert(strstr(text, "lthub_connector_figure{connector=\"axis\",figure=\"axis.mailboxes.new\"} 2\n"));
    assert(!strstr(text, "last_error"));
    assert(strstr(text, "lthub_alerts{kind=\"dead_letter\"} 1\n"));
    assert(strstr(text, "lthub_alerts{kind=\"connector_down\"} 0\n"));
    assert(strstr(text, "lthub_alerts{kind=\"document_no_status\"} 0\n"));
    assert(strstr(text, "lthub_alerts{kind=\"dossier_not_synced\"} 0\n"));
    //  Every sample's family was announced before it.
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (*line != '#') {
            char family[128];
            size_t n = strcspn(line, "{ ");
            snprintf(family, sizeof(family), "# TYPE %.*s", (int) n, line);
            char *base = strstr(family, "_bucket");
            if (!base)
                base = strstr(family, "_count");
            if (!base && strstr(family, "_sum") && strstr(family, "duration"))
                base = strstr(family, "_sum");
            if (base)
                *base = 0;
            assert(strstr(text, family) && strstr(text, family) < line);
        }
        if (!strchr(line, '\n'))
            break;
    }
    free(text);
    json_decref(stats);
    if (verbose)
        printf("OK\n");
}
