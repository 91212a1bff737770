/* SQLite engine of the storage interface (see store.h and sqlite.h).
 *
 * Each pooled connection keeps its prepared statements for its whole life. Writers open their
 * transaction with BEGIN IMMEDIATE so the write lock is taken before the first read: in WAL
 * mode a deferred transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT. */
#include "store/sqlite.h"
#include "store/columns.h"
#include "store/pool.h"

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
#include "store/sqlite_schema.h"

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
	X(MERCHANT_CREATE, "INSERT INTO merchants(name, created_ms) VALUES (?, ?)")                \
	X(ACCOUNT_CREATE, "INSERT INTO accounts(merchant_id, kind, role, email, email_lc, phone,"  \
			  " password_hash, first_name, last_name, created_ms, inn, staff_login)"   \
			  " VALUES (?, ?, ?, ?, lower(?), ?, ?, ?, ?, ?, ?, ?)")                   \
	X(ACCOUNT_FIND, "SELECT " ACCOUNT_COLS " FROM accounts"                                    \
			" WHERE (email_lc = ?1 OR phone = ?1) AND deleted = 0")                    \
	X(ACCOUNT_GET, "SELECT " ACCOUNT_COLS " FROM accounts WHERE merchant_id = ? AND id = ?"    \
		       " AND kind = 1 AND deleted = 0")                                            \
	X(ACCOUNT_SELF, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ? AND deleted = 0")      \
	X(EMPLOYEES_LIST, "SELECT " ACCOUNT_COLS " FROM accounts WHERE merchant_id = ?"            \
			  " AND kind = 1 AND deleted = 0 ORDER BY id LIMIT ? OFFSET ?")            \
	X(ACCOUNT_UPDATE, "UPDATE accounts SET email = ?, email_lc = lower(?), phone = ?,"         \
			  " first_name = ?, last_name = ?, inn = ?, role = ?,"                     \
			  " password_hash = coalesce(?, password_hash),"                           \
			  " cred_version = cred_version + (? IS NOT NULL)"                         \
			  " WHERE merchant_id = ? AND id = ? AND kind = 1 AND deleted = 0"         \
			  " RETURNING id")                                                         \
	X(ACCOUNT_DELETE, "UPDATE accounts SET deleted = 1, email = NULL, email_lc = NULL,"        \
			  " phone = NULL, cred_version = cred_version + 1"                         \
			  " WHERE merchant_id = ? AND id = ? AND kind = 1 AND deleted = 0"         \
			  " RETURNING id")                                                         \
	X(KEYS_REVOKE_ACCOUNT, "UPDATE api_keys SET revoked_ms = ? WHERE account_id = ?"           \
			       " AND revoked_ms IS NULL")                                          \
	X(KEY_CREATE, "INSERT INTO api_keys(merchant_id, account_id, key_hash, created_ms)"        \
		      " VALUES (?, ?, ?, ?)")                                                      \
	X(KEY_GET, "SELECT id, merchant_id, account_id, key_hash, created_ms, revoked_ms"          \
		   " FROM api_keys WHERE id = ?")                                                  \
	X(KEYS_LIST, "SELECT id, merchant_id, account_id, key_hash, created_ms, revoked_ms"        \
		     " FROM api_keys WHERE merchant_id = ? AND revoked_ms IS NULL ORDER BY id")    \
	X(KEY_REVOKE, "UPDATE api_keys SET revoked_ms = ? WHERE merchant_id = ? AND id = ?"        \
		      " AND revoked_ms IS NULL RETURNING id")                                      \
	X(SETTINGS_GET, "SELECT active, currency, new_coupon_id, new_type, new_amount,"            \
			" new_valid_days, cust_coupon_id, cust_type, cust_amount, cust_valid_days," \
			" auto_register, max_spend_percent FROM merchants WHERE id = ?")           \
	X(SETTINGS_PUT, "UPDATE merchants SET active = ?, currency = ?, new_coupon_id = ?,"        \
			" new_type = ?, new_amount = ?, new_valid_days = ?, cust_coupon_id = ?,"   \
			" cust_type = ?, cust_amount = ?, cust_valid_days = ?, auto_register = ?," \
			" max_spend_percent = ? WHERE id = ?")                                     \
	X(IDEM_GET, "SELECT request_hash, status, body, created_ms FROM idempotency"               \
		    " WHERE merchant_id = ? AND scope = ? AND key = ? AND created_ms >= ?")        \
	X(IDEM_PUT, "INSERT INTO idempotency(merchant_id, scope, key, request_hash, status, body," \
		    " created_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1")   \
	X(IDEM_PURGE, "DELETE FROM idempotency WHERE created_ms < ?")                              \
	X(SP_LIST, "SELECT id, merchant_id, region, city, address, phone FROM sale_points"         \
		   " WHERE merchant_id = ? ORDER BY id")                                           \
	X(SP_INSERT, "INSERT INTO sale_points(merchant_id, region, city, address, phone)"          \
		     " VALUES (?, ?, ?, ?, ?)")                                                    \
	X(SP_UPDATE, "UPDATE sale_points SET region = ?, city = ?, address = ?, phone = ?"         \
		     " WHERE merchant_id = ? AND id = ? RETURNING id")                             \
	X(SP_DELETE, "DELETE FROM sale_points WHERE merchant_id = ? AND id = ? RETURNING id")      \
	X(DOC_GET, "SELECT json FROM merchant_documents WHERE merchant_id = ? AND name = ?")       \
	X(DOC_PUT, "INSERT OR REPLACE INTO merchant_documents(merchant_id, name, json)"            \
		   " VALUES (?, ?, ?)")                                                            \
	X(AUTH_COUNTER_GET, "SELECT failures, window_start_ms, locked_until_ms FROM auth_counters"  \
			    " WHERE key = ?")                                                      \
	X(AUTH_COUNTER_PUT, "INSERT OR REPLACE INTO auth_counters(key, failures, window_start_ms," \
			    " locked_until_ms) VALUES (?, ?, ?, ?)")                               \
	X(ORDER_SEQ, "UPDATE merchants SET order_seq = order_seq + 1 WHERE id = ?"                 \
		     " RETURNING order_seq")                                                       \
	X(CLIENT_GET, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = ? AND id = ?")     \
	X(CLIENT_FIND_PHONE, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = ? AND phone = ?")                               \
	X(CLIENT_FIND_EMAIL, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = ? AND email_lc = ?")                            \
	X(CLIENT_FIND_TOKEN, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = ? AND token = ?")                               \
	X(LEDGER_LIST, "SELECT id, merchant_id, client_id, currency, amount, type, order_id,"      \
		       " hold_id, created_ms FROM ledger WHERE client_id = ? AND created_ms >= ?"  \
		       " AND created_ms <= ? ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?")  \
	X(CLIENT_CREATE, "INSERT INTO clients(merchant_id, email, email_lc, phone, name,"          \
			 " avatar_url, token, created_ms) VALUES (?, ?, lower(?), ?, ?, ?, ?, ?)") \
	X(CLIENT_UPDATE, "UPDATE clients SET email = ?, email_lc = lower(?), phone = ?, name = ?,"  \
			 " avatar_url = ? WHERE merchant_id = ? AND id = ? RETURNING id")          \
	X(CLIENT_STATS, "UPDATE clients SET total_purchases = total_purchases + ?,"                \
			" paid_purchases = paid_purchases + ?, total_amount = total_amount + ?,"   \
			" paid_amount = paid_amount + ? WHERE id = ?")                             \
	X(BALANCE_GET, "SELECT balance, debt, held FROM balances"                                  \
		       " WHERE client_id = ? AND currency = ?")                                    \
	X(BALANCE_ADD, "INSERT INTO balances(merchant_id, client_id, currency, balance, debt, held)" \
		       " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, currency) DO UPDATE"    \
		       " SET balance = balance + excluded.balance, debt = debt + excluded.debt,"   \
		       " held = held + excluded.held")                                             \
	X(LOTS_SUM, "SELECT coalesce(sum(remaining), 0) FROM lots WHERE client_id = ?"             \
		    " AND currency = ? AND remaining > 0 AND (expires_ms IS NULL OR expires_ms > ?)") \
	X(LOTS_SPENDABLE, "SELECT " LOT_COLS " FROM lots WHERE client_id = ? AND currency = ?"     \
			  " AND remaining > 0 AND (expires_ms IS NULL OR expires_ms > ?)"          \
			  " ORDER BY expires_ms IS NULL, expires_ms, id LIMIT ?")                  \
	X(LOT_GET, "SELECT " LOT_COLS " FROM lots WHERE id = ?")                                   \
	X(LOT_CREATE, "INSERT INTO lots(merchant_id, client_id, currency, remaining, original,"    \
		      " expires_ms, order_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")        \
	X(LOT_ADD, "UPDATE lots SET remaining = remaining + ? WHERE id = ?")                       \
	X(LOTS_EXPIRED, "SELECT " LOT_COLS " FROM lots WHERE remaining > 0"                        \
			" AND expires_ms <= ? ORDER BY expires_ms, id LIMIT ?")                    \
	X(LEDGER_ADD, "INSERT INTO ledger(merchant_id, client_id, currency, amount, type,"         \
		      " order_id, hold_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")           \
	X(TAKE_ADD, "INSERT INTO lot_takes(order_id, lot_id, taken, returned) VALUES (?, ?, ?, ?)") \
	X(TAKES_GET, "SELECT t.order_id, t.lot_id, t.taken, t.returned, l.expires_ms"              \
		     " FROM lot_takes t JOIN lots l ON l.id = t.lot_id WHERE t.order_id = ?"       \
		     " ORDER BY l.expires_ms IS NULL DESC, l.expires_ms DESC, l.id DESC LIMIT ?")  \
	X(TAKE_RETURNED, "UPDATE lot_takes SET returned = ? WHERE order_id = ? AND lot_id = ?")    \
	X(CATALOG_CREATE, "INSERT INTO coupons(merchant_id, title, header, sub_header,"            \
			  " short_description, long_description, image_path, style, valid_days,"   \
			  " valid_until, deleted, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")   \
	X(CATALOG_GET, "SELECT " CATALOG_COLS " FROM coupons WHERE merchant_id = ? AND id = ?")   \
	X(CATALOG_UPDATE, "UPDATE coupons SET title = ?, header = ?, sub_header = ?,"              \
			  " short_description = ?, long_description = ?, image_path = ?, style = ?," \
			  " valid_days = ?, valid_until = ? WHERE merchant_id = ? AND id = ?"        \
			  " RETURNING id")                                                         \
	X(CATALOG_DELETE, "UPDATE coupons SET deleted = 1 WHERE merchant_id = ? AND id = ?"        \
			  " RETURNING id")                                                         \
	X(CATALOG_LIST, "SELECT " CATALOG_COLS " FROM coupons WHERE merchant_id = ?"               \
			" ORDER BY id LIMIT ? OFFSET ?")                                           \
	X(COUPON_ISSUE, "INSERT INTO coupon_instances(merchant_id, client_id, coupon_id, status,"  \
			" issued_ms, expires_ms, token, share_token, merchant_token,"              \
			" merchant_share_token, issued_order_id, redeemed_order_id)"               \
			" VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, NULL)")                         \
	X(CODE_CLAIM, "INSERT INTO coupon_codes(merchant_id, code, instance_id) VALUES (?, ?, ?)")  \
	X(CODES_FREE, "DELETE FROM coupon_codes WHERE instance_id = ?")                            \
	X(COUPON_OWNER, "SELECT merchant_id, merchant_token, merchant_share_token"                 \
			" FROM coupon_instances WHERE id = ?")                                     \
	X(COUPON_BY_TOKEN, "SELECT id FROM coupon_instances WHERE merchant_id = ? AND token = ?") \
	X(COUPON_BY_SHARE, "SELECT id FROM coupon_instances WHERE merchant_id = ?"             \
			   " AND share_token = ?")                                                 \
	X(COUPON_BY_CODE, "SELECT instance_id FROM coupon_codes WHERE merchant_id = ?"         \
			  " AND code = ?")                                                         \
	X(COUPON_GET, "SELECT " INSTANCE_COLS " FROM coupon_instances i JOIN coupons c"            \
		      " ON c.id = i.coupon_id WHERE i.merchant_id = ? AND i.id = ?")               \
	X(COUPONS_USABLE, "SELECT " INSTANCE_COLS " FROM coupon_instances i JOIN coupons c"        \
			  " ON c.id = i.coupon_id WHERE i.merchant_id = ? AND i.client_id = ?"     \
			  " AND i.status = 0 AND (i.expires_ms IS NULL OR i.expires_ms >= ?)"      \
			  " ORDER BY i.id")                                                        \
	X(COUPON_STATUS, "UPDATE coupon_instances SET status = ?, redeemed_order_id = ?"           \
			 " WHERE id = ?")                                                          \
	X(COUPON_CODES_SET, "UPDATE coupon_instances SET merchant_token = ?,"                      \
			    " merchant_share_token = ? WHERE id = ?")                              \
	X(COUPONS_REDEEMED_BY, "SELECT id FROM coupon_instances WHERE redeemed_order_id = ?"       \
			       " ORDER BY id LIMIT ?")                                             \
	X(COUPONS_ISSUED_BY, "SELECT id FROM coupon_instances WHERE issued_order_id = ?"           \
			     " ORDER BY id LIMIT ?")                                               \
	X(COUPON_SET_HOLD, "UPDATE coupon_instances SET hold_id = ? WHERE id = ?")                 \
	X(COUPONS_OF_HOLD, "SELECT id FROM coupon_instances WHERE hold_id = ? ORDER BY id LIMIT ?") \
	X(COUPON_SHARE_MARK, "UPDATE coupon_instances SET shared_client_id = ?,"                   \
			     " shared_instance_id = ?, shared_ms = ? WHERE id = ?"                 \
			     " AND shared_client_id IS NULL RETURNING id")                         \
	X(COUPON_SHARE_GET, "SELECT ci.shared_client_id, ci.shared_instance_id,"                   \
			    " (SELECT o.id FROM coupon_instances o WHERE o.shared_instance_id = ci.id" \
			    " LIMIT 1) FROM coupon_instances ci WHERE ci.id = ?")                  \
	X(HOLD_CREATE, "INSERT INTO holds(merchant_id, client_id, currency, amount,"               \
		       " transaction_id, kind, status, created_ms, expires_ms, ended_ms, order_id," \
		       " fiscal_order_id, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")         \
	X(HOLD_GET, "SELECT " HOLD_COLS " FROM holds WHERE merchant_id = ? AND transaction_id = ?") \
	X(HOLD_UPDATE, "UPDATE holds SET status = ?, ended_ms = ?, order_id = ?,"                  \
		       " fiscal_order_id = ? WHERE id = ?")                                        \
	X(HOLDS_EXPIRED_CLIENT, "SELECT " HOLD_COLS " FROM holds WHERE client_id = ?"              \
				" AND status = 0 AND expires_ms <= ? ORDER BY expires_ms, id LIMIT ?") \
	X(HOLDS_EXPIRED_ALL, "SELECT " HOLD_COLS " FROM holds WHERE status = 0"                    \
			     " AND expires_ms <= ? ORDER BY expires_ms, id LIMIT ?")               \
	X(HOLDS_EXPIRED_SUM, "SELECT coalesce(sum(t.taken), 0) FROM holds h"                       \
			     " JOIN hold_takes t ON t.hold_id = h.id JOIN lots l ON l.id = t.lot_id" \
			     " WHERE h.client_id = ?1 AND h.currency = ?2 AND h.status = 0"        \
			     " AND h.expires_ms <= ?3 AND (l.expires_ms IS NULL OR l.expires_ms > ?3)") \
	X(HOLD_TAKE_ADD, "INSERT INTO hold_takes(hold_id, lot_id, taken) VALUES (?, ?, ?)")         \
	X(HOLD_TAKES_GET, "SELECT t.hold_id, t.lot_id, t.taken, l.expires_ms FROM hold_takes t"    \
			  " JOIN lots l ON l.id = t.lot_id WHERE t.hold_id = ? ORDER BY t.lot_id"  \
			  " LIMIT ?")                                                              \
	X(ORDER_FIND_EXT, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = ?"                \
			  " AND external_id = ? AND receipt_type = ? AND refund_key = ?")          \
	X(ORDER_GET, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = ? AND id = ?")         \
	X(ORDER_BY_TOKEN, "SELECT " ORDER_COLS " FROM orders WHERE public_token = ?")              \
	X(ORDER_CREATE, "INSERT INTO orders(merchant_id, external_id, receipt_type, order_number," \
			" client_id, order_date_ms, external_date_ms, total, card, cash,"          \
			" spent_currency, spent, accrued_currency, accrued, refund_of, fn, fd,"    \
			" comment, public_token, request_hash, response, created_by, refund_key)"  \
			" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")                 \
	X(ORDER_PROGRESS, "UPDATE orders SET refunded_total = ?, accrual_taken = ?,"               \
			  " spend_returned = ?, paid_refunded = ?, fully_refunded = ? WHERE id = ?") \
	X(ORDERS_LIST, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = ?1"                  \
		       " AND order_date_ms >= ?2 AND order_date_ms <= ?3"                          \
		       " AND (?4 IS NULL OR client_id = ?4) AND (?5 IS NULL OR receipt_type = ?5)" \
		       " AND (?6 IS NULL OR created_by = ?6)"                                      \
		       " AND (?7 IS NULL OR fn LIKE ?7 ESCAPE '\\')"                               \
		       " AND (?8 IS NULL OR fd LIKE ?8 ESCAPE '\\')"                               \
		       " ORDER BY order_date_ms DESC, id DESC LIMIT ?9 OFFSET ?10")                \
	X(ORDER_ITEMS, "SELECT id, order_id, merchant_id, line_no, name, price, qty_milli, unit,"  \
		       " vat, total, refunded_qty, refunded_total, refund_of_item, product_id"     \
		       " FROM order_items"                                                         \
		       " WHERE merchant_id = ? AND order_id = ? ORDER BY line_no")                 \
	X(ORDER_REACTION, "UPDATE orders SET reaction = ?, customer_comment = ? WHERE id = ?")      \
	X(CLIENT_REVIEWS, "UPDATE clients SET positive_reviews = positive_reviews + ?,"            \
			  " neutral_reviews = neutral_reviews + ?,"                                \
			  " negative_reviews = negative_reviews + ? WHERE id = ?")                 \
	X(ORDER_RESPONSE, "UPDATE orders SET response = ? WHERE id = ?")                           \
	X(ITEM_CREATE, "INSERT INTO order_items(order_id, merchant_id, line_no, name, price,"      \
		       " qty_milli, unit, vat, total, refund_of_item, product_id)"                 \
		       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")                                \
	X(ITEM_GET, "SELECT id, order_id, merchant_id, line_no, name, price, qty_milli, unit, vat," \
		    " total, refunded_qty, refunded_total, refund_of_item, product_id"             \
		    " FROM order_items"                                                            \
		    " WHERE merchant_id = ? AND id = ?")                                           \
	X(ITEM_REFUNDED, "UPDATE order_items SET refunded_qty = ?, refunded_total = ? WHERE id = ?") \
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

/* Binds arguments by a format: 'i' int64, 'z' int64 with 0 as NULL, 's' text (NULL as NULL),
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

static char *col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

static void col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
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
	    uri.data, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
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
	int rc = sqlite3_open_v2(st->path, &db, flags, NULL);
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
	 * the most recently returned connection first, so only as many as run at once warm up).
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
	c->owner = st;
	c->db = db;
	return c;
}

static void conn_close(struct sq_conn *c)
{
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
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
	/* Every pooled connection may grow an 8 MiB page cache (conn_open); the soft heap limit
	 * bounds all of them together, whatever the pool size, by recycling cache pages. */
	if (opt->sqlite_memory_mib > 0)
		sqlite3_soft_heap_limit64(opt->sqlite_memory_mib << 20);
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

static enum store_rc sq_begin(struct store_conn *base, bool write)
{
	struct sq_conn *c = (struct sq_conn *)base;
	assert(!c->in_tx);
	if (!write) {
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

/* ---- merchants and accounts ---- */

static enum store_rc last_id(struct sq_conn *c, enum store_rc rc, int64_t *id_out)
{
	if (rc == STORE_OK && id_out)
		*id_out = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static enum store_rc sq_merchant_create(struct store_conn *base, const char *name, int64_t now,
					int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	return last_id(c, exec_stmt(c, q(c, ST_MERCHANT_CREATE, "si", name, now), "merchant"),
		       id_out);
}

static enum store_rc sq_account_create(struct store_conn *base, const struct account *a,
				       int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_ACCOUNT_CREATE, "iddssssssiss", a->merchant_id, (int)a->kind,
			    (int)a->role, a->email, a->email, a->phone, a->password_hash,
			    a->first_name, a->last_name, now_ms(), a->inn,
			    a->staff_login[0] ? a->staff_login : NULL);
	return last_id(c, exec_stmt(c, s, "account create"), id_out);
}

static void read_account(sqlite3_stmt *s, struct account *out)
{
	out->id = col_i(s, 0);
	out->merchant_id = col_i(s, 1);
	out->kind = (enum account_kind)col_i(s, 2);
	out->role = (enum role)col_i(s, 3);
	out->email = col_str(s, 4);
	out->phone = col_str(s, 5);
	out->password_hash = col_str(s, 6);
	out->first_name = col_str(s, 7);
	out->last_name = col_str(s, 8);
	out->cred_version = col_i(s, 9);
	out->inn = col_str(s, 10);
	col_copy(s, 11, out->staff_login, sizeof(out->staff_login));
	out->created_ms = col_i(s, 12);
}

static enum store_rc account_one(struct sq_conn *c, sqlite3_stmt *s, struct account *out)
{
	enum store_rc rc = step_one(c, s, "account");
	if (rc != STORE_OK)
		return rc;
	read_account(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_account_find_login(struct store_conn *base, const char *login,
					   struct account *out)
{
	struct sq_conn *c = SQ(base);
	return account_one(c, q(c, ST_ACCOUNT_FIND, "s", login), out);
}

static enum store_rc sq_account_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct account *out)
{
	struct sq_conn *c = SQ(base);
	return account_one(c, q(c, ST_ACCOUNT_GET, "ii", merchant_id, id), out);
}

static enum store_rc sq_account_self(struct store_conn *base, int64_t id, struct account *out)
{
	struct sq_conn *c = SQ(base);
	return account_one(c, q(c, ST_ACCOUNT_SELF, "i", id), out);
}

static enum store_rc sq_employees_list(struct store_conn *base, int64_t merchant_id,
				       int64_t offset, int64_t limit, account_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_EMPLOYEES_LIST, "iii", merchant_id, limit, offset);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct account a = {0};
		read_account(s, &a);
		bool more = row(ctx, &a);
		account_clear(&a);
		if (!more) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "employees list");
}

/* Runs an UPDATE ... RETURNING id: NOT_FOUND when it touched no row. */
static enum store_rc update_returning(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
	enum store_rc rc = step_one(c, s, what);
	if (rc == STORE_OK)
		done(s);
	return rc;
}

static enum store_rc sq_account_update(struct store_conn *base, const struct account *a)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_ACCOUNT_UPDATE, "ssssssdssii", a->email, a->email, a->phone,
			    a->first_name, a->last_name, a->inn, (int)a->role, a->password_hash,
			    a->password_hash, a->merchant_id, a->id);
	return update_returning(c, s, "account update");
}

static enum store_rc sq_account_delete(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct sq_conn *c = SQ(base);
	enum store_rc rc = update_returning(c, q(c, ST_ACCOUNT_DELETE, "ii", merchant_id, id),
					    "account delete");
	if (rc == STORE_OK)
		rc = exec_stmt(c, q(c, ST_KEYS_REVOKE_ACCOUNT, "ii", now_ms(), id), "keys revoke");
	return rc;
}

static void read_key(sqlite3_stmt *s, struct api_key *k)
{
	k->id = col_i(s, 0);
	k->merchant_id = col_i(s, 1);
	k->account_id = col_i(s, 2);
	col_copy(s, 3, k->hash, sizeof(k->hash));
	k->created_ms = col_i(s, 4);
	k->revoked = sqlite3_column_type(s, 5) != SQLITE_NULL;
}

static enum store_rc sq_api_key_create(struct store_conn *base, const struct api_key *k,
				       int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_KEY_CREATE, "iisi", k->merchant_id, k->account_id, k->hash,
			    k->created_ms);
	return last_id(c, exec_stmt(c, s, "key create"), id_out);
}

static enum store_rc sq_api_key_get(struct store_conn *base, int64_t id, struct api_key *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_KEY_GET, "i", id);
	enum store_rc rc = step_one(c, s, "key get");
	if (rc != STORE_OK)
		return rc;
	read_key(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_api_keys_list(struct store_conn *base, int64_t merchant_id,
				      api_key_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_KEYS_LIST, "i", merchant_id);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct api_key k = {0};
		read_key(s, &k);
		if (!row(ctx, &k)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "keys list");
}

static enum store_rc sq_api_key_revoke(struct store_conn *base, int64_t merchant_id, int64_t id,
				       int64_t now)
{
	struct sq_conn *c = SQ(base);
	return update_returning(c, q(c, ST_KEY_REVOKE, "iii", now, merchant_id, id), "key revoke");
}

static void read_accrual(sqlite3_stmt *s, int i, struct accrual_setting *a)
{
	a->coupon_id = col_i(s, i);
	a->rule.type = col_i(s, i + 1) == 0 ? ACCRUAL_AMOUNT : ACCRUAL_PERCENTAGE;
	a->rule.amount = col_i(s, i + 2);
	a->valid_days = col_i(s, i + 3);
}

static enum store_rc sq_settings_get(struct store_conn *base, int64_t merchant_id,
				     struct loyalty_settings *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_SETTINGS_GET, "i", merchant_id);
	enum store_rc rc = step_one(c, s, "settings get");
	if (rc != STORE_OK)
		return rc;
	out->active = col_i(s, 0) != 0;
	out->currency = col_i(s, 1) == 1 ? CUR_RUBLES : CUR_POINTS;
	read_accrual(s, 2, &out->new_customer);
	read_accrual(s, 6, &out->customer);
	out->auto_register = col_i(s, 10) != 0;
	out->max_spend_percent = col_i(s, 11);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_settings_put(struct store_conn *base, int64_t merchant_id,
				     const struct loyalty_settings *st)
{
	struct sq_conn *c = SQ(base);
	const struct accrual_setting *n = &st->new_customer, *u = &st->customer;
	sqlite3_stmt *s = q(c, ST_SETTINGS_PUT, "bdzdizzdizbii", st->active, (int)st->currency,
			    n->coupon_id, (int)n->rule.type, n->rule.amount, n->valid_days,
			    u->coupon_id, (int)u->rule.type, u->rule.amount, u->valid_days,
			    st->auto_register, st->max_spend_percent, merchant_id);
	return exec_stmt(c, s, "settings put");
}

static enum store_rc sq_idem_get(struct store_conn *base, int64_t merchant_id, const char *scope,
				 const char *key, int64_t not_before_ms, struct idem_record *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_IDEM_GET, "issi", merchant_id, scope, key, not_before_ms);
	enum store_rc rc = step_one(c, s, "idempotency get");
	if (rc != STORE_OK)
		return rc;
	col_copy(s, 0, out->request_hash, sizeof(out->request_hash));
	out->status = (int)col_i(s, 1);
	out->body = col_str(s, 2);
	out->created_ms = col_i(s, 3);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_idem_put(struct store_conn *base, int64_t merchant_id, const char *scope,
				 const char *key, const struct idem_record *in)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_IDEM_PUT, "isssdsi", merchant_id, scope, key, in->request_hash,
			    in->status, in->body, in->created_ms);
	enum store_rc rc = step_one(c, s, "idempotency put");
	if (rc == STORE_OK)
		done(s);
	return rc == STORE_NOT_FOUND ? STORE_CONFLICT : rc;
}

static enum store_rc sq_idem_purge(struct store_conn *base, int64_t before_ms, int64_t *n_out)
{
	struct sq_conn *c = SQ(base);
	enum store_rc rc = exec_stmt(c, q(c, ST_IDEM_PURGE, "i", before_ms), "idempotency purge");
	*n_out = rc == STORE_OK ? sqlite3_changes(c->db) : 0;
	return rc;
}

static enum store_rc sq_sale_points_list(struct store_conn *base, int64_t merchant_id,
					 sale_point_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_SP_LIST, "i", merchant_id);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct sale_point sp = {.id = col_i(s, 0),
					.merchant_id = col_i(s, 1),
					.region = col_str(s, 2),
					.city = col_str(s, 3),
					.address = col_str(s, 4),
					.phone = col_str(s, 5)};
		bool more = row(ctx, &sp);
		sale_point_clear(&sp);
		if (!more) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "sale points");
}

static enum store_rc sq_sale_point_save(struct store_conn *base, const struct sale_point *sp,
					int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	if (sp->id == 0)
		return last_id(c, exec_stmt(c, q(c, ST_SP_INSERT, "issss", sp->merchant_id,
						 sp->region, sp->city, sp->address, sp->phone),
					 "sale point insert"),
			       id_out);
	return update_returning(c, q(c, ST_SP_UPDATE, "ssssii", sp->region, sp->city, sp->address,
				     sp->phone, sp->merchant_id, sp->id),
				"sale point update");
}

static enum store_rc sq_sale_point_delete(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct sq_conn *c = SQ(base);
	return update_returning(c, q(c, ST_SP_DELETE, "ii", merchant_id, id), "sale point delete");
}

static enum store_rc sq_document_get(struct store_conn *base, int64_t merchant_id,
				     const char *name, char **json_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_DOC_GET, "is", merchant_id, name);
	enum store_rc rc = step_one(c, s, "document get");
	if (rc != STORE_OK)
		return rc;
	*json_out = col_str(s, 0);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_document_put(struct store_conn *base, int64_t merchant_id,
				     const char *name, const char *json)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_DOC_PUT, "iss", merchant_id, name, json), "document put");
}

static enum store_rc sq_auth_counter_get(struct store_conn *base, const char *key,
					 struct auth_counter *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_AUTH_COUNTER_GET, "s", key);
	enum store_rc rc = step_one(c, s, "auth counter get");
	if (rc != STORE_OK)
		return rc;
	out->failures = col_i(s, 0);
	out->window_start_ms = col_i(s, 1);
	out->locked_until_ms = col_i(s, 2);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_auth_counter_put(struct store_conn *base, const char *key,
					 const struct auth_counter *in)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_AUTH_COUNTER_PUT, "siii", key, in->failures,
			      in->window_start_ms, in->locked_until_ms),
			 "auth counter put");
}

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

/* ---- clients ---- */

static void read_client(sqlite3_stmt *s, struct client *out)
{
	out->id = col_i(s, 0);
	out->merchant_id = col_i(s, 1);
	out->email = col_str(s, 2);
	out->phone = col_str(s, 3);
	out->name = col_str(s, 4);
	out->avatar_url = col_str(s, 5);
	col_copy(s, 6, out->token, sizeof(out->token));
	out->paid_purchases = col_i(s, 7);
	out->total_purchases = col_i(s, 8);
	out->total_amount_minor = col_i(s, 9);
	out->paid_amount_minor = col_i(s, 10);
	out->positive_reviews = col_i(s, 11);
	out->neutral_reviews = col_i(s, 12);
	out->negative_reviews = col_i(s, 13);
	out->created_ms = col_i(s, 14);
}

static enum store_rc client_one(struct sq_conn *c, sqlite3_stmt *s, struct client *out)
{
	enum store_rc rc = step_one(c, s, "client get");
	if (rc != STORE_OK)
		return rc;
	read_client(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_client_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				   struct client *out)
{
	struct sq_conn *c = SQ(base);
	return client_one(c, q(c, ST_CLIENT_GET, "ii", merchant_id, id), out);
}

static enum store_rc sq_client_find_phone(struct store_conn *base, int64_t merchant_id,
					  const char *phone, struct client *out)
{
	struct sq_conn *c = SQ(base);
	return client_one(c, q(c, ST_CLIENT_FIND_PHONE, "is", merchant_id, phone), out);
}

static enum store_rc sq_client_find_email(struct store_conn *base, int64_t merchant_id,
					  const char *email_lc, struct client *out)
{
	struct sq_conn *c = SQ(base);
	return client_one(c, q(c, ST_CLIENT_FIND_EMAIL, "is", merchant_id, email_lc), out);
}

static enum store_rc sq_client_find_token(struct store_conn *base, int64_t merchant_id,
					  const char *token, struct client *out)
{
	struct sq_conn *c = SQ(base);
	return client_one(c, q(c, ST_CLIENT_FIND_TOKEN, "is", merchant_id, token), out);
}

static enum store_rc sq_ledger_list(struct store_conn *base, int64_t client_id, int64_t from,
				    int64_t to, int64_t offset, int64_t limit, ledger_row_fn row,
				    void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_LEDGER_LIST, "iiiii", client_id, from, to, limit, offset);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ledger_entry e = {.id = col_i(s, 0),
					 .merchant_id = col_i(s, 1),
					 .client_id = col_i(s, 2),
					 .currency = col_i(s, 3) == 1 ? CUR_RUBLES : CUR_POINTS,
					 .amount_minor = col_i(s, 4),
					 .type = (enum ledger_type)col_i(s, 5),
					 .order_id = col_i(s, 6),
					 .hold_id = col_i(s, 7),
					 .created_ms = col_i(s, 8)};
		if (!row(ctx, &e)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "ledger list");
}

static enum store_rc sq_client_update(struct store_conn *base, const struct client *cl)
{
	struct sq_conn *c = SQ(base);
	return update_returning(c, q(c, ST_CLIENT_UPDATE, "sssssii", cl->email, cl->email,
				     cl->phone, cl->name, cl->avatar_url, cl->merchant_id, cl->id),
				"client update");
}

static enum store_rc sq_client_create(struct store_conn *base, const struct client *cl,
				      int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_CLIENT_CREATE, "issssssi", cl->merchant_id, cl->email, cl->email,
			    cl->phone, cl->name, cl->avatar_url, cl->token, cl->created_ms);
	return last_id(c, exec_stmt(c, s, "client create"), id_out);
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
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		struct client cl = {0};
		read_client(s, &cl);
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

static enum store_rc sq_client_stats_add(struct store_conn *base, int64_t client_id,
					 int64_t d_total, int64_t d_paid, money_t d_total_amount,
					 money_t d_paid_amount)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_CLIENT_STATS, "iiiii", d_total, d_paid, d_total_amount,
			      d_paid_amount, client_id),
			 "client stats");
}

/* ---- balances, lots, ledger ---- */

static enum store_rc sq_balance_get(struct store_conn *base, int64_t client_id, enum currency cur,
				    struct balance *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_BALANCE_GET, "id", client_id, (int)cur);
	memset(out, 0, sizeof(*out));
	enum store_rc rc = step_one(c, s, "balance get");
	if (rc == STORE_NOT_FOUND)
		return STORE_OK; /* no row yet: all zero */
	if (rc != STORE_OK)
		return rc;
	out->balance_minor = col_i(s, 0);
	out->debt_minor = col_i(s, 1);
	out->held_minor = col_i(s, 2);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_balance_add(struct store_conn *base, int64_t merchant_id,
				    int64_t client_id, enum currency cur, money_t d_balance,
				    money_t d_debt, money_t d_held)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_BALANCE_ADD, "iidiii", merchant_id, client_id, (int)cur,
			      d_balance, d_debt, d_held),
			 "balance add");
}

static enum store_rc sq_lots_unexpired_sum(struct store_conn *base, int64_t client_id,
					   enum currency cur, int64_t now, money_t *sum_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_LOTS_SUM, "idi", client_id, (int)cur, now);
	enum store_rc rc = step_one(c, s, "lots sum");
	if (rc != STORE_OK)
		return rc;
	*sum_out = col_i(s, 0);
	done(s);
	return STORE_OK;
}

static void read_lot(sqlite3_stmt *s, struct lot *l)
{
	l->id = col_i(s, 0);
	l->merchant_id = col_i(s, 1);
	l->client_id = col_i(s, 2);
	l->currency = col_i(s, 3) == 1 ? CUR_RUBLES : CUR_POINTS;
	l->remaining_minor = col_i(s, 4);
	l->original_minor = col_i(s, 5);
	l->expires_ms = col_i(s, 6);
	l->order_id = col_i(s, 7);
}

static enum store_rc read_lots(struct sq_conn *c, sqlite3_stmt *s, struct lot *out, size_t max,
			       size_t *n_out, const char *what)
{
	size_t n = 0;
	int rc;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_lot(s, &out[n++]);
	enum store_rc out_rc = STORE_OK;
	if (n < max && rc != SQLITE_DONE)
		out_rc = map_rc(c, rc, what);
	done(s);
	*n_out = n;
	return out_rc;
}

static enum store_rc sq_lots_spendable(struct store_conn *base, int64_t client_id,
				       enum currency cur, int64_t now, struct lot *out, size_t max,
				       size_t *n_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_LOTS_SPENDABLE, "idii", client_id, (int)cur, now, (int64_t)max);
	return read_lots(c, s, out, max, n_out, "lots spendable");
}

static enum store_rc sq_lot_get(struct store_conn *base, int64_t lot_id, struct lot *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_LOT_GET, "i", lot_id);
	enum store_rc rc = step_one(c, s, "lot get");
	if (rc != STORE_OK)
		return rc;
	read_lot(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_lot_create(struct store_conn *base, int64_t merchant_id,
				   const struct lot *l, int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_LOT_CREATE, "iidiizzi", merchant_id, l->client_id,
			    (int)l->currency, l->remaining_minor, l->original_minor, l->expires_ms,
			    l->order_id, now_ms());
	return last_id(c, exec_stmt(c, s, "lot create"), id_out);
}

static enum store_rc sq_lot_add(struct store_conn *base, int64_t lot_id, money_t delta)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_LOT_ADD, "ii", delta, lot_id), "lot add");
}

static enum store_rc sq_lots_expired(struct store_conn *base, int64_t now, struct lot *out,
				     size_t max, size_t *n_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_LOTS_EXPIRED, "ii", now, (int64_t)max);
	return read_lots(c, s, out, max, n_out, "lots expired");
}

static enum store_rc sq_ledger_add(struct store_conn *base, const struct ledger_entry *e)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_LEDGER_ADD, "iididzzi", e->merchant_id, e->client_id,
			    (int)e->currency, e->amount_minor, (int)e->type, e->order_id,
			    e->hold_id, e->created_ms);
	return exec_stmt(c, s, "ledger add");
}

static enum store_rc sq_lot_take_add(struct store_conn *base, const struct lot_take *t)
{
	struct sq_conn *c = SQ(base);
	if (t->hold_id)
		return exec_stmt(c, q(c, ST_HOLD_TAKE_ADD, "iii", t->hold_id, t->lot_id,
				      t->taken_minor),
				 "hold take");
	return exec_stmt(c, q(c, ST_TAKE_ADD, "iiii", t->order_id, t->lot_id, t->taken_minor,
			      t->returned_minor),
			 "lot take");
}

static enum store_rc sq_lot_takes_get(struct store_conn *base, int64_t order_id,
				      struct lot_take *out, size_t max, size_t *n_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_TAKES_GET, "ii", order_id, (int64_t)max);
	size_t n = 0;
	int rc;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		out[n].order_id = col_i(s, 0);
		out[n].lot_id = col_i(s, 1);
		out[n].taken_minor = col_i(s, 2);
		out[n].returned_minor = col_i(s, 3);
		out[n].lot_expires_ms = col_i(s, 4);
		n++;
	}
	enum store_rc out_rc = STORE_OK;
	if (n < max && rc != SQLITE_DONE)
		out_rc = map_rc(c, rc, "lot takes");
	done(s);
	*n_out = n;
	return out_rc;
}

static enum store_rc sq_lot_take_returned(struct store_conn *base, int64_t order_id,
					  int64_t lot_id, money_t returned_minor)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_TAKE_RETURNED, "iii", returned_minor, order_id, lot_id),
			 "lot take returned");
}

/* ---- coupon catalog ---- */

static void read_catalog(sqlite3_stmt *s, struct catalog_coupon *o)
{
	o->id = col_i(s, 0);
	o->merchant_id = col_i(s, 1);
	o->title = col_str(s, 2);
	o->header = col_str(s, 3);
	o->sub_header = col_str(s, 4);
	o->short_description = col_str(s, 5);
	o->long_description = col_str(s, 6);
	o->image_path = col_str(s, 7);
	o->style = col_str(s, 8);
	o->valid_days = col_i(s, 9);
	o->valid_until = col_i(s, 10);
	o->deleted = col_i(s, 11) != 0;
	o->created_ms = col_i(s, 12);
}

static enum store_rc sq_catalog_create(struct store_conn *base, const struct catalog_coupon *cc,
				       int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_CATALOG_CREATE, "issssssszzbi", cc->merchant_id, cc->title,
			    cc->header, cc->sub_header, cc->short_description,
			    cc->long_description, cc->image_path, cc->style, cc->valid_days,
			    cc->valid_until, cc->deleted, cc->created_ms);
	return last_id(c, exec_stmt(c, s, "catalog create"), id_out);
}

static enum store_rc sq_catalog_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct catalog_coupon *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_CATALOG_GET, "ii", merchant_id, id);
	enum store_rc rc = step_one(c, s, "catalog get");
	if (rc != STORE_OK)
		return rc;
	read_catalog(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_catalog_update(struct store_conn *base, const struct catalog_coupon *cc)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_CATALOG_UPDATE, "ssssssszzii", cc->title, cc->header,
			    cc->sub_header, cc->short_description, cc->long_description,
			    cc->image_path, cc->style, cc->valid_days, cc->valid_until,
			    cc->merchant_id, cc->id);
	enum store_rc rc = step_one(c, s, "catalog update");
	if (rc == STORE_OK)
		done(s);
	return rc;
}

static enum store_rc sq_catalog_delete(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_CATALOG_DELETE, "ii", merchant_id, id);
	enum store_rc rc = step_one(c, s, "catalog delete");
	if (rc == STORE_OK)
		done(s);
	return rc;
}

static enum store_rc sq_catalog_list(struct store_conn *base, int64_t merchant_id,
				     int64_t offset, int64_t limit, catalog_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_CATALOG_LIST, "iii", merchant_id, limit, offset);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct catalog_coupon cc = {0};
		read_catalog(s, &cc);
		bool more = row(ctx, &cc);
		catalog_coupon_clear(&cc);
		if (!more) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "catalog list");
}

/* ---- coupon instances ---- */

static void read_instance(sqlite3_stmt *s, struct coupon_instance *o)
{
	o->id = col_i(s, 0);
	o->merchant_id = col_i(s, 1);
	o->client_id = col_i(s, 2);
	o->coupon_id = col_i(s, 3);
	o->status = (enum coupon_status)col_i(s, 4);
	o->issued_ms = col_i(s, 5);
	o->expires_ms = col_i(s, 6);
	col_copy(s, 7, o->token, sizeof(o->token));
	col_copy(s, 8, o->share_token, sizeof(o->share_token));
	col_copy(s, 9, o->merchant_token, sizeof(o->merchant_token));
	col_copy(s, 10, o->merchant_share_token, sizeof(o->merchant_share_token));
	o->issued_order_id = col_i(s, 11);
	o->redeemed_order_id = col_i(s, 12);
	o->catalog.title = col_str(s, 13);
	o->catalog.header = col_str(s, 14);
	o->catalog.sub_header = col_str(s, 15);
	o->catalog.short_description = col_str(s, 16);
	o->catalog.long_description = col_str(s, 17);
}

static enum store_rc claim_codes(struct sq_conn *c, int64_t merchant_id, int64_t id,
				 const char *code, const char *share_code)
{
	enum store_rc rc =
		exec_stmt(c, q(c, ST_CODE_CLAIM, "isi", merchant_id, code, id), "code claim");
	if (rc == STORE_OK)
		rc = exec_stmt(c, q(c, ST_CODE_CLAIM, "isi", merchant_id, share_code, id),
			       "code claim");
	return rc;
}

static enum store_rc sq_coupon_issue(struct store_conn *base, const struct coupon_instance *ci,
				     int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	if (strcmp(ci->merchant_token, ci->merchant_share_token) == 0)
		return STORE_CONFLICT;
	sqlite3_stmt *s = q(c, ST_COUPON_ISSUE, "iiiizssssz", ci->merchant_id, ci->client_id,
			    ci->coupon_id, ci->issued_ms, ci->expires_ms, ci->token,
			    ci->share_token, ci->merchant_token, ci->merchant_share_token,
			    ci->issued_order_id);
	/* A savepoint, so that a code conflict leaves no instance behind. */
	if (exec_stmt(c, stmt(c, ST_SAVEPOINT), "savepoint") != STORE_OK) {
		done(s);
		return STORE_ERROR;
	}
	int64_t id = 0;
	enum store_rc rc = last_id(c, exec_stmt(c, s, "coupon issue"), &id);
	if (rc == STORE_OK)
		rc = claim_codes(c, ci->merchant_id, id, ci->merchant_token,
				 ci->merchant_share_token);
	if (rc != STORE_OK)
		exec_stmt(c, stmt(c, ST_SAVEPOINT_UNDO), "rollback to savepoint");
	exec_stmt(c, stmt(c, ST_SAVEPOINT_RELEASE), "release savepoint");
	if (rc == STORE_OK && id_out)
		*id_out = id;
	return rc;
}

static enum store_rc sq_coupon_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				   struct coupon_instance *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_COUPON_GET, "ii", merchant_id, id);
	enum store_rc rc = step_one(c, s, "coupon get");
	if (rc != STORE_OK)
		return rc;
	read_instance(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_coupon_find_token(struct store_conn *base, int64_t merchant_id, int kind,
					  const char *token, int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	enum stmt_id id = kind == 0 ? ST_COUPON_BY_TOKEN : kind == 1 ? ST_COUPON_BY_SHARE
								   : ST_COUPON_BY_CODE;
	sqlite3_stmt *s = q(c, id, "is", merchant_id, token);
	enum store_rc rc = step_one(c, s, "coupon by token");
	if (rc != STORE_OK)
		return rc;
	*id_out = col_i(s, 0);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_coupons_usable(struct store_conn *base, int64_t merchant_id,
				       int64_t client_id, int64_t now, coupon_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_COUPONS_USABLE, "iii", merchant_id, client_id, now);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct coupon_instance ci = {0};
		read_instance(s, &ci);
		bool more = row(ctx, &ci);
		coupon_instance_clear(&ci);
		if (!more) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "coupons usable");
}

static enum store_rc sq_coupon_set_codes(struct store_conn *base, int64_t id, const char *code,
					 const char *share_code)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_COUPON_OWNER, "i", id);
	enum store_rc rc = step_one(c, s, "coupon owner");
	if (rc != STORE_OK)
		return rc;
	int64_t merchant_id = col_i(s, 0);
	done(s);
	if (strcmp(code, share_code) == 0)
		return STORE_CONFLICT;
	rc = exec_stmt(c, q(c, ST_CODES_FREE, "i", id), "codes free");
	if (rc == STORE_OK)
		rc = claim_codes(c, merchant_id, id, code, share_code);
	if (rc == STORE_OK)
		rc = exec_stmt(c, q(c, ST_COUPON_CODES_SET, "ssi", code, share_code, id),
			       "coupon codes");
	return rc;
}

static enum store_rc sq_coupon_set_status(struct store_conn *base, int64_t id,
					  enum coupon_status status, int64_t redeemed_order_id)
{
	struct sq_conn *c = SQ(base);
	enum store_rc rc = exec_stmt(
		c, q(c, ST_COUPON_STATUS, "dzi", (int)status, redeemed_order_id, id), "coupon status");
	if (rc != STORE_OK)
		return rc;
	if (status != COUPON_ISSUED)
		return exec_stmt(c, q(c, ST_CODES_FREE, "i", id), "codes free");
	/* Usable again: its codes must be unique among the usable ones once more. */
	sqlite3_stmt *s = q(c, ST_COUPON_OWNER, "i", id);
	rc = step_one(c, s, "coupon owner");
	if (rc != STORE_OK)
		return rc;
	int64_t merchant_id = col_i(s, 0);
	char code[7], share_code[7];
	col_copy(s, 1, code, sizeof(code));
	col_copy(s, 2, share_code, sizeof(share_code));
	done(s);
	return claim_codes(c, merchant_id, id, code, share_code);
}

static enum store_rc sq_coupons_of_order(struct store_conn *base, int64_t order_id, int by,
					 int64_t *ids, size_t max, size_t *n_out)
{
	struct sq_conn *c = SQ(base);
	enum stmt_id id = by == 2 ? ST_COUPONS_OF_HOLD
			  : by == 1 ? ST_COUPONS_ISSUED_BY
				    : ST_COUPONS_REDEEMED_BY;
	sqlite3_stmt *s = q(c, id, "ii", order_id, (int64_t)max);
	size_t n = 0;
	int rc;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ids[n++] = col_i(s, 0);
	enum store_rc out = STORE_OK;
	if (n < max && rc != SQLITE_DONE)
		out = map_rc(c, rc, "coupons of order");
	done(s);
	*n_out = n;
	return out;
}

/* ---- orders ---- */

static void read_order(sqlite3_stmt *s, struct order *o)
{
	o->id = col_i(s, 0);
	o->merchant_id = col_i(s, 1);
	o->external_id = col_str(s, 2);
	o->refund = col_i(s, 3) != 0;
	o->order_number = col_i(s, 4);
	o->client_id = col_i(s, 5);
	o->order_date_ms = col_i(s, 6);
	o->external_date_ms = col_i(s, 7);
	o->total_minor = col_i(s, 8);
	o->card_minor = col_i(s, 9);
	o->cash_minor = col_i(s, 10);
	o->spent_currency = col_i(s, 11) == 1 ? CUR_RUBLES : CUR_POINTS;
	o->spent_minor = col_i(s, 12);
	o->accrued_currency = col_i(s, 13) == 1 ? CUR_RUBLES : CUR_POINTS;
	o->accrued_minor = col_i(s, 14);
	o->refund_of = col_i(s, 15);
	o->refunded_total_minor = col_i(s, 16);
	o->accrual_taken_minor = col_i(s, 17);
	o->spend_returned_minor = col_i(s, 18);
	o->paid_refunded_minor = col_i(s, 19);
	o->fully_refunded = col_i(s, 20) != 0;
	o->fn = col_str(s, 21);
	o->fd = col_str(s, 22);
	o->comment = col_str(s, 23);
	o->public_token = col_str(s, 24);
	o->request_hash = col_str(s, 25);
	o->response = col_str(s, 26);
	o->created_by = col_i(s, 27);
	o->reaction = (int)col_i(s, 28);
	o->customer_comment = col_str(s, 29);
}

static enum store_rc order_one(struct sq_conn *c, sqlite3_stmt *s, struct order *out)
{
	enum store_rc rc = step_one(c, s, "order get");
	if (rc != STORE_OK)
		return rc;
	read_order(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_order_find_external(struct store_conn *base, int64_t merchant_id,
					    const char *external_id, bool refund,
					    const char *refund_key, struct order *out)
{
	struct sq_conn *c = SQ(base);
	return order_one(c, q(c, ST_ORDER_FIND_EXT, "isbs", merchant_id, external_id, refund,
			      refund_key ? refund_key : ""),
			 out);
}

static enum store_rc sq_order_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				  struct order *out)
{
	struct sq_conn *c = SQ(base);
	return order_one(c, q(c, ST_ORDER_GET, "ii", merchant_id, id), out);
}

static enum store_rc sq_order_by_token(struct store_conn *base, const char *token,
				       struct order *out)
{
	struct sq_conn *c = SQ(base);
	return order_one(c, q(c, ST_ORDER_BY_TOKEN, "s", token), out);
}

static enum store_rc sq_order_create(struct store_conn *base, const struct order *o,
				     int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_ORDER_CREATE, "isbizizi" "ii" "di" "di" "z" "ssssss" "z" "s",
			    o->merchant_id, o->external_id, o->refund, o->order_number, o->client_id,
			    o->order_date_ms, o->external_date_ms, o->total_minor, o->card_minor,
			    o->cash_minor, (int)o->spent_currency, o->spent_minor,
			    (int)o->accrued_currency, o->accrued_minor, o->refund_of, o->fn, o->fd,
			    o->comment, o->public_token, o->request_hash, o->response, o->created_by,
			    o->refund_key ? o->refund_key : "");
	return last_id(c, exec_stmt(c, s, "order create"), id_out);
}

static enum store_rc sq_order_refund_progress(struct store_conn *base, const struct order *sale)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_ORDER_PROGRESS, "iiiibi", sale->refunded_total_minor,
			      sale->accrual_taken_minor, sale->spend_returned_minor,
			      sale->paid_refunded_minor, sale->fully_refunded, sale->id),
			 "order progress");
}

static void read_item(sqlite3_stmt *s, struct order_item *out);

static enum store_rc sq_orders_list(struct store_conn *base, int64_t merchant_id,
				    const struct order_query *oq, order_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_ORDERS_LIST, "iiizzzssii", merchant_id, oq->from_ms, oq->to_ms,
			    oq->client_id, (int64_t)(oq->receipt_type + 1), oq->created_by,
			    oq->fn_like, oq->fd_like, oq->limit, oq->offset);
	/* receipt_type is bound as type + 1 through 'z' (0: any); undo that here. */
	if (oq->receipt_type >= 0)
		sqlite3_bind_int(s, 5, oq->receipt_type);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct order o = {0};
		read_order(s, &o);
		bool more = row(ctx, &o);
		order_clear(&o);
		if (!more) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "orders list");
}

static enum store_rc sq_order_items(struct store_conn *base, int64_t merchant_id,
				    int64_t order_id, item_row_fn row, void *ctx)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_ORDER_ITEMS, "ii", merchant_id, order_id);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct order_item it = {0};
		read_item(s, &it);
		bool more = row(ctx, &it);
		order_item_clear(&it);
		if (!more) {
			rc = SQLITE_DONE;
			break;
		}
	}
	done(s);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "order items");
}

static enum store_rc sq_order_set_reaction(struct store_conn *base, int64_t order_id,
					   int reaction, const char *comment)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_ORDER_REACTION, "dsi", reaction, comment, order_id),
			 "order reaction");
}

static enum store_rc sq_client_reviews_add(struct store_conn *base, int64_t client_id,
					   int64_t d_pos, int64_t d_neu, int64_t d_neg)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_CLIENT_REVIEWS, "iiii", d_pos, d_neu, d_neg, client_id),
			 "client reviews");
}

static enum store_rc sq_order_set_response(struct store_conn *base, int64_t id,
					   const char *response)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_ORDER_RESPONSE, "si", response, id), "order response");
}

static enum store_rc sq_item_create(struct store_conn *base, const struct order_item *it,
				    int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = stmt(c, ST_ITEM_CREATE);
	sqlite3_bind_int64(s, 1, it->order_id);
	sqlite3_bind_int64(s, 2, it->merchant_id);
	sqlite3_bind_int(s, 3, it->line_no);
	sqlite3_bind_text(s, 4, it->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, it->price_minor);
	sqlite3_bind_int64(s, 6, it->qty_milli);
	sqlite3_bind_text(s, 7, it->unit, -1, SQLITE_TRANSIENT);
	if (it->vat_hundredths >= 0)
		sqlite3_bind_int64(s, 8, it->vat_hundredths);
	else
		sqlite3_bind_null(s, 8);
	sqlite3_bind_int64(s, 9, it->total_minor);
	if (it->refund_of_item)
		sqlite3_bind_int64(s, 10, it->refund_of_item);
	else
		sqlite3_bind_null(s, 10);
	if (it->product_id)
		sqlite3_bind_text(s, 11, it->product_id, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 11);
	return last_id(c, exec_stmt(c, s, "item create"), id_out);
}

static void read_item(sqlite3_stmt *s, struct order_item *out)
{
	out->id = col_i(s, 0);
	out->order_id = col_i(s, 1);
	out->merchant_id = col_i(s, 2);
	out->line_no = (int)col_i(s, 3);
	out->name = col_str(s, 4);
	out->price_minor = col_i(s, 5);
	out->qty_milli = col_i(s, 6);
	col_copy(s, 7, out->unit, sizeof(out->unit));
	out->vat_hundredths = sqlite3_column_type(s, 8) == SQLITE_NULL ? -1 : col_i(s, 8);
	out->total_minor = col_i(s, 9);
	out->refunded_qty_milli = col_i(s, 10);
	out->refunded_total_minor = col_i(s, 11);
	out->refund_of_item = col_i(s, 12);
	out->product_id = col_str(s, 13);
}

static enum store_rc sq_item_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				 struct order_item *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_ITEM_GET, "ii", merchant_id, id);
	enum store_rc rc = step_one(c, s, "item get");
	if (rc != STORE_OK)
		return rc;
	read_item(s, out);
	done(s);
	return STORE_OK;
}

static enum store_rc sq_item_refunded(struct store_conn *base, int64_t id,
				      int64_t refunded_qty_milli, money_t refunded_total_minor)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_ITEM_REFUNDED, "iii", refunded_qty_milli, refunded_total_minor,
			      id),
			 "item refunded");
}

/* ---- holds ---- */

static enum store_rc sq_coupon_set_hold(struct store_conn *base, int64_t id, int64_t hold_id)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_COUPON_SET_HOLD, "zi", hold_id, id), "coupon hold");
}

static enum store_rc sq_coupon_share_mark(struct store_conn *base, int64_t id, int64_t client_id,
					  int64_t given_id, int64_t now)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_COUPON_SHARE_MARK, "iiii", client_id, given_id, now, id);
	enum store_rc rc = step_one(c, s, "coupon share");
	if (rc == STORE_OK)
		done(s);
	return rc == STORE_NOT_FOUND ? STORE_CONFLICT : rc;
}

static enum store_rc sq_coupon_share_get(struct store_conn *base, int64_t id,
					 int64_t *client_out, int64_t *given_out, int64_t *source_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_COUPON_SHARE_GET, "i", id);
	enum store_rc rc = step_one(c, s, "coupon share get");
	if (rc == STORE_OK) {
		*client_out = col_i(s, 0);
		*given_out = col_i(s, 1);
		*source_out = col_i(s, 2);
		done(s);
	}
	return rc;
}

static void read_hold(sqlite3_stmt *s, struct hold *h)
{
	h->id = col_i(s, 0);
	h->merchant_id = col_i(s, 1);
	h->client_id = col_i(s, 2);
	h->currency = (enum currency)col_i(s, 3);
	h->amount_minor = col_i(s, 4);
	col_copy(s, 5, h->transaction_id, sizeof(h->transaction_id));
	h->kind = (enum hold_kind)col_i(s, 6);
	h->status = (enum hold_status)col_i(s, 7);
	h->created_ms = col_i(s, 8);
	h->expires_ms = col_i(s, 9);
	h->ended_ms = col_i(s, 10);
	h->order_id = col_i(s, 11);
	h->fiscal_order_id = col_str(s, 12);
	h->created_by = col_i(s, 13);
}

static enum store_rc sq_hold_create(struct store_conn *base, const struct hold *h,
				    int64_t *id_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_HOLD_CREATE, "iidisddiizzsz", h->merchant_id, h->client_id,
			    (int)h->currency, h->amount_minor, h->transaction_id, (int)h->kind,
			    (int)h->status, h->created_ms, h->expires_ms, h->ended_ms, h->order_id,
			    h->fiscal_order_id, h->created_by);
	enum store_rc rc = exec_stmt(c, s, "hold create");
	if (rc == STORE_OK)
		*id_out = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static enum store_rc sq_hold_get(struct store_conn *base, int64_t merchant_id,
				 const char *transaction_id, struct hold *out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_HOLD_GET, "is", merchant_id, transaction_id);
	enum store_rc rc = step_one(c, s, "hold get");
	if (rc == STORE_OK) {
		read_hold(s, out);
		done(s);
	}
	return rc;
}

static enum store_rc sq_hold_update(struct store_conn *base, const struct hold *h)
{
	struct sq_conn *c = SQ(base);
	return exec_stmt(c, q(c, ST_HOLD_UPDATE, "dzzsi", (int)h->status, h->ended_ms, h->order_id,
			      h->fiscal_order_id, h->id),
			 "hold update");
}

static enum store_rc sq_holds_expired(struct store_conn *base, int64_t client_id, int64_t now,
				      struct hold *out, size_t max, size_t *n_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = client_id ? q(c, ST_HOLDS_EXPIRED_CLIENT, "iii", client_id, now,
					(int64_t)max)
				    : q(c, ST_HOLDS_EXPIRED_ALL, "ii", now, (int64_t)max);
	size_t n = 0;
	int rc;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_hold(s, &out[n++]);
	enum store_rc out_rc = STORE_OK;
	if (n < max && rc != SQLITE_DONE)
		out_rc = map_rc(c, rc, "holds expired");
	done(s);
	*n_out = n;
	return out_rc;
}

static enum store_rc sq_holds_expired_sum(struct store_conn *base, int64_t client_id,
					  enum currency cur, int64_t now, money_t *sum_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_HOLDS_EXPIRED_SUM, "idi", client_id, (int)cur, now);
	enum store_rc rc = step_one(c, s, "holds expired sum");
	if (rc == STORE_OK) {
		*sum_out = col_i(s, 0);
		done(s);
	}
	return rc;
}

static enum store_rc sq_hold_takes_get(struct store_conn *base, int64_t hold_id,
				       struct lot_take *out, size_t max, size_t *n_out)
{
	struct sq_conn *c = SQ(base);
	sqlite3_stmt *s = q(c, ST_HOLD_TAKES_GET, "ii", hold_id, (int64_t)max);
	size_t n = 0;
	int rc;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		out[n] = (struct lot_take){.hold_id = col_i(s, 0),
					   .lot_id = col_i(s, 1),
					   .taken_minor = col_i(s, 2),
					   .lot_expires_ms = col_i(s, 3)};
		n++;
	}
	enum store_rc out_rc = STORE_OK;
	if (n < max && rc != SQLITE_DONE)
		out_rc = map_rc(c, rc, "hold takes");
	done(s);
	*n_out = n;
	return out_rc;
}

/* ---- check ---- */

/* Each query returns one row per violation as a single text column describing it. */
static const char *const check_queries[] = {
	"SELECT printf('client %d %s: balance %d but ledger rows sum to %d', b.client_id,"
	" CASE b.currency WHEN 0 THEN 'points' ELSE 'rubles' END, b.balance,"
	" (SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.client_id = b.client_id"
	"  AND l.currency = b.currency))"
	" FROM balances b WHERE b.balance <> (SELECT coalesce(sum(amount), 0) FROM ledger l"
	" WHERE l.client_id = b.client_id AND l.currency = b.currency)",
	"SELECT printf('client %d %s: balance %d but lots sum to %d less debt %d', b.client_id,"
	" CASE b.currency WHEN 0 THEN 'points' ELSE 'rubles' END, b.balance,"
	" (SELECT coalesce(sum(remaining), 0) FROM lots l WHERE l.client_id = b.client_id"
	"  AND l.currency = b.currency), b.debt)"
	" FROM balances b WHERE b.balance <> (SELECT coalesce(sum(remaining), 0) FROM lots l"
	" WHERE l.client_id = b.client_id AND l.currency = b.currency) - b.debt",
	"SELECT printf('client %d %s: ledger rows without a balance', l.client_id,"
	" CASE l.currency WHEN 0 THEN 'points' ELSE 'rubles' END) FROM ledger l"
	" WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.client_id = l.client_id"
	" AND b.currency = l.currency) GROUP BY l.client_id, l.currency",
	"SELECT printf('lot %d: remaining %d outside 0..%d', id, remaining, original) FROM lots"
	" WHERE remaining < 0 OR remaining > original",
	"SELECT printf('client %d: negative debt %d or hold %d', client_id, debt, held)"
	" FROM balances WHERE debt < 0 OR held < 0",
	"SELECT printf('coupon %d: redeemed without an order or a written-off hold of its"
	" merchant', i.id) FROM coupon_instances i WHERE i.status = 1 AND NOT EXISTS"
	" (SELECT 1 FROM orders o WHERE o.id = i.redeemed_order_id"
	" AND o.merchant_id = i.merchant_id) AND NOT EXISTS (SELECT 1 FROM holds h"
	" WHERE h.id = i.hold_id AND h.merchant_id = i.merchant_id AND h.status = 1)",
	"SELECT printf('coupon %d: held without an active hold of its client', i.id)"
	" FROM coupon_instances i WHERE i.status = 3 AND NOT EXISTS (SELECT 1 FROM holds h"
	" WHERE h.id = i.hold_id AND h.client_id = i.client_id AND h.status = 0)",
	"SELECT printf('client %d %s: held %d but active holds sum to %d', b.client_id,"
	" CASE b.currency WHEN 0 THEN 'points' ELSE 'rubles' END, b.held,"
	" (SELECT coalesce(sum(amount), 0) FROM holds h WHERE h.client_id = b.client_id"
	"  AND h.currency = b.currency AND h.status = 0))"
	" FROM balances b WHERE b.held <> (SELECT coalesce(sum(amount), 0) FROM holds h"
	" WHERE h.client_id = b.client_id AND h.currency = b.currency AND h.status = 0)",
	"SELECT printf('hold %d: took %d from lots for an amount of %d', h.id,"
	" (SELECT coalesce(sum(taken), 0) FROM hold_takes t WHERE t.hold_id = h.id), h.amount)"
	" FROM holds h WHERE h.status IN (0, 1) AND h.amount <> (SELECT coalesce(sum(taken), 0)"
	" FROM hold_takes t WHERE t.hold_id = h.id)",
	"SELECT printf('lot take of order %d from lot %d: returned %d outside 0..%d', order_id,"
	" lot_id, returned, taken) FROM lot_takes WHERE returned < 0 OR returned > taken",
	"SELECT printf('order %d: refunded more than it had (%d of %d)', id, refunded_total, total)"
	" FROM orders WHERE refunded_total > total OR accrual_taken > accrued"
	" OR spend_returned > spent",
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

static enum store_rc sq_check(struct store_conn *base, int64_t now, store_report_fn report,
			      void *ctx, int64_t *problems_out)
{
	struct sq_conn *c = SQ(base);
	(void)now;
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
	.commit = sq_commit,
	.rollback = sq_rollback,
	.ping = sq_ping,
	.merchant_create = sq_merchant_create,
	.account_create = sq_account_create,
	.account_find_login = sq_account_find_login,
	.account_get = sq_account_get,
	.account_self = sq_account_self,
	.employees_list = sq_employees_list,
	.account_update = sq_account_update,
	.account_delete = sq_account_delete,
	.api_key_create = sq_api_key_create,
	.api_key_get = sq_api_key_get,
	.api_keys_list = sq_api_keys_list,
	.api_key_revoke = sq_api_key_revoke,
	.settings_get = sq_settings_get,
	.settings_put = sq_settings_put,
	.order_number_next = sq_order_number_next,
	.auth_counter_get = sq_auth_counter_get,
	.document_get = sq_document_get,
	.sale_points_list = sq_sale_points_list,
	.sale_point_save = sq_sale_point_save,
	.sale_point_delete = sq_sale_point_delete,
	.idem_get = sq_idem_get,
	.idem_put = sq_idem_put,
	.idem_purge = sq_idem_purge,
	.document_put = sq_document_put,
	.auth_counter_put = sq_auth_counter_put,
	.client_get = sq_client_get,
	.client_find_phone = sq_client_find_phone,
	.client_find_email = sq_client_find_email,
	.client_find_token = sq_client_find_token,
	.client_update = sq_client_update,
	.ledger_list = sq_ledger_list,
	.client_create = sq_client_create,
	.client_search = sq_client_search,
	.client_stats_add = sq_client_stats_add,
	.balance_get = sq_balance_get,
	.balance_add = sq_balance_add,
	.lots_unexpired_sum = sq_lots_unexpired_sum,
	.lots_spendable = sq_lots_spendable,
	.lot_get = sq_lot_get,
	.lot_create = sq_lot_create,
	.lot_add = sq_lot_add,
	.lots_expired = sq_lots_expired,
	.ledger_add = sq_ledger_add,
	.lot_take_add = sq_lot_take_add,
	.lot_takes_get = sq_lot_takes_get,
	.lot_take_returned = sq_lot_take_returned,
	.catalog_create = sq_catalog_create,
	.catalog_get = sq_catalog_get,
	.catalog_list = sq_catalog_list,
	.catalog_delete = sq_catalog_delete,
	.catalog_update = sq_catalog_update,
	.coupon_issue = sq_coupon_issue,
	.coupon_get = sq_coupon_get,
	.coupons_usable = sq_coupons_usable,
	.coupon_find_token = sq_coupon_find_token,
	.coupon_set_status = sq_coupon_set_status,
	.coupon_set_codes = sq_coupon_set_codes,
	.coupons_of_order = sq_coupons_of_order,
	.coupon_set_hold = sq_coupon_set_hold,
	.coupon_share_mark = sq_coupon_share_mark,
	.coupon_share_get = sq_coupon_share_get,
	.hold_create = sq_hold_create,
	.hold_get = sq_hold_get,
	.hold_update = sq_hold_update,
	.holds_expired = sq_holds_expired,
	.holds_expired_sum = sq_holds_expired_sum,
	.hold_takes_get = sq_hold_takes_get,
	.order_find_external = sq_order_find_external,
	.order_get = sq_order_get,
	.order_by_token = sq_order_by_token,
	.order_create = sq_order_create,
	.order_refund_progress = sq_order_refund_progress,
	.order_set_response = sq_order_set_response,
	.orders_list = sq_orders_list,
	.order_items = sq_order_items,
	.order_set_reaction = sq_order_set_reaction,
	.client_reviews_add = sq_client_reviews_add,
	.item_create = sq_item_create,
	.item_get = sq_item_get,
	.item_refunded = sq_item_refunded,
	.check = sq_check,
};
