/* Holds (API.md 4.3): reserving points and coupons, making the reservation final, giving it
 * back, and releasing holds that expired. Each keeps the ledger invariant with the hold row,
 * its lot takes, the balance's held amount and the coupons' status in one transaction (the
 * caller's). No HTTP here. */
#ifndef KOPILKA_SERVICE_HOLDS_H
#define KOPILKA_SERVICE_HOLDS_H

#include "service/outcome.h"
#include "store/store.h"

/* Default life of a hold (API.md 4.3: 30 days). */
#define HOLD_DEFAULT_DAYS 30
/* Coupons one hold may reserve (the handlers' limit is lower). */
#define HOLD_COUPONS_MAX 128

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

/* ---- the workflows: requests parsed and shape-checked by the caller ---- */

struct hold_request {
	int64_t merchant_id, account_id, client_id;
	int currency; /* CURRENCY_COUNT: the program's */
	money_t amount_minor;
	int64_t expires_ms; /* 0: HOLD_DEFAULT_DAYS from now */
	const int64_t *coupons;
	size_t n_coupons;
};

/* Reserves amount and coupons for the client (POST /fiscal_hub/cash_back/hold/): the client
 * must be the merchant's (404 naming clientId), able to cover the amount (insufficient_funds)
 * and own the coupons (coupon_not_active); its expired holds are released first. *out: the
 * hold made (the caller clears it). */
bool hold_reserve(struct store_conn *db, const struct hold_request *r, int64_t now,
		  struct hold *out, struct outcome *o) MUST_CHECK;

struct hold_end_request {
	int64_t merchant_id;
	const char *transaction_id;  /* lower-case UUID */
	const char *fiscal_order_id; /* write-off: the sale it pays for; NULL: none */
	bool cancel;
};

/* Writes off or cancels a hold: 404 when the merchant has no such hold; 409 hold_not_active
 * for a direct write-off or a hold already ended otherwise; 409 order_not_of_client when the
 * sale named is another client's. An end done before (a cancel also of an expired hold)
 * answers as then. *out: the hold as it is after (the caller clears it). */
bool hold_end(struct store_conn *db, const struct hold_end_request *r, int64_t now,
	      struct hold *out, struct outcome *o) MUST_CHECK;

struct write_off_request {
	int64_t merchant_id, account_id, client_id;
	money_t amount_minor[CURRENCY_COUNT];
	const int64_t *coupons;
	size_t n_coupons;
};

struct write_off_result {
	struct hold made[CURRENCY_COUNT]; /* one written-off hold per currency spent */
	size_t n_made;
	money_t available[CURRENCY_COUNT]; /* what the client can spend after */
};

/* Spends at once (POST /clients/{id}/balance/write_off/): one written-off hold per currency
 * with an amount, the coupons with the first (or with a hold of no amount when only coupons
 * are redeemed). Refusals as hold_reserve, naming id, balance[currency] and coupons. The
 * caller clears res->made[0..n_made). */
bool balance_write_off(struct store_conn *db, const struct write_off_request *r, int64_t now,
		       struct write_off_result *res, struct outcome *o) MUST_CHECK;

#endif
