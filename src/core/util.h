/* Small helpers every layer uses: the one out-of-memory policy of the server (abort through
 * xmalloc and friends), the clock, and a growable byte buffer. */
#ifndef KOPILKA_CORE_UTIL_H
#define KOPILKA_CORE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MUST_CHECK __attribute__((warn_unused_result))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that aborts the process on out-of-memory (the server's only OOM policy). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Wall-clock time in ms since the Unix epoch, shifted by the clock offset setting. */
int64_t now_ms(void);
/* Sets the offset now_ms() adds (tests of expiry only). */
void clock_set_offset_ms(int64_t offset_ms);
/* Monotonic time in microseconds, for durations. */
int64_t mono_us(void);

/* A time in ms since the Unix epoch (year 0 to 9999) as ISO 8601 UTC text with milliseconds,
 * "2024-02-29T23:59:59.999Z", into out. Pure arithmetic: glibc's gmtime_r takes a
 * process-wide time-zone lock on every call, which every logged request met. */
#define UTC_TEXT_BYTES 25
void utc_format_ms(int64_t ms, char out[UTC_TEXT_BYTES]);
/* The proleptic Gregorian date of a day count since 1970-01-01 (negative before it), and the
 * day count of a date (month 1..12, day 1..31): the UTC calendar without gmtime_r. */
void utc_civil_from_days(int64_t days, int64_t *year, int *month, int *day);
int64_t utc_days_from_civil(int64_t year, int month, int day);
/* The same instant, in seconds, as an HTTP date (RFC 9110 IMF-fixdate),
 * "Sun, 06 Nov 1994 08:49:37 GMT", into out. */
#define HTTP_DATE_BYTES 30
void http_date_format(int64_t secs, char out[HTTP_DATE_BYTES]);
/* An HTTP date in that form (the one RFC 9110 requires senders to use) into *secs; false
 * when text is not one (the obsolete RFC 850 and asctime forms included). */
bool http_date_parse(const char *text, int64_t *secs);

/* Cryptographic randomness (libsodium; call sodium_init() once before). Draws n random bytes
 * as 2n lowercase hex digits into out (2n+1 bytes, n <= 64). */
void random_hex(char *out, size_t n_bytes);
/* A random (version 4) UUID in its lower-case 36-character text form into out (37 bytes). */
void random_uuid(char out[37]);
/* A random decimal code of `digits` digits, leading zeros kept, into out (digits+1 bytes). */
void random_digits(char *out, int digits);

/* A growable byte buffer, always NUL-terminated. Owned by whoever declared it; buf_free()
 * releases it. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Makes room for `extra` more bytes and the NUL after them; b->data may move. For writers
 * that fill b->data + b->len themselves (the JSON writer), then advance len and terminate. */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The decimal of v, as "%lld" writes it, without printf's parsing of a format. */
void buf_put_int(struct buf *b, long long v);
/* Hands the data to the caller (who frees it) and leaves b empty. */
char *buf_steal(struct buf *b, size_t *len_out);

#endif
