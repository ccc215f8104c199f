/*  lt_digest: digests over OpenSSL's EVP and HMAC one-shot calls. */
#include "lt_file.h"
#include "lt_digest.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_hex[] = "0123456789abcdef";

static void s_to_hex(const unsigned char *md, size_t size, char *hex)
{
    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = s_hex[md[i] >> 4];
        hex[2 * i + 1] = s_hex[md[i] & 15];
    }
    hex[2 * size] = 0;
}

//  SHA-256 fetched from the default provider once: EVP_sha256() makes
//  every EVP_Digest look the algorithm up again (OpenSSL 3).
static EVP_MD *s_sha256_md;
static pthread_once_t s_sha256_once = PTHREAD_ONCE_INIT;

static void s_sha256_fetch(void)
{
    s_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *s_sha256(void)
{
    pthread_once(&s_sha256_once, s_sha256_fetch);
    return s_sha256_md ? s_sha256_md : EVP_sha256();
}

void lt_digest_sha256(const void *data, size_t size, unsigned char md[LT_SHA256_SIZE])
{
    EVP_Digest(data, size, md, NULL, s_sha256(), NULL);
}

void lt_digest_sha256_hex(const void *data, size_t size, char hex[LT_SHA256_HEX])
{
    unsigned char md[32];
    EVP_Digest(data, size, md, NULL, s_sha256(), NULL);
    s_to_hex(md, sizeof(md), hex);
}

void lt_digest_hex(const unsigned char *bytes, size_t size, char *hex)
{
    s_to_hex(bytes, size, hex);
}

void lt_digest_sha256_unpadded(const void *data, size_t size, char out[LT_SHA256_UNPADDED])
{
    unsigned char md[32];
    EVP_Digest(data, size, md, NULL, s_sha256(), NULL);
    char *p = out;
    for (size_t i = 0; i < sizeof(md); i++) {
        if (md[i] >> 4)
            *p++ = s_hex[md[i] >> 4];
        *p++ = s_hex[md[i] & 15];
    }
    *p = 0;
}

void lt_digest_hmac_sha256_hex(const void *key, size_t key_size, const void *data, size_t size,
                               char hex[LT_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_size = 0;
    HMAC(EVP_sha256(), key, (int) key_size, data, size, md, &md_size);
    s_to_hex(md, md_size, hex);
}

bool lt_digest_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}


void lt_digest_test(bool verbose)
{
    if (verbose)
        printf(" * lt_digest: ");
    char hex[LT_SHA256_HEX];
    lt_digest_sha256_hex("abc", 3, hex);
    assert(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    unsigned char md[LT_SHA256_SIZE];
    lt_digest_sha256("abc", 3, md);
    lt_digest_hex(md, sizeof(md), hex);
    assert(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    //  Unpadded: bytes 0x01, 0x03 and 0x00 of this digest print as one digit.
    lt_digest_sha256_unpadded("abc", 3, hex);
    assert(strcmp(hex, "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad") == 0);
    //  RFC 4231 test case 2.
    lt_digest_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
    assert(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
    assert(lt_digest_equal("abc", "abc"));
    assert(!lt_digest_equal("abc", "abd"));
    assert(!lt_digest_equal("abc", "ab"));

    //  The shared fixtures list the unpadded digests of the sample packages.
    const char *fixtures = getenv("LT_FIXTURES");
    if (fixtures) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/edxml/HASH-FILE.txt", fixtures);
        FILE *list = fopen(path, "r");
        assert(list);
        char line[512];
        int checked = 0;
        while (fgets(line, sizeof(line), list)) {
            char want[128], name[256];
            if (sscanf(line, "%127s %255s", want, name) != 2)
                continue;
            char file[1400];
            snprintf(file, sizeof(file), "%s/edxml/%s", fixtures, name);
            size_t size = 0;
            unsigned char *data = lt_file_read(file, 0, &size, NULL);
            assert(data);
            lt_digest_sha256_unpadded(data, size, hex);
            assert(strcmp(hex, want) == 0);
            free(data);
            checked++;
        }
        fclose(list);
        assert(checked >= 7);
    }
    if (verbose)
        printf("OK\n");
}
