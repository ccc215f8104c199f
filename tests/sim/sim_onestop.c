/*  lthub-sim onestop: the province's one-stop system (Hệ thống một cửa điện
    tử) as a client of a dossier adapter API (the hub's lthub-portal, or
    `lthub-sim portal`), for traffic, ordering and benchmark runs
    (spec/peers.md B, D).

      lthub-sim onestop --url URL --password-file F [--username U]
                        [--agency CODE] [--count N] [--rate R] [--seed S]
                        [--batch B] [--inflight K] [--steps N]
                        [--out FILE] [--json] [--retries N] [--timeout MS]
                        [--mix IN,ONLINE,POSTAL]

    It makes --count dossiers, each from its own seeded generator (so a run
    is the same whatever --inflight), as a realistic mix: channels 1/2/3
    (in person 30 %, online 50 %, postal 20 %, or the percentages of --mix), results returned by post
    (HinhThuc 1, TrangThaiHoSo 10) or at the desk, finished on time or
    late, supplements requested (TrangThaiHoSo 5), 1..--steps progress
    steps, Vietnamese text and a field unknown to the spec. --inflight
    threads each take --batch dossiers at a time and send them in waves,
    each wave one call, each answered before the next: the new records
    (isUpdating False), the progress steps, the supplement updates, the
    final updates (a quarter of them sent with isUpdating False, as some
    one-stop systems do; a -3 answer to those is sent again as an update,
    spec/peers.md B). -2 logs in again; -9 and HTTP failures are retried
    --retries times. --rate paces dossiers per second overall.

    It prints a summary of what was accepted, per category (text, or JSON
    with --json); --out writes, per MaHoSo, every item accepted in the
    order sent, for tests to compare with what reached DVCQG. Exit 0 when
    every call was accepted, 1 otherwise, 2 on a usage error.
*/
#include "lt_http_client.h"
#include "lt_id.h"
#include "sim.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_THREADS 256

//  Counters of the run (under the mutex).
typedef struct {
    uint64_t dossiers, channel[4], postal_returns, on_time, late, unfinished;
    uint64_t supplements, updates, updates_as_new, steps, records;
    uint64_t calls, calls_ok, calls_failed, retries, relogins, resent_as_update;
} s_counts_t;

//  The generator.
typedef struct {
    const char *url, *username, *password_file, *agency, *auth_path, *service_path, *out;
    long long count, seed, batch, inflight, steps, retries, timeout_ms;
    double rate;                //  dossiers per second, 0: as fast as possible
    int mix[3];                 //  --mix: percent in person, online, postal
    bool json;                  //  --json
    char password[512];         //  the password
    pthread_mutex_t mutex;      //  guards below
    long long next;             //  next dossier index to take
    int64_t start_ms;           //  run start (monotonic)
    s_counts_t counts;          //  counters
    json_t *sequence;           //  MaHoSo -> items accepted, in order (with --out)
    json_t *errors;             //  distinct failures (at most 10)
    volatile sig_atomic_t stop; //  a signal arrived
} s_gen_t;

//  Next pseudo-random number (splitmix64).
static uint64_t s_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

//  True with probability percent/100.
static bool s_chance(uint64_t *state, int percent)
{
    return (int) (s_random(state) % 100) < percent;
}

//  Write a time (seconds, read as Vietnam wall time) as yyyyMMddHHmmss.
static void s_time(time_t t, char out[16])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

static const char *s_procedures[][4] = {
    {"1.004227.000.00.00.H26", "Cấp giấy phép hoạt động in", "G09-TT03", "Xuất bản, In và Phát hành"},
    {"2.000815.000.00.00.H26", "Đăng ký khai sinh", "G01-HT", "Hộ tịch"},
    {"1.001612.000.00.00.H26", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "G12-XD", "Hoạt động xây dựng"},
    {"2.001823.000.00.00.H26", "Đăng ký thành lập hộ kinh doanh", "G05-KD", "Thành lập và hoạt động của hộ kinh doanh"},
};
static const char *s_people[] = {"Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường",
                                 "Phạm Thị Dung", "Công ty TNHH Ánh Dương", "Hoàng Văn Đức"};

//  One generated dossier: its versions and steps.
typedef struct {
    json_t *versions[3];     //  new, supplement (or NULL), final (or NULL)
    bool final_as_new;       //  the final update is sent with isUpdating False
    json_t *steps;           //  array of progress steps
} s_dossier_t;

//  Make dossier index i (deterministic from --seed and i).
static void s_make(s_gen_t *g, long long i, s_dossier_t *d)
{
    uint64_t rng = (uint64_t) g->seed * 1000003ull + (uint64_t) i;
    s_random(&rng);
    int pick = (int) (s_random(&rng) % 100);
    int channel = pick < g->mix[0] ? 1 : pick < g->mix[0] + g->mix[1] ? 2 : 3;
    bool postal = channel == 3 || s_chance(&rng, 20);
    const char **proc = s_procedures[s_random(&rng) % 4];
    const char *person = s_people[s_random(&rng) % 6];
    time_t base = 1788220800 + (time_t) (i % 100000) * 420;   //  2026-09-01 00:00 + i*7 min
    char submitted[16], received[16], due[16], key[128];
    s_time(base + 8 * 3600, submitted);
    s_time(base + 8 * 3600 + 900, received);
    s_time(base + 8 * 3600 + 5 * 86400, due);
    snprintf(key, sizeof(key), "%s-260901-S%lld-%06lld", g->agency, g->seed, i);
    json_t *record = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
        "s:[{s:s, s:s, s:s, s:s}], s:[], s:[], s:[], s:{s:s, s:I}}",
        "MaHoSo", key, "MaTTHC", proc[0], "TenTTHC", proc[1], "MaLinhVuc", proc[2],
        "TenLinhVuc", proc[3], "KenhThucHien", channel == 1 ? "1" : channel == 2 ? "2" : "3",
        "ChuHoSo", person, "LoaiDoiTuong", person[0] == 'C' ? "2" : "1", "TrichYeuHoSo",
        "Đề nghị giải quyết thủ tục hành chính", "NgayNopHoSo", submitted, "NgayTiepNhan",
        received, "NgayHenTra", due, "TrangThaiHoSo", "2", "NgayKetThucXuLy", "", "NgayTra", "",
        "HinhThuc", postal ? "1" : "0", "DonViXuLy", "Bộ phận Một cửa", "TaiLieuNop",
        "TepDinhKemId", "1", "TenTepDinhKem", "Don-de-nghi.pdf", "DuocSoHoa",
        s_chance(&rng, 70) ? "1" : "0", "MaThanhPhanHoSo", "TP1", "DanhSachGiayToKetQua",
        "DanhSachLePhi", "DanhSachHoSoBoSung", "ThongTinMoRong", "GhiChu",
        "trường không có trong đặc tả", "Diem", (json_int_t) (s_random(&rng) % 100));
    d->versions[0] = record;
    d->versions[1] = d->versions[2] = NULL;
    d->steps = json_array();
    long steps = 1 + (long) (s_random(&rng) % (uint64_t) g->steps);
    for (long s = 0; s < steps; s++) {
        char when[16], start[16];
        s_time(base + 8 * 3600 + 3600 * (s + 1), when);
        s_time(base + 8 * 3600 + 3600 * s, start);
        json_array_append_new(
            d->steps, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "MaHoSo", key,
                                "NguoiXuLy", s_people[(s + 1) % 6], "ChucDanh", "Chuyên viên",
                                "ThoiDiemXuLy", when, "PhongBanXuLy", "Phòng Hành chính",
                                "NoiDungXuLy", s == 0 ? "Tiếp nhận hồ sơ" : "Thẩm định hồ sơ",
                                "TrangThai", "4", "NgayBatDau", start,
                                "NgayKetThucTheoQuyDinh", due));
    }
    if (s_chance(&rng, 15)) {
        json_t *supp = json_deep_copy(record);
        json_object_set_new(supp, "TrangThaiHoSo", json_string("5"));
        json_array_append_new(json_object_get(supp, "DanhSachHoSoBoSung"),
                              json_pack("{s:s, s:s, s:s}", "HoSoBoSungId", "1", "NoiDungBoSung",
                                        "Bổ sung bản sao giấy tờ tùy thân", "NgayBoSung", due));
        d->versions[1] = supp;
    }
    if (s_chance(&rng, 70)) {
        json_t *final = json_deep_copy(d->versions[1] ? d->versions[1] : record);
        bool late = s_chance(&rng, 20);
        char done[16], returned[16];
        s_time(base + 8 * 3600 + (late ? 6 : 4) * 86400, done);
        s_time(base + 8 * 3600 + (late ? 7 : 4) * 86400 + 3600, returned);
        json_object_set_new(final, "TrangThaiHoSo", json_string(postal ? "10" : "9"));
        json_object_set_new(final, "NgayKetThucXuLy", json_string(done));
        if (postal)
            json_object_set_new(final, "NgayTra", json_string(returned));
        json_array_append_new(json_object_get(final, "DanhSachGiayToKetQua"),
                              json_pack("{s:s, s:s, s:s}", "TenGiayTo", "Kết quả giải quyết",
                                        "GiayToId", key, "MaGiayToKetQua", "KQ1"));
        d->versions[2] = final;
        d->final_as_new = s_chance(&rng, 25);
    }
}

//  Count a dossier's categories.
static void s_count(s_gen_t *g, const s_dossier_t *d)
{
    json_t *first = d->versions[0];
    const char *channel = json_string_value(json_object_get(first, "KenhThucHien"));
    json_t *final = d->versions[2];
    pthread_mutex_lock(&g->mutex);
    g->counts.dossiers++;
    g->counts.channel[channel[0] - '0']++;
    g->counts.steps += json_array_size(d->steps);
    g->counts.supplements += d->versions[1] != NULL;
    g->counts.updates += (d->versions[1] != NULL) + (final != NULL);
    g->counts.updates_as_new += final && d->final_as_new;
    g->counts.records += 1 + json_array_size(d->steps) + (d->versions[1] != NULL) + (final != NULL);
    if (!final)
        g->counts.unfinished++;
    else {
        const char *done = json_string_value(json_object_get(final, "NgayKetThucXuLy"));
        const char *due = json_string_value(json_object_get(final, "NgayHenTra"));
        if (strcmp(done, due) <= 0)
            g->counts.on_time++;
        else
            g->counts.late++;
        if (strcmp(json_string_value(json_object_get(final, "TrangThaiHoSo")), "10") == 0)
            g->counts.postal_returns++;
    }
    pthread_mutex_unlock(&g->mutex);
}

//  Note a failure (distinct ones kept).
static void s_error(s_gen_t *g, const char *detail)
{
    pthread_mutex_lock(&g->mutex);
    if (json_array_size(g->errors) < 10) {
        bool known = false;
        for (size_t i = 0; i < json_array_size(g->errors) && !known; i++)
            known = strcmp(json_string_value(json_array_get(g->errors, i)), detail) == 0;
        if (!known)
            json_array_append_new(g->errors, json_string(detail));
    }
    pthread_mutex_unlock(&g->mutex);
}

//  One worker's connection to the server.
typedef struct {
    s_gen_t *gen;                //  the generator
    lt_http_client_t *client;    //  kept-alive connection
    char session[1024];          //  current session, "" when none
} s_worker_t;

//  POST a JSON object; returns the parsed answer or NULL (detail in err).
static json_t *s_post(s_worker_t *w, const char *path, json_t *body, lt_err_t *err)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return lt_err_set(err, LT_ENOMEM, "out of memory"), NULL;
    lt_http_reply_t reply = {0};
    lt_error_t rc = lt_http_client_post(w->client, path, NULL, 0, text, strlen(text),
                                        "application/json", &reply, err);
    free(text);
    json_t *answer = NULL;
    if (rc == LT_OK) {
        json_error_t jerr;
        answer = json_loadb(reply.body, reply.size, 0, &jerr);
        if (!json_string_value(json_object_get(answer, "error_code"))) {
            lt_err_set(err, LT_EPEER, "HTTP %ld: %.200s", reply.status, reply.body);
            json_decref(answer);
            answer = NULL;
        }
    }
    lt_http_reply_free(&reply);
    return answer;
}

//  Log in; 0 or -1.
static int s_login(s_worker_t *w, lt_err_t *err)
{
    s_gen_t *g = w->gen;
    json_t *body = json_pack("{s:s, s:s}", "username", g->username, "password", g->password);
    json_t *answer = s_post(w, g->auth_path, body, err);
    json_decref(body);
    const char *code = json_string_value(json_object_get(answer, "error_code"));
    const char *session = json_string_value(json_object_get(answer, "session"));
    int rc = -1;
    if (code && strcmp(code, "0") == 0 && session && strlen(session) < sizeof(w->session)) {
        snprintf(w->session, sizeof(w->session), "%s", session);
        rc = 0;
    }
    else if (answer)
        lt_err_set(err, LT_EAUTH, "login refused: %s",
                   json_string_value(json_object_get(answer, "message")));
    json_decref(answer);
    return rc;
}

//  Send one call (data taken) until answered 0 or out of retries; 0 or -1.
static int s_call(s_worker_t *w, const char *service, const char *updating, json_t *data)
{
    s_gen_t *g = w->gen;
    lt_err_t err;
    lt_err_clear(&err);
    int rc = -1;
    bool resent = false;   //  a -3 turned the call into an update already
    for (long long attempt = 0; attempt <= g->retries && !g->stop; attempt++) {
        if (attempt > 0) {
            pthread_mutex_lock(&g->mutex);
            g->counts.retries++;
            pthread_mutex_unlock(&g->mutex);
            usleep((useconds_t) (attempt < 10 ? attempt * 100000 : 1000000));
        }
        if (!w->session[0] && s_login(w, &err))
            continue;
        json_t *body = json_pack("{s:s, s:s, s:s}", "session", w->session, "madonvi", g->agency,
                                 "service", service);
        if (updating)
            json_object_set_new(body, "isUpdating", json_string(updating));
        json_object_set(body, "data", data);
        pthread_mutex_lock(&g->mutex);
        g->counts.calls++;
        pthread_mutex_unlock(&g->mutex);
        json_t *answer = s_post(w, g->service_path, body, &err);
        json_decref(body);
        const char *code = json_string_value(json_object_get(answer, "error_code"));
        if (code && strcmp(code, "0") == 0)
            rc = 0;
        else if (code && strcmp(code, "-2") == 0) {
            w->session[0] = 0;
            pthread_mutex_lock(&g->mutex);
            g->counts.relogins++;
            pthread_mutex_unlock(&g->mutex);
            attempt--;   //  a new session is not a retry
        }
        else if (code && strcmp(code, "-3") == 0 && updating && strcmp(updating, "False") == 0
                 && !resent) {
            updating = "True";   //  the dossier exists: send it again as an update
            resent = true;
            pthread_mutex_lock(&g->mutex);
            g->counts.resent_as_update++;
            pthread_mutex_unlock(&g->mutex);
            attempt--;
        }
        else if (code) {
            lt_err_set(&err, LT_EPEER, "%s answered %s: %.300s", service, code,
                       json_string_value(json_object_get(answer, "message")));
            if (strcmp(code, "-9") != 0)
                attempt = g->retries;   //  final
        }
        json_decref(answer);
        if (rc == 0)
            break;
    }
    pthread_mutex_lock(&g->mutex);
    if (rc == 0)
        g->counts.calls_ok++;
    else
        g->counts.calls_failed++;
    pthread_mutex_unlock(&g->mutex);
    if (rc)
        s_error(g, err.detail);
    json_decref(data);
    return rc;
}

//  Remember an accepted item of a dossier (with --out).
static void s_remember(s_gen_t *g, const char *kind, json_t *record)
{
    if (!g->sequence)
        return;
    const char *key = json_string_value(json_object_get(record, "MaHoSo"));
    pthread_mutex_lock(&g->mutex);
    json_t *list = json_object_get(g->sequence, key);
    if (!list) {
        list = json_array();
        json_object_set_new(g->sequence, key, list);
    }
    json_array_append_new(list, json_pack("{s:s, s:O}", "kind", kind, "record", record));
    pthread_mutex_unlock(&g->mutex);
}

//  Send one wave: the items of these dossiers chosen by pick, in one call.
static void s_wave(s_worker_t *w, s_dossier_t *ds, size_t n, int version, int as_new)
{
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++) {
        if (version < 0)
            json_array_extend(data, ds[i].steps);
        else if (ds[i].versions[version]
                 && (as_new < 0 || (version == 2 && ds[i].final_as_new == (as_new == 1))))
            json_array_append(data, ds[i].versions[version]);
    }
    size_t count = json_array_size(data);
    if (count == 0) {
        json_decref(data);
        return;
    }
    json_incref(data);
    const char *service = version < 0 ? "CapNhatTienDoHoSoMC" : "DongBoHoSoMC";
    const char *updating = version < 0 ? NULL : (version == 0 || as_new == 1) ? "False" : "True";
    if (s_call(w, service, updating, data) == 0)
        for (size_t i = 0; i < count; i++)
            s_remember(w->gen, version < 0 ? "progress" : "dossier", json_array_get(data, i));
    json_decref(data);
}

//  A worker: take batches of dossiers until done.
static void *s_worker(void *arg)
{
    s_gen_t *g = arg;
    s_worker_t w = {.gen = g};
    w.client = lt_http_client_new(g->url);
    if (!w.client)
        return NULL;
    lt_http_client_set_timeout(w.client, (long) g->timeout_ms);
    s_dossier_t *ds = calloc((size_t) g->batch, sizeof(*ds));
    while (ds && !g->stop) {
        pthread_mutex_lock(&g->mutex);
        long long first = g->next;
        long long n = g->count - first < g->batch ? g->count - first : g->batch;
        g->next += n > 0 ? n : 0;
        pthread_mutex_unlock(&g->mutex);
        if (n <= 0)
            break;
        if (g->rate > 0) {
            int64_t due = g->start_ms + (int64_t) ((double) first * 1000.0 / g->rate);
            int64_t wait = due - lt_clock_ms();
            if (wait > 0)
                usleep((useconds_t) (wait * 1000));
        }
        for (long long i = 0; i < n; i++)
            s_make(g, first + i, &ds[i]);
        s_wave(&w, ds, (size_t) n, 0, -1);
        s_wave(&w, ds, (size_t) n, -1, -1);
        s_wave(&w, ds, (size_t) n, 1, -1);
        s_wave(&w, ds, (size_t) n, 2, 0);
        s_wave(&w, ds, (size_t) n, 2, 1);
        for (long long i = 0; i < n; i++) {
            s_count(g, &ds[i]);
            for (int v = 0; v < 3; v++)
                json_decref(ds[i].versions[v]);
            json_decref(ds[i].steps);
        }
    }
    free(ds);
    lt_http_client_destroy(&w.client);
    return NULL;
}

//  Print the usage.
static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: lthub-sim onestop --url URL --password-file F [options]\n"
            "  --username U        login name (default onestop)\n"
            "  --auth-path P       login path (default /login)\n"
            "  --service-path P    service path (default /service)\n"
            "  --agency CODE       madonvi (default 000.00.12.H26)\n"
            "  --count N           dossiers (default 100)\n"
            "  --rate R            dossiers per second, 0 = unpaced (default 0)\n"
            "  --mix I,O,P         percent of channels in person, online, postal\n"
            "                      (default 30,50,20; they add up to 100)\n"
            "  --seed S            seed (default 1)\n"
            "  --batch B           dossiers per call (default 1)\n"
            "  --inflight K        calls in flight, one thread each (default 1)\n"
            "  --steps N           most progress steps per dossier (default 3)\n"
            "  --retries N         retries of a failing call (default 30)\n"
            "  --timeout MS        HTTP timeout (default 60000)\n"
            "  --out FILE          write every accepted item per MaHoSo, in order\n"
            "  --json              print the summary as JSON\n");
}

//  Parse --mix "I,O,P" (three whole percentages adding up to 100).
static bool s_parse_mix(const char *value, int mix[3])
{
    const char *p = value;
    int total = 0;
    for (int i = 0; i < 3; i++) {
        char *end = NULL;
        long n = strtol(p, &end, 10);
        if (end == p || n < 0 || n > 100 || *end != (i < 2 ? ',' : 0))
            return false;
        mix[i] = (int) n;
        total += (int) n;
        p = end + (i < 2);
    }
    return total == 100;
}

//  Parse the options; 0, or 2 on a usage error (1 for --help).
static int s_options(s_gen_t *g, int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--help") == 0) {
            s_usage(stdout);
            return 1;
        }
        if (strcmp(name, "--json") == 0) {
            g->json = true;
            continue;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        if (!value) {
            fprintf(stderr, "lthub-sim onestop: %s needs a value\n", name);
            return 2;
        }
        bool ok = true;
        if (strcmp(name, "--url") == 0)
            g->url = value;
        else if (strcmp(name, "--username") == 0)
            g->username = value;
        else if (strcmp(name, "--password-file") == 0)
            g->password_file = value;
        else if (strcmp(name, "--auth-path") == 0)
            g->auth_path = value;
        else if (strcmp(name, "--service-path") == 0)
            g->service_path = value;
        else if (strcmp(name, "--agency") == 0)
            g->agency = value;
        else if (strcmp(name, "--out") == 0)
            g->out = value;
        else if (strcmp(name, "--count") == 0)
            ok = sim_parse_long(value, 0, 100000000, &g->count);
        else if (strcmp(name, "--seed") == 0)
            ok = sim_parse_long(value, 0, 1000000000, &g->seed);
        else if (strcmp(name, "--batch") == 0)
            ok = sim_parse_long(value, 1, 1000, &g->batch);
        else if (strcmp(name, "--inflight") == 0)
            ok = sim_parse_long(value, 1, S_MAX_THREADS, &g->inflight);
        else if (strcmp(name, "--steps") == 0)
            ok = sim_parse_long(value, 1, 50, &g->steps);
        else if (strcmp(name, "--retries") == 0)
            ok = sim_parse_long(value, 0, 100000, &g->retries);
        else if (strcmp(name, "--timeout") == 0)
            ok = sim_parse_long(value, 100, 3600000, &g->timeout_ms);
        else if (strcmp(name, "--mix") == 0)
            ok = s_parse_mix(value, g->mix);
        else if (strcmp(name, "--rate") == 0)
            ok = sim_parse_double(value, 0, 1e9, &g->rate);
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "lthub-sim onestop: unknown option or bad value: %s %s\n", name,
                    value);
            return 2;
        }
    }
    if (!g->url || !g->password_file) {
        fprintf(stderr, "lthub-sim onestop: --url and --password-file are required\n");
        return 2;
    }
    return 0;
}

//  Print the summary.
static void s_summary(s_gen_t *g, double seconds)
{
    s_counts_t c = g->counts;
    json_t *summary = json_pack(
        "{s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:f, s:f, s:O}",
        "dossiers", (json_int_t) c.dossiers, "channels", "in_person", (json_int_t) c.channel[1],
        "online", (json_int_t) c.channel[2], "postal", (json_int_t) c.channel[3],
        "postal_returns", (json_int_t) c.postal_returns, "on_time", (json_int_t) c.on_time,
        "late", (json_int_t) c.late, "unfinished", (json_int_t) c.unfinished, "supplements",
        (json_int_t) c.supplements, "updates", (json_int_t) c.updates, "updates_as_new",
        (json_int_t) c.updates_as_new, "steps", (json_int_t) c.steps, "records",
        (json_int_t) c.records, "calls", (json_int_t) c.calls, "calls_ok",
        (json_int_t) c.calls_ok, "calls_failed", (json_int_t) c.calls_failed, "retries",
        (json_int_t) c.retries, "relogins", (json_int_t) c.relogins, "resent_as_update",
        (json_int_t) c.resent_as_update, "seconds", seconds,
        "records_per_s", seconds > 0 ? (double) c.records / seconds : 0.0, "errors", g->errors);
    if (g->json) {
        char *text = json_dumps(summary, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
    }
    else {
        printf("onestop: %llu dossiers (in person %llu, online %llu, postal %llu), "
               "%llu records, %llu steps, %llu updates (%llu as isUpdating False), "
               "%llu supplements\n",
               (unsigned long long) c.dossiers, (unsigned long long) c.channel[1],
               (unsigned long long) c.channel[2], (unsigned long long) c.channel[3],
               (unsigned long long) c.records, (unsigned long long) c.steps,
               (unsigned long long) c.updates, (unsigned long long) c.updates_as_new,
               (unsigned long long) c.supplements);
        printf("onestop: finished on time %llu, late %llu, unfinished %llu, returned by post "
               "%llu\n",
               (unsigned long long) c.on_time, (unsigned long long) c.late,
               (unsigned long long) c.unfinished, (unsigned long long) c.postal_returns);
        printf("onestop: calls %llu, ok %llu, failed %llu, retries %llu, relogins %llu; "
               "%.2f s, %.0f records/s\n",
               (unsigned long long) c.calls, (unsigned long long) c.calls_ok,
               (unsigned long long) c.calls_failed, (unsigned long long) c.retries,
               (unsigned long long) c.relogins, seconds,
               seconds > 0 ? (double) c.records / seconds : 0.0);
        for (size_t i = 0; i < json_array_size(g->errors); i++)
            printf("onestop: error: %s\n", json_string_value(json_array_get(g->errors, i)));
    }
    json_decref(summary);
}

int sim_onestop_main(int argc, char *argv[])
{
    s_gen_t gen = {.username = "onestop", .agency = "000.00.12.H26", .auth_path = "/login",
                   .service_path = "/service", .count = 100, .seed = 1, .batch = 1,
                   .inflight = 1, .steps = 3, .retries = 30, .timeout_ms = 60000,
                   .mix = {30, 50, 20}};
    s_gen_t *g = &gen;
    int rc = s_options(g, argc, argv);
    if (rc)
        return rc == 1 ? 0 : 2;
    lt_err_t err;
    size_t size = 0;
    char *password = (char *) sim_read_file(g->password_file, sizeof(g->password) - 1, &size,
                                            &err);
    if (!password) {
        fprintf(stderr, "lthub-sim onestop: %s\n", err.detail);
        return 2;
    }
    while (size > 0 && strchr("\r\n \t", password[size - 1]))
        password[--size] = 0;
    snprintf(g->password, sizeof(g->password), "%s", password);
    free(password);
    pthread_mutex_init(&g->mutex, NULL);
    g->errors = json_array();
    g->sequence = g->out ? json_object() : NULL;
    g->start_ms = lt_clock_ms();
    pthread_t threads[S_MAX_THREADS];
    long long started = 0;
    for (; started < g->inflight; started++)
        if (pthread_create(&threads[started], NULL, s_worker, g))
            break;
    for (long long i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    double seconds = (double) (lt_clock_ms() - g->start_ms) / 1000.0;
    s_summary(g, seconds);
    if (g->out) {
        json_t *out = json_pack("{s:O}", "sequence", g->sequence);
        if (json_dump_file(out, g->out, JSON_COMPACT | JSON_PRESERVE_ORDER))
            fprintf(stderr, "lthub-sim onestop: cannot write %s\n", g->out);
        json_decref(out);
    }
    rc = g->counts.calls_failed || g->counts.dossiers < (uint64_t) g->count ? 1 : 0;
    json_decref(g->sequence);
    json_decref(g->errors);
    pthread_mutex_destroy(&g->mutex);
    return rc;
}
