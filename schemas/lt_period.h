/*  lt_period: reporting periods and the province's calendar days.

    Time zone Asia/Ho_Chi_Minh, a fixed UTC+7 without daylight saving. A day
    is written yyyymmdd as an integer (20260914). Periods are month, quarter,
    half, nine_months and year; by default their boundaries follow Nghị định
    09/2019/NĐ-CP (from the 15th of the month before the period to the 14th
    of its last month, both days included), or the calendar months when
    calendar is true.

    Period syntax: 2026-09 (month), 2026-Q3 (quarter), 2026-H1 (half),
    2026-9M (nine months), 2026 (year).
*/
#ifndef LT_PERIOD_H_INCLUDED
#define LT_PERIOD_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_VN_OFFSET_MS (7 * 3600 * 1000LL)   //  UTC+7

typedef enum {
    LT_PERIOD_MONTH = 0,         //  one month
    LT_PERIOD_QUARTER = 1,       //  three months
    LT_PERIOD_HALF = 2,          //  six months
    LT_PERIOD_NINE_MONTHS = 3,   //  January to September
    LT_PERIOD_YEAR = 4,          //  twelve months
} lt_period_kind_t;

//  One period.
typedef struct {
    lt_period_kind_t kind;   //  what kind
    int year;                //  reporting year
    int index;               //  month 1-12, quarter 1-4, half 1-2, 1 otherwise
    bool calendar;           //  calendar boundaries instead of Nghị định 09
    int from_day;            //  first day, yyyymmdd, included
    int to_day;              //  last day, yyyymmdd, included
    char name[16];           //  canonical text: 2026-Q3
} lt_period_t;

//  Parse a period ("2026-Q3"); -1 with err naming what is wrong.
int lt_period_parse(const char *text, bool calendar, lt_period_t *period, lt_err_t *err);

//  Fill a period of kind/year/index; -1 on an out-of-range index.
int lt_period_make(lt_period_kind_t kind, int year, int index, bool calendar,
                   lt_period_t *period);

//  The period of a kind that holds day.
void lt_period_of_day(lt_period_kind_t kind, int day, bool calendar, lt_period_t *period);

//  Fill period with the last period of this kind that ended before day
//  (YYYYMMDD): the one before the period holding day, or, for the nine
//  months that leave part of the year uncovered, the one of the year that
//  ended before day.
void lt_period_last_completed(lt_period_kind_t kind, int day, bool calendar, lt_period_t *period);

//  The local day (yyyymmdd) of a Unix ms.
int lt_period_day(int64_t ms);

//  Unix ms of 00:00 local time on day.
int64_t lt_period_day_start(int day);

//  Unix ms of a local date and time.
int64_t lt_period_local_ms(int year, int month, int day, int hour, int minute, int second);

//  The n decimal digits at text as a number; -1 unless all n are digits.
int64_t lt_period_digits(const char *text, size_t n);

//  Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t lt_period_days_from_civil(int year, int month, int day);

//  Name of a kind ("quarter"); kind from name, -1 when unknown.
const char *lt_period_kind_name(lt_period_kind_t kind);
int lt_period_kind_from_name(const char *name);

//  Write a day as "2026-09-14".
void lt_period_day_text(int day, char out[11]);

//  Write Unix ms as Vietnam time (UTC+7) with a strftime format (the one
//  formatter of local times: "%Y/%m/%d %H:%M:%S" of the edoc API,
//  "%Y-%m-%dT%H:%M:%S+07:00" of ISO 8601...). Returns the length, 0 (and
//  out "") when it does not fit.
size_t lt_period_format_time(int64_t ms, const char *format, char *out, size_t size)
    __attribute__((format(strftime, 2, 0)));

//  Self-test of this class.
void lt_period_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
