/* Storage operations of orders (sales and refunds), their items, reactions and the orders export,
 * written once in store/sql_orders.c over the driver of store/sql.h. Conventions (merchant scoping,
 * results, transactions): store/store.h. */
#ifndef KOPILKA_STORE_ORDERS_H
#define KOPILKA_STORE_ORDERS_H

#include "store/store.h"

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

/* Orders. The order of (merchant, externalId, receiptType, refund_key): refund_key is ""
 * but for a refund in the seed's form (see struct order). */
enum store_rc store_order_find_external(struct store_conn *c, int64_t merchant_id,
					const char *external_id, bool refund,
					const char *refund_key, struct order *out) MUST_CHECK;
enum store_rc store_order_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			      struct order *out) MUST_CHECK;
/* An order by its public receipt token, whatever its merchant (the public page). */
enum store_rc store_order_by_token(struct store_conn *c, const char *token,
				   struct order *out) MUST_CHECK;
/* CONFLICT when (merchant, externalId, receiptType, refund_key) exists. With o->id set (the
 * id store_order_number_next assigned ahead, PostgreSQL) the row is sent ahead unanswered,
 * as sql_insert_send: *id_out is set again once the answer is read, and a uniqueness refusal
 * then fails the write (STORE_ERROR) instead, which the identity lock taken before the
 * order is looked up (store_key_lock) keeps from happening. */
enum store_rc store_order_create(struct store_conn *c, const struct order *o,
				 int64_t *id_out) MUST_CHECK;
/* Orders matching q, newest first (then by id). */
enum store_rc store_orders_list(struct store_conn *c, int64_t merchant_id,
				const struct order_query *q, order_row_fn row,
				void *ctx) MUST_CHECK;
/* An order's items by line. */
enum store_rc store_order_items(struct store_conn *c, int64_t merchant_id, int64_t order_id,
				item_row_fn row, void *ctx) MUST_CHECK;
/* Records the customer's reaction (1..3) and comment on an order. */
enum store_rc store_order_set_reaction(struct store_conn *c, int64_t order_id, int reaction,
				       const char *comment) MUST_CHECK;
/* Adds to a client's review counts. */
enum store_rc store_client_reviews_add(struct store_conn *c, int64_t client_id, int64_t d_pos,
				       int64_t d_neu, int64_t d_neg) MUST_CHECK;
/* Stores the refund progress of a sale (the cumulative fields and fully_refunded). */
enum store_rc store_order_refund_progress(struct store_conn *c,
					  const struct order *sale) MUST_CHECK;
enum store_rc store_order_set_response(struct store_conn *c, int64_t id,
				       const char *response) MUST_CHECK;
/* Sent ahead (store/sql.h sql_insert_send): *id_out is set by store_sync or the commit. */
enum store_rc store_item_create(struct store_conn *c, const struct order_item *it,
				int64_t *id_out) MUST_CHECK;
enum store_rc store_item_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			     struct order_item *out) MUST_CHECK;
enum store_rc store_item_refunded(struct store_conn *c, int64_t id, int64_t refunded_qty_milli,
				  money_t refunded_total_minor) MUST_CHECK;
enum store_rc store_orders_export(struct store_conn *c, int64_t merchant_id, int64_t after_id,
				  int64_t limit, order_row_fn row, void *ctx) MUST_CHECK;

#endif
