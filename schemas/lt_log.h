/*  lt_log: one line per event, key=value, to stderr (journald keeps it).

    Lines look like
        2026-11-21T08:00:00.123Z lthubd info event=accepted connector=dms seq=7
    The program name is set once at start; the level threshold comes from
    the config or LT_LOG_LEVEL (error, warning, info, debug).
*/
#ifndef LT_LOG_H_INCLUDED
#define LT_LOG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LT_LOG_ERROR = 0,   //  something failed and needs an operator
    LT_LOG_WARNING = 1, //  something failed and was handled
    LT_LOG_INFO = 2,    //  normal events worth keeping
    LT_LOG_DEBUG = 3,   //  detail for developers
} lt_log_level_t;

//  Set the program name shown on each line and read LT_LOG_LEVEL.
void lt_log_init(const char *program);

//  Set the threshold; lines above it are dropped.
void lt_log_set_level(lt_log_level_t level);

//  Parse a level name; -1 when unknown.
int lt_log_level_from_name(const char *name);

//  Return true when a line at level would be written.
bool lt_log_enabled(lt_log_level_t level);

//  Write one line at level; format is printf-style key=value pairs.
void lt_log(lt_log_level_t level, const char *format, ...) __attribute__((format(printf, 2, 3)));

//  Copy value into out (size bytes, cut short if need be) with each " and
//  \ escaped as \" and \\, for a key="%s" field: text from outside then
//  cannot close the quotes and write fields of its own (key="x" event=y).
//  Returns out.
const char *lt_log_quoted(const char *value, char *out, size_t size);

#define lt_log_error(...) lt_log(LT_LOG_ERROR, __VA_ARGS__)
#define lt_log_warning(...) lt_log(LT_LOG_WARNING, __VA_ARGS__)
#define lt_log_info(...) lt_log(LT_LOG_INFO, __VA_ARGS__)
#define lt_log_debug(...) lt_log(LT_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
