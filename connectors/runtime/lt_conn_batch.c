/*  lt_conn_batch: the publishes of one call, confirmed together (see
    lt_conn_batch.h).

    A batch is counted by reference: the handler holds one and each publish
    handed over holds one until its completion callback (on the session
    thread) has counted its answer.
*/
#include "lt_conn_batch.h"
#include "lt_id.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  One message's publish: its batch and its index, for the callback.
typedef struct {
    lt_conn_batch_t *batch;   //  the call it belongs to
    size_t index;             //  message index in the call
} s_ticket_t;

struct _lt_conn_batch_t {
    lt_conn_t *conn;                //  publishes through this runtime
    pthread_mutex_t lock;           //  guards everything below
    pthread_cond_t cond;            //  signalled when pending drops to 0
    int refs;                       //  the handler plus each unanswered publish
    size_t count;                   //  messages the batch has room for
    lt_conn_batch_result_t result;  //  the answers so far, pending included
    s_ticket_t *tickets;            //  one per message
};

lt_conn_batch_t *lt_conn_batch_new(lt_conn_t *conn, size_t count)
{
    lt_conn_batch_t *self = calloc(1, sizeof(*self));
    s_ticket_t *tickets = self ? calloc(count ? count : 1, sizeof(*tickets)) : NULL;
    if (!tickets) {
        free(self);
        return NULL;
    }
    self->conn = conn;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    self->refs = 1;
    self->count = count;
    self->tickets = tickets;
    for (size_t i = 0; i < count; i++)
        tickets[i] = (s_ticket_t){.batch = self, .index = i};
    return self;
}

//  Drop one reference; the last one frees the batch.
static void s_release(lt_conn_batch_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool last = --self->refs == 0;
    pthread_mutex_unlock(&self->lock);
    if (!last)
        return;
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->cond);
    free(self->tickets);
    free(self);
}

void lt_conn_batch_destroy(lt_conn_batch_t **self_p)
{
    assert(self_p);
    if (*self_p)
        s_release(*self_p);
    *self_p = NULL;
}

//  Count count publishes as handed over (count > 0) or taken back (< 0).
static void s_hold(lt_conn_batch_t *self, long count)
{
    pthread_mutex_lock(&self->lock);
    self->refs += (int) count;
    self->result.pending += (size_t) count;   //  wraps back on a negative count
    pthread_mutex_unlock(&self->lock);
}

//  Publish completion (session thread): count the outcome, wake the handler.
static void s_on_published(void *arg, const lt_publish_result_t *result)
{
    s_ticket_t *ticket = arg;
    lt_conn_batch_t *self = ticket->batch;
    lt_conn_batch_result_t *so_far = &self->result;
    pthread_mutex_lock(&self->lock);
    if (result->code == LT_OK) {
        so_far->accepted++;
        so_far->duplicates += result->duplicate;
    }
    else if (!so_far->failed || ticket->index < so_far->failed_index) {
        so_far->failed = true;
        so_far->failed_index = ticket->index;
        so_far->failed_code = result->code;
        snprintf(so_far->reason, sizeof(so_far->reason), "%s", result->reason);
    }
    if (--so_far->pending == 0)
        pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    s_release(self);
}

int lt_conn_batch_publish(lt_conn_batch_t *self, size_t index, lt_envelope_t **envelope_p,
                          const void *payload, size_t size)
{
    assert(self && index < self->count);
    s_hold(self, 1);
    if (lt_conn_publish_async(self->conn, envelope_p, payload, size, s_on_published,
                              &self->tickets[index])) {
        s_hold(self, -1);
        return -1;
    }
    return 0;
}

size_t lt_conn_batch_publish_many(lt_conn_batch_t *self, lt_envelope_t **envelopes,
                                  const void *const *payloads, const size_t *sizes,
                                  size_t count)
{
    assert(self && count <= self->count);
    void **args = calloc(count ? count : 1, sizeof(*args));
    if (!args)
        return 0;
    for (size_t i = 0; i < count; i++)
        args[i] = &self->tickets[i];
    s_hold(self, (long) count);
    size_t queued = lt_conn_publish_async_many(self->conn, envelopes, payloads, sizes, count,
                                               s_on_published, args);
    s_hold(self, -(long) (count - queued));
    free(args);
    return queued;
}

void lt_conn_batch_wait(lt_conn_batch_t *self, int64_t deadline_ms,
                        lt_conn_batch_result_t *result)
{
    assert(self && result);
    pthread_mutex_lock(&self->lock);
    while (self->result.pending > 0) {
        int64_t left = deadline_ms - lt_clock_ms();
        if (left <= 0)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t) (left / 1000);
        until.tv_nsec += (long) (left % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&self->cond, &self->lock, &until);
    }
    *result = self->result;
    pthread_mutex_unlock(&self->lock);
}

void lt_conn_batch_test(bool verbose)
{
    if (verbose)
        printf(" * lt_conn_batch: ");
    //  Three publishes handed over, answered out of order: the first refusal
    //  by index is kept, and the batch outlives the handler's destroy.
    lt_conn_batch_t *batch = lt_conn_batch_new(NULL, 3);
    assert(batch);
    s_hold(batch, 3);
    lt_publish_result_t ok = {.code = LT_OK}, dup = {.code = LT_OK, .duplicate = true};
    lt_publish_result_t late = {.code = LT_EINVAL}, early = {.code = LT_EINVAL};
    snprintf(late.reason, sizeof(late.reason), "second");
    snprintf(early.reason, sizeof(early.reason), "first");
    s_on_published(&batch->tickets[2], &late);
    s_on_published(&batch->tickets[0], &dup);
    lt_conn_batch_result_t result;
    lt_conn_batch_wait(batch, lt_clock_ms() + 10, &result);
    assert(result.pending == 1 && result.accepted == 1 && result.duplicates == 1);
    assert(result.failed && result.failed_index == 2 && strcmp(result.reason, "second") == 0);
    s_on_published(&batch->tickets[1], &early);
    lt_conn_batch_wait(batch, lt_clock_ms() + 10000, &result);
    assert(result.pending == 0 && result.failed_index == 1 && result.failed_code == LT_EINVAL);
    assert(strcmp(result.reason, "first") == 0);
    //  An answer after the handler let go frees the batch.
    s_hold(batch, 1);
    lt_conn_batch_t *held = batch;
    lt_conn_batch_destroy(&batch);
    assert(batch == NULL);
    s_on_published(&held->tickets[0], &ok);
    lt_conn_batch_destroy(&batch);
    if (verbose)
        printf("OK\n");
}
