/* The server's allocation wrappers, clock and byte buffer (see util.h). */
#include "core/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "domain/money.h"

static _Atomic int64_t clock_offset_ms;

static void oom(size_t n)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t count, size_t n)
{
	void *p = calloc(count ? count : 1, n ? n : 1);
	if (!p)
		oom(count * n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&clock_offset_ms);
}

void clock_set_offset_ms(int64_t offset_ms)
{
	atomic_store(&clock_offset_ms, offset_ms);
}

int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Howard Hinnant's civil_from_days: days counted from 0000-03-01 in 400-year eras. */
void utc_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;				     /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		     /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;				     /* March = 0 */
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

/* Hinnant's days_from_civil, the inverse of utc_civil_from_days. */
int64_t utc_days_from_civil(int64_t year, int month, int day)
{
	year -= month <= 2;
	int64_t era = (year >= 0 ? year : year - 399) / 400;
	int64_t yoe = year - era * 400;						     /* [0, 399] */
	int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* Writes v as `width` decimal digits (v >= 0; digits beyond width are dropped). */
static char *put_digits(char *p, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

/* The calendar fields of an instant in seconds since the epoch (UTC). */
struct utc_fields {
	int64_t year;
	int month, day, hour, minute, second;
	int weekday; /* 0: Sunday */
};

static void utc_fields_of(int64_t secs, struct utc_fields *f)
{
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t in_day = secs - days * 86400;
	utc_civil_from_days(days, &f->year, &f->month, &f->day);
	f->hour = (int)(in_day / 3600);
	f->minute = (int)(in_day / 60 % 60);
	f->second = (int)(in_day % 60);
	f->weekday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

void utc_format_ms(int64_t ms, char out[UTC_TEXT_BYTES])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	struct utc_fields f;
	utc_fields_of(secs, &f);
	char *p = put_digits(out, f.year, 4);
	*p++ = '-';
	p = put_digits(p, f.month, 2);
	*p++ = '-';
	p = put_digits(p, f.day, 2);
	*p++ = 'T';
	p = put_digits(p, f.hour, 2);
	*p++ = ':';
	p = put_digits(p, f.minute, 2);
	*p++ = ':';
	p = put_digits(p, f.second, 2);
	*p++ = '.';
	p = put_digits(p, ms - secs * 1000, 3);
	*p++ = 'Z';
	*p = '\0';
}

void http_date_format(int64_t secs, char out[HTTP_DATE_BYTES])
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct utc_fields f;
	utc_fields_of(secs, &f);
	memcpy(out, days + 3 * f.weekday, 3);
	out[3] = ',';
	out[4] = ' ';
	char *p = put_digits(out + 5, f.day, 2);
	*p++ = ' ';
	memcpy(p, months + 3 * (f.month - 1), 3);
	p += 3;
	*p++ = ' ';
	p = put_digits(p, f.year, 4);
	*p++ = ' ';
	p = put_digits(p, f.hour, 2);
	*p++ = ':';
	p = put_digits(p, f.minute, 2);
	*p++ = ':';
	p = put_digits(p, f.second, 2);
	memcpy(p, " GMT", 5);
}

/* n decimal digits at s as a number; -1 when one is not a digit. */
static int64_t take_digits(const char *s, int n)
{
	int64_t v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool http_date_parse(const char *text, int64_t *secs)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters, each in its place. */
	if (!text || strlen(text) != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' ||
	    text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':' ||
	    strcmp(text + 25, " GMT") != 0)
		return false;
	bool day_ok = false;
	for (int i = 0; i < 7 && !day_ok; i++)
		day_ok = memcmp(text, days + 3 * i, 3) == 0;
	int month = 0;
	for (int i = 0; i < 12 && !month; i++)
		if (memcmp(text + 8, months + 3 * i, 3) == 0)
			month = i + 1;
	int64_t day = take_digits(text + 5, 2), year = take_digits(text + 12, 4),
		hour = take_digits(text + 17, 2), minute = take_digits(text + 20, 2),
		second = take_digits(text + 23, 2);
	if (!day_ok || !month || day < 1 || day > 31 || year < 1970 || hour < 0 || hour > 23 ||
	    minute < 0 || minute > 59 || second < 0 || second > 60)
		return false;
	*secs =
	    utc_days_from_civil(year, month, (int)day) * 86400 + hour * 3600 + minute * 60 + second;
	return true;
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	/* Formatted once into the room there is; a second time only when it did not fit. */
	buf_reserve(b, 64);
	va_list ap;
	va_start(ap, fmt);
	va_list ap2;
	va_copy(ap2, ap);
	size_t room = b->cap - b->len;
	int n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	}
	if (n > 0)
		b->len += (size_t)n;
	else
		b->data[b->len] = '\0';
	va_end(ap2);
}

void buf_put_int(struct buf *b, long long v)
{
	/* fixed_format writes the digits and a NUL straight into the room reserved for them. */
	buf_reserve(b, FIXED_FMT_MAX);
	b->len += (size_t)fixed_format(v, 0, b->data + b->len);
}

char *buf_steal(struct buf *b, size_t *len_out)
{
	if (!b->data)
		buf_reserve(b, 0), b->data[0] = '\0';
	char *p = b->data;
	if (len_out)
		*len_out = b->len;
	buf_init(b);
	return p;
}

void random_hex(char *out, size_t n_bytes)
{
	unsigned char raw[64];
	if (n_bytes > sizeof(raw))
		abort();
	randombytes_buf(raw, n_bytes);
	sodium_bin2hex(out, n_bytes * 2 + 1, raw, n_bytes);
}

void random_uuid(char out[37])
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40); /* version 4 */
	raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < sizeof(raw); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[raw[i] >> 4];
		out[o++] = hex[raw[i] & 15];
	}
	out[o] = '\0';
}

void random_digits(char *out, int digits)
{
	for (int i = 0; i < digits; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	out[digits] = '\0';
}
