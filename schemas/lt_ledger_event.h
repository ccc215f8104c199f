/*  lt_ledger_event: which counted events (spec/indicators.md, "Events in the
    ledger") a stored message stands for.

    A data contract, like the envelope: given an envelope, its payload, the
    recipients the hub delivered it to and the province code, it yields zero
    or more events, each with the spec's dedup key ("item"). It knows no
    SQL; broker/lt_ledger writes what it yields.

      document  "doc_out" for a sender of the province, "doc_in" for each
                delivered recipient of the province; item doc|ID|AGENCY|dir
      register  one doc_out or doc_in line, same item as a relayed document
      status    "status" by a sender of the province; item status|ID|AGENCY|CODE
      dossier   dossier_received (NgayTiepNhan), dossier_updated (each new
                version), dossier_finished (state 9 or 10 with
                NgayKetThucXuLy), dossier_returned (state 10)
      fact      dossier_synced (btype dossier_synced, item MaHoSo|revision; one
                event per dossier a list fact names, a malformed list refused
                with LT_EINVAL naming what is wrong: schemas/ltp.md),
                report_accepted (btype report_accepted, item idempotency key)
*/
#ifndef LT_LEDGER_EVENT_H_INCLUDED
#define LT_LEDGER_EVENT_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Counted events. Their names are the wire and file form.
typedef enum {
    LT_EV_NONE = 0,
    LT_EV_DOC_OUT = 1,            //  a document sent by an agency of the province
    LT_EV_DOC_IN = 2,             //  a document received by an agency of the province
    LT_EV_STATUS = 3,             //  a status package returned by an agency
    LT_EV_DOSSIER_RECEIVED = 4,   //  a dossier received (NgayTiepNhan)
    LT_EV_DOSSIER_UPDATED = 5,    //  a new version of a dossier record
    LT_EV_DOSSIER_FINISHED = 6,   //  a dossier settled (NgayKetThucXuLy)
    LT_EV_DOSSIER_RETURNED = 7,   //  a dossier's result returned (state 10)
    LT_EV_DOSSIER_SYNCED = 8,     //  DVCQG accepted a dossier revision
    LT_EV_REPORT_ACCEPTED = 9,    //  the reporting system accepted a report
    LT_EV_COUNT
} lt_ev_t;

//  Attribute bits an event carries from its payload.
#define LT_EVA_ONTIME 1          //  finished no later than NgayHenTra
#define LT_EVA_POSTAL_RETURN 2   //  result returned by public postal service
#define LT_EVA_DIGITISED 4       //  every submitted file digitised

//  Flags of a counted item (its events merged), the words indicator filters
//  use (schemas/indicators/): "+electronic", "-secret".
#define LT_F_ELECTRONIC (1u << 0)      //  exchanged electronically (relayed or declared)
#define LT_F_SECRET (1u << 1)          //  state secret: excluded
#define LT_F_SIGNED (1u << 2)          //  main file signature verifies and is trusted
#define LT_F_DECLARED (1u << 3)        //  electronic only by the register's word
#define LT_F_RELAYED (1u << 4)         //  the hub relayed it
#define LT_F_CONFIRMED (1u << 5)       //  received, status 01 or 03 back the same day
#define LT_F_ONLINE (1u << 6)          //  dossier filed online (KenhThucHien 2)
#define LT_F_POSTAL (1u << 7)          //  dossier filed by post (KenhThucHien 3)
#define LT_F_ONTIME (1u << 8)          //  dossier finished by NgayHenTra
#define LT_F_POSTAL_RETURN (1u << 9)   //  result returned by post (HinhThuc 1)
#define LT_F_DIGITISED (1u << 10)      //  every submitted file digitised
#define LT_F_SYNCED (1u << 11)         //  DVCQG accepted the dossier
#define LT_F_COUNT 12

//  Name of flag bit i (0..LT_F_COUNT-1).
const char *lt_flag_name(int bit);

//  Flag bit of a name, 0 when unknown.
unsigned lt_flag_from_name(const char *name);

//  One event. Strings are NUL-terminated and truncated to their buffers.
typedef struct {
    lt_ev_t event;           //  what happened
    char item[700];          //  dedup key of the counted item (fits a 512-byte key)
    char origin[16];         //  "relay" (the hub relayed it) or "register"
    char doc[520];           //  DocumentId, MaHoSo or idempotency key (key: 512 at most)
    char agency[64];         //  agency it counts for
    int64_t at;              //  Unix ms it happened (the hub's clock, or the record's date)
    bool electronic;         //  exchanged electronically (documents)
    bool secret;             //  state secret: excluded everywhere
    lt_sig_t sig;            //  signature verdict of the main file (documents)
    char signer[256];        //  signer subject (documents)
    int channel;             //  KenhThucHien (dossiers), 0 otherwise
    char dim[128];           //  status code, MaTTHC or report code
    unsigned attrs;          //  LT_EVA_* bits
    char detail[512];        //  facts behind the attributes, "name=value;..."
} lt_ledger_event_t;

//  Called for each event; return 0 to go on, -1 to stop (err filled).
typedef int(lt_ledger_event_fn)(void *arg, const lt_ledger_event_t *event, lt_err_t *err);

//  Yield the events of one stored message. rcpts[i] is the comma-separated
//  list of recipients delivered through destination i (as lt_store_put
//  takes them); province is the level-1 code ("H26"; "" = every agency is
//  the province's). Returns 0, or -1 when fn stopped or when a
//  dossier_synced fact is malformed (err LT_EINVAL naming what is wrong: the
//  broker refuses it). Other payload content that cannot be read yields no
//  event (the message is relayed all the same).
int lt_ledger_events(const lt_envelope_t *envelope, const void *payload, size_t size,
                     const char *const *rcpts, size_t rcpt_count, const char *province,
                     lt_ledger_event_fn *fn, void *arg, lt_err_t *err);

//  Name of an event ("doc_out", ...); NULL for none.
const char *lt_ev_name(lt_ev_t event);

//  Event from its name, LT_EV_NONE when unknown.
lt_ev_t lt_ev_from_name(const char *name);

//  True when an agency code belongs to the province ("" = any).
bool lt_ledger_in_province(const char *code, const char *province);

//  Parse a dossier date yyyyMMddHHmmss (Asia/Ho_Chi_Minh) to Unix ms; -1
//  when it is not one.
int64_t lt_ledger_vn_time(const char *text);

//  Self-test of this class.
void lt_ledger_event_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
