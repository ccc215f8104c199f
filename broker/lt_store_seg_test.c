/*  lt_store_seg_test: self-test of the store's payload segments.

    Payloads above the inline bound go to segment files and come back whole
    from memory and from disk; a duplicate, a failed publish and a
    rolled-back batch leave no referenced record; a reopened store appends
    after the last referenced record, over a torn tail; a damaged record is
    a clear per-row error, never a crash; retention deletes a segment once
    no kept message is in it and keeps the one an unfinished delivery needs;
    rows written inline stay readable; a failed segment write refuses the
    batch like a full disk and keeps nothing of it.
*/
#include "lt_id.h"
#include "lt_store.h"
#include "lt_segments.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  One integer from a query on the store file (its own connection).
static int64_t s_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

//  A payload of size bytes that depends on key.
static uint8_t *s_payload(const char *key, size_t size)
{
    uint8_t *data = malloc(size + 1);
    assert(data);
    size_t klen = strlen(key);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(key[i % klen] + i / 251);
    return data;
}

//  Publish document key with a payload of size bytes to dest.
static int s_put(lt_store_t *store, const char *key, size_t size, const char *dest, bool *dup)
{
    uint8_t *data = s_payload(key, size);
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, "new");
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_add_recipient(env, "000.00.00.G22");
    lt_envelope_set_payload_facts(env, data, size);
    const char *dests[] = {dest};
    const char *rcpts[] = {"000.00.00.G22"};
    char msgid[40];
    lt_err_t err;
    int rc = lt_store_put(store, env, data, size, dests, rcpts, 1, dup, msgid, &err);
    lt_envelope_destroy(&env);
    free(data);
    return rc;
}

//  What a scan saw.
typedef struct {
    size_t rows;       //  rows yielded
    size_t good;       //  payloads that match their key
    size_t unreadable; //  rows with a payload error
    uint64_t ids[256]; //  delivery ids, in order
    char why[512];     //  the last payload error
} s_scan_t;

static int s_check(void *arg, lt_store_row_t *row)
{
    s_scan_t *scan = arg;
    if (scan->rows < 256)
        scan->ids[scan->rows] = row->delivery;
    scan->rows++;
    if (row->payload_error) {
        assert(!row->payload);
        scan->unreadable++;
        snprintf(scan->why, sizeof(scan->why), "%s", row->payload_error);
    } else {
        const char *key = lt_envelope_key(row->envelope);
        uint8_t *want = s_payload(key, row->payload_size);
        if (memcmp(want, row->payload, row->payload_size) == 0)
            scan->good++;
        free(want);
    }
    lt_store_row_destroy(&row);
    return 0;
}

//  Scan every READY delivery of dest.
static s_scan_t s_scan(lt_store_t *store, const char *dest)
{
    s_scan_t scan;
    memset(&scan, 0, sizeof(scan));
    lt_err_t err;
    assert(lt_store_scan_ready(store, dest, 0, 1000, s_check, &scan, &err) == 0);
    return scan;
}

void lt_store_segments_test(bool verbose)
{
    if (verbose)
        printf(" * lt_store_segments: ");
    char path[64];
    lt_store_test_path(path, sizeof(path), "lt_store_seg");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    lt_store_set_inline_max(store, 1000);
    lt_store_set_segment_size(store, 256 * 1024);
    bool dup = false;

    //  Small payloads inline, larger ones in segments; both read back.
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put(store, "SMALL-1", 1000, "a", &dup) == 0 && !dup);
    assert(s_put(store, "BIG-1", 50000, "a", &dup) == 0 && !dup);
    assert(s_put(store, "BIG-1", 50000, "a", &dup) == 0 && dup); //  its record taken back
    assert(s_put(store, "BIG-2", 70000, "a", &dup) == 0 && !dup);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_sql(path, "SELECT COUNT(*) FROM messages WHERE seg IS NOT NULL") == 2);
    assert(s_sql(path, "SELECT length(payload) FROM messages WHERE bkey = 'SMALL-1'") == 1000);
    //  BIG-2 lies right after BIG-1: the duplicate's record left no gap.
    assert(s_sql(path, "SELECT seg_off FROM messages WHERE bkey = 'BIG-2'") ==
           LT_SEGMENTS_HEADER * 2 + 50000);
    s_scan_t scan = s_scan(store, "a");
    assert(scan.rows == 3 && scan.good == 3 && scan.unreadable == 0);
    lt_store_segstats_t figures;
    lt_store_segment_stats(store, &figures);
    //  BIG-1 from memory; BIG-2, large, was written from the caller's buffer: from the file.
    assert(figures.files == 1 && figures.reads_hot == 1 && figures.reads_disk == 1);
    assert(figures.bytes > 0);
    struct stat st;
    assert(stat(path, &st) == 0);
    assert(lt_store_size(store) >= (int64_t)st.st_size + figures.bytes);

    //  A rolled-back batch leaves the append point where it was.
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put(store, "GONE-1", 30000, "a", &dup) == 0);
    lt_store_rollback(store);
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put(store, "BIG-3", 30000, "a", &dup) == 0 && !dup);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_sql(path, "SELECT seg_off FROM messages WHERE bkey = 'BIG-3'") ==
           LT_SEGMENTS_HEADER * 3 + 120000);

    //  Enough to fill several 256 KiB segments; then reopen (cold) and read
    //  everything from disk.
    assert(lt_store_begin(store, &err) == 0);
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof(key), "FILL-%d", i);
        assert(s_put(store, key, 60000, "b", &dup) == 0 && !dup);
    }
    assert(lt_store_commit(store, &err) == 0);
    lt_store_destroy(&store);
    char segdir[4200], file[4400];
    snprintf(segdir, sizeof(segdir), "%s.segments", path);
    int64_t last_seg = s_sql(path, "SELECT MAX(seg) FROM messages");
    int64_t end = s_sql(path, "SELECT seg_off + 16 + seg_len FROM messages"
                              " WHERE seg IS NOT NULL ORDER BY seg DESC, seg_off DESC LIMIT 1");
    assert(last_seg >= 4 && end > 0);
    //  A torn tail past the last referenced record: overwritten, never read.
    snprintf(file, sizeof(file), "%s/%06lld.seg", segdir, (long long)last_seg);
    int fd = open(file, O_RDWR);
    assert(fd >= 0);
    char junk[4096];
    memset(junk, 0xA5, sizeof(junk));
    assert(pwrite(fd, junk, sizeof(junk), (off_t)end) == (ssize_t)sizeof(junk));
    close(fd);
    store = lt_store_new(path, &err);
    assert(store);
    lt_store_set_inline_max(store, 1000);
    lt_store_set_segment_size(store, 256 * 1024);
    scan = s_scan(store, "b");
    assert(scan.rows == 20 && scan.good == 20);
    lt_store_segment_stats(store, &figures);
    assert(figures.reads_disk == 20 && figures.payload_errors == 0);
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put(store, "AFTER-1", 5000, "b", &dup) == 0 && !dup);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_sql(path, "SELECT seg FROM messages WHERE bkey = 'AFTER-1'") == last_seg);
    assert(s_sql(path, "SELECT seg_off FROM messages WHERE bkey = 'AFTER-1'") == end);

    //  Inline rows stay readable with every payload going to segments now.
    lt_store_set_inline_max(store, 0);
    scan = s_scan(store, "a");
    assert(scan.rows == 4 && scan.good == 4);

    //  A damaged record: that row says why, the others are read, no crash.
    int64_t off = s_sql(path, "SELECT seg_off FROM messages WHERE bkey = 'FILL-3'");
    int64_t seg = s_sql(path, "SELECT seg FROM messages WHERE bkey = 'FILL-3'");
    lt_store_destroy(&store);
    snprintf(file, sizeof(file), "%s/%06lld.seg", segdir, (long long)seg);
    fd = open(file, O_RDWR);
    assert(fd >= 0);
    assert(pwrite(fd, "bad", 3, (off_t)(off + 1000)) == 3);
    close(fd);
    store = lt_store_new(path, &err);
    assert(store);
    scan = s_scan(store, "b");
    assert(scan.rows == 21 && scan.good == 20 && scan.unreadable == 1);
    assert(strstr(scan.why, "CRC") && strstr(scan.why, ".seg"));
    lt_store_segment_stats(store, &figures);
    assert(figures.payload_errors == 1);

    //  Retention: once every delivery in the older segments is done and
    //  pruned, those files go; the segment an unfinished delivery is in stays.
    s_scan_t all_b = s_scan(store, "b");
    assert(lt_store_begin(store, &err) == 0);
    for (size_t i = 0; i + 1 < all_b.rows; i++) //  AFTER-1 (the last) stays unfinished
        assert(lt_store_done(store, all_b.ids[i], &err) == 0);
    s_scan_t all_a = s_scan(store, "a");
    for (size_t i = 0; i < all_a.rows; i++)
        assert(lt_store_done(store, all_a.ids[i], &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    lt_store_segment_stats(store, &figures);
    uint32_t files_before = figures.files;
    lt_store_prune_t step;
    for (int i = 0; i < 10; i++) {
        assert(lt_store_prune(store, lt_time_ms() + 1000, 100, 1000, &step, &err) == 0);
        if (!step.more)
            break;
    }
    for (int i = 0; i < 4; i++)
        assert(lt_store_reclaim(store, 0, 0, &err) >= 0);
    lt_store_segment_stats(store, &figures);
    assert(figures.deleted > 0 && figures.files < files_before);
    assert(figures.files >= 1);
    snprintf(file, sizeof(file), "%s/%06lld.seg", segdir, (long long)last_seg);
    assert(access(file, F_OK) == 0); //  AFTER-1's segment is kept
    scan = s_scan(store, "b");
    assert(scan.rows == 1 && scan.good == 1);

    //  A segment write that fails (here: the directory is gone when a new
    //  segment file is needed) refuses the batch as a full disk does:
    //  nothing of it is kept, and the next batch goes through.
    lt_store_set_segment_size(store, 256 * 1024);
    char moved[4300];
    snprintf(moved, sizeof(moved), "%s.away", segdir);
    assert(rename(segdir, moved) == 0);
    lt_store_counts_t before, after;
    lt_store_counts(store, NULL, &before);
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put(store, "NOROOM-1", 300000, "b", &dup) == 0 && !dup);
    assert(lt_store_commit(store, &err) == -1);
    assert(err.code == LT_ESTORE && strstr(err.detail, "segment") && lt_store_full(store));
    lt_store_counts(store, NULL, &after);
    assert(memcmp(&before, &after, sizeof(before)) == 0);
    assert(rename(moved, segdir) == 0);
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put(store, "NOROOM-1", 300000, "b", &dup) == 0 && !dup);
    assert(lt_store_commit(store, &err) == 0 && !lt_store_full(store));
    scan = s_scan(store, "b");
    assert(scan.rows == 2 && scan.good == 2);
    lt_store_destroy(&store);
    lt_store_test_remove(path);
    if (verbose)
        printf("OK\n");
}
