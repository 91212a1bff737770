/* The throw-away server of the API fuzz targets (see app.h). */
#define _GNU_SOURCE /* nftw */
#include "app.h"

#include <ftw.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/store.h"

#define OWNER_EMAIL "owner@fuzz.local"
#define OWNER_PASSWORD "fuzz-password"

const char *fuzz_owner_authorization;

static struct config cfg;
static struct app app;
static char tmpdir[] = "/tmp/kopilka-fuzz-XXXXXX";
static char db_path[256], media_dir[256];
static struct store *store;
static bool ready;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	if (store)
		store->ops->close(store);
	store = NULL;
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz harness: %s\n", what);
	abort();
}

/* The merchant and its owner account, as `kopilkad init` makes them. */
static void create_merchant(void)
{
	char hash[AUTH_HASH_MAX];
	if (!auth_hash_password(OWNER_PASSWORD, hash))
		die("cannot hash the password");
	struct store_conn *db = store->ops->acquire(store);
	int64_t merchant_id = 0, account_id = 0;
	struct account acc = {.kind = ACCOUNT_MERCHANT,
			      .role = ROLE_OWNER,
			      .email = OWNER_EMAIL,
			      .password_hash = hash};
	enum store_rc rc = STORE(db, begin, true);
	if (rc == STORE_OK)
		rc = STORE(db, merchant_create, "Fuzz", now_ms(), &merchant_id);
	acc.merchant_id = merchant_id;
	if (rc == STORE_OK)
		rc = STORE(db, account_create, &acc, &account_id);
	if (rc == STORE_OK)
		rc = STORE(db, commit);
	if (rc != STORE_OK)
		die("cannot create the merchant");
	store->ops->release(db);
}

static void seed(const char *method, const char *path, const char *body)
{
	struct request req;
	fuzz_app_request(&req, method, path, body, body ? strlen(body) : 0);
	int status = fuzz_app_call(&req);
	fuzz_app_request_free(&req);
	if (status < 200 || status >= 300) {
		fprintf(stderr, "fuzz harness: seed %s %s answered %d\n", method, path, status);
		abort();
	}
}

void fuzz_app_init(void)
{
	if (ready)
		return;
	ready = true;
	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	if (!mkdtemp(tmpdir))
		die("cannot create a temporary directory");
	atexit(cleanup);
	snprintf(db_path, sizeof(db_path), "%s/kopilka.db", tmpdir);
	snprintf(media_dir, sizeof(media_dir), "%s/media", tmpdir);
	/* A credential stays cached for the whole run: Argon2 runs once, at the first request. */
	char *argv[] = {
	    "--db",	   db_path,   "--auth-cache-seconds", "3600", "--log-level", "error",
	    "--media-dir", media_dir, "--docs-dir",	      tmpdir, NULL};
	if (!config_load(&cfg, CMD_SERVE, (int)ARRAY_LEN(argv) - 1, argv, 0, stderr))
		die("bad settings");
	log_setup(LOG_ERROR, LOG_FORMAT_JSON);
	struct store_options opt = {
	    .synchronous = "normal", .busy_timeout_ms = 1000, .pool_size = 1, .create = true};
	char err[256];
	store = store_open(db_path, &opt, err, sizeof(err));
	if (!store)
		die(err);
	create_merchant();
	app.store = store;
	app.cfg = &cfg;
	app.auth = auth_create(&cfg);
	app.media_dir = media_dir;
	if (!app.auth)
		die("cannot create the authenticator");
	size_t n_routes;
	const char *const *names = api_route_names(&n_routes);
	metrics_set_routes(names, n_routes);

	static char header[128];
	char pair[] = OWNER_EMAIL ":" OWNER_PASSWORD;
	char b64[96];
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)pair, strlen(pair),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(header, sizeof(header), "Basic %s", b64);
	fuzz_owner_authorization = header;

	/* Objects with id 1 for the paths of the targets' seeds: client 1 with points and
	 * coupon 1, catalog coupon 1, sale order 1 with item 1, sale point 1. */
	seed("PUT", API_BASE "/loyalty/settings/",
	     "{\"active\":true,\"currency\":\"points\",\"maxSpendPercent\":100,"
	     "\"newCustomerSettings\":{\"type\":\"amount\",\"amount\":500},"
	     "\"customerSettings\":{\"type\":\"percentage\",\"amount\":10}}");
	seed("POST", API_BASE "/clients/", "{\"phone\":\"+7 912 345-67-01\",\"name\":\"Anna\"}");
	seed("POST", API_BASE "/loyalty/coupons/", "{\"title\":\"Coffee\",\"validDays\":30}");
	seed("POST", API_BASE "/clients/1/coupons/", "{\"couponId\":1}");
	seed("POST", API_BASE "/fiscal/orders/",
	     "{\"order\":{\"externalId\":\"1001\",\"receiptType\":\"sale\",\"amountCard\":1000,"
	     "\"customerPhone\":\"79123456701\",\"items\":[{\"name\":\"Cake\",\"price\":500,"
	     "\"quantity\":2}]}}");
	seed("PUT", API_BASE "/loyalty/settings/sale_points/",
	     "[{\"region\":\"Perm\",\"city\":\"Perm\",\"address\":\"Lenina 1\"}]");
}

void fuzz_app_request(struct request *req, const char *method, const char *path, const char *body,
		      size_t len)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = xstrdup(path);
	req->authorization = xstrdup(fuzz_owner_authorization);
	req->content_type = xstrdup("application/json");
	if (body) {
		req->body = xmalloc(len + 1);
		memcpy(req->body, body, len);
		req->body[len] = '\0';
		req->body_len = len;
	}
	snprintf(req->remote_addr, sizeof(req->remote_addr), "127.0.0.1");
	snprintf(req->request_id, sizeof(req->request_id), "fuzz");
}

void fuzz_app_request_free(struct request *req)
{
	request_free(req);
}

/* What no request may cause, whatever it carries: a status outside the API's, a 5xx (with a
 * working database, an internal error is a defect: every user error is a 4xx, STYLE.md), or a
 * JSON answer that is not one complete JSON document. */
static void check_response(const struct request *req, const struct response *resp)
{
	const char *why = NULL;
	if (resp->status < 200 || resp->status > 599)
		why = "status outside 200..599";
	else if (resp->status >= 500)
		why = "a 5xx answer";
	if (!why && !resp->content_type && resp->status != 204 && resp->body.len > 0) {
		json_error_t err;
		json_t *doc = json_loadb(resp->body.data, resp->body.len, 0, &err);
		if (!doc)
			why = "an answer that is not JSON";
		json_decref(doc);
	}
	if (!why)
		return;
	fprintf(stderr, "fuzz harness: %s: %s %s -> %d\n%.*s\n", why, req->method, req->path,
		resp->status, (int)(resp->body.len < 2000 ? resp->body.len : 2000),
		resp->body.data ? resp->body.data : "");
	abort();
}

int fuzz_app_call(struct request *req)
{
	struct response resp;
	response_init(&resp);
	api_handle(&app, req, &resp);
	check_response(req, &resp);
	int status = resp.status;
	response_free(&resp);
	return status;
}

void fuzz_app_query(struct request *req, const char *query, size_t len)
{
	size_t start = 0;
	while (start <= len) {
		size_t end = start;
		while (end < len && query[end] != '&')
			end++;
		if (end > start) {
			char *pair = xstrndup(query + start, end - start);
			char *eq = strchr(pair, '=');
			char *value = eq ? eq + 1 : NULL;
			if (eq)
				*eq = '\0';
			for (char *p = pair; *p; p++)
				if (*p == '+')
					*p = ' ';
			for (char *p = value; p && *p; p++)
				if (*p == '+')
					*p = ' ';
			MHD_http_unescape(pair);
			if (value)
				MHD_http_unescape(value);
			req->query = xrealloc(req->query, (req->n_query + 1) * sizeof(*req->query));
			req->query[req->n_query].key = xstrdup(pair);
			req->query[req->n_query].value = xstrdup(value ? value : "");
			req->n_query++;
			free(pair);
		}
		start = end + 1;
	}
}
