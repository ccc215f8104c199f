/*  lt_selftest: runs the self-test of one class, or of all of them.

    Each class ends with a CLASS_test(bool verbose) function (STYLE.md); ctest
    registers one test per class as `lt_selftest -t CLASS`. Adding a class
    means one line here and one lt_add_selftest() in tests/CMakeLists.txt.
*/
#include "lt_digest.h"
#include "lt_edoc_auth.h"
#include "lt_edxml.h"
#include "lt_http_client.h"
#include "lt_http_server.h"
#include "lt_envelope.h"
#include "lt_dossier.h"
#include "lt_portal_store.h"
#include "lt_conn_batch.h"
#include "lt_file.h"
#include "lt_error.h"
#include "lt_id.h"
#include "lt_seen.h"
#include "lt_ltp.h"
#include "lt_segments.h"
#include "lt_lanes.h"
#include "lt_store.h"
#include "lt_follow.h"
#include "lt_period.h"
#include "lt_ledger.h"
#include "lt_sqlite.h"
#include "lt_json_scan.h"
#include "lt_agencies.h"
#include "lt_indicators.h"
#include "lt_counting.h"
#include "lt_config.h"
#include "lt_zap.h"
#include "lt_keys.h"
#include "lt_supervisor.h"
#include "lt_broker.h"
#include "lt_metrics.h"
#include "lt_pdfsig.h"
#include "lt_verdict.h"
#include "lt_xmldsig.h"
#include "lt_mailbox.h"
#include "lt_dms_systems.h"
#include "lt_sentlog.h"
#include "lt_edoc_client.h"
#include "lt_quarantine.h"
#include "lt_report_json.h"
#include "lt_option.h"
#include "lt_zpl.h"
#include "lt_pattern.h"
#include "lt_catalog.h"
#include "lt_routes.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;          //  class name, as given to -t
    void (*test)(bool verbose);   //  its self-test
} s_test_t;

static const s_test_t s_tests[] = {
    {"lt_error", lt_error_test},
    {"lt_id", lt_id_test},
    {"lt_seen", lt_seen_test},
    {"lt_digest", lt_digest_test},
    {"lt_edoc_auth", lt_edoc_auth_test},
    {"lt_http_server", lt_http_server_test},
    {"lt_http_client", lt_http_client_test},
    {"lt_envelope", lt_envelope_test},
    {"lt_dossier", lt_dossier_test},
    {"lt_portal_store", lt_portal_store_test},
    {"lt_conn_batch", lt_conn_batch_test},
    {"lt_file", lt_file_test},
    {"lt_option", lt_option_test},
    {"lt_zpl", lt_zpl_test},
    {"lt_pattern", lt_pattern_test},
    {"lt_routes", lt_routes_test},
    {"lt_catalog", lt_catalog_test},
    {"lt_edxml", lt_edxml_test},
    {"lt_ltp", lt_ltp_test},
    {"lt_sqlite_vfs", lt_sqlite_vfs_test},
    {"lt_store", lt_store_test},
    {"lt_segments", lt_segments_test},
    {"lt_lanes", lt_lanes_test},
    {"lt_store_segments", lt_store_segments_test},
    {"lt_store_rules", lt_store_rules_test},
    {"lt_store_prune", lt_store_prune_test},
    {"lt_follow", lt_follow_test},
    {"lt_period", lt_period_test},
    {"lt_json_scan", lt_json_scan_test},
    {"lt_ledger_event", lt_ledger_event_test},
    {"lt_ledger", lt_ledger_test},
    {"lt_agencies", lt_agencies_test},
    {"lt_indicators", lt_indicators_test},
    {"lt_counting", lt_counting_test},
    {"lt_config", lt_config_test},
    {"lt_zap", lt_zap_test},
    {"lt_keys", lt_keys_test},
    {"lt_supervisor", lt_supervisor_test},
    {"lt_broker", lt_broker_test},
    {"lt_metrics", lt_metrics_test},
    {"lt_pdfsig", lt_pdfsig_test},
    {"lt_xmldsig", lt_xmldsig_test},
    {"lt_verdict", lt_verdict_test},
    {"lt_mailbox", lt_mailbox_test},
    {"lt_dms_systems", lt_dms_systems_test},
    {"lt_sentlog", lt_sentlog_test},
    {"lt_edoc_client", lt_edoc_client_test},
    {"lt_quarantine", lt_quarantine_test},
    {"lt_report_json", lt_report_json_test},
};

int main(int argc, char *argv[])
{
    const char *only = NULL;
    bool verbose = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "-q") == 0)
            verbose = false;
        else if (strcmp(argv[i], "-l") == 0) {
            for (size_t t = 0; t < sizeof(s_tests) / sizeof(s_tests[0]); t++)
                printf("%s\n", s_tests[t].name);
            return 0;
        }
        else {
            fprintf(stderr, "usage: lt_selftest [-l] [-q] [-t CLASS]\n");
            return 2;
        }
    }
    int ran = 0;
    for (size_t t = 0; t < sizeof(s_tests) / sizeof(s_tests[0]); t++)
        if (!only || strcmp(only, s_tests[t].name) == 0) {
            s_tests[t].test(verbose);
            ran++;
        }
    if (ran == 0) {
        fprintf(stderr, "lt_selftest: no class named '%s'\n", only);
        return 2;
    }
    return 0;
}
