/* The public HTML pages (the receipt /r/{token}, the card /c/{token}): what they share. One
 * stylesheet, inline and allowed by its hash (the merchant's brand colour is part of it, so
 * the hash is computed per answer); the merchant's brand (name, logo, colour) from its contact
 * info; escaping; the security headers; local times; the 404 page. They load nothing from
 * another origin and run no script (STYLE.md, public pages). */
#ifndef KOPILKA_HANDLERS_PAGE_H
#define KOPILKA_HANDLERS_PAGE_H

#include <jansson.h>

#include "api/call.h"

/* The merchant's brand as the pages show it. Strings point into `contact` (NULL: not set). */
struct page_brand {
	json_t *contact; /* the contact info document; NULL when never written */
	const char *company, *logo_path, *color;
};

/* The default brand colour: a dark slate with white text. */
#define PAGE_DEFAULT_BRAND "#27272a"

/* Loads the brand of merchant_id (the contact info document). Returns the store's answer:
 * STORE_OK also when the merchant never wrote one (every field NULL). Free with
 * page_brand_free. */
enum store_rc page_brand_load(struct call *c, int64_t merchant_id,
			      struct page_brand *out) MUST_CHECK;
void page_brand_free(struct page_brand *b);

/* The brand's colour (brandColor, else the default dark grey) as red, green and blue into rgb;
 * true when it is light (text on it is black), false when dark (white). brand may be NULL. */
bool page_brand_rgb(const struct page_brand *brand, unsigned char rgb[3]);

/* The page's stylesheet for a brand (NULL: the default colours), heap: the caller frees. */
char *page_style(const struct page_brand *brand);

/* Adds the headers every answer of a public page carries: Content-Security-Policy (nothing but
 * this origin's images, the page's own style by its hash — `style` as written into <style> —
 * and forms posting back here; no script, no framing), X-Frame-Options, nosniff,
 * Referrer-Policy: no-referrer (the URL holds a token) and Cache-Control: no-store (balances
 * change). Call once per answer. */
void page_headers(struct call *c, const char *style);

/* page_headers for an answer that is not a page (an error of the API's JSON shape): the
 * default stylesheet's hash, so every answer of the public routes carries the same policy. */
void page_error_headers(struct call *c);

/* Starts the answer 200 text/html and writes the document's head with `style` and `title`,
 * then the brand's header (logo and name; `fallback` when it has no company). */
void page_begin(struct call *c, const struct page_brand *brand, const char *style,
		const char *fallback);
/* Closes the document. */
void page_end(struct call *c);

/* The 404 page of a public page: headers, status and a short HTML body saying `what`. */
void page_not_found(struct call *c, const char *what);

/* The Russian word for an amount of points in minor units: 1 балл, 2 балла, 5 баллов; a
 * fraction: балла. */
const char *page_points_word(money_t minor);

/* Writes s HTML-escaped (& < > " ') to b; NULL writes nothing. */
void page_escape(struct buf *b, const char *s);

/* The value of key in an application/x-www-form-urlencoded body (len bytes), decoded into out
 * (cap bytes): 1; 0 when absent; -1 when malformed, not UTF-8, holding a NUL or too long. */
int page_form_value(const char *body, size_t len, const char *key, char *out, size_t cap);

/* The checks every public form's POST shares: the body within API_FORM_BODY_MAX (else 413) and
 * form-encoded (else 415). false: the JSON error is written (add the page headers first). */
bool page_form_body(struct call *c);

/* A time as the shops' local time (--local-time-offset-minutes): "05.01.2026 09:30" into
 * out (PAGE_TIME_BYTES), and as a fiscal QR code's "20260105T0930" (PAGE_FISCAL_TIME_BYTES). */
#define PAGE_TIME_BYTES 17
#define PAGE_FISCAL_TIME_BYTES 14
void page_time(const struct call *c, int64_t ms, char out[PAGE_TIME_BYTES]);
void page_fiscal_time(const struct call *c, int64_t ms, char out[PAGE_FISCAL_TIME_BYTES]);

#endif
