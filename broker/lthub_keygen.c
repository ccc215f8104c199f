/*  lthub keygen: creates the CURVE certificates a deployment needs
    (see lt_keys.h for the layout). Idempotent. */
#include "lt_keys.h"
#include "lthub_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Report one certificate: a line, or an entry of the JSON list.
static void s_report(json_t *list, const char *dir, const char *name, int created, bool allowed)
{
    if (list) {
        char file[1024];
        snprintf(file, sizeof(file), "%s/%s.cert", dir, name);
        json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:b}", "name", name, "cert", file,
                                              "created", created > 0, "allowed", allowed));
    }
    else
        printf("%s %s/%s.cert%s\n", created ? "created" : "kept   ", dir, name,
               allowed ? " (allowed)" : "");
}

int lthub_keygen_main(int argc, char **argv)
{
    const char *dir = NULL;
    bool broker = false, json = false;
    int names = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--broker") == 0)
            broker = true;
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--help") == 0 || argv[i][0] == '-') {
            fprintf(argv[i][1] == 'h' || argv[i][2] == 'h' ? stdout : stderr,
                    "usage: lthub keygen --dir DIR [--broker] [--json] [CONNECTOR...]\n"
                    "  creates DIR/broker.cert(_secret) with --broker, and for each\n"
                    "  connector DIR/NAME.cert(_secret) and DIR/allowed/NAME.cert;\n"
                    "  existing certificates are kept\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
        else
            names++;
    }
    if (!dir || (!broker && names == 0)) {
        fprintf(stderr, "usage: lthub keygen --dir DIR [--broker] [--json] [CONNECTOR...]\n");
        return 2;
    }
    lt_err_t err;
    json_t *list = json ? json_array() : NULL;
    int code = 0;
    if (broker) {
        int rc = lt_keys_broker(dir, &err);
        if (rc < 0) {
            fprintf(stderr, "lthub keygen: %s\n", err.detail);
            code = 1;
        }
        else
            s_report(list, dir, "broker", rc, false);
    }
    for (int i = 1; i < argc && code == 0; i++) {
        if (argv[i][0] == '-' || (i > 1 && strcmp(argv[i - 1], "--dir") == 0))
            continue;
        int rc = lt_keys_connector(dir, argv[i], &err);
        if (rc < 0) {
            fprintf(stderr, "lthub keygen: %s\n", err.detail);
            code = 1;
        }
        else
            s_report(list, dir, argv[i], rc, true);
    }
    if (list && code == 0) {
        json_t *out = json_pack("{s:s, s:O}", "dir", dir, "certificates", list);
        char *text = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
        json_decref(out);
    }
    json_decref(list);
    return code;
}
