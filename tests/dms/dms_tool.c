/*  dms-tool: helpers for the lthub-dms end-to-end tests.

      dms-tool mkdoc --from CODE --to CODE[,CODE...] --number N --notation X
                     [--date yyyy/MM/dd] [--subject TEXT] [--attach FILE] OUT
          writes a document package built with the lt_edxml writer, whose
          DocumentId is FROM,DATE,N/X
      dms-tool register --url URL --system ID --secret-file F BODY.json
          calls registerDocuments with BODY.json as the body, the body's
          hash-file and signed headers; prints the answer

    register exits 0 when the answer's status is OK, 1 for another answer,
    2 on a usage or transport error; mkdoc exits 0 or 2.
*/
#include "lt_edoc_auth.h"
#include "lt_edxml.h"
#include "lt_http_client.h"
#include "lt_id.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Read a whole file (at most 256 MiB); NULL on failure.
static unsigned char *s_read(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    size_t alloc = 65536, used = 0;
    unsigned char *data = malloc(alloc + 1);
    while (data) {
        size_t n = fread(data + used, 1, alloc - used, file);
        used += n;
        if (used < alloc)
            break;
        if (alloc >= 256u * 1024 * 1024) {
            free(data);
            data = NULL;
            break;
        }
        alloc *= 2;
        unsigned char *grown = realloc(data, alloc + 1);
        if (!grown)
            free(data);
        data = grown;
    }
    fclose(file);
    if (data) {
        data[used] = 0;
        *size = used;
    }
    return data;
}

//  mkdoc: build and write one document package.
static int s_mkdoc(int argc, char *argv[])
{
    const char *from = NULL, *to = NULL, *number = NULL, *notation = NULL, *out = NULL;
    const char *date = "2026/09/03", *subject = "V/v thử nghiệm liên thông", *attach = NULL;
    for (int i = 2; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--from") == 0 && value)
            from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && value)
            to = argv[++i];
        else if (strcmp(argv[i], "--number") == 0 && value)
            number = argv[++i];
        else if (strcmp(argv[i], "--notation") == 0 && value)
            notation = argv[++i];
        else if (strcmp(argv[i], "--date") == 0 && value)
            date = argv[++i];
        else if (strcmp(argv[i], "--subject") == 0 && value)
            subject = argv[++i];
        else if (strcmp(argv[i], "--attach") == 0 && value)
            attach = argv[++i];
        else if (argv[i][0] != '-' && !out)
            out = argv[i];
        else {
            fprintf(stderr, "dms-tool mkdoc: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!from || !to || !number || !notation || !out) {
        fprintf(stderr, "dms-tool mkdoc: --from, --to, --number, --notation and OUT are needed\n");
        return 2;
    }
    lt_edxml_t *doc = lt_edxml_new_document();
    char document_id[512];
    snprintf(document_id, sizeof(document_id), "%s,%s,%s/%s", from, date, number, notation);
    lt_edxml_organ_t organ = {.organ_id = (char *) from, .organ_name = "Cơ quan gửi"};
    lt_edxml_set_from(doc, &organ);
    for (const char *code = to; *code;) {
        size_t len = strcspn(code, ",");
        char one[64];
        snprintf(one, sizeof(one), "%.*s", (int) (len < 63 ? len : 63), code);
        lt_edxml_organ_t recipient = {.organ_id = one, .organ_name = "Cơ quan nhận"};
        if (len)
            lt_edxml_add_to(doc, &recipient);
        code += len + (code[len] == ',');
    }
    lt_edxml_set(doc, LT_EDXML_DOCUMENT_ID, document_id);
    lt_edxml_set(doc, LT_EDXML_CODE_NUMBER, number);
    lt_edxml_set(doc, LT_EDXML_CODE_NOTATION, notation);
    lt_edxml_set(doc, LT_EDXML_PROMULGATION_DATE, date);
    lt_edxml_set(doc, LT_EDXML_PLACE, "Mẫu");
    lt_edxml_set(doc, LT_EDXML_TYPE, "1");
    lt_edxml_set(doc, LT_EDXML_TYPE_DETAIL, "0");
    lt_edxml_set(doc, LT_EDXML_TYPE_NAME, "Công văn");
    lt_edxml_set(doc, LT_EDXML_SUBJECT, subject);
    lt_edxml_set(doc, LT_EDXML_BUSINESS_DOCUMENT_ID, document_id);
    lt_edxml_set(doc, LT_EDXML_BUSINESS_DOC_TYPE, "0");
    lt_edxml_append_trace(doc, from, NULL);
    int rc = 0;
    if (attach) {
        size_t size = 0;
        unsigned char *bytes = s_read(attach, &size);
        const char *name = strrchr(attach, '/') ? strrchr(attach, '/') + 1 : attach;
        if (!bytes
            || lt_edxml_add_attachment(doc, name, "application/pdf", "văn bản", bytes, size)) {
            fprintf(stderr, "dms-tool mkdoc: cannot attach %s\n", attach);
            rc = 2;
        }
        free(bytes);
    }
    uint8_t *data = NULL;
    size_t size = 0;
    lt_err_t err;
    if (rc == 0 && lt_edxml_write(doc, &data, &size, &err)) {
        fprintf(stderr, "dms-tool mkdoc: %s\n", err.detail);
        rc = 2;
    }
    lt_edxml_destroy(&doc);
    FILE *file = rc == 0 ? fopen(out, "wb") : NULL;
    if (rc == 0 && (!file || fwrite(data, 1, size, file) != size)) {
        fprintf(stderr, "dms-tool mkdoc: cannot write %s\n", out);
        rc = 2;
    }
    if (file && fclose(file))
        rc = 2;
    free(data);
    return rc;
}

//  register: POST registerDocuments with a signed hash-file of the body.
static int s_register(int argc, char *argv[])
{
    const char *url = NULL, *system = NULL, *secret_file = NULL, *path = NULL, *hash = NULL;
    for (int i = 2; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--url") == 0 && value)
            url = argv[++i];
        else if (strcmp(argv[i], "--system") == 0 && value)
            system = argv[++i];
        else if (strcmp(argv[i], "--secret-file") == 0 && value)
            secret_file = argv[++i];
        else if (strcmp(argv[i], "--hash-file") == 0 && value)
            hash = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "dms-tool register: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!url || !system || !secret_file || !path) {
        fprintf(stderr, "dms-tool register: --url, --system, --secret-file and BODY needed\n");
        return 2;
    }
    size_t size = 0;
    unsigned char *body = s_read(path, &size);
    lt_err_t err;
    size_t secret_size = 0;
    char *secret = body ? lt_edoc_secret_load(secret_file, &secret_size, &err) : NULL;
    if (!secret) {
        fprintf(stderr, "dms-tool register: cannot read %s\n", body ? secret_file : path);
        free(body);
        return 2;
    }
    char computed[LT_SHA256_UNPADDED];
    lt_edoc_auth_hash_file(body, size, computed);
    lt_edoc_param_t params[] = {{"hash-file", hash ? hash : computed}};
    char stamp[LT_EDOC_TIMESTAMP_LEN];
    lt_edoc_auth_timestamp(lt_time_ms(), stamp);
    lt_edoc_headers_t *headers
        = lt_edoc_auth_sign(system, secret, secret_size, stamp, params, 1, &err);
    lt_edoc_secret_free(&secret, secret_size);
    lt_http_client_t *client = lt_http_client_new(url);
    if (!headers || !client) {
        fprintf(stderr, "dms-tool register: %s\n", headers ? "bad --url" : err.detail);
        lt_edoc_headers_destroy(&headers);
        lt_http_client_destroy(&client);
        free(body);
        return 2;
    }
    size_t count = lt_edoc_headers_count(headers);
    lt_http_header_t list[LT_EDOC_MAX_PARAMS + 5];
    for (size_t i = 0; i < count; i++) {
        list[i].name = lt_edoc_headers_name(headers, i);
        list[i].value = lt_edoc_headers_value(headers, i);
    }
    lt_http_client_set_timeout(client, 60000);
    lt_http_reply_t reply = {0};
    lt_error_t rc = lt_http_client_post(client, "registerDocuments", list, count, body, size,
                                        "application/json", &reply, &err);
    lt_http_client_destroy(&client);
    lt_edoc_headers_destroy(&headers);
    free(body);
    if (rc != LT_OK) {
        fprintf(stderr, "dms-tool register: %s\n", err.detail);
        return 2;
    }
    fwrite(reply.body, 1, reply.size, stdout);
    printf("\n");
    json_t *answer = reply.status == 200 ? json_loadb(reply.body, reply.size, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(answer, "status"));
    int code = status && strcmp(status, "OK") == 0 ? 0 : 1;
    json_decref(answer);
    lt_http_reply_free(&reply);
    return code;
}

int main(int argc, char *argv[])
{
    if (argc >= 2 && strcmp(argv[1], "mkdoc") == 0)
        return s_mkdoc(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "register") == 0)
        return s_register(argc, argv);
    fprintf(stderr, "usage: dms-tool mkdoc ... | dms-tool register ...\n");
    return 2;
}
