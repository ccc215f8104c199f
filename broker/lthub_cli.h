/*  lthub_cli: subcommands of the `lthub` operator CLI. Each takes argv with
    argv[0] = the subcommand's name and returns the exit code (0 ok, 1
    failure, 2 usage). broker/lthub.c dispatches to them from one table. */
#ifndef LTHUB_CLI_H_INCLUDED
#define LTHUB_CLI_H_INCLUDED

#include "lt_http_client.h"

#include <jansson.h>
#include <stdbool.h>

//  Exit codes of every subcommand (documented in `lthub --help`).
#define LTHUB_EXIT_OK 0         //  done
#define LTHUB_EXIT_FAIL 1       //  failed: hub unreachable, refused, bad config, I/O
#define LTHUB_EXIT_USAGE 2      //  wrong arguments
#define LTHUB_EXIT_ALERTS 3     //  lthub alerts / status --check: alerts are active

//  Options shared by the subcommands that call the admin API.
typedef struct {
    char admin[128];        //  ADDRESS:PORT of the admin API
    char token_file[512];   //  bearer token file
    bool json;              //  print JSON
    const char *arg;        //  first positional argument
    long limit;             //  --limit
} lthub_opts_t;

//  An HTTP client of the admin API: ADMIN is ADDRESS:PORT (plain HTTP) or a
//  URL such as https://HOST:PORT (checked against $LTHUB_CA_FILE when set);
//  NULL when unusable. The caller destroys it.
lt_http_client_t *lthub_admin_client(const char *admin);

//  Call the admin API at opts->admin (bearer token from opts->token_file if
//  set); the parsed JSON reply the caller frees, or NULL (message printed).
json_t *lthub_api_call(const lthub_opts_t *opts, const char *method, const char *path);

//  Print on stderr, under the message of a failed admin API call, what to
//  do: unreached (no answer), say how to name lthubd; a 401, say which token
//  file to give (token_file the one used, "" for none).
void lthub_api_advice(bool unreached, long status, const char *token_file);

//  Fill the admin address and token file from the environment
//  ($LTHUB_ADMIN, $LTHUB_TOKEN_FILE) or their defaults.
void lthub_opts_defaults(lthub_opts_t *opts);

//  If argv[*i] is a shared option (--admin A, --token-file F, --json), take
//  it (and its value, advancing *i) and return true.
bool lthub_opts_take(lthub_opts_t *opts, int argc, char **argv, int *i);

//  lthub top|alerts (lthub_watch.c)
int lthub_top_main(int argc, char **argv);
int lthub_alerts_main(int argc, char **argv);

//  lthub dead list|show|replay|discard, lthub trace by id or key (lthub_dead.c)
int lthub_dead_cmd_main(int argc, char **argv);
int lthub_trace_cmd_main(int argc, char **argv);

//  lthub check-config|backup|restore (lthub_backup.c)
int lthub_check_config_main(int argc, char **argv);
int lthub_backup_main(int argc, char **argv);
int lthub_restore_main(int argc, char **argv);

//  lthub keygen --dir DIR [--broker] [NAME...]
int lthub_keygen_main(int argc, char **argv);

//  lthub status|dead|rejects|replay ... (over the admin HTTP API)
int lthub_status_main(int argc, char **argv);
int lthub_dead_main(int argc, char **argv);
int lthub_rejects_main(int argc, char **argv);
int lthub_replay_main(int argc, char **argv);

//  lthub_counting.c: the ledger, indicators and evidence (read the store file).
int lthub_ledger_main(int argc, char **argv);
int lthub_indicators_main(int argc, char **argv);
int lthub_evidence_main(int argc, char **argv);
int lthub_report_main(int argc, char **argv);

//  lthub edxml inspect|validate ...
int lthub_edxml_main(int argc, char **argv);

#endif
