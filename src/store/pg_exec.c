/* Running one PostgreSQL statement (see pg_engine.h): its text parameters, the mapping of
 * its errors, the synchronous calls and the pipeline. */
#include "store/pg_engine.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_log(enum log_level level, const char *what, const char *state, const char *msg)
{
	int len = (int)strcspn(msg, "\n");
	log_msg(level, "postgres: %s: %.*s%s%s%s", what, len, msg, state ? " (SQLSTATE " : "",
		state ? state : "", state ? ")" : "");
}

enum store_rc pg_map_error(struct pg_conn *c, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	if (!msg || !*msg)
		msg = PQerrorMessage(c->db);
	if (!state) {
		/* No SQLSTATE: the connection failed or libpq ran out of memory. */
		pg_log(LOG_ERROR, what, NULL, msg);
		return STORE_ERROR;
	}
	if (strcmp(state, "23505") == 0)
		return STORE_CONFLICT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0) {
		/* Serialization failure, deadlock, lock wait past lock_timeout: run it again. */
		pg_log(LOG_WARN, what, state, msg);
		return STORE_RETRY;
	}
	if (strcmp(state, "53100") == 0 || strcmp(state, "25006") == 0) {
		/* Disk full, read-only transaction (a standby or default_transaction_read_only). */
		pg_log(LOG_ERROR, what, state, msg);
		return STORE_FULL;
	}
	pg_log(LOG_ERROR, what, state, msg);
	return STORE_ERROR;
}

void pg_param_int(struct params *p, int64_t v)
{
	assert(p->n < PARAMS_MAX);
	snprintf(p->numbers[p->n], sizeof(p->numbers[p->n]), "%lld", (long long)v);
	p->values[p->n] = p->numbers[p->n];
	p->n++;
}

void pg_param_text(struct params *p, const char *t)
{
	assert(p->n < PARAMS_MAX);
	p->values[p->n++] = t; /* NULL is SQL NULL */
}

void pg_params(struct params *p, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		struct sql_arg a = sql_arg_next(*fmt, &aq);
		if (a.kind == SQL_ARG_INT)
			pg_param_int(p, a.i);
		else
			pg_param_text(p, a.kind == SQL_ARG_TEXT ? a.text : NULL);
	}
	va_end(aq);
}

int64_t pg_col_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- the pipeline ----
 *
 * A statement whose answer its caller does not wait for (sql_send: a write whose only outcome
 * the caller would act on is a failure, which it returns) is sent in libpq's pipeline mode
 * and left unanswered. The next statement whose answer is wanted goes down the same pipeline
 * followed by a Sync, and the answers of all are read together: one round trip where there
 * were several. The transaction's BEGIN and COMMIT travel the same way. The server runs them
 * in order, so each statement sees what the ones before it wrote. A failure of a statement
 * sent ahead aborts the rest of the pipeline: the statement waiting for its answer gets that
 * failure (STORE_ERROR for a uniqueness or not-found answer its caller never saw; RETRY and
 * FULL as they are), and the transaction is rolled back as after any failure. Every
 * synchronous call (PQexec, PQprepare) reads the pipeline first: libpq refuses them in it. */

enum store_rc pg_pipe_sync(struct pg_conn *c, bool own_last, PGresult **out)
{
	int n = c->piped;
	c->piped = 0;
	enum store_rc rc = STORE_OK;
	if (PQpipelineSync(c->db) != 1) {
		rc = pg_map_error(c, NULL, "pipeline sync");
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		PGresult *r = PQgetResult(c->db);
		if (!r) {
			if (rc == STORE_OK)
				rc = pg_map_error(c, NULL, c->piped_what[i]);
			break;
		}
		ExecStatusType st = PQresultStatus(r);
		bool own = own_last && i == n - 1;
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			int64_t *id = c->piped_id[i];
			if (id && PQntuples(r) == 1)
				*id = pg_col_int(r, 0, 0);
			else if (id && rc == STORE_OK) {
				log_error("postgres: %s: no id back", c->piped_what[i]);
				rc = STORE_ERROR;
			}
			if (own && out && rc == STORE_OK) {
				*out = r;
				r = NULL;
			} else if (c->piped_keep[i]) {
				PQclear(*c->piped_keep[i]);
				*c->piped_keep[i] = r;
				r = NULL;
			}
		} else if (rc == STORE_OK) {
			rc = pg_map_error(c, r, c->piped_what[i]);
			if (!own && (rc == STORE_CONFLICT || rc == STORE_NOT_FOUND))
				rc = STORE_ERROR;
		}
		PQclear(r);
		/* Each statement's answers end with a NULL. */
		r = PQgetResult(c->db);
		if (r) {
			log_error("postgres: %s: more than one result in the pipeline",
				  c->piped_what[i]);
			PQclear(r);
		}
	}
	if (PQstatus(c->db) == CONNECTION_OK) {
		PGresult *s = PQgetResult(c->db);
		if (!s || PQresultStatus(s) != PGRES_PIPELINE_SYNC) {
			log_error("postgres: the pipeline did not end in its sync");
			if (rc == STORE_OK)
				rc = STORE_ERROR;
		}
		PQclear(s);
	}
	if (PQexitPipelineMode(c->db) != 1) {
		/* Answers left unread: the session is out of step with libpq's queue. It is
		 * connected again by its next borrower (pg_acquire) rather than trusted. */
		if (rc == STORE_OK)
			rc = pg_map_error(c, NULL, "pipeline end");
		c->broken = true;
	}
	if (rc != STORE_OK && out && *out) {
		PQclear(*out);
		*out = NULL;
	}
	return rc;
}

enum store_rc pg_pipe_send(struct pg_conn *c, const char *name, const char *sql, const char *what,
			   const struct params *p)
{
	if (c->piped == PIPE_MAX) {
		enum store_rc rc = pg_pipe_sync(c, false, NULL);
		if (rc != STORE_OK)
			return rc;
	}
	if (c->piped == 0 && PQenterPipelineMode(c->db) != 1)
		return pg_map_error(c, NULL, what);
	int sent = name ? PQsendQueryPrepared(c->db, name, p->n, p->values, NULL, NULL, 0)
			: PQsendQueryParams(c->db, sql, p->n, NULL, p->values, NULL, NULL, 0);
	if (sent != 1) {
		enum store_rc rc = pg_map_error(c, NULL, what);
		if (c->piped)
			(void)pg_pipe_sync(c, false, NULL);
		else if (PQexitPipelineMode(c->db) != 1)
			c->broken = true;
		return rc;
	}
	c->piped_id[c->piped] = NULL;
	c->piped_keep[c->piped] = NULL;
	c->piped_what[c->piped++] = what;
	return STORE_OK;
}

enum store_rc pg_pipe_flush(struct pg_conn *c)
{
	return c->piped ? pg_pipe_sync(c, false, NULL) : STORE_OK;
}

/* The result of a synchronous call: STORE_OK with it in *out (when not NULL, for the caller
 * to PQclear()), or its failure mapped. */
static enum store_rc take(struct pg_conn *c, PGresult *res, const char *what, PGresult **out)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum store_rc rc = pg_map_error(c, res, what);
		PQclear(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return STORE_OK;
}

enum store_rc pg_exec_simple(struct pg_conn *c, const char *sql, const char *what, PGresult **out)
{
	enum store_rc prc = pg_pipe_flush(c);
	if (prc != STORE_OK)
		return prc;
	PGresult *res = PQexec(c->db, sql);
	return take(c, res, what, out);
}

/* Prepares a statement under name on this connection. A statement that does not prepare is
 * either our bug (logged with its SQL) or a transaction already aborted / a lost connection. */
enum store_rc pg_prepare(struct pg_conn *c, const char *name, const char *sql, const char *what)
{
	enum store_rc prc = pg_pipe_flush(c);
	if (prc != STORE_OK)
		return prc;
	PGresult *res = PQprepare(c->db, name, sql, 0, NULL);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	enum store_rc rc = STORE_OK;
	if (st != PGRES_COMMAND_OK) {
		rc = pg_map_error(c, res, what);
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		if (state && strncmp(state, "42", 2) == 0)
			log_error("postgres: cannot prepare %s: %s", what, sql);
	}
	PQclear(res);
	return rc;
}

/* Runs the statement prepared on this connection under name, after what the pipeline holds
 * and in its round trip. On success *out, when not NULL, holds the result, which the caller
 * PQclear()s. */
enum store_rc pg_run_prepared(struct pg_conn *c, const char *name, const char *what,
			      const struct params *p, PGresult **out)
{
	if (c->piped) {
		PGresult *r = NULL;
		enum store_rc rc = pg_pipe_send(c, name, NULL, what, p);
		if (rc == STORE_OK)
			rc = pg_pipe_sync(c, true, &r);
		if (rc == STORE_OK && out)
			*out = r;
		else
			PQclear(r);
		return rc;
	}
	PGresult *res = PQexecPrepared(c->db, name, p->n, p->values, NULL, NULL, 0);
	return take(c, res, what, out);
}

/* Runs sql planned for these very parameters (an unnamed statement), where the plan depends
 * on their values and a cached generic plan would be wrong for some of them. On success
 * *out, when not NULL, holds the result, which the caller PQclear()s. */
enum store_rc pg_run_planned(struct pg_conn *c, const char *sql, const char *what,
			     const struct params *p, PGresult **out)
{
	enum store_rc prc = pg_pipe_flush(c);
	if (prc != STORE_OK)
		return prc;
	PGresult *res = PQexecParams(c->db, sql, p->n, NULL, p->values, NULL, NULL, 0);
	return take(c, res, what, out);
}
