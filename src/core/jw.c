/* Streaming JSON writer (see jw.h). */
#include "core/jw.h"

#include <assert.h>
#include <string.h>

#include "domain/money.h"
#include "domain/text.h"

/* Appending one byte or a few through buf_append costs a call and a reserve check each; a
 * response of 10 clients writes ~500 of them. These write into the buffer's room directly,
 * keeping buf's invariant (NUL after the last byte). */
static inline char *room(struct buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap)
		buf_reserve(b, n);
	return b->data + b->len;
}

static inline void put1(struct buf *b, char c)
{
	char *p = room(b, 1);
	p[0] = c;
	p[1] = '\0';
	b->len++;
}

static inline void putn(struct buf *b, const void *data, size_t n)
{
	char *p = room(b, n);
	memcpy(p, data, n);
	p[n] = '\0';
	b->len += n;
}

/* 1 for the bytes a JSON string cannot hold as they are: controls (NUL included, which ends
 * the scan), the quote and the backslash. Bytes >= 0x80 pass: the input is valid UTF-8. */
static const unsigned char jw_needs_escape[256] = {
    [0x00 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
};

/* Length of the leading run of s that needs no escaping. */
static inline size_t safe_run(const unsigned char *s)
{
	const unsigned char *p = s;
	while (!jw_needs_escape[*p])
		p++;
	return (size_t)(p - s);
}

void jw_init(struct jw *w, struct buf *out)
{
	w->out = out;
	w->depth = 0;
	w->need_comma[0] = false;
}

/* Before a value or a key: a comma when a sibling came before. */
static void sep(struct jw *w)
{
	if (w->need_comma[w->depth])
		put1(w->out, ',');
	w->need_comma[w->depth] = true;
}

static void open(struct jw *w, char c)
{
	sep(w);
	put1(w->out, c);
	assert(w->depth + 1 < JW_MAX_DEPTH);
	w->need_comma[++w->depth] = false;
}

static void close_(struct jw *w, char c)
{
	assert(w->depth > 0);
	w->depth--;
	put1(w->out, c);
}

void jw_obj_begin(struct jw *w)
{
	open(w, '{');
}

void jw_obj_end(struct jw *w)
{
	close_(w, '}');
}

void jw_arr_begin(struct jw *w)
{
	open(w, '[');
}

void jw_arr_end(struct jw *w)
{
	close_(w, ']');
}

/* Bytes of the valid UTF-8 sequence that starts at p (a byte >= 0x80), or 0 when none does
 * (a stray continuation byte, a truncated, overlong or surrogate sequence, above U+10FFFF). */
static size_t utf8_sequence(const unsigned char *p)
{
	size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
	if (strnlen((const char *)p, n) < n || !text_utf8_valid((const char *)p, n))
		return 0;
	return n;
}

/* The careful escaper for a string that is not valid UTF-8: each byte that starts no valid
 * sequence is written as U+FFFD. */
static void escape_lossy(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	for (; *p; p++) {
		unsigned char c = *p;
		if (c >= 0x80) {
			/* JSON text is UTF-8 (RFC 8259): what is not valid UTF-8 (a method or a
			 * header echoed in a message, say) is written as U+FFFD, so no input can
			 * make an answer or a log line that parsers refuse. */
			size_t n = utf8_sequence(p);
			if (n > 0) {
				p += n - 1;
				continue;
			}
			buf_append(b, run, (size_t)(p - run));
			buf_puts(b, "\\ufffd");
			run = p + 1;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, run, (size_t)(p - run));
		run = p + 1;
		switch (c) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		case '\b':
			buf_puts(b, "\\b");
			break;
		case '\f':
			buf_puts(b, "\\f");
			break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(b, u, 6);
		}
		}
	}
	buf_append(b, run, (size_t)(p - run));
	buf_putc(b, '"');
}

/* Copies runs of safe bytes with one memcpy each; the common string (a name, a phone, a token)
 * is one run and costs one reserve. */
void jw_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = safe_run(p);
	/* JSON text is UTF-8 (RFC 8259): a string that is not (a method or a header echoed in a
	 * message, say) takes the careful path, so no input can make an answer or a log line
	 * that parsers refuse. Bytes >= 0x80 count as safe below only because of this check. */
	if (!text_utf8_valid(s, n + strlen(s + n))) {
		escape_lossy(b, s);
		return;
	}
	if (!p[n]) {
		char *d = room(b, n + 2);
		d[0] = '"';
		memcpy(d + 1, p, n);
		d[n + 1] = '"';
		d[n + 2] = '\0';
		b->len += n + 2;
		return;
	}
	put1(b, '"');
	for (;;) {
		putn(b, p, n);
		p += n;
		unsigned char c = *p;
		if (!c)
			break;
		switch (c) {
		case '"':
			putn(b, "\\\"", 2);
			break;
		case '\\':
			putn(b, "\\\\", 2);
			break;
		case '\n':
			putn(b, "\\n", 2);
			break;
		case '\r':
			putn(b, "\\r", 2);
			break;
		case '\t':
			putn(b, "\\t", 2);
			break;
		case '\b':
			putn(b, "\\b", 2);
			break;
		case '\f':
			putn(b, "\\f", 2);
			break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			putn(b, u, 6);
		}
		}
		p++;
		n = safe_run(p);
	}
	put1(b, '"');
}

void jw_key(struct jw *w, const char *key)
{
	const unsigned char *k = (const unsigned char *)key;
	size_t n = safe_run(k);
	if (!k[n]) {
		/* Every key in the code is a plain identifier: comma, quotes, colon in one write.
		 */
		bool comma = w->need_comma[w->depth];
		char *d = room(w->out, n + 4);
		if (comma)
			*d++ = ',';
		*d++ = '"';
		memcpy(d, k, n);
		d += n;
		*d++ = '"';
		*d++ = ':';
		*d = '\0';
		w->out->len += n + 3 + comma;
	} else {
		sep(w);
		jw_escape(w->out, key);
		put1(w->out, ':');
	}
	/* The value that follows must not write a comma of its own. */
	w->need_comma[w->depth] = false;
}

/* After a key's value the next key needs a comma again. */
static void after_value(struct jw *w)
{
	w->need_comma[w->depth] = true;
}

void jw_str(struct jw *w, const char *s)
{
	sep(w);
	if (s)
		jw_escape(w->out, s);
	else
		putn(w->out, "null", 4);
	after_value(w);
}

void jw_int(struct jw *w, int64_t v)
{
	sep(w);
	/* fixed_format writes the digits and a NUL straight into the room reserved for them. */
	char *d = room(w->out, FIXED_FMT_MAX);
	w->out->len += (size_t)fixed_format(v, 0, d);
	after_value(w);
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	if (v)
		putn(w->out, "true", 4);
	else
		putn(w->out, "false", 5);
	after_value(w);
}

void jw_null(struct jw *w)
{
	sep(w);
	putn(w->out, "null", 4);
	after_value(w);
}

void jw_fixed(struct jw *w, int64_t scaled, int digits)
{
	sep(w);
	char *d = room(w->out, FIXED_FMT_MAX);
	w->out->len += (size_t)fixed_format(scaled, digits, d);
	after_value(w);
}

void jw_raw(struct jw *w, const char *json)
{
	sep(w);
	buf_puts(w->out, json);
	after_value(w);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_knull(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}

void jw_kmoney(struct jw *w, const char *key, int64_t minor)
{
	jw_key(w, key);
	jw_fixed(w, minor, MONEY_DIGITS);
}
