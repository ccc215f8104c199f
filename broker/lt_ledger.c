/*  lt_ledger: SQLite side of the counting ledger (see the header).

    Recording an event: read the merged state of its item and of the items
    it affects (a status 01/03 confirms a received document, a DVCQG
    acceptance syncs a received dossier), insert the row chained to the last
    one, read the states again and move each changed item in ledger_sum from
    its old (day, agency, event, flags, dim) to its new one. Every read is an
    index lookup on the (item, origin) key. A relayed doc_in or a
    dossier_received not yet completed is added to ledger_open; what
    completes it removes it (the alerts read that table).
*/
#include "lt_ledger.h"
#include "lt_digest.h"
#include "lt_period.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS ledger ("
    "  seq INTEGER PRIMARY KEY,"
    "  event TEXT NOT NULL,"
    "  item TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  day INTEGER NOT NULL,"
    "  electronic INTEGER NOT NULL,"
    "  secret INTEGER NOT NULL,"
    "  sig INTEGER NOT NULL,"
    "  signer TEXT NOT NULL,"
    "  channel INTEGER NOT NULL,"
    "  dim TEXT NOT NULL,"
    "  attrs INTEGER NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  msgid TEXT NOT NULL,"
    "  prev TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  UNIQUE (item, origin));"
    "CREATE TABLE IF NOT EXISTS ledger_sum ("
    "  day INTEGER NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  flags INTEGER NOT NULL,"
    "  dim TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (day, agency, event, flags, dim)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS ledger_open ("
    "  kind INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  item TEXT NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  PRIMARY KEY (kind, at, item)) WITHOUT ROWID;";

//  Fill ledger_open from the rows of a store made before it existed: each
//  waiting item with the time of its first row, as lt_ledger_append does.
static const char *s_open_backfill =
    "INSERT OR IGNORE INTO ledger_open (kind, at, item, agency, doc)"
    " SELECT 1, l.at, l.item, l.agency, l.doc FROM ledger l"
    "  WHERE l.event = 'doc_in'"
    "   AND l.seq = (SELECT MIN(f.seq) FROM ledger f WHERE f.item = l.item)"
    "   AND EXISTS (SELECT 1 FROM ledger r WHERE r.item = l.item AND r.origin = 'relay')"
    "   AND NOT EXISTS (SELECT 1 FROM ledger s"
    "    WHERE s.item IN ('status|' || l.doc || '|' || l.agency || '|01',"
    "                     'status|' || l.doc || '|' || l.agency || '|03'));"
    "INSERT OR IGNORE INTO ledger_open (kind, at, item, agency, doc)"
    " SELECT 2, l.at, l.item, l.agency, l.doc FROM ledger l"
    "  WHERE l.event = 'dossier_received'"
    "   AND l.seq = (SELECT MIN(f.seq) FROM ledger f WHERE f.item = l.item)"
    "   AND NOT EXISTS (SELECT 1 FROM ledger s"
    "    WHERE s.item > 'dossier_synced|' || l.doc || '|'"
    "      AND s.item < 'dossier_synced|' || l.doc || '}');";

#define S_COLUMNS                                                                                 \
    "seq, event, item, origin, doc, agency, at, day, electronic, secret, sig, signer, channel,"  \
    " dim, attrs, detail, sha256, msgid, prev, hash"

typedef enum {
    Q_HEAD,
    Q_INSERT,
    Q_ITEM_ROWS,
    Q_PREFIX,
    Q_CONFIRMED,
    Q_SUM_ADD,
    Q_OPEN_ADD,
    Q_OPEN_DEL,
    Q_OPEN_LIST,
    Q_COUNT
} s_query_t;

static const char *s_sql[Q_COUNT] = {
    [Q_HEAD] = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
    [Q_INSERT] = "INSERT INTO ledger (" S_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                 " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
                 " ON CONFLICT (item, origin) DO NOTHING",
    [Q_ITEM_ROWS] = "SELECT " S_COLUMNS " FROM ledger WHERE item = ?1 ORDER BY seq",
    [Q_PREFIX] = "SELECT MIN(at) FROM ledger WHERE item > ?1 AND item < ?2",
    [Q_CONFIRMED] = "SELECT MIN(at) FROM ledger WHERE item IN (?1, ?2)",
    [Q_SUM_ADD] = "INSERT INTO ledger_sum (day, agency, event, flags, dim, n)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                  " ON CONFLICT (day, agency, event, flags, dim) DO UPDATE SET n = n + excluded.n",
    [Q_OPEN_ADD] = "INSERT OR IGNORE INTO ledger_open (kind, at, item, agency, doc)"
                   " VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_OPEN_DEL] = "DELETE FROM ledger_open WHERE kind = ?1 AND at = ?2 AND item = ?3",
    //  The oldest open items of a kind (at most ?3, along the key), per
    //  agency: how many, the oldest time and its document (SQLite gives the
    //  bare column of the row MIN() picked).
    [Q_OPEN_LIST] = "SELECT agency, COUNT(*), MIN(at), doc FROM (SELECT agency, at, doc"
                    " FROM ledger_open WHERE kind = ?1 AND at <= ?2 ORDER BY at LIMIT ?3)"
                    " GROUP BY agency ORDER BY 3",
};

//  Whether a query writes (not prepared on a read-only ledger, whose store
//  may predate its tables).
static bool s_writes(int q)
{
    return q == Q_INSERT || q == Q_SUM_ADD || q == Q_OPEN_ADD || q == Q_OPEN_DEL ||
           q == Q_OPEN_LIST;
}

struct _lt_ledger_t {
    sqlite3 *db;                  //  the database (not owned)
    sqlite3_stmt *stmt[Q_COUNT];  //  prepared statements
    char path[512];               //  database file, for messages
    char province[16];            //  level-1 code of the province
    const char *sha256;           //  digest of the message being recorded
    const char *msgid;            //  id of the message being recorded
    int64_t head_seq;             //  seq of the last row, -1 = read it from the table
    char head_hash[65];           //  hash of the last row ("" when empty)
};

//  The merged state of one item.
typedef struct {
    bool found;           //  the item has rows
    int day;              //  local day of its first row
    char agency[64];      //  its agency
    char event[32];       //  its event
    unsigned flags;       //  LT_F_*
    char dim[128];        //  its dimension
} s_state_t;

static int s_fail(lt_ledger_t *self, lt_err_t *err, const char *what)
{
    lt_err_set(err, LT_ESTORE, "ledger %s: %s: %s", self->path, what, sqlite3_errmsg(self->db));
    return -1;
}

static void s_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

lt_ledger_t *lt_ledger_new(sqlite3 *db, const char *path, bool readonly, lt_err_t *err)
{
    assert(db);
    lt_ledger_t *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), NULL;
    self->db = db;
    self->head_seq = -1;
    snprintf(self->path, sizeof(self->path), "%s", path ? path : "");
    if (!readonly) {
        char *msg = NULL;
        //  A store made before ledger_open: fill it once from the ledger.
        sqlite3_stmt *had = NULL;
        bool backfill = false;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'ledger'"
                                   " AND NOT EXISTS (SELECT 1 FROM sqlite_master"
                                   " WHERE name = 'ledger_open')",
                               -1, &had, NULL) == SQLITE_OK)
            backfill = sqlite3_step(had) == SQLITE_ROW;
        sqlite3_finalize(had);
        if (sqlite3_exec(db, s_schema, NULL, NULL, &msg) != SQLITE_OK ||
            (backfill && sqlite3_exec(db, s_open_backfill, NULL, NULL, &msg) != SQLITE_OK)) {
            lt_err_set(err, LT_ESTORE, "ledger %s: cannot create tables: %s", self->path,
                       msg ? msg : "?");
            sqlite3_free(msg);
            free(self);
            return NULL;
        }
    }
    for (int q = 0; q < Q_COUNT; q++) {
        if (readonly && s_writes(q))
            continue;
        if (sqlite3_prepare_v3(db, s_sql[q], -1, SQLITE_PREPARE_PERSISTENT, &self->stmt[q],
                               NULL) != SQLITE_OK) {
            s_fail(self, err, "no ledger in this store, or it cannot be read");
            lt_ledger_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void lt_ledger_destroy(lt_ledger_t **self_p)
{
    assert(self_p);
    lt_ledger_t *self = *self_p;
    if (!self)
        return;
    for (int q = 0; q < Q_COUNT; q++)
        sqlite3_finalize(self->stmt[q]);
    free(self);
    *self_p = NULL;
}

void lt_ledger_set_province(lt_ledger_t *self, const char *province)
{
    assert(self);
    snprintf(self->province, sizeof(self->province), "%s", province ? province : "");
}

//  A growing buffer for the canonical form of a row.
typedef struct {
    char local[4096];   //  enough for every row the hub writes
    char *data;         //  local or heap
    size_t size;        //  bytes used
    size_t alloc;       //  bytes available
    bool failed;        //  out of memory
} s_canon_t;

//  Append LENGTH ':' VALUE ',' (header comment).
static void s_canon_field(s_canon_t *c, const char *value)
{
    size_t len = strlen(value);
    char prefix[24];
    int plen = snprintf(prefix, sizeof(prefix), "%zu:", len);
    size_t need = c->size + (size_t) plen + len + 1;
    if (need > c->alloc) {
        size_t alloc = need * 2;
        char *data = c->data == c->local ? malloc(alloc) : realloc(c->data, alloc);
        if (!data) {
            c->failed = true;
            return;
        }
        if (c->data == c->local)
            memcpy(data, c->local, c->size);
        c->data = data;
        c->alloc = alloc;
    }
    memcpy(c->data + c->size, prefix, (size_t) plen);
    memcpy(c->data + c->size + plen, value, len);
    c->data[c->size + (size_t) plen + len] = ',';
    c->size = need;
}

static void s_canon_int(s_canon_t *c, long long value)
{
    char text[32];
    snprintf(text, sizeof(text), "%lld", value);
    s_canon_field(c, text);
}

//  The values of one row, in canonical order.
typedef struct {
    int64_t seq;
    const char *event, *item, *origin, *doc, *agency;
    int64_t at, day, electronic, secret, sig;
    const char *signer;
    int64_t channel;
    const char *dim;
    int64_t attrs;
    const char *detail, *sha256, *msgid, *prev;
} s_row_t;

//  Hash a row into hex.
static void s_hash(const s_row_t *r, char hex[65])
{
    s_canon_t c;
    c.data = c.local;
    c.size = 0;
    c.alloc = sizeof(c.local);
    c.failed = false;
    s_canon_int(&c, r->seq);
    s_canon_field(&c, r->event);
    s_canon_field(&c, r->item);
    s_canon_field(&c, r->origin);
    s_canon_field(&c, r->doc);
    s_canon_field(&c, r->agency);
    s_canon_int(&c, r->at);
    s_canon_int(&c, r->day);
    s_canon_int(&c, r->electronic);
    s_canon_int(&c, r->secret);
    s_canon_int(&c, r->sig);
    s_canon_field(&c, r->signer);
    s_canon_int(&c, r->channel);
    s_canon_field(&c, r->dim);
    s_canon_int(&c, r->attrs);
    s_canon_field(&c, r->detail);
    s_canon_field(&c, r->sha256);
    s_canon_field(&c, r->msgid);
    s_canon_field(&c, r->prev);
    if (c.failed) {   //  cannot match any stored hash: the row is reported
        memset(hex, 'x', 64);
        hex[64] = 0;
    }
    else
        lt_digest_sha256_hex(c.data, c.size, hex);
    if (c.data != c.local)
        free(c.data);
}

//  Text of a column, "" for NULL.
static const char *s_col(sqlite3_stmt *stmt, int i)
{
    const unsigned char *text = sqlite3_column_text(stmt, i);
    return text ? (const char *) text : "";
}

//  Read a row of S_COLUMNS from stmt (strings on loan until the next step).
static void s_read_row(sqlite3_stmt *stmt, s_row_t *r)
{
    r->seq = sqlite3_column_int64(stmt, 0);
    r->event = s_col(stmt, 1);
    r->item = s_col(stmt, 2);
    r->origin = s_col(stmt, 3);
    r->doc = s_col(stmt, 4);
    r->agency = s_col(stmt, 5);
    r->at = sqlite3_column_int64(stmt, 6);
    r->day = sqlite3_column_int64(stmt, 7);
    r->electronic = sqlite3_column_int64(stmt, 8);
    r->secret = sqlite3_column_int64(stmt, 9);
    r->sig = sqlite3_column_int64(stmt, 10);
    r->signer = s_col(stmt, 11);
    r->channel = sqlite3_column_int64(stmt, 12);
    r->dim = s_col(stmt, 13);
    r->attrs = sqlite3_column_int64(stmt, 14);
    r->detail = s_col(stmt, 15);
    r->sha256 = s_col(stmt, 16);
    r->msgid = s_col(stmt, 17);
    r->prev = s_col(stmt, 18);
}

int64_t lt_ledger_head(lt_ledger_t *self, char hash[65])
{
    assert(self);
    sqlite3_stmt *stmt = self->stmt[Q_HEAD];
    int64_t seq = 0;
    hash[0] = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        seq = sqlite3_column_int64(stmt, 0);
        snprintf(hash, 65, "%s", s_col(stmt, 1));
    }
    s_reset(stmt);
    return seq;
}

//  Earliest time of the items starting with prefix, 0 when there is none.
static int64_t s_prefix(lt_ledger_t *self, const char *prefix)
{
    char upper[800];
    snprintf(upper, sizeof(upper), "%s", prefix);
    size_t len = strlen(upper);
    if (len == 0)
        return 0;
    upper[len - 1]++;   //  the prefix ends with '|': the next byte bounds the range
    sqlite3_stmt *stmt = self->stmt[Q_PREFIX];
    sqlite3_bind_text(stmt, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, upper, -1, SQLITE_STATIC);
    int64_t at = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        at = sqlite3_column_int64(stmt, 0);
    s_reset(stmt);
    return at;
}

//  Time a status 01 or 03 from agency about doc came back, 0 when none.
static int64_t s_confirmed_at(lt_ledger_t *self, const char *doc, const char *agency)
{
    char a[800], b[800];
    snprintf(a, sizeof(a), "status|%s|%s|01", doc, agency);
    snprintf(b, sizeof(b), "status|%s|%s|03", doc, agency);
    sqlite3_stmt *stmt = self->stmt[Q_CONFIRMED];
    sqlite3_bind_text(stmt, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, b, -1, SQLITE_STATIC);
    int64_t at = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        at = sqlite3_column_int64(stmt, 0);
    s_reset(stmt);
    return at;
}

//  Merge the rows of an item; with want_rows, also list "seq:hash" pairs
//  and copy the evidence fields into it (strings owned by it).
typedef struct {
    s_state_t st;          //  merged state
    char origins[32];      //  relay, register, relay+register
    int64_t at;            //  first row's time
    lt_sig_t sig;          //  verdict of the relay row
    char signer[256];      //  signer of the relay row
    int channel;           //  channel
    char doc[520];         //  document, dossier or key
    char detail[512];      //  first row's detail (last dossier row wins)
    char sha256[65];       //  first row's payload digest
    char msgid[40];        //  first row's message id
    char rows[1024];       //  "seq:hash;..."
    int64_t related_at;    //  status 01/03 time (documents), DVCQG acceptance (dossiers)
} s_merged_t;

//  Row facts merged over an item's rows.
typedef struct {
    bool found;        //  some row
    bool relayed;      //  a relay row
    bool electronic;   //  a row says electronic
    bool secret;       //  a row says secret
    bool sig_ok;       //  the relay row's verdict is valid
    unsigned attrs;    //  LT_EVA_* of every row
} s_acc_t;

static void s_acc_add(s_acc_t *a, const s_row_t *r)
{
    a->found = true;
    if (strcmp(r->origin, "relay") == 0) {
        a->relayed = true;
        a->sig_ok = r->sig == LT_SIG_VALID;
    }
    a->electronic |= r->electronic != 0;
    a->secret |= r->secret != 0;
    a->attrs |= (unsigned) r->attrs;
}

//  The flags of an item from its merged rows and the related time.
static unsigned s_flags(lt_ev_t ev, const s_acc_t *a, int channel, int day, int64_t related_at)
{
    unsigned f = a->secret ? LT_F_SECRET : 0;
    if (ev == LT_EV_DOC_OUT || ev == LT_EV_DOC_IN) {
        if (a->relayed)
            f |= LT_F_RELAYED | LT_F_ELECTRONIC;
        else if (a->electronic)
            f |= LT_F_DECLARED | LT_F_ELECTRONIC;
        if (a->sig_ok)
            f |= LT_F_SIGNED;
        if (ev == LT_EV_DOC_IN && related_at && lt_period_day(related_at) == day)
            f |= LT_F_CONFIRMED;
    }
    else if (ev == LT_EV_DOSSIER_RECEIVED) {
        if (channel == 2)
            f |= LT_F_ONLINE;
        if (channel == 3)
            f |= LT_F_POSTAL;
        if (a->attrs & LT_EVA_DIGITISED)
            f |= LT_F_DIGITISED;
        if (related_at)
            f |= LT_F_SYNCED;
    }
    else if (ev == LT_EV_DOSSIER_FINISHED && (a->attrs & LT_EVA_ONTIME))
        f |= LT_F_ONTIME;
    else if (ev == LT_EV_DOSSIER_RETURNED && (a->attrs & LT_EVA_POSTAL_RETURN))
        f |= LT_F_POSTAL_RETURN;
    return f;
}

//  Merge the rows of an item into m. With skip > 0, *before gets the state
//  the item had without row skip (the row just appended): one read for both.
static int s_merge(lt_ledger_t *self, const char *item, int64_t skip, s_merged_t *m,
                   s_state_t *before, lt_err_t *err)
{
    memset(m, 0, sizeof(*m));
    sqlite3_stmt *stmt = self->stmt[Q_ITEM_ROWS];
    sqlite3_bind_text(stmt, 1, item, -1, SQLITE_STATIC);
    s_acc_t all = {0}, rest = {0};
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        s_row_t r;
        s_read_row(stmt, &r);
        if (!m->st.found) {
            m->st.found = true;
            m->st.day = (int) r.day;
            m->at = r.at;
            snprintf(m->st.agency, sizeof(m->st.agency), "%s", r.agency);
            snprintf(m->st.event, sizeof(m->st.event), "%s", r.event);
            snprintf(m->st.dim, sizeof(m->st.dim), "%s", r.dim);
            snprintf(m->doc, sizeof(m->doc), "%s", r.doc);
            snprintf(m->detail, sizeof(m->detail), "%s", r.detail);
            snprintf(m->sha256, sizeof(m->sha256), "%s", r.sha256);
            snprintf(m->msgid, sizeof(m->msgid), "%s", r.msgid);
            m->channel = (int) r.channel;
        }
        if (strcmp(r.origin, "relay") == 0) {
            m->sig = (lt_sig_t) r.sig;
            snprintf(m->signer, sizeof(m->signer), "%s", r.signer);
        }
        s_acc_add(&all, &r);
        if (r.seq != skip)
            s_acc_add(&rest, &r);
        size_t used = strlen(m->origins);
        if (!strstr(m->origins, r.origin))
            snprintf(m->origins + used, sizeof(m->origins) - used, "%s%s", used ? "+" : "",
                     r.origin);
        used = strlen(m->rows);
        snprintf(m->rows + used, sizeof(m->rows) - used, "%s%lld:%s", used ? ";" : "",
                 (long long) r.seq, s_col(stmt, 19));
    }
    s_reset(stmt);
    if (step != SQLITE_DONE)
        return s_fail(self, err, "cannot read an item");
    if (before)
        memset(before, 0, sizeof(*before));
    if (!m->st.found)
        return 0;
    lt_ev_t ev = lt_ev_from_name(m->st.event);
    if (ev == LT_EV_DOC_IN)
        m->related_at = s_confirmed_at(self, m->doc, m->st.agency);
    else if (ev == LT_EV_DOSSIER_RECEIVED) {
        char prefix[700];
        snprintf(prefix, sizeof(prefix), "dossier_synced|%s|", m->doc);
        m->related_at = s_prefix(self, prefix);
    }
    m->st.flags = s_flags(ev, &all, m->channel, m->st.day, m->related_at);
    if (before && rest.found) {
        *before = m->st;
        before->flags = s_flags(ev, &rest, m->channel, m->st.day, m->related_at);
    }
    return 0;
}

//  Add delta items to one ledger_sum line.
static int s_sum_add(lt_ledger_t *self, const s_state_t *st, int delta, lt_err_t *err)
{
    sqlite3_stmt *stmt = self->stmt[Q_SUM_ADD];
    sqlite3_bind_int(stmt, 1, st->day);
    sqlite3_bind_text(stmt, 2, st->agency, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, st->event, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, (int) st->flags);
    sqlite3_bind_text(stmt, 5, st->dim, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 6, delta);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "cannot update ledger_sum");
}

//  Record that an item waits (ledger_open) since at, the time of its first
//  row: one insert into one B-tree (the key is also the order alerts read).
static int s_open(lt_ledger_t *self, lt_ledger_await_t kind, int64_t at, const char *item,
                  const char *agency, const char *doc, lt_err_t *err)
{
    sqlite3_stmt *stmt = self->stmt[Q_OPEN_ADD];
    sqlite3_bind_int(stmt, 1, (int) kind);
    sqlite3_bind_int64(stmt, 2, at);
    sqlite3_bind_text(stmt, 3, item, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, agency, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, doc, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "cannot update ledger_open");
}

//  Record that an item (waiting since at, if it was) no longer waits.
static int s_close(lt_ledger_t *self, lt_ledger_await_t kind, int64_t at, const char *item,
                   lt_err_t *err)
{
    sqlite3_stmt *stmt = self->stmt[Q_OPEN_DEL];
    sqlite3_bind_int(stmt, 1, (int) kind);
    sqlite3_bind_int64(stmt, 2, at);
    sqlite3_bind_text(stmt, 3, item, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    s_reset(stmt);
    return step == SQLITE_DONE ? 0 : s_fail(self, err, "cannot update ledger_open");
}

int lt_ledger_waiting(lt_ledger_t *self, lt_ledger_await_t kind, int64_t before, uint32_t limit,
                      lt_ledger_wait_fn *fn, void *arg, lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = self->stmt[Q_OPEN_LIST];
    if (!stmt)
        return lt_err_set(err, LT_ESTATE, "ledger %s: read-only, no waiting items", self->path),
               -1;
    sqlite3_bind_int(stmt, 1, (int) kind);
    sqlite3_bind_int64(stmt, 2, before);
    sqlite3_bind_int64(stmt, 3, limit);
    int step, rc = 0;
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        lt_ledger_wait_t w = {.agency = s_col(stmt, 0),
                              .count = sqlite3_column_int64(stmt, 1),
                              .oldest_at = sqlite3_column_int64(stmt, 2),
                              .oldest_doc = s_col(stmt, 3)};
        rc = fn(arg, &w);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = s_fail(self, err, "cannot read ledger_open");
    s_reset(stmt);
    return rc;
}

void lt_ledger_forget(lt_ledger_t *self)
{
    assert(self);
    self->head_seq = -1;
}

int lt_ledger_append(lt_ledger_t *self, const lt_ledger_event_t *ev, const char *sha256,
                     const char *msgid, bool *added, lt_err_t *err)
{
    assert(self && ev && added);
    *added = false;
    //  The item this event completes, if any (its state changes too).
    char related[800] = "";
    if (ev->event == LT_EV_STATUS && (strcmp(ev->dim, "01") == 0 || strcmp(ev->dim, "03") == 0))
        snprintf(related, sizeof(related), "doc|%s|%s|in", ev->doc, ev->agency);
    else if (ev->event == LT_EV_DOSSIER_SYNCED)
        snprintf(related, sizeof(related), "dossier_received|%s", ev->doc);
    s_merged_t *m = malloc(sizeof(s_merged_t));
    s_state_t *rel_before = calloc(1, sizeof(s_state_t)), before;
    int rc = -1;
    if (!m || !rel_before) {
        lt_err_set(err, LT_ENOMEM, "ledger: out of memory");
        goto done;
    }
    if (*related && s_merge(self, related, 0, m, NULL, err))
        goto done;
    if (*related)
        *rel_before = m->st;
    int64_t rel_at = *related ? m->at : 0;   //  the related item's first row, its ledger_open key
    if (self->head_seq < 0)
        self->head_seq = lt_ledger_head(self, self->head_hash);
    char prev[65];
    if (*self->head_hash)
        snprintf(prev, sizeof(prev), "%s", self->head_hash);
    else
        snprintf(prev, sizeof(prev), "%064d", 0);
    s_row_t r = {.seq = self->head_seq + 1,
                 .event = lt_ev_name(ev->event),
                 .item = ev->item,
                 .origin = ev->origin,
                 .doc = ev->doc,
                 .agency = ev->agency,
                 .at = ev->at,
                 .day = lt_period_day(ev->at),
                 .electronic = ev->electronic,
                 .secret = ev->secret,
                 .sig = ev->sig,
                 .signer = ev->signer,
                 .channel = ev->channel,
                 .dim = ev->dim,
                 .attrs = ev->attrs,
                 .detail = ev->detail,
                 .sha256 = sha256 ? sha256 : "",
                 .msgid = msgid ? msgid : "",
                 .prev = prev};
    char hash[65];
    s_hash(&r, hash);
    sqlite3_stmt *ins = self->stmt[Q_INSERT];
    sqlite3_bind_int64(ins, 1, r.seq);
    sqlite3_bind_text(ins, 2, r.event, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, r.item, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, r.origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, r.doc, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, r.agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, r.at);
    sqlite3_bind_int64(ins, 8, r.day);
    sqlite3_bind_int64(ins, 9, r.electronic);
    sqlite3_bind_int64(ins, 10, r.secret);
    sqlite3_bind_int64(ins, 11, r.sig);
    sqlite3_bind_text(ins, 12, r.signer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 13, r.channel);
    sqlite3_bind_text(ins, 14, r.dim, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 15, r.attrs);
    sqlite3_bind_text(ins, 16, r.detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 17, r.sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 18, r.msgid, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 19, r.prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 20, hash, -1, SQLITE_STATIC);
    int step = sqlite3_step(ins);
    s_reset(ins);
    if (step != SQLITE_DONE) {
        s_fail(self, err, "cannot append");
        goto done;
    }
    rc = 0;
    if (sqlite3_changes(self->db) == 0)
        goto done;   //  the item already has a row from this origin
    *added = true;
    self->head_seq = r.seq;
    snprintf(self->head_hash, sizeof(self->head_hash), "%s", hash);
    //  Move the changed items in ledger_sum: this event's, then the one it completes.
    if (s_merge(self, ev->item, r.seq, m, &before, err))
        rc = -1;
    else if (memcmp(&before, &m->st, sizeof(s_state_t)) != 0 &&
             ((before.found && s_sum_add(self, &before, -1, err)) ||
              s_sum_add(self, &m->st, 1, err)))
        rc = -1;
    //  A document delivered by the hub now waits for its status 01/03, a
    //  received dossier for its sync; what completes an item ends its wait.
    if (rc == 0 && m->related_at == 0 &&
        ((ev->event == LT_EV_DOC_IN && strcmp(ev->origin, "relay") == 0) ||
         ev->event == LT_EV_DOSSIER_RECEIVED))
        rc = s_open(self,
                    ev->event == LT_EV_DOC_IN ? LT_LEDGER_AWAIT_STATUS : LT_LEDGER_AWAIT_SYNC,
                    m->at, ev->item, m->st.agency, m->doc, err);
    if (rc == 0 && *related && rel_before->found)
        rc = s_close(self,
                     ev->event == LT_EV_STATUS ? LT_LEDGER_AWAIT_STATUS : LT_LEDGER_AWAIT_SYNC,
                     rel_at, related, err);
    if (rc == 0 && *related) {
        if (s_merge(self, related, 0, m, NULL, err))
            rc = -1;
        else if (memcmp(rel_before, &m->st, sizeof(s_state_t)) != 0 &&
                 ((rel_before->found && s_sum_add(self, rel_before, -1, err)) ||
                  (m->st.found && s_sum_add(self, &m->st, 1, err))))
            rc = -1;
    }
done:
    free(m);
    free(rel_before);
    return rc;
}

static int s_on_event(void *arg, const lt_ledger_event_t *ev, lt_err_t *err)
{
    lt_ledger_t *self = arg;
    bool added;
    return lt_ledger_append(self, ev, self->sha256, self->msgid, &added, err);
}

int lt_ledger_record(lt_ledger_t *self, const lt_envelope_t *envelope, const void *payload,
                     size_t size, const char *const *rcpts, size_t rcpt_count, lt_err_t *err)
{
    assert(self && envelope);
    self->sha256 = lt_envelope_sha256(envelope);
    self->msgid = lt_envelope_id(envelope);
    return lt_ledger_events(envelope, payload, size, rcpts, rcpt_count, self->province,
                            s_on_event, self, err);
}

int lt_ledger_verify(lt_ledger_t *self, uint64_t *rows, uint64_t *bad, char *why,
                     size_t why_size)
{
    assert(self);
    sqlite3_stmt *stmt = NULL;
    *rows = 0;
    *bad = 0;
    if (sqlite3_prepare_v2(self->db, "SELECT " S_COLUMNS " FROM ledger ORDER BY seq", -1, &stmt,
                           NULL) != SQLITE_OK) {
        snprintf(why, why_size, "cannot read the ledger: %s", sqlite3_errmsg(self->db));
        return -1;
    }
    char prev[65];
    snprintf(prev, sizeof(prev), "%064d", 0);
    int64_t expect = 1;
    int rc = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        s_row_t r;
        s_read_row(stmt, &r);
        const char *stored = s_col(stmt, 19);
        char hash[65];
        s_hash(&r, hash);
        (*rows)++;
        if (r.seq != expect)
            snprintf(why, why_size, "row %lld follows row %lld: row %lld is missing",
                     (long long) r.seq, (long long) expect - 1, (long long) expect);
        else if (strcmp(r.prev, prev) != 0)
            snprintf(why, why_size,
                     "row %lld (item %.200s) does not chain to the row before it"
                     " (deleted, reordered or edited rows)",
                     (long long) r.seq, r.item);
        else if (strcmp(hash, stored) != 0)
            snprintf(why, why_size, "row %lld (item %.200s) was edited: its hash does not match",
                     (long long) r.seq, r.item);
        else {
            snprintf(prev, sizeof(prev), "%s", stored);
            expect++;
            continue;
        }
        *bad = (uint64_t) r.seq;
        rc = 1;
        break;
    }
    if (rc == 0 && step != SQLITE_DONE) {
        snprintf(why, why_size, "cannot read the ledger: %s", sqlite3_errmsg(self->db));
        rc = -1;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int lt_ledger_sums(lt_ledger_t *self, int from_day, int to_day, lt_ledger_sum_fn *fn, void *arg,
                   lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT agency, event, flags, dim, n FROM ledger_sum"
                           " WHERE day BETWEEN ?1 AND ?2 AND n != 0",
                           -1, &stmt, NULL) != SQLITE_OK)
        return s_fail(self, err, "cannot read ledger_sum");
    sqlite3_bind_int(stmt, 1, from_day);
    sqlite3_bind_int(stmt, 2, to_day);
    int step, rc = 0;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        lt_ledger_sum_t sum = {.agency = s_col(stmt, 0),
                               .event = lt_ev_from_name(s_col(stmt, 1)),
                               .flags = (unsigned) sqlite3_column_int(stmt, 2),
                               .dim = s_col(stmt, 3),
                               .n = sqlite3_column_int64(stmt, 4)};
        if (fn(arg, &sum))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = s_fail(self, err, "cannot read ledger_sum");
    sqlite3_finalize(stmt);
    return rc;
}

int lt_ledger_items(lt_ledger_t *self, int from_day, int to_day, lt_ledger_item_fn *fn,
                    void *arg, lt_err_t *err)
{
    assert(self && fn);
    sqlite3_stmt *stmt = NULL;
    //  An item belongs to the day of its first row.
    if (sqlite3_prepare_v2(self->db,
                           "SELECT item FROM ledger l WHERE day BETWEEN ?1 AND ?2"
                           " AND NOT EXISTS (SELECT 1 FROM ledger e WHERE e.item = l.item"
                           "   AND e.seq < l.seq) ORDER BY seq",
                           -1, &stmt, NULL) != SQLITE_OK)
        return s_fail(self, err, "cannot read the ledger");
    sqlite3_bind_int(stmt, 1, from_day);
    sqlite3_bind_int(stmt, 2, to_day);
    s_merged_t *m = malloc(sizeof(*m));
    int step, rc = 0;
    while (m && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        char item[800];
        snprintf(item, sizeof(item), "%s", s_col(stmt, 0));
        if (s_merge(self, item, 0, m, NULL, err)) {
            rc = -1;
            break;
        }
        lt_ledger_item_t it = {.item = item,
                               .event = lt_ev_from_name(m->st.event),
                               .doc = m->doc,
                               .agency = m->st.agency,
                               .origins = m->origins,
                               .day = m->st.day,
                               .at = m->at,
                               .flags = m->st.flags,
                               .sig = m->sig,
                               .signer = m->signer,
                               .channel = m->channel,
                               .dim = m->st.dim,
                               .detail = m->detail,
                               .sha256 = m->sha256,
                               .msgid = m->msgid,
                               .related_at = m->related_at,
                               .rows = m->rows};
        if (fn(arg, &it))
            break;
    }
    if (!m)
        rc = (lt_err_set(err, LT_ENOMEM, "ledger: out of memory"), -1);
    else if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = s_fail(self, err, "cannot read the ledger");
    free(m);
    sqlite3_finalize(stmt);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Self-test

static int s_sum_collect(void *arg, const lt_ledger_sum_t *sum)
{
    int64_t *total = arg;
    *total += sum->n;
    return 0;
}

//  Sum of ledger_sum for one event with all of `with` flags set.
static int64_t s_count(lt_ledger_t *self, int from, int to, const char *event, unsigned with)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(self->db,
                                "SELECT COALESCE(SUM(n), 0) FROM ledger_sum WHERE day BETWEEN ?1"
                                " AND ?2 AND event = ?3 AND (flags & ?4) = ?4",
                                -1, &stmt, NULL);
    assert(rc == SQLITE_OK);
    sqlite3_bind_int(stmt, 1, from);
    sqlite3_bind_int(stmt, 2, to);
    sqlite3_bind_text(stmt, 3, event, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, (int) with);
    int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return n;
}

static int s_publish(lt_ledger_t *ledger, lt_kind_t kind, const char *key, const char *btype,
                     const char *sender, const char *rcpt, bool electronic, int64_t at)
{
    lt_envelope_t *env = lt_envelope_new();
    lt_envelope_set_kind(env, kind);
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, btype);
    lt_envelope_set_sender(env, sender);
    lt_envelope_set_electronic(env, electronic);
    lt_envelope_set_signature(env, LT_SIG_VALID);
    lt_envelope_set_received(env, at);
    lt_envelope_set_payload_facts(env, key, strlen(key));
    const char *rcpts[] = {rcpt};
    lt_err_t err;
    int rc = lt_ledger_record(ledger, env, key, strlen(key), rcpts, rcpt ? 1 : 0, &err);
    lt_envelope_destroy(&env);
    return rc;
}

//  What the self-test saw of lt_ledger_waiting.
typedef struct {
    int groups;       //  agencies yielded
    int64_t count;    //  items over them
    char agency[64];  //  the last agency
    char doc[64];     //  its oldest document
} s_wait_t;

static int s_wait_collect(void *arg, const lt_ledger_wait_t *w)
{
    s_wait_t *seen = arg;
    seen->groups++;
    seen->count += w->count;
    snprintf(seen->agency, sizeof(seen->agency), "%s", w->agency);
    snprintf(seen->doc, sizeof(seen->doc), "%s", w->oldest_doc);
    return 0;
}

void lt_ledger_test(bool verbose)
{
    if (verbose)
        printf(" * lt_ledger: ");
    char path[] = "/tmp/lt_ledger_test_XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    close(fd);
    sqlite3 *db = NULL;
    assert(sqlite3_open(path, &db) == SQLITE_OK);
    lt_err_t err;
    lt_ledger_t *ledger = lt_ledger_new(db, path, false, &err);
    assert(ledger);
    lt_ledger_set_province(ledger, "H26");
    int64_t t14 = lt_period_local_ms(2026, 9, 14, 23, 59, 0);
    int64_t t15 = lt_period_local_ms(2026, 9, 15, 0, 0, 0);
    assert(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    //  A document between two agencies of the province: out + in.
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D1", "new", "000.00.12.H26", "000.00.31.H26",
                     true, t14) == 0);
    //  Resent, and its register lines: nothing new counted.
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D1", "update", "000.00.12.H26", "000.00.31.H26",
                     true, t15) == 0);
    assert(s_publish(ledger, LT_KIND_REGISTER, "D1", "in", "000.00.31.H26", NULL, false, t15) ==
           0);
    assert(s_publish(ledger, LT_KIND_REGISTER, "D1", "in", "000.00.31.H26", NULL, false, t15) ==
           0);
    //  A paper document only on the register; one declared electronic.
    assert(s_publish(ledger, LT_KIND_REGISTER, "P1", "out", "000.00.12.H26", NULL, false, t15) ==
           0);
    assert(s_publish(ledger, LT_KIND_REGISTER, "E1", "out", "000.00.12.H26", NULL, true, t15) ==
           0);
    //  D1 waits for its status at its recipient, and only there.
    s_wait_t wait = {0};
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0);
    assert(wait.groups == 1 && wait.count == 1 && strcmp(wait.agency, "000.00.31.H26") == 0 &&
           strcmp(wait.doc, "D1") == 0);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, 0, 100, s_wait_collect, &wait,
                             &err) == 0 && wait.groups == 0);   //  not waiting since 1970
    //  Status 01 the same day confirms D1's receipt (day of t14).
    assert(s_publish(ledger, LT_KIND_STATUS, "D1", "01", "000.00.31.H26", NULL, true,
                     t14 + 30000) == 0);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0 && wait.groups == 0);
    assert(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    char head[65];
    assert(lt_ledger_head(ledger, head) == 6);   //  out, in, register in, P1, E1, status
    assert(s_count(ledger, 20260914, 20260914, "doc_out", LT_F_RELAYED | LT_F_SIGNED) == 1);
    assert(s_count(ledger, 20260914, 20260914, "doc_in", LT_F_CONFIRMED | LT_F_RELAYED) == 1);
    assert(s_count(ledger, 20260914, 20260914, "doc_in", 0) == 1);
    assert(s_count(ledger, 20260915, 20260915, "doc_in", 0) == 0);
    assert(s_count(ledger, 20260915, 20260915, "doc_out", 0) == 2);
    assert(s_count(ledger, 20260915, 20260915, "doc_out", LT_F_DECLARED | LT_F_ELECTRONIC) == 1);
    int64_t total = 0;
    assert(lt_ledger_sums(ledger, 20260101, 20261231, s_sum_collect, &total, &err) == 0);
    assert(total == 5);   //  D1 out, D1 in, P1, E1, status
    uint64_t rows, bad;
    char why[300];
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0 && rows == 6);
    //  An edited row is named.
    assert(sqlite3_exec(db, "UPDATE ledger SET electronic = 1 WHERE seq = 4", NULL, NULL, NULL) ==
           SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 1 && bad == 4);
    assert(strstr(why, "edited"));
    assert(sqlite3_exec(db, "UPDATE ledger SET electronic = 0 WHERE seq = 4", NULL, NULL, NULL) ==
           SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 0);
    //  A store made before ledger_open gets it filled from its ledger: D9
    //  delivered and not answered waits, D1 (status 01) does not.
    assert(s_publish(ledger, LT_KIND_DOCUMENT, "D9", "new", "000.00.12.H26", "000.00.14.H26",
                     true, t15) == 0);
    lt_ledger_destroy(&ledger);
    assert(sqlite3_exec(db, "DROP TABLE ledger_open", NULL, NULL, NULL) == SQLITE_OK);
    ledger = lt_ledger_new(db, path, false, &err);
    assert(ledger);
    memset(&wait, 0, sizeof(wait));
    assert(lt_ledger_waiting(ledger, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == 0);
    assert(wait.groups == 1 && wait.count == 1 && strcmp(wait.doc, "D9") == 0);
    //  A read-only ledger has no list to read.
    lt_ledger_t *reader = lt_ledger_new(db, path, true, &err);
    assert(reader);
    assert(lt_ledger_waiting(reader, LT_LEDGER_AWAIT_STATUS, INT64_MAX, 100, s_wait_collect,
                             &wait, &err) == -1);
    lt_ledger_destroy(&reader);
    //  A deleted row is named by the gap.
    assert(sqlite3_exec(db, "DELETE FROM ledger WHERE seq = 3", NULL, NULL, NULL) == SQLITE_OK);
    assert(lt_ledger_verify(ledger, &rows, &bad, why, sizeof(why)) == 1 && bad == 4);
    assert(strstr(why, "row 3 is missing"));
    lt_ledger_destroy(&ledger);
    sqlite3_close(db);
    unlink(path);
    if (verbose)
        printf("OK\n");
}
