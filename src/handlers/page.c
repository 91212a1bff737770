/* What the public pages share (see page.h). */
#include "handlers/page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ctype.h>
#include <sodium.h>
#include <strings.h>

#include "domain/text.h"
#include "handlers/handlers.h"
#include "store/merchant.h"

/* Mobile first: one column, at most 32em wide on a larger screen. --brand and --on-brand are
 * set per merchant by page_style. */
static const char base_style[] =
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "background:#f4f4f5;color:#18181b;line-height:1.4}"
    "main{max-width:32em;margin:0 auto;padding:0 0 2em}"
    "header.brand{background:var(--brand);color:var(--on-brand);padding:1em;display:flex;"
    "align-items:center;gap:.75em}"
    "header.brand img{width:48px;height:48px;object-fit:contain;border-radius:8px;"
    "background:#fff}"
    "header.brand h1{font-size:1.25em;margin:0}"
    "section{background:#fff;margin:.75em;padding:1em;border-radius:12px}"
    "h2{font-size:1em;margin:0 0 .5em;color:#52525b}"
    ".balance{font-size:2.25em;font-weight:700;margin:0}"
    ".qr{display:block;width:100%;max-width:264px;margin:0 auto}"
    ".token{font-family:monospace;text-align:center;word-break:break-all;color:#52525b;"
    "font-size:.85em;margin:.5em 0 0}"
    ".code{font-family:monospace;font-size:1.4em;letter-spacing:.1em;font-weight:700}"
    "table{width:100%;border-collapse:collapse}"
    "td{padding:.35em .25em .35em 0;border-bottom:1px solid #e4e4e7;vertical-align:top}"
    "td.num{text-align:right;white-space:nowrap;padding-right:0}"
    "ul.list{list-style:none;padding:0;margin:0}"
    "ul.list li{padding:.5em 0;border-bottom:1px solid #e4e4e7}"
    ".muted{color:#71717a;font-size:.85em}"
    "a{color:inherit}"
    "a.button{display:block;text-align:center;background:var(--brand);color:var(--on-brand);"
    "padding:.75em;border-radius:8px;text-decoration:none;font-weight:600;margin-top:.5em}"
    "button{font-size:1.1em;margin:.2em}textarea{width:100%}"
    /* The join page's forms (handlers/enrol.c): a label over each field, its error under it. */
    "form.fields label{display:block;font-weight:600;margin:.9em 0 .3em}"
    "form.fields input{width:100%;font-size:1.1em;padding:.55em;border:1px solid #a1a1aa;"
    "border-radius:8px;background:#fff;color:inherit}"
    "form.fields input[aria-invalid=true]{border-color:#b91c1c}"
    "form.fields label.check{display:flex;gap:.6em;align-items:flex-start;font-weight:400}"
    "form.fields label.check input{width:1.4em;height:1.4em;flex:none;margin:0}"
    ".error{color:#b91c1c;font-size:.9em;margin:.3em 0 0}"
    ".consent{font-size:.85em;color:#3f3f46;max-height:14em;overflow:auto;border:1px solid "
    "#e4e4e7;border-radius:8px;padding:.25em .75em;margin-top:.9em}"
    "form.fields button{display:block;width:100%;margin:1.2em 0 0;padding:.75em;border:0;"
    "border-radius:8px;background:var(--brand);color:var(--on-brand);font-weight:600}";

enum store_rc page_brand_load(struct call *c, int64_t merchant_id, struct page_brand *out)
{
	memset(out, 0, sizeof(*out));
	char *text = NULL;
	enum store_rc rc = STORE(c->db, document_get, merchant_id, "contact_info", &text);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	out->contact = json_loads(text, 0, NULL);
	free(text);
	out->company = json_string_value(json_object_get(out->contact, "company"));
	out->logo_path = json_string_value(json_object_get(out->contact, "logoPath"));
	out->color = json_string_value(json_object_get(out->contact, "brandColor"));
	return STORE_OK;
}

void page_brand_free(struct page_brand *b)
{
	json_decref(b->contact);
	memset(b, 0, sizeof(*b));
}

/* The value of a hex digit (the colour was validated when it was stored). */
static int hex_value(char h)
{
	return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : 0;
}

bool page_brand_rgb(const struct page_brand *brand, unsigned char rgb[3])
{
	const char *color =
	    brand && brand->color && strlen(brand->color) == 7 ? brand->color : PAGE_DEFAULT_BRAND;
	for (int i = 0; i < 3; i++)
		rgb[i] =
		    (unsigned char)(hex_value(color[1 + 2 * i]) * 16 + hex_value(color[2 + 2 * i]));
	/* Text on the brand colour: black on a light colour, white on a dark one (the YIQ
	 * brightness, in integers). */
	return (rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114) / 1000 >= 150;
}

char *page_style(const struct page_brand *brand)
{
	unsigned char rgb[3];
	bool light = page_brand_rgb(brand, rgb);
	struct buf b;
	buf_init(&b);
	buf_printf(&b, ":root{--brand:#%02x%02x%02x;--on-brand:%s}%s", rgb[0], rgb[1], rgb[2],
		   light ? "#000" : "#fff", base_style);
	return buf_steal(&b, NULL);
}

void page_headers(struct call *c, const char *style)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, (const unsigned char *)style, strlen(style));
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof(b64), digest, sizeof(digest), sodium_base64_VARIANT_ORIGINAL);
	char csp[256];
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; img-src 'self'; style-src 'sha256-%s'; form-action 'self'; "
		 "frame-ancestors 'none'; base-uri 'none'",
		 b64);
	response_header(c->resp, "Content-Security-Policy", csp);
	response_header(c->resp, "X-Frame-Options", "DENY");
	response_header(c->resp, "X-Content-Type-Options", "nosniff");
	response_header(c->resp, "Referrer-Policy", "no-referrer");
	response_header(c->resp, "Cache-Control", "no-store");
}

const char *page_points_word(money_t minor)
{
	if (minor % 100 != 0)
		return "балла";
	int64_t n = (minor < 0 ? -minor : minor) / 100;
	if (n % 10 == 1 && n % 100 != 11)
		return "балл";
	if (n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14))
		return "балла";
	return "баллов";
}

void page_error_headers(struct call *c)
{
	char *style = page_style(NULL);
	page_headers(c, style);
	free(style);
}

void page_escape(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_putc(b, *s);
		}
	}
}

void page_begin(struct call *c, const struct page_brand *brand, const char *style,
		const char *fallback)
{
	struct buf *b = &c->resp->body;
	const char *name = brand && brand->company ? brand->company : fallback;
	buf_reset(b);
	c->resp->status = 200;
	c->resp->content_type = "text/html; charset=utf-8";
	buf_puts(b, "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<meta name=\"robots\" content=\"noindex\"><title>");
	page_escape(b, name);
	buf_puts(b, "</title>");
	/* The logo is an uploaded image of this origin (the media route): img-src 'self'. It is
	 * the page's icon too, so the browser does not ask for a /favicon.ico there is none of. */
	bool logo = brand && brand->logo_path && strncmp(brand->logo_path, "/", 1) == 0;
	if (logo) {
		buf_puts(b, "<link rel=\"icon\" href=\"");
		page_escape(b, brand->logo_path);
		buf_puts(b, "\">");
	}
	buf_printf(b, "<style>%s</style></head><body><main>\n<header class=\"brand\">", style);
	if (logo) {
		buf_puts(b, "<img src=\"");
		page_escape(b, brand->logo_path);
		buf_puts(b, "\" alt=\"\">");
	}
	buf_puts(b, "<h1>");
	page_escape(b, name);
	buf_puts(b, "</h1></header>\n");
}

void page_end(struct call *c)
{
	buf_puts(&c->resp->body, "</main></body></html>\n");
}

void page_not_found(struct call *c, const char *what)
{
	char *style = page_style(NULL);
	page_headers(c, style);
	page_begin(c, NULL, style, "Не найдено");
	c->resp->status = 404;
	struct buf *b = &c->resp->body;
	buf_puts(b, "<section><p>");
	page_escape(b, what);
	buf_puts(b,
		 "</p><p class=\"muted\">Проверьте ссылку или спросите кассира.</p></section>\n");
	page_end(c);
	free(style);
}

/* Decodes one application/x-www-form-urlencoded value into out (cap bytes). */
static bool form_decode(const char *in, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k + 1 >= cap)
			return false;
		char ch = in[i];
		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)in[i + 1]) ||
			    !isxdigit((unsigned char)in[i + 2]))
				return false;
			char hex[3] = {in[i + 1], in[i + 2], '\0'};
			ch = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		out[k++] = ch;
	}
	out[k] = '\0';
	return text_utf8_valid(out, k) && strlen(out) == k;
}

int page_form_value(const char *body, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < len;) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - body) : len;
		if (end - i > klen && strncmp(body + i, key, klen) == 0 && body[i + klen] == '=')
			return form_decode(body + i + klen + 1, end - i - klen - 1, out, cap) ? 1
											      : -1;
		i = end + 1;
	}
	return 0;
}

bool page_form_body(struct call *c)
{
	const struct request *req = c->req;
	if (req->body_too_large) {
		call_error(c, 413, "payload_too_large", "request body exceeds %d bytes",
			   API_FORM_BODY_MAX);
		return false;
	}
	const char *ct = req->content_type ? req->content_type : "";
	if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		call_error(c, 415, "unsupported_media_type",
			   "Content-Type must be application/x-www-form-urlencoded");
		return false;
	}
	return true;
}

/* The UTC text of ms shifted to the shops' local time: "2026-01-05T09:30:00.000Z". */
static void local_text(const struct call *c, int64_t ms, char out[UTC_TEXT_BYTES])
{
	utc_format_ms(ms + c->app->cfg->local_time_offset_minutes * 60000, out);
}

void page_time(const struct call *c, int64_t ms, char out[PAGE_TIME_BYTES])
{
	char t[UTC_TEXT_BYTES];
	local_text(c, ms, t);
	/* YYYY-MM-DDTHH:MM → DD.MM.YYYY HH:MM */
	snprintf(out, PAGE_TIME_BYTES, "%.2s.%.2s.%.4s %.5s", t + 8, t + 5, t, t + 11);
}

void page_fiscal_time(const struct call *c, int64_t ms, char out[PAGE_FISCAL_TIME_BYTES])
{
	char t[UTC_TEXT_BYTES];
	local_text(c, ms, t);
	snprintf(out, PAGE_FISCAL_TIME_BYTES, "%.4s%.2s%.2sT%.2s%.2s", t, t + 5, t + 8, t + 11,
		 t + 14);
}
