/*  portal_server.c: the adapter API lthub-portal serves to the one-stop
    system (spec/peers.md B, the hub as DVCQG).

      POST {auth_path}     {"username","password"} -> {"error_code":"0","session":...};
                           a wrong pair gets HTTP 401 and error_code "401"
      POST {service_path}  {"session","madonvi","service",...}:
        DongBoHoSoMC         isUpdating "True"/"False", data = dossier records
        CapNhatTienDoHoSoMC  data = progress steps (of dossiers of madonvi, or not yet seen)
        TraCuuHoSo           mahoso -> the latest record the broker confirmed
      GET /_portal/stats   the connector's counters, to loopback peers only

    Before a body is read (portal_gate), an unknown path gets 404 and a
    method other than POST 405, and a login body is held to 64 KiB. A
    service call's session is checked before its body is parsed (-2), so
    that a client without one makes the hub parse nothing. It cannot be
    checked before the body is read: the protocol carries it in the JSON
    body, not in a header, the query or the path. What clients without a
    session can make the hub hold is bounded instead by lt_http_server's
    budget of body bytes in flight (--max-inflight-body, then HTTP 503).

    Every answer is HTTP 200 with {"error_code","message"} except the login
    refusal and the body limits of lt_http_server (413, and 503 when the
    bodies in flight fill --max-inflight-body). The body is
    checked before anything else: size (lt_http_server), nesting depth and
    item count (lt_dossier_spans, before anything is allocated), JSON with
    valid UTF-8 and no duplicate keys (lt_json_scan, which accepts what
    jansson's JSON_REJECT_DUPLICATES parse accepts and builds no tree: the
    records are checked and read where they lie in the body). A call is all or
    nothing: its records are all checked before one is published, and the
    answer 0 comes only once the broker confirmed every record on disk.
*/
#include "portal.h"

#include "lt_conn_batch.h"
#include "lt_digest.h"
#include "lt_dossier.h"
#include "lt_id.h"
#include "lt_json_scan.h"
#include "lt_log.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_LOGIN_PAUSE_MS 200   //  a refused login waits this long before its answer
#define S_SMALL_BODY     65536 //  largest body of a login (and of the stats page)

//  ---------------------------------------------------------------------------
//  Answers

//  Return {"error_code": code, "message": formatted}.
__attribute__((format(printf, 2, 3))) static json_t *s_answer(const char *code,
                                                              const char *format, ...)
{
    char message[768];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    lt_json_utf8_scrub(message);
    return json_pack("{s:s, s:s}", "error_code", code, "message", message);
}

//  Render an answer as the response body (status 200 unless set before).
static void s_send(lt_http_response_t *resp, json_t *answer)
{
    char *text = answer ? json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(answer);
    if (!text || lt_http_response_set_body(resp, text, strlen(text), "application/json"))
        lt_http_response_set(resp, 500, "text/plain", "out of memory\n");
    free(text);
}

//  ---------------------------------------------------------------------------
//  Sessions

//  Return true when a session is open and neither idle nor open for too long.
static bool s_session_live(const portal_t *self, const portal_session_t *s, int64_t now)
{
    return s->token[0] && now - s->used_ms <= self->session_idle_ms
           && now - s->opened_ms <= self->session_max_ms;
}

//  Open a session; writes its token. -1 on no randomness.
static int s_session_open(portal_t *self, char token[PORTAL_TOKEN_LEN + 1])
{
    unsigned char random[PORTAL_TOKEN_LEN / 2];
    if (RAND_bytes(random, sizeof(random)) != 1)
        return -1;
    for (size_t i = 0; i < sizeof(random); i++)
        snprintf(token + 2 * i, 3, "%02x", random[i]);
    int64_t now = lt_clock_ms();
    pthread_mutex_lock(&self->session_lock);
    size_t slot = 0;
    for (size_t i = 0; i < self->max_sessions; i++) {
        portal_session_t *s = &self->sessions[i];
        if (!s_session_live(self, s, now)) {
            slot = i;
            break;
        }
        if (s->used_ms < self->sessions[slot].used_ms)
            slot = i;   //  full: the least recently used one goes
    }
    memcpy(self->sessions[slot].token, token, PORTAL_TOKEN_LEN + 1);
    self->sessions[slot].used_ms = now;
    self->sessions[slot].opened_ms = now;
    pthread_mutex_unlock(&self->session_lock);
    return 0;
}

//  Return true when token names a live session; with touch, it counts as
//  used now (an accepted call: a refused one keeps no session alive).
static bool s_session_check(portal_t *self, const char *token, bool touch)
{
    if (!token || strlen(token) != PORTAL_TOKEN_LEN)
        return false;
    int64_t now = lt_clock_ms();
    bool ok = false;
    pthread_mutex_lock(&self->session_lock);
    for (size_t i = 0; i < self->max_sessions && !ok; i++) {
        portal_session_t *s = &self->sessions[i];
        if (s->token[0] && lt_digest_equal(s->token, token)) {
            if (!s_session_live(self, s, now))
                memset(s, 0, sizeof(*s));
            else {
                if (touch)
                    s->used_ms = now;
                ok = true;
            }
        }
    }
    pthread_mutex_unlock(&self->session_lock);
    return ok;
}

void portal_sessions_expire(portal_t *self)
{
    int64_t now = lt_clock_ms();
    pthread_mutex_lock(&self->session_lock);
    for (size_t i = 0; i < self->max_sessions; i++)
        if (self->sessions[i].token[0] && !s_session_live(self, &self->sessions[i], now))
            memset(&self->sessions[i], 0, sizeof(self->sessions[i]));
    pthread_mutex_unlock(&self->session_lock);
}

//  ---------------------------------------------------------------------------
//  Publishing the records of one call

//  Publish the envelopes (taken) with their payloads and wait for the
//  broker; once it confirmed every one, the dossier records (NULL for
//  steps) become what TraCuuHoSo answers. Returns the answer of the call.
static json_t *s_publish_all(portal_t *self, lt_envelope_t **envs, const char *body,
                             const lt_dossier_span_t *spans, size_t count,
                             const lt_portal_record_t *records)
{
    bool steps = !records;
    lt_conn_batch_t *batch = lt_conn_batch_new(self->conn, count);
    if (!batch) {
        for (size_t i = 0; i < count; i++)
            lt_envelope_destroy(&envs[i]);
        return s_answer("-9", "out of memory, send the call again later");
    }
    int64_t deadline = lt_clock_ms() + self->publish_timeout_ms;
    //  Every record of the call is handed to the session thread at once, so
    //  that they reach the broker together (most often in one group commit).
    const void **payloads = calloc(count, sizeof(*payloads));
    size_t *sizes = calloc(count, sizeof(*sizes));
    bool stopped = !payloads || !sizes;
    size_t queued = 0;
    if (!stopped) {
        for (size_t i = 0; i < count; i++) {
            payloads[i] = body + spans[i].offset;
            sizes[i] = spans[i].size;
        }
        queued = lt_conn_batch_publish_many(batch, envs, payloads, sizes, count);
        stopped = queued < count;
    }
    free(payloads);
    free(sizes);
    for (size_t i = queued; i < count; i++)
        lt_envelope_destroy(&envs[i]);
    lt_conn_batch_result_t done;
    lt_conn_batch_wait(batch, deadline, &done);
    lt_conn_batch_destroy(&batch);
    if (done.failed && !lt_error_transient(done.failed_code)) {
        lt_log_warning("event=call_rejected index=%zu code=%s reason=\"%s\"", done.failed_index,
                       lt_error_name(done.failed_code), done.reason);
        json_t *answer = s_answer("-9", "data[%zu] refused by the hub (%s): %s", done.failed_index,
                                  lt_error_name(done.failed_code), done.reason);
        portal_count(self, &self->stats.calls_unconfirmed);
        return answer;
    }
    if (stopped || done.failed || done.pending > 0) {
        portal_count(self, &self->stats.calls_unconfirmed);
        lt_log_warning("event=call_unconfirmed records=%zu accepted=%zu", count, done.accepted);
        return s_answer("-9",
                        "%zu of %zu records confirmed so far; send the call again later "
                        "(records already stored are not sent twice)",
                        done.accepted, count);
    }
    lt_err_t err;
    if (records && lt_portal_store_confirm(self->store, records, count, &err)) {
        //  The broker holds them: a resend is a duplicate there, and shows them.
        lt_log_error("event=store_error op=confirm reason=\"%s\"", err.detail);
        portal_count(self, &self->stats.calls_unconfirmed);
        return s_answer("-9", "the hub cannot write its record store now; send the call "
                        "again later (records already stored are not sent twice)");
    }
    pthread_mutex_lock(&self->stats_lock);
    self->stats.calls_ok++;
    if (steps)
        self->stats.steps_in += done.accepted;
    else
        self->stats.records_in += done.accepted;
    self->stats.duplicates_in += done.duplicates;
    pthread_mutex_unlock(&self->stats_lock);
    json_t *answer = s_answer("0", "%zu %s stored", done.accepted, steps ? "steps" : "records");
    json_object_set_new(answer, "accepted", json_integer((json_int_t) done.accepted));
    json_object_set_new(answer, "duplicates", json_integer((json_int_t) done.duplicates));
    return answer;
}

//  ---------------------------------------------------------------------------
//  Services

//  The top-level members of a service call that the hub reads.
typedef enum {
    C_SERVICE, C_MADONVI, C_ISUPDATING, C_MAHOSO, C_DATA, C_USERNAME, C_PASSWORD, C_COUNT
} s_member_t;

static const char *const s_member_names[C_COUNT] = {
    "service", "madonvi", "isUpdating", "mahoso", "data", "username", "password"};

//  A checked service call, read in place.
typedef struct {
    const char *body;               //  the request body
    lt_json_scan_t *scan;           //  the scanner that checked it
    lt_json_t m[C_COUNT];           //  its top-level members (absent when not there)
    char agency[65];                //  madonvi when a string, cut to 64 bytes (too long)
    char service[72];               //  service, cut to 71 bytes
    char session[PORTAL_TOKEN_LEN + 1];   //  the session it came with, once checked
    lt_json_t *records;             //  the elements of data
    lt_dossier_span_t *spans;       //  their exact bytes
    size_t count;                   //  elements
} s_call_t;

//  Check data: an array of 1..max-records elements matching the spans, its
//  elements listed in call->records.
static json_t *s_check_data(portal_t *self, s_call_t *call)
{
    lt_json_t cursor = call->m[C_DATA], item;
    if (lt_json_type(cursor) != LT_JSON_ARRAY)
        return s_answer("-1", "data must be an array of records");
    size_t count = 0;
    while (lt_json_next(&cursor, &item) && count <= call->count)
        count++;
    if (count == 0)
        return s_answer("-1", "data holds no record");
    if (count > self->max_records)
        return s_answer("-1", "data holds %zu records, over the limit of %zu per call", count,
                        self->max_records);
    if (!call->spans || count != call->count)
        return s_answer("-1", "data is malformed");
    if (!(call->records = calloc(count, sizeof(*call->records))))
        return s_answer("-9", "out of memory, send the call again later");
    cursor = call->m[C_DATA];
    for (size_t i = 0; i < count && lt_json_next(&cursor, &call->records[i]); i++)
        ;
    return NULL;
}

//  DongBoHoSoMC: check, number, publish every record of the call; the
//  records are shown to TraCuuHoSo only once the broker confirmed them. A
//  dossier belongs to the madonvi it was first taken for (shown, or
//  reserved while nothing is shown: lt_portal_store_put): a record of it
//  under another madonvi is refused (-1).
static json_t *s_sync(portal_t *self, s_call_t *call)
{
    json_t *problem = s_check_data(self, call);
    if (problem)
        return problem;
    lt_json_t flag = call->m[C_ISUPDATING];
    lt_json_type_t type = lt_json_type(flag);
    char text[8] = "";
    if (type == LT_JSON_STRING)
        lt_json_text(flag, text, sizeof(text));
    bool updating;
    if (type == LT_JSON_TRUE || type == LT_JSON_FALSE)
        updating = type == LT_JSON_TRUE;
    else if (strcasecmp(text, "true") == 0 || strcasecmp(text, "false") == 0)
        updating = strcasecmp(text, "true") == 0;
    else
        return s_answer("-1", "isUpdating must be \"True\" or \"False\"");
    lt_err_t err;
    for (size_t i = 0; i < call->count; i++)
        if (lt_dossier_check(call->records[i], i, &err))
            return s_answer("-1", "%s", err.detail);
    lt_portal_record_t *records = calloc(call->count, sizeof(*records));
    lt_envelope_t **envs = calloc(call->count, sizeof(*envs));
    json_t *answer = NULL;
    if (!records || !envs) {
        answer = s_answer("-9", "out of memory, send the call again later");
        goto done;
    }
    char (*digests)[LT_SHA256_HEX] = calloc(call->count, LT_SHA256_HEX);
    char (*keys)[LT_DOSSIER_MAX_KEY + 1] = calloc(call->count, LT_DOSSIER_MAX_KEY + 1);
    if (!digests || !keys) {
        free(digests);
        free(keys);
        answer = s_answer("-9", "out of memory, send the call again later");
        goto done;
    }
    for (size_t i = 0; i < call->count && !answer; i++) {
        lt_json_t record = call->records[i];
        if (lt_dossier_digest(call->scan, record, digests[i]))
            answer = s_answer("-9", "out of memory, send the call again later");
        lt_json_text(lt_json_get(record, "MaHoSo"), keys[i], LT_DOSSIER_MAX_KEY + 1);
        records[i] = (lt_portal_record_t){
            .mahoso = keys[i],
            .agency = call->agency,
            .digest = digests[i],
            .body = call->body + call->spans[i].offset,
            .size = call->spans[i].size,
        };
    }
    int put = answer ? 0 : lt_portal_store_put(self->store, records, call->count, &err);
    for (size_t i = 0; put == 1 && i < call->count && !answer; i++)
        if (records[i].foreign)
            answer = s_answer("-1", "data[%zu].MaHoSo: dossier %.255s is kept for another agency "
                              "than madonvi %s", i, keys[i], call->agency);
    if (put < 0 || (put == 1 && !answer)) {
        lt_log_error("event=store_error op=put reason=\"%s\"", put < 0 ? err.detail : "refused");
        answer = s_answer("-9", "the hub cannot write its record store now, try again later");
    }
    for (size_t i = 0; i < call->count && !answer; i++) {
        const lt_dossier_span_t *span = &call->spans[i];
        if (!(envs[i] = lt_envelope_new())
            || lt_dossier_fill_envelope(envs[i], call->records[i], records[i].revision,
                                        call->agency, updating,
                                        call->body + span->offset, span->size, &err))
            answer = envs[i] ? s_answer("-1", "data[%zu]: %s", i, err.detail)
                             : s_answer("-9", "out of memory, send the call again later");
        else
            lt_envelope_set_system(envs[i], self->username);
    }
    if (!answer)
        answer = s_publish_all(self, envs, call->body, call->spans, call->count, records);
    free(digests);
    free(keys);
done:
    for (size_t i = 0; envs && i < call->count; i++)
        lt_envelope_destroy(&envs[i]);
    free(envs);
    free(records);
    return answer;
}

//  CapNhatTienDoHoSoMC: check and publish every progress step of the call.
//  A step of a dossier kept for another madonvi is refused (-1) as a
//  record of it is by DongBoHoSoMC; a step of a dossier not seen yet is
//  taken (the broker holds it until its dossier comes, spec/peers.md B),
//  and is not relayed if that dossier comes for another madonvi
//  (portal_client.c).
static json_t *s_progress(portal_t *self, s_call_t *call)
{
    json_t *problem = s_check_data(self, call);
    if (problem)
        return problem;
    lt_err_t err;
    for (size_t i = 0; i < call->count; i++)
        if (lt_dossier_check_progress(call->records[i], i, &err))
            return s_answer("-1", "%s", err.detail);
    for (size_t i = 0; i < call->count; i++) {
        char key[LT_DOSSIER_MAX_KEY + 1];
        lt_json_text(lt_json_get(call->records[i], "MaHoSo"), key, sizeof(key));
        int foreign = lt_portal_store_foreign(self->store, key, call->agency, &err);
        if (foreign == 1)
            return s_answer("-1", "data[%zu].MaHoSo: dossier %.255s is kept for another agency "
                            "than madonvi %s", i, key, call->agency);
        if (foreign < 0) {
            lt_log_error("event=store_error op=owner reason=\"%s\"", err.detail);
            return s_answer("-9", "the hub cannot read its record store now, try again later");
        }
    }
    lt_envelope_t **envs = calloc(call->count, sizeof(*envs));
    if (!envs)
        return s_answer("-9", "out of memory, send the call again later");
    json_t *answer = NULL;
    for (size_t i = 0; i < call->count && !answer; i++) {
        const lt_dossier_span_t *span = &call->spans[i];
        if (!(envs[i] = lt_envelope_new())
            || lt_dossier_fill_progress(envs[i], call->scan, call->records[i], call->agency,
                                        call->body + span->offset, span->size, &err))
            answer = envs[i] ? s_answer("-1", "data[%zu]: %s", i, err.detail)
                             : s_answer("-9", "out of memory, send the call again later");
        else
            lt_envelope_set_system(envs[i], self->username);
    }
    if (!answer)
        answer = s_publish_all(self, envs, call->body, call->spans, call->count, NULL);
    for (size_t i = 0; i < call->count; i++)
        lt_envelope_destroy(&envs[i]);
    free(envs);
    return answer;
}

//  TraCuuHoSo: the latest record of mahoso the broker confirmed, byte for
//  byte, when it belongs to the call's madonvi (another agency's dossier
//  is answered as unknown); NULL when resp was filled.
static json_t *s_lookup(portal_t *self, s_call_t *call, lt_http_response_t *resp)
{
    portal_count(self, &self->stats.lookups);
    char mahoso[LT_DOSSIER_MAX_KEY + 2];   //  one byte over: a longer one is refused
    lt_json_text(call->m[C_MAHOSO], mahoso, sizeof(mahoso));
    if (lt_json_type(call->m[C_MAHOSO]) != LT_JSON_STRING || !*mahoso
        || strlen(mahoso) > LT_DOSSIER_MAX_KEY)
        return s_answer("-1", "mahoso must name a dossier");
    char *record = NULL;
    size_t size = 0;
    lt_err_t err;
    int rc = lt_portal_store_get(self->store, mahoso, call->agency, &record, &size, &err);
    if (rc == 1)
        return s_answer("-1", "no dossier with mahoso %.255s", mahoso);
    if (rc) {
        lt_log_error("event=store_error op=get reason=\"%s\"", err.detail);
        return s_answer("-9", "the hub cannot read its record store now, try again later");
    }
    static const char head[] = "{\"error_code\":\"0\",\"message\":\"\",\"data\":";
    size_t len = sizeof(head) - 1 + size + 1;
    char *text = malloc(len + 1);
    if (!text) {
        free(record);
        return s_answer("-9", "out of memory, try again later");
    }
    memcpy(text, head, sizeof(head) - 1);
    memcpy(text + sizeof(head) - 1, record, size);
    text[len - 1] = '}';
    text[len] = 0;
    free(record);
    if (lt_http_response_set_body(resp, text, len, "application/json"))
        lt_http_response_set(resp, 500, "text/plain", "out of memory\n");
    free(text);
    return NULL;
}

//  Copy the value of the top-level member `member` of a JSON object text
//  whose structure lt_dossier_spans checked, when it is a string without
//  escapes shorter than size; false otherwise. Cheap: nothing is parsed.
static bool s_top_string(const char *p, size_t size, const char *member, char *out,
                         size_t out_size)
{
    size_t depth = 0, member_len = strlen(member);
    bool expect_key = false, want_value = false;
    for (size_t i = 0; i < size; i++) {
        char c = p[i];
        if (c == '"') {
            size_t j = i + 1;
            bool escaped = false;
            while (j < size && p[j] != '"') {
                escaped |= p[j] == '\\';
                j += p[j] == '\\' ? 2 : 1;
            }
            if (j >= size)
                return false;
            size_t len = j - i - 1;
            if (depth == 1 && expect_key) {
                want_value = !escaped && len == member_len && memcmp(p + i + 1, member, len) == 0;
                expect_key = false;
            }
            else if (depth == 1 && want_value) {
                if (escaped || len >= out_size)
                    return false;
                memcpy(out, p + i + 1, len);
                out[len] = 0;
                return true;
            }
            i = j;
        }
        else if (c == '{' || c == '[') {
            expect_key = depth == 0 && c == '{';
            want_value = false;
            depth++;
        }
        else if (c == '}' || c == ']') {
            if (depth-- == 0)
                return false;
        }
        else if (c == ',' && depth == 1) {
            expect_key = true;
            want_value = false;
        }
        else if (c != ':' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && depth == 1)
            want_value = false;   //  a number, true, false or null
    }
    return false;
}

//  Free what a call holds (not the call itself).
static void s_call_free(s_call_t *call)
{
    lt_json_scan_destroy(&call->scan);
    free(call->records);
    free(call->spans);
    call->records = NULL;
    call->spans = NULL;
}

//  Parse and check the body of a call; NULL with call filled, or the
//  answer. With `session`, the call's session is checked before the body
//  is parsed (-2), so that a client without one costs no parsing.
static json_t *s_parse(portal_t *self, const lt_http_request_t *req, s_call_t *call,
                       bool session)
{
    size_t size = 0;
    const char *body = lt_http_request_body(req, &size);
    if (body && size >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
        body += 3;   //  a UTF-8 byte order mark, as some clients write
        size -= 3;
    }
    if (!body || size == 0)
        return s_answer("-1", "the body must be a JSON object");
    lt_err_t err;
    int found = lt_dossier_spans(body, size, "data", LT_DOSSIER_MAX_DEPTH, self->max_records,
                                 &call->spans, &call->count, &err);
    if (found < 0)
        return s_answer("-1", "the body is refused: %s", err.detail);
    char token[PORTAL_TOKEN_LEN + 1];
    if (session && !(s_top_string(body, size, "session", token, sizeof(token))
                     && s_session_check(self, token, false))) {
        portal_count(self, &self->stats.session_refused);
        return s_answer("-2", "invalid or expired session: log in again");
    }
    if (session)
        memcpy(call->session, token, sizeof(call->session));
    lt_json_t root;
    if (!(call->scan = lt_json_scan_new()))
        return s_answer("-9", "out of memory, send the call again later");
    if (lt_json_scan_check(call->scan, body, size, &root, &err))
        return err.code == LT_ENOMEM ? s_answer("-9", "out of memory, send the call again later")
                                     : s_answer("-1", "the body is not a JSON object: %s",
                                                err.detail);
    if (lt_json_type(root) != LT_JSON_OBJECT)
        return s_answer("-1", "the body is not a JSON object: it is an array");
    call->body = body;
    lt_json_scan_pick(call->scan, s_member_names, C_COUNT, call->m);
    if (lt_json_type(call->m[C_SERVICE]) == LT_JSON_STRING)
        lt_json_text(call->m[C_SERVICE], call->service, sizeof(call->service));
    if (lt_json_type(call->m[C_MADONVI]) == LT_JSON_STRING)
        lt_json_text(call->m[C_MADONVI], call->agency, sizeof(call->agency));
    return NULL;
}

//  Return true when a madonvi can name an agency: 1 to 63 bytes, none of
//  them a blank, a control character, a quote, a backslash or '|'.
static bool s_agency_code_ok(const char *code)
{
    size_t len = code ? strlen(code) : 0;
    if (len == 0 || len > 63)
        return false;
    for (const unsigned char *c = (const unsigned char *) code; *c; c++)
        if (*c <= 0x20 || *c == 0x7f || *c == '"' || *c == '\\' || *c == '|' || *c == '*'
            || *c == '?')
            return false;   //  '*' and '?' make patterns in --agencies and routes, not codes
    return true;
}

//  Run one service call; returns the answer or NULL when resp was filled.
static json_t *s_service(portal_t *self, const lt_http_request_t *req, lt_http_response_t *resp)
{
    s_call_t call = {0};
    json_t *answer = s_parse(self, req, &call, true);
    if (answer)
        goto done;
    const char *service = call.service;
    if (lt_json_type(call.m[C_SERVICE]) != LT_JSON_STRING)
        answer = s_answer("-1", "service is missing");
    else if (!s_agency_code_ok(call.agency))
        answer = s_answer("-1", "madonvi must be an agency code of 1 to 63 bytes, without "
                          "blanks, control characters, quotes, '\\', '|', '*' or '?'");
    else if (!portal_agency_ok(self, call.agency))
        answer = s_answer("-1", "madonvi %s is not an agency this hub serves", call.agency);
    else if (strcmp(service, "DongBoHoSoMC") == 0)
        answer = s_sync(self, &call);
    else if (strcmp(service, "CapNhatTienDoHoSoMC") == 0)
        answer = s_progress(self, &call);
    else if (strcmp(service, "TraCuuHoSo") == 0)
        answer = s_lookup(self, &call, resp);
    else
        answer = s_answer("-1", "unknown service '%.64s'", service);
done:;
    const char *code = json_string_value(json_object_get(answer, "error_code"));
    if (call.session[0] && (!answer || (code && strcmp(code, "0") == 0)))
        s_session_check(self, call.session, true);   //  accepted (a lookup answered in resp)
    if (code && strcmp(code, "-1") == 0) {
        portal_count(self, &self->stats.invalid);
        lt_log_warning("event=call_refused peer=%s service=%.64s reason=\"%s\"",
                       lt_http_request_peer(req),
                       call.service, json_string_value(json_object_get(answer, "message")));
    }
    s_call_free(&call);
    return answer;
}

//  Return true when a JSON string equals the expected bytes; the time
//  taken tells nothing of where they differ nor of the expected length
//  (both sides are compared as SHA-256 digests, in constant time). buf
//  holds the unescaped string: room for the whole body (size_max bytes and
//  a NUL), which an unescaped string never outgrows.
static bool s_secret_equal(lt_json_t given, const char *expected, size_t size, char *buf,
                           size_t size_max)
{
    unsigned char a[LT_SHA256_SIZE], b[LT_SHA256_SIZE];
    bool is_string = lt_json_type(given) == LT_JSON_STRING;
    const char *value = is_string ? lt_json_text(given, buf, size_max + 1) : "";
    lt_digest_sha256(value, strlen(value), a);
    lt_digest_sha256(expected, size, b);
    bool equal = CRYPTO_memcmp(a, b, sizeof(a)) == 0;
    return equal && is_string;
}

//  Login: a session for the configured username and password.
static json_t *s_login(portal_t *self, const lt_http_request_t *req, lt_http_response_t *resp)
{
    s_call_t call = {0};
    json_t *answer = s_parse(self, req, &call, false);
    size_t body_size = 0;
    lt_http_request_body(req, &body_size);
    char *buf = answer ? NULL : malloc(body_size + 1);
    if (!answer && !buf)
        answer = s_answer("-9", "out of memory, try again later");
    if (answer) {
        s_call_free(&call);
        return answer;
    }
    //  Both compared in full, whatever the first gives.
    bool user_ok = s_secret_equal(call.m[C_USERNAME], self->username, strlen(self->username),
                                  buf, body_size);
    bool pass_ok = s_secret_equal(call.m[C_PASSWORD], self->password, self->password_size, buf,
                                  body_size);
    free(buf);
    s_call_free(&call);
    if (!user_ok || !pass_ok) {
        portal_count(self, &self->stats.login_refused);
        lt_log_warning("event=login_refused peer=%s", lt_http_request_peer(req));
        //  One refusal answered every S_LOGIN_PAUSE_MS: guesses sent in
        //  parallel each take the next time in line and wait for it. The
        //  wait holds only its own client: its connection may be closed
        //  for another client at the server's limits, the answer dropped,
        //  so that a flood of guesses cannot fill the connections and lock
        //  the one-stop system's own login out (it was a mutex held
        //  through the pause, each guess a connection busy in line).
        pthread_mutex_lock(&self->login_pause_lock);
        int64_t now = lt_clock_ms();
        if (self->login_next_ms < now)
            self->login_next_ms = now;
        self->login_next_ms += S_LOGIN_PAUSE_MS;
        int64_t turn = self->login_next_ms;
        pthread_mutex_unlock(&self->login_pause_lock);
        lt_http_request_evictable(req);
        lt_http_request_wait(req, turn - now);
        lt_http_response_set_status(resp, 401);
        return s_answer("401", "login refused: wrong username or password");
    }
    char token[PORTAL_TOKEN_LEN + 1];
    if (s_session_open(self, token))
        return s_answer("-9", "cannot open a session now, try again later");
    portal_count(self, &self->stats.logins);
    answer = s_answer("0", "logged in");
    json_object_set_new(answer, "session", json_string(token));
    return answer;
}

//  Return true when the request comes from this machine.
static bool s_loopback(const lt_http_request_t *req)
{
    const char *peer = lt_http_request_peer(req);
    return strncmp(peer, "127.", 4) == 0 || strncmp(peer, "[::1]", 5) == 0
           || strncmp(peer, "::1", 3) == 0;
}

lt_http_gate_t portal_gate(const lt_http_request_t *req, lt_http_response_t *resp,
                           size_t *max_body, void *arg)
{
    portal_t *self = arg;
    const char *path = lt_http_request_path(req);
    if (strcmp(path, "/_portal/stats") == 0) {
        *max_body = S_SMALL_BODY;
        return LT_HTTP_GATE_PASS;
    }
    bool login = strcmp(path, self->auth_path) == 0;
    if (!login && strcmp(path, self->service_path) != 0) {
        portal_count(self, &self->stats.requests);
        lt_http_response_set_status(resp, 404);
        s_send(resp, s_answer("404", "unknown path"));
        return LT_HTTP_GATE_ANSWER;
    }
    if (strcmp(lt_http_request_method(req), "POST") != 0) {
        portal_count(self, &self->stats.requests);
        lt_http_response_set_status(resp, 405);
        s_send(resp, s_answer("405", "use POST"));
        return LT_HTTP_GATE_ANSWER;
    }
    if (login && *max_body > S_SMALL_BODY)
        *max_body = S_SMALL_BODY;
    return LT_HTTP_GATE_PASS;
}

lt_http_action_t portal_handle(const lt_http_request_t *req, lt_http_response_t *resp, void *arg)
{
    portal_t *self = arg;
    const char *path = lt_http_request_path(req);
    if (strcmp(path, "/_portal/stats") == 0) {
        if (!s_loopback(req))
            lt_http_response_set(resp, 403, "text/plain", "stats are for loopback peers\n");
        else
            s_send(resp, lt_conn_stats(self->conn));
        return LT_HTTP_ANSWER;
    }
    portal_count(self, &self->stats.requests);
    bool login = strcmp(path, self->auth_path) == 0;
    if (!login && strcmp(path, self->service_path) != 0) {
        lt_http_response_set_status(resp, 404);
        s_send(resp, s_answer("404", "unknown path"));
        return LT_HTTP_ANSWER;
    }
    if (strcmp(lt_http_request_method(req), "POST") != 0) {
        lt_http_response_set_status(resp, 405);
        s_send(resp, s_answer("405", "use POST"));
        return LT_HTTP_ANSWER;
    }
    json_t *answer = login ? s_login(self, req, resp) : s_service(self, req, resp);
    if (answer)
        s_send(resp, answer);
    return LT_HTTP_ANSWER;
}
