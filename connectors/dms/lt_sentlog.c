/*  lt_sentlog: the sent log of lthub-dms (see the header). */
#include "lt_sentlog.h"
#include "lt_sqlite.h"

#include <assert.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _lt_sentlog_t {
    sqlite3 *db;            //  the open log file
    pthread_mutex_t lock;   //  serializes every use of db
};

#define S_SCHEMA                                                                               \
    "CREATE TABLE IF NOT EXISTS sent ("                                                        \
    "  system TEXT NOT NULL, msgid TEXT NOT NULL, agency TEXT NOT NULL,"                       \
    "  key TEXT NOT NULL, sender TEXT NOT NULL, notation TEXT NOT NULL,"                       \
    "  messagetype TEXT NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL,"         \
    "  PRIMARY KEY (system, msgid, agency));"                                                  \
    "CREATE INDEX IF NOT EXISTS sent_by_time ON sent (system, created);"                      \
    "CREATE INDEX IF NOT EXISTS sent_by_key ON sent (system, key, messagetype);"

//  Fill err from the connection's last error; returns -1.
static int s_fail(lt_sentlog_t *self, lt_err_t *err, const char *what)
{
    lt_err_set(err, LT_ESTORE, "sent log: %s: %s", what, sqlite3_errmsg(self->db));
    return -1;
}

lt_sentlog_t *lt_sentlog_new(const char *path, lt_err_t *err)
{
    assert(path);
    lt_sentlog_t *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "sent log: out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->db = lt_sqlite_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "sent log", err);
    if (!self->db) {
        lt_sentlog_destroy(&self);
        return NULL;
    }
    if (sqlite3_exec(self->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;" S_SCHEMA, NULL,
                     NULL, NULL)
        != SQLITE_OK) {
        lt_err_set(err, LT_ESTORE, "sent log: cannot open %s: %s", path,
                   sqlite3_errmsg(self->db));
        lt_sentlog_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_sentlog_destroy(lt_sentlog_t **self_p)
{
    assert(self_p);
    lt_sentlog_t *self = *self_p;
    if (!self)
        return;
    if (self->db)
        sqlite3_close(self->db);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int lt_sentlog_add(lt_sentlog_t *self, const char *system, const char *msgid, const char *key,
                   const char *sender, const char *notation, const char *messagetype,
                   const char *const *agencies, size_t count, int64_t now, lt_err_t *err)
{
    assert(self && system && msgid && key && sender && notation && messagetype);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_exec(self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : s_fail(self, err, "begin");
    if (!rc
        && sqlite3_prepare_v2(self->db,
                              "INSERT INTO sent (system, msgid, agency, key, sender, notation,"
                              " messagetype, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                              " ON CONFLICT (system, msgid, agency) DO UPDATE SET updated = ?9",
                              -1, &stmt, NULL)
               != SQLITE_OK)
        rc = s_fail(self, err, "prepare");
    for (size_t i = 0; !rc && i < count; i++) {
        const char *texts[] = {system, msgid, agencies[i], key, sender, notation, messagetype};
        for (int c = 0; c < 7; c++)
            sqlite3_bind_text(stmt, c + 1, texts[c], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 8, now);
        sqlite3_bind_int64(stmt, 9, now);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = s_fail(self, err, "insert");
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    if (!rc && sqlite3_exec(self->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = s_fail(self, err, "commit");
    if (rc)
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int lt_sentlog_sent_to(lt_sentlog_t *self, const char *system, const char *key,
                       const char *messagetype, const char *agency, lt_err_t *err)
{
    assert(self && system && key && messagetype && agency);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT 1 FROM sent WHERE system = ?1 AND key = ?2"
                           " AND messagetype = ?3 AND (?4 = '' OR agency = ?4) LIMIT 1",
                           -1, &stmt, NULL)
        != SQLITE_OK)
        s_fail(self, err, "prepare");
    else {
        const char *texts[] = {system, key, messagetype, agency};
        for (int c = 0; c < 4; c++)
            sqlite3_bind_text(stmt, c + 1, texts[c], -1, SQLITE_STATIC);
        int step = sqlite3_step(stmt);
        if (step == SQLITE_ROW)
            rc = 1;
        else if (step == SQLITE_DONE)
            rc = 0;
        else
            s_fail(self, err, "select");
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  Return a copy of a text column ("" when NULL); NULL on no memory.
static char *s_text(sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text(stmt, column);
    return strdup(text ? (const char *) text : "");
}

int lt_sentlog_list(lt_sentlog_t *self, const char *system, const char *messagetype,
                    const char *msgid, size_t max, lt_sent_t **list_p, size_t *count_p,
                    lt_err_t *err)
{
    assert(self && system && list_p && count_p);
    *list_p = NULL;
    *count_p = 0;
    if (max == 0)
        return 0;
    lt_sent_t *list = calloc(max, sizeof(*list));
    if (!list)
        return lt_err_set(err, LT_ENOMEM, "sent log: out of memory"), -1;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *stmt = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT msgid, system, agency, key, sender, notation, messagetype,"
                           " created, updated FROM sent WHERE system = ?1"
                           " AND (?2 = '' OR messagetype = ?2) AND (?3 = '' OR msgid = ?3)"
                           " ORDER BY created DESC, msgid, agency LIMIT ?4",
                           -1, &stmt, NULL)
        != SQLITE_OK)
        rc = s_fail(self, err, "prepare");
    size_t count = 0;
    if (!rc) {
        sqlite3_bind_text(stmt, 1, system, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, messagetype ? messagetype : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, msgid ? msgid : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64) max);
        int step;
        while (!rc && count < max && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
            lt_sent_t *s = &list[count++];
            char **strings[] = {&s->msgid,  &s->system,   &s->agency,     &s->key,
                                &s->sender, &s->notation, &s->messagetype};
            for (int c = 0; c < 7; c++)
                if (!(*strings[c] = s_text(stmt, c))) {
                    lt_err_set(err, LT_ENOMEM, "sent log: out of memory");
                    rc = -1;
                }
            s->created = sqlite3_column_int64(stmt, 7);
            s->updated = sqlite3_column_int64(stmt, 8);
        }
        if (!rc && count < max && step != SQLITE_DONE)
            rc = s_fail(self, err, "select");
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&self->lock);
    if (rc) {
        lt_sentlog_free(&list, count);
        return -1;
    }
    *list_p = list;
    *count_p = count;
    return 0;
}

void lt_sentlog_free(lt_sent_t **list_p, size_t count)
{
    assert(list_p);
    lt_sent_t *list = *list_p;
    for (size_t i = 0; list && i < count; i++) {
        free(list[i].msgid);
        free(list[i].system);
        free(list[i].agency);
        free(list[i].key);
        free(list[i].sender);
        free(list[i].notation);
        free(list[i].messagetype);
    }
    free(list);
    *list_p = NULL;
}

void lt_sentlog_test(bool verbose)
{
    if (verbose)
        printf(" * lt_sentlog: ");
    char dir[] = "/tmp/lt_sentlog_test_XXXXXX";
    assert(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/sent.db", dir);
    lt_err_t err;
    lt_sentlog_t *log = lt_sentlog_new(path, &err);
    assert(log);
    const char *two[] = {"000.00.13.H26", "000.00.00.G22"};
    assert(lt_sentlog_add(log, "sys-a", "M1", "K1", "000.00.12.H26", "1/X", "edoc", two, 2, 1000,
                          &err)
           == 0);
    assert(lt_sentlog_add(log, "sys-a", "M2", "K1", "000.00.12.H26", "", "status", two, 1, 2000,
                          &err)
           == 0);
    //  A resend of M1 refreshes the time, adds nothing.
    assert(lt_sentlog_add(log, "sys-a", "M1", "K1", "000.00.12.H26", "1/X", "edoc", two, 2, 3000,
                          &err)
           == 0);
    lt_sent_t *list = NULL;
    size_t count = 0;
    assert(lt_sentlog_list(log, "sys-a", NULL, NULL, 10, &list, &count, &err) == 0);
    assert(count == 3);
    assert(strcmp(list[0].msgid, "M2") == 0 && strcmp(list[0].messagetype, "status") == 0);
    assert(strcmp(list[1].msgid, "M1") == 0 && list[1].created == 1000 && list[1].updated == 3000);
    lt_sentlog_free(&list, count);
    assert(lt_sentlog_list(log, "sys-a", "edoc", "M1", 10, &list, &count, &err) == 0);
    assert(count == 2 && strcmp(list[1].agency, "000.00.13.H26") == 0);
    assert(strcmp(list[0].notation, "1/X") == 0);
    lt_sentlog_free(&list, count);
    assert(lt_sentlog_list(log, "sys-b", NULL, NULL, 10, &list, &count, &err) == 0 && count == 0);
    lt_sentlog_free(&list, count);
    assert(lt_sentlog_list(log, "sys-a", NULL, NULL, 1, &list, &count, &err) == 0 && count == 1);
    lt_sentlog_free(&list, count);
    //  What a system already sent of a key, to whom.
    assert(lt_sentlog_sent_to(log, "sys-a", "K1", "edoc", "000.00.13.H26", &err) == 1);
    assert(lt_sentlog_sent_to(log, "sys-a", "K1", "edoc", "", &err) == 1);
    assert(lt_sentlog_sent_to(log, "sys-a", "K1", "edoc", "000.00.99.H26", &err) == 0);
    assert(lt_sentlog_sent_to(log, "sys-a", "K1", "status", "000.00.00.G22", &err) == 0);
    assert(lt_sentlog_sent_to(log, "sys-b", "K1", "edoc", "", &err) == 0);
    assert(lt_sentlog_sent_to(log, "sys-a", "K2", "edoc", "", &err) == 0);
    lt_sentlog_destroy(&log);
    lt_sentlog_destroy(&log);
    //  A folder that does not exist cannot hold the log.
    assert(!lt_sentlog_new("/nonexistent/dir/sent.db", &err) && err.code == LT_ESTORE);
    char cleanup[256];
    snprintf(cleanup, sizeof(cleanup), "%s/sent.db-wal", dir);
    unlink(cleanup);
    snprintf(cleanup, sizeof(cleanup), "%s/sent.db-shm", dir);
    unlink(cleanup);
    unlink(path);
    rmdir(dir);
    if (verbose)
        printf("OK\n");
}
