/*  lt_mailbox: the durable per-system mailboxes of lthub-dms (see the header).

    Tables: packages (one row per broker message, the package bytes),
    items (one row per system, message and agency), counts (kept by
    triggers, so that the stats never scan the audit trail), arrivals (the
    automatic status 01 owed per DocumentId and agency). The schema version
    lives in PRAGMA user_version; migrations run in order at open.
*/
#include "lt_mailbox.h"
#include "lt_sqlite.h"

#include "lt_id.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _lt_mailbox_t {
    sqlite3 *db;              //  the open mailbox file
    pthread_mutex_t lock;     //  serializes every use of db
    int64_t purge_cursor[2];  //  (updated, rowid) of the last done item the purge looked at
};

//  Migrations in order; migration i brings user_version to i + 1.
static const char *s_migrations[] = {
    "CREATE TABLE packages ("
    "  msgid TEXT PRIMARY KEY,"            //  broker message id
    "  kind TEXT NOT NULL,"                //  edoc or status
    "  key TEXT NOT NULL,"                 //  DocumentId
    "  btype TEXT NOT NULL,"               //  new, revocation, ... or StatusCode
    "  sender TEXT NOT NULL,"              //  sender agency code
    "  size INTEGER NOT NULL,"             //  package bytes
    "  sha256 TEXT NOT NULL,"              //  package digest
    "  data BLOB,"                         //  package bytes; NULL once purged
    "  created INTEGER NOT NULL);"
    "CREATE TABLE items ("
    "  id TEXT PRIMARY KEY,"               //  docId seen by the system
    "  system TEXT NOT NULL,"
    "  msgid TEXT NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'initial',"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  fetched INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (system, msgid, agency));"
    "CREATE INDEX items_open ON items (system) WHERE state <> 'done';"
    "CREATE INDEX items_msgid ON items (msgid);"
    "CREATE TABLE counts ("
    "  system TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL,"
    "  PRIMARY KEY (system, state));"
    "CREATE TRIGGER items_counted AFTER INSERT ON items BEGIN"
    "  INSERT INTO counts (system, state, n) VALUES (NEW.system, NEW.state, 1)"
    "  ON CONFLICT (system, state) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER items_recounted AFTER UPDATE OF state ON items"
    "  WHEN OLD.state <> NEW.state BEGIN"
    "  UPDATE counts SET n = n - 1 WHERE system = OLD.system AND state = OLD.state;"
    "  INSERT INTO counts (system, state, n) VALUES (NEW.system, NEW.state, 1)"
    "  ON CONFLICT (system, state) DO UPDATE SET n = n + 1; END;"
    "CREATE TABLE arrivals ("
    "  key TEXT NOT NULL,"                 //  DocumentId
    "  agency TEXT NOT NULL,"              //  recipient agency that fetched it
    "  item TEXT NOT NULL,"                //  the item fetched first
    "  system TEXT NOT NULL,"
    "  msgid TEXT NOT NULL,"
    "  state TEXT NOT NULL,"               //  owed, sent or failed
    "  note TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  PRIMARY KEY (key, agency));"
    "CREATE INDEX arrivals_owed ON arrivals (created) WHERE state = 'owed';",
    //  2: bounds (count, bytes, age). evicted: when the bounds first removed
    //  an item of the package (Unix ms); such a package is never given
    //  items again, and without items it is a stub (no bytes) kept as the
    //  message's dedup key until the age bound removes it. totals: the
    //  package bytes held, kept by triggers, and what the bounds removed.
    "ALTER TABLE packages ADD COLUMN evicted INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX items_done ON items (updated) WHERE state = 'done';"
    "CREATE INDEX packages_evicted ON packages (created) WHERE evicted > 0;"
    "CREATE TRIGGER items_uncounted AFTER DELETE ON items BEGIN"
    "  UPDATE counts SET n = n - 1 WHERE system = OLD.system AND state = OLD.state; END;"
    "CREATE TABLE totals ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  bytes INTEGER NOT NULL,"              //  bytes of the packages holding data
    "  pruned_items INTEGER NOT NULL DEFAULT 0,"
    "  pruned_packages INTEGER NOT NULL DEFAULT 0,"
    "  stubs INTEGER NOT NULL DEFAULT 0);"   //  packages kept as dedup keys only
    "INSERT INTO totals (id, bytes)"
    "  SELECT 1, COALESCE(SUM(size), 0) FROM packages WHERE data IS NOT NULL;"
    "CREATE TRIGGER packages_added AFTER INSERT ON packages WHEN NEW.data IS NOT NULL BEGIN"
    "  UPDATE totals SET bytes = bytes + NEW.size; END;"
    "CREATE TRIGGER packages_changed AFTER UPDATE OF data ON packages BEGIN"
    "  UPDATE totals SET bytes = bytes"
    "    - (CASE WHEN OLD.data IS NULL THEN 0 ELSE OLD.size END)"
    "    + (CASE WHEN NEW.data IS NULL THEN 0 ELSE NEW.size END); END;"
    "CREATE TRIGGER packages_removed AFTER DELETE ON packages WHEN OLD.data IS NOT NULL BEGIN"
    "  UPDATE totals SET bytes = bytes - OLD.size; END;",
};

#define S_MIGRATIONS (sizeof(s_migrations) / sizeof(s_migrations[0]))

//  The item columns every item query selects, in lt_mailbox_item_t order.
#define S_ITEM_COLUMNS                                                                         \
    "i.id, i.system, i.msgid, i.agency, p.kind, p.key, p.btype, p.sender, i.state, "          \
    "i.description, p.size, i.created, i.updated, i.fetched"

//  Fill err from the connection's last error, prefixed with what was done;
//  a full disk is LT_EUNAVAIL (transient: nothing was written, try again
//  when there is space), any other failure LT_ESTORE.
static int s_fail(lt_mailbox_t *self, lt_err_t *err, const char *what)
{
    int code = sqlite3_errcode(self->db);
    if (code == SQLITE_FULL || sqlite3_system_errno(self->db) == ENOSPC)
        lt_err_set(err, LT_EUNAVAIL,
                   "mailbox: the disk is full (%s: %s); nothing was stored, it is tried again "
                   "when there is space",
                   what, sqlite3_errmsg(self->db));
    else
        lt_err_set(err, LT_ESTORE, "mailbox: %s: %s", what, sqlite3_errmsg(self->db));
    return -1;
}

//  Fill err for an allocation failure; returns -1.
static int s_nomem(lt_err_t *err)
{
    lt_err_set(err, LT_ENOMEM, "mailbox: out of memory");
    return -1;
}

//  Run SQL without results; 0 or -1 with err.
static int s_exec(lt_mailbox_t *self, const char *sql, lt_err_t *err)
{
    char *message = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &message) == SQLITE_OK)
        return 0;
    sqlite3_free(message);
    return s_fail(self, err, sql);
}

//  Prepare a statement; NULL with err filled.
static sqlite3_stmt *s_prepare(lt_mailbox_t *self, const char *sql, lt_err_t *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        s_fail(self, err, "prepare");
        return NULL;
    }
    return stmt;
}

//  Return a copy of a text column ("" when NULL); NULL on no memory.
static char *s_text(sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text(stmt, column);
    return strdup(text ? (const char *) text : "");
}

//  Read the item columns of the current row into item; -1 on no memory.
static int s_item_read(sqlite3_stmt *stmt, lt_mailbox_item_t *item)
{
    memset(item, 0, sizeof(*item));
    char **strings[] = {&item->id,    &item->system, &item->msgid,  &item->agency,
                        &item->messagetype, &item->key, &item->btype, &item->sender,
                        &item->state, &item->description};
    int ok = 0;
    for (int i = 0; i < (int) (sizeof(strings) / sizeof(strings[0])); i++)
        if (!(*strings[i] = s_text(stmt, i)))
            ok = -1;
    item->size = (uint64_t) sqlite3_column_int64(stmt, 10);
    item->created = sqlite3_column_int64(stmt, 11);
    item->updated = sqlite3_column_int64(stmt, 12);
    item->fetched = sqlite3_column_int64(stmt, 13);
    if (ok)
        lt_mailbox_item_clear(item);
    return ok;
}

//  Bring the schema to the newest version.
static int s_migrate(lt_mailbox_t *self, lt_err_t *err)
{
    sqlite3_stmt *stmt = s_prepare(self, "PRAGMA user_version", err);
    if (!stmt)
        return -1;
    int64_t version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (version > (int64_t) S_MIGRATIONS)
        return lt_err_set(err, LT_ESTORE,
                          "mailbox: schema version %lld is newer than this program (%zu)",
                          (long long) version, S_MIGRATIONS),
               -1;
    for (size_t i = (size_t) version; i < S_MIGRATIONS; i++) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu", i + 1);
        if (s_exec(self, "BEGIN IMMEDIATE", err))
            return -1;
        if (s_exec(self, s_migrations[i], err) || s_exec(self, pragma, err)
            || s_exec(self, "COMMIT", err)) {
            s_exec(self, "ROLLBACK", NULL);
            return -1;
        }
    }
    return 0;
}

lt_mailbox_t *lt_mailbox_new(const char *path, lt_err_t *err)
{
    assert(path);
    lt_mailbox_t *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "mailbox: out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->db = lt_sqlite_open(
        path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, "mailbox", err);
    if (!self->db) {
        lt_mailbox_destroy(&self);
        return NULL;
    }
    //  synchronous=FULL: a committed item is on disk before the broker hears DONE.
    if (s_exec(self,
               "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
               " PRAGMA journal_size_limit = 67108864; PRAGMA foreign_keys = OFF;",
               err)
        || s_migrate(self, err)) {
        char detail[sizeof(err->detail)];
        snprintf(detail, sizeof(detail), "%s", err ? err->detail : "");
        lt_err_set(err, LT_ESTORE, "%s (file %s)", detail, path);
        lt_mailbox_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_mailbox_destroy(lt_mailbox_t **self_p)
{
    assert(self_p);
    lt_mailbox_t *self = *self_p;
    if (!self)
        return;
    if (self->db)
        sqlite3_close(self->db);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

//  A message id names one package: another package under a known id is
//  refused, never merged with the first. -1 with err when it differs, 1
//  when the bounds already evicted items of it (a redelivery then adds
//  nothing: its systems had it and marked it done), 0 otherwise.
static int s_same_package(lt_mailbox_t *self, const lt_envelope_t *env, lt_err_t *err)
{
    sqlite3_stmt *stmt =
        s_prepare(self, "SELECT sha256, evicted FROM packages WHERE msgid = ?1", err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, lt_envelope_id(env), -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *known = (const char *) sqlite3_column_text(stmt, 0);
        if (known && strcmp(known, lt_envelope_sha256(env)) != 0) {
            lt_err_set(err, LT_EINVAL,
                       "mailbox: message id %s already holds another package (sha256 "
                       "%.16s..., this one %.16s...); refused, not merged",
                       lt_envelope_id(env), known, lt_envelope_sha256(env));
            rc = -1;
        }
        else if (sqlite3_column_int64(stmt, 1) > 0)
            rc = 1;
    }
    sqlite3_finalize(stmt);
    return rc;
}

//  Store the package and the items inside an open transaction; -1 with err.
static int s_put(lt_mailbox_t *self, const lt_envelope_t *env, const void *payload, size_t size,
                 const lt_mailbox_target_t *targets, size_t count, size_t *added, lt_err_t *err)
{
    int64_t now = lt_time_ms();
    int same = s_same_package(self, env, err);
    if (same)
        return same > 0 ? 0 : -1;
    sqlite3_stmt *stmt = s_prepare(
        self,
        "INSERT INTO packages (msgid, kind, key, btype, sender, size, sha256, data, created)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (msgid)"
        " DO UPDATE SET data = excluded.data WHERE data IS NULL",
        err);
    if (!stmt)
        return -1;
    const char *kind = lt_envelope_kind(env) == LT_KIND_STATUS ? "status" : "edoc";
    sqlite3_bind_text(stmt, 1, lt_envelope_id(env), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, lt_envelope_key(env), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, lt_envelope_btype(env), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, lt_envelope_sender(env), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64) size);
    sqlite3_bind_text(stmt, 7, lt_envelope_sha256(env), -1, SQLITE_STATIC);
    sqlite3_bind_blob64(stmt, 8, size ? payload : "", (sqlite3_uint64) size, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 9, now);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return s_fail(self, err, "store package");
    stmt = s_prepare(self,
                     "INSERT OR IGNORE INTO items (id, system, msgid, agency, created, updated)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                     err);
    if (!stmt)
        return -1;
    for (size_t i = 0; i < count; i++) {
        char id[LT_ID_LEN + 1];
        lt_id_new(id);
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 2, targets[i].system, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, lt_envelope_id(env), -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, targets[i].agency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, now);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            s_fail(self, err, "store item");
            sqlite3_finalize(stmt);
            return -1;
        }
        if (added)
            *added += (size_t) sqlite3_changes(self->db);
    }
    sqlite3_finalize(stmt);
    return 0;
}

int lt_mailbox_put(lt_mailbox_t *self, const lt_envelope_t *env, const void *payload, size_t size,
                   const lt_mailbox_target_t *targets, size_t count, size_t *added,
                   lt_err_t *err)
{
    assert(self && env && (targets || count == 0));
    if (added)
        *added = 0;
    if (!lt_id_valid(lt_envelope_id(env)))
        return lt_err_set(err, LT_EFIELD, "mailbox: message id '%.64s' is not a UUIDv7",
                          lt_envelope_id(env)),
               -1;
    pthread_mutex_lock(&self->lock);
    int rc = s_exec(self, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = s_put(self, env, payload, size, targets, count, added, err);
        if (rc == 0)
            rc = s_exec(self, "COMMIT", err);
        if (rc) {
            s_exec(self, "ROLLBACK", NULL);
            if (added)
                *added = 0;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int lt_mailbox_list(lt_mailbox_t *self, const char *system, const char *messagetype, size_t max,
                    lt_mailbox_item_t **items_p, size_t *count_p, lt_err_t *err)
{
    assert(self && system && items_p && count_p);
    *items_p = NULL;
    *count_p = 0;
    //  Items still to fetch or being processed first, then those the system
    //  marked fail: failed items stay listed, but never so many that they
    //  hide new ones from a bounded answer.
    static const char *const passes[] = {
        "SELECT " S_ITEM_COLUMNS " FROM items i JOIN packages p"
        " ON p.msgid = i.msgid WHERE i.system = ?1"
        " AND i.state <> 'done' AND i.state <> 'fail' AND (?2 = '' OR p.kind = ?2)"
        " ORDER BY i.rowid LIMIT ?3",
        "SELECT " S_ITEM_COLUMNS " FROM items i JOIN packages p"
        " ON p.msgid = i.msgid WHERE i.system = ?1"
        " AND i.state <> 'done' AND i.state = 'fail' AND (?2 = '' OR p.kind = ?2)"
        " ORDER BY i.rowid LIMIT ?3",
    };
    if (max > INT32_MAX)
        max = INT32_MAX;
    int rc = 0;
    size_t alloc = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t pass = 0; rc == 0 && pass < 2 && *count_p < max; pass++) {
        sqlite3_stmt *stmt = s_prepare(self, passes[pass], err);
        if (!stmt) {
            rc = -1;
            break;
        }
        sqlite3_bind_text(stmt, 1, system, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, messagetype ? messagetype : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64) (max - *count_p));
        int step;
        while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (*count_p == alloc) {
                alloc = alloc ? alloc * 2 : 16;
                lt_mailbox_item_t *grown = realloc(*items_p, alloc * sizeof(**items_p));
                if (!grown) {
                    rc = s_nomem(err);
                    break;
                }
                *items_p = grown;
            }
            if (s_item_read(stmt, &(*items_p)[*count_p])) {
                rc = s_nomem(err);
                break;
            }
            (*count_p)++;
        }
        if (rc == 0 && step != SQLITE_DONE)
            rc = s_fail(self, err, "list");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&self->lock);
    if (rc)
        lt_mailbox_items_free(items_p, *count_p);
    if (rc)
        *count_p = 0;
    return rc;
}

void lt_mailbox_item_clear(lt_mailbox_item_t *item)
{
    if (!item)
        return;
    free(item->id);
    free(item->system);
    free(item->msgid);
    free(item->agency);
    free(item->messagetype);
    free(item->key);
    free(item->btype);
    free(item->sender);
    free(item->state);
    free(item->description);
    memset(item, 0, sizeof(*item));
}

void lt_mailbox_items_free(lt_mailbox_item_t **items_p, size_t count)
{
    assert(items_p);
    if (!*items_p)
        return;
    for (size_t i = 0; i < count; i++)
        lt_mailbox_item_clear(&(*items_p)[i]);
    free(*items_p);
    *items_p = NULL;
}

//  Copy a blob column into a new buffer; -1 on no memory.
static int s_blob(sqlite3_stmt *stmt, int column, uint8_t **data_p, size_t *size_p)
{
    const void *blob = sqlite3_column_blob(stmt, column);
    size_t size = (size_t) sqlite3_column_bytes(stmt, column);
    uint8_t *data = malloc(size + 1);
    if (!data)
        return -1;
    if (size)
        memcpy(data, blob, size);
    data[size] = 0;
    *data_p = data;
    *size_p = size;
    return 0;
}

int lt_mailbox_fetch(lt_mailbox_t *self, const char *system, const char *id, uint8_t **data_p,
                     size_t *size_p, lt_mailbox_item_t *item, bool *first, lt_err_t *err)
{
    assert(self && system && id && data_p && size_p);
    *data_p = NULL;
    *size_p = 0;
    if (item)
        memset(item, 0, sizeof(*item));
    if (first)
        *first = false;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(self,
                                   "SELECT " S_ITEM_COLUMNS ", p.data FROM items i JOIN packages p"
                                   " ON p.msgid = i.msgid WHERE i.system = ?1 AND i.id = ?2",
                                   err);
    int rc = stmt ? 1 : -1;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, system, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
        int step = sqlite3_step(stmt);
        if (step == SQLITE_ROW && sqlite3_column_type(stmt, 14) != SQLITE_NULL) {
            lt_mailbox_item_t row;
            if (s_item_read(stmt, &row) || s_blob(stmt, 14, data_p, size_p)) {
                rc = s_nomem(err);
                lt_mailbox_item_clear(&row);
            }
            else {
                rc = 0;
                if (item)
                    *item = row;
                else
                    lt_mailbox_item_clear(&row);
            }
            bool never = sqlite3_column_int64(stmt, 13) == 0;
            sqlite3_finalize(stmt);
            stmt = NULL;
            if (rc == 0 && never) {
                sqlite3_stmt *mark = s_prepare(
                    self, "UPDATE items SET fetched = ?1 WHERE id = ?2 AND fetched = 0", err);
                if (mark) {
                    int64_t now = lt_time_ms();
                    sqlite3_bind_int64(mark, 1, now);
                    sqlite3_bind_text(mark, 2, id, -1, SQLITE_STATIC);
                    if (sqlite3_step(mark) == SQLITE_DONE) {
                        if (first)
                            *first = sqlite3_changes(self->db) > 0;
                        if (item)
                            item->fetched = now;
                    }
                    sqlite3_finalize(mark);
                }
            }
        }
        else if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = s_fail(self, err, "fetch");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&self->lock);
    if (rc) {
        free(*data_p);
        *data_p = NULL;
        *size_p = 0;
        if (item)
            lt_mailbox_item_clear(item);
    }
    return rc;
}

int lt_mailbox_update(lt_mailbox_t *self, const char *system, const char *id, const char *state,
                      const char *description, lt_err_t *err)
{
    assert(self && system && id && state);
    if (strcmp(state, "processing") != 0 && strcmp(state, "done") != 0
        && strcmp(state, "fail") != 0)
        return lt_err_set(err, LT_EFIELD, "status must be processing, done or fail, not '%.32s'",
                          state),
               -1;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(self,
                                   "UPDATE items SET state = ?1, description = ?2, updated = ?3"
                                   " WHERE system = ?4 AND id = ?5 AND state <> 'done'",
                                   err);
    int rc = stmt ? 0 : -1;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, description ? description : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, lt_time_ms());
        sqlite3_bind_text(stmt, 4, system, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, id, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = s_fail(self, err, "update");
        bool changed = rc == 0 && sqlite3_changes(self->db) > 0;
        sqlite3_finalize(stmt);
        if (rc == 0 && !changed) {
            //  Unchanged: either already done (an answer of OK) or not the caller's.
            stmt = s_prepare(self, "SELECT 1 FROM items WHERE system = ?1 AND id = ?2", err);
            if (!stmt)
                rc = -1;
            else {
                sqlite3_bind_text(stmt, 1, system, -1, SQLITE_STATIC);
                sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
                int step = sqlite3_step(stmt);
                rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? 1 : s_fail(self, err, "update");
                sqlite3_finalize(stmt);
            }
        }
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int lt_mailbox_payload(lt_mailbox_t *self, const char *msgid, uint8_t **data_p, size_t *size_p,
                       lt_err_t *err)
{
    assert(self && msgid && data_p && size_p);
    *data_p = NULL;
    *size_p = 0;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(
        self, "SELECT data FROM packages WHERE msgid = ?1 AND data IS NOT NULL", err);
    int rc = stmt ? 1 : -1;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, msgid, -1, SQLITE_STATIC);
        int step = sqlite3_step(stmt);
        if (step == SQLITE_ROW)
            rc = s_blob(stmt, 0, data_p, size_p) ? s_nomem(err) : 0;
        else if (step != SQLITE_DONE)
            rc = s_fail(self, err, "payload");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int lt_mailbox_arrival_claim(lt_mailbox_t *self, const lt_mailbox_item_t *item, lt_err_t *err)
{
    assert(self && item && item->key && item->agency && item->id);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(
        self,
        "INSERT OR IGNORE INTO arrivals (key, agency, item, system, msgid, state, created, updated)"
        " VALUES (?1, ?2, ?3, ?4, ?5, 'owed', ?6, ?6)",
        err);
    int rc = -1;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, item->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, item->agency, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, item->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, item->system ? item->system : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, item->msgid ? item->msgid : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, lt_time_ms());
        if (sqlite3_step(stmt) == SQLITE_DONE)
            rc = sqlite3_changes(self->db) > 0 ? 1 : 0;
        else
            s_fail(self, err, "claim arrival");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void lt_mailbox_arrivals_free(lt_mailbox_arrival_t **list_p, size_t count)
{
    assert(list_p);
    if (!*list_p)
        return;
    for (size_t i = 0; i < count; i++) {
        lt_mailbox_arrival_t *a = &(*list_p)[i];
        free(a->key);
        free(a->agency);
        free(a->item);
        free(a->system);
        free(a->msgid);
    }
    free(*list_p);
    *list_p = NULL;
}

int lt_mailbox_arrivals(lt_mailbox_t *self, size_t max, lt_mailbox_arrival_t **list_p,
                        size_t *count_p, lt_err_t *err)
{
    assert(self && list_p && count_p);
    *list_p = NULL;
    *count_p = 0;
    if (max == 0)
        return 0;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(self,
                                   "SELECT key, agency, item, system, msgid FROM arrivals"
                                   " WHERE state = 'owed' ORDER BY created LIMIT ?1",
                                   err);
    int rc = stmt ? 0 : -1;
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64) (max > INT32_MAX ? INT32_MAX : max));
        lt_mailbox_arrival_t *list = calloc(max > 1024 ? 1024 : max, sizeof(*list));
        size_t alloc = max > 1024 ? 1024 : max;
        int step = SQLITE_DONE;
        while (list && *count_p < alloc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
            lt_mailbox_arrival_t *a = &list[(*count_p)++];
            a->key = s_text(stmt, 0);
            a->agency = s_text(stmt, 1);
            a->item = s_text(stmt, 2);
            a->system = s_text(stmt, 3);
            a->msgid = s_text(stmt, 4);
            if (!a->key || !a->agency || !a->item || !a->system || !a->msgid) {
                rc = s_nomem(err);
                break;
            }
        }
        if (!list)
            rc = s_nomem(err);
        else if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
            rc = s_fail(self, err, "arrivals");
        sqlite3_finalize(stmt);
        *list_p = list;
    }
    pthread_mutex_unlock(&self->lock);
    if (rc) {
        lt_mailbox_arrivals_free(list_p, *count_p);
        *count_p = 0;
    }
    return rc;
}

int lt_mailbox_arrival_close(lt_mailbox_t *self, const char *key, const char *agency,
                             const char *state, const char *note, lt_err_t *err)
{
    assert(self && key && agency && state);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(self,
                                   "UPDATE arrivals SET state = ?1, note = ?2, updated = ?3"
                                   " WHERE key = ?4 AND agency = ?5",
                                   err);
    int rc = stmt ? 0 : -1;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, note ? note : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, lt_time_ms());
        sqlite3_bind_text(stmt, 4, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, agency, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = s_fail(self, err, "close arrival");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  The purge step inside an open transaction: the done items past the
//  cursor and done before before_ms, and the bytes of each one's package
//  when all its items are done before then. *next receives the new cursor.
static int s_purge(lt_mailbox_t *self, int64_t before_ms, uint32_t max, size_t *purged,
                   bool *more, int64_t next[2], lt_err_t *err)
{
    sqlite3_stmt *stmt = s_prepare(self,
                                   "SELECT i.rowid, i.updated, i.msgid FROM items i"
                                   " WHERE i.state = 'done' AND i.updated < ?1"
                                   " AND (i.updated, i.rowid) > (?2, ?3)"
                                   " ORDER BY i.updated, i.rowid LIMIT ?4",
                                   err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, before_ms);
    sqlite3_bind_int64(stmt, 2, self->purge_cursor[0]);
    sqlite3_bind_int64(stmt, 3, self->purge_cursor[1]);
    sqlite3_bind_int64(stmt, 4, max);
    char (*msgids)[LT_MAILBOX_ID_MAX] = calloc(max, LT_MAILBOX_ID_MAX);
    size_t count = 0;
    int step = SQLITE_DONE;
    while (msgids && count < max && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        next[0] = sqlite3_column_int64(stmt, 1);
        next[1] = sqlite3_column_int64(stmt, 0);
        const unsigned char *msgid = sqlite3_column_text(stmt, 2);
        snprintf(msgids[count++], LT_MAILBOX_ID_MAX, "%s", msgid ? (const char *) msgid : "");
    }
    sqlite3_finalize(stmt);
    if (!msgids)
        return s_nomem(err);
    int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : s_fail(self, err, "purge");
    stmt = rc ? NULL
              : s_prepare(self,
                          "UPDATE packages SET data = NULL WHERE msgid = ?1 AND data IS NOT NULL"
                          " AND NOT EXISTS (SELECT 1 FROM items i WHERE i.msgid = ?1"
                          "   AND (i.state <> 'done' OR i.updated >= ?2))",
                          err);
    if (!rc && !stmt)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, msgids[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, before_ms);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = s_fail(self, err, "purge");
        else
            *purged += (size_t) sqlite3_changes(self->db);
    }
    sqlite3_finalize(stmt);
    free(msgids);
    *more = rc == 0 && count == max;
    return rc;
}

int lt_mailbox_purge(lt_mailbox_t *self, int64_t before_ms, uint32_t max, size_t *purged,
                     bool *more, lt_err_t *err)
{
    assert(self);
    size_t dropped = 0;
    bool again = false;
    if (max == 0)
        max = 1;
    pthread_mutex_lock(&self->lock);
    int64_t next[2] = {self->purge_cursor[0], self->purge_cursor[1]};
    int rc = s_exec(self, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = s_purge(self, before_ms, max, &dropped, &again, next, err);
        if (rc == 0)
            rc = s_exec(self, "COMMIT", err);
        if (rc)
            s_exec(self, "ROLLBACK", NULL);
        else {
            self->purge_cursor[0] = next[0];
            self->purge_cursor[1] = next[1];
        }
    }
    pthread_mutex_unlock(&self->lock);
    if (purged)
        *purged = rc ? 0 : dropped;
    if (more)
        *more = rc ? false : again;
    return rc;
}

json_t *lt_mailbox_counts(lt_mailbox_t *self)
{
    assert(self);
    json_t *out = json_object();
    if (!out)
        return NULL;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt
        = s_prepare(self, "SELECT system, state, n FROM counts ORDER BY system, state", NULL);
    int step = SQLITE_ERROR;
    while (stmt && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *system = (const char *) sqlite3_column_text(stmt, 0);
        const char *state = (const char *) sqlite3_column_text(stmt, 1);
        json_int_t n = sqlite3_column_int64(stmt, 2);
        if (!system || !state)
            continue;
        json_t *per = json_object_get(out, system);
        if (!per) {
            per = json_pack("{s:I, s:I, s:I, s:I, s:I}", "initial", (json_int_t) 0,
                            "processing", (json_int_t) 0, "fail", (json_int_t) 0, "done",
                            (json_int_t) 0, "pending", (json_int_t) 0);
            json_object_set_new(out, system, per);
        }
        json_object_set_new(per, state, json_integer(n));
        if (strcmp(state, "done") != 0) {
            json_int_t pending = json_integer_value(json_object_get(per, "pending"));
            json_object_set_new(per, "pending", json_integer(pending + n));
        }
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&self->lock);
    if (step != SQLITE_DONE) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int lt_mailbox_receipt(lt_mailbox_t *self, const char *msgid, const char *agency,
                       char id[LT_MAILBOX_ID_MAX], char state[LT_MAILBOX_STATE_MAX],
                       int64_t *updated, lt_err_t *err)
{
    assert(self && msgid && agency && id && state && updated);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(self,
                                   "SELECT id, state, updated FROM items WHERE msgid = ?"
                                   " AND agency = ? ORDER BY created LIMIT 1",
                                   err);
    int rc = stmt ? 1 : -1;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, msgid, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, agency, -1, SQLITE_STATIC);
        int step = sqlite3_step(stmt);
        if (step == SQLITE_ROW) {
            const unsigned char *text = sqlite3_column_text(stmt, 0);
            snprintf(id, LT_MAILBOX_ID_MAX, "%s", text ? (const char *) text : "");
            text = sqlite3_column_text(stmt, 1);
            snprintf(state, LT_MAILBOX_STATE_MAX, "%s", text ? (const char *) text : "");
            *updated = sqlite3_column_int64(stmt, 2);
            rc = 0;
        }
        else if (step != SQLITE_DONE)
            rc = s_fail(self, err, "receipt");
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Bounds

//  Run a query answering one integer; *value is 0 when there is no row.
static int s_int_query(lt_mailbox_t *self, const char *sql, int64_t *value, lt_err_t *err)
{
    *value = 0;
    sqlite3_stmt *stmt = s_prepare(self, sql, err);
    if (!stmt)
        return -1;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        *value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : s_fail(self, err, sql);
}

//  Read the figures inside the lock.
static int s_usage(lt_mailbox_t *self, lt_mailbox_usage_t *u, lt_err_t *err)
{
    memset(u, 0, sizeof(*u));
    int64_t v[8];
    if (s_int_query(self, "SELECT COALESCE(SUM(n), 0) FROM counts", &v[0], err)
        || s_int_query(self, "SELECT COALESCE(SUM(n), 0) FROM counts WHERE state <> 'done'",
                       &v[1], err)
        || s_int_query(self, "SELECT bytes FROM totals", &v[2], err)
        || s_int_query(self, "SELECT stubs FROM totals", &v[3], err)
        || s_int_query(self, "SELECT created FROM items ORDER BY rowid LIMIT 1", &v[4], err)
        || s_int_query(self, "SELECT MIN(updated) FROM items WHERE state = 'done'", &v[5], err)
        || s_int_query(self, "SELECT pruned_items FROM totals", &v[6], err)
        || s_int_query(self, "SELECT pruned_packages FROM totals", &v[7], err))
        return -1;
    u->items = (uint64_t) v[0];
    u->backlog = (uint64_t) v[1];
    u->bytes = (uint64_t) v[2];
    u->stubs = (uint64_t) v[3];
    u->oldest = v[4];
    u->oldest_done = v[5];
    u->pruned_items = (uint64_t) v[6];
    u->pruned_packages = (uint64_t) v[7];
    return 0;
}

int lt_mailbox_usage(lt_mailbox_t *self, lt_mailbox_usage_t *usage, lt_err_t *err)
{
    assert(self && usage);
    pthread_mutex_lock(&self->lock);
    int rc = s_usage(self, usage, err);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  True while the figures are over a count or bytes bound (at is the
//  threshold: strictly over, or at it).
static bool s_over(const lt_mailbox_bounds_t *b, uint64_t items, uint64_t bytes, bool at)
{
    if (at)
        return (b->max_items && items >= b->max_items) || (b->max_bytes && bytes >= b->max_bytes);
    return (b->max_items && items > b->max_items) || (b->max_bytes && bytes > b->max_bytes);
}

//  Remove one done item (rowid) of package msgid; *last tells whether it
//  was the package's last item, whose bytes then go too (the row stays as
//  a stub). Marks the package evicted so that a redelivery adds nothing.
//  -1 with err.
static int s_evict(lt_mailbox_t *self, int64_t rowid, const char *msgid, int64_t now, bool *last,
                   lt_err_t *err)
{
    sqlite3_stmt *stmt = s_prepare(self, "DELETE FROM items WHERE rowid = ?1", err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, rowid);
    int step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE)
        return s_fail(self, err, "evict item");
    stmt = s_prepare(self, "SELECT EXISTS (SELECT 1 FROM items WHERE msgid = ?1)", err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, msgid, -1, SQLITE_TRANSIENT);
    step = sqlite3_step(stmt);
    *last = step == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 0;
    sqlite3_finalize(stmt);
    if (step != SQLITE_ROW)
        return s_fail(self, err, "evict item");
    stmt = s_prepare(self,
                     "UPDATE packages SET evicted = CASE WHEN evicted > 0 THEN evicted ELSE ?2 END,"
                     " data = CASE WHEN ?3 THEN NULL ELSE data END WHERE msgid = ?1",
                     err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, msgid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, now);
    sqlite3_bind_int(stmt, 3, *last);
    step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "evict package");
}

//  A done item the step may remove.
typedef struct {
    int64_t rowid;                      //  the item's row
    int64_t updated;                    //  when it was done, Unix ms
    char msgid[LT_MAILBOX_ID_MAX];      //  its package
} s_candidate_t;

//  The step inside an open transaction.
static int s_prune(lt_mailbox_t *self, const lt_mailbox_bounds_t *b, int64_t now, uint32_t batch,
                   int budget_ms, lt_mailbox_prune_t *out, lt_err_t *err)
{
    int64_t started = lt_clock_ms();
    int64_t cutoff = b->max_age_ms > 0 ? now - b->max_age_ms : INT64_MIN;
    lt_mailbox_usage_t u;
    if (s_usage(self, &u, err))
        return -1;
    uint64_t items = u.items;
    //  The candidates first (oldest done first), then the removals, so that
    //  no row changes under an open query.
    sqlite3_stmt *stmt = s_prepare(self,
                                   "SELECT i.rowid, i.msgid, i.updated FROM items i"
                                   " WHERE i.state = 'done' ORDER BY i.updated, i.rowid LIMIT ?1",
                                   err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, batch);
    s_candidate_t *list = calloc(batch, sizeof(*list));
    size_t count = 0;
    int step = SQLITE_DONE;
    while (list && count < batch && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *msgid = sqlite3_column_text(stmt, 1);
        list[count].rowid = sqlite3_column_int64(stmt, 0);
        list[count].updated = sqlite3_column_int64(stmt, 2);
        snprintf(list[count].msgid, sizeof(list[count].msgid), "%s",
                 msgid ? (const char *) msgid : "");
        count++;
    }
    sqlite3_finalize(stmt);
    if (!list)
        return s_nomem(err);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        free(list);
        return s_fail(self, err, "prune");
    }
    bool stopped = false;   //  a kept item or the time bound ended the walk
    bool kept = false;      //  it was a kept item: nothing more is due
    int64_t bytes = (int64_t) u.bytes;
    for (size_t i = 0; i < count; i++) {
        if (list[i].updated >= cutoff && !s_over(b, items, (uint64_t) bytes, false)) {
            stopped = kept = true;
            break;
        }
        bool last = false;
        if (s_evict(self, list[i].rowid, list[i].msgid, now, &last, err)
            || (last && s_int_query(self, "SELECT bytes FROM totals", &bytes, err))) {
            free(list);
            return -1;
        }
        out->items++;
        items--;
        out->packages += last;
        if (i + 1 < count && lt_clock_ms() - started >= budget_ms) {
            stopped = true;
            break;
        }
    }
    free(list);
    //  Every done item was looked at and removed: the rest is backlog.
    bool exhausted = !stopped && count < batch;
    out->more = !kept && !exhausted;
    out->full = exhausted && s_over(b, items, (uint64_t) bytes, true);
    //  Stubs past the age bound go for good, in the same bounded way.
    uint32_t stub_batch = batch > out->items ? batch - out->items : 0;
    if (b->max_age_ms > 0 && stub_batch > 0) {
        stmt = s_prepare(self,
                         "DELETE FROM packages WHERE rowid IN (SELECT p.rowid FROM packages p"
                         " WHERE p.evicted > 0 AND p.created < ?1 AND NOT EXISTS"
                         " (SELECT 1 FROM items i WHERE i.msgid = p.msgid)"
                         " ORDER BY p.created LIMIT ?2)",
                         err);
        if (!stmt)
            return -1;
        sqlite3_bind_int64(stmt, 1, cutoff);
        sqlite3_bind_int64(stmt, 2, stub_batch);
        step = sqlite3_step(stmt);
        out->stubs = (uint32_t) sqlite3_changes(self->db);
        sqlite3_finalize(stmt);
        if (step != SQLITE_DONE)
            return s_fail(self, err, "prune stubs");
        if (out->stubs == stub_batch)
            out->more = true;
    }
    if (out->items == 0 && out->stubs == 0)
        return 0;   //  nothing written: the commit costs no sync
    stmt = s_prepare(self,
                     "UPDATE totals SET pruned_items = pruned_items + ?1,"
                     " pruned_packages = pruned_packages + ?2, stubs = stubs + ?2 - ?3",
                     err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, out->items);
    sqlite3_bind_int64(stmt, 2, out->packages);
    sqlite3_bind_int64(stmt, 3, out->stubs);
    step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "prune totals");
}

int lt_mailbox_prune(lt_mailbox_t *self, const lt_mailbox_bounds_t *bounds, int64_t now_ms,
                     uint32_t batch, int budget_ms, lt_mailbox_prune_t *step, lt_err_t *err)
{
    assert(self && bounds && step);
    memset(step, 0, sizeof(*step));
    if (batch == 0)
        batch = 1;
    pthread_mutex_lock(&self->lock);
    int rc = s_exec(self, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = s_prune(self, bounds, now_ms, batch, budget_ms, step, err);
        if (rc == 0)
            rc = s_exec(self, "COMMIT", err);
        if (rc) {
            s_exec(self, "ROLLBACK", NULL);
            memset(step, 0, sizeof(*step));
        }
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Self-test

//  Make an envelope of a delivered message for the self-test.
static lt_envelope_t *s_test_envelope(lt_kind_t kind, const char *key, const char *payload)
{
    lt_envelope_t *env = lt_envelope_new();
    assert(env);
    char id[LT_ID_LEN + 1];
    lt_id_new(id);
    lt_envelope_set_id(env, id);
    lt_envelope_set_kind(env, kind);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, kind == LT_KIND_STATUS ? "03" : "new");
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_add_recipient(env, "000.00.13.H26");
    lt_envelope_set_payload_facts(env, payload, strlen(payload));
    return env;
}

//  Return the count of one state of one system in a counts object.
static json_int_t s_test_count(json_t *counts, const char *system, const char *state)
{
    return json_integer_value(json_object_get(json_object_get(counts, system), state));
}

//  Put one document for sys-b (agency 13) and return the new item's id.
static void s_test_put(lt_mailbox_t *box, const char *payload, lt_envelope_t **env_p,
                       char id[LT_MAILBOX_ID_MAX])
{
    lt_err_t err;
    char key[64];
    snprintf(key, sizeof(key), "000.00.12.H26,2026/09/03,%u/A", (unsigned) lt_clock_ms() % 100000);
    lt_envelope_t *env = s_test_envelope(LT_KIND_DOCUMENT, key, payload);
    lt_mailbox_target_t target = {"sys-b", "000.00.13.H26"};
    size_t added = 0;
    assert(lt_mailbox_put(box, env, payload, strlen(payload), &target, 1, &added, &err) == 0);
    assert(added == 1);
    char msgid[LT_ID_LEN + 1];
    snprintf(msgid, sizeof(msgid), "%s", lt_envelope_id(env));
    char state[LT_MAILBOX_STATE_MAX];
    int64_t updated = 0;
    assert(lt_mailbox_receipt(box, msgid, "000.00.13.H26", id, state, &updated, &err) == 0);
    *env_p = env;
}

//  The bounds: done items go oldest done first, items not done never.
static void s_test_bounds(const char *dir, bool verbose)
{
    (void) verbose;
    char path[160];
    snprintf(path, sizeof(path), "%s/bounds.db", dir);
    lt_err_t err;
    lt_mailbox_t *box = lt_mailbox_new(path, &err);
    assert(box);
    enum { N = 10 };
    lt_envelope_t *envs[N];
    char ids[N][LT_MAILBOX_ID_MAX];
    const char *payload = "<edXML>0123456789</edXML>";   //  25 bytes
    for (int i = 0; i < N; i++)
        s_test_put(box, payload, &envs[i], ids[i]);
    lt_mailbox_usage_t u;
    assert(lt_mailbox_usage(box, &u, &err) == 0);
    assert(u.items == N && u.backlog == N && u.bytes == N * 25 && u.oldest > 0);
    assert(u.oldest_done == 0 && u.pruned_items == 0);

    //  Over the count bound with nothing done: nothing goes, the box is full.
    lt_mailbox_bounds_t bounds = {.max_items = 5};
    lt_mailbox_prune_t step;
    int64_t now = lt_time_ms();
    assert(lt_mailbox_prune(box, &bounds, now, 100, 20, &step, &err) == 0);
    assert(step.items == 0 && step.full && !step.more);
    //  Items 0..5 done (item 3 first): the oldest done go first, until 5 are left.
    assert(lt_mailbox_update(box, "sys-b", ids[3], "done", "", &err) == 0);
    usleep(3000);
    for (int i = 0; i < 6; i++)
        if (i != 3)
            assert(lt_mailbox_update(box, "sys-b", ids[i], "done", "", &err) == 0);
    //  Batches of 2: more to do until the bound holds.
    assert(lt_mailbox_prune(box, &bounds, now, 2, 20, &step, &err) == 0);
    assert(step.items == 2 && step.packages == 2 && step.more && !step.full);
    assert(lt_mailbox_payload(box, lt_envelope_id(envs[3]), &(uint8_t *){NULL}, &(size_t){0},
                              &err)
           == 1);
    assert(lt_mailbox_prune(box, &bounds, now, 2, 20, &step, &err) == 0);
    assert(step.items == 2 && step.more);
    assert(lt_mailbox_prune(box, &bounds, now, 2, 20, &step, &err) == 0);
    assert(step.items == 1 && !step.more && !step.full);
    assert(lt_mailbox_usage(box, &u, &err) == 0);
    assert(u.items == 5 && u.backlog == 4 && u.bytes == 5 * 25 && u.stubs == 5);
    assert(u.pruned_items == 5 && u.pruned_packages == 5);
    //  The one done item left is the newest done (item 5), the backlog is whole.
    lt_mailbox_item_t *items = NULL;
    size_t count = 0;
    assert(lt_mailbox_list(box, "sys-b", NULL, 100, &items, &count, &err) == 0);
    assert(count == 4);
    for (size_t i = 0; i < count; i++)
        assert(strcmp(items[i].id, ids[6 + i]) == 0);
    lt_mailbox_items_free(&items, count);
    char state[LT_MAILBOX_STATE_MAX], id[LT_MAILBOX_ID_MAX];
    int64_t updated;
    assert(lt_mailbox_receipt(box, lt_envelope_id(envs[5]), "000.00.13.H26", id, state,
                              &updated, &err) == 0);
    assert(strcmp(state, "done") == 0);
    assert(lt_mailbox_receipt(box, lt_envelope_id(envs[4]), "000.00.13.H26", id, state,
                              &updated, &err) == 1);
    //  A redelivery of an evicted message adds nothing (its system had it).
    lt_mailbox_target_t target = {"sys-b", "000.00.13.H26"};
    size_t added = 9;
    assert(lt_mailbox_put(box, envs[0], payload, 25, &target, 1, &added, &err) == 0);
    assert(added == 0);
    assert(lt_mailbox_usage(box, &u, &err) == 0);
    assert(u.items == 5 && u.bytes == 5 * 25);

    //  The bytes bound: 3 packages at most; the last done one goes, then full.
    bounds = (lt_mailbox_bounds_t){.max_bytes = 3 * 25};
    assert(lt_mailbox_prune(box, &bounds, now, 100, 20, &step, &err) == 0);
    assert(step.items == 1 && step.packages == 1 && step.full);
    assert(lt_mailbox_usage(box, &u, &err) == 0);
    assert(u.items == 4 && u.backlog == 4 && u.bytes == 4 * 25);

    //  The age bound: done items past it go, and stubs past it too.
    for (int i = 6; i < 8; i++)
        assert(lt_mailbox_update(box, "sys-b", ids[i], "done", "", &err) == 0);
    bounds = (lt_mailbox_bounds_t){.max_age_ms = 60000};
    assert(lt_mailbox_prune(box, &bounds, lt_time_ms(), 100, 20, &step, &err) == 0);
    assert(step.items == 0 && step.stubs == 0 && !step.full);
    assert(lt_mailbox_prune(box, &bounds, lt_time_ms() + 120000, 100, 20, &step, &err) == 0);
    assert(step.items == 2 && step.stubs == 8 && !step.full && !step.more);
    assert(lt_mailbox_usage(box, &u, &err) == 0);
    assert(u.items == 2 && u.backlog == 2 && u.bytes == 2 * 25 && u.stubs == 0);
    assert(u.pruned_items == 8 && u.pruned_packages == 8);
    //  A done item whose bytes --keep-done already dropped still leaves a stub.
    lt_envelope_t *late = NULL;
    char late_id[LT_MAILBOX_ID_MAX];
    s_test_put(box, payload, &late, late_id);
    assert(lt_mailbox_update(box, "sys-b", late_id, "done", "", &err) == 0);
    size_t purged = 0;
    assert(lt_mailbox_purge(box, lt_time_ms() + 1000, 100, &purged, NULL, &err) == 0 && purged == 1);
    bounds = (lt_mailbox_bounds_t){.max_items = 2};
    assert(lt_mailbox_prune(box, &bounds, lt_time_ms(), 100, 20, &step, &err) == 0);
    assert(step.items == 1 && step.packages == 1 && step.full);
    assert(lt_mailbox_usage(box, &u, &err) == 0);
    assert(u.items == 2 && u.bytes == 50 && u.stubs == 1 && u.pruned_items == 9);
    lt_envelope_destroy(&late);
    lt_mailbox_destroy(&box);

    //  The figures survive a restart.
    box = lt_mailbox_new(path, &err);
    assert(box);
    assert(lt_mailbox_usage(box, &u, &err) == 0);
    assert(u.items == 2 && u.bytes == 50 && u.pruned_items == 9 && u.stubs == 1);
    lt_mailbox_destroy(&box);
    for (int i = 0; i < N; i++)
        lt_envelope_destroy(&envs[i]);
    char file[200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof(file), "%s%s", path, suffix[i]);
        unlink(file);
    }
}

void lt_mailbox_test(bool verbose)
{
    if (verbose)
        printf(" * lt_mailbox: ");
    char dir[] = "/tmp/lt_mailbox_test_XXXXXX";
    assert(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/mailbox.db", dir);
    lt_err_t err;
    lt_mailbox_t *box = lt_mailbox_new(path, &err);
    assert(box);

    //  A document for two agencies of sys-b and one of sys-c, stored once.
    const char *doc = "<edXML>document one</edXML>";
    lt_envelope_t *env = s_test_envelope(LT_KIND_DOCUMENT, "000.00.12.H26,2026/09/03,1/A", doc);
    lt_mailbox_target_t targets[] = {
        {"sys-b", "000.00.13.H26"}, {"sys-b", "000.00.14.H26"}, {"sys-c", "000.00.13.H26"}};
    size_t added = 99;
    assert(lt_mailbox_put(box, env, doc, strlen(doc), targets, 3, &added, &err) == 0);
    assert(added == 3);
    //  Redelivery of the same message id is harmless.
    assert(lt_mailbox_put(box, env, doc, strlen(doc), targets, 3, &added, &err) == 0);
    assert(added == 0);
    lt_envelope_t *bad = lt_envelope_new();
    lt_envelope_set_id(bad, "not-an-id");
    assert(lt_mailbox_put(box, bad, doc, 1, targets, 1, &added, &err) == -1);
    assert(err.code == LT_EFIELD);
    lt_envelope_destroy(&bad);

    //  A status for sys-b.
    const char *st = "<edXML>status</edXML>";
    lt_envelope_t *senv = s_test_envelope(LT_KIND_STATUS, "000.00.12.H26,2026/09/03,1/A", st);
    assert(lt_mailbox_put(box, senv, st, strlen(st), targets, 1, &added, &err) == 0);
    assert(added == 1);
    //  Another package under the same message id is refused, not merged.
    lt_envelope_t *clash = lt_envelope_dup(senv);
    assert(clash);
    lt_envelope_set_payload_facts(clash, "other", 5);
    assert(lt_mailbox_put(box, clash, "other", 5, targets, 1, &added, &err) == -1);
    assert(err.code == LT_EINVAL && strstr(err.detail, "not merged") && added == 0);
    lt_envelope_destroy(&clash);

    lt_mailbox_item_t *items = NULL;
    size_t count = 0;
    assert(lt_mailbox_list(box, "sys-b", NULL, 100, &items, &count, &err) == 0);
    assert(count == 3);
    assert(strcmp(items[0].agency, "000.00.13.H26") == 0);
    assert(strcmp(items[0].messagetype, "edoc") == 0);
    assert(strcmp(items[0].state, "initial") == 0 && items[0].fetched == 0);
    assert(strcmp(items[0].msgid, lt_envelope_id(env)) == 0);
    assert(strcmp(items[0].sender, "000.00.12.H26") == 0);
    assert(items[0].size == strlen(doc));
    assert(strcmp(items[2].messagetype, "status") == 0 && strcmp(items[2].btype, "03") == 0);
    char first_id[LT_ID_LEN + 1], second_id[LT_ID_LEN + 1];
    snprintf(first_id, sizeof(first_id), "%s", items[0].id);
    snprintf(second_id, sizeof(second_id), "%s", items[1].id);
    lt_mailbox_items_free(&items, count);
    assert(items == NULL);
    assert(lt_mailbox_list(box, "sys-b", "status", 100, &items, &count, &err) == 0);
    assert(count == 1);
    lt_mailbox_items_free(&items, count);
    assert(lt_mailbox_list(box, "sys-b", "edoc", 1, &items, &count, &err) == 0);
    assert(count == 1);
    lt_mailbox_items_free(&items, count);
    assert(lt_mailbox_list(box, "sys-x", NULL, 100, &items, &count, &err) == 0);
    assert(count == 0 && items == NULL);

    //  Fetch: the bytes, first time only once, and only by the owner.
    uint8_t *data = NULL;
    size_t size = 0;
    lt_mailbox_item_t item;
    bool first = false;
    assert(lt_mailbox_fetch(box, "sys-b", first_id, &data, &size, &item, &first, &err) == 0);
    assert(size == strlen(doc) && memcmp(data, doc, size) == 0 && first);
    assert(item.fetched > 0 && strcmp(item.key, "000.00.12.H26,2026/09/03,1/A") == 0);
    free(data);
    assert(lt_mailbox_arrival_claim(box, &item, &err) == 1);
    assert(lt_mailbox_arrival_claim(box, &item, &err) == 0);
    lt_mailbox_item_clear(&item);
    assert(lt_mailbox_fetch(box, "sys-b", first_id, &data, &size, NULL, &first, &err) == 0);
    assert(!first);
    free(data);
    assert(lt_mailbox_fetch(box, "sys-c", first_id, &data, &size, NULL, &first, &err) == 1);
    assert(data == NULL);
    assert(lt_mailbox_fetch(box, "sys-b", "nope", &data, &size, NULL, NULL, &err) == 1);

    //  Arrivals: owed until closed.
    lt_mailbox_arrival_t *arrivals = NULL;
    assert(lt_mailbox_arrivals(box, 10, &arrivals, &count, &err) == 0);
    assert(count == 1 && strcmp(arrivals[0].agency, "000.00.13.H26") == 0);
    assert(strcmp(arrivals[0].item, first_id) == 0);
    assert(strcmp(arrivals[0].msgid, lt_envelope_id(env)) == 0);
    assert(lt_mailbox_arrival_close(box, arrivals[0].key, arrivals[0].agency, "sent", "", &err)
           == 0);
    lt_mailbox_arrivals_free(&arrivals, count);
    assert(lt_mailbox_arrivals(box, 10, &arrivals, &count, &err) == 0);
    assert(count == 0);
    lt_mailbox_arrivals_free(&arrivals, count);
    assert(lt_mailbox_payload(box, lt_envelope_id(env), &data, &size, &err) == 0);
    assert(size == strlen(doc));
    free(data);
    assert(lt_mailbox_payload(box, "unknown", &data, &size, &err) == 1);

    //  Update: bad states refused, done leaves the list and stays done.
    assert(lt_mailbox_update(box, "sys-b", first_id, "archived", "", &err) == -1);
    assert(err.code == LT_EFIELD);
    assert(lt_mailbox_update(box, "sys-c", first_id, "done", "", &err) == 1);
    assert(lt_mailbox_update(box, "sys-b", first_id, "processing", "", &err) == 0);
    assert(lt_mailbox_update(box, "sys-b", second_id, "fail", "cannot import", &err) == 0);
    assert(lt_mailbox_update(box, "sys-b", first_id, "done", "", &err) == 0);
    assert(lt_mailbox_update(box, "sys-b", first_id, "fail", "late", &err) == 0);
    //  A failed item stays listed, after the ones still to fetch, so a
    //  bounded answer never fills with failures and hides new documents.
    assert(lt_mailbox_list(box, "sys-b", NULL, 100, &items, &count, &err) == 0);
    assert(count == 2);
    assert(strcmp(items[0].state, "fail") != 0);
    assert(strcmp(items[1].id, second_id) == 0 && strcmp(items[1].state, "fail") == 0);
    assert(strcmp(items[1].description, "cannot import") == 0);
    char open_id[LT_MAILBOX_ID_MAX];
    snprintf(open_id, sizeof(open_id), "%s", items[0].id);
    lt_mailbox_items_free(&items, count);
    assert(lt_mailbox_list(box, "sys-b", NULL, 1, &items, &count, &err) == 0);
    assert(count == 1 && strcmp(items[0].id, open_id) == 0);
    lt_mailbox_items_free(&items, count);
    json_t *counts = lt_mailbox_counts(box);
    assert(counts);
    assert(s_test_count(counts, "sys-b", "done") == 1);
    assert(s_test_count(counts, "sys-b", "fail") == 1);
    assert(s_test_count(counts, "sys-b", "initial") == 1);
    assert(s_test_count(counts, "sys-b", "pending") == 2);
    assert(s_test_count(counts, "sys-c", "pending") == 1);
    json_decref(counts);

    //  Purge keeps packages with open items, drops those all done.
    size_t purged = 99;
    assert(lt_mailbox_purge(box, lt_time_ms() + 1000, 100, &purged, NULL, &err) == 0);
    assert(purged == 0);
    assert(lt_mailbox_update(box, "sys-b", second_id, "done", "", &err) == 0);
    assert(lt_mailbox_list(box, "sys-c", NULL, 100, &items, &count, &err) == 0);
    assert(count == 1);
    assert(lt_mailbox_update(box, "sys-c", items[0].id, "done", "", &err) == 0);
    lt_mailbox_items_free(&items, count);
    assert(lt_mailbox_purge(box, lt_time_ms() - 60000, 100, &purged, NULL, &err) == 0);
    assert(purged == 0);   //  too recent
    assert(lt_mailbox_purge(box, lt_time_ms() + 1000, 100, &purged, NULL, &err) == 0);
    assert(purged == 1);
    assert(lt_mailbox_payload(box, lt_envelope_id(env), &data, &size, &err) == 1);
    assert(lt_mailbox_fetch(box, "sys-b", first_id, &data, &size, NULL, NULL, &err) == 1);
    //  A redelivery after the purge brings the bytes back.
    assert(lt_mailbox_put(box, env, doc, strlen(doc), targets, 3, &added, &err) == 0);
    assert(added == 0);
    assert(lt_mailbox_payload(box, lt_envelope_id(env), &data, &size, &err) == 0);
    free(data);
    lt_mailbox_destroy(&box);
    assert(box == NULL);
    lt_mailbox_destroy(&box);

    //  Reopened: what was committed is there.
    box = lt_mailbox_new(path, &err);
    assert(box);
    assert(lt_mailbox_list(box, "sys-b", NULL, 100, &items, &count, &err) == 0);
    assert(count == 1 && strcmp(items[0].messagetype, "status") == 0);
    lt_mailbox_items_free(&items, count);
    counts = lt_mailbox_counts(box);
    assert(s_test_count(counts, "sys-b", "done") == 2);
    json_decref(counts);
    lt_mailbox_destroy(&box);

    s_test_bounds(dir, verbose);

    //  An unusable path is an error, not a crash.
    char nowhere[160];
    snprintf(nowhere, sizeof(nowhere), "%s/no/such/dir/mailbox.db", dir);
    assert(lt_mailbox_new(nowhere, &err) == NULL);
    assert(err.code == LT_ESTORE && strstr(err.detail, "mailbox"));

    lt_envelope_destroy(&env);
    lt_envelope_destroy(&senv);
    char wal[160];
    unlink(path);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    if (verbose)
        printf("OK\n");
}
