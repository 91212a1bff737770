/* The bounded connection pool both storage engines use: borrowers wait while every
 * connection is out. The pool holds engine connections by their common base.
 *
 * Taking and giving back take no lock while a connection is idle: the idle connections are a
 * lock-free stack (one compare-and-swap each way), and the mutex is only for borrowers that
 * found none and wait, and for whoever gives one back while they do. The most recently given
 * back is taken first, so the connections in use keep their page caches warm. */
#ifndef KOPILKA_STORE_POOL_H
#define KOPILKA_STORE_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/store.h"

struct conn_pool {
	struct store_conn **all; /* every connection, for closing; c->pool_index is its place */
	int n_all;
	int capacity;
	/* The idle stack in one word: the top's index + 1 (0: empty) in bits 0-15, the number
	 * of idle connections in bits 16-31, and in the high 32 bits a count every change bumps,
	 * so that a take that read the top, was overtaken by takes and gives that left the same
	 * top, fails its compare-and-swap instead of installing a stale successor (ABA).
	 * next_idle[i]: the index + 1 of the connection under connection i. */
	_Atomic uint64_t idle_top;
	_Atomic uint32_t *next_idle;
	/* Borrowers waiting for a connection, on cv with mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic int waiters;
};

void pool_init(struct conn_pool *p, int capacity);
/* Adds a new connection, idle. At most capacity; before the pool is shared between threads. */
void pool_add(struct conn_pool *p, struct store_conn *c);
/* Borrows a connection, waiting while none is idle. */
struct store_conn *pool_take(struct conn_pool *p);
/* Gives a borrowed connection back and wakes a waiter if there is one. */
void pool_give(struct conn_pool *p, struct store_conn *c);
void pool_stats(struct conn_pool *p, int *size, int *in_use);
/* Frees the pool's arrays; the engine closes the connections (pool->all) first. */
void pool_destroy(struct conn_pool *p);

#endif
