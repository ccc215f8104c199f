/*  lthub-axis: the hub's client of the national document axis (VDXP).

    The axis speaks the edoc API of spec/peers.md A; the hub is one client
    system of it (--system-id, --secret-file) and relays for the province's
    agencies. Two directions, each with its own guarantee:

    Hub -> axis (deliver(), on the runtime's worker threads). The broker
    hands over a document or status package whose recipients it narrowed to
    the agencies routed to the axis. The package is read, a TraceHeader with
    the province's code and the time is appended, it is written back, and
    sent with sendEdoc (part file_doc, messagetype edoc or status, `to` the
    narrowed recipients, hash-file of the exact bytes sent). The axis's OK
    is DONE; what can heal (no answer, timeouts, HTTP 5xx/408/429, a
    garbled answer, ErrorCode 5xx) is RETRY, and the broker backs off; a
    refusal (ErrorCode 400, 401, 403...) is FAIL with the axis's ErrorCode
    and ErrorDesc, and the message goes to dead letters. Each worker takes
    an HTTP client from a small pool, so connections are reused and no
    handle is shared between threads.

    Axis -> hub (a thread of its own, so that a hung axis never stalls the
    runtime's main loop; every call is bounded by --timeout-ms). Every
    --poll-ms: getReceivedEdocList for edoc, then status; each item is
    fetched (getEdoc), read, its envelope filled (signature verdict with
    --trust) and published, and only once the broker confirmed it on disk
    is the item acknowledged with updateStatus done. An item listed again
    after a crash is published again and the broker deduplicates it on its
    business key. A package that cannot be decoded or read in
    --unreadable-fetches fetches in a row, or that is addressed to no agency
    the hub receives for (--agencies), is acknowledged with updateStatus
    fail and the reason, and kept in DATA/axis-rejected/. Failures back off
    (the whole cycle when the axis or the broker is unreachable, one item
    when only it fails) and are logged once per item, not once per cycle.

    The quarantine is bounded (--quarantine-max-age, -items, -bytes): from
    poll(), about once a second, the oldest packages beyond a bound are
    removed in short steps (lt_quarantine), each logged with its docId,
    size and reason (event=quarantine_evicted) before it goes.
*/
#include "axis.h"
#include "lt_edxml.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_period.h"
#include "lt_pdfsig.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_PRUNE_BATCH 64   //  quarantined packages removed per step at most
#define S_PRUNE_MS 100     //  steps of one poll() at most, ms

extern const lt_option_t axis_options[];   //  axis_options.c

//  ---------------------------------------------------------------------------
//  Helpers shared by the files of the connector

void axis_format_time(int64_t ms, char out[32])
{
    lt_period_format_time(ms, "%Y/%m/%d %H:%M:%S", out, 32);
}

void axis_note_error(axis_t *self, const char *detail)
{
    pthread_mutex_lock(&self->stats_lock);
    snprintf(self->stats.last_error, sizeof(self->stats.last_error), "%s", detail);
    self->stats.last_error_at = lt_time_ms();
    pthread_mutex_unlock(&self->stats_lock);
}

lt_edoc_client_t *axis_client_take(axis_t *self, lt_err_t *err)
{
    lt_edoc_client_t *client = NULL;
    pthread_mutex_lock(&self->pool_lock);
    if (self->pool_count > 0)
        client = self->pool[--self->pool_count];
    pthread_mutex_unlock(&self->pool_lock);
    return client ? client : lt_edoc_client_new(&self->client, err);
}

void axis_client_give(axis_t *self, lt_edoc_client_t **client_p)
{
    pthread_mutex_lock(&self->pool_lock);
    if (*client_p && self->pool_count < AXIS_POOL_MAX) {
        self->pool[self->pool_count++] = *client_p;
        *client_p = NULL;
    }
    pthread_mutex_unlock(&self->pool_lock);
    lt_edoc_client_destroy(client_p);
}

//  ---------------------------------------------------------------------------
//  Options

//  Take --agencies (comma-separated), or derive *.LNN and LNN.* from the
//  province code's level-1 group; -1 with err filled when too many.
static int s_agencies(axis_t *self, const char *list, lt_err_t *err)
{
    char derived[160] = "";
    if (!*list) {
        const char *dot = strrchr(self->province_code, '.');
        const char *level1 = dot ? dot + 1 : self->province_code;
        snprintf(derived, sizeof(derived), "*.%s,%s.*", level1, level1);
        list = derived;
    }
    for (const char *code = list; *code;) {
        size_t len = strcspn(code, ", ");
        if (len > 0) {
            if (self->agency_count == AXIS_MAX_AGENCIES)
                return lt_err_set(err, LT_ECONFIG, "--agencies lists more than %d codes",
                                  AXIS_MAX_AGENCIES),
                       -1;
            self->agencies[self->agency_count] = strndup(code, len);
            if (!self->agencies[self->agency_count])
                return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
            self->agency_count++;
        }
        code += len + (code[len] != 0);
    }
    return 0;
}

//  Create DIR/axis-rejected and DIR/axis-published when --data is given;
//  -1 with err filled.
static int s_quarantine(axis_t *self, const char *data, lt_err_t *err)
{
    if (!*data)
        return 0;
    if (mkdir(data, 0750) && errno != EEXIST)
        return lt_err_set(err, LT_ECONFIG, "cannot create --data %s: %s", data, strerror(errno)),
               -1;
    snprintf(self->quarantine, sizeof(self->quarantine), "%s/axis-rejected", data);
    if (mkdir(self->quarantine, 0750) && errno != EEXIST)
        return lt_err_set(err, LT_ECONFIG, "cannot create %s: %s", self->quarantine,
                          strerror(errno)),
               -1;
    snprintf(self->published, sizeof(self->published), "%s/axis-published", data);
    if (mkdir(self->published, 0750) && errno != EEXIST)
        return lt_err_set(err, LT_ECONFIG, "cannot create %s: %s", self->published,
                          strerror(errno)),
               -1;
    self->kept = lt_quarantine_new(self->quarantine, err);
    return self->kept ? 0 : -1;
}

//  ---------------------------------------------------------------------------
//  Lifecycle

static void s_fini(void **state_p);

//  Read and check the options, load the secret and the trust anchors, and
//  check that a client can be built (URL, CA file) before the session starts.
static int s_init(lt_conn_t *conn, void **state_p, lt_err_t *err)
{
    //  libxml2 wants its one-time initialisation before threads parse.
    xmlInitParser();
    axis_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    self->conn = conn;
    pthread_mutex_init(&self->pool_lock, NULL);
    pthread_mutex_init(&self->stop_lock, NULL);
    pthread_cond_init(&self->stop_cond, NULL);
    pthread_mutex_init(&self->stats_lock, NULL);
    *state_p = self;
    snprintf(self->province_code, sizeof(self->province_code), "%s",
             lt_conn_option(conn, "province-code"));
    long timeout = (long) lt_conn_option_int(conn, "timeout-ms");
    long connect = (long) lt_conn_option_int(conn, "connect-timeout-ms");
    self->poll_ms = (long) lt_conn_option_int(conn, "poll-ms");
    self->unreadable_fetches = (long) lt_conn_option_int(conn, "unreadable-fetches");
    self->receive = lt_conn_option_int(conn, "receive") == 1;
    self->kept_bounds = (lt_quarantine_bounds_t){
        .max_age_ms = lt_conn_option_int(conn, "quarantine-max-age") * 1000,
        .max_items = (uint64_t) lt_conn_option_int(conn, "quarantine-max-items"),
        .max_bytes = (uint64_t) lt_conn_option_int(conn, "quarantine-max-bytes"),
    };
    if (s_agencies(self, lt_conn_option(conn, "agencies"), err)
        || s_quarantine(self, lt_conn_option(conn, "data"), err))
        goto failed;
    self->secret = lt_edoc_secret_load(lt_conn_option(conn, "secret-file"), &self->secret_size,
                                       err);
    if (!self->secret)
        goto failed;
    const char *trust = lt_conn_option(conn, "trust");
    if (*trust && !(self->anchors = lt_pdfsig_trust_load(trust, err)))
        goto failed;
    self->client = (lt_edoc_client_config_t){
        .url = lt_conn_option(conn, "url"),
        .system_id = lt_conn_option(conn, "system-id"),
        .secret = self->secret,
        .secret_size = self->secret_size,
        .ca_file = lt_conn_option(conn, "ca-file"),
        .timeout_ms = timeout,
        .connect_timeout_ms = connect,
    };
    lt_edoc_client_t *probe = axis_client_take(self, err);
    if (!probe)
        goto failed;
    axis_client_give(self, &probe);
    lt_log_info("event=axis_config url=%s system=%s province=%s receive=%s poll_ms=%ld "
                "trust=%s",
                self->client.url, self->client.system_id, self->province_code,
                self->receive ? "yes" : "no", self->poll_ms, *trust ? trust : "none");
    return 0;
failed:
    s_fini(state_p);
    return -1;
}

//  Start the receive thread.
static int s_start(void *state, lt_err_t *err)
{
    axis_t *self = state;
    return self->receive ? axis_receive_start(self, err) : 0;
}

//  Hold the quarantine within its bounds: removals of at most S_PRUNE_BATCH
//  packages, for at most S_PRUNE_MS in one call, each logged before removal.
static void s_poll(void *state)
{
    axis_t *self = state;
    if (!self->kept)
        return;
    int64_t started = lt_clock_ms();
    bool more = false;
    uint32_t removed = 0;
    do
        removed += lt_quarantine_prune(self->kept, &self->kept_bounds, lt_time_ms(),
                                       S_PRUNE_BATCH, &more);
    while (more && lt_clock_ms() - started < S_PRUNE_MS);
    if (removed)
        lt_log_info("event=quarantine_pruned packages=%u more=%s", removed, more ? "yes" : "no");
}

//  The quarantine's figures as a new JSON object.
static json_t *s_quarantine_json(axis_t *self)
{
    lt_quarantine_usage_t u = {0};
    if (self->kept)
        lt_quarantine_usage(self->kept, &u);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "items",
                     (json_int_t) u.items, "bytes", (json_int_t) u.bytes, "oldest_age_ms",
                     (json_int_t) (u.oldest ? lt_time_ms() - u.oldest : 0), "evicted",
                     (json_int_t) u.evicted, "evicted_bytes", (json_int_t) u.evicted_bytes,
                     "errors", (json_int_t) u.errors, "max_items",
                     (json_int_t) self->kept_bounds.max_items, "max_bytes",
                     (json_int_t) self->kept_bounds.max_bytes, "max_age_s",
                     (json_int_t) (self->kept_bounds.max_age_ms / 1000));
}

//  Add the connector's counters under "axis".
static void s_stats(void *state, json_t *out)
{
    axis_t *self = state;
    pthread_mutex_lock(&self->stats_lock);
    axis_stats_t s = self->stats;
    pthread_mutex_unlock(&self->stats_lock);
    json_t *quarantine = s_quarantine_json(self);
    json_object_set_new(
        out, "axis",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "sent",
                  (json_int_t) s.sent, "send_retried", (json_int_t) s.send_retried,
                  "send_failed", (json_int_t) s.send_failed, "received", (json_int_t) s.received,
                  "duplicates", (json_int_t) s.duplicates, "rejected", (json_int_t) s.rejected,
                  "receive_errors", (json_int_t) s.receive_errors, "polls",
                  (json_int_t) s.polls, "last_error", s.last_error, "last_error_at",
                  (json_int_t) s.last_error_at));
    json_t *axis = json_object_get(out, "axis");
    if (axis && quarantine)
        json_object_set_new(axis, "quarantine", quarantine);
    else
        json_decref(quarantine);
}

//  Stop the receive thread and free everything.
static void s_fini(void **state_p)
{
    axis_t *self = *state_p;
    if (!self)
        return;
    axis_receive_stop(self);
    for (size_t i = 0; i < self->pool_count; i++)
        lt_edoc_client_destroy(&self->pool[i]);
    for (size_t i = 0; i < self->agency_count; i++)
        free(self->agencies[i]);
    if (self->secret)
        lt_edoc_secret_free(&self->secret, self->secret_size);
    X509_STORE_free(self->anchors);
    lt_quarantine_destroy(&self->kept);
    pthread_mutex_destroy(&self->pool_lock);
    pthread_mutex_destroy(&self->stop_lock);
    pthread_cond_destroy(&self->stop_cond);
    pthread_mutex_destroy(&self->stats_lock);
    free(self);
    *state_p = NULL;
}

static const lt_connector_ops_t s_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "axis",
    .kind = "axis",
    .summary = "client of the national document axis (edoc API): send, poll, fetch, acknowledge",
    .options = axis_options,
    .init = s_init,
    .start = s_start,
    .poll = s_poll,
    .deliver = axis_deliver,
    .stats = s_stats,
    .fini = s_fini,
};

int main(int argc, char *argv[])
{
    return lt_conn_main(&s_ops, argc, argv);
}
