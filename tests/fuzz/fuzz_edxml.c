/*  fuzz_edxml: libFuzzer target for the edXML reader (lt_edxml_read in
    schemas/lt_edxml_read.c) and writer.

    The input is read under small limits; a package that reads must write,
    and the written package must read back equal to it (read(write(x)) == x),
    its envelope facts must fill.
*/
#include "lt_edxml.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

//  Read one input; on success check that write and read close the loop.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_edxml_limits_t limits = {
        .max_package = 1u << 20,
        .max_attachments = 8,
        .max_depth = 32,
        .max_attachment = 1u << 20,
        .max_total = 2u << 20,
    };
    lt_err_t err;
    lt_edxml_t *pkg = lt_edxml_read(data, size, &limits, &err);
    if (!pkg) {
        assert(err.code != LT_OK && err.detail[0]);
        return 0;
    }
    uint8_t *written = NULL;
    size_t written_size = 0;
    assert(lt_edxml_write(pkg, &written, &written_size, &err) == 0);
    //  Zipping and base64 grow the package; the decoded limits stay.
    limits.max_package = 16u << 20;
    lt_edxml_t *again = lt_edxml_read(written, written_size, &limits, &err);
    assert(again);
    assert(lt_edxml_eq(pkg, again));
    lt_envelope_t *env = lt_envelope_new();
    if (env) {
        assert(lt_edxml_fill_envelope(pkg, env) == 0);
        lt_envelope_destroy(&env);
    }
    lt_edxml_destroy(&again);
    free(written);
    lt_edxml_destroy(&pkg);
    return 0;
}
