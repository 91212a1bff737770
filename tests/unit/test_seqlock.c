/* Unit tests of the sequence lock (core/seqlock.h): a value round-trips, and readers racing a
 * writer never see a torn value (words of two different writes) nor one older than a value
 * they saw before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/seqlock.h"

/* Seven words, as a cached credential takes; every word of a write holds the same number. */
struct value {
	uint64_t w[7];
};

static _Atomic uint64_t seq;
static _Atomic uint64_t words[SEQLOCK_WORDS(sizeof(struct value))];
static atomic_bool stop;

#define WRITES 2000000

static void *writer(void *arg)
{
	(void)arg;
	for (uint64_t g = 1; g <= WRITES; g++) {
		struct value v;
		for (int i = 0; i < 7; i++)
			v.w[i] = g;
		seqlock_write(&seq, words, &v, sizeof(v));
	}
	atomic_store(&stop, true);
	return NULL;
}

struct reader {
	long reads, torn, backwards;
};

static void *reader(void *arg)
{
	struct reader *r = arg;
	uint64_t last = 0;
	while (!atomic_load(&stop)) {
		struct value v;
		seqlock_read(&seq, words, &v, sizeof(v));
		r->reads++;
		for (int i = 1; i < 7; i++)
			if (v.w[i] != v.w[0])
				r->torn++;
		if (v.w[0] < last)
			r->backwards++;
		last = v.w[0];
	}
	return NULL;
}

static void test_round_trip(void **state)
{
	(void)state;
	_Atomic uint64_t s = 0;
	_Atomic uint64_t w[SEQLOCK_WORDS(13)];
	const char in[13] = "thirteen byte";
	char out[13];
	seqlock_write(&s, w, in, sizeof(in));
	seqlock_read(&s, w, out, sizeof(out));
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(atomic_load(&s), 2);
}

static void test_readers_never_see_a_torn_value(void **state)
{
	(void)state;
	struct value zero = {{0}};
	seqlock_write(&seq, words, &zero, sizeof(zero));
	pthread_t w, rs[3];
	struct reader r[3] = {{0}};
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&rs[i], NULL, reader, &r[i]), 0);
	assert_int_equal(pthread_create(&w, NULL, writer, NULL), 0);
	pthread_join(w, NULL);
	long reads = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(rs[i], NULL);
		assert_int_equal(r[i].torn, 0);
		assert_int_equal(r[i].backwards, 0);
		reads += r[i].reads;
	}
	assert_true(reads > 0);
	struct value last;
	seqlock_read(&seq, words, &last, sizeof(last));
	assert_int_equal(last.w[6], WRITES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_readers_never_see_a_torn_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
