/*  lt_routes: a connector's default routes file (connectors/NAME/routes.txt).

    Each connector's folder holds the routes lthubd uses for it when its
    config has no routes section, as data: one route a line,

        KINDS  MATCH  [if-province]

    KINDS is a comma-separated list of message kinds (document, status,
    dossier, progress, report, register, fact) or "*" for every kind; MATCH
    is a recipient pattern (lt_pattern: "*", "*.SUFFIX", "PREFIX*" or an
    agency code) in which "{province}" stands for lthubd's broker/province;
    "if-province" keeps the route out while broker/province is empty (a
    MATCH holding "{province}" implies it). '#' starts a comment; blank
    lines are ignored. lt_add_connector (cmake/LtConnector.cmake) checks
    the file when the hub is built and embeds its text in ltcatalog, so
    that an installed lthubd needs no source tree; a malformed file is
    named with FILE:LINE and what is wrong.
*/
#ifndef LT_ROUTES_H_INCLUDED
#define LT_ROUTES_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_ROUTES_MAX 32          //  routes one file may hold
#define LT_ROUTES_MATCH_MAX 48    //  longest MATCH, characters (room for the province)

//  One default route, as its file gives it.
typedef struct {
    unsigned kinds;                        //  bit set of lt_kind_t (1u << kind)
    char kinds_text[128];                  //  KINDS as written ("document,status")
    char match[LT_ROUTES_MATCH_MAX + 1];   //  MATCH as written, may hold {province}
    bool needs_province;                   //  only while broker/province is set
    int line;                              //  line in the file
} lt_route_default_t;

typedef struct _lt_routes_t lt_routes_t;

//  Parse the text of a routes file named origin (for messages); NULL with
//  err "ORIGIN:LINE: what is wrong" at the first problem.
lt_routes_t *lt_routes_parse(const char *text, const char *origin, lt_err_t *err);

//  Read and parse the routes file at path; NULL with err when it cannot
//  be read or is malformed.
lt_routes_t *lt_routes_load(const char *path, lt_err_t *err);

//  Free the routes and set the caller's pointer to NULL.
void lt_routes_destroy(lt_routes_t **self_p);

//  Number of routes in the file.
size_t lt_routes_size(const lt_routes_t *self);

//  The route at index, or NULL past the end.
const lt_route_default_t *lt_routes_at(const lt_routes_t *self, size_t index);

//  The name the file was parsed under.
const char *lt_routes_origin(const lt_routes_t *self);

//  Write route's MATCH with "{province}" replaced by province into out;
//  -1 when it does not fit or the result is not a valid pattern.
int lt_routes_expand(const lt_route_default_t *route, const char *province, char *out,
                     size_t out_size);

//  Self-test of this class.
void lt_routes_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
