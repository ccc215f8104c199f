/*  dms_register.c: registerDocuments, the paper register (spec/peers.md A,
    "Paper register", hub-defined).

    A DMS sends its register lines as {"entries": [...]} with the body's
    hash-file. Every entry is checked before anything is published, and the
    first bad one is named by index and field. Each entry then becomes one
    message of kind "register" (key = documentId, revision = organId|
    direction, so the broker's dedup makes a resent register harmless),
    published without waiting one by one; the answer OK carries the count
    once the broker confirmed every entry on disk.

    A refused body (bad JSON, a bad entry, an agency the system does not
    serve) is kept in DATA/rejected with a note of the reason, as refused
    packages are, so the operator can show the DMS's vendor what it sent.
*/
#include "dms_int.h"

#include "lt_conn_batch.h"
#include "lt_edoc_auth.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_period.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Read text, "yyyy/MM/dd HH:mm:ss" in Vietnam time, into *at_ms (Unix ms,
//  negative before 1970): false when it is not that shape or not a real
//  date and time.
static bool s_datetime(const char *text, int64_t *at_ms)
{
    if (strlen(text) != 19)
        return false;
    static const char shape[] = "dddd/dd/dd dd:dd:dd";
    for (size_t i = 0; i < 19; i++)
        if (shape[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != shape[i])
            return false;
    int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + text[3] - '0';
    int month = (text[5] - '0') * 10 + text[6] - '0';
    int day = (text[8] - '0') * 10 + text[9] - '0';
    int hour = (text[11] - '0') * 10 + text[12] - '0';
    int minute = (text[14] - '0') * 10 + text[15] - '0';
    int second = (text[17] - '0') * 10 + text[18] - '0';
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1945 || year > 2999 || month < 1 || month > 12 || day < 1
        || day > days[month - 1] || hour > 23 || minute > 59 || second > 59)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap)
        return false;
    *at_ms = lt_period_local_ms(year, month, day, hour, minute, second);
    return true;
}

//  A register line may be dated at most this far after the hub's clock (a
//  DMS whose clock runs a little ahead); later is a typing or clock error.
#define S_FUTURE_SLACK_MS (24LL * 3600 * 1000)

//  Offset of the first control character (C0 or DEL) in text, or -1.
static long s_control_at(const char *text)
{
    for (const char *p = text; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            return (long) (p - text);
    return -1;
}

//  Return a FAIL answer naming an entry and field.
__attribute__((format(printf, 4, 5))) static json_t *s_entry_fail(const char *code, size_t index,
                                                                  const char *field,
                                                                  const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    json_t *answer = dms_fail(code, "entries[%zu].%s %s", index, field, message);
    json_object_set_new(answer, "index", json_integer((json_int_t) index));
    json_object_set_new(answer, "field", json_string(field));
    return answer;
}

//  Return the string member name of entry, or NULL.
static const char *s_string(json_t *entry, const char *name)
{
    return json_string_value(json_object_get(entry, name));
}

//  Check one entry; NULL when good, else a FAIL answer naming index and field.
static json_t *s_check_entry(dms_t *self, size_t caller, json_t *entry, size_t index)
{
    if (!json_is_object(entry))
        return s_entry_fail("400", index, "*", "is not a JSON object");
    const char *document_id = s_string(entry, "documentId");
    if (!document_id || !*document_id)
        return s_entry_fail("400", index, "documentId", "is missing or not a string");
    if (strlen(document_id) > 512)
        return s_entry_fail("400", index, "documentId", "is over 512 bytes");
    //  A DocumentId never holds a line break or a control character; one in
    //  a register line would end up in logs and evidence files as written.
    long bad = s_control_at(document_id);
    if (bad >= 0)
        return s_entry_fail("400", index, "documentId", "has a control character (0x%02x) at byte %ld",
                            (unsigned char) document_id[bad], bad);
    const char *organ = s_string(entry, "organId");
    if (!organ || !*organ || strlen(organ) > 63 || s_control_at(organ) >= 0)
        return s_entry_fail("400", index, "organId", "is missing or not an agency code");
    if (!lt_dms_systems_serves(self->systems, caller, organ))
        return s_entry_fail("403", index, "organId", "'%s': system %s may not register for it",
                            organ, lt_dms_systems_id(self->systems, caller));
    const char *direction = s_string(entry, "direction");
    if (!direction || (strcmp(direction, "in") != 0 && strcmp(direction, "out") != 0))
        return s_entry_fail("400", index, "direction", "must be \"in\" or \"out\"");
    const char *channel = s_string(entry, "channel");
    if (!channel || (strcmp(channel, "paper") != 0 && strcmp(channel, "electronic") != 0))
        return s_entry_fail("400", index, "channel", "must be \"paper\" or \"electronic\"");
    json_t *secret = json_object_get(entry, "secret");
    if (secret && !json_is_boolean(secret))
        return s_entry_fail("400", index, "secret", "must be true or false");
    const char *at = s_string(entry, "registeredAt");
    int64_t at_ms = 0;
    if (!at || !s_datetime(at, &at_ms))
        return s_entry_fail("400", index, "registeredAt",
                            "must be a valid time \"yyyy/MM/dd HH:mm:ss\"");
    if (at_ms > lt_time_ms() + S_FUTURE_SLACK_MS)
        return s_entry_fail("400", index, "registeredAt",
                            "'%s' is in the future (the hub's clock says otherwise)", at);
    json_t *subject = json_object_get(entry, "subject");
    if (!json_is_string(subject))
        return s_entry_fail("400", index, "subject", "is missing or not a string");
    if (json_string_length(subject) > 8000)
        return s_entry_fail("400", index, "subject", "is over 8000 bytes");
    return NULL;
}

//  Build the envelope of one checked entry; NULL on no memory.
static lt_envelope_t *s_envelope(json_t *entry, const char *system)
{
    lt_envelope_t *env = lt_envelope_new();
    if (!env)
        return NULL;
    const char *organ = s_string(entry, "organId");
    const char *direction = s_string(entry, "direction");
    char revision[128];
    snprintf(revision, sizeof(revision), "%s|%s", organ, direction);
    lt_envelope_set_kind(env, LT_KIND_REGISTER);
    lt_envelope_set_key(env, s_string(entry, "documentId"));
    lt_envelope_set_btype(env, direction);
    lt_envelope_set_revision(env, revision);
    lt_envelope_set_sender(env, organ);
    lt_envelope_set_system(env, system);
    lt_envelope_set_electronic(env, strcmp(s_string(entry, "channel"), "electronic") == 0);
    lt_envelope_set_secret(env, json_is_true(json_object_get(entry, "secret")));
    if (strcmp(lt_envelope_key(env), s_string(entry, "documentId")) != 0
        || strcmp(lt_envelope_revision(env), revision) != 0)
        lt_envelope_destroy(&env);   //  a copy failed
    return env;
}

//  Publish every entry and wait for the broker; returns the answer.
static json_t *s_publish_all(dms_t *self, json_t *entries, const char *system)
{
    size_t count = json_array_size(entries);
    lt_conn_batch_t *batch = lt_conn_batch_new(self->conn, count);
    if (!batch)
        return dms_fail("500", "out of memory");
    int64_t deadline = lt_clock_ms() + self->publish_timeout_ms + (int64_t) count;
    json_t *problem = NULL;
    for (size_t i = 0; i < count && !problem; i++) {
        json_t *entry = json_array_get(entries, i);
        lt_envelope_t *env = s_envelope(entry, system);
        char *payload = env ? json_dumps(entry, JSON_COMPACT) : NULL;
        if (!payload) {
            lt_envelope_destroy(&env);
            problem = dms_fail("500", "out of memory");
            break;
        }
        if (lt_conn_batch_publish(batch, i, &env, payload, strlen(payload)))
            problem = dms_fail("503", "the hub is stopping; send the register again later");
        free(payload);
    }
    //  Wait for the answers of what was handed over, up to the deadline.
    lt_conn_batch_result_t done;
    lt_conn_batch_wait(batch, deadline, &done);
    lt_conn_batch_destroy(&batch);
    if (problem)
        return problem;
    if (done.failed && !lt_error_transient(done.failed_code)) {
        char code[16];
        snprintf(code, sizeof(code), "%d", (int) done.failed_code);
        json_t *answer = dms_fail(code, "entries[%zu] refused by the hub (%s): %s",
                                  done.failed_index, lt_error_name(done.failed_code), done.reason);
        json_object_set_new(answer, "index", json_integer((json_int_t) done.failed_index));
        json_object_set_new(answer, "accepted", json_integer((json_int_t) done.accepted));
        return answer;
    }
    if (done.failed || done.pending > 0)
        return dms_fail("503",
                        "%zu of %zu entries confirmed so far; send the register again later "
                        "(entries already stored are not counted twice)",
                        done.accepted, count);
    lt_log_info("event=registered system=%s entries=%zu duplicates=%zu", system, done.accepted,
                done.duplicates);
    json_t *answer = dms_ok();
    json_object_set_new(answer, "accepted", json_integer((json_int_t) done.accepted));
    json_object_set_new(answer, "duplicates", json_integer((json_int_t) done.duplicates));
    return answer;
}

//  One entry's identity, to find an entry given twice in one call.
typedef struct {
    const char *doc, *organ, *direction;   //  on loan from the entry
    size_t index;                          //  in the body
} s_ident_t;

static int s_ident_cmp(const void *a, const void *b)
{
    const s_ident_t *x = a, *y = b;
    int c = strcmp(x->doc, y->doc);
    if (!c)
        c = strcmp(x->organ, y->organ);
    if (!c)
        c = strcmp(x->direction, y->direction);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

//  Refuse a call that gives one entry (documentId, organId, direction) twice
//  with a different channel or secret: the broker keeps only the first, so
//  the second would be answered "accepted" and silently not counted. The
//  entries are checked already. NULL when there is no such pair.
static json_t *s_check_repeats(json_t *entries)
{
    size_t count = json_array_size(entries);
    s_ident_t *list = malloc(count * sizeof(*list));
    if (!list)
        return dms_fail("500", "out of memory");
    for (size_t i = 0; i < count; i++) {
        json_t *entry = json_array_get(entries, i);
        list[i] = (s_ident_t){s_string(entry, "documentId"), s_string(entry, "organId"),
                              s_string(entry, "direction"), i};
    }
    qsort(list, count, sizeof(*list), s_ident_cmp);
    json_t *answer = NULL;
    size_t first = 0;
    for (size_t i = 1; i < count && !answer; i++) {
        if (strcmp(list[i].doc, list[first].doc) || strcmp(list[i].organ, list[first].organ)
            || strcmp(list[i].direction, list[first].direction)) {
            first = i;
            continue;
        }
        json_t *a = json_array_get(entries, list[first].index);
        json_t *b = json_array_get(entries, list[i].index);
        const char *field = strcmp(s_string(a, "channel"), s_string(b, "channel")) ? "channel"
                            : json_is_true(json_object_get(a, "secret"))
                                    != json_is_true(json_object_get(b, "secret"))
                                ? "secret"
                                : NULL;
        if (field)
            answer = s_entry_fail("400", list[i].index, field,
                                  "differs from entries[%zu], the same documentId, organId and "
                                  "direction: send one line per document, agency and direction",
                                  list[first].index);
    }
    free(list);
    return answer;
}

//  Check the body and its entries; NULL when all is good (entries set).
static json_t *s_check_body(dms_t *self, const lt_http_request_t *req, size_t caller,
                            json_t **root_p)
{
    size_t size = 0;
    const char *body = lt_http_request_body(req, &size);
    if (!body || size == 0)
        return dms_fail("400", "the body must be a JSON object {\"entries\": [...]}");
    if (size > self->max_register)
        return dms_fail("413", "the body has %zu bytes, over the limit of %zu", size,
                        self->max_register);
    const char *hash = dms_param(req, "hash-file");
    if (!hash || !*hash)
        return dms_fail("400", "missing header " LT_EDOC_PREFIX "hash-file");
    if (!lt_edoc_auth_hash_file_ok(hash, body, size)) {
        dms_count(self, &self->stats.hash_failures);
        return dms_fail("400", LT_EDOC_PREFIX "hash-file does not match the body");
    }
    //  A byte order mark, as some Windows exports write, is not JSON (RFC
    //  8259 lets a parser ignore it); the hash above covers it as sent.
    if (size >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
        body += 3;
        size -= 3;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return root ? dms_fail("400", "the body must be a JSON object {\"entries\": [...]}")
                    : dms_fail("400", "the body is not JSON (line %d, column %d): %s", jerr.line,
                               jerr.column, jerr.text);
    }
    *root_p = root;
    json_t *entries = json_object_get(root, "entries");
    if (!json_is_array(entries) || json_array_size(entries) == 0)
        return dms_fail("400", "entries must be a non-empty array");
    if (json_array_size(entries) > self->max_entries)
        return dms_fail("413", "%zu entries, over the limit of %zu per call",
                        json_array_size(entries), self->max_entries);
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *problem = s_check_entry(self, caller, json_array_get(entries, i), i);
        if (problem)
            return problem;
    }
    return s_check_repeats(entries);
}

json_t *dms_op_register(dms_t *self, const lt_http_request_t *req, size_t caller)
{
    const char *system = lt_dms_systems_id(self->systems, caller);
    json_t *root = NULL;
    json_t *answer = s_check_body(self, req, caller, &root);
    if (!answer)
        answer = s_publish_all(self, json_object_get(root, "entries"), system);
    json_decref(root);
    const char *status = json_string_value(json_object_get(answer, "status"));
    if (status && strcmp(status, "OK") == 0) {
        pthread_mutex_lock(&self->lock);
        self->stats.register_ok++;
        self->stats.register_entries
            += (uint64_t) json_integer_value(json_object_get(answer, "accepted"));
        pthread_mutex_unlock(&self->lock);
    }
    else {
        dms_count(self, &self->stats.register_fail);
        const char *why = json_string_value(json_object_get(answer, "ErrorDesc"));
        lt_log_warning("event=register_refused system=%s reason=\"%s\"", system, why);
        //  Keep what the DMS sent when the input itself was refused (not an
        //  oversized body, which the limits are there to keep out, nor a
        //  hub that is busy or stopping).
        const char *code = json_string_value(json_object_get(answer, "ErrorCode"));
        size_t size = 0;
        const char *body = lt_http_request_body(req, &size);
        if (code && (strcmp(code, "400") == 0 || strcmp(code, "403") == 0) && body && size
            && size <= self->max_register)
            dms_keep_rejected(self, system, why ? why : "", body, size, "json");
    }
    return answer;
}
