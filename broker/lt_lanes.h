/*  lt_lanes: the unfinished deliveries of each lane, in memory.

    A lane is a destination and a lane number (the hash of a business key:
    a document and its follow-ups, a dossier and its progress steps). Its
    deliveries go one at a time in id order: a delivery goes only when no
    unfinished delivery of its lane (ready, waiting, dead or held) has a
    smaller id. The store keeps here, for each lane, the ids of its
    unfinished deliveries, so that the check and "which one is next" cost
    a hash lookup instead of a random page of an index at every publish
    and every DONE (docs/architecture.md, "Lanes in memory"). It is built
    again from the database at start.

    Most lanes hold one delivery: a slot of the table holds its id; a lane
    with more holds an index into a list of sorted ids. 16 to 28 bytes a
    lane (a million lanes of one: 23 MiB, the self-test measures it).
*/
#ifndef LT_LANES_H_INCLUDED
#define LT_LANES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_lanes_t lt_lanes_t;

//  A new, empty set of lanes; NULL when out of memory.
lt_lanes_t *lt_lanes_new(void);

//  Free the lanes and set *self_p to NULL; safe on NULL.
void lt_lanes_destroy(lt_lanes_t **self_p);

//  Forget every lane, and make room for expect deliveries in lanes of their
//  own (before building them again: no growing on the way). 0, or -1 when
//  out of memory (the set is then empty and smaller).
int lt_lanes_clear(lt_lanes_t *self, size_t expect);

//  The key of a lane: its destination and lane number, hashed to 64 bits
//  (never 0). Two lanes with the same key are ordered together, which
//  delays and never reorders; at 64 bits it does not happen in practice.
uint64_t lt_lanes_key(const char *dest, int64_t lane);

//  Say the lanes are built: after lt_lanes_clear, lt_lanes_add only
//  appends (the ids of a build come in any order), and this sorts each
//  lane once. Until then, head and next are not to be asked.
void lt_lanes_built(lt_lanes_t *self);

//  Add an unfinished delivery to its lane. 0, or -1 when out of memory
//  (the set is then unchanged).
int lt_lanes_add(lt_lanes_t *self, uint64_t key, uint64_t id);

//  Take a delivery out of its lane (finished, renumbered or deleted);
//  nothing when it is not there. True when it was there.
bool lt_lanes_remove(lt_lanes_t *self, uint64_t key, uint64_t id);

//  The smallest id of the lane; 0 when the lane is empty.
uint64_t lt_lanes_head(const lt_lanes_t *self, uint64_t key);

//  The smallest id of the lane above id; 0 when there is none.
uint64_t lt_lanes_next(const lt_lanes_t *self, uint64_t key, uint64_t id);

//  Deliveries held, lanes, and bytes of memory used.
size_t lt_lanes_deliveries(const lt_lanes_t *self);
size_t lt_lanes_count(const lt_lanes_t *self);
size_t lt_lanes_bytes(const lt_lanes_t *self);

//  Self-test.
void lt_lanes_test(bool verbose);

#ifdef __cplusplus
}
#endif

#endif
