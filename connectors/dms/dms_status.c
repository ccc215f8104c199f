/*  dms_status.c: the automatic status 01 ("Đã đến", arrived).

    With --auto-status yes, the first getEdoc of a document item claims a
    row in the mailbox's arrivals table (once per DocumentId and recipient
    agency, whichever system fetched it). poll() then builds the status
    package (From = the recipient agency, ResponseFor = the document) and
    publishes it like any status a DMS would send: kind status, key =
    DocumentId, btype "01", sender = the recipient agency, recipient = the
    document's sender. The claim is closed only after ACCEPTED, so a crash
    in between means the status is published again after the restart,
    which the broker deduplicates on the business key.
*/
#include "lt_period.h"
#include "dms_int.h"

#include "lt_id.h"
#include "lt_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_ARRIVALS_PER_POLL 256    //  statuses published per poll() at most
#define S_ARRIVALS_BUDGET   500    //  ms of one poll() spent on them, about
#define S_ARRIVAL_TIMEOUT   5000   //  longest wait for ACCEPTED in poll(), ms

//  Write time ms as "yyyy/MM/dd HH:mm:ss" in Vietnam time (UTC+7).
static void s_timestamp(int64_t ms, char out[32])
{
    lt_period_format_time(ms, "%Y/%m/%d %H:%M:%S", out, 32);
}

lt_edxml_t *dms_status_build(const void *doc, size_t size, const char *agency, int64_t now_ms,
                             uint8_t **data_p, size_t *size_p, lt_err_t *err)
{
    *data_p = NULL;
    *size_p = 0;
    lt_edxml_limits_t limits;
    lt_edxml_limits_init(&limits);
    if (size >= limits.max_package)
        limits.max_package = size + 1;   //  it was accepted upstream: read it whole
    lt_edxml_t *document = lt_edxml_read(doc, size, &limits, err);
    if (!document)
        return NULL;
    if (lt_edxml_is_status(document)) {
        lt_edxml_destroy(&document);
        lt_err_set(err, LT_EINVAL, "a status package gets no status 01");
        return NULL;
    }
    lt_edxml_t *status = lt_edxml_new_status();
    if (!status) {
        lt_edxml_destroy(&document);
        lt_err_set(err, LT_ENOMEM, "out of memory");
        return NULL;
    }
    //  From: the recipient's own block from the document's To list, if there.
    lt_edxml_organ_t from = {.organ_id = (char *) agency};
    for (size_t i = 0; i < lt_edxml_to_count(document); i++) {
        const lt_edxml_organ_t *to = lt_edxml_to(document, i);
        if (strcmp(to->organ_id, agency) == 0) {
            from = *to;
            break;
        }
    }
    const char *number = lt_edxml_get(document, LT_EDXML_CODE_NUMBER);
    const char *notation = lt_edxml_get(document, LT_EDXML_CODE_NOTATION);
    char code[512];
    snprintf(code, sizeof(code), "%s%s%s", number, *number && *notation ? "/" : "", notation);
    lt_edxml_response_t response = {
        .organ_id = (char *) lt_edxml_from(document)->organ_id,
        .code = code,
        .promulgation_date = (char *) lt_edxml_get(document, LT_EDXML_PROMULGATION_DATE),
        .document_id = (char *) lt_edxml_document_id(document),
    };
    char stamp[32];
    s_timestamp(now_ms, stamp);
    int rc = lt_edxml_set_from(status, &from) || lt_edxml_add_response(status, &response)
             || lt_edxml_set(status, LT_EDXML_STATUS_CODE, "01")
             || lt_edxml_set(status, LT_EDXML_DESCRIPTION, "Đã đến")
             || lt_edxml_set(status, LT_EDXML_TIMESTAMP, stamp);
    lt_edxml_destroy(&document);
    if (rc) {
        lt_err_set(err, LT_ENOMEM, "out of memory");
        lt_edxml_destroy(&status);
        return NULL;
    }
    if (lt_edxml_write(status, data_p, size_p, err)) {
        lt_edxml_destroy(&status);
        return NULL;
    }
    return status;
}

//  Publish the status 01 of one owed arrival; returns false when the broker
//  could not be reached (stop for this poll).
static bool s_arrival(dms_t *self, const lt_mailbox_arrival_t *a)
{
    lt_err_t err;
    lt_err_clear(&err);
    uint8_t *doc = NULL;
    size_t doc_size = 0;
    int rc = lt_mailbox_payload(self->mailbox, a->msgid, &doc, &doc_size, &err);
    if (rc < 0) {
        lt_log_error("event=mailbox_error op=arrival reason=\"%s\"", err.detail);
        return false;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    lt_edxml_t *status = NULL;
    if (rc == 1)
        lt_err_set(&err, LT_EINVAL, "the document's package is no longer kept");
    else
        status = dms_status_build(doc, doc_size, a->agency, lt_time_ms(), &data, &size, &err);
    free(doc);
    lt_envelope_t *env = status ? lt_envelope_new() : NULL;
    if (status && (!env || lt_edxml_fill_envelope(status, env)))
        lt_err_set(&err, LT_ENOMEM, "out of memory");
    lt_edxml_destroy(&status);
    if (err.code != LT_OK) {
        lt_envelope_destroy(&env);
        free(data);
        lt_log_warning("event=arrival_failed key=\"%s\" agency=%s reason=\"%s\"", a->key,
                       a->agency, err.detail);
        dms_count(self, &self->stats.arrivals_failed);
        lt_mailbox_arrival_close(self->mailbox, a->key, a->agency, "failed", err.detail, NULL);
        return true;
    }
    lt_envelope_set_system(env, a->system);
    int timeout = self->publish_timeout_ms < S_ARRIVAL_TIMEOUT ? self->publish_timeout_ms
                                                                : S_ARRIVAL_TIMEOUT;
    lt_publish_result_t result;
    lt_conn_publish(self->conn, &env, data, size, timeout, &result);
    lt_envelope_destroy(&env);
    free(data);
    if (result.code == LT_OK) {
        lt_log_info("event=arrival_sent key=\"%s\" agency=%s msgid=%s", a->key, a->agency,
                    result.msgid);
        dms_count(self, &self->stats.arrivals_sent);
        if (lt_mailbox_arrival_close(self->mailbox, a->key, a->agency, "sent", result.msgid,
                                     &err))
            lt_log_error("event=mailbox_error op=arrival reason=\"%s\"", err.detail);
        return true;
    }
    if (result.code == LT_ETIMEOUT || lt_error_transient(result.code)) {
        lt_log_warning("event=arrival_delayed key=\"%s\" agency=%s reason=\"%s\"", a->key,
                       a->agency, result.reason);
        return false;
    }
    lt_log_warning("event=arrival_refused key=\"%s\" agency=%s code=%s reason=\"%s\"", a->key,
                   a->agency, lt_error_name(result.code), result.reason);
    dms_count(self, &self->stats.arrivals_failed);
    lt_mailbox_arrival_close(self->mailbox, a->key, a->agency, "failed", result.reason, NULL);
    return true;
}

void dms_arrivals_run(dms_t *self)
{
    if (!self->auto_status || !lt_conn_connected(self->conn))
        return;
    lt_mailbox_arrival_t *list = NULL;
    size_t count = 0;
    lt_err_t err;
    if (lt_mailbox_arrivals(self->mailbox, S_ARRIVALS_PER_POLL, &list, &count, &err)) {
        lt_log_error("event=mailbox_error op=arrivals reason=\"%s\"", err.detail);
        return;
    }
    int64_t start = lt_clock_ms();
    for (size_t i = 0; i < count && lt_clock_ms() - start < S_ARRIVALS_BUDGET; i++)
        if (!s_arrival(self, &list[i]))
            break;
    lt_mailbox_arrivals_free(&list, count);
}
