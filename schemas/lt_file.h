/*  lt_file: small file helpers shared by the codecs, tools and self-tests. */
#ifndef LT_FILE_H_INCLUDED
#define LT_FILE_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Read a whole file into a new buffer the caller frees, NUL-terminated for
//  convenience (*size_p excludes the NUL). max_size bounds the file (0 = no
//  bound). NULL with err filled (LT_EIO, LT_ETOOBIG) when it cannot be read.
void *lt_file_read(const char *path, size_t max_size, size_t *size_p, lt_err_t *err);

//  Write size bytes of data to path and fsync it. With exclusive the file
//  must not exist yet; otherwise it is replaced. On failure the file is
//  removed and err filled (LT_EIO); returns 0 or -1.
int lt_file_write(const char *path, const void *data, size_t size, bool exclusive,
                  lt_err_t *err);

//  Self-test of this class.
void lt_file_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
