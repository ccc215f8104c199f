/*  fuzz_envelope: libFuzzer target for the envelope decoder
    (lt_envelope_decode in schemas/lt_envelope.c).

    A decoded envelope is encoded again and must decode to an equal one.
*/
#include "lt_envelope.h"
#include "lt_ltp.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  Decode one input; on success check that encode and decode close the loop.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_err_t err;
    //  lt_envelope_decode walks the bytes with lt_ltp_check_msgpack before
    //  msgpack-c sees them, so hostile container counts are refused inside.
    lt_envelope_t *envelope = lt_envelope_decode(data, size, &err);
    if (!envelope) {
        assert(err.code != LT_OK && err.detail[0]);
        return 0;
    }
    uint8_t *encoded = NULL;
    size_t encoded_size = 0;
    assert(lt_envelope_encode(envelope, &encoded, &encoded_size) == 0);
    lt_envelope_t *again = lt_envelope_decode(encoded, encoded_size, &err);
    assert(again && lt_envelope_eq(again, envelope));
    lt_envelope_destroy(&again);
    free(encoded);
    lt_envelope_destroy(&envelope);
    return 0;
}
