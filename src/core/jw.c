/* Streaming JSON writer (see jw.h). */
#include "core/jw.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "domain/money.h"
#include "domain/text.h"

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
		buf_putc(w->out, ',');
	w->need_comma[w->depth] = true;
}

static void open(struct jw *w, char c)
{
	sep(w);
	buf_putc(w->out, c);
	assert(w->depth + 1 < JW_MAX_DEPTH);
	w->need_comma[++w->depth] = false;
}

static void close_(struct jw *w, char c)
{
	assert(w->depth > 0);
	w->depth--;
	buf_putc(w->out, c);
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

void jw_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	for (; *p; p++) {
		unsigned char c = *p;
		if (c >= 0x80) {
			/* JSON text is UTF-8 (RFC 8259): what is not valid UTF-8 (a method or a header
			 * echoed in a message, say) is written as U+FFFD, so no input can make an
			 * answer or a log line that parsers refuse. */
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
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(b, u, 6);
		}
		}
	}
	buf_append(b, run, (size_t)(p - run));
	buf_putc(b, '"');
}

void jw_key(struct jw *w, const char *key)
{
	sep(w);
	jw_escape(w->out, key);
	buf_putc(w->out, ':');
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
		buf_puts(w->out, "null");
	after_value(w);
}

void jw_int(struct jw *w, int64_t v)
{
	sep(w);
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	buf_append(w->out, tmp, (size_t)n);
	after_value(w);
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	buf_puts(w->out, v ? "true" : "false");
	after_value(w);
}

void jw_null(struct jw *w)
{
	sep(w);
	buf_puts(w->out, "null");
	after_value(w);
}

void jw_fixed(struct jw *w, int64_t scaled, int digits)
{
	sep(w);
	char tmp[FIXED_FMT_MAX];
	int n = fixed_format(scaled, digits, tmp);
	buf_append(w->out, tmp, (size_t)n);
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
