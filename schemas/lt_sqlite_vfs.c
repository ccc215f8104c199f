/*  lt_sqlite_vfs: the default SQLite VFS with the write-ahead log's frame
    writes gathered (see lt_sqlite.h).

    SQLite writes each WAL frame with two write calls, its 24-byte header
    and its page, so a commit of 170 frames costs 340 system calls; on the
    machines here (virtualised, a system call being several microseconds)
    that was the largest single cost of a relayed message. This VFS wraps
    the default one and, for WAL files only, keeps the writes that follow
    each other in the file in a buffer, written with one call when the
    commit's last frame is complete (its header's "database size" field is
    not zero), and before anything that could look at the file: a read, a
    sync, a truncate, the file's size, a close, and any use of the shared
    memory index by the same connection (the barrier and the locks
    through which a commit is published). So a commit returns only once
    its frames are written, as before, and the error of that one write is
    the commit's. A write that starts a commit frame when nothing is kept,
    or is not a frame at all, goes straight through. */
#include "lt_sqlite.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  Bytes kept before they are written anyway: under 128 KiB, as the unix
//  VFS writes at most that many bytes per call (it masks the length).
#define S_KEEP_MAX (127 * 1024)

typedef struct s_file s_file_t;

struct s_file {
    sqlite3_file base;    //  what SQLite sees: methods are s_io
    sqlite3_file *real;   //  the wrapped VFS's file, right after this struct
    bool is_wal;          //  a write-ahead log: writes are gathered
    s_file_t *db;         //  WAL: its database file's object (ours), or NULL
    s_file_t *wal;        //  database: its open WAL's object, or NULL
    char *keep;           //  gathered bytes, or NULL
    size_t kept;          //  bytes in keep
    sqlite3_int64 at;     //  file offset of keep's first byte
    bool commit_next;     //  the last write was a commit frame's header
};

static sqlite3_vfs *s_real;   //  the wrapped VFS
static sqlite3_vfs s_vfs;     //  ours
static sqlite3_io_methods s_io;
static uint64_t s_test_writes;   //  gathered writes made (self-test)

//  Write what is kept; the write's error, SQLITE_OK when nothing was kept.
static int s_flush(s_file_t *f)
{
    if (!f || !f->kept)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->keep, (int) f->kept, f->at);
    __atomic_add_fetch(&s_test_writes, 1, __ATOMIC_RELAXED);
    f->kept = 0;
    f->commit_next = false;
    return rc;
}

static int s_close(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *) file;
    int rc = s_flush(f);
    if (f->is_wal && f->db && f->db->wal == f)
        f->db->wal = NULL;
    if (f->wal)
        f->wal->db = NULL;
    free(f->keep);
    f->keep = NULL;
    int closed = f->real->pMethods->xClose(f->real);
    return rc != SQLITE_OK ? rc : closed;
}

static int s_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    s_file_t *f = (s_file_t *) file;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, data, amount, offset);
}

//  A WAL frame header's "database size after commit" (bytes 4 to 7, big
//  endian): not zero on the last frame of a commit.
static uint32_t s_commit_size(const void *header)
{
    const unsigned char *h = header;
    return (uint32_t) h[4] << 24 | (uint32_t) h[5] << 16 | (uint32_t) h[6] << 8 | h[7];
}

static int s_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    s_file_t *f = (s_file_t *) file;
    if (!f->is_wal || amount <= 0)
        return f->real->pMethods->xWrite(f->real, data, amount, offset);
    bool header = amount == 24 || (amount == 32 && offset == 0);
    bool commit_header = amount == 24 && s_commit_size(data) != 0;
    if (f->kept && offset == f->at + (sqlite3_int64) f->kept &&
        f->kept + (size_t) amount <= S_KEEP_MAX) {
        memcpy(f->keep + f->kept, data, (size_t) amount);
        f->kept += (size_t) amount;
        if (f->commit_next)
            return s_flush(f);   //  the commit's last frame is complete
        f->commit_next = commit_header;
        return SQLITE_OK;
    }
    int rc = s_flush(f);
    if (rc != SQLITE_OK)
        return rc;
    if (!header || commit_header || (!f->keep && !(f->keep = malloc(S_KEEP_MAX)))) {
        __atomic_add_fetch(&s_test_writes, 1, __ATOMIC_RELAXED);
        return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    memcpy(f->keep, data, (size_t) amount);
    f->kept = (size_t) amount;
    f->at = offset;
    return SQLITE_OK;
}

static int s_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    s_file_t *f = (s_file_t *) file;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int s_sync(sqlite3_file *file, int flags)
{
    s_file_t *f = (s_file_t *) file;
    int rc = s_flush(f);
    if (rc == SQLITE_OK && f->wal)
        rc = s_flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int s_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    s_file_t *f = (s_file_t *) file;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int s_lock(sqlite3_file *file, int level)
{
    s_file_t *f = (s_file_t *) file;
    return f->real->pMethods->xLock(f->real, level);
}

static int s_unlock(sqlite3_file *file, int level)
{
    s_file_t *f = (s_file_t *) file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int s_check_lock(sqlite3_file *file, int *out)
{
    s_file_t *f = (s_file_t *) file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int s_control(sqlite3_file *file, int op, void *arg)
{
    s_file_t *f = (s_file_t *) file;
    int rc = s_flush(f);
    if (rc == SQLITE_OK && f->wal)
        rc = s_flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int s_sector_size(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *) file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int s_device(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *) file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

//  The shared-memory calls are made on the database file: its WAL's kept
//  frames are written first, so that no commit is published (the barrier
//  between the index header's two copies, the locks) before its frames.
static int s_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **p)
{
    s_file_t *f = (s_file_t *) file;
    if (f->real->pMethods->iVersion < 2 || !f->real->pMethods->xShmMap)
        return SQLITE_IOERR_SHMMAP;
    int rc = s_flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xShmMap(f->real, page, size, extend, p);
}

static int s_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    s_file_t *f = (s_file_t *) file;
    if (f->real->pMethods->iVersion < 2 || !f->real->pMethods->xShmLock)
        return SQLITE_IOERR_SHMLOCK;
    int rc = s_flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void s_shm_barrier(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *) file;
    //  Nothing is kept here in practice (a commit's frames are written
    //  when its last one is complete); a failure would show at the next
    //  write or sync of the log, which then fails.
    s_flush(f->wal);
    if (f->real->pMethods->iVersion >= 2 && f->real->pMethods->xShmBarrier)
        f->real->pMethods->xShmBarrier(f->real);
}

static int s_shm_unmap(sqlite3_file *file, int delete_flag)
{
    s_file_t *f = (s_file_t *) file;
    if (f->real->pMethods->iVersion < 2 || !f->real->pMethods->xShmUnmap)
        return SQLITE_OK;
    int rc = s_flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int s_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **p)
{
    s_file_t *f = (s_file_t *) file;
    *p = NULL;
    if (f->real->pMethods->iVersion < 3 || !f->real->pMethods->xFetch)
        return SQLITE_OK;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, offset, amount, p);
}

static int s_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *p)
{
    s_file_t *f = (s_file_t *) file;
    if (f->real->pMethods->iVersion < 3 || !f->real->pMethods->xUnfetch)
        return SQLITE_OK;
    return f->real->pMethods->xUnfetch(f->real, offset, p);
}

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                  int *out_flags)
{
    (void) vfs;
    s_file_t *f = (s_file_t *) file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *) (f + 1);
    int rc = s_real->xOpen(s_real, name, f->real, flags, out_flags);
    if (!f->real->pMethods) {
        f->base.pMethods = NULL;
        return rc;
    }
    f->base.pMethods = &s_io;
    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && name) {
        f->is_wal = true;
        s_file_t *db = (s_file_t *) sqlite3_database_file_object(name);
        if (db && db->base.pMethods == &s_io && !db->is_wal) {
            f->db = db;
            db->wal = f;
        }
    }
    return rc;
}

void lt_sqlite_vfs_register(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real || real == &s_vfs || real->iVersion < 1)
        return;
    s_real = real;
    s_vfs = *real;   //  every call but xOpen goes to the real one as it is
    s_vfs.zName = "lt-wal";
    s_vfs.szOsFile = (int) sizeof(s_file_t) + real->szOsFile;
    s_vfs.xOpen = s_open;
    s_vfs.pNext = NULL;
    s_io = (sqlite3_io_methods){.iVersion = 3,
                                .xClose = s_close,
                                .xRead = s_read,
                                .xWrite = s_write,
                                .xTruncate = s_truncate,
                                .xSync = s_sync,
                                .xFileSize = s_file_size,
                                .xLock = s_lock,
                                .xUnlock = s_unlock,
                                .xCheckReservedLock = s_check_lock,
                                .xFileControl = s_control,
                                .xSectorSize = s_sector_size,
                                .xDeviceCharacteristics = s_device,
                                .xShmMap = s_shm_map,
                                .xShmLock = s_shm_lock,
                                .xShmBarrier = s_shm_barrier,
                                .xShmUnmap = s_shm_unmap,
                                .xFetch = s_fetch,
                                .xUnfetch = s_unfetch};
    sqlite3_vfs_register(&s_vfs, 1);
}

//  ---------------------------------------------------------------------
//  Self-test

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

//  Count the rows of t in db; -1 on error.
static int64_t s_test_rows(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM t", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

//  One transaction of rows blobs of size bytes; the commit's result code.
static int s_test_commit(sqlite3 *db, int rows, int size)
{
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return SQLITE_ERROR;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (randomblob(?1))", -1, &stmt, NULL);
    for (int i = 0; i < rows && rc == SQLITE_OK; i++) {
        sqlite3_bind_int(stmt, 1, size);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

//  Open path through the default VFS with the store's settings.
static sqlite3 *s_test_open(const char *path)
{
    sqlite3 *db = NULL;
    assert(sqlite3_open(path, &db) == SQLITE_OK);
    assert(sqlite3_exec(db,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                        " PRAGMA wal_autocheckpoint = 0;"
                        " CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB);",
                        NULL, NULL, NULL) == SQLITE_OK);
    return db;
}

void lt_sqlite_vfs_test(bool verbose)
{
    if (verbose)
        printf(" * lt_sqlite_vfs: ");
    lt_sqlite_setup();
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    assert(vfs && strcmp(vfs->zName, "lt-wal") == 0);
    char dir[] = "/tmp/lt_sqlite_vfs_XXXXXX";
    assert(mkdtemp(dir));
    char path[256], wal[300];
    snprintf(path, sizeof(path), "%s/t.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);

    //  Every commit is seen by another connection as soon as it returns,
    //  and a commit of many frames is written with few calls.
    sqlite3 *db = s_test_open(path);
    sqlite3 *reader = NULL;
    assert(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    uint64_t before = s_test_writes;
    for (int c = 1; c <= 40; c++) {
        assert(s_test_commit(db, 20, 1000) == SQLITE_OK);
        assert(s_test_rows(reader) == c * 20);
    }
    //  20 rows of 1000 bytes are at least 5 pages, 10 writes ungathered.
    uint64_t writes = s_test_writes - before;
    assert(writes > 0 && writes <= 40 * 3);
    //  A checkpoint and a log that starts over from its beginning.
    assert(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL) ==
           SQLITE_OK);
    for (int c = 1; c <= 5; c++)
        assert(s_test_commit(db, 50, 3000) == SQLITE_OK);
    assert(s_test_rows(reader) == 40 * 20 + 5 * 50);
    sqlite3_close(reader);
    sqlite3_close(db);

    //  A process killed right after its commits returned: they are all there.
    pid_t pid = fork();
    assert(pid >= 0);
    if (pid == 0) {
        sqlite3 *child = s_test_open(path);
        for (int c = 0; c < 10; c++)
            if (s_test_commit(child, 30, 2000) != SQLITE_OK)
                _exit(1);
        raise(SIGKILL);
        _exit(2);
    }
    int status = 0;
    assert(waitpid(pid, &status, 0) == pid);
    assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    db = s_test_open(path);
    assert(s_test_rows(db) == 40 * 20 + 5 * 50 + 10 * 30);
    sqlite3_close(db);

    //  A write that fails (the file size limit, as a full disk would) fails
    //  the commit it belongs to: what a commit reported done is there,
    //  nothing else, and the file is sound.
    int fds[2];
    assert(pipe(fds) == 0);
    pid = fork();
    assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        sqlite3 *child = s_test_open(path);
        int64_t have = s_test_rows(child);
        struct stat st;
        off_t size = stat(wal, &st) == 0 ? st.st_size : 0;
        struct rlimit limit = {.rlim_cur = (rlim_t) size + 300 * 1024,
                               .rlim_max = RLIM_INFINITY};
        setrlimit(RLIMIT_FSIZE, &limit);
        int64_t done = 0;
        int failed = 0;
        for (int c = 0; c < 100 && !failed; c++) {
            int rc = s_test_commit(child, 10, 4000);
            if (rc == SQLITE_OK)
                done += 10;
            else
                failed = rc;
        }
        int64_t report[2] = {have + done, failed};
        if (write(fds[1], report, sizeof(report)) != (ssize_t) sizeof(report))
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    int64_t report[2] = {0, 0};
    assert(read(fds[0], report, sizeof(report)) == (ssize_t) sizeof(report));
    close(fds[0]);
    assert(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert(report[1] != 0);   //  a commit failed, and said so
    db = s_test_open(path);
    assert(s_test_rows(db) == report[0]);
    sqlite3_stmt *stmt = NULL;
    assert(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL) == SQLITE_OK);
    assert(sqlite3_step(stmt) == SQLITE_ROW);
    assert(strcmp((const char *) sqlite3_column_text(stmt, 0), "ok") == 0);
    sqlite3_finalize(stmt);
    //  And writing goes on.
    assert(s_test_commit(db, 10, 4000) == SQLITE_OK);
    assert(s_test_rows(db) == report[0] + 10);
    sqlite3_close(db);

    unlink(path);
    unlink(wal);
    char shm[300];
    snprintf(shm, sizeof(shm), "%s-shm", path);
    unlink(shm);
    rmdir(dir);
    if (verbose)
        printf("OK\n");
}
