/* Storage operations of coupon instances: issue, codes, status, holds and shares, written once in
 * store/sql_coupons.c over the driver of store/sql.h. Conventions (merchant scoping, results,
 * transactions): store/store.h. */
#ifndef KOPILKA_STORE_COUPONS_H
#define KOPILKA_STORE_COUPONS_H

#include "store/store.h"

typedef bool (*coupon_row_fn)(void *ctx, const struct coupon_instance *c);

/* Every coupon instance of the client, whatever its status, by id (the export). */
enum store_rc store_client_coupons(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				   coupon_row_fn row, void *ctx) MUST_CHECK;
/* Coupon instances. CONFLICT when a token or a 6-digit code is already in use among the
 * merchant's usable coupons (draw new ones and try again). */
enum store_rc store_coupon_issue(struct store_conn *c, const struct coupon_instance *ci,
				 int64_t *id_out) MUST_CHECK;
enum store_rc store_coupon_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			       struct coupon_instance *out) MUST_CHECK;
/* The instance a scanned token names: kind 0 its token, 1 its shareToken, 2 either of
 * its 6-digit codes (codes name usable instances only). NOT_FOUND when none. */
enum store_rc store_coupon_find_token(struct store_conn *c, int64_t merchant_id, int kind,
				      const char *token, int64_t *id_out) MUST_CHECK;
/* The client's usable coupons at now (issued, not expired), by id. */
enum store_rc store_coupons_usable(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				   int64_t now, coupon_row_fn row, void *ctx) MUST_CHECK;
/* Sets status and redeemed order (0 clears it). Leaving ISSUED frees the 6-digit codes;
 * returning to ISSUED claims them again (CONFLICT when taken meanwhile). */
enum store_rc store_coupon_set_status(struct store_conn *c, int64_t id, enum coupon_status status,
				      int64_t redeemed_order_id) MUST_CHECK;
/* Replaces both 6-digit codes of an instance (after a CONFLICT on re-claiming). */
enum store_rc store_coupon_set_codes(struct store_conn *c, int64_t id, const char *code,
				     const char *share_code) MUST_CHECK;
/* Ids of the instances an order redeemed (by=0) or issued (by=1), or a hold reserved
 * or redeemed (by=2, order_id being the hold's id), at most max. */
enum store_rc store_coupons_of_order(struct store_conn *c, int64_t order_id, int by, int64_t *ids,
				     size_t max, size_t *n_out) MUST_CHECK;
/* Ties an instance to a hold (0 unties it). */
enum store_rc store_coupon_set_hold(struct store_conn *c, int64_t id, int64_t hold_id) MUST_CHECK;
/* Records that a shared instance was redeemed by a friend (client) who got instance
 * given_id. CONFLICT when it was redeemed before. */
enum store_rc store_coupon_share_mark(struct store_conn *c, int64_t id, int64_t client_id,
				      int64_t given_id, int64_t now) MUST_CHECK;
/* Who redeemed an instance's share and the instance they got (0, 0: not redeemed), and
 * the instance whose share it was given for (0: it was not received through a share). */
enum store_rc store_coupon_share_get(struct store_conn *c, int64_t id, int64_t *client_out,
				     int64_t *given_out, int64_t *source_out) MUST_CHECK;

#endif
