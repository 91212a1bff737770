/* libFuzzer target: the exact decimal conversions of domain/money (fixed_parse of query text,
 * fixed_from_double and fixed_from_int of JSON numbers, fixed_format of answers, the rounding
 * multiplications) against their contracts: a value accepted is in range and prints back to
 * the same value; a double accepted is the nearest double of the decimal printed.
 *
 * Input: byte 0 chooses the digits (0..6) and the bound, the rest is decimal text; the first 8
 * bytes of the rest are also taken as a double and as an integer, and 24 as three int64. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/money.h"

static const int64_t bounds[] = {MONEY_MAX_MINOR, QTY_MAX_MILLI, INT64_MAX / 10, 10000, 0};

static void check_format(int64_t scaled, int digits)
{
	char text[FIXED_FMT_MAX];
	int n = fixed_format(scaled, digits, text);
	if (n <= 0 || n >= FIXED_FMT_MAX || (size_t)n != strlen(text))
		abort();
	int64_t back = 0;
	if (fixed_parse(text, digits, INT64_MAX, &back) != FIXED_OK || back != scaled)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 256)
		return 0;
	int digits = data[0] % 7;
	int64_t bound = bounds[(data[0] >> 3) % ARRAY_LEN(bounds)];
	const uint8_t *rest = data + 1;
	size_t n = size - 1;

	char *text = malloc(n + 1);
	memcpy(text, rest, n);
	text[n] = '\0';
	int64_t scaled = 0;
	enum fixed_rc rc = fixed_parse(text, digits, bound, &scaled);
	if (rc == FIXED_OK) {
		if (scaled > bound || scaled < -bound)
			abort();
		check_format(scaled, digits);
	}
	free(text);

	if (n >= 8) {
		double d;
		memcpy(&d, rest, sizeof(d));
		rc = fixed_from_double(d, digits, bound, &scaled);
		if (rc == FIXED_OK) {
			char printed[FIXED_FMT_MAX];
			fixed_format(scaled, digits, printed);
			if (scaled > bound || scaled < -bound || strtod(printed, NULL) != d)
				abort();
			check_format(scaled, digits);
		} else if (rc != FIXED_ERR_PRECISION && rc != FIXED_ERR_RANGE) {
			abort();
		}
		long long v;
		memcpy(&v, rest, sizeof(v));
		rc = fixed_from_int(v, digits, bound, &scaled);
		if (rc == FIXED_OK) {
			static const int64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
			if ((__int128)v * pow10[digits] != scaled || scaled > bound ||
			    scaled < -bound)
				abort();
			check_format(scaled, digits);
		} else if (rc != FIXED_ERR_RANGE) {
			abort();
		}
	}
	if (n >= 24) {
		int64_t value, num, den;
		memcpy(&value, rest, 8);
		memcpy(&num, rest + 8, 8);
		memcpy(&den, rest + 16, 8);
		if (den <= 0)
			return 0;
		/* Only where the exact result fits: the contract promises no overflow inside. */
		__int128 product = (__int128)value * num;
		__int128 floor_q = product / den;
		if (value >= 0 && num >= 0 && floor_q <= INT64_MAX &&
		    fixed_mul_div_floor(value, num, den) != (int64_t)floor_q)
			abort();
		__int128 q = product / den, r = product % den;
		if (2 * (r < 0 ? -r : r) >= den)
			q += product < 0 ? -1 : 1;
		if (q <= INT64_MAX && q >= INT64_MIN &&
		    fixed_mul_div_round(value, num, den) != (int64_t)q)
			abort();
	}
	return 0;
}
