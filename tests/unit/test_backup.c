/* Unit tests of the backup schedule's pure parts: config_parse_seconds (--backup-every) and the
 * scheduled backups' names and pruning (store/backup.c), which must delete only its own files,
 * oldest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "store/backup.h"

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int64_t seconds;
	} good[] = {{"1", 1},	   {"90", 90},	   {"30s", 30},	    {"30m", 1800},
		    {"6h", 21600}, {"2d", 172800}, {"1h30m", 5400}, {"1d12h", 129600},
		    {"0", 0},	   {"007m", 420},  {"1m1s", 61}};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		int64_t got = -1;
		if (!config_parse_seconds(good[i].text, &got) || got != good[i].seconds)
			fail_msg("\"%s\": got %lld, want %lld", good[i].text, (long long)got,
				 (long long)good[i].seconds);
	}
	static const char *const bad[] = {"",	 "h",	 "1x",	 "1 h",
					  "-5",	 "1.5h", "1h30", "m1",
					  "1hh", " 1",	 "1s ",	 "99999999999999999999d"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int64_t got = 42;
		if (config_parse_seconds(bad[i], &got))
			fail_msg("\"%s\" parsed as %lld", bad[i], (long long)got);
		assert_int_equal(got, 42); /* untouched on failure */
	}
}

static void touch(const char *dir, const char *name)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_prune_keeps_the_newest_and_touches_nothing_else(void **state)
{
	(void)state;
	char dir[] = "/tmp/kopilka-test-backup-XXXXXX";
	assert_non_null(mkdtemp(dir));
	/* Three scheduled names, written by backup_scheduled_path at increasing times (a year
	 * apart, across a month boundary and within one second), and names it never writes. */
	const int64_t at[] = {1700000000000, 1733011199999, 1733011200000};
	char names[3][128];
	for (int i = 0; i < 3; i++) {
		char path[PATH_MAX + 256];
		backup_scheduled_path(dir, at[i], path, sizeof(path));
		assert_int_equal(strncmp(path, dir, strlen(dir)), 0);
		snprintf(names[i], sizeof(names[i]), "%s", path + strlen(dir) + 1);
		touch(dir, names[i]);
	}
	assert_string_equal(names[2], "kopilka-backup-20241201T000000.000Z.db");
	static const char *const others[] = {"kopilka.db",
					     "kopilka-backup-20241201T000000.000Z.db-wal",
					     "kopilka-backup-2024.db",
					     "kopilka-backup-20241201T000000.000Z.db.tmp-abc",
					     ".kopilka-backup-20201201T000000.000Z.db.tmp-XYZ123",
					     "notes.txt"};
	for (size_t i = 0; i < ARRAY_LEN(others); i++)
		touch(dir, others[i]);
	char err[256];
	assert_int_equal(backup_prune(dir, 5, err, sizeof(err)), 0);
	assert_int_equal(backup_prune(dir, 2, err, sizeof(err)), 1);
	assert_false(exists(dir, names[0]));
	assert_true(exists(dir, names[1]) && exists(dir, names[2]));
	assert_true(backup_newest_ms(dir) > 0);
	assert_int_equal(backup_prune(dir, 1, err, sizeof(err)), 1);
	assert_false(exists(dir, names[1]));
	assert_true(exists(dir, names[2]));
	for (size_t i = 0; i < ARRAY_LEN(others); i++) {
		if (!exists(dir, others[i]))
			fail_msg("prune deleted %s", others[i]);
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, others[i]);
		unlink(path);
	}
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", dir, names[2]);
	unlink(path);
	assert_int_equal(backup_newest_ms(dir), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(backup_prune(dir, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--backup-dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_prune_keeps_the_newest_and_touches_nothing_else),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
