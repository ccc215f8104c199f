/*  lt_verdict: per-attachment and header signature verdicts of an edXML
    package, and the main file's fact for the envelope. */
#include "lt_file.h"
#include "lt_verdict.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

struct _lt_verdict_t {
    size_t files;              //  attachments judged
    lt_pdfsig_t **pdfs;        //  one per attachment, NULL when not a PDF
    lt_xmldsig_t *xmldsig;     //  header signature, NULL when not checked
    size_t main;               //  main file index or LT_VERDICT_NO_MAIN
    char type_name[257];       //  DocumentType/TypeName, "" when none
};

bool lt_verdict_is_pdf(const lt_edxml_attachment_t *attachment)
{
    assert(attachment);
    //  PDF readers accept the header within the first 1024 bytes.
    size_t window = attachment->size < 1024 ? attachment->size : 1024;
    if (attachment->data && window >= 5 && memmem(attachment->data, window, "%PDF-", 5))
        return true;
    const char *type = attachment->content_type ? attachment->content_type : "";
    const char *name = attachment->name ? attachment->name : "";
    size_t len = strlen(name);
    return strcasecmp(type, "application/pdf") == 0 ||
           (len > 4 && strcasecmp(name + len - 4, ".pdf") == 0);
}

lt_verdict_t *lt_verdict_new(const lt_edxml_t *package, X509_STORE *anchors)
{
    assert(package);
    lt_verdict_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->main = LT_VERDICT_NO_MAIN;
    const char *type_name = lt_edxml_get(package, LT_EDXML_TYPE_NAME);
    snprintf(self->type_name, sizeof(self->type_name), "%s", type_name ? type_name : "");
    self->files = lt_edxml_attachments(package);
    self->pdfs = calloc(self->files ? self->files : 1, sizeof(*self->pdfs));
    if (!self->pdfs) {
        free(self);
        return NULL;
    }
    for (size_t i = 0; i < self->files; i++) {
        const lt_edxml_attachment_t *attachment = lt_edxml_attachment(package, i);
        if (!attachment || !lt_verdict_is_pdf(attachment))
            continue;
        self->pdfs[i] = lt_pdfsig_new(attachment->data, attachment->size, anchors);
        if (!self->pdfs[i]) {
            lt_verdict_destroy(&self);
            return NULL;
        }
        if (self->main == LT_VERDICT_NO_MAIN)
            self->main = i;
    }
    if (self->main == LT_VERDICT_NO_MAIN && self->files > 0)
        self->main = 0;
    //  Parse the package again only when it can hold a signature at all.
    size_t size = 0;
    const void *raw = lt_edxml_raw(package, &size);
    if (raw && (lt_edxml_has_xmldsig(package) || memmem(raw, size, S_DSIG_NS, strlen(S_DSIG_NS)))) {
        self->xmldsig = lt_xmldsig_new(raw, size, anchors);
        if (!self->xmldsig) {
            lt_verdict_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void lt_verdict_destroy(lt_verdict_t **self_p)
{
    assert(self_p);
    lt_verdict_t *self = *self_p;
    if (self) {
        for (size_t i = 0; i < self->files; i++)
            lt_pdfsig_destroy(&self->pdfs[i]);
        free(self->pdfs);
        lt_xmldsig_destroy(&self->xmldsig);
        free(self);
        *self_p = NULL;
    }
}

size_t lt_verdict_files(const lt_verdict_t *self)
{
    assert(self);
    return self->files;
}

lt_sig_t lt_verdict_file(const lt_verdict_t *self, size_t index)
{
    assert(self);
    const lt_pdfsig_t *pdf = lt_verdict_pdfsig(self, index);
    return pdf ? lt_pdfsig_verdict(pdf) : LT_SIG_UNKNOWN;
}

const lt_pdfsig_t *lt_verdict_pdfsig(const lt_verdict_t *self, size_t index)
{
    assert(self);
    return index < self->files ? self->pdfs[index] : NULL;
}

const lt_xmldsig_t *lt_verdict_xmldsig(const lt_verdict_t *self)
{
    assert(self);
    return self->xmldsig;
}

lt_sig_t lt_verdict_header(const lt_verdict_t *self)
{
    assert(self);
    return self->xmldsig ? lt_xmldsig_verdict(self->xmldsig) : LT_SIG_UNSIGNED;
}

size_t lt_verdict_main_index(const lt_verdict_t *self)
{
    assert(self);
    return self->main;
}

lt_sig_t lt_verdict_main(const lt_verdict_t *self)
{
    assert(self);
    return lt_verdict_file(self, self->main);
}

const char *lt_verdict_signer(const lt_verdict_t *self)
{
    assert(self);
    const lt_pdfsig_t *pdf = lt_verdict_pdfsig(self, self->main);
    return pdf ? lt_pdfsig_signer(pdf) : "";
}

void lt_verdict_fill_envelope(const lt_verdict_t *self, lt_envelope_t *env)
{
    assert(self);
    assert(env);
    lt_envelope_set_signature(env, lt_verdict_main(self));
    const char *signer = lt_verdict_signer(self);
    lt_envelope_set_signer(env, signer[0] ? signer : NULL);
    lt_envelope_set_dtype(env, self->type_name[0] ? self->type_name : NULL);
}

//  ---------------------------------------------------------------------
//  Self-test

//  The type of the self-test's signed package.
#define S_TEST_TYPE_NAME "C\xc3\xb4ng v\xc4\x83n"

//  Read a package from a directory and judge it.
static lt_verdict_t *s_judge(const char *dir, const char *name, X509_STORE *anchors)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    lt_err_t err;
    lt_edxml_t *package = lt_edxml_read_file(path, NULL, &err);
    if (!package) {
        fprintf(stderr, "\nlt_verdict: %s: %s\n", path, err.detail);
        assert(false);
    }
    lt_verdict_t *self = lt_verdict_new(package, anchors);
    assert(self);
    lt_edxml_destroy(&package);
    return self;
}


void lt_verdict_test(bool verbose)
{
    if (verbose)
        printf(" * lt_verdict: ");
    lt_edxml_attachment_t probe = {0};
    probe.name = "scan.PDF";
    assert(lt_verdict_is_pdf(&probe));
    probe.name = "note.docx";
    probe.content_type = "application/zip";
    assert(!lt_verdict_is_pdf(&probe));
    probe.data = (uint8_t *) "\n%PDF-1.7\n";
    probe.size = 10;
    assert(lt_verdict_is_pdf(&probe));

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
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/edxml", fixtures);

    lt_verdict_t *self = s_judge(dir, "new-signed.edxml", anchors);
    assert(lt_verdict_files(self) == 1);
    assert(lt_verdict_main_index(self) == 0);
    assert(lt_verdict_main(self) == LT_SIG_VALID);
    assert(lt_verdict_file(self, 0) == LT_SIG_VALID);
    assert(lt_verdict_file(self, 1) == LT_SIG_UNKNOWN);
    assert(lt_verdict_pdfsig(self, 0) && !lt_verdict_pdfsig(self, 1));
    assert(strstr(lt_verdict_signer(self), "CN=Nguyen Van A"));
    assert(lt_verdict_header(self) == LT_SIG_UNSIGNED);
    lt_envelope_t *env = lt_envelope_new();
    assert(env);
    lt_verdict_fill_envelope(self, env);
    assert(lt_envelope_signature(env) == LT_SIG_VALID);
    assert(strstr(lt_envelope_signer(env), "Nguyen Van A"));
    assert(strcmp(lt_envelope_dtype(env), S_TEST_TYPE_NAME) == 0);
    lt_verdict_destroy(&self);
    assert(self == NULL);
    lt_verdict_destroy(&self);

    //  Without anchors the same package is valid_untrusted.
    self = s_judge(dir, "new-signed.edxml", NULL);
    assert(lt_verdict_main(self) == LT_SIG_VALID_UNTRUSTED);
    lt_verdict_destroy(&self);

    self = s_judge(dir, "new-tampered.edxml", anchors);
    assert(lt_verdict_main(self) == LT_SIG_INVALID);
    assert(strstr(lt_pdfsig_reason(lt_verdict_pdfsig(self, 0)), "message digest mismatch"));
    lt_verdict_destroy(&self);

    self = s_judge(dir, "new-unsigned-raw.edxml", anchors);
    assert(lt_verdict_main(self) == LT_SIG_UNSIGNED);
    lt_verdict_fill_envelope(self, env);
    assert(lt_envelope_signature(env) == LT_SIG_UNSIGNED);
    assert(lt_envelope_signer(env)[0] == 0);
    lt_verdict_destroy(&self);

    //  Nothing attached: not checked.
    self = s_judge(dir, "status-03-accepted.edxml", anchors);
    assert(lt_verdict_files(self) == 0 && lt_verdict_main_index(self) == LT_VERDICT_NO_MAIN);
    assert(lt_verdict_main(self) == LT_SIG_UNKNOWN && lt_verdict_signer(self)[0] == 0);
    lt_verdict_destroy(&self);
    self = s_judge(dir, "revocation.edxml", anchors);
    assert(lt_verdict_main(self) == LT_SIG_UNKNOWN);
    lt_verdict_destroy(&self);

    //  A package built in memory: a note first, then the signed PDF, which
    //  is the main file. There are no bytes for a header signature.
    lt_edxml_t *package = lt_edxml_new_document();
    assert(package);
    assert(lt_edxml_add_attachment(package, "note.txt", "text/plain", "note", "hello", 5) == 0);
    snprintf(path, sizeof(path), "%s/pdf/signed.pdf", fixtures);
    size_t size = 0;
    uint8_t *pdf = lt_file_read(path, 0, &size, NULL);
    assert(pdf);
    assert(lt_edxml_add_attachment(package, "signed.pdf", "application/pdf", "the document", pdf,
                                   size) == 0);
    free(pdf);
    self = lt_verdict_new(package, anchors);
    assert(self);
    assert(lt_verdict_files(self) == 2 && lt_verdict_main_index(self) == 1);
    assert(lt_verdict_file(self, 0) == LT_SIG_UNKNOWN);
    assert(lt_verdict_main(self) == LT_SIG_VALID);
    assert(lt_verdict_xmldsig(self) == NULL);
    lt_verdict_destroy(&self);
    lt_edxml_destroy(&package);
    //  Only a non-PDF attachment: it is the main file, not checked.
    package = lt_edxml_new_document();
    assert(package);
    assert(lt_edxml_add_attachment(package, "note.txt", "text/plain", "note", "hello", 5) == 0);
    self = lt_verdict_new(package, anchors);
    assert(lt_verdict_main_index(self) == 0 && lt_verdict_main(self) == LT_SIG_UNKNOWN);
    lt_verdict_destroy(&self);
    lt_edxml_destroy(&package);

    //  Header signatures made by tests/data/make-xmldsig.sh.
    const char *data = getenv("LT_TEST_DATA");
    if (data) {
        snprintf(dir, sizeof(dir), "%s/edxml", data);
        self = s_judge(dir, "xmldsig-signed.edxml", anchors);
        assert(lt_verdict_header(self) == LT_SIG_VALID);
        assert(strcmp(lt_xmldsig_signer(lt_verdict_xmldsig(self)), "Nguyen Van A") == 0);
        assert(lt_verdict_main(self) == LT_SIG_VALID);
        lt_verdict_destroy(&self);
        self = s_judge(dir, "xmldsig-tampered.edxml", anchors);
        assert(lt_verdict_header(self) == LT_SIG_INVALID);
        assert(lt_verdict_main(self) == LT_SIG_VALID);
        lt_verdict_destroy(&self);
    }
    lt_envelope_destroy(&env);
    X509_STORE_free(anchors);
    if (verbose)
        printf("OK\n");
}
