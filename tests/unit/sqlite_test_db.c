/* Shared helpers of the SQLite unit tests (sqlite_test_db.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sqlite_test_db.h"

bool tdb_make(const char *prefix, const char *file, char *dir, size_t dir_len, char *path,
	      size_t path_len)
{
	int n = snprintf(dir, dir_len, "/tmp/%s-XXXXXX", prefix);
	if (n < 0 || (size_t)n >= dir_len || !mkdtemp(dir))
		return false;
	n = snprintf(path, path_len, "%s/%s", dir, file);
	return n > 0 && (size_t)n < path_len;
}

void tdb_remove(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
				unlink(p);
			}
		closedir(d);
	}
	rmdir(dir);
}

sqlite3 *tdb_open(const char *path, const char *vfs, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
	if (sql)
		tdb_exec(db, sql);
	return db;
}

void tdb_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : sqlite3_errstr(rc));
}

int64_t tdb_scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}
