/*  lthub_ops: the operator subcommands that talk to a running lthubd over
    its admin HTTP API: status, dead (and dead discard), replay, rejects
    (and rejects replay). Tables for people,
    --json for machines. The admin address comes from --admin (default
    127.0.0.1:8470 or $LTHUB_ADMIN); the bearer token for replay from
    --token-file or $LTHUB_TOKEN_FILE. */
#include "lt_http_client.h"
#include "lthub_cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Options shared by the subcommands (lthub_cli.h).
typedef lthub_opts_t s_opts_t;

static int s_parse(int argc, char **argv, s_opts_t *o, const char *usage)
{
    const char *env = getenv("LTHUB_ADMIN");
    snprintf(o->admin, sizeof(o->admin), "%s", env ? env : "127.0.0.1:8470");
    env = getenv("LTHUB_TOKEN_FILE");
    snprintf(o->token_file, sizeof(o->token_file), "%s", env ? env : "");
    o->limit = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp(argv[i], "--admin") == 0 && i + 1 < argc)
            snprintf(o->admin, sizeof(o->admin), "%s", argv[++i]);
        else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc)
            snprintf(o->token_file, sizeof(o->token_file), "%s", argv[++i]);
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            char *end = NULL;
            o->limit = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || o->limit <= 0) {
                fprintf(stderr, "lthub %s: --limit needs a positive number, not '%s'\n",
                        argv[0], argv[i]);
                return -1;
            }
        }
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: %s\n  --admin ADDRESS:PORT   admin API (default 127.0.0.1:8470)\n"
                   "  --json                 print JSON\n",
                   usage);
            exit(0);
        }
        else if (argv[i][0] != '-' && !o->arg)
            o->arg = argv[i];
        else if (i + 1 == argc && (strcmp(argv[i], "--admin") == 0 ||
                                   strcmp(argv[i], "--token-file") == 0 ||
                                   strcmp(argv[i], "--limit") == 0)) {
            fprintf(stderr, "lthub %s: %s needs a value\nusage: %s\n", argv[0], argv[i], usage);
            return -1;
        }
        else {
            fprintf(stderr, "lthub %s: unknown argument '%s'\nusage: %s\n", argv[0], argv[i],
                    usage);
            return -1;
        }
    }
    return 0;
}

lt_http_client_t *lthub_admin_client(const char *admin)
{
    char base[300];
    //  ADDRESS:PORT means plain HTTP; a URL (https://HOST:PORT) is taken as
    //  it is, checked against $LTHUB_CA_FILE when set (admin/tls_cert).
    if (strstr(admin, "://"))
        snprintf(base, sizeof(base), "%s", admin);
    else
        snprintf(base, sizeof(base), "http://%s", admin);
    lt_http_client_t *client = lt_http_client_new(base);
    const char *ca = getenv("LTHUB_CA_FILE");
    if (client && ca && *ca && lt_http_client_set_ca_file(client, ca)) {
        fprintf(stderr, "lthub: cannot use LTHUB_CA_FILE %s\n", ca);
        lt_http_client_destroy(&client);
    }
    return client;
}

//  Call the admin API; returns the parsed JSON reply or NULL (message printed).
static json_t *s_call(const s_opts_t *o, const char *method, const char *path)
{
    lt_http_client_t *client = lthub_admin_client(o->admin);
    if (!client) {
        fprintf(stderr, "lthub: bad admin address '%s'\n", o->admin);
        return NULL;
    }
    lt_http_client_set_timeout(client, 10000);
    char auth[300] = "";
    lt_http_header_t header = {"Authorization", auth};
    if (*o->token_file) {
        FILE *file = fopen(o->token_file, "r");
        char token[256] = "";
        if (!file || !fgets(token, sizeof(token), file)) {
            fprintf(stderr, "lthub: cannot read token file %s\n", o->token_file);
            if (file)
                fclose(file);
            lt_http_client_destroy(&client);
            return NULL;
        }
        fclose(file);
        token[strcspn(token, "\r\n")] = 0;
        snprintf(auth, sizeof(auth), "Bearer %s", token);
    }
    lt_http_reply_t reply = {0};
    lt_err_t err;
    json_t *json = NULL;
    if (lt_http_client_request(client, method, path, *auth ? &header : NULL, *auth ? 1 : 0,
                               NULL, 0, NULL, &reply, &err) != LT_OK)
    {
        fprintf(stderr, "lthub: no answer from lthubd at %s: %s\n", o->admin, err.detail);
        lthub_api_advice(true, 0, o->token_file);
    }
    else {
        json = json_loads(reply.body, 0, NULL);
        if (!json)
            fprintf(stderr, "lthub: HTTP %ld: %s\n", reply.status, reply.body);
        else if (json_object_get(json, "error")) {
            fprintf(stderr, "lthub: %s\n", json_string_value(json_object_get(json, "error")));
            lthub_api_advice(false, reply.status, o->token_file);
            json_decref(json);
            json = NULL;
        }
    }
    lt_http_reply_free(&reply);
    lt_http_client_destroy(&client);
    return json;
}

static void s_print_json(json_t *json)
{
    char *text = json_dumps(json, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
}

//  Integer field as long long.
static long long s_int(json_t *obj, const char *key)
{
    return (long long) json_integer_value(json_object_get(obj, key));
}

//  The store's size and retention figures, one line (none from a broker
//  older than retention), then a blank line.
static void s_print_retention(json_t *st)
{
    if (!json_object_get(st, "pruned")) {
        printf("\n");
        return;
    }
    char oldest[64] = "none";
    int64_t at = s_int(st, "oldest_kept_at");
    if (at > 0) {
        time_t secs = (time_t) (at / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(oldest, sizeof(oldest), "%Y-%m-%d %H:%M:%SZ", &tm);
    }
    char keep[32] = "forever";
    long long retention = s_int(st, "retention_s");
    if (retention >= 86400 && retention % 86400 == 0)
        snprintf(keep, sizeof(keep), "%lld d", retention / 86400);
    else if (retention > 0)
        snprintf(keep, sizeof(keep), "%lld s", retention);
    printf("store size %.1f MB on disk (%.1f MB free inside), retention %s: %lld pruned,"
           " oldest kept %s\n\n",
           (double) s_int(st, "size_bytes") / 1e6, (double) s_int(st, "free_bytes") / 1e6, keep,
           s_int(st, "pruned"), oldest);
}

#define S_OWN_WIDTH 100     //  columns of a connector's own figures before they wrap
#define S_OWN_MAX 64        //  figures shown per connector; the rest: --json

//  The figures of one connector's own counters, as they are written out.
typedef struct {
    char line[S_OWN_WIDTH + 256];  //  the line being filled
    size_t shown;                  //  figures written so far
    size_t skipped;                //  figures past S_OWN_MAX
    const char *last_error;        //  its last error, "" when none
    long long last_error_at;       //  when, Unix ms
} s_own_t;

//  Copy text into out, each control or non-printing ASCII byte replaced by
//  '?': the figures come from a connector and go to a terminal.
static void s_printable(char *out, size_t size, const char *text)
{
    size_t n = 0;
    for (; text && *text && n + 1 < size; text++, n++)
        out[n] = ((unsigned char) *text < 0x20 || *text == 0x7f) ? '?' : *text;
    out[n] = 0;
}

//  Add "name value" to the figures, printing the line when it is full.
static void s_own_add(s_own_t *own, const char *name, const char *value)
{
    if (own->shown == S_OWN_MAX) {
        own->skipped++;
        return;
    }
    char item[192], clean[160];
    s_printable(clean, sizeof(clean), name);
    snprintf(item, sizeof(item), "%s %s", clean, value);
    size_t used = strlen(own->line);
    if (used && used + 2 + strlen(item) > S_OWN_WIDTH) {
        printf("%s,\n", own->line);
        snprintf(own->line, sizeof(own->line), "      %s", item);
    }
    else if (used)
        snprintf(own->line + used, sizeof(own->line) - used, ", %s", item);
    else
        snprintf(own->line, sizeof(own->line), "    own: %s", item);
    own->shown++;
}

//  Walk the connector's own object: numbers and yes/no as figures named by
//  their path, times (..._at) left out, last_error kept for its own line.
static void s_own_walk(s_own_t *own, const char *path, json_t *value, int depth)
{
    const char *key;
    json_t *child;
    char value_text[64];
    if (json_is_object(value) && depth < 4) {
        json_object_foreach(value, key, child)
        {
            char sub[160];
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
            size_t len = strlen(key);
            if (len >= 3 && strcmp(key + len - 3, "_at") == 0 && !json_is_object(child))
                continue;
            if (strcmp(key, "last_error") == 0 && json_is_string(child)) {
                own->last_error = json_string_value(child);
                own->last_error_at = (long long) json_integer_value(
                    json_object_get(value, "last_error_at"));
                continue;
            }
            s_own_walk(own, sub, child, depth + 1);
        }
        return;
    }
    if (json_is_integer(value))
        snprintf(value_text, sizeof(value_text), "%lld", (long long) json_integer_value(value));
    else if (json_is_real(value))
        snprintf(value_text, sizeof(value_text), "%.6g", json_real_value(value));
    else if (json_is_boolean(value))
        snprintf(value_text, sizeof(value_text), "%s", json_is_true(value) ? "yes" : "no");
    else if (json_is_string(value) && *json_string_value(value))
        s_printable(value_text, sizeof(value_text), json_string_value(value));
    else
        return;
    s_own_add(own, path, value_text);
}

//  Print a connector's own counters (connectors[].own: what it sent in its
//  last PING or PONG) under its row, wrapped, with their age and its last
//  error; nothing when it sent none.
static void s_print_own(json_t *c, long long now_ms)
{
    json_t *object = json_object_get(c, "own");
    if (!json_is_object(object) || json_object_size(object) == 0)
        return;
    //  A connector puts its counters under its own name: no need to repeat it.
    if (json_object_size(object) == 1) {
        json_t *only = json_object_iter_value(json_object_iter(object));
        if (json_is_object(only))
            object = only;
    }
    s_own_t own = {.last_error = ""};
    s_own_walk(&own, "", object, 0);
    if (own.skipped) {
        char more[64];
        snprintf(more, sizeof(more), "(%zu more: lthub status --json)", own.skipped);
        own.shown--;   //  always room for the note
        s_own_add(&own, "and", more);
    }
    long long at = s_int(c, "own_at");
    if (*own.line)
        printf("%s  [%llds ago]\n", own.line, at > 0 && now_ms > at ? (now_ms - at) / 1000 : 0);
    if (*own.last_error) {
        char when[32] = "time unknown", text[400];
        time_t secs = (time_t) (own.last_error_at / 1000);
        struct tm tm;
        if (own.last_error_at > 0 && gmtime_r(&secs, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
        s_printable(text, sizeof(text), own.last_error);
        printf("    last error (%s): %s\n", when, text);
    }
}

int lthub_status_main(int argc, char **argv)
{
    s_opts_t o = {0};
    if (s_parse(argc, argv, &o, "lthub status [--json]"))
        return 2;
    json_t *stats = s_call(&o, "GET", "/api/v1/stats");
    if (!stats)
        return 1;
    if (o.json) {
        s_print_json(stats);
        json_decref(stats);
        return 0;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long now_ms = (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
    json_t *b = json_object_get(stats, "broker"), *st = json_object_get(stats, "store");
    printf("broker %s at %s, up %llds, %lld commits (avg %.2f ms)\n",
           json_string_value(json_object_get(b, "name")),
           json_string_value(json_object_get(b, "endpoint")), s_int(b, "uptime_ms") / 1000,
           s_int(b, "commits"),
           s_int(b, "commits") ? s_int(b, "commit_us_total") / 1000.0 / s_int(b, "commits") : 0);
    printf("store: %lld messages, %lld ready, %lld waiting, %lld done, %lld dead, %lld rejected\n",
           s_int(st, "messages"), s_int(st, "ready"), s_int(st, "waiting"), s_int(st, "done"),
           s_int(st, "dead"), s_int(st, "rejects"));
    s_print_retention(st);
    const char *kind;
    json_t *count;
    json_object_foreach(json_object_get(stats, "alerts"), kind, count)
    if (json_integer_value(count) > 0)
        printf("ALERT %s: %lld (lthub alerts)\n", kind, (long long) json_integer_value(count));
    printf("%-10s %-5s %9s %9s %9s %9s %9s %7s %7s %6s %6s\n", "CONNECTOR", "UP", "PUBLISHED",
           "ACCEPTED", "DELIVERED", "DONE", "QUEUED", "RETRIED", "DEAD", "REJ", "INFL");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(stats, "connectors"), i, c)
    {
        printf("%-10s %-5s %9lld %9lld %9lld %9lld %9lld %7lld %7lld %6lld %6lld\n",
               json_string_value(json_object_get(c, "name")),
               json_is_true(json_object_get(c, "connected")) ? "yes" : "NO",
               s_int(c, "published"), s_int(c, "accepted") + s_int(c, "duplicates"),
               s_int(c, "delivered"), s_int(c, "done"), s_int(c, "ready") + s_int(c, "waiting"),
               s_int(c, "retried"), s_int(c, "dead"), s_int(c, "rejected"), s_int(c, "inflight"));
        s_print_own(c, now_ms);
    }
    json_decref(stats);
    return 0;
}

//  Prints a reply of the admin API for people (--json prints it as it is);
//  arg is what s_show was given for it.
typedef void(s_print_fn)(const s_opts_t *o, json_t *reply, const void *arg);

//  Call the admin API and print its reply, as JSON with --json, else with
//  print. Returns the exit status: 0, or 1 when the call failed.
static int s_show(const s_opts_t *o, const char *method, const char *path, s_print_fn *print,
                  const void *arg)
{
    json_t *reply = s_call(o, method, path);
    if (!reply)
        return 1;
    if (o->json)
        s_print_json(reply);
    else
        print(o, reply, arg);
    json_decref(reply);
    return 0;
}

//  Parse a listing subcommand's options and show GET
//  /api/v1/COLLECTION?limit=N (50 unless given). Returns the exit status.
static int s_list(int argc, char **argv, const char *usage, const char *collection,
                  s_print_fn *print)
{
    s_opts_t o = {0};
    if (s_parse(argc, argv, &o, usage))
        return 2;
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/%s?limit=%ld", collection, o.limit > 0 ? o.limit : 50);
    return s_show(&o, "GET", path, print, NULL);
}

//  What an action on one item did, for s_print_action.
typedef struct {
    const char *collection;   //  "dead", "rejects"
    const char *done;         //  what the action did, in words
} s_action_t;

//  What an action on one item did: "COLLECTION ID DONE[MSGID]".
static void s_print_action(const s_opts_t *o, json_t *reply, const void *arg)
{
    const s_action_t *action = arg;
    const char *msgid = json_string_value(json_object_get(reply, "msgid"));
    printf("%s %s %s%s\n", action->collection, o->arg, action->done, msgid ? msgid : "");
}

//  POST an action on one item (dead letter or rejected input) and print
//  what the API answered.
static int s_action(int argc, char **argv, const char *usage, const char *collection,
                    const char *action, const char *done)
{
    s_opts_t o = {0};
    if (s_parse(argc, argv, &o, usage))
        return 2;
    if (!o.arg || !*o.arg || strspn(o.arg, "0123456789") != strlen(o.arg)) {
        if (o.arg)
            fprintf(stderr,
                    "lthub %s %s: '%s' is not an id: give a positive number (see lthub %s)\n",
                    collection, argv[0], o.arg, collection);
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/%s/%s/%s", collection, o.arg, action);
    s_action_t what = {collection, done};
    return s_show(&o, "POST", path, s_print_action, &what);
}

//  The array reply[key] of a listing, after printing none when it is empty.
static json_t *s_items(json_t *reply, const char *key, const char *none)
{
    json_t *list = json_object_get(reply, key);
    if (json_array_size(list) == 0)
        printf("%s\n", none);
    return list;
}

//  The dead letters, each with its errors, then the deliveries waiting.
static void s_print_dead(const s_opts_t *o, json_t *reply, const void *arg)
{
    (void) o, (void) arg;
    size_t i;
    json_t *d;
    json_t *list = s_items(reply, "dead", "no dead letters");
    json_array_foreach(list, i, d)
    {
        printf("delivery %lld  %s -> %s  %s %s  attempts %lld\n", s_int(d, "delivery"),
               json_string_value(json_object_get(d, "source")),
               json_string_value(json_object_get(d, "dest")),
               json_string_value(json_object_get(d, "kind")),
               json_string_value(json_object_get(d, "key")), s_int(d, "attempts"));
        printf("  message %s\n", json_string_value(json_object_get(d, "msgid")));
        char *errors = strdup(json_string_value(json_object_get(d, "errors")));
        char *save = NULL;
        for (char *line = strtok_r(errors, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            printf("  - %s\n", line);
        free(errors);
    }
    list = json_object_get(reply, "waiting");
    json_array_foreach(list, i, d)
    printf("delivery %lld  %s -> %s  %s %s %s  %s\n", s_int(d, "delivery"),
           json_string_value(json_object_get(d, "source")),
           json_string_value(json_object_get(d, "dest")),
           json_string_value(json_object_get(d, "kind")),
           json_string_value(json_object_get(d, "btype")),
           json_string_value(json_object_get(d, "key")),
           json_string_value(json_object_get(d, "note")));
}

int lthub_dead_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "discard") == 0)
        return s_action(argc - 1, argv + 1, "lthub dead discard DELIVERY [--token-file FILE]",
                        "dead", "discard", "discarded; its lane goes on");
    return s_list(argc, argv, "lthub dead [--limit N] [--json] | lthub dead discard DELIVERY",
                  "dead", s_print_dead);
}

//  The rejected inputs, each with its reason and what replayed it.
static void s_print_rejects(const s_opts_t *o, json_t *reply, const void *arg)
{
    (void) o, (void) arg;
    json_t *list = s_items(reply, "rejects", "no rejected inputs");
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        const char *replayed = json_string_value(json_object_get(r, "replayed"));
        printf("reject %lld  from %s  %s %s  %s%s%s\n", s_int(r, "reject"),
               json_string_value(json_object_get(r, "source")),
               json_string_value(json_object_get(r, "kind")),
               json_string_value(json_object_get(r, "key")),
               json_string_value(json_object_get(r, "error")),
               replayed && *replayed ? "  replayed as " : "", replayed ? replayed : "");
        printf("  - %s\n", json_string_value(json_object_get(r, "reason")));
    }
}

int lthub_rejects_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "replay") == 0)
        return s_action(argc - 1, argv + 1, "lthub rejects replay REJECT [--token-file FILE]",
                        "rejects", "replay", "published again as message ");
    return s_list(argc, argv, "lthub rejects [--limit N] [--json] | lthub rejects replay ID",
                  "rejects", s_print_rejects);
}

int lthub_replay_main(int argc, char **argv)
{
    //  The same as `lthub dead replay`: one place checks the id and answers.
    char **args = calloc((size_t) argc + 2, sizeof(char *));
    if (!args)
        return LTHUB_EXIT_FAIL;
    args[0] = "dead";
    args[1] = "replay";
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    int code = lthub_dead_cmd_main(argc + 1, args);
    free(args);
    return code;
}

void lthub_api_advice(bool unreached, long status, const char *token_file)
{
    if (unreached)
        fprintf(stderr, "  Is lthubd running, with its admin/listen at this address (--admin "
                        "ADDRESS:PORT or $LTHUB_ADMIN)? If it is, a timeout means its admin API "
                        "is busy with other clients: try again, and see its log.\n");
    else if (status == 401 && !*token_file)
        fprintf(stderr, "  This needs the admin token: --token-file FILE (or "
                        "$LTHUB_TOKEN_FILE), FILE being lthubd's admin/token_file.\n");
    else if (status == 401)
        fprintf(stderr,
                "  lthubd refused the token in %s: give the file its admin/token_file "
                "names (read when lthubd started).\n",
                token_file);
}

//  The admin API client for the other subcommand files (lthub_cli.h).
json_t *lthub_api_call(const lthub_opts_t *opts, const char *method, const char *path)
{
    return s_call(opts, method, path);
}
