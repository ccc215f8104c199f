/*  lt_id: time-ordered unique message ids (UUIDv7, RFC 9562).

    An id is the 36-character canonical text form, lowercase. Ids made by one
    process are strictly increasing, also within one millisecond (the 12-bit
    rand_a field is used as a counter), so sorting ids sorts by creation time.
*/
#ifndef LT_ID_H_INCLUDED
#define LT_ID_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_ID_LEN 36   //  characters, without the terminating NUL

//  Write a new id into buf (at least LT_ID_LEN + 1 bytes).
void lt_id_new(char *buf);

//  Write a new id into buf whose last 62 bits (rand_b) are tail instead of
//  random bits: a store that makes them from its row number finds the row
//  again from the id alone (lt_id_tail).
void lt_id_make(char *buf, uint64_t tail);

//  The last 62 bits of a valid id into tail; false when text is not one.
bool lt_id_tail(const char *text, uint64_t *tail);

//  Return true when text is a well-formed UUIDv7 in canonical form.
bool lt_id_valid(const char *text);

//  Return the Unix time in milliseconds encoded in a valid id, or -1.
int64_t lt_id_time_ms(const char *text);

//  Return the current Unix time in milliseconds (wall clock).
int64_t lt_time_ms(void);

//  Fill out with size random bytes from the kernel (getrandom(2)); falls
//  back to a weaker mix only if the kernel refuses, which it does not do
//  once its pool is initialised.
void lt_random_bytes(void *out, size_t size);

//  Return a monotonic clock reading in milliseconds.
int64_t lt_clock_ms(void);

//  Self-test of this class.
void lt_id_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
