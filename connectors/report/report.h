/*  report.h: the state lthub-report shares between its files.

    lthub_report.c  options, init/stats/fini, the connector table;
    report_send.c   deliver(): hub -> reporting system (POST a report,
                    publish the acceptance back as a fact).
*/
#ifndef REPORT_H_INCLUDED
#define REPORT_H_INCLUDED

#include "lt_connector.h"
#include "lt_http_client.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define REPORT_POOL_MAX   32     //  idle HTTP clients kept for the workers
#define REPORT_TOKEN_MAX  4096   //  largest token file read
#define REPORT_REPLY_MAX  (1024 * 1024)   //  largest answer read from the system

//  Counters of the connector (under stats_lock).
typedef struct {
    uint64_t accepted;         //  reports the reporting system took (201)
    uint64_t accepted_again;   //  reports it already had (200, same id)
    uint64_t facts;            //  acceptance facts the broker confirmed
    uint64_t retried;          //  deliveries answered RETRY
    uint64_t failed;           //  deliveries answered FAIL
    uint64_t invalid;          //  of which refused before sending (bad report)
    uint64_t refused;          //  of which refused by the system (400)
    uint64_t token_refused;    //  of which refused for the token (401, 403)
    char last_error[512];      //  the most recent failure, for operators
    int64_t last_error_at;     //  when, Unix ms (0: never)
} report_stats_t;

//  The connector's state.
typedef struct {
    lt_conn_t *conn;                            //  the runtime
    const char *url;                            //  base URL of the reporting system
    const char *path;                           //  path of the reports endpoint
    const char *token_file;                     //  file holding the bearer token
    const char *ca_file;                        //  PEM CA file, "" for the system store
    long timeout_ms;                            //  whole-call timeout
    long connect_timeout_ms;                    //  connect timeout
    long fact_timeout_ms;                       //  wait for the broker to store a fact
    pthread_mutex_t pool_lock;                  //  guards pool
    lt_http_client_t *pool[REPORT_POOL_MAX];    //  idle clients for the workers
    size_t pool_count;                          //  entries in pool
    pthread_mutex_t stats_lock;                 //  guards stats
    report_stats_t stats;                       //  counters
} report_t;

//  Deliver one report (the deliver slot; worker threads).
lt_delivery_result_t report_deliver(void *state, const lt_delivery_t *delivery, lt_err_t *err);

//  Read the bearer token from its file into token (trailing blanks and
//  line ends dropped); -1 with err filled when it is unreadable, empty or
//  holds characters a header cannot carry. The token never enters err.
int report_token_load(const char *path, char *token, size_t size, lt_err_t *err);

//  Take an idle HTTP client, or create one; NULL with err filled.
lt_http_client_t *report_client_take(report_t *self, lt_err_t *err);

//  Return a client to the pool (or destroy it when the pool is full).
void report_client_give(report_t *self, lt_http_client_t **client_p);

#endif
