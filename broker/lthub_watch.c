/*  lthub_watch: watching a running hub. `lthub top` refreshes one line per
    connector with rates computed from two readings of /api/v1/stats;
    `lthub alerts` lists the active alerts and exits 3 while any is active,
    so that monitoring scripts can call it as it is. */
#include "lthub_cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void lthub_opts_defaults(lthub_opts_t *opts)
{
    const char *env = getenv("LTHUB_ADMIN");
    snprintf(opts->admin, sizeof(opts->admin), "%s", env ? env : "127.0.0.1:8470");
    env = getenv("LTHUB_TOKEN_FILE");
    snprintf(opts->token_file, sizeof(opts->token_file), "%s", env ? env : "");
    opts->limit = 50;
}

bool lthub_opts_take(lthub_opts_t *opts, int argc, char **argv, int *i)
{
    if (strcmp(argv[*i], "--json") == 0)
        opts->json = true;
    else if (strcmp(argv[*i], "--admin") == 0 && *i + 1 < argc)
        snprintf(opts->admin, sizeof(opts->admin), "%s", argv[++*i]);
    else if (strcmp(argv[*i], "--token-file") == 0 && *i + 1 < argc)
        snprintf(opts->token_file, sizeof(opts->token_file), "%s", argv[++*i]);
    else
        return false;
    return true;
}

//  Integer field as long long.
static long long s_int(json_t *obj, const char *key)
{
    return (long long) json_integer_value(json_object_get(obj, key));
}

//  Connector object by name in a stats reply, or NULL.
static json_t *s_find(json_t *stats, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(stats, "connectors"), i, c)
    if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
        return c;
    return NULL;
}

//  Per connector rates between two stats readings dt seconds apart.
static json_t *s_rates(json_t *before, json_t *after, double dt)
{
    json_t *list = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(after, "connectors"), i, c)
    {
        json_t *p = s_find(before, json_string_value(json_object_get(c, "name")));
        double in = p ? (double) (s_int(c, "published") - s_int(p, "published")) / dt : 0;
        double out = p ? (double) (s_int(c, "done") - s_int(p, "done")) / dt : 0;
        double bin = p ? (double) (s_int(c, "bytes_in") - s_int(p, "bytes_in")) / dt : 0;
        double bout = p ? (double) (s_int(c, "bytes_out") - s_int(p, "bytes_out")) / dt : 0;
        double retry = p ? (double) (s_int(c, "retried") - s_int(p, "retried")) / dt : 0;
        json_array_append_new(
            list, json_pack("{s:s, s:b, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I}", "name",
                            json_string_value(json_object_get(c, "name")), "connected",
                            json_is_true(json_object_get(c, "connected")), "in_per_s", in,
                            "out_per_s", out, "in_bytes_per_s", bin, "out_bytes_per_s", bout,
                            "retries_per_s", retry, "queue",
                            (json_int_t) (s_int(c, "ready") + s_int(c, "waiting")), "inflight",
                            (json_int_t) s_int(c, "inflight"), "dead",
                            (json_int_t) s_int(c, "dead"), "done", (json_int_t) s_int(c, "done")));
    }
    return list;
}

//  Monotonic seconds.
static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t s_interrupted = 0;   //  SIGINT or SIGTERM seen

//  Note an interrupt; the loop ends at its next step.
static void s_on_signal(int sig)
{
    (void) sig;
    s_interrupted = 1;
}

//  One screen of lthub top.
static void s_top_print(json_t *after, json_t *rates, json_t *alerts, bool clear)
{
    if (clear)
        printf("\033[H\033[2J");
    json_t *b = json_object_get(after, "broker"), *st = json_object_get(after, "store");
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
    printf("lthub top - %s  broker %s up %llds  store %lld messages, %.1f MB  queued %lld  dead %lld"
           "  alerts %zu\n\n",
           when, json_string_value(json_object_get(b, "name")), s_int(b, "uptime_ms") / 1000,
           s_int(st, "messages"), (double) s_int(st, "size_bytes") / 1e6,
           s_int(st, "ready") + s_int(st, "waiting"), s_int(st, "dead"),
           json_array_size(json_object_get(alerts, "alerts")));
    printf("%-12s %-4s %9s %9s %10s %10s %8s %7s %6s %6s\n", "CONNECTOR", "UP", "IN/S", "OUT/S",
           "IN KB/S", "OUT KB/S", "RETRY/S", "QUEUED", "INFL", "DEAD");
    size_t i;
    json_t *r;
    json_array_foreach(rates, i, r)
    {
        printf("%-12s %-4s %9.1f %9.1f %10.1f %10.1f %8.1f %7lld %6lld %6lld\n",
               json_string_value(json_object_get(r, "name")),
               json_is_true(json_object_get(r, "connected")) ? "yes" : "NO",
               json_real_value(json_object_get(r, "in_per_s")),
               json_real_value(json_object_get(r, "out_per_s")),
               json_real_value(json_object_get(r, "in_bytes_per_s")) / 1024,
               json_real_value(json_object_get(r, "out_bytes_per_s")) / 1024,
               json_real_value(json_object_get(r, "retries_per_s")), s_int(r, "queue"),
               s_int(r, "inflight"), s_int(r, "dead"));
    }
    json_array_foreach(json_object_get(alerts, "alerts"), i, r)
    printf("%s ALERT %s: %s\n", i == 0 ? "\n" : "", json_string_value(json_object_get(r, "kind")),
           json_string_value(json_object_get(r, "message")));
    fflush(stdout);
}

int lthub_top_main(int argc, char **argv)
{
    lthub_opts_t o = {0};
    lthub_opts_defaults(&o);
    double interval = 1;
    long count = 0;   //  0 = until interrupted
    for (int i = 1; i < argc; i++) {
        if (lthub_opts_take(&o, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--once") == 0)
            count = 1;
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            char *end = NULL;
            count = strtol(argv[++i], &end, 10);
            //  0 would mean "until interrupted": a typo must not.
            if (!*argv[i] || *end || count <= 0) {
                fprintf(stderr, "lthub top: --count needs a positive number, not '%s'\n",
                        argv[i]);
                return LTHUB_EXIT_USAGE;
            }
        }
        else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
            char *end = NULL;
            interval = strtod(argv[++i], &end);
            if (!*argv[i] || *end || !(interval > 0)) {
                fprintf(stderr,
                        "lthub top: --interval needs a positive number of seconds, not '%s'\n",
                        argv[i]);
                return LTHUB_EXIT_USAGE;
            }
        }
        else {
            bool help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: lthub top [--once | --count N] [--interval SECONDS] [--json]"
                    " [--admin ADDRESS:PORT]\n"
                    "  per connector rates (messages and KB per second in and out, retries),\n"
                    "  queues, in flight, dead letters and alerts, refreshed every interval\n");
            return help ? LTHUB_EXIT_OK : LTHUB_EXIT_USAGE;
        }
    }
    if (interval < 0.1 || interval > 3600) {
        fprintf(stderr, "lthub top: --interval must be between 0.1 and 3600 seconds\n");
        return LTHUB_EXIT_USAGE;
    }
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    json_t *before = lthub_api_call(&o, "GET", "/api/v1/stats");
    if (!before)
        return LTHUB_EXIT_FAIL;
    double before_at = s_now();
    int code = LTHUB_EXIT_OK;
    bool tty = isatty(STDOUT_FILENO) && !o.json;
    for (long n = 0; !s_interrupted && (count == 0 || n < count); n++) {
        usleep((useconds_t) (interval * 1e6));
        if (s_interrupted)
            break;
        json_t *after = lthub_api_call(&o, "GET", "/api/v1/stats");
        json_t *alerts = after ? lthub_api_call(&o, "GET", "/api/v1/alerts") : NULL;
        if (!after || !alerts) {
            json_decref(after);
            code = LTHUB_EXIT_FAIL;
            break;
        }
        double after_at = s_now();
        json_t *rates = s_rates(before, after, after_at - before_at);
        if (o.json) {
            json_t *out = json_pack("{s:f, s:O, s:O, s:O}", "interval_s", after_at - before_at,
                                    "connectors", rates, "store", json_object_get(after, "store"),
                                    "alerts", json_object_get(alerts, "alerts"));
            char *text = json_dumps(out, JSON_COMPACT);
            printf("%s\n", text);
            fflush(stdout);
            free(text);
            json_decref(out);
        }
        else
            s_top_print(after, rates, alerts, tty && count != 1);
        json_decref(rates);
        json_decref(alerts);
        json_decref(before);
        before = after;
        before_at = after_at;
    }
    json_decref(before);
    return code;
}

int lthub_alerts_main(int argc, char **argv)
{
    lthub_opts_t o = {0};
    lthub_opts_defaults(&o);
    for (int i = 1; i < argc; i++) {
        if (lthub_opts_take(&o, argc, argv, &i))
            continue;
        bool help = strcmp(argv[i], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: lthub alerts [--json] [--admin ADDRESS:PORT]\n"
                "  active alerts; exit 0 when none, 3 when some are active, 1 when the hub\n"
                "  cannot be asked\n");
        return help ? LTHUB_EXIT_OK : LTHUB_EXIT_USAGE;
    }
    json_t *reply = lthub_api_call(&o, "GET", "/api/v1/alerts");
    if (!reply)
        return LTHUB_EXIT_FAIL;
    json_t *list = json_object_get(reply, "alerts");
    if (o.json) {
        char *text = json_dumps(reply, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
    }
    else if (json_array_size(list) == 0)
        printf("no alerts\n");
    else {
        printf("%-18s %-9s %-13s %s\n", "KIND", "SEVERITY", "WHERE", "WHAT");
        size_t i;
        json_t *a;
        json_array_foreach(list, i, a)
        {
            //  A connector's alert names it, an agency's the agency.
            const char *where = json_string_value(json_object_get(a, "connector"));
            if (!where)
                where = json_string_value(json_object_get(a, "agency"));
            const char *kind = json_string_value(json_object_get(a, "kind"));
            const char *severity = json_string_value(json_object_get(a, "severity"));
            const char *message = json_string_value(json_object_get(a, "message"));
            printf("%-18s %-9s %-13s %s\n", kind ? kind : "?", severity ? severity : "?",
                   where ? where : "-", message ? message : "");
        }
    }
    int code = json_array_size(list) ? LTHUB_EXIT_ALERTS : LTHUB_EXIT_OK;
    json_decref(reply);
    return code;
}
