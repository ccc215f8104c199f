/*  report_send: deliver() of lthub-report, hub -> reporting system.

    Runs on the runtime's worker threads, several at once, each with an
    HTTP client of its own from the pool. Every attempt starts from the
    stored payload and reads the token file again. The sorting of answers
    into DONE, RETRY and FAIL is described at the top of lthub_report.c.
*/
#include "lt_id.h"
#include "lt_log.h"
#include "lt_report_json.h"
#include "report.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Which counter an outcome adds to.
typedef enum {
    S_NONE = 0,       //  no special reason
    S_INVALID,        //  refused before sending
    S_REFUSED,        //  400 from the system
    S_TOKEN,          //  401 or 403 from the system
} s_why_t;

//  Count one outcome and keep a failure as the last error.
static void s_count(report_t *self, lt_delivery_result_t result, s_why_t why, const char *detail)
{
    pthread_mutex_lock(&self->stats_lock);
    if (result == LT_DELIVERY_RETRY)
        self->stats.retried++;
    else if (result == LT_DELIVERY_FAIL) {
        self->stats.failed++;
        self->stats.invalid += why == S_INVALID;
        self->stats.refused += why == S_REFUSED;
        self->stats.token_refused += why == S_TOKEN;
    }
    if (result != LT_DELIVERY_OK) {
        snprintf(self->stats.last_error, sizeof(self->stats.last_error), "%s", detail);
        self->stats.last_error_at = lt_time_ms();
    }
    pthread_mutex_unlock(&self->stats_lock);
}

//  Parse an answer's body as JSON (after a UTF-8 byte order mark, which
//  some servers write); NULL when it is not JSON, with error filled when
//  given. A key given twice is refused: jansson would keep the last, and
//  an answer saying {"id": "A", "id": "B"} says nothing we can trust.
static json_t *s_reply_json(const lt_http_reply_t *reply, json_error_t *error)
{
    const char *body = reply->body;
    size_t size = reply->size;
    if (body && size >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
        body += 3;
        size -= 3;
    }
    if (error)
        snprintf(error->text, sizeof(error->text), "empty body");
    return body && size ? json_loadb(body, size, JSON_REJECT_DUPLICATES, error) : NULL;
}

//  Copy peer text into out for a reason: at most max bytes, control
//  characters as blanks and '"' as '\'', so it cannot break a log line.
static void s_clean(const char *text, size_t max, char *out, size_t size)
{
    snprintf(out, size, "%.*s", (int) max, text);
    for (char *p = out; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == '"')
            *p = *p == '"' ? '\'' : ' ';
}

//  Write a readable version of the system's answer into out: the "error"
//  field of a JSON body, else the body's first bytes with control
//  characters replaced; a redirect's Location comes first, since the
//  body of a 3xx rarely says where the system moved.
static void s_server_error(const lt_http_reply_t *reply, char *out, size_t size)
{
    json_t *body = s_reply_json(reply, NULL);
    const char *error = json_string_value(json_object_get(body, "error"));
    const char *text = error ? error : reply->body && reply->size ? reply->body : "(empty body)";
    char location[200] = "", said[200];
    if (*reply->location) {
        s_clean(reply->location, 160, said, sizeof(said));
        snprintf(location, sizeof(location), "Location '%.160s', ", said);
    }
    s_clean(text, 160, said, sizeof(said));
    snprintf(out, size, "%s%s", location, said);
    json_decref(body);
}

//  Read the id from an acceptance answer into id: the body must be a
//  JSON object (no key twice) with a non-empty printable string id, or an
//  integer id (a system that numbers its reports, kept in decimal), and
//  whatever it says of "idempotencyKey" and "status" must be our key and
//  "received". False otherwise, with what was wrong in why.
static bool s_answer_id(const lt_http_reply_t *reply, const char *key, char *id, size_t size,
                        char *why, size_t why_size)
{
    json_error_t error = {0};
    json_t *body = s_reply_json(reply, &error);
    json_t *value = json_object_get(body, "id");
    json_t *named = json_object_get(body, "idempotencyKey");
    json_t *status = json_object_get(body, "status");
    char number[32], said[200], ours[200];
    if (json_is_integer(value))
        snprintf(number, sizeof(number), "%lld", (long long) json_integer_value(value));
    const char *text = json_is_integer(value) ? number : json_string_value(value);
    size_t bad = 0;   //  1 + the offset of a character an id may not hold
    for (size_t i = 0; text && text[i] && !bad; i++)
        if ((unsigned char) text[i] <= 0x20 || (unsigned char) text[i] >= 0x7f || text[i] == '"')
            bad = i + 1;
    bool ok = false;
    if (!body) {
        s_clean(reply->body, 160, said, sizeof(said));
        if (json_error_code(&error) == json_error_numeric_overflow)
            snprintf(why, why_size,
                     "a number beyond 64 bits (%.80s), not an id the hub keeps: %.160s",
                     error.text, said);
        else
            snprintf(why, why_size, "an answer that is not JSON (%.80s): %.160s", error.text, said);
    }
    else if (!json_is_object(body))
        snprintf(why, why_size, "an answer that is a JSON %s, not an object",
                 json_is_array(body) ? "array" : "scalar");
    else if (!value) {
        s_server_error(reply, said, sizeof(said));
        snprintf(why, why_size, "no id: %s", said);
    }
    else if (!text)
        snprintf(why, why_size, "an id that is not a string or an integer");
    else if (!*text)
        snprintf(why, why_size, "an empty id");
    else if (strlen(text) >= size)
        snprintf(why, why_size, "an id of %zu bytes, longer than the %zu the hub keeps",
                 strlen(text), size - 1);
    else if (bad) {
        s_clean(text, 60, said, sizeof(said));
        snprintf(why, why_size,
                 "an id holding a blank, a quote or a byte outside printable ASCII (byte "
                 "%zu of '%s')",
                 bad, said);
    }
    else if (named && (!json_is_string(named) || strcmp(json_string_value(named), key) != 0)) {
        s_clean(json_is_string(named) ? json_string_value(named) : "(not a string)", 160, said,
                sizeof(said));
        s_clean(key, 160, ours, sizeof(ours));
        snprintf(why, why_size,
                 "id %.60s, but the reply names idempotencyKey '%.120s', not '%.120s'", text,
                 said, ours);
    }
    else if (status && (!json_is_string(status)
                        || strcmp(json_string_value(status), "received") != 0)) {
        s_clean(json_is_string(status) ? json_string_value(status) : "(not a string)", 60, said,
                sizeof(said));
        snprintf(why, why_size, "id %.60s, but status '%s', not 'received'", text, said);
    }
    else {
        snprintf(id, size, "%s", text);
        ok = true;
    }
    json_decref(body);
    return ok;
}

//  Publish the fact that the system accepted the report as id, and wait
//  until the broker stored it. OK, RETRY (not confirmed in time: the fact
//  stays queued and a resend is deduplicated) or FAIL (the broker refused
//  it, which a resend would not change).
static lt_delivery_result_t s_publish_fact(report_t *self, const lt_report_json_t *report,
                                           const char *id, char msgid[40], lt_err_t *err)
{
    json_t *fact = json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", id, "idempotencyKey",
                             lt_report_json_key(report), "reportCode",
                             lt_report_json_code(report), "organId",
                             lt_report_json_organ(report), "period",
                             lt_report_json_period(report));
    //  Sorted keys: the same acceptance always gives the same bytes.
    char *text = fact ? json_dumps(fact, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(fact);
    lt_envelope_t *env = text ? lt_envelope_new() : NULL;
    if (!env) {
        free(text);
        lt_err_set(err, LT_ENOMEM, "accepted as id %s, but out of memory for the fact", id);
        return LT_DELIVERY_RETRY;
    }
    lt_envelope_set_kind(env, LT_KIND_FACT);
    lt_envelope_set_key(env, lt_report_json_key(report));
    lt_envelope_set_btype(env, LT_REPORT_JSON_BTYPE);
    lt_envelope_set_sender(env, lt_report_json_organ(report));
    lt_envelope_set_system(env, "reporting");
    lt_envelope_set_payload_facts(env, text, strlen(text));
    lt_publish_result_t result;
    int rc = lt_conn_publish(self->conn, &env, text, strlen(text), (int) self->fact_timeout_ms,
                             &result);
    lt_envelope_destroy(&env);
    free(text);
    if (rc == 0) {
        snprintf(msgid, 40, "%s", result.msgid);
        return LT_DELIVERY_OK;
    }
    bool transient = result.code == LT_ETIMEOUT || lt_error_transient(result.code);
    lt_err_set(err, result.code,
               "accepted by the reporting system as id %s, but the broker %s the fact: %s", id,
               transient ? "has not stored" : "refused", result.reason);
    return transient ? LT_DELIVERY_RETRY : LT_DELIVERY_FAIL;
}

//  POST the report and sort the answer. On acceptance id and status are
//  filled.
static lt_delivery_result_t s_post(report_t *self, const lt_delivery_t *d,
                                   const lt_report_json_t *report, char id[256], long *status,
                                   s_why_t *why, lt_err_t *err)
{
    char token[REPORT_TOKEN_MAX];
    if (report_token_load(self->token_file, token, sizeof(token), err))
        return LT_DELIVERY_RETRY;   //  the operator may be replacing the file
    size_t bearer_size = strlen(token) + 8;
    char *bearer = malloc(bearer_size);
    lt_http_client_t *client = bearer ? report_client_take(self, err) : NULL;
    if (!client) {
        if (!bearer)
            lt_err_set(err, LT_ENOMEM, "out of memory");
        OPENSSL_cleanse(token, sizeof(token));
        free(bearer);
        return LT_DELIVERY_RETRY;
    }
    snprintf(bearer, bearer_size, "Bearer %s", token);
    OPENSSL_cleanse(token, sizeof(token));
    //  The key travels in the body (spec/peers.md C); it is repeated as an
    //  Idempotency-Key header only when it is plain ASCII, which every
    //  server takes in a header.
    const char *key = lt_report_json_key(report);
    bool ascii = true;
    for (const char *p = key; *p && ascii; p++)
        ascii = (unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f;
    const lt_http_header_t headers[] = {
        {"Authorization", bearer},
        {"Accept", "application/json"},
        {"Idempotency-Key", key},
    };
    lt_http_reply_t reply = {0};
    lt_err_t http_err;
    lt_error_t rc = lt_http_client_post(client, self->path, headers, ascii ? 3 : 2, d->payload,
                                        d->size, "application/json", &reply, &http_err);
    OPENSSL_cleanse(bearer, bearer_size);
    free(bearer);
    report_client_give(self, &client);
    if (rc == LT_ETOOBIG) {
        //  An answer came, but past what the client reads (--max-reply is
        //  not an option: REPORT_REPLY_MAX); retried like an answer
        //  without an id, the resend being answered with the id.
        lt_err_set(err, rc, "the reporting system's answer is too large: %s", http_err.detail);
        return LT_DELIVERY_RETRY;
    }
    if (rc != LT_OK) {
        lt_err_set(err, rc, "no answer from the reporting system: %s", http_err.detail);
        return LT_DELIVERY_RETRY;
    }
    *status = reply.status;
    char said[400];
    lt_delivery_result_t result;
    if (reply.status == 200 || reply.status == 201) {
        if (s_answer_id(&reply, key, id, 256, said, sizeof(said)))
            result = LT_DELIVERY_OK;
        else {
            //  Not an acceptance we can record (no usable id, another
            //  report's key, a status other than received), yet the
            //  report may be stored: RETRY, as the resend is answered with
            //  its id, and a system that keeps answering so ends in dead
            //  letters after the broker's max_attempts, never in a fact.
            lt_err_set(err, LT_EPEER, "HTTP %ld from the reporting system with %s",
                       reply.status, said);
            result = LT_DELIVERY_RETRY;
        }
    }
    else {
        s_server_error(&reply, said, sizeof(said));
        if (reply.status == 400) {
            *why = S_REFUSED;
            lt_err_set(err, LT_EINVAL, "the reporting system refused the report (HTTP 400): %s",
                       said);
            result = LT_DELIVERY_FAIL;
        }
        else if (reply.status == 401 || reply.status == 403) {
            *why = S_TOKEN;
            lt_err_set(err, LT_EAUTH,
                       "token refused by the reporting system (HTTP %ld: %s); put the right "
                       "token in %s, then replay this delivery (lthub replay)",
                       reply.status, said, self->token_file);
            result = LT_DELIVERY_FAIL;
        }
        else if (lt_http_status_transient(reply.status) || reply.status / 100 == 5) {
            //  Every 5xx is transient (spec/peers.md C), 507 or 501 as 503.
            lt_err_set(err, LT_EUNAVAIL, "HTTP %ld from the reporting system: %s", reply.status,
                       said);
            result = LT_DELIVERY_RETRY;
        }
        else {
            //  A redirect is not followed: the operator who reads where
            //  the system moved corrects --url, then replays.
            lt_err_set(err, LT_EPEER, "HTTP %ld from the reporting system%s: %s", reply.status,
                       reply.status / 100 == 3 ? " (a redirect, not followed)" : "", said);
            result = LT_DELIVERY_FAIL;
        }
    }
    lt_http_reply_free(&reply);
    return result;
}

lt_delivery_result_t report_deliver(void *state, const lt_delivery_t *d, lt_err_t *err)
{
    report_t *self = state;
    const lt_envelope_t *env = d->envelope;
    lt_delivery_result_t result = LT_DELIVERY_OK;
    s_why_t why = S_NONE;
    lt_report_json_t *report = NULL;
    char id[256] = "", msgid[40] = "";
    long status = 0;
    if (lt_envelope_kind(env) != LT_KIND_REPORT) {
        lt_err_set(err, LT_EROUTE, "lthub-report takes reports, not a %s message",
                   lt_kind_name(lt_envelope_kind(env)));
        result = LT_DELIVERY_FAIL;
        why = S_INVALID;
    }
    else if (!(report = lt_report_json_parse(d->payload, d->size, err))) {
        result = err->code == LT_ENOMEM ? LT_DELIVERY_RETRY : LT_DELIVERY_FAIL;
        why = S_INVALID;
    }
    else if (strcmp(lt_envelope_key(env), lt_report_json_key(report)) != 0) {
        lt_err_set(err, LT_EFIELD,
                   "the message key '%.200s' is not the report's idempotencyKey '%.200s'",
                   lt_envelope_key(env), lt_report_json_key(report));
        result = LT_DELIVERY_FAIL;
        why = S_INVALID;
    }
    else
        result = s_post(self, d, report, id, &status, &why, err);
    if (result == LT_DELIVERY_OK)
        result = s_publish_fact(self, report, id, msgid, err);
    if (result == LT_DELIVERY_OK) {
        pthread_mutex_lock(&self->stats_lock);
        if (status == 201)
            self->stats.accepted++;
        else
            self->stats.accepted_again++;
        self->stats.facts++;
        pthread_mutex_unlock(&self->stats_lock);
        lt_log_info("event=report_accepted key=\"%s\" code=%s organ=%s period=%s id=%s "
                    "http=%ld fact=%s attempt=%u",
                    lt_report_json_key(report), lt_report_json_code(report),
                    lt_report_json_organ(report), lt_report_json_period_label(report), id,
                    status, msgid, d->attempt);
    }
    else {
        s_count(self, result, why, err->detail);
        if (result == LT_DELIVERY_RETRY && d->attempt > 1 && d->attempt % 10 != 0)
            //  The broker logs every retry; this one is said at the first
            //  attempt and every tenth, so an outage does not flood the log.
            lt_log_debug("event=report_retry key=\"%s\" attempt=%u reason=\"%s\"",
                         lt_envelope_key(env), d->attempt, err->detail);
        else
            lt_log(result == LT_DELIVERY_RETRY ? LT_LOG_WARNING : LT_LOG_ERROR,
                   "event=%s key=\"%s\" attempt=%u reason=\"%s\"",
                   result == LT_DELIVERY_RETRY ? "report_retry" : "report_failed",
                   lt_envelope_key(env), d->attempt, err->detail);
    }
    lt_report_json_destroy(&report);
    return result;
}
