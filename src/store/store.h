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
 * Where each operation lives: most are written once, their SQL in store/statements.h and
 * their C in store/sql_*.c (one file per aggregate: accounts, merchant, catalog, clients,
 * coupons, orders, ledger, holds, reports, check) over the driver of store/sql.h, and every
 * engine's table takes them through SQL_SHARED_OPS. The engines (sqlite.c, pg.c) give the
 * transaction and pool operations, the row locks, the order counter and the client search. A new
 * operation is a member below, a statement, a function and a row of SQL_SHARED_OPS: once.
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

typedef bool (*account_row_fn)(void *ctx, const struct account *a);
typedef bool (*api_key_row_fn)(void *ctx, const struct api_key *k);

/* Search of GET /clients/: patterns already cleaned and compiled by the domain layer. */
struct client_query {
	const struct pattern *phone; /* NULL: no phone condition */
	const struct pattern *email; /* matched against the lower-cased email */
	int64_t offset, limit;
};

/* A failed-login counter shared by every node (API.md 7): for one login or one address. */
struct auth_counter {
	int64_t failures;	 /* within the window */
	int64_t window_start_ms; /* when the window began */
	int64_t locked_until_ms; /* 0: not locked */
};

/* A stored answer to an Idempotency-Key (API.md 6). */
struct idem_record {
	char request_hash[65];
	int status;
	char *body; /* owned */
	int64_t created_ms;
};

typedef bool (*sale_point_row_fn)(void *ctx, const struct sale_point *sp);

/* One broken invariant found by check. */
typedef void (*store_report_fn)(void *ctx, const char *problem);

/* GET /fiscal/orders/: every condition optional (0 / NULL / -1: any). */
struct order_query {
	int64_t from_ms, to_ms;
	int64_t client_id;
	int receipt_type;	       /* -1: any; 0 sale; 1 refund */
	int64_t created_by;	       /* a cashier sees only their own orders */
	const char *fn_like, *fd_like; /* SQL LIKE patterns, '\' escapes */
	int64_t offset, limit;
};

typedef bool (*order_row_fn)(void *ctx, const struct order *o);
typedef bool (*item_row_fn)(void *ctx, const struct order_item *it);
typedef bool (*ledger_row_fn)(void *ctx, const struct ledger_entry *e);
typedef bool (*client_row_fn)(void *ctx, const struct client *c);

/* A merchant's join code as stored: 16 lowercase hex digits and the NUL (room for 32). */
#define MERCHANT_JOIN_CODE_BYTES 33
typedef bool (*coupon_row_fn)(void *ctx, const struct coupon_instance *c);
typedef bool (*catalog_row_fn)(void *ctx, const struct catalog_coupon *c);
/* A client and its balance in one currency (the export). */
typedef bool (*client_balance_row_fn)(void *ctx, const struct client *c, money_t balance_minor);

/* A customer import (issue 14): one per merchant and file hash. */
enum import_status { IMPORT_PREVIEW = 0, IMPORT_APPLIED = 1 };
struct import_rec {
	int64_t id, merchant_id;
	char sha256[65]; /* of the file as uploaded, hex */
	enum import_status status;
	int64_t total_rows, valid_rows, problems;
	char *csv;    /* the file as UTF-8 text; owned (NULL when not read) */
	char *result; /* the apply's answer (JSON) once applied; owned, NULL before */
	int64_t created_by, created_ms, applied_ms;
};
void import_rec_clear(struct import_rec *r);

/* The dashboard (API.md, "Reports"), read from the aggregate tables (store/report_sql.h). Days are
 * UTC days since the epoch. */
#define REPORT_DAYS_MAX 366
#define REPORT_TOP_MAX 10
#define REPORT_MONTHS 3
#define LEDGER_TYPE_COUNT 8

struct report_query {
	enum currency currency; /* the ledger's figures are of this currency */
	int64_t now_ms, today;	/* today: the day of now_ms */
	int64_t first_day;	/* the window: first_day..today, at most REPORT_DAYS_MAX days */
	/* The first days of this month and of the REPORT_MONTHS after it. */
	int64_t month_first_day[REPORT_MONTHS + 1];
};

struct report_day {
	int64_t day;
	int64_t sales, program_sales;		    /* sale receipts, those with a client */
	money_t amount_minor, program_amount_minor; /* sales' totals less refunds' totals */
	money_t ledger_minor[LEDGER_TYPE_COUNT];    /* the ledger rows' sum by enum ledger_type */
};

struct report_dashboard {
	int64_t members, joined_this_month;
	int64_t buyers, repeat_buyers;		 /* clients with >= 1 and >= 2 purchases */
	struct report_day days[REPORT_DAYS_MAX]; /* first_day..today, in order, every day */
	size_t n_days;
	/* The lots not expired at now less the clients' debts, and what of those lots expires in
	 * the rest of this month and in each of the next two. */
	money_t outstanding_minor;
	money_t expiring_minor[REPORT_MONTHS];
	struct client top[REPORT_TOP_MAX]; /* by paid amount, then id; owned (report_clear) */
	size_t n_top;
};
void report_clear(struct report_dashboard *d);

/* A merchant's webhook endpoint (issue 16). */
struct webhook_endpoint {
	int64_t id, merchant_id;
	char *url, *secret; /* owned */
	int64_t events;	    /* a mask of EVENT_MASK(enum event_type) */
	bool active;
	int64_t created_ms;
};
void webhook_endpoint_clear(struct webhook_endpoint *e);

/* An event of the outbox, as written: data is borrowed JSON text. */
struct webhook_event {
	int64_t id, merchant_id, client_id; /* client_id 0: not a client's event */
	char public_id[40];		    /* "evt_" and 32 hex digits */
	int type;			    /* enum event_type */
	int64_t created_ms;
	const char *data;
};

/* A delivery claimed by the worker, with what it sends; strings owned (webhook_job_clear). */
struct webhook_job {
	int64_t id, attempts, first_ms;
	char *url, *secret, *data;
	char event_id[40];
	int type;
	int64_t event_ms;
};
void webhook_job_clear(struct webhook_job *j);

/* A delivery's state. */
enum webhook_status { WEBHOOK_PENDING = 0, WEBHOOK_DELIVERED = 1, WEBHOOK_FAILED = 2 };

/* A row of an endpoint's delivery log; last_error owned. */
struct webhook_delivery {
	int64_t id, attempts, next_ms, created_ms;
	char event_id[40];
	int type;
	enum webhook_status status;
	int64_t last_status; /* the last answer's HTTP status; -1: none */
	char *last_error;    /* the last attempt's error when it got no answer; NULL: none */
};
/* One attempt of a delivery; error borrowed during the row callback. */
struct webhook_attempt {
	int64_t at_ms, http_status, latency_ms; /* http_status -1: no answer */
	const char *error;
};
typedef bool (*webhook_row_fn)(void *ctx, const struct webhook_endpoint *e);
typedef bool (*webhook_job_fn)(void *ctx, struct webhook_job *j);
typedef bool (*webhook_delivery_fn)(void *ctx, const struct webhook_delivery *d);
typedef bool (*webhook_attempt_fn)(void *ctx, const struct webhook_attempt *a);
/* An event of the outbox as stored (data borrowed during the callback). */
typedef bool (*webhook_event_fn)(void *ctx, const struct webhook_event *ev);
typedef bool (*hold_row_fn)(void *ctx, const struct hold *h);

/* A client's pass update claimed by the card updates worker (service/cardupdates.c). */
struct card_update_job {
	int64_t client_id, merchant_id;
	int64_t updated_ms; /* the pass's update tag */
	int64_t attempts;   /* failed rounds so far */
	int64_t first_ms;   /* when it was queued: the retry window starts there */
};
typedef bool (*card_update_fn)(void *ctx, const struct card_update_job *j);
/* A device registered for a pass; strings borrowed during the callback. */
typedef bool (*pass_device_fn)(void *ctx, const char *device_id, const char *push_token,
			       const char *pass_type_id);
/* A pass a device is registered for, with its update tag (0: never updated). */
typedef bool (*pass_serial_fn)(void *ctx, int64_t merchant_id, int64_t client_id,
			       int64_t updated_ms);

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

	/* Merchants and accounts. */
	enum store_rc (*merchant_create)(struct store_conn *c, const char *name, int64_t now,
					 int64_t *id_out) MUST_CHECK;
	/* CONFLICT when the email or phone is another account's login. */
	enum store_rc (*account_create)(struct store_conn *c, const struct account *a,
					int64_t *id_out) MUST_CHECK;
	/* A merchant's employee account (not deleted). */
	enum store_rc (*account_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				     struct account *out) MUST_CHECK;
	/* Any account (owner or employee, not deleted) by id: the caller's own. */
	enum store_rc (*account_self)(struct store_conn *c, int64_t id,
				      struct account *out) MUST_CHECK;
	/* The merchant's employees (not deleted), by id. */
	enum store_rc (*employees_list)(struct store_conn *c, int64_t merchant_id, int64_t offset,
					int64_t limit, account_row_fn row, void *ctx) MUST_CHECK;
	/* Writes email, phone, names, inn and role of a->id (of a->merchant_id), and the password
	 * hash when a->password_hash is not NULL (bumping cred_version). CONFLICT when the email
	 * or phone is another account's login; NOT_FOUND when there is no such employee. */
	enum store_rc (*account_update)(struct store_conn *c, const struct account *a) MUST_CHECK;
	/* Deletes an employee: its logins are freed, its keys revoked, its rows (orders it made)
	 * keep pointing at it. NOT_FOUND when there is no such employee. */
	enum store_rc (*account_delete)(struct store_conn *c, int64_t merchant_id,
					int64_t id) MUST_CHECK;
	enum store_rc (*api_key_create)(struct store_conn *c, const struct api_key *k,
					int64_t *id_out) MUST_CHECK;
	enum store_rc (*api_key_get)(struct store_conn *c, int64_t id,
				     struct api_key *out) MUST_CHECK;
	/* The merchant's keys that are not revoked, by id. */
	enum store_rc (*api_keys_list)(struct store_conn *c, int64_t merchant_id,
				       api_key_row_fn row, void *ctx) MUST_CHECK;
	/* NOT_FOUND when the key is not the merchant's or already revoked. */
	enum store_rc (*api_key_revoke)(struct store_conn *c, int64_t merchant_id, int64_t id,
					int64_t now) MUST_CHECK;
	/* login: a lower-cased email or a phone's digits. */
	enum store_rc (*account_find_login)(struct store_conn *c, const char *login,
					    struct account *out) MUST_CHECK;
	/* The merchant's join code (the public join page /j/{code}) into out; by_join_code:
	 * the merchant of a code (NOT_FOUND: none). */
	enum store_rc (*merchant_join_code)(struct store_conn *c, int64_t merchant_id,
					    char out[MERCHANT_JOIN_CODE_BYTES]) MUST_CHECK;
	enum store_rc (*merchant_by_join_code)(struct store_conn *c, const char *code,
					       int64_t *merchant_id_out) MUST_CHECK;
	/* Self-enrolment (the join page): records the consent (the text's version and when) on
	 * a client, with birthday and name where it holds none (NULL: nothing given); NOT_FOUND
	 * when the client is not the merchant's. */
	enum store_rc (*client_consent)(struct store_conn *c, int64_t merchant_id, int64_t id,
					const char *version, int64_t consent_ms,
					const char *birthday, const char *name) MUST_CHECK;
	/* The pending enrolments: create (id_out may be NULL); get by token (owned:
	 * enrolment_clear; NOT_FOUND: none); attempt: one more wrong code; done: confirmed,
	 * with the client it made or found; count: those created after since_ms with this phone
	 * and from this address (the rate limits); purge: those created at or before before_ms. */
	enum store_rc (*enrolment_create)(struct store_conn *c, const struct enrolment *e,
					  int64_t *id_out) MUST_CHECK;
	enum store_rc (*enrolment_get)(struct store_conn *c, const char *token,
				       struct enrolment *out) MUST_CHECK;
	enum store_rc (*enrolment_attempt)(struct store_conn *c, int64_t id) MUST_CHECK;
	enum store_rc (*enrolment_done)(struct store_conn *c, int64_t id,
					int64_t client_id) MUST_CHECK;
	enum store_rc (*enrolments_count)(struct store_conn *c, const char *phone, const char *addr,
					  int64_t since_ms, int64_t *by_phone,
					  int64_t *by_addr) MUST_CHECK;
	enum store_rc (*enrolments_purge)(struct store_conn *c, int64_t before_ms) MUST_CHECK;
	enum store_rc (*settings_get)(struct store_conn *c, int64_t merchant_id,
				      struct loyalty_settings *out) MUST_CHECK;
	enum store_rc (*settings_put)(struct store_conn *c, int64_t merchant_id,
				      const struct loyalty_settings *s) MUST_CHECK;
	/* Lockout counters, keyed by a digest naming a login or an address. get: NOT_FOUND when
	 * there is none; put: insert or replace. */
	enum store_rc (*auth_counter_get)(struct store_conn *c, const char *key,
					  struct auth_counter *out) MUST_CHECK;
	enum store_rc (*auth_counter_put)(struct store_conn *c, const char *key,
					  const struct auth_counter *in) MUST_CHECK;
	/* The merchant cabinet's sessions (api/session.c), keyed by the SHA-256 (hex) of the
	 * cookie token. create: CONFLICT when the hash exists. get: the row and the merchant's
	 * name (out->merchant_name owned: lk_session_clear); NOT_FOUND when none. touch: writes
	 * seen_ms when it moves the time forward. delete: OK whether or not it existed. purge:
	 * removes those seen at or before idle_before_ms or created at or before
	 * created_before_ms; *n_out: how many. */
	enum store_rc (*lk_session_create)(struct store_conn *c,
					   const struct lk_session *s) MUST_CHECK;
	enum store_rc (*lk_session_get)(struct store_conn *c, const char *token_hash,
					struct lk_session *out) MUST_CHECK;
	enum store_rc (*lk_session_touch)(struct store_conn *c, const char *token_hash,
					  int64_t seen_ms) MUST_CHECK;
	enum store_rc (*lk_session_delete)(struct store_conn *c, const char *token_hash) MUST_CHECK;
	enum store_rc (*lk_sessions_purge)(struct store_conn *c, int64_t idle_before_ms,
					   int64_t created_before_ms, int64_t *n_out) MUST_CHECK;
	/* Small settings documents of a merchant (the write-off rules, the contact info), stored
	 * as validated JSON text by name. get: NOT_FOUND when never written; *json_out is the
	 * caller's to free. put: insert or replace. */
	enum store_rc (*document_get)(struct store_conn *c, int64_t merchant_id, const char *name,
				      char **json_out) MUST_CHECK;
	enum store_rc (*document_put)(struct store_conn *c, int64_t merchant_id, const char *name,
				      const char *json) MUST_CHECK;
	/* Idempotency-Key records, scoped by merchant, "METHOD route" and key. get: NOT_FOUND
	 * when none newer than not_before_ms; put: CONFLICT when one exists. */
	enum store_rc (*idem_get)(struct store_conn *c, int64_t merchant_id, const char *scope,
				  const char *key, int64_t not_before_ms,
				  struct idem_record *out) MUST_CHECK;
	enum store_rc (*idem_put)(struct store_conn *c, int64_t merchant_id, const char *scope,
				  const char *key, const struct idem_record *in) MUST_CHECK;
	/* Deletes records created before before_ms; *n_out: how many. */
	enum store_rc (*idem_purge)(struct store_conn *c, int64_t before_ms,
				    int64_t *n_out) MUST_CHECK;
	/* Sale points by id. save: id 0 inserts (*id_out set), else updates (NOT_FOUND when not
	 * the merchant's). */
	enum store_rc (*sale_points_list)(struct store_conn *c, int64_t merchant_id,
					  sale_point_row_fn row, void *ctx) MUST_CHECK;
	enum store_rc (*sale_point_save)(struct store_conn *c, const struct sale_point *sp,
					 int64_t *id_out) MUST_CHECK;
	enum store_rc (*sale_point_delete)(struct store_conn *c, int64_t merchant_id,
					   int64_t id) MUST_CHECK;
	/* The next order number of a merchant (a counter that only grows; on PostgreSQL a
	 * sequence per merchant, so a rolled-back write leaves a gap). */
	enum store_rc (*order_number_next)(struct store_conn *c, int64_t merchant_id,
					   int64_t *number_out) MUST_CHECK;

	/* Clients. Phone is digits; email lookups take the lower-cased email. */
	enum store_rc (*client_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				    struct client *out) MUST_CHECK;
	enum store_rc (*client_find_phone)(struct store_conn *c, int64_t merchant_id,
					   const char *phone, struct client *out) MUST_CHECK;
	enum store_rc (*client_find_email)(struct store_conn *c, int64_t merchant_id,
					   const char *email_lc, struct client *out) MUST_CHECK;
	enum store_rc (*client_find_token)(struct store_conn *c, int64_t merchant_id,
					   const char *token, struct client *out) MUST_CHECK;
	/* A client by its token, whatever its merchant (tokens are unique across merchants: the
	 * public card page /c/{token}). */
	enum store_rc (*client_by_token)(struct store_conn *c, const char *token,
					 struct client *out) MUST_CHECK;
	/* CONFLICT when phone, email or token is taken within the merchant. */
	enum store_rc (*client_create)(struct store_conn *c, const struct client *cl,
				       int64_t *id_out) MUST_CHECK;
	/* Writes email, phone, name, avatar and birthday of cl->id (of cl->merchant_id). CONFLICT
	 * when the phone or email is another client's; NOT_FOUND when there is no such client. */
	enum store_rc (*client_update)(struct store_conn *c, const struct client *cl) MUST_CHECK;
	/* Calls row for each match in the order of API.md 2.1 until it returns false. */
	enum store_rc (*client_search)(struct store_conn *c, int64_t merchant_id,
				       const struct client_query *q, client_row_fn row,
				       void *ctx) MUST_CHECK;
	/* Adds the deltas to a client's statistics. */
	enum store_rc (*client_stats_add)(struct store_conn *c, int64_t client_id, int64_t d_total,
					  int64_t d_paid, money_t d_total_amount,
					  money_t d_paid_amount) MUST_CHECK;

	/* Balances, lots, ledger. */
	enum store_rc (*balance_get)(struct store_conn *c, int64_t client_id, enum currency cur,
				     struct balance *out) MUST_CHECK;
	enum store_rc (*balance_add)(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				     enum currency cur, money_t d_balance, money_t d_debt,
				     money_t d_held) MUST_CHECK;
	/* Sum of the client's lots of that currency not expired at now. */
	enum store_rc (*lots_unexpired_sum)(struct store_conn *c, int64_t client_id,
					    enum currency cur, int64_t now,
					    money_t *sum_out) MUST_CHECK;
	/* The client's lots with remaining > 0 not expired at now, soonest-expiring first
	 * (never-expiring last), at most max; *n_out is how many were written. */
	enum store_rc (*lots_spendable)(struct store_conn *c, int64_t client_id, enum currency cur,
					int64_t now, struct lot *out, size_t max,
					size_t *n_out) MUST_CHECK;
	enum store_rc (*lot_get)(struct store_conn *c, int64_t lot_id, struct lot *out) MUST_CHECK;
	enum store_rc (*lot_create)(struct store_conn *c, int64_t merchant_id, const struct lot *l,
				    int64_t *id_out) MUST_CHECK;
	enum store_rc (*lot_add)(struct store_conn *c, int64_t lot_id, money_t delta) MUST_CHECK;
	/* Lots with remaining > 0 whose expiry is <= now, oldest first, at most max. */
	enum store_rc (*lots_expired)(struct store_conn *c, int64_t now, struct lot *out,
				      size_t max, size_t *n_out) MUST_CHECK;
	enum store_rc (*ledger_add)(struct store_conn *c, const struct ledger_entry *e) MUST_CHECK;
	/* A client's ledger rows with from <= created_ms <= to, newest first (then by id). */
	enum store_rc (*ledger_list)(struct store_conn *c, int64_t client_id, int64_t from,
				     int64_t to, int64_t offset, int64_t limit, ledger_row_fn row,
				     void *ctx) MUST_CHECK;
	/* Erases the personal data of a client of the merchant (POST /clients/{id}/erase/), all
	 * or nothing (a savepoint): email, phone, name and avatar cleared, the token replaced by
	 * erased_token (never 32 hex, so no lookup by token finds it), erased_ms = now; the
	 * customer comments of its orders cleared; its coupon instances' tokens replaced and
	 * their 6-digit codes freed, those still usable revoked; the merchant's Idempotency-Key
	 * answers that contain old_token deleted. Orders, items, lots, ledger rows and holds are
	 * left as they are. NOT_FOUND when there is no such client or it is erased already. */
	enum store_rc (*client_erase)(struct store_conn *c, int64_t merchant_id, int64_t id,
				      const char *old_token, const char *erased_token,
				      int64_t now) MUST_CHECK;
	/* Every coupon instance of the client, whatever its status, by id (the export). */
	enum store_rc (*client_coupons)(struct store_conn *c, int64_t merchant_id,
					int64_t client_id, coupon_row_fn row, void *ctx) MUST_CHECK;
	/* Every hold of the client, whatever its status, by id (the export). */
	enum store_rc (*client_holds)(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				      hold_row_fn row, void *ctx) MUST_CHECK;
	/* The outbox's events that name the client, by id (the export and the erasure). */
	enum store_rc (*client_events)(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				       webhook_event_fn row, void *ctx) MUST_CHECK;
	/* Replaces an event's data (the erasure's scrubbed copy). */
	enum store_rc (*event_set_data)(struct store_conn *c, int64_t id,
					const char *data) MUST_CHECK;
	/* Records a take of an order, or of a hold when t->hold_id is set. */
	enum store_rc (*lot_take_add)(struct store_conn *c, const struct lot_take *t) MUST_CHECK;
	/* The lots an order's spend took from, latest-expiring first, at most max. */
	enum store_rc (*lot_takes_get)(struct store_conn *c, int64_t order_id, struct lot_take *out,
				       size_t max, size_t *n_out) MUST_CHECK;
	enum store_rc (*lot_take_returned)(struct store_conn *c, int64_t order_id, int64_t lot_id,
					   money_t returned_minor) MUST_CHECK;

	/* Coupon catalog. */
	enum store_rc (*catalog_create)(struct store_conn *c, const struct catalog_coupon *cc,
					int64_t *id_out) MUST_CHECK;
	enum store_rc (*catalog_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				     struct catalog_coupon *out) MUST_CHECK;
	enum store_rc (*catalog_list)(struct store_conn *c, int64_t merchant_id, int64_t offset,
				      int64_t limit, catalog_row_fn row, void *ctx) MUST_CHECK;
	/* Writes the texts, image path, style and validity of cc->id (of cc->merchant_id).
	 * NOT_FOUND when it is not this merchant's. Issued instances keep their expiry. */
	enum store_rc (*catalog_update)(struct store_conn *c,
					const struct catalog_coupon *cc) MUST_CHECK;
	/* Marks a catalog coupon deleted (no new issues; issued ones live on). NOT_FOUND when
	 * it is not this merchant's. */
	enum store_rc (*catalog_delete)(struct store_conn *c, int64_t merchant_id,
					int64_t id) MUST_CHECK;

	/* Coupon instances. CONFLICT when a token or a 6-digit code is already in use among the
	 * merchant's usable coupons (draw new ones and try again). */
	enum store_rc (*coupon_issue)(struct store_conn *c, const struct coupon_instance *ci,
				      int64_t *id_out) MUST_CHECK;
	enum store_rc (*coupon_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				    struct coupon_instance *out) MUST_CHECK;
	/* The instance a scanned token names: kind 0 its token, 1 its shareToken, 2 either of
	 * its 6-digit codes (codes name usable instances only). NOT_FOUND when none. */
	enum store_rc (*coupon_find_token)(struct store_conn *c, int64_t merchant_id, int kind,
					   const char *token, int64_t *id_out) MUST_CHECK;
	/* The client's usable coupons at now (issued, not expired), by id. */
	enum store_rc (*coupons_usable)(struct store_conn *c, int64_t merchant_id,
					int64_t client_id, int64_t now, coupon_row_fn row,
					void *ctx) MUST_CHECK;
	/* Sets status and redeemed order (0 clears it). Leaving ISSUED frees the 6-digit codes;
	 * returning to ISSUED claims them again (CONFLICT when taken meanwhile). */
	enum store_rc (*coupon_set_status)(struct store_conn *c, int64_t id,
					   enum coupon_status status,
					   int64_t redeemed_order_id) MUST_CHECK;
	/* Replaces both 6-digit codes of an instance (after a CONFLICT on re-claiming). */
	enum store_rc (*coupon_set_codes)(struct store_conn *c, int64_t id, const char *code,
					  const char *share_code) MUST_CHECK;
	/* Ids of the instances an order redeemed (by=0) or issued (by=1), or a hold reserved
	 * or redeemed (by=2, order_id being the hold's id), at most max. */
	enum store_rc (*coupons_of_order)(struct store_conn *c, int64_t order_id, int by,
					  int64_t *ids, size_t max, size_t *n_out) MUST_CHECK;
	/* Ties an instance to a hold (0 unties it). */
	enum store_rc (*coupon_set_hold)(struct store_conn *c, int64_t id,
					 int64_t hold_id) MUST_CHECK;
	/* Records that a shared instance was redeemed by a friend (client) who got instance
	 * given_id. CONFLICT when it was redeemed before. */
	enum store_rc (*coupon_share_mark)(struct store_conn *c, int64_t id, int64_t client_id,
					   int64_t given_id, int64_t now) MUST_CHECK;
	/* Who redeemed an instance's share and the instance they got (0, 0: not redeemed), and
	 * the instance whose share it was given for (0: it was not received through a share). */
	enum store_rc (*coupon_share_get)(struct store_conn *c, int64_t id, int64_t *client_out,
					  int64_t *given_out, int64_t *source_out) MUST_CHECK;

	/* Holds. create: CONFLICT when the transaction id exists. get: by transaction id, of the
	 * merchant. update: status, ended_ms, order_id and fiscal_order_id of h->id. */
	enum store_rc (*hold_create)(struct store_conn *c, const struct hold *h,
				     int64_t *id_out) MUST_CHECK;
	enum store_rc (*hold_get)(struct store_conn *c, int64_t merchant_id,
				  const char *transaction_id, struct hold *out) MUST_CHECK;
	enum store_rc (*hold_update)(struct store_conn *c, const struct hold *h) MUST_CHECK;
	/* ACTIVE holds whose expiry is <= now, of one client (client_id > 0) or of all, oldest
	 * first, at most max (the caller clears each). */
	enum store_rc (*holds_expired)(struct store_conn *c, int64_t client_id, int64_t now,
				       struct hold *out, size_t max, size_t *n_out) MUST_CHECK;
	/* What the client's expired but not yet released holds of that currency took from lots
	 * that are unexpired at now: the points a read must count as released. */
	enum store_rc (*holds_expired_sum)(struct store_conn *c, int64_t client_id,
					   enum currency cur, int64_t now,
					   money_t *sum_out) MUST_CHECK;
	/* The lots a hold took from, at most max (order_id 0, returned 0 in each). */
	enum store_rc (*hold_takes_get)(struct store_conn *c, int64_t hold_id, struct lot_take *out,
					size_t max, size_t *n_out) MUST_CHECK;

	/* Orders. The order of (merchant, externalId, receiptType, refund_key): refund_key is ""
	 * but for a refund in the seed's form (see struct order). */
	enum store_rc (*order_find_external)(struct store_conn *c, int64_t merchant_id,
					     const char *external_id, bool refund,
					     const char *refund_key, struct order *out) MUST_CHECK;
	enum store_rc (*order_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				   struct order *out) MUST_CHECK;
	/* An order by its public receipt token, whatever its merchant (the public page). */
	enum store_rc (*order_by_token)(struct store_conn *c, const char *token,
					struct order *out) MUST_CHECK;
	/* CONFLICT when (merchant, externalId, receiptType, refund_key) exists. */
	enum store_rc (*order_create)(struct store_conn *c, const struct order *o,
				      int64_t *id_out) MUST_CHECK;
	/* Orders matching q, newest first (then by id). */
	enum store_rc (*orders_list)(struct store_conn *c, int64_t merchant_id,
				     const struct order_query *q, order_row_fn row,
				     void *ctx) MUST_CHECK;
	/* An order's items by line. */
	enum store_rc (*order_items)(struct store_conn *c, int64_t merchant_id, int64_t order_id,
				     item_row_fn row, void *ctx) MUST_CHECK;
	/* Records the customer's reaction (1..3) and comment on an order. */
	enum store_rc (*order_set_reaction)(struct store_conn *c, int64_t order_id, int reaction,
					    const char *comment) MUST_CHECK;
	/* Adds to a client's review counts. */
	enum store_rc (*client_reviews_add)(struct store_conn *c, int64_t client_id, int64_t d_pos,
					    int64_t d_neu, int64_t d_neg) MUST_CHECK;
	/* Stores the refund progress of a sale (the cumulative fields and fully_refunded). */
	enum store_rc (*order_refund_progress)(struct store_conn *c,
					       const struct order *sale) MUST_CHECK;
	enum store_rc (*order_set_response)(struct store_conn *c, int64_t id,
					    const char *response) MUST_CHECK;
	enum store_rc (*item_create)(struct store_conn *c, const struct order_item *it,
				     int64_t *id_out) MUST_CHECK;
	enum store_rc (*item_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				  struct order_item *out) MUST_CHECK;
	enum store_rc (*item_refunded)(struct store_conn *c, int64_t id, int64_t refunded_qty_milli,
				       money_t refunded_total_minor) MUST_CHECK;

	/* The merchant's dashboard for q into *out (zeroed first; report_clear it after OK).
	 * Run it inside one read transaction, so that every figure is of one moment. */
	enum store_rc (*report_dashboard)(struct store_conn *c, int64_t merchant_id,
					  const struct report_query *q,
					  struct report_dashboard *out) MUST_CHECK;

	/* Customer imports. create: CONFLICT when the merchant has one of that hash. get: by id,
	 * find: by hash, of the merchant (NOT_FOUND when none). update: status, counts, result
	 * and applied_ms of r->id. */
	enum store_rc (*import_create)(struct store_conn *c, const struct import_rec *r,
				       int64_t *id_out) MUST_CHECK;
	enum store_rc (*import_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				    struct import_rec *out) MUST_CHECK;
	enum store_rc (*import_find)(struct store_conn *c, int64_t merchant_id, const char *sha256,
				     struct import_rec *out) MUST_CHECK;
	enum store_rc (*import_update)(struct store_conn *c, const struct import_rec *r) MUST_CHECK;
	/* The exports, paged by id: at most limit of the merchant's clients (with their balance
	 * in cur) or orders whose id is above after_id, by id. */
	enum store_rc (*clients_export)(struct store_conn *c, int64_t merchant_id,
					enum currency cur, int64_t after_id, int64_t limit,
					client_balance_row_fn row, void *ctx) MUST_CHECK;
	enum store_rc (*orders_export)(struct store_conn *c, int64_t merchant_id, int64_t after_id,
				       int64_t limit, order_row_fn row, void *ctx) MUST_CHECK;

	/* Webhook endpoints (issue 16), of a merchant. create: *id_out set. update: url, secret,
	 * events and active of e->id; NOT_FOUND when not the merchant's. delete: the endpoint with
	 * its deliveries and their attempts; NOT_FOUND when not the merchant's. */
	enum store_rc (*webhook_create)(struct store_conn *c, const struct webhook_endpoint *e,
					int64_t *id_out) MUST_CHECK;
	enum store_rc (*webhook_get)(struct store_conn *c, int64_t merchant_id, int64_t id,
				     struct webhook_endpoint *out) MUST_CHECK;
	enum store_rc (*webhooks_list)(struct store_conn *c, int64_t merchant_id,
				       webhook_row_fn row, void *ctx) MUST_CHECK;
	enum store_rc (*webhook_update)(struct store_conn *c,
					const struct webhook_endpoint *e) MUST_CHECK;
	enum store_rc (*webhook_delete)(struct store_conn *c, int64_t merchant_id,
					int64_t id) MUST_CHECK;
	/* The union of the event masks of the merchant's active endpoints (0: none). */
	enum store_rc (*webhook_mask)(struct store_conn *c, int64_t merchant_id,
				      int64_t *mask_out) MUST_CHECK;
	/* The outbox: writes ev (ev->id set) and one pending delivery, due at ev->created_ms, per
	 * active endpoint of its merchant subscribed to its type. */
	enum store_rc (*event_create)(struct store_conn *c, struct webhook_event *ev) MUST_CHECK;
	/* Sets every delivery of the merchant's event public_id pending again, due now, with a
	 * new retry window; *n_out: how many. NOT_FOUND when there is no such event. */
	enum store_rc (*event_redeliver)(struct store_conn *c, int64_t merchant_id,
					 const char *public_id, int64_t now,
					 int64_t *n_out) MUST_CHECK;
	/* Claims at most max due deliveries under a lease (token, until lease_until) that no
	 * other claim holds, none of them behind a pending earlier event of its client for its
	 * endpoint, and calls row for each (the job is the callee's to clear). Run it in a write
	 * transaction: the lease is what keeps another node from the same delivery. */
	enum store_rc (*webhook_claim)(struct store_conn *c, int64_t now, int64_t lease_until,
				       const char *token, size_t max, webhook_job_fn row,
				       void *ctx) MUST_CHECK;
	/* Records an attempt of a delivery claimed with token: its state after it (status,
	 * next_ms), the answer's HTTP status (-1: none) or the error, the latency; the lease
	 * ends. NOT_FOUND when the lease was lost (redelivered meanwhile): the attempt is still
	 * logged. */
	enum store_rc (*webhook_record)(struct store_conn *c, int64_t delivery_id,
					const char *token, enum webhook_status status,
					int64_t next_ms, int64_t http_status, const char *error,
					int64_t latency_ms, int64_t now) MUST_CHECK;
	/* An endpoint's deliveries, newest first, paged. */
	enum store_rc (*webhook_deliveries)(struct store_conn *c, int64_t merchant_id,
					    int64_t endpoint_id, int64_t offset, int64_t limit,
					    webhook_delivery_fn row, void *ctx) MUST_CHECK;
	/* A delivery's latest attempts, newest first, at most max. */
	enum store_rc (*webhook_attempts)(struct store_conn *c, int64_t delivery_id, int64_t max,
					  webhook_attempt_fn row, void *ctx) MUST_CHECK;
	/* Lots with points left expiring in (now, until] of merchants with an active endpoint
	 * subscribed to mask, not noticed yet, soonest first, at most max; notice: records that
	 * lot's notice (OK when it was recorded before). */
	enum store_rc (*lots_expiring)(struct store_conn *c, int64_t now, int64_t until,
				       int64_t mask, struct lot *out, size_t max,
				       size_t *n_out) MUST_CHECK;
	enum store_rc (*lot_notice_add)(struct store_conn *c, int64_t lot_id,
					int64_t now) MUST_CHECK;

	/* Apple Wallet pass updates (issue 15, sql_wallet.c). pass_register: device_id's
	 * registration for the pass of client_id under pass_type_id with push_token, *created
	 * true when new (false: the push token replaced). pass_unregister: OK whether or not it
	 * was there. pass_serials: the device's passes whose tag is above since (-1: all). */
	enum store_rc (*pass_register)(struct store_conn *c, const char *device_id,
				       const char *pass_type_id, int64_t merchant_id,
				       int64_t client_id, const char *push_token, int64_t now,
				       bool *created) MUST_CHECK;
	enum store_rc (*pass_unregister)(struct store_conn *c, const char *device_id,
					 const char *pass_type_id, int64_t client_id) MUST_CHECK;
	enum store_rc (*pass_serials)(struct store_conn *c, const char *device_id,
				      const char *pass_type_id, int64_t since, pass_serial_fn row,
				      void *ctx) MUST_CHECK;
	/* The devices registered for client_id's pass. */
	enum store_rc (*pass_devices)(struct store_conn *c, int64_t client_id, pass_device_fn row,
				      void *ctx) MUST_CHECK;
	/* Drops one registration (APNs said the push token is no longer valid). */
	enum store_rc (*pass_device_drop)(struct store_conn *c, int64_t client_id,
					  const char *device_id, const char *push_token) MUST_CHECK;
	/* The pass's update tag; 0 when it never changed since a device registered. */
	enum store_rc (*card_update_tag)(struct store_conn *c, int64_t client_id,
					 int64_t *tag_out) MUST_CHECK;
	/* In the change's transaction: when a device is registered for the client's pass, queues
	 * its update (coalesced per client) and moves its tag. Nothing when none is. */
	enum store_rc (*card_update_note)(struct store_conn *c, int64_t merchant_id,
					  int64_t client_id, int64_t now) MUST_CHECK;
	/* Claims at most max due updates under a lease (token, until lease_until) no other claim
	 * holds, and calls row for each. In a write transaction, as webhook_claim. */
	enum store_rc (*card_updates_claim)(struct store_conn *c, int64_t now, int64_t lease_until,
					    const char *token, size_t max, card_update_fn row,
					    void *ctx) MUST_CHECK;
	/* Ends a claimed update: done (sent, or given up), or due again at next_ms with one
	 * more attempt counted. NOT_FOUND when the lease was lost (a newer change queued it
	 * again meanwhile). */
	enum store_rc (*card_update_record)(struct store_conn *c, int64_t client_id,
					    const char *token, bool done,
					    int64_t next_ms) MUST_CHECK;

	/* Verifies the ledger invariants of API.md 3.1; reports each violation. *problems_out
	 * counts them. */
	enum store_rc (*check)(struct store_conn *c, int64_t now, store_report_fn report, void *ctx,
			       int64_t *problems_out) MUST_CHECK;
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

/* Shorthand: STORE(conn, op, args...) calls conn's engine. */
#define STORE(c, op, ...) ((c)->ops->op((c), ##__VA_ARGS__))

#endif
