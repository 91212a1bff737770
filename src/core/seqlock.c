/* Sequence locks (see seqlock.h), in the form Boehm gives for the C11 memory model ("Can
 * seqlocks get along with programming language memory models?", 2012): the writer makes seq
 * odd, a release fence, the words, seq even with release; the reader loads seq with acquire,
 * the words, an acquire fence, seq again. */
#include "core/seqlock.h"

#include <assert.h>
#include <sched.h>
#include <string.h>

void seqlock_read(_Atomic uint64_t *seq, _Atomic uint64_t *words, void *out, size_t size)
{
	assert(size <= SEQLOCK_MAX_BYTES);
	uint64_t copy[SEQLOCK_WORDS(SEQLOCK_MAX_BYTES)];
	size_t n = SEQLOCK_WORDS(size);
	for (unsigned tries = 1;; tries++) {
		uint64_t before = atomic_load_explicit(seq, memory_order_acquire);
		if (!(before & 1)) {
			for (size_t i = 0; i < n; i++)
				copy[i] = atomic_load_explicit(&words[i], memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(seq, memory_order_relaxed) == before)
				break;
		}
		/* A write is in progress. Writes are short, but on few cores its writer may
		 * have been preempted mid-write: let it run rather than spin a time slice. */
		if (tries % 64 == 0)
			sched_yield();
	}
	memcpy(out, copy, size);
}

void seqlock_write(_Atomic uint64_t *seq, _Atomic uint64_t *words, const void *in, size_t size)
{
	assert(size <= SEQLOCK_MAX_BYTES);
	uint64_t copy[SEQLOCK_WORDS(SEQLOCK_MAX_BYTES)] = {0};
	memcpy(copy, in, size);
	uint64_t s = atomic_load_explicit(seq, memory_order_relaxed);
	atomic_store_explicit(seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < SEQLOCK_WORDS(size); i++)
		atomic_store_explicit(&words[i], copy[i], memory_order_relaxed);
	atomic_store_explicit(seq, s + 2, memory_order_release);
}
