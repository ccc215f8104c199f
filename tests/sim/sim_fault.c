/*  sim_fault: seeded fault decisions and their counters. */
#include "sim_fault.h"
#include "lt_id.h"
#include "sim.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _sim_fault_t {
    double fail_rate;          //  fraction of requests failed
    double hang_rate;          //  fraction of requests hung
    double corrupt_rate;       //  fraction of answers corrupted
    int64_t latency_ms;        //  added to every answer
    int64_t down_from_ms;      //  start of the down window, -1 for none
    int64_t down_for_ms;       //  length of the down window
    uint64_t state;            //  generator state
    pthread_mutex_t mutex;     //  guards state and counters
    uint64_t failed[3];        //  500, 503, FAIL body answers
    uint64_t hung;             //  requests never answered
    uint64_t corrupted;        //  answers cut short
    uint64_t downs;            //  times the listener was closed
};

sim_fault_t *sim_fault_new(void)
{
    sim_fault_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->down_from_ms = -1;
    self->state = 1;
    pthread_mutex_init(&self->mutex, NULL);
    return self;
}

void sim_fault_destroy(sim_fault_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        pthread_mutex_destroy(&(*self_p)->mutex);
        free(*self_p);
        *self_p = NULL;
    }
}

//  Take one option (see sim_fault_option); called with the mutex held.
static int s_option(sim_fault_t *self, const char *name, const char *value)
{
    double rate = 0;
    long long number = 0;
    if (strcmp(name, "--fail-rate") == 0)
        return sim_parse_double(value, 0, 1, &self->fail_rate) ? 1 : -1;
    if (strcmp(name, "--hang-rate") == 0)
        return sim_parse_double(value, 0, 1, &self->hang_rate) ? 1 : -1;
    if (strcmp(name, "--corrupt-rate") == 0)
        return sim_parse_double(value, 0, 1, &self->corrupt_rate) ? 1 : -1;
    if (strcmp(name, "--latency") == 0) {
        if (!sim_parse_long(value, 0, 600000, &number))
            return -1;
        self->latency_ms = number;
        return 1;
    }
    if (strcmp(name, "--down-from") == 0 || strcmp(name, "--down-for") == 0) {
        if (!sim_parse_double(value, 0, 86400, &rate))
            return -1;
        if (strcmp(name, "--down-from") == 0)
            self->down_from_ms = (int64_t) (rate * 1000);
        else
            self->down_for_ms = (int64_t) (rate * 1000);
        return 1;
    }
    if (strcmp(name, "--seed") == 0) {
        if (!sim_parse_long(value, 0, INT64_MAX, &number))
            return -1;
        self->state = (uint64_t) number;
        return 1;
    }
    return 0;
}

int sim_fault_option(sim_fault_t *self, const char *name, const char *value)
{
    assert(self && name);
    pthread_mutex_lock(&self->mutex);
    int rc = s_option(self, name, value);
    pthread_mutex_unlock(&self->mutex);
    return rc;
}

const char *sim_fault_usage(void)
{
    return "  --fail-rate P      answer 500, 503 or a FAIL body to this fraction of requests\n"
           "  --latency MS       add this delay before every answer\n"
           "  --hang-rate P      accept this fraction of requests and never answer\n"
           "  --down-from S      stop listening S seconds after start ...\n"
           "  --down-for S       ... for S seconds (connections refused)\n"
           "  --corrupt-rate P   cut short this fraction of answer bodies\n"
           "  --seed N           seed of the random choices (default 1)\n";
}

//  Draw a uniform number in [0, 1) (splitmix64); called with the mutex held.
static double s_draw(sim_fault_t *self)
{
    uint64_t z = (self->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}

sim_fault_kind_t sim_fault_decide(sim_fault_t *self)
{
    assert(self);
    sim_fault_kind_t kind = SIM_FAULT_NONE;
    pthread_mutex_lock(&self->mutex);
    if (self->hang_rate > 0 && s_draw(self) < self->hang_rate) {
        kind = SIM_FAULT_HANG;
        self->hung++;
    }
    else if (self->fail_rate > 0 && s_draw(self) < self->fail_rate) {
        int which = (int) (s_draw(self) * 3);
        which = which > 2 ? 2 : which;
        kind = (sim_fault_kind_t) (SIM_FAULT_HTTP_500 + which);
        self->failed[which]++;
    }
    pthread_mutex_unlock(&self->mutex);
    return kind;
}

int64_t sim_fault_latency_ms(const sim_fault_t *self)
{
    assert(self);
    return self->latency_ms;
}

bool sim_fault_corrupt(sim_fault_t *self, char *body, size_t *size)
{
    assert(self && body && size);
    if (self->corrupt_rate <= 0 || *size == 0)
        return false;
    bool corrupt = false;
    size_t cut = 0;
    pthread_mutex_lock(&self->mutex);
    if (s_draw(self) < self->corrupt_rate) {
        corrupt = true;
        cut = (size_t) (s_draw(self) * (double) *size);
        if (cut >= *size)
            cut = *size - 1;
        self->corrupted++;
    }
    pthread_mutex_unlock(&self->mutex);
    if (corrupt)
        *size = cut;
    return corrupt;
}

bool sim_fault_down(const sim_fault_t *self, int64_t elapsed_ms)
{
    assert(self);
    return self->down_from_ms >= 0 && elapsed_ms >= self->down_from_ms
           && elapsed_ms < self->down_from_ms + self->down_for_ms;
}

bool sim_fault_has_window(const sim_fault_t *self)
{
    assert(self);
    return self->down_from_ms >= 0 && self->down_for_ms > 0;
}

void sim_fault_count_down(sim_fault_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->mutex);
    self->downs++;
    pthread_mutex_unlock(&self->mutex);
}

json_t *sim_fault_stats(sim_fault_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->mutex);
    json_t *stats = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "http_500",
                              (json_int_t) self->failed[0], "http_503",
                              (json_int_t) self->failed[1], "fail_body",
                              (json_int_t) self->failed[2], "hung", (json_int_t) self->hung,
                              "corrupted", (json_int_t) self->corrupted, "down_windows",
                              (json_int_t) self->downs);
    pthread_mutex_unlock(&self->mutex);
    return stats;
}

void sim_fault_answer(sim_fault_t *self, lt_http_response_t *resp, unsigned status,
                      json_t *answer, bool faults)
{
    char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
    if (!text) {
        lt_http_response_set(resp, 500, "text/plain", "out of memory\n");
        return;
    }
    size_t size = strlen(text);
    if (faults)
        sim_fault_corrupt(self, text, &size);
    if (status)
        lt_http_response_set_status(resp, status);
    if (lt_http_response_set_body(resp, text, size, "application/json"))
        lt_http_response_set(resp, 500, "text/plain", "out of memory\n");
    free(text);
}

int sim_fault_serve(sim_fault_t *self, const char *mode, const char *host, uint16_t *port,
                    lt_http_handler_fn *handler, void *arg, const lt_http_limits_t *limits)
{
    assert(self && mode && host && port && handler);
    lt_err_t err;
    lt_http_server_t *server = lt_http_server_new(host, *port, handler, arg, limits, &err);
    if (!server) {
        fprintf(stderr, "lthub-sim %s: %s\n", mode, err.detail);
        return 1;
    }
    *port = lt_http_server_port(server);
    bool v6 = strchr(host, ':') != NULL;
    printf("lthub-sim %s listening on %s%s%s:%u\n", mode, v6 ? "[" : "", host, v6 ? "]" : "",
           (unsigned) *port);
    fflush(stdout);
    int64_t start = lt_clock_ms();
    int sig = 0;
    while (!(sig = sim_wait_signal(100))) {
        if (!sim_fault_has_window(self))
            continue;
        bool down = sim_fault_down(self, lt_clock_ms() - start);
        if (down && server) {
            lt_http_server_destroy(&server);
            sim_fault_count_down(self);
            fprintf(stderr, "lthub-sim %s: down (listener closed)\n", mode);
        }
        else if (!down && !server) {
            server = lt_http_server_new(host, *port, handler, arg, limits, &err);
            if (server)
                fprintf(stderr, "lthub-sim %s: up again on port %u\n", mode, (unsigned) *port);
            else
                fprintf(stderr, "lthub-sim %s: cannot listen again yet: %s\n", mode, err.detail);
        }
    }
    lt_http_server_destroy(&server);
    fprintf(stderr, "lthub-sim %s: stopped by signal %d\n", mode, sig);
    return 0;
}
