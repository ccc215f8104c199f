/*  fuzz_report_json: libFuzzer target for the report checker
    (lt_report_json_parse in connectors/report/lt_report_json.c), which
    reads what lthubd publishes before lthub-report sends it, and what a
    reporting system's clients send to lthub-sim report.

    A refused input carries a reason. An accepted report has its required
    fields, gives a valid envelope, and its JSON written again is accepted
    again with the same key, code, organ and period.
*/
#include "lt_report_json.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  Check one input.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_err_t err;
    lt_report_json_t *report = lt_report_json_parse(data, size, &err);
    if (!report) {
        assert(err.code != LT_OK && err.detail[0]);
        return 0;
    }
    assert(*lt_report_json_code(report) && *lt_report_json_organ(report));
    assert(*lt_report_json_key(report) && *lt_report_json_period_label(report));
    lt_envelope_t *env = lt_envelope_new();
    lt_report_json_fill_envelope(report, env, data, size);
    assert(lt_envelope_validate(env, &err) == 0);
    lt_envelope_destroy(&env);
    char *again = json_dumps(lt_report_json_root(report), JSON_COMPACT);
    assert(again);
    lt_report_json_t *second = lt_report_json_parse(again, strlen(again), &err);
    assert(second);
    assert(strcmp(lt_report_json_key(second), lt_report_json_key(report)) == 0);
    assert(strcmp(lt_report_json_code(second), lt_report_json_code(report)) == 0);
    assert(strcmp(lt_report_json_organ(second), lt_report_json_organ(report)) == 0);
    assert(strcmp(lt_report_json_period_label(second), lt_report_json_period_label(report)) == 0);
    lt_report_json_destroy(&second);
    free(again);
    lt_report_json_destroy(&report);
    return 0;
}
