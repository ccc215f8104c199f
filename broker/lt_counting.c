/*  lt_counting: indicators, evidence and reports over a store file (see
    the header). Counts come from ledger_sum (a few thousand rows for a
    year); evidence lists the items themselves from the ledger.
*/
#include "lt_counting.h"
#include "lt_store.h"
#include "lt_broker.h"
#include "lt_log.h"
#include "lt_digest.h"
#include "lt_id.h"
#include "lt_ledger.h"

#include <assert.h>
#include <limits.h>
#include <czmq.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _lt_counting_t {
    lt_indicators_t *defs;   //  indicator definitions
    lt_agencies_t *dir;      //  agency directory (may be empty)
    bool calendar;           //  calendar boundaries instead of Nghị định 09
    char province[16];       //  level-1 code
    char reports[512];       //  ledger/reports, for the report codes it names
};

//  The default indicator definitions: share/lthub/indicators/default.ind
//  beside the running program's bin/ (any install prefix), the compiled-in
//  install path, /usr (the package) or /usr/local, or the source tree's when
//  not installed.
static const char *s_default_definitions(char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, size, "%s/../share/lthub/indicators/default.ind", exe);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    const char *installed[] = {LT_INDICATORS_DEFAULT, "/usr/share/lthub/indicators/default.ind",
                               "/usr/local/share/lthub/indicators/default.ind"};
    for (size_t i = 0; i < sizeof(installed) / sizeof(installed[0]); i++)
        if (access(installed[i], R_OK) == 0)
            return installed[i];
    return LT_INDICATORS_SOURCE;
}

lt_counting_t *lt_counting_load(const lt_settings_t *st, lt_err_t *err)
{
    lt_counting_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "counting: out of memory"), NULL;
    snprintf(self->province, sizeof(self->province), "%s", st->province);
    snprintf(self->reports, sizeof(self->reports), "%s", st->reports);
    if (strcmp(st->calendar, "calendar") == 0)
        self->calendar = true;
    else if (strcmp(st->calendar, "nd09") != 0) {
        lt_err_set(err, LT_ECONFIG, "ledger/calendar must be nd09 or calendar, not '%.32s'",
                   st->calendar);
        goto fail;
    }
    //  Empty: the installed default, or the source tree's when not installed.
    const char *defs = st->indicators_file;
    char beside[PATH_MAX + 64];
    if (!*defs)
        defs = s_default_definitions(beside, sizeof(beside));
    if (!(self->defs = lt_indicators_load(defs, err)))
        goto fail;
    self->dir = *st->agencies_file ? lt_agencies_load(st->agencies_file, err) : lt_agencies_new();
    if (!self->dir)
        goto fail;
    return self;
fail:
    lt_counting_destroy(&self);
    return NULL;
}

void lt_counting_destroy(lt_counting_t **self_p)
{
    assert(self_p);
    lt_counting_t *self = *self_p;
    if (!self)
        return;
    lt_indicators_destroy(&self->defs);
    lt_agencies_destroy(&self->dir);
    free(self);
    *self_p = NULL;
}

const lt_indicators_t *lt_counting_indicators_defs(const lt_counting_t *self)
{
    return self->defs;
}

const lt_agencies_t *lt_counting_agencies(const lt_counting_t *self)
{
    return self->dir;
}

bool lt_counting_calendar(const lt_counting_t *self)
{
    return self->calendar;
}

void lt_counting_store_path(const lt_settings_t *st, char *out, size_t size)
{
    snprintf(out, size, "%s/lthub.db", st->data_dir);
}

//  A read-only connection to a store and its ledger.
typedef struct {
    sqlite3 *db;           //  connection
    lt_ledger_t *ledger;   //  ledger on it
} s_reader_t;

static int s_open(const char *store, s_reader_t *r, lt_err_t *err)
{
    memset(r, 0, sizeof(*r));
    if (sqlite3_open_v2(store, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        lt_err_set(err, LT_ESTORE, "cannot open the store %s: %s", store,
                   r->db ? sqlite3_errmsg(r->db) : "no memory");
        sqlite3_close(r->db);
        r->db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(r->db, 5000);
    r->ledger = lt_ledger_new(r->db, store, true, err);
    if (!r->ledger) {
        sqlite3_close(r->db);
        r->db = NULL;
        return -1;
    }
    return 0;
}

static void s_close(s_reader_t *r)
{
    lt_ledger_destroy(&r->ledger);
    sqlite3_close(r->db);
    r->db = NULL;
}

#define S_CHAIN_MAX 16   //  ancestors followed, as lt_agencies_under does

//  One agency's lines in the sorted list, with the agency and every code it
//  rolls up to (worked out once, not once per agency asked for).
typedef struct {
    size_t start, end;                //  lines [start, end) of one agency
    char chain[S_CHAIN_MAX][64];      //  the agency, its parent, ... (not the province)
    int depth;                        //  codes in chain
} s_range_t;

//  Summed counts of a period, strings owned; sorted by agency with the
//  range of each agency, so that the lines under an agency are found by
//  testing each agency once.
typedef struct {
    lt_ind_sum_t *list;   //  sums
    size_t size;          //  in use
    size_t alloc;         //  allocated
    s_range_t *ranges;    //  one per distinct agency
    size_t range_count;   //  in use
} s_sums_t;

static int s_by_agency(const void *a, const void *b)
{
    return strcmp(((const lt_ind_sum_t *) a)->agency, ((const lt_ind_sum_t *) b)->agency);
}

//  The codes an agency rolls up to, itself first (lt_agencies_under's walk).
static void s_chain(const lt_agencies_t *dir, const char *code, s_range_t *range)
{
    range->depth = 0;
    char at[64];
    snprintf(at, sizeof(at), "%s", code);
    while (range->depth < S_CHAIN_MAX && *at) {
        snprintf(range->chain[range->depth++], sizeof(range->chain[0]), "%s", at);
        char up[64];
        lt_agencies_parent(dir, at, up, sizeof(up));
        snprintf(at, sizeof(at), "%s", up);
    }
}

//  Sort the lines by agency and note each agency's range and roll-up; -1 on
//  no memory.
static int s_sums_index(s_sums_t *sums, const lt_agencies_t *dir)
{
    if (sums->size)
        qsort(sums->list, sums->size, sizeof(lt_ind_sum_t), s_by_agency);
    size_t agencies = 1;
    for (size_t i = 1; i < sums->size; i++)
        agencies += strcmp(sums->list[i].agency, sums->list[i - 1].agency) != 0;
    sums->ranges = malloc(agencies * sizeof(s_range_t));
    if (!sums->ranges)
        return -1;
    for (size_t i = 0; i < sums->size; i++) {
        if (i == 0 || strcmp(sums->list[i].agency, sums->list[i - 1].agency) != 0) {
            s_range_t *range = &sums->ranges[sums->range_count++];
            range->start = i;
            s_chain(dir, sums->list[i].agency, range);
        }
        sums->ranges[sums->range_count - 1].end = i + 1;
    }
    return 0;
}

static int s_sum_take(void *arg, const lt_ledger_sum_t *sum)
{
    s_sums_t *sums = arg;
    if (sums->size == sums->alloc) {
        size_t alloc = sums->alloc ? sums->alloc * 2 : 256;
        lt_ind_sum_t *list = realloc(sums->list, alloc * sizeof(lt_ind_sum_t));
        if (!list)
            return -1;
        sums->list = list;
        sums->alloc = alloc;
    }
    lt_ind_sum_t *s = &sums->list[sums->size];
    s->agency = strdup(sum->agency);
    s->dim = strdup(sum->dim);
    s->event = (int) sum->event;
    s->flags = sum->flags;
    s->n = sum->n;
    if (!s->agency || !s->dim) {
        free((char *) s->agency);
        free((char *) s->dim);
        return -1;
    }
    sums->size++;
    return 0;
}

static void s_sums_free(s_sums_t *sums)
{
    for (size_t i = 0; i < sums->size; i++) {
        free((char *) sums->list[i].agency);
        free((char *) sums->list[i].dim);
    }
    free(sums->list);
    free(sums->ranges);
    memset(sums, 0, sizeof(*sums));
}

//  The period JSON object.
static json_t *s_period_json(const lt_period_t *p)
{
    char from[11], to[11];
    lt_period_day_text(p->from_day, from);
    lt_period_day_text(p->to_day, to);
    return json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:s}", "name", p->name, "kind",
                     lt_period_kind_name(p->kind), "year", p->year, "index", p->index, "from",
                     from, "to", to, "boundaries", p->calendar ? "calendar" : "nd09");
}

//  One computed indicator as JSON.
static json_t *s_result_json(const lt_ind_result_t *r)
{
    const lt_indicator_t *d = r->def;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:f, s:f, s:s}", "code", d->code,
                          "name", d->name, "label", d->label, "count", lt_count_name(d->count),
                          "numerator", (json_int_t) r->numerator, "denominator",
                          (json_int_t) r->denominator, "unit", "%", "target", d->target,
                          "max_points", d->points, "status", r->status);
    json_object_set_new(o, "value", r->no_data ? json_null() : json_real(r->value));
    json_object_set_new(o, "points", r->no_data ? json_null() : json_real(r->points));
    return o;
}

//  The code an agency argument stands for ("" for the province).
static const char *s_target(const lt_counting_t *self, const char *agency)
{
    if (!agency || !*agency || strcmp(agency, self->province) == 0 ||
        strcmp(agency, "province") == 0)
        return "";
    return agency;
}

//  The lines that count for agency: each agency's range is taken or left
//  after one roll-up test ("" takes them all).
static lt_ind_sum_t *s_sums_under(lt_counting_t *self, const char *agency, const s_sums_t *sums,
                                  size_t *count)
{
    lt_ind_sum_t *list = malloc((sums->size ? sums->size : 1) * sizeof(lt_ind_sum_t));
    *count = 0;
    bool all = !*agency || !strchr(agency, '.');   //  the province (lt_agencies_under)
    for (size_t r = 0; list && r < sums->range_count; r++) {
        const s_range_t *range = &sums->ranges[r];
        bool under = all;
        for (int k = 0; !under && k < range->depth; k++)
            under = strcmp(range->chain[k], agency) == 0;
        if (!under)
            continue;
        memcpy(list + *count, sums->list + range->start,
               (range->end - range->start) * sizeof(lt_ind_sum_t));
        *count += range->end - range->start;
    }
    return list;
}

//  Indicators of one agency over collected sums.
static json_t *s_agency_json(lt_counting_t *self, const char *agency, const s_sums_t *sums)
{
    json_t *out = json_object();
    json_object_set_new(out, "agency", json_string(agency));
    const char *name = *self->province ? self->province : "province";
    for (size_t a = 0; !*agency && a < lt_agencies_size(self->dir); a++)
        if (lt_agencies_at(self->dir, a)->level == 1) {
            name = lt_agencies_at(self->dir, a)->name;
            break;
        }
    json_object_set_new(out, "agency_name",
                        json_string(*agency ? lt_agencies_name(self->dir, agency) : name));
    json_t *list = json_array();
    size_t count = 0;
    lt_ind_sum_t *under = s_sums_under(self, agency, sums, &count);
    for (size_t i = 0; i < lt_indicators_size(self->defs); i++) {
        lt_ind_result_t r;
        lt_indicator_compute_under(self->defs, lt_indicators_at(self->defs, i), self->dir,
                                   agency, under, count, &r);
        json_array_append_new(list, s_result_json(&r));
    }
    free(under);
    json_object_set_new(out, "indicators", list);
    return out;
}

json_t *lt_counting_indicators(lt_counting_t *self, const char *store, const char *period,
                               const char *agency, lt_err_t *err)
{
    assert(self && store && period);
    lt_period_t p;
    if (lt_period_parse(period, self->calendar, &p, err))
        return NULL;
    s_reader_t r;
    if (s_open(store, &r, err))
        return NULL;
    s_sums_t sums = {0};
    int rc = lt_ledger_sums(r.ledger, p.from_day, p.to_day, s_sum_take, &sums, err);
    s_close(&r);
    if (rc == 0 && s_sums_index(&sums, self->dir))
        rc = (lt_err_set(err, LT_ENOMEM, "counting: out of memory"), -1);
    if (rc) {
        s_sums_free(&sums);
        return NULL;
    }
    json_t *out = json_object();
    json_object_set_new(out, "period", s_period_json(&p));
    if (agency && strcmp(agency, "all") == 0) {
        json_t *all = json_array();
        json_array_append_new(all, s_agency_json(self, "", &sums));
        for (size_t a = 0; a < lt_agencies_size(self->dir); a++)
            json_array_append_new(all,
                                  s_agency_json(self, lt_agencies_at(self->dir, a)->code, &sums));
        json_object_set_new(out, "agencies", all);
    }
    else {
        json_t *one = s_agency_json(self, s_target(self, agency), &sums);
        json_object_update(out, one);
        json_decref(one);
    }
    s_sums_free(&sums);
    return out;
}

//  ---------------------------------------------------------------------------
//  Evidence

//  Write a CSV field (RFC 4180: quoted when it holds a comma, a quote or a
//  line break, quotes doubled). A field that begins with = + - @ TAB CR,
//  which a spreadsheet would run as a formula (a DocumentId or signer
//  written by an outside party), gets one ' in front, and so does one that
//  begins with ' itself, so the rule is reversible: drop one leading ' to
//  get the value back (docs/indicators.md, tests/ledger/rederive.py).
void lt_counting_csv(FILE *out, const char *value, bool last)
{
    bool guard = value[0] && strchr("=+-@\t\r'", value[0]);
    if (strpbrk(value, ",\"\r\n")) {
        fputc('"', out);
        if (guard)
            fputc('\'', out);
        for (const char *p = value; *p; p++) {
            if (*p == '"')
                fputc('"', out);
            fputc(*p, out);
        }
        fputc('"', out);
    }
    else {
        if (guard)
            fputc('\'', out);
        fputs(value, out);
    }
    fputc(last ? '\n' : ',', out);
}

//  Local time of a Unix ms as 2026-09-14T23:59:00+07:00 ("" for 0).
static void s_iso(int64_t ms, char out[32])
{
    if (ms == 0) {
        out[0] = 0;
        return;
    }
    lt_period_format_time(ms, "%Y-%m-%dT%H:%M:%S+07:00", out, 32);
}

//  Flag names joined by spaces.
static void s_flags_text(unsigned flags, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (int b = 0; b < LT_F_COUNT; b++)
        if (flags & (1u << b))
            used += (size_t) snprintf(out + used, used < size ? size - used : 0, "%s%s",
                                      used ? " " : "", lt_flag_name(b));
}

//  Context of the evidence walk.
typedef struct {
    lt_counting_t *self;          //  definitions and directory
    const lt_indicator_t *def;    //  the indicator
    const char *agency;           //  target ("" = province)
    FILE *csv;                    //  items.csv
    json_t *chain;                //  [[seq, hash], ...]
    int64_t items;                //  items listed
} s_evidence_t;

//  Why an item is not in the numerator.
static void s_reason(const lt_indicator_t *def, const lt_ledger_item_t *it, char *out,
                     size_t size)
{
    char missing[256], extra[256];
    s_flags_text(def->numerator.with & ~it->flags, missing, sizeof(missing));
    s_flags_text(def->numerator.without & it->flags, extra, sizeof(extra));
    size_t used = 0;
    out[0] = 0;
    if (!(def->numerator.events & (1u << it->event)))
        used += (size_t) snprintf(out, size, "event %s not counted in the numerator",
                                  lt_ev_name(it->event));
    if (*missing)
        used += (size_t) snprintf(out + used, used < size ? size - used : 0, "%snot %s",
                                  used ? "; " : "", missing);
    if (*extra)
        used += (size_t) snprintf(out + used, used < size ? size - used : 0, "%s%s",
                                  used ? "; " : "", extra);
    if ((def->numerator.with & LT_F_SIGNED) && !(it->flags & LT_F_SIGNED))
        snprintf(out + used, used < size ? size - used : 0, " (signature verdict: %s)",
                 lt_sig_name(it->sig));
}

static int s_evidence_item(void *arg, const lt_ledger_item_t *it)
{
    s_evidence_t *ev = arg;
    const lt_indicator_t *def = ev->def;
    unsigned events = def->numerator.events | def->denominator.events;
    if (!(events & (1u << it->event)) ||
        !lt_agencies_under(ev->self->dir, it->agency, ev->agency))
        return 0;
    const char *counted;
    char reason[512] = "";
    if (lt_indicator_excluded(def, it->event, it->flags)) {
        counted = "excluded";
        s_flags_text(it->flags & def->exclude, reason, sizeof(reason));
    }
    else if (lt_filter_match(&def->numerator, it->event, it->flags) &&
             (def->count == LT_COUNT_AGENCIES || def->count == LT_COUNT_REGIMES ||
              lt_filter_match(&def->denominator, it->event, it->flags)))
        counted = "numerator";
    else if (def->count != LT_COUNT_AGENCIES && def->count != LT_COUNT_REGIMES &&
             lt_filter_match(&def->denominator, it->event, it->flags)) {
        counted = "denominator";
        s_reason(def, it, reason, sizeof(reason));
    }
    else {
        counted = "other";
        s_reason(def, it, reason, sizeof(reason));
    }
    char at[32], received[32], confirmed[32], flags[256], channel[8], num[32];
    s_iso(it->at, at);
    s_iso(it->received_at, received);
    s_iso(it->related_at, confirmed);
    s_flags_text(it->flags, flags, sizeof(flags));
    snprintf(channel, sizeof(channel), "%d", it->channel);
    const char *direction = it->event == LT_EV_DOC_OUT  ? "out"
                            : it->event == LT_EV_DOC_IN ? "in"
                                                        : "";
    bool doc = it->event == LT_EV_DOC_OUT || it->event == LT_EV_DOC_IN;
    FILE *o = ev->csv;
    lt_counting_csv(o, counted, false);
    lt_counting_csv(o, reason, false);
    lt_counting_csv(o, it->item, false);
    lt_counting_csv(o, lt_ev_name(it->event), false);
    lt_counting_csv(o, it->doc, false);
    lt_counting_csv(o, it->agency, false);
    lt_counting_csv(o, direction, false);
    lt_counting_csv(o, it->origins, false);
    lt_counting_csv(o, doc ? ((it->flags & LT_F_ELECTRONIC) ? "electronic" : "paper") : "", false);
    lt_counting_csv(o, (it->flags & LT_F_SECRET) ? "1" : "0", false);
    lt_counting_csv(o, doc && strstr(it->origins, "relay") ? lt_sig_name(it->sig) : "", false);
    lt_counting_csv(o, it->signer, false);
    lt_counting_csv(o, it->channel ? channel : "", false);
    lt_counting_csv(o, it->dim, false);
    lt_counting_csv(o, it->detail, false);
    lt_counting_csv(o, flags, false);
    snprintf(num, sizeof(num), "%d", it->day);
    lt_counting_csv(o, num, false);
    lt_counting_csv(o, at, false);
    lt_counting_csv(o, received, false);
    lt_counting_csv(o, confirmed, false);
    lt_counting_csv(o, it->sha256, false);
    lt_counting_csv(o, it->msgid, false);
    lt_counting_csv(o, it->rows, true);
    //  The chain hashes covering the item.
    const char *p = it->rows;
    while (*p) {
        char *end = NULL;
        long long seq = strtoll(p, &end, 10);
        if (!end || *end != ':')
            break;
        const char *hash = end + 1;
        size_t len = strcspn(hash, ";");
        json_array_append_new(ev->chain, json_pack("[I, s#]", (json_int_t) seq, hash, len));
        p = hash + len + (hash[len] == ';');
    }
    ev->items++;
    return 0;
}

//  SHA-256 of a file as hex; -1 when unreadable.
static int s_file_sha256(const char *path, char hex[65])
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return -1;
    char *data = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&data, &size);
    char buf[65536];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, mem);
    fclose(in);
    if (!mem)
        return -1;
    fclose(mem);
    lt_digest_sha256_hex(data, size, hex);
    free(data);
    return 0;
}

int lt_counting_evidence(lt_counting_t *self, const char *store, const char *indicator,
                         const char *period, const char *agency, const char *dir, lt_err_t *err)
{
    const lt_indicator_t *def = lt_indicators_find(self->defs, indicator);
    if (!def)
        return lt_err_set(err, LT_EFIELD, "no indicator named '%.64s'", indicator), -1;
    lt_period_t p;
    if (lt_period_parse(period, self->calendar, &p, err))
        return -1;
    const char *target = s_target(self, agency);
    json_t *figures = lt_counting_indicators(self, store, period, target, err);
    if (!figures)
        return -1;
    if (zsys_dir_create("%s", dir)) {
        json_decref(figures);
        return lt_err_set(err, LT_EIO, "cannot create %s: %s", dir, strerror(errno)), -1;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/items.csv", dir);
    s_evidence_t ev = {.self = self, .def = def, .agency = target, .chain = json_array()};
    ev.csv = fopen(path, "w");
    if (!ev.csv) {
        json_decref(figures);
        json_decref(ev.chain);
        return lt_err_set(err, LT_EIO, "cannot write %s", path), -1;
    }
    fputs("counted,reason,item,event,doc,agency,direction,origins,channel,secret,signature,"
          "signer,dossier_channel,dim,detail,flags,day,at,received_at,related_at,sha256,msgid,rows\n",
          ev.csv);
    s_reader_t r;
    int rc = s_open(store, &r, err);
    char head[65] = "";
    int64_t head_seq = 0;
    if (rc == 0) {
        head_seq = lt_ledger_head(r.ledger, head);
        rc = lt_ledger_items(r.ledger, p.from_day, p.to_day, s_evidence_item, &ev, err);
        s_close(&r);
    }
    if (fclose(ev.csv) && rc == 0)
        rc = (lt_err_set(err, LT_EIO, "cannot write %s", path), -1);
    char csv_hash[65] = "";
    if (rc == 0 && s_file_sha256(path, csv_hash))
        rc = (lt_err_set(err, LT_EIO, "cannot read back %s", path), -1);
    if (rc) {
        json_decref(figures);
        json_decref(ev.chain);
        return -1;
    }
    //  The manifest: the definition, the figure, the agencies and regimes it
    //  is counted over, and the chain hashes covering the items.
    json_t *result = NULL;
    size_t i;
    json_t *one;
    json_array_foreach(json_object_get(figures, "indicators"), i, one)
    {
        if (strcmp(json_string_value(json_object_get(one, "code")), def->code) == 0)
            result = json_incref(one);
    }
    char num[512], den[512], excl[256];
    lt_filter_text(&def->numerator, num, sizeof(num));
    lt_filter_text(&def->denominator, den, sizeof(den));
    s_flags_text(def->exclude, excl, sizeof(excl));
    json_t *agencies = json_array(), *regimes = json_array();
    for (size_t a = 0; a < lt_agencies_size(self->dir); a++) {
        const char *code = lt_agencies_at(self->dir, a)->code;
        if (lt_agencies_under(self->dir, code, target))
            json_array_append_new(agencies, json_string(code));
    }
    for (size_t k = 0; k < lt_indicators_regimes(self->defs); k++)
        json_array_append_new(regimes, json_string(lt_indicators_regime(self->defs, k)));
    char generated[32];
    s_iso(lt_time_ms(), generated);
    json_t *manifest = json_pack(
        "{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f}, s:O, s:s, s:o, s:o, s:o,"
        " s:{s:s, s:I, s:s}, s:{s:I, s:s}, s:o, s:s}",
        "indicator", "code", def->code, "name", def->name, "label", def->label, "count",
        lt_count_name(def->count), "numerator", num, "denominator", den, "exclude", excl, "target",
        def->target, "max_points", def->points, "period", json_object_get(figures, "period"),
        "agency", target, "result", result ? result : json_null(), "configured_agencies",
        agencies, "regimes_due", regimes, "items", "file", "items.csv", "count",
        (json_int_t) ev.items, "sha256", csv_hash, "ledger", "head_seq", (json_int_t) head_seq,
        "head_hash", head, "chain", ev.chain, "generated_at", generated);
    json_decref(figures);
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    if (!manifest || json_dump_file(manifest, path, JSON_INDENT(2) | JSON_SORT_KEYS)) {
        json_decref(manifest);
        return lt_err_set(err, LT_EIO, "cannot write %s", path), -1;
    }
    json_decref(manifest);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Reports and verification

json_t *lt_counting_report(lt_counting_t *self, const char *store, const char *code,
                           const lt_period_t *p, const char *agency, lt_err_t *err)
{
    char province_code[64];
    snprintf(province_code, sizeof(province_code), "000.00.00.%s", self->province);
    //  The province, however it is named ("", "province", its level-1 code or
    //  its full code), reports as its full code: one report, one key.
    const char *target = s_target(self, agency);
    const char *organ = *target ? target : province_code;
    if (!strchr(organ, '.'))
        return lt_err_set(err, LT_EFIELD,
                          "agency '%.64s' is neither an agency code nor the province's", organ),
               NULL;
    json_t *figures = lt_counting_indicators(self, store, p->name,
                                             strcmp(organ, province_code) == 0 ? "" : organ, err);
    if (!figures)
        return NULL;
    json_t *list = json_array();
    size_t i;
    json_t *one;
    json_array_foreach(json_object_get(figures, "indicators"), i, one)
    {
        json_array_append_new(
            list, json_pack("{s:O, s:O, s:O, s:O, s:O, s:s, s:O}", "code",
                            json_object_get(one, "code"), "name", json_object_get(one, "name"),
                            "numerator", json_object_get(one, "numerator"), "denominator",
                            json_object_get(one, "denominator"), "value",
                            json_object_get(one, "value"), "unit", "%", "target",
                            json_object_get(one, "target")));
    }
    //  Evidence: the items behind the figures, fixed by the ledger's head.
    s_reader_t r;
    char head[65] = "";
    int64_t rows = 0;
    if (s_open(store, &r, err)) {
        json_decref(list);
        json_decref(figures);
        return NULL;   //  no report without the evidence that fixes it
    }
    rows = lt_ledger_head(r.ledger, head);
    s_close(&r);
    //  A ledger with no rows yet: the evidence is the empty list, whose
    //  digest is the SHA-256 of no bytes.
    if (!*head)
        lt_digest_sha256_hex("", 0, head);
    int64_t items = 0;
    json_array_foreach(json_object_get(figures, "indicators"), i, one)
    {
        items += json_integer_value(json_object_get(one, "denominator"));
    }
    char key[256], generated[32], from[11], to[11];
    snprintf(key, sizeof(key), "%s/%s/%s/1", code, organ, p->name);
    s_iso(lt_time_ms(), generated);
    lt_period_day_text(p->from_day, from);
    lt_period_day_text(p->to_day, to);
    json_t *report = json_pack(
        "{s:s, s:s, s:{s:s, s:i, s:i, s:s, s:s}, s:s, s:s, s:o, s:{s:I, s:s, s:I}}",
        "reportCode", code, "organId", organ, "period", "kind", lt_period_kind_name(p->kind),
        "year", p->year, "index", p->index, "from", from, "to", to, "generatedAt", generated,
        "idempotencyKey", key, "indicators", list, "evidence", "items", (json_int_t) items,
        "sha256", head, "ledger_rows", (json_int_t) rows);
    json_decref(figures);
    return report;
}

bool lt_counting_knows_code(const lt_counting_t *self, const char *code, char *known,
                            size_t size)
{
    assert(self && code && known && size);
    bool found = false;
    *known = 0;
    size_t len = 0;
    for (size_t i = 0; i < lt_indicators_regimes(self->defs); i++) {
        const char *regime = lt_indicators_regime(self->defs, i);
        found |= strcmp(regime, code) == 0;
        len += (size_t) snprintf(known + len, len < size ? size - len : 0, "%s%s",
                                 len ? ", " : "", regime);
        len = len < size ? len : size - 1;
    }
    //  ledger/reports: CODE:KIND[:AGENCY], comma- or space-separated.
    for (const char *at = self->reports; *at;) {
        at += strspn(at, ", ");
        size_t entry = strcspn(at, ", ");
        size_t name = strcspn(at, ":, ");
        if (name && name < 64) {
            char one[64];
            snprintf(one, sizeof(one), "%.*s", (int) name, at);
            found |= strcmp(one, code) == 0;
            if (!strstr(known, one)) {
                len += (size_t) snprintf(known + len, len < size ? size - len : 0, "%s%s",
                                         len ? ", " : "", one);
                len = len < size ? len : size - 1;
            }
        }
        at += entry;
    }
    if (!*known)
        snprintf(known, size, "none: the definitions have no regimes line");
    return found;
}

json_t *lt_counting_submit(lt_counting_t *self, const char *store, const char *code,
                           const lt_period_t *period, const char *agency, lt_err_t *err)
{
    json_t *report = lt_counting_report(self, store, code, period, agency, err);
    if (!report)
        return NULL;
    char *payload = json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_t *request = json_pack("{s:s, s:s, s:O, s:O, s:s}", "op", "publish", "kind", "report",
                                "key", json_object_get(report, "idempotencyKey"), "sender",
                                json_object_get(report, "organId"), "payload",
                                payload ? payload : "");
    char *text = request ? json_dumps(request, JSON_COMPACT) : NULL;
    char *answer = text ? lt_broker_admin_request(text, 10000) : NULL;
    json_t *reply = answer ? json_loads(answer, 0, NULL) : NULL;
    if (!reply)
        lt_err_set(err, LT_EUNAVAIL, "the broker did not take the report (is lthubd running?)");
    else if (json_object_get(reply, "error")) {
        lt_err_set(err, LT_ESTORE, "%s", json_string_value(json_object_get(reply, "error")));
        json_decref(reply);
        reply = NULL;
    }
    free(answer);
    free(text);
    free(payload);
    json_decref(request);
    json_decref(report);
    return reply;
}

int lt_counting_reports_due(lt_counting_t *self, const char *store, const char *spec,
                            int64_t now_ms, char done[][32], size_t max)
{
    char *list = strdup(spec ? spec : ""), *save = NULL;
    int submitted = 0;
    size_t slot = 0;
    for (char *entry = list ? strtok_r(list, ", ", &save) : NULL; entry && slot < max;
         entry = strtok_r(NULL, ", ", &save), slot++) {
        char *kind = strchr(entry, ':');
        if (!kind)
            continue;
        *kind++ = 0;
        char *agency = strchr(kind, ':');
        if (agency)
            *agency++ = 0;
        int k = lt_period_kind_from_name(kind);
        if (k < 0)
            continue;
        lt_period_t last;
        lt_period_last_completed((lt_period_kind_t) k, lt_period_day(now_ms), self->calendar,
                                 &last);
        char tag[32];
        snprintf(tag, sizeof(tag), "%.16s", last.name);
        if (strcmp(done[slot], tag) == 0)
            continue;
        lt_err_t err;
        json_t *reply = lt_counting_submit(self, store, entry, &last, agency ? agency : "", &err);
        if (!reply) {
            lt_log_warning("event=report_failed code=%s period=%s reason=\"%s\"", entry,
                           last.name, err.detail);
            continue;
        }
        snprintf(done[slot], 32, "%s", tag);
        json_decref(reply);
        submitted++;
    }
    free(list);
    return submitted;
}

int lt_counting_verify(const char *store, uint64_t *rows, char *why, size_t why_size)
{
    s_reader_t r;
    lt_err_t err;
    *rows = 0;
    if (s_open(store, &r, &err)) {
        snprintf(why, why_size, "%s", err.detail);
        return -1;
    }
    uint64_t bad = 0;
    int rc = lt_ledger_verify(r.ledger, rows, &bad, why, why_size);
    s_close(&r);
    return rc;
}

//  A report of a store whose ledger has no rows yet still carries evidence
//  (the digest of the empty list), so the reporting system takes it.
static void s_test_empty_report(void)
{
    char path[256];
    lt_store_test_path(path, sizeof(path), "lt_counting_test");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    lt_store_destroy(&store);
    lt_config_t *config = lt_config_new_default("/tmp");
    assert(config);
    lt_counting_t *counting = lt_counting_load(lt_config_settings(config), &err);
    assert(counting);
    lt_period_t period;
    assert(lt_period_parse("2026-Q3", false, &period, &err) == 0);
    json_t *report = lt_counting_report(counting, path, "PAR-7.1", &period, "000.00.12.H26", &err);
    assert(report);
    json_t *evidence = json_object_get(report, "evidence");
    const char *sha = json_string_value(json_object_get(evidence, "sha256"));
    assert(sha && strcmp(sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                      == 0);
    assert(json_integer_value(json_object_get(evidence, "ledger_rows")) == 0);
    json_decref(report);
    //  The province reports under its full code whatever it is called, so
    //  submitting it again is a duplicate, never a second report.
    snprintf(counting->province, sizeof(counting->province), "H26");
    const char *names[] = {"", "province", "H26", "000.00.00.H26"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        report = lt_counting_report(counting, path, "PAR-7.1", &period, names[i], &err);
        assert(report);
        assert(strcmp(json_string_value(json_object_get(report, "organId")), "000.00.00.H26")
               == 0);
        assert(strcmp(json_string_value(json_object_get(report, "idempotencyKey")),
                      "PAR-7.1/000.00.00.H26/2026-Q3/1")
               == 0);
        json_decref(report);
    }
    //  Report codes: the definitions' regimes and ledger/reports' codes,
    //  nothing else (a code is the first part of the idempotency key).
    char known[256];
    snprintf(counting->reports, sizeof(counting->reports), "BC-9:month:000.00.12.H26, X:year");
    assert(lt_counting_knows_code(counting, "PAR-7.1", known, sizeof(known)));
    assert(lt_counting_knows_code(counting, "BC-9", known, sizeof(known)));
    assert(lt_counting_knows_code(counting, "X", known, sizeof(known)));
    assert(strstr(known, "PAR-7.1") && strstr(known, "BC-9"));
    const char *bad_codes[] = {"", "PAR-7", "A/B", "<script>", "\nevent=fake", "BC-9:month"};
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++)
        assert(!lt_counting_knows_code(counting, bad_codes[i], known, sizeof(known)));
    //  The log's quoting: a key's quote cannot end its field.
    char quoted[32];
    assert(strcmp(lt_log_quoted("a\"b\\c", quoted, sizeof(quoted)), "a\\\"b\\\\c") == 0);
    const char *quotes = "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"";
    assert(strlen(lt_log_quoted(quotes, quoted, sizeof(quoted))) < 32);
    counting->reports[0] = 0;
    //  A name that is no agency code is refused, not reported as the province.
    assert(!lt_counting_report(counting, path, "PAR-7.1", &period, "H27", &err)
           && err.code == LT_EFIELD);
    //  A store that cannot be read gives no report rather than one without evidence.
    lt_store_test_remove(path);
    report = lt_counting_report(counting, path, "PAR-7.1", &period, "000.00.12.H26", &err);
    assert(!report);
    lt_counting_destroy(&counting);
    lt_config_destroy(&config);
    lt_store_test_remove(path);
}

//  CSV fields: quoting, and formulas from outside parties kept as text.
static void s_test_csv(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert(out);
    const char *fields[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "=HYPERLINK(\"x\")",
                            "+1", "-1", "@SUM(A1)", "\tx", "'quoted", "=a,b", "mid=dle", ""};
    size_t n = sizeof(fields) / sizeof(fields[0]);
    for (size_t i = 0; i < n; i++)
        lt_counting_csv(out, fields[i], i == n - 1);
    fclose(out);
    assert(strcmp(text, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"'=HYPERLINK(\"\"x\"\")\","
                        "'+1,'-1,'@SUM(A1),'\tx,''quoted,\"'=a,b\",mid=dle,\n") == 0);
    free(text);
}

void lt_counting_test(bool verbose)
{
    if (verbose)
        printf(" * lt_counting: ");
    char text[32];
    s_iso(lt_period_local_ms(2026, 9, 14, 23, 59, 7), text);
    assert(strcmp(text, "2026-09-14T23:59:07+07:00") == 0);
    char flags[64];
    s_flags_text(LT_F_ELECTRONIC | LT_F_SIGNED, flags, sizeof(flags));
    assert(strcmp(flags, "electronic signed") == 0);
    s_test_csv();
    s_test_empty_report();
    if (verbose)
        printf("OK\n");
}
