/* Unit tests of the page-cache budget shared by all SQLite connections (store/sqlite_pcache.h):
 * the bytes counted follow what the caches hold (and come back to zero when every connection
 * is closed), a connection does not grow its cache once the caches together reach the budget,
 * one alone grows up to it, and queries read right through the recycling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite_test_db.h"
#include "store/sqlite_pcache.h"

#define ROWS 3000
/* One page of a cache, as the wrapper counts it: 4 KiB, SQLite's extra, the header. More
 * than 4 KiB, less than 5. */
#define PAGE_MIN 4096
#define PAGE_MAX 5120

static char db_path[96];
static char db_dir[64];

static sqlite3 *open_db(void)
{
	return tdb_open(db_path, NULL, "PRAGMA cache_size = -8192");
}

/* Reads every row (about 3 MiB of pages) and checks what it read. */
static void read_all(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT sum(id), sum(length(pad)) FROM t", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(s, 0), (int64_t)ROWS * (ROWS + 1) / 2);
	assert_int_equal(sqlite3_column_int64(s, 1), (int64_t)ROWS * 1000);
	sqlite3_finalize(s);
}

static int setup(void **state)
{
	(void)state;
	/* Before anything initializes SQLite, as sqlite_store_open does. */
	if (!sqlite_pcache_install())
		return -1;
	if (!tdb_make("kopilka-pcache", "p.db", db_dir, sizeof(db_dir), db_path, sizeof(db_path)))
		return -1;
	sqlite3 *db = NULL;
	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		return -1;
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT);"
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO t SELECT i, printf('%%.1000c', 'x') FROM n;",
		 ROWS);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tdb_remove(db_dir);
	return 0;
}

static void test_counts_what_the_caches_hold(void **state)
{
	(void)state;
	sqlite_pcache_set_budget(0);
	assert_int_equal(sqlite_pcache_held_bytes(), 0);
	sqlite3 *a = open_db();
	read_all(a);
	int64_t held = sqlite_pcache_held_bytes();
	/* ~3 MiB of rows in 4 KiB pages, all kept: an 8 MiB cache and no budget. */
	assert_true(held > 700 * PAGE_MIN);
	assert_true(held < 8192 * 1024 / 4096 * PAGE_MAX);
	sqlite3 *b = open_db();
	read_all(b);
	int64_t both = sqlite_pcache_held_bytes();
	assert_true(both > held + 700 * PAGE_MIN);
	sqlite3_close(a);
	sqlite3_close(b);
	assert_int_equal(sqlite_pcache_held_bytes(), 0);
}

static void test_no_growth_past_the_budget(void **state)
{
	(void)state;
	sqlite_pcache_set_budget(0);
	sqlite3 *a = open_db();
	read_all(a);
	int64_t held_a = sqlite_pcache_held_bytes();
	/* The caches together are over the budget now: another connection keeps to the few
	 * pages every cache may have, and still reads every row right. */
	sqlite_pcache_set_budget(1 << 20);
	sqlite3 *b = open_db();
	read_all(b);
	read_all(b);
	assert_true(sqlite_pcache_held_bytes() - held_a <=
		    (SQLITE_PCACHE_MIN_PAGES + 2) * PAGE_MAX);
	/* a is gone: b alone grows, up to the budget and not past it. */
	sqlite3_close(a);
	read_all(b);
	int64_t held_b = sqlite_pcache_held_bytes();
	assert_true(held_b > (1 << 20) - 2 * PAGE_MAX);
	assert_true(held_b <= (1 << 20) + PAGE_MAX);
	sqlite3_close(b);
	assert_int_equal(sqlite_pcache_held_bytes(), 0);
	sqlite_pcache_set_budget(0);
}

static void test_smaller_cache_size_gives_bytes_back(void **state)
{
	(void)state;
	sqlite_pcache_set_budget(0);
	sqlite3 *a = open_db();
	read_all(a);
	assert_true(sqlite_pcache_held_bytes() > 700 * PAGE_MIN);
	/* 100 pages: the cache drops the rest, and the count follows. */
	assert_int_equal(sqlite3_exec(a, "PRAGMA cache_size = 100", NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite_pcache_held_bytes() <= 100 * PAGE_MAX);
	read_all(a);
	assert_true(sqlite_pcache_held_bytes() <= 100 * PAGE_MAX);
	sqlite3_close(a);
	assert_int_equal(sqlite_pcache_held_bytes(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_what_the_caches_hold),
	    cmocka_unit_test(test_no_growth_past_the_budget),
	    cmocka_unit_test(test_smaller_cache_size_gives_bytes_back),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
