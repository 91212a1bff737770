/* Exact decimal conversions between JSON numbers, text and scaled integers; the only place a
 * binary float is looked at, and only to prove which decimal it stands for. */
#include "domain/money.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FIXED_DIGITS_MAX 6

static const int64_t fixed_pow10[FIXED_DIGITS_MAX + 1] = {
	1, 10, 100, 1000, 10000, 100000, 1000000,
};

static int64_t fixed_scale(int digits)
{
	assert(digits >= 0 && digits <= FIXED_DIGITS_MAX);
	return fixed_pow10[digits];
}

/* |scaled| <= max_scaled without negating INT64_MIN. */
static bool fixed_in_range(__int128 scaled, int64_t max_scaled)
{
	return scaled <= max_scaled && scaled >= -(__int128)max_scaled;
}

enum fixed_rc fixed_from_double(double value, int digits, int64_t max_scaled, int64_t *out)
{
	int64_t scale = fixed_scale(digits);
	if (!isfinite(value))
		return FIXED_ERR_RANGE;
	/* Bound the magnitude before llround: it is undefined past the range of long long. 2^63
	 * is exact in a double and every double below it rounds to a representable integer. */
	double scaled_d = value * (double)scale;
	if (!(fabs(scaled_d) < 0x1p63))
		return FIXED_ERR_RANGE;
	long long candidate = llround(scaled_d);
	if (!fixed_in_range(candidate, max_scaled))
		return FIXED_ERR_RANGE;
	/* The candidate is the decimal meant only when that decimal's nearest double is value;
	 * a double carrying more fraction digits (0.125, 0.30000000000000004) fails here. */
	char text[FIXED_FMT_MAX];
	fixed_format(candidate, digits, text);
	if (strtod(text, NULL) != value)
		return FIXED_ERR_PRECISION;
	*out = candidate;
	return FIXED_OK;
}

enum fixed_rc fixed_from_int(long long value, int digits, int64_t max_scaled, int64_t *out)
{
	__int128 scaled = (__int128)value * fixed_scale(digits);
	if (!fixed_in_range(scaled, max_scaled))
		return FIXED_ERR_RANGE;
	*out = (int64_t)scaled;
	return FIXED_OK;
}

static bool fixed_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

enum fixed_rc fixed_parse(const char *text, int digits, int64_t max_scaled, int64_t *out)
{
	int64_t scale = fixed_scale(digits);
	if (!text)
		return FIXED_ERR_SYNTAX;
	const char *p = text;
	bool negative = *p == '-';
	if (negative)
		p++;
	if (!fixed_is_digit(*p))
		return FIXED_ERR_SYNTAX;

	/* Once the integer part passes INT64_MAX it is out of every range; stop growing it so
	 * 128 bits always suffice (INT64_MAX * 10 + 9 times 10^6 is far below 2^127). */
	__int128 whole = 0;
	bool huge = false;
	for (; fixed_is_digit(*p); p++) {
		if (whole > INT64_MAX)
			huge = true;
		else
			whole = whole * 10 + (*p - '0');
	}

	int64_t frac = 0;
	int frac_digits = 0;
	bool extra_nonzero = false;
	if (*p == '.') {
		p++;
		if (!fixed_is_digit(*p))
			return FIXED_ERR_SYNTAX;
		for (; fixed_is_digit(*p); p++, frac_digits++) {
			if (frac_digits < digits)
				frac = frac * 10 + (*p - '0');
			else if (*p != '0')
				extra_nonzero = true;
		}
	}
	if (*p != '\0')
		return FIXED_ERR_SYNTAX;

	for (int i = frac_digits; i < digits; i++)
		frac *= 10;
	__int128 scaled = whole * scale + frac;
	if (negative)
		scaled = -scaled;
	if (huge || !fixed_in_range(scaled, max_scaled))
		return FIXED_ERR_RANGE;
	if (extra_nonzero)
		return FIXED_ERR_PRECISION;
	*out = (int64_t)scaled;
	return FIXED_OK;
}

int fixed_format(int64_t scaled, int digits, char *buf)
{
	int64_t scale = fixed_scale(digits);
	/* Work on the unsigned magnitude so INT64_MIN needs no negation in signed arithmetic. */
	uint64_t magnitude = scaled < 0 ? 0 - (uint64_t)scaled : (uint64_t)scaled;
	uint64_t whole = magnitude / (uint64_t)scale;
	uint64_t frac = magnitude % (uint64_t)scale;
	int len = snprintf(buf, FIXED_FMT_MAX, "%s%llu", scaled < 0 ? "-" : "",
			   (unsigned long long)whole);
	if (frac == 0)
		return len;
	int frac_digits = digits;
	while (frac % 10 == 0) {
		frac /= 10;
		frac_digits--;
	}
	len += snprintf(buf + len, (size_t)(FIXED_FMT_MAX - len), ".%0*llu", frac_digits,
			(unsigned long long)frac);
	return len;
}

/* Saturates a 128-bit result into int64_t; callers stay far inside, this only keeps a hostile
 * input from wrapping around. */
static int64_t fixed_clamp(__int128 v)
{
	if (v > INT64_MAX)
		return INT64_MAX;
	if (v < INT64_MIN)
		return INT64_MIN;
	return (int64_t)v;
}

int64_t fixed_mul_div_round(int64_t value, int64_t num, int64_t den)
{
	assert(den > 0);
	__int128 product = (__int128)value * num;
	__int128 quotient = product / den;
	__int128 remainder = product % den; /* same sign as product */
	if (remainder < 0)
		remainder = -remainder;
	if (2 * remainder >= den)
		quotient += product < 0 ? -1 : 1;
	return fixed_clamp(quotient);
}

int64_t fixed_mul_div_floor(int64_t value, int64_t num, int64_t den)
{
	assert(den > 0);
	__int128 product = (__int128)value * num;
	__int128 quotient = product / den;
	/* Division truncates toward zero; step down for a negative product with a remainder. */
	if (product % den != 0 && product < 0)
		quotient -= 1;
	return fixed_clamp(quotient);
}
