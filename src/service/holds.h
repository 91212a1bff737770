/* Holds (API.md 4.3): reserving points and coupons, making the reservation final, giving it
 * back, and releasing holds that expired. Each keeps the ledger invariant with the hold row,
 * its lot takes, the balance's held amount and the coupons' status in one transaction (the
 * caller's). No HTTP here. */
#ifndef KOPILKA_SERVICE_HOLDS_H
#define KOPILKA_SERVICE_HOLDS_H

#include "store/store.h"

/* Default life of a hold (API.md 4.3: 30 days). */
#define HOLD_DEFAULT_DAYS 30

/* Records h (its id is set) and takes its amount and its coupons (already checked usable) from
 * the client: a two-phase hold reserves them, a direct write-off spends them at once. */
enum store_rc hold_place(struct store_conn *db, struct hold *h, const int64_t *coupon_ids,
			 size_t n_coupons, int64_t now) MUST_CHECK;

/* Makes an active hold final: its coupons become redeemed by the hold (no order: a refund of
 * the order never revives them), its points stay spent; the hold records order_id (the sale
 * the write-off names, 0: none) and fiscal_order_id. */
enum store_rc hold_write_off(struct store_conn *db, struct hold *h, int64_t order_id,
			     const char *fiscal_order_id, int64_t now) MUST_CHECK;

/* Gives an active hold back (status HOLD_CANCELLED or HOLD_EXPIRED): points to their lots,
 * coupons usable again. */
enum store_rc hold_release(struct store_conn *db, struct hold *h, enum hold_status status,
			   int64_t now) MUST_CHECK;

/* Releases up to max active holds that expired by now, of one client (client_id > 0) or of
 * all; *n_out: how many. */
enum store_rc holds_release_expired(struct store_conn *db, int64_t client_id, int64_t now,
				    size_t max, size_t *n_out) MUST_CHECK;

/* The status a reader sees: an active hold past its expiry is expired already. */
enum hold_status hold_status_at(const struct hold *h, int64_t now);
const char *hold_status_name(enum hold_status s);

#endif
