/* libkopilka calls: the typed API calls (clients, balance, coupons, orders, holds, settings),
 * each one request written here and sent through kopilka_request() or, for orders, the outbox.
 * Request bodies are written as text so that money strings reach the wire digit for digit. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the body buffer ---- */

void kk_buf_append(struct kk_buf *b, const char *text, size_t len)
{
	if (b->oom)
		return;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (!grown) {
			b->oom = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, text, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void kk_buf_puts(struct kk_buf *b, const char *text)
{
	kk_buf_append(b, text, strlen(text));
}

void kk_buf_printf(struct kk_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		kk_buf_append(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	kk_buf_append(b, big, (size_t)n);
	free(big);
}

void kk_buf_json_string(struct kk_buf *b, const char *text)
{
	kk_buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			kk_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			kk_buf_printf(b, "\\u%04x", *p);
		else
			kk_buf_append(b, (const char *)p, 1);
	}
	kk_buf_puts(b, "\"");
}

/* ",\"key\":\"text\"" when text is not NULL. */
static void put_string_field(struct kk_buf *b, const char *key, const char *text)
{
	if (!text)
		return;
	kk_buf_printf(b, ",\"%s\":", key);
	kk_buf_json_string(b, text);
}

/* ",\"key\":12.5" when text is not NULL: a decimal written as a JSON number, as given. */
static void put_number_field(struct kk_buf *b, const char *key, const char *text)
{
	if (text)
		kk_buf_printf(b, ",\"%s\":%s", key, text);
}

/* A query parameter's value, percent-encoded (RFC 3986 unreserved characters kept). */
static void put_query_value(struct kk_buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			kk_buf_append(b, (const char *)p, 1);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			kk_buf_append(b, esc, 3);
		}
	}
}

static enum kopilka_status buf_status(struct kk_buf *b, struct kopilka_error *err)
{
	if (b->oom) {
		free(b->data);
		b->data = NULL;
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
	}
	return KOPILKA_OK;
}

/* Sends a request whose path or body is in b (freed here). */
static enum kopilka_status send_buf(kopilka *h, const char *method, struct kk_buf *path,
				    struct kk_buf *body, const char *idem, json_t **answer,
				    struct kopilka_error *err)
{
	enum kopilka_status st = KOPILKA_OK;
	if ((path && path->oom) || (body && body->oom))
		st = kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
	else
		st = kopilka_request(h, method, path->data, body ? body->data : NULL, idem, answer,
				     err);
	free(path->data);
	if (body)
		free(body->data);
	return st;
}

static enum kopilka_status get_path(kopilka *h, json_t **answer, struct kopilka_error *err,
				    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum kopilka_status get_path(kopilka *h, json_t **answer, struct kopilka_error *err,
				    const char *fmt, ...)
{
	char path[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return kopilka_request(h, "GET", path, NULL, NULL, answer, err);
}

static bool id_ok(int64_t id)
{
	return id > 0;
}

/* ---- clients ---- */

enum kopilka_status kopilka_client_find(kopilka *h, const char *phone, const char *email,
					const char *token, json_t **clients,
					struct kopilka_error *err)
{
	if (clients)
		*clients = NULL;
	if (!clients)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "clients: NULL");
	int given = (phone != NULL) + (email != NULL) + (token != NULL);
	if (given != 1)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "one of phone, email, token: exactly one, %d given", given);
	struct kk_buf path = {0};
	if (token) {
		size_t n = strlen(token);
		bool hex = n == 32;
		for (size_t i = 0; hex && i < n; i++)
			hex = (token[i] >= '0' && token[i] <= '9') ||
			      (token[i] >= 'a' && token[i] <= 'f');
		if (!hex)
			return kk_fail(err, KOPILKA_ERR_INVALID, 0,
				       "token: 32 lowercase hex characters");
		json_t *client = NULL;
		enum kopilka_status st = get_path(h, &client, err, "/clients/%s/", token);
		if (st == KOPILKA_ERR_HTTP && err && err->http_status == 404) {
			*clients = json_array();
			return *clients ? kk_ok(err) : kk_fail(err, KOPILKA_ERR_NOMEM, 0, "oom");
		}
		if (st != KOPILKA_OK)
			return st;
		*clients = json_array();
		if (!*clients || json_array_append_new(*clients, client) != 0) {
			json_decref(*clients);
			*clients = NULL;
			return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
		}
		return KOPILKA_OK;
	}
	kk_buf_puts(&path, phone ? "/clients/?phone=" : "/clients/?email=");
	put_query_value(&path, phone ? phone : email);
	enum kopilka_status st = send_buf(h, "GET", &path, NULL, NULL, clients, err);
	if (st == KOPILKA_OK && !json_is_array(*clients)) {
		json_decref(*clients);
		*clients = NULL;
		return kk_fail(err, KOPILKA_ERR_PROTOCOL, 0, "the answer is not a JSON array");
	}
	return st;
}

enum kopilka_status kopilka_client_get(kopilka *h, int64_t client_id, json_t **client,
				       struct kopilka_error *err)
{
	if (client)
		*client = NULL;
	if (!client || !id_ok(client_id))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "client_id: a positive id");
	return get_path(h, client, err, "/clients/%" PRId64 "/", client_id);
}

enum kopilka_status kopilka_client_create(kopilka *h, const struct kopilka_new_client *client,
					  const char *idempotency_key, json_t **created,
					  struct kopilka_error *err)
{
	if (created)
		*created = NULL;
	if (!client || (!client->phone && !client->email))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "client: phone or email required");
	struct kk_buf body = {0}, path = {0};
	kk_buf_puts(&body, "{");
	put_string_field(&body, "phone", client->phone);
	put_string_field(&body, "email", client->email);
	put_string_field(&body, "name", client->name);
	kk_buf_puts(&body, "}");
	if (!body.oom && body.data[1] == ',') /* the first field's comma */
		memmove(body.data + 1, body.data + 2, body.len-- - 1);
	kk_buf_puts(&path, "/clients/");
	return send_buf(h, "POST", &path, &body, idempotency_key, created, err);
}

/* ---- balance and coupons ---- */

enum kopilka_status kopilka_balance(kopilka *h, int64_t client_id, struct kopilka_balance *balance,
				    struct kopilka_error *err)
{
	if (!balance || !id_ok(client_id))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "client_id, balance: required");
	memset(balance, 0, sizeof(*balance));
	json_t *answer = NULL;
	enum kopilka_status st =
	    get_path(h, &answer, err, "/clients/%" PRId64 "/balance/", client_id);
	if (st != KOPILKA_OK)
		return st;
	bool points = false, rubles = false;
	size_t i;
	json_t *entry;
	json_array_foreach(answer, i, entry)
	{
		const char *currency = json_string_value(json_object_get(entry, "currency"));
		int64_t minor = 0;
		if (!currency ||
		    kopilka_money_from_json(json_object_get(entry, "amount"), &minor) != KOPILKA_OK)
			continue;
		if (strcmp(currency, "points") == 0) {
			balance->points_minor = minor;
			points = true;
		} else if (strcmp(currency, "rubles") == 0) {
			balance->rubles_minor = minor;
			rubles = true;
		}
	}
	json_decref(answer);
	if (!points || !rubles)
		return kk_fail(err, KOPILKA_ERR_PROTOCOL, 0,
			       "the balance answer lacks a points or rubles amount");
	return KOPILKA_OK;
}

enum kopilka_status kopilka_client_coupons(kopilka *h, int64_t client_id, json_t **coupons,
					   struct kopilka_error *err)
{
	if (coupons)
		*coupons = NULL;
	if (!coupons || !id_ok(client_id))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "client_id: a positive id");
	return get_path(h, coupons, err, "/clients/%" PRId64 "/coupons/", client_id);
}

enum kopilka_status kopilka_coupon_find(kopilka *h, const char *type, const char *token,
					json_t **found, struct kopilka_error *err)
{
	if (found)
		*found = NULL;
	if (!found || !type || !token ||
	    (strcmp(type, "linked") != 0 && strcmp(type, "shared") != 0 &&
	     strcmp(type, "merchant") != 0))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "type: linked, shared or merchant; token: required");
	struct kk_buf path = {0};
	kk_buf_printf(&path, "/clients/coupons/?type=%s&token=", type);
	put_query_value(&path, token);
	return send_buf(h, "GET", &path, NULL, NULL, found, err);
}

enum kopilka_status kopilka_coupon_issue(kopilka *h, int64_t client_id, int64_t coupon_id,
					 const char *idempotency_key, json_t **instance,
					 struct kopilka_error *err)
{
	if (instance)
		*instance = NULL;
	if (!id_ok(client_id) || !id_ok(coupon_id))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "client_id, coupon_id: positive ids");
	struct kk_buf path = {0}, body = {0};
	kk_buf_printf(&path, "/clients/%" PRId64 "/coupons/", client_id);
	kk_buf_printf(&body, "{\"couponId\":%" PRId64 "}", coupon_id);
	return send_buf(h, "POST", &path, &body, idempotency_key, instance, err);
}

/* ---- orders ---- */

enum kopilka_status kopilka_order_post(kopilka *h, const char *body, const char *idempotency_key,
				       json_t **answer, struct kopilka_error *err)
{
	if (answer)
		*answer = NULL;
	if (!h || !body)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "handle, body: required");
	json_error_t jerr;
	json_t *root = json_loads(body, 0, &jerr);
	if (!root)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "body: not JSON (line %d: %s)",
			       jerr.line, jerr.text);
	json_t *order = json_object_get(root, "order");
	json_t *ext = json_object_get(order, "externalId");
	const char *receipt = json_string_value(json_object_get(order, "receiptType"));
	char ext_text[72];
	enum kopilka_status st = KOPILKA_OK;
	if (json_is_string(ext) && json_string_length(ext) >= 1 && json_string_length(ext) <= 64) {
		snprintf(ext_text, sizeof(ext_text), "%s", json_string_value(ext));
	} else if (json_is_integer(ext)) {
		snprintf(ext_text, sizeof(ext_text), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(ext));
	} else {
		st = kk_fail(err, KOPILKA_ERR_INVALID, 0,
			     "body: order.externalId required (1 to 64 characters): it makes "
			     "retries safe");
		goto cleanup;
	}
	if (!receipt || (strcmp(receipt, "sale") != 0 && strcmp(receipt, "refund") != 0)) {
		st = kk_fail(err, KOPILKA_ERR_INVALID, 0,
			     "body: order.receiptType required, sale or refund");
		goto cleanup;
	}
	if (h->outbox) {
		st = kk_outbox_post(h, body, ext_text, receipt, idempotency_key, answer, err);
	} else {
		st = kopilka_request(h, "POST", "/fiscal/orders/", body, idempotency_key, answer,
				     err);
	}
cleanup:
	json_decref(root);
	return st;
}

static bool put_items(struct kk_buf *b, const struct kopilka_item *items, size_t n,
		      struct kopilka_error *err)
{
	kk_buf_puts(b, ",\"items\":[");
	for (size_t i = 0; i < n; i++) {
		const struct kopilka_item *it = &items[i];
		if (!it->name || !kk_decimal_ok(it->price, 2, false) ||
		    (it->quantity && !kk_decimal_ok(it->quantity, 3, false))) {
			kk_fail(err, KOPILKA_ERR_INVALID, 0,
				"items[%zu]: name required, price a decimal with at most 2 "
				"fraction digits, quantity at most 3",
				i);
			return false;
		}
		kk_buf_puts(b, i ? ",{" : "{");
		kk_buf_puts(b, "\"name\":");
		kk_buf_json_string(b, it->name);
		put_number_field(b, "price", it->price);
		put_number_field(b, "quantity", it->quantity ? it->quantity : "1");
		put_string_field(b, "Id", it->product_id);
		kk_buf_puts(b, "}");
	}
	kk_buf_puts(b, "]");
	return true;
}

static bool money_ok_or_null(const char *text)
{
	return !text || kk_decimal_ok(text, 2, false);
}

enum kopilka_status kopilka_sale_post(kopilka *h, const struct kopilka_sale *sale,
				      const char *idempotency_key, json_t **answer,
				      struct kopilka_error *err)
{
	if (answer)
		*answer = NULL;
	if (!sale || !sale->external_id || sale->n_items == 0 || !sale->items)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "sale: external_id and at least one item required");
	if (!money_ok_or_null(sale->amount_card) || !money_ok_or_null(sale->amount_cash) ||
	    !money_ok_or_null(sale->spend_amount))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "amount_card, amount_cash, spend_amount: decimals >= 0 with at "
			       "most 2 fraction digits");
	if (sale->n_coupons > 0 && !sale->coupon_ids)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "coupon_ids: NULL");
	struct kk_buf b = {0};
	kk_buf_puts(&b, "{\"order\":{\"receiptType\":\"sale\"");
	put_string_field(&b, "externalId", sale->external_id);
	put_string_field(&b, "customerPhone", sale->customer_phone);
	put_string_field(&b, "customerEmail", sale->customer_email);
	put_number_field(&b, "amountCard", sale->amount_card);
	put_number_field(&b, "amountCash", sale->amount_cash);
	if (!put_items(&b, sale->items, sale->n_items, err)) {
		free(b.data);
		return KOPILKA_ERR_INVALID;
	}
	kk_buf_puts(&b, "}");
	put_number_field(&b, "amount", sale->spend_amount);
	put_string_field(&b, "currency", sale->spend_currency);
	if (sale->n_coupons > 0) {
		kk_buf_puts(&b, ",\"coupons\":[");
		for (size_t i = 0; i < sale->n_coupons; i++)
			kk_buf_printf(&b, "%s%" PRId64, i ? "," : "", sale->coupon_ids[i]);
		kk_buf_puts(&b, "]");
	}
	kk_buf_puts(&b, "}");
	enum kopilka_status st = buf_status(&b, err);
	if (st != KOPILKA_OK)
		return st;
	st = kopilka_order_post(h, b.data, idempotency_key, answer, err);
	free(b.data);
	return st;
}

enum kopilka_status kopilka_refund_post(kopilka *h, const char *external_id,
					const struct kopilka_refund_line *lines, size_t n_lines,
					const char *idempotency_key, json_t **answer,
					struct kopilka_error *err)
{
	if (answer)
		*answer = NULL;
	if (!external_id || !lines || n_lines == 0)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "external_id and at least one line required");
	struct kk_buf b = {0};
	kk_buf_puts(&b, "{\"order\":{\"receiptType\":\"refund\"");
	put_string_field(&b, "externalId", external_id);
	kk_buf_puts(&b, ",\"items\":[");
	for (size_t i = 0; i < n_lines; i++) {
		if (!id_ok(lines[i].item_id) ||
		    (lines[i].quantity && !kk_decimal_ok(lines[i].quantity, 3, false))) {
			free(b.data);
			return kk_fail(err, KOPILKA_ERR_INVALID, 0,
				       "lines[%zu]: a positive item_id, quantity a decimal with "
				       "at most 3 fraction digits",
				       i);
		}
		kk_buf_printf(&b, "%s{\"id\":%" PRId64, i ? "," : "", lines[i].item_id);
		put_number_field(&b, "quantity", lines[i].quantity);
		kk_buf_puts(&b, "}");
	}
	kk_buf_puts(&b, "]}}");
	enum kopilka_status st = buf_status(&b, err);
	if (st != KOPILKA_OK)
		return st;
	st = kopilka_order_post(h, b.data, idempotency_key, answer, err);
	free(b.data);
	return st;
}

enum kopilka_status kopilka_refund_seed_post(kopilka *h, const char *sale_external_id,
					     const char *fd, const struct kopilka_item *items,
					     size_t n_items, const char *idempotency_key,
					     json_t **answer, struct kopilka_error *err)
{
	if (answer)
		*answer = NULL;
	if (!sale_external_id || !items || n_items == 0)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "sale_external_id and at least one item required");
	struct kk_buf b = {0};
	kk_buf_puts(&b, "{\"order\":{\"receiptType\":\"refund\"");
	put_string_field(&b, "externalId", sale_external_id);
	put_string_field(&b, "fd", fd);
	if (!put_items(&b, items, n_items, err)) {
		free(b.data);
		return KOPILKA_ERR_INVALID;
	}
	kk_buf_puts(&b, "}}");
	enum kopilka_status st = buf_status(&b, err);
	if (st != KOPILKA_OK)
		return st;
	st = kopilka_order_post(h, b.data, idempotency_key, answer, err);
	free(b.data);
	return st;
}

/* ---- holds ---- */

enum kopilka_status kopilka_hold_create(kopilka *h, int64_t client_id, const char *currency,
					const char *amount, const int64_t *coupon_ids,
					size_t n_coupons, const char *idempotency_key,
					json_t **hold, struct kopilka_error *err)
{
	if (hold)
		*hold = NULL;
	if (!id_ok(client_id) || !currency || !kk_decimal_ok(amount, 2, false) ||
	    (n_coupons > 0 && !coupon_ids))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "client_id, currency and amount (a decimal) required");
	struct kk_buf path = {0}, b = {0};
	kk_buf_puts(&path, "/fiscal_hub/cash_back/hold/");
	kk_buf_printf(&b, "{\"clientId\":%" PRId64, client_id);
	put_string_field(&b, "currency", currency);
	put_number_field(&b, "amount", amount);
	if (n_coupons > 0) {
		kk_buf_puts(&b, ",\"couponIds\":[");
		for (size_t i = 0; i < n_coupons; i++)
			kk_buf_printf(&b, "%s%" PRId64, i ? "," : "", coupon_ids[i]);
		kk_buf_puts(&b, "]");
	}
	kk_buf_puts(&b, "}");
	return send_buf(h, "POST", &path, &b, idempotency_key, hold, err);
}

enum kopilka_status kopilka_hold_write_off(kopilka *h, const char *transaction_id,
					   const char *fiscal_order_id, json_t **answer,
					   struct kopilka_error *err)
{
	if (answer)
		*answer = NULL;
	if (!transaction_id)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "transaction_id: required");
	struct kk_buf path = {0}, b = {0};
	kk_buf_puts(&path, "/fiscal_hub/cash_back/hold/write_off/");
	kk_buf_puts(&b, "{\"transactionId\":");
	kk_buf_json_string(&b, transaction_id);
	put_string_field(&b, "fiscalOrderId", fiscal_order_id);
	kk_buf_puts(&b, "}");
	/* Repeating a write-off answers 200: a fresh key per call is safe. */
	return send_buf(h, "POST", &path, &b, NULL, answer, err);
}

enum kopilka_status kopilka_hold_cancel(kopilka *h, const char *transaction_id, json_t **answer,
					struct kopilka_error *err)
{
	if (answer)
		*answer = NULL;
	if (!transaction_id)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "transaction_id: required");
	struct kk_buf path = {0}, b = {0};
	kk_buf_puts(&path, "/fiscal_hub/cash_back/hold/cancel/");
	kk_buf_puts(&b, "{\"transactionId\":");
	kk_buf_json_string(&b, transaction_id);
	kk_buf_puts(&b, "}");
	return send_buf(h, "POST", &path, &b, NULL, answer, err);
}

/* ---- settings ---- */

enum kopilka_status kopilka_settings_get(kopilka *h, json_t **settings, struct kopilka_error *err)
{
	if (settings)
		*settings = NULL;
	if (!settings)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "settings: NULL");
	return get_path(h, settings, err, "/loyalty/settings/");
}
