/* Changing the loyalty program's settings (PUT /loyalty/settings/, API.md 4.4). No HTTP here:
 * the handler parses the body into a patch, this merges it into the settings as they are and
 * holds the result to the program's rules. */
#ifndef KOPILKA_SERVICE_SETTINGS_H
#define KOPILKA_SERVICE_SETTINGS_H

#include "service/outcome.h"
#include "store/store.h"

/* One accrual rule's fields the request names (has_*); the others stay as they are. */
struct accrual_patch {
	bool has_type, has_amount, has_coupon, has_valid_days;
	enum accrual_type type;
	int64_t amount;	    /* minor units, or hundredths of a percent */
	int64_t coupon_id;  /* 0: none */
	int64_t valid_days; /* 0: never expire */
};

struct settings_patch {
	bool has_active, has_currency, has_auto_register, has_max_spend;
	bool active;
	enum currency currency;
	struct accrual_patch new_customer, customer;
	bool auto_register;
	int64_t max_spend_percent; /* 1..100, checked by the caller */
};

/* Merges p into the merchant's settings and writes them; *out: the settings after. Refuses,
 * writing nothing, 400 validation_failed when a rule ends up a percentage above 100
 * ("customerSettings.amount: a percentage must be 0 to 100") or names a catalog coupon that
 * is not the merchant's or is deleted ("newCustomerSettings.couponId: ..."). */
bool settings_change(struct store_conn *db, int64_t merchant_id, const struct settings_patch *p,
		     struct loyalty_settings *out, struct outcome *o) MUST_CHECK;

#endif
