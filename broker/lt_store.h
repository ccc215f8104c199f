/*  lt_store: the broker's durable store behind a narrow interface.

    Messages, deliveries (one per destination connector), dead letters,
    rejected input kept for inspection, and dedup keys. The embedded backend
    is one SQLite file in WAL mode under the data directory; nothing outside
    this class knows that (DESIGN.md section 7). Writes happen inside a batch
    (lt_store_begin .. lt_store_commit) so that many PUBLISHes share one
    fsync (group commit); a message is durable once lt_store_commit returns 0.

    Delivery states: READY (never tried, or replayed), WAITING (a retry is
    scheduled at next_at), DONE, DEAD, HELD (a follow-up whose document the
    store has not seen yet, held until it arrives or until next_at) and
    DISCARDED (a dead letter the operator gave up on). A delivery is due only
    when it is the head of its lane: no earlier READY, WAITING, DEAD or HELD
    delivery exists for the same destination and lane, which is how a
    status, revocation, update or replacement never overtakes its document,
    and how a dead letter holds back what follows it. The lane is the
    business key, or for a replacement the DocumentId it replaces. "In
    flight" is not stored: after a restart every unfinished delivery is due
    again and connectors deduplicate on the message id (schemas/ltp.md).

    Deduplication is by content: the same dedup key with the same payload
    digest is one message; a follow-up (update, replacement, revocation,
    status) with other content is a new revision; a new document with
    other content under a DocumentId already used is refused (LT_EINVAL).
    The store assigns every message id itself, whatever the publisher wrote.
*/
#ifndef LT_STORE_H_INCLUDED
#define LT_STORE_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"
#include "lt_ledger.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_store_t lt_store_t;

typedef enum {
    LT_DELIVERY_READY = 0,     //  queued, never tried (or replayed)
    LT_DELIVERY_DONE = 1,      //  the destination confirmed it
    LT_DELIVERY_WAITING = 2,   //  failed transiently, retry at next_at
    LT_DELIVERY_DEAD = 3,      //  gave up: in the dead-letter area
    LT_DELIVERY_HELD = 4,      //  follow-up waiting for its document until next_at
    LT_DELIVERY_DISCARDED = 5, //  dead letter discarded by the operator
} lt_delivery_state_t;

//  One delivery as read back from the store. Strings and buffers belong to
//  the row; lt_store_row_destroy frees them.
typedef struct {
    uint64_t delivery;          //  delivery id (increasing with time)
    uint64_t message;           //  internal message number
    char msgid[40];             //  message id (UUIDv7)
    char dest[64];              //  destination connector
    lt_delivery_state_t state;  //  current state
    uint32_t attempts;          //  attempts made so far
    int64_t next_at;            //  Unix ms of the next attempt (WAITING)
    int64_t created_at;         //  Unix ms when the delivery was queued
    uint64_t lane_key;          //  its lane (lt_store_done_in_lane)
    uint64_t behind;            //  dead letter this delivery waits behind (0 = none)
    char *errors;               //  every failure reason so far, one per line
    lt_envelope_t *envelope;    //  the envelope, recipients narrowed to dest (NULL
                                //  when packed holds it)
    uint8_t *packed;            //  the envelope as stored, when the scans were asked
                                //  for it (lt_store_set_packed_rows) and it needs no
                                //  narrowing, checked to be one msgpack map
                                //  (lt_ltp_packed_map); else NULL
    size_t packed_size;         //  bytes of packed
    uint8_t *payload;           //  the payload (NULL when not asked for or unreadable)
    size_t payload_size;        //  payload bytes
    char *payload_error;        //  why the payload could not be read (missing or
                                //  damaged segment record), or the envelope
                                //  (LT_STORE_ENVELOPE_UNREADABLE), else NULL
} lt_store_row_t;

//  How payload_error begins when the stored envelope did not decode (the
//  row then has a blank envelope and no payload); what follows says why.
#define LT_STORE_ENVELOPE_UNREADABLE "envelope unreadable: "

//  Called for each row a query yields; the callee takes ownership of the row
//  (free with lt_store_row_destroy). Return 0 to go on, -1 to stop.
typedef int(lt_store_row_fn)(void *arg, lt_store_row_t *row);

//  Counts for stats and the admin API.
typedef struct {
    uint64_t messages;   //  messages stored
    uint64_t ready;      //  deliveries READY
    uint64_t waiting;    //  deliveries WAITING
    uint64_t done;       //  deliveries DONE
    uint64_t dead;       //  deliveries DEAD
    uint64_t rejects;    //  rejected inputs kept
    uint64_t held;       //  deliveries HELD for their document
    uint64_t discarded;  //  dead letters discarded
} lt_store_counts_t;

//  One rejected input as read back from the store; lt_store_reject_destroy
//  frees it.
typedef struct {
    uint64_t id;                //  reject number
    int64_t at;                 //  Unix ms when it was refused
    char source[64];            //  connector that published it
    lt_error_t code;            //  why (error code)
    char *reason;               //  why (text)
    lt_envelope_t *envelope;    //  its envelope, NULL when it had none
    uint8_t *data;              //  payload (NULL when not asked for)
    size_t size;                //  payload bytes
    char replayed[40];          //  message id it became when replayed, "" if not
} lt_store_reject_t;

//  Called for each rejected input a query yields; the callee owns it.
typedef int(lt_store_reject_fn)(void *arg, lt_store_reject_t *reject);

//  Open (creating if needed) the store at path, migrating its schema to the
//  current version. NULL with err filled on failure.
lt_store_t *lt_store_new(const char *path, lt_err_t *err);

//  Close the store; safe on NULL.
void lt_store_destroy(lt_store_t **self_p);

//  Start a write batch. Every write below happens inside one.
int lt_store_begin(lt_store_t *self, lt_err_t *err);

//  Commit the batch and fsync; only then are its messages durable. In the
//  pipelined mode (below) the commit returns once its writes are in the
//  write-ahead log, and they are durable once lt_store_durable reaches
//  lt_store_committed as it was after this commit.
int lt_store_commit(lt_store_t *self, lt_err_t *err);

//  Pipelined durability, the broker's mode. Commits no longer wait for the
//  disk: the caller syncs the write-ahead log itself (lt_store_sync), or
//  asks a thread of the store to (lt_store_sync_behind) and reads and
//  stores the next group meanwhile; one sync covers every commit that came
//  before it began. The caller must not let anything of a commit be seen
//  outside (an ACCEPTED, a delivery, an operator's answer) before that
//  commit is durable. Payload segment records are still synced before the
//  commit that refers to them. Without the thread (it could not start) the
//  store stays synchronous and every commit is durable when it returns.
int lt_store_set_pipelined(lt_store_t *self, lt_err_t *err);

//  Syncs of the log the pipelined store ran, their total and longest time;
//  the log's restarts (RESTART checkpoints, the writer waits for each; and
//  those the writer made itself once a pass had copied every frame) and
//  the longest RESTART, its wait for a moment between two commits included;
//  the longest the writer waited to begin a group (for a restart).
//  Called from the writer's thread.
typedef struct {
    uint64_t syncs;
    uint64_t sync_us;
    uint64_t sync_us_max;
    uint64_t restarts;
    uint64_t restart_us_max;
    uint64_t begin_wait_us_max;
} lt_store_syncstats_t;
void lt_store_sync_stats(lt_store_t *self, lt_store_syncstats_t *figures);

//  Self-tests: hold every store's log syncs (at most 10 s) or let them go.
void lt_store_test_hold_syncs(bool hold);

//  Ask the store's thread to sync the log for every commit so far; the
//  notice comes when it is done (a commit alone starts no sync).
void lt_store_sync_behind(lt_store_t *self);

//  Commits so far (a generation number; 0 before the first).
uint64_t lt_store_committed(const lt_store_t *self);

//  The highest delivery id as of the last commit (pipelined; 0 otherwise):
//  above the durable top, that commit made deliveries that wait for a sync.
uint64_t lt_store_top_committed(lt_store_t *self);

//  The generation on disk, read without waiting (a cheap check between two
//  reads; lt_store_durable is the one that takes the notice).
uint64_t lt_store_synced(const lt_store_t *self);

//  A file descriptor that becomes readable when more commits are durable
//  (poll it, then call lt_store_durable); -1 when not pipelined.
int lt_store_notify_fd(const lt_store_t *self);

//  The generation known durable (every commit up to it is on disk) and the
//  highest delivery id as of that commit (0: none; a delivery above it must
//  not be delivered yet); clears the notification. Not pipelined: the last
//  commit and UINT64_MAX. -1 with err once a sync of the log failed: from
//  then on nothing more can be confirmed, and the caller must stop (a
//  restart reads what is on disk).
int lt_store_durable(lt_store_t *self, uint64_t *generation, uint64_t *top_delivery,
                     lt_err_t *err);

//  Make every commit so far durable: sync the log in this thread, or wait
//  for the sync the store's thread runs (at once when not pipelined); -1
//  with err when the sync failed.
int lt_store_sync(lt_store_t *self, lt_err_t *err);

//  Abandon the batch.
void lt_store_rollback(lt_store_t *self);

//  Store a message with one delivery per destination; dest_rcpts[i] lists
//  (comma-separated) the recipients routed to dests[i]. Sets the envelope's
//  id (always a new one: ids are the broker's) and received time. A
//  follow-up whose document is not stored yet is HELD (see
//  lt_store_set_hold); a document releases what was held for it. On a known
//  dedup key with the same content stores nothing, sets *duplicate and
//  copies the first message's id into msgid. A new document with other
//  content under a used DocumentId: -1 with LT_EINVAL (permanent); store
//  failures: -1 with LT_ESTORE (transient). All or nothing: the message,
//  its deliveries, its dedup key and its ledger events (lt_ledger_record)
//  are written together; on -1 none of them is. A store error in the middle
//  of a publish's writes rolls the whole group back: later puts of the
//  group fail with LT_ESTORE and lt_store_commit fails, so that every
//  publisher of the group retries.
int lt_store_put(lt_store_t *self, lt_envelope_t *envelope, const void *payload, size_t size,
                 const char *const *dests, const char *const *dest_rcpts, size_t dest_count,
                 bool *duplicate, char msgid[40], lt_err_t *err);

//  How long (ms) a follow-up is held for its document; 0 holds nothing.
void lt_store_set_hold(lt_store_t *self, int64_t hold_ms);

//  Return how many held deliveries the last lt_store_put released.
size_t lt_store_released(const lt_store_t *self);

//  Release HELD deliveries whose hold ended at now (they become due), at
//  most limit, yielding each released row (without payload).
int lt_store_release_expired(lt_store_t *self, int64_t now, uint32_t limit, lt_store_row_fn *fn,
                             void *arg, lt_err_t *err);

//  Return a copy of the envelope of the stored document with this
//  DocumentId (new or replacement, the first stored), or NULL if unknown.
lt_envelope_t *lt_store_document(lt_store_t *self, const char *key);

//  The counting ledger kept in the same database (broker/lt_ledger.h): a
//  publish's ledger rows are written in the same transaction as its message.
lt_ledger_t *lt_store_ledger(lt_store_t *self);

//  Keep a rejected input for inspection and replay (never dropped);
//  envelope may be NULL.
int lt_store_reject(lt_store_t *self, const char *source, lt_error_t code, const char *reason,
                    const lt_envelope_t *envelope, const void *data, size_t size, lt_err_t *err);

//  Yield rejected inputs (without payloads), newest first, up to limit.
int lt_store_list_rejects(lt_store_t *self, uint32_t limit, lt_store_reject_fn *fn, void *arg,
                          lt_err_t *err);

//  Read one rejected input (payload included when with_payload); NULL if unknown.
lt_store_reject_t *lt_store_get_reject(lt_store_t *self, uint64_t id, bool with_payload);

//  Record that a rejected input was replayed and became message msgid.
int lt_store_reject_replayed(lt_store_t *self, uint64_t id, const char *msgid, lt_err_t *err);

//  Free a rejected input; safe on NULL.
void lt_store_reject_destroy(lt_store_reject_t **reject_p);

//  Yield up to limit READY deliveries for dest with id > after that head
//  their lane, in id order, with payloads.
int lt_store_scan_ready(lt_store_t *self, const char *dest, uint64_t after, uint32_t limit,
                        lt_store_row_fn *fn, void *arg, lt_err_t *err);

//  Yield up to limit WAITING deliveries for dest due at now that head their
//  lane, oldest first, with payloads.
int lt_store_scan_due(lt_store_t *self, const char *dest, int64_t now, uint32_t limit,
                      lt_store_row_fn *fn, void *arg, lt_err_t *err);

//  Return the Unix ms of the earliest WAITING delivery for dest, or -1.
int64_t lt_store_next_due(lt_store_t *self, const char *dest);

//  Read one delivery (payload included when with_payload); NULL if unknown.
lt_store_row_t *lt_store_get(lt_store_t *self, uint64_t delivery, bool with_payload);

//  Mark a delivery DONE.
int lt_store_done(lt_store_t *self, uint64_t delivery, lt_err_t *err);

//  The same, given the delivery's lane as its row had it (row->lane_key),
//  which spares reading it again; 0 reads it. A lane that does not hold
//  the delivery is not trusted: its row is read then.
int lt_store_done_in_lane(lt_store_t *self, uint64_t delivery, uint64_t lane_key, lt_err_t *err);

//  Record a failed attempt: WAITING until next_at, reason appended.
int lt_store_retry(lt_store_t *self, uint64_t delivery, const char *reason, int64_t next_at,
                   lt_err_t *err);

//  Move a delivery to the dead-letter area with a final reason.
int lt_store_dead(lt_store_t *self, uint64_t delivery, const char *reason, lt_err_t *err);

//  Replay a dead delivery: WAITING, due now, attempts reset.
int lt_store_replay(lt_store_t *self, uint64_t delivery, lt_err_t *err);

//  Discard a dead letter: it no longer holds back its lane.
int lt_store_discard(lt_store_t *self, uint64_t delivery, lt_err_t *err);

//  Yield deliveries waiting behind a dead letter of their lane (row->behind
//  names it), oldest first, up to limit, without payloads.
int lt_store_list_blocked(lt_store_t *self, uint32_t limit, lt_store_row_fn *fn, void *arg,
                          lt_err_t *err);

//  Return true when the last failure was a full disk (transient: space may
//  come back; nothing of the failed batch was kept).
bool lt_store_full(const lt_store_t *self);

//  Return the id of the next unfinished delivery in the same lane after
//  delivery, or 0 when there is none.
uint64_t lt_store_lane_next(lt_store_t *self, uint64_t delivery);

//  Yield dead deliveries (without payloads), newest first, up to limit.
int lt_store_list_dead(lt_store_t *self, uint32_t limit, lt_store_row_fn *fn, void *arg,
                       lt_err_t *err);

//  Yield every delivery of one message (by message id), without payloads.
int lt_store_trace(lt_store_t *self, const char *msgid, lt_store_row_fn *fn, void *arg,
                   lt_err_t *err);

//  Fill counts for one destination (dest NULL = all).
int lt_store_counts(lt_store_t *self, const char *dest, lt_store_counts_t *counts);

//  Operations (lthub dead discard, trace by key, store size, backup).

//  Yield up to limit deliveries of the messages with this business key
//  (DocumentId, MaHoSo), oldest first, without payloads.
int lt_store_trace_key(lt_store_t *self, const char *key, uint32_t limit, lt_store_row_fn *fn,
                       void *arg, lt_err_t *err);

//  Bytes the store occupies on disk (database file, its write-ahead log and
//  the payload segment files).
int64_t lt_store_size(lt_store_t *self);

//  Copy the database file at src to a new file dest, consistently, while
//  another process may be writing it (one read transaction). dest must not
//  exist. Works on any of lthub's database files (store, mailboxes).
int lt_store_backup_file(const char *src, const char *dest, lt_err_t *err);

//  Retention (the prune section at the end of lt_store.c). A message whose
//  deliveries are all DONE or DISCARDED and that was received before a
//  cutoff is pruned: its payload and deliveries are deleted, its row stays
//  as a stub (dedup key, envelope) so that a resend is still a duplicate,
//  a DocumentId conflict is still refused and a follow-up still finds its
//  document. Dead letters, unfinished deliveries, rejected inputs and the
//  ledger are never pruned. Each prune step is its own transaction; a
//  crash loses at most the last step, which the next one redoes.

//  What one prune step did.
typedef struct {
    uint32_t pruned;     //  messages pruned by this step
    uint32_t scanned;    //  messages looked at
    bool more;           //  stopped at a bound: more may be due at once
} lt_store_prune_t;

//  Retention figures.
typedef struct {
    uint64_t pruned;         //  messages pruned since the store was created
    int64_t oldest_kept;     //  Unix ms the oldest unpruned message was received (0 = none)
    int64_t free_bytes;      //  bytes of free pages inside the database file
    bool reclaims;           //  free pages are given back to the file system
} lt_store_retention_t;

//  Prune finished messages received before the Unix ms before, going on
//  from where the last step stopped: at most max_rows messages looked at
//  and about max_ms spent, in one transaction. Never inside a batch.
int lt_store_prune(lt_store_t *self, int64_t before, uint32_t max_rows, int64_t max_ms,
                   lt_store_prune_t *result, lt_err_t *err);

//  Delete payload segment files no kept message refers to any more (a few
//  per call), then give free pages beyond reserve_pages back to the file
//  system, at most max_pages (incremental vacuum); the number of pages
//  given back, or -1 with err.
int lt_store_reclaim(lt_store_t *self, uint32_t max_pages, uint32_t reserve_pages,
                     lt_err_t *err);

//  Fill the retention figures.
int lt_store_retention(lt_store_t *self, lt_store_retention_t *figures);

//  Return the Unix ms the message msgid was pruned at, or 0 when it was not
//  (or is unknown).
int64_t lt_store_pruned_at(lt_store_t *self, const char *msgid);

//  Self-test of retention (lt_store_prune_test.c).
void lt_store_prune_test(bool verbose);

//  Payload segments: payloads larger than the inline bound are appended to
//  segment files next to the database (PATH.segments/NNNNNN.seg), synced
//  before the commit that refers to them; smaller ones stay in the
//  database. Retention deletes a segment file once no kept message refers
//  to it (lt_store_reclaim).

//  Scans that read payloads (lt_store_scan_ready, lt_store_scan_due) hand
//  an envelope that needs no narrowing as the bytes stored (row->packed,
//  row->envelope NULL) when packed is true: what a relay sends on as it
//  is. Default false.
void lt_store_set_packed_rows(lt_store_t *self, bool packed);

//  Payloads up to bytes stay in the database (default 2048); larger ones
//  go to segment files. 0 puts every non-empty payload in a segment.
void lt_store_set_inline_max(lt_store_t *self, size_t bytes);

//  Close segment files at about bytes from now on (default 64 MiB).
void lt_store_set_segment_size(lt_store_t *self, uint64_t bytes);

//  Segment figures.
typedef struct {
    uint32_t files;           //  segment files on disk
    int64_t bytes;            //  bytes they take on disk
    uint32_t first;           //  lowest segment number (0 = none)
    uint32_t current;         //  segment appended to
    uint64_t reads_hot;       //  payloads read from memory
    uint64_t reads_disk;      //  payloads read from a segment file
    uint64_t payload_errors;  //  payloads missing or damaged when read
    uint64_t deleted;         //  segment files deleted by retention since start
} lt_store_segstats_t;

//  Fill the segment figures.
void lt_store_segment_stats(lt_store_t *self, lt_store_segstats_t *figures);

//  The lanes kept in memory (lt_lanes): lanes with unfinished deliveries,
//  and the bytes they take.
void lt_store_lane_stats(lt_store_t *self, size_t *lanes, size_t *bytes);

//  Self-test of the payload segments (lt_store_seg_test.c).
void lt_store_segments_test(bool verbose);

//  Free a row; safe on NULL.
void lt_store_row_destroy(lt_store_row_t **row_p);

//  Name of a delivery state ("ready", ...).
const char *lt_delivery_state_name(lt_delivery_state_t state);

//  Self-test of this class.
void lt_store_test(bool verbose);

//  Self-test support (lt_store_testfiles.c): a fresh path under /tmp for a
//  temporary store named after name, and the removal of a store's files
//  (the database, its -wal and -shm files, the segments folder).
void lt_store_test_path(char *path, size_t size, const char *name);
void lt_store_test_remove(const char *path);

//  Self-test of the ordering and dedup rules (lt_store_rules_test.c).
void lt_store_rules_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
