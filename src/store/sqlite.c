/* SQLite engine of the storage interface (see store.h and sqlite.h): its connections and pool,
 * the driver of the shared statements (store/sql.h), and what only SQLite does (the order
 * counter, the row locks that are no-ops, the check's own invariants). Write transactions,
 * group commit and checkpoints are sqlite_writer.c's; the client search sqlite_search.c's;
 * the types they share sqlite_engine.h's.
 *
 * Each pooled connection keeps its prepared statements for its whole life. Writers open their
 * transaction with BEGIN IMMEDIATE so the write lock is taken before the first read: in WAL
 * mode a deferred transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT. */
#include "store/sqlite.h"
#include "store/columns.h"
#include "store/pool.h"
#include "store/sql.h"
#include "store/sqlite_engine.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "store/backup.h"
#include "store/check.h"
#include "store/clients.h"
#include "store/sqlite_malloc.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_search.h"
#include "store/sqlite_vfs.h"

static const char *const stmt_sql[] = {STATEMENTS(STMT_SQL)};

static const struct store_ops sqlite_ops;
/* The VFS connections open through: sqlite_vfs.h's, once global_init registered it (NULL:
 * SQLite's default). */
static const char *open_vfs;
static const struct sql_driver sqlite_sql;
static enum store_rc sq_check_more(struct store_conn *base, store_report_fn report, void *ctx,
				   int64_t *problems_out);

/* Maps an SQLite result code to the interface's. Logs what is unexpected. */
enum store_rc sqlite_map_rc(sqlite3 *db, int rc, const char *what)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_CONSTRAINT:
		return STORE_CONFLICT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warn("sqlite: %s: database busy (%s)", what, sqlite3_errmsg(db));
		return STORE_RETRY;
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		log_error("sqlite: %s: %s", what, sqlite3_errmsg(db));
		return STORE_FULL;
	default:
		log_error("sqlite: %s: %s (%d)", what, sqlite3_errmsg(db), rc);
		return STORE_ERROR;
	}
}

/* Returns the connection's prepared statement, reset and unbound, ready for binding. */
sqlite3_stmt *sq_stmt(struct sq_conn *c, enum stmt_id id)
{
	sqlite3_stmt *s = c->stmts[id];
	if (!s) {
		int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
					    NULL);
		if (rc != SQLITE_OK) {
			/* The SQL is ours; failing to prepare it is a programming error. */
			log_error("sqlite: prepare failed: %s", sqlite3_errmsg(c->db));
			abort();
		}
		c->stmts[id] = s;
	}
	metrics_add(M_DB_STATEMENTS, 1);
	return s;
}

/* Binds the arguments of the format (store/sql.h). */
static void bindv(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	for (int i = 1; *fmt; fmt++, i++) {
		struct sql_arg a = sql_arg_next(*fmt, &aq);
		if (a.kind == SQL_ARG_INT)
			sqlite3_bind_int64(s, i, a.i);
		else if (a.kind == SQL_ARG_TEXT)
			sqlite3_bind_text(s, i, a.text, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(s, i);
	}
	va_end(aq);
}

/* Runs a statement that returns no rows; resets it. */
enum store_rc sq_exec(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	enum store_rc out = rc == SQLITE_DONE ? STORE_OK : sqlite_map_rc(c->db, rc, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return out;
}

void sq_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* The connection an operation runs on: the writer while the borrower's write transaction is
 * open, else the borrowed connection itself. */
struct sq_conn *SQ(struct store_conn *c)
{
	struct sq_conn *own = (struct sq_conn *)c;
	return own->writing ? own->writing : own;
}

/* ---- the shared statements' driver (store/sql.h) ----
 *
 * The shared SQL is PostgreSQL's dialect. What SQLite spells differently is adapted here and
 * only here: placeholders `$N` become `?N` as each statement is prepared, the collation
 * "C" (PostgreSQL's bytewise one, named in `lower(... COLLATE "C")`) is registered on every
 * connection as a bytewise comparison (conn_open), and an INSERT's "RETURNING id" is read
 * from the rowid (rowid_returning). */

static int collate_bytes(void *arg, int la, const void *a, int lb, const void *b)
{
	(void)arg;
	int n = memcmp(a, b, (size_t)(la < lb ? la : lb));
	return n ? n : la - lb;
}

/* "RETURNING id" costs SQLite a temporary table per statement: measured 0.9 -> 2.2-2.6 us an
 * INSERT, and a sale runs about nine of them with the writer lock held. So an INSERT of one
 * row whose "RETURNING id" names the table's rowid is prepared without it, and its row is
 * sqlite3_last_insert_rowid (none when nothing was inserted: ON CONFLICT DO NOTHING).
 * Checked when prepared: one VALUES tuple, no DO UPDATE (whose rowid would be another row's),
 * and `id` the table's INTEGER PRIMARY KEY in a rowid table. Returns the length of the SQL
 * to prepare, or 0 to prepare it as written. */
static size_t rowid_returning(sqlite3 *db, const char *sql)
{
	static const char insert[] = "INSERT INTO ", tail[] = " RETURNING id";
	size_t len = strlen(sql), tl = sizeof(tail) - 1;
	if (strncmp(sql, insert, sizeof(insert) - 1) != 0 || len < tl ||
	    strcmp(sql + len - tl, tail) != 0 || strstr(sql, " SELECT ") ||
	    strstr(sql, " DO UPDATE") || strstr(sql, "), ("))
		return 0;
	const char *table = sql + sizeof(insert) - 1;
	size_t tlen = strcspn(table, "( ");
	char name[64];
	if (tlen == 0 || tlen >= sizeof(name))
		return 0;
	memcpy(name, table, tlen);
	name[tlen] = '\0';
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(
		db,
		"SELECT (SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1"
		" AND EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = 'id'"
		" AND pk = 1 AND upper(type) = 'INTEGER')"
		" AND (SELECT wr FROM pragma_table_list(?1)) = 0",
		-1, &q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	bool alias = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 1;
	sqlite3_finalize(q);
	return alias ? len - tl : 0;
}

static sqlite3_stmt *shared_stmt(struct sq_conn *c, enum sql_id id)
{
	sqlite3_stmt *s = c->shared[id];
	if (s)
		return s;
	char *sql = xstrdup(sql_text[id]);
	size_t cut = rowid_returning(c->db, sql);
	if (cut) {
		sql[cut] = '\0';
		c->rowid_returning[id] = true;
	}
	bool quoted = false; /* inside a string literal: left as written */
	for (char *p = sql; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		else if (!quoted && *p == '$' && p[1] >= '0' && p[1] <= '9')
			*p = '?';
	}
	int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		/* The SQL is ours; failing to prepare it is a programming error. */
		log_error("sqlite: cannot prepare %s: %s", sql_name[id], sqlite3_errmsg(c->db));
		abort();
	}
	free(sql);
	c->shared[id] = s;
	return s;
}

static enum store_rc sqd_run(struct store_conn *base, enum sql_id id, struct sql_res *res,
			     const char *fmt, va_list ap)
{
	sqlite3_stmt *s = shared_stmt(SQ(base), id);
	bindv(s, fmt, ap);
	res->handle = s;
	return STORE_OK;
}

static bool sqd_next(struct sql_res *res)
{
	struct sq_conn *c = SQ(res->conn);
	if (res->row > 0) { /* after the id of rowid_returning: the statement ran */
		res->row = 2;
		return false;
	}
	int rc = sqlite3_step(res->handle);
	if (rc == SQLITE_ROW)
		return true;
	if (rc == SQLITE_DONE) {
		res->rc = STORE_OK;
		res->changes = sqlite3_changes64(c->db);
		if (c->rowid_returning[res->id] && res->changes > 0) {
			res->rowid = sqlite3_last_insert_rowid(c->db);
			res->row = 1;
			return true;
		}
	} else {
		res->rc = sqlite_map_rc(c->db, rc, sql_name[res->id]);
	}
	return false;
}

static bool sqd_is_null(const struct sql_res *res, int col)
{
	if (res->row == 1)
		return false;
	return sqlite3_column_type(res->handle, col) == SQLITE_NULL;
}

static int64_t sqd_int64(const struct sql_res *res, int col)
{
	if (res->row == 1) {
		assert(col == 0);
		return res->rowid;
	}
	return sqlite3_column_int64(res->handle, col);
}

static bool sqd_boolean(const struct sql_res *res, int col)
{
	if (res->row == 1)
		return res->rowid != 0;
	return sqlite3_column_int64(res->handle, col) != 0;
}

static const char *sqd_text(const struct sql_res *res, int col)
{
	assert(res->row != 1); /* an id is read as a number */
	return (const char *)sqlite3_column_text(res->handle, col);
}

static void sqd_close(struct sql_res *res)
{
	sq_done(res->handle);
}

static enum store_rc sqd_savepoint(struct store_conn *base, enum sql_savepoint op)
{
	static const enum stmt_id ids[] = {ST_SAVEPOINT, ST_SAVEPOINT_UNDO, ST_SAVEPOINT_RELEASE};
	struct sq_conn *c = SQ(base);
	return sq_exec(c, sq_stmt(c, ids[op]), "savepoint");
}

static const struct sql_driver sqlite_sql = {
    .run = sqd_run,
    .next = sqd_next,
    .is_null = sqd_is_null,
    .int64 = sqd_int64,
    .boolean = sqd_boolean,
    .text = sqd_text,
    .close = sqd_close,
    .savepoint = sqd_savepoint,
    .check_more = sq_check_more,
};

/* ---- connections and pool ---- */

static enum store_rc exec_sql(sqlite3 *db, const char *sql, char *err_buf, size_t err_len)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err_buf, err_len, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* The database file could only be opened read-only (a read-only filesystem, or a file the
 * process may not write). A WAL database is read through its -shm index, which cannot be
 * created there once a clean shutdown removed it; with no -wal file there is nothing beyond
 * the main file to read, so it is reopened immutable: reads work and every write fails with
 * SQLITE_READONLY (503). With a -wal file left (a crash before the filesystem became read-only)
 * the ordinary read-only open is kept, since immutable would skip committed transactions.
 * Takes over `db`; returns the connection to use, or NULL with err_buf filled. */
static sqlite3 *open_read_only(const char *path, sqlite3 *db, char *err_buf, size_t err_len)
{
	char wal[PATH_MAX];
	struct stat sb;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) == 0 && sb.st_size > 0)
		return db;
	sqlite3_close(db);
	struct buf uri = {0};
	buf_puts(&uri, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			buf_printf(&uri, "%%%02X", (unsigned char)*p);
		else
			buf_putc(&uri, *p);
	}
	buf_puts(&uri, "?immutable=1");
	db = NULL;
	int rc = sqlite3_open_v2(
	    uri.data, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, open_vfs);
	buf_free(&uri);
	if (rc != SQLITE_OK) {
		snprintf(err_buf, err_len, "cannot open database %s read-only: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	static bool warned; /* the pool opens its connections one after another, once */
	if (!warned)
		log_warn("sqlite: database not writable: serving it read-only (writes get 503)");
	warned = true;
	return db;
}

struct sq_conn *sq_conn_open(struct sq_store *st, bool create, char *err_buf, size_t err_len)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(st->path, &db, flags, open_vfs);
	if (rc != SQLITE_OK) {
		snprintf(err_buf, err_len, "cannot open database %s: %s", st->path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	bool read_only = !create && sqlite3_db_readonly(db, "main") == 1;
	if (read_only && !(db = open_read_only(st->path, db, err_buf, err_len)))
		return NULL;
	/* cache_size: 8 MiB of pages per connection instead of SQLite's 2 MiB. At 1M clients a
	 * prefix search's 10 rows are scattered over a 1.5 GB file and with 2 MiB nearly every row
	 * fetch was a pread (11 per request, callgrind); with 8 MiB the hot pages stay. It costs
	 * up to 8 MiB of RSS per connection in use, touched as the cache fills (the pool hands out
	 * the most recently returned connection first, so only as many as run at once warm up),
	 * and all of them together at most --sqlite-memory-mib (sqlite_pcache.h). The writer's
	 * is larger (WRITER_CACHE_KIB).
	 * No mmap_size: each connection maps the file on its own, so touched pages would count
	 * toward RSS once per connection, unbounded by the 150 MiB target. */
	for (;;) {
		sqlite3_busy_timeout(db, (int)st->opt.busy_timeout_ms);
		sqlite3_extended_result_codes(db, 1);
		char pragmas[384];
		/* journal_mode is a write: a read-only database keeps the mode it has.
		 * synchronous = NORMAL whatever --sqlite-synchronous says: "full" is kept by the
		 * WAL sync after each group (struct sq_store, write_unlock), not by SQLite. */
		char wal[96] = "";
		if (!read_only)
			snprintf(wal, sizeof(wal),
				 "PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = %lld;",
				 (long long)WAL_KEEP_BYTES);
		snprintf(pragmas, sizeof(pragmas),
			 "%s PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
			 " PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192;",
			 wal);
		rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			break;
		/* A full disk: the WAL index (-shm) that every read of a WAL database goes through
		 * cannot be created, so the database could not even be read. Serve it read-only
		 * (writes 503) rather than not at all; it takes writes again after a restart once
		 * there is room. */
		int primary = rc & 0xff;
		if (!create && !read_only && (primary == SQLITE_IOERR || primary == SQLITE_FULL)) {
			static bool warned; /* once, not per pooled connection */
			if (!warned)
				log_warn("sqlite: cannot write the database (%s): restart once "
					 "there is room",
					 sqlite3_errmsg(db));
			warned = true;
			read_only = true;
			if (!(db = open_read_only(st->path, db, err_buf, err_len)))
				return NULL;
			continue;
		}
		snprintf(err_buf, err_len, "%s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	struct sq_conn *c = xcalloc(1, sizeof(*c));
	c->base.ops = &sqlite_ops;
	c->base.sql = &sqlite_sql;
	c->owner = st;
	c->db = db;
	sqlite3_create_collation_v2(db, "C", SQLITE_UTF8, NULL, collate_bytes, NULL);
	return c;
}

void sq_conn_close(struct sq_conn *c)
{
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
	for (int i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(c->shared[i]);
	sq_search_free(c->search);
	sqlite3_close(c->db);
	free(c);
}

int sqlite_store_schema_latest(void)
{
	return (int)ARRAY_LEN(sqlite_migrations);
}

/* The schema version of the database open on db, read outside any transaction: 0 for a new
 * (empty) database. */
static int schema_version_now(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int version = 0;
	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &s, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return version;
}

/* Before migrating a database from an older schema: a copy of it beside it, named with the
 * version it has (<path>.schema-v<N>.<UTC time>.bak), so that an upgrade that goes wrong can
 * be undone by restoring the copy with the kopilkad that wrote it. No copy of a new database
 * (nothing to lose) or of one only read (it is not migrated). Another process may migrate the
 * file between this copy and our transaction: the copy is then of the old version all the same,
 * and the migration below finds nothing to do. */
static bool backup_before_migration(struct sq_conn *c, char *err_buf, size_t err_len)
{
	int version = schema_version_now(c->db);
	if (version <= 0 || version >= sqlite_store_schema_latest() ||
	    sqlite3_db_readonly(c->db, "main") == 1 || c->owner->opt.skip_migration_backup)
		return true;
	char out[PATH_MAX + 64];
	backup_migration_path(c->owner->path, version, out, sizeof(out));
	struct backup_result res;
	char why[512];
	if (!backup_copy_conn(c->db, out, NULL, NULL, &res, why, sizeof(why))) {
		snprintf(err_buf, err_len,
			 "cannot back up the database (schema version %d) before migrating it to "
			 "version %d, so it is left as it is: %s",
			 version, sqlite_store_schema_latest(), why);
		return false;
	}
	log_info("backed up the database (schema version %d, %lld bytes) to %s before migrating it "
		 "to version %d",
		 version, (long long)res.bytes, out, sqlite_store_schema_latest());
	return true;
}

static bool migrate(struct sq_conn *c, char *err_buf, size_t err_len)
{
	/* A read-only database is served as it is, if it needs no migration. */
	const char *begin = sqlite3_db_readonly(c->db, "main") == 1 ? "BEGIN" : "BEGIN IMMEDIATE";
	if (!backup_before_migration(c, err_buf, err_len))
		return false;
	/* A migration that rebuilds a table (SQLite cannot alter a constraint) drops the old one
	 * while other tables' rows still reference it: foreign keys are off meanwhile (the pragma
	 * is a no-op inside a transaction) and checked before the commit instead. */
	if (exec_sql(c->db, "PRAGMA foreign_keys = OFF", err_buf, err_len) != STORE_OK)
		return false;
	if (exec_sql(c->db, begin, err_buf, err_len) != STORE_OK)
		goto fail;
	if (exec_sql(c->db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		     err_buf, err_len) != STORE_OK)
		goto fail;
	sqlite3_stmt *s = NULL;
	sqlite3_prepare_v2(c->db, "SELECT max(version) FROM schema_version", -1, &s, NULL);
	int version = 0;
	if (s && sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	int latest = (int)ARRAY_LEN(sqlite_migrations);
	if (version > latest) {
		snprintf(err_buf, err_len,
			 "database schema version %d is newer than this kopilkad (%d)", version,
			 latest);
		goto fail;
	}
	for (int v = version; v < latest; v++) {
		if (exec_sql(c->db, sqlite_migrations[v], err_buf, err_len) != STORE_OK)
			goto fail;
		char sql[96];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version) VALUES (%d)",
			 v + 1);
		if (exec_sql(c->db, sql, err_buf, err_len) != STORE_OK)
			goto fail;
		if (version > 0)
			log_info("migrated database schema to version %d", v + 1);
	}
	if (version < latest) {
		sqlite3_stmt *fk = NULL;
		sqlite3_prepare_v2(c->db, "PRAGMA foreign_key_check", -1, &fk, NULL);
		bool broken = !fk || sqlite3_step(fk) != SQLITE_DONE;
		sqlite3_finalize(fk);
		if (broken) {
			snprintf(err_buf, err_len, "schema migration left a broken foreign key");
			goto fail;
		}
	}
	if (exec_sql(c->db, "COMMIT", err_buf, err_len) != STORE_OK)
		goto fail;
	sqlite3_exec(c->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return true;
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(c->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return false;
}

/* Process-wide SQLite settings, before SQLite initializes (sqlite_store_open is the first
 * SQLite call of the process). Memory statistics off: with them on (SQLite's default), every
 * allocation and free of every connection takes one process-wide mutex to keep the global
 * figures (Debian's build has no lookaside: every small allocation is a malloc): 18 of the
 * 30 shared-mutex acquisitions of a prefix search, and 0.08-0.21 futex calls per search on 2
 * cores (docs/PERFORMANCE.md, "Reads without process-wide locks"). Without them SQLite calls malloc
 * directly, and its soft heap limit, which needs them, does nothing: the page caches (almost all of
 * SQLite's memory here) keep to --sqlite-memory-mib through sqlite_pcache.h instead. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	/* Both fail only when SQLite was initialized before: a program that used it first. */
	if (!sqlite_pcache_install())
		log_warn("sqlite: initialized before the store: --sqlite-memory-mib does not "
			 "apply");
	if (!sqlite_malloc_install())
		log_warn("sqlite: initialized before the store: journal chunks are not cached");
	int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (rc != SQLITE_OK)
		log_warn("sqlite: cannot turn memory statistics off (%s): every allocation takes "
			 "a process-wide mutex",
			 sqlite3_errstr(rc));
	rc = sqlite3_initialize();
	if (rc != SQLITE_OK)
		log_warn("sqlite: initialization failed: %s", sqlite3_errstr(rc));
	/* unix with a lock-free WAL-index barrier (sqlite_vfs.h). */
	if (sqlite_vfs_register())
		open_vfs = SQLITE_VFS_NAME;
	else
		log_warn("sqlite: cannot register the %s VFS; using the default", SQLITE_VFS_NAME);
}

void sqlite_store_init(void)
{
	pthread_once(&global_once, global_init);
}

struct store *sqlite_store_open(const char *path, const struct store_options *opt, char *err_buf,
				size_t err_len)
{
	struct sq_store *st = xcalloc(1, sizeof(*st));
	st->base.ops = &sqlite_ops;
	st->path = xstrdup(path);
	st->opt = *opt;
	pthread_mutex_init(&st->write_mu, NULL);
	pthread_mutex_init(&st->jobs_mu, NULL);
	pthread_cond_init(&st->jobs_cv, NULL);
	pthread_mutex_init(&st->sync_mu, NULL);
	pthread_cond_init(&st->sync_cv, NULL);
	pthread_mutex_init(&st->ckpt_mu, NULL);
	pthread_cond_init(&st->ckpt_cv, NULL);
	st->group_max = opt->group_commit_max > 0 ? opt->group_commit_max : 1;
	st->sync_wal = strcmp(opt->synchronous, "normal") != 0;
	st->wal_fd = -1;
	st->ckpt_db_fd = -1;
	pthread_mutex_init(&st->wal_mu, NULL);
	sqlite_store_init();
	/* Every pooled connection may grow an 8 MiB page cache (conn_open); the budget bounds
	 * all of them together, whatever the pool size: only the connections that read much
	 * grow theirs, and once the caches reach the budget each recycles its own pages. One
	 * budget per process, as the memory is: the last store opened sets it. */
	sqlite_pcache_set_budget(opt->sqlite_memory_mib << 20);
	int n = opt->pool_size > 0 ? opt->pool_size : 1;
	pool_init(&st->pool, n);
	for (int i = 0; i < n; i++) {
		struct sq_conn *c = sq_conn_open(st, opt->create && i == 0, err_buf, err_len);
		if (!c)
			goto fail;
		if (i == 0 && !migrate(c, err_buf, err_len)) {
			sq_conn_close(c);
			goto fail;
		}
		pool_add(&st->pool, &c->base);
	}
	st->writer = sq_conn_open(st, false, err_buf, err_len);
	if (!st->writer)
		goto fail;
	/* The writer's cache: every write's pages pass through it (sq_conn_open). Best effort:
	 * with SQLite's default the connection is only slower. */
	char cache[64];
	snprintf(cache, sizeof(cache), "PRAGMA cache_size = -%d", WRITER_CACHE_KIB);
	if (sqlite3_exec(st->writer->db, cache, NULL, NULL, NULL) != SQLITE_OK)
		log_warn("sqlite: %s: %s", cache, sqlite3_errmsg(st->writer->db));
	sq_ckpt_start(st);
	sq_writer_start(st);
	return &st->base;
fail:
	sqlite_ops.close(&st->base);
	return NULL;
}

static void sq_close(struct store *base)
{
	struct sq_store *st = (struct sq_store *)base;
	sq_ckpt_stop(st);
	sq_writer_stop(st); /* after the checkpoint thread, which may end a group too */
	if (st->ckpt_conn)
		sq_conn_close(st->ckpt_conn);
	for (int i = 0; i < st->pool.n_all; i++)
		sq_conn_close((struct sq_conn *)st->pool.all[i]);
	if (st->writer)
		sq_conn_close(st->writer);
	pool_destroy(&st->pool);
	if (st->wal_fd >= 0)
		close(st->wal_fd);
	pthread_mutex_destroy(&st->wal_mu);
	free(st->path);
	pthread_mutex_destroy(&st->write_mu);
	pthread_mutex_destroy(&st->jobs_mu);
	pthread_cond_destroy(&st->jobs_cv);
	pthread_mutex_destroy(&st->sync_mu);
	pthread_cond_destroy(&st->sync_cv);
	pthread_mutex_destroy(&st->ckpt_mu);
	pthread_cond_destroy(&st->ckpt_cv);
	free(st);
}

static struct store_conn *sq_acquire(struct store *base)
{
	struct sq_store *st = (struct sq_store *)base;
	struct sq_conn *c = (struct sq_conn *)pool_take(&st->pool);
	return &c->base;
}

static void sq_release(struct store_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	if (c->in_tx) /* a borrower that forgot to finish: never hand a live transaction on */
		sq_rollback(base);
	struct sq_store *st = c->owner;
	pool_give(&st->pool, &c->base);
}

static void sq_pool_stats(struct store *base, int *size, int *in_use)
{
	struct sq_store *st = (struct sq_store *)base;
	pool_stats(&st->pool, size, in_use);
}

static enum store_rc sq_ping(struct store_conn *base)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = sq_stmt(c, ST_PING);
	int rc = sqlite3_step(s);
	sq_done(s);
	return rc == SQLITE_ROW ? STORE_OK : sqlite_map_rc(c->db, rc, "ping");
}

/* ---- the order counter ---- */

static enum store_rc sq_order_number_next(struct store_conn *base, int64_t merchant_id,
					  int64_t *number_out, int64_t *id_out)
{
	*id_out = 0; /* the insert assigns it */
	/* An UPDATE and a read of the row it left in the cache, not UPDATE ... RETURNING, which
	 * SQLite runs through a temporary table (see rowid_returning). */
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = sq_stmt(c, ST_ORDER_SEQ);
	sqlite3_bind_int64(s, 1, merchant_id);
	int rc = sqlite3_step(s);
	int64_t changed = rc == SQLITE_DONE ? sqlite3_changes64(c->db) : 0;
	sq_done(s);
	if (rc != SQLITE_DONE)
		return sqlite_map_rc(c->db, rc, "order number");
	if (changed == 0)
		return STORE_NOT_FOUND;
	s = sq_stmt(c, ST_ORDER_SEQ_READ);
	sqlite3_bind_int64(s, 1, merchant_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*number_out = sqlite3_column_int64(s, 0);
	sq_done(s);
	return rc == SQLITE_ROW	   ? STORE_OK
	       : rc == SQLITE_DONE ? STORE_NOT_FOUND
				   : sqlite_map_rc(c->db, rc, "order number");
}

/* ---- clients: row locks, the search (sqlite_search.c) ---- */

/* Writers run one at a time: a row lock is the write lock already held, and a client read
 * earlier in this transaction (out->id is set) is current. */
static enum store_rc sq_client_lock(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct client *out)
{
	if (!out || out->id == id)
		return STORE_OK;
	client_clear(out);
	return store_client_get(base, merchant_id, id, out);
}

static enum store_rc sq_client_lock_phone(struct store_conn *base, int64_t merchant_id,
					  const char *phone, struct client *out)
{
	return store_client_find_phone(base, merchant_id, phone, out);
}

static enum store_rc sq_order_lock(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	(void)base, (void)merchant_id, (void)id;
	return STORE_OK;
}

static enum store_rc sq_key_lock(struct store_conn *base, int64_t merchant_id, const char *scope,
				 const char *key)
{
	(void)base, (void)merchant_id, (void)scope, (void)key;
	return STORE_OK;
}

static enum store_rc sq_client_search(struct store_conn *base, int64_t merchant_id,
				      const struct client_query *qr, client_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	return sq_search_run(c->db, &c->search, base, merchant_id, qr, row, ctx);
}

/* ---- check ---- */

/* SQLite's own invariants, after the shared ones (store/sql_check.c): the phone trigram table
 * (sqlite_search.c) and the file's integrity. */
static enum store_rc sq_check_more(struct store_conn *base, store_report_fn report, void *ctx,
				   int64_t *problems_out)
{
	struct sq_conn *c = SQ(base);
	int64_t problems = 0;
	enum store_rc rc = sq_search_check(c->db, report, ctx, &problems);
	if (rc != STORE_OK)
		return rc;
	sqlite3_stmt *s = NULL;
	int src = sqlite3_prepare_v2(c->db,
				     "SELECT integrity_check FROM pragma_integrity_check"
				     " WHERE integrity_check <> 'ok'",
				     -1, &s, NULL);
	if (src != SQLITE_OK)
		return sqlite_map_rc(c->db, src, "check");
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		char line[1024];
		snprintf(line, sizeof(line), "integrity: %s",
			 (const char *)sqlite3_column_text(s, 0));
		problems++;
		report(ctx, line);
	}
	sqlite3_finalize(s);
	if (src != SQLITE_DONE)
		return sqlite_map_rc(c->db, src, "check");
	*problems_out = problems;
	return STORE_OK;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .acquire = sq_acquire,
    .release = sq_release,
    .pool_stats = sq_pool_stats,
    .begin = sq_begin,
    .client_lock = sq_client_lock,
    .client_lock_phone = sq_client_lock_phone,
    .order_lock = sq_order_lock,
    .key_lock = sq_key_lock,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .run_write = sq_run_write,
    .ping = sq_ping,
    .order_number_next = sq_order_number_next,
    .client_search = sq_client_search,
};
