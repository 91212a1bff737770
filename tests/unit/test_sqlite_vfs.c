/* Unit tests of the VFS kopilkad opens SQLite through (store/sqlite_vfs.h): a WAL database
 * opened through it has the fence-only barrier, and its connections share the WAL index with
 * each other and with a connection through SQLite's own unix VFS (another process, the sqlite3
 * shell), both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/sqlite_vfs.h"

static char dir[64], path[96];

static sqlite3 *open_with(const char *vfs)
{
	sqlite3 *db = NULL;
	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
	return db;
}

static int64_t count_rows(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void test_wal_index_shared_through_both_vfs(void **state)
{
	(void)state;
	sqlite3 *a = open_with(SQLITE_VFS_NAME);
	exec(a, "PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)");
	sqlite3 *b = open_with(SQLITE_VFS_NAME);
	sqlite3 *plain = open_with(NULL); /* unix */
	sqlite3_file *f = NULL;
	assert_int_equal(sqlite3_file_control(b, "main", SQLITE_FCNTL_FILE_POINTER, &f), SQLITE_OK);
	assert_int_equal(count_rows(b), 0); /* b has read the WAL index: its barrier ran */
	assert_true(sqlite_vfs_file_is_ours(f));
	assert_int_equal(sqlite3_file_control(plain, "main", SQLITE_FCNTL_FILE_POINTER, &f),
			 SQLITE_OK);
	assert_false(sqlite_vfs_file_is_ours(f));
	for (int i = 1; i <= 50; i++) {
		exec(a, "INSERT INTO t VALUES (1)");
		assert_int_equal(count_rows(b), 2 * i - 1);
		assert_int_equal(count_rows(plain), 2 * i - 1);
		exec(plain, "INSERT INTO t VALUES (2)");
		assert_int_equal(count_rows(a), 2 * i);
		assert_int_equal(count_rows(b), 2 * i);
	}
	/* A checkpoint through one restarts the WAL under the others. */
	exec(a, "PRAGMA wal_checkpoint(TRUNCATE)");
	exec(b, "INSERT INTO t VALUES (3)");
	assert_int_equal(count_rows(plain), 101);
	sqlite3_close(a);
	sqlite3_close(b);
	sqlite3_close(plain);
}

static int setup(void **state)
{
	(void)state;
	if (!sqlite_vfs_register())
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/kopilka-vfs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/v.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wal_index_shared_through_both_vfs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
