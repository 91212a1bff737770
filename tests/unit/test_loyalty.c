/* Unit tests of domain/loyalty: item totals round half up, accruals round down, spends draw
 * from lots in order, and partial refunds add up to exactly what was taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "domain/loyalty.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_item_total(void **state)
{
	(void)state;
	assert_int_equal(item_total_minor(1, 500), 1);	      /* 0.01 x 0.5 = 0.005 -> 0.01 */
	assert_int_equal(item_total_minor(1, 499), 0);	      /* 0.00499 -> 0.00 */
	assert_int_equal(item_total_minor(1000, 1500), 1500); /* 10.00 x 1.5 */
	assert_int_equal(item_total_minor(12345, 1000), 12345);
	assert_int_equal(item_total_minor(12345, 0), 0);
	assert_int_equal(item_total_minor(0, 7000), 0);
	assert_int_equal(item_total_minor(999, 333), 333); /* 332.667 -> 333 */
	assert_int_equal(item_total_minor(3, 1500), 5);	   /* 4.5 -> 5 */
	assert_int_equal(item_total_minor(3, 1499), 4);	   /* 4.497 -> 4 */
	assert_int_equal(item_total_minor(-3, 1500), -5);  /* halves away from zero */
	/* The largest price times the largest quantity needs more than 64 bits inside. */
	assert_int_equal(item_total_minor(100000000, QTY_MAX_MILLI), 100000000LL * 1000000000LL);
	assert_int_equal(item_total_minor(MONEY_MAX_MINOR, 1000), MONEY_MAX_MINOR);
}

static void test_accrual_base(void **state)
{
	(void)state;
	assert_int_equal(accrual_base_minor(5000, 9000, 4000), 5000); /* paid wins when > 0 */
	assert_int_equal(accrual_base_minor(1, 9000, 0), 1);
	/* Paid above the item total accrues on the total only (issue 12 B10). */
	assert_int_equal(accrual_base_minor(9001, 9000, 0), 9000);
	assert_int_equal(accrual_base_minor(3000, 1000, 1000), 1000); /* the seed's example */
	assert_int_equal(accrual_base_minor(99999999999900, 100, 0), 100);
	assert_int_equal(accrual_base_minor(500, 0, 0), 0);
	assert_int_equal(accrual_base_minor(0, 9000, 4000), 5000);
	assert_int_equal(accrual_base_minor(0, 9000, 0), 9000);
	assert_int_equal(accrual_base_minor(0, 9000, 9000), 0);
	assert_int_equal(accrual_base_minor(0, 9000, 12000), 0); /* never below zero */
	assert_int_equal(accrual_base_minor(-5, 100, 30), 70);
	assert_int_equal(accrual_base_minor(0, 0, 0), 0);
}

static void test_accrual(void **state)
{
	(void)state;
	struct accrual_rule pct5 = {ACCRUAL_PERCENTAGE, 500};
	assert_int_equal(accrual_minor(&pct5, 9999), 499); /* 5% of 99.99 = 4.9995 -> 4.99 */
	assert_int_equal(accrual_minor(&pct5, 10000), 500);
	assert_int_equal(accrual_minor(&pct5, 19), 0); /* 0.95 minor -> 0 */
	assert_int_equal(accrual_minor(&pct5, 20), 1);
	assert_int_equal(accrual_minor(&pct5, 0), 0);
	struct accrual_rule pct_fraction = {ACCRUAL_PERCENTAGE, 1}; /* 0.01% */
	assert_int_equal(accrual_minor(&pct_fraction, 1000000), 100);
	assert_int_equal(accrual_minor(&pct_fraction, 9999), 0);
	struct accrual_rule pct100 = {ACCRUAL_PERCENTAGE, 10000};
	assert_int_equal(accrual_minor(&pct100, 12345), 12345);
	assert_int_equal(accrual_minor(&pct100, MONEY_MAX_MINOR), MONEY_MAX_MINOR);
	struct accrual_rule pct_odd = {ACCRUAL_PERCENTAGE, 333}; /* 3.33% */
	assert_int_equal(accrual_minor(&pct_odd, 100000), 3330);
	assert_int_equal(accrual_minor(&pct_odd, 299), 9); /* 9.9567 -> 9 */

	struct accrual_rule fixed = {ACCRUAL_AMOUNT, 1500};
	assert_int_equal(accrual_minor(&fixed, 9999), 1500);
	assert_int_equal(accrual_minor(&fixed, 1), 1500);
	assert_int_equal(accrual_minor(&fixed, 0), 1500);
}

static void lots_init(struct lot_view *lots, const money_t *remaining, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		lots[i].lot_id = (int64_t)i + 100;
		lots[i].remaining_minor = remaining[i];
		lots[i].take_minor = -777; /* the planner must overwrite every lot */
	}
}

static void test_spend_plan_exact(void **state)
{
	(void)state;
	const money_t remaining[] = {500};
	struct lot_view lots[1];
	lots_init(lots, remaining, 1);
	assert_true(spend_plan(lots, 1, 500));
	assert_int_equal(lots[0].take_minor, 500);
	assert_int_equal(lots[0].remaining_minor, 500); /* the plan does not spend */
	assert_int_equal(lots[0].lot_id, 100);

	lots_init(lots, remaining, 1);
	assert_true(spend_plan(lots, 1, 120));
	assert_int_equal(lots[0].take_minor, 120);

	lots_init(lots, remaining, 1);
	assert_true(spend_plan(lots, 1, 0));
	assert_int_equal(lots[0].take_minor, 0);

	assert_true(spend_plan(NULL, 0, 0));
}

static void test_spend_plan_across_lots(void **state)
{
	(void)state;
	const money_t remaining[] = {300, 0, 200, 1000};
	struct lot_view lots[4];

	/* Soonest-expiring first: the first lot empties before the next is touched. */
	lots_init(lots, remaining, 4);
	assert_true(spend_plan(lots, 4, 650));
	assert_int_equal(lots[0].take_minor, 300);
	assert_int_equal(lots[1].take_minor, 0);
	assert_int_equal(lots[2].take_minor, 200);
	assert_int_equal(lots[3].take_minor, 150);

	lots_init(lots, remaining, 4);
	assert_true(spend_plan(lots, 4, 250));
	assert_int_equal(lots[0].take_minor, 250);
	assert_int_equal(lots[1].take_minor, 0);
	assert_int_equal(lots[2].take_minor, 0);
	assert_int_equal(lots[3].take_minor, 0);

	lots_init(lots, remaining, 4);
	assert_true(spend_plan(lots, 4, 1500));
	assert_int_equal(lots[0].take_minor, 300);
	assert_int_equal(lots[1].take_minor, 0);
	assert_int_equal(lots[2].take_minor, 200);
	assert_int_equal(lots[3].take_minor, 1000);

	lots_init(lots, remaining, 4);
	assert_true(spend_plan(lots, 4, 500));
	assert_int_equal(lots[0].take_minor, 300);
	assert_int_equal(lots[2].take_minor, 200);
	assert_int_equal(lots[3].take_minor, 0);
}

static void test_spend_plan_insufficient(void **state)
{
	(void)state;
	const money_t remaining[] = {300, 200, 1000};
	struct lot_view lots[3];
	lots_init(lots, remaining, 3);
	assert_false(spend_plan(lots, 3, 1501));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(lots[i].take_minor, 0);
		assert_int_equal(lots[i].remaining_minor, remaining[i]);
	}
	lots_init(lots, remaining, 3);
	assert_false(spend_plan(lots, 3, INT64_MAX));
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(lots[i].take_minor, 0);
	assert_false(spend_plan(NULL, 0, 1));

	/* Sums near INT64_MAX must not wrap into "enough". */
	const money_t big[] = {INT64_MAX, INT64_MAX};
	struct lot_view big_lots[2];
	lots_init(big_lots, big, 2);
	assert_true(spend_plan(big_lots, 2, INT64_MAX));
	assert_int_equal(big_lots[0].take_minor, INT64_MAX);
	assert_int_equal(big_lots[1].take_minor, 0);
}

/* share_cumulative(after) - share_cumulative(before) is what each partial refund moves. */
static void test_share_thirds(void **state)
{
	(void)state;
	const money_t whole = 100, total = 30000;
	money_t before = 0, sum = 0;
	money_t parts[3];
	for (int i = 1; i <= 3; i++) {
		money_t after = share_cumulative(whole, total * i / 3, total);
		parts[i - 1] = after - before;
		sum += after - before;
		before = after;
	}
	assert_int_equal(parts[0], 33);
	assert_int_equal(parts[1], 33);
	assert_int_equal(parts[2], 34);
	assert_int_equal(sum, whole);
}

static void test_share_properties(void **state)
{
	(void)state;
	assert_int_equal(share_cumulative(100, 0, 3), 0);
	assert_int_equal(share_cumulative(100, 1, 3), 33);
	assert_int_equal(share_cumulative(100, 2, 3), 66);
	assert_int_equal(share_cumulative(100, 3, 3), 100);
	assert_int_equal(share_cumulative(0, 2, 3), 0);
	assert_int_equal(share_cumulative(7, 9999, 10000), 6);
	/* whole * part_cum overflows 64 bits. */
	assert_int_equal(share_cumulative(MONEY_MAX_MINOR, MONEY_MAX_MINOR / 2, MONEY_MAX_MINOR),
			 MONEY_MAX_MINOR / 2);
	assert_int_equal(share_cumulative(INT64_MAX, INT64_MAX - 1, INT64_MAX), INT64_MAX - 1);

	/* For many splits of a total, the cumulative shares never decrease, never exceed the
	 * whole, and the pieces sum to exactly the whole. */
	const money_t wholes[] = {1, 7, 100, 499, 123457};
	const money_t totals[] = {1, 3, 7, 1000, 99999};
	for (size_t w = 0; w < ARRAY_LEN(wholes); w++) {
		for (size_t t = 0; t < ARRAY_LEN(totals); t++) {
			money_t whole = wholes[w], total = totals[t];
			money_t step = total / 5 > 0 ? total / 5 : 1;
			money_t part = 0, before = 0, sum = 0;
			while (part < total) {
				part = part + step > total ? total : part + step;
				money_t after = share_cumulative(whole, part, total);
				assert_true(after >= before);
				assert_true(after <= whole);
				sum += after - before;
				before = after;
			}
			assert_int_equal(sum, whole);
		}
	}
}

static void returns_init(struct lot_return *lots, const money_t *taken, const money_t *returned,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		lots[i].lot_id = (int64_t)i + 1;
		lots[i].taken_minor = taken[i];
		lots[i].returned_minor = returned[i];
		lots[i].give_minor = -777;
	}
}

static void test_refund_distribute(void **state)
{
	(void)state;
	const money_t taken[] = {100, 300, 50};
	const money_t none[] = {0, 0, 0};
	struct lot_return lots[3];

	returns_init(lots, taken, none, 3);
	assert_true(refund_distribute(lots, 3, 250));
	assert_int_equal(lots[0].give_minor, 100);
	assert_int_equal(lots[1].give_minor, 150);
	assert_int_equal(lots[2].give_minor, 0);
	assert_int_equal(lots[0].returned_minor, 100);
	assert_int_equal(lots[1].returned_minor, 150);
	assert_int_equal(lots[2].returned_minor, 0);
	assert_int_equal(lots[1].taken_minor, 300);

	/* A second refund continues where the first stopped, capped per lot. */
	assert_true(refund_distribute(lots, 3, 170));
	assert_int_equal(lots[0].give_minor, 0);
	assert_int_equal(lots[1].give_minor, 150);
	assert_int_equal(lots[2].give_minor, 20);
	assert_int_equal(lots[1].returned_minor, 300);
	assert_int_equal(lots[2].returned_minor, 20);

	/* 30 remain; asking 31 changes nothing. */
	struct lot_return saved[3];
	memcpy(saved, lots, sizeof(saved));
	assert_false(refund_distribute(lots, 3, 31));
	assert_memory_equal(lots, saved, sizeof(saved));
	assert_false(refund_distribute(lots, 3, INT64_MAX));
	assert_memory_equal(lots, saved, sizeof(saved));

	assert_true(refund_distribute(lots, 3, 30));
	assert_int_equal(lots[0].give_minor, 0);
	assert_int_equal(lots[1].give_minor, 0);
	assert_int_equal(lots[2].give_minor, 30);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(lots[i].returned_minor, taken[i]);

	/* Everything returned: only zero fits. */
	assert_false(refund_distribute(lots, 3, 1));
	assert_true(refund_distribute(lots, 3, 0));
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(lots[i].give_minor, 0);
}

static void test_refund_distribute_partly_returned(void **state)
{
	(void)state;
	const money_t taken[] = {100, 300};
	const money_t returned[] = {100, 120};
	struct lot_return lots[2];
	returns_init(lots, taken, returned, 2);
	assert_true(refund_distribute(lots, 2, 180));
	assert_int_equal(lots[0].give_minor, 0);
	assert_int_equal(lots[1].give_minor, 180);
	assert_int_equal(lots[0].returned_minor, 100);
	assert_int_equal(lots[1].returned_minor, 300);

	returns_init(lots, taken, returned, 2);
	struct lot_return saved[2];
	memcpy(saved, lots, sizeof(saved));
	assert_false(refund_distribute(lots, 2, 181));
	assert_memory_equal(lots, saved, sizeof(saved));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_item_total),
	    cmocka_unit_test(test_accrual_base),
	    cmocka_unit_test(test_accrual),
	    cmocka_unit_test(test_spend_plan_exact),
	    cmocka_unit_test(test_spend_plan_across_lots),
	    cmocka_unit_test(test_spend_plan_insufficient),
	    cmocka_unit_test(test_share_thirds),
	    cmocka_unit_test(test_share_properties),
	    cmocka_unit_test(test_refund_distribute),
	    cmocka_unit_test(test_refund_distribute_partly_returned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
