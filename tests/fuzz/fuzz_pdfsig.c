/*  fuzz_pdfsig: libFuzzer target for the PDF signature scanner and CMS
    verification (lt_pdfsig_new in schemas/lt_pdfsig.c), without trust
    anchors. Checks the result's invariants: a verdict from the set, at most
    LT_PDFSIG_MAX_SIGS signatures, a reason on every signature that is not
    valid, and terminated strings.
*/
#include "lt_pdfsig.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

//  Scan one input and check what the scanner reports.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_pdfsig_t *pdf = lt_pdfsig_new(data, size, NULL);
    if (!pdf)
        return 0;
    lt_sig_t verdict = lt_pdfsig_verdict(pdf);
    size_t count = lt_pdfsig_count(pdf);
    assert(count <= LT_PDFSIG_MAX_SIGS);
    //  No anchors: nothing can be fully valid.
    assert(verdict == LT_SIG_UNSIGNED || verdict == LT_SIG_VALID_UNTRUSTED ||
           verdict == LT_SIG_INVALID);
    assert((verdict == LT_SIG_UNSIGNED) == (count == 0 && lt_pdfsig_reason(pdf)[0] == 0));
    for (size_t i = 0; i < count; i++) {
        const lt_pdfsig_info_t *info = lt_pdfsig_info(pdf, i);
        assert(info);
        assert(info->verdict == LT_SIG_VALID_UNTRUSTED || info->verdict == LT_SIG_INVALID);
        assert(info->reason[0] != 0);
        assert(strlen(info->subject) < sizeof(info->subject));
        assert(strlen(info->signer) < sizeof(info->signer));
        assert(strlen(info->signing_time) < sizeof(info->signing_time));
    }
    assert(lt_pdfsig_info(pdf, count) == NULL);
    lt_pdfsig_destroy(&pdf);
    return 0;
}
