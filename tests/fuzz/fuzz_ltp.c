/*  fuzz_ltp: libFuzzer target for the LTP decoder (schemas/lt_ltp.c).

    Input layout: byte 0 is the length n of the command name, the next n
    bytes are the command frame and the rest is the body frame, so one input
    reaches every command. A decoded message is encoded again and the result
    must decode to an equal message: the codec accepts only what it can
    reproduce.
*/
#include "lt_ltp.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

//  Bodies larger than this are refused with ETOOBIG; inputs are far smaller.
#define S_MAX_FRAME (1u << 20)

//  Decode one input; on success check that encode and decode close the loop.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || data[0] > size - 1)
        return 0;
    size_t command_size = data[0];
    const uint8_t *command = data + 1;
    const uint8_t *body = command + command_size;
    size_t body_size = size - 1 - command_size;
    lt_err_t err;
    lt_ltp_t *msg = lt_ltp_decode(command, command_size, body, body_size, S_MAX_FRAME, &err);
    if (!msg) {
        assert(err.code != LT_OK && err.detail[0]);
        return 0;
    }
    assert(err.code == LT_OK);
    zmsg_t *frames = lt_ltp_encode(msg);
    assert(frames && zmsg_size(frames) == 2);
    zframe_t *command_frame = zmsg_first(frames);
    zframe_t *body_frame = zmsg_next(frames);
    assert(zframe_size(command_frame) == command_size);
    assert(memcmp(zframe_data(command_frame), command, command_size) == 0);
    lt_ltp_t *again = lt_ltp_decode(zframe_data(command_frame), zframe_size(command_frame),
                                    zframe_data(body_frame), zframe_size(body_frame),
                                    S_MAX_FRAME, &err);
    assert(again);
    assert(lt_ltp_id(again) == lt_ltp_id(msg));
    assert(lt_ltp_eq(again, msg));
    lt_ltp_destroy(&again);
    zmsg_destroy(&frames);
    lt_ltp_destroy(&msg);
    return 0;
}
