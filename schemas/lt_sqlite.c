/*  lt_sqlite: process-wide SQLite settings (see lt_sqlite.h).

    Memory statistics off: SQLite counts every allocation under one global
    mutex unless told not to, a lock and an unlock per malloc and free on
    the store's hot path. lthub reads none of those statistics. Measured
    with the store alone (lt-store-bench, 6 000 x 1 KiB, instructions
    counted by valgrind): 5.3 % fewer instructions. The setting takes
    effect only before SQLite initialises; later it is refused and nothing
    changes, which is harmless. */
#include "lt_sqlite.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    const char *plain = getenv("LT_SQLITE_PLAIN_VFS");
    if (!plain || !*plain)
        lt_sqlite_vfs_register();
}

void lt_sqlite_setup(void)
{
    pthread_once(&s_once, s_setup);
}

sqlite3 *lt_sqlite_open(const char *path, int flags, const char *what, lt_err_t *err)
{
    lt_sqlite_setup();
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        lt_err_set(err, LT_ESTORE, "%s: cannot open %s: %s", what, path,
                   db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}
