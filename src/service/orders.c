/* Sales, refunds and reactions (see orders.h).
 *
 * A sale or refund is one write transaction (the caller's): the replay check, the customer,
 * the ledger rows, the coupons, the statistics and the kept answer commit together or not at
 * all, so a retry after a crash finds either the complete order (and replays it) or nothing. */
#include "service/orders.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/loyalty.h"
#include "domain/refund.h"
#include "service/clients.h"
#include "service/coupons.h"
#include "service/events.h"
#include "service/holds.h"
#include "service/ledger.h"
#include "store/catalog.h"
#include "store/clients.h"
#include "store/coupons.h"
#include "store/ledger.h"
#include "store/merchant.h"
#include "store/orders.h"

_Static_assert(ORDER_HASH_LEN == crypto_hash_sha256_BYTES * 2 + 1, "a hex SHA-256");
/* A refund in the seed's form is one per (externalId, fd): "fd:" and the fd. */
#define REFUND_KEY_LEN (ORDER_FD_MAX * 4 + 4)

void order_result_clear(struct order_result *res)
{
	for (size_t i = 0; i < res->n_items; i++)
		order_item_clear(&res->items[i]);
	free(res->items);
	order_clear(&res->order);
	memset(res, 0, sizeof(*res));
}

/* ---- the order's identity ---- */

/* The digest of the request: two posts are "the same order" when it is equal. It is kept with
 * every order, so its text must not change: an order posted before an upgrade still replays
 * (test_service_orders.c pins it). Its fields are joined by \x1f (unit separator), its items
 * each start with \x1d (group separator); an absent text is \x1e. Written with buf_puts and
 * buf_put_int, which give the text "%s" and "%lld" gave (a printf took 24k instructions an
 * order). */
static void digest_field(struct buf *b, const char *text)
{
	buf_putc(b, '\x1f');
	buf_puts(b, text);
}

static void digest_int(struct buf *b, long long v)
{
	buf_putc(b, '\x1f');
	buf_put_int(b, v);
}

static void request_digest(const struct order_request *r, char hash[ORDER_HASH_LEN])
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "v1");
	digest_field(&b, r->external_id);
	digest_int(&b, r->refund);
	digest_int(&b, r->card_minor);
	digest_int(&b, r->cash_minor);
	digest_field(&b, r->has_phone ? r->phone : "");
	digest_field(&b, r->has_email ? r->email : "");
	digest_int(&b, r->amount_minor);
	digest_int(&b, r->currency);
	digest_field(&b, r->fn ? r->fn : "\x1e");
	digest_field(&b, r->fd ? r->fd : "\x1e");
	digest_field(&b, r->comment ? r->comment : "\x1e");
	digest_int(&b, r->external_date_ms);
	for (size_t i = 0; i < r->n_coupons; i++) {
		digest_field(&b, "c");
		buf_put_int(&b, r->coupons[i]);
	}
	for (size_t i = 0; i < r->n_items; i++) {
		const struct order_item_request *it = &r->items[i];
		buf_puts(&b, "\x1di");
		buf_puts(&b, it->name ? it->name : "");
		digest_int(&b, it->price_minor);
		digest_int(&b, it->qty_milli);
		digest_field(&b, it->unit ? it->unit : "");
		digest_int(&b, it->vat_hundredths);
		digest_int(&b, it->sale_item_id);
		/* Only when given, so that a body without ids keeps the digest it always had. */
		if (it->product_id[0]) {
			digest_field(&b, "p");
			buf_puts(&b, it->product_id);
		}
	}
	/* The same for the fiscal sign, added later (issue 15). */
	if (r->fp) {
		buf_puts(&b, "\x1d"
			     "fp");
		buf_puts(&b, r->fp);
	}
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, (const unsigned char *)b.data, b.len);
	sodium_bin2hex(hash, ORDER_HASH_LEN, digest, sizeof(digest));
	buf_free(&b);
}

void order_request_digest(struct order_request *r)
{
	request_digest(r, r->hash);
}

/* The request's digest: taken before the transaction (order_request_digest), or now. */
static const char *digest_of(const struct order_request *r, char hash[ORDER_HASH_LEN])
{
	if (r->hash[0])
		return r->hash;
	request_digest(r, hash);
	return hash;
}

/* The refund key of a refund in the seed's form ("" for any other order). */
static void refund_key_of(const struct order_request *r, char key[REFUND_KEY_LEN])
{
	if (r->refund && r->seed_form)
		snprintf(key, REFUND_KEY_LEN, "fd:%s", r->fd ? r->fd : "");
	else
		key[0] = '\0';
}

/* Locks the order's identity (externalId, receipt type, the seed refund's key), then looks it
 * up: of two identical orders racing each other the second waits for the first, then finds it
 * and replays it (rather than deciding on what the first changed, e.g. a refund refused as
 * already refunded). True to go on: res->replayed when the order exists with these contents
 * (res->order is it). */
static bool seen_before(struct store_conn *db, const struct order_request *r, const char *hash,
			const char *refund_key, struct order_result *res, struct outcome *o)
{
	char key[sizeof(r->external_id) + REFUND_KEY_LEN + 1];
	snprintf(key, sizeof(key), "%s\n%s", r->external_id, refund_key);
	struct order *prev = &res->order;
	enum store_rc rc =
	    STORE(db, key_lock, r->merchant_id, r->refund ? "order:refund" : "order:sale", key);
	if (rc == STORE_OK)
		rc = STORE(db, order_find_external, r->merchant_id, r->external_id, r->refund,
			   refund_key, prev);
	if (rc == STORE_NOT_FOUND) {
		order_clear(prev);
		return true;
	}
	if (!outcome_store(o, rc))
		return false;
	const char *type = r->refund ? "refund" : "sale";
	if (r->refund && r->seed_form && strcmp(prev->request_hash, hash) != 0) {
		bool has_fd = r->fd && *r->fd;
		return outcome_refuse(
		    o, OUTCOME_CONFLICT, "order_conflict",
		    "order.fd: a refund of sale %s with %s%s was already posted with different "
		    "contents; a further partial refund of the same sale needs its own order.fd "
		    "(the fiscal document number of that refund receipt), or kopilka's form (items "
		    "by \"id\" under a new externalId)",
		    r->external_id, has_fd ? "fd " : "no fd", has_fd ? r->fd : "");
	}
	/* A cashier sees only the orders they created (API.md 4.2): another account's order is
	 * neither replayed nor described to them, whatever the body. */
	if (r->only_own_orders && prev->created_by != r->account_id)
		return outcome_refuse(o, OUTCOME_CONFLICT, "order_conflict",
				      "order.externalId: %s order %s was already posted by another "
				      "account; post this receipt under a new externalId",
				      type, r->external_id);
	if (strcmp(prev->request_hash, hash) != 0 || !prev->response)
		return outcome_refuse(o, OUTCOME_CONFLICT, "order_conflict",
				      "order.externalId: %s order %s was already posted with "
				      "different contents",
				      type, r->external_id);
	res->replayed = true;
	return true;
}

/* Inserts the order row with a new order number and public token. */
static enum store_rc insert_order(struct store_conn *db, const struct order_request *r,
				  const char *hash, const char *refund_key, int64_t now,
				  struct order *o)
{
	char token[33];
	random_hex(token, 16);
	o->merchant_id = r->merchant_id;
	o->external_id = (char *)r->external_id;
	o->refund = r->refund;
	o->order_date_ms = now;
	o->external_date_ms = r->external_date_ms;
	o->card_minor = r->card_minor;
	o->cash_minor = r->cash_minor;
	o->fn = (char *)r->fn;
	o->fd = (char *)r->fd;
	o->fp = (char *)r->fp;
	o->comment = (char *)r->comment;
	o->public_token = token;
	o->request_hash = (char *)hash;
	o->refund_key = (char *)refund_key;
	o->created_by = r->account_id;
	enum store_rc rc = STORE(db, order_number_next, r->merchant_id, &o->order_number, &o->id);
	if (rc == STORE_OK)
		rc = STORE(db, order_create, o, &o->id);
	/* The same order written meanwhile by a concurrent request (its externalId was not found
	 * at the start; on PostgreSQL the insert waited for it): run again, and replay it. */
	if (rc == STORE_CONFLICT)
		rc = STORE_RETRY;
	/* The borrowed strings must not be freed by order_clear: take copies. */
	o->external_id = xstrdup(r->external_id);
	o->fn = r->fn ? xstrdup(r->fn) : NULL;
	o->fd = r->fd ? xstrdup(r->fd) : NULL;
	o->fp = r->fp ? xstrdup(r->fp) : NULL;
	o->comment = r->comment ? xstrdup(r->comment) : NULL;
	o->public_token = xstrdup(token);
	o->request_hash = xstrdup(hash);
	o->refund_key = xstrdup(refund_key);
	return rc;
}

/* ---- sales ---- */

static money_t items_total_minor(const struct order_request *r)
{
	money_t total = 0;
	for (size_t i = 0; i < r->n_items; i++)
		total += item_total_minor(r->items[i].price_minor, r->items[i].qty_milli);
	return total;
}

/* Writes the sale's items as requested into res->items. */
static enum store_rc sale_items_create(struct store_conn *db, const struct order_request *r,
				       struct order_result *res)
{
	enum store_rc rc = STORE_OK;
	res->items = xcalloc(r->n_items, sizeof(*res->items));
	for (size_t i = 0; i < r->n_items && rc == STORE_OK; i++) {
		const struct order_item_request *ri = &r->items[i];
		struct order_item *it = &res->items[res->n_items++];
		it->order_id = res->order.id;
		it->merchant_id = r->merchant_id;
		it->line_no = (int)i + 1;
		it->name = xstrdup(ri->name);
		it->price_minor = ri->price_minor;
		it->qty_milli = ri->qty_milli;
		snprintf(it->unit, sizeof(it->unit), "%s", ri->unit);
		it->vat_hundredths = ri->vat_hundredths;
		it->product_id = ri->product_id[0] ? xstrdup(ri->product_id) : NULL;
		it->total_minor = item_total_minor(it->price_minor, it->qty_milli);
		rc = STORE(db, item_create, it, &it->id);
	}
	return rc;
}

bool order_sale(struct store_conn *db, const struct order_request *r, int64_t now,
		struct order_result *res, struct outcome *o)
{
	char hash_buf[ORDER_HASH_LEN];
	const char *hash = digest_of(r, hash_buf);
	/* The settings travel with the order's lookup: on PostgreSQL one round trip for both. */
	if (!outcome_store(o, STORE(db, settings_ahead, r->merchant_id)) ||
	    !seen_before(db, r, hash, "", res, o))
		return false;
	if (res->replayed)
		return true;

	int64_t merchant = r->merchant_id;
	struct client cl = {0};
	struct catalog_coupon cc = {0};
	/* The spending client's balance and lots, read once for the check and the spend. */
	struct ledger_read rd = {0};
	struct loyalty_settings s;
	bool ok = outcome_store(o, STORE(db, settings_get, merchant, &s));
	if (!ok)
		goto cleanup;
	enum currency spend_cur = r->currency >= 0 ? (enum currency)r->currency : s.currency;
	money_t items_total = items_total_minor(r);
	if (r->has_phone || r->has_email)
		ok = client_find_or_register(db, merchant, r->has_phone ? r->phone : NULL,
					     r->has_email ? r->email : NULL, NULL, s.auto_register,
					     "order.customerPhone", &cl, o);
	if (ok && cl.id && r->n_coupons > 0) {
		/* What expired holds reserved is the client's again (API.md 4.3); a spend of
		 * points alone has ledger_require release them, only when points are held. */
		size_t released = 0;
		ok = outcome_store(o, holds_release_expired(db, cl.id, now, 64, &released));
		rd.holds_released = true;
	}
	if (ok && r->amount_minor > 0) {
		ok = ledger_require(db, cl.id, spend_cur, r->amount_minor, "amount", now, &rd, o);
		if (ok && r->amount_minor * 100 > items_total * s.max_spend_percent)
			ok = outcome_refuse(o, OUTCOME_INVALID, "spend_limit",
					    "amount: at most %lld %% of the order's item total may "
					    "be paid with points",
					    (long long)s.max_spend_percent);
	}
	ok = ok && coupons_require_usable(db, merchant, cl.id, "coupons", r->coupons, r->n_coupons,
					  now, o);
	if (!ok)
		goto cleanup;

	/* Accrual is decided before the row is written: it is part of the order. */
	money_t accrued = 0;
	const struct accrual_setting *rule =
	    cl.total_purchases == 0 ? &s.new_customer : &s.customer;
	if (s.active && cl.id) {
		money_t base =
		    accrual_base_minor(r->card_minor + r->cash_minor, items_total, r->amount_minor);
		accrued = accrual_minor(&rule->rule, base);
	}
	struct order *ord = &res->order;
	ord->client_id = cl.id;
	ord->total_minor = items_total;
	ord->spent_currency = spend_cur;
	ord->spent_minor = r->amount_minor;
	ord->accrued_currency = s.currency;
	ord->accrued_minor = accrued;
	enum store_rc rc = insert_order(db, r, hash, "", now, ord);
	if (rc == STORE_OK)
		rc = sale_items_create(db, r, res);
	if (rc == STORE_OK && r->amount_minor > 0)
		rc = ledger_spend_read(db, merchant, &rd, r->amount_minor, ord->id);
	for (size_t i = 0; i < r->n_coupons && rc == STORE_OK; i++) {
		rc = STORE(db, coupon_set_status, r->coupons[i], COUPON_REDEEMED, ord->id);
		res->redeemed[res->n_redeemed++] = r->coupons[i];
	}
	if (rc == STORE_OK && accrued > 0)
		rc = ledger_accrue_read(db, merchant, cl.id, s.currency, accrued,
					rule->valid_days ? now + rule->valid_days * MS_PER_DAY : 0,
					ord->id, now, r->amount_minor > 0 ? &rd : NULL);
	if (rc == STORE_OK)
		rc = ledger_read_flush(db, merchant, &rd);
	if (rc == STORE_OK && s.active && cl.id && rule->coupon_id) {
		rc = STORE(db, catalog_get, merchant, rule->coupon_id, &cc);
		if (rc == STORE_OK && coupon_issuable(&cc, now))
			rc = coupon_issue_new(db, &cc, cl.id, ord->id, now,
					      &res->issued[res->n_issued++]);
		else if (rc == STORE_NOT_FOUND)
			rc = STORE_OK; /* the rule's coupon is gone: the sale still stands */
	}
	if (rc == STORE_OK && cl.id) {
		money_t paid = r->card_minor + r->cash_minor;
		rc = STORE(db, client_stats_add, cl.id, 1, paid > 0 ? 1 : 0, items_total, paid);
	}
	/* The outbox (service/events.h), after every change, so the data show the result. */
	if (rc == STORE_OK)
		rc = event_order(db, ord, now);
	if (rc == STORE_OK && cl.id && (r->amount_minor > 0 || accrued > 0))
		rc = event_balance(db, merchant, cl.id, now);
	if (rc == STORE_OK)
		rc = event_coupons(db, EVENT_COUPON_REDEEMED, merchant, res->redeemed,
				   res->n_redeemed, now);
	/* The ids of the items, sent ahead with their rows, before the answer shows them. */
	if (rc == STORE_OK)
		rc = STORE(db, sync);
	ok = outcome_store(o, rc);
cleanup:
	ledger_read_clear(&rd);
	client_clear(&cl);
	catalog_coupon_clear(&cc);
	return ok;
}

/* ---- refunds ---- */

static bool refuse_item(const struct order_request *r, size_t i, const char *why, struct outcome *o)
{
	if (r->hub) /* its items were sorted: name the item by its id */
		return outcome_refuse(o, OUTCOME_INVALID, "item_not_refundable",
				      "orderItems: item %lld: %s",
				      (long long)r->items[i].sale_item_id, why);
	return outcome_refuse(o, OUTCOME_INVALID, "item_not_refundable", "order.items[%zu]%s: %s",
			      i, r->seed_form ? "" : ".id", why);
}

/* Locks the sale's client (its balance and lots) and the sale (its refund progress), then
 * reads the sale again as it is now: concurrent refunds of one sale run one after the other. */
static enum store_rc lock_sale(struct store_conn *db, int64_t merchant, struct order *sale)
{
	int64_t id = sale->id;
	enum store_rc rc = STORE_OK;
	if (sale->client_id)
		rc = STORE(db, client_lock, merchant, sale->client_id, NULL);
	if (rc == STORE_OK)
		rc = STORE(db, order_lock, merchant, id);
	if (rc == STORE_OK) {
		order_clear(sale);
		rc = STORE(db, order_get, merchant, id, sale);
	}
	return rc;
}

/* The sale refunded, locked: named by its externalId (the seed's form) or by the first item. */
static bool refund_sale_find(struct store_conn *db, const struct order_request *r,
			     struct order *sale, struct outcome *o)
{
	int64_t merchant = r->merchant_id;
	enum store_rc rc;
	if (r->seed_form) {
		rc = STORE(db, order_find_external, merchant, r->external_id, false, "", sale);
		if (rc == STORE_NOT_FOUND)
			return outcome_refuse(o, OUTCOME_NOT_FOUND, "not_found",
					      "order.externalId: no sale %s to refund (a refund "
					      "written like a sale names its sale by the sale's "
					      "externalId)",
					      r->external_id);
	} else {
		struct order_item first = {0};
		rc = STORE(db, item_get, merchant, r->items[0].sale_item_id, &first);
		bool sale_item = rc == STORE_OK && !first.refund_of_item;
		int64_t sale_id = first.order_id;
		order_item_clear(&first);
		if (rc == STORE_NOT_FOUND || (rc == STORE_OK && !sale_item))
			return refuse_item(r, 0, "no such sale item", o);
		if (rc == STORE_OK)
			rc = STORE(db, order_get, merchant, sale_id, sale);
	}
	if (rc == STORE_OK)
		rc = lock_sale(db, merchant, sale);
	return outcome_store(o, rc);
}

/* The lines of the sale being refunded, deep copies (order_items clears its rows). */
struct sale_lines {
	struct order_item *lines; /* ORDER_ITEMS_MAX */
	size_t n;
};

static bool collect_line(void *ctx, const struct order_item *it)
{
	struct sale_lines *sl = ctx;
	if (sl->n >= ORDER_ITEMS_MAX)
		return false;
	struct order_item *copy = &sl->lines[sl->n++];
	*copy = *it;
	copy->name = it->name ? xstrdup(it->name) : NULL;
	copy->product_id = it->product_id ? xstrdup(it->product_id) : NULL;
	return true;
}

/* kopilka's form: each item names a line of the sale by its item id. */
static bool match_by_item_id(struct store_conn *db, const struct order_request *r,
			     const struct sale_lines *sl, size_t *line_of, struct outcome *o)
{
	for (size_t i = 0; i < r->n_items; i++) {
		size_t k = 0;
		while (k < sl->n && sl->lines[k].id != r->items[i].sale_item_id)
			k++;
		if (k == sl->n) {
			/* Not a line of this sale: another sale's item, or none at all. */
			struct order_item other = {0};
			enum store_rc rc =
			    STORE(db, item_get, r->merchant_id, r->items[i].sale_item_id, &other);
			bool sale_item = rc == STORE_OK && !other.refund_of_item;
			order_item_clear(&other);
			if (rc != STORE_OK && rc != STORE_NOT_FOUND)
				return outcome_store(o, rc);
			return refuse_item(r, i,
					   sale_item
					       ? "all items of a refund must come from one sale"
					       : "no such sale item",
					   o);
		}
		for (size_t j = 0; j < i; j++)
			if (line_of[j] == k)
				return refuse_item(r, i, "the item is listed twice", o);
		line_of[i] = k;
	}
	return true;
}

/* The seed's form: each item is matched to a line by domain/refund (API.md 3.3). */
static bool match_seed_items(const struct order_request *r, const struct sale_lines *sl,
			     size_t *line_of, struct outcome *o)
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
	free(lines);
	free(items);
	char left[FIXED_FMT_MAX];
	switch (m) {
	case REFUND_MATCH_OK:
		break;
	case REFUND_MATCH_NONE:
		return outcome_refuse(o, OUTCOME_INVALID, "item_not_refundable",
				      "order.items[%zu]: no line of sale %s matches it (by Id, by "
				      "name and price, or by a name that only one line has)",
				      err.item, r->external_id);
	case REFUND_MATCH_AMBIGUOUS:
		return outcome_refuse(
		    o, OUTCOME_INVALID, "item_not_refundable",
		    "order.items[%zu]: matches lines %zu and %zu of sale %s (%s), "
		    "which differ; send the line's Id, or its exact name and price",
		    err.item, err.line + 1, err.other_line + 1, r->external_id, by_name[err.by]);
	case REFUND_MATCH_QUANTITY:
		fixed_format(err.remaining_milli, QTY_DIGITS, left);
		return outcome_refuse(
		    o, OUTCOME_INVALID, "item_not_refundable",
		    "order.items[%zu].quantity: only %s of line %zu of sale %s remain%s to refund",
		    err.item, left, err.line + 1, r->external_id,
		    err.remaining_milli <
			    sl->lines[err.line].qty_milli - sl->lines[err.line].refunded_qty_milli
			? " (after the items before it)"
			: "");
	}
	return true;
}

/* Takes every item's quantity from what remains of its line (line_of[i]) into the refund's
 * items (res->items), marking the lines touched; *total_out: the refund's item total. */
static bool refund_items_take(const struct order_request *r, struct sale_lines *sl,
			      const size_t *line_of, bool *touched, struct order_result *res,
			      money_t *total_out, struct outcome *o)
{
	money_t refund_total = 0;
	res->items = xcalloc(r->n_items, sizeof(*res->items));
	for (size_t i = 0; i < r->n_items; i++) {
		struct order_item *si = &sl->lines[line_of[i]];
		int64_t left = si->qty_milli - si->refunded_qty_milli;
		int64_t qty = r->items[i].qty_milli ? r->items[i].qty_milli : left;
		if (left <= 0)
			return refuse_item(r, i, "the item was already refunded", o);
		if (qty > left) {
			char have[FIXED_FMT_MAX];
			fixed_format(left, QTY_DIGITS, have);
			return outcome_refuse(o, OUTCOME_INVALID, "item_not_refundable",
					      "order.items[%zu].quantity: only %s remain to refund",
					      i, have);
		}
		/* Cumulative rounding: the item's refunded total reaches its total exactly. */
		int64_t new_qty = si->refunded_qty_milli + qty;
		money_t new_total = new_qty == si->qty_milli
					? si->total_minor
					: item_total_minor(si->price_minor, new_qty);
		if (new_total > si->total_minor)
			new_total = si->total_minor;
		struct order_item *it = &res->items[res->n_items++];
		it->merchant_id = r->merchant_id;
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
	*total_out = refund_total;
	return true;
}

/* share x of what the sale moved: refunded item total / item total, cumulative; a sale whose
 * total is 0 moves it all back once it is refunded in full (by quantity), none before. */
static money_t refund_share(money_t whole, const struct order *sale)
{
	if (sale->total_minor > 0)
		return share_cumulative(whole, sale->refunded_total_minor, sale->total_minor);
	return sale->fully_refunded ? whole : 0;
}

/* A sale refunded in full: the coupons it redeemed are usable again (not a hold's: those are
 * redeemed by the hold, service/holds.c, and stay so); those it issued and that are still
 * unused are revoked. */
static enum store_rc sale_coupons_undo(struct store_conn *db, int64_t merchant, int64_t sale_id)
{
	int64_t ids[ORDER_COUPONS_MAX + 8];
	size_t n = 0;
	enum store_rc rc = STORE(db, coupons_of_order, sale_id, 0, ids, ARRAY_LEN(ids), &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = coupon_reactivate(db, ids[i]);
	if (rc == STORE_OK)
		rc = STORE(db, coupons_of_order, sale_id, 1, ids, ARRAY_LEN(ids), &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		struct coupon_instance ci = {0};
		rc = STORE(db, coupon_get, merchant, ids[i], &ci);
		if (rc == STORE_OK && ci.status == COUPON_ISSUED)
			rc = STORE(db, coupon_set_status, ids[i], COUPON_REVOKED, 0);
		coupon_instance_clear(&ci);
	}
	return rc;
}

bool order_refund(struct store_conn *db, const struct order_request *r, int64_t now,
		  struct order_result *res, struct outcome *o)
{
	char hash_buf[ORDER_HASH_LEN], refund_key[REFUND_KEY_LEN];
	const char *hash = digest_of(r, hash_buf);
	refund_key_of(r, refund_key);
	if (!seen_before(db, r, hash, refund_key, res, o))
		return false;
	if (res->replayed)
		return true;

	int64_t merchant = r->merchant_id;
	struct sale_lines sl = {.lines = xcalloc(ORDER_ITEMS_MAX, sizeof(*sl.lines))};
	size_t *line_of = xcalloc(r->n_items, sizeof(*line_of));
	bool *touched = xcalloc(ORDER_ITEMS_MAX, sizeof(*touched));
	struct order sale = {0};
	money_t refund_total = 0;
	bool ok = refund_sale_find(db, r, &sale, o) &&
		  outcome_store(o, STORE(db, order_items, merchant, sale.id, collect_line, &sl)) &&
		  (r->seed_form ? match_seed_items(r, &sl, line_of, o)
				: match_by_item_id(db, r, &sl, line_of, o)) &&
		  refund_items_take(r, &sl, line_of, touched, res, &refund_total, o);
	if (!ok)
		goto cleanup;

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
	bool now_full = sale.fully_refunded && !was_full;
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

	struct order *ord = &res->order;
	ord->client_id = sale.client_id;
	ord->total_minor = refund_total;
	ord->refund_of = sale.id;
	ord->accrued_currency = sale.accrued_currency;
	ord->accrued_minor = d_taken;
	ord->spent_currency = sale.spent_currency;
	ord->spent_minor = d_returned;
	enum store_rc rc = insert_order(db, r, hash, refund_key, now, ord);
	for (size_t i = 0; i < res->n_items && rc == STORE_OK; i++) {
		res->items[i].order_id = ord->id;
		rc = STORE(db, item_create, &res->items[i], &res->items[i].id);
	}
	for (size_t k = 0; k < sl.n && rc == STORE_OK; k++)
		if (touched[k])
			rc =
			    STORE(db, item_refunded, sl.lines[k].id, sl.lines[k].refunded_qty_milli,
				  sl.lines[k].refunded_total_minor);
	if (rc == STORE_OK)
		rc = STORE(db, order_refund_progress, &sale);
	if (rc == STORE_OK && sale.client_id) {
		rc = ledger_take_back(db, merchant, sale.client_id, sale.accrued_currency, d_taken,
				      ord->id, now);
		if (rc == STORE_OK)
			rc = ledger_return_spend(db, merchant, sale.client_id, sale.spent_currency,
						 d_returned, sale.id, ord->id, now);
		if (rc == STORE_OK)
			rc = STORE(db, client_stats_add, sale.client_id, now_full ? -1 : 0,
				   now_full && paid > 0 ? -1 : 0, -refund_total, -d_paid);
	}
	if (rc == STORE_OK && now_full)
		rc = sale_coupons_undo(db, merchant, sale.id);
	if (rc == STORE_OK)
		rc = event_order(db, ord, now);
	if (rc == STORE_OK && sale.client_id && (d_taken > 0 || d_returned > 0))
		rc = event_balance(db, merchant, sale.client_id, now);
	if (rc == STORE_OK)
		rc = STORE(db, sync); /* the items' ids, as in order_sale */
	ok = outcome_store(o, rc);
cleanup:
	for (size_t k = 0; k < sl.n; k++)
		order_item_clear(&sl.lines[k]);
	free(sl.lines);
	free(line_of);
	free(touched);
	order_clear(&sale);
	return ok;
}

/* ---- after the fact ---- */

enum store_rc order_react(struct store_conn *db, const struct order *o, int reaction,
			  const char *comment)
{
	/* An erased client's comment would be personal text again: the reaction counts, the
	 * words are not kept. */
	if (comment && o->client_id) {
		struct client cl = {0};
		enum store_rc got = STORE(db, client_get, o->merchant_id, o->client_id, &cl);
		if (got == STORE_OK && cl.erased_ms)
			comment = NULL;
		client_clear(&cl);
		if (got != STORE_OK && got != STORE_NOT_FOUND)
			return got;
	}
	enum store_rc rc = STORE(db, order_set_reaction, o->id, reaction, comment);
	if (rc == STORE_OK && o->client_id && o->reaction != reaction) {
		int64_t d[4] = {0, 0, 0, 0};
		d[o->reaction] -= 1;
		d[reaction] += 1;
		rc = STORE(db, client_reviews_add, o->client_id, d[1], d[2], d[3]);
	}
	return rc;
}
