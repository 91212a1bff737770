/* QR codes as inline SVG, and the fiscal receipt's QR text (see qr.h). */
#include "domain/qr.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; on out of memory it drops what it holds and stays NULL. */
struct svg_out {
	char *data;
	size_t len, cap;
};

static void out_append(struct svg_out *o, const char *s, size_t n)
{
	if (!o->data && o->cap)
		return; /* failed before */
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *grown = realloc(o->data, cap);
		if (!grown) {
			free(o->data);
			o->data = NULL;
			o->cap = 1;
			return;
		}
		o->data = grown;
		o->cap = cap;
	}
	memcpy(o->data + o->len, s, n);
	o->len += n;
	o->data[o->len] = '\0';
}

static void out_puts(struct svg_out *o, const char *s)
{
	out_append(o, s, strlen(s));
}

static void out_xml(struct svg_out *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			out_puts(o, "&amp;");
			break;
		case '<':
			out_puts(o, "&lt;");
			break;
		case '>':
			out_puts(o, "&gt;");
			break;
		case '"':
			out_puts(o, "&quot;");
			break;
		default:
			out_append(o, s, 1);
		}
	}
}

char *qr_svg(const char *text, const char *css_class, const char *label, int *width_out)
{
	if (!text || !*text)
		return NULL;
	QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (!qr)
		return NULL;
	int w = qr->width, side = w + 2 * QR_QUIET_ZONE;
	struct svg_out o = {0};
	char num[160];
	snprintf(num, sizeof(num),
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		 "shape-rendering=\"crispEdges\"",
		 side, side);
	out_puts(&o, num);
	if (css_class) {
		out_puts(&o, " class=\"");
		out_xml(&o, css_class);
		out_puts(&o, "\"");
	}
	if (label) {
		out_puts(&o, " role=\"img\" aria-label=\"");
		out_xml(&o, label);
		out_puts(&o, "\"");
	}
	snprintf(num, sizeof(num), "><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path d=\"",
		 side, side);
	out_puts(&o, num);
	/* Each run of dark modules in a row is one rectangle: M x y h run v 1 h -run z. The low
	 * bit of a module's byte is its colour (qrencode.h). */
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w;) {
			if (!(qr->data[y * w + x] & 1)) {
				x++;
				continue;
			}
			int run = 1;
			while (x + run < w && (qr->data[y * w + x + run] & 1))
				run++;
			snprintf(num, sizeof(num), "M%d %dh%dv1h-%dz", x + QR_QUIET_ZONE,
				 y + QR_QUIET_ZONE, run, run);
			out_puts(&o, num);
			x += run;
		}
	}
	out_puts(&o, "\" fill=\"#000\"/></svg>");
	QRcode_free(qr);
	if (o.data && width_out)
		*width_out = w;
	return o.data;
}

bool qr_digits(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool qr_fiscal_text(char *out, size_t cap, const char *when, money_t total_minor, const char *fn,
		    const char *fd, const char *fp, bool refund)
{
	if (cap)
		out[0] = '\0';
	bool when_ok = when && strlen(when) == 13 && when[8] == 'T';
	for (int i = 0; when_ok && i < 13; i++)
		when_ok = i == 8 || (when[i] >= '0' && when[i] <= '9');
	if (!when_ok || total_minor < 0 || !qr_digits(fn, 16) || !qr_digits(fd, 10) ||
	    !qr_digits(fp, 10))
		return false;
	int n = snprintf(out, cap, "t=%s&s=%lld.%02lld&fn=%s&i=%s&fp=%s&n=%d", when,
			 (long long)(total_minor / 100), (long long)(total_minor % 100), fn, fd, fp,
			 refund ? 2 : 1);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return false;
	}
	return true;
}
