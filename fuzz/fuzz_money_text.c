/* libFuzzer target: fixed_parse_json, the exact reader of a request body's JSON numbers
 * (domain/money), against a reference: the token with its exponent moved into the decimal point
 * by string shifting and read by fixed_parse must give the same outcome and value; a value
 * accepted is in range and prints back (fixed_format) to text that reads as the same value.
 *
 * Input: byte 0 chooses the digits (0..6) and the bound, the rest is the number's text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/money.h"

static const int64_t bounds[] = {MONEY_MAX_MINOR, QTY_MAX_MILLI, INT64_MAX / 10, 10000, 0,
				 INT64_MAX};

/* The token's plain decimal ("1.5e2" -> "150", "25e-3" -> "0.025") into out, or false when
 * the exponent is too large to write out (the reference then has nothing to say). The token
 * is known to follow the JSON grammar. */
static bool plain_decimal(const char *text, size_t len, char *out, size_t cap)
{
	size_t i = 0, n = 0;
	char digits[320];
	size_t n_digits = 0, n_int = 0;
	if (text[i] == '-')
		out[n++] = text[i++];
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, n_int++)
		digits[n_digits++] = text[i];
	if (i < len && text[i] == '.')
		for (i++; i < len && text[i] >= '0' && text[i] <= '9'; i++)
			digits[n_digits++] = text[i];
	long exponent = 0;
	if (i < len) { /* e or E */
		char *end;
		char exp_text[32];
		size_t exp_len = len - i - 1;
		if (exp_len >= sizeof(exp_text))
			return false;
		memcpy(exp_text, text + i + 1, exp_len);
		exp_text[exp_len] = '\0';
		exponent = strtol(exp_text, &end, 10);
		if (exponent > 60 || exponent < -60)
			return false;
	}
	long point = (long)n_int + exponent;
	if (point <= 0) {
		if (n + 2 + (size_t)(-point) + n_digits + 1 > cap)
			return false;
		out[n++] = '0';
		out[n++] = '.';
		for (long k = point; k < 0; k++)
			out[n++] = '0';
		memcpy(out + n, digits, n_digits);
		n += n_digits;
	} else if ((size_t)point >= n_digits) {
		if (n + (size_t)point + 1 > cap)
			return false;
		memcpy(out + n, digits, n_digits);
		n += n_digits;
		for (size_t k = n_digits; k < (size_t)point; k++)
			out[n++] = '0';
	} else {
		if (n + n_digits + 2 > cap)
			return false;
		memcpy(out + n, digits, (size_t)point);
		n += (size_t)point;
		out[n++] = '.';
		memcpy(out + n, digits + point, n_digits - (size_t)point);
		n += n_digits - (size_t)point;
	}
	out[n] = '\0';
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 257)
		return 0;
	int digits = data[0] % 7;
	int64_t bound = bounds[(data[0] >> 3) % ARRAY_LEN(bounds)];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	int64_t scaled = 0;
	enum fixed_rc rc = fixed_parse_json(text, len, digits, bound, &scaled);
	if (rc != FIXED_OK && rc != FIXED_ERR_PRECISION && rc != FIXED_ERR_RANGE &&
	    rc != FIXED_ERR_SYNTAX)
		abort();
	if (rc == FIXED_OK) {
		if (scaled > bound || scaled < -bound)
			abort();
		char printed[FIXED_FMT_MAX];
		int n = fixed_format(scaled, digits, printed);
		int64_t back = 0;
		if (fixed_parse_json(printed, (size_t)n, digits, INT64_MAX, &back) != FIXED_OK ||
		    back != scaled)
			abort();
	}
	if (rc == FIXED_ERR_SYNTAX)
		return 0;
	char plain[400];
	if (!plain_decimal(text, len, plain, sizeof(plain)))
		return 0;
	int64_t want = 0;
	enum fixed_rc want_rc = fixed_parse(plain, digits, bound, &want);
	if (want_rc != rc || (rc == FIXED_OK && want != scaled))
		abort();
	return 0;
}
