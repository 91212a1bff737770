/* SQLite engine of the storage interface (see store.h and sqlite.h).
 *
 * Each pooled connection keeps its prepared statements for its whole life. Writers open their
 * transaction with BEGIN IMMEDIATE so the write lock is taken before the first read: in WAL
 * mode a deferred transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT. */
#include "store/sqlite.h"
#include "store/columns.h"
#include "store/pool.h"
#include "store/sql.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/metrics.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_vfs.h"

/* Every statement the engine runs, prepared once per connection. */
#define STATEMENTS(X)                                                                              \
	X(BEGIN_READ, "BEGIN")                                                                     \
	X(BEGIN_WRITE, "BEGIN IMMEDIATE")                                                          \
	X(COMMIT, "COMMIT")                                                                        \
	X(ROLLBACK, "ROLLBACK")                                                                    \
	X(PING, "SELECT 1")                                                                        \
	X(SAVEPOINT, "SAVEPOINT sp")                                                               \
	X(SAVEPOINT_UNDO, "ROLLBACK TO sp")                                                        \
	X(SAVEPOINT_RELEASE, "RELEASE sp")                                                         \
	X(MEMBER_BEGIN, "SAVEPOINT member")                                                        \
	X(MEMBER_UNDO, "ROLLBACK TO member")                                                       \
	X(MEMBER_RELEASE, "RELEASE member")                                                        \
	X(ORDER_SEQ, "UPDATE merchants SET order_seq = order_seq + 1 WHERE id = ?"                 \
		     " RETURNING order_seq")                                                       \
	X(TRIGRAM_PROBE, "SELECT count(*) FROM (SELECT 1 FROM client_phone_trigrams"                \
			 " WHERE merchant_id = ? AND tri = ? LIMIT ?)")


#define STMT_ENUM(name, sql) ST_##name,
#define STMT_SQL(name, sql) sql,
enum stmt_id { STATEMENTS(STMT_ENUM) ST__COUNT };
static const char *const stmt_sql[] = {STATEMENTS(STMT_SQL)};

struct sq_conn {
	struct store_conn base;
	struct sq_store *owner;
	sqlite3 *db;
	sqlite3_stmt *stmts[ST__COUNT];
	sqlite3_stmt *shared[SQL__COUNT]; /* the shared statements (store/statements.h) */
	/* Client search shapes: [phone pattern kind + 1][email pattern kind + 1], 0 = none. */
	sqlite3_stmt *search[5][5];
	/* The same through the phone trigram index: [email pattern kind + 1]. */
	sqlite3_stmt *search_trigram[5];
	bool in_tx;
	bool holds_write; /* this connection holds its store's write_mu */
	/* While a write transaction of this borrower is open: the store's writer connection, on
	 * which every operation of the borrower runs (inside the member's savepoint). */
	struct sq_conn *writing;
};

/* A write transaction waiting for the commit of the group it joined (group commit below). */
struct gc_member {
	struct gc_member *next;
	enum store_rc rc;
	bool done;
};

struct sq_store {
	struct store base;
	char *path;
	struct store_options opt;
	struct conn_pool pool;
	/* Writers of this process queue here rather than in SQLite's busy handler, which sleeps
	 * and polls (measured: ~11 ms per order under load); another process on the same file
	 * still meets the busy timeout. */
	pthread_mutex_t write_mu;

	/* Group commit. Every write transaction of the process runs on the one connection
	 * `writer`, as a SAVEPOINT inside a transaction (`group_open`) that several writers
	 * share: a writer that finishes while others queue on write_mu releases its savepoint
	 * and hands the open transaction on; the last of the group (no one queued, or
	 * group_max members) COMMITs once, with one WAL sync, and wakes every member with the
	 * outcome. No member returns before that COMMIT succeeded, so an acknowledged write is
	 * durable; if the COMMIT (or a statement that takes the whole transaction with it)
	 * fails, every member gets the error. A member that rolls back undoes only its own
	 * savepoint. Fields below but `queued` are guarded by write_mu. */
	struct sq_conn *writer;
	int group_max;
	bool group_open;		/* BEGIN IMMEDIATE done on writer, COMMIT not yet */
	int group_size;			/* members waiting for that COMMIT */
	struct gc_member *group_members;
	_Atomic int queued;		/* writers waiting for write_mu */
	pthread_mutex_t group_mu;	/* guards gc_member.done/rc; with group_cv */
	pthread_cond_t group_cv;

	/* Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the COMMIT
	 * that crosses wal_autocheckpoint pages, with write_mu held, so every writer queued
	 * behind that group waited for it (measured: +11 % orders/s and p99 26 -> 14 ms without
	 * it). The writer instead reports the WAL's size after each commit (wal_hook) and a
	 * thread of its own, on its own connection, runs PASSIVE checkpoints beside the
	 * writers once the WAL passes WAL_CKPT_PAGES, the bulk beside them and the short tail
	 * between two groups (so the WAL starts over; see ckpt_main). Should the WAL still pass
	 * WAL_HARD_PAGES (the thread starved, or behind readers), the writer checkpoints itself
	 * after waking its group, as SQLite did: the WAL stays bounded either way. Closing the
	 * store stops the thread before the last connection closes, which checkpoints the whole
	 * WAL. */
	pthread_t ckpt_thread;
	bool ckpt_running;	 /* the thread was started */
	pthread_mutex_t ckpt_mu; /* guards ckpt_wanted, ckpt_stop; with ckpt_cv */
	pthread_cond_t ckpt_cv;
	bool ckpt_wanted;
	bool ckpt_stop;
	bool ckpt_inline; /* guarded by write_mu: the WAL passed WAL_HARD_PAGES */
	struct sq_conn *ckpt_conn;
};

/* WAL sizes, in pages, that start a background checkpoint and that make the writer checkpoint
 * inline. 4x SQLite's wal_autocheckpoint: a longer WAL lets a checkpoint copy a page written
 * by many commits once and takes the tail's sync under write_mu a quarter as often (measured
 * on 2 busy vCPUs: ~10 % more orders/s than at 1,000 pages). 8,000 pages of 4 KiB stay under
 * journal_size_limit (64 MiB). */
#define WAL_CKPT_PAGES 4000
#define WAL_HARD_PAGES 8000

static const struct store_ops sqlite_ops;
/* The VFS connections open through: sqlite_vfs.h's, once global_init registered it (NULL:
 * SQLite's default). */
static const char *open_vfs;
static const struct sql_driver sqlite_sql;
static enum store_rc sq_check_more(struct store_conn *base, store_report_fn report, void *ctx,
				   int64_t *problems_out);

/* Maps an SQLite result code to the interface's. Logs what is unexpected. */
static enum store_rc map_rc(struct sq_conn *c, int rc, const char *what)
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
		log_warn("sqlite: %s: database busy (%s)", what, sqlite3_errmsg(c->db));
		return STORE_RETRY;
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		log_error("sqlite: %s: %s", what, sqlite3_errmsg(c->db));
		return STORE_FULL;
	default:
		log_error("sqlite: %s: %s (%d)", what, sqlite3_errmsg(c->db), rc);
		return STORE_ERROR;
	}
}

/* Returns the connection's prepared statement, reset and unbound, ready for binding. */
static sqlite3_stmt *stmt(struct sq_conn *c, enum stmt_id id)
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

/* Binds arguments by a format: 'i' int64, 'z' int64 with 0 as NULL, 'n' int64 with a negative
 * value as NULL, 's' text (NULL as NULL),
 * 'b' bool as 0/1, 'd' int (enum). */
static void bindv(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	for (int i = 1; *fmt; fmt++, i++) {
		switch (*fmt) {
		case 'i':
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			break;
		case 'z': {
			int64_t v = va_arg(ap, int64_t);
			if (v)
				sqlite3_bind_int64(s, i, v);
			else
				sqlite3_bind_null(s, i);
			break;
		}
		case 'n': {
			int64_t v = va_arg(ap, int64_t);
			if (v >= 0)
				sqlite3_bind_int64(s, i, v);
			else
				sqlite3_bind_null(s, i);
			break;
		}
		case 's': {
			const char *t = va_arg(ap, const char *);
			if (t)
				sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(s, i);
			break;
		}
		case 'b':
		case 'd':
			sqlite3_bind_int(s, i, va_arg(ap, int));
			break;
		default:
			abort();
		}
	}
}

/* Prepares (cached), binds and returns the statement ready to step. */
static sqlite3_stmt *q(struct sq_conn *c, enum stmt_id id, const char *fmt, ...)
{
	sqlite3_stmt *s = stmt(c, id);
	va_list ap;
	va_start(ap, fmt);
	bindv(s, fmt, ap);
	va_end(ap);
	return s;
}

/* Runs a statement that returns no rows; resets it. */
static enum store_rc exec_stmt(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	enum store_rc out = rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return out;
}

/* Steps a statement expected to return at most one row: STORE_OK with the row current (the
 * caller reads columns, then calls done()), STORE_NOT_FOUND (statement already reset). */
static enum store_rc step_one(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	enum store_rc out = rc == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c, rc, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return out;
}

static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int64_t col_i(sqlite3_stmt *s, int i)
{
	return sqlite3_column_int64(s, i);
}

/* The connection an operation runs on: the writer while the borrower's write transaction is
 * open, else the borrowed connection itself. */
static struct sq_conn *SQ(struct store_conn *c)
{
	struct sq_conn *own = (struct sq_conn *)c;
	return own->writing ? own->writing : own;
}

/* ---- the shared statements' driver (store/sql.h) ----
 *
 * The shared SQL is PostgreSQL's dialect. What SQLite spells differently is adapted here and
 * only here: placeholders `$N` become `?N` as each statement is prepared, and the collation
 * "C" (PostgreSQL's bytewise one, named in `lower(... COLLATE "C")`) is registered on every
 * connection as a bytewise comparison (conn_open). */

static int collate_bytes(void *arg, int la, const void *a, int lb, const void *b)
{
	(void)arg;
	int n = memcmp(a, b, (size_t)(la < lb ? la : lb));
	return n ? n : la - lb;
}

static sqlite3_stmt *shared_stmt(struct sq_conn *c, enum sql_id id)
{
	sqlite3_stmt *s = c->shared[id];
	if (s)
		return s;
	char *sql = xstrdup(sql_text[id]);
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
	int rc = sqlite3_step(res->handle);
	if (rc == SQLITE_ROW)
		return true;
	if (rc == SQLITE_DONE) {
		res->rc = STORE_OK;
		res->changes = sqlite3_changes64(c->db);
	} else {
		res->rc = map_rc(c, rc, sql_name[res->id]);
	}
	return false;
}

static bool sqd_is_null(const struct sql_res *res, int col)
{
	return sqlite3_column_type(res->handle, col) == SQLITE_NULL;
}

static int64_t sqd_int64(const struct sql_res *res, int col)
{
	return sqlite3_column_int64(res->handle, col);
}

static bool sqd_boolean(const struct sql_res *res, int col)
{
	return sqlite3_column_int64(res->handle, col) != 0;
}

static const char *sqd_text(const struct sql_res *res, int col)
{
	return (const char *)sqlite3_column_text(res->handle, col);
}

static void sqd_close(struct sql_res *res)
{
	done(res->handle);
}

static enum store_rc sqd_savepoint(struct store_conn *base, enum sql_savepoint op)
{
	static const enum stmt_id ids[] = {ST_SAVEPOINT, ST_SAVEPOINT_UNDO, ST_SAVEPOINT_RELEASE};
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, stmt(c, ids[op]), "savepoint");
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
	int rc = sqlite3_open_v2(uri.data, &db,
				 SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, open_vfs);
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

static struct sq_conn *conn_open(struct sq_store *st, bool create, char *err_buf, size_t err_len)
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
	 * and all of them together at most --sqlite-memory-mib (sqlite_pcache.h).
	 * No mmap_size: each connection maps the file on its own, so touched pages would count
	 * toward RSS once per connection, unbounded by the 150 MiB target. */
	for (;;) {
		sqlite3_busy_timeout(db, (int)st->opt.busy_timeout_ms);
		sqlite3_extended_result_codes(db, 1);
		char pragmas[384];
		/* journal_mode is a write: a read-only database keeps the mode it has. */
		snprintf(pragmas, sizeof(pragmas),
			 "%s PRAGMA synchronous = %s; PRAGMA foreign_keys = ON;"
			 " PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192;",
			 read_only ? "" : "PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = 67108864;",
			 strcmp(st->opt.synchronous, "normal") == 0 ? "NORMAL" : "FULL");
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

static void conn_close(struct sq_conn *c)
{
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
	for (int i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(c->shared[i]);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			sqlite3_finalize(c->search[i][j]);
	for (int i = 0; i < 5; i++)
		sqlite3_finalize(c->search_trigram[i]);
	sqlite3_close(c->db);
	free(c);
}

static bool migrate(struct sq_conn *c, char *err_buf, size_t err_len)
{
	/* A read-only database is served as it is, if it needs no migration. */
	const char *begin = sqlite3_db_readonly(c->db, "main") == 1 ? "BEGIN" : "BEGIN IMMEDIATE";
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
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version) VALUES (%d)", v + 1);
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

/* ---- checkpoints (see struct sq_store) ---- */

/* The writer's wal_hook: called after each of its commits with the WAL's size in pages. */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	struct sq_store *st = arg;
	if (pages < WAL_CKPT_PAGES)
		return SQLITE_OK;
	if (pages >= WAL_HARD_PAGES)
		st->ckpt_inline = true; /* write_mu is held: group_finish runs it */
	pthread_mutex_lock(&st->ckpt_mu);
	if (!st->ckpt_wanted) {
		st->ckpt_wanted = true;
		pthread_cond_signal(&st->ckpt_cv);
	}
	pthread_mutex_unlock(&st->ckpt_mu);
	return SQLITE_OK;
}

static enum store_rc group_finish(struct sq_store *st, enum store_rc rc);

/* One checkpoint pass on the thread's connection. */
static void ckpt_pass(struct sq_store *st)
{
	sqlite3_wal_checkpoint_v2(st->ckpt_conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	metrics_add(M_DB_CHECKPOINTS, 1);
}

static void *ckpt_main(void *arg)
{
	struct sq_store *st = arg;
	pthread_mutex_lock(&st->ckpt_mu);
	for (;;) {
		while (!st->ckpt_wanted && !st->ckpt_stop)
			pthread_cond_wait(&st->ckpt_cv, &st->ckpt_mu);
		if (st->ckpt_stop)
			break;
		st->ckpt_wanted = false;
		pthread_mutex_unlock(&st->ckpt_mu);
		/* The WAL starts over only when a write transaction begins on a WAL whose every
		 * frame is in the database. Under steady writes a pass beside the writers never
		 * gets there: the group open meanwhile commits more. So the bulk is copied beside
		 * the writers, then the short tail with write_mu held, after committing the group
		 * it may find open (its members have all released their savepoints and wait for
		 * that COMMIT); the next group's BEGIN then reuses the WAL from its start. */
		ckpt_pass(st);
		pthread_mutex_lock(&st->write_mu);
		if (st->group_open && st->group_size > 0)
			group_finish(st, STORE_OK);
		if (!st->group_open)
			ckpt_pass(st);
		pthread_mutex_unlock(&st->write_mu);
		pthread_mutex_lock(&st->ckpt_mu);
	}
	pthread_mutex_unlock(&st->ckpt_mu);
	return NULL;
}

/* Starts the checkpoint thread and moves the writer's checkpoints to it; without it (a
 * read-only database, no thread) the writer keeps SQLite's automatic checkpoint. */
static void ckpt_start(struct sq_store *st)
{
	if (sqlite3_db_readonly(st->writer->db, "main") == 1)
		return;
	char err[256];
	st->ckpt_conn = conn_open(st, false, err, sizeof(err));
	if (!st->ckpt_conn || sqlite3_db_readonly(st->ckpt_conn->db, "main") == 1)
		goto keep_auto;
	if (pthread_create(&st->ckpt_thread, NULL, ckpt_main, st) != 0)
		goto keep_auto;
	st->ckpt_running = true;
	sqlite3_wal_hook(st->writer->db, wal_grew, st); /* replaces wal_autocheckpoint */
	return;
keep_auto:
	if (st->ckpt_conn)
		conn_close(st->ckpt_conn);
	st->ckpt_conn = NULL;
}

static void ckpt_stop(struct sq_store *st)
{
	if (!st->ckpt_running)
		return;
	pthread_mutex_lock(&st->ckpt_mu);
	st->ckpt_stop = true;
	pthread_cond_signal(&st->ckpt_cv);
	pthread_mutex_unlock(&st->ckpt_mu);
	pthread_join(st->ckpt_thread, NULL);
	st->ckpt_running = false;
	if (st->writer)
		sqlite3_wal_hook(st->writer->db, NULL, NULL);
}

/* Process-wide SQLite settings, before SQLite initializes (sqlite_store_open is the first
 * SQLite call of the process). Memory statistics off: with them on (SQLite's default), every
 * allocation and free of every connection takes one process-wide mutex to keep the global
 * figures (Debian's build has no lookaside: every small allocation is a malloc): 18 of the
 * 30 shared-mutex acquisitions of a prefix search, and 0.08-0.21 futex calls per search on 2
 * cores (docs/PERFORMANCE.md, "Reads without process-wide locks"). Without them SQLite calls malloc directly, and its soft heap limit,
 * which needs them, does nothing: the page caches (almost all of SQLite's memory here) keep
 * to --sqlite-memory-mib through sqlite_pcache.h instead. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	/* Both fail only when SQLite was initialized before: a program that used it first. */
	if (!sqlite_pcache_install())
		log_warn("sqlite: initialized before the store: --sqlite-memory-mib does not "
			 "apply");
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

struct store *sqlite_store_open(const char *path, const struct store_options *opt, char *err_buf,
				size_t err_len)
{
	struct sq_store *st = xcalloc(1, sizeof(*st));
	st->base.ops = &sqlite_ops;
	st->path = xstrdup(path);
	st->opt = *opt;
	pthread_mutex_init(&st->write_mu, NULL);
	pthread_mutex_init(&st->group_mu, NULL);
	pthread_cond_init(&st->group_cv, NULL);
	pthread_mutex_init(&st->ckpt_mu, NULL);
	pthread_cond_init(&st->ckpt_cv, NULL);
	st->group_max = opt->group_commit_max > 0 ? opt->group_commit_max : 1;
	pthread_once(&global_once, global_init);
	/* Every pooled connection may grow an 8 MiB page cache (conn_open); the budget bounds
	 * all of them together, whatever the pool size: only the connections that read much
	 * grow theirs, and once the caches reach the budget each recycles its own pages. One
	 * budget per process, as the memory is: the last store opened sets it. */
	sqlite_pcache_set_budget(opt->sqlite_memory_mib << 20);
	int n = opt->pool_size > 0 ? opt->pool_size : 1;
	pool_init(&st->pool, n);
	for (int i = 0; i < n; i++) {
		struct sq_conn *c = conn_open(st, opt->create && i == 0, err_buf, err_len);
		if (!c)
			goto fail;
		if (i == 0 && !migrate(c, err_buf, err_len)) {
			conn_close(c);
			goto fail;
		}
		pool_add(&st->pool, &c->base);
	}
	st->writer = conn_open(st, false, err_buf, err_len);
	if (!st->writer)
		goto fail;
	ckpt_start(st);
	return &st->base;
fail:
	sqlite_ops.close(&st->base);
	return NULL;
}

static void sq_close(struct store *base)
{
	struct sq_store *st = (struct sq_store *)base;
	ckpt_stop(st);
	if (st->ckpt_conn)
		conn_close(st->ckpt_conn);
	for (int i = 0; i < st->pool.n_all; i++)
		conn_close((struct sq_conn *)st->pool.all[i]);
	if (st->writer)
		conn_close(st->writer);
	pool_destroy(&st->pool);
	free(st->path);
	pthread_mutex_destroy(&st->write_mu);
	pthread_mutex_destroy(&st->group_mu);
	pthread_cond_destroy(&st->group_cv);
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

static void sq_rollback(struct store_conn *base);

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

/* ---- transactions and group commit (see struct sq_store) ---- */

/* Ends the group's transaction (COMMIT, or ROLLBACK when `rc` is already a failure) and
 * wakes every member with the outcome. Called with write_mu held. */
static enum store_rc group_finish(struct sq_store *st, enum store_rc rc)
{
	struct sq_conn *w = st->writer;
	if (rc == STORE_OK && sqlite3_get_autocommit(w->db))
		rc = STORE_FULL; /* an I/O or disk-full error took the transaction with it */
	if (rc == STORE_OK) {
		int64_t started = mono_us();
		rc = exec_stmt(w, stmt(w, ST_COMMIT), "commit");
		if (rc == STORE_OK)
			metrics_commit(mono_us() - started, st->group_size);
	}
	if (rc != STORE_OK && !sqlite3_get_autocommit(w->db))
		exec_stmt(w, stmt(w, ST_ROLLBACK), "rollback");
	/* After a full disk: no commit succeeds, so no checkpoint is asked for and the WAL keeps
	 * what it holds; move it into the database now, so the WAL is reused from its start (and
	 * cut to journal_size_limit) once space returns. Likewise once the WAL passed
	 * WAL_HARD_PAGES with the checkpoint thread behind (see struct sq_store). */
	bool ckpt_now = rc == STORE_FULL || st->ckpt_inline;
	st->ckpt_inline = false;
	st->group_open = false;
	struct gc_member *m = st->group_members;
	st->group_members = NULL;
	st->group_size = 0;
	pthread_mutex_lock(&st->group_mu);
	for (; m; m = m->next) {
		m->rc = rc;
		m->done = true;
	}
	pthread_cond_broadcast(&st->group_cv);
	pthread_mutex_unlock(&st->group_mu);
	/* After its members are answered: their writes are durable, a checkpoint adds nothing. */
	if (ckpt_now) {
		sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		metrics_add(M_DB_CHECKPOINTS_INLINE, 1);
	}
	return rc;
}

/* Leaves the writer to whoever queues next: the borrower's transaction is over for it. */
static void writer_leave(struct sq_conn *c)
{
	c->in_tx = false;
	c->writing = NULL;
	if (c->holds_write) {
		c->holds_write = false;
		pthread_mutex_unlock(&c->owner->write_mu);
	}
}

static enum store_rc sq_begin(struct store_conn *base, int kind)
{
	struct sq_conn *c = (struct sq_conn *)base;
	assert(!c->in_tx);
	if (kind == STORE_TX_READ) {
		enum store_rc rc = exec_stmt(c, stmt(c, ST_BEGIN_READ), "begin");
		c->in_tx = rc == STORE_OK;
		return rc;
	}
	struct sq_store *st = c->owner;
	struct sq_conn *w = st->writer;
	st->queued++;
	pthread_mutex_lock(&st->write_mu);
	st->queued--;
	c->holds_write = true;
	enum store_rc rc = STORE_OK;
	if (st->group_open && sqlite3_get_autocommit(w->db))
		group_finish(st, STORE_FULL); /* lost with an error: its members fail */
	if (!st->group_open) {
		rc = exec_stmt(w, stmt(w, ST_BEGIN_WRITE), "begin");
		st->group_open = rc == STORE_OK;
	}
	if (rc == STORE_OK)
		rc = exec_stmt(w, stmt(w, ST_MEMBER_BEGIN), "savepoint");
	if (rc != STORE_OK) {
		if (st->group_open && st->group_size == 0)
			group_finish(st, rc);
		else if (st->group_open && st->queued == 0)
			group_finish(st, STORE_OK); /* the members before us still commit */
		writer_leave(c);
		return rc;
	}
	c->in_tx = true;
	c->writing = w;
	return STORE_OK;
}

/* The borrower's part is settled (savepoint released or undone): hand the open transaction to
 * the next writer when one queues and the group has room, else end the group now. */
static void group_pass_or_finish(struct sq_store *st)
{
	if (st->group_size == 0) {
		if (st->group_open)
			group_finish(st, STORE_ERROR); /* nothing to keep: roll the empty one back */
		return;
	}
	if (st->queued > 0 && st->group_size < st->group_max &&
	    !sqlite3_get_autocommit(st->writer->db))
		return;
	group_finish(st, STORE_OK);
}

static enum store_rc sq_commit(struct store_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	if (!c->writing) { /* a read transaction */
		enum store_rc rc = exec_stmt(c, stmt(c, ST_COMMIT), "commit");
		if (rc == STORE_OK)
			c->in_tx = false;
		return rc;
	}
	struct sq_store *st = c->owner;
	struct sq_conn *w = st->writer;
	enum store_rc rc = STORE_FULL;
	if (!sqlite3_get_autocommit(w->db))
		rc = exec_stmt(w, stmt(w, ST_MEMBER_RELEASE), "release savepoint");
	if (rc != STORE_OK)
		return rc; /* still in the transaction: the caller rolls back */
	struct gc_member me = {.next = st->group_members};
	st->group_members = &me;
	st->group_size++;
	group_pass_or_finish(st);
	writer_leave(c);
	pthread_mutex_lock(&st->group_mu);
	while (!me.done)
		pthread_cond_wait(&st->group_cv, &st->group_mu);
	pthread_mutex_unlock(&st->group_mu);
	return me.rc;
}

static void sq_rollback(struct store_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	if (!c->writing) {
		if (c->in_tx && sqlite3_get_autocommit(c->db) == 0)
			exec_stmt(c, stmt(c, ST_ROLLBACK), "rollback");
		c->in_tx = false;
		return;
	}
	struct sq_store *st = c->owner;
	struct sq_conn *w = st->writer;
	if (!sqlite3_get_autocommit(w->db)) {
		exec_stmt(w, stmt(w, ST_MEMBER_UNDO), "rollback to savepoint");
		exec_stmt(w, stmt(w, ST_MEMBER_RELEASE), "release savepoint");
	}
	if (sqlite3_get_autocommit(w->db))
		group_finish(st, STORE_FULL);
	else
		group_pass_or_finish(st);
	writer_leave(c);
}

static enum store_rc sq_ping(struct store_conn *base)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = stmt(c, ST_PING);
	enum store_rc rc = step_one(c, s, "ping");
	if (rc == STORE_OK)
		done(s);
	return rc;
}

/* ---- the order counter ---- */

static enum store_rc sq_order_number_next(struct store_conn *base, int64_t merchant_id,
					  int64_t *number_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_ORDER_SEQ, "i", merchant_id);
	enum store_rc rc = step_one(c, s, "order number");
	if (rc != STORE_OK)
		return rc;
	*number_out = col_i(s, 0);
	done(s);
	return STORE_OK;
}

/* ---- clients: row locks, the search ---- */

/* Writers run one at a time: a row lock is the write lock already held. */
static enum store_rc sq_client_lock(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct client *out)
{
	return out ? sql_client_get(base, merchant_id, id, out) : STORE_OK;
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

/* Appends one search condition on column col for a compiled pattern; binds come in order. */
static void search_cond(struct buf *sql, const char *col, const struct pattern *p)
{
	switch (p->kind) {
	case PATTERN_EXACT:
		buf_printf(sql, " AND %s = ?", col);
		break;
	case PATTERN_PREFIX:
		buf_printf(sql, " AND %s >= ? AND %s < ?", col, col);
		break;
	case PATTERN_ALL:
		buf_printf(sql, " AND %s IS NOT NULL", col);
		break;
	case PATTERN_LIKE:
		buf_printf(sql, " AND %s LIKE ? ESCAPE '\\'", col);
		break;
	}
}

static int search_bind(sqlite3_stmt *s, int i, const struct pattern *p)
{
	switch (p->kind) {
	case PATTERN_EXACT:
	case PATTERN_LIKE:
		sqlite3_bind_text(s, i++, p->text, -1, SQLITE_TRANSIENT);
		break;
	case PATTERN_PREFIX:
		sqlite3_bind_text(s, i++, p->text, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, i++, p->upper, -1, SQLITE_TRANSIENT);
		break;
	case PATTERN_ALL:
		break;
	}
	return i;
}

/* A probe counts a trigram's phones up to this many; see pick_trigram. Measured at 1M
 * clients: a probe of 512 cost more than the walk it was to shorten (~0.15 ms). */
#define TRIGRAM_PROBE_CAP 64

/* Chooses the trigram of an infix phone pattern whose index walk will be short: the first
 * one held by fewer than TRIGRAM_PROBE_CAP of the merchant's phones (the walk then reads at
 * most that many entries), else the last one, which is not probed: all the others are
 * common, so matches are likely dense enough for LIMIT to stop the walk early. (Common
 * trigrams are those of a phone's leading digits, its country and operator code, which is
 * also why the last rather than the first.) *empty_out is set when a probed trigram is held
 * by no phone: then nothing matches. *pick_out is the index into tri (n > 0). */
MUST_CHECK static enum store_rc pick_trigram(struct sq_conn *c, int64_t merchant_id,
					     char tri[][4], size_t n, size_t *pick_out,
					     bool *empty_out)
{
	*empty_out = false;
	*pick_out = n - 1;
	for (size_t i = 0; i + 1 < n; i++) {
		sqlite3_stmt *s = q(c, ST_TRIGRAM_PROBE, "isi", merchant_id, tri[i],
				    (int64_t)TRIGRAM_PROBE_CAP);
		enum store_rc rc = step_one(c, s, "client search probe");
		if (rc != STORE_OK) /* count(*) always gives a row: NOT_FOUND cannot be */
			return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
		int64_t count = sqlite3_column_int64(s, 0);
		done(s);
		if (count < TRIGRAM_PROBE_CAP) {
			*pick_out = i;
			*empty_out = count == 0;
			break;
		}
	}
	return STORE_OK;
}

/* The GLOB form of a LIKE pattern made of digits and '%' only (what a cleaned phone pattern
 * is): '%' becomes '*'. On such patterns and any value the two match the same strings (no
 * letters to fold, no escapes, no GLOB metacharacters), and GLOB, which need not fold case,
 * costs about half as much per index entry (measured on the trigram walk). False, out
 * unspecified, for any other character: the caller then keeps LIKE's own plan. */
static bool digits_glob(const struct pattern *p, char out[PATTERN_MAX + 1])
{
	size_t n = 0;
	for (const char *s = p->text; *s; s++) {
		if (n == PATTERN_MAX || !((*s >= '0' && *s <= '9') || *s == '%'))
			return false;
		out[n++] = *s == '%' ? '*' : *s;
	}
	out[n] = '\0';
	return true;
}

/* The statement of a search whose phone pattern goes through client_phone_trigrams: walk
 * the chosen trigram's entries in (phone, id) order, the pattern (as GLOB, see digits_glob)
 * deciding on each entry's phone (equal to the client's: the triggers keep it so), and fetch
 * the clients of those that match until LIMIT; the order is the index's, no sort. The
 * pattern is bound as (? || ''), not as a bare ?: SQLite 3.40 marks a statement whose LIKE or
 * GLOB pattern is a bare parameter to be prepared again whenever that parameter is bound (for
 * its prefix optimisation, of no use here), which measured ~25% of this query's time. */
static enum store_rc prepare_trigram_search(struct sq_conn *c, const struct client_query *qr,
					    int ek, sqlite3_stmt **out)
{
	if (c->search_trigram[ek]) {
		*out = c->search_trigram[ek];
		return STORE_OK;
	}
	struct buf sql;
	buf_init(&sql);
	buf_puts(&sql, "SELECT " CLIENT_COLS " FROM (SELECT client_id AS t_id, phone AS t_phone"
		       " FROM client_phone_trigrams WHERE merchant_id = ? AND tri = ?"
		       " AND phone GLOB (? || '')) CROSS JOIN clients ON id = t_id"
		       " WHERE merchant_id = ?");
	if (qr->email)
		search_cond(&sql, "email_lc", qr->email);
	buf_puts(&sql, " ORDER BY t_phone, t_id LIMIT ? OFFSET ?");
	sqlite3_stmt *s = NULL;
	int prc = sqlite3_prepare_v3(c->db, sql.data, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	buf_free(&sql);
	if (prc != SQLITE_OK)
		return map_rc(c, prc, "client search");
	c->search_trigram[ek] = *out = s;
	return STORE_OK;
}

static enum store_rc sq_client_search(struct store_conn *base, int64_t merchant_id,
				      const struct client_query *qr, client_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	/* One statement per shape of the query (which patterns, of which kind), prepared once
	 * per connection. The order follows API.md 2.1 and is served by an index: an infix
	 * phone pattern with a literal run of 3 or more digits by the trigram index, every other
	 * shape by clients_phone / clients_email (a prefix as a range; a pattern without such a
	 * run, %12% or %1%2%, is dense, so the walk in phone order meets LIMIT matches soon). */
	int pk = qr->phone ? (int)qr->phone->kind + 1 : 0;
	int ek = qr->email ? (int)qr->email->kind + 1 : 0;
	char tri[PATTERN_TRIGRAMS_MAX][4], glob[PATTERN_MAX + 1];
	size_t n_tri = qr->phone ? pattern_trigrams(qr->phone, tri, PATTERN_TRIGRAMS_MAX) : 0;
	if (n_tri > 0 && !digits_glob(qr->phone, glob))
		n_tri = 0;
	sqlite3_stmt *s = NULL;
	enum store_rc rc = STORE_OK;
	int i = 1;
	if (n_tri > 0) {
		bool empty;
		size_t t;
		rc = pick_trigram(c, merchant_id, tri, n_tri, &t, &empty);
		if (rc != STORE_OK)
			return rc;
		if (empty)
			return STORE_OK;
		rc = prepare_trigram_search(c, qr, ek, &s);
		if (rc != STORE_OK)
			return rc;
		sqlite3_bind_int64(s, i++, merchant_id);
		sqlite3_bind_text(s, i++, tri[t], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, i++, glob, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, i++, merchant_id);
	} else {
		s = c->search[pk][ek];
		if (!s) {
			struct buf sql;
			buf_init(&sql);
			buf_puts(&sql, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = ?");
			if (qr->phone)
				search_cond(&sql, "phone", qr->phone);
			if (qr->email)
				search_cond(&sql, "email_lc", qr->email);
			buf_puts(&sql, qr->phone   ? " ORDER BY phone, id"
				       : qr->email ? " ORDER BY email_lc, id"
						   : " ORDER BY id");
			buf_puts(&sql, " LIMIT ? OFFSET ?");
			int prc = sqlite3_prepare_v3(c->db, sql.data, -1, SQLITE_PREPARE_PERSISTENT,
						     &s, NULL);
			buf_free(&sql);
			if (prc != SQLITE_OK)
				return map_rc(c, prc, "client search");
			c->search[pk][ek] = s;
		}
		sqlite3_bind_int64(s, i++, merchant_id);
		if (qr->phone)
			i = search_bind(s, i, qr->phone);
	}
	if (qr->email)
		i = search_bind(s, i, qr->email);
	sqlite3_bind_int64(s, i++, qr->limit);
	sqlite3_bind_int64(s, i++, qr->offset);
	int src;
	struct sql_res res = {.conn = base, .handle = s};
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		struct client cl = {0};
		sql_read_client(&res, &cl);
		bool more = row(ctx, &cl);
		client_clear(&cl);
		if (!more)
			break;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = map_rc(c, src, "client search");
	done(s);
	return rc;
}


/* ---- check ---- */

/* SQLite's own invariants, after the shared ones (store/sql_check.c); each query returns one
 * row per violation as a single text column describing it. */
static const char *const check_queries[] = {
	/* client_phone_trigrams holds exactly the distinct trigrams of every client's phone (the
	 * infix search trusts it to find every match). Compared as a count and a checksum of
	 * (merchant, client, trigram, phone) over both sides, two scans without lookups (about
	 * 15 s at 1M clients, where row-by-row lookups took 30 s); each row's trigram must also
	 * occur in its phone. A position counts on the clients side only where its trigram
	 * first occurs in the phone, as the table keeps one row per distinct trigram. */
	"SELECT printf('phone search index: %d rows (checksum %d) where the phones of clients give"
	" %d (checksum %d)', t.n, t.h, c.n, c.h) FROM"
	" (SELECT count(*) AS n, coalesce(sum(((client_id % 1000003) * 1000"
	"  + cast(tri AS INTEGER)) % 1000000007 * ((cast(phone AS INTEGER) + merchant_id)"
	"  % 1000003 + 1) % 1000000007), 0) AS h FROM client_phone_trigrams) t,"
	" (SELECT count(*) AS n, coalesce(sum(((c.id % 1000003) * 1000"
	"  + cast(substr(c.phone, p.n, 3) AS INTEGER)) % 1000000007"
	"  * ((cast(c.phone AS INTEGER) + c.merchant_id) % 1000003 + 1) % 1000000007), 0) AS h"
	"  FROM clients c INDEXED BY clients_phone JOIN trigram_positions p"
	"  ON p.n <= length(c.phone) - 2 WHERE c.phone IS NOT NULL"
	"  AND instr(c.phone, substr(c.phone, p.n, 3)) = p.n) c"
	" WHERE t.n <> c.n OR t.h <> c.h",
	"SELECT printf('phone search index: trigram %s is not in phone %s of client %d', tri,"
	" phone, client_id) FROM client_phone_trigrams WHERE instr(phone, tri) = 0",
	"SELECT printf('integrity: %s', integrity_check) FROM pragma_integrity_check"
	" WHERE integrity_check <> 'ok'",
};

static enum store_rc sq_check_more(struct store_conn *base, store_report_fn report, void *ctx,
				   int64_t *problems_out)
{
	struct sq_conn *c = SQ(base);
	int64_t problems = 0;
	for (size_t i = 0; i < ARRAY_LEN(check_queries); i++) {
		sqlite3_stmt *s = NULL;
		int rc = sqlite3_prepare_v2(c->db, check_queries[i], -1, &s, NULL);
		if (rc != SQLITE_OK)
			return map_rc(c, rc, "check");
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			problems++;
			report(ctx, (const char *)sqlite3_column_text(s, 0));
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return map_rc(c, rc, "check");
	}
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
	.order_lock = sq_order_lock,
	.key_lock = sq_key_lock,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.ping = sq_ping,
	SQL_SHARED_OPS,
	.order_number_next = sq_order_number_next,
	.client_search = sq_client_search,
};
