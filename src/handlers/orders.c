/* POST /fiscal/orders/ (API.md 2.4 and 3): sales that spend, redeem and accrue, refunds that
 * reverse a share of a sale, both idempotent by (merchant, externalId, receiptType).
 *
 * Here the body is parsed into a struct order_request and the answer rendered; the workflow
 * (order_sale, order_refund in service/orders.h) runs in one write transaction with the answer
 * kept beside the order, so a retry after a crash finds either the complete order (and replays
 * its answer) or nothing. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "domain/loyalty.h"
#include "domain/qr.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "service/orders.h"
#include "store/orders.h"

static const char *const units[] = {"piece", "kg", "g", "L", "ml"};

/* A parsed order and, once it ran, what it moved: counted in the metrics after its commit. */
struct order_call {
	struct order_request req;
	struct order_item_request *items; /* heap, req.n_items: what req.items points to */
	money_t items_total_minor;	  /* while parsing: the sum so far, held to 10^12 */
	money_t moved_in_minor, moved_out_minor;
};

static void order_call_free(struct order_call *oc)
{
	free(oc->items);
	free(oc);
}

/* ---- parsing ---- */

static bool parse_external_id(struct call *c, json_t *order, struct order_request *r)
{
	return body_text_id(c, order, "externalId", "order.externalId", true, ORDER_EXTERNAL_ID_MAX,
			    r->external_id, sizeof(r->external_id));
}

/* A field's name for its errors, "order.items[i]." and the field: the prefix is written once
 * an item (item_prefix), each field copied after it at `at` (snprintf for each of the seven,
 * 17k instructions an order of three items). */
#define ITEM_FIELD_MAX 64

static size_t item_prefix(char name[ITEM_FIELD_MAX], size_t i)
{
	return (size_t)snprintf(name, ITEM_FIELD_MAX, "order.items[%zu].", i);
}

/* The POS's product id: the seed's items.Id, also accepted as productId (the name it is
 * returned under); a string or an integer of 1 to ORDER_PRODUCT_ID_MAX characters. name: the
 * item's field name, its prefix `at` bytes long. */
static bool parse_product_id(struct call *c, json_t *it, size_t i, char *name, size_t at,
			     struct order_item_request *item)
{
	char other[sizeof(item->product_id)];
	strcpy(name + at, "Id");
	if (!body_text_id(c, it, "Id", name, false, ORDER_PRODUCT_ID_MAX, item->product_id,
			  sizeof(item->product_id)))
		return false;
	strcpy(name + at, "productId");
	if (!body_text_id(c, it, "productId", name, false, ORDER_PRODUCT_ID_MAX, other,
			  sizeof(other)))
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

static bool parse_item(struct call *c, json_t *it, size_t i, struct order_call *oc)
{
	struct order_request *r = &oc->req;
	struct order_item_request *item = &oc->items[i];
	char name[ITEM_FIELD_MAX];
	size_t at = item_prefix(name, i);
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
		call_error(
		    c, 400, "validation_failed",
		    "order.items[%zu].id: is required, unless the item is written like a sale "
		    "item (order.items[%zu].name, price, quantity)",
		    i, i);
		return false;
	}
	if (kopilka_form) {
		strcpy(name + at, "id");
		if (!body_int(c, it, "id", name, true, 1, INT64_MAX, &item->sale_item_id, NULL))
			return false;
		strcpy(name + at, "quantity");
		return body_fixed(c, it, "quantity", name, false, QTY_DIGITS, 1, QTY_MAX_MILLI,
				  &item->qty_milli, NULL);
	}
	strcpy(name + at, "name");
	if (!body_string(c, it, "name", name, true, 1, 256, &item->name))
		return false;
	strcpy(name + at, "price");
	if (!body_money(c, it, "price", name, true, false, &item->price_minor, NULL))
		return false;
	strcpy(name + at, "quantity");
	if (!body_fixed(c, it, "quantity", name, true, QTY_DIGITS, 1, QTY_MAX_MILLI,
			&item->qty_milli, NULL))
		return false;
	strcpy(name + at, "unit");
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
	strcpy(name + at, "vat");
	bool has_vat = false;
	int64_t vat = 0;
	if (!body_fixed(c, it, "vat", name, false, 2, 0, 10000, &vat, &has_vat))
		return false;
	if (has_vat)
		item->vat_hundredths = vat;
	if (!parse_product_id(c, it, i, name, at, item))
		return false;
	money_t total = item_total_minor(item->price_minor, item->qty_milli);
	if (total > MONEY_MAX_MINOR || oc->items_total_minor + total > MONEY_MAX_MINOR) {
		call_error(c, 400, "validation_failed", "order.items: the total exceeds 10^12");
		return false;
	}
	oc->items_total_minor += total;
	return true;
}

/* order.fp, the fiscal sign (ФП) printed on the receipt: a string of 1 to 10 digits, at most
 * 4294967295 (a 32-bit number); "" and null count as absent (like fn and fd, a string). */
static bool parse_fp(struct call *c, json_t *order, struct order_request *r)
{
	const char *s = NULL;
	if (!body_string(c, order, "fp", "order.fp", false, 0, ORDER_FP_MAX, &s))
		return false;
	r->fp = s && *s ? s : NULL;
	if (r->fp && (!qr_digits(s, ORDER_FP_MAX) ||
		      (strlen(s) == ORDER_FP_MAX && strcmp(s, "4294967295") > 0))) {
		call_error(c, 400, "validation_failed",
			   "order.fp: must be the fiscal sign, 1 to %d digits (at most 4294967295)",
			   ORDER_FP_MAX);
		return false;
	}
	return true;
}

static bool parse_order(struct call *c, struct order_call *oc)
{
	struct order_request *r = &oc->req;
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
	    !body_string(c, order, "fd", "order.fd", false, 0, ORDER_FD_MAX, &r->fd) ||
	    !parse_fp(c, order, r) ||
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
	if (r->n_items == 0 || r->n_items > ORDER_ITEMS_MAX) {
		call_error(c, 400, "validation_failed", "order.items: must hold 1 to %d items",
			   ORDER_ITEMS_MAX);
		return false;
	}
	r->items = oc->items = xcalloc(r->n_items, sizeof(*oc->items));
	for (size_t i = 0; i < r->n_items; i++)
		if (!parse_item(c, json_array_get(items, i), i, oc))
			return false;
	r->currency = -1;
	if (currency && (r->currency = currency_parse(currency)) < 0) {
		call_error(c, 400, "validation_failed",
			   "currency: must be \"points\" or \"rubles\"");
		return false;
	}
	if (!body_ids(c, coupons, "coupons", "coupon", ORDER_COUPONS_MAX, r->coupons,
		      &r->n_coupons))
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
	return true;
}

/* ---- the response ---- */

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

/* Renders the order's answer; it is kept with the order and replayed verbatim. */
static char *render_order(struct call *c, const struct order_result *v)
{
	const struct order *o = &v->order;
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

/* Keeps the answer of a new order with it (a retry replays it) and sends it. */
static enum store_rc answer_new(struct call *c, const struct order_result *res)
{
	char *json = render_order(c, res);
	enum store_rc rc = STORE(c->db, order_set_response, res->order.id, json);
	if (rc == STORE_OK) {
		c->resp->status = 200;
		buf_reset(&c->resp->body);
		buf_puts(&c->resp->body, json);
	}
	free(json);
	return rc;
}

/* Sends the answer kept for an order posted before. */
static void answer_replay(struct call *c, const struct order *prev)
{
	c->resp->status = 200;
	buf_reset(&c->resp->body);
	buf_puts(&c->resp->body, prev->response);
	response_header(c->resp, "Idempotent-Replayed", "true");
}

/* ---- running it ---- */

static enum store_rc order_tx(struct call *c, void *ctx)
{
	struct order_call *oc = ctx;
	const struct order_request *r = &oc->req;
	struct order_result res = {0};
	struct outcome o = {0};
	int64_t now = now_ms();
	bool done =
	    r->refund ? order_refund(c->db, r, now, &res, &o) : order_sale(c->db, r, now, &res, &o);
	enum store_rc rc = call_outcome(c, &o);
	if (done && res.replayed) {
		answer_replay(c, &res.order);
	} else if (done) {
		rc = answer_new(c, &res);
		/* A sale accrues and spends; a refund returns what its sale spent and takes back
		 * what it accrued. */
		oc->moved_in_minor = r->refund ? res.order.spent_minor : res.order.accrued_minor;
		oc->moved_out_minor = r->refund ? res.order.accrued_minor : res.order.spent_minor;
	}
	order_result_clear(&res);
	return rc;
}

/* Runs a parsed order (posted, or tried by orders_create_test) in one write transaction, as
 * the caller's account. */
static void post_order(struct call *c, struct order_call *oc)
{
	oc->req.merchant_id = c->who.merchant_id;
	oc->req.account_id = c->who.account_id;
	oc->req.only_own_orders = c->who.role == ROLE_CASHIER;
	order_request_digest(&oc->req); /* outside the transaction */
	call_write_tx_rows(c, order_tx, oc);
}

void orders_create_test(struct call *c)
{
	/* The same parsing, rules and answer as a real order, in a transaction that is rolled
	 * back: nothing is stored (PostgreSQL's id sequences may advance, as after any
	 * rollback; the ids in the answer are those the order would have had). */
	struct order_call *oc = xcalloc(1, sizeof(*oc));
	c->dry_run = true;
	if (parse_order(c, oc))
		post_order(c, oc);
	order_call_free(oc);
}

/* Runs a parsed order and counts what it did. */
static void run_order(struct call *c, struct order_call *oc)
{
	post_order(c, oc);
	bool replayed =
	    c->resp->n_headers > 0 && strcmp(c->resp->headers[0].key, "Idempotent-Replayed") == 0;
	if (c->resp->status == 200 && replayed) {
		metrics_add(M_ORDERS_REPLAYED, 1);
	} else if (c->resp->status == 200 && oc->req.refund) {
		metrics_add(M_ORDERS_REFUND, 1);
		metrics_add(M_POINTS_RETURNED_MINOR, oc->moved_in_minor);
		metrics_add(M_POINTS_TAKEN_BACK_MINOR, oc->moved_out_minor);
	} else if (c->resp->status == 200) {
		metrics_add(M_ORDERS_SALE, 1);
		metrics_add(M_POINTS_ACCRUED_MINOR, oc->moved_in_minor);
		metrics_add(M_POINTS_SPENT_MINOR, oc->moved_out_minor);
	}
}

void orders_create(struct call *c)
{
	struct order_call *oc = xcalloc(1, sizeof(*oc));
	if (parse_order(c, oc))
		run_order(c, oc);
	order_call_free(oc);
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
	struct order_call *oc = xcalloc(1, sizeof(*oc));
	struct order_request *r = &oc->req;
	int64_t *ids = xcalloc(ORDER_ITEMS_MAX, sizeof(*ids));
	json_t *items = NULL;
	size_t n = 0;
	if (!body_array(c, c->body, "orderItems", "orderItems", true, &items) ||
	    !body_ids(c, items, "orderItems", "order item", ORDER_ITEMS_MAX, ids, &n))
		goto cleanup;
	if (n == 0) {
		call_error(c, 400, "validation_failed", "orderItems: must list 1 to %d item ids",
			   ORDER_ITEMS_MAX);
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
	r->items = oc->items = xcalloc(n, sizeof(*oc->items));
	for (size_t i = 0; i < n; i++) {
		oc->items[i].sale_item_id = ids[i];
		oc->items[i].vat_hundredths = -1;
	}
	run_order(c, oc);
cleanup:
	free(ids);
	order_call_free(oc);
}
