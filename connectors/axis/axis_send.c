/*  axis_send: deliver() of lthub-axis, hub -> national axis.

    Runs on the runtime's worker threads, several at once (never two of the
    same lane, so a status never overtakes its document here either). Each
    attempt starts again from the stored payload, so a retried delivery
    carries exactly one TraceHeader of the hub. The package is not written
    again: the TraceHeader is inserted into the bytes the DMS sent
    (lt_edxml_insert_trace), so the axis receives every other byte as sent.
*/
#include "axis.h"
#include "lt_edxml.h"
#include "lt_id.h"
#include "lt_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Count one outcome and keep a failure as the last error.
static void s_count(axis_t *self, lt_delivery_result_t result, const char *detail)
{
    pthread_mutex_lock(&self->stats_lock);
    if (result == LT_DELIVERY_OK)
        self->stats.sent++;
    else if (result == LT_DELIVERY_RETRY)
        self->stats.send_retried++;
    else
        self->stats.send_failed++;
    pthread_mutex_unlock(&self->stats_lock);
    if (result != LT_DELIVERY_OK)
        axis_note_error(self, detail);
}

//  Read the payload (to check it and tell a status from a document), then
//  insert the hub's TraceHeader into its bytes, changing nothing else;
//  *data_p is the package to send (caller frees). FAIL when the payload is
//  not a package the hub can relay, RETRY when memory ran out.
static lt_delivery_result_t s_prepare(axis_t *self, const lt_delivery_t *d, uint8_t **data_p,
                                      size_t *size_p, bool *status_p, lt_err_t *err)
{
    lt_err_t perr;
    lt_edxml_t *package = lt_edxml_read(d->payload, d->size, NULL, &perr);
    if (!package) {
        if (perr.code == LT_ENOMEM)
            return lt_err_set(err, LT_ENOMEM, "out of memory reading the package"),
                   LT_DELIVERY_RETRY;
        lt_err_set(err, LT_EINVAL, "the payload is not a readable edXML package: %s",
                   perr.detail);
        return LT_DELIVERY_FAIL;
    }
    *status_p = lt_edxml_is_status(package);
    lt_edxml_destroy(&package);
    char stamp[32];
    axis_format_time(lt_time_ms(), stamp);
    if (lt_edxml_insert_trace(d->payload, d->size, self->province_code, stamp, data_p, size_p,
                              NULL, NULL, &perr)) {
        lt_err_set(err, perr.code, "cannot insert the hub's TraceHeader: %s", perr.detail);
        return perr.code == LT_ENOMEM ? LT_DELIVERY_RETRY : LT_DELIVERY_FAIL;
    }
    return LT_DELIVERY_OK;
}

lt_delivery_result_t axis_deliver(void *state, const lt_delivery_t *d, lt_err_t *err)
{
    axis_t *self = state;
    const lt_envelope_t *env = d->envelope;
    lt_kind_t kind = lt_envelope_kind(env);
    size_t count = lt_envelope_recipients(env);
    lt_delivery_result_t result = LT_DELIVERY_OK;
    uint8_t *data = NULL;
    size_t size = 0;
    bool status = false;
    const char **to = NULL;
    if (kind != LT_KIND_DOCUMENT && kind != LT_KIND_STATUS) {
        lt_err_set(err, LT_EROUTE, "the axis takes documents and statuses, not a %s message",
                   lt_kind_name(kind));
        result = LT_DELIVERY_FAIL;
    }
    else if (count == 0) {
        lt_err_set(err, LT_EROUTE, "the delivery names no recipient agency");
        result = LT_DELIVERY_FAIL;
    }
    else
        result = s_prepare(self, d, &data, &size, &status, err);
    if (result == LT_DELIVERY_OK && !(to = calloc(count, sizeof(*to)))) {
        lt_err_set(err, LT_ENOMEM, "out of memory");
        result = LT_DELIVERY_RETRY;
    }
    lt_edoc_client_t *client = NULL;
    if (result == LT_DELIVERY_OK && !(client = axis_client_take(self, err)))
        result = LT_DELIVERY_RETRY;
    char doc_id[128] = "";
    if (result == LT_DELIVERY_OK) {
        for (size_t i = 0; i < count; i++)
            to[i] = lt_envelope_recipient(env, i);
        char filename[64];
        snprintf(filename, sizeof(filename), "%s.edxml", lt_envelope_id(env));
        lt_edoc_outcome_t outcome
            = lt_edoc_client_send(client, data, size, status ? "status" : "edoc", to, count,
                                  filename, doc_id, err);
        result = outcome == LT_EDOC_OK          ? LT_DELIVERY_OK
                 : outcome == LT_EDOC_TRANSIENT ? LT_DELIVERY_RETRY
                                                : LT_DELIVERY_FAIL;
    }
    axis_client_give(self, &client);
    s_count(self, result, err->detail);
    char first[64];
    snprintf(first, sizeof(first), "%s%s", count ? lt_envelope_recipient(env, 0) : "",
             count > 1 ? ",..." : "");
    if (result == LT_DELIVERY_OK)
        lt_log_info("event=sent kind=%s key=\"%s\" btype=%s to=%s docid=%s bytes=%zu attempt=%u",
                    status ? "status" : "document", lt_envelope_key(env), lt_envelope_btype(env),
                    first, doc_id, size, d->attempt);
    else if (result == LT_DELIVERY_RETRY && d->attempt > 1 && d->attempt % 10 != 0)
        //  The broker logs every retry; this one is said at the first
        //  attempt and every tenth, so an outage does not flood the log.
        lt_log_debug("event=send_retry key=\"%s\" to=%s attempt=%u reason=\"%s\"",
                     lt_envelope_key(env), first, d->attempt, err->detail);
    else
        lt_log(result == LT_DELIVERY_RETRY ? LT_LOG_WARNING : LT_LOG_ERROR,
               "event=%s key=\"%s\" to=%s attempt=%u reason=\"%s\"",
               result == LT_DELIVERY_RETRY ? "send_retry" : "send_failed", lt_envelope_key(env),
               first, d->attempt, err->detail);
    free(to);
    free(data);
    return result;
}
