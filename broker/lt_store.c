/*  lt_store: SQLite backend of the broker's store.

    One database file in WAL mode with synchronous=FULL, so a COMMIT returns
    only after the write-ahead log is fsynced; or, pipelined (the broker),
    synchronous=NORMAL, the log fdatasynced after the commit by the caller
    or by a thread of the store, which tells the caller which commits are
    durable. Statements are prepared once.
    Counters are kept in memory (initialised by counting at open) so stats
    never scan the tables. Schema changes are numbered migrations applied in
    order at open; the applied version lives in the user_version pragma.
*/
#include "lt_store.h"
#include "lt_sqlite.h"
#include "lt_follow.h"
#include "lt_file.h"
#include "lt_id.h"
#include "lt_lanes.h"
#include "lt_ledger.h"
#include "lt_log.h"
#include "lt_ltp.h"
#include "lt_segments.h"

#include <assert.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

//  Numbered schema migrations; entry i brings the schema to version i + 1.
static const char *s_migrations[] = {
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    "  msgid TEXT NOT NULL,"
    "  dedup TEXT NOT NULL UNIQUE,"
    "  kind INTEGER NOT NULL,"
    "  bkey TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  received INTEGER NOT NULL,"
    "  envelope BLOB NOT NULL,"
    "  payload BLOB NOT NULL);"
    "CREATE INDEX messages_msgid ON messages(msgid);"
    "CREATE TABLE deliveries ("
    "  id INTEGER PRIMARY KEY,"
    "  message INTEGER NOT NULL REFERENCES messages(id),"
    "  dest TEXT NOT NULL,"
    "  lane INTEGER NOT NULL,"
    "  rcpt TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  errors TEXT);"
    "CREATE INDEX deliveries_ready ON deliveries(dest, id) WHERE state = 0;"
    "CREATE INDEX deliveries_waiting ON deliveries(dest, next_at) WHERE state = 2;"
    "CREATE INDEX deliveries_lane ON deliveries(dest, lane, id) WHERE state IN (0, 2);"
    "CREATE INDEX deliveries_dead ON deliveries(id) WHERE state = 3;"
    "CREATE INDEX deliveries_message ON deliveries(message);"
    "CREATE TABLE rejects ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  code INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  data BLOB);",
    //  2: content dedup, follow-ups held for their document, dead letters
    //  blocking their lane, discarded dead letters, replayable rejects.
    "ALTER TABLE messages ADD COLUMN btype TEXT;"
    "ALTER TABLE messages ADD COLUMN lkey TEXT;"
    "UPDATE messages SET lkey = bkey, btype = CASE WHEN kind = 1 THEN"
    "  substr(substr(dedup, length(bkey) + 11), 1,"
    "         instr(substr(dedup, length(bkey) + 11), '|') - 1) END;"
    "CREATE INDEX messages_document ON messages(bkey) WHERE kind = 1;"
    "DROP INDEX deliveries_lane;"
    "CREATE INDEX deliveries_lane ON deliveries(dest, lane, id) WHERE state IN (0, 2, 3, 4);"
    "CREATE INDEX deliveries_held ON deliveries(lane) WHERE state = 4;"
    "CREATE INDEX deliveries_held_at ON deliveries(next_at) WHERE state = 4;"
    "ALTER TABLE rejects ADD COLUMN envelope BLOB;"
    "ALTER TABLE rejects ADD COLUMN replayed TEXT;"
    "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO store_meta SELECT 'legacy_dedup', 1 WHERE EXISTS (SELECT 1 FROM messages);",
    //  3: retention. A pruned message keeps its row (dedup key, envelope)
    //  without payload or deliveries; pruned_at says when it was pruned.
    ("ALTER TABLE messages ADD COLUMN pruned_at INTEGER;"
     "CREATE INDEX messages_kept ON messages(id) WHERE pruned_at IS NULL;"),
    //  4: payload segments. A payload larger than the inline bound lives in
    //  a segment file (lt_segments); the row keeps where (segment, offset
    //  of the record, length) and an empty payload. Rows written before
    //  keep their payload inline and are read as before.
    ("ALTER TABLE messages ADD COLUMN seg INTEGER;"
     "ALTER TABLE messages ADD COLUMN seg_off INTEGER;"
     "ALTER TABLE messages ADD COLUMN seg_len INTEGER;"
     "CREATE INDEX messages_seg ON messages(seg, seg_off) WHERE seg IS NOT NULL;"),
    //  5: a progress step that comes before its dossier is held for it;
    //  whether a dossier is known is one look in this index.
    "CREATE INDEX messages_dossier ON messages(bkey) WHERE kind = 3;",
    //  6: the lane index's condition as two comparisons. SQLite evaluates a
    //  partial index's "state IN (0, 2, 3, 4)" for every row written by
    //  building a temporary b-tree of the list, twice per state change (the
    //  old row and the new one); "state <> 1 AND state <> 5" is the same set
    //  of states (unfinished: READY, WAITING, DEAD, HELD) at the cost of two
    //  comparisons. Queries that use the index repeat its condition exactly.
    ("DROP INDEX deliveries_lane;"
     "CREATE INDEX deliveries_lane ON deliveries(dest, lane, id)"
     " WHERE state <> 1 AND state <> 5;"),
    //  7: no index of documents and dossiers by key of their own. Every
    //  message's dedup key begins "kind|key|", so the dedup key's unique
    //  index already holds a document's or a dossier's rows side by side;
    //  the two indexes made each publish write one more leaf at a random
    //  place (a WAL frame per message). Queries by key read a range of
    //  the dedup index instead (S_KEY_RANGE).
    ("DROP INDEX messages_document;"
     "DROP INDEX messages_dossier;"),
    //  8: lanes in memory (lt_lanes). The lane index's key began with the
    //  lane, a hash: every publish and every DONE wrote a leaf at a random
    //  place, and the scans asked it once a row. Lanes are now kept in
    //  memory, built at open from the partial indexes of the unfinished
    //  states, each given the destination, the lane and the state as
    //  columns so that the build reads no row of the table (SQLite 3.40
    //  counts the state of the partial index's condition as a column to
    //  read; an index of its own cost about 1 us a message more:
    //  docs/performance.md, "Lanes in memory").
    ("DROP INDEX deliveries_lane;"
     "DROP INDEX deliveries_ready;"
     "CREATE INDEX deliveries_ready ON deliveries(dest, id, lane, state) WHERE state = 0;"
     "DROP INDEX deliveries_waiting;"
     "CREATE INDEX deliveries_waiting ON deliveries(dest, next_at, id, lane, state)"
     " WHERE state = 2;"
     "DROP INDEX deliveries_dead;"
     "CREATE INDEX deliveries_dead ON deliveries(id, dest, lane, state) WHERE state = 3;"
     "DROP INDEX deliveries_held;"
     "CREATE INDEX deliveries_held ON deliveries(lane, id, dest, state) WHERE state = 4;"),
    //  9: no index of message ids. A message's id carries its row number,
    //  scrambled by a key of the store (s_msgid_tail), so the row is found
    //  from the id alone; every publish wrote one more index entry (about
    //  1.9 pages of the log a commit at 10 000 msgs/s). The ids of the rows
    //  stored before keep an index of their own (s_migrate_msgid).
    "DROP INDEX messages_msgid;",
};

#define S_MIGRATIONS (int) (sizeof(s_migrations) / sizeof(s_migrations[0]))

//  Where a payload kept in a segment lies (NULL for an inline payload).
#define S_SEG_COLUMNS "m.seg, m.seg_off, m.seg_len"

//  Default bound of payloads kept inline in the database (bytes).
#define S_INLINE_MAX 2048

//  The rows of one kind and key (?1) in the dedup key's index: every dedup
//  key of such a row begins "kind|key|", and sorts before "kind|key}" ('}'
//  follows '|'). A key that is a prefix of another ("A" and "A|B") shares
//  the range, so queries also test kind and bkey.
#define S_KEY_RANGE(kind)                                                                         \
    "dedup >= '" kind "|' || ?1 || '|' AND dedup < '" kind "|' || ?1 || '}'"

//  Columns every row query selects, in this order; queries with payload
//  add m.payload (S_COL_PAYLOAD) and then S_SEG_COLUMNS (from S_COL_SEG).
#define S_ROW_COLUMNS                                                                             \
    "d.id, d.message, d.dest, d.state, d.attempts, d.next_at, d.created_at, d.errors, d.rcpt,"   \
    " m.msgid, m.envelope, d.lane"
#define S_COL_LANE 11
#define S_COL_PAYLOAD 12
#define S_COL_SEG 13

typedef enum {
    Q_INSERT_MESSAGE,
    Q_FIND_DEDUP,
    Q_INSERT_DELIVERY,
    Q_INSERT_REJECT,
    Q_SCAN_READY,
    Q_SCAN_DUE,
    Q_NEXT_DUE,
    Q_GET,
    Q_GET_PAYLOAD,
    Q_SET_DONE,
    Q_SET_RETRY,
    Q_SET_DEAD,
    Q_SET_REPLAY,
    Q_LANE_OF,
    Q_LIST_DEAD,
    Q_TRACE,
    Q_FIND_DOSSIER,
    Q_FIND_DOCUMENT,
    Q_HELD_FOR,
    Q_RENUMBER,
    Q_HELD_EXPIRED,
    Q_UNHOLD,
    Q_SET_DISCARD,
    Q_LIST_DEAD_LANES,
    Q_LANES,
    Q_LIST_REJECTS,
    Q_GET_REJECT,
    Q_REJECT_REPLAYED,
    Q_UNPUT_DELIVERIES,
    Q_PUT_DELIVERIES,
    Q_UNPUT_MESSAGE,
    Q_TOP_DELIVERY,
    Q_BEGIN,
    Q_COMMIT,
    Q_COUNT
} s_query_t;

static const char *s_sql[Q_COUNT] = {
    [Q_INSERT_MESSAGE] = "INSERT INTO messages (msgid, dedup, kind, bkey, source, received,"
                         " envelope, payload, btype, lkey, seg, seg_off, seg_len, id)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                         " ON CONFLICT (dedup) DO NOTHING",
    [Q_FIND_DEDUP] = "SELECT msgid FROM messages WHERE dedup = ?1",
    [Q_INSERT_DELIVERY] = "INSERT INTO deliveries (message, dest, lane, rcpt, state, next_at,"
                          " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?6, ?7, ?5, ?5)",
    [Q_INSERT_REJECT] = "INSERT INTO rejects (at, source, code, reason, data, envelope)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_SCAN_READY] = "SELECT " S_ROW_COLUMNS ", m.payload, " S_SEG_COLUMNS " FROM deliveries d"
                     " JOIN messages m ON m.id = d.message"
                     " WHERE d.dest = ?1 AND d.state = 0 AND d.id > ?2"
                     " AND lt_lane_head(d.dest, d.lane, d.id)"
                     " ORDER BY d.id LIMIT ?3",
    [Q_SCAN_DUE] = "SELECT " S_ROW_COLUMNS ", m.payload, " S_SEG_COLUMNS " FROM deliveries d"
                   " JOIN messages m ON m.id = d.message"
                   " WHERE d.dest = ?1 AND d.state = 2 AND d.next_at <= ?2"
                   " AND lt_lane_head(d.dest, d.lane, d.id)"
                   " ORDER BY d.next_at, d.id LIMIT ?3",
    [Q_NEXT_DUE] = "SELECT MIN(next_at) FROM deliveries WHERE dest = ?1 AND state = 2",
    [Q_GET] = "SELECT " S_ROW_COLUMNS " FROM deliveries d JOIN messages m ON m.id = d.message"
              " WHERE d.id = ?1",
    [Q_GET_PAYLOAD] = "SELECT " S_ROW_COLUMNS ", m.payload, " S_SEG_COLUMNS " FROM deliveries d"
                      " JOIN messages m ON m.id = d.message WHERE d.id = ?1",
    [Q_SET_DONE] = "UPDATE deliveries SET state = 1, attempts = attempts + 1, updated_at = ?2"
                   " WHERE id = ?1 AND state = ?9",
    [Q_SET_RETRY] = "UPDATE deliveries SET state = 2, attempts = attempts + 1, next_at = ?3,"
                    " updated_at = ?4, errors = COALESCE(errors || char(10), '') || ?2"
                    " WHERE id = ?1 AND state = ?9",
    [Q_SET_DEAD] = "UPDATE deliveries SET state = 3, attempts = attempts + 1, updated_at = ?3,"
                   " errors = COALESCE(errors || char(10), '') || ?2"
                   " WHERE id = ?1 AND state = ?9",
    [Q_SET_REPLAY] = "UPDATE deliveries SET state = 2, attempts = 0, next_at = 0,"
                     " updated_at = ?2 WHERE id = ?1 AND state = 3",
    [Q_LANE_OF] = "SELECT dest, lane FROM deliveries WHERE id = ?1",
    [Q_LIST_DEAD] = "SELECT " S_ROW_COLUMNS " FROM deliveries d"
                    " JOIN messages m ON m.id = d.message"
                    " WHERE d.state = 3 ORDER BY d.id DESC LIMIT ?1",
    [Q_TRACE] = "SELECT " S_ROW_COLUMNS " FROM deliveries d JOIN messages m ON m.id = d.message"
                " WHERE m.id = ?1 ORDER BY d.id",
    [Q_FIND_DOSSIER] = "SELECT 1 FROM messages WHERE " S_KEY_RANGE("dossier")
                       " AND kind = 3 AND bkey = ?1 LIMIT 1",
    [Q_FIND_DOCUMENT] = "SELECT envelope FROM messages WHERE id = (SELECT MIN(id) FROM messages"
                        " WHERE " S_KEY_RANGE("document") " AND kind = 1 AND bkey = ?1"
                        " AND btype IN ('new', 'replacement'))",
    [Q_HELD_FOR] = "SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.message"
                   " WHERE d.lane = ?1 AND d.state = 4 AND m.lkey = ?2 ORDER BY d.id",
    [Q_RENUMBER] = "UPDATE deliveries SET id = ?3, state = 0,"
                   " next_at = 0, updated_at = ?2 WHERE id = ?1 AND state = 4",
    [Q_HELD_EXPIRED] = "SELECT " S_ROW_COLUMNS " FROM deliveries d"
                       " JOIN messages m ON m.id = d.message"
                       " WHERE d.state = 4 AND d.next_at <= ?1 ORDER BY d.id LIMIT ?2",
    [Q_UNHOLD] = "UPDATE deliveries SET state = 2, next_at = 0, updated_at = ?2"
                 " WHERE id = ?1 AND state = 4",
    [Q_SET_DISCARD] = "UPDATE deliveries SET state = 5, updated_at = ?2,"
                      " errors = COALESCE(errors || char(10), '') || 'discarded by the operator'"
                      " WHERE id = ?1 AND state = 3",
    [Q_LIST_DEAD_LANES] = "SELECT id, dest, lane FROM deliveries WHERE state = 3 ORDER BY id",
    [Q_LANES] = "SELECT id, dest, lane FROM deliveries WHERE state = 0"
                " UNION ALL SELECT id, dest, lane FROM deliveries WHERE state = 2"
                " UNION ALL SELECT id, dest, lane FROM deliveries WHERE state = 3"
                " UNION ALL SELECT id, dest, lane FROM deliveries WHERE state = 4",
    [Q_LIST_REJECTS] = "SELECT id, at, source, code, reason, envelope, replayed FROM rejects"
                       " ORDER BY id DESC LIMIT ?1",
    [Q_GET_REJECT] = "SELECT id, at, source, code, reason, envelope, replayed, data FROM rejects"
                     " WHERE id = ?1",
    [Q_REJECT_REPLAYED] = "UPDATE rejects SET replayed = ?2 WHERE id = ?1",
    [Q_UNPUT_DELIVERIES] = "DELETE FROM deliveries WHERE message = ?1",
    [Q_PUT_DELIVERIES] = "SELECT id, dest, lane FROM deliveries WHERE message = ?1",
    [Q_UNPUT_MESSAGE] = "DELETE FROM messages WHERE id = ?1",
    [Q_TOP_DELIVERY] = "SELECT MAX(id) FROM deliveries",
    //  Prepared once: sqlite3_exec would parse them again for every group
    //  (at 2 000 msgs/s a group is a message or two).
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
};

struct _lt_store_t {
    sqlite3 *db;                 //  the database connection
    sqlite3_stmt *stmt[Q_COUNT]; //  prepared statements
    bool in_batch;               //  a write transaction is open
    lt_store_counts_t counts;    //  committed counters
    lt_store_counts_t pending;   //  counters changed by the open batch (applied on commit)
    char *path;                  //  database file, for messages
    pthread_t checkpointer;      //  copies the WAL into the database file
    bool checkpointing;          //  the checkpointer thread runs
    pthread_mutex_t stop_lock;   //  guards stopping and the restart figures
    uint64_t restarts;           //  restarts of the log: RESTART checkpoints, or by the writer
    uint64_t restart_us_max;     //  the longest, its wait for the writer included
    uint64_t begin_wait_us_max;  //  the writer's longest BEGIN (the writer's thread only)
    pthread_cond_t stop_cond;    //  wakes the checkpointer to stop
    bool stopping;               //  the checkpointer should end
    int64_t hold_ms;             //  how long a follow-up waits for its document
    size_t released;             //  held deliveries the last put released
    bool full;                   //  the last failure was a full disk
    lt_ledger_t *ledger;         //  the counting ledger, in the same database
    bool legacy_dedup;           //  rows stored before content dedup exist
    uint64_t msgid_keys[4];      //  the round keys of message ids' row numbers
    int64_t msgid_legacy;        //  rows up to this one have random ids (their own index)
    int64_t next_message;        //  the row number of the next message (0: read it again)
    struct s_retain *retain;     //  retention state (prune section, end of file)
    lt_segments_t *segs;         //  payload segments (DB path + ".segments")
    lt_lanes_t *lanes;           //  the unfinished deliveries of each lane (lt_lanes)
    bool lanes_stale;            //  lanes must be built again (a rolled-back batch)
    uint64_t gone_id;            //  the delivery that last left its lane ...
    uint64_t gone_key;           //  ... and its lane's key (lt_store_lane_next)
    size_t inline_max;           //  payloads up to this size stay in the database
    bool packed_rows;            //  scans hand envelopes as stored (lt_store_set_packed_rows)
    lt_seg_ref_t put_ref;        //  the current put's segment record
    bool put_appended;           //  the current put appended put_ref
    bool put_wrote;              //  the current put ran its message insert
    int64_t put_message;         //  the row id the current put inserted (0: none)
    bool group_lost;             //  a store error rolled the group back
    bool group_lost_full;        //  ... and that error was a full disk
    char group_lost_why[512];    //  ... with this reason
    uint64_t payload_errors;     //  payloads found missing or damaged when read
    uint32_t seg_cursor;         //  next segment retention looks at
    uint64_t segs_deleted;       //  segment files deleted since open
    //  Pipelined durability (lt_store_set_pipelined).
    bool pipelined;              //  the syncer thread runs
    pthread_t syncer;            //  fdatasyncs the WAL behind the commits
    pthread_mutex_t sync_lock;   //  guards the fields up to sync_errno
    pthread_cond_t sync_cond;    //  wakes the syncer: a commit, or stop
    pthread_cond_t durable_cond; //  wakes lt_store_sync: durable moved
    uint64_t gen_committed;      //  commits so far
    uint64_t top_committed;      //  highest delivery id as of the last commit
    uint64_t gen_durable;        //  commits known on disk
    uint64_t top_durable;        //  highest delivery id as of gen_durable
    bool sync_stop;              //  the syncer ends once everything is synced
    bool syncing;                //  a sync of the log runs (one at a time)
    uint64_t gen_requested;      //  the syncer syncs up to here (lt_store_sync_behind)
    int sync_errno;              //  a failed sync of the log (0: none)
    int notify_fd;               //  eventfd: durable moved (-1: not pipelined)
    lt_store_syncstats_t syncstats; //  guarded by sync_lock
    int wal_fd;                  //  the syncer's descriptor of the WAL
    dev_t wal_dev;               //  ... and the file it was opened on
    ino_t wal_ino;
};

static void s_retain_free(lt_store_t *self);
static void s_reset(sqlite3_stmt *stmt);
static void s_retain_open(lt_store_t *self);
static int s_segments_open(lt_store_t *self, lt_err_t *err);
static int s_segments_sync(lt_store_t *self, lt_err_t *err);

//  The checkpointer: its own connection copies committed WAL frames into the
//  database file every S_PASS_MS (PASSIVE: never blocks the writer), so the
//  committing thread never pays for a checkpoint in the middle of a commit.
//  A pass costs about 1.3 us of CPU per frame copied, plus the database
//  file's sync, and the relay's threads feel it as a pause: every 50 ms, a
//  pass of about 1 900 frames took 2.4 ms at 10 000 msgs/s and put the
//  messages of those moments past 3-6 ms (the p99). Passes every 10 ms copy
//  about a third more frames in all (a page written by several commits is
//  copied once per pass) in pieces a quarter the size: p99 2.5-3.1 ms, the
//  same throughput at full speed (docs/performance.md, "The checkpointer's
//  passes").
#define S_WAL_LIMIT 12288   //  WAL frames (48 MiB of 4 KiB pages) before a RESTART
#define S_PASS_MS 10        //  between two PASSIVE passes
#define S_WAL_BYTES 67108864   //  the log's size: journal_size_limit, and what is written ahead

//  Busy handler of the store's connections: poll every 100 µs for the first
//  20 ms, then every millisecond, up to limit ms. SQLite's own waits in
//  steps of up to 100 ms, so a relay that found the checkpointer holding
//  the log slept on long after it was done (stalls of 100-300 ms every
//  few seconds at 2 000 msgs/s, docs/performance.md).
static int s_busy_wait(void *limit_ms, int count)
{
    int64_t waited_us =
        count < 200 ? (int64_t) count * 100 : 20000 + (int64_t) (count - 200) * 1000;
    if (waited_us >= (int64_t) (intptr_t) limit_ms * 1000)
        return 0;
    usleep(count < 200 ? 100 : 1000);
    return 1;
}

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  Sync the database file of the checkpointer's connection, through
//  SQLite's own file (a second descriptor of the file, once closed, would
//  drop the process's locks on it).
static void s_sync_db(sqlite3 *db)
{
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK &&
        file && file->pMethods)
        file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
}

static void *s_checkpointer(void *arg)
{
    lt_store_t *self = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(self->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_handler(db, s_busy_wait, (void *) (intptr_t) 1000);
    //  A connection takes part in WAL mode only once it has read the
    //  database; until then sqlite3_wal_checkpoint_v2 does nothing and the
    //  WAL grows with everything ever written.
    sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL);
    int synced = 0;        //  frames of the log copied and synced so far
    int last_frames = 0;   //  the log's frames at the last pass
    pthread_mutex_lock(&self->stop_lock);
    while (!self->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += S_PASS_MS * 1000000L;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&self->stop_cond, &self->stop_lock, &until);
        if (self->stopping)
            break;
        pthread_mutex_unlock(&self->stop_lock);
        //  PASSIVE copies what it can without ever waiting for the writer;
        //  under steady writes it never catches up (a commit comes before
        //  the copy and its sync end), so the log never starts over. Once
        //  it passes S_WAL_LIMIT frames a RESTART checkpoint waits for a
        //  moment between two commits and copies the rest (at most what
        //  came since the last pass, the passes before copied the others),
        //  so that the next commit writes the log from its start again.
        //  The writer waits for that one checkpoint. The file keeps its
        //  size (journal_size_limit, 64 MiB, is above S_WAL_LIMIT plus
        //  what comes between two passes, so that a restart does not cut
        //  it either): emptying it cost 80 ms of ftruncate, and rewriting
        //  its blocks is cheaper than allocating new ones.
        //
        //  A PASSIVE pass syncs the database file only when it copied the
        //  whole log, which under steady writes it never does, so its
        //  copies stayed in the page cache until the RESTART synced them
        //  all, up to 48 MiB, while the writer waited: 2-16 ms every half
        //  second at 10 000 msgs/s (docs/performance.md, "The log's
        //  restart"). Each pass that copied something is synced here, on
        //  this thread, holding no lock, so the RESTART's own sync covers
        //  only what came since the last pass.
        int frames = 0, copied = 0;
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
        if (copied > 0 && copied != synced)
            s_sync_db(db);
        synced = copied;
        //  A log shorter than at the last pass was started over by the
        //  writer itself, which SQLite does when a pass had copied every
        //  frame (a slower relay, whose passes keep up): a restart too,
        //  with no wait.
        if (frames >= 0 && frames < last_frames) {   //  -1: the pass could not run
            pthread_mutex_lock(&self->stop_lock);
            self->restarts++;
            pthread_mutex_unlock(&self->stop_lock);
        }
        if (frames >= 0)
            last_frames = frames;
        if (frames > S_WAL_LIMIT) {
            int64_t t0 = s_mono_us();
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
            uint64_t took = (uint64_t) (s_mono_us() - t0);
            synced = 0;
            last_frames = 0;   //  counted here, not again at the next pass
            pthread_mutex_lock(&self->stop_lock);
            self->restarts++;
            if (took > self->restart_us_max)
                self->restart_us_max = took;
            pthread_mutex_unlock(&self->stop_lock);
        }
        pthread_mutex_lock(&self->stop_lock);
    }
    pthread_mutex_unlock(&self->stop_lock);
    sqlite3_close(db);
    return NULL;
}

//  Fill err from the database's last error and return -1.
static int s_fail(lt_store_t *self, lt_err_t *err, const char *what)
{
    self->full = (sqlite3_errcode(self->db) & 0xff) == SQLITE_FULL;
    if (self->full)
        lt_err_set(err, LT_ESTORE, "store %s: disk full, retry later (%s)", self->path, what);
    else
        lt_err_set(err, LT_ESTORE, "store %s: %s: %s", self->path, what,
                   sqlite3_errmsg(self->db));
    return -1;
}

//  Run SQL with no results; -1 with err on failure.
static int s_exec(lt_store_t *self, const char *sql, lt_err_t *err)
{
    if (sqlite3_exec(self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return s_fail(self, err, "exec");
    return 0;
}

//  Run one of the prepared statements that return no rows (Q_BEGIN,
//  Q_COMMIT) as s_exec would run its text; -1 with err on failure.
static int s_run(lt_store_t *self, s_query_t q, lt_err_t *err)
{
    sqlite3_stmt *stmt = self->stmt[q];
    int rc = sqlite3_step(stmt);
    //  The database's error is read before the reset, which would
    //  report it again as its own.
    int failed = rc == SQLITE_DONE ? 0 : s_fail(self, err, s_sql[q]);
    sqlite3_reset(stmt);
    return failed;
}

//  Return one integer from a single-value query, or fallback.
static int64_t s_scalar(lt_store_t *self, const char *sql, int64_t fallback)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = fallback;
    if (sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

//  Apply every migration newer than the file's user_version.
//  lt_lane_head(dest, lane, id): 1 when delivery id heads its lane (no
//  unfinished delivery of the lane has a smaller id), for the scans. While
//  the lanes are not built (no memory after a rollback) nothing heads one:
//  nothing is delivered out of order.
static void s_sql_lane_head(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void) argc;
    lt_store_t *self = sqlite3_user_data(ctx);
    const char *dest = (const char *) sqlite3_value_text(argv[0]);
    uint64_t key = lt_lanes_key(dest ? dest : "", sqlite3_value_int64(argv[1]));
    uint64_t id = (uint64_t) sqlite3_value_int64(argv[2]);
    sqlite3_result_int(ctx, !self->lanes_stale && lt_lanes_head(self->lanes, key) == id);
}

//  The key of the lane of the current row of stmt, whose columns col and
//  col + 1 are the destination and the lane number.
static uint64_t s_lane_key(sqlite3_stmt *stmt, int col)
{
    const char *dest = (const char *) sqlite3_column_text(stmt, col);
    return lt_lanes_key(dest ? dest : "", sqlite3_column_int64(stmt, col + 1));
}

//  The key of a delivery's lane, read from its row; 0 when there is none.
static uint64_t s_lane_key_of(lt_store_t *self, uint64_t delivery)
{
    sqlite3_stmt *stmt = self->stmt[Q_LANE_OF];
    sqlite3_bind_int64(stmt, 1, (int64_t) delivery);
    uint64_t key = sqlite3_step(stmt) == SQLITE_ROW ? s_lane_key(stmt, 0) : 0;
    s_reset(stmt);
    return key;
}

//  The highest delivery id stored (0: none).
static int64_t s_top_delivery(lt_store_t *self)
{
    sqlite3_stmt *stmt = self->stmt[Q_TOP_DELIVERY];
    int64_t top = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    s_reset(stmt);
    return top;
}

//  Build the lanes from the unfinished deliveries (the partial indexes of
//  their four states): at open, and after a rolled-back batch. 0, or -1
//  with err; the lanes are then stale and no delivery heads its lane until
//  a later build succeeds (lt_store_begin tries again).
static int s_lanes_load(lt_store_t *self, lt_err_t *err)
{
    self->gone_id = 0;
    self->lanes_stale = true;
    const lt_store_counts_t *c = &self->counts;   //  what is on disk
    if (lt_lanes_clear(self->lanes, c->ready + c->waiting + c->dead + c->held)) {
        lt_lanes_built(self->lanes);
        return lt_err_set(err, LT_ENOMEM, "store %s: out of memory for the lanes", self->path);
    }
    sqlite3_stmt *stmt = self->stmt[Q_LANES];
    int step, rc = 0;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        if (lt_lanes_add(self->lanes, s_lane_key(stmt, 1),
                         (uint64_t) sqlite3_column_int64(stmt, 0))) {
            rc = lt_err_set(err, LT_ENOMEM, "store %s: out of memory for the lanes", self->path);
            break;
        }
    if (rc == 0 && step != SQLITE_DONE)
        rc = s_fail(self, err, "cannot read the unfinished deliveries");
    s_reset(stmt);
    self->lanes_stale = rc != 0;
    if (rc)
        lt_lanes_clear(self->lanes, 0);
    lt_lanes_built(self->lanes);
    return rc;
}

//  Message ids and row numbers. A message's id is a UUIDv7 whose last 62
//  bits are its row number through a keyed permutation (a Feistel network
//  of four rounds on two 31-bit halves), so that the id names the row
//  without an index and without telling how many messages the hub stored.
//  The key is the store's (store_meta 'msgid_key', made at migration 9).
//  SplitMix64's finaliser: every bit of z stirs every bit of the result.
static uint64_t s_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t s_msgid_round(uint32_t half, uint64_t key)
{
    return (uint32_t) (s_mix64(((uint64_t) half << 32 | half) ^ key) >> 33);   //  31 bits
}

static uint64_t s_msgid_tail(const lt_store_t *self, int64_t row)
{
    uint32_t left = (uint32_t) ((uint64_t) row >> 31) & 0x7fffffff;
    uint32_t right = (uint32_t) row & 0x7fffffff;
    for (int i = 0; i < 4; i++) {
        uint32_t next = left ^ s_msgid_round(right, self->msgid_keys[i]);
        left = right;
        right = next;
    }
    return (uint64_t) left << 31 | right;
}

static int64_t s_msgid_row(const lt_store_t *self, uint64_t tail)
{
    uint32_t left = (uint32_t) (tail >> 31) & 0x7fffffff;
    uint32_t right = (uint32_t) tail & 0x7fffffff;
    for (int i = 3; i >= 0; i--) {
        uint32_t prev = right ^ s_msgid_round(left, self->msgid_keys[i]);
        right = left;
        left = prev;
    }
    return (int64_t) ((uint64_t) left << 31 | right);
}

//  Read the message ids' key and where the random ids end (store_meta).
static void s_msgid_load(lt_store_t *self)
{
    uint64_t key =
        (uint64_t) s_scalar(self, "SELECT value FROM store_meta WHERE key = 'msgid_key'", 0);
    for (int i = 0; i < 4; i++)   //  one round key each, drawn from it
        self->msgid_keys[i] = s_mix64(key += 0x9e3779b97f4a7c15ULL);
    self->msgid_legacy =
        s_scalar(self, "SELECT value FROM store_meta WHERE key = 'msgid_legacy'", 0);
    self->next_message = 0;
}

//  The highest message row number (0: none).
static int64_t s_last_message(lt_store_t *self)
{
    return s_scalar(self, "SELECT COALESCE(MAX(id), 0) FROM messages", 0);
}

//  Migration 9's part in code: the store's key of message ids, and an index
//  of the ids of the rows stored so far (random ids), bounded by their last
//  row number so that no later row enters it.
static int s_migrate_msgid(lt_store_t *self, lt_err_t *err)
{
    int64_t last = s_last_message(self);
    int64_t key;
    lt_random_bytes(&key, sizeof(key));
    char sql[300];
    snprintf(sql, sizeof(sql),
             "INSERT OR REPLACE INTO store_meta VALUES ('msgid_key', %lld), ('msgid_legacy', %lld)",
             (long long) key, (long long) last);
    if (s_exec(self, sql, err))
        return -1;
    if (last == 0)
        return 0;
    snprintf(sql, sizeof(sql),
             "CREATE INDEX messages_msgid_legacy ON messages(msgid) WHERE id <= %lld",
             (long long) last);
    return s_exec(self, sql, err);
}

//  The row number of the message msgid names, 0 when there is none.
static int64_t s_message_row(lt_store_t *self, const char *msgid)
{
    uint64_t tail;
    bool made = lt_id_tail(msgid, &tail);
    sqlite3_stmt *stmt = NULL;
    int64_t found = 0, row = made ? s_msgid_row(self, tail) : 0;
    if (made && row > self->msgid_legacy &&
        sqlite3_prepare_v2(self->db, "SELECT msgid = ?2 FROM messages WHERE id = ?1", -1, &stmt,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, row);
        sqlite3_bind_text(stmt, 2, msgid, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0))
            found = row;
        sqlite3_finalize(stmt);
    }
    if (found || self->msgid_legacy <= 0)
        return found;
    //  A row stored before migration 9: its id is random, in the index of
    //  those rows (the query repeats the index's bound, as a number).
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT id FROM messages WHERE msgid = ?1 AND id <= %lld",
             (long long) self->msgid_legacy);
    stmt = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, msgid, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            found = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return found;
}

static int s_migrate(lt_store_t *self, lt_err_t *err)
{
    int64_t version = s_scalar(self, "PRAGMA user_version", 0);
    if (version > S_MIGRATIONS)
        return lt_err_set(err, LT_ESTORE,
                          "store %s: schema version %lld is newer than this lthubd (%d)",
                          self->path, (long long) version, S_MIGRATIONS),
               -1;
    int64_t started = lt_time_ms();
    for (int i = (int) version; i < S_MIGRATIONS; i++) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
        if (s_exec(self, "BEGIN IMMEDIATE", err))
            return -1;
        if (s_exec(self, s_migrations[i], err) || (i + 1 == 9 && s_migrate_msgid(self, err)) ||
            s_exec(self, pragma, err)) {
            s_exec(self, "ROLLBACK", NULL);
            return -1;
        }
        if (s_exec(self, "COMMIT", err))
            return -1;
    }
    //  A store of an earlier release: say what was done, and how long it took.
    if (version > 0 && version < S_MIGRATIONS)
        lt_log_info("event=store_migrate path=%s from=%lld to=%d ms=%lld", self->path,
                    (long long) version, S_MIGRATIONS, (long long) (lt_time_ms() - started));
    return 0;
}

//  Write the log's blocks ahead, up to S_WAL_BYTES, with zeros past what
//  it holds (its frames end where the first one fails its checksum, so the
//  zeros are no frames; SQLite keeps the file at that size, see the
//  checkpointer). A log that grows takes new blocks at every commit, and
//  the commit's sync writes the file's size and extents as well: at
//  10 000 msgs/s the first half second, before the log first started over,
//  put a thousand messages past 4-10 ms (docs/architecture.md, "The log
//  is written ahead"). Best effort: a log that cannot be extended grows as
//  before.
static void s_wal_ahead(lt_store_t *self)
{
    char wal[PATH_MAX];
    snprintf(wal, sizeof(wal), "%s-wal", self->path);
    int fd = open(wal, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_size < S_WAL_BYTES) {
        static const char zeros[65536];
        off_t at = st.st_size;
        while (at < S_WAL_BYTES) {
            size_t n = S_WAL_BYTES - at < (off_t) sizeof(zeros) ? (size_t) (S_WAL_BYTES - at)
                                                                 : sizeof(zeros);
            ssize_t wrote = pwrite(fd, zeros, n, at);
            if (wrote <= 0)
                break;
            at += wrote;
        }
        if (at < S_WAL_BYTES || fdatasync(fd))
            (void) !ftruncate(fd, st.st_size);   //  a full disk: leave it as it was
    }
    close(fd);
}

lt_store_t *lt_store_new(const char *path, lt_err_t *err)
{
    assert(path);
    lt_store_t *self = calloc(1, sizeof(*self));
    if (!self || !(self->path = strdup(path))) {
        free(self);
        lt_err_set(err, LT_ENOMEM, "store: out of memory");
        return NULL;
    }
    self->notify_fd = -1;
    self->wal_fd = -1;
    lt_sqlite_setup();
    //  One thread uses the connection: no per-call mutexes (multi-thread mode).
    if (sqlite3_open_v2(path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        s_fail(self, err, "cannot open");
        lt_store_destroy(&self);
        return NULL;
    }
    sqlite3_busy_handler(self->db, s_busy_wait, (void *) (intptr_t) 5000);
    //  WAL + FULL: a commit returns after the log is fsynced. The page cache
    //  is bounded so memory does not grow with the backlog. The statement
    //  journal of each publish's savepoint stays in memory: on a temporary
    //  file it cost about 19 write calls per 1 KiB message, ten times the
    //  WAL's own writes (strace -f -c of lthubd under lthub-bench).
    if (s_exec(self,
               "PRAGMA auto_vacuum = INCREMENTAL;"   //  takes effect on a new file only
               " PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
               " PRAGMA cache_size = -8192; PRAGMA mmap_size = 0;"
               " PRAGMA journal_size_limit = 67108864; PRAGMA foreign_keys = OFF;"   //  S_WAL_BYTES
               " PRAGMA temp_store = MEMORY;"
               " PRAGMA wal_autocheckpoint = 0;",
               err) ||
        s_migrate(self, err)) {
        lt_store_destroy(&self);
        return NULL;
    }
    s_wal_ahead(self);
    s_msgid_load(self);
    s_retain_open(self);
    if (!(self->lanes = lt_lanes_new())) {
        lt_err_set(err, LT_ENOMEM, "store: out of memory");
        lt_store_destroy(&self);
        return NULL;
    }
    if (sqlite3_create_function(self->db, "lt_lane_head", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                self, s_sql_lane_head, NULL, NULL) != SQLITE_OK) {
        s_fail(self, err, "cannot add the lane function");
        lt_store_destroy(&self);
        return NULL;
    }
    for (int q = 0; q < Q_COUNT; q++)
        if (sqlite3_prepare_v3(self->db, s_sql[q], -1, SQLITE_PREPARE_PERSISTENT, &self->stmt[q],
                               NULL) != SQLITE_OK) {
            s_fail(self, err, "cannot prepare a statement");
            lt_store_destroy(&self);
            return NULL;
        }
    if (!(self->ledger = lt_ledger_new(self->db, path, false, err))) {
        lt_store_destroy(&self);
        return NULL;
    }
    lt_ledger_set_deferred(self->ledger, true);
    if (s_segments_open(self, err)) {
        lt_store_destroy(&self);
        return NULL;
    }
    self->counts.messages =
        (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM messages WHERE pruned_at IS NULL", 0);
    self->counts.ready =
        (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM deliveries WHERE state = 0", 0);
    self->counts.waiting =
        (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM deliveries WHERE state = 2", 0);
    self->counts.dead =
        (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM deliveries WHERE state = 3", 0);
    self->counts.done =
        (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM deliveries WHERE state = 1", 0);
    self->counts.rejects = (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM rejects", 0);
    self->counts.held =
        (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM deliveries WHERE state = 4", 0);
    self->legacy_dedup =
        s_scalar(self, "SELECT value FROM store_meta WHERE key = 'legacy_dedup'", 0) != 0;
    self->counts.discarded =
        (uint64_t) s_scalar(self, "SELECT COUNT(*) FROM deliveries WHERE state = 5", 0);
    if (s_lanes_load(self, err)) {
        lt_store_destroy(&self);
        return NULL;
    }
    pthread_mutex_init(&self->stop_lock, NULL);
    pthread_cond_init(&self->stop_cond, NULL);
    self->checkpointing = pthread_create(&self->checkpointer, NULL, s_checkpointer, self) == 0;
    if (!self->checkpointing)   //  no thread: let commits checkpoint as usual
        s_exec(self, "PRAGMA wal_autocheckpoint = 1000", NULL);
    return self;
}

void lt_store_destroy(lt_store_t **self_p)
{
    assert(self_p);
    lt_store_t *self = *self_p;
    if (!self)
        return;
    if (self->checkpointing) {
        pthread_mutex_lock(&self->stop_lock);
        self->stopping = true;
        pthread_cond_signal(&self->stop_cond);
        pthread_mutex_unlock(&self->stop_lock);
        pthread_join(self->checkpointer, NULL);
        pthread_mutex_destroy(&self->stop_lock);
        pthread_cond_destroy(&self->stop_cond);
    }
    lt_lanes_destroy(&self->lanes);   //  first: the rollback below builds none
    if (self->in_batch)
        lt_store_rollback(self);
    if (self->pipelined) {   //  the syncer syncs what is committed, then ends
        pthread_mutex_lock(&self->sync_lock);
        self->sync_stop = true;
        pthread_cond_signal(&self->sync_cond);
        pthread_mutex_unlock(&self->sync_lock);
        pthread_join(self->syncer, NULL);
        pthread_mutex_destroy(&self->sync_lock);
        pthread_cond_destroy(&self->sync_cond);
        pthread_cond_destroy(&self->durable_cond);
    }
    if (self->notify_fd >= 0)
        close(self->notify_fd);
    if (self->wal_fd >= 0)
        close(self->wal_fd);
    lt_ledger_destroy(&self->ledger);
    lt_segments_destroy(&self->segs);
    s_retain_free(self);
    for (int q = 0; q < Q_COUNT; q++)
        sqlite3_finalize(self->stmt[q]);
    sqlite3_close(self->db);
    free(self->path);
    free(self);
    *self_p = NULL;
}

int lt_store_begin(lt_store_t *self, lt_err_t *err)
{
    assert(self);
    assert(!self->in_batch);
    if (self->lanes_stale && s_lanes_load(self, err))   //  not built after a rollback
        return -1;
    int64_t t0 = s_mono_us();
    if (s_run(self, Q_BEGIN, err))
        return -1;
    //  BEGIN IMMEDIATE waits while another connection holds the write
    //  lock: in lthubd, the checkpointer restarting the log.
    uint64_t waited = (uint64_t) (s_mono_us() - t0);
    if (waited > self->begin_wait_us_max)
        self->begin_wait_us_max = waited;
    self->in_batch = true;
    memset(&self->pending, 0, sizeof(self->pending));
    return 0;
}

//  ---------------------------------------------------------------------------
//  Pipelined durability. With synchronous=NORMAL a COMMIT writes its frames
//  to the WAL and returns; one fdatasync of the WAL then covers every
//  commit that returned before it began, run by the caller (lt_store_sync)
//  or by the syncer thread while the caller reads and stores the next
//  group (lt_store_sync_behind). SQLite itself still syncs the WAL
//  before a checkpoint copies it and the database file after, and the WAL
//  header when the log starts over, so the file is never corrupt: a crash
//  of the machine can lose only commits not yet reported durable, and
//  nothing of those was confirmed to anyone.

//  Note a successful commit on the main connection; top: the highest
//  delivery id it made visible (0: not known, keep the last). Nothing is
//  synced yet: the caller syncs here (lt_store_sync) or behind
//  (lt_store_sync_behind).
static void s_committed(lt_store_t *self, uint64_t top)
{
    if (!self->pipelined) {
        self->gen_committed++;
        self->gen_durable = self->gen_committed;
        return;
    }
    pthread_mutex_lock(&self->sync_lock);
    self->gen_committed++;
    if (top > self->top_committed)
        self->top_committed = top;
    pthread_mutex_unlock(&self->sync_lock);
}

//  fdatasync the WAL, opened once by name (again if the file was replaced:
//  SQLite deletes it only when the last connection closes). The check asks
//  for the inode number only: a stat that returns the file's times makes
//  Linux (6.13 and later, multigrain timestamps) give the next write a
//  fine-grained mtime, so every write dirtied the inode and every sync
//  wrote it as well (1.17 inode updates per sync; 0.21 now, when the
//  coarse clock ticks), and a sync took 214-231 us instead of 154-165 us
//  at 10 000 msgs/s (docs/performance.md, "The log's inode").
static int s_sync_wal(lt_store_t *self, const char *wal)
{
    struct stat st;
    struct statx sx;
    if (self->wal_fd >= 0 &&
        (statx(AT_FDCWD, wal, 0, STATX_INO, &sx) || sx.stx_ino != self->wal_ino ||
         makedev(sx.stx_dev_major, sx.stx_dev_minor) != self->wal_dev)) {
        close(self->wal_fd);
        self->wal_fd = -1;
    }
    if (self->wal_fd < 0) {
        self->wal_fd = open(wal, O_RDWR | O_CLOEXEC);
        if (self->wal_fd < 0 || fstat(self->wal_fd, &st))
            return -1;
        self->wal_dev = st.st_dev;
        self->wal_ino = st.st_ino;
    }
    return fdatasync(self->wal_fd);
}

//  Fill err for a failed sync of the log; -1.
static int s_sync_failed(lt_store_t *self, lt_err_t *err, int error)
{
    lt_err_set(err, LT_ESTORE, "store %s: fdatasync of the write-ahead log: %s", self->path,
               strerror(error));
    return -1;
}

//  Tests hold the syncs to see that nothing waits on a sync in vain.
static volatile int s_hold_syncs;

void lt_store_test_hold_syncs(bool hold)
{
    __atomic_store_n(&s_hold_syncs, hold ? 1 : 0, __ATOMIC_SEQ_CST);
}

//  One sync of the log covering every commit so far, by whichever thread
//  calls it (sync_lock held on entry and on return; one sync at a time).
//  notify: write the eventfd (the syncer does; a caller that synced in
//  its own thread knows).
static void s_sync_once(lt_store_t *self, bool notify)
{
    self->syncing = true;
    uint64_t gen = self->gen_committed, top = self->top_committed;
    pthread_mutex_unlock(&self->sync_lock);
    for (int i = 0; i < 10000 && __atomic_load_n(&s_hold_syncs, __ATOMIC_SEQ_CST); i++)
        usleep(1000);   //  at most 10 s
    char wal[PATH_MAX];
    snprintf(wal, sizeof(wal), "%s-wal", self->path);
    int64_t t0 = s_mono_us();
    int rc = s_sync_wal(self, wal);
    int saved = errno;
    uint64_t took = (uint64_t) (s_mono_us() - t0);
    pthread_mutex_lock(&self->sync_lock);
    self->syncing = false;
    self->syncstats.syncs++;
    self->syncstats.sync_us += took;
    if (took > self->syncstats.sync_us_max)
        self->syncstats.sync_us_max = took;
    if (rc)
        self->sync_errno = saved ? saved : EIO;
    else if (gen > self->gen_durable) {
        self->top_durable = top;
        __atomic_store_n(&self->gen_durable, gen, __ATOMIC_RELEASE);
    }
    pthread_cond_broadcast(&self->durable_cond);
    pthread_cond_broadcast(&self->sync_cond);
    uint64_t one = 1;
    if (notify && write(self->notify_fd, &one, sizeof(one)) < 0) {
        //  The counter is full only if nobody reads it: nothing to do.
    }
}

static void *s_syncer(void *arg)
{
    lt_store_t *self = arg;
    pthread_mutex_lock(&self->sync_lock);
    while (!self->sync_errno) {
        while (!self->sync_stop &&
               (self->syncing || self->gen_requested <= self->gen_durable))
            pthread_cond_wait(&self->sync_cond, &self->sync_lock);
        if (self->syncing)
            continue;
        if (self->gen_committed <= self->gen_durable) {
            if (self->sync_stop)
                break;   //  stopping, and everything is synced
            continue;
        }
        s_sync_once(self, true);
    }
    pthread_mutex_unlock(&self->sync_lock);
    return NULL;
}

void lt_store_sync_behind(lt_store_t *self)
{
    assert(self);
    if (!self->pipelined)
        return;
    pthread_mutex_lock(&self->sync_lock);
    self->gen_requested = self->gen_committed;
    pthread_cond_signal(&self->sync_cond);
    pthread_mutex_unlock(&self->sync_lock);
}

//  Undoes what lt_store_set_pipelined set up before its sync thread ran.
static void s_unpipeline(lt_store_t *self)
{
    pthread_mutex_destroy(&self->sync_lock);
    pthread_cond_destroy(&self->sync_cond);
    pthread_cond_destroy(&self->durable_cond);
    s_exec(self, "PRAGMA synchronous = FULL", NULL);
    close(self->notify_fd);
    self->notify_fd = -1;
}

int lt_store_set_pipelined(lt_store_t *self, lt_err_t *err)
{
    assert(self);
    assert(!self->in_batch);
    if (self->pipelined)
        return 0;
    self->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->notify_fd < 0) {
        lt_err_set(err, LT_ESTORE, "store %s: eventfd: %s", self->path, strerror(errno));
        return -1;
    }
    if (s_exec(self, "PRAGMA synchronous = NORMAL", err)) {
        close(self->notify_fd);
        self->notify_fd = -1;
        return -1;
    }
    pthread_mutex_init(&self->sync_lock, NULL);
    pthread_cond_init(&self->sync_cond, NULL);
    pthread_cond_init(&self->durable_cond, NULL);
    self->top_committed = self->top_durable =
        (uint64_t) s_scalar(self, "SELECT MAX(id) FROM deliveries", 0);
    self->gen_durable = self->gen_committed;
    //  What an earlier run committed without a sync (it was killed) is
    //  synced now, before any of it is delivered.
    char wal[PATH_MAX];
    snprintf(wal, sizeof(wal), "%s-wal", self->path);
    if (s_sync_wal(self, wal) && errno != ENOENT) {
        s_sync_failed(self, err, errno);
        s_unpipeline(self);
        return -1;
    }
    if (pthread_create(&self->syncer, NULL, s_syncer, self)) {
        s_unpipeline(self);
        lt_err_set(err, LT_ESTORE, "store %s: cannot start the log's sync thread", self->path);
        return -1;
    }
    self->pipelined = true;
    return 0;
}

void lt_store_sync_stats(lt_store_t *self, lt_store_syncstats_t *figures)
{
    assert(self);
    memset(figures, 0, sizeof(*figures));
    if (!self->pipelined)
        return;
    pthread_mutex_lock(&self->sync_lock);
    *figures = self->syncstats;
    pthread_mutex_unlock(&self->sync_lock);
    pthread_mutex_lock(&self->stop_lock);
    figures->restarts = self->restarts;
    figures->restart_us_max = self->restart_us_max;
    pthread_mutex_unlock(&self->stop_lock);
    figures->begin_wait_us_max = self->begin_wait_us_max;
}

uint64_t lt_store_synced(const lt_store_t *self)
{
    assert(self);
    return __atomic_load_n(&self->gen_durable, __ATOMIC_ACQUIRE);
}

uint64_t lt_store_committed(const lt_store_t *self)
{
    assert(self);
    return self->gen_committed;   //  written by this thread only
}

uint64_t lt_store_top_committed(lt_store_t *self)
{
    assert(self);
    if (!self->pipelined)
        return 0;
    pthread_mutex_lock(&self->sync_lock);
    uint64_t top = self->top_committed;
    pthread_mutex_unlock(&self->sync_lock);
    return top;
}

int lt_store_notify_fd(const lt_store_t *self)
{
    assert(self);
    return self->notify_fd;
}

int lt_store_durable(lt_store_t *self, uint64_t *generation, uint64_t *top_delivery,
                     lt_err_t *err)
{
    assert(self);
    if (!self->pipelined) {
        *generation = self->gen_durable;
        *top_delivery = UINT64_MAX;
        return 0;
    }
    uint64_t count;
    if (read(self->notify_fd, &count, sizeof(count)) < 0) {
        //  EAGAIN: nothing new since the last call.
    }
    pthread_mutex_lock(&self->sync_lock);
    int failed = self->sync_errno;
    *generation = self->gen_durable;
    *top_delivery = self->top_durable;
    pthread_mutex_unlock(&self->sync_lock);
    return failed ? s_sync_failed(self, err, failed) : 0;
}

int lt_store_sync(lt_store_t *self, lt_err_t *err)
{
    assert(self);
    if (!self->pipelined)
        return 0;
    pthread_mutex_lock(&self->sync_lock);
    uint64_t want = self->gen_committed;
    while (self->gen_durable < want && !self->sync_errno) {
        if (self->syncing)   //  the syncer's sync may not cover want: wait, then see
            pthread_cond_wait(&self->durable_cond, &self->sync_lock);
        else
            s_sync_once(self, false);
    }
    int failed = self->sync_errno;
    pthread_mutex_unlock(&self->sync_lock);
    return failed ? s_sync_failed(self, err, failed) : 0;
}

//  Add signed deltas kept in the pending counters to the committed ones.
static void s_apply_pending(lt_store_t *self)
{
    uint64_t *to = (uint64_t *) &self->counts;
    const uint64_t *delta = (const uint64_t *) &self->pending;
    for (size_t i = 0; i < sizeof(self->counts) / sizeof(uint64_t); i++)
        to[i] += delta[i];   //  unsigned wrap-around makes negative deltas work
    memset(&self->pending, 0, sizeof(self->pending));
}

int lt_store_commit(lt_store_t *self, lt_err_t *err)
{
    assert(self);
    assert(self->in_batch);
    if (self->group_lost) {   //  a publish's store error rolled the group back
        lt_store_rollback(self);
        self->group_lost = false;
        self->full = self->group_lost_full;
        lt_err_set(err, LT_ESTORE, "store %s: %s (the group was rolled back)", self->path,
                   self->group_lost_full ? "disk full, retry later" : self->group_lost_why);
        return -1;
    }
    //  The batch's ledger_sum moves, one statement per line, then the commit.
    if (self->ledger && lt_ledger_flush(self->ledger, err)) {
        self->full = (sqlite3_errcode(self->db) & 0xff) == SQLITE_FULL;
        if (self->full)
            lt_err_set(err, LT_ESTORE, "store %s: disk full, retry later (ledger sums)",
                       self->path);
        lt_store_rollback(self);
        return -1;
    }
    //  Pipelined: the highest delivery id this commit makes visible, so
    //  that the caller delivers nothing above it before it is durable.
    uint64_t top = 0;
    if (self->pipelined) {
        sqlite3_stmt *stmt = self->stmt[Q_TOP_DELIVERY];
        if (sqlite3_step(stmt) == SQLITE_ROW)
            top = (uint64_t) sqlite3_column_int64(stmt, 0);
        sqlite3_reset(stmt);
    }
    //  The group's payload records are on disk before the commit that
    //  references them.
    if (s_segments_sync(self, err) || s_run(self, Q_COMMIT, err)) {
        lt_store_rollback(self);
        return -1;
    }
    s_committed(self, top);
    lt_segments_settle(self->segs);
    self->in_batch = false;
    self->full = false;
    s_apply_pending(self);
    return 0;
}

void lt_store_rollback(lt_store_t *self)
{
    assert(self);
    if (self->in_batch) {
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
        //  The batch's changes to the lanes went with it.
        lt_err_t err;
        if (self->lanes && s_lanes_load(self, &err))
            lt_log_error("event=store_error op=lanes reason=\"%s\"", err.detail);
    }
    if (self->segs)
        lt_segments_rollback(self->segs);   //  its records are unreferenced
    if (self->ledger) {
        lt_ledger_forget(self->ledger);   //  its cached last row may be gone
        lt_ledger_discard(self->ledger);  //  and the batch's ledger_sum moves are
    }
    self->in_batch = false;
    self->next_message = 0;   //  its rows are gone: the next row number is read again
    memset(&self->pending, 0, sizeof(self->pending));
}

//  Reset a statement for reuse after a query.
static void s_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

//  FNV-1a 64 of the business key: the lane of a delivery. A collision only
//  orders two unrelated keys, which is harmless.
static int64_t s_lane(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (int64_t) (h >> 1);
}

//  True when rcpt, a destination's recipients joined by ',', is every
//  recipient of the envelope in order: the delivery's row then keeps ""
//  (nothing to narrow), and the relay sends the stored envelope as it is
//  (lt_store_set_packed_rows).
static bool s_rcpt_all(const lt_envelope_t *envelope, const char *rcpt)
{
    size_t count = lt_envelope_recipients(envelope);
    if (count == 0 || !*rcpt)
        return false;
    for (size_t i = 0; i < count; i++) {
        const char *code = lt_envelope_recipient(envelope, i);
        size_t len = strlen(code);
        if (strncmp(rcpt, code, len) != 0 || rcpt[len] != (i + 1 < count ? ',' : 0))
            return false;
        rcpt += len + 1;
    }
    return true;
}

//  Look up a dedup key; returns 1 and fills msgid when a message has it, 0
//  when none does, -1 with err on a store failure.
static int s_find_duplicate(lt_store_t *self, const char *dedup, char msgid[40], lt_err_t *err)
{
    sqlite3_stmt *find = self->stmt[Q_FIND_DEDUP];
    sqlite3_bind_text(find, 1, dedup, -1, SQLITE_STATIC);
    int step = sqlite3_step(find);
    if (step == SQLITE_ROW)
        snprintf(msgid, 40, "%s", (const char *) sqlite3_column_text(find, 0));
    s_reset(find);
    if (step == SQLITE_ROW)
        return 1;
    if (step != SQLITE_DONE)
        return s_fail(self, err, "cannot look up the dedup key");
    return 0;
}

lt_envelope_t *lt_store_document(lt_store_t *self, const char *key)
{
    assert(self && key);
    sqlite3_stmt *stmt = self->stmt[Q_FIND_DOCUMENT];
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    lt_envelope_t *env = NULL;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        lt_err_t err;
        env = lt_envelope_decode(sqlite3_column_blob(stmt, 0),
                                 (size_t) sqlite3_column_bytes(stmt, 0), &err);
    }
    s_reset(stmt);
    return env;
}

//  A new document may not reuse a DocumentId already stored with other
//  content (the same content was caught as a duplicate before): -1 with
//  LT_EINVAL naming the conflict, 0 when the DocumentId is free.
static int s_check_conflict(lt_store_t *self, const lt_envelope_t *envelope, lt_err_t *err)
{
    if (lt_envelope_kind(envelope) != LT_KIND_DOCUMENT ||
        strcmp(lt_envelope_btype(envelope), "new") != 0)
        return 0;
    lt_envelope_t *first = lt_store_document(self, lt_envelope_key(envelope));
    //  The same content is a duplicate, found by the insert's dedup key.
    if (!first || strcmp(lt_envelope_sha256(first), lt_envelope_sha256(envelope)) == 0) {
        lt_envelope_destroy(&first);
        return 0;
    }
    lt_err_set(err, LT_EINVAL,
               "DocumentId '%.300s' conflict: already stored as message %s with other content "
               "(sha256 %.16s..., this one %.16s...); send a changed document as an update or "
               "a replacement",
               lt_envelope_key(envelope), lt_envelope_id(first), lt_envelope_sha256(first),
               lt_envelope_sha256(envelope));
    lt_envelope_destroy(&first);
    return -1;
}

//  Return true when the message is a follow-up whose document is not stored
//  yet, or a progress step whose dossier is not, so its deliveries are held.
static bool s_must_hold(lt_store_t *self, const lt_envelope_t *envelope)
{
    if (self->hold_ms <= 0)
        return false;
    const char *dossier = lt_follow_dossier(envelope);
    if (dossier) {
        sqlite3_stmt *find = self->stmt[Q_FIND_DOSSIER];
        sqlite3_bind_text(find, 1, dossier, -1, SQLITE_STATIC);
        bool known = sqlite3_step(find) == SQLITE_ROW;
        s_reset(find);
        return !known;
    }
    const char *document = lt_follow_document(envelope);
    if (!document)
        return false;
    lt_envelope_t *known = lt_store_document(self, document);
    bool hold = known == NULL;
    lt_envelope_destroy(&known);
    return hold;
}

//  A document was stored: its held follow-ups become READY, renumbered
//  after the document's own deliveries so that they stay behind it in
//  their lane. -1 with err on failure.
static int s_release_held(lt_store_t *self, const char *key, int64_t now, lt_err_t *err)
{
    uint64_t ids[256];
    size_t count = 0;
    sqlite3_stmt *find = self->stmt[Q_HELD_FOR];
    sqlite3_bind_int64(find, 1, s_lane(key));
    sqlite3_bind_text(find, 2, key, -1, SQLITE_STATIC);
    int step;
    while (count < 256 && (step = sqlite3_step(find)) == SQLITE_ROW)
        ids[count++] = (uint64_t) sqlite3_column_int64(find, 0);
    s_reset(find);
    sqlite3_stmt *move = self->stmt[Q_RENUMBER];
    for (size_t i = 0; i < count; i++) {
        //  It goes after everything stored so far, in its lane under its
        //  new id.
        uint64_t lane_key = s_lane_key_of(self, ids[i]);
        int64_t renumbered = s_top_delivery(self) + 1;
        sqlite3_bind_int64(move, 1, (int64_t) ids[i]);
        sqlite3_bind_int64(move, 2, now);
        sqlite3_bind_int64(move, 3, renumbered);
        step = sqlite3_step(move);
        s_reset(move);
        if (step != SQLITE_DONE)
            return s_fail(self, err, "cannot release a held delivery");
        if (lane_key) {
            lt_lanes_remove(self->lanes, lane_key, ids[i]);
            if (lt_lanes_add(self->lanes, lane_key, (uint64_t) renumbered))
                return lt_err_set(err, LT_ENOMEM, "store: out of memory for the lanes"), -1;
        }
        self->pending.held--;
        self->pending.ready++;
        self->released++;
    }
    return 0;
}

//  The rows of one publish (message, deliveries, dedup key). Every check
//  that can refuse the message runs before its first write (put_wrote).
static int s_put_rows(lt_store_t *self, lt_envelope_t *envelope, const void *payload,
                      size_t size, const char *const *dests, const char *const *dest_rcpts,
                      size_t dest_count, bool *duplicate, char msgid[40], lt_err_t *err)
{
    assert(self && envelope && duplicate && msgid);
    assert(self->in_batch);
    *duplicate = false;
    self->released = 0;
    //  Message ids are the broker's: what a publisher wrote is never trusted
    //  (two different messages under one id would be merged downstream).
    //  The id names the row the message is about to take (s_msgid_tail).
    if (self->next_message <= 0)
        self->next_message = s_last_message(self) + 1;
    char id[LT_ID_LEN + 1];
    lt_id_make(id, s_msgid_tail(self, self->next_message));
    lt_envelope_set_id(envelope, id);
    char *legacy = lt_envelope_dedup_key(envelope);
    size_t legacy_len = legacy ? strlen(legacy) : 0;
    char *dedup = legacy ? malloc(legacy_len + 66) : NULL;
    if (!dedup) {
        free(legacy);
        return lt_err_set(err, LT_ENOMEM, "store: out of memory"), -1;
    }
    //  Documents and statuses are deduplicated by content too; the other
    //  kinds name their own identity in the key (a register entry, a
    //  dossier's MaHoSo and revision, a report's idempotency key).
    lt_kind_t kind = lt_envelope_kind(envelope);
    memcpy(dedup, legacy, legacy_len + 1);
    if (kind == LT_KIND_DOCUMENT || kind == LT_KIND_STATUS) {   //  key|sha256 (64 at most)
        const char *sha256 = lt_envelope_sha256(envelope);
        size_t sha_len = strnlen(sha256, 64);
        dedup[legacy_len] = '|';
        memcpy(dedup + legacy_len + 1, sha256, sha_len);
        dedup[legacy_len + 1 + sha_len] = 0;
    }
    int64_t now = lt_time_ms();
    lt_envelope_set_received(envelope, now);
    uint8_t *blob = NULL;
    size_t blob_size = 0;
    //  Content dedup: the dedup key ends with the payload digest, so the
    //  insert below finds the same content; rows stored before content
    //  dedup (key without digest) still match on the key alone.
    int rc = self->legacy_dedup ? s_find_duplicate(self, legacy, msgid, err) : 0;
    if (rc != 0) {
        *duplicate = rc == 1;
        rc = rc == 1 ? 0 : -1;
        goto done;
    }
    rc = -1;
    if (s_check_conflict(self, envelope, err))
        goto done;
    if (lt_envelope_encode(envelope, &blob, &blob_size)) {
        lt_err_set(err, LT_ENOMEM, "store: cannot encode envelope");
        goto done;
    }
    const char *lane_key = lt_follow_lane(envelope);
    //  A large payload goes to the group's segment record, the row keeps
    //  where it lies; a small one stays inline (store/inline_max).
    if (size > self->inline_max) {
        if (lt_segments_append(self->segs, payload, size, &self->put_ref, err))
            goto done;
        self->put_appended = true;
    }
    sqlite3_stmt *ins = self->stmt[Q_INSERT_MESSAGE];
    self->put_wrote = true;
    sqlite3_bind_text(ins, 1, lt_envelope_id(envelope), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, dedup, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 3, (int) lt_envelope_kind(envelope));
    sqlite3_bind_text(ins, 4, lt_envelope_key(envelope), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, lt_envelope_source(envelope), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 6, now);
    sqlite3_bind_blob64(ins, 7, blob, blob_size, SQLITE_STATIC);
    sqlite3_bind_text(ins, 9, lt_envelope_btype(envelope), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 10, lane_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 14, self->next_message);
    if (self->put_appended) {
        sqlite3_bind_blob(ins, 8, "", 0, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 11, self->put_ref.seg);
        sqlite3_bind_int64(ins, 12, (int64_t) self->put_ref.offset);
        sqlite3_bind_int64(ins, 13, self->put_ref.size);
    }
    else
        sqlite3_bind_blob64(ins, 8, size ? payload : "", size, SQLITE_STATIC);
    int step = sqlite3_step(ins);
    s_reset(ins);
    if (step != SQLITE_DONE) {
        s_fail(self, err, "cannot insert message");
        goto done;
    }
    if (sqlite3_changes(self->db) == 0) {
        if (self->put_appended) {   //  nothing refers to the record
            lt_segments_undo(self->segs, &self->put_ref);
            self->put_appended = false;
        }
        //  The same message is stored: answer with the first one's id.
        int found = s_find_duplicate(self, dedup, msgid, err);
        if (found == 1) {
            *duplicate = true;
            rc = 0;
        }
        else if (found == 0)
            lt_err_set(err, LT_ESTORE, "store %s: dedup key vanished", self->path);
        goto done;
    }
    int64_t message = self->next_message++;
    self->put_message = message;
    int64_t lane = s_lane(lane_key);
    bool hold = s_must_hold(self, envelope);
    sqlite3_stmt *del = self->stmt[Q_INSERT_DELIVERY];
    for (size_t i = 0; i < dest_count; i++) {
        sqlite3_bind_int64(del, 1, message);
        sqlite3_bind_text(del, 2, dests[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(del, 3, lane);
        const char *rcpt = dest_rcpts && dest_rcpts[i] ? dest_rcpts[i] : "";
        sqlite3_bind_text(del, 4, s_rcpt_all(envelope, rcpt) ? "" : rcpt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(del, 5, now);
        sqlite3_bind_int(del, 6, hold ? LT_DELIVERY_HELD : LT_DELIVERY_READY);
        sqlite3_bind_int64(del, 7, hold ? now + self->hold_ms : 0);
        step = sqlite3_step(del);
        s_reset(del);
        if (step != SQLITE_DONE) {
            s_fail(self, err, "cannot insert delivery");
            goto done;
        }
        if (lt_lanes_add(self->lanes, lt_lanes_key(dests[i], lane),
                         (uint64_t) sqlite3_last_insert_rowid(self->db))) {
            lt_err_set(err, LT_ENOMEM, "store: out of memory for the lanes");
            goto done;
        }
        if (hold)
            self->pending.held++;
        else
            self->pending.ready++;
    }
    self->pending.messages++;
    snprintf(msgid, 40, "%s", lt_envelope_id(envelope));
    rc = 0;
done:
    free(blob);
    free(dedup);
    free(legacy);
    return rc;
}

void lt_store_set_hold(lt_store_t *self, int64_t hold_ms)
{
    assert(self);
    self->hold_ms = hold_ms > 0 ? hold_ms : 0;
}

size_t lt_store_released(const lt_store_t *self)
{
    assert(self);
    return self->released;
}

bool lt_store_full(const lt_store_t *self)
{
    assert(self);
    return self->full;
}
//  ---- begin: publish all-or-nothing, and the ledger hook ----
//  Run a prepared statement with one integer parameter and no result.
static int s_step_id(lt_store_t *self, s_query_t q, int64_t id)
{
    sqlite3_stmt *stmt = self->stmt[q];
    sqlite3_bind_int64(stmt, 1, id);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE ? 0 : -1;
}

//  Take back the rows of a publish refused after its insert (the ledger
//  refused its events): its deliveries, then its message row, which frees
//  its dedup key. Nothing else wrote since. 0, or -1 on a store error.
static int s_unput(lt_store_t *self)
{
    if (!self->put_message)
        return 0;
    sqlite3_stmt *stmt = self->stmt[Q_PUT_DELIVERIES];
    sqlite3_bind_int64(stmt, 1, self->put_message);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW)   //  each leaves its lane
        lt_lanes_remove(self->lanes, s_lane_key(stmt, 1),
                        (uint64_t) sqlite3_column_int64(stmt, 0));
    s_reset(stmt);
    if (step != SQLITE_DONE || s_step_id(self, Q_UNPUT_DELIVERIES, self->put_message) ||
        s_step_id(self, Q_UNPUT_MESSAGE, self->put_message))
        return -1;
    self->put_message = 0;
    return 0;
}

//  A store error in the middle of a publish's writes: roll the whole group
//  back (SQLite may already have), keep why, and open a new transaction
//  that lt_store_commit discards, so the caller's later writes of this
//  round are lost with the group instead of committing on their own.
static void s_lose_group(lt_store_t *self, const lt_err_t *cause)
{
    if (!self->group_lost) {
        self->group_lost_full = (sqlite3_errcode(self->db) & 0xff) == SQLITE_FULL;
        snprintf(self->group_lost_why, sizeof(self->group_lost_why), "%s",
                 cause && *cause->detail ? cause->detail : sqlite3_errmsg(self->db));
    }
    self->group_lost = true;
    lt_store_rollback(self);
    s_exec(self, "BEGIN IMMEDIATE", NULL);
    self->in_batch = true;
}

//  A publish's rows, deliveries, dedup key and ledger events are written
//  together or not at all, without a savepoint (its statement journal cost
//  about 8 us of CPU per 1 KiB message): every check that can refuse the
//  message runs before its first write, a refusal after it (the ledger's)
//  deletes the two rows again, and a store error in the middle rolls the
//  whole group back (lt_store_commit then fails and every publisher of the
//  group is told to retry), so nothing is ever half-written.
int lt_store_put(lt_store_t *self, lt_envelope_t *envelope, const void *payload, size_t size,
                 const char *const *dests, const char *const *dest_rcpts, size_t dest_count,
                 bool *duplicate, char msgid[40], lt_err_t *err)
{
    assert(self && envelope && duplicate && msgid);
    assert(self->in_batch);
    *duplicate = false;
    if (self->group_lost)
        return lt_err_set(err, LT_ESTORE, "store %s: %s; retry", self->path,
                          self->group_lost_full ? "disk full" : "store error in this group"),
               -1;
    lt_store_counts_t pending = self->pending;
    self->put_appended = false;
    self->put_wrote = false;
    self->put_message = 0;
    int rc = s_put_rows(self, envelope, payload, size, dests, dest_rcpts, dest_count, duplicate,
                        msgid, err);
    bool refused = rc != 0 && err->code != LT_ESTORE && err->code != LT_ENOMEM;
    if (rc == 0 && !*duplicate && self->ledger) {
        rc = lt_ledger_record(self->ledger, envelope, payload, size, dest_rcpts, dest_count, err);
        refused = rc != 0 && err->code != LT_ESTORE && err->code != LT_ENOMEM;
    }
    //  A document lets go of the follow-ups that were waiting for it, a
    //  dossier record of the progress steps.
    if (rc == 0 && !*duplicate &&
        (lt_follow_is_document(envelope) || lt_follow_is_dossier(envelope)) &&
        self->counts.held + self->pending.held > 0)
        rc = s_release_held(self, lt_envelope_key(envelope), lt_envelope_received(envelope),
                            err);
    if (rc == 0) {
        if (self->ledger)
            lt_ledger_keep(self->ledger);
        return 0;
    }
    if (self->ledger)
        lt_ledger_forget(self->ledger);
    *duplicate = false;
    bool alive = sqlite3_get_autocommit(self->db) == 0;
    if (alive && (!self->put_wrote || (refused && s_unput(self) == 0))) {
        if (self->put_appended)   //  its payload record goes with it
            lt_segments_undo(self->segs, &self->put_ref);
        self->put_appended = false;
        self->pending = pending;
        return -1;
    }
    s_lose_group(self, err);
    if (refused)   //  the refusal stands; the store error is the group's
        return -1;
    return lt_err_set(err, LT_ESTORE, "store %s: %.300s; the group is rolled back, retry",
                      self->path, self->group_lost_full ? "disk full" : self->group_lost_why),
           -1;
}

lt_ledger_t *lt_store_ledger(lt_store_t *self)
{
    assert(self);
    return self->ledger;
}
//  ---- end: publish all-or-nothing, and the ledger hook ----

int lt_store_reject(lt_store_t *self, const char *source, lt_error_t code, const char *reason,
                    const lt_envelope_t *envelope, const void *data, size_t size, lt_err_t *err)
{
    assert(self);
    assert(self->in_batch);
    uint8_t *blob = NULL;
    size_t blob_size = 0;
    if (envelope && lt_envelope_encode(envelope, &blob, &blob_size))
        blob = NULL;   //  kept without its envelope rather than not at all
    sqlite3_stmt *stmt = self->stmt[Q_INSERT_REJECT];
    sqlite3_bind_int64(stmt, 1, lt_time_ms());
    sqlite3_bind_text(stmt, 2, source ? source : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, (int) code);
    sqlite3_bind_text(stmt, 4, reason ? reason : "", -1, SQLITE_STATIC);
    if (data)
        sqlite3_bind_blob64(stmt, 5, size ? data : "", size, SQLITE_STATIC);
    if (blob)
        sqlite3_bind_blob64(stmt, 6, blob, blob_size, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    free(blob);
    if (step != SQLITE_DONE)
        return s_fail(self, err, "cannot keep rejected input");
    self->pending.rejects++;
    return 0;
}

void lt_store_reject_destroy(lt_store_reject_t **reject_p)
{
    assert(reject_p);
    lt_store_reject_t *reject = *reject_p;
    if (!reject)
        return;
    free(reject->reason);
    free(reject->data);
    lt_envelope_destroy(&reject->envelope);
    free(reject);
    *reject_p = NULL;
}

//  Build a rejected input from the current result of stmt (Q_LIST_REJECTS
//  columns, then the data if with_data). NULL on no memory.
static lt_store_reject_t *s_reject_row(sqlite3_stmt *stmt, bool with_data)
{
    lt_store_reject_t *reject = calloc(1, sizeof(*reject));
    if (!reject)
        return NULL;
    reject->id = (uint64_t) sqlite3_column_int64(stmt, 0);
    reject->at = sqlite3_column_int64(stmt, 1);
    const char *text = (const char *) sqlite3_column_text(stmt, 2);
    snprintf(reject->source, sizeof(reject->source), "%s", text ? text : "");
    reject->code = (lt_error_t) sqlite3_column_int(stmt, 3);
    text = (const char *) sqlite3_column_text(stmt, 4);
    reject->reason = strdup(text ? text : "");
    if (sqlite3_column_type(stmt, 5) == SQLITE_BLOB) {
        lt_err_t err;
        reject->envelope = lt_envelope_decode(sqlite3_column_blob(stmt, 5),
                                              (size_t) sqlite3_column_bytes(stmt, 5), &err);
    }
    text = (const char *) sqlite3_column_text(stmt, 6);
    snprintf(reject->replayed, sizeof(reject->replayed), "%s", text ? text : "");
    if (with_data) {
        reject->size = (size_t) sqlite3_column_bytes(stmt, 7);
        reject->data = malloc(reject->size ? reject->size : 1);
        if (reject->data && reject->size)
            memcpy(reject->data, sqlite3_column_blob(stmt, 7), reject->size);
    }
    if (!reject->reason || (with_data && !reject->data))
        lt_store_reject_destroy(&reject);
    return reject;
}

int lt_store_list_rejects(lt_store_t *self, uint32_t limit, lt_store_reject_fn *fn, void *arg,
                          lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = self->stmt[Q_LIST_REJECTS];
    sqlite3_bind_int(stmt, 1, (int) limit);
    int rc = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        lt_store_reject_t *reject = s_reject_row(stmt, false);
        if (!reject) {
            lt_err_set(err, LT_ENOMEM, "store: out of memory");
            rc = -1;
            break;
        }
        if (fn(arg, reject))
            break;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = s_fail(self, err, "cannot list rejected inputs");
    s_reset(stmt);
    return rc;
}

lt_store_reject_t *lt_store_get_reject(lt_store_t *self, uint64_t id, bool with_payload)
{
    assert(self);
    sqlite3_stmt *stmt = self->stmt[Q_GET_REJECT];
    sqlite3_bind_int64(stmt, 1, (int64_t) id);
    lt_store_reject_t *reject = NULL;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        reject = s_reject_row(stmt, with_payload);
    s_reset(stmt);
    return reject;
}

int lt_store_reject_replayed(lt_store_t *self, uint64_t id, const char *msgid, lt_err_t *err)
{
    assert(self && msgid);
    assert(self->in_batch);
    sqlite3_stmt *stmt = self->stmt[Q_REJECT_REPLAYED];
    sqlite3_bind_int64(stmt, 1, (int64_t) id);
    sqlite3_bind_text(stmt, 2, msgid, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "cannot mark a rejected input replayed");
}

void lt_store_row_destroy(lt_store_row_t **row_p)
{
    assert(row_p);
    lt_store_row_t *row = *row_p;
    if (!row)
        return;
    free(row->errors);
    free(row->payload);
    free(row->payload_error);
    lt_envelope_destroy(&row->envelope);
    free(row->packed);
    free(row);
    *row_p = NULL;
}

//  Copy text column col of stmt into buf, cut to its size.
static void s_text_col(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    size_t len = text ? (size_t) sqlite3_column_bytes(stmt, col) : 0;
    if (len >= size)
        len = size - 1;
    if (len)
        memcpy(buf, text, len);
    buf[len] = 0;
}

//  Build a row from the current result of stmt (columns S_ROW_COLUMNS,
//  then the payload if with_payload). packed: an envelope that needs no
//  narrowing is handed as stored (row->packed), not decoded, on a first
//  attempt. A stored envelope that does not decode gives a blank one and
//  row->payload_error LT_STORE_ENVELOPE_UNREADABLE "...", without the payload.
//  NULL when out of memory.
static lt_store_row_t *s_row(lt_store_t *self, sqlite3_stmt *stmt, bool with_payload,
                             bool packed)
{
    lt_store_row_t *row = calloc(1, sizeof(*row));
    if (!row)
        return NULL;
    row->delivery = (uint64_t) sqlite3_column_int64(stmt, 0);
    row->message = (uint64_t) sqlite3_column_int64(stmt, 1);
    s_text_col(stmt, 2, row->dest, sizeof(row->dest));
    const char *dest = (const char *) sqlite3_column_text(stmt, 2);
    row->lane_key = lt_lanes_key(dest ? dest : "", sqlite3_column_int64(stmt, S_COL_LANE));
    row->state = (lt_delivery_state_t) sqlite3_column_int(stmt, 3);
    row->attempts = (uint32_t) sqlite3_column_int(stmt, 4);
    row->next_at = sqlite3_column_int64(stmt, 5);
    row->created_at = sqlite3_column_int64(stmt, 6);
    if (sqlite3_column_type(stmt, 7) != SQLITE_NULL)
        row->errors = strdup((const char *) sqlite3_column_text(stmt, 7));
    s_text_col(stmt, 9, row->msgid, sizeof(row->msgid));
    const char *rcpt = (const char *) sqlite3_column_text(stmt, 8);
    const void *blob = sqlite3_column_blob(stmt, 10);
    size_t blob_size = (size_t) sqlite3_column_bytes(stmt, 10);
    lt_err_t err;
    if (packed && row->attempts == 0 && !(rcpt && *rcpt) &&
        lt_ltp_packed_map(blob, (size_t) blob_size)) {
        //  The bytes go to the connector as they are; decoding them only to
        //  pack them again cost about a tenth of the relay thread at full
        //  speed. Only a first attempt trusts them: a map that is no
        //  envelope (damage on disk) fails at the connector, and its retry
        //  is decoded here and found.
        if (!(row->packed = malloc(blob_size)))
            goto fail;
        memcpy(row->packed, blob, blob_size);
        row->packed_size = blob_size;
    }
    else if (!(row->envelope = lt_envelope_decode(blob, blob_size, &err))) {
        //  Damaged on disk: the row is still handed out, so that a scan does
        //  not stop at it for good (holding its destination) and a listing
        //  shows it; the relay moves it to the dead letters with the reason.
        if (err.code == LT_ENOMEM || !(row->envelope = lt_envelope_new()))
            goto fail;
        const char *detail = err.detail;
        if (strncmp(detail, "envelope: ", 10) == 0)
            detail += 10;
        char why[sizeof(err.detail) + 32];
        snprintf(why, sizeof(why), LT_STORE_ENVELOPE_UNREADABLE "%s", detail);
        if (!(row->payload_error = strdup(why)))
            goto fail;
        self->payload_errors++;
        return row;
    }
    //  Narrow the recipients to those routed to this destination.
    if (row->envelope && rcpt && *rcpt) {
        lt_envelope_clear_recipients(row->envelope);
        char *list = strdup(rcpt);
        if (!list)
            goto fail;
        char *save = NULL;
        for (char *code = strtok_r(list, ",", &save); code; code = strtok_r(NULL, ",", &save))
            lt_envelope_add_recipient(row->envelope, code);
        free(list);
    }
    if (with_payload && sqlite3_column_type(stmt, S_COL_SEG) != SQLITE_NULL) {
        //  In a segment: a missing or damaged record leaves the payload
        //  NULL and says why, so the caller can dead-letter the delivery.
        lt_seg_ref_t ref = {.seg = (uint32_t) sqlite3_column_int64(stmt, S_COL_SEG),
                            .offset = (uint64_t) sqlite3_column_int64(stmt, S_COL_SEG + 1),
                            .size = (uint32_t) sqlite3_column_int64(stmt, S_COL_SEG + 2)};
        row->payload_size = ref.size;
        if (lt_segments_read(self->segs, &ref, &row->payload, &err)) {
            if (err.code == LT_ENOMEM)
                goto fail;
            self->payload_errors++;
            row->payload_size = 0;
            if (!(row->payload_error = strdup(err.detail)))
                goto fail;
        }
    }
    else if (with_payload) {
        row->payload_size = (size_t) sqlite3_column_bytes(stmt, S_COL_PAYLOAD);
        row->payload = malloc(row->payload_size ? row->payload_size : 1);
        if (!row->payload)
            goto fail;
        if (row->payload_size)
            memcpy(row->payload, sqlite3_column_blob(stmt, S_COL_PAYLOAD), row->payload_size);
    }
    return row;
fail:
    lt_store_row_destroy(&row);
    return NULL;
}

//  Step a bound query and hand each row to fn; resets the statement.
static int s_yield(lt_store_t *self, sqlite3_stmt *stmt, bool with_payload, lt_store_row_fn *fn,
                   void *arg, lt_err_t *err)
{
    int rc = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        lt_store_row_t *row = s_row(self, stmt, with_payload, with_payload && self->packed_rows);
        if (!row) {
            lt_err_set(err, LT_ESTORE, "store %s: unreadable delivery %lld", self->path,
                       (long long) sqlite3_column_int64(stmt, 0));
            rc = -1;
            break;
        }
        if (fn(arg, row))
            break;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = s_fail(self, err, "query failed");
    s_reset(stmt);
    return rc;
}

int lt_store_scan_ready(lt_store_t *self, const char *dest, uint64_t after, uint32_t limit,
                        lt_store_row_fn *fn, void *arg, lt_err_t *err)
{
    assert(self && dest && fn);
    sqlite3_stmt *stmt = self->stmt[Q_SCAN_READY];
    sqlite3_bind_text(stmt, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (int64_t) after);
    sqlite3_bind_int(stmt, 3, (int) limit);
    return s_yield(self, stmt, true, fn, arg, err);
}

int lt_store_scan_due(lt_store_t *self, const char *dest, int64_t now, uint32_t limit,
                      lt_store_row_fn *fn, void *arg, lt_err_t *err)
{
    assert(self && dest && fn);
    sqlite3_stmt *stmt = self->stmt[Q_SCAN_DUE];
    sqlite3_bind_text(stmt, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now);
    sqlite3_bind_int(stmt, 3, (int) limit);
    return s_yield(self, stmt, true, fn, arg, err);
}

int64_t lt_store_next_due(lt_store_t *self, const char *dest)
{
    assert(self && dest);
    sqlite3_stmt *stmt = self->stmt[Q_NEXT_DUE];
    sqlite3_bind_text(stmt, 1, dest, -1, SQLITE_STATIC);
    int64_t at = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        at = sqlite3_column_int64(stmt, 0);
    s_reset(stmt);
    return at;
}

lt_store_row_t *lt_store_get(lt_store_t *self, uint64_t delivery, bool with_payload)
{
    assert(self);
    sqlite3_stmt *stmt = self->stmt[with_payload ? Q_GET_PAYLOAD : Q_GET];
    sqlite3_bind_int64(stmt, 1, (int64_t) delivery);
    lt_store_row_t *row = NULL;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        row = s_row(self, stmt, with_payload, false);
    s_reset(stmt);
    return row;
}

//  Move a delivery's counter from its old state to its new one.
static void s_count_move(lt_store_t *self, int from, lt_delivery_state_t to)
{
    uint64_t *slot[] = {[LT_DELIVERY_READY] = &self->pending.ready,
                        [LT_DELIVERY_DONE] = &self->pending.done,
                        [LT_DELIVERY_WAITING] = &self->pending.waiting,
                        [LT_DELIVERY_DEAD] = &self->pending.dead,
                        [LT_DELIVERY_HELD] = &self->pending.held,
                        [LT_DELIVERY_DISCARDED] = &self->pending.discarded};
    if (from >= 0 && from <= LT_DELIVERY_DISCARDED)
        (*slot[from])--;
    (*slot[to])++;
}

//  Run one of the state-changing updates; returns 1 if a row changed, 0 if
//  the delivery was not in a state the update applies to, -1 on error.
static int s_update(lt_store_t *self, s_query_t q, uint64_t delivery, const char *reason,
                    int64_t next_at, lt_delivery_state_t to, uint64_t lane_key, lt_err_t *err)
{
    assert(self->in_batch);
    //  The states the update applies to, each tried in turn (the first is
    //  the usual one), so that the state it changed is known without
    //  reading the row first.
    static const int ready_waiting[] = {LT_DELIVERY_READY, LT_DELIVERY_WAITING};
    static const int dead[] = {LT_DELIVERY_DEAD};
    static const int held[] = {LT_DELIVERY_HELD};
    const int *from = ready_waiting;
    size_t froms = 2;
    if (q == Q_SET_REPLAY || q == Q_SET_DISCARD)
        from = dead, froms = 1;
    else if (q == Q_UNHOLD)
        from = held, froms = 1;
    sqlite3_stmt *stmt = self->stmt[q];
    int64_t now = lt_time_ms();
    //  DONE and discard finish the delivery: its lane is the caller's (the
    //  row it was read in) or read first.
    bool finishes = q == Q_SET_DONE || q == Q_SET_DISCARD;
    uint64_t key = finishes ? (lane_key ? lane_key : s_lane_key_of(self, delivery)) : 0;
    for (size_t i = 0; i < froms; i++) {
        sqlite3_bind_int64(stmt, 1, (int64_t) delivery);
        switch (q) {
        case Q_SET_RETRY:
            sqlite3_bind_text(stmt, 2, reason ? reason : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 3, next_at);
            sqlite3_bind_int64(stmt, 4, now);
            break;
        case Q_SET_DEAD:
            sqlite3_bind_text(stmt, 2, reason ? reason : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 3, now);
            break;
        default:
            sqlite3_bind_int64(stmt, 2, now);
            break;
        }
        if (froms > 1)
            sqlite3_bind_int(stmt, 9, from[i]);
        int step = sqlite3_step(stmt);
        s_reset(stmt);
        if (step != SQLITE_DONE)
            return s_fail(self, err, "cannot update delivery");
        if (sqlite3_changes(self->db) > 0) {
            if (key) {   //  finished: it leaves its lane
                //  A lane given that does not hold it is never trusted: the
                //  row says which does.
                if (!lt_lanes_remove(self->lanes, key, delivery) && lane_key &&
                    (key = s_lane_key_of(self, delivery)))
                    lt_lanes_remove(self->lanes, key, delivery);
                self->gone_id = delivery;
                self->gone_key = key;
            }
            s_count_move(self, from[i], to);
            return 1;
        }
    }
    return 0;
}

int lt_store_done(lt_store_t *self, uint64_t delivery, lt_err_t *err)
{
    return lt_store_done_in_lane(self, delivery, 0, err);
}

int lt_store_done_in_lane(lt_store_t *self, uint64_t delivery, uint64_t lane_key, lt_err_t *err)
{
    assert(self);
    return s_update(self, Q_SET_DONE, delivery, NULL, 0, LT_DELIVERY_DONE, lane_key, err) < 0
               ? -1
               : 0;
}

int lt_store_retry(lt_store_t *self, uint64_t delivery, const char *reason, int64_t next_at,
                   lt_err_t *err)
{
    assert(self);
    return s_update(self, Q_SET_RETRY, delivery, reason, next_at, LT_DELIVERY_WAITING, 0, err) < 0
               ? -1
               : 0;
}

int lt_store_dead(lt_store_t *self, uint64_t delivery, const char *reason, lt_err_t *err)
{
    assert(self);
    return s_update(self, Q_SET_DEAD, delivery, reason, 0, LT_DELIVERY_DEAD, 0, err) < 0 ? -1 : 0;
}

int lt_store_replay(lt_store_t *self, uint64_t delivery, lt_err_t *err)
{
    assert(self);
    int rc = s_update(self, Q_SET_REPLAY, delivery, NULL, 0, LT_DELIVERY_WAITING, 0, err);
    if (rc == 0)
        return lt_err_set(err, LT_ESTATE, "delivery %llu is not a dead letter",
                          (unsigned long long) delivery),
               -1;
    return rc < 0 ? -1 : 0;
}

int lt_store_discard(lt_store_t *self, uint64_t delivery, lt_err_t *err)
{
    assert(self);
    int rc = s_update(self, Q_SET_DISCARD, delivery, NULL, 0, LT_DELIVERY_DISCARDED, 0, err);
    if (rc == 0)
        return lt_err_set(err, LT_ESTATE, "delivery %llu is not a dead letter",
                          (unsigned long long) delivery),
               -1;
    return rc < 0 ? -1 : 0;
}

int lt_store_release_expired(lt_store_t *self, int64_t now, uint32_t limit, lt_store_row_fn *fn,
                             void *arg, lt_err_t *err)
{
    assert(self && fn);
    assert(self->in_batch);
    lt_store_row_t *rows[64];
    size_t count = 0;
    sqlite3_stmt *stmt = self->stmt[Q_HELD_EXPIRED];
    sqlite3_bind_int64(stmt, 1, now);
    sqlite3_bind_int(stmt, 2, (int) (limit < 64 ? limit : 64));
    while (count < 64 && sqlite3_step(stmt) == SQLITE_ROW)
        if ((rows[count] = s_row(self, stmt, false, false)))
            count++;
    s_reset(stmt);
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        if (rc == 0 && s_update(self, Q_UNHOLD, rows[i]->delivery, NULL, 0, LT_DELIVERY_WAITING,
                                0, err) < 0)
            rc = -1;
        if (rc == 0)
            fn(arg, rows[i]);
        else
            lt_store_row_destroy(&rows[i]);
    }
    return rc;
}

typedef struct {
    uint64_t delivery;   //  a delivery of a lane with a dead letter before it
    uint64_t behind;     //  that dead letter
} s_blocked_t;

static int s_blocked_cmp(const void *a, const void *b)
{
    const s_blocked_t *x = a, *y = b;
    if (x->delivery != y->delivery)
        return x->delivery < y->delivery ? -1 : 1;
    return x->behind < y->behind ? -1 : x->behind > y->behind;
}

//  Each dead letter's lane is walked in memory from it; a delivery behind
//  several dead letters is listed once, behind the first.
int lt_store_list_blocked(lt_store_t *self, uint32_t limit, lt_store_row_fn *fn, void *arg,
                          lt_err_t *err)
{
    assert(self && fn);
    s_blocked_t *list = NULL;
    size_t count = 0, alloc = 0;
    int rc = 0, step;
    sqlite3_stmt *stmt = self->stmt[Q_LIST_DEAD_LANES];
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        uint64_t dead = (uint64_t) sqlite3_column_int64(stmt, 0), key = s_lane_key(stmt, 1);
        for (uint64_t d = lt_lanes_next(self->lanes, key, dead); d && rc == 0;
             d = lt_lanes_next(self->lanes, key, d)) {
            if (count == alloc) {
                size_t more = alloc ? alloc * 2 : 64;
                s_blocked_t *grown = realloc(list, more * sizeof(*list));
                if (!grown) {
                    lt_err_set(err, LT_ENOMEM, "store: out of memory");
                    rc = -1;
                    break;
                }
                list = grown;
                alloc = more;
            }
            list[count++] = (s_blocked_t){.delivery = d, .behind = dead};
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = s_fail(self, err, "query failed");
    s_reset(stmt);
    if (rc == 0 && count)
        qsort(list, count, sizeof(*list), s_blocked_cmp);
    uint32_t yielded = 0;
    for (size_t i = 0; rc == 0 && i < count && yielded < limit; i++) {
        if (i > 0 && list[i].delivery == list[i - 1].delivery)
            continue;
        lt_store_row_t *row = lt_store_get(self, list[i].delivery, false);
        if (!row || row->state == LT_DELIVERY_DEAD) {   //  a dead letter is not "blocked"
            lt_store_row_destroy(&row);
            continue;
        }
        row->behind = list[i].behind;
        yielded++;
        if (fn(arg, row))
            break;
    }
    free(list);
    return rc;
}

uint64_t lt_store_lane_next(lt_store_t *self, uint64_t delivery)
{
    assert(self);
    //  Usually asked right after the delivery's DONE, which kept its lane.
    uint64_t key = delivery && delivery == self->gone_id ? self->gone_key
                                                          : s_lane_key_of(self, delivery);
    return key ? lt_lanes_next(self->lanes, key, delivery) : 0;
}

int lt_store_list_dead(lt_store_t *self, uint32_t limit, lt_store_row_fn *fn, void *arg,
                       lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = self->stmt[Q_LIST_DEAD];
    sqlite3_bind_int(stmt, 1, (int) limit);
    return s_yield(self, stmt, false, fn, arg, err);
}

int lt_store_trace(lt_store_t *self, const char *msgid, lt_store_row_fn *fn, void *arg,
                   lt_err_t *err)
{
    assert(self && msgid && fn);
    sqlite3_stmt *stmt = self->stmt[Q_TRACE];
    sqlite3_bind_int64(stmt, 1, s_message_row(self, msgid));
    return s_yield(self, stmt, false, fn, arg, err);
}

int lt_store_counts(lt_store_t *self, const char *dest, lt_store_counts_t *counts)
{
    assert(self && counts);
    if (!dest) {
        *counts = self->counts;
        return 0;
    }
    //  Per destination: counted on demand from the partial indexes.
    static const char *sql[] = {
        "SELECT COUNT(*) FROM deliveries WHERE dest = ?1 AND state = 0",
        "SELECT COUNT(*) FROM deliveries WHERE dest = ?1 AND state = 2",
        "SELECT COUNT(*) FROM deliveries WHERE dest = ?1 AND state = 3",
    };
    uint64_t *out[] = {&counts->ready, &counts->waiting, &counts->dead};
    memset(counts, 0, sizeof(*counts));
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(self->db, sql[i], -1, &stmt, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_text(stmt, 1, dest, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            *out[i] = (uint64_t) sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
    }
    return 0;
}

const char *lt_delivery_state_name(lt_delivery_state_t state)
{
    static const char *names[] = {"ready", "done", "waiting", "dead", "held", "discarded"};
    return (unsigned) state < 6 ? names[state] : "unknown";
}

//  ---------------------------------------------------------------------------
//  Operations: trace by key, size, online backup

int lt_store_trace_key(lt_store_t *self, const char *key, uint32_t limit, lt_store_row_fn *fn,
                       void *arg, lt_err_t *err)
{
    assert(self && key && fn);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT " S_ROW_COLUMNS " FROM deliveries d"
                           " JOIN messages m ON m.id = d.message"
                           " WHERE m.bkey = ?1 ORDER BY d.id LIMIT ?2",
                           -1, &stmt, NULL) != SQLITE_OK)
        return s_fail(self, err, "cannot prepare trace by key");
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, (int) limit);
    int rc = s_yield(self, stmt, false, fn, arg, err);
    sqlite3_finalize(stmt);
    return rc;
}

int64_t lt_store_size(lt_store_t *self)
{
    assert(self);
    int64_t total = 0;
    struct stat st;
    char wal[4096];
    if (stat(self->path, &st) == 0)
        total += (int64_t) st.st_size;
    snprintf(wal, sizeof(wal), "%s-wal", self->path);
    if (stat(wal, &st) == 0)
        total += (int64_t) st.st_size;
    lt_segments_stats_t segs;
    lt_segments_stats(self->segs, &segs);
    return total + segs.bytes;
}

int lt_store_backup_file(const char *src, const char *dest, lt_err_t *err)
{
    assert(src && dest);
    struct stat st;
    if (stat(dest, &st) == 0)
        return lt_err_set(err, LT_ESTATE, "backup: %s already exists", dest), -1;
    sqlite3 *from = NULL, *to = NULL;
    int rc = -1;
    if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        lt_err_set(err, LT_ESTORE, "backup: cannot open %s: %s", src,
                   from ? sqlite3_errmsg(from) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(from, 10000);
    if (sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        lt_err_set(err, LT_ESTORE, "backup: cannot create %s: %s", dest,
                   to ? sqlite3_errmsg(to) : "out of memory");
        goto done;
    }
    //  All pages in one step: one read transaction, so one consistent state
    //  (the writer goes on meanwhile; WAL readers do not block it).
    sqlite3_backup *backup = sqlite3_backup_init(to, "main", from, "main");
    if (!backup) {
        lt_err_set(err, LT_ESTORE, "backup: %s: %s", dest, sqlite3_errmsg(to));
        goto done;
    }
    int step = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (step != SQLITE_DONE) {
        lt_err_set(err, LT_ESTORE, "backup of %s failed: %s", src, sqlite3_errstr(step));
        goto done;
    }
    sqlite3_stmt *check = NULL;
    bool ok = sqlite3_prepare_v2(to, "PRAGMA quick_check", -1, &check, NULL) == SQLITE_OK &&
              sqlite3_step(check) == SQLITE_ROW &&
              strcmp((const char *) sqlite3_column_text(check, 0), "ok") == 0;
    sqlite3_finalize(check);
    if (!ok) {
        lt_err_set(err, LT_ESTORE, "backup %s does not verify (quick_check)", dest);
        goto done;
    }
    rc = 0;
done:
    sqlite3_close(to);
    sqlite3_close(from);
    if (rc)
        unlink(dest);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Payload segments (lt_segments): opened with the store, synced before
//  each commit, deleted by retention once nothing kept refers to them.

//  Open the segment directory next to the database and set its append
//  point after the last record a row refers to.
static int s_segments_open(lt_store_t *self, lt_err_t *err)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s.segments", self->path);
    if (!(self->segs = lt_segments_new(dir, 0, err)))
        return -1;
    self->inline_max = S_INLINE_MAX;
    lt_seg_ref_t last = {0};
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT seg, seg_off, seg_len FROM messages WHERE seg IS NOT NULL"
                           " ORDER BY seg DESC, seg_off DESC LIMIT 1",
                           -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return s_fail(self, err, "cannot find the last payload record");
    }
    if (sqlite3_step(stmt) == SQLITE_ROW)
        last = (lt_seg_ref_t){.seg = (uint32_t) sqlite3_column_int64(stmt, 0),
                              .offset = (uint64_t) sqlite3_column_int64(stmt, 1),
                              .size = (uint32_t) sqlite3_column_int64(stmt, 2)};
    sqlite3_finalize(stmt);
    lt_segments_recover(self->segs, &last);
    return 0;
}

//  Write and sync the group's payload records; a failure (full disk, I/O
//  error) is transient for the broker: the batch is refused, lthubd stays.
static int s_segments_sync(lt_store_t *self, lt_err_t *err)
{
    if (!lt_segments_pending(self->segs))
        return 0;
    int sys_errno = 0;
    if (lt_segments_sync(self->segs, &sys_errno, err) == 0)
        return 0;
    self->full = true;
    return -1;
}

void lt_store_lane_stats(lt_store_t *self, size_t *lanes, size_t *bytes)
{
    assert(self && lanes && bytes);
    *lanes = lt_lanes_count(self->lanes);
    *bytes = lt_lanes_bytes(self->lanes);
}

void lt_store_set_packed_rows(lt_store_t *self, bool packed)
{
    assert(self);
    self->packed_rows = packed;
}

void lt_store_set_inline_max(lt_store_t *self, size_t bytes)
{
    assert(self);
    self->inline_max = bytes;
}

void lt_store_set_segment_size(lt_store_t *self, uint64_t bytes)
{
    assert(self);
    lt_segments_set_size(self->segs, bytes);
}

void lt_store_segment_stats(lt_store_t *self, lt_store_segstats_t *figures)
{
    assert(self && figures);
    lt_segments_stats_t segs;
    lt_segments_stats(self->segs, &segs);
    figures->files = segs.files;
    figures->bytes = segs.bytes;
    figures->first = segs.first;
    figures->current = segs.current;
    figures->reads_hot = segs.reads_hot;
    figures->reads_disk = segs.reads_disk;
    figures->payload_errors = self->payload_errors;
    figures->deleted = self->segs_deleted;
}

//  ---------------------------------------------------------------------------
//  Self-test

typedef struct {
    uint64_t ids[64];   //  delivery ids seen
    char keys[64][64];  //  business keys seen
    size_t count;       //  rows seen
} s_seen_t;

static int s_collect(void *arg, lt_store_row_t *row)
{
    s_seen_t *seen = arg;
    if (seen->count < 64) {
        seen->ids[seen->count] = row->delivery;
        snprintf(seen->keys[seen->count], 64, "%s", lt_envelope_key(row->envelope));
        seen->count++;
    }
    lt_store_row_destroy(&row);
    return 0;
}

//  Publish one message with the given key and business type to dests.
static void s_put(lt_store_t *store, const char *key, const char *btype, const char *dest,
                  bool *dup, char msgid[40])
{
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, btype);
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_add_recipient(env, "000.00.00.G22");
    lt_envelope_set_payload_facts(env, key, strlen(key));
    const char *dests[] = {dest};
    const char *rcpts[] = {"000.00.00.G22"};
    lt_err_t err;
    int rc = lt_store_put(store, env, key, strlen(key), dests, rcpts, 1, dup, msgid, &err);
    assert(rc == 0);
    lt_envelope_destroy(&env);
}

//  Copy file from to file to (a test's image of a store's files).
static void s_test_copy(const char *from, const char *to)
{
    lt_err_t err;
    size_t size;
    void *data = lt_file_read(from, 0, &size, &err);
    assert(data && lt_file_write(to, data, size, false, &err) == 0);
    free(data);
}

static off_t s_test_wal_size(const char *path)
{
    char wal[PATH_MAX];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    struct stat st;
    return stat(wal, &st) ? -1 : st.st_size;
}

//  Self-test: the log is written ahead to its full size at open, and a
//  store whose log ends in those zeros (the image of a store killed after
//  its commits) opens with every commit, and again after more.
static void s_test_wal_ahead(void)
{
    char path[64], copy[64];
    lt_store_test_path(path, sizeof(path), "lt_store_wal");
    lt_store_test_path(copy, sizeof(copy), "lt_store_wal_copy");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    assert(s_test_wal_size(path) == S_WAL_BYTES);
    bool dup;
    char msgid[40];
    assert(lt_store_begin(store, &err) == 0);
    s_put(store, "DOC-W1", "new", "axis", &dup, msgid);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_test_wal_size(path) == S_WAL_BYTES);
    //  The files as a SIGKILL leaves them: the log holds the commits, then
    //  zeros, and was never checkpointed or closed.
    char from[PATH_MAX], to[PATH_MAX];
    s_test_copy(path, copy);
    snprintf(from, sizeof(from), "%s-wal", path);
    snprintf(to, sizeof(to), "%s-wal", copy);
    s_test_copy(from, to);
    lt_store_destroy(&store);
    lt_store_t *image = lt_store_new(copy, &err);
    assert(image);
    lt_store_counts_t counts;
    lt_store_counts(image, NULL, &counts);
    assert(counts.messages == 1 && counts.ready == 1);
    assert(s_test_wal_size(copy) == S_WAL_BYTES);
    assert(lt_store_begin(image, &err) == 0);
    s_put(image, "DOC-W2", "new", "axis", &dup, msgid);
    assert(!dup);
    assert(lt_store_commit(image, &err) == 0);
    lt_store_destroy(&image);
    image = lt_store_new(copy, &err);
    assert(image);
    lt_store_counts(image, NULL, &counts);
    assert(counts.messages == 2 && counts.ready == 2);
    assert(s_scalar(image,
                    "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'",
                    0) == 1);
    lt_store_destroy(&image);
    lt_store_test_remove(path);
    lt_store_test_remove(copy);
}

//  Self-test: a message's id names its row through the store's key; an id
//  stored before migration 9 (random) is found in the index of those rows.
static void s_test_msgids(void)
{
    char path[64];
    lt_store_test_path(path, sizeof(path), "lt_store_msgids");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    //  The permutation gives every row number back, and does not keep
    //  consecutive ones near each other.
    uint64_t tails[3];
    for (int64_t row = 1; row < 20000; row++)
        assert(s_msgid_row(store, s_msgid_tail(store, row)) == row);
    assert(s_msgid_row(store, s_msgid_tail(store, INT64_C(0x3fffffffffffffff))) ==
           INT64_C(0x3fffffffffffffff));
    for (int i = 0; i < 3; i++) {
        tails[i] = s_msgid_tail(store, i + 1);
        assert(tails[i] > 0xffff && tails[i] < (UINT64_C(1) << 62));
    }
    assert(tails[0] != tails[1] && tails[1] != tails[2]);
    assert(tails[1] - tails[0] != tails[2] - tails[1]);
    bool dup;
    char ids[3][40];
    s_seen_t seen;
    assert(lt_store_begin(store, &err) == 0);
    for (int i = 0; i < 3; i++) {
        char key[24];
        snprintf(key, sizeof(key), "DOC-M%d", i);
        s_put(store, key, "new", "axis", &dup, ids[i]);
        assert(!dup && lt_id_valid(ids[i]));
        assert(i == 0 || strcmp(ids[i - 1], ids[i]) < 0);   //  still in time order
    }
    assert(lt_store_commit(store, &err) == 0);
    for (int i = 0; i < 3; i++) {
        memset(&seen, 0, sizeof(seen));
        assert(lt_store_trace(store, ids[i], s_collect, &seen, &err) == 0);
        char key[24];
        snprintf(key, sizeof(key), "DOC-M%d", i);
        assert(seen.count == 1 && strcmp(seen.keys[0], key) == 0);
    }
    //  An id whose last bits name a row, but not this id, finds nothing;
    //  nor does an id of no row, nor text that is no id.
    char other[40];
    uint64_t tail;
    assert(lt_id_tail(ids[1], &tail));
    lt_id_make(other, tail);   //  the same row number, another moment
    assert(strcmp(other, ids[1]) != 0);
    const char *nothing[] = {other, "0190a8a2-0000-7000-8000-000000000001", "DOC-M1", ""};
    for (size_t i = 0; i < sizeof(nothing) / sizeof(nothing[0]); i++) {
        memset(&seen, 0, sizeof(seen));
        assert(lt_store_trace(store, nothing[i], s_collect, &seen, &err) == 0 && seen.count == 0);
        assert(lt_store_pruned_at(store, nothing[i]) == 0);
    }
    lt_store_destroy(&store);

    //  The first row as a release before migration 9 left it: a random id,
    //  in the index of those rows.
    sqlite3 *db = NULL;
    assert(sqlite3_open(path, &db) == SQLITE_OK);
    char random_id[40], sql[400];
    lt_id_new(random_id);
    snprintf(sql, sizeof(sql),
             "UPDATE messages SET msgid = '%s' WHERE id = 1;"
             "UPDATE store_meta SET value = 1 WHERE key = 'msgid_legacy';"
             "CREATE INDEX messages_msgid_legacy ON messages(msgid) WHERE id <= 1;",
             random_id);
    assert(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    store = lt_store_new(path, &err);
    assert(store);
    const char *find[] = {random_id, ids[1], ids[2]};
    for (int i = 0; i < 3; i++) {
        memset(&seen, 0, sizeof(seen));
        assert(lt_store_trace(store, find[i], s_collect, &seen, &err) == 0);
        assert(seen.count == 1 && seen.keys[0][5] == '0' + i);
    }
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_trace(store, ids[0], s_collect, &seen, &err) == 0 && seen.count == 0);
    //  The next message takes the next row, and its id names it.
    assert(lt_store_begin(store, &err) == 0);
    s_put(store, "DOC-M3", "new", "axis", &dup, ids[0]);
    assert(lt_store_commit(store, &err) == 0);
    assert(lt_id_tail(ids[0], &tail) && s_msgid_row(store, tail) == 4);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_trace(store, ids[0], s_collect, &seen, &err) == 0 && seen.count == 1);
    //  Rows of a rolled-back group leave no gap the next one trips on.
    assert(lt_store_begin(store, &err) == 0);
    s_put(store, "DOC-M4", "new", "axis", &dup, ids[1]);
    lt_store_rollback(store);
    assert(lt_store_begin(store, &err) == 0);
    s_put(store, "DOC-M5", "new", "axis", &dup, ids[2]);
    assert(lt_store_commit(store, &err) == 0);
    assert(lt_id_tail(ids[2], &tail) && s_msgid_row(store, tail) == 5);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_trace(store, ids[1], s_collect, &seen, &err) == 0 && seen.count == 0);
    lt_store_destroy(&store);
    lt_store_test_remove(path);
}

//  Self-test of the operations block: discard, trace by key, size, online
//  backup.
static void s_test_ops(void)
{
    char path[64];
    lt_store_test_path(path, sizeof(path), "lt_store_ops");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    bool dup = false;
    char msgid[40];
    assert(lt_store_begin(store, &err) == 0);
    for (int i = 0; i < 200; i++) {
        char btype[16];   //  distinct, so that none is a duplicate
        snprintf(btype, sizeof(btype), "b%d", i);
        s_put(store, i % 2 ? "ODD" : "EVEN", btype, "axis", &dup, msgid);
        assert(!dup);
    }
    assert(lt_store_commit(store, &err) == 0);
    s_seen_t seen = {0};
    assert(lt_store_scan_ready(store, "axis", 0, 1, s_collect, &seen, &err) == 0);
    uint64_t first = seen.ids[0];
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_discard(store, first, &err) == -1 && err.code == LT_ESTATE);
    assert(lt_store_dead(store, first, "gave up", &err) == 0);
    assert(lt_store_discard(store, first, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    lt_store_counts_t counts;
    lt_store_counts(store, NULL, &counts);
    assert(counts.dead == 0 && counts.ready == 199);
    lt_store_row_t *row = lt_store_get(store, first, false);
    assert(row && row->state == LT_DELIVERY_DISCARDED);
    assert(strstr(row->errors, "gave up"));
    assert(strcmp(lt_delivery_state_name(row->state), "discarded") == 0);
    lt_store_row_destroy(&row);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_trace_key(store, "EVEN", 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 10 && seen.ids[0] == first);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_trace_key(store, "NONE", 10, s_collect, &seen, &err) == 0 && !seen.count);
    //  Database file and write-ahead log both count.
    struct stat st = {0};
    assert(stat(path, &st) == 0);
    assert(lt_store_size(store) > (int64_t) st.st_size);
    //  An online copy opens as a store with the same content.
    char copy[sizeof(path) + 8];
    snprintf(copy, sizeof(copy), "%s.bak", path);
    assert(lt_store_backup_file(path, copy, &err) == 0);
    assert(lt_store_backup_file(path, copy, &err) == -1);   //  never over a file
    lt_store_t *again = lt_store_new(copy, &err);
    assert(again);
    lt_store_counts_t copied;
    lt_store_counts(again, NULL, &copied);
    assert(memcmp(&copied, &counts, sizeof(counts)) == 0);
    lt_store_destroy(&again);
    lt_store_destroy(&store);
    lt_store_test_remove(path);
    lt_store_test_remove(copy);
}

//  Self-test: no statement of the store builds a temporary b-tree when it
//  runs (EXPLAIN shows no OpenEphemeral), which is what a partial index's
//  "IN (...)" condition cost on every delivery written (migration 6).
static void s_test_no_ephemeral(lt_store_t *self)
{
    for (int q = 0; q < Q_COUNT; q++) {
        char sql[2048];
        snprintf(sql, sizeof(sql), "EXPLAIN %s", s_sql[q]);
        sqlite3_stmt *stmt = NULL;
        assert(sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) == SQLITE_OK);
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *op = (const char *) sqlite3_column_text(stmt, 1);
            if (op && strcmp(op, "OpenEphemeral") == 0) {
                fprintf(stderr, "lt_store: statement %d builds a temporary b-tree: %s\n", q,
                        s_sql[q]);
                assert(false);
            }
        }
        sqlite3_finalize(stmt);
    }
}

//  The lookups by key search the dedup key's index; none reads the table
//  through (a document or a dossier is looked up for every publish).
static void s_test_key_plans(lt_store_t *self)
{
    const int queries[] = {Q_FIND_DOSSIER, Q_FIND_DOCUMENT};
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        char sql[2048];
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", s_sql[queries[q]]);
        sqlite3_stmt *stmt = NULL;
        assert(sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) == SQLITE_OK);
        int searches = 0;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *detail = (const char *) sqlite3_column_text(stmt, 3);
            if (detail && strncmp(detail, "SCAN", 4) == 0) {
                fprintf(stderr, "lt_store: statement %d reads a whole table: %s\n",
                        queries[q], detail);
                assert(false);
            }
            searches += detail && strstr(detail, "sqlite_autoindex_messages") != NULL;
        }
        sqlite3_finalize(stmt);
        assert(searches >= 1);
    }
    //  The lanes are built at open from the partial indexes of the unfinished
    //  states alone, not from the table (done deliveries are kept for days).
    sqlite3_stmt *stmt = NULL;
    char sql[1024];
    snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", s_sql[Q_LANES]);
    assert(sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) == SQLITE_OK);
    int covered = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *detail = (const char *) sqlite3_column_text(stmt, 3);
        covered += detail && strncmp(detail, "SCAN deliveries USING COVERING INDEX", 36) == 0;
        assert(!detail || strncmp(detail, "SCAN deliveries", 15) != 0 ||
               strstr(detail, "COVERING"));
    }
    sqlite3_finalize(stmt);
    assert(covered == 4);
}

//  Pipelined durability: a commit returns before its sync; the notice
//  comes once the log is synced, with the generation and the highest
//  delivery id it covers; what was committed is there after a reopen.
static void s_test_pipelined(void)
{
    char path[64];
    lt_store_test_path(path, sizeof(path), "lt_store_pipe");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store && lt_store_notify_fd(store) == -1);
    uint64_t gen, top;
    assert(lt_store_durable(store, &gen, &top, &err) == 0 && top == UINT64_MAX);
    assert(lt_store_set_pipelined(store, &err) == 0);
    int fd = lt_store_notify_fd(store);
    assert(fd >= 0);
    assert(lt_store_durable(store, &gen, &top, &err) == 0 && top == 0);
    uint64_t base = lt_store_committed(store);
    assert(gen == base);
    lt_store_test_hold_syncs(true);
    bool dup;
    char msgid[40];
    assert(lt_store_begin(store, &err) == 0);
    s_put(store, "DOC-P1", "new", "axis", &dup, msgid);
    s_put(store, "DOC-P2", "new", "axis", &dup, msgid);
    assert(lt_store_commit(store, &err) == 0);
    assert(lt_store_committed(store) == base + 1);
    lt_store_sync_behind(store);
    //  Held: committed, not durable, no notice.
    struct pollfd item = {fd, POLLIN, 0};
    assert(poll(&item, 1, 100) == 0);
    assert(lt_store_durable(store, &gen, &top, &err) == 0 && gen == base && top == 0);
    lt_store_test_hold_syncs(false);
    assert(poll(&item, 1, 5000) == 1);
    assert(lt_store_durable(store, &gen, &top, &err) == 0 && gen == base + 1);
    uint64_t highest = (uint64_t) s_scalar(store, "SELECT MAX(id) FROM deliveries", 0);
    assert(top == highest && top >= 2);
    assert(poll(&item, 1, 0) == 0);   //  the notice was taken
    //  lt_store_sync waits for everything committed.
    assert(lt_store_begin(store, &err) == 0);
    s_put(store, "DOC-P3", "new", "axis", &dup, msgid);
    assert(lt_store_commit(store, &err) == 0);
    assert(lt_store_sync(store, &err) == 0);
    assert(lt_store_durable(store, &gen, &top, &err) == 0 && gen == lt_store_committed(store));
    assert(top == highest + 1);
    lt_store_destroy(&store);
    store = lt_store_new(path, &err);
    assert(store);
    lt_store_counts_t counts;
    lt_store_counts(store, "axis", &counts);
    assert(counts.ready == 3);
    lt_store_destroy(&store);
    lt_store_test_remove(path);
}

void lt_store_test(bool verbose)
{
    if (verbose)
        printf(" * lt_store: ");
    char path[64];
    lt_store_test_path(path, sizeof(path), "lt_store_test");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    s_test_no_ephemeral(store);
    s_test_key_plans(store);

    bool dup = false;
    char msgid[40], first[40];
    assert(lt_store_begin(store, &err) == 0);
    s_put(store, "DOC-A", "new", "axis", &dup, first);
    assert(!dup && lt_id_valid(first));
    s_put(store, "DOC-A", "revocation", "axis", &dup, msgid);   //  same lane, later
    assert(!dup);
    s_put(store, "DOC-B", "new", "axis", &dup, msgid);
    s_put(store, "DOC-A", "new", "axis", &dup, msgid);   //  resent: duplicate
    assert(dup && strcmp(msgid, first) == 0);
    assert(lt_store_commit(store, &err) == 0);
    lt_store_counts_t counts;
    lt_store_counts(store, NULL, &counts);
    assert(counts.messages == 3 && counts.ready == 3);

    //  The revocation waits behind its document; DOC-B is free.
    s_seen_t seen = {0};
    assert(lt_store_scan_ready(store, "axis", 0, 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 2);
    assert(strcmp(seen.keys[0], "DOC-A") == 0 && strcmp(seen.keys[1], "DOC-B") == 0);
    uint64_t doc_a = seen.ids[0], doc_b = seen.ids[1];
    uint64_t revocation = lt_store_lane_next(store, doc_a);
    assert(revocation > doc_a && revocation < doc_b);
    lt_store_row_t *row = lt_store_get(store, revocation, true);
    assert(row && strcmp(lt_envelope_btype(row->envelope), "revocation") == 0);
    assert(row->payload_size == 5 && memcmp(row->payload, "DOC-A", 5) == 0);
    assert(lt_envelope_recipients(row->envelope) == 1);
    lt_store_row_destroy(&row);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_scan_ready(store, "other", 0, 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 0);

    //  A retry keeps the lane blocked until it is done.
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_retry(store, doc_a, "503 from axis", lt_time_ms() + 60000, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_scan_ready(store, "axis", 0, 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ids[0] == doc_b);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_scan_due(store, "axis", lt_time_ms(), 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 0);
    assert(lt_store_next_due(store, "axis") > lt_time_ms());
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_scan_due(store, "axis", lt_time_ms() + 120000, 10, s_collect, &seen, &err) ==
           0);
    assert(seen.count == 1 && seen.ids[0] == doc_a);

    //  Dead letters keep every reason and can be replayed.
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_dead(store, doc_a, "attempt budget spent", &err) == 0);
    assert(lt_store_done(store, doc_b, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    row = lt_store_get(store, doc_a, false);
    assert(row && row->state == LT_DELIVERY_DEAD && row->attempts == 2);
    assert(strcmp(row->errors, "503 from axis\nattempt budget spent") == 0);
    lt_store_row_destroy(&row);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_list_dead(store, 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ids[0] == doc_a);
    //  With its document dead, the revocation still waits behind it.
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_scan_ready(store, "axis", 0, 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 0);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_list_blocked(store, 10, s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ids[0] == revocation);
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_replay(store, doc_a, &err) == 0);
    assert(lt_store_replay(store, doc_b, &err) == -1 && err.code == LT_ESTATE);
    assert(lt_store_reject(store, "dms", LT_EINVAL, "edXML: DocumentId is missing", NULL, "<x/>",
                           4, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    lt_store_counts(store, NULL, &counts);
    assert(counts.dead == 0 && counts.waiting == 1 && counts.done == 1 && counts.ready == 1);
    assert(counts.rejects == 1);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_trace(store, first, s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ids[0] == doc_a);

    //  A publish the ledger refuses after its rows were written (a
    //  dossier_synced fact whose payload is not an object) leaves nothing:
    //  the corrected fact under the same dedup key is new, not a duplicate.
    {
        lt_envelope_t *fact = lt_envelope_new();
        lt_envelope_set_kind(fact, LT_KIND_FACT);
        lt_envelope_set_key(fact, "HS-REFUSED");
        lt_envelope_set_btype(fact, "dossier_synced");
        lt_envelope_set_revision(fact, "1");
        lt_envelope_set_sender(fact, "000.00.12.H26");
        lt_envelope_set_payload_facts(fact, "[]", 2);
        lt_store_counts_t before;
        lt_store_counts(store, NULL, &before);
        assert(lt_store_begin(store, &err) == 0);
        assert(lt_store_put(store, fact, "[]", 2, NULL, NULL, 0, &dup, msgid, &err) == -1);
        assert(err.code == LT_EINVAL && !dup);
        const char *good = "{\"MaHoSo\":\"HS-REFUSED\",\"revision\":\"1\"}";
        lt_envelope_set_payload_facts(fact, good, strlen(good));
        lt_envelope_set_id(fact, NULL);
        assert(lt_store_put(store, fact, good, strlen(good), NULL, NULL, 0, &dup, msgid, &err) ==
               0);
        assert(!dup);
        assert(lt_store_commit(store, &err) == 0);
        assert(s_scalar(store, "SELECT COUNT(*) FROM messages WHERE bkey = 'HS-REFUSED'", 0) ==
               1);
        lt_store_counts_t after;
        lt_store_counts(store, NULL, &after);
        assert(after.messages == before.messages + 1);
        lt_envelope_destroy(&fact);
        counts = after;
    }

    //  All or nothing: a store error in the middle of a publish (here the
    //  second delivery's insert) leaves nothing of it, and the retry is a
    //  new message, not a duplicate.
    assert(sqlite3_exec(store->db,
                        "CREATE TEMP TRIGGER s_break BEFORE INSERT ON deliveries"
                        " WHEN NEW.dest = 'broken' BEGIN SELECT RAISE(ABORT, 'injected'); END",
                        NULL, NULL, NULL) == SQLITE_OK);
    {
        lt_envelope_t *env = lt_envelope_new();
        lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
        lt_envelope_set_key(env, "DOC-HALF");
        lt_envelope_set_sender(env, "000.00.12.H26");
        lt_envelope_add_recipient(env, "000.00.00.G22");
        lt_envelope_set_payload_facts(env, "half", 4);
        const char *dests[] = {"axis", "broken"};
        const char *rcpts[] = {"000.00.00.G22", "000.00.00.G22"};
        lt_store_counts_t before;
        lt_store_counts(store, NULL, &before);
        assert(lt_store_begin(store, &err) == 0);
        assert(lt_store_put(store, env, "half", 4, dests, rcpts, 2, &dup, msgid, &err) == -1);
        assert(err.code == LT_ESTORE && strstr(err.detail, "retry"));
        //  The group is rolled back: a later put of it fails too, and so
        //  does its commit, which names the cause.
        lt_envelope_t *other = lt_envelope_dup(env);
        assert(other);
        lt_envelope_set_key(other, "DOC-AFTER");
        assert(lt_store_put(store, other, "after", 5, dests, rcpts, 1, &dup, msgid, &err) == -1);
        assert(err.code == LT_ESTORE);
        assert(lt_store_commit(store, &err) == -1 && strstr(err.detail, "injected"));
        assert(!lt_store_full(store));
        lt_envelope_destroy(&other);
        assert(s_scalar(store, "SELECT COUNT(*) FROM messages WHERE bkey IN ('DOC-HALF', 'DOC-AFTER')", 0) == 0);
        assert(sqlite3_exec(store->db, "DROP TRIGGER s_break", NULL, NULL, NULL) == SQLITE_OK);
        lt_envelope_set_id(env, NULL);
        assert(lt_store_begin(store, &err) == 0);
        assert(lt_store_put(store, env, "half", 4, dests, rcpts, 2, &dup, msgid, &err) == 0);
        assert(!dup);
        assert(lt_store_commit(store, &err) == 0);
        assert(s_scalar(store, "SELECT COUNT(*) FROM messages WHERE bkey = 'DOC-HALF'", 0) == 1);
        assert(s_scalar(store,
                        "SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message"
                        " WHERE m.bkey = 'DOC-HALF'",
                        0) == 2);
        lt_store_counts(store, NULL, &counts);
        assert(counts.messages == before.messages + 1 && counts.ready == before.ready + 2);
        lt_envelope_destroy(&env);
        //  Take the two deliveries out again so the counts below stay as they were.
        assert(sqlite3_exec(store->db,
                            "DELETE FROM deliveries WHERE message IN"
                            " (SELECT id FROM messages WHERE bkey = 'DOC-HALF');"
                            " DELETE FROM messages WHERE bkey = 'DOC-HALF'",
                            NULL, NULL, NULL) == SQLITE_OK);
        assert(s_lanes_load(store, &err) == 0);   //  deleted behind the lanes' back
        store->counts = before;
        counts = before;
    }

    //  Reopening keeps everything and the counters agree.
    lt_store_destroy(&store);
    assert(store == NULL);
    lt_store_destroy(&store);
    store = lt_store_new(path, &err);
    assert(store);
    lt_store_counts_t again;
    lt_store_counts(store, NULL, &again);
    assert(memcmp(&again, &counts, sizeof(counts)) == 0);
    lt_store_counts(store, "axis", &again);
    assert(again.ready == 1 && again.waiting == 1 && again.dead == 0);
    lt_store_destroy(&store);

    //  A file that is not a database is refused with a readable error.
    FILE *junk = fopen(path, "w");
    assert(junk);
    fputs("this is not a database, just text long enough to be a header page....", junk);
    fclose(junk);
    char wal[sizeof(path) + 8];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
    store = lt_store_new(path, &err);
    assert(store == NULL && err.code == LT_ESTORE);
    lt_store_test_remove(path);
    s_test_ops();
    s_test_wal_ahead();
    s_test_msgids();
    s_test_pipelined();
    if (verbose)
        printf("OK\n");
}

//  ---------------------------------------------------------------------------
//  Retention: pruning finished messages, reclaiming their pages.
//
//  A pass walks the unpruned messages (index messages_kept) in id order up to
//  the cutoff, a few hundred per step; each step is one short transaction.
//  Pruning is idempotent: a step lost in a crash is done again by the next
//  pass, and nothing else depends on it having happened.

typedef enum {
    R_SCAN,      //  unpruned messages after a cursor
    R_CHECK,     //  a message's deliveries by state
    R_DELETE,    //  delete a pruned message's deliveries
    R_STUB_READ,     //  what a pruned message keeps
    R_STUB_DELETE,   //  delete the message row
    R_STUB_PUT,      //  insert it again as a stub
    R_MAX,       //  the highest delivery id
    R_TOTAL,     //  add to the pruned total
    R_SEG_REF,   //  is a segment file still referenced
    R_COUNT
} s_retain_query_t;

static const char *s_retain_sql[R_COUNT] = {
    [R_SCAN] = "SELECT id, received FROM messages INDEXED BY messages_kept"
               " WHERE pruned_at IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
    [R_CHECK] = "SELECT COUNT(*), COALESCE(SUM(state = 1), 0), COALESCE(SUM(state = 5), 0),"
                " COALESCE(SUM(state NOT IN (1, 5) OR id >= ?2), 0)"
                " FROM deliveries WHERE message = ?1",
    [R_DELETE] = "DELETE FROM deliveries WHERE message = ?1 AND state IN (1, 5)",
    //  A document keeps its envelope: its follow-ups are checked against
    //  it (sender, recipients, content digest); other kinds keep only
    //  their dedup key. The row is deleted and inserted again, smaller:
    //  SQLite merges leaf pages on a delete, never on an update, so
    //  updated stubs would each keep a whole page.
    [R_STUB_READ] = "SELECT id, msgid, dedup, kind, bkey, source, received,"
                    " CASE WHEN kind = 1 AND btype IN ('new', 'replacement')"
                    "   THEN envelope ELSE x'' END, btype, lkey"
                    " FROM messages WHERE id = ?1 AND pruned_at IS NULL",
    [R_STUB_DELETE] = "DELETE FROM messages WHERE id = ?1",
    [R_STUB_PUT] = "INSERT INTO messages (id, msgid, dedup, kind, bkey, source, received,"
                   " envelope, btype, lkey, payload, pruned_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, x'', ?11)",
    [R_MAX] = "SELECT COALESCE(MAX(id), 0) FROM deliveries",
    [R_TOTAL] = "INSERT INTO store_meta (key, value) VALUES ('pruned', ?1)"
                " ON CONFLICT (key) DO UPDATE SET value = value + ?1",
    [R_SEG_REF] = "SELECT 1 FROM messages WHERE seg = ?1 LIMIT 1",
};

//  Retention state of one store.
struct s_retain {
    sqlite3_stmt *stmt[R_COUNT];   //  prepared statements
    uint64_t cursor;               //  last message id looked at by the current pass
    uint64_t pruned;               //  messages pruned since the store was created
};

//  Finalise the retention statements; safe when none were made.
static void s_retain_free(lt_store_t *self)
{
    if (!self->retain)
        return;
    for (int q = 0; q < R_COUNT; q++)
        sqlite3_finalize(self->retain->stmt[q]);
    free(self->retain);
    self->retain = NULL;
}

//  The retention state, made on first use; NULL with err on failure.
static struct s_retain *s_retain(lt_store_t *self, lt_err_t *err)
{
    if (self->retain)
        return self->retain;
    struct s_retain *retain = calloc(1, sizeof(*retain));
    if (!retain)
        return lt_err_set(err, LT_ENOMEM, "store: out of memory"), NULL;
    self->retain = retain;
    for (int q = 0; q < R_COUNT; q++)
        if (sqlite3_prepare_v3(self->db, s_retain_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
                               &retain->stmt[q], NULL) != SQLITE_OK) {
            s_fail(self, err, "cannot prepare a retention statement");
            s_retain_free(self);
            return NULL;
        }
    retain->pruned =
        (uint64_t) s_scalar(self, "SELECT value FROM store_meta WHERE key = 'pruned'", 0);
    return retain;
}

//  A file made before retention does not give free pages back
//  (auto_vacuum NONE; they are reused by new messages). Converting it takes
//  one VACUUM, a copy of the whole file: done here when the file is small
//  (at most S_CONVERT_MAX: a 71 MB file took 16 s on a loaded test machine,
//  so a start stays short); a larger one is converted offline
//  (docs/operations.md, Retention). A failure changes nothing.
#define S_CONVERT_MAX (4LL * 1024 * 1024)

static void s_retain_open(lt_store_t *self)
{
    if (s_scalar(self, "PRAGMA auto_vacuum", 2) != 0)
        return;
    int64_t bytes = s_scalar(self, "PRAGMA page_count", 0) * s_scalar(self, "PRAGMA page_size", 0);
    if (bytes <= S_CONVERT_MAX)
        s_exec(self, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL);
}

//  Step a statement that yields nothing; false on failure.
static bool s_step_done(sqlite3_stmt *stmt)
{
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE;
}

//  Replace message id by its stub (dedup key and, for a document, its
//  envelope); 0 when done or already a stub, -1 on failure.
static int s_stub(struct s_retain *retain, int64_t id, int64_t now)
{
    sqlite3_stmt *read = retain->stmt[R_STUB_READ], *put = retain->stmt[R_STUB_PUT];
    sqlite3_bind_int64(read, 1, id);
    int step = sqlite3_step(read);
    if (step != SQLITE_ROW) {
        s_reset(read);
        return step == SQLITE_DONE ? 0 : -1;
    }
    for (int c = 0; c < 10; c++)   //  bound values are copies
        sqlite3_bind_value(put, c + 1, sqlite3_column_value(read, c));
    sqlite3_bind_int64(put, 11, now);
    s_reset(read);
    sqlite3_stmt *del = retain->stmt[R_STUB_DELETE];
    sqlite3_bind_int64(del, 1, id);
    if (!s_step_done(del) || !s_step_done(put)) {
        s_reset(put);
        return -1;
    }
    return 0;
}

int lt_store_prune(lt_store_t *self, int64_t before, uint32_t max_rows, int64_t max_ms,
                   lt_store_prune_t *result, lt_err_t *err)
{
    assert(self && result);
    assert(!self->in_batch);
    memset(result, 0, sizeof(*result));
    struct s_retain *retain = s_retain(self, err);
    if (!retain)
        return -1;
    if (max_rows == 0)
        max_rows = 1;
    if (max_rows > 100000)
        max_rows = 100000;
    int64_t started = lt_time_ms();
    int64_t *ids = malloc(sizeof(int64_t) * max_rows);
    if (!ids)
        return lt_err_set(err, LT_ENOMEM, "store: out of memory"), -1;
    if (s_exec(self, "BEGIN IMMEDIATE", err)) {
        free(ids);
        return -1;
    }
    //  The newest delivery is never deleted: a new delivery's id is the
    //  highest plus one, and ids must never be given twice.
    sqlite3_stmt *stmt = retain->stmt[R_MAX];
    int64_t newest = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    s_reset(stmt);
    //  Read the candidates first, then change rows (not while reading them).
    size_t count = 0;
    bool pass_done = false;
    stmt = retain->stmt[R_SCAN];
    sqlite3_bind_int64(stmt, 1, (int64_t) retain->cursor);
    sqlite3_bind_int(stmt, 2, (int) max_rows);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_int64(stmt, 1) >= before) {
            pass_done = true;   //  the rest is younger than the cutoff
            break;
        }
        ids[count++] = sqlite3_column_int64(stmt, 0);
    }
    s_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto failed;
    if (count < max_rows)
        pass_done = true;
    int64_t now = lt_time_ms();
    uint64_t done = 0, discarded = 0;
    size_t looked = 0;
    for (; looked < count; looked++) {
        if (looked % 8 == 7 && lt_time_ms() - started >= max_ms) {
            pass_done = false;   //  out of time: the next step goes on from here
            break;
        }
        stmt = retain->stmt[R_CHECK];
        sqlite3_bind_int64(stmt, 1, ids[looked]);
        sqlite3_bind_int64(stmt, 2, newest);
        if (sqlite3_step(stmt) != SQLITE_ROW) {
            s_reset(stmt);
            goto failed;
        }
        int64_t n_done = sqlite3_column_int64(stmt, 1);
        int64_t n_discarded = sqlite3_column_int64(stmt, 2);
        int64_t blocking = sqlite3_column_int64(stmt, 3);
        s_reset(stmt);
        if (blocking > 0)
            continue;   //  something is unfinished: kept, looked at again next pass
        stmt = retain->stmt[R_DELETE];
        sqlite3_bind_int64(stmt, 1, ids[looked]);
        if (!s_step_done(stmt))
            goto failed;
        if (s_stub(retain, ids[looked], now) != 0)
            goto failed;
        done += (uint64_t) n_done;
        discarded += (uint64_t) n_discarded;
        result->pruned++;
    }
    result->scanned = (uint32_t) looked;
    if (result->pruned) {
        stmt = retain->stmt[R_TOTAL];
        sqlite3_bind_int64(stmt, 1, (int64_t) result->pruned);
        if (!s_step_done(stmt))
            goto failed;
    }
    if (s_exec(self, "COMMIT", err)) {
        s_exec(self, "ROLLBACK", NULL);
        free(ids);
        return -1;
    }
    s_committed(self, 0);
    lt_store_sync_behind(self);
    self->counts.messages -= result->pruned;
    self->counts.done -= done;
    self->counts.discarded -= discarded;
    retain->pruned += result->pruned;
    //  A finished pass starts again from the beginning: messages kept for
    //  an unfinished delivery are looked at again.
    retain->cursor = pass_done ? 0 : (uint64_t) ids[looked - 1];
    result->more = !pass_done;
    free(ids);
    return 0;
failed:
    s_fail(self, err, "prune");
    s_exec(self, "ROLLBACK", NULL);
    free(ids);
    return -1;
}

//  Delete segment files older than the one appended to that no message
//  row refers to any more (pruned messages' stubs keep no payload), at most
//  max_files looked at; the number deleted, or -1 with err.
static int s_segments_reclaim(lt_store_t *self, uint32_t max_files, lt_err_t *err)
{
    lt_segments_stats_t segs;
    lt_segments_stats(self->segs, &segs);
    if (!segs.first || segs.first >= segs.current)
        return 0;
    //  A file goes only once the commits that stopped referring to it are
    //  on disk: a machine crash must not bring back rows without it.
    if (lt_store_sync(self, err))
        return -1;
    if (self->seg_cursor < segs.first || self->seg_cursor >= segs.current)
        self->seg_cursor = segs.first;
    struct s_retain *retain = s_retain(self, err);
    if (!retain)
        return -1;
    sqlite3_stmt *stmt = retain->stmt[R_SEG_REF];
    int deleted = 0;
    for (uint32_t n = 0; n < max_files && self->seg_cursor < segs.current; n++) {
        uint32_t seg = self->seg_cursor++;
        sqlite3_bind_int64(stmt, 1, seg);
        int step = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (step == SQLITE_DONE) {
            if (lt_segments_remove(self->segs, seg, err))
                return -1;
            deleted++;
            self->segs_deleted++;
        }
        else if (step != SQLITE_ROW)
            return s_fail(self, err, "cannot look up segment references");
    }
    return deleted;
}

int lt_store_reclaim(lt_store_t *self, uint32_t max_pages, uint32_t reserve_pages,
                     lt_err_t *err)
{
    assert(self);
    assert(!self->in_batch);
    if (s_segments_reclaim(self, 8, err) < 0)
        return -1;
    if (s_scalar(self, "PRAGMA auto_vacuum", 0) != 2)
        return 0;   //  a file made before retention: free pages are reused, not given back
    int64_t free_pages = s_scalar(self, "PRAGMA freelist_count", 0);
    if (free_pages <= (int64_t) reserve_pages)
        return 0;
    int64_t pages = free_pages - (int64_t) reserve_pages;
    if (pages > (int64_t) max_pages)
        pages = max_pages;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%lld)", (long long) pages);
    if (s_exec(self, sql, err))
        return -1;
    return (int) pages;
}

int lt_store_retention(lt_store_t *self, lt_store_retention_t *figures)
{
    assert(self && figures);
    memset(figures, 0, sizeof(*figures));
    lt_err_t err;
    struct s_retain *retain = s_retain(self, &err);
    if (!retain)
        return -1;
    figures->pruned = retain->pruned;
    figures->oldest_kept = s_scalar(self,
                                    "SELECT received FROM messages INDEXED BY messages_kept"
                                    " WHERE pruned_at IS NULL ORDER BY id LIMIT 1",
                                    0);
    figures->free_bytes =
        s_scalar(self, "PRAGMA freelist_count", 0) * s_scalar(self, "PRAGMA page_size", 0);
    figures->reclaims = s_scalar(self, "PRAGMA auto_vacuum", 0) == 2;
    return 0;
}

int64_t lt_store_pruned_at(lt_store_t *self, const char *msgid)
{
    assert(self && msgid);
    sqlite3_stmt *stmt = NULL;
    int64_t at = 0, row = s_message_row(self, msgid);
    if (row && sqlite3_prepare_v2(self->db,
                                  "SELECT pruned_at FROM messages WHERE id = ?1"
                                  " AND pruned_at IS NOT NULL",
                                  -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, row);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            at = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return at;
}
