/*  lt_edoc_client_test: self-test of the edoc API client against an
    in-process lt_http_server that authenticates every call with
    lt_edoc_auth_verify and answers as the test tells it to: normally, with
    HTTP 503, 404 or a redirect, a FAIL body, a truncated answer, a status
    or base64 written the ways other implementations write them, or never.
*/
#include "lt_edoc_client.h"
#include "lt_http_server.h"

#include <assert.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SECRET "test-secret"
#define S_PACKAGE "<edXML>package bytes\n\x0a\x00 with a NUL</edXML>"
#define S_LONG_ID                                                                                 \
    "0123456789012345678901234567890123456789012345678901234567890123456789"                      \
    "0123456789012345678901234567890123456789012345678901234567890123456789"

//  How the test server answers the next requests.
typedef enum {
    S_NORMAL = 0,     //  perform the operation
    S_HTTP_503,       //  HTTP 503
    S_HTTP_404,       //  HTTP 404
    S_FAIL_500,       //  FAIL body, ErrorCode "500"
    S_FAIL_400,       //  FAIL body, ErrorCode 400 (a number)
    S_TRUNCATED,      //  200 with JSON cut short
    S_HANG,           //  never answer
    S_BAD_BASE64,     //  getEdoc data that is not base64
    S_BASE64_URL,     //  getEdoc data in the URL-safe base64 alphabet
    S_BIG_NUMBERS,    //  lists with numbers beyond 64 bits, odd docIds
    S_HTTP_302,       //  HTTP 302 to another place
    S_STATUS_CASE,    //  status "ok" / "Ok" / " OK " instead of "OK"
    S_FAIL_LOWER,     //  status "fail", ErrorCode 400
    S_BASE64_LOOSE,   //  getEdoc data unpadded, with CRLF every 4 characters
    S_BASE64_CUT,     //  getEdoc data with one character too few for any byte
    S_BASE64_DASH,    //  getEdoc data with a '-' inside
} s_mode_t;

//  The test server's state.
typedef struct {
    pthread_mutex_t lock;    //  guards the fields below
    s_mode_t mode;           //  how to answer
    int requests;            //  requests seen
    char last_to[256];       //  XroadVnpt-to of the last sendEdoc
    char last_status[32];    //  XroadVnpt-status of the last updateStatus
    char last_desc[512];     //  XroadVnpt-description of the last updateStatus
} s_server_t;

//  lt_edoc_auth header callback over a request.
static const char *s_header(void *arg, const char *name)
{
    return lt_http_request_header(arg, name);
}

//  lt_edoc_auth secret callback: one system, "sys1".
static const void *s_secret(void *arg, const char *system_id, size_t *size)
{
    if (strcmp(system_id, "sys1") != 0)
        return NULL;
    *size = strlen(S_SECRET);
    return S_SECRET;
}

//  Answer a JSON text.
static void s_json(lt_http_response_t *resp, const char *text)
{
    lt_http_response_set(resp, 200, "application/json", text);
}

//  The test server's handler.
static lt_http_action_t s_handle(const lt_http_request_t *req, lt_http_response_t *resp,
                                 void *arg)
{
    s_server_t *server = arg;
    pthread_mutex_lock(&server->lock);
    s_mode_t mode = server->mode;
    server->requests++;
    pthread_mutex_unlock(&server->lock);
    switch (mode) {
    case S_HTTP_503:
        lt_http_response_set(resp, 503, "text/plain", "busy\n");
        return LT_HTTP_ANSWER;
    case S_HTTP_404:
        lt_http_response_set(resp, 404, "text/plain", "no such path\n");
        return LT_HTTP_ANSWER;
    case S_HTTP_302:
        lt_http_response_set(resp, 302, "text/html", "<a href=\"/login\">moved</a>\n");
        return LT_HTTP_ANSWER;
    case S_FAIL_LOWER:
        s_json(resp, "{\"status\":\"fail\",\"ErrorCode\":\"400\",\"ErrorDesc\":\"bad\"}");
        return LT_HTTP_ANSWER;
    case S_FAIL_500:
        s_json(resp, "{\"status\":\"FAIL\",\"ErrorCode\":\"500\",\"ErrorDesc\":\"later\"}");
        return LT_HTTP_ANSWER;
    case S_FAIL_400:
        s_json(resp, "{\"status\":\"FAIL\",\"ErrorCode\":400,\"ErrorDesc\":\"bad package\"}");
        return LT_HTTP_ANSWER;
    case S_TRUNCATED:
        s_json(resp, "{\"status\":\"OK\",\"ErrorCo");
        return LT_HTTP_ANSWER;
    case S_HANG:
        return LT_HTTP_HANG;
    default:
        break;
    }
    lt_err_t err;
    if (lt_edoc_auth_verify(s_header, (void *) req, s_secret, NULL, NULL, &err) != LT_OK) {
        char text[700];
        snprintf(text, sizeof(text),
                 "{\"status\":\"FAIL\",\"ErrorCode\":\"401\",\"ErrorDesc\":\"%s\"}", err.detail);
        s_json(resp, text);
        return LT_HTTP_ANSWER;
    }
    const char *path = lt_http_request_path(req);
    if (strcmp(path, "/api/sendEdoc") == 0) {
        size_t size = 0;
        const void *file = lt_http_request_part(req, "file_doc", &size, NULL);
        const char *hash = lt_http_request_header(req, "XroadVnpt-hash-file");
        const char *to = lt_http_request_header(req, "XroadVnpt-to");
        const char *type = lt_http_request_header(req, "XroadVnpt-messagetype");
        if (!file || !hash || !lt_edoc_auth_hash_file_ok(hash, file, size) || !type)
            s_json(resp, "{\"status\":\"FAIL\",\"ErrorCode\":\"400\",\"ErrorDesc\":\"hash\"}");
        else {
            pthread_mutex_lock(&server->lock);
            snprintf(server->last_to, sizeof(server->last_to), "%s", to ? to : "");
            pthread_mutex_unlock(&server->lock);
            s_json(resp, mode == S_STATUS_CASE
                             ? "{\"status\":\"Ok\",\"ErrorCode\":\"0\",\"DocId\":\"D-2\"}"
                             : "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"DocId\":\"D-1\"}");
        }
    }
    else if (strcmp(path, "/api/getReceivedEdocList") == 0 && mode == S_STATUS_CASE)
        s_json(resp, "{\"status\":\" ok \",\"ErrorCode\":\"0\",\"data\":[{\"docId\":\"C1\"}]}");
    else if (strcmp(path, "/api/getReceivedEdocList") == 0 && mode == S_BIG_NUMBERS)
        //  A docId beyond 64 bits makes jansson refuse the text as it is;
        //  the other items are still taken (a number read then as a real),
        //  ids that cannot travel as a header exactly are skipped, and a
        //  field beyond 64 bits elsewhere reads as absent.
        s_json(resp, "{\"status\":\"OK\",\"ErrorCode\":0,\"data\":["
                     "{\"docId\":12345678901234567890,\"messageType\":\"edoc\"},"
                     "{\"docId\":\"B1\",\"from\":99999999999999999999,\"to\":\"000.00.12.H26\"},"
                     "{\"docId\":43,\"status\":\"initial\"},{\"docId\":9007199254740993},"
                     "{\"docId\":1.5},{\"docId\":true},{\"docId\":\" SP \"},"
                     "{\"docId\":\"Vi\u1ec7t\"},{\"docId\":\"a\\r\\nb\"},{\"docId\":\"tab\\t\"},"
                     "{\"docId\":\"in ner\"}]}");
    else if (strcmp(path, "/api/getReceivedEdocList") == 0)
        s_json(resp, "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":["
                     "{\"docId\":\"A1\",\"messageType\":\"edoc\",\"from\":\"000.00.00.G22\","
                     "\"to\":\"000.00.12.H26\",\"status\":\"initial\"},"
                     "{\"docId\":42,\"messageType\":\"edoc\"},"
                     //  Items no client can take: skipped, the others still taken.
                     "{\"messageType\":\"edoc\"},\"not an item\",{\"docId\":\"\"},"
                     "{\"docId\":\"" S_LONG_ID "\"}]}");
    else if (strcmp(path, "/api/getEdoc") == 0) {
        if (mode == S_BAD_BASE64) {
            s_json(resp, "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":\"@@not base64@@\"}");
            return LT_HTTP_ANSWER;
        }
        if (mode == S_BASE64_DASH) {
            //  A '-' among standard digits: the alphabets mixed, garbled.
            s_json(resp, "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":\"YW+j-ZGU\"}");
            return LT_HTTP_ANSWER;
        }
        if (mode == S_BASE64_URL) {
            //  The URL-safe alphabet (Java's Base64.getUrlEncoder()).
            s_json(resp, "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":\"-_-_YWJj\"}");
            return LT_HTTP_ANSWER;
        }
        if (mode == S_BASE64_LOOSE || mode == S_BASE64_CUT) {
            //  "abcde" is YWJjZGU= padded; Java's MIME encoder breaks lines
            //  with CRLF, and encoders told not to pad leave the '=' out.
            //  One character past a whole group carries no byte: garbled.
            s_json(resp, mode == S_BASE64_LOOSE
                             ? "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":\"YWJj\\r\\nZGU\"}"
                             : "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":\"YWJjZ\"}");
            return LT_HTTP_ANSWER;
        }
        unsigned char b64[256];
        int len = EVP_EncodeBlock(b64, (const unsigned char *) S_PACKAGE, sizeof(S_PACKAGE) - 1);
        assert(len > 8);
        char text[512];
        //  A line break inside the base64, as some servers send it.
        snprintf(text, sizeof(text),
                 "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":\"%.8s\\n%s\"}", b64, b64 + 8);
        s_json(resp, text);
    }
    else if (strcmp(path, "/api/updateStatus") == 0) {
        const char *status = lt_http_request_header(req, "XroadVnpt-status");
        const char *desc = lt_http_request_header(req, "XroadVnpt-description");
        pthread_mutex_lock(&server->lock);
        snprintf(server->last_status, sizeof(server->last_status), "%s", status ? status : "");
        snprintf(server->last_desc, sizeof(server->last_desc), "%s", desc ? desc : "");
        pthread_mutex_unlock(&server->lock);
        s_json(resp, "{\"status\":\"OK\",\"ErrorCode\":\"0\"}");
    }
    else if (strcmp(path, "/api/registerDocuments") == 0) {
        size_t size = 0;
        const void *body = lt_http_request_body(req, &size);
        const char *hash = lt_http_request_header(req, "XroadVnpt-hash-file");
        if (hash && lt_edoc_auth_hash_file_ok(hash, body, size))
            s_json(resp, "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"accepted\":1}");
        else
            s_json(resp, "{\"status\":\"FAIL\",\"ErrorCode\":\"400\",\"ErrorDesc\":\"hash\"}");
    }
    else
        s_json(resp, "{\"status\":\"FAIL\",\"ErrorCode\":\"404\",\"ErrorDesc\":\"unknown\"}");
    return LT_HTTP_ANSWER;
}

//  Set the server's mode.
static void s_mode(s_server_t *server, s_mode_t mode)
{
    pthread_mutex_lock(&server->lock);
    server->mode = mode;
    pthread_mutex_unlock(&server->lock);
}

void lt_edoc_client_test(bool verbose)
{
    if (verbose)
        printf(" * lt_edoc_client: ");
    s_server_t server = {.mode = S_NORMAL};
    pthread_mutex_init(&server.lock, NULL);
    lt_err_t err;
    lt_http_limits_t limits = {.max_hang_s = 30};
    lt_http_server_t *http = lt_http_server_new("127.0.0.1", 0, s_handle, &server, &limits, &err);
    assert(http);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api", (unsigned) lt_http_server_port(http));

    //  Configuration errors.
    lt_edoc_client_config_t config = {.url = "ftp://x", .system_id = "sys1",
                                      .secret = S_SECRET, .secret_size = strlen(S_SECRET),
                                      .timeout_ms = 2000, .connect_timeout_ms = 1000};
    assert(lt_edoc_client_new(&config, &err) == NULL && err.code == LT_ECONFIG);
    config.url = url;
    config.ca_file = "/nonexistent/ca.pem";
    assert(lt_edoc_client_new(&config, &err) == NULL && strstr(err.detail, "CA file"));
    config.ca_file = NULL;
    config.system_id = "";
    assert(lt_edoc_client_new(&config, &err) == NULL);
    config.system_id = "sys1";
    lt_edoc_client_t *client = lt_edoc_client_new(&config, &err);
    assert(client);

    //  sendEdoc with recipients and a hash-file of the exact bytes.
    char doc_id[128];
    const char *to[] = {"000.00.00.G22", "000.00.00.G01"};
    lt_edoc_outcome_t outcome = lt_edoc_client_send(client, S_PACKAGE, sizeof(S_PACKAGE) - 1,
                                                    "edoc", to, 2, "x.edxml", doc_id, &err);
    assert(outcome == LT_EDOC_OK);
    assert(strcmp(doc_id, "D-1") == 0);
    assert(strcmp(server.last_to, "[\"000.00.00.G22\",\"000.00.00.G01\"]") == 0);

    //  getReceivedEdocList: items, a numeric docId printed; items without a
    //  usable docId (missing, empty, not an object, too long) skipped.
    lt_edoc_item_t *items = NULL;
    size_t count = 0;
    assert(lt_edoc_client_list(client, "edoc", &items, &count, &err) == LT_EDOC_OK);
    assert(count == 2);
    assert(strcmp(items[0].doc_id, "A1") == 0 && strcmp(items[0].to, "000.00.12.H26") == 0);
    assert(strcmp(items[0].status, "initial") == 0);
    assert(strcmp(items[1].doc_id, "42") == 0 && items[1].from[0] == 0);
    free(items);

    //  getEdoc: base64 with a line break decodes to the exact bytes.
    uint8_t *data = NULL;
    size_t size = 0;
    char *raw = NULL;
    size_t raw_size = 0;
    assert(lt_edoc_client_get(client, "A1", &data, &size, &raw, &raw_size, &err) == LT_EDOC_OK);
    assert(size == sizeof(S_PACKAGE) - 1 && memcmp(data, S_PACKAGE, size) == 0);
    assert(raw == NULL && raw_size == 0);
    free(data);
    //  Data that is not base64 may be a garbled answer: transient, with the
    //  text as it came for the caller to keep.
    s_mode(&server, S_BAD_BASE64);
    assert(lt_edoc_client_get(client, "A1", &data, &size, &raw, &raw_size, &err)
           == LT_EDOC_TRANSIENT);
    assert(data == NULL && err.code == LT_EINVAL && strstr(err.detail, "base64"));
    assert(raw && raw_size == strlen("@@not base64@@") && strcmp(raw, "@@not base64@@") == 0);
    free(raw);
    assert(lt_edoc_client_get(client, "A1", &data, &size, NULL, NULL, &err) == LT_EDOC_TRANSIENT);
    assert(data == NULL && err.code == LT_EINVAL);
    //  Base64 without its padding, broken into CRLF lines, is whole data.
    s_mode(&server, S_BASE64_LOOSE);
    assert(lt_edoc_client_get(client, "A1", &data, &size, &raw, &raw_size, &err) == LT_EDOC_OK);
    assert(size == 5 && memcmp(data, "abcde", 5) == 0 && raw == NULL);
    free(data);
    //  A lone character after the last whole group holds no byte, and a
    //  character outside the alphabet does not end the data early: neither
    //  is base64.
    s_mode(&server, S_BASE64_CUT);
    assert(lt_edoc_client_get(client, "A1", &data, &size, NULL, NULL, &err) == LT_EDOC_TRANSIENT);
    assert(data == NULL && err.code == LT_EINVAL);
    s_mode(&server, S_BASE64_URL);
    assert(lt_edoc_client_get(client, "A1", &data, &size, NULL, NULL, &err) == LT_EDOC_OK);
    assert(size == 6 && memcmp(data, "\xfb\xff\xbf" "abc", 6) == 0);
    free(data);
    s_mode(&server, S_BASE64_DASH);
    assert(lt_edoc_client_get(client, "A1", &data, &size, NULL, NULL, &err) == LT_EDOC_TRANSIENT);
    assert(data == NULL && err.code == LT_EINVAL);
    s_mode(&server, S_NORMAL);
    //  An id that cannot travel as a header exactly is refused before any call.
    int before = server.requests;
    assert(lt_edoc_client_get(client, " SP ", &data, &size, NULL, NULL, &err)
           == LT_EDOC_PERMANENT);
    assert(err.code == LT_EINVAL && strstr(err.detail, "' SP '"));
    assert(lt_edoc_client_update(client, "Vi\xe1\xbb\x87t", "done", NULL, &err)
           == LT_EDOC_PERMANENT);
    assert(err.code == LT_EINVAL && server.requests == before);

    //  A list with a docId beyond 64 bits is still read: that item and the
    //  ids no header carries exactly are skipped, the others taken.
    s_mode(&server, S_BIG_NUMBERS);
    assert(lt_edoc_client_list(client, "edoc", &items, &count, &err) == LT_EDOC_OK);
    assert(count == 3);
    assert(strcmp(items[0].doc_id, "B1") == 0 && items[0].from[0] == 0);
    assert(strcmp(items[0].to, "000.00.12.H26") == 0);
    assert(strcmp(items[1].doc_id, "43") == 0 && strcmp(items[1].status, "initial") == 0);
    assert(strcmp(items[2].doc_id, "in ner") == 0);
    free(items);
    assert(lt_edoc_client_list(client, "edoc", &items, &count, &err) == LT_EDOC_OK);
    assert(count == 3);   //  the same again (the skipped ones logged only the first time)
    free(items);
    s_mode(&server, S_NORMAL);

    //  The status word in any case, with blanks around it, is OK (servers
    //  written apart from the reference SDK send "ok" or "Ok").
    s_mode(&server, S_STATUS_CASE);
    assert(lt_edoc_client_list(client, "edoc", &items, &count, &err) == LT_EDOC_OK);
    assert(count == 1 && strcmp(items[0].doc_id, "C1") == 0);
    free(items);
    assert(lt_edoc_client_send(client, S_PACKAGE, 5, "edoc", NULL, 0, NULL, doc_id, &err)
           == LT_EDOC_OK);
    assert(strcmp(doc_id, "D-2") == 0);
    s_mode(&server, S_NORMAL);

    //  updateStatus: the description travels as printable ASCII (header
    //  values beyond it are not portable): control characters become
    //  spaces, each other character '?'; a long one is cut to 400 bytes.
    assert(lt_edoc_client_update(client, "A1", "fail", " line one\nline\ttwo\x01", &err)
           == LT_EDOC_OK);
    assert(strcmp(server.last_status, "fail") == 0);
    assert(strcmp(server.last_desc, "line one line two") == 0);
    assert(lt_edoc_client_update(client, "A1", "fail", "B\xe1\xba\xa3n tin l\xe1\xbb\x97i \xff!",
                                 &err)
           == LT_EDOC_OK);
    assert(strcmp(server.last_desc, "B?n tin l?i ?!") == 0);
    char long_desc[1000] = "";
    for (size_t i = 0; i + 3 < sizeof(long_desc); i += 3)
        memcpy(long_desc + i, "\xe1\xba\xa1", 3);   //  U+1EA1, three bytes
    long_desc[999] = 0;
    assert(lt_edoc_client_update(client, "A1", "fail", long_desc, &err) == LT_EDOC_OK);
    assert(strlen(server.last_desc) == 333);
    memset(long_desc, 'x', 999);
    assert(lt_edoc_client_update(client, "A1", "fail", long_desc, &err) == LT_EDOC_OK);
    assert(strlen(server.last_desc) == 400);
    assert(lt_edoc_client_update(client, "A1", "done", NULL, &err) == LT_EDOC_OK);
    assert(strcmp(server.last_desc, "") == 0);

    //  A JSON body with its hash-file.
    json_t *answer = NULL;
    assert(lt_edoc_client_post_json(client, "registerDocuments", "{\"entries\":[]}", &answer,
                                    &err)
           == LT_EDOC_OK);
    assert(json_integer_value(json_object_get(answer, "accepted")) == 1);
    json_decref(answer);

    //  Failures sorted: what heals is transient, what does not is permanent.
    struct {
        s_mode_t mode;
        lt_edoc_outcome_t outcome;
        const char *detail;
    } cases[] = {
        {S_HTTP_503, LT_EDOC_TRANSIENT, "HTTP status 503"},
        //  Not the API's answer but a proxy's or a load balancer's, about
        //  the place rather than the package: transient, as every
        //  package sent there would get the same.
        {S_HTTP_404, LT_EDOC_TRANSIENT, "HTTP status 404"},
        {S_HTTP_302, LT_EDOC_TRANSIENT, "HTTP status 302"},
        {S_FAIL_LOWER, LT_EDOC_PERMANENT, "ErrorCode 400: bad"},
        {S_FAIL_500, LT_EDOC_TRANSIENT, "ErrorCode 500: later"},
        {S_FAIL_400, LT_EDOC_PERMANENT, "ErrorCode 400: bad package"},
        {S_TRUNCATED, LT_EDOC_TRANSIENT, "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_mode(&server, cases[i].mode);
        outcome = lt_edoc_client_send(client, S_PACKAGE, 5, "edoc", NULL, 0, NULL, doc_id, &err);
        if (outcome != cases[i].outcome || !strstr(err.detail, cases[i].detail))
            fprintf(stderr, "case %zu: %s %s\n", i, lt_edoc_outcome_name(outcome), err.detail);
        assert(outcome == cases[i].outcome);
        assert(strstr(err.detail, cases[i].detail));
        assert(strstr(err.detail, "sendEdoc"));
    }
    //  A wrong secret: the server's 401 is permanent, and the secret is not told.
    s_mode(&server, S_NORMAL);
    lt_edoc_client_config_t wrong = config;
    wrong.secret = "other-secret";
    wrong.secret_size = strlen("other-secret");
    lt_edoc_client_t *intruder = lt_edoc_client_new(&wrong, &err);
    assert(intruder);
    assert(lt_edoc_client_list(intruder, "edoc", &items, &count, &err) == LT_EDOC_PERMANENT);
    assert(strstr(err.detail, "ErrorCode 401") && !strstr(err.detail, "other-secret"));
    lt_edoc_client_destroy(&intruder);

    //  A hung server times out (transient); a closed one refuses (transient).
    s_mode(&server, S_HANG);
    config.timeout_ms = 300;
    lt_edoc_client_t *impatient = lt_edoc_client_new(&config, &err);
    assert(impatient);
    assert(lt_edoc_client_update(impatient, "A1", "done", NULL, &err) == LT_EDOC_TRANSIENT);
    assert(err.code == LT_ETIMEOUT);
    lt_http_server_destroy(&http);
    assert(lt_edoc_client_update(impatient, "A1", "done", NULL, &err) == LT_EDOC_TRANSIENT);
    assert(err.code == LT_EUNAVAIL);
    lt_edoc_client_destroy(&impatient);
    assert(strcmp(lt_edoc_outcome_name(LT_EDOC_PERMANENT), "permanent") == 0);

    lt_edoc_client_destroy(&client);
    lt_edoc_client_destroy(&client);   //  safe on NULL
    pthread_mutex_destroy(&server.lock);
    if (verbose)
        printf("OK\n");
}
