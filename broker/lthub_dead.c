/*  lthub_dead: dead letters and traces for operators.

        lthub dead [list] [--limit N]     dead letters with every reason
        lthub dead show DELIVERY          one delivery, its reasons, its payload's start
        lthub dead replay DELIVERY        back to its queue (bearer token)
        lthub dead discard DELIVERY       never delivered (kept; bearer token)
        lthub trace MESSAGE-ID | KEY      every delivery of a message, or of
                                          every message with that business key
                                          (DocumentId, MaHoSo), with its times

    `lthub dead` alone (the list) is lthub_dead_main (lthub_ops.c); `lthub
    replay ID` is `lthub dead replay ID`. */
#include "lthub_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Integer field as long long (0 when absent).
static long long s_int(json_t *obj, const char *key)
{
    return (long long) json_integer_value(json_object_get(obj, key));
}

//  String field, "" when absent.
static const char *s_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

//  Unix ms as local "YYYY-MM-DD HH:MM:SS".
static void s_time(long long ms, char *out, size_t size)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    if (ms <= 0 || !localtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, size, "-");
}

//  Print a JSON value indented.
static void s_print_json(json_t *json)
{
    char *text = json_dumps(json, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
}

//  A positive delivery id, or 0.
static unsigned long long s_delivery(const char *arg)
{
    char *end = NULL;
    unsigned long long id = arg ? strtoull(arg, &end, 10) : 0;
    return arg && *arg && end && !*end ? id : 0;
}

//  Print the usage of lthub dead to out and return code.
static int s_dead_usage(FILE *out, int code)
{
    fprintf(out, "usage: lthub dead [list] [--limit N] [--json]\n"
                 "       lthub dead show DELIVERY [--json]\n"
                 "       lthub dead replay DELIVERY --token-file FILE [--json]\n"
                 "       lthub dead discard DELIVERY --token-file FILE [--json]\n"
                 "  common: --admin ADDRESS:PORT (default 127.0.0.1:8470 or $LTHUB_ADMIN),\n"
                 "          --token-file FILE (or $LTHUB_TOKEN_FILE) for replay and discard\n");
    return code;
}

int lthub_dead_cmd_main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-' || strcmp(argv[1], "list") == 0) {
        if (argc >= 2 && strcmp(argv[1], "--help") == 0)
            return s_dead_usage(stdout, LTHUB_EXIT_OK);
        //  The list keeps the historical `lthub dead` behaviour.
        if (argc >= 2 && strcmp(argv[1], "list") == 0) {
            argv[1] = argv[0];
            return lthub_dead_main(argc - 1, argv + 1);
        }
        return lthub_dead_main(argc, argv);
    }
    const char *verb = argv[1];
    lthub_opts_t o = {0};
    lthub_opts_defaults(&o);
    for (int i = 2; i < argc; i++) {
        if (lthub_opts_take(&o, argc, argv, &i))
            continue;
        if (argv[i][0] != '-' && !o.arg)
            o.arg = argv[i];
        else {
            fprintf(stderr, "lthub dead %s: unexpected argument '%s'\n", verb, argv[i]);
            return s_dead_usage(stderr, LTHUB_EXIT_USAGE);
        }
    }
    unsigned long long id = s_delivery(o.arg);
    if (strcmp(verb, "show") && strcmp(verb, "replay") && strcmp(verb, "discard")) {
        fprintf(stderr, "lthub dead: unknown command '%s'\n", verb);
        return s_dead_usage(stderr, LTHUB_EXIT_USAGE);
    }
    if (!id && o.arg) {
        fprintf(stderr, "lthub dead %s: '%s' is not a delivery id: give a positive number (see"
                        " lthub dead list)\n", verb, o.arg);
        return LTHUB_EXIT_USAGE;
    }
    if (!id) {
        fprintf(stderr, "lthub dead %s: needs a delivery id (a positive number, see lthub dead"
                        " list)\n", verb);
        return LTHUB_EXIT_USAGE;
    }
    char path[96];
    if (strcmp(verb, "show") == 0)
        snprintf(path, sizeof(path), "/api/v1/dead/%llu", id);
    else
        snprintf(path, sizeof(path), "/api/v1/dead/%llu/%s", id, verb);
    json_t *reply = lthub_api_call(&o, strcmp(verb, "show") == 0 ? "GET" : "POST", path);
    if (!reply)
        return LTHUB_EXIT_FAIL;
    if (o.json)
        s_print_json(reply);
    else if (strcmp(verb, "show") == 0) {
        char created[32];
        s_time(s_int(reply, "created_at"), created, sizeof(created));
        printf("delivery %lld (%s) to %s, %lld attempt(s), queued %s\n", s_int(reply, "delivery"),
               s_str(reply, "state"), s_str(reply, "dest"), s_int(reply, "attempts"), created);
        printf("message  %s  %s %s from %s, %lld bytes\n", s_str(reply, "msgid"),
               s_str(reply, "kind"), s_str(reply, "key"), s_str(reply, "source"),
               s_int(reply, "size"));
        char *errors = strdup(s_str(reply, "errors"));
        char *save = NULL;
        for (char *line = strtok_r(errors, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            printf("  - %s\n", line);
        free(errors);
        if (json_is_string(json_object_get(reply, "payload_head")))
            printf("payload starts:\n%.512s\n", s_str(reply, "payload_head"));
    }
    else
        printf("delivery %llu %s\n", id,
               strcmp(verb, "replay") == 0 ? "is queued again" : "is discarded (kept, never sent)");
    json_decref(reply);
    return LTHUB_EXIT_OK;
}

//  A message id looks like a UUID: 36 characters of hex digits and dashes.
static bool s_is_msgid(const char *arg)
{
    return strlen(arg) == 36 && strspn(arg, "0123456789abcdef-") == 36;
}

//  Append arg percent-encoded to out.
static void s_urlencode(const char *arg, char *out, size_t size)
{
    size_t n = strlen(out);
    for (const unsigned char *p = (const unsigned char *) arg; *p && n + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            out[n++] = (char) *p;
        else
            n += (size_t) snprintf(out + n, size - n, "%%%02X", *p);
    }
    out[n] = 0;
}

int lthub_trace_cmd_main(int argc, char **argv)
{
    lthub_opts_t o = {0};
    lthub_opts_defaults(&o);
    bool by_key = false;
    for (int i = 1; i < argc; i++) {
        if (lthub_opts_take(&o, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--key") == 0)
            by_key = true;
        else if (argv[i][0] != '-' && !o.arg)
            o.arg = argv[i];
        else {
            bool help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: lthub trace MESSAGE-ID | [--key] KEY [--json] [--admin ADDRESS:PORT]\n"
                    "  every delivery of one message, or of every message whose business key\n"
                    "  (DocumentId, MaHoSo) is KEY, with when it was queued and its state;\n"
                    "  exit 1 when the store knows no such message\n");
            return help ? LTHUB_EXIT_OK : LTHUB_EXIT_USAGE;
        }
    }
    if (!o.arg) {
        fprintf(stderr, "usage: lthub trace MESSAGE-ID | [--key] KEY [--json]\n");
        return LTHUB_EXIT_USAGE;
    }
    char path[1024];
    if (!by_key && s_is_msgid(o.arg))
        snprintf(path, sizeof(path), "/api/v1/trace/%s", o.arg);
    else {
        snprintf(path, sizeof(path), "/api/v1/trace?key=");
        s_urlencode(o.arg, path, sizeof(path));
    }
    json_t *reply = lthub_api_call(&o, "GET", path);
    if (!reply)
        return LTHUB_EXIT_FAIL;
    json_t *list = json_object_get(reply, "deliveries");
    //  Not found is a failure (exit 1, as a refused request), so
    //  that a script can tell it from a message that was found.
    bool unknown = json_array_size(list) == 0 && s_int(reply, "pruned_at") <= 0;
    if (o.json)
        s_print_json(reply);
    else if (json_array_size(list) == 0 && s_int(reply, "pruned_at") > 0) {
        char when[32];
        s_time(s_int(reply, "pruned_at"), when, sizeof(when));
        printf("message %s was delivered and pruned by retention at %s (its dedup key is kept:"
               " a resend is a duplicate)\n",
               o.arg, when);
    }
    else if (unknown && !by_key && s_is_msgid(o.arg))
        fprintf(stderr,
                "lthub trace: no message %s in the store (check the id; to look it up by its"
                " business key instead: lthub trace --key KEY)\n",
                o.arg);
    else if (unknown)
        fprintf(stderr,
                "lthub trace: no message has the business key '%s' (a DocumentId or MaHoSo,"
                " exactly as sent; a message id is 36 characters)\n",
                o.arg);
    else {
        printf("%-19s %-36s %-9s %-9s %-9s %8s  %s\n", "QUEUED", "MESSAGE", "KIND", "TO", "STATE",
               "ATTEMPTS", "KEY");
        size_t i;
        json_t *d;
        json_array_foreach(list, i, d)
        {
            char created[32];
            s_time(s_int(d, "created_at"), created, sizeof(created));
            printf("%-19s %-36s %-9s %-9s %-9s %8lld  %s\n", created, s_str(d, "msgid"),
                   s_str(d, "kind"), s_str(d, "dest"), s_str(d, "state"), s_int(d, "attempts"),
                   s_str(d, "key"));
        }
    }
    json_decref(reply);
    return unknown ? LTHUB_EXIT_FAIL : LTHUB_EXIT_OK;
}
