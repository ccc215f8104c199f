/*  fuzz_multipart: libFuzzer target for the HTTP server's streaming
    multipart/form-data parser (lt_http_form_parse in http/lt_http_server.c),
    which reads every sendEdoc upload a DMS system sends to lthub-dms.

    Input: one byte choosing the chunk size, one the parts kept at most,
    then the Content-Type up to the first LF (a line that does not start
    with "multipart/" is taken as the boundary of "multipart/form-data;
    boundary=LINE"), then the body. Checks:
    - the parts do not depend on how the body is split into chunks (the
      server gets it in pieces of any size): whole, in the chosen chunks and
      byte by byte, the same count, names, file names and bytes;
    - never more parts than allowed, and each part's bytes stand in the body;
    - the parts written again as a multipart body (another boundary, names
      quoted with escapes) read back the same.
*/
#include "lt_http_server.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_PARTS 16
#define S_BOUNDARY  "lt-fuzz-0b7f3e"
#define S_HEAD_MAX  (8u * 1024)   //  the parser's bound on a part's header block

//  What one parse kept.
typedef struct {
    size_t count;
    char *name[S_MAX_PARTS];
    char *filename[S_MAX_PARTS];   //  NULL when the part had none
    char *data[S_MAX_PARTS];
    size_t size[S_MAX_PARTS];
} s_parts_t;

static void s_keep(const char *name, const char *filename, const void *data, size_t size,
                   void *arg)
{
    s_parts_t *parts = arg;
    assert(parts->count < S_MAX_PARTS);
    assert(name && data && ((const char *) data)[size] == 0);
    size_t i = parts->count++;
    parts->name[i] = strdup(name);
    parts->filename[i] = filename ? strdup(filename) : NULL;
    parts->data[i] = malloc(size + 1);
    assert(parts->name[i] && (!filename || parts->filename[i]) && parts->data[i]);
    memcpy(parts->data[i], data, size + 1);
    parts->size[i] = size;
}

static void s_clear(s_parts_t *parts)
{
    for (size_t i = 0; i < parts->count; i++) {
        free(parts->name[i]);
        free(parts->filename[i]);
        free(parts->data[i]);
    }
    memset(parts, 0, sizeof(*parts));
}

//  Parse and return the count (-1 when refused), the parts in parts.
static int s_parse(const char *type, const void *body, size_t size, size_t step, size_t max,
                   s_parts_t *parts)
{
    memset(parts, 0, sizeof(*parts));
    int count = lt_http_form_parse(type, body, size, step, max, s_keep, parts);
    assert(count == -1 ? parts->count == 0 : (size_t) count == parts->count);
    assert(count <= (int) max);
    return count;
}

static bool s_same(const s_parts_t *a, const s_parts_t *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        if (strcmp(a->name[i], b->name[i]) != 0 || a->size[i] != b->size[i]
            || memcmp(a->data[i], b->data[i], a->size[i]) != 0)
            return false;
        if (!a->filename[i] != !b->filename[i]
            || (a->filename[i] && strcmp(a->filename[i], b->filename[i]) != 0))
            return false;
    }
    return true;
}

//  Append text to out as a quoted string, with '"' and '\' escaped.
static size_t s_quoted(char *out, const char *text)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *text; text++) {
        if (*text == '"' || *text == '\\')
            out[n++] = '\\';
        out[n++] = *text;
    }
    out[n++] = '"';
    return n;
}

//  Write the parts again as a multipart body with S_BOUNDARY; NULL when
//  they cannot be (a part holds the delimiter, or a header block would
//  pass the parser's bound).
static char *s_write(const s_parts_t *parts, size_t *size)
{
    const char *delim = "\r\n--" S_BOUNDARY;
    size_t total = 64;
    for (size_t i = 0; i < parts->count; i++) {
        size_t head = 2 * strlen(parts->name[i])
                      + (parts->filename[i] ? 2 * strlen(parts->filename[i]) : 0) + 80;
        if (head > S_HEAD_MAX || memmem(parts->data[i], parts->size[i], delim, strlen(delim)))
            return NULL;
        total += head + parts->size[i] + strlen(delim) + 4;
    }
    char *out = malloc(total);
    assert(out);
    size_t n = (size_t) sprintf(out, "--%s", S_BOUNDARY);
    for (size_t i = 0; i < parts->count; i++) {
        n += (size_t) sprintf(out + n, "\r\nContent-Disposition: form-data; name=");
        n += s_quoted(out + n, parts->name[i]);
        if (parts->filename[i]) {
            n += (size_t) sprintf(out + n, "; filename=");
            n += s_quoted(out + n, parts->filename[i]);
        }
        n += (size_t) sprintf(out + n, "\r\n\r\n");
        memcpy(out + n, parts->data[i], parts->size[i]);
        n += parts->size[i];
        n += (size_t) sprintf(out + n, "%s", delim);
    }
    n += (size_t) sprintf(out + n, "--\r\n");
    assert(n < total);
    *size = n;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = data[0];   //  0: the whole body at once
    size_t max = 1 + data[1] % S_MAX_PARTS;
    const uint8_t *line = data + 2;
    const uint8_t *lf = memchr(line, '\n', size - 2);
    if (!lf)
        return 0;
    size_t line_len = (size_t) (lf - line);
    char *type = malloc(line_len + 64);
    assert(type);
    if (line_len >= 10 && memcmp(line, "multipart/", 10) == 0)
        sprintf(type, "%.*s", (int) line_len, (const char *) line);
    else
        sprintf(type, "multipart/form-data; boundary=%.*s", (int) line_len, (const char *) line);
    const char *body = (const char *) lf + 1;
    size_t body_size = size - (size_t) (lf + 1 - data);

    s_parts_t whole, chunked, bytes;
    int count = s_parse(type, body, body_size, 0, max, &whole);
    assert(s_parse(type, body, body_size, step, max, &chunked) == count);
    assert(s_same(&whole, &chunked));
    assert(s_parse(type, body, body_size, 1, max, &bytes) == count);
    assert(s_same(&whole, &bytes));
    for (size_t i = 0; i < whole.count; i++)
        assert(whole.size[i] == 0 || memmem(body, body_size, whole.data[i], whole.size[i]));
    size_t again_size = 0;
    char *again = count > 0 ? s_write(&whole, &again_size) : NULL;
    if (again) {
        s_parts_t read_back;
        assert(s_parse("multipart/form-data; boundary=" S_BOUNDARY, again, again_size, step, max,
                       &read_back)
               == count);
        assert(s_same(&whole, &read_back));
        s_clear(&read_back);
        free(again);
    }
    s_clear(&whole);
    s_clear(&chunked);
    s_clear(&bytes);
    free(type);
    return 0;
}
