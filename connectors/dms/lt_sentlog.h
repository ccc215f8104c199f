/*  lt_sentlog: what each DMS client system sent through lthub-dms, for
    getSentEdocList (spec/peers.md A).

    One row per (system, DocId, recipient agency), written after the broker
    confirmed the package, in its own SQLite file (DATA/dms-sent.db, WAL,
    synchronous=NORMAL: the log is a convenience for the sender, the broker
    holds the message itself). A resend of the same package (same DocId)
    refreshes the row's time instead of adding one. Thread-safe: one
    connection behind a mutex.
*/
#ifndef LT_SENTLOG_H_INCLUDED
#define LT_SENTLOG_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_sentlog_t lt_sentlog_t;

//  One sent item as read back; every string is owned by the item.
typedef struct {
    char *msgid;         //  the DocId answered to the sender (broker message id)
    char *system;        //  sending system id
    char *agency;        //  one recipient agency code
    char *key;           //  DocumentId (of the document a status is about)
    char *sender;        //  From/OrganId
    char *notation;      //  number/notation ("215/STTTT-VP"), "" for a status
    char *messagetype;   //  "edoc" or "status"
    int64_t created;     //  first confirmed, Unix ms
    int64_t updated;     //  last confirmed (a resend), Unix ms
} lt_sent_t;

//  Open or create the log at path; NULL with err filled (LT_ESTORE).
lt_sentlog_t *lt_sentlog_new(const char *path, lt_err_t *err);

//  Close the log and set the caller's pointer to NULL; safe on NULL.
void lt_sentlog_destroy(lt_sentlog_t **self_p);

//  Record one confirmed package for each recipient agency (one
//  transaction); a row already there gets updated = now. 0 or -1 with err.
int lt_sentlog_add(lt_sentlog_t *self, const char *system, const char *msgid, const char *key,
                   const char *sender, const char *notation, const char *messagetype,
                   const char *const *agencies, size_t count, int64_t now, lt_err_t *err);

//  List a system's sent rows, newest first, at most max, optionally only
//  one messagetype and one DocId (NULL or "" for any). Free the list with
//  lt_sentlog_free. Returns 0, or -1 with err filled.
int lt_sentlog_list(lt_sentlog_t *self, const char *system, const char *messagetype,
                    const char *msgid, size_t max, lt_sent_t **list_p, size_t *count_p,
                    lt_err_t *err);

//  Whether a system already sent a package of this key and messagetype to
//  agency ("": to any agency): 1 yes, 0 no, -1 with err filled.
int lt_sentlog_sent_to(lt_sentlog_t *self, const char *system, const char *key,
                       const char *messagetype, const char *agency, lt_err_t *err);

//  Free a list from lt_sentlog_list and set the pointer to NULL.
void lt_sentlog_free(lt_sent_t **list_p, size_t count);

//  Self-test of this class.
void lt_sentlog_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
