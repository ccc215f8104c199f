/*  lt_report_json: reading and checking a report (see the header).

    Every check names the field by its path (period.kind,
    indicators[3].numerator) and says what it must be, so that the reason a
    report waits in dead letters, or the 400 the simulator answers, tells
    the operator what to correct.
*/
#include "lt_report_json.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CODE_MAX  64    //  longest reportCode, organId and indicator code
#define S_KEY_MAX   512   //  longest idempotencyKey (the envelope's key limit)
#define S_TEXT_MAX  4096  //  longest free text (indicator name, unit)

struct _lt_report_json_t {
    json_t *root;            //  the whole report
    const char *code;        //  reportCode (in root)
    const char *organ;       //  organId (in root)
    const char *key;         //  idempotencyKey (in root)
    char label[16];          //  period label
};

//  A period kind, its label letter and the index range it takes.
typedef struct {
    const char *name;   //  kind on the wire
    int max_index;      //  highest index (1: a single period per year)
} s_kind_t;

static const s_kind_t s_kinds[] = {
    {"month", 12}, {"quarter", 4}, {"half", 2}, {"nine_months", 1}, {"year", 1},
};

//  Return true when text has no control characters (it goes into logs and
//  envelopes).
static bool s_printable(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

//  Check a required string field of obj: present, a string, 1..max bytes,
//  no control characters. path names it in the error.
static const char *s_string(json_t *obj, const char *name, const char *path, size_t max,
                            lt_err_t *err)
{
    json_t *value = json_object_get(obj, name);
    if (!value)
        return lt_err_set(err, LT_EFIELD, "report: field '%s' is missing", path), NULL;
    const char *text = json_string_value(value);
    if (!text)
        return lt_err_set(err, LT_EFIELD, "report: field '%s' must be a string", path), NULL;
    size_t len = strlen(text);
    if (len == 0 || len > max)
        return lt_err_set(err, LT_EFIELD, "report: field '%s' must have 1 to %zu bytes, not %zu",
                          path, max, len),
               NULL;
    if (!s_printable(text))
        return lt_err_set(err, LT_EFIELD, "report: field '%s' holds control characters", path),
               NULL;
    return text;
}

//  Return true when code looks like an agency code: letters and digits in
//  dot-separated groups (000.00.00.H26, or H26.12.01).
static bool s_agency_code(const char *code)
{
    bool group = false;
    for (const char *p = code; *p; p++) {
        if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
            group = true;
        else if (*p == '.' && group)
            group = false;
        else
            return false;
    }
    return group;
}

//  Return true when text is a calendar date yyyy-MM-dd.
static bool s_date(const char *text)
{
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            return false;
    int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10
               + (text[3] - '0');
    int month = (text[5] - '0') * 10 + (text[6] - '0');
    int day = (text[8] - '0') * 10 + (text[9] - '0');
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days[month - 1] + (month == 2 && leap);
}

//  Read an integer field within [lo, hi]; -1 with err naming path.
static int s_integer(json_t *obj, const char *name, const char *path, long lo, long hi,
                     long *out, lt_err_t *err)
{
    json_t *value = json_object_get(obj, name);
    if (!value)
        return lt_err_set(err, LT_EFIELD, "report: field '%s' is missing", path), -1;
    if (!json_is_integer(value) || json_integer_value(value) < lo
        || json_integer_value(value) > hi)
        return lt_err_set(err, LT_EFIELD, "report: field '%s' must be a whole number from %ld to %ld",
                          path, lo, hi),
               -1;
    *out = (long) json_integer_value(value);
    return 0;
}

//  Check the period object and write its label.
static int s_period(lt_report_json_t *self, lt_err_t *err)
{
    json_t *period = json_object_get(self->root, "period");
    if (!period)
        return lt_err_set(err, LT_EFIELD, "report: field 'period' is missing"), -1;
    if (!json_is_object(period))
        return lt_err_set(err, LT_EFIELD, "report: field 'period' must be an object"), -1;
    const char *kind = s_string(period, "kind", "period.kind", 32, err);
    if (!kind)
        return -1;
    const s_kind_t *k = NULL;
    for (size_t i = 0; i < sizeof(s_kinds) / sizeof(s_kinds[0]) && !k; i++)
        if (strcmp(s_kinds[i].name, kind) == 0)
            k = &s_kinds[i];
    if (!k)
        return lt_err_set(err, LT_EFIELD,
                          "report: field 'period.kind' must be month, quarter, half, "
                          "nine_months or year, not '%.32s'",
                          kind),
               -1;
    long year = 0, index = 1;
    if (s_integer(period, "year", "period.year", 2000, 2200, &year, err))
        return -1;
    if ((k->max_index > 1 || json_object_get(period, "index"))
        && s_integer(period, "index", "period.index", 1, k->max_index, &index, err))
        return -1;
    const char *ends[] = {"from", "to"};
    const char *dates[2];
    for (int i = 0; i < 2; i++) {
        char path[16];
        snprintf(path, sizeof(path), "period.%s", ends[i]);
        if (!(dates[i] = s_string(period, ends[i], path, 10, err)))
            return -1;
        if (!s_date(dates[i]))
            return lt_err_set(err, LT_EFIELD,
                              "report: field '%s' must be a date yyyy-MM-dd, not '%s'", path,
                              dates[i]),
                   -1;
    }
    if (strcmp(dates[0], dates[1]) > 0)
        return lt_err_set(err, LT_EFIELD, "report: field 'period.from' (%s) is after 'period.to' (%s)",
                          dates[0], dates[1]),
               -1;
    if (strcmp(kind, "month") == 0)
        snprintf(self->label, sizeof(self->label), "%ld-M%02ld", year, index);
    else if (strcmp(kind, "quarter") == 0)
        snprintf(self->label, sizeof(self->label), "%ld-Q%ld", year, index);
    else if (strcmp(kind, "half") == 0)
        snprintf(self->label, sizeof(self->label), "%ld-H%ld", year, index);
    else if (strcmp(kind, "nine_months") == 0)
        snprintf(self->label, sizeof(self->label), "%ld-9M", year);
    else
        snprintf(self->label, sizeof(self->label), "%ld", year);
    return 0;
}

//  Check an optional number field: absent, null (when allowed) or a finite
//  number, not negative when so required.
static int s_number(json_t *obj, const char *name, const char *path, bool null_ok,
                    bool non_negative, lt_err_t *err)
{
    json_t *value = json_object_get(obj, name);
    if (!value || (null_ok && json_is_null(value)))
        return 0;
    if (!json_is_number(value) || !isfinite(json_number_value(value)))
        return lt_err_set(err, LT_EFIELD, "report: field '%s' must be a number%s", path,
                          null_ok ? " or null" : ""),
               -1;
    if (non_negative && json_number_value(value) < 0)
        return lt_err_set(err, LT_EFIELD, "report: field '%s' must not be negative", path), -1;
    return 0;
}

//  Check an optional free-text field.
static int s_text(json_t *obj, const char *name, const char *path, lt_err_t *err)
{
    json_t *value = json_object_get(obj, name);
    if (!value)
        return 0;
    if (!json_is_string(value) || strlen(json_string_value(value)) > S_TEXT_MAX)
        return lt_err_set(err, LT_EFIELD, "report: field '%s' must be a string of at most %d bytes",
                          path, S_TEXT_MAX),
               -1;
    return 0;
}

//  Check the indicators array.
static int s_indicators(lt_report_json_t *self, lt_err_t *err)
{
    json_t *list = json_object_get(self->root, "indicators");
    if (!list)
        return lt_err_set(err, LT_EFIELD, "report: field 'indicators' is missing"), -1;
    if (!json_is_array(list))
        return lt_err_set(err, LT_EFIELD, "report: field 'indicators' must be an array"), -1;
    if (json_array_size(list) > LT_REPORT_JSON_INDICATORS)
        return lt_err_set(err, LT_EFIELD, "report: field 'indicators' holds %zu items, at most %d",
                          json_array_size(list), LT_REPORT_JSON_INDICATORS),
               -1;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        char path[64];
        snprintf(path, sizeof(path), "indicators[%zu]", i);
        if (!json_is_object(item))
            return lt_err_set(err, LT_EFIELD, "report: field '%s' must be an object", path), -1;
        char field[96];
        snprintf(field, sizeof(field), "%s.code", path);
        if (!s_string(item, "code", field, S_CODE_MAX, err))
            return -1;
        static const struct {
            const char *name;      //  field
            bool null_ok;          //  null allowed ("no data")
            bool non_negative;     //  must be >= 0
        } numbers[] = {
            {"numerator", false, true},
            {"denominator", false, true},
            {"value", true, false},
            {"target", true, false},
        };
        for (size_t n = 0; n < sizeof(numbers) / sizeof(numbers[0]); n++) {
            snprintf(field, sizeof(field), "%s.%s", path, numbers[n].name);
            if (s_number(item, numbers[n].name, field, numbers[n].null_ok,
                         numbers[n].non_negative, err))
                return -1;
        }
        const char *texts[] = {"name", "unit"};
        for (size_t t = 0; t < 2; t++) {
            snprintf(field, sizeof(field), "%s.%s", path, texts[t]);
            if (s_text(item, texts[t], field, err))
                return -1;
        }
    }
    return 0;
}

//  Check the optional fields: generatedAt and evidence.
static int s_optional(lt_report_json_t *self, lt_err_t *err)
{
    if (s_text(self->root, "generatedAt", "generatedAt", err))
        return -1;
    json_t *evidence = json_object_get(self->root, "evidence");
    if (!evidence)
        return 0;
    if (!json_is_object(evidence))
        return lt_err_set(err, LT_EFIELD, "report: field 'evidence' must be an object"), -1;
    json_t *items = json_object_get(evidence, "items");
    if (items && (!json_is_integer(items) || json_integer_value(items) < 0))
        return lt_err_set(err, LT_EFIELD,
                          "report: field 'evidence.items' must be a whole number, not negative"),
               -1;
    json_t *sha = json_object_get(evidence, "sha256");
    const char *hex = json_string_value(sha);
    if (sha && (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdefABCDEF") != 64))
        return lt_err_set(err, LT_EFIELD, "report: field 'evidence.sha256' must be 64 hex digits"),
               -1;
    return 0;
}

lt_report_json_t *lt_report_json_parse(const void *data, size_t size, lt_err_t *err)
{
    if (!data || size == 0)
        return lt_err_set(err, LT_EINVAL, "report: the payload is empty"), NULL;
    if (size > LT_REPORT_JSON_MAX)
        return lt_err_set(err, LT_ETOOBIG, "report: %zu bytes, more than the limit of %u", size,
                          LT_REPORT_JSON_MAX),
               NULL;
    lt_report_json_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "report: out of memory"), NULL;
    json_error_t jerr;
    self->root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!self->root) {
        lt_err_set(err, LT_EINVAL, "report: not JSON (line %d column %d: %s)", jerr.line,
                   jerr.column, jerr.text);
        goto failed;
    }
    if (!json_is_object(self->root)) {
        lt_err_set(err, LT_EINVAL, "report: the JSON text is not an object");
        goto failed;
    }
    if (!(self->code = s_string(self->root, "reportCode", "reportCode", S_CODE_MAX, err))
        || !(self->organ = s_string(self->root, "organId", "organId", S_CODE_MAX, err)))
        goto failed;
    if (!s_agency_code(self->organ)) {
        lt_err_set(err, LT_EFIELD, "report: field 'organId' is not an agency code: '%.64s'",
                   self->organ);
        goto failed;
    }
    if (s_period(self, err)
        || !(self->key = s_string(self->root, "idempotencyKey", "idempotencyKey", S_KEY_MAX, err))
        || s_indicators(self, err) || s_optional(self, err))
        goto failed;
    return self;
failed:
    lt_report_json_destroy(&self);
    return NULL;
}

void lt_report_json_destroy(lt_report_json_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        json_decref((*self_p)->root);
        free(*self_p);
        *self_p = NULL;
    }
}

const char *lt_report_json_code(const lt_report_json_t *self)
{
    assert(self);
    return self->code;
}

const char *lt_report_json_organ(const lt_report_json_t *self)
{
    assert(self);
    return self->organ;
}

const char *lt_report_json_key(const lt_report_json_t *self)
{
    assert(self);
    return self->key;
}

const char *lt_report_json_period_label(const lt_report_json_t *self)
{
    assert(self);
    return self->label;
}

json_t *lt_report_json_period(const lt_report_json_t *self)
{
    assert(self);
    return json_object_get(self->root, "period");
}

json_t *lt_report_json_root(const lt_report_json_t *self)
{
    assert(self);
    return self->root;
}

void lt_report_json_fill_envelope(const lt_report_json_t *self, lt_envelope_t *env,
                                  const void *data, size_t size)
{
    assert(self && env);
    lt_envelope_set_kind(env, LT_KIND_REPORT);
    lt_envelope_set_key(env, self->key);
    lt_envelope_set_btype(env, "new");
    lt_envelope_set_sender(env, self->organ);
    lt_envelope_set_electronic(env, true);
    lt_envelope_set_payload_facts(env, data, size);
}

//  ---------------------------------------------------------------------------
//  Self-test

//  Parse text and expect failure whose detail holds want.
static void s_expect_bad(const char *text, const char *want)
{
    lt_err_t err;
    lt_err_clear(&err);
    lt_report_json_t *report = lt_report_json_parse(text, strlen(text), &err);
    if (report || !strstr(err.detail, want)) {
        fprintf(stderr, "lt_report_json: expected '%s', got '%s' for %s\n", want,
                report ? "(accepted)" : err.detail, text);
        assert(false);
    }
}

void lt_report_json_test(bool verbose)
{
    if (verbose)
        printf(" * lt_report_json: ");
    const char *good
        = "{\"reportCode\": \"PAR-7.1\", \"organId\": \"000.00.00.H26\","
          " \"period\": {\"kind\": \"quarter\", \"year\": 2026, \"index\": 3,"
          " \"from\": \"2026-06-15\", \"to\": \"2026-09-14\"},"
          " \"generatedAt\": \"2026-09-20T08:00:00+07:00\","
          " \"idempotencyKey\": \"PAR-7.1/000.00.00.H26/2026-Q3/1\","
          " \"indicators\": [{\"code\": \"doc_electronic_rate\", \"name\": \"Tỷ lệ văn bản\","
          " \"numerator\": 9120, \"denominator\": 9400, \"value\": 97.02, \"unit\": \"%\","
          " \"target\": 100}, {\"code\": \"report_connected_rate\", \"value\": null}],"
          " \"evidence\": {\"items\": 9400, \"sha256\": "
          "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},"
          " \"extra\": {\"kept\": true}}";
    lt_err_t err;
    lt_report_json_t *report = lt_report_json_parse(good, strlen(good), &err);
    assert(report);
    assert(strcmp(lt_report_json_code(report), "PAR-7.1") == 0);
    assert(strcmp(lt_report_json_organ(report), "000.00.00.H26") == 0);
    assert(strcmp(lt_report_json_key(report), "PAR-7.1/000.00.00.H26/2026-Q3/1") == 0);
    assert(strcmp(lt_report_json_period_label(report), "2026-Q3") == 0);
    assert(json_integer_value(json_object_get(lt_report_json_period(report), "index")) == 3);
    lt_envelope_t *env = lt_envelope_new();
    lt_report_json_fill_envelope(report, env, good, strlen(good));
    assert(lt_envelope_kind(env) == LT_KIND_REPORT);
    assert(strcmp(lt_envelope_key(env), "PAR-7.1/000.00.00.H26/2026-Q3/1") == 0);
    assert(strcmp(lt_envelope_sender(env), "000.00.00.H26") == 0);
    assert(lt_envelope_size(env) == strlen(good));
    assert(lt_envelope_validate(env, &err) == 0);
    lt_envelope_destroy(&env);
    lt_report_json_destroy(&report);
    lt_report_json_destroy(&report);

    //  A year needs no index; a month's label has two digits.
    const char *year = "{\"reportCode\":\"A\",\"organId\":\"H26.12.01\",\"period\":{\"kind\":"
                       "\"year\",\"year\":2025,\"from\":\"2024-12-15\",\"to\":\"2025-12-14\"},"
                       "\"idempotencyKey\":\"k\",\"indicators\":[]}";
    report = lt_report_json_parse(year, strlen(year), &err);
    assert(report && strcmp(lt_report_json_period_label(report), "2025") == 0);
    lt_report_json_destroy(&report);
    const char *month = "{\"reportCode\":\"A\",\"organId\":\"000.00.12.H26\",\"period\":{\"kind\":"
                        "\"month\",\"year\":2024,\"index\":2,\"from\":\"2024-01-15\",\"to\":"
                        "\"2024-02-29\"},\"idempotencyKey\":\"k\",\"indicators\":[]}";
    report = lt_report_json_parse(month, strlen(month), &err);
    assert(report && strcmp(lt_report_json_period_label(report), "2024-M02") == 0);
    lt_report_json_destroy(&report);

    //  Each bad field is named.
    s_expect_bad("", "empty");
    s_expect_bad("[1]", "not an object");
    s_expect_bad("{\"reportCode\": ", "not JSON");
    s_expect_bad("{\"organId\":\"000.00.00.H26\"}", "'reportCode' is missing");
    s_expect_bad("{\"reportCode\":7}", "'reportCode' must be a string");
    s_expect_bad("{\"reportCode\":\"\"}", "'reportCode' must have 1 to 64 bytes");
    s_expect_bad("{\"reportCode\":\"A\",\"reportCode\":\"B\"}", "duplicate");
    s_expect_bad("{\"reportCode\":\"A\\nB\"}", "control characters");
    s_expect_bad("{\"reportCode\":\"A\",\"organId\":\"000..H26\"}", "not an agency code");
    s_expect_bad("{\"reportCode\":\"A\",\"organId\":\"H26\"}", "'period' is missing");
    s_expect_bad("{\"reportCode\":\"A\",\"organId\":\"H26\",\"period\":{\"kind\":\"week\"}}",
                 "'period.kind' must be month");
    s_expect_bad("{\"reportCode\":\"A\",\"organId\":\"H26\",\"period\":{\"kind\":\"quarter\","
                 "\"year\":2026,\"index\":5}}",
                 "'period.index' must be a whole number from 1 to 4");
    s_expect_bad("{\"reportCode\":\"A\",\"organId\":\"H26\",\"period\":{\"kind\":\"half\","
                 "\"year\":\"2026\"}}",
                 "'period.year' must be a whole number");
    s_expect_bad("{\"reportCode\":\"A\",\"organId\":\"H26\",\"period\":{\"kind\":\"year\","
                 "\"year\":2026,\"from\":\"2026-02-30\",\"to\":\"2026-03-01\"}}",
                 "'period.from' must be a date");
    s_expect_bad("{\"reportCode\":\"A\",\"organId\":\"H26\",\"period\":{\"kind\":\"year\","
                 "\"year\":2026,\"from\":\"2026-03-02\",\"to\":\"2026-03-01\"}}",
                 "is after");
    const char *head = "{\"reportCode\":\"A\",\"organId\":\"H26\",\"period\":{\"kind\":\"year\","
                       "\"year\":2026,\"from\":\"2025-12-15\",\"to\":\"2026-12-14\"}";
    char text[512];
    snprintf(text, sizeof(text), "%s}", head);
    s_expect_bad(text, "'idempotencyKey' is missing");
    snprintf(text, sizeof(text), "%s,\"idempotencyKey\":\"k\"}", head);
    s_expect_bad(text, "'indicators' is missing");
    snprintf(text, sizeof(text), "%s,\"idempotencyKey\":\"k\",\"indicators\":{}}", head);
    s_expect_bad(text, "'indicators' must be an array");
    snprintf(text, sizeof(text), "%s,\"idempotencyKey\":\"k\",\"indicators\":[{\"code\":\"a\"},"
                                 "{\"name\":\"x\"}]}", head);
    s_expect_bad(text, "'indicators[1].code' is missing");
    snprintf(text, sizeof(text), "%s,\"idempotencyKey\":\"k\",\"indicators\":[{\"code\":\"a\","
                                 "\"numerator\":-1}]}", head);
    s_expect_bad(text, "'indicators[0].numerator' must not be negative");
    snprintf(text, sizeof(text), "%s,\"idempotencyKey\":\"k\",\"indicators\":[{\"code\":\"a\","
                                 "\"value\":\"97%%\"}]}", head);
    s_expect_bad(text, "'indicators[0].value' must be a number or null");
    snprintf(text, sizeof(text), "%s,\"idempotencyKey\":\"k\",\"indicators\":[],"
                                 "\"evidence\":{\"sha256\":\"xyz\"}}", head);
    s_expect_bad(text, "'evidence.sha256' must be 64 hex digits");
    snprintf(text, sizeof(text), "%s,\"idempotencyKey\":\"k\",\"indicators\":[],"
                                 "\"generatedAt\":5}", head);
    s_expect_bad(text, "'generatedAt' must be a string");
    assert(lt_report_json_parse("{}", LT_REPORT_JSON_MAX + 1, &err) == NULL
           && err.code == LT_ETOOBIG);
    if (verbose)
        printf("OK\n");
}
