/* Holds (see holds.h). */
#include "service/holds.h"
#include "service/clients.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"

#include "service/coupons.h"
#include "service/events.h"
#include "service/ledger.h"
#include "store/coupons.h"
#include "store/holds.h"
#include "store/merchant.h"
#include "store/orders.h"

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
	/* A direct write-off is final at once: its coupons are redeemed; a hold is announced. */
	if (rc == STORE_OK)
		rc = direct ? event_coupons(db, EVENT_COUPON_REDEEMED, h->merchant_id, coupon_ids,
					    n_coupons, now)
			    : event_hold(db, EVENT_HOLD_CREATED, h, now);
	if (rc == STORE_OK)
		rc = event_balance(db, h->merchant_id, h->client_id, now);
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
	if (rc == STORE_OK)
		rc = event_hold(db, EVENT_HOLD_WRITTEN_OFF, h, now);
	if (rc == STORE_OK)
		rc = event_coupons(db, EVENT_COUPON_REDEEMED, h->merchant_id, ids, n, now);
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
	if (rc == STORE_OK)
		rc = event_hold(
		    db, status == HOLD_EXPIRED ? EVENT_HOLD_EXPIRED : EVENT_HOLD_CANCELLED, h, now);
	if (rc == STORE_OK)
		rc = event_balance(db, h->merchant_id, h->client_id, now);
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

/* ---- the workflows ---- */

/* The client of the request, locked (its balance, holds and coupons stay as read until
 * commit); 404 naming field when it is not the merchant's. Its expired holds are released
 * first, so what they reserved counts again. */
static bool settle_client(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			  const char *field, int64_t now, struct outcome *o)
{
	struct client cl = {0};
	enum store_rc rc = STORE(db, client_lock, merchant_id, client_id, &cl);
	bool erased = rc == STORE_OK && !client_refuse_erased(&cl, field, o);
	client_clear(&cl);
	if (rc == STORE_NOT_FOUND)
		return outcome_refuse(o, OUTCOME_NOT_FOUND, "not_found",
				      "%s: client %lld not found", field, (long long)client_id);
	if (erased)
		return false;
	size_t n = 0;
	if (rc == STORE_OK)
		rc = holds_release_expired(db, client_id, now, 64, &n);
	return outcome_store(o, rc);
}

bool hold_reserve(struct store_conn *db, const struct hold_request *r, int64_t now,
		  struct hold *out, struct outcome *o)
{
	if (!settle_client(db, r->merchant_id, r->client_id, "clientId", now, o))
		return false;
	enum currency cur = (enum currency)r->currency;
	if (r->currency == CURRENCY_COUNT) {
		struct loyalty_settings s;
		if (!outcome_store(o, STORE(db, settings_get, r->merchant_id, &s)))
			return false;
		cur = s.currency;
	}
	if (!ledger_require(db, r->client_id, cur, r->amount_minor, "amount", now, NULL, o) ||
	    !coupons_require_usable(db, r->merchant_id, r->client_id, "couponIds", r->coupons,
				    r->n_coupons, now, o))
		return false;
	*out = (struct hold){.merchant_id = r->merchant_id,
			     .client_id = r->client_id,
			     .currency = cur,
			     .amount_minor = r->amount_minor,
			     .kind = HOLD_TWO_PHASE,
			     .status = HOLD_ACTIVE,
			     .created_ms = now,
			     .expires_ms = r->expires_ms ? r->expires_ms
							 : now + HOLD_DEFAULT_DAYS * MS_PER_DAY,
			     .created_by = r->account_id};
	random_uuid(out->transaction_id);
	return outcome_store(o, hold_place(db, out, r->coupons, r->n_coupons, now));
}

/* The sale a write-off names (0: none named or no such sale): refused when it is another
 * client's (issue 12, B7). */
static bool written_off_for(struct store_conn *db, const struct hold_end_request *r,
			    const struct hold *h, int64_t *order_id, struct outcome *o)
{
	*order_id = 0;
	if (!r->fiscal_order_id)
		return true;
	struct order sale = {0};
	enum store_rc rc =
	    STORE(db, order_find_external, r->merchant_id, r->fiscal_order_id, false, "", &sale);
	bool foreign = rc == STORE_OK && sale.client_id != h->client_id;
	if (rc == STORE_OK)
		*order_id = sale.id;
	order_clear(&sale);
	if (foreign)
		return outcome_refuse(
		    o, OUTCOME_CONFLICT, "order_not_of_client",
		    "fiscalOrderId: sale %s is not a sale of the hold's client %lld",
		    r->fiscal_order_id, (long long)h->client_id);
	return outcome_store(o, rc == STORE_NOT_FOUND ? STORE_OK : rc);
}

bool hold_end(struct store_conn *db, const struct hold_end_request *r, int64_t now,
	      struct hold *out, struct outcome *o)
{
	struct hold *h = out;
	enum store_rc rc = STORE(db, hold_get, r->merchant_id, r->transaction_id, h);
	if (rc == STORE_OK) {
		/* Its client locked, the hold is read again as it is now: two ends of one hold
		 * run one after the other. */
		int64_t client_id = h->client_id;
		hold_clear(h);
		rc = STORE(db, client_lock, r->merchant_id, client_id, NULL);
		if (rc == STORE_OK)
			rc = STORE(db, hold_get, r->merchant_id, r->transaction_id, h);
	}
	if (rc == STORE_NOT_FOUND)
		return outcome_refuse(o, OUTCOME_NOT_FOUND, "not_found",
				      "transactionId: hold %s not found", r->transaction_id);
	if (!outcome_store(o, rc))
		return false;
	/* An expired hold is released now, in this transaction: its `release` row is written
	 * whatever the answer. */
	if (h->status == HOLD_ACTIVE && hold_status_at(h, now) == HOLD_EXPIRED) {
		if (!outcome_store(o, hold_release(db, h, HOLD_EXPIRED, now)))
			return false;
		o->keep_writes = true;
	}
	const char *verb = r->cancel ? "cancelled" : "written off";
	if (h->kind == HOLD_DIRECT)
		return outcome_refuse(
		    o, OUTCOME_CONFLICT, "hold_not_active",
		    "transactionId: %s is a write-off, not a hold; it cannot be %s",
		    r->transaction_id, verb);
	if (h->status == HOLD_ACTIVE) {
		if (r->cancel)
			return outcome_store(o, hold_release(db, h, HOLD_CANCELLED, now));
		int64_t order_id = 0;
		return written_off_for(db, r, h, &order_id, o) &&
		       outcome_store(o, hold_write_off(db, h, order_id, r->fiscal_order_id, now));
	}
	if ((h->status == HOLD_WRITTEN_OFF) == !r->cancel)
		return true; /* done before (a cancel also when it expired): the same answer */
	static const char *const was[] = {"", "written off", "cancelled", "released by its expiry"};
	return outcome_refuse(o, OUTCOME_CONFLICT, "hold_not_active",
			      "transactionId: the hold was %s; it cannot be %s", was[h->status],
			      verb);
}

bool balance_write_off(struct store_conn *db, const struct write_off_request *r, int64_t now,
		       struct write_off_result *res, struct outcome *o)
{
	res->n_made = 0;
	if (!settle_client(db, r->merchant_id, r->client_id, "id", now, o))
		return false;
	for (int cur = 0; cur < CURRENCY_COUNT; cur++) {
		char field[32];
		snprintf(field, sizeof(field), "balance[%s]", currency_name((enum currency)cur));
		if (!ledger_require(db, r->client_id, (enum currency)cur, r->amount_minor[cur],
				    field, now, NULL, o))
			return false;
	}
	if (!coupons_require_usable(db, r->merchant_id, r->client_id, "coupons", r->coupons,
				    r->n_coupons, now, o))
		return false;
	for (int cur = 0; cur < CURRENCY_COUNT; cur++) {
		bool last = cur == CURRENCY_COUNT - 1;
		if (r->amount_minor[cur] == 0 && !(last && res->n_made == 0))
			continue;
		struct hold *h = &res->made[res->n_made++];
		*h = (struct hold){.merchant_id = r->merchant_id,
				   .client_id = r->client_id,
				   .currency = (enum currency)cur,
				   .amount_minor = r->amount_minor[cur],
				   .kind = HOLD_DIRECT,
				   .status = HOLD_WRITTEN_OFF,
				   .created_ms = now,
				   .expires_ms = now,
				   .ended_ms = now,
				   .created_by = r->account_id};
		random_uuid(h->transaction_id);
		bool with_coupons = res->n_made == 1;
		if (!outcome_store(o, hold_place(db, h, with_coupons ? r->coupons : NULL,
						 with_coupons ? r->n_coupons : 0, now)))
			return false;
	}
	for (int cur = 0; cur < CURRENCY_COUNT; cur++)
		if (!outcome_store(o, ledger_available(db, r->client_id, (enum currency)cur, now,
						       &res->available[cur])))
			return false;
	return true;
}
