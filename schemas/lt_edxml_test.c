/*  lt_edxml_test: the self-test of the edXML package class.

    Reads every sample package of the shared fixtures (LT_FIXTURES) and
    asserts its fields, rejects every malformed one with a message naming
    the problem, checks read(write(x)) == x on the fixtures and on built
    packages, and the reader's limits and tolerances. When LT_BUILD_DIR is
    set, the packages the writer emits are left in LT_BUILD_DIR/edxml-out
    for the XSD check (tests/edxml_xsd.sh).
*/
#include "lt_file.h"
#include "lt_edxml_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_D1 "000.00.12.H26,2026/09/03,215/STTTT-VP"

static bool s_verbose;


//  Read a fixture file, relative to LT_FIXTURES; asserts it exists.
static uint8_t *s_fixture(const char *name, size_t *size_p)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", getenv("LT_FIXTURES"), name);
    uint8_t *data = lt_file_read(path, 0, size_p, NULL);
    if (!data)
        fprintf(stderr, "lt_edxml_test: cannot read %s\n", path);
    assert(data);
    return data;
}

//  Return text with every occurrence of from replaced by to (new string).
static char *s_replace(const char *text, const char *from, const char *to)
{
    size_t count = 0, from_len = strlen(from), to_len = strlen(to);
    for (const char *p = strstr(text, from); p; p = strstr(p + from_len, from))
        count++;
    char *out = malloc(strlen(text) + count * to_len + 1);
    assert(out);
    char *o = out;
    const char *p = text;
    for (const char *hit = strstr(p, from); hit; hit = strstr(p, from)) {
        memcpy(o, p, (size_t) (hit - p));
        o += hit - p;
        memcpy(o, to, to_len);
        o += to_len;
        p = hit + from_len;
    }
    size_t rest = strlen(p);
    memcpy(o, p, rest + 1);
    return out;
}

//  Return text with [start, end) replaced by insert (new string).
static char *s_splice(const char *text, const char *start, const char *end, const char *insert)
{
    size_t head = (size_t) (start - text), ins = strlen(insert), tail = strlen(end);
    char *out = malloc(head + ins + tail + 1);
    assert(out);
    memcpy(out, text, head);
    memcpy(out + head, insert, ins);
    memcpy(out + head + ins, end, tail + 1);
    return out;
}

//  Leave a written package in LT_BUILD_DIR/edxml-out for the XSD check.
static void s_keep(const char *name, const uint8_t *data, size_t size)
{
    const char *dir = getenv("LT_BUILD_DIR");
    if (!dir)
        return;
    char path[1024];
    snprintf(path, sizeof(path), "%s/edxml-out", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/edxml-out/%s.edxml", dir, name);
    FILE *file = fopen(path, "wb");
    assert(file);
    assert(fwrite(data, 1, size, file) == size);
    fclose(file);
}

//  Write a package, read it back, assert the copy equals it; return the copy.
static lt_edxml_t *s_round_trip(const lt_edxml_t *pkg, const char *keep_as)
{
    uint8_t *data = NULL;
    size_t size = 0;
    lt_err_t err;
    int rc = lt_edxml_write(pkg, &data, &size, &err);
    if (rc)
        fprintf(stderr, "write: %s\n", err.detail);
    assert(rc == 0 && data && size > 0);
    assert(strstr((char *) data, "<edXML xmlns=\"" LT_EDXML_NS "\">"));
    assert(strstr((char *) data, "<edXML:edXMLEnvelope xmlns:edXML=\"" LT_EDXML_NS "\">"));
    lt_edxml_t *copy = lt_edxml_read(data, size, NULL, &err);
    if (!copy)
        fprintf(stderr, "re-read: %s\n", err.detail);
    assert(copy);
    assert(lt_edxml_eq(pkg, copy));
    if (keep_as)
        s_keep(keep_as, data, size);
    //  Writing is stable: the copy writes the same header.
    uint8_t *again = NULL;
    size_t again_size = 0;
    assert(lt_edxml_write(copy, &again, &again_size, &err) == 0);
    lt_edxml_t *third = lt_edxml_read(again, again_size, NULL, &err);
    assert(third && lt_edxml_eq(copy, third));
    lt_edxml_destroy(&third);
    free(again);
    free(data);
    return copy;
}

//  Read a fixture package; asserts it parses.
static lt_edxml_t *s_read_fixture(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "edxml/%s", name);
    size_t size = 0;
    uint8_t *data = s_fixture(rel, &size);
    lt_err_t err;
    lt_edxml_t *pkg = lt_edxml_read(data, size, NULL, &err);
    if (!pkg)
        fprintf(stderr, "%s: %s\n", name, err.detail);
    assert(pkg);
    size_t raw_size = 0;
    const void *raw = lt_edxml_raw(pkg, &raw_size);
    assert(raw_size == size && memcmp(raw, data, size) == 0);
    free(data);
    return pkg;
}

//  Assert an attachment's bytes equal a fixture file.
static void s_assert_file(const lt_edxml_attachment_t *a, const char *fixture)
{
    size_t size = 0;
    uint8_t *want = s_fixture(fixture, &size);
    assert(a->size == size && memcmp(a->data, want, size) == 0);
    free(want);
}

//  The good fixture packages: fields, attachments, envelope, round trip.
static void s_test_fixtures(void)
{
    lt_edxml_t *pkg = s_read_fixture("new-signed.edxml");
    assert(!lt_edxml_is_status(pkg));
    assert(strcmp(lt_edxml_document_id(pkg), S_D1) == 0);
    assert(strcmp(lt_edxml_from(pkg)->organ_id, "000.00.12.H26") == 0);
    assert(strcmp(lt_edxml_from(pkg)->organ_name, "Sở Thông tin và Truyền thông tỉnh Mẫu") == 0);
    assert(strcmp(lt_edxml_from(pkg)->fax, "") == 0);
    assert(lt_edxml_to_count(pkg) == 2);
    assert(strcmp(lt_edxml_to(pkg, 0)->organ_id, "000.00.00.G22") == 0);
    assert(strcmp(lt_edxml_to(pkg, 1)->organ_id, "000.00.13.H26") == 0);
    assert(lt_edxml_to(pkg, 2) == NULL);
    assert(strcmp(lt_edxml_subject(pkg),
                  "V/v báo cáo tỷ lệ văn bản điện tử có ký số quý III năm 2026") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_CODE_NUMBER), "215") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_CODE_NOTATION), "STTTT-VP") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_TYPE), "1") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_TYPE_DETAIL), "0") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_TYPE_NAME), "Công văn") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_FULL_NAME), "Nguyễn Văn A") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_COMPETENCE), "KT. GIÁM ĐỐC") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_DUE_DATE), "2026/09/30") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_PAGE_AMOUNT), "1") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_PLACE), "Thành phố Mẫu") == 0);
    assert(lt_edxml_places(pkg) == 2 && strcmp(lt_edxml_place(pkg, 1), "Lưu: VT, VP") == 0);
    assert(lt_edxml_traces(pkg) == 1);
    assert(strcmp(lt_edxml_trace(pkg, 0)->timestamp, "2026/09/03 08:15:00") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_BUSINESS_DOCUMENT_ID), S_D1) == 0);
    assert(lt_edxml_doc_type(pkg) == 0 && strcmp(lt_edxml_btype(pkg), "new") == 0);
    assert(strcmp(lt_edxml_staff(pkg)->staff, "Trần Thị B") == 0);
    assert(!lt_edxml_has_xmldsig(pkg) && !lt_edxml_has_document_info(pkg));
    assert(lt_edxml_responses(pkg) == 0);
    assert(lt_edxml_attachments(pkg) == 1);
    const lt_edxml_attachment_t *a = lt_edxml_attachment(pkg, 0);
    assert(strcmp(a->content_id, "0001") == 0 && strcmp(a->name, "215-STTTT-VP.pdf") == 0);
    assert(a->zipped && strcmp(a->content_type, "application/pdf") == 0);
    assert(memcmp(a->data, "%PDF-", 5) == 0);
    s_assert_file(a, "pdf/signed.pdf");
    lt_envelope_t *env = lt_envelope_new();
    assert(env);
    assert(lt_edxml_fill_envelope(pkg, env) == 0);
    assert(lt_envelope_kind(env) == LT_KIND_DOCUMENT);
    assert(strcmp(lt_envelope_key(env), S_D1) == 0);
    assert(strcmp(lt_envelope_btype(env), "new") == 0);
    assert(strcmp(lt_envelope_sender(env), "000.00.12.H26") == 0);
    assert(lt_envelope_recipients(env) == 2);
    assert(strcmp(lt_envelope_recipient(env, 1), "000.00.13.H26") == 0);
    assert(lt_envelope_electronic(env));
    lt_edxml_t *copy = s_round_trip(pkg, "new-signed");
    lt_edxml_destroy(&copy);
    lt_edxml_destroy(&pkg);

    pkg = s_read_fixture("new-unsigned-raw.edxml");
    assert(strcmp(lt_edxml_document_id(pkg), "000.03.31.H26,2026/09/04,88/QĐ-UBND") == 0);
    assert(strcmp(lt_edxml_from(pkg)->organ_id, "000.03.31.H26") == 0);
    assert(lt_edxml_to_count(pkg) == 1);
    assert(strcmp(lt_edxml_to(pkg, 0)->organ_id, "000.00.12.H26") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_TYPE_NAME), "Quyết định") == 0);
    assert(lt_edxml_attachments(pkg) == 1);
    a = lt_edxml_attachment(pkg, 0);
    assert(!a->zipped && strcmp(a->content_type, "application/pdf") == 0);
    assert(strcmp(a->name, "88-QD-UBND.pdf") == 0);
    s_assert_file(a, "pdf/unsigned.pdf");
    copy = s_round_trip(pkg, "new-unsigned-raw");
    assert(!lt_edxml_attachment(copy, 0)->zipped);
    lt_edxml_destroy(&copy);
    lt_edxml_destroy(&pkg);

    pkg = s_read_fixture("new-tampered.edxml");
    assert(strcmp(lt_edxml_document_id(pkg), "000.00.13.H26,2026/09/05,301/SNV-CCHC") == 0);
    assert(strcmp(lt_edxml_to(pkg, 0)->organ_id, "000.00.00.G22") == 0);
    s_assert_file(lt_edxml_attachment(pkg, 0), "pdf/tampered.pdf");
    copy = s_round_trip(pkg, "new-tampered");
    lt_edxml_destroy(&copy);
    lt_edxml_destroy(&pkg);

    pkg = s_read_fixture("reply-from-ministry.edxml");
    assert(strcmp(lt_edxml_from(pkg)->organ_id, "000.00.00.G22") == 0);
    assert(strcmp(lt_edxml_subject(pkg), "V/v phúc đáp báo cáo của Sở Thông tin và Truyền thông") == 0);
    assert(lt_edxml_responses(pkg) == 1);
    assert(strcmp(lt_edxml_response(pkg, 0)->document_id, S_D1) == 0);
    assert(strcmp(lt_edxml_response(pkg, 0)->code, "215/STTTT-VP") == 0);
    assert(strcmp(lt_edxml_response(pkg, 0)->organ_id, "000.00.12.H26") == 0);
    s_assert_file(lt_edxml_attachment(pkg, 0), "pdf/signed.pdf");
    assert(strcmp(lt_edxml_attachment(pkg, 0)->name, "5120-VPCP-KSTT.pdf") == 0);
    copy = s_round_trip(pkg, "reply-from-ministry");
    lt_edxml_destroy(&copy);
    lt_edxml_destroy(&pkg);

    pkg = s_read_fixture("revocation.edxml");
    assert(strcmp(lt_edxml_document_id(pkg), S_D1) == 0);
    assert(lt_edxml_doc_type(pkg) == 1 && strcmp(lt_edxml_btype(pkg), "revocation") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_BUSINESS_REASON), "Thu hồi do sai sót số liệu") == 0);
    assert(lt_edxml_attachments(pkg) == 0);
    assert(lt_edxml_fill_envelope(pkg, env) == 0);
    assert(strcmp(lt_envelope_btype(env), "revocation") == 0);
    copy = s_round_trip(pkg, "revocation");
    lt_edxml_destroy(&copy);
    lt_edxml_destroy(&pkg);

    pkg = s_read_fixture("status-03-accepted.edxml");
    assert(lt_edxml_is_status(pkg));
    assert(strcmp(lt_edxml_status_code(pkg), "03") == 0);
    assert(strcmp(lt_edxml_status_name(lt_edxml_status_code(pkg)), "accepted") == 0);
    assert(strcmp(lt_edxml_response(pkg, 0)->document_id, S_D1) == 0);
    assert(strcmp(lt_edxml_from(pkg)->organ_id, "000.00.00.G22") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_TIMESTAMP), "2026/09/03 09:02:11") == 0);
    assert(strcmp(lt_edxml_staff(pkg)->staff, "Lê Văn C") == 0);
    assert(strcmp(lt_edxml_document_id(pkg), "") == 0);
    assert(lt_edxml_fill_envelope(pkg, env) == 0);
    assert(lt_envelope_kind(env) == LT_KIND_STATUS);
    assert(strcmp(lt_envelope_key(env), S_D1) == 0);
    assert(strcmp(lt_envelope_btype(env), "03") == 0);
    assert(strcmp(lt_envelope_sender(env), "000.00.00.G22") == 0);
    assert(lt_envelope_recipients(env) == 1);
    assert(strcmp(lt_envelope_recipient(env, 0), "000.00.12.H26") == 0);
    copy = s_round_trip(pkg, "status-03-accepted");
    lt_edxml_destroy(&copy);
    lt_edxml_destroy(&pkg);

    pkg = s_read_fixture("status-02-rejected.edxml");
    assert(strcmp(lt_edxml_status_code(pkg), "02") == 0);
    assert(strcmp(lt_edxml_get(pkg, LT_EDXML_DESCRIPTION), "Văn bản gửi nhầm đơn vị") == 0);
    assert(strcmp(lt_edxml_from(pkg)->organ_id, "000.00.13.H26") == 0);
    //  The hub appends its trace to a relayed status too.
    assert(lt_edxml_append_trace(pkg, "000.00.00.H26", NULL) == 0);
    copy = s_round_trip(pkg, "status-02-traced");
    assert(lt_edxml_traces(copy) == 1);
    lt_edxml_destroy(&copy);
    lt_edxml_destroy(&pkg);
    lt_envelope_destroy(&env);
}

//  Every malformed fixture is rejected with a message naming its problem.
static void s_test_bad_fixtures(void)
{
    static const struct {
        const char *file;     //  under edxml/bad/
        lt_error_t code;      //  expected error code
        const char *detail;   //  expected substring of the detail
    } cases[] = {
        {"bad-base64.edxml", LT_EINVAL, "Attachment 'cid:0001' (215-STTTT-VP.pdf) "
                                        "ContentTransferEncoded is not valid base64"},
        {"entity-expansion.edxml", LT_EINVAL, "DOCTYPE is not allowed"},
        {"external-entity.edxml", LT_EINVAL, "DOCTYPE is not allowed"},
        {"missing-documentid.edxml", LT_EINVAL, "MessageHeader/DocumentId is missing"},
        {"not-utf8.edxml", LT_EINVAL, "declared encoding 'ISO-8859-1' is not allowed"},
        {"truncated.edxml", LT_EINVAL, "XML is not well-formed (line"},
        {"unknown-status-code.edxml", LT_EINVAL,
         "unknown StatusCode '99' (expected 01-06, 13, 15, 16)"},
        {"wrong-namespace.edxml", LT_EINVAL,
         "root element 'edXML' is in namespace 'http://example.org/not-edxml'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "edxml/bad/%s", cases[i].file);
        size_t size = 0;
        uint8_t *data = s_fixture(rel, &size);
        lt_err_t err;
        lt_edxml_t *pkg = lt_edxml_read(data, size, NULL, &err);
        if (pkg || err.code != cases[i].code || !strstr(err.detail, cases[i].detail))
            fprintf(stderr, "%s: got %d '%s'\n", cases[i].file, err.code, err.detail);
        assert(!pkg);
        assert(err.code == cases[i].code);
        assert(strstr(err.detail, cases[i].detail));
        if (s_verbose)
            printf("\n   %s: %s", cases[i].file, err.detail);
        free(data);
    }
}

//  Read text as a package; assert it is rejected with code and detail.
static void s_assert_rejects(const void *data, size_t size, const lt_edxml_limits_t *limits,
                             lt_error_t code, const char *detail)
{
    lt_err_t err;
    lt_edxml_t *pkg = lt_edxml_read(data, size, limits, &err);
    if (pkg || err.code != code || !strstr(err.detail, detail))
        fprintf(stderr, "expected %d '%s', got %d '%s'\n", code, detail, err.code, err.detail);
    assert(!pkg && err.code == code && strstr(err.detail, detail));
}

//  A second sender, key, recipient code, business block or status code is
//  refused, naming the element; the package as written is read.
static void s_test_once(void)
{
    char owner[64];
    assert(lt_edxml_key_owner("000.00.12.H26,2026/09/03,215/STTTT-VP", owner));
    assert(strcmp(owner, "000.00.12.H26") == 0);
    assert(lt_edxml_key_owner("H26.12,2026/09/03,1/X", owner) && strcmp(owner, "H26.12") == 0);
    assert(!lt_edxml_key_owner("TTT-VP", owner) && !*owner);
    assert(!lt_edxml_key_owner("x,2026/09/03,1/X", owner));
    assert(!lt_edxml_key_owner("DocumentId 20, y", owner));
    assert(!lt_edxml_key_owner(",2026", owner) && !lt_edxml_key_owner(NULL, owner));
    assert(lt_edxml_agency_same("000.00.12.H26", "000.00.12.h26"));
    assert(lt_edxml_agency_same("000.00.12.H26", "H26.12"));
    assert(lt_edxml_agency_same("H26.12.01", "000.01.12.H26"));
    assert(lt_edxml_agency_same("000.00.00.H26", "H26"));
    assert(lt_edxml_agency_same("001.01.12.H26", "H26.12.01.001"));
    assert(lt_edxml_agency_same("000.03.31.H26", "H26.31.03"));
    assert(!lt_edxml_agency_same("000.00.12.H26", "000.00.13.H26"));
    assert(!lt_edxml_agency_same("000.00.12.H26", "H26.13"));
    assert(!lt_edxml_agency_same("000.00.12.H26", "H26.12.00.000.1"));
    assert(!lt_edxml_agency_same("000.00.12.H26.1", "H26.12"));
    assert(!lt_edxml_agency_same("", "") && !lt_edxml_agency_same(NULL, "H26"));
    size_t size = 0;
    char *good = (char *) s_fixture("edxml/new-signed.edxml", &size);
    static const struct {
        const char *from, *to, *detail;
    } cases[] = {
        //  a second From after the first
        {"</edXML:From>", "</edXML:From><edXML:From><edXML:OrganId>000.00.13.H26</edXML:OrganId>"
                          "</edXML:From>",
         "MessageHeader/From appears 2 times; it may appear only once"},
        //  a second OrganId inside From
        {"<edXML:From><edXML:OrganId>000.00.12.H26</edXML:OrganId>",
         "<edXML:From><edXML:OrganId>000.00.12.H26</edXML:OrganId>"
         "<edXML:OrganId>000.00.13.H26</edXML:OrganId>",
         "MessageHeader/From/OrganId appears 2 times"},
        //  a second DocumentId in the header (the business block keeps its one)
        {"<edXML:DocumentId>000.00.12.H26,2026/09/03,215/STTTT-VP</edXML:DocumentId>\n"
         "        <edXML:Code>",
         "<edXML:DocumentId>000.00.12.H26,2026/09/03,215/STTTT-VP</edXML:DocumentId>"
         "<edXML:DocumentId>000.00.12.H26,2026/09/03,999/X</edXML:DocumentId>\n"
         "        <edXML:Code>",
         "MessageHeader/DocumentId appears 2 times"},
        //  two business blocks, one spelled Business
        {"<edXML:Bussiness>", "<edXML:Business><edXML:BussinessDocType>1</edXML:BussinessDocType>"
                              "</edXML:Business><edXML:Bussiness>",
         "TraceHeaderList/Bussiness appears 2 times"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!strstr(good, cases[i].from))
            fprintf(stderr, "s_test_once: case %zu: '%s' not in the fixture\n", i, cases[i].from);
        assert(strstr(good, cases[i].from));
        char *bad = s_replace(good, cases[i].from, cases[i].to);
        s_assert_rejects(bad, strlen(bad), NULL, LT_EINVAL, cases[i].detail);
        free(bad);
    }
    //  a To block with two codes
    {
        const char *to_open = strstr(good, "<edXML:To>");
        assert(to_open);
        const char *code = strstr(to_open, "<edXML:OrganId>");
        assert(code);
        char *bad = s_splice(good, code, code,
                             "<edXML:OrganId>000.00.99.H26</edXML:OrganId>");
        s_assert_rejects(bad, strlen(bad), NULL, LT_EINVAL,
                         "MessageHeader/To/OrganId appears 2 times");
        free(bad);
    }
    free(good);
    //  a status package with a second StatusCode, and one with two ResponseFor
    char *status = (char *) s_fixture("edxml/status-03-accepted.edxml", &size);
    char *bad = s_replace(status, "<edXML:StatusCode>03</edXML:StatusCode>",
                          "<edXML:StatusCode>03</edXML:StatusCode>"
                          "<edXML:StatusCode>02</edXML:StatusCode>");
    s_assert_rejects(bad, strlen(bad), NULL, LT_EINVAL, "Status/StatusCode appears 2 times");
    free(bad);
    const char *response = strstr(status, "<edXML:ResponseFor>");
    assert(response);
    const char *response_end = strstr(response, "</edXML:ResponseFor>");
    assert(response_end);
    response_end += strlen("</edXML:ResponseFor>");
    char *block = strndup(response, (size_t) (response_end - response));
    assert(block);
    bad = s_splice(status, response_end, response_end, block);
    s_assert_rejects(bad, strlen(bad), NULL, LT_EINVAL, "Status/ResponseFor appears 2 times");
    free(bad);
    free(block);
    lt_err_t err;
    lt_edxml_t *pkg = lt_edxml_read(status, size, NULL, &err);
    assert(pkg);
    lt_edxml_destroy(&pkg);
    free(status);
}

//  The reader's tolerances on a real package: unprefixed children,
//  Business, ContentId forms, wrapped base64, an XML-DSig signature.
static void s_test_tolerance(void)
{
    size_t size = 0;
    char *good = (char *) s_fixture("edxml/new-signed.edxml", &size);
    lt_err_t err;
    lt_edxml_t *want = lt_edxml_read(good, size, NULL, &err);
    assert(want);

    //  Children in the default namespace instead of prefixed.
    char *step = s_replace(good, "<edXML:", "<");
    char *plain = s_replace(step, "</edXML:", "</");
    free(step);
    lt_edxml_t *pkg = lt_edxml_read(plain, strlen(plain), NULL, &err);
    assert(pkg && lt_edxml_eq(want, pkg));
    lt_edxml_destroy(&pkg);
    free(plain);

    //  "Business", "cid:" in the attachment, "0001" in the manifest.
    step = s_replace(good, "Bussiness>", "Business>");
    char *cid = s_replace(step, "<ContentId>0001</ContentId>", "<ContentId>cid:0001</ContentId>");
    free(step);
    step = s_replace(cid, ">cid:0001</edXML:ContentId>", ">0001</edXML:ContentId>");
    free(cid);
    pkg = lt_edxml_read(step, strlen(step), NULL, &err);
    assert(pkg && lt_edxml_eq(want, pkg));
    lt_edxml_destroy(&pkg);
    free(step);

    //  Base64 wrapped at 76 columns with CRLF, as MIME writers do.
    const char *b64_open = strstr(good, "QCVN_102_2016\">UEsDB");
    assert(b64_open);
    b64_open += strlen("QCVN_102_2016\">");
    const char *b64_close = strchr(b64_open, '<');
    size_t b64 = (size_t) (b64_close - b64_open);
    char *wrapped = malloc(size + b64 / 76 * 2 + 16);
    assert(wrapped);
    size_t at = (size_t) (b64_open - good);
    memcpy(wrapped, good, at);
    for (size_t i = 0; i < b64; i += 76) {
        size_t n = b64 - i < 76 ? b64 - i : 76;
        memcpy(wrapped + at, b64_open + i, n);
        at += n;
        memcpy(wrapped + at, "\r\n", 2);
        at += 2;
    }
    memcpy(wrapped + at, b64_close, strlen(b64_close) + 1);
    at += strlen(b64_close);
    pkg = lt_edxml_read(wrapped, at, NULL, &err);
    assert(pkg && lt_edxml_eq(want, pkg));
    lt_edxml_destroy(&pkg);
    //  Relaying re-sends the sender's archive as it came, not a new one.
    char *b64_text = strndup(b64_open, b64);
    uint8_t *relayed = NULL;
    size_t relayed_size = 0;
    assert(b64_text && lt_edxml_write(want, &relayed, &relayed_size, &err) == 0);
    assert(strstr((char *) relayed, b64_text));
    free(relayed);
    free(b64_text);
    //  ... but a base64 line cut short (bad padding) is refused.
    char *shorter = s_replace(wrapped, "=\r\n<", "\r\n<");
    s_assert_rejects(shorter, strlen(shorter), NULL, LT_EINVAL, "not valid base64");
    free(shorter);
    free(wrapped);

    //  An enveloped XML signature is seen, and the raw bytes kept for it.
    char *signed_xml = s_replace(
        good, "<edXML:Signature></edXML:Signature>",
        "<edXML:Signature><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
        "<ds:SignedInfo/></ds:Signature></edXML:Signature>");
    pkg = lt_edxml_read(signed_xml, strlen(signed_xml), NULL, &err);
    assert(pkg && lt_edxml_has_xmldsig(pkg));
    size_t raw_size = 0;
    assert(memcmp(lt_edxml_raw(pkg, &raw_size), signed_xml, strlen(signed_xml)) == 0);
    assert(raw_size == strlen(signed_xml));
    lt_edxml_destroy(&pkg);
    free(signed_xml);

    //  Rejections naming the rule.
    char *no_to = s_replace(good, "<edXML:To>", "<edXML:Copy>");
    char *no_to2 = s_replace(no_to, "</edXML:To>", "</edXML:Copy>");
    s_assert_rejects(no_to2, strlen(no_to2), NULL, LT_EINVAL, "MessageHeader/To is missing");
    free(no_to);
    free(no_to2);
    char *bad_type = s_replace(good, "<edXML:BussinessDocType>0<", "<edXML:BussinessDocType>7<");
    s_assert_rejects(bad_type, strlen(bad_type), NULL, LT_EINVAL, "BussinessDocType '7'");
    free(bad_type);
    char *no_att = s_replace(good, "<ContentId>0001</ContentId>", "<ContentId>0002</ContentId>");
    s_assert_rejects(no_att, strlen(no_att), NULL, LT_EINVAL,
                     "Reference 'cid:0001' has no AttachmentEncoded/Attachment");
    free(no_att);
    char *root = s_replace(good, "<edXML xmlns=", "<edXMLx xmlns=");
    char *root2 = s_replace(root, "</edXML>", "</edXMLx>");
    s_assert_rejects(root2, strlen(root2), NULL, LT_EINVAL, "root element is 'edXMLx'");
    free(root);
    free(root2);
    char *latin = s_replace(good, "Thông tin", "Th\xf4ng tin");
    s_assert_rejects(latin, strlen(latin), NULL, LT_EINVAL, "not valid UTF-8");
    free(latin);
    //  A ZIP cut short after its first 30 bytes.
    char *damaged = s_splice(good, b64_open + 40, b64_close, "");
    s_assert_rejects(damaged, strlen(damaged), NULL, LT_EINVAL,
                     "Attachment 'cid:0001' (215-STTTT-VP.pdf) is a damaged ZIP");
    free(damaged);
    static const char utf16[] = "\xff\xfe<\0?\0x\0m\0l\0";
    s_assert_rejects(utf16, sizeof(utf16) - 1, NULL, LT_EINVAL, "UTF-16 or UTF-32");
    s_assert_rejects("", 0, NULL, LT_EINVAL, "empty input");
    static const char sjis[] = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><edXML>\xff\xff</edXML>";
    s_assert_rejects(sjis, strlen(sjis), NULL, LT_EINVAL, "declared encoding 'Shift_JIS'");
    s_assert_rejects("<a/>", 4, NULL, LT_EINVAL, "root element is 'a'");
    static const char nons[] = "<edXML><edXMLEnvelope/></edXML>";
    s_assert_rejects(nons, strlen(nons), NULL, LT_EINVAL, "namespace '(none)'");
    static const char empty[] = "<edXML xmlns=\"" LT_EDXML_NS "\"/>";
    s_assert_rejects(empty, strlen(empty), NULL, LT_EINVAL, "edXMLEnvelope is missing");
    static const char bare[] = "<edXML xmlns=\"" LT_EDXML_NS "\"><edXMLEnvelope><edXMLHeader/>"
                               "</edXMLEnvelope></edXML>";
    s_assert_rejects(bare, strlen(bare), NULL, LT_EINVAL, "neither MessageHeader nor Status");
    static const char entity[] = "<edXML xmlns=\"" LT_EDXML_NS "\">&x;</edXML>";
    s_assert_rejects(entity, strlen(entity), NULL, LT_EINVAL, "not well-formed");

    //  Limits: package size, depth, attachment count and sizes.
    lt_edxml_limits_t limits = {.max_package = 1000};
    s_assert_rejects(good, size, &limits, LT_ETOOBIG, "over the limit of 1000 bytes");
    char deep[400];
    for (int i = 0; i < 40; i++) {
        memcpy(deep + 3 * i, "<b>", 3);
        memcpy(deep + 120 + 4 * i, "</b>", 4);
    }
    deep[280] = 0;
    const char *content = strstr(good, "<edXML:Content>") + strlen("<edXML:Content>");
    char *nested = s_splice(good, content, content, deep);
    s_assert_rejects(nested, strlen(nested), NULL, LT_EINVAL, "nests deeper than 32 levels");
    limits = (lt_edxml_limits_t){.max_depth = 100};
    pkg = lt_edxml_read(nested, strlen(nested), &limits, &err);
    assert(pkg);
    lt_edxml_destroy(&pkg);
    free(nested);
    limits = (lt_edxml_limits_t){.max_attachment = 1000};
    s_assert_rejects(good, size, &limits, LT_ETOOBIG, "over the attachment size limit");
    limits = (lt_edxml_limits_t){.max_total = 3000};
    s_assert_rejects(good, size, &limits, LT_ETOOBIG, "unzips to more than the limit");

    lt_edxml_destroy(&want);
    free(good);
}

//  Fill the header of a built document with every field.
static void s_fill_document(lt_edxml_t *pkg, int variant)
{
    lt_edxml_organ_t from = {.organ_id = "000.00.12.H26", .organ_name = "Sở TT&TT <tỉnh Mẫu>",
                             .email = "vanthu@mau.gov.vn", .fax = NULL};
    assert(lt_edxml_set_from(pkg, &from) == 0);
    lt_edxml_organ_t to = {.organ_id = "000.00.00.G22", .organ_name = "Văn phòng Chính phủ"};
    assert(lt_edxml_add_to(pkg, &to) == 0);
    to.organ_id = "000.00.13.H26";
    assert(lt_edxml_add_to(pkg, &to) == 0);
    for (int f = 0; f < LT_EDXML_FIELDS; f++) {
        if (f == LT_EDXML_STATUS_CODE || f == LT_EDXML_DESCRIPTION || f == LT_EDXML_TIMESTAMP
            || f == LT_EDXML_BUSINESS_DOC_TYPE)
            continue;
        char value[128];
        snprintf(value, sizeof(value), "%s %d \"quoted\" & <tagged> 'x' đ", lt_edxml_field_name(f), f);
        assert(lt_edxml_set(pkg, f, value) == 0);
    }
    assert(lt_edxml_set(pkg, LT_EDXML_DOCUMENT_ID, "000.00.12.H26,2026/09/03,216/STTTT-VP") == 0);
    char type[2] = {(char) ('0' + variant % 4), 0};
    assert(lt_edxml_set(pkg, LT_EDXML_BUSINESS_DOC_TYPE, type) == 0);
    assert(lt_edxml_add_place(pkg, "Như trên;") == 0);
    assert(lt_edxml_add_place(pkg, "Lưu: VT.") == 0);
    assert(lt_edxml_add_appendix(pkg, "Phụ lục I") == 0);
    lt_edxml_response_t resp = {.organ_id = "000.00.00.G22", .code = "5120/VPCP-KSTT",
                                .promulgation_date = "2026/09/10",
                                .document_id = "000.00.00.G22,2026/09/10,5120/VPCP-KSTT"};
    assert(lt_edxml_add_response(pkg, &resp) == 0);
    lt_edxml_staff_t staff = {.department = "Văn phòng", .staff = "Trần Thị B",
                              .mobile = "0912000000"};
    assert(lt_edxml_set_staff(pkg, &staff) == 0);
    assert(lt_edxml_append_trace(pkg, "000.00.12.H26", "2026/09/03 08:15:00") == 0);
    assert(lt_edxml_append_trace(pkg, "000.00.00.H26", NULL) == 0);
    const char *now = lt_edxml_trace(pkg, 1)->timestamp;
    assert(strlen(now) == 19 && now[4] == '/' && now[7] == '/' && now[10] == ' ' && now[13] == ':');
    if (variant == 2) {
        assert(lt_edxml_add_receiver(pkg, "1", "000.00.13.H26") == 0);
        assert(lt_edxml_has_document_info(pkg));
    }
    if (variant == 3) {
        int r = lt_edxml_add_replacement(pkg, S_D1);
        assert(r == 0);
        assert(lt_edxml_add_replacement_organ(pkg, 0, "000.00.00.G22") == 0);
        assert(lt_edxml_add_replacement_organ(pkg, 0, "000.00.13.H26") == 0);
        assert(lt_edxml_add_replacement(pkg, "x") == 1);
        assert(lt_edxml_replacement_organs(pkg, 0) == 2);
        assert(strcmp(lt_edxml_replacement_organ(pkg, 0, 1), "000.00.13.H26") == 0);
    }
}

//  Built packages with 0, 1 and several attachments, and statuses, survive
//  write then read; the writer refuses what the reader would refuse.
static void s_test_built(void)
{
    for (int n = 0; n < 4; n++) {
        lt_edxml_t *pkg = lt_edxml_new_document();
        assert(pkg);
        s_fill_document(pkg, n);
        size_t count = n == 3 ? 5 : (size_t) n;
        for (size_t i = 0; i < count; i++) {
            size_t size = i * 7919 + (i == 2 ? 200000 : 0);
            uint8_t *data = malloc(size + 1);
            assert(data);
            for (size_t j = 0; j < size; j++)
                data[j] = (uint8_t) ((j * 2654435761u) >> (i % 3 == 0 ? 13 : 24));
            static const char *names[] = {"a.pdf", "bảng kê.xlsx", "b.docx", "c.txt", "d.jpg"};
            assert(lt_edxml_add_attachment(pkg, names[i], NULL, "mô tả", data, size) == 0);
            free(data);
        }
        if (n == 3) {
            //  One sent as it is (not zipped), as some senders do.
            pkg->attachments[1].zipped = false;
            pkg->attachments[1].content_type[0] = 'A';
        }
        assert(lt_edxml_attachments(pkg) == count);
        if (count)
            assert(strcmp(lt_edxml_attachment(pkg, 0)->content_id, "0001") == 0);
        if (count > 1)
            assert(strcmp(lt_edxml_attachment(pkg, 1)->content_type,
                          n == 3 ? "Application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                                 : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                   == 0);
        char name[64];
        snprintf(name, sizeof(name), "built-%d", n);
        lt_edxml_t *copy = s_round_trip(pkg, name);
        assert(lt_edxml_doc_type(copy) == n);
        //  The envelope of a replacement names the document it replaces.
        lt_envelope_t *env = lt_envelope_new();
        assert(env && lt_edxml_fill_envelope(copy, env) == 0);
        assert(strcmp(lt_envelope_replaces(env), n == 3 ? S_D1 : "") == 0);
        lt_envelope_destroy(&env);
        lt_edxml_destroy(&copy);
        lt_edxml_destroy(&pkg);
    }

    lt_edxml_t *status = lt_edxml_new_status();
    assert(status && lt_edxml_is_status(status));
    lt_err_t err;
    uint8_t *data = NULL;
    size_t size = 0;
    assert(lt_edxml_write(status, &data, &size, &err) == -1);
    assert(strstr(err.detail, "Status/From/OrganId is missing"));
    lt_edxml_organ_t from = {.organ_id = "000.00.00.G22"};
    assert(lt_edxml_set_from(status, &from) == 0);
    lt_edxml_response_t resp = {.organ_id = "000.00.12.H26", .document_id = S_D1};
    assert(lt_edxml_write(status, &data, &size, &err) == -1);
    assert(strstr(err.detail, "Status/ResponseFor is missing"));
    assert(lt_edxml_add_response(status, &resp) == 0);
    assert(lt_edxml_write(status, &data, &size, &err) == -1);
    assert(strstr(err.detail, "Status/StatusCode is missing"));
    assert(lt_edxml_set(status, LT_EDXML_STATUS_CODE, "99") == 0);
    assert(lt_edxml_write(status, &data, &size, &err) == -1);
    assert(strstr(err.detail, "unknown StatusCode '99'"));
    static const char *codes[] = {"01", "02", "03", "04", "05", "06", "13", "15", "16"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert(lt_edxml_status_code_valid(codes[i]));
        assert(lt_edxml_set(status, LT_EDXML_STATUS_CODE, codes[i]) == 0);
        lt_edxml_t *copy = s_round_trip(status, i == 0 ? "built-status" : NULL);
        assert(strcmp(lt_edxml_btype(copy), codes[i]) == 0);
        lt_edxml_destroy(&copy);
    }
    assert(!lt_edxml_status_code_valid("07") && !lt_edxml_status_code_valid("3"));
    assert(!lt_edxml_status_code_valid(NULL) && lt_edxml_status_name("14") == NULL);
    lt_edxml_destroy(&status);

    lt_edxml_t *doc = lt_edxml_new_document();
    assert(doc);
    assert(lt_edxml_write(doc, &data, &size, &err) == -1);
    assert(strstr(err.detail, "MessageHeader/From/OrganId is missing"));
    assert(lt_edxml_set_from(doc, &from) == 0);
    assert(lt_edxml_write(doc, &data, &size, &err) == -1);
    assert(strstr(err.detail, "MessageHeader/To is missing"));
    lt_edxml_organ_t to = {.organ_name = "no code"};
    assert(lt_edxml_add_to(doc, &to) == 0);
    assert(lt_edxml_write(doc, &data, &size, &err) == -1);
    assert(strstr(err.detail, "MessageHeader/To[1]/OrganId is missing"));
    lt_edxml_destroy(&doc);
    lt_edxml_destroy(&doc);   //  safe on NULL
}

//  A zip bomb: a small ZIP that unzips far past the limit is refused.
static void s_test_zip_bomb(void)
{
    size_t size = 8u << 20;
    uint8_t *zeros = calloc(1, size);
    assert(zeros);
    lt_edxml_t *pkg = lt_edxml_new_document();
    assert(pkg);
    s_fill_document(pkg, 0);
    assert(lt_edxml_add_attachment(pkg, "zeros.pdf", NULL, NULL, zeros, size) == 0);
    free(zeros);
    uint8_t *data = NULL;
    size_t data_size = 0;
    lt_err_t err;
    assert(lt_edxml_write(pkg, &data, &data_size, &err) == 0);
    assert(data_size < 100000);   //  8 MiB of zeros deflate to a few KiB
    lt_edxml_limits_t limits = {.max_attachment = 1u << 20};
    s_assert_rejects(data, data_size, &limits, LT_ETOOBIG, "unzips to more than the limit");
    lt_edxml_t *copy = lt_edxml_read(data, data_size, NULL, &err);
    assert(copy && lt_edxml_attachment(copy, 0)->size == size);
    lt_edxml_destroy(&copy);
    free(data);
    lt_edxml_destroy(&pkg);

    //  The codecs directly: base64 edge cases and a non-wrapper ZIP.
    uint8_t *out = NULL;
    size_t out_size = 0;
    assert(lt_edxml_base64_decode("", 0, 10, &out, &out_size) == 0 && out_size == 0);
    free(out);
    assert(lt_edxml_base64_decode(" QQ==\n", 6, 10, &out, &out_size) == 0);
    assert(out_size == 1 && out[0] == 'A');
    free(out);
    assert(lt_edxml_base64_decode("QUJD", 4, 2, &out, &out_size) == -2);
    assert(lt_edxml_base64_decode("QUJ", 3, 10, &out, &out_size) == -1);
    assert(lt_edxml_base64_decode("QQ==QQ==", 8, 10, &out, &out_size) == -1);
    assert(lt_edxml_base64_decode("QU-D", 4, 10, &out, &out_size) == -1);
    assert(lt_edxml_base64_decode("Q===", 4, 10, &out, &out_size) == -1);
    size_t length = 0;
    char *text = lt_edxml_base64_encode((const uint8_t *) "ABCD", 4, &length);
    assert(text && strcmp(text, "QUJDRA==") == 0 && length == 8);
    free(text);
    assert(strcmp(lt_edxml_guess_type("X.PDF"), "application/pdf") == 0);
    assert(strcmp(lt_edxml_guess_type("noext"), "application/octet-stream") == 0);
    assert(!lt_edxml_is_zip((const uint8_t *) "PK", 2));
    char detail[100];
    assert(lt_edxml_unzip((const uint8_t *) "PK\x03\x04garbage", 11, 100, &out, &out_size, NULL, 0,
                          detail, sizeof(detail))
           == -1);
}

//  Insert a trace into text and check the result and that removing the span
//  gives the input back; returns the result (caller frees).
static char *s_trace_into(const char *text, const char *expect_part)
{
    uint8_t *out = NULL;
    size_t size = 0, at = 0, length = 0;
    lt_err_t err;
    int rc = lt_edxml_insert_trace(text, strlen(text), "000.00.00.H26", "2026/09/03 08:00:00",
                                   &out, &size, &at, &length, &err);
    if (rc)
        fprintf(stderr, "lt_edxml_insert_trace: %s\n", err.detail);
    assert(rc == 0 && size == strlen(text) + length);
    assert(memcmp(out, text, at) == 0);
    assert(strcmp((char *) out + at + length, text + at) == 0);
    if (!strstr((char *) out, expect_part))
        fprintf(stderr, "lt_edxml_insert_trace: %s not in\n%s\n", expect_part, (char *) out);
    assert(strstr((char *) out, expect_part));
    return (char *) out;
}

//  lt_edxml_insert_trace on packages written in several ways.
static void s_test_insert_trace(void)
{
    //  The hub's writer's shape: appended after the last trace, same indent.
    char *out = s_trace_into(
        "<?xml version=\"1.0\"?>\n<edXML xmlns=\"" LT_EDXML_NS "\">\n"
        "  <edXML:edXMLEnvelope xmlns:edXML=\"" LT_EDXML_NS "\">\n    <edXML:edXMLHeader>\n"
        "      <edXML:MessageHeader><edXML:To/></edXML:MessageHeader>\n"
        "      <edXML:TraceHeaderList>\n        <edXML:TraceHeader><edXML:OrganId>A</edXML:OrganId>"
        "</edXML:TraceHeader>\n        <edXML:Bussiness/>\n      </edXML:TraceHeaderList>\n"
        "    </edXML:edXMLHeader>\n  </edXML:edXMLEnvelope>\n</edXML>\n",
        "</edXML:TraceHeader>\n        <edXML:TraceHeader><edXML:OrganId>000.00.00.H26"
        "</edXML:OrganId><edXML:Timestamp>2026/09/03 08:00:00</edXML:Timestamp>"
        "</edXML:TraceHeader>\n        <edXML:Bussiness/>");
    free(out);
    //  Other prefixes, a comment and a '>' in an attribute, an empty list.
    out = s_trace_into(
        "<x:edXML xmlns:x=\"" LT_EDXML_NS "\"><x:edXMLEnvelope><!-- <x:TraceHeaderList> -->"
        "<x:edXMLHeader a=\"1>2\"><x:Status/><x:TraceHeaderList></x:TraceHeaderList>"
        "</x:edXMLHeader></x:edXMLEnvelope></x:edXML>",
        "<x:TraceHeaderList><x:TraceHeader><x:OrganId>000.00.00.H26</x:OrganId>");
    free(out);
    //  An empty-element list is opened to hold the TraceHeader, written with
    //  its own qname; its attribute, the whitespace before "/>" and every
    //  other byte stay.
    const char *closed = "<edXML xmlns=\"" LT_EDXML_NS "\">\n<edXML:edXMLEnvelope xmlns:edXML=\""
                         LT_EDXML_NS "\"><edXML:edXMLHeader>\n  <edXML:MessageHeader/>\n"
                         "  <edXML:TraceHeaderList a=\"/>\" />\n</edXML:edXMLHeader>"
                         "</edXML:edXMLEnvelope></edXML>\n";
    const char *opened = "<edXML xmlns=\"" LT_EDXML_NS "\">\n<edXML:edXMLEnvelope xmlns:edXML=\""
                         LT_EDXML_NS "\"><edXML:edXMLHeader>\n  <edXML:MessageHeader/>\n"
                         "  <edXML:TraceHeaderList a=\"/>\" ><edXML:TraceHeader><edXML:OrganId>"
                         "000.00.00.H26</edXML:OrganId><edXML:Timestamp>2026/09/03 08:00:00"
                         "</edXML:Timestamp></edXML:TraceHeader></edXML:TraceHeaderList>\n"
                         "</edXML:edXMLHeader></edXML:edXMLEnvelope></edXML>\n";
    uint8_t *expanded = NULL;
    size_t expanded_size = 0, at = 0, length = 0;
    lt_err_t expand_err;
    assert(lt_edxml_insert_trace(closed, strlen(closed), "000.00.00.H26", "2026/09/03 08:00:00",
                                 &expanded, &expanded_size, &at, &length, &expand_err)
           == 0);
    assert(expanded_size == strlen(opened) && strcmp((char *) expanded, opened) == 0);
    assert(at == (size_t) (strstr(closed, " />") - closed) + 1);
    assert(length == strlen(opened) - strlen(closed));
    free(expanded);
    //  No list at all: one is added after Status, in the default namespace.
    out = s_trace_into("<edXML xmlns=\"" LT_EDXML_NS "\"><edXMLEnvelope>\n <edXMLHeader>\n"
                       "  <Status><From/></Status>\n </edXMLHeader></edXMLEnvelope></edXML>",
                       "</Status>\n  <TraceHeaderList><TraceHeader><OrganId>000.00.00.H26"
                       "</OrganId><Timestamp>2026/09/03 08:00:00</Timestamp></TraceHeader>"
                       "</TraceHeaderList>\n </edXMLHeader>");
    free(out);
    //  Refusals: another namespace, no header, bad values.
    uint8_t *bytes = NULL;
    size_t size = 0;
    lt_err_t err;
    const char *other = "<edXML xmlns=\"urn:other\"><edXMLEnvelope><edXMLHeader><Status/>"
                        "</edXMLHeader></edXMLEnvelope></edXML>";
    assert(lt_edxml_insert_trace(other, strlen(other), "A", "T", &bytes, &size, NULL, NULL, &err)
           == -1);
    assert(err.code == LT_EINVAL && strstr(err.detail, "edXMLHeader"));
    const char *open = "<edXML xmlns=\"" LT_EDXML_NS "\"><edXMLEnvelope>";
    assert(lt_edxml_insert_trace(open, strlen(open), "A", "T", &bytes, &size, NULL, NULL, &err)
           == -1);
    const char *good = "<edXML xmlns=\"" LT_EDXML_NS "\"><edXMLEnvelope><edXMLHeader><Status/>"
                       "</edXMLHeader></edXMLEnvelope></edXML>";
    assert(lt_edxml_insert_trace(good, strlen(good), "<A>", "T", &bytes, &size, NULL, NULL, &err)
           == -1);
    assert(lt_edxml_insert_trace(good, strlen(good), "A", "T", &bytes, &size, NULL, NULL, &err)
           == 0);
    free(bytes);
}

void lt_edxml_test(bool verbose)
{
    s_verbose = verbose;
    if (verbose)
        printf(" * lt_edxml: ");
    lt_edxml_limits_t limits;
    lt_edxml_limits_init(&limits);
    assert(limits.max_package == 64u << 20 && limits.max_attachments == 100);
    assert(limits.max_depth == 32);
    if (getenv("LT_FIXTURES")) {
        s_test_fixtures();
        s_test_bad_fixtures();
        s_test_tolerance();
        s_test_once();
    }
    else if (verbose)
        printf("(LT_FIXTURES not set: fixture checks skipped) ");
    s_test_built();
    s_test_zip_bomb();
    s_test_insert_trace();
    if (verbose)
        printf("\nOK\n");
}
