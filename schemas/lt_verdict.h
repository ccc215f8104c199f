/*  lt_verdict: the signature facts of one edXML package.

    Takes a package read by lt_edxml and gives a verdict per attachment
    (PDF files only: lt_pdfsig), the verdict on the header's XML-DSig
    (lt_xmldsig, when the package was read from bytes), and the fact the
    envelope carries: the verdict and signer of the main file, which is the
    first PDF attachment, else the first attachment. A main file that is not
    a PDF, and a package without attachments (statuses, revocations), give
    LT_SIG_UNKNOWN: not checked, rather than a claim that it is unsigned.
*/
#ifndef LT_VERDICT_H_INCLUDED
#define LT_VERDICT_H_INCLUDED

#include "lt_edxml.h"
#include "lt_envelope.h"
#include "lt_pdfsig.h"
#include "lt_xmldsig.h"

#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_VERDICT_NO_MAIN SIZE_MAX   //  lt_verdict_main_index() without attachments

typedef struct _lt_verdict_t lt_verdict_t;

//  Check every signature of a package. anchors may be NULL (at best
//  valid_untrusted). Returns NULL only on allocation failure.
lt_verdict_t *lt_verdict_new(const lt_edxml_t *package, X509_STORE *anchors);

//  Destroy a result and set the caller's pointer to NULL; safe on NULL.
void lt_verdict_destroy(lt_verdict_t **self_p);

//  Return the number of attachments judged (all of the package's).
size_t lt_verdict_files(const lt_verdict_t *self);

//  Return an attachment's verdict: the PDF verdict, or UNKNOWN when the
//  attachment is not a PDF or index is out of range.
lt_sig_t lt_verdict_file(const lt_verdict_t *self, size_t index);

//  Return an attachment's PDF signature details, NULL when not a PDF.
const lt_pdfsig_t *lt_verdict_pdfsig(const lt_verdict_t *self, size_t index);

//  Return the header XML-DSig result; NULL when the package was not read
//  from bytes (built in memory) and so has nothing to verify.
const lt_xmldsig_t *lt_verdict_xmldsig(const lt_verdict_t *self);

//  Return the header XML-DSig verdict (UNSIGNED when absent or not checked).
lt_sig_t lt_verdict_header(const lt_verdict_t *self);

//  Return the index of the main file, or LT_VERDICT_NO_MAIN.
size_t lt_verdict_main_index(const lt_verdict_t *self);

//  Return the main file's verdict (UNKNOWN: no main file or not a PDF).
lt_sig_t lt_verdict_main(const lt_verdict_t *self);

//  Return the main file's first signer subject ("" when none).
const char *lt_verdict_signer(const lt_verdict_t *self);

//  Set the envelope's signature verdict and signer from the main file, and
//  its document type (dtype) from the package's DocumentType/TypeName.
void lt_verdict_fill_envelope(const lt_verdict_t *self, lt_envelope_t *env);

//  Return true when an attachment is treated as a PDF file (its bytes start
//  with %PDF-, or its type or name says PDF).
bool lt_verdict_is_pdf(const lt_edxml_attachment_t *attachment);

//  Self-test of this class.
void lt_verdict_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
