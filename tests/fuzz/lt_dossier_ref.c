/*  lt_dossier_ref: the dossier record read of the ledger as it was before
    lt_json_scan (jansson's json_loadb with JSON_REJECT_DUPLICATES, then
    json_object_get and snprintf), kept unchanged as the reference that
    fuzz_dossier_json and lt-dossier-json-bench hold the new reading to.
    Test code only.
*/
#include "lt_dossier_ref.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_ref_set(char *buf, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void s_ref_set(char *buf, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(buf, size, format, args);
    va_end(args);
}

static void s_ref_init(lt_ledger_event_t *ev, const lt_envelope_t *env, lt_ev_t event)
{
    memset(ev, 0, sizeof(*ev));
    ev->event = event;
    s_ref_set(ev->origin, sizeof(ev->origin), "%s", "relay");
    s_ref_set(ev->doc, sizeof(ev->doc), "%s", lt_envelope_key(env));
    ev->at = lt_envelope_received(env);
    ev->secret = lt_envelope_secret(env);
}

const char *lt_dossier_ref_text(json_t *obj, const char *name, char *buf, size_t size)
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

static long s_ref_int(json_t *obj, const char *name)
{
    char buf[32];
    lt_dossier_ref_text(obj, name, buf, sizeof(buf));
    if (!*buf || strspn(buf, "0123456789") != strlen(buf) || strlen(buf) > 9)
        return -1;
    return strtol(buf, NULL, 10);
}

int lt_dossier_ref_events(const lt_envelope_t *env, const void *payload, size_t size,
                          lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    json_t *rec = json_loadb(payload, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(rec)) {
        json_decref(rec);
        return 0;
    }
    char mahoso[256], matthc[128], unit[64], due[32], done[32], back[32], received[32];
    lt_dossier_ref_text(rec, "MaHoSo", mahoso, sizeof(mahoso));
    if (!*mahoso)
        snprintf(mahoso, sizeof(mahoso), "%s", lt_envelope_key(env));
    lt_dossier_ref_text(rec, "MaTTHC", matthc, sizeof(matthc));
    lt_dossier_ref_text(rec, "DonViXuLy", unit, sizeof(unit));
    lt_dossier_ref_text(rec, "NgayHenTra", due, sizeof(due));
    lt_dossier_ref_text(rec, "NgayKetThucXuLy", done, sizeof(done));
    lt_dossier_ref_text(rec, "NgayTra", back, sizeof(back));
    lt_dossier_ref_text(rec, "NgayTiepNhan", received, sizeof(received));
    long state = s_ref_int(rec, "TrangThaiHoSo");
    long channel = s_ref_int(rec, "KenhThucHien");
    long how = s_ref_int(rec, "HinhThuc");
    const char *agency = strchr(unit, '.') ? unit : lt_envelope_sender(env);
    size_t files = 0, digitised = 0;
    json_t *docs = json_object_get(rec, "TaiLieuNop"), *doc;
    size_t i;
    json_array_foreach(docs, i, doc)
    {
        files++;
        if (s_ref_int(doc, "DuocSoHoa") == 1)
            digitised++;
    }
    int rc = 0;
    lt_ledger_event_t ev;
    int64_t at = lt_ledger_vn_time(received);
    if (at >= 0) {
        s_ref_init(&ev, env, LT_EV_DOSSIER_RECEIVED);
        s_ref_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_ref_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_ref_set(ev.item, sizeof(ev.item), "dossier_received|%s", mahoso);
        s_ref_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        ev.at = at;
        ev.channel = channel > 0 ? (int) channel : 0;
        if (files > 0 && digitised == files)
            ev.attrs |= LT_EVA_DIGITISED;
        s_ref_set(ev.detail, sizeof(ev.detail),
                  "NgayTiepNhan=%s;KenhThucHien=%ld;TaiLieuNop=%zu/%zu", received, channel,
                  digitised, files);
        rc = fn(arg, &ev, err);
    }
    if (rc == 0) {
        s_ref_init(&ev, env, LT_EV_DOSSIER_UPDATED);
        s_ref_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_ref_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_ref_set(ev.item, sizeof(ev.item), "dossier_updated|%s|%s", mahoso,
                  lt_envelope_sha256(env));
        s_ref_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        s_ref_set(ev.detail, sizeof(ev.detail), "TrangThaiHoSo=%ld", state);
        rc = fn(arg, &ev, err);
    }
    at = lt_ledger_vn_time(done);
    if (rc == 0 && (state == 9 || state == 10) && at >= 0) {
        s_ref_init(&ev, env, LT_EV_DOSSIER_FINISHED);
        s_ref_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_ref_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_ref_set(ev.item, sizeof(ev.item), "dossier_finished|%s", mahoso);
        s_ref_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        ev.at = at;
        if (lt_ledger_vn_time(due) >= 0 && strcmp(done, due) <= 0)
            ev.attrs |= LT_EVA_ONTIME;
        s_ref_set(ev.detail, sizeof(ev.detail), "NgayKetThucXuLy=%s;NgayHenTra=%s", done, due);
        rc = fn(arg, &ev, err);
    }
    if (rc == 0 && state == 10) {
        s_ref_init(&ev, env, LT_EV_DOSSIER_RETURNED);
        s_ref_set(ev.doc, sizeof(ev.doc), "%s", mahoso);
        s_ref_set(ev.agency, sizeof(ev.agency), "%s", agency);
        s_ref_set(ev.item, sizeof(ev.item), "dossier_returned|%s", mahoso);
        s_ref_set(ev.dim, sizeof(ev.dim), "%s", matthc);
        at = lt_ledger_vn_time(back);
        if (at >= 0)
            ev.at = at;
        if (how == 1)
            ev.attrs |= LT_EVA_POSTAL_RETURN;
        s_ref_set(ev.detail, sizeof(ev.detail), "NgayTra=%s;HinhThuc=%ld", back, how);
        rc = fn(arg, &ev, err);
    }
    json_decref(rec);
    return rc;
}
