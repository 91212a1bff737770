/* JSON shapes of API objects (see views.h). */
#include "service/views.h"

#include <stdio.h>
#include <string.h>

#include "domain/money.h"
#include "service/holds.h"

void view_client(struct jw *w, const struct client *cl, const char *public_url)
{
	char card_url[1024];
	snprintf(card_url, sizeof(card_url), "%s/c/%s", public_url ? public_url : "", cl->token);
	bool erased = cl->erased_ms != 0;
	jw_obj_begin(w);
	jw_kint(w, "id", cl->id);
	jw_kstr(w, "email", cl->email);
	jw_kstr(w, "phone", cl->phone);
	jw_kstr(w, "name", cl->name);
	jw_kstr(w, "avatarUrl", cl->avatar_url);
	jw_kint(w, "paidPurchases", cl->paid_purchases);
	jw_kint(w, "totalPurchases", cl->total_purchases);
	money_t average = cl->total_purchases > 0
			      ? fixed_mul_div_round(cl->total_amount_minor, 1, cl->total_purchases)
			      : 0;
	jw_kmoney(w, "averageBill", average);
	jw_kmoney(w, "totalPurchasesAmount", cl->total_amount_minor);
	jw_kmoney(w, "paidPurchasesAmount", cl->paid_amount_minor);
	jw_kint(w, "positiveReviews", cl->positive_reviews);
	jw_kint(w, "neutralReviews", cl->neutral_reviews);
	jw_kint(w, "negativeReviews", cl->negative_reviews);
	/* An erased client has no card: its stored token is a placeholder no lookup takes. */
	jw_kstr(w, "token", erased ? NULL : cl->token);
	jw_kstr(w, "cardURL", erased ? NULL : card_url);
	if (erased) {
		jw_kbool(w, "erased", true);
		jw_kint(w, "erasedAt", cl->erased_ms);
	}
	/* Self-enrolment (issue 15, docs/CARD.md "Joining"): the birthday as "YYYY-MM-DD"; the
	 * version of the personal-data consent text the client accepted and when (ms). */
	jw_kstr(w, "birthday", cl->birthday);
	jw_kstr(w, "consentVersion", cl->consent_version);
	if (cl->consent_ms)
		jw_kint(w, "consentDate", cl->consent_ms);
	else
		jw_knull(w, "consentDate");
	jw_obj_end(w);
}

/* The keys of the shapes above that hold a person's data or a capability to their card or
 * coupons: every object's key among these is nulled by view_scrub_personal. A new personal
 * field of view_client (or of another shape that names the customer) is added here too. */
static const char *const personal_keys[] = {
    "email",	       "phone",		"name",		 "avatarUrl",	       "token",
    "cardURL",	       "customerPhone", "customerEmail", "customerName",       "customerAvatarUrl",
    "customerComment", "shareToken",	"merchantToken", "merchantShareToken", "birthday",
};

void view_scrub_personal(json_t *v)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) view_scrub_personal(e);
		return;
	}
	if (!json_is_object(v))
		return;
	const char *key;
	json_t *e;
	json_object_foreach(v, key, e)
	{
		/* The employee who made a sale is not the customer; items are goods. */
		if (strcmp(key, "employee") == 0 || strcmp(key, "items") == 0)
			continue;
		bool personal = false;
		for (size_t i = 0; i < sizeof(personal_keys) / sizeof(*personal_keys); i++)
			personal = personal || strcmp(key, personal_keys[i]) == 0;
		if (personal && !json_is_null(e))
			json_object_set_new(v, key, json_null());
		else
			view_scrub_personal(e);
	}
}

char *view_scrub_personal_text(const char *text)
{
	json_error_t err;
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, &err) : NULL;
	if (!v)
		return NULL;
	view_scrub_personal(v);
	char *out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(v);
	return out;
}

static void opt_str(struct jw *w, const char *key, const char *v)
{
	if (v)
		jw_kstr(w, key, v);
}

void view_coupon_instance(struct jw *w, const struct coupon_instance *ci)
{
	jw_obj_begin(w);
	jw_kint(w, "id", ci->id);
	opt_str(w, "title", ci->catalog.title);
	opt_str(w, "header", ci->catalog.header);
	opt_str(w, "subHeader", ci->catalog.sub_header);
	opt_str(w, "shortDescription", ci->catalog.short_description);
	opt_str(w, "longDescription", ci->catalog.long_description);
	if (ci->expires_ms)
		jw_kint(w, "expireDate", ci->expires_ms);
	/* A coupon of an erased client keeps placeholders no lookup takes ("erased-…", ""):
	 * shown as null. */
	bool erased = strncmp(ci->token, "erased-", 7) == 0;
	jw_kstr(w, "token", erased ? NULL : ci->token);
	jw_kstr(w, "shareToken", erased ? NULL : ci->share_token);
	jw_kstr(w, "merchantToken", erased ? NULL : ci->merchant_token);
	jw_kstr(w, "merchantShareToken", erased ? NULL : ci->merchant_share_token);
	jw_obj_end(w);
}

void view_catalog_coupon(struct jw *w, const struct catalog_coupon *cc)
{
	jw_obj_begin(w);
	jw_kint(w, "id", cc->id);
	jw_kstr(w, "title", cc->title);
	jw_kstr(w, "header", cc->header);
	jw_kstr(w, "subHeader", cc->sub_header);
	jw_kstr(w, "shortDescription", cc->short_description);
	jw_kstr(w, "longDescription", cc->long_description);
	jw_kstr(w, "imagePath", cc->image_path);
	jw_kstr(w, "style", cc->style);
	if (cc->valid_days)
		jw_kint(w, "validDays", cc->valid_days);
	else
		jw_knull(w, "validDays");
	if (cc->valid_until)
		jw_kint(w, "validUntil", cc->valid_until);
	else
		jw_knull(w, "validUntil");
	jw_kbool(w, "deleted", cc->deleted);
	jw_obj_end(w);
}

static void view_accrual(struct jw *w, const char *key, const struct accrual_setting *a)
{
	jw_key(w, key);
	jw_obj_begin(w);
	if (a->coupon_id)
		jw_kint(w, "couponId", a->coupon_id);
	else
		jw_knull(w, "couponId");
	jw_kstr(w, "type", a->rule.type == ACCRUAL_AMOUNT ? "amount" : "percentage");
	/* Both kinds carry two fraction digits: minor units, or hundredths of a percent. */
	jw_kmoney(w, "amount", a->rule.amount);
	if (a->valid_days)
		jw_kint(w, "validDays", a->valid_days);
	else
		jw_knull(w, "validDays");
	jw_obj_end(w);
}

void view_settings(struct jw *w, const struct loyalty_settings *s)
{
	jw_obj_begin(w);
	jw_kbool(w, "active", s->active);
	jw_kstr(w, "currency", currency_name(s->currency));
	view_accrual(w, "newCustomerSettings", &s->new_customer);
	view_accrual(w, "customerSettings", &s->customer);
	jw_kbool(w, "autoRegisterClients", s->auto_register);
	jw_kint(w, "maxSpendPercent", s->max_spend_percent);
	jw_obj_end(w);
}

void view_employee(struct jw *w, const struct account *a)
{
	jw_obj_begin(w);
	jw_kint(w, "id", a->id);
	jw_kstr(w, "email", a->email);
	jw_kstr(w, "phone", a->phone);
	jw_kstr(w, "login", a->staff_login[0] ? a->staff_login : NULL);
	jw_kstr(w, "firstName", a->first_name);
	jw_kstr(w, "lastName", a->last_name);
	jw_kstr(w, "inn", a->inn);
	jw_kstr(w, "role", a->role == ROLE_MANAGER ? "manager" : "cashier");
	jw_obj_end(w);
}

void view_balance(struct jw *w, const money_t available[CURRENCY_COUNT])
{
	jw_arr_begin(w);
	for (int cur = 0; cur < CURRENCY_COUNT; cur++) {
		jw_obj_begin(w);
		jw_kmoney(w, "amount", available[cur]);
		jw_kstr(w, "currency", currency_name((enum currency)cur));
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

void view_client_coupon(struct jw *w, const struct client *cl, const struct coupon_instance *ci,
			const char *public_url)
{
	jw_obj_begin(w);
	jw_key(w, "client");
	view_client(w, cl, public_url);
	jw_key(w, "coupons");
	view_coupon_instance(w, ci);
	jw_obj_end(w);
}

const char *const view_reaction_names[4] = {NULL, "positive", "neutral", "negative"};

void view_order(struct jw *w, const struct order *o, const struct client *cl,
		const struct account *emp, const char *public_url)
{
	char number[24], url[512];
	snprintf(number, sizeof(number), "%lld", (long long)o->order_number);
	snprintf(url, sizeof(url), "%s/r/%s", public_url, o->public_token);
	jw_obj_begin(w);
	jw_kint(w, "id", o->id);
	jw_kstr(w, "orderNumber", number);
	jw_kstr(w, "externalOrderNumber", o->external_id);
	jw_kint(w, "orderDate", o->order_date_ms);
	if (o->external_date_ms)
		jw_kint(w, "externalOrderDate", o->external_date_ms);
	else
		jw_knull(w, "externalOrderDate");
	jw_kstr(w, "receiptType", o->refund ? "refund" : "sale");
	jw_kstr(w, "customerPhone", cl ? cl->phone : NULL);
	jw_kstr(w, "customerEmail", cl ? cl->email : NULL);
	jw_kstr(w, "customerName", cl ? cl->name : NULL);
	jw_kstr(w, "customerAvatarUrl", cl ? cl->avatar_url : NULL);
	jw_key(w, "customer");
	if (cl)
		view_client(w, cl, public_url);
	else
		jw_null(w);
	jw_key(w, "employee");
	if (emp)
		view_employee(w, emp);
	else
		jw_null(w);
	jw_kmoney(w, "totalAmount", o->total_minor);
	jw_kmoney(w, "cashbackAmount", o->refund ? -o->accrued_minor : o->accrued_minor);
	jw_kstr(w, "cashbackCurrency", currency_name(o->accrued_currency));
	/* [ext]: what the sale spent (a refund: what it returned), and the sale's refunded
	 * item total so far (the cabinet's refund form). */
	jw_kmoney(w, "spentAmount", o->refund ? -o->spent_minor : o->spent_minor);
	jw_kstr(w, "spentCurrency", currency_name(o->spent_currency));
	jw_kmoney(w, "refundedAmount", o->refund ? 0 : o->refunded_total_minor);
	jw_kstr(w, "status",
		o->refund		  ? "completed"
		: o->fully_refunded	  ? "refunded"
		: o->refunded_total_minor ? "partially_refunded"
					  : "completed");
	jw_kstr(w, "reaction",
		o->reaction >= 1 && o->reaction <= 3 ? view_reaction_names[o->reaction] : NULL);
	jw_kstr(w, "customerComment", o->customer_comment);
	jw_kstr(w, "publicURL", url);
	jw_obj_end(w);
}

/* The answer's balanceId: one number per client and currency (kopilka keeps no separate
 * balance accounts). */
static int64_t balance_id(int64_t client_id, enum currency cur)
{
	return client_id * CURRENCY_COUNT + (int64_t)cur;
}

void view_hold(struct jw *w, const struct hold *h, int64_t now, const int64_t *coupon_ids,
	       size_t n_coupons)
{
	jw_obj_begin(w);
	jw_kint(w, "id", h->id);
	jw_kstr(w, "transactionId", h->transaction_id);
	jw_kint(w, "clientId", h->client_id);
	jw_kstr(w, "currency", currency_name(h->currency));
	jw_kmoney(w, "amount", h->amount_minor);
	jw_kint(w, "balanceId", balance_id(h->client_id, h->currency));
	jw_kint(w, "transactionDate", h->created_ms);
	jw_kint(w, "expirationDate", h->expires_ms);
	if (h->order_id)
		jw_kint(w, "orderId", h->order_id);
	else
		jw_knull(w, "orderId");
	if (h->fiscal_order_id)
		jw_kstr(w, "fiscalOrderId", h->fiscal_order_id);
	else
		jw_knull(w, "fiscalOrderId");
	jw_kstr(w, "status", hold_status_name(hold_status_at(h, now)));
	jw_key(w, "couponIds");
	jw_arr_begin(w);
	for (size_t i = 0; i < n_coupons; i++)
		jw_int(w, coupon_ids[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

void view_ledger_entry(struct jw *w, const struct ledger_entry *e)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)e->id);
	jw_obj_begin(w);
	jw_kmoney(w, "amount", e->amount_minor);
	jw_kstr(w, "currency", currency_name(e->currency));
	jw_kint(w, "transactionDate", e->created_ms);
	jw_kstr(w, "transactionId", id);
	jw_kstr(w, "type", ledger_type_name(e->type));
	if (e->reason)
		jw_kstr(w, "reason", e->reason);
	if (e->order_id)
		jw_kint(w, "orderId", e->order_id);
	else
		jw_knull(w, "orderId");
	jw_obj_end(w);
}

void view_order_item(struct jw *w, const struct order_item *it)
{
	jw_obj_begin(w);
	jw_kint(w, "id", it->id);
	jw_kint(w, "orderId", it->order_id);
	jw_kstr(w, "name", it->name);
	if (it->product_id) /* the POS's product id (the seed's items.Id) */
		jw_kstr(w, "productId", it->product_id);
	else
		jw_knull(w, "productId");
	jw_kmoney(w, "price", it->price_minor);
	jw_key(w, "quantity");
	jw_fixed(w, it->qty_milli, QTY_DIGITS);
	jw_kstr(w, "unit", it->unit);
	jw_key(w, "vat");
	if (it->vat_hundredths >= 0)
		jw_fixed(w, it->vat_hundredths, 2);
	else
		jw_null(w);
	/* [ext]: the line's total, and of a sale's line the quantity refunded so far. */
	jw_kmoney(w, "total", it->total_minor);
	jw_key(w, "refundedQuantity");
	jw_fixed(w, it->refund_of_item ? 0 : it->refunded_qty_milli, QTY_DIGITS);
	/* kopilka takes item totals as given: no per-item discount is recorded. */
	jw_knull(w, "discountType");
	jw_knull(w, "discountValue");
	jw_obj_end(w);
}
