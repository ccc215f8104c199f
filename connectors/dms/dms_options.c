/*  dms_options: the options of lthub-dms (lt_option.h), read by the
    runtime from the command line and the connectors/dms section of
    lthubd's config, and checked by `lthubd --check-config`.
*/
#include "lt_catalog.h"

//  A path-like option lthubd cannot change under a running connector.
#define S_FIXED(n, d, h) {n, d, h, LT_OPT_STRING, 0, 0, true, false}

const lt_option_t dms_options[] = {
    LT_OPT_TYPED("listen", "127.0.0.1:8480", LT_OPT_ADDR,
                 "ADDR:PORT of the edoc API for the DMS systems"),
    LT_OPT_NEEDED("systems", "ZPL file of the client systems (id, secret_file, agencies)"),
    S_FIXED("data", "/var/lib/lthub", "folder of dms-mailbox.db and rejected/"),
    LT_OPT_STR("trust", "", "CA certificates (folder or file) for signature verdicts; empty: no chain"),
    LT_OPT_TYPED("auto-status", "no", LT_OPT_BOOL,
                 "yes: send status 01 to the sender when a document is first fetched"),
    LT_OPT_NUM("max-package", "67108864", 1024, 1024LL * 1024 * 1024,
               "largest edXML package accepted, bytes"),
    LT_OPT_NUM("publish-timeout", "15000", 100, 600000,
               "ms to wait for the broker's ACCEPTED before answering 503"),
    LT_OPT_NUM("request-timeout", "30000", 200, 3600000,
               "ms from a request's arrival (its body in) after which sendEdoc answers 503"),
    LT_OPT_STR("tls-cert", "", "PEM certificate chain: serve the edoc API over HTTPS (with --tls-key)"),
    LT_OPT_STR("tls-key", "", "PEM private key of --tls-cert"),
    LT_OPT_NUM("max-connections", "128", 4, 100000,
               "concurrent connections to the edoc API at most"),
    LT_OPT_NUM("max-per-ip", "16", 1, 100000,
               "concurrent connections from one client address at most"),
    LT_OPT_NUM("idle-timeout", "15", 1, 3600,
               "seconds a connection may stay silent before it is closed"),
    LT_OPT_NUM("max-request-time", "600", 1, 86400,
               "seconds a request (headers and body) may take to arrive"),
    LT_OPT_NUM("max-inflight-body", "0", 0, 1LL << 40,
               "request body bytes held in memory at once, all connections together (over it: "
               "HTTP 503); 0: 4 x the largest body, at least 64 MiB"),
    LT_OPT_NUM("max-register", "16777216", 1024, 256LL * 1024 * 1024,
               "largest registerDocuments body, bytes"),
    LT_OPT_NUM("max-entries", "10000", 1, 100000, "register entries per registerDocuments call"),
    LT_OPT_NUM("list-max", "1000", 1, 100000, "items per getReceivedEdocList answer"),
    LT_OPT_NUM("max-rejected", "10000", 0, 10000000, "refused inputs kept in DATA/rejected at most"),
    LT_OPT_NUM("max-rejected-mb", "1024", 0, 10000000,
               "bytes of refused inputs kept in DATA/rejected at most, MiB"),
    LT_OPT_NUM("keep-done", "30", 0, 36500, "days the package bytes of done items are kept"),
    LT_OPT_NUM("mailbox-max-age", "7776000", 0, 36500LL * 86400,
               "seconds a done item is kept after its system marked it done; 0: no age bound"),
    LT_OPT_NUM("mailbox-max-items", "1000000", 0, 1000000000,
               "items the mailbox holds at most (done ones evicted oldest first); 0: no bound"),
    LT_OPT_NUM("mailbox-max-bytes", "10737418240", 0, 1LL << 50,
               "package bytes the mailbox holds at most (done ones evicted oldest first); "
               "0: no bound"),
    LT_OPT_END,
};

const lt_catalog_entry_t lt_catalog_dms = {
    .name = "dms",
    .summary = "edoc API server and mailboxes for the province's document management systems",
    .options = dms_options,
};
