/*  lt_quarantine: a folder of refused packages kept as evidence, bounded
    by count, bytes and age.

    Each entry is NAME.edxml (the package as received) and NAME.txt (a note
    of `key: value` lines, one of them `reason: ...`). The folder is read
    once at open (entries ordered by the package's modification time), then
    kept in memory. lt_quarantine_prune removes entries oldest first while
    one is older than the age bound or the folder is over its count or
    bytes bound, a bounded number per call, and logs each one (name, size,
    age, the bound, the reason of its note) before removing it. Thread-safe.
*/
#ifndef LT_QUARANTINE_H_INCLUDED
#define LT_QUARANTINE_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_quarantine_t lt_quarantine_t;

//  The bounds of the folder; 0 in a field means no such bound.
typedef struct {
    int64_t max_age_ms;   //  an entry older than this goes
    uint64_t max_items;   //  entries kept at most
    uint64_t max_bytes;   //  bytes (package and note) kept at most
} lt_quarantine_bounds_t;

//  What the folder holds now, and what the bounds removed since it was opened.
typedef struct {
    uint64_t items;           //  entries
    uint64_t bytes;           //  their bytes, package and note
    int64_t oldest;           //  time of the oldest entry, Unix ms (0: none)
    uint64_t evicted;         //  entries removed by the bounds
    uint64_t evicted_bytes;   //  their bytes
    uint64_t errors;          //  files that could not be removed or written
} lt_quarantine_usage_t;

//  Open the folder at dir (it must exist) and read its entries. Returns
//  NULL with err filled when it cannot be read.
lt_quarantine_t *lt_quarantine_new(const char *dir, lt_err_t *err);

//  Free the index (the files stay) and set the pointer to NULL; safe on NULL.
void lt_quarantine_destroy(lt_quarantine_t **self_p);

//  Keep a package under name (made safe for a file name: other characters
//  become '_') with its note, replacing an entry of the same name. Returns
//  0, or -1 with err filled (nothing kept).
int lt_quarantine_keep(lt_quarantine_t *self, const char *name, const void *data, size_t size,
                       const char *note, lt_err_t *err);

//  Remove at most max entries that the bounds no longer allow at now_ms,
//  oldest first, each logged (event=quarantine_evicted) before removal.
//  Returns how many were removed; *more is set when others are due.
uint32_t lt_quarantine_prune(lt_quarantine_t *self, const lt_quarantine_bounds_t *bounds,
                             int64_t now_ms, uint32_t max, bool *more);

//  Read the figures.
void lt_quarantine_usage(lt_quarantine_t *self, lt_quarantine_usage_t *usage);

//  Self-test of this class.
void lt_quarantine_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
