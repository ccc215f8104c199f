/*  lt_follow: the rules that tie a follow-up to its document (DESIGN.md
    section 3, "ordered where it matters").

    A follow-up is a revocation, update or replacement of a document, or a
    status about one. It depends on one document, named by DocumentId: the
    replaced one for a replacement (envelope "re"), the business key for the
    others. The broker uses these rules to order a follow-up after its
    document (lane), to hold it until that document is stored, and to refuse
    one sent by an agency that has no say over the document.

    A progress step depends the same way on its dossier (MaHoSo): it shares
    the dossier's lane and is held until a record of the dossier is stored;
    who may send it is not checked here (a dossier may move between units).
*/
#ifndef LT_FOLLOW_H_INCLUDED
#define LT_FOLLOW_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Return the DocumentId a follow-up depends on, or NULL when the message
//  is not a follow-up (a new document, a replacement naming nothing, a
//  dossier, ...).
const char *lt_follow_document(const lt_envelope_t *env);

//  Return the key that names the message's lane: the replaced DocumentId
//  for a replacement, the business key otherwise.
const char *lt_follow_lane(const lt_envelope_t *env);

//  Return true when the message is a document that follow-ups may depend
//  on: a new document or a replacement.
bool lt_follow_is_document(const lt_envelope_t *env);

//  Return the MaHoSo a progress step waits for (its dossier), or NULL when
//  the message is not a progress step. A step never overtakes its dossier
//  (spec/peers.md B): one that comes before any record of its dossier is
//  held until one is stored (or the hold runs out).
const char *lt_follow_dossier(const lt_envelope_t *env);

//  Return true when the message is a dossier record, which releases the
//  progress steps held for its MaHoSo.
bool lt_follow_is_dossier(const lt_envelope_t *env);

//  Check that the follow-up env comes from an agency entitled to it, given
//  the envelope of its document: a revocation, update, replacement or
//  recall status (13) from the document's sender; any other status from one
//  of its recipients. -1 with LT_EFORBIDDEN naming both sides otherwise.
int lt_follow_entitled(const lt_envelope_t *env, const lt_envelope_t *original, lt_err_t *err);

//  Self-test of this class.
void lt_follow_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
