/* libkopilka money: decimal strings and JSON numbers of the API as integer minor units
 * (hundredths), and back. No arithmetic in floating point: a JSON real is only printed with
 * two digits and checked to read back as the same number. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* API.md 1: money is at most 10^12. */
#define KK_MONEY_MAX_MINOR (1000000000000LL * 100)

bool kk_decimal_ok(const char *text, int max_fraction, bool allow_negative)
{
	if (!text)
		return false;
	const char *p = text;
	if (*p == '-') {
		if (!allow_negative)
			return false;
		p++;
	}
	int digits = 0, fraction = 0;
	if (!(*p >= '0' && *p <= '9'))
		return false;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			fraction++;
		}
		if (fraction == 0 || fraction > max_fraction)
			return false;
	}
	return *p == '\0' && digits + fraction <= 15;
}

enum kopilka_status kopilka_money_parse(const char *text, int64_t *minor)
{
	if (!minor || !kk_decimal_ok(text, 2, true))
		return KOPILKA_ERR_INVALID;
	const char *p = text;
	bool negative = *p == '-';
	if (negative)
		p++;
	int64_t value = 0;
	for (; *p >= '0' && *p <= '9'; p++)
		value = value * 10 + (*p - '0');
	int64_t cents = 0;
	int fraction = 0;
	if (*p == '.')
		for (p++; *p; p++, fraction++)
			cents = cents * 10 + (*p - '0');
	if (fraction == 1)
		cents *= 10;
	if (value > KK_MONEY_MAX_MINOR / 100)
		return KOPILKA_ERR_INVALID;
	value = value * 100 + cents;
	*minor = negative ? -value : value;
	return KOPILKA_OK;
}

enum kopilka_status kopilka_money_from_json(const json_t *value, int64_t *minor)
{
	if (!minor)
		return KOPILKA_ERR_INVALID;
	if (json_is_integer(value)) {
		json_int_t v = json_integer_value(value);
		if (v > KK_MONEY_MAX_MINOR / 100 || v < -KK_MONEY_MAX_MINOR / 100)
			return KOPILKA_ERR_PROTOCOL;
		*minor = (int64_t)v * 100;
		return KOPILKA_OK;
	}
	if (!json_is_real(value))
		return KOPILKA_ERR_PROTOCOL;
	double d = json_real_value(value);
	if (!isfinite(d) || fabs(d) > 1e12)
		return KOPILKA_ERR_PROTOCOL;
	/* Every decimal of at most 2 fraction digits below 10^12 has a nearest double that %.2f
	 * prints back as that decimal; a number with more digits does not read back the same. */
	char text[64];
	snprintf(text, sizeof(text), "%.2f", d);
	if (strtod(text, NULL) != d)
		return KOPILKA_ERR_PROTOCOL;
	/* "-0.00" is 0. */
	if (strcmp(text, "-0.00") == 0)
		memmove(text, text + 1, strlen(text));
	return kopilka_money_parse(text, minor) == KOPILKA_OK ? KOPILKA_OK : KOPILKA_ERR_PROTOCOL;
}

char *kopilka_money_format(int64_t minor, char text[KOPILKA_MONEY_TEXT_MAX])
{
	uint64_t magnitude = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	int n = snprintf(text, KOPILKA_MONEY_TEXT_MAX, "%s%" PRIu64, minor < 0 ? "-" : "",
			 magnitude / 100);
	unsigned cents = (unsigned)(magnitude % 100);
	if (cents != 0 && n > 0 && n < KOPILKA_MONEY_TEXT_MAX - 4) {
		if (cents % 10 == 0)
			snprintf(text + n, KOPILKA_MONEY_TEXT_MAX - (size_t)n, ".%u", cents / 10);
		else
			snprintf(text + n, KOPILKA_MONEY_TEXT_MAX - (size_t)n, ".%02u", cents);
	}
	return text;
}

char *kopilka_json_dumps(const json_t *value, int pretty)
{
	size_t flags = JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);
	flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
	return json_dumps(value, flags);
}
