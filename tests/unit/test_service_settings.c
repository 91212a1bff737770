/* Unit tests of settings_change (service/settings.c, PUT /loyalty/settings/) on a real SQLite
 * database: a patch changes only the fields it names, and a result that breaks a rule of the
 * program is refused with nothing written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "service/settings.h"
#include "store/accounts.h"
#include "store/catalog.h"
#include "store/merchant.h"
#include "store_fixture.h"

static int setup(void **state)
{
	struct store_fixture *f = calloc(1, sizeof(*f));
	store_fixture_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	store_fixture_close(*state);
	free(*state);
	return 0;
}

static struct loyalty_settings stored(struct store_fixture *f)
{
	struct loyalty_settings s;
	assert_int_equal(STORE(f->c, settings_get, f->merchant_id, &s), STORE_OK);
	return s;
}

static int64_t catalog_coupon(struct store_fixture *f, bool deleted)
{
	struct catalog_coupon cc = {.merchant_id = f->merchant_id,
				    .title = "Coffee",
				    .style = "default",
				    .created_ms = f->now};
	int64_t id = 0;
	assert_int_equal(STORE(f->c, catalog_create, &cc, &id), STORE_OK);
	if (deleted)
		assert_int_equal(STORE(f->c, catalog_delete, f->merchant_id, id), STORE_OK);
	return id;
}

static bool same_rule(const struct accrual_setting *a, const struct accrual_setting *b)
{
	return a->coupon_id == b->coupon_id && a->rule.type == b->rule.type &&
	       a->rule.amount == b->rule.amount && a->valid_days == b->valid_days;
}

static bool same(const struct loyalty_settings *a, const struct loyalty_settings *b)
{
	return a->active == b->active && a->currency == b->currency &&
	       same_rule(&a->new_customer, &b->new_customer) &&
	       same_rule(&a->customer, &b->customer) && a->auto_register == b->auto_register &&
	       a->max_spend_percent == b->max_spend_percent;
}

static void assert_invalid(const struct outcome *o, const char *message_start)
{
	assert_int_equal(o->kind, OUTCOME_INVALID);
	assert_string_equal(o->code, "validation_failed");
	assert_true(strncmp(o->message, message_start, strlen(message_start)) == 0);
}

/* Only what the patch names changes; the answer is the settings as stored. */
static void test_a_patch_changes_only_its_fields(void **state)
{
	struct store_fixture *f = *state;
	struct loyalty_settings before, after;
	struct settings_patch first = {
	    .new_customer = {.has_amount = true, .amount = 1500},
	    .customer = {.has_valid_days = true, .valid_days = 30},
	    .has_max_spend = true,
	    .max_spend_percent = 40,
	};
	struct outcome o = {0};
	assert_true(settings_change(f->c, f->merchant_id, &first, &before, &o));
	before = stored(f);
	assert_int_equal(before.customer.valid_days, 30);
	assert_int_equal(before.new_customer.rule.amount, 1500);
	assert_int_equal(before.max_spend_percent, 40);
	struct settings_patch p = {
	    .has_active = true,
	    .active = !before.active,
	    .customer = {
		.has_type = true, .type = ACCRUAL_PERCENTAGE, .has_amount = true, .amount = 500}};
	assert_true(settings_change(f->c, f->merchant_id, &p, &after, &o));
	assert_int_equal(o.kind, OUTCOME_OK);
	struct loyalty_settings s = stored(f);
	assert_true(same(&s, &after));
	assert_int_equal(s.active, !before.active);
	assert_int_equal(s.customer.rule.type, ACCRUAL_PERCENTAGE);
	assert_int_equal(s.customer.rule.amount, 500);
	assert_int_equal(s.customer.valid_days, before.customer.valid_days);
	assert_int_equal(s.customer.coupon_id, before.customer.coupon_id);
	assert_true(same_rule(&s.new_customer, &before.new_customer));
	assert_int_equal(s.currency, before.currency);
	assert_int_equal(s.auto_register, before.auto_register);
	assert_int_equal(s.max_spend_percent, before.max_spend_percent);
}

/* A percentage above 100 is refused whether the patch names the type, the amount, or only one
 * of them against what is stored. */
static void test_a_percentage_above_100_is_refused_as_merged(void **state)
{
	struct store_fixture *f = *state;
	struct settings_patch amount = {
	    .customer = {
		.has_type = true, .type = ACCRUAL_AMOUNT, .has_amount = true, .amount = 50000}};
	struct loyalty_settings out;
	struct outcome o = {0};
	assert_true(settings_change(f->c, f->merchant_id, &amount, &out, &o));
	/* 500.00 as a fixed amount is fine; turning the type alone into a percentage is not. */
	struct settings_patch type = {.customer = {.has_type = true, .type = ACCRUAL_PERCENTAGE}};
	o = (struct outcome){0};
	assert_false(settings_change(f->c, f->merchant_id, &type, &out, &o));
	assert_invalid(&o, "customerSettings.amount: a percentage must be 0 to 100");
	assert_int_equal(stored(f).customer.rule.type, ACCRUAL_AMOUNT);
}

/* A rule may issue only a catalog coupon of the merchant that is not deleted; null clears it. */
static void test_a_rule_coupon_must_exist(void **state)
{
	struct store_fixture *f = *state;
	int64_t live = catalog_coupon(f, false), gone = catalog_coupon(f, true);
	struct loyalty_settings out;
	struct outcome o = {0};
	struct settings_patch p = {.new_customer = {.has_coupon = true, .coupon_id = gone}};
	assert_false(settings_change(f->c, f->merchant_id, &p, &out, &o));
	assert_invalid(&o, "newCustomerSettings.couponId: coupon ");
	p.new_customer.coupon_id = live + gone + 1; /* no such coupon */
	o = (struct outcome){0};
	assert_false(settings_change(f->c, f->merchant_id, &p, &out, &o));
	assert_invalid(&o, "newCustomerSettings.couponId: coupon ");
	assert_int_equal(stored(f).new_customer.coupon_id, 0);
	p.new_customer.coupon_id = live;
	o = (struct outcome){0};
	assert_true(settings_change(f->c, f->merchant_id, &p, &out, &o));
	assert_int_equal(stored(f).new_customer.coupon_id, live);
	p.new_customer.coupon_id = 0;
	assert_true(settings_change(f->c, f->merchant_id, &p, &out, &o));
	assert_int_equal(stored(f).new_customer.coupon_id, 0);
}

/* Another merchant's coupon is no coupon of this one. */
static void test_another_merchants_coupon_is_refused(void **state)
{
	struct store_fixture *f = *state;
	int64_t own = f->merchant_id, other = 0;
	assert_int_equal(STORE(f->c, merchant_create, "Other", f->now, &other), STORE_OK);
	f->merchant_id = other;
	int64_t theirs = catalog_coupon(f, false);
	f->merchant_id = own;
	struct settings_patch p = {.customer = {.has_coupon = true, .coupon_id = theirs}};
	struct loyalty_settings out;
	struct outcome o = {0};
	assert_false(settings_change(f->c, own, &p, &out, &o));
	assert_invalid(&o, "customerSettings.couponId: coupon ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_patch_changes_only_its_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_percentage_above_100_is_refused_as_merged, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_rule_coupon_must_exist, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_another_merchants_coupon_is_refused, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
