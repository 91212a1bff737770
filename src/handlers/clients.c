/* Clients: search (API.md 2.1), create (6), their coupons (2.2, 6), balance (2.3) and its
 * manual adjustment (2.5). */
#include <stdlib.h>
#include <string.h>

#include "domain/text.h"
#include "handlers/handlers.h"
#include "service/clients.h"
#include "service/coupons.h"
#include "service/events.h"
#include "service/ledger.h"
#include "service/views.h"
#include "store/accounts.h"
#include "store/clients.h"
#include "store/coupons.h"
#include "store/holds.h"
#include "store/merchant.h"
#include "store/orders.h"
#include "store/webhooks.h"

/* Compiles the phone query parameter; false after writing a 400. */
static bool phone_query(struct call *c, const char *v, struct pattern *p)
{
	char cleaned[PATTERN_MAX + 1];
	if (strchr(v, '%')) {
		if (!phone_pattern_clean(v, cleaned) || !pattern_compile(cleaned, p))
			goto bad;
		return true;
	}
	if (!phone_normalize(v, cleaned))
		goto bad;
	return pattern_compile(cleaned, p);
bad:
	call_error(c, 400, "validation_failed",
		   "phone: must be a phone number of up to %d digits, or a pattern with %%",
		   PHONE_MAX_DIGITS);
	return false;
}

static bool email_query(struct call *c, const char *v, struct pattern *p)
{
	char cleaned[PATTERN_MAX + 1];
	if (strchr(v, '%')) {
		size_t n = strlen(v);
		if (n > PATTERN_MAX)
			goto bad;
		memcpy(cleaned, v, n + 1);
		text_ascii_lower(cleaned);
		return pattern_compile(cleaned, p);
	}
	if (!email_normalize(v, cleaned))
		goto bad;
	text_ascii_lower(cleaned);
	return pattern_compile(cleaned, p);
bad:
	call_error(c, 400, "validation_failed",
		   "email: must be an email address, or a pattern with %% of up to %d bytes",
		   PATTERN_MAX);
	return false;
}

struct client_rows {
	struct jw *w;
	const char *public_url;
};

static bool write_client_row(void *ctx, const struct client *cl)
{
	const struct client_rows *rows = ctx;
	view_client(rows->w, cl, rows->public_url);
	return true;
}

void clients_list(struct call *c)
{
	struct pattern phone, email;
	struct client_query q = {0};
	const char *pv = request_query(c->req, "phone");
	const char *ev = request_query(c->req, "email");
	if (pv && *pv) {
		if (!phone_query(c, pv, &phone))
			return;
		q.phone = &phone;
	}
	if (ev && *ev) {
		if (!email_query(c, ev, &email))
			return;
		q.email = &email;
	}
	if (!query_paging(c, &q.offset, &q.limit))
		return;
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	struct client_rows rows = {&w, c->app->cfg->public_url};
	enum store_rc rc =
	    STORE(c->db, client_search, c->who.merchant_id, &q, write_client_row, &rows);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

static enum store_rc create_client_tx(struct call *c, void *ctx)
{
	struct client *cl = ctx;
	int64_t id = 0;
	enum store_rc rc = STORE(c->db, client_create, cl, &id);
	if (rc == STORE_CONFLICT) {
		call_error(c, 409, "client_conflict",
			   "a client with this phone or email already exists");
		return rc;
	}
	if (rc != STORE_OK)
		return rc;
	struct client stored = {0};
	rc = STORE(c->db, client_get, c->who.merchant_id, id, &stored);
	if (rc == STORE_OK)
		rc = event_client(c->db, EVENT_CLIENT_CREATED, &stored, now_ms());
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 201, &w);
		view_client(&w, &stored, c->app->cfg->public_url);
	}
	client_clear(&stored);
	return rc;
}

/* An avatar is shown by cabinets and POS screens as a link or an image: an absolute http(s)
 * URL or nothing ("" clears it), never javascript: or data:. */
static bool avatar_url_ok(struct call *c, const char *avatar)
{
	if (!avatar || !*avatar || text_http_url(avatar))
		return true;
	call_error(c, 400, "validation_failed", "avatarUrl: must be an absolute http or https URL");
	return false;
}

void clients_create(struct call *c)
{
	char phone[PHONE_MAX_DIGITS + 1] = "", email[EMAIL_MAX + 1] = "";
	bool has_phone, has_email;
	const char *name = NULL, *avatar = NULL;
	if (!body_phone(c, c->body, "phone", "phone", phone, &has_phone) ||
	    !body_email(c, c->body, "email", "email", email, &has_email) ||
	    !body_string(c, c->body, "name", "name", false, 0, 256, &name) ||
	    !body_string(c, c->body, "avatarUrl", "avatarUrl", false, 0, 2048, &avatar) ||
	    !avatar_url_ok(c, avatar))
		return;
	if (!has_phone && !has_email) {
		call_error(c, 400, "validation_failed", "phone: phone or email is required");
		return;
	}
	struct client cl = {.merchant_id = c->who.merchant_id,
			    .phone = has_phone ? phone : NULL,
			    .email = has_email ? email : NULL,
			    .name = name && *name ? (char *)name : NULL,
			    .avatar_url = avatar && *avatar ? (char *)avatar : NULL,
			    .created_ms = now_ms()};
	random_hex(cl.token, 16);
	call_write_tx_rows(c, create_client_tx, &cl);
}

static bool write_coupon_row(void *ctx, const struct coupon_instance *ci)
{
	view_coupon_instance(ctx, ci);
	return true;
}

/* Checks the {id} client exists for the caller's merchant; writes 404 when not. */
static bool client_exists(struct call *c, int64_t id)
{
	struct client cl = {0};
	enum store_rc rc = STORE(c->db, client_get, c->who.merchant_id, id, &cl);
	client_clear(&cl);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "client %lld not found", (long long)id);
	else if (rc != STORE_OK)
		call_store_error(c, rc);
	return rc == STORE_OK;
}

void client_coupons_list(struct call *c)
{
	int64_t client_id = c->path_id[0];
	if (!client_exists(c, client_id))
		return;
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc = STORE(c->db, coupons_usable, c->who.merchant_id, client_id, now_ms(),
				 write_coupon_row, &w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

static enum store_rc issue_tx(struct call *c, void *ctx)
{
	int64_t coupon_id = *(int64_t *)ctx;
	struct coupon_instance ci = {0};
	struct outcome o = {0};
	if (coupon_issue_to(c->db, c->who.merchant_id, c->path_id[0], coupon_id, now_ms(), &ci,
			    &o)) {
		struct jw w;
		call_json(c, 201, &w);
		view_coupon_instance(&w, &ci);
	}
	coupon_instance_clear(&ci);
	return call_outcome(c, &o);
}

void client_coupons_issue(struct call *c)
{
	int64_t coupon_id;
	if (!body_int(c, c->body, "couponId", "couponId", true, 1, INT64_MAX, &coupon_id, NULL))
		return;
	call_write_tx_rows(c, issue_tx, &coupon_id);
}

void client_balance(struct call *c)
{
	int64_t client_id = c->path_id[0];
	money_t available[CURRENCY_COUNT];
	enum store_rc rc = STORE(c->db, begin, false);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	if (!client_exists(c, client_id))
		goto cleanup;
	int64_t now = now_ms();
	for (int cur = 0; cur < CURRENCY_COUNT && rc == STORE_OK; cur++)
		rc = ledger_available(c->db, client_id, (enum currency)cur, now, &available[cur]);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		goto cleanup;
	}
	struct jw w;
	call_json(c, 200, &w);
	view_balance(&w, available);
cleanup:
	c->db->ops->rollback(c->db);
}

/* The client a /clients/{ref}/ path names: by token when the segment is one, else by id. */
static enum store_rc client_by_ref(struct call *c, struct client *cl)
{
	return c->ref_token[0]
		   ? STORE(c->db, client_find_token, c->who.merchant_id, c->ref_token, cl)
		   : STORE(c->db, client_get, c->who.merchant_id, c->path_id[0], cl);
}

void client_view(struct call *c)
{
	struct client cl = {0};
	enum store_rc rc = client_by_ref(c, &cl);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "client not found");
	else if (rc != STORE_OK)
		call_store_error(c, rc);
	else {
		struct jw w;
		call_json(c, 200, &w);
		view_client(&w, &cl, c->app->cfg->public_url);
	}
	client_clear(&cl);
}

static bool write_ledger_row(void *ctx, const struct ledger_entry *e)
{
	view_ledger_entry(ctx, e);
	return true;
}

/* A non-negative integer query parameter (ms), or def when absent. */
static bool query_ms(struct call *c, const char *key, int64_t def, int64_t *out)
{
	const char *v = request_query(c->req, key);
	*out = def;
	if (!v || !*v)
		return true;
	if (fixed_parse(v, 0, INT64_MAX / 10, out) != FIXED_OK || *out < 0) {
		call_error(c, 400, "validation_failed",
			   "%s: must be a time in ms since the epoch (a non-negative integer)",
			   key);
		return false;
	}
	return true;
}

void client_balance_history(struct call *c)
{
	int64_t from, to, offset, limit;
	if (!query_ms(c, "from", 0, &from) || !query_ms(c, "to", INT64_MAX / 10, &to) ||
	    !query_paging(c, &offset, &limit))
		return;
	if (!client_exists(c, c->path_id[0]))
		return;
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc =
	    STORE(c->db, ledger_list, c->path_id[0], from, to, offset, limit, write_ledger_row, &w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

/* PUT /clients/{id}/: the fields given replace the stored ones (null or "" clears one; a
 * birthday is cleared by null only). */
struct client_patch {
	char phone[PHONE_MAX_DIGITS + 1], email[EMAIL_MAX + 1];
	bool has_phone, has_email;
	const char *name, *avatar;
	char birthday[TEXT_BIRTHDAY_BYTES]; /* "" when null (clears it) or absent */
};

static void patch_field(json_t *body, const char *key, char **field, const char *value,
			bool has_value)
{
	if (!json_object_get(body, key))
		return;
	free(*field);
	*field = has_value && value && *value ? xstrdup(value) : NULL;
}

static enum store_rc client_update_tx(struct call *c, void *ctx)
{
	struct client_patch *p = ctx;
	struct client cl = {0};
	enum store_rc rc = client_by_ref(c, &cl);
	if (rc == STORE_OK) {
		/* Patched as it is now, locked: two updates of one client do not lose each other's
		 * fields. */
		rc = STORE(c->db, client_lock, c->who.merchant_id, cl.id, &cl);
	}
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "client not found");
	if (rc != STORE_OK)
		goto cleanup;
	if (cl.erased_ms) {
		call_error(c, 409, "client_erased",
			   "id: client %lld's personal data was erased; an erased client takes no "
			   "new personal data (register the person anew)",
			   (long long)cl.id);
		rc = STORE_CONFLICT;
		goto cleanup;
	}
	patch_field(c->body, "phone", &cl.phone, p->phone, p->has_phone);
	patch_field(c->body, "email", &cl.email, p->email, p->has_email);
	patch_field(c->body, "name", &cl.name, p->name, true);
	patch_field(c->body, "avatarUrl", &cl.avatar_url, p->avatar, true);
	patch_field(c->body, "birthday", &cl.birthday, p->birthday, true);
	if (!cl.phone && !cl.email) {
		call_error(c, 400, "validation_failed",
			   "phone: a client keeps a phone or an email");
		rc = STORE_NOT_FOUND;
		goto cleanup;
	}
	rc = STORE(c->db, client_update, &cl);
	if (rc == STORE_CONFLICT) {
		call_error(c, 409, "client_conflict",
			   "a client with this phone or email already exists");
		goto cleanup;
	}
	int64_t id = cl.id;
	client_clear(&cl);
	if (rc == STORE_OK)
		rc = STORE(c->db, client_get, c->who.merchant_id, id, &cl);
	if (rc == STORE_OK)
		rc = event_client(c->db, EVENT_CLIENT_UPDATED, &cl, now_ms());
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		view_client(&w, &cl, c->app->cfg->public_url);
	}
cleanup:
	client_clear(&cl);
	return rc;
}

void clients_update(struct call *c)
{
	struct client_patch p = {0};
	if (!body_phone(c, c->body, "phone", "phone", p.phone, &p.has_phone) ||
	    !body_email(c, c->body, "email", "email", p.email, &p.has_email) ||
	    !body_string(c, c->body, "name", "name", false, 0, 256, &p.name) ||
	    !body_string(c, c->body, "avatarUrl", "avatarUrl", false, 0, 2048, &p.avatar) ||
	    !avatar_url_ok(c, p.avatar))
		return;
	/* The join page's rule (domain/text.c), the date written as the API writes dates. */
	json_t *birthday = json_object_get(c->body, "birthday");
	if (birthday && !json_is_null(birthday) &&
	    (!json_is_string(birthday) ||
	     !text_birthday_parse(json_string_value(birthday), BIRTHDAY_ISO, now_ms(),
				  p.birthday))) {
		call_error(c, 400, "validation_failed",
			   "birthday: must be a real date as YYYY-MM-DD from 1900-01-01 to today "
			   "(UTC), or null to clear it");
		return;
	}
	call_write_tx_rows(c, client_update_tx, &p);
}

/* GET /clients/coupons/?type=linked|shared|merchant&token=T: a scanned coupon and its client
 * (API.md 4.1). Only a usable coupon is found: a redeemed, revoked or expired one is 404. */
void client_coupon_lookup(struct call *c)
{
	static const char *const types[] = {"linked", "shared", "merchant"};
	const char *type = request_query(c->req, "type");
	const char *token = request_query(c->req, "token");
	int kind = -1;
	for (int i = 0; type && i < 3; i++)
		if (strcmp(type, types[i]) == 0)
			kind = i;
	if (kind < 0) {
		call_error(c, 400, "validation_failed",
			   "type: must be \"linked\", \"shared\" or \"merchant\"");
		return;
	}
	size_t want = kind == 2 ? 6 : 32;
	bool ok = token && strlen(token) == want;
	for (size_t i = 0; ok && i < want; i++)
		ok = (token[i] >= '0' && token[i] <= '9') ||
		     (kind != 2 && token[i] >= 'a' && token[i] <= 'f');
	if (!ok) {
		call_error(c, 400, "validation_failed", "token: must be %s",
			   kind == 2 ? "a 6-digit code" : "32 lowercase hex characters");
		return;
	}
	int64_t id = 0, now = now_ms();
	struct coupon_instance ci = {0};
	struct client cl = {0};
	enum store_rc rc = STORE(c->db, coupon_find_token, c->who.merchant_id, kind, token, &id);
	if (rc == STORE_OK)
		rc = STORE(c->db, coupon_get, c->who.merchant_id, id, &ci);
	if (rc == STORE_OK &&
	    (ci.status != COUPON_ISSUED || (ci.expires_ms && ci.expires_ms < now)))
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK)
		rc = STORE(c->db, client_get, c->who.merchant_id, ci.client_id, &cl);
	if (rc == STORE_NOT_FOUND) {
		call_error(c, 404, "not_found", "no usable coupon with this token");
	} else if (rc != STORE_OK) {
		call_store_error(c, rc);
	} else {
		struct jw w;
		call_json(c, 200, &w);
		view_client_coupon(&w, &cl, &ci, c->app->cfg->public_url);
	}
	coupon_instance_clear(&ci);
	client_clear(&cl);
}

/* ---- PUT /coupons/share/redeem/ (API.md 4.5) ---- */

struct share_req {
	char token[33];
	bool code; /* token is a merchantShareToken (6 digits), not a shareToken */
	char phone[PHONE_MAX_DIGITS + 1], email[EMAIL_MAX + 1];
	const char *name;
};

static enum store_rc share_tx(struct call *c, void *ctx)
{
	const struct share_req *r = ctx;
	struct share_request req = {.merchant_id = c->who.merchant_id,
				    .token = r->token,
				    .code = r->code,
				    .phone = r->phone[0] ? r->phone : NULL,
				    .email = r->email[0] ? r->email : NULL,
				    .name = r->name};
	struct client friend = {0};
	struct coupon_instance given = {0};
	struct outcome o = {0};
	if (coupon_share_accept(c->db, &req, now_ms(), &friend, &given, &o)) {
		struct jw w;
		call_json(c, 200, &w);
		view_client_coupon(&w, &friend, &given, c->app->cfg->public_url);
	}
	coupon_instance_clear(&given);
	client_clear(&friend);
	return call_outcome(c, &o);
}

void coupon_share_redeem(struct call *c)
{
	struct share_req r = {0};
	const char *token = request_query(c->req, "token");
	const char *phone = request_query(c->req, "phone");
	const char *email = request_query(c->req, "email");
	r.name = request_query(c->req, "name");
	size_t n = token ? strlen(token) : 0;
	bool ok = n == 6 || n == 32;
	for (size_t i = 0; ok && i < n; i++)
		ok = (token[i] >= '0' && token[i] <= '9') ||
		     (n == 32 && token[i] >= 'a' && token[i] <= 'f');
	if (!ok) {
		call_error(c, 400, "validation_failed",
			   "token: must be a shareToken (32 lowercase hex characters) or a "
			   "merchantShareToken (6 digits)");
		return;
	}
	memcpy(r.token, token, n + 1);
	r.code = n == 6;
	if (phone && *phone && !phone_normalize(phone, r.phone)) {
		call_error(c, 400, "validation_failed",
			   "phone: must be a phone number of up to %d digits", PHONE_MAX_DIGITS);
		return;
	}
	if (email && *email && !email_normalize(email, r.email)) {
		call_error(c, 400, "validation_failed", "email: must be an email address");
		return;
	}
	if (!r.phone[0] && !r.email[0]) {
		call_error(c, 400, "validation_failed",
			   "phone: the friend's phone or email is required");
		return;
	}
	if (r.name && (!*r.name || !text_utf8_valid(r.name, strlen(r.name)) ||
		       text_utf8_length(r.name) > 256)) {
		call_error(c, 400, "validation_failed",
			   "name: must be 1 to 256 characters of UTF-8 text");
		return;
	}
	call_write_tx_rows(c, share_tx, &r);
}

/* ---- POST /clients/{id}/balance/adjust/ ---- */

struct adjust_req {
	money_t amount_minor;
	const char *reason;
};

static enum store_rc adjust_tx(struct call *c, void *ctx)
{
	const struct adjust_req *r = ctx;
	int64_t client_id = c->path_id[0], now = now_ms();
	struct loyalty_settings s;
	struct outcome o = {0};
	money_t available[CURRENCY_COUNT] = {0};
	if (outcome_store(&o, STORE(c->db, settings_get, c->who.merchant_id, &s)) &&
	    balance_adjust(c->db, c->who.merchant_id, client_id, s.currency, r->amount_minor,
			   r->reason, now, available, &o)) {
		struct jw w;
		call_json(c, 200, &w);
		jw_obj_begin(&w);
		jw_kint(&w, "clientId", client_id);
		jw_kmoney(&w, "amount", r->amount_minor);
		jw_kstr(&w, "currency", currency_name(s.currency));
		jw_kstr(&w, "reason", r->reason);
		jw_key(&w, "balance");
		view_balance(&w, available);
		jw_obj_end(&w);
	}
	return call_outcome(c, &o);
}

void client_balance_adjust(struct call *c)
{
	struct adjust_req r = {0};
	if (!body_money(c, c->body, "amount", "amount", true, true, &r.amount_minor, NULL) ||
	    !body_string(c, c->body, "reason", "reason", true, 1, 500, &r.reason))
		return;
	if (r.amount_minor == 0) {
		call_error(c, 400, "validation_failed",
			   "amount: must not be 0 (positive adds points, negative takes them)");
		return;
	}
	bool blank = true;
	for (const char *p = r.reason; *p && blank; p++)
		blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
	if (blank) {
		call_error(c, 400, "validation_failed", "reason: must not be blank");
		return;
	}
	call_write_tx_rows(c, adjust_tx, &r);
}

/* ---- personal data on request (152-FZ): GET /clients/{id}/personal-data/ and POST
 * /clients/{id}/erase/ (owner only) ---- */

/* The export walks several lists; a nested read that fails ends the walk with its rc. */
struct export_ctx {
	struct call *c;
	struct jw *w;
	enum store_rc rc;
};

static bool export_item_row(void *ctx, const struct order_item *it)
{
	view_order_item(ctx, it);
	return true;
}

static bool export_order_row(void *ctx, const struct order *o)
{
	struct export_ctx *x = ctx;
	struct call *c = x->c;
	struct client cl = {0};
	struct account emp = {0};
	bool has_client = o->client_id && STORE(c->db, client_get, c->who.merchant_id, o->client_id,
						&cl) == STORE_OK;
	bool has_emp = o->created_by &&
		       STORE(c->db, account_self, o->created_by, &emp) == STORE_OK &&
		       emp.kind == ACCOUNT_EMPLOYEE;
	jw_obj_begin(x->w);
	jw_key(x->w, "order");
	view_order(x->w, o, has_client ? &cl : NULL, has_emp ? &emp : NULL,
		   c->app->cfg->public_url);
	client_clear(&cl);
	account_clear(&emp);
	jw_key(x->w, "items");
	jw_arr_begin(x->w);
	x->rc = STORE(c->db, order_items, c->who.merchant_id, o->id, export_item_row, x->w);
	jw_arr_end(x->w);
	jw_obj_end(x->w);
	return x->rc == STORE_OK;
}

static const char *const coupon_status_names[] = {"issued", "redeemed", "revoked", "held"};

static bool export_coupon_row(void *ctx, const struct coupon_instance *ci)
{
	struct jw *w = ctx;
	jw_obj_begin(w);
	jw_kstr(w, "status",
		ci->status <= COUPON_HELD ? coupon_status_names[ci->status] : "unknown");
	jw_kint(w, "issuedAt", ci->issued_ms);
	jw_kint(w, "couponId", ci->coupon_id);
	jw_key(w, "coupon");
	view_coupon_instance(w, ci);
	jw_obj_end(w);
	return true;
}

static bool export_hold_row(void *ctx, const struct hold *h)
{
	struct export_ctx *x = ctx;
	int64_t ids[64];
	size_t n = 0;
	x->rc = STORE(x->c->db, coupons_of_order, h->id, 2, ids, 64, &n);
	if (x->rc != STORE_OK)
		return false;
	view_hold(x->w, h, now_ms(), ids, n);
	return true;
}

static bool export_event_row(void *ctx, const struct webhook_event *ev)
{
	struct jw *w = ctx;
	const char *type = event_type_name(ev->type);
	jw_obj_begin(w);
	jw_kstr(w, "id", ev->public_id);
	jw_kstr(w, "type", type ? type : "unknown");
	jw_kint(w, "createdAt", ev->created_ms);
	jw_key(w, "data");
	jw_raw(w, ev->data && *ev->data ? ev->data : "null");
	jw_obj_end(w);
	return true;
}

/* The document's parts after the client, each a list of what the store holds of it. */
static enum store_rc export_parts(struct call *c, struct jw *w, int64_t client_id, int64_t now)
{
	money_t available[CURRENCY_COUNT];
	enum store_rc rc = STORE_OK;
	for (int cur = 0; cur < CURRENCY_COUNT && rc == STORE_OK; cur++)
		rc = ledger_available(c->db, client_id, (enum currency)cur, now, &available[cur]);
	if (rc != STORE_OK)
		return rc;
	jw_key(w, "balance");
	view_balance(w, available);

	struct export_ctx x = {c, w, STORE_OK};
	struct order_query q = {.to_ms = INT64_MAX / 10,
				.client_id = client_id,
				.receipt_type = -1,
				.limit = INT64_MAX / 10};
	jw_key(w, "orders");
	jw_arr_begin(w);
	rc = STORE(c->db, orders_list, c->who.merchant_id, &q, export_order_row, &x);
	if (rc == STORE_OK)
		rc = x.rc;
	jw_arr_end(w);
	if (rc != STORE_OK)
		return rc;

	jw_key(w, "ledger");
	jw_arr_begin(w);
	rc = STORE(c->db, ledger_list, client_id, 0, INT64_MAX / 10, 0, INT64_MAX / 10,
		   write_ledger_row, w);
	jw_arr_end(w);
	if (rc != STORE_OK)
		return rc;

	jw_key(w, "coupons");
	jw_arr_begin(w);
	rc = STORE(c->db, client_coupons, c->who.merchant_id, client_id, export_coupon_row, w);
	jw_arr_end(w);
	if (rc != STORE_OK)
		return rc;

	jw_key(w, "holds");
	jw_arr_begin(w);
	rc = STORE(c->db, client_holds, c->who.merchant_id, client_id, export_hold_row, &x);
	if (rc == STORE_OK)
		rc = x.rc;
	jw_arr_end(w);
	if (rc != STORE_OK)
		return rc;

	jw_key(w, "webhookEvents");
	jw_arr_begin(w);
	rc = STORE(c->db, client_events, c->who.merchant_id, client_id, export_event_row, w);
	jw_arr_end(w);
	return rc;
}

/* GET /clients/{id}/personal-data/: everything held about the client, as one JSON document
 * read in one transaction (a download: Content-Disposition attachment). The client part is
 * view_client, so a column added to it is exported with it. */
void client_personal_data(struct call *c)
{
	int64_t client_id = c->path_id[0], now = now_ms();
	struct client cl = {0};
	enum store_rc rc = STORE(c->db, begin, false);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	rc = STORE(c->db, client_get, c->who.merchant_id, client_id, &cl);
	if (rc == STORE_NOT_FOUND) {
		call_error(c, 404, "not_found", "client %lld not found", (long long)client_id);
		goto cleanup;
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		goto cleanup;
	}
	struct jw w;
	call_json(c, 200, &w);
	jw_obj_begin(&w);
	jw_kint(&w, "exportedAt", now);
	jw_key(&w, "client");
	view_client(&w, &cl, c->app->cfg->public_url);
	rc = export_parts(c, &w, client_id, now);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		goto cleanup;
	}
	jw_obj_end(&w);
	char disposition[96];
	snprintf(disposition, sizeof(disposition),
		 "attachment; filename=\"client-%lld-personal-data.json\"", (long long)client_id);
	response_header(c->resp, "Content-Disposition", disposition);
cleanup:
	client_clear(&cl);
	c->db->ops->rollback(c->db);
}

static enum store_rc erase_tx(struct call *c, void *ctx)
{
	(void)ctx;
	struct client cl = {0};
	struct outcome o = {0};
	bool already = false;
	if (client_erase_personal(c->db, c->who.merchant_id, c->path_id[0], now_ms(), &cl, &already,
				  &o)) {
		struct jw w;
		call_json(c, 200, &w);
		view_client(&w, &cl, c->app->cfg->public_url);
	}
	client_clear(&cl);
	return call_outcome(c, &o);
}

/* POST /clients/{id}/erase/ {"confirm": id}: the id again (a string or a number), a guard
 * against erasing the wrong client by a slip. A repeat answers the erased client again. */
void client_erase(struct call *c)
{
	int64_t client_id = c->path_id[0];
	json_t *v = json_object_get(c->body, "confirm");
	char given[32] = "", want[24];
	snprintf(want, sizeof(want), "%lld", (long long)client_id);
	if (json_is_string(v))
		snprintf(given, sizeof(given), "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(given, sizeof(given), "%lld", (long long)json_integer_value(v));
	if (!v || json_is_null(v)) {
		call_error(c, 400, "validation_failed",
			   "confirm: is required: the client's id (%s) again, as a string or a "
			   "number, to confirm the erasure",
			   want);
		return;
	}
	if (strcmp(given, want) != 0) {
		call_error(c, 400, "validation_failed",
			   "confirm: must be the client's id (%s), as a string or a number, to "
			   "confirm the erasure",
			   want);
		return;
	}
	call_write_tx(c, erase_tx, NULL);
}
