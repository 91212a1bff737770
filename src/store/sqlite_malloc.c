/* SQLite's allocator with a per-thread cache of journal-chunk blocks (see sqlite_malloc.h). */
#include "store/sqlite_malloc.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>

/* The size SQLite's in-memory journal asks for a chunk (memjournal.c,
 * MEMJOURNAL_DFLT_FILECHUNKSIZE: the chunk with its header is 1 KiB). */
#define JOURNAL_CHUNK_REQUEST 1024
/* Requests this much smaller than a cached block still take one: the block is then larger
 * than asked, which xSize reports (SQLite, like malloc's callers, may use all of it). */
#define REQUEST_WINDOW 128

struct block {
	struct block *next;
};

struct chunk_cache {
	struct block *head;
	int count;
	bool registered; /* its thread's key is set: the cache is freed when the thread exits */
	long reused;
};

static sqlite3_mem_methods inner; /* SQLite's default allocator */
static int block_bytes;		  /* inner.xSize of a block asked for as a journal chunk */
static pthread_key_t exit_key;
static atomic_int threads;
static bool installed;
static _Thread_local struct chunk_cache cache;

/* A thread's exit: its cached blocks go back to malloc. */
static void cache_free(void *arg)
{
	struct chunk_cache *c = arg;
	while (c->head) {
		struct block *b = c->head;
		c->head = b->next;
		inner.xFree(b);
	}
	c->count = 0;
	c->registered = false;
	atomic_fetch_sub_explicit(&threads, 1, memory_order_relaxed);
}

static void *cm_malloc(int n)
{
	if (cache.head && n <= block_bytes && n > block_bytes - REQUEST_WINDOW) {
		struct block *b = cache.head;
		cache.head = b->next;
		cache.count--;
		cache.reused++;
		return b;
	}
	return inner.xMalloc(n);
}

static void cm_free(void *p)
{
	if (p && cache.count < SQLITE_MALLOC_CACHE_BLOCKS && inner.xSize(p) == block_bytes) {
		if (!cache.registered) {
			/* Without its key the cache would outlive the thread: then no caching. */
			if (pthread_setspecific(exit_key, &cache) != 0) {
				inner.xFree(p);
				return;
			}
			cache.registered = true;
			atomic_fetch_add_explicit(&threads, 1, memory_order_relaxed);
		}
		struct block *b = p;
		b->next = cache.head;
		cache.head = b;
		cache.count++;
		return;
	}
	inner.xFree(p);
}

static void *cm_realloc(void *p, int n)
{
	return inner.xRealloc(p, n);
}

static int cm_size(void *p)
{
	return inner.xSize(p);
}

static int cm_roundup(int n)
{
	return inner.xRoundup(n);
}

static int cm_init(void *arg)
{
	(void)arg;
	return inner.xInit(inner.pAppData);
}

static void cm_shutdown(void *arg)
{
	(void)arg;
	inner.xShutdown(inner.pAppData);
}

bool sqlite_malloc_install(void)
{
	static const sqlite3_mem_methods methods = {
	    .xMalloc = cm_malloc,
	    .xFree = cm_free,
	    .xRealloc = cm_realloc,
	    .xSize = cm_size,
	    .xRoundup = cm_roundup,
	    .xInit = cm_init,
	    .xShutdown = cm_shutdown,
	};
	if (installed)
		return true;
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &inner) != SQLITE_OK)
		return false;
	void *probe = inner.xMalloc(inner.xRoundup(JOURNAL_CHUNK_REQUEST));
	if (!probe)
		return false;
	block_bytes = inner.xSize(probe);
	inner.xFree(probe);
	if (pthread_key_create(&exit_key, cache_free) != 0)
		return false;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK) {
		pthread_key_delete(exit_key);
		return false;
	}
	installed = true;
	return true;
}

int sqlite_malloc_cached(void)
{
	return cache.count;
}

long sqlite_malloc_reused(void)
{
	return cache.reused;
}

int sqlite_malloc_threads(void)
{
	return atomic_load_explicit(&threads, memory_order_relaxed);
}
