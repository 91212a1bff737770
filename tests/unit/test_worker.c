/* Unit tests of core/worker: a polling thread told to stop ends, whether it is sleeping in
 * worker_wait_ms (woken, not left to its hour) or between waits (it sees worker_stopping). A lost
 * wake-up shows as a hang, which the test's TIMEOUT (CMakeLists.txt) turns into a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>

#include "core/worker.h"

struct poller {
	struct worker w;
	atomic_int rounds;
	atomic_bool ended;
};

/* Waits an hour at a time until stopped. */
static void *sleepy(void *arg)
{
	struct poller *p = arg;
	while (!worker_wait_ms(&p->w, 3600 * 1000))
		atomic_fetch_add(&p->rounds, 1);
	atomic_store(&p->ended, true);
	return NULL;
}

/* Works without waiting until it sees the stop. */
static void *busy(void *arg)
{
	struct poller *p = arg;
	while (!worker_stopping(&p->w))
		atomic_fetch_add(&p->rounds, 1);
	atomic_store(&p->ended, true);
	return NULL;
}

static void test_a_sleeping_worker_is_woken_to_stop(void **state)
{
	(void)state;
	struct poller p = {0};
	assert_true(worker_start(&p.w, sleepy, &p));
	worker_stop(&p.w);
	assert_true(atomic_load(&p.ended));
	assert_int_equal(atomic_load(&p.rounds), 0); /* it never slept its hour out */
}

static void test_a_busy_worker_sees_the_stop(void **state)
{
	(void)state;
	struct poller p = {0};
	assert_true(worker_start(&p.w, busy, &p));
	while (atomic_load(&p.rounds) < 1000)
		;
	worker_stop(&p.w);
	assert_true(atomic_load(&p.ended));
}

static void test_short_waits_time_out_without_a_stop(void **state)
{
	(void)state;
	/* A wait nobody stops ends with its time, saying "not stopped". */
	struct worker idle = {0};
	pthread_mutex_init(&idle.mu, NULL);
	pthread_cond_init(&idle.cv, NULL);
	assert_false(worker_wait_ms(&idle, 5));
	assert_false(worker_stopping(&idle));
	pthread_mutex_destroy(&idle.mu);
	pthread_cond_destroy(&idle.cv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_sleeping_worker_is_woken_to_stop),
	    cmocka_unit_test(test_a_busy_worker_sees_the_stop),
	    cmocka_unit_test(test_short_waits_time_out_without_a_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
