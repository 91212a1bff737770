/* The bounded connection pool both storage engines use: borrowers wait while every
 * connection is out. The pool holds engine connections by their common base. */
#ifndef KOPILKA_STORE_POOL_H
#define KOPILKA_STORE_POOL_H

#include <pthread.h>

#include "store/store.h"

struct conn_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_conn **all; /* every connection, for closing */
	int n_all;
	struct store_conn **idle; /* the ones not borrowed */
	int n_idle;
	int capacity;
};

void pool_init(struct conn_pool *p, int capacity);
/* Adds a new connection, idle. At most capacity. */
void pool_add(struct conn_pool *p, struct store_conn *c);
/* Borrows a connection, waiting while none is idle. */
struct store_conn *pool_take(struct conn_pool *p);
/* Gives a borrowed connection back and wakes one waiter. */
void pool_give(struct conn_pool *p, struct store_conn *c);
void pool_stats(struct conn_pool *p, int *size, int *in_use);
/* Frees the pool's arrays; the engine closes the connections (pool->all) first. */
void pool_destroy(struct conn_pool *p);

#endif
