/* The customer's card: GET /c/{client token}, a public HTML page (issue 15). The merchant's
 * brand, the balance in points and rubles, a QR code of the client's token that the cashier
 * scans (the POS then finds the client with GET /clients/{token}/), the usable coupons with
 * their 6-digit codes and the last operations. No script, nothing from another origin.
 *
 * The page is a list of sections (card_sections), each writing one <section> from what
 * card_page read; a later feature (a join link) is one more entry there, and a link or a form
 * needs no change of the Content-Security-Policy.
 *
 * GET /c/{token}/pass.pkpass: the same card as an Apple Wallet pass (service/wallet.c), when
 * the --wallet-* settings are set. GET /c/{token}/gwallet answers a 303 to the card's "Save to
 * Google Wallet" link, signed at request time (core/gwallet.c), so the link on the page stays
 * short and the pass is created with the balance of the moment it is followed. The page links
 * to each that is configured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gwallet.h"
#include "domain/image.h"
#include "domain/qr.h"
#include "handlers/handlers.h"
#include "handlers/page.h"
#include "service/cardupdates.h"
#include "service/ledger.h"
#include "service/wallet.h"
#include "store/clients.h"
#include "store/coupons.h"
#include "store/media.h"
#include "store/wallet.h"

/* The last operations the page lists. */
#define CARD_OPERATIONS 10

/* What the page shows, read in one read transaction. */
struct card {
	struct call *c;
	struct client client;
	struct page_brand brand;
	money_t available[CURRENCY_COUNT];
	bool open; /* the read transaction is open */
};

static enum store_rc section_balance(struct card *k, struct buf *b)
{
	char points[FIXED_FMT_MAX], rubles[FIXED_FMT_MAX];
	fixed_format(k->available[CUR_POINTS], MONEY_DIGITS, points);
	fixed_format(k->available[CUR_RUBLES], MONEY_DIGITS, rubles);
	buf_puts(b, "<section aria-labelledby=\"balance\"><h2 id=\"balance\">Баланс</h2>");
	buf_printf(b, "<p class=\"balance\" data-points=\"%s\">%s <small>%s</small></p>", points,
		   points, page_points_word(k->available[CUR_POINTS]));
	buf_printf(b,
		   "<p class=\"muted\" data-rubles=\"%s\">Рублей на счёте: %s ₽</p>",
		   rubles, rubles);
	if (k->client.name) {
		buf_puts(b, "<p class=\"muted\">");
		page_escape(b, k->client.name);
		buf_puts(b, "</p>");
	}
	buf_puts(b, "</section>\n");
	return STORE_OK;
}

static enum store_rc section_code(struct card *k, struct buf *b)
{
	buf_puts(b, "<section aria-labelledby=\"scan\"><h2 id=\"scan\">Покажите кассиру</h2>");
	char *svg = qr_svg(k->client.token, "qr", "QR-код карты", NULL);
	if (svg)
		buf_puts(b, svg);
	free(svg);
	buf_printf(b, "<p class=\"token\">%s</p></section>\n", k->client.token);
	return STORE_OK;
}

/* The "Add to Apple Wallet" and "Add to Google Wallet" links, each when configured: paths of
 * this origin, like the receipt page's link to the card. */
static enum store_rc section_wallet(struct card *k, struct buf *b)
{
	const struct app *app = k->c->app;
	if (!app->wallet && !app->gwallet)
		return STORE_OK;
	buf_puts(b, "<section aria-labelledby=\"wallet\"><h2 id=\"wallet\">Карта в телефоне</h2>");
	if (app->wallet)
		buf_printf(b,
			   "<a class=\"button\" data-wallet=\"apple\" href=\"/c/%s/pass.pkpass\">"
			   "Добавить в Apple Wallet</a>\n",
			   k->client.token);
	/* To /c/{token}/gwallet, which signs the save link when it is followed. */
	if (app->gwallet)
		buf_printf(
		    b,
		    "<a class=\"button\" data-gwallet href=\"/c/%s/gwallet\" rel=\"nofollow\">"
		    "Добавить в Google Wallet</a>\n",
		    k->client.token);
	buf_puts(b, "</section>\n");
	return STORE_OK;
}

/* A section written row by row from a store walk: it opens at the first row. */
struct rows_ctx {
	struct card *k;
	struct buf *b;
	int n; /* rows written */
};

/* The buffer to write the next row to, after the section's opening when it is the first. */
static struct buf *next_row(struct rows_ctx *x, const char *opening)
{
	if (x->n++ == 0)
		buf_puts(x->b, opening);
	return x->b;
}

static bool write_coupon(void *ctx, const struct coupon_instance *ci)
{
	struct rows_ctx *x = ctx;
	struct buf *b = next_row(x, "<section aria-labelledby=\"coupons\"><h2 id=\"coupons\">"
				    "Купоны</h2><ul class=\"list\">");
	const char *title = ci->catalog.title ? ci->catalog.title : ci->catalog.header;
	buf_puts(b, "<li><b>");
	page_escape(b, title ? title : "Купон");
	buf_puts(b, "</b>");
	if (ci->catalog.header && title != ci->catalog.header) {
		buf_puts(b, "<br>");
		page_escape(b, ci->catalog.header);
	}
	buf_printf(b, "<br>Код: <span class=\"code\">%s</span>", ci->merchant_token);
	if (ci->expires_ms) {
		char until[PAGE_TIME_BYTES];
		page_time(x->k->c, ci->expires_ms, until);
		buf_printf(b, " <span class=\"muted\">до %.10s</span>", until);
	}
	buf_puts(b, "</li>");
	return true;
}

static enum store_rc section_coupons(struct card *k, struct buf *b)
{
	struct rows_ctx x = {k, b, 0};
	enum store_rc rc = STORE(k->c->db, coupons_usable, k->client.merchant_id, k->client.id,
				 now_ms(), write_coupon, &x);
	if (x.n)
		buf_puts(b, "</ul></section>\n");
	return rc;
}

/* What a ledger row is called on the card. */
static const char *operation_label(enum ledger_type t)
{
	static const char *const labels[] = {
	    [LEDGER_ACCRUAL] = "Начисление за покупку",
	    [LEDGER_SPEND] = "Оплата баллами",
	    [LEDGER_REFUND_ACCRUAL] = "Возврат покупки: начисление отменено",
	    [LEDGER_REFUND_SPEND] = "Возврат покупки: баллы вернулись",
	    [LEDGER_EXPIRE] = "Баллы сгорели",
	    [LEDGER_HOLD] = "Резерв баллов",
	    [LEDGER_RELEASE] = "Резерв снят",
	    [LEDGER_ADJUST] = "Корректировка",
	    [LEDGER_OPENING] = "Перенос баланса",
	};
	return (size_t)t < sizeof(labels) / sizeof(labels[0]) && labels[t] ? labels[t] : "Операция";
}

static bool write_operation(void *ctx, const struct ledger_entry *e)
{
	struct rows_ctx *x = ctx;
	struct buf *b = next_row(x, "<section aria-labelledby=\"operations\"><h2 "
				    "id=\"operations\">Операции</h2><table>");
	char when[PAGE_TIME_BYTES], amount[FIXED_FMT_MAX];
	page_time(x->k->c, e->created_ms, when);
	fixed_format(e->amount_minor, MONEY_DIGITS, amount);
	buf_printf(b,
		   "<tr><td class=\"muted\">%s</td><td>%s</td><td class=\"num\">%s%s %s</td></tr>",
		   when, operation_label(e->type), e->amount_minor > 0 ? "+" : "", amount,
		   e->currency == CUR_RUBLES ? "₽" : "б.");
	return true;
}

static enum store_rc section_operations(struct card *k, struct buf *b)
{
	struct rows_ctx x = {k, b, 0};
	enum store_rc rc = STORE(k->c->db, ledger_list, k->client.id, 0, INT64_MAX / 10, 0,
				 CARD_OPERATIONS, write_operation, &x);
	if (x.n)
		buf_puts(b, "</table></section>\n");
	else
		buf_puts(b, "<section><p class=\"muted\">Операций пока нет.</p></section>\n");
	return rc;
}

/* The page's sections, top to bottom. */
static enum store_rc (*const card_sections[])(struct card *k, struct buf *b) = {
    section_balance, section_code, section_wallet, section_coupons, section_operations,
};

/* The {file} segment as a client token: 32 lowercase hex digits. */
static bool token_shape(const char *t)
{
	if (!t || strlen(t) != 32)
		return false;
	for (size_t i = 0; i < 32; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	return true;
}

/* Opens the read transaction and reads the card of client `token` into k: the client, its
 * merchant's brand and the balances. STORE_NOT_FOUND: no such client. Close with card_close
 * whatever it returns. */
static enum store_rc card_load(struct call *c, const char *token, struct card *k)
{
	enum store_rc rc = STORE(c->db, begin, false);
	if (rc != STORE_OK)
		return rc;
	k->open = true;
	rc = STORE(c->db, client_by_token, token, &k->client);
	if (rc != STORE_OK)
		return rc;
	c->who.merchant_id = k->client.merchant_id;
	c->resp->merchant_id = k->client.merchant_id;
	rc = page_brand_load(c, k->client.merchant_id, &k->brand);
	int64_t now = now_ms();
	for (int cur = 0; cur < CURRENCY_COUNT && rc == STORE_OK; cur++)
		rc = ledger_available(c->db, k->client.id, (enum currency)cur, now,
				      &k->available[cur]);
	return rc;
}

static void card_close(struct card *k)
{
	if (k->open)
		k->c->db->ops->rollback(k->c->db);
	page_brand_free(&k->brand);
	client_clear(&k->client);
}

void card_page(struct call *c)
{
	struct card k = {.c = c};
	char *style = NULL;
	if (!token_shape(c->file)) {
		page_not_found(c, "Такой карты нет.");
		return;
	}
	enum store_rc rc = card_load(c, c->file, &k);
	if (rc == STORE_NOT_FOUND) {
		page_not_found(c, "Такой карты нет.");
		goto cleanup;
	}
	if (rc != STORE_OK) {
		page_error_headers(c);
		call_store_error(c, rc);
		goto cleanup;
	}
	style = page_style(&k.brand);
	page_headers(c, style);
	page_begin(c, &k.brand, style, "Карта покупателя");
	for (size_t i = 0; i < ARRAY_LEN(card_sections) && rc == STORE_OK; i++)
		rc = card_sections[i](&k, &c->resp->body);
	page_end(c);
	if (rc != STORE_OK)
		call_store_error(c, rc);
cleanup:
	card_close(&k);
	free(style);
}

static bool count_coupon(void *ctx, const struct coupon_instance *ci)
{
	(*(int64_t *)ctx)++;
	return true;
}

/* The merchant's logo into out when it is an uploaded PNG (the only format a pass takes);
 * false otherwise, out then empty. */
static bool logo_png(struct call *c, const struct page_brand *brand, struct buf *out)
{
	const char *slash = brand->logo_path ? strrchr(brand->logo_path, '/') : NULL;
	if (!slash || image_name_type(slash + 1) != IMAGE_PNG ||
	    !media_read(c->app->media_dir, slash + 1, API_UPLOAD_FILE_MAX, out))
		return false;
	if (image_sniff((const unsigned char *)out->data, out->len) == IMAGE_PNG)
		return true;
	buf_reset(out);
	return false;
}

void card_pass_send(struct call *c, const char *token, bool web_service)
{
	struct card k = {.c = c};
	struct buf logo;
	buf_init(&logo);
	enum store_rc rc = card_load(c, token, &k);
	int64_t coupons = 0, tag = 0;
	if (rc == STORE_OK)
		rc = STORE(c->db, coupons_usable, k.client.merchant_id, k.client.id, now_ms(),
			   count_coupon, &coupons);
	/* The tag read with the card: a change after it moves the tag past it. */
	if (rc == STORE_OK && web_service)
		rc = STORE(c->db, card_update_tag, k.client.id, &tag);
	if (rc == STORE_NOT_FOUND) {
		call_error(c, 404, "not_found", "no such card");
		goto cleanup;
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		goto cleanup;
	}
	if (web_service && tag > 0) {
		/* Last-Modified in whole seconds: each change moves the tag to a later second
		 * (CARD_UPDATE_NOTE), so a pass as old as If-Modified-Since is the latest. */
		char date[HTTP_DATE_BYTES];
		int64_t since = 0;
		http_date_format(tag / 1000, date);
		response_header(c->resp, "Last-Modified", date);
		if (http_date_parse(c->req->if_modified_since, &since) && tag / 1000 <= since) {
			buf_reset(&c->resp->body);
			c->resp->status = 304;
			goto cleanup;
		}
	}
	char points[FIXED_FMT_MAX], rubles[FIXED_FMT_MAX], card_url[1024];
	fixed_format(k.available[CUR_POINTS], MONEY_DIGITS, points);
	fixed_format(k.available[CUR_RUBLES], MONEY_DIGITS, rubles);
	snprintf(card_url, sizeof(card_url), "%s/c/%s", c->app->cfg->public_url, k.client.token);
	char service_url[1024];
	struct wallet_card card = {
	    .web_service_url = passkit_service_url(c->app->cfg, service_url, sizeof(service_url))
				   ? service_url
				   : NULL,
	    .merchant_id = k.client.merchant_id,
	    .client_id = k.client.id,
	    .organization = k.brand.company,
	    .token = k.client.token,
	    .card_url = card_url,
	    .points = points,
	    .rubles = rubles,
	    .coupons = coupons,
	};
	card.light = page_brand_rgb(&k.brand, card.rgb);
	if (logo_png(c, &k.brand, &logo)) {
		card.logo = (const unsigned char *)logo.data;
		card.logo_len = logo.len;
	}
	size_t len = 0;
	unsigned char *pass = wallet_pass(c->app->wallet, &card, &len);
	if (!pass) {
		call_error(c, 500, "internal_error", "the pass could not be signed");
		goto cleanup;
	}
	buf_reset(&c->resp->body);
	buf_append(&c->resp->body, pass, len);
	free(pass);
	c->resp->status = 200;
	c->resp->content_type = "application/vnd.apple.pkpass";
	if (!web_service)
		response_header(c->resp, "Content-Disposition",
				"attachment; filename=\"pass.pkpass\"");
cleanup:
	card_close(&k);
	buf_free(&logo);
}

void card_pass(struct call *c)
{
	/* Every answer of /c/ carries the public pages' headers (docs/CARD.md). */
	page_error_headers(c);
	if (!c->app->wallet) {
		call_error(c, 404, "not_found",
			   "Apple Wallet passes are not configured on this server (the --wallet-* "
			   "settings)");
		return;
	}
	/* {token}: empty when the segment is not 32 lowercase hex digits. */
	if (!token_shape(c->ref_token)) {
		call_error(c, 404, "not_found", "no such card");
		return;
	}
	card_pass_send(c, c->ref_token, false);
}

/* The card's save link (gwallet_save_url) into a 303, from what card_load read. */
static void gwallet_redirect(struct card *k)
{
	struct call *c = k->c;
	const struct app *app = c->app;
	char points[FIXED_FMT_MAX];
	fixed_format(k->available[CUR_POINTS], MONEY_DIGITS, points);
	/* Google fetches the logo itself: only an absolute --public-url makes a URL it can. */
	char *logo_url = NULL;
	const char *base = app->cfg->public_url ? app->cfg->public_url : "";
	if (k->brand.logo_path && k->brand.logo_path[0] == '/' &&
	    (strncmp(base, "https://", 8) == 0 || strncmp(base, "http://", 7) == 0)) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s%s", base, k->brand.logo_path);
		logo_url = buf_steal(&b, NULL);
	}
	const char *name = k->brand.company && *k->brand.company ? k->brand.company : "Kopilka";
	struct gwallet_card card = {
	    .merchant_id = k->client.merchant_id,
	    .client_id = k->client.id,
	    .token = k->client.token,
	    .issuer_name = name,
	    .program_name = name,
	    .logo_url = logo_url,
	    .color =
		k->brand.color && strlen(k->brand.color) == 7 ? k->brand.color : PAGE_DEFAULT_BRAND,
	    .account_name = k->client.name && *k->client.name ? k->client.name : NULL,
	    .points = points,
	};
	char *url = gwallet_save_url(app->gwallet, &card, now_ms() / 1000);
	free(logo_url);
	if (!url) {
		call_error(c, 500, "internal_error", "the Google Wallet link could not be signed");
		return;
	}
	c->resp->status = 303;
	c->resp->content_type = "text/html; charset=utf-8";
	buf_reset(&c->resp->body);
	response_header(c->resp, "Location", url);
	free(url);
}

struct gwallet_follow {
	int64_t merchant_id, client_id;
};

/* Notes that client_id's Google card may be saved: its balance changes then set the saved
 * object's (service/cardupdates.c). Once per client (a second follow changes nothing). */
static enum store_rc gwallet_follow_tx(struct call *c, void *ctx)
{
	struct gwallet_follow *f = ctx;
	bool created;
	return STORE(c->db, pass_register, CARD_UPDATES_GOOGLE, CARD_UPDATES_GOOGLE, f->merchant_id,
		     f->client_id, "", now_ms(), &created);
}

void card_gwallet(struct call *c)
{
	page_error_headers(c);
	if (!c->app->gwallet) {
		call_error(c, 404, "not_found",
			   "Google Wallet is not configured on this server (--gwallet-issuer-id, "
			   "--gwallet-service-account)");
		return;
	}
	if (!c->ref_token[0]) {
		call_error(c, 404, "not_found", "no card has this token");
		return;
	}
	struct card k = {.c = c};
	enum store_rc rc = card_load(c, c->ref_token, &k);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "no card has this token");
	else if (rc != STORE_OK)
		call_store_error(c, rc);
	if (rc != STORE_OK) {
		card_close(&k);
		return;
	}
	/* The read is over; the follow is written before the link is given (a card saved from
	 * it then gets every later change). */
	c->db->ops->rollback(c->db);
	k.open = false;
	if (card_updates_on()) {
		struct gwallet_follow f = {.merchant_id = k.client.merchant_id,
					   .client_id = k.client.id};
		call_write_tx_rows(c, gwallet_follow_tx, &f);
	}
	if (c->resp->status < 400)
		gwallet_redirect(&k);
	card_close(&k);
}
