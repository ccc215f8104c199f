/*  lt_dms_systems: the DMS client systems that lthub-dms serves.

    Read from a ZPL file (the --systems option), one `system` section per
    client system:

        system
            id = "sys-a"                        #   XroadVnpt-systemid
            secret_file = "secrets/sys-a"       #   relative to this file
            agencies = "000.00.12.H26, 000.01.12.H26"
            fresh_window = 300                  #   optional, seconds; default 0 (off)
            names                               #   optional: agency names for
                000.00.12.H26 = "Sở TT&TT"      #   getAgenciesList

    `agencies` lists the agency codes the system serves, separated by commas
    or spaces: exact codes, or patterns as in routes ("*", "*.H26" or
    "*SUFFIX", "PREFIX*"). A system may send only as an agency it serves,
    and receives what is addressed to the agencies it serves. Secrets stay
    in their own files (DESIGN.md section 9) and never appear in messages.
    `fresh_window`, for a client that signs each request with a fresh
    timestamp, makes lthub-dms refuse a request whose timestamp is more
    than that many seconds from the hub's clock, or whose signature it
    already saw within the window (a replay). The reference SDK makes its
    timestamp once per service object, so it stays off by default.
    `names` gives the agency names getAgenciesList answers until the agency
    directory provides them. Errors name the file and line. Immutable after
    loading, so any thread may read it.
*/
#ifndef LT_DMS_SYSTEMS_H_INCLUDED
#define LT_DMS_SYSTEMS_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_DMS_MAX_SYSTEMS  256   //  systems per file
#define LT_DMS_MAX_AGENCIES 256   //  codes or patterns per system
#define LT_DMS_ID_MAX       64    //  longest system id, with the NUL

typedef struct _lt_dms_systems_t lt_dms_systems_t;

//  Load and check a systems file. Returns NULL with err filled
//  (LT_ECONFIG "FILE:LINE: ...", or LT_ENOMEM).
lt_dms_systems_t *lt_dms_systems_load(const char *path, lt_err_t *err);

//  Destroy (wiping the secrets) and set the caller's pointer to NULL; safe on NULL.
void lt_dms_systems_destroy(lt_dms_systems_t **self_p);

//  Return how many systems there are.
size_t lt_dms_systems_count(const lt_dms_systems_t *self);

//  Return the index of a system id, or -1 when unknown.
int lt_dms_systems_find(const lt_dms_systems_t *self, const char *id);

//  Return the id of system index.
const char *lt_dms_systems_id(const lt_dms_systems_t *self, size_t index);

//  Return the secret bytes of system index and their size.
const void *lt_dms_systems_secret(const lt_dms_systems_t *self, size_t index, size_t *size);

//  Return how many codes or patterns system index serves, and one of them.
size_t lt_dms_systems_agencies(const lt_dms_systems_t *self, size_t index);
const char *lt_dms_systems_agency(const lt_dms_systems_t *self, size_t index, size_t agency);

//  Return the freshness window of system index in seconds (0: off).
unsigned lt_dms_systems_fresh_window(const lt_dms_systems_t *self, size_t index);

//  Return the name the file gives an agency code (in any system), or NULL.
const char *lt_dms_systems_agency_name(const lt_dms_systems_t *self, const char *code);

//  Return true when system index serves an agency code.
bool lt_dms_systems_serves(const lt_dms_systems_t *self, size_t index, const char *code);

//  Self-test of this class.
void lt_dms_systems_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
