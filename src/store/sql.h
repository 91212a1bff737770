/* The SQL layer under the storage interface: operations written once (store/sql_*.c) over a
 * driver of a few primitives that each engine gives (sqlite.c, pg.c).
 *
 * An operation names a statement of the one table (store/statements.h), binds its arguments
 * by a format and reads the rows through a cursor; it never sees an engine type. The model
 * is Dovecot's lib-sql (a query, then a result walked row by row), with statements prepared
 * once per connection as before:
 *
 *   struct sql_res r;
 *   enum store_rc rc = sql_row(c, SQL_ACCOUNT_SELF, &r, "i", id);
 *   if (rc != STORE_OK)
 *           return rc;           // NOT_FOUND, or the mapped error; r already closed
 *   read_account(&r, out);
 *   sql_close(&r);
 *
 * The dialect is PostgreSQL's with `$N` placeholders; what SQLite spells differently is made
 * to match in its driver, in one place (sqlite.c, "the shared statements' driver"): `$N`
 * becomes `?N`, the collation "C" used by `lower(... COLLATE "C")` is registered as a
 * bytewise one, and an INSERT of one row ending in "RETURNING id" (the table's rowid) is run
 * without it, its row read from the rowid (rowid_returning). SQL that cannot be written for
 * both stays in its engine for now.
 *
 * Argument formats: 'i' int64, 'z' int64 with 0 as NULL, 'n' int64 with a negative value as
 * NULL, 's' text (NULL as NULL), 'b' bool as 0/1, 'd' int (enum); decoded here, once
 * (sql_arg_next), for the engine to bind. */
#ifndef KOPILKA_STORE_SQL_H
#define KOPILKA_STORE_SQL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/check.h"
#include "store/statements.h"
#include "store/store.h"

enum sql_savepoint { SQL_SP_BEGIN, SQL_SP_UNDO, SQL_SP_RELEASE };

/* One argument of a format, decoded: what an engine binds. */
struct sql_arg {
	enum { SQL_ARG_NULL, SQL_ARG_INT, SQL_ARG_TEXT } kind;
	int64_t i;
	const char *text;
};

/* Takes the argument of format character f from *ap. */
struct sql_arg sql_arg_next(char f, va_list *ap);

/* A statement's result, walked with sql_next. Engines keep their handle in it; the caller
 * sees only the functions below. */
struct sql_res {
	struct store_conn *conn;
	void *handle;  /* sqlite3_stmt * or PGresult * */
	int row, rows; /* PostgreSQL: the current row and the row count; SQLite: row 1 while
			* an INSERT's id (rowid) is the current row, 2 after it */
	int64_t rowid;
	enum sql_id id;
	enum store_rc rc; /* after sql_next returned false: STORE_OK at the end, else the error */
	int64_t changes;  /* rows the statement wrote, once it has run to its end */
};

/* What an engine gives the shared operations. */
struct sql_driver {
	/* Binds the arguments to statement id (prepared on this connection the first time) and
	 * runs it, or readies it to run on the first next(). On failure res holds nothing. */
	enum store_rc (*run)(struct store_conn *c, enum sql_id id, struct sql_res *res,
			     const char *fmt, va_list ap);
	/* Runs statement id whose answer the caller does not wait for (sql_send); NULL: the
	 * engine runs it at once, as sql_exec. */
	enum store_rc (*send)(struct store_conn *c, enum sql_id id, int64_t *id_out,
			      const char *fmt, va_list ap);
	/* Waits for every answer sent ahead (sql_sync); NULL with send. */
	enum store_rc (*sync)(struct store_conn *c);
	/* Sends read id ahead and keeps its answer for the run of the same statement with the
	 * same arguments in this transaction (sql_read_ahead); NULL: reads run when asked. */
	enum store_rc (*read_ahead)(struct store_conn *c, enum sql_id id, const char *fmt,
				    va_list ap);
	/* The next row: true with it current; false at the end or on an error (res->rc). */
	bool (*next)(struct sql_res *res);
	bool (*is_null)(const struct sql_res *res, int col);
	int64_t (*int64)(const struct sql_res *res, int col);
	bool (*boolean)(const struct sql_res *res, int col);
	/* The column's text, valid until the next row or close; NULL for SQL NULL. */
	const char *(*text)(const struct sql_res *res, int col);
	/* Ends the statement (resets it, or frees the result). Safe on a closed or failed res. */
	void (*close)(struct sql_res *res);
	/* The one savepoint of an operation (see sql_sp_begin). */
	enum store_rc (*savepoint)(struct store_conn *c, enum sql_savepoint op);
	/* Invariants of this engine's own structures, after the shared ones (store_check); each
	 * broken one reported, counted in *problems_out. NULL: none. */
	enum store_rc (*check_more)(struct store_conn *c, store_report_fn report, void *ctx,
				    int64_t *problems_out);
};

/* Runs statement id; its rows come through sql_next. Always sql_close res after OK. */
enum store_rc sql_query(struct store_conn *c, enum sql_id id, struct sql_res *res, const char *fmt,
			...) __attribute__((warn_unused_result));
/* A statement expected to return at most one row: STORE_OK with the row current (read it,
 * then sql_close), or STORE_NOT_FOUND / an error with res already closed. */
enum store_rc sql_row(struct store_conn *c, enum sql_id id, struct sql_res *res, const char *fmt,
		      ...) __attribute__((warn_unused_result));
/* Runs a statement to its end, rows ignored; *changes (when not NULL): the rows it wrote. */
enum store_rc sql_exec(struct store_conn *c, enum sql_id id, int64_t *changes, const char *fmt, ...)
    __attribute__((warn_unused_result));
/* A read its caller will run soon (sql_query or sql_row of the same statement and arguments,
 * in this transaction), sent now where the engine can, so that it travels with the statement
 * that waits next (PostgreSQL: its answer is kept on the connection, and taken by that run
 * instead of a round trip of its own); elsewhere nothing is done. A failure of it comes back
 * as sql_send's do; one that is not run after all is dropped when the transaction ends. */
enum store_rc sql_read_ahead(struct store_conn *c, enum sql_id id, const char *fmt, ...)
    __attribute__((warn_unused_result));
/* A write whose rows, change count and failure its caller need not see before its next
 * statement: an engine may send it ahead and read its answer with the next statement's
 * (PostgreSQL pipelines it: one round trip for both). A failure then comes back from that
 * next statement or the commit, as STORE_ERROR where it was a CONFLICT or NOT_FOUND, and the
 * transaction is rolled back whole. For a statement whose failure the caller would only
 * return, never one whose CONFLICT or NOT_FOUND it tells apart. */
enum store_rc sql_send(struct store_conn *c, enum sql_id id, const char *fmt, ...)
    __attribute__((warn_unused_result));
/* sql_insert of an INSERT that always returns its row, sent ahead as sql_send: *id_out (when
 * not NULL) is set once the answer is read, after sql_sync (store_sync), a statement that
 * waits for its answer, or the commit; no row back is a failure, as any failure then. */
enum store_rc sql_insert_send(struct store_conn *c, enum sql_id id, int64_t *id_out,
			      const char *fmt, ...) __attribute__((warn_unused_result));
/* INSERT ... [ON CONFLICT DO NOTHING] RETURNING id: no row back is STORE_CONFLICT (a
 * uniqueness rule refused it). id_out may be NULL. */
enum store_rc sql_insert(struct store_conn *c, enum sql_id id, int64_t *id_out, const char *fmt,
			 ...) __attribute__((warn_unused_result));
/* UPDATE / DELETE ... RETURNING id: no row back is STORE_NOT_FOUND. */
enum store_rc sql_touch(struct store_conn *c, enum sql_id id, const char *fmt, ...)
    __attribute__((warn_unused_result));

/* A savepoint around an operation of several statements that must leave nothing behind when
 * it answers CONFLICT or NOT_FOUND: sql_sp_end undoes to it then, and releases it on OK.
 * After RETRY, FULL or ERROR it leaves it: the transaction is rolled back whole by the
 * caller (in PostgreSQL an error has aborted it already). */
enum store_rc sql_sp_begin(struct store_conn *c) __attribute__((warn_unused_result));
enum store_rc sql_sp_end(struct store_conn *c, enum store_rc rc);

bool sql_next(struct sql_res *res);
void sql_close(struct sql_res *res);
/* At the end of the rows (sql_next false): OK, or what ended them. */
static inline enum store_rc sql_end(const struct sql_res *res)
{
	return res->rc;
}

/* Columns of the current row. */
int64_t sql_int(const struct sql_res *res, int col);
bool sql_bool(const struct sql_res *res, int col);
bool sql_null(const struct sql_res *res, int col);
char *sql_str(const struct sql_res *res, int col); /* a copy the caller frees; NULL for NULL */
void sql_copy(const struct sql_res *res, int col, char *dst, size_t cap); /* NULL as "" */

/* The row of CLIENT_COLS (also read by the engines' client_search). */
void sql_read_client(const struct sql_res *r, struct client *out);

#endif
