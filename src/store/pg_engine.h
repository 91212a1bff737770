/* The PostgreSQL engine's own types and its statement runner, shared by its files and by no
 * one else: pg.c (connections, transactions, the shared statements' driver, the operations
 * only PostgreSQL does) and pg_exec.c (running one statement: parameters, errors, the
 * pipeline). */
#ifndef KOPILKA_STORE_PG_ENGINE_H
#define KOPILKA_STORE_PG_ENGINE_H

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "store/columns.h"
#include "store/sql.h"
#include "store/store.h"

#define PARAMS_MAX 32
#define PIPE_MAX 32 /* statements sent ahead of an answer (sql_send) before one is waited for */
#define SEARCH_KINDS 5

/* Every statement the engine runs, prepared once per connection. */

/* clang-format off */
#define STATEMENTS(X)                                                                              \
	X(PING, "SELECT 1")                                                                        \
	X(ORDER_SEQ, "SELECT nextval(('order_seq_' || $1::bigint)::regclass),"                     \
		     " nextval(pg_get_serial_sequence('orders', 'id'))")                          \
	X(CLIENT_LOCK, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = $1 AND id = $2"    \
		       " FOR NO KEY UPDATE")                                                       \
	X(CLIENT_LOCK_PHONE, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = $1"          \
			     " AND phone = $2 FOR NO KEY UPDATE")                                  \
	X(ORDER_LOCK, "SELECT 1 FROM orders WHERE merchant_id = $1 AND id = $2 FOR NO KEY UPDATE") \
	X(KEY_LOCK, "SELECT pg_advisory_xact_lock(hashtextextended($2 || chr(10) || $3, $1))")

/* clang-format on */
#define STMT_ENUM(name, sql) ST_##name,
#define STMT_SQL(name, sql) sql,
#define STMT_NAME(name, sql) #name,
enum stmt_id { STATEMENTS(STMT_ENUM) ST__COUNT };

struct pg_store;

struct pg_conn {
	struct store_conn base;
	struct pg_store *owner;
	PGconn *db;
	/* What this session has prepared; cleared when the connection is re-established. */
	bool prepared[ST__COUNT];
	bool shared_prepared[SQL__COUNT]; /* the shared statements (store/statements.h) */
	/* Client search shapes: [phone pattern kind + 1][email pattern kind + 1], 0 = none. */
	bool search_prepared[SEARCH_KINDS][SEARCH_KINDS];
	bool in_tx;
	bool writing; /* the open transaction is a write (for the commit metrics) */
	/* The pipeline: statements sent and not yet answered (pg_exec.c, "the pipeline"). */
	int piped;
	const char *piped_what[PIPE_MAX];
	int64_t *piped_id[PIPE_MAX];	 /* where an INSERT's id goes (sql_insert_send), or NULL */
	PGresult **piped_keep[PIPE_MAX]; /* where a read's answer is kept (read ahead), or NULL */
	/* The read sent ahead (sql_read_ahead): its statement and arguments, and its answer
	 * once the pipeline is read; dropped when a transaction begins or the connection is
	 * given back. */
	bool ahead;
	int ahead_id; /* enum sql_id */
	char ahead_args[128];
	PGresult *ahead_res;
	bool broken; /* the pipeline could not be left: connect again before the next use */
};

/* Text parameters of one statement. */
struct params {
	int n;
	const char *values[PARAMS_MAX];
	char numbers[PARAMS_MAX][24];
};

/* Adds the parameters of a format (store/sql.h), as text: a bool as 1/0, which boolean
 * columns take as well as integer ones. */
void pg_params(struct params *p, const char *fmt, va_list ap);
void pg_param_int(struct params *p, int64_t v);
void pg_param_text(struct params *p, const char *t);	 /* NULL is SQL NULL */
int64_t pg_col_int(const PGresult *r, int row, int col); /* NULL as 0 */

/* A log line of a libpq message (which ends in a newline; log lines must not). */
void pg_log(enum log_level level, const char *what, const char *state, const char *msg);
/* Maps a failed result (or NULL: no result at all) to the interface's code. Logs what is not
 * an expected outcome. */
enum store_rc pg_map_error(struct pg_conn *c, const PGresult *res, const char *what);

/* Runs SQL outside the prepared set (transaction control, savepoints, migrations, check). On
 * success *out (when not NULL) holds the result, which the caller PQclear()s. */
enum store_rc pg_exec_simple(struct pg_conn *c, const char *sql, const char *what, PGresult **out);
/* Prepares a statement under name on this connection. */
enum store_rc pg_prepare(struct pg_conn *c, const char *name, const char *sql, const char *what);
/* Runs the statement prepared under name, after what the pipeline holds and in its round
 * trip; *out (when not NULL) the result on success, which the caller PQclear()s. */
enum store_rc pg_run_prepared(struct pg_conn *c, const char *name, const char *what,
			      const struct params *p, PGresult **out);
/* Runs sql planned for these very parameters (an unnamed statement); *out as above. */
enum store_rc pg_run_planned(struct pg_conn *c, const char *sql, const char *what,
			     const struct params *p, PGresult **out);

/* The pipeline (pg_exec.c): statements sent ahead, answered with the next one that waits. */
/* Sends the statement (prepared under name, or the text sql unnamed) down the pipeline. */
enum store_rc pg_pipe_send(struct pg_conn *c, const char *name, const char *sql, const char *what,
			   const struct params *p);
/* Syncs the pipeline and reads every answer in it. own_last: the last statement is the
 * caller's own, whose failure it sees as is, and whose result goes to *out (when not NULL) on
 * success, to be PQclear()ed. */
enum store_rc pg_pipe_sync(struct pg_conn *c, bool own_last, PGresult **out);
/* Reads what the pipeline holds (before a synchronous call, a rollback, a release). */
enum store_rc pg_pipe_flush(struct pg_conn *c);

#endif
