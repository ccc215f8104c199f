/*  lt_segments: payloads appended to segment files, one sync per group.

    The store keeps large payloads out of SQLite: each is a record appended
    to a segment file DIR/NNNNNN.seg (a 16-byte file header, then records;
    a file is preallocated in steps and closed at about 64 MiB). A record is
    a 16-byte header (magic, length, CRC-32C of the bytes, CRC-32C of the
    header) followed by the bytes. Appends of one group are buffered in
    memory and written with one write call per segment touched, then
    fdatasync'ed (and the directory fsync'ed when a file was created) by
    lt_segments_sync, before the database commit that references them. A
    record is found by its reference (segment, offset, length) kept in the
    database; what lies past the last referenced record (a torn write, a
    rolled-back group) is never read and is overwritten by later appends.
    Recently written groups stay in memory (bounded) so that a delivery
    right after its publish reads no file.
*/
#ifndef LT_SEGMENTS_H_INCLUDED
#define LT_SEGMENTS_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_segments_t lt_segments_t;

//  Where a record lies.
typedef struct {
    uint32_t seg;    //  segment number (1, 2, ...; 0 = none)
    uint64_t offset; //  offset of the record's header in the segment file
    uint32_t size;   //  bytes of the record (without its header)
} lt_seg_ref_t;

//  Figures for stats and metrics.
typedef struct {
    uint32_t first;       //  lowest segment number on disk (0 = none)
    uint32_t current;     //  segment appended to
    uint32_t files;       //  segment files on disk
    int64_t bytes;        //  bytes the segment files take on disk
    uint64_t written;     //  record bytes written since open
    uint64_t syncs;       //  fdatasync calls since open
    uint64_t reads_hot;   //  records read from memory
    uint64_t reads_disk;  //  records read from a file
    uint64_t read_errors; //  records missing or damaged (CRC) when read
} lt_segments_stats_t;

#define LT_SEGMENTS_HEADER 16 //  bytes of a record's header (and of a file's)

//  Open (creating it if needed) the segment directory dir; segments are
//  closed at about seg_size bytes (0 = 64 MiB). NULL with err on failure.
lt_segments_t *lt_segments_new(const char *dir, uint64_t seg_size, lt_err_t *err);

//  Close; safe on NULL. Unsynced appends are dropped.
void lt_segments_destroy(lt_segments_t **self_p);

//  Set the append point after the last referenced record last (seg 0 when
//  nothing is referenced): appends go on after it, or at the start of the
//  newest segment file when that one holds no referenced record.
void lt_segments_recover(lt_segments_t *self, const lt_seg_ref_t *last);

//  Append a record to the group in memory and fill ref; -1 with err when
//  the record is too large.
int lt_segments_append(lt_segments_t *self, const void *data, size_t size, lt_seg_ref_t *ref,
                       lt_err_t *err);

//  Take back the last append (ref as it returned); nothing else since.
void lt_segments_undo(lt_segments_t *self, const lt_seg_ref_t *ref);

//  Return true when the group holds appends not yet synced.
bool lt_segments_pending(const lt_segments_t *self);

//  Write the group's appends and fdatasync them; -1 with err (errno in
//  *sys_errno) on failure, the group then dropped as by lt_segments_rollback.
int lt_segments_sync(lt_segments_t *self, int *sys_errno, lt_err_t *err);

//  The group was committed: its records are kept (and cached).
void lt_segments_settle(lt_segments_t *self);

//  Drop the group: the append point goes back to where it started.
void lt_segments_rollback(lt_segments_t *self);

//  Read a record into a new buffer (*data, free it); -1 with err naming
//  the segment and offset when it is missing, short or damaged.
int lt_segments_read(lt_segments_t *self, const lt_seg_ref_t *ref, uint8_t **data, lt_err_t *err);

//  Delete segment seg (never the one appended to); 0 also when it is gone.
int lt_segments_remove(lt_segments_t *self, uint32_t seg, lt_err_t *err);

//  Close segments at about bytes from now on (at least 4096).
void lt_segments_set_size(lt_segments_t *self, uint64_t bytes);

//  Bound the memory kept of recently written groups (bytes).
void lt_segments_set_cache(lt_segments_t *self, size_t bytes);

//  Fill the figures (lists the directory).
void lt_segments_stats(lt_segments_t *self, lt_segments_stats_t *stats);

//  Self-test of this class.
void lt_segments_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
