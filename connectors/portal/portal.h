/*  portal.h: what the files of lthub-portal share (not a public interface).

    lthub_portal.c   options, init/start/poll/stats/fini, the connector table;
    portal_server.c  the adapter API served to the one-stop system (login,
                     sessions, DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo);
    portal_client.c  deliver(): the hub as client of DVCQG's adapter, and the
                     dossier_synced fact;
    lt_portal_store  the latest record per MaHoSo (TraCuuHoSo, revisions).
*/
#ifndef PORTAL_H_INCLUDED
#define PORTAL_H_INCLUDED

#include "lt_connector.h"
#include "lt_http_client.h"
#include "lt_http_server.h"
#include "lt_portal_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PORTAL_DB_NAME   "portal.db"   //  the record store inside --data
#define PORTAL_POOL_MAX  64            //  idle DVCQG clients kept for the workers
#define PORTAL_MAX_AGENCIES 64         //  --agencies entries
#define PORTAL_TOKEN_LEN 64            //  hex characters of a session token
#define PORTAL_BATCH_MAX 500           //  records per DVCQG call at most (--batch)
#define PORTAL_REPLY_SLACK (1024 * 1024)   //  DVCQG answer bytes beyond --max-body read at most

//  Counters of the connector (under stats_lock).
typedef struct {
    uint64_t requests;          //  adapter API calls (any)
    uint64_t logins;            //  sessions opened
    uint64_t login_refused;     //  wrong username or password
    uint64_t session_refused;   //  calls with a bad or expired session (-2)
    uint64_t invalid;           //  calls refused by a check (-1)
    uint64_t calls_ok;          //  service calls answered 0
    uint64_t calls_unconfirmed; //  calls answered -9 (broker did not confirm)
    uint64_t records_in;        //  dossier records accepted by the broker
    uint64_t steps_in;          //  progress steps accepted by the broker
    uint64_t duplicates_in;     //  of those, already stored (identical resends)
    uint64_t lookups;           //  TraCuuHoSo calls
    uint64_t synced;            //  dossiers DVCQG accepted
    uint64_t steps_out;         //  progress steps DVCQG accepted
    uint64_t resent_as_update;  //  -3 answers turned into updates
    uint64_t relogins;          //  -2 answers followed by a new login
    uint64_t already_there;     //  redeliveries DVCQG already held (not sent again)
    uint64_t foreign_steps;     //  steps not sent: their dossier is another agency's
    uint64_t retried;           //  deliveries answered RETRY
    uint64_t failed;            //  deliveries answered FAIL
    uint64_t facts;             //  dossier_synced facts accepted by the broker
    uint64_t batches;           //  batched calls to DVCQG
    uint64_t batched;           //  records sent in them
    char last_error[512];       //  the most recent delivery failure
    int64_t last_error_at;      //  when, Unix ms (0: never)
} portal_stats_t;

//  One session of the one-stop system.
typedef struct {
    char token[PORTAL_TOKEN_LEN + 1];   //  random hex, "" when free
    int64_t used_ms;                    //  last accepted call (or login), monotonic ms
    int64_t opened_ms;                  //  login, monotonic ms
} portal_session_t;

//  The connector's state.
typedef struct {
    lt_conn_t *conn;                      //  the runtime
    //  Server side (one-stop system -> hub).
    lt_http_server_t *server;             //  the adapter API
    lt_portal_store_t *store;             //  latest record per MaHoSo
    char host[64];                        //  --listen address
    uint16_t port;                        //  --listen port
    const char *auth_path;                //  --auth-path
    const char *service_path;             //  --service-path
    const char *username;                 //  --username
    char *password;                       //  from --password-file
    size_t password_size;                 //  its length
    char *agencies[PORTAL_MAX_AGENCIES];  //  madonvi codes or patterns accepted
    size_t agency_count;                  //  entries in agencies
    int64_t session_idle_ms;              //  --session-idle
    int64_t session_max_ms;               //  --session-max
    size_t max_sessions;                  //  --max-sessions
    portal_session_t *sessions;           //  open sessions
    pthread_mutex_t session_lock;         //  guards sessions
    pthread_mutex_t login_pause_lock;     //  guards login_next_ms
    int64_t login_next_ms;                //  when the last refused login in line is answered
    size_t max_body;                      //  --max-body
    size_t max_records;                   //  --max-records per call
    int publish_timeout_ms;               //  --publish-timeout
    //  Client side (hub -> DVCQG).
    const char *dvcqg_url;                //  --dvcqg-url
    const char *dvcqg_auth_path;          //  --dvcqg-auth-path
    const char *dvcqg_service_path;       //  --dvcqg-service-path
    const char *dvcqg_username;           //  --dvcqg-username
    char *dvcqg_password;                 //  from --dvcqg-password-file
    size_t dvcqg_password_size;           //  its length
    const char *ca_file;                  //  --ca-file, "" for the system store
    long timeout_ms;                      //  --timeout-ms
    long connect_timeout_ms;              //  --connect-timeout-ms
    pthread_mutex_t login_lock;           //  one login at a time; guards token
    char dvcqg_token[1024];               //  DVCQG session, "" when none
    uint64_t token_generation;            //  bumped at each login
    int64_t login_pause_ms;               //  --dvcqg-login-pause
    int64_t login_paused_until;           //  no login before this (monotonic ms) after a refusal
    char login_refusal[512];              //  why the last login was refused
    size_t max_batch;                     //  --batch: records per DVCQG call
    pthread_mutex_t pool_lock;            //  guards pool
    lt_http_client_t *pool[PORTAL_POOL_MAX];   //  idle clients
    size_t pool_count;                    //  entries in pool
    int64_t next_prune_ms;                //  when poll() prunes delivery marks (monotonic)
    pthread_mutex_t stats_lock;           //  guards stats
    portal_stats_t stats;                 //  counters
} portal_t;

//  Add one to a counter under the stats lock.
void portal_count(portal_t *self, uint64_t *counter);

//  Return true when a code matches one of --agencies ("*", "*.SUFFIX", "PREFIX*", exact).
bool portal_agency_ok(const portal_t *self, const char *code);

//  The adapter API handler (lt_http_handler_fn); arg is the portal_t.
lt_http_action_t portal_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                               void *arg);

//  The adapter API's gate (lt_http_gate_fn): 404, 405 and the login's body
//  limit, before a body is read. It cannot check a service call's session,
//  which the protocol puts in the body (spec/peers.md B).
lt_http_gate_t portal_gate(const lt_http_request_t *req, lt_http_response_t *resp,
                           size_t *max_body, void *arg);

//  Close sessions idle for longer than --session-idle or open for longer
//  than --session-max (poll()).
void portal_sessions_expire(portal_t *self);

//  Deliver dossiers and progress steps to DVCQG, several in one call where
//  they can share it (the deliver_many slot).
void portal_deliver_many(void *state, const lt_delivery_t *const *deliveries, size_t count,
                         lt_delivery_result_t *results, lt_err_t *errs);

//  Destroy the pooled DVCQG clients (fini).
void portal_client_fini(portal_t *self);

#endif
