/*  lt_json_scan: a validating JSON scanner that builds no tree.

    lt_json_scan_check accepts a buffer exactly when jansson 2.14's
    json_loadb(buffer, size, JSON_REJECT_DUPLICATES, NULL) returns a value
    (an object or an array at the top), and refuses it exactly when jansson
    refuses it: invalid UTF-8 anywhere, control characters and \u0000 in
    strings and keys, lone or misordered surrogate escapes, integers outside
    long long, reals that overflow a double, leading zeros, a value nested
    deeper than 2048 (the top is depth 1), duplicate keys (compared after
    unescaping) in any object, anything but whitespace after the top value.
    It also keeps jansson's one oddity: a single NUL byte right after a
    number or a literal (true, false, null) is skipped.

    Nothing is allocated per value: the keys of the open objects live in
    one array reused from call to call. Repeats are found pair by pair in
    objects of up to 8 keys, with a hash table up to 256, by sorting beyond
    (so 100 000 keys stay fast, even with colliding hashes).

    Once a buffer is accepted, values are read where they lie with
    lt_json_t references (valid while the buffer lives): members by name,
    array elements in turn, and a value as text (a string unescaped, an
    integer as %lld, anything else empty) as the ledger reads dossiers,
    and any value written out again in jansson's compact, key-sorted form
    (lt_json_canon), as the portal digests dossier records.
*/
#ifndef LT_JSON_SCAN_H_INCLUDED
#define LT_JSON_SCAN_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_json_scan_t lt_json_scan_t;

//  Type of a value.
typedef enum {
    LT_JSON_NONE = 0,   //  absent (no such member, or not read)
    LT_JSON_OBJECT,
    LT_JSON_ARRAY,
    LT_JSON_STRING,
    LT_JSON_INTEGER,
    LT_JSON_REAL,
    LT_JSON_TRUE,
    LT_JSON_FALSE,
    LT_JSON_NULL,
} lt_json_type_t;

//  A value inside an accepted buffer.
typedef struct {
    const char *at;    //  its first byte; NULL when absent
    const char *end;   //  end of the buffer it lies in
} lt_json_t;

//  A scanner; NULL when out of memory.
lt_json_scan_t *lt_json_scan_new(void);

//  Destroy a scanner and set the pointer to NULL; safe on NULL.
void lt_json_scan_destroy(lt_json_scan_t **self_p);

//  Check data as jansson would: 0 and *root set when accepted, -1 with
//  err (LT_EINVAL naming what and where, LT_ENOMEM) when refused.
int lt_json_scan_check(lt_json_scan_t *self, const void *data, size_t size, lt_json_t *root,
                       lt_err_t *err);

//  Look up count names among the members of the object last accepted (its
//  keys were kept by the check, so this reads no bytes): found[i] is the
//  member named names[i], or absent (as all are when the last check refused
//  or found an array).
void lt_json_scan_pick(lt_json_scan_t *self, const char *const *names, size_t count,
                       lt_json_t *found);

//  Type of a value of an accepted buffer.
lt_json_type_t lt_json_type(lt_json_t value);

//  The member of an object named name (compared after unescaping); absent
//  when value is not an object or has no such member.
lt_json_t lt_json_get(lt_json_t object, const char *name);

//  Look up count names in one pass over an object's members: found[i] is
//  the member named names[i], or absent.
void lt_json_pick(lt_json_t object, const char *const *names, size_t count, lt_json_t *found);

//  Walk an array: *cursor starts as the array; each call sets *item to the
//  next element and returns true, false at the end (or for a non-array).
bool lt_json_next(lt_json_t *cursor, lt_json_t *item);

//  A value as text into buf (size >= 1), cut to size - 1 bytes as snprintf
//  would: a string's unescaped UTF-8, an integer as %lld ("-0" is "0"),
//  "" for anything else. Returns buf.
const char *lt_json_text(lt_json_t value, char *buf, size_t size);

//  Bytes of a string's value once unescaped (what lt_json_text writes when
//  nothing is cut, jansson's json_string_length); 0 for any other value.
size_t lt_json_size(lt_json_t value);

//  Append to *buf (of *len bytes in *cap allocated; NULL and 0 to start,
//  realloc'ed as needed, the caller frees) the compact, key-sorted form of
//  value, any value of a buffer some scanner accepted (a root, a member, an
//  element): byte for byte what jansson 2.14's json_dumps(v, JSON_COMPACT
//  | JSON_SORT_KEYS | JSON_ENCODE_ANY) writes for the value v that
//  json_loadb reads from the same text (strings re-escaped as jansson does,
//  integers as %lld, reals through strtod and %.17g, keys sorted by their
//  unescaped bytes). The bytes appended hold no NUL and one is kept after
//  them (not counted in *len), so *buf is also a C string. Returns 0, or -1
//  when out of memory or value is absent, with *len as it was (*buf and
//  *cap may have changed). Uses the scanner's arrays as scratch, kept from
//  call to call; the keys that lt_json_scan_pick reads stay as they were.
int lt_json_canon(lt_json_scan_t *self, lt_json_t value, char **buf, size_t *len, size_t *cap);

//  Drop from text, in place, every byte that is not part of well-formed
//  UTF-8 as the scanner (and jansson) checks it: a text cut to a number of
//  bytes may split a letter, and jansson refuses to pack such a string.
void lt_json_utf8_scrub(char *text);

//  Self-test of this class.
void lt_json_scan_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
