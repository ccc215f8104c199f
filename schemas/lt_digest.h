/*  lt_digest: SHA-256 and HMAC-SHA256 helpers with the hex forms the peers
    expect. The edoc API's `hash-file` prints each byte as lowercase hex
    without zero padding (spec/peers.md A), so a byte 0x0a is "a"; that form
    is lt_digest_sha256_unpadded(). */
#ifndef LT_DIGEST_H_INCLUDED
#define LT_DIGEST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_SHA256_HEX 65        //  64 hex digits + NUL
#define LT_SHA256_UNPADDED 65   //  at most 64 digits + NUL
#define LT_SHA256_SIZE 32       //  bytes of a SHA-256

//  Write the SHA-256 of data as its 32 bytes into md.
void lt_digest_sha256(const void *data, size_t size, unsigned char md[LT_SHA256_SIZE]);

//  Write size bytes as 2 * size lowercase hex digits and a NUL into hex.
void lt_digest_hex(const unsigned char *bytes, size_t size, char *hex);

//  Write the SHA-256 of data as 64 lowercase hex digits into hex.
void lt_digest_sha256_hex(const void *data, size_t size, char hex[LT_SHA256_HEX]);

//  Write the SHA-256 of data in the unpadded hex form of the edoc API.
void lt_digest_sha256_unpadded(const void *data, size_t size, char out[LT_SHA256_UNPADDED]);

//  Write HMAC-SHA256(key, data) as 64 lowercase hex digits into hex.
void lt_digest_hmac_sha256_hex(const void *key, size_t key_size, const void *data, size_t size,
                               char hex[LT_SHA256_HEX]);

//  Compare two strings in time independent of where they differ.
bool lt_digest_equal(const char *a, const char *b);

//  Self-test of this class.
void lt_digest_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
