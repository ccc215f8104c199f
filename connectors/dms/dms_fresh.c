/*  dms_fresh.c: the freshness window and replay refusal of lthub-dms, for
    the systems whose `fresh_window` is set (lt_dms_systems.h).

    The reference SDK makes its timestamp once per service object, so by
    default any timestamp is accepted and every operation is made safe to
    replay instead (sendEdoc is deduplicated by the broker, updateStatus is
    idempotent, the others only read). A system configured with a window W
    signs each request freshly: its XroadVnpt-timestamp (ddMMyyyy'T'HHmmss,
    Vietnam time) must be within W seconds of the hub's clock, and a
    signature (XroadVnpt-hash-header) seen in the last W seconds is refused
    as a replay (unless the HTTP server then refused the request unprocessed:
    dms_fresh_forget). Signatures are remembered in memory only (a restart forgets
    them, and the window bounds what a restart lets through), at most
    DMS_MAX_SEEN of them: past that, requests of such systems get a
    transient 503 until older ones expire.
*/
#include "dms_int.h"

#include "lt_edoc_auth.h"
#include "lt_id.h"
#include "lt_log.h"

#include <ctype.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  Days from 1970-01-01 to a civil date (proleptic Gregorian).
static int64_t s_days(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

//  Read n digits at text; -1 when they are not all digits.
static int64_t s_digits(const char *text, int n)
{
    int64_t value = 0;
    for (int i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

int64_t dms_timestamp_ms(const char *text)
{
    if (!text || strlen(text) < 15 || text[8] != 'T')
        return -1;
    int64_t day = s_digits(text, 2), month = s_digits(text + 2, 2), year = s_digits(text + 4, 4);
    int64_t hour = s_digits(text + 9, 2), minute = s_digits(text + 11, 2),
            second = s_digits(text + 13, 2);
    if (day < 1 || day > 31 || month < 1 || month > 12 || year < 1970 || hour < 0 || hour > 23
        || minute < 0 || minute > 59 || second < 0 || second > 60)
        return -1;
    int64_t ms = 0;
    if (text[15] == '+' && strlen(text) == 20 && s_digits(text + 16, 4) >= 0)
        ms = s_digits(text + 16, 4) % 1000;
    else if (text[15] != 0)
        return -1;
    int64_t seconds = s_days(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return (seconds - 7 * 3600) * 1000 + ms;   //  Vietnam time is UTC+7
}

//  Drop remembered signatures whose window has passed; under seen_lock.
static void s_purge(dms_t *self, int64_t now)
{
    zlistx_t *expired = zlistx_new();
    if (!expired)
        return;
    for (int64_t *until = zhashx_first(self->seen); until; until = zhashx_next(self->seen))
        if (*until <= now)
            zlistx_add_end(expired, (void *) zhashx_cursor(self->seen));
    for (void *key = zlistx_first(expired); key; key = zlistx_next(expired))
        zhashx_delete(self->seen, key);
    zlistx_destroy(&expired);
    self->seen_purged = now;
}

int dms_fresh_init(dms_t *self)
{
    pthread_mutex_init(&self->seen_lock, NULL);
    self->seen = zhashx_new();
    if (!self->seen)
        return -1;
    zhashx_set_destructor(self->seen, (zhashx_destructor_fn *) zstr_free);
    return 0;
}

void dms_fresh_fini(dms_t *self)
{
    zhashx_destroy(&self->seen);
    pthread_mutex_destroy(&self->seen_lock);
}

//  The replay memory's key of a system's signature. The HMAC is compared
//  case-insensitively, so the key is its lowercase form: the same signature
//  in uppercase is no new request.
static void s_seen_key(const char *system, const char *signature, char *key, size_t size)
{
    size_t used = (size_t) snprintf(key, size, "%.64s/", system);
    for (size_t i = 0; signature[i] && used + 1 < size; i++)
        key[used++] = (char) tolower((unsigned char) signature[i]);
    key[used] = 0;
}

json_t *dms_fresh_check(dms_t *self, const lt_http_request_t *req, size_t caller,
                        lt_http_response_t *resp)
{
    unsigned window = lt_dms_systems_fresh_window(self->systems, caller);
    if (!window)
        return NULL;
    const char *system = lt_dms_systems_id(self->systems, caller);
    const char *stamp = dms_param(req, "timestamp");
    const char *signature = dms_param(req, "hash-header");
    int64_t now = lt_time_ms(), sent = dms_timestamp_ms(stamp);
    int64_t window_ms = (int64_t) window * 1000;
    if (sent < 0 || sent < now - window_ms || sent > now + window_ms) {
        dms_count(self, &self->stats.auth_failures);
        lt_log_warning("event=auth_failed system=%s peer=%s reason=\"stale timestamp %.40s\"",
                       system, lt_http_request_peer(req), stamp ? stamp : "");
        return dms_fail("401",
                        LT_EDOC_PREFIX "timestamp '%.40s' is not within %u s of the hub's clock "
                                       "(system %s signs each request freshly)",
                        stamp ? stamp : "", window, system);
    }
    if (!signature || strlen(signature) > 128)
        return dms_fail("401", "missing or overlong " LT_EDOC_PREFIX "hash-header");
    char key[200];
    s_seen_key(system, signature, key, sizeof(key));
    json_t *answer = NULL;
    pthread_mutex_lock(&self->seen_lock);
    int64_t *until = zhashx_lookup(self->seen, key);
    if (until && *until > now) {
        dms_count(self, &self->stats.auth_failures);
        lt_log_warning("event=replay_refused system=%s peer=%s", system,
                       lt_http_request_peer(req));
        answer = dms_fail("401", "this signed request was already received (a replay); sign "
                                 "each request with a fresh timestamp");
    }
    else {
        if (zhashx_size(self->seen) >= DMS_MAX_SEEN / 2 && now - self->seen_purged > 1000)
            s_purge(self, now);
        if (zhashx_size(self->seen) >= DMS_MAX_SEEN) {
            lt_http_response_set_status(resp, 503);
            answer = dms_fail("503", "too many fresh requests to remember now; try again later");
        }
        else {
            int64_t *value = malloc(sizeof(*value));
            if (value) {
                *value = now + 2 * window_ms;   //  beyond the window on either side
                zhashx_update(self->seen, key, value);
            }
            else
                answer = dms_fail("500", "out of memory");
        }
    }
    pthread_mutex_unlock(&self->seen_lock);
    return answer;
}

void dms_fresh_forget(dms_t *self, const lt_http_request_t *req)
{
    int caller = lt_dms_systems_find(self->systems, dms_param(req, "systemid"));
    const char *signature = dms_param(req, "hash-header");
    if (caller < 0 || !signature || strlen(signature) > 128
        || !lt_dms_systems_fresh_window(self->systems, (size_t) caller))
        return;
    char key[200];
    s_seen_key(lt_dms_systems_id(self->systems, (size_t) caller), signature, key, sizeof(key));
    pthread_mutex_lock(&self->seen_lock);
    zhashx_delete(self->seen, key);
    pthread_mutex_unlock(&self->seen_lock);
}
