/* Holds and what they took from lots: the operations of store.h written once for both
 * engines over the SQL driver (store/sql.h). */
#include "store/sql.h"

#include "core/util.h"
#include "store/holds.h"

/* The row of HOLD_COLS. */
static void read_hold(const struct sql_res *r, struct hold *h)
{
	h->id = sql_int(r, 0);
	h->merchant_id = sql_int(r, 1);
	h->client_id = sql_int(r, 2);
	h->currency = (enum currency)sql_int(r, 3);
	h->amount_minor = sql_int(r, 4);
	sql_copy(r, 5, h->transaction_id, sizeof(h->transaction_id));
	h->kind = (enum hold_kind)sql_int(r, 6);
	h->status = (enum hold_status)sql_int(r, 7);
	h->created_ms = sql_int(r, 8);
	h->expires_ms = sql_int(r, 9);
	h->ended_ms = sql_int(r, 10);
	h->order_id = sql_int(r, 11);
	h->fiscal_order_id = sql_str(r, 12);
	h->created_by = sql_int(r, 13);
}

enum store_rc store_hold_create(struct store_conn *c, const struct hold *h, int64_t *id_out)
{
	return sql_insert(c, SQL_HOLD_CREATE, id_out, "iidisddiizzsz", h->merchant_id, h->client_id,
			  (int)h->currency, h->amount_minor, h->transaction_id, (int)h->kind,
			  (int)h->status, h->created_ms, h->expires_ms, h->ended_ms, h->order_id,
			  h->fiscal_order_id, h->created_by);
}

enum store_rc store_hold_get(struct store_conn *c, int64_t merchant_id, const char *transaction_id,
			     struct hold *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_HOLD_GET, &r, "is", merchant_id, transaction_id);
	if (rc != STORE_OK)
		return rc;
	read_hold(&r, out);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_hold_update(struct store_conn *c, const struct hold *h)
{
	return sql_exec(c, SQL_HOLD_UPDATE, NULL, "dzzsi", (int)h->status, h->ended_ms, h->order_id,
			h->fiscal_order_id, h->id);
}

enum store_rc store_holds_expired(struct store_conn *c, int64_t client_id, int64_t now,
				  struct hold *out, size_t max, size_t *n_out)
{
	struct sql_res r;
	enum store_rc rc =
	    client_id
		? sql_query(c, SQL_HOLDS_EXPIRED_CLIENT, &r, "iii", client_id, now, (int64_t)max)
		: sql_query(c, SQL_HOLDS_EXPIRED_ALL, &r, "ii", now, (int64_t)max);
	size_t n = 0;
	if (rc == STORE_OK) {
		while (n < max && sql_next(&r))
			read_hold(&r, &out[n++]);
		if (n < max)
			rc = sql_end(&r);
		sql_close(&r);
	}
	*n_out = n;
	return rc;
}

enum store_rc store_holds_expired_sum(struct store_conn *c, int64_t client_id, enum currency cur,
				      int64_t now, money_t *sum_out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_HOLDS_EXPIRED_SUM, &r, "idi", client_id, (int)cur, now);
	if (rc != STORE_OK)
		return rc;
	*sum_out = sql_int(&r, 0);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_hold_takes_get(struct store_conn *c, int64_t hold_id, struct lot_take *out,
				   size_t max, size_t *n_out)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_HOLD_TAKES_GET, &r, "ii", hold_id, (int64_t)max);
	size_t n = 0;
	if (rc == STORE_OK) {
		while (n < max && sql_next(&r))
			out[n++] = (struct lot_take){.hold_id = sql_int(&r, 0),
						     .lot_id = sql_int(&r, 1),
						     .taken_minor = sql_int(&r, 2),
						     .lot_expires_ms = sql_int(&r, 3)};
		if (n < max)
			rc = sql_end(&r);
		sql_close(&r);
	}
	*n_out = n;
	return rc;
}

enum store_rc store_client_holds(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				 hold_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_CLIENT_HOLDS, &r, "ii", merchant_id, client_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct hold h = {0};
		read_hold(&r, &h);
		bool more = row(ctx, &h);
		hold_clear(&h);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}
