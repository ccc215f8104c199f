/*  lt_ledger: SQLite side of the counting ledger (see the header).

    Recording an event: read the merged state of its item and of the items
    it affects (a status 01/03 confirms a received document, a DVCQG
    acceptance syncs a received dossier), insert the row chained to the last
    one, and move each changed item in ledger_sum from its old (half month,
    agency, event, flags, dim) to its new one. The event's own item is read
    once, before the insert: its rows give the state before, with the new
    row the state after, and a row of the same origin means nothing is to
    be appended. Every read is an index lookup on the document's part of
    the item's 64-bit key. A relayed doc_in or a dossier_received not yet
    completed sets a wait bit on its item's first row; what completes it
    clears the bit (the alerts read the rows with bits set, by time).

    Format 3 writes one row for a relayed document's events: its doc_out
    in the row's columns, its doc_in items (alike but for event, agency and
    item) in the row's 'more', covered by the row's hash. The index holds
    (ikey, more), so the presence filter is built from the index alone.

    Two things keep this cheap on the relay's path. A presence filter in
    memory (a Bloom filter over the items' ikeys) answers "no such row" for
    a new document's items and for the statuses that would confirm them,
    so a new document costs no index probe. In deferred mode (the store's)
    the rows (with their wait bits) and ledger_sum moves of a batch are
    kept in memory, seen by the appends that follow, and written just
    before the batch's commit, in its transaction, rather than inside each
    message's savepoint; a row is hashed once it has all its events.
*/
#include "lt_ledger.h"
#include "lt_digest.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_period.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The ledger's format, kept in ledger_meta ('version'). Version 1 (stores
//  before it had ledger_meta): rows unique on (item, origin) by a text
//  index, hashes as hex text, ledger_sum per day. Version 2: an 8-byte hash
//  of the item (ikey) indexed instead, the uniqueness kept by
//  lt_ledger_append, hashes and digests as 32-byte blobs (their canonical
//  form, and so the chain, is unchanged), ledger_sum per half month.
//  Version 3: one row for a relayed document's events (its doc_out and
//  doc_in items, which differ only in event, agency and item): the first
//  in the row's columns, the others in 'more' (s_more_add), which the
//  row's hash covers when it is not empty (a version 2 row, whose 'more' is
//  empty, hashes as before). Rows of an item are found by their
//  document's part of the ikey (a range of the index on (ikey, more)).
//  ledger_open is replaced by 'wait', bits of the row's events still
//  waiting (bit 0 the columns' event, bit k more's k-th), outside the
//  hash like ledger_open was outside the chain, indexed by time. Version
//  4: the document's part of the ikey, 48 bits instead of 32, from the
//  date and number a DocumentId or MaHoSo carries (s_doc_part), so that
//  new documents' index entries go to a few pages; the rows and their
//  hashes are unchanged.
#define S_VERSION 4

//  The presence filter's smallest size in bits (1 MiB; see s_seen_build).
#define S_SEEN_MIN_BITS (1ull << 23)

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS ledger ("
    "  seq INTEGER PRIMARY KEY,"
    "  event TEXT NOT NULL,"
    "  item TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  day INTEGER NOT NULL,"
    "  electronic INTEGER NOT NULL,"
    "  secret INTEGER NOT NULL,"
    "  sig INTEGER NOT NULL,"
    "  signer TEXT NOT NULL,"
    "  channel INTEGER NOT NULL,"
    "  dim TEXT NOT NULL,"
    "  attrs INTEGER NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  sha256 BLOB NOT NULL,"
    "  msgid TEXT NOT NULL,"
    "  prev BLOB NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  ikey INTEGER NOT NULL,"
    "  more TEXT NOT NULL DEFAULT '',"
    "  wait INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS ledger_wait_status ON ledger (at)"
    "  WHERE wait != 0 AND event != 'dossier_received';"
    "CREATE INDEX IF NOT EXISTS ledger_wait_sync ON ledger (at)"
    "  WHERE wait != 0 AND event = 'dossier_received';"
    "CREATE INDEX IF NOT EXISTS ledger_ikey ON ledger (ikey, more);"
    "CREATE INDEX IF NOT EXISTS ledger_synced ON ledger (doc, at)"
    "  WHERE event = 'dossier_synced';"
    "CREATE TABLE IF NOT EXISTS ledger_sum ("
    "  day INTEGER NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  flags INTEGER NOT NULL,"
    "  dim TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (day, agency, event, flags, dim)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS ledger_meta ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO ledger_meta (name, value) VALUES ('version', 4);";

//  Version 2 to 3, in one transaction: the rows stay as they are (one
//  event each, 'more' empty, their hashes unchanged); then s_migrate_open.
static const char *s_migrate_3 = "ALTER TABLE ledger ADD COLUMN more TEXT NOT NULL DEFAULT '';"
                                 "DROP INDEX IF EXISTS ledger_ikey;"
                                 "ALTER TABLE ledger ADD COLUMN wait INTEGER NOT NULL DEFAULT 0;"
                                 "UPDATE ledger_meta SET value = 3 WHERE name = 'version';";

//  Version 3 to 4 (and 2 after s_migrate_3), in one transaction: every
//  row's ikey computed again; s_schema then builds the index afresh.
static const char *s_migrate_4 = "DROP INDEX IF EXISTS ledger_ikey;"
                                 "UPDATE ledger SET ikey = lt_ikey(item);"
                                 "UPDATE ledger_meta SET value = 4 WHERE name = 'version';";

//  ledger_open (versions 1 and 2) into the rows' wait bits: each waiting
//  item's first row (one event: bit 0).
static const char *s_migrate_open =
    "UPDATE ledger SET wait = 1 WHERE seq IN (SELECT (SELECT MIN(l.seq) FROM ledger l"
    "  WHERE l.ikey = lt_ikey(o.item) AND l.item = o.item) FROM ledger_open o);"
    "DROP TABLE ledger_open;";

//  Version 1 to 2, in one transaction: the rows copied with their item
//  hash and binary digests (lt_ikey, lt_unhex), the day sums merged into
//  half months. ledger_open is the same in both.
static const char *s_migrate_rename = "ALTER TABLE ledger RENAME TO ledger_v1;"
                                       "ALTER TABLE ledger_sum RENAME TO ledger_sum_v1;";
static const char *s_migrate_copy =
    "INSERT INTO ledger (seq, event, item, origin, doc, agency, at, day, electronic, secret,"
    "  sig, signer, channel, dim, attrs, detail, sha256, msgid, prev, hash, ikey)"
    " SELECT seq, event, item, origin, doc, agency, at, day, electronic, secret, sig, signer,"
    "  channel, dim, attrs, detail, lt_unhex(sha256), msgid, lt_unhex(prev), lt_unhex(hash),"
    "  lt_ikey(item) FROM ledger_v1 ORDER BY seq;"
    "INSERT INTO ledger_sum (day, agency, event, flags, dim, n)"
    " SELECT (day / 100) * 100 + CASE WHEN day % 100 >= 15 THEN 15 ELSE 1 END,"
    "  agency, event, flags, dim, SUM(n) FROM ledger_sum_v1"
    "  GROUP BY 1, 2, 3, 4, 5 HAVING SUM(n) != 0;"
    "DROP TABLE ledger_v1;"
    "DROP TABLE ledger_sum_v1;";

//  Fill ledger_open from the rows of a version 1 store made before it
//  existed: each waiting item with the time of its first row.
static const char *s_open_backfill =
    "CREATE TABLE IF NOT EXISTS ledger_open ("
    "  kind INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  item TEXT NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  PRIMARY KEY (kind, at, item)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO ledger_open (kind, at, item, agency, doc)"
    " SELECT 1, l.at, l.item, l.agency, l.doc FROM ledger l"
    "  WHERE l.event = 'doc_in'"
    "   AND l.seq = (SELECT MIN(f.seq) FROM ledger f WHERE f.item = l.item)"
    "   AND EXISTS (SELECT 1 FROM ledger r WHERE r.item = l.item AND r.origin = 'relay')"
    "   AND NOT EXISTS (SELECT 1 FROM ledger s"
    "    WHERE s.item IN ('status|' || l.doc || '|' || l.agency || '|01',"
    "                     'status|' || l.doc || '|' || l.agency || '|03'));"
    "INSERT OR IGNORE INTO ledger_open (kind, at, item, agency, doc)"
    " SELECT 2, l.at, l.item, l.agency, l.doc FROM ledger l"
    "  WHERE l.event = 'dossier_received'"
    "   AND l.seq = (SELECT MIN(f.seq) FROM ledger f WHERE f.item = l.item)"
    "   AND NOT EXISTS (SELECT 1 FROM ledger s"
    "    WHERE s.item > 'dossier_synced|' || l.doc || '|'"
    "      AND s.item < 'dossier_synced|' || l.doc || '}');";

#define S_COLUMNS                                                                                 \
    "seq, event, item, origin, doc, agency, at, day, electronic, secret, sig, signer, channel,"  \
    " dim, attrs, detail, sha256, msgid, prev, hash, more"

typedef enum {
    Q_HEAD,
    Q_INSERT,
    Q_ITEM_ROWS,
    Q_ITEM_ROWS_ANY,
    Q_SYNCED,
    Q_CONFIRMED,
    Q_SUM_ADD,
    Q_WAIT_SET,
    Q_WAIT_STATUS,
    Q_WAIT_SYNC,
    Q_COUNT
} s_query_t;

static const char *s_sql[Q_COUNT] = {
    [Q_HEAD] = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
    [Q_INSERT] = "INSERT INTO ledger (" S_COLUMNS ", ikey, wait) VALUES (?1, ?2, ?3, ?4, ?5,"
                 " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,"
                 " ?22, ?23)",
    //  The rows of a document (its part of the ikey): those of the item
    //  are picked from them (s_row_pick), a row holding several items.
    [Q_ITEM_ROWS] = "SELECT " S_COLUMNS " FROM ledger WHERE ikey BETWEEN ?1 AND ?2 ORDER BY seq",
    //  The same in the index's order, for recording: no sort (SQLite would
    //  sort the rows in a temporary b-tree on every call); s_merge finds
    //  the first row and the latest relay row by seq itself.
    [Q_ITEM_ROWS_ANY] = "SELECT " S_COLUMNS " FROM ledger WHERE ikey BETWEEN ?1 AND ?2",
    [Q_SYNCED] = "SELECT MIN(at) FROM ledger WHERE event = 'dossier_synced' AND doc = ?1",
    [Q_CONFIRMED] = "SELECT MIN(at) FROM ledger WHERE ikey = ?1 AND item = ?2",
    [Q_SUM_ADD] = "INSERT INTO ledger_sum (day, agency, event, flags, dim, n)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                  " ON CONFLICT (day, agency, event, flags, dim) DO UPDATE SET n = n + excluded.n",
    [Q_WAIT_SET] = "UPDATE ledger SET wait = (wait & ~?2) | ?3 WHERE seq = ?1",
    //  The rows with waiting events of a kind, oldest first (s_wait_list).
    [Q_WAIT_STATUS] = "SELECT at, wait, item, agency, doc, more FROM ledger"
                      " WHERE wait != 0 AND event != 'dossier_received' AND at <= ?1 ORDER BY at",
    [Q_WAIT_SYNC] = "SELECT at, wait, item, agency, doc, more FROM ledger"
                    " WHERE wait != 0 AND event = 'dossier_received' AND at <= ?1 ORDER BY at",
};

//  Whether a query writes (not prepared on a read-only ledger, whose store
//  may predate its tables).
static bool s_writes(int q)
{
    return q == Q_INSERT || q == Q_SUM_ADD || q == Q_WAIT_SET || q == Q_WAIT_STATUS ||
           q == Q_WAIT_SYNC;
}

//  One pending ledger_sum line (deferred mode): the batch's kept delta and
//  the delta of the message being recorded, which a failed publish drops.
typedef struct {
    int half;             //  first day of its half month
    char agency[64];      //  its agency
    char event[32];       //  its event
    unsigned flags;       //  LT_F_*
    char dim[128];        //  its dimension
    int64_t kept;         //  moves of the batch's recorded messages
    int64_t current;      //  moves of the message being recorded
} s_sum_t;

//  A row appended in deferred mode, written by lt_ledger_flush (its strings
//  in one allocation).
typedef struct s_prow s_prow_t;

//  A change of a pending row's wait bits by the message being recorded,
//  undone if its publish fails (lt_ledger_forget).
typedef struct {
    size_t prow;    //  the row's entry in prows
    int64_t wait;   //  its bits before
} s_wundo_t;

struct s_merged;

struct _lt_ledger_t {
    sqlite3 *db;                  //  the database (not owned)
    sqlite3_stmt *stmt[Q_COUNT];  //  prepared statements
    char path[512];               //  database file, for messages
    char province[16];            //  level-1 code of the province
    char secret_types[1024];      //  ",TYPE,TYPE," (trimmed), "" = none
    bool secret_doc;              //  the message being recorded is of a secret type
    const char *sha256;           //  digest of the message being recorded
    const char *msgid;            //  id of the message being recorded
    int64_t head_seq;             //  seq of the last row, -1 = read it from the table
    char head_hash[65];           //  hash of the last row ("" when empty)
    unsigned char prev_bin[32];   //  the next row's prev as bytes (head_hash, or zeros)
    bool prev_bin_ok;             //  prev_bin holds it (a text head cannot)
    unsigned char sha256_bin[32]; //  sha256 as bytes, when it is a digest
    bool sha256_bin_ok;           //  sha256_bin holds it
    bool sha256_bin_tried;        //  sha256 was converted (once, for its first row)
    uint64_t *seen;               //  presence filter (s_seen_build), NULL until built
    uint64_t seen_mask;           //  bits in seen - 1
    int64_t seen_rows;            //  rows it holds
    bool seen_failed;             //  it could not be built: probe always
    uint64_t seen_min_bits;       //  its smallest size (S_SEEN_MIN_BITS; the self-test's less)
    s_prow_t *prows;              //  rows waiting for the flush (deferred mode), in seq order
    size_t prow_count;            //  entries in prows
    size_t prow_kept;             //  of which kept for the batch (the rest: current)
    size_t prow_alloc;            //  entries allocated
    struct s_chunk *text;         //  the pending rows' strings (s_text_alloc), newest first
    s_wundo_t *wundo;             //  wait changes of the message being recorded
    size_t wundo_count;           //  entries in wundo
    size_t wundo_alloc;           //  entries allocated
    struct s_merged *merged;      //  lt_ledger_append's scratch, allocated once
    bool deferred;                //  ledger_sum moves wait for lt_ledger_flush
    s_sum_t *sums;                //  pending ledger_sum moves (deferred mode)
    size_t sum_count;             //  entries in sums
    size_t sum_alloc;             //  entries allocated
    size_t join_from;             //  prows from here are the message's (may share a row)
    bool head_dirty;              //  the last pending row is not hashed yet (s_head_settle)
};

//  The merged state of one item.
typedef struct {
    bool found;           //  the item has rows
    int day;              //  local day of its first row
    char agency[64];      //  its agency
    char event[32];       //  its event
    unsigned flags;       //  LT_F_*
    char dim[128];        //  its dimension
} s_state_t;

static void s_pending_clear(lt_ledger_t *self);
static void s_text_clear(lt_ledger_t *self, bool keep);

static int s_fail(lt_ledger_t *self, lt_err_t *err, const char *what)
{
    lt_err_set(err, LT_ESTORE, "ledger %s: %s: %s", self->path, what, sqlite3_errmsg(self->db));
    return -1;
}

static void s_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

//  The ledger format of a database: 0 none yet, 1 before ledger_meta, else
//  its version.
static int s_version(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT 1 FROM sqlite_master WHERE name = 'ledger'),"
                           " (SELECT 1 FROM sqlite_master WHERE name = 'ledger_meta')",
                           -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 1)
        version = sqlite3_column_int(stmt, 1) == 1 ? -1 : 1;
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (version == -1 &&
        sqlite3_prepare_v2(db, "SELECT value FROM ledger_meta WHERE name = 'version'", -1, &stmt,
                           NULL) == SQLITE_OK)
        version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 1;
    sqlite3_finalize(stmt);
    return version;
}

//  Run SQL, err naming what failed.
static int s_run(lt_ledger_t *self, const char *sql, const char *what, lt_err_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    lt_err_set(err, LT_ESTORE, "ledger %s: %s: %s", self->path, what, msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
}

static void s_sql_ikey(sqlite3_context *ctx, int argc, sqlite3_value **argv);
static void s_sql_unhex(sqlite3_context *ctx, int argc, sqlite3_value **argv);

//  Create the tables, converting an older ledger first (one transaction).
static int s_upgrade(lt_ledger_t *self, int version, lt_err_t *err)
{
    if (version > S_VERSION)
        return lt_err_set(err, LT_ESTORE,
                          "ledger %s: format %d is newer than this program's (%d)", self->path,
                          version, S_VERSION),
               -1;
    if (version == S_VERSION || version == 0)
        return s_run(self, s_schema, "cannot create tables", err);
    if (sqlite3_create_function(self->db, "lt_ikey", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                s_sql_ikey, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(self->db, "lt_unhex", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                NULL, s_sql_unhex, NULL, NULL) != SQLITE_OK)
        return s_fail(self, err, "cannot convert the ledger");
    int64_t started = lt_time_ms();
    bool had_open = false;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db, "SELECT 1 FROM sqlite_master WHERE name = 'ledger_open'",
                           -1, &stmt, NULL) == SQLITE_OK)
        had_open = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    int rc = s_run(self, "BEGIN IMMEDIATE", "cannot convert the ledger", err);
    if (rc == 0 && version == 1)
        //  Version 1: ledger_open first (a store made before it), on the
        //  old text index; then the rows and sums into the current tables
        //  ('more' empty: version 1 rows hash as they did).
        rc = (!had_open && s_run(self, s_open_backfill, "cannot fill ledger_open", err)) ||
                     s_run(self, s_migrate_rename, "cannot convert the ledger", err) ||
                     s_run(self, s_schema, "cannot create tables", err) ||
                     s_run(self, s_migrate_copy, "cannot convert the ledger", err)
                 ? -1
                 : 0;
    else if (rc == 0)   //  version 2: two columns more; 2 and 3: the new ikey
        rc = (version == 2 && s_run(self, s_migrate_3, "cannot convert the ledger", err)) ||
                     s_run(self, s_migrate_4, "cannot convert the ledger", err) ||
                     s_run(self, s_schema, "cannot create tables", err)
                 ? -1
                 : 0;
    //  Both: the waiting items of ledger_open into the rows' wait bits.
    if (rc == 0)
        rc = ((had_open || version == 1) &&
              s_run(self, s_migrate_open, "cannot convert ledger_open", err)) ||
                     s_run(self, "COMMIT", "cannot convert the ledger", err)
                 ? -1
                 : 0;
    if (rc && !sqlite3_get_autocommit(self->db))
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc == 0)   //  say what was done, and how long it took (30 s for 10^7 rows)
        lt_log_info("event=ledger_convert path=%s from=%d to=%d ms=%lld", self->path, version,
                    S_VERSION, (long long) (lt_time_ms() - started));
    sqlite3_create_function(self->db, "lt_ikey", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
    sqlite3_create_function(self->db, "lt_unhex", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
    return rc;
}

lt_ledger_t *lt_ledger_new(sqlite3 *db, const char *path, bool readonly, lt_err_t *err)
{
    assert(db);
    lt_ledger_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), NULL;
    self->db = db;
    self->head_seq = -1;
    self->join_from = SIZE_MAX;
    self->seen_min_bits = S_SEEN_MIN_BITS;
    snprintf(self->path, sizeof(self->path), "%s", path ? path : "");
    int version = s_version(db);
    if (readonly && version >= 1 && version < S_VERSION) {
        lt_err_set(err, LT_ESTORE,
                   "ledger %s: kept in an older format; lthubd converts it when it next starts",
                   self->path);
        free(self);
        return NULL;
    }
    if (!readonly && s_upgrade(self, version, err)) {
        free(self);
        return NULL;
    }
    for (int q = 0; q < Q_COUNT; q++) {
        if (readonly && s_writes(q))
            continue;
        if (sqlite3_prepare_v3(db, s_sql[q], -1, SQLITE_PREPARE_PERSISTENT, &self->stmt[q],
                               NULL) != SQLITE_OK) {
            s_fail(self, err, "no ledger in this store, or it cannot be read");
            lt_ledger_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void lt_ledger_destroy(lt_ledger_t **self_p)
{
    assert(self_p);
    lt_ledger_t *self = *self_p;
    if (!self)
        return;
    for (int q = 0; q < Q_COUNT; q++)
        sqlite3_finalize(self->stmt[q]);
    free(self->sums);
    free(self->seen);
    s_pending_clear(self);
    s_text_clear(self, false);
    free(self->prows);
    free(self->wundo);
    free(self->merged);
    free(self);
    *self_p = NULL;
}

void lt_ledger_set_province(lt_ledger_t *self, const char *province)
{
    assert(self);
    snprintf(self->province, sizeof(self->province), "%s", province ? province : "");
}

//  A growing buffer for the canonical form of a row.
typedef struct {
    char local[4096];   //  enough for every row the hub writes
    char *data;         //  local or heap
    size_t size;        //  bytes used
    size_t alloc;       //  bytes available
    bool failed;        //  out of memory
} s_canon_t;

//  Write value in decimal (no NUL) into out (24 bytes); returns the length.
static int s_decimal(char *out, long long value)
{
    char tmp[24];
    int n = 0;
    unsigned long long v = value < 0 ? 0ull - (unsigned long long) value : (unsigned long long) value;
    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    int len = 0;
    if (value < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    return len;
}

//  Append LENGTH ':' VALUE ',' (header comment).
static void s_canon_field(s_canon_t *c, const char *value)
{
    size_t len = strlen(value);
    char prefix[24];
    int plen = s_decimal(prefix, (long long) len);
    prefix[plen++] = ':';
    size_t need = c->size + (size_t) plen + len + 1;
    if (need > c->alloc) {
        size_t alloc = need * 2;
        char *data = c->data == c->local ? malloc(alloc) : realloc(c->data, alloc);
        if (!data) {
            c->failed = true;
            return;
        }
        if (c->data == c->local)
            memcpy(data, c->local, c->size);
        c->data = data;
        c->alloc = alloc;
    }
    memcpy(c->data + c->size, prefix, (size_t) plen);
    memcpy(c->data + c->size + plen, value, len);
    c->data[c->size + (size_t) plen + len] = ',';
    c->size = need;
}

static void s_canon_int(s_canon_t *c, long long value)
{
    char text[32];
    text[s_decimal(text, value)] = 0;
    s_canon_field(c, text);
}

//  The values of one row, in canonical order.
typedef struct {
    int64_t seq;
    const char *event, *item, *origin, *doc, *agency;
    int64_t at, day, electronic, secret, sig;
    const char *signer;
    int64_t channel;
    const char *dim;
    int64_t attrs;
    const char *detail, *sha256, *msgid, *prev;
    const char *more;      //  the row's other events (s_more_add), "" for none
    char sha256_hex[65];   //  sha256 read from a blob
    char prev_hex[65];     //  prev read from a blob
} s_row_t;

struct s_prow {
    s_row_t r;                 //  its values (strings in text)
    int64_t ikey;              //  s_ikey(item)
    unsigned char sha256[32];  //  payload digest as bytes, when sha256_bin
    bool sha256_bin;           //  r.sha256 is a digest
    unsigned char prev[32];    //  prev as bytes, when prev_bin
    bool prev_bin;             //  r.prev is a digest
    unsigned char hash[32];    //  the row's hash
    bool joined;               //  an event added to the row of the entry before it
    int bit;                   //  its event's place in the row (0: the columns, k: more's k-th)
    int events;                //  events in the row (its first entry)
    int64_t wait;              //  the row's wait bits (its first entry)
    char *more;                //  the row's other events (s_text_alloc), NULL = none
    size_t more_len;           //  bytes in more
};

static s_prow_t *s_join_host(lt_ledger_t *self, const s_row_t *r);
static int s_head_settle(lt_ledger_t *self, lt_err_t *err);

//  Hash a row: its 32 bytes into md and hex (either may be NULL); false
//  when out of memory (hex is then 64 'x', which matches no stored hash).
static bool s_hash(const s_row_t *r, unsigned char md[32], char hex[65])
{
    s_canon_t c;
    c.data = c.local;
    c.size = 0;
    c.alloc = sizeof(c.local);
    c.failed = false;
    s_canon_int(&c, r->seq);
    s_canon_field(&c, r->event);
    s_canon_field(&c, r->item);
    s_canon_field(&c, r->origin);
    s_canon_field(&c, r->doc);
    s_canon_field(&c, r->agency);
    s_canon_int(&c, r->at);
    s_canon_int(&c, r->day);
    s_canon_int(&c, r->electronic);
    s_canon_int(&c, r->secret);
    s_canon_int(&c, r->sig);
    s_canon_field(&c, r->signer);
    s_canon_int(&c, r->channel);
    s_canon_field(&c, r->dim);
    s_canon_int(&c, r->attrs);
    s_canon_field(&c, r->detail);
    s_canon_field(&c, r->sha256);
    s_canon_field(&c, r->msgid);
    s_canon_field(&c, r->prev);
    if (r->more && *r->more)   //  a version 2 row (none) hashes as it did
        s_canon_field(&c, r->more);
    unsigned char bytes[32];
    if (c.failed) {   //  cannot match any stored hash: the row is reported
        if (hex) {
            memset(hex, 'x', 64);
            hex[64] = 0;
        }
        memset(bytes, 0, sizeof(bytes));
    }
    else {
        lt_digest_sha256(c.data, c.size, bytes);
        if (hex)
            lt_digest_hex(bytes, sizeof(bytes), hex);
    }
    if (md)
        memcpy(md, bytes, sizeof(bytes));
    if (c.data != c.local)
        free(c.data);
    return !c.failed;
}

//  Text of a column, "" for NULL.
static const char *s_col(sqlite3_stmt *stmt, int i)
{
    const unsigned char *text = sqlite3_column_text(stmt, i);
    return text ? (const char *) text : "";
}

//  A digest column as lowercase hex: a 32-byte blob is written into buf, a
//  text value (version 1 rows, or a value that was not a digest) is returned
//  as it is.
static const char *s_hexcol(sqlite3_stmt *stmt, int i, char buf[65])
{
    if (sqlite3_column_type(stmt, i) == SQLITE_BLOB && sqlite3_column_bytes(stmt, i) == 32) {
        static const char digits[] = "0123456789abcdef";
        const unsigned char *bin = sqlite3_column_blob(stmt, i);
        for (int k = 0; k < 32; k++) {
            buf[2 * k] = digits[bin[k] >> 4];
            buf[2 * k + 1] = digits[bin[k] & 15];
        }
        buf[64] = 0;
        return buf;
    }
    return s_col(stmt, i);
}

//  The 32 bytes of 64 lowercase hex digits; false for anything else (kept
//  as text, so that its canonical form comes back unchanged).
static bool s_unhex(const char *hex, size_t len, unsigned char bin[32])
{
    //  Each character's value, 16 and above for anything but a digit.
    static const unsigned char value[256] = {
        ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
        ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16};
    if (len != 64)
        return false;
    unsigned bad = 0;
    for (int k = 0; k < 32; k++) {
        unsigned hi = value[(unsigned char) hex[2 * k]] - 1u;
        unsigned lo = value[(unsigned char) hex[2 * k + 1]] - 1u;
        bad |= hi | lo;
        bin[k] = (unsigned char) (hi << 4 | (lo & 15));
    }
    return bad < 16;
}

//  The bytes of sha256 when it is the digest of the message being recorded
//  and a digest, converted on its first row only; NULL otherwise.
static const unsigned char *s_sha256_bin(lt_ledger_t *self, const char *sha256)
{
    if (!sha256 || sha256 != self->sha256)
        return NULL;
    if (!self->sha256_bin_tried) {
        self->sha256_bin_ok = s_unhex(sha256, strlen(sha256), self->sha256_bin);
        self->sha256_bin_tried = true;
    }
    return self->sha256_bin_ok ? self->sha256_bin : NULL;
}

//  Bind a digest: 32 bytes when it is one in hex, else the text.
static void s_bind_digest(sqlite3_stmt *stmt, int i, const char *hex)
{
    unsigned char bin[32];
    if (s_unhex(hex, strlen(hex), bin))
        sqlite3_bind_blob(stmt, i, bin, 32, SQLITE_TRANSIENT);
    else
        sqlite3_bind_text(stmt, i, hex, -1, SQLITE_STATIC);
}

//  32-bit FNV-1a of len bytes.
static uint32_t s_fnv32(const char *text, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) text[i]) * 16777619u;
    return h;
}

//  A 64-bit hash of len bytes, eight at a time (little-endian, the same on
//  every machine), each word mixed in by a multiply, the result by
//  splitmix64's finalizer.
static uint64_t s_hash64(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *) text;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    for (;;) {
        uint64_t w = 0;
        memcpy(&w, p, len < 8 ? len : 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        if (len <= 8)
            break;
        p += 8;
        len -= 8;
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

//  The document's part of its items' index key (format 4; 48 bits), from
//  the document's key (len bytes at doc). A key that carries its date and
//  number, a DocumentId (ORGAN,yyyy/MM/dd,NUMBER/NOTATION) or a MaHoSo
//  (ORGAN-yyMMdd-NUMBER), gives its day since 2000-01-01 in the top 15
//  bits, a hash of the rest (organ and notation) in the next 13 and the
//  number (under 2^20) last: a day's documents from one agency, numbered
//  in order, go to the end of one run of the index, so a commit of many
//  documents writes a few index pages, not one per document. Any other
//  key (a date outside 2000-2088, a larger number) gives 48 bits of its
//  hash (s_hash64). Two documents may share a part (another notation in
//  the same hash bucket): every lookup compares the item's text.
static uint64_t s_doc_part(const char *doc, size_t len)
{
    const char *c1 = memchr(doc, ',', len);
    int y = -1, m = -1, d = -1;
    int64_t number = -1;
    const char *organ_end = NULL, *rest = NULL;
    if (c1 && (size_t) (doc + len - c1) > 12 && c1[5] == '/' && c1[8] == '/' && c1[11] == ',') {
        y = (int) lt_period_digits(c1 + 1, 4);   //  DocumentId
        m = (int) lt_period_digits(c1 + 6, 2);
        d = (int) lt_period_digits(c1 + 9, 2);
        const char *num = c1 + 12, *end = doc + len;
        const char *slash = memchr(num, '/', (size_t) (end - num));
        if (slash && slash > num && slash - num <= 9)
            number = lt_period_digits(num, (size_t) (slash - num));
        organ_end = c1;
        rest = slash;
    }
    else if (!c1 && len > 15) {   //  MaHoSo: the last two '-' fields
        const char *dash2 = doc + len - 1;
        while (dash2 > doc && *dash2 != '-')
            dash2--;
        if (dash2 - doc > 7 && dash2[-7] == '-' && doc + len - dash2 - 1 <= 9 &&
            doc + len - dash2 > 1) {
            y = (int) lt_period_digits(dash2 - 6, 2);
            y = y < 0 ? -1 : 2000 + y;
            m = (int) lt_period_digits(dash2 - 4, 2);
            d = (int) lt_period_digits(dash2 - 2, 2);
            number = lt_period_digits(dash2 + 1, (size_t) (doc + len - dash2 - 1));
            organ_end = dash2 - 7;
            rest = doc + len;
        }
    }
    if (y < 2000 || y > 2088 || m < 1 || m > 12 || d < 1 || d > 31 || number < 0 ||
        number >= 1 << 20)
        return s_hash64(doc, len) >> 16;
    uint64_t day = (uint64_t) (lt_period_days_from_civil(y, m, d) -
                               lt_period_days_from_civil(2000, 1, 1));
    uint32_t h = s_fnv32(doc, (size_t) (organ_end - doc));
    h = (h ^ s_fnv32(rest, (size_t) (doc + len - rest))) * 16777619u;
    return day << 33 | (uint64_t) (h >> 19) << 20 | ((uint64_t) number & 0xfffffu);
}

//  The low 16 bits of the ikey of an item.
#define S_ITEM_MASK 0xffffull

//  The item's index key: its document's part (from the key's second field:
//  DocumentId, MaHoSo, ...) in the high 48 bits, 16 bits of the hash of
//  the whole key in the low ones, so that the items of one document (its
//  doc_out, doc_in and statuses) sit side by side in the index: one page
//  written, not one per item. Two items may share a key; every lookup also
//  compares the text.
static int64_t s_ikey(const char *item)
{
    const char *doc = strchr(item, '|');
    doc = doc ? doc + 1 : item;
    return (int64_t) (s_doc_part(doc, strcspn(doc, "|")) << 16 |
                      (s_hash64(item, strlen(item)) & S_ITEM_MASK));
}

//  A row's other events ('more', version 3): for each, its event name and
//  its agency as LENGTH ':' VALUE ','; its item is the document's
//  (doc|DOC|AGENCY|in or out), every other field the row's.

//  Read the next field of more at *p; false at the end or on anything
//  malformed (a row edited by hand, which verify reports).
static bool s_more_field(const char **p, const char **val, size_t *len)
{
    const char *q = *p;
    size_t n = 0;
    int digits = 0;
    while (*q >= '0' && *q <= '9' && digits < 6) {
        n = n * 10 + (size_t) (*q++ - '0');
        digits++;
    }
    if (!digits || *q != ':')
        return false;
    q++;
    if (strnlen(q, n + 1) < n + 1 || q[n] != ',')
        return false;
    *val = q;
    *len = n;
    *p = q + n + 1;
    return true;
}

//  The next event of more: its event name, its agency (into agency) and
//  its item (into item); false at the end.
static bool s_more_next(const char **p, const char *doc, const char **event, char agency[64],
                        char *item, size_t item_size)
{
    const char *ev, *ag;
    size_t el, al;
    if (!s_more_field(p, &ev, &el) || !s_more_field(p, &ag, &al) || al >= 64)
        return false;
    if (el == 6 && memcmp(ev, "doc_in", 6) == 0)
        *event = "doc_in";
    else if (el == 7 && memcmp(ev, "doc_out", 7) == 0)
        *event = "doc_out";
    else
        return false;
    memcpy(agency, ag, al);
    agency[al] = 0;
    int n = snprintf(item, item_size, "doc|%s|%s|%s", doc, agency, el == 6 ? "in" : "out");
    return n > 0 && (size_t) n < item_size;
}

//  Whether row r holds item, its place in the row in *bit; if it is one of
//  its other events, r becomes that event (event, agency and item, in abuf
//  and ibuf).
static bool s_row_pick(s_row_t *r, const char *item, char *ibuf, size_t isize, char abuf[64],
                       int *bit)
{
    *bit = 0;
    if (strcmp(r->item, item) == 0)
        return true;
    const char *p = r->more, *event;
    while (p && *p && s_more_next(&p, r->doc, &event, abuf, ibuf, isize)) {
        ++*bit;
        if (strcmp(ibuf, item) == 0) {
            r->event = event;
            r->agency = abuf;
            r->item = ibuf;
            return true;
        }
    }
    return false;
}

static char *s_text_alloc(lt_ledger_t *self, size_t size);

//  Add an event (name, agency) to a pending row's more (copied into the
//  pending rows' chunks); -1 out of memory.
static int s_more_add(lt_ledger_t *self, s_prow_t *p, const char *event, const char *agency)
{
    char head[2][24];
    const char *val[2] = {event, agency};
    size_t len[2], hl[2], need = p->more_len + 1;
    for (int i = 0; i < 2; i++) {
        len[i] = strlen(val[i]);
        hl[i] = (size_t) s_decimal(head[i], (long long) len[i]);
        head[i][hl[i]++] = ':';
        need += hl[i] + len[i] + 1;
    }
    char *more = s_text_alloc(self, need);
    if (!more)
        return -1;
    if (p->more_len)
        memcpy(more, p->more, p->more_len);
    p->more = more;
    for (int i = 0; i < 2; i++) {
        memcpy(more + p->more_len, head[i], hl[i]);
        memcpy(more + p->more_len + hl[i], val[i], len[i]);
        more[p->more_len + hl[i] + len[i]] = ',';
        p->more_len += hl[i] + len[i] + 1;
    }
    more[p->more_len] = 0;
    p->r.more = more;
    return 0;
}

//  The presence filter (seen): a Bloom filter with two bits per key (in one
//  64-bit word), the keys being every row's ikey and, for every
//  dossier_synced row, the hash of its doc (which s_synced_at looks up by
//  that column). A clear bit proves that no such row exists, so a new
//  document's items, the statuses that would confirm them and a dossier's
//  sync are known absent without an index probe; set bits (other keys, a
//  rolled-back row) only mean "look". Built on the first append from the
//  ikey index with 8 to 16 bits a row (at least 1 MiB), and built again,
//  larger, once there are fewer than 4.

//  The word of a key and its two bits in it. The word comes from the
//  key's document part, the same in every key of a document (ikey, the
//  keys of events in 'more', a dossier's sync): all the lookups of a
//  message's document read one word, one cache miss. The bits come from a
//  mix of the whole key (splitmix64's finalizer).
static uint64_t *s_seen_word(const lt_ledger_t *self, uint64_t key, uint64_t *bits)
{
    uint64_t z = key + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    *bits = (1ull << (z >> 58)) | (1ull << ((z >> 52) & 63));
    uint64_t w = (key >> 16) * 0x9e3779b97f4a7c15ull;
    return &self->seen[((w >> 32) & self->seen_mask) >> 6];
}

static void s_seen_set(lt_ledger_t *self, uint64_t key)
{
    uint64_t bits;
    *s_seen_word(self, key, &bits) |= bits;
}

//  Whether rows of a key may exist (true while there is no filter).
static bool s_seen_may(const lt_ledger_t *self, uint64_t key)
{
    if (!self->seen)
        return true;
    uint64_t bits;
    return (*s_seen_word(self, key, &bits) & bits) == bits;
}

//  The filter's key of a dossier_synced row's doc (apart from ikeys: a
//  shared value only costs a probe).
static uint64_t s_synced_key(const char *doc)
{
    return s_doc_part(doc, strcspn(doc, "|")) << 16 ^ 0x5f5fu;
}

//  The filter's key of a document event kept in a row's 'more' (which has
//  no ikey in the index): the document's part of the ikey with a hash of
//  its agency and direction, all that the index's (ikey, more) gives.
static uint64_t s_extra_key(int64_t ikey, const char *agency, size_t len, bool in)
{
    uint64_t low = s_fnv32(agency, len) ^ (in ? 0x9e3779b9u : 0x7f4a7c15u) ^ 0x5bd1e995u;
    return ((uint64_t) ikey & ~S_ITEM_MASK) | ((low ^ low >> 16) & S_ITEM_MASK);
}

//  Whether rows of an item may exist: its ikey, or for a document item its
//  key as an event in 'more' (true while there is no filter).
static bool s_seen_may_item(const lt_ledger_t *self, int64_t ikey, const char *item)
{
    if (!self->seen || s_seen_may(self, (uint64_t) ikey))
        return true;
    const char *dir = strrchr(item, '|');
    if (strncmp(item, "doc|", 4) != 0 || !dir || dir == item + 3)
        return false;
    const char *agency = dir;
    while (agency > item + 3 && agency[-1] != '|')
        agency--;
    if (agency == item + 3)   //  no agency field
        return false;
    return s_seen_may(self, s_extra_key(ikey, agency, (size_t) (dir - agency),
                                        strcmp(dir, "|in") == 0));
}

//  Fill the filter from the table; without memory or on a read error there
//  is none (every lookup probes the index).
static void s_seen_build(lt_ledger_t *self)
{
    free(self->seen);
    self->seen = NULL;
    self->seen_failed = true;   //  until it is complete
    uint64_t bits = self->seen_min_bits;
    uint64_t rows = (uint64_t) (self->head_seq > 0 ? self->head_seq : 0) + self->prow_count;
    while (bits < 8 * rows && bits < (1ull << 32))
        bits <<= 1;
    uint64_t *seen = calloc(bits / 64, sizeof(uint64_t));
    if (!seen)
        return;
    self->seen = seen;
    self->seen_mask = bits - 1;
    self->seen_rows = 0;
    static const char *sql[] = {"SELECT ikey, more FROM ledger",
                                "SELECT doc FROM ledger WHERE event = 'dossier_synced'"};
    for (int q = 0; q < 2 && self->seen; q++) {
        sqlite3_stmt *stmt = NULL;
        int step = SQLITE_ERROR;
        if (sqlite3_prepare_v2(self->db, sql[q], -1, &stmt, NULL) == SQLITE_OK)
            while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
                if (q == 0) {
                    int64_t ikey = sqlite3_column_int64(stmt, 0);
                    s_seen_set(self, (uint64_t) ikey);
                    const char *p = s_col(stmt, 1), *event, *agency;
                    size_t elen, alen;   //  the row's other items
                    while (*p && s_more_field(&p, &event, &elen) &&
                           s_more_field(&p, &agency, &alen))
                        s_seen_set(self, s_extra_key(ikey, agency, alen, elen == 6));
                }
                else
                    s_seen_set(self, s_synced_key(s_col(stmt, 0)));
                self->seen_rows++;
            }
        sqlite3_finalize(stmt);
        if (step != SQLITE_DONE) {
            free(self->seen);
            self->seen = NULL;
        }
    }
    for (size_t i = 0; self->seen && i < self->prow_count; i++) {   //  rows not yet written
        const s_row_t *r = &self->prows[i].r;
        s_seen_set(self, (uint64_t) self->prows[i].ikey);
        if (self->prows[i].joined)
            s_seen_set(self, s_extra_key(self->prows[i].ikey, r->agency, strlen(r->agency),
                                         strcmp(r->event, "doc_in") == 0));
        if (strcmp(r->event, "dossier_synced") == 0)
            s_seen_set(self, s_synced_key(r->doc));
        self->seen_rows++;
    }
    self->seen_failed = !self->seen;
}

//  Note an appended row in the filter; with fewer than 4 bits a key left,
//  drop it so that the next append builds a larger one.
static void s_seen_add(lt_ledger_t *self, int64_t ikey, lt_ev_t event, const char *doc)
{
    if (!self->seen)
        return;
    s_seen_set(self, (uint64_t) ikey);
    if (event == LT_EV_DOSSIER_SYNCED)
        s_seen_set(self, s_synced_key(doc));
    if ((uint64_t) ++self->seen_rows > (self->seen_mask + 1) / 4) {
        free(self->seen);
        self->seen = NULL;
    }
}

//  SQL lt_ikey(item), for the migration.
static void s_sql_ikey(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void) argc;
    const unsigned char *text = sqlite3_value_text(argv[0]);
    sqlite3_result_int64(ctx, s_ikey(text ? (const char *) text : ""));
}

//  SQL lt_unhex(value): a hex digest as 32 bytes, anything else unchanged.
static void s_sql_unhex(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void) argc;
    unsigned char bin[32];
    const unsigned char *text = sqlite3_value_text(argv[0]);
    if (sqlite3_value_type(argv[0]) == SQLITE_TEXT && text &&
        s_unhex((const char *) text, (size_t) sqlite3_value_bytes(argv[0]), bin))
        sqlite3_result_blob(ctx, bin, 32, SQLITE_TRANSIENT);
    else
        sqlite3_result_value(ctx, argv[0]);
}

//  Read a row of S_COLUMNS from stmt (strings on loan until the next step).
static void s_read_row(sqlite3_stmt *stmt, s_row_t *r)
{
    r->seq = sqlite3_column_int64(stmt, 0);
    r->event = s_col(stmt, 1);
    r->item = s_col(stmt, 2);
    r->origin = s_col(stmt, 3);
    r->doc = s_col(stmt, 4);
    r->agency = s_col(stmt, 5);
    r->at = sqlite3_column_int64(stmt, 6);
    r->day = sqlite3_column_int64(stmt, 7);
    r->electronic = sqlite3_column_int64(stmt, 8);
    r->secret = sqlite3_column_int64(stmt, 9);
    r->sig = sqlite3_column_int64(stmt, 10);
    r->signer = s_col(stmt, 11);
    r->channel = sqlite3_column_int64(stmt, 12);
    r->dim = s_col(stmt, 13);
    r->attrs = sqlite3_column_int64(stmt, 14);
    r->detail = s_col(stmt, 15);
    r->sha256 = s_hexcol(stmt, 16, r->sha256_hex);
    r->msgid = s_col(stmt, 17);
    r->prev = s_hexcol(stmt, 18, r->prev_hex);
    r->more = s_col(stmt, 20);
}

int64_t lt_ledger_head(lt_ledger_t *self, char hash[65])
{
    assert(self);
    sqlite3_stmt *stmt = self->stmt[Q_HEAD];
    int64_t seq = 0;
    hash[0] = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        seq = sqlite3_column_int64(stmt, 0);
        char buf[65];
        snprintf(hash, 65, "%s", s_hexcol(stmt, 1, buf));
    }
    s_reset(stmt);
    return seq;
}

//  Time DVCQG first accepted a revision of dossier doc, 0 when never.
static int64_t s_synced_at(lt_ledger_t *self, const char *doc)
{
    if (!s_seen_may(self, s_synced_key(doc)))
        return 0;
    sqlite3_stmt *stmt = self->stmt[Q_SYNCED];
    sqlite3_bind_text(stmt, 1, doc, -1, SQLITE_STATIC);
    int64_t at = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        at = sqlite3_column_int64(stmt, 0);
    s_reset(stmt);
    for (size_t i = 0; i < self->prow_count; i++) {   //  and the rows not yet written
        const s_row_t *r = &self->prows[i].r;
        if (strcmp(r->event, "dossier_synced") == 0 && strcmp(r->doc, doc) == 0 &&
            (at == 0 || r->at < at))
            at = r->at;
    }
    return at;
}

//  The first of the rows not yet written of an item at or after *from, or
//  NULL; *from is moved past it.
static const s_prow_t *s_prow_next(const lt_ledger_t *self, int64_t ikey, const char *item,
                                   size_t *from)
{
    for (size_t i = *from; i < self->prow_count; i++)
        if (self->prows[i].ikey == ikey && strcmp(self->prows[i].r.item, item) == 0) {
            *from = i + 1;
            return &self->prows[i];
        }
    *from = self->prow_count;
    return NULL;
}

//  Time a status 01 or 03 from agency about doc came back, 0 when none.
static int64_t s_confirmed_at(lt_ledger_t *self, const char *doc, const char *agency)
{
    char a[800], b[800];
    size_t ld = strlen(doc), la = strlen(agency);
    if (ld + la + 12 > sizeof(a))   //  longer than any item: none can match
        return 0;
    memcpy(a, "status|", 7);
    memcpy(a + 7, doc, ld);
    a[7 + ld] = '|';
    memcpy(a + 8 + ld, agency, la);
    memcpy(a + 8 + ld + la, "|01", 4);
    memcpy(b, a, 8 + ld + la);
    memcpy(b + 8 + ld + la, "|03", 4);
    //  One index probe per code (an IN list would build temporary tables).
    sqlite3_stmt *stmt = self->stmt[Q_CONFIRMED];
    int64_t at = 0;
    const char *items[] = {a, b};
    for (int i = 0; i < 2; i++) {
        int64_t ikey = s_ikey(items[i]);
        if (!s_seen_may(self, (uint64_t) ikey))
            continue;
        sqlite3_bind_int64(stmt, 1, ikey);
        sqlite3_bind_text(stmt, 2, items[i], -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
            int64_t t = sqlite3_column_int64(stmt, 0);
            if (at == 0 || t < at)
                at = t;
        }
        s_reset(stmt);
        size_t from = 0;
        for (const s_prow_t *p; (p = s_prow_next(self, ikey, items[i], &from));)
            if (at == 0 || p->r.at < at)
                at = p->r.at;
    }
    return at;
}

//  Row facts merged over an item's rows.
typedef struct {
    bool found;          //  some row
    bool relayed;        //  a relay row
    bool electronic;     //  a row says electronic
    bool secret;         //  a row says secret
    bool sig_ok;         //  the latest relay row's verdict is valid
    int64_t relay_seq;   //  seq of that row
    int64_t relay_at;    //  its time: when the hub delivered the document
    unsigned attrs;      //  LT_EVA_* of every row
} s_acc_t;

//  Merge the rows of an item; with want_rows, also list "seq:hash" pairs
//  and copy the evidence fields into it (strings owned by it).
typedef struct s_merged {
    s_state_t st;          //  merged state
    char origins[32];      //  relay, register, relay+register
    int64_t at;            //  first row's time
    lt_sig_t sig;          //  verdict of the relay row
    char signer[256];      //  signer of the relay row
    int channel;           //  channel
    char doc[520];         //  document, dossier or key
    char detail[512];      //  first row's detail (last dossier row wins)
    char sha256[65];       //  first row's payload digest
    char msgid[40];        //  first row's message id
    char rows[1024];       //  "seq:hash;..."
    int64_t related_at;    //  status 01/03 time (documents), DVCQG acceptance (dossiers)
    int64_t first_seq;     //  seq of its first row
    int first_bit;         //  the item's place in that row (its wait bit)
    lt_ev_t ev;            //  its event
    s_acc_t acc;           //  its rows' facts (with extra's)
} s_merged_t;

//  Add a row's facts (rows may come in any order).
static void s_acc_add(s_acc_t *a, const s_row_t *r)
{
    a->found = true;
    if (strcmp(r->origin, "relay") == 0 && (!a->relayed || r->seq >= a->relay_seq)) {
        a->relayed = true;
        a->relay_seq = r->seq;
        a->relay_at = r->at;
        a->sig_ok = r->sig == LT_SIG_VALID;
    }
    a->electronic |= r->electronic != 0;
    a->secret |= r->secret != 0;
    a->attrs |= (unsigned) r->attrs;
}

//  The flags of an item from its merged rows and the related time.
static unsigned s_flags(lt_ev_t ev, const s_acc_t *a, int channel, int day, int64_t related_at)
{
    unsigned f = a->secret ? LT_F_SECRET : 0;
    if (ev == LT_EV_DOC_OUT || ev == LT_EV_DOC_IN) {
        if (a->relayed)
            f |= LT_F_RELAYED | LT_F_ELECTRONIC;
        else if (a->electronic)
            f |= LT_F_DECLARED | LT_F_ELECTRONIC;
        if (a->sig_ok)
            f |= LT_F_SIGNED;
        //  Received when the hub delivered it, even when a register line
        //  came first (spec/indicators.md, Rules: the hub's own clock).
        int received = a->relayed ? lt_period_day(a->relay_at) : day;
        if (ev == LT_EV_DOC_IN && related_at && lt_period_day(related_at) == received)
            f |= LT_F_CONFIRMED;
    }
    else if (ev == LT_EV_DOSSIER_RECEIVED) {
        if (channel == 2)
            f |= LT_F_ONLINE;
        if (channel == 3)
            f |= LT_F_POSTAL;
        if (a->attrs & LT_EVA_DIGITISED)
            f |= LT_F_DIGITISED;
        if (related_at)
            f |= LT_F_SYNCED;
    }
    else if (ev == LT_EV_DOSSIER_FINISHED && (a->attrs & LT_EVA_ONTIME))
        f |= LT_F_ONTIME;
    else if (ev == LT_EV_DOSSIER_RETURNED && (a->attrs & LT_EVA_POSTAL_RETURN))
        f |= LT_F_POSTAL_RETURN;
    return f;
}

//  Take the item-level fields of m from its first row.
//  Copy text into a field, cut to it (snprintf's "%s" without its cost).
static void s_copy(char *buf, size_t size, const char *text)
{
    size_t len = strlen(text);
    if (len >= size)
        len = size - 1;
    memcpy(buf, text, len);
    buf[len] = 0;
}

static void s_first_row(s_merged_t *m, const s_row_t *r)
{
    m->st.found = true;
    m->first_seq = r->seq;
    m->st.day = (int) r->day;
    m->at = r->at;
    s_copy(m->st.agency, sizeof(m->st.agency), r->agency);
    s_copy(m->st.event, sizeof(m->st.event), r->event);
    s_copy(m->st.dim, sizeof(m->st.dim), r->dim);
    s_copy(m->doc, sizeof(m->doc), r->doc);
    m->channel = (int) r->channel;
}

//  Merge the rows of an item into m; with evidence, also the fields only
//  the evidence shows (origins, rows, digests, detail, signer). With extra
//  (a row about to be appended), m is the state with it and *before the
//  state without it, and *dup says the item already has a row of extra's
//  origin (then nothing is to be appended): one read for all.
static int s_merge(lt_ledger_t *self, const char *item, const s_row_t *extra, bool evidence,
                   s_merged_t *m, s_state_t *before, bool *dup, lt_err_t *err)
{
    memset(m, 0, sizeof(*m));
    if (before)
        memset(before, 0, sizeof(*before));
    if (dup)
        *dup = false;
    //  Evidence lists the rows in their order; recording needs no order.
    sqlite3_stmt *stmt = self->stmt[evidence ? Q_ITEM_ROWS : Q_ITEM_ROWS_ANY];
    s_acc_t all = {0};
    int64_t sig_seq = -1;   //  the relay row m->sig comes from
    int step = SQLITE_DONE;
    int64_t ikey = s_ikey(item);
    bool may = s_seen_may_item(self, ikey, item);
    if (may) {   //  the rows of its document
        uint64_t doc = (uint64_t) ikey & ~S_ITEM_MASK;
        sqlite3_bind_int64(stmt, 1, (int64_t) doc);
        sqlite3_bind_int64(stmt, 2, (int64_t) (doc | S_ITEM_MASK));
    }
    char ibuf[800], abuf[64];
    int bit = 0;
    size_t from = 0;
    bool table_done = false;
    //  The table's rows, then (not for evidence) those not yet written.
    while (may) {
        s_row_t r;
        if (!table_done) {
            if ((step = sqlite3_step(stmt)) != SQLITE_ROW) {
                table_done = true;
                if (step != SQLITE_DONE)
                    break;
                continue;
            }
            s_read_row(stmt, &r);
            if (!s_row_pick(&r, item, ibuf, sizeof(ibuf), abuf, &bit))
                continue;
        }
        else {
            const s_prow_t *pending = evidence ? NULL : s_prow_next(self, ikey, item, &from);
            if (!pending)
                break;
            r = pending->r;
            bit = pending->bit;
        }
        if (!m->st.found || r.seq < m->first_seq) {   //  the first row so far
            s_first_row(m, &r);
            m->first_bit = bit;
            if (evidence) {
                snprintf(m->detail, sizeof(m->detail), "%s", r.detail);
                snprintf(m->sha256, sizeof(m->sha256), "%s", r.sha256);
                snprintf(m->msgid, sizeof(m->msgid), "%s", r.msgid);
            }
        }
        if (strcmp(r.origin, "relay") == 0 && r.seq >= sig_seq) {   //  the latest relay row
            sig_seq = r.seq;
            m->sig = (lt_sig_t) r.sig;
            if (evidence)
                snprintf(m->signer, sizeof(m->signer), "%s", r.signer);
        }
        if (extra && dup && strcmp(r.origin, extra->origin) == 0)
            *dup = true;
        s_acc_add(&all, &r);
        if (!evidence)
            continue;
        size_t used = strlen(m->origins);
        if (!strstr(m->origins, r.origin))
            snprintf(m->origins + used, sizeof(m->origins) - used, "%s%s", used ? "+" : "",
                     r.origin);
        char hex[65];
        used = strlen(m->rows);
        snprintf(m->rows + used, sizeof(m->rows) - used, "%s%lld:%s", used ? ";" : "",
                 (long long) r.seq, s_hexcol(stmt, 19, hex));
    }
    s_reset(stmt);
    if (step != SQLITE_DONE)
        return s_fail(self, err, "cannot read an item");
    if ((dup && *dup) || (!m->st.found && !extra))
        return 0;
    s_acc_t rest = all;
    if (extra) {
        if (!m->st.found)
            s_first_row(m, extra);
        if (strcmp(extra->origin, "relay") == 0)
            m->sig = (lt_sig_t) extra->sig;
        s_acc_add(&all, extra);
    }
    lt_ev_t ev = lt_ev_from_name(m->st.event);
    m->ev = ev;
    m->acc = all;
    if (ev == LT_EV_DOC_IN)
        m->related_at = s_confirmed_at(self, m->doc, m->st.agency);
    else if (ev == LT_EV_DOSSIER_RECEIVED)
        m->related_at = s_synced_at(self, m->doc);
    m->st.flags = s_flags(ev, &all, m->channel, m->st.day, m->related_at);
    if (before && rest.found) {
        *before = m->st;
        before->flags = s_flags(ev, &rest, m->channel, m->st.day, m->related_at);
    }
    return 0;
}

//  The half month a day is counted in: its first day (yyyymm01, yyyymm15).
//  Periods start on the 1st or the 15th and end on the 14th or a month's
//  last day, so each is a whole number of halves.
static int s_half(int day)
{
    return day / 100 * 100 + (day % 100 >= 15 ? 15 : 1);
}

//  Write delta items to one ledger_sum line now.
static int s_sum_write(lt_ledger_t *self, int half, const char *agency, const char *event,
                       unsigned flags, const char *dim, int64_t delta, lt_err_t *err)
{
    sqlite3_stmt *stmt = self->stmt[Q_SUM_ADD];
    sqlite3_bind_int(stmt, 1, half);
    sqlite3_bind_text(stmt, 2, agency, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, event, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, (int) flags);
    sqlite3_bind_text(stmt, 5, dim, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, delta);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "cannot update ledger_sum");
}

//  Add delta items to one ledger_sum line: at once, or in deferred mode as
//  a pending move of the message being recorded (a batch's messages mostly
//  move the same few lines, so the batch writes each line once).
static int s_sum_add(lt_ledger_t *self, const s_state_t *st, int delta, lt_err_t *err)
{
    int half = s_half(st->day);
    if (!self->deferred)
        return s_sum_write(self, half, st->agency, st->event, st->flags, st->dim, delta, err);
    for (size_t i = self->sum_count; i-- > 0;) {
        s_sum_t *sum = &self->sums[i];
        if (sum->half == half && sum->flags == st->flags && strcmp(sum->event, st->event) == 0 &&
            strcmp(sum->agency, st->agency) == 0 && strcmp(sum->dim, st->dim) == 0) {
            sum->current += delta;
            return 0;
        }
    }
    if (self->sum_count == self->sum_alloc) {
        size_t alloc = self->sum_alloc ? self->sum_alloc * 2 : 64;
        s_sum_t *sums = realloc(self->sums, alloc * sizeof(*sums));
        if (!sums)
            return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1;
        self->sums = sums;
        self->sum_alloc = alloc;
    }
    s_sum_t *sum = &self->sums[self->sum_count++];
    memset(sum, 0, sizeof(*sum));
    sum->half = half;
    snprintf(sum->agency, sizeof(sum->agency), "%s", st->agency);
    snprintf(sum->event, sizeof(sum->event), "%s", st->event);
    sum->flags = st->flags;
    snprintf(sum->dim, sizeof(sum->dim), "%s", st->dim);
    sum->current = delta;
    return 0;
}

void lt_ledger_set_deferred(lt_ledger_t *self, bool deferred)
{
    assert(self);
    assert(self->sum_count == 0 && self->prow_count == 0);
    self->deferred = deferred;
}

void lt_ledger_keep(lt_ledger_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->sum_count; i++) {
        self->sums[i].kept += self->sums[i].current;
        self->sums[i].current = 0;
    }
    self->prow_kept = self->prow_count;
    self->wundo_count = 0;   //  its wait changes stay
}

//  The pending rows' strings live in chunks of at least 64 KiB, emptied
//  together when the batch's rows are written or dropped: no allocation a
//  row. A row dropped with its message (lt_ledger_forget) leaves its bytes
//  until then.
typedef struct s_chunk {
    struct s_chunk *next;   //  the one before
    size_t used, size;      //  bytes of data
    char data[];
} s_chunk_t;

#define S_CHUNK_MIN 65536

//  size bytes for a pending row's strings; NULL out of memory.
static char *s_text_alloc(lt_ledger_t *self, size_t size)
{
    s_chunk_t *c = self->text;
    if (!c || c->size - c->used < size) {
        size_t room = size > S_CHUNK_MIN ? size : S_CHUNK_MIN;
        if (!(c = malloc(sizeof(*c) + room)))
            return NULL;
        c->next = self->text;
        c->used = 0;
        c->size = room;
        self->text = c;
    }
    char *at = c->data + c->used;
    c->used += size;
    return at;
}

//  Empty the chunks, keeping the newest for the next batch (keep false:
//  none).
static void s_text_clear(lt_ledger_t *self, bool keep)
{
    s_chunk_t *c = self->text;
    if (c && keep) {
        c->used = 0;
        c = c->next;
        self->text->next = NULL;
    }
    else
        self->text = NULL;
    while (c) {
        s_chunk_t *next = c->next;
        free(c);
        c = next;
    }
}

//  Drop every row and wait change not yet written.
static void s_pending_clear(lt_ledger_t *self)
{
    self->prow_count = self->prow_kept = 0;
    self->wundo_count = 0;
    s_text_clear(self, true);
}

//  Write one row (Q_INSERT); sha256_bin and prev_bin are the bytes of those
//  digests, or NULL to bind their text.
static int s_insert(lt_ledger_t *self, const s_row_t *r, const unsigned char *sha256_bin,
                    const unsigned char *prev_bin, const unsigned char hash[32], int64_t ikey,
                    int64_t wait, lt_err_t *err)
{
    sqlite3_stmt *ins = self->stmt[Q_INSERT];
    sqlite3_bind_int64(ins, 1, r->seq);
    sqlite3_bind_text(ins, 2, r->event, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, r->item, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, r->origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, r->doc, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, r->agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, r->at);
    sqlite3_bind_int64(ins, 8, r->day);
    sqlite3_bind_int64(ins, 9, r->electronic);
    sqlite3_bind_int64(ins, 10, r->secret);
    sqlite3_bind_int64(ins, 11, r->sig);
    sqlite3_bind_text(ins, 12, r->signer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 13, r->channel);
    sqlite3_bind_text(ins, 14, r->dim, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 15, r->attrs);
    sqlite3_bind_text(ins, 16, r->detail, -1, SQLITE_STATIC);
    if (sha256_bin)
        sqlite3_bind_blob(ins, 17, sha256_bin, 32, SQLITE_STATIC);
    else
        s_bind_digest(ins, 17, r->sha256);
    sqlite3_bind_text(ins, 18, r->msgid, -1, SQLITE_STATIC);
    if (prev_bin)
        sqlite3_bind_blob(ins, 19, prev_bin, 32, SQLITE_STATIC);
    else
        s_bind_digest(ins, 19, r->prev);
    sqlite3_bind_blob(ins, 20, hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(ins, 21, r->more ? r->more : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 22, ikey);
    sqlite3_bind_int64(ins, 23, wait);
    int step = sqlite3_step(ins);
    sqlite3_reset(ins);   //  every parameter is bound again for the next row
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "cannot append");
}

//  Keep a row for the flush (deferred mode), its strings copied.
static int s_prow_add(lt_ledger_t *self, const s_row_t *r, const unsigned char *sha256_bin,
                      const unsigned char *prev_bin, const unsigned char hash[32], int64_t ikey,
                      lt_err_t *err)
{
    if (self->prow_count == self->prow_alloc) {
        size_t alloc = self->prow_alloc ? self->prow_alloc * 2 : 256;
        s_prow_t *prows = realloc(self->prows, alloc * sizeof(*prows));
        if (!prows)
            return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1;
        self->prows = prows;
        self->prow_alloc = alloc;
    }
    const char *in[] = {r->event, r->item,   r->origin, r->doc,   r->agency,
                        r->signer, r->dim,   r->detail, r->sha256, r->msgid, r->prev};
    size_t len[11], total = 0;
    for (int i = 0; i < 11; i++)
        total += (len[i] = strlen(in[i])) + 1;
    char *text = s_text_alloc(self, total);
    if (!text)
        return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1;
    s_prow_t *p = &self->prows[self->prow_count++];
    memset(p, 0, sizeof(*p));
    p->r = *r;
    p->r.more = "";
    p->events = 1;
    const char **out[] = {&p->r.event, &p->r.item,   &p->r.origin, &p->r.doc,
                          &p->r.agency, &p->r.signer, &p->r.dim,    &p->r.detail,
                          &p->r.sha256, &p->r.msgid,  &p->r.prev};
    for (int i = 0; i < 11; i++) {
        memcpy(text, in[i], len[i] + 1);
        *out[i] = text;
        text += len[i] + 1;
    }
    p->ikey = ikey;
    if ((p->sha256_bin = sha256_bin != NULL))
        memcpy(p->sha256, sha256_bin, 32);
    if ((p->prev_bin = prev_bin != NULL))
        memcpy(p->prev, prev_bin, 32);
    memcpy(p->hash, hash, 32);
    return 0;
}

int lt_ledger_flush(lt_ledger_t *self, lt_err_t *err)
{
    assert(self);
    int rc = s_head_settle(self, err);
    //  The batch's rows in their order (with their wait bits), its sums.
    for (size_t i = 0; i < self->prow_count && rc == 0; i++) {
        const s_prow_t *p = &self->prows[i];
        if (p->joined)   //  in the row of an entry before it
            continue;
        rc = s_insert(self, &p->r, p->sha256_bin ? p->sha256 : NULL,
                      p->prev_bin ? p->prev : NULL, p->hash, p->ikey, p->wait, err);
    }
    if (rc)
        self->head_seq = -1;   //  the batch is rolled back
    s_pending_clear(self);
    for (size_t i = 0; i < self->sum_count && rc == 0; i++) {
        const s_sum_t *sum = &self->sums[i];
        if (sum->kept != 0)
            rc = s_sum_write(self, sum->half, sum->agency, sum->event, sum->flags, sum->dim,
                             sum->kept, err);
    }
    self->sum_count = 0;
    return rc;
}

void lt_ledger_discard(lt_ledger_t *self)
{
    assert(self);
    self->sum_count = 0;
    s_pending_clear(self);
    self->head_seq = -1;
    self->head_dirty = false;
}

//  Set (on) or clear the wait bit of event bit of row seq: in the row
//  itself when it waits for the flush (the change undone if the message's
//  publish fails), else in the table (in the message's savepoint).
static int s_wait_set(lt_ledger_t *self, int64_t seq, int bit, bool on, lt_err_t *err)
{
    int64_t mask = (int64_t) (1ull << bit);
    for (size_t i = self->prow_count; i-- > 0;) {
        s_prow_t *p = &self->prows[i];
        if (p->r.seq < seq)
            break;
        if (p->r.seq != seq || p->joined)
            continue;
        if (self->wundo_count == self->wundo_alloc) {
            size_t alloc = self->wundo_alloc ? self->wundo_alloc * 2 : 16;
            s_wundo_t *wundo = realloc(self->wundo, alloc * sizeof(*wundo));
            if (!wundo)
                return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1;
            self->wundo = wundo;
            self->wundo_alloc = alloc;
        }
        self->wundo[self->wundo_count++] = (s_wundo_t){.prow = i, .wait = p->wait};
        p->wait = on ? p->wait | mask : p->wait & ~mask;
        return 0;
    }
    sqlite3_stmt *stmt = self->stmt[Q_WAIT_SET];
    sqlite3_bind_int64(stmt, 1, seq);
    sqlite3_bind_int64(stmt, 2, mask);
    sqlite3_bind_int64(stmt, 3, on ? mask : 0);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "cannot update a row's wait");
}

//  One agency of lt_ledger_waiting's answer.
typedef struct {
    char agency[64];     //  the agency
    int64_t count;       //  its waiting items
    int64_t oldest_at;   //  the oldest one's time
    char doc[520];       //  its document
} s_waitsum_t;

//  Count one waiting event into sums (a new agency at the end); -1 out of memory.
static int s_wait_count(s_waitsum_t **sums, size_t *count, size_t *alloc, const char *agency,
                        int64_t at, const char *doc)
{
    for (size_t i = 0; i < *count; i++)
        if (strcmp((*sums)[i].agency, agency) == 0) {
            (*sums)[i].count++;
            return 0;
        }
    if (*count == *alloc) {
        size_t more = *alloc ? *alloc * 2 : 16;
        s_waitsum_t *grown = realloc(*sums, more * sizeof(**sums));
        if (!grown)
            return -1;
        *sums = grown;
        *alloc = more;
    }
    s_waitsum_t *w = &(*sums)[(*count)++];
    s_copy(w->agency, sizeof(w->agency), agency);
    s_copy(w->doc, sizeof(w->doc), doc);
    w->count = 1;
    w->oldest_at = at;
    return 0;
}

int lt_ledger_waiting(lt_ledger_t *self, lt_ledger_await_t kind, int64_t before, uint32_t limit,
                      lt_ledger_wait_fn *fn, void *arg, lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = self->stmt[kind == LT_LEDGER_AWAIT_SYNC ? Q_WAIT_SYNC : Q_WAIT_STATUS];
    if (!stmt)
        return lt_err_set(err, LT_ESTATE, "ledger %s: read-only, no waiting items", self->path),
               -1;
    //  The oldest waiting events (at most limit), per agency in the order
    //  of their oldest (the rows come oldest first: an agency's first is its oldest).
    sqlite3_bind_int64(stmt, 1, before);
    s_waitsum_t *sums = NULL;
    size_t count = 0, alloc = 0;
    uint32_t items = 0;
    int step = SQLITE_DONE, rc = 0;
    while (rc == 0 && items < limit && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t at = sqlite3_column_int64(stmt, 0);
        uint64_t wait = (uint64_t) sqlite3_column_int64(stmt, 1);
        const char *doc = s_col(stmt, 4), *p = s_col(stmt, 5), *event;
        if ((wait & 1) && s_wait_count(&sums, &count, &alloc, s_col(stmt, 3), at, doc))
            rc = -1;
        items += (wait & 1) != 0;
        char agency[64], item[800];
        for (int bit = 1; rc == 0 && items < limit &&
                          s_more_next(&p, doc, &event, agency, item, sizeof(item));
             bit++)
            if (bit < 64 && ((wait >> bit) & 1)) {
                if (s_wait_count(&sums, &count, &alloc, agency, at, doc))
                    rc = -1;
                items++;
            }
    }
    if (rc)
        lt_err_set(err, LT_ENOMEM, "ledger: out of memory");
    else if (step != SQLITE_DONE && step != SQLITE_ROW)
        rc = s_fail(self, err, "cannot read the waiting items");
    s_reset(stmt);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        lt_ledger_wait_t w = {.agency = sums[i].agency,
                              .count = sums[i].count,
                              .oldest_at = sums[i].oldest_at,
                              .oldest_doc = sums[i].doc};
        rc = fn(arg, &w);
    }
    free(sums);
    return rc;
}

void lt_ledger_forget(lt_ledger_t *self)
{
    assert(self);
    self->head_seq = -1;
    self->head_dirty = false;
    for (size_t i = 0; i < self->sum_count; i++)
        self->sums[i].current = 0;   //  the failed message's moves
    //  The failed message's wait changes and rows; the last row kept for
    //  the batch, if any, is the head.
    while (self->wundo_count > 0) {
        const s_wundo_t *u = &self->wundo[--self->wundo_count];
        self->prows[u->prow].wait = u->wait;
    }
    self->prow_count = self->prow_kept;   //  their strings stay until the batch ends
    if (self->prow_count) {
        const s_prow_t *last = &self->prows[self->prow_count - 1];
        self->head_seq = last->r.seq;
        lt_digest_hex(last->hash, 32, self->head_hash);
        memcpy(self->prev_bin, last->hash, 32);
        self->prev_bin_ok = true;
    }
}

int lt_ledger_append(lt_ledger_t *self, const lt_ledger_event_t *ev, const char *sha256,
                     const char *msgid, bool *added, lt_err_t *err)
{
    assert(self && ev && added);
    *added = false;
    //  The item this event completes, if any (its state changes too).
    char related[800] = "";
    if (ev->event == LT_EV_STATUS && (strcmp(ev->dim, "01") == 0 || strcmp(ev->dim, "03") == 0))
        snprintf(related, sizeof(related), "doc|%s|%s|in", ev->doc, ev->agency);
    else if (ev->event == LT_EV_DOSSIER_SYNCED)
        snprintf(related, sizeof(related), "dossier_received|%s", ev->doc);
    if (!self->merged)
        self->merged = malloc(sizeof(s_merged_t));
    s_merged_t *m = self->merged;
    s_state_t rel_state, *rel_before = &rel_state, before;
    memset(rel_before, 0, sizeof(*rel_before));
    int rc = -1;
    if (!m) {
        lt_err_set(err, LT_ENOMEM, "ledger: out of memory");
        goto done;
    }
    if (self->head_seq < 0) {
        self->head_seq = lt_ledger_head(self, self->head_hash);
        memset(self->prev_bin, 0, sizeof(self->prev_bin));
        self->prev_bin_ok = !*self->head_hash ||
                            s_unhex(self->head_hash, strlen(self->head_hash), self->prev_bin);
    }
    if (!self->seen && !self->seen_failed)
        s_seen_build(self);
    if (*related && s_merge(self, related, NULL, false, m, NULL, NULL, err))
        goto done;
    if (*related)
        *rel_before = m->st;
    int64_t rel_seq = *related ? m->first_seq : 0;   //  the related item's first row
    int rel_bit = *related ? m->first_bit : 0;       //  and its place there (its wait bit)
    //  What its flags are made of: this event changes only its related time.
    lt_ev_t rel_ev = *related ? m->ev : LT_EV_NONE;
    s_acc_t rel_acc = *related ? m->acc : (s_acc_t){0};
    int rel_channel = *related ? m->channel : 0;
    int64_t rel_at = *related ? m->related_at : 0;
    char prev[65] = "";   //  known once the row's place is (a row of its own or the message's)
    s_row_t r = {.seq = self->head_seq + 1,
                 .event = lt_ev_name(ev->event),
                 .item = ev->item,
                 .origin = ev->origin,
                 .doc = ev->doc,
                 .agency = ev->agency,
                 .at = ev->at,
                 .day = lt_period_day(ev->at),
                 .electronic = ev->electronic,
                 .secret = ev->secret,
                 .sig = ev->sig,
                 .signer = ev->signer,
                 .channel = ev->channel,
                 .dim = ev->dim,
                 .attrs = ev->attrs,
                 .detail = ev->detail,
                 .sha256 = sha256 ? sha256 : "",
                 .msgid = msgid ? msgid : "",
                 .prev = prev};
    //  The item's state before and with this row; nothing to do when it
    //  already has a row from this origin (a resend, a re-sent register).
    bool dup = false;
    if (s_merge(self, ev->item, &r, false, m, &before, &dup, err))
        goto done;
    rc = 0;
    if (dup)
        goto done;
    unsigned char md[32] = {0};
    //  Inside lt_ledger_record in deferred mode a row is hashed once
    //  complete (s_head_settle), when the next row or the message's end
    //  needs it, not once per event it gets.
    bool lazy = self->deferred && self->join_from != SIZE_MAX;
    s_prow_t *host = s_join_host(self, &r);
    const unsigned char *sha256_bin = host ? NULL : s_sha256_bin(self, sha256);
    const unsigned char *prev_bin = NULL;
    int64_t ikey = s_ikey(r.item);
    //  A document delivered by the hub now waits for its status 01/03, a
    //  received dossier for its sync: a wait bit on its first row (this one
    //  for a new item), which what completes it clears.
    bool opens = m->related_at == 0 &&
                 ((ev->event == LT_EV_DOC_IN && strcmp(ev->origin, "relay") == 0) ||
                  ev->event == LT_EV_DOSSIER_RECEIVED);
    int bit = 0;
    if (host) {   //  one more event of the message's row
        bit = host->events++;
        if (opens && !before.found)
            host->wait |= (int64_t) (1ull << bit);
        r.seq = host->r.seq;
        r.prev = host->r.prev;
        sha256_bin = NULL;   //  written with the host
        if (s_more_add(self, host, r.event, r.agency)) {
            lt_err_set(err, LT_ENOMEM, "ledger: out of memory");
            rc = -1;
            goto done;
        }
        self->head_dirty = true;
    }
    else {
        if (s_head_settle(self, err)) {
            rc = -1;
            goto done;
        }
        if (*self->head_hash)
            s_copy(prev, sizeof(prev), self->head_hash);
        else {
            memset(prev, '0', 64);
            prev[64] = 0;
        }
        r.seq = self->head_seq + 1;
        prev_bin = self->prev_bin_ok ? self->prev_bin : NULL;
        if (!lazy && !s_hash(&r, md, NULL)) {
            lt_err_set(err, LT_ENOMEM, "ledger: out of memory");
            rc = -1;
            goto done;
        }
    }
    int64_t wait = !host && opens && !before.found ? 1 : 0;
    if (self->deferred ? s_prow_add(self, &r, sha256_bin, prev_bin, md, ikey, err)
                       : s_insert(self, &r, sha256_bin, prev_bin, md, ikey, wait, err)) {
        rc = -1;
        goto done;
    }
    if (self->deferred) {
        s_prow_t *p = &self->prows[self->prow_count - 1];
        p->joined = host != NULL;
        p->bit = bit;
        p->wait = wait;
    }
    *added = true;
    self->head_seq = r.seq;
    if (lazy)
        self->head_dirty = true;
    else {
        lt_digest_hex(md, sizeof(md), self->head_hash);
        memcpy(self->prev_bin, md, sizeof(md));
        self->prev_bin_ok = true;
    }
    s_seen_add(self, ikey, ev->event, r.doc);
    if (host && self->seen)
        s_seen_set(self, s_extra_key(ikey, r.agency, strlen(r.agency), ev->event == LT_EV_DOC_IN));
    //  Move the changed items in ledger_sum: this event's, then the one it completes.
    if (memcmp(&before, &m->st, sizeof(s_state_t)) != 0 &&
        ((before.found && s_sum_add(self, &before, -1, err)) || s_sum_add(self, &m->st, 1, err)))
        rc = -1;
    //  An item with rows before waits from its first row; what completes
    //  an item ends its wait.
    if (rc == 0 && opens && before.found)
        rc = s_wait_set(self, m->first_seq, m->first_bit, true, err);
    if (rc == 0 && *related && rel_before->found)
        rc = s_wait_set(self, rel_seq, rel_bit, false, err);
    //  The item it completes: its rows are unchanged, its related time is
    //  now the earlier of the one it had and this event's (the time of the
    //  first status 01/03, the first acceptance by DVCQG), so its state is
    //  its flags computed again without reading its rows a second time. An
    //  event without a time reads them (a row without one counts as none).
    if (rc == 0 && *related) {
        s_state_t *rel_after = &m->st;
        if (!rel_before->found || (ev->at > 0 && rel_at >= 0)) {
            int64_t at = rel_at == 0 || ev->at < rel_at ? ev->at : rel_at;
            m->st = *rel_before;
            if (rel_before->found)
                m->st.flags = s_flags(rel_ev, &rel_acc, rel_channel, rel_before->day, at);
        }
        else if (s_merge(self, related, NULL, false, m, NULL, NULL, err))
            rc = -1;
        if (rc == 0 && memcmp(rel_before, rel_after, sizeof(s_state_t)) != 0 &&
            ((rel_before->found && s_sum_add(self, rel_before, -1, err)) ||
             (rel_after->found && s_sum_add(self, rel_after, 1, err))))
            rc = -1;
    }
done:
    return rc;
}

//  The pending row an appended row r joins: the message's last row, when
//  both are relayed document events alike but for event, agency and item
//  (the item being the one s_more_next builds); NULL for a row of its own.
static s_prow_t *s_join_host(lt_ledger_t *self, const s_row_t *r)
{
    if (!self->deferred || self->join_from == SIZE_MAX || self->prow_count <= self->join_from ||
        self->prow_count <= self->prow_kept)
        return NULL;
    size_t i = self->prow_count - 1;
    while (i > self->join_from && self->prows[i].joined)
        i--;
    s_prow_t *h = &self->prows[i];
    if (h->joined || h->events >= 63)   //  a wait bit for each of its events
        return NULL;
    const s_row_t *a = &h->r;
    bool doc_event = (strcmp(r->event, "doc_in") == 0 || strcmp(r->event, "doc_out") == 0) &&
                     (strcmp(a->event, "doc_in") == 0 || strcmp(a->event, "doc_out") == 0);
    if (!doc_event || strcmp(r->origin, "relay") != 0 || strcmp(a->origin, "relay") != 0 ||
        strcmp(r->doc, a->doc) != 0 || r->at != a->at || r->electronic != a->electronic ||
        r->secret != a->secret || r->sig != a->sig || r->channel != a->channel ||
        r->attrs != a->attrs || strcmp(r->signer, a->signer) != 0 ||
        strcmp(r->dim, a->dim) != 0 || strcmp(r->detail, a->detail) != 0 ||
        strcmp(r->sha256, a->sha256) != 0 || strcmp(r->msgid, a->msgid) != 0 ||
        strlen(r->agency) >= 64 || strchr(r->agency, '|'))
        return NULL;
    char item[800];
    int n = snprintf(item, sizeof(item), "doc|%s|%s|%s", r->doc, r->agency,
                     strcmp(r->event, "doc_in") == 0 ? "in" : "out");
    if (n <= 0 || (size_t) n >= sizeof(item) || strcmp(item, r->item) != 0)
        return NULL;
    return h;
}

//  Hash the last pending row, which waited for its last event: the next
//  row's prev; -1 when out of memory.
static int s_head_settle(lt_ledger_t *self, lt_err_t *err)
{
    if (!self->head_dirty)
        return 0;
    assert(self->prow_count > 0);
    self->head_dirty = false;
    size_t i = self->prow_count - 1;
    while (i > 0 && self->prows[i].joined)
        i--;
    unsigned char md[32];
    if (!s_hash(&self->prows[i].r, md, self->head_hash))
        return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1;
    memcpy(self->prows[i].hash, md, sizeof(md));
    memcpy(self->prows[self->prow_count - 1].hash, md, sizeof(md));   //  the head (forget)
    memcpy(self->prev_bin, md, sizeof(md));
    self->prev_bin_ok = true;
    return 0;
}

static int s_on_event(void *arg, const lt_ledger_event_t *ev, lt_err_t *err)
{
    lt_ledger_t *self = arg;
    bool added;
    if (self->secret_doc && !ev->secret &&
        (ev->event == LT_EV_DOC_OUT || ev->event == LT_EV_DOC_IN)) {
        lt_ledger_event_t *secret = malloc(sizeof(*secret));
        if (!secret)
            return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1;
        *secret = *ev;
        secret->secret = true;
        int rc = lt_ledger_append(self, secret, self->sha256, self->msgid, &added, err);
        free(secret);
        return rc;
    }
    return lt_ledger_append(self, ev, self->sha256, self->msgid, &added, err);
}

void lt_ledger_set_secret_types(lt_ledger_t *self, const char *types)
{
    assert(self);
    //  Kept as ",A,B," so that a type is found by one search for ",T,".
    size_t used = 0;
    self->secret_types[0] = 0;
    const char *p = types ? types : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *start = p, *end = p + len;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t n = (size_t) (end - start);
        if (n && used + n + 3 < sizeof(self->secret_types)) {
            if (!used)
                self->secret_types[used++] = ',';
            memcpy(self->secret_types + used, start, n);
            used += n;
            self->secret_types[used++] = ',';
            self->secret_types[used] = 0;
        }
        p += len + (p[len] == ',');
    }
}

//  Whether a document type is one set secret.
static bool s_secret_type(const lt_ledger_t *self, const char *type)
{
    if (!*self->secret_types || !type || !*type || strchr(type, ','))
        return false;
    size_t len = strlen(type);
    for (const char *hit = strstr(self->secret_types, type); hit;
         hit = strstr(hit + 1, type))
        if (hit[-1] == ',' && hit[len] == ',')
            return true;
    return false;
}

int lt_ledger_record(lt_ledger_t *self, const lt_envelope_t *envelope, const void *payload,
                     size_t size, const char *const *rcpts, size_t rcpt_count, lt_err_t *err)
{
    assert(self && envelope);
    self->sha256 = lt_envelope_sha256(envelope);
    self->sha256_bin_ok = self->sha256_bin_tried = false;   //  converted when a row needs it
    self->msgid = lt_envelope_id(envelope);
    self->secret_doc = lt_envelope_kind(envelope) == LT_KIND_DOCUMENT &&
                       s_secret_type(self, lt_envelope_dtype(envelope));
    self->join_from = self->prow_count;
    int rc = lt_ledger_events(envelope, payload, size, rcpts, rcpt_count, self->province,
                              s_on_event, self, err);
    self->join_from = SIZE_MAX;
    lt_err_t settle_err;
    if (s_head_settle(self, rc ? &settle_err : err))
        rc = -1;
    self->secret_doc = false;
    self->sha256 = NULL;
    self->sha256_bin_ok = self->sha256_bin_tried = false;
    return rc;
}

int lt_ledger_verify(lt_ledger_t *self, uint64_t *rows, uint64_t *bad, char *why,
                     size_t why_size)
{
    assert(self);
    sqlite3_stmt *stmt = NULL;
    *rows = 0;
    *bad = 0;
    if (sqlite3_prepare_v2(self->db, "SELECT " S_COLUMNS " FROM ledger ORDER BY seq", -1, &stmt,
                           NULL) != SQLITE_OK) {
        snprintf(why, why_size, "cannot read the ledger: %s", sqlite3_errmsg(self->db));
        return -1;
    }
    char prev[65];
    snprintf(prev, sizeof(prev), "%064d", 0);
    int64_t expect = 1;
    int rc = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        s_row_t r;
        s_read_row(stmt, &r);
        char stored_hex[65];
        const char *stored = s_hexcol(stmt, 19, stored_hex);
        char hash[65];
        s_hash(&r, NULL, hash);
        (*rows)++;
        if (r.seq != expect)
            snprintf(why, why_size, "row %lld follows row %lld: row %lld is missing",
                     (long long) r.seq, (long long) expect - 1, (long long) expect);
        else if (strcmp(r.prev, prev) != 0)
            snprintf(why, why_size,
                     "row %lld (item %.200s) does not chain to the row before it"
                     " (deleted, reordered or edited rows)",
                     (long long) r.seq, r.item);
        else if (strcmp(hash, stored) != 0)
            snprintf(why, why_size, "row %lld (item %.200s) was edited: its hash does not match",
                     (long long) r.seq, r.item);
        else {
            snprintf(prev, sizeof(prev), "%s", stored);
            expect++;
            continue;
        }
        *bad = (uint64_t) r.seq;
        rc = 1;
        break;
    }
    if (rc == 0 && step != SQLITE_DONE) {
        snprintf(why, why_size, "cannot read the ledger: %s", sqlite3_errmsg(self->db));
        rc = -1;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int lt_ledger_sums(lt_ledger_t *self, int from_day, int to_day, lt_ledger_sum_fn *fn, void *arg,
                   lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT agency, event, flags, dim, n FROM ledger_sum"
                           " WHERE day BETWEEN ?1 AND ?2 AND n != 0",
                           -1, &stmt, NULL) != SQLITE_OK)
        return s_fail(self, err, "cannot read ledger_sum");
    sqlite3_bind_int(stmt, 1, from_day);
    sqlite3_bind_int(stmt, 2, to_day);
    int step, rc = 0;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        lt_ledger_sum_t sum = {.agency = s_col(stmt, 0),
                               .event = lt_ev_from_name(s_col(stmt, 1)),
                               .flags = (unsigned) sqlite3_column_int(stmt, 2),
                               .dim = s_col(stmt, 3),
                               .n = sqlite3_column_int64(stmt, 4)};
        if (fn(arg, &sum))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = s_fail(self, err, "cannot read ledger_sum");
    sqlite3_finalize(stmt);
    return rc;
}

//  Yield the item of a row whose first row it is (lt_ledger_items).
static int s_item_yield(lt_ledger_t *self, const char *item, int64_t seq, s_merged_t *m,
                        lt_ledger_item_fn *fn, void *arg, bool *stop, lt_err_t *err)
{
    if (s_merge(self, item, NULL, true, m, NULL, NULL, err))
        return -1;
    if (!m->st.found || m->first_seq != seq)
        return 0;
    lt_ledger_item_t it = {.item = item,
                           .event = lt_ev_from_name(m->st.event),
                           .doc = m->doc,
                           .agency = m->st.agency,
                           .origins = m->origins,
                           .day = m->st.day,
                           .at = m->at,
                           .flags = m->st.flags,
                           .sig = m->sig,
                           .signer = m->signer,
                           .channel = m->channel,
                           .dim = m->st.dim,
                           .detail = m->detail,
                           .sha256 = m->sha256,
                           .msgid = m->msgid,
                           .related_at = m->related_at,
                           .received_at = m->acc.relayed ? m->acc.relay_at : 0,
                           .rows = m->rows};
    *stop = fn(arg, &it) != 0;
    return 0;
}

int lt_ledger_items(lt_ledger_t *self, int from_day, int to_day, lt_ledger_item_fn *fn,
                    void *arg, lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = NULL;
    //  An item belongs to the day of its first row; a row may hold several.
    if (sqlite3_prepare_v2(self->db,
                           "SELECT seq, item, doc, more FROM ledger WHERE day BETWEEN ?1 AND ?2"
                           " ORDER BY seq",
                           -1, &stmt, NULL) != SQLITE_OK)
        return s_fail(self, err, "cannot read the ledger");
    sqlite3_bind_int(stmt, 1, from_day);
    sqlite3_bind_int(stmt, 2, to_day);
    s_merged_t *m = malloc(sizeof(*m));
    int step = SQLITE_DONE, rc = 0;
    bool stop = false;
    while (m && !stop && rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(stmt, 0);
        char item[800], agency[64];
        s_copy(item, sizeof(item), s_col(stmt, 1));
        rc = s_item_yield(self, item, seq, m, fn, arg, &stop, err);
        const char *p = s_col(stmt, 3), *doc = s_col(stmt, 2), *event;
        while (rc == 0 && !stop && s_more_next(&p, doc, &event, agency, item, sizeof(item)))
            rc = s_item_yield(self, item, seq, m, fn, arg, &stop, err);
    }
    if (!m)
        rc = (lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1);
    else if (rc == 0 && !stop && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = s_fail(self, err, "cannot read the ledger");
    free(m);
    sqlite3_finalize(stmt);
    return rc;
}

int lt_ledger_format(sqlite3 *db)
{
    assert(db);
    return s_version(db);
}

void lt_ledger_test_filter(lt_ledger_t *self, uint64_t min_bits)
{
    assert(self);
    free(self->seen);
    self->seen = NULL;
    self->seen_min_bits = min_bits ? min_bits : S_SEEN_MIN_BITS;
}

bool lt_ledger_test_filter_built(const lt_ledger_t *self)
{
    assert(self);
    return self->seen != NULL;
}
