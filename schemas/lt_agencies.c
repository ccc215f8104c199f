/*  lt_agencies: the agency directory (see the header for the file format).
    A linear array, sorted copy indexed by code for lookups.
*/
#include "lt_agencies.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_AGENCIES 100000   //  a province has a few thousand at most

struct _lt_agencies_t {
    lt_agency_t *list;    //  agencies in file order
    size_t size;          //  in use
    size_t alloc;         //  allocated
    lt_agency_t **byCode; //  sorted by code for lookups
};

lt_agencies_t *lt_agencies_new(void)
{
    return calloc(1, sizeof(lt_agencies_t));
}

void lt_agencies_destroy(lt_agencies_t **self_p)
{
    assert(self_p);
    lt_agencies_t *self = *self_p;
    if (!self)
        return;
    free(self->list);
    free(self->byCode);
    free(self);
    *self_p = NULL;
}

//  Copy a field trimmed of blanks; false when it does not fit.
static bool s_field(const char *start, size_t len, char *out, size_t size)
{
    while (len && (*start == ' ' || *start == '\t')) {
        start++;
        len--;
    }
    while (len && (start[len - 1] == ' ' || start[len - 1] == '\t' || start[len - 1] == '\r' ||
                   start[len - 1] == '\n'))
        len--;
    if (len >= size)
        return false;
    memcpy(out, start, len);
    out[len] = 0;
    return true;
}

//  True when a code looks like GROUP.GROUP.GROUP.PROVINCE.
static bool s_code_ok(const char *code)
{
    int dots = 0;
    for (const char *p = code; *p; p++) {
        if (*p == '.')
            dots++;
        else if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '_'))
            return false;
    }
    return *code && dots == 3;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp((*(lt_agency_t *const *) a)->code, (*(lt_agency_t *const *) b)->code);
}

const lt_agency_t *lt_agencies_find(const lt_agencies_t *self, const char *code)
{
    if (!self || !self->byCode)
        return NULL;
    lt_agency_t key;
    snprintf(key.code, sizeof(key.code), "%s", code);
    lt_agency_t *kp = &key;
    lt_agency_t **hit = bsearch(&kp, self->byCode, self->size, sizeof(lt_agency_t *), s_cmp);
    return hit ? *hit : NULL;
}

lt_agencies_t *lt_agencies_load(const char *path, lt_err_t *err)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return lt_err_set(err, LT_ECONFIG, "%s: cannot open the agency directory", path), NULL;
    lt_agencies_t *self = lt_agencies_new();
    char line[2048];
    int lineno = 0;
    bool ok = self != NULL;
    while (ok && fgets(line, sizeof(line), in)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(in)) {
            lt_err_set(err, LT_ECONFIG, "%s:%d: line longer than %zu bytes", path, lineno,
                       sizeof(line) - 2);
            ok = false;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        const char *fields[5];
        size_t lens[5], n = 0;
        const char *p = line;
        while (n < 5) {
            size_t len = n < 4 ? strcspn(p, "|") : strlen(p);
            fields[n] = p;
            lens[n++] = len;
            if (n < 5 && p[len] != '|')
                break;
            p += len + (n < 5);
        }
        lt_agency_t a;
        memset(&a, 0, sizeof(a));
        a.line = lineno;
        char level[16];
        if (n != 5) {
            lt_err_set(err, LT_ECONFIG,
                       "%s:%d: expected 5 fields CODE | PARENT | LEVEL | KIND | NAME, found %zu",
                       path, lineno, n);
            ok = false;
        }
        else if (!s_field(fields[0], lens[0], a.code, sizeof(a.code)) || !s_code_ok(a.code)) {
            lt_err_set(err, LT_ECONFIG, "%s:%d: code is not an agency code like 000.00.12.H26",
                       path, lineno);
            ok = false;
        }
        else if (!s_field(fields[1], lens[1], a.parent, sizeof(a.parent)) ||
                 (*a.parent && !s_code_ok(a.parent))) {
            lt_err_set(err, LT_ECONFIG, "%s:%d: parent is not an agency code", path, lineno);
            ok = false;
        }
        else if (!s_field(fields[2], lens[2], level, sizeof(level)) || strlen(level) != 1 ||
                 level[0] < '1' || level[0] > '4') {
            lt_err_set(err, LT_ECONFIG, "%s:%d: level must be 1, 2, 3 or 4", path, lineno);
            ok = false;
        }
        else if (!s_field(fields[3], lens[3], a.kind, sizeof(a.kind)) || !*a.kind) {
            lt_err_set(err, LT_ECONFIG, "%s:%d: kind is missing or longer than 31 bytes", path,
                       lineno);
            ok = false;
        }
        else if (!s_field(fields[4], lens[4], a.name, sizeof(a.name)) || !*a.name) {
            lt_err_set(err, LT_ECONFIG, "%s:%d: name is missing or longer than 255 bytes", path,
                       lineno);
            ok = false;
        }
        if (!ok)
            break;
        a.level = level[0] - '0';
        if (self->size == S_MAX_AGENCIES) {
            lt_err_set(err, LT_ECONFIG, "%s:%d: more than %d agencies", path, lineno,
                       S_MAX_AGENCIES);
            ok = false;
            break;
        }
        for (size_t i = 0; i < self->size; i++)
            if (strcmp(self->list[i].code, a.code) == 0) {
                lt_err_set(err, LT_ECONFIG, "%s:%d: agency %s is already defined at line %d",
                           path, lineno, a.code, self->list[i].line);
                ok = false;
            }
        if (!ok)
            break;
        if (self->size == self->alloc) {
            size_t alloc = self->alloc ? self->alloc * 2 : 64;
            lt_agency_t *list = realloc(self->list, alloc * sizeof(lt_agency_t));
            if (!list) {
                lt_err_set(err, LT_ENOMEM, "%s: out of memory", path);
                ok = false;
                break;
            }
            self->list = list;
            self->alloc = alloc;
        }
        self->list[self->size++] = a;
    }
    fclose(in);
    if (ok && self->size) {
        self->byCode = malloc(self->size * sizeof(lt_agency_t *));
        if (!self->byCode)
            ok = false;
        else {
            for (size_t i = 0; i < self->size; i++)
                self->byCode[i] = &self->list[i];
            qsort(self->byCode, self->size, sizeof(lt_agency_t *), s_cmp);
        }
    }
    if (!ok)
        lt_agencies_destroy(&self);
    return self;
}

size_t lt_agencies_size(const lt_agencies_t *self)
{
    return self ? self->size : 0;
}

const lt_agency_t *lt_agencies_at(const lt_agencies_t *self, size_t index)
{
    return self && index < self->size ? &self->list[index] : NULL;
}

const char *lt_agencies_name(const lt_agencies_t *self, const char *code)
{
    const lt_agency_t *a = lt_agencies_find(self, code);
    return a ? a->name : code;
}

void lt_agency_code_parent(const char *code, char *out, size_t size)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", code);
    out[0] = 0;
    //  Zero the left-most group (of the three before the province) that is not zero.
    char *p = buf;
    for (int group = 0; group < 3; group++) {
        char *dot = strchr(p, '.');
        if (!dot)
            return;
        size_t len = (size_t) (dot - p);
        if (strspn(p, "0") < len) {
            memset(p, '0', len);
            snprintf(out, size, "%s", buf);
            return;
        }
        p = dot + 1;
    }
}

void lt_agencies_parent(const lt_agencies_t *self, const char *code, char *out, size_t size)
{
    const lt_agency_t *a = lt_agencies_find(self, code);
    if (a && *a->parent)
        snprintf(out, size, "%s", a->parent);
    else if (a && a->level == 1)
        out[0] = 0;
    else
        lt_agency_code_parent(code, out, size);
}

bool lt_agencies_under(const lt_agencies_t *self, const char *code, const char *ancestor)
{
    if (!ancestor || !*ancestor || !strchr(ancestor, '.'))
        return true;
    char at[64];
    snprintf(at, sizeof(at), "%s", code);
    for (int depth = 0; depth < 16 && *at; depth++) {
        if (strcmp(at, ancestor) == 0)
            return true;
        char up[64];
        lt_agencies_parent(self, at, up, sizeof(up));
        snprintf(at, sizeof(at), "%s", up);
    }
    return false;
}

void lt_agencies_test(bool verbose)
{
    if (verbose)
        printf(" * lt_agencies: ");
    char parent[64];
    lt_agency_code_parent("000.03.31.H26", parent, sizeof(parent));
    assert(strcmp(parent, "000.00.31.H26") == 0);
    lt_agency_code_parent("000.00.31.H26", parent, sizeof(parent));
    assert(strcmp(parent, "000.00.00.H26") == 0);
    lt_agency_code_parent("000.00.00.H26", parent, sizeof(parent));
    assert(strcmp(parent, "") == 0);
    lt_agency_code_parent("H26", parent, sizeof(parent));
    assert(strcmp(parent, "") == 0);

    char path[] = "/tmp/lt_agencies_test_XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    const char *text = "# test directory\n"
                       "000.00.00.H26 |               | 1 | province   | Tỉnh thử nghiệm\n"
                       "000.00.12.H26 |               | 2 | department | Sở Thông tin\n"
                       "000.00.31.H26 |               | 2 | district   | Huyện A\n"
                       "000.03.31.H26 |               | 3 | commune    | Xã B  # comment\n"
                       "000.07.31.H26 | 000.00.12.H26 | 3 | unit       | Đơn vị lạ\n";
    assert(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
    close(fd);
    lt_err_t err;
    lt_agencies_t *dir = lt_agencies_load(path, &err);
    assert(dir && lt_agencies_size(dir) == 5);
    assert(strcmp(lt_agencies_name(dir, "000.03.31.H26"), "Xã B") == 0);
    assert(strcmp(lt_agencies_name(dir, "000.09.09.H26"), "000.09.09.H26") == 0);
    assert(lt_agencies_under(dir, "000.03.31.H26", "000.00.31.H26"));
    assert(lt_agencies_under(dir, "000.03.31.H26", "000.00.00.H26"));
    assert(lt_agencies_under(dir, "000.03.31.H26", "H26"));
    assert(!lt_agencies_under(dir, "000.03.31.H26", "000.00.12.H26"));
    assert(lt_agencies_under(dir, "000.07.31.H26", "000.00.12.H26"));   //  directory parent
    assert(!lt_agencies_under(dir, "000.07.31.H26", "000.00.31.H26"));
    assert(lt_agencies_at(dir, 1)->level == 2);
    lt_agencies_destroy(&dir);
    assert(dir == NULL);

    FILE *f = fopen(path, "w");
    fputs("000.00.00.H26 | | 1 | province | Tỉnh\n000.00.12.H26 | | 9 | x | Sở\n", f);
    fclose(f);
    assert(!lt_agencies_load(path, &err) && err.code == LT_ECONFIG);
    assert(strstr(err.detail, ":2: level"));
    f = fopen(path, "w");
    fputs("000.00.00.H26 | | 1 | province\n", f);
    fclose(f);
    assert(!lt_agencies_load(path, &err) && strstr(err.detail, ":1: expected 5 fields"));
    f = fopen(path, "w");
    fputs("bad code | | 1 | province | x\n", f);
    fclose(f);
    assert(!lt_agencies_load(path, &err) && strstr(err.detail, ":1: code"));
    unlink(path);
    if (verbose)
        printf("OK\n");
}
