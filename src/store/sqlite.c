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
#include <errno.h>
#include <fcntl.h>
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
#include "store/sqlite_pcache.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_search.h"
#include "store/sqlite_vfs.h"

/* clang-format off */
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
		     " RETURNING order_seq")

/* clang-format on */
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
	struct sq_search *search;	  /* the client search's statements (sqlite_search.c) */
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
	 * group_max members) COMMITs once and, after one WAL sync (below), wakes every member
	 * with the outcome. No member returns before that COMMIT succeeded and was synced, so
	 * an acknowledged write is durable; if the COMMIT (or a statement that takes the whole
	 * transaction with it) or the sync fails, every member gets the error. A member that
	 * rolls back undoes only its own savepoint. Fields below but `queued`, `wal_mu`,
	 * `wal_fd` and `sync_failed` are guarded by write_mu. */
	struct sq_conn *writer;
	int group_max;
	bool group_open; /* BEGIN IMMEDIATE done on writer, COMMIT not yet */
	int group_size;	 /* members waiting for that COMMIT */
	struct gc_member *group_members;
	_Atomic int queued;	  /* writers waiting for write_mu */
	pthread_mutex_t group_mu; /* guards gc_member.done/rc; with group_cv */
	pthread_cond_t group_cv;

	/* The WAL sync outside write_mu. With --sqlite-synchronous full, SQLite's own FULL
	 * mode syncs the WAL inside each COMMIT, with write_mu held, so the next group waited
	 * for the disk too. Every connection runs synchronous=NORMAL instead (the COMMIT only
	 * writes the group's frames; a checkpoint still syncs the WAL before copying it), and
	 * the thread that ended a group syncs the WAL itself after releasing write_mu, while the
	 * next group runs, and only then wakes the members: a 2xx still waits for its frames on
	 * disk. A sync covers every frame written before it, so a later group's sync also
	 * covers an earlier one still syncing, and WAL recovery keeps a prefix of the commits:
	 * durability stays in commit order. The members of finished groups wait in `settle`
	 * (guarded by write_mu) until the thread that releases write_mu takes them
	 * (write_unlock). A failed sync fails its members and every later write (`sync_failed`:
	 * the kernel may have dropped the pages it could not write; restart to recover). */
	bool sync_wal;		  /* --sqlite-synchronous full */
	pthread_mutex_t wal_mu;	  /* guards wal_fd, held through a sync */
	int wal_fd;		  /* the -wal file, opened on the first sync; -1 before */
	struct gc_member *settle; /* members of ended groups, answered at write_unlock */
	bool settle_sync;	  /* one of those groups committed: sync before answering */
	_Atomic bool sync_failed;

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
	int ckpt_db_fd; /* the database file, synced after a pass beside the writers */
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

/* Runs a statement that returns no rows; resets it. */
static enum store_rc exec_stmt(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	enum store_rc out = rc == SQLITE_DONE ? STORE_OK : sqlite_map_rc(c->db, rc, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return out;
}

static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
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
		res->rc = sqlite_map_rc(c->db, rc, sql_name[res->id]);
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
		/* journal_mode is a write: a read-only database keeps the mode it has.
		 * synchronous = NORMAL whatever --sqlite-synchronous says: "full" is kept by the
		 * WAL sync after each group (struct sq_store, write_unlock), not by SQLite. */
		snprintf(pragmas, sizeof(pragmas),
			 "%s PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
			 " PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192;",
			 read_only
			     ? ""
			     : "PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = 67108864;");
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
	sq_search_free(c->search);
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
static void write_unlock(struct sq_store *st);

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
		/* A pass that did not reach the WAL's end leaves the pages it copied unsynced, and
		 * the tail's pass would sync them all with write_mu held (measured: 25-60 ms per
		 * checkpoint, the orders' p99). Synced here, beside the writers, the tail's sync
		 * has only the tail's pages left. */
		if (st->ckpt_db_fd >= 0 && fdatasync(st->ckpt_db_fd) != 0)
			log_warn("sqlite: fdatasync %s: %s", st->path, strerror(errno));
		pthread_mutex_lock(&st->write_mu);
		if (st->group_open && st->group_size > 0)
			group_finish(st, STORE_OK);
		if (!st->group_open)
			ckpt_pass(st);
		write_unlock(st);
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
	st->ckpt_db_fd = open(st->path, O_RDWR | O_CLOEXEC);
	if (pthread_create(&st->ckpt_thread, NULL, ckpt_main, st) != 0)
		goto keep_auto;
	st->ckpt_running = true;
	sqlite3_wal_hook(st->writer->db, wal_grew, st); /* replaces wal_autocheckpoint */
	return;
keep_auto:
	if (st->ckpt_conn)
		conn_close(st->ckpt_conn);
	st->ckpt_conn = NULL;
	if (st->ckpt_db_fd >= 0)
		close(st->ckpt_db_fd);
	st->ckpt_db_fd = -1;
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
	if (st->ckpt_db_fd >= 0)
		close(st->ckpt_db_fd);
	st->ckpt_db_fd = -1;
	if (st->writer)
		sqlite3_wal_hook(st->writer->db, NULL, NULL);
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
	st->sync_wal = strcmp(opt->synchronous, "normal") != 0;
	st->wal_fd = -1;
	st->ckpt_db_fd = -1;
	pthread_mutex_init(&st->wal_mu, NULL);
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
	if (st->wal_fd >= 0)
		close(st->wal_fd);
	pthread_mutex_destroy(&st->wal_mu);
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
 * hands its members, with the outcome, to the write_unlock that follows. Called with
 * write_mu held. */
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
	/* Answered once write_mu is released and the WAL synced (write_unlock). */
	while (m) {
		struct gc_member *next = m->next;
		m->rc = rc;
		m->next = st->settle;
		st->settle = m;
		m = next;
	}
	if (rc == STORE_OK)
		st->settle_sync = st->sync_wal;
	if (ckpt_now) {
		sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		metrics_add(M_DB_CHECKPOINTS_INLINE, 1);
	}
	return rc;
}

/* Makes the WAL's frames durable: fdatasync of the -wal file (what SQLite's FULL mode does
 * at each COMMIT), through a descriptor of our own, opened again should the file have been
 * replaced. Any thread; no lock needed. */
static bool wal_sync(struct sq_store *st)
{
	char wal[PATH_MAX];
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	bool ok = true;
	/* One sync at a time: a second one waiting here is covered by the first only in part
	 * (frames written after it began), so it still runs, on the same descriptor. */
	pthread_mutex_lock(&st->wal_mu);
	struct stat now, held;
	if (st->wal_fd < 0 || stat(wal, &now) != 0 || fstat(st->wal_fd, &held) != 0 ||
	    now.st_ino != held.st_ino || now.st_dev != held.st_dev) {
		if (st->wal_fd >= 0)
			close(st->wal_fd);
		st->wal_fd = open(wal, O_RDWR | O_CLOEXEC);
		if (st->wal_fd < 0) {
			log_error(
			    "sqlite: cannot open %s to sync it: %s; writes are refused until a "
			    "restart",
			    wal, strerror(errno));
			ok = false;
		}
	}
	if (ok && fdatasync(st->wal_fd) != 0) {
		log_error("sqlite: fdatasync %s: %s; writes are refused until a restart", wal,
			  strerror(errno));
		ok = false;
	}
	pthread_mutex_unlock(&st->wal_mu);
	if (ok)
		metrics_add(M_DB_WAL_SYNCS, 1);
	return ok;
}

/* Releases write_mu; then answers the members of the groups that ended under it, after
 * syncing the WAL when one committed (see struct sq_store). */
static void write_unlock(struct sq_store *st)
{
	struct gc_member *m = st->settle;
	bool sync = st->settle_sync;
	st->settle = NULL;
	st->settle_sync = false;
	pthread_mutex_unlock(&st->write_mu);
	if (!m)
		return;
	bool synced = !sync || wal_sync(st);
	if (!synced)
		st->sync_failed = true;
	pthread_mutex_lock(&st->group_mu);
	for (; m; m = m->next) {
		if (!synced && m->rc == STORE_OK)
			m->rc = STORE_FULL;
		m->done = true;
	}
	pthread_cond_broadcast(&st->group_cv);
	pthread_mutex_unlock(&st->group_mu);
}

/* Leaves the writer to whoever queues next: the borrower's transaction is over for it. */
static void writer_leave(struct sq_conn *c)
{
	c->in_tx = false;
	c->writing = NULL;
	if (c->holds_write) {
		c->holds_write = false;
		write_unlock(c->owner);
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
	if (st->sync_failed)
		return STORE_FULL; /* a WAL sync failed (struct sq_store) */
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
			group_finish(st,
				     STORE_ERROR); /* nothing to keep: roll the empty one back */
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
	int rc = sqlite3_step(s);
	done(s);
	return rc == SQLITE_ROW ? STORE_OK : sqlite_map_rc(c->db, rc, "ping");
}

/* ---- the order counter ---- */

static enum store_rc sq_order_number_next(struct store_conn *base, int64_t merchant_id,
					  int64_t *number_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = stmt(c, ST_ORDER_SEQ);
	sqlite3_bind_int64(s, 1, merchant_id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*number_out = sqlite3_column_int64(s, 0);
	done(s);
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
	return sql_client_get(base, merchant_id, id, out);
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
    .order_lock = sq_order_lock,
    .key_lock = sq_key_lock,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .ping = sq_ping,
    SQL_SHARED_OPS,
    .order_number_next = sq_order_number_next,
    .client_search = sq_client_search,
};
