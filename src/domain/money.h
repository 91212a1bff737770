/* Exact decimal amounts as scaled integers: money in minor units (2 digits), quantities in
 * thousandths (3 digits), percentages in hundredths. The ledger never sees a binary float;
 * a JSON number arrives as a double or an integer and is converted here exactly or refused. */
#ifndef KOPILKA_DOMAIN_MONEY_H
#define KOPILKA_DOMAIN_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t money_t; /* minor units (kopecks); 100 = 1.00 */

#define MONEY_DIGITS 2
#define QTY_DIGITS 3
/* Largest accepted absolute amount: 10^12 major units, in minor units. */
#define MONEY_MAX_MINOR 100000000000000LL
/* Largest quantity: 10^9 units, in thousandths. */
#define QTY_MAX_MILLI 1000000000000LL
/* Room for any formatted scaled value, sign and NUL included. */
#define FIXED_FMT_MAX 32

enum fixed_rc {
	FIXED_OK = 0,
	FIXED_ERR_PRECISION, /* more fraction digits than allowed */
	FIXED_ERR_RANGE,     /* |value| > max_scaled, NaN or infinite */
	FIXED_ERR_SYNTAX,    /* text is not a decimal number (fixed_parse only) */
};

/* Converts a double that came from a JSON number into a scaled integer with `digits` fraction
 * digits (0..6). Accepts it only when the decimal with that many digits whose nearest double
 * is `value` exists (so 0.1 -> 10 minor, 0.125 with digits=2 -> FIXED_ERR_PRECISION) and
 * |result| <= max_scaled. The sign is kept; callers decide whether negatives are allowed. */
enum fixed_rc fixed_from_double(double value, int digits, int64_t max_scaled, int64_t *out)
    __attribute__((warn_unused_result));

/* Same for a JSON integer: value * 10^digits, with the range check and no overflow. */
enum fixed_rc fixed_from_int(long long value, int digits, int64_t max_scaled, int64_t *out)
    __attribute__((warn_unused_result));

/* Parses decimal text ("-12", "12.5", "0.05"; no exponent, no spaces, no leading '+'). */
enum fixed_rc fixed_parse(const char *text, int digits, int64_t max_scaled, int64_t *out)
    __attribute__((warn_unused_result));

/* Reads one JSON number token exactly (RFC 8259 grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?, nothing before or after; len bytes, no NUL needed) into a scaled integer
 * with `digits` fraction digits (0..6). Never goes through a double, so 1.0000000000000000001
 * is FIXED_ERR_PRECISION, 1e2 is 100 and 1E-400 is FIXED_ERR_PRECISION. Any exponent is taken
 * (saturating): a value whose integer part passes max_scaled is FIXED_ERR_RANGE, which is
 * reported before a precision error, like fixed_parse. */
enum fixed_rc fixed_parse_json(const char *text, size_t len, int digits, int64_t max_scaled,
			       int64_t *out) __attribute__((warn_unused_result));

/* Prints the exact shortest decimal of a scaled value into buf (FIXED_FMT_MAX bytes):
 * 123456,2 -> "1234.56"; 10050,2 -> "100.5"; 1000,2 -> "10"; -5,2 -> "-0.05"; 0 -> "0".
 * Returns the length written. Valid JSON number text. */
int fixed_format(int64_t scaled, int digits, char *buf);

/* Rounds value*num/den to the nearest integer, halves away from zero, without overflow
 * (128-bit intermediate). den > 0. */
int64_t fixed_mul_div_round(int64_t value, int64_t num, int64_t den);

/* floor(value*num/den) for value, num >= 0 and den > 0, without overflow. */
int64_t fixed_mul_div_floor(int64_t value, int64_t num, int64_t den);

#endif
