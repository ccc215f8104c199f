/*  fuzz_dossier_json: differential libFuzzer target for the dossier record
    read of the ledger (s_dossier in schemas/lt_ledger_event.c, which checks
    and reads records in place with lt_json_scan).

    The reference is the former reading, kept here as it was: jansson's
    json_loadb with JSON_REJECT_DUPLICATES, then json_object_get and
    snprintf. For every input the target aborts when
      - lt_json_scan accepts what jansson refuses, or the reverse;
      - the events lt_ledger_events yields for a dossier record differ in
        any field from the reference's;
      - a top-level member read with lt_json_get/lt_json_text differs from
        jansson's value as the ledger prints it (whole, and cut short);
      - an array walked with lt_json_next has another length.
    Built without libFuzzer, tests/fuzz/lt_fuzz_replay.c runs it over the
    seed corpus as an ordinary test.
*/
#include "lt_json_scan.h"
#include "lt_ledger_event.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_EVENTS 8

//  Abort with a reason (assert would vanish under NDEBUG).
#define S_CHECK(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_dossier_json: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

//  Events seen.
typedef struct {
    lt_ledger_event_t ev[S_MAX_EVENTS];   //  in order
    size_t count;                         //  how many
} s_seen_t;

static int s_collect(void *arg, const lt_ledger_event_t *ev, lt_err_t *err)
{
    (void) err;
    s_seen_t *seen = arg;
    S_CHECK(seen->count < S_MAX_EVENTS);
    seen->ev[seen->count++] = *ev;
    return 0;
}

//  ---------------------------------------------------------------------------
//  The reference: the jansson reading as lt_ledger_event.c had it.

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

static const char *s_ref_text(json_t *obj, const char *name, char *buf, size_t size)
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
    s_ref_text(obj, name, buf, sizeof(buf));
    if (!*buf || strspn(buf, "0123456789") != strlen(buf) || strlen(buf) > 9)
        return -1;
    return strtol(buf, NULL, 10);
}

static int s_ref_dossier(const lt_envelope_t *env, const void *payload, size_t size,
                         lt_ledger_event_fn *fn, void *arg, lt_err_t *err)
{
    json_t *rec = json_loadb(payload, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(rec)) {
        json_decref(rec);
        return 0;
    }
    char mahoso[256], matthc[128], unit[64], due[32], done[32], back[32], received[32];
    s_ref_text(rec, "MaHoSo", mahoso, sizeof(mahoso));
    if (!*mahoso)
        snprintf(mahoso, sizeof(mahoso), "%s", lt_envelope_key(env));
    s_ref_text(rec, "MaTTHC", matthc, sizeof(matthc));
    s_ref_text(rec, "DonViXuLy", unit, sizeof(unit));
    s_ref_text(rec, "NgayHenTra", due, sizeof(due));
    s_ref_text(rec, "NgayKetThucXuLy", done, sizeof(done));
    s_ref_text(rec, "NgayTra", back, sizeof(back));
    s_ref_text(rec, "NgayTiepNhan", received, sizeof(received));
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

//  ---------------------------------------------------------------------------
//  The comparisons

static void s_same_event(const lt_ledger_event_t *a, const lt_ledger_event_t *b)
{
    S_CHECK(a->event == b->event);
    S_CHECK(strcmp(a->item, b->item) == 0);
    S_CHECK(strcmp(a->origin, b->origin) == 0);
    S_CHECK(strcmp(a->doc, b->doc) == 0);
    S_CHECK(strcmp(a->agency, b->agency) == 0);
    S_CHECK(a->at == b->at);
    S_CHECK(a->electronic == b->electronic);
    S_CHECK(a->secret == b->secret);
    S_CHECK(a->sig == b->sig);
    S_CHECK(strcmp(a->signer, b->signer) == 0);
    S_CHECK(a->channel == b->channel);
    S_CHECK(strcmp(a->dim, b->dim) == 0);
    S_CHECK(a->attrs == b->attrs);
    S_CHECK(strcmp(a->detail, b->detail) == 0);
}

//  Each top-level member of an accepted object read both ways.
static void s_same_members(json_t *obj, lt_json_t root)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        lt_json_t mine = lt_json_get(root, key);
        S_CHECK(mine.at != NULL);
        static const size_t sizes[] = {1, 5, 32, 256};
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            char want[256], got[256];
            s_ref_text(obj, key, want, sizes[s]);
            lt_json_text(mine, got, sizes[s]);
            S_CHECK(strcmp(want, got) == 0);
        }
        lt_json_type_t type = lt_json_type(mine);
        S_CHECK((type == LT_JSON_OBJECT) == json_is_object(value));
        S_CHECK((type == LT_JSON_ARRAY) == json_is_array(value));
        S_CHECK((type == LT_JSON_STRING) == json_is_string(value));
        S_CHECK((type == LT_JSON_INTEGER) == json_is_integer(value));
        S_CHECK((type == LT_JSON_REAL) == json_is_real(value));
        S_CHECK((type == LT_JSON_TRUE) == json_is_true(value));
        S_CHECK((type == LT_JSON_FALSE) == json_is_false(value));
        S_CHECK((type == LT_JSON_NULL) == json_is_null(value));
        if (json_is_array(value)) {
            size_t count = 0;
            lt_json_t cursor = mine, item;
            while (lt_json_next(&cursor, &item))
                count++;
            S_CHECK(count == json_array_size(value));
        }
    }
    //  A name only an escaped key can have.
    S_CHECK((lt_json_get(root, "\x01").at != NULL) == (json_object_get(obj, "\x01") != NULL));
}

//  Check one input.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    //  Acceptance, both ways.
    json_t *tree = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
    lt_json_scan_t *scan = lt_json_scan_new();
    S_CHECK(scan);
    lt_json_t root;
    lt_err_t err;
    lt_err_clear(&err);
    int rc = lt_json_scan_check(scan, data, size, &root, &err);
    if (tree == NULL)
        S_CHECK(rc == -1 && err.code == LT_EINVAL && err.detail[0]);
    else
        S_CHECK(rc == 0 && root.at != NULL);
    if (tree && json_is_object(tree))
        s_same_members(tree, root);
    if (tree)
        S_CHECK((lt_json_type(root) == LT_JSON_OBJECT) == json_is_object(tree));
    json_decref(tree);
    lt_json_scan_destroy(&scan);

    //  The events of a dossier record, both ways.
    lt_envelope_t *env = lt_envelope_new();
    S_CHECK(env);
    lt_envelope_set_kind(env, LT_KIND_DOSSIER);
    lt_envelope_set_key(env, "000.00.12.H26-260903-00001");
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_set_received(env, 1000);
    lt_envelope_set_payload_facts(env, data, size);
    s_seen_t want = {0}, got = {0};
    lt_err_clear(&err);
    S_CHECK(s_ref_dossier(env, data, size, s_collect, &want, &err) == 0);
    S_CHECK(lt_ledger_events(env, data, size, NULL, 0, "H26", s_collect, &got, &err) == 0);
    S_CHECK(want.count == got.count);
    for (size_t i = 0; i < want.count; i++)
        s_same_event(&want.ev[i], &got.ev[i]);
    lt_envelope_destroy(&env);
    return 0;
}
