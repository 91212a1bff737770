/* Staff and API keys (API.md sections 5 and 6): employees with role manager or cashier, each
 * logging in with their email or phone, and API keys that stand in for a password. Only the
 * owner manages either (the route table says so). A changed or removed credential is
 * forgotten by this node's credential cache at once; other nodes forget it within
 * --auth-cache-seconds. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "service/views.h"
#include "store/accounts.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256
#define STAFF_LOGIN_ATTEMPTS 32

static bool write_employee_row(void *ctx, const struct account *a)
{
	view_employee(ctx, a);
	return true;
}

void employees_get(struct call *c)
{
	int64_t offset, limit;
	if (!query_paging(c, &offset, &limit))
		return;
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc =
	    STORE(c->db, employees_list, c->who.merchant_id, offset, limit, write_employee_row, &w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

/* An employee body as parsed: strings point into the body or the buffers. */
struct employee_req {
	char email[EMAIL_MAX + 1], phone[PHONE_MAX_DIGITS + 1];
	bool has_email, has_phone, email_given, phone_given;
	const char *first_name, *last_name, *inn, *password, *role;
	bool first_given, last_given, inn_given;
	char hash[AUTH_HASH_MAX];
};

/* Present in the body at all, null included (null clears an optional field). */
static bool given(json_t *obj, const char *key)
{
	return json_object_get(obj, key) != NULL;
}

static bool parse_employee(struct call *c, struct employee_req *e, bool create)
{
	json_t *b = c->body;
	if (!body_email(c, b, "email", "email", e->email, &e->has_email) ||
	    !body_phone(c, b, "phone", "phone", e->phone, &e->has_phone) ||
	    !body_string(c, b, "firstName", "firstName", false, 0, 256, &e->first_name) ||
	    !body_string(c, b, "lastName", "lastName", false, 0, 256, &e->last_name) ||
	    !body_string(c, b, "inn", "inn", false, 0, 12, &e->inn) ||
	    !body_string(c, b, "password", "password", create, PASSWORD_MIN, PASSWORD_MAX,
			 &e->password) ||
	    !body_string(c, b, "role", "role", create, 1, 16, &e->role))
		return false;
	e->email_given = given(b, "email");
	e->phone_given = given(b, "phone");
	e->first_given = given(b, "firstName");
	e->last_given = given(b, "lastName");
	e->inn_given = given(b, "inn");
	if (e->role && strcmp(e->role, "manager") != 0 && strcmp(e->role, "cashier") != 0) {
		call_error(c, 400, "validation_failed", "role: must be \"manager\" or \"cashier\"");
		return false;
	}
	if (e->inn && *e->inn) {
		size_t n = strlen(e->inn);
		bool digits = n == 10 || n == 12;
		for (size_t i = 0; digits && i < n; i++)
			digits = e->inn[i] >= '0' && e->inn[i] <= '9';
		if (!digits) {
			call_error(c, 400, "validation_failed", "inn: must be 10 or 12 digits");
			return false;
		}
	}
	if (create && !e->has_email && !e->has_phone) {
		call_error(c, 400, "validation_failed",
			   "email: an email or a phone is required (it is the login)");
		return false;
	}
	/* Argon2 runs here, before the transaction: the write lock is never held for it. */
	if (e->password && !auth_hash_password(e->password, e->hash)) {
		call_error(c, 503, "unavailable", "cannot hash the password now; retry");
		return false;
	}
	return true;
}

static void login_conflict(struct call *c)
{
	call_error(c, 409, "login_conflict",
		   "email: this email or phone is already the login of another account");
}

static enum store_rc employee_create_tx(struct call *c, void *ctx)
{
	struct employee_req *e = ctx;
	struct account a = {
	    .merchant_id = c->who.merchant_id,
	    .kind = ACCOUNT_EMPLOYEE,
	    .role = strcmp(e->role, "manager") == 0 ? ROLE_MANAGER : ROLE_CASHIER,
	    .email = e->has_email ? e->email : NULL,
	    .phone = e->has_phone ? e->phone : NULL,
	    .password_hash = e->hash,
	    .first_name = e->first_name && *e->first_name ? (char *)e->first_name : NULL,
	    .last_name = e->last_name && *e->last_name ? (char *)e->last_name : NULL,
	    .inn = e->inn && *e->inn ? (char *)e->inn : NULL};
	enum store_rc rc = STORE_CONFLICT;
	int64_t id = 0;
	for (int i = 0; i < STAFF_LOGIN_ATTEMPTS && rc == STORE_CONFLICT; i++) {
		random_digits(a.staff_login, 6);
		rc = STORE(c->db, account_create, &a, &id);
		if (rc != STORE_CONFLICT)
			break;
		/* A taken login, or only a taken staff number (then draw another)? */
		char email_lc[EMAIL_MAX + 1];
		snprintf(email_lc, sizeof(email_lc), "%s", e->email);
		text_ascii_lower(email_lc);
		for (int k = 0; k < 2; k++) {
			if (!(k == 0 ? e->has_email : e->has_phone))
				continue;
			struct account other = {0};
			enum store_rc frc =
			    STORE(c->db, account_find_login, k == 0 ? email_lc : e->phone, &other);
			account_clear(&other);
			if (frc == STORE_OK) {
				login_conflict(c);
				return STORE_CONFLICT;
			}
		}
	}
	struct account stored = {0};
	if (rc == STORE_OK)
		rc = STORE(c->db, account_get, c->who.merchant_id, id, &stored);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 201, &w);
		view_employee(&w, &stored);
	}
	account_clear(&stored);
	return rc;
}

void employees_create(struct call *c)
{
	struct employee_req e = {0};
	if (parse_employee(c, &e, true))
		call_write_tx(c, employee_create_tx, &e);
	sodium_memzero(e.hash, sizeof(e.hash));
}

static void not_found(struct call *c, const char *what)
{
	call_error(c, 404, "not_found", "%s %lld not found", what, (long long)c->path_id[0]);
}

/* Replaces *field with value when the body gave it (an empty string or null clears it). */
static void merge(char **field, bool was_given, const char *value, bool has_value)
{
	if (!was_given)
		return;
	free(*field);
	*field = has_value && value && *value ? xstrdup(value) : NULL;
}

static enum store_rc employee_update_tx(struct call *c, void *ctx)
{
	struct employee_req *e = ctx;
	struct account a = {0};
	enum store_rc rc = STORE(c->db, account_get, c->who.merchant_id, c->path_id[0], &a);
	if (rc == STORE_NOT_FOUND)
		not_found(c, "employee");
	if (rc != STORE_OK)
		goto cleanup;
	merge(&a.email, e->email_given, e->email, e->has_email);
	merge(&a.phone, e->phone_given, e->phone, e->has_phone);
	merge(&a.first_name, e->first_given, e->first_name, true);
	merge(&a.last_name, e->last_given, e->last_name, true);
	merge(&a.inn, e->inn_given, e->inn, true);
	if (!a.email && !a.phone) {
		call_error(c, 400, "validation_failed",
			   "email: an employee needs an email or a phone (it is the login)");
		rc = STORE_NOT_FOUND;
		goto cleanup;
	}
	if (e->role)
		a.role = strcmp(e->role, "manager") == 0 ? ROLE_MANAGER : ROLE_CASHIER;
	free(a.password_hash);
	a.password_hash = e->password ? xstrdup(e->hash) : NULL;
	rc = STORE(c->db, account_update, &a);
	if (rc == STORE_CONFLICT) {
		login_conflict(c);
		goto cleanup;
	}
	account_clear(&a);
	if (rc == STORE_OK)
		rc = STORE(c->db, account_get, c->who.merchant_id, c->path_id[0], &a);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		view_employee(&w, &a);
	}
cleanup:
	account_clear(&a);
	return rc;
}

void employee_update(struct call *c)
{
	struct employee_req e = {0};
	if (parse_employee(c, &e, false)) {
		call_write_tx(c, employee_update_tx, &e);
		/* Role or password changed: this node forgets the cached credential at once. */
		if (c->resp->status == 200)
			auth_forget_account(c->app->auth, c->path_id[0]);
	}
	sodium_memzero(e.hash, sizeof(e.hash));
}

static enum store_rc employee_delete_tx(struct call *c, void *ctx)
{
	(void)ctx;
	enum store_rc rc = STORE(c->db, account_delete, c->who.merchant_id, c->path_id[0]);
	if (rc == STORE_NOT_FOUND)
		not_found(c, "employee");
	if (rc == STORE_OK) {
		c->resp->status = 204;
		buf_reset(&c->resp->body);
	}
	return rc;
}

void employee_delete(struct call *c)
{
	call_write_tx(c, employee_delete_tx, NULL);
	if (c->resp->status == 204)
		auth_forget_account(c->app->auth, c->path_id[0]);
}

/* ---- API keys ---- */

static void view_key(struct jw *w, const struct api_key *k)
{
	jw_obj_begin(w);
	jw_kint(w, "id", k->id);
	jw_kint(w, "accountId", k->account_id);
	jw_kint(w, "createdAt", k->created_ms);
	jw_obj_end(w);
}

static bool write_key_row(void *ctx, const struct api_key *k)
{
	view_key(ctx, k);
	return true;
}

void api_keys_get(struct call *c)
{
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc = STORE(c->db, api_keys_list, c->who.merchant_id, write_key_row, &w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

static enum store_rc key_create_tx(struct call *c, void *ctx)
{
	struct api_key *k = ctx;
	if (k->account_id != c->who.account_id) {
		struct account a = {0};
		enum store_rc rc = STORE(c->db, account_get, c->who.merchant_id, k->account_id, &a);
		account_clear(&a);
		if (rc == STORE_NOT_FOUND)
			call_error(c, 400, "validation_failed",
				   "accountId: no such account of this merchant");
		if (rc != STORE_OK)
			return rc;
	}
	char secret[33];
	random_hex(secret, 16);
	auth_key_digest(secret, k->hash);
	enum store_rc rc = STORE(c->db, api_key_create, k, &k->id);
	if (rc == STORE_OK) {
		char key[80];
		snprintf(key, sizeof(key), "kpk_%lld_%s", (long long)k->id, secret);
		struct jw w;
		call_json(c, 201, &w);
		jw_obj_begin(&w);
		jw_kint(&w, "id", k->id);
		/* Shown this once: only the secret's digest is stored. */
		jw_kstr(&w, "key", key);
		jw_kint(&w, "accountId", k->account_id);
		jw_kint(&w, "createdAt", k->created_ms);
		jw_obj_end(&w);
		sodium_memzero(key, sizeof(key));
		/* What an Idempotency-Key keeps and replays: the same without the key. */
		struct buf kept;
		buf_init(&kept);
		jw_init(&w, &kept);
		jw_obj_begin(&w);
		jw_kint(&w, "id", k->id);
		jw_kint(&w, "accountId", k->account_id);
		jw_kint(&w, "createdAt", k->created_ms);
		jw_obj_end(&w);
		free(c->idem_answer);
		c->idem_answer = buf_steal(&kept, NULL);
	}
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

void api_keys_create(struct call *c)
{
	struct api_key k = {.merchant_id = c->who.merchant_id,
			    .account_id = c->who.account_id,
			    .created_ms = now_ms()};
	if (!body_int(c, c->body, "accountId", "accountId", false, 1, INT64_MAX, &k.account_id,
		      NULL))
		return;
	call_write_tx(c, key_create_tx, &k);
}

static enum store_rc key_revoke_tx(struct call *c, void *ctx)
{
	struct api_key *k = ctx;
	enum store_rc rc = STORE(c->db, api_key_get, c->path_id[0], k);
	if (rc == STORE_OK && k->merchant_id != c->who.merchant_id)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK)
		rc = STORE(c->db, api_key_revoke, c->who.merchant_id, c->path_id[0], now_ms());
	if (rc == STORE_NOT_FOUND)
		not_found(c, "API key");
	if (rc == STORE_OK) {
		c->resp->status = 204;
		buf_reset(&c->resp->body);
	}
	return rc;
}

void api_keys_delete(struct call *c)
{
	struct api_key k = {0};
	call_write_tx(c, key_revoke_tx, &k);
	/* Revoked at once: the key's account is forgotten by this node's cache. */
	if (c->resp->status == 204)
		auth_forget_account(c->app->auth, k.account_id);
}

void fiscal_auth(struct call *c)
{
	struct account a = {0};
	enum store_rc rc = STORE(c->db, account_self, c->who.account_id, &a);
	if (rc == STORE_NOT_FOUND) {
		/* Removed after this request was authenticated (or through another node, whose
		 * cache still held the credential): the credential is no longer valid. */
		response_header(c->resp, "WWW-Authenticate",
				"Basic realm=\"kopilka\", charset=\"UTF-8\"");
		call_error(c, 401, "unauthorized", "wrong login or password");
		return;
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		account_clear(&a);
		return;
	}
	bool employee = a.kind == ACCOUNT_EMPLOYEE;
	struct jw w;
	call_json(c, 200, &w);
	jw_obj_begin(&w);
	jw_kstr(&w, "accountType", employee ? "employee" : "merchant");
	jw_kint(&w, "id", a.id);
	jw_kint(&w, "merchantId", a.merchant_id);
	jw_kstr(&w, "email", a.email);
	jw_kstr(&w, "phone", a.phone);
	jw_kstr(&w, "firstName", a.first_name);
	jw_kstr(&w, "lastName", a.last_name);
	jw_kstr(&w, "inn", a.inn);
	if (employee)
		jw_kstr(&w, "role", a.role == ROLE_MANAGER ? "manager" : "cashier");
	/* kopilka keeps no fiscal-service credentials (i-bonus shows them when configured). */
	jw_knull(&w, "fiscalLogin");
	jw_knull(&w, "fiscalApiKey");
	jw_obj_end(&w);
	account_clear(&a);
}
