/*  lthubd: the lthub broker daemon.

    Reads its ZPL config, opens the store, serves connectors on the LTP
    endpoint (CURVE), supervises the connector processes the config lists,
    and serves the admin HTTP API. At the end of each period it builds the
    reports ledger/reports names and hands them to the broker for the report
    connector (docs/indicators.md). SIGHUP reloads routes, connector
    settings, indicator definitions and the agency directory; SIGTERM or
    SIGINT stops connectors, then the broker.

        lthubd --config FILE           run
        lthubd --check-config FILE     validate offline, print every error
        lthubd --defaults              print every setting with its default
*/
#include "lt_admin_http.h"
#include "lt_broker.h"
#include "lt_config.h"
#include "lt_counting.h"
#include "lt_log.h"
#include "lt_malloc.h"
#include "lt_sqlite.h"
#include "lt_supervisor.h"

#include <czmq.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t s_stop = 0;     //  SIGTERM or SIGINT seen
static volatile sig_atomic_t s_reload = 0;   //  SIGHUP seen

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reload = 1;
    else
        s_stop = sig;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: lthubd [--config FILE] | --check-config FILE | --defaults | --version\n"
                 "  --config FILE         run with this config (default /etc/lthub/lthub.cfg)\n"
                 "  --check-config FILE   check a config offline; errors as FILE:LINE: ...\n"
                 "  --defaults            print every setting with its default and help\n");
}

//  The periodic reports: what they are built from, and what was done.
typedef struct {
    lt_counting_t *counting;   //  definitions, directory, calendar (NULL: none)
    char store[1024];          //  the store file
    char spec[512];            //  ledger/reports
    char done[16][32];         //  last period submitted per entry
    int64_t next_at;           //  monotonic ms of the next check
} s_reports_t;

//  Load what the reports need from a config; keeps the old on failure.
static void s_reports_load(s_reports_t *r, const lt_config_t *config)
{
    lt_err_t err;
    lt_counting_t *counting = lt_counting_load(lt_config_settings(config), &err);
    if (!counting) {
        lt_log_error("event=reports_unavailable reason=\"%s\"", err.detail);
        return;
    }
    lt_counting_destroy(&r->counting);
    r->counting = counting;
    lt_counting_store_path(lt_config_settings(config), r->store, sizeof(r->store));
    snprintf(r->spec, sizeof(r->spec), "%s", lt_config_settings(config)->reports);
}

//  Once a minute (first 3 s after start): submit the reports whose period ended.
static void s_reports_tick(s_reports_t *r)
{
    int64_t now = zclock_mono();
    if (now < r->next_at || !r->counting || !*r->spec)
        return;
    r->next_at = now + 60000;
    int n = lt_counting_reports_due(r->counting, r->store, r->spec, zclock_time(), r->done, 16);
    if (n > 0)
        lt_log_info("event=reports_submitted count=%d", n);
}

//  Reload the config file; on success hand it to the broker and supervisor.
static void s_do_reload(const char *path, zactor_t *broker, lt_supervisor_t *supervisor,
                        lt_admin_http_t *admin, s_reports_t *reports)
{
    lt_err_t err;
    lt_config_t *config = lt_config_load(path, NULL, &err);
    if (!config) {
        lt_log_error("event=reload_failed reason=\"%s\" note=\"keeping the running config\"",
                     err.detail);
        return;
    }
    lt_supervisor_reload(supervisor, config);
    if (admin)
        lt_admin_http_reload(admin, config);   //  indicators, agencies
    s_reports_load(reports, config);
    zsock_send(broker, "sp", "RELOAD", (void *) config);
    zsock_wait(broker);
}

int main(int argc, char *argv[])
{
    const char *path = "/etc/lthub/lthub.cfg";
    lt_log_init("lthubd");
    lt_malloc_setup();   //  before the threads
    lt_sqlite_setup();   //  before the first connection
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        }
        if (streq(argv[i], "--version")) {
            printf("lthubd %s\n", LT_VERSION);
            return 0;
        }
        if (streq(argv[i], "--defaults")) {
            lt_config_print_reference(stdout);
            return 0;
        }
        if (streq(argv[i], "--check-config") && i + 1 < argc) {
            lt_err_t err;
            lt_config_t *config = lt_config_load(argv[i + 1], stdout, &err);
            if (!config)
                return 1;
            lt_counting_t *counting = lt_counting_load(lt_config_settings(config), &err);
            if (!counting) {
                printf("%s\n", err.detail);
                lt_config_destroy(&config);
                return 1;
            }
            printf("%s: %zu indicators, %zu agencies\n", argv[i + 1],
                   lt_indicators_size(lt_counting_indicators_defs(counting)),
                   lt_agencies_size(lt_counting_agencies(counting)));
            lt_counting_destroy(&counting);
            printf("%s: OK (%zu routes, %zu connectors)\n", argv[i + 1],
                   lt_config_routes(config), lt_config_connectors(config));
            lt_config_destroy(&config);
            return 0;
        }
        if (streq(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        else if (streq(argv[i], "--config") || streq(argv[i], "--check-config")) {
            fprintf(stderr, "lthubd: %s needs a FILE (the config, e.g. /etc/lthub/lthub.cfg)\n",
                    argv[i]);
            s_usage(stderr);
            return 2;
        }
        else {
            fprintf(stderr, "lthubd: unknown argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    lt_err_t err;
    lt_config_t *config = lt_config_load(path, stderr, &err);
    if (!config) {
        fprintf(stderr, "lthubd: %s\n", err.detail);
        return 1;
    }
    int level = lt_log_level_from_name(lt_config_settings(config)->log_level);
    if (level >= 0 && !getenv("LT_LOG_LEVEL"))
        lt_log_set_level((lt_log_level_t) level);

    zsys_handler_set(NULL);
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lt_supervisor_t *supervisor = lt_supervisor_new(config);
    bool admin_on = *lt_config_settings(config)->admin_listen != 0;
    lt_config_t *admin_config = admin_on ? lt_config_load(path, NULL, &err) : NULL;
    //  The broker actor takes ownership of config.
    zactor_t *broker = zactor_new(lt_broker_actor, config);
    if (!broker) {
        lt_log_error("event=start_failed reason=\"the broker could not start (see above)\"");
        lt_supervisor_destroy(&supervisor);
        lt_config_destroy(&admin_config);
        return 1;
    }
    lt_admin_http_t *admin = NULL;
    lt_config_t *config_copy = admin_config ? NULL : lt_config_load(path, NULL, &err);
    if (admin_config) {
        admin = lt_admin_http_new(admin_config, &err);
        const lt_settings_t *ast = lt_config_settings(admin_config);
        if (admin)
            lt_log_info("event=admin_listening address=%s", ast->admin_listen);
        else
            lt_log_error("event=admin_failed reason=\"%s\"", err.detail);
        if (admin && !lt_admin_http_loopback(ast->admin_listen))
            lt_log_warning("event=admin_not_loopback address=%s note=\"the admin API is "
                           "reachable beyond this machine; every endpoint but / and /healthz "
                           "needs the bearer token%s\"",
                           ast->admin_listen,
                           *ast->admin_token_file ? "" : ", and no admin/token_file is set, so "
                                                         "all of them are refused");
    }
    int code = 0;
    s_reports_t reports = {.next_at = zclock_mono() + 3000};
    const lt_config_t *reports_config = admin_config ? admin_config : config_copy;
    if (reports_config)
        s_reports_load(&reports, reports_config);
    lt_config_destroy(&config_copy);
    zpoller_t *poller = zpoller_new(broker, NULL);
    while (!s_stop) {
        lt_supervisor_tick(supervisor);
        s_reports_tick(&reports);
        if (s_reload) {
            s_reload = 0;
            lt_log_info("event=reload path=%s", path);
            s_do_reload(path, broker, supervisor, admin, &reports);
        }
        //  The broker speaks up only when it had to stop (store failure).
        if (zpoller_wait(poller, 100) == broker) {
            char *event = zstr_recv(broker);
            lt_log_error("event=broker_stopped reason=%s", event ? event : "?");
            zstr_free(&event);
            code = 1;
            break;
        }
    }
    zpoller_destroy(&poller);
    lt_log_info("event=stopping signal=%d", (int) s_stop);
    lt_supervisor_destroy(&supervisor);
    lt_admin_http_destroy(&admin);
    lt_counting_destroy(&reports.counting);
    zactor_destroy(&broker);
    lt_config_destroy(&admin_config);
    lt_log_info("event=stopped");
    return code;
}
