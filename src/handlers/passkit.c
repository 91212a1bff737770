/* Apple's PassKit web service (issue 15), per Apple's "Adding a Web Service to Update Passes"
 * and the Wallet Passes web service endpoints: a pass whose pass.json carries webServiceURL
 * (--public-url + /wallet) and an authenticationToken (service/wallet.h) is registered by each
 * device that adds it, and the device fetches it again when an APNs push says it changed
 * (service/cardupdates.c sends them).
 *
 *   POST   /wallet/v1/devices/{device}/registrations/{passType}/{serial}   201 new, 200 known
 *   DELETE /wallet/v1/devices/{device}/registrations/{passType}/{serial}   200
 *   GET    /wallet/v1/devices/{device}/registrations/{passType}[?passesUpdatedSince=tag]
 *          200 {"serialNumbers": [...], "lastUpdated": "tag"}, 204 when none
 *   GET    /wallet/v1/passes/{passType}/{serial}   the latest pass (Last-Modified, 304)
 *   POST   /wallet/v1/log                           {"logs": [...]} into the server's log
 *
 * Those naming a serial take "Authorization: ApplePass <authenticationToken>": 401 when it is
 * missing or wrong, or names no client (a serial is "<merchant id>-<client id>"). A pass type
 * other than --wallet-pass-type-id is 404; a malformed device id, serial or body 400. The
 * routes are public (no merchant credential): the device holds only the pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "handlers/handlers.h"
#include "service/wallet.h"
#include "store/clients.h"
#include "store/wallet.h"

/* Most entries of a log request written, and most bytes of each. */
#define LOG_ENTRIES_MAX 20
#define LOG_ENTRY_MAX 512
#define SEGMENT_MAX 256

bool passkit_service_url(const struct config *cfg, char *out, size_t cap)
{
	const char *base = cfg->public_url ? cfg->public_url : "";
	bool https = strncmp(base, "https://", 8) == 0;
	bool http = strncmp(base, "http://", 7) == 0;
	if (!https && !(http && cfg->wallet_allow_http))
		return false;
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	int w = snprintf(out, cap, "%.*s/wallet", (int)n, base);
	return w > 0 && (size_t)w < cap;
}

/* The path of the request after the route's prefix, split at '/': up to max segments, each
 * copied (at most SEGMENT_MAX-1 bytes). Returns the count, or -1 when there are more than max,
 * an empty segment or one too long. */
static int split(const char *rest, char seg[][SEGMENT_MAX], int max)
{
	int n = 0;
	const char *p = rest ? rest : "";
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 0 || len >= SEGMENT_MAX || n == max)
			return -1;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		p += len;
		if (*p == '/' && p[1] == '\0')
			break; /* a trailing slash */
		if (*p == '/')
			p++;
	}
	return n;
}

/* A deviceLibraryIdentifier: 1 to 128 letters, digits, '-', '_' or '.' (Apple's are hex). */
static bool device_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/* A positive decimal of at most 18 digits. */
static bool decimal(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return v > 0;
}

/* A serialNumber (service/wallet.h: "<merchant id>-<client id>"). */
static bool serial_parse(const char *s, int64_t *merchant_id, int64_t *client_id)
{
	const char *dash = strchr(s, '-');
	return dash && decimal(s, (size_t)(dash - s), merchant_id) &&
	       decimal(dash + 1, strlen(dash + 1), client_id);
}

/* Pass updates are served: the passes carry the web service. 404 otherwise. */
static bool service_on(struct call *c)
{
	char url[1024];
	if (c->app->wallet && passkit_service_url(c->app->cfg, url, sizeof(url)))
		return true;
	call_error(c, 404, "not_found",
		   "the PassKit web service is off on this server (the --wallet-* settings, and "
		   "an https --public-url or --wallet-allow-http 1)");
	return false;
}

/* The pass type segment names this server's passes; 404 otherwise. */
static bool pass_type_ok(struct call *c, const char *type)
{
	if (strcmp(type, c->app->cfg->wallet_pass_type_id) == 0)
		return true;
	call_error(c, 404, "not_found", "passTypeIdentifier %s is not this server's pass type",
		   type);
	return false;
}

/* The client of serial whose authenticationToken the Authorization header shows, into *cl
 * (cleared by the caller). false: answered (400 malformed serial, 401, or a storage error). */
static bool pass_auth(struct call *c, const char *serial, struct client *cl)
{
	int64_t merchant_id = 0, client_id = 0;
	if (!serial_parse(serial, &merchant_id, &client_id)) {
		call_error(
		    c, 400, "validation_failed",
		    "serialNumber: must be <merchant id>-<client id>, two positive integers");
		return false;
	}
	const char *h = c->req->authorization;
	const char *given = h && strncmp(h, "ApplePass ", 10) == 0 ? h + 10 : NULL;
	enum store_rc rc =
	    given ? STORE(c->db, client_get, merchant_id, client_id, cl) : STORE_NOT_FOUND;
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		call_store_error(c, rc);
		return false;
	}
	if (rc == STORE_NOT_FOUND || !wallet_auth_ok(cl->token, given)) {
		call_error(c, 401, "unauthorized",
			   given ? "Authorization: not this pass's authenticationToken"
				 : "Authorization: ApplePass <authenticationToken> is required");
		return false;
	}
	c->resp->merchant_id = merchant_id;
	return true;
}

/* The registration routes' path: {device}/registrations/{passType}[/{serial}]. false:
 * answered. */
static bool registration_path(struct call *c, char seg[4][SEGMENT_MAX], bool with_serial)
{
	int n = split(c->file, seg, 4);
	if (n != (with_serial ? 4 : 3) || strcmp(seg[1], "registrations") != 0) {
		call_error(c, 404, "not_found", "no such endpoint: %s %s", c->req->method,
			   c->req->path);
		return false;
	}
	if (!service_on(c) || !pass_type_ok(c, seg[2]))
		return false;
	if (!device_ok(seg[0])) {
		call_error(c, 400, "validation_failed",
			   "deviceLibraryIdentifier: 1 to 128 letters, digits, '-', '_' or '.'");
		return false;
	}
	return true;
}

/* A pushToken: 1 to 200 hex digits (APNs's are 64). */
static bool push_token_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return true;
}

struct reg {
	char seg[4][SEGMENT_MAX];
	struct client client;
	const char *push_token;
};

static enum store_rc register_tx(struct call *c, void *ctx)
{
	struct reg *r = ctx;
	bool created = false;
	enum store_rc rc = STORE(c->db, pass_register, r->seg[0], r->seg[2], r->client.merchant_id,
				 r->client.id, r->push_token, now_ms(), &created);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, created ? 201 : 200, &w);
		jw_obj_begin(&w);
		jw_obj_end(&w);
	}
	return rc;
}

void passkit_register(struct call *c)
{
	struct reg r = {0};
	if (!registration_path(c, r.seg, true) || !pass_auth(c, r.seg[3], &r.client))
		goto cleanup;
	json_t *v = json_object_get(c->body, "pushToken");
	if (!json_is_string(v) || !push_token_ok(json_string_value(v))) {
		call_error(c, 400, "validation_failed",
			   "pushToken: required, a string of 1 to 200 hex digits");
		goto cleanup;
	}
	r.push_token = json_string_value(v);
	call_write_tx_rows(c, register_tx, &r);
cleanup:
	client_clear(&r.client);
}

static enum store_rc unregister_tx(struct call *c, void *ctx)
{
	struct reg *r = ctx;
	enum store_rc rc = STORE(c->db, pass_unregister, r->seg[0], r->seg[2], r->client.id);
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 200, &w);
		jw_obj_begin(&w);
		jw_obj_end(&w);
	}
	return rc;
}

void passkit_unregister(struct call *c)
{
	struct reg r = {0};
	if (registration_path(c, r.seg, true) && pass_auth(c, r.seg[3], &r.client))
		call_write_tx_rows(c, unregister_tx, &r);
	client_clear(&r.client);
}

struct serials {
	struct jw *w;
	int64_t last; /* the greatest tag listed */
	size_t n;
};

static bool serial_row(void *ctx, int64_t merchant_id, int64_t client_id, int64_t updated_ms)
{
	struct serials *s = ctx;
	char serial[WALLET_SERIAL_MAX];
	wallet_serial(merchant_id, client_id, serial);
	jw_str(s->w, serial);
	if (updated_ms > s->last)
		s->last = updated_ms;
	s->n++;
	return true;
}

void passkit_serials(struct call *c)
{
	char seg[4][SEGMENT_MAX];
	if (!registration_path(c, seg, false))
		return;
	int64_t since = -1;
	const char *tag = request_query(c->req, "passesUpdatedSince");
	if (tag && *tag) {
		if (!decimal(tag, strlen(tag), &since) && strcmp(tag, "0") != 0) {
			call_error(c, 400, "validation_failed",
				   "passesUpdatedSince: must be a lastUpdated tag this server gave "
				   "(a non-negative integer)");
			return;
		}
		if (strcmp(tag, "0") == 0)
			since = 0;
	}
	enum store_rc rc = STORE(c->db, begin, false);
	struct jw w;
	call_json(c, 200, &w);
	jw_obj_begin(&w);
	jw_key(&w, "serialNumbers");
	jw_arr_begin(&w);
	struct serials s = {.w = &w};
	if (rc == STORE_OK) {
		rc = STORE(c->db, pass_serials, seg[0], seg[2], since, serial_row, &s);
		c->db->ops->rollback(c->db);
	}
	jw_arr_end(&w);
	char last[24];
	snprintf(last, sizeof(last), "%lld", (long long)s.last);
	jw_kstr(&w, "lastUpdated", last);
	jw_obj_end(&w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
	} else if (s.n == 0) {
		/* Apple's "no matching passes" */
		buf_reset(&c->resp->body);
		c->resp->status = 204;
	}
}

void passkit_pass(struct call *c)
{
	char seg[2][SEGMENT_MAX];
	struct client cl = {0};
	if (split(c->file, seg, 2) != 2) {
		call_error(c, 404, "not_found", "no such endpoint: %s %s", c->req->method,
			   c->req->path);
		return;
	}
	if (service_on(c) && pass_type_ok(c, seg[0]) && pass_auth(c, seg[1], &cl))
		card_pass_send(c, cl.token, true);
	client_clear(&cl);
}

void passkit_log(struct call *c)
{
	json_t *logs = json_object_get(c->body, "logs");
	if (!json_is_array(logs)) {
		call_error(c, 400, "validation_failed", "logs: required, an array of strings");
		return;
	}
	size_t n = json_array_size(logs);
	for (size_t i = 0; i < n && i < LOG_ENTRIES_MAX; i++) {
		json_t *e = json_array_get(logs, i);
		if (!json_is_string(e))
			continue;
		/* One line each, cut, without control characters (the text is the device's). */
		char line[LOG_ENTRY_MAX + 1];
		snprintf(line, sizeof(line), "%s", json_string_value(e));
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		log_info("wallet: a device logs: %s", line);
	}
	if (n > LOG_ENTRIES_MAX)
		log_info("wallet: a device logged %zu more entries, not written",
			 n - LOG_ENTRIES_MAX);
	struct jw w;
	call_json(c, 200, &w);
	jw_obj_begin(&w);
	jw_obj_end(&w);
}
