/*  lt_seen: a bounded set of the most recent keys, oldest forgotten first.

    Keys live in a ring of fixed entries, in the order they were added; the
    oldest is at head. The index is an open-addressing table of twice the
    capacity (rounded up to a power of two), probed linearly. Each slot
    holds the low 32 bits of the key's hash (its home slot and a quick
    comparison) and the key's ring position + 1; 0 is an empty slot. A
    forgotten key's slot is removed by shifting the rest of its probe run
    back (no tombstones, so lookups stay short however long the set lives).
*/
#include "lt_seen.h"
#include "lt_id.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t hash;   //  the index's hash of the key, for forgetting it
    uint8_t len;
    char key[LT_SEEN_KEY_MAX];
} s_entry_t;

struct _lt_seen_t {
    size_t capacity;     //  keys remembered at most
    size_t count;        //  keys remembered now
    size_t head;         //  ring position of the oldest key
    size_t mask;         //  index slots - 1
    uint64_t *slots;     //  hash low bits << 32 | ring position + 1; 0 = empty
    s_entry_t *ring;     //  capacity entries
    uint64_t k0, k1;     //  SipHash key
};

//  ---------------------------------------------------------------------------
//  SipHash-2-4 (Aumasson and Bernstein), 64-bit output.

#define S_ROTL(x, b) (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))

#define S_SIPROUND                                                                                \
    do {                                                                                          \
        v0 += v1;                                                                                 \
        v1 = S_ROTL(v1, 13);                                                                      \
        v1 ^= v0;                                                                                 \
        v0 = S_ROTL(v0, 32);                                                                      \
        v2 += v3;                                                                                 \
        v3 = S_ROTL(v3, 16);                                                                      \
        v3 ^= v2;                                                                                 \
        v0 += v3;                                                                                 \
        v3 = S_ROTL(v3, 21);                                                                      \
        v3 ^= v0;                                                                                 \
        v2 += v1;                                                                                 \
        v1 = S_ROTL(v1, 17);                                                                      \
        v1 ^= v2;                                                                                 \
        v2 = S_ROTL(v2, 32);                                                                      \
    } while (0)

static uint64_t s_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t s_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    size_t whole = len & ~(size_t) 7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = s_le64(in + i);
        v3 ^= m;
        S_SIPROUND;
        S_SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t) len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t) in[whole + i] << (8 * i);
    v3 ^= b;
    S_SIPROUND;
    S_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    S_SIPROUND;
    S_SIPROUND;
    S_SIPROUND;
    S_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

//  ---------------------------------------------------------------------------

lt_seen_t *lt_seen_new(size_t capacity)
{
    if (capacity < 1 || capacity > ((size_t) 1 << 30))
        return NULL;
    lt_seen_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    size_t slots = 2;
    while (slots < 2 * capacity)
        slots *= 2;
    self->capacity = capacity;
    self->mask = slots - 1;
    self->slots = calloc(slots, sizeof(uint64_t));
    self->ring = calloc(capacity, sizeof(s_entry_t));
    uint64_t key[2];
    lt_random_bytes(key, sizeof(key));
    self->k0 = key[0];
    self->k1 = key[1];
    if (!self->slots || !self->ring) {
        lt_seen_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_seen_destroy(lt_seen_t **self_p)
{
    assert(self_p);
    lt_seen_t *self = *self_p;
    if (!self)
        return;
    free(self->slots);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

static uint32_t s_hash(const lt_seen_t *self, const char *key, size_t len)
{
    return (uint32_t) s_siphash(self->k0, self->k1, key, len);
}

//  The slot that holds key, or SIZE_MAX.
static size_t s_find(const lt_seen_t *self, const char *key, size_t len, uint32_t hash)
{
    for (size_t i = hash & self->mask;; i = (i + 1) & self->mask) {
        uint64_t slot = self->slots[i];
        if (!slot)
            return SIZE_MAX;
        if ((uint32_t) (slot >> 32) == hash) {
            const s_entry_t *entry = &self->ring[(uint32_t) slot - 1];
            if (entry->len == len && !memcmp(entry->key, key, len))
                return i;
        }
    }
}

//  Empty slot i, moving back the entries after it in its probe run that
//  may sit there (their home is not between i and their place).
static void s_remove_slot(lt_seen_t *self, size_t i)
{
    for (size_t j = (i + 1) & self->mask; self->slots[j]; j = (j + 1) & self->mask) {
        size_t home = (uint32_t) (self->slots[j] >> 32) & self->mask;
        if (((j - home) & self->mask) >= ((j - i) & self->mask)) {
            self->slots[i] = self->slots[j];
            i = j;
        }
    }
    self->slots[i] = 0;
}

//  Forget the oldest key.
static void s_forget_oldest(lt_seen_t *self)
{
    const s_entry_t *entry = &self->ring[self->head];
    size_t slot = s_find(self, entry->key, entry->len, entry->hash);
    assert(slot != SIZE_MAX && (uint32_t) self->slots[slot] == self->head + 1);
    s_remove_slot(self, slot);
    self->head = (self->head + 1) % self->capacity;
    self->count--;
}

bool lt_seen_contains(const lt_seen_t *self, const char *key)
{
    assert(self && key);
    size_t len = strlen(key);
    if (len > LT_SEEN_KEY_MAX)
        return false;   //  never added
    return s_find(self, key, len, s_hash(self, key, len)) != SIZE_MAX;
}

bool lt_seen_add(lt_seen_t *self, const char *key)
{
    assert(self && key);
    size_t len = strlen(key);
    assert(len <= LT_SEEN_KEY_MAX);
    uint32_t hash = s_hash(self, key, len);
    if (s_find(self, key, len, hash) != SIZE_MAX)
        return false;
    if (self->count == self->capacity)
        s_forget_oldest(self);
    size_t pos = (self->head + self->count) % self->capacity;
    s_entry_t *entry = &self->ring[pos];
    entry->hash = hash;
    entry->len = (uint8_t) len;
    memcpy(entry->key, key, len);
    size_t i = hash & self->mask;
    while (self->slots[i])
        i = (i + 1) & self->mask;
    self->slots[i] = (uint64_t) hash << 32 | (uint64_t) (pos + 1);
    self->count++;
    return true;
}

size_t lt_seen_size(const lt_seen_t *self)
{
    assert(self);
    return self->count;
}

//  ---------------------------------------------------------------------------

void lt_seen_test(bool verbose)
{
    if (verbose)
        printf(" * lt_seen: ");
    //  SipHash-2-4 against the reference vectors (key 00..0f; messages
    //  empty, 00, and 00..0e).
    uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    uint8_t msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t) i;
    assert(s_siphash(k0, k1, msg, 0) == 0x726fdb47dd0e0e31ULL);
    assert(s_siphash(k0, k1, msg, 1) == 0x74f839c593dc67fdULL);
    assert(s_siphash(k0, k1, msg, 15) == 0xa129ca6149be45e5ULL);

    assert(lt_seen_new(0) == NULL);
    lt_seen_t *seen = lt_seen_new(1000);
    assert(seen);
    char key[LT_SEEN_KEY_MAX + 2];
    //  Add 3 000 keys: the set holds the last 1 000, oldest forgotten first.
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "%08d-0000-7000-8000-000000000000/%064d", i, i * 7);
        assert(lt_seen_add(seen, key));
        assert(!lt_seen_add(seen, key));   //  already there: kept, not added
        assert(lt_seen_size(seen) == (size_t) (i < 1000 ? i + 1 : 1000));
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "%08d-0000-7000-8000-000000000000/%064d", i, i * 7);
        assert(lt_seen_contains(seen, key) == (i >= 2000));
    }
    //  Keys that share a prefix, the empty key and the longest key.
    assert(!lt_seen_contains(seen, "00002999"));
    assert(lt_seen_add(seen, ""));
    assert(lt_seen_contains(seen, ""));
    memset(key, 'k', LT_SEEN_KEY_MAX);
    key[LT_SEEN_KEY_MAX] = 0;
    assert(lt_seen_add(seen, key));
    assert(lt_seen_contains(seen, key));
    key[LT_SEEN_KEY_MAX - 1] = 0;
    assert(!lt_seen_contains(seen, key));
    key[LT_SEEN_KEY_MAX - 1] = 'k';
    key[LT_SEEN_KEY_MAX] = 'k';
    key[LT_SEEN_KEY_MAX + 1] = 0;
    assert(!lt_seen_contains(seen, key));   //  longer than any key
    lt_seen_destroy(&seen);
    assert(seen == NULL);
    lt_seen_destroy(&seen);

    //  Against a plain model, with a tiny index so that probe runs wrap
    //  around the table and removals shift entries back across its end:
    //  random keys from a small alphabet, added and looked up.
    seen = lt_seen_new(5);
    assert(seen);
    char model[5][8];
    size_t model_head = 0, model_count = 0;
    unsigned state = 12345;
    for (int round = 0; round < 20000; round++) {
        state = state * 1103515245 + 12345;
        snprintf(key, 8, "k%u", (state >> 16) % 12);
        bool known = false;
        for (size_t i = 0; i < model_count; i++)
            if (!strcmp(model[(model_head + i) % 5], key))
                known = true;
        assert(lt_seen_contains(seen, key) == known);
        assert(lt_seen_add(seen, key) == !known);
        if (!known) {
            if (model_count == 5) {
                model_head = (model_head + 1) % 5;
                model_count--;
            }
            memcpy(model[(model_head + model_count) % 5], key, 8);
            model_count++;
        }
        assert(lt_seen_size(seen) == model_count);
        for (size_t i = 0; i < model_count; i++)
            assert(lt_seen_contains(seen, model[(model_head + i) % 5]));
    }
    lt_seen_destroy(&seen);
    if (verbose)
        printf("OK\n");
}
