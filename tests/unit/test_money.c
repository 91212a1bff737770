/* Unit tests of domain/money: a JSON number or decimal text becomes exactly the scaled integer
 * a person means, or is refused; and the scaled integer prints back as that same decimal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"

static void expect_double(double value, int digits, int64_t max, int64_t want)
{
	int64_t got = -12345;
	enum fixed_rc rc = fixed_from_double(value, digits, max, &got);
	if (rc != FIXED_OK)
		fail_msg("%.17g digits=%d: rc %d, want OK %lld", value, digits, rc,
			 (long long)want);
	assert_int_equal(got, want);
}

static void expect_double_rc(double value, int digits, int64_t max, enum fixed_rc want)
{
	int64_t got = -12345;
	enum fixed_rc rc = fixed_from_double(value, digits, max, &got);
	if (rc != want)
		fail_msg("%.17g digits=%d: rc %d, want %d", value, digits, rc, want);
	assert_int_equal(got, -12345); /* out untouched on failure */
}

static void test_from_double_exact_money(void **state)
{
	(void)state;
	expect_double(0.1, 2, MONEY_MAX_MINOR, 10);
	expect_double(0.29, 2, MONEY_MAX_MINOR, 29); /* 0.29 * 100 = 28.999999999999996 */
	expect_double(1234.56, 2, MONEY_MAX_MINOR, 123456);
	expect_double(100.5, 2, MONEY_MAX_MINOR, 10050);
	expect_double(10, 2, MONEY_MAX_MINOR, 1000);
	expect_double(0, 2, MONEY_MAX_MINOR, 0);
	expect_double(-0.0, 2, MONEY_MAX_MINOR, 0);
	expect_double(0.01, 2, MONEY_MAX_MINOR, 1);
	expect_double(1.15, 2, MONEY_MAX_MINOR, 115);
	expect_double(4.35, 2, MONEY_MAX_MINOR, 435);
	expect_double(0.07, 2, MONEY_MAX_MINOR, 7);
	expect_double(-12.34, 2, MONEY_MAX_MINOR, -1234);
	expect_double(-0.05, 2, MONEY_MAX_MINOR, -5);
	expect_double(999999999999.99, 2, MONEY_MAX_MINOR, 99999999999999);
	expect_double(1e12, 2, MONEY_MAX_MINOR, MONEY_MAX_MINOR);
	expect_double(-1e12, 2, MONEY_MAX_MINOR, -MONEY_MAX_MINOR);
}

static void test_from_double_too_precise(void **state)
{
	(void)state;
	expect_double_rc(0.1 + 0.2, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_double_rc(0.30000000000000004, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_double_rc(0.125, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_double_rc(0.001, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_double_rc(1.005, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_double_rc(-0.125, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_double_rc(1e-300, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_double_rc(0.5, 0, 1000, FIXED_ERR_PRECISION);
	/* Just inside the range but with a third fraction digit. */
	expect_double_rc(999999999999.995, 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
}

static void test_from_double_range(void **state)
{
	(void)state;
	expect_double_rc(1e12 + 0.01, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(-1e12 - 0.01, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(1e13, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(1e300, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(-1e300, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(9.3e18, 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_double_rc(0x1p63, 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_double_rc(-0x1p63, 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_double_rc(NAN, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(-NAN, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(INFINITY, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(-INFINITY, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_double_rc(1.01, 2, 100, FIXED_ERR_RANGE);
	expect_double(1.00, 2, 100, 100);
	expect_double(-1.00, 2, 100, -100);
}

static void test_from_double_quantity(void **state)
{
	(void)state;
	expect_double(1.5, QTY_DIGITS, QTY_MAX_MILLI, 1500);
	expect_double(0.001, QTY_DIGITS, QTY_MAX_MILLI, 1);
	expect_double(0.125, QTY_DIGITS, QTY_MAX_MILLI, 125);
	expect_double(2.675, QTY_DIGITS, QTY_MAX_MILLI, 2675);
	expect_double(1e9, QTY_DIGITS, QTY_MAX_MILLI, QTY_MAX_MILLI);
	expect_double(999999999.999, QTY_DIGITS, QTY_MAX_MILLI, QTY_MAX_MILLI - 1);
	expect_double_rc(0.0005, QTY_DIGITS, QTY_MAX_MILLI, FIXED_ERR_PRECISION);
	expect_double_rc(1.2345, QTY_DIGITS, QTY_MAX_MILLI, FIXED_ERR_PRECISION);
	expect_double_rc(1e9 + 0.001, QTY_DIGITS, QTY_MAX_MILLI, FIXED_ERR_RANGE);
}

/* Every cent value in a few ranges parses from the double nearest its decimal text. */
static void test_from_double_every_cent(void **state)
{
	(void)state;
	static const int64_t starts[] = {0, 99900, 123456700, 99999999990000LL};
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		for (int64_t minor = starts[s]; minor < starts[s] + 10000; minor++) {
			char text[FIXED_FMT_MAX];
			fixed_format(minor, 2, text);
			expect_double(strtod(text, NULL), 2, MONEY_MAX_MINOR, minor);
			expect_double(-strtod(text, NULL), 2, MONEY_MAX_MINOR, -minor);
		}
	}
}

static void test_from_int(void **state)
{
	(void)state;
	int64_t got = -1;
	assert_int_equal(fixed_from_int(10, 2, MONEY_MAX_MINOR, &got), FIXED_OK);
	assert_int_equal(got, 1000);
	assert_int_equal(fixed_from_int(-7, 2, MONEY_MAX_MINOR, &got), FIXED_OK);
	assert_int_equal(got, -700);
	assert_int_equal(fixed_from_int(0, 3, QTY_MAX_MILLI, &got), FIXED_OK);
	assert_int_equal(got, 0);
	assert_int_equal(fixed_from_int(1000000000000LL, 2, MONEY_MAX_MINOR, &got), FIXED_OK);
	assert_int_equal(got, MONEY_MAX_MINOR);
	assert_int_equal(fixed_from_int(-1000000000000LL, 2, MONEY_MAX_MINOR, &got), FIXED_OK);
	assert_int_equal(got, -MONEY_MAX_MINOR);
	assert_int_equal(fixed_from_int(1000000000, 3, QTY_MAX_MILLI, &got), FIXED_OK);
	assert_int_equal(got, QTY_MAX_MILLI);

	got = -1;
	assert_int_equal(fixed_from_int(1000000000001LL, 2, MONEY_MAX_MINOR, &got),
			 FIXED_ERR_RANGE);
	assert_int_equal(fixed_from_int(LLONG_MAX, 2, MONEY_MAX_MINOR, &got), FIXED_ERR_RANGE);
	assert_int_equal(fixed_from_int(LLONG_MIN, 2, MONEY_MAX_MINOR, &got), FIXED_ERR_RANGE);
	assert_int_equal(fixed_from_int(LLONG_MAX, 6, INT64_MAX, &got), FIXED_ERR_RANGE);
	assert_int_equal(fixed_from_int(LLONG_MIN, 6, INT64_MAX, &got), FIXED_ERR_RANGE);
	/* LLONG_MAX / 100 * 100 fits, one more does not; the wrapped product would. */
	assert_int_equal(fixed_from_int(LLONG_MAX / 100 + 1, 2, INT64_MAX, &got), FIXED_ERR_RANGE);
	assert_int_equal(fixed_from_int(LLONG_MIN / 10 - 1, 1, INT64_MAX, &got), FIXED_ERR_RANGE);
	assert_int_equal(got, -1);
	assert_int_equal(fixed_from_int(LLONG_MAX / 100, 2, INT64_MAX, &got), FIXED_OK);
	assert_int_equal(got, LLONG_MAX / 100 * 100);
	assert_int_equal(fixed_from_int(LLONG_MAX, 0, INT64_MAX, &got), FIXED_OK);
	assert_int_equal(got, LLONG_MAX);
	/* |LLONG_MIN| is one past INT64_MAX: out of the symmetric range. */
	assert_int_equal(fixed_from_int(LLONG_MIN, 0, INT64_MAX, &got), FIXED_ERR_RANGE);
	assert_int_equal(fixed_from_int(LLONG_MIN + 1, 0, INT64_MAX, &got), FIXED_OK);
	assert_int_equal(got, LLONG_MIN + 1);
}

static void expect_parse(const char *text, int digits, int64_t max, int64_t want)
{
	int64_t got = -12345;
	enum fixed_rc rc = fixed_parse(text, digits, max, &got);
	if (rc != FIXED_OK)
		fail_msg("\"%s\" digits=%d: rc %d, want OK", text, digits, rc);
	assert_int_equal(got, want);
}

static void expect_parse_rc(const char *text, int digits, int64_t max, enum fixed_rc want)
{
	int64_t got = -12345;
	enum fixed_rc rc = fixed_parse(text, digits, max, &got);
	if (rc != want)
		fail_msg("\"%s\" digits=%d: rc %d, want %d", text, digits, rc, want);
	assert_int_equal(got, -12345);
}

static void test_parse_valid(void **state)
{
	(void)state;
	expect_parse("0", 2, MONEY_MAX_MINOR, 0);
	expect_parse("-0", 2, MONEY_MAX_MINOR, 0);
	expect_parse("12", 2, MONEY_MAX_MINOR, 1200);
	expect_parse("-12", 2, MONEY_MAX_MINOR, -1200);
	expect_parse("12.5", 2, MONEY_MAX_MINOR, 1250);
	expect_parse("0.05", 2, MONEY_MAX_MINOR, 5);
	expect_parse("-0.05", 2, MONEY_MAX_MINOR, -5);
	expect_parse("1234.56", 2, MONEY_MAX_MINOR, 123456);
	expect_parse("0.1", 2, MONEY_MAX_MINOR, 10);
	expect_parse("0.29", 2, MONEY_MAX_MINOR, 29);
	expect_parse("007.10", 2, MONEY_MAX_MINOR, 710);
	/* Extra fraction digits that are all zero say nothing more. */
	expect_parse("1.500", 2, MONEY_MAX_MINOR, 150);
	expect_parse("1.2300000000000000000000000", 2, MONEY_MAX_MINOR, 123);
	expect_parse("3.0", 0, 100, 3);
	expect_parse("1000000000000", 2, MONEY_MAX_MINOR, MONEY_MAX_MINOR);
	expect_parse("-1000000000000.00", 2, MONEY_MAX_MINOR, -MONEY_MAX_MINOR);
	expect_parse("1.125", QTY_DIGITS, QTY_MAX_MILLI, 1125);
	expect_parse("0.001", QTY_DIGITS, QTY_MAX_MILLI, 1);
	expect_parse("9223372036854775807", 0, INT64_MAX, INT64_MAX);
	expect_parse("-9223372036854775807", 0, INT64_MAX, -INT64_MAX);
	expect_parse("922337203685477580", 0, INT64_MAX / 10, INT64_MAX / 10);
	expect_parse("00000000000000000000000000042", 0, 100, 42);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static const char *garbage[] = {
	    "",		"-",	"1.",  ".5",  "1e5",  "+1",  " 1",  "1 ",   "1.2.3", "--1",
	    "-.5",	"1,5",	"0x1", "abc", "1a",   "NaN", "inf", "-inf", "1.-2",  "1e-2",
	    "\xd9\xa1", "1.5 ", ".",   "-1.", "1..2", "\t1", "12-", "1.5e", "1/2",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		expect_parse_rc(garbage[i], 2, MONEY_MAX_MINOR, FIXED_ERR_SYNTAX);

	expect_parse_rc("0.125", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_parse_rc("0.001", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_parse_rc("1.0000000000000000000001", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_parse_rc("0.30000000000000004", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_parse_rc("1.5", 0, 100, FIXED_ERR_PRECISION);
	expect_parse_rc("1.0005", QTY_DIGITS, QTY_MAX_MILLI, FIXED_ERR_PRECISION);

	expect_parse_rc("1000000000000.01", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_parse_rc("-1000000000000.01", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_parse_rc("10000000000000", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_parse_rc("12345678901234567890", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_parse_rc("-12345678901234567890", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_parse_rc("99999999999999999999", 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_parse_rc("9223372036854775808", 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_parse_rc("-9223372036854775808", 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_parse_rc("18446744073709551616", 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_parse_rc("9223372036854775807", 6, INT64_MAX, FIXED_ERR_RANGE);
	expect_parse_rc("922337203685477581", 0, INT64_MAX / 10, FIXED_ERR_RANGE);
	/* A very long number must not wrap around into range. */
	char long_number[200];
	memset(long_number, '9', sizeof(long_number) - 1);
	long_number[sizeof(long_number) - 1] = '\0';
	expect_parse_rc(long_number, 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	memset(long_number, '0', sizeof(long_number) - 1);
	long_number[sizeof(long_number) - 2] = '7';
	expect_parse(long_number, 2, MONEY_MAX_MINOR, 700);
	/* Bad syntax after a huge number is still a syntax error. */
	expect_parse_rc("123456789012345678901234567890x", 2, MONEY_MAX_MINOR, FIXED_ERR_SYNTAX);
}

static void expect_format(int64_t scaled, int digits, const char *want)
{
	char buf[FIXED_FMT_MAX];
	memset(buf, 'X', sizeof(buf));
	int len = fixed_format(scaled, digits, buf);
	assert_string_equal(buf, want);
	assert_int_equal(len, (int)strlen(want));
}

static void test_format(void **state)
{
	(void)state;
	expect_format(123456, 2, "1234.56");
	expect_format(10050, 2, "100.5");
	expect_format(1000, 2, "10");
	expect_format(-5, 2, "-0.05");
	expect_format(0, 2, "0");
	expect_format(1, 2, "0.01");
	expect_format(10, 2, "0.1");
	expect_format(-100, 2, "-1");
	expect_format(1, 3, "0.001");
	expect_format(1500, 3, "1.5");
	expect_format(1020, 3, "1.02");
	expect_format(42, 0, "42");
	expect_format(-42, 0, "-42");
	expect_format(1, 6, "0.000001");
	expect_format(MONEY_MAX_MINOR, 2, "1000000000000");
	expect_format(INT64_MAX, 2, "92233720368547758.07");
	expect_format(INT64_MIN, 2, "-92233720368547758.08");
	expect_format(INT64_MIN, 0, "-9223372036854775808");
	expect_format(INT64_MIN, 6, "-9223372036854.775808");
	expect_format(INT64_MIN + 8, 6, "-9223372036854.7758");
}

/* The printf-based formatter fixed_format replaced, kept here as the reference. */
static void reference_format(int64_t scaled, int digits, char *out)
{
	static const uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	uint64_t magnitude = scaled < 0 ? 0 - (uint64_t)scaled : (uint64_t)scaled;
	uint64_t whole = magnitude / pow10[digits], frac = magnitude % pow10[digits];
	int len = snprintf(out, FIXED_FMT_MAX, "%s%llu", scaled < 0 ? "-" : "",
			   (unsigned long long)whole);
	if (frac == 0)
		return;
	int frac_digits = digits;
	while (frac % 10 == 0) {
		frac /= 10;
		frac_digits--;
	}
	snprintf(out + len, (size_t)(FIXED_FMT_MAX - len), ".%0*llu", frac_digits,
		 (unsigned long long)frac);
}

/* The hand-written formatter prints exactly what printf did: every digit-pair boundary, the
 * extremes, and a million pseudo-random values of every magnitude, for digits 0..6. */
static void test_format_matches_printf(void **state)
{
	(void)state;
	expect_format(INT64_MAX, 0, "9223372036854775807");
	expect_format(0, 0, "0");
	expect_format(-123456, 2, "-1234.56");
	expect_format(-10050, 2, "-100.5");
	expect_format(99, 0, "99");
	expect_format(100, 0, "100");
	expect_format(-9, 0, "-9");
	expect_format(1099, 2, "10.99");
	expect_format(100001, 2, "1000.01");
	char got[FIXED_FMT_MAX], want[FIXED_FMT_MAX];
	static const int64_t edges[] = {0,
					1,
					9,
					10,
					11,
					99,
					100,
					101,
					999,
					1000,
					9999,
					10000,
					99999,
					100000,
					999999,
					1000000,
					INT64_MAX,
					INT64_MIN,
					INT64_MAX - 1,
					INT64_MIN + 1,
					MONEY_MAX_MINOR};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int digits = 0; digits <= 6; digits++) {
		for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
			for (int sign = -1; sign <= 1; sign += 2) {
				int64_t v =
				    sign < 0 && edges[i] != INT64_MIN ? -edges[i] : edges[i];
				int len = fixed_format(v, digits, got);
				reference_format(v, digits, want);
				assert_string_equal(got, want);
				assert_int_equal(len, (int)strlen(want));
			}
		}
		for (int i = 0; i < 150000; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			/* Shift to spread the magnitudes over 1 to 19 digits. */
			int64_t v = (int64_t)(x >> (x % 61));
			if (x & 1)
				v = -v;
			int len = fixed_format(v, digits, got);
			reference_format(v, digits, want);
			if (strcmp(got, want) != 0)
				fail_msg("%lld digits=%d: got %s, want %s", (long long)v, digits,
					 got, want);
			assert_int_equal(len, (int)strlen(want));
		}
	}
}

/* format then parse gives the value back, and the text is what a double would parse to. */
static void test_format_round_trip(void **state)
{
	(void)state;
	for (int digits = 0; digits <= 3; digits++) {
		for (int64_t v = -30000; v <= 30000; v += 7) {
			char buf[FIXED_FMT_MAX];
			fixed_format(v, digits, buf);
			int64_t back = 0;
			assert_int_equal(fixed_parse(buf, digits, INT64_MAX, &back), FIXED_OK);
			assert_int_equal(back, v);
			/* No trailing fraction zero and no bare point. */
			size_t len = strlen(buf);
			if (strchr(buf, '.'))
				assert_true(buf[len - 1] != '0' && buf[len - 1] != '.');
			assert_int_equal(
			    fixed_from_double(strtod(buf, NULL), digits, INT64_MAX, &back),
			    FIXED_OK);
			assert_int_equal(back, v);
		}
	}
	static const int64_t edges[] = {
	    INT64_MAX, INT64_MIN + 1, MONEY_MAX_MINOR, -MONEY_MAX_MINOR, 99999999999999LL, 1, -1};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		for (int digits = 0; digits <= 6; digits++) {
			char buf[FIXED_FMT_MAX];
			int64_t back = 0;
			fixed_format(edges[i], digits, buf);
			assert_int_equal(fixed_parse(buf, digits, INT64_MAX, &back), FIXED_OK);
			assert_int_equal(back, edges[i]);
		}
	}
}

static void test_mul_div(void **state)
{
	(void)state;
	assert_int_equal(fixed_mul_div_round(1, 500, 1000), 1); /* 0.5 up */
	assert_int_equal(fixed_mul_div_round(1, 499, 1000), 0);
	assert_int_equal(fixed_mul_div_round(-1, 500, 1000), -1); /* away from zero */
	assert_int_equal(fixed_mul_div_round(-1, 499, 1000), 0);
	assert_int_equal(fixed_mul_div_round(7, 1, 2), 4);
	assert_int_equal(fixed_mul_div_round(-7, 1, 2), -4);
	assert_int_equal(fixed_mul_div_round(10, 1, 3), 3);
	assert_int_equal(fixed_mul_div_round(20, 1, 3), 7);
	assert_int_equal(fixed_mul_div_round(0, 5, 7), 0);
	/* The product overflows 64 bits, the result does not. */
	assert_int_equal(fixed_mul_div_round(INT64_MAX, INT64_MAX, INT64_MAX), INT64_MAX);
	assert_int_equal(fixed_mul_div_round(MONEY_MAX_MINOR, QTY_MAX_MILLI, QTY_MAX_MILLI),
			 MONEY_MAX_MINOR);
	assert_int_equal(fixed_mul_div_round(INT64_MAX, 3, 6), INT64_MAX / 2 + 1);

	assert_int_equal(fixed_mul_div_floor(9999, 500, 10000), 499);
	assert_int_equal(fixed_mul_div_floor(1, 999, 1000), 0);
	assert_int_equal(fixed_mul_div_floor(100, 1, 3), 33);
	assert_int_equal(fixed_mul_div_floor(100, 2, 3), 66);
	assert_int_equal(fixed_mul_div_floor(100, 3, 3), 100);
	assert_int_equal(fixed_mul_div_floor(INT64_MAX, INT64_MAX - 1, INT64_MAX), INT64_MAX - 1);
	assert_int_equal(fixed_mul_div_floor(0, 0, 1), 0);
}

/* fixed_parse_json: a JSON number token read exactly, never through a double. */
static void expect_json(const char *text, int digits, int64_t max, int64_t want)
{
	int64_t got = -12345;
	enum fixed_rc rc = fixed_parse_json(text, strlen(text), digits, max, &got);
	if (rc != FIXED_OK)
		fail_msg("\"%s\" digits=%d: rc %d, want OK %lld", text, digits, rc,
			 (long long)want);
	assert_int_equal(got, want);
}

static void expect_json_rc(const char *text, int digits, int64_t max, enum fixed_rc want)
{
	int64_t got = -12345;
	enum fixed_rc rc = fixed_parse_json(text, strlen(text), digits, max, &got);
	if (rc != want)
		fail_msg("\"%s\" digits=%d: rc %d, want %d", text, digits, rc, want);
	assert_int_equal(got, -12345);
}

static void test_parse_json_valid(void **state)
{
	(void)state;
	expect_json("0", 2, MONEY_MAX_MINOR, 0);
	expect_json("-0", 2, MONEY_MAX_MINOR, 0);
	expect_json("10.10", 2, MONEY_MAX_MINOR, 1010);
	expect_json("100.50", 2, MONEY_MAX_MINOR, 10050);
	expect_json("0.29", 2, MONEY_MAX_MINOR, 29);
	expect_json("-12.5", 2, MONEY_MAX_MINOR, -1250);
	expect_json("1e1", 2, MONEY_MAX_MINOR, 1000);
	expect_json("1E2", 2, MONEY_MAX_MINOR, 10000);
	expect_json("1e+2", 2, MONEY_MAX_MINOR, 10000);
	expect_json("125e-2", 2, MONEY_MAX_MINOR, 125);
	expect_json("1.5e-2", 3, QTY_MAX_MILLI, 15);
	expect_json("0.001e3", 2, MONEY_MAX_MINOR, 100);
	expect_json("1.00000000000000000000000000", 2, MONEY_MAX_MINOR, 100);
	expect_json("0e999999999999999999999", 2, MONEY_MAX_MINOR, 0);
	expect_json("0.000e-999999", 2, MONEY_MAX_MINOR, 0);
	expect_json("1000000000000", 2, MONEY_MAX_MINOR, MONEY_MAX_MINOR);
	expect_json("1e12", 2, MONEY_MAX_MINOR, MONEY_MAX_MINOR);
	expect_json("-1e12", 2, MONEY_MAX_MINOR, -MONEY_MAX_MINOR);
	expect_json("999999999999.99", 2, MONEY_MAX_MINOR, MONEY_MAX_MINOR - 1);
	expect_json("1.234", 3, QTY_MAX_MILLI, 1234);
	expect_json("0.123456", 6, INT64_MAX, 123456);
	expect_json("9223372036854775807", 0, INT64_MAX, INT64_MAX);
	expect_json("-9223372036854775807", 0, INT64_MAX, -INT64_MAX);
	expect_json("922337203685477580.7e1", 0, INT64_MAX, INT64_MAX);
}

static void test_parse_json_rejects(void **state)
{
	(void)state;
	/* More digits than a double holds: the case a double silently rounded to 1. */
	expect_json_rc("1.0000000000000000001", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("0.1000000000000000000001", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("99.99000000000000000000001", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("10.001", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("1.0001", 3, QTY_MAX_MILLI, FIXED_ERR_PRECISION);
	expect_json_rc("1E-400", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("-1e-300", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("1e-3", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("5e-1", 0, 10, FIXED_ERR_PRECISION);
	/* Range before precision, as fixed_parse. */
	expect_json_rc("1000000000000.01", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_json_rc("1000000000000.011", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_json_rc("1000000000000.001", 2, MONEY_MAX_MINOR, FIXED_ERR_PRECISION);
	expect_json_rc("1e300", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_json_rc("-1e300", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_json_rc("1e999999999999999999999999", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_json_rc("123456789012345678901234567890", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	expect_json_rc("9223372036854775808", 0, INT64_MAX, FIXED_ERR_RANGE);
	expect_json_rc("12345678901234567890.5", 2, MONEY_MAX_MINOR, FIXED_ERR_RANGE);
	/* Not the JSON number grammar. */
	const char *syntax[] = {"",	 "-",	"+1",	"01",	    "1.",    ".5",
				"1e",	 "1e+", "1.e2", "0x10",	    "1 ",    " 1",
				"1.5.5", "--1", "NaN",	"Infinity", "1e2.5", "1,5"};
	for (size_t i = 0; i < sizeof(syntax) / sizeof(*syntax); i++)
		expect_json_rc(syntax[i], 2, MONEY_MAX_MINOR, FIXED_ERR_SYNTAX);
	/* The length is explicit: a token inside a longer text ends where len says. */
	int64_t got = 0;
	assert_int_equal(fixed_parse_json("12.5}", 4, 2, MONEY_MAX_MINOR, &got), FIXED_OK);
	assert_int_equal(got, 1250);
	assert_int_equal(fixed_parse_json(NULL, 0, 2, MONEY_MAX_MINOR, &got), FIXED_ERR_SYNTAX);
}

/* For plain decimals fixed_parse_json and fixed_parse agree, and for up to 15 significant
 * digits the double path agrees too. */
static void test_parse_json_agrees(void **state)
{
	(void)state;
	srand(12);
	for (int round = 0; round < 20000; round++) {
		char text[64];
		int digits = rand() % 4;
		long long whole = rand() % 1000000;
		int frac_len = rand() % 5;
		int n = snprintf(text, sizeof(text), "%s%lld", rand() % 4 == 0 ? "-" : "", whole);
		if (frac_len > 0) {
			text[n++] = '.';
			for (int i = 0; i < frac_len; i++)
				text[n++] = (char)('0' + rand() % 10);
			text[n] = '\0';
		}
		int64_t a = 0, b = 0, d = 0;
		enum fixed_rc ra =
		    fixed_parse_json(text, strlen(text), digits, MONEY_MAX_MINOR, &a);
		enum fixed_rc rb = fixed_parse(text, digits, MONEY_MAX_MINOR, &b);
		enum fixed_rc rd =
		    fixed_from_double(strtod(text, NULL), digits, MONEY_MAX_MINOR, &d);
		if (ra != rb || ra != rd || (ra == FIXED_OK && (a != b || a != d)))
			fail_msg("\"%s\" digits=%d: json %d/%lld parse %d/%lld double %d/%lld",
				 text, digits, ra, (long long)a, rb, (long long)b, rd,
				 (long long)d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_double_exact_money),
	    cmocka_unit_test(test_from_double_too_precise),
	    cmocka_unit_test(test_from_double_range),
	    cmocka_unit_test(test_from_double_quantity),
	    cmocka_unit_test(test_from_double_every_cent),
	    cmocka_unit_test(test_from_int),
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_parse_json_valid),
	    cmocka_unit_test(test_parse_json_rejects),
	    cmocka_unit_test(test_parse_json_agrees),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_format_matches_printf),
	    cmocka_unit_test(test_mul_div),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
