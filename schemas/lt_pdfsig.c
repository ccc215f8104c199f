/*  lt_pdfsig: PDF signature scanner and CMS verification.

    The scanner does not parse the PDF's object structure (cross-reference
    tables, object streams): signature dictionaries are never compressed,
    since their /Contents is patched in place after the file is laid out.
    For each "/ByteRange" name in the file it walks back to the "<<" that
    opens the enclosing dictionary, then tokenizes that one dictionary
    forward (strings, hex strings, names, nested arrays and dictionaries).
    Only a /ByteRange that is a key of the dictionary counts; one inside a
    string or a stream is not a signature. Every walk is bounded by a window
    around the name, a token budget and a nesting depth.

    Cryptography is OpenSSL's: CMS_verify over the bytes the /ByteRange
    names, first without certificate checks (is the signature intact?), then
    X509_verify_cert against the trust anchors (who signed it?).
*/
#include "lt_pdfsig.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_WINDOW     (LT_PDFSIG_MAX_CONTENTS + 65536)   //  bytes walked around one dictionary
#define S_MAX_TOKENS 4096                                //  tokens read in one dictionary
#define S_MAX_DEPTH  32                                  //  nesting inside one dictionary
#define S_MAX_FILES  1000                                //  files read from a trust directory
#define S_MAX_NAMES  (4 * LT_PDFSIG_MAX_SIGS)            //  /ByteRange names examined per file
#define S_AUTH_LEVEL 2   //  OpenSSL security level of a chain: 112 bits (RSA >= 2048,
                         //  EC >= 224, no MD5 or SHA-1 certificate signatures)

struct _lt_pdfsig_t {
    lt_sig_t verdict;                             //  file verdict
    char reason[320];                             //  why the file is not valid
    size_t count;                                 //  signatures in sigs
    bool too_many;                                //  more dictionaries than the cap
    lt_pdfsig_info_t sigs[LT_PDFSIG_MAX_SIGS];    //  one per signature dictionary
};

//  ---------------------------------------------------------------------
//  Tokenizer for one PDF dictionary

typedef enum {
    S_TOK_END,          //  end of the window
    S_TOK_ERROR,        //  unterminated string or stray delimiter
    S_TOK_DICT_OPEN,    //  <<
    S_TOK_DICT_CLOSE,   //  >>
    S_TOK_ARRAY_OPEN,   //  [
    S_TOK_ARRAY_CLOSE,  //  ]
    S_TOK_NAME,         //  /Name
    S_TOK_NUMBER,       //  123, -4.5
    S_TOK_STRING,       //  (literal)
    S_TOK_HEX,          //  <hex>
    S_TOK_WORD,         //  R, true, null, obj...
} s_tok_type_t;

typedef struct {
    s_tok_type_t type;   //  what the token is
    size_t start;        //  offset of its first byte
    size_t end;          //  offset after its last byte
} s_tok_t;

typedef struct {
    const uint8_t *data;   //  the file
    size_t pos;            //  next byte to read
    size_t end;            //  end of the window
    size_t tokens;         //  tokens read so far
} s_lexer_t;

//  Byte classes of the tokenizer, one table lookup per byte scanned (the
//  scanner walks every byte around each /ByteRange name).
enum {
    S_SPACE = 1,    //  PDF white space
    S_DELIM = 2,    //  PDF delimiter
    S_DIGIT = 4,    //  a byte of a number: digit, sign or point
};

static const uint8_t s_class[256] = {
    [0] = S_SPACE, ['\t'] = S_SPACE, ['\n'] = S_SPACE, ['\f'] = S_SPACE, ['\r'] = S_SPACE,
    [' '] = S_SPACE,
    ['('] = S_DELIM, [')'] = S_DELIM, ['<'] = S_DELIM, ['>'] = S_DELIM, ['['] = S_DELIM,
    [']'] = S_DELIM, ['{'] = S_DELIM, ['}'] = S_DELIM, ['/'] = S_DELIM, ['%'] = S_DELIM,
    ['0'] = S_DIGIT, ['1'] = S_DIGIT, ['2'] = S_DIGIT, ['3'] = S_DIGIT, ['4'] = S_DIGIT,
    ['5'] = S_DIGIT, ['6'] = S_DIGIT, ['7'] = S_DIGIT, ['8'] = S_DIGIT, ['9'] = S_DIGIT,
    ['+'] = S_DIGIT, ['-'] = S_DIGIT, ['.'] = S_DIGIT,
};

//  Return true for a PDF white-space byte.
static bool s_is_space(uint8_t c)
{
    return (s_class[c] & S_SPACE) != 0;
}

//  Return true for a PDF delimiter byte.
static bool s_is_delim(uint8_t c)
{
    return (s_class[c] & S_DELIM) != 0;
}

//  Read the next token of the window; S_TOK_END at its end.
static s_tok_t s_lex_next(s_lexer_t *lx)
{
    const uint8_t *d = lx->data;
    while (lx->pos < lx->end) {
        if (s_is_space(d[lx->pos]))
            lx->pos++;
        else if (d[lx->pos] == '%') {
            while (lx->pos < lx->end && d[lx->pos] != '\n' && d[lx->pos] != '\r')
                lx->pos++;
        }
        else
            break;
    }
    s_tok_t tok = {S_TOK_END, lx->pos, lx->pos};
    if (lx->pos >= lx->end)
        return tok;
    if (++lx->tokens > S_MAX_TOKENS) {
        tok.type = S_TOK_ERROR;
        return tok;
    }
    size_t p = lx->pos;
    uint8_t c = d[p];
    if (c == '<' && p + 1 < lx->end && d[p + 1] == '<') {
        tok.type = S_TOK_DICT_OPEN;
        p += 2;
    }
    else if (c == '<') {
        //  A /Contents hex string is most of a signature dictionary.
        const uint8_t *close = memchr(d + p + 1, '>', lx->end - p - 1);
        tok.type = close ? S_TOK_HEX : S_TOK_ERROR;
        p = close ? (size_t) (close - d) + 1 : lx->end;
    }
    else if (c == '>') {
        bool pair = p + 1 < lx->end && d[p + 1] == '>';
        tok.type = pair ? S_TOK_DICT_CLOSE : S_TOK_ERROR;
        p += pair ? 2 : 1;
    }
    else if (c == '[' || c == ']') {
        tok.type = c == '[' ? S_TOK_ARRAY_OPEN : S_TOK_ARRAY_CLOSE;
        p++;
    }
    else if (c == '(') {
        size_t depth = 0;
        tok.type = S_TOK_ERROR;
        while (p < lx->end) {
            if (d[p] == '\\') {
                p = p + 2 < lx->end ? p + 2 : lx->end;
                continue;
            }
            if (d[p] == '(')
                depth++;
            else if (d[p] == ')' && --depth == 0) {
                p++;
                tok.type = S_TOK_STRING;
                break;
            }
            p++;
        }
    }
    else if (c == '/') {
        p++;
        while (p < lx->end && (s_class[d[p]] & (S_SPACE | S_DELIM)) == 0)
            p++;
        tok.type = S_TOK_NAME;
    }
    else if (c == ')') {
        tok.type = S_TOK_ERROR;
        p++;
    }
    else if (c == '{' || c == '}') {
        tok.type = S_TOK_WORD;
        p++;
    }
    else {
        bool number = true;
        while (p < lx->end && (s_class[d[p]] & (S_SPACE | S_DELIM)) == 0) {
            if ((s_class[d[p]] & S_DIGIT) == 0)
                number = false;
            p++;
        }
        tok.type = number ? S_TOK_NUMBER : S_TOK_WORD;
    }
    lx->pos = p;
    tok.end = p;
    return tok;
}

//  Return true when the token's bytes are exactly text.
static bool s_tok_is(const s_lexer_t *lx, s_tok_t tok, const char *text)
{
    size_t len = strlen(text);
    return tok.end - tok.start == len && memcmp(lx->data + tok.start, text, len) == 0;
}

//  Skip the rest of an array or dictionary whose opening token was just
//  read; false when it does not close within the window or nests too deep.
static bool s_skip_container(s_lexer_t *lx, s_tok_type_t open)
{
    s_tok_type_t stack[S_MAX_DEPTH];
    size_t depth = 0;
    stack[depth++] = open;
    while (depth > 0) {
        s_tok_t tok = s_lex_next(lx);
        if (tok.type == S_TOK_END || tok.type == S_TOK_ERROR)
            return false;
        if (tok.type == S_TOK_ARRAY_OPEN || tok.type == S_TOK_DICT_OPEN) {
            if (depth == S_MAX_DEPTH)
                return false;
            stack[depth++] = tok.type;
        }
        else if (tok.type == S_TOK_ARRAY_CLOSE || tok.type == S_TOK_DICT_CLOSE) {
            s_tok_type_t want =
                tok.type == S_TOK_ARRAY_CLOSE ? S_TOK_ARRAY_OPEN : S_TOK_DICT_OPEN;
            if (stack[--depth] != want)
                return false;
        }
    }
    return true;
}

//  ---------------------------------------------------------------------
//  Signature dictionary

typedef struct {
    bool is_key;           //  the /ByteRange found by the search is a key here
    char error[96];        //  why the dictionary could not be read to its end
    int range_count;       //  integers in /ByteRange
    bool range_bad;        //  /ByteRange is not an array of non-negative integers
    uint64_t range[4];     //  the first four integers
    bool has_contents;     //  /Contents is present
    s_tok_t contents;      //  its value token
    char type[32];         //  /Type without the slash
    char subfilter[64];    //  /SubFilter without the slash
    bool has_m;            //  /M is present as a string
    s_tok_t m;             //  its value token
    size_t keys[S_MAX_NAMES];   //  offsets of the /ByteRange keys read
    size_t key_count;      //  entries in keys
    bool keys_over;        //  more /ByteRange keys than keys holds
} s_sigdict_t;

//  Copy a name token without its slash, printable ASCII only.
static void s_copy_name(const s_lexer_t *lx, s_tok_t tok, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = tok.start + 1; i < tok.end && n + 1 < size; i++) {
        uint8_t c = lx->data[i];
        out[n++] = c > 32 && c < 127 ? (char) c : '?';
    }
    out[n] = 0;
}

//  Parse a non-negative decimal integer token; false on sign, fraction or
//  overflow.
static bool s_parse_u64(const s_lexer_t *lx, s_tok_t tok, uint64_t *value)
{
    if (tok.type != S_TOK_NUMBER || tok.end == tok.start)
        return false;
    uint64_t v = 0;
    for (size_t i = tok.start; i < tok.end; i++) {
        uint8_t c = lx->data[i];
        if (c < '0' || c > '9')
            return false;
        if (v > (UINT64_MAX - (uint64_t) (c - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t) (c - '0');
    }
    *value = v;
    return true;
}

//  Read the /ByteRange array whose "[" was just read into dict.
static void s_read_range(s_lexer_t *lx, s_sigdict_t *dict)
{
    for (;;) {
        s_tok_t tok = s_lex_next(lx);
        if (tok.type == S_TOK_ARRAY_CLOSE)
            return;
        if (tok.type == S_TOK_END || tok.type == S_TOK_ERROR) {
            dict->range_bad = true;
            snprintf(dict->error, sizeof(dict->error), "/ByteRange array not closed");
            return;
        }
        uint64_t v = 0;
        if (!s_parse_u64(lx, tok, &v)) {
            dict->range_bad = true;
            if ((tok.type == S_TOK_ARRAY_OPEN || tok.type == S_TOK_DICT_OPEN) &&
                !s_skip_container(lx, tok.type)) {
                snprintf(dict->error, sizeof(dict->error), "/ByteRange array not closed");
                return;
            }
            continue;
        }
        if (dict->range_count < 4)
            dict->range[dict->range_count] = v;
        dict->range_count++;
    }
}

//  Parse the dictionary that opens at start; occurrence is the offset of the
//  /ByteRange name the search found.
static void s_parse_dict(const uint8_t *data, size_t size, size_t start, size_t occurrence,
                         s_sigdict_t *dict)
{
    memset(dict, 0, sizeof(*dict));
    s_lexer_t lx = {data, start, size - start > S_WINDOW ? start + S_WINDOW : size, 0};
    s_tok_t tok = s_lex_next(&lx);
    if (tok.type != S_TOK_DICT_OPEN) {
        snprintf(dict->error, sizeof(dict->error), "dictionary does not open with <<");
        return;
    }
    for (;;) {
        s_tok_t key = s_lex_next(&lx);
        if (key.type == S_TOK_DICT_CLOSE)
            return;
        if (key.type == S_TOK_END) {
            snprintf(dict->error, sizeof(dict->error), "dictionary not closed (file truncated?)");
            return;
        }
        if (key.type != S_TOK_NAME) {
            snprintf(dict->error, sizeof(dict->error), "dictionary key at byte %zu is not a name",
                     key.start);
            return;
        }
        s_tok_t value = s_lex_next(&lx);
        if (value.type == S_TOK_END || value.type == S_TOK_ERROR ||
            value.type == S_TOK_DICT_CLOSE || value.type == S_TOK_ARRAY_CLOSE) {
            snprintf(dict->error, sizeof(dict->error), "no value for key at byte %zu",
                     key.start);
            return;
        }
        bool consumed = false;
        bool range_key = s_tok_is(&lx, key, "/ByteRange");
        if (range_key && dict->key_count < S_MAX_NAMES)
            dict->keys[dict->key_count++] = key.start;
        else if (range_key)
            dict->keys_over = true;
        if (range_key && key.start == occurrence) {
            dict->is_key = true;
            if (value.type == S_TOK_ARRAY_OPEN) {
                s_read_range(&lx, dict);
                if (dict->error[0])
                    return;
                consumed = true;
            }
            else
                dict->range_bad = true;
        }
        else if (s_tok_is(&lx, key, "/Contents")) {
            dict->has_contents = true;
            dict->contents = value;
        }
        else if (s_tok_is(&lx, key, "/Type") && value.type == S_TOK_NAME)
            s_copy_name(&lx, value, dict->type, sizeof(dict->type));
        else if (s_tok_is(&lx, key, "/SubFilter") && value.type == S_TOK_NAME)
            s_copy_name(&lx, value, dict->subfilter, sizeof(dict->subfilter));
        else if (s_tok_is(&lx, key, "/M") && value.type == S_TOK_STRING) {
            dict->has_m = true;
            dict->m = value;
        }
        if (!consumed && (value.type == S_TOK_ARRAY_OPEN || value.type == S_TOK_DICT_OPEN) &&
            !s_skip_container(&lx, value.type)) {
            snprintf(dict->error, sizeof(dict->error), "value at byte %zu not closed",
                     value.start);
            return;
        }
        if (value.type == S_TOK_NUMBER) {
            //  An indirect reference "n g R" is one value.
            s_lexer_t peek = lx;
            s_tok_t gen = s_lex_next(&peek);
            s_tok_t r = s_lex_next(&peek);
            if (gen.type == S_TOK_NUMBER && r.type == S_TOK_WORD && s_tok_is(&peek, r, "R"))
                lx = peek;
        }
    }
}

//  True when a dictionary read without finding its search's /ByteRange as a
//  key may hold the one at offset at as a key (only then must it be read
//  again for that name: up to that key the reading does not depend on it).
static bool s_may_be_key(const s_sigdict_t *dict, size_t at)
{
    if (dict->keys_over)
        return true;
    for (size_t i = 0; i < dict->key_count; i++)
        if (dict->keys[i] == at)
            return true;
    return false;
}

//  Offset of the last byte c in data[from, to); SIZE_MAX when none.
static size_t s_last(const uint8_t *data, size_t from, size_t to, uint8_t c)
{
    if (to <= from)
        return SIZE_MAX;
    const uint8_t *hit = memrchr(data + from, c, to - from);
    return hit ? (size_t) (hit - data) : SIZE_MAX;
}

//  Find the "<<" opening the dictionary that encloses offset at; false when
//  none opens within the window. Walks back from one angle bracket to the
//  previous one (memrchr), not byte by byte.
static bool s_dict_start(const uint8_t *data, size_t at, size_t *start)
{
    size_t low = at > S_WINDOW ? at - S_WINDOW : 0;
    size_t lt = s_last(data, low + 1, at, '<');   //  last '<' before i
    size_t gt = s_last(data, low + 1, at, '>');   //  last '>' before i
    size_t depth = 0;
    size_t i = at;
    while (i >= low + 2) {
        if (lt != SIZE_MAX && lt >= i)
            lt = s_last(data, low + 1, i, '<');
        if (gt != SIZE_MAX && gt >= i)
            gt = s_last(data, low + 1, i, '>');
        size_t q = lt == SIZE_MAX ? gt : gt == SIZE_MAX ? lt : lt > gt ? lt : gt;
        if (q == SIZE_MAX)
            return false;
        i = q + 1;   //  data[i - 1] is an angle bracket, and i >= low + 2
        if (data[i - 2] == '<' && data[i - 1] == '<') {
            if (depth == 0) {
                *start = i - 2;
                return true;
            }
            depth--;
            i -= 2;
        }
        else if (data[i - 2] == '>' && data[i - 1] == '>') {
            depth++;
            i -= 2;
        }
        else
            i--;
    }
    return false;
}

//  ---------------------------------------------------------------------
//  Helpers

//  Mark a signature invalid with a printf-formatted reason.
static void s_fail(lt_pdfsig_info_t *info, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void s_fail(lt_pdfsig_info_t *info, const char *format, ...)
{
    info->verdict = LT_SIG_INVALID;
    va_list args;
    va_start(args, format);
    vsnprintf(info->reason, sizeof(info->reason), format, args);
    va_end(args);
}

//  Copy text into out, replacing control bytes so that it prints safely.
static void s_copy_clean(char *out, size_t size, const char *text, size_t len)
{
    if (size == 0)
        return;
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < size; i++) {
        unsigned char c = (unsigned char) text[i];
        out[n++] = c < 32 || c == 127 ? '?' : (char) c;
    }
    out[n] = 0;
}

//  Convert a PDF date string token "(D:YYYYMMDDHHmmSS+HH'mm')" to ISO 8601;
//  out is "" when the text is not such a date.
static void s_pdf_date(const uint8_t *text, size_t len, char *out, size_t size)
{
    out[0] = 0;
    if (len < 2)
        return;
    const uint8_t *p = text + 1, *end = text + len - 1;   //  inside the parentheses
    if (end - p >= 2 && p[0] == 'D' && p[1] == ':')
        p += 2;
    int field[6] = {0, 1, 1, 0, 0, 0};
    int widths[6] = {4, 2, 2, 2, 2, 2};
    for (int f = 0; f < 6; f++) {
        if (end - p < widths[f] || p[0] < '0' || p[0] > '9') {
            if (f == 0)
                return;
            break;
        }
        int v = 0;
        for (int i = 0; i < widths[f]; i++) {
            if (p[i] < '0' || p[i] > '9')
                return;
            v = v * 10 + (p[i] - '0');
        }
        field[f] = v;
        p += widths[f];
    }
    char zone[16] = "";
    if (p < end && *p == 'Z')
        snprintf(zone, sizeof(zone), "Z");
    else if (p < end && (*p == '+' || *p == '-') && end - p >= 3 && p[1] >= '0' && p[1] <= '9' &&
             p[2] >= '0' && p[2] <= '9') {
        char sign = (char) *p;
        int hours = (p[1] - '0') * 10 + (p[2] - '0'), minutes = 0;
        p += 3;
        if (p < end && *p == '\'')
            p++;
        if (end - p >= 2 && p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9')
            minutes = (p[0] - '0') * 10 + (p[1] - '0');
        snprintf(zone, sizeof(zone), "%c%02d:%02d", sign, hours % 100, minutes % 100);
    }
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%s", field[0], field[1], field[2],
             field[3], field[4], field[5], zone);
}

//  Write an ASN.1 time as ISO 8601 UTC; "" when it cannot be read.
static void s_asn1_time(const ASN1_TIME *t, char *out, size_t size)
{
    struct tm tm;
    out[0] = 0;
    if (t && ASN1_TIME_to_tm(t, &tm) == 1)
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

//  Decode the hex digits between the angle brackets of a hex string token;
//  returns the bytes (caller frees) or NULL with info failed.
static uint8_t *s_hex_decode(const uint8_t *text, size_t len, size_t *out_len,
                             lt_pdfsig_info_t *info)
{
    uint8_t *out = malloc(len / 2 + 1);
    if (!out) {
        s_fail(info, "out of memory decoding /Contents");
        return NULL;
    }
    size_t n = 0, digits = 0;
    int high = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = text[i];
        int v;
        if (s_is_space(c))
            continue;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else {
            s_fail(info, "/Contents holds a non-hex character at digit %zu", digits);
            free(out);
            return NULL;
        }
        if (digits++ % 2 == 0)
            high = v;
        else
            out[n++] = (uint8_t) (high << 4 | v);
    }
    if (digits % 2) {
        s_fail(info, "/Contents has an odd number of hex digits (%zu)", digits);
        free(out);
        return NULL;
    }
    *out_len = n;
    return out;
}

void lt_pdfsig_cert_names(X509 *cert, char *subject, size_t subject_size, char *cn,
                          size_t cn_size, char *issuer, size_t issuer_size)
{
    assert(cert);
    X509_NAME *names[2] = {X509_get_subject_name(cert), X509_get_issuer_name(cert)};
    char *outs[2] = {subject, issuer};
    size_t sizes[2] = {subject_size, issuer_size};
    for (int i = 0; i < 2; i++) {
        if (!outs[i] || sizes[i] == 0)
            continue;
        outs[i][0] = 0;
        BIO *bio = BIO_new(BIO_s_mem());
        if (!bio)
            continue;
        if (X509_NAME_print_ex(bio, names[i], 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
            char *text = NULL;
            long len = BIO_get_mem_data(bio, &text);
            if (text && len > 0)
                s_copy_clean(outs[i], sizes[i], text, (size_t) len);
        }
        BIO_free(bio);
    }
    if (cn && cn_size) {
        cn[0] = 0;
        int index = X509_NAME_get_index_by_NID(names[0], NID_commonName, -1);
        unsigned char *utf8 = NULL;
        int len = -1;
        if (index >= 0)
            len = ASN1_STRING_to_UTF8(
                &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(names[0], index)));
        if (len > 0)
            s_copy_clean(cn, cn_size, (const char *) utf8, (size_t) len);
        else if (subject)
            s_copy_clean(cn, cn_size, subject, strlen(subject));
        OPENSSL_free(utf8);
    }
    ERR_clear_error();
}

int lt_pdfsig_trust_check(X509_STORE *anchors, X509 *cert, STACK_OF(X509) *untrusted,
                          char *reason, size_t size)
{
    assert(cert);
    if (!anchors) {
        snprintf(reason, size, "no trust anchors configured");
        return -1;
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || !X509_STORE_CTX_init(ctx, anchors, cert, untrusted)) {
        snprintf(reason, size, "cannot set up certificate chain check");
        X509_STORE_CTX_free(ctx);
        ERR_clear_error();
        return -1;
    }
    //  Without a level OpenSSL accepts MD5 and SHA-1 certificate signatures
    //  and 512-bit keys outside TLS; 2026 needs 112 bits.
    X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(ctx), S_AUTH_LEVEL);
    int ok = X509_verify_cert(ctx);
    if (ok != 1)
        snprintf(reason, size, "signer certificate does not chain to a trust anchor: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return ok == 1 ? 0 : -1;
}

int lt_pdfsig_rank(lt_sig_t verdict)
{
    switch (verdict) {
    case LT_SIG_VALID:
        return 1;
    case LT_SIG_VALID_UNTRUSTED:
        return 2;
    case LT_SIG_INVALID:
        return 3;
    default:
        return 0;
    }
}

//  ---------------------------------------------------------------------
//  CMS verification

//  Return 1 when every signer's messageDigest attribute matches the
//  content, 0 when one does not, -1 when that cannot be told.
static int s_digest_matches(CMS_ContentInfo *cms, const uint8_t *content, size_t size)
{
    STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
    int result = -1;
    for (int i = 0; i < sk_CMS_SignerInfo_num(infos); i++) {
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(infos, i);
        X509_ALGOR *alg = NULL;
        CMS_SignerInfo_get0_algs(si, NULL, NULL, &alg, NULL);
        const ASN1_OBJECT *obj = NULL;
        if (!alg)
            return -1;
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
        const EVP_MD *md = EVP_get_digestbyobj(obj);
        const ASN1_OCTET_STRING *want = CMS_signed_get0_data_by_OBJ(
            si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING);
        unsigned char got[EVP_MAX_MD_SIZE];
        unsigned int got_len = 0;
        if (!md || !want || !EVP_Digest(content, size, got, &got_len, md, NULL))
            return -1;
        if ((unsigned int) ASN1_STRING_length(want) != got_len ||
            memcmp(ASN1_STRING_get0_data(want), got, got_len) != 0)
            return 0;
        result = 1;
    }
    return result;
}

//  Fill signing_time from the first signer's signingTime attribute.
static void s_signing_time(CMS_ContentInfo *cms, lt_pdfsig_info_t *info)
{
    STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
    if (sk_CMS_SignerInfo_num(infos) < 1)
        return;
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(infos, 0);
    int index = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
    X509_ATTRIBUTE *attr = index >= 0 ? CMS_signed_get_attr(si, index) : NULL;
    ASN1_TYPE *value = attr ? X509_ATTRIBUTE_get0_type(attr, 0) : NULL;
    if (!value || (value->type != V_ASN1_UTCTIME && value->type != V_ASN1_GENERALIZEDTIME))
        return;
    char text[sizeof(info->signing_time)];
    s_asn1_time(value->value.utctime, text, sizeof(text));
    if (text[0]) {
        snprintf(info->signing_time, sizeof(info->signing_time), "%s", text);
        info->time_signed = true;
    }
}

//  Explain why CMS_verify failed on a detached signature.
static void s_explain_failure(CMS_ContentInfo *cms, const uint8_t *content, size_t size,
                              lt_pdfsig_info_t *info)
{
    //  Name the signer the signature claims, for the operator's report.
    STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
    X509 *claimed = NULL;
    if (sk_CMS_SignerInfo_num(infos) > 0)
        CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(infos, 0), NULL, &claimed, NULL, NULL);
    if (claimed)
        lt_pdfsig_cert_names(claimed, info->subject, sizeof(info->subject), info->signer,
                             sizeof(info->signer), info->issuer, sizeof(info->issuer));
    s_signing_time(cms, info);
    unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
    int reasons[2] = {ERR_GET_REASON(first), ERR_GET_REASON(last)};
    for (int i = 0; i < 2; i++) {
        if (reasons[i] == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND) {
            s_fail(info, "signer certificate not included in the signature");
            return;
        }
        if (reasons[i] == CMS_R_NO_SIGNERS) {
            s_fail(info, "signature has no signer");
            return;
        }
    }
    int match = s_digest_matches(cms, content, size);
    if (match == 0)
        s_fail(info, "message digest mismatch (file altered after signing)");
    else if (match == 1)
        s_fail(info, "signature value does not verify with the signer's key");
    else
        s_fail(info, "signature does not verify: %s",
               last ? ERR_reason_error_string(last) : "unknown reason");
}

//  Return true when an extended key usage allows signing documents: any,
//  e-mail protection and client authentication (what personal signing
//  certificates carry), document signing (RFC 9336, Microsoft, Adobe).
static bool s_eku_signs_documents(const ASN1_OBJECT *oid)
{
    static const char *const allowed[] = {
        "2.5.29.37.0",               //  anyExtendedKeyUsage
        "1.3.6.1.5.5.7.3.4",         //  emailProtection
        "1.3.6.1.5.5.7.3.2",         //  clientAuth
        "1.3.6.1.5.5.7.3.36",        //  documentSigning (RFC 9336)
        "1.3.6.1.4.1.311.10.3.12",   //  Microsoft document signing
        "1.2.840.113583.1.1.5",      //  Adobe Authentic Documents Trust
    };
    char text[80];
    if (OBJ_obj2txt(text, sizeof(text), oid, 1) <= 0)
        return false;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcmp(text, allowed[i]) == 0)
            return true;
    return false;
}

//  Check that cert may make this kind of signature: a timestamp needs a
//  time-stamping certificate (RFC 3161: critical extended key usage
//  timeStamping alone); a person's or organisation's signature a key usage,
//  when present, with digitalSignature or nonRepudiation (a CA key or an
//  encryption-only key does not sign documents) and an extended key usage,
//  when present, that allows document signing (not a TLS server
//  certificate). Returns 0, or -1 with the reason written.
static int s_check_usage(X509 *cert, bool timestamp, char *reason, size_t size)
{
    if (timestamp) {
        if (X509_check_purpose(cert, X509_PURPOSE_TIMESTAMP_SIGN, 0) == 1)
            return 0;
        snprintf(reason, size, "timestamp certificate is not a time-stamping certificate "
                               "(critical extended key usage timeStamping)");
        return -1;
    }
    uint32_t flags = X509_get_extension_flags(cert);
    if ((flags & EXFLAG_INVALID) != 0) {
        snprintf(reason, size, "signer certificate has malformed extensions");
        return -1;
    }
    if ((flags & EXFLAG_KUSAGE) != 0 &&
        (X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
        snprintf(reason, size, "signer certificate key usage allows neither digitalSignature "
                               "nor nonRepudiation");
        return -1;
    }
    if ((flags & EXFLAG_XKUSAGE) == 0)
        return 0;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
    bool ok = false;
    for (int i = 0; eku && !ok && i < sk_ASN1_OBJECT_num(eku); i++)
        ok = s_eku_signs_documents(sk_ASN1_OBJECT_value(eku, i));
    EXTENDED_KEY_USAGE_free(eku);
    if (!ok)
        snprintf(reason, size, "signer certificate extended key usage does not allow signing "
                               "documents");
    return ok ? 0 : -1;
}

//  Check that the signing time the signature states (ISO 8601 UTC as
//  s_asn1_time writes it, signed by the signer or the TSA) lies within the
//  certificate's validity. Returns 0 (also when there is no such time), or
//  -1 with the reason written.
static int s_check_time(X509 *cert, const lt_pdfsig_info_t *info, char *reason, size_t size)
{
    const char *t = info->signing_time;
    if (!info->time_signed || strlen(t) != 20 || t[19] != 'Z')
        return 0;
    char compact[16];   //  YYYYMMDDHHMMSSZ
    snprintf(compact, sizeof(compact), "%.4s%.2s%.2s%.2s%.2s%.2sZ", t, t + 5, t + 8, t + 11,
             t + 14, t + 17);
    ASN1_TIME *when = ASN1_TIME_new();
    int rc = 0;
    if (!when || ASN1_TIME_set_string_X509(when, compact) != 1)
        rc = 0;   //  unreadable: the chain check at the current time stands
    else if (ASN1_TIME_compare(when, X509_get0_notBefore(cert)) < 0) {
        snprintf(reason, size, "signing time %s is before the signer certificate is valid", t);
        rc = -1;
    }
    else if (ASN1_TIME_compare(when, X509_get0_notAfter(cert)) > 0) {
        snprintf(reason, size, "signing time %s is after the signer certificate expired", t);
        rc = -1;
    }
    ASN1_TIME_free(when);
    ERR_clear_error();
    return rc;
}

//  Check the signer certificates of a verified CMS against the anchors, the
//  certificates' usage and the signing time, and fill the names; sets the
//  verdict to valid or valid_untrusted.
static void s_check_signers(CMS_ContentInfo *cms, X509_STORE *anchors, lt_pdfsig_info_t *info)
{
    STACK_OF(X509) *signers = CMS_get0_signers(cms);
    STACK_OF(X509) *certs = CMS_get1_certs(cms);
    if (!signers || sk_X509_num(signers) < 1) {
        s_fail(info, "no signer certificate after verification");
        sk_X509_free(signers);
        sk_X509_pop_free(certs, X509_free);
        return;
    }
    lt_pdfsig_cert_names(sk_X509_value(signers, 0), info->subject, sizeof(info->subject),
                         info->signer, sizeof(info->signer), info->issuer,
                         sizeof(info->issuer));
    info->verdict = LT_SIG_VALID;
    for (int i = 0; i < sk_X509_num(signers); i++) {
        X509 *cert = sk_X509_value(signers, i);
        if (lt_pdfsig_trust_check(anchors, cert, certs, info->reason, sizeof(info->reason)) !=
                0 ||
            s_check_usage(cert, info->timestamp, info->reason, sizeof(info->reason)) != 0 ||
            s_check_time(cert, info, info->reason, sizeof(info->reason)) != 0) {
            info->verdict = LT_SIG_VALID_UNTRUSTED;
            break;
        }
    }
    sk_X509_free(signers);
    sk_X509_pop_free(certs, X509_free);
}

//  Return true for a digest strong enough for a signature made in 2026: the
//  SHA-2 and SHA-3 families of at least 256 bits (MD5 and SHA-1 have known
//  collisions; ETSI TS 119 312 no longer lists them for new signatures).
static bool s_digest_strong(int nid)
{
    return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512 ||
           nid == NID_sha3_256 || nid == NID_sha3_384 || nid == NID_sha3_512;
}

//  Check that every SignerInfo digests with a strong algorithm; false with
//  info failed.
static bool s_check_digests(CMS_ContentInfo *cms, lt_pdfsig_info_t *info)
{
    STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
    for (int i = 0; i < sk_CMS_SignerInfo_num(infos); i++) {
        X509_ALGOR *alg = NULL;
        CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(infos, i), NULL, NULL, &alg, NULL);
        const ASN1_OBJECT *obj = NULL;
        if (alg)
            X509_ALGOR_get0(&obj, NULL, NULL, alg);
        int nid = obj ? OBJ_obj2nid(obj) : NID_undef;
        if (!s_digest_strong(nid)) {
            s_fail(info, "signer %d uses a weak or unknown digest algorithm (%s)", i + 1,
                   nid == NID_undef ? "unknown" : OBJ_nid2sn(nid));
            return false;
        }
    }
    return true;
}

//  Verify a document timestamp token (ETSI.RFC3161): the token's signature
//  and its message imprint over the signed bytes.
static void s_verify_timestamp(CMS_ContentInfo *cms, const uint8_t *content, size_t size,
                               X509_STORE *anchors, lt_pdfsig_info_t *info)
{
    info->timestamp = true;
    BIO *out = BIO_new(BIO_s_mem());
    if (!out) {
        s_fail(info, "out of memory");
        return;
    }
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo) {
        s_fail(info, "timestamp token does not hold a TSTInfo");
        BIO_free(out);
        return;
    }
    if (CMS_verify(cms, NULL, NULL, NULL, out, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
        s_fail(info, "timestamp token signature does not verify");
        BIO_free(out);
        return;
    }
    char *der = NULL;
    long der_len = BIO_get_mem_data(out, &der);
    const unsigned char *p = (const unsigned char *) der;
    TS_TST_INFO *tst = der_len > 0 ? d2i_TS_TST_INFO(NULL, &p, der_len) : NULL;
    BIO_free(out);
    if (!tst) {
        s_fail(info, "timestamp TSTInfo unreadable");
        return;
    }
    TS_MSG_IMPRINT *imprint = TS_TST_INFO_get_msg_imprint(tst);
    const ASN1_OBJECT *obj = NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, TS_MSG_IMPRINT_get_algo(imprint));
    const EVP_MD *md = EVP_get_digestbyobj(obj);
    ASN1_OCTET_STRING *want = TS_MSG_IMPRINT_get_msg(imprint);
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0;
    if (!md || !EVP_Digest(content, size, got, &got_len, md, NULL))
        s_fail(info, "timestamp imprint uses an unknown digest");
    else if (!s_digest_strong(EVP_MD_get_type(md)))
        s_fail(info, "timestamp imprint uses a weak digest algorithm (%s)",
               OBJ_nid2sn(EVP_MD_get_type(md)));
    else if ((unsigned int) ASN1_STRING_length(want) != got_len ||
             memcmp(ASN1_STRING_get0_data(want), got, got_len) != 0)
        s_fail(info, "timestamp imprint mismatch (file altered after timestamping)");
    else {
        s_asn1_time(TS_TST_INFO_get_time(tst), info->signing_time, sizeof(info->signing_time));
        info->time_signed = info->signing_time[0] != 0;
        s_check_signers(cms, anchors, info);
    }
    TS_TST_INFO_free(tst);
}

//  Verify the CMS in der over content (the bytes the ByteRange names).
static void s_verify_cms(const uint8_t *der, size_t der_len, const uint8_t *content,
                         size_t size, X509_STORE *anchors, lt_pdfsig_info_t *info)
{
    size_t used = 0;
    while (used < der_len && der[used] == 0)
        used++;
    if (used == der_len) {
        s_fail(info, "/Contents is empty (signature placeholder never filled)");
        return;
    }
    if (der_len > LONG_MAX || size > INT_MAX) {
        s_fail(info, "signature or signed bytes too large");
        return;
    }
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long) der_len);
    if (!cms) {
        s_fail(info, "CMS structure unreadable");
        ERR_clear_error();
        return;
    }
    //  The rest of /Contents is the zero padding of the reserved space.
    for (size_t i = (size_t) (p - der); i < der_len; i++)
        if (der[i] != 0) {
            s_fail(info, "data after the CMS structure in /Contents");
            CMS_ContentInfo_free(cms);
            return;
        }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
        s_fail(info, "CMS is not SignedData");
    else if (!s_check_digests(cms, info)) {
        //  Failed with its reason: a weak digest is not worth verifying.
    }
    else if (strcmp(info->subfilter, "ETSI.RFC3161") == 0)
        s_verify_timestamp(cms, content, size, anchors, info);
    else if (info->subfilter[0] && strcmp(info->subfilter, "adbe.pkcs7.detached") != 0 &&
             strcmp(info->subfilter, "ETSI.CAdES.detached") != 0)
        s_fail(info, "unsupported /SubFilter %s", info->subfilter);
    else {
        //  The signed bytes go in through a buffering filter, not a bare
        //  memory BIO: given a memory BIO, CMS_verify copies it into one of
        //  its own, and OpenSSL 3.0 leaks that copy when the signature's
        //  content cannot be set up (an input found by fuzz_pdfsig).
        BIO *mem = BIO_new_mem_buf(content, (int) size);
        BIO *bio = mem ? BIO_new(BIO_f_buffer()) : NULL;
        if (bio)
            BIO_push(bio, mem);
        else
            BIO_free(mem);
        if (!bio)
            s_fail(info, "out of memory");
        else if (CMS_verify(cms, NULL, NULL, bio, NULL,
                            CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1)
            s_explain_failure(cms, content, size, info);
        else {
            s_signing_time(cms, info);
            s_check_signers(cms, anchors, info);
        }
        BIO_free_all(bio);
    }
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
}

//  Check the layout of a signature dictionary against the file: the
//  ByteRange covers everything but exactly the /Contents hex string.
//  Returns false with info failed.
static bool s_check_layout(size_t size, const s_sigdict_t *dict, lt_pdfsig_info_t *info)
{
    if (dict->error[0])
        s_fail(info, "signature dictionary unreadable: %s", dict->error);
    else if (dict->range_bad || dict->range_count != 4)
        s_fail(info, "ByteRange is not an array of 4 non-negative integers");
    else if (dict->range[0] != 0)
        s_fail(info, "ByteRange does not start at byte 0");
    else if (dict->range[1] > size || dict->range[2] > size ||
             dict->range[3] > size - dict->range[2])
        s_fail(info, "ByteRange out of bounds (file has %zu bytes)", size);
    else if (dict->range[2] <= dict->range[1])
        s_fail(info, "ByteRange ranges overlap or are out of order");
    else if (!dict->has_contents)
        s_fail(info, "signature dictionary has no /Contents");
    else if (dict->contents.type != S_TOK_HEX)
        s_fail(info, "/Contents is not a hex string");
    else if (dict->contents.start != dict->range[1] || dict->contents.end != dict->range[2])
        s_fail(info, "ByteRange gap is not exactly the /Contents string");
    else if (dict->contents.end - dict->contents.start - 2 > LT_PDFSIG_MAX_CONTENTS)
        s_fail(info, "/Contents longer than %d hex digits", LT_PDFSIG_MAX_CONTENTS);
    else
        return true;
    return false;
}

//  Check one signature dictionary and fill info. After an invalid
//  signature (failed, an earlier one) the file is invalid whatever follows,
//  so the layout is still checked but not the cryptography: each check
//  hashes up to the whole file, and sixteen of a large file would stall the
//  hub.
static void s_check(const uint8_t *data, size_t size, const s_sigdict_t *dict,
                    X509_STORE *anchors, size_t failed, lt_pdfsig_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->verdict = LT_SIG_INVALID;
    snprintf(info->subfilter, sizeof(info->subfilter), "%s", dict->subfilter);
    if (dict->has_m)
        s_pdf_date(data + dict->m.start, dict->m.end - dict->m.start, info->signing_time,
                   sizeof(info->signing_time));
    for (int i = 0; i < 4 && i < dict->range_count; i++)
        info->byte_range[i] = dict->range[i];
    if (!s_check_layout(size, dict, info))
        return;
    size_t b = (size_t) dict->range[1], c = (size_t) dict->range[2], d = (size_t) dict->range[3];
    info->covers_file = c + d == size;
    if (failed) {
        s_fail(info, "not verified: signature %zu is invalid", failed);
        return;
    }
    size_t der_len = 0;
    uint8_t *der = s_hex_decode(data + b + 1, c - b - 2, &der_len, info);
    if (!der)
        return;
    uint8_t *content = malloc(b + d ? b + d : 1);
    if (content) {
        memcpy(content, data, b);
        memcpy(content + b, data + c, d);
        s_verify_cms(der, der_len, content, b + d, anchors, info);
    }
    else
        s_fail(info, "out of memory");
    free(content);
    free(der);
    if (info->verdict == LT_SIG_VALID)
        info->reason[0] = 0;
}

//  ---------------------------------------------------------------------
//  The class

lt_pdfsig_t *lt_pdfsig_new(const void *data, size_t size, X509_STORE *anchors)
{
    lt_pdfsig_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    const uint8_t *bytes = data;
    size_t pos = 0, names = 0;
    size_t failed = 0;         //  number of the first invalid signature, 0 when none
    s_sigdict_t seen = {0};    //  the last dictionary read where its name was no key
    size_t seen_start = 0;     //  where it opens
    bool seen_valid = false;   //  seen holds one
    while (bytes && pos < size) {
        const uint8_t *hit = memmem(bytes + pos, size - pos, "/ByteRange", 10);
        if (!hit)
            break;
        //  Each name costs a walk of up to a window: bound the total.
        if (++names > S_MAX_NAMES) {
            self->too_many = true;
            break;
        }
        size_t at = (size_t) (hit - bytes);
        pos = at + 10;
        if (pos < size && !s_is_space(bytes[pos]) && !s_is_delim(bytes[pos]))
            continue;   //  a longer name such as /ByteRanges
        size_t start = 0;
        if (!s_dict_start(bytes, at, &start))
            continue;
        //  Names in a dictionary already read, where they are no key (in
        //  a string, an array, a nested dictionary), need no second reading.
        if (seen_valid && seen_start == start && !s_may_be_key(&seen, at))
            continue;
        s_sigdict_t dict;
        s_parse_dict(bytes, size, start, at, &dict);
        if (!dict.is_key) {
            seen = dict;
            seen_start = start;
            seen_valid = true;
            continue;
        }
        if (self->count == LT_PDFSIG_MAX_SIGS) {
            self->too_many = true;
            break;
        }
        s_check(bytes, size, &dict, anchors, failed, &self->sigs[self->count]);
        self->count++;
        if (!failed && self->sigs[self->count - 1].verdict == LT_SIG_INVALID)
            failed = self->count;
    }
    self->verdict = self->count ? LT_SIG_VALID : LT_SIG_UNSIGNED;
    size_t worst = 0;
    for (size_t i = 0; i < self->count; i++)
        if (lt_pdfsig_rank(self->sigs[i].verdict) > lt_pdfsig_rank(self->verdict)) {
            self->verdict = self->sigs[i].verdict;
            worst = i;
        }
    //  The file as sent must be what was signed: a revision appended after
    //  the last signature (an incremental update that may change any page)
    //  is signed by nobody. White space after the signed bytes changes
    //  nothing a reader shows and is allowed.
    size_t signed_end = 0;
    for (size_t i = 0; i < self->count; i++)
        if (self->sigs[i].verdict != LT_SIG_INVALID &&
            self->sigs[i].byte_range[2] + self->sigs[i].byte_range[3] > signed_end)
            signed_end = (size_t) (self->sigs[i].byte_range[2] + self->sigs[i].byte_range[3]);
    size_t tail = signed_end;
    while (tail < size && s_is_space(bytes[tail]))
        tail++;
    if (self->too_many) {
        self->verdict = LT_SIG_INVALID;
        snprintf(self->reason, sizeof(self->reason),
                 "more than %d signature dictionaries or %d /ByteRange names; not all were "
                 "checked",
                 LT_PDFSIG_MAX_SIGS, S_MAX_NAMES);
    }
    else if (self->verdict != LT_SIG_INVALID && self->verdict != LT_SIG_UNSIGNED &&
             tail < size) {
        self->verdict = LT_SIG_INVALID;
        snprintf(self->reason, sizeof(self->reason),
                 "signed revision is not the whole file: %zu bytes after the last signature "
                 "(byte %zu of %zu) are signed by nobody",
                 size - signed_end, signed_end, size);
    }
    else if (self->verdict != LT_SIG_VALID && self->verdict != LT_SIG_UNSIGNED)
        snprintf(self->reason, sizeof(self->reason), "signature %zu of %zu: %s", worst + 1,
                 self->count, self->sigs[worst].reason);
    return self;
}

void lt_pdfsig_destroy(lt_pdfsig_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

lt_sig_t lt_pdfsig_verdict(const lt_pdfsig_t *self)
{
    assert(self);
    return self->verdict;
}

const char *lt_pdfsig_reason(const lt_pdfsig_t *self)
{
    assert(self);
    return self->reason;
}

size_t lt_pdfsig_count(const lt_pdfsig_t *self)
{
    assert(self);
    return self->count;
}

const lt_pdfsig_info_t *lt_pdfsig_info(const lt_pdfsig_t *self, size_t index)
{
    assert(self);
    return index < self->count ? &self->sigs[index] : NULL;
}

const char *lt_pdfsig_signer(const lt_pdfsig_t *self)
{
    assert(self);
    return self->count ? self->sigs[0].subject : "";
}

bool lt_pdfsig_covers_file(const lt_pdfsig_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->count; i++)
        if (self->sigs[i].covers_file)
            return true;
    return false;
}

//  ---------------------------------------------------------------------
//  Trust anchors

//  Add every certificate of one file (PEM, several allowed, or DER) to
//  store; returns how many were added.
static int s_load_certs(X509_STORE *store, const char *path)
{
    int added = 0;
    BIO *bio = BIO_new_file(path, "rb");
    if (!bio)
        return 0;
    X509 *cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert) == 1)
            added++;
        X509_free(cert);
    }
    if (added == 0 && BIO_reset(bio) == 0 && (cert = d2i_X509_bio(bio, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert) == 1)
            added++;
        X509_free(cert);
    }
    BIO_free(bio);
    ERR_clear_error();
    return added;
}

//  Return true when name ends with suffix.
static bool s_ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

X509_STORE *lt_pdfsig_trust_load(const char *path, lt_err_t *err)
{
    assert(path);
    struct stat st;
    if (stat(path, &st) != 0) {
        lt_err_set(err, LT_ECONFIG, "cannot read trust anchors %s: %s", path, strerror(errno));
        return NULL;
    }
    X509_STORE *store = X509_STORE_new();
    if (!store) {
        lt_err_set(err, LT_ENOMEM, "out of memory loading trust anchors");
        return NULL;
    }
    int added = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (!dir) {
            lt_err_set(err, LT_ECONFIG, "cannot open trust directory %s: %s", path,
                       strerror(errno));
            X509_STORE_free(store);
            return NULL;
        }
        struct dirent *entry;
        int files = 0;
        while ((entry = readdir(dir)) != NULL && files < S_MAX_FILES) {
            if (!s_ends_with(entry->d_name, ".crt") && !s_ends_with(entry->d_name, ".pem"))
                continue;
            char file[4096];
            if (snprintf(file, sizeof(file), "%s/%s", path, entry->d_name) >= (int) sizeof(file))
                continue;
            struct stat fst;
            if (stat(file, &fst) != 0 || !S_ISREG(fst.st_mode))
                continue;
            files++;
            added += s_load_certs(store, file);
        }
        closedir(dir);
    }
    else
        added = s_load_certs(store, path);
    if (added == 0) {
        lt_err_set(err, LT_ECONFIG, "no certificate found in %s (want *.crt or *.pem)", path);
        X509_STORE_free(store);
        return NULL;
    }
    //  An operator may list an intermediate authority as the anchor.
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    return store;
}
