/* The engine-independent half of the SQL layer (store/sql.h): the statement table and the
 * helpers the shared operations use, each a few calls of the connection's driver. */
#include "store/sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/metrics.h"
#include "core/util.h"

#define SQL_TEXT(name, sql) sql,
#define SQL_NAME(name, sql) #name,
const char *const sql_text[SQL__COUNT] = {SQL_STATEMENTS(SQL_TEXT)};
const char *const sql_name[SQL__COUNT] = {SQL_STATEMENTS(SQL_NAME)};

struct sql_arg sql_arg_next(char f, va_list *ap)
{
	struct sql_arg a = {.kind = SQL_ARG_INT};
	switch (f) {
	case 'i':
		a.i = va_arg(*ap, int64_t);
		break;
	case 'z':
		a.i = va_arg(*ap, int64_t);
		a.kind = a.i ? SQL_ARG_INT : SQL_ARG_NULL;
		break;
	case 'n':
		a.i = va_arg(*ap, int64_t);
		a.kind = a.i >= 0 ? SQL_ARG_INT : SQL_ARG_NULL;
		break;
	case 's':
		a.text = va_arg(*ap, const char *);
		a.kind = a.text ? SQL_ARG_TEXT : SQL_ARG_NULL;
		break;
	case 'b':
		a.i = va_arg(*ap, int) ? 1 : 0;
		break;
	case 'd':
		a.i = va_arg(*ap, int);
		break;
	default:
		abort(); /* a format of ours: a programming error */
	}
	return a;
}

static enum store_rc run(struct store_conn *c, enum sql_id id, struct sql_res *res, const char *fmt,
			 va_list ap)
{
	*res = (struct sql_res){.conn = c, .id = id};
	metrics_add(M_DB_STATEMENTS, 1);
	return c->sql->run(c, id, res, fmt, ap);
}

enum store_rc sql_query(struct store_conn *c, enum sql_id id, struct sql_res *res, const char *fmt,
			...)
{
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = run(c, id, res, fmt, ap);
	va_end(ap);
	return rc;
}

/* Steps a run statement to its first row: OK with it current, or NOT_FOUND / the error with
 * the statement closed. */
static enum store_rc first_row(struct sql_res *res, enum store_rc rc)
{
	if (rc != STORE_OK)
		return rc;
	if (sql_next(res))
		return STORE_OK;
	rc = res->rc == STORE_OK ? STORE_NOT_FOUND : res->rc;
	sql_close(res);
	return rc;
}

enum store_rc sql_row(struct store_conn *c, enum sql_id id, struct sql_res *res, const char *fmt,
		      ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = run(c, id, res, fmt, ap);
	va_end(ap);
	return first_row(res, rc);
}

/* Runs a run statement to its end, rows ignored. */
static enum store_rc drain(struct sql_res *res, enum store_rc rc, int64_t *changes)
{
	if (rc != STORE_OK)
		return rc;
	while (sql_next(res))
		;
	rc = res->rc;
	if (changes)
		*changes = rc == STORE_OK ? res->changes : 0;
	sql_close(res);
	return rc;
}

enum store_rc sql_exec(struct store_conn *c, enum sql_id id, int64_t *changes, const char *fmt, ...)
{
	struct sql_res res;
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = run(c, id, &res, fmt, ap);
	va_end(ap);
	return drain(&res, rc, changes);
}

/* A statement sent ahead where the engine can (sql_send, sql_insert_send), else run at once;
 * with_id: an INSERT whose row, its id, always comes back. */
static enum store_rc send_ahead(struct store_conn *c, enum sql_id id, bool with_id, int64_t *id_out,
				const char *fmt, va_list ap)
{
	if (c->sql->send) {
		metrics_add(M_DB_STATEMENTS, 1);
		return c->sql->send(c, id, id_out, fmt, ap);
	}
	struct sql_res res;
	if (!with_id)
		return drain(&res, run(c, id, &res, fmt, ap), NULL);
	enum store_rc rc = first_row(&res, run(c, id, &res, fmt, ap));
	if (rc == STORE_NOT_FOUND)
		return STORE_ERROR; /* it always returns its row */
	if (rc == STORE_OK) {
		if (id_out)
			*id_out = sql_int(&res, 0);
		sql_close(&res);
	}
	return rc;
}

enum store_rc sql_read_ahead(struct store_conn *c, enum sql_id id, const char *fmt, ...)
{
	if (!c->sql->read_ahead)
		return STORE_OK;
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = c->sql->read_ahead(c, id, fmt, ap);
	va_end(ap);
	return rc;
}

enum store_rc sql_send(struct store_conn *c, enum sql_id id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = send_ahead(c, id, false, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

enum store_rc sql_insert_send(struct store_conn *c, enum sql_id id, int64_t *id_out,
			      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = send_ahead(c, id, true, id_out, fmt, ap);
	va_end(ap);
	return rc;
}

enum store_rc store_sync(struct store_conn *c)
{
	return c->sql->sync ? c->sql->sync(c) : STORE_OK;
}

enum store_rc sql_insert(struct store_conn *c, enum sql_id id, int64_t *id_out, const char *fmt,
			 ...)
{
	struct sql_res res;
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = first_row(&res, run(c, id, &res, fmt, ap));
	va_end(ap);
	if (rc == STORE_NOT_FOUND)
		return STORE_CONFLICT;
	if (rc == STORE_OK) {
		if (id_out)
			*id_out = sql_int(&res, 0);
		sql_close(&res);
	}
	return rc;
}

enum store_rc sql_touch(struct store_conn *c, enum sql_id id, const char *fmt, ...)
{
	struct sql_res res;
	va_list ap;
	va_start(ap, fmt);
	enum store_rc rc = first_row(&res, run(c, id, &res, fmt, ap));
	va_end(ap);
	if (rc == STORE_OK)
		sql_close(&res);
	return rc;
}

enum store_rc sql_sp_begin(struct store_conn *c)
{
	return c->sql->savepoint(c, SQL_SP_BEGIN);
}

enum store_rc sql_sp_end(struct store_conn *c, enum store_rc rc)
{
	if (rc == STORE_CONFLICT || rc == STORE_NOT_FOUND) {
		enum store_rc undo = c->sql->savepoint(c, SQL_SP_UNDO);
		if (undo == STORE_OK)
			undo = c->sql->savepoint(c, SQL_SP_RELEASE);
		return undo == STORE_OK ? rc : undo;
	}
	if (rc == STORE_OK)
		return c->sql->savepoint(c, SQL_SP_RELEASE);
	return rc;
}

bool sql_next(struct sql_res *res)
{
	return res->conn->sql->next(res);
}

void sql_close(struct sql_res *res)
{
	if (res->handle)
		res->conn->sql->close(res);
	res->handle = NULL;
}

int64_t sql_int(const struct sql_res *res, int col)
{
	return res->conn->sql->int64(res, col);
}

bool sql_bool(const struct sql_res *res, int col)
{
	return res->conn->sql->boolean(res, col);
}

bool sql_null(const struct sql_res *res, int col)
{
	return res->conn->sql->is_null(res, col);
}

char *sql_str(const struct sql_res *res, int col)
{
	const char *t = res->conn->sql->text(res, col);
	return t ? xstrdup(t) : NULL;
}

void sql_copy(const struct sql_res *res, int col, char *dst, size_t cap)
{
	const char *t = res->conn->sql->text(res, col);
	snprintf(dst, cap, "%s", t ? t : "");
}
