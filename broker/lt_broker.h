/*  lt_broker: the durable relay at the heart of lthubd (DESIGN.md 3-7).

    Runs as a czmq actor. It owns one ROUTER socket (CURVE, connectors let in
    by lt_zap), the store, and the in-memory state of each destination:
    its live session, the deliveries in flight, a scan cursor and the lane
    successors to look at again. One thread does everything, in rounds:

      1. read every LTP message waiting (up to broker/batch),
      2. apply PUBLISH, DONE, RETRY and FAIL in one store batch and commit it
         with one fsync (group commit), then send ACCEPTED / REJECTED,
      3. hand due deliveries to sessions that have credit,
      4. send heartbeats, expire silent sessions (their deliveries go back).

    Memory stays bounded: the queue lives in the store; in memory there are
    at most credit deliveries per destination plus one batch.

    Pipe commands (zstr): "$TERM"; "RELOAD" + pointer to a new lt_config_t
    (routes and reloadable settings; the actor takes ownership); "ENDPOINT"
    answers the bound LTP endpoint. The actor sends "FATAL" on its pipe
    when it stopped because the store failed (the owner should exit so the
    service manager restarts it). Admin requests (JSON) are served on the
    inproc ROUTER endpoint lt_broker_admin_endpoint(): see lt_broker_admin.c.
*/
#ifndef LT_BROKER_H_INCLUDED
#define LT_BROKER_H_INCLUDED

#include "lt_config.h"

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Actor body. args is an lt_config_t * the actor takes ownership of. The
//  actor signals 0 when it serves, 1 when it could not start (logged).
void lt_broker_actor(zsock_t *pipe, void *args);

//  The inproc endpoint where admin requests are answered.
#define LT_BROKER_ADMIN_ENDPOINT "inproc://lthubd-admin"

//  Send one admin request (a JSON text) and return the JSON reply the
//  caller frees, or NULL after timeout_ms. Safe from any thread.
char *lt_broker_admin_request(const char *request, int timeout_ms);

//  Self-test of this class.
void lt_broker_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
