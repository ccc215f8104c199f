/*  dms_bounds: the bounds of lthub-dms's mailbox (count, bytes, age).

    From poll(), about once a second: prune steps of the mailbox
    (lt_mailbox_prune, at most S_BATCH items and S_STEP_MS of work each, one
    short transaction, the mailbox free between steps), for at most
    S_PASS_MS in one call while there is more to do. A done item goes once
    it is older than --mailbox-max-age, or earlier, oldest done first,
    while the mailbox is over --mailbox-max-items or --mailbox-max-bytes.
    An item its system has not marked done is never removed: when those
    alone fill a count or bytes bound, deliveries are answered RETRY (the
    broker keeps the message and tries again with its backoff) until the
    systems collect and acknowledge, and event=mailbox_over_bounds is
    logged once. Then --keep-done's purge, in the same bounded steps: the
    bytes of packages whose items were all done long enough ago go, their
    items stay for audit.
*/
#include "dms_int.h"

#include "lt_id.h"
#include "lt_log.h"

#include <stdio.h>

#define S_BATCH 256      //  items looked at per step at most
#define S_STEP_MS 10     //  work of one step, ms (plus its commit)
#define S_PASS_MS 100    //  steps run by one poll() at most, ms

void dms_bounds_run(dms_t *self)
{
    int64_t now = lt_clock_ms();
    pthread_mutex_lock(&self->lock);
    lt_mailbox_bounds_t bounds = self->bounds.bounds;
    bool was_full = self->bounds.full;
    bool due = now >= self->bounds.next_ms;
    pthread_mutex_unlock(&self->lock);
    if (!due)
        return;
    lt_mailbox_prune_t step = {0}, pass = {0};
    lt_err_t err;
    int failed = 0;
    uint64_t steps = 0;
    int64_t longest = 0;
    do {
        int64_t started = lt_clock_ms();
        if (lt_mailbox_prune(self->mailbox, &bounds, lt_time_ms(), S_BATCH, S_STEP_MS, &step,
                             &err)) {
            failed = 1;
            lt_log_error("event=mailbox_error op=prune reason=\"%s\"", err.detail);
            break;
        }
        int64_t took = lt_clock_ms() - started;
        longest = took > longest ? took : longest;
        steps++;
        pass.items += step.items;
        pass.packages += step.packages;
        pass.stubs += step.stubs;
    } while (step.more && lt_clock_ms() - now < S_PASS_MS);
    //  --keep-done: the bytes of packages done long enough go, the items stay.
    size_t purged = 0, dropped = 0;
    bool more = false;
    do {
        if (lt_mailbox_purge(self->mailbox, lt_time_ms() - self->keep_done_ms, S_BATCH, &dropped,
                             &more, &err)) {
            lt_log_error("event=mailbox_error op=purge reason=\"%s\"", err.detail);
            break;
        }
        purged += dropped;
    } while (more && lt_clock_ms() - now < S_PASS_MS);
    if (purged)
        lt_log_info("event=purged packages=%zu", purged);
    lt_mailbox_usage_t usage = {0};
    bool have_usage = lt_mailbox_usage(self->mailbox, &usage, &err) == 0;
    if (pass.items || pass.stubs)
        lt_log_info("event=mailbox_pruned items=%u packages=%u stubs=%u more=%s", pass.items,
                    pass.packages, pass.stubs, step.more ? "yes" : "no");
    bool full = failed ? was_full : step.full;
    pthread_mutex_lock(&self->lock);
    if (have_usage)
        self->bounds.usage = usage;
    self->bounds.full = full;
    self->bounds.steps += steps;
    self->bounds.errors += (uint64_t) failed;
    if (longest > self->bounds.step_ms_max)
        self->bounds.step_ms_max = longest;
    self->bounds.next_ms = now + (failed ? 5000 : 0);
    pthread_mutex_unlock(&self->lock);
    if (full && !was_full)
        lt_log_warning("event=mailbox_over_bounds items=%llu backlog=%llu bytes=%llu "
                       "max_items=%llu max_bytes=%llu reason=\"the items no system has marked "
                       "done fill a bound; deliveries are put back (RETRY) until systems "
                       "collect and acknowledge\"",
                       (unsigned long long) usage.items, (unsigned long long) usage.backlog,
                       (unsigned long long) usage.bytes, (unsigned long long) bounds.max_items,
                       (unsigned long long) bounds.max_bytes);
    else if (!full && was_full)
        lt_log_info("event=mailbox_within_bounds items=%llu bytes=%llu",
                    (unsigned long long) usage.items, (unsigned long long) usage.bytes);
}

bool dms_bounds_full(dms_t *self, lt_err_t *err)
{
    pthread_mutex_lock(&self->lock);
    bool full = self->bounds.full;
    lt_mailbox_usage_t u = self->bounds.usage;
    lt_mailbox_bounds_t b = self->bounds.bounds;
    if (full)
        self->stats.bound_refusals++;
    pthread_mutex_unlock(&self->lock);
    if (full)
        lt_err_set(err, LT_EUNAVAIL,
                   "lthub-dms's mailbox is full: %llu items wait for their systems to collect "
                   "and mark them done, %llu package bytes held (--mailbox-max-items %llu, "
                   "--mailbox-max-bytes %llu); the message is kept and tried again",
                   (unsigned long long) u.backlog, (unsigned long long) u.bytes,
                   (unsigned long long) b.max_items, (unsigned long long) b.max_bytes);
    return full;
}

json_t *dms_bounds_json(dms_t *self)
{
    pthread_mutex_lock(&self->lock);
    dms_bounds_t b = self->bounds;
    uint64_t refusals = self->stats.bound_refusals;
    pthread_mutex_unlock(&self->lock);
    int64_t now = lt_time_ms();
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "items",
        (json_int_t) b.usage.items, "backlog", (json_int_t) b.usage.backlog, "bytes",
        (json_int_t) b.usage.bytes, "stubs", (json_int_t) b.usage.stubs, "oldest_age_ms",
        (json_int_t) (b.usage.oldest ? now - b.usage.oldest : 0), "oldest_done_age_ms",
        (json_int_t) (b.usage.oldest_done ? now - b.usage.oldest_done : 0), "pruned_items",
        (json_int_t) b.usage.pruned_items, "pruned_packages",
        (json_int_t) b.usage.pruned_packages, "full", b.full, "refused", (json_int_t) refusals,
        "max_items", (json_int_t) b.bounds.max_items, "max_bytes",
        (json_int_t) b.bounds.max_bytes, "max_age_s", (json_int_t) (b.bounds.max_age_ms / 1000),
        "prune_errors", (json_int_t) b.errors, "prune_step_ms_max", (json_int_t) b.step_ms_max);
}
