/*  lt_ledger_event: the events a stored message stands for (see the header
    for the rules). Dossier records are checked and read in place with
    lt_json_scan (the relay thread's hot path), fact payloads with jansson;
    a payload that does not parse yields no event.
*/
#include "lt_ledger_event.h"
#include "lt_dossier.h"
#include "lt_json_scan.h"
#include "lt_period.h"

#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_names[LT_EV_COUNT] = {
    [LT_EV_DOC_OUT] = "doc_out",
    [LT_EV_DOC_IN] = "doc_in",
    [LT_EV_STATUS] = "status",
    [LT_EV_DOSSIER_RECEIVED] = "dossier_received",
    [LT_EV_DOSSIER_UPDATED] = "dossier_updated",
    [LT_EV_DOSSIER_FINISHED] = "dossier_finished",
    [LT_EV_DOSSIER_RETURNED] = "dossier_returned",
    [LT_EV_DOSSIER_SYNCED] = "dossier_synced",
    [LT_EV_REPORT_ACCEPTED] = "report_accepted",
};

//  snprintf into a field; a value longer than the field is cut.
static void s_set(char *buf, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void s_set(char *buf, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(buf, size, format, args);
    va_end(args);
}

//  Join parts into a field, cut to it (the hot path of documents: no printf).
static void s_join(char *buf, size_t size, const char *const *parts, int count)
{
    size_t used = 0;
    for (int i = 0; i < count && used + 1 < size; i++) {
        size_t len = strlen(parts[i]);
        if (len > size - 1 - used)
            len = size - 1 - used;
        memcpy(buf + used, parts[i], len);
        used += len;
    }
    buf[used] = 0;
}

static void s_copy(char *buf, size_t size, const char *text)
{
    s_join(buf, size, &text, 1);
}

static const char *s_flags[LT_F_COUNT] = {"electronic", "secret", "signed", "declared",
                                           "relayed", "confirmed", "online", "postal",
                                           "ontime", "postal_return", "digitised", "synced"};

const char *lt_flag_name(int bit)
{
    return bit >= 0 && bit < LT_F_COUNT ? s_flags[bit] : "?";
}

unsigned lt_flag_from_name(const char *name)
{
    for (int i = 0; i < LT_F_COUNT; i++)
        if (strcmp(name, s_flags[i]) == 0)
            return 1u << i;
    return 0;
}

const char *lt_ev_name(lt_ev_t event)
{
    return event > LT_EV_NONE && event < LT_EV_COUNT ? s_names[event] : NULL;
}

lt_ev_t lt_ev_from_name(const char *name)
{
    for (int e = 1; e < LT_EV_COUNT; e++)
        if (strcmp(name, s_names[e]) == 0)
            return (lt_ev_t) e;
    return LT_EV_NONE;
}

bool lt_ledger_in_province(const char *code, const char *province)
{
    if (!*code)
        return false;
    if (!province || !*province)
        return true;
    const char *dot = strrchr(code, '.');
    const char *tail = dot ? dot + 1 : code;
    return strcmp(tail, province) == 0;
}

int64_t lt_ledger_vn_time(const char *text)
{
    if (!text || strlen(text) != 14 || strspn(text, "0123456789") != 14)
        return -1;
    int v[6], widths[6] = {4, 2, 2, 2, 2, 2};
    const char *p = text;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < widths[i]; k++)
            v[i] = v[i] * 10 + (*p++ - '0');
    }
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
        v[4] > 59 || v[5] > 59)
        return -1;
    //  Refuse 31 April and the like: the date must come back as written.
    int64_t ms = lt_period_local_ms(v[0], v[1], v[2], v[3], v[4], v[5]);
    if (lt_period_day(ms) != v[0] * 10000 + v[1] * 100 + v[2])
        return -1;
    return ms;
}

//  A new event with the envelope's common facts.
static void s_init(lt_ledger_event_t *ev, const lt_envelope_t *env, lt_ev_t event)
{
    memset(ev, 0, sizeof(*ev));
    ev->event = event;
    s_copy(ev->origin, sizeof(ev->origin), "relay");
    s_copy(ev->doc, sizeof(ev->doc), lt_envelope_key(env));
    ev->at = lt_envelope_received(env);
    ev->secret = lt_envelope_secret(env);
}

//  Document events: out for a sender of the province, in for each
//  delivered recipient of the province.
static int s_document(const lt_envelope_t *env, const char *const *rcpts, size_t rcpt_count,
                      const char *province, lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    if (strcmp(lt_envelope_btype(env), "revocation") == 0)
        return 0;   //  withdrawing a document exchanges nothing new
    lt_ledger_event_t ev;
    const char *sender = lt_envelope_sender(env);
    if (lt_ledger_in_province(sender, province)) {
        s_init(&ev, env, LT_EV_DOC_OUT);
        s_copy(ev.agency, sizeof(ev.agency), sender);
        const char *item[] = {"doc|", ev.doc, "|", ev.agency, "|out"};
        s_join(ev.item, sizeof(ev.item), item, 5);
        ev.electronic = true;
        ev.sig = lt_envelope_signature(env);
        s_copy(ev.signer, sizeof(ev.signer), lt_envelope_signer(env));
        if (fn(arg, &ev, err))
            return -1;
    }
    for (size_t d = 0; d < rcpt_count; d++) {
        const char *list = rcpts ? rcpts[d] : NULL;
        while (list && *list) {
            size_t len = strcspn(list, ",");
            s_init(&ev, env, LT_EV_DOC_IN);
            s_set(ev.agency, sizeof(ev.agency), "%.*s", (int) (len < 63 ? len : 63), list);
            list += len + (list[len] == ',');
            if (!lt_ledger_in_province(ev.agency, province))
                continue;
            const char *item[] = {"doc|", ev.doc, "|", ev.agency, "|in"};
            s_join(ev.item, sizeof(ev.item), item, 5);
            ev.electronic = true;
            ev.sig = lt_envelope_signature(env);
            s_copy(ev.signer, sizeof(ev.signer), lt_envelope_signer(env));
            if (fn(arg, &ev, err))
                return -1;
        }
    }
    return 0;
}

//  A paper-register line: one doc_out or doc_in of the registering agency.
static int s_register(const lt_envelope_t *env, const char *province, lt_ledger_event_fn *fn,
                      void *arg, lt_err_t *err)
{
    const char *dir = lt_envelope_btype(env);
    bool out = strcmp(dir, "out") == 0;
    if ((!out && strcmp(dir, "in") != 0) || !lt_ledger_in_province(lt_envelope_sender(env), province))
        return 0;
    lt_ledger_event_t ev;
    s_init(&ev, env, out ? LT_EV_DOC_OUT : LT_EV_DOC_IN);
    s_set(ev.origin, sizeof(ev.origin), "register");
    s_set(ev.agency, sizeof(ev.agency), "%s", lt_envelope_sender(env));
    s_set(ev.item, sizeof(ev.item), "doc|%s|%s|%s", ev.doc, ev.agency, dir);
    ev.electronic = lt_envelope_electronic(env);
    return fn(arg, &ev, err);
}

//  A status returned by an agency of the province (btype is its code).
static int s_status(const lt_envelope_t *env, const char *province, lt_ledger_event_fn *fn,
                    void *arg, lt_err_t *err)
{
    if (!lt_ledger_in_province(lt_envelope_sender(env), province))
        return 0;
    lt_ledger_event_t ev;
    s_init(&ev, env, LT_EV_STATUS);
    s_set(ev.agency, sizeof(ev.agency), "%s", lt_envelope_sender(env));
    s_set(ev.dim, sizeof(ev.dim), "%s", lt_envelope_btype(env));
    s_set(ev.item, sizeof(ev.item), "status|%s|%s|%s", ev.doc, ev.agency, ev.dim);
    return fn(arg, &ev, err);
}

//  A field as text whether the record has it as a string or a number.
static const char *s_text(json_t *obj, const char *name, char *buf, size_t size)
{
    json_t *v = json_object_get(obj, name);
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long) json_integer_value(v));
    else
        buf[0] = 0;
    return buf;
}

//  A dossier field as an integer (string or number); -1 when absent or not one.
static long s_int(lt_json_t value)
{
    char buf[32];
    lt_json_text(value, buf, sizeof(buf));
    if (!*buf || strspn(buf, "0123456789") != strlen(buf) || strlen(buf) > 9)
        return -1;
    return strtol(buf, NULL, 10);
}

//  The members of a dossier record the ledger reads, in s_dossier_fields order.
enum {
    S_MAHOSO,
    S_MATTHC,
    S_DONVIXULY,
    S_NGAYHENTRA,
    S_NGAYKETTHUCXULY,
    S_NGAYTRA,
    S_NGAYTIEPNHAN,
    S_TRANGTHAIHOSO,
    S_KENHTHUCHIEN,
    S_HINHTHUC,
    S_TAILIEUNOP,
    S_DOSSIER_FIELDS
};

static const char *const s_dossier_fields[S_DOSSIER_FIELDS] = {
    "MaHoSo",       "MaTTHC",        "DonViXuLy",    "NgayHenTra",
    "NgayKetThucXuLy", "NgayTra",    "NgayTiepNhan", "TrangThaiHoSo",
    "KenhThucHien", "HinhThuc",      "TaiLieuNop"};

//  Decimal text of v into buf (24 bytes), as %zu writes it.
static const char *s_unsigned(unsigned long long v, char *buf)
{
    char *p = buf + 23;
    *p = 0;
    do
        *--p = (char) ('0' + v % 10);
    while (v /= 10);
    return p;
}

//  Decimal text of v into buf (24 bytes), as %ld writes it.
static const char *s_signed(long v, char *buf)
{
    if (v >= 0)
        return s_unsigned((unsigned long long) v, buf);
    char *p = (char *) s_unsigned(0ULL - (unsigned long long) v, buf);
    *--p = '-';
    return p;
}

//  A dossier event with its common fields: doc and agency, item
//  "EVENT|MaHoSo" (then "|tail" when tail is given), dim MaTTHC (no printf:
//  the relay thread's hot path).
static void s_dossier_init(lt_ledger_event_t *ev, const lt_envelope_t *env, lt_ev_t event,
                           const char *mahoso, const char *tail, const char *agency,
                           const char *matthc)
{
    s_init(ev, env, event);
    s_copy(ev->doc, sizeof(ev->doc), mahoso);
    s_copy(ev->agency, sizeof(ev->agency), agency);
    const char *item[] = {lt_ev_name(event), "|", mahoso, "|", tail};
    s_join(ev->item, sizeof(ev->item), item, tail ? 5 : 3);
    s_copy(ev->dim, sizeof(ev->dim), matthc);
}

//  A dossier record (HoSo): received, updated, finished, returned. The
//  record is checked and read in place (lt_json_scan, which accepts exactly
//  what jansson's json_loadb with JSON_REJECT_DUPLICATES accepts); a record
//  refused, or not an object, yields nothing.
static int s_dossier(const lt_envelope_t *env, const void *payload, size_t size,
                     lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    lt_json_scan_t *scan = lt_json_scan_new();
    if (!scan)
        return 0;
    lt_json_t rec, f[S_DOSSIER_FIELDS];
    int refused = lt_json_scan_check(scan, payload, size, &rec, NULL);
    if (!refused)
        lt_json_scan_pick(scan, s_dossier_fields, S_DOSSIER_FIELDS, f);
    lt_json_scan_destroy(&scan);
    if (refused || lt_json_type(rec) != LT_JSON_OBJECT)
        return 0;
    char mahoso[256], matthc[128], unit[64], due[32], done[32], back[32], received[32];
    lt_json_text(f[S_MAHOSO], mahoso, sizeof(mahoso));
    if (!*mahoso)
        s_copy(mahoso, sizeof(mahoso), lt_envelope_key(env));
    lt_json_text(f[S_MATTHC], matthc, sizeof(matthc));
    lt_json_text(f[S_DONVIXULY], unit, sizeof(unit));
    lt_json_text(f[S_NGAYHENTRA], due, sizeof(due));
    lt_json_text(f[S_NGAYKETTHUCXULY], done, sizeof(done));
    lt_json_text(f[S_NGAYTRA], back, sizeof(back));
    lt_json_text(f[S_NGAYTIEPNHAN], received, sizeof(received));
    long state = s_int(f[S_TRANGTHAIHOSO]);
    long channel = s_int(f[S_KENHTHUCHIEN]);
    long how = s_int(f[S_HINHTHUC]);
    //  The agency: DonViXuLy when it is an agency code, else the publisher's.
    const char *agency = strchr(unit, '.') ? unit : lt_envelope_sender(env);
    size_t files = 0, digitised = 0;
    lt_json_t cursor = f[S_TAILIEUNOP], doc;
    while (lt_json_next(&cursor, &doc)) {
        files++;
        if (s_int(lt_json_get(doc, "DuocSoHoa")) == 1)
            digitised++;
    }
    int rc = 0;
    lt_ledger_event_t ev;
    char n1[24], n2[24], n3[24];
    int64_t at = lt_ledger_vn_time(received);
    if (at >= 0) {
        s_dossier_init(&ev, env, LT_EV_DOSSIER_RECEIVED, mahoso, NULL, agency, matthc);
        ev.at = at;
        ev.channel = channel > 0 ? (int) channel : 0;
        if (files > 0 && digitised == files)
            ev.attrs |= LT_EVA_DIGITISED;
        const char *detail[] = {"NgayTiepNhan=", received, ";KenhThucHien=",
                                s_signed(channel, n1), ";TaiLieuNop=", s_unsigned(digitised, n2),
                                "/", s_unsigned(files, n3)};
        s_join(ev.detail, sizeof(ev.detail), detail, 8);
        rc = fn(arg, &ev, err);
    }
    if (rc == 0) {
        s_dossier_init(&ev, env, LT_EV_DOSSIER_UPDATED, mahoso, lt_envelope_sha256(env), agency,
                       matthc);
        const char *detail[] = {"TrangThaiHoSo=", s_signed(state, n1)};
        s_join(ev.detail, sizeof(ev.detail), detail, 2);
        rc = fn(arg, &ev, err);
    }
    at = lt_ledger_vn_time(done);
    if (rc == 0 && (state == 9 || state == 10) && at >= 0) {
        s_dossier_init(&ev, env, LT_EV_DOSSIER_FINISHED, mahoso, NULL, agency, matthc);
        ev.at = at;
        if (lt_ledger_vn_time(due) >= 0 && strcmp(done, due) <= 0)
            ev.attrs |= LT_EVA_ONTIME;
        const char *detail[] = {"NgayKetThucXuLy=", done, ";NgayHenTra=", due};
        s_join(ev.detail, sizeof(ev.detail), detail, 4);
        rc = fn(arg, &ev, err);
    }
    if (rc == 0 && state == 10) {
        s_dossier_init(&ev, env, LT_EV_DOSSIER_RETURNED, mahoso, NULL, agency, matthc);
        at = lt_ledger_vn_time(back);
        if (at >= 0)
            ev.at = at;
        if (how == 1)
            ev.attrs |= LT_EVA_POSTAL_RETURN;
        const char *detail[] = {"NgayTra=", back, ";HinhThuc=", s_signed(how, n1)};
        s_join(ev.detail, sizeof(ev.detail), detail, 4);
        rc = fn(arg, &ev, err);
    }
    return rc;
}

//  Refuse a dossier_synced fact: err (LT_EINVAL) says what is wrong; -1.
static int s_bad(lt_err_t *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int s_bad(lt_err_t *err, const char *format, ...)
{
    char why[400];
    va_list args;
    va_start(args, format);
    vsnprintf(why, sizeof(why), format, args);
    va_end(args);
    lt_err_set(err, LT_EINVAL, "dossier_synced fact: %s", why);
    return -1;
}

//  Yield one dossier_synced event of dossier mahoso at revision (ev set up
//  by s_init).
static int s_synced(lt_ledger_event_t *ev, const lt_envelope_t *env, const char *mahoso,
                    const char *revision, lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    s_copy(ev->doc, sizeof(ev->doc), mahoso);
    s_copy(ev->agency, sizeof(ev->agency), lt_envelope_sender(env));
    const char *item[] = {"dossier_synced|", mahoso, "|", revision};
    s_join(ev->item, sizeof(ev->item), item, 4);
    const char *detail[] = {"revision=", revision};
    s_join(ev->detail, sizeof(ev->detail), detail, 2);
    return fn(arg, ev, err);
}

//  One dossier of a list fact, as read and checked.
typedef struct {
    const char *mahoso;     //  MaHoSo (in the parsed payload)
    const char *revision;   //  its revision
    size_t index;           //  position in "dossiers"
} s_synced_t;

//  Order of list entries by MaHoSo, then revision (to find repeats).
static int s_synced_cmp(const void *a, const void *b)
{
    const s_synced_t *x = a, *y = b;
    int c = strcmp(x->mahoso, y->mahoso);
    return c ? c : strcmp(x->revision, y->revision);
}

//  A string member of a list entry of 1..max bytes, or NULL.
static const char *s_member(json_t *entry, const char *name, size_t max)
{
    json_t *v = json_object_get(entry, name);
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    return len >= 1 && len <= max ? json_string_value(v) : NULL;
}

//  The list shape of dossier_synced (one fact per DVCQG call): check the
//  whole list first (a malformed fact is refused whole, naming the entry
//  and what is wrong), then yield one event per dossier, each with the
//  same item as a one-dossier fact would have.
static int s_synced_list(const lt_envelope_t *env, json_t *list, lt_ledger_event_fn *fn,
                         void *arg, lt_err_t *err)
{
    size_t count = json_is_array(list) ? json_array_size(list) : 0;
    if (!json_is_array(list))
        return s_bad(err, "\"dossiers\" must be an array of 1 to %d entries (not an array)",
                     LT_DOSSIER_FACT_MAX);
    if (count == 0 || count > LT_DOSSIER_FACT_MAX)
        return s_bad(err, "\"dossiers\" must be an array of 1 to %d entries (it has %zu)",
                     LT_DOSSIER_FACT_MAX, count);
    s_synced_t *entries = malloc(count * sizeof(*entries));
    if (!entries)
        return lt_err_set(err, LT_ENOMEM, "out of memory reading a dossier_synced fact"), -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        json_t *entry = json_array_get(list, i);
        entries[i].index = i;
        entries[i].mahoso = s_member(entry, "MaHoSo", LT_DOSSIER_MAX_KEY);
        entries[i].revision = s_member(entry, "revision", 128);
        if (!json_is_object(entry))
            rc = s_bad(err, "dossiers[%zu] is not an object", i);
        else if (!entries[i].mahoso)
            rc = s_bad(err, "dossiers[%zu].MaHoSo must be a string of 1 to %d bytes", i,
                       LT_DOSSIER_MAX_KEY);
        else if (!entries[i].revision)
            rc = s_bad(err, "dossiers[%zu].revision must be a string of 1 to 128 bytes", i);
    }
    //  The key is the first MaHoSo and the revision names the content, so
    //  that the broker's dedup key (kind|key|btype|rev|from) tells apart
    //  two calls' facts and finds an exact resend.
    char rev[96];
    lt_dossier_fact_rev(count, lt_envelope_sha256(env), rev, sizeof(rev));
    if (rc == 0 && strcmp(lt_envelope_key(env), entries[0].mahoso) != 0)
        rc = s_bad(err, "the key '%.100s' is not dossiers[0].MaHoSo '%.100s'",
                   lt_envelope_key(env), entries[0].mahoso);
    else if (rc == 0 && strcmp(lt_envelope_revision(env), rev) != 0)
        rc = s_bad(err, "rev '%.100s' is not '%zu-' and the payload's sha256 (the count of "
                   "entries, then the content's digest)", lt_envelope_revision(env), count);
    if (rc == 0 && count > 1) {
        s_synced_t *sorted = malloc(count * sizeof(*sorted));
        if (!sorted) {
            lt_err_set(err, LT_ENOMEM, "out of memory reading a dossier_synced fact");
            rc = -1;
        }
        else {
            memcpy(sorted, entries, count * sizeof(*sorted));
            qsort(sorted, count, sizeof(*sorted), s_synced_cmp);
            for (size_t i = 1; i < count && rc == 0; i++)
                if (s_synced_cmp(&sorted[i - 1], &sorted[i]) == 0) {
                    size_t a = sorted[i - 1].index, b = sorted[i].index;
                    rc = s_bad(err, "dossiers[%zu] repeats dossiers[%zu] (MaHoSo '%.100s', "
                               "revision '%.100s')", a > b ? a : b, a < b ? a : b,
                               sorted[i].mahoso, sorted[i].revision);
                }
            free(sorted);
        }
    }
    lt_ledger_event_t ev;
    for (size_t i = 0; i < count && rc == 0; i++) {
        s_init(&ev, env, LT_EV_DOSSIER_SYNCED);
        rc = s_synced(&ev, env, entries[i].mahoso, entries[i].revision, fn, arg, err);
    }
    free(entries);
    return rc;
}

//  A peer's acceptance: dossier synced or report accepted.
static int s_fact(const lt_envelope_t *env, const void *payload, size_t size,
                  lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    const char *btype = lt_envelope_btype(env);
    json_t *obj = json_loadb(payload, size, 0, NULL);
    lt_ledger_event_t ev;
    int rc = 0;
    char buf[128];
    if (strcmp(btype, LT_DOSSIER_FACT_SYNCED) == 0) {
        json_t *list = json_object_get(obj, "dossiers");
        if (!json_is_object(obj))
            rc = s_bad(err, "the payload is not a JSON object");
        else if (list)
            rc = s_synced_list(env, list, fn, arg, err);
        else {
            //  One dossier (the first shape): MaHoSo and revision in the envelope.
            s_init(&ev, env, LT_EV_DOSSIER_SYNCED);
            rc = s_synced(&ev, env, lt_envelope_key(env), lt_envelope_revision(env), fn, arg,
                          err);
        }
    }
    else if (strcmp(btype, "report_accepted") == 0) {
        s_init(&ev, env, LT_EV_REPORT_ACCEPTED);
        const char *organ = json_is_object(obj) ? s_text(obj, "organId", buf, sizeof(buf)) : "";
        s_set(ev.agency, sizeof(ev.agency), "%s", *organ ? organ : lt_envelope_sender(env));
        if (json_is_object(obj))
            s_text(obj, "reportCode", ev.dim, sizeof(ev.dim));
        s_set(ev.item, sizeof(ev.item), "report|%s", ev.doc);
        if (json_is_object(obj))
            s_set(ev.detail, sizeof(ev.detail), "id=%s", s_text(obj, "id", buf, sizeof(buf)));
        rc = fn(arg, &ev, err);
    }
    json_decref(obj);
    return rc;
}

int lt_ledger_events(const lt_envelope_t *env, const void *payload, size_t size,
                     const char *const *rcpts, size_t rcpt_count, const char *province,
                     lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    assert(env && fn);
    if (!*lt_envelope_key(env))
        return 0;
    switch (lt_envelope_kind(env)) {
    case LT_KIND_DOCUMENT:
        return s_document(env, rcpts, rcpt_count, province, fn, arg, err);
    case LT_KIND_REGISTER:
        return s_register(env, province, fn, arg, err);
    case LT_KIND_STATUS:
        return s_status(env, province, fn, arg, err);
    case LT_KIND_DOSSIER:
        return s_dossier(env, payload, size, fn, arg, err);
    case LT_KIND_FACT:
        return s_fact(env, payload, size, fn, arg, err);
    default:
        return 0;
    }
}

//  ---------------------------------------------------------------------------
//  Self-test

typedef struct {
    lt_ledger_event_t ev[8];   //  events seen
    size_t count;              //  how many
} s_seen_t;

static int s_collect(void *arg, const lt_ledger_event_t *ev, lt_err_t *err)
{
    (void) err;
    s_seen_t *seen = arg;
    assert(seen->count < 8);
    seen->ev[seen->count++] = *ev;
    return 0;
}

//  A dossier_synced fact of the list shape around text, key and rev as a
//  publisher must set them (rev: count, then the payload's digest).
static lt_envelope_t *s_list_fact(const char *text, const char *key, size_t count)
{
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_FACT);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, LT_DOSSIER_FACT_SYNCED);
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_set_payload_facts(env, text, strlen(text));
    char rev[96];
    lt_dossier_fact_rev(count, lt_envelope_sha256(env), rev, sizeof(rev));
    lt_envelope_set_revision(env, rev);
    return env;
}

//  True when the events of a fact are refused with a reason holding what.
static bool s_refused(const lt_envelope_t *env, const char *text, const char *what)
{
    s_seen_t seen = {0};
    lt_err_t err;
    lt_err_clear(&err);
    int rc = lt_ledger_events(env, text, strlen(text), NULL, 0, "H26", s_collect, &seen, &err);
    return rc == -1 && seen.count == 0 && err.code == LT_EINVAL && strstr(err.detail, what);
}

//  dossier_synced facts: one dossier, a list, malformed lists.
static void s_test_synced(void)
{
    lt_err_t err;
    s_seen_t seen = {0};
    //  The first shape: MaHoSo and revision in the envelope.
    char *text = NULL;
    size_t size = 0;
    lt_envelope_t *env = lt_dossier_fact("HS-1", "2-ab", "000.00.12.H26", &text, &size);
    assert(lt_ledger_events(env, text, size, NULL, 0, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ev[0].event == LT_EV_DOSSIER_SYNCED);
    assert(strcmp(seen.ev[0].item, "dossier_synced|HS-1|2-ab") == 0);
    assert(strcmp(seen.ev[0].doc, "HS-1") == 0);
    assert(strcmp(seen.ev[0].agency, "000.00.12.H26") == 0);
    lt_envelope_destroy(&env);
    free(text);
    //  A list: one event per dossier, each with the item a one-dossier
    //  fact gives.
    const char *keys[] = {"HS-1", "HS-2", "HS-3"}, *revs[] = {"2-ab", "1", "1"};
    env = lt_dossier_fact_many(keys, revs, 3, "000.00.12.H26", &text, &size);
    seen.count = 0;
    assert(lt_ledger_events(env, text, size, NULL, 0, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 3);
    assert(strcmp(seen.ev[0].item, "dossier_synced|HS-1|2-ab") == 0);
    assert(strcmp(seen.ev[1].item, "dossier_synced|HS-2|1") == 0);
    assert(strcmp(seen.ev[2].item, "dossier_synced|HS-3|1") == 0);
    assert(strcmp(seen.ev[2].doc, "HS-3") == 0 && strcmp(seen.ev[2].detail, "revision=1") == 0);
    assert(strcmp(seen.ev[2].agency, "000.00.12.H26") == 0);
    //  The same list with a revision that does not name its content.
    lt_envelope_set_revision(env, "3-0000");
    assert(s_refused(env, text, "rev '3-0000'"));
    lt_envelope_destroy(&env);
    free(text);
    //  Malformed lists are refused whole, naming what is wrong.
    const char *list = "{\"dossiers\":[{\"MaHoSo\":\"A\",\"revision\":\"1\"},"
                       "{\"MaHoSo\":\"B\",\"revision\":\"1\"}]}";
    env = s_list_fact(list, "B", 2);
    assert(s_refused(env, list, "dossiers[0].MaHoSo"));
    lt_envelope_destroy(&env);
    struct {
        const char *text;   //  payload
        size_t count;       //  entries claimed by rev
        const char *what;   //  in the reason
    } bad[] = {
        {"{\"dossiers\":{}}", 0, "must be an array"},
        {"{\"dossiers\":[]}", 0, "must be an array"},
        {"{\"dossiers\":[1]}", 1, "dossiers[0] is not an object"},
        {"{\"dossiers\":[{\"MaHoSo\":\"A\",\"revision\":\"1\"},{\"MaHoSo\":7,"
         "\"revision\":\"1\"}]}", 2, "dossiers[1].MaHoSo"},
        {"{\"dossiers\":[{\"MaHoSo\":\"A\",\"revision\":\"1\"},{\"MaHoSo\":\"\","
         "\"revision\":\"1\"}]}", 2, "dossiers[1].MaHoSo"},
        {"{\"dossiers\":[{\"MaHoSo\":\"A\"}]}", 1, "dossiers[0].revision"},
        {"{\"dossiers\":[{\"MaHoSo\":\"A\",\"revision\":1}]}", 1, "dossiers[0].revision"},
        {"{\"dossiers\":[{\"MaHoSo\":\"A\",\"revision\":\"1\"},{\"MaHoSo\":\"B\","
         "\"revision\":\"1\"},{\"MaHoSo\":\"A\",\"revision\":\"1\"}]}", 3,
         "dossiers[2] repeats dossiers[0]"},
        {"[1,2]", 2, "not a JSON object"},
        {"{not json", 1, "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env = s_list_fact(bad[i].text, "A", bad[i].count);
        assert(s_refused(env, bad[i].text, bad[i].what));
        lt_envelope_destroy(&env);
    }
    //  Over the bound: LT_DOSSIER_FACT_MAX + 1 entries.
    size_t cap = 32 + (LT_DOSSIER_FACT_MAX + 1) * 40;
    char *big = malloc(cap);
    assert(big);
    size_t used = (size_t) snprintf(big, cap, "{\"dossiers\":[");
    for (int i = 0; i <= LT_DOSSIER_FACT_MAX; i++)
        used += (size_t) snprintf(big + used, cap - used, "%s{\"MaHoSo\":\"H%d\",\"revision\":\"1\"}",
                                  i ? "," : "", i);
    snprintf(big + used, cap - used, "]}");
    env = s_list_fact(big, "H0", LT_DOSSIER_FACT_MAX + 1);
    assert(s_refused(env, big, "it has 1001"));
    lt_envelope_destroy(&env);
    free(big);
}

void lt_ledger_event_test(bool verbose)
{
    if (verbose)
        printf(" * lt_ledger_event: ");
    lt_err_t err;
    s_seen_t seen = {0};
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
    lt_envelope_set_key(env, "000.00.12.H26,2026/09/03,215/STTTT-VP");
    lt_envelope_set_btype(env, "new");
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_set_signature(env, LT_SIG_VALID);
    lt_envelope_set_signer(env, "CN=Nguyen Van A");
    lt_envelope_set_received(env, 1000);
    const char *rcpts[] = {"000.00.31.H26,000.00.00.G22", "000.03.31.H26"};
    assert(lt_ledger_events(env, "", 0, rcpts, 2, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 3);
    assert(seen.ev[0].event == LT_EV_DOC_OUT && strcmp(seen.ev[0].agency, "000.00.12.H26") == 0);
    assert(strcmp(seen.ev[0].item, "doc|000.00.12.H26,2026/09/03,215/STTTT-VP|000.00.12.H26|out") ==
           0);
    assert(seen.ev[0].sig == LT_SIG_VALID && seen.ev[0].electronic && seen.ev[0].at == 1000);
    assert(seen.ev[1].event == LT_EV_DOC_IN && strcmp(seen.ev[1].agency, "000.00.31.H26") == 0);
    assert(seen.ev[2].event == LT_EV_DOC_IN && strcmp(seen.ev[2].agency, "000.03.31.H26") == 0);
    //  From outside the province (the national axis): only "in".
    seen.count = 0;
    lt_envelope_set_sender(env, "000.00.00.G22");
    assert(lt_ledger_events(env, "", 0, rcpts, 1, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ev[0].event == LT_EV_DOC_IN);
    //  A register line has the same item as the relayed document.
    seen.count = 0;
    lt_envelope_destroy(&env);
    env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_REGISTER);
    lt_envelope_set_key(env, "000.00.12.H26,2026/09/03,215/STTTT-VP");
    lt_envelope_set_btype(env, "in");
    lt_envelope_set_sender(env, "000.00.31.H26");
    lt_envelope_set_secret(env, true);
    lt_envelope_set_electronic(env, false);
    assert(lt_ledger_events(env, "", 0, NULL, 0, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ev[0].event == LT_EV_DOC_IN && seen.ev[0].secret);
    assert(!seen.ev[0].electronic && strcmp(seen.ev[0].origin, "register") == 0);
    assert(strcmp(seen.ev[0].item, "doc|000.00.12.H26,2026/09/03,215/STTTT-VP|000.00.31.H26|in") ==
           0);
    //  A dossier record.
    seen.count = 0;
    lt_envelope_destroy(&env);
    env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_DOSSIER);
    lt_envelope_set_key(env, "HS-1");
    lt_envelope_set_sender(env, "000.00.12.H26");
    const char *rec = "{\"MaHoSo\":\"HS-1\",\"MaTTHC\":\"1.001\",\"KenhThucHien\":\"2\","
                      "\"NgayTiepNhan\":\"20260914235900\",\"NgayHenTra\":\"20260920170000\","
                      "\"NgayKetThucXuLy\":\"20260919100000\",\"TrangThaiHoSo\":10,"
                      "\"NgayTra\":\"20260921080000\",\"HinhThuc\":1,"
                      "\"TaiLieuNop\":[{\"DuocSoHoa\":1},{\"DuocSoHoa\":\"1\"}]}";
    lt_envelope_set_payload_facts(env, rec, strlen(rec));
    assert(lt_ledger_events(env, rec, strlen(rec), NULL, 0, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 4);
    assert(seen.ev[0].event == LT_EV_DOSSIER_RECEIVED && seen.ev[0].channel == 2);
    assert(seen.ev[0].attrs == LT_EVA_DIGITISED && strcmp(seen.ev[0].dim, "1.001") == 0);
    assert(lt_period_day(seen.ev[0].at) == 20260914);
    assert(seen.ev[1].event == LT_EV_DOSSIER_UPDATED);
    assert(seen.ev[2].event == LT_EV_DOSSIER_FINISHED && seen.ev[2].attrs == LT_EVA_ONTIME);
    assert(seen.ev[3].event == LT_EV_DOSSIER_RETURNED && seen.ev[3].attrs == LT_EVA_POSTAL_RETURN);
    //  A record that does not parse yields nothing.
    seen.count = 0;
    assert(lt_ledger_events(env, "{not json", 9, NULL, 0, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 0);
    //  Facts.
    lt_envelope_destroy(&env);
    env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_FACT);
    lt_envelope_set_key(env, "PAR-7.1/000.00.00.H26/2026-Q3/1");
    lt_envelope_set_btype(env, "report_accepted");
    lt_envelope_set_sender(env, "000.00.00.H26");
    const char *fact = "{\"id\":\"r1\",\"reportCode\":\"PAR-7.1\",\"organId\":\"000.00.00.H26\"}";
    assert(lt_ledger_events(env, fact, strlen(fact), NULL, 0, "H26", s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ev[0].event == LT_EV_REPORT_ACCEPTED);
    assert(strcmp(seen.ev[0].dim, "PAR-7.1") == 0);
    lt_envelope_destroy(&env);
    s_test_synced();
    assert(lt_ledger_vn_time("20260431000000") == -1);
    assert(lt_ledger_vn_time("2026043100000") == -1);
    assert(lt_ledger_vn_time("20260915000000") == lt_period_local_ms(2026, 9, 15, 0, 0, 0));
    assert(lt_ev_from_name("doc_in") == LT_EV_DOC_IN && lt_ev_from_name("x") == LT_EV_NONE);
    assert(lt_ledger_in_province("000.00.12.H26", "H26"));
    assert(!lt_ledger_in_province("000.00.12.H260", "H26"));
    assert(!lt_ledger_in_province("", "H26"));
    if (verbose)
        printf("OK\n");
}
