/*  lt_xmldsig: verdict on the enveloped XML-DSig of an edXML header
    (spec/edxml.md, "Signature").

    edXML:Signature in the package header may hold an XML digital signature
    (http://www.w3.org/2000/09/xmldsig#) over the whole package: reference
    URI "", transforms enveloped-signature + exclusive c14n, the signer's
    certificate in X509Data. It is often empty. lt_xmldsig_new() parses the
    package bytes again (no network, no DTD, no entity expansion), verifies
    every ds:Signature of the header with xmlsec1-openssl (only same-document
    references, only c14n/enveloped transforms and common digest and
    signature methods, key only from X509Data), then chain-checks the signer
    certificate against the trust anchors (lt_pdfsig_trust_load()).

    Verdicts: UNSIGNED means absent (no signature, or an empty
    edXML:Signature); VALID, VALID_UNTRUSTED and INVALID as for PDF files.
*/
#ifndef LT_XMLDSIG_H_INCLUDED
#define LT_XMLDSIG_H_INCLUDED

#include "lt_envelope.h"

#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_XMLDSIG_MAX_SIGS 4   //  ds:Signature elements checked in one header

typedef struct _lt_xmldsig_t lt_xmldsig_t;

//  Verify the header signature of an edXML package held in memory. anchors
//  may be NULL (cryptographic check only: at best valid_untrusted). Returns
//  NULL only on allocation failure; unreadable XML is an invalid verdict.
lt_xmldsig_t *lt_xmldsig_new(const void *xml, size_t size, X509_STORE *anchors);

//  Destroy a result and set the caller's pointer to NULL; safe on NULL.
void lt_xmldsig_destroy(lt_xmldsig_t **self_p);

//  Return the verdict: UNSIGNED when absent, else the worst signature's.
lt_sig_t lt_xmldsig_verdict(const lt_xmldsig_t *self);

//  Return the verdict's name for people: "absent", "valid", "valid_untrusted"
//  or "invalid".
const char *lt_xmldsig_verdict_name(const lt_xmldsig_t *self);

//  Return why the signature is not valid ("" when valid or absent).
const char *lt_xmldsig_reason(const lt_xmldsig_t *self);

//  Return the number of ds:Signature elements checked.
size_t lt_xmldsig_count(const lt_xmldsig_t *self);

//  Signer of the first signature whose certificate could be read ("" when
//  none): subject (RFC 2253), common name, issuer.
const char *lt_xmldsig_subject(const lt_xmldsig_t *self);
const char *lt_xmldsig_signer(const lt_xmldsig_t *self);
const char *lt_xmldsig_issuer(const lt_xmldsig_t *self);

//  Self-test of this class.
void lt_xmldsig_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
