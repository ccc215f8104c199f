/*  lt_seen: a bounded set of the most recent keys, oldest forgotten first.

    Its memory is fixed when it is made: a ring of keys in the order they
    were added and an open-addressing index into the ring, sized for the
    capacity, so adding a key never rehashes a growing table (a pause that
    grows with the set, taken in the middle of traffic). The index is keyed
    with SipHash-2-4 under a random key per set, so keys chosen by a peer
    cannot be made to collide into one long probe.
*/
#ifndef LT_SEEN_H_INCLUDED
#define LT_SEEN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  The longest key, in bytes without the terminating NUL.
#define LT_SEEN_KEY_MAX 127

typedef struct _lt_seen_t lt_seen_t;

//  A set that remembers at most capacity keys (at least 1); NULL on no
//  memory. Pages of the ring are touched only as keys fill them.
lt_seen_t *lt_seen_new(size_t capacity);

void lt_seen_destroy(lt_seen_t **self_p);

//  Whether key is among the remembered keys.
bool lt_seen_contains(const lt_seen_t *self, const char *key);

//  Remember key (at most LT_SEEN_KEY_MAX bytes), forgetting the oldest key
//  when the set is full. Returns true when key was new, false when it was
//  already remembered (it keeps its place).
bool lt_seen_add(lt_seen_t *self, const char *key);

//  How many keys are remembered.
size_t lt_seen_size(const lt_seen_t *self);

//  Self-test of this class.
void lt_seen_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
