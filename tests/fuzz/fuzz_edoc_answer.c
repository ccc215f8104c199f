/*  fuzz_edoc_answer: libFuzzer target for what lthub-axis reads from the
    national document axis (connectors/axis/lt_edoc_client.c): the verdict
    of an answer (lt_edoc_answer_read), the items of getReceivedEdocList
    (lt_edoc_answer_items) and the base64 data of getEdoc
    (lt_edoc_answer_data). These answers come from another system.

    Each input is used three ways. As an answer body: the outcome is one of
    three; a failure has a message; an OK answer has an OK status word; a
    FAIL with a three-digit ErrorCode is sorted by it; a byte order mark
    before the body changes nothing; the items kept are exactly those whose
    docId can be sent back as a header, each field NUL-terminated, `to`
    only codes of the item's own `to` joined by ','; getEdoc's data agrees
    with the reference decoder below. As getEdoc's data text: the client
    accepts what the reference accepts, with the same bytes, and keeps what
    it refuses. As bytes to send: encoded in base64 (the alphabet, the
    padding and the line breaks chosen by the first two bytes) inside a
    well-formed answer, they decode back to themselves.
*/
#include "lt_edoc_client.h"
#include "lt_log.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_BLANKS " \t\r\n"        //  what base64 text may hold between digits
#define S_CODE_SEPS ",; \t\r\n"   //  what separates the codes of a `to` text

static lt_edoc_client_t *s_client;   //  gives lt_edoc_answer_items its memory of skips

//  Quiet the skip warnings and make the client whose memory is used.
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    lt_log_set_level(LT_LOG_ERROR);
    lt_edoc_client_config_t config
        = {.url = "http://127.0.0.1:9/", .system_id = "fuzz", .secret = "k", .secret_size = 1};
    lt_err_t err;
    s_client = lt_edoc_client_new(&config, &err);
    assert(s_client);
    return 0;
}

//  Return the value of a digit of the standard or URL-safe alphabet, or -1;
//  *kind is 1 for '+' '/', 2 for '-' '_', 0 for the digits both share.
static int s_ref_digit(unsigned char c, int *kind)
{
    static const char standard[]
        = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    *kind = 0;
    if (c == '-' || c == '_') {
        *kind = 2;
        return c == '-' ? 62 : 63;
    }
    const char *at = c ? strchr(standard, c) : NULL;
    if (!at)
        return -1;
    int value = (int) (at - standard);
    *kind = value >= 62;
    return value;
}

//  The reference decoder, written from the rules of the header rather than
//  from the client's loop: drop the blanks, then the text must be digits of
//  one alphabet followed by at most two '=' that complete the last group,
//  and a last group of one digit holds no byte. Returns a malloc'd buffer,
//  or NULL when refused.
static uint8_t *s_ref_decode(const char *text, size_t length, size_t *size_p)
{
    char *kept = malloc(length + 1);
    assert(kept);
    size_t n = 0;
    for (size_t i = 0; i < length; i++)
        if (!memchr(S_BLANKS, text[i], 4))
            kept[n++] = text[i];
    size_t pad = 0;
    while (pad < n && kept[n - 1 - pad] == '=')
        pad++;
    size_t digits = n - pad;
    bool ok = pad <= 2 && digits % 4 != 1 && (pad == 0 || digits % 4 + pad == 4);
    int kinds = 0;
    uint8_t *out = malloc(digits / 4 * 3 + 3);
    assert(out);
    size_t total = 0;
    for (size_t i = 0; ok && i < digits; i += 4) {
        uint32_t values[4] = {0};
        size_t in_group = digits - i < 4 ? digits - i : 4;
        for (size_t k = 0; ok && k < in_group; k++) {
            int kind;
            int value = s_ref_digit((unsigned char) kept[i + k], &kind);
            ok = value >= 0;
            kinds |= kind;
            values[k] = (uint32_t) (value < 0 ? 0 : value);
        }
        uint32_t bits = values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3];
        for (size_t k = 0; ok && k + 1 < in_group; k++)
            out[total++] = (uint8_t) (bits >> (16 - 8 * k));
    }
    ok = ok && kinds != 3;
    free(kept);
    if (!ok) {
        free(out);
        return NULL;
    }
    *size_p = total;
    return out;
}

//  Check the client's reading of one data text against the reference.
static void s_check_data(json_t *answer)
{
    json_t *data = json_object_get(answer, "data");
    uint8_t *bytes = (uint8_t *) "x";
    size_t size = 99;
    char *raw = (char *) "x";
    size_t raw_size = 99;
    lt_err_t err;
    lt_err_clear(&err);
    lt_edoc_outcome_t outcome
        = lt_edoc_answer_data(answer, "fuzz-doc", &bytes, &size, &raw, &raw_size, &err);
    if (!json_is_string(data)) {
        assert(outcome == LT_EDOC_TRANSIENT && err.code == LT_EPEER && err.detail[0]);
        assert(!bytes && size == 0 && !raw && raw_size == 0);
        return;
    }
    const char *text = json_string_value(data);
    size_t length = json_string_length(data);
    size_t ref_size = 0;
    uint8_t *ref = s_ref_decode(text, length, &ref_size);
    if (ref) {
        assert(outcome == LT_EDOC_OK && bytes && !raw && raw_size == 0);
        assert(size == ref_size && memcmp(bytes, ref, size) == 0);
    }
    else {
        assert(outcome == LT_EDOC_TRANSIENT && err.code == LT_EINVAL && err.detail[0]);
        assert(!bytes && size == 0);
        size_t keep = length < LT_EDOC_RAW_MAX ? length : LT_EDOC_RAW_MAX;
        assert(raw && raw_size == keep && raw[keep] == 0 && memcmp(raw, text, keep) == 0);
    }
    free(ref);
    free(bytes);
    free(raw);
}

//  Return true when text can travel as a header value exactly: printable
//  ASCII, not empty, no space at either end.
static bool s_sendable(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || text[0] == ' ' || text[length - 1] == ' ')
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char) text[i] < 0x20 || (unsigned char) text[i] > 0x7e)
            return false;
    return true;
}

//  Write the docId the client must keep for a listed item into out, or
//  return false when the item must be skipped.
static bool s_expected_id(json_t *item, char *out, size_t size)
{
    json_t *id = json_object_get(item, "docId");   //  NULL for a non-object
    if (json_is_string(id)) {
        const char *text = json_string_value(id);
        size_t length = json_string_length(id);
        if (strlen(text) != length || length >= size || !s_sendable(text))
            return false;
        memcpy(out, text, length + 1);
        return true;
    }
    if (json_is_integer(id))
        return snprintf(out, size, "%lld", (long long) json_integer_value(id)) > 0;
    if (json_is_real(id)) {
        double real = json_real_value(id);
        if (!(real > -9007199254740992.0 && real < 9007199254740992.0))
            return false;
        long long whole = (long long) real;
        return (double) whole == real && snprintf(out, size, "%lld", whole) > 0;
    }
    return false;
}

//  Return true when code stands whole (between separators or the ends) in text.
static bool s_code_in(const char *code, size_t length, const char *text)
{
    for (const char *at = text; (at = strstr(at, code)) != NULL; at++) {
        bool starts = at == text || strchr(S_CODE_SEPS, at[-1]);
        bool ends = at[length] == 0 || strchr(S_CODE_SEPS, at[length]);
        if (starts && ends)
            return true;
    }
    return false;
}

//  Return true when code stands whole in the item's `to`: its text, an
//  element of its array, or an element of the array its text holds.
static bool s_code_listed(const char *code, size_t length, json_t *to)
{
    char copy[256];
    assert(length < sizeof(copy));
    memcpy(copy, code, length);
    copy[length] = 0;
    bool found = false;
    json_t *parsed = NULL;
    if (json_is_string(to)) {
        found = s_code_in(copy, length, json_string_value(to));
        to = parsed = json_loads(json_string_value(to), 0, NULL);
    }
    size_t i;
    json_t *element;
    json_array_foreach (to, i, element)
        if (!found && json_is_string(element))
            found = s_code_in(copy, length, json_string_value(element));
    json_decref(parsed);
    return found;
}

//  Return true when a fixed field holds a NUL.
#define S_TERMINATED(field) (memchr((field), 0, sizeof(field)) != NULL)

//  Check the items of an OK answer.
static void s_check_items(json_t *answer)
{
    lt_edoc_item_t *items = NULL;
    size_t count = 99;
    lt_err_t err;
    lt_err_clear(&err);
    lt_edoc_outcome_t outcome
        = lt_edoc_answer_items(answer, s_client, "edoc", &items, &count, &err);
    json_t *data = json_object_get(answer, "data");
    if (data && !json_is_null(data) && !json_is_array(data)) {
        assert(outcome == LT_EDOC_TRANSIENT && err.code == LT_EPEER && err.detail[0]);
        assert(!items && count == 0);
        return;
    }
    assert(outcome == LT_EDOC_OK && (count == 0) == (items == NULL));
    //  The same without the memory of skips.
    lt_edoc_item_t *again = NULL;
    size_t again_count = 99;
    assert(lt_edoc_answer_items(answer, NULL, "edoc", &again, &again_count, &err) == LT_EDOC_OK);
    assert(again_count == count && (!count || memcmp(again, items, count * sizeof(*items)) == 0));
    free(again);

    size_t kept = 0;
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *source = json_array_get(data, i);
        char expected[sizeof(items->doc_id)];
        if (!s_expected_id(source, expected, sizeof(expected)))
            continue;
        assert(kept < count);
        lt_edoc_item_t *item = &items[kept++];
        assert(S_TERMINATED(item->doc_id) && strcmp(item->doc_id, expected) == 0);
        assert(s_sendable(item->doc_id));
        assert(S_TERMINATED(item->message_type) && S_TERMINATED(item->from));
        assert(S_TERMINATED(item->status) && S_TERMINATED(item->created));
        assert(S_TERMINATED(item->to));
        //  `to`: codes of the source's `to`, joined by single commas.
        const char *to = item->to;
        size_t length = strlen(to);
        assert(length == 0 || (to[0] != ',' && to[length - 1] != ','));
        assert(!strstr(to, ",,") && strcspn(to, "; \t\r\n") == length);
        for (const char *code = to; *code;) {
            size_t code_length = strcspn(code, ",");
            assert(s_code_listed(code, code_length, json_object_get(source, "to")));
            code += code_length + (code[code_length] == ',');
        }
    }
    assert(kept == count);
    free(items);
}

//  Return true when the status of a parsed answer is the word OK (any
//  case, blanks around it).
static bool s_status_ok(json_t *answer)
{
    const char *status = json_string_value(json_object_get(answer, "status"));
    if (!status)
        return false;
    status += strspn(status, " \t");
    size_t length = strlen(status);
    while (length && strchr(" \t", status[length - 1]))
        length--;
    return length == 2 && strncasecmp(status, "ok", 2) == 0;
}

//  Use the input as an answer body.
static void s_check_answer(const uint8_t *data, size_t size)
{
    json_t *answer = (json_t *) "x";
    lt_err_t err;
    lt_err_clear(&err);
    lt_edoc_outcome_t outcome = lt_edoc_answer_read("getEdoc", data, size, &answer, &err);
    assert(outcome == LT_EDOC_OK || outcome == LT_EDOC_TRANSIENT
           || outcome == LT_EDOC_PERMANENT);
    if (outcome == LT_EDOC_OK)
        assert(json_is_object(answer) && s_status_ok(answer) && err.code == LT_OK);
    else
        assert(!answer && err.code == LT_EPEER && err.detail[0]);

    //  A byte order mark before the body changes nothing.
    bool bom = size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0;
    if (!bom) {
        uint8_t *marked = malloc(size + 3);
        assert(marked);
        memcpy(marked, "\xEF\xBB\xBF", 3);
        memcpy(marked + 3, data, size);
        lt_err_t marked_err;
        lt_err_clear(&marked_err);
        json_t *marked_answer = NULL;
        assert(lt_edoc_answer_read("getEdoc", marked, size + 3, &marked_answer, &marked_err)
               == outcome);
        assert(strcmp(marked_err.detail, err.detail) == 0);
        assert((marked_answer == NULL) == (answer == NULL));
        json_decref(marked_answer);
        free(marked);
    }

    //  The verdict of an answer parsed apart (every number as a real, so
    //  none is too big): an OK word is OK, a three-digit ErrorCode sorts.
    size_t skip = bom ? 3 : 0;
    json_t *parsed
        = json_loadb((const char *) data + skip, size - skip, JSON_DECODE_INT_AS_REAL, NULL);
    if (json_is_object(parsed)) {
        const char *code = json_string_value(json_object_get(parsed, "ErrorCode"));
        if (s_status_ok(parsed))
            assert(outcome == LT_EDOC_OK);
        else if (json_is_string(json_object_get(parsed, "status")) && code
                 && strlen(code) == 3 && strspn(code, "0123456789") == 3) {
            int value = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
            bool transient = value == 408 || value == 425 || value == 429 || value / 100 == 5;
            assert(outcome == (transient ? LT_EDOC_TRANSIENT : LT_EDOC_PERMANENT));
            assert(strstr(err.detail, code));
        }
    }
    json_decref(parsed);

    if (outcome == LT_EDOC_OK) {
        s_check_items(answer);
        s_check_data(answer);
        json_decref(answer);
    }
}

//  Use the input as getEdoc's data text, any bytes (NULs too).
static void s_check_text(const uint8_t *data, size_t size)
{
    json_t *answer = json_object();
    json_object_set_new(answer, "status", json_string("OK"));
    json_object_set_new(answer, "data", json_stringn_nocheck((const char *) data, size));
    s_check_data(answer);
    json_decref(answer);
}

//  Use the input as bytes sent: input[0] chooses the alphabet (bit 0), the
//  padding dropped (bit 1), a byte order mark (bit 2) and the break (bits
//  3-4: LF, CRLF, a blank, a tab); input[1] the gap between breaks (0:
//  none); the rest is the package.
static void s_check_round_trip(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    static const char alphabet[]
        = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char *const breaks[] = {"\n", "\r\n", " ", "\t"};
    bool url_safe = data[0] & 1;
    bool drop_pad = data[0] & 2;
    bool bom = data[0] & 4;
    const char *brk = breaks[(data[0] >> 3) & 3];
    size_t gap = data[1];
    const uint8_t *package = data + 2;
    size_t length = size - 2;

    size_t plain_size = (length + 2) / 3 * 4;
    char *plain = malloc(plain_size + 1);
    assert(plain);
    size_t n = 0;
    for (size_t i = 0; i < length; i += 3) {
        uint32_t bits = (uint32_t) package[i] << 16;
        size_t in_group = length - i < 3 ? length - i : 3;
        if (in_group > 1)
            bits |= (uint32_t) package[i + 1] << 8;
        if (in_group > 2)
            bits |= package[i + 2];
        for (size_t k = 0; k < 4; k++) {
            char c = k <= in_group ? alphabet[(bits >> (18 - 6 * k)) & 63] : '=';
            if (url_safe && (c == '+' || c == '/'))
                c = c == '+' ? '-' : '_';
            if (!(drop_pad && c == '='))
                plain[n++] = c;
        }
    }
    //  A break after every gap characters, padding included.
    char *text = malloc(n * 3 + 3);
    assert(text);
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        text[t++] = plain[i];
        if (gap && (i + 1) % gap == 0)
            for (const char *b = brk; *b; b++)
                text[t++] = *b;
    }

    json_t *object = json_object();
    json_object_set_new(object, "status", json_string("OK"));
    json_object_set_new(object, "ErrorCode", json_string("0"));
    json_object_set_new(object, "ErrorDesc", json_string(""));
    json_object_set_new(object, "data", json_stringn(text, t));
    char *body = json_dumps(object, JSON_COMPACT);
    assert(body);
    char *sent = malloc(strlen(body) + 4);
    assert(sent);
    snprintf(sent, strlen(body) + 4, "%s%s", bom ? "\xEF\xBB\xBF" : "", body);

    json_t *answer = NULL;
    lt_err_t err;
    lt_err_clear(&err);
    assert(lt_edoc_answer_read("getEdoc", sent, strlen(sent), &answer, &err) == LT_EDOC_OK);
    uint8_t *bytes = NULL;
    size_t bytes_size = 0;
    assert(lt_edoc_answer_data(answer, "fuzz-doc", &bytes, &bytes_size, NULL, NULL, &err)
           == LT_EDOC_OK);
    assert(bytes_size == length && memcmp(bytes, package, length) == 0);
    free(bytes);
    json_decref(answer);
    free(sent);
    free(body);
    json_decref(object);
    free(text);
    free(plain);
}

//  Check one input.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check_answer(data, size);
    s_check_text(data, size);
    s_check_round_trip(data, size);
    return 0;
}
