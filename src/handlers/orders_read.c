/* Reading orders (API.md 4.2: the list with its filters, an order's items) and the customer's
 * reaction to an order (section 6). A cashier sees only the orders they created; anything
 * else answers like an order that does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "handlers/views.h"

static const char *const reactions[] = {NULL, "positive", "neutral", "negative"};

/* The order is visible to the caller: theirs, unless they are a cashier who did not make it. */
static bool visible(const struct call *c, const struct order *o)
{
	return c->who.role != ROLE_CASHIER || o->created_by == c->who.account_id;
}

static void write_order(struct call *c, struct jw *w, const struct order *o)
{
	struct client cl = {0};
	struct account emp = {0};
	bool has_client = o->client_id &&
			  STORE(c->db, client_get, c->who.merchant_id, o->client_id, &cl) == STORE_OK;
	bool has_emp = o->created_by &&
		       STORE(c->db, account_self, o->created_by, &emp) == STORE_OK &&
		       emp.kind == ACCOUNT_EMPLOYEE;
	char number[24], url[512];
	snprintf(number, sizeof(number), "%lld", (long long)o->order_number);
	snprintf(url, sizeof(url), "%s/r/%s", c->app->cfg->public_url, o->public_token);
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
	jw_kstr(w, "customerPhone", has_client ? cl.phone : NULL);
	jw_kstr(w, "customerEmail", has_client ? cl.email : NULL);
	jw_kstr(w, "customerName", has_client ? cl.name : NULL);
	jw_kstr(w, "customerAvatarUrl", has_client ? cl.avatar_url : NULL);
	jw_key(w, "customer");
	if (has_client)
		view_client(w, &cl);
	else
		jw_null(w);
	jw_key(w, "employee");
	if (has_emp)
		view_employee(w, &emp);
	else
		jw_null(w);
	jw_kmoney(w, "totalAmount", o->total_minor);
	jw_kmoney(w, "cashbackAmount", o->refund ? -o->accrued_minor : o->accrued_minor);
	jw_kstr(w, "cashbackCurrency", currency_name(o->accrued_currency));
	jw_kstr(w, "status", o->refund		     ? "completed"
			     : o->fully_refunded     ? "refunded"
			     : o->refunded_total_minor ? "partially_refunded"
						      : "completed");
	jw_kstr(w, "reaction", o->reaction >= 1 && o->reaction <= 3 ? reactions[o->reaction] : NULL);
	jw_kstr(w, "customerComment", o->customer_comment);
	jw_kstr(w, "publicURL", url);
	jw_obj_end(w);
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

void orders_list(struct call *c)
{
	struct order_query q = {.receipt_type = -1};
	char fn[160], fd[160];
	const char *type = request_query(c->req, "receipt_type");
	if (!query_int64(c, "from", 0, &q.from_ms) ||
	    !query_int64(c, "to", INT64_MAX / 10, &q.to_ms) ||
	    !query_int64(c, "client_id", 0, &q.client_id) ||
	    !query_like(c, "fn", fn, sizeof(fn), &q.fn_like) ||
	    !query_like(c, "fd", fd, sizeof(fd), &q.fd_like) || !query_paging(c, &q.offset, &q.limit))
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

static bool write_item_row(void *ctx, const struct order_item *it)
{
	struct jw *w = ctx;
	jw_obj_begin(w);
	jw_kint(w, "id", it->id);
	jw_kint(w, "orderId", it->order_id);
	jw_kstr(w, "name", it->name);
	jw_kmoney(w, "price", it->price_minor);
	jw_key(w, "quantity");
	jw_fixed(w, it->qty_milli, QTY_DIGITS);
	jw_kstr(w, "unit", it->unit);
	jw_key(w, "vat");
	if (it->vat_hundredths >= 0)
		jw_fixed(w, it->vat_hundredths, 2);
	else
		jw_null(w);
	/* kopilka takes item totals as given: no per-item discount is recorded. */
	jw_knull(w, "discountType");
	jw_knull(w, "discountValue");
	jw_obj_end(w);
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
	rc = STORE(c->db, order_set_reaction, o.id, r->reaction, r->comment);
	if (rc == STORE_OK && o.client_id && o.reaction != r->reaction) {
		/* The client's review counts follow the order's reaction: a changed one moves. */
		int64_t d[4] = {0, 0, 0, 0};
		d[o.reaction] -= 1;
		d[r->reaction] += 1;
		rc = STORE(c->db, client_reviews_add, o.client_id, d[1], d[2], d[3]);
	}
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
		if (strcmp(name, reactions[i]) == 0)
			r.reaction = i;
	if (!r.reaction) {
		call_error(c, 400, "validation_failed",
			   "reaction: must be \"positive\", \"neutral\" or \"negative\"");
		return;
	}
	call_write_tx(c, reaction_tx, &r);
}
