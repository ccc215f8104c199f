/*  lt_id: UUIDv7 generation. The random bits come from getrandom(2), drawn
    in blocks; the 12-bit counter keeps ids from one process strictly
    ordered. */
#include "lt_id.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t s_last_ms = -1;   //  millisecond of the last id made
static uint16_t s_counter = 0;   //  12-bit sequence within s_last_ms

int64_t lt_time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lt_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lt_random_bytes(void *out, size_t size)
{
    uint8_t *buf = out;
    size_t got = 0;
    while (got < size) {
        ssize_t rc = getrandom(buf + got, size - got, 0);
        if (rc <= 0)
            break;
        got += (size_t) rc;
    }
    for (; got < size; got++)
        buf[got] = (uint8_t) (lt_clock_ms() * 2654435761u >> (got % 24));
}

//  Random bytes for ids, drawn from the kernel 640 at a time rather than
//  with one getrandom(2) call per id (a system call per message relayed).
//  Each thread has its own pool; a forked child starts with an empty one,
//  so parent and child never share bytes.
#define S_POOL 640
static _Thread_local uint8_t s_pool[S_POOL];
static _Thread_local size_t s_pool_left = 0;
static pthread_once_t s_pool_once = PTHREAD_ONCE_INIT;

static void s_pool_forget(void)
{
    memset(s_pool, 0, sizeof(s_pool));
    s_pool_left = 0;
}

static void s_pool_init(void)
{
    pthread_atfork(NULL, NULL, s_pool_forget);
}

//  Take size random bytes from this thread's pool.
static void s_pool_take(uint8_t *buf, size_t size)
{
    pthread_once(&s_pool_once, s_pool_init);
    if (s_pool_left < size) {
        lt_random_bytes(s_pool, S_POOL);
        s_pool_left = S_POOL;
    }
    uint8_t *from = s_pool + S_POOL - s_pool_left;
    memcpy(buf, from, size);
    memset(from, 0, size);   //  a byte is used once
    s_pool_left -= size;
}

//  Fill buf with the id of this moment; b[6..15] hold random bits, of
//  which b[6] gives the counter's start and b[8..15] the id's last bits.
static void s_make(char *buf, uint8_t b[16])
{
    pthread_mutex_lock(&s_lock);
    int64_t now = lt_time_ms();
    if (now <= s_last_ms) {
        //  Same millisecond, or the clock stepped back: keep counting up from
        //  the last id so ordering holds.
        if (++s_counter > 0x0fff) {
            s_counter = 0;
            s_last_ms++;
        }
        now = s_last_ms;
    }
    else {
        s_last_ms = now;
        s_counter = (uint16_t) (b[6] & 0x03);   //  small random start
    }
    uint16_t counter = s_counter;
    pthread_mutex_unlock(&s_lock);

    uint64_t ms = (uint64_t) now;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t) (ms >> (40 - 8 * i));
    b[6] = (uint8_t) (0x70 | ((counter >> 8) & 0x0f));
    b[7] = (uint8_t) (counter & 0xff);
    b[8] = (uint8_t) (0x80 | (b[8] & 0x3f));
    static const char hex[] = "0123456789abcdef";
    char *out = buf;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *out++ = '-';
        *out++ = hex[b[i] >> 4];
        *out++ = hex[b[i] & 15];
    }
    *out = 0;
}

void lt_id_new(char *buf)
{
    uint8_t b[16];
    s_pool_take(b + 6, 10);
    s_make(buf, b);
}

void lt_id_make(char *buf, uint64_t tail)
{
    uint8_t b[16];
    s_pool_take(b + 6, 1);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (uint8_t) (tail >> (56 - 8 * i));   //  the top 2 bits: the variant's
    s_make(buf, b);
}

static int s_hex(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

bool lt_id_tail(const char *text, uint64_t *tail)
{
    if (!lt_id_valid(text))
        return false;
    //  rand_b: the last 16 hex digits (after the dash at 23, from 19 on),
    //  without the variant's 2 bits.
    uint64_t bits = 0;
    for (int i = 19; i < LT_ID_LEN; i++)
        if (i != 23)
            bits = bits << 4 | (uint64_t) s_hex(text[i]);
    *tail = bits & 0x3fffffffffffffffULL;
    return true;
}

bool lt_id_valid(const char *text)
{
    if (!text || strlen(text) != LT_ID_LEN)
        return false;
    for (int i = 0; i < LT_ID_LEN; i++) {
        char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        }
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return text[14] == '7' && strchr("89ab", text[19]) != NULL;
}

int64_t lt_id_time_ms(const char *text)
{
    if (!lt_id_valid(text))
        return -1;
    int64_t ms = 0;
    for (int i = 0; i < 13; i++) {
        if (text[i] == '-')
            continue;
        char c = text[i];
        ms = ms * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return ms;
}

void lt_id_test(bool verbose)
{
    if (verbose)
        printf(" * lt_id: ");
    char prev[LT_ID_LEN + 1], next[LT_ID_LEN + 1];
    //  An id made with given last bits gives them back, whatever they are,
    //  and keeps the order of the ids around it.
    const uint64_t tails[] = {0, 1, 0x2a, 0x3fffffffffffffffULL, 0x123456789abcdefULL};
    lt_id_new(prev);
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        uint64_t tail = 99;
        lt_id_make(next, tails[i]);
        assert(lt_id_valid(next) && strcmp(prev, next) < 0);
        assert(lt_id_tail(next, &tail) && tail == tails[i]);
        memcpy(prev, next, sizeof(prev));
    }
    uint64_t tail;
    assert(!lt_id_tail("not an id", &tail));
    lt_id_new(prev);
    assert(lt_id_valid(prev));
    int64_t t = lt_id_time_ms(prev);
    int64_t now = lt_time_ms();
    assert(t <= now && now - t < 5000);
    //  Many ids in a burst stay strictly ordered and unique.
    for (int i = 0; i < 100000; i++) {
        lt_id_new(next);
        assert(lt_id_valid(next));
        assert(strcmp(prev, next) < 0);
        memcpy(prev, next, sizeof(prev));
    }
    //  A forked child draws its own random bits, not the rest of the
    //  parent's pool: the two next ids differ in their random part.
    int fds[2];
    assert(pipe(fds) == 0);
    pid_t child = fork();
    assert(child >= 0);
    if (child == 0) {
        lt_id_new(next);
        ssize_t wrote = write(fds[1], next, LT_ID_LEN);
        _exit(wrote == LT_ID_LEN ? 0 : 1);
    }
    char theirs[LT_ID_LEN + 1] = "";
    assert(read(fds[0], theirs, LT_ID_LEN) == LT_ID_LEN);
    int status = 0;
    assert(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    close(fds[1]);
    lt_id_new(next);
    assert(lt_id_valid(theirs) && strcmp(theirs + 24, next + 24) != 0);
    assert(!lt_id_valid(NULL));
    assert(!lt_id_valid(""));
    assert(!lt_id_valid("0190f1a2-7b3c-4d5e-8f60-123456789abc"));   //  version 4
    assert(!lt_id_valid("0190f1a2-7b3c-7d5e-cf60-123456789abc"));   //  bad variant
    assert(!lt_id_valid("0190F1A2-7b3c-7d5e-8f60-123456789abc"));   //  uppercase
    assert(lt_id_valid("0190f1a2-7b3c-7d5e-8f60-123456789abc"));
    assert(lt_id_time_ms("0190f1a2-7b3c-7d5e-8f60-123456789abc") == 0x0190f1a27b3cLL);
    assert(lt_id_time_ms("nope") == -1);
    if (verbose)
        printf("OK\n");
}
