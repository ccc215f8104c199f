/*  lthub-dms: the hub's edoc API for the province's document management
    systems (DESIGN.md sections 1, 5, 6; spec/peers.md A).

    A DMS already integrated with the national document axis connects to
    the hub by changing its base URL: lthub-dms serves the same operations.

    Upstream (DMS -> hub). sendEdoc authenticates the calling system (its
    id, secret file and served agencies come from --systems), checks
    hash-file, reads the edXML with lt_edxml (refused input is kept in
    DATA/rejected/ with a note), refuses a package whose From/OrganId the
    system does not serve, fills the envelope (lt_edxml, lt_verdict with
    the --trust anchors) and publishes it. The DocId answered is the
    broker's message id, given only after ACCEPTED, that is after the
    message is on the broker's disk; a resend of the same DocumentId gets
    the same DocId (the broker deduplicates on the business key). A broker
    that does not confirm in --publish-timeout gets the client a "503" to
    retry. registerDocuments publishes paper-register lines (kind
    register) the same way.

    Downstream (broker -> DMS). deliver() runs on the runtime's workers: for
    every recipient agency in the envelope (already narrowed to this
    connector's), every system serving it gets a mailbox item, all in one
    SQLite transaction (lt_mailbox, synchronous=FULL); DONE is answered only
    after the commit. A recipient no system serves is a permanent failure,
    so the broker moves the message to its dead letters. Systems collect
    with getReceivedEdocList / getEdoc / updateStatus; an item leaves the
    list only with updateStatus done. With --auto-status yes the first
    fetch of a document owes a status 01 to its sender (dms_status.c).

    The mailbox is bounded (--mailbox-max-age, -items, -bytes; dms_bounds.c):
    done items go oldest first; when the items not done alone fill a bound,
    deliver() answers RETRY and the broker keeps the message.

    Files: lthub_dms.c (this table, options, deliver, stats), dms_server.c
    (HTTP handlers), dms_register.c, dms_status.c, dms_bounds.c,
    lt_mailbox.c, lt_dms_systems.c.
*/
#include "dms_int.h"

#include "lt_id.h"
#include "lt_log.h"
#include "lt_pdfsig.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const lt_option_t dms_options[];   //  dms_options.c

//  Fill err with a configuration problem; returns -1.
static int s_config_error(lt_err_t *err, const char *text)
{
    lt_err_set(err, LT_ECONFIG, "%s", text);
    return -1;
}

//  Create a folder if it does not exist; -1 with err.
static int s_mkdir(const char *path, lt_err_t *err)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST)
        return 0;
    return lt_err_set(err, LT_EIO, "cannot create folder %s: %s", path, strerror(errno)), -1;
}

//  Count the refused inputs already kept (their notes) and their bytes.
static void s_count_rejected(dms_t *self)
{
    DIR *dir = opendir(self->rejected_dir);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        size_t len = strlen(entry->d_name);
        if (entry->d_name[0] == '.')
            continue;
        if (len > 4 && strcmp(entry->d_name + len - 4, ".txt") == 0) {
            self->rejected_count++;
            continue;
        }
        char path[1400];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", self->rejected_dir, entry->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            self->rejected_bytes += (uint64_t) st.st_size;
    }
    closedir(dir);
}

//  Free the state and everything it holds.
static void s_free(dms_t *self)
{
    lt_http_server_destroy(&self->server);
    lt_mailbox_destroy(&self->mailbox);
    lt_sentlog_destroy(&self->sent);
    dms_fresh_fini(self);
    lt_dms_systems_destroy(&self->systems);
    X509_STORE_free(self->anchors);
    json_decref(self->counts);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

//  Read the options, the systems file, the trust anchors; open the mailbox.
static int s_init(lt_conn_t *conn, void **state_p, lt_err_t *err)
{
    dms_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    pthread_mutex_init(&self->lock, NULL);
    if (dms_fresh_init(self)) {
        s_free(self);
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    }
    self->conn = conn;
    const char *tls_cert = lt_conn_option(conn, "tls-cert");
    const char *tls_key = lt_conn_option(conn, "tls-key");
    const char *systems = lt_conn_option(conn, "systems");
    const char *data = lt_conn_option(conn, "data");
    const char *trust = lt_conn_option(conn, "trust");
    unsigned port = 0;
    lt_option_addr(lt_conn_option(conn, "listen"), self->host, sizeof(self->host), &port);
    self->port = (uint16_t) port;
    int rc = 0;
    if (!*tls_cert != !*tls_key)
        rc = s_config_error(err, "--tls-cert and --tls-key go together");
    if (!rc && (strlen(tls_cert) >= sizeof(self->tls_cert) || strlen(tls_key) >= sizeof(self->tls_key)))
        rc = s_config_error(err, "--tls-cert or --tls-key is too long a path");
    if (rc) {
        s_free(self);
        return -1;
    }
    self->auto_status = lt_conn_option_int(conn, "auto-status") == 1;
    self->max_package = (size_t) lt_conn_option_int(conn, "max-package");
    self->publish_timeout_ms = (int) lt_conn_option_int(conn, "publish-timeout");
    self->max_register = (size_t) lt_conn_option_int(conn, "max-register");
    self->max_entries = (size_t) lt_conn_option_int(conn, "max-entries");
    self->list_max = (size_t) lt_conn_option_int(conn, "list-max");
    self->max_rejected = (size_t) lt_conn_option_int(conn, "max-rejected");
    self->max_rejected_bytes = (uint64_t) lt_conn_option_int(conn, "max-rejected-mb") * 1024 * 1024;
    self->keep_done_ms = lt_conn_option_int(conn, "keep-done") * 24 * 3600 * 1000;
    self->bounds.bounds = (lt_mailbox_bounds_t){
        .max_age_ms = lt_conn_option_int(conn, "mailbox-max-age") * 1000,
        .max_items = (uint64_t) lt_conn_option_int(conn, "mailbox-max-items"),
        .max_bytes = (uint64_t) lt_conn_option_int(conn, "mailbox-max-bytes"),
    };
    self->request_timeout_ms = lt_conn_option_int(conn, "request-timeout");
    self->max_connections = (unsigned) lt_conn_option_int(conn, "max-connections");
    self->max_per_ip = (unsigned) lt_conn_option_int(conn, "max-per-ip");
    self->idle_timeout_s = (unsigned) lt_conn_option_int(conn, "idle-timeout");
    self->max_request_s = (unsigned) lt_conn_option_int(conn, "max-request-time");
    self->max_inflight_body = (size_t) lt_conn_option_int(conn, "max-inflight-body");
    snprintf(self->tls_cert, sizeof(self->tls_cert), "%s", tls_cert);
    snprintf(self->tls_key, sizeof(self->tls_key), "%s", tls_key);
    snprintf(self->data_dir, sizeof(self->data_dir), "%s", data);
    snprintf(self->rejected_dir, sizeof(self->rejected_dir), "%s/" DMS_REJECTED_DIR, data);
    char db[1200], sent[1200];
    snprintf(db, sizeof(db), "%s/" DMS_DB_NAME, data);
    snprintf(sent, sizeof(sent), "%s/" DMS_SENT_NAME, data);
    if (!(self->systems = lt_dms_systems_load(systems, err)) || s_mkdir(self->data_dir, err)
        || s_mkdir(self->rejected_dir, err) || !(self->mailbox = lt_mailbox_new(db, err))
        || !(self->sent = lt_sentlog_new(sent, err))
        || (*trust && !(self->anchors = lt_pdfsig_trust_load(trust, err)))) {
        s_free(self);
        return -1;
    }
    s_count_rejected(self);
    self->counts = lt_mailbox_counts(self->mailbox);
    lt_mailbox_usage(self->mailbox, &self->bounds.usage, NULL);
    lt_log_info("event=configured systems=%zu mailbox=%s auto_status=%s trust=%s",
                lt_dms_systems_count(self->systems), db, self->auto_status ? "yes" : "no",
                *trust ? trust : "(none)");
    *state_p = self;
    return 0;
}

//  The HTTP gate: dms_gate, except that /_dms/stats, which takes no body
//  and no credentials, gets a body bound of zero, so a body sent to it is
//  refused (413) and never parsed.
static lt_http_gate_t s_gate(const lt_http_request_t *req, lt_http_response_t *resp,
                             size_t *max_body, void *arg)
{
    lt_http_gate_t gate = dms_gate(req, resp, max_body, arg);
    if (gate == LT_HTTP_GATE_PASS && strcmp(lt_http_request_path(req), "/_dms/stats") == 0)
        *max_body = 0;
    return gate;
}

//  Start the edoc API server.
static int s_start(void *state, lt_err_t *err)
{
    dms_t *self = state;
    lt_http_options_t options = {
        .limits = {
            .max_body = self->max_package + DMS_MULTIPART_SLACK > self->max_register
                            ? self->max_package + DMS_MULTIPART_SLACK
                            : self->max_register,
            .max_parts = 4,
            .max_connections = self->max_connections,
            .max_per_ip = self->max_per_ip,
            .idle_timeout_s = self->idle_timeout_s,
            .max_request_s = self->max_request_s,
            .max_inflight_body = self->max_inflight_body,
        },
        .gate = s_gate,
        .refusal = dms_refusal,
        .tls_cert = *self->tls_cert ? self->tls_cert : NULL,
        .tls_key = *self->tls_key ? self->tls_key : NULL,
    };
    self->server = lt_http_server_start(self->host, self->port, dms_handle, self, &options, err);
    if (!self->server)
        return -1;
    lt_log_info("event=listening address=%s port=%u tls=%s max_connections=%u max_per_ip=%u",
                self->host, (unsigned) lt_http_server_port(self->server),
                lt_http_server_tls(self->server) ? "yes" : "no", self->max_connections,
                self->max_per_ip);
    return 0;
}

//  Refresh the cached counts, publish owed statuses 01, hold the mailbox
//  within its bounds and purge old bytes (dms_bounds.c).
static void s_poll(void *state)
{
    dms_t *self = state;
    json_t *counts = lt_mailbox_counts(self->mailbox);
    if (counts) {
        pthread_mutex_lock(&self->lock);
        json_decref(self->counts);
        self->counts = counts;
        pthread_mutex_unlock(&self->lock);
    }
    dms_arrivals_run(self);
    dms_bounds_run(self);
}

//  Put one delivered message into the mailbox of every system serving a recipient.
static lt_delivery_result_t s_deliver(void *state, const lt_delivery_t *d, lt_err_t *err)
{
    dms_t *self = state;
    const lt_envelope_t *env = d->envelope;
    lt_kind_t kind = lt_envelope_kind(env);
    if (kind != LT_KIND_DOCUMENT && kind != LT_KIND_STATUS) {
        dms_count(self, &self->stats.delivery_fails);
        lt_err_set(err, LT_EINVAL, "lthub-dms takes documents and statuses, not %s messages",
                   lt_kind_name(kind));
        return LT_DELIVERY_FAIL;
    }
    size_t recipients = lt_envelope_recipients(env);
    size_t systems = lt_dms_systems_count(self->systems);
    if (recipients == 0) {
        dms_count(self, &self->stats.delivery_fails);
        lt_err_set(err, LT_EFIELD, "the message names no recipient");
        return LT_DELIVERY_FAIL;
    }
    lt_mailbox_target_t *targets = calloc(recipients * systems, sizeof(*targets));
    if (!targets) {
        dms_count(self, &self->stats.delivery_retries);
        lt_err_set(err, LT_ENOMEM, "out of memory");
        return LT_DELIVERY_RETRY;
    }
    size_t count = 0;
    char unserved[400] = "";
    size_t unserved_count = 0;
    for (size_t r = 0; r < recipients; r++) {
        const char *agency = lt_envelope_recipient(env, r);
        size_t before = count;
        for (size_t s = 0; s < systems; s++)
            if (lt_dms_systems_serves(self->systems, s, agency))
                targets[count++] = (lt_mailbox_target_t){lt_dms_systems_id(self->systems, s),
                                                         agency};
        if (count == before) {
            size_t used = strlen(unserved);
            snprintf(unserved + used, sizeof(unserved) - used, "%s%s", used ? ", " : "",
                     agency);
            unserved_count++;
        }
    }
    if (count && dms_bounds_full(self, err)) {
        free(targets);
        dms_count(self, &self->stats.delivery_retries);
        lt_log_debug("event=mailbox_refused msgid=%s reason=\"%s\"", lt_envelope_id(env),
                     err->detail);
        return LT_DELIVERY_RETRY;
    }
    size_t added = 0;
    int rc = count ? lt_mailbox_put(self->mailbox, env, d->payload, d->size, targets, count,
                                    &added, err)
                   : 0;
    free(targets);
    if (rc) {
        //  A disk problem may pass: the broker tries again with backoff.
        dms_count(self, &self->stats.delivery_retries);
        if (err->code == LT_EUNAVAIL) {
            dms_count(self, &self->stats.mailbox_full);
            lt_log_error("event=mailbox_full msgid=%s data=%s reason=\"%s\"",
                         lt_envelope_id(env), self->data_dir, err->detail);
        }
        else
            lt_log_error("event=mailbox_error op=put msgid=%s reason=\"%s\"",
                         lt_envelope_id(env), err->detail);
        return LT_DELIVERY_RETRY;
    }
    pthread_mutex_lock(&self->lock);
    self->stats.items_added += added;
    pthread_mutex_unlock(&self->lock);
    if (unserved_count) {
        dms_count(self, &self->stats.delivery_fails);
        lt_err_set(err, LT_EROUTE, "no DMS system serves agenc%s %s", unserved_count > 1 ? "ies"
                                                                                        : "y",
                   unserved);
        lt_log_warning("event=unserved msgid=%s key=\"%s\" agencies=\"%s\" stored=%zu",
                       lt_envelope_id(env), lt_envelope_key(env), unserved, count);
        return LT_DELIVERY_FAIL;
    }
    dms_count(self, &self->stats.deliveries);
    lt_log_info("event=mailboxed msgid=%s key=\"%s\" items=%zu new=%zu", lt_envelope_id(env),
                lt_envelope_key(env), count, added);
    return LT_DELIVERY_OK;
}

json_t *dms_stats_json(dms_t *self)
{
    pthread_mutex_lock(&self->lock);
    dms_stats_t s = self->stats;
    json_t *counts = json_deep_copy(self->counts);
    pthread_mutex_unlock(&self->lock);
    json_t *out = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "requests", (json_int_t) s.requests, "auth_failures", (json_int_t) s.auth_failures,
        "send_ok", (json_int_t) s.send_ok, "send_duplicates", (json_int_t) s.send_duplicates,
        "send_fail", (json_int_t) s.send_fail, "hash_failures", (json_int_t) s.hash_failures,
        "bad_packages", (json_int_t) s.bad_packages, "impersonations",
        (json_int_t) s.impersonations, "broker_rejects", (json_int_t) s.broker_rejects,
        "timeouts", (json_int_t) s.timeouts, "lists", (json_int_t) s.lists, "fetches",
        (json_int_t) s.fetches, "updates", (json_int_t) s.updates, "register_ok",
        (json_int_t) s.register_ok, "register_fail", (json_int_t) s.register_fail,
        "register_entries", (json_int_t) s.register_entries, "deliveries",
        (json_int_t) s.deliveries, "delivery_fails", (json_int_t) s.delivery_fails,
        "delivery_retries", (json_int_t) s.delivery_retries, "items_added",
        (json_int_t) s.items_added, "arrivals_sent", (json_int_t) s.arrivals_sent,
        "arrivals_failed", (json_int_t) s.arrivals_failed, "rejected_kept",
        (json_int_t) s.rejected_kept, "mailbox_full", (json_int_t) s.mailbox_full,
        "bound_refusals", (json_int_t) s.bound_refusals);
    if (out && self->server) {
        //  The HTTP edge's body budget: bytes held now, requests refused 503.
        uint64_t busy = 0;
        size_t held = lt_http_server_body_held(self->server, &busy);
        json_object_set_new(out, "body_held", json_integer((json_int_t) held));
        json_object_set_new(out, "body_busy", json_integer((json_int_t) busy));
    }
    if (out) {
        json_object_set_new(out, "mailboxes", counts ? counts : json_object());
        json_t *bounds = dms_bounds_json(self);
        if (bounds)
            json_object_set_new(out, "mailbox", bounds);
    }
    else
        json_decref(counts);
    return out;
}

//  Add the connector's counters and the mailbox counts (from the poll cache).
static void s_stats(void *state, json_t *out)
{
    json_t *dms = dms_stats_json(state);
    if (dms)
        json_object_set_new(out, "dms", dms);
}

//  Stop the server (joining its handlers) and free everything.
static void s_fini(void **state_p)
{
    dms_t *self = *state_p;
    if (self)
        s_free(self);
    *state_p = NULL;
}

static const lt_connector_ops_t s_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "dms",
    .kind = "dms",
    .summary = "edoc API server and mailboxes for the province's document management systems",
    .options = dms_options,
    .init = s_init,
    .start = s_start,
    .poll = s_poll,
    .deliver = s_deliver,
    .stats = s_stats,
    .fini = s_fini,
};

int main(int argc, char *argv[])
{
    return lt_conn_main(&s_ops, argc, argv);
}
