/*  lt_broker_deliver: handing deliveries to connectors and taking their
    answers.

    Where deliveries come from, in order of preference:
      - the "again" stack: lane successors unblocked by a DONE or a dead
        letter, and the in-flight deliveries of a session that was lost;
      - due retries (WAITING with next_at passed), scanned at most every
        100 ms per destination;
      - READY deliveries beyond the destination's cursor.
    Each is sent only if it heads its lane, which the store's scans check;
    for the "again" stack the store row is re-read so a delivery that has
    meanwhile finished is skipped.
*/
#include "lt_broker_int.h"
#include "lt_follow.h"
#include "lt_id.h"
#include "lt_log.h"

#include <assert.h>
#include <string.h>

#define S_DUE_INTERVAL_MS 100   //  how often to look for due retries

void lt_dest_destroy(dest_t **dest_p)
{
    dest_t *dest = *dest_p;
    if (dest) {
        zhashx_destroy(&dest->inflight);
        json_decref(dest->own);
        free(dest->again);
        for (size_t i = 0; i < dest->bad_size; i++)
            free(dest->bad_why[i]);
        free(dest);
        *dest_p = NULL;
    }
}

void lt_broker_again(dest_t *dest, uint64_t delivery)
{
    for (size_t i = 0; i < dest->again_size; i++)
        if (dest->again[i] == delivery)
            return;
    if (dest->again_size == dest->again_alloc) {
        size_t alloc = dest->again_alloc ? dest->again_alloc * 2 : 64;
        uint64_t *again = realloc(dest->again, alloc * sizeof(uint64_t));
        assert(again);
        dest->again = again;
        dest->again_alloc = alloc;
    }
    dest->again[dest->again_size++] = delivery;
}

static void s_key(uint64_t delivery, char key[24]);
static void s_attempt_failed(broker_t *self, dest_t *dest, inflight_t *item, const char *key,
                             const char *what, const char *why, bool fail, int64_t delay_ms);

void lt_broker_requeue(broker_t *self, dest_t *dest, const char *why)
{
    //  Each in-flight delivery has had its attempt: counted in the store as
    //  a timeout would be, so that the next DELIVER says a higher attempt
    //  and a message that brings its connector down every time stops at the
    //  attempt budget. Due again at once: the connector never answered.
    size_t count = zhashx_size(dest->inflight);
    uint64_t *ids = count ? malloc(count * sizeof(uint64_t)) : NULL;
    assert(ids || !count);
    size_t n = 0;
    for (inflight_t *item = zhashx_first(dest->inflight); item && n < count;
         item = zhashx_next(dest->inflight))
        ids[n++] = item->delivery;
    for (size_t i = 0; i < n; i++) {
        char key[24];
        s_key(ids[i], key);
        inflight_t *item = zhashx_lookup(dest->inflight, key);
        if (!item)
            continue;
        s_attempt_failed(self, dest, item, key, "SESSION_END", why, false, 0);
        //  Still there if the store could not take it. Looked at again
        //  either way: the row decides (waiting, or dead).
        zhashx_delete(dest->inflight, key);
        lt_broker_again(dest, ids[i]);
    }
    free(ids);
    zhashx_purge(dest->inflight);
}

//  The in-flight table's key of a delivery: its id in decimal (what
//  snprintf's "%llu" writes, without its cost: three per relayed message).
static void s_key(uint64_t delivery, char key[24])
{
    char digits[21];
    size_t n = 0;
    do {
        digits[n++] = (char) ('0' + delivery % 10);
        delivery /= 10;
    } while (delivery);
    for (size_t i = 0; i < n; i++)
        key[i] = digits[n - 1 - i];
    key[n] = 0;
}

//  Send one row to the destination's session; takes the row.
static void s_deliver(broker_t *self, dest_t *dest, lt_store_row_t **row_p)
{
    lt_store_row_t *row = *row_p;
    session_t *session = dest->session;
    inflight_t *item = calloc(1, sizeof(*item));
    assert(item);
    item->delivery = row->delivery;
    item->attempt = row->attempts + 1;
    item->created_at = row->created_at;
    item->sent_at = zclock_mono();
    item->lane_key = row->lane_key;
    char key[24];
    s_key(row->delivery, key);
    zhashx_insert(dest->inflight, key, item);
    lt_ltp_t *msg = lt_ltp_new(LT_LTP_DELIVER);
    lt_ltp_set_delivery(msg, row->delivery);
    lt_ltp_set_attempt(msg, item->attempt);
    //  As stored (the store's scan checked that it is one msgpack map):
    //  sent without a decode and a pack.
    if (row->packed)
        lt_ltp_adopt_envelope_packed(msg, &row->packed, row->packed_size);
    else if (row->envelope)
        lt_ltp_set_envelope(msg, &row->envelope);
    lt_ltp_give_payload(msg, &row->payload, row->payload_size);
    dest->stats.delivered++;
    dest->stats.bytes_out += row->payload_size;
    session->credit--;
    lt_broker_send(self, session, &msg);
    lt_store_row_destroy(row_p);
}

//  Scan callback: deliver unless already in flight.
static int s_take(void *arg, lt_store_row_t *row)
{
    void **ctx = arg;
    broker_t *self = ctx[0];
    dest_t *dest = ctx[1];
    (*(uint32_t *) ctx[2])++;   //  rows the scan returned
    if (row->delivery > self->durable_top) {
        //  Its commit is not on disk yet: the scan stops here, before the
        //  cursor moves, and starts again once it is (s_on_durable).
        lt_store_row_destroy(&row);
        return -1;
    }
    char key[24];
    s_key(row->delivery, key);
    if (row->payload_error) {
        //  Dead-lettered after the scan (no writes while it reads); when
        //  the list is full, the cursor stays and the next scan finds it.
        if (dest->bad_size == 16) {
            lt_store_row_destroy(&row);
            return -1;
        }
        if (row->delivery > dest->cursor && row->state == LT_DELIVERY_READY)
            dest->cursor = row->delivery;
        dest->bad[dest->bad_size] = row->delivery;
        dest->bad_why[dest->bad_size++] = row->payload_error;
        row->payload_error = NULL;
        lt_store_row_destroy(&row);
        return 0;
    }
    if (!dest->session || dest->session->credit == 0 || dest->session->lost) {
        //  Out of credit (or lost, lt_broker.c): stop here, and do not move the cursor past rows
        //  that were not handed out.
        lt_store_row_destroy(&row);
        return -1;
    }
    if (row->delivery > dest->cursor && row->state == LT_DELIVERY_READY)
        dest->cursor = row->delivery;
    if (zhashx_lookup(dest->inflight, key)) {
        lt_store_row_destroy(&row);
        return 0;
    }
    s_deliver(self, dest, &row);
    return 0;
}

//  Move deliveries whose payload is missing or damaged (a segment record
//  that fails its CRC or is gone), or whose stored envelope no longer
//  decodes, to the dead letters, with the reason: the operator sees them,
//  the broker goes on.
static void s_dead_unreadable(broker_t *self, dest_t *dest)
{
    for (size_t i = 0; i < dest->bad_size; i++) {
        lt_err_t err;
        char reason[600];
        bool envelope = strncmp(dest->bad_why[i], LT_STORE_ENVELOPE_UNREADABLE,
                                strlen(LT_STORE_ENVELOPE_UNREADABLE)) == 0;
        snprintf(reason, sizeof(reason), "%s%s", envelope ? "" : "payload unreadable: ",
                 dest->bad_why[i]);
        lt_log_error("event=%s connector=%s delivery=%llu reason=\"%s\"",
                     envelope ? "envelope_unreadable" : "payload_unreadable", dest->name,
                     (unsigned long long) dest->bad[i], dest->bad_why[i]);
        if (lt_broker_batch_open(self) == 0) {
            self->batch_writes++;
            if (lt_store_dead(self->store, dest->bad[i], reason, &err))
                lt_log_error("event=store_error op=dead reason=\"%s\"", err.detail);
            else
                dest->stats.failed++;
        }
        free(dest->bad_why[i]);
    }
    dest->bad_size = 0;
}

void lt_broker_dispatch(broker_t *self, dest_t *dest)
{
    session_t *session = dest->session;
    if (!session || session->credit == 0 || session->lost)
        return;
    const lt_settings_t *st = lt_config_settings(self->config);
    uint32_t rows = 0;
    void *ctx[] = {self, dest, &rows};
    lt_err_t err;
    //  1. Deliveries to look at again.
    while (dest->again_size && session->credit > 0 && !session->lost) {
        uint64_t delivery = dest->again[--dest->again_size];
        if (delivery > self->durable_top) {
            dest->scan_ready = true;   //  above the cursor: a scan finds it once on disk
            continue;
        }
        char key[24];
        s_key(delivery, key);
        if (zhashx_lookup(dest->inflight, key))
            continue;
        lt_store_row_t *row = lt_store_get(self->store, delivery, true);
        if (row && (row->state == LT_DELIVERY_READY || row->state == LT_DELIVERY_WAITING) &&
            strcmp(row->dest, dest->name) == 0 && row->payload_error && dest->bad_size < 16) {
            dest->bad[dest->bad_size] = row->delivery;
            dest->bad_why[dest->bad_size++] = row->payload_error;
            row->payload_error = NULL;
        }
        else if (row && (row->state == LT_DELIVERY_READY || row->state == LT_DELIVERY_WAITING) &&
                 strcmp(row->dest, dest->name) == 0 && !row->payload_error)
            s_deliver(self, dest, &row);
        lt_store_row_destroy(&row);
    }
    //  2. Due retries.
    int64_t now = lt_time_ms();
    if (session->credit > 0 && now >= dest->due_check_at) {
        uint64_t window = (uint64_t) session->credit + zhashx_size(dest->inflight);
        uint32_t limit = window < UINT32_MAX ? (uint32_t) window : UINT32_MAX;
        if (lt_store_scan_due(self->store, dest->name, now, limit, s_take, ctx, &err))
            lt_log_error("event=store_error op=scan_due reason=\"%s\"", err.detail);
        dest->due_check_at = now + S_DUE_INTERVAL_MS;
    }
    //  3. New deliveries.
    while (session->credit > 0 && dest->scan_ready && !session->lost) {
        uint32_t limit = session->credit < (uint32_t) st->scan_limit ? session->credit
                                                                      : (uint32_t) st->scan_limit;
        uint64_t before = dest->cursor;
        rows = 0;
        if (lt_store_scan_ready(self->store, dest->name, dest->cursor, limit, s_take, ctx,
                                &err)) {
            lt_log_error("event=store_error op=scan_ready reason=\"%s\"", err.detail);
            break;
        }
        //  Fewer rows than asked for: nothing more beyond the cursor for now.
        if (dest->cursor == before || rows < limit)
            dest->scan_ready = false;
    }
    s_dead_unreadable(self, dest);
}

//  Find the in-flight entry for a delivery answered by session; NULL if the
//  answer is stale (the delivery went back to the queue meanwhile).
static inflight_t *s_inflight(dest_t *dest, uint64_t delivery, char key[24])
{
    s_key(delivery, key);
    return zhashx_lookup(dest->inflight, key);
}

//  After a delivery left the queue for good, let its lane successor go.
static void s_release_lane(broker_t *self, dest_t *dest, uint64_t delivery)
{
    uint64_t next = lt_store_lane_next(self->store, delivery);
    if (next && next <= dest->cursor)
        lt_broker_again(dest, next);
    else if (next)
        dest->scan_ready = true;   //  beyond the cursor: the next scan finds it
}

//  One credit back to a session, saturating at LT_BROKER_CREDIT_MAX.
static void s_credit_back(session_t *session)
{
    if (session->credit < LT_BROKER_CREDIT_MAX)
        session->credit++;
}

//  A DONE for a delivery no longer in flight (answered after its deadline,
//  or from before the session was replaced): it adds no credit; if the
//  delivery is still queued for this destination it is done now, once.
//  Each costs a store look-up, so a frame gets LT_BROKER_STALE_LOOKUPS of
//  them: past that (a frame naming the same ids again and again, or ids
//  never handed out) an id is left alone; if it was a real delivery it goes
//  again, and the connector, which remembers it, answers DONE at once. An
//  id above every delivery on disk was never handed out: no look-up.
static void s_late_done(broker_t *self, dest_t *dest, uint64_t delivery)
{
    if (delivery == 0 || delivery > self->durable_top)
        return;
    if (self->stale_lookups == 0) {
        self->stats.stale_skipped++;
        return;
    }
    self->stale_lookups--;
    lt_store_row_t *row = lt_store_get(self->store, delivery, false);
    bool queued = row && strcmp(row->dest, dest->name) == 0 &&
                  (row->state == LT_DELIVERY_READY || row->state == LT_DELIVERY_WAITING);
    lt_store_row_destroy(&row);
    lt_log_debug("event=stale_done connector=%s delivery=%llu queued=%d", dest->name,
                 (unsigned long long) delivery, queued);
    if (!queued || lt_broker_batch_open(self))
        return;
    lt_err_t err;
    if (lt_store_done(self->store, delivery, &err))
        lt_log_error("event=store_error op=done reason=\"%s\"", err.detail);
    self->batch_writes++;
    dest->stats.done++;
    s_release_lane(self, dest, delivery);
}

//  One delivery id a DONE names.
static void s_done(broker_t *self, session_t *session, uint64_t delivery)
{
    dest_t *dest = session->dest;
    char key[24];
    inflight_t *item = s_inflight(dest, delivery, key);
    if (!item) {
        s_late_done(self, dest, delivery);
        return;
    }
    s_credit_back(session);
    lt_err_t err;
    if (lt_broker_batch_open(self) == 0 &&
        lt_store_done_in_lane(self->store, delivery, item->lane_key, &err))
        lt_log_error("event=store_error op=done reason=\"%s\"", err.detail);
    self->batch_writes++;
    zhashx_delete(dest->inflight, key);
    dest->stats.done++;
    s_release_lane(self, dest, delivery);
}

void lt_broker_on_done(broker_t *self, session_t *session, lt_ltp_t *msg)
{
    s_done(self, session, lt_ltp_delivery(msg));
    for (size_t i = 0; i < lt_ltp_delivery_count(msg); i++)
        s_done(self, session, lt_ltp_delivery_at(msg, i));
}

//  Exponential backoff with equal jitter: half fixed, half random.
static int64_t s_backoff(const lt_settings_t *st, uint32_t attempt, uint32_t asked_ms)
{
    int64_t delay = st->backoff_min_ms;
    for (uint32_t i = 1; i < attempt && delay < st->backoff_max_ms; i++)
        delay *= 2;
    if (delay > st->backoff_max_ms)
        delay = st->backoff_max_ms;
    delay = delay / 2 + (int64_t) (randof((int) (delay / 2 + 1)));
    if ((int64_t) asked_ms > delay)
        delay = asked_ms;
    return delay;
}

//  A failed attempt of an in-flight delivery (RETRY, FAIL, no answer in
//  time, or its session's end): back off (at least delay_ms; none for a
//  session's end, delay_ms 0 then), or to dead letters past the budget or
//  on FAIL. The delivery leaves the in-flight table.
static void s_attempt_failed(broker_t *self, dest_t *dest, inflight_t *item, const char *key,
                             const char *what, const char *why, bool fail, int64_t delay_ms)
{
    bool session_end = strcmp(what, "SESSION_END") == 0;
    const lt_settings_t *st = lt_config_settings(self->config);
    uint64_t delivery = item->delivery;
    if (lt_broker_batch_open(self))
        return;
    self->batch_writes++;
    int64_t now = lt_time_ms();
    lt_err_t err;
    char reason[1200];
    snprintf(reason, sizeof(reason), "attempt %u %s: %s", item->attempt, what, why);
    bool over_attempts = item->attempt >= (uint32_t) st->max_attempts;
    bool over_age = now - item->created_at > (int64_t) st->max_age_s * 1000;
    if (fail || over_attempts || over_age) {
        if (!fail) {
            size_t len = strlen(reason);
            snprintf(reason + len, sizeof(reason) - len, "\n%s",
                     over_attempts ? "attempt budget spent" : "age budget spent");
        }
        if (lt_store_dead(self->store, delivery, reason, &err))
            lt_log_error("event=store_error op=dead reason=\"%s\"", err.detail);
        dest->stats.failed++;
        lt_log_warning("event=dead_letter connector=%s delivery=%llu attempts=%u reason=\"%s\"",
                       dest->name, (unsigned long long) delivery, item->attempt, why);
        //  The lane stays blocked behind the dead letter until the operator
        //  replays or discards it.
        zhashx_delete(dest->inflight, key);
        return;
    }
    int64_t next_at = session_end ? now : now + s_backoff(st, item->attempt, (uint32_t) delay_ms);
    if (lt_store_retry(self->store, delivery, reason, next_at, &err))
        lt_log_error("event=store_error op=retry reason=\"%s\"", err.detail);
    if (session_end) {
        zhashx_delete(dest->inflight, key);
        return;   //  the session's end was logged once, with its count
    }
    dest->stats.retried++;
    if (next_at < dest->due_check_at || dest->due_check_at == 0)
        dest->due_check_at = next_at;
    lt_log_info("event=retry connector=%s delivery=%llu attempt=%u next_in_ms=%lld reason=\"%s\"",
                dest->name, (unsigned long long) delivery, item->attempt,
                (long long) (next_at - now), why);
    zhashx_delete(dest->inflight, key);
}

void lt_broker_on_retry(broker_t *self, session_t *session, lt_ltp_t *msg, bool fail)
{
    dest_t *dest = session->dest;
    char key[24];
    inflight_t *item = s_inflight(dest, lt_ltp_delivery(msg), key);
    if (!item)
        return;   //  stale: no credit, the delivery is handled elsewhere
    s_credit_back(session);
    s_attempt_failed(self, dest, item, key, fail ? "FAIL" : "RETRY", lt_ltp_reason(msg), fail,
                     lt_ltp_delay(msg));
}

void lt_broker_expire_inflight(broker_t *self)
{
    const lt_settings_t *st = lt_config_settings(self->config);
    int64_t now = zclock_mono();
    for (dest_t *dest = zhashx_first(self->dests); dest; dest = zhashx_next(self->dests)) {
        uint64_t late[64];
        size_t count = 0;
        for (inflight_t *item = zhashx_first(dest->inflight); item && count < 64;
             item = zhashx_next(dest->inflight))
            if (now - item->sent_at > (int64_t) st->answer_timeout_ms)
                late[count++] = item->delivery;
        for (size_t i = 0; i < count; i++) {
            char key[24], why[96];
            inflight_t *item = s_inflight(dest, late[i], key);
            if (!item)
                continue;
            //  The connector is taken to have lost it: its credit comes back
            //  now, and a late answer is stale (no credit).
            if (dest->session)
                s_credit_back(dest->session);
            dest->stats.timeouts++;
            snprintf(why, sizeof(why), "no answer within %d ms", st->answer_timeout_ms);
            s_attempt_failed(self, dest, item, key, "TIMEOUT", why, false, 0);
        }
    }
}

//  Hold-expiry callback: log the follow-up that goes without its document
//  (or the progress step without its dossier).
static int s_unheld(void *arg, lt_store_row_t *row)
{
    broker_t *self = arg;
    lt_log_warning("event=hold_expired connector=%s delivery=%llu kind=%s btype=%s key=\"%s\" "
                   "note=\"its %s never reached the hub; delivered without it\"",
                   row->dest, (unsigned long long) row->delivery,
                   lt_kind_name(lt_envelope_kind(row->envelope)),
                   lt_envelope_btype(row->envelope), lt_envelope_key(row->envelope),
                   lt_follow_dossier(row->envelope) ? "dossier" : "document");
    lt_broker_dest(self, row->dest)->due_check_at = 0;
    lt_store_row_destroy(&row);
    return 0;
}

void lt_broker_release_holds(broker_t *self)
{
    lt_store_counts_t counts;
    lt_store_counts(self->store, NULL, &counts);
    if (counts.held == 0 || lt_broker_batch_open(self))
        return;
    lt_err_t err;
    if (lt_store_release_expired(self->store, lt_time_ms(), 64, s_unheld, self, &err))
        lt_log_error("event=store_error op=release_holds reason=\"%s\"", err.detail);
    self->batch_writes++;
}

void lt_broker_lane_free(broker_t *self, const char *dest_name, uint64_t delivery)
{
    s_release_lane(self, lt_broker_dest(self, dest_name), delivery);
}
