/*  sim_util: helpers shared by the lthub-sim modes. */
#include "lt_period.h"
#include "sim.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

unsigned char *sim_read_file(const char *path, size_t max, size_t *size, lt_err_t *err)
{
    assert(path && size);
    FILE *file = fopen(path, "rb");
    if (!file) {
        lt_err_set(err, LT_EIO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, used = 0;
    unsigned char *data = malloc(cap + 1);
    while (data) {
        if (used == cap) {
            if (cap > max)
                break;
            unsigned char *grown = realloc(data, cap * 2 + 1);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap *= 2;
        }
        size_t got = fread(data + used, 1, cap - used, file);
        used += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(file) != 0;
    fclose(file);
    if (!data) {
        lt_err_set(err, LT_ENOMEM, "out of memory reading %s", path);
        return NULL;
    }
    if (failed || used > max) {
        free(data);
        lt_err_set(err, failed ? LT_EIO : LT_ETOOBIG, "%s: %s", path,
                   failed ? "read error" : "file too large");
        return NULL;
    }
    data[used] = 0;
    *size = used;
    return data;
}

int sim_write_file(const char *path, const void *data, size_t size)
{
    char temp[4096];
    if (snprintf(temp, sizeof(temp), "%s.tmp", path) >= (int) sizeof(temp))
        return -1;
    FILE *file = fopen(temp, "wb");
    if (!file)
        return -1;
    bool ok = fwrite(data, 1, size, file) == size;
    ok = fflush(file) == 0 && ok;
    ok = fclose(file) == 0 && ok;
    if (!ok || rename(temp, path) != 0) {
        unlink(temp);
        return -1;
    }
    return 0;
}

int sim_parse_listen(const char *text, char *host, size_t host_size, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -1;
    const char *start = text, *end = colon;
    if (*start == '[') {
        if (end[-1] != ']')
            return -1;
        start++, end--;
    }
    size_t len = (size_t) (end - start);
    if (len == 0 || len >= host_size)
        return -1;
    long long value;
    if (!sim_parse_long(colon + 1, 0, 65535, &value))
        return -1;
    memcpy(host, start, len);
    host[len] = 0;
    *port = (uint16_t) value;
    return 0;
}

bool sim_parse_double(const char *text, double lo, double hi, double *out)
{
    if (!text || !*text)
        return false;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || *end || isnan(value) || value < lo || value > hi)
        return false;
    *out = value;
    return true;
}

bool sim_parse_long(const char *text, long long lo, long long hi, long long *out)
{
    if (!text || !*text)
        return false;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || *end || value < lo || value > hi)
        return false;
    *out = value;
    return true;
}

char *sim_base64_encode(const void *data, size_t size)
{
    size_t out_size = 4 * ((size + 2) / 3) + 1;
    char *out = malloc(out_size);
    if (!out)
        return NULL;
    //  EVP_EncodeBlock takes an int length: encode in large slices.
    const unsigned char *in = data;
    size_t used = 0;
    while (size > 0) {
        size_t slice = size > 3 * (1u << 28) ? 3 * (1u << 28) : size;
        used += (size_t) EVP_EncodeBlock((unsigned char *) out + used, in, (int) slice);
        in += slice;
        size -= slice;
    }
    out[used] = 0;
    return out;
}

unsigned char *sim_base64_decode(const char *text, size_t *size)
{
    size_t len = strlen(text);
    if (len > (size_t) 1 << 30)
        return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    if (!out || !ctx) {
        free(out);
        EVP_ENCODE_CTX_free(ctx);
        return NULL;
    }
    int used = 0, tail = 0;
    EVP_DecodeInit(ctx);
    bool ok = EVP_DecodeUpdate(ctx, out, &used, (const unsigned char *) text, (int) len) >= 0
              && EVP_DecodeFinal(ctx, out + used, &tail) == 1;
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        free(out);
        return NULL;
    }
    *size = (size_t) used + (size_t) tail;
    return out;
}

void sim_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int sim_wait_signal(int64_t ms)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    struct timespec timeout = {.tv_sec = (time_t) (ms / 1000),
                               .tv_nsec = (long) (ms % 1000) * 1000000L};
    int sig = sigtimedwait(&set, NULL, &timeout);
    return sig > 0 ? sig : 0;
}

void sim_format_time(int64_t ms, char out[32])
{
    lt_period_format_time(ms, "%Y-%m-%d %H:%M:%S", out, 32);
}
