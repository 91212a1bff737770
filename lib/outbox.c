/* libkopilka outbox: orders kept in a local SQLite file (WAL, synchronous=FULL) from before
 * they are sent until the server has answered them, and sent strictly in the order they were
 * taken. A process killed at any point loses nothing: the entry is durable before the call
 * returns and is marked sent only after the server's answer; sending it again after a crash
 * repeats the same body and Idempotency-Key, which the server answers as a replay (API.md 2.4),
 * so nothing counts twice. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct kk_outbox {
	sqlite3 *db;
	int lock_fd; /* flock()ed: one process per outbox file */
};

/* clang-format off */
static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS outbox ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" external_id TEXT NOT NULL,"
	" receipt_type TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" idem_key TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL,"
	" http_status INTEGER,"
	" code TEXT,"
	" message TEXT);"
	"CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq);";
/* clang-format on */

/* Sent entries are kept a week for kopilka_outbox_status's counts, then dropped at open. */
#define SENT_KEEP_MS (7LL * 24 * 3600 * 1000)

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum kopilka_status db_fail(struct kk_outbox *o, struct kopilka_error *err, const char *what)
{
	int rc = sqlite3_errcode(o->db);
	if (rc == SQLITE_NOMEM)
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory (outbox)");
	return kk_fail(err, KOPILKA_ERR_OUTBOX, 0, "outbox: %s: %s", what, sqlite3_errmsg(o->db));
}

void kk_outbox_close(struct kk_outbox *o)
{
	if (!o)
		return;
	sqlite3_close(o->db);
	if (o->lock_fd >= 0)
		close(o->lock_fd);
	free(o);
}

enum kopilka_status kk_outbox_open(const char *path, struct kk_outbox **out,
				   struct kopilka_error *err)
{
	*out = NULL;
	struct kk_outbox *o = calloc(1, sizeof(*o));
	if (!o)
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
	o->lock_fd = -1;
	enum kopilka_status st = KOPILKA_OK;
	size_t n = strlen(path) + sizeof(".lock");
	char *lock_path = malloc(n);
	if (!lock_path) {
		st = kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
		goto cleanup;
	}
	snprintf(lock_path, n, "%s.lock", path);
	o->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock_path);
	if (o->lock_fd < 0) {
		st = kk_fail(err, KOPILKA_ERR_OUTBOX, 0, "outbox: %s.lock: %s", path,
			     strerror(errno));
		goto cleanup;
	}
	if (flock(o->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		st = kk_fail(err, KOPILKA_ERR_OUTBOX, errno == EWOULDBLOCK,
			     "outbox: %s is in use by another process", path);
		goto cleanup;
	}
	int rc = sqlite3_open_v2(
	    path, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		st = o->db ? db_fail(o, err, "open")
			   : kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory (outbox)");
		goto cleanup;
	}
	sqlite3_busy_timeout(o->db, 5000);
	/* WAL with synchronous=FULL: a committed entry is on disk (fsynced) when the commit
	 * returns, so kopilka_order_post never reports an order that a power cut could lose. */
	if (sqlite3_exec(o->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(o->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(o->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
		st = db_fail(o, err, "schema");
		goto cleanup;
	}
	char prune[160];
	snprintf(prune, sizeof(prune),
		 "DELETE FROM outbox WHERE state = 'sent' AND updated_ms < %lld",
		 (long long)(wall_ms() - SENT_KEEP_MS));
	if (sqlite3_exec(o->db, prune, NULL, NULL, NULL) != SQLITE_OK) {
		st = db_fail(o, err, "prune");
		goto cleanup;
	}
cleanup:
	if (st != KOPILKA_OK) {
		kk_outbox_close(o);
		return st;
	}
	*out = o;
	return KOPILKA_OK;
}

struct entry {
	int64_t seq;
	char *body;
	char *idem_key;
};

/* The oldest pending entry with seq <= upto (upto 0: any); *found false when none. */
static enum kopilka_status next_pending(struct kk_outbox *o, int64_t upto, struct entry *e,
					bool *found, struct kopilka_error *err)
{
	*found = false;
	memset(e, 0, sizeof(*e));
	sqlite3_stmt *stmt = NULL;
	enum kopilka_status st = KOPILKA_OK;
	if (sqlite3_prepare_v2(o->db,
			       "SELECT seq, body, idem_key FROM outbox WHERE state = 'pending' "
			       "AND (?1 = 0 OR seq <= ?1) ORDER BY seq LIMIT 1",
			       -1, &stmt, NULL) != SQLITE_OK)
		return db_fail(o, err, "read");
	sqlite3_bind_int64(stmt, 1, upto);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		e->seq = sqlite3_column_int64(stmt, 0);
		const char *body = (const char *)sqlite3_column_text(stmt, 1);
		const char *key = (const char *)sqlite3_column_text(stmt, 2);
		e->body = body ? strdup(body) : NULL;
		e->idem_key = key ? strdup(key) : NULL;
		if (!e->body || !e->idem_key) {
			free(e->body);
			free(e->idem_key);
			st = kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory (outbox)");
		} else {
			*found = true;
		}
	} else if (rc != SQLITE_DONE) {
		st = db_fail(o, err, "read");
	}
	sqlite3_finalize(stmt);
	return st;
}

/* Records the outcome of one send: state, attempts + 1 and the error (NULL err: none). */
static enum kopilka_status record(struct kk_outbox *o, int64_t seq, const char *state,
				  const struct kopilka_error *outcome, struct kopilka_error *err)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(o->db,
			       "UPDATE outbox SET state = ?2, attempts = attempts + ?3, "
			       "updated_ms = ?4, http_status = ?5, code = ?6, message = ?7 "
			       "WHERE seq = ?1",
			       -1, &stmt, NULL) != SQLITE_OK)
		return db_fail(o, err, "update");
	sqlite3_bind_int64(stmt, 1, seq);
	sqlite3_bind_text(stmt, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, outcome && outcome->attempts > 0 ? outcome->attempts : 1);
	sqlite3_bind_int64(stmt, 4, wall_ms());
	if (outcome && outcome->http_status)
		sqlite3_bind_int(stmt, 5, outcome->http_status);
	if (outcome && outcome->status != KOPILKA_OK) {
		if (outcome->code[0])
			sqlite3_bind_text(stmt, 6, outcome->code, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 7, outcome->message, -1, SQLITE_STATIC);
	}
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? KOPILKA_OK : db_fail(o, err, "update");
}

/* Whether a refusal is the order's own and final (a business rule, validation: 4xx but 408
 * and 429), so that sending it again could never succeed. 401 and 403 are not: they are the
 * terminal's credentials, and the order waits until those are fixed. */
static bool refused_for_good(const struct kopilka_error *e)
{
	int s = e->http_status;
	return e->status == KOPILKA_ERR_HTTP && s >= 400 && s < 500 && s != 408 && s != 429 &&
	       s != 401 && s != 403;
}

/* Sends pending entries in order up to `upto` (0: all). For the entry `mine` (0: none), its
 * answer goes to *answer and its own outcome to *mine_status. Returns KOPILKA_OK when every
 * entry up to `upto` is done (sent or failed), KOPILKA_QUEUED with err when it had to stop,
 * or the local failure. Called with the outbox lock held. */
static enum kopilka_status send_pending(kopilka *h, int64_t upto, int64_t mine, json_t **answer,
					enum kopilka_status *mine_status,
					struct kopilka_error *mine_err, struct kopilka_error *err)
{
	struct kk_outbox *o = h->outbox;
	for (;;) {
		struct entry e;
		bool found = false;
		enum kopilka_status st = next_pending(o, upto, &e, &found, err);
		if (st != KOPILKA_OK || !found)
			return st;
		struct kk_request req = {.method = "POST",
					 .path = "/fiscal/orders/",
					 .body = e.body,
					 .idem_key = e.idem_key};
		struct kopilka_error outcome;
		json_t *reply = NULL;
		enum kopilka_status sent = kk_http_call(h, &req, &reply, &outcome);
		free(e.body);
		free(e.idem_key);
		const char *state = NULL;
		if (sent == KOPILKA_OK || (sent == KOPILKA_ERR_PROTOCOL &&
					   outcome.http_status >= 200 && outcome.http_status < 300))
			state = "sent"; /* a 2xx: the server has it, whatever its body */
		else if (refused_for_good(&outcome))
			state = "failed";
		else if (sent == KOPILKA_ERR_NETWORK || sent == KOPILKA_ERR_HTTP)
			state = "pending";
		if (!state) { /* out of memory, a bad configuration: a local problem */
			json_decref(reply);
			if (err)
				*err = outcome;
			return sent;
		}
		st = record(o, e.seq, state, &outcome, err);
		if (st != KOPILKA_OK) {
			json_decref(reply);
			return st;
		}
		if (e.seq == mine) {
			*mine_status = sent;
			if (mine_err)
				*mine_err = outcome;
			if (answer)
				*answer = reply;
			else
				json_decref(reply);
		} else {
			json_decref(reply);
		}
		if (strcmp(state, "pending") == 0) {
			if (err)
				*err = outcome;
			return KOPILKA_QUEUED;
		}
	}
}

enum kopilka_status kk_outbox_post(kopilka *h, const char *body, const char *external_id,
				   const char *receipt_type, const char *idem_key, json_t **answer,
				   struct kopilka_error *err)
{
	char generated[KK_IDEM_KEY_MAX];
	if (!idem_key) {
		enum kopilka_status st = kk_new_idem_key(generated, err);
		if (st != KOPILKA_OK)
			return st;
		idem_key = generated;
	}
	pthread_mutex_lock(&h->outbox_lock);
	struct kk_outbox *o = h->outbox;
	enum kopilka_status st = KOPILKA_OK;
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(o->db,
			       "INSERT INTO outbox (external_id, receipt_type, body, idem_key, "
			       "created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
			       -1, &stmt, NULL) != SQLITE_OK) {
		st = db_fail(o, err, "append");
		goto cleanup;
	}
	sqlite3_bind_text(stmt, 1, external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, receipt_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, idem_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, wall_ms());
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		st = db_fail(o, err, "append");
		goto cleanup;
	}
	/* Committed (autocommit, synchronous=FULL): the order survives from here on. */
	int64_t seq = sqlite3_last_insert_rowid(o->db);
	enum kopilka_status mine = KOPILKA_QUEUED;
	struct kopilka_error mine_err;
	memset(&mine_err, 0, sizeof(mine_err));
	st = send_pending(h, seq, seq, answer, &mine, &mine_err, err);
	if (st == KOPILKA_OK) {
		/* Ours was answered: its own outcome (OK, or the refusal that failed it). */
		st = mine;
		if (err)
			*err = mine_err;
		if (st == KOPILKA_ERR_PROTOCOL) /* the server has it: a 2xx with a bad body */
			st = KOPILKA_OK;
	} else if (st == KOPILKA_QUEUED && err) {
		err->status = KOPILKA_QUEUED;
	}
cleanup:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&h->outbox_lock);
	return st;
}

enum kopilka_status kopilka_outbox_flush(kopilka *h, struct kopilka_error *err)
{
	if (!h || !h->outbox)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "no outbox configured");
	kk_ok(err);
	pthread_mutex_lock(&h->outbox_lock);
	enum kopilka_status st = send_pending(h, 0, 0, NULL, NULL, NULL, err);
	pthread_mutex_unlock(&h->outbox_lock);
	if (st == KOPILKA_QUEUED && err)
		err->status = KOPILKA_QUEUED;
	if (st == KOPILKA_OK)
		kk_ok(err);
	return st;
}

static json_t *column_json(sqlite3_stmt *stmt, int col)
{
	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(stmt, col));
	default:
		return json_string((const char *)sqlite3_column_text(stmt, col));
	}
}

static enum kopilka_status list_entries(struct kk_outbox *o, json_t **entries,
					struct kopilka_error *err)
{
	static const char *const keys[] = {"seq",	 "externalId", "receiptType",
					   "state",	 "attempts",   "createdAt",
					   "httpStatus", "code",       "message"};
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(
		o->db,
		"SELECT seq, external_id, receipt_type, state, attempts, created_ms, "
		"http_status, code, message FROM outbox WHERE state <> 'sent' "
		"ORDER BY seq",
		-1, &stmt, NULL) != SQLITE_OK)
		return db_fail(o, err, "read");
	json_t *list = json_array();
	enum kopilka_status st = list ? KOPILKA_OK : KOPILKA_ERR_NOMEM;
	int rc;
	while (st == KOPILKA_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *row = json_object();
		if (!row || json_array_append_new(list, row) != 0) {
			st = KOPILKA_ERR_NOMEM;
			break;
		}
		for (int i = 0; i < 9; i++)
			if (json_object_set_new(row, keys[i], column_json(stmt, i)) != 0)
				st = KOPILKA_ERR_NOMEM;
	}
	if (st == KOPILKA_OK && rc != SQLITE_DONE)
		st = db_fail(o, err, "read");
	else if (st == KOPILKA_ERR_NOMEM)
		kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
	sqlite3_finalize(stmt);
	if (st != KOPILKA_OK) {
		json_decref(list);
		return st;
	}
	*entries = list;
	return KOPILKA_OK;
}

enum kopilka_status kopilka_outbox_status(kopilka *h, struct kopilka_outbox_counts *counts,
					  json_t **entries, struct kopilka_error *err)
{
	if (entries)
		*entries = NULL;
	if (!h || !h->outbox)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "no outbox configured");
	if (!counts)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "counts: NULL");
	memset(counts, 0, sizeof(*counts));
	pthread_mutex_lock(&h->outbox_lock);
	struct kk_outbox *o = h->outbox;
	enum kopilka_status st = KOPILKA_OK;
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(o->db, "SELECT state, count(*) FROM outbox GROUP BY state", -1,
			       &stmt, NULL) != SQLITE_OK) {
		st = db_fail(o, err, "read");
		goto cleanup;
	}
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(stmt, 0);
		int64_t n = sqlite3_column_int64(stmt, 1);
		if (!state)
			continue;
		if (strcmp(state, "pending") == 0)
			counts->pending = n;
		else if (strcmp(state, "sent") == 0)
			counts->sent = n;
		else if (strcmp(state, "failed") == 0)
			counts->failed = n;
	}
	if (rc != SQLITE_DONE) {
		st = db_fail(o, err, "read");
		goto cleanup;
	}
	if (entries)
		st = list_entries(o, entries, err);
cleanup:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&h->outbox_lock);
	return st == KOPILKA_OK ? kk_ok(err) : st;
}
