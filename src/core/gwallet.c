/* "Save to Google Wallet" links (see gwallet.h). Field names follow Google Wallet's REST
 * reference (Jwt, LoyaltyClass, LoyaltyObject; docs/CARD.md cites them). */
#include "core/gwallet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/jwt.h"

struct gwallet {
	char *issuer_id;
	char *client_email;
	char *key_id;
	EVP_PKEY *key;
	json_t *origins; /* array of strings */
};

void gwallet_free(struct gwallet *g)
{
	if (!g)
		return;
	free(g->issuer_id);
	free(g->client_email);
	free(g->key_id);
	EVP_PKEY_free(g->key);
	json_decref(g->origins);
	free(g);
}

/* --gwallet-origins: a comma list of http(s)://host[:port], spaces around items allowed. */
static json_t *parse_origins(const char *list, char *err, size_t err_cap)
{
	json_t *arr = json_array();
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *item = p;
		p += len;
		if (*p == ',')
			p++;
		while (len && *item == ' ')
			item++, len--;
		while (len && item[len - 1] == ' ')
			len--;
		if (!len)
			continue;
		size_t scheme = strncmp(item, "https://", 8) == 0  ? 8
				: strncmp(item, "http://", 7) == 0 ? 7
								   : 0;
		bool ok = scheme && len > scheme;
		for (size_t i = scheme; ok && i < len; i++)
			ok = item[i] > ' ' && item[i] != '/' && item[i] != '"' && item[i] < 0x7f;
		if (!ok) {
			snprintf(err, err_cap,
				 "--gwallet-origins: each origin must be http://host or "
				 "https://host[:port], no path; got \"%.*s\"",
				 (int)len, item);
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, json_stringn(item, len));
	}
	return arr;
}

/* A non-empty string field of the key file, copied; NULL (err written) when absent. */
static char *key_field(json_t *doc, const char *name, const char *path, char *err, size_t err_cap)
{
	const char *v = json_string_value(json_object_get(doc, name));
	if (!v || !*v) {
		snprintf(err, err_cap,
			 "--gwallet-service-account: %s has no \"%s\" string (a Google service "
			 "account key file holds client_email, private_key and private_key_id)",
			 path, name);
		return NULL;
	}
	return xstrdup(v);
}

/* An API base URL setting: NULL (the default) or http(s)://something. */
static bool api_url_ok(const char *name, const char *url, char *err, size_t err_cap)
{
	if (!url || ((strncmp(url, "https://", 8) == 0 && url[8]) ||
		     (strncmp(url, "http://", 7) == 0 && url[7])))
		return true;
	snprintf(err, err_cap, "%s must be an http:// or https:// URL, got \"%s\"", name, url);
	return false;
}

bool gwallet_load(const struct config *cfg, struct gwallet **out, char *err, size_t err_cap)
{
	*out = NULL;
	const char *issuer = cfg->gwallet_issuer_id ? cfg->gwallet_issuer_id : "";
	const char *path = cfg->gwallet_service_account ? cfg->gwallet_service_account : "";
	if (!*issuer && !*path)
		return true;
	if (!*path) {
		snprintf(err, err_cap,
			 "--gwallet-service-account is required with --gwallet-issuer-id (the "
			 "service account's JSON key file)");
		return false;
	}
	if (!*issuer) {
		snprintf(err, err_cap,
			 "--gwallet-issuer-id is required with --gwallet-service-account (the "
			 "issuer id of the Google Pay & Wallet Console)");
		return false;
	}
	size_t digits = strspn(issuer, "0123456789");
	if (issuer[digits] != '\0' || digits > 30) {
		snprintf(err, err_cap,
			 "--gwallet-issuer-id must be the issuer id of the Google Pay & Wallet "
			 "Console: digits only, got \"%s\"",
			 issuer);
		return false;
	}
	struct gwallet *g = xmalloc(sizeof(*g));
	memset(g, 0, sizeof(*g));
	bool ok = false;
	json_t *doc = NULL;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_cap, "--gwallet-service-account: cannot read %s: %s", path,
			 strerror(errno));
		goto cleanup;
	}
	json_error_t jerr;
	doc = json_loadf(f, 0, &jerr);
	fclose(f);
	if (!doc) {
		snprintf(err, err_cap, "--gwallet-service-account: %s is not JSON (line %d: %s)",
			 path, jerr.line, jerr.text);
		goto cleanup;
	}
	if (!json_is_object(doc)) {
		snprintf(err, err_cap, "--gwallet-service-account: %s is not a JSON object", path);
		goto cleanup;
	}
	g->issuer_id = xstrdup(issuer);
	if (!(g->client_email = key_field(doc, "client_email", path, err, err_cap)) ||
	    !(g->key_id = key_field(doc, "private_key_id", path, err, err_cap)))
		goto cleanup;
	char *pem = key_field(doc, "private_key", path, err, err_cap);
	if (!pem)
		goto cleanup;
	g->key = jwt_rsa_key_from_pem(pem);
	sodium_memzero(pem, strlen(pem)); /* the key's text is not left in freed memory */
	free(pem);
	if (!g->key) {
		snprintf(
		    err, err_cap,
		    "--gwallet-service-account: \"private_key\" of %s is not an RSA private key "
		    "in PEM (-----BEGIN PRIVATE KEY-----)",
		    path);
		goto cleanup;
	}
	g->origins = parse_origins(cfg->gwallet_origins ? cfg->gwallet_origins : "", err, err_cap);
	ok = g->origins != NULL &&
	     api_url_ok("--gwallet-api-url", cfg->gwallet_api_url, err, err_cap) &&
	     api_url_ok("--gwallet-token-url", cfg->gwallet_token_url, err, err_cap);
cleanup:
	json_decref(doc);
	if (ok)
		*out = g;
	else
		gwallet_free(g);
	return ok;
}

void gwallet_class_id(const struct gwallet *g, int64_t merchant_id, char out[GWALLET_ID_BYTES])
{
	snprintf(out, GWALLET_ID_BYTES, "%s.kopilka-m%lld", g->issuer_id, (long long)merchant_id);
}

void gwallet_object_id(const struct gwallet *g, int64_t merchant_id, int64_t client_id,
		       char out[GWALLET_ID_BYTES])
{
	snprintf(out, GWALLET_ID_BYTES, "%s.kopilka-m%lld-c%lld", g->issuer_id,
		 (long long)merchant_id, (long long)client_id);
}

/* The merchant's LoyaltyClass: created UNDER_REVIEW when first saved. */
static json_t *loyalty_class(const struct gwallet *g, const struct gwallet_card *card)
{
	char class_id[GWALLET_ID_BYTES];
	gwallet_class_id(g, card->merchant_id, class_id);
	json_t *cls = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", class_id, "issuerName",
				card->issuer_name, "programName", card->program_name,
				"hexBackgroundColor", card->color, "reviewStatus", "UNDER_REVIEW");
	if (card->logo_url)
		json_object_set_new(cls, "programLogo",
				    json_pack("{s:{s:s}}", "sourceUri", "uri", card->logo_url));
	return cls;
}

/* The client's LoyaltyObject: the balance in points, the token as a QR code. */
static json_t *loyalty_object(const struct gwallet *g, const struct gwallet_card *card)
{
	char class_id[GWALLET_ID_BYTES], object_id[GWALLET_ID_BYTES], account_id[24];
	gwallet_class_id(g, card->merchant_id, class_id);
	gwallet_object_id(g, card->merchant_id, card->client_id, object_id);
	snprintf(account_id, sizeof(account_id), "%lld", (long long)card->client_id);
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:s}}", "id",
				object_id, "classId", class_id, "state", "ACTIVE", "accountId",
				account_id, "loyaltyPoints", "label", "Баллы", "balance", "string",
				card->points, "barcode", "type", "QR_CODE", "value", card->token);
	if (card->account_name)
		json_object_set_new(obj, "accountName", json_string(card->account_name));
	return obj;
}

char *gwallet_save_url(const struct gwallet *g, const struct gwallet_card *card, int64_t iat_s)
{
	json_t *header =
	    json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid", g->key_id);
	json_t *claims = json_pack(
	    "{s:s, s:s, s:s, s:I, s:O, s:{s:[o], s:[o]}}", "iss", g->client_email, "aud", "google",
	    "typ", "savetowallet", "iat", (json_int_t)iat_s, "origins", g->origins, "payload",
	    "loyaltyClasses", loyalty_class(g, card), "loyaltyObjects", loyalty_object(g, card));
	char *header_text = json_dumps(header, JSON_COMPACT);
	char *claims_text = json_dumps(claims, JSON_COMPACT);
	char *jwt =
	    header_text && claims_text ? jwt_sign_rs256(g->key, header_text, claims_text) : NULL;
	char *url = NULL;
	if (jwt) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "https://pay.google.com/gp/v/save/%s", jwt);
		url = buf_steal(&b, NULL);
	}
	free(jwt);
	free(header_text);
	free(claims_text);
	json_decref(header);
	json_decref(claims);
	return url;
}

char *gwallet_token_assertion(const struct gwallet *g, const char *token_url, int64_t iat_s)
{
	json_t *header =
	    json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid", g->key_id);
	json_t *claims =
	    json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", g->client_email, "scope",
		      "https://www.googleapis.com/auth/wallet_object.issuer", "aud", token_url,
		      "iat", (json_int_t)iat_s, "exp", (json_int_t)(iat_s + 3600));
	char *header_text = json_dumps(header, JSON_COMPACT);
	char *claims_text = json_dumps(claims, JSON_COMPACT);
	char *jwt =
	    header_text && claims_text ? jwt_sign_rs256(g->key, header_text, claims_text) : NULL;
	free(header_text);
	free(claims_text);
	json_decref(header);
	json_decref(claims);
	return jwt;
}

char *gwallet_points_patch(const char *points)
{
	json_t *body = json_pack("{s:{s:s, s:{s:s}}}", "loyaltyPoints", "label", "Баллы", "balance",
				 "string", points);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}
