/* The page-cache budget of all SQLite connections (see sqlite_pcache.h).
 *
 * Each connection has its own cache (this SQLite build keeps caches apart, pcache1's
 * "separate cache" mode), and a connection is used by one thread at a time (the pool hands it
 * over under its mutex), so a cache's fields below need no lock; only held_bytes, the sum over
 * all caches, is shared, and it changes only when a cache gains or drops pages, not on the
 * pages it finds. */
#include "store/sqlite_pcache.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>

/* What pcache1 adds to each page besides the page and SQLite's extra: its page header
 * (PgHdr1, 56 bytes on 64-bit, rounded to 8). An estimate: the budget is soft anyway. */
#define PAGE_HEADER_BYTES 64

struct budget_cache {
	sqlite3_pcache *inner;
	int64_t page_bytes; /* one page: the page, SQLite's extra, the header */
	bool purgeable;	    /* false for an in-memory database: its pages cannot be recycled */
	int max_pages;	    /* the cache's own limit, as SQLite set it (PRAGMA cache_size) */
	int held_pages;	    /* the pages counted into held_bytes */
};

static sqlite3_pcache_methods2 inner; /* SQLite's default page cache */
static _Atomic int64_t held_bytes;
static _Atomic int64_t budget_bytes;
static bool installed;

/* Brings held_bytes up to date with the pages the cache holds now. */
static void recount(struct budget_cache *c)
{
	int n = inner.xPagecount(c->inner);
	if (n != c->held_pages) {
		atomic_fetch_add_explicit(&held_bytes, (int64_t)(n - c->held_pages) * c->page_bytes,
					  memory_order_relaxed);
		c->held_pages = n;
	}
}

static int bc_init(void *arg)
{
	(void)arg;
	return inner.xInit(inner.pArg);
}

static void bc_shutdown(void *arg)
{
	(void)arg;
	if (inner.xShutdown)
		inner.xShutdown(inner.pArg);
}

static sqlite3_pcache *bc_create(int page_size, int extra_size, int purgeable)
{
	struct budget_cache *c = sqlite3_malloc(sizeof(*c));
	if (!c)
		return NULL;
	c->inner = inner.xCreate(page_size, extra_size, purgeable);
	if (!c->inner) {
		sqlite3_free(c);
		return NULL;
	}
	c->page_bytes = (int64_t)page_size + extra_size + PAGE_HEADER_BYTES;
	c->purgeable = purgeable != 0;
	c->max_pages = 0;
	c->held_pages = 0;
	return (sqlite3_pcache *)c;
}

static void bc_cachesize(sqlite3_pcache *p, int max_pages)
{
	struct budget_cache *c = (struct budget_cache *)p;
	c->max_pages = max_pages;
	inner.xCachesize(c->inner, max_pages);
	recount(c); /* a smaller limit drops pages */
}

static int bc_pagecount(sqlite3_pcache *p)
{
	return inner.xPagecount(((struct budget_cache *)p)->inner);
}

static sqlite3_pcache_page *bc_fetch(sqlite3_pcache *p, unsigned key, int create)
{
	struct budget_cache *c = (struct budget_cache *)p;
	if (!create)
		return inner.xFetch(c->inner, key, 0);
	int64_t budget = atomic_load_explicit(&budget_bytes, memory_order_relaxed);
	bool at_budget =
	    budget > 0 && c->purgeable && c->held_pages >= SQLITE_PCACHE_MIN_PAGES &&
	    atomic_load_explicit(&held_bytes, memory_order_relaxed) + c->page_bytes > budget;
	if (!at_budget) {
		sqlite3_pcache_page *page = inner.xFetch(c->inner, key, create);
		recount(c);
		return page;
	}
	sqlite3_pcache_page *page = inner.xFetch(c->inner, key, 0);
	if (page)
		return page;
	/* A page the cache does not hold, and no room for one more: with its limit at what it
	 * holds, pcache1 recycles its least recently used unpinned page (or, with every page
	 * pinned, allocates one all the same). The limit is back right after; raising it drops
	 * nothing. */
	inner.xCachesize(c->inner, c->held_pages);
	page = inner.xFetch(c->inner, key, create);
	inner.xCachesize(c->inner, c->max_pages);
	recount(c);
	return page;
}

static void bc_unpin(sqlite3_pcache *p, sqlite3_pcache_page *page, int discard)
{
	struct budget_cache *c = (struct budget_cache *)p;
	inner.xUnpin(c->inner, page, discard);
	if (discard)
		recount(c);
}

static void bc_rekey(sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned old_key,
		     unsigned new_key)
{
	inner.xRekey(((struct budget_cache *)p)->inner, page, old_key, new_key);
}

static void bc_truncate(sqlite3_pcache *p, unsigned limit)
{
	struct budget_cache *c = (struct budget_cache *)p;
	inner.xTruncate(c->inner, limit);
	recount(c);
}

static void bc_destroy(sqlite3_pcache *p)
{
	struct budget_cache *c = (struct budget_cache *)p;
	inner.xDestroy(c->inner);
	atomic_fetch_sub_explicit(&held_bytes, (int64_t)c->held_pages * c->page_bytes,
				  memory_order_relaxed);
	sqlite3_free(c);
}

static void bc_shrink(sqlite3_pcache *p)
{
	struct budget_cache *c = (struct budget_cache *)p;
	inner.xShrink(c->inner);
	recount(c);
}

bool sqlite_pcache_install(void)
{
	static const sqlite3_pcache_methods2 methods = {
	    .iVersion = 1,
	    .xInit = bc_init,
	    .xShutdown = bc_shutdown,
	    .xCreate = bc_create,
	    .xCachesize = bc_cachesize,
	    .xPagecount = bc_pagecount,
	    .xFetch = bc_fetch,
	    .xUnpin = bc_unpin,
	    .xRekey = bc_rekey,
	    .xTruncate = bc_truncate,
	    .xDestroy = bc_destroy,
	    .xShrink = bc_shrink,
	};
	if (installed)
		return true;
	if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner) != SQLITE_OK)
		return false;
	if (sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) != SQLITE_OK)
		return false;
	installed = true;
	return true;
}

void sqlite_pcache_set_budget(int64_t bytes)
{
	atomic_store_explicit(&budget_bytes, bytes > 0 ? bytes : 0, memory_order_relaxed);
}

int64_t sqlite_pcache_held_bytes(void)
{
	return atomic_load_explicit(&held_bytes, memory_order_relaxed);
}
