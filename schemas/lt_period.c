/*  lt_period: reporting periods and calendar days in Asia/Ho_Chi_Minh.

    Civil dates are converted with the days-from-civil arithmetic on the
    proleptic Gregorian calendar, so nothing depends on the machine's time
    zone or its tz database (Viet Nam has kept UTC+7 since 1975).
*/
#include "lt_period.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t lt_period_days_from_civil(int year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

//  Civil date of days since 1970-01-01.
static void s_civil(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int) (doy - (153 * mp + 2) / 5 + 1);
    *month = (int) (mp < 10 ? mp + 3 : mp - 9);
    *year = (int) (yoe + era * 400 + (*month <= 2));
}

//  Floor division for negative times.
static int64_t s_floordiv(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int lt_period_day(int64_t ms)
{
    int y, m, d;
    s_civil(s_floordiv(ms + LT_VN_OFFSET_MS, 86400000LL), &y, &m, &d);
    return y * 10000 + m * 100 + d;
}

int64_t lt_period_local_ms(int year, int month, int day, int hour, int minute, int second)
{
    int64_t days = lt_period_days_from_civil(year, month, day);
    return ((days * 86400LL + hour * 3600LL + minute * 60LL + second) * 1000LL) -
           LT_VN_OFFSET_MS;
}

int64_t lt_period_day_start(int day)
{
    return lt_period_local_ms(day / 10000, day / 100 % 100, day % 100, 0, 0, 0);
}

//  Days in a month.
static int s_month_days(int year, int month)
{
    int next_y = month == 12 ? year + 1 : year, next_m = month == 12 ? 1 : month + 1;
    return (int) (lt_period_days_from_civil(next_y, next_m, 1) -
                  lt_period_days_from_civil(year, month, 1));
}

static const char *s_kind_names[] = {"month", "quarter", "half", "nine_months", "year"};

const char *lt_period_kind_name(lt_period_kind_t kind)
{
    return (unsigned) kind <= LT_PERIOD_YEAR ? s_kind_names[kind] : "unknown";
}

int lt_period_kind_from_name(const char *name)
{
    for (int i = 0; i <= LT_PERIOD_YEAR; i++)
        if (strcmp(name, s_kind_names[i]) == 0)
            return i;
    return -1;
}

int lt_period_make(lt_period_kind_t kind, int year, int index, bool calendar, lt_period_t *p)
{
    int first = 1, last = 12;
    switch (kind) {
    case LT_PERIOD_MONTH:
        if (index < 1 || index > 12)
            return -1;
        first = last = index;
        break;
    case LT_PERIOD_QUARTER:
        if (index < 1 || index > 4)
            return -1;
        first = index * 3 - 2;
        last = index * 3;
        break;
    case LT_PERIOD_HALF:
        if (index < 1 || index > 2)
            return -1;
        first = index * 6 - 5;
        last = index * 6;
        break;
    case LT_PERIOD_NINE_MONTHS:
        index = 1;
        last = 9;
        break;
    case LT_PERIOD_YEAR:
        index = 1;
        break;
    default:
        return -1;
    }
    if (year < 1970 || year > 9998)
        return -1;
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->year = year;
    p->index = index;
    p->calendar = calendar;
    if (calendar) {
        p->from_day = year * 10000 + first * 100 + 1;
        p->to_day = year * 10000 + last * 100 + s_month_days(year, last);
    }
    else {
        int fy = first == 1 ? year - 1 : year, fm = first == 1 ? 12 : first - 1;
        p->from_day = fy * 10000 + fm * 100 + 15;
        p->to_day = year * 10000 + last * 100 + 14;
    }
    switch (kind) {
    case LT_PERIOD_MONTH:
        snprintf(p->name, sizeof(p->name), "%04d-%02d", year, index);
        break;
    case LT_PERIOD_QUARTER:
        snprintf(p->name, sizeof(p->name), "%04d-Q%d", year, index);
        break;
    case LT_PERIOD_HALF:
        snprintf(p->name, sizeof(p->name), "%04d-H%d", year, index);
        break;
    case LT_PERIOD_NINE_MONTHS:
        snprintf(p->name, sizeof(p->name), "%04d-9M", year);
        break;
    default:
        snprintf(p->name, sizeof(p->name), "%04d", year);
        break;
    }
    return 0;
}

void lt_period_of_day(lt_period_kind_t kind, int day, bool calendar, lt_period_t *p)
{
    int y = day / 10000, m = day / 100 % 100, d = day % 100;
    if (!calendar && d >= 15) {   //  from the 15th the next month's period runs
        if (++m == 13) {
            m = 1;
            y++;
        }
    }
    int index = kind == LT_PERIOD_MONTH     ? m
                : kind == LT_PERIOD_QUARTER ? (m + 2) / 3
                : kind == LT_PERIOD_HALF    ? (m + 5) / 6
                                            : 1;
    lt_period_make(kind, y, index, calendar, p);
}

void lt_period_last_completed(lt_period_kind_t kind, int day, bool calendar, lt_period_t *p)
{
    lt_period_of_day(kind, day, calendar, p);
    if (p->to_day < day)
        return;   //  the nine months of the year ended before day
    lt_period_t current = *p;
    lt_period_of_day(kind, lt_period_day(lt_period_day_start(current.from_day) - 1000), calendar,
                     p);
}

int64_t lt_period_digits(const char *text, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

//  Exactly n (at most 4) digits at text; -1 when they are not digits.
static int s_digits(const char *text, int n)
{
    return (int) lt_period_digits(text, (size_t) n);
}

int lt_period_parse(const char *text, bool calendar, lt_period_t *p, lt_err_t *err)
{
    size_t len = strlen(text);
    int year = len >= 4 ? s_digits(text, 4) : -1;
    int rc = -1;
    if (year < 0) {
    }
    else if (len == 4)
        rc = lt_period_make(LT_PERIOD_YEAR, year, 1, calendar, p);
    else if (len == 7 && text[4] == '-' && s_digits(text + 5, 2) >= 0)
        rc = lt_period_make(LT_PERIOD_MONTH, year, s_digits(text + 5, 2), calendar, p);
    else if (len == 7 && text[4] == '-' && text[5] == 'Q')
        rc = lt_period_make(LT_PERIOD_QUARTER, year, s_digits(text + 6, 1), calendar, p);
    else if (len == 7 && text[4] == '-' && text[5] == 'H')
        rc = lt_period_make(LT_PERIOD_HALF, year, s_digits(text + 6, 1), calendar, p);
    else if (len == 7 && strcmp(text + 4, "-9M") == 0)
        rc = lt_period_make(LT_PERIOD_NINE_MONTHS, year, 1, calendar, p);
    if (rc)
        lt_err_set(err, LT_EFIELD,
                   "period '%.32s' is not one of YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY-9M, YYYY", text);
    return rc;
}

void lt_period_day_text(int day, char out[11])
{
    unsigned y = (unsigned) (day / 10000) % 10000, m = (unsigned) (day / 100) % 100,
             d = (unsigned) day % 100;
    out[0] = (char) ('0' + y / 1000);
    out[1] = (char) ('0' + y / 100 % 10);
    out[2] = (char) ('0' + y / 10 % 10);
    out[3] = (char) ('0' + y % 10);
    out[4] = '-';
    out[5] = (char) ('0' + m / 10);
    out[6] = (char) ('0' + m % 10);
    out[7] = '-';
    out[8] = (char) ('0' + d / 10);
    out[9] = (char) ('0' + d % 10);
    out[10] = 0;
}

size_t lt_period_format_time(int64_t ms, const char *format, char *out, size_t size)
{
    time_t seconds = (time_t) (ms / 1000) + (time_t) (LT_VN_OFFSET_MS / 1000);
    struct tm tm;
    //  The callers' formats are checked where they are written (the
    //  declaration's format attribute).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t length = gmtime_r(&seconds, &tm) ? strftime(out, size, format, &tm) : 0;
#pragma GCC diagnostic pop
    if (length == 0 && size > 0)
        out[0] = 0;
    return length;
}

void lt_period_test(bool verbose)
{
    if (verbose)
        printf(" * lt_period: ");
    lt_period_t p;
    lt_err_t err;
    //  Local time: 2026-09-14 16:59:07 UTC is 23:59:07 in Vietnam.
    char local[40];
    int64_t at = lt_period_local_ms(2026, 9, 14, 23, 59, 7) + 250;
    assert(at == 1789405147250LL);
    assert(lt_period_format_time(at, "%Y-%m-%dT%H:%M:%S+07:00", local, sizeof(local)) == 25);
    assert(strcmp(local, "2026-09-14T23:59:07+07:00") == 0);
    lt_period_format_time(at, "%Y/%m/%d %H:%M:%S", local, sizeof(local));
    assert(strcmp(local, "2026/09/14 23:59:07") == 0);
    assert(lt_period_format_time(at, "%Y-%m-%d %H:%M:%S", local, 5) == 0 && local[0] == 0);
    assert(lt_period_parse("2026-Q3", false, &p, &err) == 0);
    assert(p.from_day == 20260615 && p.to_day == 20260914 && strcmp(p.name, "2026-Q3") == 0);
    assert(lt_period_parse("2026-Q3", true, &p, &err) == 0);
    assert(p.from_day == 20260701 && p.to_day == 20260930);
    assert(lt_period_parse("2026-01", false, &p, &err) == 0);
    assert(p.from_day == 20251215 && p.to_day == 20260114 && p.kind == LT_PERIOD_MONTH);
    assert(lt_period_parse("2026-H1", false, &p, &err) == 0);
    assert(p.from_day == 20251215 && p.to_day == 20260614);
    assert(lt_period_parse("2026-9M", false, &p, &err) == 0);
    assert(p.from_day == 20251215 && p.to_day == 20260914);
    assert(lt_period_parse("2026", false, &p, &err) == 0);
    assert(p.from_day == 20251215 && p.to_day == 20261214 && p.kind == LT_PERIOD_YEAR);
    assert(lt_period_parse("2024-02", true, &p, &err) == 0 && p.to_day == 20240229);
    assert(lt_period_parse("2026-Q5", false, &p, &err) == -1 && err.code == LT_EFIELD);
    assert(lt_period_parse("2026-13", false, &p, &err) == -1);
    assert(lt_period_parse("26-Q1", false, &p, &err) == -1);
    assert(lt_period_parse("2026-Q3x", false, &p, &err) == -1);
    assert(lt_period_parse("", false, &p, &err) == -1);
    //  The 14th at 23:59 and the 15th at 00:00 local time.
    int64_t last = lt_period_local_ms(2026, 9, 14, 23, 59, 59);
    int64_t first = lt_period_local_ms(2026, 9, 15, 0, 0, 0);
    assert(first - last == 1000);
    assert(lt_period_day(last) == 20260914 && lt_period_day(first) == 20260915);
    assert(lt_period_day(first - 1) == 20260914);
    assert(lt_period_day_start(20260915) == first);
    //  00:00 local is 17:00 UTC the day before.
    assert(lt_period_day(1789405200000LL) == 20260915);   //  2026-09-14T17:00:00Z
    lt_period_of_day(LT_PERIOD_QUARTER, 20260914, false, &p);
    assert(strcmp(p.name, "2026-Q3") == 0);
    lt_period_of_day(LT_PERIOD_QUARTER, 20260915, false, &p);
    assert(strcmp(p.name, "2026-Q4") == 0);
    lt_period_of_day(LT_PERIOD_YEAR, 20261215, false, &p);
    assert(strcmp(p.name, "2027") == 0 && p.from_day == 20261215);
    lt_period_of_day(LT_PERIOD_MONTH, 20261215, true, &p);
    assert(strcmp(p.name, "2026-12") == 0);
    //  The last completed period, as reports take it.
    lt_period_last_completed(LT_PERIOD_QUARTER, 20261205, false, &p);
    assert(strcmp(p.name, "2026-Q4") != 0 && strcmp(p.name, "2026-Q3") == 0);
    lt_period_last_completed(LT_PERIOD_QUARTER, 20261215, false, &p);
    assert(strcmp(p.name, "2026-Q4") == 0);
    lt_period_last_completed(LT_PERIOD_MONTH, 20261205, false, &p);
    assert(strcmp(p.name, "2026-11") == 0);
    lt_period_last_completed(LT_PERIOD_YEAR, 20261205, false, &p);
    assert(strcmp(p.name, "2025") == 0);
    lt_period_last_completed(LT_PERIOD_YEAR, 20261215, false, &p);
    assert(strcmp(p.name, "2026") == 0);
    //  Nine months (15 Dec to 14 Sep): from 15 Sep the year's own has ended.
    lt_period_last_completed(LT_PERIOD_NINE_MONTHS, 20261205, false, &p);
    assert(strcmp(p.name, "2026-9M") == 0 && p.from_day == 20251215 && p.to_day == 20260914);
    lt_period_last_completed(LT_PERIOD_NINE_MONTHS, 20260915, false, &p);
    assert(strcmp(p.name, "2026-9M") == 0);
    lt_period_last_completed(LT_PERIOD_NINE_MONTHS, 20260914, false, &p);
    assert(strcmp(p.name, "2025-9M") == 0);
    lt_period_last_completed(LT_PERIOD_NINE_MONTHS, 20261220, false, &p);
    assert(strcmp(p.name, "2026-9M") == 0);
    lt_period_last_completed(LT_PERIOD_NINE_MONTHS, 20270301, false, &p);
    assert(strcmp(p.name, "2026-9M") == 0);
    lt_period_last_completed(LT_PERIOD_NINE_MONTHS, 20261001, true, &p);
    assert(strcmp(p.name, "2026-9M") == 0 && p.to_day == 20260930);
    lt_period_last_completed(LT_PERIOD_NINE_MONTHS, 20260930, true, &p);
    assert(strcmp(p.name, "2025-9M") == 0);
    assert(lt_period_kind_from_name("nine_months") == LT_PERIOD_NINE_MONTHS);
    assert(lt_period_kind_from_name("week") == -1);
    char text[11];
    lt_period_day_text(20260615, text);
    assert(strcmp(text, "2026-06-15") == 0);
    if (verbose)
        printf("OK\n");
}
