/*  lt_dms_systems: the DMS client systems file of lthub-dms (see the header).

    Read with lt_zpl (zconfig, with the line of every node for messages).
*/
#include "lt_dms_systems.h"

#include "lt_edoc_auth.h"
#include "lt_pattern.h"
#include "lt_zpl.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


//  One client system.
typedef struct {
    char id[LT_DMS_ID_MAX];                   //  system id
    char *secret;                             //  secret bytes (wiped on destroy)
    size_t secret_size;                       //  secret length
    char *agencies[LT_DMS_MAX_AGENCIES];      //  codes or patterns served
    size_t agency_count;                      //  entries in agencies
    char *names[LT_DMS_MAX_AGENCIES];         //  agency names given in `names`, owned
    char *named[LT_DMS_MAX_AGENCIES];         //  the codes those names belong to, owned
    size_t name_count;                        //  entries in names
    unsigned fresh_window_s;                  //  freshness window (0: off)
} s_system_t;

struct _lt_dms_systems_t {
    s_system_t systems[LT_DMS_MAX_SYSTEMS];   //  in file order
    size_t count;                             //  entries in systems
};

//  Fill err with "PATH:LINE: message"; returns -1.
__attribute__((format(printf, 5, 6))) static int
s_problem(lt_err_t *err, const char *path, const lt_zpl_t *lines, zconfig_t *node,
          const char *format, ...)
{
    char message[400];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    int line = node && lines ? lt_zpl_line(lines, node) : 0;
    if (line)
        lt_err_set(err, LT_ECONFIG, "%s:%d: %s", path, line, message);
    else
        lt_err_set(err, LT_ECONFIG, "%s: %s", path, message);
    return -1;
}

//  Return true when text is a usable system id.
static bool s_id_ok(const char *text)
{
    size_t len = strlen(text);
    return len > 0 && len < LT_DMS_ID_MAX
           && strspn(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_@")
                  == len;
}

//  Resolve a secret file name against the systems file's directory.
static void s_resolve(const char *path, const char *name, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (name[0] == '/' || !slash)
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "%.*s/%s", (int) (slash - path), path, name);
}

//  Read one system section into the next slot; -1 with err.
static int s_load_system(lt_dms_systems_t *self, zconfig_t *section, const char *path,
                         const lt_zpl_t *lines, lt_err_t *err)
{
    if (self->count == LT_DMS_MAX_SYSTEMS)
        return s_problem(err, path, lines, section, "more than %d systems", LT_DMS_MAX_SYSTEMS);
    s_system_t *system = &self->systems[self->count];
    //  The slot is counted at once so that destroy frees what it comes to hold.
    self->count++;
    zconfig_t *id = NULL, *secret = NULL, *agencies = NULL, *names = NULL, *fresh = NULL;
    for (zconfig_t *node = zconfig_child(section); node; node = zconfig_next(node)) {
        const char *name = zconfig_name(node);
        if (strcmp(name, "names") == 0) {
            names = node;
            continue;
        }
        if (zconfig_child(node))
            return s_problem(err, path, lines, node, "system/%s takes a value, not a section",
                             name);
        if (strcmp(name, "id") == 0)
            id = node;
        else if (strcmp(name, "secret_file") == 0)
            secret = node;
        else if (strcmp(name, "agencies") == 0)
            agencies = node;
        else if (strcmp(name, "fresh_window") == 0)
            fresh = node;
        else
            return s_problem(err, path, lines, node,
                             "unknown setting system/%s (expected id, secret_file, agencies, "
                             "fresh_window, names)",
                             name);
    }
    if (!id || !secret || !agencies)
        return s_problem(err, path, lines, section, "system needs id, secret_file and agencies%s",
                         id ? "" : " (id is missing)");
    const char *id_text = zconfig_value(id);
    if (!s_id_ok(id_text))
        return s_problem(err, path, lines, id,
                         "system id '%.64s' must be 1 to %d letters, digits or .-_@", id_text,
                         LT_DMS_ID_MAX - 1);
    if (lt_dms_systems_find(self, id_text) >= 0)
        return s_problem(err, path, lines, id, "system id '%s' is given twice", id_text);
    const char *list = zconfig_value(agencies);
    for (const char *p = list; *p;) {
        size_t skip = strspn(p, ", \t");
        p += skip;
        size_t len = strcspn(p, ", \t");
        if (len == 0)
            break;
        char code[128];
        snprintf(code, sizeof(code), "%.*s", (int) (len < 127 ? len : 127), p);
        if (len > 63 || !lt_pattern_valid(code))
            return s_problem(err, path, lines, agencies,
                             "'%.64s' is not an agency code or pattern (CODE, *, *SUFFIX or "
                             "PREFIX*)",
                             code);
        if (system->agency_count == LT_DMS_MAX_AGENCIES)
            return s_problem(err, path, lines, agencies, "more than %d agencies",
                             LT_DMS_MAX_AGENCIES);
        if (!(system->agencies[system->agency_count] = strdup(code)))
            return lt_err_set(err, LT_ENOMEM, "systems: out of memory"), -1;
        system->agency_count++;
        p += len;
    }
    if (system->agency_count == 0)
        return s_problem(err, path, lines, agencies, "system '%s' serves no agency", id_text);
    if (fresh) {
        const char *text = zconfig_value(fresh);
        char *end = NULL;
        long value = strtol(text, &end, 10);
        if (!*text || *end || value < 0 || value > 86400)
            return s_problem(err, path, lines, fresh,
                             "fresh_window must be seconds from 0 (off) to 86400, not '%.32s'",
                             text);
        system->fresh_window_s = (unsigned) value;
    }
    for (zconfig_t *node = names ? zconfig_child(names) : NULL; node; node = zconfig_next(node)) {
        const char *code = zconfig_name(node), *text = zconfig_value(node);
        if (zconfig_child(node) || strchr(code, '*') || !lt_pattern_valid(code))
            return s_problem(err, path, lines, node,
                             "names/%.64s: each entry is AGENCY-CODE = \"name\"", code);
        if (!lt_dms_systems_serves(self, self->count - 1, code))
            return s_problem(err, path, lines, node,
                             "names/%.64s: system '%s' does not serve this agency", code,
                             id_text);
        if (!*text || strlen(text) > 400 || strpbrk(text, "\r\n"))
            return s_problem(err, path, lines, node,
                             "names/%.64s: the name must be 1 to 400 bytes on one line", code);
        if (system->name_count == LT_DMS_MAX_AGENCIES)
            return s_problem(err, path, lines, node, "more than %d names", LT_DMS_MAX_AGENCIES);
        if (!(system->named[system->name_count] = strdup(code))
            || !(system->names[system->name_count++] = strdup(text)))
            return lt_err_set(err, LT_ENOMEM, "systems: out of memory"), -1;
    }
    snprintf(system->id, sizeof(system->id), "%s", id_text);
    char file[4096];
    s_resolve(path, zconfig_value(secret), file, sizeof(file));
    lt_err_t why;
    system->secret = lt_edoc_secret_load(file, &system->secret_size, &why);
    if (!system->secret)
        return s_problem(err, path, lines, secret, "system '%s': %s", id_text, why.detail);
    return 0;
}

lt_dms_systems_t *lt_dms_systems_load(const char *path, lt_err_t *err)
{
    assert(path);
    lt_dms_systems_t *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "systems: out of memory");
        return NULL;
    }
    int syntax_line = 0;
    lt_err_t zerr;
    lt_zpl_t *lines = lt_zpl_load(path, &syntax_line, &zerr);
    zconfig_t *root = lines ? lt_zpl_root(lines) : NULL;
    if (!lines && syntax_line)
        lt_err_set(err, LT_ECONFIG, "%s:%d: not a valid ZPL file: %s", path, syntax_line,
                   zerr.detail);
    else if (!lines)
        s_problem(err, path, NULL, NULL, "cannot read the systems file");
    int rc = root ? 0 : -1;
    for (zconfig_t *section = root ? zconfig_child(root) : NULL; section && rc == 0;
         section = zconfig_next(section)) {
        if (strcmp(zconfig_name(section), "system") != 0)
            rc = s_problem(err, path, lines, section, "unknown section '%s' (expected system)",
                           zconfig_name(section));
        else
            rc = s_load_system(self, section, path, lines, err);
    }
    if (rc == 0 && self->count == 0)
        rc = s_problem(err, path, lines, NULL, "no system is configured");
    lt_zpl_destroy(&lines);
    if (rc)
        lt_dms_systems_destroy(&self);
    return self;
}

void lt_dms_systems_destroy(lt_dms_systems_t **self_p)
{
    assert(self_p);
    lt_dms_systems_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        s_system_t *system = &self->systems[i];
        if (system->secret)
            lt_edoc_secret_free(&system->secret, system->secret_size);
        for (size_t a = 0; a < system->agency_count; a++)
            free(system->agencies[a]);
        for (size_t a = 0; a < system->name_count; a++) {
            free(system->names[a]);
            free(system->named[a]);
        }
    }
    free(self);
    *self_p = NULL;
}

size_t lt_dms_systems_count(const lt_dms_systems_t *self)
{
    assert(self);
    return self->count;
}

unsigned lt_dms_systems_fresh_window(const lt_dms_systems_t *self, size_t index)
{
    assert(self && index < self->count);
    return self->systems[index].fresh_window_s;
}

const char *lt_dms_systems_agency_name(const lt_dms_systems_t *self, const char *code)
{
    assert(self);
    for (size_t i = 0; code && i < self->count; i++)
        for (size_t a = 0; a < self->systems[i].name_count; a++)
            if (strcmp(self->systems[i].named[a], code) == 0)
                return self->systems[i].names[a];
    return NULL;
}

int lt_dms_systems_find(const lt_dms_systems_t *self, const char *id)
{
    assert(self);
    for (size_t i = 0; id && i < self->count; i++)
        if (strcmp(self->systems[i].id, id) == 0)
            return (int) i;
    return -1;
}

const char *lt_dms_systems_id(const lt_dms_systems_t *self, size_t index)
{
    assert(self && index < self->count);
    return self->systems[index].id;
}

const void *lt_dms_systems_secret(const lt_dms_systems_t *self, size_t index, size_t *size)
{
    assert(self && index < self->count && size);
    *size = self->systems[index].secret_size;
    return self->systems[index].secret;
}

size_t lt_dms_systems_agencies(const lt_dms_systems_t *self, size_t index)
{
    assert(self && index < self->count);
    return self->systems[index].agency_count;
}

const char *lt_dms_systems_agency(const lt_dms_systems_t *self, size_t index, size_t agency)
{
    assert(self && index < self->count);
    return agency < self->systems[index].agency_count ? self->systems[index].agencies[agency]
                                                      : NULL;
}

bool lt_dms_systems_serves(const lt_dms_systems_t *self, size_t index, const char *code)
{
    assert(self && index < self->count);
    if (!code || !*code)
        return false;
    const s_system_t *system = &self->systems[index];
    for (size_t a = 0; a < system->agency_count; a++)
        if (lt_pattern_match(system->agencies[a], code))
            return true;
    return false;
}

//  ---------------------------------------------------------------------------
//  Self-test

//  Write text to dir/name for the self-test.
static void s_test_write(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert(file);
    fputs(text, file);
    fclose(file);
}

//  Load dir/name for the self-test, expecting failure with a detail.
static void s_test_bad(const char *dir, const char *text, const char *expect)
{
    s_test_write(dir, "bad.cfg", text);
    char path[256];
    snprintf(path, sizeof(path), "%s/bad.cfg", dir);
    lt_err_t err;
    lt_dms_systems_t *systems = lt_dms_systems_load(path, &err);
    if (systems || !strstr(err.detail, expect))
        fprintf(stderr, "expected '%s', got '%s'\n", expect, systems ? "success" : err.detail);
    assert(!systems && err.code == LT_ECONFIG && strstr(err.detail, expect));
}

void lt_dms_systems_test(bool verbose)
{
    if (verbose)
        printf(" * lt_dms_systems: ");
    assert(lt_pattern_match("*", "000.00.12.H26"));
    assert(lt_pattern_match("*.H26", "000.00.12.H26"));
    assert(!lt_pattern_match("*.H26", "000.00.12.H27"));
    assert(lt_pattern_match("H26.*", "H26.12.01") && !lt_pattern_match("H26.*", "H27.12.01"));
    assert(lt_pattern_match("000.00.12.H26", "000.00.12.H26"));
    assert(!lt_pattern_match("000.00.12.H26", "000.00.13.H26"));
    assert(!lt_pattern_match(NULL, "x") && !lt_pattern_match("x", NULL));

    char dir[] = "/tmp/lt_dms_systems_test_XXXXXX";
    assert(mkdtemp(dir));
    s_test_write(dir, "a.secret", "secret-of-a\n");
    s_test_write(dir, "b.secret", "secret-of-b");
    char good[600];
    snprintf(good, sizeof(good),
             "#   two systems\n"
             "system\n"
             "    id = \"sys-a\"\n"
             "    secret_file = \"a.secret\"\n"
             "    agencies = \"000.00.12.H26, 000.01.12.H26\"\n"
             "\n"
             "system\n"
             "    id = \"sys-b\"\n"
             "    secret_file = \"%s/b.secret\"\n"
             "    agencies = \"*.H27 H26.13.*\"\n"
             "    fresh_window = 300\n"
             "    names\n"
             "        000.00.12.H27 = \"Sở Thông tin và Truyền thông\"\n",
             dir);
    s_test_write(dir, "systems.cfg", good);
    char path[256];
    snprintf(path, sizeof(path), "%s/systems.cfg", dir);
    lt_err_t err;
    lt_dms_systems_t *systems = lt_dms_systems_load(path, &err);
    assert(systems);
    assert(lt_dms_systems_count(systems) == 2);
    assert(lt_dms_systems_find(systems, "sys-b") == 1);
    assert(lt_dms_systems_fresh_window(systems, 0) == 0);
    assert(lt_dms_systems_fresh_window(systems, 1) == 300);
    assert(strcmp(lt_dms_systems_agency_name(systems, "000.00.12.H27"),
                  "Sở Thông tin và Truyền thông") == 0);
    assert(!lt_dms_systems_agency_name(systems, "000.00.12.H26"));
    assert(lt_dms_systems_find(systems, "sys-c") == -1);
    assert(lt_dms_systems_find(systems, NULL) == -1);
    assert(strcmp(lt_dms_systems_id(systems, 0), "sys-a") == 0);
    size_t size = 0;
    const char *secret = lt_dms_systems_secret(systems, 0, &size);
    assert(size == 11 && memcmp(secret, "secret-of-a", 11) == 0);
    assert(lt_dms_systems_agencies(systems, 0) == 2);
    assert(strcmp(lt_dms_systems_agency(systems, 0, 1), "000.01.12.H26") == 0);
    assert(lt_dms_systems_agency(systems, 0, 2) == NULL);
    assert(lt_dms_systems_serves(systems, 0, "000.00.12.H26"));
    assert(!lt_dms_systems_serves(systems, 0, "000.00.13.H26"));
    assert(!lt_dms_systems_serves(systems, 0, ""));
    assert(lt_dms_systems_serves(systems, 1, "000.00.99.H27"));
    assert(lt_dms_systems_serves(systems, 1, "H26.13.01"));
    assert(!lt_dms_systems_serves(systems, 1, "000.00.12.H26"));
    lt_dms_systems_destroy(&systems);
    assert(systems == NULL);
    lt_dms_systems_destroy(&systems);

    //  Problems name the file and the line.
    s_test_bad(dir, "system\n    id = \"x\"\n    secret_file = \"a.secret\"\n",
               "bad.cfg:1: system needs id, secret_file and agencies");
    s_test_bad(dir,
               "system\n    id = \"x\"\n    secret_file = \"a.secret\"\n"
               "    agencies = \"000.00.12.H26\"\n    colour = \"red\"\n",
               "bad.cfg:5: unknown setting system/colour");
    s_test_bad(dir,
               "system\n    id = \"x\"\n    secret_file = \"a.secret\"\n"
               "    agencies = \"000.*.H26\"\n",
               "bad.cfg:4: '000.*.H26' is not an agency code or pattern");
    s_test_bad(dir,
               "system\n    id = \"x\"\n    secret_file = \"a.secret\"\n    agencies = \" , \"\n",
               "bad.cfg:4: system 'x' serves no agency");
    s_test_bad(dir,
               "system\n    id = \"x\"\n    secret_file = \"missing.secret\"\n"
               "    agencies = \"*\"\n",
               "bad.cfg:3: system 'x': ");
    s_test_bad(dir,
               "system\n    id = \"x\"\n    secret_file = \"a.secret\"\n    agencies = \"*\"\n"
               "# again\nsystem\n    id = \"x\"\n    secret_file = \"b.secret\"\n"
               "    agencies = \"*\"\n",
               "bad.cfg:7: system id 'x' is given twice");
    s_test_bad(dir,
               "system\n    id = \"bad id\"\n    secret_file = \"a.secret\"\n    agencies = \"*\"\n",
               "bad.cfg:2: system id 'bad id' must be");
    s_test_bad(dir, "systems\n    x = \"1\"\n", "bad.cfg:1: unknown section 'systems'");
    s_test_bad(dir, "# nothing\n", "no system is configured");
    //  A syntax error names its line (and leaks nothing: the Sanitize build).
    s_test_bad(dir, "system\n    id = \"x\n    agencies = \"*\"\n",
               "bad.cfg:2: not a valid ZPL file: syntax error");
    snprintf(path, sizeof(path), "%s/absent.cfg", dir);
    assert(lt_dms_systems_load(path, &err) == NULL && strstr(err.detail, "cannot read"));

    const char *names[] = {"a.secret", "b.secret", "systems.cfg", "bad.cfg"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    if (verbose)
        printf("OK\n");
}
