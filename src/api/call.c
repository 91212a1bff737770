/* Error bodies, JSON field validation and the write-transaction runner (see call.h). */
#include "api/call.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/metrics.h"
#include "domain/money.h"
#include "domain/text.h"
#include "store/merchant.h"

void call_error(struct call *c, int status, const char *code, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	struct jw w;
	call_json(c, status, &w);
	jw_obj_begin(&w);
	jw_kstr(&w, "error", http_reason(status));
	jw_kstr(&w, "message", message);
	jw_kstr(&w, "path", c->req->path);
	jw_kint(&w, "status", status);
	jw_kint(&w, "timestamp", now_ms());
	jw_kstr(&w, "code", code);
	jw_obj_end(&w);
}

enum store_rc call_outcome(struct call *c, const struct outcome *o)
{
	static const int status[] = {
	    [OUTCOME_INVALID] = 400, [OUTCOME_NOT_FOUND] = 404, [OUTCOME_CONFLICT] = 409};
	switch (o->kind) {
	case OUTCOME_OK:
		return STORE_OK;
	case OUTCOME_STORE:
		return o->rc;
	case OUTCOME_INVALID:
	case OUTCOME_NOT_FOUND:
	case OUTCOME_CONFLICT:
		break;
	}
	call_error(c, status[o->kind], o->code, "%s", o->message);
	return o->keep_writes ? STORE_OK : STORE_NOT_FOUND;
}

void call_store_error(struct call *c, enum store_rc rc)
{
	if (rc == STORE_RETRY || rc == STORE_FULL)
		call_error(c, 503, "unavailable",
			   "the database cannot take this write now; retry later");
	else
		call_error(c, 500, "internal_error", "internal error (request id %s)",
			   c->req->request_id);
}

void call_json(struct call *c, int status, struct jw *w)
{
	c->resp->status = status;
	buf_reset(&c->resp->body);
	jw_init(w, &c->resp->body);
}

static bool bad(struct call *c, const char *name, const char *rule)
{
	call_error(c, 400, "validation_failed", "%s: %s", name, rule);
	return false;
}

/* Fetches obj[key]; absent or null gives NULL. */
static json_t *field(json_t *obj, const char *key)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

static bool absent(struct call *c, const char *name, bool required, bool *present)
{
	if (present)
		*present = false;
	if (required)
		return bad(c, name, "is required");
	return true;
}

struct body_real {
	const json_t *value;
	size_t off, len; /* the number's text in body_reals.text */
};

struct body_reals {
	struct body_real *items; /* sorted by value, for bsearch */
	size_t n, cap;
	struct buf text;
	/* The walk did not pair tokens and values one to one: no real is trusted. */
	bool broken;
};

/* Appends the reals of v in document order (jansson keeps an object's keys in insertion
 * order, which is the order of the text; duplicate keys are refused at parsing). */
static void collect_reals(const json_t *v, const json_t ***out, size_t *n, size_t *cap)
{
	if (json_is_real(v)) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*out = xrealloc(*out, *cap * sizeof(**out));
		}
		(*out)[(*n)++] = v;
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			collect_reals(json_array_get(v, i), out, n, cap);
	} else if (json_is_object(v)) {
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)v, key, member) collect_reals(member, out, n, cap);
	}
}

static int body_real_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct body_real *)a)->value;
	uintptr_t y = (uintptr_t)((const struct body_real *)b)->value;
	return x < y ? -1 : x > y;
}

void call_index_reals(struct call *c, const char *text, size_t len)
{
	call_free_reals(c);
	struct body_reals *r = xcalloc(1, sizeof(*r));
	buf_init(&r->text);
	size_t pos = 0, start, end;
	while (text_json_next_number(text, len, &pos, &start, &end)) {
		/* jansson's real: a fraction or an exponent */
		bool real = false;
		for (size_t k = start; k < end && !real; k++)
			real = text[k] == '.' || text[k] == 'e' || text[k] == 'E';
		if (!real)
			continue;
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 16;
			r->items = xrealloc(r->items, r->cap * sizeof(*r->items));
		}
		r->items[r->n++] = (struct body_real){NULL, r->text.len, end - start};
		buf_append(&r->text, text + start, end - start);
	}
	if (r->n == 0) {
		buf_free(&r->text);
		free(r);
		return;
	}
	const json_t **values = NULL;
	size_t n_values = 0, cap = 0;
	collect_reals(c->body, &values, &n_values, &cap);
	if (n_values != r->n) {
		r->broken = true;
	} else {
		/* The same text read the same way: a pair that disagrees means the walk is off. */
		for (size_t i = 0; i < r->n && !r->broken; i++) {
			char *token = xstrndup(r->text.data + r->items[i].off, r->items[i].len);
			r->broken = strtod(token, NULL) != json_real_value(values[i]);
			free(token);
			r->items[i].value = values[i];
		}
		qsort(r->items, r->n, sizeof(*r->items), body_real_cmp);
	}
	if (r->broken)
		log_warn("request %s: the body's real numbers could not be paired with their text",
			 c->req->request_id);
	free(values);
	c->reals = r;
}

void call_free_reals(struct call *c)
{
	if (!c->reals)
		return;
	buf_free(&c->reals->text);
	free(c->reals->items);
	free(c->reals);
	c->reals = NULL;
}

/* A real of the body read from its text; FIXED_ERR_SYNTAX when its text is not known. */
static enum fixed_rc real_exact(const struct call *c, const json_t *v, int digits, int64_t bound,
				int64_t *out)
{
	const struct body_reals *r = c->reals;
	if (!r || r->broken)
		return FIXED_ERR_SYNTAX;
	struct body_real key = {.value = v};
	const struct body_real *hit =
	    bsearch(&key, r->items, r->n, sizeof(*r->items), body_real_cmp);
	if (!hit)
		return FIXED_ERR_SYNTAX;
	return fixed_parse_json(r->text.data + hit->off, hit->len, digits, bound, out);
}

bool body_fixed(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		int digits, int64_t min, int64_t max, int64_t *out, bool *present)
{
	json_t *v = field(obj, key);
	if (!v)
		return absent(c, name, required, present);
	if (present)
		*present = true;
	if (!json_is_number(v))
		return bad(c, name, "must be a number");
	int64_t bound = llabs(min) > llabs(max) ? llabs(min) : llabs(max);
	int64_t scaled;
	/* A real is read from the body's text; one whose text is unknown (a document not parsed
	 * from a request body) goes through fixed_from_double, which is exact for up to 15
	 * significant digits. */
	enum fixed_rc rc;
	if (json_is_integer(v)) {
		rc = fixed_from_int(json_integer_value(v), digits, bound, &scaled);
	} else {
		rc = real_exact(c, v, digits, bound, &scaled);
		if (rc == FIXED_ERR_SYNTAX && c->reals && c->reals->broken)
			return bad(c, name,
				   "could not be read exactly; write it as a plain decimal");
		if (rc == FIXED_ERR_SYNTAX)
			rc = fixed_from_double(json_real_value(v), digits, bound, &scaled);
	}
	char rule[160];
	char lo[FIXED_FMT_MAX], hi[FIXED_FMT_MAX];
	fixed_format(min, digits, lo);
	fixed_format(max, digits, hi);
	if (rc == FIXED_ERR_PRECISION) {
		snprintf(rule, sizeof(rule), "must have at most %d fraction digits", digits);
		return bad(c, name, rule);
	}
	if (rc != FIXED_OK || scaled < min || scaled > max) {
		snprintf(rule, sizeof(rule), "must be between %s and %s", lo, hi);
		return bad(c, name, rule);
	}
	*out = scaled;
	return true;
}

bool body_money(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		bool allow_negative, money_t *out, bool *present)
{
	return body_fixed(c, obj, key, name, required, MONEY_DIGITS,
			  allow_negative ? -MONEY_MAX_MINOR : 0, MONEY_MAX_MINOR, out, present);
}

bool body_int(struct call *c, json_t *obj, const char *key, const char *name, bool required,
	      int64_t min, int64_t max, int64_t *out, bool *present)
{
	json_t *v = field(obj, key);
	if (!v)
		return absent(c, name, required, present);
	if (present)
		*present = true;
	char rule[128];
	snprintf(rule, sizeof(rule), "must be an integer between %lld and %lld", (long long)min,
		 (long long)max);
	if (!json_is_integer(v))
		return bad(c, name, rule);
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return bad(c, name, rule);
	*out = n;
	return true;
}

bool body_bool(struct call *c, json_t *obj, const char *key, const char *name, bool required,
	       bool *out, bool *present)
{
	json_t *v = field(obj, key);
	if (!v)
		return absent(c, name, required, present);
	if (present)
		*present = true;
	if (!json_is_boolean(v))
		return bad(c, name, "must be true or false");
	*out = json_is_true(v);
	return true;
}

bool body_string(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		 size_t min_chars, size_t max_chars, const char **out)
{
	json_t *v = field(obj, key);
	if (!v)
		return absent(c, name, required, NULL);
	if (!json_is_string(v))
		return bad(c, name, "must be a string");
	const char *s = json_string_value(v);
	size_t n = text_utf8_length(s);
	if (n < min_chars || n > max_chars) {
		char rule[128];
		snprintf(rule, sizeof(rule), "must be %zu to %zu characters long", min_chars,
			 max_chars);
		return bad(c, name, rule);
	}
	*out = s;
	return true;
}

bool body_phone(struct call *c, json_t *obj, const char *key, const char *name, char *out,
		bool *present)
{
	json_t *v = field(obj, key);
	*present = false;
	if (!v)
		return true;
	if (!json_is_string(v))
		return bad(c, name, "must be a string");
	const char *text = json_string_value(v);
	if (!*text)
		return true;
	if (strlen(text) > 64 || !phone_normalize(text, out)) {
		char rule[96];
		snprintf(rule, sizeof(rule), "must be a phone number of 1 to %d digits",
			 PHONE_MAX_DIGITS);
		return bad(c, name, rule);
	}
	*present = true;
	return true;
}

bool body_email(struct call *c, json_t *obj, const char *key, const char *name, char *out,
		bool *present)
{
	json_t *v = field(obj, key);
	*present = false;
	if (!v)
		return true;
	if (!json_is_string(v))
		return bad(c, name, "must be a string");
	const char *text = json_string_value(v);
	if (!*text)
		return true;
	if (strlen(text) > EMAIL_MAX || !email_normalize(text, out))
		return bad(c, name, "must be an email address");
	*present = true;
	return true;
}

static bool body_typed(struct call *c, json_t *obj, const char *key, const char *name,
		       bool required, json_t **out, bool want_object)
{
	json_t *v = field(obj, key);
	if (!v)
		return absent(c, name, required, NULL);
	if (want_object ? !json_is_object(v) : !json_is_array(v))
		return bad(c, name, want_object ? "must be an object" : "must be an array");
	*out = v;
	return true;
}

bool body_object(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		 json_t **out)
{
	return body_typed(c, obj, key, name, required, out, true);
}

bool body_array(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		json_t **out)
{
	return body_typed(c, obj, key, name, required, out, false);
}

bool query_int(struct call *c, const char *key, int64_t def, int64_t *out)
{
	const char *v = request_query(c->req, key);
	if (!v) {
		*out = def;
		return true;
	}
	int64_t n;
	if (fixed_parse(v, 0, INT64_MAX / 10, &n) != FIXED_OK || n < 0) {
		call_error(c, 400, "validation_failed", "%s: must be a non-negative integer", key);
		return false;
	}
	*out = n;
	return true;
}

bool body_text_id(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		  size_t max_chars, char *out, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	out[0] = '\0';
	if (json_is_integer(v)) {
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
		return true;
	}
	if (v && !json_is_string(v) && !json_is_null(v)) {
		call_error(c, 400, "validation_failed", "%s: must be a string or an integer", name);
		return false;
	}
	const char *s = NULL;
	if (!body_string(c, obj, key, name, required, 1, max_chars, &s))
		return false;
	if (s)
		snprintf(out, cap, "%s", s);
	return true;
}

bool body_ids(struct call *c, json_t *arr, const char *name, const char *what, size_t max,
	      int64_t *ids, size_t *n_out)
{
	size_t n = json_array_size(arr);
	*n_out = 0;
	if (n > max) {
		call_error(c, 400, "validation_failed", "%s: at most %zu %ss", name, max, what);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			call_error(c, 400, "validation_failed",
				   "%s[%zu]: must be a %s id (a positive integer)", name, i, what);
			return false;
		}
		ids[i] = json_integer_value(v);
		for (size_t j = 0; j < i; j++)
			if (ids[j] == ids[i]) {
				call_error(c, 400, "validation_failed",
					   "%s[%zu]: %s %lld is listed twice", name, i, what,
					   (long long)ids[i]);
				return false;
			}
	}
	*n_out = n;
	return true;
}

bool query_paging(struct call *c, int64_t *offset, int64_t *limit)
{
	if (!query_int(c, "offset", 0, offset) || !query_int(c, "limit", 50, limit))
		return false;
	if (*limit > 1000)
		*limit = 1000;
	return true;
}

/* ---- Idempotency-Key (API.md 6) ---- */

#define IDEM_KEEP_MS (7LL * 24 * 3600 * 1000)

/* Answers a retry may replay: successes and refusals by a business rule. Validation errors,
 * auth failures, 429 and 5xx are not stored: a retry with the same key may run again. */
static bool idem_storable(const struct call *c)
{
	static const char *const business[] = {"insufficient_funds",
					       "coupon_not_active",
					       "spend_limit",
					       "order_conflict",
					       "item_not_refundable",
					       "unknown_customer",
					       "client_conflict",
					       "login_conflict",
					       "coupon_not_issuable",
					       "not_found",
					       NULL};
	int st = c->resp->status;
	if (st >= 200 && st < 300)
		return true;
	if (st < 400 || st >= 500 || !c->resp->body.data)
		return false;
	for (int i = 0; business[i]; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "\"code\":\"%s\"", business[i]);
		if (strstr(c->resp->body.data, needle))
			return true;
	}
	return false;
}

/* The scope of a key: the route ("POST /ext/api/v1/fiscal/orders/"). */
static const char *idem_scope(const struct call *c)
{
	size_t n;
	const char *const *names = api_route_names(&n);
	return c->resp->route >= 0 && (size_t)c->resp->route < n ? names[c->resp->route] : "";
}

static int kv_order(const void *a, const void *b)
{
	const struct kv *x = *(const struct kv *const *)a, *y = *(const struct kv *const *)b;
	int by_key = strcmp(x->key, y->key);
	return by_key ? by_key : strcmp(x->value, y->value);
}

/* The request's identity under a key (API.md 6): its concrete target and its body. The target
 * is the route's path with its ids as parsed (so /clients/7 and /clients/007/ are one target,
 * /clients/4/ another), the query parameters sorted (the credentials of ?login=&api_key=
 * left out: they name the caller, not the target) and, for a cashier, the caller (a cashier may
 * not read what another account's request answered, API.md 4.2). Then the parsed body (the
 * same JSON in another layout is the same request), or the uploaded file when the body is
 * multipart. All of it is hashed: a digest of 64 hex characters into out. */
static void idem_hash(const struct call *c, char out[65])
{
	json_t *target = json_object();
	json_object_set_new(target, "route", json_string(idem_scope(c)));
	json_t *ids = json_array();
	for (int i = 0; i < c->n_path_ids; i++)
		json_array_append_new(ids, json_integer(c->path_id[i]));
	json_object_set_new(target, "ids", ids);
	if (c->ref_token[0])
		json_object_set_new(target, "ref", json_string(c->ref_token));
	if (c->file)
		json_object_set_new(target, "file", json_string(c->file));
	const struct kv **pairs = xcalloc(c->req->n_query + 1, sizeof(*pairs));
	size_t n_pairs = 0;
	for (size_t i = 0; i < c->req->n_query; i++) {
		const struct kv *q = &c->req->query[i];
		if (strcmp(q->key, "login") != 0 && strcmp(q->key, "api_key") != 0)
			pairs[n_pairs++] = q;
	}
	qsort(pairs, n_pairs, sizeof(*pairs), kv_order);
	json_t *query = json_array();
	for (size_t i = 0; i < n_pairs; i++)
		json_array_append_new(query, json_pack("[ss]", pairs[i]->key, pairs[i]->value));
	free(pairs);
	json_object_set_new(target, "query", query);
	if (c->who.role == ROLE_CASHIER)
		json_object_set_new(target, "account", json_integer(c->who.account_id));
	char *target_text = json_dumps(target, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(target);
	char *text = c->body ? json_dumps(c->body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	if (target_text)
		crypto_hash_sha256_update(&st, (const unsigned char *)target_text,
					  strlen(target_text) + 1);
	if (text || !c->idem_payload)
		crypto_hash_sha256_update(&st, (const unsigned char *)(text ? text : ""),
					  text ? strlen(text) : 0);
	else /* an upload: the file itself */
		crypto_hash_sha256_update(&st, c->idem_payload, c->idem_payload_len);
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, digest);
	sodium_bin2hex(out, 65, digest, sizeof(digest));
	free(target_text);
	free(text);
}

/* Inside the transaction: a stored answer is replayed (or the key's other body refused with
 * 422). Returns true when the call is answered. */
static bool idem_replay(struct call *c, const char *hash, enum store_rc *rc)
{
	struct idem_record rec = {0};
	*rc = STORE(c->db, idem_get, c->who.merchant_id, idem_scope(c), c->req->idempotency_key,
		    now_ms() - IDEM_KEEP_MS, &rec);
	if (*rc == STORE_NOT_FOUND) {
		*rc = STORE_OK;
		return false;
	}
	if (*rc != STORE_OK)
		return false;
	if (strcmp(rec.request_hash, hash) != 0) {
		call_error(c, 422, "idempotency_key_reused",
			   "Idempotency-Key: this key was used with another request (another "
			   "target or body)");
	} else {
		c->resp->status = rec.status;
		buf_reset(&c->resp->body);
		buf_puts(&c->resp->body, rec.body);
		response_header(c->resp, "Idempotent-Replayed", "true");
	}
	free(rec.body);
	return true;
}

static enum store_rc idem_store(struct call *c, const char *hash)
{
	/* A success may keep another text than it sent: one without the secret it showed. */
	char *kept = c->idem_answer	  ? c->idem_answer
		     : c->resp->body.data ? c->resp->body.data
					  : (char *)"";
	struct idem_record rec = {.status = c->resp->status, .body = kept, .created_ms = now_ms()};
	snprintf(rec.request_hash, sizeof(rec.request_hash), "%s", hash);
	enum store_rc rc = STORE(c->db, idem_put, c->who.merchant_id, idem_scope(c),
				 c->req->idempotency_key, &rec);
	return rc == STORE_CONFLICT ? STORE_OK : rc;
}

/* One request's write, as the engine's run_write runs it (SQLite: on its writer thread). */
struct write_job {
	struct call *c;
	tx_fn fn;
	void *ctx;
	enum store_tx kind;
	bool idem;
	const char *hash;
	/* The job's last commit carries the answer: the write's own or a replayed one (not the
	 * kept refusal's, which changed nothing). */
	bool answer_committed;
};

static void write_job(void *arg)
{
	struct write_job *j = arg;
	struct call *c = j->c;
	bool idem = j->idem;
	enum store_rc rc = STORE_RETRY;
	for (int attempt = 0; attempt < 5 && rc == STORE_RETRY; attempt++) {
		if (attempt > 0)
			metrics_add(M_DB_RETRIES, 1);
		rc = STORE(c->db, begin, j->kind);
		if (rc != STORE_OK)
			continue;
		c->resp->status = 0;
		free(c->idem_answer);
		c->idem_answer = NULL;
		/* A retry racing its first try waits here for it and then finds its answer: writers
		 * run one at a time, or a row writer locks the key first. */
		if (idem && j->kind == STORE_TX_ROWS)
			rc = STORE(c->db, key_lock, c->who.merchant_id, idem_scope(c),
				   c->req->idempotency_key);
		if (rc == STORE_OK && idem && idem_replay(c, j->hash, &rc)) {
			/* The stored answer may be that of a write still waiting for its group's
			 * commit (SQLite group commit): replay it only once that is durable. */
			if (STORE(c->db, commit) != STORE_OK) {
				c->db->ops->rollback(c->db);
				call_store_error(c, STORE_FULL);
			} else {
				j->answer_committed = true;
			}
			return;
		}
		if (rc == STORE_OK)
			rc = j->fn(c, j->ctx);
		if (rc == STORE_OK && c->dry_run) {
			c->db->ops->rollback(c->db);
			return;
		}
		/* A success and its stored answer commit together: after a crash both or neither.
		 */
		if (rc == STORE_OK && idem)
			rc = idem_store(c, j->hash);
		if (rc == STORE_OK) {
			rc = STORE(c->db, commit);
			if (rc == STORE_OK)
				c->committed = j->answer_committed = true;
		}
		if (rc != STORE_OK)
			c->db->ops->rollback(c->db);
		metrics_add(rc == STORE_OK ? M_DB_COMMITS : M_DB_ROLLBACKS, 1);
	}
	if (rc != STORE_OK && (c->resp->status == 0 || c->resp->status < 400)) {
		call_store_error(c, rc);
		return;
	}
	/* A refusal by a business rule changed nothing; its answer is stored on its own so that a
	 * retry gets the same refusal. */
	if (rc != STORE_OK && idem && idem_storable(c) &&
	    STORE(c->db, begin, j->kind) == STORE_OK) {
		if (idem_store(c, j->hash) != STORE_OK || STORE(c->db, commit) != STORE_OK)
			c->db->ops->rollback(c->db);
	}
}

static void write_tx(struct call *c, tx_fn fn, void *ctx, enum store_tx kind)
{
	char hash[65] = "";
	struct write_job j = {.c = c,
			      .fn = fn,
			      .ctx = ctx,
			      .kind = kind,
			      .idem = c->req->idempotency_key && !c->dry_run,
			      .hash = hash};
	c->committed = false;
	if (j.idem)
		idem_hash(c, hash); /* here, not on the engine's writer thread */
	enum store_rc durable = STORE(c->db, run_write, write_job, &j);
	/* The commit the answer rests on did not last (its group's COMMIT or the WAL sync
	 * failed after it answered inside the job): the write is undone, and so the answer. */
	if (durable != STORE_OK && j.answer_committed) {
		if (c->committed)
			metrics_add(M_DB_ROLLBACKS, 1);
		c->committed = false;
		call_store_error(c, durable);
	}
}

void call_write_tx(struct call *c, tx_fn fn, void *ctx)
{
	write_tx(c, fn, ctx, STORE_TX_WRITE);
	free(c->idem_answer);
	c->idem_answer = NULL;
}

void call_write_tx_rows(struct call *c, tx_fn fn, void *ctx)
{
	write_tx(c, fn, ctx, STORE_TX_ROWS);
	free(c->idem_answer);
	c->idem_answer = NULL;
}
