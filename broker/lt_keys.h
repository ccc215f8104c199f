/*  lt_keys: CURVE certificates for the broker and its connectors.

    Layout of a keys directory:
        broker.cert, broker.cert_secret     the broker's certificate
        NAME.cert, NAME.cert_secret         one per connector (metadata name=NAME)
        allowed/NAME.cert                   public certificates the broker lets in
    Secret files are written mode 0600. Generation is idempotent: an
    existing certificate is kept.
*/
#ifndef LT_KEYS_H_INCLUDED
#define LT_KEYS_H_INCLUDED

#include "lt_error.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Make sure DIR holds the broker's certificate; 1 if created, 0 if kept, -1 on error.
int lt_keys_broker(const char *dir, lt_err_t *err);

//  Make sure DIR holds a certificate for connector name and lets it in
//  (allowed/NAME.cert); 1 if created, 0 if kept, -1 on error.
int lt_keys_connector(const char *dir, const char *name, lt_err_t *err);

//  Self-test of this class.
void lt_keys_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
