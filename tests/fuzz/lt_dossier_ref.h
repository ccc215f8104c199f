/*  lt_dossier_ref: the former, jansson-based dossier record read of the
    ledger (test code only; see lt_dossier_ref.c).
*/
#ifndef LT_DOSSIER_REF_H_INCLUDED
#define LT_DOSSIER_REF_H_INCLUDED

#include "lt_ledger_event.h"

#include <jansson.h>

//  The events of a dossier record as s_dossier yielded them with jansson.
int lt_dossier_ref_events(const lt_envelope_t *env, const void *payload, size_t size,
                          lt_ledger_event_fn *fn, void *arg, lt_err_t *err);

//  Member name of obj as text as s_text printed it (string, %lld, else "").
const char *lt_dossier_ref_text(json_t *obj, const char *name, char *buf, size_t size);

#endif
