/* Normalization of what customers type: phones to digits, emails trimmed and folded, and
 * the %-wildcard patterns of the client search turned into an exact value, a prefix range
 * or an escaped LIKE pattern, so storage can use an index whenever the pattern allows it. */
#ifndef KOPILKA_DOMAIN_TEXT_H
#define KOPILKA_DOMAIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest phone kept, in digits (E.164 allows 15). */
#define PHONE_MAX_DIGITS 15
/* Longest email accepted, in bytes (RFC 5321 path limit). */
#define EMAIL_MAX 254
/* Longest search pattern accepted, in bytes. */
#define PATTERN_MAX 256

/* Removes every non-digit; an 11-digit number beginning with 8 becomes 7... (Russian trunk
 * prefix). out holds PHONE_MAX_DIGITS+1 bytes. Returns false when no digit remains or more
 * than PHONE_MAX_DIGITS digits remain (out is then empty). */
bool phone_normalize(const char *in, char *out);

/* For a search pattern containing '%': keeps only digits and '%'. out holds PATTERN_MAX+1
 * bytes. Returns false when the result would be longer than PATTERN_MAX. */
bool phone_pattern_clean(const char *in, char *out);

/* Trims ASCII whitespace at both ends into out (EMAIL_MAX+1 bytes) and checks the shape:
 * one '@', a non-empty local part, a domain with a dot not at either end, no spaces or
 * control characters. Returns false (out empty) when malformed or too long. */
bool email_normalize(const char *in, char *out);

/* True when s is an absolute http:// or https:// URL (scheme case-insensitive) with a
 * non-empty host, no user info (no '@' before the path: "http://bank@evil" misleads) and no
 * space, control character, backslash, quote or angle bracket anywhere: what a link shown to
 * people or opened by a browser may be. javascript:, data:, file: and relative URLs are
 * refused. */
bool text_http_url(const char *s);

/* A birthday's text as stored and answered: "YYYY-MM-DD" and its NUL. */
#define TEXT_BIRTHDAY_BYTES 11

/* How a birthday may be written: as the API takes dates (exactly YYYY-MM-DD), or also as
 * people type it into the join page's field where the browser has no date input
 * (DD.MM.YYYY). */
enum birthday_form { BIRTHDAY_ISO, BIRTHDAY_ISO_OR_TYPED };

/* Reads a birthday written in form: a real date (the Gregorian calendar's month lengths and
 * leap years) from 1900-01-01 to the UTC day of now_ms (ms since the epoch), the day itself
 * included, into out as "YYYY-MM-DD". Returns false (out empty) for anything else: another
 * shape, a day that does not exist, a date before 1900 or in the future. The one rule of the
 * join page's field and of the API's `birthday` (docs/CARD.md "Joining", API.md 2.2). */
bool text_birthday_parse(const char *in, enum birthday_form form, int64_t now_ms,
			 char out[TEXT_BIRTHDAY_BYTES]);

/* Lower-cases ASCII letters in place (the comparison key of an email). */
void text_ascii_lower(char *s);

/* True when s is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF) and has no
 * NUL before len. */
bool text_utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8 text. */
size_t text_utf8_length(const char *s);

enum pattern_kind {
	PATTERN_EXACT,	/* no '%': equality with text */
	PATTERN_PREFIX, /* "abc%": text <= v < upper, an index range */
	PATTERN_ALL,	/* only '%' characters: any non-null value */
	PATTERN_LIKE,	/* anything else: SQL LIKE with text, '\' as the escape character */
};

struct pattern {
	enum pattern_kind kind;
	/* EXACT: the value; PREFIX: the prefix; LIKE: the pattern with '_' and '\' escaped by '\'
	 * and '%' kept as the wildcard; ALL: empty. */
	char text[2 * PATTERN_MAX + 1];
	/* PREFIX only: the least string greater than every string starting with the prefix
	 * (the prefix with its last byte incremented, after dropping trailing 0xFF bytes). */
	char upper[PATTERN_MAX + 1];
};

/* Compiles a user pattern (after phone/email cleaning). Returns false when in is longer than
 * PATTERN_MAX. Every character other than '%' matches itself. */
bool pattern_compile(const char *in, struct pattern *out);

/* Most trigrams pattern_trigrams returns. */
#define PATTERN_TRIGRAMS_MAX 8

/* The distinct 3-byte substrings of the literal runs of a PATTERN_LIKE pattern (its escapes
 * undone), in order of appearance, at most max of them, each NUL-terminated in out. Every
 * value the pattern matches contains each of them, so an index of trigrams can narrow the
 * candidates before the LIKE itself decides. Returns how many: 0 for another kind or when no
 * run of literal bytes is 3 long (%12%, %1%2%). Bytes, not characters: meant for ASCII keys
 * such as phones. */
size_t pattern_trigrams(const struct pattern *p, char out[][4], size_t max);

/* Whether ch may stand in a JSON number literal as jansson reads one: a digit, '.', 'e', 'E',
 * '+' or '-'. */
bool text_json_number_char(char ch);

/* The next number literal of a JSON text (len bytes, NULs allowed) at or after *pos, the
 * contents of strings skipped: a run of text_json_number_char that starts with '-' or a digit,
 * in [*start, *end). Returns false when there is none. *pos moves past it, so a loop visits
 * every number of the text once, in order. Meant for a text jansson accepts; on any other it
 * still stops within len. Callers must begin at 0 (a position outside any string). */
bool text_json_next_number(const char *text, size_t len, size_t *pos, size_t *start, size_t *end);

#endif
