/*  lt_routes: a connector's default routes file (see the header for the
    format). Parsing stops at the first problem and names it with the
    file's name and line, as lthubd's own config errors do.
*/
#include "lt_routes.h"
#include "lt_envelope.h"
#include "lt_pattern.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_LINE_MAX 256                //  longest line, characters (without its newline)
#define S_FILE_MAX (64 * 1024)        //  largest routes file, bytes
#define S_PROVINCE "{province}"       //  what stands for broker/province in MATCH
#define S_IF_PROVINCE "if-province"   //  the one word that may follow MATCH
#define s_streq(a, b) (strcmp((a), (b)) == 0)
#define S_KINDS_HELP "document, status, dossier, progress, report, register, fact or *"

struct _lt_routes_t {
    char *origin;                                 //  name for messages
    lt_route_default_t routes[LT_ROUTES_MAX];     //  routes in file order
    size_t count;                                 //  routes in use
};

//  Parse KINDS into route; -1 with err naming the bad kind.
static int s_parse_kinds(lt_route_default_t *route, const char *text, const char *where,
                         lt_err_t *err)
{
    if (strlen(text) >= sizeof(route->kinds_text)) {
        lt_err_set(err, LT_ECONFIG, "%s: KINDS is longer than %zu characters", where,
                   sizeof(route->kinds_text) - 1);
        return -1;
    }
    snprintf(route->kinds_text, sizeof(route->kinds_text), "%s", text);
    const char *at = text;
    while (true) {
        const char *comma = strchr(at, ',');
        size_t len = comma ? (size_t) (comma - at) : strlen(at);
        char name[64];
        if (len == 0) {
            lt_err_set(err, LT_ECONFIG, "%s: empty kind in '%s' (kinds are separated by one comma)",
                       where, text);
            return -1;
        }
        if (len >= sizeof(name)) {
            lt_err_set(err, LT_ECONFIG, "%s: kind '%.*s...' is unknown (%s)", where, 20, at,
                       S_KINDS_HELP);
            return -1;
        }
        memcpy(name, at, len);
        name[len] = 0;
        if (strcmp(name, "*") == 0)
            route->kinds |= ~0u & ~1u;   //  every kind, as a config's "*"
        else {
            int kind = lt_kind_from_name(name);
            if (kind <= 0) {
                lt_err_set(err, LT_ECONFIG, "%s: kind '%s' is unknown (%s)", where, name,
                           S_KINDS_HELP);
                return -1;
            }
            route->kinds |= 1u << kind;
        }
        if (!comma)
            return 0;
        at = comma + 1;
    }
}

//  Check MATCH and copy it into route; -1 with err saying what is wrong.
static int s_parse_match(lt_route_default_t *route, const char *text, const char *where,
                         lt_err_t *err)
{
    if (strlen(text) > LT_ROUTES_MATCH_MAX) {
        lt_err_set(err, LT_ECONFIG, "%s: match '%.*s...' is longer than %d characters", where, 20,
                   text, LT_ROUTES_MATCH_MAX);
        return -1;
    }
    snprintf(route->match, sizeof(route->match), "%s", text);
    const char *at = strstr(text, S_PROVINCE);
    if (at && strstr(at + 1, S_PROVINCE)) {
        lt_err_set(err, LT_ECONFIG, "%s: match '%s' holds {province} more than once", where,
                   text);
        return -1;
    }
    //  Braces other than those of {province} are a typo ({provice}).
    for (const char *c = text; *c; c++)
        if ((*c == '{' || *c == '}') && !(at && c >= at && c < at + strlen(S_PROVINCE))) {
            lt_err_set(err, LT_ECONFIG, "%s: match '%s': only {province} may stand in braces",
                       where, text);
            return -1;
        }
    route->needs_province = at != NULL;
    char probe[LT_PATTERN_MAX + 1];
    if (lt_routes_expand(route, "H26", probe, sizeof(probe)) != 0) {
        lt_err_set(err, LT_ECONFIG,
                   "%s: match '%s' is not '*', '*.SUFFIX', 'PREFIX*' or an agency code", where,
                   text);
        return -1;
    }
    return 0;
}

//  Parse one line (comment removed) into self; -1 with err.
static int s_parse_line(lt_routes_t *self, char *line, int number, lt_err_t *err)
{
    char where[300];
    snprintf(where, sizeof(where), "%s:%d", self->origin, number);
    char *fields[4];
    size_t count = 0;
    char *save = NULL;
    for (char *f = strtok_r(line, " \t", &save); f; f = strtok_r(NULL, " \t", &save)) {
        if (count == 3) {
            lt_err_set(err, LT_ECONFIG, "%s: too many words from '%s' (KINDS MATCH [%s])", where,
                       f, S_IF_PROVINCE);
            return -1;
        }
        fields[count++] = f;
    }
    if (count == 0)
        return 0;
    if (count == 1) {
        lt_err_set(err, LT_ECONFIG, "%s: route '%s' has no MATCH (KINDS MATCH [%s])", where,
                   fields[0], S_IF_PROVINCE);
        return -1;
    }
    if (self->count == LT_ROUTES_MAX) {
        lt_err_set(err, LT_ECONFIG, "%s: more than %d routes", where, LT_ROUTES_MAX);
        return -1;
    }
    lt_route_default_t route = {.line = number};
    if (s_parse_kinds(&route, fields[0], where, err)
        || s_parse_match(&route, fields[1], where, err))
        return -1;
    if (count == 3) {
        if (strcmp(fields[2], S_IF_PROVINCE) != 0) {
            lt_err_set(err, LT_ECONFIG, "%s: unknown word '%s' after MATCH (only '%s')", where,
                       fields[2], S_IF_PROVINCE);
            return -1;
        }
        route.needs_province = true;
    }
    for (size_t i = 0; i < self->count; i++)
        if (self->routes[i].kinds == route.kinds
            && strcmp(self->routes[i].match, route.match) == 0) {
            lt_err_set(err, LT_ECONFIG, "%s: the same route as line %d", where,
                       self->routes[i].line);
            return -1;
        }
    self->routes[self->count++] = route;
    return 0;
}

lt_routes_t *lt_routes_parse(const char *text, const char *origin, lt_err_t *err)
{
    assert(text);
    lt_routes_t *self = calloc(1, sizeof(*self));
    if (!self || !(self->origin = strdup(origin ? origin : "routes"))) {
        free(self);
        lt_err_set(err, LT_ENOMEM, "%s: out of memory", origin ? origin : "routes");
        return NULL;
    }
    int number = 0;
    const char *at = text;
    while (*at) {
        number++;
        const char *end = strchr(at, '\n');
        size_t len = end ? (size_t) (end - at) : strlen(at);
        if (len && at[len - 1] == '\r')
            len--;   //  a file saved with CRLF
        if (len > S_LINE_MAX) {
            lt_err_set(err, LT_ECONFIG, "%s:%d: line is longer than %d characters", self->origin,
                       number, S_LINE_MAX);
            lt_routes_destroy(&self);
            return NULL;
        }
        char line[S_LINE_MAX + 1];
        memcpy(line, at, len);
        line[len] = 0;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char) line[i] < 0x20 && line[i] != '\t') {
                lt_err_set(err, LT_ECONFIG, "%s:%d: control character 0x%02x in column %zu",
                           self->origin, number, (unsigned) line[i], i + 1);
                lt_routes_destroy(&self);
                return NULL;
            }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        if (s_parse_line(self, line, number, err)) {
            lt_routes_destroy(&self);
            return NULL;
        }
        if (!end)
            break;
        at = end + 1;
    }
    return self;
}

lt_routes_t *lt_routes_load(const char *path, lt_err_t *err)
{
    assert(path);
    FILE *file = fopen(path, "rb");
    if (!file) {
        lt_err_set(err, LT_EIO, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(S_FILE_MAX + 1);
    size_t size = text ? fread(text, 1, S_FILE_MAX + 1, file) : 0;
    bool failed = ferror(file) != 0;
    fclose(file);
    if (!text || failed || size > S_FILE_MAX || memchr(text, 0, size)) {
        lt_err_set(err, LT_ECONFIG, "%s: %s", path,
                   !text ? "out of memory"
                   : failed ? "read error"
                   : size > S_FILE_MAX ? "larger than 64 KiB"
                                       : "holds a NUL byte (not a text file)");
        free(text);
        return NULL;
    }
    text[size] = 0;
    lt_routes_t *self = lt_routes_parse(text, path, err);
    free(text);
    return self;
}

void lt_routes_destroy(lt_routes_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free((*self_p)->origin);
        free(*self_p);
        *self_p = NULL;
    }
}

size_t lt_routes_size(const lt_routes_t *self)
{
    assert(self);
    return self->count;
}

const lt_route_default_t *lt_routes_at(const lt_routes_t *self, size_t index)
{
    assert(self);
    return index < self->count ? &self->routes[index] : NULL;
}

const char *lt_routes_origin(const lt_routes_t *self)
{
    assert(self);
    return self->origin;
}

int lt_routes_expand(const lt_route_default_t *route, const char *province, char *out,
                     size_t out_size)
{
    assert(route && out && out_size);
    const char *at = strstr(route->match, S_PROVINCE);
    int n = at ? snprintf(out, out_size, "%.*s%s%s", (int) (at - route->match), route->match,
                          province ? province : "", at + strlen(S_PROVINCE))
               : snprintf(out, out_size, "%s", route->match);
    if (n < 0 || (size_t) n >= out_size || !lt_pattern_valid(out)) {
        *out = 0;
        return -1;
    }
    return 0;
}

//  Parse text expecting failure; assert the error names where and holds what.
static void s_expect_error(const char *text, const char *where, const char *what)
{
    lt_err_t err = {0};
    lt_routes_t *routes = lt_routes_parse(text, "connectors/x/routes.txt", &err);
    if (routes || !strstr(err.detail, where) || !strstr(err.detail, what))
        fprintf(stderr, "lt_routes_test: '%s' gave '%s', expected %s ... %s\n", text, err.detail,
                where, what);
    assert(!routes);
    assert(err.code == LT_ECONFIG);
    assert(strncmp(err.detail, where, strlen(where)) == 0);
    assert(strstr(err.detail, what));
}

void lt_routes_test(bool verbose)
{
    if (verbose)
        printf(" * lt_routes: ");
    lt_err_t err = {0};
    //  A good file: comments, blank lines, tabs, CRLF, the three shapes.
    const char *good = "#   default routes\n"
                       "\n"
                       "document,status  *.{province}   # the province's own\r\n"
                       "document,status\t{province}.*\n"
                       "dossier,progress  *  \n"
                       "document,status * if-province\n"
                       "*  000.00.00.G22";
    lt_routes_t *routes = lt_routes_parse(good, "connectors/x/routes.txt", &err);
    assert(routes);
    assert(lt_routes_size(routes) == 5);
    assert(s_streq(lt_routes_origin(routes), "connectors/x/routes.txt"));
    const lt_route_default_t *r = lt_routes_at(routes, 0);
    assert(r->line == 3 && r->needs_province);
    assert(r->kinds == ((1u << LT_KIND_DOCUMENT) | (1u << LT_KIND_STATUS)));
    assert(s_streq(r->match, "*.{province}") && s_streq(r->kinds_text, "document,status"));
    char pattern[64];
    assert(lt_routes_expand(r, "H26", pattern, sizeof(pattern)) == 0 && s_streq(pattern, "*.H26"));
    assert(lt_routes_expand(r, "", pattern, sizeof(pattern)) == -1 || s_streq(pattern, "*."));
    assert(lt_routes_expand(r, "H 26", pattern, sizeof(pattern)) == -1);
    r = lt_routes_at(routes, 1);
    assert(r->line == 4 && s_streq(r->match, "{province}.*"));
    r = lt_routes_at(routes, 2);
    assert(r->line == 5 && !r->needs_province && s_streq(r->match, "*"));
    assert(r->kinds == ((1u << LT_KIND_DOSSIER) | (1u << LT_KIND_PROGRESS)));
    r = lt_routes_at(routes, 3);
    assert(r->line == 6 && r->needs_province);
    r = lt_routes_at(routes, 4);
    assert(r->line == 7 && r->kinds == (~0u & ~1u) && s_streq(r->match, "000.00.00.G22"));
    assert(lt_routes_at(routes, 5) == NULL);
    lt_routes_destroy(&routes);
    lt_routes_destroy(&routes);
    assert(routes == NULL);
    //  An empty file, or comments only: no routes.
    routes = lt_routes_parse("", "empty", &err);
    assert(routes && lt_routes_size(routes) == 0);
    lt_routes_destroy(&routes);
    routes = lt_routes_parse("# none\n\n   \n", "empty", &err);
    assert(routes && lt_routes_size(routes) == 0);
    lt_routes_destroy(&routes);
    //  Malformed input: each named with file and line.
    const char *at2 = "connectors/x/routes.txt:2:";
    s_expect_error("# x\nletter *\n", at2, "kind 'letter' is unknown");
    s_expect_error("# x\ndocument,,status *\n", at2, "empty kind");
    s_expect_error("# x\ndocument, *\n", at2, "empty kind");
    s_expect_error("# x\nnone *\n", at2, "kind 'none' is unknown");
    s_expect_error("# x\ndocument\n", at2, "has no MATCH");
    s_expect_error("# x\ndocument * if-province extra\n", at2, "too many words");
    s_expect_error("# x\ndocument * when-province\n", at2, "unknown word 'when-province'");
    s_expect_error("# x\ndocument H26 *\n", at2, "unknown word '*'");
    s_expect_error("# x\ndocument *.{provice}\n", at2, "only {province}");
    s_expect_error("# x\ndocument {province}.{province}\n", at2, "more than once");
    s_expect_error("# x\ndocument H2*6\n", at2, "is not '*'");
    s_expect_error("# x\ndocument Hà.Nội\n", at2, "is not '*'");
    s_expect_error("# x\ndocument *.0123456789012345678901234567890123456789012345678\n", at2,
                   "longer than 48");
    s_expect_error("# x\ndocument *.H26\ndocument *.H26\n", "connectors/x/routes.txt:3:",
                   "the same route as line 2");
    s_expect_error("# x\ndoc\x01ument *\n", at2, "control character 0x01");
    char long_line[400];
    memset(long_line, 'a', sizeof(long_line));
    memcpy(long_line, "# x\n# ", 6);
    long_line[sizeof(long_line) - 1] = 0;
    s_expect_error(long_line, at2, "longer than 256");
    char many[2048] = "";
    for (int i = 0; i <= LT_ROUTES_MAX; i++) {
        char line[32];
        snprintf(line, sizeof(line), "report A%d\n", i);
        strncat(many, line, sizeof(many) - strlen(many) - 1);
    }
    s_expect_error(many, "connectors/x/routes.txt:33:", "more than 32 routes");
    //  From a file: a missing one, a good one, one with a NUL byte.
    assert(lt_routes_load("/nonexistent/routes.txt", &err) == NULL);
    assert(err.code == LT_EIO && strstr(err.detail, "/nonexistent/routes.txt"));
    char path[] = "/tmp/lt_routes_test_XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    assert(write(fd, "report *\nfact", 13) == 13);
    close(fd);
    routes = lt_routes_load(path, &err);
    assert(routes == NULL && strstr(err.detail, path) && strstr(err.detail, ":2: route 'fact'"));
    fd = open(path, O_WRONLY | O_TRUNC);
    assert(fd >= 0);
    assert(write(fd, "report *\n\0x", 11) == 11);
    close(fd);
    assert(lt_routes_load(path, &err) == NULL && strstr(err.detail, "NUL"));
    fd = open(path, O_WRONLY | O_TRUNC);
    assert(fd >= 0);
    assert(write(fd, "report *\n", 9) == 9);
    close(fd);
    routes = lt_routes_load(path, &err);
    assert(routes && lt_routes_size(routes) == 1 && s_streq(lt_routes_origin(routes), path));
    lt_routes_destroy(&routes);
    unlink(path);
    if (verbose)
        printf("OK\n");
}
