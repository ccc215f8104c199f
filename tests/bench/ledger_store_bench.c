/*  lt-ledger-store-bench: the counting ledger's cost on the store alone.

    Stores N documents of 1 KiB from 000.00.12.H26 to 000.00.13.H26 with
    lt_store_put, P per commit, into a new store in DIR, the ledger's
    province set to PROVINCE: "H26" records every document (a doc_out and a
    doc_in), a province that matches no agency records nothing. Prints the
    process CPU per message; the difference between the two is the
    ledger's (docs/performance.md, "Ledger format 3").

    usage: lt-ledger-store-bench DIR PROVINCE [N [P]]
*/
#include "lt_envelope.h"
#include "lt_ledger.h"
#include "lt_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  CPU seconds of the process.
static double s_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

//  A positive count from text, or fallback when there is none.
static long s_count(const char *text, long fallback)
{
    if (!text)
        return fallback;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    return end && *end == 0 && v > 0 && v <= 10000000 ? v : -1;
}

int main(int argc, char **argv)
{
    long n = argc > 3 ? s_count(argv[3], 20000) : 20000;
    long per = argc > 4 ? s_count(argv[4], 240) : 240;
    if (argc < 3 || n < 0 || per < 0) {
        fprintf(stderr, "usage: lt-ledger-store-bench DIR PROVINCE [N [P]]\n");
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/lthub.db", argv[1]);
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    if (!store) {
        fprintf(stderr, "lt-ledger-store-bench: %s\n", err.detail);
        return 1;
    }
    lt_ledger_set_province(lt_store_ledger(store), argv[2]);
    char payload[1024];
    memset(payload, 'x', sizeof(payload));
    const char *dests[] = {"dms"}, *rcpts[] = {"000.00.13.H26"};
    double t0 = s_cpu();
    int rc = 0;
    for (long i = 0; i < n && rc == 0;) {
        rc = lt_store_begin(store, &err);
        for (long k = 0; k < per && i < n && rc == 0; k++, i++) {
            char key[64];
            int len = snprintf(key, sizeof(key), "000.00.12.H26,2026/12/03,%ld/BENCH", i);
            memcpy(payload, key, (size_t) len);
            lt_envelope_t *env = lt_envelope_new();
            lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
            lt_envelope_set_key(env, key);
            lt_envelope_set_btype(env, "new");
            lt_envelope_set_sender(env, "000.00.12.H26");
            lt_envelope_add_recipient(env, "000.00.13.H26");
            lt_envelope_set_payload_facts(env, payload, sizeof(payload));
            bool dup;
            char id[40];
            rc = lt_store_put(store, env, payload, sizeof(payload), dests, rcpts, 1, &dup, id,
                              &err);
            lt_envelope_destroy(&env);
        }
        if (rc == 0)
            rc = lt_store_commit(store, &err);
    }
    double t1 = s_cpu();
    if (rc)
        fprintf(stderr, "lt-ledger-store-bench: %s\n", err.detail);
    else
        printf("province %s: %ld documents, %.1f us CPU per document\n", argv[2], n,
               (t1 - t0) / (double) n * 1e6);
    lt_store_destroy(&store);
    return rc ? 1 : 0;
}
