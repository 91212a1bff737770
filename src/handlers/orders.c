/* POST /fiscal/orders/ (API.md 2.4 and 3): sales that spend, redeem and accrue, refunds that
 * reverse a share of a sale, both idempotent by (merchant, externalId, receiptType).
 *
 * The whole order is one write transaction: the replay check, the customer, the ledger rows,
 * the coupons, the statistics and the stored response commit together or not at all, so a
 * retry after a crash finds either the complete order (and replays its answer) or nothing. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "domain/loyalty.h"
#include "domain/refund.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "service/clients.h"
#include "service/coupons.h"
#include "service/holds.h"
#include "service/ledger.h"

#define ITEMS_MAX 1000
#define COUPONS_MAX 100
#define EXTERNAL_ID_MAX 64
#define PRODUCT_ID_MAX 64
#define FD_MAX 64

static const char *const units[] = {"piece", "kg", "g", "L", "ml"};

struct item_req {
	const char *name;
	money_t price_minor;
	int64_t qty_milli; /* 0 in a refund item: the rest of the sale item */
	const char *unit;
	int64_t vat_hundredths; /* -1: not given */
	int64_t sale_item_id;	/* refund items in kopilka's form */
	char product_id[PRODUCT_ID_MAX * 4 + 1]; /* the POS's (items.Id); "": none */
};

struct order_req {
	char external_id[EXTERNAL_ID_MAX * 4 + 1];
	bool refund;
	bool hub; /* a refund of POST /fiscal_hub/cash_back/refund/ */
	/* A refund in the seed's form (API.md 3.3): items written like sale items, the sale
	 * named by externalId, one refund per (externalId, fd): refund_key is "fd:" and the fd. */
	bool seed_form;
	char refund_key[FD_MAX * 4 + 4];
	money_t card_minor, cash_minor;
	char phone[PHONE_MAX_DIGITS + 1], email[EMAIL_MAX + 1];
	bool has_phone, has_email;
	struct item_req items[ITEMS_MAX];
	size_t n_items;
	money_t amount_minor;
	int currency; /* -1: the program's */
	int64_t coupons[COUPONS_MAX];
	size_t n_coupons;
	const char *fn, *fd, *comment;
	int64_t external_date_ms;
	money_t items_total_minor;
	char hash[crypto_hash_sha256_BYTES * 2 + 1];
	/* OUT, for the metrics once the order is committed: what it moved. */
	money_t moved_in_minor, moved_out_minor;
};

/* ---- parsing ---- */

static bool parse_external_id(struct call *c, json_t *order, struct order_req *r)
{
	return body_text_id(c, order, "externalId", "order.externalId", true, EXTERNAL_ID_MAX,
			    r->external_id, sizeof(r->external_id));
}

/* The POS's product id: the seed's items.Id, also accepted as productId (the name it is
 * returned under); a string or an integer of 1 to PRODUCT_ID_MAX characters. */
static bool parse_product_id(struct call *c, json_t *it, size_t i, struct item_req *item)
{
	char name[64], other[sizeof(item->product_id)];
	snprintf(name, sizeof(name), "order.items[%zu].Id", i);
	if (!body_text_id(c, it, "Id", name, false, PRODUCT_ID_MAX, item->product_id,
			  sizeof(item->product_id)))
		return false;
	snprintf(name, sizeof(name), "order.items[%zu].productId", i);
	if (!body_text_id(c, it, "productId", name, false, PRODUCT_ID_MAX, other, sizeof(other)))
		return false;
	if (other[0] && item->product_id[0] && strcmp(other, item->product_id) != 0) {
		call_error(c, 400, "validation_failed",
			   "%s: differs from order.items[%zu].Id; both name the POS's product id, "
			   "send one",
			   name, i);
		return false;
	}
	if (!item->product_id[0])
		memcpy(item->product_id, other, sizeof(other));
	return true;
}

static bool parse_item(struct call *c, json_t *it, size_t i, struct order_req *r)
{
	struct item_req *item = &r->items[i];
	char name[64];
	if (!json_is_object(it)) {
		call_error(c, 400, "validation_failed", "order.items[%zu]: must be an object", i);
		return false;
	}
	item->vat_hundredths = -1;
	/* A refund item with `id` (kopilka's item id) is kopilka's form; one without is written
	 * like a sale item (the seed's form). One refund uses one form. */
	json_t *kopilka_id = r->refund ? json_object_get(it, "id") : NULL;
	bool kopilka_form = kopilka_id && !json_is_null(kopilka_id);
	if (r->refund && i == 0)
		r->seed_form = !kopilka_form;
	if (r->refund && kopilka_form == r->seed_form) {
		call_error(c, 400, "validation_failed",
			   "order.items[%zu]: a refund lists either kopilka's item ids (\"id\") or "
			   "items written like sale items (name, price, quantity, Id), not both",
			   i);
		return false;
	}
	json_t *item_name = json_object_get(it, "name");
	if (r->refund && !kopilka_form && (!item_name || json_is_null(item_name))) {
		call_error(c, 400, "validation_failed",
			   "order.items[%zu].id: is required, unless the item is written like a sale "
			   "item (order.items[%zu].name, price, quantity)",
			   i, i);
		return false;
	}
	if (kopilka_form) {
		snprintf(name, sizeof(name), "order.items[%zu].id", i);
		if (!body_int(c, it, "id", name, true, 1, INT64_MAX, &item->sale_item_id, NULL))
			return false;
		snprintf(name, sizeof(name), "order.items[%zu].quantity", i);
		return body_fixed(c, it, "quantity", name, false, QTY_DIGITS, 1, QTY_MAX_MILLI,
				  &item->qty_milli, NULL);
	}
	snprintf(name, sizeof(name), "order.items[%zu].name", i);
	if (!body_string(c, it, "name", name, true, 1, 256, &item->name))
		return false;
	snprintf(name, sizeof(name), "order.items[%zu].price", i);
	if (!body_money(c, it, "price", name, true, false, &item->price_minor, NULL))
		return false;
	snprintf(name, sizeof(name), "order.items[%zu].quantity", i);
	if (!body_fixed(c, it, "quantity", name, true, QTY_DIGITS, 1, QTY_MAX_MILLI,
			&item->qty_milli, NULL))
		return false;
	snprintf(name, sizeof(name), "order.items[%zu].unit", i);
	item->unit = "piece";
	const char *unit = NULL;
	if (!body_string(c, it, "unit", name, false, 1, 8, &unit))
		return false;
	if (unit) {
		bool known = false;
		for (size_t u = 0; u < ARRAY_LEN(units); u++)
			if (strcmp(unit, units[u]) == 0) {
				item->unit = units[u];
				known = true;
			}
		if (!known) {
			call_error(c, 400, "validation_failed",
				   "%s: must be one of piece, kg, g, L, ml", name);
			return false;
		}
	}
	snprintf(name, sizeof(name), "order.items[%zu].vat", i);
	bool has_vat = false;
	int64_t vat = 0;
	if (!body_fixed(c, it, "vat", name, false, 2, 0, 10000, &vat, &has_vat))
		return false;
	if (has_vat)
		item->vat_hundredths = vat;
	if (!parse_product_id(c, it, i, item))
		return false;
	money_t total = item_total_minor(item->price_minor, item->qty_milli);
	if (total > MONEY_MAX_MINOR || r->items_total_minor + total > MONEY_MAX_MINOR) {
		call_error(c, 400, "validation_failed", "order.items: the total exceeds 10^12");
		return false;
	}
	r->items_total_minor += total;
	return true;
}

/* The digest of the parsed request: two bodies are "the same order" when it is equal. */
static void request_digest(struct order_req *r)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "v1\x1f%s\x1f%d\x1f%lld\x1f%lld\x1f%s\x1f%s\x1f%lld\x1f%d\x1f%s\x1f%s\x1f%s"
		       "\x1f%lld",
		   r->external_id, r->refund, (long long)r->card_minor, (long long)r->cash_minor,
		   r->has_phone ? r->phone : "", r->has_email ? r->email : "",
		   (long long)r->amount_minor, r->currency, r->fn ? r->fn : "\x1e",
		   r->fd ? r->fd : "\x1e", r->comment ? r->comment : "\x1e",
		   (long long)r->external_date_ms);
	for (size_t i = 0; i < r->n_coupons; i++)
		buf_printf(&b, "\x1f" "c%lld", (long long)r->coupons[i]);
	for (size_t i = 0; i < r->n_items; i++) {
		const struct item_req *it = &r->items[i];
		buf_printf(&b, "\x1di%s\x1f%lld\x1f%lld\x1f%s\x1f%lld\x1f%lld", it->name ? it->name : "",
			   (long long)it->price_minor, (long long)it->qty_milli,
			   it->unit ? it->unit : "", (long long)it->vat_hundredths,
			   (long long)it->sale_item_id);
		/* Only when given, so that a body without ids keeps the digest it always had. */
		if (it->product_id[0])
			buf_printf(&b, "\x1fp%s", it->product_id);
	}
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, (const unsigned char *)b.data, b.len);
	sodium_bin2hex(r->hash, sizeof(r->hash), digest, sizeof(digest));
	buf_free(&b);
}

static bool parse_order(struct call *c, struct order_req *r)
{
	json_t *order = NULL, *items = NULL, *coupons = NULL;
	const char *type = NULL, *currency = NULL;
	if (!body_object(c, c->body, "order", "order", true, &order) ||
	    !parse_external_id(c, order, r) ||
	    !body_string(c, order, "receiptType", "order.receiptType", true, 1, 16, &type))
		return false;
	if (strcmp(type, "sale") == 0)
		r->refund = false;
	else if (strcmp(type, "refund") == 0)
		r->refund = true;
	else {
		call_error(c, 400, "validation_failed",
			   "order.receiptType: must be \"sale\" or \"refund\"");
		return false;
	}
	bool has_amount = false;
	if (!body_money(c, order, "amountCard", "order.amountCard", false, false, &r->card_minor,
			NULL) ||
	    !body_money(c, order, "amountCash", "order.amountCash", false, false, &r->cash_minor,
			NULL) ||
	    !body_phone(c, order, "customerPhone", "order.customerPhone", r->phone,
			&r->has_phone) ||
	    !body_email(c, order, "customerEmail", "order.customerEmail", r->email,
			&r->has_email) ||
	    !body_string(c, order, "fn", "order.fn", false, 0, 64, &r->fn) ||
	    !body_string(c, order, "fd", "order.fd", false, 0, FD_MAX, &r->fd) ||
	    !body_string(c, order, "comment", "order.comment", false, 0, 1024, &r->comment) ||
	    !body_int(c, order, "externalDate", "order.externalDate", false, 0, INT64_MAX / 2,
		      &r->external_date_ms, NULL) ||
	    !body_array(c, order, "items", "order.items", true, &items) ||
	    !body_money(c, c->body, "amount", "amount", false, false, &r->amount_minor,
			&has_amount) ||
	    !body_string(c, c->body, "currency", "currency", false, 1, 16, &currency) ||
	    !body_array(c, c->body, "coupons", "coupons", false, &coupons))
		return false;
	if (r->card_minor + r->cash_minor > MONEY_MAX_MINOR) {
		call_error(c, 400, "validation_failed",
			   "order.amountCard: amountCard + amountCash exceeds 10^12");
		return false;
	}
	r->n_items = json_array_size(items);
	if (r->n_items == 0 || r->n_items > ITEMS_MAX) {
		call_error(c, 400, "validation_failed", "order.items: must hold 1 to %d items",
			   ITEMS_MAX);
		return false;
	}
	for (size_t i = 0; i < r->n_items; i++)
		if (!parse_item(c, json_array_get(items, i), i, r))
			return false;
	r->currency = -1;
	if (currency && (r->currency = currency_parse(currency)) < 0) {
		call_error(c, 400, "validation_failed", "currency: must be \"points\" or \"rubles\"");
		return false;
	}
	if (!body_ids(c, coupons, "coupons", "coupon", COUPONS_MAX, r->coupons, &r->n_coupons))
		return false;
	if (r->refund && (r->amount_minor > 0 || r->n_coupons > 0)) {
		call_error(c, 400, "validation_failed",
			   "amount: a refund takes no amount or coupons; it reverses its sale");
		return false;
	}
	if (!r->refund && !r->has_phone && !r->has_email &&
	    (r->amount_minor > 0 || r->n_coupons > 0)) {
		call_error(c, 400, "validation_failed",
			   "%s: spending points or redeeming coupons needs a customer "
			   "(order.customerPhone or order.customerEmail)",
			   r->n_coupons > 0 ? "coupons" : "amount");
		return false;
	}
	(void)has_amount;
	if (r->seed_form)
		snprintf(r->refund_key, sizeof(r->refund_key), "fd:%s", r->fd ? r->fd : "");
	request_digest(r);
	return true;
}

/* ---- the response ---- */

struct order_view {
	struct order o;
	struct order_item items[ITEMS_MAX];
	size_t n_items;
	int64_t redeemed[COUPONS_MAX + 2], issued[4];
	size_t n_redeemed, n_issued;
};

static void write_amount(struct jw *w, const char *key, money_t minor, enum currency cur)
{
	jw_key(w, key);
	jw_obj_begin(w);
	jw_kmoney(w, "amount", minor);
	jw_kstr(w, "currency", currency_name(cur));
	jw_obj_end(w);
}

static void write_ids(struct jw *w, const char *key, const int64_t *ids, size_t n)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		jw_int(w, ids[i]);
	jw_arr_end(w);
}

/* Renders the order's answer; it is stored with the order and replayed verbatim. */
static char *render_order(struct call *c, const struct order_view *v)
{
	const struct order *o = &v->o;
	struct buf out;
	buf_init(&out);
	struct jw w;
	jw_init(&w, &out);
	char number[24];
	snprintf(number, sizeof(number), "%lld", (long long)o->order_number);
	jw_obj_begin(&w);
	jw_kint(&w, "id", o->id);
	jw_kstr(&w, "orderNumber", number);
	jw_kstr(&w, "externalOrderNumber", o->external_id);
	jw_kstr(&w, "receiptType", o->refund ? "refund" : "sale");
	jw_kint(&w, "orderDate", o->order_date_ms);
	jw_kmoney(&w, "totalAmount", o->total_minor);
	if (o->client_id)
		jw_kint(&w, "clientId", o->client_id);
	else
		jw_knull(&w, "clientId");
	if (o->refund)
		jw_kint(&w, "refundOf", o->refund_of);
	write_amount(&w, "accrued", o->refund ? -o->accrued_minor : o->accrued_minor,
		     o->accrued_currency);
	write_amount(&w, "spent", o->refund ? -o->spent_minor : o->spent_minor, o->spent_currency);
	write_ids(&w, "redeemedCoupons", v->redeemed, v->n_redeemed);
	write_ids(&w, "issuedCoupons", v->issued, v->n_issued);
	jw_key(&w, "items");
	jw_arr_begin(&w);
	for (size_t i = 0; i < v->n_items; i++) {
		const struct order_item *it = &v->items[i];
		jw_obj_begin(&w);
		jw_kint(&w, "id", it->id);
		jw_kstr(&w, "name", it->name);
		if (it->product_id)
			jw_kstr(&w, "productId", it->product_id);
		else
			jw_knull(&w, "productId");
		jw_kmoney(&w, "price", it->price_minor);
		jw_key(&w, "quantity");
		jw_fixed(&w, it->qty_milli, QTY_DIGITS);
		jw_kstr(&w, "unit", it->unit);
		jw_key(&w, "vat");
		if (it->vat_hundredths >= 0)
			jw_fixed(&w, it->vat_hundredths, 2);
		else
			jw_null(&w);
		jw_kmoney(&w, "total", it->total_minor);
		if (it->refund_of_item)
			jw_kint(&w, "refundOfItem", it->refund_of_item);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	char url[512];
	snprintf(url, sizeof(url), "%s/r/%s", c->app->cfg->public_url, o->public_token);
	jw_kstr(&w, "publicURL", url);
	jw_obj_end(&w);
	return buf_steal(&out, NULL);
}

/* Stores and sends the answer of a new order. */
static enum store_rc finish(struct call *c, struct order_view *v)
{
	char *json = render_order(c, v);
	enum store_rc rc = STORE(c->db, order_set_response, v->o.id, json);
	if (rc == STORE_OK) {
		c->resp->status = 200;
		buf_reset(&c->resp->body);
		buf_puts(&c->resp->body, json);
	}
	free(json);
	return rc;
}

/* ---- shared steps ---- */

/* An order seen before: replay its answer or refuse a different body. */
static void replay(struct call *c, const struct order_req *r, const struct order *prev)
{
	/* A cashier sees only the orders they created (API.md 4.2): another account's order is
	 * neither replayed nor described to them, whatever the body. */
	if (c->who.role == ROLE_CASHIER && prev->created_by != c->who.account_id) {
		call_error(c, 409, "order_conflict",
			   "order.externalId: %s order %s was already posted by another account; "
			   "post this receipt under a new externalId",
			   r->refund ? "refund" : "sale", r->external_id);
		return;
	}
	if (strcmp(prev->request_hash, r->hash) != 0 || !prev->response) {
		call_error(c, 409, "order_conflict",
			   "order.externalId: %s order %s was already posted with different "
			   "contents",
			   r->refund ? "refund" : "sale", r->external_id);
		return;
	}
	c->resp->status = 200;
	buf_reset(&c->resp->body);
	buf_puts(&c->resp->body, prev->response);
	response_header(c->resp, "Idempotent-Replayed", "true");
}

/* Inserts the order row with a new order number and public token. */
static enum store_rc insert_order(struct call *c, const struct order_req *r, struct order *o)
{
	char token[33];
	random_hex(token, 16);
	o->merchant_id = c->who.merchant_id;
	o->external_id = (char *)r->external_id;
	o->refund = r->refund;
	o->order_date_ms = now_ms();
	o->external_date_ms = r->external_date_ms;
	o->card_minor = r->card_minor;
	o->cash_minor = r->cash_minor;
	o->fn = (char *)r->fn;
	o->fd = (char *)r->fd;
	o->comment = (char *)r->comment;
	o->public_token = token;
	o->request_hash = (char *)r->hash;
	o->refund_key = (char *)r->refund_key;
	o->created_by = c->who.account_id;
	enum store_rc rc = STORE(c->db, order_number_next, c->who.merchant_id, &o->order_number);
	if (rc == STORE_OK)
		rc = STORE(c->db, order_create, o, &o->id);
	/* The same order written meanwhile by a concurrent request (its externalId was not found
	 * at the start; on PostgreSQL the insert waited for it): run again, and replay it. */
	if (rc == STORE_CONFLICT)
		rc = STORE_RETRY;
	/* The borrowed strings must not be freed by order_clear: take copies. */
	o->external_id = xstrdup(r->external_id);
	o->fn = r->fn ? xstrdup(r->fn) : NULL;
	o->fd = r->fd ? xstrdup(r->fd) : NULL;
	o->comment = r->comment ? xstrdup(r->comment) : NULL;
	o->public_token = xstrdup(token);
	o->request_hash = xstrdup(r->hash);
	o->refund_key = xstrdup(r->refund_key);
	return rc;
}

/* Locks the order's identity (externalId, receipt type, the seed refund's key) before it is
 * looked up: of two identical orders racing each other the second waits for the first, then
 * finds it and replays it (rather than deciding on what the first changed, e.g. a refund
 * refused as already refunded). */
static enum store_rc lock_identity(struct call *c, const struct order_req *r)
{
	char key[sizeof(r->external_id) + sizeof(r->refund_key) + 1];
	snprintf(key, sizeof(key), "%s\n%s", r->external_id, r->refund ? r->refund_key : "");
	return STORE(c->db, key_lock, c->who.merchant_id, r->refund ? "order:refund" : "order:sale",
		     key);
}

/* ---- sales ---- */

static enum store_rc sale_tx(struct call *c, void *ctx)
{
	struct order_req *r = ctx;
	int64_t merchant = c->who.merchant_id;
	struct order_view *v = xcalloc(1, sizeof(*v));
	struct client cl = {0};
	struct loyalty_settings s;
	struct catalog_coupon cc = {0};
	struct outcome o = {0};
	/* The spending client's balance and lots, read once for the check and the spend. */
	struct ledger_read rd = {0};
	int64_t now = now_ms();

	enum store_rc rc = lock_identity(c, r);
	if (rc == STORE_OK)
		rc = STORE(c->db, order_find_external, merchant, r->external_id, false, "", &v->o);
	if (rc == STORE_OK) {
		replay(c, r, &v->o);
		goto cleanup;
	}
	if (rc != STORE_NOT_FOUND)
		goto cleanup;
	order_clear(&v->o);
	rc = STORE(c->db, settings_get, merchant, &s);
	if (rc != STORE_OK)
		goto cleanup;
	enum currency spend_cur = r->currency >= 0 ? (enum currency)r->currency : s.currency;
	if (r->has_phone || r->has_email) {
		if (!client_find_or_register(c->db, merchant, r->has_phone ? r->phone : NULL,
					     r->has_email ? r->email : NULL, NULL,
					     s.auto_register, "order.customerPhone", &cl, &o)) {
			rc = call_outcome(c, &o);
			goto cleanup;
		}
	}
	if (cl.id && (r->amount_minor > 0 || r->n_coupons > 0)) {
		/* What expired holds reserved is the client's again (API.md 4.3). */
		size_t released = 0;
		rc = holds_release_expired(c->db, cl.id, now, 64, &released);
		if (rc != STORE_OK)
			goto cleanup;
	}
	if (r->amount_minor > 0) {
		if (!ledger_require(c->db, cl.id, spend_cur, r->amount_minor, "amount", now, &rd,
				    &o)) {
			rc = call_outcome(c, &o);
			goto cleanup;
		}
		if (r->amount_minor * 100 > r->items_total_minor * s.max_spend_percent) {
			call_error(c, 400, "spend_limit",
				   "amount: at most %lld %% of the order's item total may be paid "
				   "with points",
				   (long long)s.max_spend_percent);
			rc = STORE_NOT_FOUND;
			goto cleanup;
		}
	}
	if (!coupons_require_usable(c->db, merchant, cl.id, "coupons", r->coupons, r->n_coupons,
				    now, &o)) {
		rc = call_outcome(c, &o);
		goto cleanup;
	}

	/* Accrual is decided before the row is written: it is part of the order. */
	money_t accrued = 0;
	const struct accrual_setting *rule = cl.total_purchases == 0 ? &s.new_customer : &s.customer;
	if (s.active && cl.id) {
		money_t base = accrual_base_minor(r->card_minor + r->cash_minor,
						  r->items_total_minor, r->amount_minor);
		accrued = accrual_minor(&rule->rule, base);
	}
	v->o.client_id = cl.id;
	v->o.total_minor = r->items_total_minor;
	v->o.spent_currency = spend_cur;
	v->o.spent_minor = r->amount_minor;
	v->o.accrued_currency = s.currency;
	v->o.accrued_minor = accrued;
	rc = insert_order(c, r, &v->o);
	if (rc != STORE_OK)
		goto cleanup;
	for (size_t i = 0; i < r->n_items && rc == STORE_OK; i++) {
		struct order_item *it = &v->items[i];
		it->order_id = v->o.id;
		it->merchant_id = merchant;
		it->line_no = (int)i + 1;
		it->name = xstrdup(r->items[i].name);
		it->price_minor = r->items[i].price_minor;
		it->qty_milli = r->items[i].qty_milli;
		snprintf(it->unit, sizeof(it->unit), "%s", r->items[i].unit);
		it->vat_hundredths = r->items[i].vat_hundredths;
		it->product_id = r->items[i].product_id[0] ? xstrdup(r->items[i].product_id) : NULL;
		it->total_minor = item_total_minor(it->price_minor, it->qty_milli);
		rc = STORE(c->db, item_create, it, &it->id);
		v->n_items++;
	}
	if (rc == STORE_OK && r->amount_minor > 0)
		rc = ledger_spend_read(c->db, merchant, &rd, r->amount_minor, v->o.id);
	for (size_t i = 0; i < r->n_coupons && rc == STORE_OK; i++) {
		rc = STORE(c->db, coupon_set_status, r->coupons[i], COUPON_REDEEMED, v->o.id);
		v->redeemed[v->n_redeemed++] = r->coupons[i];
	}
	if (rc == STORE_OK && accrued > 0)
		rc = ledger_accrue_read(c->db, merchant, cl.id, s.currency, accrued,
					rule->valid_days ? now + rule->valid_days * MS_PER_DAY : 0,
					v->o.id, now, r->amount_minor > 0 ? &rd : NULL);
	if (rc == STORE_OK && s.active && cl.id && rule->coupon_id) {
		rc = STORE(c->db, catalog_get, merchant, rule->coupon_id, &cc);
		if (rc == STORE_OK && coupon_issuable(&cc, now))
			rc = coupon_issue_new(c->db, &cc, cl.id, v->o.id, now,
					  &v->issued[v->n_issued++]);
		else if (rc == STORE_NOT_FOUND)
			rc = STORE_OK; /* the rule's coupon is gone: the sale still stands */
	}
	if (rc == STORE_OK && cl.id) {
		money_t paid = r->card_minor + r->cash_minor;
		rc = STORE(c->db, client_stats_add, cl.id, 1, paid > 0 ? 1 : 0, r->items_total_minor,
			   paid);
	}
	if (rc == STORE_OK)
		rc = finish(c, v);
	r->moved_in_minor = accrued;
	r->moved_out_minor = r->amount_minor;
cleanup:
	ledger_read_clear(&rd);
	for (size_t i = 0; i < v->n_items; i++)
		order_item_clear(&v->items[i]);
	order_clear(&v->o);
	client_clear(&cl);
	catalog_coupon_clear(&cc);
	free(v);
	return rc;
}

/* ---- refunds ---- */

static enum store_rc refuse_item(struct call *c, const struct order_req *r, size_t i,
				 const char *why)
{
	if (r->hub) /* its items were sorted: name the item by its id */
		call_error(c, 400, "item_not_refundable", "orderItems: item %lld: %s",
			   (long long)r->items[i].sale_item_id, why);
	else
		call_error(c, 400, "item_not_refundable", "order.items[%zu]%s: %s", i,
			   r->seed_form ? "" : ".id", why);
	return STORE_NOT_FOUND;
}

/* The lines of the sale being refunded, deep copies (order_items clears its rows). */
struct sale_lines {
	struct order_item *lines; /* ITEMS_MAX */
	size_t n;
};

static bool collect_line(void *ctx, const struct order_item *it)
{
	struct sale_lines *sl = ctx;
	if (sl->n >= ITEMS_MAX)
		return false;
	struct order_item *copy = &sl->lines[sl->n++];
	*copy = *it;
	copy->name = it->name ? xstrdup(it->name) : NULL;
	copy->product_id = it->product_id ? xstrdup(it->product_id) : NULL;
	return true;
}

/* kopilka's form: each item names a line of the sale by its item id. */
static enum store_rc match_by_item_id(struct call *c, const struct order_req *r,
				      const struct sale_lines *sl, size_t *line_of)
{
	for (size_t i = 0; i < r->n_items; i++) {
		size_t k = 0;
		while (k < sl->n && sl->lines[k].id != r->items[i].sale_item_id)
			k++;
		if (k == sl->n) {
			/* Not a line of this sale: another sale's item, or none at all. */
			struct order_item other = {0};
			enum store_rc rc = STORE(c->db, item_get, c->who.merchant_id,
						 r->items[i].sale_item_id, &other);
			bool sale_item = rc == STORE_OK && !other.refund_of_item;
			order_item_clear(&other);
			if (rc != STORE_OK && rc != STORE_NOT_FOUND)
				return rc;
			return refuse_item(c, r, i,
					   sale_item ? "all items of a refund must come from one sale"
						     : "no such sale item");
		}
		for (size_t j = 0; j < i; j++)
			if (line_of[j] == k)
				return refuse_item(c, r, i, "the item is listed twice");
		line_of[i] = k;
	}
	return STORE_OK;
}

/* The seed's form: each item is matched to a line by domain/refund (API.md 3.3). */
static enum store_rc match_seed_items(struct call *c, const struct order_req *r,
				      const struct sale_lines *sl, size_t *line_of)
{
	static const char *const by_name[] = {"by Id", "by name and price", "by name"};
	struct refund_line *lines = xcalloc(sl->n ? sl->n : 1, sizeof(*lines));
	struct refund_item *items = xcalloc(r->n_items, sizeof(*items));
	for (size_t k = 0; k < sl->n; k++) {
		const struct order_item *si = &sl->lines[k];
		lines[k] = (struct refund_line){si->product_id, si->name, si->price_minor,
						si->qty_milli - si->refunded_qty_milli};
	}
	for (size_t i = 0; i < r->n_items; i++)
		items[i] = (struct refund_item){r->items[i].product_id, r->items[i].name,
						r->items[i].price_minor, r->items[i].qty_milli};
	struct refund_match_error err;
	enum refund_match_rc m = refund_match(lines, sl->n, items, r->n_items, line_of, &err);
	enum store_rc rc = STORE_OK;
	char left[FIXED_FMT_MAX];
	switch (m) {
	case REFUND_MATCH_OK:
		break;
	case REFUND_MATCH_NONE:
		call_error(c, 400, "item_not_refundable",
			   "order.items[%zu]: no line of sale %s matches it (by Id, by name and "
			   "price, or by a name that only one line has)",
			   err.item, r->external_id);
		rc = STORE_NOT_FOUND;
		break;
	case REFUND_MATCH_AMBIGUOUS:
		call_error(c, 400, "item_not_refundable",
			   "order.items[%zu]: matches lines %zu and %zu of sale %s (%s), which "
			   "differ; send the line's Id, or its exact name and price",
			   err.item, err.line + 1, err.other_line + 1, r->external_id,
			   by_name[err.by]);
		rc = STORE_NOT_FOUND;
		break;
	case REFUND_MATCH_QUANTITY:
		fixed_format(err.remaining_milli, QTY_DIGITS, left);
		call_error(c, 400, "item_not_refundable",
			   "order.items[%zu].quantity: only %s of line %zu of sale %s remain%s to "
			   "refund",
			   err.item, left, err.line + 1, r->external_id,
			   err.remaining_milli < sl->lines[err.line].qty_milli -
							 sl->lines[err.line].refunded_qty_milli
				   ? " (after the items before it)"
				   : "");
		rc = STORE_NOT_FOUND;
		break;
	}
	free(lines);
	free(items);
	return rc;
}

/* share x of what the sale moved: refunded item total / item total, cumulative; a sale whose
 * total is 0 moves it all back once it is refunded in full (by quantity), none before. */
static money_t refund_share(money_t whole, const struct order *sale)
{
	if (sale->total_minor > 0)
		return share_cumulative(whole, sale->refunded_total_minor, sale->total_minor);
	return sale->fully_refunded ? whole : 0;
}

/* The same externalId and fd were posted before with other contents. */
static void seed_refund_conflict(struct call *c, const struct order_req *r)
{
	bool has_fd = r->fd && *r->fd;
	call_error(c, 409, "order_conflict",
		   "order.fd: a refund of sale %s with %s%s was already posted with different "
		   "contents; a further partial refund of the same sale needs its own order.fd "
		   "(the fiscal document number of that refund receipt), or kopilka's form (items "
		   "by \"id\" under a new externalId)",
		   r->external_id, has_fd ? "fd " : "no fd", has_fd ? r->fd : "");
}

/* Locks the sale's client (its balance and lots) and the sale (its refund progress), then
 * reads the sale again as it is now: concurrent refunds of one sale run one after the other. */
static enum store_rc lock_sale(struct call *c, struct order *sale)
{
	int64_t merchant = c->who.merchant_id, id = sale->id;
	enum store_rc rc = STORE_OK;
	if (sale->client_id)
		rc = STORE(c->db, client_lock, merchant, sale->client_id, NULL);
	if (rc == STORE_OK)
		rc = STORE(c->db, order_lock, merchant, id);
	if (rc == STORE_OK) {
		order_clear(sale);
		rc = STORE(c->db, order_get, merchant, id, sale);
	}
	return rc;
}

static enum store_rc refund_tx(struct call *c, void *ctx)
{
	struct order_req *r = ctx;
	int64_t merchant = c->who.merchant_id;
	struct order_view *v = xcalloc(1, sizeof(*v));
	struct sale_lines sl = {.lines = xcalloc(ITEMS_MAX, sizeof(*sl.lines))};
	size_t *line_of = xcalloc(r->n_items, sizeof(*line_of));
	bool *touched = xcalloc(ITEMS_MAX, sizeof(*touched));
	struct order sale = {0};
	int64_t now = now_ms();

	enum store_rc rc = lock_identity(c, r);
	if (rc == STORE_OK)
		rc = STORE(c->db, order_find_external, merchant, r->external_id, true,
			   r->refund_key, &v->o);
	if (rc == STORE_OK) {
		if (r->seed_form && strcmp(v->o.request_hash, r->hash) != 0)
			seed_refund_conflict(c, r);
		else
			replay(c, r, &v->o);
		goto cleanup;
	}
	if (rc != STORE_NOT_FOUND)
		goto cleanup;
	order_clear(&v->o);

	/* The sale: named by its externalId (the seed's form) or by its first item. */
	if (r->seed_form) {
		rc = STORE(c->db, order_find_external, merchant, r->external_id, false, "", &sale);
		if (rc == STORE_NOT_FOUND) {
			call_error(c, 404, "not_found",
				   "order.externalId: no sale %s to refund (a refund written like a "
				   "sale names its sale by the sale's externalId)",
				   r->external_id);
			goto cleanup;
		}
	} else {
		struct order_item first = {0};
		rc = STORE(c->db, item_get, merchant, r->items[0].sale_item_id, &first);
		bool sale_item = rc == STORE_OK && !first.refund_of_item;
		int64_t sale_id = first.order_id;
		order_item_clear(&first);
		if (rc == STORE_NOT_FOUND || (rc == STORE_OK && !sale_item)) {
			rc = refuse_item(c, r, 0, "no such sale item");
			goto cleanup;
		}
		if (rc == STORE_OK)
			rc = STORE(c->db, order_get, merchant, sale_id, &sale);
	}
	if (rc == STORE_OK)
		rc = lock_sale(c, &sale);
	if (rc == STORE_OK)
		rc = STORE(c->db, order_items, merchant, sale.id, collect_line, &sl);
	if (rc == STORE_OK)
		rc = r->seed_form ? match_seed_items(c, r, &sl, line_of)
				  : match_by_item_id(c, r, &sl, line_of);
	if (rc != STORE_OK)
		goto cleanup;

	/* Every item takes quantity that remains of its line. */
	money_t refund_total = 0;
	for (size_t i = 0; i < r->n_items; i++) {
		struct order_item *si = &sl.lines[line_of[i]];
		int64_t left = si->qty_milli - si->refunded_qty_milli;
		int64_t qty = r->items[i].qty_milli ? r->items[i].qty_milli : left;
		if (left <= 0) {
			rc = refuse_item(c, r, i, "the item was already refunded");
			goto cleanup;
		}
		if (qty > left) {
			char have[FIXED_FMT_MAX];
			fixed_format(left, QTY_DIGITS, have);
			call_error(c, 400, "item_not_refundable",
				   "order.items[%zu].quantity: only %s remain to refund", i, have);
			rc = STORE_NOT_FOUND;
			goto cleanup;
		}
		/* Cumulative rounding: the item's refunded total reaches its total exactly. */
		int64_t new_qty = si->refunded_qty_milli + qty;
		money_t new_total = new_qty == si->qty_milli
					    ? si->total_minor
					    : item_total_minor(si->price_minor, new_qty);
		if (new_total > si->total_minor)
			new_total = si->total_minor;
		struct order_item *it = &v->items[v->n_items++];
		it->merchant_id = merchant;
		it->line_no = (int)i + 1;
		it->name = xstrdup(si->name);
		it->product_id = si->product_id ? xstrdup(si->product_id) : NULL;
		it->price_minor = si->price_minor;
		it->qty_milli = qty;
		snprintf(it->unit, sizeof(it->unit), "%s", si->unit);
		it->vat_hundredths = si->vat_hundredths;
		it->total_minor = new_total - si->refunded_total_minor;
		it->refund_of_item = si->id;
		si->refunded_qty_milli = new_qty;
		si->refunded_total_minor = new_total;
		touched[line_of[i]] = true;
		refund_total += it->total_minor;
	}

	/* Refunded in full: every line by quantity, never by money (a line of price 0 counts;
	 * API.md 3.3). */
	bool all_lines = sl.n > 0;
	for (size_t k = 0; k < sl.n; k++)
		if (sl.lines[k].refunded_qty_milli < sl.lines[k].qty_milli)
			all_lines = false;

	/* The shares of API.md 3.3, cumulative so partial refunds add up exactly. */
	sale.refunded_total_minor += refund_total;
	bool was_full = sale.fully_refunded;
	sale.fully_refunded = all_lines;
	money_t paid = sale.card_minor + sale.cash_minor;
	money_t taken = refund_share(sale.accrued_minor, &sale);
	money_t returned = refund_share(sale.spent_minor, &sale);
	money_t paid_back = refund_share(paid, &sale);
	money_t d_taken = taken - sale.accrual_taken_minor;
	money_t d_returned = returned - sale.spend_returned_minor;
	money_t d_paid = paid_back - sale.paid_refunded_minor;
	sale.accrual_taken_minor = taken;
	sale.spend_returned_minor = returned;
	sale.paid_refunded_minor = paid_back;

	v->o.client_id = sale.client_id;
	v->o.total_minor = refund_total;
	v->o.refund_of = sale.id;
	v->o.accrued_currency = sale.accrued_currency;
	v->o.accrued_minor = d_taken;
	v->o.spent_currency = sale.spent_currency;
	v->o.spent_minor = d_returned;
	rc = insert_order(c, r, &v->o);
	for (size_t i = 0; i < v->n_items && rc == STORE_OK; i++) {
		v->items[i].order_id = v->o.id;
		rc = STORE(c->db, item_create, &v->items[i], &v->items[i].id);
	}
	for (size_t k = 0; k < sl.n && rc == STORE_OK; k++)
		if (touched[k])
			rc = STORE(c->db, item_refunded, sl.lines[k].id, sl.lines[k].refunded_qty_milli,
				   sl.lines[k].refunded_total_minor);
	if (rc == STORE_OK)
		rc = STORE(c->db, order_refund_progress, &sale);
	if (rc == STORE_OK && sale.client_id) {
		rc = ledger_take_back(c->db, merchant, sale.client_id, sale.accrued_currency, d_taken,
				      v->o.id, now);
		if (rc == STORE_OK)
			rc = ledger_return_spend(c->db, merchant, sale.client_id,
						 sale.spent_currency, d_returned, sale.id, v->o.id,
						 now);
		if (rc == STORE_OK) {
			bool now_full = sale.fully_refunded && !was_full;
			rc = STORE(c->db, client_stats_add, sale.client_id, now_full ? -1 : 0,
				   now_full && paid > 0 ? -1 : 0, -refund_total, -d_paid);
		}
	}
	if (rc == STORE_OK && sale.fully_refunded && !was_full) {
		/* Only what the sale itself redeemed: a hold's coupons are redeemed by the hold
		 * (service/holds.c) and stay so. */
		int64_t ids[COUPONS_MAX + 8];
		size_t n = 0;
		rc = STORE(c->db, coupons_of_order, sale.id, 0, ids, ARRAY_LEN(ids), &n);
		for (size_t i = 0; i < n && rc == STORE_OK; i++)
			rc = coupon_reactivate(c->db, ids[i]);
		if (rc == STORE_OK)
			rc = STORE(c->db, coupons_of_order, sale.id, 1, ids, ARRAY_LEN(ids), &n);
		for (size_t i = 0; i < n && rc == STORE_OK; i++) {
			struct coupon_instance ci = {0};
			rc = STORE(c->db, coupon_get, merchant, ids[i], &ci);
			if (rc == STORE_OK && ci.status == COUPON_ISSUED)
				rc = STORE(c->db, coupon_set_status, ids[i], COUPON_REVOKED, 0);
			coupon_instance_clear(&ci);
		}
	}
	if (rc == STORE_OK)
		rc = finish(c, v);
	r->moved_in_minor = d_returned;
	r->moved_out_minor = d_taken;
cleanup:
	for (size_t i = 0; i < v->n_items; i++)
		order_item_clear(&v->items[i]);
	for (size_t k = 0; k < sl.n; k++)
		order_item_clear(&sl.lines[k]);
	free(sl.lines);
	free(line_of);
	free(touched);
	order_clear(&v->o);
	order_clear(&sale);
	free(v);
	return rc;
}

void orders_create_test(struct call *c)
{
	/* The same parsing, rules and answer as a real order, in a transaction that is rolled
	 * back: nothing is stored (PostgreSQL's id sequences may advance, as after any
	 * rollback; the ids in the answer are those the order would have had). */
	struct order_req *r = xcalloc(1, sizeof(*r));
	c->dry_run = true;
	if (parse_order(c, r))
		call_write_tx_rows(c, r->refund ? refund_tx : sale_tx, r);
	free(r);
}

/* Runs a parsed order and counts what it did. */
static void run_order(struct call *c, struct order_req *r)
{
	call_write_tx_rows(c, r->refund ? refund_tx : sale_tx, r);
	bool replayed = c->resp->n_headers > 0 &&
			strcmp(c->resp->headers[0].key, "Idempotent-Replayed") == 0;
	if (c->resp->status == 200 && replayed) {
		metrics_add(M_ORDERS_REPLAYED, 1);
	} else if (c->resp->status == 200 && r->refund) {
		metrics_add(M_ORDERS_REFUND, 1);
		metrics_add(M_POINTS_RETURNED_MINOR, r->moved_in_minor);
		metrics_add(M_POINTS_TAKEN_BACK_MINOR, r->moved_out_minor);
	} else if (c->resp->status == 200) {
		metrics_add(M_ORDERS_SALE, 1);
		metrics_add(M_POINTS_ACCRUED_MINOR, r->moved_in_minor);
		metrics_add(M_POINTS_SPENT_MINOR, r->moved_out_minor);
	}
}

void orders_create(struct call *c)
{
	struct order_req *r = xcalloc(1, sizeof(*r));
	if (parse_order(c, r))
		run_order(c, r);
	free(r);
}

static int compare_ids(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* POST /fiscal_hub/cash_back/refund/ (API.md 4.3): refunds what remains of the listed sale
 * items as a refund order would (3.3). Its externalId is derived from the sorted item ids, so
 * a retry of the same refund replays it instead of refusing the items as refunded. */
void hub_refund(struct call *c)
{
	struct order_req *r = xcalloc(1, sizeof(*r));
	int64_t *ids = xcalloc(ITEMS_MAX, sizeof(*ids));
	json_t *items = NULL;
	size_t n = 0;
	if (!body_array(c, c->body, "orderItems", "orderItems", true, &items) ||
	    !body_ids(c, items, "orderItems", "order item", ITEMS_MAX, ids, &n))
		goto cleanup;
	if (n == 0) {
		call_error(c, 400, "validation_failed", "orderItems: must list 1 to %d item ids",
			   ITEMS_MAX);
		goto cleanup;
	}
	qsort(ids, n, sizeof(*ids), compare_ids);
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < n; i++) {
		char id[24];
		int len = snprintf(id, sizeof(id), "%lld,", (long long)ids[i]);
		crypto_hash_sha256_update(&st, (const unsigned char *)id, (size_t)len);
	}
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, digest);
	memcpy(r->external_id, "hub-", 4);
	sodium_bin2hex(r->external_id + 4, 33, digest, 16);
	r->refund = true;
	r->hub = true;
	r->currency = -1;
	r->n_items = n;
	for (size_t i = 0; i < n; i++) {
		r->items[i].sale_item_id = ids[i];
		r->items[i].vat_hundredths = -1;
	}
	request_digest(r);
	run_order(c, r);
cleanup:
	free(ids);
	free(r);
}
