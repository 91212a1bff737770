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
 * becomes `?N`, and the collation "C" used by `lower(... COLLATE "C")` is registered as a
 * bytewise one. SQL that cannot be written for both stays in its engine for now.
 *
 * Argument formats (as the engines' own): 'i' int64, 'z' int64 with 0 as NULL, 'n' int64 with
 * a negative value as NULL, 's' text (NULL as NULL), 'b' bool as 0/1, 'd' int (enum). */
#ifndef KOPILKA_STORE_SQL_H
#define KOPILKA_STORE_SQL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/statements.h"
#include "store/store.h"

enum sql_savepoint { SQL_SP_BEGIN, SQL_SP_UNDO, SQL_SP_RELEASE };

/* A statement's result, walked with sql_next. Engines keep their handle in it; the caller
 * sees only the functions below. */
struct sql_res {
	struct store_conn *conn;
	void *handle;  /* sqlite3_stmt * or PGresult * */
	int row, rows; /* PostgreSQL: the current row and the row count */
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
	/* Invariants of this engine's own structures, after the shared ones (sql_check); each
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

/* The operations written once, by aggregate: merchants, accounts, keys and lockout counters
 * (sql_accounts.c); settings, sale points, documents and Idempotency-Key records
 * (sql_merchant.c); clients and their ledger (sql_clients.c); balances, lots, ledger rows
 * and takes (sql_ledger.c); orders and items (sql_orders.c); holds (sql_holds.c); the coupon
 * catalog (sql_catalog.c); coupon instances and their codes (sql_coupons.c); webhook endpoints, the
 * outbox and deliveries (sql_webhooks.c); the invariants of `check` (sql_check.c). Each engine's
 * ops table includes SQL_SHARED_OPS so a new shared operation is listed here once. */
#define SQL_SHARED_OPS                                                                             \
	.merchant_create = sql_merchant_create, .account_create = sql_account_create,              \
	.account_find_login = sql_account_find_login, .account_get = sql_account_get,              \
	.account_self = sql_account_self, .employees_list = sql_employees_list,                    \
	.account_update = sql_account_update, .account_delete = sql_account_delete,                \
	.api_key_create = sql_api_key_create, .api_key_get = sql_api_key_get,                      \
	.api_keys_list = sql_api_keys_list, .api_key_revoke = sql_api_key_revoke,                  \
	.auth_counter_get = sql_auth_counter_get, .auth_counter_put = sql_auth_counter_put,        \
	.settings_get = sql_settings_get, .settings_put = sql_settings_put,                        \
	.sale_points_list = sql_sale_points_list, .sale_point_save = sql_sale_point_save,          \
	.sale_point_delete = sql_sale_point_delete, .document_get = sql_document_get,              \
	.document_put = sql_document_put, .idem_get = sql_idem_get, .idem_put = sql_idem_put,      \
	.idem_purge = sql_idem_purge, .catalog_create = sql_catalog_create,                        \
	.catalog_get = sql_catalog_get, .catalog_list = sql_catalog_list,                          \
	.catalog_delete = sql_catalog_delete, .catalog_update = sql_catalog_update,                \
	.coupon_issue = sql_coupon_issue, .coupon_get = sql_coupon_get,                            \
	.coupons_usable = sql_coupons_usable, .coupon_find_token = sql_coupon_find_token,          \
	.coupon_set_status = sql_coupon_set_status, .coupon_set_codes = sql_coupon_set_codes,      \
	.coupons_of_order = sql_coupons_of_order, .coupon_set_hold = sql_coupon_set_hold,          \
	.coupon_share_mark = sql_coupon_share_mark, .coupon_share_get = sql_coupon_share_get,      \
	.client_get = sql_client_get, .client_find_phone = sql_client_find_phone,                  \
	.client_find_email = sql_client_find_email, .client_find_token = sql_client_find_token,    \
	.client_by_token = sql_client_by_token, .client_create = sql_client_create,                \
	.client_update = sql_client_update, .ledger_list = sql_ledger_list,                        \
	.order_find_external = sql_order_find_external, .order_get = sql_order_get,                \
	.order_by_token = sql_order_by_token, .orders_list = sql_orders_list,                      \
	.order_refund_progress = sql_order_refund_progress,                                        \
	.order_set_reaction = sql_order_set_reaction,                                              \
	.client_reviews_add = sql_client_reviews_add, .order_items = sql_order_items,              \
	.item_get = sql_item_get, .item_refunded = sql_item_refunded,                              \
	.hold_create = sql_hold_create, .hold_get = sql_hold_get, .hold_update = sql_hold_update,  \
	.holds_expired = sql_holds_expired, .holds_expired_sum = sql_holds_expired_sum,            \
	.hold_takes_get = sql_hold_takes_get, .check = sql_check,                                  \
	.report_dashboard = sql_report_dashboard, .client_stats_add = sql_client_stats_add,        \
	.balance_get = sql_balance_get, .balance_add = sql_balance_add,                            \
	.lots_unexpired_sum = sql_lots_unexpired_sum, .lots_spendable = sql_lots_spendable,        \
	.lot_get = sql_lot_get, .lot_create = sql_lot_create, .lot_add = sql_lot_add,              \
	.lots_expired = sql_lots_expired, .ledger_add = sql_ledger_add,                            \
	.lot_take_add = sql_lot_take_add, .lot_takes_get = sql_lot_takes_get,                      \
	.lot_take_returned = sql_lot_take_returned, .order_create = sql_order_create,              \
	.order_set_response = sql_order_set_response, .item_create = sql_item_create,              \
	.lk_session_create = sql_lk_session_create, .lk_session_get = sql_lk_session_get,          \
	.lk_session_touch = sql_lk_session_touch, .lk_session_delete = sql_lk_session_delete,      \
	.lk_sessions_purge = sql_lk_sessions_purge, .import_create = sql_import_create,            \
	.import_get = sql_import_get, .import_find = sql_import_find,                              \
	.import_update = sql_import_update, .clients_export = sql_clients_export,                  \
	.orders_export = sql_orders_export, .webhook_create = sql_webhook_create,                  \
	.webhook_get = sql_webhook_get, .webhooks_list = sql_webhooks_list,                        \
	.webhook_update = sql_webhook_update, .webhook_delete = sql_webhook_delete,                \
	.webhook_mask = sql_webhook_mask, .event_create = sql_event_create,                        \
	.event_redeliver = sql_event_redeliver, .webhook_claim = sql_webhook_claim,                \
	.webhook_record = sql_webhook_record, .webhook_deliveries = sql_webhook_deliveries,        \
	.webhook_attempts = sql_webhook_attempts, .lots_expiring = sql_lots_expiring,              \
	.lot_notice_add = sql_lot_notice_add, .client_erase = sql_client_erase,                    \
	.client_coupons = sql_client_coupons, .client_holds = sql_client_holds,                    \
	.client_events = sql_client_events, .event_set_data = sql_event_set_data,                  \
	.pass_register = sql_pass_register, .pass_unregister = sql_pass_unregister,                \
	.pass_serials = sql_pass_serials, .pass_devices = sql_pass_devices,                        \
	.pass_device_drop = sql_pass_device_drop, .card_update_tag = sql_card_update_tag,          \
	.card_update_note = sql_card_update_note, .card_updates_claim = sql_card_updates_claim,    \
	.card_update_record = sql_card_update_record,                                              \
	.merchant_join_code = sql_merchant_join_code,                                              \
	.merchant_by_join_code = sql_merchant_by_join_code, .client_consent = sql_client_consent,  \
	.enrolment_create = sql_enrolment_create, .enrolment_get = sql_enrolment_get,              \
	.enrolment_attempt = sql_enrolment_attempt, .enrolment_done = sql_enrolment_done,          \
	.enrolments_count = sql_enrolments_count, .enrolments_purge = sql_enrolments_purge

enum store_rc sql_merchant_join_code(struct store_conn *c, int64_t merchant_id,
				     char out[MERCHANT_JOIN_CODE_BYTES]);
enum store_rc sql_merchant_by_join_code(struct store_conn *c, const char *code,
					int64_t *merchant_id_out);
enum store_rc sql_client_consent(struct store_conn *c, int64_t merchant_id, int64_t id,
				 const char *version, int64_t consent_ms, const char *birthday,
				 const char *name);
enum store_rc sql_enrolment_create(struct store_conn *c, const struct enrolment *e,
				   int64_t *id_out);
enum store_rc sql_enrolment_get(struct store_conn *c, const char *token, struct enrolment *out);
enum store_rc sql_enrolment_attempt(struct store_conn *c, int64_t id);
enum store_rc sql_enrolment_done(struct store_conn *c, int64_t id, int64_t client_id);
enum store_rc sql_enrolments_count(struct store_conn *c, const char *phone, const char *addr,
				   int64_t since_ms, int64_t *by_phone, int64_t *by_addr);
enum store_rc sql_enrolments_purge(struct store_conn *c, int64_t before_ms);
enum store_rc sql_merchant_create(struct store_conn *c, const char *name, int64_t now,
				  int64_t *id_out);
enum store_rc sql_account_create(struct store_conn *c, const struct account *a, int64_t *id_out);
enum store_rc sql_account_find_login(struct store_conn *c, const char *login, struct account *out);
enum store_rc sql_account_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			      struct account *out);
enum store_rc sql_account_self(struct store_conn *c, int64_t id, struct account *out);
enum store_rc sql_employees_list(struct store_conn *c, int64_t merchant_id, int64_t offset,
				 int64_t limit, account_row_fn row, void *ctx);
enum store_rc sql_account_update(struct store_conn *c, const struct account *a);
enum store_rc sql_account_delete(struct store_conn *c, int64_t merchant_id, int64_t id);
enum store_rc sql_api_key_create(struct store_conn *c, const struct api_key *k, int64_t *id_out);
enum store_rc sql_api_key_get(struct store_conn *c, int64_t id, struct api_key *out);
enum store_rc sql_api_keys_list(struct store_conn *c, int64_t merchant_id, api_key_row_fn row,
				void *ctx);
enum store_rc sql_api_key_revoke(struct store_conn *c, int64_t merchant_id, int64_t id,
				 int64_t now);
enum store_rc sql_auth_counter_get(struct store_conn *c, const char *key, struct auth_counter *out);
enum store_rc sql_auth_counter_put(struct store_conn *c, const char *key,
				   const struct auth_counter *in);
enum store_rc sql_lk_session_create(struct store_conn *c, const struct lk_session *s);
enum store_rc sql_lk_session_get(struct store_conn *c, const char *token_hash,
				 struct lk_session *out);
enum store_rc sql_lk_session_touch(struct store_conn *c, const char *token_hash, int64_t seen_ms);
enum store_rc sql_lk_session_delete(struct store_conn *c, const char *token_hash);
enum store_rc sql_lk_sessions_purge(struct store_conn *c, int64_t idle_before_ms,
				    int64_t created_before_ms, int64_t *n_out);

enum store_rc sql_settings_get(struct store_conn *c, int64_t merchant_id,
			       struct loyalty_settings *out);
enum store_rc sql_settings_put(struct store_conn *c, int64_t merchant_id,
			       const struct loyalty_settings *st);
enum store_rc sql_sale_points_list(struct store_conn *c, int64_t merchant_id, sale_point_row_fn row,
				   void *ctx);
enum store_rc sql_sale_point_save(struct store_conn *c, const struct sale_point *sp,
				  int64_t *id_out);
enum store_rc sql_sale_point_delete(struct store_conn *c, int64_t merchant_id, int64_t id);
enum store_rc sql_document_get(struct store_conn *c, int64_t merchant_id, const char *name,
			       char **json_out);
enum store_rc sql_document_put(struct store_conn *c, int64_t merchant_id, const char *name,
			       const char *json);
enum store_rc sql_idem_get(struct store_conn *c, int64_t merchant_id, const char *scope,
			   const char *key, int64_t not_before_ms, struct idem_record *out);
enum store_rc sql_idem_put(struct store_conn *c, int64_t merchant_id, const char *scope,
			   const char *key, const struct idem_record *in);
enum store_rc sql_idem_purge(struct store_conn *c, int64_t before_ms, int64_t *n_out);

enum store_rc sql_catalog_create(struct store_conn *c, const struct catalog_coupon *cc,
				 int64_t *id_out);
enum store_rc sql_catalog_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			      struct catalog_coupon *out);
enum store_rc sql_catalog_update(struct store_conn *c, const struct catalog_coupon *cc);
enum store_rc sql_catalog_delete(struct store_conn *c, int64_t merchant_id, int64_t id);
enum store_rc sql_catalog_list(struct store_conn *c, int64_t merchant_id, int64_t offset,
			       int64_t limit, catalog_row_fn row, void *ctx);

/* The row of CLIENT_COLS (also read by the engines' client_search). */
void sql_read_client(const struct sql_res *r, struct client *out);
enum store_rc sql_client_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			     struct client *out);
enum store_rc sql_client_find_phone(struct store_conn *c, int64_t merchant_id, const char *phone,
				    struct client *out);
enum store_rc sql_client_find_email(struct store_conn *c, int64_t merchant_id, const char *email_lc,
				    struct client *out);
enum store_rc sql_client_by_token(struct store_conn *c, const char *token, struct client *out);
enum store_rc sql_client_find_token(struct store_conn *c, int64_t merchant_id, const char *token,
				    struct client *out);
enum store_rc sql_client_create(struct store_conn *c, const struct client *cl, int64_t *id_out);
enum store_rc sql_client_update(struct store_conn *c, const struct client *cl);
enum store_rc sql_client_erase(struct store_conn *c, int64_t merchant_id, int64_t id,
			       const char *old_token, const char *erased_token, int64_t now);
enum store_rc sql_client_coupons(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				 coupon_row_fn row, void *ctx);
enum store_rc sql_client_holds(struct store_conn *c, int64_t merchant_id, int64_t client_id,
			       hold_row_fn row, void *ctx);
enum store_rc sql_client_events(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				webhook_event_fn row, void *ctx);
enum store_rc sql_event_set_data(struct store_conn *c, int64_t id, const char *data);
enum store_rc sql_ledger_list(struct store_conn *c, int64_t client_id, int64_t from, int64_t to,
			      int64_t offset, int64_t limit, ledger_row_fn row, void *ctx);

enum store_rc sql_order_find_external(struct store_conn *c, int64_t merchant_id,
				      const char *external_id, bool refund, const char *refund_key,
				      struct order *out);
enum store_rc sql_order_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			    struct order *out);
enum store_rc sql_order_by_token(struct store_conn *c, const char *token, struct order *out);
enum store_rc sql_import_create(struct store_conn *c, const struct import_rec *r, int64_t *id_out);
enum store_rc sql_import_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			     struct import_rec *out);
enum store_rc sql_import_find(struct store_conn *c, int64_t merchant_id, const char *sha256,
			      struct import_rec *out);
enum store_rc sql_import_update(struct store_conn *c, const struct import_rec *r);
enum store_rc sql_clients_export(struct store_conn *c, int64_t merchant_id, enum currency cur,
				 int64_t after_id, int64_t limit, client_balance_row_fn row,
				 void *ctx);
enum store_rc sql_orders_export(struct store_conn *c, int64_t merchant_id, int64_t after_id,
				int64_t limit, order_row_fn row, void *ctx);
enum store_rc sql_orders_list(struct store_conn *c, int64_t merchant_id,
			      const struct order_query *oq, order_row_fn row, void *ctx);
enum store_rc sql_order_refund_progress(struct store_conn *c, const struct order *sale);
enum store_rc sql_order_set_reaction(struct store_conn *c, int64_t order_id, int reaction,
				     const char *comment);
enum store_rc sql_client_reviews_add(struct store_conn *c, int64_t client_id, int64_t d_pos,
				     int64_t d_neu, int64_t d_neg);
enum store_rc sql_order_items(struct store_conn *c, int64_t merchant_id, int64_t order_id,
			      item_row_fn row, void *ctx);
enum store_rc sql_item_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			   struct order_item *out);
enum store_rc sql_item_refunded(struct store_conn *c, int64_t id, int64_t refunded_qty_milli,
				money_t refunded_total_minor);

enum store_rc sql_client_stats_add(struct store_conn *c, int64_t client_id, int64_t d_total,
				   int64_t d_paid, money_t d_total_amount, money_t d_paid_amount);
enum store_rc sql_balance_get(struct store_conn *c, int64_t client_id, enum currency cur,
			      struct balance *out);
enum store_rc sql_balance_add(struct store_conn *c, int64_t merchant_id, int64_t client_id,
			      enum currency cur, money_t d_balance, money_t d_debt, money_t d_held);
enum store_rc sql_lots_unexpired_sum(struct store_conn *c, int64_t client_id, enum currency cur,
				     int64_t now, money_t *sum_out);
enum store_rc sql_lots_spendable(struct store_conn *c, int64_t client_id, enum currency cur,
				 int64_t now, struct lot *out, size_t max, size_t *n_out);
enum store_rc sql_lots_expired(struct store_conn *c, int64_t now, struct lot *out, size_t max,
			       size_t *n_out);
enum store_rc sql_lot_get(struct store_conn *c, int64_t lot_id, struct lot *out);
enum store_rc sql_lot_create(struct store_conn *c, int64_t merchant_id, const struct lot *l,
			     int64_t *id_out);
enum store_rc sql_lot_add(struct store_conn *c, int64_t lot_id, money_t delta);
enum store_rc sql_ledger_add(struct store_conn *c, const struct ledger_entry *e);
enum store_rc sql_lot_take_add(struct store_conn *c, const struct lot_take *t);
enum store_rc sql_lot_takes_get(struct store_conn *c, int64_t order_id, struct lot_take *out,
				size_t max, size_t *n_out);
enum store_rc sql_lot_take_returned(struct store_conn *c, int64_t order_id, int64_t lot_id,
				    money_t returned_minor);
enum store_rc sql_order_create(struct store_conn *c, const struct order *o, int64_t *id_out);
enum store_rc sql_order_set_response(struct store_conn *c, int64_t id, const char *response);
enum store_rc sql_item_create(struct store_conn *c, const struct order_item *it, int64_t *id_out);

enum store_rc sql_hold_create(struct store_conn *c, const struct hold *h, int64_t *id_out);
enum store_rc sql_hold_get(struct store_conn *c, int64_t merchant_id, const char *transaction_id,
			   struct hold *out);
enum store_rc sql_hold_update(struct store_conn *c, const struct hold *h);
enum store_rc sql_holds_expired(struct store_conn *c, int64_t client_id, int64_t now,
				struct hold *out, size_t max, size_t *n_out);
enum store_rc sql_holds_expired_sum(struct store_conn *c, int64_t client_id, enum currency cur,
				    int64_t now, money_t *sum_out);
enum store_rc sql_hold_takes_get(struct store_conn *c, int64_t hold_id, struct lot_take *out,
				 size_t max, size_t *n_out);

enum store_rc sql_coupon_issue(struct store_conn *c, const struct coupon_instance *ci,
			       int64_t *id_out);
enum store_rc sql_coupon_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			     struct coupon_instance *out);
enum store_rc sql_coupon_find_token(struct store_conn *c, int64_t merchant_id, int kind,
				    const char *token, int64_t *id_out);
enum store_rc sql_coupons_usable(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				 int64_t now, coupon_row_fn row, void *ctx);
enum store_rc sql_coupon_set_codes(struct store_conn *c, int64_t id, const char *code,
				   const char *share_code);
enum store_rc sql_coupon_set_status(struct store_conn *c, int64_t id, enum coupon_status status,
				    int64_t redeemed_order_id);
enum store_rc sql_coupons_of_order(struct store_conn *c, int64_t order_id, int by, int64_t *ids,
				   size_t max, size_t *n_out);
enum store_rc sql_coupon_set_hold(struct store_conn *c, int64_t id, int64_t hold_id);
enum store_rc sql_coupon_share_mark(struct store_conn *c, int64_t id, int64_t client_id,
				    int64_t given_id, int64_t now);
enum store_rc sql_coupon_share_get(struct store_conn *c, int64_t id, int64_t *client_out,
				   int64_t *given_out, int64_t *source_out);

enum store_rc sql_webhook_create(struct store_conn *c, const struct webhook_endpoint *e,
				 int64_t *id_out);
enum store_rc sql_webhook_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			      struct webhook_endpoint *out);
enum store_rc sql_webhooks_list(struct store_conn *c, int64_t merchant_id, webhook_row_fn row,
				void *ctx);
enum store_rc sql_webhook_update(struct store_conn *c, const struct webhook_endpoint *e);
enum store_rc sql_webhook_delete(struct store_conn *c, int64_t merchant_id, int64_t id);
enum store_rc sql_webhook_mask(struct store_conn *c, int64_t merchant_id, int64_t *mask_out);
enum store_rc sql_event_create(struct store_conn *c, struct webhook_event *ev);
enum store_rc sql_event_redeliver(struct store_conn *c, int64_t merchant_id, const char *public_id,
				  int64_t now, int64_t *n_out);
enum store_rc sql_webhook_claim(struct store_conn *c, int64_t now, int64_t lease_until,
				const char *token, size_t max, webhook_job_fn row, void *ctx);
enum store_rc sql_webhook_record(struct store_conn *c, int64_t delivery_id, const char *token,
				 enum webhook_status status, int64_t next_ms, int64_t http_status,
				 const char *error, int64_t latency_ms, int64_t now);
enum store_rc sql_webhook_deliveries(struct store_conn *c, int64_t merchant_id, int64_t endpoint_id,
				     int64_t offset, int64_t limit, webhook_delivery_fn row,
				     void *ctx);
enum store_rc sql_webhook_attempts(struct store_conn *c, int64_t delivery_id, int64_t max,
				   webhook_attempt_fn row, void *ctx);
enum store_rc sql_lots_expiring(struct store_conn *c, int64_t now, int64_t until, int64_t mask,
				struct lot *out, size_t max, size_t *n_out);
enum store_rc sql_lot_notice_add(struct store_conn *c, int64_t lot_id, int64_t now);
enum store_rc sql_pass_register(struct store_conn *c, const char *device_id,
				const char *pass_type_id, int64_t merchant_id, int64_t client_id,
				const char *push_token, int64_t now, bool *created);
enum store_rc sql_pass_unregister(struct store_conn *c, const char *device_id,
				  const char *pass_type_id, int64_t client_id);
enum store_rc sql_pass_serials(struct store_conn *c, const char *device_id,
			       const char *pass_type_id, int64_t since, pass_serial_fn row,
			       void *ctx);
enum store_rc sql_pass_devices(struct store_conn *c, int64_t client_id, pass_device_fn row,
			       void *ctx);
enum store_rc sql_pass_device_drop(struct store_conn *c, int64_t client_id, const char *device_id,
				   const char *push_token);
enum store_rc sql_card_update_tag(struct store_conn *c, int64_t client_id, int64_t *tag_out);
enum store_rc sql_card_update_note(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				   int64_t now);
enum store_rc sql_card_updates_claim(struct store_conn *c, int64_t now, int64_t lease_until,
				     const char *token, size_t max, card_update_fn row, void *ctx);
enum store_rc sql_card_update_record(struct store_conn *c, int64_t client_id, const char *token,
				     bool done, int64_t next_ms);

enum store_rc sql_check(struct store_conn *c, int64_t now, store_report_fn report, void *ctx,
			int64_t *problems_out);
enum store_rc sql_report_dashboard(struct store_conn *c, int64_t merchant_id,
				   const struct report_query *q, struct report_dashboard *out);

#endif
