/* Unit tests of core/util.c's pure helpers: utc_format_ms, http_date_format (and its inverse
 * http_date_parse, for If-Modified-Since), checked
 * against glibc's gmtime_r and strftime (which the logger and the Date header no longer call:
 * gmtime_r takes a process-wide lock); buf_printf and buf_put_int. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

static void expect_like_gmtime(int64_t ms)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	assert_non_null(gmtime_r(&secs, &tm));
	char want[64];
	snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ms - (int64_t)secs * 1000));
	char got[UTC_TEXT_BYTES];
	utc_format_ms(ms, got);
	if (strcmp(got, want) != 0)
		fail_msg("%lld ms: %s, gmtime_r says %s", (long long)ms, got, want);
	/* strftime in the C locale, as no setlocale call ever changes it here. */
	strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	char date[HTTP_DATE_BYTES];
	http_date_format((int64_t)secs, date);
	if (strcmp(date, want) != 0)
		fail_msg("%lld s: %s, strftime says %s", (long long)secs, date, want);
}

static void test_known_instants(void **state)
{
	(void)state;
	char out[UTC_TEXT_BYTES];
	utc_format_ms(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	utc_format_ms(951868799999, out);
	assert_string_equal(out, "2000-02-29T23:59:59.999Z");
	utc_format_ms(4107542400000, out);
	assert_string_equal(out, "2100-03-01T00:00:00.000Z");
	utc_format_ms(253402300799999, out);
	assert_string_equal(out, "9999-12-31T23:59:59.999Z");
	utc_format_ms(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	char date[HTTP_DATE_BYTES];
	http_date_format(784111777, date);
	assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
}

static void test_agrees_with_gmtime(void **state)
{
	(void)state;
	/* Every day boundary (and the millisecond before it) from 1900 to 2200, then a spread
	 * of instants up to year 9999. */
	for (int64_t day = -25567; day <= 84006; day++) {
		expect_like_gmtime(day * 86400000);
		expect_like_gmtime(day * 86400000 - 1);
	}
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		expect_like_gmtime((int64_t)(x % 253402300800000ull));
	}
}

/* utc_days_from_civil inverts utc_civil_from_days on every day from 1900 to 2200 (the
 * dashboard's month boundaries), and the first of a month follows the last of the one before. */
static void test_days_from_civil_inverts_civil_from_days(void **state)
{
	(void)state;
	assert_int_equal(utc_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(utc_days_from_civil(2000, 3, 1), 11017);
	for (int64_t day = -25567; day <= 84006; day++) {
		int64_t year;
		int month, mday;
		utc_civil_from_days(day, &year, &month, &mday);
		assert_int_equal(utc_days_from_civil(year, month, mday), day);
		if (mday == 1) {
			int64_t py;
			int pm, pd;
			utc_civil_from_days(day - 1, &py, &pm, &pd);
			assert_int_equal(py * 12 + pm + 1, year * 12 + month);
		}
	}
}

/* http_date_parse reads back what http_date_format writes, and refuses other text. */
static void test_http_date_parse(void **state)
{
	(void)state;
	int64_t secs = -1;
	assert_true(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &secs));
	assert_int_equal(secs, 784111777);
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int64_t t = (int64_t)(x % 253402300800ull);
		char date[HTTP_DATE_BYTES];
		http_date_format(t, date);
		assert_true(http_date_parse(date, &secs));
		assert_int_equal(secs, t);
	}
	const char *bad[] = {
	    NULL,
	    "",
	    "Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850: obsolete */
	    "Sun Nov  6 08:49:37 1994",	      /* asctime: obsolete */
	    "Sun, 06 Nov 1994 08:49:37 UTC",
	    "Sun, 06 Xyz 1994 08:49:37 GMT",
	    "Sun, 32 Nov 1994 08:49:37 GMT",
	    "Sun, 06 Nov 1994 24:49:37 GMT",
	    "Sun, 06 Nov 1994 08:49:3x GMT",
	    "Abc, 06 Nov 1994 08:49:37 GMT",
	    "Sun, 06 Nov 1994 08:49:37 GMT ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(http_date_parse(bad[i], &secs));
}

/* buf_printf formats into the room the buffer has and again into a larger buffer when the
 * text does not fit: every length around the buffer's first capacity (256) comes out whole,
 * after text already in the buffer, and an empty format leaves the buffer terminated. */
static void test_buf_printf_fills_and_grows(void **state)
{
	(void)state;
	char want[1200], zeros[600];
	memset(zeros, '0', sizeof(zeros));
	for (size_t before = 0; before < 300; before += 7) {
		for (int n = 0; n < 600; n += 13) {
			struct buf b;
			buf_init(&b);
			for (size_t i = 0; i < before; i++)
				buf_putc(&b, 'a');
			buf_printf(&b, "%.*s", n, zeros);
			buf_printf(&b, "%s", "");
			assert_int_equal(b.len, before + (size_t)n);
			memset(want, 'a', before);
			memset(want + before, '0', (size_t)n);
			want[before + (size_t)n] = '\0';
			assert_string_equal(b.data, want);
			buf_free(&b);
		}
	}
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%lld-%s", -9223372036854775807LL - 1, "x");
	assert_string_equal(b.data, "-9223372036854775808-x");
	buf_free(&b);
}

/* buf_put_int writes what "%lld" writes, at the ends of the range and around powers of ten. */
static void test_buf_put_int_as_printf(void **state)
{
	(void)state;
	long long values[] = {
	    0, 1, -1, 9, 10, -10, 99, 100, 1234567890123LL, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1};
	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
		char want[32];
		snprintf(want, sizeof(want), "x%lld", values[i]);
		struct buf b;
		buf_init(&b);
		buf_putc(&b, 'x');
		buf_put_int(&b, values[i]);
		assert_string_equal(b.data, want);
		assert_int_equal(b.len, strlen(want));
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_instants),
	    cmocka_unit_test(test_agrees_with_gmtime),
	    cmocka_unit_test(test_days_from_civil_inverts_civil_from_days),
	    cmocka_unit_test(test_http_date_parse),
	    cmocka_unit_test(test_buf_printf_fills_and_grows),
	    cmocka_unit_test(test_buf_put_int_as_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
