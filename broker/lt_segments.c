/*  lt_segments: payloads appended to segment files, one sync per group.

    A group's small records are copied into a buffer of at most S_BUF_MAX
    bytes, cut into runs (one per segment touched); a full buffer is
    written (pwrite, no sync) and the next one begun, and a large record is
    written at once from the caller's memory (header and bytes in one
    pwritev), so that memory does not grow with the group. lt_segments_sync
    writes what is left, grows each file's preallocation in steps
    (posix_fallocate, so appends do not change the file's size),
    fdatasyncs every file the group wrote and fsyncs the directory when a
    file was made. Buffers written by a settled group move to a bounded
    list of hot buffers that reads look in first; those of a rolled-back
    group are dropped, since their bytes may be written over.
*/
#include "lt_segments.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_SEG_SIZE   (64ULL * 1024 * 1024) //  default segment size
#define S_PREALLOC   (8ULL * 1024 * 1024)  //  preallocation step
#define S_FILES      16                    //  open segment files kept
#define S_HOT_MAX    (8u * 1024 * 1024)    //  default bound of the hot buffers
#define S_BUF_MAX    (1024u * 1024)        //  group bytes buffered before they are written
#define S_DIRECT     (64u * 1024) //  records this large are written from the caller's memory
#define S_REC_MAGIC  0x3152544cu  //  "LTR1" little-endian: a record
#define S_MAX_RECORD (1ULL << 31) //  largest record

static const char s_file_magic[8] = {'L', 'T', 'S', 'E', 'G', 0, 0, 1};

//  One open segment file.
typedef struct {
    uint32_t seg;  //  segment number (0 = free slot)
    int fd;        //  open read-write
    int64_t alloc; //  bytes allocated (the file's size)
    bool dirty;    //  written by the open group, not synced yet
} s_file_t;

//  A run: bytes of a buffer that go to one place in one segment.
typedef struct {
    uint32_t seg;    //  segment
    uint64_t offset; //  where in the segment file
    size_t start;    //  where in the buffer
    size_t len;      //  bytes
} s_run_t;

//  A written buffer kept in memory.
typedef struct s_hot {
    struct s_hot *next; //  older buffer
    uint8_t *buf;       //  its bytes
    size_t size;        //  bytes of buf
    size_t alloc;       //  bytes allocated for buf
    s_run_t *runs;      //  where they lie on disk
    size_t run_count;   //  runs
} s_hot_t;

struct _lt_segments_t {
    char *dir;                 //  the segment directory
    int dirfd;                 //  open, for fsync after creating a file
    uint64_t seg_size;         //  a segment is closed past this size
    uint32_t cur;              //  segment of the append point
    uint64_t off;              //  offset of the append point (0: file header due)
    uint32_t start_seg;        //  append point when the group began
    uint64_t start_off;        //  its offset
    uint8_t *buf;              //  the group's bytes not written yet
    size_t len;                //  bytes in buf
    size_t alloc;              //  bytes allocated for buf
    s_run_t *runs;             //  the runs of buf
    size_t run_count;          //  runs used
    size_t run_alloc;          //  runs allocated
    bool appended;             //  the group holds appends
    bool synced;               //  the group is on disk, not settled yet
    bool created;              //  the group made a segment file
    int fail_errno;            //  the group's first write failure (0 = none)
    uint32_t fail_seg;         //  the segment it was in
    const char *fail_what;     //  what failed
    s_file_t files[S_FILES];   //  open segment files
    size_t file_next;          //  next slot to reuse
    s_hot_t *written;          //  buffers the open group wrote, newest first
    s_hot_t *hot;              //  buffers of settled groups, newest first
    size_t hot_bytes;          //  bytes they hold
    size_t hot_max;            //  bound of hot_bytes
    lt_segments_stats_t stats; //  counters (the file figures filled on demand)
};

//  Little-endian 32-bit store and load.
static void s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

//  CRC-32C (Castagnoli) of bytes: with the CPU's crc32 instruction where
//  there is one (SSE 4.2), else a table. It is the record's checksum: a
//  1 MiB payload costs about 0.1 ms instead of 0.5-1 ms with zlib's CRC-32.
static uint32_t s_crc_table[256]; //  for the table version, filled once
static pthread_once_t s_crc_once = PTHREAD_ONCE_INIT;
static bool s_crc_hw; //  the crc32 instruction is there

static void s_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        s_crc_table[i] = c;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    s_crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t s_crc_sse42(const uint8_t *p, size_t size)
{
    uint64_t crc = 0xFFFFFFFFu;
    for (; size >= 8; p += 8, size -= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = __builtin_ia32_crc32di(crc, word);
    }
    uint32_t c = (uint32_t)crc;
    for (; size > 0; p++, size--)
        c = __builtin_ia32_crc32qi(c, *p);
    return c ^ 0xFFFFFFFFu;
}
#endif

static uint32_t s_crc(const void *data, size_t size)
{
    pthread_once(&s_crc_once, s_crc_init);
    const uint8_t *p = data;
#if defined(__x86_64__)
    if (s_crc_hw)
        return s_crc_sse42(p, size);
#endif
    uint32_t c = 0xFFFFFFFFu;
    for (; size > 0; p++, size--)
        c = s_crc_table[(c ^ *p) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

//  Path of segment seg.
static void s_path(const lt_segments_t *self, uint32_t seg, char *path, size_t size)
{
    snprintf(path, size, "%s/%06u.seg", self->dir, seg);
}

//  Parse a segment file name; 0 when it is not one.
static uint32_t s_seg_of(const char *name)
{
    size_t n = strlen(name);
    if (n < 10 || n > 14 || strcmp(name + n - 4, ".seg") != 0)
        return 0;
    uint64_t seg = 0;
    for (size_t i = 0; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        seg = seg * 10 + (uint64_t)(name[i] - '0');
    }
    return seg > 0 && seg <= UINT32_MAX ? (uint32_t)seg : 0;
}

lt_segments_t *lt_segments_new(const char *dir, uint64_t seg_size, lt_err_t *err)
{
    assert(dir);
    if (mkdir(dir, 0700) && errno != EEXIST)
        return lt_err_set(err, LT_ESTORE, "segments %s: cannot create: %s", dir, strerror(errno)),
               NULL;
    lt_segments_t *self = calloc(1, sizeof(*self));
    if (!self || !(self->dir = strdup(dir))) {
        free(self);
        return lt_err_set(err, LT_ENOMEM, "segments: out of memory"), NULL;
    }
    self->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dirfd < 0) {
        lt_err_set(err, LT_ESTORE, "segments %s: cannot open: %s", dir, strerror(errno));
        lt_segments_destroy(&self);
        return NULL;
    }
    self->seg_size = seg_size ? seg_size : S_SEG_SIZE;
    if (self->seg_size < 4096)
        self->seg_size = 4096;
    self->hot_max = S_HOT_MAX;
    lt_seg_ref_t none = {0};
    lt_segments_recover(self, &none);
    return self;
}

//  Free the buffers from entry on.
static void s_hot_free(s_hot_t *entry)
{
    while (entry) {
        s_hot_t *next = entry->next;
        free(entry->buf);
        free(entry->runs);
        free(entry);
        entry = next;
    }
}

void lt_segments_destroy(lt_segments_t **self_p)
{
    assert(self_p);
    lt_segments_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < S_FILES; i++)
        if (self->files[i].seg)
            close(self->files[i].fd);
    if (self->dirfd >= 0)
        close(self->dirfd);
    s_hot_free(self->written);
    s_hot_free(self->hot);
    free(self->buf);
    free(self->runs);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

//  Lowest and highest segment numbers on disk, their count and bytes.
static void s_scan(lt_segments_t *self, uint32_t *first, uint32_t *last, uint32_t *files,
                   int64_t *bytes)
{
    *first = *last = *files = 0;
    *bytes = 0;
    DIR *dir = opendir(self->dir);
    struct dirent *entry;
    while (dir && (entry = readdir(dir))) {
        uint32_t seg = s_seg_of(entry->d_name);
        if (!seg)
            continue;
        (*files)++;
        if (!*first || seg < *first)
            *first = seg;
        if (seg > *last)
            *last = seg;
        struct stat st;
        if (fstatat(dirfd(dir), entry->d_name, &st, 0) == 0)
            *bytes += (int64_t)st.st_blocks * 512;
    }
    if (dir)
        closedir(dir);
}

void lt_segments_recover(lt_segments_t *self, const lt_seg_ref_t *last)
{
    assert(self && last);
    lt_segments_rollback(self);
    uint32_t first, newest, files;
    int64_t bytes;
    s_scan(self, &first, &newest, &files, &bytes);
    if (last->seg && last->seg == newest) {
        //  After the last referenced record: anything past it is unreferenced.
        self->cur = last->seg;
        self->off = last->offset + LT_SEGMENTS_HEADER + last->size;
    } else if (last->seg > newest) {
        //  The referenced segment is missing: never write where it was.
        self->cur = last->seg + 1;
        self->off = 0;
    } else {
        //  The newest file holds nothing referenced: start it again.
        self->cur = newest ? newest : 1;
        self->off = 0;
    }
    self->start_seg = self->cur;
    self->start_off = self->off;
}

//  The open file of segment seg (made when create), or NULL with errno set.
static s_file_t *s_file(lt_segments_t *self, uint32_t seg, bool create)
{
    for (size_t i = 0; i < S_FILES; i++)
        if (self->files[i].seg == seg)
            return &self->files[i];
    char path[4200];
    s_path(self, seg, path, sizeof(path));
    int fd = open(path, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT && create) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            self->created = true;
    }
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    //  Reuse a slot, preferably one with nothing to sync; a dirty one is
    //  synced before it is closed.
    s_file_t *slot = NULL;
    for (size_t tries = 0; tries < S_FILES && !slot; tries++) {
        s_file_t *candidate = &self->files[self->file_next];
        self->file_next = (self->file_next + 1) % S_FILES;
        if (!candidate->seg || (!candidate->dirty && candidate->seg != self->cur))
            slot = candidate;
    }
    if (!slot)
        slot = &self->files[self->file_next];
    if (slot->seg) {
        if (slot->dirty && fdatasync(slot->fd)) {
            int saved = errno;
            close(fd);
            errno = saved;
            return NULL;
        }
        close(slot->fd);
    }
    *slot = (s_file_t){.seg = seg, .fd = fd, .alloc = (int64_t)st.st_size};
    return slot;
}

//  Forget an open file (after an error on it, or before deleting it).
static void s_file_close(lt_segments_t *self, uint32_t seg)
{
    for (size_t i = 0; i < S_FILES; i++)
        if (self->files[i].seg == seg) {
            close(self->files[i].fd);
            self->files[i].seg = 0;
            self->files[i].dirty = false;
        }
}

//  Make sure bytes up to end are allocated in file, in preallocation steps.
static int s_prealloc(lt_segments_t *self, s_file_t *file, uint64_t end)
{
    if ((int64_t)end <= file->alloc)
        return 0;
    uint64_t target = (uint64_t)file->alloc + S_PREALLOC;
    if (target > self->seg_size)
        target = self->seg_size;
    if (target < end)
        target = end;
    int rc = posix_fallocate(file->fd, file->alloc, (off_t)(target - (uint64_t)file->alloc));
    if (rc == ENOSPC && target > end) //  no room for the step: only what is needed
        rc = posix_fallocate(file->fd, file->alloc, (off_t)(end - (uint64_t)file->alloc));
    if (rc == 0) {
        struct stat st;
        file->alloc = fstat(file->fd, &st) == 0 ? (int64_t)st.st_size : (int64_t)end;
        return 0;
    }
    if (rc == EOPNOTSUPP || rc == EINVAL)
        return 0; //  no preallocation here: plain appends
    errno = rc;
    return -1;
}

//  Write iov (count buffers, bytes in all) at offset of segment seg; on
//  failure the group is marked failed (lt_segments_sync reports it).
static void s_write(lt_segments_t *self, uint32_t seg, uint64_t offset, struct iovec *iov,
                    int count, size_t bytes)
{
    if (self->fail_errno)
        return; //  the group already failed: it will be refused whole
    const char *what = "open";
    s_file_t *file = s_file(self, seg, offset == 0);
    if (!file)
        goto failed;
    what = "preallocate";
    if (s_prealloc(self, file, offset + bytes))
        goto failed;
    what = "write";
    file->dirty = true;
    size_t done = 0;
    while (done < bytes) {
        ssize_t n = pwritev(file->fd, iov, count, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            goto failed;
        }
        done += (size_t)n;
        //  A short write: skip what was written.
        size_t skip = (size_t)n;
        while (count > 0 && skip >= iov->iov_len) {
            skip -= iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + skip;
            iov->iov_len -= skip;
        }
    }
    if (file->alloc < (int64_t)(offset + bytes))
        file->alloc = (int64_t)(offset + bytes);
    self->stats.written += bytes;
    return;
failed:
    self->fail_errno = errno ? errno : EIO;
    self->fail_seg = seg;
    self->fail_what = what;
}

//  Write the buffer's runs (no sync) and keep the buffer with the group's
//  written ones, for reads until the group settles.
static void s_flush(lt_segments_t *self)
{
    if (!self->run_count)
        return;
    for (size_t r = 0; r < self->run_count; r++) {
        struct iovec iov = {self->buf + self->runs[r].start, self->runs[r].len};
        s_write(self, self->runs[r].seg, self->runs[r].offset, &iov, 1, self->runs[r].len);
    }
    s_hot_t *entry = calloc(1, sizeof(*entry));
    s_run_t *runs = entry ? malloc(self->run_count * sizeof(*runs)) : NULL;
    if (runs) {
        memcpy(runs, self->runs, self->run_count * sizeof(*runs));
        *entry = (s_hot_t){.next = self->written,
                           .buf = self->buf,
                           .size = self->len,
                           .alloc = self->alloc,
                           .runs = runs,
                           .run_count = self->run_count};
        self->written = entry;
        self->buf = NULL; //  the buffer now belongs to the written list
        self->alloc = 0;
    } else
        free(entry);
    self->len = 0;
    self->run_count = 0;
}

//  Make room for more bytes in the group's buffer; -1 when out of memory.
static int s_reserve(lt_segments_t *self, size_t more)
{
    if (self->len + more <= self->alloc)
        return 0;
    size_t alloc = self->alloc ? self->alloc : 65536;
    while (alloc < self->len + more)
        alloc *= 2;
    uint8_t *buf = realloc(self->buf, alloc);
    if (!buf)
        return -1;
    self->buf = buf;
    self->alloc = alloc;
    return 0;
}

//  Add bytes at the append point to the buffer's runs, extending the last.
static int s_add(lt_segments_t *self, size_t bytes)
{
    s_run_t *last = self->run_count ? &self->runs[self->run_count - 1] : NULL;
    if (last && last->seg == self->cur && last->offset + last->len == self->off) {
        last->len += bytes;
        return 0;
    }
    if (self->run_count == self->run_alloc) {
        size_t alloc = self->run_alloc ? self->run_alloc * 2 : 4;
        s_run_t *runs = realloc(self->runs, alloc * sizeof(*runs));
        if (!runs)
            return -1;
        self->runs = runs;
        self->run_alloc = alloc;
    }
    self->runs[self->run_count++] =
        (s_run_t){.seg = self->cur, .offset = self->off, .start = self->len - bytes, .len = bytes};
    return 0;
}

//  Fill a record's header for size bytes of data.
static void s_header(uint8_t head[LT_SEGMENTS_HEADER], const void *data, size_t size)
{
    s_put32(head, S_REC_MAGIC);
    s_put32(head + 4, (uint32_t)size);
    s_put32(head + 8, s_crc(data, size));
    s_put32(head + 12, s_crc(head, 12));
}

int lt_segments_append(lt_segments_t *self, const void *data, size_t size, lt_seg_ref_t *ref,
                       lt_err_t *err)
{
    assert(self && ref && (data || !size));
    assert(!self->synced);
    if ((uint64_t)size > S_MAX_RECORD)
        return lt_err_set(err, LT_ETOOBIG, "segments: a record of %zu bytes is too large", size),
               -1;
    size_t record = LT_SEGMENTS_HEADER + size;
    //  A segment that already holds records is closed when this one would
    //  pass its size; a record larger than a segment gets one to itself.
    if (self->off > LT_SEGMENTS_HEADER && self->off + record > self->seg_size) {
        self->cur++;
        self->off = 0;
    }
    bool direct = size >= S_DIRECT;
    //  A full buffer is written; so is any before a large record, so that
    //  its file exists and the writes go in order.
    if (direct || self->len + record + LT_SEGMENTS_HEADER > S_BUF_MAX)
        s_flush(self);
    if (s_reserve(self, LT_SEGMENTS_HEADER + (direct ? 0 : record)))
        return lt_err_set(err, LT_ENOMEM, "segments: out of memory"), -1;
    if (self->off == 0) {
        //  A new segment: its file header first.
        uint8_t *head = self->buf + self->len;
        memcpy(head, s_file_magic, 8);
        s_put32(head + 8, self->cur);
        s_put32(head + 12, 0);
        self->len += LT_SEGMENTS_HEADER;
        if (s_add(self, LT_SEGMENTS_HEADER)) {
            self->len -= LT_SEGMENTS_HEADER;
            return lt_err_set(err, LT_ENOMEM, "segments: out of memory"), -1;
        }
        self->off = LT_SEGMENTS_HEADER;
        if (direct)
            s_flush(self); //  the file is made before the record goes in
    }
    if (direct) {
        //  Large: header and bytes written from here, no copy.
        uint8_t head[LT_SEGMENTS_HEADER];
        s_header(head, data, size);
        struct iovec iov[2] = {{head, sizeof(head)}, {(void *)data, size}};
        s_write(self, self->cur, self->off, iov, 2, record);
    } else {
        uint8_t *head = self->buf + self->len;
        s_header(head, data, size);
        if (size)
            memcpy(head + LT_SEGMENTS_HEADER, data, size);
        self->len += record;
        if (s_add(self, record)) {
            self->len -= record;
            return lt_err_set(err, LT_ENOMEM, "segments: out of memory"), -1;
        }
    }
    *ref = (lt_seg_ref_t){.seg = self->cur, .offset = self->off, .size = (uint32_t)size};
    self->off += record;
    self->appended = true;
    return 0;
}

void lt_segments_undo(lt_segments_t *self, const lt_seg_ref_t *ref)
{
    assert(self && ref);
    assert(!self->synced);
    size_t record = LT_SEGMENTS_HEADER + ref->size;
    s_run_t *last = self->run_count ? &self->runs[self->run_count - 1] : NULL;
    //  Still in the buffer: taken out; already written: written over later.
    if (last && last->seg == ref->seg && last->offset + last->len == ref->offset + record &&
        last->len >= record) {
        last->len -= record;
        self->len -= record;
        if (last->len == 0)
            self->run_count--;
    }
    self->cur = ref->seg;
    self->off = ref->offset;
    //  A segment begun for this record alone, header not written: it goes too.
    last = self->run_count ? &self->runs[self->run_count - 1] : NULL;
    if (last && last->seg == ref->seg && last->offset == 0 && last->len == LT_SEGMENTS_HEADER &&
        ref->offset == LT_SEGMENTS_HEADER) {
        self->run_count--;
        self->len -= LT_SEGMENTS_HEADER;
        self->off = 0;
    }
}

bool lt_segments_pending(const lt_segments_t *self)
{
    assert(self);
    return self->appended;
}

int lt_segments_sync(lt_segments_t *self, int *sys_errno, lt_err_t *err)
{
    assert(self);
    if (sys_errno)
        *sys_errno = 0;
    if (!self->appended || self->synced) {
        self->synced = self->appended;
        return 0;
    }
    s_flush(self);
    uint32_t seg = self->fail_seg;
    const char *what = self->fail_what;
    errno = self->fail_errno;
    if (self->fail_errno)
        goto failed;
    what = "fdatasync";
    for (size_t i = 0; i < S_FILES; i++)
        if (self->files[i].seg && self->files[i].dirty) {
            seg = self->files[i].seg;
            if (fdatasync(self->files[i].fd))
                goto failed;
            self->files[i].dirty = false;
            self->stats.syncs++;
        }
    what = "fsync of the directory";
    if (self->created && fsync(self->dirfd))
        goto failed;
    self->created = false;
    self->synced = true;
    return 0;
failed:;
    int saved = errno ? errno : EIO;
    if (sys_errno)
        *sys_errno = saved;
    lt_err_set(err, LT_ESTORE, "segment %s/%06u: %s failed: %s%s", self->dir, seg, what,
               strerror(saved),
               saved == ENOSPC || saved == EDQUOT ? " (disk full, retry later)" : "");
    //  After a failed write or sync a file's state is unknown: reopen it.
    if (seg)
        s_file_close(self, seg);
    lt_segments_rollback(self);
    return -1;
}

//  Drop the oldest hot buffers until they fit their bound; one of them
//  becomes the next group's buffer, so that a steady flow allocates none.
static void s_hot_trim(lt_segments_t *self)
{
    while (self->hot && self->hot_bytes > self->hot_max) {
        s_hot_t **tail = &self->hot;
        while ((*tail)->next)
            tail = &(*tail)->next;
        s_hot_t *gone = *tail;
        *tail = NULL;
        self->hot_bytes -= gone->size;
        if (!self->buf && gone->alloc <= 2 * S_BUF_MAX) {
            self->buf = gone->buf;
            self->alloc = gone->alloc;
            gone->buf = NULL;
        }
        s_hot_free(gone);
    }
}

void lt_segments_settle(lt_segments_t *self)
{
    assert(self);
    //  The group's written buffers become hot, oldest last.
    while (self->written) {
        s_hot_t *entry = self->written;
        self->written = entry->next;
        entry->next = self->hot;
        self->hot = entry;
        self->hot_bytes += entry->size;
    }
    s_hot_trim(self);
    self->len = 0;
    self->run_count = 0;
    self->appended = false;
    self->synced = false;
    self->created = false;
    self->fail_errno = 0;
    self->start_seg = self->cur;
    self->start_off = self->off;
}

void lt_segments_rollback(lt_segments_t *self)
{
    assert(self);
    //  What the group wrote is unreferenced and will be written over: its
    //  buffers may not answer reads any more.
    s_hot_free(self->written);
    self->written = NULL;
    for (size_t i = 0; i < S_FILES; i++)
        self->files[i].dirty = false;
    self->len = 0;
    self->run_count = 0;
    self->appended = false;
    self->synced = false;
    self->created = false;
    self->fail_errno = 0;
    self->cur = self->start_seg;
    self->off = self->start_off;
}

//  Find a record's header in a buffer's runs; NULL when not there.
static const uint8_t *s_find(const uint8_t *buf, const s_run_t *runs, size_t count,
                             const lt_seg_ref_t *ref)
{
    uint64_t end = ref->offset + LT_SEGMENTS_HEADER + ref->size;
    for (size_t r = 0; r < count; r++)
        if (runs[r].seg == ref->seg && runs[r].offset <= ref->offset &&
            end <= runs[r].offset + runs[r].len)
            return buf + runs[r].start + (ref->offset - runs[r].offset);
    return NULL;
}

//  Check a record's header against its reference; NULL when it matches,
//  else what is wrong.
static const char *s_check_header(const uint8_t *head, const lt_seg_ref_t *ref)
{
    if (s_get32(head) != S_REC_MAGIC)
        return "no record there (bad magic)";
    if (s_get32(head + 12) != s_crc(head, 12))
        return "record header damaged (CRC)";
    if (s_get32(head + 4) != ref->size)
        return "record length differs from its reference";
    return NULL;
}

int lt_segments_read(lt_segments_t *self, const lt_seg_ref_t *ref, uint8_t **data, lt_err_t *err)
{
    assert(self && ref && data);
    *data = NULL;
    uint8_t *out = malloc(ref->size ? ref->size : 1);
    if (!out)
        return lt_err_set(err, LT_ENOMEM, "segments: out of memory"), -1;
    const uint8_t *head = s_find(self->buf, self->runs, self->run_count, ref);
    for (s_hot_t *hot = self->written; hot && !head; hot = hot->next)
        head = s_find(hot->buf, hot->runs, hot->run_count, ref);
    for (s_hot_t *hot = self->hot; hot && !head; hot = hot->next)
        head = s_find(hot->buf, hot->runs, hot->run_count, ref);
    const char *wrong = NULL;
    if (head) {
        if (!(wrong = s_check_header(head, ref))) {
            memcpy(out, head + LT_SEGMENTS_HEADER, ref->size);
            self->stats.reads_hot++;
            *data = out;
            return 0;
        }
    } else {
        uint8_t header[LT_SEGMENTS_HEADER];
        s_file_t *file = s_file(self, ref->seg, false);
        if (!file)
            wrong = errno == ENOENT ? "segment file missing" : strerror(errno);
        else {
            struct iovec iov[2] = {{header, sizeof(header)}, {out, ref->size}};
            size_t want = sizeof(header) + ref->size, got = 0;
            ssize_t n;
            do
                n = preadv(file->fd, iov, 2, (off_t)ref->offset);
            while (n < 0 && errno == EINTR);
            got = n > 0 ? (size_t)n : 0;
            if (n < 0)
                wrong = strerror(errno);
            else if (got < want)
                wrong = "record cut short (file ends before it)";
            else if (!(wrong = s_check_header(header, ref)) &&
                     s_get32(header + 8) != s_crc(out, ref->size))
                wrong = "record damaged (CRC mismatch)";
            if (!wrong) {
                self->stats.reads_disk++;
                *data = out;
                return 0;
            }
        }
    }
    free(out);
    self->stats.read_errors++;
    lt_err_set(err, LT_ESTORE, "payload in segment %s/%06u at offset %llu (%u bytes): %s",
               self->dir, ref->seg, (unsigned long long)ref->offset, ref->size, wrong);
    return -1;
}

int lt_segments_remove(lt_segments_t *self, uint32_t seg, lt_err_t *err)
{
    assert(self);
    if (seg == 0 || seg >= self->start_seg || seg >= self->cur)
        return lt_err_set(err, LT_ESTATE, "segment %06u is in use", seg), -1;
    s_file_close(self, seg);
    //  Forget hot groups that lie in it.
    for (s_hot_t **at = &self->hot; *at;) {
        bool in = false;
        for (size_t r = 0; r < (*at)->run_count; r++)
            in = in || (*at)->runs[r].seg == seg;
        if (in) {
            s_hot_t *gone = *at;
            *at = gone->next;
            self->hot_bytes -= gone->size;
            gone->next = NULL;
            s_hot_free(gone);
        } else
            at = &(*at)->next;
    }
    char path[4200];
    s_path(self, seg, path, sizeof(path));
    if (unlink(path) && errno != ENOENT)
        return lt_err_set(err, LT_ESTORE, "cannot delete %s: %s", path, strerror(errno)), -1;
    return 0;
}

void lt_segments_set_size(lt_segments_t *self, uint64_t bytes)
{
    assert(self);
    self->seg_size = bytes < 4096 ? 4096 : bytes;
}

void lt_segments_set_cache(lt_segments_t *self, size_t bytes)
{
    assert(self);
    self->hot_max = bytes;
    s_hot_trim(self);
}

void lt_segments_stats(lt_segments_t *self, lt_segments_stats_t *stats)
{
    assert(self && stats);
    *stats = self->stats;
    uint32_t newest;
    s_scan(self, &stats->first, &newest, &stats->files, &stats->bytes);
    stats->current = self->cur;
}

//  ---------------------------------------------------------------------------
//  Self-test

//  Fill a buffer with a pattern that depends on seed.
static void s_fill(uint8_t *buf, size_t size, unsigned seed)
{
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

//  Read ref and check it holds the pattern of seed.
static void s_expect(lt_segments_t *segs, const lt_seg_ref_t *ref, unsigned seed)
{
    uint8_t *data = NULL, *want = malloc(ref->size + 1);
    lt_err_t err;
    assert(want);
    assert(lt_segments_read(segs, ref, &data, &err) == 0);
    s_fill(want, ref->size, seed);
    assert(memcmp(data, want, ref->size) == 0);
    free(data);
    free(want);
}

void lt_segments_test(bool verbose)
{
    if (verbose)
        printf(" * lt_segments: ");
    char dir[] = "/tmp/lt_segments_test_XXXXXX";
    assert(mkdtemp(dir));
    //  CRC-32C's check value, and the same from the table.
    assert(s_crc("123456789", 9) == 0xE3069283u);
    bool hw = s_crc_hw;
    s_crc_hw = false;
    assert(s_crc("123456789", 9) == 0xE3069283u);
    s_crc_hw = hw;
    lt_err_t err;
    lt_segments_t *segs = lt_segments_new(dir, 64 * 1024, &err);
    assert(segs);
    assert(!lt_segments_pending(segs));
    uint8_t big[40000];
    lt_seg_ref_t refs[8];
    //  Append, sync, settle; read back from memory and from disk.
    for (unsigned i = 0; i < 3; i++) {
        s_fill(big, 1000 + i, i);
        assert(lt_segments_append(segs, big, 1000 + i, &refs[i], &err) == 0);
    }
    assert(refs[0].seg == 1 && refs[0].offset == LT_SEGMENTS_HEADER);
    assert(refs[1].offset == refs[0].offset + LT_SEGMENTS_HEADER + 1000);
    s_expect(segs, &refs[1], 1); //  readable before the sync (pending group)
    int sys_errno = 0;
    assert(lt_segments_sync(segs, &sys_errno, &err) == 0 && sys_errno == 0);
    lt_segments_settle(segs);
    lt_segments_stats_t stats;
    lt_segments_stats(segs, &stats);
    assert(stats.files == 1 && stats.syncs == 1 && stats.current == 1);
    s_expect(segs, &refs[2], 2);
    lt_segments_set_cache(segs, 0); //  from the file now
    s_expect(segs, &refs[0], 0);
    lt_segments_stats(segs, &stats);
    assert(stats.reads_hot == 2 && stats.reads_disk == 1);
    lt_segments_set_cache(segs, 1 << 20);
    //  Undo of the last append; then a group that crosses into segment 2.
    s_fill(big, 500, 9);
    assert(lt_segments_append(segs, big, 500, &refs[3], &err) == 0);
    lt_segments_undo(segs, &refs[3]);
    s_fill(big, sizeof(big), 3);
    assert(lt_segments_append(segs, big, sizeof(big), &refs[3], &err) == 0);
    assert(refs[3].offset == refs[2].offset + LT_SEGMENTS_HEADER + 1002); //  the undo's place
    s_fill(big, sizeof(big), 4);
    assert(lt_segments_append(segs, big, sizeof(big), &refs[4], &err) == 0);
    assert(refs[4].seg == 2 && refs[4].offset == LT_SEGMENTS_HEADER);
    //  A rolled-back group leaves the append point where it was.
    lt_segments_rollback(segs);
    s_fill(big, sizeof(big), 3);
    assert(lt_segments_append(segs, big, sizeof(big), &refs[3], &err) == 0);
    s_fill(big, sizeof(big), 4);
    assert(lt_segments_append(segs, big, sizeof(big), &refs[4], &err) == 0);
    assert(refs[4].seg == 2);
    assert(lt_segments_sync(segs, NULL, &err) == 0);
    lt_segments_settle(segs);
    lt_segments_set_cache(segs, 0);
    s_expect(segs, &refs[3], 3);
    s_expect(segs, &refs[4], 4);
    //  A record larger than a segment gets one of its own.
    uint8_t *huge = malloc(100000);
    assert(huge);
    s_fill(huge, 100000, 5);
    assert(lt_segments_append(segs, huge, 100000, &refs[5], &err) == 0);
    assert(refs[5].seg == 3 && refs[5].offset == LT_SEGMENTS_HEADER);
    assert(lt_segments_sync(segs, NULL, &err) == 0);
    lt_segments_settle(segs);
    s_expect(segs, &refs[5], 5);
    free(huge);
    //  A damaged record is a clear error, never a crash.
    char path[4200];
    snprintf(path, sizeof(path), "%s/%06u.seg", dir, refs[4].seg);
    int fd = open(path, O_RDWR);
    assert(fd >= 0);
    assert(pwrite(fd, "XX", 2, (off_t)(refs[4].offset + LT_SEGMENTS_HEADER + 100)) == 2);
    uint8_t *data = NULL;
    assert(lt_segments_read(segs, &refs[4], &data, &err) == -1 && !data);
    assert(err.code == LT_ESTORE && strstr(err.detail, "CRC"));
    assert(pwrite(fd, "\0\0\0\0", 4, (off_t)refs[4].offset) == 4);
    assert(lt_segments_read(segs, &refs[4], &data, &err) == -1 && strstr(err.detail, "magic"));
    close(fd);
    lt_seg_ref_t nowhere = {.seg = 1, .offset = 60000, .size = 10000};
    assert(lt_segments_read(segs, &nowhere, &data, &err) == -1 && strstr(err.detail, "short"));
    lt_segments_stats(segs, &stats);
    assert(stats.read_errors == 3 && stats.files == 3);
    //  Segments in use cannot be deleted; older ones can.
    assert(lt_segments_remove(segs, 3, &err) == -1);
    assert(lt_segments_remove(segs, 2, &err) == 0);
    lt_seg_ref_t gone = refs[4];
    assert(lt_segments_read(segs, &gone, &data, &err) == -1 && strstr(err.detail, "missing"));
    lt_segments_destroy(&segs);

    //  Reopen (larger segments now): appends go on after the last
    //  referenced record; a torn tail past it is overwritten.
    segs = lt_segments_new(dir, 1024 * 1024, &err);
    assert(segs);
    lt_segments_recover(segs, &refs[5]);
    snprintf(path, sizeof(path), "%s/%06u.seg", dir, refs[5].seg);
    fd = open(path, O_RDWR);
    assert(fd >= 0);
    off_t tail = (off_t)(refs[5].offset + LT_SEGMENTS_HEADER + refs[5].size);
    assert(pwrite(fd, "garbage: a torn record", 22, tail) == 22);
    close(fd);
    s_fill(big, 700, 6);
    assert(lt_segments_append(segs, big, 700, &refs[6], &err) == 0);
    assert(refs[6].seg == 3 && refs[6].offset == (uint64_t)tail);
    assert(lt_segments_sync(segs, NULL, &err) == 0);
    lt_segments_settle(segs);
    lt_segments_set_cache(segs, 0);
    s_expect(segs, &refs[6], 6);
    s_expect(segs, &refs[5], 5);
    //  A large record written at once can be taken back too: the next one
    //  goes where it was.
    huge = malloc(100000);
    assert(huge);
    s_fill(huge, 100000, 8);
    assert(lt_segments_append(segs, huge, 100000, &refs[4], &err) == 0);
    lt_segments_undo(segs, &refs[4]);
    s_fill(big, 100, 6);
    assert(lt_segments_append(segs, big, 100, &refs[7], &err) == 0);
    assert(refs[7].seg == refs[4].seg && refs[7].offset == refs[4].offset);
    lt_segments_rollback(segs);
    free(huge);
    lt_segments_destroy(&segs);
    //  Nothing referenced in the newest file: it is written again from its start.
    segs = lt_segments_new(dir, 64 * 1024, &err);
    assert(segs);
    lt_segments_recover(segs, &refs[0]);
    s_fill(big, 10, 7);
    assert(lt_segments_append(segs, big, 10, &refs[7], &err) == 0);
    assert(refs[7].seg == 3 && refs[7].offset == LT_SEGMENTS_HEADER);
    lt_segments_rollback(segs);
    //  A referenced segment that is missing is never written again.
    lt_seg_ref_t lost = {.seg = 9, .offset = 100, .size = 10};
    lt_segments_recover(segs, &lost);
    assert(lt_segments_append(segs, big, 10, &refs[7], &err) == 0);
    assert(refs[7].seg == 10);
    lt_segments_rollback(segs);
    //  A failed write (here: the directory made read-only is not enough as
    //  root, so a segment path that is a directory) refuses the group.
    char blocker[4200];
    snprintf(blocker, sizeof(blocker), "%s/%06u.seg", dir, 10u);
    assert(mkdir(blocker, 0700) == 0);
    assert(lt_segments_append(segs, big, 10, &refs[7], &err) == 0);
    assert(lt_segments_sync(segs, &sys_errno, &err) == -1 && sys_errno != 0);
    assert(err.code == LT_ESTORE && strstr(err.detail, "000010"));
    assert(!lt_segments_pending(segs));
    rmdir(blocker);
    lt_segments_destroy(&segs);
    lt_segments_destroy(&segs);

    DIR *d = opendir(dir);
    struct dirent *entry;
    while (d && (entry = readdir(d))) {
        if (s_seg_of(entry->d_name)) {
            snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
    if (verbose)
        printf("OK\n");
}
