/* Backups of a SQLite database file and the file work of a restore (see backup.h).
 *
 * The copy is SQLite's online backup API run inside one read transaction of a connection of
 * its own. In WAL mode (every database a server has opened) a reader never blocks a writer and
 * a writer never blocks a reader: the writers go on appending to the WAL while the copy reads
 * the snapshot its transaction began with, so holding that transaction to the end costs the
 * writers no lock, and the copy is consistent. Releasing the read transaction between batches
 * instead, as the backup API does by default, would make every write in between restart the
 * copy from its first page: under a steady stream of orders a large database would never
 * finish. What the held snapshot does cost: the checkpoints cannot move frames committed after
 * it into the database, so the WAL grows by what is written meanwhile and is cut back after
 * the copy. The pages are read in batches (BATCH_PAGES) only to report progress and to yield
 * the CPU to the writers between them. */
#include "store/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/sqlite.h"

/* Pages per backup step: 4 MiB of 4 KiB pages, a progress report and a yield between two. */
#define BATCH_PAGES 1024
#define SCHEDULED_PREFIX "kopilka-backup-"
#define SCHEDULED_SUFFIX ".db"

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "20261205T112233.123Z": an ISO 8601 basic UTC time, sortable as text, fit for a file name. */
static void stamp(int64_t at_ms, char out[24])
{
	char iso[UTC_TEXT_BYTES]; /* 2026-12-05T11:22:33.123Z */
	utc_format_ms(at_ms, iso);
	size_t n = 0;
	for (const char *p = iso; *p; p++)
		if (*p != '-' && *p != ':')
			out[n++] = *p;
	out[n] = '\0';
}

/* The directory part of path into out ("." when it has none). */
static void dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(out, cap, ".");
	else if (slash == path)
		snprintf(out, cap, "/");
	else
		snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static bool fsync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

/* Removes path and the files SQLite may have left beside it. */
static void unlink_with_sidecars(const char *path)
{
	static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
	for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

/* Creates an empty file with a unique name beside `target`, its path into out. */
static bool temp_beside(const char *target, const char *flag, char *out, size_t cap, char *err,
			size_t err_len)
{
	char dir[PATH_MAX];
	dir_of(target, dir, sizeof(dir));
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	int n = snprintf(out, cap, "%s/.%s.tmp-XXXXXX", dir, base);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, err_len, "%s %s: the path is too long", flag, target);
		return false;
	}
	int fd = mkstemp(out);
	if (fd < 0) {
		snprintf(err, err_len, "%s %s: cannot create a file in %s: %s", flag, target, dir,
			 strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

static bool exec_ok(sqlite3 *db, const char *sql, const char *what, char *err, size_t err_len)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "%s: %s", what, sqlite3_errmsg(db));
		return false;
	}
	return true;
}

bool backup_copy_conn(struct sqlite3 *src, const char *out, backup_progress_fn progress, void *ctx,
		      struct backup_result *res, char *err, size_t err_len)
{
	struct stat sb;
	if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(err, err_len, "--out %s is a directory: name the backup file", out);
		return false;
	}
	char tmp[PATH_MAX];
	if (!temp_beside(out, "--out", tmp, sizeof(tmp), err, err_len))
		return false;
	int64_t started = mono_us();
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	bool ok = false, in_tx = false;
	int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "--out %s: cannot open %s: %s", out, tmp,
			 dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto cleanup;
	}
	/* The new file is ours alone until the rename, and synced once at the end: no journal,
	 * no sync per batch, no lock taken and dropped per batch. */
	if (!exec_ok(dst,
		     "PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF;"
		     " PRAGMA journal_mode = OFF;",
		     "--out", err, err_len))
		goto cleanup;
	/* The snapshot: one read transaction on src from the first batch to the last. */
	if (!exec_ok(src, "BEGIN; SELECT count(*) FROM sqlite_schema;", "--db: cannot read", err,
		     err_len))
		goto cleanup;
	in_tx = true;
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		snprintf(err, err_len, "--out %s: %s", out, sqlite3_errmsg(dst));
		goto cleanup;
	}
	do {
		rc = sqlite3_backup_step(b, BATCH_PAGES);
		int total = sqlite3_backup_pagecount(b);
		if (progress && (rc == SQLITE_OK || rc == SQLITE_DONE) &&
		    !progress(ctx, total - sqlite3_backup_remaining(b), total)) {
			snprintf(err, err_len, "the copy to %s was abandoned", out);
			goto cleanup;
		}
		if (rc == SQLITE_OK)
			sched_yield();
	} while (rc == SQLITE_OK);
	int64_t pages = sqlite3_backup_pagecount(b);
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "copying the database to %s failed: %s", out,
			 sqlite3_errmsg(dst));
		goto cleanup;
	}
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	in_tx = false;
	/* The pages carry src's header, which says WAL when src is served: the copy is made a
	 * rollback-journal database, readable alone (even from a read-only medium). */
	if (!exec_ok(dst, "PRAGMA journal_mode = DELETE;", "--out", err, err_len))
		goto cleanup;
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "--out %s: closing the copy failed: %s", out,
			 sqlite3_errstr(rc));
		goto cleanup;
	}
	char dir[PATH_MAX];
	dir_of(out, dir, sizeof(dir));
	if (!fsync_path(tmp, false) || stat(tmp, &sb) != 0) {
		snprintf(err, err_len, "--out %s: syncing %s failed: %s", out, tmp,
			 strerror(errno));
		goto cleanup;
	}
	if (rename(tmp, out) != 0) {
		snprintf(err, err_len, "--out %s: renaming %s to it failed: %s", out, tmp,
			 strerror(errno));
		goto cleanup;
	}
	if (!fsync_path(dir, true))
		log_warn("backup: syncing the directory %s failed: %s", dir, strerror(errno));
	if (res) {
		res->bytes = sb.st_size;
		res->pages = pages;
		res->duration_us = mono_us() - started;
	}
	ok = true;
cleanup:
	if (b)
		sqlite3_backup_finish(b);
	if (in_tx)
		sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
	if (dst)
		sqlite3_close(dst);
	if (!ok)
		unlink_with_sidecars(tmp);
	return ok;
}

/* The schema version of a kopilka database open on db; -1 when it has no schema_version
 * table (not a kopilka database), with SQLite's message in err. */
static int schema_version(sqlite3 *db, char *err, size_t err_len)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &s, NULL);
	int version = -1;
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	if (version < 0)
		snprintf(err, err_len, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return version;
}

bool backup_copy(const char *db_path, const char *out, backup_progress_fn progress, void *ctx,
		 struct backup_result *res, char *err, size_t err_len)
{
	sqlite_store_init();
	if (strncmp(db_path, "postgres://", 11) == 0 ||
	    strncmp(db_path, "postgresql://", 13) == 0) {
		snprintf(err, err_len,
			 "--db is a PostgreSQL URI: kopilkad backup copies SQLite files. "
			 "%s",
			 BACKUP_PG_ADVICE);
		return false;
	}
	struct stat sb, out_sb;
	if (stat(db_path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, err_len, "--db %s: no such database file", db_path);
		return false;
	}
	/* Renamed over the database itself, the copy would leave a running server on a file no
	 * longer in the directory. */
	if (stat(out, &out_sb) == 0 && out_sb.st_dev == sb.st_dev && out_sb.st_ino == sb.st_ino) {
		snprintf(err, err_len, "--out %s is the database itself: name another file", out);
		return false;
	}
	sqlite3 *src = NULL;
	/* Read-write, though it only reads: when no other process has the database open, closing
	 * it then folds the WAL back and removes the -wal and -shm files its open created, as a
	 * server does when it stops. A file this process may not write is opened read-only. */
	int rc = sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	bool ok = false;
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "--db %s: cannot open it: %s", db_path,
			 src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		goto cleanup;
	}
	/* A server's checkpoint or a writer of another process may hold a lock for a moment. */
	sqlite3_busy_timeout(src, 10000);
	char why[256];
	if (schema_version(src, why, sizeof(why)) < 1) {
		snprintf(err, err_len, "--db %s is not a kopilka database (%s)", db_path, why);
		goto cleanup;
	}
	ok = backup_copy_conn(src, out, progress, ctx, res, err, err_len);
cleanup:
	sqlite3_close(src);
	return ok;
}

/* ---- the schedule ---- */

void backup_scheduled_path(const char *dir, int64_t at_ms, char *out, size_t cap)
{
	char when[24];
	stamp(at_ms, when);
	snprintf(out, cap, "%s/" SCHEDULED_PREFIX "%s" SCHEDULED_SUFFIX, dir, when);
}

void backup_migration_path(const char *db_path, int version, char *out, size_t cap)
{
	char when[24];
	stamp(wall_ms(), when);
	snprintf(out, cap, "%s.schema-v%d.%s.bak", db_path, version, when);
}

/* A name backup_scheduled_path writes: the prefix, 8 digits, T, 6 digits, '.', 3 digits, Z,
 * the suffix. */
static bool is_scheduled_name(const char *name)
{
	static const char shape[] = "ddddddddTdddddd.dddZ";
	size_t pre = strlen(SCHEDULED_PREFIX), body = strlen(shape);
	if (strncmp(name, SCHEDULED_PREFIX, pre) != 0 ||
	    strcmp(name + pre + body, SCHEDULED_SUFFIX) != 0 || strlen(name) < pre + body)
		return false;
	for (size_t i = 0; i < body; i++) {
		char c = name[pre + i];
		if (shape[i] == 'd' ? c < '0' || c > '9' : c != shape[i])
			return false;
	}
	return true;
}

static int name_desc(const void *a, const void *b)
{
	return -strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scheduled backups' names of dir, newest first; *n_out of them (free each and the array).
 * NULL when dir cannot be read. */
static char **scheduled_names(const char *dir, size_t *n_out)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	size_t n = 0, cap = 16;
	char **names = xmalloc(cap * sizeof(*names));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_scheduled_name(e->d_name))
			continue;
		if (n == cap)
			names = xrealloc(names, (cap *= 2) * sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_desc);
	*n_out = n;
	return names;
}

int backup_prune(const char *dir, int64_t keep, char *err, size_t err_len)
{
	size_t n;
	char **names = scheduled_names(dir, &n);
	if (!names) {
		snprintf(err, err_len, "--backup-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	int removed = 0;
	for (size_t i = 0; i < n; i++) {
		if ((int64_t)i >= keep) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (unlink(path) == 0)
				removed++;
			else
				log_warn("backup: cannot delete %s: %s", path, strerror(errno));
		}
		free(names[i]);
	}
	free(names);
	return removed;
}

int64_t backup_newest_ms(const char *dir)
{
	size_t n;
	char **names = scheduled_names(dir, &n);
	if (!names)
		return 0;
	int64_t newest = 0;
	if (n > 0) {
		char path[PATH_MAX];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
		if (stat(path, &sb) == 0)
			newest = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return newest;
}

/* ---- restore ---- */

/* Takes SQLite's own exclusive lock on the database at path, so no process can have it open
 * meanwhile. Every connection to a WAL database holds a shared lock on the file from its first
 * read until it closes, whatever it does (a server's pooled connections read at start-up), and
 * a connection in EXCLUSIVE locking mode takes the exclusive lock on its first read of a WAL
 * database (it keeps the WAL index in its own memory, which is safe only when it is alone).
 * So a running server, a check or a backup holds the lock off: SQLite itself says whether
 * the file is in use, across processes, with no lock file of ours for a crash to leave behind
 * (the kernel drops a dead process's locks). A database in rollback journal mode is locked
 * only by the transaction a process runs at that moment; kopilkad serves every database in
 * WAL mode. With fold, the WAL is checkpointed into the file and the file left in rollback
 * journal mode (it is then whole without a -wal), the lock still held; *out is the open
 * connection holding it. */
static enum backup_use lock_exclusive(const char *path, bool fold, sqlite3 **out, char *err,
				      size_t err_len)
{
	sqlite3 *db = NULL;
	*out = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 200);
		rc = sqlite3_exec(db,
				  fold ? "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = "
					 "DELETE;"
				       : "PRAGMA locking_mode = EXCLUSIVE;"
					 " SELECT count(*) FROM sqlite_schema;",
				  NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		*out = db;
		return BACKUP_FREE;
	}
	int primary = rc & 0xff;
	enum backup_use use = BACKUP_LOCK_FAILED;
	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
		use = BACKUP_IN_USE;
		snprintf(err, err_len,
			 "--db %s is in use: a process has it open (a running kopilkad serve?); "
			 "stop it before restoring",
			 path);
	} else if (primary == SQLITE_NOTADB) {
		/* Not a database at all: nothing can have it open as one; it is kept as it is. */
		use = BACKUP_FREE;
	} else {
		snprintf(err, err_len, "--db %s: cannot lock it: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	}
	sqlite3_close(db);
	return use;
}

enum backup_use backup_db_in_use(const char *db_path, char *err, size_t err_len)
{
	sqlite_store_init();
	if (access(db_path, F_OK) != 0)
		return BACKUP_FREE;
	sqlite3 *db;
	enum backup_use use = lock_exclusive(db_path, false, &db, err, err_len);
	sqlite3_close(db);
	return use;
}

static bool copy_file(const char *from, const char *to, char *err, size_t err_len)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, err_len, "--from %s: cannot open it: %s", from, strerror(errno));
		return false;
	}
	int outfd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = outfd >= 0;
	char block[1 << 16];
	ssize_t n = 0;
	while (ok && (n = read(in, block, sizeof(block))) > 0)
		for (ssize_t done = 0; ok && done < n;) {
			ssize_t w = write(outfd, block + done, (size_t)(n - done));
			ok = w > 0;
			done += w > 0 ? w : 0;
		}
	if (ok && (n < 0 || fsync(outfd) != 0))
		ok = false;
	if (!ok)
		snprintf(err, err_len, "--from %s: copying it to %s failed: %s", from, to,
			 strerror(errno));
	if (outfd >= 0)
		close(outfd);
	close(in);
	return ok;
}

bool backup_stage(const char *from, const char *db_path, int latest_version, char *staged,
		  size_t cap, int *version_out, char *err, size_t err_len)
{
	sqlite_store_init();
	struct stat sb;
	if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, err_len, "--from %s: no such file", from);
		return false;
	}
	if (!temp_beside(db_path, "--db", staged, cap, err, err_len))
		return false;
	char wal_from[PATH_MAX + 8], wal_to[PATH_MAX + 8];
	snprintf(wal_from, sizeof(wal_from), "%s-wal", from);
	snprintf(wal_to, sizeof(wal_to), "%s-wal", staged);
	bool ok = copy_file(from, staged, err, err_len);
	/* A copy of a live database with its WAL beside it: the WAL holds committed pages. */
	if (ok && stat(wal_from, &sb) == 0 && sb.st_size > 0)
		ok = copy_file(wal_from, wal_to, err, err_len);
	sqlite3 *db = NULL;
	if (ok) {
		int rc =
		    sqlite3_open_v2(staged, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
		char why[256];
		int version = rc == SQLITE_OK ? schema_version(db, why, sizeof(why)) : -1;
		if (rc != SQLITE_OK)
			snprintf(why, sizeof(why), "%s", sqlite3_errstr(rc));
		if (version < 1) {
			snprintf(err, err_len, "--from %s is not a kopilka database (%s)", from,
				 why);
			ok = false;
		} else if (version > latest_version) {
			snprintf(err, err_len,
				 "--from %s has schema version %d, newer than this kopilkad (%d): "
				 "restore it with the kopilkad that wrote it",
				 from, version, latest_version);
			ok = false;
		} else {
			*version_out = version;
		}
	}
	sqlite3_close(db);
	if (!ok)
		backup_discard(staged);
	return ok;
}

void backup_discard(const char *staged)
{
	unlink_with_sidecars(staged);
}

enum backup_use backup_install(const char *staged, const char *db_path, char *kept, size_t cap,
			       char *err, size_t err_len)
{
	sqlite_store_init();
	sqlite3 *lock = NULL;
	kept[0] = '\0';
	struct stat old;
	bool exists = stat(db_path, &old) == 0;
	if (exists) {
		enum backup_use use = lock_exclusive(db_path, true, &lock, err, err_len);
		if (use != BACKUP_FREE)
			return use;
		/* The restored file gets the owner and mode of the one it replaces: a restore run
		 * as root must leave a database the service's own user can open. */
		if (chown(staged, old.st_uid, old.st_gid) != 0 && geteuid() == 0)
			log_warn("restore: cannot give %s the owner of %s: %s", staged, db_path,
				 strerror(errno));
		if (chmod(staged, old.st_mode & 07777) != 0)
			log_warn("restore: cannot give %s the mode of %s: %s", staged, db_path,
				 strerror(errno));
		char when[24];
		stamp(wall_ms(), when);
		snprintf(kept, cap, "%s.replaced-%s", db_path, when);
		if (rename(db_path, kept) != 0) {
			snprintf(err, err_len, "--db %s: cannot rename it to %s: %s", db_path, kept,
				 strerror(errno));
			sqlite3_close(lock);
			kept[0] = '\0';
			return BACKUP_LOCK_FAILED;
		}
	}
	/* The database's WAL was folded into it (lock_exclusive); whatever -wal or -shm is
	 * left beside its name (a crash's, or of a file that was no database) belongs to no
	 * database now and must not be read as the restored one's. A -journal is the locking
	 * connection's own (its journal mode change), which closing it deletes by that name;
	 * without that connection, it is a stray one and goes aside too. */
	static const char *const sidecars[] = {"-wal", "-shm", "-journal"};
	for (size_t i = 0; i < ARRAY_LEN(sidecars) - (lock ? 1 : 0); i++) {
		char from[PATH_MAX + 16], to[PATH_MAX + 48];
		snprintf(from, sizeof(from), "%s%s", db_path, sidecars[i]);
		snprintf(to, sizeof(to), "%s%s", *kept ? kept : db_path, sidecars[i]);
		if (access(from, F_OK) == 0 && (*kept ? rename(from, to) : unlink(from)) != 0)
			log_warn("restore: cannot move %s aside: %s", from, strerror(errno));
	}
	enum backup_use rc = BACKUP_FREE;
	if (rename(staged, db_path) != 0) {
		snprintf(err, err_len, "--db %s: cannot rename the checked copy %s to it: %s",
			 db_path, staged, strerror(errno));
		rc = BACKUP_LOCK_FAILED;
		if (*kept && rename(kept, db_path) == 0)
			kept[0] = '\0';
	}
	char dir[PATH_MAX];
	dir_of(db_path, dir, sizeof(dir));
	if (!fsync_path(dir, true))
		log_warn("restore: syncing the directory %s failed: %s", dir, strerror(errno));
	/* Closed after the renames: the lock stays on the kept file until no process can open
	 * the old one under db_path any more. Closing deletes the connection's -journal (empty:
	 * it wrote nothing since), the only file it touches by name. */
	sqlite3_close(lock);
	return rc;
}
