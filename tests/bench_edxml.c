/*  lt_bench_edxml: how many edXML packages per second the hub can read and
    judge (signature verdicts), on one core.

    By default it builds its own package the way a sender does: a PDF of
    --pdf-size bytes (incompressible filler, so the zipped, base64 package
    stays large) signed for real with the fixture signer key over its
    /ByteRange, attached with the edXML writer (which zips it as the SDKs
    do). It then times, each for --seconds:
      read     lt_edxml_read (parse, base64 decode, unzip)
      verdict  lt_edxml_read + lt_verdict_new (PDF scan, CMS verify, chain)
      pdfsig   lt_pdfsig_new on the PDF alone
    --package FILE times an existing package instead; --out FILE keeps the
    generated one. Not a ctest: run it by hand from the build tree.

      lt_bench_edxml [--seconds N] [--pdf-size BYTES] [--fixtures DIR]
                     [--package FILE] [--out FILE]
*/
#include "lt_file.h"
#include "lt_edxml.h"
#include "lt_id.h"
#include "lt_pdfsig.h"
#include "lt_verdict.h"

#include <openssl/cms.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double seconds;        //  time per measurement
    size_t pdf_size;       //  bytes of the generated PDF
    const char *fixtures;  //  shared fixtures (keys, trust anchor)
    const char *package;   //  package file to time instead of generating one
    const char *out;       //  where to keep the generated package
} s_options_t;


//  Build a one-page PDF of about size bytes with a detached CMS signature
//  by the fixture signer over its /ByteRange; NULL on failure.
static char *s_signed_pdf(const char *fixtures, size_t size, size_t *pdf_size)
{
    enum { SIGLEN = 16384 };   //  hex digits reserved for the signature
    size_t filler = size > 4096 ? size - 4096 : 1024;
    size_t cap = filler + SIGLEN + 4096;
    char *pdf = malloc(cap);
    if (!pdf)
        return NULL;
    int n = snprintf(pdf, cap,
                     "%%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
                     "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
                     "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
                     "4 0 obj\n<< /Length %zu >>\nstream\n",
                     filler);
    size_t len = (size_t) n;
    //  Pseudo-random filler (xorshift): zip cannot shrink it.
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < filler; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pdf[len++] = (char) (x >> 24);
    }
    len += (size_t) snprintf(pdf + len, cap - len,
                             "\nendstream\nendobj\n5 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite "
                             "/SubFilter /adbe.pkcs7.detached /ByteRange [0000000000 0000000000 "
                             "0000000000 0000000000] /Contents <");
    size_t start = len - 1;
    memset(pdf + len, '0', SIGLEN);
    len += SIGLEN;
    len += (size_t) snprintf(pdf + len, cap - len,
                             "> /M (D:20260903081500+07'00') >>\nendobj\n"
                             "trailer\n<< /Size 6 /Root 1 0 R >>\n%%%%EOF\n");
    size_t end = start + SIGLEN + 2;
    char range[64];
    snprintf(range, sizeof(range), "[%010zu %010zu %010zu %010zu]", (size_t) 0, start, end,
             len - end);
    memcpy(memmem(pdf, len, "[0000000000 0000000000", 22), range, strlen(range));

    char path[1024];
    snprintf(path, sizeof(path), "%s/pki/signer.crt", fixtures);
    BIO *bio = BIO_new_file(path, "rb");
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    snprintf(path, sizeof(path), "%s/pki/signer.key", fixtures);
    bio = BIO_new_file(path, "rb");
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    char *content = malloc(start + len - end);
    CMS_ContentInfo *cms = NULL;
    if (cert && key && content) {
        memcpy(content, pdf, start);
        memcpy(content + start, pdf + end, len - end);
        BIO *in = BIO_new_mem_buf(content, (int) (start + len - end));
        cms = in ? CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY) : NULL;
        BIO_free(in);
    }
    unsigned char *der = NULL;
    int der_len = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; der_len > 0 && 2 * i < SIGLEN; i++) {
        pdf[start + 1 + 2 * (size_t) i] = hex[der[i] >> 4];
        pdf[start + 2 + 2 * (size_t) i] = hex[der[i] & 15];
        if (i + 1 == der_len)
            break;
    }
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    free(content);
    X509_free(cert);
    EVP_PKEY_free(key);
    if (der_len <= 0 || 2 * der_len > SIGLEN) {
        free(pdf);
        return NULL;
    }
    *pdf_size = len;
    return pdf;
}

//  Write a document package holding pdf; the caller frees it. NULL on failure.
static uint8_t *s_package(const char *pdf, size_t pdf_size, size_t *size)
{
    lt_edxml_t *doc = lt_edxml_new_document();
    if (!doc)
        return NULL;
    lt_edxml_organ_t from = {.organ_id = "000.00.12.H26", .organ_name = "So Thong tin"};
    lt_edxml_organ_t to = {.organ_id = "000.00.00.G22", .organ_name = "Van phong Chinh phu"};
    lt_edxml_set_from(doc, &from);
    lt_edxml_add_to(doc, &to);
    lt_edxml_set(doc, LT_EDXML_DOCUMENT_ID, "000.00.12.H26,2026/09/03,999/BENCH");
    lt_edxml_set(doc, LT_EDXML_SUBJECT, "Benchmark package");
    lt_edxml_set(doc, LT_EDXML_TYPE_NAME, "Cong van");
    lt_edxml_append_trace(doc, "000.00.12.H26", "2026/09/03 08:15:00");
    lt_edxml_add_attachment(doc, "999-BENCH.pdf", "application/pdf", "bench", pdf, pdf_size);
    uint8_t *data = NULL;
    lt_err_t err;
    if (lt_edxml_write(doc, &data, size, &err) != 0) {
        fprintf(stderr, "lt_bench_edxml: writer: %s\n", err.detail);
        data = NULL;
    }
    lt_edxml_destroy(&doc);
    return data;
}

//  Time one kind of work on the package for the given seconds; print the
//  rate. mode: 0 read, 1 read + verdict, 2 pdfsig alone. Returns -1 when
//  the work fails.
static int s_measure(int mode, const uint8_t *package, size_t size, const char *pdf,
                     size_t pdf_size, X509_STORE *anchors, double seconds)
{
    static const char *names[] = {"read", "verdict", "pdfsig"};
    int64_t start = lt_clock_ms(), now = start;
    long runs = 0;
    lt_sig_t verdict = LT_SIG_UNKNOWN;
    while (now - start < (int64_t) (seconds * 1000) || runs == 0) {
        if (mode == 2) {
            lt_pdfsig_t *sig = lt_pdfsig_new(pdf, pdf_size, anchors);
            if (!sig)
                return -1;
            verdict = lt_pdfsig_verdict(sig);
            lt_pdfsig_destroy(&sig);
        }
        else {
            lt_err_t err;
            lt_edxml_t *doc = lt_edxml_read(package, size, NULL, &err);
            if (!doc) {
                fprintf(stderr, "lt_bench_edxml: reader: %s\n", err.detail);
                return -1;
            }
            if (mode == 1) {
                lt_verdict_t *judged = lt_verdict_new(doc, anchors);
                if (!judged)
                    return -1;
                verdict = lt_verdict_main(judged);
                lt_verdict_destroy(&judged);
            }
            lt_edxml_destroy(&doc);
        }
        runs++;
        now = lt_clock_ms();
    }
    double elapsed = (double) (now - start) / 1000.0;
    double bytes = mode == 2 ? (double) pdf_size : (double) size;
    printf("%-8s %8.1f /s  %8.2f ms each  %8.1f MiB/s  (%ld runs%s%s)\n", names[mode],
           runs / elapsed, 1000.0 * elapsed / runs, runs * bytes / elapsed / 1048576.0, runs,
           mode ? ", verdict " : "", mode ? lt_sig_name(verdict) : "");
    return 0;
}

int main(int argc, char *argv[])
{
    s_options_t opt = {3.0, 1536 * 1024, getenv("LT_FIXTURES"), NULL, NULL};
    for (int i = 1; i < argc; i++) {
        bool more = i + 1 < argc;
        if (strcmp(argv[i], "--seconds") == 0 && more)
            opt.seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--pdf-size") == 0 && more)
            opt.pdf_size = (size_t) strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--fixtures") == 0 && more)
            opt.fixtures = argv[++i];
        else if (strcmp(argv[i], "--package") == 0 && more)
            opt.package = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && more)
            opt.out = argv[++i];
        else {
            fprintf(stderr, "usage: lt_bench_edxml [--seconds N] [--pdf-size BYTES] "
                            "[--fixtures DIR] [--package FILE] [--out FILE]\n");
            return 2;
        }
    }
    if (!opt.fixtures)
        opt.fixtures = "../shared/fixtures";
    if (opt.seconds <= 0 || opt.pdf_size < 1024 || opt.pdf_size > 256u << 20) {
        fprintf(stderr, "lt_bench_edxml: --seconds must be > 0, --pdf-size 1 KiB..256 MiB\n");
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/pki/ca.crt", opt.fixtures);
    lt_err_t err;
    X509_STORE *anchors = lt_pdfsig_trust_load(path, &err);
    if (!anchors) {
        fprintf(stderr, "lt_bench_edxml: %s (use --fixtures)\n", err.detail);
        return 1;
    }
    size_t pdf_size = 0, size = 0;
    char *pdf = s_signed_pdf(opt.fixtures, opt.pdf_size, &pdf_size);
    uint8_t *package = NULL;
    if (opt.package)
        package = lt_file_read(opt.package, 0, &size, NULL);
    else if (pdf)
        package = s_package(pdf, pdf_size, &size);
    if (!pdf || !package) {
        fprintf(stderr, "lt_bench_edxml: cannot build or read the package\n");
        free(pdf);
        free(package);
        X509_STORE_free(anchors);
        return 1;
    }
    if (opt.out) {
        FILE *f = fopen(opt.out, "wb");
        if (!f || fwrite(package, 1, size, f) != size)
            fprintf(stderr, "lt_bench_edxml: cannot write %s\n", opt.out);
        if (f)
            fclose(f);
    }
    printf("package %zu bytes (%.2f MiB)%s%s, PDF %zu bytes, %.1f s per measurement\n", size,
           size / 1048576.0, opt.package ? " from " : ", generated", opt.package ? opt.package : "",
           pdf_size, opt.seconds);
    int rc = 0;
    for (int mode = 0; mode < 3 && rc == 0; mode++)
        rc = s_measure(mode, package, size, pdf, pdf_size, anchors, opt.seconds);
    free(pdf);
    free(package);
    X509_STORE_free(anchors);
    return rc ? 1 : 0;
}
