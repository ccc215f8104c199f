/*  lt_counting: the indicators, evidence bundles and reports of a period,
    read from a store file.

    Holds what the settings name (indicator definitions, agency directory,
    calendar) and reads the store through its own read-only SQLite
    connection, so `lthub` works on the file directly and lthubd's admin
    API answers without stopping the broker's thread. Used by `lthub
    indicators | evidence | ledger verify | report`, GET /api/v1/indicators
    and the periodic reports.
*/
#ifndef LT_COUNTING_H_INCLUDED
#define LT_COUNTING_H_INCLUDED

#include "lt_agencies.h"
#include "lt_config.h"
#include "lt_error.h"
#include "lt_indicators.h"
#include "lt_period.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_counting_t lt_counting_t;

//  Load the definitions, directory and calendar the settings name; NULL with
//  err ("FILE:LINE: ...") when one of them is bad.
lt_counting_t *lt_counting_load(const lt_settings_t *settings, lt_err_t *err);

//  Destroy; safe on NULL.
void lt_counting_destroy(lt_counting_t **self_p);

//  The loaded parts.
const lt_indicators_t *lt_counting_indicators_defs(const lt_counting_t *self);
const lt_agencies_t *lt_counting_agencies(const lt_counting_t *self);
bool lt_counting_calendar(const lt_counting_t *self);

//  True when code is a report code of this hub: a regime of the indicator
//  definitions (their "regimes" line) or a CODE of ledger/reports. known
//  gets the list of them, comma-separated, for a refusal to name.
bool lt_counting_knows_code(const lt_counting_t *self, const char *code, char *known,
                            size_t size);

//  Write one CSV field to out, then a comma, or a line end when last: quoted
//  (RFC 4180) when it holds a comma, a quote or a line break, and with one '
//  in front when it begins with = + - @ TAB CR or ' (a spreadsheet would run
//  it as a formula); dropping one leading ' gives the value back.
void lt_counting_csv(FILE *out, const char *value, bool last);

//  The store file of a data directory (DATA/lthub.db).
void lt_counting_store_path(const lt_settings_t *settings, char *out, size_t size);

//  Indicators of a period for an agency ("" = the province; "all" = the
//  province then every configured agency) as JSON (docs/indicators.md).
json_t *lt_counting_indicators(lt_counting_t *self, const char *store, const char *period,
                               const char *agency, lt_err_t *err);

//  Write the evidence bundle of one indicator (items.csv, manifest.json)
//  into dir (created). Returns 0 or -1 with err.
int lt_counting_evidence(lt_counting_t *self, const char *store, const char *indicator,
                         const char *period, const char *agency, const char *dir, lt_err_t *err);

//  Build a report in the shape of spec/peers.md C for a period and agency.
json_t *lt_counting_report(lt_counting_t *self, const char *store, const char *code,
                           const lt_period_t *period, const char *agency, lt_err_t *err);

//  Build a report and hand it to the running broker (admin op "publish"),
//  which stores it as a kind "report" message (key = idempotencyKey) for
//  the report connector. Returns the broker's answer ({"key","msgid",
//  "duplicate","dest"}) or NULL with err.
json_t *lt_counting_submit(lt_counting_t *self, const char *store, const char *code,
                           const lt_period_t *period, const char *agency, lt_err_t *err);

//  The periodic reports: for each "CODE:KIND[:AGENCY]" of spec (the
//  ledger/reports setting) whose last completed period at now_ms was not
//  yet submitted by this process (done: one slot of 32 bytes per entry,
//  max entries), submit it. Returns how many were submitted.
int lt_counting_reports_due(lt_counting_t *self, const char *store, const char *spec,
                            int64_t now_ms, char done[][32], size_t max);

//  Walk the ledger chain of a store file: 0 ok, 1 broken (why names the
//  row), -1 cannot read.
int lt_counting_verify(const char *store, uint64_t *rows, char *why, size_t why_size);

//  Self-test of this class.
void lt_counting_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
