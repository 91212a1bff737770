/* Unit tests of the VFS kopilkad opens SQLite through (store/sqlite_vfs.h): a WAL database
 * opened through it has the fence-only barrier, and its connections share the WAL index with
 * each other and with a connection through SQLite's own unix VFS (another process, the sqlite3
 * shell), both ways. Its WAL writes are gathered: a commit of ~100 pages is a handful of
 * writes, visible to a plain unix connection as soon as the commit returns, and a write that
 * fails (the file-size limit) fails the commit and leaves the database as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sqlite_test_db.h"
#include "store/sqlite_vfs.h"

static char dir[64], path[96];

static sqlite3 *open_with(const char *vfs)
{
	return tdb_open(path, vfs, NULL);
}

static void test_wal_index_shared_through_both_vfs(void **state)
{
	(void)state;
	sqlite3 *a = open_with(SQLITE_VFS_NAME);
	tdb_exec(a, "PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)");
	sqlite3 *b = open_with(SQLITE_VFS_NAME);
	sqlite3 *plain = open_with(NULL); /* unix */
	sqlite3_file *f = NULL;
	assert_int_equal(sqlite3_file_control(b, "main", SQLITE_FCNTL_FILE_POINTER, &f), SQLITE_OK);
	assert_int_equal(tdb_scalar(b, "SELECT count(*) FROM t"),
			 0); /* b has read the WAL index: its barrier ran */
	assert_true(sqlite_vfs_file_is_ours(f));
	assert_int_equal(sqlite3_file_control(plain, "main", SQLITE_FCNTL_FILE_POINTER, &f),
			 SQLITE_OK);
	assert_false(sqlite_vfs_file_is_ours(f));
	for (int i = 1; i <= 50; i++) {
		tdb_exec(a, "INSERT INTO t VALUES (1)");
		assert_int_equal(tdb_scalar(b, "SELECT count(*) FROM t"), 2 * i - 1);
		assert_int_equal(tdb_scalar(plain, "SELECT count(*) FROM t"), 2 * i - 1);
		tdb_exec(plain, "INSERT INTO t VALUES (2)");
		assert_int_equal(tdb_scalar(a, "SELECT count(*) FROM t"), 2 * i);
		assert_int_equal(tdb_scalar(b, "SELECT count(*) FROM t"), 2 * i);
	}
	/* A checkpoint through one restarts the WAL under the others. */
	tdb_exec(a, "PRAGMA wal_checkpoint(TRUNCATE)");
	tdb_exec(b, "INSERT INTO t VALUES (3)");
	assert_int_equal(tdb_scalar(plain, "SELECT count(*) FROM t"), 101);
	sqlite3_close(a);
	sqlite3_close(b);
	sqlite3_close(plain);
}

/* Adds `rows` rows of 1,000 bytes (about 4 a page) in one transaction. */
static int add_rows(sqlite3 *db, int rows)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		 "INSERT INTO big SELECT 7, randomblob(1000) FROM n",
		 rows);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void test_wal_writes_gathered(void **state)
{
	(void)state;
	sqlite3 *a = open_with(SQLITE_VFS_NAME);
	tdb_exec(a, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		    "CREATE TABLE IF NOT EXISTS big (x INTEGER, pad BLOB)");
	sqlite3 *plain = open_with(NULL);
	int64_t before = tdb_scalar(plain, "SELECT count(*) FROM big");
	sqlite3_file *wal = NULL;
	assert_int_equal(sqlite3_file_control(a, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal),
			 SQLITE_OK);
	assert_true(sqlite_vfs_file_gathers_writes(wal));

	/* ~100 pages: 200 writes of SQLite's (a header and a page each), 4 of ours. */
	long writes = sqlite_vfs_wal_writes();
	assert_int_equal(add_rows(a, 400), SQLITE_OK);
	long made = sqlite_vfs_wal_writes() - writes;
	assert_true(made >= 3);
	assert_true(made <= 8);
	/* The commit is in the file: a connection through unix, which reads the WAL with its
	 * own descriptor, sees it at once. */
	assert_int_equal(tdb_scalar(plain, "SELECT count(*) FROM big"), before + 400);

	/* Small commits one after another: each ends with its commit frame written. */
	for (int i = 1; i <= 20; i++) {
		tdb_exec(a, "INSERT INTO big VALUES (8, NULL)");
		assert_int_equal(tdb_scalar(plain, "SELECT count(*) FROM big"), before + 400 + i);
	}
	sqlite3_close(a);
	sqlite3_close(plain);
}

static void test_failed_wal_write_fails_the_commit(void **state)
{
	(void)state;
	sqlite3 *a = open_with(SQLITE_VFS_NAME);
	/* No checkpoint: the WAL is not started over inside the space it has. */
	tdb_exec(a, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		    "PRAGMA wal_autocheckpoint = 0;"
		    "CREATE TABLE IF NOT EXISTS big (x INTEGER, pad BLOB)");
	sqlite3 *plain = open_with(NULL);
	/* A first commit sizes the WAL index's file, which a limit would also stop. */
	assert_int_equal(add_rows(a, 1), SQLITE_OK);
	int64_t before = tdb_scalar(plain, "SELECT count(*) FROM big");
	char wal_path[128];
	snprintf(wal_path, sizeof(wal_path), "%s-wal", path);
	FILE *w = fopen(wal_path, "rb");
	assert_non_null(w);
	fseek(w, 0, SEEK_END);
	long wal_size = ftell(w);
	fclose(w);

	/* A file-size limit at the WAL's size: a commit of one row is one write of ours, the
	 * commit frame's, and it fails; then, 300 KiB past it, a commit of ~2 MB fails part way,
	 * on a write before its commit frame. */
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)wal_size;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc_small = add_rows(a, 1);
	lim.rlim_cur = (rlim_t)wal_size + 300 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc_big = add_rows(a, 2000);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	assert_int_not_equal(rc_small, SQLITE_OK);
	assert_int_not_equal(rc_big, SQLITE_OK);
	assert_true(sqlite3_get_autocommit(a)); /* rolled back */

	assert_int_equal(tdb_scalar(plain, "SELECT count(*) FROM big"), before);
	assert_int_equal(tdb_scalar(a, "SELECT count(*) FROM big"), before);
	/* And the connection writes again. */
	assert_int_equal(add_rows(a, 10), SQLITE_OK);
	assert_int_equal(tdb_scalar(plain, "SELECT count(*) FROM big"), before + 10);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(plain, "PRAGMA integrity_check", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	sqlite3_close(a);
	sqlite3_close(plain);
}

static int setup(void **state)
{
	(void)state;
	if (!sqlite_vfs_register())
		return -1;
	return tdb_make("kopilka-vfs", "v.db", dir, sizeof(dir), path, sizeof(path)) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tdb_remove(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wal_index_shared_through_both_vfs),
	    cmocka_unit_test(test_wal_writes_gathered),
	    cmocka_unit_test(test_failed_wal_write_fails_the_commit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
