/* Two-phase spends (API.md 4.3): POST /fiscal_hub/cash_back/hold/ reserves points and coupons,
 * .../hold/write_off/ makes the reservation final, .../hold/cancel/ gives it back; a hold past
 * its expiry is released by itself. And the one-step spend of 4.1, POST
 * /clients/{id}/balance/write_off/, kept as holds written off as they are made, so that every
 * spend outside an order has a row that names it (its transaction id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"
#include "service/holds.h"
#include "service/ledger.h"
#include "service/views.h"
#include "store/coupons.h"

#define HOLD_COUPONS 100
#define FISCAL_ORDER_ID_MAX 64
/* The longest a hold may be asked to live. */
#define HOLD_MAX_DAYS 365

static void view_hold_of(struct call *c, struct jw *w, const struct hold *h, int64_t now)
{
	int64_t ids[HOLD_COUPONS];
	size_t n = 0;
	if (STORE(c->db, coupons_of_order, h->id, 2, ids, HOLD_COUPONS, &n) != STORE_OK)
		n = 0;
	view_hold(w, h, now, ids, n);
}

static void answer_hold(struct call *c, const struct hold *h, int64_t now)
{
	struct jw w;
	call_json(c, 200, &w);
	view_hold_of(c, &w, h, now);
}

/* The currency a request names, or the program's when absent (-1 after a 400). */
static int parse_currency(struct call *c, json_t *obj, const char *name)
{
	const char *cur = NULL;
	if (!body_string(c, obj, "currency", name, false, 1, 16, &cur))
		return -1;
	if (!cur)
		return CURRENCY_COUNT; /* the program's: read in the transaction */
	int v = currency_parse(cur);
	if (v < 0)
		call_error(c, 400, "validation_failed", "%s: must be \"points\" or \"rubles\"",
			   name);
	return v;
}

/* ---- POST /fiscal_hub/cash_back/hold/ ---- */

struct hold_req {
	int64_t client_id;
	int currency; /* CURRENCY_COUNT: the program's */
	money_t amount_minor;
	int64_t expires_ms; /* 0: the default */
	int64_t coupons[HOLD_COUPONS];
	size_t n_coupons;
};

static enum store_rc hold_tx(struct call *c, void *ctx)
{
	const struct hold_req *r = ctx;
	int64_t now = now_ms();
	struct hold_request req = {.merchant_id = c->who.merchant_id,
				   .account_id = c->who.account_id,
				   .client_id = r->client_id,
				   .currency = r->currency,
				   .amount_minor = r->amount_minor,
				   .expires_ms = r->expires_ms,
				   .coupons = r->coupons,
				   .n_coupons = r->n_coupons};
	struct hold h = {0};
	struct outcome o = {0};
	if (hold_reserve(c->db, &req, now, &h, &o))
		answer_hold(c, &h, now);
	hold_clear(&h);
	return call_outcome(c, &o);
}

void holds_create(struct call *c)
{
	struct hold_req r = {0};
	int64_t now = now_ms();
	json_t *coupons = NULL;
	if (!body_int(c, c->body, "clientId", "clientId", true, 1, INT64_MAX, &r.client_id, NULL) ||
	    !body_money(c, c->body, "amount", "amount", false, false, &r.amount_minor, NULL) ||
	    !body_array(c, c->body, "couponIds", "couponIds", false, &coupons) ||
	    !body_ids(c, coupons, "couponIds", "coupon", HOLD_COUPONS, r.coupons, &r.n_coupons) ||
	    !body_int(c, c->body, "expirationDate", "expirationDate", false, now + 1,
		      now + HOLD_MAX_DAYS * MS_PER_DAY, &r.expires_ms, NULL))
		return;
	if ((r.currency = parse_currency(c, c->body, "currency")) < 0)
		return;
	if (r.amount_minor == 0 && r.n_coupons == 0) {
		call_error(c, 400, "validation_failed",
			   "amount: a hold must reserve an amount above 0 or at least one coupon "
			   "(couponIds)");
		return;
	}
	call_write_tx_rows(c, hold_tx, &r);
}

/* ---- write-off and cancel ---- */

struct hold_end_req {
	char transaction_id[37];
	char fiscal_order_id[FISCAL_ORDER_ID_MAX * 4 + 1];
	bool cancel;
};

static enum store_rc hold_end_tx(struct call *c, void *ctx)
{
	const struct hold_end_req *r = ctx;
	int64_t now = now_ms();
	struct hold_end_request req = {.merchant_id = c->who.merchant_id,
				       .transaction_id = r->transaction_id,
				       .fiscal_order_id =
					   r->fiscal_order_id[0] ? r->fiscal_order_id : NULL,
				       .cancel = r->cancel};
	struct hold h = {0};
	struct outcome o = {0};
	if (hold_end(c->db, &req, now, &h, &o))
		answer_hold(c, &h, now);
	hold_clear(&h);
	return call_outcome(c, &o);
}

static void end_hold(struct call *c, bool cancel)
{
	struct hold_end_req r = {.cancel = cancel};
	const char *tx = NULL;
	if (!body_string(c, c->body, "transactionId", "transactionId", true, 36, 36, &tx))
		return;
	bool ok = true;
	for (size_t i = 0; i < 36 && ok; i++) {
		char ch = tx[i];
		ok = (i == 8 || i == 13 || i == 18 || i == 23)
			 ? ch == '-'
			 : (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			       (ch >= 'A' && ch <= 'F');
	}
	if (!ok) {
		call_error(c, 400, "validation_failed",
			   "transactionId: must be a UUID (8-4-4-4-12 hexadecimal digits)");
		return;
	}
	for (size_t i = 0; i < 36; i++)
		r.transaction_id[i] = (tx[i] >= 'A' && tx[i] <= 'F') ? (char)(tx[i] + 32) : tx[i];
	if (!cancel &&
	    !body_text_id(c, c->body, "fiscalOrderId", "fiscalOrderId", false, FISCAL_ORDER_ID_MAX,
			  r.fiscal_order_id, sizeof(r.fiscal_order_id)))
		return;
	call_write_tx_rows(c, hold_end_tx, &r);
}

void holds_write_off(struct call *c)
{
	end_hold(c, false);
}

void holds_cancel(struct call *c)
{
	end_hold(c, true);
}

/* ---- POST /clients/{id}/balance/write_off/ ---- */

struct write_off_req {
	money_t amount_minor[CURRENCY_COUNT];
	int64_t coupons[HOLD_COUPONS];
	size_t n_coupons;
};

static enum store_rc write_off_tx(struct call *c, void *ctx)
{
	const struct write_off_req *r = ctx;
	int64_t client_id = c->path_id[0], now = now_ms();
	struct write_off_request req = {.merchant_id = c->who.merchant_id,
					.account_id = c->who.account_id,
					.client_id = client_id,
					.coupons = r->coupons,
					.n_coupons = r->n_coupons};
	memcpy(req.amount_minor, r->amount_minor, sizeof(req.amount_minor));
	struct write_off_result res = {0};
	struct outcome o = {0};
	if (balance_write_off(c->db, &req, now, &res, &o)) {
		struct jw w;
		call_json(c, 200, &w);
		jw_obj_begin(&w);
		jw_kint(&w, "clientId", client_id);
		jw_key(&w, "writtenOff");
		jw_arr_begin(&w);
		for (size_t i = 0; i < res.n_made; i++) {
			if (res.made[i].amount_minor == 0)
				continue;
			jw_obj_begin(&w);
			jw_kmoney(&w, "amount", res.made[i].amount_minor);
			jw_kstr(&w, "currency", currency_name(res.made[i].currency));
			jw_kstr(&w, "transactionId", res.made[i].transaction_id);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_key(&w, "coupons");
		jw_arr_begin(&w);
		for (size_t i = 0; i < r->n_coupons; i++)
			jw_int(&w, r->coupons[i]);
		jw_arr_end(&w);
		jw_key(&w, "balance");
		view_balance(&w, res.available);
		jw_obj_end(&w);
	}
	for (size_t i = 0; i < res.n_made; i++)
		hold_clear(&res.made[i]);
	return call_outcome(c, &o);
}

void client_balance_write_off(struct call *c)
{
	struct write_off_req r = {0};
	json_t *balance = NULL, *coupons = NULL;
	if (!body_array(c, c->body, "balance", "balance", false, &balance) ||
	    !body_array(c, c->body, "coupons", "coupons", false, &coupons) ||
	    !body_ids(c, coupons, "coupons", "coupon", HOLD_COUPONS, r.coupons, &r.n_coupons))
		return;
	bool seen[CURRENCY_COUNT] = {false};
	size_t n = json_array_size(balance);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(balance, i);
		char name[48];
		snprintf(name, sizeof(name), "balance[%zu]", i);
		if (!json_is_object(e)) {
			call_error(c, 400, "validation_failed", "%s: must be an object", name);
			return;
		}
		money_t amount = 0;
		snprintf(name, sizeof(name), "balance[%zu].amount", i);
		if (!body_money(c, e, "amount", name, true, false, &amount, NULL))
			return;
		snprintf(name, sizeof(name), "balance[%zu].currency", i);
		const char *cur_name = NULL;
		if (!body_string(c, e, "currency", name, true, 1, 16, &cur_name))
			return;
		int cur = currency_parse(cur_name);
		if (cur < 0) {
			call_error(c, 400, "validation_failed",
				   "%s: must be \"points\" or \"rubles\"", name);
			return;
		}
		if (seen[cur]) {
			call_error(c, 400, "validation_failed", "%s: %s is listed twice", name,
				   cur_name);
			return;
		}
		seen[cur] = true;
		r.amount_minor[cur] = amount;
	}
	bool any = r.n_coupons > 0;
	for (int cur = 0; cur < CURRENCY_COUNT; cur++)
		any = any || r.amount_minor[cur] > 0;
	if (!any) {
		call_error(c, 400, "validation_failed",
			   "balance: nothing to write off (give an amount above 0 or coupons)");
		return;
	}
	call_write_tx_rows(c, write_off_tx, &r);
}
