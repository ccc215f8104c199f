/*  lt_zpl: a ZPL file (czmq zconfig) read with the line of every node.

    zconfig keeps no line numbers, so after loading, the tree is walked in
    document order and each node paired with the n-th non-blank,
    non-comment line of the text: in ZPL every such line is exactly one
    node. A syntax error is turned into its line and czmq's reason, and the
    file is read by this class (zconfig_load leaks its file handle when the
    text has a syntax error). lthubd's config, the connectors' sections of
    it and lthub-dms's systems file are all read with it.
*/
#ifndef LT_ZPL_H_INCLUDED
#define LT_ZPL_H_INCLUDED

#include "lt_error.h"

#include <czmq.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_zpl_t lt_zpl_t;

//  Read and parse a ZPL file of at most 4 MiB. On failure returns NULL,
//  sets *line_p (when not NULL) to the line of a syntax error (0 when the
//  file cannot be read) and fills err with the reason, without the file
//  name (callers write "FILE:LINE: reason").
lt_zpl_t *lt_zpl_load(const char *path, int *line_p, lt_err_t *err);

//  Destroy; safe on NULL.
void lt_zpl_destroy(lt_zpl_t **self_p);

//  The root of the tree (owned by the lt_zpl_t).
zconfig_t *lt_zpl_root(lt_zpl_t *self);

//  The file's line of a node of the tree, 0 when unknown.
int lt_zpl_line(const lt_zpl_t *self, zconfig_t *node);

//  Self-test of this class.
void lt_zpl_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
