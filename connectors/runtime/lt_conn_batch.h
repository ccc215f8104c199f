/*  lt_conn_batch: the publishes of one call a connector answers only once
    the broker confirmed them all (a DMS's register, a portal's records).

    The handler hands each message over without waiting (one by one, or
    all together), then waits once, up to a deadline, for the broker's
    answers, and reads what was accepted and the first refusal by index.
    A publish answered after the deadline still finds its batch: the batch
    is freed by whichever of the handler and the last answer comes last.
*/
#ifndef LT_CONN_BATCH_H_INCLUDED
#define LT_CONN_BATCH_H_INCLUDED

#include "lt_connector.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_conn_batch_t lt_conn_batch_t;

//  What the broker answered, read once the wait is over.
typedef struct {
    size_t pending;           //  publishes not answered by the deadline
    size_t accepted;          //  messages ACCEPTED (duplicates included)
    size_t duplicates;        //  of those, already stored
    bool failed;              //  a message was refused
    size_t failed_index;      //  the first refused message (lowest index)
    lt_error_t failed_code;   //  its error code
    char reason[512];         //  the broker's reason
} lt_conn_batch_result_t;

//  Create a batch for at most count messages, published through conn;
//  NULL when out of memory.
lt_conn_batch_t *lt_conn_batch_new(lt_conn_t *conn, size_t count);

//  Publish message index without waiting (lt_conn_publish_async): the
//  envelope is taken. Blocks while the publish window is full. Returns 0,
//  or -1 when the runtime is stopping (then it is not counted as pending).
int lt_conn_batch_publish(lt_conn_batch_t *self, size_t index, lt_envelope_t **envelope_p,
                          const void *payload, size_t size);

//  Publish messages 0 to count - 1 together (lt_conn_publish_async_many):
//  the envelopes are taken. Returns how many were queued, in order; the
//  others are destroyed and not pending. 0 when out of memory (nothing is
//  published, the envelopes are left to the caller).
size_t lt_conn_batch_publish_many(lt_conn_batch_t *self, lt_envelope_t **envelopes,
                                  const void *const *payloads, const size_t *sizes,
                                  size_t count);

//  Wait until every publish is answered or the monotonic clock
//  (lt_clock_ms) reaches deadline_ms, and fill result with the answers so far.
void lt_conn_batch_wait(lt_conn_batch_t *self, int64_t deadline_ms,
                        lt_conn_batch_result_t *result);

//  Let go of the batch (publishes still unanswered keep it until they are);
//  safe on NULL.
void lt_conn_batch_destroy(lt_conn_batch_t **self_p);

//  Self-test of this class (its bookkeeping, without a broker).
void lt_conn_batch_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
