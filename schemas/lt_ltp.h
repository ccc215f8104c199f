/*  lt_ltp: one LTP message (the connector protocol, DESIGN.md section 3).

    Every LTP message on the wire is two ZeroMQ frames, a command name and a
    msgpack map (schemas/ltp.md); a ROUTER socket adds the peer's routing id
    in front. This class holds one decoded message: its command and the
    fields that command carries, in the manner of zproto codecs. Decoding is
    strict and never asserts on input: an unknown command, a missing or
    mistyped field, a duplicate key, trailing bytes or an oversize frame gives
    NULL and an lt_err_t naming the problem.
*/
#ifndef LT_LTP_H_INCLUDED
#define LT_LTP_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_LTP_VERSION 1                       //  protocol version spoken here
#define LT_LTP_MAX_FRAME (65u * 1024 * 1024)   //  default largest body frame
#define LT_LTP_MAX_COMMAND 16                  //  longest command name accepted
#define LT_LTP_MAX_NAME 64                     //  longest name, kind or msgid
#define LT_LTP_MAX_REASON 1024                 //  longest reason, in bytes
#define LT_LTP_MAX_STATS 65536                 //  longest stats (JSON text), in bytes
#define LT_LTP_MAX_KEYS 64                     //  most keys in a body map
#define LT_LTP_MAX_VALUES 65536                //  most msgpack values in one body
#define LT_LTP_MAX_BATCH 4096                  //  most entries in 'acks', 'deliveries' or a BATCH
//  Most 'acks' and 'deliveries' entries in all the messages of one BATCH:
//  as many as LT_LTP_GATHER_COUNT (64) messages with full lists, so a BATCH
//  that the broker or the runtime gathers never exceeds it, while the work
//  one frame asks of its receiver stays bounded.
#define LT_LTP_MAX_BATCH_ENTRIES (64 * LT_LTP_MAX_BATCH)

//  Commands. Values are stable (used in logs and stats), names travel on the wire.
typedef enum {
    LT_LTP_NONE = 0,
    LT_LTP_HELLO = 1,      //  c->b  version, name, kind, credit
    LT_LTP_WELCOME = 2,    //  b->c  version, name, heartbeat, max_frame
    LT_LTP_PUBLISH = 3,    //  c->b  seq, envelope, payload
    LT_LTP_ACCEPTED = 4,   //  b->c  seq, msgid, duplicate
    LT_LTP_REJECTED = 5,   //  b->c  seq, code, reason
    LT_LTP_DELIVER = 6,    //  b->c  delivery, attempt, envelope, payload
    LT_LTP_DONE = 7,       //  c->b  delivery
    LT_LTP_RETRY = 8,      //  c->b  delivery, reason, delay (optional)
    LT_LTP_FAIL = 9,       //  c->b  delivery, reason
    LT_LTP_CREDIT = 10,    //  c->b  credit
    LT_LTP_PING = 11,      //  both  stats (optional, connector to broker)
    LT_LTP_PONG = 12,      //  both  stats (optional, connector to broker)
    LT_LTP_ERROR = 13,     //  b->c  code, reason (session-level error)
    LT_LTP_BYE = 14,       //  both  (no fields) clean close
    LT_LTP_BATCH = 15,     //  both  several messages in one frame (peers that said 'batch')
    LT_LTP_COUNT
} lt_ltp_id_t;

typedef struct _lt_ltp_t lt_ltp_t;

//  One further acknowledgement an ACCEPTED carries (field 'acks').
typedef struct {
    uint64_t seq;                        //  publisher's sequence number
    bool duplicate;                      //  the broker already had the message
    char msgid[LT_LTP_MAX_NAME + 1];     //  stored message id
} lt_ltp_ack_t;

//  Create a message with the given command and no fields set; NULL on no memory.
lt_ltp_t *lt_ltp_new(lt_ltp_id_t id);

//  Destroy a message and set the caller's pointer to NULL; safe on NULL.
void lt_ltp_destroy(lt_ltp_t **self_p);

//  Decode one message from its two frames (command, body). max_frame bounds
//  the body (0 = LT_LTP_MAX_FRAME). NULL with err filled on bad input.
lt_ltp_t *lt_ltp_decode(const void *command, size_t command_size, const void *body,
                        size_t body_size, size_t max_frame, lt_err_t *err);

//  Encode into a new zmsg_t: [routing id if set] command body. NULL on no memory.
zmsg_t *lt_ltp_encode(const lt_ltp_t *self);

//  Send the message on a socket and destroy it (also on failure). Returns 0
//  or -1. On a ROUTER socket the routing id must be set.
int lt_ltp_send(lt_ltp_t **self_p, void *socket);

//  One message taken by lt_ltp_read.
typedef struct {
    lt_ltp_t *msg;          //  the decoded message, NULL when it was bad
    zframe_t *routing_id;   //  a ROUTER's sender (the caller destroys it), or NULL
    char user[64];          //  the connection's User-Id (CURVE), "" when none
    bool has_user;          //  it has one that fits user (a connector name)
} lt_ltp_read_t;

//  Take one message waiting on a socket without blocking: its frames
//  ((routing id,) command, body) read straight into libzmq messages and
//  decoded, with no zmsg or frame objects but the routing id. Returns -1
//  when no message waits, else 0 with out filled; out->msg is NULL and err
//  says why when the message was bad (its routing id is still given, to
//  answer ERROR).
int lt_ltp_read(void *socket, bool router, size_t max_frame, lt_ltp_read_t *out,
                lt_err_t *err);

//  Receive one message from a socket, blocking; its frames are read and
//  checked as lt_ltp_read does, so both take and refuse the same messages
//  with the same reasons. A ROUTER socket's routing id
//  frame is kept in the message (lt_ltp_routing_id). On bad input returns
//  NULL with err filled and, if routing_id_p is not NULL and the socket is a
//  ROUTER, hands the sender's routing id to the caller so it can answer with
//  ERROR. On interrupt returns NULL with err->code LT_EIO; when the socket's
//  receive timeout expires, NULL with LT_ETIMEOUT.
lt_ltp_t *lt_ltp_recv(void *socket, size_t max_frame, lt_err_t *err, zframe_t **routing_id_p);

//  The command, and its wire name ("HELLO"); lt_ltp_id_from_name returns
//  LT_LTP_NONE for an unknown name.
lt_ltp_id_t lt_ltp_id(const lt_ltp_t *self);
const char *lt_ltp_command(const lt_ltp_t *self);
const char *lt_ltp_id_name(lt_ltp_id_t id);
lt_ltp_id_t lt_ltp_id_from_name(const char *name, size_t size);

//  Routing id (ROUTER side). The getter lends; the setter copies (NULL clears).
zframe_t *lt_ltp_routing_id(const lt_ltp_t *self);
void lt_ltp_set_routing_id(lt_ltp_t *self, zframe_t *routing_id);

//  Fields. Each is meaningful only for the commands listed in lt_ltp_id_t;
//  string getters never return NULL (unset is ""); setters copy, cutting
//  the value at a UTF-8 boundary to its wire limit (LT_LTP_MAX_NAME for
//  name, kind and msgid, LT_LTP_MAX_REASON for reason); NULL clears.
uint32_t lt_ltp_version(const lt_ltp_t *self);
void lt_ltp_set_version(lt_ltp_t *self, uint32_t version);
const char *lt_ltp_name(const lt_ltp_t *self);          //  connector or broker name
void lt_ltp_set_name(lt_ltp_t *self, const char *name);
const char *lt_ltp_kind(const lt_ltp_t *self);          //  connector kind ("dms", "axis", ...)
void lt_ltp_set_kind(lt_ltp_t *self, const char *kind);
uint32_t lt_ltp_credit(const lt_ltp_t *self);           //  deliveries the connector can take
void lt_ltp_set_credit(lt_ltp_t *self, uint32_t credit);
uint32_t lt_ltp_heartbeat(const lt_ltp_t *self);        //  ping interval, ms
void lt_ltp_set_heartbeat(lt_ltp_t *self, uint32_t ms);
uint32_t lt_ltp_max_frame(const lt_ltp_t *self);        //  largest body the broker takes
void lt_ltp_set_max_frame(lt_ltp_t *self, uint32_t bytes);
uint64_t lt_ltp_seq(const lt_ltp_t *self);              //  publisher's sequence number
void lt_ltp_set_seq(lt_ltp_t *self, uint64_t seq);
const char *lt_ltp_msgid(const lt_ltp_t *self);         //  stored message id (UUIDv7)
void lt_ltp_set_msgid(lt_ltp_t *self, const char *msgid);
bool lt_ltp_duplicate(const lt_ltp_t *self);            //  ACCEPTED for an already-stored key
void lt_ltp_set_duplicate(lt_ltp_t *self, bool duplicate);
uint32_t lt_ltp_code(const lt_ltp_t *self);             //  lt_error_t value
void lt_ltp_set_code(lt_ltp_t *self, uint32_t code);
const char *lt_ltp_reason(const lt_ltp_t *self);        //  readable reason
void lt_ltp_set_reason(lt_ltp_t *self, const char *reason);
uint64_t lt_ltp_delivery(const lt_ltp_t *self);         //  delivery id
void lt_ltp_set_delivery(lt_ltp_t *self, uint64_t delivery);
uint32_t lt_ltp_attempt(const lt_ltp_t *self);          //  1 for the first attempt
void lt_ltp_set_attempt(lt_ltp_t *self, uint32_t attempt);
uint32_t lt_ltp_delay(const lt_ltp_t *self);            //  RETRY: wait at least this, ms
void lt_ltp_set_delay(lt_ltp_t *self, uint32_t ms);
const char *lt_ltp_stats(const lt_ltp_t *self);         //  PING/PONG c->b: own counters, JSON
void lt_ltp_set_stats(lt_ltp_t *self, const char *stats);

//  Batched acknowledgements (schemas/ltp.md, section 4.1). 'batch' in
//  HELLO: the connector takes ACCEPTED with 'acks'; in WELCOME: the broker
//  takes DONE with 'deliveries'. add_ack and add_delivery append one entry
//  (-1 past LT_LTP_MAX_BATCH entries, an overlong msgid, or no memory).
bool lt_ltp_batch(const lt_ltp_t *self);
void lt_ltp_set_batch(lt_ltp_t *self, bool batch);
int lt_ltp_add_ack(lt_ltp_t *self, uint64_t seq, const char *msgid, bool duplicate);
size_t lt_ltp_ack_count(const lt_ltp_t *self);
const lt_ltp_ack_t *lt_ltp_ack(const lt_ltp_t *self, size_t index);
int lt_ltp_add_delivery(lt_ltp_t *self, uint64_t delivery);
size_t lt_ltp_delivery_count(const lt_ltp_t *self);
uint64_t lt_ltp_delivery_at(const lt_ltp_t *self, size_t index);

//  BATCH: several messages to one peer in one frame (schemas/ltp.md,
//  section 4.2). add takes *msg_p (cleared) and fails, leaving it, past
//  LT_LTP_MAX_BATCH messages or for a BATCH; count says how many it holds;
//  take hands message index to the caller (NULL when taken already);
//  bytes is the sum of the held messages' payload sizes.
int lt_ltp_batch_add(lt_ltp_t *self, lt_ltp_t **msg_p);
size_t lt_ltp_batch_count(const lt_ltp_t *self);
lt_ltp_t *lt_ltp_batch_take(lt_ltp_t *self, size_t index);
size_t lt_ltp_batch_bytes(const lt_ltp_t *self);

//  Gathering the messages of one round for a peer that reads BATCH (the
//  broker's and the runtime's sending). gather adds *msg_p to *batch_p
//  (made when NULL) and returns 1 when the BATCH should go now
//  (LT_LTP_GATHER_COUNT messages or LT_LTP_GATHER_BYTES of payload), else
//  0; -1 leaves *msg_p to be sent alone, after what was gathered: a
//  payload over 64 KiB, no room, no memory. gathered hands over what
//  *batch_p holds as one message to send (its only message, or the
//  BATCH), NULL when nothing.
//
//  64 messages a frame: CURVE's cost per frame is already spread thin
//  (about 0.13 us a message), and a receiver sees frames it can act on
//  sooner. With 1024, a publisher's long BATCH kept the broker from the
//  sink's DONEs and from its check for the log's sync for its whole
//  length, and the sink's credit came back late: full speed 33 500-33 900
//  msgs/s against 35 900-38 600 with 64, four alternated pairs
//  (docs/performance.md, "Smaller BATCH frames").
#define LT_LTP_GATHER_COUNT 64
#define LT_LTP_GATHER_BYTES (1024 * 1024)
int lt_ltp_gather(lt_ltp_t **batch_p, lt_ltp_t **msg_p);
lt_ltp_t *lt_ltp_gathered(lt_ltp_t **batch_p);

//  Envelope: the getter lends; set takes ownership (*envelope_p becomes NULL);
//  take hands the envelope to the caller and clears the field.
const lt_envelope_t *lt_ltp_envelope(const lt_ltp_t *self);
void lt_ltp_set_envelope(lt_ltp_t *self, lt_envelope_t **envelope_p);
lt_envelope_t *lt_ltp_take_envelope(lt_ltp_t *self);

//  Set the envelope as the bytes lt_envelope_encode made of it (as a store
//  keeps it): they go on the wire as they are, neither decoded nor packed
//  again. Takes *data_p (malloc'd; NULL after) when it is one complete
//  msgpack map and nothing else; -1 otherwise, *data_p left to the caller.
//  The getters decode it on first use. Setting or borrowing an envelope
//  afterwards drops it.
int lt_ltp_set_envelope_packed(lt_ltp_t *self, uint8_t **data_p, size_t size);

//  As lt_ltp_set_envelope_packed, for bytes the caller has already had
//  lt_ltp_packed_map accept (a store's scan checks each row it reads):
//  taken without checking them a second time.
void lt_ltp_adopt_envelope_packed(lt_ltp_t *self, uint8_t **data_p, size_t size);

//  True when data is exactly one complete msgpack map (fixmap, map 16 or
//  map 32) within the value bounds of lt_ltp_check_msgpack: what
//  lt_ltp_set_envelope_packed takes.
bool lt_ltp_packed_map(const void *data, size_t size);

//  Refer to an envelope and payload that stay the caller's: nothing is
//  copied, and the message frees neither. The caller keeps both alive and
//  unchanged until the message is sent or destroyed (the connector runtime
//  sends a pending publish this way; it keeps it until its ACCEPTED).
//  take_envelope and take_payload then hand over copies; setting either
//  one afterwards drops both. Replaces the envelope and payload set before.
void lt_ltp_borrow(lt_ltp_t *self, const lt_envelope_t *envelope, const void *payload,
                   size_t size);

//  Payload bytes: the getter lends; set copies; give takes over a malloc'd
//  buffer (*data_p is cleared); take_payload hands a malloc'd buffer to the
//  caller and clears the field (NULL with *size_p set when a received
//  payload could not be copied out of its frame: no memory). A message
//  read by lt_ltp_read keeps a large payload in the frame it arrived in.
const uint8_t *lt_ltp_payload(const lt_ltp_t *self);
size_t lt_ltp_payload_size(const lt_ltp_t *self);
int lt_ltp_set_payload(lt_ltp_t *self, const void *data, size_t size);
void lt_ltp_give_payload(lt_ltp_t *self, uint8_t **data_p, size_t size);
uint8_t *lt_ltp_take_payload(lt_ltp_t *self, size_t *size_p);

//  Print the message for logs and debugging (payload as its size only).
void lt_ltp_print(const lt_ltp_t *self, FILE *file);

//  Return true when both messages have the same command, routing id and
//  values of that command's fields (a NULL envelope equals an empty one).
bool lt_ltp_eq(const lt_ltp_t *a, const lt_ltp_t *b);

//  Check, without allocating, that data starts with one complete msgpack
//  value whose containers claim no more elements than the bytes left could
//  hold and which holds at most max_values values in all; set *end_p to the
//  offset after it. msgpack-c sizes its allocation from the claimed counts,
//  so every decoder of untrusted msgpack calls this first. 0, or -1 with err
//  (LT_EPROTO) filled.
int lt_ltp_check_msgpack(const void *data, size_t size, size_t max_values, size_t *end_p,
                         lt_err_t *err);

//  Unpack the one msgpack value of data (checked by lt_ltp_check_msgpack
//  first) into *obj, its maps and arrays in the calling thread's reusable
//  zone: 0, or -1 when msgpack-c refuses it or bytes follow the value
//  (*nomem tells an allocation refused). *obj is valid until
//  lt_ltp_unpack_done, which the caller calls once done with it; the
//  thread's next decode reuses the zone's memory, so a decode allocates
//  nothing there in the common case. One unpack at a time per thread.
int lt_ltp_unpack(const void *data, size_t size, msgpack_object *obj, bool *nomem);

//  Release what the last lt_ltp_unpack of this thread holds.
void lt_ltp_unpack_done(void);

//  Self-test of this class: round trip of every command, every error path.
void lt_ltp_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
