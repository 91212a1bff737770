/* What the unit tests of kopilka's SQLite pieces share (test_sqlite_pcache, test_sqlite_malloc,
 * test_sqlite_vfs): a temporary directory for their database, statements that must succeed,
 * a query of one number. */
#ifndef KOPILKA_TESTS_SQLITE_TEST_DB_H
#define KOPILKA_TESTS_SQLITE_TEST_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Makes a directory /tmp/<prefix>-XXXXXX into dir and names the database file in it into
 * path; false when it could not. */
bool tdb_make(const char *prefix, const char *file, char *dir, size_t dir_len, char *path,
	      size_t path_len);

/* Removes the directory and everything in it (the database, its WAL and WAL index). */
void tdb_remove(const char *dir);

/* Opens the database (created if need be) through the VFS (NULL: SQLite's default) and runs
 * the statements sql (NULL: none); the test fails when either fails. */
sqlite3 *tdb_open(const char *path, const char *vfs, const char *sql);

/* Runs the statements; the test fails with SQLite's message when one fails. */
void tdb_exec(sqlite3 *db, const char *sql);

/* The first column of the first row of the query (which must have one). */
int64_t tdb_scalar(sqlite3 *db, const char *sql);

#endif
