/*  lt_report_json: an indicator report as the reporting system takes it
    (spec/peers.md C), read and checked.

    lthub-report checks every report before it sends one, and lthub-sim
    report checks what it receives with the same rules, so that a bad report
    is named by its field on both sides: reportCode, organId, period (kind
    month, quarter, half, nine_months or year; year; index within the kind;
    from and to as yyyy-MM-dd, from not after to), idempotencyKey and
    indicators (an array of objects with a code, numbers where numbers are
    due) are required; generatedAt and evidence are checked when present.
    Unknown fields are allowed and kept: the report is sent byte for byte
    as it was published, never re-encoded.

    The JSON reader refuses duplicate keys (two readers of the same text
    must never see two different reports) and texts over
    LT_REPORT_JSON_MAX bytes.
*/
#ifndef LT_REPORT_JSON_H_INCLUDED
#define LT_REPORT_JSON_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_REPORT_JSON_MAX        (4u * 1024 * 1024)   //  largest report text accepted
#define LT_REPORT_JSON_INDICATORS 1000                 //  most indicators in one report
#define LT_REPORT_JSON_BTYPE      "report_accepted"    //  btype of the fact published back

typedef struct _lt_report_json_t lt_report_json_t;

//  Read and check a report; NULL with err filled (LT_EFIELD naming the
//  field, LT_EINVAL for text that is not a JSON object, LT_ETOOBIG) when
//  it is not a report the reporting system can take.
lt_report_json_t *lt_report_json_parse(const void *data, size_t size, lt_err_t *err);

//  Destroy a report; set the pointer to NULL; safe on NULL.
void lt_report_json_destroy(lt_report_json_t **self_p);

//  Return reportCode.
const char *lt_report_json_code(const lt_report_json_t *self);

//  Return organId, the reporting agency's code.
const char *lt_report_json_organ(const lt_report_json_t *self);

//  Return idempotencyKey.
const char *lt_report_json_key(const lt_report_json_t *self);

//  Return the period as a short label: 2026-M09, 2026-Q3, 2026-H1, 2026-9M
//  or 2026.
const char *lt_report_json_period_label(const lt_report_json_t *self);

//  Return the period object (on loan).
json_t *lt_report_json_period(const lt_report_json_t *self);

//  Return the whole report (on loan).
json_t *lt_report_json_root(const lt_report_json_t *self);

//  Fill an envelope for publishing the report: kind report, key the
//  idempotency key, btype "new", sender organId, payload size and digest.
void lt_report_json_fill_envelope(const lt_report_json_t *self, lt_envelope_t *env,
                                  const void *data, size_t size);

//  Self-test of this class.
void lt_report_json_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
