/*  lt_store_rules_test: self-test of the store's ordering and dedup rules
    (held follow-ups, replacements, dead letters blocking their lane,
    content dedup, broker-assigned ids, replayable rejects). Kept apart
    from lt_store.c's own test so each file stays readable. */
#include "lt_store.h"
#include "lt_id.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    uint64_t ids[16];      //  delivery ids seen
    uint64_t behind[16];   //  dead letter each waits behind
    char btype[16][32];    //  business types seen
    size_t count;          //  rows seen
} s_seen_t;

static int s_collect(void *arg, lt_store_row_t *row)
{
    s_seen_t *seen = arg;
    if (seen->count < 16) {
        seen->ids[seen->count] = row->delivery;
        seen->behind[seen->count] = row->behind;
        snprintf(seen->btype[seen->count], 32, "%s", lt_envelope_btype(row->envelope));
        seen->count++;
    }
    lt_store_row_destroy(&row);
    return 0;
}

//  Scan dest for READY deliveries into a fresh seen list.
static s_seen_t s_ready(lt_store_t *store, const char *dest)
{
    s_seen_t seen = {0};
    lt_err_t err;
    assert(lt_store_scan_ready(store, dest, 0, 16, s_collect, &seen, &err) == 0);
    return seen;
}

//  Put one message in the batch the caller opened; returns lt_store_put's
//  result.
static int s_put_in(lt_store_t *store, lt_kind_t kind, const char *key, const char *btype,
                    const char *replaces, const char *content, const char *preset_id,
                    const char *dest, bool *dup, char msgid[40], lt_err_t *err)
{
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, kind);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, btype);
    lt_envelope_set_replaces(env, replaces);
    lt_envelope_set_id(env, preset_id);
    lt_envelope_set_sender(env, "000.00.12.H26");
    lt_envelope_add_recipient(env, "000.00.00.G22");
    lt_envelope_set_payload_facts(env, content, strlen(content));
    const char *dests[] = {dest};
    const char *rcpts[] = {"000.00.00.G22"};
    int rc = lt_store_put(store, env, content, strlen(content), dests, rcpts, 1, dup, msgid, err);
    lt_envelope_destroy(&env);
    return rc;
}

//  Scan callback: keep the rows.
static int s_keep(void *arg, lt_store_row_t *row)
{
    lt_store_row_t **rows = arg;
    for (int i = 0; i < 4; i++)
        if (!rows[i]) {
            rows[i] = row;
            return 0;
        }
    lt_store_row_destroy(&row);
    return 0;
}

//  A store at path whose scans hand envelopes as stored, as lthubd's do.
static lt_store_t *s_packed_store(const char *path)
{
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    lt_store_set_packed_rows(store, true);
    return store;
}

//  Packed rows: a delivery that takes every recipient of its envelope is
//  scanned as the stored bytes (which decode to the envelope, whole); one
//  whose recipients were narrowed is scanned decoded and narrowed, as
//  before; reads other than the scans always decode.
static void s_test_packed_rows(const char *path)
{
    lt_err_t err;
    lt_store_t *store = s_packed_store(path);
    bool dup;
    char msgid[40];
    assert(lt_store_begin(store, &err) == 0);
    const char *codes[][2] = {{"000.00.31.H26", "000.00.32.H26"}, {"000.00.31.H26", NULL}};
    for (int m = 0; m < 2; m++) {
        lt_envelope_t *env = lt_envelope_new();
        lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
        lt_envelope_set_key(env, m ? "P2" : "P1");
        lt_envelope_set_btype(env, "new");
        lt_envelope_set_sender(env, "000.00.12.H26");
        for (int c = 0; c < 2 && codes[m][c]; c++)
            lt_envelope_add_recipient(env, codes[m][c]);
        lt_envelope_set_payload_facts(env, "x", 1);
        //  P1: one recipient each to p and q; P2: its only one to p.
        const char *dests[] = {"p", "q"};
        assert(lt_store_put(store, env, "x", 1, dests, codes[m], m ? 1 : 2, &dup, msgid, &err) ==
               0);
        lt_envelope_destroy(&env);
    }
    assert(lt_store_commit(store, &err) == 0);
    lt_store_row_t *rows[4] = {0};
    assert(lt_store_scan_ready(store, "p", 0, 4, s_keep, rows, &err) == 0);
    assert(rows[0] && rows[1] && !rows[2]);
    //  P1 to p: narrowed to its one recipient there.
    assert(rows[0]->envelope && !rows[0]->packed);
    assert(lt_envelope_recipients(rows[0]->envelope) == 1);
    assert(strcmp(lt_envelope_key(rows[0]->envelope), "P1") == 0);
    //  P2 to p: as stored.
    assert(!rows[1]->envelope && rows[1]->packed && rows[1]->packed_size > 0);
    lt_envelope_t *whole = lt_envelope_decode(rows[1]->packed, rows[1]->packed_size, &err);
    assert(whole && strcmp(lt_envelope_key(whole), "P2") == 0);
    assert(lt_envelope_recipients(whole) == 1);
    lt_store_row_t *got = lt_store_get(store, rows[1]->delivery, true);
    assert(got && got->envelope && !got->packed && lt_envelope_eq(got->envelope, whole));
    lt_store_row_destroy(&got);
    lt_envelope_destroy(&whole);
    for (int i = 0; i < 4; i++)
        lt_store_row_destroy(&rows[i]);
    //  Off: every scanned row is decoded.
    lt_store_set_packed_rows(store, false);
    assert(lt_store_scan_ready(store, "p", 0, 4, s_keep, rows, &err) == 0);
    assert(rows[1] && rows[1]->envelope && !rows[1]->packed);
    for (int i = 0; i < 4; i++)
        lt_store_row_destroy(&rows[i]);

    //  DONE given the lane its row had lets the next of the lane go; a
    //  lane that does not hold the delivery is not trusted (the row says
    //  which does), and the lane still moves.
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put_in(store, LT_KIND_DOCUMENT, "L", "new", NULL, "l0", NULL, "r", &dup, msgid,
                    &err) == 0);
    assert(s_put_in(store, LT_KIND_DOCUMENT, "L", "update", NULL, "l1", NULL, "r", &dup, msgid,
                    &err) == 0);
    assert(s_put_in(store, LT_KIND_DOCUMENT, "L", "update", NULL, "l2", NULL, "r", &dup, msgid,
                    &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    for (int step = 0; step < 3; step++) {
        assert(lt_store_scan_ready(store, "r", 0, 4, s_keep, rows, &err) == 0);
        assert(rows[0] && !rows[1] && rows[0]->lane_key != 0);   //  only the lane's head
        uint64_t next = step < 2 ? rows[0]->delivery + 1 : 0;
        assert(lt_store_lane_next(store, rows[0]->delivery) == next);
        assert(lt_store_begin(store, &err) == 0);
        uint64_t given = step == 1 ? rows[0]->lane_key ^ 1 : rows[0]->lane_key;
        assert(lt_store_done_in_lane(store, rows[0]->delivery, given, &err) == 0);
        assert(lt_store_commit(store, &err) == 0);
        lt_store_row_destroy(&rows[0]);
    }
    assert(lt_store_scan_ready(store, "r", 0, 4, s_keep, rows, &err) == 0 && !rows[0]);
    lt_store_counts_t counts;
    lt_store_counts(store, NULL, &counts);
    assert(counts.ready == 3 && counts.done == 3);   //  the three to p and q are left
    size_t lanes = 0, lane_bytes = 0;
    lt_store_lane_stats(store, &lanes, &lane_bytes);
    assert(lanes == 3);   //  P1's to p and to q, P2's to p: left READY
    lt_store_destroy(&store);
    lt_store_test_remove(path);
}

//  Overwrite the stored envelope of the message with business key key, as
//  damage on disk would, through a second connection.
static void s_spoil_envelope(const char *path, const char *key, const char *hex)
{
    sqlite3 *db = NULL;
    assert(sqlite3_open(path, &db) == SQLITE_OK);
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE messages SET envelope = X'%s' WHERE bkey = '%s'", hex,
             key);
    assert(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK && sqlite3_changes(db) == 1);
    sqlite3_close(db);
}

//  Scan callback: keep the row of the delivery in arg[0] (by id) in arg[1].
static int s_pick(void *arg, lt_store_row_t *row)
{
    void **ctx = arg;
    if (row->delivery == *(uint64_t *) ctx[0] && !ctx[1])
        ctx[1] = row;
    else
        lt_store_row_destroy(&row);
    return 0;
}

static bool s_envelope_error(const lt_store_row_t *row)
{
    return row && row->envelope && !row->packed && row->payload_error &&
           strncmp(row->payload_error, LT_STORE_ENVELOPE_UNREADABLE,
                   strlen(LT_STORE_ENVELOPE_UNREADABLE)) == 0 &&
           !row->payload;
}

//  A stored envelope that no longer decodes does not stop the scans at its
//  row (which would hold its destination for good) nor fail a listing: the
//  row comes with a blank envelope and the reason, for the relay to move to
//  the dead letters. Bytes that are one msgpack map go out as stored on a
//  first attempt (the scan does not decode them); from the second on they
//  are decoded, so a map that is no envelope is found then.
static void s_test_damaged_envelope(const char *path)
{
    lt_err_t err;
    lt_store_t *store = s_packed_store(path);
    bool dup;
    char msgid[40];
    assert(lt_store_begin(store, &err) == 0);
    const char *keys[] = {"E1", "E2", "E3"};
    for (int i = 0; i < 3; i++)
        assert(s_put_in(store, LT_KIND_DOCUMENT, keys[i], "new", NULL, keys[i], NULL, "e", &dup,
                        msgid, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    s_spoil_envelope(path, "E1", "c3");         //  true: not a map
    s_spoil_envelope(path, "E2", "81a46b696e64a178");   //  {"kind": "x"}: a map, no envelope
    lt_store_row_t *rows[4] = {0};
    assert(lt_store_scan_ready(store, "e", 0, 4, s_keep, rows, &err) == 0);
    assert(rows[0] && rows[1] && rows[2] && !rows[3]);
    assert(s_envelope_error(rows[0]));
    assert(strcmp(lt_envelope_key(rows[0]->envelope), "") == 0);   //  blank
    assert(rows[1]->packed && !rows[1]->payload_error);             //  as stored, first attempt
    assert(rows[2]->packed && !rows[2]->payload_error && rows[2]->payload_size == 2);
    uint64_t e1 = rows[0]->delivery, e2 = rows[1]->delivery;
    for (int i = 0; i < 4; i++)
        lt_store_row_destroy(&rows[i]);
    //  A read by id, as the relay's look at a delivery again: the same.
    lt_store_row_t *got = lt_store_get(store, e1, true);
    assert(s_envelope_error(got));
    lt_store_row_destroy(&got);
    //  E2's first attempt failed (its connector could not read it): the
    //  retry is decoded, and the damage found.
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_retry(store, e2, "TIMEOUT: no answer", lt_time_ms() - 1, &err) == 0);
    assert(lt_store_dead(store, e1, "envelope unreadable: test", &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    void *ctx[2] = {&e2, NULL};
    assert(lt_store_scan_due(store, "e", lt_time_ms(), 4, s_pick, ctx, &err) == 0);
    assert(s_envelope_error(ctx[1]));
    lt_store_row_destroy((lt_store_row_t **) &ctx[1]);
    //  The dead letter lists, with a blank envelope and its reason.
    ctx[0] = &e1;
    assert(lt_store_list_dead(store, 16, s_pick, ctx, &err) == 0);
    lt_store_row_t *dead = ctx[1];
    assert(dead && dead->envelope && dead->errors && strstr(dead->errors, "envelope unreadable"));
    lt_store_row_destroy(&dead);
    lt_store_destroy(&store);
    lt_store_test_remove(path);
}

//  Put one message in its own batch.
static int s_put(lt_store_t *store, lt_kind_t kind, const char *key, const char *btype,
                 const char *replaces, const char *content, const char *preset_id,
                 const char *dest, bool *dup, char msgid[40], lt_err_t *err)
{
    assert(lt_store_begin(store, err) == 0);
    int rc = s_put_in(store, kind, key, btype, replaces, content, preset_id, dest, dup, msgid,
                      err);
    lt_err_t commit_err;
    assert(lt_store_commit(store, &commit_err) == 0);
    return rc;
}

//  Apply one state change in its own batch.
static void s_change(lt_store_t *store, int (*fn)(lt_store_t *, uint64_t, lt_err_t *),
                     uint64_t delivery)
{
    lt_err_t err;
    assert(lt_store_begin(store, &err) == 0);
    assert(fn(store, delivery, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
}

static int s_count_rejects(void *arg, lt_store_reject_t *reject)
{
    (*(size_t *) arg)++;
    lt_store_reject_destroy(&reject);
    return 0;
}

void lt_store_rules_test(bool verbose)
{
    if (verbose)
        printf(" * lt_store_rules: ");
    char path[64];
    lt_store_test_path(path, sizeof(path), "lt_store_rules");
    lt_err_t err;
    lt_store_t *store = lt_store_new(path, &err);
    assert(store);
    bool dup;
    char msgid[40], first[40];

    //  Content dedup: the same document twice is one message; other content
    //  under the same DocumentId is a conflict named as such.
    assert(s_put(store, LT_KIND_DOCUMENT, "D1", "new", NULL, "v1", NULL, "a", &dup, first,
                 &err) == 0 && !dup);
    assert(s_put(store, LT_KIND_DOCUMENT, "D1", "new", NULL, "v1", NULL, "a", &dup, msgid,
                 &err) == 0 && dup && strcmp(msgid, first) == 0);
    assert(s_put(store, LT_KIND_DOCUMENT, "D1", "new", NULL, "v1 corrected", NULL, "a", &dup,
                 msgid, &err) == -1);
    assert(err.code == LT_EINVAL && strstr(err.detail, "'D1' conflict") &&
           strstr(err.detail, first));
    //  A changed update is a new revision; the same update again is not.
    assert(s_put(store, LT_KIND_DOCUMENT, "D1", "update", NULL, "u1", NULL, "a", &dup, msgid,
                 &err) == 0 && !dup);
    assert(s_put(store, LT_KIND_DOCUMENT, "D1", "update", NULL, "u1", NULL, "a", &dup, msgid,
                 &err) == 0 && dup);
    assert(s_put(store, LT_KIND_DOCUMENT, "D1", "update", NULL, "u2", NULL, "a", &dup, msgid,
                 &err) == 0 && !dup);
    lt_store_counts_t counts;
    lt_store_counts(store, NULL, &counts);
    assert(counts.messages == 3 && counts.ready == 3);
    lt_envelope_t *doc = lt_store_document(store, "D1");
    assert(doc && strcmp(lt_envelope_id(doc), first) == 0);
    lt_envelope_destroy(&doc);
    assert(lt_store_document(store, "nothing") == NULL);

    //  Ids are the store's: a publisher's id never merges two messages.
    char preset[LT_ID_LEN + 1], other[40];
    lt_id_new(preset);
    assert(s_put(store, LT_KIND_DOCUMENT, "D2", "new", NULL, "x", preset, "b", &dup, msgid,
                 &err) == 0 && !dup);
    assert(s_put(store, LT_KIND_DOCUMENT, "D3", "new", NULL, "y", preset, "b", &dup, other,
                 &err) == 0 && !dup);
    assert(strcmp(msgid, preset) != 0 && strcmp(other, preset) != 0 && strcmp(msgid, other));

    //  A follow-up whose document is unknown is held, then released behind
    //  the document when it comes.
    lt_store_set_hold(store, 60000);
    assert(s_put(store, LT_KIND_DOCUMENT, "D4", "revocation", NULL, "r", NULL, "c", &dup, msgid,
                 &err) == 0);
    assert(s_put(store, LT_KIND_STATUS, "D4", "03", NULL, "s", NULL, "c", &dup, msgid, &err) ==
           0);
    lt_store_counts(store, NULL, &counts);
    assert(counts.held == 2);
    assert(s_ready(store, "c").count == 0);
    assert(s_put(store, LT_KIND_DOCUMENT, "D4", "new", NULL, "d", NULL, "c", &dup, msgid,
                 &err) == 0);
    assert(lt_store_released(store) == 2);
    s_seen_t seen = s_ready(store, "c");
    assert(seen.count == 1 && strcmp(seen.btype[0], "new") == 0);
    uint64_t revocation = lt_store_lane_next(store, seen.ids[0]);
    assert(revocation > seen.ids[0]);
    s_change(store, lt_store_done, seen.ids[0]);
    seen = s_ready(store, "c");
    assert(seen.count == 1 && seen.ids[0] == revocation && strcmp(seen.btype[0], "revocation") == 0);
    s_change(store, lt_store_done, revocation);
    seen = s_ready(store, "c");
    assert(seen.count == 1 && strcmp(seen.btype[0], "03") == 0);
    lt_store_counts(store, NULL, &counts);
    assert(counts.held == 0);

    //  A progress step that comes before its dossier is held, then goes
    //  behind the dossier's first record; a step of a known dossier is not.
    assert(s_put(store, LT_KIND_PROGRESS, "HS-9", "step", NULL, "p1", NULL, "e", &dup, msgid,
                 &err) == 0);
    lt_store_counts(store, NULL, &counts);
    assert(counts.held == 1 && s_ready(store, "e").count == 0);
    assert(s_put(store, LT_KIND_DOSSIER, "HS-9", "new", NULL, "h1", NULL, "e", &dup, msgid,
                 &err) == 0);
    assert(lt_store_released(store) == 1);
    seen = s_ready(store, "e");
    assert(seen.count == 1 && strcmp(seen.btype[0], "new") == 0);
    uint64_t step = lt_store_lane_next(store, seen.ids[0]);
    assert(step > seen.ids[0]);
    s_change(store, lt_store_done, seen.ids[0]);
    seen = s_ready(store, "e");
    assert(seen.count == 1 && seen.ids[0] == step && strcmp(seen.btype[0], "step") == 0);
    s_change(store, lt_store_done, step);
    assert(s_put(store, LT_KIND_PROGRESS, "HS-9", "step-2", NULL, "p2", NULL, "e", &dup, msgid,
                 &err) == 0 && !dup);
    lt_store_counts(store, NULL, &counts);
    assert(counts.held == 0 && s_ready(store, "e").count == 1);
    s_change(store, lt_store_done, s_ready(store, "e").ids[0]);

    //  Past the hold, a follow-up goes anyway.
    assert(s_put(store, LT_KIND_STATUS, "D5", "01", NULL, "s5", NULL, "d", &dup, msgid, &err) ==
           0);
    assert(lt_store_begin(store, &err) == 0);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_release_expired(store, lt_time_ms(), 16, s_collect, &seen, &err) == 0);
    assert(seen.count == 0);
    assert(lt_store_release_expired(store, lt_time_ms() + 60001, 16, s_collect, &seen, &err) ==
           0);
    assert(seen.count == 1 && strcmp(seen.btype[0], "01") == 0);
    assert(lt_store_commit(store, &err) == 0);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_scan_due(store, "d", lt_time_ms(), 16, s_collect, &seen, &err) == 0);
    assert(seen.count == 1);

    //  A replacement is in the lane of the document it replaces, and is
    //  itself a document: its own follow-ups are not held.
    assert(s_put(store, LT_KIND_DOCUMENT, "D6", "new", NULL, "d6", NULL, "e", &dup, msgid,
                 &err) == 0);
    assert(s_put(store, LT_KIND_DOCUMENT, "D7", "replacement", "D6", "d7", NULL, "e", &dup,
                 msgid, &err) == 0);
    seen = s_ready(store, "e");
    assert(seen.count == 1 && strcmp(seen.btype[0], "new") == 0);
    assert(s_put(store, LT_KIND_STATUS, "D7", "01", NULL, "s7", NULL, "f", &dup, msgid, &err) ==
           0);
    assert(s_ready(store, "f").count == 1);

    //  A dead document holds back its lane until replayed or discarded.
    assert(s_put(store, LT_KIND_DOCUMENT, "D8", "new", NULL, "d8", NULL, "g", &dup, msgid,
                 &err) == 0);
    assert(s_put(store, LT_KIND_STATUS, "D8", "01", NULL, "s8", NULL, "g", &dup, msgid, &err) ==
           0);
    seen = s_ready(store, "g");
    assert(seen.count == 1);
    uint64_t dead = seen.ids[0];
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_dead(store, dead, "refused", &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_ready(store, "g").count == 0);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_list_blocked(store, 16, s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.behind[0] == dead && strcmp(seen.btype[0], "01") == 0);
    s_change(store, lt_store_discard, dead);
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_discard(store, dead, &err) == -1 && err.code == LT_ESTATE);
    lt_store_rollback(store);
    seen = s_ready(store, "g");
    assert(seen.count == 1 && strcmp(seen.btype[0], "01") == 0);
    lt_store_row_t *row = lt_store_get(store, dead, false);
    assert(row && row->state == LT_DELIVERY_DISCARDED && strstr(row->errors, "discarded"));
    lt_store_row_destroy(&row);
    lt_store_counts(store, NULL, &counts);
    assert(counts.discarded == 1 && counts.dead == 0);

    //  Keys where one begins with the other and '|' ("P" and "P|Q") share
    //  a range of the dedup key's index, which the lookups by key read:
    //  they stay apart all the same.
    assert(s_put(store, LT_KIND_DOCUMENT, "DP|Q", "new", NULL, "dpq", NULL, "h", &dup, first,
                 &err) == 0 && !dup);
    assert(lt_store_document(store, "DP") == NULL);
    assert(s_put(store, LT_KIND_DOCUMENT, "DP", "new", NULL, "dp", NULL, "h", &dup, other,
                 &err) == 0 && !dup);
    doc = lt_store_document(store, "DP");
    assert(doc && strcmp(lt_envelope_id(doc), other) == 0);
    lt_envelope_destroy(&doc);
    doc = lt_store_document(store, "DP|Q");
    assert(doc && strcmp(lt_envelope_id(doc), first) == 0);
    lt_envelope_destroy(&doc);
    //  The first of two (a replacement after the new one) is the one found.
    assert(s_put(store, LT_KIND_DOCUMENT, "DP", "replacement", "DP", "dp2", NULL, "h", &dup,
                 msgid, &err) == 0 && !dup);
    doc = lt_store_document(store, "DP");
    assert(doc && strcmp(lt_envelope_id(doc), other) == 0);
    lt_envelope_destroy(&doc);
    lt_store_counts(store, NULL, &counts);
    size_t held = counts.held;
    assert(s_put(store, LT_KIND_DOSSIER, "HS-P|Q", "new", NULL, "hpq", NULL, "h", &dup, msgid,
                 &err) == 0 && !dup);
    assert(s_put(store, LT_KIND_PROGRESS, "HS-P", "step", NULL, "pp", NULL, "h", &dup, msgid,
                 &err) == 0 && !dup);
    lt_store_counts(store, NULL, &counts);
    assert(counts.held == held + 1);
    assert(s_put(store, LT_KIND_PROGRESS, "HS-P|Q", "step", NULL, "ppq", NULL, "h", &dup, msgid,
                 &err) == 0 && !dup);
    lt_store_counts(store, NULL, &counts);
    assert(counts.held == held + 1);

    //  Lanes live in memory: a rolled-back batch takes its deliveries out
    //  of their lanes again; a lane of two destinations is two lanes.
    assert(s_put(store, LT_KIND_DOCUMENT, "L1", "new", NULL, "l1", NULL, "k", &dup, msgid,
                 &err) == 0);
    seen = s_ready(store, "k");
    assert(seen.count == 1);
    uint64_t l1 = seen.ids[0];
    assert(lt_store_begin(store, &err) == 0);
    assert(s_put_in(store, LT_KIND_STATUS, "L1", "01", NULL, "l1s", NULL, "k", &dup, msgid,
                    &err) == 0);
    assert(lt_store_lane_next(store, l1) > l1);
    lt_store_rollback(store);
    assert(lt_store_lane_next(store, l1) == 0);
    assert(s_put(store, LT_KIND_STATUS, "L1", "01", NULL, "l1s", NULL, "k2", &dup, msgid,
                 &err) == 0);
    assert(s_ready(store, "k2").count == 1 && lt_store_lane_next(store, l1) == 0);
    s_change(store, lt_store_done, s_ready(store, "k2").ids[0]);
    s_change(store, lt_store_done, l1);
    //  A dead letter and what waits behind it, kept across the reopen below.
    assert(s_put(store, LT_KIND_DOCUMENT, "L2", "new", NULL, "l2", NULL, "m", &dup, msgid,
                 &err) == 0);
    assert(s_put(store, LT_KIND_STATUS, "L2", "01", NULL, "l2s", NULL, "m", &dup, msgid,
                 &err) == 0);
    uint64_t l2 = s_ready(store, "m").ids[0];
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_dead(store, l2, "refused", &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    assert(s_ready(store, "m").count == 0);

    //  Rejected inputs keep their envelope and can be marked replayed.
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, LT_KIND_DOCUMENT);
    lt_envelope_set_key(env, "D9");
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_reject(store, "pub", LT_EROUTE, "no route", env, "p9", 2, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    lt_envelope_destroy(&env);
    size_t rejects = 0;
    assert(lt_store_list_rejects(store, 10, s_count_rejects, &rejects, &err) == 0);
    assert(rejects == 1);
    lt_store_reject_t *reject = lt_store_get_reject(store, 1, true);
    assert(reject && reject->code == LT_EROUTE && strcmp(reject->source, "pub") == 0);
    assert(reject->envelope && strcmp(lt_envelope_key(reject->envelope), "D9") == 0);
    assert(reject->size == 2 && memcmp(reject->data, "p9", 2) == 0 && !*reject->replayed);
    lt_store_reject_destroy(&reject);
    assert(lt_store_begin(store, &err) == 0);
    assert(lt_store_reject_replayed(store, 1, first, &err) == 0);
    assert(lt_store_commit(store, &err) == 0);
    reject = lt_store_get_reject(store, 1, false);
    assert(reject && strcmp(reject->replayed, first) == 0 && !reject->data);
    lt_store_reject_destroy(&reject);
    assert(lt_store_get_reject(store, 2, false) == NULL);

    //  Counters survive a reopen.
    lt_store_counts(store, NULL, &counts);
    lt_store_destroy(&store);
    store = lt_store_new(path, &err);
    assert(store);
    lt_store_counts_t again;
    lt_store_counts(store, NULL, &again);
    assert(memcmp(&again, &counts, sizeof(counts)) == 0);
    assert(!lt_store_full(store));
    //  The lanes were built again: L2's status still waits behind its dead
    //  document, and goes once the document is replayed and done.
    assert(s_ready(store, "m").count == 0);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_list_blocked(store, 16, s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.behind[0] == l2 && strcmp(seen.btype[0], "01") == 0);
    uint64_t l2s = seen.ids[0];
    assert(lt_store_lane_next(store, l2) == l2s);
    s_change(store, lt_store_replay, l2);
    memset(&seen, 0, sizeof(seen));
    assert(lt_store_scan_due(store, "m", lt_time_ms(), 16, s_collect, &seen, &err) == 0);
    assert(seen.count == 1 && seen.ids[0] == l2);
    s_change(store, lt_store_done, l2);
    seen = s_ready(store, "m");
    assert(seen.count == 1 && seen.ids[0] == l2s);
    lt_store_destroy(&store);
    lt_store_test_remove(path);
    s_test_packed_rows(path);
    s_test_damaged_envelope(path);
    if (verbose)
        printf("OK\n");
}
