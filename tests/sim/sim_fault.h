/*  sim_fault: the fault injection every lthub-sim server offers
    (spec/peers.md D).

    Options (each server mode passes unknown options here):
      --fail-rate P     fraction of requests answered HTTP 500, HTTP 503 or a
                        FAIL body (one of the three, equally likely), without
                        performing the operation
      --latency MS      delay added before every answer
      --hang-rate P     fraction of requests accepted and never answered
      --down-from S     seconds after start when the server stops listening
      --down-for S      how long it stays down (connections are refused: the
                        listener is closed, then opened again on the same port)
      --corrupt-rate P  fraction of answers whose body is cut short (the
                        operation is performed; the client gets truncated
                        JSON it cannot parse)
      --seed N          seed of the random choices, for reproducible runs

    Decisions are drawn from one seeded generator under a mutex, so a run
    with one client is reproducible; with concurrent clients the order in
    which requests draw is the order they arrive.
*/
#ifndef SIM_FAULT_H_INCLUDED
#define SIM_FAULT_H_INCLUDED

#include "lt_http_server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sim_fault_t sim_fault_t;

//  What to do with one request before performing it.
typedef enum {
    SIM_FAULT_NONE = 0,       //  perform it normally
    SIM_FAULT_HTTP_500 = 1,   //  answer HTTP 500
    SIM_FAULT_HTTP_503 = 2,   //  answer HTTP 503
    SIM_FAULT_FAIL_BODY = 3,  //  answer 200 with a FAIL body
    SIM_FAULT_HANG = 4,       //  never answer
} sim_fault_kind_t;

//  Create a fault injector with every fault off and seed 1; NULL on no memory.
sim_fault_t *sim_fault_new(void);

//  Destroy a fault injector; set the pointer to NULL; safe on NULL.
void sim_fault_destroy(sim_fault_t **self_p);

//  Take one option: 1 when it was a fault option and its value is valid,
//  0 when the name is not a fault option, -1 when the value is invalid.
//  Safe while requests are served (a simulator may change faults at run time).
int sim_fault_option(sim_fault_t *self, const char *name, const char *value);

//  Return the usage lines of the fault options.
const char *sim_fault_usage(void);

//  Decide the fate of one request (counted in the stats).
sim_fault_kind_t sim_fault_decide(sim_fault_t *self);

//  Return the latency to add to every answer, in milliseconds.
int64_t sim_fault_latency_ms(const sim_fault_t *self);

//  Maybe corrupt an answer body in place (by shortening it); true if done.
bool sim_fault_corrupt(sim_fault_t *self, char *body, size_t *size);

//  Return true when the server should be down at this time since start.
bool sim_fault_down(const sim_fault_t *self, int64_t elapsed_ms);

//  Return true when a down window is configured.
bool sim_fault_has_window(const sim_fault_t *self);

//  Count one connection refused by the down window (for the stats).
void sim_fault_count_down(sim_fault_t *self);

//  Answer with status (0: the one already set) and answer as compact JSON
//  (taking answer), its body cut short by the corrupt rate when faults is
//  true; 500 when out of memory.
void sim_fault_answer(sim_fault_t *self, lt_http_response_t *resp, unsigned status,
                      json_t *answer, bool faults);

//  Serve HTTP on host:*port with handler(arg) until SIGINT or SIGTERM: print
//  "lthub-sim MODE listening on ADDR:PORT" once it accepts (the chosen port
//  is written back to *port), and close and reopen the listener as the
//  fault's down window says. Returns 0 when stopped by a signal, 1 when it
//  cannot listen at first.
int sim_fault_serve(sim_fault_t *self, const char *mode, const char *host, uint16_t *port,
                    lt_http_handler_fn *handler, void *arg, const lt_http_limits_t *limits);

//  Return the fault counters as a new JSON object.
json_t *sim_fault_stats(sim_fault_t *self);

#endif
