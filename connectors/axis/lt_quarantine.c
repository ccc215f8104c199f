/*  lt_quarantine: a bounded folder of refused packages (see the header).

    The index is an array of entries ordered by time, oldest at `head`;
    removals from the front only move `head`, and the array is compacted
    when the removed part is larger than the live one.
*/
#include "lt_quarantine.h"

#include "lt_file.h"
#include "lt_id.h"
#include "lt_log.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_NAME_MAX 160    //  room for an entry name, with the NUL
#define S_NOTE_MAX 8192   //  a note read back for the eviction log, bytes at most

//  One kept package.
typedef struct {
    char name[S_NAME_MAX];   //  NAME of NAME.edxml and NAME.txt
    uint64_t bytes;          //  package and note bytes
    int64_t time;            //  when it was kept, Unix ms
} s_entry_t;

struct _lt_quarantine_t {
    char dir[1024];                //  the folder
    pthread_mutex_t lock;          //  guards everything below
    s_entry_t *entries;            //  entries[head..count), oldest first
    size_t head;                   //  first live entry
    size_t count;                  //  end of the live entries
    size_t alloc;                  //  room in entries
    lt_quarantine_usage_t usage;   //  figures (items, bytes, evicted...)
};

//  Make name safe as a file name (letters, digits, _ - and inner dots).
static void s_safe_name(const char *name, char *out, size_t size)
{
    size_t n = 0;
    for (const char *c = name; *c && n + 1 < size; c++, n++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
                     || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'
                     || (*c == '.' && n > 0);
        out[n] = plain ? *c : '_';
    }
    out[n] = 0;
    if (n == 0)
        snprintf(out, size, "unnamed");
}

//  Append an entry at the end; -1 on no memory.
static int s_append(lt_quarantine_t *self, const char *name, uint64_t bytes, int64_t time)
{
    if (self->head > 0 && self->head >= self->count - self->head) {
        memmove(self->entries, self->entries + self->head,
                (self->count - self->head) * sizeof(s_entry_t));
        self->count -= self->head;
        self->head = 0;
    }
    if (self->count == self->alloc) {
        size_t alloc = self->alloc ? self->alloc * 2 : 64;
        s_entry_t *grown = realloc(self->entries, alloc * sizeof(s_entry_t));
        if (!grown)
            return -1;
        self->entries = grown;
        self->alloc = alloc;
    }
    s_entry_t *e = &self->entries[self->count++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->bytes = bytes;
    e->time = time;
    self->usage.items++;
    self->usage.bytes += bytes;
    return 0;
}

//  Drop the live entry at index i from the index (the files are the caller's).
static void s_drop(lt_quarantine_t *self, size_t i)
{
    self->usage.items--;
    self->usage.bytes -= self->entries[i].bytes;
    if (i == self->head) {
        self->head++;
        return;
    }
    memmove(self->entries + i, self->entries + i + 1, (self->count - i - 1) * sizeof(s_entry_t));
    self->count--;
}

//  Order entries by time, then name.
static int s_compare(const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return strcmp(x->name, y->name);
}

//  Size of a file, 0 when absent.
static uint64_t s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t) st.st_size : 0;
}

lt_quarantine_t *lt_quarantine_new(const char *dir, lt_err_t *err)
{
    assert(dir);
    lt_quarantine_t *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_err_set(err, LT_ENOMEM, "quarantine: out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    snprintf(self->dir, sizeof(self->dir), "%s", dir);
    DIR *folder = opendir(dir);
    if (!folder) {
        lt_err_set(err, LT_EIO, "quarantine: cannot read %s: %s", dir, strerror(errno));
        lt_quarantine_destroy(&self);
        return NULL;
    }
    struct dirent *d;
    int rc = 0;
    while (rc == 0 && (d = readdir(folder))) {
        size_t len = strlen(d->d_name);
        if (d->d_name[0] == '.' || len <= 6 || len - 6 >= S_NAME_MAX
            || strcmp(d->d_name + len - 6, ".edxml") != 0)
            continue;
        char path[1400], name[S_NAME_MAX];
        snprintf(name, sizeof(name), "%.*s", (int) (len - 6), d->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode))
            continue;
        int64_t time = (int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
        rc = s_append(self, name, (uint64_t) st.st_size + s_size(path), time);
    }
    closedir(folder);
    if (rc) {
        lt_err_set(err, LT_ENOMEM, "quarantine: out of memory");
        lt_quarantine_destroy(&self);
        return NULL;
    }
    if (self->count > 1)
        qsort(self->entries, self->count, sizeof(s_entry_t), s_compare);
    return self;
}

void lt_quarantine_destroy(lt_quarantine_t **self_p)
{
    assert(self_p);
    lt_quarantine_t *self = *self_p;
    if (!self)
        return;
    free(self->entries);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int lt_quarantine_keep(lt_quarantine_t *self, const char *name, const void *data, size_t size,
                       const char *note, lt_err_t *err)
{
    assert(self && name && (data || size == 0));
    char safe[S_NAME_MAX], path[1400], note_path[1400];
    s_safe_name(name, safe, sizeof(safe));
    snprintf(path, sizeof(path), "%s/%s.edxml", self->dir, safe);
    snprintf(note_path, sizeof(note_path), "%s/%s.txt", self->dir, safe);
    size_t note_size = note ? strlen(note) : 0;
    pthread_mutex_lock(&self->lock);
    //  The same name again replaces the entry (and counts as new).
    for (size_t i = self->head; i < self->count; i++)
        if (strcmp(self->entries[i].name, safe) == 0) {
            s_drop(self, i);
            break;
        }
    int rc = lt_file_write(path, data ? data : "", size, false, err);
    if (rc == 0 && (rc = lt_file_write(note_path, note ? note : "", note_size, false, err)))
        unlink(path);
    if (rc == 0 && s_append(self, safe, size + note_size, lt_time_ms())) {
        lt_err_set(err, LT_ENOMEM, "quarantine: out of memory");
        rc = -1;
    }
    if (rc)
        self->usage.errors++;
    pthread_mutex_unlock(&self->lock);
    return rc;
}

//  The bound the front entry breaks at now, or NULL when it may stay.
static const char *s_due(lt_quarantine_t *self, const lt_quarantine_bounds_t *b, int64_t now)
{
    if (self->head >= self->count)
        return NULL;
    if (b->max_age_ms > 0 && self->entries[self->head].time < now - b->max_age_ms)
        return "age";
    if (b->max_items > 0 && self->usage.items > b->max_items)
        return "items";
    if (b->max_bytes > 0 && self->usage.bytes > b->max_bytes)
        return "bytes";
    return NULL;
}

//  Copy the value of a `key: value` line of a note into out ("" when absent),
//  double quotes made single so that the log line stays one field.
static void s_note_field(const char *note, const char *key, char *out, size_t size)
{
    out[0] = 0;
    size_t key_len = strlen(key);
    for (const char *line = note; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen(line);
        if (len > key_len + 1 && strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
            const char *value = line + key_len + 1;
            while (*value == ' ')
                value++;
            size_t n = 0;
            for (; value < line + len && n + 1 < size; value++)
                out[n++] = *value == '"' ? '\'' : *value;
            out[n] = 0;
            return;
        }
        line = end ? end + 1 : NULL;
    }
}

uint32_t lt_quarantine_prune(lt_quarantine_t *self, const lt_quarantine_bounds_t *bounds,
                             int64_t now_ms, uint32_t max, bool *more)
{
    assert(self && bounds);
    uint32_t removed = 0;
    pthread_mutex_lock(&self->lock);
    const char *bound;
    while (removed < max && (bound = s_due(self, bounds, now_ms))) {
        s_entry_t e = self->entries[self->head];
        char path[1400], note_path[1400], reason[600], id[200];
        snprintf(path, sizeof(path), "%s/%s.edxml", self->dir, e.name);
        snprintf(note_path, sizeof(note_path), "%s/%s.txt", self->dir, e.name);
        lt_err_t err;
        size_t note_size = 0;
        char *note = lt_file_read(note_path, S_NOTE_MAX, &note_size, &err);
        s_note_field(note ? note : "", "reason", reason, sizeof(reason));
        s_note_field(note ? note : "", "docId", id, sizeof(id));
        free(note);
        //  Logged first: once the files are gone, this line is the evidence.
        lt_log_info("event=quarantine_evicted name=%s docid=%s size=%llu age_s=%lld bound=%s "
                    "reason=\"%s\"",
                    e.name, *id ? id : e.name, (unsigned long long) e.bytes,
                    (long long) ((now_ms - e.time) / 1000), bound,
                    *reason ? reason : "(no note)");
        //  The note first: a package in the folder always had its note.
        bool failed = unlink(note_path) && errno != ENOENT;
        failed = (unlink(path) && errno != ENOENT) || failed;
        if (failed) {
            self->usage.errors++;
            lt_log_error("event=quarantine_error name=%s reason=\"cannot remove: %s\"", e.name,
                         strerror(errno));
        }
        s_drop(self, self->head);
        self->usage.evicted++;
        self->usage.evicted_bytes += e.bytes;
        removed++;
    }
    if (more)
        *more = s_due(self, bounds, now_ms) != NULL;
    pthread_mutex_unlock(&self->lock);
    return removed;
}

void lt_quarantine_usage(lt_quarantine_t *self, lt_quarantine_usage_t *usage)
{
    assert(self && usage);
    pthread_mutex_lock(&self->lock);
    *usage = self->usage;
    usage->oldest = self->head < self->count ? self->entries[self->head].time : 0;
    pthread_mutex_unlock(&self->lock);
}

//  ---------------------------------------------------------------------------
//  Self-test

//  True when dir holds NAME.edxml.
static bool s_test_has(const char *dir, const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s.edxml", dir, name);
    return access(path, F_OK) == 0;
}

void lt_quarantine_test(bool verbose)
{
    if (verbose)
        printf(" * lt_quarantine: ");
    char dir[] = "/tmp/lt_quarantine_test_XXXXXX";
    assert(mkdtemp(dir));
    lt_err_t err;
    lt_quarantine_t *q = lt_quarantine_new(dir, &err);
    assert(q);
    lt_quarantine_usage_t u;
    lt_quarantine_usage(q, &u);
    assert(u.items == 0 && u.bytes == 0 && u.oldest == 0);
    //  Five entries of 10 + 18 bytes; a docId with a slash is made safe.
    const char *names[] = {"a1", "a2", "../a3", "a4", "a5"};
    for (int i = 0; i < 5; i++) {
        char note[64];
        snprintf(note, sizeof(note), "docId: %s\nreason: bad \"%d\"\n", names[i], i);
        assert(strlen(note) < 64);
        assert(lt_quarantine_keep(q, names[i], "0123456789", 10, note, &err) == 0);
        usleep(2000);
    }
    assert(s_test_has(dir, "_._a3") && !s_test_has(dir, "a3"));
    lt_quarantine_usage(q, &u);
    assert(u.items == 5 && u.oldest > 0);
    uint64_t each = u.bytes / 5;
    //  The same name again replaces its entry, now the newest (file times
    //  are coarser than a millisecond: wait so that they tell them apart).
    usleep(30000);
    assert(lt_quarantine_keep(q, "a1", "0123456789", 10, "docId: a1\nreason: again\n", &err) == 0);
    lt_quarantine_usage(q, &u);
    assert(u.items == 5);
    //  The count bound: 3 kept, the two oldest (a2, a3) go, in steps of one.
    lt_quarantine_bounds_t b = {.max_items = 3};
    bool more = false;
    assert(lt_quarantine_prune(q, &b, lt_time_ms(), 1, &more) == 1 && more);
    assert(!s_test_has(dir, "a2") && s_test_has(dir, "_._a3"));
    assert(lt_quarantine_prune(q, &b, lt_time_ms(), 10, &more) == 1 && !more);
    assert(!s_test_has(dir, "_._a3") && s_test_has(dir, "a4") && s_test_has(dir, "a1"));
    //  The bytes bound: room for two.
    b = (lt_quarantine_bounds_t){.max_bytes = 2 * each + each / 2};
    assert(lt_quarantine_prune(q, &b, lt_time_ms(), 10, &more) == 1 && !more);
    assert(!s_test_has(dir, "a4") && s_test_has(dir, "a5"));
    lt_quarantine_destroy(&q);
    //  Reopened: the entries are read back oldest first (a5, then a1).
    q = lt_quarantine_new(dir, &err);
    assert(q);
    lt_quarantine_usage(q, &u);
    assert(u.items == 2 && u.bytes <= 2 * each + 4 && u.evicted == 0);
    b = (lt_quarantine_bounds_t){.max_items = 1};
    assert(lt_quarantine_prune(q, &b, lt_time_ms(), 10, &more) == 1);
    assert(!s_test_has(dir, "a5") && s_test_has(dir, "a1"));
    //  The age bound: nothing before its time, everything after.
    b = (lt_quarantine_bounds_t){.max_age_ms = 60000};
    assert(lt_quarantine_prune(q, &b, lt_time_ms(), 10, &more) == 0);
    assert(lt_quarantine_prune(q, &b, lt_time_ms() + 61000, 10, &more) == 1);
    lt_quarantine_usage(q, &u);
    assert(u.items == 0 && u.bytes == 0 && u.evicted == 2 && u.errors == 0);
    //  Many entries: the index grows and compacts.
    for (int i = 0; i < 300; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%03d", i);
        assert(lt_quarantine_keep(q, name, "x", 1, "reason: many\n", &err) == 0);
        if (i % 3 == 2) {
            b = (lt_quarantine_bounds_t){.max_items = 100};
            lt_quarantine_prune(q, &b, lt_time_ms(), 1000, NULL);
        }
    }
    lt_quarantine_usage(q, &u);
    assert(u.items == 100 && s_test_has(dir, "m299") && !s_test_has(dir, "m199"));
    b = (lt_quarantine_bounds_t){.max_items = 1};
    assert(lt_quarantine_prune(q, &b, lt_time_ms(), 1000, &more) == 99 && !more);
    lt_quarantine_destroy(&q);
    lt_quarantine_destroy(&q);
    //  A missing folder is an error, not a crash.
    char nowhere[80];
    snprintf(nowhere, sizeof(nowhere), "%s/none", dir);
    assert(lt_quarantine_new(nowhere, &err) == NULL && err.code == LT_EIO);
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[300];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
    if (verbose)
        printf("OK\n");
}
