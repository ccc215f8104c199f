/*  lthub-sim axis-send / axis-call: edoc API client helpers for scripted
    tests, against the axis simulator or the hub's own DMS-facing server
    (both speak spec/peers.md A).

      lthub-sim axis-send --url URL --system ID --secret-file F
                          [--messagetype edoc|status] [--to CODE[,CODE...]]
                          [--hash-file VALUE] FILE.edxml
      lthub-sim axis-call --url URL --system ID --secret-file F
                          [--data-out FILE] OPERATION [NAME=VALUE ...]

    Both print the answer body on stdout and exit 0 when its status is OK, 1
    when the server answered something else (FAIL, non-200, not JSON), 2 on
    a usage or transport error. --data-out writes the base64-decoded `data`
    of an OK answer (getEdoc) to a file.
*/
#include "lt_edoc_auth.h"
#include "lt_http_client.h"
#include "lt_id.h"
#include "sim.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_PARAMS 16   //  NAME=VALUE arguments of axis-call

//  Options common to both helpers.
typedef struct {
    const char *url;            //  base URL of the edoc API
    const char *system;         //  calling system id
    const char *secret_file;    //  its secret file
    const char *ca_file;        //  CA file for https, or NULL
    long timeout_ms;            //  whole-call timeout
} s_client_opts_t;

//  Take one common option; 1 when taken, 0 when not common, -1 on a bad value.
static int s_common_option(s_client_opts_t *opts, const char *name, const char *value)
{
    long long number = 0;
    if (strcmp(name, "--url") == 0)
        opts->url = value;
    else if (strcmp(name, "--system") == 0)
        opts->system = value;
    else if (strcmp(name, "--secret-file") == 0)
        opts->secret_file = value;
    else if (strcmp(name, "--ca-file") == 0)
        opts->ca_file = value;
    else if (strcmp(name, "--timeout") == 0) {
        if (!sim_parse_long(value, 1, 3600000, &number))
            return -1;
        opts->timeout_ms = (long) number;
    }
    else
        return 0;
    return 1;
}

//  Sign params, send them (with a file part when file is not NULL), print the
//  answer; returns the exit code. data_out receives the decoded data field.
static int s_call(const s_client_opts_t *opts, const char *operation,
                  const lt_edoc_param_t *params, size_t param_count, const void *file,
                  size_t file_size, const char *filename, const char *data_out)
{
    lt_err_t err;
    size_t secret_size = 0;
    char *secret = lt_edoc_secret_load(opts->secret_file, &secret_size, &err);
    if (!secret) {
        fprintf(stderr, "lthub-sim: %s\n", err.detail);
        return 2;
    }
    char stamp[LT_EDOC_TIMESTAMP_LEN];
    lt_edoc_auth_timestamp(lt_time_ms(), stamp);
    lt_edoc_headers_t *signed_headers = lt_edoc_auth_sign(opts->system, secret, secret_size,
                                                          stamp, params, param_count, &err);
    lt_edoc_secret_free(&secret, secret_size);
    if (!signed_headers) {
        fprintf(stderr, "lthub-sim: %s\n", err.detail);
        return 2;
    }
    size_t count = lt_edoc_headers_count(signed_headers);
    lt_http_header_t headers[LT_EDOC_MAX_PARAMS + 5];
    for (size_t i = 0; i < count; i++) {
        headers[i].name = lt_edoc_headers_name(signed_headers, i);
        headers[i].value = lt_edoc_headers_value(signed_headers, i);
    }
    lt_http_client_t *client = lt_http_client_new(opts->url);
    if (!client) {
        lt_edoc_headers_destroy(&signed_headers);
        fprintf(stderr, "lthub-sim: --url must be an http:// or https:// URL\n");
        return 2;
    }
    lt_http_client_set_timeout(client, opts->timeout_ms);
    if (opts->ca_file && lt_http_client_set_ca_file(client, opts->ca_file)) {
        fprintf(stderr, "lthub-sim: cannot read CA file %s\n", opts->ca_file);
        lt_http_client_destroy(&client);
        lt_edoc_headers_destroy(&signed_headers);
        return 2;
    }
    lt_http_reply_t reply = {0};
    lt_error_t rc = file ? lt_http_client_post_file(client, operation, headers, count,
                                                    "file_doc", filename, file, file_size,
                                                    &reply, &err)
                         : lt_http_client_post(client, operation, headers, count, NULL, 0, NULL,
                                               &reply, &err);
    lt_http_client_destroy(&client);
    lt_edoc_headers_destroy(&signed_headers);
    if (rc != LT_OK) {
        fprintf(stderr, "lthub-sim: %s: %s\n", lt_error_name(rc), err.detail);
        return 2;
    }
    fwrite(reply.body, 1, reply.size, stdout);
    printf("\n");
    int code = 1;
    json_t *answer = reply.status == 200 ? json_loadb(reply.body, reply.size, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(answer, "status"));
    if (reply.status != 200)
        fprintf(stderr, "lthub-sim: HTTP status %ld\n", reply.status);
    else if (!answer)
        fprintf(stderr, "lthub-sim: the answer is not JSON\n");
    else if (status && strcmp(status, "OK") == 0)
        code = 0;
    if (code == 0 && data_out) {
        const char *data = json_string_value(json_object_get(answer, "data"));
        size_t size = 0;
        unsigned char *bytes = data ? sim_base64_decode(data, &size) : NULL;
        if (!bytes || sim_write_file(data_out, bytes, size)) {
            fprintf(stderr, "lthub-sim: cannot write the decoded data to %s\n", data_out);
            code = 2;
        }
        free(bytes);
    }
    json_decref(answer);
    lt_http_reply_free(&reply);
    return code;
}

//  Return true when the common options needed for a call are present.
static bool s_common_ready(const s_client_opts_t *opts, const char *mode)
{
    if (opts->url && opts->system && opts->secret_file)
        return true;
    fprintf(stderr, "lthub-sim %s: --url, --system and --secret-file are required\n", mode);
    return false;
}

int sim_axis_send_main(int argc, char *argv[])
{
    s_client_opts_t opts = {.timeout_ms = 30000};
    const char *messagetype = "edoc", *to = NULL, *hash = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            if (path) {
                fprintf(stderr, "lthub-sim axis-send: one file only\n");
                return 2;
            }
            path = argv[i];
            continue;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "lthub-sim axis-send: %s needs a value\n", argv[i]);
            return 2;
        }
        const char *name = argv[i], *value = argv[++i];
        int taken = s_common_option(&opts, name, value);
        if (taken == 1)
            continue;
        if (taken == 0 && strcmp(name, "--messagetype") == 0)
            messagetype = value;
        else if (taken == 0 && strcmp(name, "--to") == 0)
            to = value;
        else if (taken == 0 && strcmp(name, "--hash-file") == 0)
            hash = value;
        else {
            fprintf(stderr, "lthub-sim axis-send: unknown option or bad value: %s %s\n", name,
                    value);
            return 2;
        }
    }
    if (!s_common_ready(&opts, "axis-send"))
        return 2;
    if (!path) {
        fprintf(stderr, "lthub-sim axis-send: which .edxml file?\n");
        return 2;
    }
    lt_err_t err;
    size_t size = 0;
    unsigned char *file = sim_read_file(path, 256u * 1024 * 1024, &size, &err);
    if (!file) {
        fprintf(stderr, "lthub-sim axis-send: %s\n", err.detail);
        return 2;
    }
    char computed[LT_SHA256_UNPADDED];
    lt_edoc_auth_hash_file(file, size, computed);
    //  The `to` parameter: a JSON array of the given codes.
    char *to_json = NULL;
    if (to) {
        json_t *array = json_array();
        for (const char *code = to; *code;) {
            size_t len = strcspn(code, ",");
            if (len)
                json_array_append_new(array, json_stringn(code, len));
            code += len + (code[len] == ',');
        }
        to_json = json_dumps(array, JSON_COMPACT);
        json_decref(array);
    }
    lt_edoc_param_t params[5] = {
        {"from", opts.system},
        {"servicetype", "eDoc"},
        {"messagetype", messagetype},
        {"hash-file", hash ? hash : computed},
    };
    size_t count = 4;
    if (to_json)
        params[count++] = (lt_edoc_param_t){"to", to_json};
    const char *filename = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int rc = s_call(&opts, "sendEdoc", params, count, file, size, filename, NULL);
    free(to_json);
    free(file);
    return rc;
}

int sim_axis_call_main(int argc, char *argv[])
{
    s_client_opts_t opts = {.timeout_ms = 30000};
    const char *operation = NULL, *data_out = NULL;
    lt_edoc_param_t params[S_MAX_PARAMS];
    char names[S_MAX_PARAMS][64];
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "lthub-sim axis-call: %s needs a value\n", argv[i]);
                return 2;
            }
            const char *name = argv[i], *value = argv[++i];
            int taken = s_common_option(&opts, name, value);
            if (taken == 0 && strcmp(name, "--data-out") == 0)
                data_out = value;
            else if (taken != 1) {
                fprintf(stderr, "lthub-sim axis-call: unknown option or bad value: %s %s\n",
                        name, value);
                return 2;
            }
            continue;
        }
        if (!operation) {
            operation = argv[i];
            continue;
        }
        const char *equals = strchr(argv[i], '=');
        size_t len = equals ? (size_t) (equals - argv[i]) : 0;
        if (!equals || len == 0 || len >= sizeof(names[0]) || count == S_MAX_PARAMS) {
            fprintf(stderr, "lthub-sim axis-call: parameters are NAME=VALUE (at most %d): %s\n",
                    S_MAX_PARAMS, argv[i]);
            return 2;
        }
        memcpy(names[count], argv[i], len);
        names[count][len] = 0;
        params[count].name = names[count];
        params[count].value = equals + 1;
        count++;
    }
    if (!s_common_ready(&opts, "axis-call"))
        return 2;
    if (!operation) {
        fprintf(stderr, "lthub-sim axis-call: which operation?\n");
        return 2;
    }
    return s_call(&opts, operation, params, count, NULL, 0, NULL, data_out);
}
