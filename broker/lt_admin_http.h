/*  lt_admin_http: lthubd's admin HTTP server (DESIGN.md section 8), bound
    to admin/listen (127.0.0.1:8470 by default).

      GET  /healthz                      "ok" while the broker answers
      GET  /metrics                      Prometheus text format
      GET  /api/v1/stats                 broker, store and connector counters
      GET  /api/v1/dead?limit=N          dead letters, newest first, and what
                                         waits behind them
      POST /api/v1/dead/ID/replay        put a dead letter back (bearer token)
      POST /api/v1/dead/ID/discard       give a dead letter up (bearer token)
      GET  /api/v1/rejects?limit=N       rejected inputs, newest first
      POST /api/v1/rejects/ID/replay     publish a rejected input again (token)
      GET  /api/v1/trace/MSGID           every delivery of one message
      GET  /api/v1/indicators?period=P&agency=CODE   criterion 7.1 indicators
                                         (docs/indicators.md; read from the
                                         store file on a connection of its own)
      GET  /api/v1/trace?key=KEY         every delivery of a business key
      GET  /api/v1/alerts                active alerts and counts per kind
      GET  /api/v1/dead/ID               one delivery with its reasons

    Requests are answered by the broker actor itself (lt_broker_admin), so
    the server holds no state of its own. Changing endpoints need
    "Authorization: Bearer TOKEN" with the token read from admin/token_file;
    without a token file they are refused. When admin/listen is not a
    loopback address, every endpoint but / and /healthz needs the token,
    reads included. On loopback, a request whose Host header names another
    machine (a page that rebound its name to 127.0.0.1) is answered 421
    unless it carries the token. Only GET and HEAD (and POST on the
    changing endpoints) are served; every answer forbids caching, MIME
    sniffing and framing, and carries a Content-Security-Policy (the page's
    script is served as /app.js and /ops.js, never inline).
*/
#ifndef LT_ADMIN_HTTP_H_INCLUDED
#define LT_ADMIN_HTTP_H_INCLUDED

#include "lt_config.h"
#include "lt_error.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_admin_http_t lt_admin_http_t;

//  Start the server on the config's admin/listen; NULL with err on failure.
lt_admin_http_t *lt_admin_http_new(const lt_config_t *config, lt_err_t *err);

//  Stop the server; safe on NULL.
void lt_admin_http_destroy(lt_admin_http_t **self_p);

//  Return true when an admin/listen value (ADDRESS:PORT) is on loopback.
bool lt_admin_http_loopback(const char *listen);
//  Reload the indicator definitions and agency directory the config names;
//  when one is bad the ones in use are kept (logged).
void lt_admin_http_reload(lt_admin_http_t *self, const lt_config_t *config);

//  Port it listens on.
int lt_admin_http_port(lt_admin_http_t *self);

#ifdef __cplusplus
}
#endif
#endif
