/*  lthub-portal: the hub between the province's one-stop system (Hệ thống
    một cửa điện tử) and the national public service portal (DVCQG), in the
    adapter API of spec/peers.md B (DESIGN.md sections 1, 5, 6).

    One-stop -> hub (portal_server.c). The hub serves the same adapter API
    as DVCQG, so a one-stop system already integrated with DVCQG connects by
    changing its base URL and credentials: login (--username and the
    password in --password-file) gives a random session token that expires
    after --session-idle seconds without an accepted call (one answered 0),
    and --session-max seconds after the login whatever its use; DongBoHoSoMC and
    CapNhatTienDoHoSoMC check every record of the call first (a bad one is
    answered -1 naming its index and field, and nothing of the call is
    published), then publish each record as one message whose payload is
    the record's exact bytes, and answer 0 only once the broker confirmed
    every one on disk (else -9: send again, a resend is deduplicated).
    TraCuuHoSo answers the latest record kept in DATA/portal.db once the
    broker confirmed it (a call answered -9 shows nothing).

    Hub -> DVCQG (portal_client.c, deliver_many() on the runtime's
    workers: each takes every delivery waiting, up to --batch, and sends
    those of one kind, update flag and agency in one call). The broker's
    lanes (destination + MaHoSo) hand over one delivery of a dossier at a
    time, so a progress step never overtakes its dossier nor an update its
    record. Each delivery logs in when needed, sends the record
    (DongBoHoSoMC with isUpdating from the envelope, or CapNhatTienDoHoSoMC),
    logs in again on -2, resends as an update on -3, retries -9, HTTP 5xx and
    timeouts (RETRY: the broker backs off), and fails on -1 with DVCQG's
    message. When DVCQG accepted dossiers, a fact (dossier_synced) is
    published for counting: one per agency for the deliveries a worker
    took at once, naming every dossier DVCQG accepted in their calls
    (lt_conn_publish_for_many). Each delivery is DONE only once the broker
    holds the fact, without a worker waiting for it.
*/
#include "portal.h"

#include "lt_edoc_auth.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_pattern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const lt_option_t portal_options[];   //  portal_options.c

void portal_count(portal_t *self, uint64_t *counter)
{
    pthread_mutex_lock(&self->stats_lock);
    (*counter)++;
    pthread_mutex_unlock(&self->stats_lock);
}

bool portal_agency_ok(const portal_t *self, const char *code)
{
    for (size_t i = 0; i < self->agency_count; i++)
        if (lt_pattern_match(self->agencies[i], code))
            return true;
    return false;
}

//  Take --agencies (comma-separated codes or patterns); -1 with err.
static int s_agencies(portal_t *self, const char *list, lt_err_t *err)
{
    for (const char *code = list; *code;) {
        size_t len = strcspn(code, ", ");
        if (len > 0) {
            if (self->agency_count == PORTAL_MAX_AGENCIES)
                return lt_err_set(err, LT_ECONFIG, "--agencies lists more than %d codes",
                                  PORTAL_MAX_AGENCIES),
                       -1;
            if (!(self->agencies[self->agency_count] = strndup(code, len)))
                return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
            self->agency_count++;
        }
        code += len + (code[len] != 0);
    }
    if (self->agency_count == 0)
        return lt_err_set(err, LT_ECONFIG, "--agencies names no code"), -1;
    return 0;
}

static void s_fini(void **state_p);

//  Read and check the options, load the passwords, open the store.
static int s_init(lt_conn_t *conn, void **state_p, lt_err_t *err)
{
    portal_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    self->conn = conn;
    pthread_mutex_init(&self->session_lock, NULL);
    pthread_mutex_init(&self->login_pause_lock, NULL);
    pthread_mutex_init(&self->login_lock, NULL);
    pthread_mutex_init(&self->pool_lock, NULL);
    pthread_mutex_init(&self->stats_lock, NULL);
    *state_p = self;
    unsigned port = 0;
    lt_option_addr(lt_conn_option(conn, "listen"), self->host, sizeof(self->host), &port);
    self->port = (uint16_t) port;
    long long idle = lt_conn_option_int(conn, "session-idle");
    long long batch = lt_conn_option_int(conn, "batch");
    self->auth_path = lt_conn_option(conn, "auth-path");
    self->service_path = lt_conn_option(conn, "service-path");
    self->dvcqg_auth_path = lt_conn_option(conn, "dvcqg-auth-path");
    self->dvcqg_service_path = lt_conn_option(conn, "dvcqg-service-path");
    if (batch > PORTAL_BATCH_MAX) {
        lt_err_set(err, LT_ECONFIG, "--batch must be a number from 1 to %d", PORTAL_BATCH_MAX);
        goto failed;
    }
    if (s_agencies(self, lt_conn_option(conn, "agencies"), err))
        goto failed;
    if (strcmp(self->auth_path, self->service_path) == 0) {
        lt_err_set(err, LT_ECONFIG, "--auth-path and --service-path must differ");
        goto failed;
    }
    self->session_idle_ms = idle * 1000;
    self->session_max_ms = lt_conn_option_int(conn, "session-max") * 1000;
    self->max_sessions = (size_t) lt_conn_option_int(conn, "max-sessions");
    self->max_body = (size_t) lt_conn_option_int(conn, "max-body");
    self->max_records = (size_t) lt_conn_option_int(conn, "max-records");
    self->publish_timeout_ms = (int) lt_conn_option_int(conn, "publish-timeout");
    self->timeout_ms = (long) lt_conn_option_int(conn, "timeout-ms");
    self->login_pause_ms = lt_conn_option_int(conn, "dvcqg-login-pause") * 1000;
    self->connect_timeout_ms = (long) lt_conn_option_int(conn, "connect-timeout-ms");
    self->max_batch = (size_t) batch;
    lt_conn_set_deliver_max(conn, self->max_batch);
    self->username = lt_conn_option(conn, "username");
    self->dvcqg_url = lt_conn_option(conn, "dvcqg-url");
    self->dvcqg_username = lt_conn_option(conn, "dvcqg-username");
    self->ca_file = lt_conn_option(conn, "ca-file");
    if (!(self->sessions = calloc(self->max_sessions, sizeof(*self->sessions)))) {
        lt_err_set(err, LT_ENOMEM, "out of memory");
        goto failed;
    }
    self->password = lt_edoc_secret_load(lt_conn_option(conn, "password-file"),
                                         &self->password_size, err);
    if (!self->password)
        goto failed;
    self->dvcqg_password = lt_edoc_secret_load(lt_conn_option(conn, "dvcqg-password-file"),
                                               &self->dvcqg_password_size, err);
    if (!self->dvcqg_password)
        goto failed;
    lt_http_client_t *probe = lt_http_client_new(self->dvcqg_url);
    if (!probe) {
        lt_err_set(err, LT_ECONFIG, "--dvcqg-url must be an http(s) URL, not '%s'",
                   self->dvcqg_url);
        goto failed;
    }
    int ca = *self->ca_file ? lt_http_client_set_ca_file(probe, self->ca_file) : 0;
    lt_http_client_destroy(&probe);
    if (ca) {
        lt_err_set(err, LT_ECONFIG, "--ca-file %s cannot be read", self->ca_file);
        goto failed;
    }
    const char *data = lt_conn_option(conn, "data");
    if (!*data || (mkdir(data, 0750) && errno != EEXIST)) {
        lt_err_set(err, LT_ECONFIG, "--data %s: cannot create the folder: %s", data,
                   *data ? strerror(errno) : "empty");
        goto failed;
    }
    char db[1200];
    snprintf(db, sizeof(db), "%s/" PORTAL_DB_NAME, data);
    if (!(self->store = lt_portal_store_new(db, err)))
        goto failed;
    lt_log_info("event=configured store=%s dvcqg=%s agencies=%zu session_idle_s=%lld", db,
                self->dvcqg_url, self->agency_count, idle);
    return 0;
failed:
    s_fini(state_p);
    return -1;
}

//  Start the adapter API server.
static int s_start(void *state, lt_err_t *err)
{
    portal_t *self = state;
    lt_http_options_t options = {
        .limits = {
            .max_body = self->max_body,
            .max_parts = 1,
            .max_connections = (unsigned) lt_conn_option_int(self->conn, "max-connections"),
            .max_per_ip = (unsigned) lt_conn_option_int(self->conn, "max-per-ip"),
            .idle_timeout_s = (unsigned) lt_conn_option_int(self->conn, "idle-timeout"),
            .max_request_s = (unsigned) lt_conn_option_int(self->conn, "max-request-time"),
            .max_inflight_body = (size_t) lt_conn_option_int(self->conn, "max-inflight-body"),
        },
        .gate = portal_gate,
    };
    self->server = lt_http_server_start(self->host, self->port, portal_handle, self, &options,
                                        err);
    if (!self->server)
        return -1;
    lt_log_info("event=listening address=%s port=%u", self->host,
                (unsigned) lt_http_server_port(self->server));
    return 0;
}

//  Expire idle sessions; hourly, forget delivery marks older than a week.
static void s_poll(void *state)
{
    portal_t *self = state;
    portal_sessions_expire(self);
    if (lt_clock_ms() >= self->next_prune_ms) {
        self->next_prune_ms = lt_clock_ms() + 3600 * 1000;
        int64_t pruned = lt_portal_store_prune(self->store, lt_time_ms() - 7LL * 86400 * 1000);
        if (pruned > 0)
            lt_log_info("event=pruned marks=%lld", (long long) pruned);
    }
}

//  Add the connector's counters under "portal".
static void s_stats(void *state, json_t *out)
{
    portal_t *self = state;
    pthread_mutex_lock(&self->stats_lock);
    portal_stats_t s = self->stats;
    pthread_mutex_unlock(&self->stats_lock);
    json_t *portal = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:s, s:I, s:I, s:I, s:I}",
        "requests", (json_int_t) s.requests, "logins", (json_int_t) s.logins, "login_refused",
        (json_int_t) s.login_refused, "session_refused", (json_int_t) s.session_refused,
        "invalid", (json_int_t) s.invalid, "calls_ok", (json_int_t) s.calls_ok,
        "calls_unconfirmed", (json_int_t) s.calls_unconfirmed, "records_in",
        (json_int_t) s.records_in, "steps_in", (json_int_t) s.steps_in, "duplicates_in",
        (json_int_t) s.duplicates_in, "lookups", (json_int_t) s.lookups, "synced",
        (json_int_t) s.synced, "steps_out", (json_int_t) s.steps_out, "resent_as_update",
        (json_int_t) s.resent_as_update, "relogins", (json_int_t) s.relogins, "already_there",
        (json_int_t) s.already_there, "retried", (json_int_t) s.retried, "failed",
        (json_int_t) s.failed, "facts", (json_int_t) s.facts, "last_error", s.last_error,
        "last_error_at", (json_int_t) s.last_error_at, "batches", (json_int_t) s.batches,
        "batched", (json_int_t) s.batched, "foreign_steps", (json_int_t) s.foreign_steps);
    if (portal && self->server) {
        //  The HTTP edge's body budget: bytes held now, requests refused 503.
        uint64_t busy = 0;
        size_t held = lt_http_server_body_held(self->server, &busy);
        json_object_set_new(portal, "body_held", json_integer((json_int_t) held));
        json_object_set_new(portal, "body_busy", json_integer((json_int_t) busy));
    }
    if (portal)
        json_object_set_new(out, "portal", portal);
}

//  Stop the server (joining its handlers) and free everything.
static void s_fini(void **state_p)
{
    portal_t *self = *state_p;
    if (!self)
        return;
    lt_http_server_destroy(&self->server);
    portal_client_fini(self);
    lt_portal_store_destroy(&self->store);
    for (size_t i = 0; i < self->agency_count; i++)
        free(self->agencies[i]);
    if (self->password)
        lt_edoc_secret_free(&self->password, self->password_size);
    if (self->dvcqg_password)
        lt_edoc_secret_free(&self->dvcqg_password, self->dvcqg_password_size);
    if (self->sessions)
        memset(self->sessions, 0, self->max_sessions * sizeof(*self->sessions));
    free(self->sessions);
    pthread_mutex_destroy(&self->session_lock);
    pthread_mutex_destroy(&self->login_pause_lock);
    pthread_mutex_destroy(&self->login_lock);
    pthread_mutex_destroy(&self->pool_lock);
    pthread_mutex_destroy(&self->stats_lock);
    free(self);
    *state_p = NULL;
}

static const lt_connector_ops_t s_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "portal",
    .kind = "portal",
    .summary = "one-stop adapter API server and client of DVCQG's adapter (dossiers, progress)",
    .options = portal_options,
    .init = s_init,
    .start = s_start,
    .poll = s_poll,
    .deliver_many = portal_deliver_many,
    .stats = s_stats,
    .fini = s_fini,
};

int main(int argc, char *argv[])
{
    return lt_conn_main(&s_ops, argc, argv);
}
