/*  lthub-portal: the hub between the province's one-stop system (Hệ thống
    một cửa điện tử) and the national public service portal (DVCQG), in the
    adapter API of spec/peers.md B (DESIGN.md sections 1, 5, 6).

    One-stop -> hub (portal_server.c). The hub serves the same adapter API
    as DVCQG, so a one-stop system already integrated with DVCQG connects by
    changing its base URL and credentials: login (--username and the
    password in --password-file) gives a random session token that expires
    after --session-idle seconds without use; DongBoHoSoMC and
    CapNhatTienDoHoSoMC check every record of the call first (a bad one is
    answered -1 naming its index and field, and nothing of the call is
    published), then publish each record as one message whose payload is
    the record's exact bytes, and answer 0 only once the broker confirmed
    every one on disk (else -9: send again, a resend is deduplicated).
    TraCuuHoSo answers the latest record kept in DATA/portal.db.

    Hub -> DVCQG (portal_client.c, deliver() on the runtime's workers). The
    broker's lanes (destination + MaHoSo) hand over one delivery of a
    dossier at a time, so a progress step never overtakes its dossier nor an
    update its record. Each delivery logs in when needed, sends the record
    (DongBoHoSoMC with isUpdating from the envelope, or CapNhatTienDoHoSoMC),
    logs in again on -2, resends as an update on -3, retries -9, HTTP 5xx and
    timeouts (RETRY: the broker backs off), and fails on -1 with DVCQG's
    message. When DVCQG accepted a dossier, a fact (dossier_synced) is
    published for counting before the delivery is DONE.
*/
#include "portal.h"

#include "lt_edoc_auth.h"
#include "lt_id.h"
#include "lt_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const lt_option_t s_options[] = {
    {"listen", "127.0.0.1:8481", "ADDR:PORT of the adapter API for the one-stop system"},
    {"data", "/var/lib/lthub", "folder of portal.db (latest record per MaHoSo)"},
    {"username", "", "username the one-stop system logs in with"},
    {"password-file", "", "file holding the one-stop system's password"},
    {"auth-path", "/login", "path of the login call"},
    {"service-path", "/service", "path of the service calls"},
    {"agencies", "*", "madonvi codes or patterns accepted (comma-separated)"},
    {"session-idle", "1800", "seconds a session lives without use"},
    {"max-sessions", "1024", "sessions open at once at most"},
    {"max-body", "33554432", "largest request body, bytes"},
    {"max-records", "1000", "records or steps per service call at most"},
    {"publish-timeout", "15000", "ms to wait for the broker's ACCEPTED before answering -9"},
    {"dvcqg-url", "", "base URL of DVCQG's adapter (https://...)"},
    {"dvcqg-username", "", "the hub's username at DVCQG"},
    {"dvcqg-password-file", "", "file holding the hub's password at DVCQG"},
    {"dvcqg-auth-path", "/login", "path of DVCQG's login call"},
    {"dvcqg-service-path", "/service", "path of DVCQG's service calls"},
    {"ca-file", "", "PEM CA file for DVCQG's TLS certificate (default: system store)"},
    {"timeout-ms", "30000", "longest wait for one DVCQG call, ms"},
    {"batch", "50", "records per DVCQG call at most (concurrent deliveries share calls)"},
    {"connect-timeout-ms", "10000", "longest wait for a connection to DVCQG, ms"},
    {NULL, NULL, NULL},
};

void portal_count(portal_t *self, uint64_t *counter)
{
    pthread_mutex_lock(&self->stats_lock);
    (*counter)++;
    pthread_mutex_unlock(&self->stats_lock);
}

//  Return true when code matches pattern ("*", "*.SUFFIX", "PREFIX*" or exact).
static bool s_matches(const char *pattern, const char *code)
{
    size_t plen = strlen(pattern), clen = strlen(code);
    if (strcmp(pattern, "*") == 0)
        return true;
    if (plen > 1 && pattern[0] == '*')
        return clen >= plen - 1 && strcmp(code + clen - (plen - 1), pattern + 1) == 0;
    if (plen > 1 && pattern[plen - 1] == '*')
        return strncmp(code, pattern, plen - 1) == 0;
    return strcmp(pattern, code) == 0;
}

bool portal_agency_ok(const portal_t *self, const char *code)
{
    for (size_t i = 0; i < self->agency_count; i++)
        if (s_matches(self->agencies[i], code))
            return true;
    return false;
}

//  Read a number option within [min, max]; -1 with err naming it.
static int s_number(lt_conn_t *conn, const char *name, long long min, long long max,
                    long long *out, lt_err_t *err)
{
    const char *text = lt_conn_option(conn, name);
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (!*text || errno || *end || value < min || value > max)
        return lt_err_set(err, LT_ECONFIG, "--%s must be a number from %lld to %lld, not '%s'",
                          name, min, max, text),
               -1;
    *out = value;
    return 0;
}

//  Split --listen "ADDR:PORT" or "[V6ADDR]:PORT"; -1 with err.
static int s_listen(portal_t *self, const char *text, lt_err_t *err)
{
    const char *colon = strrchr(text, ':');
    const char *host = text;
    size_t len = colon ? (size_t) (colon - text) : 0;
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        host = text + 1;
        len -= 2;
    }
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || len == 0 || len >= sizeof(self->host) || !end || *end || colon[1] == 0
        || port < 0 || port > 65535)
        return lt_err_set(err, LT_ECONFIG, "--listen must be ADDR:PORT, not '%s'", text), -1;
    snprintf(self->host, sizeof(self->host), "%.*s", (int) len, host);
    self->port = (uint16_t) port;
    return 0;
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

//  A path option must start with '/' and hold no space; -1 with err.
static int s_path(lt_conn_t *conn, const char *name, const char **out, lt_err_t *err)
{
    const char *path = lt_conn_option(conn, name);
    if (path[0] != '/' || strpbrk(path, " ?#\r\n\t"))
        return lt_err_set(err, LT_ECONFIG, "--%s must be a path starting with '/', not '%s'",
                          name, path),
               -1;
    *out = path;
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
    pthread_mutex_init(&self->login_lock, NULL);
    pthread_mutex_init(&self->pool_lock, NULL);
    pthread_mutex_init(&self->stats_lock, NULL);
    pthread_mutex_init(&self->batch_lock, NULL);
    *state_p = self;
    const char *required[] = {"username", "password-file", "dvcqg-url", "dvcqg-username",
                              "dvcqg-password-file"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!*lt_conn_option(conn, required[i])) {
            lt_err_set(err, LT_ECONFIG, "--%s is required (see --help)", required[i]);
            goto failed;
        }
    long long idle = 0, sessions = 0, max_body = 0, max_records = 0, publish = 0, timeout = 0,
              connect = 0, batch = 0;
    if (s_listen(self, lt_conn_option(conn, "listen"), err)
        || s_number(conn, "session-idle", 10, 86400 * 7, &idle, err)
        || s_number(conn, "max-sessions", 1, 100000, &sessions, err)
        || s_number(conn, "max-body", 1024, 1024LL * 1024 * 1024, &max_body, err)
        || s_number(conn, "max-records", 1, 100000, &max_records, err)
        || s_number(conn, "publish-timeout", 100, 600000, &publish, err)
        || s_number(conn, "timeout-ms", 100, 3600000, &timeout, err)
        || s_number(conn, "connect-timeout-ms", 100, 600000, &connect, err)
        || s_number(conn, "batch", 1, PORTAL_BATCH_MAX, &batch, err)
        || s_path(conn, "auth-path", &self->auth_path, err)
        || s_path(conn, "service-path", &self->service_path, err)
        || s_path(conn, "dvcqg-auth-path", &self->dvcqg_auth_path, err)
        || s_path(conn, "dvcqg-service-path", &self->dvcqg_service_path, err)
        || s_agencies(self, lt_conn_option(conn, "agencies"), err))
        goto failed;
    if (strcmp(self->auth_path, self->service_path) == 0) {
        lt_err_set(err, LT_ECONFIG, "--auth-path and --service-path must differ");
        goto failed;
    }
    self->session_idle_ms = idle * 1000;
    self->max_sessions = (size_t) sessions;
    self->max_body = (size_t) max_body;
    self->max_records = (size_t) max_records;
    self->publish_timeout_ms = (int) publish;
    self->timeout_ms = (long) timeout;
    self->connect_timeout_ms = (long) connect;
    self->max_batch = (size_t) batch;
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
    lt_http_limits_t limits = {.max_body = self->max_body, .max_parts = 1};
    self->server = lt_http_server_new(self->host, self->port, portal_handle, self, &limits, err);
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
        "s:I, s:I, s:s, s:I, s:I, s:I}",
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
        "batched", (json_int_t) s.batched);
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
    pthread_mutex_destroy(&self->login_lock);
    pthread_mutex_destroy(&self->pool_lock);
    pthread_mutex_destroy(&self->stats_lock);
    pthread_mutex_destroy(&self->batch_lock);
    free(self);
    *state_p = NULL;
}

static const lt_connector_ops_t s_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "portal",
    .kind = "portal",
    .summary = "one-stop adapter API server and client of DVCQG's adapter (dossiers, progress)",
    .options = s_options,
    .init = s_init,
    .start = s_start,
    .poll = s_poll,
    .deliver = portal_deliver,
    .stats = s_stats,
    .fini = s_fini,
};

int main(int argc, char *argv[])
{
    return lt_conn_main(&s_ops, argc, argv);
}
