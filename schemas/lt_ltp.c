/*  lt_ltp: the LTP codec (schemas/ltp.md), one class per message.

    Two tables drive everything: s_fields says, for each body field, its wire
    key, its type, its length limit and where it lives in the struct;
    s_commands says, for each command, its wire name and which fields it
    requires or may carry. Encoding, decoding, equality and printing are one
    loop over those tables each, so a new field or command is one table line.

    Decoding treats every byte as hostile: the body is first walked by
    lt_ltp_check_msgpack, which refuses container headers claiming more
    elements than the bytes left could hold (msgpack-c would otherwise size an
    allocation from a 5-byte claim of 2^32 elements), and only then handed to
    msgpack-c. Encoding packs the body twice, once to count its bytes and
    once straight into the ZeroMQ frame, so the payload is copied only once.
*/
#include "lt_ltp.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Body fields, in the order they go on the wire; bit (1 << field) in a
//  command's masks says it carries the field.
typedef enum {
    F_VERSION, F_NAME, F_KIND, F_CREDIT, F_HEARTBEAT, F_MAX_FRAME, F_SEQ, F_MSGID, F_DUPLICATE,
    F_DELIVERY, F_ATTEMPT, F_CODE, F_REASON, F_DELAY, F_ENVELOPE, F_PAYLOAD, F_STATS, F_BATCH,
    F_ACKS, F_DELIVERIES, F_COUNT
} s_field_t;

//  Wire types of body fields.
typedef enum {
    T_U32,        //  msgpack positive integer, at most UINT32_MAX
    T_U64,        //  msgpack positive integer
    T_BOOL,       //  msgpack true or false
    T_STR,        //  msgpack str, no NUL byte, at most max bytes
    T_ENVELOPE,   //  msgpack map read by lt_envelope_unpack
    T_BIN,        //  msgpack bin
    T_ACKS,       //  msgpack array of [seq, msgid, duplicate] arrays
    T_IDS,        //  msgpack array of positive integers
} s_type_t;

struct _lt_ltp_t {
    lt_ltp_id_t id;            //  the command
    zframe_t *routing_id;      //  ROUTER peer id, NULL on the DEALER side
    uint32_t version;          //  protocol version (HELLO, WELCOME)
    char *name;                //  connector or broker name, NULL when unset
    char *kind;                //  connector kind, NULL when unset
    uint32_t credit;           //  deliveries the connector can take
    uint32_t heartbeat;        //  ping interval, ms
    uint32_t max_frame;        //  largest body the broker takes, bytes
    uint64_t seq;              //  publisher's sequence number
    char *msgid;               //  stored message id, NULL when unset
    bool duplicate;            //  ACCEPTED for an already stored key
    uint32_t code;             //  lt_error_t value
    char *reason;              //  readable reason, NULL when unset
    char *stats;               //  the connector's own counters (JSON object), NULL when unset
    uint64_t delivery;         //  delivery id
    uint32_t attempt;          //  attempt number, 1 for the first
    uint32_t delay;            //  RETRY: minimum wait, ms
    lt_envelope_t *envelope;   //  owned envelope, NULL when unset
    uint8_t *packed;           //  the envelope as packed bytes (lt_ltp_set_envelope_packed),
                               //  sent as they are; decoded into envelope when asked for
    size_t packed_size;        //  bytes of packed
    uint8_t *payload;          //  payload bytes, NULL when empty: owned, or lent by frame
    size_t payload_size;       //  payload bytes in use
    bool lent;                 //  payload lies in frame, the received body (not copied)
    bool borrowed;             //  envelope and payload are the caller's (lt_ltp_borrow)
    zmq_msg_t frame;           //  the body frame the payload lies in, when lent
    bool batch;                //  HELLO, WELCOME: takes batched acknowledgements
    lt_ltp_ack_t *acks;        //  ACCEPTED: further acknowledgements
    size_t ack_count;          //  entries in use
    size_t ack_alloc;          //  entries allocated
    uint64_t *ids;             //  DONE: further delivery ids
    size_t id_count;           //  entries in use
    size_t id_alloc;           //  entries allocated
    lt_ltp_t **items;          //  BATCH: the messages, in order (NULL once taken)
    size_t item_count;         //  entries in use
    size_t item_alloc;         //  entries allocated
    size_t item_bytes;         //  their payload bytes
};

//  Bodies larger than this lend their payload to the decoded message
//  instead of having it copied out (smaller ones may be held inside
//  libzmq's message itself, which moves with it).
#define S_LEND_MIN 1024

//  A wire name and its length, for tables compared with received names.
#define S_NAME(text) text, sizeof(text) - 1

//  One body field: wire key, type, longest string, where it is stored.
static const struct {
    const char *key;   //  msgpack map key
    size_t key_len;    //  its length in bytes
    s_type_t type;     //  wire type
    size_t max;        //  T_STR: longest value in bytes; T_ACKS, T_IDS: most entries
    size_t offset;     //  offset of the member in lt_ltp_t
} s_fields[F_COUNT] = {
    [F_VERSION] = {S_NAME("version"), T_U32, 0, offsetof(lt_ltp_t, version)},
    [F_NAME] = {S_NAME("name"), T_STR, LT_LTP_MAX_NAME, offsetof(lt_ltp_t, name)},
    [F_KIND] = {S_NAME("kind"), T_STR, LT_LTP_MAX_NAME, offsetof(lt_ltp_t, kind)},
    [F_CREDIT] = {S_NAME("credit"), T_U32, 0, offsetof(lt_ltp_t, credit)},
    [F_HEARTBEAT] = {S_NAME("heartbeat"), T_U32, 0, offsetof(lt_ltp_t, heartbeat)},
    [F_MAX_FRAME] = {S_NAME("max_frame"), T_U32, 0, offsetof(lt_ltp_t, max_frame)},
    [F_SEQ] = {S_NAME("seq"), T_U64, 0, offsetof(lt_ltp_t, seq)},
    [F_MSGID] = {S_NAME("msgid"), T_STR, LT_LTP_MAX_NAME, offsetof(lt_ltp_t, msgid)},
    [F_DUPLICATE] = {S_NAME("duplicate"), T_BOOL, 0, offsetof(lt_ltp_t, duplicate)},
    [F_DELIVERY] = {S_NAME("delivery"), T_U64, 0, offsetof(lt_ltp_t, delivery)},
    [F_ATTEMPT] = {S_NAME("attempt"), T_U32, 0, offsetof(lt_ltp_t, attempt)},
    [F_CODE] = {S_NAME("code"), T_U32, 0, offsetof(lt_ltp_t, code)},
    [F_REASON] = {S_NAME("reason"), T_STR, LT_LTP_MAX_REASON, offsetof(lt_ltp_t, reason)},
    [F_DELAY] = {S_NAME("delay"), T_U32, 0, offsetof(lt_ltp_t, delay)},
    [F_ENVELOPE] = {S_NAME("envelope"), T_ENVELOPE, 0, offsetof(lt_ltp_t, envelope)},
    [F_PAYLOAD] = {S_NAME("payload"), T_BIN, 0, offsetof(lt_ltp_t, payload)},
    [F_STATS] = {S_NAME("stats"), T_STR, LT_LTP_MAX_STATS, offsetof(lt_ltp_t, stats)},
    [F_BATCH] = {S_NAME("batch"), T_BOOL, 0, offsetof(lt_ltp_t, batch)},
    [F_ACKS] = {S_NAME("acks"), T_ACKS, LT_LTP_MAX_BATCH, offsetof(lt_ltp_t, acks)},
    [F_DELIVERIES] = {S_NAME("deliveries"), T_IDS, LT_LTP_MAX_BATCH, offsetof(lt_ltp_t, ids)},
};

#define B(f) (1u << (f))

//  One command: wire name and the fields it must and may carry.
static const struct {
    const char *name;    //  command frame contents
    size_t name_len;     //  its length in bytes
    uint32_t required;   //  fields that must be present
    uint32_t optional;   //  fields that may be present (sent when not zero)
} s_commands[LT_LTP_COUNT] = {
    [LT_LTP_NONE] = {S_NAME("NONE"), 0, 0},
    [LT_LTP_HELLO] = {S_NAME("HELLO"), B(F_VERSION) | B(F_NAME) | B(F_KIND) | B(F_CREDIT),
                      B(F_BATCH)},
    [LT_LTP_WELCOME] = {S_NAME("WELCOME"),
                        B(F_VERSION) | B(F_NAME) | B(F_HEARTBEAT) | B(F_MAX_FRAME), B(F_BATCH)},
    [LT_LTP_PUBLISH] = {S_NAME("PUBLISH"), B(F_SEQ) | B(F_ENVELOPE) | B(F_PAYLOAD), 0},
    [LT_LTP_ACCEPTED] = {S_NAME("ACCEPTED"), B(F_SEQ) | B(F_MSGID), B(F_DUPLICATE) | B(F_ACKS)},
    [LT_LTP_REJECTED] = {S_NAME("REJECTED"), B(F_SEQ) | B(F_CODE) | B(F_REASON), 0},
    [LT_LTP_DELIVER] = {S_NAME("DELIVER"),
                        B(F_DELIVERY) | B(F_ATTEMPT) | B(F_ENVELOPE) | B(F_PAYLOAD), 0},
    [LT_LTP_DONE] = {S_NAME("DONE"), B(F_DELIVERY), B(F_DELIVERIES)},
    [LT_LTP_RETRY] = {S_NAME("RETRY"), B(F_DELIVERY) | B(F_REASON), B(F_DELAY)},
    [LT_LTP_FAIL] = {S_NAME("FAIL"), B(F_DELIVERY) | B(F_REASON), 0},
    [LT_LTP_CREDIT] = {S_NAME("CREDIT"), B(F_CREDIT), 0},
    [LT_LTP_PING] = {S_NAME("PING"), 0, B(F_STATS)},
    [LT_LTP_PONG] = {S_NAME("PONG"), 0, B(F_STATS)},
    [LT_LTP_ERROR] = {S_NAME("ERROR"), B(F_CODE) | B(F_REASON), 0},
    [LT_LTP_BYE] = {S_NAME("BYE"), 0, 0},
    [LT_LTP_BATCH] = {S_NAME("BATCH"), 0, 0},   //  its body is its messages (s_pack_batch)
};

//  Member of field f inside a message, as a pointer of the given type.
#define S_MEMBER(self, f, type) ((type *) ((char *) (self) + s_fields[f].offset))
#define S_CMEMBER(self, f, type) ((const type *) ((const char *) (self) + s_fields[f].offset))

lt_ltp_t *lt_ltp_new(lt_ltp_id_t id)
{
    assert(id > LT_LTP_NONE && id < LT_LTP_COUNT);
    lt_ltp_t *self = calloc(1, sizeof(*self));
    if (self) {
        self->id = id;
        self->version = LT_LTP_VERSION;
    }
    return self;
}

//  Drop the payload: free it, or let go of the frame that lent it.
static void s_payload_release(lt_ltp_t *self)
{
    if (self->lent)
        zmq_msg_close(&self->frame);
    else if (!self->borrowed)
        free(self->payload);
    self->lent = false;
    self->payload = NULL;
    self->payload_size = 0;
}

//  Drop a borrowed envelope and payload (lt_ltp_borrow): the caller's, not
//  freed here.
static void s_unborrow(lt_ltp_t *self)
{
    if (self->borrowed) {
        self->envelope = NULL;
        self->payload = NULL;
        self->payload_size = 0;
        self->borrowed = false;
    }
}

void lt_ltp_destroy(lt_ltp_t **self_p)
{
    assert(self_p);
    lt_ltp_t *self = *self_p;
    if (!self)
        return;
    zframe_destroy(&self->routing_id);
    for (int f = 0; f < F_COUNT; f++)
        if (s_fields[f].type == T_STR)
            free(*S_MEMBER(self, f, char *));
    s_unborrow(self);
    lt_envelope_destroy(&self->envelope);
    free(self->packed);
    s_payload_release(self);
    free(self->acks);
    free(self->ids);
    for (size_t i = 0; i < self->item_count; i++)
        lt_ltp_destroy(&self->items[i]);
    free(self->items);
    free(self);
    *self_p = NULL;
}

lt_ltp_id_t lt_ltp_id(const lt_ltp_t *self)
{
    assert(self);
    return self->id;
}

const char *lt_ltp_command(const lt_ltp_t *self)
{
    assert(self);
    return s_commands[self->id].name;
}

const char *lt_ltp_id_name(lt_ltp_id_t id)
{
    return id >= LT_LTP_NONE && id < LT_LTP_COUNT ? s_commands[id].name : "UNKNOWN";
}

lt_ltp_id_t lt_ltp_id_from_name(const char *name, size_t size)
{
    if (!name)
        return LT_LTP_NONE;
    for (int id = LT_LTP_NONE + 1; id < LT_LTP_COUNT; id++)
        if (s_commands[id].name_len == size && memcmp(s_commands[id].name, name, size) == 0)
            return (lt_ltp_id_t) id;
    return LT_LTP_NONE;
}

zframe_t *lt_ltp_routing_id(const lt_ltp_t *self)
{
    assert(self);
    return self->routing_id;
}

void lt_ltp_set_routing_id(lt_ltp_t *self, zframe_t *routing_id)
{
    assert(self);
    zframe_destroy(&self->routing_id);
    if (routing_id)
        self->routing_id = zframe_dup(routing_id);
}

//  Replace string field f with a copy of value cut to the field's limit at a
//  UTF-8 character boundary; NULL (or no memory) leaves it unset.
static void s_set_str(lt_ltp_t *self, s_field_t f, const char *value)
{
    assert(self);
    char **slot = S_MEMBER(self, f, char *);
    free(*slot);
    *slot = NULL;
    if (!value)
        return;
    size_t len = strnlen(value, s_fields[f].max + 1);
    if (len > s_fields[f].max) {
        len = s_fields[f].max;
        while (len > 0 && ((unsigned char) value[len] & 0xC0) == 0x80)
            len--;
    }
    *slot = strndup(value, len);
}

static const char *s_get_str(const lt_ltp_t *self, s_field_t f)
{
    assert(self);
    const char *value = *S_CMEMBER(self, f, char *);
    return value ? value : "";
}

#define S_STR_ACCESSORS(name, field)                                                              \
    const char *lt_ltp_##name(const lt_ltp_t *self)                                               \
    {                                                                                             \
        return s_get_str(self, field);                                                            \
    }                                                                                             \
    void lt_ltp_set_##name(lt_ltp_t *self, const char *value)                                     \
    {                                                                                             \
        s_set_str(self, field, value);                                                            \
    }

S_STR_ACCESSORS(name, F_NAME)
S_STR_ACCESSORS(kind, F_KIND)
S_STR_ACCESSORS(stats, F_STATS)
S_STR_ACCESSORS(msgid, F_MSGID)
S_STR_ACCESSORS(reason, F_REASON)

#define S_SCALAR_ACCESSORS(name, type)                                                            \
    type lt_ltp_##name(const lt_ltp_t *self)                                                      \
    {                                                                                             \
        assert(self);                                                                             \
        return self->name;                                                                        \
    }                                                                                             \
    void lt_ltp_set_##name(lt_ltp_t *self, type value)                                            \
    {                                                                                             \
        assert(self);                                                                             \
        self->name = value;                                                                       \
    }

S_SCALAR_ACCESSORS(version, uint32_t)
S_SCALAR_ACCESSORS(credit, uint32_t)
S_SCALAR_ACCESSORS(heartbeat, uint32_t)
S_SCALAR_ACCESSORS(max_frame, uint32_t)
S_SCALAR_ACCESSORS(seq, uint64_t)
S_SCALAR_ACCESSORS(duplicate, bool)
S_SCALAR_ACCESSORS(code, uint32_t)
S_SCALAR_ACCESSORS(delivery, uint64_t)
S_SCALAR_ACCESSORS(attempt, uint32_t)
S_SCALAR_ACCESSORS(delay, uint32_t)

//  Drop packed envelope bytes (lt_ltp_set_envelope_packed).
static void s_unpack_drop(lt_ltp_t *self)
{
    free(self->packed);
    self->packed = NULL;
    self->packed_size = 0;
}

//  The envelope, decoded from its packed bytes on first use: reading a
//  message is not changing it, so the getters stay const for the caller.
//  NULL when unset, or when the bytes do not decode.
static lt_envelope_t *s_envelope(const lt_ltp_t *self)
{
    if (!self->envelope && self->packed) {
        lt_ltp_t *mut = (lt_ltp_t *) self;
        mut->envelope = lt_envelope_decode(self->packed, self->packed_size, NULL);
    }
    return self->envelope;
}

const lt_envelope_t *lt_ltp_envelope(const lt_ltp_t *self)
{
    assert(self);
    return s_envelope(self);
}

void lt_ltp_set_envelope(lt_ltp_t *self, lt_envelope_t **envelope_p)
{
    assert(self);
    assert(envelope_p);
    s_unborrow(self);
    lt_envelope_destroy(&self->envelope);
    s_unpack_drop(self);
    self->envelope = *envelope_p;
    *envelope_p = NULL;
}

bool lt_ltp_packed_map(const void *data, size_t size)
{
    const uint8_t *bytes = data;
    size_t end = 0;
    return data && size > 0 &&
           ((bytes[0] & 0xf0) == 0x80 || bytes[0] == 0xde || bytes[0] == 0xdf) &&
           lt_ltp_check_msgpack(data, size, LT_LTP_MAX_VALUES, &end, NULL) == 0 && end == size;
}

void lt_ltp_adopt_envelope_packed(lt_ltp_t *self, uint8_t **data_p, size_t size)
{
    assert(self);
    assert(data_p && *data_p && size > 0);
    s_unborrow(self);
    lt_envelope_destroy(&self->envelope);
    s_unpack_drop(self);
    self->packed = *data_p;
    self->packed_size = size;
    *data_p = NULL;
}

int lt_ltp_set_envelope_packed(lt_ltp_t *self, uint8_t **data_p, size_t size)
{
    assert(self);
    assert(data_p && *data_p);
    //  These bytes go into a frame as they are, where anything but one
    //  map would spoil the frame.
    if (!lt_ltp_packed_map(*data_p, size))
        return -1;
    lt_ltp_adopt_envelope_packed(self, data_p, size);
    return 0;
}

lt_envelope_t *lt_ltp_take_envelope(lt_ltp_t *self)
{
    assert(self);
    s_envelope(self);
    s_unpack_drop(self);
    if (self->borrowed)
        return self->envelope ? lt_envelope_dup(self->envelope) : NULL;
    lt_envelope_t *envelope = self->envelope;
    self->envelope = NULL;
    return envelope;
}

void lt_ltp_borrow(lt_ltp_t *self, const lt_envelope_t *envelope, const void *payload,
                   size_t size)
{
    assert(self);
    assert(payload || size == 0);
    s_unborrow(self);
    lt_envelope_destroy(&self->envelope);
    s_unpack_drop(self);
    s_payload_release(self);
    //  Read only, until the message is sent or destroyed (s_unborrow).
    self->envelope = (lt_envelope_t *) envelope;
    self->payload = size ? (uint8_t *) payload : NULL;
    self->payload_size = size;
    self->borrowed = true;
}

const uint8_t *lt_ltp_payload(const lt_ltp_t *self)
{
    assert(self);
    return self->payload;
}

size_t lt_ltp_payload_size(const lt_ltp_t *self)
{
    assert(self);
    return self->payload_size;
}

int lt_ltp_set_payload(lt_ltp_t *self, const void *data, size_t size)
{
    assert(self);
    assert(data || size == 0);
    uint8_t *copy = NULL;
    if (size) {
        copy = malloc(size);
        if (!copy)
            return -1;
        memcpy(copy, data, size);
    }
    s_unborrow(self);
    s_payload_release(self);
    self->payload = copy;
    self->payload_size = size;
    return 0;
}

void lt_ltp_give_payload(lt_ltp_t *self, uint8_t **data_p, size_t size)
{
    assert(self);
    assert(data_p);
    assert(*data_p || size == 0);
    s_unborrow(self);
    s_payload_release(self);
    if (size) {
        self->payload = *data_p;
        self->payload_size = size;
    }
    else
        free(*data_p);
    *data_p = NULL;
}

uint8_t *lt_ltp_take_payload(lt_ltp_t *self, size_t *size_p)
{
    assert(self);
    assert(size_p);
    *size_p = self->payload_size;
    uint8_t *payload = self->payload;
    if (self->lent || self->borrowed) {   //  libzmq's frame, or the caller's: a copy
        payload = malloc(self->payload_size);
        if (!payload)
            return NULL;
        memcpy(payload, self->payload, self->payload_size);
        s_payload_release(self);
    }
    self->payload = NULL;
    self->payload_size = 0;
    return payload;
}

bool lt_ltp_batch(const lt_ltp_t *self)
{
    assert(self);
    return self->batch;
}

void lt_ltp_set_batch(lt_ltp_t *self, bool batch)
{
    assert(self);
    self->batch = batch;
}

//  Make room for one more entry in an array of size entries of width
//  bytes with *alloc allocated; -1 when full or out of memory.
static int s_grow(void **array, size_t width, size_t size, size_t *alloc)
{
    if (size >= LT_LTP_MAX_BATCH)
        return -1;
    if (size < *alloc)
        return 0;
    size_t want = *alloc ? *alloc * 2 : 16;
    if (want > LT_LTP_MAX_BATCH)
        want = LT_LTP_MAX_BATCH;
    void *more = realloc(*array, want * width);
    if (!more)
        return -1;
    *array = more;
    *alloc = want;
    return 0;
}

int lt_ltp_add_ack(lt_ltp_t *self, uint64_t seq, const char *msgid, bool duplicate)
{
    assert(self && msgid);
    size_t length = strlen(msgid);
    if (length > LT_LTP_MAX_NAME ||
        s_grow((void **) &self->acks, sizeof(lt_ltp_ack_t), self->ack_count, &self->ack_alloc))
        return -1;
    lt_ltp_ack_t *ack = &self->acks[self->ack_count++];
    ack->seq = seq;
    ack->duplicate = duplicate;
    memcpy(ack->msgid, msgid, length + 1);
    return 0;
}

size_t lt_ltp_ack_count(const lt_ltp_t *self)
{
    assert(self);
    return self->ack_count;
}

const lt_ltp_ack_t *lt_ltp_ack(const lt_ltp_t *self, size_t index)
{
    assert(self && index < self->ack_count);
    return &self->acks[index];
}

int lt_ltp_add_delivery(lt_ltp_t *self, uint64_t delivery)
{
    assert(self);
    if (s_grow((void **) &self->ids, sizeof(uint64_t), self->id_count, &self->id_alloc))
        return -1;
    self->ids[self->id_count++] = delivery;
    return 0;
}

size_t lt_ltp_delivery_count(const lt_ltp_t *self)
{
    assert(self);
    return self->id_count;
}

uint64_t lt_ltp_delivery_at(const lt_ltp_t *self, size_t index)
{
    assert(self && index < self->id_count);
    return self->ids[index];
}

int lt_ltp_batch_add(lt_ltp_t *self, lt_ltp_t **msg_p)
{
    assert(self && self->id == LT_LTP_BATCH && msg_p && *msg_p);
    if ((*msg_p)->id == LT_LTP_BATCH ||
        s_grow((void **) &self->items, sizeof(lt_ltp_t *), self->item_count, &self->item_alloc))
        return -1;
    self->item_bytes += (*msg_p)->payload_size;
    self->items[self->item_count++] = *msg_p;
    *msg_p = NULL;
    return 0;
}

size_t lt_ltp_batch_count(const lt_ltp_t *self)
{
    assert(self);
    return self->item_count;
}

lt_ltp_t *lt_ltp_batch_take(lt_ltp_t *self, size_t index)
{
    assert(self && index < self->item_count);
    lt_ltp_t *msg = self->items[index];
    self->items[index] = NULL;
    return msg;
}

size_t lt_ltp_batch_bytes(const lt_ltp_t *self)
{
    assert(self);
    return self->item_bytes;
}

//  A round's gathered messages go out past these; a larger payload alone.
#define S_GATHER_ALONE (64 * 1024)

int lt_ltp_gather(lt_ltp_t **batch_p, lt_ltp_t **msg_p)
{
    assert(batch_p && msg_p && *msg_p);
    if ((*msg_p)->payload_size > S_GATHER_ALONE ||
        (!*batch_p && !(*batch_p = lt_ltp_new(LT_LTP_BATCH))) || lt_ltp_batch_add(*batch_p, msg_p))
        return -1;
    return (*batch_p)->item_count >= LT_LTP_GATHER_COUNT ||
           (*batch_p)->item_bytes >= LT_LTP_GATHER_BYTES;
}

lt_ltp_t *lt_ltp_gathered(lt_ltp_t **batch_p)
{
    assert(batch_p);
    lt_ltp_t *batch = *batch_p;
    *batch_p = NULL;
    if (!batch || batch->item_count != 1)
        return batch;
    lt_ltp_t *only = lt_ltp_batch_take(batch, 0);
    lt_ltp_destroy(&batch);
    return only;
}

//  True when field f holds something other than its zero value; decides
//  whether an optional field goes on the wire.
static bool s_field_set(const lt_ltp_t *self, s_field_t f)
{
    switch (s_fields[f].type) {
    case T_U32:
        return *S_CMEMBER(self, f, uint32_t) != 0;
    case T_U64:
        return *S_CMEMBER(self, f, uint64_t) != 0;
    case T_BOOL:
        return *S_CMEMBER(self, f, bool);
    case T_STR:
        return *S_CMEMBER(self, f, char *) != NULL;
    case T_ENVELOPE:
        return self->envelope != NULL || self->packed != NULL;
    case T_BIN:
        return self->payload_size != 0;
    case T_ACKS:
        return self->ack_count != 0;
    case T_IDS:
        return self->id_count != 0;
    }
    return false;
}

//  The fields this message puts on the wire: all required ones, and the
//  optional ones that hold a value.
static uint32_t s_wire_mask(const lt_ltp_t *self)
{
    uint32_t mask = s_commands[self->id].required;
    for (int f = 0; f < F_COUNT; f++)
        if ((s_commands[self->id].optional & B(f)) && s_field_set(self, (s_field_t) f))
            mask |= B(f);
    return mask;
}

//  Pack the body map holding the fields in mask, with room for extra
//  entries the caller appends (the self-test does); 0 or -1 when the writer
//  fails.
static int s_pack_body(const lt_ltp_t *self, uint32_t mask, size_t extra, msgpack_packer *pk)
{
    if (self->id == LT_LTP_BATCH) {
        //  A BATCH's body is an array of its messages' command names and
        //  bodies, one after the other.
        size_t count = 0;
        for (size_t i = 0; i < self->item_count; i++)
            count += self->items[i] != NULL;
        int rc = msgpack_pack_array(pk, 2 * count + extra);
        for (size_t i = 0; i < self->item_count && rc == 0; i++) {
            const lt_ltp_t *item = self->items[i];
            if (!item)
                continue;
            const char *name = s_commands[item->id].name;
            rc |= msgpack_pack_str_with_body(pk, name, strlen(name));
            rc |= s_pack_body(item, s_wire_mask(item), 0, pk);
        }
        return rc == 0 ? 0 : -1;
    }
    int rc = msgpack_pack_map(pk, (size_t) __builtin_popcount(mask) + extra);
    for (int f = 0; f < F_COUNT && rc == 0; f++) {
        if (!(mask & B(f)))
            continue;
        rc |= msgpack_pack_str_with_body(pk, s_fields[f].key, s_fields[f].key_len);
        switch (s_fields[f].type) {
        case T_U32:
            rc |= msgpack_pack_uint32(pk, *S_CMEMBER(self, f, uint32_t));
            break;
        case T_U64:
            rc |= msgpack_pack_uint64(pk, *S_CMEMBER(self, f, uint64_t));
            break;
        case T_BOOL:
            rc |= *S_CMEMBER(self, f, bool) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
            break;
        case T_STR: {
            const char *value = s_get_str(self, (s_field_t) f);
            rc |= msgpack_pack_str_with_body(pk, value, strlen(value));
            break;
        }
        case T_ENVELOPE:
            //  Packed bytes go as they are; an unset envelope travels as
            //  an empty map.
            if (self->packed)
                rc |= pk->callback(pk->data, (const char *) self->packed, self->packed_size);
            else
                rc |= self->envelope ? lt_envelope_pack(self->envelope, pk)
                                     : msgpack_pack_map(pk, 0);
            break;
        case T_BIN:
            rc |= msgpack_pack_bin_with_body(pk, self->payload, self->payload_size);
            break;
        case T_ACKS:
            rc |= msgpack_pack_array(pk, self->ack_count);
            for (size_t i = 0; i < self->ack_count && rc == 0; i++) {
                const lt_ltp_ack_t *ack = &self->acks[i];
                rc |= msgpack_pack_array(pk, 3);
                rc |= msgpack_pack_uint64(pk, ack->seq);
                rc |= msgpack_pack_str_with_body(pk, ack->msgid, strlen(ack->msgid));
                rc |= ack->duplicate ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
            }
            break;
        case T_IDS:
            rc |= msgpack_pack_array(pk, self->id_count);
            for (size_t i = 0; i < self->id_count && rc == 0; i++)
                rc |= msgpack_pack_uint64(pk, self->ids[i]);
            break;
        }
    }
    return rc == 0 ? 0 : -1;
}

//  Packer writer that only counts the bytes it is given.
static int s_count_write(void *data, const char *buf, size_t len)
{
    (void) buf;
    *(size_t *) data += len;
    return 0;
}

//  Where the second packing pass writes: a frame sized by the first pass.
typedef struct {
    uint8_t *data;   //  frame bytes
    size_t size;     //  frame size
    size_t used;     //  bytes written so far
} s_cursor_t;

//  Packer writer that copies into the frame; -1 if the frame would overflow.
static int s_frame_write(void *data, const char *buf, size_t len)
{
    s_cursor_t *cursor = data;
    if (len > cursor->size - cursor->used)
        return -1;
    if (len)   //  an empty bin body comes with a NULL buf
        memcpy(cursor->data + cursor->used, buf, len);
    cursor->used += len;
    return 0;
}

//  Encode the body of self holding the fields in mask into a new frame.
static zframe_t *s_encode_body(const lt_ltp_t *self, uint32_t mask)
{
    size_t size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &size, s_count_write);
    if (s_pack_body(self, mask, 0, &pk))
        return NULL;
    zframe_t *body = zframe_new(NULL, size);
    if (!body)
        return NULL;
    s_cursor_t cursor = {zframe_data(body), size, 0};
    msgpack_packer_init(&pk, &cursor, s_frame_write);
    if (s_pack_body(self, mask, 0, &pk) || cursor.used != size)
        zframe_destroy(&body);
    return body;
}

zmsg_t *lt_ltp_encode(const lt_ltp_t *self)
{
    assert(self);
    zmsg_t *msg = zmsg_new();
    zframe_t *body = s_encode_body(self, s_wire_mask(self));
    const char *name = s_commands[self->id].name;
    zframe_t *command = zframe_new(name, strlen(name));
    zframe_t *routing_id = self->routing_id ? zframe_dup(self->routing_id) : NULL;
    bool ok = msg && body && command && (routing_id || !self->routing_id);
    if (ok && routing_id)
        ok = zmsg_append(msg, &routing_id) == 0;
    ok = ok && zmsg_append(msg, &command) == 0 && zmsg_append(msg, &body) == 0;
    zframe_destroy(&routing_id);
    zframe_destroy(&command);
    zframe_destroy(&body);
    if (!ok)
        zmsg_destroy(&msg);
    return msg;
}

//  Copy at most 32 bytes of untrusted text into buf for an error message,
//  replacing anything but printable ASCII by '?'.
static const char *s_printable(const void *data, size_t size, char *buf, size_t buf_size)
{
    const unsigned char *bytes = data;
    size_t n = size < 32 ? size : 32;
    if (n > buf_size - 4)
        n = buf_size - 4;
    size_t i;
    for (i = 0; i < n; i++)
        buf[i] = bytes[i] >= 0x20 && bytes[i] < 0x7f ? (char) bytes[i] : '?';
    if (n < size)
        for (size_t dot = 0; dot < 3; dot++)
            buf[i++] = '.';
    buf[i] = 0;
    return buf;
}

//  Read a big-endian unsigned integer of width bytes at p.
static uint64_t s_be(const uint8_t *p, size_t width)
{
    uint64_t value = 0;
    for (size_t i = 0; i < width; i++)
        value = value << 8 | p[i];
    return value;
}

int lt_ltp_check_msgpack(const void *data, size_t size, size_t max_values, size_t *end_p,
                         lt_err_t *err)
{
    //  msgpack is a prefix encoding: one counter of values still to read is
    //  enough to find where the first value ends, no stack needed. Every
    //  value takes at least one byte, so a container claiming more elements
    //  than the bytes left can only be truncated or hostile.
    const uint8_t *p = data;
    uint64_t pending = 1;   //  values still to read
    size_t values = 0;      //  values read so far
    size_t at = 0;          //  offset of the next header
    while (pending > 0) {
        if (at >= size)
            return lt_err_set(err, LT_EPROTO, "incomplete msgpack value (%zu bytes)", size), -1;
        if (++values > max_values)
            return lt_err_set(err, LT_EPROTO, "more than %zu msgpack values", max_values), -1;
        pending--;
        uint8_t b = p[at++];
        size_t width = 0;        //  bytes of the length or count after the header byte
        uint64_t skip = 0;       //  fixed payload bytes after that
        uint64_t children = 0;   //  values this container holds
        bool counted = false;    //  width holds a byte count to skip (str, bin, ext)
        bool container = false;  //  width holds an element count (array, map)
        uint64_t per = 1;        //  values per element: 2 for maps
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ;   //  fixint, nil, booleans: the header is the whole value
        else if (b <= 0x8f)
            children = 2u * (b & 0x0f);
        else if (b <= 0x9f)
            children = b & 0x0f;
        else if (b <= 0xbf)
            skip = b & 0x1f;
        else if (b == 0xc1)
            return lt_err_set(err, LT_EPROTO, "reserved msgpack byte 0xc1 at offset %zu",
                              at - 1),
                   -1;
        else if (b >= 0xc4 && b <= 0xc6)
            width = (size_t) 1 << (b - 0xc4), counted = true;   //  bin 8/16/32
        else if (b >= 0xc7 && b <= 0xc9)
            width = (size_t) 1 << (b - 0xc7), counted = true, skip = 1;   //  ext 8/16/32
        else if (b == 0xca || b == 0xcb)
            skip = b == 0xca ? 4 : 8;   //  float 32/64
        else if (b >= 0xcc && b <= 0xd3)
            skip = (uint64_t) 1 << ((b - 0xcc) & 3);   //  uint and int 8..64
        else if (b >= 0xd4 && b <= 0xd8)
            skip = 1 + ((uint64_t) 1 << (b - 0xd4));   //  fixext 1..16 plus type
        else if (b >= 0xd9 && b <= 0xdb)
            width = (size_t) 1 << (b - 0xd9), counted = true;   //  str 8/16/32
        else if (b == 0xdc || b == 0xdd)
            width = b == 0xdc ? 2 : 4, container = true;   //  array 16/32
        else
            width = b == 0xde ? 2 : 4, container = true, per = 2;   //  map 16/32
        if (width) {
            if (width > size - at)
                return lt_err_set(err, LT_EPROTO, "incomplete msgpack value (%zu bytes)", size),
                       -1;
            uint64_t n = s_be(p + at, width);
            at += width;
            if (counted)
                skip += n;
            if (container)
                children = n * per;
        }
        if (skip > size - at)
            return lt_err_set(err, LT_EPROTO, "incomplete msgpack value (%zu bytes)", size), -1;
        at += (size_t) skip;
        pending += children;
        if (pending > size - at)
            return lt_err_set(err, LT_EPROTO,
                              "msgpack container at offset %zu claims more elements than "
                              "the %zu bytes left",
                              at, size - at),
                   -1;
    }
    if (end_p)
        *end_p = at;
    return 0;
}

//  Find the field whose wire key is the msgpack string k; F_COUNT if none.
static s_field_t s_field_lookup(const msgpack_object_str *k)
{
    for (int f = 0; f < F_COUNT; f++)
        if (s_fields[f].key_len == k->size && memcmp(s_fields[f].key, k->ptr, k->size) == 0)
            return (s_field_t) f;
    return F_COUNT;
}

//  T_ACKS and T_IDS: check array v entry by entry and fill self's list;
//  0, or -1 with err naming the command, the field and the entry.
static int s_decode_list(lt_ltp_t *self, s_field_t f, const msgpack_object *v, lt_err_t *err)
{
    const char *command = s_commands[self->id].name;
    const char *key = s_fields[f].key;
    bool acks = s_fields[f].type == T_ACKS;
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return lt_err_set(err, LT_EFIELD, "%s: field '%s' must be an array", command, key), -1;
    if (v->via.array.size > s_fields[f].max)
        return lt_err_set(err, LT_EFIELD, "%s: field '%s' has %u entries, more than %zu",
                          command, key, v->via.array.size, s_fields[f].max),
               -1;
    self->ack_count = 0;
    self->id_count = 0;
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *e = &v->via.array.ptr[i];
        if (!acks) {
            if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return lt_err_set(err, LT_EFIELD,
                                  "%s: field '%s' entry %u must be an unsigned integer", command,
                                  key, i),
                       -1;
            if (lt_ltp_add_delivery(self, e->via.u64))
                return lt_err_set(err, LT_ENOMEM, "%s: out of memory", command), -1;
            continue;
        }
        const msgpack_object *part = e->via.array.ptr;
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3)
            return lt_err_set(err, LT_EFIELD,
                              "%s: field '%s' entry %u must be an array [seq, msgid, duplicate]",
                              command, key, i),
                   -1;
        if (part[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' entry %u: seq must be an unsigned "
                              "integer", command, key, i),
                   -1;
        if (part[1].type != MSGPACK_OBJECT_STR || part[1].via.str.size > LT_LTP_MAX_NAME ||
            (part[1].via.str.size && memchr(part[1].via.str.ptr, 0, part[1].via.str.size)))
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' entry %u: msgid must be a string "
                              "of at most %d bytes without NUL", command, key, i, LT_LTP_MAX_NAME),
                   -1;
        if (part[2].type != MSGPACK_OBJECT_BOOLEAN)
            return lt_err_set(err, LT_EFIELD,
                              "%s: field '%s' entry %u: duplicate must be a boolean", command, key,
                              i),
                   -1;
        char msgid[LT_LTP_MAX_NAME + 1];
        memcpy(msgid, part[1].via.str.ptr, part[1].via.str.size);
        msgid[part[1].via.str.size] = 0;
        if (lt_ltp_add_ack(self, part[0].via.u64, msgid, part[2].via.boolean))
            return lt_err_set(err, LT_ENOMEM, "%s: out of memory", command), -1;
    }
    return 0;
}

//  Store value v into field f of self after checking its type and range;
//  0, or -1 with err naming the command and the field.
static int s_decode_field(lt_ltp_t *self, s_field_t f, const msgpack_object *v,
                          zmq_msg_t *lend, lt_err_t *err)
{
    const char *command = s_commands[self->id].name;
    const char *key = s_fields[f].key;
    switch (s_fields[f].type) {
    case T_U32:
    case T_U64:
        if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' is out of range (negative)",
                              command, key),
                   -1;
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' must be an unsigned integer",
                              command, key),
                   -1;
        if (s_fields[f].type == T_U64) {
            *S_MEMBER(self, f, uint64_t) = v->via.u64;
            return 0;
        }
        if (v->via.u64 > UINT32_MAX)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' is out of range (over %u)",
                              command, key, UINT32_MAX),
                   -1;
        *S_MEMBER(self, f, uint32_t) = (uint32_t) v->via.u64;
        return 0;
    case T_BOOL:
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' must be a boolean", command, key),
                   -1;
        *S_MEMBER(self, f, bool) = v->via.boolean;
        return 0;
    case T_STR: {
        if (v->type != MSGPACK_OBJECT_STR)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' must be a string", command, key),
                   -1;
        if (v->via.str.size > s_fields[f].max)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' is longer than %zu bytes",
                              command, key, s_fields[f].max),
                   -1;
        size_t size = v->via.str.size;
        if (size && memchr(v->via.str.ptr, 0, size))
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' contains a NUL byte", command,
                              key),
                   -1;
        char *copy = size ? strndup(v->via.str.ptr, size) : strdup("");
        if (!copy)
            return lt_err_set(err, LT_ENOMEM, "%s: out of memory", command), -1;
        char **slot = S_MEMBER(self, f, char *);
        free(*slot);
        *slot = copy;
        return 0;
    }
    case T_ENVELOPE: {
        lt_err_t sub;
        lt_err_clear(&sub);
        lt_envelope_t *envelope = lt_envelope_unpack(v, &sub);
        if (!envelope)
            return lt_err_set(err, sub.code ? sub.code : LT_EFIELD, "%s: %s", command,
                              sub.detail),
                   -1;
        lt_envelope_destroy(&self->envelope);
        self->envelope = envelope;
        return 0;
    }
    case T_BIN:
        if (v->type != MSGPACK_OBJECT_BIN)
            return lt_err_set(err, LT_EFIELD, "%s: field '%s' must be binary (msgpack bin)",
                              command, key),
                   -1;
        if (lend && v->via.bin.size) {   //  a payload key comes once (s_decode_map)
            //  The payload stays where it arrived: the frame moves into
            //  the message (its bytes do not move: see S_LEND_MIN).
            const uint8_t *data = zmq_msg_data(lend);
            size_t at = (size_t) ((const uint8_t *) v->via.bin.ptr - data);
            s_payload_release(self);
            zmq_msg_init(&self->frame);
            zmq_msg_move(&self->frame, lend);
            self->lent = true;
            self->payload = (uint8_t *) zmq_msg_data(&self->frame) + at;
            self->payload_size = v->via.bin.size;
            return 0;
        }
        if (lt_ltp_set_payload(self, v->via.bin.ptr, v->via.bin.size))
            return lt_err_set(err, LT_ENOMEM, "%s: out of memory for %u payload bytes", command,
                              v->via.bin.size),
                   -1;
        return 0;
    case T_ACKS:
    case T_IDS:
        return s_decode_list(self, f, v, err);
    }
    return lt_err_set(err, LT_EINTERNAL, "%s: field '%s' has no type", command, key), -1;
}

//  True when key i of the map equals an earlier key (both strings).
static bool s_repeated_key(const msgpack_object_map *map, uint32_t i)
{
    const msgpack_object_str *k = &map->ptr[i].key.via.str;
    for (uint32_t j = 0; j < i; j++) {
        const msgpack_object *other = &map->ptr[j].key;
        //  msgpack-c may give an empty string a NULL pointer: no memcmp then.
        if (other->type == MSGPACK_OBJECT_STR && other->via.str.size == k->size &&
            (k->size == 0 || memcmp(other->via.str.ptr, k->ptr, k->size) == 0))
            return true;
    }
    return false;
}

//  Fill a new message of command id from an unpacked body map; NULL with err.
static lt_ltp_t *s_decode_map(lt_ltp_id_t id, const msgpack_object *body, zmq_msg_t *lend,
                              lt_err_t *err)
{
    const char *command = s_commands[id].name;
    if (body->type != MSGPACK_OBJECT_MAP) {
        lt_err_set(err, LT_EPROTO, "%s: body is not a msgpack map", command);
        return NULL;
    }
    const msgpack_object_map *map = &body->via.map;
    if (map->size > LT_LTP_MAX_KEYS) {
        lt_err_set(err, LT_EPROTO, "%s: body map has %u keys, more than %d", command, map->size,
                   LT_LTP_MAX_KEYS);
        return NULL;
    }
    lt_ltp_t *self = lt_ltp_new(id);
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "%s: out of memory", command);
        return NULL;
    }
    uint32_t allowed = s_commands[id].required | s_commands[id].optional;
    uint32_t seen = 0;
    char text[40];
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *key = &map->ptr[i].key;
        if (key->type != MSGPACK_OBJECT_STR) {
            lt_err_set(err, LT_EPROTO, "%s: body map key %u is not a string", command, i);
            goto fail;
        }
        s_field_t f = s_field_lookup(&key->via.str);
        //  Known keys are checked for repeats by bit, unknown ones against
        //  the earlier keys (at most LT_LTP_MAX_KEYS, so this stays cheap).
        if (f < F_COUNT ? (seen & B(f)) != 0 : s_repeated_key(map, i)) {
            lt_err_set(err, LT_EPROTO, "%s: duplicate key '%s' in body", command,
                       s_printable(key->via.str.ptr, key->via.str.size, text, sizeof(text)));
            goto fail;
        }
        if (f == F_COUNT)
            continue;   //  unknown key: a newer peer's field, ignored
        seen |= B(f);
        if ((allowed & B(f)) && s_decode_field(self, f, &map->ptr[i].val, lend, err))
            goto fail;
    }
    uint32_t missing = s_commands[id].required & ~seen;
    if (missing) {
        lt_err_set(err, LT_EFIELD, "%s: field '%s' is missing", command,
                   s_fields[__builtin_ctz(missing)].key);
        goto fail;
    }
    return self;
fail:
    lt_ltp_destroy(&self);
    return NULL;
}

//  Each thread's msgpack zone, made at its first decode and freed when the
//  thread ends (s_zone_key's destructor).
static pthread_key_t s_zone_key;
static pthread_once_t s_zone_once = PTHREAD_ONCE_INIT;

static void s_zone_free(void *zone)
{
    msgpack_zone_free(zone);
}

static void s_zone_init(void)
{
    pthread_key_create(&s_zone_key, s_zone_free);
}

int lt_ltp_unpack(const void *data, size_t size, msgpack_object *obj, bool *nomem)
{
    assert(obj && nomem);
    *nomem = false;
    pthread_once(&s_zone_once, s_zone_init);
    msgpack_zone *zone = pthread_getspecific(s_zone_key);
    if (!zone) {
        zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
        if (!zone || pthread_setspecific(s_zone_key, zone)) {
            msgpack_zone_free(zone);
            *nomem = true;
            return -1;
        }
    }
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack(data, size, &offset, zone, obj);
    *nomem = rc == MSGPACK_UNPACK_NOMEM_ERROR;
    return rc == MSGPACK_UNPACK_SUCCESS && offset == size ? 0 : -1;
}

void lt_ltp_unpack_done(void)
{
    msgpack_zone *zone = pthread_once(&s_zone_once, s_zone_init) == 0
                             ? pthread_getspecific(s_zone_key)
                             : NULL;
    if (zone)
        msgpack_zone_clear(zone);
}

static lt_ltp_t *s_decode(const void *command, size_t command_size, const void *body,
                          size_t body_size, size_t max_frame, zmq_msg_t *lend, lt_err_t *err);

//  A BATCH's body: an array holding, for each message, its command name
//  (any msgpack string form) and its body map. Each message is checked and
//  decoded as if it had come alone (its own limits, its own errors); one
//  bad message refuses the whole BATCH, naming it, as does a HELLO (a
//  session is opened alone) or more than LT_LTP_MAX_BATCH_ENTRIES entries
//  of 'acks' and 'deliveries' in all. lend, when not NULL, is the frame holding body:
//  each message that lends its payload keeps a reference to it.
static lt_ltp_t *s_decode_batch(const uint8_t *body, size_t size, size_t max_frame,
                                zmq_msg_t *lend, lt_err_t *err)
{
    uint64_t values = 0;
    size_t at = 0;
    if (size >= 1 && body[0] >= 0x90 && body[0] <= 0x9f) {
        values = body[0] & 0x0f;
        at = 1;
    }
    else if (size >= 3 && body[0] == 0xdc) {
        values = s_be(body + 1, 2);
        at = 3;
    }
    else if (size >= 5 && body[0] == 0xdd) {
        values = s_be(body + 1, 4);
        at = 5;
    }
    else {
        lt_err_set(err, LT_EPROTO, "BATCH: body is not a msgpack array");
        return NULL;
    }
    if (values == 0 || values % 2 || values / 2 > LT_LTP_MAX_BATCH) {
        lt_err_set(err, LT_EPROTO,
                   "BATCH: array of %llu values; expected a command name and a body for each "
                   "of 1 to %d messages",
                   (unsigned long long) values, LT_LTP_MAX_BATCH);
        return NULL;
    }
    lt_ltp_t *self = lt_ltp_new(LT_LTP_BATCH);
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "BATCH: out of memory");
        return NULL;
    }
    lt_err_t sub;
    size_t entries = 0;   //  'acks' and 'deliveries' entries so far
    for (size_t i = 0; i < values / 2; i++) {
        size_t len = 0, head = 0;
        if (at < size && body[at] >= 0xa0 && body[at] <= 0xbf) {
            len = body[at] & 0x1f;
            head = 1;
        }
        else if (at + 1 < size && body[at] == 0xd9) {
            len = body[at + 1];
            head = 2;
        }
        else if (at + 2 < size && body[at] == 0xda) {
            len = (size_t) s_be(body + at + 1, 2);
            head = 3;
        }
        else if (at + 4 < size && body[at] == 0xdb) {
            len = (size_t) s_be(body + at + 1, 4);
            head = 5;
        }
        if (head == 0 || len > size - at - head) {
            lt_err_set(err, LT_EPROTO, "BATCH: message %zu: %s", i,
                       at >= size ? "missing (the body ends before it)"
                                  : "command name is not a string within the body");
            goto fail;
        }
        const uint8_t *name = body + at + head;
        at += head + len;
        size_t end = 0;
        if (lt_ltp_check_msgpack(body + at, size - at, LT_LTP_MAX_VALUES, &end, &sub)) {
            lt_err_set(err, LT_EPROTO, "BATCH: message %zu: body: %s", i, sub.detail);
            goto fail;
        }
        zmq_msg_t share;
        if (lend) {
            zmq_msg_init(&share);
            zmq_msg_copy(&share, lend);   //  a reference, not a copy of the bytes
        }
        lt_ltp_t *msg = s_decode(name, len, body + at, end, max_frame, lend ? &share : NULL, &sub);
        if (lend)
            zmq_msg_close(&share);   //  empty when msg took it over
        if (!msg) {
            lt_err_set(err, sub.code, "BATCH: message %zu: %s", i, sub.detail);
            goto fail;
        }
        if (msg->id == LT_LTP_BATCH) {
            lt_ltp_destroy(&msg);
            lt_err_set(err, LT_EPROTO, "BATCH: message %zu is a BATCH (batches do not nest)", i);
            goto fail;
        }
        if (msg->id == LT_LTP_HELLO) {
            lt_ltp_destroy(&msg);
            lt_err_set(err, LT_EPROTO, "BATCH: message %zu is a HELLO (a session is opened by "
                       "a HELLO alone)", i);
            goto fail;
        }
        entries += msg->ack_count + msg->id_count;
        if (entries > LT_LTP_MAX_BATCH_ENTRIES) {
            lt_err_set(err, LT_ETOOBIG,
                       "BATCH: message %zu: %s: over %d 'acks' and 'deliveries' entries in "
                       "one BATCH",
                       i, s_commands[msg->id].name, LT_LTP_MAX_BATCH_ENTRIES);
            lt_ltp_destroy(&msg);
            goto fail;
        }
        if (lt_ltp_batch_add(self, &msg)) {   //  at most LT_LTP_MAX_BATCH: no memory
            lt_ltp_destroy(&msg);
            lt_err_set(err, LT_ENOMEM, "BATCH: out of memory at message %zu", i);
            goto fail;
        }
        at += end;
    }
    if (at != size) {
        lt_err_set(err, LT_EPROTO, "BATCH: %zu trailing bytes after its messages", size - at);
        goto fail;
    }
    return self;
fail:
    lt_ltp_destroy(&self);
    return NULL;
}

//  lt_ltp_decode; lend, when not NULL, is the libzmq message holding body,
//  which the decoded message takes over if its payload lies in it.
static lt_ltp_t *s_decode(const void *command, size_t command_size, const void *body,
                          size_t body_size, size_t max_frame, zmq_msg_t *lend, lt_err_t *err)
{
    lt_err_clear(err);
    char text[40];
    lt_ltp_id_t id = lt_ltp_id_from_name(command, command_size);
    if (id == LT_LTP_NONE) {
        lt_err_set(err, LT_ECOMMAND, "unknown command '%s'",
                   s_printable(command ? command : "", command ? command_size : 0, text,
                               sizeof(text)));
        return NULL;
    }
    const char *name = s_commands[id].name;
    if (max_frame == 0)
        max_frame = LT_LTP_MAX_FRAME;
    if (body_size > max_frame) {
        lt_err_set(err, LT_ETOOBIG, "%s: body of %zu bytes is over the %zu-byte limit", name,
                   body_size, max_frame);
        return NULL;
    }
    if (!body || body_size == 0) {
        lt_err_set(err, LT_EPROTO, "%s: empty body (expected a msgpack map)", name);
        return NULL;
    }
    if (id == LT_LTP_BATCH)
        return s_decode_batch(body, body_size, max_frame, lend, err);
    size_t end = 0;
    lt_err_t sub;
    if (lt_ltp_check_msgpack(body, body_size, LT_LTP_MAX_VALUES, &end, &sub)) {
        lt_err_set(err, LT_EPROTO, "%s: body: %s", name, sub.detail);
        return NULL;
    }
    if (end != body_size) {
        lt_err_set(err, LT_EPROTO, "%s: %zu trailing bytes after the body map", name,
                   body_size - end);
        return NULL;
    }
    msgpack_object obj;
    bool nomem = false;
    lt_ltp_t *self = NULL;
    if (lt_ltp_unpack(body, body_size, &obj, &nomem) == 0)
        self = s_decode_map(id, &obj, lend, err);
    else if (nomem)
        lt_err_set(err, LT_EPROTO, "%s: body nests too deep or is too large to unpack", name);
    else
        lt_err_set(err, LT_EPROTO, "%s: body is not valid msgpack", name);
    lt_ltp_unpack_done();
    return self;
}

lt_ltp_t *lt_ltp_decode(const void *command, size_t command_size, const void *body,
                        size_t body_size, size_t max_frame, lt_err_t *err)
{
    return s_decode(command, command_size, body, body_size, max_frame, NULL, err);
}

//  True when socket (a zsock_t, an actor or a raw libzmq socket) is a ROUTER.
static bool s_is_router(void *socket)
{
    int type = -1;
    size_t size = sizeof(type);
    void *handle = zsock_resolve(socket);
    return handle && zmq_getsockopt(handle, ZMQ_TYPE, &type, &size) == 0 && type == ZMQ_ROUTER;
}

//  Send self's frames (its routing id when set, the command, the body) on
//  the libzmq socket handle, the body packed straight into its message:
//  what lt_ltp_encode and zmsg_send do, without a zmsg and its frames.
static int s_send_frames(const lt_ltp_t *self, void *handle)
{
    uint32_t mask = s_wire_mask(self);
    size_t size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &size, s_count_write);
    zmq_msg_t body;
    if (s_pack_body(self, mask, 0, &pk) || zmq_msg_init_size(&body, size))
        return -1;
    s_cursor_t cursor = {zmq_msg_data(&body), size, 0};
    msgpack_packer_init(&pk, &cursor, s_frame_write);
    const char *name = s_commands[self->id].name;
    bool ok = s_pack_body(self, mask, 0, &pk) == 0 && cursor.used == size;
    if (ok && self->routing_id)
        ok = zmq_send(handle, zframe_data(self->routing_id), zframe_size(self->routing_id),
                      ZMQ_SNDMORE) >= 0;
    ok = ok && zmq_send(handle, name, strlen(name), ZMQ_SNDMORE) >= 0;
    ok = ok && zmq_msg_send(&body, handle, 0) >= 0;
    if (!ok)
        zmq_msg_close(&body);   //  a sent message belongs to libzmq
    return ok ? 0 : -1;
}

int lt_ltp_send(lt_ltp_t **self_p, void *socket)
{
    assert(self_p);
    assert(socket);
    lt_ltp_t *self = *self_p;
    if (!self)
        return -1;
    int rc = -1;
    void *handle = zsock_resolve(socket);
    if (handle && (self->routing_id || !s_is_router(handle)))
        rc = s_send_frames(self, handle);
    lt_ltp_destroy(self_p);
    return rc;
}

//  Take one message's parts ((routing id,) command, body) from the libzmq
//  socket handle into libzmq messages, check their number and decode them:
//  the one reading of an LTP message that lt_ltp_read and lt_ltp_recv share.
//  flags is 0 to block or ZMQ_DONTWAIT. Returns -1 when no message came
//  (errno says why), else 0 with out filled as lt_ltp_read says.
static int s_read_frames(void *handle, bool router, int flags, size_t max_frame,
                         lt_ltp_read_t *out, lt_err_t *err)
{
    memset(out, 0, sizeof(*out));
    lt_err_clear(err);
    zmq_msg_t part[3];
    zmq_msg_init(&part[0]);
    if (zmq_msg_recv(&part[0], handle, flags) < 0) {
        int cause = zmq_errno();
        zmq_msg_close(&part[0]);
        errno = cause;
        return -1;
    }
    //  The parts of a message arrive together: the rest is there already.
    size_t n = 1, total = 1;   //  parts kept, parts received
    bool more = zmq_msg_more(&part[0]);
    while (more) {
        zmq_msg_t rest;
        zmq_msg_t *p = n < 3 ? &part[n] : &rest;
        zmq_msg_init(p);
        if (zmq_msg_recv(p, handle, 0) < 0) {
            zmq_msg_close(p);
            break;
        }
        more = zmq_msg_more(p);
        total++;
        if (n < 3)
            n++;
        else
            zmq_msg_close(p);
    }
    size_t first = router ? 1 : 0;   //  the command's part
    if (router)
        out->routing_id = zframe_new(zmq_msg_data(&part[0]), zmq_msg_size(&part[0]));
    if (n > first) {
        //  A name too long for a session's is taken as none (refused),
        //  never cut short into another connector's name.
        const char *user = zmq_msg_gets(&part[first], "User-Id");
        if ((out->has_user = user && strlen(user) < sizeof(out->user)))
            memcpy(out->user, user, strlen(user) + 1);
    }
    if (total != first + 2)
        lt_err_set(err, LT_EPROTO,
                   "an LTP message is exactly two frames, command and body; got %zu",
                   total - first);
    else {
        zmq_msg_t *body = &part[first + 1];
        out->msg = s_decode(zmq_msg_data(&part[first]), zmq_msg_size(&part[first]),
                            zmq_msg_data(body), zmq_msg_size(body), max_frame,
                            zmq_msg_size(body) > S_LEND_MIN ? body : NULL, err);
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&part[i]);
    return 0;
}

int lt_ltp_read(void *socket, bool router, size_t max_frame, lt_ltp_read_t *out,
                lt_err_t *err)
{
    assert(socket && out);
    memset(out, 0, sizeof(*out));
    lt_err_clear(err);
    void *handle = zsock_resolve(socket);
    if (!handle)
        return -1;
    return s_read_frames(handle, router, ZMQ_DONTWAIT, max_frame, out, err);
}

lt_ltp_t *lt_ltp_recv(void *socket, size_t max_frame, lt_err_t *err, zframe_t **routing_id_p)
{
    assert(socket);
    lt_err_clear(err);
    if (routing_id_p)
        *routing_id_p = NULL;
    void *handle = zsock_resolve(socket);
    lt_ltp_read_t got;
    if (!handle || s_read_frames(handle, s_is_router(handle), 0, max_frame, &got, err) != 0) {
        int cause = handle ? zmq_errno() : ENOTSOCK;
        if (cause == EAGAIN)
            lt_err_set(err, LT_ETIMEOUT, "no LTP message before the receive timeout");
        else
            lt_err_set(err, LT_EIO, "receive interrupted (%s)", zmq_strerror(cause));
        return NULL;
    }
    if (got.msg) {
        got.msg->routing_id = got.routing_id;
        got.routing_id = NULL;
    }
    else if (routing_id_p) {
        *routing_id_p = got.routing_id;
        got.routing_id = NULL;
    }
    zframe_destroy(&got.routing_id);
    return got.msg;
}

void lt_ltp_print(const lt_ltp_t *self, FILE *file)
{
    assert(self);
    assert(file);
    fprintf(file, "%s", s_commands[self->id].name);
    if (self->routing_id) {
        char *hex = zframe_strhex(self->routing_id);
        fprintf(file, " routing_id=%s", hex ? hex : "?");
        free(hex);
    }
    if (self->id == LT_LTP_BATCH)
        fprintf(file, " messages=%zu", self->item_count);
    uint32_t mask = s_wire_mask(self);
    for (int f = 0; f < F_COUNT; f++) {
        if (!(mask & B(f)))
            continue;
        const char *key = s_fields[f].key;
        switch (s_fields[f].type) {
        case T_U32:
            fprintf(file, " %s=%u", key, *S_CMEMBER(self, f, uint32_t));
            break;
        case T_U64:
            fprintf(file, " %s=%llu", key,
                    (unsigned long long) *S_CMEMBER(self, f, uint64_t));
            break;
        case T_BOOL:
            fprintf(file, " %s=%s", key, *S_CMEMBER(self, f, bool) ? "true" : "false");
            break;
        case T_STR:
            fprintf(file, " %s=\"%s\"", key, s_get_str(self, (s_field_t) f));
            break;
        case T_ENVELOPE:
            if (s_envelope(self))
                fprintf(file, " envelope.id=%s envelope.kind=%s envelope.key=\"%s\"",
                        lt_envelope_id(self->envelope),
                        lt_kind_name(lt_envelope_kind(self->envelope)),
                        lt_envelope_key(self->envelope));
            break;
        case T_BIN:
            fprintf(file, " %s=%zu bytes", key, self->payload_size);
            break;
        case T_ACKS:
            fprintf(file, " %s=%zu", key, self->ack_count);
            for (size_t i = 0; i < self->ack_count; i++)
                fprintf(file, "%s%llu:%s%s", i ? "," : "[",
                        (unsigned long long) self->acks[i].seq, self->acks[i].msgid,
                        self->acks[i].duplicate ? ":duplicate" : "");
            fprintf(file, "%s", self->ack_count ? "]" : "");
            break;
        case T_IDS:
            fprintf(file, " %s=%zu", key, self->id_count);
            for (size_t i = 0; i < self->id_count; i++)
                fprintf(file, "%s%llu", i ? "," : "[", (unsigned long long) self->ids[i]);
            fprintf(file, "%s", self->id_count ? "]" : "");
            break;
        }
    }
    fprintf(file, "\n");
}

bool lt_ltp_eq(const lt_ltp_t *a, const lt_ltp_t *b)
{
    assert(a && b);
    if (a->id != b->id || !a->routing_id != !b->routing_id ||
        (a->routing_id && !zframe_eq(a->routing_id, b->routing_id)))
        return false;
    if (a->id == LT_LTP_BATCH) {
        if (a->item_count != b->item_count)
            return false;
        for (size_t i = 0; i < a->item_count; i++)
            if (!a->items[i] != !b->items[i] ||
                (a->items[i] && !lt_ltp_eq(a->items[i], b->items[i])))
                return false;
    }
    uint32_t mask = s_commands[a->id].required | s_commands[a->id].optional;
    for (int f = 0; f < F_COUNT; f++) {
        if (!(mask & B(f)))
            continue;
        switch (s_fields[f].type) {
        case T_U32:
            if (*S_CMEMBER(a, f, uint32_t) != *S_CMEMBER(b, f, uint32_t))
                return false;
            break;
        case T_U64:
            if (*S_CMEMBER(a, f, uint64_t) != *S_CMEMBER(b, f, uint64_t))
                return false;
            break;
        case T_BOOL:
            if (*S_CMEMBER(a, f, bool) != *S_CMEMBER(b, f, bool))
                return false;
            break;
        case T_STR:
            if (strcmp(s_get_str(a, (s_field_t) f), s_get_str(b, (s_field_t) f)))
                return false;
            break;
        case T_ENVELOPE: {
            if (!s_envelope(a) && !s_envelope(b))
                break;
            lt_envelope_t *empty = NULL;
            if (!a->envelope != !b->envelope && !(empty = lt_envelope_new()))
                return false;
            bool same = lt_envelope_eq(a->envelope ? a->envelope : empty,
                                       b->envelope ? b->envelope : empty);
            lt_envelope_destroy(&empty);
            if (!same)
                return false;
            break;
        }
        case T_BIN:
            if (a->payload_size != b->payload_size ||
                (a->payload_size && memcmp(a->payload, b->payload, a->payload_size)))
                return false;
            break;
        case T_ACKS:
            if (a->ack_count != b->ack_count)
                return false;
            for (size_t i = 0; i < a->ack_count; i++)
                if (a->acks[i].seq != b->acks[i].seq ||
                    a->acks[i].duplicate != b->acks[i].duplicate ||
                    strcmp(a->acks[i].msgid, b->acks[i].msgid))
                    return false;
            break;
        case T_IDS:
            if (a->id_count != b->id_count ||
                (a->id_count && memcmp(a->ids, b->ids, a->id_count * sizeof(uint64_t))))
                return false;
            break;
        }
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Self-test

//  A full envelope for the tests.
static lt_envelope_t *s_test_envelope(void)
{
    lt_envelope_t *envelope = lt_envelope_new();
    assert(envelope);
    lt_envelope_set_id(envelope, "01890a5d-ac96-774b-bcce-b302099a8057");
    lt_envelope_set_kind(envelope, LT_KIND_DOCUMENT);
    lt_envelope_set_key(envelope, "000.00.12.H26,2026/09/03,215/STTTT-VP");
    lt_envelope_set_btype(envelope, "new");
    lt_envelope_set_source(envelope, "dms");
    lt_envelope_set_sender(envelope, "000.00.12.H26");
    assert(lt_envelope_add_recipient(envelope, "000.00.00.G22") == 0);
    lt_envelope_set_created(envelope, 1788000000000);
    lt_envelope_set_payload_facts(envelope, "<edXML/>", 8);
    lt_envelope_set_signature(envelope, LT_SIG_VALID);
    return envelope;
}

//  A message of command id with every field it may carry set to a value
//  that is not zero, so that a lost field shows in the round trip.
static lt_ltp_t *s_test_sample(lt_ltp_id_t id)
{
    lt_ltp_t *self = lt_ltp_new(id);
    assert(self);
    uint32_t mask = s_commands[id].required | s_commands[id].optional;
    for (int f = 0; f < F_COUNT; f++) {
        if (!(mask & B(f)))
            continue;
        switch (s_fields[f].type) {
        case T_U32:
            *S_MEMBER(self, f, uint32_t) = UINT32_MAX - (uint32_t) f;
            break;
        case T_U64:
            *S_MEMBER(self, f, uint64_t) = UINT64_MAX - (uint64_t) f;
            break;
        case T_BOOL:
            *S_MEMBER(self, f, bool) = true;
            break;
        case T_STR:
            s_set_str(self, (s_field_t) f, "Sở Thông tin và Truyền thông");
            break;
        case T_ENVELOPE: {
            lt_envelope_t *envelope = s_test_envelope();
            lt_ltp_set_envelope(self, &envelope);
            assert(envelope == NULL);
            break;
        }
        case T_BIN:
            assert(lt_ltp_set_payload(self, "<edXML/>", 8) == 0);
            break;
        case T_ACKS:
            assert(lt_ltp_add_ack(self, UINT64_MAX, "01890a5d-ac96-774b-bcce-b302099a8057",
                                  true) == 0);
            assert(lt_ltp_add_ack(self, 7, "", false) == 0);
            break;
        case T_IDS:
            assert(lt_ltp_add_delivery(self, UINT64_MAX) == 0);
            assert(lt_ltp_add_delivery(self, 0) == 0);
            break;
        }
    }
    if (id == LT_LTP_BATCH)
        for (lt_ltp_id_t item = LT_LTP_PUBLISH; item <= LT_LTP_DONE; item++) {
            lt_ltp_t *msg = s_test_sample(item);
            assert(lt_ltp_batch_add(self, &msg) == 0 && msg == NULL);
        }
    return self;
}

//  Encode msg, check the frames, decode them and return the copy.
static lt_ltp_t *s_test_roundtrip(const lt_ltp_t *msg)
{
    zmsg_t *frames = lt_ltp_encode(msg);
    assert(frames);
    assert(zmsg_size(frames) == (msg->routing_id ? 3u : 2u));
    zframe_t *routing_id = msg->routing_id ? zmsg_pop(frames) : NULL;
    zframe_t *command = zmsg_first(frames);
    zframe_t *body = zmsg_next(frames);
    assert(zframe_streq(command, lt_ltp_command(msg)));
    lt_err_t err;
    lt_ltp_t *copy = lt_ltp_decode(zframe_data(command), zframe_size(command),
                                   zframe_data(body), zframe_size(body), 0, &err);
    assert(copy);
    assert(err.code == LT_OK);
    lt_ltp_set_routing_id(copy, routing_id);
    zframe_destroy(&routing_id);
    zmsg_destroy(&frames);
    return copy;
}

//  Decode a body for command id; NULL with err on failure.
static lt_ltp_t *s_test_decode(lt_ltp_id_t id, const void *body, size_t size, lt_err_t *err)
{
    const char *name = lt_ltp_id_name(id);
    return lt_ltp_decode(name, strlen(name), body, size, 0, err);
}

//  Decode a body built in sbuf for command id, then reset sbuf.
static lt_ltp_t *s_test_decode_sbuf(lt_ltp_id_t id, msgpack_sbuffer *sbuf, lt_err_t *err)
{
    lt_ltp_t *self = s_test_decode(id, sbuf->data, sbuf->size, err);
    msgpack_sbuffer_clear(sbuf);
    return self;
}

//  Assert that decoding fails with code and a detail containing text.
static void s_test_refused(lt_ltp_t *self, const lt_err_t *err, lt_error_t code,
                           const char *text)
{
    if (self || err->code != code || !strstr(err->detail, text))
        fprintf(stderr, "lt_ltp_test: expected %s '%s', got %s '%s'\n", lt_error_name(code),
                text, lt_error_name(err->code), err->detail);
    assert(self == NULL);
    assert(err->code == code);
    assert(strstr(err->detail, text));
}

static void s_test_pack_str(msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body(pk, text, strlen(text));
}

//  Bad values put in place of a field by the mistyped-field tests.
typedef enum {
    V_NEGATIVE, V_OVER_U32, V_TEXT, V_INT, V_LONG_NAME, V_NUL, V_FLOAT, V_NIL, V_LONG_REASON,
    V_ARRAY, V_BAD_ENVELOPE, V_TRUE, V_ACK_MSGID, V_ACK_DUPLICATE, V_ACK_SEQ, V_ID_NEGATIVE,
    V_TOO_MANY,
} s_bad_t;

static void s_test_pack_bad(msgpack_packer *pk, s_bad_t bad)
{
    char text[LT_LTP_MAX_REASON + 2];
    switch (bad) {
    case V_NEGATIVE:
        msgpack_pack_int64(pk, -1);
        break;
    case V_OVER_U32:
        msgpack_pack_uint64(pk, (uint64_t) UINT32_MAX + 1);
        break;
    case V_TEXT:
        s_test_pack_str(pk, "10");
        break;
    case V_INT:
        msgpack_pack_int(pk, 7);
        break;
    case V_LONG_NAME:
    case V_LONG_REASON: {
        size_t len = bad == V_LONG_NAME ? LT_LTP_MAX_NAME + 1 : LT_LTP_MAX_REASON + 1;
        memset(text, 'a', len);
        msgpack_pack_str_with_body(pk, text, len);
        break;
    }
    case V_NUL:
        msgpack_pack_str_with_body(pk, "a\0b", 3);
        break;
    case V_FLOAT:
        msgpack_pack_double(pk, 1.5);
        break;
    case V_NIL:
        msgpack_pack_nil(pk);
        break;
    case V_ARRAY:
        msgpack_pack_array(pk, 1);
        msgpack_pack_int(pk, 1);
        break;
    case V_BAD_ENVELOPE:
        msgpack_pack_map(pk, 1);
        s_test_pack_str(pk, "kind");
        s_test_pack_str(pk, "letter");
        break;
    case V_TRUE:
        msgpack_pack_true(pk);
        break;
    case V_ACK_MSGID:   //  the second entry's msgid is a number
    case V_ACK_DUPLICATE:   //  the first entry's duplicate is a number
    case V_ACK_SEQ:   //  the first entry's seq is negative
        msgpack_pack_array(pk, 2);
        msgpack_pack_array(pk, 3);
        bad == V_ACK_SEQ ? msgpack_pack_int64(pk, -1) : msgpack_pack_uint64(pk, 1);
        s_test_pack_str(pk, "a");
        bad == V_ACK_DUPLICATE ? msgpack_pack_int(pk, 1) : msgpack_pack_false(pk);
        msgpack_pack_array(pk, 3);
        msgpack_pack_uint64(pk, 2);
        bad == V_ACK_MSGID ? msgpack_pack_int(pk, 3) : s_test_pack_str(pk, "b");
        msgpack_pack_true(pk);
        break;
    case V_ID_NEGATIVE:
        msgpack_pack_array(pk, 2);
        msgpack_pack_uint64(pk, 1);
        msgpack_pack_int64(pk, -1);
        break;
    case V_TOO_MANY:
        msgpack_pack_array(pk, LT_LTP_MAX_BATCH + 1);
        for (int i = 0; i <= LT_LTP_MAX_BATCH; i++)
            msgpack_pack_uint64(pk, (uint64_t) i);
        break;
    }
}

//  Every mistyped, out-of-range or overlong field case, one per row.
static void s_test_mistyped(lt_ltp_t **samples)
{
    static const struct {
        lt_ltp_id_t id;      //  command
        s_field_t field;     //  field given a bad value
        s_bad_t bad;         //  the bad value
        lt_error_t code;     //  expected error
        const char *text;    //  expected in the detail
    } cases[] = {
        {LT_LTP_HELLO, F_VERSION, V_NEGATIVE, LT_EFIELD, "HELLO: field 'version' is out of range"},
        {LT_LTP_HELLO, F_CREDIT, V_OVER_U32, LT_EFIELD, "HELLO: field 'credit' is out of range"},
        {LT_LTP_HELLO, F_CREDIT, V_TEXT, LT_EFIELD, "'credit' must be an unsigned integer"},
        {LT_LTP_HELLO, F_NAME, V_INT, LT_EFIELD, "HELLO: field 'name' must be a string"},
        {LT_LTP_HELLO, F_NAME, V_LONG_NAME, LT_EFIELD, "'name' is longer than 64 bytes"},
        {LT_LTP_HELLO, F_KIND, V_NUL, LT_EFIELD, "HELLO: field 'kind' contains a NUL byte"},
        {LT_LTP_WELCOME, F_HEARTBEAT, V_FLOAT, LT_EFIELD, "'heartbeat' must be an unsigned"},
        {LT_LTP_WELCOME, F_MAX_FRAME, V_OVER_U32, LT_EFIELD, "'max_frame' is out of range"},
        {LT_LTP_PUBLISH, F_SEQ, V_NEGATIVE, LT_EFIELD, "PUBLISH: field 'seq' is out of range"},
        {LT_LTP_PUBLISH, F_SEQ, V_FLOAT, LT_EFIELD, "PUBLISH: field 'seq' must be an unsigned"},
        {LT_LTP_PUBLISH, F_ENVELOPE, V_ARRAY, LT_EFIELD, "PUBLISH: envelope: must be a msgpack"},
        {LT_LTP_PUBLISH, F_ENVELOPE, V_BAD_ENVELOPE, LT_EFIELD,
         "PUBLISH: envelope: field 'kind' has unknown value 'letter'"},
        {LT_LTP_PUBLISH, F_PAYLOAD, V_TEXT, LT_EFIELD, "PUBLISH: field 'payload' must be binary"},
        {LT_LTP_ACCEPTED, F_MSGID, V_NIL, LT_EFIELD, "ACCEPTED: field 'msgid' must be a string"},
        {LT_LTP_ACCEPTED, F_DUPLICATE, V_INT, LT_EFIELD, "'duplicate' must be a boolean"},
        {LT_LTP_ACCEPTED, F_ACKS, V_TEXT, LT_EFIELD, "ACCEPTED: field 'acks' must be an array"},
        {LT_LTP_ACCEPTED, F_ACKS, V_ARRAY, LT_EFIELD,
         "field 'acks' entry 0 must be an array [seq, msgid, duplicate]"},
        {LT_LTP_ACCEPTED, F_ACKS, V_ACK_MSGID, LT_EFIELD, "'acks' entry 1: msgid must be a string"},
        {LT_LTP_ACCEPTED, F_ACKS, V_ACK_DUPLICATE, LT_EFIELD,
         "'acks' entry 0: duplicate must be a boolean"},
        {LT_LTP_ACCEPTED, F_ACKS, V_ACK_SEQ, LT_EFIELD, "'acks' entry 0: seq must be an unsigned"},
        {LT_LTP_ACCEPTED, F_ACKS, V_TOO_MANY, LT_EFIELD,
         "ACCEPTED: field 'acks' has 4097 entries, more than 4096"},
        {LT_LTP_DONE, F_DELIVERIES, V_ID_NEGATIVE, LT_EFIELD,
         "DONE: field 'deliveries' entry 1 must be an unsigned integer"},
        {LT_LTP_DONE, F_DELIVERIES, V_TOO_MANY, LT_EFIELD,
         "DONE: field 'deliveries' has 4097 entries, more than 4096"},
        {LT_LTP_HELLO, F_BATCH, V_INT, LT_EFIELD, "HELLO: field 'batch' must be a boolean"},
        {LT_LTP_REJECTED, F_REASON, V_LONG_REASON, LT_EFIELD, "'reason' is longer than 1024"},
        {LT_LTP_REJECTED, F_CODE, V_NIL, LT_EFIELD, "REJECTED: field 'code' must be"},
        {LT_LTP_DELIVER, F_DELIVERY, V_TRUE, LT_EFIELD, "DELIVER: field 'delivery' must be"},
        {LT_LTP_DELIVER, F_ATTEMPT, V_NEGATIVE, LT_EFIELD, "DELIVER: field 'attempt' is out"},
        {LT_LTP_RETRY, F_DELAY, V_NEGATIVE, LT_EFIELD, "RETRY: field 'delay' is out of range"},
        {LT_LTP_FAIL, F_REASON, V_NUL, LT_EFIELD, "FAIL: field 'reason' contains a NUL byte"},
        {LT_LTP_CREDIT, F_CREDIT, V_ARRAY, LT_EFIELD, "CREDIT: field 'credit' must be"},
        {LT_LTP_ERROR, F_CODE, V_OVER_U32, LT_EFIELD, "ERROR: field 'code' is out of range"},
    };
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    lt_err_t err;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const lt_ltp_t *sample = samples[cases[i].id];
        uint32_t mask = s_wire_mask(sample) & ~B(cases[i].field);
        assert(s_pack_body(sample, mask, 1, &pk) == 0);
        s_test_pack_str(&pk, s_fields[cases[i].field].key);
        s_test_pack_bad(&pk, cases[i].bad);
        lt_ltp_t *self = s_test_decode_sbuf(cases[i].id, &sbuf, &err);
        s_test_refused(self, &err, cases[i].code, cases[i].text);
    }
    msgpack_sbuffer_destroy(&sbuf);
}

//  Bodies that are not well-formed, each refused with EPROTO.
static void s_test_malformed(const lt_ltp_t *publish)
{
    lt_err_t err;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);

    //  Truncated at every cut, then with a trailing byte.
    zframe_t *body = s_encode_body(publish, s_wire_mask(publish));
    assert(body);
    size_t size = zframe_size(body);
    for (size_t cut = 0; cut < size; cut++) {
        lt_ltp_t *self = s_test_decode(LT_LTP_PUBLISH, zframe_data(body), cut, &err);
        s_test_refused(self, &err, LT_EPROTO, "PUBLISH: ");
    }
    uint8_t *longer = malloc(size + 1);
    assert(longer);
    memcpy(longer, zframe_data(body), size);
    longer[size] = 0xc0;
    s_test_refused(s_test_decode(LT_LTP_PUBLISH, longer, size + 1, &err), &err, LT_EPROTO,
                   "PUBLISH: 1 trailing bytes");
    free(longer);

    //  Over the frame limit, refused before any unpacking; at the limit, taken.
    lt_ltp_t *self = lt_ltp_decode("PUBLISH", 7, zframe_data(body), size, size - 1, &err);
    s_test_refused(self, &err, LT_ETOOBIG, "over the");
    self = lt_ltp_decode("PUBLISH", 7, zframe_data(body), size, size, &err);
    assert(self && lt_ltp_eq(self, publish));
    lt_ltp_destroy(&self);
    zframe_destroy(&body);

    //  Not a map.
    s_test_refused(s_test_decode(LT_LTP_PING, "\x91\x01", 2, &err), &err, LT_EPROTO,
                   "PING: body is not a msgpack map");
    s_test_refused(s_test_decode(LT_LTP_PING, "\x01", 1, &err), &err, LT_EPROTO, "not a msgpack");
    s_test_refused(s_test_decode(LT_LTP_PING, "", 0, &err), &err, LT_EPROTO, "empty body");
    s_test_refused(s_test_decode(LT_LTP_PING, "\xc1", 1, &err), &err, LT_EPROTO, "0xc1");

    //  Keys that are not strings, repeated, or too many.
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    s_test_refused(s_test_decode_sbuf(LT_LTP_PING, &sbuf, &err), &err, LT_EPROTO,
                   "PING: body map key 0 is not a string");
    assert(s_pack_body(publish, s_wire_mask(publish), 1, &pk) == 0);
    s_test_pack_str(&pk, "seq");
    msgpack_pack_uint64(&pk, 1);
    s_test_refused(s_test_decode_sbuf(LT_LTP_PUBLISH, &sbuf, &err), &err, LT_EPROTO,
                   "PUBLISH: duplicate key 'seq'");
    msgpack_pack_map(&pk, 3);
    s_test_pack_str(&pk, "future");
    msgpack_pack_nil(&pk);
    s_test_pack_str(&pk, "credit");   //  known, not PING's: still may not repeat
    msgpack_pack_nil(&pk);
    s_test_pack_str(&pk, "future");
    msgpack_pack_nil(&pk);
    s_test_refused(s_test_decode_sbuf(LT_LTP_PING, &sbuf, &err), &err, LT_EPROTO,
                   "duplicate key 'future'");
    msgpack_pack_map(&pk, 2);
    s_test_pack_str(&pk, "credit");
    msgpack_pack_nil(&pk);
    s_test_pack_str(&pk, "credit");
    msgpack_pack_nil(&pk);
    s_test_refused(s_test_decode_sbuf(LT_LTP_PING, &sbuf, &err), &err, LT_EPROTO,
                   "duplicate key 'credit'");
    //  Empty keys (msgpack-c may give them a NULL pointer) and empty strings.
    s_test_refused(s_test_decode(LT_LTP_PING, "\x82\xa0\x01\xa0\x02", 5, &err), &err, LT_EPROTO,
                   "duplicate key ''");
    lt_ltp_t *quiet = s_test_decode(LT_LTP_ERROR, "\x83\xa0\x01\xa4\x63ode\x01\xa6reason\xa0",
                                    17, &err);
    assert(quiet && lt_ltp_code(quiet) == 1 && strcmp(lt_ltp_reason(quiet), "") == 0);
    lt_ltp_destroy(&quiet);
    msgpack_pack_map(&pk, LT_LTP_MAX_KEYS + 1);
    for (int i = 0; i < LT_LTP_MAX_KEYS + 1; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        s_test_pack_str(&pk, key);
        msgpack_pack_nil(&pk);
    }
    s_test_refused(s_test_decode_sbuf(LT_LTP_PING, &sbuf, &err), &err, LT_EPROTO,
                   "more than 64");

    //  Containers, strings and binaries claiming far more than the body
    //  holds: refused by the pre-check, with no allocation sized from the
    //  claim (the Sanitize build would abort on one).
    static const struct {
        const char *bytes;   //  body
        size_t size;         //  its length
    } claims[] = {
        {"\xdf\xff\xff\xff\xff", 5},
        {"\xdd\xff\xff\xff\xff\x01", 6},
        {"\xdf\x0f\xff\xff\xff\xa1k\xc0", 8},
        {"\x81\xa8" "envelope" "\xdf\xff\xff\xff\xff", 15},
        {"\x81\xa8" "envelope" "\x81\xa2to\xdd\xff\xff\xff\xff\xa1x", 21},
        {"\x81\xa7" "payload" "\xc6\xff\xff\xff\xff\x00", 15},
        {"\x81\xa4name\xdb\xff\xff\xff\xff", 11},
        {"\x81\xa1x\xc9\xff\xff\xff\xff\x01", 9},
        {"\xde\xff\xff", 3},
    };
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
        s_test_refused(s_test_decode(LT_LTP_PUBLISH, claims[i].bytes, claims[i].size, &err),
                       &err, LT_EPROTO, "PUBLISH: body: ");

    //  More values than LT_LTP_MAX_VALUES, each plausible on its own.
    size_t many = LT_LTP_MAX_VALUES + 10;
    msgpack_pack_map(&pk, 1);
    s_test_pack_str(&pk, "future");
    msgpack_pack_array(&pk, many);
    for (size_t i = 0; i < many; i++)
        msgpack_pack_nil(&pk);
    s_test_refused(s_test_decode_sbuf(LT_LTP_PING, &sbuf, &err), &err, LT_EPROTO,
                   "more than 65536 msgpack values");

    //  Nesting deeper than msgpack-c's stack: refused, not crashed.
    msgpack_pack_map(&pk, 1);
    s_test_pack_str(&pk, "future");
    for (int i = 0; i < 200; i++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_nil(&pk);
    s_test_refused(s_test_decode_sbuf(LT_LTP_PING, &sbuf, &err), &err, LT_EPROTO, "PING: body");

    //  Every valid msgpack type passes the pre-check and ends where it should.
    msgpack_pack_array(&pk, 16);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_false(&pk);
    msgpack_pack_int(&pk, -3);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_uint16(&pk, 300);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_double(&pk, 2.5);
    s_test_pack_str(&pk, "a string longer than thirty-one bytes");
    msgpack_pack_bin_with_body(&pk, "\x00\x01", 2);
    msgpack_pack_ext_with_body(&pk, "x", 1, 1);
    msgpack_pack_ext_with_body(&pk, "0123456789abcdef", 16, 2);
    msgpack_pack_ext_with_body(&pk, "abc", 3, 3);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_array(&pk, 0);
    char big[300];
    memset(big, 'b', sizeof(big));
    msgpack_pack_str_with_body(&pk, big, sizeof(big));
    size_t end = 0;
    assert(lt_ltp_check_msgpack(sbuf.data, sbuf.size, 100, &end, &err) == 0);
    assert(end == sbuf.size);
    assert(lt_ltp_check_msgpack(sbuf.data, sbuf.size, 10, &end, &err) == -1);
    msgpack_sbuffer_destroy(&sbuf);
}

//  Send and receive over a real inproc DEALER/ROUTER pair.
//  A ROUTER bound to inproc endpoint and a DEALER connected to it, each
//  with a 2 s receive timeout.
static void s_test_pair(const char *endpoint, zsock_t **router, zsock_t **dealer)
{
    char bind[64], connect[64];
    snprintf(bind, sizeof(bind), "@inproc://%s", endpoint);
    snprintf(connect, sizeof(connect), ">inproc://%s", endpoint);
    *router = zsock_new_router(bind);
    *dealer = zsock_new_dealer(connect);
    assert(*router && *dealer);
    zsock_set_rcvtimeo(*router, 2000);
    zsock_set_rcvtimeo(*dealer, 2000);
}

static void s_test_sockets(bool verbose)
{
    zsock_t *router, *dealer;
    s_test_pair("lt_ltp_test", &router, &dealer);
    lt_err_t err;
    zframe_t *peer = NULL;

    //  HELLO up, WELCOME back by routing id.
    lt_ltp_t *hello = s_test_sample(LT_LTP_HELLO);
    lt_ltp_t *expect = s_test_sample(LT_LTP_HELLO);
    assert(lt_ltp_send(&hello, dealer) == 0);
    assert(hello == NULL);
    lt_ltp_t *got = lt_ltp_recv(router, 0, &err, &peer);
    assert(got && peer == NULL);
    assert(lt_ltp_routing_id(got));
    lt_ltp_set_routing_id(expect, lt_ltp_routing_id(got));
    assert(lt_ltp_eq(got, expect));
    lt_ltp_t *welcome = s_test_sample(LT_LTP_WELCOME);
    lt_ltp_set_routing_id(welcome, lt_ltp_routing_id(got));
    assert(lt_ltp_send(&welcome, router) == 0);
    lt_ltp_t *back = lt_ltp_recv(dealer, 0, &err, &peer);
    assert(back && lt_ltp_id(back) == LT_LTP_WELCOME && lt_ltp_routing_id(back) == NULL);
    lt_ltp_destroy(&back);
    lt_ltp_destroy(&expect);

    //  A large PUBLISH keeps its payload.
    lt_ltp_t *publish = s_test_sample(LT_LTP_PUBLISH);
    size_t size = 256 * 1024;
    uint8_t *payload = malloc(size);
    assert(payload);
    for (size_t i = 0; i < size; i++)
        payload[i] = (uint8_t) (i * 7);
    assert(lt_ltp_set_payload(publish, payload, size) == 0);
    assert(lt_ltp_send(&publish, dealer) == 0);
    back = lt_ltp_recv(router, 0, &err, &peer);
    assert(back && lt_ltp_payload_size(back) == size);
    assert(memcmp(lt_ltp_payload(back), payload, size) == 0);
    //  Its payload lies in the frame it came in: it can be sent on as it
    //  is, taken (as a copy of its own), replaced, and given a buffer.
    lt_ltp_t *copy = lt_ltp_new(LT_LTP_PUBLISH);
    assert(copy);
    lt_ltp_set_seq(copy, 99);
    lt_envelope_t *env = lt_envelope_dup(lt_ltp_envelope(back));
    lt_ltp_set_envelope(copy, &env);
    size_t taken_size = 0;
    uint8_t *taken = lt_ltp_take_payload(back, &taken_size);
    assert(taken && taken_size == size && memcmp(taken, payload, size) == 0);
    assert(lt_ltp_payload(back) == NULL && lt_ltp_payload_size(back) == 0);
    lt_ltp_give_payload(copy, &taken, taken_size);
    assert(taken == NULL && lt_ltp_payload_size(copy) == size);
    assert(lt_ltp_send(&copy, dealer) == 0);
    lt_ltp_destroy(&back);
    back = lt_ltp_recv(router, 0, &err, &peer);
    assert(back && lt_ltp_seq(back) == 99 && lt_ltp_payload_size(back) == size);
    assert(memcmp(lt_ltp_payload(back), payload, size) == 0);
    lt_ltp_set_routing_id(back, NULL);
    assert(lt_ltp_send(&back, dealer) == 0);   //  a lent payload goes out again
    back = lt_ltp_recv(router, 0, &err, &peer);
    assert(back && lt_ltp_payload_size(back) == size);
    assert(memcmp(lt_ltp_payload(back), payload, size) == 0);
    assert(lt_ltp_set_payload(back, "short", 5) == 0);   //  the frame is let go
    assert(lt_ltp_payload_size(back) == 5 && memcmp(lt_ltp_payload(back), "short", 5) == 0);
    uint8_t *none = NULL;
    lt_ltp_give_payload(back, &none, 0);
    assert(lt_ltp_payload(back) == NULL && lt_ltp_payload_size(back) == 0);
    lt_ltp_destroy(&back);

    //  The same over a smaller limit: refused, and the peer is handed out.
    publish = s_test_sample(LT_LTP_PUBLISH);
    assert(lt_ltp_set_payload(publish, payload, size) == 0);
    assert(lt_ltp_send(&publish, dealer) == 0);
    back = lt_ltp_recv(router, 1024, &err, &peer);
    s_test_refused(back, &err, LT_ETOOBIG, "PUBLISH: body of");
    assert(peer && zframe_eq(peer, lt_ltp_routing_id(got)));
    zframe_destroy(&peer);
    free(payload);

    //  An unknown command: recv gives the routing id, the broker answers ERROR.
    zmsg_t *raw = zmsg_new();
    zmsg_addstr(raw, "BOGUS");
    zmsg_addmem(raw, "\x80", 1);
    assert(zmsg_send(&raw, dealer) == 0);
    back = lt_ltp_recv(router, 0, &err, &peer);
    s_test_refused(back, &err, LT_ECOMMAND, "unknown command 'BOGUS'");
    assert(peer);
    lt_ltp_t *error = lt_ltp_new(LT_LTP_ERROR);
    assert(error);
    lt_ltp_set_routing_id(error, peer);
    zframe_destroy(&peer);
    lt_ltp_set_code(error, err.code);
    lt_ltp_set_reason(error, err.detail);
    assert(lt_ltp_send(&error, router) == 0);
    back = lt_ltp_recv(dealer, 0, &err, NULL);
    assert(back && lt_ltp_id(back) == LT_LTP_ERROR && lt_ltp_code(back) == LT_ECOMMAND);
    assert(strstr(lt_ltp_reason(back), "BOGUS"));
    lt_ltp_destroy(&back);

    //  Wrong frame counts, both ways.
    raw = zmsg_new();
    zmsg_addstr(raw, "PING");
    assert(zmsg_send(&raw, dealer) == 0);
    s_test_refused(lt_ltp_recv(router, 0, &err, &peer), &err, LT_EPROTO, "got 1");
    assert(peer);
    zframe_destroy(&peer);
    raw = zmsg_new();
    zmsg_addstr(raw, "PING");
    zmsg_addmem(raw, "\x80", 1);
    zmsg_addmem(raw, "\x80", 1);
    assert(zmsg_send(&raw, dealer) == 0);
    s_test_refused(lt_ltp_recv(router, 0, &err, NULL), &err, LT_EPROTO, "got 3");
    lt_ltp_t *ping = lt_ltp_new(LT_LTP_PING);
    lt_ltp_set_routing_id(ping, lt_ltp_routing_id(got));
    zmsg_t *frames = lt_ltp_encode(ping);
    zmsg_addstr(frames, "extra");
    assert(zmsg_send(&frames, router) == 0);
    s_test_refused(lt_ltp_recv(dealer, 0, &err, &peer), &err, LT_EPROTO, "got 3");
    assert(peer == NULL);   //  DEALER side: no routing id to hand out

    //  A ROUTER cannot send without a routing id; the message is still freed.
    lt_ltp_set_routing_id(ping, NULL);
    assert(lt_ltp_send(&ping, router) == -1);
    assert(ping == NULL);

    //  Nothing to receive: the receive timeout shows as ETIMEOUT.
    zsock_set_rcvtimeo(dealer, 20);
    s_test_refused(lt_ltp_recv(dealer, 0, &err, NULL), &err, LT_ETIMEOUT, "timeout");

    lt_ltp_destroy(&got);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    if (verbose)
        printf("sockets ");
}

//  Send the parts of one raw multipart message (count of them, each a
//  string of its size) on socket, the first as a ROUTER's routing id when
//  routing_id is given.
static void s_test_send_raw(zsock_t *socket, zframe_t *routing_id, const char *const *parts,
                            const size_t *sizes, size_t count)
{
    zmsg_t *raw = zmsg_new();
    assert(raw);
    if (routing_id)
        assert(zmsg_addmem(raw, zframe_data(routing_id), zframe_size(routing_id)) == 0);
    for (size_t i = 0; i < count; i++)
        assert(zmsg_addmem(raw, parts[i], sizes[i]) == 0);
    assert(zmsg_send(&raw, socket) == 0);
}

//  Read one message with lt_ltp_read, waiting (bounded) for it to come.
static int s_test_read_wait(zsock_t *socket, bool router, size_t max_frame,
                            lt_ltp_read_t *out, lt_err_t *err)
{
    zmq_pollitem_t item = {zsock_resolve(socket), 0, ZMQ_POLLIN, 0};
    assert(zmq_poll(&item, 1, 2000) == 1);
    return lt_ltp_read(socket, router, max_frame, out, err);
}

//  Each malformed (and one good) multipart message goes once through
//  lt_ltp_recv and once through lt_ltp_read, on both a ROUTER and a DEALER:
//  both take or refuse it alike, with the same code and reason.
//  BATCH: messages in one frame, each decoded as if alone; a bad one
//  refuses the whole frame and is named.
static void s_test_batch(bool verbose)
{
    lt_err_t err;
    static const struct {
        const char *body;    //  the BATCH body
        size_t size;         //  its bytes
        lt_error_t code;     //  expected (LT_OK: taken)
        const char *text;    //  expected in the detail
    } cases[] = {
        {S_NAME("\x92\xa4PING\x80"), LT_OK, ""},
        {S_NAME("\x80"), LT_EPROTO, "BATCH: body is not a msgpack array"},
        {S_NAME("\x90"), LT_EPROTO, "BATCH: array of 0 values"},
        {S_NAME("\x91\xa4PING"), LT_EPROTO, "BATCH: array of 1 values"},
        {S_NAME("\xdc\x20\x02"), LT_EPROTO, "BATCH: array of 8194 values"},
        {S_NAME("\x92\x01\x80"), LT_EPROTO, "BATCH: message 0: command name is not a string"},
        {S_NAME("\x92\xa9PING"), LT_EPROTO, "BATCH: message 0: command name is not a string"},
        {S_NAME("\x92\xa4PING\xc1"), LT_EPROTO, "BATCH: message 0: body:"},
        {S_NAME("\x94\xa4PING\x80"), LT_EPROTO, "BATCH: message 1: missing"},
        {S_NAME("\x92\xa4PING\x80\x00"), LT_EPROTO, "BATCH: 1 trailing bytes after its messages"},
        {S_NAME("\x92\xa5" "BATCH\x92\xa4PING\x80"), LT_EPROTO,
         "BATCH: message 0 is a BATCH (batches do not nest)"},
        {S_NAME("\x92\xa5" "BOGUS\x80"), LT_ECOMMAND, "BATCH: message 0: unknown command 'BOGUS'"},
        {S_NAME("\x94\xa4PING\x80\xa4" "DONE\x80"), LT_EFIELD,
         "BATCH: message 1: DONE: field 'delivery' is missing"},
        //  Command names in any msgpack string form.
        {S_NAME("\x92\xd9\x04PING\x80"), LT_OK, ""},
        {S_NAME("\x92\xda\x00\x04PING\x80"), LT_OK, ""},
        {S_NAME("\x92\xdb\x00\x00\x00\x04PING\x80"), LT_OK, ""},
        {S_NAME("\x92\xda\x00\x09PING\x80"), LT_EPROTO,
         "BATCH: message 0: command name is not a string"},
        {S_NAME("\x92\xdb\xff\xff\xff\xff"), LT_EPROTO,
         "BATCH: message 0: command name is not a string"},
        //  A session is opened by a HELLO alone.
        {S_NAME("\x92\xa5HELLO\x84\xa7version\x01\xa4name\xa1x\xa4kind\xa1x\xa6"
                "credit\x01"),
         LT_EPROTO, "BATCH: message 0 is a HELLO"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        lt_ltp_t *msg = lt_ltp_decode("BATCH", 5, cases[c].body, cases[c].size, 0, &err);
        if (cases[c].code == LT_OK) {
            assert(msg && lt_ltp_batch_count(msg) == 1);
            lt_ltp_t *ping = lt_ltp_batch_take(msg, 0);
            assert(ping && lt_ltp_id(ping) == LT_LTP_PING && !lt_ltp_batch_take(msg, 0));
            lt_ltp_destroy(&ping);
            lt_ltp_destroy(&msg);
        }
        else
            s_test_refused(msg, &err, cases[c].code, cases[c].text);
    }
    //  A BATCH does not take a BATCH, nor more than LT_LTP_MAX_BATCH messages.
    lt_ltp_t *batch = lt_ltp_new(LT_LTP_BATCH), *inner = lt_ltp_new(LT_LTP_BATCH);
    assert(lt_ltp_batch_add(batch, &inner) == -1 && inner);
    lt_ltp_destroy(&inner);
    for (int i = 0; i < LT_LTP_MAX_BATCH; i++) {
        lt_ltp_t *ping = lt_ltp_new(LT_LTP_PING);
        assert(lt_ltp_batch_add(batch, &ping) == 0);
    }
    lt_ltp_t *extra = lt_ltp_new(LT_LTP_PING);
    assert(lt_ltp_batch_add(batch, &extra) == -1 && extra);
    lt_ltp_destroy(&extra);
    lt_ltp_t *copy = s_test_roundtrip(batch);
    assert(lt_ltp_eq(copy, batch) && lt_ltp_batch_count(copy) == LT_LTP_MAX_BATCH);
    lt_ltp_destroy(&copy);
    lt_ltp_destroy(&batch);

    //  64 DONEs with full 'deliveries' (what a gathered BATCH may hold) are
    //  taken; one more entry refuses the whole BATCH, naming the message.
    batch = lt_ltp_new(LT_LTP_BATCH);
    for (int i = 0; i < LT_LTP_MAX_BATCH_ENTRIES / LT_LTP_MAX_BATCH; i++) {
        lt_ltp_t *done = lt_ltp_new(LT_LTP_DONE);
        lt_ltp_set_delivery(done, 1);
        for (int k = 0; k < LT_LTP_MAX_BATCH; k++)
            assert(lt_ltp_add_delivery(done, (uint64_t) k + 2) == 0);
        assert(lt_ltp_batch_add(batch, &done) == 0);
    }
    copy = s_test_roundtrip(batch);
    assert(lt_ltp_eq(copy, batch));
    lt_ltp_destroy(&copy);
    lt_ltp_t *over = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_set_delivery(over, 1);
    assert(lt_ltp_add_delivery(over, 2) == 0);
    assert(lt_ltp_batch_add(batch, &over) == 0);
    zmsg_t *frames = lt_ltp_encode(batch);
    assert(frames && zmsg_size(frames) == 2);
    zframe_t *body = zmsg_last(frames);
    copy = lt_ltp_decode("BATCH", 5, zframe_data(body), zframe_size(body), 0, &err);
    s_test_refused(copy, &err, LT_ETOOBIG, "BATCH: message 64: DONE: over 262144 'acks' and "
                                           "'deliveries' entries in one BATCH");
    zmsg_destroy(&frames);
    lt_ltp_destroy(&batch);

    //  Gathering: one message goes as itself, more as a BATCH; a large
    //  payload is left to go alone; the BATCH says when it is full.
    lt_ltp_t *gather = NULL, *ping = lt_ltp_new(LT_LTP_PING);
    assert(lt_ltp_gathered(&gather) == NULL);
    assert(lt_ltp_gather(&gather, &ping) == 0 && !ping && gather);
    lt_ltp_t *one = lt_ltp_gathered(&gather);
    assert(one && lt_ltp_id(one) == LT_LTP_PING && !gather);
    lt_ltp_destroy(&one);
    lt_ltp_t *big = lt_ltp_new(LT_LTP_PUBLISH);
    static uint8_t large[64 * 1024 + 1];
    assert(lt_ltp_set_payload(big, large, sizeof(large)) == 0);
    assert(lt_ltp_gather(&gather, &big) == -1 && big);
    lt_ltp_destroy(&big);
    int full = 0;
    for (int i = 0; i < LT_LTP_GATHER_COUNT; i++) {
        ping = lt_ltp_new(LT_LTP_PING);
        full = lt_ltp_gather(&gather, &ping);
        assert(full == (i == LT_LTP_GATHER_COUNT - 1));
    }
    one = lt_ltp_gathered(&gather);
    assert(one && lt_ltp_id(one) == LT_LTP_BATCH &&
           lt_ltp_batch_count(one) == LT_LTP_GATHER_COUNT);
    lt_ltp_destroy(&one);
    //  ... or when its payloads reach the bytes bound, whatever the count.
    uint8_t *chunk = calloc(1, LT_LTP_GATHER_BYTES / 16);
    assert(chunk);
    for (int i = 0; i < 16; i++) {
        lt_ltp_t *publish = lt_ltp_new(LT_LTP_PUBLISH);
        assert(lt_ltp_set_payload(publish, chunk, LT_LTP_GATHER_BYTES / 16) == 0);
        assert(lt_ltp_gather(&gather, &publish) == (i == 15));
    }
    free(chunk);
    one = lt_ltp_gathered(&gather);
    assert(one && lt_ltp_batch_count(one) == 16);
    lt_ltp_destroy(&one);

    //  Through sockets: payloads of the messages stay readable after the
    //  BATCH that brought them is gone (each holds its share of the frame).
    zsock_t *router, *dealer;
    s_test_pair("lt_ltp_test_batch", &router, &dealer);
    batch = lt_ltp_new(LT_LTP_BATCH);
    uint8_t payload[3000];
    for (int i = 0; i < 3; i++) {
        lt_ltp_t *publish = s_test_sample(LT_LTP_PUBLISH);
        lt_ltp_set_seq(publish, (uint64_t) i + 1);
        memset(payload, 'a' + i, sizeof(payload));
        assert(lt_ltp_set_payload(publish, payload, sizeof(payload) - (size_t) i) == 0);
        assert(lt_ltp_batch_add(batch, &publish) == 0);
    }
    assert(lt_ltp_batch_bytes(batch) == 3 * sizeof(payload) - 3);
    assert(lt_ltp_send(&batch, dealer) == 0 && !batch);
    lt_ltp_read_t in;
    assert(s_test_read_wait(router, true, 0, &in, &err) == 0);
    assert(in.msg && lt_ltp_id(in.msg) == LT_LTP_BATCH && lt_ltp_batch_count(in.msg) == 3);
    lt_ltp_t *got[3];
    for (size_t i = 0; i < 3; i++)
        got[i] = lt_ltp_batch_take(in.msg, i);
    lt_ltp_destroy(&in.msg);
    zframe_destroy(&in.routing_id);
    for (int i = 0; i < 3; i++) {
        assert(lt_ltp_id(got[i]) == LT_LTP_PUBLISH && lt_ltp_seq(got[i]) == (uint64_t) i + 1);
        memset(payload, 'a' + i, sizeof(payload));
        assert(lt_ltp_payload_size(got[i]) == sizeof(payload) - (size_t) i);
        assert(memcmp(lt_ltp_payload(got[i]), payload, sizeof(payload) - (size_t) i) == 0);
        size_t size = 0;
        uint8_t *taken = lt_ltp_take_payload(got[i], &size);
        assert(taken && size == sizeof(payload) - (size_t) i && taken[0] == 'a' + i);
        free(taken);
        lt_ltp_destroy(&got[i]);
    }
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    if (verbose)
        printf("batch ");
}

static void s_test_both_paths(bool verbose)
{
    zsock_t *router, *dealer;
    s_test_pair("lt_ltp_test_paths", &router, &dealer);
    //  Learn the dealer's routing id for the way down.
    const char *ping_parts[] = {"PING", "\x80"};
    const size_t ping_sizes[] = {4, 1};
    s_test_send_raw(dealer, NULL, ping_parts, ping_sizes, 2);
    lt_err_t err;
    lt_ltp_t *first = lt_ltp_recv(router, 0, &err, NULL);
    assert(first && lt_ltp_routing_id(first));
    zframe_t *peer_id = zframe_dup(lt_ltp_routing_id(first));
    lt_ltp_destroy(&first);

    //  A body with bytes after its map, and one that is not msgpack at all.
    static const char trailing[] = {'\x80', '\x00'};
    static const char bad_pack[] = {'\xc1'};
    char big[2048];
    memset(big, 0, sizeof(big));
    big[0] = '\x80';
    struct {
        const char *parts[5];   //  the frames after any routing id
        size_t sizes[5];        //  their sizes
        size_t count;           //  how many
        size_t max_frame;       //  the limit given to the reader
        lt_error_t code;        //  what both readers say (LT_OK: taken)
    } cases[] = {
        {{"PING", "\x80"}, {4, 1}, 2, 0, LT_OK},
        {{"PING"}, {4}, 1, 0, LT_EPROTO},
        {{""}, {0}, 1, 0, LT_EPROTO},
        {{"PING", "\x80", "\x80"}, {4, 1, 1}, 3, 0, LT_EPROTO},
        {{"PING", "\x80", "x", "y", "z"}, {4, 1, 1, 1, 1}, 5, 0, LT_EPROTO},
        {{"BOGUS", "\x80"}, {5, 1}, 2, 0, LT_ECOMMAND},
        {{"", "\x80"}, {0, 1}, 2, 0, LT_ECOMMAND},
        {{"PING", ""}, {4, 0}, 2, 0, LT_EPROTO},
        {{"PING", trailing}, {4, sizeof(trailing)}, 2, 0, LT_EPROTO},
        {{"PING", bad_pack}, {4, sizeof(bad_pack)}, 2, 0, LT_EPROTO},
        {{"PING", big}, {4, sizeof(big)}, 2, 1024, LT_ETOOBIG},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int side = 0; side < 2; side++) {
            bool up = side == 0;   //  dealer to router, else router to dealer
            zsock_t *from = up ? dealer : router;
            zsock_t *to = up ? router : dealer;
            zframe_t *down_id = up ? NULL : peer_id;
            s_test_send_raw(from, down_id, cases[c].parts, cases[c].sizes, cases[c].count);
            s_test_send_raw(from, down_id, cases[c].parts, cases[c].sizes, cases[c].count);
            lt_err_t recv_err, read_err;
            zframe_t *recv_peer = NULL;
            lt_ltp_t *by_recv = lt_ltp_recv(to, cases[c].max_frame, &recv_err, &recv_peer);
            lt_ltp_read_t by_read;
            assert(s_test_read_wait(to, up, cases[c].max_frame, &by_read, &read_err) == 0);
            if (recv_err.code != read_err.code || strcmp(recv_err.detail, read_err.detail))
                fprintf(stderr, "lt_ltp_test: case %zu: recv '%s', read '%s'\n", c,
                        recv_err.detail, read_err.detail);
            assert(!by_recv == !by_read.msg);
            assert(recv_err.code == read_err.code);
            assert(strcmp(recv_err.detail, read_err.detail) == 0);
            assert(recv_err.code == cases[c].code);
            if (up) {
                //  The sender is named on both paths: in the message, or to
                //  answer ERROR.
                zframe_t *recv_id = by_recv ? lt_ltp_routing_id(by_recv) : recv_peer;
                assert(recv_id && zframe_eq(recv_id, peer_id));
                assert(by_read.routing_id && zframe_eq(by_read.routing_id, peer_id));
            }
            else
                assert(!recv_peer && !by_read.routing_id);
            if (by_recv) {
                lt_ltp_set_routing_id(by_recv, NULL);
                assert(lt_ltp_eq(by_recv, by_read.msg));
            }
            zframe_destroy(&recv_peer);
            zframe_destroy(&by_read.routing_id);
            lt_ltp_destroy(&by_read.msg);
            lt_ltp_destroy(&by_recv);
        }
    }
    //  Nothing waiting: recv times out, read says none.
    zsock_set_rcvtimeo(dealer, 20);
    s_test_refused(lt_ltp_recv(dealer, 0, &err, NULL), &err, LT_ETIMEOUT, "timeout");
    lt_ltp_read_t none;
    assert(lt_ltp_read(dealer, false, 0, &none, &err) == -1 && !none.msg);

    zframe_destroy(&peer_id);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    if (verbose)
        printf("paths ");
}

void lt_ltp_test(bool verbose)
{
    if (verbose)
        printf(" * lt_ltp: ");
    lt_err_t err;

    //  The tables agree with the enum and every command is named.
    assert(strcmp(lt_ltp_id_name(LT_LTP_DELIVER), "DELIVER") == 0);
    assert(strcmp(lt_ltp_id_name(LT_LTP_COUNT), "UNKNOWN") == 0);
    for (int id = LT_LTP_NONE + 1; id < LT_LTP_COUNT; id++) {
        const char *name = lt_ltp_id_name((lt_ltp_id_t) id);
        assert(strlen(name) <= LT_LTP_MAX_COMMAND);
        assert(lt_ltp_id_from_name(name, strlen(name)) == (lt_ltp_id_t) id);
        assert((s_commands[id].required & s_commands[id].optional) == 0);
    }
    assert(lt_ltp_id_from_name("NONE", 4) == LT_LTP_NONE);
    assert(lt_ltp_id_from_name("HELL", 4) == LT_LTP_NONE);
    assert(lt_ltp_id_from_name(NULL, 0) == LT_LTP_NONE);
    assert(F_COUNT <= 32);

    //  Round trip of every command, with and without its optional fields,
    //  and with a routing id.
    lt_ltp_t *samples[LT_LTP_COUNT] = {NULL};
    for (int id = LT_LTP_NONE + 1; id < LT_LTP_COUNT; id++) {
        samples[id] = s_test_sample((lt_ltp_id_t) id);
        lt_ltp_t *copy = s_test_roundtrip(samples[id]);
        assert(lt_ltp_eq(copy, samples[id]));
        lt_ltp_destroy(&copy);
        lt_ltp_t *bare = s_test_sample((lt_ltp_id_t) id);
        uint32_t optional = s_commands[id].optional;
        lt_ltp_set_duplicate(bare, false);
        lt_ltp_set_delay(bare, 0);
        lt_ltp_set_stats(bare, NULL);
        lt_ltp_set_batch(bare, false);
        bare->ack_count = 0;
        bare->id_count = 0;
        assert((s_wire_mask(bare) & optional) == 0);
        copy = s_test_roundtrip(bare);
        assert(lt_ltp_eq(copy, bare));
        assert(!lt_ltp_eq(copy, samples[id]) || optional == 0);
        lt_ltp_destroy(&copy);
        lt_ltp_destroy(&bare);
    }
    zframe_t *routing_id = zframe_new("\x00\x6b\x8b\x45\x67", 5);
    lt_ltp_t *routed = s_test_sample(LT_LTP_DELIVER);
    lt_ltp_set_routing_id(routed, routing_id);
    zframe_destroy(&routing_id);
    lt_ltp_t *copy = s_test_roundtrip(routed);
    assert(lt_ltp_eq(copy, routed));
    assert(!lt_ltp_eq(copy, samples[LT_LTP_DELIVER]));   //  routing ids differ
    lt_ltp_destroy(&copy);
    lt_ltp_destroy(&routed);

    //  A PUBLISH that borrows its envelope and payload goes on the wire as
    //  one that owns copies of them, and leaves both to their owner (a
    //  sanitizer build sees a double free otherwise); what is taken from
    //  it is a copy, and setting either drops both.
    const lt_ltp_t *owning = samples[LT_LTP_PUBLISH];
    lt_ltp_t *borrowing = lt_ltp_new(LT_LTP_PUBLISH);
    lt_ltp_set_seq(borrowing, lt_ltp_seq(owning));
    lt_ltp_borrow(borrowing, lt_ltp_envelope(owning), lt_ltp_payload(owning),
                  lt_ltp_payload_size(owning));
    assert(lt_ltp_eq(borrowing, owning));
    copy = s_test_roundtrip(borrowing);
    assert(lt_ltp_eq(copy, owning));
    lt_ltp_destroy(&copy);
    lt_envelope_t *taken = lt_ltp_take_envelope(borrowing);
    assert(taken && taken != lt_ltp_envelope(owning) && lt_ltp_envelope(borrowing) ==
           lt_ltp_envelope(owning));
    lt_envelope_destroy(&taken);
    size_t taken_size = 0;
    uint8_t *taken_payload = lt_ltp_take_payload(borrowing, &taken_size);
    assert(taken_payload && taken_payload != lt_ltp_payload(owning) &&
           taken_size == lt_ltp_payload_size(owning) &&
           memcmp(taken_payload, lt_ltp_payload(owning), taken_size) == 0);
    free(taken_payload);
    assert(lt_ltp_payload_size(borrowing) == 0);
    lt_ltp_borrow(borrowing, lt_ltp_envelope(owning), lt_ltp_payload(owning),
                  lt_ltp_payload_size(owning));
    assert(lt_ltp_set_payload(borrowing, "own", 3) == 0);
    assert(!lt_ltp_envelope(borrowing) && lt_ltp_payload_size(borrowing) == 3);
    lt_ltp_borrow(borrowing, lt_ltp_envelope(owning), NULL, 0);
    lt_envelope_t *own = lt_envelope_dup(lt_ltp_envelope(owning));
    lt_ltp_set_envelope(borrowing, &own);
    assert(!own && lt_ltp_envelope(borrowing) != lt_ltp_envelope(owning));
    lt_ltp_destroy(&borrowing);
    assert(lt_ltp_eq(samples[LT_LTP_PUBLISH], owning));   //  the owner's are whole

    //  A DELIVER whose envelope is set as packed bytes (what the store
    //  keeps) goes on the wire byte for byte as one set decoded, alone and
    //  in a BATCH; the getter decodes it; bytes that are not exactly one
    //  msgpack map are refused and left to the caller.
    const lt_ltp_t *decoded = samples[LT_LTP_DELIVER];
    lt_ltp_t *packed = lt_ltp_new(LT_LTP_DELIVER);
    lt_ltp_set_delivery(packed, lt_ltp_delivery(decoded));
    lt_ltp_set_attempt(packed, lt_ltp_attempt(decoded));
    assert(lt_ltp_set_payload(packed, lt_ltp_payload(decoded), lt_ltp_payload_size(decoded)) ==
           0);
    uint8_t *bytes = NULL;
    size_t bytes_size = 0;
    assert(lt_envelope_encode(lt_ltp_envelope(decoded), &bytes, &bytes_size) == 0);
    uint8_t *spoilt = malloc(bytes_size + 1);
    assert(spoilt);
    memcpy(spoilt, bytes, bytes_size);
    spoilt[bytes_size] = 0xc0;   //  a nil after the map
    assert(lt_ltp_set_envelope_packed(packed, &spoilt, bytes_size + 1) == -1 && spoilt);
    assert(lt_ltp_set_envelope_packed(packed, &spoilt, bytes_size - 1) == -1 && spoilt);
    spoilt[0] = 0x91;   //  an array, not a map
    assert(lt_ltp_set_envelope_packed(packed, &spoilt, bytes_size) == -1 && spoilt);
    free(spoilt);
    assert(lt_ltp_set_envelope_packed(packed, &bytes, bytes_size) == 0 && !bytes);
    for (int batched = 0; batched < 2; batched++) {
        lt_ltp_t *one = packed, *other = (lt_ltp_t *) decoded;
        lt_ltp_t *batch_a = NULL, *batch_b = NULL;
        if (batched) {   //  each in a BATCH after a copy of the other kind
            lt_ltp_t *a1 = s_test_roundtrip(decoded), *b1 = s_test_roundtrip(decoded);
            lt_ltp_t *a2 = packed, *b2 = s_test_roundtrip(decoded);
            batch_a = lt_ltp_new(LT_LTP_BATCH);
            batch_b = lt_ltp_new(LT_LTP_BATCH);
            assert(lt_ltp_batch_add(batch_a, &a1) == 0 && lt_ltp_batch_add(batch_a, &a2) == 0);
            assert(lt_ltp_batch_add(batch_b, &b1) == 0 && lt_ltp_batch_add(batch_b, &b2) == 0);
            one = batch_a, other = batch_b;
        }
        zmsg_t *wire_a = lt_ltp_encode(one), *wire_b = lt_ltp_encode(other);
        assert(wire_a && wire_b && zmsg_size(wire_a) == zmsg_size(wire_b));
        for (zframe_t *fa = zmsg_first(wire_a), *fb = zmsg_first(wire_b); fa;
             fa = zmsg_next(wire_a), fb = zmsg_next(wire_b))
            assert(zframe_eq(fa, fb));
        zmsg_destroy(&wire_a);
        zmsg_destroy(&wire_b);
        if (batched) {
            packed = lt_ltp_batch_take(batch_a, 1);   //  back out for the checks below
            lt_ltp_destroy(&batch_a);
            lt_ltp_destroy(&batch_b);
        }
    }
    assert(lt_envelope_eq(lt_ltp_envelope(packed), lt_ltp_envelope(decoded)));
    assert(lt_ltp_eq(packed, decoded));
    lt_envelope_t *replaced = lt_envelope_dup(lt_ltp_envelope(decoded));
    lt_envelope_set_key(replaced, "another");
    lt_ltp_set_envelope(packed, &replaced);   //  drops the packed bytes
    copy = s_test_roundtrip(packed);
    assert(streq(lt_envelope_key(lt_ltp_envelope(copy)), "another"));
    lt_ltp_destroy(&copy);
    lt_ltp_destroy(&packed);

    //  Batched acknowledgements: entries come back in order, and the
    //  lists stop at LT_LTP_MAX_BATCH entries.
    copy = s_test_roundtrip(samples[LT_LTP_ACCEPTED]);
    assert(lt_ltp_ack_count(copy) == 2);
    assert(lt_ltp_ack(copy, 0)->seq == UINT64_MAX && lt_ltp_ack(copy, 0)->duplicate);
    assert(streq(lt_ltp_ack(copy, 0)->msgid, "01890a5d-ac96-774b-bcce-b302099a8057"));
    assert(lt_ltp_ack(copy, 1)->seq == 7 && !lt_ltp_ack(copy, 1)->duplicate);
    assert(streq(lt_ltp_ack(copy, 1)->msgid, ""));
    lt_ltp_destroy(&copy);
    copy = s_test_roundtrip(samples[LT_LTP_DONE]);
    assert(lt_ltp_delivery_count(copy) == 2);
    assert(lt_ltp_delivery_at(copy, 0) == UINT64_MAX && lt_ltp_delivery_at(copy, 1) == 0);
    assert(lt_ltp_batch(samples[LT_LTP_HELLO]) && lt_ltp_batch(samples[LT_LTP_WELCOME]));
    lt_ltp_destroy(&copy);
    lt_ltp_t *full = lt_ltp_new(LT_LTP_DONE);
    lt_ltp_t *acks = lt_ltp_new(LT_LTP_ACCEPTED);
    char long_id[LT_LTP_MAX_NAME + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = 0;
    assert(lt_ltp_add_ack(acks, 1, long_id, false) == -1 && lt_ltp_ack_count(acks) == 0);
    for (int i = 0; i < LT_LTP_MAX_BATCH; i++) {
        assert(lt_ltp_add_delivery(full, (uint64_t) i) == 0);
        assert(lt_ltp_add_ack(acks, (uint64_t) i, "01890a5d-ac96-774b-bcce-b302099a8057",
                              i % 2) == 0);
    }
    assert(lt_ltp_add_delivery(full, 1) == -1 && lt_ltp_add_ack(acks, 1, "x", false) == -1);
    copy = s_test_roundtrip(full);
    assert(lt_ltp_eq(copy, full) && lt_ltp_delivery_count(copy) == LT_LTP_MAX_BATCH);
    lt_ltp_destroy(&copy);
    copy = s_test_roundtrip(acks);
    assert(lt_ltp_eq(copy, acks) && lt_ltp_ack(copy, LT_LTP_MAX_BATCH - 1)->duplicate);
    lt_ltp_destroy(&copy);
    lt_ltp_destroy(&full);
    lt_ltp_destroy(&acks);

    //  A PUBLISH with no payload and no envelope set still round-trips.
    lt_ltp_t *empty = lt_ltp_new(LT_LTP_PUBLISH);
    assert(empty);
    copy = s_test_roundtrip(empty);
    assert(lt_ltp_eq(copy, empty) && lt_ltp_payload_size(copy) == 0);
    assert(lt_ltp_envelope(copy) != NULL);
    lt_ltp_destroy(&copy);
    lt_ltp_destroy(&empty);

    //  Unknown keys and keys of other commands are ignored.
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    const lt_ltp_t *publish = samples[LT_LTP_PUBLISH];
    assert(s_pack_body(publish, s_wire_mask(publish), 2, &pk) == 0);
    s_test_pack_str(&pk, "future");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_nil(&pk);
    s_test_pack_str(&pk, "credit");
    s_test_pack_str(&pk, "not even a number");
    copy = s_test_decode_sbuf(LT_LTP_PUBLISH, &sbuf, &err);
    assert(copy && lt_ltp_eq(copy, publish) && lt_ltp_credit(copy) == 0);
    lt_ltp_destroy(&copy);

    //  Unknown commands.
    s_test_refused(lt_ltp_decode("HELLOX", 6, "\x80", 1, 0, &err), &err, LT_ECOMMAND,
                   "unknown command 'HELLOX'");
    s_test_refused(lt_ltp_decode("hello", 5, "\x80", 1, 0, &err), &err, LT_ECOMMAND, "'hello'");
    s_test_refused(lt_ltp_decode("", 0, "\x80", 1, 0, &err), &err, LT_ECOMMAND, "''");
    s_test_refused(lt_ltp_decode(NULL, 0, "\x80", 1, 0, &err), &err, LT_ECOMMAND, "''");
    s_test_refused(lt_ltp_decode("P\x00NG\xff", 5, "\x80", 1, 0, &err), &err, LT_ECOMMAND,
                   "'P?NG?'");
    char longname[100];
    memset(longname, 'X', sizeof(longname));
    s_test_refused(lt_ltp_decode(longname, sizeof(longname), "\x80", 1, 0, &err), &err,
                   LT_ECOMMAND, "XXX...'");

    //  Each required field of each command, left out, is named as missing.
    for (int id = LT_LTP_NONE + 1; id < LT_LTP_COUNT; id++) {
        uint32_t required = s_commands[id].required;
        for (int f = 0; f < F_COUNT; f++) {
            if (!(required & B(f)))
                continue;
            zframe_t *body = s_encode_body(samples[id], s_wire_mask(samples[id]) & ~B(f));
            assert(body);
            char text[64];
            snprintf(text, sizeof(text), "%s: field '%s' is missing", s_commands[id].name,
                     s_fields[f].key);
            s_test_refused(s_test_decode((lt_ltp_id_t) id, zframe_data(body), zframe_size(body),
                                         &err),
                           &err, LT_EFIELD, text);
            zframe_destroy(&body);
        }
    }
    s_test_mistyped(samples);
    s_test_malformed(samples[LT_LTP_PUBLISH]);

    //  Setters cut strings to the wire limit on a character boundary.
    lt_ltp_t *msg = lt_ltp_new(LT_LTP_REJECTED);
    assert(msg && lt_ltp_version(msg) == LT_LTP_VERSION);
    char reason[LT_LTP_MAX_REASON + 8];
    memset(reason, 'a', LT_LTP_MAX_REASON - 1);
    snprintf(reason + LT_LTP_MAX_REASON - 1, 9, "\xe1\xbb\x87 tail");   //  "ệ tail"
    lt_ltp_set_reason(msg, reason);
    assert(strlen(lt_ltp_reason(msg)) == LT_LTP_MAX_REASON - 1);
    lt_ltp_set_name(msg, reason);
    assert(strlen(lt_ltp_name(msg)) == LT_LTP_MAX_NAME);
    copy = s_test_roundtrip(msg);
    assert(lt_ltp_eq(copy, msg));
    lt_ltp_destroy(&copy);
    lt_ltp_set_reason(msg, NULL);
    assert(strcmp(lt_ltp_reason(msg), "") == 0);
    lt_ltp_destroy(&msg);
    assert(msg == NULL);
    lt_ltp_destroy(&msg);   //  safe on NULL

    //  take_* hand over ownership; print names the fields.
    msg = s_test_sample(LT_LTP_DELIVER);
    size_t size = 0;
    uint8_t *payload = lt_ltp_take_payload(msg, &size);
    assert(payload && size == 8 && memcmp(payload, "<edXML/>", 8) == 0);
    assert(lt_ltp_payload(msg) == NULL && lt_ltp_payload_size(msg) == 0);
    free(payload);
    lt_envelope_t *envelope = lt_ltp_take_envelope(msg);
    assert(envelope && lt_ltp_envelope(msg) == NULL);
    lt_envelope_destroy(&envelope);
    char *text = NULL;
    size_t text_size = 0;
    FILE *file = open_memstream(&text, &text_size);
    assert(file);
    lt_ltp_print(samples[LT_LTP_HELLO], file);
    lt_ltp_print(samples[LT_LTP_DELIVER], file);
    fclose(file);
    assert(strstr(text, "HELLO version=4294967295 name=\"Sở"));
    assert(strstr(text, "DELIVER delivery=18446744073709551606 attempt="));
    assert(strstr(text, "envelope.kind=document"));
    assert(strstr(text, "payload=8 bytes"));
    free(text);
    lt_ltp_destroy(&msg);

    s_test_sockets(verbose);
    s_test_both_paths(verbose);
    s_test_batch(verbose);
    for (int id = 0; id < LT_LTP_COUNT; id++)
        lt_ltp_destroy(&samples[id]);
    msgpack_sbuffer_destroy(&sbuf);
    if (verbose)
        printf("OK\n");
}
