/*  lthub keygen: creates the CURVE certificates a deployment needs
    (see lt_keys.h for the layout). Idempotent. */
#include "lt_keys.h"
#include "lthub_cli.h"

#include <stdio.h>
#include <string.h>

int lthub_keygen_main(int argc, char **argv)
{
    const char *dir = NULL;
    bool broker = false;
    int names = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--broker") == 0)
            broker = true;
        else if (strcmp(argv[i], "--help") == 0 || argv[i][0] == '-') {
            fprintf(argv[i][1] == 'h' || argv[i][2] == 'h' ? stdout : stderr,
                    "usage: lthub keygen --dir DIR [--broker] [CONNECTOR...]\n"
                    "  creates DIR/broker.cert(_secret) with --broker, and for each\n"
                    "  connector DIR/NAME.cert(_secret) and DIR/allowed/NAME.cert;\n"
                    "  existing certificates are kept\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
        else
            names++;
    }
    if (!dir || (!broker && names == 0)) {
        fprintf(stderr, "usage: lthub keygen --dir DIR [--broker] [CONNECTOR...]\n");
        return 2;
    }
    lt_err_t err;
    if (broker) {
        int rc = lt_keys_broker(dir, &err);
        if (rc < 0) {
            fprintf(stderr, "lthub keygen: %s\n", err.detail);
            return 1;
        }
        printf("%s %s/broker.cert\n", rc ? "created" : "kept   ", dir);
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' || (i > 1 && strcmp(argv[i - 1], "--dir") == 0))
            continue;
        int rc = lt_keys_connector(dir, argv[i], &err);
        if (rc < 0) {
            fprintf(stderr, "lthub keygen: %s\n", err.detail);
            return 1;
        }
        printf("%s %s/%s.cert (allowed)\n", rc ? "created" : "kept   ", dir, argv[i]);
    }
    return 0;
}
