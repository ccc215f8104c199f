/*  lt_zap: the broker's ZAP handler (ZeroMQ RFC 27) for CURVE.

    A connector is let in only when its public key is in the directory of
    allowed certificates; the certificate's metadata "name" becomes the
    connection's User-Id, which the broker reads from every message
    (zframe_meta "User-Id") so a connector can never claim another's name.
    czmq's zauth checks keys against a directory too but answers with an
    empty User-Id and no metadata, which would leave the broker trusting the
    name a connector writes in HELLO; hence this small handler on the same
    czmq pieces (zactor, zcertstore).

    Usage: zactor_t *zap = zactor_new(lt_zap_actor, (void *) allowed_dir);
    It must be created before the ROUTER binds, and destroyed after it.
*/
#ifndef LT_ZAP_H_INCLUDED
#define LT_ZAP_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Actor body: args is the directory of allowed certificates (const char *).
void lt_zap_actor(zsock_t *pipe, void *args);

//  Self-test of this class.
void lt_zap_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
