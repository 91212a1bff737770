/* The route table and the central request pipeline: match, authenticate, check the role, read
 * and parse the body, run the handler. Everything a handler may assume is checked here once. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/call.h"
#include "api/session.h"
#include "core/log.h"
#include "domain/text.h"
#include "handlers/handlers.h"

enum route_flags {
	ROUTE_PUBLIC = 1,	 /* no authentication */
	ROUTE_METRICS = 2,	 /* served here only while --metrics-listen is not set */
	ROUTE_STATIC = 4,	 /* needs no database connection */
	ROUTE_BODY_OPTIONAL = 8, /* a POST that may come without a body (then: {}) */
	ROUTE_BODY_ARRAY = 16,	 /* the body is a JSON array, not an object */
	ROUTE_FORM = 32,	 /* the handler reads a form body itself (no JSON) */
	ROUTE_QUERY_AUTH = 64,	 /* also takes ?login=&api_key= instead of Basic auth (4.3) */
	/* An image upload: a multipart/form-data body of up to API_UPLOAD_BODY_MAX bytes (not
	 * API_BODY_MAX), read by the handler itself (handlers/upload.c). */
	ROUTE_UPLOAD = 128,
	/* The cabinet's session endpoints: the handler authenticates (handlers/session.c). */
	ROUTE_SESSION = 256,
	/* A customer import: a CSV file (raw or in a multipart/form-data part) of up to
	 * API_IMPORT_BODY_MAX bytes, read by the handler itself (handlers/imports.c). */
	ROUTE_CSV = 512,
};

struct route {
	const char *method;
	/* "{id}" matches a positive id, "{file}" any last segment, "{rest}" the rest of the path
	 * (c->file), "{token}" any segment (a client's token when it is 32 lowercase hex:
	 * c->ref_token, else ""), "{code}" any segment (a join code when it is up to 32 of
	 * [0-9a-z]: c->ref_token, else "") */
	const char *pattern;
	void (*handler)(struct call *c);
	enum role min_role;
	int flags;
};

#define B API_BASE

/* The API, one row per endpoint. Literal segments are listed before {id} rows that could
 * match the same path. */
static const struct route routes[] = {
    {"GET", B "/clients/", clients_list, ROLE_CASHIER, 0},
    {"POST", B "/clients/", clients_create, ROLE_CASHIER, 0},
    {"GET", B "/clients/{id}/coupons/", client_coupons_list, ROLE_CASHIER, 0},
    {"POST", B "/clients/{id}/coupons/", client_coupons_issue, ROLE_MANAGER, 0},
    {"GET", B "/clients/{id}/balance/", client_balance, ROLE_CASHIER, 0},
    {"GET", B "/clients/{id}/balance/history/", client_balance_history, ROLE_CASHIER, 0},
    {"POST", B "/clients/{id}/balance/write_off/", client_balance_write_off, ROLE_CASHIER, 0},
    {"POST", B "/clients/{id}/balance/adjust/", client_balance_adjust, ROLE_MANAGER, 0},
    {"GET", B "/clients/{id}/personal-data/", client_personal_data, ROLE_OWNER, 0},
    {"POST", B "/clients/{id}/erase/", client_erase, ROLE_OWNER, 0},
    {"GET", B "/clients/coupons/", client_coupon_lookup, ROLE_CASHIER, 0},
    {"POST", B "/imports/clients/", imports_create, ROLE_MANAGER, ROUTE_CSV},
    {"GET", B "/imports/clients/{id}/", imports_get, ROLE_MANAGER, 0},
    {"POST", B "/imports/clients/{id}/apply/", imports_apply, ROLE_MANAGER, ROUTE_BODY_OPTIONAL},
    {"GET", B "/exports/clients.csv", exports_clients, ROLE_MANAGER, 0},
    {"GET", B "/exports/orders.csv", exports_orders, ROLE_MANAGER, 0},
    {"GET", B "/clients/{ref}/", client_view, ROLE_CASHIER, 0},
    {"PUT", B "/clients/{ref}/", clients_update, ROLE_CASHIER, 0},
    {"GET", B "/fiscal/auth/", fiscal_auth, ROLE_CASHIER, 0},
    {"POST", B "/fiscal/orders/", orders_create, ROLE_CASHIER, 0},
    {"POST", B "/fiscal/orders/create_test/", orders_create_test, ROLE_CASHIER, 0},
    {"GET", B "/fiscal/orders/", fiscal_orders_get, ROLE_CASHIER, 0},
    {"GET", B "/fiscal/orders/{id}/items/", order_items_list, ROLE_CASHIER, 0},
    {"GET", B "/fiscal/orders/{id}/", fiscal_order_get, ROLE_CASHIER, 0},
    {"POST", B "/fiscal_hub/cash_back/hold/", holds_create, ROLE_CASHIER, ROUTE_QUERY_AUTH},
    {"POST", B "/fiscal_hub/cash_back/hold/write_off/", holds_write_off, ROLE_CASHIER,
     ROUTE_QUERY_AUTH},
    {"POST", B "/fiscal_hub/cash_back/hold/cancel/", holds_cancel, ROLE_CASHIER, ROUTE_QUERY_AUTH},
    {"POST", B "/fiscal_hub/cash_back/refund/", hub_refund, ROLE_CASHIER, ROUTE_QUERY_AUTH},
    {"PUT", B "/coupons/share/redeem/", coupon_share_redeem, ROLE_CASHIER, ROUTE_BODY_OPTIONAL},
    {"POST", B "/fiscal/orders/{id}/reaction/", order_reaction, ROLE_CASHIER, 0},
    {"GET", B "/loyalty/settings/", loyalty_settings_get, ROLE_CASHIER, 0},
    {"PUT", B "/loyalty/settings/", loyalty_settings_put, ROLE_MANAGER, 0},
    {"GET", B "/loyalty/settings/write_off/rules/", write_off_rules_get, ROLE_CASHIER, 0},
    {"PUT", B "/loyalty/settings/write_off/rules/", write_off_rules_put, ROLE_MANAGER, 0},
    {"GET", B "/loyalty/settings/contact_info/", contact_info_get, ROLE_CASHIER, 0},
    {"PUT", B "/loyalty/settings/contact_info/", contact_info_put, ROLE_MANAGER, 0},
    {"GET", B "/loyalty/settings/contact_info/join-qr.svg", contact_join_qr, ROLE_CASHIER, 0},
    {"POST", B "/loyalty/settings/contact_info/logo/", contact_logo_upload, ROLE_MANAGER,
     ROUTE_UPLOAD},
    {"DELETE", B "/loyalty/settings/contact_info/logo/", contact_logo_delete, ROLE_MANAGER, 0},
    {"GET", B "/loyalty/settings/sale_points/", sale_points_get, ROLE_CASHIER, 0},
    {"PUT", B "/loyalty/settings/sale_points/", sale_points_put, ROLE_MANAGER, ROUTE_BODY_ARRAY},
    {"GET", B "/loyalty/coupons/", catalog_coupons_get, ROLE_CASHIER, 0},
    {"POST", B "/loyalty/coupons/", catalog_coupons_post, ROLE_MANAGER, 0},
    {"GET", B "/loyalty/coupons/{id}/", catalog_coupon_get, ROLE_CASHIER, 0},
    {"PUT", B "/loyalty/coupons/{id}/", catalog_coupon_put, ROLE_MANAGER, 0},
    {"DELETE", B "/loyalty/coupons/{id}/", catalog_coupon_delete, ROLE_MANAGER, 0},
    {"POST", B "/loyalty/coupons/{id}/image/", catalog_image_upload, ROLE_MANAGER, ROUTE_UPLOAD},
    {"DELETE", B "/loyalty/coupons/{id}/image/", catalog_image_delete, ROLE_MANAGER, 0},
    {"GET", B "/reports/dashboard/", reports_dashboard, ROLE_MANAGER, 0},
    {"GET", B "/employees/", employees_get, ROLE_OWNER, 0},
    {"POST", B "/employees/", employees_create, ROLE_OWNER, 0},
    {"PUT", B "/employees/{id}/", employee_update, ROLE_OWNER, 0},
    {"DELETE", B "/employees/{id}/", employee_delete, ROLE_OWNER, 0},
    {"GET", B "/api_keys/", api_keys_get, ROLE_OWNER, 0},
    {"POST", B "/api_keys/", api_keys_create, ROLE_OWNER, ROUTE_BODY_OPTIONAL},
    {"DELETE", B "/api_keys/{id}/", api_keys_delete, ROLE_OWNER, 0},
    {"GET", B "/webhooks/", webhooks_get, ROLE_OWNER, 0},
    {"POST", B "/webhooks/", webhooks_create, ROLE_OWNER, 0},
    {"POST", B "/webhooks/events/{eventId}/redeliver/", webhook_redeliver, ROLE_OWNER,
     ROUTE_BODY_OPTIONAL},
    {"GET", B "/webhooks/{id}/deliveries/", webhook_deliveries_get, ROLE_OWNER, 0},
    {"PUT", B "/webhooks/{id}/", webhook_update, ROLE_OWNER, 0},
    {"DELETE", B "/webhooks/{id}/", webhook_delete, ROLE_OWNER, 0},
    {"POST", B "/session/", session_create, ROLE_CASHIER, ROUTE_SESSION},
    {"GET", B "/session/", session_show, ROLE_CASHIER, ROUTE_SESSION},
    {"DELETE", B "/session/", session_end, ROLE_CASHIER, ROUTE_SESSION},
    {"GET", B "/openapi.json", ops_openapi, ROLE_CASHIER, ROUTE_PUBLIC},
    {"GET", B "/postman.json", ops_postman, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_STATIC},
    {"GET", B "/media/{file}", media_get, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_STATIC},
    {"GET", "/healthz", ops_healthz, ROLE_CASHIER, ROUTE_PUBLIC},
    {"GET", "/r/{file}", receipt_page, ROLE_CASHIER, ROUTE_PUBLIC},
    {"POST", "/r/{file}", receipt_react, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_FORM},
    {"GET", "/c/{file}", card_page, ROLE_CASHIER, ROUTE_PUBLIC},
    {"GET", "/c/{token}/pass.pkpass", card_pass, ROLE_CASHIER, ROUTE_PUBLIC},
    {"GET", "/c/{token}/gwallet", card_gwallet, ROLE_CASHIER, ROUTE_PUBLIC},
    /* Apple's PassKit web service (handlers/passkit.c): Apple's paths, authenticated by the
     * pass's own token. */
    {"POST", "/wallet/v1/devices/{rest}", passkit_register, ROLE_CASHIER, ROUTE_PUBLIC},
    {"DELETE", "/wallet/v1/devices/{rest}", passkit_unregister, ROLE_CASHIER, ROUTE_PUBLIC},
    {"GET", "/wallet/v1/devices/{rest}", passkit_serials, ROLE_CASHIER, ROUTE_PUBLIC},
    {"GET", "/wallet/v1/passes/{rest}", passkit_pass, ROLE_CASHIER, ROUTE_PUBLIC},
    {"POST", "/wallet/v1/log", passkit_log, ROLE_CASHIER, ROUTE_PUBLIC},
    {"GET", "/j/{file}", enrol_page, ROLE_CASHIER, ROUTE_PUBLIC},
    {"POST", "/j/{file}", enrol_submit, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_FORM},
    {"GET", "/j/{code}/confirm", enrol_confirm_page, ROLE_CASHIER, ROUTE_PUBLIC},
    {"POST", "/j/{code}/confirm", enrol_confirm, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_FORM},
    {"GET", "/metrics", ops_metrics, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_METRICS},
    {"GET", "/docs/", ops_docs, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_STATIC},
    {"GET", "/docs/{file}", ops_docs, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_STATIC},
    {"GET", "/lk/", ops_lk, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_STATIC},
    {"GET", "/lk/assets/{file}", ops_lk, ROLE_CASHIER, ROUTE_PUBLIC | ROUTE_STATIC},
};

#undef B

static const char *route_names[ARRAY_LEN(routes)];

const char *const *api_route_names(size_t *n)
{
	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		if (!route_names[i]) {
			char name[160];
			snprintf(name, sizeof(name), "%s %s", routes[i].method, routes[i].pattern);
			route_names[i] = xstrdup(name);
		}
	}
	*n = ARRAY_LEN(routes);
	return route_names;
}

/* A path segment of len bytes as a positive id (at most 18 digits). */
static bool path_id(const char *s, size_t len, int64_t *out)
{
	int64_t id = 0;
	if (len == 0 || len > 18)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		id = id * 10 + (s[i] - '0');
	}
	*out = id;
	return id > 0;
}

/* Matches path (under the base, trailing slash optional) against a pattern. Path ids that are
 * not positive integers are reported through *bad_id (the route still matches: such an id
 * names nothing, which is a 404). */
static bool match(const char *pattern, const char *path, struct call *c, bool *bad_id)
{
	int n_ids = 0;
	const char *p = pattern, *s = path;
	*bad_id = false;
	while (*p) {
		/* Literal characters first: most patterns fail on them, and comparing every
		 * position with each placeholder's name cost ~140k instructions a request over
		 * the table (callgrind, docs/PERFORMANCE.md "The route table"). */
		if (*p != '{') {
			if (*p == *s) {
				p++;
				s++;
				continue;
			}
			/* The trailing slash of the pattern is optional. */
			if (*p == '/' && p[1] == '\0' && *s == '\0')
				break;
			return false;
		}
		if (strcmp(p, "{rest}") == 0) {
			/* The rest of the path, slashes included (split by the handler). */
			if (!*s)
				return false;
			c->file = s;
			p += 6;
			s += strlen(s);
			continue;
		}
		if (strcmp(p, "{file}") == 0) {
			if (!*s || strchr(s, '/'))
				return false;
			c->file = s;
			p += 6;
			s += strlen(s);
			continue;
		}
		if (strncmp(p, "{eventId}", 9) == 0) {
			/* An event's public id: "evt_" and 32 lowercase hex digits (any other
			 * segment names no event: 404). */
			size_t len = strcspn(s, "/");
			bool ok = len == 36 && strncmp(s, "evt_", 4) == 0;
			for (size_t i = 4; ok && i < len; i++)
				ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
			if (len == 0)
				return false;
			if (ok) {
				memcpy(c->ref_token, s, len);
				c->ref_token[len] = '\0';
			} else {
				*bad_id = true;
			}
			p += 9;
			s += len;
			continue;
		}
		if (strncmp(p, "{code}", 6) == 0) {
			/* A merchant's join code: up to 32 of [0-9a-z] into c->ref_token; any
			 * other segment leaves it "", which the handler answers like an unknown
			 * code. */
			size_t len = strcspn(s, "/");
			if (len == 0)
				return false;
			bool ok = len <= 32;
			for (size_t i = 0; ok && i < len; i++)
				ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z');
			memcpy(c->ref_token, s, ok ? len : 0);
			c->ref_token[ok ? len : 0] = '\0';
			p += 6;
			s += len;
			continue;
		}
		if (strncmp(p, "{token}", 7) == 0) {
			/* A public page's capability: a segment of any other shape names nothing,
			 * which the handler answers like an unknown token (no id error). */
			size_t len = strcspn(s, "/");
			if (len == 0)
				return false;
			bool hex = len == 32;
			for (size_t i = 0; hex && i < len; i++)
				hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
			memcpy(c->ref_token, s, hex ? 32 : 0);
			c->ref_token[hex ? 32 : 0] = '\0';
			p += 7;
			s += len;
			continue;
		}
		bool ref = strncmp(p, "{ref}", 5) == 0;
		if (ref || strncmp(p, "{id}", 4) == 0) {
			const char *end = strchr(s, '/');
			size_t len = end ? (size_t)(end - s) : strlen(s);
			if (len == 0 || n_ids >= (int)ARRAY_LEN(c->path_id))
				return false;
			/* {ref}: a client's token (32 lowercase hex) stands for it as well as its
			 * id. */
			bool hex = ref && len == 32;
			for (size_t i = 0; hex && i < len; i++)
				hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
			c->ref_token[0] = '\0';
			int64_t id = 0;
			if (hex) {
				memcpy(c->ref_token, s, 32);
				c->ref_token[32] = '\0';
			} else if (!path_id(s, len, &id)) {
				*bad_id = true;
			}
			c->path_id[n_ids++] = id;
			p += ref ? 5 : 4;
			s += len;
			continue;
		}
		if (*p == *s) { /* a '{' that names no placeholder */
			p++;
			s++;
			continue;
		}
		return false;
	}
	if (*s != '\0')
		return false;
	c->n_path_ids = n_ids;
	return true;
}

/* The most body bytes a route takes. */
static size_t route_body_max(const struct route *route)
{
	if (route->flags & ROUTE_UPLOAD)
		return API_UPLOAD_BODY_MAX;
	if (route->flags & ROUTE_CSV)
		return API_IMPORT_BODY_MAX;
	return (route->flags & ROUTE_FORM) ? API_FORM_BODY_MAX : API_BODY_MAX;
}

size_t api_body_max(const char *method, const char *path)
{
	struct call scratch = {0};
	bool bad_id;
	for (size_t i = 0; i < ARRAY_LEN(routes); i++)
		if ((routes[i].flags & (ROUTE_UPLOAD | ROUTE_FORM | ROUTE_CSV)) &&
		    strcmp(routes[i].method, method) == 0 &&
		    match(routes[i].pattern, path, &scratch, &bad_id))
			return route_body_max(&routes[i]);
	return API_BODY_MAX;
}

static bool content_type_json(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	const char *want = "application/json";
	size_t n = strlen(want);
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* jansson reads a number too small for a double (1e-400, 0.000…001) as 0 without a word, so
 * a price of 1e-400 was a price of 0. Such a literal (one with a nonzero digit that reads as
 * 0) is rewritten to 1e-300 with its sign, which every field's check refuses by name (more
 * fraction digits than allowed, or not an integer). Returns the new text and its length in
 * *out_len, or NULL when there is no such literal (the common case). Strings are skipped. */
static char *underflow_rewrite(const char *text, size_t len, size_t *out_len)
{
	struct buf b;
	bool changed = false;
	size_t copied = 0;
	buf_init(&b);
	size_t pos = 0, i, end;
	while (text_json_next_number(text, len, &pos, &i, &end)) {
		bool nonzero = false, in_mantissa = true;
		for (size_t k = i; k < end; k++) {
			if (text[k] == 'e' || text[k] == 'E')
				in_mantissa = false;
			else if (in_mantissa && text[k] >= '1' && text[k] <= '9')
				nonzero = true;
		}
		if (nonzero) {
			char *token = xstrndup(text + i, end - i);
			double value = strtod(token, NULL);
			free(token);
			if (value == 0.0) {
				buf_append(&b, text + copied, i - copied);
				buf_puts(&b, text[i] == '-' ? "-1e-300" : "1e-300");
				copied = end;
				changed = true;
			}
		}
	}
	if (!changed) {
		buf_free(&b);
		return NULL;
	}
	buf_append(&b, text + copied, len - copied);
	return buf_steal(&b, out_len);
}

/* Parses a body with jansson. A number too large for a double or an int64 is not a syntax
 * error of the request but an out-of-range value of some field: it is replaced by 1e300 (which
 * every field's range check refuses, naming the field) and the body parsed again. One too
 * small for a double is rewritten before (underflow_rewrite). Lengths are kept explicitly: a
 * body may hold a NUL byte, which must stay an error, not end the text. */
static json_t *parse_body(struct call *c, const char *body, size_t len, json_error_t *err)
{
	size_t copy_len = 0;
	char *copy = underflow_rewrite(body, len, &copy_len);
	json_t *doc =
	    json_loadb(copy ? copy : body, copy ? copy_len : len, JSON_REJECT_DUPLICATES, err);
	for (int round = 0; !doc && round < 64; round++) {
		if (!strstr(err->text, "overflow") && !strstr(err->text, "too big"))
			break;
		/* jansson reports the position just past the offending number. */
		size_t end = (size_t)err->position;
		const char *text = copy ? copy : body;
		size_t text_len = copy ? copy_len : len;
		if (end > text_len)
			break;
		size_t start = end;
		while (start > 0 && text_json_number_char(text[start - 1]))
			start--;
		if (start == end)
			break;
		struct buf b;
		buf_init(&b);
		buf_append(&b, text, start);
		buf_puts(&b, text[start] == '-' ? "-1e300" : "1e300");
		buf_append(&b, text + end, text_len - end);
		free(copy);
		copy = buf_steal(&b, &copy_len);
		doc = json_loadb(copy, copy_len, JSON_REJECT_DUPLICATES, err);
	}
	if (doc) {
		c->body = doc;
		call_index_reals(c, copy ? copy : body, copy ? copy_len : len);
	}
	free(copy);
	return doc;
}

/* Reads the JSON body of a POST/PUT into c->body. Writes the error and returns false when the
 * body is not acceptable. */
static bool read_body(struct call *c, bool array)
{
	struct request *req = c->req;
	if (req->body_too_large) {
		call_error(c, 413, "payload_too_large", "request body exceeds %d bytes",
			   API_BODY_MAX);
		return false;
	}
	if (!content_type_json(req->content_type)) {
		call_error(c, 415, "unsupported_media_type",
			   "Content-Type must be application/json");
		return false;
	}
	if (!text_utf8_valid(req->body ? req->body : "", req->body_len)) {
		call_error(c, 400, "malformed_json", "request body is not valid UTF-8");
		return false;
	}
	json_error_t err;
	c->body = parse_body(c, req->body ? req->body : "", req->body_len, &err);
	if (!c->body) {
		call_error(c, 400, "malformed_json",
			   "request body is not valid JSON: %s at line %d", err.text, err.line);
		return false;
	}
	if (array ? !json_is_array(c->body) : !json_is_object(c->body)) {
		call_error(c, 400, "malformed_json", "request body must be a JSON %s",
			   array ? "array" : "object");
		return false;
	}
	return true;
}

/* Idempotency-Key: one header of 1 to 255 printable ASCII characters, on a POST or PUT. */
static bool idempotency_key_ok(struct call *c)
{
	const struct request *req = c->req;
	const char *k = req->idempotency_key;
	size_t n = k ? strlen(k) : 0;
	bool ok = req->n_idempotency_keys == 1 && n >= 1 && n <= 255;
	for (size_t i = 0; ok && i < n; i++)
		ok = k[i] >= 0x20 && k[i] <= 0x7e;
	if (!ok)
		call_error(c, 400, "validation_failed",
			   "Idempotency-Key: one header of 1 to 255 printable characters");
	return ok;
}

static void not_found_path(struct call *c)
{
	call_error(c, 404, "not_found", "no such endpoint: %s %s", c->req->method, c->req->path);
}

/* Replaces every byte outside ASCII with '?' so the path can be echoed in error bodies;
 * only called on a path that is not valid UTF-8 (no route has such a path). */
static void path_sanitize(char *path)
{
	for (unsigned char *p = (unsigned char *)path; *p; p++)
		if (*p >= 0x80)
			*p = '?';
}

/* What holds before any route is looked at: the framing was accepted by the transport, and the
 * query is UTF-8 (the path is made printable for error bodies when it is not). false: answered. */
static bool request_sane(struct call *c)
{
	struct request *req = c->req;
	if (!text_utf8_valid(req->path, strlen(req->path)))
		path_sanitize(req->path);
	if (req->framing_error) {
		call_error(c, 400, "malformed_request", "%s", req->framing_error);
		return false;
	}
	for (size_t i = 0; i < req->n_query; i++) {
		const struct kv *q = &req->query[i];
		if (!text_utf8_valid(q->key, strlen(q->key)) ||
		    !text_utf8_valid(q->value, strlen(q->value))) {
			call_error(c, 400, "validation_failed",
				   "query parameter %zu is not valid UTF-8", i + 1);
			return false;
		}
	}
	return true;
}

/* The route of the request, with its path parameters in c. NULL when none: then the 404, or
 * the 405 with Allow, is written. *bad_id: a path id that is not a positive integer. */
static const struct route *route_find(struct call *c, bool *bad_id)
{
	struct app *app = c->app;
	struct request *req = c->req;
	struct response *resp = c->resp;
	char allow[128] = "";
	*bad_id = false;
	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		bool this_bad;
		if ((routes[i].flags & ROUTE_METRICS) && app->cfg->metrics_listen &&
		    *app->cfg->metrics_listen && !app->metrics_only)
			continue;
		if (app->metrics_only && !(routes[i].flags & ROUTE_METRICS))
			continue;
		if (!match(routes[i].pattern, req->path, c, &this_bad))
			continue;
		/* HEAD is answered as GET; the transport sends the headers alone. */
		const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
		if (strcmp(routes[i].method, method) == 0) {
			resp->route = (int)i;
			*bad_id = this_bad;
			return &routes[i];
		}
		if (!strstr(allow, routes[i].method)) {
			if (*allow)
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
	}
	if (*allow) {
		response_header(resp, "Allow", allow);
		call_error(c, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
			   req->method, req->path, allow);
	} else {
		not_found_path(c);
	}
	return NULL;
}

/* Basic auth (or ?login=&api_key= where the route takes it, or the cabinet's session) and the
 * route's role. Fills c->who; false when the call is answered (401, 429, 403 or a storage
 * error). */
static bool authenticate(struct call *c, const struct route *route)
{
	struct app *app = c->app;
	struct request *req = c->req;
	struct response *resp = c->resp;
	int64_t retry_after = 0;
	const char *qlogin = request_query(req, "login");
	const char *qkey = request_query(req, "api_key");
	bool by_query = (route->flags & ROUTE_QUERY_AUTH) && !req->authorization && qlogin && qkey;
	enum auth_result ar = AUTH_OK;
	if (!by_query && session_wanted(req)) {
		if (!session_authenticate(c))
			return false;
	} else {
		ar = by_query ? auth_check_pair(app->auth, c->db, qlogin, qkey, req->remote_addr,
						&c->who, &retry_after)
			      : auth_check(app->auth, c->db, req->authorization, req->remote_addr,
					   &c->who, &retry_after);
	}
	switch (ar) {
	case AUTH_OK:
		break;
	case AUTH_MISSING:
	case AUTH_FAILED:
		response_header(resp, "WWW-Authenticate",
				"Basic realm=\"kopilka\", charset=\"UTF-8\"");
		call_error(c, 401, "unauthorized",
			   req->authorization || by_query ? "wrong login or password"
							  : "Authorization header is required");
		return false;
	case AUTH_LOCKED: {
		char secs[24];
		snprintf(secs, sizeof(secs), "%lld", (long long)retry_after);
		response_header(resp, "Retry-After", secs);
		call_error(c, 429, "too_many_requests", "too many failed logins; retry in %lld s",
			   (long long)retry_after);
		return false;
	}
	case AUTH_ERROR:
		call_store_error(c, STORE_ERROR);
		return false;
	}
	resp->merchant_id = c->who.merchant_id;
	if (c->who.role < route->min_role) {
		call_error(c, 403, "forbidden", "your role may not %s %s", req->method, req->path);
		return false;
	}
	return true;
}

void api_payload_too_large(struct app *app, struct request *req, struct response *resp)
{
	/* The whole pipeline, as for a body cut short at the limit: the route's own 413 (an
	 * upload's names its part), after the checks that come before the body. */
	req->body_too_large = true;
	api_handle(app, req, resp);
}

bool api_refuse_early(struct app *app, struct request *req, uint64_t content_length,
		      struct response *resp)
{
	struct call call = {.app = app, .req = req, .resp = resp};
	struct call *c = &call;
	bool bad_id;
	if (!request_sane(c))
		return true;
	const struct route *route = route_find(c, &bad_id);
	if (!route)
		return true;
	if (!(route->flags & (ROUTE_PUBLIC | ROUTE_STATIC | ROUTE_SESSION))) {
		c->db = app->store->ops->acquire(app->store);
		bool ok = authenticate(c, route);
		app->store->ops->release(c->db);
		if (!ok)
			return true;
	}
	if (bad_id) {
		call_error(c, 404, "not_found", "no such object: %s", req->path);
		return true;
	}
	if (content_length != API_LENGTH_UNKNOWN && content_length > route_body_max(route)) {
		api_payload_too_large(app, req, resp);
		return true;
	}
	/* Nothing to say before the body: the call is made again, whole, once it is in. */
	resp->status = 0;
	resp->merchant_id = 0;
	resp->route = -1;
	return false;
}

void api_handle(struct app *app, struct request *req, struct response *resp)
{
	struct call call = {.app = app, .req = req, .resp = resp};
	struct call *c = &call;
	if (!request_sane(c))
		return;
	bool bad_id = false;
	const struct route *route = route_find(c, &bad_id);
	if (!route)
		return;
	if (route->flags & ROUTE_STATIC) {
		route->handler(c);
		return;
	}
	c->db = app->store->ops->acquire(app->store);
	if (!(route->flags & (ROUTE_PUBLIC | ROUTE_SESSION)) && !authenticate(c, route))
		goto cleanup;
	if (bad_id) {
		call_error(c, 404, "not_found", "no such object: %s", req->path);
		goto cleanup;
	}
	bool writes = strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
	if (writes && req->n_idempotency_keys > 0 && !idempotency_key_ok(c))
		goto cleanup;
	if ((route->flags & ROUTE_BODY_OPTIONAL) && req->body_len == 0 && !req->body_too_large) {
		c->body = json_object();
	} else if (!(route->flags & (ROUTE_FORM | ROUTE_UPLOAD | ROUTE_CSV)) &&
		   (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) &&
		   !read_body(c, route->flags & ROUTE_BODY_ARRAY)) {
		goto cleanup;
	}
	route->handler(c);
	if (resp->status == 0)
		call_store_error(c, STORE_ERROR);
cleanup:
	call_free_reals(c);
	json_decref(c->body);
	app->store->ops->release(c->db);
}
