/* A background thread that can be told to stop while it waits: the webhook delivery worker
 * (service/webhooks.c) and the pass update worker (service/cardupdates.c) poll, sleep between
 * polls, and must end promptly at shutdown. The thread's function gets the worker and its own
 * argument; it loops until worker_wait_ms or worker_stopping says stop. */
#ifndef KOPILKA_CORE_WORKER_H
#define KOPILKA_CORE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

struct worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

/* Starts fn(arg) on a thread of w (w outlives it: embed it in what arg points to). false: the
 * thread could not start (nothing to stop then). */
bool worker_start(struct worker *w, void *(*fn)(void *arg), void *arg) MUST_CHECK;

/* Waits ms or until told to stop; true when stopped. From the worker's thread. */
bool worker_wait_ms(struct worker *w, int64_t ms);

/* Whether the worker was told to stop. From the worker's thread. */
bool worker_stopping(struct worker *w);

/* Tells the worker to stop, wakes it from worker_wait_ms and waits for its thread to end. */
void worker_stop(struct worker *w);

#endif
