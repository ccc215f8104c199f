/*  lt_zpl: a ZPL file read with the line of every node (see the header).
*/
#include "lt_zpl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_BYTES (4 * 1024 * 1024)   //  largest file read

struct _lt_zpl_t {
    zconfig_t *root;      //  the tree
    zconfig_t **nodes;    //  nodes in document order, root excluded
    int *lines;           //  line of each node (all 0 when the count differs)
    size_t count;         //  nodes visited
    size_t size;          //  room in nodes and lines
};

//  zconfig_execute callback: collect the nodes in document order.
static int s_visit(zconfig_t *node, void *arg, int level)
{
    lt_zpl_t *self = arg;
    if (level == 0)
        return 0;
    if (self->count == self->size) {
        size_t size = self->size ? self->size * 2 : 256;
        zconfig_t **nodes = realloc(self->nodes, size * sizeof(*nodes));
        if (!nodes)
            return -1;
        self->nodes = nodes;
        int *lines = realloc(self->lines, size * sizeof(*lines));
        if (!lines)
            return -1;
        self->lines = lines;
        self->size = size;
    }
    self->nodes[self->count] = node;
    self->lines[self->count++] = 0;
    return 0;
}

//  Pair the nodes with the text's node lines (all or none).
static void s_map_lines(lt_zpl_t *self, const char *text, size_t size)
{
    size_t index = 0;
    int number = 0;
    for (size_t at = 0; at < size;) {
        const char *line = text + at;
        const char *end = memchr(line, '\n', size - at);
        size_t length = end ? (size_t) (end - line) : size - at;
        at += length + 1;
        number++;
        size_t skip = 0;
        while (skip < length && (line[skip] == ' ' || line[skip] == '\t'))
            skip++;
        if (skip == length || line[skip] == '#' || line[skip] == '\r')
            continue;
        if (index < self->count)
            self->lines[index] = number;
        index++;
    }
    if (index != self->count)
        for (size_t i = 0; i < self->count; i++)
            self->lines[i] = 0;
}

//  Parse a chunk with zconfig. zconfig reports a syntax error by printing
//  it on stdout, so stdout is pointed at a temporary file for the call.
static zconfig_t *s_parse(zchunk_t *chunk, char *captured, size_t size)
{
    FILE *tmp = tmpfile();
    int saved = -1;
    fflush(stdout);
    if (tmp) {
        saved = dup(STDOUT_FILENO);
        if (saved >= 0)
            dup2(fileno(tmp), STDOUT_FILENO);
    }
    zconfig_t *root = zconfig_chunk_load(chunk);
    fflush(stdout);
    if (tmp) {
        if (saved >= 0) {
            dup2(saved, STDOUT_FILENO);
            close(saved);
        }
        rewind(tmp);
        size_t n = fread(captured, 1, size - 1, tmp);
        captured[n] = 0;
        fclose(tmp);
    }
    return root;
}

lt_zpl_t *lt_zpl_load(const char *path, int *line_p, lt_err_t *err)
{
    assert(path);
    if (line_p)
        *line_p = 0;
    zfile_t *file = zfile_new(NULL, path);
    zchunk_t *chunk = NULL;
    if (file && !zfile_is_directory(file) && zfile_input(file) == 0 &&
        zfile_cursize(file) < S_MAX_BYTES)
        chunk = zfile_read(file, (size_t) zfile_cursize(file), 0);
    zfile_destroy(&file);
    if (!chunk)
        return lt_err_set(err, LT_ECONFIG,
                          "cannot read the file (missing, unreadable, a folder or over 4 MiB)"),
               NULL;
    char captured[512] = "";
    zconfig_t *root = zchunk_size(chunk) ? s_parse(chunk, captured, sizeof(captured))
                                         : zconfig_new("root", NULL);
    if (!root) {
        zchunk_destroy(&chunk);
        //  czmq writes "... (zconfig): (LINE) what is wrong".
        const char *at = strstr(captured, "(zconfig): (");
        if (!at)
            return lt_err_set(err, LT_ECONFIG, "cannot read the file (not ZPL)"), NULL;
        char *rest = NULL;
        int line = (int) strtol(at + 12, &rest, 10);
        if (rest && *rest == ')')
            rest++;
        if (line_p)
            *line_p = line;
        char text[300];
        snprintf(text, sizeof(text), "syntax error:%s", rest ? rest : "");
        text[strcspn(text, "\r\n")] = 0;
        return lt_err_set(err, LT_ECONFIG, "%s", text), NULL;
    }
    lt_zpl_t *self = calloc(1, sizeof(*self));
    if (!self || zconfig_execute(root, s_visit, self) != 0) {
        zchunk_destroy(&chunk);
        zconfig_destroy(&root);
        lt_zpl_destroy(&self);
        return lt_err_set(err, LT_ENOMEM, "out of memory"), NULL;
    }
    self->root = root;
    s_map_lines(self, (const char *) zchunk_data(chunk), zchunk_size(chunk));
    zchunk_destroy(&chunk);
    return self;
}

void lt_zpl_destroy(lt_zpl_t **self_p)
{
    assert(self_p);
    lt_zpl_t *self = *self_p;
    if (!self)
        return;
    zconfig_destroy(&self->root);
    free(self->nodes);
    free(self->lines);
    free(self);
    *self_p = NULL;
}

zconfig_t *lt_zpl_root(lt_zpl_t *self)
{
    assert(self);
    return self->root;
}

int lt_zpl_line(const lt_zpl_t *self, zconfig_t *node)
{
    assert(self);
    for (size_t i = 0; node && i < self->count; i++)
        if (self->nodes[i] == node)
            return self->lines[i];
    return 0;
}

//  Write text to a temporary file for the self-test; returns its path.
static char *s_write_temp(const char *text)
{
    char *path = strdup("/tmp/lt_zpl_test_XXXXXX");
    assert(path);
    int fd = mkstemp(path);
    assert(fd >= 0);
    ssize_t n = write(fd, text, strlen(text));
    assert(n == (ssize_t) strlen(text));
    close(fd);
    return path;
}

void lt_zpl_test(bool verbose)
{
    if (verbose)
        printf(" * lt_zpl: ");
    lt_err_t err;
    int line = -1;
    //  Lines skip comments and blanks; values are read.
    char *path = s_write_temp("#   a comment\n\nbroker\n    #   indented comment\n"
                              "    name = \"x\"\n\nconnectors\n    dms\n        listen = \"a:1\"\n");
    lt_zpl_t *zpl = lt_zpl_load(path, &line, &err);
    assert(zpl && line == 0);
    zconfig_t *root = lt_zpl_root(zpl);
    zconfig_t *broker = zconfig_locate(root, "broker");
    assert(broker && lt_zpl_line(zpl, broker) == 3);
    assert(lt_zpl_line(zpl, zconfig_locate(root, "broker/name")) == 5);
    assert(lt_zpl_line(zpl, zconfig_locate(root, "connectors/dms")) == 8);
    zconfig_t *listen = zconfig_locate(root, "connectors/dms/listen");
    assert(lt_zpl_line(zpl, listen) == 9 && streq(zconfig_value(listen), "a:1"));
    assert(lt_zpl_line(zpl, root) == 0 && lt_zpl_line(zpl, NULL) == 0);
    lt_zpl_destroy(&zpl);
    lt_zpl_destroy(&zpl);
    unlink(path);
    free(path);

    //  A syntax error names its line, and loading again and again leaks
    //  nothing (the Sanitize build checks).
    path = s_write_temp("broker\n    name = \"x\"\n    endpoint = \"tcp://x\n");
    for (int i = 0; i < 3; i++) {
        zpl = lt_zpl_load(path, &line, &err);
        assert(!zpl && line == 3 && strstr(err.detail, "syntax error"));
    }
    unlink(path);
    free(path);

    //  Missing file, folder, empty file.
    assert(!lt_zpl_load("/nonexistent/x.cfg", &line, &err) && line == 0);
    assert(strstr(err.detail, "cannot read"));
    assert(!lt_zpl_load("/tmp", NULL, &err));
    path = s_write_temp("");
    zpl = lt_zpl_load(path, NULL, &err);
    assert(zpl && zconfig_child(lt_zpl_root(zpl)) == NULL);
    lt_zpl_destroy(&zpl);
    unlink(path);
    free(path);
    if (verbose)
        printf("OK\n");
}
