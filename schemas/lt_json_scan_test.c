/*  lt_json_scan_test: the self-test of lt_json_scan. Each rule of the header
    has cases that must be accepted or refused; every case is also given to
    jansson (json_loadb with JSON_REJECT_DUPLICATES), which must agree, so
    the expectations are checked against the parser they stand for.
*/
#include "lt_json_scan.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  One case: text of len bytes (0: strlen) and whether it is accepted.
typedef struct {
    const char *text;   //  input
    size_t len;         //  its length when it holds NUL bytes, else 0
    bool ok;            //  accepted
} s_case_t;

//  Check one buffer both ways; returns whether it was accepted.
static bool s_accepts(lt_json_scan_t *scan, const char *text, size_t len, lt_json_t *root)
{
    lt_err_t err;
    lt_err_clear(&err);
    lt_json_t dummy;
    int rc = lt_json_scan_check(scan, text, len, root ? root : &dummy, &err);
    json_t *tree = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    bool jansson = tree != NULL;
    json_decref(tree);
    if ((rc == 0) != jansson)
        fprintf(stderr, "lt_json_scan: disagrees with jansson (%s) on '%.80s' (%s)\n",
                jansson ? "accepted" : "refused", text, err.detail);
    assert((rc == 0) == jansson);
    if (rc != 0)
        assert(err.code == LT_EINVAL && strstr(err.detail, "JSON refused"));
    return rc == 0;
}

static void s_cases(lt_json_scan_t *scan, const s_case_t *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        bool ok = s_accepts(scan, cases[i].text, len, NULL);
        if (ok != cases[i].ok)
            fprintf(stderr, "lt_json_scan: case %zu '%s' expected %s\n", i, cases[i].text,
                    cases[i].ok ? "accepted" : "refused");
        assert(ok == cases[i].ok);
    }
}

//  The text of member name of the object text (accepted), cut to size.
static const char *s_member(lt_json_scan_t *scan, const char *text, const char *name, char *buf,
                            size_t size)
{
    lt_json_t root;
    assert(s_accepts(scan, text, strlen(text), &root));
    return lt_json_text(lt_json_get(root, name), buf, size);
}

//  Syntax, whitespace, literals, top level, trailing bytes, NUL bytes.
static void s_test_syntax(lt_json_scan_t *scan)
{
    static const s_case_t cases[] = {
        {"", 0, false},
        {" \t\r\n", 0, false},
        {"{}", 0, true},
        {"[]", 0, true},
        {" \t\r\n{ \t\r\n} \t\r\n", 0, true},
        {"\f{}", 0, false},
        {"{}\v", 0, false},
        {"1", 0, false},
        {"\"a\"", 0, false},
        {"null", 0, false},
        {"true", 0, false},
        {"{} {}", 0, false},
        {"{}x", 0, false},
        {"{}]", 0, false},
        {"{", 0, false},
        {"[", 0, false},
        {"{\"a\"}", 0, false},
        {"{\"a\" 1}", 0, false},
        {"{\"a\":}", 0, false},
        {"{\"a\":1,}", 0, false},
        {"{,}", 0, false},
        {"[1,]", 0, false},
        {"[,1]", 0, false},
        {"[1 2]", 0, false},
        {"{\"a\":1 \"b\":2}", 0, false},
        {"{\"a\":1}}", 0, false},
        {"{\"a\":[1}]", 0, false},
        {"{1:1}", 0, false},
        {"{'a':1}", 0, false},
        {"{\"a\":true,\"b\":false,\"c\":null}", 0, true},
        {"{\"a\":tru}", 0, false},
        {"{\"a\":True}", 0, false},
        {"{\"a\":nulll}", 0, false},
        {"{\"a\":truefalse}", 0, false},
        {"{\"a\":true1}", 0, false},
        {"[true,false,null]", 0, true},
        {"[nan]", 0, false},
        {"[Infinity]", 0, false},
        //  NUL bytes: one right after a number or a literal is skipped.
        {"{}\0", 3, false},
        {"\0{}", 3, false},
        {"{\0}", 3, false},
        {"{\"a\":1\0}", 8, true},
        {"{\"a\":1\0 }", 9, true},
        {"{\"a\":1 \0}", 9, false},
        {"{\"a\":1\0\0}", 9, false},
        {"{\"a\":-1.5e3\0,\"b\":2}", 19, true},
        {"[true\0,null\0,false\0]", 20, true},
        {"[1\0]", 4, true},
        {"[\"a\"\0]", 6, false},
        {"[[]\0]", 5, false},
        {"{\"a\":\"x\0\"}", 10, false},
        {"{\"a\":\0 1}", 9, false},
    };
    s_cases(scan, cases, sizeof(cases) / sizeof(cases[0]));
}

//  Strings: UTF-8, control characters, escapes, surrogates, \u0000.
static void s_test_strings(lt_json_scan_t *scan)
{
    static const s_case_t cases[] = {
        {"[\"Cấp giấy phép 😀\"]", 0, true},
        {"[\"\x01\"]", 0, false},
        {"[\"\x1f\"]", 0, false},
        {"[\"\t\"]", 0, false},
        {"[\"\n\"]", 0, false},
        {"[\"\x7f\"]", 0, true},
        {"[\"\\u001f\\t\\n\\b\\f\\r\\/\\\\\\\"\"]", 0, true},
        {"[\"\\a\"]", 0, false},
        {"[\"\\x41\"]", 0, false},
        {"[\"\\u41\"]", 0, false},
        {"[\"\\u00g1\"]", 0, false},
        {"[\"\\U0041\"]", 0, false},
        {"[\"\\", 0, false},
        {"[\"abc", 0, false},
        {"[\"\\u0000\"]", 0, false},
        {"{\"\\u0000\":1}", 0, false},
        {"{\"a\\u0000b\":1}", 0, false},
        {"[\"\\ud83d\\ude00\"]", 0, true},
        {"[\"\\uD83D\\uDE00\"]", 0, true},
        {"[\"\\ud83d\"]", 0, false},
        {"[\"\\ud83dx\"]", 0, false},
        {"[\"\\ud83d\\n\"]", 0, false},
        {"[\"\\ude00\"]", 0, false},
        {"[\"\\ude00\\ud83d\"]", 0, false},
        {"[\"\\ud83d\\ud83d\"]", 0, false},
        {"[\"\\ud83d\\u0041\"]", 0, false},
        {"[\"\\ud83d\\u00\"]", 0, false},
        {"[\"\\uffff\\u0800\\u07ff\\u0080\\u007f\\u0001\"]", 0, true},
        //  Invalid UTF-8: in strings, in keys, outside strings.
        {"[\"\xc3\"]", 0, false},
        {"[\"\xc3\xa9\"]", 0, true},
        {"[\"\xc0\x80\"]", 0, false},
        {"[\"\xc1\xbf\"]", 0, false},
        {"[\"\xe0\x80\xaf\"]", 0, false},
        {"[\"\xe0\xa0\x80\"]", 0, true},
        {"[\"\xed\xa0\x80\"]", 0, false},
        {"[\"\xed\x9f\xbf\"]", 0, true},
        {"[\"\xef\xbf\xbf\"]", 0, true},
        {"[\"\xf0\x8f\xbf\xbf\"]", 0, false},
        {"[\"\xf0\x90\x80\x80\"]", 0, true},
        {"[\"\xf4\x8f\xbf\xbf\"]", 0, true},
        {"[\"\xf4\x90\x80\x80\"]", 0, false},
        {"[\"\xf5\x80\x80\x80\"]", 0, false},
        {"[\"\xff\"]", 0, false},
        {"[\"\x80\"]", 0, false},
        {"[\"\xe2\x82\"]", 0, false},
        {"[\"\xe2\x82", 0, false},
        {"{\"\xc3\xa9\":1}", 0, true},
        {"{\"\xc3\":1}", 0, false},
        {"{}\xc3\xa9", 0, false},
        {"[1]\xff", 0, false},
        {"[\xc3\xa9]", 0, false},
    };
    s_cases(scan, cases, sizeof(cases) / sizeof(cases[0]));
}

//  Numbers: leading zeros, -0, integer range, real overflow and underflow.
static void s_test_numbers(lt_json_scan_t *scan)
{
    static const s_case_t cases[] = {
        {"[0,-0,1,-1,10,0.5,-0.5,1e5,1E5,1e+5,1e-5,1.5e3,0e0,-0.0e-0]", 0, true},
        {"[01]", 0, false},
        {"[-01]", 0, false},
        {"[00]", 0, false},
        {"[0.]", 0, false},
        {"[.5]", 0, false},
        {"[-]", 0, false},
        {"[-a]", 0, false},
        {"[+1]", 0, false},
        {"[1e]", 0, false},
        {"[1e+]", 0, false},
        {"[1.e5]", 0, false},
        {"[1.5.3]", 0, false},
        {"[1e5e5]", 0, false},
        {"[0x10]", 0, false},
        {"[- 1]", 0, false},
        {"[9223372036854775807]", 0, true},
        {"[9223372036854775808]", 0, false},
        {"[-9223372036854775808]", 0, true},
        {"[-9223372036854775809]", 0, false},
        {"[18446744073709551616]", 0, false},
        {"[9223372036854775808.0]", 0, true},
        {"[1e308]", 0, true},
        {"[1e309]", 0, false},
        {"[-1e309]", 0, false},
        {"[1.7976931348623157e308]", 0, true},
        {"[1.7976931348623158e308]", 0, true},
        {"[1.7976931348623159e308]", 0, false},
        {"[0.17976931348623158e309]", 0, true},
        {"[17976931348623158e292]", 0, true},
        {"[17976931348623159e292]", 0, false},
        {"[1e-400]", 0, true},
        {"[-1e-99999999999999999999]", 0, true},
        {"[1e99999999999999999999]", 0, false},
        {"[0e99999999999999999999]", 0, true},
        {"[0.0000e99999]", 0, true},
        {"[0.001e311]", 0, true},
        {"[0.0001e313]", 0, false},
        {"[4.9e-324,2.5e-324,2e-324]", 0, true},
    };
    s_cases(scan, cases, sizeof(cases) / sizeof(cases[0]));
    //  Around the overflow threshold 2^1024 - 2^970, digit by digit, as
    //  strtod sees it.
    static const char *const m =
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649"
        "017977587207096330286416692887910946555547851940402630657488671505820681908902000708383"
        "676273854845817711531764475730270069855571366959622842914819860834936475292719074168444"
        "365510704342711559699508093042880177904174497792";
    char digits[400], text[800];
    const char *tails[] = {"", "0", "1", "00001", "99999", "e0", "0e-1", "1e-1", "9e-1"};
    for (int below = 0; below < 2; below++)
        for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
            //  m itself, or m - 1 (...791), with more digits after a point.
            snprintf(digits, sizeof(digits), "%s", m);
            if (below)
                digits[strlen(digits) - 1]--;
            for (int form = 0; form < 2; form++) {
                if (form == 0)
                    snprintf(text, sizeof(text), "[%s.0%s]", digits, tails[t]);
                else if (!strchr(tails[t], 'e'))   //  the point moved: 1.797...e308
                    snprintf(text, sizeof(text), "[%.1s.%s%se308]", digits, digits + 1, tails[t]);
                else
                    continue;
                char number[800];
                snprintf(number, sizeof(number), "%.*s", (int) (strlen(text) - 2), text + 1);
                errno = 0;
                double v = strtod(number, NULL);
                bool over = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
                if (!strchr(tails[t], 'e'))
                    assert(over == (below == 0));   //  both sides are tried
                assert(s_accepts(scan, text, strlen(text), NULL) == !over);
            }
        }
}

//  The overflow threshold's digits with the point anywhere, leading zeros
//  and exponents that bring the value back to it: decided as strtod does.
static void s_test_overflow_forms(lt_json_scan_t *scan)
{
    static const char *const m =
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649"
        "017977587207096330286416692887910946555547851940402630657488671505820681908902000708383"
        "676273854845817711531764475730270069855571366959622842914819860834936475292719074168444"
        "365510704342711559699508093042880177904174497792";
    size_t digits = strlen(m);
    static const size_t splits[] = {0, 1, 17, 200, 308, 309};
    char text[1000];
    for (int below = 0; below < 2; below++)
        for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++)
            for (int zeros = 0; zeros <= 3; zeros += 3) {
                size_t split = splits[s];
                char d[400];
                snprintf(d, sizeof(d), "%s", m);
                if (below)
                    d[digits - 1]--;
                //  value = int.frac x 10^(digits - split), with zeros more
                //  after the point when the integer part is empty.
                long exp = (long) (digits - split) + (split == 0 ? zeros : 0);
                int n = split == 0 ? snprintf(text, sizeof(text), "[-0.%.*s%se%ld]", zeros, "000", d, exp)
                                   : snprintf(text, sizeof(text), "[%.*s.%s0e%ld]", (int) split, d,
                                              d + split, exp);
                assert(n > 0 && (size_t) n < sizeof(text));
                errno = 0;
                double v = strtod(text + 1, NULL);
                bool over = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
                assert(over == !below);
                assert(s_accepts(scan, text, strlen(text), NULL) == !over);
            }
}

//  Depth: the top value is depth 1 and jansson allows 2048.
static void s_test_depth(lt_json_scan_t *scan)
{
    size_t cap = 6 * 2050 + 16;
    char *text = malloc(cap);
    assert(text);
    for (int depth = 2046; depth <= 2050; depth++) {
        //  depth arrays nested, empty innermost: depth values deep.
        size_t used = 0;
        for (int i = 0; i < depth; i++)
            text[used++] = '[';
        for (int i = 0; i < depth; i++)
            text[used++] = ']';
        assert(s_accepts(scan, text, used, NULL) == (depth <= 2048));
        //  The same with a scalar inside: depth + 1 values deep.
        used = 0;
        for (int i = 0; i < depth; i++)
            text[used++] = '[';
        text[used++] = '1';
        for (int i = 0; i < depth; i++)
            text[used++] = ']';
        assert(s_accepts(scan, text, used, NULL) == (depth + 1 <= 2048));
        //  Objects: {"a":{"a":...{}}}.
        used = 0;
        assert(depth * 6 < (int) cap);
        for (int i = 0; i < depth; i++) {
            memcpy(text + used, i + 1 < depth ? "{\"a\":" : "{", i + 1 < depth ? 5 : 1);
            used += i + 1 < depth ? 5 : 1;
        }
        for (int i = 0; i < depth; i++)
            text[used++] = '}';
        assert(s_accepts(scan, text, used, NULL) == (depth <= 2048));
    }
    free(text);
}

//  Duplicate keys: at any level, after unescaping, and fast in big objects.
static void s_test_duplicates(lt_json_scan_t *scan)
{
    static const s_case_t cases[] = {
        {"{\"a\":1,\"a\":1}", 0, false},
        {"{\"a\":1,\"b\":2,\"a\":3}", 0, false},
        {"{\"a\":1,\"\\u0061\":2}", 0, false},
        {"{\"\\u00e9\":1,\"\xc3\xa9\":2}", 0, false},
        {"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 0, false},
        {"{\"\\/\":1,\"/\":2}", 0, false},
        {"{\"a\":1,\"A\":2,\"a \":3,\"\":4}", 0, true},
        {"{\"\":1,\"\":2}", 0, false},
        {"{\"x\":[{\"k\":1,\"k\":2}]}", 0, false},
        {"{\"x\":{\"y\":{\"k\":1,\"k\":2}}}", 0, false},
        {"{\"k\":{\"k\":{\"k\":1}},\"j\":{\"k\":1}}", 0, true},
        {"[{\"k\":1},{\"k\":1}]", 0, true},
        {"{\"a\":{\"b\":1},\"b\":{\"a\":1},\"c\":[{\"a\":1,\"b\":2}]}", 0, true},
        {"{\"ab\":1,\"a\\u0062\":2}", 0, false},
        {"{\"ab\":1,\"a\\u0063\":2}", 0, true},
    };
    s_cases(scan, cases, sizeof(cases) / sizeof(cases[0]));
    //  100 000 keys in a nested object (the last repeating the first, or
    //  not), some escaped: each check takes a fraction of a second where
    //  pair-by-pair comparison would take minutes.
    size_t keys = 100000, cap = keys * 24 + 64;
    char *text = malloc(cap);
    assert(text);
    for (int repeat = 0; repeat < 2; repeat++) {
        size_t used = (size_t) snprintf(text, cap, "{\"x\":{");
        for (size_t i = 0; i < keys; i++)
            used += (size_t) snprintf(text + used, cap - used, "%s\"%s%zu\":%zu", i ? "," : "",
                                      i % 7 ? "k" : "\\u006b", i, i);
        if (repeat)
            used += (size_t) snprintf(text + used, cap - used, ",\"k0\":0");
        used += (size_t) snprintf(text + used, cap - used, "}}");
        clock_t start = clock();
        lt_json_scan_t *fresh = lt_json_scan_new();
        lt_err_t err;
        lt_json_t root;
        int rc = lt_json_scan_check(fresh, text, used, &root, &err);
        double seconds = (double) (clock() - start) / CLOCKS_PER_SEC;
        lt_json_scan_destroy(&fresh);
        assert(rc == (repeat ? -1 : 0));
        assert(seconds < 10.0);   //  pair by pair it would take minutes
        assert(s_accepts(scan, text, used, NULL) == !repeat);
    }
    free(text);
}

//  Values as the ledger reads them.
static void s_test_values(lt_json_scan_t *scan)
{
    char buf[64];
    const char *rec = "{\"s\":\"Cấp\\n\\u00e9\\ud83d\\ude00\\/\",\"i\":-0,\"j\":42,"
                      "\"min\":-9223372036854775808,\"r\":1.5,\"e\":1e2,\"t\":true,\"f\":false,"
                      "\"n\":null,\"o\":{\"s\":\"inner\"},\"a\":[1,{\"s\":\"x\"},[2]],"
                      "\"k\\u0065y\":\"escaped key\",\"long\":\"0123456789abcdef\","
                      "\"cut\":\"\xc3\xa9\xc3\xa9\"}";
    assert(strcmp(s_member(scan, rec, "s", buf, sizeof(buf)), "Cấp\né😀/") == 0);
    assert(strcmp(s_member(scan, rec, "i", buf, sizeof(buf)), "0") == 0);
    assert(strcmp(s_member(scan, rec, "j", buf, sizeof(buf)), "42") == 0);
    assert(strcmp(s_member(scan, rec, "min", buf, sizeof(buf)), "-9223372036854775808") == 0);
    const char *empty[] = {"r", "e", "t", "f", "n", "o", "a", "missing", "S", ""};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
        assert(strcmp(s_member(scan, rec, empty[i], buf, sizeof(buf)), "") == 0);
    assert(strcmp(s_member(scan, rec, "key", buf, sizeof(buf)), "escaped key") == 0);
    //  Cut as snprintf cuts: bytes, even inside a character.
    assert(strcmp(s_member(scan, rec, "long", buf, 5), "0123") == 0);
    assert(strcmp(s_member(scan, rec, "j", buf, 2), "4") == 0);
    assert(strcmp(s_member(scan, rec, "cut", buf, 4), "\xc3\xa9\xc3") == 0);
    assert(strcmp(s_member(scan, rec, "s", buf, 1), "") == 0);
    //  Types, lookups and walks.
    lt_json_t root;
    assert(s_accepts(scan, rec, strlen(rec), &root));
    assert(lt_json_type(root) == LT_JSON_OBJECT);
    assert(lt_json_type(lt_json_get(root, "i")) == LT_JSON_INTEGER);
    assert(lt_json_type(lt_json_get(root, "r")) == LT_JSON_REAL);
    assert(lt_json_type(lt_json_get(root, "e")) == LT_JSON_REAL);
    assert(lt_json_type(lt_json_get(root, "t")) == LT_JSON_TRUE);
    assert(lt_json_type(lt_json_get(root, "f")) == LT_JSON_FALSE);
    assert(lt_json_type(lt_json_get(root, "n")) == LT_JSON_NULL);
    assert(lt_json_type(lt_json_get(root, "missing")) == LT_JSON_NONE);
    lt_json_t inner = lt_json_get(root, "o");
    assert(strcmp(lt_json_text(lt_json_get(inner, "s"), buf, sizeof(buf)), "inner") == 0);
    lt_json_t cursor = lt_json_get(root, "a"), item;
    size_t count = 0;
    while (lt_json_next(&cursor, &item))
        count++;
    assert(count == 3);
    cursor = lt_json_get(root, "o");   //  not an array
    assert(!lt_json_next(&cursor, &item));
    cursor = lt_json_get(root, "missing");
    assert(!lt_json_next(&cursor, &item));
    const char *names[] = {"j", "s", "nothing", "key"};
    lt_json_t found[4];
    lt_json_pick(root, names, 4, found);
    assert(found[0].at && found[1].at && !found[2].at && found[3].at);
    assert(strcmp(lt_json_text(found[0], buf, sizeof(buf)), "42") == 0);
    //  Sizes once unescaped, as jansson's json_string_length gives them.
    const char *sized = "{\"plain\":\"abc\",\"esc\":\"a\\n\\\"\\\\\\/\\u0041\\u00e9\\u20ac\","
                        "\"pair\":\"\\ud83d\\ude00x\",\"raw\":\"Vi\xe1\xbb\x87t\",\"empty\":\"\","
                        "\"n\":12,\"o\":{}}";
    json_t *tree = json_loads(sized, JSON_REJECT_DUPLICATES, NULL);
    assert(tree && s_accepts(scan, sized, strlen(sized), &root));
    const char *key;
    json_t *value;
    size_t strings = 0;
    json_object_foreach(tree, key, value)
    {
        size_t want = json_is_string(value) ? json_string_length(value) : 0;
        assert(lt_json_size(lt_json_get(root, key)) == want);
        strings += json_is_string(value);
    }
    assert(strings == 5 && lt_json_size(lt_json_get(root, "esc")) == 11);
    assert(lt_json_size(lt_json_get(root, "missing")) == 0);
    json_decref(tree);
    //  An empty array and a NUL skipped after a number, walked.
    const char nul[] = "{\"a\":[],\"b\":[1\0,2\0],\"c\":7\0}";
    lt_err_t err;
    assert(lt_json_scan_check(scan, nul, sizeof(nul) - 1, &root, &err) == 0);
    cursor = lt_json_get(root, "a");
    assert(!lt_json_next(&cursor, &item));
    cursor = lt_json_get(root, "b");
    count = 0;
    while (lt_json_next(&cursor, &item))
        count++;
    assert(count == 2);
    assert(strcmp(lt_json_text(lt_json_get(root, "c"), buf, sizeof(buf)), "7") == 0);
    //  A refusal names what is wrong.
    assert(lt_json_scan_check(scan, "{\"a\":01}", 8, &root, &err) == -1);
    assert(err.code == LT_EINVAL && strstr(err.detail, "leading zero") && root.at == NULL);
    assert(lt_json_scan_check(scan, NULL, 0, &root, &err) == -1);
}

//  ---------------------------------------------------------------------------
//  The compact, key-sorted form against jansson's

#define S_DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)

//  One case of the written form: text of len bytes (0: strlen) and, when
//  not NULL, what jansson writes for it (the rule it shows).
typedef struct {
    const char *text;     //  input, accepted
    size_t len;           //  its length when it holds NUL bytes, else 0
    const char *expect;   //  jansson's output, or NULL
} s_canon_case_t;

//  A reused output buffer.
typedef struct {
    char *buf;    //  bytes
    size_t len;   //  in use
    size_t cap;   //  allocated
} s_buf_t;

//  Append the written form of value to out and check it is jansson's dump
//  of tree, byte for byte.
static void s_canon_is(lt_json_scan_t *scan, lt_json_t value, json_t *tree, s_buf_t *out)
{
    char *want = json_dumps(tree, S_DUMP_FLAGS);
    assert(want);
    size_t before = out->len;
    assert(lt_json_canon(scan, value, &out->buf, &out->len, &out->cap) == 0);
    size_t got = out->len - before;
    if (got != strlen(want) || memcmp(out->buf + before, want, got) != 0)
        fprintf(stderr, "lt_json_canon: '%.*s' where jansson writes '%s'\n", (int) got,
                out->buf + before, want);
    assert(got == strlen(want) && memcmp(out->buf + before, want, got) == 0);
    assert(out->len < out->cap && out->buf[out->len] == 0);
    free(want);
}

//  Check text, write its root and, for an array, each element (as the
//  portal writes the records of "data"), comparing each with jansson's
//  dump, and the root with expect when given.
static void s_canon_case(lt_json_scan_t *scan, const char *text, size_t len, const char *expect,
                         s_buf_t *out)
{
    lt_json_t root;
    if (!s_accepts(scan, text, len, &root))
        fprintf(stderr, "lt_json_canon: case refused: '%.80s'\n", text);
    assert(s_accepts(scan, text, len, &root));
    json_t *tree = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    assert(tree);
    out->len = 0;
    s_canon_is(scan, root, tree, out);
    if (expect) {
        if (strcmp(out->buf, expect) != 0)
            fprintf(stderr, "lt_json_canon: '%s' for '%s', expected '%s'\n", out->buf, text,
                    expect);
        assert(strcmp(out->buf, expect) == 0);
    }
    if (json_is_array(tree)) {
        lt_json_t cursor = root, item;
        size_t i = 0;
        while (lt_json_next(&cursor, &item)) {
            out->len = 0;
            s_canon_is(scan, item, json_array_get(tree, i++), out);
        }
        assert(i == json_array_size(tree));
    }
    json_decref(tree);
}

static void s_canon_cases(lt_json_scan_t *scan, const s_canon_case_t *cases, size_t count,
                          s_buf_t *out)
{
    for (size_t i = 0; i < count; i++)
        s_canon_case(scan, cases[i].text, cases[i].len ? cases[i].len : strlen(cases[i].text),
                     cases[i].expect, out);
}

//  Literals, integers, reals, layout and nesting.
static void s_test_canon_values(lt_json_scan_t *scan, s_buf_t *out)
{
    static const s_canon_case_t cases[] = {
        {"[]", 0, "[]"},
        {"{}", 0, "{}"},
        {" [ true , false , null , { } , [ ] ] ", 0, "[true,false,null,{},[]]"},
        {"{ \"b\" : [ 1 , 2 ] ,\n\t\"a\" : { \"y\" : null , \"x\" : [ ] } }", 0,
         "{\"a\":{\"x\":[],\"y\":null},\"b\":[1,2]}"},
        //  Integers: long long, written %lld.
        {"[0,-0,1,-1,42,-42,1000000]", 0, "[0,0,1,-1,42,-42,1000000]"},
        {"[9223372036854775807,-9223372036854775808,-9223372036854775807]", 0,
         "[9223372036854775807,-9223372036854775808,-9223372036854775807]"},
        //  Reals: %.17g, ".0" when neither '.' nor 'e', exponent trimmed.
        {"[1E2,1e2,1e+2,100.0,1.0,0.0,-0.0,0e0,-0e-0]", 0,
         "[100.0,100.0,100.0,100.0,1.0,0.0,-0.0,0.0,-0.0]"},
        {"[1e20,1e+20,1E-7,1.5e-07,1e16,1e17,1e-5,1e-4,0.0001]", 0,
         "[1e20,1e20,9.9999999999999995e-8,1.4999999999999999e-7,10000000000000000.0,1e17,"
         "1.0000000000000001e-5,0.0001,0.0001]"},
        {"[0.1,0.5,2.5,-1.25,3.141592653589793,123456789.123456789]", 0, NULL},
        {"[1e300,1e308,1.7976931348623157e308,-1.7976931348623157e308]", 0, NULL},
        {"[1e-300,2.2250738585072014e-308,2.2250738585072011e-308,-1.2345678901234567e-308]", 0,
         NULL},
        {"[5e-324,4.9406564584124654e-324,2.4703282292062328e-324,2.4703282292062327e-324]", 0,
         NULL},
        {"[1e-400,-1e-400,0.1e-999999999999,-1e-99999999999999999999]", 0,
         "[0.0,-0.0,0.0,-0.0]"},
        {"[123e-2,1e0,1e1,1e15,1e21,1e-1,12345678901234567890.0,12345678901234567890e0]", 0,
         NULL},
        {"[0.30000000000000004,9007199254740993.0,1.00000000000000011102230246251565]", 0, NULL},
        //  A NUL right after a number or literal (jansson skips it).
        {"[1\0,2.5\0,true\0]", 15, "[1,2.5,true]"},
        {"{\"b\":1\0,\"a\":null\0}", 18, "{\"a\":null,\"b\":1}"},
        //  Nesting: objects in arrays in objects, sorted at each level.
        {"{\"z\":[{\"b\":[{\"d\":1,\"c\":[{\"f\":{},\"e\":[[],[{}]]}]}],\"a\":0}],\"y\":{\"q\":{"
         "\"s\":1,\"r\":2},\"p\":[3,{\"u\":4,\"t\":5}]}}",
         0,
         "{\"y\":{\"p\":[3,{\"t\":5,\"u\":4}],\"q\":{\"r\":2,\"s\":1}},\"z\":[{\"a\":0,\"b\":[{"
         "\"c\":[{\"e\":[[],[{}]],\"f\":{}}],\"d\":1}]}]}"},
    };
    s_canon_cases(scan, cases, sizeof(cases) / sizeof(cases[0]), out);

    //  A real of many digits (longer than any scratch held inline).
    char text[1200];
    size_t used = 0;
    text[used++] = '[';
    memcpy(text + used, "0.", 2);
    used += 2;
    for (int i = 0; i < 700; i++)
        text[used++] = (char) ('0' + (i * 7) % 10);
    memcpy(text + used, "e-3,1", 5);
    used += 5;
    for (int i = 0; i < 300; i++)
        text[used++] = '0';
    memcpy(text + used, ".5]", 3);
    used += 3;
    s_canon_case(scan, text, used, NULL, out);
}

//  Strings and keys: what is escaped and how, what comes out raw.
static void s_test_canon_strings(lt_json_scan_t *scan, s_buf_t *out)
{
    static const s_canon_case_t cases[] = {
        {"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 0, "[\"\\\"\\\\/\\b\\f\\n\\r\\t\"]"},
        {"[\"\\u0022\\u005c\\u005C\\u002f\\u0008\\u000c\\u000A\\u000d\\u0009\"]", 0,
         "[\"\\\"\\\\\\\\/\\b\\f\\n\\r\\t\"]"},
        {"[\"\\u001f\\u001F\\u000b\\u0001\\u007f\x7f\"]", 0,
         "[\"\\u001F\\u001F\\u000B\\u0001\x7f\x7f\"]"},
        {"[\"/ a/b \\/\\/\"]", 0, "[\"/ a/b //\"]"},
        {"[\"\\u00e9\\u00E9\\u1ec7\\u0111\\ud83d\\ude00\\uD83D\\uDE00\\uffff\\u0800\\u07ff\\u0080\"]",
         0, "[\"ééệđ😀😀\xef\xbf\xbf\xe0\xa0\x80\xdf\xbf\xc2\x80\"]"},
        //  Vietnamese, raw and escaped, in values and keys.
        {"{\"tên thủ tục\":\"Cấp giấy phép xây dựng nhà ở riêng lẻ\",\"c\\u01a1 quan\":"
         "\"S\\u1edf X\\u00e2y d\\u1ef1ng H\\u00e0 N\\u1ed9i\",\"ghi chú\":\"Đã tiếp nhận\\n"
         "\\\"hồ sơ\\\" — 15 ngày\"}",
         0,
         "{\"cơ quan\":\"Sở Xây dựng Hà Nội\",\"ghi chú\":\"Đã tiếp nhận\\n\\\"hồ sơ\\\" — 15 "
         "ngày\",\"tên thủ tục\":\"Cấp giấy phép xây dựng nhà ở riêng lẻ\"}"},
        //  Keys by their bytes: capitals before small letters, a prefix first,
        //  any non-ASCII last ("đ" after "z", "ê" after "e" and "f").
        {"{\"z\":1,\"\\u0111\":2,\"e\":3,\"\\u00ea\":4,\"f\":5,\"E\":6,\"ab\":7,\"a\":8,\"\":9,"
         "\"a b\":10,\"a\\u0001\":11,\"_\":12,\"0\":13,\"\\u007f\":14,\"\\t\":15}",
         0,
         "{\"\":9,\"\\t\":15,\"0\":13,\"E\":6,\"_\":12,\"a\":8,\"a\\u0001\":11,\"a b\":10,"
         "\"ab\":7,\"e\":3,\"f\":5,\"z\":1,\"\x7f\":14,\"ê\":4,\"đ\":2}"},
        //  Keys that differ only once unescaped, escaped and not.
        {"{\"k\\u0065y2\":1,\"key1\":2,\"ke\\u0079\":3,\"\\\"q\":4,\"\\\\b\":5}", 0,
         "{\"\\\"q\":4,\"\\\\b\":5,\"key\":3,\"key1\":2,\"key2\":1}"},
    };
    s_canon_cases(scan, cases, sizeof(cases) / sizeof(cases[0]), out);

    //  Every control byte, as \u00XX in lower and capital hex and as the
    //  short escape where there is one, in a value and in a key.
    static const char hex[] = "0123456789abcdef", cap[] = "0123456789ABCDEF";
    for (int c = 1; c < 0x20; c++) {
        char text[96];
        int n = snprintf(text, sizeof(text), "{\"k\\u00%c%c\":[\"\\u00%c%c\",\"x\\u00%c%cy\"]}",
                         hex[c >> 4], hex[c & 15], hex[c >> 4], hex[c & 15], cap[c >> 4],
                         cap[c & 15]);
        assert(n > 0 && (size_t) n < sizeof(text));
        s_canon_case(scan, text, (size_t) n, NULL, out);
        //  The control byte must come out escaped: no raw byte below 0x20.
        for (size_t i = 0; i < out->len; i++)
            assert((unsigned char) out->buf[i] >= 0x20);
    }
    static const char shorts[] = "bfnrt";
    for (const char *s = shorts; *s; s++) {
        char text[32];
        int n = snprintf(text, sizeof(text), "[\"<\\%c>\",{\"\\%c\":0}]", *s, *s);
        s_canon_case(scan, text, (size_t) n, NULL, out);
    }
}

//  Big objects (past any sort threshold), with escaped keys, and nested.
static void s_test_canon_big(lt_json_scan_t *scan, s_buf_t *out)
{
    const size_t counts[] = {7, 8, 9, 16, 17, 255, 256, 257, 300, 2000};
    size_t size = 64 * 2000 + 64;
    char *text = malloc(size);
    assert(text);
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        size_t count = counts[c], used = 0;
        used += (size_t) snprintf(text + used, size - used, "{");
        for (size_t i = 0; i < count; i++) {
            //  Keys in a scrambled order, some escaped, some sharing a prefix.
            size_t k = (i * 7919) % count;
            if (k % 5 == 0)
                used += (size_t) snprintf(text + used, size - used,
                                          "\"k\\u0065y%zu\":[%zu,{\"b\":1,\"a\":%zu}]", k, k, k);
            else if (k % 3 == 0)
                used += (size_t) snprintf(text + used, size - used,
                                          "\"key%zu\":\"\\u1ec7%zu\\n\",\"key%zu_\":null", k, k, k);
            else
                used += (size_t) snprintf(text + used, size - used, "\"key%zu\":%zu.5", k, k);
            if (i + 1 < count)
                text[used++] = ',';
        }
        used += (size_t) snprintf(text + used, size - used, "}");
        assert(used < size);
        s_canon_case(scan, text, used, NULL, out);
        //  The same object as the member of an array and of an object.
        char *wrapped = malloc(2 * used + 32);
        assert(wrapped);
        int n = snprintf(wrapped, 2 * used + 32, "[{\"z\":%s,\"a\":%s}]", text, text);
        assert(n > 0 && (size_t) n < 2 * used + 32);
        s_canon_case(scan, wrapped, (size_t) n, NULL, out);
        free(wrapped);
    }
    free(text);
}

//  Depth: 2048 nested containers, the most jansson reads.
static void s_test_canon_depth(lt_json_scan_t *scan, s_buf_t *out)
{
    size_t cap = 8 * 2048 + 16, used = 0;
    char *text = malloc(cap);
    assert(text);
    for (int i = 0; i < 2047; i++)
        used += (size_t) snprintf(text + used, cap - used, i % 2 ? "[1," : "{\"b\":2,\"a\":");
    text[used++] = '7';
    for (int i = 2046; i >= 0; i--)
        text[used++] = i % 2 ? ']' : '}';
    s_canon_case(scan, text, used, NULL, out);
    free(text);
}

//  One buffer across calls and scanners, appended to; what is kept and
//  what is refused.
static void s_test_canon_reuse(lt_json_scan_t *scan, s_buf_t *out)
{
    const char *rec = "{\"so_ho_so\":\"000.00.12.H26-260903-00001\",\"k\\u0065y\":1,"
                      "\"big\":{\"a0\":0,\"a1\":1,\"a2\":2,\"a3\":3,\"a4\":4,\"a5\":5,\"a6\":6,"
                      "\"a7\":7,\"a8\":8,\"a9\":9,\"b0\":0,\"b1\":1,\"b2\":2,\"b3\":3,\"b4\":4,"
                      "\"b5\":5,\"b6\":6,\"b7\":7,\"b8\":8,\"b9\":9,\"c0\":0}}";
    lt_json_t root;
    assert(s_accepts(scan, rec, strlen(rec), &root));
    //  Written twice into one buffer: the second copy follows the first.
    out->len = 0;
    assert(lt_json_canon(scan, root, &out->buf, &out->len, &out->cap) == 0);
    size_t once = out->len;
    assert(lt_json_canon(scan, root, &out->buf, &out->len, &out->cap) == 0);
    assert(out->len == 2 * once && memcmp(out->buf, out->buf + once, once) == 0);
    assert(strlen(out->buf) == out->len);
    //  The keys the check kept still answer lt_json_scan_pick.
    const char *names[] = {"key", "so_ho_so", "big", "none"};
    lt_json_t found[4];
    lt_json_scan_pick(scan, names, 4, found);
    assert(found[0].at && found[1].at && found[2].at && !found[3].at);
    assert(found[2].at == lt_json_get(root, "big").at);
    char text[64];
    assert(strcmp(lt_json_text(found[1], text, sizeof(text)), "000.00.12.H26-260903-00001") == 0);
    //  A buffer that starts empty and grows from nothing, from another
    //  scanner; a member written alone.
    lt_json_scan_t *other = lt_json_scan_new();
    assert(other);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    assert(lt_json_canon(other, found[2], &buf, &len, &cap) == 0);
    assert(len > 0 && cap > len && buf[len] == 0 && buf[0] == '{');
    assert(lt_json_canon(other, found[1], &buf, &len, &cap) == 0);
    assert(strcmp(buf + len - 28, "\"000.00.12.H26-260903-00001\"") == 0);
    lt_json_scan_destroy(&other);
    free(buf);
    //  An absent value writes nothing.
    size_t before = out->len;
    lt_json_t absent = lt_json_get(root, "none");
    assert(lt_json_canon(scan, absent, &out->buf, &out->len, &out->cap) == -1);
    assert(out->len == before);
}

//  The written form: each rule, compared with jansson's own dump.
static void s_test_canon(lt_json_scan_t *scan)
{
    s_buf_t out = {NULL, 0, 0};
    s_test_canon_values(scan, &out);
    s_test_canon_strings(scan, &out);
    s_test_canon_big(scan, &out);
    s_test_canon_depth(scan, &out);
    s_test_canon_reuse(scan, &out);
    free(out.buf);
}

//  lt_json_utf8_scrub keeps well-formed UTF-8 and drops every other byte:
//  a letter cut short, overlong forms, surrogates, stray continuations.
static void s_test_scrub(lt_json_scan_t *scan)
{
    char cut[] = "T\xc3\xaan \xc4\x90\xc4";   //  "Tên Đ" and half of another Đ
    lt_json_utf8_scrub(cut);
    assert(strcmp(cut, "T\xc3\xaan \xc4\x90") == 0);
    char bad[] = "a\xc0\xaf" "b\xed\xa0\x80" "c\xe0\x80\xaf" "d\x80" "e\xf4\x90\x80\x80"
                 "f\xf0\x9f\x98\x80";
    lt_json_utf8_scrub(bad);
    assert(strcmp(bad, "abcdef\xf0\x9f\x98\x80") == 0);
    //  What is left is a string the scanner accepts.
    char quoted[64];
    snprintf(quoted, sizeof(quoted), "[\"%s\"]", cut);
    lt_json_t root;
    lt_err_t err;
    assert(lt_json_scan_check(scan, quoted, strlen(quoted), &root, &err) == 0);
}

void lt_json_scan_test(bool verbose)
{
    if (verbose)
        printf(" * lt_json_scan: ");
    lt_json_scan_t *scan = lt_json_scan_new();
    assert(scan);
    s_test_syntax(scan);
    s_test_strings(scan);
    s_test_numbers(scan);
    s_test_overflow_forms(scan);
    s_test_depth(scan);
    s_test_duplicates(scan);
    s_test_values(scan);
    s_test_canon(scan);
    s_test_scrub(scan);
    lt_json_scan_destroy(&scan);
    lt_json_scan_destroy(&scan);
    assert(scan == NULL);
    if (verbose)
        printf("OK\n");
}
