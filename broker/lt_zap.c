/*  lt_zap: answers ZAP requests for the broker's CURVE socket. */
#include "lt_zap.h"
#include "lt_log.h"

#include <assert.h>

//  Answer one ZAP request read from handler.
static void s_handle(zsock_t *handler, zcertstore_t *store)
{
    zmsg_t *request = zmsg_recv(handler);
    if (!request)
        return;
    char *version = zmsg_popstr(request);
    char *sequence = zmsg_popstr(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    char *identity = zmsg_popstr(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *key = zmsg_pop(request);
    const char *status = "400", *text = "No access";
    const char *user = "";
    char key_text[41] = "";
    if (version && sequence && mechanism && streq(version, "1.0") &&
        streq(mechanism, "CURVE") && key && zframe_size(key) == 32) {
        zmq_z85_encode(key_text, zframe_data(key), 32);
        zcert_t *cert = zcertstore_lookup(store, key_text);
        const char *name = cert ? zcert_meta(cert, "name") : NULL;
        if (name && *name) {
            status = "200";
            text = "OK";
            user = name;
            lt_log_debug("event=auth_ok connector=%s address=%s", name, address ? address : "");
        }
        else
            lt_log_warning("event=auth_refused reason=\"%s\" key=%s address=%s",
                           cert ? "certificate has no name metadata" : "unknown public key",
                           key_text, address ? address : "");
    }
    else
        lt_log_warning("event=auth_refused reason=\"mechanism %s is not CURVE\" address=%s",
                       mechanism ? mechanism : "?", address ? address : "");
    zsock_send(handler, "ssssss", "1.0", sequence ? sequence : "0", status, text, user, "");
    free(version);
    free(sequence);
    free(domain);
    free(address);
    free(identity);
    free(mechanism);
    zframe_destroy(&key);
    zmsg_destroy(&request);
}

void lt_zap_actor(zsock_t *pipe, void *args)
{
    const char *dir = args;
    zsock_t *handler = zsock_new_rep("inproc://zeromq.zap.01");
    zcertstore_t *store = zcertstore_new((char *) dir);
    if (!handler || !store) {
        lt_log_error("event=zap_failed reason=\"cannot bind the ZAP handler\"");
        zsock_destroy(&handler);
        zcertstore_destroy(&store);
        zsock_signal(pipe, 1);
        return;
    }
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == handler)
            s_handle(handler, store);
        else {
            //  Anything on the pipe (normally $TERM) ends the actor.
            zmsg_t *msg = which == pipe ? zmsg_recv(pipe) : NULL;
            zmsg_destroy(&msg);
            break;
        }
    }
    zpoller_destroy(&poller);
    zcertstore_destroy(&store);
    zsock_destroy(&handler);
}

void lt_zap_test(bool verbose)
{
    if (verbose)
        printf(" * lt_zap: ");
    char dir[] = "/tmp/lt_zap_test_XXXXXX";
    assert(mkdtemp(dir));
    zcert_t *server_cert = zcert_new();
    zcert_t *good = zcert_new();
    zcert_set_meta(good, "name", "dms");
    zcert_t *nameless = zcert_new();
    zcert_t *stranger = zcert_new();
    char path[256];
    snprintf(path, sizeof(path), "%s/dms.cert", dir);
    assert(zcert_save_public(good, path) == 0);
    snprintf(path, sizeof(path), "%s/nameless.cert", dir);
    assert(zcert_save_public(nameless, path) == 0);

    zactor_t *zap = zactor_new(lt_zap_actor, dir);
    assert(zap);
    zsock_t *server = zsock_new(ZMQ_ROUTER);
    zcert_apply(server_cert, server);
    zsock_set_curve_server(server, 1);
    zsock_set_zap_domain(server, "lthub");
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    assert(port > 0);
    zsock_set_rcvtimeo(server, 500);

    zcert_t *clients[] = {good, nameless, stranger};
    const char *expect[] = {"dms", NULL, NULL};
    for (int i = 0; i < 3; i++) {
        zsock_t *client = zsock_new(ZMQ_DEALER);
        zcert_apply(clients[i], client);
        zsock_set_curve_serverkey(client, zcert_public_txt(server_cert));
        assert(zsock_connect(client, "tcp://127.0.0.1:%d", port) == 0);
        zstr_send(client, "hello");
        zmsg_t *msg = zmsg_recv(server);
        if (expect[i]) {
            assert(msg);
            zframe_t *routing = zmsg_first(msg);
            zframe_t *body = zmsg_next(msg);
            assert(routing && body);
            const char *user = zframe_meta(body, "User-Id");
            assert(user && streq(user, expect[i]));
        }
        else
            assert(msg == NULL);
        zmsg_destroy(&msg);
        zsock_destroy(&client);
    }
    zsock_destroy(&server);
    zactor_destroy(&zap);
    zcert_destroy(&server_cert);
    zcert_destroy(&good);
    zcert_destroy(&nameless);
    zcert_destroy(&stranger);
    zdir_t *tmp = zdir_new(dir, NULL);
    if (tmp) {
        zdir_remove(tmp, true);
        zdir_destroy(&tmp);
    }
    if (verbose)
        printf("OK\n");
}
