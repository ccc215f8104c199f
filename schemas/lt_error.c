/*  lt_error: names and descriptions of the project's error codes. */
#include "lt_error.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    lt_error_t code;    //  the code
    const char *name;   //  stable short name
    const char *text;   //  description for operators
    bool transient;     //  worth retrying later
} s_error_info_t;

static const s_error_info_t s_errors[] = {
    {LT_OK, "OK", "success", false},
    {LT_EPROTO, "EPROTO", "malformed frame or body", false},
    {LT_EAUTH, "EAUTH", "authentication refused", false},
    {LT_EFORBIDDEN, "EFORBIDDEN", "not allowed for this identity", false},
    {LT_ECOMMAND, "ECOMMAND", "unknown command", false},
    {LT_ESTATE, "ESTATE", "command not valid in this session state", false},
    {LT_ETOOBIG, "ETOOBIG", "over the size limit", false},
    {LT_EVERSION, "EVERSION", "protocol version not supported", false},
    {LT_EFIELD, "EFIELD", "missing, mistyped or out-of-range field", false},
    {LT_EINVAL, "EINVAL", "invalid content", false},
    {LT_EROUTE, "EROUTE", "no route for recipient", false},
    {LT_ESIGNATURE, "ESIGNATURE", "signature or digest check failed", false},
    {LT_EINTERNAL, "EINTERNAL", "internal error", true},
    {LT_ESTORE, "ESTORE", "store failure", true},
    {LT_ENOMEM, "ENOMEM", "out of memory", true},
    {LT_EPEER, "EPEER", "peer system reported an error", false},
    {LT_EUNAVAIL, "EUNAVAIL", "temporarily unavailable", true},
    {LT_ETIMEOUT, "ETIMEOUT", "timed out", true},
    {LT_EIO, "EIO", "input/output failure", true},
    {LT_ECONFIG, "ECONFIG", "configuration error", false},
};

static const s_error_info_t *s_lookup(lt_error_t code)
{
    for (size_t i = 0; i < sizeof(s_errors) / sizeof(s_errors[0]); i++)
        if (s_errors[i].code == code)
            return &s_errors[i];
    return NULL;
}

const char *lt_error_name(lt_error_t code)
{
    const s_error_info_t *info = s_lookup(code);
    return info ? info->name : "EUNKNOWN";
}

const char *lt_strerror(lt_error_t code)
{
    const s_error_info_t *info = s_lookup(code);
    return info ? info->text : "unknown error code";
}

bool lt_error_transient(lt_error_t code)
{
    const s_error_info_t *info = s_lookup(code);
    return info ? info->transient : false;
}

lt_error_t lt_err_set(lt_err_t *err, lt_error_t code, const char *format, ...)
{
    if (err) {
        err->code = code;
        va_list args;
        va_start(args, format);
        vsnprintf(err->detail, sizeof(err->detail), format, args);
        va_end(args);
    }
    return code;
}

void lt_err_clear(lt_err_t *err)
{
    if (err) {
        err->code = LT_OK;
        err->detail[0] = 0;
    }
}

void lt_error_test(bool verbose)
{
    if (verbose)
        printf(" * lt_error: ");
    assert(strcmp(lt_error_name(LT_EPROTO), "EPROTO") == 0);
    assert(strcmp(lt_error_name((lt_error_t) 9999), "EUNKNOWN") == 0);
    assert(lt_error_transient(LT_ETIMEOUT));
    assert(!lt_error_transient(LT_EFIELD));
    lt_err_t err;
    assert(lt_err_set(&err, LT_EFIELD, "field '%s' missing", "seq") == LT_EFIELD);
    assert(err.code == LT_EFIELD);
    assert(strcmp(err.detail, "field 'seq' missing") == 0);
    lt_err_clear(&err);
    assert(err.code == LT_OK && err.detail[0] == 0);
    //  Every code has a distinct name.
    size_t n = sizeof(s_errors) / sizeof(s_errors[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert(s_errors[i].code != s_errors[j].code);
    if (verbose)
        printf("OK\n");
}
