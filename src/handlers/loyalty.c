/* Loyalty program settings and the coupon catalog (API.md 4.4). */
#include <string.h>

#include "handlers/handlers.h"
#include "handlers/views.h"
#include "service/coupons.h"

#define VALID_DAYS_MAX 36500

void loyalty_settings_get(struct call *c)
{
	struct loyalty_settings s;
	enum store_rc rc = STORE(c->db, settings_get, c->who.merchant_id, &s);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	struct jw w;
	call_json(c, 200, &w);
	view_settings(&w, &s);
}

/* Merges one accrual object of the body into a; false after writing a 400. */
static bool merge_accrual(struct call *c, json_t *obj, const char *key,
			  struct accrual_setting *a)
{
	json_t *o = NULL;
	if (!body_object(c, obj, key, key, false, &o))
		return false;
	if (!o)
		return true;
	char name[64];
	const char *type = NULL;
	snprintf(name, sizeof(name), "%s.type", key);
	if (!body_string(c, o, "type", name, false, 1, 32, &type))
		return false;
	if (type) {
		if (strcmp(type, "amount") == 0)
			a->rule.type = ACCRUAL_AMOUNT;
		else if (strcmp(type, "percentage") == 0)
			a->rule.type = ACCRUAL_PERCENTAGE;
		else {
			call_error(c, 400, "validation_failed",
				   "%s: must be \"amount\" or \"percentage\"", name);
			return false;
		}
	}
	snprintf(name, sizeof(name), "%s.amount", key);
	if (!body_money(c, o, "amount", name, false, false, &a->rule.amount, NULL))
		return false;
	if (a->rule.type == ACCRUAL_PERCENTAGE && a->rule.amount > 10000) {
		call_error(c, 400, "validation_failed", "%s: a percentage must be 0 to 100", name);
		return false;
	}
	snprintf(name, sizeof(name), "%s.couponId", key);
	json_t *cv = json_object_get(o, "couponId");
	if (cv && json_is_null(cv))
		a->coupon_id = 0;
	else if (!body_int(c, o, "couponId", name, false, 1, INT64_MAX, &a->coupon_id, NULL))
		return false;
	snprintf(name, sizeof(name), "%s.validDays", key);
	json_t *dv = json_object_get(o, "validDays");
	if (dv && json_is_null(dv))
		a->valid_days = 0;
	else if (!body_int(c, o, "validDays", name, false, 1, VALID_DAYS_MAX, &a->valid_days,
			   NULL))
		return false;
	return true;
}

/* The catalog coupon a rule issues must exist, be this merchant's and not be deleted. */
static enum store_rc check_rule_coupon(struct call *c, const char *key,
				       const struct accrual_setting *a)
{
	if (!a->coupon_id)
		return STORE_OK;
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(c->db, catalog_get, c->who.merchant_id, a->coupon_id, &cc);
	bool deleted = cc.deleted;
	catalog_coupon_clear(&cc);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && deleted)) {
		call_error(c, 400, "validation_failed",
			   "%s.couponId: coupon %lld does not exist or is deleted", key,
			   (long long)a->coupon_id);
		return STORE_NOT_FOUND;
	}
	return rc;
}

static enum store_rc settings_put_tx(struct call *c, void *ctx)
{
	(void)ctx;
	struct loyalty_settings s;
	enum store_rc rc = STORE(c->db, settings_get, c->who.merchant_id, &s);
	if (rc != STORE_OK)
		return rc;
	json_t *b = c->body;
	const char *currency = NULL;
	if (!body_bool(c, b, "active", "active", false, &s.active, NULL) ||
	    !body_string(c, b, "currency", "currency", false, 1, 16, &currency) ||
	    !merge_accrual(c, b, "newCustomerSettings", &s.new_customer) ||
	    !merge_accrual(c, b, "customerSettings", &s.customer) ||
	    !body_bool(c, b, "autoRegisterClients", "autoRegisterClients", false, &s.auto_register,
		       NULL) ||
	    !body_int(c, b, "maxSpendPercent", "maxSpendPercent", false, 1, 100,
		      &s.max_spend_percent, NULL))
		return STORE_NOT_FOUND;
	if (currency) {
		int cur = currency_parse(currency);
		if (cur < 0) {
			call_error(c, 400, "validation_failed",
				   "currency: must be \"points\" or \"rubles\"");
			return STORE_NOT_FOUND;
		}
		s.currency = (enum currency)cur;
	}
	rc = check_rule_coupon(c, "newCustomerSettings", &s.new_customer);
	if (rc == STORE_OK)
		rc = check_rule_coupon(c, "customerSettings", &s.customer);
	if (rc == STORE_OK)
		rc = STORE(c->db, settings_put, c->who.merchant_id, &s);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		view_settings(&w, &s);
	}
	return rc;
}

void loyalty_settings_put(struct call *c)
{
	call_write_tx(c, settings_put_tx, NULL);
}

static bool write_catalog_row(void *ctx, const struct catalog_coupon *cc)
{
	view_catalog_coupon(ctx, cc);
	return true;
}

void catalog_list(struct call *c)
{
	int64_t offset, limit;
	if (!query_paging(c, &offset, &limit))
		return;
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc = STORE(c->db, catalog_list, c->who.merchant_id, offset, limit,
				 write_catalog_row, &w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

static const char *const coupon_styles[] = {
	"theme_pale_orange", "theme_white",	    "theme_light_blue",
	"theme_brown",	     "theme_soft_orange",   "theme_dark_grayish_navy",
	"theme_black",	     "theme_dull_green",    "theme_light_pink",
};

static enum store_rc catalog_create_tx(struct call *c, void *ctx)
{
	struct catalog_coupon *cc = ctx;
	enum store_rc rc = STORE(c->db, catalog_create, cc, &cc->id);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 201, &w);
		view_catalog_coupon(&w, cc);
	}
	return rc;
}

void catalog_create(struct call *c)
{
	json_t *b = c->body;
	const char *style = NULL;
	struct catalog_coupon cc = {.merchant_id = c->who.merchant_id, .created_ms = now_ms()};
	if (!body_string(c, b, "title", "title", true, 1, 256, (const char **)&cc.title) ||
	    !body_string(c, b, "header", "header", false, 0, 256, (const char **)&cc.header) ||
	    !body_string(c, b, "subHeader", "subHeader", false, 0, 256,
			 (const char **)&cc.sub_header) ||
	    !body_string(c, b, "shortDescription", "shortDescription", false, 0, 4096,
			 (const char **)&cc.short_description) ||
	    !body_string(c, b, "longDescription", "longDescription", false, 0, 65536,
			 (const char **)&cc.long_description) ||
	    !body_string(c, b, "style", "style", false, 1, 64, &style) ||
	    !body_int(c, b, "validDays", "validDays", false, 1, VALID_DAYS_MAX, &cc.valid_days,
		      NULL) ||
	    !body_int(c, b, "validUntil", "validUntil", false, 1, INT64_MAX / 2, &cc.valid_until,
		      NULL))
		return;
	cc.style = (char *)"theme_brown";
	if (style) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_LEN(coupon_styles); i++)
			known = known || strcmp(style, coupon_styles[i]) == 0;
		if (!known) {
			call_error(c, 400, "validation_failed",
				   "style: must be one of theme_pale_orange, theme_white, "
				   "theme_light_blue, theme_brown, theme_soft_orange, "
				   "theme_dark_grayish_navy, theme_black, theme_dull_green, "
				   "theme_light_pink");
			return;
		}
		cc.style = (char *)style;
	}
	/* The strings are borrowed from the body: this struct is never cleared. */
	call_write_tx(c, catalog_create_tx, &cc);
}

void catalog_get(struct call *c)
{
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(c->db, catalog_get, c->who.merchant_id, c->path_id[0], &cc);
	if (rc == STORE_NOT_FOUND) {
		call_error(c, 404, "not_found", "coupon %lld not found", (long long)c->path_id[0]);
		return;
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	struct jw w;
	call_json(c, 200, &w);
	view_catalog_coupon(&w, &cc);
	catalog_coupon_clear(&cc);
}

static enum store_rc catalog_delete_tx(struct call *c, void *ctx)
{
	(void)ctx;
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(c->db, catalog_delete, c->who.merchant_id, c->path_id[0]);
	if (rc == STORE_OK)
		rc = STORE(c->db, catalog_get, c->who.merchant_id, c->path_id[0], &cc);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "coupon %lld not found", (long long)c->path_id[0]);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		view_catalog_coupon(&w, &cc);
	}
	catalog_coupon_clear(&cc);
	return rc;
}

void catalog_delete(struct call *c)
{
	call_write_tx(c, catalog_delete_tx, NULL);
}
