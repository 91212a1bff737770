/* SQLite's allocator with a per-thread cache of the blocks its in-memory journals grow by.
 *
 * A write job's savepoint keeps the pages it changes in an in-memory sub-journal (temp_store
 * MEMORY) that SQLite grows in 1 KiB chunks and frees whole at RELEASE: ~135 allocations and
 * frees of 1 KiB a sale on the writer thread. glibc keeps 7 freed blocks of a size per thread
 * at hand (its tcache); the rest go back through its bins, with their consolidation, and
 * come out of them again at the next job. This wrapper keeps up to
 * SQLITE_MALLOC_CACHE_BLOCKS freed blocks of that size per thread and hands them out again;
 * every other allocation goes straight to SQLite's default allocator (malloc). No lock: a
 * thread's cache is its own; a block may be freed by another thread than the one that
 * allocated it (it then joins the freeing thread's cache). A thread's cache is freed when the
 * thread exits. */
#ifndef KOPILKA_STORE_SQLITE_MALLOC_H
#define KOPILKA_STORE_SQLITE_MALLOC_H

#include <stdbool.h>

#include "core/util.h"

#define SQLITE_MALLOC_CACHE_BLOCKS 256

/* Puts the wrapper in place. Must run before SQLite initializes, once per process; false when
 * SQLite refused (already initialized): SQLite then allocates as it would without it. */
bool sqlite_malloc_install(void) MUST_CHECK;

/* Blocks the calling thread's cache holds now. */
int sqlite_malloc_cached(void);

/* Allocations of the calling thread the cache served, since the thread started. */
long sqlite_malloc_reused(void);

/* Threads whose cache holds blocks or did: incremented when a thread first caches a block,
 * decremented when it exits and its cache is freed. */
int sqlite_malloc_threads(void);

#endif
