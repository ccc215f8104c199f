/*  lt_http_client: libcurl easy handle per peer, errors mapped to lt_error_t.

    Each call resets the handle's options (curl_easy_reset keeps the live
    connection and the TLS session cache) and sets them again, so one call
    never inherits another's body, method or headers.
*/
#include "lt_http_client.h"

#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _lt_http_client_t {
    CURL *curl;                      //  the one easy handle: keeps the connection alive
    char *base_url;                  //  base URL, owned
    char *ca_file;                   //  CA file, owned, or NULL for the system store
    long connect_ms;                 //  connect timeout
    long timeout_ms;                 //  whole-call timeout
    size_t max_reply;                //  largest reply body accepted
    char errbuf[CURL_ERROR_SIZE];    //  curl's message for the last failure
};

//  Reply body being received.
typedef struct {
    char *data;      //  bytes so far, malloc'd
    size_t size;     //  bytes used
    size_t cap;      //  bytes allocated
    size_t max;      //  limit
    bool too_big;    //  the limit was hit
    bool nomem;      //  an allocation failed
} s_sink_t;

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;

//  Initialize libcurl once per process (its global state is never torn down).
static void s_curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

lt_http_client_t *lt_http_client_new(const char *base_url)
{
    assert(base_url);
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
        return NULL;
    pthread_once(&s_curl_once, s_curl_init);
    lt_http_client_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->base_url = strdup(base_url);
    self->curl = curl_easy_init();
    if (!self->base_url || !self->curl) {
        lt_http_client_destroy(&self);
        return NULL;
    }
    self->connect_ms = LT_HTTP_CONNECT_TIMEOUT_MS;
    self->timeout_ms = LT_HTTP_TIMEOUT_MS;
    self->max_reply = LT_HTTP_MAX_REPLY;
    return self;
}

void lt_http_client_destroy(lt_http_client_t **self_p)
{
    assert(self_p);
    lt_http_client_t *self = *self_p;
    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    free(self->base_url);
    free(self->ca_file);
    free(self);
    *self_p = NULL;
}

const char *lt_http_client_base_url(const lt_http_client_t *self)
{
    assert(self);
    return self->base_url;
}

void lt_http_client_set_connect_timeout(lt_http_client_t *self, long ms)
{
    assert(self);
    self->connect_ms = ms > 0 ? ms : LT_HTTP_CONNECT_TIMEOUT_MS;
}

void lt_http_client_set_timeout(lt_http_client_t *self, long ms)
{
    assert(self);
    self->timeout_ms = ms > 0 ? ms : LT_HTTP_TIMEOUT_MS;
}

void lt_http_client_set_max_reply(lt_http_client_t *self, size_t bytes)
{
    assert(self);
    self->max_reply = bytes > 0 ? bytes : LT_HTTP_MAX_REPLY;
}

int lt_http_client_set_ca_file(lt_http_client_t *self, const char *path)
{
    assert(self);
    char *copy = NULL;
    if (path) {
        if (access(path, R_OK) != 0)
            return -1;
        copy = strdup(path);
        if (!copy)
            return -1;
    }
    free(self->ca_file);
    self->ca_file = copy;
    return 0;
}

//  libcurl write callback: append to the sink, refusing past its limit.
static size_t s_sink_write(char *data, size_t size, size_t count, void *arg)
{
    s_sink_t *sink = arg;
    size_t bytes = size * count;
    if (bytes > sink->max - sink->size) {
        sink->too_big = true;
        return 0;
    }
    if (sink->size + bytes + 1 > sink->cap) {
        size_t cap = sink->cap ? sink->cap : 4096;
        while (cap < sink->size + bytes + 1)
            cap *= 2;
        //  Grown on demand, never past the limit: doubling alone would
        //  reserve up to twice it (256 MiB for a 128 MiB reply).
        if (cap > sink->max + 1)
            cap = sink->max + 1;
        char *grown = realloc(sink->data, cap);
        if (!grown) {
            sink->nomem = true;
            return 0;
        }
        sink->data = grown;
        sink->cap = cap;
    }
    memcpy(sink->data + sink->size, data, bytes);
    sink->size += bytes;
    return bytes;
}

//  Join base and path with exactly one '/'; caller frees; NULL on no memory.
static char *s_join_url(const char *base, const char *path)
{
    if (!path)
        path = "";
    size_t base_len = strlen(base);
    bool base_slash = base_len > 0 && base[base_len - 1] == '/';
    bool path_slash = path[0] == '/';
    if (base_slash && path_slash)
        path++;
    const char *sep = (!*path || base_slash || path_slash) ? "" : "/";
    size_t size = base_len + strlen(sep) + strlen(path) + 1;
    char *url = malloc(size);
    if (url)
        snprintf(url, size, "%s%s%s", base, sep, path);
    return url;
}

//  Copy a URL for an error detail without user:password@ or the query string.
static void s_safe_url(const char *url, char *buf, size_t size)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    const char *path = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t) (path - host));
    size_t query = strcspn(path, "?#");
    snprintf(buf, size, "%.*s%.*s%.*s", (int) (host - url), url,
             (int) (path - (at ? at + 1 : host)), at ? at + 1 : host, (int) query, path);
}

//  Map a libcurl failure to the project's error codes.
static lt_error_t s_map_curl(CURLcode rc, const s_sink_t *sink)
{
    if (sink->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return LT_ETOOBIG;
    if (sink->nomem)
        return LT_ENOMEM;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return LT_ETIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return LT_EUNAVAIL;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_TOO_MANY_REDIRECTS:
        return LT_EPEER;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return LT_ECONFIG;
    case CURLE_OUT_OF_MEMORY:
        return LT_ENOMEM;
    default:
        return LT_EIO;
    }
}

//  Return true when text can travel in a header line.
static bool s_header_ok(const char *text)
{
    return text && !strpbrk(text, "\r\n");
}

//  Append "Name: value" to a curl header list; false on failure.
static bool s_add_header(struct curl_slist **list, const char *name, const char *value)
{
    size_t size = strlen(name) + strlen(value) + 3;
    char *line = malloc(size);
    if (!line)
        return false;
    //  An empty value needs "Name;" or curl would drop the header.
    if (*value)
        snprintf(line, size, "%s: %s", name, value);
    else
        snprintf(line, size, "%s;", name);
    struct curl_slist *grown = curl_slist_append(*list, line);
    free(line);
    if (!grown)
        return false;
    *list = grown;
    return true;
}

//  Perform one request; body is either raw bytes or a mime (for uploads).
static lt_error_t s_perform(lt_http_client_t *self, const char *method, const char *path,
                            const lt_http_header_t *headers, size_t header_count,
                            const void *body, size_t size, const char *content_type,
                            curl_mime *mime, lt_http_reply_t *reply, lt_err_t *err)
{
    assert(self && method && reply);
    assert(headers || header_count == 0);
    lt_http_reply_free(reply);
    char *url = s_join_url(self->base_url, path);
    if (!url)
        return lt_err_set(err, LT_ENOMEM, "out of memory building a URL");
    char shown[256];
    s_safe_url(url, shown, sizeof(shown));

    struct curl_slist *list = NULL;
    bool ok = s_add_header(&list, "Expect", "");
    for (size_t i = 0; ok && i < header_count; i++) {
        if (!s_header_ok(headers[i].name) || !*headers[i].name || !s_header_ok(headers[i].value)) {
            curl_slist_free_all(list);
            free(url);
            return lt_err_set(err, LT_EFIELD, "%s %s: request header %zu is malformed", method,
                              shown, i);
        }
        ok = s_add_header(&list, headers[i].name, headers[i].value);
    }
    if (ok && content_type && !mime)
        ok = s_header_ok(content_type) && s_add_header(&list, "Content-Type", content_type);
    if (!ok) {
        curl_slist_free_all(list);
        free(url);
        return lt_err_set(err, LT_ENOMEM, "%s %s: cannot build the request headers", method,
                          shown);
    }

    CURL *curl = self->curl;
    s_sink_t sink = {.max = self->max_reply};
    self->errbuf[0] = 0;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, self->errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, self->connect_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (self->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, self->ca_file);
    //  Loopback peers (simulators, the broker's own servers) never go through a proxy.
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "lthub/" LT_VERSION);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_sink_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) self->max_reply);
    if (mime)
        curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    else if (strcmp(method, "GET") == 0 && !body)
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    else {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) size);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? (const char *) body : "");
    }
    if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);

    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(list);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, NULL);
    free(url);
    if (rc != CURLE_OK) {
        free(sink.data);
        lt_error_t code = s_map_curl(rc, &sink);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        //  The status line came before the body outgrew the limit; it
        //  tells the operator whether the peer accepted or refused.
        if (code == LT_ETOOBIG && status > 0)
            return lt_err_set(err, code, "%s %s: reply (HTTP %ld) larger than %zu bytes", method,
                              shown, status, self->max_reply);
        if (code == LT_ETOOBIG)
            return lt_err_set(err, code, "%s %s: reply larger than %zu bytes", method, shown,
                              self->max_reply);
        return lt_err_set(err, code, "%s %s: %s", method, shown,
                          self->errbuf[0] ? self->errbuf : curl_easy_strerror(rc));
    }
    if (!sink.data) {
        sink.data = malloc(1);
        if (!sink.data)
            return lt_err_set(err, LT_ENOMEM, "%s %s: out of memory", method, shown);
    }
    sink.data[sink.size] = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
    //  A redirect is not followed (a POST must not silently go elsewhere),
    //  so where the peer moved is only said, for the caller's reason.
    struct curl_header *location = NULL;
    if (curl_easy_header(curl, "Location", 0, CURLH_HEADER, -1, &location) == CURLHE_OK)
        snprintf(reply->location, sizeof(reply->location), "%s", location->value);
    reply->body = sink.data;
    reply->size = sink.size;
    lt_err_clear(err);
    return LT_OK;
}

lt_error_t lt_http_client_request(lt_http_client_t *self, const char *method, const char *path,
                                  const lt_http_header_t *headers, size_t header_count,
                                  const void *body, size_t size, const char *content_type,
                                  lt_http_reply_t *reply, lt_err_t *err)
{
    return s_perform(self, method, path, headers, header_count, body, size, content_type, NULL,
                     reply, err);
}

lt_error_t lt_http_client_post(lt_http_client_t *self, const char *path,
                               const lt_http_header_t *headers, size_t header_count,
                               const void *body, size_t size, const char *content_type,
                               lt_http_reply_t *reply, lt_err_t *err)
{
    return s_perform(self, "POST", path, headers, header_count, body, size, content_type, NULL,
                     reply, err);
}

lt_error_t lt_http_client_get(lt_http_client_t *self, const char *path,
                              const lt_http_header_t *headers, size_t header_count,
                              lt_http_reply_t *reply, lt_err_t *err)
{
    return s_perform(self, "GET", path, headers, header_count, NULL, 0, NULL, NULL, reply, err);
}

lt_error_t lt_http_client_post_file(lt_http_client_t *self, const char *path,
                                    const lt_http_header_t *headers, size_t header_count,
                                    const char *part, const char *filename, const void *data,
                                    size_t size, lt_http_reply_t *reply, lt_err_t *err)
{
    assert(self && part && filename && (data || size == 0));
    curl_mime *mime = curl_mime_init(self->curl);
    curl_mimepart *field = mime ? curl_mime_addpart(mime) : NULL;
    if (!field || curl_mime_name(field, part) != CURLE_OK
        || curl_mime_filename(field, filename) != CURLE_OK
        || curl_mime_type(field, "application/octet-stream") != CURLE_OK
        || curl_mime_data(field, data ? data : "", size) != CURLE_OK) {
        curl_mime_free(mime);
        lt_http_reply_free(reply);
        return lt_err_set(err, LT_ENOMEM, "POST %s: cannot build the multipart body", path);
    }
    lt_error_t rc = s_perform(self, "POST", path, headers, header_count, NULL, 0, NULL, mime,
                              reply, err);
    curl_mime_free(mime);
    return rc;
}

void lt_http_reply_free(lt_http_reply_t *reply)
{
    assert(reply);
    free(reply->body);
    reply->body = NULL;
    reply->size = 0;
    reply->status = 0;
    reply->location[0] = 0;
}

bool lt_http_status_transient(long status)
{
    switch (status) {
    case 408:
    case 425:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
        return true;
    default:
        return false;
    }
}

//  --------------------------------------------------------------------------
//  Self-test (with lt_http_server as the peer)

#include "lt_http_server.h"

//  Test handler: answers the path it saw, or a large body for "/large".
static lt_http_action_t s_test_handler(const lt_http_request_t *req, lt_http_response_t *resp,
                                       void *arg)
{
    const char *path = lt_http_request_path(req);
    if (strcmp(path, "/large") == 0) {
        static char large[8192];
        memset(large, 'x', sizeof(large));
        lt_http_response_set_body(resp, large, sizeof(large), "text/plain");
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/unavailable") == 0) {
        lt_http_response_set(resp, 503, "text/plain", "later");
        return LT_HTTP_ANSWER;
    }
    if (strcmp(path, "/moved") == 0) {
        lt_http_response_set(resp, 302, "text/plain", "");
        lt_http_response_add_header(resp, "Location", "https://elsewhere.example/moved");
        return LT_HTTP_ANSWER;
    }
    lt_http_response_set(resp, 200, "text/plain", path);
    return LT_HTTP_ANSWER;
}

void lt_http_client_test(bool verbose)
{
    if (verbose)
        printf(" * lt_http_client: ");
    lt_err_t err;
    assert(!lt_http_client_new("ftp://127.0.0.1/"));
    assert(!lt_http_client_new("127.0.0.1:80"));
    lt_http_server_t *server = lt_http_server_new("127.0.0.1", 0, s_test_handler, NULL, NULL, &err);
    assert(server);
    unsigned port = lt_http_server_port(server);
    char base[128];
    lt_http_reply_t reply = {0};

    //  Base URL and path are joined with exactly one '/'.
    const char *const slashes[] = {"/", ""};
    const char *paths[] = {"/sendEdoc", "sendEdoc"};
    for (size_t b = 0; b < 2; b++)
        for (size_t p = 0; p < 2; p++) {
            snprintf(base, sizeof(base), "http://127.0.0.1:%u/api%s", port, slashes[b]);
            lt_http_client_t *client = lt_http_client_new(base);
            assert(client);
            assert(strcmp(lt_http_client_base_url(client), base) == 0);
            assert(lt_http_client_post(client, paths[p], NULL, 0, "x", 1, "text/plain", &reply,
                                       &err)
                   == LT_OK);
            assert(reply.status == 200 && strcmp(reply.body, "/api/sendEdoc") == 0);
            lt_http_client_destroy(&client);
        }

    snprintf(base, sizeof(base), "http://127.0.0.1:%u", port);
    lt_http_client_t *client = lt_http_client_new(base);
    assert(client);
    //  A 5xx status is a reply, and transient.
    assert(lt_http_client_get(client, "/unavailable", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.status == 503 && lt_http_status_transient(reply.status));
    assert(!lt_http_status_transient(200) && !lt_http_status_transient(400));
    assert(lt_http_status_transient(429) && lt_http_status_transient(504));
    assert(!*reply.location);

    //  A redirect is a reply, not followed, with where it points.
    assert(lt_http_client_post(client, "/moved", NULL, 0, "x", 1, "text/plain", &reply, &err)
           == LT_OK);
    assert(reply.status == 302 && strcmp(reply.location, "https://elsewhere.example/moved") == 0);
    assert(lt_http_client_get(client, "/", NULL, 0, &reply, &err) == LT_OK && !*reply.location);

    //  A reply over the limit: LT_ETOOBIG, and the next call works.
    lt_http_client_set_max_reply(client, 1000);
    assert(lt_http_client_get(client, "/large", NULL, 0, &reply, &err) == LT_ETOOBIG);
    assert(strstr(err.detail, "(HTTP 200) larger than 1000 bytes"));
    lt_http_client_set_max_reply(client, 0);
    assert(lt_http_client_get(client, "/large", NULL, 0, &reply, &err) == LT_OK);
    assert(reply.size == 8192);

    //  The reply buffer grows with what comes, from 4 KiB, and never past
    //  the limit (plus its NUL).
    s_sink_t sink = {.max = 5000};
    char chunk[4097];
    memset(chunk, 'x', sizeof(chunk));
    assert(s_sink_write(chunk, 1, 100, &sink) == 100 && sink.cap == 4096);
    assert(s_sink_write(chunk, 1, 4000, &sink) == 4000 && sink.cap == 5001);
    assert(s_sink_write(chunk, 1, 900, &sink) == 900 && sink.size == 5000 && sink.cap == 5001);
    assert(s_sink_write(chunk, 1, 1, &sink) == 0 && sink.too_big);
    free(sink.data);

    //  Header injection is refused before anything is sent.
    lt_http_header_t bad[] = {{"X-Test", "a\r\nX-Evil: 1"}};
    assert(lt_http_client_get(client, "/", bad, 1, &reply, &err) == LT_EFIELD);
    assert(lt_http_client_set_ca_file(client, "/nonexistent/ca.pem") == -1);
    lt_http_client_destroy(&client);

    //  TLS toward a plain-HTTP server: LT_EPEER with curl's reason.
    const char *fixtures = getenv("LT_FIXTURES");
    snprintf(base, sizeof(base), "https://127.0.0.1:%u/", port);
    client = lt_http_client_new(base);
    assert(client);
    lt_http_client_set_timeout(client, 3000);
    if (fixtures) {
        char ca[1024];
        snprintf(ca, sizeof(ca), "%s/pki/ca.crt", fixtures);
        assert(lt_http_client_set_ca_file(client, ca) == 0);
    }
    lt_error_t rc = lt_http_client_get(client, "/", NULL, 0, &reply, &err);
    if (verbose)
        printf("\n    TLS to plain HTTP: %s %s", lt_error_name(rc), err.detail);
    assert(rc == LT_EPEER);
    lt_http_client_destroy(&client);

    //  Connection refused, and credentials in the URL never reach the detail.
    lt_http_server_destroy(&server);
    snprintf(base, sizeof(base), "http://user:pa55word@127.0.0.1:%u/x?token=t0ken", port);
    client = lt_http_client_new(base);
    assert(client);
    rc = lt_http_client_get(client, "/", NULL, 0, &reply, &err);
    if (verbose)
        printf("\n    refused: %s %s\n    ", lt_error_name(rc), err.detail);
    assert(rc == LT_EUNAVAIL);
    assert(strstr(err.detail, "127.0.0.1"));
    assert(!strstr(err.detail, "pa55word") && !strstr(err.detail, "t0ken"));
    lt_http_client_destroy(&client);
    lt_http_client_destroy(&client);
    lt_http_reply_free(&reply);
    if (verbose)
        printf("OK\n");
}
