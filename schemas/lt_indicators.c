/*  lt_indicators: definitions parser and rate arithmetic (see the header).
*/
#include "lt_indicators.h"
#include "lt_ledger_event.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_INDICATORS 128
#define S_MAX_REGIMES 64

struct _lt_indicators_t {
    lt_indicator_t list[S_MAX_INDICATORS];   //  indicators in file order
    size_t size;                             //  in use
    char regimes[S_MAX_REGIMES][64];         //  report regimes due
    size_t regime_count;                     //  in use
};

static const char *s_counts[] = {"items", "agencies", "procedures", "regimes"};

const char *lt_count_name(lt_count_t count)
{
    return (unsigned) count <= LT_COUNT_REGIMES ? s_counts[count] : "?";
}

void lt_indicators_destroy(lt_indicators_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

size_t lt_indicators_size(const lt_indicators_t *self)
{
    return self ? self->size : 0;
}

const lt_indicator_t *lt_indicators_at(const lt_indicators_t *self, size_t index)
{
    return self && index < self->size ? &self->list[index] : NULL;
}

const lt_indicator_t *lt_indicators_find(const lt_indicators_t *self, const char *code)
{
    for (size_t i = 0; self && i < self->size; i++)
        if (strcmp(self->list[i].code, code) == 0)
            return &self->list[i];
    return NULL;
}

size_t lt_indicators_regimes(const lt_indicators_t *self)
{
    return self ? self->regime_count : 0;
}

const char *lt_indicators_regime(const lt_indicators_t *self, size_t index)
{
    return self && index < self->regime_count ? self->regimes[index] : NULL;
}

//  Trim blanks at both ends in place.
static char *s_trim(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len && strchr(" \t\r\n", text[len - 1]))
        text[--len] = 0;
    return text;
}

//  Parse a filter; returns NULL or a reason (static text, or in why).
static const char *s_filter(char *text, lt_filter_t *f, bool *special, const char *special_word,
                            char *why, size_t why_size)
{
    memset(f, 0, sizeof(*f));
    *special = false;
    char *save = NULL;
    for (char *w = strtok_r(text, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
        if (special_word && strcmp(w, special_word) == 0) {
            *special = true;
            continue;
        }
        if (*w == '+' || *w == '-') {
            unsigned bit = lt_flag_from_name(w + 1);
            if (!bit) {
                snprintf(why, why_size, "unknown flag '%.40s'", w + 1);
                return why;
            }
            if (*w == '+')
                f->with |= bit;
            else
                f->without |= bit;
            continue;
        }
        lt_ev_t ev = lt_ev_from_name(w);
        if (ev == LT_EV_NONE) {
            snprintf(why, why_size, "unknown event '%.40s' (flags take + or -)", w);
            return why;
        }
        f->events |= 1u << ev;
    }
    if (!f->events && !*special)
        return "names no event";
    return NULL;
}

//  Parse a percentage or points value.
static bool s_number(const char *text, double max, double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (!*text || !end || *s_trim(end) || !(v >= 0) || v > max)
        return false;
    *out = v;
    return true;
}

//  Check a finished indicator block; returns a reason or NULL.
static const char *s_check(const lt_indicator_t *ind, unsigned seen)
{
    static const char *names[] = {"name", "count", "numerator", "denominator", "target"};
    for (int i = 0; i < 5; i++)
        if (!(seen & (1u << i))) {
            static char why[96];
            snprintf(why, sizeof(why), "indicator %.40s has no %s", ind->code, names[i]);
            return why;
        }
    return NULL;
}

lt_indicators_t *lt_indicators_load(const char *path, lt_err_t *err)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return lt_err_set(err, LT_ECONFIG, "%s: cannot open the indicator definitions", path),
               NULL;
    lt_indicators_t *self = calloc(1, sizeof(*self));
    char line[2048], why[160];
    int lineno = 0, block_line = 0;
    unsigned seen = 0;
    const char *problem = NULL;
    lt_indicator_t *cur = NULL;
    if (!self)
        problem = "out of memory";
    while (!problem && fgets(line, sizeof(line), in)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(in)) {
            problem = "line too long";
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        bool indented = line[0] == ' ' || line[0] == '\t';
        char *text = s_trim(line);
        if (!*text)
            continue;
        if (!indented && strncmp(text, "indicator", 9) == 0 && (text[9] == ' ' || text[9] == '\t')) {
            if (cur && (problem = s_check(cur, seen))) {
                lineno = block_line;
                break;
            }
            char *code = s_trim(text + 9);
            if (!*code || strlen(code) >= sizeof(cur->code) ||
                strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(code)) {
                problem = "indicator code must be lowercase letters, digits and _";
                break;
            }
            if (lt_indicators_find(self, code)) {
                problem = "indicator defined twice";
                break;
            }
            if (self->size == S_MAX_INDICATORS) {
                problem = "too many indicators";
                break;
            }
            cur = &self->list[self->size++];
            memset(cur, 0, sizeof(*cur));
            snprintf(cur->code, sizeof(cur->code), "%s", code);
            cur->points = 1;
            cur->line = block_line = lineno;
            seen = 0;
            continue;
        }
        char *eq = strchr(text, '=');
        if (!eq) {
            problem = "expected 'indicator CODE' or 'name = value'";
            break;
        }
        *eq = 0;
        char *key = s_trim(text), *value = s_trim(eq + 1);
        if (!indented) {
            if (strcmp(key, "regimes") != 0) {
                problem = "only 'regimes = ...' and 'indicator CODE' are allowed at the top level";
                break;
            }
            self->regime_count = 0;
            char *save = NULL;
            for (char *w = strtok_r(value, " \t,", &save); w && !problem;
                 w = strtok_r(NULL, " \t,", &save)) {
                if (self->regime_count == S_MAX_REGIMES || strlen(w) >= 64)
                    problem = "too many regimes, or one longer than 63 bytes";
                else
                    snprintf(self->regimes[self->regime_count++], 64, "%s", w);
            }
            continue;
        }
        if (!cur) {
            problem = "a setting before the first 'indicator CODE'";
            break;
        }
        bool special = false;
        if (strcmp(key, "name") == 0) {
            if (!*value || strlen(value) >= sizeof(cur->name))
                problem = "name is empty or longer than 255 bytes";
            snprintf(cur->name, sizeof(cur->name), "%s", value);
            seen |= 1;
        }
        else if (strcmp(key, "label") == 0)
            snprintf(cur->label, sizeof(cur->label), "%s", value);
        else if (strcmp(key, "count") == 0) {
            int c = -1;
            for (int i = 0; i <= LT_COUNT_REGIMES; i++)
                if (strcmp(value, s_counts[i]) == 0)
                    c = i;
            if (c < 0)
                problem = "count must be items, agencies, procedures or regimes";
            cur->count = (lt_count_t) c;
            seen |= 2;
        }
        else if (strcmp(key, "numerator") == 0) {
            problem = s_filter(value, &cur->numerator, &special, NULL, why, sizeof(why));
            seen |= 4;
        }
        else if (strcmp(key, "denominator") == 0) {
            const char *word = cur->count == LT_COUNT_AGENCIES  ? "configured_agencies"
                               : cur->count == LT_COUNT_REGIMES ? "regimes_due"
                                                                : NULL;
            if (!(seen & 2))
                problem = "count must come before denominator";
            else
                problem = s_filter(value, &cur->denominator, &special, word, why, sizeof(why));
            seen |= 8;
        }
        else if (strcmp(key, "exclude") == 0) {
            char *save = NULL;
            cur->exclude = 0;
            for (char *w = strtok_r(value, " \t,", &save); w && !problem;
                 w = strtok_r(NULL, " \t,", &save)) {
                unsigned bit = lt_flag_from_name(w);
                if (!bit) {
                    snprintf(why, sizeof(why), "unknown flag '%.40s' in exclude", w);
                    problem = why;
                }
                cur->exclude |= bit;
            }
        }
        else if (strcmp(key, "target") == 0) {
            if (!s_number(value, 100, &cur->target))
                problem = "target must be a percentage from 0 to 100";
            seen |= 16;
        }
        else if (strcmp(key, "points") == 0) {
            if (!s_number(value, 1000, &cur->points))
                problem = "points must be a number from 0 to 1000";
        }
        else {
            snprintf(why, sizeof(why), "unknown setting '%.40s'", key);
            problem = why;
        }
    }
    if (!problem && cur && (problem = s_check(cur, seen)))
        lineno = block_line;
    if (!problem && self && self->size == 0)
        problem = "no indicator defined";
    fclose(in);
    if (problem) {
        lt_err_set(err, LT_ECONFIG, "%s:%d: %s", path, lineno, problem);
        free(self);
        return NULL;
    }
    return self;
}

bool lt_filter_match(const lt_filter_t *f, int event, unsigned flags)
{
    if (event <= 0 || event >= 32 || !(f->events & (1u << event)))
        return false;
    return (flags & f->with) == f->with && (flags & f->without) == 0;
}

bool lt_indicator_excluded(const lt_indicator_t *def, int event, unsigned flags)
{
    (void) event;
    return (flags & def->exclude) != 0;
}

void lt_filter_text(const lt_filter_t *f, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (int e = 1; e < LT_EV_COUNT; e++)
        if (f->events & (1u << e))
            used += (size_t) snprintf(out + used, used < size ? size - used : 0, "%s%s",
                                      used ? " " : "", lt_ev_name((lt_ev_t) e));
    for (int b = 0; b < LT_F_COUNT; b++) {
        if (f->with & (1u << b))
            used += (size_t) snprintf(out + used, used < size ? size - used : 0, "%s+%s",
                                      used ? " " : "", lt_flag_name(b));
        if (f->without & (1u << b))
            used += (size_t) snprintf(out + used, used < size ? size - used : 0, "%s-%s",
                                      used ? " " : "", lt_flag_name(b));
    }
}

static int s_strcmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

//  Distinct strings among list[0..n) (sorted in place).
static int64_t s_distinct(const char **list, size_t n)
{
    if (n == 0)
        return 0;
    qsort(list, n, sizeof(char *), s_strcmp);
    int64_t count = 1;
    for (size_t i = 1; i < n; i++)
        if (strcmp(list[i], list[i - 1]) != 0)
            count++;
    return count;
}

//  True when agency is counted for target (the province when target is ""
//  or a bare province code).
static bool s_under(const lt_agencies_t *dir, const char *agency, const char *target)
{
    return lt_agencies_under(dir, agency, target);
}

//  The computation; with filtered, every sum is known to be under agency.
static void s_compute(const lt_indicators_t *self, const lt_indicator_t *def,
                      const lt_agencies_t *dir, const char *agency, const lt_ind_sum_t *sums,
                      size_t n, bool filtered, lt_ind_result_t *r);

void lt_indicator_compute(const lt_indicators_t *self, const lt_indicator_t *def,
                          const lt_agencies_t *dir, const char *agency, const lt_ind_sum_t *sums,
                          size_t n, lt_ind_result_t *r)
{
    s_compute(self, def, dir, agency, sums, n, false, r);
}

void lt_indicator_compute_under(const lt_indicators_t *self, const lt_indicator_t *def,
                                const lt_agencies_t *dir, const char *agency,
                                const lt_ind_sum_t *sums, size_t n, lt_ind_result_t *r)
{
    s_compute(self, def, dir, agency, sums, n, true, r);
}

static void s_compute(const lt_indicators_t *self, const lt_indicator_t *def,
                      const lt_agencies_t *dir, const char *agency, const lt_ind_sum_t *sums,
                      size_t n, bool filtered, lt_ind_result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->def = def;
    if (def->count == LT_COUNT_ITEMS) {
        for (size_t i = 0; i < n; i++) {
            const lt_ind_sum_t *s = &sums[i];
            if ((!filtered && !s_under(dir, s->agency, agency)) ||
                lt_indicator_excluded(def, s->event, s->flags) ||
                !lt_filter_match(&def->denominator, s->event, s->flags))
                continue;
            r->denominator += s->n;
            if (lt_filter_match(&def->numerator, s->event, s->flags))
                r->numerator += s->n;
        }
    }
    else if (def->count == LT_COUNT_AGENCIES) {
        //  The agencies with a numerator item of their own, sorted for lookups.
        const char **active = calloc(n ? n : 1, sizeof(char *));
        size_t na = 0;
        for (size_t i = 0; active && i < n; i++)
            if (sums[i].n > 0 && !lt_indicator_excluded(def, sums[i].event, sums[i].flags) &&
                lt_filter_match(&def->numerator, sums[i].event, sums[i].flags))
                active[na++] = sums[i].agency;
        if (na)
            qsort(active, na, sizeof(char *), s_strcmp);
        for (size_t a = 0; a < lt_agencies_size(dir); a++) {
            const char *code = lt_agencies_at(dir, a)->code;
            if (!s_under(dir, code, agency))
                continue;
            r->denominator++;
            if (na && bsearch(&code, active, na, sizeof(char *), s_strcmp))
                r->numerator++;
        }
        free(active);
    }
    else {
        const char **num = calloc(n ? n : 1, sizeof(char *));
        const char **den = calloc(n ? n : 1, sizeof(char *));
        size_t nn = 0, nd = 0;
        for (size_t i = 0; num && den && i < n; i++) {
            const lt_ind_sum_t *s = &sums[i];
            if (s->n <= 0 || !*s->dim || (!filtered && !s_under(dir, s->agency, agency)) ||
                lt_indicator_excluded(def, s->event, s->flags))
                continue;
            if (def->count == LT_COUNT_REGIMES) {
                bool due = false;
                for (size_t k = 0; k < lt_indicators_regimes(self); k++)
                    due |= strcmp(lt_indicators_regime(self, k), s->dim) == 0;
                if (due && lt_filter_match(&def->numerator, s->event, s->flags))
                    num[nn++] = s->dim;
                continue;
            }
            if (!lt_filter_match(&def->denominator, s->event, s->flags))
                continue;
            den[nd++] = s->dim;
            if (lt_filter_match(&def->numerator, s->event, s->flags))
                num[nn++] = s->dim;
        }
        r->numerator = s_distinct(num, nn);
        r->denominator = def->count == LT_COUNT_REGIMES ? (int64_t) lt_indicators_regimes(self)
                                                        : s_distinct(den, nd);
        free(num);
        free(den);
    }
    if (r->denominator <= 0) {
        r->no_data = true;
        r->status = "no_data";
        return;
    }
    double exact = 100.0 * (double) r->numerator / (double) r->denominator;
    r->value = round(exact * 100.0) / 100.0;
    bool met = exact + 1e-9 >= def->target;
    r->status = met ? "met" : "below";
    double share = def->target > 0 ? exact / def->target : 1.0;
    r->points = round(def->points * (share > 1 ? 1 : share) * 100.0) / 100.0;
}

//  ---------------------------------------------------------------------------
//  Self-test

static lt_indicators_t *s_load_text(const char *text, lt_err_t *err)
{
    char path[] = "/tmp/lt_indicators_test_XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    assert(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
    close(fd);
    lt_indicators_t *self = lt_indicators_load(path, err);
    unlink(path);
    return self;
}

void lt_indicators_test(bool verbose)
{
    if (verbose)
        printf(" * lt_indicators: ");
    lt_err_t err;
    lt_indicators_t *defs = s_load_text(
        "regimes = PAR-7.1, BC-1\n"
        "indicator doc_electronic_rate\n"
        "    name = Tỷ lệ văn bản điện tử\n    label = 7.1.1\n    count = items\n"
        "    numerator = doc_out doc_in +electronic\n    denominator = doc_out doc_in\n"
        "    exclude = secret\n    target = 100\n    points = 2\n"
        "indicator doc_connected_agencies_rate\n"
        "    name = Cơ quan kết nối\n    count = agencies\n"
        "    numerator = doc_out doc_in +electronic\n    denominator = configured_agencies\n"
        "    exclude = secret\n    target = 100\n"
        "indicator procedure_online_rate\n"
        "    name = Thủ tục trực tuyến\n    count = procedures\n"
        "    numerator = dossier_received +online\n    denominator = dossier_received\n"
        "    target = 50\n"
        "indicator report_connected_rate\n"
        "    name = Báo cáo\n    count = regimes\n"
        "    numerator = report_accepted\n    denominator = regimes_due\n    target = 30\n",
        &err);
    assert(defs && lt_indicators_size(defs) == 4 && lt_indicators_regimes(defs) == 2);
    const lt_indicator_t *el = lt_indicators_find(defs, "doc_electronic_rate");
    assert(el && el->points == 2 && el->exclude == LT_F_SECRET);
    char text[128];
    lt_filter_text(&el->numerator, text, sizeof(text));
    assert(strcmp(text, "doc_out doc_in +electronic") == 0);

    char path[] = "/tmp/lt_indicators_dir_XXXXXX";
    int fd = mkstemp(path);
    const char *dirtext = "000.00.00.H26 | | 1 | province | Tỉnh\n"
                          "000.00.12.H26 | | 2 | department | Sở\n"
                          "000.00.31.H26 | | 2 | district | Huyện\n"
                          "000.03.31.H26 | | 3 | commune | Xã\n";
    assert(write(fd, dirtext, strlen(dirtext)) == (ssize_t) strlen(dirtext));
    close(fd);
    lt_agencies_t *dir = lt_agencies_load(path, &err);
    unlink(path);
    assert(dir);
    lt_ind_sum_t sums[] = {
        {"000.00.12.H26", LT_EV_DOC_OUT, LT_F_ELECTRONIC | LT_F_RELAYED, "", 3},
        {"000.00.12.H26", LT_EV_DOC_OUT, 0, "", 1},
        {"000.00.12.H26", LT_EV_DOC_OUT, LT_F_SECRET, "", 5},
        {"000.03.31.H26", LT_EV_DOC_IN, LT_F_ELECTRONIC, "", 2},
        {"000.03.31.H26", LT_EV_DOSSIER_RECEIVED, LT_F_ONLINE, "1.001", 2},
        {"000.03.31.H26", LT_EV_DOSSIER_RECEIVED, 0, "1.002", 1},
        {"000.00.00.H26", LT_EV_REPORT_ACCEPTED, 0, "PAR-7.1", 1},
        {"000.00.00.H26", LT_EV_REPORT_ACCEPTED, 0, "OTHER", 1},
    };
    size_t n = sizeof(sums) / sizeof(sums[0]);
    lt_ind_result_t r;
    lt_indicator_compute(defs, el, dir, "", sums, n, &r);
    assert(r.numerator == 5 && r.denominator == 6 && r.value == 83.33 && !r.no_data);
    assert(strcmp(r.status, "below") == 0 && r.points == 1.67);
    lt_indicator_compute(defs, el, dir, "000.00.31.H26", sums, n, &r);
    assert(r.numerator == 2 && r.denominator == 2 && r.points == 2 && strcmp(r.status, "met") == 0);
    lt_indicator_compute(defs, el, dir, "000.00.00.H26", sums, n, &r);
    assert(r.numerator == 5 && r.denominator == 6);
    lt_indicator_compute(defs, lt_indicators_find(defs, "doc_connected_agencies_rate"), dir, "H26",
                         sums, n, &r);
    assert(r.numerator == 2 && r.denominator == 4);
    lt_indicator_compute(defs, lt_indicators_find(defs, "procedure_online_rate"), dir, "", sums, n,
                         &r);
    assert(r.numerator == 1 && r.denominator == 2 && r.value == 50);
    lt_indicator_compute(defs, lt_indicators_find(defs, "procedure_online_rate"), dir,
                         "000.00.12.H26", sums, n, &r);
    assert(r.no_data && strcmp(r.status, "no_data") == 0 && r.denominator == 0);
    lt_indicator_compute(defs, lt_indicators_find(defs, "report_connected_rate"), dir, "", sums, n,
                         &r);
    assert(r.numerator == 1 && r.denominator == 2);
    lt_indicators_destroy(&defs);
    lt_agencies_destroy(&dir);

    //  Errors name the line.
    assert(!s_load_text("indicator x\n    name = X\n    count = items\n    numerator = doc_zz\n",
                        &err));
    assert(strstr(err.detail, ":4: unknown event 'doc_zz'"));
    assert(!s_load_text("indicator x\n    name = X\n    count = items\n"
                        "    numerator = doc_in\n    denominator = doc_in\n",
                        &err));
    assert(strstr(err.detail, ":1: indicator x has no target"));
    assert(!s_load_text("indicator x\n    name = X\n    target = 150\n", &err));
    assert(strstr(err.detail, ":3: target"));
    assert(!s_load_text("indicator x\n    colour = red\n", &err));
    assert(strstr(err.detail, ":2: unknown setting 'colour'"));
    assert(!s_load_text("# nothing\n", &err) && strstr(err.detail, "no indicator"));
    if (verbose)
        printf("OK\n");
}
