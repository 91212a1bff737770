/* Storage operations of balances, lots, ledger rows, lot takes and expiry notices, written once in
 * store/sql_ledger.c over the driver of store/sql.h. Conventions (merchant scoping, results,
 * transactions): store/store.h. */
#ifndef KOPILKA_STORE_LEDGER_H
#define KOPILKA_STORE_LEDGER_H

#include "store/store.h"

/* Adds the deltas to a client's statistics. */
enum store_rc store_client_stats_add(struct store_conn *c, int64_t client_id, int64_t d_total,
				     int64_t d_paid, money_t d_total_amount,
				     money_t d_paid_amount) MUST_CHECK;
/* Balances, lots, ledger. */
enum store_rc store_balance_get(struct store_conn *c, int64_t client_id, enum currency cur,
				struct balance *out) MUST_CHECK;
enum store_rc store_balance_add(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				enum currency cur, money_t d_balance, money_t d_debt,
				money_t d_held) MUST_CHECK;
/* Sum of the client's lots of that currency not expired at now. */
enum store_rc store_lots_unexpired_sum(struct store_conn *c, int64_t client_id, enum currency cur,
				       int64_t now, money_t *sum_out) MUST_CHECK;
/* The client's lots with remaining > 0 not expired at now, soonest-expiring first
 * (never-expiring last), at most max; *n_out is how many were written. */
enum store_rc store_lots_spendable(struct store_conn *c, int64_t client_id, enum currency cur,
				   int64_t now, struct lot *out, size_t max,
				   size_t *n_out) MUST_CHECK;
/* store_balance_get and store_lots_spendable in one statement (one round trip). */
enum store_rc store_balance_lots(struct store_conn *c, int64_t client_id, enum currency cur,
				 int64_t now, struct balance *balance, struct lot *out, size_t max,
				 size_t *n_out) MUST_CHECK;
enum store_rc store_lot_get(struct store_conn *c, int64_t lot_id, struct lot *out) MUST_CHECK;
/* Sent ahead (store/sql.h sql_insert_send): *id_out is set by store_sync or the commit. */
enum store_rc store_lot_create(struct store_conn *c, int64_t merchant_id, const struct lot *l,
			       int64_t *id_out) MUST_CHECK;
enum store_rc store_lot_add(struct store_conn *c, int64_t lot_id, money_t delta) MUST_CHECK;
/* Lots with remaining > 0 whose expiry is <= now, oldest first, at most max. */
enum store_rc store_lots_expired(struct store_conn *c, int64_t now, struct lot *out, size_t max,
				 size_t *n_out) MUST_CHECK;
enum store_rc store_ledger_add(struct store_conn *c, const struct ledger_entry *e) MUST_CHECK;
/* Records a take of an order, or of a hold when t->hold_id is set. */
enum store_rc store_lot_take_add(struct store_conn *c, const struct lot_take *t) MUST_CHECK;
/* The lots an order's spend took from, latest-expiring first, at most max. */
enum store_rc store_lot_takes_get(struct store_conn *c, int64_t order_id, struct lot_take *out,
				  size_t max, size_t *n_out) MUST_CHECK;
enum store_rc store_lot_take_returned(struct store_conn *c, int64_t order_id, int64_t lot_id,
				      money_t returned_minor) MUST_CHECK;
/* Lots with points left expiring in (now, until] of merchants with an active endpoint
 * subscribed to mask, not noticed yet, soonest first, at most max; notice: records that
 * lot's notice (OK when it was recorded before). */
enum store_rc store_lots_expiring(struct store_conn *c, int64_t now, int64_t until, int64_t mask,
				  struct lot *out, size_t max, size_t *n_out) MUST_CHECK;
enum store_rc store_lot_notice_add(struct store_conn *c, int64_t lot_id, int64_t now) MUST_CHECK;

#endif
