/*  lt_portal_store: latest record per MaHoSo (see lt_portal_store.h). */
#include "lt_portal_store.h"
#include "lt_sqlite.h"
#include "lt_id.h"

#include <assert.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _lt_portal_store_t {
    sqlite3 *db;              //  the connection
    pthread_mutex_t lock;     //  one writer or reader at a time
    sqlite3_stmt *select;     //  revision, digest and shown agency of a key
    sqlite3_stmt *upsert;     //  reserve the latest revision
    sqlite3_stmt *confirm;    //  show a confirmed record
    sqlite3_stmt *body;       //  read a confirmed record's bytes
    sqlite3_stmt *owner;      //  read the agency a key is kept for
    sqlite3_stmt *mark;       //  write a delivery state
    sqlite3_stmt *marked;     //  read a delivery state
    sqlite3_stmt *begin;      //  BEGIN IMMEDIATE
    sqlite3_stmt *commit;     //  COMMIT
    sqlite3_stmt *rollback;   //  ROLLBACK
};

//  records: the revision last reserved per MaHoSo (its body is no longer
//  kept there: empty since schema 1); shown: the record the broker last
//  confirmed, the one TraCuuHoSo answers.
static const char *s_schema
    = "CREATE TABLE IF NOT EXISTS records ("
      "  mahoso TEXT PRIMARY KEY,"
      "  agency TEXT NOT NULL,"
      "  revision INTEGER NOT NULL,"
      "  digest TEXT NOT NULL,"
      "  updated INTEGER NOT NULL,"
      "  body BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS shown ("
      "  mahoso TEXT PRIMARY KEY,"
      "  agency TEXT NOT NULL,"
      "  revision INTEGER NOT NULL,"
      "  updated INTEGER NOT NULL,"
      "  body BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS sent ("
      "  msgid TEXT PRIMARY KEY,"
      "  state INTEGER NOT NULL,"
      "  at INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS sent_at ON sent(at)";

//  Run SQL without results; -1 with err naming it.
static int s_exec(lt_portal_store_t *self, const char *sql, lt_err_t *err)
{
    char *message = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &message) == SQLITE_OK)
        return 0;
    lt_err_set(err, LT_ESTORE, "portal store: %s", message ? message : "failed");
    sqlite3_free(message);
    return -1;
}

//  Bring a store written before schema 1 (one table, a record shown as
//  soon as it was reserved) up to date: its records were all answered by
//  TraCuuHoSo then, so they stay shown; the reservations keep no body.
//  -1 with err.
static int s_migrate(lt_portal_store_t *self, lt_err_t *err)
{
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(self->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (version < 0)
        return lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db)), -1;
    if (version >= 1)
        return 0;
    if (s_exec(self,
               "BEGIN IMMEDIATE;"
               " INSERT OR IGNORE INTO shown (mahoso, agency, revision, updated, body)"
               "  SELECT mahoso, agency, revision, updated, body FROM records"
               "  WHERE length(body) > 0;"
               " UPDATE records SET body = X'' WHERE length(body) > 0;"
               " PRAGMA user_version = 1;"
               " COMMIT;",
               err)) {
        if (!sqlite3_get_autocommit(self->db))
            sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

//  Run a prepared statement without results (BEGIN, COMMIT, ROLLBACK); -1
//  with err (NULL: not wanted).
static int s_run(lt_portal_store_t *self, sqlite3_stmt *stmt, lt_err_t *err)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE)
        return 0;
    if (err)
        lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db));
    return -1;
}

//  Prepare one statement; -1 with err.
static int s_prepare(lt_portal_store_t *self, const char *sql, sqlite3_stmt **stmt, lt_err_t *err)
{
    if (sqlite3_prepare_v2(self->db, sql, -1, stmt, NULL) == SQLITE_OK)
        return 0;
    lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db));
    return -1;
}

lt_portal_store_t *lt_portal_store_new(const char *path, lt_err_t *err)
{
    assert(path);
    lt_portal_store_t *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "portal store: out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->db = lt_sqlite_open(path,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                              "portal store", err);
    if (!self->db) {
        lt_portal_store_destroy(&self);
        return NULL;
    }
    //  Normal locking, not EXCLUSIVE: `lthub backup` reads this file with
    //  SQLite's online backup while lthub-portal runs, as it reads every
    //  database of the data directory; an exclusive lock made it fail
    //  ("database is locked") after its busy timeout.
    if (s_exec(self,
               "PRAGMA journal_mode = WAL;"
               " PRAGMA synchronous = NORMAL;",
               err)
        || s_exec(self, s_schema, err) || s_migrate(self, err)
        || s_prepare(self,
                     "SELECT revision, digest,"
                     " COALESCE((SELECT agency FROM shown WHERE mahoso = ?1), agency)"
                     " FROM records WHERE mahoso = ?1",
                     &self->select, err)
        || s_prepare(self,
                     "INSERT INTO records (mahoso, agency, revision, digest, updated, body)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (mahoso) DO UPDATE SET"
                     " agency = ?2, revision = ?3, digest = ?4, updated = ?5, body = ?6",
                     &self->upsert, err)
        || s_prepare(self,
                     "INSERT INTO shown (mahoso, agency, revision, updated, body)"
                     " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (mahoso) DO UPDATE SET"
                     " agency = ?2, revision = ?3, updated = ?4, body = ?5"
                     " WHERE ?3 >= shown.revision AND shown.agency = ?2",
                     &self->confirm, err)
        || s_prepare(self, "SELECT body, agency FROM shown WHERE mahoso = ?1", &self->body, err)
        || s_prepare(self,
                     "SELECT COALESCE((SELECT agency FROM shown WHERE mahoso = ?1),"
                     " (SELECT agency FROM records WHERE mahoso = ?1))",
                     &self->owner, err)
        || s_prepare(self,
                     "INSERT INTO sent (msgid, state, at) VALUES (?1, ?2, ?3)"
                     " ON CONFLICT (msgid) DO UPDATE SET state = ?2",
                     &self->mark, err)
        || s_prepare(self, "SELECT state FROM sent WHERE msgid = ?1", &self->marked, err)
        || s_prepare(self, "BEGIN IMMEDIATE", &self->begin, err)
        || s_prepare(self, "COMMIT", &self->commit, err)
        || s_prepare(self, "ROLLBACK", &self->rollback, err)) {
        lt_portal_store_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_portal_store_destroy(lt_portal_store_t **self_p)
{
    assert(self_p);
    lt_portal_store_t *self = *self_p;
    if (!self)
        return;
    sqlite3_finalize(self->select);
    sqlite3_finalize(self->upsert);
    sqlite3_finalize(self->confirm);
    sqlite3_finalize(self->body);
    sqlite3_finalize(self->owner);
    sqlite3_finalize(self->mark);
    sqlite3_finalize(self->marked);
    sqlite3_finalize(self->begin);
    sqlite3_finalize(self->commit);
    sqlite3_finalize(self->rollback);
    if (self->db)
        sqlite3_close(self->db);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

//  Number and write one record inside the open transaction; 1 (nothing
//  written) when its MaHoSo is kept for another agency (shown for it, or,
//  when nothing is shown yet, reserved for it: a reservation may already
//  be at the broker, on its way to DVCQG), -1 with err.
static int s_put_one(lt_portal_store_t *self, lt_portal_record_t *record, int64_t now,
                     lt_err_t *err)
{
    sqlite3_reset(self->select);
    sqlite3_bind_text(self->select, 1, record->mahoso, -1, SQLITE_STATIC);
    int64_t revision = 0;
    bool same = false;
    record->foreign = false;
    int rc = sqlite3_step(self->select);
    if (rc == SQLITE_ROW) {
        revision = sqlite3_column_int64(self->select, 0);
        const char *digest = (const char *) sqlite3_column_text(self->select, 1);
        const char *owner = (const char *) sqlite3_column_text(self->select, 2);
        same = digest && strcmp(digest, record->digest) == 0;
        record->foreign = owner && strcmp(owner, record->agency) != 0;
    }
    else if (rc != SQLITE_DONE)
        return lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db)), -1;
    sqlite3_reset(self->select);
    if (record->foreign)
        return 1;
    if (!same)
        revision++;
    record->same = same;
    record->number = revision;
    snprintf(record->revision, sizeof(record->revision), "%lld-%.64s", (long long) revision,
             record->digest);
    sqlite3_reset(self->upsert);
    sqlite3_bind_text(self->upsert, 1, record->mahoso, -1, SQLITE_STATIC);
    sqlite3_bind_text(self->upsert, 2, record->agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(self->upsert, 3, revision);
    sqlite3_bind_text(self->upsert, 4, record->digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(self->upsert, 5, now);
    sqlite3_bind_zeroblob(self->upsert, 6, 0);   //  the body waits for the broker (confirm)
    rc = sqlite3_step(self->upsert);
    sqlite3_reset(self->upsert);
    if (rc != SQLITE_DONE)
        return lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db)), -1;
    return 0;
}

int lt_portal_store_put(lt_portal_store_t *self, lt_portal_record_t *records, size_t count,
                        lt_err_t *err)
{
    assert(self && (records || count == 0));
    int64_t now = lt_time_ms();
    pthread_mutex_lock(&self->lock);
    int rc = s_run(self, self->begin, err);
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (records[i].size > 0x7fffffff)
            rc = (lt_err_set(err, LT_ETOOBIG, "portal store: record too large"), -1);
        else
            rc = s_put_one(self, &records[i], now, err);
    }
    if (rc == 0)
        rc = s_run(self, self->commit, err);
    if (rc && !sqlite3_get_autocommit(self->db))
        s_run(self, self->rollback, NULL);   //  a foreign record (1) leaves nothing written
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  Show one confirmed record inside the open transaction, unless a later
//  revision is shown already (calls confirmed out of order); -1 with err.
static int s_confirm_one(lt_portal_store_t *self, const lt_portal_record_t *record, int64_t now,
                         lt_err_t *err)
{
    sqlite3_reset(self->confirm);
    sqlite3_bind_text(self->confirm, 1, record->mahoso, -1, SQLITE_STATIC);
    sqlite3_bind_text(self->confirm, 2, record->agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(self->confirm, 3, record->number);
    sqlite3_bind_int64(self->confirm, 4, now);
    sqlite3_bind_blob(self->confirm, 5, record->body, (int) record->size, SQLITE_STATIC);
    int rc = sqlite3_step(self->confirm);
    sqlite3_reset(self->confirm);
    if (rc != SQLITE_DONE)
        return lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db)), -1;
    return 0;
}

int lt_portal_store_confirm(lt_portal_store_t *self, const lt_portal_record_t *records,
                            size_t count, lt_err_t *err)
{
    assert(self && (records || count == 0));
    int64_t now = lt_time_ms();
    pthread_mutex_lock(&self->lock);
    int rc = s_run(self, self->begin, err);
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (records[i].size > 0x7fffffff || records[i].number < 1)
            rc = (lt_err_set(err, LT_EINVAL, "portal store: record not reserved"), -1);
        else
            rc = s_confirm_one(self, &records[i], now, err);
    }
    if (rc == 0)
        rc = s_run(self, self->commit, err);
    if (rc && !sqlite3_get_autocommit(self->db))
        s_run(self, self->rollback, NULL);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int lt_portal_store_get(lt_portal_store_t *self, const char *mahoso, const char *agency,
                        char **body_p, size_t *size_p, lt_err_t *err)
{
    assert(self && mahoso && body_p && size_p);
    pthread_mutex_lock(&self->lock);
    sqlite3_reset(self->body);
    sqlite3_bind_text(self->body, 1, mahoso, -1, SQLITE_STATIC);
    int rc = sqlite3_step(self->body);
    int result = 1;
    const char *owner = rc == SQLITE_ROW ? (const char *) sqlite3_column_text(self->body, 1) : NULL;
    if (rc == SQLITE_ROW && agency && (!owner || strcmp(owner, agency) != 0))
        ;   //  another agency's dossier: unknown to this one
    else if (rc == SQLITE_ROW) {
        size_t size = (size_t) sqlite3_column_bytes(self->body, 0);
        char *body = malloc(size + 1);
        if (body) {
            if (size)
                memcpy(body, sqlite3_column_blob(self->body, 0), size);
            body[size] = 0;
            *body_p = body;
            *size_p = size;
            result = 0;
        }
        else
            result = (lt_err_set(err, LT_ENOMEM, "portal store: out of memory"), -1);
    }
    else if (rc != SQLITE_DONE)
        result = (lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db)), -1);
    sqlite3_reset(self->body);
    pthread_mutex_unlock(&self->lock);
    return result;
}

int lt_portal_store_foreign(lt_portal_store_t *self, const char *mahoso, const char *agency,
                            lt_err_t *err)
{
    assert(self && mahoso && agency);
    pthread_mutex_lock(&self->lock);
    sqlite3_reset(self->owner);
    sqlite3_bind_text(self->owner, 1, mahoso, -1, SQLITE_STATIC);
    int rc = sqlite3_step(self->owner);
    int result = 0;
    if (rc == SQLITE_ROW) {
        const char *owner = (const char *) sqlite3_column_text(self->owner, 0);
        result = owner && strcmp(owner, agency) != 0;   //  NULL: never seen
    }
    else if (rc != SQLITE_DONE)
        result = (lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db)), -1);
    sqlite3_reset(self->owner);
    pthread_mutex_unlock(&self->lock);
    return result;
}

//  Write one delivery state with the lock held; -1 with err.
static int s_mark(lt_portal_store_t *self, const char *msgid, lt_portal_mark_t mark, int64_t now,
                  lt_err_t *err)
{
    sqlite3_reset(self->mark);
    sqlite3_bind_text(self->mark, 1, msgid, -1, SQLITE_STATIC);
    sqlite3_bind_int(self->mark, 2, (int) mark);
    sqlite3_bind_int64(self->mark, 3, now);
    int rc = sqlite3_step(self->mark) == SQLITE_DONE ? 0 : -1;
    if (rc)
        lt_err_set(err, LT_ESTORE, "portal store: %s", sqlite3_errmsg(self->db));
    sqlite3_reset(self->mark);
    return rc;
}

int lt_portal_store_mark(lt_portal_store_t *self, const char *msgid, lt_portal_mark_t mark,
                         lt_err_t *err)
{
    assert(self && msgid);
    return lt_portal_store_mark_many(self, &msgid, 1, mark, err);
}

int lt_portal_store_mark_many(lt_portal_store_t *self, const char *const *msgids, size_t count,
                              lt_portal_mark_t mark, lt_err_t *err)
{
    assert(self && (msgids || count == 0));
    int64_t now = lt_time_ms();
    pthread_mutex_lock(&self->lock);
    int rc = count > 1 ? s_run(self, self->begin, err) : 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = s_mark(self, msgids[i], mark, now, err);
    if (count > 1) {
        if (rc == 0)
            rc = s_run(self, self->commit, err);
        if (rc && !sqlite3_get_autocommit(self->db))
            s_run(self, self->rollback, NULL);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  Read one delivery state with the lock held.
static lt_portal_mark_t s_marked(lt_portal_store_t *self, const char *msgid)
{
    sqlite3_reset(self->marked);
    sqlite3_bind_text(self->marked, 1, msgid, -1, SQLITE_STATIC);
    int state = sqlite3_step(self->marked) == SQLITE_ROW ? sqlite3_column_int(self->marked, 0) : 0;
    sqlite3_reset(self->marked);
    return state == LT_PORTAL_SENDING || state == LT_PORTAL_SENT ? (lt_portal_mark_t) state
                                                                   : LT_PORTAL_UNSENT;
}

lt_portal_mark_t lt_portal_store_marked(lt_portal_store_t *self, const char *msgid)
{
    assert(self && msgid);
    lt_portal_mark_t mark;
    lt_portal_store_marked_many(self, &msgid, 1, &mark);
    return mark;
}

void lt_portal_store_marked_many(lt_portal_store_t *self, const char *const *msgids,
                                 size_t count, lt_portal_mark_t *marks)
{
    assert(self && (count == 0 || (msgids && marks)));
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < count; i++)
        marks[i] = s_marked(self, msgids[i]);
    pthread_mutex_unlock(&self->lock);
}

int64_t lt_portal_store_prune(lt_portal_store_t *self, int64_t before_ms)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = NULL;
    int64_t count = -1;
    if (sqlite3_prepare_v2(self->db, "DELETE FROM sent WHERE at < ?1", -1, &stmt, NULL)
        == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, before_ms);
        if (sqlite3_step(stmt) == SQLITE_DONE)
            count = sqlite3_changes(self->db);
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&self->lock);
    return count;
}

int64_t lt_portal_store_count(lt_portal_store_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = NULL;
    int64_t count = -1;
    if (sqlite3_prepare_v2(self->db, "SELECT count(*) FROM shown", -1, &stmt, NULL) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW)
        count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&self->lock);
    return count;
}

void lt_portal_store_test(bool verbose)
{
    if (verbose)
        printf(" * lt_portal_store: ");
    char path[] = "/tmp/lt_portal_store_test_XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    close(fd);
    lt_err_t err;
    lt_portal_store_t *store = lt_portal_store_new(path, &err);
    assert(store);
    lt_portal_record_t records[3] = {
        {.mahoso = "H-1", .agency = "A", .digest = "aa", .body = "{\"v\":1}", .size = 7},
        {.mahoso = "H-2", .agency = "A", .digest = "bb", .body = "{\"v\":2}", .size = 7},
        {.mahoso = "H-1", .agency = "A", .digest = "cc", .body = "{\"v\":3}", .size = 7},
    };
    assert(lt_portal_store_put(store, records, 3, &err) == 0);
    assert(strcmp(records[0].revision, "1-aa") == 0 && !records[0].same);
    assert(strcmp(records[1].revision, "1-bb") == 0);
    assert(strcmp(records[2].revision, "2-cc") == 0);
    //  Reserved, not confirmed: nothing to look up yet.
    char *body = NULL;
    size_t size = 0;
    assert(lt_portal_store_count(store) == 0);
    assert(lt_portal_store_get(store, "H-1", NULL, &body, &size, &err) == 1);
    assert(lt_portal_store_confirm(store, records, 2, &err) == 0);
    assert(lt_portal_store_get(store, "H-1", NULL, &body, &size, &err) == 0);
    assert(size == 7 && strcmp(body, "{\"v\":1}") == 0);
    free(body);
    //  Another process (lthub backup) can copy the file while it is open.
    {
        sqlite3 *from = NULL, *to = NULL;
        assert(sqlite3_open_v2(path, &from, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
        sqlite3_busy_timeout(from, 1000);
        assert(sqlite3_open(":memory:", &to) == SQLITE_OK);
        sqlite3_backup *copy = sqlite3_backup_init(to, "main", from, "main");
        assert(copy);
        assert(sqlite3_backup_step(copy, -1) == SQLITE_DONE);
        sqlite3_backup_finish(copy);
        sqlite3_stmt *count = NULL;
        assert(sqlite3_prepare_v2(to, "SELECT count(*) FROM records", -1, &count, NULL) ==
               SQLITE_OK);
        assert(sqlite3_step(count) == SQLITE_ROW && sqlite3_column_int(count, 0) == 2);
        sqlite3_finalize(count);
        sqlite3_close(to);
        sqlite3_close(from);
    }
    //  Confirmed out of order: the later revision stays shown.
    assert(lt_portal_store_confirm(store, &records[2], 1, &err) == 0);
    assert(lt_portal_store_confirm(store, &records[0], 1, &err) == 0);
    assert(lt_portal_store_count(store) == 2);
    //  An identical resend keeps its revision; a return to an old content does not.
    lt_portal_record_t again[2] = {
        {.mahoso = "H-1", .agency = "A", .digest = "cc", .body = "{\"v\":3}", .size = 7},
        {.mahoso = "H-2", .agency = "A", .digest = "aa", .body = "{\"v\":1}", .size = 7},
    };
    assert(lt_portal_store_put(store, again, 2, &err) == 0);
    assert(strcmp(again[0].revision, "2-cc") == 0 && again[0].same);
    assert(strcmp(again[1].revision, "2-aa") == 0 && !again[1].same);
    //  A reservation lost before its confirmation (a crash) leaves the
    //  confirmed record shown; its resend gets the same revision.
    lt_portal_store_destroy(&store);
    store = lt_portal_store_new(path, &err);
    assert(store);
    assert(lt_portal_store_get(store, "H-1", NULL, &body, &size, &err) == 0);
    assert(size == 7 && strcmp(body, "{\"v\":3}") == 0);
    free(body);
    assert(lt_portal_store_get(store, "H-2", NULL, &body, &size, &err) == 0);
    assert(size == 7 && strcmp(body, "{\"v\":2}") == 0);
    free(body);
    assert(lt_portal_store_put(store, &again[1], 1, &err) == 0);
    assert(strcmp(again[1].revision, "2-aa") == 0 && again[1].same);
    assert(lt_portal_store_confirm(store, &again[1], 1, &err) == 0);
    assert(lt_portal_store_get(store, "H-2", NULL, &body, &size, &err) == 0);
    assert(size == 7 && strcmp(body, "{\"v\":1}") == 0);
    free(body);
    assert(lt_portal_store_get(store, "H-9", NULL, &body, &size, &err) == 1);
    //  Delivery states survive a reopen; pruning forgets old ones.
    assert(lt_portal_store_marked(store, "m-1") == LT_PORTAL_UNSENT);
    assert(lt_portal_store_mark(store, "m-1", LT_PORTAL_SENDING, &err) == 0);
    assert(lt_portal_store_marked(store, "m-1") == LT_PORTAL_SENDING);
    assert(lt_portal_store_mark(store, "m-1", LT_PORTAL_SENT, &err) == 0);
    lt_portal_store_destroy(&store);
    store = lt_portal_store_new(path, &err);
    assert(store && lt_portal_store_marked(store, "m-1") == LT_PORTAL_SENT);
    assert(lt_portal_store_prune(store, lt_time_ms() - 60000) == 0);
    assert(lt_portal_store_prune(store, lt_time_ms() + 1) == 1);
    assert(lt_portal_store_marked(store, "m-1") == LT_PORTAL_UNSENT);
    const char *ids[] = {"m-2", "m-3", "m-4"};
    assert(lt_portal_store_mark_many(store, ids, 2, LT_PORTAL_SENT, &err) == 0);
    assert(lt_portal_store_marked(store, "m-3") == LT_PORTAL_SENT);
    lt_portal_mark_t marks[3];
    assert(lt_portal_store_mark(store, "m-4", LT_PORTAL_SENDING, &err) == 0);
    lt_portal_store_marked_many(store, ids, 3, marks);
    assert(marks[0] == LT_PORTAL_SENT && marks[1] == LT_PORTAL_SENT
           && marks[2] == LT_PORTAL_SENDING);
    //  A dossier shown for agency A is unknown to agency B, which cannot
    //  number a record of it either.
    assert(lt_portal_store_get(store, "H-1", "A", &body, &size, &err) == 0);
    free(body);
    assert(lt_portal_store_get(store, "H-1", "B", &body, &size, &err) == 1);
    lt_portal_record_t other[2] = {
        {.mahoso = "H-5", .agency = "B", .digest = "ee", .body = "{}", .size = 2},
        {.mahoso = "H-1", .agency = "B", .digest = "ff", .body = "{}", .size = 2},
    };
    assert(lt_portal_store_put(store, other, 2, &err) == 1);
    assert(!other[0].foreign && other[1].foreign);
    assert(lt_portal_store_put(store, other, 1, &err) == 0);   //  H-5 was not kept before
    assert(strcmp(other[0].revision, "1-ee") == 0);
    //  Whose a dossier is, for a progress step: H-1 is A's, H-5 only
    //  reserved (not shown) for B, H-9 never seen.
    assert(lt_portal_store_foreign(store, "H-1", "A", &err) == 0);
    assert(lt_portal_store_foreign(store, "H-1", "B", &err) == 1);
    assert(lt_portal_store_foreign(store, "H-5", "A", &err) == 1);
    assert(lt_portal_store_foreign(store, "H-5", "B", &err) == 0);
    assert(lt_portal_store_foreign(store, "H-9", "B", &err) == 0);
    //  A reservation not yet confirmed (a call answered -9, whose record
    //  may be at the broker already) keeps the dossier for its agency.
    lt_portal_record_t claim = {.mahoso = "H-5", .agency = "A", .digest = "dd", .body = "{}",
                                .size = 2};
    assert(lt_portal_store_put(store, &claim, 1, &err) == 1 && claim.foreign);
    claim.agency = "B";
    assert(lt_portal_store_put(store, &claim, 1, &err) == 0 && !claim.foreign);
    assert(strcmp(claim.revision, "2-dd") == 0);
    lt_portal_store_destroy(&store);
    assert(!store);
    lt_portal_store_destroy(&store);
    //  A store of schema 0 (records shown as soon as numbered) keeps them shown.
    unlink(path);
    sqlite3 *db = NULL;
    assert(sqlite3_open(path, &db) == SQLITE_OK);
    assert(sqlite3_exec(db,
                        "CREATE TABLE records (mahoso TEXT PRIMARY KEY, agency TEXT NOT NULL,"
                        " revision INTEGER NOT NULL, digest TEXT NOT NULL,"
                        " updated INTEGER NOT NULL, body BLOB NOT NULL);"
                        "INSERT INTO records VALUES ('H-7', 'A', 3, 'dd', 1, '{\"v\":7}')",
                        NULL, NULL, NULL)
           == SQLITE_OK);
    sqlite3_close(db);
    store = lt_portal_store_new(path, &err);
    assert(store && lt_portal_store_count(store) == 1);
    assert(lt_portal_store_get(store, "H-7", NULL, &body, &size, &err) == 0);
    assert(size == 7 && strcmp(body, "{\"v\":7}") == 0);
    free(body);
    lt_portal_record_t old = {.mahoso = "H-7", .agency = "A", .digest = "dd", .body = "{}",
                              .size = 2};
    assert(lt_portal_store_put(store, &old, 1, &err) == 0);
    assert(strcmp(old.revision, "3-dd") == 0 && old.same);
    lt_portal_store_destroy(&store);
    unlink(path);
    char side[sizeof(path) + 8];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    if (verbose)
        printf("OK\n");
}
