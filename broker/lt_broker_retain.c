/*  lt_broker_retain: the broker's retention timer.

    From the broker loop, between rounds: one bounded prune step of the
    store (lt_store_prune: at most store/prune_batch messages and 2 ms of
    work while traffic flows, 20 ms when none does, one short transaction)
    every second (up to a minute apart while passes find nothing to prune),
    or every 10 ms (5 ms without traffic) while a pass has more to do; and
    once a second, free pages beyond a reserve given back to the file system
    (lt_store_reclaim, at most 1 MiB a second). Publishing waits at most for
    one step and its commit. Settings are read at each step, so SIGHUP
    applies store/retention and store/prune_batch at once.
*/
#include "lt_broker_int.h"
#include "lt_config.h"
#include "lt_id.h"
#include "lt_log.h"

#define S_STEP_MS 20           //  time bound of one prune step, no traffic
#define S_STEP_BUSY_MS 2       //  time bound of one prune step while traffic flows
#define S_NEXT_MS 5            //  between the steps of a pass, no traffic
#define S_NEXT_BUSY_MS 10      //  between the steps of a pass while traffic flows
#define S_IDLE_MS 1000         //  between passes
#define S_IDLE_MAX_MS 60000    //  between passes that find nothing, at most
#define S_RECLAIM_PAGES 256    //  pages given back per second at most (1 MiB of 4 KiB pages)
#define S_RESERVE_PAGES 1024   //  free pages kept for new writes (4 MiB)

//  Run a prune step and a page reclaim when they are due.
void lt_broker_retain(broker_t *self, bool busy)
{
    int64_t now = zclock_mono();
    if (now < self->next_prune)
        return;
    //  A batch left open while the store syncs an earlier commit is
    //  committed first: a prune step is a transaction of its own.
    if (self->in_batch && !lt_broker_commit(self))
        return;
    const lt_settings_t *st = lt_config_settings(self->config);
    self->next_prune = now + S_IDLE_MS;
    lt_err_t err;
    if (st->retention_s > 0) {
        lt_store_prune_t step;
        int64_t cutoff = lt_time_ms() - (int64_t) st->retention_s * 1000;
        int64_t took = zclock_usecs();
        int rc = lt_store_prune(self->store, cutoff, (uint32_t) st->prune_batch,
                                busy ? S_STEP_BUSY_MS : S_STEP_MS, &step, &err);
        took = zclock_usecs() - took;
        if (took > self->retain.step_us_max)
            self->retain.step_us_max = took;
        if (rc == 0 && took > 100000)
            lt_log_info("event=prune_slow took_ms=%lld scanned=%u pruned=%u",
                        (long long) (took / 1000), step.scanned, step.pruned);
        if (rc) {
            self->retain.errors++;
            lt_log_warning("event=prune_failed reason=\"%s\"", err.detail);
            self->next_prune = now + 5 * S_IDLE_MS;
            return;
        }
        self->retain.steps++;
        self->retain.pass_pruned += step.pruned;
        if (step.more)
            self->next_prune = now + (busy ? S_NEXT_BUSY_MS : S_NEXT_MS);
        else if (self->retain.pass_pruned) {
            lt_log_info("event=pruned messages=%llu retention_s=%d",
                        (unsigned long long) self->retain.pass_pruned, st->retention_s);
            self->retain.pass_pruned = 0;
            self->retain.idle_ms = S_IDLE_MS;
        }
        else {
            //  A pass that found nothing: the next one waits twice as long,
            //  up to a tenth of the retention (at most a minute), so that
            //  old unfinished deliveries are not looked at again and again.
            int64_t cap = (int64_t) st->retention_s * 100;
            cap = cap > S_IDLE_MAX_MS ? S_IDLE_MAX_MS : cap < S_IDLE_MS ? S_IDLE_MS : cap;
            int64_t idle = self->retain.idle_ms ? self->retain.idle_ms * 2 : S_IDLE_MS;
            self->retain.idle_ms = idle > cap ? cap : idle;
            self->next_prune = now + self->retain.idle_ms;
        }
    }
    if (now >= self->next_reclaim) {
        self->next_reclaim = now + S_IDLE_MS;
        int pages = lt_store_reclaim(self->store, S_RECLAIM_PAGES, S_RESERVE_PAGES, &err);
        if (pages < 0) {
            self->retain.errors++;
            lt_log_warning("event=reclaim_failed reason=\"%s\"", err.detail);
        }
        else
            self->retain.reclaimed += (uint64_t) pages;
    }
}

//  Add the retention figures to the stats' store object.
void lt_broker_retain_stats(broker_t *self, json_t *store)
{
    lt_store_retention_t figures;
    if (lt_store_retention(self->store, &figures))
        return;
    const lt_settings_t *st = lt_config_settings(self->config);
    json_object_set_new(store, "retention_s", json_integer(st->retention_s));
    json_object_set_new(store, "pruned", json_integer((json_int_t) figures.pruned));
    json_object_set_new(store, "oldest_kept_at", json_integer(figures.oldest_kept));
    json_object_set_new(store, "oldest_kept_age_ms",
                        json_integer(figures.oldest_kept ? lt_time_ms() - figures.oldest_kept : 0));
    json_object_set_new(store, "free_bytes", json_integer(figures.free_bytes));
    json_object_set_new(store, "reclaims", json_boolean(figures.reclaims));
    json_object_set_new(store, "reclaimed_pages",
                        json_integer((json_int_t) self->retain.reclaimed));
    json_object_set_new(store, "prune_step_us_max", json_integer(self->retain.step_us_max));
    json_object_set_new(store, "prune_errors", json_integer((json_int_t) self->retain.errors));
    lt_store_segstats_t segs;
    lt_store_segment_stats(self->store, &segs);
    json_object_set_new(store, "segment_files", json_integer((json_int_t) segs.files));
    json_object_set_new(store, "segment_bytes", json_integer((json_int_t) segs.bytes));
    json_object_set_new(store, "segments_deleted", json_integer((json_int_t) segs.deleted));
    json_object_set_new(store, "payload_errors", json_integer((json_int_t) segs.payload_errors));
    json_object_set_new(store, "payload_reads_hot", json_integer((json_int_t) segs.reads_hot));
    json_object_set_new(store, "payload_reads_disk", json_integer((json_int_t) segs.reads_disk));
    size_t lanes, lane_bytes;
    lt_store_lane_stats(self->store, &lanes, &lane_bytes);
    json_object_set_new(store, "lanes", json_integer((json_int_t) lanes));
    json_object_set_new(store, "lanes_bytes", json_integer((json_int_t) lane_bytes));
}
