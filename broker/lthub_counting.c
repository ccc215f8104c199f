/*  lthub_counting: the counting subcommands, which read the store file
    directly (read-only, so they work whether lthubd runs or not):

        lthub ledger verify     walk the ledger's hash chain
        lthub indicators        criterion 7.1 indicators of a period
        lthub evidence          the items behind one indicator (CSV + manifest)
        lthub report submit     build a report now and have lthubd send it
                                (over the admin API, bearer token)

    The store, the indicator definitions, the agency directory and the
    calendar come from lthubd's config (--config, default $LTHUB_CONFIG or
    /etc/lthub/lthub.cfg); --store names another store file. Exit status
    as every lthub command (0 done, 1 failed, 2 wrong arguments), except
    ledger verify: 1 the ledger does not verify, 2 usage or a store it
    cannot read (docs/indicators.md).
*/
#include "lt_config.h"
#include "lt_counting.h"
#include "lt_http_client.h"
#include "lthub_cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Options shared by the subcommands.
typedef struct {
    const char *config;      //  lthubd config file
    const char *store;       //  store file (overrides the config's)
    const char *period;      //  --period
    const char *agency;      //  --agency
    const char *format;      //  --format table|json|csv
    const char *indicator;   //  --indicator
    const char *out;         //  --out
} s_opts_t;

static int s_parse(int argc, char **argv, s_opts_t *o, const char *usage)
{
    const char *env = getenv("LTHUB_CONFIG");
    o->config = env ? env : "/etc/lthub/lthub.cfg";
    o->format = "table";
    o->agency = "";
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--config") == 0)
            slot = &o->config;
        else if (strcmp(argv[i], "--store") == 0)
            slot = &o->store;
        else if (strcmp(argv[i], "--period") == 0)
            slot = &o->period;
        else if (strcmp(argv[i], "--agency") == 0)
            slot = &o->agency;
        else if (strcmp(argv[i], "--format") == 0)
            slot = &o->format;
        else if (strcmp(argv[i], "--indicator") == 0)
            slot = &o->indicator;
        else if (strcmp(argv[i], "--out") == 0)
            slot = &o->out;
        else if (strcmp(argv[i], "--json") == 0) {
            o->format = "json";
            continue;
        }
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: %s\n"
                   "  --config FILE   lthubd config (default $LTHUB_CONFIG or /etc/lthub/lthub.cfg)\n"
                   "  --store FILE    read this store file instead of the config's\n"
                   "periods: 2026-09 (month), 2026-Q3, 2026-H1, 2026-9M (nine months), 2026\n",
                   usage);
            exit(0);
        }
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "lthub: unknown or incomplete argument '%s'\nusage: %s\n", argv[i],
                    usage);
            return -1;
        }
        *slot = argv[++i];
    }
    return 0;
}

//  Load the config and the counting files; NULL (message printed) on failure.
static lt_counting_t *s_load(const s_opts_t *o, char *store, size_t size)
{
    lt_err_t err;
    lt_config_t *config = lt_config_load(o->config, NULL, &err);
    if (!config) {
        fprintf(stderr, "lthub: %s\n", err.detail);
        return NULL;
    }
    lt_counting_t *counting = lt_counting_load(lt_config_settings(config), &err);
    if (!counting)
        fprintf(stderr, "lthub: %s\n", err.detail);
    if (o->store)
        snprintf(store, size, "%s", o->store);
    else
        lt_counting_store_path(lt_config_settings(config), store, size);
    lt_config_destroy(&config);
    return counting;
}

//  The current quarter, for a default --period.
static void s_current(bool calendar, char *out, size_t size)
{
    lt_period_t p;
    lt_period_of_day(LT_PERIOD_QUARTER, lt_period_day((int64_t) time(NULL) * 1000), calendar, &p);
    snprintf(out, size, "%s", p.name);
}

int lthub_ledger_main(int argc, char **argv)
{
    const char *usage = "lthub ledger verify [--config FILE | --store FILE]";
    s_opts_t o = {0};
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
            printf("usage: %s\n", usage);
            return 0;
        }
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    if (s_parse(argc - 1, argv + 1, &o, usage))
        return 2;
    char store[1024];
    if (o.store)
        snprintf(store, sizeof(store), "%s", o.store);
    else {
        lt_err_t err;
        lt_config_t *config = lt_config_load(o.config, NULL, &err);
        if (!config) {
            fprintf(stderr, "lthub: %s\n", err.detail);
            return 2;
        }
        lt_counting_store_path(lt_config_settings(config), store, sizeof(store));
        lt_config_destroy(&config);
    }
    uint64_t rows = 0;
    char why[512] = "";
    int rc = lt_counting_verify(store, &rows, why, sizeof(why));
    if (rc == 0) {
        printf("ledger OK: %llu rows chained\n", (unsigned long long) rows);
        return 0;
    }
    if (rc == 1) {
        printf("ledger BROKEN: %s\n", why);
        return 1;
    }
    fprintf(stderr, "lthub: %s\n", why);
    return 2;
}

//  Print one agency's indicators as a table or CSV rows.
static void s_print(json_t *block, const char *format, bool header)
{
    const char *agency = json_string_value(json_object_get(block, "agency"));
    const char *aname = json_string_value(json_object_get(block, "agency_name"));
    size_t i;
    json_t *ind;
    if (strcmp(format, "csv") == 0) {
        if (header)
            printf("agency,code,name,label,numerator,denominator,value,target,points,max_points,"
                   "status\n");
        json_array_foreach(json_object_get(block, "indicators"), i, ind)
        {
            json_t *v = json_object_get(ind, "value"), *pts = json_object_get(ind, "points");
            const char *texts[] = {*agency ? agency : "province",
                                   json_string_value(json_object_get(ind, "code")),
                                   json_string_value(json_object_get(ind, "name")),
                                   json_string_value(json_object_get(ind, "label"))};
            for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++)
                lt_counting_csv(stdout, texts[t] ? texts[t] : "", false);
            printf("%lld,%lld,", (long long) json_integer_value(json_object_get(ind, "numerator")),
                   (long long) json_integer_value(json_object_get(ind, "denominator")));
            if (json_is_null(v))
                printf(",");
            else
                printf("%.2f,", json_real_value(v));
            printf("%g,", json_real_value(json_object_get(ind, "target")));
            if (json_is_null(pts))
                printf(",");
            else
                printf("%.2f,", json_real_value(pts));
            printf("%g,%s\n", json_real_value(json_object_get(ind, "max_points")),
                   json_string_value(json_object_get(ind, "status")));
        }
        return;
    }
    printf("\n%s%s%s%s\n", aname, *agency ? " (" : "", agency, *agency ? ")" : "");
    printf("  %-72s %9s %9s %9s %7s %6s  %s\n", "Chỉ tiêu [mã]", "Tử số", "Mẫu số", "Giá trị",
           "Mục tiêu", "Điểm", "Trạng thái");
    json_array_foreach(json_object_get(block, "indicators"), i, ind)
    {
        char label[400], value[32], points[32];
        snprintf(label, sizeof(label), "%s [%s]", json_string_value(json_object_get(ind, "name")),
                 json_string_value(json_object_get(ind, "code")));
        json_t *v = json_object_get(ind, "value"), *pts = json_object_get(ind, "points");
        if (json_is_null(v))
            snprintf(value, sizeof(value), "-");
        else
            snprintf(value, sizeof(value), "%.2f%%", json_real_value(v));
        if (json_is_null(pts))
            snprintf(points, sizeof(points), "-");
        else
            snprintf(points, sizeof(points), "%.2f", json_real_value(pts));
        const char *status = json_string_value(json_object_get(ind, "status"));
        printf("  %s\n  %-72s %9lld %9lld %9s %6g%% %6s  %s\n", label, "",
               (long long) json_integer_value(json_object_get(ind, "numerator")),
               (long long) json_integer_value(json_object_get(ind, "denominator")), value,
               json_real_value(json_object_get(ind, "target")), points,
               strcmp(status, "met") == 0     ? "đạt"
               : strcmp(status, "below") == 0 ? "chưa đạt"
                                              : "không có dữ liệu");
    }
}

int lthub_indicators_main(int argc, char **argv)
{
    const char *usage = "lthub indicators [--period P] [--agency CODE|all] "
                        "[--format table|json|csv] [--config FILE] [--store FILE]";
    s_opts_t o = {0};
    if (s_parse(argc, argv, &o, usage))
        return 2;
    if (strcmp(o.format, "table") && strcmp(o.format, "json") && strcmp(o.format, "csv")) {
        fprintf(stderr, "lthub indicators: --format must be table, json or csv\n");
        return 2;
    }
    char store[1024], current[16];
    lt_counting_t *counting = s_load(&o, store, sizeof(store));
    if (!counting)
        return LTHUB_EXIT_FAIL;
    if (!o.period) {
        s_current(lt_counting_calendar(counting), current, sizeof(current));
        o.period = current;
    }
    lt_err_t err;
    json_t *out = lt_counting_indicators(counting, store, o.period, o.agency, &err);
    lt_counting_destroy(&counting);
    if (!out) {
        fprintf(stderr, "lthub indicators: %s\n", err.detail);
        //  EFIELD: a period, indicator or agency that does not exist.
        return err.code == LT_EFIELD ? LTHUB_EXIT_USAGE : LTHUB_EXIT_FAIL;
    }
    if (strcmp(o.format, "json") == 0) {
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
    }
    else {
        json_t *period = json_object_get(out, "period");
        if (strcmp(o.format, "table") == 0)
            printf("Kỳ %s (%s → %s)\n", json_string_value(json_object_get(period, "name")),
                   json_string_value(json_object_get(period, "from")),
                   json_string_value(json_object_get(period, "to")));
        json_t *all = json_object_get(out, "agencies");
        if (all) {
            size_t i;
            json_t *block;
            json_array_foreach(all, i, block)
            {
                s_print(block, o.format, i == 0);
            }
        }
        else
            s_print(out, o.format, true);
    }
    json_decref(out);
    return 0;
}

int lthub_evidence_main(int argc, char **argv)
{
    const char *usage = "lthub evidence --indicator CODE --period P [--agency CODE] --out DIR "
                        "[--config FILE] [--store FILE]";
    s_opts_t o = {0};
    if (s_parse(argc, argv, &o, usage))
        return 2;
    if (!o.indicator || !o.period || !o.out) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    char store[1024];
    lt_counting_t *counting = s_load(&o, store, sizeof(store));
    if (!counting)
        return LTHUB_EXIT_FAIL;
    lt_err_t err;
    int rc = lt_counting_evidence(counting, store, o.indicator, o.period, o.agency, o.out, &err);
    lt_counting_destroy(&counting);
    if (rc) {
        fprintf(stderr, "lthub evidence: %s\n", err.detail);
        //  EFIELD: a period, indicator or agency that does not exist.
        return err.code == LT_EFIELD ? LTHUB_EXIT_USAGE : LTHUB_EXIT_FAIL;
    }
    printf("evidence for %s, %s written to %s (items.csv, manifest.json)\n", o.indicator,
           o.period, o.out);
    return 0;
}

//  Percent-encode a query value; the caller frees it.
static char *s_escape(const char *text)
{
    char *out = malloc(strlen(text) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *) text; out && *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            *o++ = (char) *p;
        else {
            snprintf(o, 4, "%%%02X", *p);
            o += 3;
        }
    }
    if (out)
        *o = 0;
    return out;
}

int lthub_report_main(int argc, char **argv)
{
    const char *usage = "lthub report submit --period P [--code PAR-7.1] [--agency CODE] "
                        "[--admin ADDRESS:PORT] [--token-file FILE]";
    if (argc < 2 || strcmp(argv[1], "submit") != 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    const char *env = getenv("LTHUB_ADMIN");
    const char *admin = env ? env : "127.0.0.1:8470";
    env = getenv("LTHUB_TOKEN_FILE");
    const char *token_file = env ? env : "";
    const char *period = NULL, *code = "PAR-7.1", *agency = "";
    for (int i = 2; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--period") == 0       ? &period
                             : strcmp(argv[i], "--code") == 0       ? &code
                             : strcmp(argv[i], "--agency") == 0     ? &agency
                             : strcmp(argv[i], "--admin") == 0      ? &admin
                             : strcmp(argv[i], "--token-file") == 0 ? &token_file
                                                                    : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "lthub report: unknown or incomplete argument '%s'\nusage: %s\n",
                    argv[i], usage);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!period) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    char token[256] = "", auth[300] = "", path[512];
    FILE *file = *token_file ? fopen(token_file, "r") : NULL;
    if (*token_file && (!file || !fgets(token, sizeof(token), file))) {
        fprintf(stderr, "lthub report: cannot read token file %s\n", token_file);
        if (file)
            fclose(file);
        return LTHUB_EXIT_FAIL;
    }
    if (file)
        fclose(file);
    token[strcspn(token, "\r\n")] = 0;
    snprintf(auth, sizeof(auth), "Bearer %s", token);
    char *ecode = s_escape(code), *eagency = s_escape(agency),
         *eperiod = s_escape(period);
    snprintf(path, sizeof(path), "/api/v1/reports?period=%s&code=%s&agency=%s",
             eperiod ? eperiod : "", ecode ? ecode : "", eagency ? eagency : "");
    free(ecode);
    free(eagency);
    free(eperiod);
    lt_http_client_t *client = lthub_admin_client(admin);
    if (!client) {
        fprintf(stderr, "lthub report: bad admin address '%s'\n", admin);
        return LTHUB_EXIT_USAGE;
    }
    lt_http_client_set_timeout(client, 30000);
    lt_http_header_t header = {"Authorization", auth};
    lt_http_reply_t reply = {0};
    lt_err_t err;
    int rc = LTHUB_EXIT_FAIL;
    if (lt_http_client_request(client, "POST", path, *token ? &header : NULL, *token ? 1 : 0,
                               NULL, 0, NULL, &reply, &err) != LT_OK)
    {
        fprintf(stderr, "lthub report: no answer from lthubd at %s: %s\n", admin, err.detail);
        lthub_api_advice(true, 0, token_file);
    }
    else {
        json_t *json = json_loads(reply.body, 0, NULL);
        const char *why = json_string_value(json_object_get(json, "error"));
        if (!json || why) {
            fprintf(stderr, "lthub report: HTTP %ld: %s\n", reply.status,
                    why ? why : reply.body);
            lthub_api_advice(false, reply.status, token_file);
        }
        else {
            printf("report %s %s (message %s, for connector %s)\n",
                   json_string_value(json_object_get(json, "key")),
                   json_is_true(json_object_get(json, "duplicate")) ? "was already submitted"
                                                                    : "submitted",
                   json_string_value(json_object_get(json, "msgid")),
                   json_string_value(json_object_get(json, "dest")));
            rc = 0;
        }
        json_decref(json);
    }
    lt_http_reply_free(&reply);
    lt_http_client_destroy(&client);
    return rc;
}
