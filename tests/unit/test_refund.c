/* Unit tests of domain/refund: which sale line each item of a seed-form refund means (API.md
 * 3.3): by Id, else by name and price, else by a unique name; interchangeable lines; the
 * quantity that remains; precise failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "domain/refund.h"

#define Q(units) ((int64_t)(units)*1000)

static void test_name_equal(void **state)
{
	(void)state;
	assert_true(refund_name_equal("Капучино", "Капучино"));
	assert_true(refund_name_equal("  капучино\t", "КАПУЧИНО"));
	assert_true(refund_name_equal("Ёлка", "ёЛКА"));
	assert_true(refund_name_equal("Café Crème", "CAFÉ CRÈME"));
	assert_true(refund_name_equal("\xC2\xA0"
				      "Tea ",
				      "tea"));
	assert_true(refund_name_equal("", "   "));
	assert_true(refund_name_equal("ΑΒΓ", "αβγ"));
	assert_false(refund_name_equal("Tea", "Te a"));
	assert_false(refund_name_equal("Tea", "Teas"));
	assert_false(refund_name_equal("Ёлка", "Елка")); /* Ё is not Е */
	assert_false(refund_name_equal("×", "÷"));	 /* not letters: not folded */
	/* invalid UTF-8 compares byte for byte, never equal to a valid letter */
	assert_true(refund_name_equal("\xFF"
				      "a",
				      "\xFF"
				      "A"));
	assert_false(refund_name_equal("\xD0", "\xD0\x90"));
	assert_false(refund_name_equal("\xC3", "\xC3\xA0"));
}

static struct refund_line line(const char *id, const char *name, money_t price, int64_t left)
{
	struct refund_line l = {id, name, price, left};
	return l;
}

static struct refund_item item(const char *id, const char *name, money_t price, int64_t qty)
{
	struct refund_item i = {id, name, price, qty};
	return i;
}

static void expect_match(struct refund_line *lines, size_t n_lines, const struct refund_item *items,
			 size_t n_items, const size_t *want)
{
	size_t got[8];
	struct refund_match_error err;
	enum refund_match_rc rc = refund_match(lines, n_lines, items, n_items, got, &err);
	if (rc != REFUND_MATCH_OK)
		fail_msg("item %zu: rc %d (line %zu, other %zu)", err.item, (int)rc, err.line,
			 err.other_line);
	for (size_t i = 0; i < n_items; i++)
		assert_int_equal(got[i], want[i]);
}

static enum refund_match_rc expect_fail(struct refund_line *lines, size_t n_lines,
					const struct refund_item *items, size_t n_items,
					size_t bad_item, struct refund_match_error *err)
{
	size_t got[8];
	enum refund_match_rc rc = refund_match(lines, n_lines, items, n_items, got, err);
	assert_int_not_equal(rc, REFUND_MATCH_OK);
	assert_int_equal(err->item, bad_item);
	return rc;
}

static void test_by_id(void **state)
{
	(void)state;
	struct refund_line lines[] = {line("SKU-1", "Капучино", 1000, Q(1)),
				      line("SKU-2", "Капучино", 1000, Q(1))};
	/* same name and price: only the Id tells them apart */
	struct refund_item items[] = {item("SKU-2", "капучино", 1000, Q(1)),
				      item("SKU-1", "other name", 999, Q(1))};
	size_t want[] = {1, 0};
	expect_match(lines, 2, items, 2, want);
	assert_int_equal(lines[0].remaining_milli, 0);
	assert_int_equal(lines[1].remaining_milli, 0);
}

static void test_id_never_fits_another_id(void **state)
{
	(void)state;
	/* SKU-9 is on no line; the line with a product id SKU-1 is not a candidate by name */
	struct refund_line lines[] = {line("SKU-1", "Tea", 500, Q(1))};
	struct refund_item items[] = {item("SKU-9", "Tea", 500, Q(1))};
	struct refund_match_error err;
	assert_int_equal(expect_fail(lines, 1, items, 1, 0, &err), REFUND_MATCH_NONE);
	/* but a line without a product id is matched by name and price */
	struct refund_line lines2[] = {line("SKU-1", "Tea", 500, Q(1)),
				       line(NULL, "Tea", 500, Q(1))};
	size_t want[] = {1};
	expect_match(lines2, 2, items, 1, want);
}

static void test_by_name_and_price_then_name(void **state)
{
	(void)state;
	struct refund_line lines[] = {line(NULL, "Coffee", 1000, Q(2)),
				      line(NULL, "Coffee", 1200, Q(1)),
				      line(NULL, "Bun", 300, Q(3))};
	struct refund_item items[] = {
	    item(NULL, " COFFEE ", 1200, Q(1)), /* name and price: line 1 */
	    item(NULL, "bun", 250, Q(2)),	/* price differs, name unique: line 2 */
	    item("X-1", "coffee", 1000, Q(1)),	/* an Id no line has: name and price */
	};
	size_t want[] = {1, 2, 0};
	expect_match(lines, 3, items, 3, want);
	assert_int_equal(lines[2].remaining_milli, Q(1));
	assert_int_equal(lines[0].remaining_milli, Q(1));
}

static void test_ambiguous(void **state)
{
	(void)state;
	struct refund_match_error err;
	/* two coffees at other prices, refunded at a third price: which one? */
	struct refund_line lines[] = {line(NULL, "Coffee", 1000, Q(1)),
				      line(NULL, "Bun", 300, Q(1)),
				      line(NULL, "Coffee", 1200, Q(1))};
	struct refund_item items[] = {item(NULL, "Bun", 300, Q(1)),
				      item(NULL, "coffee", 1100, Q(1))};
	assert_int_equal(expect_fail(lines, 3, items, 2, 1, &err), REFUND_MATCH_AMBIGUOUS);
	assert_int_equal(err.by, REFUND_BY_NAME);
	assert_int_equal(err.line, 0);
	assert_int_equal(err.other_line, 2);

	/* same name and price but two different product ids, the item without an Id */
	struct refund_line lines2[] = {line("A", "Coffee", 1000, Q(1)),
				       line("B", "Coffee", 1000, Q(1))};
	struct refund_item items2[] = {item(NULL, "Coffee", 1000, Q(1))};
	assert_int_equal(expect_fail(lines2, 2, items2, 1, 0, &err), REFUND_MATCH_AMBIGUOUS);
	assert_int_equal(err.by, REFUND_BY_NAME_PRICE);
}

static void test_interchangeable_lines(void **state)
{
	(void)state;
	/* the same product scanned twice: two equal lines are one candidate; the quantity is
	 * taken from the first that has it */
	struct refund_line lines[] = {line("S", "Tea", 500, Q(1)), line("S", "tea ", 500, Q(2))};
	struct refund_item items[] = {item("S", "Tea", 500, Q(1)), item("S", "Tea", 500, Q(2)),
				      item(NULL, "TEA", 1, Q(0) + 1)};
	struct refund_match_error err;
	/* third item: name only, nothing left anywhere */
	assert_int_equal(expect_fail(lines, 2, items, 3, 2, &err), REFUND_MATCH_QUANTITY);
	assert_int_equal(err.remaining_milli, 0);

	struct refund_line again[] = {line("S", "Tea", 500, Q(1)), line("S", "tea ", 500, Q(2))};
	size_t want[] = {0, 1};
	expect_match(again, 2, items, 2, want);
}

static void test_id_narrowed_by_price_then_name(void **state)
{
	(void)state;
	/* one product id on lines of different prices (a discount on one of them) */
	struct refund_line lines[] = {line("S", "Tea", 500, Q(1)), line("S", "Tea", 400, Q(1)),
				      line("S", "Tea large", 400, Q(1))};
	struct refund_item items[] = {item("S", "Tea", 500, Q(1)), item("S", "tea", 400, Q(1))};
	size_t want[] = {0, 1};
	expect_match(lines, 3, items, 2, want);

	struct refund_match_error err;
	struct refund_line lines2[] = {line("S", "Tea", 500, Q(1)), line("S", "Tea", 400, Q(1))};
	struct refund_item items2[] = {item("S", "Tea", 300, Q(1))}; /* neither price */
	assert_int_equal(expect_fail(lines2, 2, items2, 1, 0, &err), REFUND_MATCH_AMBIGUOUS);
	assert_int_equal(err.by, REFUND_BY_ID);
}

static void test_quantity(void **state)
{
	(void)state;
	struct refund_match_error err;
	struct refund_line lines[] = {line(NULL, "Tea", 500, Q(2)), line(NULL, "Bun", 300, 500)};
	struct refund_item items[] = {item(NULL, "Bun", 300, 400), item(NULL, "Bun", 300, 200)};
	/* 0.4 of 0.5 taken by the first item; 0.1 remains for the second */
	assert_int_equal(expect_fail(lines, 2, items, 2, 1, &err), REFUND_MATCH_QUANTITY);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.remaining_milli, 100);

	struct refund_line lines2[] = {line(NULL, "Tea", 500, Q(2))};
	struct refund_item items2[] = {item(NULL, "Tea", 500, Q(3))};
	assert_int_equal(expect_fail(lines2, 1, items2, 1, 0, &err), REFUND_MATCH_QUANTITY);
	assert_int_equal(err.remaining_milli, Q(2));
}

static void test_unmatched(void **state)
{
	(void)state;
	struct refund_match_error err;
	struct refund_line lines[] = {line(NULL, "Tea", 500, Q(1))};
	struct refund_item items[] = {item(NULL, "Tea", 500, Q(1)), item(NULL, "Latte", 500, Q(1))};
	assert_int_equal(expect_fail(lines, 1, items, 2, 1, &err), REFUND_MATCH_NONE);
	/* no lines at all */
	assert_int_equal(expect_fail(lines, 0, items, 1, 0, &err), REFUND_MATCH_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_equal),
	    cmocka_unit_test(test_by_id),
	    cmocka_unit_test(test_id_never_fits_another_id),
	    cmocka_unit_test(test_by_name_and_price_then_name),
	    cmocka_unit_test(test_ambiguous),
	    cmocka_unit_test(test_interchangeable_lines),
	    cmocka_unit_test(test_id_narrowed_by_price_then_name),
	    cmocka_unit_test(test_quantity),
	    cmocka_unit_test(test_unmatched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
