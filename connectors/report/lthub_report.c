/*  lthub-report: the hub's client of the reporting system (Hệ thống thông
    tin báo cáo, spec/peers.md C).

    lthubd builds an indicator report at the end of each period and
    publishes it as a message of kind `report` whose key is the report's
    idempotencyKey; the default route sends it here. deliver() checks the
    report (lt_report_json: a bad one is FAIL naming the field, never
    sent), and POSTs the exact bytes to {url}{path} with
    `Authorization: Bearer <token>`, the token read from --token-file at
    every attempt, so that an operator who corrects the file only replays
    the dead letter. TLS verification is always on (--ca-file names a
    private authority), and every call is bounded by --timeout-ms.

    The answer decides:
      201 or 200 with an id   DONE, once the broker has stored the fact
                              `report_accepted` (key the idempotency key,
                              sender the organId, payload {id,
                              idempotencyKey, reportCode, organId, period})
                              that the ledger counts; a 200 is the system
                              saying it already had the report (a resend
                              after a lost answer), with the same id; an
                              id given as a JSON integer is kept in decimal
      400                     FAIL with the system's `error`, to dead letters
      401, 403                FAIL: the token was refused; the report waits
                              in dead letters until the token file is fixed
                              and the delivery replayed
      408, 425, 429, 5xx,     RETRY, and the broker backs off; a resend is
      no answer, a timeout,   safe because the system honours the
      an answer too large,    idempotency key. A 2xx is only an acceptance
      a 2xx without a usable  when its JSON has no key twice, its id is
      id, or naming another   printable ASCII of at most 255 bytes, and
      idempotencyKey or a     the idempotencyKey and status it may name
      status not "received"   are ours and "received"; the reason says
                              which of these failed
      anything else           FAIL with the status and the body's start
                              (a 3xx with its Location; never followed)
    The token never appears in a log line, an error or the stats.
*/
#include "lt_file.h"
#include "lt_log.h"
#include "lt_report_json.h"
#include "report.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const lt_option_t report_options[];   //  report_options.c

//  ---------------------------------------------------------------------------
//  Helpers shared by the files of the connector

int report_token_load(const char *path, char *token, size_t size, lt_err_t *err)
{
    lt_err_t ferr;
    size_t length = 0;
    char *text = lt_file_read(path, REPORT_TOKEN_MAX, &length, &ferr);
    if (!text)
        return lt_err_set(err, LT_ECONFIG, "cannot read the token file: %s", ferr.detail), -1;
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'
                          || text[length - 1] == ' ' || text[length - 1] == '\t'))
        length--;
    int rc = 0;
    if (length == 0)
        rc = -1, lt_err_set(err, LT_ECONFIG, "the token file %s is empty", path);
    else if (length >= size)
        rc = -1, lt_err_set(err, LT_ECONFIG, "the token in %s is longer than %zu bytes", path,
                            size - 1);
    for (size_t i = 0; rc == 0 && i < length; i++)
        if ((unsigned char) text[i] <= 0x20 || (unsigned char) text[i] >= 0x7f)
            rc = -1, lt_err_set(err, LT_ECONFIG,
                                "the token in %s holds a blank or a character outside "
                                "printable ASCII (byte %zu); a bearer token is one word",
                                path, i + 1);
    if (rc == 0) {
        memcpy(token, text, length);
        token[length] = 0;
    }
    OPENSSL_cleanse(text, length);
    free(text);
    return rc;
}

lt_http_client_t *report_client_take(report_t *self, lt_err_t *err)
{
    lt_http_client_t *client = NULL;
    pthread_mutex_lock(&self->pool_lock);
    if (self->pool_count > 0)
        client = self->pool[--self->pool_count];
    pthread_mutex_unlock(&self->pool_lock);
    if (client)
        return client;
    client = lt_http_client_new(self->url);
    if (!client)
        return lt_err_set(err, LT_ECONFIG, "--url '%s' is not an http:// or https:// URL",
                          self->url),
               NULL;
    lt_http_client_set_timeout(client, self->timeout_ms);
    lt_http_client_set_connect_timeout(client, self->connect_timeout_ms);
    lt_http_client_set_max_reply(client, REPORT_REPLY_MAX);
    if (*self->ca_file && lt_http_client_set_ca_file(client, self->ca_file)) {
        lt_http_client_destroy(&client);
        return lt_err_set(err, LT_ECONFIG, "cannot read --ca-file %s", self->ca_file), NULL;
    }
    return client;
}

void report_client_give(report_t *self, lt_http_client_t **client_p)
{
    pthread_mutex_lock(&self->pool_lock);
    if (*client_p && self->pool_count < REPORT_POOL_MAX) {
        self->pool[self->pool_count++] = *client_p;
        *client_p = NULL;
    }
    pthread_mutex_unlock(&self->pool_lock);
    lt_http_client_destroy(client_p);
}

//  ---------------------------------------------------------------------------
//  Lifecycle

static void s_fini(void **state_p);

//  Read and check the options, the token file and the URL before the
//  session starts, so that a misconfiguration stops the program at once.
static int s_init(lt_conn_t *conn, void **state_p, lt_err_t *err)
{
    report_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    self->conn = conn;
    pthread_mutex_init(&self->pool_lock, NULL);
    pthread_mutex_init(&self->stats_lock, NULL);
    *state_p = self;
    self->url = lt_conn_option(conn, "url");
    self->path = lt_conn_option(conn, "path");
    self->token_file = lt_conn_option(conn, "token-file");
    self->ca_file = lt_conn_option(conn, "ca-file");
    self->timeout_ms = (long) lt_conn_option_int(conn, "timeout-ms");
    self->connect_timeout_ms = (long) lt_conn_option_int(conn, "connect-timeout-ms");
    self->fact_timeout_ms = (long) lt_conn_option_int(conn, "fact-timeout-ms");
    char token[REPORT_TOKEN_MAX];
    int loaded = report_token_load(self->token_file, token, sizeof(token), err);
    OPENSSL_cleanse(token, sizeof(token));
    if (loaded)
        goto failed;
    lt_http_client_t *probe = report_client_take(self, err);
    if (!probe)
        goto failed;
    report_client_give(self, &probe);
    lt_log_info("event=report_config url=%s path=%s token_file=%s timeout_ms=%ld", self->url,
                self->path, self->token_file, self->timeout_ms);
    return 0;
failed:
    s_fini(state_p);
    return -1;
}

//  Add the connector's counters under "report".
static void s_stats(void *state, json_t *out)
{
    report_t *self = state;
    pthread_mutex_lock(&self->stats_lock);
    report_stats_t s = self->stats;
    pthread_mutex_unlock(&self->stats_lock);
    json_object_set_new(
        out, "report",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "accepted",
                  (json_int_t) s.accepted, "accepted_again", (json_int_t) s.accepted_again,
                  "facts", (json_int_t) s.facts, "retried", (json_int_t) s.retried, "failed",
                  (json_int_t) s.failed, "invalid", (json_int_t) s.invalid, "refused",
                  (json_int_t) s.refused, "token_refused", (json_int_t) s.token_refused,
                  "last_error", s.last_error, "last_error_at", (json_int_t) s.last_error_at));
}

//  Free everything.
static void s_fini(void **state_p)
{
    report_t *self = *state_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->pool_count; i++)
        lt_http_client_destroy(&self->pool[i]);
    pthread_mutex_destroy(&self->pool_lock);
    pthread_mutex_destroy(&self->stats_lock);
    free(self);
    *state_p = NULL;
}

static const lt_connector_ops_t s_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "report",
    .kind = "report",
    .summary = "client of the reporting system: submits indicator reports, publishes acceptances",
    .options = report_options,
    .init = s_init,
    .deliver = report_deliver,
    .stats = s_stats,
    .fini = s_fini,
};

int main(int argc, char *argv[])
{
    return lt_conn_main(&s_ops, argc, argv);
}
