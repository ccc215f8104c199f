/*  lt_lanes: the unfinished deliveries of each lane, in memory.

    An open-addressing table of lanes (linear probing, deletion by shifting
    back, so no tombstones), cut in 256 shards by the key's top byte so
    that growing or shrinking one moves 1/256 of the lanes: a queue of a
    million lanes never holds an old and a new table of its whole size at
    once. A shard's size is any number rather than a power of two (a slot
    is chosen by multiplying the key by the size); it grows by half when
    85 % full and shrinks when a quarter full. Shards of 64 KiB or more are
    mapped pages, given back to the system when freed. A slot's value is
    the lane's only delivery id, or, with the top bit set, the index of a
    sorted list of ids for a lane with more than one.
*/
#include "lt_lanes.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define S_LIST (UINT64_C(1) << 63)   //  the value is a list's index
#define S_SHARDS 256
#define S_SHARD_MIN 16                //  slots of a shard at least
#define S_MAPPED (64 * 1024)          //  slot arrays this large are mapped pages

typedef struct {
    uint64_t key;   //  0: empty
    uint64_t val;   //  the only id, or S_LIST | index of the list
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    size_t cap;    //  slots
    size_t used;   //  lanes
} s_shard_t;

//  A lane's ids are ids[start..end): sorted, no duplicates (except while
//  the lanes are built, lt_lanes_built). The head leaves by moving start,
//  so a long lane drains in constant time a DONE.
typedef struct {
    uint64_t *ids;   //  NULL when the list is free
    uint32_t start;
    uint32_t end;
    uint32_t alloc;
} s_list_t;

struct _lt_lanes_t {
    s_shard_t shards[S_SHARDS];
    size_t used;         //  lanes
    size_t deliveries;   //  ids in all lanes
    size_t slot_bytes;   //  bytes of all shards' slots
    s_list_t *lists;     //  lists, in use or free
    size_t lists_size;
    size_t lists_alloc;
    uint32_t *spare;     //  indexes of free lists
    size_t spare_size;
    size_t spare_alloc;
    size_t id_bytes;     //  bytes of the lists' ids
    bool building;       //  ids are appended unsorted until lt_lanes_built
};

static s_slot_t *s_slots_new(size_t cap)
{
    size_t bytes = cap * sizeof(s_slot_t);
    if (bytes < S_MAPPED)
        return calloc(cap, sizeof(s_slot_t));
    void *slots = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return slots == MAP_FAILED ? NULL : slots;
}

static void s_slots_free(s_slot_t *slots, size_t cap)
{
    size_t bytes = cap * sizeof(s_slot_t);
    if (bytes < S_MAPPED)
        free(slots);
    else if (slots)
        munmap(slots, bytes);
}

//  A 64-bit finalizer (splitmix64's): every bit of the input moves every
//  bit of the output, so the shard and the slot can be taken from its bits.
static uint64_t s_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

uint64_t lt_lanes_key(const char *dest, int64_t lane)
{
    assert(dest);
    uint64_t h = UINT64_C(1469598103934665603);   //  FNV-1a 64 of the destination
    for (const unsigned char *p = (const unsigned char *) dest; *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    uint64_t key = s_mix(h ^ s_mix((uint64_t) lane));
    return key ? key : 1;
}

static s_shard_t *s_shard(lt_lanes_t *self, uint64_t key)
{
    return &self->shards[key >> 56];
}

//  The slot a key starts its search at: from the bits below the shard's.
static size_t s_home(const s_shard_t *shard, uint64_t key)
{
    return (size_t) (((unsigned __int128) (key << 8) * shard->cap) >> 64);
}

static size_t s_next(const s_shard_t *shard, size_t i)
{
    return i + 1 == shard->cap ? 0 : i + 1;
}

//  The slot holding key, or the empty slot where it would go.
static size_t s_find(const s_shard_t *shard, uint64_t key)
{
    size_t i = s_home(shard, key);
    while (shard->slots[i].key && shard->slots[i].key != key)
        i = s_next(shard, i);
    return i;
}

//  Move a shard's lanes to a table of cap slots: 0, or -1 when out of
//  memory (the shard is then unchanged).
static int s_resize(lt_lanes_t *self, s_shard_t *shard, size_t cap)
{
    s_slot_t *slots = s_slots_new(cap);
    if (!slots)
        return -1;
    s_slot_t *old = shard->slots;
    size_t old_cap = shard->cap;
    shard->slots = slots;
    shard->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            shard->slots[s_find(shard, old[i].key)] = old[i];
    s_slots_free(old, old_cap);
    self->slot_bytes += cap * sizeof(s_slot_t);
    self->slot_bytes -= old_cap * sizeof(s_slot_t);
    return 0;
}

//  Make room in a shard for one more lane: 0, or -1 when out of memory.
static int s_reserve(lt_lanes_t *self, s_shard_t *shard)
{
    if ((shard->used + 1) * 100 <= shard->cap * 85)
        return 0;
    //  A shard left without slots (out of memory in lt_lanes_clear) starts again.
    return s_resize(self, shard, shard->cap < S_SHARD_MIN ? S_SHARD_MIN
                                                          : shard->cap + shard->cap / 2);
}

//  Free the shards and lists, leaving every shard empty with no slots.
static void s_free_all(lt_lanes_t *self)
{
    for (size_t i = 0; i < self->lists_size; i++)
        free(self->lists[i].ids);
    free(self->lists);
    free(self->spare);
    self->lists = NULL;
    self->spare = NULL;
    self->lists_size = self->lists_alloc = 0;
    self->spare_size = self->spare_alloc = 0;
    self->id_bytes = 0;
    for (size_t i = 0; i < S_SHARDS; i++) {
        s_slots_free(self->shards[i].slots, self->shards[i].cap);
        self->shards[i] = (s_shard_t){0};
    }
    self->slot_bytes = 0;
    self->used = 0;
    self->deliveries = 0;
}

//  Give every shard a table of cap slots: 0, or -1 when out of memory.
static int s_start_shards(lt_lanes_t *self, size_t cap)
{
    for (size_t i = 0; i < S_SHARDS; i++) {
        if (!(self->shards[i].slots = s_slots_new(cap)))
            return -1;
        self->shards[i].cap = cap;
        self->slot_bytes += cap * sizeof(s_slot_t);
    }
    return 0;
}

lt_lanes_t *lt_lanes_new(void)
{
    lt_lanes_t *self = calloc(1, sizeof(*self));
    if (self && s_start_shards(self, S_SHARD_MIN)) {
        s_free_all(self);
        free(self);
        self = NULL;
    }
    return self;
}

void lt_lanes_destroy(lt_lanes_t **self_p)
{
    assert(self_p);
    lt_lanes_t *self = *self_p;
    if (self) {
        s_free_all(self);
        free(self);
        *self_p = NULL;
    }
}

static int s_cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

void lt_lanes_built(lt_lanes_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->lists_size && self->building; i++) {
        s_list_t *list = &self->lists[i];
        if (!list->ids)
            continue;
        qsort(list->ids + list->start, list->end - list->start, sizeof(uint64_t), s_cmp_id);
        uint32_t kept = list->start + 1;   //  without duplicates
        for (uint32_t j = list->start + 1; j < list->end; j++)
            if (list->ids[j] != list->ids[kept - 1])
                list->ids[kept++] = list->ids[j];
        self->deliveries -= list->end - kept;
        list->end = kept;
    }
    self->building = false;
}

int lt_lanes_clear(lt_lanes_t *self, size_t expect)
{
    assert(self);
    s_free_all(self);
    self->building = true;
    //  Room for what is expected (with a margin for uneven shards), so
    //  that a build does not grow each shard several times.
    size_t per_shard = expect / S_SHARDS + expect / S_SHARDS / 8 + 8;
    size_t cap = per_shard * 100 / 85 + 1;
    return s_start_shards(self, cap > S_SHARD_MIN ? cap : S_SHARD_MIN);
}

//  Empty slot i of a shard, moving back the slots after it that would no
//  longer be found (linear probing's deletion, without tombstones); then
//  shrink the shard once it is a quarter full.
static void s_delete_slot(lt_lanes_t *self, s_shard_t *shard, size_t i)
{
    size_t j = i;
    for (;;) {
        j = s_next(shard, j);
        if (!shard->slots[j].key)
            break;
        size_t home = s_home(shard, shard->slots[j].key);
        //  The slot at j stays when its home lies cyclically in (i, j].
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        shard->slots[i] = shard->slots[j];
        i = j;
    }
    shard->slots[i].key = 0;
    shard->slots[i].val = 0;
    shard->used--;
    self->used--;
    if (shard->cap > S_SHARD_MIN && shard->used * 4 < shard->cap) {
        size_t cap = shard->used * 2 > S_SHARD_MIN ? shard->used * 2 : S_SHARD_MIN;
        s_resize(self, shard, cap);   //  no memory: it stays as large
    }
}

//  A list for a lane that gets a second id: its index, or -1.
static int64_t s_list_new(lt_lanes_t *self, uint64_t first, uint64_t second)
{
    uint64_t *ids = malloc(4 * sizeof(uint64_t));
    if (!ids)
        return -1;
    size_t index;
    if (self->spare_size)
        index = self->spare[--self->spare_size];
    else {
        if (self->lists_size == self->lists_alloc) {
            size_t alloc = self->lists_alloc ? self->lists_alloc * 2 : 64;
            s_list_t *lists = realloc(self->lists, alloc * sizeof(s_list_t));
            if (!lists) {
                free(ids);
                return -1;
            }
            self->lists = lists;
            self->lists_alloc = alloc;
        }
        //  Room to give this list back later without allocating.
        if (self->spare_alloc < self->lists_alloc) {
            uint32_t *spare = realloc(self->spare, self->lists_alloc * sizeof(uint32_t));
            if (!spare) {
                free(ids);
                return -1;
            }
            self->spare = spare;
            self->spare_alloc = self->lists_alloc;
        }
        index = self->lists_size++;
    }
    ids[0] = first < second ? first : second;
    ids[1] = first < second ? second : first;
    self->lists[index] = (s_list_t){.ids = ids, .start = 0, .end = 2, .alloc = 4};
    self->id_bytes += 4 * sizeof(uint64_t);
    return (int64_t) index;
}

static void s_list_free(lt_lanes_t *self, size_t index)
{
    s_list_t *list = &self->lists[index];
    self->id_bytes -= list->alloc * sizeof(uint64_t);
    free(list->ids);
    *list = (s_list_t){0};
    self->spare[self->spare_size++] = (uint32_t) index;
}

//  The position of the first id of list above or equal to id.
static uint32_t s_lower(const s_list_t *list, uint64_t id)
{
    uint32_t lo = list->start, hi = list->end;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (list->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int lt_lanes_add(lt_lanes_t *self, uint64_t key, uint64_t id)
{
    assert(self && key && id && !(id & S_LIST));
    s_shard_t *shard = s_shard(self, key);
    if (s_reserve(self, shard))
        return -1;
    s_slot_t *slot = &shard->slots[s_find(shard, key)];
    if (!slot->key) {
        slot->key = key;
        slot->val = id;
        shard->used++;
        self->used++;
        self->deliveries++;
        return 0;
    }
    if (!(slot->val & S_LIST)) {
        if (slot->val == id)
            return 0;
        int64_t index = s_list_new(self, slot->val, id);
        if (index < 0)
            return -1;
        slot->val = S_LIST | (uint64_t) index;
        self->deliveries++;
        return 0;
    }
    s_list_t *list = &self->lists[slot->val & ~S_LIST];
    bool append = self->building || list->ids[list->end - 1] < id;
    uint32_t at = append ? list->end : s_lower(list, id);
    if (!append && list->ids[at] == id)
        return 0;
    if (list->end == list->alloc) {
        uint32_t size = list->end - list->start;
        if (list->start >= size / 2 && list->start > 0) {   //  room at the front: move down
            memmove(list->ids, list->ids + list->start, size * sizeof(uint64_t));
            at -= list->start;
            list->start = 0;
            list->end = size;
        }
        else {
            if (list->alloc > UINT32_MAX / 2)
                return -1;
            uint32_t alloc = list->alloc * 2;
            uint64_t *ids = realloc(list->ids, alloc * sizeof(uint64_t));
            if (!ids)
                return -1;
            self->id_bytes += (alloc - list->alloc) * sizeof(uint64_t);
            list->ids = ids;
            list->alloc = alloc;
        }
    }
    memmove(list->ids + at + 1, list->ids + at, (list->end - at) * sizeof(uint64_t));
    list->ids[at] = id;
    list->end++;
    self->deliveries++;
    return 0;
}

bool lt_lanes_remove(lt_lanes_t *self, uint64_t key, uint64_t id)
{
    assert(self && key);
    s_shard_t *shard = s_shard(self, key);
    if (!shard->cap)
        return false;
    size_t i = s_find(shard, key);
    s_slot_t *slot = &shard->slots[i];
    if (!slot->key)
        return false;
    if (!(slot->val & S_LIST)) {
        if (slot->val != id)
            return false;
        self->deliveries--;
        s_delete_slot(self, shard, i);
        return true;
    }
    size_t index = slot->val & ~S_LIST;
    s_list_t *list = &self->lists[index];
    uint32_t at = s_lower(list, id);
    if (at == list->end || list->ids[at] != id)
        return false;
    if (at == list->start)   //  the head: the usual case
        list->start++;
    else {
        memmove(list->ids + at, list->ids + at + 1, (list->end - at - 1) * sizeof(uint64_t));
        list->end--;
    }
    self->deliveries--;
    if (list->end - list->start == 1) {   //  back to a lane of one
        slot->val = list->ids[list->start];
        s_list_free(self, index);
    }
    return true;
}

//  The slot of a lane, NULL when the lane is empty.
static const s_slot_t *s_lookup(const lt_lanes_t *self, uint64_t key)
{
    const s_shard_t *shard = &self->shards[key >> 56];
    if (!shard->cap)
        return NULL;
    const s_slot_t *slot = &shard->slots[s_find(shard, key)];
    return slot->key ? slot : NULL;
}

uint64_t lt_lanes_head(const lt_lanes_t *self, uint64_t key)
{
    assert(self && key);
    const s_slot_t *slot = s_lookup(self, key);
    if (!slot)
        return 0;
    if (!(slot->val & S_LIST))
        return slot->val;
    const s_list_t *list = &self->lists[slot->val & ~S_LIST];
    return list->ids[list->start];
}

uint64_t lt_lanes_next(const lt_lanes_t *self, uint64_t key, uint64_t id)
{
    assert(self && key);
    const s_slot_t *slot = s_lookup(self, key);
    if (!slot)
        return 0;
    if (!(slot->val & S_LIST))
        return slot->val > id ? slot->val : 0;
    const s_list_t *list = &self->lists[slot->val & ~S_LIST];
    uint32_t at = s_lower(list, id + 1);
    return at < list->end ? list->ids[at] : 0;
}

size_t lt_lanes_deliveries(const lt_lanes_t *self)
{
    assert(self);
    return self->deliveries;
}

size_t lt_lanes_count(const lt_lanes_t *self)
{
    assert(self);
    return self->used;
}

size_t lt_lanes_bytes(const lt_lanes_t *self)
{
    assert(self);
    return sizeof(*self) + self->slot_bytes + self->lists_alloc * sizeof(s_list_t) +
           self->spare_alloc * sizeof(uint32_t) + self->id_bytes;
}

//  ---------------------------------------------------------------------------
//  Self-test: random adds and removes checked against a plain model.

#define S_TEST_KEYS 3000
#define S_TEST_PER_KEY 8

typedef struct {
    uint64_t key;
    uint64_t ids[S_TEST_PER_KEY];   //  sorted
    size_t size;
} s_test_lane_t;

static uint64_t s_test_rand(uint64_t *state)
{
    *state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *state >> 33;
}

static void s_test_check(const lt_lanes_t *lanes, const s_test_lane_t *model, size_t count)
{
    size_t deliveries = 0, used = 0;
    for (size_t k = 0; k < count; k++) {
        const s_test_lane_t *m = &model[k];
        deliveries += m->size;
        used += m->size > 0;
        assert(lt_lanes_head(lanes, m->key) == (m->size ? m->ids[0] : 0));
        for (size_t i = 0; i < m->size; i++) {
            uint64_t next = i + 1 < m->size ? m->ids[i + 1] : 0;
            assert(lt_lanes_next(lanes, m->key, m->ids[i]) == next);
            //  Between two ids (an id already gone) the next is the same.
            if (m->ids[i] > 1 && (i == 0 || m->ids[i - 1] < m->ids[i] - 1))
                assert(lt_lanes_next(lanes, m->key, m->ids[i] - 1) == m->ids[i]);
        }
        if (m->size == 0)
            assert(lt_lanes_next(lanes, m->key, 0) == 0);
    }
    assert(lt_lanes_deliveries(lanes) == deliveries);
    assert(lt_lanes_count(lanes) == used);
}

void lt_lanes_test(bool verbose)
{
    printf(" * lt_lanes: ");
    //  Keys: the destination and the lane both count, and are never 0.
    assert(lt_lanes_key("a", 1) != lt_lanes_key("b", 1));
    assert(lt_lanes_key("a", 1) != lt_lanes_key("a", 2));
    assert(lt_lanes_key("a", 1) == lt_lanes_key("a", 1));
    assert(lt_lanes_key("", 0) != 0);

    lt_lanes_t *lanes = lt_lanes_new();
    assert(lanes);
    uint64_t k = lt_lanes_key("sink", 42);
    assert(lt_lanes_head(lanes, k) == 0 && lt_lanes_next(lanes, k, 0) == 0);
    assert(lt_lanes_add(lanes, k, 10) == 0);
    assert(lt_lanes_add(lanes, k, 10) == 0);   //  twice is once
    assert(lt_lanes_head(lanes, k) == 10 && lt_lanes_deliveries(lanes) == 1);
    assert(lt_lanes_next(lanes, k, 9) == 10 && lt_lanes_next(lanes, k, 10) == 0);
    assert(lt_lanes_add(lanes, k, 30) == 0 && lt_lanes_add(lanes, k, 20) == 0);
    assert(lt_lanes_head(lanes, k) == 10 && lt_lanes_next(lanes, k, 10) == 20);
    assert(lt_lanes_next(lanes, k, 25) == 30 && lt_lanes_next(lanes, k, 30) == 0);
    assert(lt_lanes_remove(lanes, k, 10));
    assert(!lt_lanes_remove(lanes, k, 11));   //  not there: nothing
    assert(!lt_lanes_remove(lanes, k + 1, 20));   //  not its lane: nothing
    assert(lt_lanes_head(lanes, k) == 20 && lt_lanes_next(lanes, k, 10) == 20);
    assert(lt_lanes_remove(lanes, k, 20));
    assert(lt_lanes_head(lanes, k) == 30 && lt_lanes_deliveries(lanes) == 1);
    assert(!lt_lanes_remove(lanes, k, 31));   //  a lane of one, another id
    assert(lt_lanes_remove(lanes, k, 30));
    assert(lt_lanes_head(lanes, k) == 0 && lt_lanes_count(lanes) == 0);
    assert(!lt_lanes_remove(lanes, k, 30));

    //  Many lanes, through growth and shifting deletions, against a model.
    s_test_lane_t *model = calloc(S_TEST_KEYS, sizeof(*model));
    assert(model);
    char dest[16];
    for (size_t i = 0; i < S_TEST_KEYS; i++) {
        snprintf(dest, sizeof(dest), "dest-%zu", i % 7);
        model[i].key = lt_lanes_key(dest, (int64_t) (i / 7));
    }
    uint64_t seed = 12345, next_id = 1;
    for (int round = 0; round < 40; round++) {
        for (int op = 0; op < 2000; op++) {
            s_test_lane_t *m = &model[s_test_rand(&seed) % S_TEST_KEYS];
            uint64_t add_percent = (uint64_t) (55 - round);   //  fuller, then emptier
            bool add = m->size == 0 ||
                       (m->size < S_TEST_PER_KEY && s_test_rand(&seed) % 100 < add_percent);
            if (add) {
                uint64_t id = next_id++;
                assert(lt_lanes_add(lanes, m->key, id) == 0);
                m->ids[m->size++] = id;   //  ids only grow: appended in order
            }
            else {
                size_t at = s_test_rand(&seed) % m->size;
                lt_lanes_remove(lanes, m->key, m->ids[at]);
                memmove(m->ids + at, m->ids + at + 1, (m->size - at - 1) * sizeof(uint64_t));
                m->size--;
            }
        }
        s_test_check(lanes, model, S_TEST_KEYS);
    }
    //  An id added out of order (rebuilt at start, say) takes its place.
    s_test_lane_t *m = &model[0];
    while (m->size)
        lt_lanes_remove(lanes, m->key, m->ids[--m->size]);
    assert(lt_lanes_add(lanes, m->key, 500) == 0 && lt_lanes_add(lanes, m->key, 300) == 0 &&
           lt_lanes_add(lanes, m->key, 400) == 0);
    m->ids[0] = 300, m->ids[1] = 400, m->ids[2] = 500, m->size = 3;
    s_test_check(lanes, model, S_TEST_KEYS);
    if (verbose)
        printf("(%zu lanes, %zu deliveries, %zu bytes) ", lt_lanes_count(lanes),
               lt_lanes_deliveries(lanes), lt_lanes_bytes(lanes));
    assert(lt_lanes_clear(lanes, 0) == 0);
    lt_lanes_built(lanes);
    assert(lt_lanes_count(lanes) == 0 && lt_lanes_head(lanes, m->key) == 0);

    //  A build takes ids in any order, twice even, and sorts each lane once.
    assert(lt_lanes_clear(lanes, 10) == 0);
    uint64_t b = lt_lanes_key("sink", 7), ids[] = {50, 20, 40, 20, 10, 30, 50};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        assert(lt_lanes_add(lanes, b, ids[i]) == 0);
    lt_lanes_built(lanes);
    assert(lt_lanes_deliveries(lanes) == 5 && lt_lanes_head(lanes, b) == 10);
    for (uint64_t id = 10; id < 50; id += 10)
        assert(lt_lanes_next(lanes, b, id) == id + 10);
    assert(lt_lanes_next(lanes, b, 50) == 0);
    lt_lanes_remove(lanes, b, 30);   //  from the middle
    assert(lt_lanes_next(lanes, b, 20) == 40 && lt_lanes_deliveries(lanes) == 4);
    assert(lt_lanes_clear(lanes, 0) == 0);
    lt_lanes_built(lanes);

    //  One long lane fills at its end and drains from its head, each step
    //  in constant time (a lane of 200 000 would take minutes otherwise).
    for (uint64_t id = 1; id <= 200000; id++)
        assert(lt_lanes_add(lanes, b, id) == 0);
    for (uint64_t id = 1; id <= 200000; id++) {
        assert(lt_lanes_head(lanes, b) == id);
        lt_lanes_remove(lanes, b, id);
        if (id % 3 == 0)   //  and takes more at its end meanwhile
            assert(lt_lanes_add(lanes, b, 1000000 + id) == 0);
    }
    assert(lt_lanes_deliveries(lanes) == 66666 && lt_lanes_head(lanes, b) == 1000003);
    assert(lt_lanes_clear(lanes, 0) == 0);
    lt_lanes_built(lanes);
    //  A million lanes of one: the memory the header promises, grown one
    //  by one, and made room for at once (no shard grows then).
    for (uint64_t id = 1; id <= 1000000; id++)
        assert(lt_lanes_add(lanes, lt_lanes_key("sink", (int64_t) id), id) == 0);
    assert(lt_lanes_count(lanes) == 1000000);
    size_t grown = lt_lanes_bytes(lanes);
    assert(grown < 32u * 1024 * 1024);
    assert(lt_lanes_clear(lanes, 1000000) == 0);
    lt_lanes_built(lanes);
    size_t reserved = lt_lanes_bytes(lanes);
    for (uint64_t id = 1; id <= 1000000; id++)
        assert(lt_lanes_add(lanes, lt_lanes_key("sink", (int64_t) id), id) == 0);
    assert(lt_lanes_bytes(lanes) == reserved && reserved < 32u * 1024 * 1024);
    //  Emptied, the shards shrink back.
    for (uint64_t id = 1; id <= 1000000; id++)
        lt_lanes_remove(lanes, lt_lanes_key("sink", (int64_t) id), id);
    assert(lt_lanes_count(lanes) == 0 && lt_lanes_deliveries(lanes) == 0);
    assert(lt_lanes_bytes(lanes) < 256u * 1024);
    if (verbose)
        printf("(a million lanes: %zu bytes grown, %zu made room for; empty: %zu) ", grown,
               reserved, lt_lanes_bytes(lanes));
    free(model);
    lt_lanes_destroy(&lanes);
    lt_lanes_destroy(&lanes);
    printf("OK\n");
}
