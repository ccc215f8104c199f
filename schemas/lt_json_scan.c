/*  lt_json_scan: a validating JSON scanner that builds no tree (see the
    header for the rules it keeps). The check is one pass over the bytes
    with an explicit stack of open containers; the readers that follow walk
    the accepted bytes again, skipping what they do not need.
*/
#include "lt_json_scan.h"

#include <assert.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 2048      //  jansson's JSON_PARSER_MAX_DEPTH: the top value is depth 1
#define S_FEW_KEYS 8          //  objects up to this many keys are checked pair by pair
#define S_HASHED_KEYS 256     //  up to this many with a hash table, more are sorted
#define S_INLINE_KEYS 64      //  keys held without a further allocation
#define S_INLINE_FRAMES 64    //  open containers held without a further allocation
#define S_INLINE_ARENA 1024   //  bytes of unescaped keys held without a further allocation
#define S_INLINE_SCRATCH 256  //  bytes of lt_json_canon's scratch held without an allocation
#define S_INSERTION_SORT 32   //  lt_json_canon sorts up to this many keys by insertion

//  The smallest decimal that strtod rounds to infinity, 2^1024 - 2^970 (the
//  midpoint above DBL_MAX rounds to even, which is infinity): its 309 digits.
static const char s_overflow_digits[] =
    "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649"
    "017977587207096330286416692887910946555547851940402630657488671505820681908902000708383"
    "676273854845817711531764475730270069855571366959622842914819860834936475292719074168444"
    "365510704342711559699508093042880177904174497792";

//  One key of an open object.
typedef struct {
    const char *raw;     //  first byte after its opening quote, in the buffer
    const char *bytes;   //  its unescaped bytes (set when its object closes)
    size_t off;          //  where its unescaped bytes start in the arena (escaped keys)
    size_t len;          //  unescaped length
    const char *value;   //  first byte of its value
    uint64_t hash;       //  of the unescaped bytes (big objects only)
    bool escaped;        //  has escapes: its bytes are in the arena
} s_key_t;

//  One open container (of the check, or of lt_json_canon).
typedef struct {
    size_t key_base;     //  index of its first key in keys
    size_t arena_base;   //  arena bytes in use when it opened (the check)
    size_t count;        //  its keys (lt_json_canon)
    size_t next;         //  the key being written (lt_json_canon)
    const char *end;     //  past its closing brace (lt_json_canon)
    bool object;         //  an object (else an array)
} s_frame_t;

struct _lt_json_scan_t {
    s_key_t *keys;                            //  keys of the open objects, innermost last
    size_t key_count;                         //  keys in use
    size_t key_cap;                           //  keys allocated
    s_frame_t *frames;                        //  open containers, innermost last
    size_t frame_cap;                         //  frames allocated
    char *arena;                              //  unescaped bytes of escaped keys
    size_t arena_used;                        //  bytes in use
    size_t arena_cap;                         //  bytes allocated
    char *scratch;                            //  lt_json_canon: keys to sort, a real's text
    size_t scratch_cap;                       //  bytes allocated
    bool top_object;                          //  the last buffer accepted is an object
    const char *end;                          //  its end
    uint16_t slots[2 * S_HASHED_KEYS];        //  hash table of a mid-sized object's keys
    s_key_t key_inline[S_INLINE_KEYS];        //  first keys
    s_frame_t frame_inline[S_INLINE_FRAMES];  //  first frames
    char arena_inline[S_INLINE_ARENA];        //  first arena bytes
    char scratch_inline[S_INLINE_SCRATCH];    //  first scratch bytes
};

lt_json_scan_t *lt_json_scan_new(void)
{
    lt_json_scan_t *self = malloc(sizeof(*self));
    if (!self)
        return NULL;
    self->keys = self->key_inline;
    self->key_count = 0;
    self->key_cap = S_INLINE_KEYS;
    self->frames = self->frame_inline;
    self->frame_cap = S_INLINE_FRAMES;
    self->arena = self->arena_inline;
    self->arena_used = 0;
    self->arena_cap = S_INLINE_ARENA;
    self->scratch = self->scratch_inline;
    self->scratch_cap = S_INLINE_SCRATCH;
    self->top_object = false;
    self->end = NULL;
    return self;
}

void lt_json_scan_destroy(lt_json_scan_t **self_p)
{
    assert(self_p);
    lt_json_scan_t *self = *self_p;
    if (!self)
        return;
    if (self->keys != self->key_inline)
        free(self->keys);
    if (self->frames != self->frame_inline)
        free(self->frames);
    if (self->arena != self->arena_inline)
        free(self->arena);
    if (self->scratch != self->scratch_inline)
        free(self->scratch);
    free(self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------------
//  Lexical pieces

//  An ASCII digit (jansson's l_isdigit).
static bool s_digit(int c)
{
    return c >= '0' && c <= '9';
}

//  An ASCII letter (a literal is read as a run of them).
static bool s_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

//  JSON whitespace: space, tab, newline, carriage return.
static bool s_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

//  Past the whitespace at p.
static const char *s_skip_space(const char *p, const char *e)
{
    while (p < e && s_space(*p))
        p++;
    return p;
}

//  Value of 4 hex digits at p (before e), or -1.
static long s_hex4(const char *p, const char *e)
{
    if (e - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char) p[i], d;
        if (s_digit(c))
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

//  Length of the well-formed UTF-8 sequence of 2 to 4 bytes at p (before
//  e), or 0 (overlong forms, surrogates and code points past U+10FFFF are
//  not well formed).
static inline size_t s_utf8(const unsigned char *p, const unsigned char *e)
{
    unsigned c = p[0];
    size_t avail = (size_t) (e - p);
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
                       (p[3] & 0xC0) == 0x80
                   ? 4
                   : 0;
    }
    return 0;
}

void lt_json_utf8_scrub(char *text)
{
    assert(text);
    unsigned char *in = (unsigned char *) text, *out = in;
    const unsigned char *end = in + strlen(text);
    while (in < end) {
        size_t len = *in < 0x80 ? 1 : s_utf8(in, end);
        if (!len) {
            in++;
            continue;
        }
        memmove(out, in, len);
        out += len;
        in += len;
    }
    *out = 0;
}

//  Write code point v as UTF-8 into u; returns its length.
static size_t s_encode(long v, char *u)
{
    if (v < 0x80) {
        u[0] = (char) v;
        return 1;
    }
    if (v < 0x800) {
        u[0] = (char) (0xC0 | (v >> 6));
        u[1] = (char) (0x80 | (v & 0x3F));
        return 2;
    }
    if (v < 0x10000) {
        u[0] = (char) (0xE0 | (v >> 12));
        u[1] = (char) (0x80 | ((v >> 6) & 0x3F));
        u[2] = (char) (0x80 | (v & 0x3F));
        return 3;
    }
    u[0] = (char) (0xF0 | (v >> 18));
    u[1] = (char) (0x80 | ((v >> 12) & 0x3F));
    u[2] = (char) (0x80 | ((v >> 6) & 0x3F));
    u[3] = (char) (0x80 | (v & 0x3F));
    return 4;
}

//  Bytes a string holds as they are: printable ASCII but '"' and '\\'.
static const bool s_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0x00
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0x10
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x20
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x30
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x40
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,   //  0x50
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x60
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x70
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0x80
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0x90
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0xA0
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0xB0
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0xC0
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0xD0
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0xE0
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   //  0xF0
};

//  Check a string from p (just after its opening quote): the end past its
//  closing quote with *len its unescaped length and *escaped set, or NULL
//  with *why set.
static const char *s_string(const char *p, const char *e, size_t *len, bool *escaped,
                            const char **why)
{
    size_t shrink = 0;   //  bytes of escapes beyond what they stand for
    const char *start = p;
    bool esc = false;
    for (;;) {
        while (e - p >= 4 && s_plain[(unsigned char) p[0]] && s_plain[(unsigned char) p[1]] &&
               s_plain[(unsigned char) p[2]] && s_plain[(unsigned char) p[3]])
            p += 4;
        while (p < e && s_plain[(unsigned char) *p])
            p++;
        if (p == e)
            break;
        unsigned char c = (unsigned char) *p;
        if (c == '"') {
            *len = (size_t) (p - start) - shrink;
            *escaped = esc;
            return p + 1;
        }
        if (c < 0x20)
            return *why = "control character in a string", NULL;
        if (c >= 0x80) {
            size_t k = s_utf8((const unsigned char *) p, (const unsigned char *) e);
            if (!k)
                return *why = "invalid UTF-8", NULL;
            p += k;
            continue;
        }
        //  An escape.
        esc = true;
        if (e - p < 2)
            break;
        c = (unsigned char) p[1];
        if (c != 'u') {
            if (!strchr("\"\\/bfnrt", c) || c == 0)
                return *why = "invalid escape", NULL;
            p += 2;
            shrink += 1;
            continue;
        }
        long v = s_hex4(p + 2, e);
        if (v < 0)
            return *why = "invalid \\u escape", NULL;
        p += 6;
        if (v >= 0xD800 && v <= 0xDBFF) {
            if (e - p < 2 || p[0] != '\\' || p[1] != 'u')
                return *why = "high surrogate escape without a low one", NULL;
            long w = s_hex4(p + 2, e);
            if (w < 0)
                return *why = "invalid \\u escape", NULL;
            if (w < 0xDC00 || w > 0xDFFF)
                return *why = "high surrogate escape without a low one", NULL;
            p += 6;
            shrink += 12 - 4;
        }
        else if (v >= 0xDC00 && v <= 0xDFFF)
            return *why = "low surrogate escape without a high one", NULL;
        else if (v == 0)
            return *why = "\\u0000 in a string", NULL;
        else
            shrink += 6 - (v < 0x80 ? 1 : v < 0x800 ? 2 : 3);
    }
    return *why = "unterminated string", NULL;
}

//  Decode the escape at *qp (its backslash, in a checked string) into u;
//  returns the bytes written and moves *qp past it.
static size_t s_escape(const char **qp, char *u)
{
    const char *q = *qp;
    char c = q[1];
    *qp = q + 2;
    switch (c) {
    case 'b':
        return u[0] = '\b', 1;
    case 'f':
        return u[0] = '\f', 1;
    case 'n':
        return u[0] = '\n', 1;
    case 'r':
        return u[0] = '\r', 1;
    case 't':
        return u[0] = '\t', 1;
    case 'u':
        break;
    default:
        return u[0] = c, 1;
    }
    long v = s_hex4(q + 2, q + 6);
    *qp = q + 6;
    if (v >= 0xD800 && v <= 0xDBFF) {
        long w = s_hex4(q + 8, q + 12);
        v = ((v - 0xD800) << 10) + (w - 0xDC00) + 0x10000;
        *qp = q + 12;
    }
    return s_encode(v, u);
}

//  Unescape a checked string from raw (after its opening quote) into out,
//  at most max bytes (a code point may be cut); returns the bytes written.
static size_t s_unescape(const char *raw, char *out, size_t max)
{
    size_t used = 0;
    const char *q = raw;
    while (used < max) {
        const char *run = q;
        while (*q != '"' && *q != '\\')
            q++;
        size_t k = (size_t) (q - run);
        if (k > max - used)
            k = max - used;
        memcpy(out + used, run, k);
        used += k;
        if (*q == '"' || used == max)
            break;
        char u[4];
        k = s_escape(&q, u);
        if (k > max - used)
            k = max - used;
        memcpy(out + used, u, k);
        used += k;
    }
    return used;
}

//  True when a real with integer digits [ip, ie), fraction digits [fp, fe)
//  (fp NULL when none) and exponent exp is beyond what strtod gives as a
//  finite double (it rounds to nearest; underflow is no failure).
static bool s_overflows(const char *ip, const char *ie, const char *fp, const char *fe,
                        int64_t exp)
{
    //  lead: the power of ten of the first significant digit.
    int64_t lead;
    const char *q = ip;
    while (q < ie && *q == '0')
        q++;
    if (q < ie)
        lead = (int64_t) (ie - q) - 1;
    else {
        if (!fp)
            return false;
        q = fp;
        while (q < fe && *q == '0')
            q++;
        if (q == fe)
            return false;   //  zero
        lead = -(int64_t) (q - fp) - 1;
    }
    int64_t top = lead + exp;
    if (top != 308)
        return top > 308;
    //  Same magnitude as the threshold: compare the digits.
    size_t i = 0;
    for (int part = 0; part < 2; part++) {
        const char *end = part == 0 ? ie : fe;
        if (part == 1) {
            if (!fp)
                break;
            if (q < fp || q > fe)
                q = fp;
        }
        for (; q < end; q++) {
            if (i == sizeof(s_overflow_digits) - 1)
                return true;   //  equal so far: at or above the threshold
            if (*q != s_overflow_digits[i])
                return *q > s_overflow_digits[i];
            i++;
        }
    }
    if (i == sizeof(s_overflow_digits) - 1)
        return true;
    for (; i < sizeof(s_overflow_digits) - 1; i++)
        if (s_overflow_digits[i] != '0')
            return false;   //  the threshold has more: below it
    return true;
}

//  Check a number at p: the end past it with *real set, or NULL with *why set.
static const char *s_number(const char *p, const char *e, bool *real, const char **why)
{
    bool neg = *p == '-';
    if (neg)
        p++;
    const char *ip = p;
    if (p == e || !s_digit(*p))
        return *why = "invalid number", NULL;
    if (*p == '0') {
        p++;
        if (p < e && s_digit(*p))
            return *why = "leading zero in a number", NULL;
    }
    else
        while (p < e && s_digit(*p))
            p++;
    const char *ie = p;
    if (p == e || (*p != '.' && *p != 'e' && *p != 'E')) {
        size_t digits = (size_t) (ie - ip);
        if (digits > 19 ||
            (digits == 19 &&
             memcmp(ip, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0))
            return *why = "integer out of range", NULL;
        *real = false;
        return p;
    }
    const char *fp = NULL, *fe = NULL;
    if (*p == '.') {
        p++;
        if (p == e || !s_digit(*p))
            return *why = "invalid number", NULL;
        fp = p;
        while (p < e && s_digit(*p))
            p++;
        fe = p;
    }
    int64_t exp = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < e && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == e || !s_digit(*p))
            return *why = "invalid number", NULL;
        while (p < e && s_digit(*p)) {
            if (exp < 1000000000000000LL)   //  far past any effect: saturate
                exp = exp * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            exp = -exp;
    }
    if (s_overflows(ip, ie, fp, fe, exp))
        return *why = "real number overflow", NULL;
    *real = true;
    return p;
}

//  ---------------------------------------------------------------------------
//  Keys and containers

//  Make room for one more key; -1 when out of memory.
static int s_key_room(lt_json_scan_t *self)
{
    if (self->key_count < self->key_cap)
        return 0;
    size_t cap = self->key_cap * 2;
    s_key_t *keys = malloc(cap * sizeof(*keys));
    if (!keys)
        return -1;
    memcpy(keys, self->keys, self->key_count * sizeof(*keys));
    if (self->keys != self->key_inline)
        free(self->keys);
    self->keys = keys;
    self->key_cap = cap;
    return 0;
}

//  Make room for len more arena bytes; -1 when out of memory.
static int s_arena_room(lt_json_scan_t *self, size_t len)
{
    if (self->arena_cap - self->arena_used >= len)
        return 0;
    size_t cap = self->arena_cap;
    while (cap - self->arena_used < len)
        cap *= 2;
    char *arena = malloc(cap);
    if (!arena)
        return -1;
    memcpy(arena, self->arena, self->arena_used);
    if (self->arena != self->arena_inline)
        free(self->arena);
    self->arena = arena;
    self->arena_cap = cap;
    return 0;
}

//  Make room for one more frame (at most S_MAX_DEPTH); -1 when out of memory.
static int s_frame_room(lt_json_scan_t *self, size_t count)
{
    if (count < self->frame_cap)
        return 0;
    s_frame_t *frames = malloc(S_MAX_DEPTH * sizeof(*frames));
    if (!frames)
        return -1;
    memcpy(frames, self->frames, count * sizeof(*frames));
    self->frames = frames;
    self->frame_cap = S_MAX_DEPTH;
    return 0;
}

//  FNV-1a of a key's bytes.
static uint64_t s_hash(const char *bytes, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) bytes[i]) * 0x100000001b3ULL;
    return h;
}

//  Order of keys by hash, length, then bytes (a full order: collisions only
//  cost comparisons).
static int s_key_cmp(const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->bytes, y->bytes, x->len);
}

//  True when two keys unescape to the same bytes.
static bool s_key_same(const s_key_t *x, const s_key_t *y)
{
    return x->len == y->len && memcmp(x->bytes, y->bytes, x->len) == 0;
}

//  True when two of the count keys at keys are the same: pair by pair for
//  a few, through a hash table for some, sorted for many (an adversary's
//  colliding keys cost at most S_HASHED_KEYS^2 comparisons).
static bool s_repeats(lt_json_scan_t *self, s_key_t *keys, size_t count)
{
    for (size_t i = 0; i < count; i++)
        keys[i].bytes = keys[i].escaped ? self->arena + keys[i].off : keys[i].raw;
    if (count <= S_FEW_KEYS) {
        for (size_t i = 1; i < count; i++)
            for (size_t j = 0; j < i; j++)
                if (s_key_same(&keys[i], &keys[j]))
                    return true;
        return false;
    }
    for (size_t i = 0; i < count; i++)
        keys[i].hash = s_hash(keys[i].bytes, keys[i].len);
    if (count <= S_HASHED_KEYS) {
        size_t size = 32;
        while (size < 2 * count)
            size *= 2;
        memset(self->slots, 0, size * sizeof(self->slots[0]));
        for (size_t i = 0; i < count; i++) {
            size_t at = (size_t) (keys[i].hash & (size - 1));
            while (self->slots[at]) {
                const s_key_t *other = &keys[self->slots[at] - 1];
                if (other->hash == keys[i].hash && s_key_same(other, &keys[i]))
                    return true;
                at = (at + 1) & (size - 1);
            }
            self->slots[at] = (uint16_t) (i + 1);
        }
        return false;
    }
    qsort(keys, count, sizeof(*keys), s_key_cmp);
    for (size_t i = 1; i < count; i++)
        if (s_key_same(&keys[i], &keys[i - 1]))
            return true;
    return false;
}

//  ---------------------------------------------------------------------------
//  The check

//  Refuse: err names what is wrong and where; -1.
static int s_refuse(lt_err_t *err, const char *start, const char *p, const char *why)
{
    lt_err_set(err, LT_EINVAL, "JSON refused at byte %zu: %s", (size_t) (p - start), why);
    return -1;
}

int lt_json_scan_check(lt_json_scan_t *self, const void *data, size_t size, lt_json_t *root,
                       lt_err_t *err)
{
    assert(self && root);
    root->at = NULL;
    root->end = NULL;
    if (!data)
        return lt_err_set(err, LT_EINVAL, "JSON refused: no buffer"), -1;
    const char *start = data, *p = start, *e = start + size;
    const char *why = NULL;
    size_t depth = 0;   //  open containers
    self->key_count = 0;
    self->arena_used = 0;
    self->top_object = false;
    p = s_skip_space(p, e);
    if (p == e || (*p != '{' && *p != '['))
        return s_refuse(err, start, p, "'[' or '{' expected");
    const char *top = p;

value:   //  a value at p (after space), at depth + 1
    if (depth + 1 > S_MAX_DEPTH)
        return s_refuse(err, start, p, "nested deeper than 2048");
    if (p == e)
        return s_refuse(err, start, p, "value expected");
    switch (*p) {
    case '{':
    case '[':
        if (s_frame_room(self, depth))
            return lt_err_set(err, LT_ENOMEM, "out of memory checking JSON"), -1;
        self->frames[depth].object = *p == '{';
        self->frames[depth].key_base = self->key_count;
        self->frames[depth].arena_base = self->arena_used;
        depth++;
        p = s_skip_space(p + 1, e);
        if (p < e && *p == (self->frames[depth - 1].object ? '}' : ']')) {
            p++;
            depth--;
            goto after;
        }
        if (self->frames[depth - 1].object)
            goto key;
        goto value;
    case '"': {
        size_t len;
        bool escaped;
        p = s_string(p + 1, e, &len, &escaped, &why);
        if (!p)
            return s_refuse(err, start, e, why);
        goto after;
    }
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        bool real;
        const char *q = s_number(p, e, &real, &why);
        if (!q)
            return s_refuse(err, start, p, why);
        p = q;
        break;
    }
    default: {
        const char *q = p;
        while (q < e && s_alpha(*q))
            q++;
        size_t len = (size_t) (q - p);
        if (!((len == 4 && memcmp(p, "true", 4) == 0) || (len == 5 && memcmp(p, "false", 5) == 0) ||
              (len == 4 && memcmp(p, "null", 4) == 0)))
            return s_refuse(err, start, p, "invalid token");
        p = q;
        break;
    }
    }
    //  After a number or a literal jansson reads one byte ahead and puts it
    //  back; a NUL put back is lost, so one NUL there is skipped.
    if (p < e && *p == 0)
        p++;

after:   //  a value ended at p
    if (depth == 0) {
        p = s_skip_space(p, e);
        if (p != e)
            return s_refuse(err, start, p, "end of input expected");
        root->at = top;
        root->end = e;
        self->top_object = *top == '{';
        self->end = e;
        return 0;
    }
    p = s_skip_space(p, e);
    if (p == e)
        return s_refuse(err, start, p, "unexpected end of input");
    s_frame_t *frame = &self->frames[depth - 1];
    if (*p == ',') {
        p = s_skip_space(p + 1, e);
        if (frame->object)
            goto key;
        goto value;
    }
    if (*p != (frame->object ? '}' : ']'))
        return s_refuse(err, start, p, frame->object ? "',' or '}' expected" : "',' or ']' expected");
    p++;
    if (frame->object) {
        if (s_repeats(self, self->keys + frame->key_base, self->key_count - frame->key_base))
            return s_refuse(err, start, p, "duplicate object key");
        if (depth > 1) {   //  the top object's keys stay for lt_json_scan_pick
            self->key_count = frame->key_base;
            self->arena_used = frame->arena_base;
        }
    }
    depth--;
    goto after;

key:   //  a member of the innermost object at p (after space)
    if (p == e || *p != '"')
        return s_refuse(err, start, p, "string expected as an object key");
    {
        size_t len;
        bool escaped;
        const char *raw = p + 1;
        p = s_string(raw, e, &len, &escaped, &why);
        if (!p)
            return s_refuse(err, start, raw, why);
        if (s_key_room(self) || (escaped && s_arena_room(self, len)))
            return lt_err_set(err, LT_ENOMEM, "out of memory checking JSON"), -1;
        s_key_t *key = &self->keys[self->key_count++];
        key->raw = raw;
        key->len = len;
        key->escaped = escaped;
        key->off = self->arena_used;
        if (escaped) {
            size_t got = s_unescape(raw, self->arena + self->arena_used, len);
            assert(got == len);
            self->arena_used += got;
        }
    }
    p = s_skip_space(p, e);
    if (p == e || *p != ':')
        return s_refuse(err, start, p, "':' expected");
    p = s_skip_space(p + 1, e);
    self->keys[self->key_count - 1].value = p;
    goto value;
}

//  ---------------------------------------------------------------------------
//  Reading an accepted buffer

//  Skip space in an accepted buffer (where a NUL can stand after a number).
static const char *s_pass_space(const char *p, const char *e)
{
    while (p < e && (s_space(*p) || *p == 0))
        p++;
    return p;
}

//  Past the checked string whose opening quote is at p.
static const char *s_pass_string(const char *p)
{
    for (p++;; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
}

//  Past the checked value at p.
static const char *s_pass_value(const char *p, const char *e)
{
    if (*p == '"')
        return s_pass_string(p);
    if (*p != '{' && *p != '[') {
        while (p < e && (s_digit(*p) || s_alpha(*p) || *p == '-' || *p == '+' || *p == '.'))
            p++;
        return p;
    }
    size_t open = 0;
    while (p < e) {
        char c = *p;
        if (c == '"') {
            p = s_pass_string(p);
            continue;
        }
        p++;
        if (c == '{' || c == '[')
            open++;
        else if ((c == '}' || c == ']') && --open == 0)
            break;
    }
    return p;
}

lt_json_type_t lt_json_type(lt_json_t value)
{
    const char *p = value.at;
    if (!p || p >= value.end)
        return LT_JSON_NONE;
    switch (*p) {
    case '{':
        return LT_JSON_OBJECT;
    case '[':
        return LT_JSON_ARRAY;
    case '"':
        return LT_JSON_STRING;
    case 't':
        return LT_JSON_TRUE;
    case 'f':
        return LT_JSON_FALSE;
    case 'n':
        return LT_JSON_NULL;
    default:
        break;
    }
    if (*p == '-')
        p++;
    while (p < value.end && s_digit(*p))
        p++;
    return p < value.end && (*p == '.' || *p == 'e' || *p == 'E') ? LT_JSON_REAL : LT_JSON_INTEGER;
}

//  True when the checked key after its opening quote at raw unescapes to
//  name.
static bool s_key_is(const char *raw, const char *name)
{
    const unsigned char *s = (const unsigned char *) name;
    const char *q = raw;
    while (*q != '"') {
        if (*q != '\\') {
            if ((unsigned char) *q != *s)
                return false;
            q++;
            s++;
            continue;
        }
        char u[4];
        size_t k = s_escape(&q, u);
        for (size_t i = 0; i < k; i++, s++)
            if ((unsigned char) u[i] != *s)
                return false;
    }
    return *s == 0;
}

void lt_json_pick(lt_json_t object, const char *const *names, size_t count, lt_json_t *found)
{
    size_t missing = count;
    for (size_t i = 0; i < count; i++) {
        found[i].at = NULL;
        found[i].end = object.end;
    }
    if (lt_json_type(object) != LT_JSON_OBJECT)
        return;
    const char *p = s_pass_space(object.at + 1, object.end), *e = object.end;
    while (missing && p < e && *p == '"') {
        const char *raw = p + 1;
        p = s_pass_space(s_pass_string(p), e);   //  at ':'
        p = s_pass_space(p + 1, e);              //  at the value
        char first = *raw == '"' ? 0 : *raw;   //  the key's first byte, 0 when empty
        for (size_t i = 0; i < count; i++) {
            if (found[i].at || (first != names[i][0] && first != '\\'))
                continue;   //  cheap test first: the first byte
            if (s_key_is(raw, names[i])) {
                found[i].at = p;
                missing--;
                break;
            }
        }
        p = s_pass_space(s_pass_value(p, e), e);   //  at ',' or '}'
        if (p < e && *p == ',')
            p = s_pass_space(p + 1, e);
    }
}

void lt_json_scan_pick(lt_json_scan_t *self, const char *const *names, size_t count,
                       lt_json_t *found)
{
    assert(self);
    size_t missing = count, lens[32];
    for (size_t i = 0; i < count; i++) {
        found[i].at = NULL;
        found[i].end = self->end;
        if (i < 32)
            lens[i] = strlen(names[i]);
    }
    if (!self->top_object)
        return;
    for (size_t k = 0; k < self->key_count && missing; k++) {
        const s_key_t *key = &self->keys[k];
        for (size_t i = 0; i < count; i++) {
            if (found[i].at || key->len != (i < 32 ? lens[i] : strlen(names[i])))
                continue;
            if (memcmp(key->bytes, names[i], key->len) == 0) {
                found[i].at = key->value;
                missing--;
                break;
            }
        }
    }
}

lt_json_t lt_json_get(lt_json_t object, const char *name)
{
    lt_json_t found;
    lt_json_pick(object, &name, 1, &found);
    return found;
}

bool lt_json_next(lt_json_t *cursor, lt_json_t *item)
{
    const char *p = cursor->at, *e = cursor->end;
    item->at = NULL;
    item->end = e;
    if (!p || p >= e || (*p != '[' && *p != ','))
        return false;
    p = s_pass_space(p + 1, e);
    if (p >= e || *p == ']') {
        cursor->at = NULL;
        return false;
    }
    item->at = p;
    cursor->at = s_pass_space(s_pass_value(p, e), e);   //  at ',' or ']'
    return true;
}

const char *lt_json_text(lt_json_t value, char *buf, size_t size)
{
    assert(buf && size >= 1);
    lt_json_type_t type = lt_json_type(value);
    buf[0] = 0;
    if (type == LT_JSON_STRING)
        buf[s_unescape(value.at + 1, buf, size - 1)] = 0;
    else if (type == LT_JSON_INTEGER) {
        //  Accumulated as a negative number, which reaches LLONG_MIN.
        const char *p = value.at;
        bool neg = *p == '-';
        if (neg)
            p++;
        long long v = 0;
        for (; p < value.end && s_digit(*p); p++)
            v = v * 10 - (*p - '0');
        snprintf(buf, size, "%lld", neg ? v : -v);
    }
    return buf;
}

size_t lt_json_size(lt_json_t value)
{
    if (lt_json_type(value) != LT_JSON_STRING)
        return 0;
    size_t size = 0;
    const char *q = value.at + 1;
    for (;;) {
        const char *run = q;
        while (*q != '"' && *q != '\\')
            q++;
        size += (size_t) (q - run);
        if (*q == '"')
            return size;
        char u[4];
        size += s_escape(&q, u);
    }
}

//  ---------------------------------------------------------------------------
//  The compact, key-sorted form, as jansson 2.14's json_dumps writes it with
//  JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY (dump.c and strconv.c)

//  Output being appended to.
typedef struct {
    char *buf;    //  the caller's buffer
    size_t len;   //  bytes in it
    size_t cap;   //  bytes allocated
} s_out_t;

//  Grow out for n more bytes and a NUL; -1 when out of memory.
static int s_out_grow(s_out_t *out, size_t n)
{
    size_t cap = out->cap < 256 ? 256 : out->cap;
    while (cap - out->len <= n) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *buf = realloc(out->buf, cap);
    if (!buf)
        return -1;
    out->buf = buf;
    out->cap = cap;
    return 0;
}

//  Make room in out for n more bytes and a NUL; -1 when out of memory.
static inline int s_out_room(s_out_t *out, size_t n)
{
    return out->cap - out->len > n ? 0 : s_out_grow(out, n);
}

//  Append n bytes; -1 when out of memory.
static inline int s_put(s_out_t *out, const char *bytes, size_t n)
{
    if (s_out_room(out, n))
        return -1;
    memcpy(out->buf + out->len, bytes, n);
    out->len += n;
    return 0;
}

//  Make the scratch at least size bytes, keeping what it holds; -1 when out
//  of memory.
static int s_scratch_room(lt_json_scan_t *self, size_t size)
{
    if (size <= self->scratch_cap)
        return 0;
    size_t cap = self->scratch_cap;
    while (cap < size)
        cap *= 2;
    char *scratch = malloc(cap);
    if (!scratch)
        return -1;
    memcpy(scratch, self->scratch, self->scratch_cap);
    if (self->scratch != self->scratch_inline)
        free(self->scratch);
    self->scratch = scratch;
    self->scratch_cap = cap;
    return 0;
}

//  Bytes a checked string holds as they are: all but '"' and '\\'.
static const bool s_quiet[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x00
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x10
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x20
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x30
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x40
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,   //  0x50
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x60
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x70
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x80
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0x90
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0xA0
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0xB0
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0xC0
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0xD0
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0xE0
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   //  0xF0
};

//  Append the checked string whose opening quote is at p as jansson writes
//  its value: '"' and '\\' escaped, \b \f \n \r \t short, the other bytes
//  below 0x20 as \u00XX with capital hex, all else as UTF-8 as it is (so \/
//  and the \u escapes of other characters come out unescaped). Returns past
//  the closing quote, or NULL when out of memory.
static const char *s_put_string(s_out_t *out, const char *p)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *q = p + 1;
    if (s_put(out, "\"", 1))
        return NULL;
    for (;;) {
        const char *run = q;
        while (s_quiet[(unsigned char) q[0]] && s_quiet[(unsigned char) q[1]] &&
               s_quiet[(unsigned char) q[2]] && s_quiet[(unsigned char) q[3]])
            q += 4;   //  safe: the closing quote stops it
        while (s_quiet[(unsigned char) *q])
            q++;
        size_t n = (size_t) (q - run);
        if (s_out_room(out, n + 6))   //  the run and what follows it (6 bytes at most)
            return NULL;
        memcpy(out->buf + out->len, run, n);
        out->len += n;
        if (*q == '"') {
            out->buf[out->len++] = '"';
            return q + 1;
        }
        char u[4];
        size_t k = s_escape(&q, u);
        char *w = out->buf + out->len;
        unsigned char c = (unsigned char) u[0];
        if (k > 1 || (c >= 0x20 && c != '"' && c != '\\')) {
            memcpy(w, u, k);
            out->len += k;
            continue;
        }
        w[0] = '\\';
        out->len += 2;
        switch (c) {
        case '"':
        case '\\':
            w[1] = (char) c;
            break;
        case '\b':
            w[1] = 'b';
            break;
        case '\f':
            w[1] = 'f';
            break;
        case '\n':
            w[1] = 'n';
            break;
        case '\r':
            w[1] = 'r';
            break;
        case '\t':
            w[1] = 't';
            break;
        default:
            memcpy(w + 1, "u00", 3);
            w[4] = hex[c >> 4];
            w[5] = hex[c & 15];
            out->len += 4;
            break;
        }
    }
}

//  Append the checked integer [p, q) as %lld writes the long long it is
//  ("-0" is "0"); -1 when out of memory.
static int s_put_integer(s_out_t *out, const char *p, const char *q)
{
    bool neg = *p == '-';
    if (neg)
        p++;
    long long v = 0;   //  accumulated as a negative number, which reaches LLONG_MIN
    for (; p < q; p++)
        v = v * 10 - (*p - '0');
    char digits[24];
    size_t at = sizeof(digits);
    neg = neg && v != 0;
    do {
        digits[--at] = (char) ('0' - v % 10);
        v /= 10;
    } while (v);
    if (neg)
        digits[--at] = '-';
    return s_put(out, digits + at, sizeof(digits) - at);
}

//  Append the checked real [p, q) as jansson does: strtod of its text,
//  written with %.17g, ".0" added when that has neither '.' nor 'e', then
//  the exponent's '+' and leading zeros dropped (1e+20 is 1e20, 1.5e-07 is
//  1.5e-7). Like jansson it converts in the current locale, swapping '.'
//  for the locale's decimal point and back. -1 when out of memory.
static int s_put_real(lt_json_scan_t *self, s_out_t *out, const char *p, const char *q)
{
    size_t n = (size_t) (q - p);
    if (s_scratch_room(self, n + 1))
        return -1;
    char *text = self->scratch;
    memcpy(text, p, n);
    text[n] = 0;
    char point = localeconv()->decimal_point[0];
    if (point != '.') {
        char *dot = strchr(text, '.');
        if (dot)
            *dot = point;
    }
    double v = strtod(text, NULL);   //  no overflow: the check refused it
    char num[40];                    //  %.17g of a double is at most 24 bytes
    int w = snprintf(num, sizeof(num), "%.17g", v);
    if (w < 0 || (size_t) w >= sizeof(num) - 2)
        return -1;
    size_t len = (size_t) w;
    if (point != '.') {
        char *at = strchr(num, point);
        if (at)
            *at = '.';
    }
    if (!strchr(num, '.') && !strchr(num, 'e')) {
        memcpy(num + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(num, 'e');
    if (start) {
        //  start: the exponent's sign ('-' kept); end: past the zeros that
        //  follow it.
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len + 1 - (size_t) (end - num));
            len -= (size_t) (end - start);
        }
    }
    return s_put(out, num, len);
}

//  Order of keys as jansson sorts them: their unescaped bytes compared as
//  memcmp does, the shorter first when one begins the other.
static int s_key_order(const s_key_t *x, const s_key_t *y)
{
    int c = memcmp(x->bytes, y->bytes, x->len < y->len ? x->len : y->len);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

//  s_key_order for qsort.
static int s_key_order_q(const void *a, const void *b)
{
    return s_key_order(a, b);
}

//  Sort count keys (all different) by s_key_order: by insertion when few,
//  which is also quick when they already come sorted.
static void s_sort_keys(s_key_t *keys, size_t count)
{
    if (count > S_INSERTION_SORT) {
        qsort(keys, count, sizeof(*keys), s_key_order_q);
        return;
    }
    for (size_t i = 1; i < count; i++) {
        if (s_key_order(&keys[i - 1], &keys[i]) < 0)
            continue;
        s_key_t key = keys[i];
        size_t j = i;
        for (; j > 0 && s_key_order(&keys[j - 1], &key) > 0; j--)
            keys[j] = keys[j - 1];
        keys[j] = key;
    }
}

//  Push the members of the checked object at p above the keys in use (the
//  check's stay as they are) and sort them; the unescaped bytes of escaped
//  keys are in the scratch only while sorting. Returns past the object, or
//  NULL when out of memory.
static const char *s_gather(lt_json_scan_t *self, const char *p, const char *e)
{
    size_t base = self->key_count, used = 0;
    p = s_pass_space(p + 1, e);
    while (p < e && *p == '"') {
        if (s_key_room(self))
            return NULL;
        s_key_t *key = &self->keys[self->key_count++];
        const char *raw = p + 1, *q = raw;
        bool escaped = false;
        for (;; q++) {
            if (*q == '\\') {
                escaped = true;
                q++;
            }
            else if (*q == '"')
                break;
        }
        key->raw = raw;
        key->len = (size_t) (q - raw);
        key->escaped = escaped;
        if (escaped) {
            //  Unescaped, a key is never longer than its text.
            if (s_scratch_room(self, used + key->len))
                return NULL;
            key->off = used;
            key->len = s_unescape(raw, self->scratch + used, key->len);
            used += key->len;
        }
        p = s_pass_space(q + 1, e);   //  at ':'
        p = s_pass_space(p + 1, e);   //  at the value
        key->value = p;
        p = s_pass_space(s_pass_value(p, e), e);   //  at ',' or '}'
        if (p < e && *p == ',')
            p = s_pass_space(p + 1, e);
    }
    s_key_t *keys = self->keys + base;
    size_t count = self->key_count - base;
    for (size_t i = 0; i < count; i++)
        keys[i].bytes = keys[i].escaped ? self->scratch + keys[i].off : keys[i].raw;
    s_sort_keys(keys, count);
    return p + 1;
}

int lt_json_canon(lt_json_scan_t *self, lt_json_t value, char **buf, size_t *len, size_t *cap)
{
    assert(self && buf && len && cap);
    assert(*len <= *cap && (*buf || *cap == 0));
    s_out_t out = {*buf, *len, *cap};
    const size_t keys_in_use = self->key_count;   //  the check's, kept for lt_json_scan_pick
    const char *p = value.at, *e = value.end;
    size_t depth = 0;   //  open containers, in self->frames
    int rc = -1;
    if (!p || p >= e)
        goto done;

value:   //  write the value at p
    switch (*p) {
    case '{': {
        if (depth == S_MAX_DEPTH || s_frame_room(self, depth))
            goto done;
        size_t base = self->key_count;
        const char *end = s_gather(self, p, e);
        if (!end || s_put(&out, "{", 1))
            goto done;
        if (self->key_count == base) {
            if (s_put(&out, "}", 1))
                goto done;
            p = end;
            goto after;
        }
        s_frame_t *frame = &self->frames[depth++];
        frame->object = true;
        frame->key_base = base;
        frame->count = self->key_count - base;
        frame->next = 0;
        frame->end = end;
        goto member;
    }
    case '[':
        if (depth == S_MAX_DEPTH || s_frame_room(self, depth) || s_put(&out, "[", 1))
            goto done;
        p = s_pass_space(p + 1, e);
        if (*p == ']') {
            if (s_put(&out, "]", 1))
                goto done;
            p++;
            goto after;
        }
        self->frames[depth++].object = false;
        goto value;
    case '"':
        p = s_put_string(&out, p);
        if (!p)
            goto done;
        goto after;
    case 't':
        if (s_put(&out, "true", 4))
            goto done;
        p += 4;
        goto after;
    case 'f':
        if (s_put(&out, "false", 5))
            goto done;
        p += 5;
        goto after;
    case 'n':
        if (s_put(&out, "null", 4))
            goto done;
        p += 4;
        goto after;
    default: {
        const char *q = p;
        bool real = false;
        for (; q < e; q++) {
            if (*q == '.' || *q == 'e' || *q == 'E')
                real = true;
            else if (!s_digit(*q) && *q != '-' && *q != '+')
                break;
        }
        if (real ? s_put_real(self, &out, p, q) : s_put_integer(&out, p, q))
            goto done;
        p = q;
        goto after;
    }
    }

after:   //  a value written, p past it in the buffer
    if (depth == 0) {
        rc = 0;
        goto done;
    }
    {
        s_frame_t *frame = &self->frames[depth - 1];
        if (frame->object) {
            if (++frame->next < frame->count) {
                if (s_put(&out, ",", 1))
                    goto done;
                goto member;
            }
            if (s_put(&out, "}", 1))
                goto done;
            self->key_count = frame->key_base;
            p = frame->end;
            depth--;
            goto after;
        }
        p = s_pass_space(p, e);   //  at ',' or ']'
        char c = *p;
        p = s_pass_space(p + 1, e);
        if (s_put(&out, &c, 1))
            goto done;
        if (c == ',')
            goto value;
        depth--;
        goto after;
    }

member:   //  write the next key of the innermost object, then its value
    {
        const s_frame_t *frame = &self->frames[depth - 1];
        const s_key_t *key = &self->keys[frame->key_base + frame->next];
        p = key->value;
        if (!s_put_string(&out, key->raw - 1) || s_put(&out, ":", 1))
            goto done;
        goto value;
    }

done:
    self->key_count = keys_in_use;
    *buf = out.buf;
    *cap = out.cap;
    if (rc == 0) {
        out.buf[out.len] = 0;   //  every write kept room for it
        *len = out.len;
    }
    return rc;
}
