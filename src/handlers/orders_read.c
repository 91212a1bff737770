/* Reading orders (API.md 4.2: the list with its filters, an order's items) and the customer's
 * reaction to an order (section 6). A cashier sees only the orders they created; anything
 * else answers like an order that does not exist. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/money.h"
#include "domain/qr.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "handlers/page.h"
#include "service/orders.h"
#include "service/views.h"
#include "store/accounts.h"
#include "store/clients.h"
#include "store/orders.h"

/* The order is visible to the caller: theirs, unless they are a cashier who did not make it. */
static bool visible(const struct call *c, const struct order *o)
{
	return c->who.role != ROLE_CASHIER || o->created_by == c->who.account_id;
}

static void write_order(struct call *c, struct jw *w, const struct order *o)
{
	struct client cl = {0};
	struct account emp = {0};
	bool has_client = o->client_id && STORE(c->db, client_get, c->who.merchant_id, o->client_id,
						&cl) == STORE_OK;
	bool has_emp = o->created_by &&
		       STORE(c->db, account_self, o->created_by, &emp) == STORE_OK &&
		       emp.kind == ACCOUNT_EMPLOYEE;
	view_order(w, o, has_client ? &cl : NULL, has_emp ? &emp : NULL, c->app->cfg->public_url);
	client_clear(&cl);
	account_clear(&emp);
}

struct list_ctx {
	struct call *c;
	struct jw *w;
};

static bool write_order_row(void *ctx, const struct order *o)
{
	struct list_ctx *l = ctx;
	write_order(l->c, l->w, o);
	return true;
}

/* A non-negative integer query parameter, or def. */
static bool query_int64(struct call *c, const char *key, int64_t def, int64_t *out)
{
	const char *v = request_query(c->req, key);
	*out = def;
	if (!v || !*v)
		return true;
	if (fixed_parse(v, 0, INT64_MAX / 10, out) != FIXED_OK || *out < 0) {
		call_error(c, 400, "validation_failed", "%s: must be a non-negative integer", key);
		return false;
	}
	return true;
}

/* A fn/fd filter as a LIKE pattern: '%' is the wildcard, every other character itself. */
static bool query_like(struct call *c, const char *key, char *out, size_t cap, const char **res)
{
	const char *v = request_query(c->req, key);
	*res = NULL;
	if (!v || !*v)
		return true;
	size_t n = 0;
	for (const char *p = v; *p; p++) {
		if (n + 3 >= cap) {
			call_error(c, 400, "validation_failed", "%s: at most 64 characters", key);
			return false;
		}
		if (*p == '\\' || *p == '_')
			out[n++] = '\\';
		out[n++] = *p;
	}
	out[n] = '\0';
	*res = out;
	return true;
}

void fiscal_orders_get(struct call *c)
{
	struct order_query q = {.receipt_type = -1};
	char fn[160], fd[160];
	const char *type = request_query(c->req, "receipt_type");
	if (!query_int64(c, "from", 0, &q.from_ms) ||
	    !query_int64(c, "to", INT64_MAX / 10, &q.to_ms) ||
	    !query_int64(c, "client_id", 0, &q.client_id) ||
	    !query_like(c, "fn", fn, sizeof(fn), &q.fn_like) ||
	    !query_like(c, "fd", fd, sizeof(fd), &q.fd_like) ||
	    !query_paging(c, &q.offset, &q.limit))
		return;
	if (type && *type) {
		if (strcmp(type, "sale") == 0)
			q.receipt_type = 0;
		else if (strcmp(type, "refund") == 0)
			q.receipt_type = 1;
		else {
			call_error(c, 400, "validation_failed",
				   "receipt_type: must be \"sale\" or \"refund\"");
			return;
		}
	}
	if (c->who.role == ROLE_CASHIER)
		q.created_by = c->who.account_id;
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	struct list_ctx l = {c, &w};
	enum store_rc rc = STORE(c->db, orders_list, c->who.merchant_id, &q, write_order_row, &l);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

/* Loads the {id} order if the caller may see it; writes 404 otherwise. */
static bool load_order(struct call *c, struct order *o)
{
	enum store_rc rc = STORE(c->db, order_get, c->who.merchant_id, c->path_id[0], o);
	if (rc == STORE_OK && visible(c, o))
		return true;
	if (rc == STORE_OK || rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "order %lld not found", (long long)c->path_id[0]);
	else
		call_store_error(c, rc);
	return false;
}

/* GET /fiscal/orders/{id}/ [ext]: one order as the list shows it. */
void fiscal_order_get(struct call *c)
{
	struct order o = {0};
	if (load_order(c, &o)) {
		struct jw w;
		call_json(c, 200, &w);
		write_order(c, &w, &o);
	}
	order_clear(&o);
}

static bool write_item_row(void *ctx, const struct order_item *it)
{
	view_order_item(ctx, it);
	return true;
}

void order_items_list(struct call *c)
{
	struct order o = {0};
	if (load_order(c, &o)) {
		struct jw w;
		call_json(c, 200, &w);
		jw_arr_begin(&w);
		enum store_rc rc =
		    STORE(c->db, order_items, c->who.merchant_id, o.id, write_item_row, &w);
		if (rc != STORE_OK)
			call_store_error(c, rc);
		else
			jw_arr_end(&w);
	}
	order_clear(&o);
}

struct reaction_req {
	int reaction;
	const char *comment;
};

static enum store_rc reaction_tx(struct call *c, void *ctx)
{
	struct reaction_req *r = ctx;
	struct order o = {0};
	enum store_rc rc = STORE_NOT_FOUND;
	if (!load_order(c, &o))
		goto cleanup;
	rc = order_react(c->db, &o, r->reaction, r->comment);
	order_clear(&o);
	if (rc == STORE_OK)
		rc = STORE(c->db, order_get, c->who.merchant_id, c->path_id[0], &o);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		write_order(c, &w, &o);
	}
cleanup:
	order_clear(&o);
	return rc;
}

void order_reaction(struct call *c)
{
	struct reaction_req r = {0};
	const char *name = NULL;
	if (!body_string(c, c->body, "reaction", "reaction", true, 1, 16, &name) ||
	    !body_string(c, c->body, "comment", "comment", false, 0, 1024, &r.comment))
		return;
	for (int i = 1; i <= 3; i++)
		if (strcmp(name, view_reaction_names[i]) == 0)
			r.reaction = i;
	if (!r.reaction) {
		call_error(c, 400, "validation_failed",
			   "reaction: must be \"positive\", \"neutral\" or \"negative\"");
		return;
	}
	call_write_tx(c, reaction_tx, &r);
}

/* ---- the public receipt page: GET /r/{token}, and its reaction form (API.md 6) ---- */

static const char *const reaction_labels[] = {NULL, "&#128077; хорошо", "&#128528; нормально",
					      "&#128078; плохо"};

/* The order of a {file} receipt token (32 lowercase hex); writes 404 when there is none. */
static bool receipt_order(struct call *c, struct order *o)
{
	const char *t = c->file;
	bool ok = t && strlen(t) == 32;
	for (size_t i = 0; ok && i < 32; i++)
		ok = (t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f');
	enum store_rc rc = ok ? STORE(c->db, order_by_token, t, o) : STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		c->who.merchant_id = o->merchant_id;
		return true;
	}
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "no such receipt");
	else
		call_store_error(c, rc);
	return false;
}

/* A unit of the API (order.items[].unit) as a Russian receipt prints it. */
static const char *unit_ru(const char *unit)
{
	static const struct {
		const char *api, *ru;
	} units[] = {{"piece", "шт"}, {"kg", "кг"}, {"g", "г"}, {"L", "л"}, {"ml", "мл"}};
	for (size_t i = 0; i < ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].api) == 0)
			return units[i].ru;
	return unit;
}

static bool write_item_html(void *ctx, const struct order_item *it)
{
	struct buf *b = ctx;
	char qty[FIXED_FMT_MAX], price[FIXED_FMT_MAX], total[FIXED_FMT_MAX];
	fixed_format(it->qty_milli, QTY_DIGITS, qty);
	fixed_format(it->price_minor, MONEY_DIGITS, price);
	fixed_format(it->total_minor, MONEY_DIGITS, total);
	buf_puts(b, "<tr><td>");
	page_escape(b, it->name);
	buf_printf(b, "</td><td class=\"num\">%s %s × %s</td><td class=\"num\">%s ₽</td></tr>\n",
		   qty, unit_ru(it->unit), price, total);
	return true;
}

/* "₽", or the word for that many points: what an amount is counted in on the page. */
static const char *currency_unit(enum currency cur, money_t minor)
{
	return cur == CUR_RUBLES ? "₽" : page_points_word(minor);
}

/* The receipt's fiscal details (ФН, ФД, ФП) when the order carries any, and with all three
 * the QR code of the fiscal receipt that the tax service's app checks. */
static void write_fiscal(struct call *c, struct buf *b, const struct order *o)
{
	if (!o->fn && !o->fd && !o->fp)
		return;
	buf_puts(b, "<section aria-labelledby=\"fiscal\"><h2 id=\"fiscal\">Фискальные данные</h2>"
		    "<p class=\"muted\">");
	const char *labels[] = {"ФН", "ФД", "ФП"}, *values[] = {o->fn, o->fd, o->fp};
	for (int i = 0; i < 3; i++) {
		if (!values[i])
			continue;
		buf_printf(b, "%s: ", labels[i]);
		page_escape(b, values[i]);
		buf_puts(b, "<br>");
	}
	buf_puts(b, "</p>");
	char when[PAGE_FISCAL_TIME_BYTES], text[QR_FISCAL_MAX];
	page_fiscal_time(c, o->external_date_ms ? o->external_date_ms : o->order_date_ms, when);
	if (qr_fiscal_text(text, sizeof(text), when, o->total_minor, o->fn, o->fd, o->fp,
			   o->refund)) {
		char *svg = qr_svg(text, "qr", "QR-код чека для проверки в приложении ФНС", NULL);
		if (svg) {
			buf_printf(b, "<figure data-fiscal-qr=\"%s\">", text);
			buf_puts(b, svg);
			buf_puts(b, "<figcaption class=\"muted\">Отсканируйте в приложении "
				    "«Проверка чеков» ФНС</figcaption></figure>");
		}
		free(svg);
	}
	buf_puts(b, "</section>\n");
}

void receipt_page(struct call *c)
{
	struct order o = {0};
	struct page_brand brand = {0};
	struct client cl = {0};
	char *style = NULL;
	enum store_rc rc = STORE_OK;
	if (!receipt_order(c, &o))
		goto headers;
	rc = page_brand_load(c, o.merchant_id, &brand);
	bool has_client = false;
	if (rc == STORE_OK && o.client_id) {
		rc = STORE(c->db, client_get, o.merchant_id, o.client_id, &cl);
		has_client = rc == STORE_OK;
		if (rc == STORE_NOT_FOUND)
			rc = STORE_OK;
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		goto headers;
	}
	style = page_style(&brand);
	page_headers(c, style);
	page_begin(c, &brand, style, "Чек");
	struct buf *b = &c->resp->body;
	char date[PAGE_TIME_BYTES], total[FIXED_FMT_MAX], accrued[FIXED_FMT_MAX],
	    spent[FIXED_FMT_MAX];
	page_time(c, o.external_date_ms ? o.external_date_ms : o.order_date_ms, date);
	fixed_format(o.total_minor, MONEY_DIGITS, total);
	fixed_format(o.accrued_minor, MONEY_DIGITS, accrued);
	fixed_format(o.spent_minor, MONEY_DIGITS, spent);
	buf_printf(b, "<section><h2>%s № %lld, %s</h2>\n<table>\n", o.refund ? "Возврат" : "Чек",
		   (long long)o.order_number, date);
	rc = STORE(c->db, order_items, o.merchant_id, o.id, write_item_html, b);
	buf_printf(b, "</table>\n<p><b>Итого: %s ₽</b></p></section>\n", total);
	/* What the order did to the points: a sale accrued and spent them, a refund took the
	 * accrual back and returned what its sale spent. */
	buf_puts(b, "<section aria-labelledby=\"points\"><h2 id=\"points\">Баллы</h2><p>");
	buf_printf(b, "%s: <b data-accrued=\"%s\">%s %s</b><br>",
		   o.refund ? "Начисление отменено" : "Начислено", accrued, accrued,
		   currency_unit(o.accrued_currency, o.accrued_minor));
	buf_printf(b, "%s: <b data-spent=\"%s\">%s %s</b></p>",
		   o.refund ? "Возвращено на счёт" : "Списано", spent, spent,
		   currency_unit(o.spent_currency, o.spent_minor));
	if (has_client && !cl.erased_ms) /* an erased client has no card */
		buf_printf(b, "<a class=\"button\" href=\"/c/%s\">Моя карта и баланс</a>",
			   cl.token);
	buf_puts(b, "</section>\n");
	write_fiscal(c, b, &o);
	if (o.reaction >= 1 && o.reaction <= 3) {
		buf_printf(b, "<section><p>Спасибо! Ваша оценка: %s</p></section>\n",
			   reaction_labels[o.reaction]);
	} else if (!o.refund) {
		buf_printf(b,
			   "<section><form method=\"post\" action=\"/r/%s\"><p>Как вам покупка?"
			   "</p>\n",
			   o.public_token);
		for (int i = 1; i <= 3; i++)
			buf_printf(b, "<button name=\"reaction\" value=\"%s\">%s</button>\n",
				   view_reaction_names[i], reaction_labels[i]);
		buf_puts(b, "<p><textarea name=\"comment\" maxlength=\"1024\" "
			    "placeholder=\"Комментарий\"></textarea></p></form></section>\n");
	}
	page_end(c);
	if (rc != STORE_OK)
		call_store_error(c, rc);
	goto cleanup;
headers:
	/* An error answer of /r/ carries the same headers as the page. */
	page_error_headers(c);
cleanup:
	free(style);
	page_brand_free(&brand);
	client_clear(&cl);
	order_clear(&o);
}

static enum store_rc receipt_react_tx(struct call *c, void *ctx)
{
	struct reaction_req *r = ctx;
	struct order o = {0};
	enum store_rc rc = STORE_NOT_FOUND;
	if (!receipt_order(c, &o))
		goto cleanup;
	if (o.refund || o.reaction) {
		call_error(c, 409, "reaction_not_allowed",
			   o.refund ? "a refund takes no reaction"
				    : "this receipt already has the customer's reaction");
		goto cleanup;
	}
	rc = order_react(c->db, &o, r->reaction, r->comment);
	if (rc == STORE_OK) {
		char location[64];
		snprintf(location, sizeof(location), "/r/%s", o.public_token);
		c->resp->status = 303;
		c->resp->content_type = "text/html; charset=utf-8";
		buf_reset(&c->resp->body);
		response_header(c->resp, "Location", location);
	}
cleanup:
	order_clear(&o);
	return rc;
}

void receipt_react(struct call *c)
{
	page_error_headers(c);
	const struct request *req = c->req;
	if (!page_form_body(c))
		return;
	char name[16], comment[1024 * 4 + 1] = "";
	struct reaction_req r = {0};
	const char *body = req->body ? req->body : "";
	if (page_form_value(body, req->body_len, "reaction", name, sizeof(name)) == 1)
		for (int i = 1; i <= 3; i++)
			if (strcmp(name, view_reaction_names[i]) == 0)
				r.reaction = i;
	if (!r.reaction) {
		call_error(c, 400, "validation_failed",
			   "reaction: must be \"positive\", \"neutral\" or \"negative\"");
		return;
	}
	int has_comment = page_form_value(body, req->body_len, "comment", comment, sizeof(comment));
	if (has_comment < 0 || (has_comment && text_utf8_length(comment) > 1024)) {
		call_error(c, 400, "validation_failed",
			   "comment: at most 1024 characters of UTF-8, form-encoded");
		return;
	}
	r.comment = has_comment && *comment ? comment : NULL;
	call_write_tx(c, receipt_react_tx, &r);
}
