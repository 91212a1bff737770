/* Bounded connection pool (see pool.h). */
#include "store/pool.h"

#include <assert.h>
#include <stdlib.h>

void pool_init(struct conn_pool *p, int capacity)
{
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->capacity = capacity > 0 ? capacity : 1;
	p->all = xcalloc((size_t)p->capacity, sizeof(*p->all));
	p->idle = xcalloc((size_t)p->capacity, sizeof(*p->idle));
	p->n_all = p->n_idle = 0;
}

void pool_add(struct conn_pool *p, struct store_conn *c)
{
	pthread_mutex_lock(&p->mu);
	assert(p->n_all < p->capacity);
	p->all[p->n_all++] = c;
	p->idle[p->n_idle++] = c;
	pthread_mutex_unlock(&p->mu);
}

struct store_conn *pool_take(struct conn_pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->n_idle == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	struct store_conn *c = p->idle[--p->n_idle];
	pthread_mutex_unlock(&p->mu);
	return c;
}

void pool_give(struct conn_pool *p, struct store_conn *c)
{
	pthread_mutex_lock(&p->mu);
	assert(p->n_idle < p->n_all);
	p->idle[p->n_idle++] = c;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void pool_stats(struct conn_pool *p, int *size, int *in_use)
{
	pthread_mutex_lock(&p->mu);
	*size = p->n_all;
	*in_use = p->n_all - p->n_idle;
	pthread_mutex_unlock(&p->mu);
}

void pool_destroy(struct conn_pool *p)
{
	free(p->all);
	free(p->idle);
	p->all = p->idle = NULL;
	p->n_all = p->n_idle = 0;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}
