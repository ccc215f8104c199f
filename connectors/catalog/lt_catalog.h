/*  lt_catalog: the connectors this build knows, each with its option table.

    Every connector declares its options in one file (connectors/NAME/
    NAME_options.c) holding an lt_catalog_entry_t named lt_catalog_NAME;
    lt_add_connector (cmake/LtConnector.cmake) compiles that file into this
    library and lists the entry in the generated table, so that lthubd
    checks each connector's section of its config (`--check-config`) and
    prints every connector's options (`--defaults`) with the same table the
    connector itself reads them with. Nothing here is code of a connector:
    only its declarations.
*/
#ifndef LT_CATALOG_H_INCLUDED
#define LT_CATALOG_H_INCLUDED

#include "lt_option.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  A default route to a connector, used by lthubd when its config has no
//  routes section; "{province}" in match stands for broker/province.
typedef struct {
    const char *kinds;             //  kinds, comma-separated ("document,status"); NULL ends
    const char *match;             //  pattern (lt_pattern), may hold {province}
    bool needs_province;           //  only when broker/province is set
} lt_catalog_route_t;

//  One connector of the build.
typedef struct {
    const char *name;              //  connector name and kind ("dms"); program lthub-NAME
    const char *summary;           //  one line for --help and --defaults
    const lt_option_t *options;    //  its own options (the runtime's are lt_catalog_runtime)
    const lt_catalog_route_t *routes;   //  its default routes, or NULL
} lt_catalog_entry_t;

//  Number of connectors in the build.
size_t lt_catalog_size(void);

//  The connector at index, or NULL past the end.
const lt_catalog_entry_t *lt_catalog_at(size_t index);

//  The connector named name, or the one whose program is lthub-NAME
//  (a path's last component counts); NULL when unknown.
const lt_catalog_entry_t *lt_catalog_find(const char *name, const char *program);

//  The options every connector takes from the runtime (name, broker, keys...).
const lt_option_t *lt_catalog_runtime(void);

//  The same table, for the runtime itself.
extern const lt_option_t lt_catalog_runtime_options[];

#ifdef __cplusplus
}
#endif
#endif
