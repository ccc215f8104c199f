/*  lt_indicators: indicator definitions as data (schemas/indicators/), and
    the arithmetic that turns ledger counts into rates.

    A definitions file is line-based; '#' starts a comment:

        regimes = PAR-7.1, BC-CCHC-QUY          # report regimes due
        indicator doc_electronic_rate
            name        = Tỷ lệ văn bản trao đổi dưới dạng điện tử
            label       = 7.1.1
            count       = items
            numerator   = doc_out doc_in +electronic
            denominator = doc_out doc_in
            exclude     = secret
            target      = 100
            points      = 1

    A filter is a list of events (lt_ev_name) and flags (lt_flag_name) with
    '+' (the item has it) or '-' (it has not). count says what is counted:
    items; agencies (configured agencies with at least one numerator item
    of their own, over the configured agencies: denominator =
    configured_agencies); procedures (distinct MaTTHC); regimes (distinct
    report codes among the regimes due, over the regimes due: denominator =
    regimes_due). Items with any flag of exclude count nowhere and are
    listed as excluded in the evidence. Points: full at or above target,
    proportional below. Errors name the file and line.
*/
#ifndef LT_INDICATORS_H_INCLUDED
#define LT_INDICATORS_H_INCLUDED

#include "lt_agencies.h"
#include "lt_error.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_indicators_t lt_indicators_t;

//  What an indicator counts.
typedef enum {
    LT_COUNT_ITEMS = 0,        //  items
    LT_COUNT_AGENCIES = 1,     //  configured agencies with an item
    LT_COUNT_PROCEDURES = 2,   //  distinct procedures (MaTTHC)
    LT_COUNT_REGIMES = 3,      //  report regimes due that were accepted
} lt_count_t;

//  A filter over items: one of the events, every flag of with, none of without.
typedef struct {
    unsigned events;    //  bit (1 << lt_ev_t) per event
    unsigned with;      //  LT_F_* the item must have
    unsigned without;   //  LT_F_* the item must not have
} lt_filter_t;

//  One indicator.
typedef struct {
    char code[64];            //  doc_electronic_rate
    char name[256];           //  Vietnamese name
    char label[64];           //  sub-criterion it reports under
    lt_count_t count;         //  what is counted
    lt_filter_t numerator;    //  numerator filter
    lt_filter_t denominator;  //  denominator filter
    unsigned exclude;         //  LT_F_* that exclude an item
    double target;            //  target, percent
    double points;            //  maximum points
    int line;                 //  where it was defined
} lt_indicator_t;

//  One line of summed counts (ledger_sum over a period).
typedef struct {
    const char *agency;   //  agency code
    int event;            //  lt_ev_t
    unsigned flags;       //  LT_F_*
    const char *dim;      //  MaTTHC, report code, status code or ""
    int64_t n;            //  items
} lt_ind_sum_t;

//  One computed indicator.
typedef struct {
    const lt_indicator_t *def;   //  its definition
    int64_t numerator;           //  numerator
    int64_t denominator;         //  denominator
    bool no_data;                //  denominator 0: no value
    double value;                //  percent (2 decimals)
    double points;               //  points earned
    const char *status;          //  "met", "below" or "no_data"
} lt_ind_result_t;

//  Load a definitions file; NULL with err "FILE:LINE: what" when bad.
lt_indicators_t *lt_indicators_load(const char *path, lt_err_t *err);

//  Destroy; safe on NULL.
void lt_indicators_destroy(lt_indicators_t **self_p);

//  Indicators in file order.
size_t lt_indicators_size(const lt_indicators_t *self);
const lt_indicator_t *lt_indicators_at(const lt_indicators_t *self, size_t index);
const lt_indicator_t *lt_indicators_find(const lt_indicators_t *self, const char *code);

//  Report regimes due (the regimes line).
size_t lt_indicators_regimes(const lt_indicators_t *self);
const char *lt_indicators_regime(const lt_indicators_t *self, size_t index);

//  True when an item with event and flags is excluded / in a filter.
bool lt_indicator_excluded(const lt_indicator_t *def, int event, unsigned flags);
bool lt_filter_match(const lt_filter_t *filter, int event, unsigned flags);

//  Compute one indicator for agency ("" or the province code = the whole
//  province) from summed counts.
void lt_indicator_compute(const lt_indicators_t *self, const lt_indicator_t *def,
                          const lt_agencies_t *dir, const char *agency, const lt_ind_sum_t *sums,
                          size_t sum_count, lt_ind_result_t *result);

//  The same when every sum is already known to count for agency (the
//  caller filtered them): no roll-up test per sum.
void lt_indicator_compute_under(const lt_indicators_t *self, const lt_indicator_t *def,
                                const lt_agencies_t *dir, const char *agency,
                                const lt_ind_sum_t *sums, size_t sum_count,
                                lt_ind_result_t *result);

//  Write a filter back as text ("doc_out doc_in +electronic").
void lt_filter_text(const lt_filter_t *filter, char *out, size_t size);

//  Name of a count kind.
const char *lt_count_name(lt_count_t count);

//  Self-test of this class.
void lt_indicators_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
