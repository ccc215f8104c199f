/*  lt_metrics: lthubd's figures in the Prometheus text format (0.0.4).

    The broker keeps counters (lt_broker_int.h) and three histograms of
    this class (store commit latency, writes per commit, the time from a
    PUBLISH read to its answer); lt_broker_admin renders
    them as one JSON stats object, and lt_metrics_render turns that same
    object into /metrics, so the JSON API, the CLI, the dashboard and
    Prometheus always agree (STYLE.md: one struct, one renderer). Every
    metric has HELP and TYPE, a base unit in its name (_seconds, _bytes,
    _messages) and counters end in _total, as `promtool check metrics` asks.
*/
#ifndef LT_METRICS_H_INCLUDED
#define LT_METRICS_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_HISTO_MAX_BUCKETS 16

//  A fixed-bucket histogram (a plain value: embed it, zero it, observe).
typedef struct {
    const double *bounds;                      //  upper bounds, increasing (on loan)
    size_t bucket_count;                       //  bounds in use
    uint64_t buckets[LT_HISTO_MAX_BUCKETS];    //  observations <= bound (not cumulative)
    uint64_t count;                            //  all observations
    double sum;                                //  sum of observations
} lt_histo_t;

//  Set the bucket bounds (static storage, at most LT_HISTO_MAX_BUCKETS).
void lt_histo_init(lt_histo_t *self, const double *bounds, size_t count);

//  Record one observation.
void lt_histo_observe(lt_histo_t *self, double value);

//  The histogram as {"bounds":[..],"buckets":[..cumulative..],"count":N,"sum":S}.
json_t *lt_histo_json(const lt_histo_t *self);

//  Every alert kind lthubd raises (lt_broker_ops.c), so that a kind that is
//  clear still shows as 0 in /metrics and in the counts; add new kinds here.
extern const char *const lt_alert_kinds[];
extern const size_t lt_alert_kind_count;

//  Render a stats object (lt_broker_admin's "stats" reply) as Prometheus
//  text; the caller frees the result. NULL only when out of memory. A
//  "ledger": {"events": {KIND: N}} member becomes lthub_ledger_events_total.
char *lt_metrics_render(json_t *stats);

//  Self-test of this class.
void lt_metrics_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
