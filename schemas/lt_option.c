/*  lt_option: typed settings declared in a table (see the header).
*/
#include "lt_option.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const lt_option_t *lt_option_find(const lt_option_t *table, const char *name)
{
    for (const lt_option_t *o = table; o && o->name && name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

long long lt_option_number(const char *value)
{
    if (!value)
        return 0;
    if (strcmp(value, "yes") == 0)
        return 1;
    if (strcmp(value, "no") == 0)
        return 0;
    char *end = NULL;
    errno = 0;
    long long number = strtoll(value, &end, 10);
    return errno || !*value || *end ? 0 : number;
}

int lt_option_addr(const char *value, char *host, size_t host_size, unsigned *port)
{
    const char *colon = strrchr(value, ':');
    const char *start = value;
    size_t len = colon ? (size_t) (colon - value) : 0;
    if (len >= 2 && value[0] == '[' && value[len - 1] == ']') {
        start = value + 1;
        len -= 2;
    }
    char *end = NULL;
    errno = 0;
    long number = colon && colon[1] ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || len == 0 || len >= host_size || errno || !end || *end || number < 0 ||
        number > 65535)
        return -1;
    snprintf(host, host_size, "%.*s", (int) len, start);
    *port = (unsigned) number;
    return 0;
}

bool lt_option_missing(const lt_option_t *option, const char *value)
{
    assert(option);
    return option->required && (!value || !*value);
}

int lt_option_check(const lt_option_t *option, const char *value, char *why, size_t size)
{
    assert(option && why);
    if (!value)
        value = "";
    if (strpbrk(value, "\r\n"))
        return snprintf(why, size, "must be one line"), -1;
    if (!*value && option->type != LT_OPT_INT && option->type != LT_OPT_BOOL)
        return 0;
    switch (option->type) {
    case LT_OPT_INT: {
        char *end = NULL;
        errno = 0;
        long long number = strtoll(value, &end, 10);
        if (!*value || errno || *end || number < option->min || number > option->max)
            return snprintf(why, size, "must be a number from %lld to %lld, not '%s'",
                            option->min, option->max, value),
                   -1;
        return 0;
    }
    case LT_OPT_BOOL:
        if (strcmp(value, "yes") && strcmp(value, "no"))
            return snprintf(why, size, "must be yes or no, not '%s'", value), -1;
        return 0;
    case LT_OPT_ADDR: {
        char host[64];   //  as the connectors' buffers
        unsigned port = 0;
        if (lt_option_addr(value, host, sizeof(host), &port))
            return snprintf(why, size, "must be ADDR:PORT, not '%s'", value), -1;
        return 0;
    }
    case LT_OPT_URLPATH:
        if (value[0] != '/' || strpbrk(value, " ?#\t"))
            return snprintf(why, size,
                            "must be a path starting with '/' (no blank, '?' or '#'), not '%s'",
                            value),
                   -1;
        return 0;
    case LT_OPT_URL:
        if ((strncmp(value, "http://", 7) && strncmp(value, "https://", 8)) ||
            strpbrk(value, " \t") || !value[strncmp(value, "https://", 8) ? 7 : 8])
            return snprintf(why, size, "must be an http:// or https:// URL, not '%s'", value),
                   -1;
        return 0;
    case LT_OPT_STRING:
    default:
        return 0;
    }
}

//  A short name of the value an option takes, for --help.
static const char *s_type_name(const lt_option_t *o)
{
    switch (o->type) {
    case LT_OPT_INT: return "number";
    case LT_OPT_BOOL: return "yes|no";
    case LT_OPT_ADDR: return "ADDR:PORT";
    case LT_OPT_URLPATH: return "/PATH";
    case LT_OPT_URL: return "URL";
    case LT_OPT_STRING:
    default: return "text";
    }
}

void lt_option_print(FILE *out, const lt_option_t *table, const char *prefix, int indent)
{
    for (const lt_option_t *o = table; o && o->name; o++) {
        char range[64] = "";
        if (o->type == LT_OPT_INT)
            snprintf(range, sizeof(range), " %lld..%lld", o->min, o->max);
        if (*prefix)
            fprintf(out, "%*s%s%-16s %s%s%s%s%s\n", indent, "", prefix, o->name, o->help,
                    *o->fallback ? " [" : "", o->fallback, *o->fallback ? "]" : "",
                    o->required ? " (required)" : "");
        else {
            fprintf(out, "%*s#   %s\n", indent, "", o->help);
            fprintf(out, "%*s#   (%s%s%s%s)\n", indent, "", s_type_name(o), range,
                    o->required ? ", required" : "",
                    o->reload ? ", reloaded by SIGHUP" : ", needs a restart of lthubd");
            fprintf(out, "%*s%s%s = \"%s\"\n", indent, "", o->required ? "#   " : "", o->name,
                    o->fallback);
        }
    }
}

void lt_option_test(bool verbose)
{
    if (verbose)
        printf(" * lt_option: ");
    static const lt_option_t table[] = {
        LT_OPT_TYPED("listen", "127.0.0.1:8480", LT_OPT_ADDR, "where to listen"),
        LT_OPT_NUM("timeout-ms", "30000", 100, 3600000, "longest wait"),
        LT_OPT_TYPED("receive", "yes", LT_OPT_BOOL, "run the loop"),
        LT_OPT_TYPED("path", "/api", LT_OPT_URLPATH, "a path"),
        LT_OPT_TYPED("url", "", LT_OPT_URL, "a URL"),
        LT_OPT_NEEDED("systems", "the systems file"),
        {"plain", "x", "an untyped option", LT_OPT_STRING, 0, 0, false, false},
        LT_OPT_END,
    };
    char why[200];
    assert(lt_option_find(table, "receive") == &table[2]);
    assert(!lt_option_find(table, "nothing") && !lt_option_find(NULL, "x"));
    //  Every default is valid.
    for (const lt_option_t *o = table; o->name; o++)
        assert(lt_option_check(o, o->fallback, why, sizeof(why)) == 0);
    assert(lt_option_check(&table[0], "[::1]:80", why, sizeof(why)) == 0);
    assert(lt_option_check(&table[0], "host:99999", why, sizeof(why)) == -1);
    assert(strstr(why, "must be ADDR:PORT, not 'host:99999'"));
    assert(lt_option_check(&table[0], "host", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[0], ":80", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[1], "99", why, sizeof(why)) == -1);
    assert(strcmp(why, "must be a number from 100 to 3600000, not '99'") == 0);
    assert(lt_option_check(&table[1], "", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[1], "12x", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[1], "99999999999999999999", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[2], "maybe", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[2], "no", why, sizeof(why)) == 0);
    assert(lt_option_check(&table[3], "api", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[3], "/a b", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[4], "ftp://x", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[4], "https://", why, sizeof(why)) == -1);
    assert(lt_option_check(&table[4], "https://x.gov.vn/a", why, sizeof(why)) == 0);
    assert(lt_option_check(&table[6], "two\nlines", why, sizeof(why)) == -1);
    assert(lt_option_missing(&table[5], "") && !lt_option_missing(&table[5], "f"));
    assert(!lt_option_missing(&table[4], ""));
    assert(lt_option_number("30000") == 30000 && lt_option_number("yes") == 1);
    assert(lt_option_number("no") == 0 && lt_option_number("x") == 0);
    char host[64];
    unsigned port = 0;
    assert(lt_option_addr("[::1]:8480", host, sizeof(host), &port) == 0);
    assert(strcmp(host, "::1") == 0 && port == 8480);
    //  Both print forms name every option.
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    lt_option_print(out, table, "--", 2);
    lt_option_print(out, table, "", 8);
    fclose(out);
    assert(strstr(text, "  --listen"));
    assert(strstr(text, "        listen = \"127.0.0.1:8480\""));
    assert(strstr(text, "        #   systems = \"\""));
    assert(strstr(text, "(number 100..3600000, reloaded by SIGHUP)"));
    free(text);
    if (verbose)
        printf("OK\n");
}
