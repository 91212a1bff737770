/* PostgreSQL engine of the storage interface (see store.h and pg.h).
 *
 * Each pooled connection prepares a statement the first time it runs it and keeps it for its
 * life; parameters travel as text. Writes are of two kinds (store.h enum store_tx).
 * STORE_TX_ROWS, the money writes (orders, refunds, holds, write-offs, shares): READ COMMITTED,
 * the empty table write_lock taken in ROW EXCLUSIVE mode (which they share), and row locks on
 * what they decide from, taken before reading it: the client (client_lock, FOR NO KEY UPDATE,
 * so others still insert rows that reference it), the refunded sale (order_lock), the order's
 * identity and the Idempotency-Key (key_lock, a transaction advisory lock). Each statement
 * reads what committed before it, so what follows a lock reads the locked rows as they are,
 * and writes of different clients run side by side on a node and across nodes. Why not
 * SERIALIZABLE with row locks: a row lock on a client another write updated after our
 * snapshot fails with 40001, and the predicate locks of small tables fail unrelated clients;
 * every contended client would cost a rerun. Order numbers come from a sequence per merchant
 * (schema 12), never a row that every order of the merchant would lock until commit.
 * STORE_TX_WRITE, every other write: SERIALIZABLE after write_lock in EXCLUSIVE mode, taken
 * before the snapshot, so it runs alone on fresh data as under SQLite's BEGIN IMMEDIATE, after
 * the row writers in flight. What still fails (40001, 40P01, a lock wait past
 * --busy-timeout-ms) becomes STORE_RETRY, and the caller reruns the whole write.
 * Reads that need one consistent view run REPEATABLE READ READ ONLY and never wait for writers.
 *
 * In PostgreSQL an error aborts the whole transaction, while callers rely on an operation
 * answering STORE_CONFLICT and the transaction going on (a coupon code drawn again, a client
 * registered by phone alone). So no operation lets a uniqueness error happen inside a
 * transaction: the inserts that may clash use ON CONFLICT DO NOTHING and report CONFLICT when
 * no row came back, and an operation of several statements that must undo its first ones on
 * a clash runs inside a savepoint. */
#include "store/pg.h"
#include "store/pg_engine.h"
#include "store/pool.h"

#include <assert.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/metrics.h"
#include "store/pg_schema.h"

/* Key of the advisory lock that makes two nodes starting at once migrate one after the other
 * ("kopilka" in ASCII). */
#define MIGRATE_LOCK_KEY 0x6b6f70696c6b61LL

static const char *const stmt_sql[] = {STATEMENTS(STMT_SQL)};
static const char *const stmt_names[] = {STATEMENTS(STMT_NAME)};

struct pg_store {
	struct store base;
	char *uri;
	struct store_options opt;
	struct conn_pool pool;
};

static const struct store_ops pg_ops;
static const struct sql_driver pg_sql;

static struct pg_conn *PG(struct store_conn *c)
{
	return (struct pg_conn *)c;
}

/* Prepares a statement of one of the engine's two tables on this connection unless *done,
 * under its name (prefix and id), written to name. */
static enum store_rc ready(struct pg_conn *c, bool *done, char prefix, int id, const char *sql,
			   const char *what, char name[16])
{
	snprintf(name, 16, "%c%d", prefix, id);
	if (*done)
		return STORE_OK;
	enum store_rc rc = pg_prepare(c, name, sql, what);
	if (rc == STORE_OK)
		*done = true;
	return rc;
}

/* Runs statement id with the parameters of the format (pg_params). On success *out, when not
 * NULL, holds the result, which the caller PQclear()s. */
static enum store_rc q(struct pg_conn *c, enum stmt_id id, PGresult **out, const char *fmt, ...)
{
	char name[16];
	enum store_rc rc =
	    ready(c, &c->prepared[id], 'k', (int)id, stmt_sql[id], stmt_names[id], name);
	if (rc != STORE_OK)
		return rc;
	metrics_add(M_DB_STATEMENTS, 1);
	struct params p = {0};
	va_list ap;
	va_start(ap, fmt);
	pg_params(&p, fmt, ap);
	va_end(ap);
	return pg_run_prepared(c, name, stmt_names[id], &p, out);
}

static bool col_b(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	return v[0] == 't' || v[0] == '1';
}

/* One-row results: STORE_OK with *out holding the row (the caller PQclear()s it), or
 * STORE_NOT_FOUND when the statement returned no row (nothing to free). */
static enum store_rc one_row(enum store_rc rc, PGresult **res)
{
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

/* ---- the shared statements' driver (store/sql.h) ----
 *
 * The shared SQL is written in this engine's dialect: a statement is prepared under its own
 * name ("s" and its id) the first time a connection runs it, and its whole result is fetched
 * at once; next() walks its rows. */

/* Readies shared statement id on this connection (its name to name) and its parameters. */
static enum store_rc shared_ready(struct pg_conn *c, enum sql_id id, char name[16],
				  struct params *p, const char *fmt, va_list ap)
{
	enum store_rc rc =
	    ready(c, &c->shared_prepared[id], 's', (int)id, sql_text[id], sql_name[id], name);
	if (rc == STORE_OK)
		pg_params(p, fmt, ap);
	return rc;
}

/* ---- a read sent ahead (sql_read_ahead) ---- */

/* The arguments as one key, for a run to know it asks what was read ahead; false when they
 * do not fit (the read is then not sent ahead). */
static bool args_key(const struct params *p, char *out, size_t cap)
{
	size_t len = 0;
	for (int i = 0; i < p->n; i++) {
		const char *v = p->values[i] ? p->values[i] : "\x1e"; /* NULL */
		size_t n = strlen(v);
		if (len + n + 2 > cap)
			return false;
		memcpy(out + len, v, n);
		len += n;
		out[len++] = '\x1f';
	}
	out[len] = '\0';
	return true;
}

static void ahead_drop(struct pg_conn *c)
{
	PQclear(c->ahead_res);
	c->ahead_res = NULL;
	c->ahead = false;
}

static enum store_rc pgd_read_ahead(struct store_conn *base, enum sql_id id, const char *fmt,
				    va_list ap)
{
	struct pg_conn *c = PG(base);
	char name[16];
	struct params p = {0};
	ahead_drop(c);
	enum store_rc rc = shared_ready(c, id, name, &p, fmt, ap);
	if (rc != STORE_OK || !args_key(&p, c->ahead_args, sizeof(c->ahead_args)))
		return rc;
	rc = pg_pipe_send(c, name, NULL, sql_name[id], &p);
	if (rc != STORE_OK)
		return rc;
	c->piped_keep[c->piped - 1] = &c->ahead_res;
	c->ahead = true;
	c->ahead_id = (int)id;
	return STORE_OK;
}

/* The answer read ahead for statement id with arguments p, taken (NULL: none): it is read
 * with what the pipeline holds if it is still there. */
static enum store_rc ahead_take(struct pg_conn *c, enum sql_id id, const struct params *p,
				PGresult **out)
{
	char key[sizeof(c->ahead_args)];
	if (!c->ahead || c->ahead_id != (int)id || !args_key(p, key, sizeof(key)) ||
	    strcmp(key, c->ahead_args) != 0)
		return STORE_OK;
	enum store_rc rc = pg_pipe_flush(c);
	*out = c->ahead_res;
	c->ahead_res = NULL;
	c->ahead = false;
	return rc;
}

static enum store_rc pgd_run(struct store_conn *base, enum sql_id id, struct sql_res *res,
			     const char *fmt, va_list ap)
{
	struct pg_conn *c = PG(base);
	char name[16];
	struct params p = {0};
	PGresult *r = NULL;
	enum store_rc rc = shared_ready(c, id, name, &p, fmt, ap);
	if (rc == STORE_OK)
		rc = ahead_take(c, id, &p, &r);
	if (rc == STORE_OK && !r)
		rc = pg_run_prepared(c, name, sql_name[id], &p, &r);
	if (rc != STORE_OK) {
		PQclear(r);
		return rc;
	}
	res->handle = r;
	res->row = -1;
	res->rows = PQntuples(r);
	res->changes = strtoll(PQcmdTuples(r), NULL, 10);
	return STORE_OK;
}

static enum store_rc pgd_send(struct store_conn *base, enum sql_id id, int64_t *id_out,
			      const char *fmt, va_list ap)
{
	struct pg_conn *c = PG(base);
	char name[16];
	struct params p = {0};
	enum store_rc rc = shared_ready(c, id, name, &p, fmt, ap);
	if (rc == STORE_OK)
		rc = pg_pipe_send(c, name, NULL, sql_name[id], &p);
	if (rc == STORE_OK)
		c->piped_id[c->piped - 1] = id_out;
	return rc;
}

static enum store_rc pgd_sync(struct store_conn *base)
{
	return pg_pipe_flush(PG(base));
}

static bool pgd_next(struct sql_res *res)
{
	res->rc = STORE_OK;
	return ++res->row < res->rows;
}

static bool pgd_is_null(const struct sql_res *res, int col)
{
	return PQgetisnull(res->handle, res->row, col);
}

static int64_t pgd_int64(const struct sql_res *res, int col)
{
	return pg_col_int(res->handle, res->row, col);
}

static bool pgd_boolean(const struct sql_res *res, int col)
{
	return col_b(res->handle, res->row, col);
}

static const char *pgd_text(const struct sql_res *res, int col)
{
	return PQgetisnull(res->handle, res->row, col) ? NULL
						       : PQgetvalue(res->handle, res->row, col);
}

static void pgd_close(struct sql_res *res)
{
	PQclear(res->handle);
}

static enum store_rc pgd_savepoint(struct store_conn *base, enum sql_savepoint op)
{
	static const char *const sql[] = {"SAVEPOINT op", "ROLLBACK TO SAVEPOINT op",
					  "RELEASE SAVEPOINT op"};
	return pg_exec_simple(PG(base), sql[op], "savepoint", NULL);
}

static const struct sql_driver pg_sql = {
    .run = pgd_run,
    .send = pgd_send,
    .sync = pgd_sync,
    .read_ahead = pgd_read_ahead,
    .next = pgd_next,
    .is_null = pgd_is_null,
    .int64 = pgd_int64,
    .boolean = pgd_boolean,
    .text = pgd_text,
    .close = pgd_close,
    .savepoint = pgd_savepoint,
};

/* ---- connections and pool ---- */

static void notice_to_log(void *arg, const char *message)
{
	(void)arg;
	int len = (int)strcspn(message, "\n");
	log_debug("postgres: %.*s", len, message);
}

/* Session settings, again after every reconnect. lock_timeout plays SQLite's busy timeout;
 * synchronous_commit is forced on because a 2xx promises a durable commit. */
static bool conn_setup(struct pg_conn *c, char *err_buf, size_t err_len)
{
	PQsetNoticeProcessor(c->db, notice_to_log, NULL);
	int64_t ms = c->owner->opt.busy_timeout_ms > 0 ? c->owner->opt.busy_timeout_ms : 1;
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SET lock_timeout = %lld; SET synchronous_commit = on;"
		 " SET client_encoding = 'UTF8'; SET standard_conforming_strings = on;"
		 " SET default_transaction_isolation = 'read committed'",
		 (long long)ms);
	PGresult *res = PQexec(c->db, sql);
	bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(err_buf, err_len, "cannot configure the PostgreSQL session: %.*s",
			 (int)strcspn(PQerrorMessage(c->db), "\n"), PQerrorMessage(c->db));
	PQclear(res);
	c->piped = 0;
	memset(c->prepared, 0, sizeof(c->prepared));
	memset(c->shared_prepared, 0, sizeof(c->shared_prepared));
	memset(c->search_prepared, 0, sizeof(c->search_prepared));
	return ok;
}

static struct pg_conn *conn_open(struct pg_store *st, char *err_buf, size_t err_len)
{
	/* Our defaults first: the URI's own parameters, expanded from dbname, override them. */
	const char *const keys[] = {"application_name", "connect_timeout", "dbname", NULL};
	const char *const values[] = {"kopilkad", "10", st->uri, NULL};
	PGconn *db = PQconnectdbParams(keys, values, 1);
	if (!db) {
		snprintf(err_buf, err_len, "cannot connect to PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(db) != CONNECTION_OK) {
		snprintf(err_buf, err_len, "cannot connect to PostgreSQL: %.*s",
			 (int)strcspn(PQerrorMessage(db), "\n"), PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	struct pg_conn *c = xcalloc(1, sizeof(*c));
	c->base.ops = &pg_ops;
	c->base.sql = &pg_sql;
	c->owner = st;
	c->db = db;
	if (!conn_setup(c, err_buf, err_len)) {
		PQfinish(db);
		free(c);
		return NULL;
	}
	return c;
}

static void conn_close(struct pg_conn *c)
{
	PQfinish(c->db);
	free(c);
}

/* Brings the schema to the current version in one transaction under an advisory lock, so
 * that of two nodes starting at once one migrates and the other then finds it done. */
static bool migrate(struct pg_conn *c, bool create, char *err_buf, size_t err_len)
{
	PGresult *res = NULL;
	char sql[128];
	int version = 0, latest = (int)ARRAY_LEN(pg_migrations);
	bool exists;
	if (pg_exec_simple(c, "BEGIN", "migrate", NULL) != STORE_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", MIGRATE_LOCK_KEY);
	if (pg_exec_simple(c, sql, "migrate lock", NULL) != STORE_OK)
		goto fail;
	/* READ COMMITTED: this statement sees what a node that held the lock before committed. */
	if (pg_exec_simple(
		c, "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN -1 ELSE 0 END",
		"migrate", &res) != STORE_OK)
		goto fail;
	exists = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	PQclear(res);
	res = NULL;
	if (!exists) {
		if (!create) {
			snprintf(
			    err_buf, err_len,
			    "the database has no kopilka schema; create it with kopilkad init");
			goto rollback;
		}
		if (pg_exec_simple(c, "CREATE TABLE schema_version (version INTEGER NOT NULL)",
				   "migrate", NULL) != STORE_OK)
			goto fail;
	} else {
		if (pg_exec_simple(c, "SELECT coalesce(max(version), 0) FROM schema_version",
				   "migrate", &res) != STORE_OK)
			goto fail;
		version = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
	}
	if (version > latest) {
		snprintf(err_buf, err_len,
			 "database schema version %d is newer than this kopilkad (%d)", version,
			 latest);
		goto rollback;
	}
	for (int v = version; v < latest; v++) {
		if (pg_exec_simple(c, pg_migrations[v], "migration", NULL) != STORE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version) VALUES (%d)",
			 v + 1);
		if (pg_exec_simple(c, sql, "migrate", NULL) != STORE_OK)
			goto fail;
		if (version > 0)
			log_info("migrated database schema to version %d", v + 1);
	}
	if (pg_exec_simple(c, "COMMIT", "migrate commit", NULL) != STORE_OK)
		goto fail;
	return true;
fail:
	snprintf(err_buf, err_len, "cannot migrate the database schema: %.*s",
		 (int)strcspn(PQerrorMessage(c->db), "\n"), PQerrorMessage(c->db));
rollback:
	pg_exec_simple(c, "ROLLBACK", "migrate rollback", NULL);
	return false;
}

struct store *pg_store_open(const char *uri, const struct store_options *opt, char *err_buf,
			    size_t err_len)
{
	struct pg_store *st = xcalloc(1, sizeof(*st));
	st->base.ops = &pg_ops;
	st->uri = xstrdup(uri);
	st->opt = *opt;
	int n = opt->pool_size > 0 ? opt->pool_size : 1;
	pool_init(&st->pool, n);
	for (int i = 0; i < n; i++) {
		struct pg_conn *c = conn_open(st, err_buf, err_len);
		if (!c)
			goto fail;
		if (i == 0 && !migrate(c, opt->create, err_buf, err_len)) {
			conn_close(c);
			goto fail;
		}
		pool_add(&st->pool, &c->base);
	}
	return &st->base;
fail:
	pg_ops.close(&st->base);
	return NULL;
}

static void pg_close(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;
	for (int i = 0; i < st->pool.n_all; i++)
		conn_close((struct pg_conn *)st->pool.all[i]);
	pool_destroy(&st->pool);
	free(st->uri);
	free(st);
}

static struct store_conn *pg_acquire(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;
	struct pg_conn *c = (struct pg_conn *)pool_take(&st->pool);
	if (PQstatus(c->db) == CONNECTION_BAD || c->broken) {
		/* Lost since its last use (server restart, network), or left out of step by its
		 * pipeline: try once to reconnect. If it fails the borrower's operations fail with
		 * STORE_ERROR and the next borrower tries again. */
		log_warn("postgres: connection lost; reconnecting");
		c->broken = false;
		PQreset(c->db);
		char err[256];
		if (PQstatus(c->db) != CONNECTION_OK)
			pg_log(LOG_ERROR, "reconnect", NULL, PQerrorMessage(c->db));
		else if (!conn_setup(c, err, sizeof(err)))
			log_error("postgres: %s", err);
		else
			log_info("postgres: reconnected");
	}
	return &c->base;
}

static void pg_release(struct store_conn *base)
{
	struct pg_conn *c = PG(base);
	(void)pg_pipe_flush(c);
	PGTransactionStatusType ts = PQtransactionStatus(c->db);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
		/* A borrower that forgot to finish: never hand a live transaction on. */
		pg_exec_simple(c, "ROLLBACK", "rollback", NULL);
	}
	c->in_tx = false;
	ahead_drop(c);
	struct pg_store *st = c->owner;
	pool_give(&st->pool, &c->base);
}

static void pg_pool_stats(struct store *base, int *size, int *in_use)
{
	struct pg_store *st = (struct pg_store *)base;
	pool_stats(&st->pool, size, in_use);
}

/* ---- transactions ---- */

static enum store_rc pg_begin(struct store_conn *base, int kind)
{
	struct pg_conn *c = PG(base);
	assert(!c->in_tx);
	/* LOCK TABLE takes no snapshot, so the writer's snapshot is taken after it holds the
	 * lock and sees every write committed before (PostgreSQL's documented way to lock
	 * before reading at REPEATABLE READ or SERIALIZABLE). A row writer takes write_lock in
	 * ROW EXCLUSIVE mode, which row writers share and an EXCLUSIVE writer waits for (and
	 * is waited for by), and reads at READ COMMITTED: each statement sees what committed
	 * before it, so what it reads after its row lock is the locked rows as they are.
	 * Both go down the pipeline with the transaction's first statement. */
	static const char *const begin[] = {
	    [STORE_TX_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    [STORE_TX_WRITE] = "BEGIN ISOLATION LEVEL SERIALIZABLE",
	    [STORE_TX_ROWS] = "BEGIN ISOLATION LEVEL READ COMMITTED",
	};
	static const char *const lock[] = {
	    [STORE_TX_READ] = NULL,
	    [STORE_TX_WRITE] = "LOCK TABLE write_lock IN EXCLUSIVE MODE",
	    [STORE_TX_ROWS] = "LOCK TABLE write_lock IN ROW EXCLUSIVE MODE",
	};
	assert(kind >= STORE_TX_READ && kind <= STORE_TX_ROWS);
	ahead_drop(c); /* what an earlier transaction read ahead and never took */
	const struct params none = {0};
	enum store_rc rc = pg_pipe_send(c, NULL, begin[kind], "begin", &none);
	if (rc == STORE_OK && lock[kind])
		rc = pg_pipe_send(c, NULL, lock[kind], "begin", &none);
	if (rc != STORE_OK) {
		/* The caller rolls back only what began: end a half-begun transaction here. */
		(void)pg_pipe_flush(c);
		PGTransactionStatusType ts = PQtransactionStatus(c->db);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
			pg_exec_simple(c, "ROLLBACK", "rollback", NULL);
		return rc;
	}
	c->in_tx = true;
	c->writing = kind != STORE_TX_READ;
	return STORE_OK;
}

static enum store_rc pg_commit(struct store_conn *base)
{
	struct pg_conn *c = PG(base);
	PGresult *res = NULL;
	int64_t started = mono_us();
	enum store_rc rc;
	if (c->piped) {
		/* COMMIT after what the pipeline holds, in its round trip. */
		const struct params none = {0};
		rc = pg_pipe_send(c, NULL, "COMMIT", "commit", &none);
		if (rc == STORE_OK)
			rc = pg_pipe_sync(c, true, &res);
	} else if (PQtransactionStatus(c->db) == PQTRANS_INERROR) {
		/* COMMIT of an aborted transaction "succeeds" as a rollback: never report it. */
		log_error("postgres: commit of a failed transaction; rolled back");
		pg_exec_simple(c, "ROLLBACK", "rollback", NULL);
		c->in_tx = false;
		return STORE_ERROR;
	} else {
		rc = pg_exec_simple(c, "COMMIT", "commit", &res);
	}
	if (rc == STORE_OK) {
		if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			log_error("postgres: commit answered %s", PQcmdStatus(res));
			rc = STORE_ERROR;
		}
		PQclear(res);
	}
	if (rc == STORE_OK && c->writing)
		metrics_commit(mono_us() - started, 1);
	/* After COMMIT the transaction is over whatever it answered (a failed COMMIT rolls
	 * back), unless the connection broke, or a statement before it in the pipeline failed
	 * and the COMMIT never ran: then it is rolled back here. */
	PGTransactionStatusType ts = PQtransactionStatus(c->db);
	if (rc != STORE_OK && (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR))
		pg_exec_simple(c, "ROLLBACK", "rollback", NULL);
	c->in_tx = false;
	return rc;
}

static void pg_rollback(struct store_conn *base)
{
	struct pg_conn *c = PG(base);
	(void)pg_pipe_flush(c);
	PGTransactionStatusType ts = PQtransactionStatus(c->db);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		pg_exec_simple(c, "ROLLBACK", "rollback", NULL);
	c->in_tx = false;
}

static enum store_rc pg_ping(struct store_conn *base)
{
	struct pg_conn *c = PG(base);
	PGresult *res = NULL;
	enum store_rc rc = one_row(q(c, ST_PING, &res, ""), &res);
	PQclear(res);
	return rc;
}

/* ---- the order counter ---- */

static enum store_rc pg_order_number_next(struct store_conn *base, int64_t merchant_id,
					  int64_t *number_out, int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_ORDER_SEQ, &r, "i", merchant_id), &r);
	if (rc != STORE_OK)
		return rc;
	*number_out = pg_col_int(r, 0, 0);
	*id_out = pg_col_int(r, 0, 1);
	PQclear(r);
	return STORE_OK;
}

/* ---- clients: row locks, the search ---- */

/* Row locks (store.h): FOR NO KEY UPDATE, so that rows referencing the locked one (their
 * foreign keys take KEY SHARE) are still inserted by others. */
/* The locked client's row of q's result (CLIENT_COLS) into *out, when wanted. */
static enum store_rc locked_client(struct store_conn *base, enum store_rc rc, PGresult *r,
				   struct client *out)
{
	rc = one_row(rc, &r);
	if (rc != STORE_OK)
		return rc;
	if (out) {
		client_clear(out);
		sql_read_client(&(struct sql_res){.conn = base, .handle = r, .row = 0}, out);
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_client_lock(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct client *out)
{
	PGresult *r = NULL;
	enum store_rc rc = q(PG(base), ST_CLIENT_LOCK, &r, "ii", merchant_id, id);
	return locked_client(base, rc, r, out);
}

static enum store_rc pg_client_lock_phone(struct store_conn *base, int64_t merchant_id,
					  const char *phone, struct client *out)
{
	PGresult *r = NULL;
	enum store_rc rc = q(PG(base), ST_CLIENT_LOCK_PHONE, &r, "is", merchant_id, phone);
	return locked_client(base, rc, r, out);
}

static enum store_rc pg_order_lock(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_ORDER_LOCK, &r, "ii", merchant_id, id), &r);
	if (rc == STORE_OK)
		PQclear(r);
	return rc;
}

static enum store_rc pg_key_lock(struct store_conn *base, int64_t merchant_id, const char *scope,
				 const char *key)
{
	struct pg_conn *c = PG(base);
	/* It waits, if it must, before the statement after it runs: sent down the pipeline. */
	char name[16];
	enum store_rc rc = ready(c, &c->prepared[ST_KEY_LOCK], 'k', ST_KEY_LOCK,
				 stmt_sql[ST_KEY_LOCK], stmt_names[ST_KEY_LOCK], name);
	if (rc != STORE_OK)
		return rc;
	metrics_add(M_DB_STATEMENTS, 1);
	struct params p = {0};
	pg_param_int(&p, merchant_id);
	pg_param_text(&p, scope);
	pg_param_text(&p, key);
	return pg_pipe_send(c, name, NULL, stmt_names[ST_KEY_LOCK], &p);
}

/* Appends one search condition on column col (of the "C" collation) for a compiled pattern,
 * numbering its placeholders from *n. */
static void search_cond(struct buf *sql, const char *col, const struct pattern *p, int *n)
{
	switch (p->kind) {
	case PATTERN_EXACT:
		buf_printf(sql, " AND %s = $%d", col, (*n)++);
		break;
	case PATTERN_PREFIX:
		buf_printf(sql, " AND %s >= $%d AND %s < $%d", col, *n, col, *n + 1);
		*n += 2;
		break;
	case PATTERN_ALL:
		buf_printf(sql, " AND %s IS NOT NULL", col);
		break;
	case PATTERN_LIKE:
		buf_printf(sql, " AND %s LIKE $%d ESCAPE E'\\\\'", col, (*n)++);
		break;
	}
}

static void search_params(struct params *p, const struct pattern *pat)
{
	switch (pat->kind) {
	case PATTERN_EXACT:
	case PATTERN_LIKE:
		pg_param_text(p, pat->text);
		break;
	case PATTERN_PREFIX:
		pg_param_text(p, pat->text);
		pg_param_text(p, pat->upper);
		break;
	case PATTERN_ALL:
		break;
	}
}

/* The SQL of a client search of this shape, placeholders $1 (merchant), the patterns, limit,
 * offset. */
static void search_sql(struct buf *sql, const struct client_query *qr)
{
	int n = 2;
	buf_puts(sql, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = $1");
	if (qr->phone)
		search_cond(sql, "phone", qr->phone, &n);
	if (qr->email)
		search_cond(sql, "email_lc", qr->email, &n);
	buf_puts(sql, qr->phone	  ? " ORDER BY phone, id"
		      : qr->email ? " ORDER BY email_lc, id"
				  : " ORDER BY id");
	buf_printf(sql, " LIMIT $%d OFFSET $%d", n, n + 1);
}

static enum store_rc pg_client_search(struct store_conn *base, int64_t merchant_id,
				      const struct client_query *qr, client_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	/* One statement per shape of the query (which patterns, of which kind), prepared once
	 * per connection. The order follows API.md 2.1 and is served by an index. A phone LIKE
	 * pattern (an infix) is planned for its value instead: with the pattern in view the
	 * planner reads clients_phone_trgm for a selective one (%4567%: a bitmap of the few
	 * phones holding its trigrams, then a sort of those) and walks clients_phone in order
	 * for a dense one or one without a trigram (%12%), which a generic plan cannot tell
	 * apart. */
	int pk = qr->phone ? (int)qr->phone->kind + 1 : 0;
	int ek = qr->email ? (int)qr->email->kind + 1 : 0;
	assert(pk < SEARCH_KINDS && ek < SEARCH_KINDS);
	bool planned = qr->phone && qr->phone->kind == PATTERN_LIKE;
	char name[32];
	snprintf(name, sizeof(name), "search_%d_%d", pk, ek);
	struct buf sql;
	buf_init(&sql);
	if (planned || !c->search_prepared[pk][ek]) {
		search_sql(&sql, qr);
		if (!planned) {
			enum store_rc prc = pg_prepare(c, name, sql.data, "client search");
			if (prc != STORE_OK) {
				buf_free(&sql);
				return prc;
			}
			c->search_prepared[pk][ek] = true;
		}
	}
	struct params p = {0};
	pg_param_int(&p, merchant_id);
	if (qr->phone)
		search_params(&p, qr->phone);
	if (qr->email)
		search_params(&p, qr->email);
	pg_param_int(&p, qr->limit);
	pg_param_int(&p, qr->offset);
	PGresult *r = NULL;
	enum store_rc rc = planned ? pg_run_planned(c, sql.data, "client search", &p, &r)
				   : pg_run_prepared(c, name, "client search", &p, &r);
	buf_free(&sql);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct client cl = {0};
		sql_read_client(&(struct sql_res){.conn = base, .handle = r, .row = i}, &cl);
		bool more = row(ctx, &cl);
		client_clear(&cl);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static const struct store_ops pg_ops = {
    .name = "postgres",
    .close = pg_close,
    .acquire = pg_acquire,
    .release = pg_release,
    .pool_stats = pg_pool_stats,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .run_write = store_run_write_here,
    .ping = pg_ping,
    .order_number_next = pg_order_number_next,
    .client_lock = pg_client_lock,
    .client_lock_phone = pg_client_lock_phone,
    .order_lock = pg_order_lock,
    .key_lock = pg_key_lock,
    .client_search = pg_client_search,
};
