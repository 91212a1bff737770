/* Balances, lots, ledger rows and what spends took from which lot, and a client's purchase
 * statistics: the operations of store.h written once for both engines over the SQL driver
 * (store/sql.h). The ledger's invariant (balance = sum of ledger rows = sum of lots - debt)
 * is kept by service/ledger.c, which writes these together. */
#include "store/sql.h"

#include <string.h>

#include "core/util.h"
#include "store/ledger.h"

enum store_rc store_client_stats_add(struct store_conn *c, int64_t client_id, int64_t d_total,
				     int64_t d_paid, money_t d_total_amount, money_t d_paid_amount)
{
	return sql_send(c, SQL_CLIENT_STATS, "iiiii", d_total, d_paid, d_total_amount,
			d_paid_amount, client_id);
}

enum store_rc store_balance_get(struct store_conn *c, int64_t client_id, enum currency cur,
				struct balance *out)
{
	memset(out, 0, sizeof(*out));
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_BALANCE_GET, &r, "id", client_id, (int)cur);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK; /* no row yet: all zero */
	if (rc != STORE_OK)
		return rc;
	out->balance_minor = sql_int(&r, 0);
	out->debt_minor = sql_int(&r, 1);
	out->held_minor = sql_int(&r, 2);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_balance_add(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				enum currency cur, money_t d_balance, money_t d_debt,
				money_t d_held)
{
	return sql_send(c, SQL_BALANCE_ADD, "iidiii", merchant_id, client_id, (int)cur, d_balance,
			d_debt, d_held);
}

enum store_rc store_lots_unexpired_sum(struct store_conn *c, int64_t client_id, enum currency cur,
				       int64_t now, money_t *sum_out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_LOTS_SUM, &r, "idi", client_id, (int)cur, now);
	if (rc != STORE_OK)
		return rc;
	*sum_out = sql_int(&r, 0);
	sql_close(&r);
	return STORE_OK;
}

/* The row of LOT_COLS. */
static void read_lot(const struct sql_res *r, struct lot *l)
{
	l->id = sql_int(r, 0);
	l->merchant_id = sql_int(r, 1);
	l->client_id = sql_int(r, 2);
	l->currency = sql_int(r, 3) == 1 ? CUR_RUBLES : CUR_POINTS;
	l->remaining_minor = sql_int(r, 4);
	l->original_minor = sql_int(r, 5);
	l->expires_ms = sql_int(r, 6);
	l->order_id = sql_int(r, 7);
}

/* At most max lots of a run statement into out; *n_out: how many. */
static enum store_rc read_lots(enum store_rc rc, struct sql_res *r, struct lot *out, size_t max,
			       size_t *n_out)
{
	size_t n = 0;
	if (rc == STORE_OK) {
		while (n < max && sql_next(r))
			read_lot(r, &out[n++]);
		if (n < max)
			rc = sql_end(r);
		sql_close(r);
	}
	*n_out = n;
	return rc;
}

enum store_rc store_lots_spendable(struct store_conn *c, int64_t client_id, enum currency cur,
				   int64_t now, struct lot *out, size_t max, size_t *n_out)
{
	struct sql_res r;
	return read_lots(
	    sql_query(c, SQL_LOTS_SPENDABLE, &r, "idii", client_id, (int)cur, now, (int64_t)max),
	    &r, out, max, n_out);
}

enum store_rc store_balance_lots(struct store_conn *c, int64_t client_id, enum currency cur,
				 int64_t now, struct balance *balance, struct lot *out, size_t max,
				 size_t *n_out)
{
	memset(balance, 0, sizeof(*balance)); /* no row yet: all zero */
	struct sql_res r;
	size_t n = 0;
	enum store_rc rc =
	    sql_query(c, SQL_BALANCE_LOTS, &r, "idii", client_id, (int)cur, now, (int64_t)max);
	if (rc == STORE_OK) {
		while (n < max && sql_next(&r)) {
			balance->balance_minor = sql_int(&r, 8);
			balance->debt_minor = sql_int(&r, 9);
			balance->held_minor = sql_int(&r, 10);
			if (!sql_null(&r, 0)) /* NULL: no live lot, the balance's row alone */
				read_lot(&r, &out[n++]);
		}
		if (n < max)
			rc = sql_end(&r);
		sql_close(&r);
	}
	*n_out = n;
	return rc;
}

enum store_rc store_lots_expired(struct store_conn *c, int64_t now, struct lot *out, size_t max,
				 size_t *n_out)
{
	struct sql_res r;
	return read_lots(sql_query(c, SQL_LOTS_EXPIRED, &r, "ii", now, (int64_t)max), &r, out, max,
			 n_out);
}

enum store_rc store_lots_expiring(struct store_conn *c, int64_t now, int64_t until, int64_t mask,
				  struct lot *out, size_t max, size_t *n_out)
{
	struct sql_res r;
	return read_lots(
	    sql_query(c, SQL_LOTS_EXPIRING, &r, "iiii", now, until, mask, (int64_t)max), &r, out,
	    max, n_out);
}

enum store_rc store_lot_notice_add(struct store_conn *c, int64_t lot_id, int64_t now)
{
	enum store_rc rc = sql_insert(c, SQL_LOT_NOTICE_ADD, NULL, "ii", lot_id, now);
	return rc == STORE_CONFLICT ? STORE_OK : rc;
}

enum store_rc store_lot_get(struct store_conn *c, int64_t lot_id, struct lot *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_LOT_GET, &r, "i", lot_id);
	if (rc != STORE_OK)
		return rc;
	read_lot(&r, out);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_lot_create(struct store_conn *c, int64_t merchant_id, const struct lot *l,
			       int64_t *id_out)
{
	return sql_insert_send(c, SQL_LOT_CREATE, id_out, "iidiizzi", merchant_id, l->client_id,
			       (int)l->currency, l->remaining_minor, l->original_minor,
			       l->expires_ms, l->order_id, now_ms());
}

enum store_rc store_lot_add(struct store_conn *c, int64_t lot_id, money_t delta)
{
	return sql_send(c, SQL_LOT_ADD, "ii", delta, lot_id);
}

enum store_rc store_ledger_add(struct store_conn *c, const struct ledger_entry *e)
{
	return sql_send(c, SQL_LEDGER_ADD, "iididzzis", e->merchant_id, e->client_id,
			(int)e->currency, e->amount_minor, (int)e->type, e->order_id, e->hold_id,
			e->created_ms, e->reason);
}

enum store_rc store_lot_take_add(struct store_conn *c, const struct lot_take *t)
{
	if (t->hold_id)
		return sql_send(c, SQL_HOLD_TAKE_ADD, "iii", t->hold_id, t->lot_id, t->taken_minor);
	return sql_send(c, SQL_TAKE_ADD, "iiii", t->order_id, t->lot_id, t->taken_minor,
			t->returned_minor);
}

enum store_rc store_lot_takes_get(struct store_conn *c, int64_t order_id, struct lot_take *out,
				  size_t max, size_t *n_out)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_TAKES_GET, &r, "ii", order_id, (int64_t)max);
	size_t n = 0;
	if (rc == STORE_OK) {
		while (n < max && sql_next(&r))
			out[n++] = (struct lot_take){.order_id = sql_int(&r, 0),
						     .lot_id = sql_int(&r, 1),
						     .taken_minor = sql_int(&r, 2),
						     .returned_minor = sql_int(&r, 3),
						     .lot_expires_ms = sql_int(&r, 4)};
		if (n < max)
			rc = sql_end(&r);
		sql_close(&r);
	}
	*n_out = n;
	return rc;
}

enum store_rc store_lot_take_returned(struct store_conn *c, int64_t order_id, int64_t lot_id,
				      money_t returned_minor)
{
	return sql_send(c, SQL_TAKE_RETURNED, "iii", returned_minor, order_id, lot_id);
}
