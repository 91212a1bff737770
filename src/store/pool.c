/* Bounded connection pool (see pool.h). */
#include "store/pool.h"

#include <assert.h>
#include <stdlib.h>

/* The stack operations are sequentially consistent (the atomics' default): a borrower that
 * announces itself in waiters and then finds the stack empty, and a giver that pushes and then
 * reads waiters, cannot both miss each other (the giver sees the waiter and signals it under
 * mu, or the waiter's pop sees the push). */

/* The parts of idle_top (see pool.h). */
static uint32_t top_first(uint64_t top)
{
	return (uint32_t)(top & 0xffff);
}

static int top_count(uint64_t top)
{
	return (int)((top >> 16) & 0xffff);
}

static uint64_t top_next(uint64_t old_top, uint32_t first, int count)
{
	return ((old_top >> 32) + 1) << 32 | (uint64_t)count << 16 | first;
}

static void idle_push(struct conn_pool *p, int i)
{
	uint64_t top = atomic_load(&p->idle_top);
	do
		atomic_store(&p->next_idle[i], top_first(top));
	while (!atomic_compare_exchange_weak(&p->idle_top, &top,
					     top_next(top, (uint32_t)i + 1, top_count(top) + 1)));
}

/* The index of an idle connection taken off the stack, or -1 when there is none. */
static int idle_pop(struct conn_pool *p)
{
	uint64_t top = atomic_load(&p->idle_top);
	for (;;) {
		uint32_t first = top_first(top);
		if (first == 0)
			return -1;
		/* May be rewritten meanwhile if first is taken and given back: then top has
		 * changed and the exchange fails. */
		uint32_t second = atomic_load(&p->next_idle[first - 1]);
		if (atomic_compare_exchange_weak(&p->idle_top, &top,
						 top_next(top, second, top_count(top) - 1)))
			return (int)first - 1;
	}
}

void pool_init(struct conn_pool *p, int capacity)
{
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->capacity = capacity > 0 ? capacity : 1;
	assert(p->capacity < 0xffff); /* an index + 1 and a count fit 16 bits (idle_top) */
	p->all = xcalloc((size_t)p->capacity, sizeof(*p->all));
	p->next_idle = xcalloc((size_t)p->capacity, sizeof(*p->next_idle));
	p->n_all = 0;
	atomic_init(&p->idle_top, 0);
	atomic_init(&p->waiters, 0);
}

void pool_add(struct conn_pool *p, struct store_conn *c)
{
	assert(p->n_all < p->capacity);
	c->pool_index = p->n_all;
	p->all[p->n_all++] = c;
	idle_push(p, c->pool_index);
}

struct store_conn *pool_take(struct conn_pool *p)
{
	int i = idle_pop(p);
	if (i < 0) {
		pthread_mutex_lock(&p->mu);
		atomic_fetch_add(&p->waiters, 1);
		while ((i = idle_pop(p)) < 0)
			pthread_cond_wait(&p->cv, &p->mu);
		atomic_fetch_sub(&p->waiters, 1);
		pthread_mutex_unlock(&p->mu);
	}
	return p->all[i];
}

void pool_give(struct conn_pool *p, struct store_conn *c)
{
	assert(c->pool_index >= 0 && c->pool_index < p->n_all && p->all[c->pool_index] == c);
	idle_push(p, c->pool_index);
	if (atomic_load(&p->waiters) > 0) {
		/* Under mu: a waiter is either before its last look at the stack (it will see
		 * the push) or inside pthread_cond_wait (the signal wakes it). */
		pthread_mutex_lock(&p->mu);
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

void pool_stats(struct conn_pool *p, int *size, int *in_use)
{
	*size = p->n_all;
	*in_use = p->n_all - top_count(atomic_load(&p->idle_top));
}

void pool_destroy(struct conn_pool *p)
{
	free(p->all);
	free(p->next_idle);
	p->all = NULL;
	p->next_idle = NULL;
	p->n_all = 0;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}
