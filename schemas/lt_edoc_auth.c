/*  lt_edoc_auth: signing and verifying the edoc API's XroadVnpt-* headers.

    The JSON of sign-header is built and parsed with jansson; the HMAC and the
    constant-time compare come from lt_digest. The verifier reads everything
    through callbacks so that lthub-dms (libmicrohttpd) and the simulators
    share one implementation of the rules of spec/peers.md A.
*/
#include "lt_period.h"
#include "lt_edoc_auth.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_HEADERS (LT_EDOC_MAX_PARAMS + 5)   //  params + the five auth headers
#define S_MAX_NAME    64                         //  longest parameter name

struct _lt_edoc_headers_t {
    size_t count;                  //  headers in use
    char *names[S_MAX_HEADERS];    //  full header names, owned
    char *values[S_MAX_HEADERS];   //  header values, owned
};

//  Return true when a parameter name is a plain token (letters, digits, '-', '_').
static bool s_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > S_MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) name[i];
        if (!isalnum(c) && c != '-' && c != '_')
            return false;
    }
    return true;
}

//  Return true when a value can travel in an HTTP header as is.
static bool s_value_ok(const char *value)
{
    for (const unsigned char *p = (const unsigned char *) value; *p; p++)
        if (*p == '\r' || *p == '\n')
            return false;
    return true;
}

//  Return true when name is one of the headers the signing itself produces.
static bool s_name_reserved(const char *name)
{
    static const char *const reserved[]
        = {"systemid", "timestamp", "sign-header-key", "sign-header", "hash-header"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    return false;
}

//  Append one header (prefix + name, value) to the list; -1 on allocation failure.
static int s_headers_add(lt_edoc_headers_t *self, const char *name, const char *value)
{
    assert(self->count < S_MAX_HEADERS);
    size_t size = strlen(LT_EDOC_PREFIX) + strlen(name) + 1;
    char *full = malloc(size);
    char *copy = strdup(value);
    if (!full || !copy) {
        free(full);
        free(copy);
        return -1;
    }
    snprintf(full, size, "%s%s", LT_EDOC_PREFIX, name);
    self->names[self->count] = full;
    self->values[self->count] = copy;
    self->count++;
    return 0;
}

lt_edoc_headers_t *lt_edoc_auth_sign(const char *system_id, const void *secret,
                                     size_t secret_size, const char *timestamp,
                                     const lt_edoc_param_t *params, size_t param_count,
                                     lt_err_t *err)
{
    assert(system_id && timestamp && (params || param_count == 0));
    if (!*system_id || !s_value_ok(system_id)) {
        lt_err_set(err, LT_EFIELD, "edoc signing: empty or multi-line system id");
        return NULL;
    }
    if (!secret || secret_size == 0) {
        lt_err_set(err, LT_ECONFIG, "edoc signing: empty secret for system id '%s'", system_id);
        return NULL;
    }
    if (!*timestamp || !s_value_ok(timestamp)) {
        lt_err_set(err, LT_EFIELD, "edoc signing: empty or multi-line timestamp");
        return NULL;
    }
    if (param_count > LT_EDOC_MAX_PARAMS) {
        lt_err_set(err, LT_EFIELD, "edoc signing: %zu parameters, at most %d", param_count,
                   LT_EDOC_MAX_PARAMS);
        return NULL;
    }
    for (size_t i = 0; i < param_count; i++) {
        if (!params[i].name || !s_name_ok(params[i].name) || s_name_reserved(params[i].name)) {
            lt_err_set(err, LT_EFIELD, "edoc signing: parameter %zu has an unusable name", i);
            return NULL;
        }
        if (!params[i].value || !s_value_ok(params[i].value)) {
            lt_err_set(err, LT_EFIELD, "edoc signing: parameter '%s' has no value or holds CR/LF",
                       params[i].name);
            return NULL;
        }
    }
    lt_edoc_headers_t *self = calloc(1, sizeof(*self));
    json_t *sign = json_object();
    char *key_list = NULL;
    char *sign_text = NULL;
    if (!self || !sign)
        goto nomem;

    //  The key list: systemid;timestamp;every parameter, in call order.
    size_t key_size = strlen("systemid;timestamp") + 1;
    for (size_t i = 0; i < param_count; i++)
        key_size += strlen(params[i].name) + 1;
    key_list = malloc(key_size);
    if (!key_list)
        goto nomem;
    size_t used = (size_t) snprintf(key_list, key_size, "systemid;timestamp");
    for (size_t i = 0; i < param_count; i++)
        used += (size_t) snprintf(key_list + used, key_size - used, ";%s", params[i].name);

    //  The sign-header object: full header name -> value.
    char full[sizeof(LT_EDOC_PREFIX) + S_MAX_NAME];
    const char *names[LT_EDOC_MAX_PARAMS + 2];
    const char *values[LT_EDOC_MAX_PARAMS + 2];
    names[0] = "systemid", values[0] = system_id;
    names[1] = "timestamp", values[1] = timestamp;
    for (size_t i = 0; i < param_count; i++)
        names[i + 2] = params[i].name, values[i + 2] = params[i].value;
    for (size_t i = 0; i < param_count + 2; i++) {
        snprintf(full, sizeof(full), "%s%s", LT_EDOC_PREFIX, names[i]);
        json_t *value = json_string(values[i]);
        if (!value) {
            lt_err_set(err, LT_EFIELD, "edoc signing: value of '%s' is not valid UTF-8", names[i]);
            goto fail;
        }
        if (json_object_set_new(sign, full, value) != 0)
            goto nomem;
    }
    sign_text = json_dumps(sign, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!sign_text)
        goto nomem;
    char hash[LT_SHA256_HEX];
    lt_digest_hmac_sha256_hex(secret, secret_size, sign_text, strlen(sign_text), hash);

    for (size_t i = 0; i < param_count; i++)
        if (s_headers_add(self, params[i].name, params[i].value))
            goto nomem;
    if (s_headers_add(self, "systemid", system_id) || s_headers_add(self, "timestamp", timestamp)
        || s_headers_add(self, "sign-header-key", key_list)
        || s_headers_add(self, "sign-header", sign_text)
        || s_headers_add(self, "hash-header", hash))
        goto nomem;
    json_decref(sign);
    free(key_list);
    free(sign_text);
    return self;

nomem:
    lt_err_set(err, LT_ENOMEM, "edoc signing: out of memory");
fail:
    json_decref(sign);
    free(key_list);
    free(sign_text);
    lt_edoc_headers_destroy(&self);
    return NULL;
}

void lt_edoc_headers_destroy(lt_edoc_headers_t **self_p)
{
    assert(self_p);
    lt_edoc_headers_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        free(self->names[i]);
        free(self->values[i]);
    }
    free(self);
    *self_p = NULL;
}

size_t lt_edoc_headers_count(const lt_edoc_headers_t *self)
{
    assert(self);
    return self->count;
}

const char *lt_edoc_headers_name(const lt_edoc_headers_t *self, size_t index)
{
    assert(self && index < self->count);
    return self->names[index];
}

const char *lt_edoc_headers_value(const lt_edoc_headers_t *self, size_t index)
{
    assert(self && index < self->count);
    return self->values[index];
}

const char *lt_edoc_headers_get(const lt_edoc_headers_t *self, const char *name)
{
    assert(self && name);
    for (size_t i = 0; i < self->count; i++)
        if (strcasecmp(self->names[i], name) == 0)
            return self->values[i];
    return NULL;
}

void lt_edoc_auth_timestamp(int64_t ms, char out[LT_EDOC_TIMESTAMP_LEN])
{
    //  The reference SDK formats ddMMyyyy'T'HHmmss+SSSS: the '+' is a
    //  literal and SSSS the milliseconds, zero-padded to four digits.
    char seconds[20];   //  ddMMyyyyTHHmmss: 15 characters
    lt_period_format_time(ms, "%d%m%YT%H%M%S", seconds, sizeof(seconds));
    int millis = (int) (((ms % 1000) + 1000) % 1000);
    snprintf(out, LT_EDOC_TIMESTAMP_LEN, "%s+%04d", seconds, millis);
}

void lt_edoc_auth_hash_file(const void *data, size_t size, char out[LT_SHA256_UNPADDED])
{
    lt_digest_sha256_unpadded(data, size, out);
}

bool lt_edoc_auth_hash_file_ok(const char *received, const void *data, size_t size)
{
    if (!received)
        return false;
    char mine[LT_SHA256_UNPADDED];
    lt_digest_sha256_unpadded(data, size, mine);
    return lt_digest_equal(received, mine);
}

//  Copy untrusted text into buf for an error detail: bounded, printable ASCII only.
static const char *s_printable(const char *text, char *buf, size_t size)
{
    size_t i = 0;
    for (; text[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char) text[i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    buf[i] = 0;
    if (text[i] && size > 4)
        memcpy(buf + size - 4, "...", 4);
    return buf;
}

//  Read header prefix+name through the callback.
static const char *s_header(lt_edoc_header_fn *header, void *arg, const char *name)
{
    char full[sizeof(LT_EDOC_PREFIX) + S_MAX_NAME];
    snprintf(full, sizeof(full), "%s%s", LT_EDOC_PREFIX, name);
    return header(arg, full);
}

//  Find key prefix+name in the sign-header object: exact first, then ignoring case.
static json_t *s_signed_value(json_t *sign, const char *name)
{
    char full[sizeof(LT_EDOC_PREFIX) + S_MAX_NAME];
    snprintf(full, sizeof(full), "%s%s", LT_EDOC_PREFIX, name);
    json_t *value = json_object_get(sign, full);
    if (value)
        return value;
    const char *key;
    json_object_foreach (sign, key, value)
        if (strcasecmp(key, full) == 0)
            return value;
    return NULL;
}

lt_error_t lt_edoc_auth_verify(lt_edoc_header_fn *header, void *header_arg,
                               lt_edoc_secret_fn *secret, void *secret_arg,
                               const char *const *params, lt_err_t *err)
{
    assert(header && secret);
    char shown[80];
    const char *system_id = s_header(header, header_arg, "systemid");
    if (!system_id || !*system_id)
        return lt_err_set(err, LT_EAUTH, "missing header " LT_EDOC_PREFIX "systemid");
    size_t secret_size = 0;
    const void *key = secret(secret_arg, system_id, &secret_size);
    if (!key)
        return lt_err_set(err, LT_EAUTH, "unknown system id '%s'",
                          s_printable(system_id, shown, sizeof(shown)));
    const char *key_list = s_header(header, header_arg, "sign-header-key");
    const char *sign_text = s_header(header, header_arg, "sign-header");
    const char *hash = s_header(header, header_arg, "hash-header");
    if (!key_list)
        return lt_err_set(err, LT_EAUTH, "missing header " LT_EDOC_PREFIX "sign-header-key");
    if (!sign_text)
        return lt_err_set(err, LT_EAUTH, "missing header " LT_EDOC_PREFIX "sign-header");
    if (!hash)
        return lt_err_set(err, LT_EAUTH, "missing header " LT_EDOC_PREFIX "hash-header");

    json_error_t jerr;
    json_t *sign = json_loads(sign_text, JSON_REJECT_DUPLICATES, &jerr);
    if (!sign || !json_is_object(sign)) {
        json_decref(sign);
        return lt_err_set(err, LT_EAUTH, LT_EDOC_PREFIX "sign-header is not a JSON object%s%s",
                          sign ? "" : ": ", sign ? "" : jerr.text);
    }

    //  Walk the key list: every name must be signed with the received value.
    char names[LT_EDOC_MAX_PARAMS + 2][S_MAX_NAME + 1];
    size_t name_count = 0;
    bool has_system = false, has_time = false;
    lt_error_t rc = LT_OK;
    const char *p = key_list;
    while (*p && rc == LT_OK) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        const char *start = p;
        p = end ? end + 1 : p + len;
        while (len > 0 && (*start == ' ' || *start == '\t'))
            start++, len--;
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
            len--;
        size_t prefix = strlen(LT_EDOC_PREFIX);
        if (len > prefix && strncasecmp(start, LT_EDOC_PREFIX, prefix) == 0)
            start += prefix, len -= prefix;
        if (len == 0)
            continue;
        if (len > S_MAX_NAME || name_count == LT_EDOC_MAX_PARAMS + 2) {
            rc = lt_err_set(err, LT_EAUTH, LT_EDOC_PREFIX "sign-header-key is too long");
            break;
        }
        char *name = names[name_count++];
        memcpy(name, start, len);
        name[len] = 0;
        s_printable(name, shown, sizeof(shown));
        if (strcasecmp(name, "systemid") == 0)
            has_system = true;
        if (strcasecmp(name, "timestamp") == 0)
            has_time = true;
        json_t *value = s_signed_value(sign, name);
        const char *received = s_header(header, header_arg, name);
        if (!value || !json_is_string(value))
            rc = lt_err_set(err, LT_EAUTH,
                            "header " LT_EDOC_PREFIX "%s is in sign-header-key but not signed "
                            "in sign-header",
                            shown);
        else if (!received)
            rc = lt_err_set(err, LT_EAUTH, "header " LT_EDOC_PREFIX "%s is signed but absent",
                            shown);
        else if (strcmp(json_string_value(value), received) != 0)
            rc = lt_err_set(err, LT_EAUTH,
                            "header " LT_EDOC_PREFIX "%s differs from its signed value", shown);
    }
    if (rc == LT_OK && (!has_system || !has_time))
        rc = lt_err_set(err, LT_EAUTH, LT_EDOC_PREFIX "sign-header-key does not list %s",
                        has_system ? "timestamp" : "systemid");

    //  Every parameter of the call that was sent must have been signed, and
    //  one the client signed must have been received (taking a signed `to`
    //  away would widen the delivery).
    for (size_t i = 0; rc == LT_OK && params && params[i]; i++) {
        if (!s_header(header, header_arg, params[i])) {
            if (s_signed_value(sign, params[i]))
                rc = lt_err_set(err, LT_EAUTH, "header " LT_EDOC_PREFIX "%s is signed but absent",
                                params[i]);
            continue;
        }
        bool listed = false;
        for (size_t n = 0; n < name_count && !listed; n++)
            listed = strcasecmp(names[n], params[i]) == 0;
        if (!listed)
            rc = lt_err_set(err, LT_EAUTH, "header " LT_EDOC_PREFIX "%s is not signed",
                            params[i]);
    }
    json_decref(sign);
    if (rc != LT_OK)
        return rc;

    //  The HMAC over the sign-header text exactly as received.
    char mine[LT_SHA256_HEX];
    lt_digest_hmac_sha256_hex(key, secret_size, sign_text, strlen(sign_text), mine);
    char theirs[LT_SHA256_HEX] = "";
    size_t hash_len = strlen(hash);
    if (hash_len == LT_SHA256_HEX - 1)
        for (size_t i = 0; i <= hash_len; i++)
            theirs[i] = (char) tolower((unsigned char) hash[i]);
    if (!lt_digest_equal(theirs, mine))
        return lt_err_set(err, LT_EAUTH, "HMAC mismatch for system id '%s'",
                          s_printable(system_id, shown, sizeof(shown)));
    lt_err_clear(err);
    return LT_OK;
}

char *lt_edoc_secret_load(const char *path, size_t *size, lt_err_t *err)
{
    assert(path && size);
    FILE *file = fopen(path, "rb");
    if (!file) {
        lt_err_set(err, LT_ECONFIG, "cannot open secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *secret = malloc(LT_EDOC_SECRET_MAX + 2);
    if (!secret) {
        fclose(file);
        lt_err_set(err, LT_ENOMEM, "out of memory reading secret file %s", path);
        return NULL;
    }
    size_t got = fread(secret, 1, LT_EDOC_SECRET_MAX + 1, file);
    bool failed = ferror(file) != 0;
    fclose(file);
    while (got > 0 && strchr("\r\n \t", secret[got - 1]))
        got--;
    secret[got] = 0;
    const char *why = failed ? "read error" : got > LT_EDOC_SECRET_MAX ? "too large" : NULL;
    if (!why && got == 0)
        why = "empty";
    if (why) {
        lt_edoc_secret_free(&secret, LT_EDOC_SECRET_MAX + 2);
        lt_err_set(err, LT_ECONFIG, "secret file %s: %s", path, why);
        return NULL;
    }
    *size = got;
    return secret;
}

void lt_edoc_secret_free(char **secret_p, size_t size)
{
    assert(secret_p);
    if (*secret_p) {
        OPENSSL_cleanse(*secret_p, size);
        free(*secret_p);
        *secret_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Self-test

#define S_TEST_MAX 48

//  A request as the test server sees it: a small table of headers.
typedef struct {
    size_t count;                    //  headers in use
    char *names[S_TEST_MAX];         //  full names
    char *values[S_TEST_MAX];        //  values
} s_test_request_t;

//  Header callback over a test request.
static const char *s_test_header(void *arg, const char *name)
{
    s_test_request_t *req = arg;
    for (size_t i = 0; i < req->count; i++)
        if (strcasecmp(req->names[i], name) == 0)
            return req->values[i];
    return NULL;
}

//  Secret callback: one known system "sys-a" with secret "s3cret-key".
static const void *s_test_secret(void *arg, const char *system_id, size_t *size)
{
    const char *secret = arg;
    if (strcmp(system_id, "sys-a") != 0)
        return NULL;
    *size = strlen(secret);
    return secret;
}

//  Copy a signed header list into a test request.
static void s_test_load(s_test_request_t *req, const lt_edoc_headers_t *headers)
{
    req->count = 0;
    for (size_t i = 0; i < lt_edoc_headers_count(headers); i++) {
        req->names[i] = strdup(lt_edoc_headers_name(headers, i));
        req->values[i] = strdup(lt_edoc_headers_value(headers, i));
        assert(req->names[i] && req->values[i]);
        req->count++;
    }
}

//  Replace (or add) one header of a test request.
static void s_test_set(s_test_request_t *req, const char *name, const char *value)
{
    for (size_t i = 0; i < req->count; i++)
        if (strcasecmp(req->names[i], name) == 0) {
            free(req->values[i]);
            req->values[i] = strdup(value);
            assert(req->values[i]);
            return;
        }
    assert(req->count < S_TEST_MAX);
    req->names[req->count] = strdup(name);
    req->values[req->count] = strdup(value);
    assert(req->names[req->count] && req->values[req->count]);
    req->count++;
}

//  Free the strings of a test request.
static void s_test_free(s_test_request_t *req)
{
    for (size_t i = 0; i < req->count; i++) {
        free(req->names[i]);
        free(req->values[i]);
    }
    req->count = 0;
}

//  Verify a test request; check the outcome and that the detail holds `expect`.
static void s_test_expect(s_test_request_t *req, const char *secret, const char *const *params,
                          const char *expect, bool verbose)
{
    lt_err_t err;
    lt_error_t rc = lt_edoc_auth_verify(s_test_header, req, s_test_secret, (void *) secret,
                                        params, &err);
    if (verbose && rc != LT_OK)
        printf("\n    refused: %s", err.detail);
    if (!expect) {
        if (rc != LT_OK)
            fprintf(stderr, "lt_edoc_auth: unexpected refusal: %s\n", err.detail);
        assert(rc == LT_OK);
        return;
    }
    assert(rc == LT_EAUTH);
    assert(err.code == LT_EAUTH);
    assert(strstr(err.detail, expect));
    assert(!strstr(err.detail, "s3cret"));
}

void lt_edoc_auth_test(bool verbose)
{
    if (verbose)
        printf(" * lt_edoc_auth: ");
    const char *secret = "s3cret-key";
    const char *const call_params[] = {"servicetype", "messagetype", "docId", NULL};
    lt_edoc_param_t params[] = {
        {"servicetype", "eDoc"},
        {"messagetype", "edoc"},
        {"docId", "0190f6a2-aaaa-7bbb-8ccc-000000000001"},
        {"to", "[\"000.00.00.G22\",\"000.00.13.H26\"]"},
    };
    lt_err_t err;

    //  Timestamp form: 2026-09-03 01:02:03 UTC is 08:02:03 in Vietnam; the
    //  four digits after '+' are the milliseconds, as the SDK's SSSS.
    char stamp[LT_EDOC_TIMESTAMP_LEN];
    lt_edoc_auth_timestamp(1788397323045LL, stamp);
    assert(strcmp(stamp, "03092026T080203+0045") == 0);
    lt_edoc_auth_timestamp(1788397323999LL, stamp);
    assert(strcmp(stamp, "03092026T080203+0999") == 0);
    lt_edoc_auth_timestamp(1788397323000LL, stamp);
    assert(strcmp(stamp, "03092026T080203+0000") == 0);

    //  Signing produces every header with the documented shapes.
    lt_edoc_headers_t *headers
        = lt_edoc_auth_sign("sys-a", secret, strlen(secret), stamp, params, 4, &err);
    assert(headers);
    assert(lt_edoc_headers_count(headers) == 9);
    assert(strcmp(lt_edoc_headers_get(headers, "XroadVnpt-docId"), params[2].value) == 0);
    assert(strcmp(lt_edoc_headers_get(headers, "xroadvnpt-SYSTEMID"), "sys-a") == 0);
    assert(strcmp(lt_edoc_headers_get(headers, "XroadVnpt-sign-header-key"),
                  "systemid;timestamp;servicetype;messagetype;docId;to")
           == 0);
    const char *sign_text = lt_edoc_headers_get(headers, "XroadVnpt-sign-header");
    assert(strncmp(sign_text, "{\"XroadVnpt-systemid\":\"sys-a\",\"XroadVnpt-timestamp\":", 52)
           == 0);
    assert(strstr(sign_text, "\"XroadVnpt-to\":\"[\\\"000.00.00.G22\\\""));
    char hash[LT_SHA256_HEX];
    lt_digest_hmac_sha256_hex(secret, strlen(secret), sign_text, strlen(sign_text), hash);
    assert(strcmp(lt_edoc_headers_get(headers, "XroadVnpt-hash-header"), hash) == 0);
    assert(!lt_edoc_headers_get(headers, "XroadVnpt-nothing"));

    //  Sign then verify: accepted, with or without the call's parameter list.
    s_test_request_t req = {0};
    s_test_load(&req, headers);
    s_test_expect(&req, secret, call_params, NULL, verbose);
    s_test_expect(&req, secret, NULL, NULL, verbose);
    //  A hash-header in uppercase hex is the same digest.
    char upper[LT_SHA256_HEX];
    for (size_t i = 0; i < sizeof(upper); i++)
        upper[i] = (char) toupper((unsigned char) hash[i]);
    s_test_set(&req, "XroadVnpt-hash-header", upper);
    s_test_expect(&req, secret, call_params, NULL, verbose);

    //  Unknown system id.
    s_test_set(&req, "XroadVnpt-systemid", "sys-x");
    s_test_expect(&req, secret, call_params, "unknown system id 'sys-x'", verbose);
    s_test_free(&req);

    //  A header changed after signing.
    s_test_load(&req, headers);
    s_test_set(&req, "XroadVnpt-docId", "0190f6a2-aaaa-7bbb-8ccc-000000000002");
    s_test_expect(&req, secret, call_params, "header XroadVnpt-docId differs from its signed value",
                  verbose);
    s_test_free(&req);

    //  Wrong secret on the server side: HMAC mismatch.
    s_test_load(&req, headers);
    s_test_expect(&req, "another-key", call_params, "HMAC mismatch", verbose);
    //  A tampered hash-header: HMAC mismatch too.
    s_test_set(&req, "XroadVnpt-hash-header", "00");
    s_test_expect(&req, secret, call_params, "HMAC mismatch", verbose);
    s_test_free(&req);

    //  Missing authentication headers.
    const char *auth_names[] = {"XroadVnpt-systemid", "XroadVnpt-sign-header-key",
                                "XroadVnpt-sign-header", "XroadVnpt-hash-header"};
    for (size_t k = 0; k < 4; k++) {
        s_test_load(&req, headers);
        for (size_t i = 0; i < req.count; i++)
            if (strcmp(req.names[i], auth_names[k]) == 0)
                req.names[i][0] = '_';   //  hide it
        s_test_expect(&req, secret, call_params, "missing header", verbose);
        s_test_free(&req);
    }

    //  sign-header that is not JSON, or holds a duplicate key.
    s_test_load(&req, headers);
    s_test_set(&req, "XroadVnpt-sign-header", "{\"XroadVnpt-systemid\":");
    s_test_expect(&req, secret, call_params, "is not a JSON object", verbose);
    s_test_set(&req, "XroadVnpt-sign-header", "[1,2]");
    s_test_expect(&req, secret, call_params, "is not a JSON object", verbose);
    s_test_set(&req, "XroadVnpt-sign-header",
               "{\"XroadVnpt-systemid\":\"sys-a\",\"XroadVnpt-systemid\":\"sys-a\"}");
    s_test_expect(&req, secret, call_params, "is not a JSON object", verbose);
    s_test_free(&req);

    //  Hand-made requests: keys in another order, signed with the right key.
    const char *reordered
        = "{\"XroadVnpt-docId\":\"D1\",\"XroadVnpt-timestamp\":\"03092026T080203+0700\","
          "\"XroadVnpt-systemid\":\"sys-a\"}";
    lt_digest_hmac_sha256_hex(secret, strlen(secret), reordered, strlen(reordered), hash);
    s_test_set(&req, "XroadVnpt-systemid", "sys-a");
    s_test_set(&req, "XroadVnpt-timestamp", "03092026T080203+0700");
    s_test_set(&req, "XroadVnpt-docId", "D1");
    s_test_set(&req, "XroadVnpt-sign-header-key", " systemid ; timestamp;XroadVnpt-docId;");
    s_test_set(&req, "XroadVnpt-sign-header", reordered);
    s_test_set(&req, "XroadVnpt-hash-header", hash);
    s_test_expect(&req, secret, call_params, NULL, verbose);

    //  A parameter sent but left out of sign-header-key.
    s_test_set(&req, "XroadVnpt-sign-header-key", "systemid;timestamp");
    s_test_expect(&req, secret, call_params, "header XroadVnpt-docId is not signed", verbose);
    //  ... which is fine when the caller does not name it as a parameter.
    s_test_expect(&req, secret, NULL, NULL, verbose);
    //  sign-header-key without timestamp.
    s_test_set(&req, "XroadVnpt-sign-header-key", "systemid;docId");
    s_test_expect(&req, secret, call_params, "does not list timestamp", verbose);
    //  A listed name that the JSON does not hold.
    s_test_set(&req, "XroadVnpt-sign-header-key", "systemid;timestamp;docId;messagetype");
    s_test_expect(&req, secret, call_params, "XroadVnpt-messagetype is in sign-header-key but not",
                  verbose);
    //  A listed, signed name whose header was dropped.
    s_test_set(&req, "XroadVnpt-sign-header-key", "systemid;timestamp;docId");
    s_test_set(&req, "XroadVnpt-docId", "D1");
    for (size_t i = 0; i < req.count; i++)
        if (strcmp(req.names[i], "XroadVnpt-docId") == 0)
            req.names[i][0] = '_';
    s_test_expect(&req, secret, NULL, "header XroadVnpt-docId is signed but absent", verbose);
    //  A call parameter signed in the JSON, dropped from the key list and
    //  from the request (a `to` taken away in transit): refused too.
    s_test_set(&req, "XroadVnpt-sign-header-key", "systemid;timestamp");
    s_test_expect(&req, secret, call_params, "header XroadVnpt-docId is signed but absent",
                  verbose);
    s_test_free(&req);
    lt_edoc_headers_destroy(&headers);
    lt_edoc_headers_destroy(&headers);

    //  Signing refuses unusable input.
    lt_edoc_param_t bad_value[] = {{"docId", "a\r\nX-Injected: 1"}};
    assert(!lt_edoc_auth_sign("sys-a", secret, strlen(secret), stamp, bad_value, 1, &err));
    assert(err.code == LT_EFIELD);
    lt_edoc_param_t bad_name[] = {{"doc;Id", "1"}};
    assert(!lt_edoc_auth_sign("sys-a", secret, strlen(secret), stamp, bad_name, 1, &err));
    lt_edoc_param_t reserved[] = {{"systemid", "1"}};
    assert(!lt_edoc_auth_sign("sys-a", secret, strlen(secret), stamp, reserved, 1, &err));
    assert(!lt_edoc_auth_sign("", secret, strlen(secret), stamp, NULL, 0, &err));
    assert(!lt_edoc_auth_sign("sys-a", secret, 0, stamp, NULL, 0, &err));
    assert(err.code == LT_ECONFIG && !strstr(err.detail, "s3cret"));
    headers = lt_edoc_auth_sign("sys-a", secret, strlen(secret), stamp, NULL, 0, &err);
    assert(headers && lt_edoc_headers_count(headers) == 5);
    lt_edoc_headers_destroy(&headers);

    //  hash-file: the unpadded form, checked against the fixtures' list.
    char unpadded[LT_SHA256_UNPADDED];
    lt_edoc_auth_hash_file("abc", 3, unpadded);
    assert(lt_edoc_auth_hash_file_ok(unpadded, "abc", 3));
    assert(!lt_edoc_auth_hash_file_ok(unpadded, "abd", 3));
    assert(!lt_edoc_auth_hash_file_ok(NULL, "abc", 3));
    const char *fixtures = getenv("LT_FIXTURES");
    if (fixtures) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/edxml/new-signed.edxml", fixtures);
        FILE *file = fopen(path, "rb");
        assert(file);
        static char data[1 << 16];
        size_t size = fread(data, 1, sizeof(data), file);
        fclose(file);
        lt_edoc_auth_hash_file(data, size, unpadded);
        snprintf(path, sizeof(path), "%s/edxml/HASH-FILE.txt", fixtures);
        file = fopen(path, "r");
        assert(file);
        char line[256];
        bool found = false;
        while (fgets(line, sizeof(line), file))
            if (strstr(line, "new-signed.edxml"))
                found = strncmp(line, unpadded, strlen(unpadded)) == 0
                        && line[strlen(unpadded)] == ' ';
        fclose(file);
        assert(found);
    }

    //  Secret files: trailing newline dropped; empty and missing refused.
    char path[] = "/tmp/lt_edoc_auth_testXXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    assert(write(fd, "s3cret-key\r\n", 12) == 12);
    close(fd);
    size_t secret_size = 0;
    char *loaded = lt_edoc_secret_load(path, &secret_size, &err);
    assert(loaded && secret_size == 10 && memcmp(loaded, secret, 10) == 0);
    lt_edoc_secret_free(&loaded, secret_size);
    assert(!loaded);
    FILE *empty = fopen(path, "w");
    assert(empty);
    fputs("\n", empty);
    fclose(empty);
    assert(!lt_edoc_secret_load(path, &secret_size, &err) && err.code == LT_ECONFIG);
    unlink(path);
    assert(!lt_edoc_secret_load(path, &secret_size, &err) && err.code == LT_ECONFIG);

    if (verbose)
        printf("\n    OK\n");
}
