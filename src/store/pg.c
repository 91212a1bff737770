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
#include "store/columns.h"
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
#define PARAMS_MAX 24
#define SEARCH_KINDS 5

/* Every statement the engine runs, prepared once per connection. */

#define STATEMENTS(X)                                                                              \
	X(PING, "SELECT 1")                                                                        \
	X(MERCHANT_CREATE, "INSERT INTO merchants(name, created_ms) VALUES ($1, $2) RETURNING id") \
	X(ACCOUNT_CREATE,                                                                          \
	  "INSERT INTO accounts(merchant_id, kind, role, email, email_lc, phone,"                  \
	  " password_hash, first_name, last_name, created_ms, inn, staff_login)"                   \
	  " VALUES ($1, $2, $3, $4, lower($5::text COLLATE \"C\"), $6, $7, $8, $9,"                \
	  " $10, $11, $12) ON CONFLICT DO NOTHING RETURNING id")                                   \
	X(ACCOUNT_FIND, "SELECT " ACCOUNT_COLS " FROM accounts"                                    \
			" WHERE (email_lc = $1 OR phone = $1) AND NOT deleted")                    \
	X(ACCOUNT_GET, "SELECT " ACCOUNT_COLS " FROM accounts WHERE merchant_id = $1 AND id = $2"  \
		       " AND kind = 1 AND NOT deleted")                                            \
	X(ACCOUNT_SELF, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1 AND NOT deleted")     \
	X(EMPLOYEES_LIST, "SELECT " ACCOUNT_COLS " FROM accounts WHERE merchant_id = $1"           \
			  " AND kind = 1 AND NOT deleted ORDER BY id LIMIT $2 OFFSET $3")          \
	X(ACCOUNT_UPDATE, "UPDATE accounts SET email = $1, email_lc = lower($2::text COLLATE \"C\"),"\
			  " phone = $3, first_name = $4, last_name = $5, inn = $6, role = $7,"     \
			  " password_hash = coalesce($8, password_hash),"                          \
			  " cred_version = cred_version + CASE WHEN $9::text IS NULL THEN 0"       \
			  " ELSE 1 END WHERE merchant_id = $10 AND id = $11 AND kind = 1"          \
			  " AND NOT deleted RETURNING id")                                         \
	X(ACCOUNT_DELETE, "UPDATE accounts SET deleted = true, email = NULL, email_lc = NULL,"     \
			  " phone = NULL, cred_version = cred_version + 1"                         \
			  " WHERE merchant_id = $1 AND id = $2 AND kind = 1 AND NOT deleted"       \
			  " RETURNING id")                                                         \
	X(KEYS_REVOKE_ACCOUNT, "UPDATE api_keys SET revoked_ms = $1 WHERE account_id = $2"         \
			       " AND revoked_ms IS NULL")                                          \
	X(KEY_CREATE, "INSERT INTO api_keys(merchant_id, account_id, key_hash, created_ms)"        \
		      " VALUES ($1, $2, $3, $4) RETURNING id")                                     \
	X(KEY_GET, "SELECT id, merchant_id, account_id, key_hash, created_ms, revoked_ms"          \
		   " FROM api_keys WHERE id = $1")                                                 \
	X(KEYS_LIST, "SELECT id, merchant_id, account_id, key_hash, created_ms, revoked_ms"        \
		     " FROM api_keys WHERE merchant_id = $1 AND revoked_ms IS NULL ORDER BY id")   \
	X(KEY_REVOKE, "UPDATE api_keys SET revoked_ms = $1 WHERE merchant_id = $2 AND id = $3"     \
		      " AND revoked_ms IS NULL RETURNING id")                                      \
	X(SETTINGS_GET,                                                                            \
	  "SELECT active, currency, new_coupon_id, new_type, new_amount,"                          \
	  " new_valid_days, cust_coupon_id, cust_type, cust_amount, cust_valid_days,"              \
	  " auto_register, max_spend_percent FROM merchants WHERE id = $1")                        \
	X(SETTINGS_PUT,                                                                            \
	  "UPDATE merchants SET active = $1, currency = $2, new_coupon_id = $3,"                   \
	  " new_type = $4, new_amount = $5, new_valid_days = $6, cust_coupon_id = $7,"             \
	  " cust_type = $8, cust_amount = $9, cust_valid_days = $10,"                              \
	  " auto_register = $11, max_spend_percent = $12 WHERE id = $13")                          \
	X(ORDER_SEQ, "SELECT nextval(('order_seq_' || $1::bigint)::regclass)")                     \
	X(CLIENT_LOCK, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = $1 AND id = $2"    \
		       " FOR NO KEY UPDATE")                                                       \
	X(ORDER_LOCK, "SELECT 1 FROM orders WHERE merchant_id = $1 AND id = $2 FOR NO KEY UPDATE") \
	X(KEY_LOCK, "SELECT pg_advisory_xact_lock(hashtextextended($2 || chr(10) || $3, $1))")     \
	X(CLIENT_GET, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = $1 AND id = $2")    \
	X(CLIENT_FIND_PHONE, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = $1 AND phone = $2")                             \
	X(CLIENT_FIND_EMAIL, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = $1 AND email_lc = $2")                          \
	X(CLIENT_FIND_TOKEN, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = $1 AND token = $2")                             \
	X(LEDGER_LIST, "SELECT id, merchant_id, client_id, currency, amount, type, order_id,"      \
		       " hold_id, created_ms FROM ledger WHERE client_id = $1 AND created_ms >= $2"\
		       " AND created_ms <= $3 ORDER BY created_ms DESC, id DESC LIMIT $4 OFFSET $5")\
	X(CLIENT_CREATE, "INSERT INTO clients(merchant_id, email, email_lc, phone, name,"          \
			 " avatar_url, token, created_ms) VALUES ($1, $2,"                         \
			 " lower($3::text COLLATE \"C\"), $4, $5, $6, $7, $8)"                     \
			 " ON CONFLICT DO NOTHING RETURNING id")                                   \
	X(CLIENT_UPDATE, "UPDATE clients SET email = $1, email_lc = lower($2::text COLLATE \"C\"),"\
			 " phone = $3, name = $4, avatar_url = $5 WHERE merchant_id = $6 AND id = $7"\
			 " RETURNING id")                                                          \
	X(CLIENT_STATS, "UPDATE clients SET total_purchases = total_purchases + $1,"               \
			" paid_purchases = paid_purchases + $2, total_amount = total_amount + $3," \
			" paid_amount = paid_amount + $4 WHERE id = $5")                           \
	X(BALANCE_GET, "SELECT balance, debt, held FROM balances"                                  \
		       " WHERE client_id = $1 AND currency = $2")                                  \
	X(BALANCE_ADD, "INSERT INTO balances AS b(merchant_id, client_id, currency, balance,"      \
		       " debt, held) VALUES ($1, $2, $3, $4, $5, $6)"                              \
		       " ON CONFLICT (client_id, currency) DO UPDATE"                              \
		       " SET balance = b.balance + excluded.balance,"                              \
		       " debt = b.debt + excluded.debt, held = b.held + excluded.held")            \
	X(LOTS_SUM, "SELECT coalesce(sum(remaining), 0) FROM lots WHERE client_id = $1"            \
		    " AND currency = $2 AND remaining > 0"                                         \
		    " AND (expires_ms IS NULL OR expires_ms > $3)")                                \
	X(LOTS_SPENDABLE, "SELECT " LOT_COLS " FROM lots WHERE client_id = $1 AND currency = $2"   \
			  " AND remaining > 0 AND (expires_ms IS NULL OR expires_ms > $3)"         \
			  " ORDER BY expires_ms ASC NULLS LAST, id LIMIT $4")                      \
	X(LOT_GET, "SELECT " LOT_COLS " FROM lots WHERE id = $1")                                  \
	X(LOT_CREATE, "INSERT INTO lots(merchant_id, client_id, currency, remaining, original,"    \
		      " expires_ms, order_id, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)" \
		      " RETURNING id")                                                             \
	X(LOT_ADD, "UPDATE lots SET remaining = remaining + $1 WHERE id = $2")                     \
	X(LOTS_EXPIRED, "SELECT " LOT_COLS " FROM lots WHERE remaining > 0"                        \
			" AND expires_ms <= $1 ORDER BY expires_ms, id LIMIT $2")                  \
	X(LEDGER_ADD, "INSERT INTO ledger(merchant_id, client_id, currency, amount, type,"         \
		      " order_id, hold_id, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")   \
	X(TAKE_ADD, "INSERT INTO lot_takes(order_id, lot_id, taken, returned)"                     \
		    " VALUES ($1, $2, $3, $4)")                                                    \
	X(TAKES_GET, "SELECT t.order_id, t.lot_id, t.taken, t.returned, l.expires_ms"              \
		     " FROM lot_takes t JOIN lots l ON l.id = t.lot_id WHERE t.order_id = $1"      \
		     " ORDER BY l.expires_ms DESC NULLS FIRST, l.id DESC LIMIT $2")                \
	X(IDEM_GET, "SELECT request_hash, status, body, created_ms FROM idempotency"               \
		    " WHERE merchant_id = $1 AND scope = $2 AND key = $3 AND created_ms >= $4")    \
	X(IDEM_PUT, "INSERT INTO idempotency(merchant_id, scope, key, request_hash, status, body," \
		    " created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"      \
		    " RETURNING 1")                                                                \
	X(IDEM_PURGE, "DELETE FROM idempotency WHERE created_ms < $1")                             \
	X(SP_LIST, "SELECT id, merchant_id, region, city, address, phone FROM sale_points"         \
		   " WHERE merchant_id = $1 ORDER BY id")                                          \
	X(SP_INSERT, "INSERT INTO sale_points(merchant_id, region, city, address, phone)"          \
		     " VALUES ($1, $2, $3, $4, $5) RETURNING id")                                  \
	X(SP_UPDATE, "UPDATE sale_points SET region = $1, city = $2, address = $3, phone = $4"     \
		     " WHERE merchant_id = $5 AND id = $6 RETURNING id")                           \
	X(SP_DELETE, "DELETE FROM sale_points WHERE merchant_id = $1 AND id = $2 RETURNING id")    \
	X(DOC_GET, "SELECT json FROM merchant_documents WHERE merchant_id = $1 AND name = $2")     \
	X(DOC_PUT, "INSERT INTO merchant_documents(merchant_id, name, json) VALUES ($1, $2, $3)"   \
		   " ON CONFLICT (merchant_id, name) DO UPDATE SET json = excluded.json")          \
	X(AUTH_COUNTER_GET, "SELECT failures, window_start_ms, locked_until_ms FROM auth_counters"  \
			    " WHERE key = $1")                                                     \
	X(AUTH_COUNTER_PUT, "INSERT INTO auth_counters(key, failures, window_start_ms,"            \
			    " locked_until_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE"\
			    " SET failures = excluded.failures,"                                   \
			    " window_start_ms = excluded.window_start_ms,"                         \
			    " locked_until_ms = excluded.locked_until_ms")                         \
	X(TAKE_RETURNED, "UPDATE lot_takes SET returned = $1 WHERE order_id = $2"                  \
			 " AND lot_id = $3")                                                       \
	X(CATALOG_CREATE, "INSERT INTO coupons(merchant_id, title, header, sub_header,"            \
			  " short_description, long_description, image_path, style, valid_days,"   \
			  " valid_until, deleted, created_ms)"                                     \
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"            \
			  " RETURNING id")                                                         \
	X(CATALOG_GET, "SELECT " CATALOG_COLS " FROM coupons WHERE merchant_id = $1 AND id = $2")  \
	X(CATALOG_UPDATE, "UPDATE coupons SET title = $1, header = $2, sub_header = $3,"           \
			  " short_description = $4, long_description = $5, image_path = $6,"       \
			  " style = $7, valid_days = $8, valid_until = $9 WHERE merchant_id = $10"  \
			  " AND id = $11 RETURNING id")                                            \
	X(CATALOG_DELETE, "UPDATE coupons SET deleted = true WHERE merchant_id = $1 AND id = $2"   \
			  " RETURNING id")                                                         \
	X(CATALOG_LIST, "SELECT " CATALOG_COLS " FROM coupons WHERE merchant_id = $1"              \
			" ORDER BY id LIMIT $2 OFFSET $3")                                         \
	X(COUPON_ISSUE, "INSERT INTO coupon_instances(merchant_id, client_id, coupon_id, status,"  \
			" issued_ms, expires_ms, token, share_token, merchant_token,"              \
			" merchant_share_token, issued_order_id, redeemed_order_id)"               \
			" VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, NULL)"               \
			" ON CONFLICT DO NOTHING RETURNING id")                                    \
	X(CODE_CLAIM, "INSERT INTO coupon_codes(merchant_id, code, instance_id)"                   \
		      " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING instance_id")         \
	X(CODES_FREE, "DELETE FROM coupon_codes WHERE instance_id = $1")                           \
	X(COUPON_OWNER, "SELECT merchant_id, merchant_token, merchant_share_token"                 \
			" FROM coupon_instances WHERE id = $1")                                    \
	X(COUPON_BY_TOKEN, "SELECT id FROM coupon_instances WHERE merchant_id = $1 AND token = $2") \
	X(COUPON_BY_SHARE, "SELECT id FROM coupon_instances WHERE merchant_id = $1"             \
			   " AND share_token = $2")                                                 \
	X(COUPON_BY_CODE, "SELECT instance_id FROM coupon_codes WHERE merchant_id = $1"         \
			  " AND code = $2")                                                         \
	X(COUPON_GET, "SELECT " INSTANCE_COLS " FROM coupon_instances i JOIN coupons c"            \
		      " ON c.id = i.coupon_id WHERE i.merchant_id = $1 AND i.id = $2")             \
	X(COUPONS_USABLE, "SELECT " INSTANCE_COLS " FROM coupon_instances i JOIN coupons c"        \
			  " ON c.id = i.coupon_id WHERE i.merchant_id = $1 AND i.client_id = $2"   \
			  " AND i.status = 0 AND (i.expires_ms IS NULL OR i.expires_ms >= $3)"     \
			  " ORDER BY i.id")                                                        \
	X(COUPON_STATUS, "UPDATE coupon_instances SET status = $1, redeemed_order_id = $2"         \
			 " WHERE id = $3")                                                         \
	X(COUPON_CODES_SET, "UPDATE coupon_instances SET merchant_token = $1,"                     \
			    " merchant_share_token = $2 WHERE id = $3")                            \
	X(COUPONS_REDEEMED_BY, "SELECT id FROM coupon_instances WHERE redeemed_order_id = $1"      \
			       " ORDER BY id LIMIT $2")                                            \
	X(COUPONS_ISSUED_BY, "SELECT id FROM coupon_instances WHERE issued_order_id = $1"          \
			     " ORDER BY id LIMIT $2")                                              \
	X(COUPON_SET_HOLD, "UPDATE coupon_instances SET hold_id = $1 WHERE id = $2")               \
	X(COUPONS_OF_HOLD, "SELECT id FROM coupon_instances WHERE hold_id = $1 ORDER BY id"        \
			   " LIMIT $2")                                                            \
	X(COUPON_SHARE_MARK, "UPDATE coupon_instances SET shared_client_id = $1,"                  \
			     " shared_instance_id = $2, shared_ms = $3 WHERE id = $4"              \
			     " AND shared_client_id IS NULL RETURNING id")                         \
	X(COUPON_SHARE_GET, "SELECT ci.shared_client_id, ci.shared_instance_id,"                   \
			    " (SELECT o.id FROM coupon_instances o WHERE o.shared_instance_id = ci.id" \
			    " LIMIT 1) FROM coupon_instances ci WHERE ci.id = $1")                 \
	X(HOLD_CREATE, "INSERT INTO holds(merchant_id, client_id, currency, amount,"               \
		       " transaction_id, kind, status, created_ms, expires_ms, ended_ms, order_id," \
		       " fiscal_order_id, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9," \
		       " $10, $11, $12, $13) ON CONFLICT DO NOTHING RETURNING id")                 \
	X(HOLD_GET, "SELECT " HOLD_COLS " FROM holds WHERE merchant_id = $1"                       \
		    " AND transaction_id = $2")                                                    \
	X(HOLD_UPDATE, "UPDATE holds SET status = $1, ended_ms = $2, order_id = $3,"               \
		       " fiscal_order_id = $4 WHERE id = $5")                                      \
	X(HOLDS_EXPIRED_CLIENT, "SELECT " HOLD_COLS " FROM holds WHERE client_id = $1"             \
				" AND status = 0 AND expires_ms <= $2 ORDER BY expires_ms, id"     \
				" LIMIT $3")                                                       \
	X(HOLDS_EXPIRED_ALL, "SELECT " HOLD_COLS " FROM holds WHERE status = 0"                    \
			     " AND expires_ms <= $1 ORDER BY expires_ms, id LIMIT $2")             \
	X(HOLDS_EXPIRED_SUM, "SELECT coalesce(sum(t.taken), 0) FROM holds h"                       \
			     " JOIN hold_takes t ON t.hold_id = h.id JOIN lots l ON l.id = t.lot_id" \
			     " WHERE h.client_id = $1 AND h.currency = $2 AND h.status = 0"        \
			     " AND h.expires_ms <= $3 AND (l.expires_ms IS NULL OR l.expires_ms > $3)") \
	X(HOLD_TAKE_ADD, "INSERT INTO hold_takes(hold_id, lot_id, taken) VALUES ($1, $2, $3)")      \
	X(HOLD_TAKES_GET, "SELECT t.hold_id, t.lot_id, t.taken, l.expires_ms FROM hold_takes t"    \
			  " JOIN lots l ON l.id = t.lot_id WHERE t.hold_id = $1 ORDER BY t.lot_id" \
			  " LIMIT $2")                                                             \
	X(ORDER_FIND_EXT, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = $1"               \
			  " AND external_id = $2 AND receipt_type = $3 AND refund_key = $4")       \
	X(ORDER_GET, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = $1 AND id = $2")       \
	X(ORDER_BY_TOKEN, "SELECT " ORDER_COLS " FROM orders WHERE public_token = $1")             \
	X(ORDER_CREATE, "INSERT INTO orders(merchant_id, external_id, receipt_type, order_number," \
			" client_id, order_date_ms, external_date_ms, total, card, cash,"          \
			" spent_currency, spent, accrued_currency, accrued, refund_of, fn, fd,"    \
			" comment, public_token, request_hash, response, created_by, refund_key)"  \
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"    \
			" $15, $16, $17, $18, $19, $20, $21, $22, $23)"                            \
			" ON CONFLICT DO NOTHING RETURNING id")                                    \
	X(ORDER_PROGRESS, "UPDATE orders SET refunded_total = $1, accrual_taken = $2,"             \
			  " spend_returned = $3, paid_refunded = $4, fully_refunded = $5"          \
			  " WHERE id = $6")                                                        \
	X(ORDER_RESPONSE, "UPDATE orders SET response = $1 WHERE id = $2")                         \
	X(ITEM_CREATE, "INSERT INTO order_items(order_id, merchant_id, line_no, name, price,"      \
		       " qty_milli, unit, vat, total, refund_of_item, product_id)"                 \
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id")      \
	X(ITEM_GET, "SELECT id, order_id, merchant_id, line_no, name, price, qty_milli, unit,"     \
		    " vat, total, refunded_qty, refunded_total, refund_of_item, product_id"        \
		    " FROM order_items"                                                            \
		    " WHERE merchant_id = $1 AND id = $2")                                         \
	X(ORDERS_LIST, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = $1"                  \
		       " AND order_date_ms >= $2 AND order_date_ms <= $3"                          \
		       " AND ($4::bigint IS NULL OR client_id = $4)"                               \
		       " AND ($5::bigint IS NULL OR receipt_type = $5)"                            \
		       " AND ($6::bigint IS NULL OR created_by = $6)"                              \
		       " AND ($7::text IS NULL OR fn LIKE $7 ESCAPE E'\\\\')"                       \
		       " AND ($8::text IS NULL OR fd LIKE $8 ESCAPE E'\\\\')"                       \
		       " ORDER BY order_date_ms DESC, id DESC LIMIT $9 OFFSET $10")                \
	X(ORDER_ITEMS, "SELECT id, order_id, merchant_id, line_no, name, price, qty_milli, unit,"  \
		       " vat, total, refunded_qty, refunded_total, refund_of_item, product_id"     \
		       " FROM order_items"                                                         \
		       " WHERE merchant_id = $1 AND order_id = $2 ORDER BY line_no")               \
	X(ORDER_REACTION, "UPDATE orders SET reaction = $1, customer_comment = $2 WHERE id = $3")  \
	X(CLIENT_REVIEWS, "UPDATE clients SET positive_reviews = positive_reviews + $1,"           \
			  " neutral_reviews = neutral_reviews + $2,"                               \
			  " negative_reviews = negative_reviews + $3 WHERE id = $4")               \
	X(ITEM_REFUNDED, "UPDATE order_items SET refunded_qty = $1, refunded_total = $2"           \
			 " WHERE id = $3")


#define STMT_ENUM(name, sql) ST_##name,
#define STMT_SQL(name, sql) sql,
#define STMT_NAME(name, sql) #name,
enum stmt_id { STATEMENTS(STMT_ENUM) ST__COUNT };
static const char *const stmt_sql[] = {STATEMENTS(STMT_SQL)};
static const char *const stmt_names[] = {STATEMENTS(STMT_NAME)};

struct pg_conn {
	struct store_conn base;
	struct pg_store *owner;
	PGconn *db;
	/* What this session has prepared; cleared when the connection is re-established. */
	bool prepared[ST__COUNT];
	/* Client search shapes: [phone pattern kind + 1][email pattern kind + 1], 0 = none. */
	bool search_prepared[SEARCH_KINDS][SEARCH_KINDS];
	bool in_tx;
	bool writing; /* the open transaction is a write (for the commit metrics) */
};

struct pg_store {
	struct store base;
	char *uri;
	struct store_options opt;
	struct conn_pool pool;
};

static const struct store_ops pg_ops;

static struct pg_conn *PG(struct store_conn *c)
{
	return (struct pg_conn *)c;
}

/* libpq's messages end in a newline; log lines must not. */
static void log_pg(enum log_level level, const char *what, const char *state, const char *msg)
{
	int len = (int)strcspn(msg, "\n");
	log_msg(level, "postgres: %s: %.*s%s%s%s", what, len, msg, state ? " (SQLSTATE " : "",
		state ? state : "", state ? ")" : "");
}

/* Maps a failed result (or NULL: no result at all) to the interface's code. Logs what is not
 * an expected outcome. */
static enum store_rc map_error(struct pg_conn *c, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	if (!msg || !*msg)
		msg = PQerrorMessage(c->db);
	if (!state) {
		/* No SQLSTATE: the connection failed or libpq ran out of memory. */
		log_pg(LOG_ERROR, what, NULL, msg);
		return STORE_ERROR;
	}
	if (strcmp(state, "23505") == 0)
		return STORE_CONFLICT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0) {
		/* Serialization failure, deadlock, lock wait past lock_timeout: run it again. */
		log_pg(LOG_WARN, what, state, msg);
		return STORE_RETRY;
	}
	if (strcmp(state, "53100") == 0 || strcmp(state, "25006") == 0) {
		/* Disk full, read-only transaction (a standby or default_transaction_read_only). */
		log_pg(LOG_ERROR, what, state, msg);
		return STORE_FULL;
	}
	log_pg(LOG_ERROR, what, state, msg);
	return STORE_ERROR;
}

/* Runs SQL outside the prepared set (transaction control, savepoints, migrations, check). On
 * success *out (when not NULL) holds the result, which the caller PQclear()s. */
static enum store_rc exec_simple(struct pg_conn *c, const char *sql, const char *what,
				 PGresult **out)
{
	PGresult *res = PQexec(c->db, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum store_rc rc = map_error(c, res, what);
		PQclear(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return STORE_OK;
}

/* Text parameters of one statement. */
struct params {
	int n;
	const char *values[PARAMS_MAX];
	char numbers[PARAMS_MAX][24];
};

static void param_int(struct params *p, int64_t v)
{
	assert(p->n < PARAMS_MAX);
	snprintf(p->numbers[p->n], sizeof(p->numbers[p->n]), "%lld", (long long)v);
	p->values[p->n] = p->numbers[p->n];
	p->n++;
}

static void param_text(struct params *p, const char *t)
{
	assert(p->n < PARAMS_MAX);
	p->values[p->n++] = t; /* NULL is SQL NULL */
}

/* Adds parameters by a format: 'i' int64, 'z' int64 with 0 as NULL, 's' text (NULL as NULL),
 * 'b' bool as 1/0 (boolean columns take it as well as integer ones), 'd' int (enum). */
static void paramsv(struct params *p, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		switch (*fmt) {
		case 'i':
			param_int(p, va_arg(ap, int64_t));
			break;
		case 'z': {
			int64_t v = va_arg(ap, int64_t);
			if (v)
				param_int(p, v);
			else
				param_text(p, NULL);
			break;
		}
		case 's':
			param_text(p, va_arg(ap, const char *));
			break;
		case 'b':
			param_int(p, va_arg(ap, int) ? 1 : 0);
			break;
		case 'd':
			param_int(p, va_arg(ap, int));
			break;
		default:
			abort();
		}
	}
}

/* Prepares a statement under name on this connection. A statement that does not prepare is
 * either our bug (logged with its SQL) or a transaction already aborted / a lost connection. */
static enum store_rc prepare(struct pg_conn *c, const char *name, const char *sql, const char *what)
{
	PGresult *res = PQprepare(c->db, name, sql, 0, NULL);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	enum store_rc rc = STORE_OK;
	if (st != PGRES_COMMAND_OK) {
		rc = map_error(c, res, what);
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		if (state && strncmp(state, "42", 2) == 0)
			log_error("postgres: cannot prepare %s: %s", what, sql);
	}
	PQclear(res);
	return rc;
}

/* Runs the statement prepared on this connection under name. On success *out, when not NULL,
 * holds the result, which the caller PQclear()s. */
static enum store_rc run_prepared(struct pg_conn *c, const char *name, const char *what,
				  const struct params *p, PGresult **out)
{
	PGresult *res = PQexecPrepared(c->db, name, p->n, p->values, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum store_rc rc = map_error(c, res, what);
		PQclear(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return STORE_OK;
}

/* Runs sql planned for these very parameters (an unnamed statement), where the plan depends
 * on their values and a cached generic plan would be wrong for some of them. On success
 * *out, when not NULL, holds the result, which the caller PQclear()s. */
static enum store_rc run_planned(struct pg_conn *c, const char *sql, const char *what,
				 const struct params *p, PGresult **out)
{
	PGresult *res = PQexecParams(c->db, sql, p->n, NULL, p->values, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum store_rc rc = map_error(c, res, what);
		PQclear(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return STORE_OK;
}

/* Prepares statement id on this connection unless it already is; its name goes to name. */
static enum store_rc ensure_prepared(struct pg_conn *c, enum stmt_id id, char name[16])
{
	snprintf(name, 16, "k%d", (int)id);
	if (c->prepared[id])
		return STORE_OK;
	enum store_rc rc = prepare(c, name, stmt_sql[id], stmt_names[id]);
	if (rc == STORE_OK)
		c->prepared[id] = true;
	return rc;
}

/* Runs statement id with the parameters of the format (see paramsv). On success *out, when
 * not NULL, holds the result, which the caller PQclear()s. */
static enum store_rc q(struct pg_conn *c, enum stmt_id id, PGresult **out, const char *fmt, ...)
{
	char name[16];
	enum store_rc rc = ensure_prepared(c, id, name);
	if (rc != STORE_OK)
		return rc;
	struct params p = {0};
	va_list ap;
	va_start(ap, fmt);
	paramsv(&p, fmt, ap);
	va_end(ap);
	return run_prepared(c, name, stmt_names[id], &p, out);
}

static int64_t col_i(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool col_b(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	return v[0] == 't' || v[0] == '1';
}

static char *col_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

static void col_copy(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	snprintf(dst, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
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

/* For INSERT ... [ON CONFLICT DO NOTHING] RETURNING id: no row back means a uniqueness rule
 * refused the row. Takes the result by address, like one_row, so that a call can be nested
 * in the argument list (argument evaluation order is unspecified). */
static enum store_rc returned_id(enum store_rc rc, PGresult **res, int64_t *id_out)
{
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(*res) == 0)
		rc = STORE_CONFLICT;
	else if (id_out)
		*id_out = col_i(*res, 0, 0);
	PQclear(*res);
	*res = NULL;
	return rc;
}

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
	memset(c->prepared, 0, sizeof(c->prepared));
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
	if (exec_simple(c, "BEGIN", "migrate", NULL) != STORE_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", MIGRATE_LOCK_KEY);
	if (exec_simple(c, sql, "migrate lock", NULL) != STORE_OK)
		goto fail;
	/* READ COMMITTED: this statement sees what a node that held the lock before committed. */
	if (exec_simple(c,
			"SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN -1 ELSE 0 END",
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
		if (exec_simple(c, "CREATE TABLE schema_version (version INTEGER NOT NULL)",
				"migrate", NULL) != STORE_OK)
			goto fail;
	} else {
		if (exec_simple(c, "SELECT coalesce(max(version), 0) FROM schema_version",
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
		if (exec_simple(c, pg_migrations[v], "migration", NULL) != STORE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version) VALUES (%d)",
			 v + 1);
		if (exec_simple(c, sql, "migrate", NULL) != STORE_OK)
			goto fail;
		if (version > 0)
			log_info("migrated database schema to version %d", v + 1);
	}
	if (exec_simple(c, "COMMIT", "migrate commit", NULL) != STORE_OK)
		goto fail;
	return true;
fail:
	snprintf(err_buf, err_len, "cannot migrate the database schema: %.*s",
		 (int)strcspn(PQerrorMessage(c->db), "\n"), PQerrorMessage(c->db));
rollback:
	exec_simple(c, "ROLLBACK", "migrate rollback", NULL);
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
	if (PQstatus(c->db) == CONNECTION_BAD) {
		/* Lost since its last use (server restart, network): try once to reconnect. If it
		 * fails the borrower's operations fail with STORE_ERROR and the next borrower
		 * tries again. */
		log_warn("postgres: connection lost; reconnecting");
		PQreset(c->db);
		char err[256];
		if (PQstatus(c->db) != CONNECTION_OK)
			log_pg(LOG_ERROR, "reconnect", NULL, PQerrorMessage(c->db));
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
	PGTransactionStatusType ts = PQtransactionStatus(c->db);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
		/* A borrower that forgot to finish: never hand a live transaction on. */
		exec_simple(c, "ROLLBACK", "rollback", NULL);
	}
	c->in_tx = false;
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
	 * before it, so what it reads after its row lock is the locked rows as they are. */
	static const char *const sql[] = {
	    [STORE_TX_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    [STORE_TX_WRITE] = "BEGIN ISOLATION LEVEL SERIALIZABLE;"
			       " LOCK TABLE write_lock IN EXCLUSIVE MODE",
	    [STORE_TX_ROWS] = "BEGIN ISOLATION LEVEL READ COMMITTED;"
			      " LOCK TABLE write_lock IN ROW EXCLUSIVE MODE",
	};
	assert(kind >= STORE_TX_READ && kind <= STORE_TX_ROWS);
	bool write = kind != STORE_TX_READ;
	enum store_rc rc = exec_simple(c, sql[kind], "begin", NULL);
	if (rc != STORE_OK) {
		/* The caller rolls back only what began: end a half-begun transaction here. */
		PGTransactionStatusType ts = PQtransactionStatus(c->db);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
			exec_simple(c, "ROLLBACK", "rollback", NULL);
		return rc;
	}
	c->in_tx = true;
	c->writing = write;
	return STORE_OK;
}

static enum store_rc pg_commit(struct store_conn *base)
{
	struct pg_conn *c = PG(base);
	if (PQtransactionStatus(c->db) == PQTRANS_INERROR) {
		/* COMMIT of an aborted transaction "succeeds" as a rollback: never report it. */
		log_error("postgres: commit of a failed transaction; rolled back");
		exec_simple(c, "ROLLBACK", "rollback", NULL);
		c->in_tx = false;
		return STORE_ERROR;
	}
	PGresult *res = NULL;
	int64_t started = mono_us();
	enum store_rc rc = exec_simple(c, "COMMIT", "commit", &res);
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
	 * back), unless the connection broke; then rollback finds nothing to end. */
	c->in_tx = false;
	return rc;
}

static void pg_rollback(struct store_conn *base)
{
	struct pg_conn *c = PG(base);
	PGTransactionStatusType ts = PQtransactionStatus(c->db);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		exec_simple(c, "ROLLBACK", "rollback", NULL);
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

/* A savepoint around an operation of several statements that must leave nothing behind when
 * it answers CONFLICT. sp_end undoes to it on CONFLICT; after RETRY or ERROR the transaction
 * is aborted and the caller rolls it all back. */
static enum store_rc sp_begin(struct pg_conn *c)
{
	return exec_simple(c, "SAVEPOINT op", "savepoint", NULL);
}

static enum store_rc sp_end(struct pg_conn *c, enum store_rc rc)
{
	if (rc == STORE_CONFLICT) {
		enum store_rc undo =
		    exec_simple(c, "ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op",
				"rollback to savepoint", NULL);
		return undo == STORE_OK ? rc : undo;
	}
	if (rc == STORE_OK)
		return exec_simple(c, "RELEASE SAVEPOINT op", "release savepoint", NULL);
	return rc;
}

/* ---- merchants and accounts ---- */

static enum store_rc pg_merchant_create(struct store_conn *base, const char *name, int64_t now,
					int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *res = NULL;
	return returned_id(q(c, ST_MERCHANT_CREATE, &res, "si", name, now), &res, id_out);
}

static enum store_rc pg_account_create(struct store_conn *base, const struct account *a,
				       int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *res = NULL;
	enum store_rc rc = q(c, ST_ACCOUNT_CREATE, &res, "iddssssssiss", a->merchant_id,
			     (int)a->kind, (int)a->role, a->email, a->email, a->phone,
			     a->password_hash, a->first_name, a->last_name, now_ms(), a->inn,
			     a->staff_login[0] ? a->staff_login : NULL);
	return returned_id(rc, &res, id_out);
}

static void read_account(const PGresult *r, int row, struct account *out)
{
	out->id = col_i(r, row, 0);
	out->merchant_id = col_i(r, row, 1);
	out->kind = (enum account_kind)col_i(r, row, 2);
	out->role = (enum role)col_i(r, row, 3);
	out->email = col_str(r, row, 4);
	out->phone = col_str(r, row, 5);
	out->password_hash = col_str(r, row, 6);
	out->first_name = col_str(r, row, 7);
	out->last_name = col_str(r, row, 8);
	out->cred_version = col_i(r, row, 9);
	out->inn = col_str(r, row, 10);
	col_copy(r, row, 11, out->staff_login, sizeof(out->staff_login));
	out->created_ms = col_i(r, row, 12);
}

static enum store_rc account_one(enum store_rc rc, PGresult *r, struct account *out)
{
	rc = one_row(rc, &r);
	if (rc != STORE_OK)
		return rc;
	read_account(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_account_find_login(struct store_conn *base, const char *login,
					   struct account *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ACCOUNT_FIND, &r, "s", login);
	return account_one(rc, r, out);
}

static enum store_rc pg_account_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct account *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ACCOUNT_GET, &r, "ii", merchant_id, id);
	return account_one(rc, r, out);
}

static enum store_rc pg_account_self(struct store_conn *base, int64_t id, struct account *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ACCOUNT_SELF, &r, "i", id);
	return account_one(rc, r, out);
}

static enum store_rc pg_employees_list(struct store_conn *base, int64_t merchant_id,
				       int64_t offset, int64_t limit, account_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_EMPLOYEES_LIST, &r, "iii", merchant_id, limit, offset);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct account a = {0};
		read_account(r, i, &a);
		bool more = row(ctx, &a);
		account_clear(&a);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

/* An UPDATE ... RETURNING id: NOT_FOUND when it touched no row. */
static enum store_rc touched(enum store_rc rc, PGresult *r)
{
	rc = one_row(rc, &r);
	if (rc == STORE_OK)
		PQclear(r);
	return rc;
}

static enum store_rc pg_account_update(struct store_conn *base, const struct account *a)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ACCOUNT_UPDATE, &r, "ssssssdssii", a->email, a->email, a->phone,
			     a->first_name, a->last_name, a->inn, (int)a->role, a->password_hash,
			     a->password_hash, a->merchant_id, a->id);
	return touched(rc, r);
}

static enum store_rc pg_account_delete(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ACCOUNT_DELETE, &r, "ii", merchant_id, id);
	rc = touched(rc, r);
	if (rc == STORE_OK)
		rc = q(c, ST_KEYS_REVOKE_ACCOUNT, NULL, "ii", now_ms(), id);
	return rc;
}

static void read_key(const PGresult *r, int row, struct api_key *k)
{
	k->id = col_i(r, row, 0);
	k->merchant_id = col_i(r, row, 1);
	k->account_id = col_i(r, row, 2);
	col_copy(r, row, 3, k->hash, sizeof(k->hash));
	k->created_ms = col_i(r, row, 4);
	k->revoked = !PQgetisnull(r, row, 5);
}

static enum store_rc pg_api_key_create(struct store_conn *base, const struct api_key *k,
				       int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_KEY_CREATE, &r, "iisi", k->merchant_id, k->account_id, k->hash,
			     k->created_ms);
	return returned_id(rc, &r, id_out);
}

static enum store_rc pg_api_key_get(struct store_conn *base, int64_t id, struct api_key *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_KEY_GET, &r, "i", id), &r);
	if (rc != STORE_OK)
		return rc;
	read_key(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_api_keys_list(struct store_conn *base, int64_t merchant_id,
				      api_key_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_KEYS_LIST, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct api_key k = {0};
		read_key(r, i, &k);
		if (!row(ctx, &k))
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_api_key_revoke(struct store_conn *base, int64_t merchant_id, int64_t id,
				       int64_t now)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_KEY_REVOKE, &r, "iii", now, merchant_id, id);
	return touched(rc, r);
}

static void read_accrual(const PGresult *r, int i, struct accrual_setting *a)
{
	a->coupon_id = col_i(r, 0, i);
	a->rule.type = col_i(r, 0, i + 1) == 0 ? ACCRUAL_AMOUNT : ACCRUAL_PERCENTAGE;
	a->rule.amount = col_i(r, 0, i + 2);
	a->valid_days = col_i(r, 0, i + 3);
}

static enum store_rc pg_settings_get(struct store_conn *base, int64_t merchant_id,
				     struct loyalty_settings *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_SETTINGS_GET, &r, "i", merchant_id), &r);
	if (rc != STORE_OK)
		return rc;
	out->active = col_b(r, 0, 0);
	out->currency = col_i(r, 0, 1) == 1 ? CUR_RUBLES : CUR_POINTS;
	read_accrual(r, 2, &out->new_customer);
	read_accrual(r, 6, &out->customer);
	out->auto_register = col_b(r, 0, 10);
	out->max_spend_percent = col_i(r, 0, 11);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_settings_put(struct store_conn *base, int64_t merchant_id,
				     const struct loyalty_settings *st)
{
	struct pg_conn *c = PG(base);
	const struct accrual_setting *n = &st->new_customer, *u = &st->customer;
	return q(c, ST_SETTINGS_PUT, NULL, "bdzdizzdizbii", st->active, (int)st->currency,
		 n->coupon_id, (int)n->rule.type, n->rule.amount, n->valid_days, u->coupon_id,
		 (int)u->rule.type, u->rule.amount, u->valid_days, st->auto_register,
		 st->max_spend_percent, merchant_id);
}

static enum store_rc pg_order_number_next(struct store_conn *base, int64_t merchant_id,
					  int64_t *number_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_ORDER_SEQ, &r, "i", merchant_id), &r);
	if (rc != STORE_OK)
		return rc;
	*number_out = col_i(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

/* ---- clients ---- */

static enum store_rc client_one(enum store_rc rc, PGresult *r, struct client *out);

/* Row locks (store.h): FOR NO KEY UPDATE, so that rows referencing the locked one (their
 * foreign keys take KEY SHARE) are still inserted by others. */
static enum store_rc pg_client_lock(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct client *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CLIENT_LOCK, &r, "ii", merchant_id, id);
	if (out)
		return client_one(rc, r, out);
	return touched(rc, r);
}

static enum store_rc pg_order_lock(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ORDER_LOCK, &r, "ii", merchant_id, id);
	return touched(rc, r);
}

static enum store_rc pg_key_lock(struct store_conn *base, int64_t merchant_id, const char *scope,
				 const char *key)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_KEY_LOCK, NULL, "iss", merchant_id, scope, key);
}

static void read_client(const PGresult *r, int row, struct client *out)
{
	out->id = col_i(r, row, 0);
	out->merchant_id = col_i(r, row, 1);
	out->email = col_str(r, row, 2);
	out->phone = col_str(r, row, 3);
	out->name = col_str(r, row, 4);
	out->avatar_url = col_str(r, row, 5);
	col_copy(r, row, 6, out->token, sizeof(out->token));
	out->paid_purchases = col_i(r, row, 7);
	out->total_purchases = col_i(r, row, 8);
	out->total_amount_minor = col_i(r, row, 9);
	out->paid_amount_minor = col_i(r, row, 10);
	out->positive_reviews = col_i(r, row, 11);
	out->neutral_reviews = col_i(r, row, 12);
	out->negative_reviews = col_i(r, row, 13);
	out->created_ms = col_i(r, row, 14);
}

static enum store_rc client_one(enum store_rc rc, PGresult *r, struct client *out)
{
	rc = one_row(rc, &r);
	if (rc != STORE_OK)
		return rc;
	read_client(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_client_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				   struct client *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CLIENT_GET, &r, "ii", merchant_id, id);
	return client_one(rc, r, out);
}

static enum store_rc pg_client_find_phone(struct store_conn *base, int64_t merchant_id,
					  const char *phone, struct client *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CLIENT_FIND_PHONE, &r, "is", merchant_id, phone);
	return client_one(rc, r, out);
}

static enum store_rc pg_client_find_token(struct store_conn *base, int64_t merchant_id,
					  const char *token, struct client *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CLIENT_FIND_TOKEN, &r, "is", merchant_id, token);
	return client_one(rc, r, out);
}

static enum store_rc pg_ledger_list(struct store_conn *base, int64_t client_id, int64_t from,
				    int64_t to, int64_t offset, int64_t limit, ledger_row_fn row,
				    void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_LEDGER_LIST, &r, "iiiii", client_id, from, to, limit, offset);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct ledger_entry e = {.id = col_i(r, i, 0),
					 .merchant_id = col_i(r, i, 1),
					 .client_id = col_i(r, i, 2),
					 .currency = col_i(r, i, 3) == 1 ? CUR_RUBLES : CUR_POINTS,
					 .amount_minor = col_i(r, i, 4),
					 .type = (enum ledger_type)col_i(r, i, 5),
					 .order_id = col_i(r, i, 6),
					 .hold_id = col_i(r, i, 7),
					 .created_ms = col_i(r, i, 8)};
		if (!row(ctx, &e))
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_client_update(struct store_conn *base, const struct client *cl)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CLIENT_UPDATE, &r, "sssssii", cl->email, cl->email, cl->phone,
			     cl->name, cl->avatar_url, cl->merchant_id, cl->id);
	return touched(rc, r);
}

static enum store_rc pg_client_find_email(struct store_conn *base, int64_t merchant_id,
					  const char *email_lc, struct client *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CLIENT_FIND_EMAIL, &r, "is", merchant_id, email_lc);
	return client_one(rc, r, out);
}

static enum store_rc pg_client_create(struct store_conn *base, const struct client *cl,
				      int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
	    q(c, ST_CLIENT_CREATE, &r, "issssssi", cl->merchant_id, cl->email, cl->email, cl->phone,
	      cl->name, cl->avatar_url, cl->token, cl->created_ms);
	return returned_id(rc, &r, id_out);
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
		param_text(p, pat->text);
		break;
	case PATTERN_PREFIX:
		param_text(p, pat->text);
		param_text(p, pat->upper);
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
	buf_puts(sql, qr->phone   ? " ORDER BY phone, id"
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
			enum store_rc prc = prepare(c, name, sql.data, "client search");
			if (prc != STORE_OK) {
				buf_free(&sql);
				return prc;
			}
			c->search_prepared[pk][ek] = true;
		}
	}
	struct params p = {0};
	param_int(&p, merchant_id);
	if (qr->phone)
		search_params(&p, qr->phone);
	if (qr->email)
		search_params(&p, qr->email);
	param_int(&p, qr->limit);
	param_int(&p, qr->offset);
	PGresult *r = NULL;
	enum store_rc rc = planned ? run_planned(c, sql.data, "client search", &p, &r)
				   : run_prepared(c, name, "client search", &p, &r);
	buf_free(&sql);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct client cl = {0};
		read_client(r, i, &cl);
		bool more = row(ctx, &cl);
		client_clear(&cl);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_client_stats_add(struct store_conn *base, int64_t client_id,
					 int64_t d_total, int64_t d_paid, money_t d_total_amount,
					 money_t d_paid_amount)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_CLIENT_STATS, NULL, "iiiii", d_total, d_paid, d_total_amount, d_paid_amount,
		 client_id);
}

/* ---- balances, lots, ledger ---- */

static enum store_rc pg_balance_get(struct store_conn *base, int64_t client_id, enum currency cur,
				    struct balance *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	memset(out, 0, sizeof(*out));
	enum store_rc rc = one_row(q(c, ST_BALANCE_GET, &r, "id", client_id, (int)cur), &r);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK; /* no row yet: all zero */
	if (rc != STORE_OK)
		return rc;
	out->balance_minor = col_i(r, 0, 0);
	out->debt_minor = col_i(r, 0, 1);
	out->held_minor = col_i(r, 0, 2);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_balance_add(struct store_conn *base, int64_t merchant_id, int64_t client_id,
				    enum currency cur, money_t d_balance, money_t d_debt,
				    money_t d_held)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_BALANCE_ADD, NULL, "iidiii", merchant_id, client_id, (int)cur, d_balance,
		 d_debt, d_held);
}

static enum store_rc pg_lots_unexpired_sum(struct store_conn *base, int64_t client_id,
					   enum currency cur, int64_t now, money_t *sum_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_LOTS_SUM, &r, "idi", client_id, (int)cur, now), &r);
	if (rc != STORE_OK)
		return rc;
	*sum_out = col_i(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static void read_lot(const PGresult *r, int row, struct lot *l)
{
	l->id = col_i(r, row, 0);
	l->merchant_id = col_i(r, row, 1);
	l->client_id = col_i(r, row, 2);
	l->currency = col_i(r, row, 3) == 1 ? CUR_RUBLES : CUR_POINTS;
	l->remaining_minor = col_i(r, row, 4);
	l->original_minor = col_i(r, row, 5);
	l->expires_ms = col_i(r, row, 6);
	l->order_id = col_i(r, row, 7);
}

static enum store_rc read_lots(enum store_rc rc, PGresult *r, struct lot *out, size_t max,
			       size_t *n_out)
{
	size_t n = 0;
	if (rc == STORE_OK) {
		for (int i = 0, rows = PQntuples(r); i < rows && n < max; i++)
			read_lot(r, i, &out[n++]);
		PQclear(r);
	}
	*n_out = n;
	return rc;
}

static enum store_rc pg_lots_spendable(struct store_conn *base, int64_t client_id,
				       enum currency cur, int64_t now, struct lot *out, size_t max,
				       size_t *n_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
	    q(c, ST_LOTS_SPENDABLE, &r, "idii", client_id, (int)cur, now, (int64_t)max);
	return read_lots(rc, r, out, max, n_out);
}

static enum store_rc pg_lot_get(struct store_conn *base, int64_t lot_id, struct lot *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_LOT_GET, &r, "i", lot_id), &r);
	if (rc != STORE_OK)
		return rc;
	read_lot(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_lot_create(struct store_conn *base, int64_t merchant_id,
				   const struct lot *l, int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
	    q(c, ST_LOT_CREATE, &r, "iidiizzi", merchant_id, l->client_id, (int)l->currency,
	      l->remaining_minor, l->original_minor, l->expires_ms, l->order_id, now_ms());
	return returned_id(rc, &r, id_out);
}

static enum store_rc pg_lot_add(struct store_conn *base, int64_t lot_id, money_t delta)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_LOT_ADD, NULL, "ii", delta, lot_id);
}

static enum store_rc pg_lots_expired(struct store_conn *base, int64_t now, struct lot *out,
				     size_t max, size_t *n_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_LOTS_EXPIRED, &r, "ii", now, (int64_t)max);
	return read_lots(rc, r, out, max, n_out);
}

static enum store_rc pg_ledger_add(struct store_conn *base, const struct ledger_entry *e)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_LEDGER_ADD, NULL, "iididzzi", e->merchant_id, e->client_id, (int)e->currency,
		 e->amount_minor, (int)e->type, e->order_id, e->hold_id, e->created_ms);
}

static enum store_rc pg_lot_take_add(struct store_conn *base, const struct lot_take *t)
{
	struct pg_conn *c = PG(base);
	if (t->hold_id)
		return q(c, ST_HOLD_TAKE_ADD, NULL, "iii", t->hold_id, t->lot_id, t->taken_minor);
	return q(c, ST_TAKE_ADD, NULL, "iiii", t->order_id, t->lot_id, t->taken_minor,
		 t->returned_minor);
}

static enum store_rc pg_lot_takes_get(struct store_conn *base, int64_t order_id,
				      struct lot_take *out, size_t max, size_t *n_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	size_t n = 0;
	enum store_rc rc = q(c, ST_TAKES_GET, &r, "ii", order_id, (int64_t)max);
	if (rc == STORE_OK) {
		for (int i = 0, rows = PQntuples(r); i < rows && n < max; i++, n++) {
			out[n].order_id = col_i(r, i, 0);
			out[n].lot_id = col_i(r, i, 1);
			out[n].taken_minor = col_i(r, i, 2);
			out[n].returned_minor = col_i(r, i, 3);
			out[n].lot_expires_ms = col_i(r, i, 4);
		}
		PQclear(r);
	}
	*n_out = n;
	return rc;
}

static enum store_rc pg_idem_get(struct store_conn *base, int64_t merchant_id, const char *scope,
				 const char *key, int64_t not_before_ms, struct idem_record *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
		one_row(q(c, ST_IDEM_GET, &r, "issi", merchant_id, scope, key, not_before_ms), &r);
	if (rc != STORE_OK)
		return rc;
	col_copy(r, 0, 0, out->request_hash, sizeof(out->request_hash));
	out->status = (int)col_i(r, 0, 1);
	out->body = col_str(r, 0, 2);
	out->created_ms = col_i(r, 0, 3);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_idem_put(struct store_conn *base, int64_t merchant_id, const char *scope,
				 const char *key, const struct idem_record *in)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_IDEM_PUT, &r, "isssdsi", merchant_id, scope, key,
			     in->request_hash, in->status, in->body, in->created_ms);
	return returned_id(rc, &r, NULL);
}

static enum store_rc pg_idem_purge(struct store_conn *base, int64_t before_ms, int64_t *n_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_IDEM_PURGE, &r, "i", before_ms);
	*n_out = rc == STORE_OK ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
	if (r)
		PQclear(r);
	return rc;
}

static enum store_rc pg_sale_points_list(struct store_conn *base, int64_t merchant_id,
					 sale_point_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_SP_LIST, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct sale_point sp = {.id = col_i(r, i, 0),
					.merchant_id = col_i(r, i, 1),
					.region = col_str(r, i, 2),
					.city = col_str(r, i, 3),
					.address = col_str(r, i, 4),
					.phone = col_str(r, i, 5)};
		bool more = row(ctx, &sp);
		sale_point_clear(&sp);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_sale_point_save(struct store_conn *base, const struct sale_point *sp,
					int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	if (sp->id == 0) {
		enum store_rc rc = q(c, ST_SP_INSERT, &r, "issss", sp->merchant_id, sp->region,
				     sp->city, sp->address, sp->phone);
		return returned_id(rc, &r, id_out);
	}
	enum store_rc rc = q(c, ST_SP_UPDATE, &r, "ssssii", sp->region, sp->city, sp->address,
			     sp->phone, sp->merchant_id, sp->id);
	return touched(rc, r);
}

static enum store_rc pg_sale_point_delete(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_SP_DELETE, &r, "ii", merchant_id, id);
	return touched(rc, r);
}

static enum store_rc pg_document_get(struct store_conn *base, int64_t merchant_id,
				     const char *name, char **json_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_DOC_GET, &r, "is", merchant_id, name), &r);
	if (rc != STORE_OK)
		return rc;
	*json_out = col_str(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_document_put(struct store_conn *base, int64_t merchant_id,
				     const char *name, const char *json)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_DOC_PUT, NULL, "iss", merchant_id, name, json);
}

static enum store_rc pg_auth_counter_get(struct store_conn *base, const char *key,
					 struct auth_counter *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_AUTH_COUNTER_GET, &r, "s", key), &r);
	if (rc != STORE_OK)
		return rc;
	out->failures = col_i(r, 0, 0);
	out->window_start_ms = col_i(r, 0, 1);
	out->locked_until_ms = col_i(r, 0, 2);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_auth_counter_put(struct store_conn *base, const char *key,
					 const struct auth_counter *in)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_AUTH_COUNTER_PUT, NULL, "siii", key, in->failures, in->window_start_ms,
		 in->locked_until_ms);
}

static enum store_rc pg_lot_take_returned(struct store_conn *base, int64_t order_id, int64_t lot_id,
					  money_t returned_minor)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_TAKE_RETURNED, NULL, "iii", returned_minor, order_id, lot_id);
}

/* ---- coupon catalog ---- */

static void read_catalog(const PGresult *r, int row, struct catalog_coupon *o)
{
	o->id = col_i(r, row, 0);
	o->merchant_id = col_i(r, row, 1);
	o->title = col_str(r, row, 2);
	o->header = col_str(r, row, 3);
	o->sub_header = col_str(r, row, 4);
	o->short_description = col_str(r, row, 5);
	o->long_description = col_str(r, row, 6);
	o->image_path = col_str(r, row, 7);
	o->style = col_str(r, row, 8);
	o->valid_days = col_i(r, row, 9);
	o->valid_until = col_i(r, row, 10);
	o->deleted = col_b(r, row, 11);
	o->created_ms = col_i(r, row, 12);
}

static enum store_rc pg_catalog_create(struct store_conn *base, const struct catalog_coupon *cc,
				       int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
	    q(c, ST_CATALOG_CREATE, &r, "issssssszzbi", cc->merchant_id, cc->title, cc->header,
	      cc->sub_header, cc->short_description, cc->long_description, cc->image_path,
	      cc->style, cc->valid_days, cc->valid_until, cc->deleted, cc->created_ms);
	return returned_id(rc, &r, id_out);
}

static enum store_rc pg_catalog_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				    struct catalog_coupon *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_CATALOG_GET, &r, "ii", merchant_id, id), &r);
	if (rc != STORE_OK)
		return rc;
	read_catalog(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_catalog_update(struct store_conn *base, const struct catalog_coupon *cc)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CATALOG_UPDATE, &r, "ssssssszzii", cc->title, cc->header,
			     cc->sub_header, cc->short_description, cc->long_description,
			     cc->image_path, cc->style, cc->valid_days, cc->valid_until,
			     cc->merchant_id, cc->id);
	return touched(rc, r);
}

static enum store_rc pg_catalog_delete(struct store_conn *base, int64_t merchant_id, int64_t id)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_CATALOG_DELETE, &r, "ii", merchant_id, id), &r);
	if (rc == STORE_OK)
		PQclear(r);
	return rc;
}

static enum store_rc pg_catalog_list(struct store_conn *base, int64_t merchant_id, int64_t offset,
				     int64_t limit, catalog_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_CATALOG_LIST, &r, "iii", merchant_id, limit, offset);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct catalog_coupon cc = {0};
		read_catalog(r, i, &cc);
		bool more = row(ctx, &cc);
		catalog_coupon_clear(&cc);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

/* ---- coupon instances ---- */

static void read_instance(const PGresult *r, int row, struct coupon_instance *o)
{
	o->id = col_i(r, row, 0);
	o->merchant_id = col_i(r, row, 1);
	o->client_id = col_i(r, row, 2);
	o->coupon_id = col_i(r, row, 3);
	o->status = (enum coupon_status)col_i(r, row, 4);
	o->issued_ms = col_i(r, row, 5);
	o->expires_ms = col_i(r, row, 6);
	col_copy(r, row, 7, o->token, sizeof(o->token));
	col_copy(r, row, 8, o->share_token, sizeof(o->share_token));
	col_copy(r, row, 9, o->merchant_token, sizeof(o->merchant_token));
	col_copy(r, row, 10, o->merchant_share_token, sizeof(o->merchant_share_token));
	o->issued_order_id = col_i(r, row, 11);
	o->redeemed_order_id = col_i(r, row, 12);
	o->catalog.title = col_str(r, row, 13);
	o->catalog.header = col_str(r, row, 14);
	o->catalog.sub_header = col_str(r, row, 15);
	o->catalog.short_description = col_str(r, row, 16);
	o->catalog.long_description = col_str(r, row, 17);
}

/* Claims both codes for the instance. A code already in use answers CONFLICT without an
 * error (ON CONFLICT DO NOTHING), so the transaction goes on; as in SQLite, a first code
 * claimed before the second clashed stays claimed (the callers free or undo it). */
static enum store_rc claim_codes(struct pg_conn *c, int64_t merchant_id, int64_t id,
				 const char *code, const char *share_code)
{
	PGresult *r = NULL;
	enum store_rc rc =
	    returned_id(q(c, ST_CODE_CLAIM, &r, "isi", merchant_id, code, id), &r, NULL);
	if (rc == STORE_OK)
		rc = returned_id(q(c, ST_CODE_CLAIM, &r, "isi", merchant_id, share_code, id), &r,
				 NULL);
	return rc;
}

static enum store_rc pg_coupon_issue(struct store_conn *base, const struct coupon_instance *ci,
				     int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	if (strcmp(ci->merchant_token, ci->merchant_share_token) == 0)
		return STORE_CONFLICT;
	/* A savepoint, so that a code conflict leaves no instance behind. */
	enum store_rc rc = sp_begin(c);
	if (rc != STORE_OK)
		return rc;
	int64_t id = 0;
	PGresult *r = NULL;
	rc = returned_id(q(c, ST_COUPON_ISSUE, &r, "iiiizssssz", ci->merchant_id, ci->client_id,
			   ci->coupon_id, ci->issued_ms, ci->expires_ms, ci->token, ci->share_token,
			   ci->merchant_token, ci->merchant_share_token, ci->issued_order_id),
			 &r, &id);
	if (rc == STORE_OK)
		rc = claim_codes(c, ci->merchant_id, id, ci->merchant_token,
				 ci->merchant_share_token);
	rc = sp_end(c, rc);
	if (rc == STORE_OK && id_out)
		*id_out = id;
	return rc;
}

static enum store_rc pg_coupon_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				   struct coupon_instance *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_COUPON_GET, &r, "ii", merchant_id, id), &r);
	if (rc != STORE_OK)
		return rc;
	read_instance(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_coupon_find_token(struct store_conn *base, int64_t merchant_id, int kind,
					  const char *token, int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum stmt_id id = kind == 0 ? ST_COUPON_BY_TOKEN : kind == 1 ? ST_COUPON_BY_SHARE
								   : ST_COUPON_BY_CODE;
	enum store_rc rc = one_row(q(c, id, &r, "is", merchant_id, token), &r);
	if (rc != STORE_OK)
		return rc;
	*id_out = col_i(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_coupons_usable(struct store_conn *base, int64_t merchant_id,
				       int64_t client_id, int64_t now, coupon_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_COUPONS_USABLE, &r, "iii", merchant_id, client_id, now);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct coupon_instance ci = {0};
		read_instance(r, i, &ci);
		bool more = row(ctx, &ci);
		coupon_instance_clear(&ci);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_coupon_set_codes(struct store_conn *base, int64_t id, const char *code,
					 const char *share_code)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_COUPON_OWNER, &r, "i", id), &r);
	if (rc != STORE_OK)
		return rc;
	int64_t merchant_id = col_i(r, 0, 0);
	PQclear(r);
	if (strcmp(code, share_code) == 0)
		return STORE_CONFLICT;
	/* All or nothing: a clash leaves the instance's old codes as they were. */
	rc = sp_begin(c);
	if (rc != STORE_OK)
		return rc;
	rc = q(c, ST_CODES_FREE, NULL, "i", id);
	if (rc == STORE_OK)
		rc = claim_codes(c, merchant_id, id, code, share_code);
	if (rc == STORE_OK)
		rc = q(c, ST_COUPON_CODES_SET, NULL, "ssi", code, share_code, id);
	return sp_end(c, rc);
}

static enum store_rc pg_coupon_set_status(struct store_conn *base, int64_t id,
					  enum coupon_status status, int64_t redeemed_order_id)
{
	struct pg_conn *c = PG(base);
	enum store_rc rc = q(c, ST_COUPON_STATUS, NULL, "dzi", (int)status, redeemed_order_id, id);
	if (rc != STORE_OK)
		return rc;
	if (status != COUPON_ISSUED)
		return q(c, ST_CODES_FREE, NULL, "i", id);
	/* Usable again: its codes must be unique among the usable ones once more. On CONFLICT
	 * the status stays ISSUED and the caller draws new codes (coupon_set_codes). */
	PGresult *r = NULL;
	rc = one_row(q(c, ST_COUPON_OWNER, &r, "i", id), &r);
	if (rc != STORE_OK)
		return rc;
	int64_t merchant_id = col_i(r, 0, 0);
	char code[7], share_code[7];
	col_copy(r, 0, 1, code, sizeof(code));
	col_copy(r, 0, 2, share_code, sizeof(share_code));
	PQclear(r);
	return claim_codes(c, merchant_id, id, code, share_code);
}

static enum store_rc pg_coupons_of_order(struct store_conn *base, int64_t order_id, int by,
					 int64_t *ids, size_t max, size_t *n_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	size_t n = 0;
	enum stmt_id id = by == 2 ? ST_COUPONS_OF_HOLD
			  : by == 1 ? ST_COUPONS_ISSUED_BY
				    : ST_COUPONS_REDEEMED_BY;
	enum store_rc rc = q(c, id, &r, "ii", order_id, (int64_t)max);
	if (rc == STORE_OK) {
		for (int i = 0, rows = PQntuples(r); i < rows && n < max; i++)
			ids[n++] = col_i(r, i, 0);
		PQclear(r);
	}
	*n_out = n;
	return rc;
}

/* ---- holds ---- */

static enum store_rc pg_coupon_set_hold(struct store_conn *base, int64_t id, int64_t hold_id)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_COUPON_SET_HOLD, NULL, "zi", hold_id, id);
}

static enum store_rc pg_coupon_share_mark(struct store_conn *base, int64_t id, int64_t client_id,
					  int64_t given_id, int64_t now)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_COUPON_SHARE_MARK, &r, "iiii", client_id, given_id, now, id);
	rc = touched(rc, r);
	return rc == STORE_NOT_FOUND ? STORE_CONFLICT : rc;
}

static enum store_rc pg_coupon_share_get(struct store_conn *base, int64_t id,
					 int64_t *client_out, int64_t *given_out, int64_t *source_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_COUPON_SHARE_GET, &r, "i", id), &r);
	if (rc != STORE_OK)
		return rc;
	*client_out = col_i(r, 0, 0);
	*given_out = col_i(r, 0, 1);
	*source_out = col_i(r, 0, 2);
	PQclear(r);
	return STORE_OK;
}

static void read_hold(const PGresult *r, int row, struct hold *h)
{
	h->id = col_i(r, row, 0);
	h->merchant_id = col_i(r, row, 1);
	h->client_id = col_i(r, row, 2);
	h->currency = (enum currency)col_i(r, row, 3);
	h->amount_minor = col_i(r, row, 4);
	col_copy(r, row, 5, h->transaction_id, sizeof(h->transaction_id));
	h->kind = (enum hold_kind)col_i(r, row, 6);
	h->status = (enum hold_status)col_i(r, row, 7);
	h->created_ms = col_i(r, row, 8);
	h->expires_ms = col_i(r, row, 9);
	h->ended_ms = col_i(r, row, 10);
	h->order_id = col_i(r, row, 11);
	h->fiscal_order_id = col_str(r, row, 12);
	h->created_by = col_i(r, row, 13);
}

static enum store_rc pg_hold_create(struct store_conn *base, const struct hold *h,
				    int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_HOLD_CREATE, &r, "iidisddiizzsz", h->merchant_id, h->client_id,
			     (int)h->currency, h->amount_minor, h->transaction_id, (int)h->kind,
			     (int)h->status, h->created_ms, h->expires_ms, h->ended_ms, h->order_id,
			     h->fiscal_order_id, h->created_by);
	return returned_id(rc, &r, id_out);
}

static enum store_rc pg_hold_get(struct store_conn *base, int64_t merchant_id,
				 const char *transaction_id, struct hold *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
		one_row(q(c, ST_HOLD_GET, &r, "is", merchant_id, transaction_id), &r);
	if (rc != STORE_OK)
		return rc;
	read_hold(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_hold_update(struct store_conn *base, const struct hold *h)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_HOLD_UPDATE, NULL, "dzzsi", (int)h->status, h->ended_ms, h->order_id,
		 h->fiscal_order_id, h->id);
}

static enum store_rc pg_holds_expired(struct store_conn *base, int64_t client_id, int64_t now,
				      struct hold *out, size_t max, size_t *n_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	size_t n = 0;
	enum store_rc rc = client_id ? q(c, ST_HOLDS_EXPIRED_CLIENT, &r, "iii", client_id, now,
					 (int64_t)max)
				     : q(c, ST_HOLDS_EXPIRED_ALL, &r, "ii", now, (int64_t)max);
	if (rc == STORE_OK) {
		for (int i = 0, rows = PQntuples(r); i < rows && n < max; i++)
			read_hold(r, i, &out[n++]);
		PQclear(r);
	}
	*n_out = n;
	return rc;
}

static enum store_rc pg_holds_expired_sum(struct store_conn *base, int64_t client_id,
					  enum currency cur, int64_t now, money_t *sum_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
		one_row(q(c, ST_HOLDS_EXPIRED_SUM, &r, "idi", client_id, (int)cur, now), &r);
	if (rc != STORE_OK)
		return rc;
	*sum_out = col_i(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_hold_takes_get(struct store_conn *base, int64_t hold_id,
				       struct lot_take *out, size_t max, size_t *n_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	size_t n = 0;
	enum store_rc rc = q(c, ST_HOLD_TAKES_GET, &r, "ii", hold_id, (int64_t)max);
	if (rc == STORE_OK) {
		for (int i = 0, rows = PQntuples(r); i < rows && n < max; i++, n++)
			out[n] = (struct lot_take){.hold_id = col_i(r, i, 0),
						   .lot_id = col_i(r, i, 1),
						   .taken_minor = col_i(r, i, 2),
						   .lot_expires_ms = col_i(r, i, 3)};
		PQclear(r);
	}
	*n_out = n;
	return rc;
}

/* ---- orders ---- */

static void read_order(const PGresult *r, int row, struct order *o)
{
	o->id = col_i(r, row, 0);
	o->merchant_id = col_i(r, row, 1);
	o->external_id = col_str(r, row, 2);
	o->refund = col_i(r, row, 3) != 0;
	o->order_number = col_i(r, row, 4);
	o->client_id = col_i(r, row, 5);
	o->order_date_ms = col_i(r, row, 6);
	o->external_date_ms = col_i(r, row, 7);
	o->total_minor = col_i(r, row, 8);
	o->card_minor = col_i(r, row, 9);
	o->cash_minor = col_i(r, row, 10);
	o->spent_currency = col_i(r, row, 11) == 1 ? CUR_RUBLES : CUR_POINTS;
	o->spent_minor = col_i(r, row, 12);
	o->accrued_currency = col_i(r, row, 13) == 1 ? CUR_RUBLES : CUR_POINTS;
	o->accrued_minor = col_i(r, row, 14);
	o->refund_of = col_i(r, row, 15);
	o->refunded_total_minor = col_i(r, row, 16);
	o->accrual_taken_minor = col_i(r, row, 17);
	o->spend_returned_minor = col_i(r, row, 18);
	o->paid_refunded_minor = col_i(r, row, 19);
	o->fully_refunded = col_b(r, row, 20);
	o->fn = col_str(r, row, 21);
	o->fd = col_str(r, row, 22);
	o->comment = col_str(r, row, 23);
	o->public_token = col_str(r, row, 24);
	o->request_hash = col_str(r, row, 25);
	o->response = col_str(r, row, 26);
	o->created_by = col_i(r, row, 27);
	o->reaction = (int)col_i(r, row, 28);
	o->customer_comment = col_str(r, row, 29);
}

static enum store_rc order_one(enum store_rc rc, PGresult *r, struct order *out)
{
	rc = one_row(rc, &r);
	if (rc != STORE_OK)
		return rc;
	read_order(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_order_find_external(struct store_conn *base, int64_t merchant_id,
					    const char *external_id, bool refund,
					    const char *refund_key, struct order *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ORDER_FIND_EXT, &r, "isbs", merchant_id, external_id, refund,
			     refund_key ? refund_key : "");
	return order_one(rc, r, out);
}

static enum store_rc pg_order_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				  struct order *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ORDER_GET, &r, "ii", merchant_id, id);
	return order_one(rc, r, out);
}

static enum store_rc pg_order_by_token(struct store_conn *base, const char *token,
				       struct order *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ORDER_BY_TOKEN, &r, "s", token);
	return order_one(rc, r, out);
}

static enum store_rc pg_order_create(struct store_conn *base, const struct order *o,
				     int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc =
	    q(c, ST_ORDER_CREATE, &r,
	      "isbizizi"
	      "ii"
	      "di"
	      "di"
	      "z"
	      "ssssss"
	      "z"
	      "s",
	      o->merchant_id, o->external_id, o->refund, o->order_number, o->client_id,
	      o->order_date_ms, o->external_date_ms, o->total_minor, o->card_minor, o->cash_minor,
	      (int)o->spent_currency, o->spent_minor, (int)o->accrued_currency, o->accrued_minor,
	      o->refund_of, o->fn, o->fd, o->comment, o->public_token, o->request_hash, o->response,
	      o->created_by, o->refund_key ? o->refund_key : "");
	return returned_id(rc, &r, id_out);
}

static enum store_rc pg_order_refund_progress(struct store_conn *base, const struct order *sale)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_ORDER_PROGRESS, NULL, "iiiibi", sale->refunded_total_minor,
		 sale->accrual_taken_minor, sale->spend_returned_minor, sale->paid_refunded_minor,
		 sale->fully_refunded, sale->id);
}

static enum store_rc pg_order_set_response(struct store_conn *base, int64_t id,
					   const char *response)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_ORDER_RESPONSE, NULL, "si", response, id);
}

static enum store_rc pg_item_create(struct store_conn *base, const struct order_item *it,
				    int64_t *id_out)
{
	struct pg_conn *c = PG(base);
	char name[16];
	enum store_rc rc = ensure_prepared(c, ST_ITEM_CREATE, name);
	if (rc != STORE_OK)
		return rc;
	/* vat: NULL when not given (-1), which 'z' cannot say since 0 is a valid rate. */
	struct params p = {0};
	param_int(&p, it->order_id);
	param_int(&p, it->merchant_id);
	param_int(&p, it->line_no);
	param_text(&p, it->name);
	param_int(&p, it->price_minor);
	param_int(&p, it->qty_milli);
	param_text(&p, it->unit);
	if (it->vat_hundredths >= 0)
		param_int(&p, it->vat_hundredths);
	else
		param_text(&p, NULL);
	param_int(&p, it->total_minor);
	if (it->refund_of_item)
		param_int(&p, it->refund_of_item);
	else
		param_text(&p, NULL);
	param_text(&p, it->product_id);
	PGresult *r = NULL;
	return returned_id(run_prepared(c, name, "ITEM_CREATE", &p, &r), &r, id_out);
}

static void read_item(const PGresult *r, int row, struct order_item *out)
{
	out->id = col_i(r, row, 0);
	out->order_id = col_i(r, row, 1);
	out->merchant_id = col_i(r, row, 2);
	out->line_no = (int)col_i(r, row, 3);
	out->name = col_str(r, row, 4);
	out->price_minor = col_i(r, row, 5);
	out->qty_milli = col_i(r, row, 6);
	col_copy(r, row, 7, out->unit, sizeof(out->unit));
	out->vat_hundredths = PQgetisnull(r, row, 8) ? -1 : col_i(r, row, 8);
	out->total_minor = col_i(r, row, 9);
	out->refunded_qty_milli = col_i(r, row, 10);
	out->refunded_total_minor = col_i(r, row, 11);
	out->refund_of_item = col_i(r, row, 12);
	out->product_id = col_str(r, row, 13);
}

static enum store_rc pg_item_get(struct store_conn *base, int64_t merchant_id, int64_t id,
				 struct order_item *out)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = one_row(q(c, ST_ITEM_GET, &r, "ii", merchant_id, id), &r);
	if (rc != STORE_OK)
		return rc;
	read_item(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_orders_list(struct store_conn *base, int64_t merchant_id,
				    const struct order_query *oq, order_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	struct params p = {0};
	param_int(&p, merchant_id);
	param_int(&p, oq->from_ms);
	param_int(&p, oq->to_ms);
	if (oq->client_id)
		param_int(&p, oq->client_id);
	else
		param_text(&p, NULL);
	if (oq->receipt_type >= 0)
		param_int(&p, oq->receipt_type);
	else
		param_text(&p, NULL);
	if (oq->created_by)
		param_int(&p, oq->created_by);
	else
		param_text(&p, NULL);
	param_text(&p, oq->fn_like);
	param_text(&p, oq->fd_like);
	param_int(&p, oq->limit);
	param_int(&p, oq->offset);
	char name[16];
	enum store_rc rc = ensure_prepared(c, ST_ORDERS_LIST, name);
	if (rc == STORE_OK)
		rc = run_prepared(c, name, "orders list", &p, &r);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct order o = {0};
		read_order(r, i, &o);
		bool more = row(ctx, &o);
		order_clear(&o);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_order_items(struct store_conn *base, int64_t merchant_id,
				    int64_t order_id, item_row_fn row, void *ctx)
{
	struct pg_conn *c = PG(base);
	PGresult *r = NULL;
	enum store_rc rc = q(c, ST_ORDER_ITEMS, &r, "ii", merchant_id, order_id);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0, n = PQntuples(r); i < n; i++) {
		struct order_item it = {0};
		read_item(r, i, &it);
		bool more = row(ctx, &it);
		order_item_clear(&it);
		if (!more)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

static enum store_rc pg_order_set_reaction(struct store_conn *base, int64_t order_id,
					   int reaction, const char *comment)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_ORDER_REACTION, NULL, "dsi", reaction, comment, order_id);
}

static enum store_rc pg_client_reviews_add(struct store_conn *base, int64_t client_id,
					   int64_t d_pos, int64_t d_neu, int64_t d_neg)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_CLIENT_REVIEWS, NULL, "iiii", d_pos, d_neu, d_neg, client_id);
}

static enum store_rc pg_item_refunded(struct store_conn *base, int64_t id,
				      int64_t refunded_qty_milli, money_t refunded_total_minor)
{
	struct pg_conn *c = PG(base);
	return q(c, ST_ITEM_REFUNDED, NULL, "iii", refunded_qty_milli, refunded_total_minor, id);
}

/* ---- check ---- */

/* Each query returns one row per violation as a single text column describing it; the same
 * invariants as the SQLite engine's (PostgreSQL has no integrity_check to add). */
static const char *const check_queries[] = {
    "SELECT format('client %s %s: balance %s but ledger rows sum to %s', b.client_id,"
    " CASE b.currency WHEN 0 THEN 'points' ELSE 'rubles' END, b.balance,"
    " (SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.client_id = b.client_id"
    "  AND l.currency = b.currency))"
    " FROM balances b WHERE b.balance <> (SELECT coalesce(sum(amount), 0) FROM ledger l"
    " WHERE l.client_id = b.client_id AND l.currency = b.currency)",
    "SELECT format('client %s %s: balance %s but lots sum to %s less debt %s', b.client_id,"
    " CASE b.currency WHEN 0 THEN 'points' ELSE 'rubles' END, b.balance,"
    " (SELECT coalesce(sum(remaining), 0) FROM lots l WHERE l.client_id = b.client_id"
    "  AND l.currency = b.currency), b.debt)"
    " FROM balances b WHERE b.balance <> (SELECT coalesce(sum(remaining), 0) FROM lots l"
    " WHERE l.client_id = b.client_id AND l.currency = b.currency) - b.debt",
    "SELECT format('client %s %s: ledger rows without a balance', l.client_id,"
    " CASE l.currency WHEN 0 THEN 'points' ELSE 'rubles' END) FROM ledger l"
    " WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.client_id = l.client_id"
    " AND b.currency = l.currency) GROUP BY l.client_id, l.currency",
    "SELECT format('lot %s: remaining %s outside 0..%s', id, remaining, original) FROM lots"
    " WHERE remaining < 0 OR remaining > original",
    "SELECT format('client %s: negative debt %s or hold %s', client_id, debt, held)"
    " FROM balances WHERE debt < 0 OR held < 0",
    "SELECT format('coupon %s: redeemed without an order or a written-off hold of its"
    " merchant', i.id) FROM coupon_instances i WHERE i.status = 1 AND NOT EXISTS"
    " (SELECT 1 FROM orders o WHERE o.id = i.redeemed_order_id"
    " AND o.merchant_id = i.merchant_id) AND NOT EXISTS (SELECT 1 FROM holds h"
    " WHERE h.id = i.hold_id AND h.merchant_id = i.merchant_id AND h.status = 1)",
    "SELECT format('coupon %s: held without an active hold of its client', i.id)"
    " FROM coupon_instances i WHERE i.status = 3 AND NOT EXISTS (SELECT 1 FROM holds h"
    " WHERE h.id = i.hold_id AND h.client_id = i.client_id AND h.status = 0)",
    "SELECT format('client %s %s: held %s but active holds sum to %s', b.client_id,"
    " CASE b.currency WHEN 0 THEN 'points' ELSE 'rubles' END, b.held,"
    " (SELECT coalesce(sum(amount), 0) FROM holds h WHERE h.client_id = b.client_id"
    "  AND h.currency = b.currency AND h.status = 0))"
    " FROM balances b WHERE b.held <> (SELECT coalesce(sum(amount), 0) FROM holds h"
    " WHERE h.client_id = b.client_id AND h.currency = b.currency AND h.status = 0)",
    "SELECT format('hold %s: took %s from lots for an amount of %s', h.id,"
    " (SELECT coalesce(sum(taken), 0) FROM hold_takes t WHERE t.hold_id = h.id), h.amount)"
    " FROM holds h WHERE h.status IN (0, 1) AND h.amount <> (SELECT coalesce(sum(taken), 0)"
    " FROM hold_takes t WHERE t.hold_id = h.id)",
    "SELECT format('lot take of order %s from lot %s: returned %s outside 0..%s', order_id,"
    " lot_id, returned, taken) FROM lot_takes WHERE returned < 0 OR returned > taken",
    "SELECT format('order %s: refunded more than it had (%s of %s)', id, refunded_total,"
    " total) FROM orders WHERE refunded_total > total OR accrual_taken > accrued"
    " OR spend_returned > spent",
};

static enum store_rc pg_check(struct store_conn *base, int64_t now, store_report_fn report,
			      void *ctx, int64_t *problems_out)
{
	struct pg_conn *c = PG(base);
	(void)now;
	int64_t problems = 0;
	for (size_t i = 0; i < ARRAY_LEN(check_queries); i++) {
		PGresult *r = NULL;
		enum store_rc rc = exec_simple(c, check_queries[i], "check", &r);
		if (rc != STORE_OK)
			return rc;
		for (int row = 0, n = PQntuples(r); row < n; row++) {
			problems++;
			report(ctx, PQgetvalue(r, row, 0));
		}
		PQclear(r);
	}
	*problems_out = problems;
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
    .ping = pg_ping,
    .merchant_create = pg_merchant_create,
    .account_create = pg_account_create,
    .account_find_login = pg_account_find_login,
    .account_get = pg_account_get,
    .account_self = pg_account_self,
    .employees_list = pg_employees_list,
    .account_update = pg_account_update,
    .account_delete = pg_account_delete,
    .api_key_create = pg_api_key_create,
    .api_key_get = pg_api_key_get,
    .api_keys_list = pg_api_keys_list,
    .api_key_revoke = pg_api_key_revoke,
    .settings_get = pg_settings_get,
    .settings_put = pg_settings_put,
    .order_number_next = pg_order_number_next,
    .client_get = pg_client_get,
    .client_lock = pg_client_lock,
    .order_lock = pg_order_lock,
    .key_lock = pg_key_lock,
    .client_find_phone = pg_client_find_phone,
    .client_find_email = pg_client_find_email,
    .client_find_token = pg_client_find_token,
    .client_update = pg_client_update,
    .ledger_list = pg_ledger_list,
    .client_create = pg_client_create,
    .client_search = pg_client_search,
    .client_stats_add = pg_client_stats_add,
    .balance_get = pg_balance_get,
    .balance_add = pg_balance_add,
    .lots_unexpired_sum = pg_lots_unexpired_sum,
    .lots_spendable = pg_lots_spendable,
    .lot_get = pg_lot_get,
    .lot_create = pg_lot_create,
    .lot_add = pg_lot_add,
    .lots_expired = pg_lots_expired,
    .ledger_add = pg_ledger_add,
    .lot_take_add = pg_lot_take_add,
    .lot_takes_get = pg_lot_takes_get,
    .lot_take_returned = pg_lot_take_returned,
    .catalog_create = pg_catalog_create,
    .catalog_get = pg_catalog_get,
    .auth_counter_get = pg_auth_counter_get,
    .document_get = pg_document_get,
    .sale_points_list = pg_sale_points_list,
    .sale_point_save = pg_sale_point_save,
    .sale_point_delete = pg_sale_point_delete,
    .idem_get = pg_idem_get,
    .idem_put = pg_idem_put,
    .idem_purge = pg_idem_purge,
    .document_put = pg_document_put,
    .auth_counter_put = pg_auth_counter_put,
    .catalog_delete = pg_catalog_delete,
    .catalog_update = pg_catalog_update,
    .catalog_list = pg_catalog_list,
    .coupon_issue = pg_coupon_issue,
    .coupon_get = pg_coupon_get,
    .coupons_usable = pg_coupons_usable,
    .coupon_find_token = pg_coupon_find_token,
    .coupon_set_status = pg_coupon_set_status,
    .coupon_set_codes = pg_coupon_set_codes,
    .coupons_of_order = pg_coupons_of_order,
    .coupon_set_hold = pg_coupon_set_hold,
    .coupon_share_mark = pg_coupon_share_mark,
    .coupon_share_get = pg_coupon_share_get,
    .hold_create = pg_hold_create,
    .hold_get = pg_hold_get,
    .hold_update = pg_hold_update,
    .holds_expired = pg_holds_expired,
    .holds_expired_sum = pg_holds_expired_sum,
    .hold_takes_get = pg_hold_takes_get,
    .order_find_external = pg_order_find_external,
    .order_get = pg_order_get,
    .order_by_token = pg_order_by_token,
    .order_create = pg_order_create,
    .order_refund_progress = pg_order_refund_progress,
    .order_set_response = pg_order_set_response,
    .orders_list = pg_orders_list,
    .order_items = pg_order_items,
    .order_set_reaction = pg_order_set_reaction,
    .client_reviews_add = pg_client_reviews_add,
    .item_create = pg_item_create,
    .item_get = pg_item_get,
    .item_refunded = pg_item_refunded,
    .check = pg_check,
};
