/* Backups of a SQLite database file: the online copy (kopilkad backup, the schedule of serve,
 * the copy taken before a schema migration), the pruning of scheduled copies, and what
 * kopilkad restore does around its check (staging the backup, installing it in place of a
 * database nobody has open). PostgreSQL has its own tools (pg_dump, base backups with WAL
 * archiving): every function here refuses a postgres:// URI with a message that says so. */
#ifndef KOPILKA_STORE_BACKUP_H
#define KOPILKA_STORE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* What a PostgreSQL URI is told instead of a backup or a restore. */
#define BACKUP_PG_ADVICE                                                                           \
	"PostgreSQL databases are backed up with PostgreSQL's own tools: pg_dump (a logical "      \
	"copy: pg_dump -Fc -f kopilka.dump URI, restored with pg_restore), or a base backup with " \
	"WAL archiving for point-in-time recovery (pg_basebackup, archive_command); see "          \
	"docs/OPERATING.md, \"Backup and restore\""

struct backup_result {
	int64_t bytes;	     /* size of the file written */
	int64_t pages;	     /* database pages copied */
	int64_t duration_us; /* from the first page read to the rename */
};

/* Called after each batch of pages with the pages copied so far and the database's pages;
 * returning false abandons the copy (a server stopping). */
typedef bool (*backup_progress_fn)(void *ctx, int64_t done_pages, int64_t total_pages);

struct sqlite3;

/* Copies the SQLite database at db_path into the file `out` while other processes keep
 * reading and writing it: the copy is the database as one read transaction saw it (every
 * transaction committed before the copy began is in it). The pages go to a new file beside
 * `out`, which is synced, renamed over `out` (atomically replacing an older file of that
 * name) and its directory synced: a crash leaves either the old `out` or the whole new one.
 * The copy is a self-contained file (rollback journal mode, no -wal beside it). False with a
 * message in err (naming --out or --db for a bad path) when it could not be written; nothing
 * is left behind then. progress may be NULL; res may be NULL. */
bool backup_copy(const char *db_path, const char *out, backup_progress_fn progress, void *ctx,
		 struct backup_result *res, char *err, size_t err_len) MUST_CHECK;
/* The same from a connection the caller has open (the migration's copy): src must not be
 * inside a write transaction. */
bool backup_copy_conn(struct sqlite3 *src, const char *out, backup_progress_fn progress, void *ctx,
		      struct backup_result *res, char *err, size_t err_len) MUST_CHECK;

/* The path of the copy taken before migrating db_path from schema `version`, into out:
 * <db_path>.schema-v<version>.<UTC time>.bak. */
void backup_migration_path(const char *db_path, int version, char *out, size_t cap);

/* ---- the schedule of serve: kopilka-backup-<UTC time>.db files in a directory ---- */

/* The path of a scheduled backup taken at wall-clock time at_ms, in dir, into out. */
void backup_scheduled_path(const char *dir, int64_t at_ms, char *out, size_t cap);
/* Deletes the scheduled backups of dir but the newest `keep` (by the time in their names);
 * other files are never touched. Returns how many it deleted, -1 when dir cannot be read
 * (err filled). */
int backup_prune(const char *dir, int64_t keep, char *err, size_t err_len);
/* The wall-clock time (ms) the newest scheduled backup of dir was written, 0 when none. */
int64_t backup_newest_ms(const char *dir);

/* ---- restore ---- */

/* Whether a process has the SQLite database at db_path open (a server, a check, a backup):
 * BACKUP_FREE also when there is no such file. */
enum backup_use { BACKUP_FREE, BACKUP_IN_USE, BACKUP_LOCK_FAILED };
enum backup_use backup_db_in_use(const char *db_path, char *err, size_t err_len);

/* Copies the backup file `from` (and a -wal beside it, if any) to a new file in db_path's
 * directory, synced, and writes its path into staged (cap bytes). The caller checks the
 * staged copy, then installs it (backup_install) or deletes it (backup_discard). Checks that
 * `from` is a kopilka SQLite database whose schema is at most `latest_version`, and writes its
 * version into *version_out. False with a message naming --from or --db. */
bool backup_stage(const char *from, const char *db_path, int latest_version, char *staged,
		  size_t cap, int *version_out, char *err, size_t err_len) MUST_CHECK;
/* Deletes a staged copy and the -wal/-shm/-journal files beside it. */
void backup_discard(const char *staged);
/* Puts the staged copy in place of db_path. Takes SQLite's exclusive lock on the database
 * first (BACKUP_IN_USE: a process has it open; nothing changed), folds its WAL into it, keeps
 * it as <db_path>.replaced-<UTC time> (its path into kept, "" when there was no database) and
 * renames the staged copy to db_path, then syncs the directory. */
enum backup_use backup_install(const char *staged, const char *db_path, char *kept, size_t cap,
			       char *err, size_t err_len) MUST_CHECK;

#endif
