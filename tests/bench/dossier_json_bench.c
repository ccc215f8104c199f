/*  lt-dossier-json-bench: the ledger's read of dossier records, old against
    new, on the relay thread's work alone (no broker, no sockets): the
    events of each record file given, ITERATIONS times, read either with
    the former jansson reading (tests/fuzz/lt_dossier_ref.c) or with
    lt_ledger_events (lt_json_scan). Meant for instruction counts:

      valgrind --tool=cachegrind --cache-sim=no \
          build/release/tests/lt-dossier-json-bench old|new ITERATIONS FILE...

    and the difference between ITERATIONS and 0 divided by the records read.
    It prints the records read and the events seen, which must be the same
    for old and new.
*/
#include "lt_dossier_ref.h"
#include "lt_ledger_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_FILES 64

static int s_count(void *arg, const lt_ledger_event_t *ev, lt_err_t *err)
{
    (void) ev;
    (void) err;
    (*(size_t *) arg)++;
    return 0;
}

//  Read a whole file; NULL when it cannot be.
static char *s_slurp(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *data = NULL;
    if (fseek(file, 0, SEEK_END) == 0) {
        long len = ftell(file);
        if (len >= 0 && fseek(file, 0, SEEK_SET) == 0 && (data = malloc((size_t) len + 1))) {
            *size = fread(data, 1, (size_t) len, file);
            if (*size != (size_t) len) {
                free(data);
                data = NULL;
            }
        }
    }
    fclose(file);
    return data;
}

int main(int argc, char *argv[])
{
    if (argc < 4 || argc - 3 > S_MAX_FILES ||
        (strcmp(argv[1], "old") != 0 && strcmp(argv[1], "new") != 0)) {
        fprintf(stderr, "usage: lt-dossier-json-bench old|new ITERATIONS FILE...\n");
        return 2;
    }
    bool old = strcmp(argv[1], "old") == 0;
    long iterations = strtol(argv[2], NULL, 10);
    int files = argc - 3;
    char *data[S_MAX_FILES];
    size_t size[S_MAX_FILES];
    lt_envelope_t *env[S_MAX_FILES];
    for (int f = 0; f < files; f++) {
        data[f] = s_slurp(argv[3 + f], &size[f]);
        if (!data[f]) {
            fprintf(stderr, "lt-dossier-json-bench: cannot read %s\n", argv[3 + f]);
            return 1;
        }
        env[f] = lt_envelope_new();
        lt_envelope_set_kind(env[f], LT_KIND_DOSSIER);
        lt_envelope_set_key(env[f], "000.00.12.H26-260903-00001");
        lt_envelope_set_sender(env[f], "000.00.12.H26");
        lt_envelope_set_payload_facts(env[f], data[f], size[f]);
    }
    size_t events = 0, records = 0;
    lt_err_t err;
    for (long i = 0; i < iterations; i++)
        for (int f = 0; f < files; f++, records++)
            if (old)
                lt_dossier_ref_events(env[f], data[f], size[f], s_count, &events, &err);
            else
                lt_ledger_events(env[f], data[f], size[f], NULL, 0, "H26", s_count, &events,
                                 &err);
    printf("%s: %zu records, %zu events\n", old ? "old" : "new", records, events);
    for (int f = 0; f < files; f++) {
        lt_envelope_destroy(&env[f]);
        free(data[f]);
    }
    return 0;
}
