/*  lt_xmldsig: enveloped XML-DSig check of the edXML header with
    xmlsec1-openssl.

    xmlsec is initialised once per process (pthread_once) and its error
    callback keeps the last message per thread for the verdict's reason,
    instead of printing it. Each check builds its own keys manager and
    signature context, so checks may run on several threads at once.
    Parsing refuses any DTD (the internalSubset SAX callback stops the
    parser before an entity can be declared), so XML_PARSE_HUGE only lifts
    the text-node size limit that large base64 attachments would hit.
*/
#include "lt_file.h"
#include "lt_xmldsig.h"
#include "lt_edxml.h"
#include "lt_pdfsig.h"

#include <assert.h>
#include <limits.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#define S_MAX_NODES 4096   //  header nodes walked looking for signatures
#define S_MAX_DEPTH 16     //  depth walked below the header

struct _lt_xmldsig_t {
    lt_sig_t verdict;     //  UNSIGNED (absent) or the worst signature's
    char reason[320];     //  why not valid
    size_t count;         //  ds:Signature elements checked
    char subject[512];    //  first readable signer: subject
    char signer[256];     //  its common name
    char issuer[512];     //  its issuer
};

static pthread_once_t s_once = PTHREAD_ONCE_INIT;   //  guards s_init
static bool s_ready = false;                        //  xmlsec initialised
static __thread char s_last_error[256];             //  last xmlsec message

//  Keep xmlsec's first error since the last reset for this thread (the root
//  cause; later ones only name the callers that failed in turn).
static void s_on_error(const char *file, int line, const char *func, const char *object,
                       const char *subject, int reason, const char *msg)
{
    if (s_last_error[0])
        return;
    const char *what = "xmlsec error";
    for (xmlSecSize i = 0; i < XMLSEC_ERRORS_MAX_NUMBER && xmlSecErrorsGetMsg(i); i++)
        if (xmlSecErrorsGetCode(i) == reason) {
            what = xmlSecErrorsGetMsg(i);
            break;
        }
    snprintf(s_last_error, sizeof(s_last_error), "%s%s%s%s", what, msg && *msg ? " (" : "",
             msg && *msg ? msg : "", msg && *msg ? ")" : "");
}

//  Initialise libxml2 and xmlsec with its OpenSSL back end, once.
static void s_init(void)
{
    xmlInitParser();
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
        return;
    xmlSecErrorsSetCallback(s_on_error);
    s_ready = true;
}

//  Fail the verdict with a printf-formatted reason if it is not worse yet.
static void s_set(lt_xmldsig_t *self, lt_sig_t verdict, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void s_set(lt_xmldsig_t *self, lt_sig_t verdict, const char *format, ...)
{
    if (lt_pdfsig_rank(verdict) <= lt_pdfsig_rank(self->verdict) &&
        self->verdict != LT_SIG_UNSIGNED)
        return;
    self->verdict = verdict;
    va_list args;
    va_start(args, format);
    vsnprintf(self->reason, sizeof(self->reason), format, args);
    va_end(args);
}

//  SAX internalSubset callback: a DTD is refused before it is read.
static void s_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
                         const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    ctxt->_private = ctxt;   //  marks the refusal
    xmlStopParser(ctxt);
}

//  Parse the package; NULL with the reason set on self.
static xmlDocPtr s_parse(const void *xml, size_t size, lt_xmldsig_t *self)
{
    if (size > INT_MAX) {
        s_set(self, LT_SIG_INVALID, "package too large to check");
        return NULL;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        s_set(self, LT_SIG_INVALID, "out of memory");
        return NULL;
    }
    ctxt->sax->internalSubset = s_refuse_dtd;
    ctxt->_private = NULL;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int) size, NULL, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                          XML_PARSE_HUGE);
    if (ctxt->_private) {
        s_set(self, LT_SIG_INVALID, "package has a DTD (not allowed)");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    else if (!doc || !ctxt->wellFormed) {
        const xmlError *error = xmlCtxtGetLastError(ctxt);
        s_set(self, LT_SIG_INVALID, "package XML not well-formed (line %d)",
              error ? error->line : 0);
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}

//  Return true when node is an element named name in namespace ns.
static bool s_is(xmlNodePtr node, const char *name, const char *ns)
{
    return node && node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, BAD_CAST name) &&
           node->ns && xmlStrEqual(node->ns->href, BAD_CAST ns);
}

//  Return the first child element of parent named name in the edXML
//  namespace, or NULL.
static xmlNodePtr s_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr child = parent ? parent->children : NULL; child; child = child->next)
        if (s_is(child, name, LT_EDXML_NS))
            return child;
    return NULL;
}

//  Return true when node has element children or non-blank text.
static bool s_has_content(xmlNodePtr node)
{
    for (xmlNodePtr child = node->children; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE)
            return true;
        if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) &&
            !xmlIsBlankNode(child))
            return true;
    }
    return false;
}

//  Collect the ds:Signature elements under node (depth-first, bounded).
static void s_collect(xmlNodePtr node, int depth, xmlNodePtr *found, size_t *count,
                      size_t *more, size_t *walked)
{
    for (xmlNodePtr child = node->children; child; child = child->next) {
        if (++*walked > S_MAX_NODES || child->type != XML_ELEMENT_NODE)
            continue;
        if (s_is(child, "Signature", (const char *) xmlSecDSigNs)) {
            if (*count < LT_XMLDSIG_MAX_SIGS)
                found[(*count)++] = child;
            else
                (*more)++;
        }
        else if (depth < S_MAX_DEPTH)
            s_collect(child, depth + 1, found, count, more, walked);
    }
}

//  Allow only the transforms an edXML header signature needs: no XSLT,
//  XPath or base64 tricks, no external documents.
static int s_restrict(xmlSecDSigCtxPtr ctx)
{
    xmlSecTransformId c14n[] = {xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId,
                                xmlSecTransformInclC14NId, xmlSecTransformInclC14NWithCommentsId,
                                xmlSecTransformInclC14N11Id,
                                xmlSecTransformInclC14N11WithCommentsId};
    xmlSecTransformId digests[] = {xmlSecTransformSha1Id, xmlSecTransformSha256Id,
                                   xmlSecTransformSha384Id, xmlSecTransformSha512Id};
    xmlSecTransformId methods[] = {xmlSecTransformRsaSha1Id,     xmlSecTransformRsaSha256Id,
                                   xmlSecTransformRsaSha384Id,   xmlSecTransformRsaSha512Id,
                                   xmlSecTransformEcdsaSha256Id, xmlSecTransformEcdsaSha384Id,
                                   xmlSecTransformEcdsaSha512Id};
    int rc = 0;
    for (size_t i = 0; i < sizeof(c14n) / sizeof(c14n[0]); i++) {
        rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, c14n[i]);
        rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, c14n[i]);
    }
    for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
        rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, digests[i]);
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, methods[i]);
    rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId);
    //  xmlsec keeps key data classes in a list of plain pointers.
    rc |= xmlSecPtrListAdd(&ctx->keyInfoReadCtx.enabledKeyData,
                           (xmlSecPtr) (uintptr_t) xmlSecKeyDataX509Id);
    ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
    ctx->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_DONT_VERIFY_CERTS;
    return rc < 0 ? -1 : 0;
}

//  Judge a context whose verification ran: did it cover the whole package,
//  and does its certificate chain to an anchor?
static void s_judge(lt_xmldsig_t *self, xmlSecDSigCtxPtr ctx, size_t index,
                    X509_STORE *anchors)
{
    size_t refs = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
    bool whole = false;
    for (size_t i = 0; i < refs; i++) {
        xmlSecDSigReferenceCtxPtr ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, i);
        if (ref && ref->status != xmlSecDSigStatusSucceeded) {
            s_set(self, LT_SIG_INVALID,
                  "signature %zu: reference digest mismatch (package altered after signing)",
                  index);
            return;
        }
        if (ref && ref->uri && ref->uri[0] == 0)
            whole = true;
    }
    if (ctx->status != xmlSecDSigStatusSucceeded) {
        s_set(self, LT_SIG_INVALID, "signature %zu: signature value does not verify", index);
        return;
    }
    if (!whole) {
        s_set(self, LT_SIG_INVALID, "signature %zu: does not cover the whole package (URI \"\")",
              index);
        return;
    }
    xmlSecKeyDataPtr x509 = ctx->signKey ? xmlSecKeyGetData(ctx->signKey, xmlSecKeyDataX509Id)
                                         : NULL;
    X509 *cert = x509 ? xmlSecOpenSSLKeyDataX509GetKeyCert(x509) : NULL;
    if (!cert) {
        s_set(self, LT_SIG_INVALID, "signature %zu: no X509 certificate for the key", index);
        return;
    }
    if (!self->subject[0])
        lt_pdfsig_cert_names(cert, self->subject, sizeof(self->subject), self->signer,
                             sizeof(self->signer), self->issuer, sizeof(self->issuer));
    STACK_OF(X509) *chain = sk_X509_new_null();
    for (xmlSecSize i = 0; chain && i < xmlSecOpenSSLKeyDataX509GetCertsSize(x509); i++)
        sk_X509_push(chain, xmlSecOpenSSLKeyDataX509GetCert(x509, i));
    char reason[256];
    if (lt_pdfsig_trust_check(anchors, cert, chain, reason, sizeof(reason)) != 0)
        s_set(self, LT_SIG_VALID_UNTRUSTED, "signature %zu: %s", index, reason);
    else
        s_set(self, LT_SIG_VALID, "%s", "");
    sk_X509_free(chain);
}

//  Verify one ds:Signature element.
static void s_verify(lt_xmldsig_t *self, xmlNodePtr node, size_t index, X509_STORE *anchors)
{
    xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
    xmlSecDSigCtxPtr ctx = NULL;
    if (!mngr || xmlSecCryptoAppDefaultKeysMngrInit(mngr) < 0 ||
        !(ctx = xmlSecDSigCtxCreate(mngr)) || s_restrict(ctx) != 0)
        s_set(self, LT_SIG_INVALID, "signature %zu: cannot set up the check", index);
    else {
        s_last_error[0] = 0;
        if (xmlSecDSigCtxVerify(ctx, node) < 0)
            s_set(self, LT_SIG_INVALID, "signature %zu: unreadable (%s)", index,
                  s_last_error[0] ? s_last_error : "xmlsec failed");
        else
            s_judge(self, ctx, index, anchors);
    }
    if (ctx)
        xmlSecDSigCtxDestroy(ctx);
    if (mngr)
        xmlSecKeysMngrDestroy(mngr);
    ERR_clear_error();
}

lt_xmldsig_t *lt_xmldsig_new(const void *xml, size_t size, X509_STORE *anchors)
{
    lt_xmldsig_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->verdict = LT_SIG_UNSIGNED;
    pthread_once(&s_once, s_init);
    if (!s_ready) {
        s_set(self, LT_SIG_INVALID, "xmlsec library could not be initialised");
        return self;
    }
    xmlDocPtr doc = xml ? s_parse(xml, size, self) : NULL;
    if (!doc)
        return self;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr header = s_is(root, "edXML", LT_EDXML_NS)
                            ? s_child(s_child(root, "edXMLEnvelope"), "edXMLHeader")
                            : NULL;
    xmlNodePtr found[LT_XMLDSIG_MAX_SIGS];
    size_t more = 0, walked = 0;
    if (header)
        s_collect(header, 0, found, &self->count, &more, &walked);
    xmlNodePtr wrapper = s_child(header, "Signature");
    if (self->count == 0 && wrapper && s_has_content(wrapper))
        s_set(self, LT_SIG_INVALID, "edXML:Signature is not empty but holds no ds:Signature");
    for (size_t i = 0; i < self->count; i++)
        s_verify(self, found[i], i + 1, anchors);
    if (more)
        s_set(self, LT_SIG_INVALID, "more than %d ds:Signature elements in the header",
              LT_XMLDSIG_MAX_SIGS);
    xmlFreeDoc(doc);
    return self;
}

void lt_xmldsig_destroy(lt_xmldsig_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

lt_sig_t lt_xmldsig_verdict(const lt_xmldsig_t *self)
{
    assert(self);
    return self->verdict;
}

const char *lt_xmldsig_verdict_name(const lt_xmldsig_t *self)
{
    assert(self);
    return self->verdict == LT_SIG_UNSIGNED ? "absent" : lt_sig_name(self->verdict);
}

const char *lt_xmldsig_reason(const lt_xmldsig_t *self)
{
    assert(self);
    return self->reason;
}

size_t lt_xmldsig_count(const lt_xmldsig_t *self)
{
    assert(self);
    return self->count;
}

const char *lt_xmldsig_subject(const lt_xmldsig_t *self)
{
    assert(self);
    return self->subject;
}

const char *lt_xmldsig_signer(const lt_xmldsig_t *self)
{
    assert(self);
    return self->signer;
}

const char *lt_xmldsig_issuer(const lt_xmldsig_t *self)
{
    assert(self);
    return self->issuer;
}

//  ---------------------------------------------------------------------
//  Self-test


//  Return text with the first occurrence of old replaced by new (caller
//  frees); asserts that old occurs.
static char *s_replace(const char *text, const char *old, const char *new_text)
{
    const char *at = strstr(text, old);
    assert(at);
    size_t head = (size_t) (at - text), ol = strlen(old), nl = strlen(new_text);
    size_t tail = strlen(at + ol);
    char *out = malloc(head + nl + tail + 1);
    assert(out);
    memcpy(out, text, head);
    memcpy(out + head, new_text, nl);
    memcpy(out + head + nl, at + ol, tail + 1);
    return out;
}

#define S_TEMPLATE \
    "<edXML:Signature><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">" \
    "<ds:SignedInfo><ds:CanonicalizationMethod " \
    "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>" \
    "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>" \
    "<ds:Reference URI=\"%s\"><ds:Transforms>" \
    "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>" \
    "<ds:Transform Algorithm=\"%s\"/></ds:Transforms>" \
    "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>" \
    "<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>" \
    "<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>" \
    "</ds:Signature></edXML:Signature>"

//  Sign package (with an empty edXML:Signature) as the fixture key who with
//  the template above; uri and transform fill its blanks. Returns the
//  signed XML (caller frees with xmlFree) or NULL when xmlsec refuses.
static char *s_sign(const char *fixtures, const char *package, const char *who, const char *uri,
                    const char *transform, int *size)
{
    char sig[2048];
    snprintf(sig, sizeof(sig), S_TEMPLATE, uri, transform);
    char *text = s_replace(package, "<edXML:Signature></edXML:Signature>", sig);
    xmlDocPtr doc = xmlReadMemory(text, (int) strlen(text), NULL, NULL, XML_PARSE_NONET);
    free(text);
    assert(doc);
    xmlNodePtr node = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
    assert(node);
    char key[1024], crt[1024];
    snprintf(key, sizeof(key), "%s/pki/%s.key", fixtures, who);
    snprintf(crt, sizeof(crt), "%s/pki/%s.crt", fixtures, who);
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    assert(ctx);
    ctx->signKey = xmlSecCryptoAppKeyLoad(key, xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    assert(ctx->signKey);
    assert(xmlSecCryptoAppKeyCertLoad(ctx->signKey, crt, xmlSecKeyDataFormatPem) == 0);
    xmlChar *out = NULL;
    if (xmlSecDSigCtxSign(ctx, node) == 0)
        xmlDocDumpMemory(doc, &out, size);
    xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    return (char *) out;
}

//  Check xml with anchors and assert the verdict and part of the reason.
static void s_expect(const char *xml, size_t size, X509_STORE *anchors, lt_sig_t verdict,
                     const char *want)
{
    lt_xmldsig_t *self = lt_xmldsig_new(xml, size, anchors);
    assert(self);
    if (lt_xmldsig_verdict(self) != verdict || (want && !strstr(lt_xmldsig_reason(self), want))) {
        fprintf(stderr, "\nlt_xmldsig: got %s '%s', want %s '%s'\n",
                lt_sig_name(lt_xmldsig_verdict(self)), lt_xmldsig_reason(self),
                lt_sig_name(verdict), want ? want : "");
        assert(false);
    }
    lt_xmldsig_destroy(&self);
}

void lt_xmldsig_test(bool verbose)
{
    if (verbose)
        printf(" * lt_xmldsig: ");
    //  Inputs that never reach a signature.
    const char *broken = "<edXML xmlns=\"" LT_EDXML_NS "\"><unclosed>";
    s_expect(broken, strlen(broken), NULL, LT_SIG_INVALID, "not well-formed");
    const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE edXML [<!ENTITY a \"aaaa\">]>"
                      "<edXML xmlns=\"" LT_EDXML_NS "\">&a;</edXML>";
    s_expect(dtd, strlen(dtd), NULL, LT_SIG_INVALID, "DTD");
    const char *other = "<root><Signature/></root>";
    s_expect(other, strlen(other), NULL, LT_SIG_UNSIGNED, "");
    s_expect(NULL, 0, NULL, LT_SIG_UNSIGNED, "");

    const char *fixtures = getenv("LT_FIXTURES");
    if (!fixtures) {
        if (verbose)
            printf("(no LT_FIXTURES: fixture checks skipped) OK\n");
        return;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/pki/ca.crt", fixtures);
    lt_err_t err;
    X509_STORE *anchors = lt_pdfsig_trust_load(path, &err);
    assert(anchors);

    //  The fixtures carry empty signatures or none: absent.
    size_t size = 0;
    snprintf(path, sizeof(path), "%s/edxml/new-signed.edxml", fixtures);
    char *package = lt_file_read(path, 0, &size, NULL);
    assert(package);
    s_expect(package, size, anchors, LT_SIG_UNSIGNED, "");
    lt_xmldsig_t *self = lt_xmldsig_new(package, size, anchors);
    assert(strcmp(lt_xmldsig_verdict_name(self), "absent") == 0);
    assert(lt_xmldsig_count(self) == 0 && lt_xmldsig_signer(self)[0] == 0);
    lt_xmldsig_destroy(&self);
    assert(self == NULL);
    snprintf(path, sizeof(path), "%s/edxml/status-03-accepted.edxml", fixtures);
    char *status = lt_file_read(path, 0, &size, NULL);
    assert(status);
    s_expect(status, size, anchors, LT_SIG_UNSIGNED, "");
    free(status);
    char *junk = s_replace(package, "<edXML:Signature></edXML:Signature>",
                           "<edXML:Signature>MIIB...</edXML:Signature>");
    s_expect(junk, strlen(junk), anchors, LT_SIG_INVALID, "holds no ds:Signature");
    free(junk);

    //  Signed here with the fixture keys.
    const char *exc = "http://www.w3.org/2001/10/xml-exc-c14n#";
    int len = 0;
    char *signed_xml = s_sign(fixtures, package, "signer", "", exc, &len);
    assert(signed_xml);
    self = lt_xmldsig_new(signed_xml, (size_t) len, anchors);
    assert(lt_xmldsig_verdict(self) == LT_SIG_VALID);
    assert(strcmp(lt_xmldsig_verdict_name(self), "valid") == 0);
    assert(lt_xmldsig_count(self) == 1);
    assert(strcmp(lt_xmldsig_signer(self), "Nguyen Van A") == 0);
    assert(strstr(lt_xmldsig_subject(self), "O=UBND tinh Mau"));
    assert(strstr(lt_xmldsig_issuer(self), "CN=Test Root CA"));
    assert(lt_xmldsig_reason(self)[0] == 0);
    lt_xmldsig_destroy(&self);
    s_expect(signed_xml, (size_t) len, NULL, LT_SIG_VALID_UNTRUSTED, "no trust anchors");
    //  Altered after signing: a header field, then the signature value.
    char *altered = s_replace(signed_xml, "quý III", "quý IV");
    s_expect(altered, strlen(altered), anchors, LT_SIG_INVALID, "reference digest mismatch");
    free(altered);
    const char *value = strstr(signed_xml, "<ds:SignatureValue>");
    assert(value);
    altered = strdup(signed_xml);
    assert(altered);
    size_t at = (size_t) (value - signed_xml) + strlen("<ds:SignatureValue>") + 10;
    altered[at] = altered[at] == 'A' ? 'B' : 'A';
    s_expect(altered, strlen(altered), anchors, LT_SIG_INVALID, "signature value");
    free(altered);
    //  Two signatures: the first no longer matches once the second is in.
    char *twice = s_replace(signed_xml, "</edXML:TraceHeaderList>",
                            "</edXML:TraceHeaderList><edXML:Signature>"
                            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>"
                            "</edXML:Signature>");
    s_expect(twice, strlen(twice), anchors, LT_SIG_INVALID, "signature 1");
    free(twice);
    xmlFree(signed_xml);

    signed_xml = s_sign(fixtures, package, "stranger", "", exc, &len);
    assert(signed_xml);
    s_expect(signed_xml, (size_t) len, anchors, LT_SIG_VALID_UNTRUSTED, "does not chain");
    xmlFree(signed_xml);

    //  Refused: a reference to another document is never fetched.
    char *remote = s_replace(package, "<edXML:Signature></edXML:Signature>", S_TEMPLATE);
    char *remote2 = s_replace(remote, "URI=\"%s\"", "URI=\"http://127.0.0.1:9/x\"");
    char *remote3 = s_replace(remote2, "Algorithm=\"%s\"", "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"");
    s_expect(remote3, strlen(remote3), anchors, LT_SIG_INVALID, "unreadable");
    free(remote);
    free(remote2);
    free(remote3);
    free(package);

    //  The packages signed by the xmlsec1 tool (tests/data/make-xmldsig.sh).
    const char *data = getenv("LT_TEST_DATA");
    if (data) {
        const struct {
            const char *name;
            lt_sig_t verdict;
        } files[] = {
            {"xmldsig-signed.edxml", LT_SIG_VALID},
            {"xmldsig-stranger.edxml", LT_SIG_VALID_UNTRUSTED},
            {"xmldsig-tampered.edxml", LT_SIG_INVALID},
        };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(path, sizeof(path), "%s/edxml/%s", data, files[i].name);
            char *xml = lt_file_read(path, 0, &size, NULL);
            assert(xml);
            s_expect(xml, size, anchors, files[i].verdict, NULL);
            free(xml);
        }
    }
    X509_STORE_free(anchors);
    if (verbose)
        printf("OK\n");
}
