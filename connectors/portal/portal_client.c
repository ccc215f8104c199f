/*  portal_client.c: deliver_many() of lthub-portal, the hub as a client
    of DVCQG's adapter (spec/peers.md B).

    Runs on the runtime's workers, several at once, each with the
    deliveries that were waiting for a worker; the broker never hands
    over two deliveries of the same lane (destination + MaHoSo) at a time,
    so a progress step never overtakes its dossier and an update never
    overtakes its record. One DVCQG session is shared by the workers; when
    DVCQG answers -2 the worker logs in again (once per session: a worker
    that finds a newer session than the one refused just uses it) and
    retries the call.

    Every message is marked SENDING in portal.db before its call, SENT once
    DVCQG accepted it, and UNSENT again when DVCQG answered that it took
    nothing (an error_code other than 0); a call that got no usable answer
    (timeout, cut connection, HTTP 5xx, garbled body) leaves it SENDING.
    The marks live in WAL with synchronous=NORMAL: they survive a crash of
    the process. A redelivery of a message marked SENT is not sent again; a
    dossier marked SENDING, or retried, is first looked up with TraCuuHoSo,
    and not sent again when DVCQG already holds exactly this record (when
    the lookup itself fails, the delivery waits for the next attempt rather
    than guess). A progress step has no lookup: one whose earlier
    call was cut short is sent again (logged), so DVCQG must take an
    identical step as the same one. Each
    record travels as the exact bytes the one-stop system sent, spliced
    into the call's data array.
*/
#include "portal.h"

#include "lt_dossier.h"
#include "lt_id.h"
#include "lt_json_scan.h"
#include "lt_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TRIES 4            //  calls per delivery (re-logins and -3 included)

//  One dossier_synced fact names every dossier of a call.
_Static_assert(PORTAL_BATCH_MAX <= LT_DOSSIER_FACT_MAX, "a call's dossiers fit one fact");

//  What one call to DVCQG came to.
typedef enum {
    S_OK = 0,        //  error_code "0"
    S_INVALID,       //  "-1": refused for good
    S_SESSION,       //  "-2": log in again
    S_EXISTS,        //  "-3": resend as an update
    S_TRANSIENT,     //  "-9", 5xx, timeouts, garbled answers
    S_REFUSED,       //  anything else final (other codes, 4xx)
    S_FOREIGN,       //  not the adapter's answer: a redirect, a 4xx without error_code
} s_outcome_t;

//  Take an idle client or make one; NULL with err.
static lt_http_client_t *s_take(portal_t *self, lt_err_t *err)
{
    lt_http_client_t *client = NULL;
    pthread_mutex_lock(&self->pool_lock);
    if (self->pool_count > 0)
        client = self->pool[--self->pool_count];
    pthread_mutex_unlock(&self->pool_lock);
    if (client)
        return client;
    client = lt_http_client_new(self->dvcqg_url);
    if (!client) {
        lt_err_set(err, LT_ENOMEM, "cannot create an HTTP client for %s", self->dvcqg_url);
        return NULL;
    }
    lt_http_client_set_timeout(client, self->timeout_ms);
    lt_http_client_set_connect_timeout(client, self->connect_timeout_ms);
    //  The largest answer: a TraCuuHoSo record, at most what a call may hold.
    lt_http_client_set_max_reply(client, self->max_body + PORTAL_REPLY_SLACK);
    if (*self->ca_file && lt_http_client_set_ca_file(client, self->ca_file)) {
        lt_http_client_destroy(&client);
        lt_err_set(err, LT_ECONFIG, "cannot read --ca-file %s", self->ca_file);
    }
    return client;
}

//  Give a client back to the pool (or destroy it).
static void s_give(portal_t *self, lt_http_client_t **client_p)
{
    pthread_mutex_lock(&self->pool_lock);
    if (*client_p && self->pool_count < PORTAL_POOL_MAX) {
        self->pool[self->pool_count++] = *client_p;
        *client_p = NULL;
    }
    pthread_mutex_unlock(&self->pool_lock);
    lt_http_client_destroy(client_p);
}

void portal_client_fini(portal_t *self)
{
    for (size_t i = 0; i < self->pool_count; i++)
        lt_http_client_destroy(&self->pool[i]);
    self->pool_count = 0;
}

//  Read an answer's error_code into code: a string as it is, or a JSON
//  integer written in decimal (peers that send 0 or -2 as numbers mean the
//  same codes); false when there is none.
static bool s_error_code(const json_t *answer, char *code, size_t size)
{
    const json_t *value = json_object_get(answer, "error_code");
    if (json_is_string(value))
        snprintf(code, size, "%s", json_string_value(value));
    else if (json_is_integer(value))
        snprintf(code, size, "%lld", (long long) json_integer_value(value));
    else
        return false;
    return true;
}

//  POST a JSON body to path and classify the answer; *reply_p gets the
//  parsed answer on S_OK and S_INVALID.. (caller decrefs), err the reason.
//  An adapter answer (error_code, string or number) is read whatever the
//  HTTP status, except that 5xx, 408 and 429 are transient whatever the
//  body says; an HTTP 401 without an adapter code asks for a new login.
static s_outcome_t s_call(portal_t *self, lt_http_client_t *client, const char *path,
                          const char *body, size_t size, json_t **reply_p, bool *definite,
                          lt_err_t *err)
{
    if (definite)
        *definite = false;
    lt_http_reply_t reply = {0};
    lt_err_t cerr;
    lt_err_clear(&cerr);
    lt_error_t rc = lt_http_client_post(client, path, NULL, 0, body, size, "application/json",
                                        &reply, &cerr);
    if (rc != LT_OK) {
        lt_err_set(err, rc, "DVCQG %s: %s", path, cerr.detail);
        lt_http_reply_free(&reply);
        return rc == LT_ECONFIG ? S_REFUSED : S_TRANSIENT;
    }
    json_error_t jerr;
    size_t bom = reply.body && reply.size >= 3 && memcmp(reply.body, "\xef\xbb\xbf", 3) == 0
                     ? 3
                     : 0;   //  a UTF-8 byte order mark, as some servers write
    json_t *answer = reply.body && reply.size > bom
                         ? json_loadb(reply.body + bom, reply.size - bom, 0, &jerr)
                         : NULL;
    long status = reply.status;
    //  Where a redirect points (not followed: a POST must not go elsewhere
    //  unseen), blanks for control characters, for the operator's reason.
    char moved[200] = "";
    if (*reply.location) {
        snprintf(moved, sizeof(moved), " (a redirect to %.160s, not followed)", reply.location);
        for (char *p = moved; *p; p++)
            if ((unsigned char) *p < 0x20 || *p == 0x7f)
                *p = ' ';
    }
    lt_http_reply_free(&reply);
    char code[32];
    bool has_code = s_error_code(answer, code, sizeof(code));
    const char *message = json_string_value(json_object_get(answer, "message"));
    if (!has_code || lt_http_status_transient(status) || status / 100 == 3) {
        //  A redirect (http to https, a maintenance page) or a 4xx without
        //  the adapter's error_code is not the adapter's answer but a proxy's
        //  or a gateway's, or a wrong --dvcqg-service-path: S_FOREIGN, of
        //  which each caller decides (a dossier waits; a lookup counts it
        //  as none offered; a login pauses as after a refusal).
        bool relogin = status == 401 && !has_code;
        bool transient = !relogin && (status == 200 || lt_http_status_transient(status));
        lt_err_set(err, transient ? LT_EUNAVAIL : LT_EPEER,
                   "DVCQG %s answered HTTP %ld%s%s%s%.300s", path, status, moved,
                   !has_code ? " with a body that is not an adapter answer" : "",
                   message ? ": " : "", message ? message : "");
        json_decref(answer);
        return relogin ? S_SESSION : transient ? S_TRANSIENT : S_FOREIGN;
    }
    s_outcome_t outcome = strcmp(code, "0") == 0    ? S_OK
                          : strcmp(code, "-1") == 0 ? S_INVALID
                          : strcmp(code, "-2") == 0 ? S_SESSION
                          : strcmp(code, "-3") == 0 ? S_EXISTS
                          : strcmp(code, "-9") == 0 ? S_TRANSIENT
                          : status == 401           ? S_SESSION
                                                    : S_REFUSED;
    if (outcome == S_OK && (status < 200 || status > 299)) {
        //  "0" under an error status: not a success anyone can rely on.
        lt_err_set(err, LT_EPEER, "DVCQG %s answered HTTP %ld with error_code 0", path, status);
        json_decref(answer);
        return S_REFUSED;
    }
    if (outcome != S_OK)
        lt_err_set(err, outcome == S_TRANSIENT ? LT_EUNAVAIL : LT_EPEER,
                   "DVCQG answered error_code %.16s%s: %.400s", code,
                   status == 200 ? "" : " with an HTTP error status", message ? message : "");
    *reply_p = answer;
    if (definite)
        *definite = true;   //  DVCQG said what became of the call
    return outcome;
}

//  Log in unless a session newer than `refused` exists; copies the session
//  into token. Returns the outcome (S_OK when a session is there).
static s_outcome_t s_login(portal_t *self, lt_http_client_t *client, uint64_t refused,
                           char *token, size_t token_size, uint64_t *generation, lt_err_t *err)
{
    pthread_mutex_lock(&self->login_lock);
    s_outcome_t outcome = S_OK;
    bool need = !self->dvcqg_token[0] || self->token_generation == refused;
    if (need && lt_clock_ms() < self->login_paused_until) {
        //  DVCQG refused the login a moment ago: do not ask again yet (an
        //  account locks after a few failed logins); the messages wait.
        lt_err_set(err, LT_EAUTH, "%s (next login in %lld s)", self->login_refusal,
                   (long long) ((self->login_paused_until - lt_clock_ms()) / 1000 + 1));
        outcome = S_TRANSIENT;
        need = false;
    }
    if (need) {
        json_t *body = json_pack("{s:s, s:s%}", "username", self->dvcqg_username, "password",
                                 self->dvcqg_password, self->dvcqg_password_size);
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        json_t *answer = NULL;
        outcome = text ? s_call(self, client, self->dvcqg_auth_path, text, strlen(text), &answer,
                                NULL, err)
                       : (lt_err_set(err, LT_ENOMEM, "out of memory"), S_TRANSIENT);
        if (text) {
            memset(text, 0, strlen(text));
            free(text);
        }
        const char *session = json_string_value(json_object_get(answer, "session"));
        if (outcome == S_OK && (!session || !*session || strlen(session) >= sizeof(self->dvcqg_token))) {
            lt_err_set(err, LT_EPEER, "DVCQG's login answer holds no usable session");
            outcome = S_TRANSIENT;
        }
        if (outcome == S_OK) {
            self->login_paused_until = 0;
            snprintf(self->dvcqg_token, sizeof(self->dvcqg_token), "%s", session);
            self->token_generation++;
            lt_log_info("event=dvcqg_login generation=%llu",
                        (unsigned long long) self->token_generation);
        }
        else if (outcome != S_TRANSIENT) {
            //  A refused login heals only when an operator fixes the
            //  credentials: keep the messages waiting, not dead.
            char detail[sizeof(err->detail)];
            snprintf(detail, sizeof(detail), "%s", err->detail);
            lt_err_set(err, LT_EAUTH, "DVCQG refused the hub's login (check --dvcqg-username "
                       "and --dvcqg-password-file): %s", detail);
            snprintf(self->login_refusal, sizeof(self->login_refusal), "%s", err->detail);
            self->login_paused_until = lt_clock_ms() + self->login_pause_ms;
            self->dvcqg_token[0] = 0;   //  the old session is no use either
            lt_log_warning("event=dvcqg_login_refused pause_s=%lld reason=\"%s\"",
                           (long long) (self->login_pause_ms / 1000), detail);
            outcome = S_TRANSIENT;
        }
        json_decref(answer);
    }
    snprintf(token, token_size, "%s", self->dvcqg_token);
    *generation = self->token_generation;
    pthread_mutex_unlock(&self->login_lock);
    return outcome;
}

//  Build a service call body around raw record bytes (NULL: no data).
static char *s_body(const char *token, const char *agency, const char *service,
                    const char *updating, const char *mahoso, const uint8_t *record, size_t size,
                    size_t *len_p)
{
    json_t *head = json_pack("{s:s, s:s, s:s}", "session", token, "madonvi", agency, "service",
                             service);
    if (head && updating)
        json_object_set_new(head, "isUpdating", json_string(updating));
    if (head && mahoso)
        json_object_set_new(head, "mahoso", json_string(mahoso));
    char *text = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(head);
    if (!text || !record) {
        if (text)
            *len_p = strlen(text);
        return text;
    }
    size_t head_len = strlen(text) - 1;   //  without the closing brace
    size_t len = head_len + strlen(",\"data\":[") + size + 2;
    char *body = malloc(len + 1);
    if (body) {
        memcpy(body, text, head_len);
        memcpy(body + head_len, ",\"data\":[", 9);
        memcpy(body + head_len + 9, record, size);
        memcpy(body + head_len + 9 + size, "]}", 3);
        *len_p = len;
    }
    free(text);
    return body;
}

//  Note a failure as the last error.
static void s_note(portal_t *self, lt_delivery_result_t result, const char *detail)
{
    pthread_mutex_lock(&self->stats_lock);
    if (result == LT_DELIVERY_RETRY)
        self->stats.retried++;
    else
        self->stats.failed++;
    snprintf(self->stats.last_error, sizeof(self->stats.last_error), "%s", detail);
    self->stats.last_error_at = lt_time_ms();
    pthread_mutex_unlock(&self->stats_lock);
}

//  Ask DVCQG (TraCuuHoSo) whether it already holds exactly this record
//  (data the record, or an array of it alone): 1 yes, 0 no (DVCQG does
//  not know it, or refuses the lookup for good: an adapter without
//  TraCuuHoSo), -1 unknown for now (no answer, a transient error; err
//  filled), so that a record is never sent twice on a guess.
static int s_already_there(portal_t *self, lt_http_client_t *client, const lt_delivery_t *d,
                           lt_err_t *err)
{
    json_error_t jerr;
    json_t *record = json_loadb((const char *) d->payload, d->size, 0, &jerr);
    if (!record)
        return 0;
    const lt_envelope_t *env = d->envelope;
    char token[sizeof(self->dvcqg_token)];
    uint64_t generation = 0, refused = UINT64_MAX;
    int there = -1;
    for (int tries = 0; tries < 2 && there < 0; tries++) {
        s_outcome_t outcome = s_login(self, client, refused, token, sizeof(token), &generation,
                                      err);
        if (outcome != S_OK)
            break;
        size_t len = 0;
        char *body = s_body(token, lt_envelope_sender(env), "TraCuuHoSo", NULL,
                            lt_envelope_key(env), NULL, 0, &len);
        json_t *answer = NULL;
        outcome = body ? s_call(self, client, self->dvcqg_service_path, body, len, &answer, NULL,
                                err)
                       : (lt_err_set(err, LT_ENOMEM, "out of memory"), S_TRANSIENT);
        free(body);
        json_t *data = json_object_get(answer, "data");
        if (json_is_array(data) && json_array_size(data) == 1)
            data = json_array_get(data, 0);   //  a peer that answers a list of one
        if (outcome == S_OK)
            there = json_equal(data, record) ? 1 : 0;
        else if (outcome == S_INVALID || outcome == S_EXISTS || outcome == S_REFUSED
                 || outcome == S_FOREIGN)
            there = 0;   //  DVCQG does not know the dossier, or offers no lookup
        else if (outcome == S_SESSION) {
            portal_count(self, &self->stats.relogins);
            refused = generation;   //  s_login logs in again unless another worker did
        }
        json_decref(answer);
    }
    json_decref(record);
    return there;
}

//  What the broker's answer to a call's fact completes.
typedef struct {
    portal_t *self;   //  the connector
    size_t count;     //  dossiers the fact names
} s_facts_t;

//  The broker's answer to the fact of one DVCQG call (session thread).
static void s_facts_done(void *arg, const lt_publish_result_t *result)
{
    s_facts_t *facts = arg;
    portal_t *self = facts->self;
    if (result->code == LT_OK) {
        pthread_mutex_lock(&self->stats_lock);
        self->stats.facts++;
        self->stats.synced += facts->count;   //  the call's deliveries are DONE now
        pthread_mutex_unlock(&self->stats_lock);
    }
    else
        lt_log_warning("event=fact_rejected code=%s dossiers=%zu reason=\"%s\"",
                       lt_error_name(result->code), facts->count, result->reason);
    free(facts);
}

//  Publish one fact naming every dossier of a DVCQG call that it accepted
//  (all of one agency; one dossier gives the one-dossier shape); the DONE
//  of each of their deliveries waits for the broker's ACCEPTED (RETRY with
//  its reason when it is refused).
static int s_fact_many(portal_t *self, const lt_delivery_t *const *ds, size_t count,
                       lt_err_t *err)
{
    const char *keys[PORTAL_BATCH_MAX], *revs[PORTAL_BATCH_MAX];
    for (size_t i = 0; i < count; i++) {
        keys[i] = lt_envelope_key(ds[i]->envelope);
        revs[i] = lt_envelope_revision(ds[i]->envelope);
    }
    char *payload = NULL;
    size_t size = 0;
    lt_envelope_t *fact = lt_dossier_fact_many(keys, revs, count,
                                               lt_envelope_sender(ds[0]->envelope), &payload,
                                               &size);
    s_facts_t *facts = fact ? malloc(sizeof(*facts)) : NULL;
    if (!facts) {
        lt_envelope_destroy(&fact);
        free(payload);
        return lt_err_set(err, LT_ENOMEM, "out of memory building the dossier_synced fact"), -1;
    }
    facts->self = self;
    facts->count = count;
    int rc = lt_conn_publish_for_many(self->conn, ds, count, &fact, payload, size, s_facts_done,
                                      facts);
    lt_envelope_destroy(&fact);
    free(payload);
    if (rc)
        return lt_err_set(err, LT_EUNAVAIL, "DVCQG accepted the dossiers but their "
                          "dossier_synced fact cannot be published: the connector is stopping"),
               -1;
    return 0;
}

//  Send one message alone (the loop of -2 and -3); returns the outcome;
//  *updating_p tells whether it went as an update. refused is a DVCQG
//  session already answered -2 (0: none), which is not used again.
static s_outcome_t s_send_one(portal_t *self, lt_http_client_t *client, const lt_delivery_t *d,
                              bool dossier, bool *updating_p, uint64_t refused, bool *definite,
                              lt_err_t *err)
{
    *definite = false;
    const lt_envelope_t *env = d->envelope;
    s_outcome_t outcome = S_TRANSIENT;
    uint64_t generation = 0;
    for (int tries = 0; tries < S_TRIES; tries++) {
        char token[sizeof(self->dvcqg_token)];
        outcome = s_login(self, client, refused, token, sizeof(token), &generation, err);
        if (outcome != S_OK)
            break;
        size_t len = 0;
        char *body = s_body(token, lt_envelope_sender(env),
                            dossier ? "DongBoHoSoMC" : "CapNhatTienDoHoSoMC",
                            dossier ? (*updating_p ? "True" : "False") : NULL, NULL, d->payload,
                            d->size, &len);
        if (!body) {
            lt_err_set(err, LT_ENOMEM, "out of memory");
            outcome = S_TRANSIENT;
            break;
        }
        json_t *answer = NULL;
        outcome = s_call(self, client, self->dvcqg_service_path, body, len, &answer, definite,
                         err);
        free(body);
        json_decref(answer);
        //  Nothing was said of the record: it waits and is tried again, as
        //  after a refused login, rather than going to dead letters.
        if (outcome == S_FOREIGN)
            outcome = S_TRANSIENT;
        if (outcome == S_SESSION) {
            portal_count(self, &self->stats.relogins);
            refused = generation;   //  s_login logs in again unless another worker did
            continue;
        }
        if (outcome == S_EXISTS && dossier && !*updating_p) {
            portal_count(self, &self->stats.resent_as_update);
            *updating_p = true;
            continue;
        }
        break;
    }
    return outcome;
}

//  ---------------------------------------------------------------------------
//  Batches: the runtime hands deliver_many() every delivery waiting for a
//  worker (up to --batch, never two of one lane); those of the same kind,
//  update flag and agency share one call. Items of one call come from
//  different lanes, so their order within the call does not matter, and
//  calls of several workers in flight at once never reorder a lane. A
//  batch answered -2 is sent again once after a new login; a batch DVCQG
//  refuses for another reason than a transient one is sent again item by
//  item, so that -1 and -3 name one record. A lone delivery goes alone
//  from the start: its -1 is final, its -3 turns it into an update, and
//  no call is made twice the same.

//  One delivery of a deliver_many() call.
typedef struct {
    const lt_delivery_t *d;      //  the delivery
    lt_err_t *err;               //  its reason, for RETRY and FAIL
    bool dossier;                //  dossier (else progress step)
    bool updating;               //  sent as an update
    bool done;                   //  outcome known (no call needed)
    bool batch;                  //  may share a call
    bool covered;                //  named by a dossier_synced fact published
    bool foreign;                //  a step of another agency's dossier: not sent
    uint64_t refused;            //  DVCQG session its batch got -2 with (0: none)
    s_outcome_t outcome;         //  what became of it
} s_item_t;

//  True when two items may share a call.
static bool s_same_call(const s_item_t *a, const s_item_t *b)
{
    return a->dossier == b->dossier && a->updating == b->updating
           && strcmp(lt_envelope_sender(a->d->envelope), lt_envelope_sender(b->d->envelope)) == 0;
}

//  Send one batch in one call and hand its outcome to every item of it;
//  items DVCQG refused for another reason than a transient one are left
//  not done, to be sent alone.
static void s_send_batch(portal_t *self, lt_http_client_t *client, s_item_t **batch,
                         size_t count)
{
    const s_item_t *head = batch[0];
    const char *ids[PORTAL_BATCH_MAX];
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        ids[i] = lt_envelope_id(batch[i]->d->envelope);
        bytes += batch[i]->d->size + 1;
    }
    lt_err_t err;
    lt_err_clear(&err);
    s_outcome_t outcome = S_TRANSIENT;
    uint8_t *records = malloc(bytes + 1);
    char token[sizeof(self->dvcqg_token)];
    uint64_t generation = 0, refused = 0;
    if (!records)
        lt_err_set(&err, LT_ENOMEM, "out of memory");
    else if (lt_portal_store_mark_many(self->store, ids, count, LT_PORTAL_SENDING, &err) == 0) {
        size_t used = 0;
        for (size_t i = 0; i < count; i++) {
            if (i)
                records[used++] = ',';
            memcpy(records + used, batch[i]->d->payload, batch[i]->d->size);
            used += batch[i]->d->size;
        }
        bool definite = false;
        //  A -2 is about the session, not the records: a new login, then
        //  the same records once more.
        for (int tries = 0; tries < 2; tries++) {
            definite = false;
            outcome = s_login(self, client, refused, token, sizeof(token), &generation, &err);
            if (outcome != S_OK)
                break;
            size_t len = 0;
            char *body = s_body(token, lt_envelope_sender(head->d->envelope),
                                head->dossier ? "DongBoHoSoMC" : "CapNhatTienDoHoSoMC",
                                head->dossier ? (head->updating ? "True" : "False") : NULL, NULL,
                                records, used, &len);
            json_t *answer = NULL;
            outcome = body ? s_call(self, client, self->dvcqg_service_path, body, len, &answer,
                                    &definite, &err)
                           : (lt_err_set(&err, LT_ENOMEM, "out of memory"), S_TRANSIENT);
            free(body);
            json_decref(answer);
            if (outcome == S_FOREIGN)
                outcome = S_TRANSIENT;   //  the records wait, as in s_send_one
            if (outcome != S_SESSION)
                break;
            portal_count(self, &self->stats.relogins);
            refused = generation;   //  s_login logs in again unless another worker did
        }
        lt_err_t merr;
        //  SENT once accepted; UNSENT again when DVCQG said it took nothing.
        if ((outcome == S_OK || definite)
            && lt_portal_store_mark_many(self->store, ids, count,
                                         outcome == S_OK ? LT_PORTAL_SENT : LT_PORTAL_UNSENT,
                                         &merr))
            lt_log_warning("event=store_error op=mark reason=\"%s\"", merr.detail);
    }
    free(records);
    pthread_mutex_lock(&self->stats_lock);
    self->stats.batches++;
    self->stats.batched += count;
    pthread_mutex_unlock(&self->stats_lock);
    bool alone = outcome != S_OK && outcome != S_TRANSIENT;
    for (size_t i = 0; i < count; i++) {
        batch[i]->batch = false;
        batch[i]->refused = outcome == S_SESSION ? refused : 0;
        if (alone)
            continue;
        batch[i]->done = true;
        batch[i]->outcome = outcome;
        if (outcome != S_OK)
            lt_err_set(batch[i]->err, LT_EUNAVAIL, "%s", err.detail);
    }
}

//  True for JSON whitespace.
static bool s_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

//  Check one delivery and decide how it goes: done (refused, or DVCQG
//  holds it already), in a batch, or alone. mark is its delivery mark.
static void s_prepare(portal_t *self, lt_http_client_t *client, s_item_t *item,
                      lt_portal_mark_t mark)
{
    const lt_delivery_t *d = item->d;
    const lt_envelope_t *env = d->envelope;
    lt_kind_t kind = lt_envelope_kind(env);
    item->outcome = S_TRANSIENT;
    if (kind != LT_KIND_DOSSIER && kind != LT_KIND_PROGRESS) {
        lt_err_set(item->err, LT_EROUTE, "lthub-portal takes dossiers and progress steps, not "
                   "%s messages", lt_kind_name(kind));
        item->outcome = S_INVALID;
        item->done = true;
        return;
    }
    //  The payload was checked when it came in; a record that is not a
    //  JSON object here was published by something else.
    size_t head = 0, tail = d->size;
    while (head < tail && s_space(d->payload[head]))
        head++;
    while (tail > head && s_space(d->payload[tail - 1]))
        tail--;
    if (tail - head < 2 || d->payload[head] != '{' || d->payload[tail - 1] != '}') {
        lt_err_set(item->err, LT_EINVAL, "the payload is not a JSON record");
        item->outcome = S_INVALID;
        item->done = true;
        return;
    }
    item->dossier = kind == LT_KIND_DOSSIER;
    item->updating = strcmp(lt_envelope_btype(env), "update") == 0;
    //  A step taken before its dossier was seen waited for it at the
    //  broker; when the dossier came for another agency, the step is not
    //  that agency's to send. It is dropped (s_finish logs and counts it),
    //  not failed: a dead letter would hold back the dossier's own lane.
    int foreign = item->dossier ? 0
                                : lt_portal_store_foreign(self->store, lt_envelope_key(env),
                                                          lt_envelope_sender(env), item->err);
    if (foreign) {
        item->foreign = foreign > 0;
        item->outcome = foreign > 0 ? S_OK : S_TRANSIENT;   //  a store error: ask again later
        item->done = true;
        return;
    }
    //  A message marked SENT reached DVCQG before a crash; one marked
    //  SENDING (or retried) may have: a dossier DVCQG already holds as is
    //  is not sent again.
    int there = mark == LT_PORTAL_SENT ? 1
                : item->dossier && (mark == LT_PORTAL_SENDING || d->attempt > 1)
                    ? s_already_there(self, client, d, item->err)
                    : 0;
    if (there < 0) {
        item->done = true;   //  outcome stays S_TRANSIENT: ask again later
        return;
    }
    if (there) {
        item->outcome = S_OK;
        item->done = true;
        portal_count(self, &self->stats.already_there);
        if (mark != LT_PORTAL_SENT
            && lt_portal_store_mark(self->store, lt_envelope_id(env), LT_PORTAL_SENT, item->err))
            lt_log_warning("event=store_error op=mark reason=\"%s\"", item->err->detail);
        return;
    }
    if (mark == LT_PORTAL_SENDING && !item->dossier)
        lt_log_warning("event=resend_unsure kind=%s key=\"%s\" msgid=%s reason=\"an earlier "
                       "call was cut short; DVCQG may receive this step twice\"",
                       lt_kind_name(kind), lt_envelope_key(env), lt_envelope_id(env));
    //  A record sent as new (isUpdating "False") although the hub relayed
    //  an earlier revision of its dossier is answered -3: it goes alone, so
    //  that it does not turn a batch of new dossiers into single calls.
    bool exists = item->dossier && !item->updating
                  && strtoull(lt_envelope_revision(env), NULL, 10) > 1;
    item->batch = self->max_batch > 1 && d->attempt == 1 && !exists;
}

//  Send one item alone (the loop of -2 and -3), with its marks.
static void s_send_alone(portal_t *self, lt_http_client_t *client, s_item_t *item)
{
    const lt_delivery_t *d = item->d;
    const char *id = lt_envelope_id(d->envelope);
    item->done = true;
    item->outcome = S_TRANSIENT;
    if (lt_portal_store_mark(self->store, id, LT_PORTAL_SENDING, item->err))
        return;
    bool definite = false;
    item->outcome = s_send_one(self, client, d, item->dossier, &item->updating, item->refused,
                               &definite, item->err);
    lt_err_t merr;
    if ((item->outcome == S_OK || definite)
        && lt_portal_store_mark(self->store, id,
                                item->outcome == S_OK ? LT_PORTAL_SENT : LT_PORTAL_UNSENT,
                                &merr))
        lt_log_warning("event=store_error op=mark reason=\"%s\"", merr.detail);
}

//  The answer for one item once its outcome is known: publishes the fact
//  of a dossier sent alone, counts, logs.
static lt_delivery_result_t s_finish(portal_t *self, s_item_t *item)
{
    const lt_delivery_t *d = item->d;
    const lt_envelope_t *env = d->envelope;
    lt_kind_t kind = lt_envelope_kind(env);
    lt_delivery_result_t result = item->outcome == S_OK          ? LT_DELIVERY_OK
                                  : item->outcome == S_TRANSIENT ? LT_DELIVERY_RETRY
                                  : item->outcome == S_SESSION   ? LT_DELIVERY_RETRY
                                                                 : LT_DELIVERY_FAIL;
    if (item->foreign) {
        portal_count(self, &self->stats.foreign_steps);
        lt_log_warning("event=step_dropped key=\"%s\" madonvi=%s msgid=%s reason=\"the dossier is "
                       "kept for another agency\"", lt_envelope_key(env), lt_envelope_sender(env),
                       lt_envelope_id(env));
        return result;
    }
    if (result == LT_DELIVERY_OK) {
        if (!item->dossier)
            portal_count(self, &self->stats.steps_out);   //  a dossier counts with its fact
        lt_log_debug("event=synced kind=%s key=\"%s\" rev=%s update=%s attempt=%u",
                     lt_kind_name(kind), lt_envelope_key(env), lt_envelope_revision(env),
                     item->updating ? "yes" : "no", d->attempt);
        return result;
    }
    //  DVCQG's message, cut to its share of the reason, may end in half a
    //  letter: the reason goes to the counters and the dead letter as JSON.
    lt_json_utf8_scrub(item->err->detail);
    s_note(self, result, item->err->detail);
    if (result == LT_DELIVERY_RETRY && d->attempt > 1 && d->attempt % 10 != 0)
        lt_log_debug("event=send_retry key=\"%s\" attempt=%u reason=\"%s\"", lt_envelope_key(env),
                     d->attempt, item->err->detail);
    else
        lt_log(result == LT_DELIVERY_RETRY ? LT_LOG_WARNING : LT_LOG_ERROR,
               "event=%s kind=%s key=\"%s\" attempt=%u reason=\"%s\"",
               result == LT_DELIVERY_RETRY ? "send_retry" : "send_failed", lt_kind_name(kind),
               lt_envelope_key(env), d->attempt, item->err->detail);
    return result;
}

void portal_deliver_many(void *state, const lt_delivery_t *const *ds, size_t count,
                         lt_delivery_result_t *results, lt_err_t *errs)
{
    portal_t *self = state;
    s_item_t *items = calloc(count, sizeof(*items));
    const char **ids = calloc(count, sizeof(*ids));
    lt_portal_mark_t *marks = calloc(count, sizeof(*marks));
    s_item_t **batch = calloc(count, sizeof(*batch));
    lt_http_client_t *client = items && ids && marks && batch ? s_take(self, &errs[0]) : NULL;
    if (!client) {
        if (!errs[0].detail[0])
            lt_err_set(&errs[0], LT_ENOMEM, "out of memory");
        for (size_t i = 0; i < count; i++) {
            if (i > 0)
                errs[i] = errs[0];
            results[i] = LT_DELIVERY_RETRY;
            s_note(self, LT_DELIVERY_RETRY, errs[i].detail);
        }
        free(items);
        free(ids);
        free(marks);
        free(batch);
        return;
    }
    for (size_t i = 0; i < count; i++)
        ids[i] = lt_envelope_id(ds[i]->envelope);
    lt_portal_store_marked_many(self->store, ids, count, marks);
    for (size_t i = 0; i < count; i++) {
        items[i] = (s_item_t){.d = ds[i], .err = &errs[i]};
        s_prepare(self, client, &items[i], marks[i]);
    }
    //  The batches, each led by the first item not yet sent.
    for (size_t i = 0; i < count; i++) {
        size_t n = 0;
        for (size_t j = i; j < count && n < self->max_batch && items[i].batch; j++)
            if (items[j].batch && s_same_call(&items[j], &items[i]))
                batch[n++] = &items[j];
        if (n > 1)
            s_send_batch(self, client, batch, n);
        else if (n == 1)
            items[i].batch = false;   //  alone: s_send_alone

    }
    for (size_t i = 0; i < count; i++)
        if (!items[i].done)
            s_send_alone(self, client, &items[i]);
    s_give(self, &client);
    //  One dossier_synced fact per agency names every dossier DVCQG
    //  accepted in these calls (a dossier it held already included),
    //  published before any of their deliveries returns: each DONE waits
    //  for the broker's ACCEPTED.
    for (size_t i = 0; i < count; i++) {
        if (!items[i].dossier || items[i].outcome != S_OK || items[i].covered)
            continue;
        size_t n = 0;
        const char *agency = lt_envelope_sender(items[i].d->envelope);
        for (size_t j = i; j < count && n < PORTAL_BATCH_MAX; j++)
            if (items[j].dossier && items[j].outcome == S_OK && !items[j].covered
                && strcmp(lt_envelope_sender(items[j].d->envelope), agency) == 0) {
                items[j].covered = true;
                batch[n++] = &items[j];
            }
        const lt_delivery_t *facts[PORTAL_BATCH_MAX];
        for (size_t j = 0; j < n; j++)
            facts[j] = batch[j]->d;
        lt_err_t err;
        if (s_fact_many(self, facts, n, &err))
            for (size_t j = 0; j < n; j++) {
                batch[j]->outcome = S_TRANSIENT;   //  DVCQG holds it (SENT): the retry publishes it
                *batch[j]->err = err;
            }
    }
    for (size_t i = 0; i < count; i++)
        results[i] = s_finish(self, &items[i]);
    free(items);
    free(ids);
    free(marks);
    free(batch);
}
