/* Exact decimal conversions between JSON numbers, text and scaled integers; the only place a
 * binary float is looked at, and only to prove which decimal it stands for. A request body's
 * numbers are read from their text (fixed_parse_json), never through a double. */
#include "domain/money.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The k-th digit of a number's mantissa: its integer digits, then its fraction digits. */
static int fixed_mantissa_digit(const char *int_digits, size_t n_int, const char *frac_digits,
				size_t k)
{
	return (k < n_int ? int_digits[k] : frac_digits[k - n_int]) - '0';
}

enum fixed_rc fixed_parse_json(const char *text, size_t len, int digits, int64_t max_scaled,
			       int64_t *out)
{
	(void)fixed_scale(digits); /* asserts the range of digits */
	if (!text)
		return FIXED_ERR_SYNTAX;
	size_t i = 0;
	bool negative = i < len && text[i] == '-';
	if (negative)
		i++;
	if (i >= len || !fixed_is_digit(text[i]))
		return FIXED_ERR_SYNTAX;
	const char *int_digits = text + i;
	if (text[i] == '0')
		i++;
	else
		while (i < len && fixed_is_digit(text[i]))
			i++;
	size_t n_int = (size_t)(text + i - int_digits);
	const char *frac_digits = text + i;
	size_t n_frac = 0;
	if (i < len && text[i] == '.') {
		i++;
		frac_digits = text + i;
		if (i >= len || !fixed_is_digit(text[i]))
			return FIXED_ERR_SYNTAX;
		while (i < len && fixed_is_digit(text[i]))
			i++;
		n_frac = (size_t)(text + i - frac_digits);
	}
	/* The exponent saturates at 10^9: far past any digit count a 1 MiB body can hold, so the
	 * outcome (range or precision) is the same as with the exact exponent. */
	int64_t exponent = 0;
	if (i < len && (text[i] == 'e' || text[i] == 'E')) {
		i++;
		bool exp_negative = false;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			exp_negative = text[i++] == '-';
		if (i >= len || !fixed_is_digit(text[i]))
			return FIXED_ERR_SYNTAX;
		for (; i < len && fixed_is_digit(text[i]); i++)
			if (exponent < 1000000000)
				exponent = exponent * 10 + (text[i] - '0');
		if (exp_negative)
			exponent = -exponent;
	}
	if (i != len)
		return FIXED_ERR_SYNTAX;

	/* The mantissa's digits with the decimal point moved by the exponent and by `digits`:
	 * those before `cut` form the scaled integer, every one after it must be 0. */
	int64_t n_digits = (int64_t)(n_int + n_frac);
	int64_t cut = (int64_t)n_int + exponent + digits;
	__int128 whole = 0;
	bool huge = false, extra_nonzero = false;
	for (int64_t k = 0; k < n_digits; k++) {
		int d = fixed_mantissa_digit(int_digits, n_int, frac_digits, (size_t)k);
		if (k >= cut)
			extra_nonzero |= d != 0;
		else if (whole > INT64_MAX)
			huge = true;
		else
			whole = whole * 10 + d;
	}
	/* Trailing zeros the exponent adds; a zero mantissa stays zero however many. */
	for (int64_t k = n_digits; k < cut && whole != 0 && !huge; k++) {
		if (whole > INT64_MAX)
			huge = true;
		else
			whole *= 10;
	}
	__int128 scaled = negative ? -whole : whole;
	if (huge || !fixed_in_range(scaled, max_scaled))
		return FIXED_ERR_RANGE;
	if (extra_nonzero)
		return FIXED_ERR_PRECISION;
	*out = (int64_t)scaled;
	return FIXED_OK;
}

/* "00".."99": two digits per division, the digit pairs of the whole part. */
static const char fixed_digit_pairs[201] = "00010203040506070809"
					   "10111213141516171819"
					   "20212223242526272829"
					   "30313233343536373839"
					   "40414243444546474849"
					   "50515253545556575859"
					   "60616263646566676869"
					   "70717273747576777879"
					   "80818283848586878889"
					   "90919293949596979899";

/* Hand-written rather than snprintf: this runs for every integer and amount of every response,
 * and two snprintf calls were a fifth of a client search's instructions. Written backwards
 * from the end of a scratch buffer, then moved to the front of buf. */
int fixed_format(int64_t scaled, int digits, char *buf)
{
	uint64_t scale = (uint64_t)fixed_scale(digits);
	/* Work on the unsigned magnitude so INT64_MIN needs no negation in signed arithmetic. */
	uint64_t magnitude = scaled < 0 ? 0 - (uint64_t)scaled : (uint64_t)scaled;
	uint64_t whole = magnitude / scale;
	uint64_t frac = magnitude % scale;
	char tmp[FIXED_FMT_MAX];
	char *end = tmp + sizeof(tmp);
	char *p = end;
	if (frac != 0) {
		/* The shortest exact fraction: trailing zeros dropped, leading ones kept. */
		int frac_digits = digits;
		while (frac % 10 == 0) {
			frac /= 10;
			frac_digits--;
		}
		for (; frac_digits > 0; frac_digits--) {
			*--p = (char)('0' + frac % 10);
			frac /= 10;
		}
		*--p = '.';
	}
	while (whole >= 100) {
		const char *pair = &fixed_digit_pairs[(whole % 100) * 2];
		whole /= 100;
		*--p = pair[1];
		*--p = pair[0];
	}
	if (whole >= 10) {
		*--p = fixed_digit_pairs[whole * 2 + 1];
		*--p = fixed_digit_pairs[whole * 2];
	} else {
		*--p = (char)('0' + whole);
	}
	if (scaled < 0)
		*--p = '-';
	int len = (int)(end - p);
	assert(len < FIXED_FMT_MAX);
	memcpy(buf, p, (size_t)len);
	buf[len] = '\0';
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
