/*  lt_portal_store: the latest dossier record per MaHoSo that the one-stop
    system sent through lthub-portal, in one SQLite file (DATA/portal.db).

    It answers TraCuuHoSo, remembers which messages were (being) sent to
    DVCQG, so that a redelivery after a crash is not sent blindly again,
    and numbers revisions: a record whose content
    digest equals the last reserved one keeps its revision (an identical
    resend, which the broker then deduplicates), a changed one gets the next
    number (a new revision, even when it returns to an older content).
    Numbering reserves a revision before the record is published; the
    record becomes what TraCuuHoSo answers only once the broker confirmed
    it (lt_portal_store_confirm), so a call answered -9, or cut by a crash,
    shows nothing the hub did not relay, and its resend keeps the reserved
    revision (one message at the broker whether or not it got there). Writes use
    WAL with synchronous=NORMAL: they survive a crash of the process; the
    broker's store, not this file, is what the hub confirms on.
*/
#ifndef LT_PORTAL_STORE_H_INCLUDED
#define LT_PORTAL_STORE_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _lt_portal_store_t lt_portal_store_t;

#define LT_PORTAL_REVISION 96   //  bytes of a revision text, NUL included

//  One record to remember.
typedef struct {
    const char *mahoso;                  //  business key
    const char *agency;                  //  madonvi of the call (the dossier's owner)
    const char *digest;                  //  content digest (hex)
    const void *body;                    //  the record's exact bytes
    size_t size;                         //  their length
    char revision[LT_PORTAL_REVISION];   //  out: "N-digest"
    int64_t number;                      //  out: N
    bool foreign;                        //  out: MaHoSo kept for another agency
    bool same;                           //  out: identical to the stored one
} lt_portal_record_t;

//  Open (creating) the store at path; NULL with err filled.
lt_portal_store_t *lt_portal_store_new(const char *path, lt_err_t *err);

//  Close the store; safe on NULL.
void lt_portal_store_destroy(lt_portal_store_t **self_p);

//  Give each record its revision and reserve it as the latest of its
//  MaHoSo (not shown before lt_portal_store_confirm), all in one
//  transaction (records of one call, in order). A dossier belongs to the
//  agency it was first shown for, or, while none of its records is shown,
//  reserved for (a reserved record may be at the broker already): 1, with
//  nothing written and foreign set on the first such record, when a record
//  names another agency's dossier; -1 with err.
int lt_portal_store_put(lt_portal_store_t *self, lt_portal_record_t *records, size_t count,
                        lt_err_t *err);

//  Make the records of a call, numbered by lt_portal_store_put, what
//  lt_portal_store_get answers, once the broker confirmed them; a record
//  does not replace a later revision already shown. One transaction; -1
//  with err.
int lt_portal_store_confirm(lt_portal_store_t *self, const lt_portal_record_t *records,
                            size_t count, lt_err_t *err);

//  Read the latest confirmed record of mahoso kept for agency (NULL: any):
//  0 with *body_p (caller frees, NUL terminated) and *size_p, 1 when
//  unknown (or another agency's), -1 with err.
int lt_portal_store_get(lt_portal_store_t *self, const char *mahoso, const char *agency,
                        char **body_p, size_t *size_p, lt_err_t *err);

//  Return 1 when mahoso is kept for another agency than agency (shown for
//  it, or, while nothing of it is shown, reserved for it: see
//  lt_portal_store_put), 0 when it is kept for agency or never seen, -1
//  with err.
int lt_portal_store_foreign(lt_portal_store_t *self, const char *mahoso, const char *agency,
                            lt_err_t *err);

//  What the hub knows of its own delivery of a message to DVCQG.
typedef enum {
    LT_PORTAL_UNSENT = 0,    //  never tried (or forgotten)
    LT_PORTAL_SENDING = 1,   //  a call began: DVCQG may hold it
    LT_PORTAL_SENT = 2,      //  DVCQG accepted it
} lt_portal_mark_t;

//  Record the delivery state of message msgid (the time of its first mark
//  is kept, for pruning); -1 with err.
int lt_portal_store_mark(lt_portal_store_t *self, const char *msgid, lt_portal_mark_t mark,
                         lt_err_t *err);

//  Record the same delivery state of several messages in one transaction.
int lt_portal_store_mark_many(lt_portal_store_t *self, const char *const *msgids, size_t count,
                              lt_portal_mark_t mark, lt_err_t *err);

//  Return the delivery state of message msgid (UNSENT when unknown or on error).
lt_portal_mark_t lt_portal_store_marked(lt_portal_store_t *self, const char *msgid);

//  The delivery states of several messages at once, into marks[i].
void lt_portal_store_marked_many(lt_portal_store_t *self, const char *const *msgids,
                                 size_t count, lt_portal_mark_t *marks);

//  Forget delivery states first marked before before_ms (Unix ms); returns
//  how many, -1 on error.
int64_t lt_portal_store_prune(lt_portal_store_t *self, int64_t before_ms);

//  Return how many confirmed dossiers the store holds (-1 on error).
int64_t lt_portal_store_count(lt_portal_store_t *self);

//  Self-test of this class.
void lt_portal_store_test(bool verbose);

#endif
