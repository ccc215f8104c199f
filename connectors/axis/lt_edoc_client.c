/*  lt_edoc_client: signed calls to an edoc API server and the sorting of
    their outcomes into OK, TRANSIENT and PERMANENT (see the header).

    The edoc servers answer HTTP 200 with a JSON body whatever happened and
    put the verdict in "status" and "ErrorCode" (the SDKs read the body, not
    the HTTP status), so the body decides; an HTTP status other than 200 is
    a proxy or a failing server speaking, and s_http_transient() decides.
*/
#include "lt_edoc_client.h"
#include "lt_digest.h"
#include "lt_http_client.h"
#include "lt_id.h"
#include "lt_log.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_DESC_MAX 400    //  longest updateStatus description sent
#define S_SKIP_MEMO 256   //  skipped list items remembered, so each is logged once
#define S_EXACT_MAX 9007199254740992.0   //  2^53: every integer below it is read exactly

struct _lt_edoc_client_t {
    lt_http_client_t *http;             //  the kept-alive connection to the server
    char *system_id;                    //  this client system's id
    char *secret;                       //  secret bytes (a copy, wiped on destroy)
    size_t secret_size;                 //  secret length
    uint64_t skipped[S_SKIP_MEMO];      //  hashes of the list items skipped and logged
    size_t skipped_next;                //  next slot of skipped to overwrite
};

lt_edoc_client_t *lt_edoc_client_new(const lt_edoc_client_config_t *config, lt_err_t *err)
{
    assert(config);
    if (!config->url || !config->system_id || !*config->system_id || !config->secret
        || config->secret_size == 0) {
        lt_err_set(err, LT_ECONFIG, "the edoc client needs a URL, a system id and a secret");
        return NULL;
    }
    lt_edoc_client_t *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "out of memory creating the edoc client");
        return NULL;
    }
    self->http = lt_http_client_new(config->url);
    self->system_id = strdup(config->system_id);
    self->secret = malloc(config->secret_size);
    if (!self->http || !self->system_id || !self->secret) {
        lt_err_set(err, self->http ? LT_ENOMEM : LT_ECONFIG,
                   self->http ? "out of memory creating the edoc client"
                              : "edoc URL '%s' is not an http:// or https:// URL",
                   config->url);
        lt_edoc_client_destroy(&self);
        return NULL;
    }
    memcpy(self->secret, config->secret, config->secret_size);
    self->secret_size = config->secret_size;
    lt_http_client_set_timeout(self->http, config->timeout_ms);
    lt_http_client_set_connect_timeout(self->http, config->connect_timeout_ms);
    if (config->ca_file && *config->ca_file
        && lt_http_client_set_ca_file(self->http, config->ca_file)) {
        lt_err_set(err, LT_ECONFIG, "cannot read the CA file %s", config->ca_file);
        lt_edoc_client_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_edoc_client_destroy(lt_edoc_client_t **self_p)
{
    assert(self_p);
    lt_edoc_client_t *self = *self_p;
    if (!self)
        return;
    lt_http_client_destroy(&self->http);
    free(self->system_id);
    if (self->secret) {
        OPENSSL_cleanse(self->secret, self->secret_size);
        free(self->secret);
    }
    free(self);
    *self_p = NULL;
}

const char *lt_edoc_outcome_name(lt_edoc_outcome_t outcome)
{
    return outcome == LT_EDOC_OK          ? "ok"
           : outcome == LT_EDOC_TRANSIENT ? "transient"
                                          : "permanent";
}

//  Return true when an ErrorCode of a FAIL answer means "try later".
static bool s_code_transient(const char *code)
{
    char *end = NULL;
    long value = strtol(code, &end, 10);
    if (!*code || *end)
        return false;
    return value == 408 || value == 425 || value == 429 || (value >= 500 && value <= 599);
}

//  Write a scalar of an answer as text: a string as it is, an integer, or
//  a real whose value is an integer a double holds exactly (an answer with
//  a number beyond 64 bits is read with every number as a real). Returns
//  false, with out "", for anything else or text that does not fit.
static bool s_text(json_t *value, char *out, size_t size)
{
    int n = -1;
    if (json_is_string(value)) {
        if (strlen(json_string_value(value)) == json_string_length(value))   //  no NUL inside
            n = snprintf(out, size, "%s", json_string_value(value));
    }
    else if (json_is_integer(value))
        n = snprintf(out, size, "%lld", (long long) json_integer_value(value));
    else if (json_is_real(value)) {
        double real = json_real_value(value);
        //  Strictly below 2^53: a larger integer may have been rounded
        //  onto 2^53 itself, or onto another integer.
        if (real > -S_EXACT_MAX && real < S_EXACT_MAX && real == (double) (long long) real)
            n = snprintf(out, size, "%lld", (long long) real);
    }
    if (n < 0 || (size_t) n >= size) {
        out[0] = 0;
        return false;
    }
    return true;
}

//  Return true when a status field says OK. The reference SDK writes "OK",
//  but servers written apart from it send "ok" or "Ok", some with blanks
//  around it; the word cannot be mistaken for FAIL, so case and blanks
//  are not held against it.
static bool s_status_ok(const char *status)
{
    status += strspn(status, " \t");
    size_t length = strlen(status);
    while (length > 0 && (status[length - 1] == ' ' || status[length - 1] == '\t'))
        length--;
    return length == 2 && strncasecmp(status, "OK", 2) == 0;
}

//  Read the verdict of a JSON answer: OK, or a FAIL sorted by its ErrorCode.
static lt_edoc_outcome_t s_verdict(const char *operation, json_t *answer, lt_err_t *err)
{
    const char *status = json_string_value(json_object_get(answer, "status"));
    if (!status) {
        lt_err_set(err, LT_EPEER, "%s: the answer has no status field", operation);
        return LT_EDOC_TRANSIENT;
    }
    if (s_status_ok(status))
        return LT_EDOC_OK;
    json_t *code_json = json_object_get(answer, "ErrorCode");
    char code[32] = "";
    s_text(code_json, code, sizeof(code));
    const char *desc = json_string_value(json_object_get(answer, "ErrorDesc"));
    bool transient = s_code_transient(code);
    lt_err_set(err, LT_EPEER, "%s refused: ErrorCode %s: %s",
               operation, *code ? code : "(none)", desc && *desc ? desc : "(no ErrorDesc)");
    return transient ? LT_EDOC_TRANSIENT : LT_EDOC_PERMANENT;
}

lt_edoc_outcome_t lt_edoc_answer_read(const char *operation, const void *body, size_t size,
                                      json_t **answer_p, lt_err_t *err)
{
    assert(operation && (body || size == 0));
    if (answer_p)
        *answer_p = NULL;
    //  A UTF-8 byte order mark before the JSON (.NET's UTF-8 writers put
    //  one by default) is no part of the answer.
    const char *text = body ? body : "";
    if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        size -= 3;
    }
    json_error_t jerr;
    json_t *answer = json_loadb(text, size, 0, &jerr);
    //  A number beyond 64 bits (an id a server writes as a number) must
    //  not make the whole answer unreadable: read every number as a real,
    //  and let each field say whether its value is usable.
    if (!answer && json_error_code(&jerr) == json_error_numeric_overflow)
        answer = json_loadb(text, size, JSON_DECODE_INT_AS_REAL, &jerr);
    lt_edoc_outcome_t outcome;
    if (!json_is_object(answer)) {
        lt_err_set(err, LT_EPEER, "%s: the answer is not a JSON object (%s)", operation,
                   answer ? "another JSON value" : jerr.text);
        outcome = LT_EDOC_TRANSIENT;
    }
    else
        outcome = s_verdict(operation, answer, err);
    if (outcome == LT_EDOC_OK && answer_p)
        *answer_p = answer;
    else
        json_decref(answer);
    return outcome;
}

//  Return true when an HTTP status other than 200 is worth trying again.
//  The edoc API answers 200 whatever happened and says its verdict in the
//  body, so another status comes from what stands in front of it (a
//  proxy, a load balancer) and is about the place, not the package: a 404
//  from a balancer with no backend for the path during a deploy, a
//  redirect to a maintenance or login page (not followed: the signed
//  headers would go elsewhere). Every package sent there would get the
//  same, so it is retried with backoff, bounded by the broker's attempts
//  and age, rather than dead-lettered one by one. Statuses that speak of
//  the request itself (400, 413, ...) or of the credentials (401, 403)
//  stay final.
static bool s_http_transient(long status)
{
    return lt_http_status_transient(status) || (status >= 300 && status <= 399)
           || status == 404;
}

//  The body of one request: nothing, a file part, or a JSON text.
typedef struct {
    const void *file;        //  file bytes for the part file_doc, or NULL
    size_t file_size;        //  file bytes
    const char *filename;    //  its file name
    const char *json;        //  JSON body, or NULL
} s_body_t;

//  Sign params, send the request, read and sort the answer.
static lt_edoc_outcome_t s_request(lt_edoc_client_t *self, const char *operation,
                                   const lt_edoc_param_t *params, size_t param_count,
                                   const s_body_t *body, json_t **answer_p, lt_err_t *err)
{
    if (answer_p)
        *answer_p = NULL;
    char stamp[LT_EDOC_TIMESTAMP_LEN];
    lt_edoc_auth_timestamp(lt_time_ms(), stamp);
    lt_edoc_headers_t *signed_headers = lt_edoc_auth_sign(
        self->system_id, self->secret, self->secret_size, stamp, params, param_count, err);
    if (!signed_headers)
        return LT_EDOC_PERMANENT;   //  a parameter no server will ever accept
    size_t count = lt_edoc_headers_count(signed_headers);
    lt_http_header_t headers[LT_EDOC_MAX_PARAMS + 8];
    assert(count <= sizeof(headers) / sizeof(headers[0]));
    for (size_t i = 0; i < count; i++) {
        headers[i].name = lt_edoc_headers_name(signed_headers, i);
        headers[i].value = lt_edoc_headers_value(signed_headers, i);
    }
    lt_http_reply_t reply = {0};
    lt_err_t http_err;
    lt_error_t rc;
    if (body->file)
        rc = lt_http_client_post_file(self->http, operation, headers, count, "file_doc",
                                      body->filename ? body->filename : "doc.edxml", body->file,
                                      body->file_size, &reply, &http_err);
    else if (body->json)
        rc = lt_http_client_post(self->http, operation, headers, count, body->json,
                                 strlen(body->json), "application/json", &reply, &http_err);
    else
        rc = lt_http_client_post(self->http, operation, headers, count, NULL, 0, NULL, &reply,
                                 &http_err);
    lt_edoc_headers_destroy(&signed_headers);
    if (rc != LT_OK) {
        //  No complete answer: the peer may be down, slow or misconfigured
        //  (TLS); each of these can heal, so the call is tried again later.
        lt_err_set(err, rc, "%s: %s", operation, http_err.detail);
        return LT_EDOC_TRANSIENT;
    }
    lt_edoc_outcome_t outcome;
    if (reply.status != 200) {
        bool transient = s_http_transient(reply.status);
        bool redirect = reply.status >= 300 && reply.status <= 399;
        lt_err_set(err, LT_EPEER, "%s: HTTP status %ld%s: %.120s", operation, reply.status,
                   redirect ? " (a redirect, not followed: check the axis URL)" : "",
                   reply.body ? reply.body : "");
        outcome = transient ? LT_EDOC_TRANSIENT : LT_EDOC_PERMANENT;
    }
    else
        outcome = lt_edoc_answer_read(operation, reply.body, reply.size, answer_p, err);
    lt_http_reply_free(&reply);
    return outcome;
}

lt_edoc_outcome_t lt_edoc_client_call(lt_edoc_client_t *self, const char *operation,
                                      const lt_edoc_param_t *params, size_t param_count,
                                      const void *file, size_t file_size, const char *filename,
                                      json_t **answer_p, lt_err_t *err)
{
    assert(self && operation);
    s_body_t body = {.file = file, .file_size = file_size, .filename = filename};
    return s_request(self, operation, params, param_count, &body, answer_p, err);
}

lt_edoc_outcome_t lt_edoc_client_send(lt_edoc_client_t *self, const void *package, size_t size,
                                      const char *messagetype, const char *const *to,
                                      size_t to_count, const char *filename, char doc_id[128],
                                      lt_err_t *err)
{
    assert(self && package && messagetype && doc_id);
    doc_id[0] = 0;
    char hash[LT_SHA256_UNPADDED];
    lt_edoc_auth_hash_file(package, size, hash);
    char *to_text = NULL;
    if (to_count > 0) {
        json_t *array = json_array();
        for (size_t i = 0; array && i < to_count; i++)
            json_array_append_new(array, json_string(to[i]));
        to_text = array ? json_dumps(array, JSON_COMPACT) : NULL;
        json_decref(array);
        if (!to_text)
            return lt_err_set(err, LT_ENOMEM, "sendEdoc: out of memory"), LT_EDOC_TRANSIENT;
    }
    lt_edoc_param_t params[5] = {
        {"from", self->system_id},
        {"servicetype", "eDoc"},
        {"messagetype", messagetype},
        {"hash-file", hash},
    };
    size_t count = 4;
    if (to_text)
        params[count++] = (lt_edoc_param_t){"to", to_text};
    json_t *answer = NULL;
    lt_edoc_outcome_t outcome = lt_edoc_client_call(self, "sendEdoc", params, count, package, size,
                                                    filename, &answer, err);
    free(to_text);
    if (outcome == LT_EDOC_OK)
        s_text(json_object_get(answer, "DocId"), doc_id, 128);
    json_decref(answer);
    return outcome;
}

//  Copy a string member of an object into a buffer ("" when absent or
//  unusable); an integer is printed.
static void s_member(json_t *object, const char *key, char *out, size_t size)
{
    s_text(json_object_get(object, key), out, size);
}

//  Append the codes of text (separated by ',', ';' or blanks) to out,
//  joined by ','. Returns false when out is too small.
static bool s_codes_split(const char *text, char *out, size_t size)
{
    size_t used = strlen(out);
    while (*text) {
        text += strspn(text, ",; \t\r\n");
        size_t length = strcspn(text, ",; \t\r\n");
        if (length == 0)
            break;
        if (used + (used > 0) + length + 1 > size)
            return false;
        if (used > 0)
            out[used++] = ',';
        memcpy(out + used, text, length);
        used += length;
        out[used] = 0;
        text += length;
    }
    return true;
}

//  Read an item's `to` as codes joined by ',' into out ("" when absent, of
//  another type, or too long). The spec gives no shape for it: servers
//  write one code, a JSON array of codes, the text of such an array (the
//  sendEdoc header as received), or codes joined by ',' or ';'.
static void s_codes(json_t *value, char *out, size_t size)
{
    out[0] = 0;
    json_t *parsed = NULL;
    if (json_is_string(value)) {
        const char *text = json_string_value(value);
        if (text[strspn(text, " \t")] == '[')
            value = parsed = json_loads(text, 0, NULL);
    }
    bool ok = true;
    if (json_is_string(value))
        ok = s_codes_split(json_string_value(value), out, size);
    else if (json_is_array(value)) {
        size_t i;
        json_t *code;
        json_array_foreach (value, i, code)
            if (ok && json_is_string(code))
                ok = s_codes_split(json_string_value(code), out, size);
    }
    json_decref(parsed);
    if (!ok)
        out[0] = 0;
}

//  Return true when an id can travel as a header value exactly as the
//  server wrote it: printable ASCII without spaces at its ends (HTTP drops
//  those, and other bytes are read differently by different servers, so
//  that the value received would differ from the one signed).
static bool s_id_sendable(const char *id)
{
    size_t length = strlen(id);
    if (length == 0 || id[0] == ' ' || id[length - 1] == ' ')
        return false;
    for (const unsigned char *c = (const unsigned char *) id; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return false;
    return true;
}

//  Fold text into an FNV-1a hash.
static uint64_t s_fnv(uint64_t hash, const char *text)
{
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        hash = (hash ^ *c) * 1099511628211ull;
    return (hash ^ 0xff) * 1099511628211ull;   //  a separator, so "ab"+"c" differs from "a"+"bc"
}

//  Log a list item that cannot be taken, once per client for the same item
//  (every time when self is NULL: no memory of what was logged).
static void s_skip_log(lt_edoc_client_t *self, const char *messagetype, size_t index,
                       json_t *item, const char *why)
{
    char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    uint64_t hash = s_fnv(s_fnv(14695981039346656037ull, messagetype), text ? text : "");
    bool logged = false;
    for (size_t i = 0; self && i < S_SKIP_MEMO && !logged; i++)
        logged = self->skipped[i] == hash;
    if (!logged) {
        if (self) {
            self->skipped[self->skipped_next] = hash;
            self->skipped_next = (self->skipped_next + 1) % S_SKIP_MEMO;
        }
        lt_log_warning("event=list_item_skipped messagetype=%s index=%zu reason=\"%s\" "
                       "item=%.300s (it can be neither fetched nor acknowledged; logged once)",
                       messagetype, index, why, text ? text : "?");
    }
    free(text);
}

//  Say why a listed item cannot be taken, or NULL when it can; fills doc_id.
static const char *s_item_unusable(json_t *item, char *doc_id, size_t size)
{
    doc_id[0] = 0;
    if (!json_is_object(item))
        return "not an object";
    json_t *id = json_object_get(item, "docId");
    if (!id)
        return "no docId";
    if (!json_is_string(id) && !json_is_integer(id) && !json_is_real(id))
        return "docId is neither a string nor a number";
    if (!s_text(id, doc_id, size))
        return json_is_string(id) ? "docId is too long or holds a NUL"
                                  : "docId is not an integer a client can write exactly";
    if (!*doc_id)
        return "docId is empty";
    if (!s_id_sendable(doc_id))
        return "docId has spaces at its ends, control or non-ASCII characters: it cannot be "
               "sent back as a header exactly";
    return NULL;
}

lt_edoc_outcome_t lt_edoc_answer_items(json_t *answer, lt_edoc_client_t *memo,
                                       const char *messagetype, lt_edoc_item_t **items_p,
                                       size_t *count_p, lt_err_t *err)
{
    assert(answer && messagetype && items_p && count_p);
    *items_p = NULL;
    *count_p = 0;
    //  An empty list may come as "data": null (a server serializing a null
    //  list) or without data at all: both are no items.
    json_t *data = json_object_get(answer, "data");
    if (data && !json_is_null(data) && !json_is_array(data)) {
        lt_err_set(err, LT_EPEER, "getReceivedEdocList: data is not a list");
        return LT_EDOC_TRANSIENT;
    }
    size_t count = json_array_size(data);
    lt_edoc_item_t *items = count ? calloc(count, sizeof(*items)) : NULL;
    if (count && !items) {
        lt_err_set(err, LT_ENOMEM, "getReceivedEdocList: out of memory for %zu items", count);
        return LT_EDOC_TRANSIENT;
    }
    //  An item without a usable docId cannot be fetched nor acknowledged:
    //  it is skipped (logged once), so that it never holds up the items
    //  after it.
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(data, i);
        lt_edoc_item_t *out = &items[kept];
        memset(out, 0, sizeof(*out));
        const char *why = s_item_unusable(item, out->doc_id, sizeof(out->doc_id));
        if (why) {
            s_skip_log(memo, messagetype, i, item, why);
            continue;
        }
        s_member(item, "messageType", out->message_type, sizeof(out->message_type));
        s_member(item, "from", out->from, sizeof(out->from));
        s_codes(json_object_get(item, "to"), out->to, sizeof(out->to));
        s_member(item, "status", out->status, sizeof(out->status));
        s_member(item, "created_time", out->created, sizeof(out->created));
        kept++;
    }
    if (kept == 0) {
        free(items);
        items = NULL;
    }
    *items_p = items;
    *count_p = kept;
    return LT_EDOC_OK;
}

lt_edoc_outcome_t lt_edoc_client_list(lt_edoc_client_t *self, const char *messagetype,
                                      lt_edoc_item_t **items_p, size_t *count_p, lt_err_t *err)
{
    assert(self && messagetype && items_p && count_p);
    *items_p = NULL;
    *count_p = 0;
    lt_edoc_param_t params[] = {{"servicetype", "eDoc"}, {"messagetype", messagetype}};
    json_t *answer = NULL;
    lt_edoc_outcome_t outcome = lt_edoc_client_call(self, "getReceivedEdocList", params, 2, NULL,
                                                    0, NULL, &answer, err);
    if (outcome != LT_EDOC_OK)
        return outcome;
    outcome = lt_edoc_answer_items(answer, self, messagetype, items_p, count_p, err);
    json_decref(answer);
    return outcome;
}

//  Return the value of a base64 digit, in the standard or the URL-safe
//  alphabet of RFC 4648 ('-' and '_' for '+' and '/'), or -1.
static int s_base64_digit(unsigned char c)
{
    if (c == '-' || c == '_')
        return c == '-' ? 62 : 63;
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

//  Decode base64 text into a malloc'd buffer; NULL when it is not base64 or
//  memory runs out. Tolerant of what the encoders in use write: line breaks
//  (LF or CRLF, every 76 characters from a MIME encoder), blanks, and the
//  '=' padding left out. Strict about the rest, since a garbled answer must
//  not pass for a package: any other character (OpenSSL's decoder stopped
//  silently at a '-'), both alphabets in one text, text after the padding,
//  padding that does not end a group, or a last group of one character (it
//  holds no byte: cut text). The URL-safe alphabet is taken (Java's
//  Base64.getUrlEncoder() writes it): its '-' and '_' are no standard digit,
//  so no standard text reads differently.
static uint8_t *s_base64_decode(const char *text, size_t length, size_t *size_p)
{
    uint8_t *out = malloc(length / 4 * 3 + 3);
    if (!out)
        return NULL;
    uint32_t group = 0;   //  bits of the group being read
    size_t held = 0;      //  digits in it
    size_t pad = 0;       //  '=' seen
    bool standard = false;   //  a '+' or '/' seen
    bool url_safe = false;   //  a '-' or '_' seen
    size_t total = 0;     //  bytes written
    bool ok = true;
    for (size_t i = 0; ok && i < length; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            ok = ++pad <= 2;
            continue;
        }
        int digit = s_base64_digit(c);
        standard |= c == '+' || c == '/';
        url_safe |= c == '-' || c == '_';
        ok = digit >= 0 && pad == 0 && !(standard && url_safe);
        if (!ok)
            break;
        group = group << 6 | (uint32_t) digit;
        if (++held == 4) {
            out[total++] = (uint8_t) (group >> 16);
            out[total++] = (uint8_t) (group >> 8);
            out[total++] = (uint8_t) group;
            group = 0;
            held = 0;
        }
    }
    ok = ok && held != 1 && (pad == 0 || held + pad == 4);
    if (ok && held == 2)
        out[total++] = (uint8_t) (group >> 4);
    else if (ok && held == 3) {
        out[total++] = (uint8_t) (group >> 10);
        out[total++] = (uint8_t) (group >> 2);
    }
    if (!ok) {
        free(out);
        return NULL;
    }
    *size_p = total;
    return out;
}

lt_edoc_outcome_t lt_edoc_answer_data(json_t *answer, const char *doc_id, uint8_t **data_p,
                                      size_t *size_p, char **raw_p, size_t *raw_size_p,
                                      lt_err_t *err)
{
    assert(answer && doc_id && data_p && size_p);
    *data_p = NULL;
    *size_p = 0;
    if (raw_p)
        *raw_p = NULL;
    if (raw_size_p)
        *raw_size_p = 0;
    json_t *data = json_object_get(answer, "data");
    if (!json_is_string(data)) {
        lt_err_set(err, LT_EPEER, "getEdoc %s: the answer has no data", doc_id);
        return LT_EDOC_TRANSIENT;
    }
    const char *text = json_string_value(data);
    size_t length = json_string_length(data);
    *data_p = s_base64_decode(text, length, size_p);
    if (*data_p)
        return LT_EDOC_OK;
    //  Servers and proxies have been seen cutting or garbling answers: the
    //  next fetch may be whole, so the caller decides how often to try, and
    //  may keep what came.
    lt_err_set(err, LT_EINVAL, "getEdoc %s: data is not base64 (%zu characters)", doc_id, length);
    size_t keep = length < LT_EDOC_RAW_MAX ? length : LT_EDOC_RAW_MAX;
    if (raw_p && raw_size_p && (*raw_p = malloc(keep + 1))) {
        memcpy(*raw_p, text, keep);
        (*raw_p)[keep] = 0;
        *raw_size_p = keep;
    }
    return LT_EDOC_TRANSIENT;
}

lt_edoc_outcome_t lt_edoc_client_get(lt_edoc_client_t *self, const char *doc_id,
                                     uint8_t **data_p, size_t *size_p, char **raw_p,
                                     size_t *raw_size_p, lt_err_t *err)
{
    assert(self && doc_id && data_p && size_p);
    *data_p = NULL;
    *size_p = 0;
    if (raw_p)
        *raw_p = NULL;
    if (raw_size_p)
        *raw_size_p = 0;
    if (!s_id_sendable(doc_id))
        return lt_err_set(err, LT_EINVAL,
                          "getEdoc: docId '%.140s' cannot be sent as a header exactly", doc_id),
               LT_EDOC_PERMANENT;
    lt_edoc_param_t params[] = {{"docId", doc_id}};
    json_t *answer = NULL;
    lt_edoc_outcome_t outcome
        = lt_edoc_client_call(self, "getEdoc", params, 1, NULL, 0, NULL, &answer, err);
    if (outcome != LT_EDOC_OK)
        return outcome;
    outcome = lt_edoc_answer_data(answer, doc_id, data_p, size_p, raw_p, raw_size_p, err);
    json_decref(answer);
    return outcome;
}

lt_edoc_outcome_t lt_edoc_client_update(lt_edoc_client_t *self, const char *doc_id,
                                        const char *status, const char *description,
                                        lt_err_t *err)
{
    assert(self && doc_id && status);
    if (!s_id_sendable(doc_id))
        return lt_err_set(err, LT_EINVAL,
                          "updateStatus: docId '%.140s' cannot be sent as a header exactly",
                          doc_id),
               LT_EDOC_PERMANENT;
    //  Header values beyond printable ASCII are not portable (RFC 9110
    //  leaves other bytes opaque; servlet containers read them as Latin-1,
    //  which would no longer match the signed, ASCII-escaped JSON): control
    //  characters become spaces, each other character one '?'.
    char desc[S_DESC_MAX + 1] = "";
    size_t used = 0;
    for (const unsigned char *c = (const unsigned char *) (description ? description : "");
         *c && used < S_DESC_MAX; c++) {
        if (*c >= 0x80 && (*c & 0xC0) == 0x80)
            continue;   //  a continuation byte: its character is written already
        desc[used++] = *c < 0x20 || *c == 0x7f ? ' ' : *c >= 0x80 ? '?' : (char) *c;
    }
    //  HTTP drops the whitespace around a header value: so must the signed copy.
    while (used > 0 && desc[used - 1] == ' ')
        used--;
    desc[used] = 0;
    size_t lead = strspn(desc, " ");
    lt_edoc_param_t params[3] = {{"docId", doc_id}, {"status", status}};
    size_t count = 2;
    if (desc[lead])
        params[count++] = (lt_edoc_param_t){"description", desc + lead};
    return lt_edoc_client_call(self, "updateStatus", params, count, NULL, 0, NULL, NULL, err);
}

lt_edoc_outcome_t lt_edoc_client_post_json(lt_edoc_client_t *self, const char *operation,
                                           const char *body, json_t **answer_p, lt_err_t *err)
{
    assert(self && operation && body);
    char hash[LT_SHA256_UNPADDED];
    lt_edoc_auth_hash_file(body, strlen(body), hash);
    lt_edoc_param_t params[] = {{"hash-file", hash}};
    s_body_t request = {.json = body};
    return s_request(self, operation, params, 1, &request, answer_p, err);
}
