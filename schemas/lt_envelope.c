/*  lt_envelope: the message envelope and its msgpack codec.

    Strings are kept in one table of owned pointers indexed by s_str_t so that
    copy, compare, encode and decode are one loop each; the scalar facts are
    plain struct fields. The wire keys are short and stable (schemas/ltp.md).
*/
#include "lt_envelope.h"
#include "lt_digest.h"
#include "lt_id.h"
#include "lt_ltp.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    S_ID, S_KEY, S_BTYPE, S_REVISION, S_SOURCE, S_SYSTEM, S_SENDER, S_SHA256, S_SIGNER,
    S_REPLACES, S_DTYPE, S_STR_COUNT
} s_str_t;

//  Wire key (with its length, compared first when decoding) and length
//  limit of each string field.
#define S_KEY(k) k, sizeof(k) - 1
static const struct {
    const char *key;   //  msgpack map key
    size_t len;        //  strlen(key)
    size_t max;        //  longest accepted value in bytes
} s_str_fields[S_STR_COUNT] = {
    [S_ID] = {S_KEY("id"), 64},           [S_KEY] = {S_KEY("key"), 512},
    [S_BTYPE] = {S_KEY("btype"), 32},     [S_REVISION] = {S_KEY("rev"), 128},
    [S_SOURCE] = {S_KEY("src"), 64},      [S_SYSTEM] = {S_KEY("sys"), 128},
    [S_SENDER] = {S_KEY("from"), 64},     [S_SHA256] = {S_KEY("sha256"), 64},
    [S_SIGNER] = {S_KEY("signer"), 512},  [S_REPLACES] = {S_KEY("re"), 512},
    [S_DTYPE] = {S_KEY("dtype"), 256},
};

//  The other keys the decoder reads.
typedef enum {
    S_F_KIND, S_F_SIG, S_F_TO, S_F_CREATED, S_F_RECEIVED, S_F_SIZE, S_F_CHANNEL, S_F_EL,
    S_F_SECRET, S_F_COUNT
} s_field_t;

static const struct {
    const char *key;   //  msgpack map key
    size_t len;        //  strlen(key)
} s_fields[S_F_COUNT] = {
    [S_F_KIND] = {S_KEY("kind")},       [S_F_SIG] = {S_KEY("sig")},
    [S_F_TO] = {S_KEY("to")},           [S_F_CREATED] = {S_KEY("created")},
    [S_F_RECEIVED] = {S_KEY("received")}, [S_F_SIZE] = {S_KEY("size")},
    [S_F_CHANNEL] = {S_KEY("channel")}, [S_F_EL] = {S_KEY("el")},
    [S_F_SECRET] = {S_KEY("secret")},
};

#define S_RECIPIENT_MAX 64   //  longest agency code accepted

struct _lt_envelope_t {
    char *str[S_STR_COUNT];   //  owned strings, NULL when unset
    char **to;                //  owned recipient codes
    size_t to_size;           //  recipients in use
    size_t to_alloc;          //  recipient slots allocated
    lt_kind_t kind;           //  what the message is
    int64_t created;          //  Unix ms when the source made it
    int64_t received;         //  Unix ms when the broker stored it
    uint64_t size;            //  payload size in bytes
    bool electronic;          //  electronic (true) or paper (false)
    bool secret;              //  state secret, excluded from counting
    lt_sig_t signature;       //  main file signature verdict
    lt_channel_t channel;     //  dossier channel
    char *block;              //  room for strings, allocated with the envelope
    size_t block_size;        //  bytes of block
    size_t block_used;        //  bytes of block handed out
};

//  A name a field takes on the wire, with its length (compared first when
//  decoding).
typedef struct {
    const char *name;   //  the wire name
    size_t len;         //  strlen(name)
} s_name_t;

static const s_name_t s_kind_names[] = {
    [LT_KIND_NONE] = {S_KEY("")}, [LT_KIND_DOCUMENT] = {S_KEY("document")},
    [LT_KIND_STATUS] = {S_KEY("status")}, [LT_KIND_DOSSIER] = {S_KEY("dossier")},
    [LT_KIND_PROGRESS] = {S_KEY("progress")}, [LT_KIND_REPORT] = {S_KEY("report")},
    [LT_KIND_REGISTER] = {S_KEY("register")}, [LT_KIND_FACT] = {S_KEY("fact")},
};

static const s_name_t s_sig_names[] = {
    [LT_SIG_UNKNOWN] = {S_KEY("unknown")}, [LT_SIG_UNSIGNED] = {S_KEY("unsigned")},
    [LT_SIG_VALID] = {S_KEY("valid")}, [LT_SIG_VALID_UNTRUSTED] = {S_KEY("valid_untrusted")},
    [LT_SIG_INVALID] = {S_KEY("invalid")},
};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *lt_kind_name(lt_kind_t kind)
{
    return (size_t) kind < S_COUNT(s_kind_names) ? s_kind_names[kind].name : "";
}

int lt_kind_from_name(const char *name)
{
    for (size_t i = 1; name && i < S_COUNT(s_kind_names); i++)
        if (strcmp(name, s_kind_names[i].name) == 0)
            return (int) i;
    return -1;
}

const char *lt_sig_name(lt_sig_t verdict)
{
    return (size_t) verdict < S_COUNT(s_sig_names) ? s_sig_names[verdict].name : "unknown";
}

int lt_sig_from_name(const char *name)
{
    for (size_t i = 0; name && i < S_COUNT(s_sig_names); i++)
        if (strcmp(name, s_sig_names[i].name) == 0)
            return (int) i;
    return -1;
}

//  Room for the strings of an envelope built field by field, allocated with
//  it: a connector's envelope (ids, key, digest, a few agency codes) fits,
//  so building and destroying one costs one allocation, not one a field.
#define S_ROOM 384

lt_envelope_t *lt_envelope_new(void)
{
    lt_envelope_t *self = calloc(1, sizeof(*self) + S_ROOM);
    if (self) {
        self->electronic = true;
        self->block = (char *) (self + 1);
        self->block_size = S_ROOM;
    }
    return self;
}

//  A copy of length bytes of value as a string of self: in its block while
//  there is room, else on the heap; NULL on no memory.
static char *s_dup(lt_envelope_t *self, const char *value, size_t length)
{
    if (self->block_size - self->block_used > length) {
        char *copy = self->block + self->block_used;
        memcpy(copy, value, length);
        copy[length] = 0;
        self->block_used += length + 1;
        return copy;
    }
    return strndup(value, length);
}

//  Free a string of self unless it lives in its block.
static void s_free_str(lt_envelope_t *self, char *str)
{
    uintptr_t at = (uintptr_t) str, block = (uintptr_t) self->block;
    if (at < block || at >= block + self->block_size)
        free(str);
}

void lt_envelope_destroy(lt_envelope_t **self_p)
{
    assert(self_p);
    lt_envelope_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < S_STR_COUNT; i++)
        s_free_str(self, self->str[i]);
    for (size_t i = 0; i < self->to_size; i++)
        s_free_str(self, self->to[i]);
    free(self->to);
    free(self);
    *self_p = NULL;
}

//  Replace string field f with a copy of value (NULL clears); -1 on no memory.
static int s_set(lt_envelope_t *self, s_str_t f, const char *value)
{
    assert(self);
    char *copy = NULL;
    if (value && !(copy = s_dup(self, value, strlen(value))))
        return -1;
    s_free_str(self, self->str[f]);
    self->str[f] = copy;
    return 0;
}

static const char *s_get(const lt_envelope_t *self, s_str_t f)
{
    assert(self);
    return self->str[f] ? self->str[f] : "";
}

lt_envelope_t *lt_envelope_dup(const lt_envelope_t *self)
{
    assert(self);
    lt_envelope_t *copy = lt_envelope_new();
    if (!copy)
        return NULL;
    copy->kind = self->kind;
    copy->created = self->created;
    copy->received = self->received;
    copy->size = self->size;
    copy->electronic = self->electronic;
    copy->secret = self->secret;
    copy->signature = self->signature;
    copy->channel = self->channel;
    for (int i = 0; i < S_STR_COUNT; i++)
        if (self->str[i] && s_set(copy, (s_str_t) i, self->str[i]))
            goto fail;
    for (size_t i = 0; i < self->to_size; i++)
        if (lt_envelope_add_recipient(copy, self->to[i]))
            goto fail;
    return copy;
fail:
    lt_envelope_destroy(&copy);
    return NULL;
}

#define S_STR_ACCESSORS(name, field)                                                              \
    const char *lt_envelope_##name(const lt_envelope_t *self)                                     \
    {                                                                                             \
        return s_get(self, field);                                                                \
    }                                                                                             \
    void lt_envelope_set_##name(lt_envelope_t *self, const char *value)                           \
    {                                                                                             \
        s_set(self, field, value);                                                                \
    }

S_STR_ACCESSORS(id, S_ID)
S_STR_ACCESSORS(key, S_KEY)
S_STR_ACCESSORS(btype, S_BTYPE)
S_STR_ACCESSORS(revision, S_REVISION)
S_STR_ACCESSORS(source, S_SOURCE)
S_STR_ACCESSORS(system, S_SYSTEM)
S_STR_ACCESSORS(sender, S_SENDER)
S_STR_ACCESSORS(sha256, S_SHA256)
S_STR_ACCESSORS(signer, S_SIGNER)
S_STR_ACCESSORS(replaces, S_REPLACES)
S_STR_ACCESSORS(dtype, S_DTYPE)

#define S_SCALAR_ACCESSORS(name, type)                                                            \
    type lt_envelope_##name(const lt_envelope_t *self)                                            \
    {                                                                                             \
        assert(self);                                                                             \
        return self->name;                                                                        \
    }                                                                                             \
    void lt_envelope_set_##name(lt_envelope_t *self, type value)                                  \
    {                                                                                             \
        assert(self);                                                                             \
        self->name = value;                                                                       \
    }

S_SCALAR_ACCESSORS(kind, lt_kind_t)
S_SCALAR_ACCESSORS(created, int64_t)
S_SCALAR_ACCESSORS(received, int64_t)
S_SCALAR_ACCESSORS(size, uint64_t)
S_SCALAR_ACCESSORS(electronic, bool)
S_SCALAR_ACCESSORS(secret, bool)
S_SCALAR_ACCESSORS(signature, lt_sig_t)
S_SCALAR_ACCESSORS(channel, lt_channel_t)

size_t lt_envelope_recipients(const lt_envelope_t *self)
{
    assert(self);
    return self->to_size;
}

const char *lt_envelope_recipient(const lt_envelope_t *self, size_t index)
{
    assert(self);
    return index < self->to_size ? self->to[index] : NULL;
}

//  Append a recipient taking ownership of copy; -1 (copy freed) on no memory.
static int s_add_owned(lt_envelope_t *self, char *copy)
{
    if (!copy)
        return -1;
    //  A package may name an agency twice (To list, `to`): it is still one
    //  recipient, delivered and counted once.
    for (size_t i = 0; i < self->to_size; i++)
        if (strcmp(self->to[i], copy) == 0) {
            s_free_str(self, copy);
            return 0;
        }
    if (self->to_size == self->to_alloc) {
        size_t alloc = self->to_alloc ? self->to_alloc * 2 : 4;
        char **to = realloc(self->to, alloc * sizeof(char *));
        if (!to) {
            s_free_str(self, copy);
            return -1;
        }
        self->to = to;
        self->to_alloc = alloc;
    }
    self->to[self->to_size++] = copy;
    return 0;
}

int lt_envelope_add_recipient(lt_envelope_t *self, const char *code)
{
    assert(self);
    assert(code);
    return s_add_owned(self, s_dup(self, code, strlen(code)));
}

void lt_envelope_clear_recipients(lt_envelope_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->to_size; i++)
        s_free_str(self, self->to[i]);
    self->to_size = 0;
}

void lt_envelope_set_payload_facts(lt_envelope_t *self, const void *payload, size_t size)
{
    assert(self);
    char hex[LT_SHA256_HEX];
    lt_digest_sha256_hex(payload, size, hex);
    s_set(self, S_SHA256, hex);
    self->size = size;
}

int lt_envelope_validate(const lt_envelope_t *self, lt_err_t *err)
{
    assert(self);
    if (self->kind == LT_KIND_NONE)
        return lt_err_set(err, LT_EFIELD, "envelope: field 'kind' is missing"), -1;
    if (!self->str[S_KEY] || !*self->str[S_KEY])
        return lt_err_set(err, LT_EFIELD, "envelope: field 'key' (business key) is missing"), -1;
    if (self->str[S_ID] && !lt_id_valid(self->str[S_ID]))
        return lt_err_set(err, LT_EFIELD, "envelope: field 'id' is not a UUIDv7: '%.64s'",
                          self->str[S_ID]),
               -1;
    const char *sha = self->str[S_SHA256];
    if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
        return lt_err_set(err, LT_EFIELD,
                          "envelope: field 'sha256' must be 64 lowercase hex digits"),
               -1;
    if ((self->kind == LT_KIND_DOCUMENT || self->kind == LT_KIND_STATUS) && self->to_size == 0)
        return lt_err_set(err, LT_EFIELD, "envelope: a %s needs at least one recipient in 'to'",
                          lt_kind_name(self->kind)),
               -1;
    return 0;
}

char *lt_envelope_dedup_key(const lt_envelope_t *self)
{
    assert(self);
    //  kind|key|btype|revision|sender, joined by hand (one per publish).
    const char *parts[] = {lt_kind_name(self->kind), s_get(self, S_KEY), s_get(self, S_BTYPE),
                           s_get(self, S_REVISION), s_get(self, S_SENDER)};
    size_t lens[S_COUNT(parts)], len = 0;
    for (size_t i = 0; i < S_COUNT(parts); i++)
        len += (lens[i] = strlen(parts[i])) + 1;
    char *key = malloc(len);
    if (!key)
        return NULL;
    char *at = key;
    for (size_t i = 0; i < S_COUNT(parts); i++) {
        if (i)
            *at++ = '|';
        memcpy(at, parts[i], lens[i]);
        at += lens[i];
    }
    *at = 0;
    return key;
}

static void s_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

static void s_pack_str(msgpack_packer *pk, const char *s)
{
    s_pack_strn(pk, s, strlen(s));
}

//  Pack a key written in the source, its length known when compiled.
#define S_PACK_KEY(pk, key) s_pack_strn(pk, key, sizeof(key) - 1)

int lt_envelope_pack(const lt_envelope_t *self, msgpack_packer *pk)
{
    assert(self);
    size_t entries = 9;   //  kind, to, created, received, size, el, secret, sig, channel
    for (int i = 0; i < S_STR_COUNT; i++)
        entries += self->str[i] != NULL;
    int rc = msgpack_pack_map(pk, entries);
    for (int i = 0; i < S_STR_COUNT; i++)
        if (self->str[i]) {
            s_pack_strn(pk, s_str_fields[i].key, s_str_fields[i].len);
            s_pack_str(pk, self->str[i]);
        }
    S_PACK_KEY(pk, "kind");
    s_pack_str(pk, lt_kind_name(self->kind));
    S_PACK_KEY(pk, "to");
    msgpack_pack_array(pk, self->to_size);
    for (size_t i = 0; i < self->to_size; i++)
        s_pack_str(pk, self->to[i]);
    S_PACK_KEY(pk, "created");
    msgpack_pack_int64(pk, self->created);
    S_PACK_KEY(pk, "received");
    msgpack_pack_int64(pk, self->received);
    S_PACK_KEY(pk, "size");
    msgpack_pack_uint64(pk, self->size);
    S_PACK_KEY(pk, "el");
    self->electronic ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    S_PACK_KEY(pk, "secret");
    self->secret ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    S_PACK_KEY(pk, "sig");
    s_pack_str(pk, lt_sig_name(self->signature));
    S_PACK_KEY(pk, "channel");
    msgpack_pack_uint64(pk, (uint64_t) self->channel);
    return rc == 0 ? 0 : -1;
}

//  True when a msgpack string is the key of len bytes.
static bool s_is(const msgpack_object_str *s, const char *key, size_t len)
{
    return s->size == len && memcmp(s->ptr, key, len) == 0;
}

//  Check a msgpack string value of a field: a string of at most max bytes
//  without NUL; -1 with err set.
static int s_check_str(const msgpack_object *v, const char *field, size_t max, lt_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_STR)
        return lt_err_set(err, LT_EFIELD, "envelope: field '%s' must be a string", field), -1;
    if (v->via.str.size > max)
        return lt_err_set(err, LT_EFIELD, "envelope: field '%s' is longer than %zu bytes", field,
                          max),
               -1;
    if (memchr(v->via.str.ptr, 0, v->via.str.size))
        return lt_err_set(err, LT_EFIELD, "envelope: field '%s' contains a NUL byte", field), -1;
    return 0;
}

//  Copy a msgpack string into a NUL-terminated string of self (in its
//  block while there is room, else on the heap), refusing embedded NUL
//  bytes and values longer than max; NULL with err set.
static char *s_copy_str(lt_envelope_t *self, const msgpack_object *v, const char *field,
                        size_t max, lt_err_t *err)
{
    if (s_check_str(v, field, max, err))
        return NULL;
    char *copy = s_dup(self, v->via.str.ptr, v->via.str.size);
    if (!copy)
        lt_err_set(err, LT_ENOMEM, "envelope: out of memory copying '%s'", field);
    return copy;
}

//  The index of a string value among names[0..count), compared in place;
//  -1 with err set when it is none of them.
static int s_name_of(const msgpack_object *v, const char *field, const s_name_t *names,
                     size_t count, lt_err_t *err)
{
    if (s_check_str(v, field, 32, err))
        return -1;
    const msgpack_object_str *str = &v->via.str;
    for (size_t i = 0; i < count; i++)
        if (s_is(str, names[i].name, names[i].len))
            return (int) i;
    lt_err_set(err, LT_EFIELD, "envelope: field '%s' has unknown value '%.*s'", field,
               (int) str->size, str->ptr);
    return -1;
}

//  Read an integer field (positive or negative msgpack int) into *out.
static int s_int(const msgpack_object *v, const char *field, int64_t min, int64_t max,
                 int64_t *out, lt_err_t *err)
{
    int64_t value;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (v->via.u64 > (uint64_t) INT64_MAX)
            return lt_err_set(err, LT_EFIELD, "envelope: field '%s' is out of range", field), -1;
        value = (int64_t) v->via.u64;
    }
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        value = v->via.i64;
    else
        return lt_err_set(err, LT_EFIELD, "envelope: field '%s' must be an integer", field), -1;
    if (value < min || value > max)
        return lt_err_set(err, LT_EFIELD, "envelope: field '%s' is out of range", field), -1;
    *out = value;
    return 0;
}

static int s_bool(const msgpack_object *v, const char *field, bool *out, lt_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return lt_err_set(err, LT_EFIELD, "envelope: field '%s' must be a boolean", field), -1;
    *out = v->via.boolean;
    return 0;
}

//  Apply one key/value pair to self; unknown keys are ignored.
static int s_unpack_field(lt_envelope_t *self, const msgpack_object_str *k,
                          const msgpack_object *v, lt_err_t *err)
{
    for (int i = 0; i < S_STR_COUNT; i++)
        if (s_is(k, s_str_fields[i].key, s_str_fields[i].len)) {
            char *copy = s_copy_str(self, v, s_str_fields[i].key, s_str_fields[i].max, err);
            if (!copy)
                return -1;
            s_free_str(self, self->str[i]);
            self->str[i] = copy;
            return 0;
        }
    int f = 0;
    while (f < S_F_COUNT && !s_is(k, s_fields[f].key, s_fields[f].len))
        f++;
    int64_t n = 0;
    int value;
    switch (f) {
    case S_F_KIND:
        //  An empty kind is how an unset kind encodes; validation refuses it.
        if ((value = s_name_of(v, "kind", s_kind_names, S_COUNT(s_kind_names), err)) < 0)
            return -1;
        self->kind = (lt_kind_t) value;
        return 0;
    case S_F_SIG:
        if ((value = s_name_of(v, "sig", s_sig_names, S_COUNT(s_sig_names), err)) < 0)
            return -1;
        self->signature = (lt_sig_t) value;
        return 0;
    case S_F_TO:
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return lt_err_set(err, LT_EFIELD, "envelope: field 'to' must be an array"), -1;
        if (v->via.array.size > LT_ENVELOPE_MAX_RECIPIENTS)
            return lt_err_set(err, LT_EFIELD, "envelope: field 'to' has more than %d entries",
                              LT_ENVELOPE_MAX_RECIPIENTS),
                   -1;
        lt_envelope_clear_recipients(self);
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            char *code = s_copy_str(self, &v->via.array.ptr[i], "to[]", S_RECIPIENT_MAX, err);
            if (!code)
                return -1;
            if (s_add_owned(self, code))
                return lt_err_set(err, LT_ENOMEM, "envelope: out of memory"), -1;
        }
        return 0;
    case S_F_CREATED:
    case S_F_RECEIVED:
        if (s_int(v, s_fields[f].key, 0, INT64_MAX, &n, err))
            return -1;
        *(f == S_F_CREATED ? &self->created : &self->received) = n;
        return 0;
    case S_F_SIZE:
        if (s_int(v, "size", 0, INT64_MAX, &n, err))
            return -1;
        self->size = (uint64_t) n;
        return 0;
    case S_F_CHANNEL:
        if (s_int(v, "channel", 0, LT_CHANNEL_POSTAL, &n, err))
            return -1;
        self->channel = (lt_channel_t) n;
        return 0;
    case S_F_EL:
        return s_bool(v, "el", &self->electronic, err);
    case S_F_SECRET:
        return s_bool(v, "secret", &self->secret, err);
    default:
        return 0;
    }
}

lt_envelope_t *lt_envelope_unpack(const msgpack_object *obj, lt_err_t *err)
{
    if (!obj || obj->type != MSGPACK_OBJECT_MAP) {
        lt_err_set(err, LT_EFIELD, "envelope: must be a msgpack map");
        return NULL;
    }
    const msgpack_object_map *map = &obj->via.map;
    //  The strings it will copy, in one allocation with the envelope.
    size_t need = 0;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object_kv *kv = &map->ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            continue;
        if (kv->val.type == MSGPACK_OBJECT_STR)
            need += kv->val.via.str.size + 1;
        else if (kv->val.type == MSGPACK_OBJECT_ARRAY &&
                 s_is(&kv->key.via.str, s_fields[S_F_TO].key, s_fields[S_F_TO].len))
            for (uint32_t j = 0; j < kv->val.via.array.size; j++)
                if (kv->val.via.array.ptr[j].type == MSGPACK_OBJECT_STR)
                    need += kv->val.via.array.ptr[j].via.str.size + 1;
    }
    lt_envelope_t *self = calloc(1, sizeof(*self) + need);
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "envelope: out of memory");
        return NULL;
    }
    self->electronic = true;   //  as lt_envelope_new
    self->block = (char *) (self + 1);
    self->block_size = need;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object_kv *kv = &map->ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) {
            lt_err_set(err, LT_EFIELD, "envelope: map key %u is not a string", i);
            goto fail;
        }
        if (s_unpack_field(self, &kv->key.via.str, &kv->val, err))
            goto fail;
    }
    return self;
fail:
    lt_envelope_destroy(&self);
    return NULL;
}

int lt_envelope_encode(const lt_envelope_t *self, uint8_t **data_p, size_t *size_p)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    if (lt_envelope_pack(self, &pk) || !sbuf.data) {
        msgpack_sbuffer_destroy(&sbuf);
        return -1;
    }
    *size_p = sbuf.size;
    *data_p = (uint8_t *) msgpack_sbuffer_release(&sbuf);
    return 0;
}

lt_envelope_t *lt_envelope_decode(const void *data, size_t size, lt_err_t *err)
{
    //  msgpack-c sizes its allocations from the counts a container claims:
    //  walk the bytes first so a tiny input cannot claim gigabytes.
    size_t end = 0;
    if (lt_ltp_check_msgpack(data, size, LT_LTP_MAX_VALUES, &end, err))
        return NULL;
    msgpack_object obj;
    bool nomem = false;
    lt_envelope_t *self = NULL;
    if (end != size)
        lt_err_set(err, LT_EPROTO, "envelope: %zu trailing bytes after the map", size - end);
    else if (lt_ltp_unpack(data, size, &obj, &nomem) == 0)
        self = lt_envelope_unpack(&obj, err);
    else
        lt_err_set(err, LT_EPROTO, "envelope: not a complete msgpack value%s",
                   nomem ? " (too large to unpack)" : "");
    lt_ltp_unpack_done();
    return self;
}

static bool s_str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

bool lt_envelope_eq(const lt_envelope_t *a, const lt_envelope_t *b)
{
    assert(a && b);
    if (a->kind != b->kind || a->created != b->created || a->received != b->received ||
        a->size != b->size || a->electronic != b->electronic || a->secret != b->secret ||
        a->signature != b->signature || a->channel != b->channel || a->to_size != b->to_size)
        return false;
    for (int i = 0; i < S_STR_COUNT; i++)
        if (!s_str_eq(a->str[i], b->str[i]))
            return false;
    for (size_t i = 0; i < a->to_size; i++)
        if (strcmp(a->to[i], b->to[i]))
            return false;
    return true;
}

//  Encode a hand-built msgpack map from a packer callback for the tests.
static lt_envelope_t *s_decode_built(void (*build)(msgpack_packer *), lt_err_t *err)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    build(&pk);
    lt_envelope_t *env = lt_envelope_decode(sbuf.data, sbuf.size, err);
    msgpack_sbuffer_destroy(&sbuf);
    return env;
}

static void s_build_bad_kind(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_pack_str(pk, "kind");
    s_pack_str(pk, "letter");
}

static void s_build_int_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 7);
    s_pack_str(pk, "x");
}

static void s_build_mistyped_to(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_pack_str(pk, "to");
    s_pack_str(pk, "000.00.00.G22");
}

static void s_build_negative_size(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_pack_str(pk, "size");
    msgpack_pack_int64(pk, -5);
}

static void s_build_nul_in_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_pack_str(pk, "key");
    msgpack_pack_str(pk, 3);
    msgpack_pack_str_body(pk, "a\0b", 3);
}

static void s_build_unknown_field(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    s_pack_str(pk, "future");
    msgpack_pack_array(pk, 0);
    s_pack_str(pk, "key");
    s_pack_str(pk, "K");
}

//  Decode a one-field map {field: value} for the tests.
static lt_envelope_t *s_decode_named(const char *field, const char *value, size_t len,
                                     lt_err_t *err)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    s_pack_str(&pk, field);
    msgpack_pack_str(&pk, len);
    msgpack_pack_str_body(&pk, value, len);
    lt_envelope_t *env = lt_envelope_decode(sbuf.data, sbuf.size, err);
    msgpack_sbuffer_destroy(&sbuf);
    return env;
}

//  Every kind name and every signature name decodes to its value, alone and
//  in a full round trip; a name that differs in length or in one byte, or
//  carries a NUL, is refused.
static void s_test_names(void)
{
    lt_err_t err;
    const struct {
        const char *field;       //  the key they are the values of
        const s_name_t *names;   //  its names, by value
        size_t count;            //  how many
    } tables[] = {{"kind", s_kind_names, S_COUNT(s_kind_names)},
                  {"sig", s_sig_names, S_COUNT(s_sig_names)}};
    for (size_t t = 0; t < S_COUNT(tables); t++)
        for (size_t i = 0; i < tables[t].count; i++) {
            bool kind = t == 0;
            const s_name_t *name = &tables[t].names[i];
            assert(strlen(name->name) == name->len);
            lt_envelope_t *one = s_decode_named(tables[t].field, name->name, name->len, &err);
            assert(one);
            int got = kind ? (int) lt_envelope_kind(one) : (int) lt_envelope_signature(one);
            assert(got == (int) i);
            lt_envelope_destroy(&one);
            int value = kind ? lt_kind_from_name(name->name) : lt_sig_from_name(name->name);
            assert(value == (kind && i == 0 ? -1 : (int) i));   //  no kind is not a kind
        }
    for (size_t k = 1; k < S_COUNT(s_kind_names); k++)
        for (size_t g = 0; g < S_COUNT(s_sig_names); g++) {
            lt_envelope_t *copy = lt_envelope_new();
            assert(copy);
            lt_envelope_set_key(copy, "K");
            lt_envelope_set_kind(copy, (lt_kind_t) k);
            lt_envelope_set_signature(copy, (lt_sig_t) g);
            uint8_t *data = NULL;
            size_t size = 0;
            assert(lt_envelope_encode(copy, &data, &size) == 0);
            lt_envelope_t *back = lt_envelope_decode(data, size, &err);
            assert(back && lt_envelope_eq(back, copy));
            assert((size_t) lt_envelope_kind(back) == k);
            assert((size_t) lt_envelope_signature(back) == g);
            lt_envelope_destroy(&back);
            lt_envelope_destroy(&copy);
            free(data);
        }
    static const struct {
        const char *field;   //  kind or sig
        const char *value;   //  a name that is none of its names
        size_t len;          //  its length
    } bad[] = {
        {"kind", "documen", 7}, {"kind", "documents", 9}, {"kind", "documenT", 8},
        {"kind", "fact\0", 5},  {"kind", "unknown", 7},  {"kind", "valid", 5},
        {"sig", "", 0},          {"sig", "vali", 4},      {"sig", "valid_untrustee", 15},
        {"sig", "valid\0", 6},  {"sig", "document", 8},  {"sig", "VALID", 5},
    };
    for (size_t i = 0; i < S_COUNT(bad); i++) {
        lt_envelope_t *none = s_decode_named(bad[i].field, bad[i].value, bad[i].len, &err);
        assert(none == NULL && err.code != LT_OK);
        assert(strstr(err.detail, bad[i].field));
    }
    assert(lt_kind_from_name("letter") == -1 && lt_sig_from_name("letter") == -1);
}

void lt_envelope_test(bool verbose)
{
    if (verbose)
        printf(" * lt_envelope: ");
    lt_envelope_t *env = lt_envelope_new();
    assert(env);
    char id[LT_ID_LEN + 1];
    lt_id_new(id);
    lt_envelope_set_id(env, id);
    lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
    lt_envelope_set_key(env, "000.00.12.H26,2026/09/03,215/STTTT-VP");
    lt_envelope_set_btype(env, "new");
    lt_envelope_set_source(env, "dms");
    lt_envelope_set_system(env, "qlvb-vnpt");
    lt_envelope_set_sender(env, "000.00.12.H26");
    assert(lt_envelope_add_recipient(env, "000.00.00.G22") == 0);
    assert(lt_envelope_add_recipient(env, "000.00.13.H26") == 0);
    //  A recipient named again is one recipient: one delivery, one count.
    assert(lt_envelope_add_recipient(env, "000.00.00.G22") == 0);
    assert(lt_envelope_recipients(env) == 2);
    lt_envelope_set_created(env, 1788000000000);
    lt_envelope_set_received(env, 1788000000123);
    lt_envelope_set_payload_facts(env, "payload", 7);
    lt_envelope_set_signature(env, LT_SIG_VALID);
    lt_envelope_set_signer(env, "CN=Nguyen Van A");
    lt_envelope_set_secret(env, false);
    lt_envelope_set_replaces(env, "000.00.12.H26,2026/09/01,200/STTTT-VP");
    lt_err_t err;
    assert(lt_envelope_validate(env, &err) == 0);
    assert(lt_envelope_size(env) == 7);
    assert(strlen(lt_envelope_sha256(env)) == 64);

    //  Round trip through msgpack keeps every field.
    uint8_t *data = NULL;
    size_t size = 0;
    assert(lt_envelope_encode(env, &data, &size) == 0);
    lt_envelope_t *back = lt_envelope_decode(data, size, &err);
    assert(back);
    assert(lt_envelope_eq(env, back));
    assert(strcmp(lt_envelope_recipient(back, 1), "000.00.13.H26") == 0);
    assert(lt_envelope_recipient(back, 2) == NULL);
    assert(strcmp(lt_envelope_replaces(back), "000.00.12.H26,2026/09/01,200/STTTT-VP") == 0);
    lt_envelope_t *copy = lt_envelope_dup(back);
    assert(copy && lt_envelope_eq(copy, env));
    lt_envelope_set_channel(copy, LT_CHANNEL_ONLINE);
    assert(!lt_envelope_eq(copy, env));
    lt_envelope_destroy(&copy);
    lt_envelope_destroy(&back);
    assert(back == NULL);
    lt_envelope_destroy(&back);   //  safe on NULL

    //  Every truncation of a valid encoding is refused, never crashes.
    for (size_t cut = 0; cut < size; cut++) {
        lt_envelope_t *part = lt_envelope_decode(data, cut, &err);
        assert(part == NULL);
        assert(err.code == LT_EPROTO);
    }
    //  Trailing garbage is refused.
    uint8_t *longer = malloc(size + 1);
    assert(longer);
    memcpy(longer, data, size);
    longer[size] = 0xc0;
    assert(lt_envelope_decode(longer, size + 1, &err) == NULL);
    assert(err.code == LT_EPROTO && strstr(err.detail, "trailing"));
    free(longer);
    free(data);

    //  Dedup key joins the identifying fields.
    char *dedup = lt_envelope_dedup_key(env);
    assert(dedup);
    assert(strcmp(dedup, "document|000.00.12.H26,2026/09/03,215/STTTT-VP|new||000.00.12.H26") ==
           0);
    free(dedup);

    //  Validation names the missing field.
    lt_envelope_set_key(env, NULL);
    assert(lt_envelope_validate(env, &err) == -1 && strstr(err.detail, "'key'"));
    lt_envelope_set_key(env, "K");
    lt_envelope_clear_recipients(env);
    assert(lt_envelope_validate(env, &err) == -1 && strstr(err.detail, "recipient"));
    lt_envelope_set_kind(env, LT_KIND_REPORT);
    assert(lt_envelope_validate(env, &err) == 0);
    lt_envelope_set_id(env, "not-an-id");
    assert(lt_envelope_validate(env, &err) == -1 && strstr(err.detail, "'id'"));
    lt_envelope_set_id(env, id);
    lt_envelope_set_sha256(env, "ABC");
    assert(lt_envelope_validate(env, &err) == -1 && strstr(err.detail, "sha256"));
    lt_envelope_set_kind(env, LT_KIND_NONE);
    assert(lt_envelope_validate(env, &err) == -1 && strstr(err.detail, "'kind'"));
    lt_envelope_destroy(&env);

    //  Every decoding error path.
    assert(lt_envelope_decode("\x01", 1, &err) == NULL && err.code == LT_EFIELD);
    //  A map claiming four billion entries in five bytes is refused up front.
    assert(lt_envelope_decode("\xdf\xff\xff\xff\xff", 5, &err) == NULL);
    assert(err.code == LT_EPROTO);
    //  An envelope without a kind survives a round trip (and fails validation).
    lt_envelope_t *kindless = lt_envelope_new();
    lt_envelope_set_key(kindless, "K");
    uint8_t *kdata = NULL;
    size_t ksize = 0;
    assert(lt_envelope_encode(kindless, &kdata, &ksize) == 0);
    lt_envelope_t *kback = lt_envelope_decode(kdata, ksize, &err);
    assert(kback && lt_envelope_eq(kback, kindless));
    assert(lt_envelope_validate(kback, &err) == -1 && strstr(err.detail, "'kind'"));
    lt_envelope_destroy(&kback);
    lt_envelope_destroy(&kindless);
    free(kdata);
    assert(s_decode_built(s_build_bad_kind, &err) == NULL && strstr(err.detail, "letter"));
    assert(s_decode_built(s_build_int_key, &err) == NULL && strstr(err.detail, "not a string"));
    assert(s_decode_built(s_build_mistyped_to, &err) == NULL && strstr(err.detail, "'to'"));
    assert(s_decode_built(s_build_negative_size, &err) == NULL && strstr(err.detail, "'size'"));
    assert(s_decode_built(s_build_nul_in_key, &err) == NULL && strstr(err.detail, "NUL"));
    lt_envelope_t *future = s_decode_built(s_build_unknown_field, &err);
    assert(future && strcmp(lt_envelope_key(future), "K") == 0);
    lt_envelope_destroy(&future);

    //  Enum names.
    assert(lt_kind_from_name("dossier") == LT_KIND_DOSSIER);
    assert(lt_kind_from_name("") == -1);
    assert(lt_sig_from_name("valid_untrusted") == LT_SIG_VALID_UNTRUSTED);
    assert(strcmp(lt_sig_name(LT_SIG_INVALID), "invalid") == 0);
    s_test_names();
    if (verbose)
        printf("OK\n");
}
