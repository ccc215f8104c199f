/*  lt_pdfsig: digital-signature verdict of a PDF file (spec/edxml.md,
    "Signature").

    The legally relevant signatures of a Vietnamese document are CMS/PKCS#7
    detached signatures inside its PDF files, one signature dictionary per
    signer (usually the person, then the organisation in place of the seal).
    lt_pdfsig_new() scans the file for every signature dictionary with a
    small bounded scanner, checks that each /ByteRange covers the file except
    exactly the /Contents hex string, verifies the CMS over those bytes with
    OpenSSL, then chain-checks the signer certificate against the configured
    trust anchors (OpenSSL security level 2: no MD5/SHA-1 certificate
    signatures, RSA >= 2048), and checks that the signer certificate may
    sign documents (key usage, extended key usage; a timestamp needs a
    time-stamping certificate) and was valid at the signed signing time.
    SignerInfo digests must be SHA-256 or stronger. Incremental updates
    between signatures are legal PDF (the organisation signs over the
    person's revision), but bytes after the last signature other than white
    space are signed by nobody: the file is then invalid ("signed revision
    is not the whole file"), though each signature's own verdict stands.
    See docs/indicators.md "Signature verdicts".

    The same trust anchors serve the header's XML-DSig (lt_xmldsig), so the
    anchor loading and chain check live here as lt_pdfsig_trust_*().

    Untrusted input never triggers an assert: every failure becomes an
    `invalid` verdict with its reason. The work per file is bounded: at most
    LT_PDFSIG_MAX_SIGS dictionaries and four times as many /ByteRange names
    are examined (more makes the file invalid), each within a window of
    LT_PDFSIG_MAX_CONTENTS + 64 KiB bytes. Certificates are checked at the
    current time, without revocation (CRL/OCSP) checks.
*/
#ifndef LT_PDFSIG_H_INCLUDED
#define LT_PDFSIG_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_PDFSIG_MAX_SIGS     16       //  signature dictionaries checked per file
#define LT_PDFSIG_MAX_CONTENTS 131072   //  hex digits of one /Contents (64 KiB DER)

typedef struct _lt_pdfsig_t lt_pdfsig_t;

//  What was found and concluded about one signature dictionary.
typedef struct {
    lt_sig_t verdict;          //  VALID, VALID_UNTRUSTED or INVALID
    char reason[256];          //  why not valid ("" when valid)
    char subfilter[64];        //  /SubFilter without the slash, "" when absent
    char subject[512];         //  signer certificate subject (RFC 2253, UTF-8)
    char signer[256];          //  signer common name, else the subject
    char issuer[512];          //  signer certificate issuer (RFC 2253, UTF-8)
    char signing_time[40];     //  ISO 8601, "" when unknown
    bool time_signed;          //  signing_time is the CMS signingTime attribute
                               //  (false: the unsigned /M entry of the dictionary)
    bool timestamp;            //  a document timestamp (ETSI.RFC3161), not a person
    uint64_t byte_range[4];    //  the /ByteRange values as written
    bool covers_file;          //  the ranges end at the end of the file
} lt_pdfsig_info_t;

//  Scan data (a PDF file) and verify every signature in it. anchors may be
//  NULL: signatures are then checked cryptographically only and at best
//  valid_untrusted. Returns NULL only on allocation failure; a file that is
//  not a PDF is simply unsigned.
lt_pdfsig_t *lt_pdfsig_new(const void *data, size_t size, X509_STORE *anchors);

//  Destroy a result and set the caller's pointer to NULL; safe on NULL.
void lt_pdfsig_destroy(lt_pdfsig_t **self_p);

//  Return the file verdict: UNSIGNED without signature dictionaries, else
//  the worst of its signatures (invalid > valid_untrusted > valid), invalid
//  when bytes other than white space follow the last signed range.
lt_sig_t lt_pdfsig_verdict(const lt_pdfsig_t *self);

//  Return why the file is not valid, naming the signature ("" when valid
//  or unsigned).
const char *lt_pdfsig_reason(const lt_pdfsig_t *self);

//  Return the number of signature dictionaries reported.
size_t lt_pdfsig_count(const lt_pdfsig_t *self);

//  Return one signature's facts, or NULL when index is out of range.
const lt_pdfsig_info_t *lt_pdfsig_info(const lt_pdfsig_t *self, size_t index);

//  Return the subject of the first signer ("" when unsigned), the fact the
//  envelope carries as its signer.
const char *lt_pdfsig_signer(const lt_pdfsig_t *self);

//  Return true when some signature covers the whole file (nothing was
//  appended after it).
bool lt_pdfsig_covers_file(const lt_pdfsig_t *self);

//  Load trust anchors from path: a directory (every *.crt and *.pem file in
//  it, PEM or DER) or one such file. Every loaded certificate is an anchor,
//  also an intermediate. Returns NULL with err filled (LT_ECONFIG) when path
//  cannot be read or holds no certificate; free with X509_STORE_free().
X509_STORE *lt_pdfsig_trust_load(const char *path, lt_err_t *err);

//  Check that cert chains to an anchor (untrusted: further certificates the
//  signature carried, may be NULL). Returns 0 when trusted; -1 with the
//  reason written to reason (size bytes) when not, or anchors is NULL.
int lt_pdfsig_trust_check(X509_STORE *anchors, X509 *cert, STACK_OF(X509) *untrusted,
                          char *reason, size_t size);

//  Write a certificate's subject (RFC 2253, UTF-8), common name (else the
//  subject) and issuer into the given buffers; each buffer may be NULL.
void lt_pdfsig_cert_names(X509 *cert, char *subject, size_t subject_size, char *cn,
                          size_t cn_size, char *issuer, size_t issuer_size);

//  Return the rank of a verdict for "worst of": unknown and unsigned 0,
//  valid 1, valid_untrusted 2, invalid 3.
int lt_pdfsig_rank(lt_sig_t verdict);

//  Self-test of this class.
void lt_pdfsig_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
