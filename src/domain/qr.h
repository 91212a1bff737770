/* QR codes for the public pages: a symbol drawn as inline SVG (libqrencode encodes, this module
 * draws), so a page shows its code without a script, an image request or another host; and the
 * text of a fiscal receipt's QR code, which the tax service's app scans to check a receipt. */
#ifndef KOPILKA_DOMAIN_QR_H
#define KOPILKA_DOMAIN_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/money.h"

/* The white border around a symbol, in modules: the 4 the QR standard asks for. */
#define QR_QUIET_ZONE 4

/* An SVG element drawing text as a QR code (error correction M, byte mode, the smallest
 * version that holds it): a white square of (width + 2 * QR_QUIET_ZONE) modules and one black
 * path of the dark modules, one module per unit of its viewBox, sized by CSS through its class
 * attribute `css_class` (may be NULL) and labelled for screen readers by `label` (XML-escaped;
 * may be NULL). No style attribute, so a strict Content-Security-Policy needs nothing for it.
 * Returns a NUL-terminated string the caller frees, or NULL when text is empty or too long
 * for any QR version (more than 2331 bytes at level M) or memory ran out. *width_out (may be
 * NULL): the symbol's width in modules, without the quiet zone. */
char *qr_svg(const char *text, const char *css_class, const char *label, int *width_out);

/* The text of a Russian fiscal receipt's QR code, as the tax service's app reads it:
 * t=YYYYMMDDTHHMM&s=<rubles.kopecks>&fn=<fn>&i=<fd>&fp=<fp>&n=<1 sale, 2 refund of a sale>.
 * when: the receipt's local time as "YYYYMMDDTHHMM"; total_minor: its total in kopecks (>= 0).
 * fn, fd and fp must be non-empty digit strings (fn at most 16 digits, fd and fp at most 10).
 * Returns false (out[0] = '\0') when one of them is not, or out (cap bytes) is too small;
 * QR_FISCAL_MAX bytes always suffice. */
#define QR_FISCAL_MAX 128
bool qr_fiscal_text(char *out, size_t cap, const char *when, money_t total_minor, const char *fn,
		    const char *fd, const char *fp, bool refund);

/* Whether s is 1 to max ASCII digits. */
bool qr_digits(const char *s, size_t max);

#endif
