/*  axis.h: the state lthub-axis shares between its files.

    lthub_axis.c    options, init/start/stats/fini, the connector table;
    axis_send.c     deliver(): hub -> national axis (sendEdoc);
    axis_receive.c  the receive thread: national axis -> hub (list, fetch,
                    publish, acknowledge).
*/
#ifndef AXIS_H_INCLUDED
#define AXIS_H_INCLUDED

#include "lt_connector.h"
#include "lt_edoc_client.h"
#include "lt_quarantine.h"

#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define AXIS_POOL_MAX     64    //  idle HTTP clients kept for the workers
#define AXIS_MAX_AGENCIES 64    //  --agencies entries

//  Counters of the connector (under stats_lock).
typedef struct {
    uint64_t sent;             //  packages the axis accepted (deliveries DONE)
    uint64_t send_retried;     //  deliveries answered RETRY
    uint64_t send_failed;      //  deliveries answered FAIL
    uint64_t received;         //  packages published to the hub and acknowledged
    uint64_t duplicates;       //  of which the hub already had
    uint64_t rejected;         //  packages refused (unreadable, or refused by the hub)
    uint64_t receive_errors;   //  failed list/fetch/publish/acknowledge attempts
    uint64_t polls;            //  receive cycles run
    char last_error[512];      //  the most recent failure, for operators
    int64_t last_error_at;     //  when, Unix ms (0: never)
} axis_stats_t;

//  The connector's state.
typedef struct {
    lt_conn_t *conn;                       //  the runtime
    lt_edoc_client_config_t client;        //  how to reach the axis (strings below)
    char *secret;                          //  the system's secret (lt_edoc_secret_load)
    size_t secret_size;                    //  its length
    char province_code[64];                //  OrganId of the TraceHeader the hub appends
    char *agencies[AXIS_MAX_AGENCIES];     //  codes or patterns the hub receives for
    size_t agency_count;                   //  entries in agencies
    long poll_ms;                          //  receive cycle period
    long unreadable_fetches;               //  unreadable fetches in a row before fail
    bool receive;                          //  run the receive thread
    X509_STORE *anchors;                   //  trust anchors for verdicts, or NULL
    char quarantine[1024];                 //  DIR/axis-rejected, "" when --data unset
    lt_quarantine_t *kept;                 //  its index, NULL when --data unset
    char published[1024];                  //  DIR/axis-published: items published, done not
                                           //  yet acknowledged; "" when --data unset
    lt_quarantine_bounds_t kept_bounds;    //  --quarantine-max-age, -items, -bytes
    pthread_mutex_t pool_lock;             //  guards pool
    lt_edoc_client_t *pool[AXIS_POOL_MAX]; //  idle clients for the workers
    size_t pool_count;                     //  entries in pool
    pthread_mutex_t stop_lock;             //  guards stopping
    pthread_cond_t stop_cond;              //  signalled when stopping
    bool stopping;                         //  the receive thread must end
    pthread_t receiver;                    //  the receive thread
    bool receiving;                        //  it was started
    pthread_mutex_t stats_lock;            //  guards stats
    axis_stats_t stats;                    //  counters
} axis_t;

//  Deliver one message to the axis (the deliver slot; worker threads).
lt_delivery_result_t axis_deliver(void *state, const lt_delivery_t *delivery, lt_err_t *err);

//  Start the receive thread; -1 with err filled when it cannot start.
int axis_receive_start(axis_t *self, lt_err_t *err);

//  Ask the receive thread to stop and join it (waits at most for the call
//  in progress, bounded by --timeout-ms); safe when it never started.
void axis_receive_stop(axis_t *self);

//  Take an idle HTTP client for the axis, or create one; NULL with err
//  filled on failure. Give it back with axis_client_give.
lt_edoc_client_t *axis_client_take(axis_t *self, lt_err_t *err);

//  Return a client to the pool (or destroy it when the pool is full).
void axis_client_give(axis_t *self, lt_edoc_client_t **client_p);

//  Record a failure as the last error (stats) with its time.
void axis_note_error(axis_t *self, const char *detail);


//  Write Vietnam time (UTC+7) of Unix ms as yyyy/MM/dd HH:mm:ss.
void axis_format_time(int64_t ms, char out[32]);

#endif
