/*  lt_ledger_test: self-test of the counting ledger (lt_ledger.c): events
    and sums, the chain and its verification, conversions from older
    formats, the presence filter, wait bits, deferred rows.
*/
#include "lt_ledger.h"
#include "lt_digest.h"
#include "lt_period.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Text of a column, "" for NULL.
static const char *s_col(sqlite3_stmt *stmt, int i)
{
    const unsigned char *text = sqlite3_column_text(stmt, i);
    return text ? (const char *) text : "";
}

static int s_sum_collect(void *arg, const lt_ledger_sum_t *sum)
{
    int64_t *total = arg;
    *total += sum->n;
    return 0;
}

//  Sum of ledger_sum for one event with all of `with` flags set.
static int64_t s_count(sqlite3 *db, int from, int to, const char *event, unsigned with)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT COALESCE(SUM(n), 0) FROM ledger_sum WHERE day BETWEEN ?1"
                                " AND ?2 AND event = ?3 AND (flags & ?4) = ?4",
                                -1, &stmt, NULL);
    assert(rc == SQLITE_OK);
    sqlite3_bind_int(stmt, 1, from);
    sqlite3_bind_int(stmt, 2, to);
    sqlite3_bind_text(stmt, 3, event, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, (int) with);
    int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return n;
}

static int s_publish(lt_ledger_t *ledger, lt_kind_t kind, const char *key, const char *btype,
                     const char *sender, const char *rcpt, bool electronic, int64_t at)
{
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, kind);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, btype);
    lt_envelope_set_sender(env, sender);
    lt_envelope_set_electronic(env, electronic);
    lt_envelope_set_signature(env, LT_SIG_VALID);
    lt_envelope_set_received(env, at);
    lt_envelope_set_payload_facts(env, key, strlen(key));
    const char *rcpts[] = {rcpt};
    lt_err_t err;
    int rc = lt_ledger_record(ledger, env, key, strlen(key), rcpts, rcpt ? 1 : 0, &err);
    lt_envelope_destroy(&env);
    return rc;
}

//  The first column of the query head tail, -1 when it gives no row.
static int64_t s_scalar(sqlite3 *db, const char *head, const char *tail)
{
    char sql[600];
    snprintf(sql, sizeof(sql), "%s%s", head, tail);
    sqlite3_stmt *stmt = NULL;
    assert(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK);
    int64_t v = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return v;
}

//  What the self-test saw of lt_ledger_waiting.
typedef struct {
    int groups;       //  agencies yielded
    int64_t count;    //  items over them
    char agency[64];  //  the last agency
    char doc[64];     //  its oldest document
} s_wait_t;

static int s_wait_collect(void *arg, const lt_ledger_wait_t *w)
{
    s_wait_t *seen = arg;
    seen->groups++;
    seen->count += w->count;
    snprintf(seen->agency, sizeof(seen->agency), "%s", w->agency);
    snprintf(seen->doc, sizeof(seen->doc), "%s", w->oldest_doc);
    return 0;
}

//  What the self-test saw of lt_ledger_items.
typedef struct {
    int count;              //  items yielded
    int64_t d2_in_seq;      //  seq of D2's doc_in (in its rows)
    char d2_in_rows[128];   //  its rows
    int64_t r1_in_at;       //  time of R1's doc_in (its first row)
    int64_t r1_in_received; //  when the hub delivered R1
} s_items_t;

static int s_items_collect(void *arg, const lt_ledger_item_t *it)
{
    s_items_t *seen = arg;
    seen->count++;
    if (strcmp(it->item, "doc|D2|000.00.31.H26|in") == 0 && it->event == LT_EV_DOC_IN &&
        strcmp(it->agency, "000.00.31.H26") == 0 && (it->flags & LT_F_RELAYED)) {
        seen->d2_in_seq = strtoll(it->rows, NULL, 10);
        snprintf(seen->d2_in_rows, sizeof(seen->d2_in_rows), "%s", it->rows);
    }
    if (strcmp(it->item, "doc|R1|000.00.31.H26|in") == 0) {
        seen->r1_in_at = it->at;
        seen->r1_in_received = it->received_at;
    }
    return 0;
}

//  Turn the self-test's version 3 ledger (one event a row) back into
//  version 2: ledger_open from the wait bits, without 'more' and 'wait'.
static const char *s_test_downgrade_2 =
    "CREATE TABLE ledger_open (kind INTEGER NOT NULL, at INTEGER NOT NULL, item TEXT NOT NULL,"
    " agency TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, at, item)) WITHOUT ROWID;"
    "INSERT INTO ledger_open SELECT CASE event WHEN 'dossier_received' THEN 2 ELSE 1 END, at,"
    " item, agency, doc FROM ledger WHERE wait = 1;"
    "DROP INDEX ledger_wait_status; DROP INDEX ledger_wait_sync; DROP INDEX ledger_ikey;"
    "ALTER TABLE ledger DROP COLUMN more; ALTER TABLE ledger DROP COLUMN wait;"
    "CREATE INDEX ledger_ikey ON ledger (ikey);"
    "UPDATE ledger_meta SET value = 2 WHERE name = 'version';";

//  Turn the self-test's version 2 ledger back into version 1 as an older
//  lthubd wrote it (no ledger_open yet), with two day lines of 'status' on
//  top of the real sums (20260910: 2, 20260914: 3).
static const char *s_test_downgrade =
    "CREATE TABLE v1 (seq INTEGER PRIMARY KEY, event TEXT NOT NULL, item TEXT NOT NULL,"
    " origin TEXT NOT NULL, doc TEXT NOT NULL, agency TEXT NOT NULL, at INTEGER NOT NULL,"
    " day INTEGER NOT NULL, electronic INTEGER NOT NULL, secret INTEGER NOT NULL,"
    " sig INTEGER NOT NULL, signer TEXT NOT NULL, channel INTEGER NOT NULL, dim TEXT NOT NULL,"
    " attrs INTEGER NOT NULL, detail TEXT NOT NULL, sha256 TEXT NOT NULL, msgid TEXT NOT NULL,"
    " prev TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (item, origin));"
    "INSERT INTO v1 SELECT seq, event, item, origin, doc, agency, at, day, electronic, secret,"
    " sig, signer, channel, dim, attrs, detail,"
    " CASE typeof(sha256) WHEN 'blob' THEN lower(hex(sha256)) ELSE sha256 END, msgid,"
    " lower(hex(prev)), lower(hex(hash)) FROM ledger;"
    "DROP TABLE ledger; DROP TABLE ledger_meta;"
    "ALTER TABLE v1 RENAME TO ledger;"
    "INSERT INTO ledger_sum VALUES (20260910, 'A', 'status', 0, '', 2),"
    " (20260914, 'A', 'status', 0, '', 3);";

void lt_ledger_test(bool verbose)
{
    if (verbose)
        printf(" * lt_ledger: ");
    char path[] = "/tmp/lt_ledger_test_XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    close(fd);
    sqlite3 *db = NULL;
    assert(sqlite3_open(path, &db) == SQLITE_OK);
    lt_err_t err;
    lt_ledger_t *ledger = lt_ledger_new(db, path, false, &err);
    assert(ledger);
    lt_ledger_set_province(ledger, "H26");
    int64_t t14 = lt_period_local_ms(2026, 9, 14, 23, 59, 0);
    int64_t t15 = lt_period_local_ms(2026, 9, 15, 0, 0, 0);
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    //  A document between two agencies of the province: out + in.
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D1", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t14) == 0);
    //  Resent, and its register lines: nothing new counted.
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D1", "update", "000.00.12.H26", "000.00.31.H26",
                     true, t15) == 0);
    assert(s_publish(ledger, LT_KIND_REGISTER, "D1", "in", "000.00.31.H26", NULL, false, t15) ==
           0);
    assert(s_publish(ledger, LT_KIND_REGISTER, "D1", "in", "000.00.31.H26", NULL, false, t15) ==
           0);
    //  A paper document only on the register; one declared electronic.
    assert(s_publish(ledger, LT_KIND_REGISTER, "P1", "out", "000.00.12.H26", NULL, false, t15) ==
           0);
    assert(s_publish(ledger, LT_KIND_REGISTER, "E1", "out", "000.00.12.H26", NULL, true, t15) ==
           0);
    //  D1 waits for its status at its recipient, and only there.
    s_wait_t wait = {0};
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0);
    assert(wait.groups == 1 && wait.count == 1 && strcmp(wait.agency, "000.00.31.H26") == 0 &&
           strcmp(wait.doc, "D1") == 0);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, 0, 100, s_wait_collect, &wait,
                             &err) == 0 && wait.groups == 0);   //  not waiting since 1970
    //  Status 01 the same day confirms D1's receipt (day of t14).
    assert(s_publish(ledger, LT_KIND_STATUS, "D1", "01", "000.00.31.H26", NULL, true,
                     t14 + 30000) == 0);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0 && wait.groups == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    char head[65];
    assert(lt_ledger_head(ledger, head) == 6);   //  out, in, register in, P1, E1, status
    assert(s_count(db, 20260901, 20260914, "doc_out", LT_F_RELAYED | LT_F_SIGNED) == 1);
    assert(s_count(db, 20260901, 20260914, "doc_in", LT_F_CONFIRMED | LT_F_RELAYED) == 1);
    assert(s_count(db, 20260901, 20260914, "doc_in", 0) == 1);
    assert(s_count(db, 20260915, 20260930, "doc_in", 0) == 0);
    assert(s_count(db, 20260915, 20260930, "doc_out", 0) == 2);
    assert(s_count(db, 20260915, 20260930, "doc_out", LT_F_DECLARED | LT_F_ELECTRONIC) == 1);
    int64_t total = 0;
    assert(lt_ledger_sums(ledger, 20260101, 20261231, s_sum_collect, &total, &err) == 0);
    assert(total == 5);   //  D1 out, D1 in, P1, E1, status

    uint64_t rows, bad;
    char why[300];
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0 && rows == 6);
    //  An edited row is named.
    assert(sqlite3_exec(db, "UPDATE ledger SET electronic = 1 WHERE seq = 4", NULL, NULL, NULL) ==
           SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 1 && bad == 4);
    assert(strstr(why, "edited"));
    assert(sqlite3_exec(db, "UPDATE ledger SET electronic = 0 WHERE seq = 4", NULL, NULL, NULL) ==
           SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    //  A version 1 store (text index, hex hashes, day sums) made before
    //  ledger_open is converted at open: the chain and its head unchanged,
    //  ledger_open filled (D9 delivered and not answered waits, D1 with its
    //  status 01 does not), day sums merged into half months, and a resend
    //  of a converted item adds nothing.
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D9", "new", "000.00.12.H26", "000.00.14.H26",
                     true, t15) == 0);
    char head_before[65];
    assert(lt_ledger_head(ledger, head_before) == 8);
    //  A version 2 store (no 'more') is converted at open in one
    //  transaction, its rows and their hashes kept.
    lt_ledger_destroy(&ledger);
    assert(sqlite3_exec(db, s_test_downgrade_2, NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_format(db) == 2);
    lt_ledger_t *old = lt_ledger_new(db, path, true, &err);   //  read-only: not converted
    assert(!old && strstr(err.detail, "older format"));
    ledger = lt_ledger_new(db, path, false, &err);
    assert(ledger && lt_ledger_format(db) == 4);
    assert(lt_ledger_head(ledger, head) == 8 && strcmp(head, head_before) == 0);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0 && rows == 8);
    memset(&wait, 0, sizeof(wait));   //  D9 still waits, on its row's wait bit
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0);
    assert(wait.groups == 1 && wait.count == 1 && strcmp(wait.doc, "D9") == 0);
    assert(sqlite3_exec(db, "SELECT 1 FROM ledger_open", NULL, NULL, NULL) != SQLITE_OK);
    lt_ledger_destroy(&ledger);
    assert(sqlite3_exec(db, s_test_downgrade_2, NULL, NULL, NULL) == SQLITE_OK);
    assert(sqlite3_exec(db, "DROP TABLE ledger_open", NULL, NULL, NULL) == SQLITE_OK);
    assert(sqlite3_exec(db, s_test_downgrade, NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_format(db) == 1);
    old = lt_ledger_new(db, path, true, &err);   //  read-only: not converted
    assert(!old && strstr(err.detail, "older format"));
    ledger = lt_ledger_new(db, path, false, &err);
    assert(ledger);
    assert(lt_ledger_format(db) == 4);
    assert(lt_ledger_head(ledger, head) == 8 && strcmp(head, head_before) == 0);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0 && rows == 8);
    assert(s_count(db, 20260901, 20260914, "status", 0) == 1 + 5);
    assert(s_count(db, 20260901, 20260901, "status", 0) == 1 + 5);
    assert(s_count(db, 20260915, 20260930, "doc_out", 0) == 3);   //  P1, E1, D9
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0);
    assert(wait.groups == 1 && wait.count == 1 && strcmp(wait.doc, "D9") == 0);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D9", "update", "000.00.12.H26",
                     "000.00.14.H26", true, t15 + 1000) == 0);
    assert(lt_ledger_head(ledger, head) == 8);
    assert(s_publish(ledger, LT_KIND_STATUS, "D9", "03", "000.00.14.H26", NULL, true,
                     t15 + 2000) == 0);
    assert(lt_ledger_head(ledger, head) == 9);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0 && rows == 9);
    assert(s_count(db, 20260915, 20260930, "doc_in", LT_F_CONFIRMED) == 1);
    //  Secret by configuration for a document type: rows recorded secret,
    //  the item counted only as secret; other types, and the same name as
    //  part of another, are not.
    lt_ledger_set_secret_types(ledger, " M\xe1\xba\xadt , T\xe1\xbb\x91i m\xe1\xba\xadt,,");
    const char *types[] = {"M\xe1\xba\xadt", "T\xe1\xbb\x91i m\xe1\xba\xadt",
                           "M\xe1\xba\xadt kh\xe1\xba\xa9n", "C\xc3\xb4ng v\xc4\x83n", ""};
    for (int i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof(key), "T%d", i % 10);
        lt_envelope_t *env = lt_envelope_new();
        lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
        lt_envelope_set_key(env, key);
        lt_envelope_set_btype(env, "new");
        lt_envelope_set_sender(env, "000.00.12.H26");
        lt_envelope_set_dtype(env, *types[i] ? types[i] : NULL);
        lt_envelope_set_received(env, lt_period_local_ms(2026, 10, 3, 9, 0, 0));
        lt_envelope_set_payload_facts(env, key, strlen(key));
        assert(lt_ledger_record(ledger, env, key, strlen(key), NULL, 0, &err) == 0);
        lt_envelope_destroy(&env);
    }
    assert(s_count(db, 20261001, 20261014, "doc_out", 0) == 5);
    assert(s_count(db, 20261001, 20261014, "doc_out", LT_F_SECRET) == 2);
    lt_ledger_set_secret_types(ledger, "");
    //  Deferred mode (the store's): sums move at the flush, never for a
    //  message whose publish failed nor for a batch rolled back.
    int64_t t20 = lt_period_local_ms(2026, 10, 20, 9, 0, 0);
    lt_ledger_set_deferred(ledger, true);
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D2", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t20) == 0);
    lt_ledger_keep(ledger);
    assert(sqlite3_exec(db, "SAVEPOINT failed", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D3", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t20 + 1000) == 0);
    assert(sqlite3_exec(db, "ROLLBACK TO failed; RELEASE failed", NULL, NULL, NULL) ==
           SQLITE_OK);
    lt_ledger_forget(ledger);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D4", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t20 + 2000) == 0);
    lt_ledger_keep(ledger);
    assert(s_count(db, 20261015, 20261031, "doc_out", 0) == 0);   //  before the flush
    assert(lt_ledger_flush(ledger, &err) == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_count(db, 20261015, 20261031, "doc_out", 0) == 2);   //  D2 and D4, not D3
    assert(s_count(db, 20261015, 20261031, "doc_in", 0) == 2);
    //  A relayed document's events share one row: D2's doc_in is in its
    //  doc_out row's 'more', which the row's hash covers.
    sqlite3_stmt *q = NULL;
    assert(sqlite3_prepare_v2(db, "SELECT seq, more FROM ledger WHERE item LIKE 'doc|D2|%'", -1,
                              &q, NULL) == SQLITE_OK);
    assert(sqlite3_step(q) == SQLITE_ROW);
    int64_t d2_seq = sqlite3_column_int64(q, 0);
    assert(strcmp(s_col(q, 1), "6:doc_in,13:000.00.31.H26,") == 0);
    assert(sqlite3_step(q) == SQLITE_DONE);
    sqlite3_finalize(q);
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE ledger SET more = '6:doc_in,13:000.00.32.H26,' WHERE seq = %lld",
             (long long) d2_seq);
    assert(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 1 &&
           bad == (uint64_t) d2_seq && strstr(why, "edited"));
    snprintf(sql, sizeof(sql), "UPDATE ledger SET more = '6:doc_in,13:000.00.31.H26,' WHERE seq = %lld",
             (long long) d2_seq);
    assert(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    //  Listed for the evidence as two items of that row.
    s_items_t listed = {0};
    assert(lt_ledger_items(ledger, 20261015, 20261031, s_items_collect, &listed, &err) == 0);
    assert(listed.count == 4 && listed.d2_in_seq == d2_seq && strstr(listed.d2_in_rows, ":"));
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D5", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t20 + 3000) == 0);
    lt_ledger_keep(ledger);
    assert(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    lt_ledger_forget(ledger);
    lt_ledger_discard(ledger);
    assert(lt_ledger_flush(ledger, &err) == 0);   //  nothing left to write
    assert(s_count(db, 20261015, 20261031, "doc_out", 0) == 2);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    //  Rows wait for the flush too, and the presence filter (64 bits here:
    //  collisions, and built again as it fills, rows still waiting): a
    //  document, its resend and its same-day status in one batch with a
    //  failed publish between them.
    lt_ledger_test_filter(ledger, 64);
    int64_t rows_before = lt_ledger_head(ledger, head);
    int64_t t25 = lt_period_local_ms(2026, 10, 25, 9, 0, 0);
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D6", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t25) == 0);
    lt_ledger_keep(ledger);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D6", "update", "000.00.12.H26",
                     "000.00.31.H26", true, t25 + 1000) == 0);
    lt_ledger_keep(ledger);
    assert(sqlite3_exec(db, "SAVEPOINT failed", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D7", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t25 + 1500) == 0);
    assert(s_publish(ledger, LT_KIND_STATUS, "D6", "03", "000.00.31.H26", NULL, true,
                     t25 + 1700) == 0);
    assert(sqlite3_exec(db, "ROLLBACK TO failed; RELEASE failed", NULL, NULL, NULL) ==
           SQLITE_OK);
    lt_ledger_forget(ledger);   //  D7 and the status 03 never were
    assert(s_publish(ledger, LT_KIND_STATUS, "D6", "01", "000.00.31.H26", NULL, true,
                     t25 + 2000) == 0);
    lt_ledger_keep(ledger);
    assert(lt_ledger_head(ledger, head) == rows_before);   //  nothing written yet
    assert(lt_ledger_flush(ledger, &err) == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_head(ledger, head) == rows_before + 2);   //  D6 out + in, status 01
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    assert(s_count(db, 20261015, 20261031, "doc_in", LT_F_CONFIRMED) == 1);
    assert(s_count(db, 20261015, 20261031, "doc_out", 0) == 3);   //  D2, D4, D6
    memset(&wait, 0, sizeof(wait));   //  D2 and D4 wait, D6 was answered in its batch
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0);
    assert(wait.groups == 1 && wait.count == 2 && strcmp(wait.doc, "D2") == 0);
    //  A batch of more rows than the filter holds, each document sent
    //  twice, then again in the next batch: counted once.
    int64_t t3 = lt_period_local_ms(2026, 11, 3, 9, 0, 0);
    for (int round = 0; round < 2; round++) {
        assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
        for (int i = 0; i < 80; i++) {
            char key[16];
            snprintf(key, sizeof(key), "N%d", i % 40);
            assert(s_publish(ledger, LT_KIND_DOCUMENT, key, "new", "000.00.12.H26",
                             "000.00.31.H26", true, t3 + i) == 0);
            lt_ledger_keep(ledger);
        }
        assert(lt_ledger_flush(ledger, &err) == 0);
        assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
        assert(lt_ledger_head(ledger, head) == rows_before + 2 + 40);   //  out + in each
    }
    assert(s_count(db, 20261101, 20261114, "doc_out", 0) == 40);
    assert(s_count(db, 20261101, 20261114, "doc_in", 0) == 40);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    //  The filter built again, full size, from the index (ikeys and
    //  'more'): a resent document whose doc_in is in its row's 'more' is
    //  known (nothing appended). A document to two recipients is one row
    //  of three events, two waiting; a status from one ends its wait in
    //  the written row.
    lt_ledger_test_filter(ledger, 0);
    int64_t head_n = lt_ledger_head(ledger, head);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 1000, s_wait_collect,
                             &wait, &err) == 0);
    int64_t waiting = wait.count;
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "N5", "update", "000.00.12.H26", "000.00.31.H26",
                     true, t3 + 500) == 0);
    lt_ledger_keep(ledger);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "M1", "new", "000.00.12.H26",
                     "000.00.31.H26,000.00.32.H26", true, t3 + 600) == 0);
    lt_ledger_keep(ledger);
    assert(lt_ledger_flush(ledger, &err) == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_test_filter_built(ledger) && lt_ledger_head(ledger, head) == head_n + 1);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 1000, s_wait_collect,
                             &wait, &err) == 0 && wait.count == waiting + 2);
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_STATUS, "M1", "01", "000.00.32.H26", NULL, true, t3 + 700) ==
           0);
    lt_ledger_keep(ledger);
    assert(lt_ledger_flush(ledger, &err) == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 1000, s_wait_collect,
                             &wait, &err) == 0 && wait.count == waiting + 1);
    assert(s_count(db, 20261101, 20261114, "doc_in", LT_F_CONFIRMED) == 1);
    assert(s_count(db, 20261101, 20261114, "doc_in", 0) == 42);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    //  Every row, written directly or deferred, keeps its message's digest
    //  as its 32 bytes.
    sqlite3_stmt *digests = NULL;
    assert(sqlite3_prepare_v2(db,
                              "SELECT count(*), sum(typeof(sha256) = 'blob'"
                              " AND length(sha256) = 32) FROM ledger",
                              -1, &digests, NULL) == SQLITE_OK);
    assert(sqlite3_step(digests) == SQLITE_ROW);
    assert(sqlite3_column_int64(digests, 0) > 0);
    assert(sqlite3_column_int64(digests, 0) == sqlite3_column_int64(digests, 1));
    sqlite3_finalize(digests);
    //  Format 4's keys: the DocumentIds of one agency, day and notation,
    //  numbered in order, have consecutive document parts of their ikey;
    //  7/TB-2001 shares 7/UBND-VP's part (its notation in the same hash
    //  bucket), yet each is its own item and a status confirms only its
    //  own document; a number of 2^20 or more is hashed like any key.
    int64_t t5 = lt_period_local_ms(2026, 11, 5, 9, 0, 0);
    char dated[24][64];
    for (int i = 0; i < 24; i++)
        snprintf(dated[i], sizeof(dated[i]), "000.00.12.H26,2026/11/05,%d/%s",
                 i < 20 ? i + 1 : i == 20 ? 7 : i == 21 ? 1048583 : 4000 + i,
                 i == 20 ? "TB-2001" : "UBND-VP");
    for (int round = 0; round < 2; round++) {   //  sent, then resent
        assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
        for (int i = 0; i < 24; i++) {
            assert(s_publish(ledger, LT_KIND_DOCUMENT, dated[i], "new", "000.00.12.H26",
                             "000.00.31.H26", true, t5 + i) == 0);
            lt_ledger_keep(ledger);
        }
        assert(lt_ledger_flush(ledger, &err) == 0);
        assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    }
    assert(s_count(db, 20261101, 20261114, "doc_out", 0) == 40 + 1 + 24);
    const char *in_run = " FROM ledger WHERE item LIKE 'doc|000.00.12.H26,2026/11/05,_/UBND-VP|%'"
                         " OR item LIKE 'doc|000.00.12.H26,2026/11/05,1_/UBND-VP|%'"
                         " OR item LIKE 'doc|000.00.12.H26,2026/11/05,20/UBND-VP|%'";
    assert(s_scalar(db, "SELECT COUNT(*)", in_run) == 20);
    assert(s_scalar(db, "SELECT MAX(ikey >> 16) - MIN(ikey >> 16)", in_run) == 19);
    assert(s_scalar(db, "SELECT COUNT(DISTINCT ikey >> 16) FROM ledger",
                    " WHERE item LIKE 'doc|000.00.12.H26,2026/11/05,7/UBND-VP|%'"
                    " OR item LIKE 'doc|000.00.12.H26,2026/11/05,7/TB-2001|%'") == 1);
    assert(s_scalar(db, "SELECT COUNT(DISTINCT ikey >> 16) FROM ledger",
                    " WHERE item LIKE 'doc|000.00.12.H26,2026/11/05,7/UBND-VP|%'"
                    " OR item LIKE 'doc|000.00.12.H26,2026/11/05,1048583/UBND-VP|%'") == 2);
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_publish(ledger, LT_KIND_STATUS, dated[20], "01", "000.00.31.H26", NULL, true,
                     t5 + 100) == 0);
    lt_ledger_keep(ledger);
    assert(lt_ledger_flush(ledger, &err) == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    assert(s_count(db, 20261101, 20261114, "doc_in", LT_F_CONFIRMED) == 2);   //  M1's, 7/TB-2001's
    //  A format 3 ledger (its ikeys the FNV-1a hash of the document) is
    //  converted at open: every ikey computed again, and the items found
    //  by them (resends add nothing, a status confirms 7's receipt).
    int64_t head_4 = lt_ledger_head(ledger, head);
    lt_ledger_destroy(&ledger);
    assert(sqlite3_exec(db, "UPDATE ledger SET ikey = 0;"
                            "UPDATE ledger_meta SET value = 3 WHERE name = 'version'",
                        NULL, NULL, NULL) == SQLITE_OK);
    ledger = lt_ledger_new(db, path, false, &err);
    assert(ledger && lt_ledger_format(db) == 4);
    lt_ledger_set_province(ledger, "H26");
    lt_ledger_set_deferred(ledger, true);
    assert(s_scalar(db, "SELECT COUNT(*) FROM ledger", " WHERE ikey = 0") == 0);
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    for (int i = 0; i < 24; i++) {
        assert(s_publish(ledger, LT_KIND_DOCUMENT, dated[i], "update", "000.00.12.H26",
                         "000.00.31.H26", true, t5 + 200 + i) == 0);
        lt_ledger_keep(ledger);
    }
    assert(s_publish(ledger, LT_KIND_STATUS, dated[6], "01", "000.00.31.H26", NULL, true,
                     t5 + 300) == 0);
    lt_ledger_keep(ledger);
    assert(lt_ledger_flush(ledger, &err) == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_head(ledger, head) == head_4 + 1);   //  the status alone
    assert(s_count(db, 20261101, 20261114, "doc_in", LT_F_CONFIRMED) == 3);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    lt_ledger_set_deferred(ledger, false);
    //  A document on the register (paper) the day before the hub delivers
    //  it: received when delivered, so a status 01 that day confirms it.
    int64_t reg_day = lt_period_local_ms(2026, 12, 2, 9, 0, 0);
    int64_t relay_day = lt_period_local_ms(2026, 12, 3, 9, 0, 0);
    assert(s_publish(ledger, LT_KIND_REGISTER, "R1", "in", "000.00.31.H26", NULL, false,
                     reg_day) == 0);
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "R1", "new", "000.00.12.H26", "000.00.31.H26",
                     true, relay_day) == 0);
    assert(s_count(db, 20261201, 20261214, "doc_in", LT_F_RELAYED) == 1);
    assert(s_count(db, 20261201, 20261214, "doc_in", LT_F_CONFIRMED) == 0);
    assert(s_publish(ledger, LT_KIND_STATUS, "R1", "01", "000.00.31.H26", NULL, true,
                     relay_day + 60000) == 0);
    assert(s_count(db, 20261201, 20261214, "doc_in", LT_F_RELAYED | LT_F_CONFIRMED) == 1);
    assert(s_count(db, 20261201, 20261214, "doc_in", 0) == 1);
    s_items_t delivered = {0};
    assert(lt_ledger_items(ledger, 20261201, 20261214, s_items_collect, &delivered, &err) == 0);
    assert(delivered.r1_in_received == relay_day && delivered.r1_in_at == reg_day);
    //  A read-only ledger has no list to read.
    lt_ledger_t *reader = lt_ledger_new(db, path, true, &err);
    assert(reader);
    assert(lt_ledger_waiting(reader, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == -1);
    lt_ledger_destroy(&reader);
    //  A deleted row is named by the gap.
    assert(sqlite3_exec(db, "DELETE FROM ledger WHERE seq = 3", NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 1 && bad == 4);
    assert(strstr(why, "row 3 is missing"));
    lt_ledger_destroy(&ledger);
    sqlite3_close(db);
    unlink(path);
    if (verbose)
        printf("OK\n");
}
