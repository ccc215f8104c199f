/*  lt_mailbox: the durable per-system mailboxes of lthub-dms (see the header).

    Tables: packages (one row per broker message, the package bytes),
    items (one row per system, message and agency), counts (kept by
    triggers, so that the stats never scan the audit trail), arrivals (the
    automatic status 01 owed per DocumentId and agency). The schema version
    lives in PRAGMA user_version; migrations run in order at open.
*/
#include "lt_mailbox.h"

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
    if (sqlite3_open_v2(path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL)
        != SQLITE_OK) {
        lt_err_set(err, LT_ESTORE, "mailbox: cannot open %s: %s", path,
                   self->db ? sqlite3_errmsg(self->db) : "out of memory");
        lt_mailbox_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
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
//  refused, never merged with the first. -1 with err when it differs.
static int s_same_package(lt_mailbox_t *self, const lt_envelope_t *env, lt_err_t *err)
{
    sqlite3_stmt *stmt =
        s_prepare(self, "SELECT sha256 FROM packages WHERE msgid = ?1", err);
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
    }
    sqlite3_finalize(stmt);
    return rc;
}

//  Store the package and the items inside an open transaction; -1 with err.
static int s_put(lt_mailbox_t *self, const lt_envelope_t *env, const void *payload, size_t size,
                 const lt_mailbox_target_t *targets, size_t count, size_t *added, lt_err_t *err)
{
    int64_t now = lt_time_ms();
    if (s_same_package(self, env, err))
        return -1;
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
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(self,
                                   "SELECT " S_ITEM_COLUMNS " FROM items i JOIN packages p"
                                   " ON p.msgid = i.msgid WHERE i.system = ?1"
                                   " AND i.state <> 'done' AND (?2 = '' OR p.kind = ?2)"
                                   " ORDER BY i.rowid LIMIT ?3",
                                   err);
    int rc = stmt ? 0 : -1;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, system, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, messagetype ? messagetype : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64) (max > INT32_MAX ? INT32_MAX : max));
        size_t alloc = 0;
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

int lt_mailbox_purge(lt_mailbox_t *self, int64_t before_ms, size_t *purged, lt_err_t *err)
{
    assert(self);
    if (purged)
        *purged = 0;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = s_prepare(
        self,
        "UPDATE packages SET data = NULL WHERE data IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM items i WHERE i.msgid = packages.msgid)"
        " AND NOT EXISTS (SELECT 1 FROM items i WHERE i.msgid = packages.msgid"
        "   AND (i.state <> 'done' OR i.updated >= ?1))",
        err);
    int rc = stmt ? 0 : -1;
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, before_ms);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = s_fail(self, err, "purge");
        else if (purged)
            *purged = (size_t) sqlite3_changes(self->db);
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&self->lock);
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
    assert(lt_mailbox_list(box, "sys-b", NULL, 100, &items, &count, &err) == 0);
    assert(count == 2);
    assert(strcmp(items[0].id, second_id) == 0 && strcmp(items[0].state, "fail") == 0);
    assert(strcmp(items[0].description, "cannot import") == 0);
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
    assert(lt_mailbox_purge(box, lt_time_ms() + 1000, &purged, &err) == 0);
    assert(purged == 0);
    assert(lt_mailbox_update(box, "sys-b", second_id, "done", "", &err) == 0);
    assert(lt_mailbox_list(box, "sys-c", NULL, 100, &items, &count, &err) == 0);
    assert(count == 1);
    assert(lt_mailbox_update(box, "sys-c", items[0].id, "done", "", &err) == 0);
    lt_mailbox_items_free(&items, count);
    assert(lt_mailbox_purge(box, lt_time_ms() - 60000, &purged, &err) == 0);
    assert(purged == 0);   //  too recent
    assert(lt_mailbox_purge(box, lt_time_ms() + 1000, &purged, &err) == 0);
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
