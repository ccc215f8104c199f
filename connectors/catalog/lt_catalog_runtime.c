/*  lt_catalog_runtime: the options every connector takes from the
    connector runtime (connectors/runtime/lt_connector.c), declared here so
    that lthubd checks them in every connector's section too.
*/
#include "lt_catalog.h"

const lt_option_t lt_catalog_runtime_options[] = {
    LT_OPT_STR("name", "", "connector name (its certificate must carry the same name)"),
    LT_OPT_STR("config", "",
               "lthubd's config file: options are read from its connectors/NAME section "
               "(the command line wins)"),
    LT_OPT_STR("broker", "tcp://127.0.0.1:5570",
               "lthubd LTP endpoint (with --config: broker/endpoint of the file)"),
    LT_OPT_STR("keys", "/var/lib/lthub/keys",
               "directory with broker.cert and NAME.cert_secret (with --config: broker/keys)"),
    LT_OPT_STR("broker-key", "", "broker public certificate (default KEYS/broker.cert)"),
    LT_OPT_STR("cert", "", "this connector's secret certificate (default KEYS/NAME.cert_secret)"),
    LT_OPT_NUM("credit", "64", 1, 100000, "deliveries the broker may hand over at once"),
    LT_OPT_NUM("workers", "4", 1, 256, "threads calling deliver()"),
    LT_OPT_NUM("window", "1024", 1, 1000000, "publishes waiting for ACCEPTED at most"),
    LT_OPT_NUM("window-bytes", "16777216", 65536, 1LL << 34,
               "payload bytes waiting for ACCEPTED at most"),
    LT_OPT_STR("log-level", "info", "error, warning, info or debug"),
    LT_OPT_END,
};
