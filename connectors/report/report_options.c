/*  report_options: the options of lthub-report (lt_option.h), read by the
    runtime from the command line and the connectors/report section of
    lthubd's config, and checked by `lthubd --check-config`.
*/
#include "lt_catalog.h"

const lt_option_t report_options[] = {
    {"url", "", "base URL of the reporting system (https://...)", LT_OPT_URL, 0, 0, true, true},
    LT_OPT_NEEDED("token-file", "file holding the bearer token (one line, mode 0600)"),
    LT_OPT_TYPED("path", "/api/v1/reports", LT_OPT_URLPATH,
                 "path of the reports endpoint under --url"),
    LT_OPT_STR("ca-file", "", "PEM CA file for the system's TLS certificate (default: system store)"),
    LT_OPT_NUM("timeout-ms", "30000", 100, 3600000, "longest wait for one call, ms"),
    LT_OPT_NUM("connect-timeout-ms", "10000", 100, 600000, "longest wait for a connection, ms"),
    LT_OPT_NUM("fact-timeout-ms", "10000", 100, 600000,
               "longest wait for the broker to store an acceptance fact, ms"),
    LT_OPT_END,
};

const lt_catalog_entry_t lt_catalog_report = {
    .name = "report",
    .summary = "client of the reporting system: submits indicator reports, publishes acceptances",
    .options = report_options,
};
