/*  lt_supervisor: starts the connector processes lthubd's config lists,
    restarts them with exponential backoff when they exit, and stops them
    (SIGTERM, then SIGKILL after supervise/stop_timeout) on shutdown, as
    Postfix's master does for its daemons.

    Single-threaded: the owner calls lt_supervisor_tick() from its loop.
    Programs named without a '/' are looked up beside the running lthubd
    first (so a build tree works), then on PATH.
*/
#ifndef LT_SUPERVISOR_H_INCLUDED
#define LT_SUPERVISOR_H_INCLUDED

#include "lt_config.h"

#include <jansson.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_supervisor_t lt_supervisor_t;

//  Create a supervisor for the connectors with a program in config.
lt_supervisor_t *lt_supervisor_new(const lt_config_t *config);

//  Stop every child and free; safe on NULL.
void lt_supervisor_destroy(lt_supervisor_t **self_p);

//  Reap exited children and start what is due. Call often (every 100 ms).
void lt_supervisor_tick(lt_supervisor_t *self);

//  Apply a reloaded config: start new connectors, stop removed ones,
//  restart those whose program or arguments changed.
void lt_supervisor_reload(lt_supervisor_t *self, const lt_config_t *config);

//  Stop every child: SIGTERM, wait up to the stop timeout, then SIGKILL.
void lt_supervisor_stop(lt_supervisor_t *self);

//  Children as JSON: name, pid, running, restarts, last exit.
json_t *lt_supervisor_status(lt_supervisor_t *self);

//  Self-test of this class.
void lt_supervisor_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
