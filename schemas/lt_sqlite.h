/*  lt_sqlite: process-wide SQLite settings, made once before the process's
    first connection (the broker's store, a connector's own database). */
#ifndef LT_SQLITE_H_INCLUDED
#define LT_SQLITE_H_INCLUDED

#include "lt_error.h"

#include <sqlite3.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Apply the process-wide settings once; safe from any thread, any number
//  of times. Call it before opening a connection.
void lt_sqlite_setup(void);

//  Open a connector's own database at path with flags (sqlite3_open_v2),
//  after lt_sqlite_setup, with a busy timeout of 5 s. Returns the
//  connection, or NULL with err ("WHAT: cannot open PATH: why").
sqlite3 *lt_sqlite_open(const char *path, int flags, const char *what, lt_err_t *err);

//  Make the default VFS one that writes a commit's WAL frames with one
//  call (lt_sqlite_vfs.c); lt_sqlite_setup does it.
void lt_sqlite_vfs_register(void);

//  Self-test of the VFS.
void lt_sqlite_vfs_test(bool verbose);

#ifdef __cplusplus
}
#endif

#endif
