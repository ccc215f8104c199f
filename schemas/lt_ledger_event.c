/*  lt_ledger_event: the events a stored message stands for (see the header
    for the rules). Dossier and fact payloads are read with jansson; a payload
    that does not parse yields no event.
*/
#include "lt_ledger_event.h"
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

//  A field as an integer (string or number); -1 when absent or not one.
static long s_int(json_t *obj, const char *name)
{
    char buf[32];
    s_text(obj, name, buf, sizeof(buf));
    if (!*buf || strspn(buf, "0123456789") != strlen(buf) || strlen(buf) > 9)
        return -1;
    return strtol(buf, NULL, 10);
}

//  A dossier record (HoSo): received, updated, finished, returned.
static int s_dossier(const lt_envelope_t *env, const void *payload, size_t size,
                     lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    json_t *rec = json_loadb(payload, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(rec)) {
        json_decref(rec);
        return 0;
    }
    char mahoso[256], matthc[128], unit[64], due[32], done[32], back[32], received[32];
    s_text(rec, "MaHoSo", mahoso, sizeof(mahoso));
    if (!*mahoso)
        snprintf(mahoso, sizeof(mahoso), "%s", lt_envelope_key(env));
    s_text(rec, "MaTTHC", matthc, sizeof(matthc));
    s_text(rec, "DonViXuLy", unit, sizeof(unit));
    s_text(rec, "NgayHenTra", due, sizeof(due));
    s_text(rec, "NgayKetThucXuLy", done, sizeof(done));
    s_text(rec, "NgayTra", back, sizeof(back));
    s_text(rec, "NgayTiepNhan", received, sizeof(received));
    long state = s_int(rec, "TrangThaiHoSo");
    long channel = s_int(rec, "KenhThucHien");
    long how = s_int(rec, "HinhThuc");
    //  The agency: DonViXuLy when it is an agency code, else the publisher's.
    const char *agency = strchr(unit, '.') ? unit : lt_envelope_sender(env);
    size_t files = 0, digitised = 0;
    json_t *docs = json_object_get(rec, "TaiLieuNop"), *doc;
    size_t i;
    json_array_foreach(docs, i, doc)
    {
        files++;
        if (s_int(doc, "DuocSoHoa") == 1)
            digitised++;
    }
    int rc = 0;
    lt_ledger_event_t ev;
    int64_t at = lt_ledger_vn_time(received);
    if (at >= 0) {
        s_init(&ev, env, LT_EV_DOSSIER_RECEIVED);
        s_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_set(ev.item, sizeof(ev.item), "dossier_received|%s", mahoso);
        s_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        ev.at = at;
        ev.channel = channel > 0 ? (int) channel : 0;
        if (files > 0 && digitised == files)
            ev.attrs |= LT_EVA_DIGITISED;
        s_set(ev.detail, sizeof(ev.detail), "NgayTiepNhan=%s;KenhThucHien=%ld;TaiLieuNop=%zu/%zu",
                 received, channel, digitised, files);
        rc = fn(arg, &ev, err);
    }
    if (rc == 0) {
        s_init(&ev, env, LT_EV_DOSSIER_UPDATED);
        s_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_set(ev.item, sizeof(ev.item), "dossier_updated|%s|%s", mahoso,
                 lt_envelope_sha256(env));
        s_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        s_set(ev.detail, sizeof(ev.detail), "TrangThaiHoSo=%ld", state);
        rc = fn(arg, &ev, err);
    }
    at = lt_ledger_vn_time(done);
    if (rc == 0 && (state == 9 || state == 10) && at >= 0) {
        s_init(&ev, env, LT_EV_DOSSIER_FINISHED);
        s_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_set(ev.item, sizeof(ev.item), "dossier_finished|%s", mahoso);
        s_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        ev.at = at;
        if (lt_ledger_vn_time(due) >= 0 && strcmp(done, due) <= 0)
            ev.attrs |= LT_EVA_ONTIME;
        s_set(ev.detail, sizeof(ev.detail), "NgayKetThucXuLy=%s;NgayHenTra=%s", done, due);
        rc = fn(arg, &ev, err);
    }
    if (rc == 0 && state == 10) {
        s_init(&ev, env, LT_EV_DOSSIER_RETURNED);
        s_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_set(ev.item, sizeof(ev.item), "dossier_returned|%s", mahoso);
        s_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        at = lt_ledger_vn_time(back);
        if (at >= 0)
            ev.at = at;
        if (how == 1)
            ev.attrs |= LT_EVA_POSTAL_RETURN;
        s_set(ev.detail, sizeof(ev.detail), "NgayTra=%s;HinhThuc=%ld", back, how);
        rc = fn(arg, &ev, err);
    }
    json_decref(rec);
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
    if (strcmp(btype, "dossier_synced") == 0) {
        s_init(&ev, env, LT_EV_DOSSIER_SYNCED);
        s_set(ev.agency, sizeof(ev.agency), "%s", lt_envelope_sender(env));
        s_set(ev.item, sizeof(ev.item), "dossier_synced|%s|%s", ev.doc,
                 lt_envelope_revision(env));
        s_set(ev.detail, sizeof(ev.detail), "revision=%s", lt_envelope_revision(env));
        rc = fn(arg, &ev, err);
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
