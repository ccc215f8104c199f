/*  lt_ledger: the counting ledger, kept in the store's SQLite database.

    An append-only table of the events of spec/indicators.md (what they are
    is decided by schemas/lt_ledger_event), written in the same transaction
    as the message it records. Rows are unique on (item, origin): a resent
    document, a resent register or another version of the same document adds
    nothing, and a document both relayed and registered is one item with two
    rows (origin "relay" and "register"); the append keeps this, finding an
    item's rows by a 64-bit hash of its key (ikey, its document's items side
    by side). A row may hold several events (format 3): a relayed
    document's doc_out and doc_in items share one row, the first in its
    columns, the others in 'more' (each its event and agency as LENGTH ':'
    VALUE ','; item and every other field the row's). Each row carries the
    SHA-256 of the row before it ("prev") and its own ("hash"), the SHA-256
    of its canonical form: every column in this order, each written as
    LENGTH ':' VALUE ','

        seq event item origin doc agency at day electronic secret sig signer
        channel dim attrs detail sha256 msgid prev [more]

    (numbers in decimal, booleans 0/1, sha256 and prev in lowercase hex,
    prev of the first row 64 zeros, more only when not empty, so a row of
    one event hashes as in format 2); hash, prev and sha256 are stored as
    32-byte blobs.

    Beside it, ledger_sum holds the number of items per (half month, agency,
    event, flags, dim), where flags are the item's LT_F_* merged over its
    rows and related events (a same-day status, a DVCQG acceptance). It is
    kept in the same transaction, so the indicators of a year are read from
    a few thousand rows, not millions. The ledger is never pruned. Its
    format is versioned (ledger_meta); an older one is converted at open.
*/
#ifndef LT_LEDGER_H_INCLUDED
#define LT_LEDGER_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"
#include "lt_ledger_event.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_ledger_t lt_ledger_t;

//  One line of ledger_sum.
typedef struct {
    const char *agency;   //  agency code
    lt_ev_t event;        //  event
    unsigned flags;       //  LT_F_* of the items
    const char *dim;      //  status code, MaTTHC, report code, or ""
    int64_t n;            //  items
} lt_ledger_sum_t;

//  One counted item, its rows merged (for evidence).
typedef struct {
    const char *item;       //  dedup key
    lt_ev_t event;          //  event
    const char *doc;        //  DocumentId, MaHoSo or idempotency key
    const char *agency;     //  agency
    const char *origins;    //  "relay", "register" or "relay+register"
    int day;                //  local day of its first row
    int64_t at;             //  Unix ms of its first row
    unsigned flags;         //  LT_F_*
    lt_sig_t sig;           //  signature verdict (relayed documents)
    const char *signer;     //  signer subject
    int channel;            //  KenhThucHien
    const char *dim;        //  status code, MaTTHC or report code
    const char *detail;     //  facts behind the attributes
    const char *sha256;     //  payload digest of its first row
    const char *msgid;      //  message id of its first row
    int64_t related_at;     //  Unix ms of the event completing it, 0 = none: the first
                            //  status 01/03 from this agency (doc_in), the first
                            //  DVCQG acceptance (dossier_received)
    int64_t received_at;    //  Unix ms the hub delivered it (its relay row), 0 = never
                            //  relayed; a doc_in is confirmed by a status that day
    const char *rows;       //  "seq:hash" of each of its rows, ';' between
} lt_ledger_item_t;

//  What an open item waits for (a wait bit of its first row's event, set
//  when it is recorded, cleared by what completes it, in the same
//  transaction; the rows with bits set are indexed by time).
typedef enum {
    LT_LEDGER_AWAIT_STATUS = 1,   //  a document the hub delivered to an agency of the
                                  //  province: a status 01 or 03 from that agency
    LT_LEDGER_AWAIT_SYNC = 2      //  a received dossier: its dossier_synced fact
} lt_ledger_await_t;

//  The waiting items of one agency, of those looked at.
typedef struct {
    const char *agency;       //  agency code
    int64_t count;            //  items waiting
    int64_t oldest_at;        //  Unix ms the oldest one waits since: its first row's
                              //  time (the hub's receipt of a document, a dossier's
                              //  NgayTiepNhan)
    const char *oldest_doc;   //  its DocumentId or MaHoSo
} lt_ledger_wait_t;

typedef int(lt_ledger_wait_fn)(void *arg, const lt_ledger_wait_t *wait);
typedef int(lt_ledger_sum_fn)(void *arg, const lt_ledger_sum_t *sum);
typedef int(lt_ledger_item_fn)(void *arg, const lt_ledger_item_t *item);

//  Attach to an open database (the store's, or a reader's). Unless
//  readonly, creates the tables when missing. NULL with err on failure.
lt_ledger_t *lt_ledger_new(sqlite3 *db, const char *path, bool readonly, lt_err_t *err);

//  Detach (the database stays open); safe on NULL.
void lt_ledger_destroy(lt_ledger_t **self_p);

//  Set the province's level-1 code ("H26"); "" counts every agency.
void lt_ledger_set_province(lt_ledger_t *self, const char *province);

//  Set the document types (edXML TypeName, comma-separated, compared
//  exactly after trimming spaces) whose documents are state secrets: their
//  doc_out and doc_in rows are recorded secret (spec/indicators.md). Rows
//  already recorded keep what they say.
void lt_ledger_set_secret_types(lt_ledger_t *self, const char *types);

//  Record the events of a message just stored (inside the caller's
//  transaction). rcpts as lt_store_put takes them. A document is secret when
//  its envelope says so or its type (dtype) is one set secret.
int lt_ledger_record(lt_ledger_t *self, const lt_envelope_t *envelope, const void *payload,
                     size_t size, const char *const *rcpts, size_t rcpt_count, lt_err_t *err);

//  Append one event (inside the caller's transaction); *added says whether
//  it was new. sha256 and msgid may be "".
int lt_ledger_append(lt_ledger_t *self, const lt_ledger_event_t *event, const char *sha256,
                     const char *msgid, bool *added, lt_err_t *err);

//  Forget the cached last row (the caller rolled back a transaction that
//  appended rows); the next append reads it from the table. In deferred
//  mode, drop what the message being recorded wrote; the head goes back to
//  the batch's last kept row, if any.
void lt_ledger_forget(lt_ledger_t *self);

//  Deferred mode (the store's): what each recorded message writes (its
//  rows, chained as they are appended, its wait bits and its ledger_sum
//  moves) waits in memory, and the appends that follow see it
//  (deduplication, a status confirming a document of the same batch).
//  lt_ledger_keep adds the message's to the batch's, lt_ledger_forget
//  drops the message's (its publish failed), lt_ledger_flush writes the
//  batch's (rows in order, then one statement per sum line) in the
//  batch's transaction just before its commit, so a row is
//  committed with the fact it records, and lt_ledger_discard drops them
//  (the batch was rolled back). Set only while nothing is pending.
void lt_ledger_set_deferred(lt_ledger_t *self, bool deferred);

//  Keep what the message just recorded wrote for the batch.
void lt_ledger_keep(lt_ledger_t *self);

//  Write the batch's rows and ledger_sum moves; -1 with
//  err on failure (the caller rolls the batch back).
int lt_ledger_flush(lt_ledger_t *self, lt_err_t *err);

//  Drop everything pending (the batch was rolled back).
void lt_ledger_discard(lt_ledger_t *self);

//  Walk the chain. Returns 0 when every row matches, 1 when one does not
//  (*bad = its seq, why says what), -1 when the ledger cannot be read.
int lt_ledger_verify(lt_ledger_t *self, uint64_t *rows, uint64_t *bad, char *why,
                     size_t why_size);

//  Yield the ledger_sum lines of days from..to (yyyymmdd, included), one
//  per half month: from is the 1st or the 15th of a month, to the 14th or
//  a month's last day (every period is). The same (agency, event, flags,
//  dim) may come several times;
//  every count over them is a sum or a distinct set, so no grouping is
//  needed (and none is paid for).
int lt_ledger_sums(lt_ledger_t *self, int from_day, int to_day, lt_ledger_sum_fn *fn, void *arg,
                   lt_err_t *err);

//  Yield every item whose first row falls in days from..to, in seq order.
int lt_ledger_items(lt_ledger_t *self, int from_day, int to_day, lt_ledger_item_fn *fn,
                    void *arg, lt_err_t *err);

//  Yield, per agency and oldest first, the items of kind that have waited
//  since before (Unix ms) or longer, looking at no more than the limit
//  oldest of them (the counts stop there). Not on a read-only ledger.
int lt_ledger_waiting(lt_ledger_t *self, lt_ledger_await_t kind, int64_t before, uint32_t limit,
                      lt_ledger_wait_fn *fn, void *arg, lt_err_t *err);

//  Rows in the ledger and hash of the last one ("" when empty).
int64_t lt_ledger_head(lt_ledger_t *self, char hash[65]);

//  Self-test of this class.
void lt_ledger_test(bool verbose);

//  The ledger format of a database: 0 none yet, 1 before ledger_meta, else
//  its version (3 for this release).
int lt_ledger_format(sqlite3 *db);

//  Self-test support (lt_ledger_test.c): drop the presence filter so that
//  the next append builds it again from the table, at least min_bits in
//  size (0: the default); and whether it is built.
void lt_ledger_test_filter(lt_ledger_t *self, uint64_t min_bits);
bool lt_ledger_test_filter_built(const lt_ledger_t *self);

#ifdef __cplusplus
}
#endif
#endif
