/*  lt_option: typed settings declared in a table (name, type, default,
    bounds, reloadable, required, help).

    A connector declares its options in one const table; the connector
    runtime reads them from the command line and from the connector's
    section of lthubd's config file, lthubd checks that section with the
    same table (`lthubd --check-config`), and `lthubd --defaults` and
    `lthub-NAME --help` print it. lt_option_check is the one place where a
    value is judged, so every side names a bad value the same way.
*/
#ifndef LT_OPTION_H_INCLUDED
#define LT_OPTION_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

//  What an option holds.
typedef enum {
    LT_OPT_STRING = 0,   //  any text ("" allowed unless required)
    LT_OPT_INT,          //  a decimal integer within [min, max]
    LT_OPT_BOOL,         //  yes or no
    LT_OPT_ADDR,         //  ADDR:PORT or [V6ADDR]:PORT
    LT_OPT_URLPATH,      //  a URL path: starts with '/', no blank, '?' or '#'
    LT_OPT_URL,          //  an http:// or https:// URL ("" allowed unless required)
} lt_option_type_t;

//  One option (--name VALUE, or `name = "VALUE"` in the connector's
//  section); a NULL name ends a table. The first three fields keep the
//  order of the untyped tables, so {name, default, help} alone is a string.
typedef struct {
    const char *name;           //  option name without dashes
    const char *fallback;       //  default value as text ("" for none)
    const char *help;           //  one line for --help and --defaults
    lt_option_type_t type;      //  what the value must be
    long long min, max;         //  bounds of an LT_OPT_INT
    bool required;              //  must be set (to something not empty)
    bool reload;                //  lthubd's SIGHUP applies a change (restarting the connector)
} lt_option_t;

//  Declare a string option.
#define LT_OPT_STR(n, d, h) {n, d, h, LT_OPT_STRING, 0, 0, false, true}
//  Declare a required string option (no default).
#define LT_OPT_NEEDED(n, h) {n, "", h, LT_OPT_STRING, 0, 0, true, true}
//  Declare an integer option within [lo, hi].
#define LT_OPT_NUM(n, d, lo, hi, h) {n, d, h, LT_OPT_INT, lo, hi, false, true}
//  Declare an option of another type.
#define LT_OPT_TYPED(n, d, t, h) {n, d, h, t, 0, 0, false, true}
//  The end of a table.
#define LT_OPT_END {NULL, NULL, NULL, LT_OPT_STRING, 0, 0, false, false}

//  Find an option by name in a table (NULL safe); NULL when absent.
const lt_option_t *lt_option_find(const lt_option_t *table, const char *name);

//  Check a value against its declaration. Returns 0, or -1 with why filled
//  with what is wrong, without the option's name ("must be ADDR:PORT, not
//  'x'"): the caller puts "--listen " or "FILE:LINE: connectors/dms/listen "
//  before it.
//  An empty value of an option that is not required is accepted: it means
//  "unset" (the caller checks required options with lt_option_missing).
int lt_option_check(const lt_option_t *option, const char *value, char *why, size_t size);

//  True when a required option has no value.
bool lt_option_missing(const lt_option_t *option, const char *value);

//  The value of an LT_OPT_INT or LT_OPT_BOOL (1 for yes) already checked;
//  0 when it cannot be read.
long long lt_option_number(const char *value);

//  Split an ADDR:PORT value into host and port; -1 when malformed.
int lt_option_addr(const char *value, char *host, size_t host_size, unsigned *port);

//  Print a table for --help (prefix "--") or as ZPL comment lines of a
//  config section (prefix "", indented by indent spaces).
void lt_option_print(FILE *out, const lt_option_t *table, const char *prefix, int indent);

//  Self-test of this class.
void lt_option_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
