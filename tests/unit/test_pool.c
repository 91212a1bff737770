/* Unit tests of the connection pool (store/pool.h): the most recently given back is taken
 * first, the figures of pool_stats, and under many more borrowers than connections no
 * connection is ever lent to two at once and nobody waits forever (a lost wake-up would hang
 * this test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "store/pool.h"

struct fake_conn {
	struct store_conn base; /* first: the pool holds the base */
	atomic_int borrowers;
	long uses;
};

static void test_last_given_back_is_taken_first(void **state)
{
	(void)state;
	struct conn_pool p;
	struct fake_conn c[3] = {0};
	pool_init(&p, 3);
	for (int i = 0; i < 3; i++)
		pool_add(&p, &c[i].base);
	int size, in_use;
	pool_stats(&p, &size, &in_use);
	assert_int_equal(size, 3);
	assert_int_equal(in_use, 0);
	struct store_conn *a = pool_take(&p);
	struct store_conn *b = pool_take(&p);
	assert_ptr_not_equal(a, b);
	pool_stats(&p, &size, &in_use);
	assert_int_equal(in_use, 2);
	pool_give(&p, a);
	pool_give(&p, b);
	assert_ptr_equal(pool_take(&p), b);
	assert_ptr_equal(pool_take(&p), a);
	pool_give(&p, a);
	pool_give(&p, b);
	pool_stats(&p, &size, &in_use);
	assert_int_equal(in_use, 0);
	pool_destroy(&p);
}

#define CONNS 3
#define BORROWERS 8
#define ROUNDS 100000

static struct conn_pool shared;
static atomic_long overlaps;

static void *borrow(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		struct fake_conn *c = (struct fake_conn *)pool_take(&shared);
		if (atomic_fetch_add(&c->borrowers, 1) != 0)
			atomic_fetch_add(&overlaps, 1);
		c->uses++; /* a data race, caught by the count below, if two held it at once */
		atomic_fetch_sub(&c->borrowers, 1);
		pool_give(&shared, &c->base);
	}
	return NULL;
}

static void test_never_lent_twice_nobody_waits_forever(void **state)
{
	(void)state;
	struct fake_conn c[CONNS] = {0};
	pool_init(&shared, CONNS);
	for (int i = 0; i < CONNS; i++)
		pool_add(&shared, &c[i].base);
	pthread_t t[BORROWERS];
	for (int i = 0; i < BORROWERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, borrow, NULL), 0);
	for (int i = 0; i < BORROWERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&overlaps), 0);
	long uses = 0;
	for (int i = 0; i < CONNS; i++)
		uses += c[i].uses;
	assert_int_equal(uses, (long)BORROWERS * ROUNDS);
	int size, in_use;
	pool_stats(&shared, &size, &in_use);
	assert_int_equal(size, CONNS);
	assert_int_equal(in_use, 0);
	pool_destroy(&shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_last_given_back_is_taken_first),
	    cmocka_unit_test(test_never_lent_twice_nobody_waits_forever),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
