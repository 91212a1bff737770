/* Normalization of phones, emails and search patterns, and strict UTF-8 checks: the forms
 * customers type turned into the keys storage compares. */
#include "domain/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static bool text_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool text_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool phone_normalize(const char *in, char *out)
{
	size_t n = 0;
	out[0] = '\0';
	for (const char *p = in; *p; p++) {
		if (!text_is_digit(*p))
			continue;
		if (n == PHONE_MAX_DIGITS) {
			out[0] = '\0';
			return false;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	if (n == 0)
		return false;
	/* 8 XXX XXX-XX-XX is the domestic form of +7 XXX XXX-XX-XX: one key for both. */
	if (n == 11 && out[0] == '8')
		out[0] = '7';
	return true;
}

bool phone_pattern_clean(const char *in, char *out)
{
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (!text_is_digit(*p) && *p != '%')
			continue;
		if (n == PATTERN_MAX) {
			out[0] = '\0';
			return false;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	return true;
}

bool email_normalize(const char *in, char *out)
{
	out[0] = '\0';
	const char *start = in;
	while (text_is_space(*start))
		start++;
	size_t len = strlen(start);
	while (len > 0 && text_is_space(start[len - 1]))
		len--;
	if (len == 0 || len > EMAIL_MAX)
		return false;

	const char *at = NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)start[i];
		if (c <= ' ' || c == 0x7f)
			return false;
		if (c == '@') {
			if (at)
				return false;
			at = start + i;
		}
	}
	if (!at || at == start)
		return false;
	const char *domain = at + 1;
	size_t domain_len = len - (size_t)(domain - start);
	if (domain_len == 0 || domain[0] == '.' || domain[domain_len - 1] == '.' ||
	    !memchr(domain, '.', domain_len))
		return false;

	memcpy(out, start, len);
	out[len] = '\0';
	return true;
}

/* Days in month m (1..12) of year y. */
static int text_month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* The value of the n digits at s, or -1 when one of them is not a digit. */
static int text_digits_value(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!text_is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool text_birthday_parse(const char *in, enum birthday_form form, int64_t now_ms,
			 char out[TEXT_BIRTHDAY_BYTES])
{
	int y = -1, m = -1, d = -1;
	out[0] = '\0';
	if (strlen(in) == 10 && in[4] == '-' && in[7] == '-') {
		y = text_digits_value(in, 4);
		m = text_digits_value(in + 5, 2);
		d = text_digits_value(in + 8, 2);
	} else if (form == BIRTHDAY_ISO_OR_TYPED) {
		/* As people type it: DD.MM.YYYY, or the ISO order with a digit left out. */
		char tail;
		if (sscanf(in, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 &&
		    sscanf(in, "%2d.%2d.%4d%c", &d, &m, &y, &tail) != 3)
			return false;
	}
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > text_month_days(y, m))
		return false;
	time_t secs = (time_t)(now_ms / 1000);
	struct tm today;
	if (!gmtime_r(&secs, &today))
		return false;
	long date = (long)y * 10000 + m * 100 + d;
	long now = (long)(today.tm_year + 1900) * 10000 + (today.tm_mon + 1) * 100 + today.tm_mday;
	if (date > now)
		return false;
	/* In range by the checks above: four, two and two digits. */
	snprintf(out, TEXT_BIRTHDAY_BYTES, "%04u-%02u-%02u", (unsigned)y % 10000u,
		 (unsigned)m % 100u, (unsigned)d % 100u);
	return true;
}

void text_ascii_lower(char *s)
{
	for (; *s; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
}

bool text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t need;
		uint32_t cp, min;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			/* Stray continuation, overlong lead C0/C1, or a lead beyond U+10FFFF. */
			return false;
		}
		if (len - i - 1 < need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			unsigned char cont = p[i + k];
			if ((cont & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (cont & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

size_t text_utf8_length(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* Appends src[0..len) to dst as a LIKE pattern: '_' and '\' escaped, runs of '%' collapsed
 * to one (same match set, less work for the matcher). dst has room for 2 * len + 1 bytes. */
static void pattern_escape_like(const char *src, size_t len, char *dst)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (c == '%' && i > 0 && src[i - 1] == '%')
			continue;
		if (c == '_' || c == '\\')
			dst[n++] = '\\';
		dst[n++] = c;
	}
	dst[n] = '\0';
}

/* The least string above every string starting with prefix: drop trailing 0xFF bytes and
 * increment the last one. False when the prefix is all 0xFF (no such string). */
static bool pattern_upper(const char *prefix, size_t len, char *upper)
{
	while (len > 0 && (unsigned char)prefix[len - 1] == 0xff)
		len--;
	if (len == 0)
		return false;
	memcpy(upper, prefix, len);
	upper[len - 1] = (char)((unsigned char)upper[len - 1] + 1);
	upper[len] = '\0';
	return true;
}

bool pattern_compile(const char *in, struct pattern *out)
{
	size_t len = strlen(in);
	if (len > PATTERN_MAX)
		return false;
	out->text[0] = '\0';
	out->upper[0] = '\0';

	const char *first_wild = strchr(in, '%');
	if (!first_wild) {
		out->kind = PATTERN_EXACT;
		memcpy(out->text, in, len + 1);
		return true;
	}
	size_t prefix_len = (size_t)(first_wild - in);
	size_t tail = prefix_len;
	while (in[tail] == '%')
		tail++;
	if (in[tail] == '\0') {
		if (prefix_len == 0) {
			out->kind = PATTERN_ALL;
			return true;
		}
		if (pattern_upper(in, prefix_len, out->upper)) {
			out->kind = PATTERN_PREFIX;
			memcpy(out->text, in, prefix_len);
			out->text[prefix_len] = '\0';
			return true;
		}
		/* A prefix of only 0xFF bytes has no upper bound string: fall through to LIKE. */
	}
	out->kind = PATTERN_LIKE;
	pattern_escape_like(in, len, out->text);
	return true;
}

size_t pattern_trigrams(const struct pattern *p, char out[][4], size_t max)
{
	if (p->kind != PATTERN_LIKE)
		return 0;
	size_t n = 0;
	char run[3];
	size_t run_len = 0;
	for (const char *s = p->text; *s && n < max; s++) {
		if (*s == '%') {
			run_len = 0;
			continue;
		}
		if (*s == '\\' && s[1])
			s++;
		if (run_len == 3) {
			run[0] = run[1];
			run[1] = run[2];
			run_len = 2;
		}
		run[run_len++] = *s;
		if (run_len < 3)
			continue;
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = memcmp(out[i], run, 3) == 0;
		if (!seen) {
			memcpy(out[n], run, 3);
			out[n++][3] = '\0';
		}
	}
	return n;
}

bool text_http_url(const char *s)
{
	if (!s)
		return false;
	const char *rest;
	if (strncasecmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		rest = s + 7;
	else
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch == 0x7f || ch == '\\' || ch == '"' || ch == '<' || ch == '>' ||
		    ch == '`')
			return false;
	}
	size_t authority = strcspn(rest, "/?#");
	if (authority == 0 || memchr(rest, '@', authority))
		return false;
	/* The host, then an optional :port of digits; an IPv6 literal is bracketed. */
	const char *end = rest + authority;
	const char *host_end = memchr(rest, ':', authority);
	if (rest[0] == '[') {
		const char *close = memchr(rest, ']', authority);
		if (!close || close == rest + 1 || (close + 1 < end && close[1] != ':'))
			return false;
		host_end = close + 1 < end ? close + 1 : NULL;
	}
	if (host_end == rest)
		return false;
	const char *colon = host_end;
	if (colon) {
		for (const char *p = colon + 1; p < rest + authority; p++)
			if (*p < '0' || *p > '9')
				return false;
	}
	return true;
}

bool text_json_number_char(char ch)
{
	return (ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' ||
	       ch == '-';
}

bool text_json_next_number(const char *text, size_t len, size_t *pos, size_t *start, size_t *end)
{
	bool in_string = false;
	for (size_t i = *pos; i < len; i++) {
		char ch = text[i];
		if (in_string) {
			if (ch == '\\')
				i++; /* the escaped character, a quote included */
			else if (ch == '"')
				in_string = false;
			continue;
		}
		if (ch == '"') {
			in_string = true;
			continue;
		}
		if (ch != '-' && !(ch >= '0' && ch <= '9'))
			continue;
		size_t e = i;
		while (e < len && text_json_number_char(text[e]))
			e++;
		*start = i;
		*end = e;
		*pos = e;
		return true;
	}
	*pos = len;
	return false;
}
