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

    dump-old and dump-new measure the portal's digest text instead: each
    record read and written compact with its keys sorted, either by jansson
    (json_loadb, then json_dumps with JSON_COMPACT | JSON_SORT_KEYS |
    JSON_ENCODE_ANY) or by lt_json_scan_check and lt_json_canon into one
    reused buffer; they print the bytes written and a checksum of them,
    which must be the same for both.
*/
#include "lt_dossier_ref.h"
#include "lt_json_scan.h"
#include "lt_ledger_event.h"

#include <jansson.h>

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

//  FNV-1a over bytes, carried on from h.
static unsigned long long s_fold(unsigned long long h, const char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) bytes[i]) * 0x100000001b3ULL;
    return h;
}

//  The digest text of each record, iterations times, by jansson or by
//  lt_json_canon; 0, or 1 when a record is refused or memory runs out.
static int s_dump(bool old, long iterations, int files, char **data, size_t *size)
{
    lt_json_scan_t *scan = lt_json_scan_new();
    char *buf = NULL;
    size_t len = 0, cap = 0, bytes = 0, records = 0;
    unsigned long long sum = 0xcbf29ce484222325ULL;
    int rc = scan ? 0 : 1;
    for (long i = 0; i < iterations && rc == 0; i++)
        for (int f = 0; f < files && rc == 0; f++, records++) {
            if (old) {
                json_t *tree = json_loadb(data[f], size[f], JSON_REJECT_DUPLICATES, NULL);
                char *text =
                    tree ? json_dumps(tree, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
                if (text) {
                    len = strlen(text);
                    sum = s_fold(sum, text, len);
                }
                else
                    rc = 1;
                free(text);
                json_decref(tree);
            }
            else {
                lt_json_t root;
                len = 0;
                if (lt_json_scan_check(scan, data[f], size[f], &root, NULL) == 0 &&
                    lt_json_canon(scan, root, &buf, &len, &cap) == 0)
                    sum = s_fold(sum, buf, len);
                else
                    rc = 1;
            }
            bytes += len;
        }
    if (rc == 0)
        printf("%s: %zu records, %zu bytes written, checksum %016llx\n",
               old ? "dump-old" : "dump-new", records, bytes, sum);
    else
        fprintf(stderr, "lt-dossier-json-bench: a record could not be written\n");
    free(buf);
    lt_json_scan_destroy(&scan);
    return rc;
}

int main(int argc, char *argv[])
{
    bool dump = argc > 1 && strncmp(argv[1], "dump-", 5) == 0;
    const char *mode = dump ? argv[1] + 5 : argc > 1 ? argv[1] : "";
    if (argc < 4 || argc - 3 > S_MAX_FILES || (strcmp(mode, "old") != 0 && strcmp(mode, "new") != 0)) {
        fprintf(stderr,
                "usage: lt-dossier-json-bench old|new|dump-old|dump-new ITERATIONS FILE...\n");
        return 2;
    }
    bool old = strcmp(mode, "old") == 0;
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
    if (dump) {
        int rc = s_dump(old, iterations, files, data, size);
        for (int f = 0; f < files; f++) {
            lt_envelope_destroy(&env[f]);
            free(data[f]);
        }
        return rc;
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
