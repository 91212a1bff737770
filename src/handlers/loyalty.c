/* Loyalty program settings and the coupon catalog (API.md 4.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/qr.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "handlers/upload.h"
#include "service/coupons.h"
#include "service/settings.h"
#include "service/views.h"
#include "store/accounts.h"
#include "store/catalog.h"
#include "store/merchant.h"

#define VALID_DAYS_MAX 36500

void loyalty_settings_get(struct call *c)
{
	struct loyalty_settings s;
	enum store_rc rc = STORE(c->db, settings_get, c->who.merchant_id, &s);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	struct jw w;
	call_json(c, 200, &w);
	view_settings(&w, &s);
}

/* Parses one accrual object of the body into a patch; false after writing a 400. */
static bool parse_accrual(struct call *c, json_t *obj, const char *key, struct accrual_patch *a)
{
	json_t *o = NULL;
	if (!body_object(c, obj, key, key, false, &o))
		return false;
	if (!o)
		return true;
	char name[64];
	const char *type = NULL;
	snprintf(name, sizeof(name), "%s.type", key);
	if (!body_string(c, o, "type", name, false, 1, 32, &type))
		return false;
	if (type) {
		a->has_type = true;
		if (strcmp(type, "amount") == 0)
			a->type = ACCRUAL_AMOUNT;
		else if (strcmp(type, "percentage") == 0)
			a->type = ACCRUAL_PERCENTAGE;
		else {
			call_error(c, 400, "validation_failed",
				   "%s: must be \"amount\" or \"percentage\"", name);
			return false;
		}
	}
	snprintf(name, sizeof(name), "%s.amount", key);
	if (!body_money(c, o, "amount", name, false, false, &a->amount, &a->has_amount))
		return false;
	snprintf(name, sizeof(name), "%s.couponId", key);
	json_t *cv = json_object_get(o, "couponId");
	if (cv && json_is_null(cv))
		a->has_coupon = true, a->coupon_id = 0;
	else if (!body_int(c, o, "couponId", name, false, 1, INT64_MAX, &a->coupon_id,
			   &a->has_coupon))
		return false;
	snprintf(name, sizeof(name), "%s.validDays", key);
	json_t *dv = json_object_get(o, "validDays");
	if (dv && json_is_null(dv))
		a->has_valid_days = true, a->valid_days = 0;
	else if (!body_int(c, o, "validDays", name, false, 1, VALID_DAYS_MAX, &a->valid_days,
			   &a->has_valid_days))
		return false;
	return true;
}

static enum store_rc settings_put_tx(struct call *c, void *ctx)
{
	const struct settings_patch *p = ctx;
	struct loyalty_settings s;
	struct outcome o = {0};
	if (settings_change(c->db, c->who.merchant_id, p, &s, &o)) {
		struct jw w;
		call_json(c, 200, &w);
		view_settings(&w, &s);
	}
	return call_outcome(c, &o);
}

void loyalty_settings_put(struct call *c)
{
	struct settings_patch p = {0};
	json_t *b = c->body;
	const char *currency = NULL;
	if (!body_bool(c, b, "active", "active", false, &p.active, &p.has_active) ||
	    !body_string(c, b, "currency", "currency", false, 1, 16, &currency) ||
	    !parse_accrual(c, b, "newCustomerSettings", &p.new_customer) ||
	    !parse_accrual(c, b, "customerSettings", &p.customer) ||
	    !body_bool(c, b, "autoRegisterClients", "autoRegisterClients", false, &p.auto_register,
		       &p.has_auto_register) ||
	    !body_int(c, b, "maxSpendPercent", "maxSpendPercent", false, 1, 100,
		      &p.max_spend_percent, &p.has_max_spend))
		return;
	if (currency) {
		int cur = currency_parse(currency);
		if (cur < 0) {
			call_error(c, 400, "validation_failed",
				   "currency: must be \"points\" or \"rubles\"");
			return;
		}
		p.has_currency = true;
		p.currency = (enum currency)cur;
	}
	call_write_tx(c, settings_put_tx, &p);
}

static bool write_catalog_row(void *ctx, const struct catalog_coupon *cc)
{
	view_catalog_coupon(ctx, cc);
	return true;
}

void catalog_coupons_get(struct call *c)
{
	int64_t offset, limit;
	if (!query_paging(c, &offset, &limit))
		return;
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc =
	    STORE(c->db, catalog_list, c->who.merchant_id, offset, limit, write_catalog_row, &w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

static const char *const coupon_styles[] = {
    "theme_pale_orange", "theme_white",	      "theme_light_blue",
    "theme_brown",	 "theme_soft_orange", "theme_dark_grayish_navy",
    "theme_black",	 "theme_dull_green",  "theme_light_pink",
};

static enum store_rc catalog_create_tx(struct call *c, void *ctx)
{
	struct catalog_coupon *cc = ctx;
	enum store_rc rc = STORE(c->db, catalog_create, cc, &cc->id);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 201, &w);
		view_catalog_coupon(&w, cc);
	}
	return rc;
}

/* Reads the catalog fields of the body into cc (strings borrowed from the body); the title is
 * required when creating. False after writing a 400. */
static bool catalog_fields(struct call *c, struct catalog_coupon *cc, bool create)
{
	json_t *b = c->body;
	const char *style = NULL;
	if (!body_string(c, b, "title", "title", create, 1, 256, (const char **)&cc->title) ||
	    !body_string(c, b, "header", "header", false, 0, 256, (const char **)&cc->header) ||
	    !body_string(c, b, "subHeader", "subHeader", false, 0, 256,
			 (const char **)&cc->sub_header) ||
	    !body_string(c, b, "shortDescription", "shortDescription", false, 0, 4096,
			 (const char **)&cc->short_description) ||
	    !body_string(c, b, "longDescription", "longDescription", false, 0, 65536,
			 (const char **)&cc->long_description) ||
	    !body_string(c, b, "style", "style", false, 1, 64, &style) ||
	    !body_int(c, b, "validDays", "validDays", false, 1, VALID_DAYS_MAX, &cc->valid_days,
		      NULL) ||
	    !body_int(c, b, "validUntil", "validUntil", false, 1, INT64_MAX / 2, &cc->valid_until,
		      NULL))
		return false;
	if (!create && json_is_null(json_object_get(b, "title"))) {
		call_error(c, 400, "validation_failed", "title: must be 1 to 256 characters long");
		return false;
	}
	cc->style = create ? (char *)"theme_brown" : NULL;
	if (style) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_LEN(coupon_styles); i++)
			known = known || strcmp(style, coupon_styles[i]) == 0;
		if (!known) {
			call_error(c, 400, "validation_failed",
				   "style: must be one of theme_pale_orange, theme_white, "
				   "theme_light_blue, theme_brown, theme_soft_orange, "
				   "theme_dark_grayish_navy, theme_black, theme_dull_green, "
				   "theme_light_pink");
			return false;
		}
		cc->style = (char *)style;
	}
	return true;
}

void catalog_coupons_post(struct call *c)
{
	struct catalog_coupon cc = {.merchant_id = c->who.merchant_id, .created_ms = now_ms()};
	/* The strings are borrowed from the body: this struct is never cleared. */
	if (catalog_fields(c, &cc, true))
		call_write_tx(c, catalog_create_tx, &cc);
}

/* Replaces a stored string when the body gave the key (null or "" clears it). */
static void replace_text(json_t *body, const char *key, char **field, const char *value)
{
	if (!json_object_get(body, key))
		return;
	free(*field);
	*field = value && *value ? xstrdup(value) : NULL;
}

static enum store_rc catalog_update_tx(struct call *c, void *ctx)
{
	const struct catalog_coupon *upd = ctx;
	json_t *b = c->body;
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(c->db, catalog_get, c->who.merchant_id, c->path_id[0], &cc);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "coupon %lld not found", (long long)c->path_id[0]);
	if (rc != STORE_OK)
		goto cleanup;
	replace_text(b, "title", &cc.title, upd->title);
	replace_text(b, "header", &cc.header, upd->header);
	replace_text(b, "subHeader", &cc.sub_header, upd->sub_header);
	replace_text(b, "shortDescription", &cc.short_description, upd->short_description);
	replace_text(b, "longDescription", &cc.long_description, upd->long_description);
	if (upd->style)
		replace_text(b, "style", &cc.style, upd->style);
	if (json_object_get(b, "validDays"))
		cc.valid_days = upd->valid_days;
	if (json_object_get(b, "validUntil"))
		cc.valid_until = upd->valid_until;
	rc = STORE(c->db, catalog_update, &cc);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		view_catalog_coupon(&w, &cc);
	}
cleanup:
	catalog_coupon_clear(&cc);
	return rc;
}

/* PUT /loyalty/coupons/{id}/: the fields given replace the stored ones. */
void catalog_coupon_put(struct call *c)
{
	struct catalog_coupon upd = {0};
	if (catalog_fields(c, &upd, false))
		call_write_tx(c, catalog_update_tx, &upd);
}

void catalog_coupon_get(struct call *c)
{
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(c->db, catalog_get, c->who.merchant_id, c->path_id[0], &cc);
	if (rc == STORE_NOT_FOUND) {
		call_error(c, 404, "not_found", "coupon %lld not found", (long long)c->path_id[0]);
		return;
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	struct jw w;
	call_json(c, 200, &w);
	view_catalog_coupon(&w, &cc);
	catalog_coupon_clear(&cc);
}

static enum store_rc catalog_delete_tx(struct call *c, void *ctx)
{
	(void)ctx;
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(c->db, catalog_delete, c->who.merchant_id, c->path_id[0]);
	if (rc == STORE_OK)
		rc = STORE(c->db, catalog_get, c->who.merchant_id, c->path_id[0], &cc);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "coupon %lld not found", (long long)c->path_id[0]);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		view_catalog_coupon(&w, &cc);
	}
	catalog_coupon_clear(&cc);
	return rc;
}

void catalog_coupon_delete(struct call *c)
{
	call_write_tx(c, catalog_delete_tx, NULL);
}

/* ---- settings documents: write-off rules and contact info (API.md 4.4) ---- */

#define RULES_MAX 50

/* brandColor: the merchant's colour on the card and receipt pages, "#rrggbb" (issue 15). */
static const char *const contact_fields[] = {
    "company", "phone", "email", "url", "instagram", "facebook", "vk", "youtube", "brandColor"};

/* Whether s is a colour as the pages take it: '#' and 6 hex digits, either case. */
static bool brand_color_valid(const char *s)
{
	if (strlen(s) != 7 || s[0] != '#')
		return false;
	for (int i = 1; i < 7; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

/* The stored document, or NULL when never written (rc STORE_OK either way). */
static enum store_rc document(struct call *c, const char *name, json_t **out)
{
	char *text = NULL;
	*out = NULL;
	enum store_rc rc = STORE(c->db, document_get, c->who.merchant_id, name, &text);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	if (rc == STORE_OK)
		*out = json_loads(text, 0, NULL);
	free(text);
	return rc;
}

/* Writes the rules document: {"patterns":[{"currency","amount"}...]}, money exact. */
static void render_rules(struct jw *w, json_t *doc)
{
	jw_obj_begin(w);
	jw_key(w, "patterns");
	jw_arr_begin(w);
	json_t *patterns = json_object_get(doc, "patterns"), *p;
	size_t i;
	json_array_foreach(patterns, i, p)
	{
		jw_obj_begin(w);
		jw_kstr(w, "currency", json_string_value(json_object_get(p, "currency")));
		jw_kmoney(w, "amount", json_integer_value(json_object_get(p, "amountMinor")));
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

void write_off_rules_get(struct call *c)
{
	json_t *doc = NULL;
	enum store_rc rc = document(c, "write_off_rules", &doc);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	struct jw w;
	call_json(c, 200, &w);
	render_rules(&w, doc);
	json_decref(doc);
}

static enum store_rc rules_put_tx(struct call *c, void *ctx)
{
	json_t *doc = ctx;
	char *text = json_dumps(doc, JSON_COMPACT);
	enum store_rc rc = STORE(c->db, document_put, c->who.merchant_id, "write_off_rules", text);
	free(text);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		render_rules(&w, doc);
	}
	return rc;
}

void write_off_rules_put(struct call *c)
{
	json_t *patterns = NULL;
	if (!body_array(c, c->body, "patterns", "patterns", true, &patterns))
		return;
	if (json_array_size(patterns) > RULES_MAX) {
		call_error(c, 400, "validation_failed", "patterns: at most %d presets", RULES_MAX);
		return;
	}
	/* Stored with amounts in minor units, so they are printed back exactly. */
	json_t *doc = json_pack("{s:[]}", "patterns");
	json_t *out = json_object_get(doc, "patterns"), *p;
	size_t i;
	json_array_foreach(patterns, i, p)
	{
		char name[64];
		const char *currency = NULL;
		money_t amount = 0;
		snprintf(name, sizeof(name), "patterns[%zu]", i);
		if (!json_is_object(p)) {
			call_error(c, 400, "validation_failed", "%s: must be an object", name);
			goto cleanup;
		}
		snprintf(name, sizeof(name), "patterns[%zu].currency", i);
		if (!body_string(c, p, "currency", name, true, 1, 16, &currency))
			goto cleanup;
		if (currency_parse(currency) < 0) {
			call_error(c, 400, "validation_failed",
				   "%s: must be \"points\" or \"rubles\"", name);
			goto cleanup;
		}
		snprintf(name, sizeof(name), "patterns[%zu].amount", i);
		if (!body_money(c, p, "amount", name, true, false, &amount, NULL))
			goto cleanup;
		if (amount == 0) {
			call_error(c, 400, "validation_failed", "%s: must be more than 0", name);
			goto cleanup;
		}
		json_array_append_new(out, json_pack("{s:s,s:I}", "currency", currency,
						     "amountMinor", (json_int_t)amount));
	}
	call_write_tx(c, rules_put_tx, doc);
cleanup:
	json_decref(doc);
}

/* The merchant's public join page (--public-url and /j/{join code}, docs/CARD.md "Joining")
 * into url (cap bytes), which the merchant prints as a link or a QR code. */
static enum store_rc join_url(struct call *c, char *url, size_t cap)
{
	char code[MERCHANT_JOIN_CODE_BYTES] = "";
	enum store_rc rc = STORE(c->db, merchant_join_code, c->who.merchant_id, code);
	if (rc != STORE_OK)
		return rc;
	const char *base = c->app->cfg->public_url;
	snprintf(url, cap, "%s/j/%s", base ? base : "", code);
	return STORE_OK;
}

/* Answers 200 with the contact info document doc, and joinURL (join_url). */
static enum store_rc render_contact(struct call *c, json_t *doc)
{
	char url[1024];
	enum store_rc rc = join_url(c, url, sizeof(url));
	if (rc != STORE_OK)
		return rc;
	struct jw jw;
	struct jw *w = &jw;
	call_json(c, 200, w);
	jw_obj_begin(w);
	for (size_t i = 0; i < ARRAY_LEN(contact_fields); i++)
		jw_kstr(w, contact_fields[i],
			json_string_value(json_object_get(doc, contact_fields[i])));
	/* Set only by the logo upload (contact_logo_upload); a PUT leaves it alone. */
	jw_kstr(w, "logoPath", json_string_value(json_object_get(doc, "logoPath")));
	jw_kstr(w, "joinURL", url);
	jw_obj_end(w);
	return STORE_OK;
}

void contact_info_get(struct call *c)
{
	json_t *doc = NULL;
	enum store_rc rc = document(c, "contact_info", &doc);
	if (rc == STORE_OK)
		rc = render_contact(c, doc);
	if (rc != STORE_OK)
		call_store_error(c, rc);
	json_decref(doc);
}

/* GET /loyalty/settings/contact_info/join-qr.svg: the joinURL as a QR code, an SVG image
 * drawn by the card page's encoder (domain/qr.c), for the cabinet to show and the merchant to
 * print. */
void contact_join_qr(struct call *c)
{
	char url[1024];
	enum store_rc rc = join_url(c, url, sizeof(url));
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	char *svg = qr_svg(url, NULL, "QR-код ссылки для вступления в программу", NULL);
	if (!svg) {
		/* Only a --public-url too long for a QR code (2331 bytes) gets here. */
		call_error(c, 500, "internal_error", "the join link does not fit in a QR code");
		return;
	}
	c->resp->status = 200;
	c->resp->content_type = "image/svg+xml";
	buf_reset(&c->resp->body);
	buf_puts(&c->resp->body, svg);
	free(svg);
	/* Opened on its own, the image runs nothing; it follows the join code, so no caching. */
	response_header(c->resp, "Content-Security-Policy", "default-src 'none'; sandbox");
	response_header(c->resp, "X-Content-Type-Options", "nosniff");
	response_header(c->resp, "Cache-Control", "no-store");
}

static enum store_rc contact_put_tx(struct call *c, void *ctx)
{
	(void)ctx;
	json_t *doc = NULL;
	enum store_rc rc = document(c, "contact_info", &doc);
	if (rc != STORE_OK)
		return rc;
	if (!doc)
		doc = json_object();
	/* Partial: the fields given replace the stored ones; null or "" clears one. */
	for (size_t i = 0; i < ARRAY_LEN(contact_fields); i++) {
		json_t *v = json_object_get(c->body, contact_fields[i]);
		if (!v)
			continue;
		if (json_is_string(v) && *json_string_value(v) &&
		    strcmp(contact_fields[i], "brandColor") == 0) {
			char lower[8];
			snprintf(lower, sizeof(lower), "%s", json_string_value(v));
			text_ascii_lower(lower);
			json_object_set_new(doc, contact_fields[i], json_string(lower));
		} else if (json_is_string(v) && *json_string_value(v))
			json_object_set(doc, contact_fields[i], v);
		else
			json_object_del(doc, contact_fields[i]);
	}
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	rc = STORE(c->db, document_put, c->who.merchant_id, "contact_info", text);
	free(text);
	if (rc == STORE_OK)
		rc = render_contact(c, doc);
	json_decref(doc);
	return rc;
}

void contact_info_put(struct call *c)
{
	for (size_t i = 0; i < ARRAY_LEN(contact_fields); i++) {
		const char *v = NULL;
		const char *f = contact_fields[i];
		size_t max = strcmp(f, "company") == 0 || strcmp(f, "phone") == 0 ? 256 : 2048;
		if (!body_string(c, c->body, f, f, false, 0, max, &v))
			return;
		if (strcmp(f, "brandColor") == 0) {
			if (v && *v && !brand_color_valid(v)) {
				call_error(
				    c, 400, "validation_failed",
				    "brandColor: must be a colour as #rrggbb (6 hex digits)");
				return;
			}
			continue;
		}
		/* The links are shown on public pages: absolute http(s) URLs only. */
		bool link =
		    strcmp(f, "company") != 0 && strcmp(f, "phone") != 0 && strcmp(f, "email") != 0;
		if (link && v && *v && !text_http_url(v)) {
			call_error(c, 400, "validation_failed",
				   "%s: must be an absolute http or https URL", f);
			return;
		}
		if (strcmp(f, "email") == 0 && v && *v) {
			char email[EMAIL_MAX + 1];
			if (!email_normalize(v, email)) {
				call_error(c, 400, "validation_failed",
					   "email: must be an email address");
				return;
			}
		}
	}
	call_write_tx(c, contact_put_tx, NULL);
}

/* ---- images: the contact info's logo and a catalog coupon's image (API.md 4.4) ---- */

/* Points logoPath at up->path ("" clears it), keeping the old path in up->old_path. */
static enum store_rc contact_logo_tx(struct call *c, void *ctx)
{
	struct upload *up = ctx;
	json_t *doc = NULL;
	enum store_rc rc = document(c, "contact_info", &doc);
	if (rc != STORE_OK)
		return rc;
	if (!doc)
		doc = json_object();
	free(up->old_path);
	const char *old = json_string_value(json_object_get(doc, "logoPath"));
	up->old_path = old ? xstrdup(old) : NULL;
	/* Removing a logo that is not there changes nothing and answers the same. */
	if (*up->path || old) {
		if (*up->path)
			json_object_set_new(doc, "logoPath", json_string(up->path));
		else
			json_object_del(doc, "logoPath");
		char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		rc = STORE(c->db, document_put, c->who.merchant_id, "contact_info", text);
		free(text);
	}
	if (rc == STORE_OK)
		rc = render_contact(c, doc);
	json_decref(doc);
	return rc;
}

/* POST /loyalty/settings/contact_info/logo/: multipart part `logo`. */
void contact_logo_upload(struct call *c)
{
	struct upload up;
	if (!upload_receive(c, "logo", &up))
		return;
	call_write_tx(c, contact_logo_tx, &up);
	upload_finish(c, &up);
}

/* DELETE /loyalty/settings/contact_info/logo/: 200 with the contact info, logo or not. */
void contact_logo_delete(struct call *c)
{
	struct upload up = {0};
	call_write_tx(c, contact_logo_tx, &up);
	upload_finish(c, &up);
}

/* Points the coupon's imagePath at up->path ("" clears it), keeping the old one. */
static enum store_rc catalog_image_tx(struct call *c, void *ctx)
{
	struct upload *up = ctx;
	struct catalog_coupon cc = {0};
	enum store_rc rc = STORE(c->db, catalog_get, c->who.merchant_id, c->path_id[0], &cc);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "coupon %lld not found", (long long)c->path_id[0]);
	if (rc != STORE_OK)
		goto cleanup;
	free(up->old_path);
	up->old_path = cc.image_path;
	cc.image_path = *up->path ? xstrdup(up->path) : NULL;
	if (cc.image_path || up->old_path)
		rc = STORE(c->db, catalog_update, &cc);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		view_catalog_coupon(&w, &cc);
	}
cleanup:
	catalog_coupon_clear(&cc);
	return rc;
}

/* POST /loyalty/coupons/{id}/image/: multipart part `image`. A deleted coupon may still get
 * one: its issued instances live on. */
void catalog_image_upload(struct call *c)
{
	struct upload up;
	if (!upload_receive(c, "image", &up))
		return;
	call_write_tx(c, catalog_image_tx, &up);
	upload_finish(c, &up);
}

/* DELETE /loyalty/coupons/{id}/image/: 200 with the coupon, image or not. */
void catalog_image_delete(struct call *c)
{
	struct upload up = {0};
	call_write_tx(c, catalog_image_tx, &up);
	upload_finish(c, &up);
}

/* ---- sale points (API.md 4.4): PUT replaces the whole list ---- */

#define SALE_POINTS_MAX 100
static const char *const sale_point_fields[] = {"region", "city", "address", "phone"};

static bool write_sale_point(void *ctx, const struct sale_point *sp)
{
	struct jw *w = ctx;
	jw_obj_begin(w);
	jw_kint(w, "id", sp->id);
	jw_kstr(w, "region", sp->region);
	jw_kstr(w, "city", sp->city);
	jw_kstr(w, "address", sp->address);
	jw_kstr(w, "phone", sp->phone);
	jw_obj_end(w);
	return true;
}

static enum store_rc sale_points_answer(struct call *c)
{
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc = STORE(c->db, sale_points_list, c->who.merchant_id, write_sale_point, &w);
	if (rc == STORE_OK)
		jw_arr_end(&w);
	return rc;
}

void sale_points_get(struct call *c)
{
	enum store_rc rc = sale_points_answer(c);
	if (rc != STORE_OK)
		call_store_error(c, rc);
}

struct id_set {
	int64_t ids[SALE_POINTS_MAX * 4];
	size_t n;
};

static bool collect_id(void *ctx, const struct sale_point *sp)
{
	struct id_set *set = ctx;
	if (set->n < ARRAY_LEN(set->ids))
		set->ids[set->n++] = sp->id;
	return set->n < ARRAY_LEN(set->ids);
}

static enum store_rc sale_points_put_tx(struct call *c, void *ctx)
{
	(void)ctx;
	json_t *list = c->body, *entry;
	struct id_set *existing = xcalloc(1, sizeof(*existing));
	enum store_rc rc = STORE(c->db, sale_points_list, c->who.merchant_id, collect_id, existing);
	size_t i;
	/* An entry with an id must name one of the merchant's points: they are kept. */
	json_array_foreach(list, i, entry)
	{
		json_t *id = json_object_get(entry, "id");
		if (rc != STORE_OK || !id || json_is_null(id))
			continue;
		bool known = false;
		for (size_t k = 0; k < existing->n; k++)
			known = known || existing->ids[k] == json_integer_value(id);
		if (!known) {
			call_error(c, 400, "validation_failed",
				   "sale_points[%zu].id: no sale point %lld of this merchant", i,
				   (long long)json_integer_value(id));
			rc = STORE_NOT_FOUND;
		}
	}
	for (size_t k = 0; k < existing->n && rc == STORE_OK; k++) {
		bool kept = false;
		json_array_foreach(list, i, entry)
		{
			json_t *id = json_object_get(entry, "id");
			kept = kept ||
			       (json_is_integer(id) && json_integer_value(id) == existing->ids[k]);
		}
		if (!kept)
			rc = STORE(c->db, sale_point_delete, c->who.merchant_id, existing->ids[k]);
	}
	json_array_foreach(list, i, entry)
	{
		if (rc != STORE_OK)
			break;
		json_t *id = json_object_get(entry, "id");
		struct sale_point sp = {.merchant_id = c->who.merchant_id,
					.id = json_is_integer(id) ? json_integer_value(id) : 0};
		char **fields[] = {&sp.region, &sp.city, &sp.address, &sp.phone};
		for (size_t f = 0; f < ARRAY_LEN(sale_point_fields); f++) {
			const char *v =
			    json_string_value(json_object_get(entry, sale_point_fields[f]));
			*fields[f] = v && *v ? (char *)v : NULL;
		}
		int64_t new_id = 0;
		rc = STORE(c->db, sale_point_save, &sp, &new_id);
	}
	free(existing);
	if (rc == STORE_OK)
		rc = sale_points_answer(c);
	return rc;
}

void sale_points_put(struct call *c)
{
	json_t *list = c->body, *entry;
	size_t i;
	if (!json_is_array(list)) {
		call_error(c, 400, "validation_failed", "sale_points: the body must be an array");
		return;
	}
	if (json_array_size(list) > SALE_POINTS_MAX) {
		call_error(c, 400, "validation_failed", "sale_points: at most %d sale points",
			   SALE_POINTS_MAX);
		return;
	}
	json_array_foreach(list, i, entry)
	{
		char name[64];
		if (!json_is_object(entry)) {
			call_error(c, 400, "validation_failed",
				   "sale_points[%zu]: must be an object", i);
			return;
		}
		int64_t id;
		snprintf(name, sizeof(name), "sale_points[%zu].id", i);
		if (!body_int(c, entry, "id", name, false, 1, INT64_MAX, &id, NULL))
			return;
		for (size_t f = 0; f < ARRAY_LEN(sale_point_fields); f++) {
			const char *v;
			snprintf(name, sizeof(name), "sale_points[%zu].%s", i,
				 sale_point_fields[f]);
			if (!body_string(c, entry, sale_point_fields[f], name, false, 0, 256, &v))
				return;
		}
		for (size_t j = 0; j < i; j++) {
			json_t *a = json_object_get(entry, "id");
			json_t *b = json_object_get(json_array_get(list, j), "id");
			if (json_is_integer(a) && json_is_integer(b) &&
			    json_integer_value(a) == json_integer_value(b)) {
				call_error(c, 400, "validation_failed",
					   "sale_points[%zu].id: listed twice", i);
				return;
			}
		}
	}
	call_write_tx(c, sale_points_put_tx, NULL);
}
