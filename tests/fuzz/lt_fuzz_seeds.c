/*  lt_fuzz_seeds: writes the seed corpora of fuzz_ltp and fuzz_envelope.

    Usage: lt_fuzz_seeds DIR  (writes DIR/ltp/ and DIR/envelope/, which must
    exist). An LTP seed is laid out as fuzz_ltp.c reads it: one byte giving
    the command's length, the command, then the msgpack body. Seeds are kept
    small (a few hundred bytes) so libFuzzer mutates them quickly.
*/
#include "lt_envelope.h"
#include "lt_ltp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A string literal and its length without the terminating NUL.
#define S_LITERAL(text) (text), (sizeof(text) - 1)

//  Write size bytes of data to DIR/sub/name; 0 or -1.
static int s_write(const char *dir, const char *sub, const char *name, const void *data,
                   size_t size)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(data, 1, size, file) != size) {
        fprintf(stderr, "lt_fuzz_seeds: cannot write %s\n", path);
        if (file)
            fclose(file);
        return -1;
    }
    return fclose(file) == 0 ? 0 : -1;
}

//  Write an LTP seed: length byte, command, body.
static int s_write_ltp(const char *dir, const char *name, const char *command, const void *body,
                       size_t body_size)
{
    size_t command_size = strlen(command);
    size_t size = 1 + command_size + body_size;
    uint8_t *seed = malloc(size);
    if (!seed)
        return -1;
    seed[0] = (uint8_t) command_size;
    memcpy(seed + 1, command, command_size);
    if (body_size)
        memcpy(seed + 1 + command_size, body, body_size);
    int rc = s_write(dir, "ltp", name, seed, size);
    free(seed);
    return rc;
}

//  A document envelope with every field set.
static lt_envelope_t *s_envelope(lt_kind_t kind, size_t recipients)
{
    lt_envelope_t *envelope = lt_envelope_new();
    if (!envelope)
        return NULL;
    lt_envelope_set_id(envelope, "01890a5d-ac96-774b-bcce-b302099a8057");
    lt_envelope_set_kind(envelope, kind);
    lt_envelope_set_key(envelope, "000.00.12.H26,2026/09/03,215/STTTT-VP");
    lt_envelope_set_btype(envelope, kind == LT_KIND_STATUS ? "03" : "new");
    lt_envelope_set_revision(envelope, "1");
    lt_envelope_set_source(envelope, "dms");
    lt_envelope_set_system(envelope, "qlvb-vnpt");
    lt_envelope_set_sender(envelope, "000.00.12.H26");
    for (size_t i = 0; i < recipients; i++) {
        char code[32];
        snprintf(code, sizeof(code), "000.00.%02zu.H26", i + 13);
        lt_envelope_add_recipient(envelope, code);
    }
    lt_envelope_set_created(envelope, 1788000000000);
    lt_envelope_set_received(envelope, 1788000000123);
    lt_envelope_set_payload_facts(envelope, "<edXML/>", 8);
    lt_envelope_set_signature(envelope, LT_SIG_VALID);
    lt_envelope_set_signer(envelope, "CN=Nguyen Van A");
    lt_envelope_set_secret(envelope, false);
    lt_envelope_set_channel(envelope, kind == LT_KIND_DOSSIER ? LT_CHANNEL_ONLINE
                                                              : LT_CHANNEL_UNKNOWN);
    return envelope;
}

//  Set every field of msg; encoding keeps only those of its command.
static void s_fill(lt_ltp_t *msg)
{
    lt_ltp_set_name(msg, "dms");
    lt_ltp_set_kind(msg, "dms");
    lt_ltp_set_credit(msg, 100);
    lt_ltp_set_heartbeat(msg, 5000);
    lt_ltp_set_max_frame(msg, LT_LTP_MAX_FRAME);
    lt_ltp_set_seq(msg, 42);
    lt_ltp_set_msgid(msg, "01890a5d-ac96-774b-bcce-b302099a8057");
    lt_ltp_set_duplicate(msg, true);
    lt_ltp_set_code(msg, LT_EROUTE);
    lt_ltp_set_reason(msg, "no route for recipient 000.00.99.H99");
    lt_ltp_set_delivery(msg, 7);
    lt_ltp_set_attempt(msg, 2);
    lt_ltp_set_delay(msg, 30000);
    lt_envelope_t *envelope = s_envelope(LT_KIND_DOCUMENT, 2);
    if (envelope)
        lt_ltp_set_envelope(msg, &envelope);
    lt_ltp_set_payload(msg, "<edXML/>", 8);
    lt_ltp_set_batch(msg, true);
    lt_ltp_add_ack(msg, 43, "01890a5d-ac96-774b-bcce-b302099a8058", false);
    lt_ltp_add_delivery(msg, 8);
    if (lt_ltp_id(msg) == LT_LTP_BATCH)   //  a publish and its answers, in one frame
        for (lt_ltp_id_t id = LT_LTP_PUBLISH; id <= LT_LTP_DONE; id++) {
            lt_ltp_t *item = lt_ltp_new(id);
            if (!item)
                continue;
            s_fill(item);
            if (lt_ltp_batch_add(msg, &item))
                lt_ltp_destroy(&item);
        }
}

//  Encode msg and write it as seed <name>; 0 or -1.
static int s_write_msg(const char *dir, const char *name, const lt_ltp_t *msg)
{
    zmsg_t *frames = lt_ltp_encode(msg);
    if (!frames)
        return -1;
    zframe_t *body = zmsg_last(frames);
    int rc = s_write_ltp(dir, name, lt_ltp_command(msg), zframe_data(body), zframe_size(body));
    zmsg_destroy(&frames);
    return rc;
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: lt_fuzz_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int rc = 0;
    char name[64];
    for (int id = LT_LTP_NONE + 1; id < LT_LTP_COUNT; id++) {
        lt_ltp_t *msg = lt_ltp_new((lt_ltp_id_t) id);
        if (!msg)
            return 1;
        snprintf(name, sizeof(name), "%s-bare", lt_ltp_id_name((lt_ltp_id_t) id));
        rc |= s_write_msg(dir, name, msg);
        s_fill(msg);
        snprintf(name, sizeof(name), "%s-full", lt_ltp_id_name((lt_ltp_id_t) id));
        rc |= s_write_msg(dir, name, msg);
        lt_ltp_destroy(&msg);
    }
    //  A few refused inputs, so the error paths start covered.
    rc |= s_write_ltp(dir, "BOGUS", "BOGUS", S_LITERAL("\x80"));
    rc |= s_write_ltp(dir, "PUBLISH-missing", "PUBLISH", S_LITERAL("\x81\xa3seq\x01"));
    rc |= s_write_ltp(dir, "HELLO-duplicate", "HELLO",
                      S_LITERAL("\x82\xa4name\xa3" "dms\xa4name\xa3" "dms"));
    rc |= s_write_ltp(dir, "CREDIT-claim", "CREDIT",
                      S_LITERAL("\x81\xa6" "credit\xdd\xff\xff\xff\xff"));

    static const struct {
        const char *name;   //  seed file
        lt_kind_t kind;     //  envelope kind
        size_t to;          //  recipients
    } envelopes[] = {
        {"document", LT_KIND_DOCUMENT, 3}, {"status", LT_KIND_STATUS, 1},
        {"dossier", LT_KIND_DOSSIER, 0},   {"report", LT_KIND_REPORT, 0},
        {"register", LT_KIND_REGISTER, 12},
    };
    for (size_t i = 0; i < sizeof(envelopes) / sizeof(envelopes[0]); i++) {
        lt_envelope_t *envelope = s_envelope(envelopes[i].kind, envelopes[i].to);
        uint8_t *data = NULL;
        size_t size = 0;
        if (!envelope || lt_envelope_encode(envelope, &data, &size))
            return 1;
        rc |= s_write(dir, "envelope", envelopes[i].name, data, size);
        free(data);
        lt_envelope_destroy(&envelope);
    }
    rc |= s_write(dir, "envelope", "minimal", S_LITERAL("\x81\xa4kind\xa6report"));
    return rc ? 1 : 0;
}
