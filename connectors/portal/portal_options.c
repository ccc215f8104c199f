/*  portal_options: the options of lthub-portal (lt_option.h), read by the
    runtime from the command line and the connectors/portal section of
    lthubd's config, and checked by `lthubd --check-config`.
*/
#include "lt_catalog.h"

const lt_option_t portal_options[] = {
    LT_OPT_TYPED("listen", "127.0.0.1:8481", LT_OPT_ADDR,
                 "ADDR:PORT of the adapter API for the one-stop system"),
    {"data", "/var/lib/lthub", "folder of portal.db (latest record per MaHoSo)", LT_OPT_STRING, 0,
     0, true, false},
    LT_OPT_NEEDED("username", "username the one-stop system logs in with"),
    LT_OPT_NEEDED("password-file", "file holding the one-stop system's password"),
    LT_OPT_TYPED("auth-path", "/login", LT_OPT_URLPATH, "path of the login call"),
    LT_OPT_TYPED("service-path", "/service", LT_OPT_URLPATH, "path of the service calls"),
    {"agencies", "*", "madonvi codes or patterns accepted (comma-separated)", LT_OPT_STRING, 0, 0,
     true, true},
    LT_OPT_NUM("session-idle", "1800", 10, 86400 * 7,
               "seconds a session lives without an accepted call"),
    LT_OPT_NUM("session-max", "28800", 10, 86400 * 7,
               "seconds a session lives at most after its login, however much it is used"),
    LT_OPT_NUM("max-sessions", "1024", 1, 100000, "sessions open at once at most"),
    LT_OPT_NUM("max-body", "33554432", 1024, 1024LL * 1024 * 1024, "largest request body, bytes"),
    LT_OPT_NUM("max-connections", "128", 4, 100000,
               "concurrent connections to the adapter API at most"),
    LT_OPT_NUM("max-per-ip", "64", 1, 100000,
               "concurrent connections from one client address at most"),
    LT_OPT_NUM("idle-timeout", "30", 1, 3600,
               "seconds a connection may stay silent before it is closed"),
    LT_OPT_NUM("max-request-time", "300", 1, 86400,
               "seconds a request (headers and body) may take to arrive"),
    LT_OPT_NUM("max-inflight-body", "0", 0, 1LL << 40,
               "request body bytes held in memory at once, all connections together (over it: "
               "HTTP 503); 0: 4 x max-body, at least 64 MiB"),
    LT_OPT_NUM("max-records", "1000", 1, 100000, "records or steps per service call at most"),
    LT_OPT_NUM("publish-timeout", "15000", 100, 600000,
               "ms to wait for the broker's ACCEPTED before answering -9"),
    {"dvcqg-url", "", "base URL of DVCQG's adapter (https://...)", LT_OPT_URL, 0, 0, true, true},
    LT_OPT_NEEDED("dvcqg-username", "the hub's username at DVCQG"),
    LT_OPT_NEEDED("dvcqg-password-file", "file holding the hub's password at DVCQG"),
    LT_OPT_TYPED("dvcqg-auth-path", "/login", LT_OPT_URLPATH, "path of DVCQG's login call"),
    LT_OPT_TYPED("dvcqg-service-path", "/service", LT_OPT_URLPATH,
                 "path of DVCQG's service calls"),
    LT_OPT_NUM("dvcqg-login-pause", "60", 1, 3600,
               "seconds before the hub logs in to DVCQG again after a refused login"),
    LT_OPT_STR("ca-file", "", "PEM CA file for DVCQG's TLS certificate (default: system store)"),
    LT_OPT_NUM("timeout-ms", "30000", 100, 3600000, "longest wait for one DVCQG call, ms"),
    LT_OPT_NUM("batch", "50", 1, 500,   //  PORTAL_BATCH_MAX
               "records per DVCQG call at most, and deliveries a worker takes at once "
               "(they share calls)"),
    LT_OPT_NUM("connect-timeout-ms", "10000", 100, 600000,
               "longest wait for a connection to DVCQG, ms"),
    LT_OPT_END,
};

const lt_catalog_entry_t lt_catalog_portal = {
    .name = "portal",
    .summary = "one-stop adapter API server and client of DVCQG's adapter (dossiers, progress)",
    .options = portal_options,
};
