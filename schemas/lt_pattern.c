/*  lt_pattern: agency-code patterns (see the header).
*/
#include "lt_pattern.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

bool lt_pattern_match(const char *pattern, const char *code)
{
    if (!pattern || !code)
        return false;
    size_t plen = strlen(pattern), clen = strlen(code);
    if (strcmp(pattern, "*") == 0)
        return true;
    if (plen > 1 && pattern[0] == '*')
        return clen >= plen - 1 && strcmp(code + clen - (plen - 1), pattern + 1) == 0;
    if (plen > 1 && pattern[plen - 1] == '*')
        return strncmp(code, pattern, plen - 1) == 0;
    return strcmp(pattern, code) == 0;
}

bool lt_pattern_valid(const char *text)
{
    if (!text)
        return false;
    size_t len = strlen(text);
    if (len == 0 || len > LT_PATTERN_MAX)
        return false;
    if (strspn(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.*-_") != len)
        return false;
    const char *star = strchr(text, '*');
    if (!star || len == 1)
        return true;
    if (strchr(star + 1, '*'))
        return false;   //  two stars
    return star == text || star == text + len - 1;
}

//  One case of the self-test: a pattern, a code, whether they match.
typedef struct {
    const char *pattern;   //  as written in a config
    const char *code;      //  an agency code
    bool match;            //  expected
} s_case_t;

void lt_pattern_test(bool verbose)
{
    if (verbose)
        printf(" * lt_pattern: ");
    static const s_case_t cases[] = {
        //  Routing (lthub.cfg routes, and the default routes of province H26).
        {"*.H26", "000.00.12.H26", true},
        {"*.H26", "000.00.00.G22", false},
        {"*.H26", "H26", false},
        {"H26.*", "H26.12.01", true},
        {"H26.*", "H27.12.01", false},
        {"H26", "H26", true},
        {"*", "anything", true},
        {"000.00.12.H26", "000.00.12.H26", true},
        {"000.00.12.H26", "000.00.13.H26", false},
        //  lthub-dms systems files (deploy/etc/dms-systems.cfg, the sandbox's).
        {"000.00.00.H26", "000.00.00.H26", true},
        {"000.03.31.H26", "000.03.31.H26", true},
        {"000.03.*", "000.03.31.H26", true},
        {"000.03.*", "000.01.12.H26", false},
        {"*H26", "000.01.12.H26", true},
        //  lthub-axis --agencies (default *.LNN,LNN.* of the province code)
        //  and lthub-portal --agencies (default *).
        {"*.G22", "000.00.00.G22", true},
        {"G22.*", "G22.01", true},
        {"*", "000.00.12.H26", true},
        //  Edges: the star alone at an end, an empty code.
        {"*.H26", "", false},
        {"", "", true},
        {"H26*", "H26", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (lt_pattern_match(cases[i].pattern, cases[i].code) != cases[i].match)
            fprintf(stderr, "lt_pattern: '%s' vs '%s'\n", cases[i].pattern, cases[i].code);
        assert(lt_pattern_match(cases[i].pattern, cases[i].code) == cases[i].match);
        if (*cases[i].pattern)
            assert(lt_pattern_valid(cases[i].pattern));
    }
    assert(!lt_pattern_match(NULL, "x") && !lt_pattern_match("x", NULL));
    assert(!lt_pattern_valid("") && !lt_pattern_valid(NULL));
    assert(!lt_pattern_valid("*.H26*") && !lt_pattern_valid("H*26"));
    assert(!lt_pattern_valid("H26 .*") && !lt_pattern_valid("H26/*"));
    char longer[LT_PATTERN_MAX + 2];
    memset(longer, 'A', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = 0;
    assert(!lt_pattern_valid(longer));
    longer[LT_PATTERN_MAX] = 0;
    assert(lt_pattern_valid(longer));
    if (verbose)
        printf("OK\n");
}
