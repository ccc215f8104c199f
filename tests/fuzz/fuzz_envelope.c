/*  fuzz_envelope: libFuzzer target for the envelope decoder
    (lt_envelope_decode in schemas/lt_envelope.c).

    A decoded envelope is encoded again and must decode to an equal one.
    The input is also set as the packed envelope of a DELIVER, as lthubd
    sends a stored envelope (lt_ltp_set_envelope_packed): a frame that
    decodes must carry the envelope lt_envelope_decode makes of the input,
    and none may decode when that fails. (The frame may still be refused
    where the envelope alone is not: one level deeper in the frame, it can
    pass the nesting bound; the store keeps only what lt_envelope_encode
    wrote, which never nests that deep.) The encoded envelope set packed
    must give the frames of the decoded one.
*/
#include "lt_envelope.h"
#include "lt_ltp.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  A DELIVER with a payload; the caller sets its envelope.
static lt_ltp_t *s_deliver(void)
{
    lt_ltp_t *msg = lt_ltp_new(LT_LTP_DELIVER);
    lt_ltp_set_delivery(msg, 42);
    lt_ltp_set_attempt(msg, 1);
    assert(lt_ltp_set_payload(msg, "x", 1) == 0);
    return msg;
}

//  Encode msg and decode its frames again; NULL (err set) when they do not.
static lt_ltp_t *s_wire(lt_ltp_t *msg, zmsg_t **frames_p, lt_err_t *err)
{
    zmsg_t *frames = lt_ltp_encode(msg);
    assert(frames && zmsg_size(frames) == 2);
    zframe_t *command = zmsg_first(frames), *body = zmsg_next(frames);
    lt_ltp_t *back = lt_ltp_decode(zframe_data(command), zframe_size(command),
                                   zframe_data(body), zframe_size(body), 0, err);
    *frames_p = frames;
    return back;
}

//  The input as a DELIVER's packed envelope.
static void s_check_packed(const uint8_t *data, size_t size, const lt_envelope_t *decoded)
{
    if (!lt_ltp_packed_map(data, size)) {
        assert(!decoded || size == 0);   //  every envelope is one map
        return;
    }
    uint8_t *bytes = malloc(size);
    assert(bytes);
    memcpy(bytes, data, size);
    lt_ltp_t *msg = s_deliver();
    assert(lt_ltp_set_envelope_packed(msg, &bytes, size) == 0 && !bytes);
    zmsg_t *frames = NULL;
    lt_err_t err;
    lt_ltp_t *back = s_wire(msg, &frames, &err);
    assert(decoded || !back);
    if (back)
        assert(lt_envelope_eq(lt_ltp_envelope(back), decoded) && lt_ltp_delivery(back) == 42);
    lt_ltp_destroy(&back);
    zmsg_destroy(&frames);
    lt_ltp_destroy(&msg);
}

//  Decode one input; on success check that encode and decode close the loop.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_err_t err;
    //  lt_envelope_decode walks the bytes with lt_ltp_check_msgpack before
    //  msgpack-c sees them, so hostile container counts are refused inside.
    lt_envelope_t *envelope = lt_envelope_decode(data, size, &err);
    s_check_packed(data, size, envelope);
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
    //  Set packed, the encoded envelope goes on the wire as the decoded one.
    lt_ltp_t *packed = s_deliver(), *unpacked = s_deliver();
    assert(lt_ltp_packed_map(encoded, encoded_size));
    lt_ltp_adopt_envelope_packed(packed, &encoded, encoded_size);
    lt_envelope_t *copy = lt_envelope_dup(envelope);
    lt_ltp_set_envelope(unpacked, &copy);
    zmsg_t *wire_a = lt_ltp_encode(packed), *wire_b = lt_ltp_encode(unpacked);
    assert(wire_a && wire_b && zmsg_size(wire_a) == zmsg_size(wire_b));
    for (zframe_t *fa = zmsg_first(wire_a), *fb = zmsg_first(wire_b); fa;
         fa = zmsg_next(wire_a), fb = zmsg_next(wire_b))
        assert(zframe_eq(fa, fb));
    zmsg_destroy(&wire_a);
    zmsg_destroy(&wire_b);
    lt_ltp_destroy(&packed);
    lt_ltp_destroy(&unpacked);
    lt_envelope_destroy(&envelope);
    return 0;
}
