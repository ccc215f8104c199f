/*  lt_dossier: checks, exact-byte slicing and envelopes of dossier records
    and progress steps (see lt_dossier.h). */
#include "lt_dossier.h"
#include "lt_file.h"
#include "lt_id.h"

#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Fill err with a field problem of record index; returns -1.
__attribute__((format(printf, 4, 5))) static int s_bad(lt_err_t *err, size_t index,
                                                       const char *field, const char *format,
                                                       ...)
{
    char what[300];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof(what), format, args);
    va_end(args);
    lt_err_set(err, LT_EFIELD, "data[%zu].%s: %s", index, field, what);
    return -1;
}

//  ---------------------------------------------------------------------------
//  Exact bytes of the elements of one array member

//  Return true for JSON whitespace.
static bool s_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

//  Append a span, growing the array; -1 on no memory.
static int s_push_span(lt_dossier_span_t **spans, size_t *count, size_t *alloc, size_t offset,
                       size_t end)
{
    if (*count == *alloc) {
        size_t grown = *alloc ? *alloc * 2 : 64;
        lt_dossier_span_t *more = realloc(*spans, grown * sizeof(**spans));
        if (!more)
            return -1;
        *spans = more;
        *alloc = grown;
    }
    (*spans)[(*count)++] = (lt_dossier_span_t){.offset = offset, .size = end - offset};
    return 0;
}

int lt_dossier_spans(const void *text, size_t size, const char *member, size_t max_depth,
                     size_t max_items, lt_dossier_span_t **spans_p, size_t *count_p,
                     lt_err_t *err)
{
    assert(text && member && spans_p && count_p);
    const unsigned char *p = text;
    size_t member_len = strlen(member);
    char stack[64];
    if (max_depth > sizeof(stack))
        max_depth = sizeof(stack);
    size_t depth = 0, count = 0, alloc = 0, elem = SIZE_MAX;
    lt_dossier_span_t *spans = NULL;
    bool expect_key = false, key_match = false, in_target = false, found = false, began = false;
    int rc = -1;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = p[i];
        if (s_space(c))
            continue;
        if (!began) {
            began = true;
            if (c != '{') {
                lt_err_set(err, LT_EINVAL, "the body must be a JSON object");
                goto done;
            }
        }
        else if (depth == 0) {
            lt_err_set(err, LT_EINVAL, "text after the JSON object at byte %zu", i);
            goto done;
        }
        if (in_target && depth == 2 && elem == SIZE_MAX && c != ']' && c != ',')
            elem = i;
        if (c == '"') {
            size_t j = i + 1;
            while (j < size && p[j] != '"') {
                if (p[j] < 0x20) {
                    lt_err_set(err, LT_EINVAL, "control character in a string at byte %zu", j);
                    goto done;
                }
                j += p[j] == '\\' ? 2 : 1;
            }
            if (j >= size) {
                lt_err_set(err, LT_EINVAL, "unterminated string at byte %zu", i);
                goto done;
            }
            if (depth == 1 && expect_key) {
                key_match = j - i - 1 == member_len && memcmp(p + i + 1, member, member_len) == 0;
                expect_key = false;
            }
            i = j;
        }
        else if (c == '{' || c == '[') {
            if (depth >= max_depth) {
                lt_err_set(err, LT_ETOOBIG, "JSON nested deeper than %zu levels at byte %zu",
                           max_depth, i);
                goto done;
            }
            if (c == '[' && depth == 1 && key_match && !found) {
                in_target = true;
                found = true;
            }
            stack[depth++] = (char) c;
            if (c == '{' && depth == 1)
                expect_key = true;
        }
        else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != (c == '}' ? '{' : '[')) {
                lt_err_set(err, LT_EINVAL, "unbalanced '%c' at byte %zu", c, i);
                goto done;
            }
            if (in_target && depth == 2) {
                if (elem != SIZE_MAX) {
                    size_t end = i;
                    while (end > elem && s_space(p[end - 1]))
                        end--;
                    if (s_push_span(&spans, &count, &alloc, elem, end)) {
                        lt_err_set(err, LT_ENOMEM, "out of memory");
                        goto done;
                    }
                }
                in_target = false;
                elem = SIZE_MAX;
            }
            depth--;
        }
        else if (c == ',') {
            if (in_target && depth == 2) {
                if (elem == SIZE_MAX) {
                    lt_err_set(err, LT_EINVAL, "empty array element at byte %zu", i);
                    goto done;
                }
                size_t end = i;
                while (end > elem && s_space(p[end - 1]))
                    end--;
                if (s_push_span(&spans, &count, &alloc, elem, end)) {
                    lt_err_set(err, LT_ENOMEM, "out of memory");
                    goto done;
                }
                elem = SIZE_MAX;
            }
            if (depth == 1) {
                expect_key = true;
                key_match = false;
            }
        }
        if (count > max_items) {
            lt_err_set(err, LT_ETOOBIG, "%s holds more than %zu items", member, max_items);
            goto done;
        }
    }
    if (!began || depth != 0) {
        lt_err_set(err, LT_EINVAL, "the JSON text is incomplete");
        goto done;
    }
    rc = found ? 0 : 1;
done:
    if (rc == 0) {
        *spans_p = spans;
        *count_p = count;
    }
    else
        free(spans);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Checks

bool lt_dossier_time_ok(const char *text)
{
    if (!text || strlen(text) != 14 || strspn(text, "0123456789") != 14)
        return false;
    int v[6];
    static const int widths[6] = {4, 2, 2, 2, 2, 2};
    const char *at = text;
    for (int f = 0; f < 6; f++) {
        v[f] = 0;
        for (int k = 0; k < widths[f]; k++)
            v[f] = v[f] * 10 + (*at++ - '0');
    }
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (v[0] < 1945 || v[0] > 2999 || v[1] < 1 || v[1] > 12 || v[2] < 1
        || v[2] > days[v[1] - 1] || v[3] > 23 || v[4] > 59 || v[5] > 59)
        return false;
    bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
    return !(v[1] == 2 && v[2] == 29 && !leap);
}

//  Read a small code given as a JSON integer or a string of digits; -1
//  when it is neither, -2 when absent, null or "".
static long s_code(lt_json_t value)
{
    lt_json_type_t type = lt_json_type(value);
    if (type == LT_JSON_NONE || type == LT_JSON_NULL)
        return -2;
    if (type != LT_JSON_INTEGER && type != LT_JSON_STRING)
        return -1;
    char text[8];
    lt_json_text(value, text, sizeof(text));
    if (type == LT_JSON_INTEGER) {
        long long n = strtoll(text, NULL, 10);   //  cut short: 7 digits or more, over 999
        return n >= 0 && n < 1000 && strlen(text) < sizeof(text) - 1 ? (long) n : -1;
    }
    size_t len = strlen(text);
    if (len == 0)
        return -2;
    if (len > 3 || strspn(text, "0123456789") != len)
        return -1;
    return strtol(text, NULL, 10);
}

//  A code field within [lo, hi]; required or not. 0 or -1 with err.
static int s_check_code(lt_json_t value, size_t index, const char *name, long lo, long hi,
                        bool required, lt_err_t *err)
{
    long code = s_code(value);
    if (code == -2)
        return required ? s_bad(err, index, name, "is required (%ld to %ld)", lo, hi) : 0;
    if (code < lo || code > hi)
        return s_bad(err, index, name, "must be a number from %ld to %ld", lo, hi);
    return 0;
}

//  A time field: absent, null or "" (unless required), else yyyyMMddHHmmss.
static int s_check_time(lt_json_t value, size_t index, const char *name, bool required,
                        lt_err_t *err)
{
    lt_json_type_t type = lt_json_type(value);
    char text[24];   //  longer texts are cut, still longer than 14: refused
    if (type == LT_JSON_STRING)
        lt_json_text(value, text, sizeof(text));
    if (type == LT_JSON_NONE || type == LT_JSON_NULL || (type == LT_JSON_STRING && !*text))
        return required ? s_bad(err, index, name, "is required (yyyyMMddHHmmss)") : 0;
    if (type != LT_JSON_STRING || !lt_dossier_time_ok(text))
        return s_bad(err, index, name, "must be a valid time yyyyMMddHHmmss");
    return 0;
}

//  A text field: absent (unless required) or a string of at most max bytes.
static int s_check_text(lt_json_t value, size_t index, const char *name, bool required,
                        size_t max, lt_err_t *err)
{
    lt_json_type_t type = lt_json_type(value);
    if (type == LT_JSON_NONE || type == LT_JSON_NULL)
        return required ? s_bad(err, index, name, "is required") : 0;
    if (type != LT_JSON_STRING)
        return s_bad(err, index, name, "must be a string");
    size_t len = lt_json_size(value);
    if (required && len == 0)
        return s_bad(err, index, name, "is required");
    if (len > max)
        return s_bad(err, index, name, "is over %zu bytes", max);
    return 0;
}

//  The business key: a non-empty string without control characters.
static int s_check_key(lt_json_t value, size_t index, lt_err_t *err)
{
    if (s_check_text(value, index, "MaHoSo", true, LT_DOSSIER_MAX_KEY, err))
        return -1;
    char key[LT_DOSSIER_MAX_KEY + 1];
    lt_json_text(value, key, sizeof(key));
    for (const unsigned char *c = (const unsigned char *) key; *c; c++)
        if (*c < 0x20 || *c == 0x7f || *c == '|')
            return s_bad(err, index, "MaHoSo", "holds a control character or '|'");
    return 0;
}

//  The members of a dossier record the checks and the envelope read, in
//  the order of s_record_names.
typedef enum {
    R_MAHOSO, R_MATTHC, R_KENH, R_TRANGTHAI, R_HINHTHUC, R_DOITUONG,
    R_TENTTHC, R_MALINHVUC, R_TENLINHVUC, R_CHUHOSO, R_TRICHYEU, R_DONVI,
    R_NGAYNOP, R_NGAYTIEPNHAN, R_NGAYHENTRA, R_NGAYKETTHUC, R_NGAYTRA,
    R_TAILIEU, R_GIAYTO, R_BOSUNG, R_LEPHI, R_COUNT
} s_record_member_t;

static const char *const s_record_names[R_COUNT] = {
    "MaHoSo", "MaTTHC", "KenhThucHien", "TrangThaiHoSo", "HinhThuc", "LoaiDoiTuong",
    "TenTTHC", "MaLinhVuc", "TenLinhVuc", "ChuHoSo", "TrichYeuHoSo", "DonViXuLy",
    "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra",
    "TaiLieuNop", "DanhSachGiayToKetQua", "DanhSachHoSoBoSung", "DanhSachLePhi"};

int lt_dossier_check(lt_json_t record, size_t index, lt_err_t *err)
{
    if (lt_json_type(record) != LT_JSON_OBJECT)
        return s_bad(err, index, "*", "is not a JSON object");
    lt_json_t m[R_COUNT];
    lt_json_pick(record, s_record_names, R_COUNT, m);
    if (s_check_key(m[R_MAHOSO], index, err)
        || s_check_text(m[R_MATTHC], index, "MaTTHC", true, 255, err)
        || s_check_code(m[R_KENH], index, "KenhThucHien", 1, 3, true, err)
        || s_check_code(m[R_TRANGTHAI], index, "TrangThaiHoSo", 1, 10, true, err)
        || s_check_code(m[R_HINHTHUC], index, "HinhThuc", 0, 1, false, err)
        || s_check_code(m[R_DOITUONG], index, "LoaiDoiTuong", 0, 99, false, err))
        return -1;
    for (int i = R_TENTTHC; i <= R_DONVI; i++)
        if (s_check_text(m[i], index, s_record_names[i], false, 65536, err))
            return -1;
    long state = s_code(m[R_TRANGTHAI]);
    if (s_check_time(m[R_NGAYNOP], index, "NgayNopHoSo", false, err)
        || s_check_time(m[R_NGAYTIEPNHAN], index, "NgayTiepNhan",
                        state >= 2 && state != 3 && state != 7, err)
        || s_check_time(m[R_NGAYHENTRA], index, "NgayHenTra", false, err)
        || s_check_time(m[R_NGAYKETTHUC], index, "NgayKetThucXuLy", state >= 9, err)
        || s_check_time(m[R_NGAYTRA], index, "NgayTra", state == 10, err))
        return -1;
    for (int i = R_TAILIEU; i <= R_LEPHI; i++) {
        lt_json_type_t type = lt_json_type(m[i]);
        if (type != LT_JSON_NONE && type != LT_JSON_NULL && type != LT_JSON_ARRAY)
            return s_bad(err, index, s_record_names[i], "must be an array");
        lt_json_t cursor = m[i], item;
        for (size_t k = 0; lt_json_next(&cursor, &item); k++)
            if (lt_json_type(item) != LT_JSON_OBJECT) {
                char name[64];
                snprintf(name, sizeof(name), "%s[%zu]", s_record_names[i], k);
                return s_bad(err, index, name, "must be an object");
            }
    }
    lt_json_t cursor = m[R_TAILIEU], file;
    for (size_t k = 0; lt_json_next(&cursor, &file); k++) {
        long digitised = s_code(lt_json_get(file, "DuocSoHoa"));
        if (digitised != -2 && digitised != 0 && digitised != 1) {
            char name[64];
            snprintf(name, sizeof(name), "TaiLieuNop[%zu].DuocSoHoa", k);
            return s_bad(err, index, name, "must be 0 or 1");
        }
    }
    return 0;
}

//  The members of a progress step the checks read.
typedef enum {
    P_MAHOSO, P_THOIDIEM, P_BATDAU, P_KETTHUC, P_TRANGTHAI,
    P_NGUOI, P_CHUCDANH, P_PHONGBAN, P_NOIDUNG, P_COUNT
} s_step_member_t;

static const char *const s_step_names[P_COUNT] = {
    "MaHoSo", "ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh", "TrangThai",
    "NguoiXuLy", "ChucDanh", "PhongBanXuLy", "NoiDungXuLy"};

int lt_dossier_check_progress(lt_json_t step, size_t index, lt_err_t *err)
{
    if (lt_json_type(step) != LT_JSON_OBJECT)
        return s_bad(err, index, "*", "is not a JSON object");
    lt_json_t m[P_COUNT];
    lt_json_pick(step, s_step_names, P_COUNT, m);
    if (s_check_key(m[P_MAHOSO], index, err)
        || s_check_time(m[P_THOIDIEM], index, "ThoiDiemXuLy", true, err)
        || s_check_time(m[P_BATDAU], index, "NgayBatDau", false, err)
        || s_check_time(m[P_KETTHUC], index, "NgayKetThucTheoQuyDinh", false, err)
        || s_check_code(m[P_TRANGTHAI], index, "TrangThai", 0, 99, false, err))
        return -1;
    for (int i = P_NGUOI; i <= P_NOIDUNG; i++)
        if (s_check_text(m[i], index, s_step_names[i], false, 65536, err))
            return -1;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Envelopes

int lt_dossier_digest(lt_json_scan_t *scan, lt_json_t record, char hex[LT_SHA256_HEX])
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    if (lt_json_canon(scan, record, &text, &len, &cap)) {
        free(text);
        return -1;
    }
    lt_digest_sha256_hex(text, len, hex);
    free(text);
    return 0;
}

//  Check that the strings fit the envelope's limits (schemas/ltp.md
//  section 6); -1 with err.
static int s_kept(const lt_envelope_t *env, const char *key, const char *revision,
                  const char *agency, lt_err_t *err)
{
    (void) env;
    if (strlen(key) > 512 || strlen(revision) > 128)
        return lt_err_set(err, LT_EFIELD, "MaHoSo or revision too long for the envelope"), -1;
    if (!*agency || strlen(agency) > 63)
        return lt_err_set(err, LT_EFIELD, "madonvi must be an agency code of 1 to 63 bytes"), -1;
    return 0;
}

int lt_dossier_fill_envelope(lt_envelope_t *env, lt_json_t record, const char *revision,
                             const char *agency, bool updating, const void *payload, size_t size,
                             lt_err_t *err)
{
    assert(env && revision && agency && payload);
    static const char *const names[] = {"MaHoSo", "KenhThucHien"};
    lt_json_t m[2];
    lt_json_pick(record, names, 2, m);
    char key[514];   //  s_kept refuses a key over 512 bytes (cut to 513)
    if (lt_json_type(m[0]) != LT_JSON_STRING)
        return lt_err_set(err, LT_EFIELD, "MaHoSo is missing"), -1;
    lt_json_text(m[0], key, sizeof(key));
    long channel = s_code(m[1]);
    lt_envelope_set_kind(env, LT_KIND_DOSSIER);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, updating ? "update" : "new");
    lt_envelope_set_revision(env, revision);
    lt_envelope_set_sender(env, agency);
    lt_envelope_set_channel(env, channel >= 1 && channel <= 3 ? (lt_channel_t) channel
                                                              : LT_CHANNEL_UNKNOWN);
    lt_envelope_set_electronic(env, true);
    lt_envelope_set_created(env, lt_time_ms());
    lt_envelope_set_payload_facts(env, payload, size);
    return s_kept(env, key, revision, agency, err);
}

int lt_dossier_fill_progress(lt_envelope_t *env, lt_json_scan_t *scan, lt_json_t step,
                             const char *agency, const void *payload, size_t size, lt_err_t *err)
{
    assert(env && scan && agency && payload);
    static const char *const names[] = {"MaHoSo", "ThoiDiemXuLy"};
    lt_json_t m[2];
    lt_json_pick(step, names, 2, m);
    char key[514], when[16], digest[LT_SHA256_HEX];
    if (lt_json_type(m[0]) != LT_JSON_STRING || lt_json_type(m[1]) != LT_JSON_STRING)
        return lt_err_set(err, LT_EFIELD, "MaHoSo or ThoiDiemXuLy is missing"), -1;
    lt_json_text(m[0], key, sizeof(key));
    lt_json_text(m[1], when, sizeof(when));
    if (lt_dossier_digest(scan, step, digest))
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    char revision[96];
    snprintf(revision, sizeof(revision), "%.14s-%s", when, digest);
    lt_envelope_set_kind(env, LT_KIND_PROGRESS);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, "progress");
    lt_envelope_set_revision(env, revision);
    lt_envelope_set_sender(env, agency);
    lt_envelope_set_created(env, lt_time_ms());
    lt_envelope_set_payload_facts(env, payload, size);
    return s_kept(env, key, revision, agency, err);
}

//  The envelope of a dossier_synced fact whose payload is text (taken:
//  handed to the caller in payload_p, or freed on failure); NULL when out
//  of memory.
static lt_envelope_t *s_fact_envelope(const char *key, const char *revision, const char *agency,
                                      char *text, char **payload_p, size_t *size_p)
{
    lt_envelope_t *env = text ? lt_envelope_new() : NULL;
    if (!env) {
        free(text);
        return NULL;
    }
    size_t size = strlen(text);
    lt_envelope_set_kind(env, LT_KIND_FACT);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, LT_DOSSIER_FACT_SYNCED);
    lt_envelope_set_revision(env, revision);
    lt_envelope_set_sender(env, agency);
    lt_envelope_set_created(env, lt_time_ms());
    lt_envelope_set_payload_facts(env, text, size);
    *payload_p = text;
    *size_p = size;
    return env;
}

lt_envelope_t *lt_dossier_fact(const char *mahoso, const char *revision, const char *agency,
                               char **payload_p, size_t *size_p)
{
    assert(mahoso && revision && agency && payload_p && size_p);
    json_t *body = json_pack("{s:s, s:s}", "MaHoSo", mahoso, "revision", revision);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    return s_fact_envelope(mahoso, revision, agency, text, payload_p, size_p);
}

void lt_dossier_fact_rev(size_t count, const char *sha256, char *rev, size_t size)
{
    assert(sha256 && rev && size >= 96);
    snprintf(rev, size, "%zu-%s", count, sha256);
}

lt_envelope_t *lt_dossier_fact_many(const char *const *mahoso, const char *const *revision,
                                    size_t count, const char *agency, char **payload_p,
                                    size_t *size_p)
{
    assert(mahoso && revision && agency && payload_p && size_p);
    assert(count >= 1 && count <= LT_DOSSIER_FACT_MAX);
    if (count == 1)
        return lt_dossier_fact(mahoso[0], revision[0], agency, payload_p, size_p);
    json_t *list = json_array();
    for (size_t i = 0; list && i < count; i++) {
        json_t *entry = json_pack("{s:s, s:s}", "MaHoSo", mahoso[i], "revision", revision[i]);
        if (!entry || json_array_append_new(list, entry)) {
            json_decref(list);
            list = NULL;
        }
    }
    json_t *body = list ? json_pack("{s:o}", "dossiers", list) : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    //  The revision names the list's content: another list is never taken
    //  for a duplicate, the same list sent again is one.
    char rev[96] = "";
    if (text) {
        char hex[LT_SHA256_HEX];
        lt_digest_sha256_hex(text, strlen(text), hex);
        lt_dossier_fact_rev(count, hex, rev, sizeof(rev));
    }
    return s_fact_envelope(mahoso[0], rev, agency, text, payload_p, size_p);
}

//  ---------------------------------------------------------------------------
//  Self-test

//  Check text as one record (or progress step); returns the check's result.
static int s_try(const char *text, bool progress, lt_err_t *err)
{
    lt_json_scan_t *scan = lt_json_scan_new();
    lt_json_t record;
    assert(scan && lt_json_scan_check(scan, text, strlen(text), &record, err) == 0);
    int rc = progress ? lt_dossier_check_progress(record, 0, err)
                      : lt_dossier_check(record, 0, err);
    lt_json_scan_destroy(&scan);
    return rc;
}

//  The digest of text as lt_dossier_digest gives it, and as SHA-256 over
//  jansson's compact, key-sorted dump of the same text (the form digests
//  stored by earlier releases were made of): both must agree.
static void s_digest_same(lt_json_scan_t *scan, const char *text, char hex[LT_SHA256_HEX])
{
    lt_json_t value;
    lt_err_t err;
    assert(lt_json_scan_check(scan, text, strlen(text), &value, &err) == 0);
    assert(lt_dossier_digest(scan, value, hex) == 0);
    json_t *tree = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    char *dump = json_dumps(tree, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char expected[LT_SHA256_HEX];
    lt_digest_sha256_hex(dump, strlen(dump), expected);
    assert(strcmp(hex, expected) == 0);
    free(dump);
    json_decref(tree);
}

void lt_dossier_test(bool verbose)
{
    if (verbose)
        printf(" * lt_dossier: ");
    lt_err_t err;
    //  Exact bytes of each element, whatever the whitespace and nesting.
    const char *call = "{\"session\":\"s\", \"data\" : [ {\"MaHoSo\":\"A\",\"x\":[1,{\"y\":\"]\"}]} ,"
                       "\n  {\"MaHoSo\":\"B\\\"]\"}\t], \"z\":{\"data\":[9]}}";
    lt_dossier_span_t *spans = NULL;
    size_t count = 0;
    assert(lt_dossier_spans(call, strlen(call), "data", 16, 100, &spans, &count, &err) == 0);
    assert(count == 2);
    assert(spans[0].size == strlen("{\"MaHoSo\":\"A\",\"x\":[1,{\"y\":\"]\"}]}"));
    assert(memcmp(call + spans[0].offset, "{\"MaHoSo\":\"A\"", 13) == 0);
    assert(memcmp(call + spans[1].offset, "{\"MaHoSo\":\"B\\\"]\"}", spans[1].size) == 0);
    free(spans);
    const char *empty = "{\"data\":[]}";
    assert(lt_dossier_spans(empty, strlen(empty), "data", 16, 100, &spans, &count, &err) == 0);
    assert(count == 0);
    free(spans);
    const char *none = "{\"datum\":[1], \"x\":\"data\"}";
    assert(lt_dossier_spans(none, strlen(none), "data", 16, 100, &spans, &count, &err) == 1);
    //  Limits and malformed text.
    char deep[200];
    memset(deep, '[', sizeof(deep));
    deep[0] = '{';
    assert(lt_dossier_spans(deep, sizeof(deep), "data", 16, 100, &spans, &count, &err) == -1);
    const char *nested = "{\"data\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}";
    assert(lt_dossier_spans(nested, strlen(nested), "data", 16, 100, &spans, &count, &err) == -1);
    assert(err.code == LT_ETOOBIG);
    const char *many = "{\"data\":[1,2,3,4]}";
    assert(lt_dossier_spans(many, strlen(many), "data", 16, 3, &spans, &count, &err) == -1);
    const char *bad[] = {"[1]", "{\"data\":[1,,2]}", "{\"data\":[1}", "{\"data\":\"x", "{} x",
                         "{\"data\":[1]", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert(lt_dossier_spans(bad[i], strlen(bad[i]), "data", 16, 100, &spans, &count, &err)
               == -1);

    //  Times.
    assert(lt_dossier_time_ok("20260903080000"));
    assert(lt_dossier_time_ok("20240229235959"));
    assert(!lt_dossier_time_ok("20250229000000"));
    assert(!lt_dossier_time_ok("20261303080000"));
    assert(!lt_dossier_time_ok("2026090308000"));
    assert(!lt_dossier_time_ok("2026-09-03 08:0"));

    //  Records: the fixtures pass; each broken field is named.
    const char *fixtures = getenv("LT_FIXTURES");
    if (fixtures) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/dossier/dossiers.json", fixtures);
        lt_json_scan_t *scan = lt_json_scan_new();
        const char *files[] = {"dossiers.json", "progress.json"};
        for (int f = 0; f < 2; f++) {
            snprintf(path, sizeof(path), "%s/dossier/%s", fixtures, files[f]);
            size_t size = 0;
            char *text = lt_file_read(path, 16u * 1024 * 1024, &size, &err);
            lt_json_t list, item;
            assert(text && lt_json_scan_check(scan, text, size, &list, &err) == 0);
            size_t n = 0;
            for (; lt_json_next(&list, &item); n++)
                assert((f ? lt_dossier_check_progress(item, n, &err)
                          : lt_dossier_check(item, n, &err))
                       == 0);
            assert(n >= 1 + (size_t) !f);
            free(text);
        }
        lt_json_scan_destroy(&scan);
    }
    const char *good = "{\"MaHoSo\":\"H-1\",\"MaTTHC\":\"1.0\",\"KenhThucHien\":\"3\","
                       "\"TrangThaiHoSo\":10,\"NgayTiepNhan\":\"20260903081500\","
                       "\"NgayKetThucXuLy\":\"20260905100000\",\"NgayTra\":\"20260905150000\","
                       "\"HinhThuc\":\"1\",\"TaiLieuNop\":[{\"DuocSoHoa\":\"1\"}],\"Moi\":1}";
    assert(s_try(good, false, &err) == 0);
    struct {
        const char *text;
        const char *field;
    } cases[] = {
        {"{\"MaTTHC\":\"1\",\"KenhThucHien\":\"1\",\"TrangThaiHoSo\":\"1\"}", "data[0].MaHoSo"},
        {"{\"MaHoSo\":\"a|b\",\"MaTTHC\":\"1\",\"KenhThucHien\":\"1\",\"TrangThaiHoSo\":\"1\"}",
         "data[0].MaHoSo"},
        {"{\"MaHoSo\":\"A\",\"KenhThucHien\":\"1\",\"TrangThaiHoSo\":\"1\"}", "data[0].MaTTHC"},
        {"{\"MaHoSo\":\"A\",\"MaTTHC\":\"1\",\"KenhThucHien\":\"4\",\"TrangThaiHoSo\":\"1\"}",
         "data[0].KenhThucHien"},
        {"{\"MaHoSo\":\"A\",\"MaTTHC\":\"1\",\"KenhThucHien\":1,\"TrangThaiHoSo\":\"11\"}",
         "data[0].TrangThaiHoSo"},
        {"{\"MaHoSo\":\"A\",\"MaTTHC\":\"1\",\"KenhThucHien\":1,\"TrangThaiHoSo\":\"1\","
         "\"NgayNopHoSo\":\"20261301000000\"}",
         "data[0].NgayNopHoSo"},
        {"{\"MaHoSo\":\"A\",\"MaTTHC\":\"1\",\"KenhThucHien\":1,\"TrangThaiHoSo\":\"9\","
         "\"NgayTiepNhan\":\"20260101000000\"}",
         "data[0].NgayKetThucXuLy"},
        {"{\"MaHoSo\":\"A\",\"MaTTHC\":\"1\",\"KenhThucHien\":1,\"TrangThaiHoSo\":\"1\","
         "\"TaiLieuNop\":{}}",
         "data[0].TaiLieuNop"},
        {"{\"MaHoSo\":\"A\",\"MaTTHC\":\"1\",\"KenhThucHien\":1,\"TrangThaiHoSo\":\"1\","
         "\"TaiLieuNop\":[{\"DuocSoHoa\":\"2\"}]}",
         "data[0].TaiLieuNop[0].DuocSoHoa"},
        {"{\"MaHoSo\":\"A\",\"MaTTHC\":\"1\",\"KenhThucHien\":1,\"TrangThaiHoSo\":\"1\","
         "\"ChuHoSo\":5}",
         "data[0].ChuHoSo"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert(s_try(cases[i].text, false, &err) == -1);
        assert(err.code == LT_EFIELD);
        assert(strncmp(err.detail, cases[i].field, strlen(cases[i].field)) == 0);
        assert(err.detail[strlen(cases[i].field)] == ':');
    }
    //  Escapes count once unescaped: 255 bytes of key written as 1 275
    //  bytes of \u escapes pass, 256 do not; a code may be escaped too.
    for (int n = 255; n <= 256; n++) {
        char escaped[2048] = "{\"MaHoSo\":\"";
        for (int i = 0; i < n; i++)
            strcat(escaped, "\\u0041");
        strcat(escaped, "\",\"MaTTHC\":\"1\",\"KenhThucHien\":\"\\u0032\",\"TrangThaiHoSo\":1}");
        assert(s_try(escaped, false, &err) == (n == 255 ? 0 : -1));
        assert(n == 255 || strstr(err.detail, "data[0].MaHoSo: is over 255 bytes"));
    }
    assert(s_try("{\"MaHoSo\":\"\\ud83d\\ude00\\u00e9\",\"MaTTHC\":\"1\",\"KenhThucHien\":1,"
                 "\"TrangThaiHoSo\":1234567,\"ChuHoSo\":null}",
                 false, &err)
           == -1);
    assert(strstr(err.detail, "data[0].TrangThaiHoSo:"));
    assert(s_try("{\"MaHoSo\":\"A\",\"ThoiDiemXuLy\":\"20260904100000\"}", true, &err) == 0);
    assert(s_try("{\"MaHoSo\":\"A\"}", true, &err) == -1);
    assert(strstr(err.detail, "ThoiDiemXuLy"));

    //  Envelopes: the digest ignores key order and whitespace, and is the
    //  one jansson's dump gave.
    lt_json_scan_t *scan = lt_json_scan_new();
    const char *other = "{\"Moi\":1, \"TaiLieuNop\":[{\"DuocSoHoa\":\"1\"}],\"HinhThuc\":\"1\","
                        "\"NgayTra\":\"20260905150000\",\"NgayKetThucXuLy\":\"20260905100000\","
                        "\"NgayTiepNhan\":\"20260903081500\",\"TrangThaiHoSo\":10,"
                        "\"KenhThucHien\":\"3\",\"MaTTHC\":\"1.0\",\"MaHoSo\":\"H-1\"}";
    char da[LT_SHA256_HEX], db[LT_SHA256_HEX];
    s_digest_same(scan, other, db);
    s_digest_same(scan, "{\"ChuHoSo\":\"Nguy\\u1ec5n V\u0103n A\\n\\t\\u0001/\",\"x\":[1.5e-7,-0,"
                        "1E2,-0.0,true,null,{}],\"\\u00e9\":{\"b\":1,\"a\":[]}}", da);
    s_digest_same(scan, good, da);
    assert(strcmp(da, db) == 0);
    lt_json_t a;
    assert(lt_json_scan_check(scan, good, strlen(good), &a, &err) == 0);
    lt_envelope_t *env = lt_envelope_new();
    assert(lt_dossier_fill_envelope(env, a, "1-abc", "000.00.12.H26", false, good, strlen(good),
                                    &err)
           == 0);
    assert(lt_envelope_kind(env) == LT_KIND_DOSSIER);
    assert(strcmp(lt_envelope_key(env), "H-1") == 0);
    assert(strcmp(lt_envelope_btype(env), "new") == 0);
    assert(strcmp(lt_envelope_revision(env), "1-abc") == 0);
    assert(strcmp(lt_envelope_sender(env), "000.00.12.H26") == 0);
    assert(lt_envelope_channel(env) == LT_CHANNEL_POSTAL);
    assert(lt_envelope_size(env) == strlen(good));
    assert(lt_envelope_validate(env, &err) == 0);
    lt_envelope_destroy(&env);
    char long_agency[100];
    memset(long_agency, 'x', sizeof(long_agency) - 1);
    long_agency[sizeof(long_agency) - 1] = 0;
    env = lt_envelope_new();
    assert(lt_dossier_fill_envelope(env, a, "1", long_agency, true, good, strlen(good), &err)
           == -1);
    lt_envelope_destroy(&env);
    const char *step_text = "{\"MaHoSo\":\"H-1\",\"ThoiDiemXuLy\":\"20260904100000\"}";
    lt_json_t step;
    assert(lt_json_scan_check(scan, step_text, strlen(step_text), &step, &err) == 0);
    env = lt_envelope_new();
    assert(lt_dossier_fill_progress(env, scan, step, "000.00.12.H26", "{}", 2, &err) == 0);
    assert(lt_envelope_kind(env) == LT_KIND_PROGRESS);
    assert(strncmp(lt_envelope_revision(env), "20260904100000-", 15) == 0);
    assert(strlen(lt_envelope_revision(env)) == 15 + 64);
    lt_envelope_destroy(&env);
    lt_json_scan_destroy(&scan);
    char *payload = NULL;
    size_t size = 0;
    env = lt_dossier_fact("H-1", "1-abc", "000.00.12.H26", &payload, &size);
    assert(env && lt_envelope_kind(env) == LT_KIND_FACT);
    assert(strcmp(lt_envelope_btype(env), LT_DOSSIER_FACT_SYNCED) == 0);
    assert(strcmp(payload, "{\"MaHoSo\":\"H-1\",\"revision\":\"1-abc\"}") == 0);
    assert(lt_envelope_validate(env, &err) == 0);
    lt_envelope_destroy(&env);
    free(payload);
    //  Several dossiers: the list shape, its revision naming the content.
    const char *keys[] = {"H-1", "H-2"}, *revs[] = {"1", "2-x"};
    env = lt_dossier_fact_many(keys, revs, 2, "000.00.12.H26", &payload, &size);
    assert(env && strcmp(lt_envelope_key(env), "H-1") == 0);
    assert(strcmp(payload, "{\"dossiers\":[{\"MaHoSo\":\"H-1\",\"revision\":\"1\"},"
                           "{\"MaHoSo\":\"H-2\",\"revision\":\"2-x\"}]}") == 0);
    assert(strncmp(lt_envelope_revision(env), "2-", 2) == 0);
    assert(strcmp(lt_envelope_revision(env) + 2, lt_envelope_sha256(env)) == 0);
    assert(lt_envelope_validate(env, &err) == 0);
    lt_envelope_destroy(&env);
    free(payload);
    env = lt_dossier_fact_many(keys, revs, 1, "000.00.12.H26", &payload, &size);
    assert(env && strcmp(payload, "{\"MaHoSo\":\"H-1\",\"revision\":\"1\"}") == 0);
    lt_envelope_destroy(&env);
    free(payload);
    if (verbose)
        printf("OK\n");
}
