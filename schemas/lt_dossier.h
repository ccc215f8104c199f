/*  lt_dossier: the dossier records (HoSo) and progress steps of the one-stop
    adapter API (spec/peers.md B), as the hub reads and relays them.

    Records pass through the hub unchanged: a service call's "data" array is
    cut into the exact bytes of each element (lt_dossier_spans), so every
    field, unknown ones included, and the Vietnamese text travel byte for
    byte; lt_json_scan checks the same call (as jansson's JSON_REJECT_DUPLICATES
    parse would) and the record is read in place. The checks name the
    record's index and field ("data[3].TrangThaiHoSo: ..."). The envelope
    carries what the broker needs: kind dossier (key MaHoSo, btype new or
    update, revision given by the caller, sender the agency, channel from
    KenhThucHien) or kind progress (key MaHoSo, btype progress, revision
    ThoiDiemXuLy and the step's content digest), and the fact that DVCQG
    accepted a dossier (kind fact, btype dossier_synced).
*/
#ifndef LT_DOSSIER_H_INCLUDED
#define LT_DOSSIER_H_INCLUDED

#include "lt_digest.h"
#include "lt_envelope.h"
#include "lt_error.h"
#include "lt_json_scan.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_DOSSIER_MAX_DEPTH  16     //  JSON nesting accepted in a service call
#define LT_DOSSIER_MAX_KEY    255    //  longest MaHoSo, bytes
#define LT_DOSSIER_FACT_SYNCED "dossier_synced"   //  btype of the fact
#define LT_DOSSIER_FACT_MAX   1000   //  dossiers one dossier_synced fact may name

//  Where one element of an array sits in a JSON text.
typedef struct {
    size_t offset;   //  first byte of the element
    size_t size;     //  its length in bytes
} lt_dossier_span_t;

//  Find the array member `member` of the top-level object in a JSON text
//  and the exact bytes of each of its elements. Refuses nesting deeper than
//  max_depth and more than max_items elements. Returns 0 with *spans_p
//  (caller frees) and *count_p filled, 1 when the object has no such array
//  member, -1 with err filled when the text is malformed or over a limit.
//  It checks structure only; check the text with lt_json_scan as well.
int lt_dossier_spans(const void *text, size_t size, const char *member, size_t max_depth,
                     size_t max_items, lt_dossier_span_t **spans_p, size_t *count_p,
                     lt_err_t *err);

//  Check a dossier record (index names it in errors); 0, or -1 with err
//  (LT_EFIELD) naming "data[index].Field" and what is wrong.
int lt_dossier_check(lt_json_t record, size_t index, lt_err_t *err);

//  Check a progress step the same way; 0 or -1 with err.
int lt_dossier_check_progress(lt_json_t step, size_t index, lt_err_t *err);

//  Return true when text is a valid yyyyMMddHHmmss time.
bool lt_dossier_time_ok(const char *text);

//  Digest of a record's content, independent of key order and whitespace:
//  SHA-256 of its compact, key-sorted form (lt_json_canon, the bytes
//  jansson's json_dumps with JSON_COMPACT | JSON_SORT_KEYS writes, so
//  digests stay those of earlier releases). scan lends its scratch space.
//  -1 on no memory.
int lt_dossier_digest(lt_json_scan_t *scan, lt_json_t record, char hex[LT_SHA256_HEX]);

//  Fill an envelope for a checked dossier record whose exact bytes are
//  payload: kind dossier, key MaHoSo, btype "update" or "new", the given
//  revision, sender agency, channel, payload facts, created now. -1 on no
//  memory or a value the envelope cannot hold, with err.
int lt_dossier_fill_envelope(lt_envelope_t *env, lt_json_t record, const char *revision,
                             const char *agency, bool updating, const void *payload, size_t size,
                             lt_err_t *err);

//  Fill an envelope for a checked progress step: kind progress, key MaHoSo,
//  btype "progress", revision "ThoiDiemXuLy-digest" (lt_dossier_digest,
//  with scan), sender agency.
int lt_dossier_fill_progress(lt_envelope_t *env, lt_json_scan_t *scan, lt_json_t step,
                             const char *agency, const void *payload, size_t size, lt_err_t *err);

//  Build the fact that DVCQG accepted dossier mahoso at revision: an
//  envelope (kind fact, btype dossier_synced, key mahoso, revision, sender
//  agency) and its payload {"MaHoSo":...,"revision":...} in *payload_p
//  (caller frees). NULL on no memory.
lt_envelope_t *lt_dossier_fact(const char *mahoso, const char *revision, const char *agency,
                               char **payload_p, size_t *size_p);

//  Build the fact that DVCQG accepted several dossiers in one call (all of
//  agency): count (1..LT_DOSSIER_FACT_MAX) MaHoSo with their revisions.
//  One dossier gives lt_dossier_fact's shape. Several give the list shape
//  (schemas/ltp.md): payload {"dossiers":[{"MaHoSo":..,"revision":..},..]},
//  key the first MaHoSo, revision "COUNT-SHA256" (the payload's digest, so
//  that the broker's dedup key names the content). NULL on no memory.
lt_envelope_t *lt_dossier_fact_many(const char *const *mahoso, const char *const *revision,
                                    size_t count, const char *agency, char **payload_p,
                                    size_t *size_p);

//  The revision of a list fact of count dossiers whose payload has digest
//  sha256 (hex): "COUNT-SHA256", written into rev (at least 96 bytes).
void lt_dossier_fact_rev(size_t count, const char *sha256, char *rev, size_t size);

//  Self-test of this class.
void lt_dossier_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
