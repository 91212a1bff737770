/* Unit tests of SQLite's allocator with a per-thread cache of journal chunks
 * (store/sqlite_malloc.h): a savepoint's in-memory journal, freed at RELEASE, is what the next
 * savepoint's journal is built from; a rollback to a savepoint restores every row through
 * journals made of reused blocks; a thread keeps at most SQLITE_MALLOC_CACHE_BLOCKS; a thread's
 * cache is freed when it exits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite_test_db.h"
#include "store/sqlite_malloc.h"

#define ROWS 2000
#define PAD 1000

static char db_path[96];
static char db_dir[64];

/* As kopilkad's connections: savepoints journal in memory. */
static sqlite3 *open_db(void)
{
	return tdb_open(db_path, NULL, "PRAGMA temp_store = MEMORY");
}

/* Rewrites the pad of rows [from, to] with the character c: about one page every 4 rows. */
static void rewrite(sqlite3 *db, int from, int to, char c)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "UPDATE t SET pad = replace(printf('%%.%dc', 'x'), 'x', '%c') "
		 "WHERE id BETWEEN %d AND %d",
		 PAD, c, from, to);
	tdb_exec(db, sql);
}

static int64_t rows_with(sqlite3 *db, char c)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE substr(pad, 1, 1) = '%c'", c);
	return tdb_scalar(db, sql);
}

static int setup(void **state)
{
	(void)state;
	/* Before anything initializes SQLite, as sqlite_store_open does. */
	if (!sqlite_malloc_install())
		return -1;
	if (!tdb_make("kopilka-malloc", "m.db", db_dir, sizeof(db_dir), db_path, sizeof(db_path)))
		return -1;
	sqlite3 *db = open_db();
	tdb_exec(db, "PRAGMA journal_mode = WAL");
	tdb_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT NOT NULL)");
	tdb_exec(db, "BEGIN");
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		 "INSERT INTO t SELECT i, printf('%%.%dc', 'a') FROM n",
		 ROWS, PAD);
	tdb_exec(db, sql);
	tdb_exec(db, "COMMIT");
	sqlite3_close(db);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tdb_remove(db_dir);
	return 0;
}

/* A savepoint that changes ~25 pages journals ~100 KiB: its chunks are cached at RELEASE and
 * the next savepoint's journal takes them; rolling back to a savepoint whose journal is made
 * of reused blocks restores every row. */
static void test_savepoint_journal_reuses_chunks(void **state)
{
	(void)state;
	sqlite3 *db = open_db();
	tdb_exec(db, "BEGIN IMMEDIATE");
	tdb_exec(db, "SAVEPOINT a");
	rewrite(db, 1, 100, 'b');
	tdb_exec(db, "RELEASE a");
	int cached = sqlite_malloc_cached();
	assert_true(cached >= 50); /* ~4 chunks a 4 KiB page */
	assert_true(cached <= SQLITE_MALLOC_CACHE_BLOCKS);

	long reused = sqlite_malloc_reused();
	tdb_exec(db, "SAVEPOINT b");
	rewrite(db, 1, 100, 'c');
	assert_true(sqlite_malloc_reused() - reused >= 50);
	tdb_exec(db, "ROLLBACK TO b");
	tdb_exec(db, "RELEASE b");
	/* The journal built of reused blocks brought back what savepoint a wrote. */
	assert_int_equal(rows_with(db, 'b'), 100);
	assert_int_equal(rows_with(db, 'c'), 0);
	tdb_exec(db, "COMMIT");
	assert_int_equal(rows_with(db, 'b'), 100);
	assert_int_equal(rows_with(db, 'a'), ROWS - 100);
	assert_int_equal(tdb_scalar(db, "SELECT sum(length(pad)) FROM t"), (int64_t)ROWS * PAD);
	sqlite3_close(db);
}

/* A journal of ~2 MiB frees ~2,000 chunks at once: the thread keeps its bound, the rest go
 * back to malloc. */
static void test_cache_is_bounded(void **state)
{
	(void)state;
	sqlite3 *db = open_db();
	tdb_exec(db, "BEGIN IMMEDIATE");
	tdb_exec(db, "SAVEPOINT big");
	rewrite(db, 1, ROWS, 'd');
	tdb_exec(db, "ROLLBACK TO big");
	tdb_exec(db, "RELEASE big");
	tdb_exec(db, "COMMIT");
	assert_int_equal(sqlite_malloc_cached(), SQLITE_MALLOC_CACHE_BLOCKS);
	assert_int_equal(rows_with(db, 'd'), 0);
	sqlite3_close(db);
}

struct thread_result {
	int cached;
	int threads;
};

static void *journal_in_thread(void *arg)
{
	struct thread_result *r = arg;
	sqlite3 *db = open_db();
	tdb_exec(db, "BEGIN IMMEDIATE");
	tdb_exec(db, "SAVEPOINT t");
	rewrite(db, 200, 300, 'e');
	tdb_exec(db, "ROLLBACK TO t");
	tdb_exec(db, "RELEASE t");
	tdb_exec(db, "COMMIT");
	sqlite3_close(db);
	r->cached = sqlite_malloc_cached();
	r->threads = sqlite_malloc_threads();
	return NULL;
}

/* A thread that journaled holds a cache of its own while it runs; its exit frees it. */
static void test_thread_exit_frees_its_cache(void **state)
{
	(void)state;
	int before = sqlite_malloc_threads();
	int mine = sqlite_malloc_cached();
	struct thread_result r = {0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, journal_in_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(r.cached >= 50);
	assert_int_equal(r.threads, before + 1);
	assert_int_equal(sqlite_malloc_threads(), before);
	/* The other thread's blocks did not land in this one's cache. */
	assert_int_equal(sqlite_malloc_cached(), mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_savepoint_journal_reuses_chunks),
	    cmocka_unit_test(test_cache_is_bounded),
	    cmocka_unit_test(test_thread_exit_frees_its_cache),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
