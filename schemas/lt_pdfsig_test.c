/*  lt_pdfsig_test: the self-test of lt_pdfsig, kept apart from the class
    because it builds its own signed PDFs (one signer, two signers in
    incremental updates, a document timestamp from a TSA made on the fly)
    with OpenSSL and the fixture keys, besides hostile inputs.
*/
#include "lt_file.h"
#include "lt_pdfsig.h"

#include <assert.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


//  Check a fixture PDF and return its result.
static lt_pdfsig_t *s_check_fixture(const char *dir, const char *name, X509_STORE *anchors)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pdf/%s", dir, name);
    size_t size = 0;
    uint8_t *data = lt_file_read(path, 0, &size, NULL);
    assert(data);
    lt_pdfsig_t *self = lt_pdfsig_new(data, size, anchors);
    assert(self);
    free(data);
    return self;
}

//  Build a one-signature PDF around the given /Contents value (the text
//  between the brackets) with the given /SubFilter, and a /ByteRange naming
//  exactly its gap; the caller frees the result.
static char *s_synthetic_as(const char *contents, const char *subfilter, size_t *size)
{
    char head[256];
    snprintf(head, sizeof(head),
             "%%PDF-1.7\n1 0 obj\n<< /Type /Sig /SubFilter /%s "
             "/ByteRange [0000000000 0000000000 0000000000 0000000000] /Contents <",
             subfilter);
    const char *tail = "> /M (D:20260903081500+07'00') >>\nendobj\ntrailer\n<< >>\n%%EOF\n";
    size_t hl = strlen(head), cl = strlen(contents), tl = strlen(tail);
    size_t len = hl + cl + tl;
    char *pdf = malloc(len + 1);
    assert(pdf);
    memcpy(pdf, head, hl);
    memcpy(pdf + hl, contents, cl);
    memcpy(pdf + hl + cl, tail, tl + 1);
    size_t start = hl - 1, end = hl + cl + 1;
    char range[64];
    snprintf(range, sizeof(range), "[%010zu %010zu %010zu %010zu]", (size_t) 0, start, end,
             len - end);
    char *at = strstr(pdf, "[0000000000");
    assert(at);
    memcpy(at, range, strlen(range));
    *size = len;
    return pdf;
}

//  The same with /SubFilter /adbe.pkcs7.detached.
static char *s_synthetic(const char *contents, size_t *size)
{
    return s_synthetic_as(contents, "adbe.pkcs7.detached", size);
}

//  Read the fixture CA's certificate and key (NULL when unreadable).
static void s_load_ca(const char *fixtures, X509 **ca, EVP_PKEY **ca_key)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pki/ca.crt", fixtures);
    BIO *bio = BIO_new_file(path, "rb");
    *ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    snprintf(path, sizeof(path), "%s/pki/ca.key", fixtures);
    bio = BIO_new_file(path, "rb");
    *ca_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
}

//  Return an RFC 3161 timestamp token (DER, caller frees with
//  OPENSSL_free) over content, from a TSA certificate made here and issued
//  by the fixture CA, as a document timestamp carries.
static unsigned char *s_tsa_token(const char *fixtures, const uint8_t *content, size_t size,
                                  int *der_len)
{
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    s_load_ca(fixtures, &ca, &ca_key);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    assert(ca && ca_key && key && cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 3161);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *) "Test TSA", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(ca));
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage,
                                              "critical,timeStamping");
    assert(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    assert(X509_sign(cert, ca_key, EVP_sha256()) > 0);

    unsigned char md[32];
    EVP_Digest(content, size, md, NULL, EVP_sha256(), NULL);
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *imprint = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    assert(req && imprint && alg);
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    TS_MSG_IMPRINT_set_algo(imprint, alg);
    TS_MSG_IMPRINT_set_msg(imprint, md, sizeof(md));
    TS_REQ_set_version(req, 1);
    TS_REQ_set_msg_imprint(req, imprint);
    TS_REQ_set_cert_req(req, 1);
    BIO *request = BIO_new(BIO_s_mem());
    assert(request && i2d_TS_REQ_bio(request, req) == 1);
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();
    ASN1_OBJECT *policy = OBJ_txt2obj("1.2.3.4.1", 1);
    assert(ctx && policy);
    assert(TS_RESP_CTX_set_signer_cert(ctx, cert) == 1);
    assert(TS_RESP_CTX_set_signer_key(ctx, key) == 1);
    TS_RESP_CTX_set_def_policy(ctx, policy);
    TS_RESP_CTX_add_md(ctx, EVP_sha256());
    TS_RESP *resp = TS_RESP_create_response(ctx, request);
    assert(resp && TS_RESP_get_token(resp));
    unsigned char *der = NULL;
    *der_len = i2d_PKCS7(TS_RESP_get_token(resp), &der);
    assert(*der_len > 0);
    TS_RESP_free(resp);
    TS_RESP_CTX_free(ctx);
    ASN1_OBJECT_free(policy);
    BIO_free(request);
    TS_MSG_IMPRINT_free(imprint);
    X509_ALGOR_free(alg);
    TS_REQ_free(req);
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return der;
}

//  Check an in-memory PDF without anchors; assert the verdict and that the
//  reason contains want (NULL: no check).
static void s_expect(const char *pdf, size_t size, lt_sig_t verdict, const char *want)
{
    lt_pdfsig_t *self = lt_pdfsig_new(pdf, size, NULL);
    assert(self);
    if (lt_pdfsig_verdict(self) != verdict || (want && !strstr(lt_pdfsig_reason(self), want))) {
        fprintf(stderr, "\nlt_pdfsig: got %s '%s', want %s '%s'\n",
                lt_sig_name(lt_pdfsig_verdict(self)), lt_pdfsig_reason(self),
                lt_sig_name(verdict), want ? want : "");
        assert(false);
    }
    lt_pdfsig_destroy(&self);
}

//  How a test signature is made when not by a fixture signer: the key, its
//  certificate, the digest, and a signingTime attribute (0: the current
//  time, as CMS_sign writes it).
typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    const EVP_MD *md;
    time_t signing_time;
} s_signer_t;

//  Return a CMS signature (DER, caller frees with OPENSSL_free) over content
//  made as signer says.
static unsigned char *s_cms_sign(const s_signer_t *signer, const uint8_t *content, size_t size,
                                 int *der_len)
{
    unsigned int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
    BIO *in = BIO_new_mem_buf(content, (int) size);
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
    assert(in && cms);
    CMS_SignerInfo *si = CMS_add1_signer(cms, signer->cert, signer->key, signer->md, flags);
    assert(si);
    if (signer->signing_time) {
        ASN1_TIME *when = ASN1_TIME_set(NULL, signer->signing_time);
        assert(when && CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, when->type,
                                                   when, -1) == 1);
        ASN1_TIME_free(when);
    }
    assert(CMS_final(cms, in, NULL, flags) == 1);
    unsigned char *der = NULL;
    *der_len = i2d_CMS_ContentInfo(cms, &der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return der;
}

//  Return a certificate for key issued by the fixture CA (or by itself when
//  self_issued), with the given key usage and extended key usage (NULL:
//  none), signed with md, valid from not_before seconds from now for a day.
static X509 *s_make_cert(const char *fixtures, EVP_PKEY *key, const char *cn, const char *ku,
                         const char *eku, const EVP_MD *md, long not_before, bool self_issued)
{
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    s_load_ca(fixtures, &ca, &ca_key);
    X509 *cert = X509_new();
    assert(ca && ca_key && cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 7000 + (long) strlen(cn));
    X509_gmtime_adj(X509_getm_notBefore(cert), not_before);
    X509_gmtime_adj(X509_getm_notAfter(cert), not_before + 86400);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *) cn, -1, -1, 0);
    X509_set_issuer_name(cert, self_issued ? X509_get_subject_name(cert)
                                           : X509_get_subject_name(ca));
    const char *values[2] = {ku, eku};
    int nids[2] = {NID_key_usage, NID_ext_key_usage};
    for (int i = 0; i < 2; i++) {
        if (!values[i])
            continue;
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nids[i], values[i]);
        assert(ext);
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert(X509_sign(cert, self_issued ? key : ca_key, md) > 0);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return cert;
}

//  Sign a synthetic PDF for real with the fixture signer, as a signing tool
//  does: reserve /Contents, fix the /ByteRange, sign the ranges. prefix is
//  an earlier revision (may be "") the new one is appended to; who names
//  the fixture signer, "tsa" for a document timestamp, or "custom" for
//  custom (then not NULL).
static char *s_sign_as(const char *fixtures, const char *prefix, const char *who,
                       const s_signer_t *custom, size_t *size)
{
    char contents[8193];
    memset(contents, '0', sizeof(contents) - 1);
    contents[sizeof(contents) - 1] = 0;
    size_t body_size = 0;
    bool tsa = strcmp(who, "tsa") == 0;
    char *body = s_synthetic_as(contents, tsa ? "ETSI.RFC3161" : "adbe.pkcs7.detached",
                                &body_size);
    size_t plen = strlen(prefix), len = plen + body_size;
    char *pdf = malloc(len + 1);
    assert(pdf);
    memcpy(pdf, prefix, plen);
    memcpy(pdf + plen, body, body_size + 1);
    free(body);
    //  Re-write the ByteRange for the offsets in the combined file.
    char *open = strstr(pdf + plen, "/Contents <") + 10;
    size_t start = (size_t) (open - pdf), end = start + strlen(contents) + 2;
    char range[64];
    snprintf(range, sizeof(range), "[%010zu %010zu %010zu %010zu]", (size_t) 0, start, end,
             len - end);
    memcpy(strstr(pdf + plen, "[0000000000"), range, strlen(range));

    size_t signed_len = start + (len - end);
    uint8_t *content = malloc(signed_len);
    assert(content);
    memcpy(content, pdf, start);
    memcpy(content + start, pdf + end, len - end);
    unsigned char *der = NULL;
    int der_len = 0;
    if (tsa)
        der = s_tsa_token(fixtures, content, signed_len, &der_len);
    else if (custom)
        der = s_cms_sign(custom, content, signed_len, &der_len);
    else {
        char path[1024];
        snprintf(path, sizeof(path), "%s/pki/%s.crt", fixtures, who);
        BIO *bio = BIO_new_file(path, "rb");
        X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        snprintf(path, sizeof(path), "%s/pki/%s.key", fixtures, who);
        bio = BIO_new_file(path, "rb");
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        assert(cert && key);
        BIO *in = BIO_new_mem_buf(content, (int) signed_len);
        CMS_ContentInfo *cms = CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY);
        assert(cms);
        der_len = i2d_CMS_ContentInfo(cms, &der);
        CMS_ContentInfo_free(cms);
        BIO_free(in);
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    assert(der_len > 0 && (size_t) der_len * 2 <= strlen(contents));
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < der_len; i++) {
        pdf[start + 1 + 2 * (size_t) i] = hex[der[i] >> 4];
        pdf[start + 2 + 2 * (size_t) i] = hex[der[i] & 15];
    }
    OPENSSL_free(der);
    free(content);
    *size = len;
    return pdf;
}

//  The same with a fixture signer or the test TSA.
static char *s_sign_synthetic(const char *fixtures, const char *prefix, const char *who,
                              size_t *size)
{
    return s_sign_as(fixtures, prefix, who, NULL, size);
}

//  Sign a synthetic PDF as signer says, check it against anchors and assert
//  the verdict and that the reason contains want.
static void s_expect_signed(const char *fixtures, const s_signer_t *signer, X509_STORE *anchors,
                            lt_sig_t verdict, const char *want)
{
    size_t size = 0;
    char *pdf = s_sign_as(fixtures, "", "custom", signer, &size);
    lt_pdfsig_t *self = lt_pdfsig_new(pdf, size, anchors);
    assert(self);
    if (lt_pdfsig_verdict(self) != verdict || !strstr(lt_pdfsig_reason(self), want)) {
        fprintf(stderr, "\nlt_pdfsig: got %s '%s', want %s '%s'\n",
                lt_sig_name(lt_pdfsig_verdict(self)), lt_pdfsig_reason(self),
                lt_sig_name(verdict), want);
        assert(false);
    }
    lt_pdfsig_destroy(&self);
    free(pdf);
}

void lt_pdfsig_test(bool verbose)
{
    if (verbose)
        printf(" * lt_pdfsig: ");

    //  Signing dates from the dictionary's /M, read even when the
    //  signature itself is unusable.
    const char *dates[][2] = {
        {"(D:20260903081500+07'00')", "2026-09-03T08:15:00+07:00"},
        {"(D:20260903081500Z)", "2026-09-03T08:15:00Z"},
        {"(D:2026)", "2026-01-01T00:00:00"},
        {"(20261231)", "2026-12-31T00:00:00"},
        {"(yesterday)", ""},
        {"(D:20)", ""},
    };
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "<< /Type /Sig /ByteRange [0 1 2 3] /M %s >>", dates[i][0]);
        lt_pdfsig_t *dated = lt_pdfsig_new(text, strlen(text), NULL);
        assert(dated && lt_pdfsig_count(dated) == 1);
        assert(strcmp(lt_pdfsig_info(dated, 0)->signing_time, dates[i][1]) == 0);
        assert(!lt_pdfsig_info(dated, 0)->time_signed);
        lt_pdfsig_destroy(&dated);
    }
    assert(lt_pdfsig_rank(LT_SIG_INVALID) > lt_pdfsig_rank(LT_SIG_VALID_UNTRUSTED));
    assert(lt_pdfsig_rank(LT_SIG_VALID_UNTRUSTED) > lt_pdfsig_rank(LT_SIG_VALID));

    //  Hostile and broken inputs: each is invalid with its reason.
    size_t size = 0;
    char *pdf = s_synthetic("3082zz", &size);
    s_expect(pdf, size, LT_SIG_INVALID, "non-hex");
    lt_pdfsig_t *self = lt_pdfsig_new(pdf, size, NULL);
    assert(self && lt_pdfsig_count(self) == 1);
    //  Without a readable signature the time is the dictionary's /M.
    assert(strcmp(lt_pdfsig_info(self, 0)->signing_time, "2026-09-03T08:15:00+07:00") == 0);
    assert(!lt_pdfsig_info(self, 0)->time_signed);
    lt_pdfsig_destroy(&self);
    free(pdf);
    pdf = s_synthetic("30820", &size);
    s_expect(pdf, size, LT_SIG_INVALID, "odd number of hex digits");
    free(pdf);
    pdf = s_synthetic("0000000000", &size);
    s_expect(pdf, size, LT_SIG_INVALID, "empty");
    free(pdf);
    pdf = s_synthetic("3082ffff0102", &size);
    s_expect(pdf, size, LT_SIG_INVALID, "CMS structure unreadable");
    free(pdf);
    pdf = s_synthetic("", &size);
    s_expect(pdf, size, LT_SIG_INVALID, "empty");
    //  Every truncation of a signature file is handled without a crash.
    for (size_t cut = 0; cut < size; cut++) {
        self = lt_pdfsig_new(pdf, cut, NULL);
        assert(self);
        assert(lt_pdfsig_verdict(self) == LT_SIG_INVALID ||
               lt_pdfsig_verdict(self) == LT_SIG_UNSIGNED);
        lt_pdfsig_destroy(&self);
    }
    free(pdf);
    const char *bad[][2] = {
        {"<< /Type /Sig /ByteRange [0 10 20 99999] /Contents <00> >>", "out of bounds"},
        {"<< /Type /Sig /ByteRange [0 99999999999999999999999 1 1] /Contents <00> >>",
         "not an array of 4"},
        {"<< /Type /Sig /ByteRange [0 18446744073709551615 18446744073709551615 "
         "18446744073709551615] /Contents <00> >>",
         "out of bounds"},
        {"<< /Type /Sig /ByteRange [-1 10 20 5] /Contents <00> >>", "not an array of 4"},
        {"<< /Type /Sig /ByteRange [0 10 20] /Contents <00> >>", "not an array of 4"},
        {"<< /Type /Sig /ByteRange [0 1.5 20 5] /Contents <00> >>", "not an array of 4"},
        {"<< /Type /Sig /ByteRange 7 0 R /Contents <00> >>", "not an array of 4"},
        {"<< /Type /Sig /ByteRange [5 10 20 5] /Contents <00> >>", "start at byte 0"},
        {"<< /Type /Sig /ByteRange [0 20 10 5] /Contents <00> >>", "overlap"},
        {"<< /Type /Sig /ByteRange [0 10 20 5] >>", "no /Contents"},
        {"<< /Type /Sig /ByteRange [0 10 20 5] /Contents (abc) >>", "not a hex string"},
        {"<< /Type /Sig /ByteRange [0 10 20 5] /Contents <00> >>", "gap is not exactly"},
        {"<< /Type /Sig /ByteRange [0 10 20 5] /Contents <0000", "unreadable"},
        {"<< /Type /Sig /ByteRange [0 10 20 5 /Contents <00> >>", "unreadable"},
        {"<< /Type /Sig /ByteRange [0 10 20 5] 12 /Contents <00> >>", "unreadable"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "%%PDF-1.7\n1 0 obj\n%s\nendobj\n%s", bad[i][0],
                 "trailer << >>\n%%EOF\n");
        s_expect(text, strlen(text), LT_SIG_INVALID, bad[i][1]);
    }
    //  A ByteRange name that is not a dictionary key is not a signature.
    const char *quiet[] = {
        "%PDF-1.7\n1 0 obj\n<< /Reason (/ByteRange [0 1 2 3]) >>\nendobj\n",
        "%PDF-1.7\nstream\nBT (/ByteRange [0 1 2 3]) Tj ET\nendstream\n",
        "%PDF-1.7\n1 0 obj\n<< /ByteRanges [0 1 2 3] >>\nendobj\n",
        "/ByteRange",
        "",
    };
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        s_expect(quiet[i], strlen(quiet[i]), LT_SIG_UNSIGNED, "");
    //  Too many signature dictionaries.
    char *many = malloc(4096);
    assert(many);
    size_t used = 0;
    for (int i = 0; i < LT_PDFSIG_MAX_SIGS + 1; i++)
        used += (size_t) snprintf(many + used, 4096 - used,
                                  "<< /Type /Sig /ByteRange [0 1 2 3] /Contents <00> >>\n");
    s_expect(many, used, LT_SIG_INVALID, "more than 16");
    //  Many /ByteRange names outside any dictionary: the walk stops.
    used = 0;
    for (int i = 0; i < 100; i++)
        used += (size_t) snprintf(many + used, 4096 - used, "/ByteRange ");
    s_expect(many, used, LT_SIG_INVALID, "/ByteRange names");
    free(many);
    //  Deep nesting and long inputs stay bounded.
    char brackets[101];
    memset(brackets, '[', 100);
    brackets[100] = 0;
    char deep[600];
    snprintf(deep, sizeof(deep), "<< /A %s /ByteRange [0 1 2 3] >>", brackets);
    s_expect(deep, strlen(deep), LT_SIG_UNSIGNED, "");

    const char *fixtures = getenv("LT_FIXTURES");
    if (!fixtures) {
        if (verbose)
            printf("(no LT_FIXTURES: fixture checks skipped) OK\n");
        return;
    }
    //  Trust anchors: one file, a directory, and errors.
    char path[1024];
    snprintf(path, sizeof(path), "%s/pki/ca.crt", fixtures);
    lt_err_t err;
    X509_STORE *anchors = lt_pdfsig_trust_load(path, &err);
    assert(anchors);
    snprintf(path, sizeof(path), "%s/pki", fixtures);
    X509_STORE *everyone = lt_pdfsig_trust_load(path, &err);
    assert(everyone);
    assert(!lt_pdfsig_trust_load("/nonexistent/trust", &err));
    assert(err.code == LT_ECONFIG);
    snprintf(path, sizeof(path), "%s/pki/ca.key", fixtures);
    assert(!lt_pdfsig_trust_load(path, &err));
    assert(strstr(err.detail, "no certificate"));

    //  The fixtures, with ca.crt as the only anchor.
    self = s_check_fixture(fixtures, "signed.pdf", anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID);
    assert(lt_pdfsig_count(self) == 1);
    const lt_pdfsig_info_t *info = lt_pdfsig_info(self, 0);
    assert(info && !lt_pdfsig_info(self, 1));
    assert(strcmp(info->signer, "Nguyen Van A") == 0);
    assert(strstr(info->subject, "CN=Nguyen Van A"));
    assert(strstr(info->issuer, "CN=Test Root CA"));
    assert(strcmp(info->subfilter, "adbe.pkcs7.detached") == 0);
    assert(info->time_signed && strlen(info->signing_time) == 20);
    assert(info->covers_file && lt_pdfsig_covers_file(self));
    assert(info->byte_range[0] == 0 && info->byte_range[3] > 0);
    assert(strstr(lt_pdfsig_signer(self), "Nguyen Van A"));
    assert(lt_pdfsig_reason(self)[0] == 0);
    lt_pdfsig_destroy(&self);
    assert(self == NULL);
    lt_pdfsig_destroy(&self);

    self = s_check_fixture(fixtures, "untrusted.pdf", anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID_UNTRUSTED);
    assert(strstr(lt_pdfsig_reason(self), "does not chain"));
    assert(strcmp(lt_pdfsig_info(self, 0)->signer, "Stranger") == 0);
    lt_pdfsig_destroy(&self);
    //  With every fixture certificate as an anchor the stranger is trusted.
    self = s_check_fixture(fixtures, "untrusted.pdf", everyone);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID);
    lt_pdfsig_destroy(&self);

    self = s_check_fixture(fixtures, "tampered.pdf", anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_INVALID);
    assert(strstr(lt_pdfsig_reason(self), "message digest mismatch"));
    //  The claimed signer and time are still reported.
    assert(strcmp(lt_pdfsig_info(self, 0)->signer, "Nguyen Van A") == 0);
    assert(lt_pdfsig_info(self, 0)->time_signed);
    lt_pdfsig_destroy(&self);

    self = s_check_fixture(fixtures, "unsigned.pdf", anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_UNSIGNED);
    assert(lt_pdfsig_count(self) == 0 && lt_pdfsig_signer(self)[0] == 0);
    assert(!lt_pdfsig_covers_file(self));
    lt_pdfsig_destroy(&self);

    //  Without anchors a good signature is valid_untrusted.
    self = s_check_fixture(fixtures, "signed.pdf", NULL);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID_UNTRUSTED);
    assert(strstr(lt_pdfsig_reason(self), "no trust anchors"));
    lt_pdfsig_destroy(&self);

    //  Bytes appended after signing (an incremental update that may change
    //  any page) are signed by nobody: the signature itself still verifies
    //  over its ranges, the file does not count as signed.
    snprintf(path, sizeof(path), "%s/pdf/signed.pdf", fixtures);
    uint8_t *signed_pdf = lt_file_read(path, 0, &size, NULL);
    assert(signed_pdf);
    uint8_t *grown = malloc(size + 32);
    assert(grown);
    memcpy(grown, signed_pdf, size);
    memcpy(grown + size, "% appended\n", 11);
    self = lt_pdfsig_new(grown, size + 11, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_INVALID);
    assert(strstr(lt_pdfsig_reason(self), "signed revision is not the whole file: 11 bytes"));
    assert(lt_pdfsig_info(self, 0)->verdict == LT_SIG_VALID);
    assert(!lt_pdfsig_info(self, 0)->covers_file && !lt_pdfsig_covers_file(self));
    lt_pdfsig_destroy(&self);
    //  White space after the signed bytes changes nothing a reader shows.
    memcpy(grown + size, "\r\n \n", 4);
    self = lt_pdfsig_new(grown, size + 4, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID && !lt_pdfsig_covers_file(self));
    lt_pdfsig_destroy(&self);
    //  Truncated: the ByteRange now points past the end.
    self = lt_pdfsig_new(signed_pdf, size - 100, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_INVALID);
    assert(strstr(lt_pdfsig_reason(self), "out of bounds"));
    lt_pdfsig_destroy(&self);
    //  One flipped byte inside the signature value.
    const uint8_t *open = memmem(signed_pdf, size, "/Contents <", 11);
    assert(open);
    size_t flip = (size_t) (open - signed_pdf) + 11 + 600;
    grown[flip] = grown[flip] == 'a' ? 'b' : 'a';
    self = lt_pdfsig_new(grown, size, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_INVALID);
    lt_pdfsig_destroy(&self);
    free(grown);
    free(signed_pdf);

    //  Two signatures, as Nghị định 30 asks: the person signs, then the
    //  organisation signs an incremental update over the whole file.
    size_t first_size = 0, both_size = 0;
    char *first = s_sign_synthetic(fixtures, "", "signer", &first_size);
    self = lt_pdfsig_new(first, first_size, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID);
    lt_pdfsig_destroy(&self);
    char *both = s_sign_synthetic(fixtures, first, "org", &both_size);
    self = lt_pdfsig_new(both, both_size, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID);
    assert(lt_pdfsig_count(self) == 2);
    assert(!lt_pdfsig_info(self, 0)->covers_file && lt_pdfsig_info(self, 1)->covers_file);
    assert(strcmp(lt_pdfsig_info(self, 0)->signer, "Nguyen Van A") == 0);
    assert(strcmp(lt_pdfsig_info(self, 1)->signer, "So Thong tin va Truyen thong") == 0);
    lt_pdfsig_destroy(&self);
    //  Alter the first revision: the first signature fails, the file too.
    char *text = strstr(both, "/M (D:2026");
    assert(text);
    text[6] = '1';
    self = lt_pdfsig_new(both, both_size, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_INVALID);
    assert(strstr(lt_pdfsig_reason(self), "signature 1 of 2: message digest mismatch"));
    //  The file is invalid already: the second is not hashed again.
    assert(lt_pdfsig_info(self, 1)->verdict == LT_SIG_INVALID);
    assert(strstr(lt_pdfsig_info(self, 1)->reason, "not verified: signature 1 is invalid"));
    lt_pdfsig_destroy(&self);
    free(first);
    free(both);

    //  A document timestamp (ETSI.RFC3161) over a signed revision, as
    //  long-term validation adds.
    first = s_sign_synthetic(fixtures, "", "signer", &first_size);
    char *stamped = s_sign_synthetic(fixtures, first, "tsa", &both_size);
    self = lt_pdfsig_new(stamped, both_size, anchors);
    if (lt_pdfsig_verdict(self) != LT_SIG_VALID)
        fprintf(stderr, "\nlt_pdfsig: timestamp: %s\n", lt_pdfsig_reason(self));
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID && lt_pdfsig_count(self) == 2);
    info = lt_pdfsig_info(self, 1);
    assert(info->timestamp && info->time_signed && strcmp(info->signer, "Test TSA") == 0);
    assert(strcmp(info->subfilter, "ETSI.RFC3161") == 0 && info->covers_file);
    lt_pdfsig_destroy(&self);
    self = lt_pdfsig_new(stamped, both_size, NULL);
    assert(lt_pdfsig_verdict(self) == LT_SIG_VALID_UNTRUSTED);
    lt_pdfsig_destroy(&self);
    //  Bytes of the timestamp's revision changed: the first signature
    //  stands, the timestamp fails on its imprint.
    text = strstr(stamped + first_size, "/M (D:2026");
    assert(text);
    text[6] = '1';
    self = lt_pdfsig_new(stamped, both_size, anchors);
    assert(lt_pdfsig_verdict(self) == LT_SIG_INVALID);
    assert(lt_pdfsig_info(self, 0)->verdict == LT_SIG_VALID);
    assert(strstr(lt_pdfsig_info(self, 1)->reason, "timestamp imprint mismatch"));
    lt_pdfsig_destroy(&self);
    free(first);
    free(stamped);

    //  What the signature is made with and by whom: weak digests, keys and
    //  certificates that may not sign documents, an impossible signing time.
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert(key);
    s_signer_t signer = {
        s_make_cert(fixtures, key, "Good", "critical,digitalSignature,nonRepudiation",
                    "emailProtection,clientAuth", EVP_sha256(), -3600, false),
        key, EVP_sha256(), 0};
    s_expect_signed(fixtures, &signer, anchors, LT_SIG_VALID, "");
    signer.md = EVP_sha1();
    s_expect_signed(fixtures, &signer, anchors, LT_SIG_INVALID, "weak or unknown digest");
    signer.md = EVP_sha224();   //  MD5 is refused by the same allow-list (ECDSA has no MD5)
    s_expect_signed(fixtures, &signer, anchors, LT_SIG_INVALID, "weak or unknown digest");
    signer.md = EVP_sha256();
    //  A signing time before the certificate was issued.
    signer.signing_time = time(NULL) - 2 * 86400;
    s_expect_signed(fixtures, &signer, anchors, LT_SIG_VALID_UNTRUSTED, "before the signer");
    signer.signing_time = 0;
    X509_free(signer.cert);
    const struct {
        const char *cn, *ku, *eku;
        const EVP_MD *md;
        const char *want;
    } certs[] = {
        {"Encryption only", "critical,keyEncipherment", NULL, EVP_sha256(), "key usage"},
        {"Authority key", "critical,keyCertSign,cRLSign", NULL, EVP_sha256(), "key usage"},
        {"www.mau.gov.vn", "critical,digitalSignature", "serverAuth", EVP_sha256(),
         "extended key usage"},
        {"SHA-1 certificate", "critical,digitalSignature", NULL, EVP_sha1(), "too weak"},
    };
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
        signer.cert = s_make_cert(fixtures, key, certs[i].cn, certs[i].ku, certs[i].eku,
                                  certs[i].md, -3600, false);
        s_expect_signed(fixtures, &signer, anchors, LT_SIG_VALID_UNTRUSTED, certs[i].want);
        X509_free(signer.cert);
    }
    EVP_PKEY_free(key);

    X509_STORE_free(anchors);
    X509_STORE_free(everyone);
    if (verbose)
        printf("OK\n");
}
