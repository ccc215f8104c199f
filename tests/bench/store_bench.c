/*  lt-store-bench: the store alone, without the relay around it.

        lt-store-bench [--messages N] [--size BYTES] [--group N] [--inline-max BYTES] [--dir DIR]

    Stores N messages of BYTES each with lt_store_put, GROUP per commit
    (each commit fsyncs as the broker's group commit does), in a new store
    under DIR (default /tmp), and prints MB/s and the CPU time per message.
    --inline-max sets store/inline_max: a large value keeps every payload in
    the database (the store before payload segments), 0 puts each in a
    segment file.
*/
#include "lt_id.h"
#include "lt_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

//  CPU seconds (user + system) of this process.
static double s_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char *argv[])
{
    long messages = 300, size = 1048576, group = 10, inline_max = -1;
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--messages"))
            messages = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--size"))
            size = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--group"))
            group = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--inline-max"))
            inline_max = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else {
            fprintf(stderr, "usage: lt-store-bench [--messages N] [--size BYTES] [--group N]"
                            " [--inline-max BYTES] [--dir DIR]\n");
            return 2;
        }
    }
    if (messages < 1 || size < 1 || group < 1) {
        fprintf(stderr, "lt-store-bench: messages, size and group must be positive\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/lt-store-bench-XXXXXX", dir);
    if (!mkdtemp(path)) {
        perror("lt-store-bench: mkdtemp");
        return 1;
    }
    char db[4200];
    snprintf(db, sizeof(db), "%s/lthub.db", path);
    lt_err_t err;
    lt_store_t *store = lt_store_new(db, &err);
    if (!store) {
        fprintf(stderr, "lt-store-bench: %s\n", err.detail);
        return 1;
    }
    if (inline_max >= 0)
        lt_store_set_inline_max(store, (size_t)inline_max);
    uint8_t *payload = malloc((size_t)size);
    for (long i = 0; i < size; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    const char *dests[] = {"sink"};
    const char *rcpts[] = {"BENCH"};
    int64_t t0 = lt_time_ms();
    double c0 = s_cpu();
    int rc = 0;
    for (long n = 0; n < messages && rc == 0; n += group) {
        rc = lt_store_begin(store, &err);
        for (long k = n; k < n + group && k < messages && rc == 0; k++) {
            memcpy(payload, &k, sizeof(k));
            char key[64];
            snprintf(key, sizeof(key), "bench-%ld", k);
            lt_envelope_t *env = lt_envelope_new();
            lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
            lt_envelope_set_key(env, key);
            lt_envelope_set_btype(env, "new");
            lt_envelope_add_recipient(env, "BENCH");
            lt_envelope_set_payload_facts(env, payload, (size_t)size);
            bool dup = false;
            char msgid[40];
            rc =
                lt_store_put(store, env, payload, (size_t)size, dests, rcpts, 1, &dup, msgid, &err);
            lt_envelope_destroy(&env);
        }
        if (rc == 0)
            rc = lt_store_commit(store, &err);
    }
    double secs = (double)(lt_time_ms() - t0) / 1000.0;
    double cpu = s_cpu() - c0;
    if (rc)
        fprintf(stderr, "lt-store-bench: %s\n", err.detail);
    else
        printf("stored %ld x %ld bytes, %ld per commit, in %.2f s: %.1f MB/s, %.0f msgs/s, "
               "CPU %.1f us per message (store size %.1f MB)\n",
               messages, size, group, secs, (double)messages * (double)size / 1e6 / secs,
               (double)messages / secs, cpu * 1e6 / (double)messages,
               (double)lt_store_size(store) / 1e6);
    lt_store_destroy(&store);
    free(payload);
    char cmd[4300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "lt-store-bench: could not remove %s\n", path);
    return rc ? 1 : 0;
}
