/* Storage operations of holds (points and coupons reserved before a sale), written once in
 * store/sql_holds.c over the driver of store/sql.h. Conventions (merchant scoping, results,
 * transactions): store/store.h. */
#ifndef KOPILKA_STORE_HOLDS_H
#define KOPILKA_STORE_HOLDS_H

#include "store/store.h"

typedef bool (*hold_row_fn)(void *ctx, const struct hold *h);

/* Every hold of the client, whatever its status, by id (the export). */
enum store_rc store_client_holds(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				 hold_row_fn row, void *ctx) MUST_CHECK;
/* Holds. create: CONFLICT when the transaction id exists. get: by transaction id, of the
 * merchant. update: status, ended_ms, order_id and fiscal_order_id of h->id. */
enum store_rc store_hold_create(struct store_conn *c, const struct hold *h,
				int64_t *id_out) MUST_CHECK;
enum store_rc store_hold_get(struct store_conn *c, int64_t merchant_id, const char *transaction_id,
			     struct hold *out) MUST_CHECK;
enum store_rc store_hold_update(struct store_conn *c, const struct hold *h) MUST_CHECK;
/* ACTIVE holds whose expiry is <= now, of one client (client_id > 0) or of all, oldest
 * first, at most max (the caller clears each). */
enum store_rc store_holds_expired(struct store_conn *c, int64_t client_id, int64_t now,
				  struct hold *out, size_t max, size_t *n_out) MUST_CHECK;
/* What the client's expired but not yet released holds of that currency took from lots
 * that are unexpired at now: the points a read must count as released. */
enum store_rc store_holds_expired_sum(struct store_conn *c, int64_t client_id, enum currency cur,
				      int64_t now, money_t *sum_out) MUST_CHECK;
/* The lots a hold took from, at most max (order_id 0, returned 0 in each). */
enum store_rc store_hold_takes_get(struct store_conn *c, int64_t hold_id, struct lot_take *out,
				   size_t max, size_t *n_out) MUST_CHECK;

#endif
