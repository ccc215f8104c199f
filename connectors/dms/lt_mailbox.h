/*  lt_mailbox: the durable per-system mailboxes of lthub-dms.

    The broker hands lthub-dms the documents and statuses addressed to
    agencies of the province; lthub-dms puts each one into the mailbox of
    every DMS client system that serves a recipient agency, and the systems
    collect them through the edoc API (getReceivedEdocList, getEdoc,
    updateStatus). A delivery is confirmed to the broker only after the
    mailbox transaction is committed, so a mailbox item survives SIGKILL.

    One SQLite file (WAL, synchronous=FULL). A package is stored once per
    broker message id; an item is one (system, message, recipient agency)
    and carries the docId the system sees, its transport state (initial,
    processing, done, fail) and the time it was first fetched. Putting the
    same message again is harmless (idempotent on system, message id and
    agency). Items marked done leave the system's list but stay in the file
    for audit, until the bounds (count, bytes, age: lt_mailbox_prune) remove
    them, oldest done first; an item not done is never removed. The arrivals table remembers, per (DocumentId, agency),
    whether the automatic status 01 was owed, sent or refused, so that it is
    sent once even across restarts.

    Thread-safe: one connection behind a mutex.
*/
#ifndef LT_MAILBOX_H_INCLUDED
#define LT_MAILBOX_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_MAILBOX_ID_MAX    64   //  room for an item docId, with the NUL
#define LT_MAILBOX_STATE_MAX 16   //  room for an item state, with the NUL

typedef struct _lt_mailbox_t lt_mailbox_t;

//  Where one delivered message goes: a system and the agency it serves.
typedef struct {
    const char *system;   //  client system id
    const char *agency;   //  recipient agency code served by that system
} lt_mailbox_target_t;

//  One mailbox item as read back; every string is owned by the item.
typedef struct {
    char *id;            //  the docId the system sees (UUIDv7)
    char *system;        //  client system id
    char *msgid;         //  broker message id
    char *agency;        //  recipient agency code
    char *messagetype;   //  "edoc" or "status"
    char *key;           //  DocumentId (of the document a status is about)
    char *btype;         //  new, revocation, update, replacement or StatusCode
    char *sender;        //  sender agency code
    char *state;         //  initial, processing, done or fail
    char *description;   //  text given with the last updateStatus
    uint64_t size;       //  package bytes
    int64_t created;     //  entered the mailbox, Unix ms
    int64_t updated;     //  last state change, Unix ms
    int64_t fetched;     //  first getEdoc, Unix ms; 0 when never fetched
} lt_mailbox_item_t;

//  One automatic status 01 that is owed (claimed, not yet confirmed).
typedef struct {
    char *key;      //  DocumentId of the fetched document
    char *agency;   //  the recipient agency that fetched it
    char *item;     //  the mailbox item id fetched
    char *system;   //  the system that fetched it
    char *msgid;    //  broker message id of the document
} lt_mailbox_arrival_t;

//  Open or create the mailbox file at path. Returns NULL with err filled
//  (LT_ESTORE) when the file cannot be opened or migrated.
lt_mailbox_t *lt_mailbox_new(const char *path, lt_err_t *err);

//  Close the mailbox and set the caller's pointer to NULL; safe on NULL.
void lt_mailbox_destroy(lt_mailbox_t **self_p);

//  Store one delivered message for each target, in one committed
//  transaction. Targets already holding this message id are left as they
//  are. added, when not NULL, receives how many items are new. Returns 0,
//  or -1 with err filled (nothing stored).
int lt_mailbox_put(lt_mailbox_t *self, const lt_envelope_t *env, const void *payload, size_t size,
                   const lt_mailbox_target_t *targets, size_t count, size_t *added,
                   lt_err_t *err);

//  List a system's items not marked done, oldest first, at most max of
//  them, optionally only one messagetype ("edoc" or "status"; NULL or ""
//  for both). The caller frees the list with lt_mailbox_items_free.
//  Returns 0, or -1 with err filled.
int lt_mailbox_list(lt_mailbox_t *self, const char *system, const char *messagetype, size_t max,
                    lt_mailbox_item_t **items_p, size_t *count_p, lt_err_t *err);

//  Free a list from lt_mailbox_list and set the pointer to NULL.
void lt_mailbox_items_free(lt_mailbox_item_t **items_p, size_t count);

//  Free the strings of one item and zero it.
void lt_mailbox_item_clear(lt_mailbox_item_t *item);

//  Read one of a system's items with its package bytes (the caller frees
//  *data_p) and record the first fetch time. item, when not NULL, is
//  filled (release with lt_mailbox_item_clear); first tells whether this
//  was the item's first fetch. Returns 0, 1 when the system has no such
//  item (or its package was purged), -1 with err filled on failure.
int lt_mailbox_fetch(lt_mailbox_t *self, const char *system, const char *id, uint8_t **data_p,
                     size_t *size_p, lt_mailbox_item_t *item, bool *first, lt_err_t *err);

//  Set the state of one of a system's items (processing, done or fail)
//  with a description. An item already done stays done. Returns 0, 1 when
//  the system has no such item, -1 with err filled (a bad state: LT_EFIELD).
int lt_mailbox_update(lt_mailbox_t *self, const char *system, const char *id, const char *state,
                      const char *description, lt_err_t *err);

//  Read the package bytes of a message (the caller frees *data_p).
//  Returns 0, 1 when unknown or purged, -1 with err filled.
int lt_mailbox_payload(lt_mailbox_t *self, const char *msgid, uint8_t **data_p, size_t *size_p,
                       lt_err_t *err);

//  Claim the automatic status 01 for (item key, item agency): 1 when newly
//  claimed (now owed), 0 when already claimed, -1 with err filled.
int lt_mailbox_arrival_claim(lt_mailbox_t *self, const lt_mailbox_item_t *item, lt_err_t *err);

//  List at most max owed arrivals, oldest first; free with
//  lt_mailbox_arrivals_free. Returns 0, or -1 with err filled.
int lt_mailbox_arrivals(lt_mailbox_t *self, size_t max, lt_mailbox_arrival_t **list_p,
                        size_t *count_p, lt_err_t *err);

//  Free a list from lt_mailbox_arrivals and set the pointer to NULL.
void lt_mailbox_arrivals_free(lt_mailbox_arrival_t **list_p, size_t count);

//  Close an owed arrival as "sent" or "failed" with a note. Returns 0, or
//  -1 with err filled.
int lt_mailbox_arrival_close(lt_mailbox_t *self, const char *key, const char *agency,
                             const char *state, const char *note, lt_err_t *err);

//  One bounded step of dropping the package bytes of messages whose items
//  are all done and were last changed before before_ms (the items stay,
//  for audit): at most max done items looked at, in the order they were
//  done, from where the previous step stopped (from the start after open),
//  in one transaction. purged, when not NULL, receives how many packages
//  were dropped, more whether the step stopped at max. Returns 0 or -1.
int lt_mailbox_purge(lt_mailbox_t *self, int64_t before_ms, uint32_t max, size_t *purged,
                     bool *more, lt_err_t *err);

//  Return the item counts per system as {"SYSTEM": {"initial": N,
//  "processing": N, "fail": N, "done": N, "pending": N}} (pending: every
//  item not done), a new reference; NULL on failure.
json_t *lt_mailbox_counts(lt_mailbox_t *self);

//  Find the item a message left for a recipient agency (any system): its
//  docId, state and last change. Returns 0, 1 when there is none, -1 with
//  err filled.
int lt_mailbox_receipt(lt_mailbox_t *self, const char *msgid, const char *agency,
                       char id[LT_MAILBOX_ID_MAX], char state[LT_MAILBOX_STATE_MAX],
                       int64_t *updated, lt_err_t *err);

//  The bounds of the mailbox file; 0 in a field means no such bound.
typedef struct {
    int64_t max_age_ms;    //  a done item older than this (since done) goes
    uint64_t max_items;    //  items held at most (any state)
    uint64_t max_bytes;    //  package bytes held at most
} lt_mailbox_bounds_t;

//  What one prune step did.
typedef struct {
    uint32_t items;      //  done items removed
    uint32_t packages;   //  packages whose last item went (now stubs, without bytes)
    uint32_t stubs;      //  stubs removed by the age bound
    bool more;           //  the step stopped at its batch or time bound: more to do
    bool full;           //  over a count or bytes bound with no done item left to remove
} lt_mailbox_prune_t;

//  What the mailbox holds now, and what the bounds removed since it was made.
typedef struct {
    uint64_t items;             //  items, any state
    uint64_t backlog;           //  items not done (their systems still list them)
    uint64_t bytes;             //  package bytes held
    uint64_t stubs;             //  packages kept as dedup keys only (no bytes, no items)
    int64_t oldest;             //  when the oldest item entered, Unix ms (0: none)
    int64_t oldest_done;        //  when the oldest done item was done, Unix ms (0: none)
    uint64_t pruned_items;      //  items removed by the bounds
    uint64_t pruned_packages;   //  packages whose last item the bounds removed
} lt_mailbox_usage_t;

//  Run one bounded step of the bounds at now_ms: done items are removed
//  oldest done first while one is older than the age bound or the mailbox
//  is over its count or bytes bound, at most batch of them and about
//  budget_ms of work, in one transaction; a package goes with its last
//  item, leaving a stub (its dedup key) that the age bound removes later.
//  An item not done is never removed: when those alone fill a bound,
//  step->full is set. Returns 0, or -1 with err filled (nothing changed).
int lt_mailbox_prune(lt_mailbox_t *self, const lt_mailbox_bounds_t *bounds, int64_t now_ms,
                     uint32_t batch, int budget_ms, lt_mailbox_prune_t *step, lt_err_t *err);

//  Read the mailbox's figures (cheap: counters and index ends). Returns 0,
//  or -1 with err filled.
int lt_mailbox_usage(lt_mailbox_t *self, lt_mailbox_usage_t *usage, lt_err_t *err);

//  Self-test of this class.
void lt_mailbox_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
