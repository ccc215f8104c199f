/*  lt_agencies: the province's agency directory.

    A text file, one agency per line, fields separated by '|':

        CODE | PARENT | LEVEL | KIND | NAME

    e.g. "000.03.31.H26 | 000.00.31.H26 | 3 | unit | Phòng Tiếp nhận và Trả kết
    quả". PARENT may be empty: it is then the code's roll-up parent (the code
    with its left-most non-zero group set to zero: 000.03.31.H26 →
    000.00.31.H26 → 000.00.00.H26). LEVEL is 1 to 4; KIND a word (province,
    department, district, commune, unit, ...). '#' starts a comment. Errors
    name the file and line. The agencies listed are the "configured
    agencies" of doc_connected_agencies_rate.
*/
#ifndef LT_AGENCIES_H_INCLUDED
#define LT_AGENCIES_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_agencies_t lt_agencies_t;

//  One agency of the directory.
typedef struct {
    char code[64];      //  agency code, 000.00.12.H26
    char parent[64];    //  parent code ("" at the top)
    int level;          //  1 (province) to 4
    char kind[32];      //  province, department, district, commune, unit, ...
    char name[256];     //  Vietnamese name
    int line;           //  where it was defined
} lt_agency_t;

//  An empty directory; NULL on no memory.
lt_agencies_t *lt_agencies_new(void);

//  Load a directory file; NULL with err "FILE:LINE: what" on a bad line.
lt_agencies_t *lt_agencies_load(const char *path, lt_err_t *err);

//  Destroy; safe on NULL.
void lt_agencies_destroy(lt_agencies_t **self_p);

//  Agencies in file order.
size_t lt_agencies_size(const lt_agencies_t *self);
const lt_agency_t *lt_agencies_at(const lt_agencies_t *self, size_t index);

//  The agency with a code, or NULL.
const lt_agency_t *lt_agencies_find(const lt_agencies_t *self, const char *code);

//  Name of a code, or the code itself when it is not in the directory.
const char *lt_agencies_name(const lt_agencies_t *self, const char *code);

//  Write the parent of code to out ("" at the top): the directory's parent
//  when the code is listed with one, else the roll-up by code.
void lt_agencies_parent(const lt_agencies_t *self, const char *code, char *out, size_t size);

//  True when code is ancestor or one of its descendants. An ancestor ""
//  or equal to the province code ("H26") holds every agency.
bool lt_agencies_under(const lt_agencies_t *self, const char *code, const char *ancestor);

//  The roll-up parent by code alone ("" when every group is zero).
void lt_agency_code_parent(const char *code, char *out, size_t size);

//  Self-test of this class.
void lt_agencies_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
