/* Orders and their items: the operations of store.h written once for both engines over the
 * SQL driver (store/sql.h). The order number (order_number_next) stays in each engine: a
 * counter row on SQLite, whose writers are serialized anyway; a sequence per merchant on
 * PostgreSQL, so that orders of one merchant do not wait for each other's commit. */
#include "store/sql.h"

#include "core/util.h"
#include "store/orders.h"

/* The row of ORDER_COLS. */
static void read_order(const struct sql_res *r, struct order *o)
{
	o->id = sql_int(r, 0);
	o->merchant_id = sql_int(r, 1);
	o->external_id = sql_str(r, 2);
	o->refund = sql_int(r, 3) != 0;
	o->order_number = sql_int(r, 4);
	o->client_id = sql_int(r, 5);
	o->order_date_ms = sql_int(r, 6);
	o->external_date_ms = sql_int(r, 7);
	o->total_minor = sql_int(r, 8);
	o->card_minor = sql_int(r, 9);
	o->cash_minor = sql_int(r, 10);
	o->spent_currency = sql_int(r, 11) == 1 ? CUR_RUBLES : CUR_POINTS;
	o->spent_minor = sql_int(r, 12);
	o->accrued_currency = sql_int(r, 13) == 1 ? CUR_RUBLES : CUR_POINTS;
	o->accrued_minor = sql_int(r, 14);
	o->refund_of = sql_int(r, 15);
	o->refunded_total_minor = sql_int(r, 16);
	o->accrual_taken_minor = sql_int(r, 17);
	o->spend_returned_minor = sql_int(r, 18);
	o->paid_refunded_minor = sql_int(r, 19);
	o->fully_refunded = sql_bool(r, 20);
	o->fn = sql_str(r, 21);
	o->fd = sql_str(r, 22);
	o->comment = sql_str(r, 23);
	o->public_token = sql_str(r, 24);
	o->request_hash = sql_str(r, 25);
	o->response = sql_str(r, 26);
	o->created_by = sql_int(r, 27);
	o->reaction = (int)sql_int(r, 28);
	o->customer_comment = sql_str(r, 29);
	o->fp = sql_str(r, 30);
}

/* The row of ITEM_COLS. */
static void read_item(const struct sql_res *r, struct order_item *out)
{
	out->id = sql_int(r, 0);
	out->order_id = sql_int(r, 1);
	out->merchant_id = sql_int(r, 2);
	out->line_no = (int)sql_int(r, 3);
	out->name = sql_str(r, 4);
	out->price_minor = sql_int(r, 5);
	out->qty_milli = sql_int(r, 6);
	sql_copy(r, 7, out->unit, sizeof(out->unit));
	out->vat_hundredths = sql_null(r, 8) ? -1 : sql_int(r, 8);
	out->total_minor = sql_int(r, 9);
	out->refunded_qty_milli = sql_int(r, 10);
	out->refunded_total_minor = sql_int(r, 11);
	out->refund_of_item = sql_int(r, 12);
	out->product_id = sql_str(r, 13);
}

/* The one order a statement run by sql_row found. */
static enum store_rc order_one(enum store_rc rc, struct sql_res *r, struct order *out)
{
	if (rc != STORE_OK)
		return rc;
	read_order(r, out);
	sql_close(r);
	return STORE_OK;
}

enum store_rc store_order_find_external(struct store_conn *c, int64_t merchant_id,
					const char *external_id, bool refund,
					const char *refund_key, struct order *out)
{
	struct sql_res r;
	return order_one(sql_row(c, SQL_ORDER_FIND_EXT, &r, "isbs", merchant_id, external_id,
				 refund, refund_key ? refund_key : ""),
			 &r, out);
}

enum store_rc store_order_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			      struct order *out)
{
	struct sql_res r;
	return order_one(sql_row(c, SQL_ORDER_GET, &r, "ii", merchant_id, id), &r, out);
}

enum store_rc store_order_by_token(struct store_conn *c, const char *token, struct order *out)
{
	struct sql_res r;
	return order_one(sql_row(c, SQL_ORDER_BY_TOKEN, &r, "s", token), &r, out);
}

/* Calls row for each order of a query run, until it returns false; closes r. */
static enum store_rc orders_walk(struct sql_res *r, order_row_fn row, void *ctx)
{
	while (sql_next(r)) {
		struct order o = {0};
		read_order(r, &o);
		bool more = row(ctx, &o);
		order_clear(&o);
		if (!more)
			break;
	}
	enum store_rc rc = sql_end(r);
	sql_close(r);
	return rc;
}

enum store_rc store_orders_list(struct store_conn *c, int64_t merchant_id,
				const struct order_query *oq, order_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_ORDERS_LIST, &r, "iiizdzssii", merchant_id, oq->from_ms,
				     oq->to_ms, oq->client_id, oq->receipt_type, oq->created_by,
				     oq->fn_like, oq->fd_like, oq->limit, oq->offset);
	if (rc != STORE_OK)
		return rc;
	return orders_walk(&r, row, ctx);
}

enum store_rc store_order_refund_progress(struct store_conn *c, const struct order *sale)
{
	return sql_exec(c, SQL_ORDER_PROGRESS, NULL, "iiiibi", sale->refunded_total_minor,
			sale->accrual_taken_minor, sale->spend_returned_minor,
			sale->paid_refunded_minor, sale->fully_refunded, sale->id);
}

enum store_rc store_order_set_reaction(struct store_conn *c, int64_t order_id, int reaction,
				       const char *comment)
{
	return sql_exec(c, SQL_ORDER_REACTION, NULL, "dsi", reaction, comment, order_id);
}

enum store_rc store_client_reviews_add(struct store_conn *c, int64_t client_id, int64_t d_pos,
				       int64_t d_neu, int64_t d_neg)
{
	return sql_exec(c, SQL_CLIENT_REVIEWS, NULL, "iiii", d_pos, d_neu, d_neg, client_id);
}

enum store_rc store_order_items(struct store_conn *c, int64_t merchant_id, int64_t order_id,
				item_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_ORDER_ITEMS, &r, "ii", merchant_id, order_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct order_item it = {0};
		read_item(&r, &it);
		bool more = row(ctx, &it);
		order_item_clear(&it);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_item_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			     struct order_item *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_ITEM_GET, &r, "ii", merchant_id, id);
	if (rc != STORE_OK)
		return rc;
	read_item(&r, out);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_item_refunded(struct store_conn *c, int64_t id, int64_t refunded_qty_milli,
				  money_t refunded_total_minor)
{
	return sql_exec(c, SQL_ITEM_REFUNDED, NULL, "iii", refunded_qty_milli, refunded_total_minor,
			id);
}

enum store_rc store_order_create(struct store_conn *c, const struct order *o, int64_t *id_out)
{
	/* With the id assigned ahead nothing waits for this answer (the items, the ledger rows
	 * and the lots name the order by it): the row travels with the next statement that
	 * waits. */
	enum store_rc (*insert)(struct store_conn *, enum sql_id, int64_t *, const char *, ...) =
	    o->id ? sql_insert_send : sql_insert;
	return insert(c, SQL_ORDER_CREATE, id_out,
		      "isbizizi"
		      "ii"
		      "di"
		      "di"
		      "z"
		      "ssssss"
		      "z"
		      "ssz",
		      o->merchant_id, o->external_id, o->refund, o->order_number, o->client_id,
		      o->order_date_ms, o->external_date_ms, o->total_minor, o->card_minor,
		      o->cash_minor, (int)o->spent_currency, o->spent_minor,
		      (int)o->accrued_currency, o->accrued_minor, o->refund_of, o->fn, o->fd,
		      o->comment, o->public_token, o->request_hash, o->response, o->created_by,
		      o->refund_key ? o->refund_key : "", o->fp, o->id);
}

enum store_rc store_order_set_response(struct store_conn *c, int64_t id, const char *response)
{
	return sql_send(c, SQL_ORDER_RESPONSE, "si", response, id);
}

enum store_rc store_item_create(struct store_conn *c, const struct order_item *it, int64_t *id_out)
{
	/* vat: 'n', NULL when not given (-1); 0 is a valid rate. */
	return sql_insert_send(c, SQL_ITEM_CREATE, id_out, "iidsiisnizs", it->order_id,
			       it->merchant_id, it->line_no, it->name, it->price_minor,
			       it->qty_milli, it->unit, it->vat_hundredths, it->total_minor,
			       it->refund_of_item, it->product_id);
}

enum store_rc store_orders_export(struct store_conn *c, int64_t merchant_id, int64_t after_id,
				  int64_t limit, order_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_ORDERS_EXPORT, &r, "iii", merchant_id, after_id, limit);
	if (rc != STORE_OK)
		return rc;
	return orders_walk(&r, row, ctx);
}
