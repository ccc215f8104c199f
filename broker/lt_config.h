/*  lt_config: lthubd's configuration, read from a ZPL file with zconfig.

    One typed table of settings (name, type, default, bounds, whether SIGHUP
    reloads it, help text) drives parsing, --check-config, the reference
    printed by `lthubd --defaults`, and docs/configuration.md. Routes
    (DESIGN.md section 6) and connectors are repeated sections; each
    connector's section holds its own typed options (connectors/catalog:
    the table the connector itself reads them with), checked here with the
    options of its `args` line. Every error names the file and line. When no routes are configured and
    broker/province is set, the default routes of DESIGN.md apply.
*/
#ifndef LT_CONFIG_H_INCLUDED
#define LT_CONFIG_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Scalar settings, filled from the table in lt_config.c.
typedef struct {
    char endpoint[256];       //  broker/endpoint: LTP ROUTER endpoint
    char name[64];            //  broker/name: broker name in WELCOME and logs
    char data_dir[512];       //  broker/data: store and keys live here
    char keys_dir[512];       //  broker/keys: certificates (default DATA/keys)
    char province[16];        //  broker/province: own level-1 code, e.g. H26
    int heartbeat_ms;         //  broker/heartbeat: PING interval
    int batch_max;            //  broker/batch: most PUBLISHes per group commit
    int batch_bytes;          //  broker/batch_bytes: most payload bytes per commit
    int max_frame;            //  broker/max_frame: largest LTP body accepted
    int scan_limit;           //  broker/scan: deliveries read per store scan
    int max_attempts;         //  delivery/max_attempts: before dead letters
    int max_age_s;            //  delivery/max_age: seconds before dead letters
    int backoff_min_ms;       //  delivery/backoff_min: first retry delay
    int backoff_max_ms;       //  delivery/backoff_max: longest retry delay
    int hold_ms;              //  delivery/hold: a follow-up waits this long for its document
    int answer_timeout_ms;    //  delivery/answer_timeout: in-flight deadline
    int restart_min_ms;       //  supervise/restart_min: first restart delay
    int restart_max_ms;       //  supervise/restart_max: longest restart delay
    int stop_timeout_ms;      //  supervise/stop_timeout: SIGTERM to SIGKILL
    char admin_listen[128];   //  admin/listen: admin HTTP address:port
    char admin_token_file[512];   //  admin/token_file: bearer token for changes
    char admin_tls_cert[512];     //  admin/tls_cert: HTTPS certificate, "" = plain HTTP
    char admin_tls_key[512];      //  admin/tls_key: its private key
    char log_level[16];       //  log/level
    char indicators_file[512];    //  ledger/indicators: indicator definitions
    char agencies_file[512];      //  ledger/agencies: agency directory
    char calendar[16];            //  ledger/calendar: nd09 or calendar
    char reports[512];            //  ledger/reports: CODE:KIND[:AGENCY],...
    char secret_types[1024];      //  ledger/secret_types: document types counted as secret
    int alert_down_s;         //  alerts/connector_down: seconds without a session
    int alert_status_s;       //  alerts/status_within: seconds to a status 01/03
    int alert_sync_s;         //  alerts/sync_within: seconds to a dossier_synced fact
    int retention_s;          //  store/retention: seconds a delivered message is kept (0 = forever)
    int prune_batch;          //  store/prune_batch: messages looked at per prune step
    int inline_max;           //  store/inline_max: largest payload kept in the database
    int segment_size;         //  store/segment_size: bytes of a payload segment file
} lt_settings_t;

//  A route: messages of these kinds whose recipient matches go to a connector.
typedef struct {
    unsigned kinds;           //  bit (1 << lt_kind_t) per kind matched
    char pattern[64];         //  "*", "*.SUFFIX", "PREFIX*" or an exact code (lt_pattern)
    char to[64];              //  destination connector
    int line;                 //  where it was configured (0 = default route)
} lt_route_t;

//  A connector the broker knows; with a program it is also supervised.
typedef struct {
    char name[64];            //  connector name (certificate metadata "name")
    char program[512];        //  executable to start, "" for a remote connector
    char args[1024];          //  arguments, split on spaces (after the section's options)
    char options[4096];       //  the section's own options, "name=value\n" in file order
    char config[512];         //  the file they are in: the program gets --config FILE
    bool known;               //  the program is a connector of this build (connectors/catalog)
    bool restart;             //  restart when it exits
    int line;                 //  where it was configured
} lt_connector_conf_t;

typedef struct _lt_config_t lt_config_t;

//  Load and validate a config file. On failure returns NULL, fills err with
//  the first problem ("FILE:LINE: ...") and, if report is not NULL, writes
//  every problem found to it, one per line.
lt_config_t *lt_config_load(const char *path, FILE *report, lt_err_t *err);

//  Build a config from defaults only (for tests and tools); data_dir set.
lt_config_t *lt_config_new_default(const char *data_dir);

//  Destroy; safe on NULL.
void lt_config_destroy(lt_config_t **self_p);

//  The scalar settings.
const lt_settings_t *lt_config_settings(const lt_config_t *self);

//  The file this config came from ("" for defaults).
const char *lt_config_path(const lt_config_t *self);

//  Routes, in match order.
size_t lt_config_routes(const lt_config_t *self);
const lt_route_t *lt_config_route(const lt_config_t *self, size_t index);

//  Add a route at the end (tools and tests); -1 when the table is full.
int lt_config_add_route(lt_config_t *self, unsigned kinds, const char *pattern, const char *to);

//  Connectors.
size_t lt_config_connectors(const lt_config_t *self);
const lt_connector_conf_t *lt_config_connector(const lt_config_t *self, size_t index);
const lt_connector_conf_t *lt_config_connector_find(const lt_config_t *self, const char *name);

//  Return the connector a message of kind for recipient goes to, or NULL
//  when no route matches. recipient may be NULL for kinds without one.
const char *lt_config_route_for(const lt_config_t *self, lt_kind_t kind, const char *recipient);

//  Write the settings reference as a commented example ZPL file.
void lt_config_print_reference(FILE *out);

//  Self-test of this class.
void lt_config_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
