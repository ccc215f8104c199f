/*  axis_options: the options of lthub-axis (lt_option.h), read by the
    runtime from the command line and the connectors/axis section of
    lthubd's config, and checked by `lthubd --check-config`.
*/
#include "lt_catalog.h"

const lt_option_t axis_options[] = {
    {"url", "", "base URL of the axis edoc API (https://...)", LT_OPT_URL, 0, 0, true, true},
    LT_OPT_NEEDED("system-id", "the hub's system id at the axis"),
    LT_OPT_NEEDED("secret-file", "file holding the hub's secret at the axis"),
    LT_OPT_NEEDED("province-code",
                  "agency code of the TraceHeader the hub appends (e.g. 000.00.00.H26)"),
    LT_OPT_STR("agencies", "", "codes or patterns the hub receives for (default *.LNN and LNN.* "
                               "of the province code)"),
    LT_OPT_NUM("poll-ms", "2000", 100, 3600000, "period of the receive loop, ms"),
    LT_OPT_NUM("unreadable-fetches", "3", 1, 1000,
               "fetches in a row an item must come unreadable (not base64, not edXML) before it "
               "is acknowledged fail"),
    LT_OPT_TYPED("receive", "yes", LT_OPT_BOOL, "run the receive loop (yes or no)"),
    LT_OPT_STR("ca-file", "", "PEM CA file for the axis's TLS certificate (default: system store)"),
    LT_OPT_NUM("timeout-ms", "30000", 100, 3600000, "longest wait for one axis call, ms"),
    LT_OPT_NUM("connect-timeout-ms", "10000", 100, 600000,
               "longest wait for a connection to the axis, ms"),
    LT_OPT_STR("trust", "", "trust anchors (directory or PEM file) for signature verdicts"),
    {"data", "", "data directory: refused packages are kept in DATA/axis-rejected/, items "
              "published but not acknowledged marked in DATA/axis-published/",
     LT_OPT_STRING, 0, 0, false, false},
    LT_OPT_NUM("quarantine-max-age", "7776000", 0, 36500LL * 86400,
               "seconds a package in DATA/axis-rejected/ is kept; 0: no age bound"),
    LT_OPT_NUM("quarantine-max-items", "10000", 0, 100000000,
               "packages kept in DATA/axis-rejected/ at most (oldest removed first); 0: no bound"),
    LT_OPT_NUM("quarantine-max-bytes", "1073741824", 0, 1LL << 50,
               "bytes kept in DATA/axis-rejected/ at most (oldest removed first); 0: no bound"),
    LT_OPT_END,
};

const lt_catalog_entry_t lt_catalog_axis = {
    .name = "axis",
    .summary = "client of the national document axis (edoc API): send, poll, fetch, acknowledge",
    .options = axis_options,
};
