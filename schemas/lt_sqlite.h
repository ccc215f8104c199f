/*  lt_sqlite: process-wide SQLite settings, made once before the process's
    first connection (the broker's store, a connector's own database). */
#ifndef LT_SQLITE_H_INCLUDED
#define LT_SQLITE_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Apply the process-wide settings once; safe from any thread, any number
//  of times. Call it before opening a connection.
void lt_sqlite_setup(void);

#ifdef __cplusplus
}
#endif

#endif
