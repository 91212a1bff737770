/* Values that any number of threads copy without taking a lock while writers, serialized by a
 * lock of their own, rewrite them: a sequence lock. A reader never blocks a writer nor another
 * reader and writes no shared memory, so a value read by every request (a cached credential)
 * costs no lock and no cache-line transfer; a reader that meets a write in progress copies
 * again. The value is stored as 64-bit atomic words (relaxed), so a copy that races a write
 * is a torn value the sequence check throws away, not a data race. */
#ifndef KOPILKA_CORE_SEQLOCK_H
#define KOPILKA_CORE_SEQLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The words a value of `bytes` bytes takes. */
#define SEQLOCK_WORDS(bytes) (((bytes) + 7) / 8)
/* The largest value: 16 words. */
#define SEQLOCK_MAX_BYTES 128

/* Copies the value (size bytes, at most SEQLOCK_MAX_BYTES, of words) into out as one writer
 * left it. seq is even while no write is in progress and grows by two with each write. */
void seqlock_read(_Atomic uint64_t *seq, _Atomic uint64_t *words, void *out, size_t size);

/* Stores the value. The caller holds the lock that serializes the writers of this value. */
void seqlock_write(_Atomic uint64_t *seq, _Atomic uint64_t *words, const void *in, size_t size);

#endif
