/* Changing the loyalty program's settings (see settings.h). */
#include "service/settings.h"
#include "store/catalog.h"
#include "store/merchant.h"

static void merge(struct accrual_setting *a, const struct accrual_patch *p)
{
	if (p->has_type)
		a->rule.type = p->type;
	if (p->has_amount)
		a->rule.amount = p->amount;
	if (p->has_coupon)
		a->coupon_id = p->coupon_id;
	if (p->has_valid_days)
		a->valid_days = p->valid_days;
}

/* The rule as merged: a percentage is 0 to 100, and the catalog coupon it issues is the
 * merchant's and not deleted. */
static bool check_rule(struct store_conn *db, int64_t merchant_id, const char *key,
		       const struct accrual_setting *a, struct outcome *o)
{
	if (a->rule.type == ACCRUAL_PERCENTAGE && a->rule.amount > 10000)
		return outcome_refuse(o, OUTCOME_INVALID, "validation_failed",
				      "%s.amount: a percentage must be 0 to 100", key);
	if (!a->coupon_id)
		return true;
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(db, catalog_get, merchant_id, a->coupon_id, &cc);
	bool deleted = cc.deleted;
	catalog_coupon_clear(&cc);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && deleted))
		return outcome_refuse(o, OUTCOME_INVALID, "validation_failed",
				      "%s.couponId: coupon %lld does not exist or is deleted", key,
				      (long long)a->coupon_id);
	return outcome_store(o, rc);
}

bool settings_change(struct store_conn *db, int64_t merchant_id, const struct settings_patch *p,
		     struct loyalty_settings *out, struct outcome *o)
{
	struct loyalty_settings s;
	if (!outcome_store(o, STORE(db, settings_get, merchant_id, &s)))
		return false;
	if (p->has_active)
		s.active = p->active;
	if (p->has_currency)
		s.currency = p->currency;
	merge(&s.new_customer, &p->new_customer);
	merge(&s.customer, &p->customer);
	if (p->has_auto_register)
		s.auto_register = p->auto_register;
	if (p->has_max_spend)
		s.max_spend_percent = p->max_spend_percent;
	if (!check_rule(db, merchant_id, "newCustomerSettings", &s.new_customer, o) ||
	    !check_rule(db, merchant_id, "customerSettings", &s.customer, o) ||
	    !outcome_store(o, STORE(db, settings_put, merchant_id, &s)))
		return false;
	*out = s;
	return true;
}
