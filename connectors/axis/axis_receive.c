/*  axis_receive: the receive loop of lthub-axis, national axis -> hub.

    One thread. Each cycle lists the hub's items (edoc first, then status,
    so a status listed in the same cycle as its document follows it), and
    for each: getEdoc, read, fill the envelope, publish and wait for
    ACCEPTED, then updateStatus done. Nothing is acknowledged before the
    broker has it on disk; anything not acknowledged is listed again: if
    this process published it, it is only acknowledged (s_acknowledge),
    otherwise (after a restart) fetched again and, when the bytes are the
    same, answered by the broker as a duplicate.

    Backoff: a cycle that cannot reach the axis stops and the next one
    waits twice as long, up to a minute when no answer came (down, hung),
    up to five seconds when the axis answered with an error (overloaded,
    flaky); an item that fails on its own waits twice as long each time, up
    to five minutes, while the others go on. Each item's first failure is
    logged, and its recovery, not every attempt. The memo of items is pruned
    to those the axis still lists, so it stays as small as the axis's list.

    Refusals (updateStatus fail, the package kept in the quarantine): an
    item addressed to an agency the hub does not receive for; a package
    naming none of them; a package the broker refuses for good; and a
    package that does not decode (base64) or read (edXML), or whose answer
    is larger than the HTTP client takes, --unreadable-fetches times in a
    row. The last is not refused at its first fetch: servers and proxies
    cut or garble answers now and then, and the next fetch, backed off as
    any failure of one item, may be whole.
*/
#include "axis.h"
#include "lt_digest.h"
#include "lt_file.h"
#include "lt_pattern.h"
#include "lt_edxml.h"
#include "lt_log.h"
#include "lt_verdict.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_CYCLE_BACKOFF_MAX 10000    //  longest wait between cycles without an answer, ms
                                     //  (short enough that replies flow soon after an outage)
#define S_FLAKY_BACKOFF_MAX 5000     //  longest wait between cycles answered with errors, ms
#define S_ITEM_BACKOFF_MAX  300000   //  longest wait before retrying one item, ms
#define S_PUBLISH_TIMEOUT   60000    //  longest wait for the broker's ACCEPTED, ms

//  What the loop remembers of one item between cycles.
typedef struct {
    uint32_t failures;     //  failed attempts in a row
    uint32_t unreadable;   //  fetches in a row whose answer did not decode or read
    int64_t next_at;       //  monotonic ms before which it is not tried again
    bool gave_up;          //  acknowledged with fail: not taken again by this process
    bool published;        //  the broker has it (ACCEPTED); only done is missing
    uint64_t seen;         //  last cycle that listed it
} s_memo_t;

//  How taking one item ended.
typedef enum {
    S_TAKEN = 0,      //  published and acknowledged (or refused and acknowledged fail)
    S_ITEM_FAILED,    //  this item failed; try it later, go on with the others
    S_CYCLE_FAILED,   //  the axis or the broker is unreachable: end the cycle
} s_take_t;

//  How a cycle ended.
typedef enum {
    S_CYCLE_OK = 0,       //  both lists read (items may have failed on their own)
    S_CYCLE_FLAKY,        //  the axis answered a list with an error
    S_CYCLE_UNREACHABLE,  //  no answer from the axis, or no broker to publish to
} s_cycle_t;

//  The receive thread's own state (only the thread touches it).
typedef struct {
    axis_t *axis;               //  the connector
    lt_edoc_client_t *client;   //  the thread's HTTP client
    zhashx_t *memo;             //  docId -> s_memo_t
    uint64_t cycle;             //  cycles run
    bool down;                  //  the last cycle failed (logged once)
} s_loop_t;

//  Return true once the connector is stopping.
static bool s_stopping(axis_t *self)
{
    pthread_mutex_lock(&self->stop_lock);
    bool stopping = self->stopping;
    pthread_mutex_unlock(&self->stop_lock);
    return stopping;
}

//  Wait ms milliseconds, or less when the connector stops.
static void s_sleep(axis_t *self, int64_t ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&self->stop_lock);
    while (!self->stopping)
        if (pthread_cond_timedwait(&self->stop_cond, &self->stop_lock, &deadline) != 0)
            break;
    pthread_mutex_unlock(&self->stop_lock);
}

//  Count one receive failure.
static void s_failed(axis_t *self, const char *detail)
{
    pthread_mutex_lock(&self->stats_lock);
    self->stats.receive_errors++;
    pthread_mutex_unlock(&self->stats_lock);
    axis_note_error(self, detail);
}

//  Find or create the memo of an item (NULL on no memory); marks it seen.
static s_memo_t *s_memo(s_loop_t *loop, const char *doc_id)
{
    s_memo_t *memo = zhashx_lookup(loop->memo, doc_id);
    if (!memo) {
        memo = calloc(1, sizeof(*memo));
        if (!memo || zhashx_insert(loop->memo, doc_id, memo)) {
            free(memo);
            return NULL;
        }
    }
    memo->seen = loop->cycle;
    return memo;
}

//  Back an item off after a failure: twice as long as after the last one.
static void s_backoff(s_loop_t *loop, s_memo_t *memo)
{
    memo->failures++;
    int64_t wait = loop->axis->poll_ms;
    for (uint32_t i = 1; i < memo->failures && wait < S_ITEM_BACKOFF_MAX; i++)
        wait *= 2;
    memo->next_at = zclock_mono() + (wait < S_ITEM_BACKOFF_MAX ? wait : S_ITEM_BACKOFF_MAX);
}

//  Note an item's failure: back it off, log only its first failure.
static void s_item_failed(s_loop_t *loop, const lt_edoc_item_t *item, s_memo_t *memo,
                          const char *step, const char *detail)
{
    s_failed(loop->axis, detail);
    if (!memo)
        return;
    if (memo->failures == 0)
        lt_log_warning("event=receive_failed docid=%s step=%s reason=\"%s\" (retried with "
                       "backoff, logged once)",
                       item->doc_id, step, detail);
    s_backoff(loop, memo);
}

//  Return true when code is an agency the hub receives for (--agencies).
static bool s_ours(axis_t *self, const char *code)
{
    for (size_t a = 0; a < self->agency_count; a++)
        if (lt_pattern_match(self->agencies[a], code))
            return true;
    return false;
}

//  Return the next code of a list joined by ',' (its length in *length),
//  or NULL at the end.
static const char *s_next_code(const char **list_p, size_t *length)
{
    const char *code = *list_p + strspn(*list_p, ",");
    *length = strcspn(code, ",");
    *list_p = code + *length;
    return *length ? code : NULL;
}

//  Return true when one of the codes of an item's `to` (joined by ',') is
//  an agency the hub receives for.
static bool s_item_ours(axis_t *self, const char *item_to)
{
    size_t length;
    char code[64];
    for (const char *next; (next = s_next_code(&item_to, &length));) {
        snprintf(code, sizeof(code), "%.*s", (int) length, next);
        if (length < sizeof(code) && s_ours(self, code))
            return true;
    }
    return false;
}

//  Keep a refused package (or, raw, the getEdoc data as received when it
//  did not decode) and the reason in DATA/axis-rejected/; without --data,
//  say that nothing is kept.
static void s_quarantine(axis_t *self, const lt_edoc_item_t *item, const void *data, size_t size,
                         bool raw, const char *reason)
{
    if (!self->kept) {
        lt_log_error("event=not_kept docid=%s size=%zu reason=\"lthub-axis runs without --data: "
                     "the refused package is kept nowhere; give --data DIR to keep refused "
                     "packages in DIR/axis-rejected/\"",
                     item->doc_id, size);
        return;
    }
    char text[1300];
    snprintf(text, sizeof(text), "docId: %s\nfrom: %s\nto: %s\nkept: %s\nreason: %s\n",
             item->doc_id, item->from, item->to,
             raw ? (size ? "the getEdoc data as received (not base64)" : "nothing")
                 : "the package as received",
             reason);
    lt_err_t err;
    lt_err_clear(&err);
    if (lt_quarantine_keep(self->kept, item->doc_id, data, size, text, &err))
        lt_log_error("event=quarantine_failed docid=%s reason=\"%s\"", item->doc_id, err.detail);
}

//  updateStatus of an item (done or fail, with its reason). S_TAKEN when the
//  axis took it; else the item's failure is noted and the answer says whether
//  the cycle ends (no answer from the axis) or only this item waits.
static s_take_t s_update(s_loop_t *loop, const lt_edoc_item_t *item, s_memo_t *memo,
                         const char *status, const char *reason)
{
    lt_err_t err;
    lt_edoc_outcome_t outcome = lt_edoc_client_update(loop->client, item->doc_id, status, reason,
                                                      &err);
    if (outcome == LT_EDOC_OK)
        return S_TAKEN;
    char what[32];
    snprintf(what, sizeof(what), "updateStatus %s", status);
    s_item_failed(loop, item, memo, what, err.detail);
    return outcome == LT_EDOC_TRANSIENT && err.code != LT_EPEER ? S_CYCLE_FAILED : S_ITEM_FAILED;
}

//  Refuse a package: keep it, tell the axis with updateStatus fail and the
//  reason, and give the item up for this process's life.
static s_take_t s_refuse(s_loop_t *loop, const lt_edoc_item_t *item, s_memo_t *memo,
                         const void *data, size_t size, bool raw, const char *reason)
{
    axis_t *self = loop->axis;
    s_quarantine(self, item, data, size, raw, reason);
    s_take_t updated = s_update(loop, item, memo, "fail", reason);
    if (updated != S_TAKEN)
        return updated;
    if (memo)
        memo->gave_up = true;
    pthread_mutex_lock(&self->stats_lock);
    self->stats.rejected++;
    pthread_mutex_unlock(&self->stats_lock);
    axis_note_error(self, reason);
    lt_log_warning("event=rejected docid=%s from=%s reason=\"%s\" kept=%s", item->doc_id,
                   item->from, reason, *self->quarantine ? self->quarantine : "no");
    return S_TAKEN;
}

//  Narrow the envelope's recipients to the agencies the hub receives for,
//  adding the item's own recipients (`to`, codes joined by ',') that are.
//  Returns how many remain; with none the envelope is left as it was and the package must
//  not be published (its recipients would route it back to the axis).
static size_t s_narrow(axis_t *self, lt_envelope_t *env, const char *item_to)
{
    size_t count = lt_envelope_recipients(env);
    char **keep = calloc(count + 1, sizeof(char *));
    if (!keep)
        return count;   //  out of memory: publish as listed, the broker routes it
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        const char *code = lt_envelope_recipient(env, i);
        if (s_ours(self, code) && (keep[kept] = strdup(code)))
            kept++;
    }
    if (kept > 0) {
        lt_envelope_clear_recipients(env);
        for (size_t i = 0; i < kept; i++)
            lt_envelope_add_recipient(env, keep[i]);
    }
    for (size_t i = 0; i < kept; i++)
        free(keep[i]);
    free(keep);
    //  The item's own codes that are ours (a code named twice is one
    //  recipient: lt_envelope_add_recipient).
    size_t length;
    char code[64];
    for (const char *next; (next = s_next_code(&item_to, &length));) {
        snprintf(code, sizeof(code), "%.*s", (int) length, next);
        if (length < sizeof(code) && s_ours(self, code)) {
            if (kept == 0)
                lt_envelope_clear_recipients(env);
            lt_envelope_add_recipient(env, code);
            kept++;
        }
    }
    return kept > 0 ? lt_envelope_recipients(env) : 0;
}

//  Build the envelope of a received package; NULL on no memory. *ours is
//  false when the package names no agency the hub receives for.
static lt_envelope_t *s_envelope(axis_t *self, const lt_edxml_t *package,
                                 const lt_edoc_item_t *item, const void *data, size_t size,
                                 bool *ours)
{
    lt_envelope_t *env = lt_envelope_new();
    if (!env || lt_edxml_fill_envelope(package, env)) {
        lt_envelope_destroy(&env);
        return NULL;
    }
    *ours = s_narrow(self, env, item->to) > 0;
    lt_envelope_set_system(env, "axis");
    lt_envelope_set_payload_facts(env, data, size);
    if (!lt_edxml_is_status(package)) {
        lt_verdict_t *verdict = lt_verdict_new(package, self->anchors);
        if (verdict)
            lt_verdict_fill_envelope(verdict, env);
        lt_verdict_destroy(&verdict);
    }
    return env;
}

//  An answer that did not decode or read: a failure of the item, backed
//  off, until it came so --unreadable-fetches times in a row; then the item
//  is refused and what came the last time is kept. An item the axis lists
//  as failed already (refused before a restart) had its fetches: one more
//  unreadable answer refuses it again.
static s_take_t s_unreadable(s_loop_t *loop, const lt_edoc_item_t *item, s_memo_t *memo,
                             const void *data, size_t size, bool raw, const char *reason)
{
    axis_t *self = loop->axis;
    if (!memo) {
        s_failed(self, reason);   //  no memory to count in: taken again next cycle
        return S_ITEM_FAILED;
    }
    memo->unreadable++;
    long most = strcmp(item->status, "fail") == 0 ? 1 : self->unreadable_fetches;
    if (memo->unreadable < (uint32_t) most) {
        s_failed(self, reason);
        lt_log_warning("event=unreadable_fetch docid=%s fetch=%u of=%ld reason=\"%s\" (fetched "
                       "again with backoff; refused after %ld in a row)",
                       item->doc_id, memo->unreadable, most, reason, most);
        s_backoff(loop, memo);
        return S_ITEM_FAILED;
    }
    char why[900];
    if (memo->unreadable > 1)
        snprintf(why, sizeof(why), "%s (the same in %u fetches in a row)", reason,
                 memo->unreadable);
    else
        snprintf(why, sizeof(why), "%s", reason);
    return s_refuse(loop, item, memo, data, size, raw, why);
}

//  Write the path of an item's published mark (DIR/axis-published/<sha256
//  of the docId>: a docId may hold any printable character); false without
//  --data.
static bool s_mark_path(axis_t *self, const char *doc_id, char *path, size_t size)
{
    if (!*self->published)
        return false;
    char hex[LT_SHA256_HEX];
    lt_digest_sha256_hex(doc_id, strlen(doc_id), hex);
    snprintf(path, size, "%s/%s", self->published, hex);
    return true;
}

//  Mark an item published (kept across a restart), or clear the mark.
static void s_mark(axis_t *self, const char *doc_id, bool published)
{
    char path[1200];
    if (!s_mark_path(self, doc_id, path, sizeof(path)))
        return;
    lt_err_t err;
    if (published && lt_file_write(path, doc_id, strlen(doc_id), false, &err))
        lt_log_warning("event=mark_failed docid=%s reason=\"%s\"", doc_id, err.detail);
    else if (!published && unlink(path) && errno != ENOENT)
        lt_log_warning("event=mark_failed docid=%s reason=\"%s\"", doc_id, strerror(errno));
}

//  Return true when a mark says this hub published the item before.
static bool s_marked(axis_t *self, const char *doc_id)
{
    char path[1200];
    return s_mark_path(self, doc_id, path, sizeof(path)) && access(path, F_OK) == 0;
}

//  Acknowledge a published item with done. Until that succeeds the memo
//  says it is published, and the item, listed again, is only acknowledged:
//  fetched again it could come with other bytes (an axis stamping what it
//  serves), which the broker's duplicate check, on content, would take for
//  a new message. With --data a mark in DIR/axis-published keeps that
//  across a restart.
static s_take_t s_acknowledge(s_loop_t *loop, const lt_edoc_item_t *item, s_memo_t *memo,
                              const char *msgid)
{
    s_take_t updated = s_update(loop, item, memo, "done", NULL);
    if (updated != S_TAKEN)
        return updated;
    if (!*msgid)
        lt_log_info("event=acknowledged docid=%s (published before, done now)", item->doc_id);
    s_mark(loop->axis, item->doc_id, false);
    if (memo)
        zhashx_delete(loop->memo, item->doc_id);
    return S_TAKEN;
}

//  Take one listed item: fetch, read, publish, acknowledge.
static s_take_t s_take(s_loop_t *loop, const lt_edoc_item_t *item)
{
    axis_t *self = loop->axis;
    s_memo_t *memo = s_memo(loop, item->doc_id);
    if (memo && (memo->gave_up || (memo->next_at && zclock_mono() < memo->next_at)))
        return S_ITEM_FAILED;   //  backing off, or refused already
    lt_err_t err;
    if ((memo && memo->published) || s_marked(self, item->doc_id))
        return s_acknowledge(loop, item, memo, "");
    uint8_t *data = NULL;
    size_t size = 0;
    char *raw = NULL;
    size_t raw_size = 0;
    lt_edoc_outcome_t outcome = lt_edoc_client_get(loop->client, item->doc_id, &data, &size, &raw,
                                                   &raw_size, &err);
    if (outcome == LT_EDOC_TRANSIENT && err.code == LT_EINVAL) {
        s_take_t taken = s_unreadable(loop, item, memo, raw, raw_size, true, err.detail);
        free(raw);
        return taken;
    }
    if (outcome != LT_EDOC_OK && err.code == LT_ETOOBIG) {
        //  An answer over the HTTP client's bound is this item's own
        //  fault: ending the cycle on it would hold up every item listed
        //  after it, cycle after cycle. It is counted as an unreadable
        //  fetch, so it is refused after --unreadable-fetches of them.
        char reason[600];
        snprintf(reason, sizeof(reason),
                 "the getEdoc answer is larger than the hub takes, nothing of it kept (%s)",
                 err.detail);
        return s_unreadable(loop, item, memo, NULL, 0, true, reason);
    }
    if (outcome != LT_EDOC_OK) {
        s_item_failed(loop, item, memo, "getEdoc", err.detail);
        //  No answer at all: the axis is down or hung, spare the other items.
        return outcome == LT_EDOC_TRANSIENT && err.code != LT_EPEER ? S_CYCLE_FAILED
                                                                    : S_ITEM_FAILED;
    }
    if (*item->to && !s_item_ours(self, item->to)) {
        //  Published, it would be routed back to the axis; acknowledged
        //  done, the agency it is meant for would never see it.
        char reason[300];
        snprintf(reason, sizeof(reason),
                 "the item is addressed to %.64s, not an agency this hub receives for; it is "
                 "not relayed",
                 item->to);
        s_take_t taken = s_refuse(loop, item, memo, data, size, false, reason);
        free(data);
        return taken;
    }
    lt_err_t perr;
    lt_edxml_t *package = lt_edxml_read(data, size, NULL, &perr);
    if (!package) {
        char reason[600];
        snprintf(reason, sizeof(reason), "the hub cannot read the package: %s", perr.detail);
        s_take_t taken = s_unreadable(loop, item, memo, data, size, false, reason);
        free(data);
        return taken;
    }
    if (memo)
        memo->unreadable = 0;
    bool ours = false;
    lt_envelope_t *env = s_envelope(self, package, item, data, size, &ours);
    char key[256];
    snprintf(key, sizeof(key), "%s", env ? lt_envelope_key(env) : "");
    bool status = lt_edxml_is_status(package);
    lt_edxml_destroy(&package);
    if (!env) {
        free(data);
        s_item_failed(loop, item, memo, "envelope", "out of memory");
        return S_ITEM_FAILED;
    }
    if (!ours) {
        char reason[600];
        snprintf(reason, sizeof(reason),
                 "the package names no agency the hub receives for (recipients %s%s, item to "
                 "'%.64s'); it is not relayed",
                 lt_envelope_recipients(env) ? lt_envelope_recipient(env, 0) : "none",
                 lt_envelope_recipients(env) > 1 ? ",..." : "", item->to);
        lt_envelope_destroy(&env);
        s_take_t taken = s_refuse(loop, item, memo, data, size, false, reason);
        free(data);
        return taken;
    }
    char verdict[32];
    snprintf(verdict, sizeof(verdict), "%s", lt_sig_name(lt_envelope_signature(env)));
    lt_publish_result_t result;
    lt_conn_publish(self->conn, &env, data, size, S_PUBLISH_TIMEOUT, &result);
    if (result.code != LT_OK && !lt_error_transient(result.code)) {
        //  The broker refused it for good and keeps it with its rejects.
        char reason[700];
        snprintf(reason, sizeof(reason), "the hub refused the package: %s", result.reason);
        s_take_t taken = s_refuse(loop, item, memo, data, size, false, reason);
        free(data);
        return taken;
    }
    free(data);
    if (result.code != LT_OK) {
        s_item_failed(loop, item, memo, "publish", result.reason);
        return S_CYCLE_FAILED;   //  the broker is unreachable or stopping
    }
    pthread_mutex_lock(&self->stats_lock);
    self->stats.received++;
    self->stats.duplicates += result.duplicate;
    pthread_mutex_unlock(&self->stats_lock);
    lt_log_info("event=received kind=%s docid=%s key=\"%s\" from=%s to=%s msgid=%s verdict=%s "
                "duplicate=%s%s",
                status ? "status" : "document", item->doc_id, key, item->from, item->to,
                result.msgid, verdict, result.duplicate ? "yes" : "no",
                memo && memo->failures ? " recovered=yes" : "");
    if (memo)
        memo->published = true;
    s_mark(self, item->doc_id, true);
    return s_acknowledge(loop, item, memo, result.msgid);
}

//  Drop the memo of items the axis no longer lists.
static void s_prune(s_loop_t *loop)
{
    zlistx_t *keys = zhashx_keys(loop->memo);
    for (const char *key = zlistx_first(keys); key; key = zlistx_next(keys)) {
        s_memo_t *memo = zhashx_lookup(loop->memo, key);
        if (memo && memo->seen != loop->cycle)
            zhashx_delete(loop->memo, key);
    }
    zlistx_destroy(&keys);
}

//  One cycle: both lists, every item; says how it ended.
static s_cycle_t s_cycle(s_loop_t *loop)
{
    axis_t *self = loop->axis;
    if (!lt_conn_connected(self->conn))
        return S_CYCLE_UNREACHABLE;   //  nothing is fetched that cannot be stored
    loop->cycle++;
    pthread_mutex_lock(&self->stats_lock);
    self->stats.polls++;
    pthread_mutex_unlock(&self->stats_lock);
    const char *types[] = {"edoc", "status"};
    for (size_t t = 0; t < 2; t++) {
        lt_edoc_item_t *items = NULL;
        size_t count = 0;
        lt_err_t err;
        lt_edoc_outcome_t outcome = lt_edoc_client_list(loop->client, types[t], &items, &count,
                                                        &err);
        if (outcome != LT_EDOC_OK) {
            s_failed(self, err.detail);
            if (!loop->down)
                lt_log_warning("event=axis_unreachable step=getReceivedEdocList outcome=%s "
                               "reason=\"%s\" (backing off, logged once)",
                               lt_edoc_outcome_name(outcome), err.detail);
            loop->down = true;
            return outcome == LT_EDOC_TRANSIENT && err.code == LT_EPEER ? S_CYCLE_FLAKY
                                                                        : S_CYCLE_UNREACHABLE;
        }
        for (size_t i = 0; i < count && !s_stopping(self); i++)
            if (s_take(loop, &items[i]) == S_CYCLE_FAILED) {
                free(items);
                loop->down = true;
                return S_CYCLE_UNREACHABLE;
            }
        free(items);
    }
    s_prune(loop);
    if (loop->down)
        lt_log_info("event=axis_reachable");
    loop->down = false;
    return S_CYCLE_OK;
}

//  Free a memo entry (zhashx destructor).
static void s_memo_free(void **item)
{
    free(*item);
    *item = NULL;
}

//  The receive thread: cycles until the connector stops.
static void *s_receiver(void *arg)
{
    s_loop_t loop = {.axis = arg};
    axis_t *self = loop.axis;
    loop.memo = zhashx_new();
    zhashx_set_destructor(loop.memo, s_memo_free);
    int64_t wait = self->poll_ms;
    bool waiting_for_broker = false;
    while (!s_stopping(self)) {
        lt_err_t err;
        if (!loop.client && !(loop.client = lt_edoc_client_new(&self->client, &err)))
            s_failed(self, err.detail);
        s_cycle_t rc = loop.client ? s_cycle(&loop) : S_CYCLE_UNREACHABLE;
        int64_t most = rc == S_CYCLE_FLAKY ? S_FLAKY_BACKOFF_MAX : S_CYCLE_BACKOFF_MAX;
        if (rc == S_CYCLE_OK)
            wait = self->poll_ms;
        else
            wait = wait * 2 < most ? wait * 2 : most;
        //  Waiting for the broker's session is not the axis's fault: poll
        //  again soon, and say so once.
        bool broker_down = !lt_conn_connected(self->conn);
        if (broker_down) {
            wait = self->poll_ms;
            if (!waiting_for_broker)
                lt_log_info("event=receive_paused reason=\"no session with the broker yet\"");
        }
        waiting_for_broker = broker_down;
        s_sleep(self, wait);
    }
    lt_edoc_client_destroy(&loop.client);
    zhashx_destroy(&loop.memo);
    return NULL;
}

int axis_receive_start(axis_t *self, lt_err_t *err)
{
    int rc = pthread_create(&self->receiver, NULL, s_receiver, self);
    if (rc)
        return lt_err_set(err, LT_EINTERNAL, "cannot start the receive thread: %s",
                          strerror(rc)),
               -1;
    self->receiving = true;
    return 0;
}

void axis_receive_stop(axis_t *self)
{
    pthread_mutex_lock(&self->stop_lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->stop_cond);
    pthread_mutex_unlock(&self->stop_lock);
    if (self->receiving)
        pthread_join(self->receiver, NULL);
    self->receiving = false;
}
