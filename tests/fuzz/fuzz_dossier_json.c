/*  fuzz_dossier_json: differential libFuzzer target for the dossier record
    read of the ledger (s_dossier in schemas/lt_ledger_event.c, which checks
    and reads records in place with lt_json_scan).

    The reference is the former reading, kept as it was in
    lt_dossier_ref.c: jansson's json_loadb with JSON_REJECT_DUPLICATES, then
    json_object_get and snprintf. For every input the target aborts when
      - lt_json_scan accepts what jansson refuses, or the reverse;
      - the events lt_ledger_events yields for a dossier record differ in
        any field from the reference's;
      - a top-level member read with lt_json_get (or lt_json_scan_pick) and
        lt_json_text differs from jansson's value as the ledger prints it
        (whole, and cut short), or is of another type, or a string's
        lt_json_size is not json_string_length;
      - an array walked with lt_json_next has another length;
      - lt_json_canon of the root, or of any element of a top-level "data"
        array (the records the portal digests), differs by one byte from
        jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS |
        JSON_ENCODE_ANY) of the tree; the elements are appended one after
        the other to one buffer, and the members are compared after that,
        so the keys lt_json_scan_pick reads must outlive lt_json_canon.
    Built without libFuzzer, tests/fuzz/lt_fuzz_replay.c runs it over the
    seed corpus as an ordinary test.
*/
#include "lt_dossier_ref.h"
#include "lt_json_scan.h"
#include "lt_ledger_event.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_EVENTS 8

//  Abort with a reason (assert would vanish under NDEBUG).
#define S_CHECK(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_dossier_json: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

//  Events seen.
typedef struct {
    lt_ledger_event_t ev[S_MAX_EVENTS];   //  in order
    size_t count;                         //  how many
} s_seen_t;

static int s_collect(void *arg, const lt_ledger_event_t *ev, lt_err_t *err)
{
    (void) err;
    s_seen_t *seen = arg;
    S_CHECK(seen->count < S_MAX_EVENTS);
    seen->ev[seen->count++] = *ev;
    return 0;
}

//  ---------------------------------------------------------------------------
//  The comparisons

static void s_same_event(const lt_ledger_event_t *a, const lt_ledger_event_t *b)
{
    S_CHECK(a->event == b->event);
    S_CHECK(strcmp(a->item, b->item) == 0);
    S_CHECK(strcmp(a->origin, b->origin) == 0);
    S_CHECK(strcmp(a->doc, b->doc) == 0);
    S_CHECK(strcmp(a->agency, b->agency) == 0);
    S_CHECK(a->at == b->at);
    S_CHECK(a->electronic == b->electronic);
    S_CHECK(a->secret == b->secret);
    S_CHECK(a->sig == b->sig);
    S_CHECK(strcmp(a->signer, b->signer) == 0);
    S_CHECK(a->channel == b->channel);
    S_CHECK(strcmp(a->dim, b->dim) == 0);
    S_CHECK(a->attrs == b->attrs);
    S_CHECK(strcmp(a->detail, b->detail) == 0);
}

//  Each top-level member of an accepted object read both ways.
static void s_same_members(json_t *obj, lt_json_t root, lt_json_scan_t *scan)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        lt_json_t mine = lt_json_get(root, key), kept;
        S_CHECK(mine.at != NULL);
        lt_json_scan_pick(scan, &key, 1, &kept);
        S_CHECK(kept.at == mine.at);
        static const size_t sizes[] = {1, 5, 32, 256};
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            char want[256], got[256];
            lt_dossier_ref_text(obj, key, want, sizes[s]);
            lt_json_text(mine, got, sizes[s]);
            S_CHECK(strcmp(want, got) == 0);
        }
        lt_json_type_t type = lt_json_type(mine);
        S_CHECK(lt_json_size(mine) == (json_is_string(value) ? json_string_length(value) : 0));
        S_CHECK((type == LT_JSON_OBJECT) == json_is_object(value));
        S_CHECK((type == LT_JSON_ARRAY) == json_is_array(value));
        S_CHECK((type == LT_JSON_STRING) == json_is_string(value));
        S_CHECK((type == LT_JSON_INTEGER) == json_is_integer(value));
        S_CHECK((type == LT_JSON_REAL) == json_is_real(value));
        S_CHECK((type == LT_JSON_TRUE) == json_is_true(value));
        S_CHECK((type == LT_JSON_FALSE) == json_is_false(value));
        S_CHECK((type == LT_JSON_NULL) == json_is_null(value));
        if (json_is_array(value)) {
            size_t count = 0;
            lt_json_t cursor = mine, item;
            while (lt_json_next(&cursor, &item))
                count++;
            S_CHECK(count == json_array_size(value));
        }
    }
    //  A name only an escaped key can have.
    S_CHECK((lt_json_get(root, "\x01").at != NULL) == (json_object_get(obj, "\x01") != NULL));
}

//  Append the written form of value to out and compare it with jansson's.
static void s_same_canon(lt_json_scan_t *scan, lt_json_t value, json_t *tree, char **out,
                         size_t *len, size_t *cap)
{
    char *want = json_dumps(tree, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    S_CHECK(want);
    size_t before = *len;
    S_CHECK(lt_json_canon(scan, value, out, len, cap) == 0);
    size_t got = *len - before;
    if (got != strlen(want) || memcmp(*out + before, want, got) != 0)
        fprintf(stderr, "fuzz_dossier_json: lt_json_canon wrote\n%.*s\njansson\n%s\n",
                (int) got, *out + before, want);
    S_CHECK(got == strlen(want) && memcmp(*out + before, want, got) == 0);
    S_CHECK(*len < *cap && (*out)[*len] == 0);
    free(want);
}

//  The written form of the root and of each record of "data", both ways.
static void s_same_written(json_t *tree, lt_json_t root, lt_json_scan_t *scan)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    s_same_canon(scan, root, tree, &out, &len, &cap);
    json_t *data = json_object_get(tree, "data");
    if (json_is_array(data)) {
        lt_json_t cursor = lt_json_get(root, "data"), item;
        size_t i = 0;
        while (lt_json_next(&cursor, &item)) {
            S_CHECK(i < json_array_size(data));
            s_same_canon(scan, item, json_array_get(data, i++), &out, &len, &cap);
        }
        S_CHECK(i == json_array_size(data));
    }
    free(out);
}

//  Check one input.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    //  Acceptance, both ways.
    json_t *tree = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
    lt_json_scan_t *scan = lt_json_scan_new();
    S_CHECK(scan);
    lt_json_t root;
    lt_err_t err;
    lt_err_clear(&err);
    int rc = lt_json_scan_check(scan, data, size, &root, &err);
    if (tree == NULL)
        S_CHECK(rc == -1 && err.code == LT_EINVAL && err.detail[0]);
    else
        S_CHECK(rc == 0 && root.at != NULL);
    if (tree)
        s_same_written(tree, root, scan);
    if (tree && json_is_object(tree))
        s_same_members(tree, root, scan);
    if (tree)
        S_CHECK((lt_json_type(root) == LT_JSON_OBJECT) == json_is_object(tree));
    json_decref(tree);
    lt_json_scan_destroy(&scan);

    //  The events of a dossier record, both ways.
    lt_envelope_t *env = lt_envelope_new();
    S_CHECK(env);
    lt_envelope_set_kind(env, LT_KIND_DOSSIER);
    lt_envelope_set_key(env, "000.00.12.H26-260903-00001");
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_set_received(env, 1000);
    lt_envelope_set_payload_facts(env, data, size);
    s_seen_t want = {0}, got = {0};
    lt_err_clear(&err);
    S_CHECK(lt_dossier_ref_events(env, data, size, s_collect, &want, &err) == 0);
    S_CHECK(lt_ledger_events(env, data, size, NULL, 0, "H26", s_collect, &got, &err) == 0);
    S_CHECK(want.count == got.count);
    for (size_t i = 0; i < want.count; i++)
        s_same_event(&want.ev[i], &got.ev[i]);
    lt_envelope_destroy(&env);
    return 0;
}
