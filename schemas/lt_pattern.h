/*  lt_pattern: agency-code patterns, the one matcher that routing
    (broker/lt_config.c) and the connectors' "serves" checks (lthub-dms's
    systems file, lthub-axis's and lthub-portal's --agencies) share, so
    that what the broker routes to a connector and what the connector
    accepts as its own always agree.

    A pattern is "*" (every code), "*SUFFIX" (codes ending in SUFFIX, e.g.
    "*.H26"), "PREFIX*" (codes starting with PREFIX, e.g. "H26.*") or an
    exact code; 1 to 63 characters of letters, digits, '.', '-' and '_'.
*/
#ifndef LT_PATTERN_H_INCLUDED
#define LT_PATTERN_H_INCLUDED

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_PATTERN_MAX 63   //  longest pattern, characters

//  True when code matches pattern; false when either is NULL.
bool lt_pattern_match(const char *pattern, const char *code);

//  True when text is a well-formed pattern (or exact code).
bool lt_pattern_valid(const char *text);

//  Self-test of this class, with the patterns of every place that uses it.
void lt_pattern_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
