/*  lt_store_prune_test: self-test of retention (lt_store_prune,
    lt_store_reclaim, lt_store_retention): what is pruned and what never
    is, a resend after pruning, counts across a reopen, pages given back,
    a file made before retention converted. Only the public interface, and
    a second SQLite connection to look at the file. Kept apart from
    lt_store.c so that each file stays readable. */
#include "lt_store.h"
#include "lt_id.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    uint64_t ids[16];   //  delivery ids seen
    size_t count;       //  rows seen
} s_seen_t;

static int s_collect(void *arg, lt_store_row_t *row)
{
    s_seen_t *seen = arg;
    if (seen->count < 16)
        seen->ids[seen->count++] = row->delivery;
    lt_store_row_destroy(&row);
    return 0;
}

//  One integer from a query on the database file at path, read through its
//  own connection (committed state), or fallback.
static int64_t s_sql(const char *path, const char *sql, int64_t fallback)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t value = fallback;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

//  Publish a document (btype) under key with this payload to dests; returns
//  lt_store_put's result, msgid filled.
static int s_put_doc(lt_store_t *store, const char *key, const char *btype, const char *payload,
                     const char *const *dests, size_t dest_count, bool *dup, char msgid[40],
                     lt_err_t *err)
{
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, btype);
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_add_recipient(env, "000.00.00.G22");
    lt_envelope_set_payload_facts(env, payload, strlen(payload));
    const char *rcpts[] = {"000.00.00.G22", "000.00.00.G22"};
    int rc = lt_store_put(store, env, payload, strlen(payload), dests, rcpts, dest_count, dup,
                          msgid, err);
    lt_envelope_destroy(&env);
    return rc;
}

//  The first delivery id of the message msgid.
static uint64_t s_first_delivery(lt_store_t *store, const char *msgid)
{
    s_seen_t seen = {0};
    lt_err_t err;
    assert(lt_store_trace(store, msgid, s_collect, &seen, &err) == 0);
    return seen.count ? seen.ids[0] : 0;
}

//  Prune everything due before cutoff in small steps; the messages pruned.
static uint64_t s_prune_all(lt_store_t *store, int64_t cutoff, uint32_t rows)
{
    uint64_t total = 0;
    lt_store_prune_t step;
    lt_err_t err;
    for (int i = 0; i < 10000; i++) {
        assert(lt_store_prune(store, cutoff, rows, 1000, &step, &err) == 0);
        total += step.pruned;
        if (!step.more)
            break;
    }
    return total;
}

void lt_store_prune_test(bool verbose)
{
    if (verbose)
        printf(" * lt_store_prune: ");
    char path[64];
    lt_store_test_path(path, sizeof(path), "lt_store_prune");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    lt_store_set_hold(store, 60000);
    const char *axis[] = {"axis"}, *both[] = {"axis", "dms"};
    bool dup;
    char done_id[40], dead_id[40], ready_id[40], discard_id[40], half_id[40], last_id[40];
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put_doc(store, "P-DONE", "new", "done body", axis, 1, &dup, done_id, &err) == 0);
    assert(s_put_doc(store, "P-DEAD", "new", "dead body", axis, 1, &dup, dead_id, &err) == 0);
    assert(s_put_doc(store, "P-READY", "new", "ready body", axis, 1, &dup, ready_id, &err) == 0);
    assert(s_put_doc(store, "P-DISC", "new", "discarded", axis, 1, &dup, discard_id, &err) == 0);
    assert(s_put_doc(store, "P-HALF", "new", "half done", both, 2, &dup, half_id, &err) == 0);
    assert(s_put_doc(store, "P-LAST", "new", "last body", axis, 1, &dup, last_id, &err) == 0);
    assert(lt_store_reject(store, "dms", LT_EINVAL, "bad", NULL, "<x/>", 4, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    uint64_t d_done = s_first_delivery(store, done_id), d_dead = s_first_delivery(store, dead_id);
    uint64_t d_disc = s_first_delivery(store, discard_id);
    uint64_t d_half = s_first_delivery(store, half_id), d_last = s_first_delivery(store, last_id);
    uint64_t d_ready = s_first_delivery(store, ready_id);
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_done(store, d_done, &err) == 0);
    assert(lt_store_dead(store, d_dead, "gave up", &err) == 0);
    assert(lt_store_dead(store, d_disc, "gave up", &err) == 0);
    assert(lt_store_discard(store, d_disc, &err) == 0);
    assert(lt_store_done(store, d_half, &err) == 0);   //  its dms delivery stays READY
    assert(lt_store_done(store, d_last, &err) == 0);   //  the newest delivery of all
    assert(lt_store_commit(store, &err) == 0);
    int64_t ledger = s_sql(path, "SELECT COUNT(*) FROM ledger", -1);
    assert(ledger >= 0);
    lt_store_counts_t before;
    lt_store_counts(store, NULL, &before);
    assert(before.messages == 6 && before.done == 3 && before.discarded == 1);

    //  Nothing is pruned before its time.
    assert(s_prune_all(store, lt_time_ms() - 3600000, 2) == 0);
    //  Old enough: the done and the discarded ones go, in steps of two rows.
    uint64_t pruned = s_prune_all(store, lt_time_ms() + 1000, 2);
    assert(pruned == 2);
    assert(lt_store_get(store, d_done, false) == NULL);
    assert(lt_store_get(store, d_disc, false) == NULL);
    assert(s_sql(path, "SELECT length(payload) FROM messages WHERE msgid = 'x'", -1) == -1);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT length(payload) FROM messages WHERE msgid = '%s'",
             done_id);
    assert(s_sql(path, sql, -1) == 0);
    assert(lt_store_pruned_at(store, done_id) > 0 && lt_store_pruned_at(store, dead_id) == 0);
    assert(lt_store_pruned_at(store, "no such id") == 0);
    //  Kept: the dead letter, the unfinished, the half done, the newest
    //  delivery (ids are never given twice), the rejects, the ledger.
    lt_store_row_t *row = lt_store_get(store, d_dead, true);
    assert(row && row->state == LT_DELIVERY_DEAD && row->payload_size == 9);
    lt_store_row_destroy(&row);
    row = lt_store_get(store, d_ready, true);
    assert(row && row->state == LT_DELIVERY_READY && row->payload_size == 10);
    lt_store_row_destroy(&row);
    row = lt_store_get(store, d_half, true);
    assert(row && row->state == LT_DELIVERY_DONE && row->payload_size == 9);
    lt_store_row_destroy(&row);
    row = lt_store_get(store, d_last, false);
    assert(row && row->state == LT_DELIVERY_DONE);
    lt_store_row_destroy(&row);
    assert(s_sql(path, "SELECT COUNT(*) FROM ledger", -1) == ledger);
    lt_store_counts_t after;
    lt_store_counts(store, NULL, &after);
    assert(after.messages == 4 && after.done == 2 && after.discarded == 0);
    assert(after.dead == 1 && after.ready == 2 && after.rejects == 1);
    //  Pruning again changes nothing (idempotent).
    assert(s_prune_all(store, lt_time_ms() + 1000, 100) == 0);

    //  A resend of a pruned document is still a duplicate with its first id;
    //  other content under its DocumentId is still a conflict; a follow-up
    //  still finds its document (not held).
    char msgid[40];
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put_doc(store, "P-DONE", "new", "done body", axis, 1, &dup, msgid, &err) == 0);
    assert(dup && strcmp(msgid, done_id) == 0);
    assert(s_put_doc(store, "P-DONE", "new", "changed", axis, 1, &dup, msgid, &err) == -1);
    assert(err.code == LT_EINVAL);
    assert(s_put_doc(store, "P-DONE", "revocation", "revoked", axis, 1, &dup, msgid, &err) == 0);
    assert(!dup);
    assert(lt_store_commit(store, &err) == 0);
    row = lt_store_get(store, s_first_delivery(store, msgid), false);
    assert(row && row->state == LT_DELIVERY_READY);
    lt_store_row_destroy(&row);

    //  Figures: two pruned, the oldest kept is the dead letter's message.
    lt_store_retention_t figures;
    assert(lt_store_retention(store, &figures) == 0);
    assert(figures.pruned == 2 && figures.reclaims);
    row = lt_store_get(store, d_dead, false);
    assert(row && figures.oldest_kept == row->created_at);
    lt_store_row_destroy(&row);
    //  Once its last delivery is done, a kept message goes on the next pass;
    //  the one with the newest delivery goes once there is a newer one.
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_done(store, d_ready, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_prune_all(store, lt_time_ms() + 1000, 3) == 2);   //  P-READY, P-LAST
    assert(lt_store_get(store, d_last, false) == NULL);
    //  A follow-up keeps only its dedup key: a resend is still a duplicate.
    char revocation[40];
    snprintf(revocation, sizeof(revocation), "%s", msgid);
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_done(store, s_first_delivery(store, revocation), &err) == 0);
    assert(s_put_doc(store, "P-NEXT", "new", "next", axis, 1, &dup, msgid, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_prune_all(store, lt_time_ms() + 1000, 3) == 1);
    snprintf(sql, sizeof(sql),
             "SELECT length(envelope) + length(payload) FROM messages WHERE msgid = '%s'",
             revocation);
    assert(s_sql(path, sql, -1) == 0);
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put_doc(store, "P-DONE", "revocation", "revoked", axis, 1, &dup, msgid, &err) == 0);
    assert(dup && strcmp(msgid, revocation) == 0);
    assert(lt_store_commit(store, &err) == 0);

    //  Freed pages go back to the file system, bounded per call (payloads
    //  kept inline here: segment files are the segments test's).
    lt_store_set_inline_max(store, 1 << 20);
    char big[8193];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert(lt_store_begin(store, &err) == 0);
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof(key), "P-BIG-%d", i);
        big[0] = (char) ('a' + i % 26);
        assert(s_put_doc(store, key, "new", big, axis, 1, &dup, msgid, &err) == 0);
        assert(lt_store_done(store, s_first_delivery(store, msgid), &err) == 0);
    }
    assert(s_put_doc(store, "P-TAIL", "new", "tail", axis, 1, &dup, msgid, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_prune_all(store, lt_time_ms() + 1000, 50) == 200);
    assert(lt_store_retention(store, &figures) == 0);
    assert(figures.pruned == 205 && figures.free_bytes > 200 * 8192);
    int64_t pages = s_sql(path, "PRAGMA page_count", 0);
    assert(lt_store_reclaim(store, 100, 0, &err) == 100);
    assert(s_sql(path, "PRAGMA page_count", 0) == pages - 100);
    int64_t left = s_sql(path, "PRAGMA freelist_count", 0);
    assert(lt_store_reclaim(store, 1000000, 64, &err) == left - 64);
    assert(s_sql(path, "PRAGMA freelist_count", 0) == 64);
    assert(lt_store_reclaim(store, 1000000, 64, &err) == 0);

    //  A database file made before retention (no auto_vacuum) is migrated
    //  and, being small, converted to give pages back.
    {
        char old[sizeof(path) + 8];
        snprintf(old, sizeof(old), "%s.old", path);
        sqlite3 *db = NULL;
        assert(sqlite3_open(old, &db) == SQLITE_OK);
        assert(sqlite3_exec(db,
                            "PRAGMA auto_vacuum = NONE; PRAGMA journal_mode = WAL;"
                            " CREATE TABLE made_before (x)",
                            NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
        assert(s_sql(old, "PRAGMA auto_vacuum", -1) == 0);
        lt_store_t *legacy = lt_store_new(old, &err);
        assert(legacy);
        assert(s_sql(old, "PRAGMA auto_vacuum", -1) == 2);
        assert(s_sql(old, "PRAGMA user_version", -1) >= 3);
        assert(lt_store_begin(legacy, &err) == 0);
        assert(s_put_doc(legacy, "P-OLD", "new", "old", axis, 1, &dup, msgid, &err) == 0);
        assert(lt_store_done(legacy, s_first_delivery(legacy, msgid), &err) == 0);
        assert(s_put_doc(legacy, "P-NEW", "new", "new", axis, 1, &dup, msgid, &err) == 0);
        assert(lt_store_commit(legacy, &err) == 0);
        assert(s_prune_all(legacy, lt_time_ms() + 1000, 10) == 1);
        lt_store_destroy(&legacy);
        lt_store_test_remove(old);
    }

    //  Reopening: counts and the pruned total agree.
    lt_store_counts(store, NULL, &before);
    lt_store_destroy(&store);
    store = lt_store_new(path, &err);
    assert(store);
    lt_store_counts(store, NULL, &after);
    assert(memcmp(&before, &after, sizeof(before)) == 0);
    assert(lt_store_retention(store, &figures) == 0 && figures.pruned == 205);
    lt_store_destroy(&store);
    lt_store_test_remove(path);
    if (verbose)
        printf("OK\n");
}
