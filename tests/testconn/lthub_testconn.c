/*  lthub-testconn: a connector for the broker's tests.

    As a publisher (--count N) it publishes N messages (--kind, --btype,
    --from, --replaces; a document "new" from 000.00.12.H26 by default) to
    --to (default 000.00.00.G22), waits for each ACCEPTED and writes
    "seq msgid key" per accepted message to --record, then exits. With
    --file A.edxml,B.edxml it publishes those edXML packages instead, in
    order, each as a document or status whose envelope is filled from the
    package (lt_edxml_fill_envelope), and exits; a NAME.dossier.json file
    is published as a dossier record (lt_dossier_fill_envelope). With
    --script FILE it publishes the messages a script describes (any kind,
    any envelope: s_script_line) and exits. As a sink
    it takes deliveries: a key containing --retry-match is answered RETRY, one
    containing --fail-match FAIL, others are appended to --record as
    "msgid key" (fsynced, so the record is the receiver's durable view) after
    --delay-ms; for a key containing --attach-match it first publishes a
    message of --attach-kind that the DONE waits for (lt_conn_publish_for);
    with --attach-group N, N such deliveries in progress at once share one
    dossier_synced fact naming them all (lt_conn_publish_for_many; with
    --attach-bad 1 a fact the broker refuses).
    Tests kill it, restart it and read the records. A message
    id already in the record is confirmed and not recorded again (the
    receiver's own deduplication, across restarts). The sink's own counters
    (taken, recorded, refused, failed, the last FAIL's reason) go to lthubd
    as a connector's do.
*/
#include "lt_connector.h"
#include "lt_digest.h"
#include "lt_dossier.h"
#include "lt_edxml.h"
#include "lt_file.h"
#include "lt_id.h"
#include "lt_log.h"

#include <assert.h>
#include <czmq.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_GROUP_MAX 64           //  most deliveries sharing one fact (--attach-group)
#define S_GROUP_WAIT_MS 3000     //  a group not filled by then: its deliveries RETRY

typedef struct {
    lt_conn_t *conn;            //  runtime
    int record_fd;              //  record file, -1 when none
    long delay_ms;              //  sink: wait before answering
    long count;                 //  publisher: messages to publish
    long size;                  //  publisher: payload bytes
    char prefix[64];            //  publisher: key prefix
    char to[64];                //  publisher: recipient
    char from[64];              //  publisher: sender agency
    char btype[32];             //  publisher: business type
    char replaces[128];         //  publisher: DocumentId a replacement replaces
    lt_kind_t kind;             //  publisher: document or status
    char retry_match[64];       //  sink: answer RETRY for these keys
    char retry_btype[32];       //  sink: answer RETRY for this business type...
    long retry_times;           //  ...while the attempt is at most this
    char fail_match[64];        //  sink: answer FAIL for these keys
    char attach_match[64];      //  sink: publish a message these deliveries wait for
    lt_kind_t attach_kind;      //  ...of this kind (fact, or one the broker refuses)
    long attach_group;          //  sink: deliveries sharing one fact (1: each its own)
    bool attach_bad;            //  sink: make that shared fact one the broker refuses
    pthread_mutex_t group_lock; //  the group being filled
    pthread_cond_t group_cond;  //  signalled when a group's fact is queued
    const lt_delivery_t *group[S_GROUP_MAX];   //  deliveries waiting in the group
    long group_count;           //  how many
    uint64_t group_gen;         //  groups published so far
    int group_rc[S_GROUP_MAX];  //  outcome of publishing group g, at g % S_GROUP_MAX
    bool check_digest;          //  sink: FAIL a payload that does not match its SHA-256
    char *files;                //  publisher: edXML files, comma-separated, or NULL
    char *script;               //  publisher: message script file, or NULL
    pthread_t thread;           //  publisher thread
    bool publishing;            //  thread started
    pthread_mutex_t lock;       //  record file writes
    zhashx_t *received;         //  sink: message ids in the record (its durable view)
    atomic_llong taken;         //  sink: deliveries answered DONE
    atomic_llong recorded;      //  sink: messages appended to the record (first copies)
    atomic_llong refused;       //  sink: deliveries answered RETRY
    atomic_llong failed;        //  sink: deliveries answered FAIL
    char last_error[160];       //  sink: reason of the last FAIL, under lock
    int64_t last_error_at;      //  sink: when, Unix ms, under lock
} s_state_t;

static const lt_option_t s_options[] = {
    LT_OPT_STR("record", "", "file to append what was accepted or delivered"),
    LT_OPT_STR("delay-ms", "0", "sink: wait this long in each delivery"),
    LT_OPT_STR("count", "0", "publish this many messages, then exit"),
    LT_OPT_STR("size", "256", "payload bytes of each published message"),
    LT_OPT_STR("prefix", "TEST", "business key prefix of published messages"),
    LT_OPT_STR("to", "000.00.00.G22", "recipient agency code of published messages"),
    LT_OPT_STR("from", "000.00.12.H26", "sender agency code of published messages"),
    LT_OPT_STR("btype", "new", "business type of published messages (new, revocation, 03, ...)"),
    LT_OPT_STR("kind", "document", "kind of published messages: document or status"),
    LT_OPT_STR("replaces", "", "published replacements replace this DocumentId"),
    LT_OPT_STR("retry-match", "", "sink: answer RETRY to keys containing this"),
    LT_OPT_STR("fail-match", "", "sink: answer FAIL to keys containing this"),
    LT_OPT_STR("attach-match", "", "sink: for keys containing this, publish a message the DONE waits for"),
    LT_OPT_STR("attach-kind", "fact", "sink: kind of that message (fact, or dossier with no route)"),
    LT_OPT_STR("attach-group", "1", "sink: this many attached deliveries share one fact (up to 64)"),
    LT_OPT_STR("attach-bad", "0", "sink: 1 makes that shared fact one the broker refuses"),
    LT_OPT_STR("check-digest", "0", "sink: 1 answers FAIL to a payload whose SHA-256 is not the envelope's"),
    LT_OPT_STR("retry-btype", "", "sink: answer RETRY to this business type (new, 03, ...)"),
    LT_OPT_STR("retry-times", "0", "sink: ... for the first N attempts"),
    LT_OPT_STR("file", "", "publish these edXML files (comma-separated, in order), then exit"),
    LT_OPT_STR("script", "", "publish the messages of this file (one per line, see s_script_line), then exit"),
    LT_OPT_END,
};

static void s_record(s_state_t *self, const char *line)
{
    if (self->record_fd < 0)
        return;
    pthread_mutex_lock(&self->lock);
    ssize_t rc = write(self->record_fd, line, strlen(line));
    (void) rc;
    fdatasync(self->record_fd);
    pthread_mutex_unlock(&self->lock);
}

//  Sink: the message ids the record file already holds, so that a message
//  redelivered after a crash (its DONE lost with the process) is confirmed
//  without being recorded twice, as a real receiving system deduplicates on
//  the message id in its own store (lthub-dms's mailbox does).
static zhashx_t *s_received_load(const char *path)
{
    zhashx_t *ids = zhashx_new();
    assert(ids);
    FILE *file = fopen(path, "r");
    char line[2048];
    while (file && fgets(line, sizeof(line), file)) {
        char id[64] = "";
        if (sscanf(line, "%63s", id) == 1 && lt_id_valid(id))
            zhashx_insert(ids, id, (void *) 1);
    }
    if (file)
        fclose(file);
    return ids;
}

static int s_init(lt_conn_t *conn, void **state_p, lt_err_t *err)
{
    s_state_t *self = calloc(1, sizeof(*self));
    self->conn = conn;
    self->record_fd = -1;
    pthread_mutex_init(&self->lock, NULL);
    const char *record = lt_conn_option(conn, "record");
    if (*record) {
        self->record_fd = open(record, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (self->record_fd < 0) {
            free(self);
            return lt_err_set(err, LT_EIO, "cannot open --record %s", record), -1;
        }
        self->received = s_received_load(record);
    }
    self->delay_ms = strtol(lt_conn_option(conn, "delay-ms"), NULL, 10);
    self->count = strtol(lt_conn_option(conn, "count"), NULL, 10);
    self->size = strtol(lt_conn_option(conn, "size"), NULL, 10);
    snprintf(self->prefix, sizeof(self->prefix), "%s", lt_conn_option(conn, "prefix"));
    snprintf(self->to, sizeof(self->to), "%s", lt_conn_option(conn, "to"));
    snprintf(self->from, sizeof(self->from), "%s", lt_conn_option(conn, "from"));
    snprintf(self->btype, sizeof(self->btype), "%s", lt_conn_option(conn, "btype"));
    snprintf(self->replaces, sizeof(self->replaces), "%s", lt_conn_option(conn, "replaces"));
    self->kind = strcmp(lt_conn_option(conn, "kind"), "status") == 0 ? LT_KIND_STATUS
                                                                      : LT_KIND_DOCUMENT;
    snprintf(self->retry_btype, sizeof(self->retry_btype), "%s",
             lt_conn_option(conn, "retry-btype"));
    self->retry_times = strtol(lt_conn_option(conn, "retry-times"), NULL, 10);
    snprintf(self->retry_match, sizeof(self->retry_match), "%s",
             lt_conn_option(conn, "retry-match"));
    snprintf(self->fail_match, sizeof(self->fail_match), "%s",
             lt_conn_option(conn, "fail-match"));
    snprintf(self->attach_match, sizeof(self->attach_match), "%s",
             lt_conn_option(conn, "attach-match"));
    self->attach_kind = strcmp(lt_conn_option(conn, "attach-kind"), "dossier") == 0
                            ? LT_KIND_DOSSIER
                            : LT_KIND_FACT;
    self->check_digest = strcmp(lt_conn_option(conn, "check-digest"), "1") == 0;
    self->attach_group = strtol(lt_conn_option(conn, "attach-group"), NULL, 10);
    if (self->attach_group < 1 || self->attach_group > S_GROUP_MAX)
        self->attach_group = 1;
    self->attach_bad = strcmp(lt_conn_option(conn, "attach-bad"), "1") == 0;
    pthread_mutex_init(&self->group_lock, NULL);
    pthread_cond_init(&self->group_cond, NULL);
    const char *files = lt_conn_option(conn, "file");
    self->files = *files ? strdup(files) : NULL;
    const char *script = lt_conn_option(conn, "script");
    self->script = *script ? strdup(script) : NULL;
    *state_p = self;
    return 0;
}

//  Publish one dossier record (a .dossier.json file, sent as its exact
//  bytes, sender 000.00.12.H26, revision 1) until ACCEPTED (or refused).
static void s_publish_dossier(s_state_t *self, long seq, const char *path)
{
    lt_err_t err;
    size_t size = 0;
    char *bytes = lt_file_read(path, 16u * 1024 * 1024, &size, &err);
    lt_json_scan_t *scan = lt_json_scan_new();
    lt_json_t record = {0};
    bool parsed = bytes && scan && lt_json_scan_check(scan, bytes, size, &record, &err) == 0;
    char line[1400], revision[80] = "1-", digest[LT_SHA256_HEX], key[LT_DOSSIER_MAX_KEY + 1] = "";
    if (parsed && lt_json_type(lt_json_get(record, "MaHoSo")) == LT_JSON_STRING)
        lt_json_text(lt_json_get(record, "MaHoSo"), key, sizeof(key));
    lt_publish_result_t result = {.code = LT_EINVAL};
    snprintf(result.reason, sizeof(result.reason), "not a dossier record: %s", path);
    if (*key && lt_dossier_check(record, 0, &err) == 0
        && lt_dossier_digest(scan, record, digest) == 0) {
        snprintf(revision + 2, sizeof(revision) - 2, "%s", digest);
        for (int tries = 0; tries < 100; tries++) {
            lt_envelope_t *env = lt_envelope_new();
            lt_dossier_fill_envelope(env, record, revision, "000.00.12.H26", false, bytes, size,
                                     &err);
            if (lt_conn_publish(self->conn, &env, bytes, size, 10000, &result) == 0)
                break;
            if (result.code != LT_ETIMEOUT && !lt_error_transient(result.code))
                break;
        }
    }
    if (result.code == LT_OK)
        snprintf(line, sizeof(line), "%ld %s %s\n", seq, result.msgid, key);
    else
        snprintf(line, sizeof(line), "%ld rejected %s %s\n", seq, *key ? key : path, result.reason);
    s_record(self, line);
    lt_json_scan_destroy(&scan);
    free(bytes);
}

//  Publish one edXML file until ACCEPTED (or refused); the record line is
//  "seq msgid key", or "seq rejected key reason". A .dossier.json file is
//  a dossier record instead.
static void s_publish_file(s_state_t *self, long seq, const char *path)
{
    size_t len = strlen(path);
    if (len > 13 && strcmp(path + len - 13, ".dossier.json") == 0) {
        s_publish_dossier(self, seq, path);
        return;
    }
    lt_err_t err;
    lt_edxml_t *package = lt_edxml_read_file(path, NULL, &err);
    char line[1400];
    if (!package) {
        snprintf(line, sizeof(line), "%ld unreadable %s %s\n", seq, path, err.detail);
        s_record(self, line);
        return;
    }
    size_t size = 0;
    const void *bytes = lt_edxml_raw(package, &size);
    lt_publish_result_t result = {.code = LT_EIO};
    snprintf(result.reason, sizeof(result.reason), "cannot read %s", path);
    for (int tries = 0; bytes && tries < 100; tries++) {
        lt_envelope_t *env = lt_envelope_new();
        lt_edxml_fill_envelope(package, env);
        lt_envelope_set_payload_facts(env, bytes, size);
        if (lt_conn_publish(self->conn, &env, bytes, size, 10000, &result) == 0)
            break;
        if (result.code != LT_ETIMEOUT && !lt_error_transient(result.code))
            break;
    }
    const lt_edxml_response_t *about = lt_edxml_response(package, 0);
    const char *key = !lt_edxml_is_status(package) ? lt_edxml_document_id(package)
                      : about                      ? about->document_id
                                                   : "";
    if (result.code == LT_OK)
        snprintf(line, sizeof(line), "%ld %s %s\n", seq, result.msgid, key);
    else
        snprintf(line, sizeof(line), "%ld rejected %s %s\n", seq, key, result.reason);
    s_record(self, line);
    lt_edxml_destroy(&package);
}

//  Publish every --file, one at a time, then stop the program.
static void *s_file_publisher(void *arg)
{
    s_state_t *self = arg;
    long seq = 0;
    char *save = NULL;
    for (char *path = strtok_r(self->files, ",", &save); path; path = strtok_r(NULL, ",", &save))
        s_publish_file(self, ++seq, path);
    lt_log_info("event=published files=%ld", seq);
    kill(getpid(), SIGTERM);
    return NULL;
}

//  Publish count messages, one at a time, each until ACCEPTED.
static void *s_publisher(void *arg)
{
    s_state_t *self = arg;
    uint8_t *payload = calloc(1, (size_t) self->size + 1);
    for (long seq = 1; seq <= self->count; seq++) {
        char key[128];
        snprintf(key, sizeof(key), "%s-%ld", self->prefix, seq);
        snprintf((char *) payload, (size_t) self->size + 1, "%s", key);
        lt_publish_result_t result;
        int tries = 0;
        while (tries++ < 100) {
            lt_envelope_t *env = lt_envelope_new();
            lt_envelope_set_kind(env, self->kind);
            lt_envelope_set_key(env, key);
            lt_envelope_set_btype(env, self->btype);
            lt_envelope_set_replaces(env, *self->replaces ? self->replaces : NULL);
            lt_envelope_set_sender(env, self->from);
            lt_envelope_add_recipient(env, self->to);
            if (lt_conn_publish(self->conn, &env, payload, (size_t) self->size, 10000, &result) ==
                0)
                break;
            if (result.code != LT_ETIMEOUT && !lt_error_transient(result.code))
                break;
        }
        char line[1024];
        if (result.code == LT_OK)
            snprintf(line, sizeof(line), "%ld %s %s\n", seq, result.msgid, key);
        else
            snprintf(line, sizeof(line), "%ld rejected %s %s\n", seq, key, result.reason);
        s_record(self, line);
    }
    free(payload);
    lt_log_info("event=published count=%ld", self->count);
    kill(getpid(), SIGTERM);
    return NULL;
}

//  Split a script line on tabs into at most max fields ("-" = empty).
static size_t s_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = 0;
        p = tab + 1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i], "-") == 0)
            fields[i] = "";
    return n;
}

//  One script line: KIND KEY BTYPE REVISION SENDER RECIPIENTS ATTRS PAYLOAD,
//  tab-separated, "-" for empty. RECIPIENTS comma-separated; ATTRS
//  comma-separated among paper, secret, sig=VERDICT, signer=TEXT,
//  channel=N, dtype=TYPE. The payload is the rest of the line (JSON for dossiers and
//  facts), the key when empty. Records "seq msgid key" or "seq rejected ...".
static void s_script_line(s_state_t *self, long seq, char *line)
{
    char *f[8];
    line[strcspn(line, "\r\n")] = 0;
    if (s_fields(line, f, 8) != 8) {
        char bad[256];
        snprintf(bad, sizeof(bad), "%ld bad-line\n", seq);
        s_record(self, bad);
        return;
    }
    const char *payload = *f[7] ? f[7] : f[1];
    size_t size = strlen(payload);
    lt_publish_result_t result = {.code = LT_EIO};
    for (int tries = 0; tries < 200; tries++) {
        lt_envelope_t *env = lt_envelope_new();
        lt_envelope_set_kind(env, (lt_kind_t) lt_kind_from_name(f[0]));
        lt_envelope_set_key(env, f[1]);
        lt_envelope_set_btype(env, f[2]);
        lt_envelope_set_revision(env, f[3]);
        lt_envelope_set_sender(env, f[4]);
        char *list = strdup(f[5]), *save = NULL;
        for (char *code = strtok_r(list, ",", &save); code; code = strtok_r(NULL, ",", &save))
            lt_envelope_add_recipient(env, code);
        free(list);
        char *attrs = strdup(f[6]);
        save = NULL;
        for (char *a = strtok_r(attrs, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
            if (strcmp(a, "paper") == 0)
                lt_envelope_set_electronic(env, false);
            else if (strcmp(a, "secret") == 0)
                lt_envelope_set_secret(env, true);
            else if (strncmp(a, "sig=", 4) == 0 && lt_sig_from_name(a + 4) >= 0)
                lt_envelope_set_signature(env, (lt_sig_t) lt_sig_from_name(a + 4));
            else if (strncmp(a, "signer=", 7) == 0)
                lt_envelope_set_signer(env, a + 7);
            else if (strncmp(a, "dtype=", 6) == 0)
                lt_envelope_set_dtype(env, a + 6);
            else if (strncmp(a, "channel=", 8) == 0)
                lt_envelope_set_channel(env, (lt_channel_t) strtol(a + 8, NULL, 10));
        }
        free(attrs);
        lt_envelope_set_payload_facts(env, payload, size);
        if (lt_conn_publish(self->conn, &env, payload, size, 10000, &result) == 0)
            break;
        if (result.code != LT_ETIMEOUT && !lt_error_transient(result.code))
            break;
        usleep(50000);
    }
    char out[1400];
    if (result.code == LT_OK)
        snprintf(out, sizeof(out), "%ld %s %.600s\n", seq, result.msgid, f[1]);
    else
        snprintf(out, sizeof(out), "%ld rejected %.600s %.600s\n", seq, f[1], result.reason);
    s_record(self, out);
}

//  Publish every line of --script, in order, then stop the program.
static void *s_script_publisher(void *arg)
{
    s_state_t *self = arg;
    FILE *in = fopen(self->script, "r");
    long seq = 0;
    char line[65536];
    while (in && fgets(line, sizeof(line), in))
        if (line[0] != '#' && line[0] != '\n')
            s_script_line(self, ++seq, line);
    if (in)
        fclose(in);
    lt_log_info("event=published script=%s lines=%ld", self->script, seq);
    kill(getpid(), SIGTERM);
    return NULL;
}

static int s_start(void *state, lt_err_t *err)
{
    s_state_t *self = state;
    if (self->script) {
        pthread_create(&self->thread, NULL, s_script_publisher, self);
        self->publishing = true;
    }
    else if (self->files) {
        pthread_create(&self->thread, NULL, s_file_publisher, self);
        self->publishing = true;
    }
    else if (self->count > 0) {
        pthread_create(&self->thread, NULL, s_publisher, self);
        self->publishing = true;
    }
    return 0;
}

//  Join the group of attached deliveries: the one that fills it publishes
//  one dossier_synced fact naming them all, that each of their DONEs waits
//  for (lt_conn_publish_for_many). 0, or -1 with err (the group was not
//  filled in time, or the runtime is stopping).
static int s_attach_group(s_state_t *self, const lt_delivery_t *d, lt_err_t *err)
{
    pthread_mutex_lock(&self->group_lock);
    uint64_t gen = self->group_gen;
    self->group[self->group_count++] = d;
    if (self->group_count == self->attach_group) {
        const char *keys[S_GROUP_MAX], *revs[S_GROUP_MAX];
        for (long i = 0; i < self->group_count; i++) {
            keys[i] = lt_envelope_key(self->group[i]->envelope);
            revs[i] = "1-t";
        }
        char *payload = NULL;
        size_t size = 0;
        lt_envelope_t *env = lt_dossier_fact_many(keys, revs, (size_t) self->group_count,
                                                  self->from, &payload, &size);
        assert(env);
        if (self->attach_bad)
            lt_envelope_set_revision(env, "not-the-content");   //  the ledger refuses it
        int rc = lt_conn_publish_for_many(self->conn, self->group, (size_t) self->group_count,
                                          &env, payload, size, NULL, NULL);
        lt_envelope_destroy(&env);
        free(payload);
        self->group_rc[gen % S_GROUP_MAX] = rc;
        self->group_count = 0;
        self->group_gen++;
        pthread_cond_broadcast(&self->group_cond);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += S_GROUP_WAIT_MS / 1000;
    while (self->group_gen == gen)
        if (pthread_cond_timedwait(&self->group_cond, &self->group_lock, &until) != 0)
            break;
    int rc = 0;
    if (self->group_gen == gen) {
        //  Not filled in time: leave the group.
        for (long i = 0; i < self->group_count; i++)
            if (self->group[i] == d) {
                self->group[i] = self->group[--self->group_count];
                break;
            }
        lt_err_set(err, LT_EUNAVAIL, "test sink: the group of %ld deliveries was not filled "
                   "in time", self->attach_group);
        rc = -1;
    }
    else if (self->group_rc[gen % S_GROUP_MAX]) {
        lt_err_set(err, LT_EUNAVAIL, "stopping");
        rc = -1;
    }
    pthread_mutex_unlock(&self->group_lock);
    return rc;
}

static lt_delivery_result_t s_deliver(void *state, const lt_delivery_t *d, lt_err_t *err)
{
    s_state_t *self = state;
    const char *key = lt_envelope_key(d->envelope);
    const char *btype = lt_envelope_btype(d->envelope);
    if (*self->retry_btype && strcmp(btype, self->retry_btype) == 0 &&
        (long) d->attempt <= self->retry_times) {
        lt_err_set(err, LT_EUNAVAIL, "test sink refuses %s %s at attempt %u", btype, key,
                   d->attempt);
        atomic_fetch_add(&self->refused, 1);
        return LT_DELIVERY_RETRY;
    }
    if (*self->retry_match && strstr(key, self->retry_match)) {
        lt_err_set(err, LT_EUNAVAIL, "test sink refuses %s for now", key);
        atomic_fetch_add(&self->refused, 1);
        return LT_DELIVERY_RETRY;
    }
    if (*self->fail_match && strstr(key, self->fail_match)) {
        lt_err_set(err, LT_EINVAL, "test sink refuses %s for good", key);
        atomic_fetch_add(&self->failed, 1);
        pthread_mutex_lock(&self->lock);
        snprintf(self->last_error, sizeof(self->last_error), "%.150s", err->detail);
        self->last_error_at = lt_time_ms();
        pthread_mutex_unlock(&self->lock);
        return LT_DELIVERY_FAIL;
    }
    if (self->check_digest) {
        char hex[LT_SHA256_HEX];
        lt_digest_sha256_hex(d->payload, d->size, hex);
        if (strcmp(hex, lt_envelope_sha256(d->envelope)) != 0) {
            lt_err_set(err, LT_EINVAL, "test sink: payload of %s does not match its SHA-256", key);
            atomic_fetch_add(&self->failed, 1);
            pthread_mutex_lock(&self->lock);
            snprintf(self->last_error, sizeof(self->last_error), "%.150s", err->detail);
            self->last_error_at = lt_time_ms();
            pthread_mutex_unlock(&self->lock);
            return LT_DELIVERY_FAIL;
        }
    }
    if (self->delay_ms > 0)
        usleep((useconds_t) self->delay_ms * 1000);
    if (*self->attach_match && strstr(key, self->attach_match) && self->attach_group > 1) {
        if (s_attach_group(self, d, err))
            return LT_DELIVERY_RETRY;
    }
    else if (*self->attach_match && strstr(key, self->attach_match)) {
        //  A message the delivery's DONE waits for (lt_conn_publish_for):
        //  a dossier_synced fact, or a dossier the broker has no route for.
        char payload[256];
        snprintf(payload, sizeof(payload), "{\"MaHoSo\":\"%.100s\",\"revision\":\"1-t\"}", key);
        lt_envelope_t *env = lt_envelope_new();
        lt_envelope_set_kind(env, self->attach_kind);
        lt_envelope_set_key(env, key);
        lt_envelope_set_btype(env, self->attach_kind == LT_KIND_FACT ? "dossier_synced" : "new");
        lt_envelope_set_revision(env, "1-t");
        lt_envelope_set_sender(env, self->from);
        if (lt_conn_publish_for(self->conn, d, &env, payload, strlen(payload), NULL, NULL)) {
            lt_envelope_destroy(&env);
            lt_err_set(err, LT_EUNAVAIL, "stopping");
            return LT_DELIVERY_RETRY;
        }
    }
    char line[256];
    const char *id = lt_envelope_id(d->envelope);
    snprintf(line, sizeof(line), "%s %s %s\n", id, key, btype);
    atomic_fetch_add(&self->taken, 1);
    if (self->record_fd < 0)
        return LT_DELIVERY_OK;
    pthread_mutex_lock(&self->lock);
    if (!zhashx_lookup(self->received, id)) {
        ssize_t rc = write(self->record_fd, line, strlen(line));
        (void) rc;
        fdatasync(self->record_fd);
        zhashx_insert(self->received, id, (void *) 1);
        atomic_fetch_add(&self->recorded, 1);
    }
    pthread_mutex_unlock(&self->lock);
    return LT_DELIVERY_OK;
}

//  The sink's own counters, under "test" (they reach lthubd in PINGs).
static void s_stats(void *state, json_t *out)
{
    s_state_t *self = state;
    char last_error[sizeof(self->last_error)];
    pthread_mutex_lock(&self->lock);
    snprintf(last_error, sizeof(last_error), "%s", self->last_error);
    int64_t last_error_at = self->last_error_at;
    pthread_mutex_unlock(&self->lock);
    json_object_set_new(
        out, "test",
        json_pack("{s:I, s:I, s:I, s:I, s:s, s:I}", "taken",
                  (json_int_t) atomic_load(&self->taken), "recorded",
                  (json_int_t) atomic_load(&self->recorded), "refused",
                  (json_int_t) atomic_load(&self->refused), "failed",
                  (json_int_t) atomic_load(&self->failed), "last_error", last_error,
                  "last_error_at", (json_int_t) last_error_at));
}

static void s_fini(void **state_p)
{
    s_state_t *self = *state_p;
    if (self->publishing)
        pthread_join(self->thread, NULL);
    if (self->record_fd >= 0)
        close(self->record_fd);
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->group_lock);
    pthread_cond_destroy(&self->group_cond);
    zhashx_destroy(&self->received);
    free(self->files);
    free(self->script);
    free(self);
    *state_p = NULL;
}

static const lt_connector_ops_t s_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "test",
    .kind = "test",
    .summary = "publisher and sink for the broker's tests",
    .options = s_options,
    .init = s_init,
    .start = s_start,
    .deliver = s_deliver,
    .stats = s_stats,
    .fini = s_fini,
};

int main(int argc, char *argv[])
{
    return lt_conn_main(&s_ops, argc, argv);
}
