/* Holds (see holds.h). */
#include "service/holds.h"

#include <stdlib.h>

#include "service/coupons.h"
#include "service/ledger.h"

/* Coupons one hold may reserve (the handlers' limit is lower). */
#define HOLD_COUPONS_MAX 128

enum store_rc hold_place(struct store_conn *db, struct hold *h, const int64_t *coupon_ids,
			 size_t n_coupons, int64_t now)
{
	enum store_rc rc = STORE(db, hold_create, h, &h->id);
	if (rc == STORE_OK)
		rc = ledger_hold(db, h, now);
	bool direct = h->kind == HOLD_DIRECT;
	for (size_t i = 0; i < n_coupons && rc == STORE_OK; i++) {
		rc = STORE(db, coupon_set_status, coupon_ids[i],
			   direct ? COUPON_REDEEMED : COUPON_HELD, 0);
		if (rc == STORE_OK)
			rc = STORE(db, coupon_set_hold, coupon_ids[i], h->id);
	}
	return rc;
}

enum store_rc hold_write_off(struct store_conn *db, struct hold *h, int64_t order_id,
			     const char *fiscal_order_id, int64_t now)
{
	int64_t ids[HOLD_COUPONS_MAX];
	size_t n = 0;
	enum store_rc rc = STORE(db, coupons_of_order, h->id, 2, ids, HOLD_COUPONS_MAX, &n);
	/* The coupons are the hold's (hold_id), not the order's: redeemed by no order, so that a
	 * refund of the order it names never makes them usable again (issue 12, B7). */
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = STORE(db, coupon_set_status, ids[i], COUPON_REDEEMED, 0);
	if (rc == STORE_OK)
		rc = ledger_hold_written_off(db, h);
	h->status = HOLD_WRITTEN_OFF;
	h->ended_ms = now;
	h->order_id = order_id;
	free(h->fiscal_order_id);
	h->fiscal_order_id = fiscal_order_id ? xstrdup(fiscal_order_id) : NULL;
	if (rc == STORE_OK)
		rc = STORE(db, hold_update, h);
	return rc;
}

enum store_rc hold_release(struct store_conn *db, struct hold *h, enum hold_status status,
			   int64_t now)
{
	int64_t ids[HOLD_COUPONS_MAX];
	size_t n = 0;
	enum store_rc rc = STORE(db, coupons_of_order, h->id, 2, ids, HOLD_COUPONS_MAX, &n);
	/* They keep naming the hold (its couponIds); a later hold or order takes them over. */
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = coupon_reactivate(db, ids[i]);
	if (rc == STORE_OK)
		rc = ledger_release(db, h, now);
	h->status = status;
	h->ended_ms = now;
	if (rc == STORE_OK)
		rc = STORE(db, hold_update, h);
	return rc;
}

enum store_rc holds_release_expired(struct store_conn *db, int64_t client_id, int64_t now,
				    size_t max, size_t *n_out)
{
	struct hold *holds = xcalloc(max ? max : 1, sizeof(*holds));
	size_t n = 0;
	enum store_rc rc = STORE(db, holds_expired, client_id, now, holds, max, &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = hold_release(db, &holds[i], HOLD_EXPIRED, now);
	for (size_t i = 0; i < n; i++)
		hold_clear(&holds[i]);
	free(holds);
	*n_out = rc == STORE_OK ? n : 0;
	return rc;
}

enum hold_status hold_status_at(const struct hold *h, int64_t now)
{
	if (h->status == HOLD_ACTIVE && h->expires_ms <= now)
		return HOLD_EXPIRED;
	return h->status;
}

const char *hold_status_name(enum hold_status s)
{
	static const char *const names[] = {"active", "written_off", "cancelled", "expired"};
	return names[s];
}
