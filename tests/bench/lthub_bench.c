/*  lthub-bench: load generator and measurement tool for the relay.

    By default it builds a throw-away hub in a temporary directory (keys,
    config, an lthubd child process) and runs two connectors in this
    process: bench-pub publishes N messages of S bytes (durability on: each
    counts as published only when ACCEPTED, i.e. fsynced), bench-sink takes
    them. Every payload carries its sequence number and send time, so the
    sink measures end-to-end latency and counts what arrived twice or never.
    --kill-broker N SIGKILLs and restarts lthubd N times during the run.
    --backlog queues everything with no sink attached, then reports the
    broker's memory and restart time, then drains. --ledger makes every
    message a document from one of eight agencies of the province to
    another, its key a DocumentId (each agency numbering its documents of
    the day in order), which the ledger records (two events each),
    and reports the ledger afterwards: items per event and whether its
    chain verifies. --documents sends the same documents to a hub whose
    province is another, so that the ledger records none: the difference
    between the two is the ledger's cost.

    Figures: msgs/s and MB/s (10^6 bytes) from the first publish to the last
    arrival, latency p50/p99/p99.9 in ms (publish to arrival, and publish to
    ACCEPTED), lost (accepted, never delivered)
    and duplicates (delivered more than once to the sink).
*/
#include "lt_connector.h"
#include "lt_counting.h"
#include "lt_http_client.h"
#include "lt_id.h"
#include "lt_keys.h"
#include "lt_log.h"
#include "lt_malloc.h"

#include <czmq.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    long messages;            //  --messages
    long size;                //  --size
    long rate;                //  --rate, 0 = as fast as it goes
    long kills;               //  --kill-broker
    long seed;                //  --seed for the kill moments (0 = from the clock)
    long credit;              //  --credit of the sink
    long window;              //  --window of the publisher
    bool json;                //  --json
    bool backlog;             //  --backlog
    bool keep;                //  --keep the temporary directory
    char lthubd[PATH_MAX + 32];   //  lthubd program
    char dir[PATH_MAX];       //  working directory
    char endpoint[128];       //  LTP endpoint
    char admin[64];           //  admin API address of the hub we started
    char keys[PATH_MAX + 8];  //  keys directory
    bool external;            //  --broker given: use a running hub
    bool ledger;              //  --ledger: recorded documents
    bool documents;           //  --documents: the same documents, not recorded
    long inline_max;          //  --inline-max: store/inline_max for lthubd (-1 = its default)
} s_opts_t;

typedef struct {
    uint8_t *arrivals;        //  deliveries per sequence number
    uint8_t *accepted;        //  ACCEPTED per sequence number
    int64_t *latency_us;      //  first-arrival latency per sequence number
    int64_t *sent_us;         //  publish time per sequence number (CLOCK_MONOTONIC)
    int64_t *accept_us;       //  publish-to-ACCEPTED time per sequence number (0: none)
    long arrived;             //  distinct sequence numbers arrived
    long accepted_count;      //  ACCEPTED answers
    long rejected;            //  REJECTED answers
    int64_t first_send_us;    //  first publish
    int64_t last_arrival_us;  //  last first-arrival
    long messages;            //  bound for the arrays
} s_run_t;

static s_run_t s_run;

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  Sink: count the arrival of one sequence number.
static lt_delivery_result_t s_sink_deliver(void *state, const lt_delivery_t *d, lt_err_t *err)
{
    (void) state;
    if (d->size < 16)
        return lt_err_set(err, LT_EINVAL, "bench payload too short"), LT_DELIVERY_FAIL;
    uint64_t seq;
    int64_t sent;
    memcpy(&seq, d->payload, 8);
    memcpy(&sent, d->payload + 8, 8);
    if (seq >= (uint64_t) s_run.messages)
        return LT_DELIVERY_OK;   //  a message from another run
    uint8_t before = __atomic_fetch_add(&s_run.arrivals[seq], 1, __ATOMIC_SEQ_CST);
    if (before == 0) {
        int64_t now = s_now_us();
        s_run.latency_us[seq] = now - sent;
        __atomic_fetch_add(&s_run.arrived, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s_run.last_arrival_us, now, __ATOMIC_SEQ_CST);
    }
    return LT_DELIVERY_OK;
}

static const lt_connector_ops_t s_sink_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "bench-sink",
    .kind = "bench",
    .summary = "benchmark sink",
    .deliver = s_sink_deliver,
};

static const lt_connector_ops_t s_pub_ops = {
    .abi = LT_CONNECTOR_ABI,
    .name = "bench-pub",
    .kind = "bench",
    .summary = "benchmark publisher",
};

//  The upper bound (ms) of the bucket of a JSON histogram (lt_histo_json:
//  cumulative buckets) that holds quantile q; -1 when no data, or above
//  the last bound.
static double s_histo_bound_ms(json_t *histo, double q)
{
    json_t *bounds = json_object_get(histo, "bounds"), *buckets = json_object_get(histo, "buckets");
    json_int_t count = json_integer_value(json_object_get(histo, "count"));
    for (size_t i = 0; count > 0 && i < json_array_size(bounds); i++)
        if ((double) json_integer_value(json_array_get(buckets, i)) >= q * (double) count)
            return json_number_value(json_array_get(bounds, i)) * 1000;
    return -1;
}

//  Publish callback: note the outcome.
static void s_on_published(void *arg, const lt_publish_result_t *result)
{
    uint64_t seq = (uint64_t) (uintptr_t) arg;
    if (result->code == LT_OK) {
        s_run.accepted[seq] = 1;
        s_run.accept_us[seq] = s_now_us() - s_run.sent_us[seq];
        __atomic_fetch_add(&s_run.accepted_count, 1, __ATOMIC_SEQ_CST);
    }
    else
        __atomic_fetch_add(&s_run.rejected, 1, __ATOMIC_SEQ_CST);
}

static pid_t s_spawn_broker(const s_opts_t *o)
{
    char config[PATH_MAX + 16], log[PATH_MAX + 16];
    snprintf(config, sizeof(config), "%s/lthub.cfg", o->dir);
    snprintf(log, sizeof(log), "%s/lthubd.log", o->dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        execl(o->lthubd, "lthubd", "--config", config, (char *) NULL);
        _exit(127);
    }
    return pid;
}

//  Read a /proc/PID/status field in KiB.
static long s_proc_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
    FILE *file = fopen(path, "r");
    long value = -1;
    size_t len = strlen(field);
    while (file && fgets(line, sizeof(line), file))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            value = strtol(line + len + 1, NULL, 10);
    if (file)
        fclose(file);
    return value;
}

//  CPU time (user + system, every thread) a process used so far, in us;
//  -1 if unreadable. Unlike throughput it hardly moves when other work
//  shares the cores, so builds compare on it in a busy machine.
static long long s_proc_cpu_us(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    FILE *file = fopen(path, "r");
    if (!file)
        return -1;
    char *got = fgets(line, sizeof(line), file);
    fclose(file);
    //  Fields after the command name, which may hold spaces: state is 3rd,
    //  utime the 14th and stime the 15th field of the line.
    char *p = got ? strrchr(line, ')') : NULL;
    if (!p)
        return -1;
    unsigned long long ticks[2] = {0, 0};
    int field = 2;
    for (char *save = NULL, *tok = strtok_r(p + 1, " ", &save); tok && field < 15;
         tok = strtok_r(NULL, " ", &save)) {
        field++;
        if (field == 14 || field == 15)
            ticks[field - 14] = strtoull(tok, NULL, 10);
    }
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (long long) ((ticks[0] + ticks[1]) * 1000000ULL / (unsigned long long) hz) : -1;
}

//  Wait until a runtime has a session; returns ms waited or -1.
static long s_wait_connected(lt_conn_t *conn, long timeout_ms)
{
    int64_t start = s_now_us();
    while (!lt_conn_connected(conn)) {
        if (s_now_us() - start > timeout_ms * 1000)
            return -1;
        usleep(2000);
    }
    return (long) ((s_now_us() - start) / 1000);
}

static int s_cmp_long(const void *a, const void *b)
{
    long x = *(const long *) a, y = *(const long *) b;
    return x < y ? -1 : x > y;
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static lt_conn_t *s_connector(const lt_connector_ops_t *ops, const s_opts_t *o)
{
    char credit[32], window[32];
    snprintf(credit, sizeof(credit), "%ld", o->credit);
    snprintf(window, sizeof(window), "%ld", o->window);
    char *args[] = {"--broker", (char *) o->endpoint, "--keys", (char *) o->keys,
                    "--credit", credit, "--window", window, "--workers", "2",
                    "--log-level", "warning"};
    lt_err_t err;
    lt_conn_t *conn = lt_conn_new(ops, 12, args, &err);
    if (!conn || lt_conn_start(conn, &err)) {
        fprintf(stderr, "lthub-bench: %s: %s\n", ops->name, err.detail);
        lt_conn_destroy(&conn);
    }
    return conn;
}

//  Prepare a temporary hub: keys, config, a free port.
static int s_prepare(s_opts_t *o)
{
    snprintf(o->dir, sizeof(o->dir), "/tmp/lthub-bench-XXXXXX");
    if (!mkdtemp(o->dir))
        return -1;
    snprintf(o->keys, sizeof(o->keys), "%s/keys", o->dir);
    lt_err_t err;
    if (lt_keys_broker(o->keys, &err) < 0 || lt_keys_connector(o->keys, "bench-pub", &err) < 0 ||
        lt_keys_connector(o->keys, "bench-sink", &err) < 0) {
        fprintf(stderr, "lthub-bench: %s\n", err.detail);
        return -1;
    }
    zsock_t *probe = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(probe, "tcp://127.0.0.1:*");
    int admin_port = zsock_bind(probe, "tcp://127.0.0.1:*");
    zsock_destroy(&probe);
    snprintf(o->endpoint, sizeof(o->endpoint), "tcp://127.0.0.1:%d", port);
    snprintf(o->admin, sizeof(o->admin), "127.0.0.1:%d", admin_port);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/lthub.cfg", o->dir);
    FILE *cfg = fopen(path, "w");
    if (!cfg)
        return -1;
    fprintf(cfg,
            "broker\n    endpoint = \"%s\"\n    data = \"%s/data\"\n    keys = \"%s\"\n"
            "    province = \"%s\"\n"
            "admin\n    listen = \"%s\"\nlog\n    level = \"warning\"\n"
            "routes\n    route\n        kind = \"document\"\n        match = \"BENCH\"\n"
            "        to = \"bench-sink\"\n    route\n        kind = \"document\"\n"
            "        match = \"*.H26\"\n        to = \"bench-sink\"\n"
            "connectors\n    bench-pub\n    bench-sink\n",
            o->endpoint, o->dir, o->keys, o->documents ? "X99" : "H26", o->admin);
    if (o->inline_max >= 0)
        fprintf(cfg, "store\n    inline_max = %ld\n", o->inline_max);
    fclose(cfg);
    return 0;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: lthub-bench [options]\n"
            "  --messages N      messages to relay (default 100000)\n"
            "  --size BYTES      payload size (default 1024, at least 16)\n"
            "  --rate R          messages/s offered, 0 = as fast as it goes (default 0)\n"
            "  --kill-broker N   SIGKILL and restart lthubd N times, at random moments\n"
            "  --seed S          seed for those moments (default: from the clock)\n"
            "  --backlog         queue all with no sink, report RSS and restart time, drain\n"
            "  --credit N        sink credit (default 256)\n"
            "  --window N        publisher window (default 4096)\n"
            "  --lthubd PATH     lthubd program (default: beside this program's build)\n"
            "  --broker EP --keys DIR   use a running hub (route BENCH to bench-sink)\n"
            "  --ledger          every message a document the ledger records (2 events)\n"
            "  --documents       the same documents, in a hub whose province is another:\n"
            "                    the ledger records none (the figure --ledger compares with)\n"
            "  --keep            keep the temporary directory\n"
            "  --inline-max N    store/inline_max of lthubd: payloads up to N bytes stay in\n"
            "                    the database, larger ones go to segment files\n"
            "  --json            print one JSON object\n");
}

int main(int argc, char *argv[])
{
    s_opts_t o = {
        .messages = 100000, .size = 1024, .credit = 256, .window = 4096, .inline_max = -1};
    lt_log_init("lthub-bench");
    lt_log_set_level(LT_LOG_WARNING);
    lt_malloc_setup();   //  as lt_conn_main does for the connectors it stands for
    char self[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(o.lthubd, sizeof(o.lthubd), "%s/../broker/lthubd", self);
    if (access(o.lthubd, X_OK) != 0)
        snprintf(o.lthubd, sizeof(o.lthubd), "%s/lthubd", self);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            s_usage(stdout);
            return 0;
        }
        else if (!strcmp(a, "--version")) {
            printf("lthub-bench %s\n", LT_VERSION);
            return 0;
        }
        else if (!strcmp(a, "--json"))
            o.json = true;
        else if (!strcmp(a, "--backlog"))
            o.backlog = true;
        else if (!strcmp(a, "--keep"))
            o.keep = true;
        else if (!strcmp(a, "--ledger"))
            o.ledger = true;
        else if (!strcmp(a, "--documents"))
            o.documents = true;
        else if (v && !strcmp(a, "--messages"))
            o.messages = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--size"))
            o.size = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--rate"))
            o.rate = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--kill-broker"))
            o.kills = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--seed"))
            o.seed = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--credit"))
            o.credit = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--window"))
            o.window = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--inline-max"))
            o.inline_max = strtol(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--lthubd"))
            snprintf(o.lthubd, sizeof(o.lthubd), "%s", argv[++i]);
        else if (v && !strcmp(a, "--broker")) {
            snprintf(o.endpoint, sizeof(o.endpoint), "%s", argv[++i]);
            o.external = true;
        }
        else if (v && !strcmp(a, "--keys"))
            snprintf(o.keys, sizeof(o.keys), "%s", argv[++i]);
        else {
            fprintf(stderr, "lthub-bench: unknown or incomplete option '%s'\n", a);
            s_usage(stderr);
            return 2;
        }
    }
    if (o.messages < 1 || o.size < 16 || o.rate < 0 || o.kills < 0 || o.credit < 1 ||
        o.window < 1 || (o.external && (o.kills || o.backlog || !*o.keys)) ||
        (o.ledger && o.documents)) {
        fprintf(stderr, "lthub-bench: bad option values (size >= 16; --broker needs --keys and "
                        "excludes --kill-broker and --backlog; --ledger excludes --documents)\n");
        return 2;
    }
    zsys_handler_set(NULL);
    signal(SIGPIPE, SIG_IGN);
    s_run.messages = o.messages;
    s_run.arrivals = calloc((size_t) o.messages, 1);
    s_run.accepted = calloc((size_t) o.messages, 1);
    s_run.latency_us = calloc((size_t) o.messages, sizeof(int64_t));
    s_run.sent_us = calloc((size_t) o.messages, sizeof(int64_t));
    s_run.accept_us = calloc((size_t) o.messages, sizeof(int64_t));
    pid_t broker = 0;
    if (!o.external) {
        if (s_prepare(&o)) {
            fprintf(stderr, "lthub-bench: cannot prepare %s\n", o.dir);
            return 1;
        }
        broker = s_spawn_broker(&o);
    }
    lt_conn_t *sink = o.backlog ? NULL : s_connector(&s_sink_ops, &o);
    lt_conn_t *pub = s_connector(&s_pub_ops, &o);
    if ((!o.backlog && !sink) || !pub || s_wait_connected(pub, 10000) < 0) {
        fprintf(stderr, "lthub-bench: cannot connect to %s (see %s/lthubd.log)\n", o.endpoint,
                o.dir);
        lt_conn_destroy(&pub);
        lt_conn_destroy(&sink);
        if (broker) {
            kill(broker, SIGTERM);
            waitpid(broker, NULL, 0);
        }
        return 1;
    }
    if (sink)
        s_wait_connected(sink, 10000);

    char runid[LT_ID_LEN + 1];
    lt_id_new(runid);
    char today[16];
    time_t now_s = time(NULL);
    struct tm tm_now;
    strftime(today, sizeof(today), "%Y/%m/%d", localtime_r(&now_s, &tm_now));
    uint8_t *payload = malloc((size_t) o.size);
    for (long i = 16; i < o.size; i++)
        payload[i] = (uint8_t) (i * 31 + 7);
    //  Kill moments: random message counts between 5% and 95% of the run.
    long *kill_at = calloc((size_t) o.kills + 1, sizeof(long));
    srand48(o.seed ? o.seed : (long) s_now_us());
    for (long k = 0; k < o.kills; k++)
        kill_at[k] = o.messages / 20 + (long) (drand48() * (double) o.messages * 0.9);
    qsort(kill_at, (size_t) o.kills, sizeof(long), s_cmp_long);
    long restarts = 0;
    s_run.first_send_us = s_now_us();
    for (long seq = 0; seq < o.messages; seq++) {
        if (o.rate > 0) {
            int64_t due = s_run.first_send_us + (int64_t) (seq * 1000000.0 / o.rate);
            int64_t now = s_now_us();
            if (due > now)
                usleep((useconds_t) (due - now));
        }
        while (restarts < o.kills && seq >= kill_at[restarts]) {
            kill(broker, SIGKILL);
            waitpid(broker, NULL, 0);
            broker = s_spawn_broker(&o);
            restarts++;
        }
        uint64_t useq = (uint64_t) seq;
        int64_t now = s_now_us();
        memcpy(payload, &useq, 8);
        memcpy(payload + 8, &now, 8);
        s_run.sent_us[seq] = now;
        //  Documents (--ledger, --documents) get a DocumentId as agencies
        //  number theirs: eight senders in turn, each numbering its own in
        //  order, dated today. Other messages keep the key the relay's
        //  figures were measured with.
        char key[128], organ[16];
        snprintf(organ, sizeof(organ), "000.00.%02ld.H26", 20 + seq % 8);
        if (o.ledger || o.documents)
            snprintf(key, sizeof(key), "%s,%s,%ld/BENCH-%.13s", organ, today, seq / 8 + 1,
                     runid + 24);
        else
            snprintf(key, sizeof(key), "bench-%.13s-%ld", runid + 24, seq);
        lt_envelope_t *env = lt_envelope_new();
        lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
        lt_envelope_set_key(env, key);
        lt_envelope_set_btype(env, "new");
        if (o.ledger || o.documents) {   //  out for the sender, in for 000.00.13.H26
            lt_envelope_set_sender(env, organ);
            lt_envelope_set_signature(env, LT_SIG_VALID);
            lt_envelope_add_recipient(env, "000.00.13.H26");
        }
        else
            lt_envelope_add_recipient(env, "BENCH");
        lt_envelope_set_payload_facts(env, payload, (size_t) o.size);
        if (lt_conn_publish_async(pub, &env, payload, (size_t) o.size, s_on_published,
                                  (void *) (uintptr_t) seq)) {
            fprintf(stderr, "lthub-bench: publisher stopped\n");
            break;
        }
    }
    //  Wait for every answer, then for every arrival.
    int64_t deadline = s_now_us() + (120 + o.messages / 1000) * 1000000LL;
    while (__atomic_load_n(&s_run.accepted_count, __ATOMIC_SEQ_CST) +
                   __atomic_load_n(&s_run.rejected, __ATOMIC_SEQ_CST) <
               o.messages &&
           s_now_us() < deadline)
        usleep(1000);
    int64_t published_us = s_now_us();
    long rss_backlog = -1, peak_backlog = -1, restart_ms = -1;
    if (o.backlog) {
        rss_backlog = s_proc_kib(broker, "VmRSS");
        peak_backlog = s_proc_kib(broker, "VmHWM");
        //  Restart time: from the SIGKILL until a connector's HELLO is
        //  answered by the new broker (store opened, queue counted).
        int64_t t0 = s_now_us();
        kill(broker, SIGKILL);
        waitpid(broker, NULL, 0);
        broker = s_spawn_broker(&o);
        s_run.first_send_us = s_now_us();   //  the drain is timed from here
        sink = s_connector(&s_sink_ops, &o);
        long waited = sink ? s_wait_connected(sink, 30000) : -1;
        restart_ms = waited < 0 ? -1 : (long) ((s_now_us() - t0) / 1000);
    }
    while (__atomic_load_n(&s_run.arrived, __ATOMIC_SEQ_CST) <
               __atomic_load_n(&s_run.accepted_count, __ATOMIC_SEQ_CST) &&
           s_now_us() < deadline)
        usleep(1000);
    usleep(200 * 1000);   //  let late duplicates show up
    long lost = 0, duplicates = 0, arrived = 0;
    int64_t *lat = malloc((size_t) o.messages * sizeof(int64_t));
    for (long i = 0; i < o.messages; i++) {
        if (s_run.accepted[i] && !s_run.arrivals[i])
            lost++;
        if (s_run.arrivals[i] > 1)
            duplicates += s_run.arrivals[i] - 1;
        if (s_run.arrivals[i])
            lat[arrived++] = s_run.latency_us[i];
    }
    //  LTHUB_BENCH_LATENCIES=FILE: each arrived message's sequence number,
    //  latency in microseconds, publish time (CLOCK_MONOTONIC, in
    //  microseconds) and time from publish to ACCEPTED (microseconds, 0 if
    //  it never came), in publish order: when the tail happens and on which
    //  side of the store, on the clock of `perf record -k CLOCK_MONOTONIC`.
    const char *dump = getenv("LTHUB_BENCH_LATENCIES");
    FILE *df = dump && *dump ? fopen(dump, "w") : NULL;
    for (long i = 0; df && i < o.messages; i++)
        if (s_run.arrivals[i])
            fprintf(df, "%ld %lld %lld %lld\n", i, (long long) s_run.latency_us[i],
                    (long long) s_run.sent_us[i], (long long) s_run.accept_us[i]);
    if (df)
        fclose(df);
    qsort(lat, (size_t) arrived, sizeof(int64_t), s_cmp);
    double p50 = arrived ? lat[(arrived - 1) * 50 / 100] / 1000.0 : 0;
    double p99 = arrived ? lat[(arrived - 1) * 99 / 100] / 1000.0 : 0;
    double p999 = arrived ? lat[(arrived - 1) * 999 / 1000] / 1000.0 : 0;
    //  Publish to ACCEPTED: the way in and the store's commit and sync,
    //  without the way out to the sink.
    long acks = 0;
    for (long i = 0; i < o.messages; i++)
        if (s_run.accepted[i])
            lat[acks++] = s_run.accept_us[i];
    qsort(lat, (size_t) acks, sizeof(int64_t), s_cmp);
    double a50 = acks ? lat[(acks - 1) * 50 / 100] / 1000.0 : 0;
    double a99 = acks ? lat[(acks - 1) * 99 / 100] / 1000.0 : 0;
    double a999 = acks ? lat[(acks - 1) * 999 / 1000] / 1000.0 : 0;
    double seconds = (s_run.last_arrival_us - s_run.first_send_us) / 1e6;
    if (seconds <= 0)
        seconds = (published_us - s_run.first_send_us) / 1e6;
    double mps = arrived / seconds, mbps = arrived * (double) o.size / seconds / 1e6;
    long rss = broker ? s_proc_kib(broker, "VmRSS") : -1;
    long long cpu_us = broker ? s_proc_cpu_us(broker) : -1;
    double cpu_per_msg = cpu_us >= 0 && arrived ? (double) cpu_us / arrived : -1;
    //  Group commit figures from the broker's admin API (our own hub only).
    long long commits = 0, writes = 0, commit_us = 0, syncs = 0, sync_us = 0, log_restarts = 0,
              log_restart_max = 0, begin_wait_max = 0;
    double confirm50 = -1, confirm99 = -1;   //  lthubd's own part of the ACCEPTED wait
    if (*o.admin) {
        char url[96];
        snprintf(url, sizeof(url), "http://%s", o.admin);
        lt_http_client_t *client = lt_http_client_new(url);
        lt_http_reply_t reply = {0};
        lt_err_t herr;
        if (client && lt_http_client_get(client, "/api/v1/stats", NULL, 0, &reply, &herr) == LT_OK) {
            json_t *stats = json_loads(reply.body, 0, NULL);
            json_t *b = json_object_get(stats, "broker");
            commits = json_integer_value(json_object_get(b, "commits"));
            writes = json_integer_value(json_object_get(b, "committed"));
            commit_us = json_integer_value(json_object_get(b, "commit_us_total"));
            syncs = json_integer_value(json_object_get(b, "syncs"));
            sync_us = json_integer_value(json_object_get(b, "sync_us_total"));
            log_restarts = json_integer_value(json_object_get(b, "log_restarts"));
            log_restart_max = json_integer_value(json_object_get(b, "log_restart_us_max"));
            begin_wait_max = json_integer_value(json_object_get(b, "begin_wait_us_max"));
            json_t *confirm =
                json_object_get(json_object_get(stats, "histograms"), "confirm_seconds");
            confirm50 = s_histo_bound_ms(confirm, 0.5);
            confirm99 = s_histo_bound_ms(confirm, 0.99);
            json_decref(stats);
        }
        lt_http_reply_free(&reply);
        lt_http_client_destroy(&client);
    }
    long hwm = broker ? s_proc_kib(broker, "VmHWM") : -1;
    //  The ledger after the run: items per event, from ledger_sum, and the chain.
    long long ledger_out = -1, ledger_in = -1, ledger_rows = -1;
    int chain = -2;
    if (o.ledger && !o.external) {
        char store[PATH_MAX + 32], why[512];
        snprintf(store, sizeof(store), "%s/data/lthub.db", o.dir);
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_busy_timeout(db, 5000);
            const char *sql[] = {"SELECT SUM(n) FROM ledger_sum WHERE event = 'doc_out'",
                                 "SELECT SUM(n) FROM ledger_sum WHERE event = 'doc_in'",
                                 "SELECT COUNT(*) FROM ledger"};
            long long *out[] = {&ledger_out, &ledger_in, &ledger_rows};
            for (int q = 0; q < 3; q++) {
                sqlite3_stmt *stmt = NULL;
                if (sqlite3_prepare_v2(db, sql[q], -1, &stmt, NULL) == SQLITE_OK &&
                    sqlite3_step(stmt) == SQLITE_ROW)
                    *out[q] = sqlite3_column_int64(stmt, 0);
                sqlite3_finalize(stmt);
            }
        }
        sqlite3_close(db);
        uint64_t rows = 0;
        chain = lt_counting_verify(store, &rows, why, sizeof(why));
        if (chain)
            fprintf(stderr, "lthub-bench: ledger: %s\n", why);
    }
    if (o.json) {
        printf("{\"messages\":%ld,\"size\":%ld,\"rate\":%ld,\"msgs_per_s\":%.0f,"
               "\"mb_per_s\":%.2f,\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f},"
               "\"accept_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f},"
               "\"lost\":%ld,\"duplicates\":%ld,\"accepted\":%ld,\"rejected\":%ld,"
               "\"arrived\":%ld,\"broker_restarts\":%ld,\"broker_rss_kib\":%ld,"
               "\"broker_peak_rss_kib\":%ld,\"commits\":%lld,\"writes_per_commit\":%.1f,"
               "\"commit_us_avg\":%.1f,\"broker_cpu_us_per_msg\":%.1f,\"log_restarts\":%lld,"
               "\"log_restart_ms_max\":%.1f,\"begin_wait_ms_max\":%.1f,"
               "\"broker_confirm_ms\":{\"p50_le\":%g,\"p99_le\":%g}",
               o.messages, o.size, o.rate, mps, mbps, p50, p99, p999, a50, a99, a999, lost,
               duplicates,
               s_run.accepted_count, s_run.rejected, arrived, restarts, rss, hwm, commits,
               commits ? (double) writes / commits : 0, commits ? (double) commit_us / commits : 0,
               cpu_per_msg, log_restarts, log_restart_max / 1000.0, begin_wait_max / 1000.0,
               confirm50, confirm99);
        if (o.backlog)
            printf(",\"backlog_rss_kib\":%ld,\"backlog_peak_rss_kib\":%ld,\"restart_ms\":%ld",
                   rss_backlog, peak_backlog, restart_ms);
        if (o.ledger)
            printf(",\"ledger_doc_out\":%lld,\"ledger_doc_in\":%lld,\"ledger_rows\":%lld,"
                   "\"ledger_chain\":\"%s\"",
                   ledger_out, ledger_in, ledger_rows,
                   chain == 0 ? "ok" : chain == 1 ? "broken" : "unreadable");
        printf("}\n");
    }
    else {
        printf("relayed %ld of %ld messages of %ld bytes (%s, rate %s) in %.2f s\n", arrived,
               o.messages, o.size, "fsync before ACCEPTED", o.rate ? "limited" : "unlimited",
               seconds);
        printf("throughput  %.0f msgs/s  %.2f MB/s\n", mps, mbps);
        printf("latency     p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms\n", p50, p99, p999);
        printf("accepted    p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms (publish to ACCEPTED)\n", a50,
               a99, a999);
        if (confirm99 > 0)
            printf("in lthubd   p50 <= %g ms  p99 <= %g ms (PUBLISH read to ACCEPTED sent: its"
                   " confirm histogram's bucket bounds)\n",
                   confirm50, confirm99);
        printf("lost %ld  duplicates %ld  rejected %ld  broker restarts %ld\n", lost, duplicates,
               s_run.rejected, restarts);
        printf("broker RSS  %ld KiB now, %ld KiB peak\n", rss, hwm);
        if (cpu_per_msg >= 0)
            printf("broker CPU  %.1f us per message relayed (user + system, every thread%s)\n",
                   cpu_per_msg, restarts ? ", since the last restart" : "");
        if (commits)
            printf("store       %lld group commits, %.1f writes each, %.1f us each\n", commits,
                   (double) writes / commits, (double) commit_us / commits);
        if (syncs)
            printf("log syncs   %lld, %.1f us each (behind the commits); %lld restarts of the log,"
                   " the longest %.1f ms; the longest wait to begin a group %.1f ms\n",
                   syncs, (double) sync_us / syncs, log_restarts, log_restart_max / 1000.0,
                   begin_wait_max / 1000.0);
        if (o.ledger)
            printf("ledger      %lld doc_out, %lld doc_in items, %lld rows, chain %s\n",
                   ledger_out, ledger_in, ledger_rows,
                   chain == 0 ? "ok" : chain == 1 ? "BROKEN" : "unreadable");
        if (o.backlog)
            printf("backlog     broker RSS %ld KiB (peak %ld KiB) with %ld queued; restart %ld ms\n",
                   rss_backlog, peak_backlog, s_run.accepted_count, restart_ms);
    }
    lt_conn_destroy(&pub);
    lt_conn_destroy(&sink);
    if (broker) {
        kill(broker, SIGTERM);
        waitpid(broker, NULL, 0);
    }
    if (!o.external && !o.keep) {
        zdir_t *tmp = zdir_new(o.dir, NULL);
        if (tmp) {
            zdir_remove(tmp, true);
            zdir_destroy(&tmp);
        }
    }
    else if (!o.external)
        fprintf(stderr, "lthub-bench: kept %s\n", o.dir);
    free(lat);
    free(kill_at);
    free(payload);
    free(s_run.arrivals);
    free(s_run.accepted);
    free(s_run.latency_us);
    free(s_run.sent_us);
    free(s_run.accept_us);
    return lost || duplicates ? 3 : 0;
}
