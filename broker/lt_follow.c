/*  lt_follow: follow-up rules (see lt_follow.h). Pure functions over
    envelopes; the store and the broker apply them. */
#include "lt_follow.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

//  Return true when s equals one of the business types of a document's
//  follow-ups.
static bool s_document_follow_up(const char *btype)
{
    return strcmp(btype, "revocation") == 0 || strcmp(btype, "update") == 0;
}

const char *lt_follow_document(const lt_envelope_t *env)
{
    assert(env);
    lt_kind_t kind = lt_envelope_kind(env);
    const char *btype = lt_envelope_btype(env);
    if (kind == LT_KIND_STATUS)
        return lt_envelope_key(env);
    if (kind != LT_KIND_DOCUMENT)
        return NULL;
    if (strcmp(btype, "replacement") == 0)
        return *lt_envelope_replaces(env) ? lt_envelope_replaces(env) : NULL;
    return s_document_follow_up(btype) ? lt_envelope_key(env) : NULL;
}

const char *lt_follow_lane(const lt_envelope_t *env)
{
    assert(env);
    if (lt_envelope_kind(env) == LT_KIND_DOCUMENT &&
        strcmp(lt_envelope_btype(env), "replacement") == 0 && *lt_envelope_replaces(env))
        return lt_envelope_replaces(env);
    return lt_envelope_key(env);
}

bool lt_follow_is_document(const lt_envelope_t *env)
{
    assert(env);
    const char *btype = lt_envelope_btype(env);
    return lt_envelope_kind(env) == LT_KIND_DOCUMENT &&
           (strcmp(btype, "new") == 0 || strcmp(btype, "replacement") == 0);
}

const char *lt_follow_dossier(const lt_envelope_t *env)
{
    assert(env);
    return lt_envelope_kind(env) == LT_KIND_PROGRESS ? lt_envelope_key(env) : NULL;
}

bool lt_follow_is_dossier(const lt_envelope_t *env)
{
    assert(env);
    return lt_envelope_kind(env) == LT_KIND_DOSSIER;
}

//  Return true when code is one of the document's recipients.
static bool s_recipient(const lt_envelope_t *original, const char *code)
{
    for (size_t i = 0; i < lt_envelope_recipients(original); i++)
        if (strcmp(lt_envelope_recipient(original, i), code) == 0)
            return true;
    return false;
}

int lt_follow_entitled(const lt_envelope_t *env, const lt_envelope_t *original, lt_err_t *err)
{
    assert(env && original);
    const char *from = lt_envelope_sender(env);
    const char *owner = lt_envelope_sender(original);
    const char *btype = lt_envelope_btype(env);
    bool status = lt_envelope_kind(env) == LT_KIND_STATUS;
    //  Status 13 is the sender recalling its document (spec/edxml.md).
    bool by_sender = !status || strcmp(btype, "13") == 0;
    if (by_sender) {
        if (*from && strcmp(from, owner) == 0)
            return 0;
        return lt_err_set(err, LT_EFORBIDDEN,
                          "%s%s %s document '%.200s' comes from agency '%s', but only its "
                          "sender '%s' may send it",
                          status ? "status " : "", btype, status ? "about" : "of",
                          lt_envelope_key(env), from, owner),
               -1;
    }
    if (*from && s_recipient(original, from))
        return 0;
    return lt_err_set(err, LT_EFORBIDDEN,
                      "status %s about document '%.200s' comes from agency '%s', which is not "
                      "one of the document's %zu recipients",
                      btype, lt_envelope_key(env), from, lt_envelope_recipients(original)),
           -1;
}

//  ---------------------------------------------------------------------------
//  Self-test

static lt_envelope_t *s_env(lt_kind_t kind, const char *key, const char *btype,
                            const char *from, const char *to)
{
    lt_envelope_t *env = lt_envelope_new();
    assert(env);
    lt_envelope_set_kind(env, kind);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, btype);
    lt_envelope_set_sender(env, from);
    if (to)
        lt_envelope_add_recipient(env, to);
    return env;
}

void lt_follow_test(bool verbose)
{
    if (verbose)
        printf(" * lt_follow: ");
    const char *d1 = "000.00.12.H26,2026/09/03,215/STTTT-VP";
    const char *d2 = "000.00.12.H26,2026/09/20,230/STTTT-VP";
    lt_envelope_t *doc = s_env(LT_KIND_DOCUMENT, d1, "new", "000.00.12.H26", "000.00.00.G22");
    lt_envelope_add_recipient(doc, "000.00.13.H26");
    assert(lt_follow_is_document(doc) && lt_follow_document(doc) == NULL);
    assert(strcmp(lt_follow_lane(doc), d1) == 0);

    //  Revocation and update depend on their key; a replacement on the
    //  document it replaces, and its lane is that document's.
    lt_envelope_t *rev = s_env(LT_KIND_DOCUMENT, d1, "revocation", "000.00.12.H26", "x");
    assert(!lt_follow_is_document(rev) && strcmp(lt_follow_document(rev), d1) == 0);
    lt_envelope_t *rep = s_env(LT_KIND_DOCUMENT, d2, "replacement", "000.00.12.H26", "x");
    assert(lt_follow_document(rep) == NULL && strcmp(lt_follow_lane(rep), d2) == 0);
    lt_envelope_set_replaces(rep, d1);
    assert(lt_follow_is_document(rep));
    assert(strcmp(lt_follow_document(rep), d1) == 0 && strcmp(lt_follow_lane(rep), d1) == 0);
    lt_envelope_t *dossier = s_env(LT_KIND_DOSSIER, "HS-1", "new", "", NULL);
    assert(lt_follow_document(dossier) == NULL && !lt_follow_is_document(dossier));

    //  Entitlement: the sender for document follow-ups and recalls...
    lt_err_t err;
    assert(lt_follow_entitled(rev, doc, &err) == 0);
    assert(lt_follow_entitled(rep, doc, &err) == 0);
    lt_envelope_set_sender(rev, "000.00.99.H26");
    assert(lt_follow_entitled(rev, doc, &err) == -1 && err.code == LT_EFORBIDDEN);
    assert(strstr(err.detail, "'000.00.99.H26'") && strstr(err.detail, "'000.00.12.H26'"));
    lt_envelope_set_sender(rev, "");
    assert(lt_follow_entitled(rev, doc, &err) == -1);
    //  ... a recipient for statuses.
    lt_envelope_t *st = s_env(LT_KIND_STATUS, d1, "03", "000.00.13.H26", "000.00.12.H26");
    assert(strcmp(lt_follow_document(st), d1) == 0);
    assert(lt_follow_entitled(st, doc, &err) == 0);
    lt_envelope_set_sender(st, "000.00.12.H26");
    assert(lt_follow_entitled(st, doc, &err) == -1 && strstr(err.detail, "recipients"));
    lt_envelope_set_btype(st, "13");
    assert(lt_follow_entitled(st, doc, &err) == 0);
    lt_envelope_set_sender(st, "000.00.00.G22");
    assert(lt_follow_entitled(st, doc, &err) == -1 && strstr(err.detail, "only its sender"));

    lt_envelope_t *all[] = {doc, rev, rep, dossier, st};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        lt_envelope_destroy(&all[i]);
    if (verbose)
        printf("OK\n");
}
