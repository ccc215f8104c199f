/*  lt_catalog: the connectors this build knows, each with its option table.

    Every connector declares its options in one file (connectors/NAME/
    NAME_options.c) holding an lt_catalog_entry_t named lt_catalog_NAME,
    and its default routes in connectors/NAME/routes.txt (lt_routes.h);
    lt_add_connector (cmake/LtConnector.cmake) compiles the first into this
    library, embeds the text of the second, and lists both in the generated
    table, so that lthubd routes without a routes section and
    checks each connector's section of its config (`--check-config`) and
    prints every connector's options (`--defaults`) with the same table the
    connector itself reads them with. Nothing here is code of a connector:
    only its declarations.
*/
#ifndef LT_CATALOG_H_INCLUDED
#define LT_CATALOG_H_INCLUDED

#include "lt_option.h"
#include "lt_routes.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  One connector of the build.
typedef struct {
    const char *name;              //  connector name and kind ("dms"); program lthub-NAME
    const char *summary;           //  one line for --help and --defaults
    const lt_option_t *options;    //  its own options (the runtime's are lt_catalog_runtime)
} lt_catalog_entry_t;

//  A connector's default routes file (connectors/NAME/routes.txt), its
//  text embedded by lt_add_connector; the generated table holds one per
//  connector, in the order of lt_catalog_entries.
typedef struct {
    const char *origin;            //  the file, relative to the source tree
    const char *text;              //  its text, NUL-ended
} lt_catalog_routes_file_t;

//  Number of connectors in the build.
size_t lt_catalog_size(void);

//  The connector at index, or NULL past the end.
const lt_catalog_entry_t *lt_catalog_at(size_t index);

//  The connector named name, or the one whose program is lthub-NAME
//  (a path's last component counts); NULL when unknown.
const lt_catalog_entry_t *lt_catalog_find(const char *name, const char *program);

//  The default routes of the connector at index, parsed from its routes
//  file; NULL with err ("connectors/NAME/routes.txt:LINE: ...") when the
//  file is malformed or index is past the end.
lt_routes_t *lt_catalog_routes(size_t index, lt_err_t *err);

//  Self-test: every connector's embedded routes file parses.
void lt_catalog_test(bool verbose);

//  The options every connector takes from the runtime (name, broker, keys...).
const lt_option_t *lt_catalog_runtime(void);

//  The same table, for the runtime itself.
extern const lt_option_t lt_catalog_runtime_options[];

#ifdef __cplusplus
}
#endif
#endif
