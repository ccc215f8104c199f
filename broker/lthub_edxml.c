/*  lthub_edxml: `lthub edxml inspect|validate`, offline checks of an edXML
    package file with the same reader and signature checks the connectors
    use (lt_edxml, lt_verdict).

    inspect builds one JSON report (jansson) and prints it either as JSON
    (--json) or as aligned text rendered from that same report, so both
    forms always say the same thing. Text output replaces control bytes so a
    hostile package cannot drive the operator's terminal.
*/
#include "lthub_edxml.h"
#include "lt_digest.h"
#include "lt_edxml.h"
#include "lt_verdict.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Print the command's usage to out.
static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: lthub edxml inspect FILE [--trust DIR|FILE] [--json]\n"
            "       lthub edxml validate FILE\n"
            "\n"
            "inspect   print the header, the attachments with their digital-signature\n"
            "          verdicts and signers, the header XML-DSig verdict and the main\n"
            "          file's verdict (valid, valid_untrusted, invalid, unsigned)\n"
            "validate  print \"valid\" and exit 0, or the reason and exit 1\n"
            "\n"
            "--trust   trust anchors: a directory of *.crt/*.pem files or one such file;\n"
            "          without it signatures are checked but never more than\n"
            "          valid_untrusted\n"
            "--json    print the report as JSON\n");
}

//  ---------------------------------------------------------------------
//  The report

//  Return a JSON string of text ("" for NULL); bytes that are not UTF-8
//  become '?' so that the report is always produced.
static json_t *s_str(const char *text)
{
    json_t *value = json_string(text ? text : "");
    if (value)
        return value;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    for (size_t i = 0; i <= len; i++)
        copy[i] = (unsigned char) text[i] < 128 ? text[i] : '?';
    value = json_string(copy);
    free(copy);
    return value;
}

//  Return the JSON form of an organisation block.
static json_t *s_organ(const lt_edxml_organ_t *organ)
{
    json_t *obj = json_object();
    if (obj && organ) {
        json_object_set_new(obj, "organ_id", s_str(organ->organ_id));
        json_object_set_new(obj, "organ_name", s_str(organ->organ_name));
    }
    return obj;
}

//  Return the JSON form of one PDF signature.
static json_t *s_signature(const lt_pdfsig_info_t *info)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    json_object_set_new(obj, "verdict", s_str(lt_sig_name(info->verdict)));
    json_object_set_new(obj, "reason", s_str(info->reason));
    json_object_set_new(obj, "signer", s_str(info->signer));
    json_object_set_new(obj, "subject", s_str(info->subject));
    json_object_set_new(obj, "issuer", s_str(info->issuer));
    json_object_set_new(obj, "signing_time", s_str(info->signing_time));
    json_object_set_new(obj, "time_source",
                        s_str(info->signing_time[0] ? info->time_signed ? "signed" : "pdf" : ""));
    json_object_set_new(obj, "subfilter", s_str(info->subfilter));
    json_object_set_new(obj, "timestamp", json_boolean(info->timestamp));
    json_t *range = json_array();
    for (int i = 0; range && i < 4; i++)
        json_array_append_new(range, json_integer((json_int_t) info->byte_range[i]));
    json_object_set_new(obj, "byte_range", range);
    json_object_set_new(obj, "covers_file", json_boolean(info->covers_file));
    return obj;
}

//  Return the JSON form of attachment index with its verdict.
static json_t *s_attachment(const lt_edxml_t *package, const lt_verdict_t *verdict, size_t index)
{
    const lt_edxml_attachment_t *att = lt_edxml_attachment(package, index);
    json_t *obj = json_object();
    if (!obj || !att)
        return obj;
    char sha[LT_SHA256_HEX];
    lt_digest_sha256_hex(att->data ? (const void *) att->data : "", att->size, sha);
    json_object_set_new(obj, "index", json_integer((json_int_t) index + 1));
    json_object_set_new(obj, "content_id", s_str(att->content_id));
    json_object_set_new(obj, "name", s_str(att->name));
    json_object_set_new(obj, "description", s_str(att->description));
    json_object_set_new(obj, "content_type", s_str(att->content_type));
    json_object_set_new(obj, "size", json_integer((json_int_t) att->size));
    json_object_set_new(obj, "zipped", json_boolean(att->zipped));
    json_object_set_new(obj, "sha256", s_str(sha));
    const lt_pdfsig_t *pdf = lt_verdict_pdfsig(verdict, index);
    json_object_set_new(obj, "pdf", json_boolean(pdf != NULL));
    json_object_set_new(obj, "verdict", s_str(lt_sig_name(lt_verdict_file(verdict, index))));
    json_object_set_new(obj, "reason", s_str(pdf ? lt_pdfsig_reason(pdf) : "not a PDF"));
    json_t *sigs = json_array();
    for (size_t i = 0; pdf && sigs && i < lt_pdfsig_count(pdf); i++)
        json_array_append_new(sigs, s_signature(lt_pdfsig_info(pdf, i)));
    json_object_set_new(obj, "signatures", sigs);
    return obj;
}

//  Return the JSON form of the header XML-DSig verdict.
static json_t *s_xmldsig(const lt_verdict_t *verdict)
{
    const lt_xmldsig_t *dsig = lt_verdict_xmldsig(verdict);
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    json_object_set_new(obj, "verdict", s_str(dsig ? lt_xmldsig_verdict_name(dsig) : "absent"));
    json_object_set_new(obj, "reason", s_str(dsig ? lt_xmldsig_reason(dsig) : ""));
    json_object_set_new(obj, "signer", s_str(dsig ? lt_xmldsig_signer(dsig) : ""));
    json_object_set_new(obj, "subject", s_str(dsig ? lt_xmldsig_subject(dsig) : ""));
    json_object_set_new(obj, "issuer", s_str(dsig ? lt_xmldsig_issuer(dsig) : ""));
    return obj;
}

//  Add the header fields of a document package to report.
static void s_document_fields(json_t *report, const lt_edxml_t *package)
{
    json_t *to = json_array();
    for (size_t i = 0; to && i < lt_edxml_to_count(package); i++)
        json_array_append_new(to, s_organ(lt_edxml_to(package, i)));
    json_object_set_new(report, "to", to);
    json_object_set_new(report, "code_number", s_str(lt_edxml_get(package, LT_EDXML_CODE_NUMBER)));
    json_object_set_new(report, "code_notation",
                        s_str(lt_edxml_get(package, LT_EDXML_CODE_NOTATION)));
    json_object_set_new(report, "promulgation_date",
                        s_str(lt_edxml_get(package, LT_EDXML_PROMULGATION_DATE)));
    json_object_set_new(report, "place", s_str(lt_edxml_get(package, LT_EDXML_PLACE)));
    json_object_set_new(report, "subject", s_str(lt_edxml_subject(package)));
    json_object_set_new(report, "type", s_str(lt_edxml_get(package, LT_EDXML_TYPE)));
    json_object_set_new(report, "type_detail", s_str(lt_edxml_get(package, LT_EDXML_TYPE_DETAIL)));
    json_object_set_new(report, "type_name", s_str(lt_edxml_get(package, LT_EDXML_TYPE_NAME)));
    json_object_set_new(report, "signer_info_name",
                        s_str(lt_edxml_get(package, LT_EDXML_FULL_NAME)));
    json_object_set_new(report, "signer_info_position",
                        s_str(lt_edxml_get(package, LT_EDXML_POSITION)));
    json_object_set_new(report, "business_type", s_str(lt_edxml_btype(package)));
    json_object_set_new(report, "business_doc_type", json_integer(lt_edxml_doc_type(package)));
    json_object_set_new(report, "business_reason",
                        s_str(lt_edxml_get(package, LT_EDXML_BUSINESS_REASON)));
}

//  Add the fields of a status package to report.
static void s_status_fields(json_t *report, const lt_edxml_t *package)
{
    const char *code = lt_edxml_status_code(package);
    const char *meaning = lt_edxml_status_name(code);
    json_object_set_new(report, "status_code", s_str(code));
    json_object_set_new(report, "status_name", s_str(meaning ? meaning : "unknown"));
    json_object_set_new(report, "description", s_str(lt_edxml_get(package, LT_EDXML_DESCRIPTION)));
    json_object_set_new(report, "timestamp", s_str(lt_edxml_get(package, LT_EDXML_TIMESTAMP)));
}

//  Build the whole inspect report of a package read from path.
static json_t *s_report(const char *path, const lt_edxml_t *package, const lt_verdict_t *verdict)
{
    json_t *report = json_object();
    if (!report)
        return NULL;
    size_t size = 0;
    const void *raw = lt_edxml_raw(package, &size);
    char sha[LT_SHA256_HEX];
    lt_digest_sha256_hex(raw ? raw : "", raw ? size : 0, sha);
    json_object_set_new(report, "file", s_str(path));
    json_object_set_new(report, "size", json_integer((json_int_t) size));
    json_object_set_new(report, "sha256", s_str(sha));
    bool status = lt_edxml_is_status(package);
    json_object_set_new(report, "kind", s_str(status ? "status" : "document"));
    json_object_set_new(report, "document_id", s_str(lt_edxml_document_id(package)));
    json_object_set_new(report, "from", s_organ(lt_edxml_from(package)));
    if (status)
        s_status_fields(report, package);
    else
        s_document_fields(report, package);
    json_t *links = json_array();
    for (size_t i = 0; links && i < lt_edxml_responses(package); i++) {
        const lt_edxml_response_t *link = lt_edxml_response(package, i);
        json_t *obj = json_object();
        json_object_set_new(obj, "organ_id", s_str(link->organ_id));
        json_object_set_new(obj, "code", s_str(link->code));
        json_object_set_new(obj, "promulgation_date", s_str(link->promulgation_date));
        json_object_set_new(obj, "document_id", s_str(link->document_id));
        json_array_append_new(links, obj);
    }
    json_object_set_new(report, "response_for", links);
    json_t *traces = json_array();
    for (size_t i = 0; traces && i < lt_edxml_traces(package); i++) {
        const lt_edxml_trace_t *trace = lt_edxml_trace(package, i);
        json_t *obj = json_object();
        json_object_set_new(obj, "organ_id", s_str(trace->organ_id));
        json_object_set_new(obj, "timestamp", s_str(trace->timestamp));
        json_array_append_new(traces, obj);
    }
    json_object_set_new(report, "traces", traces);
    json_object_set_new(report, "xmldsig", s_xmldsig(verdict));
    json_t *files = json_array();
    for (size_t i = 0; files && i < lt_verdict_files(verdict); i++)
        json_array_append_new(files, s_attachment(package, verdict, i));
    json_object_set_new(report, "attachments", files);
    size_t main_index = lt_verdict_main_index(verdict);
    json_t *main_file = json_null();
    if (main_index != LT_VERDICT_NO_MAIN && (main_file = json_object()) != NULL) {
        const lt_edxml_attachment_t *att = lt_edxml_attachment(package, main_index);
        json_object_set_new(main_file, "index", json_integer((json_int_t) main_index + 1));
        json_object_set_new(main_file, "name", s_str(att ? att->name : ""));
        json_object_set_new(main_file, "verdict", s_str(lt_sig_name(lt_verdict_main(verdict))));
        json_object_set_new(main_file, "signer", s_str(lt_verdict_signer(verdict)));
        const lt_pdfsig_t *pdf = lt_verdict_pdfsig(verdict, main_index);
        const lt_pdfsig_info_t *first = pdf ? lt_pdfsig_info(pdf, 0) : NULL;
        json_object_set_new(main_file, "signer_name", s_str(first ? first->signer : ""));
    }
    json_object_set_new(report, "main_file", main_file);
    return report;
}

//  ---------------------------------------------------------------------
//  Text rendering of the report

//  Return the string member key of obj, "" when absent.
static const char *s_get(const json_t *obj, const char *key)
{
    const json_t *value = json_object_get(obj, key);
    return json_is_string(value) ? json_string_value(value) : "";
}

//  Print text with control bytes replaced by '?'.
static void s_put(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        putchar(*p < 32 || *p == 127 ? '?' : *p);
}

//  Print one "label  value" line (value may be "" for a bare label).
static void s_line(const char *label, const char *value)
{
    printf("%-13s", label);
    s_put(value);
    putchar('\n');
}

//  Print an organisation line.
static void s_organ_line(const char *label, const json_t *organ)
{
    printf("%-13s", label);
    s_put(s_get(organ, "organ_id"));
    printf("  ");
    s_put(s_get(organ, "organ_name"));
    putchar('\n');
}

//  Print one attachment with its signatures.
static void s_text_attachment(const json_t *att)
{
    printf("Attachment %-2lld", (long long) json_integer_value(json_object_get(att, "index")));
    s_put(s_get(att, "name"));
    printf("\n             ");
    s_put(s_get(att, "content_type"));
    printf(", %lld bytes%s\n             sha256 %s\n",
           (long long) json_integer_value(json_object_get(att, "size")),
           json_is_true(json_object_get(att, "zipped")) ? ", zipped" : "", s_get(att, "sha256"));
    if (!json_is_true(json_object_get(att, "pdf"))) {
        printf("             signatures: not checked (not a PDF)\n");
        return;
    }
    printf("             signatures: %s", s_get(att, "verdict"));
    if (*s_get(att, "reason")) {
        printf(" (");
        s_put(s_get(att, "reason"));
        putchar(')');
    }
    putchar('\n');
    size_t i;
    json_t *sig;
    json_array_foreach(json_object_get(att, "signatures"), i, sig)
    {
        printf("             [%zu] %s%s: ", i + 1, s_get(sig, "verdict"),
               json_is_true(json_object_get(sig, "timestamp")) ? " (document timestamp)" : "");
        s_put(*s_get(sig, "signer") ? s_get(sig, "signer") : "(signer unknown)");
        if (*s_get(sig, "subject")) {
            printf(" <");
            s_put(s_get(sig, "subject"));
            putchar('>');
        }
        printf("\n                 ");
        if (*s_get(sig, "issuer")) {
            printf("issuer ");
            s_put(s_get(sig, "issuer"));
            printf("; ");
        }
        if (*s_get(sig, "signing_time")) {
            printf("signed %s (%s); ", s_get(sig, "signing_time"),
                   strcmp(s_get(sig, "time_source"), "signed") == 0 ? "signed attribute"
                                                                     : "PDF /M, unsigned");
        }
        s_put(*s_get(sig, "subfilter") ? s_get(sig, "subfilter") : "no /SubFilter");
        printf("; %s\n", json_is_true(json_object_get(sig, "covers_file"))
                             ? "covers the whole file"
                             : "file changed or appended to after this signature");
        if (*s_get(sig, "reason")) {
            printf("                 reason: ");
            s_put(s_get(sig, "reason"));
            putchar('\n');
        }
    }
}

//  Print the report as text.
static void s_text(const json_t *report)
{
    char buf[512];
    s_line("File", s_get(report, "file"));
    snprintf(buf, sizeof(buf), "%lld bytes, sha256 %s",
             (long long) json_integer_value(json_object_get(report, "size")),
             s_get(report, "sha256"));
    s_line("Size", buf);
    s_line("Kind", s_get(report, "kind"));
    bool status = strcmp(s_get(report, "kind"), "status") == 0;
    if (!status)
        s_line("DocumentId", s_get(report, "document_id"));
    s_organ_line("From", json_object_get(report, "from"));
    size_t i;
    json_t *item;
    if (status) {
        snprintf(buf, sizeof(buf), "%s (%s)", s_get(report, "status_code"),
                 s_get(report, "status_name"));
        s_line("StatusCode", buf);
        s_line("Description", s_get(report, "description"));
        s_line("Timestamp", s_get(report, "timestamp"));
    }
    else {
        json_array_foreach(json_object_get(report, "to"), i, item) s_organ_line("To", item);
        snprintf(buf, sizeof(buf), "%s/%s, %s %s", s_get(report, "code_number"),
                 s_get(report, "code_notation"), s_get(report, "promulgation_date"),
                 s_get(report, "place"));
        s_line("Code", buf);
        snprintf(buf, sizeof(buf), "%s (Type %s, TypeDetail %s)", s_get(report, "type_name"),
                 s_get(report, "type"), s_get(report, "type_detail"));
        s_line("Type", buf);
        s_line("Subject", s_get(report, "subject"));
        snprintf(buf, sizeof(buf), "%s, %s", s_get(report, "signer_info_position"),
                 s_get(report, "signer_info_name"));
        s_line("SignerInfo", buf);
        snprintf(buf, sizeof(buf), "%s (BussinessDocType %lld)%s%s",
                 s_get(report, "business_type"),
                 (long long) json_integer_value(json_object_get(report, "business_doc_type")),
                 *s_get(report, "business_reason") ? ": " : "", s_get(report, "business_reason"));
        s_line("Business", buf);
    }
    json_array_foreach(json_object_get(report, "response_for"), i, item)
    {
        snprintf(buf, sizeof(buf), "%s (%s, %s)", s_get(item, "document_id"),
                 s_get(item, "organ_id"), s_get(item, "code"));
        s_line("ResponseFor", buf);
    }
    json_array_foreach(json_object_get(report, "traces"), i, item)
    {
        snprintf(buf, sizeof(buf), "%s at %s", s_get(item, "organ_id"), s_get(item, "timestamp"));
        s_line("Trace", buf);
    }
    const json_t *dsig = json_object_get(report, "xmldsig");
    snprintf(buf, sizeof(buf), "%s%s%s%s%s", s_get(dsig, "verdict"),
             *s_get(dsig, "signer") ? ", signer " : "", s_get(dsig, "signer"),
             *s_get(dsig, "reason") ? ": " : "", s_get(dsig, "reason"));
    s_line("XML-DSig", buf);
    const json_t *files = json_object_get(report, "attachments");
    snprintf(buf, sizeof(buf), "%zu", json_array_size(files));
    s_line("Attachments", buf);
    json_array_foreach(files, i, item) s_text_attachment(item);
    const json_t *main_file = json_object_get(report, "main_file");
    if (json_is_object(main_file)) {
        snprintf(buf, sizeof(buf), "%lld %s: %s%s%s",
                 (long long) json_integer_value(json_object_get(main_file, "index")),
                 s_get(main_file, "name"), s_get(main_file, "verdict"),
                 *s_get(main_file, "signer_name") ? ", signer " : "",
                 s_get(main_file, "signer_name"));
        s_line("Main file", buf);
    }
    else
        s_line("Main file", "none (no attachment): unknown");
}

//  ---------------------------------------------------------------------
//  Subcommands

//  lthub edxml inspect FILE [--trust DIR|FILE] [--json]
static int s_inspect(int argc, char **argv)
{
    const char *file = NULL, *trust = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--trust") == 0 && i + 1 < argc)
            trust = argv[++i];
        else if (strncmp(argv[i], "--trust=", 8) == 0)
            trust = argv[i] + 8;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "lthub edxml inspect: unknown or incomplete option '%s'\n", argv[i]);
            return 2;
        }
        else if (!file)
            file = argv[i];
        else {
            fprintf(stderr, "lthub edxml inspect: one FILE only\n");
            return 2;
        }
    }
    if (!file) {
        s_usage(stderr);
        return 2;
    }
    lt_err_t err;
    lt_err_clear(&err);
    X509_STORE *anchors = NULL;
    if (trust && !(anchors = lt_pdfsig_trust_load(trust, &err))) {
        fprintf(stderr, "lthub edxml inspect: %s\n", err.detail);
        return 2;
    }
    lt_edxml_t *package = lt_edxml_read_file(file, NULL, &err);
    if (!package) {
        fprintf(stderr, "lthub edxml inspect: %s: %s\n", file, err.detail);
        X509_STORE_free(anchors);
        return 1;
    }
    int rc = 1;
    lt_verdict_t *verdict = lt_verdict_new(package, anchors);
    json_t *report = verdict ? s_report(file, package, verdict) : NULL;
    if (!report)
        fprintf(stderr, "lthub edxml inspect: out of memory\n");
    else if (json) {
        char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) {
            printf("%s\n", text);
            free(text);
            rc = 0;
        }
    }
    else {
        s_text(report);
        rc = 0;
    }
    json_decref(report);
    lt_verdict_destroy(&verdict);
    lt_edxml_destroy(&package);
    X509_STORE_free(anchors);
    return rc;
}

//  lthub edxml validate FILE
static int s_validate(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        s_usage(stderr);
        return 2;
    }
    lt_err_t err;
    lt_err_clear(&err);
    lt_edxml_t *package = lt_edxml_read_file(argv[1], NULL, &err);
    if (package && lt_edxml_validate(package, &err) == 0) {
        printf("valid\n");
        lt_edxml_destroy(&package);
        return 0;
    }
    printf("invalid: %s\n", err.detail);
    lt_edxml_destroy(&package);
    return 1;
}

int lthub_edxml_main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "inspect") == 0)
        return s_inspect(argc - 1, argv + 1);
    if (strcmp(argv[1], "validate") == 0)
        return s_validate(argc - 1, argv + 1);
    fprintf(stderr, "lthub edxml: unknown subcommand '%s'\n", argv[1]);
    s_usage(stderr);
    return 2;
}
