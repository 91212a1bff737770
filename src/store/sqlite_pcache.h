/* One memory budget for the page caches of every SQLite connection of the process, kept
 * without a lock: SQLite's own page cache (pcache1) behind a thin wrapper that counts the bytes
 * the caches hold in one atomic and, once they reach the budget, makes a cache that would grow
 * recycle its own least recently used page instead. That is the rule SQLite applies under a
 * soft heap limit, whose bookkeeping takes a process-wide mutex on every allocation
 * (SQLITE_CONFIG_MEMSTATUS); the wrapper's counter changes only when a cache gains or drops
 * pages. */
#ifndef KOPILKA_STORE_SQLITE_PCACHE_H
#define KOPILKA_STORE_SQLITE_PCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

/* Puts the wrapper in place. Must run before SQLite initializes (sqlite3_initialize or the
 * first open), once per process; false when SQLite refused (already initialized): caches are
 * then SQLite's own, each bounded by its cache_size alone. */
bool sqlite_pcache_install(void) MUST_CHECK;

/* Sets the budget in bytes for all caches together (0: none). Soft: every cache may keep
 * SQLITE_PCACHE_MIN_PAGES pages whatever the budget, pages in use by a statement are never
 * taken back, and threads that grow a cache at the same moment may pass it by a page each. */
void sqlite_pcache_set_budget(int64_t bytes);

/* Bytes the caches hold now (pages, SQLite's per-page extra and the cache's header), as
 * counted by the wrapper; 0 when it is not installed. */
int64_t sqlite_pcache_held_bytes(void);

#define SQLITE_PCACHE_MIN_PAGES 16

#endif
