/*  lthub-sim dms: a provincial DMS as a client of an edoc API server (the
    hub's lthub-dms, or `lthub-sim axis`, which speaks the same API), for
    traffic, fault and dedup tests (spec/peers.md A, D).

      lthub-sim dms --url URL --system ID --secret-file F --agency CODE
                    --to CODE[,CODE...] [--count N] [--rate R] [--seed S]
                    [--mix signed=60,unsigned=30,paper=10] [--replies P]
                    [--statuses P] [--revocations P] [--status-code CODE]
                    [--poll] [--poll-for S] [--retries N] [--date yyyy/MM/dd]
                    [--fixtures DIR] [--ca-file F] [--timeout MS] [--json]

    It sends --count documents at --rate per second as agency --agency,
    each to one or two codes of --to, built with the lt_edxml writer: signed
    (the fixture pdf/signed.pdf attached), unsigned (pdf/unsigned.pdf), or a
    paper register line (registerDocuments) instead, drawn by --mix. With
    the given percentages a document is a reply (ResponseFor an earlier
    document: one received when polling, else one it sent), and is followed
    at once by its revocation (BussinessDocType 1) and by a status package
    about it (--status-code, default 13: the sender recalls; addressed to
    its first recipient, so it travels the document's lane). With --poll it
    also empties its own mailbox between sends and for --poll-for seconds
    after the last (list, getEdoc, read, updateStatus done, or fail with the
    reader's reason). Transient failures are retried --retries times.

    The same --seed (and --date, default today) gives the same packages and
    DocumentIds (`<agency>,<date>,<n>/S<seed>-VP`), so a second run is a
    resend the hub must deduplicate. At the end it prints a summary (sent,
    ok, failed, received; per kind), or JSON with --json; exit 0 when
    nothing failed, 1 otherwise, 2 on a usage error.
*/
#include "lt_edoc_client.h"
#include "lt_edxml.h"
#include "lt_id.h"
#include "sim.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_REMEMBER   256                     //  documents remembered for replies
#define S_MAX_TO     16                      //  --to codes
#define S_MAX_PDF    (16u * 1024 * 1024)     //  largest fixture PDF read
#define S_MAX_ERRORS 10                      //  distinct errors kept for the summary

//  What one generated item is.
typedef enum {
    S_SIGNED = 0,     //  document with a signed PDF
    S_UNSIGNED,       //  document with an unsigned PDF
    S_PAPER,          //  paper register line
    S_REVOCATION,     //  revocation of a document sent just before
    S_STATUS,         //  status package about a document sent just before
    S_KINDS           //  count, not a kind
} s_kind_t;

static const char *s_kind_names[S_KINDS] = {"signed", "unsigned", "paper", "revocations",
                                            "statuses"};

//  Calls per kind.
typedef struct {
    uint64_t sent;     //  items attempted
    uint64_t ok;       //  accepted by the server
    uint64_t failed;   //  refused, or still failing after the retries
} s_count_t;

//  A document the generator knows: sent by it or received in its mailbox.
typedef struct {
    char id[192];          //  DocumentId
    char organ[64];        //  sender agency code
    char code[96];         //  Code as text: number/notation
    char date[16];         //  PromulgationDate yyyy/MM/dd
    char to[64];           //  first recipient
} s_doc_t;

//  The generator: options, client, memory, counters.
typedef struct {
    const char *url, *system, *secret_file, *agency, *ca_file, *fixtures;   //  options
    char *to[S_MAX_TO];             //  --to codes
    size_t to_count;                //  entries in to
    long long count, seed, retries, timeout_ms;   //  --count, --seed, --retries, --timeout
    double rate, poll_for;          //  --rate (0: no pacing), --poll-for seconds
    int mix[3];                     //  weights of signed, unsigned, paper
    int replies, statuses, revocations;   //  percentages
    const char *status_code;        //  --status-code
    char date[16];                  //  --date or today
    bool poll, json;                //  --poll, --json
    lt_edoc_client_t *client;       //  the edoc API client
    uint64_t rng;                   //  random state
    unsigned char *pdf[2];          //  signed and unsigned fixture bytes
    size_t pdf_size[2];             //  their sizes
    s_doc_t sent[S_REMEMBER];       //  documents sent (ring)
    size_t sent_n;                  //  documents ever remembered in sent
    s_doc_t received[S_REMEMBER];   //  documents received (ring)
    size_t received_n;              //  documents ever remembered in received
    s_count_t counts[S_KINDS];      //  per kind
    uint64_t replies_sent;          //  documents that were replies
    uint64_t retried;               //  retries of transient failures
    uint64_t polled;                //  items listed in the mailbox
    uint64_t received_ok;           //  items fetched, read and acknowledged done
    uint64_t received_bad;          //  items unreadable, acknowledged fail
    uint64_t receive_failed;        //  list/fetch/acknowledge failures
    json_t *errors;                 //  distinct failure details (at most S_MAX_ERRORS)
    bool interrupted;               //  stopped by a signal
} s_gen_t;

//  Next pseudo-random number (splitmix64), reproducible from --seed.
static uint64_t s_random(s_gen_t *g)
{
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

//  True with probability percent/100.
static bool s_chance(s_gen_t *g, int percent)
{
    return percent > 0 && (int) (s_random(g) % 100) < percent;
}

//  Keep a failure detail for the summary (each distinct one once).
static void s_error(s_gen_t *g, const char *detail)
{
    for (size_t i = 0; i < json_array_size(g->errors); i++)
        if (strcmp(json_string_value(json_array_get(g->errors, i)), detail) == 0)
            return;
    if (json_array_size(g->errors) < S_MAX_ERRORS)
        json_array_append_new(g->errors, json_string(detail));
}

//  Wait ms, or stop early on SIGINT/SIGTERM (remembered).
static void s_wait(s_gen_t *g, int64_t ms)
{
    if (ms > 0 && !g->interrupted && sim_wait_signal(ms))
        g->interrupted = true;
}

//  Fill an organisation block for an agency code.
static lt_edxml_organ_t s_organ(const char *code)
{
    static const lt_edxml_organ_t base = {.organization_in_charge = "UBND tỉnh Mẫu",
                                          .organ_add = "Thành phố Mẫu",
                                          .email = "vanthu@mau.gov.vn",
                                          .telephone = "0220 3800 000",
                                          .fax = "",
                                          .website = "mau.gov.vn"};
    lt_edxml_organ_t organ = base;
    organ.organ_id = (char *) code;
    organ.organ_name = (char *) code;
    return organ;
}

//  Remember a document in a ring.
static void s_remember(s_doc_t *ring, size_t *n, const s_doc_t *doc)
{
    ring[*n % S_REMEMBER] = *doc;
    (*n)++;
}

//  Send a package with retries; count it under kind. True when accepted.
static bool s_send(s_gen_t *g, s_kind_t kind, lt_edxml_t *package, const char *label)
{
    s_count_t *c = &g->counts[kind];
    c->sent++;
    uint8_t *data = NULL;
    size_t size = 0;
    lt_err_t err;
    if (lt_edxml_write(package, &data, &size, &err)) {
        c->failed++;
        s_error(g, err.detail);
        return false;
    }
    const char *type = lt_edxml_is_status(package) ? "status" : "edoc";
    char filename[96], doc_id[128];
    snprintf(filename, sizeof(filename), "%s.edxml", label);
    lt_edoc_outcome_t outcome = LT_EDOC_TRANSIENT;
    for (long long attempt = 0; attempt <= g->retries && !g->interrupted; attempt++) {
        if (attempt > 0) {
            g->retried++;
            s_wait(g, 200 * attempt);
        }
        outcome = lt_edoc_client_send(g->client, data, size, type, NULL, 0, filename, doc_id,
                                      &err);
        if (outcome != LT_EDOC_TRANSIENT)
            break;
    }
    free(data);
    if (outcome == LT_EDOC_OK) {
        c->ok++;
        return true;
    }
    c->failed++;
    s_error(g, err.detail);
    return false;
}

//  Build and send document n (signed or unsigned), maybe a reply, then
//  maybe its revocation and a status about it.
static void s_document(s_gen_t *g, long long n, s_kind_t kind)
{
    s_doc_t doc = {0};
    snprintf(doc.code, sizeof(doc.code), "%lld/S%lld-VP", n, g->seed);
    snprintf(doc.id, sizeof(doc.id), "%s,%s,%s", g->agency, g->date, doc.code);
    snprintf(doc.organ, sizeof(doc.organ), "%s", g->agency);
    snprintf(doc.date, sizeof(doc.date), "%s", g->date);
    //  A reply answers a received document (to its sender) when there is
    //  one, else one of ours; the draw happens either way, for reproducibility.
    bool reply = s_chance(g, g->replies);
    uint64_t pick = s_random(g);
    const s_doc_t *about = NULL;
    bool answering = reply && g->received_n;
    if (answering)
        about = &g->received[pick % (g->received_n < S_REMEMBER ? g->received_n : S_REMEMBER)];
    else if (reply && g->sent_n)
        about = &g->sent[pick % (g->sent_n < S_REMEMBER ? g->sent_n : S_REMEMBER)];
    size_t first = (size_t) (s_random(g) % g->to_count);
    size_t recipients = g->to_count > 1 && s_random(g) % 2 ? 2 : 1;
    const char *to[2] = {g->to[first], g->to[(first + 1) % g->to_count]};
    if (answering && strcmp(about->organ, g->agency) != 0) {
        to[0] = about->organ;   //  answering a received document: back to its sender
        recipients = 1;
    }
    snprintf(doc.to, sizeof(doc.to), "%s", to[0]);

    lt_edxml_t *package = lt_edxml_new_document();
    char number[32], subject[256], stamp[32];
    snprintf(number, sizeof(number), "%lld", n);
    snprintf(subject, sizeof(subject), "V/v văn bản thử nghiệm số %lld (seed %lld)%s", n, g->seed,
             about ? ", trả lời văn bản đến" : "");
    lt_edxml_organ_t from = s_organ(g->agency);
    int rc = lt_edxml_set_from(package, &from);
    for (size_t i = 0; i < recipients; i++) {
        lt_edxml_organ_t organ = s_organ(to[i]);
        rc |= lt_edxml_add_to(package, &organ);
    }
    char notation[64];
    snprintf(notation, sizeof(notation), "S%lld-VP", g->seed);
    rc |= lt_edxml_set(package, LT_EDXML_DOCUMENT_ID, doc.id);
    rc |= lt_edxml_set(package, LT_EDXML_CODE_NUMBER, number);
    rc |= lt_edxml_set(package, LT_EDXML_CODE_NOTATION, notation);
    rc |= lt_edxml_set(package, LT_EDXML_PLACE, "Thành phố Mẫu");
    rc |= lt_edxml_set(package, LT_EDXML_PROMULGATION_DATE, g->date);
    rc |= lt_edxml_set(package, LT_EDXML_TYPE, "1");
    rc |= lt_edxml_set(package, LT_EDXML_TYPE_DETAIL, "0");
    rc |= lt_edxml_set(package, LT_EDXML_TYPE_NAME, "Công văn");
    rc |= lt_edxml_set(package, LT_EDXML_SUBJECT, subject);
    rc |= lt_edxml_set(package, LT_EDXML_CONTENT, subject);
    rc |= lt_edxml_set(package, LT_EDXML_COMPETENCE, "KT. GIÁM ĐỐC");
    rc |= lt_edxml_set(package, LT_EDXML_POSITION, "Phó Giám đốc");
    rc |= lt_edxml_set(package, LT_EDXML_FULL_NAME, "Nguyễn Văn A");
    rc |= lt_edxml_set(package, LT_EDXML_PRIORITY, "0");
    rc |= lt_edxml_set(package, LT_EDXML_STEERING_TYPE, "0");
    rc |= lt_edxml_set(package, LT_EDXML_BUSINESS_DOC_TYPE, "0");
    rc |= lt_edxml_set(package, LT_EDXML_PAPER, "0");
    rc |= lt_edxml_add_place(package, "Như trên");
    if (about) {
        lt_edxml_response_t response = {.organ_id = (char *) about->organ,
                                        .code = (char *) about->code,
                                        .promulgation_date = (char *) about->date,
                                        .document_id = (char *) about->id};
        rc |= lt_edxml_add_response(package, &response);
        g->replies_sent++;
    }
    sim_format_time(lt_time_ms(), stamp);
    for (char *c = stamp; *c; c++)
        *c = *c == '-' ? '/' : *c;
    rc |= lt_edxml_append_trace(package, g->agency, stamp);
    int pdf = kind == S_SIGNED ? 0 : 1;
    char attachment[96];
    snprintf(attachment, sizeof(attachment), "%lld-S%lld-VP.pdf", n, g->seed);
    rc |= lt_edxml_add_attachment(package, attachment, "application/pdf", attachment, g->pdf[pdf],
                                  g->pdf_size[pdf]);
    if (rc) {
        g->counts[kind].sent++;
        g->counts[kind].failed++;
        s_error(g, "out of memory building a package");
        lt_edxml_destroy(&package);
        return;
    }
    char label[64];
    snprintf(label, sizeof(label), "doc-%lld", n);
    bool sent = s_send(g, kind, package, label);
    if (sent)
        s_remember(g->sent, &g->sent_n, &doc);

    //  The revocation: the same header, BussinessDocType 1, no attachment.
    if (s_chance(g, g->revocations) && sent) {
        lt_edxml_t *revocation = lt_edxml_new_document();
        rc = lt_edxml_set_from(revocation, &from);
        for (size_t i = 0; i < lt_edxml_to_count(package); i++)
            rc |= lt_edxml_add_to(revocation, lt_edxml_to(package, i));
        for (lt_edxml_field_t f = LT_EDXML_DOCUMENT_ID; f <= LT_EDXML_STEERING_TYPE; f++)
            rc |= lt_edxml_set(revocation, f, lt_edxml_get(package, f));
        rc |= lt_edxml_set(revocation, LT_EDXML_BUSINESS_DOCUMENT_ID, doc.id);
        rc |= lt_edxml_set(revocation, LT_EDXML_BUSINESS_DOC_TYPE, "1");
        rc |= lt_edxml_set(revocation, LT_EDXML_BUSINESS_REASON, "Thu hồi để sửa sai sót");
        rc |= lt_edxml_set(revocation, LT_EDXML_PAPER, "0");
        rc |= lt_edxml_append_trace(revocation, g->agency, stamp);
        snprintf(label, sizeof(label), "rev-%lld", n);
        if (rc)
            g->counts[S_REVOCATION].failed++, g->counts[S_REVOCATION].sent++;
        else
            s_send(g, S_REVOCATION, revocation, label);
        lt_edxml_destroy(&revocation);
    }
    //  The status about it, addressed to its first recipient.
    if (s_chance(g, g->statuses) && sent) {
        lt_edxml_t *status = lt_edxml_new_status();
        lt_edxml_response_t response = {.organ_id = doc.to,
                                        .code = doc.code,
                                        .promulgation_date = doc.date,
                                        .document_id = doc.id};
        lt_edxml_staff_t staff = {.department = "Văn thư", .staff = "Trần Thị B",
                                  .email = "vanthu@mau.gov.vn", .mobile = "0912000000"};
        rc = lt_edxml_set_from(status, &from);
        rc |= lt_edxml_add_response(status, &response);
        rc |= lt_edxml_set_staff(status, &staff);
        rc |= lt_edxml_set(status, LT_EDXML_STATUS_CODE, g->status_code);
        rc |= lt_edxml_set(status, LT_EDXML_DESCRIPTION,
                           lt_edxml_status_name(g->status_code)
                               ? lt_edxml_status_name(g->status_code)
                               : "");
        rc |= lt_edxml_set(status, LT_EDXML_TIMESTAMP, stamp);
        snprintf(label, sizeof(label), "status-%lld", n);
        if (rc)
            g->counts[S_STATUS].failed++, g->counts[S_STATUS].sent++;
        else
            s_send(g, S_STATUS, status, label);
        lt_edxml_destroy(&status);
    }
    lt_edxml_destroy(&package);
}

//  Send paper register line n (registerDocuments).
static void s_paper(s_gen_t *g, long long n)
{
    s_count_t *c = &g->counts[S_PAPER];
    c->sent++;
    char id[192], stamp[32];
    snprintf(id, sizeof(id), "%s,%s,%lld/S%lld-VP", g->agency, g->date, n, g->seed);
    snprintf(stamp, sizeof(stamp), "%s 08:%02lld:00", g->date, n % 60);
    bool incoming = s_random(g) % 4 == 0;
    json_t *body = json_pack(
        "{s:[{s:s, s:s, s:s, s:s, s:b, s:s, s:s}]}", "entries", "documentId", id, "organId",
        g->agency, "direction", incoming ? "in" : "out", "channel", "paper", "secret", 0,
        "registeredAt", stamp, "subject", "V/v văn bản giấy thử nghiệm");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    lt_err_t err;
    lt_edoc_outcome_t outcome = LT_EDOC_PERMANENT;
    lt_err_set(&err, LT_ENOMEM, "out of memory building a register line");
    for (long long attempt = 0; text && attempt <= g->retries && !g->interrupted; attempt++) {
        if (attempt > 0) {
            g->retried++;
            s_wait(g, 200 * attempt);
        }
        outcome = lt_edoc_client_post_json(g->client, "registerDocuments", text, NULL, &err);
        if (outcome != LT_EDOC_TRANSIENT)
            break;
    }
    free(text);
    if (outcome == LT_EDOC_OK)
        c->ok++;
    else {
        c->failed++;
        s_error(g, err.detail);
    }
}

//  Empty the mailbox once: list both message types, fetch, read,
//  acknowledge done (or fail with the reader's reason).
static void s_poll(s_gen_t *g)
{
    const char *types[] = {"edoc", "status"};
    for (size_t t = 0; t < 2; t++) {
        lt_edoc_item_t *items = NULL;
        size_t count = 0;
        lt_err_t err;
        if (lt_edoc_client_list(g->client, types[t], &items, &count, &err) != LT_EDOC_OK) {
            g->receive_failed++;
            s_error(g, err.detail);
            continue;
        }
        for (size_t i = 0; i < count && !g->interrupted; i++) {
            g->polled++;
            uint8_t *data = NULL;
            size_t size = 0;
            if (lt_edoc_client_get(g->client, items[i].doc_id, &data, &size, NULL, NULL, &err)
                != LT_EDOC_OK) {
                g->receive_failed++;
                s_error(g, err.detail);
                continue;
            }
            lt_err_t perr;
            lt_edxml_t *package = lt_edxml_read(data, size, NULL, &perr);
            free(data);
            if (package && !lt_edxml_is_status(package)) {
                s_doc_t doc = {0};
                snprintf(doc.id, sizeof(doc.id), "%s", lt_edxml_document_id(package));
                snprintf(doc.organ, sizeof(doc.organ), "%s", lt_edxml_from(package)->organ_id);
                snprintf(doc.code, sizeof(doc.code), "%s/%s",
                         lt_edxml_get(package, LT_EDXML_CODE_NUMBER),
                         lt_edxml_get(package, LT_EDXML_CODE_NOTATION));
                snprintf(doc.date, sizeof(doc.date), "%s",
                         lt_edxml_get(package, LT_EDXML_PROMULGATION_DATE));
                snprintf(doc.to, sizeof(doc.to), "%s", g->agency);
                s_remember(g->received, &g->received_n, &doc);
            }
            lt_edoc_outcome_t outcome
                = package ? lt_edoc_client_update(g->client, items[i].doc_id, "done", NULL, &err)
                          : lt_edoc_client_update(g->client, items[i].doc_id, "fail",
                                                  perr.detail, &err);
            if (outcome != LT_EDOC_OK) {
                g->receive_failed++;
                s_error(g, err.detail);
            }
            else if (package)
                g->received_ok++;
            else
                g->received_bad++;
            lt_edxml_destroy(&package);
        }
        free(items);
    }
}

//  Print the summary as text or JSON.
static void s_summary(s_gen_t *g, double seconds)
{
    s_count_t total = {0};
    json_t *kinds = json_object();
    for (int k = 0; k < S_KINDS; k++) {
        total.sent += g->counts[k].sent;
        total.ok += g->counts[k].ok;
        total.failed += g->counts[k].failed;
        json_object_set_new(kinds, s_kind_names[k],
                            json_pack("{s:I, s:I, s:I}", "sent", (json_int_t) g->counts[k].sent,
                                      "ok", (json_int_t) g->counts[k].ok, "failed",
                                      (json_int_t) g->counts[k].failed));
    }
    if (g->json) {
        json_t *out = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:s, s:s, s:f, s:b, s:O}", "sent",
            (json_int_t) total.sent, "ok", (json_int_t) total.ok, "failed",
            (json_int_t) total.failed, "received", (json_int_t) g->received_ok,
            "received_unreadable", (json_int_t) g->received_bad, "receive_failed",
            (json_int_t) g->receive_failed, "retried", (json_int_t) g->retried, "replies",
            (json_int_t) g->replies_sent, "kinds", kinds, "seed", (json_int_t) g->seed, "date",
            g->date, "agency", g->agency, "seconds", seconds, "interrupted", g->interrupted,
            "errors", g->errors);
        char *text = out ? json_dumps(out, JSON_INDENT(2)) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(out);
        return;
    }
    printf("lthub-sim dms: agency %s, seed %lld, %.1f s%s\n", g->agency, g->seed, seconds,
           g->interrupted ? " (interrupted)" : "");
    printf("  sent %llu  ok %llu  failed %llu  retried %llu\n", (unsigned long long) total.sent,
           (unsigned long long) total.ok, (unsigned long long) total.failed,
           (unsigned long long) g->retried);
    for (int k = 0; k < S_KINDS; k++)
        printf("    %-12s sent %llu  ok %llu  failed %llu\n", s_kind_names[k],
               (unsigned long long) g->counts[k].sent, (unsigned long long) g->counts[k].ok,
               (unsigned long long) g->counts[k].failed);
    printf("    %-12s %llu\n", "replies", (unsigned long long) g->replies_sent);
    printf("  received %llu  unreadable %llu  receive failures %llu\n",
           (unsigned long long) g->received_ok, (unsigned long long) g->received_bad,
           (unsigned long long) g->receive_failed);
    size_t i;
    json_t *value;
    json_array_foreach(g->errors, i, value) printf("  error: %s\n", json_string_value(value));
    json_decref(kinds);
}

//  Parse --mix "signed=60,unsigned=30,paper=10"; -1 when malformed.
static int s_parse_mix(s_gen_t *g, const char *text)
{
    int mix[3] = {0, 0, 0};
    const char *names[3] = {"signed", "unsigned", "paper"};
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return -1;
        int which = -1;
        for (int k = 0; k < 3; k++)
            if ((size_t) (eq - p) == strlen(names[k]) && strncmp(p, names[k], strlen(names[k])) == 0)
                which = k;
        char number[16];
        snprintf(number, sizeof(number), "%.*s", (int) (len - (size_t) (eq - p) - 1), eq + 1);
        long long weight;
        if (which < 0 || !sim_parse_long(number, 0, 1000000, &weight))
            return -1;
        mix[which] = (int) weight;
        p += len + (p[len] == ',');
    }
    if (mix[0] + mix[1] + mix[2] == 0)
        return -1;
    memcpy(g->mix, mix, sizeof(mix));
    return 0;
}

//  Read the fixture PDFs the mix needs; -1 with a message.
static int s_load_pdfs(s_gen_t *g)
{
    const char *names[2] = {"signed.pdf", "unsigned.pdf"};
    for (int i = 0; i < 2; i++) {
        if (g->mix[i] == 0)
            continue;
        if (!g->fixtures || !*g->fixtures) {
            fprintf(stderr, "lthub-sim dms: --fixtures DIR (or LT_FIXTURES) is needed for "
                            "signed and unsigned documents\n");
            return -1;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/pdf/%s", g->fixtures, names[i]);
        lt_err_t err;
        g->pdf[i] = sim_read_file(path, S_MAX_PDF, &g->pdf_size[i], &err);
        if (!g->pdf[i]) {
            fprintf(stderr, "lthub-sim dms: %s\n", err.detail);
            return -1;
        }
    }
    return 0;
}

//  Print the usage of the dms mode.
static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: lthub-sim dms --url URL --system ID --secret-file F --agency CODE\n"
            "                     --to CODE[,CODE...] [options]\n"
            "  --count N          documents to send (default 10)\n"
            "  --rate R           documents per second (default 10; 0: as fast as possible)\n"
            "  --seed S           seed of every random choice (default 1)\n"
            "  --mix SPEC         weights, e.g. signed=60,unsigned=30,paper=10 (the default)\n"
            "  --replies P        percent of documents that reply to an earlier one (0)\n"
            "  --revocations P    percent followed at once by their revocation (0)\n"
            "  --statuses P       percent followed at once by a status about them (0)\n"
            "  --status-code C    StatusCode of those statuses (default 13)\n"
            "  --poll             also empty the mailbox (list, getEdoc, updateStatus)\n"
            "  --poll-for S       keep polling S seconds after the last send (default 0)\n"
            "  --retries N        retries of a transient failure (default 3)\n"
            "  --date yyyy/MM/dd  promulgation date in the DocumentIds (default today)\n"
            "  --fixtures DIR     fixtures with pdf/signed.pdf, pdf/unsigned.pdf\n"
            "                     (default $LT_FIXTURES)\n"
            "  --ca-file F        CA file for https\n"
            "  --timeout MS       whole-call timeout (default 30000)\n"
            "  --json             print the summary as JSON\n");
}

//  Parse the options into g; 0, or 2 after printing why (1 for --help).
static int s_options(s_gen_t *g, int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            s_usage(stdout);
            return 1;
        }
        if (strcmp(name, "--poll") == 0) {
            g->poll = true;
            continue;
        }
        if (strcmp(name, "--json") == 0) {
            g->json = true;
            continue;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        long long number = 0;
        bool ok = true;
        if (!value)
            ok = false;
        else if (strcmp(name, "--url") == 0)
            g->url = value;
        else if (strcmp(name, "--system") == 0)
            g->system = value;
        else if (strcmp(name, "--secret-file") == 0)
            g->secret_file = value;
        else if (strcmp(name, "--agency") == 0)
            g->agency = value;
        else if (strcmp(name, "--ca-file") == 0)
            g->ca_file = value;
        else if (strcmp(name, "--fixtures") == 0)
            g->fixtures = value;
        else if (strcmp(name, "--status-code") == 0)
            ok = lt_edxml_status_code_valid(g->status_code = value);
        else if (strcmp(name, "--date") == 0)
            ok = strlen(value) == 10 && value[4] == '/' && value[7] == '/'
                 && snprintf(g->date, sizeof(g->date), "%s", value) == 10;
        else if (strcmp(name, "--to") == 0) {
            for (const char *code = value; *code && ok;) {
                size_t len = strcspn(code, ",");
                if (len > 0) {
                    ok = g->to_count < S_MAX_TO && len < 64;
                    if (ok)
                        g->to[g->to_count++] = strndup(code, len);
                }
                code += len + (code[len] == ',');
            }
        }
        else if (strcmp(name, "--mix") == 0)
            ok = s_parse_mix(g, value) == 0;
        else if (strcmp(name, "--count") == 0)
            ok = sim_parse_long(value, 0, 100000000, &g->count);
        else if (strcmp(name, "--seed") == 0)
            ok = sim_parse_long(value, 0, 1000000000000LL, &g->seed);
        else if (strcmp(name, "--retries") == 0)
            ok = sim_parse_long(value, 0, 100, &g->retries);
        else if (strcmp(name, "--timeout") == 0)
            ok = sim_parse_long(value, 1, 3600000, &g->timeout_ms);
        else if (strcmp(name, "--rate") == 0)
            ok = sim_parse_double(value, 0, 100000, &g->rate);
        else if (strcmp(name, "--poll-for") == 0)
            ok = sim_parse_double(value, 0, 86400, &g->poll_for);
        else if (strcmp(name, "--replies") == 0 || strcmp(name, "--statuses") == 0
                 || strcmp(name, "--revocations") == 0) {
            ok = sim_parse_long(value, 0, 100, &number);
            int *slot = strcmp(name, "--replies") == 0    ? &g->replies
                        : strcmp(name, "--statuses") == 0 ? &g->statuses
                                                          : &g->revocations;
            *slot = (int) number;
        }
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "lthub-sim dms: unknown option or bad value: %s %s\n", name,
                    value ? value : "(missing)");
            s_usage(stderr);
            return 2;
        }
    }
    if (!g->url || !g->system || !g->secret_file || !g->agency || g->to_count == 0) {
        fprintf(stderr, "lthub-sim dms: --url, --system, --secret-file, --agency and --to are "
                        "required\n");
        return 2;
    }
    return 0;
}

int sim_dms_main(int argc, char *argv[])
{
    s_gen_t *g = calloc(1, sizeof(*g));
    if (!g)
        return 2;
    g->count = 10;
    g->seed = 1;
    g->retries = 3;
    g->timeout_ms = 30000;
    g->rate = 10;
    g->mix[0] = 60, g->mix[1] = 30, g->mix[2] = 10;
    g->status_code = "13";
    g->fixtures = getenv("LT_FIXTURES");
    g->errors = json_array();
    int rc = s_options(g, argc, argv);
    char *secret = NULL;
    size_t secret_size = 0;
    lt_err_t err;
    if (rc == 1)
        rc = 0;
    else if (rc == 0 && s_load_pdfs(g))
        rc = 2;
    else if (rc == 0 && !(secret = lt_edoc_secret_load(g->secret_file, &secret_size, &err))) {
        fprintf(stderr, "lthub-sim dms: %s\n", err.detail);
        rc = 2;
    }
    else if (rc == 0) {
        lt_edoc_client_config_t config = {.url = g->url, .system_id = g->system,
                                          .secret = secret, .secret_size = secret_size,
                                          .ca_file = g->ca_file, .timeout_ms = g->timeout_ms};
        g->client = lt_edoc_client_new(&config, &err);
        if (!g->client) {
            fprintf(stderr, "lthub-sim dms: %s\n", err.detail);
            rc = 2;
        }
    }
    if (rc == 0 && g->client) {
        if (!g->date[0]) {
            char today[32];
            sim_format_time(lt_time_ms(), today);
            snprintf(g->date, sizeof(g->date), "%.4s/%.2s/%.2s", today, today + 5, today + 8);
        }
        g->rng = (uint64_t) g->seed * 0x2545F4914F6CDD1Dull + 1;
        sim_block_signals();
        int64_t start = lt_clock_ms(), last_poll = 0;
        int weights = g->mix[0] + g->mix[1] + g->mix[2];
        for (long long n = 1; n <= g->count && !g->interrupted; n++) {
            if (g->rate > 0)
                s_wait(g, start + (int64_t) ((double) (n - 1) * 1000.0 / g->rate)
                              - lt_clock_ms());
            if (g->interrupted)
                break;
            int draw = (int) (s_random(g) % (uint64_t) weights);
            s_kind_t kind = draw < g->mix[0]              ? S_SIGNED
                            : draw < g->mix[0] + g->mix[1] ? S_UNSIGNED
                                                           : S_PAPER;
            if (kind == S_PAPER)
                s_paper(g, n);
            else
                s_document(g, n, kind);
            if (g->poll && lt_clock_ms() - last_poll >= 1000) {
                s_poll(g);
                last_poll = lt_clock_ms();
            }
        }
        if (g->poll) {
            int64_t until = lt_clock_ms() + (int64_t) (g->poll_for * 1000);
            do {
                s_poll(g);
                if (lt_clock_ms() < until)
                    s_wait(g, 500);
            } while (lt_clock_ms() < until && !g->interrupted);
        }
        s_summary(g, (double) (lt_clock_ms() - start) / 1000.0);
        for (int k = 0; k < S_KINDS; k++)
            if (g->counts[k].failed)
                rc = 1;
        if (g->receive_failed)
            rc = 1;
    }
    lt_edoc_client_destroy(&g->client);
    if (secret)
        lt_edoc_secret_free(&secret, secret_size);
    for (size_t i = 0; i < g->to_count; i++)
        free(g->to[i]);
    free(g->pdf[0]);
    free(g->pdf[1]);
    json_decref(g->errors);
    free(g);
    return rc;
}
