/*  lthub-sim report-gen: publishes indicator reports into a hub, the way
    lthubd will at the end of each period, so that lthub-report and the
    reporting system have traffic in tests and in the sandbox.

    It is a connector (the runtime's options: --name, --broker, --keys...;
    its certificate must be among the broker's allowed keys and its name
    in the broker's connectors). It publishes --count reports (0: until
    stopped), one every --every-ms, each a message of kind report whose key
    is the report's idempotencyKey and whose sender is its organId, and
    waits for ACCEPTED before the next; each accepted one is printed on
    stdout as "N MSGID KEY". The reports are seeded (--seed): agencies
    (--organs), regimes (--codes) and period kinds (--kinds) in turn, with
    the period boundaries of Nghị định 09/2019/NĐ-CP and indicator figures
    drawn from the seed; keys end in SEED-N, so two runs with different
    seeds never collide and a run again with the same seed is recognised
    by the broker as the same reports.

    With --file A.json,B.json it publishes those files as they are
    instead; a file that is not a valid report (to test refusals) needs
    --key for its message key.
*/
#include "lt_connector.h"
#include "lt_digest.h"
#include "lt_file.h"
#include "lt_id.h"
#include "lt_log.h"
#include "lt_period.h"
#include "lt_report_json.h"
#include "sim.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_LIST 64   //  entries of --organs, --codes, --kinds

static const lt_option_t s_options[] = {
    LT_OPT_STR("count", "1", "reports to publish (0: until stopped)"),
    LT_OPT_STR("every-ms", "0", "pause between two reports, ms"),
    LT_OPT_STR("seed", "1", "seed of the figures and of the keys' suffix"),
    LT_OPT_STR("organs", "000.00.00.H26", "reporting agencies, comma-separated, in turn"),
    LT_OPT_STR("codes", "PAR-7.1", "report regimes (reportCode), comma-separated, in turn"),
    LT_OPT_STR("kinds", "quarter", "period kinds in turn: month, quarter, half, nine_months, year"),
    LT_OPT_STR("year", "2026", "year of the first periods (the next nine follow in turn)"),
    LT_OPT_STR("file", "", "publish these report files (comma-separated) as they are instead"),
    LT_OPT_STR("key", "", "message key of a --file that is not a valid report"),
    LT_OPT_END,
};

//  A comma-separated option split in place.
typedef struct {
    char *text;                  //  the copy split in place
    const char *item[S_MAX_LIST];//  the entries
    size_t count;                //  how many
} s_list_t;

//  The generator's state.
typedef struct {
    lt_conn_t *conn;             //  the runtime
    long count;                  //  reports to publish, 0 for no end
    long every_ms;               //  pause between reports
    uint64_t seed;               //  --seed
    uint64_t state;              //  generator state
    long year;                   //  first year
    s_list_t organs;             //  --organs
    s_list_t codes;              //  --codes
    s_list_t kinds;              //  --kinds
    s_list_t files;              //  --file
    const char *key;             //  --key
    pthread_t thread;            //  the publishing thread
    bool running;                //  it was started
    pthread_mutex_t lock;        //  guards stopping
    pthread_cond_t cond;         //  signalled when stopping
    bool stopping;               //  the thread must end
} s_gen_t;

//  Return true once the thread must end.
static bool s_stopped(s_gen_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool stopping = self->stopping;
    pthread_mutex_unlock(&self->lock);
    return stopping;
}

//  Split a comma-separated option into list (blanks around entries
//  dropped); -1 with err when empty or too long.
static int s_split(lt_conn_t *conn, const char *name, s_list_t *list, bool may_be_empty,
                   lt_err_t *err)
{
    list->text = strdup(lt_conn_option(conn, name));
    if (!list->text)
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    char *p = list->text;
    while (*p) {
        p += strspn(p, ", ");
        size_t len = strcspn(p, ", ");
        if (len == 0)
            break;
        if (list->count == S_MAX_LIST)
            return lt_err_set(err, LT_ECONFIG, "--%s has more than %d entries", name, S_MAX_LIST),
                   -1;
        list->item[list->count++] = p;
        p += len;
        if (*p)
            *p++ = 0;
    }
    if (list->count == 0 && !may_be_empty)
        return lt_err_set(err, LT_ECONFIG, "--%s needs at least one entry", name), -1;
    return 0;
}

//  Draw a uniform number in [0, 1) (splitmix64).
static double s_draw(s_gen_t *self)
{
    uint64_t z = (self->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}

//  The first and last month of a period, and the highest index of its kind;
//  -1 for an unknown kind.
static int s_months(const char *kind, long index, int *first, int *last)
{
    if (strcmp(kind, "month") == 0)
        *first = *last = (int) index;
    else if (strcmp(kind, "quarter") == 0)
        *first = (int) index * 3 - 2, *last = (int) index * 3;
    else if (strcmp(kind, "half") == 0)
        *first = (int) index * 6 - 5, *last = (int) index * 6;
    else if (strcmp(kind, "nine_months") == 0)
        *first = 1, *last = 9;
    else if (strcmp(kind, "year") == 0)
        *first = 1, *last = 12;
    else
        return -1;
    return 0;
}

//  Return the number of periods of a kind in a year.
static long s_periods(const char *kind)
{
    return strcmp(kind, "month") == 0     ? 12
           : strcmp(kind, "quarter") == 0 ? 4
           : strcmp(kind, "half") == 0    ? 2
                                          : 1;
}

//  Build report n (from 1) as JSON text the caller frees.
static char *s_build(s_gen_t *self, long n)
{
    const char *organ = self->organs.item[(n - 1) % (long) self->organs.count];
    const char *code = self->codes.item[(n - 1) % (long) self->codes.count];
    const char *kind = self->kinds.item[(n - 1) % (long) self->kinds.count];
    long round = (n - 1) / (long) self->kinds.count;
    long index = 1 + round % s_periods(kind);
    //  Years go round within ten, so a long run stays in range; the keys'
    //  SEED-N suffix keeps them unique.
    long year = self->year + (round / s_periods(kind)) % 10;
    int first = 1, last = 12;
    s_months(kind, index, &first, &last);
    char from[48], to[48], label[48], key[256], generated[40];
    if (first == 1)
        snprintf(from, sizeof(from), "%04ld-12-15", year - 1);
    else
        snprintf(from, sizeof(from), "%04ld-%02d-15", year, first - 1);
    snprintf(to, sizeof(to), "%04ld-%02d-14", year, last);
    if (strcmp(kind, "month") == 0)
        snprintf(label, sizeof(label), "%ld-M%02ld", year, index);
    else if (strcmp(kind, "quarter") == 0)
        snprintf(label, sizeof(label), "%ld-Q%ld", year, index);
    else if (strcmp(kind, "half") == 0)
        snprintf(label, sizeof(label), "%ld-H%ld", year, index);
    else if (strcmp(kind, "nine_months") == 0)
        snprintf(label, sizeof(label), "%ld-9M", year);
    else
        snprintf(label, sizeof(label), "%ld", year);
    snprintf(key, sizeof(key), "%s/%s/%s/%llu-%ld", code, organ, label,
             (unsigned long long) self->seed, n);
    lt_period_format_time(lt_time_ms(), "%Y-%m-%dT%H:%M:%S+07:00", generated, sizeof(generated));

    static const struct {
        const char *code;      //  indicator code
        const char *name;      //  its Vietnamese name
        double target;         //  target, %
    } indicators[] = {
        {"doc_electronic_rate", "Tỷ lệ văn bản trao đổi dưới dạng điện tử", 100},
        {"doc_signed_rate", "Tỷ lệ văn bản điện tử có chữ ký số hợp lệ", 100},
        {"dossier_ontime_rate", "Tỷ lệ hồ sơ giải quyết đúng hạn", 100},
        {"report_connected_rate", "Tỷ lệ chế độ báo cáo kết nối với Hệ thống thông tin báo cáo",
         30},
    };
    json_t *list = json_array();
    json_int_t items = 0;
    for (size_t i = 0; list && i < sizeof(indicators) / sizeof(indicators[0]); i++) {
        json_int_t denominator = 50 + (json_int_t) (s_draw(self) * 9950);
        json_int_t numerator = (json_int_t) ((0.6 + 0.4 * s_draw(self)) * (double) denominator);
        double value = (double) (json_int_t) (10000.0 * (double) numerator / (double) denominator)
                       / 100.0;
        items += denominator;
        json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:f, s:s, s:f}", "code",
                                              indicators[i].code, "name", indicators[i].name,
                                              "numerator", numerator, "denominator",
                                              denominator, "value", value, "unit", "%",
                                              "target", indicators[i].target));
    }
    char digest[LT_SHA256_HEX];
    lt_digest_sha256_hex(key, strlen(key), digest);
    json_t *report = json_pack(
        "{s:s, s:s, s:{s:s, s:I, s:I, s:s, s:s}, s:s, s:s, s:o, s:{s:I, s:s}}", "reportCode",
        code, "organId", organ, "period", "kind", kind, "year", (json_int_t) year, "index",
        (json_int_t) index, "from", from, "to", to, "generatedAt", generated, "idempotencyKey",
        key, "indicators", list, "evidence", "items", items, "sha256", digest);
    char *text = report ? json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(report);
    return text;
}

//  Publish one report text until ACCEPTED or refused; print the outcome.
static void s_publish(s_gen_t *self, long n, const char *text, size_t size)
{
    lt_err_t err;
    lt_report_json_t *report = lt_report_json_parse(text, size, &err);
    if (!report && !*self->key) {
        printf("%ld invalid - %s\n", n, err.detail);
        fflush(stdout);
        return;
    }
    lt_publish_result_t result = {.code = LT_EUNAVAIL};
    for (int tries = 0; tries < 30 && !s_stopped(self); tries++) {
        lt_envelope_t *env = lt_envelope_new();
        if (report)
            lt_report_json_fill_envelope(report, env, text, size);
        else {
            lt_envelope_set_kind(env, LT_KIND_REPORT);
            lt_envelope_set_key(env, self->key);
            lt_envelope_set_btype(env, "new");
            lt_envelope_set_payload_facts(env, text, size);
        }
        if (lt_conn_publish(self->conn, &env, text, size, 5000, &result) == 0)
            break;
        if (result.code != LT_ETIMEOUT && !lt_error_transient(result.code))
            break;
    }
    const char *key = report ? lt_report_json_key(report) : self->key;
    if (result.code == LT_OK)
        printf("%ld %s %s\n", n, result.msgid, key);
    else
        printf("%ld rejected %s %s\n", n, key, result.reason);
    fflush(stdout);
    lt_report_json_destroy(&report);
}

//  Wait ms or until stopping; true when stopping.
static bool s_pause(s_gen_t *self, long ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&self->lock);
    while (!self->stopping)
        if (pthread_cond_timedwait(&self->cond, &self->lock, &deadline) != 0)
            break;
    bool stopping = self->stopping;
    pthread_mutex_unlock(&self->lock);
    return stopping;
}

//  The publishing thread: every report in turn, then stop the program.
static void *s_run(void *arg)
{
    s_gen_t *self = arg;
    long n = 0;
    if (self->files.count > 0)
        for (size_t i = 0; i < self->files.count && !s_stopped(self); i++) {
            lt_err_t err;
            size_t size = 0;
            char *text = lt_file_read(self->files.item[i], LT_REPORT_JSON_MAX, &size, &err);
            if (!text)
                printf("%ld unreadable - %s\n", ++n, err.detail);
            else
                s_publish(self, ++n, text, size);
            free(text);
        }
    else
        while ((self->count == 0 || n < self->count) && !s_stopped(self)) {
            if (n > 0 && self->every_ms > 0 && s_pause(self, self->every_ms))
                break;
            char *text = s_build(self, ++n);
            if (text)
                s_publish(self, n, text, strlen(text));
            free(text);
        }
    lt_log_info("event=published reports=%ld", n);
    fflush(stdout);
    if (!s_stopped(self))
        kill(getpid(), SIGTERM);
    return NULL;
}

//  Read a numeric option within bounds.
static int s_number(lt_conn_t *conn, const char *name, long lo, long hi, long *out, lt_err_t *err)
{
    long long value = 0;
    if (!sim_parse_long(lt_conn_option(conn, name), lo, hi, &value))
        return lt_err_set(err, LT_ECONFIG, "--%s must be a number from %ld to %ld", name, lo, hi),
               -1;
    *out = (long) value;
    return 0;
}

static void s_fini(void **state_p);

//  Read the options.
static int s_init(lt_conn_t *conn, void **state_p, lt_err_t *err)
{
    s_gen_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "out of memory"), -1;
    self->conn = conn;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    *state_p = self;
    long seed = 0;
    if (s_number(conn, "count", 0, 100000000, &self->count, err)
        || s_number(conn, "every-ms", 0, 86400000, &self->every_ms, err)
        || s_number(conn, "seed", 0, 2000000000, &seed, err)
        || s_number(conn, "year", 2000, 2190, &self->year, err)
        || s_split(conn, "organs", &self->organs, false, err)
        || s_split(conn, "codes", &self->codes, false, err)
        || s_split(conn, "kinds", &self->kinds, false, err)
        || s_split(conn, "file", &self->files, true, err))
        goto failed;
    for (size_t i = 0; i < self->kinds.count; i++) {
        int first, last;
        if (s_months(self->kinds.item[i], 1, &first, &last)) {
            lt_err_set(err, LT_ECONFIG, "--kinds: '%s' is not month, quarter, half, nine_months "
                       "or year", self->kinds.item[i]);
            goto failed;
        }
    }
    self->seed = (uint64_t) seed;
    self->state = (uint64_t) seed;
    self->key = lt_conn_option(conn, "key");
    return 0;
failed:
    s_fini(state_p);
    return -1;
}

//  Start the publishing thread.
static int s_start(void *state, lt_err_t *err)
{
    s_gen_t *self = state;
    if (pthread_create(&self->thread, NULL, s_run, self))
        return lt_err_set(err, LT_EINTERNAL, "cannot start the publishing thread"), -1;
    self->running = true;
    return 0;
}

//  Stop the thread and free everything.
static void s_fini(void **state_p)
{
    s_gen_t *self = *state_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    if (self->running)
        pthread_join(self->thread, NULL);
    free(self->organs.text);
    free(self->codes.text);
    free(self->kinds.text);
    free(self->files.text);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->cond);
    free(self);
    *state_p = NULL;
}

static const lt_connector_ops_t s_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "report-gen",
    .kind = "test",
    .summary = "publishes seeded indicator reports (or report files) into a hub",
    .options = s_options,
    .init = s_init,
    .start = s_start,
    .fini = s_fini,
};

int sim_report_gen_main(int argc, char *argv[])
{
    return lt_conn_main(&s_ops, argc, argv);
}
