/*  dms_server.c: the edoc API that lthub-dms serves to the province's DMS
    systems (spec/peers.md A, "The hub as server").

    Every request is authenticated first (lt_edoc_auth_verify against the
    systems file); a failure answers HTTP 200 with ErrorCode "401" and
    touches nothing. Then the operation runs on the connection's own thread
    (lt_http_server), so a sendEdoc may block until the broker confirmed the
    package on disk without holding up other clients:

      sendEdoc             check hash-file, read the edXML, check that the
                           caller serves From/OrganId, publish, answer DocId
                           only after ACCEPTED
      getReceivedEdocList  the caller's mailbox items not yet done
      getEdoc              one item's package in base64 (claims the
                           automatic status 01 on the first fetch)
      updateStatus         processing, done (leaves the list) or fail
      getAgenciesList      the exact agency codes of the configured systems
      registerDocuments    the paper register (dms_register.c)

    GET /_dms/stats answers the connector's counters to loopback peers only.
*/
#include "lt_period.h"
#include "lt_file.h"
#include "dms_int.h"

#include "lt_digest.h"
#include "lt_edoc_auth.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_verdict.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  An operation: its name, its parameters (signed when sent), its handler.
//  A handler returns the answer, or NULL when it filled resp itself.
typedef json_t *(s_op_fn)(dms_t *self, const lt_http_request_t *req, size_t caller,
                          lt_http_response_t *resp);
typedef struct {
    const char *name;                //  last path segment
    const char *const *params;       //  parameter names, NULL-terminated
    s_op_fn *handler;                //  runs after authentication
} s_op_t;

void dms_count(dms_t *self, uint64_t *counter)
{
    pthread_mutex_lock(&self->lock);
    (*counter)++;
    pthread_mutex_unlock(&self->lock);
}

json_t *dms_fail(const char *code, const char *format, ...)
{
    char desc[768];
    va_list args;
    va_start(args, format);
    vsnprintf(desc, sizeof(desc), format, args);
    va_end(args);
    return json_pack("{s:s, s:s, s:s}", "status", "FAIL", "ErrorCode", code, "ErrorDesc", desc);
}

json_t *dms_ok(void)
{
    return json_pack("{s:s, s:s, s:s}", "status", "OK", "ErrorCode", "0", "ErrorDesc", "");
}

const char *dms_param(const lt_http_request_t *req, const char *name)
{
    char full[128];
    snprintf(full, sizeof(full), LT_EDOC_PREFIX "%s", name);
    return lt_http_request_header(req, full);
}

void dms_keep_rejected(dms_t *self, const char *system, const char *reason, const void *data,
                       size_t size, const char *extension)
{
    pthread_mutex_lock(&self->lock);
    bool room = self->rejected_count < self->max_rejected
                && self->rejected_bytes + size <= self->max_rejected_bytes;
    if (room) {
        self->rejected_count++;
        self->rejected_bytes += size;
    }
    pthread_mutex_unlock(&self->lock);
    if (!room) {
        lt_log_warning("event=rejected_not_kept system=%s size=%zu reason=\"the rejected folder "
                       "is full (--max-rejected, --max-rejected-mb)\"",
                       system, size);
        return;
    }
    char id[LT_ID_LEN + 1];
    lt_id_new(id);
    char path[1300], note_path[1300];
    snprintf(path, sizeof(path), "%s/%s.%s", self->rejected_dir, id, extension);
    snprintf(note_path, sizeof(note_path), "%s/%s.txt", self->rejected_dir, id);
    //  The reason may quote what the peer sent: its control characters
    //  (a line end) become spaces, so that it stays the note's one line.
    char one_line[1024];
    snprintf(one_line, sizeof(one_line), "%s", reason);
    for (char *c = one_line; *c; c++)
        if ((unsigned char) *c < 0x20 || *c == 0x7f)
            *c = ' ';
    char note[1400];
    int len = snprintf(note, sizeof(note), "system=%s\nsize=%zu\ntime_ms=%lld\nreason=%s\n",
                       system, size, (long long) lt_time_ms(), one_line);
    if (len < 0 || (size_t) len >= sizeof(note))
        len = (int) strlen(note);
    lt_err_t err;
    lt_err_clear(&err);
    if (lt_file_write(path, data, size, true, &err) ||
        lt_file_write(note_path, note, (size_t) len, true, &err)) {
        lt_log_warning("event=rejected_not_kept system=%s reason=\"%s\"", system, err.detail);
        unlink(path);
        return;
    }
    dms_count(self, &self->stats.rejected_kept);
    lt_log_info("event=rejected_kept system=%s file=%s", system, path);
}

//  Write time ms (Unix ms) as "yyyy-MM-dd HH:mm:ss" in Vietnam time (UTC+7).
static void s_format_time(int64_t ms, char out[32])
{
    lt_period_format_time(ms, "%Y-%m-%d %H:%M:%S", out, 32);
}

//  Count a sendEdoc FAIL and pass the answer on.
static json_t *s_send_fail(dms_t *self, json_t *answer)
{
    dms_count(self, &self->stats.send_fail);
    return answer;
}

//  Replace the envelope's recipients (the package's To list) with the `to`
//  parameter (a JSON array of agency codes, each of them in that list);
//  NULL, or a FAIL answer naming the codes that are not.
static json_t *s_recipients(lt_envelope_t *env, const char *to)
{
    size_t listed = lt_envelope_recipients(env);
    char **allowed = calloc(listed ? listed : 1, sizeof(char *));
    if (!allowed)
        return dms_fail("500", "out of memory");
    for (size_t i = 0; i < listed; i++)
        if (!(allowed[i] = strdup(lt_envelope_recipient(env, i)))) {
            for (size_t j = 0; j < i; j++)
                free(allowed[j]);
            free(allowed);
            return dms_fail("500", "out of memory");
        }
    json_t *problem = NULL;
    char stray[600] = "";
    size_t strays = 0;
    json_error_t jerr;
    json_t *array = json_loads(to, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_array(array) || json_array_size(array) == 0
        || json_array_size(array) > DMS_MAX_RECIPIENTS)
        problem = dms_fail("400", LT_EDOC_PREFIX "to must be a JSON array of 1 to %d agency codes",
                           DMS_MAX_RECIPIENTS);
    for (size_t i = 0; !problem && i < json_array_size(array); i++) {
        const char *code = json_string_value(json_array_get(array, i));
        if (!code || !*code || strlen(code) > 63) {
            problem = dms_fail("400", LT_EDOC_PREFIX "to entry %zu is not an agency code", i);
            break;
        }
        bool found = false;
        for (size_t j = 0; j < listed && !found; j++)
            found = strcmp(allowed[j], code) == 0;
        if (!found) {
            size_t used = strlen(stray);
            snprintf(stray + used, sizeof(stray) - used, "%s%.63s", used ? ", " : "", code);
            strays++;
        }
    }
    if (!problem && strays)
        problem = dms_fail("400",
                           LT_EDOC_PREFIX "to names agenc%s not in the package's To list: %s "
                                          "(each code in `to` must be one of the package's "
                                          "recipients)",
                           strays > 1 ? "ies" : "y", stray);
    if (!problem) {
        lt_envelope_clear_recipients(env);
        for (size_t i = 0; !problem && i < json_array_size(array); i++)
            if (lt_envelope_add_recipient(env, json_string_value(json_array_get(array, i))))
                problem = dms_fail("500", "out of memory");
    }
    json_decref(array);
    for (size_t i = 0; i < listed; i++)
        free(allowed[i]);
    free(allowed);
    return problem;
}

//  qsort order of C strings.
static int s_text_order(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

//  A document this system already sent, sent again to agencies it did not
//  reach before (a later `to`, or the whole To list after a narrower one):
//  those agencies only get it, as a supplement whose revision names them,
//  so that the hub's deduplication does not take it for the first sending
//  and those who had it do not get it twice. A resend to agencies that all
//  had it stays a duplicate of the first sending. NULL, or a FAIL answer.
static json_t *s_supplement(dms_t *self, const char *system, lt_envelope_t *env)
{
    lt_err_t err;
    lt_err_clear(&err);
    const char *key = lt_envelope_key(env);
    int sent = lt_sentlog_sent_to(self->sent, system, key, "edoc", "", &err);
    if (sent <= 0)
        return sent < 0 ? dms_fail("500", "sent log: %s", err.detail) : NULL;
    size_t count = lt_envelope_recipients(env);
    char **fresh = calloc(count ? count : 1, sizeof(char *));
    if (!fresh)
        return dms_fail("500", "out of memory");
    size_t fresh_count = 0;
    json_t *problem = NULL;
    for (size_t i = 0; i < count && !problem; i++) {
        const char *agency = lt_envelope_recipient(env, i);
        int had = lt_sentlog_sent_to(self->sent, system, key, "edoc", agency, &err);
        if (had < 0)
            problem = dms_fail("500", "sent log: %s", err.detail);
        else if (had == 0 && !(fresh[fresh_count++] = strdup(agency)))
            problem = dms_fail("500", "out of memory");
    }
    if (!problem && fresh_count > 0) {
        //  The agencies in code order, so the same supplement is the same revision.
        qsort(fresh, fresh_count, sizeof(char *), s_text_order);
        char list[DMS_MAX_RECIPIENTS * 65] = "";
        for (size_t i = 0; i < fresh_count; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "", fresh[i]);
        }
        char digest[65], revision[80];
        lt_digest_sha256_hex(list, strlen(list), digest);
        snprintf(revision, sizeof(revision), "to:%s", digest);
        lt_envelope_clear_recipients(env);
        for (size_t i = 0; i < fresh_count && !problem; i++)
            if (lt_envelope_add_recipient(env, fresh[i]))
                problem = dms_fail("500", "out of memory");
        lt_envelope_set_revision(env, revision);
        lt_log_info("event=supplement system=%s key=\"%s\" agencies=%.500s", system, key, list);
    }
    for (size_t i = 0; i < fresh_count; i++)
        free(fresh[i]);
    free(fresh);
    return problem;
}

//  What the sent log keeps of a package being published.
typedef struct {
    char sender[64];        //  From/OrganId
    char notation[256];     //  CodeNumber/CodeNotation, "" for a status
    const char *messagetype;   //  "edoc" or "status"
} s_sent_facts_t;

//  Record a confirmed package in the sent log, one row per recipient; a
//  failure is logged (the broker holds the message either way).
static void s_sent_record(dms_t *self, const char *system, const char *msgid,
                          const lt_envelope_t *env, const s_sent_facts_t *facts)
{
    size_t count = lt_envelope_recipients(env);
    const char **agencies = calloc(count ? count : 1, sizeof(*agencies));
    lt_err_t err;
    lt_err_clear(&err);
    int rc = -1;
    if (agencies) {
        for (size_t i = 0; i < count; i++)
            agencies[i] = lt_envelope_recipient(env, i);
        rc = lt_sentlog_add(self->sent, system, msgid, lt_envelope_key(env), facts->sender,
                            facts->notation, facts->messagetype, agencies, count, lt_time_ms(),
                            &err);
    }
    free(agencies);
    if (rc)
        lt_log_warning("event=sent_log_error system=%s msgid=%s reason=\"%s\"", system, msgid,
                       agencies ? err.detail : "out of memory");
}

//  Publish a checked package within the request's deadline (from begun,
//  when the whole request had arrived) and turn the broker's answer into
//  the reply (HTTP 503 for a transient failure).
static json_t *s_publish(dms_t *self, int64_t begun, lt_http_response_t *resp,
                         lt_envelope_t **env_p, const void *file, size_t size, const char *system,
                         const s_sent_facts_t *facts)
{
    char key[512];
    snprintf(key, sizeof(key), "%s", lt_envelope_key(*env_p));
    lt_envelope_t *copy = lt_envelope_dup(*env_p);
    int64_t left = begun + self->request_timeout_ms - lt_clock_ms();
    if (left > self->publish_timeout_ms)
        left = self->publish_timeout_ms;
    lt_publish_result_t result;
    memset(&result, 0, sizeof(result));
    if (left < 50) {
        lt_envelope_destroy(env_p);
        result.code = LT_ETIMEOUT;
        snprintf(result.reason, sizeof(result.reason),
                 "the request's deadline of %lld ms passed before the package could be "
                 "published",
                 (long long) self->request_timeout_ms);
    }
    else
        lt_conn_publish(self->conn, env_p, file, size, (int) left, &result);
    lt_envelope_destroy(env_p);
    if (result.code == LT_OK && copy)
        s_sent_record(self, system, result.msgid, copy, facts);
    lt_envelope_destroy(&copy);
    if (result.code == LT_OK) {
        pthread_mutex_lock(&self->lock);
        self->stats.send_ok++;
        self->stats.send_duplicates += result.duplicate;
        pthread_mutex_unlock(&self->lock);
        lt_log_info("event=sent system=%s key=\"%s\" msgid=%s duplicate=%s", system, key,
                    result.msgid, result.duplicate ? "yes" : "no");
        json_t *answer = dms_ok();
        json_object_set_new(answer, "DocId", json_string(result.msgid));
        if (result.duplicate)
            json_object_set_new(answer, "duplicate", json_true());
        return answer;
    }
    if (result.code == LT_ETIMEOUT || lt_error_transient(result.code)) {
        dms_count(self, &self->stats.timeouts);
        lt_log_warning("event=send_unconfirmed system=%s key=\"%s\" reason=\"%s\"", system, key,
                       result.reason);
        lt_http_response_set_status(resp, 503);
        return s_send_fail(self, dms_fail("503",
                                          "the hub could not confirm the package yet (%s); "
                                          "send it again later, a resend is not duplicated",
                                          result.reason));
    }
    dms_count(self, &self->stats.broker_rejects);
    lt_log_warning("event=send_rejected system=%s key=\"%s\" code=%s reason=\"%s\"", system, key,
                   lt_error_name(result.code), result.reason);
    char code[16];
    snprintf(code, sizeof(code), "%d", (int) result.code);
    return s_send_fail(self, dms_fail(code, "the hub refused the package (%s): %s",
                                      lt_error_name(result.code), result.reason));
}

//  sendEdoc: check, read and publish one package; DocId only after ACCEPTED.
//  The deadline (--request-timeout) runs from here, the whole request in:
//  the upload is --max-request-time's, so a large package on a slow link
//  is not refused on every resend.
static json_t *s_op_send(dms_t *self, const lt_http_request_t *req, size_t caller,
                         lt_http_response_t *resp)
{
    int64_t begun = lt_clock_ms();
    const char *system = lt_dms_systems_id(self->systems, caller);
    size_t size = 0;
    const void *file = lt_http_request_part(req, "file_doc", &size, NULL);
    if (!file)
        return s_send_fail(self, dms_fail("400", "missing the multipart part file_doc"));
    if (lt_http_request_part_count(req, "file_doc") > 1)
        return s_send_fail(self, dms_fail("400", "the body holds %zu parts named file_doc, "
                                                 "sendEdoc takes one",
                                          lt_http_request_part_count(req, "file_doc")));
    if (size > self->max_package)
        return s_send_fail(self, dms_fail("413", "the package has %zu bytes, over the limit of %zu",
                                          size, self->max_package));
    const char *hash = dms_param(req, "hash-file");
    if (!hash || !*hash)
        return s_send_fail(self, dms_fail("400", "missing header " LT_EDOC_PREFIX "hash-file"));
    if (!lt_edoc_auth_hash_file_ok(hash, file, size)) {
        dms_count(self, &self->stats.hash_failures);
        return s_send_fail(
            self, dms_fail("400", LT_EDOC_PREFIX "hash-file does not match the uploaded file"));
    }
    const char *messagetype = dms_param(req, "messagetype");
    if (messagetype && *messagetype && strcmp(messagetype, "edoc") != 0
        && strcmp(messagetype, "status") != 0)
        return s_send_fail(self, dms_fail("400", "messagetype must be edoc or status"));

    lt_edxml_limits_t limits;
    lt_edxml_limits_init(&limits);
    limits.max_package = self->max_package;
    lt_err_t err;
    lt_err_clear(&err);
    lt_edxml_t *package = lt_edxml_read(file, size, &limits, &err);
    if (!package) {
        dms_count(self, &self->stats.bad_packages);
        lt_log_warning("event=bad_package system=%s reason=\"%s\"", system, err.detail);
        dms_keep_rejected(self, system, err.detail, file, size, "edxml");
        return s_send_fail(self, dms_fail(err.code == LT_ETOOBIG ? "413" : "400", "%s",
                                          err.detail));
    }
    bool status = lt_edxml_is_status(package);
    if (messagetype && *messagetype && status != (strcmp(messagetype, "status") == 0)) {
        lt_edxml_destroy(&package);
        return s_send_fail(self, dms_fail("400", "messagetype=%s but the package is a %s",
                                          messagetype, status ? "status" : "document"));
    }
    const char *from = lt_edxml_from(package)->organ_id;
    if (!lt_dms_systems_serves(self->systems, caller, from)) {
        char reason[256];
        snprintf(reason, sizeof(reason), "system %s may not send as agency %.64s", system, from);
        dms_count(self, &self->stats.impersonations);
        lt_log_warning("event=impersonation system=%s from=%.64s", system, from);
        dms_keep_rejected(self, system, reason, file, size, "edxml");
        lt_edxml_destroy(&package);
        return s_send_fail(self, dms_fail("403", "%s", reason));
    }
    //  A document's key names its sender's agency first: a key in the
    //  standard's form must name the sender or an agency the system
    //  serves, so that no system can take another agency's key (and with
    //  it that agency's later revocations and updates of the document).
    char owner[64];
    if (!status && lt_edxml_key_owner(lt_edxml_document_id(package), owner)
        && !lt_edxml_agency_same(owner, from)
        && !lt_dms_systems_serves(self->systems, caller, owner)) {
        char reason[512];
        snprintf(reason, sizeof(reason),
                 "DocumentId '%.160s' names agency %s as the document's sender, but "
                 "From/OrganId is %.64s and system %s does not serve %s",
                 lt_edxml_document_id(package), owner, from, system, owner);
        dms_count(self, &self->stats.impersonations);
        lt_log_warning("event=impersonation system=%s from=%.64s key_owner=%s", system, from,
                       owner);
        dms_keep_rejected(self, system, reason, file, size, "edxml");
        lt_edxml_destroy(&package);
        return s_send_fail(self, dms_fail("403", "%s", reason));
    }
    lt_envelope_t *env = lt_envelope_new();
    if (!env || lt_edxml_fill_envelope(package, env)) {
        lt_envelope_destroy(&env);
        lt_edxml_destroy(&package);
        return s_send_fail(self, dms_fail("500", "out of memory"));
    }
    const char *to = dms_param(req, "to");
    json_t *problem = to && *to ? s_recipients(env, to) : NULL;
    if (!problem && lt_envelope_recipients(env) == 0)
        problem = dms_fail("400", "the package names no recipient (%s)",
                           status ? "Status/ResponseFor/OrganId" : "MessageHeader/To/OrganId");
    if (problem) {
        lt_envelope_destroy(&env);
        lt_edxml_destroy(&package);
        return s_send_fail(self, problem);
    }
    problem = status || strcmp(lt_envelope_btype(env), "new") != 0
                  ? NULL
                  : s_supplement(self, system, env);
    if (problem) {
        lt_envelope_destroy(&env);
        lt_edxml_destroy(&package);
        return s_send_fail(self, problem);
    }
    lt_verdict_t *verdict = lt_verdict_new(package, self->anchors);
    if (verdict)
        lt_verdict_fill_envelope(verdict, env);
    lt_verdict_destroy(&verdict);
    lt_envelope_set_system(env, system);
    s_sent_facts_t facts = {.messagetype = status ? "status" : "edoc"};
    snprintf(facts.sender, sizeof(facts.sender), "%s", from);
    if (!status) {
        const char *number = lt_edxml_get(package, LT_EDXML_CODE_NUMBER);
        const char *notation = lt_edxml_get(package, LT_EDXML_CODE_NOTATION);
        snprintf(facts.notation, sizeof(facts.notation), "%s%s%s", number ? number : "",
                 number && *number && notation && *notation ? "/" : "",
                 notation ? notation : "");
    }
    lt_edxml_destroy(&package);
    return s_publish(self, begun, resp, &env, file, size, system, &facts);
}

//  getReceivedEdocList: the caller's items not yet done, oldest first.
static json_t *s_op_list(dms_t *self, const lt_http_request_t *req, size_t caller,
                         lt_http_response_t *resp)
{
    const char *system = lt_dms_systems_id(self->systems, caller);
    const char *messagetype = dms_param(req, "messagetype");
    if (messagetype && *messagetype && strcmp(messagetype, "edoc") != 0
        && strcmp(messagetype, "status") != 0)
        return dms_fail("400", "messagetype must be edoc or status");
    lt_mailbox_item_t *items = NULL;
    size_t count = 0;
    lt_err_t err;
    if (lt_mailbox_list(self->mailbox, system, messagetype, self->list_max, &items, &count, &err)) {
        lt_log_error("event=mailbox_error op=list system=%s reason=\"%s\"", system, err.detail);
        return dms_fail("503", "the hub cannot read its mailbox now, try again later");
    }
    json_t *data = json_array();
    for (size_t i = 0; i < count; i++) {
        const lt_mailbox_item_t *item = &items[i];
        char created[32], updated[32];
        s_format_time(item->created, created);
        s_format_time(item->updated, updated);
        json_array_append_new(
            data, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
                            "docId", item->id, "serviceType", "eDoc", "messageType",
                            item->messagetype, "created_time", created, "updated_time", updated,
                            "from", item->sender, "to", item->agency, "status", item->state,
                            "status_desc", item->description, "documentId", item->key,
                            "messageId", item->msgid, "size", (json_int_t) item->size));
    }
    lt_mailbox_items_free(&items, count);
    dms_count(self, &self->stats.lists);
    json_t *answer = dms_ok();
    json_object_set_new(answer, "data", data);
    return answer;
}

//  The answer of getEdoc around the base64 text, written without jansson so
//  that a large package is not copied once more.
#define S_GET_HEAD "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"ErrorDesc\":\"\",\"data\":\""
#define S_GET_TAIL "\"}"

//  Return the getEdoc answer for data (base64 in one line), or NULL on no
//  memory; *size_p receives its length.
static char *s_get_answer(const void *data, size_t size, size_t *size_p)
{
    size_t head = strlen(S_GET_HEAD), tail = strlen(S_GET_TAIL);
    size_t encoded = 4 * ((size + 2) / 3);
    char *text = malloc(head + encoded + tail + 1);
    if (!text)
        return NULL;
    memcpy(text, S_GET_HEAD, head);
    //  EVP_EncodeBlock takes an int length: encode in slices of whole triples.
    const unsigned char *in = data;
    char *out = text + head;
    const size_t slice = 3u * 1024 * 1024;
    while (size > 0) {
        size_t n = size < slice ? size : slice;
        out += EVP_EncodeBlock((unsigned char *) out, in, (int) n);
        in += n;
        size -= n;
    }
    memcpy(out, S_GET_TAIL, tail + 1);
    *size_p = (size_t) (out - text) + tail;
    return text;
}

//  getEdoc: one of the caller's items, the whole package in base64.
static json_t *s_op_get(dms_t *self, const lt_http_request_t *req, size_t caller,
                        lt_http_response_t *resp)
{
    const char *system = lt_dms_systems_id(self->systems, caller);
    const char *doc_id = dms_param(req, "docId");
    if (!doc_id || !*doc_id)
        return dms_fail("400", "missing header " LT_EDOC_PREFIX "docId");
    uint8_t *data = NULL;
    size_t size = 0;
    lt_mailbox_item_t item;
    bool first = false;
    lt_err_t err;
    int rc = lt_mailbox_fetch(self->mailbox, system, doc_id, &data, &size, &item, &first, &err);
    if (rc == 1)
        return dms_fail("404", "no document with docId %.64s for system %s", doc_id, system);
    if (rc) {
        lt_log_error("event=mailbox_error op=fetch system=%s reason=\"%s\"", system, err.detail);
        return dms_fail("503", "the hub cannot read its mailbox now, try again later");
    }
    size_t answer_size = 0;
    char *answer = s_get_answer(data, size, &answer_size);
    free(data);
    if (first && self->auto_status && strcmp(item.messagetype, "edoc") == 0
        && strcmp(item.btype, "revocation") != 0) {
        int claimed = lt_mailbox_arrival_claim(self->mailbox, &item, &err);
        if (claimed < 0)
            lt_log_warning("event=arrival_unclaimed key=\"%s\" agency=%s reason=\"%s\"",
                           item.key, item.agency, err.detail);
        else if (claimed)
            lt_log_info("event=arrival_owed key=\"%s\" agency=%s system=%s", item.key,
                        item.agency, system);
    }
    lt_mailbox_item_clear(&item);
    if (!answer || lt_http_response_set_body(resp, answer, answer_size, "application/json")) {
        free(answer);
        return dms_fail("500", "out of memory");
    }
    free(answer);
    dms_count(self, &self->stats.fetches);
    return NULL;
}

//  updateStatus: processing, done (the item leaves the list) or fail.
static json_t *s_op_update(dms_t *self, const lt_http_request_t *req, size_t caller,
                           lt_http_response_t *resp)
{
    const char *system = lt_dms_systems_id(self->systems, caller);
    const char *doc_id = dms_param(req, "docId");
    const char *status = dms_param(req, "status");
    const char *description = dms_param(req, "description");
    if (!doc_id || !*doc_id)
        return dms_fail("400", "missing header " LT_EDOC_PREFIX "docId");
    if (!status || !*status)
        return dms_fail("400", "missing header " LT_EDOC_PREFIX "status");
    if (description && strlen(description) > 4000)
        return dms_fail("400", LT_EDOC_PREFIX "description is over 4000 bytes");
    lt_err_t err;
    int rc = lt_mailbox_update(self->mailbox, system, doc_id, status, description, &err);
    if (rc == 1)
        return dms_fail("404", "no document with docId %.64s for system %s", doc_id, system);
    if (rc && err.code == LT_EFIELD)
        return dms_fail("400", LT_EDOC_PREFIX "%s", err.detail);
    if (rc) {
        lt_log_error("event=mailbox_error op=update system=%s reason=\"%s\"", system, err.detail);
        return dms_fail("503", "the hub cannot update its mailbox now, try again later");
    }
    lt_log_info("event=status system=%s docid=%.64s status=%s", system, doc_id, status);
    dms_count(self, &self->stats.updates);
    return dms_ok();
}

//  Return the name of an agency: from the systems file's `names` until the
//  agency directory provides them, else the code itself.
static const char *s_agency_name(dms_t *self, const char *code)
{
    const char *name = lt_dms_systems_agency_name(self->systems, code);
    return name ? name : code;
}

//  getAgenciesList: the exact agency codes the configured systems serve,
//  each once (two systems may serve one agency, during a DMS migration).
static json_t *s_op_agencies(dms_t *self, const lt_http_request_t *req, size_t caller,
                             lt_http_response_t *resp)
{
    zhashx_t *listed = zhashx_new();
    json_t *data = json_array();
    if (!listed || !data) {
        zhashx_destroy(&listed);
        json_decref(data);
        return dms_fail("500", "out of memory");
    }
    json_int_t id = 1;
    for (size_t s = 0; s < lt_dms_systems_count(self->systems); s++)
        for (size_t a = 0; a < lt_dms_systems_agencies(self->systems, s); a++) {
            const char *code = lt_dms_systems_agency(self->systems, s, a);
            if (strchr(code, '*') || zhashx_insert(listed, code, (void *) code) != 0)
                continue;
            json_array_append_new(data,
                                  json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "id", id++, "pid",
                                            (json_int_t) 0, "code", code, "name",
                                            s_agency_name(self, code), "mail",
                                            "", "oldCode", ""));
        }
    zhashx_destroy(&listed);
    json_t *answer = dms_ok();
    json_object_set_new(answer, "data", data);
    return answer;
}

//  getSentEdocList: what the caller sent, one item per recipient agency,
//  newest first, with the recipient's mailbox state when the hub holds it.
static json_t *s_op_sent(dms_t *self, const lt_http_request_t *req, size_t caller,
                         lt_http_response_t *resp)
{
    const char *system = lt_dms_systems_id(self->systems, caller);
    const char *messagetype = dms_param(req, "messagetype");
    const char *doc_id = dms_param(req, "docId");
    if (messagetype && *messagetype && strcmp(messagetype, "edoc") != 0
        && strcmp(messagetype, "status") != 0)
        return dms_fail("400", "messagetype must be edoc or status");
    if (doc_id && strlen(doc_id) > 64)
        return dms_fail("400", LT_EDOC_PREFIX "docId is over 64 bytes");
    lt_sent_t *list = NULL;
    size_t count = 0;
    lt_err_t err;
    if (lt_sentlog_list(self->sent, system, messagetype, doc_id, self->list_max, &list, &count,
                        &err)) {
        lt_log_error("event=sent_log_error op=list system=%s reason=\"%s\"", system, err.detail);
        lt_http_response_set_status(resp, 503);
        return dms_fail("503", "the hub cannot read its sent log now, try again later");
    }
    json_t *data = json_array();
    for (size_t i = 0; i < count; i++) {
        const lt_sent_t *sent = &list[i];
        char receiver_id[LT_MAILBOX_ID_MAX] = "", state[LT_MAILBOX_STATE_MAX] = "unknown";
        int64_t changed = 0;
        int found = lt_mailbox_receipt(self->mailbox, sent->msgid, sent->agency, receiver_id,
                                       state, &changed, &err);
        if (found != 0) {
            receiver_id[0] = 0;
            snprintf(state, sizeof(state), "unknown");
        }
        char created[32], updated[32];
        s_format_time(sent->created, created);
        s_format_time(changed > sent->updated ? changed : sent->updated, updated);
        json_array_append_new(
            data, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                            "senderDocId", sent->msgid, "receiverDocId", receiver_id, "fromCode",
                            sent->sender, "toCode", sent->agency, "notation", sent->notation,
                            "sendStatus", "sent", "receiveStatus", state, "created_time",
                            created, "updated_time", updated, "documentId", sent->key,
                            "serviceType", "eDoc", "messageType", sent->messagetype));
    }
    lt_sentlog_free(&list, count);
    json_t *answer = dms_ok();
    json_object_set_new(answer, "data", data);
    return answer;
}

//  registerDocuments: see dms_register.c.
static json_t *s_op_register(dms_t *self, const lt_http_request_t *req, size_t caller,
                             lt_http_response_t *resp)
{
    return dms_op_register(self, req, caller);
}

static const char *const s_send_params[]
    = {"from", "servicetype", "messagetype", "to", "hash-file", NULL};
static const char *const s_list_params[] = {"servicetype", "messagetype", NULL};
static const char *const s_get_params[] = {"docId", NULL};
static const char *const s_update_params[] = {"docId", "status", "description", NULL};
static const char *const s_sent_params[] = {"servicetype", "messagetype", "docId", NULL};
static const char *const s_register_params[] = {"hash-file", NULL};
static const char *const s_no_params[] = {NULL};

static const s_op_t s_ops[] = {
    {.name = "sendEdoc", .params = s_send_params, .handler = s_op_send},
    {.name = "getReceivedEdocList", .params = s_list_params, .handler = s_op_list},
    {.name = "getEdoc", .params = s_get_params, .handler = s_op_get},
    {.name = "updateStatus", .params = s_update_params, .handler = s_op_update},
    {.name = "getAgenciesList", .params = s_no_params, .handler = s_op_agencies},
    {.name = "getSentEdocList", .params = s_sent_params, .handler = s_op_sent},
    {.name = "registerDocuments", .params = s_register_params, .handler = s_op_register},
};

static void s_answer(lt_http_response_t *resp, json_t *answer);

//  lt_edoc_auth header callback over an HTTP request.
static const char *s_auth_header(void *arg, const char *name)
{
    return lt_http_request_header(arg, name);
}

//  lt_edoc_auth secret callback over the systems file.
static const void *s_auth_secret(void *arg, const char *system_id, size_t *size)
{
    dms_t *self = arg;
    int index = lt_dms_systems_find(self->systems, system_id);
    return index < 0 ? NULL : lt_dms_systems_secret(self->systems, (size_t) index, size);
}

//  Return the operation a request path names, or NULL.
static const s_op_t *s_find_op(const lt_http_request_t *req, const char **name_p)
{
    const char *path = lt_http_request_path(req);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    *name_p = name;
    for (size_t i = 0; i < sizeof(s_ops) / sizeof(s_ops[0]); i++)
        if (strcmp(s_ops[i].name, name) == 0)
            return &s_ops[i];
    return NULL;
}

//  Authenticate a request's headers for op; NULL, or the FAIL 401 answer.
static json_t *s_authenticate(dms_t *self, const lt_http_request_t *req, const s_op_t *op)
{
    lt_err_t err;
    lt_err_clear(&err);
    //  A parameter sent twice with two values is ambiguous: which one was
    //  signed depends on who reads the request, so neither is trusted.
    const char *twice = lt_http_request_repeated_header(req, LT_EDOC_PREFIX);
    if (twice)
        lt_err_set(&err, LT_EAUTH, "header %.80s is sent more than once, with different values",
                   twice);
    else if (lt_edoc_auth_verify(s_auth_header, (void *) req, s_auth_secret, self, op->params,
                                 &err)
             == LT_OK)
        return NULL;
    dms_count(self, &self->stats.auth_failures);
    const char *claimed = dms_param(req, "systemid");
    lt_log_warning("event=auth_failed op=%s system=\"%.64s\" peer=%s reason=\"%s\"", op->name,
                   claimed ? claimed : "", lt_http_request_peer(req), err.detail);
    if (strcmp(op->name, "sendEdoc") == 0)
        dms_count(self, &self->stats.send_fail);
    return dms_fail("401", "%s", err.detail);
}

//  Run one edoc operation the gate let through (authenticated again, which
//  costs one HMAC); returns the answer, or NULL when it filled resp itself.
static json_t *s_operation(dms_t *self, const lt_http_request_t *req, lt_http_response_t *resp)
{
    const char *name = NULL;
    const s_op_t *op = s_find_op(req, &name);
    dms_count(self, &self->stats.requests);
    if (!op)
        return dms_fail("404", "unknown operation '%.64s'", name);
    if (strcmp(lt_http_request_method(req), "POST") != 0)
        return dms_fail("405", "%s takes POST", op->name);
    json_t *refused = s_authenticate(self, req, op);
    if (refused)
        return refused;
    int caller = lt_dms_systems_find(self->systems, dms_param(req, "systemid"));
    assert(caller >= 0);   //  authentication found it
    return op->handler(self, req, (size_t) caller, resp);
}

lt_http_gate_t dms_gate(const lt_http_request_t *req, lt_http_response_t *resp,
                        size_t *max_body, void *arg)
{
    dms_t *self = arg;
    if (strcmp(lt_http_request_path(req), "/_dms/stats") == 0) {
        *max_body = DMS_SMALL_BODY;
        return LT_HTTP_GATE_PASS;
    }
    const char *name = NULL;
    const s_op_t *op = s_find_op(req, &name);
    json_t *answer = NULL;
    if (!op)
        answer = dms_fail("404", "unknown operation '%.64s'", name);
    else if (strcmp(lt_http_request_method(req), "POST") != 0)
        answer = dms_fail("405", "%s takes POST", op->name);
    else
        answer = s_authenticate(self, req, op);
    if (!answer) {
        int caller = lt_dms_systems_find(self->systems, dms_param(req, "systemid"));
        assert(caller >= 0);
        answer = dms_fresh_check(self, req, (size_t) caller, resp);
    }
    if (answer) {
        dms_count(self, &self->stats.requests);
        s_answer(resp, answer);
        return LT_HTTP_GATE_ANSWER;
    }
    if (op->handler == s_op_send)
        *max_body = self->max_package + DMS_MULTIPART_SLACK;
    else if (op->handler == s_op_register)
        *max_body = self->max_register;
    else
        *max_body = DMS_SMALL_BODY;
    return LT_HTTP_GATE_PASS;
}

//  Return true when the request comes from this machine.
static bool s_loopback(const lt_http_request_t *req)
{
    const char *peer = lt_http_request_peer(req);
    return strncmp(peer, "127.", 4) == 0 || strncmp(peer, "[::1]", 5) == 0
           || strncmp(peer, "::1", 3) == 0;
}

//  Render an answer as the response body.
static void s_answer(lt_http_response_t *resp, json_t *answer)
{
    char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
    if (!text || lt_http_response_set_body(resp, text, strlen(text), "application/json"))
        lt_http_response_set(resp, 500, "text/plain", "out of memory\n");
    free(text);
}

void dms_refusal(const lt_http_request_t *req, unsigned status, const char *reason,
                 lt_http_response_t *resp, void *arg)
{
    dms_t *self = arg;
    const char *name = NULL;
    const s_op_t *op = s_find_op(req, &name);
    dms_fresh_forget(self, req);
    dms_count(self, &self->stats.requests);
    if (op && op->handler == s_op_send)
        dms_count(self, &self->stats.send_fail);
    const char *system = dms_param(req, "systemid");
    lt_log_warning("event=request_refused op=%.64s system=\"%.64s\" peer=%s status=%u "
                   "reason=\"%s\"",
                   name, system ? system : "", lt_http_request_peer(req), status, reason);
    char code[16];
    snprintf(code, sizeof(code), "%u", status);
    s_answer(resp, op && op->handler == s_op_send && status == 413
                       ? dms_fail(code, "%s; the hub takes packages of at most %zu bytes", reason,
                                  self->max_package)
                       : dms_fail(code, "%s", reason));
}

lt_http_action_t dms_handle(const lt_http_request_t *req, lt_http_response_t *resp, void *arg)
{
    dms_t *self = arg;
    if (strcmp(lt_http_request_path(req), "/_dms/stats") == 0) {
        if (!s_loopback(req))
            lt_http_response_set(resp, 403, "text/plain", "stats are for loopback peers\n");
        else
            s_answer(resp, lt_conn_stats(self->conn));
        return LT_HTTP_ANSWER;
    }
    json_t *answer = s_operation(self, req, resp);
    if (answer)
        s_answer(resp, answer);
    return LT_HTTP_ANSWER;
}
