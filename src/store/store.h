/* The storage interface: one ops table per engine (SQLite, PostgreSQL), chosen at start-up
 * from the --db value. Handlers and services call only these operations; no SQL and
 * no engine type leaks above this header.
 *
 * Model: a `struct store` is an opened database with a bounded pool of connections. A request
 * borrows one `struct store_conn`, runs its reads and writes inside begin/commit, and gives it
 * back. A STORE_TX_WRITE transaction takes the write lock at begin, so a read-then-write never
 * races another writer. A STORE_TX_ROWS transaction (the money workflows: orders, holds,
 * write-offs, shares) runs beside other such writers on PostgreSQL and must lock what it reads
 * to decide a write: client_lock before reading a client's balance, lots, holds or coupons,
 * order_lock before reading a sale's refund progress, key_lock before looking up an
 * Idempotency-Key; uniqueness (externalId, phone, keys) is left to unique constraints, which
 * answer CONFLICT. On SQLite every writer is serialized and the locks are no-ops. Every operation
 * is scoped by merchant id where the data is a merchant's, so tenant isolation is a property of the
 * queries, not of the callers' care. Amounts are minor units.
 *
 * Where each operation lives: the operations are plain functions, one header per aggregate —
 * store/accounts.h (merchants, accounts, keys, lockout counters, sessions), merchant.h
 * (settings, documents, sale points, Idempotency-Key records), clients.h, ledger.h (balances,
 * lots, ledger rows), orders.h, holds.h, catalog.h, coupons.h, webhooks.h, wallet.h,
 * imports.h, reports.h and check.h — each written once in store/sql_<aggregate>.c over the
 * driver of store/sql.h, its SQL in store/statements.h. Only what differs between the engines
 * is in the table below, given by sqlite.c and pg.c: the pool, the transactions, the row
 * locks, the order counter and the client search. A new operation is a declaration in its
 * aggregate's header, a statement and a function: once.
 *
 * Results: STORE_OK; STORE_NOT_FOUND (no such row for this merchant); STORE_CONFLICT (a
 * uniqueness rule refused the write); STORE_RETRY (a transient conflict: roll back and run the
 * whole transaction again); STORE_FULL (disk full or read-only: the write could not commit);
 * STORE_ERROR (anything else, already logged). */
#ifndef KOPILKA_STORE_STORE_H
#define KOPILKA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "domain/lk.h"
#include "domain/model.h"
#include "domain/text.h"

/* What a transaction does: reads only; writes under the write lock (one writer at a time);
 * writes that lock the rows they touch (see the model above). */
enum store_tx { STORE_TX_READ = 0, STORE_TX_WRITE = 1, STORE_TX_ROWS = 2 };

enum store_rc {
	STORE_OK = 0,
	STORE_NOT_FOUND,
	STORE_CONFLICT,
	STORE_RETRY,
	STORE_FULL,
	STORE_ERROR,
};

/* Search of GET /clients/: patterns already cleaned and compiled by the domain layer. */
struct client_query {
	const struct pattern *phone; /* NULL: no phone condition */
	const struct pattern *email; /* matched against the lower-cased email */
	int64_t offset, limit;
};

typedef bool (*client_row_fn)(void *ctx, const struct client *c);

struct store;
struct store_conn;

struct store_ops {
	const char *name;
	void (*close)(struct store *st);
	/* Borrows a connection (blocks while the pool is empty); never NULL. */
	struct store_conn *(*acquire)(struct store *st);
	void (*release)(struct store_conn *c);
	/* Pool figures for /metrics: connections in all, and borrowed now. */
	void (*pool_stats)(struct store *st, int *size, int *in_use);

	/* A transaction of a kind of enum store_tx (false/true read as READ/WRITE). After any
	 * error other than NOT_FOUND/CONFLICT inside a transaction, roll back. */
	enum store_rc (*begin)(struct store_conn *c, int kind) MUST_CHECK;
	/* Row locks of a STORE_TX_ROWS transaction, held to its end (no-ops on SQLite, whose
	 * writers run one at a time). client_lock locks a client of the merchant and, when out
	 * is not NULL, makes *out the client as it is now (NOT_FOUND: no such client of the
	 * merchant; with out NULL the caller knows the client exists). *out is either zeroed or
	 * this client as read earlier in this transaction: an engine whose writers run one at a
	 * time keeps that as it is (it is current), another clears it and reads it again;
	 * order_lock locks an order; key_lock locks an (Idempotency-Key) name of the merchant. */
	enum store_rc (*client_lock)(struct store_conn *c, int64_t merchant_id, int64_t id,
				     struct client *out) MUST_CHECK;
	/* client_lock of the merchant's client with this phone, found and locked in one step
	 * (NOT_FOUND: nobody has it now); *out is the client as it is now. */
	enum store_rc (*client_lock_phone)(struct store_conn *c, int64_t merchant_id,
					   const char *phone, struct client *out) MUST_CHECK;
	enum store_rc (*order_lock)(struct store_conn *c, int64_t merchant_id,
				    int64_t id) MUST_CHECK;
	enum store_rc (*key_lock)(struct store_conn *c, int64_t merchant_id, const char *scope,
				  const char *key) MUST_CHECK;
	enum store_rc (*commit)(struct store_conn *c) MUST_CHECK;
	void (*rollback)(struct store_conn *c);
	/* Runs job(arg): one whole write of a request (its begin … commit or rollback, reruns
	 * and refusals included) on c, where the engine runs writes best. SQLite runs it on its
	 * one writer thread, back to back with the writes queued beside it (group commit, see
	 * sqlite_engine.h); PostgreSQL in the calling thread. Inside the job a commit may
	 * answer STORE_OK before its group's COMMIT and sync; what this returns is the durable
	 * outcome of the job's last commit, known only when this returns: STORE_OK, or the
	 * failure that undid it (so a job that committed reports nothing to anyone before). A
	 * job must not run another job. */
	enum store_rc (*run_write)(struct store_conn *c, void (*job)(void *arg),
				   void *arg) MUST_CHECK;
	/* A trivial query: is the database there? */
	enum store_rc (*ping)(struct store_conn *c) MUST_CHECK;
	/* The next order number of a merchant (a counter that only grows; on PostgreSQL a
	 * sequence per merchant, so a rolled-back write leaves a gap), and the new order's id
	 * where the engine assigns it ahead: PostgreSQL takes it from the orders' identity in
	 * the same round trip, so that the order's row need not wait for its answer
	 * (store_order_create); 0 on SQLite, whose insert assigns it. */
	enum store_rc (*order_number_next)(struct store_conn *c, int64_t merchant_id,
					   int64_t *number_out, int64_t *id_out) MUST_CHECK;
	/* Calls row for each match in the order of API.md 2.1 until it returns false. */
	enum store_rc (*client_search)(struct store_conn *c, int64_t merchant_id,
				       const struct client_query *q, client_row_fn row,
				       void *ctx) MUST_CHECK;
};

struct store {
	const struct store_ops *ops;
};

struct sql_driver;
struct store_conn {
	const struct store_ops *ops;
	/* The primitives the operations written once (store/sql.h) run on. */
	const struct sql_driver *sql;
	int pool_index; /* its place in the engine's pool (store/pool.h) */
	/* The merchant's webhook subscriptions as this transaction read them: an order asks
	 * for them once per event it may write, and store_webhook_mask reads them once a
	 * transaction. Kept only inside a transaction begun by store_begin, forgotten at its
	 * end and at a change of an endpoint made in it. */
	bool in_tx;
	int64_t mask_merchant; /* 0: none read */
	int64_t mask;
};

struct store_options {
	const char *synchronous; /* "full" | "normal" */
	int64_t busy_timeout_ms;
	int pool_size;
	/* SQLite: at most this many concurrent write transactions share one commit (1: each
	 * commits alone). */
	int group_commit_max;
	/* SQLite: the page caches of all the process's connections together, in MiB, a soft
	 * bound (store/sqlite_pcache.h); 0: none. */
	int64_t sqlite_memory_mib;
	bool create; /* create the database when it does not exist (init) */
	/* SQLite: no copy of the database before migrating it from an older schema (the file
	 * is itself a copy: kopilkad restore's check of a backup). */
	bool skip_migration_backup;
};

/* Opens the database named by uri (a file path: SQLite; a postgres:// or postgresql:// URI:
 * PostgreSQL), migrating its schema to the current version inside a transaction. On failure
 * writes a reason to err_buf and returns NULL. */
struct store *store_open(const char *uri, const struct store_options *opt, char *err_buf,
			 size_t err_len);

/* True when uri names a database file (SQLite), which must exist before serve and check; false
 * for a server URI (PostgreSQL), whose existence only connecting can tell. */
bool store_uri_is_file(const char *uri);

/* Writes uri into out (cap bytes) fit for a log line: a server URI loses its password and its
 * query string (which may carry one); a file path is copied as it is. */
void store_uri_display(const char *uri, char *out, size_t cap);

/* run_write for an engine whose commits are durable when they return: the job in the calling
 * thread. */
enum store_rc store_run_write_here(struct store_conn *c, void (*job)(void *arg),
				   void *arg) MUST_CHECK;

/* Waits for the answers of every statement sent ahead on this connection (store/sql.h
 * sql_send): their failure, if any, and the ids they set. */
enum store_rc store_sync(struct store_conn *c) MUST_CHECK;

/* The engine's operations, called as the others are. */
MUST_CHECK static inline enum store_rc store_begin(struct store_conn *c, int kind)
{
	c->mask_merchant = 0;
	enum store_rc rc = c->ops->begin(c, kind);
	c->in_tx = rc == STORE_OK;
	return rc;
}
MUST_CHECK static inline enum store_rc store_client_lock(struct store_conn *c, int64_t merchant_id,
							 int64_t id, struct client *out)
{
	return c->ops->client_lock(c, merchant_id, id, out);
}
MUST_CHECK static inline enum store_rc store_client_lock_phone(struct store_conn *c,
							       int64_t merchant_id,
							       const char *phone,
							       struct client *out)
{
	return c->ops->client_lock_phone(c, merchant_id, phone, out);
}
MUST_CHECK static inline enum store_rc store_order_lock(struct store_conn *c, int64_t merchant_id,
							int64_t id)
{
	return c->ops->order_lock(c, merchant_id, id);
}
MUST_CHECK static inline enum store_rc store_key_lock(struct store_conn *c, int64_t merchant_id,
						      const char *scope, const char *key)
{
	return c->ops->key_lock(c, merchant_id, scope, key);
}
MUST_CHECK static inline enum store_rc store_commit(struct store_conn *c)
{
	c->in_tx = false;
	c->mask_merchant = 0;
	return c->ops->commit(c);
}
static inline void store_rollback(struct store_conn *c)
{
	c->in_tx = false;
	c->mask_merchant = 0;
	c->ops->rollback(c);
}
MUST_CHECK static inline enum store_rc store_run_write(struct store_conn *c, void (*job)(void *arg),
						       void *arg)
{
	return c->ops->run_write(c, job, arg);
}
MUST_CHECK static inline enum store_rc store_ping(struct store_conn *c)
{
	return c->ops->ping(c);
}
MUST_CHECK static inline enum store_rc store_order_number_next(struct store_conn *c,
							       int64_t merchant_id,
							       int64_t *number_out, int64_t *id_out)
{
	return c->ops->order_number_next(c, merchant_id, number_out, id_out);
}
MUST_CHECK static inline enum store_rc store_client_search(struct store_conn *c,
							   int64_t merchant_id,
							   const struct client_query *q,
							   client_row_fn row, void *ctx)
{
	return c->ops->client_search(c, merchant_id, q, row, ctx);
}

/* Shorthand: STORE(conn, op, args...) is store_op(conn, args...), an operation of an
 * aggregate's header or one of the engine's above. */
#define STORE(c, op, ...) store_##op((c), ##__VA_ARGS__)

#endif
